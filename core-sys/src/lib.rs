//! Raw FFI bindings to [libev] 4.33, plus Rust versions of its function-like
//! macros.
//!
//! This is the unsafe layer: every function here is a direct call into C and
//! every precondition libev documents (and `assert`s on) is the caller's
//! responsibility. The `gevent` crate's `core` module is the safe layer on top.
//!
//! This crate also builds the C library (the `-sys` convention,
//! `links = "ev"`): its build script compiles the pristine sources in
//! `vendor/libev` with the `cc` crate, configured by the one list of
//! defines in `defines.rs` (`EV_MULTIPLICITY=1`, every backend the
//! platform has, `EV_USE_SIGNALFD=0`, `NDEBUG`), and links the result.
//! Dependents' build scripts get `DEP_EV_INCLUDE` (the directory holding
//! `ev.h`) and `DEP_EV_BACKENDS`. The bindings in `src/bindings.rs` were
//! generated from `ev.h` with those defines by `regen-bindings.sh` (the
//! `bindgen` feature), doc lines included; do not edit them by hand.
//!
//! What is here:
//!
//! * every function of libev's public API (`ev_run`, `ev_io_start`, ...),
//! * every constant: event bits (`EV_READ`, `EV_TIMER`, ...), `EVFLAG_*`,
//!   `EVBACKEND_*`, `EVRUN_*`, `EVBREAK_*`,
//! * every watcher struct (`ev_io`, `ev_timer`, ..., `ev_async`),
//! * the macros bindgen cannot translate, as `unsafe fn`s generic over
//!   [`EvWatcher`]: [`ev_init`], [`ev_io_set`]/[`ev_io_init`] and the other
//!   `ev_TYPE_set`/`ev_TYPE_init` pairs, [`ev_is_active`], [`ev_is_pending`],
//!   [`ev_priority`], [`ev_set_priority`], [`ev_cb`], [`ev_set_cb`],
//!   [`ev_cb_invoke`], [`ev_periodic_at`], [`ev_async_pending`], and the
//!   libev 3 compatibility names ([`ev_loop`](fn@ev_loop), [`ev_unloop`], ...).
//!
//! # Example
//!
//! A one-shot timer on a fresh loop, entirely through the raw API.
//!
//! ```
//! use libev_sys::*;
//! use std::os::raw::c_int;
//!
//! unsafe extern "C" fn on_timer(_l: *mut ev_loop, w: *mut ev_timer, _revents: c_int) {
//!     // SAFETY: `data` points at the counter below for the watcher's life.
//!     unsafe { *((*w).data as *mut u32) += 1 };
//! }
//!
//! unsafe {
//!     let lp = ev_loop_new(EVFLAG_AUTO);
//!     assert!(!lp.is_null());
//!     let mut fired = 0u32;
//!     let mut t: ev_timer = std::mem::zeroed();
//!     ev_timer_init(&mut t, Some(on_timer), 0.001, 0.0);
//!     t.data = &mut fired as *mut u32 as *mut _;
//!     ev_timer_start(lp, &mut t);
//!     ev_run(lp, 0);
//!     assert_eq!(fired, 1);
//!     ev_loop_destroy(lp);
//! }
//! ```
//!
//! [libev]: http://software.schmorp.de/pkg/libev.html

#![deny(missing_docs)]
// The helpers below are one-line translations of libev's macros; each
// body is exactly the contract stated in its `# Safety` section.
#![allow(unsafe_op_in_unsafe_fn)]

#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unused_imports,
    unsafe_op_in_unsafe_fn,
    clippy::all
)]
mod bindings {
    #[cfg(feature = "bindgen")]
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
    #[cfg(not(feature = "bindgen"))]
    include!("bindings.rs");
}
pub use bindings::*;

/// Compiles and runs the example in README.md as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use core::ffi::{c_char, c_int, c_void};

/// Marks the libev watcher structs, which all begin with the common
/// `ev_watcher` header (`active`, `pending`, `priority`, `data`, `cb`).
///
/// # Safety
///
/// Only implement this for `#[repr(C)]` structs whose first fields are
/// exactly those of [`ev_watcher`], so a pointer to `Self` may be read as a
/// pointer to `ev_watcher`.
pub unsafe trait EvWatcher {}

macro_rules! watchers {
    ($($t:ident),* $(,)?) => { $(
        // SAFETY: generated from ev.h, where every watcher struct starts with
        // EV_WATCHER(type); checked by gevent's layout test.
        unsafe impl EvWatcher for $t {}
    )* };
}
watchers!(
    ev_watcher,
    ev_watcher_list,
    ev_watcher_time,
    ev_io,
    ev_timer,
    ev_periodic,
    ev_signal,
    ev_child,
    ev_stat,
    ev_idle,
    ev_prepare,
    ev_check,
    ev_fork,
    ev_cleanup,
    ev_embed,
    ev_async
);

/// The callback type of a watcher of type `W`.
#[allow(non_camel_case_types)]
pub type ev_callback<W> =
    Option<unsafe extern "C" fn(loop_: *mut ev_loop, w: *mut W, revents: c_int)>;

#[inline]
unsafe fn header<W: EvWatcher>(w: *const W) -> *mut ev_watcher {
    w as *const ev_watcher as *mut ev_watcher
}

/// `ev_init(w, cb)`: initialises the common part of a watcher (inactive,
/// not pending, priority 0, callback `cb`).
///
/// # Safety
///
/// `w` must be valid for writes and the watcher must not be active.
#[inline]
pub unsafe fn ev_init<W: EvWatcher>(w: *mut W, cb: ev_callback<W>) {
    let h = header(w);
    (*h).active = 0;
    (*h).pending = 0;
    (*h).priority = 0;
    ev_set_cb(w, cb);
}

/// `ev_set_cb(w, cb)`: changes a watcher's callback (allowed at any time).
///
/// # Safety
///
/// `w` must be valid for writes.
#[inline]
pub unsafe fn ev_set_cb<W: EvWatcher>(w: *mut W, cb: ev_callback<W>) {
    // SAFETY of the transmute: the callbacks differ only in the pointee type
    // of their second (pointer) argument, which has the same ABI.
    (*header(w)).cb = core::mem::transmute::<ev_callback<W>, ev_callback<ev_watcher>>(cb);
}

/// `ev_cb(w)`: the watcher's callback.
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_cb<W: EvWatcher>(w: *const W) -> ev_callback<W> {
    core::mem::transmute::<ev_callback<ev_watcher>, ev_callback<W>>((*header(w)).cb)
}

/// `ev_cb_invoke(w, revents)`: calls the watcher's callback directly.
///
/// # Safety
///
/// `loop_` and `w` must be valid and the callback's own requirements hold.
#[inline]
pub unsafe fn ev_cb_invoke<W: EvWatcher>(loop_: *mut ev_loop, w: *mut W, revents: c_int) {
    if let Some(cb) = ev_cb(w) {
        cb(loop_, w, revents);
    }
}

/// `ev_is_active(w)`: whether the watcher is started.
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_is_active<W: EvWatcher>(w: *const W) -> bool {
    (*header(w)).active != 0
}

/// `ev_is_pending(w)`: whether the watcher has an event waiting to be invoked.
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_is_pending<W: EvWatcher>(w: *const W) -> bool {
    (*header(w)).pending != 0
}

/// `ev_priority(w)`: the watcher's priority (`EV_MINPRI..=EV_MAXPRI`).
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_priority<W: EvWatcher>(w: *const W) -> c_int {
    (*header(w)).priority
}

/// `ev_set_priority(w, pri)`.
///
/// # Safety
///
/// `w` must be valid for writes and must be neither active nor pending.
#[inline]
pub unsafe fn ev_set_priority<W: EvWatcher>(w: *mut W, pri: c_int) {
    (*header(w)).priority = pri;
}

/// `ev_io_set(w, fd, events)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_io_set(w: *mut ev_io, fd: c_int, events: c_int) {
    (*w).fd = fd;
    (*w).events = events | EV__IOFDSET;
}

/// `ev_io_modify(w, events)`: changes the events of an inactive io watcher.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_io_modify(w: *mut ev_io, events: c_int) {
    (*w).events = ((*w).events & EV__IOFDSET) | events;
}

/// `ev_timer_set(w, after, repeat)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_timer_set(w: *mut ev_timer, after: ev_tstamp, repeat: ev_tstamp) {
    (*w).at = after;
    (*w).repeat = repeat;
}

/// `ev_periodic_set(w, offset, interval, reschedule_cb)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_periodic_set(
    w: *mut ev_periodic,
    offset: ev_tstamp,
    interval: ev_tstamp,
    reschedule_cb: Option<unsafe extern "C" fn(*mut ev_periodic, ev_tstamp) -> ev_tstamp>,
) {
    (*w).offset = offset;
    (*w).interval = interval;
    (*w).reschedule_cb = reschedule_cb;
}

/// `ev_signal_set(w, signum)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_signal_set(w: *mut ev_signal, signum: c_int) {
    (*w).signum = signum;
}

/// `ev_child_set(w, pid, trace)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_child_set(w: *mut ev_child, pid: c_int, trace: c_int) {
    (*w).pid = pid;
    (*w).flags = (trace != 0) as c_int;
}

/// `ev_stat_set(w, path, interval)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive; `path` must stay valid while
/// the watcher is active.
#[inline]
pub unsafe fn ev_stat_set(w: *mut ev_stat, path: *const c_char, interval: ev_tstamp) {
    (*w).path = path;
    (*w).interval = interval;
    (*w).wd = -2;
}

/// `ev_idle_set(w)` (nothing to set).
///
/// # Safety
///
/// Trivially safe; `unsafe` for symmetry with the other setters.
#[inline]
pub unsafe fn ev_idle_set(_w: *mut ev_idle) {}

/// `ev_prepare_set(w)` (nothing to set).
///
/// # Safety
///
/// Trivially safe; `unsafe` for symmetry with the other setters.
#[inline]
pub unsafe fn ev_prepare_set(_w: *mut ev_prepare) {}

/// `ev_check_set(w)` (nothing to set).
///
/// # Safety
///
/// Trivially safe; `unsafe` for symmetry with the other setters.
#[inline]
pub unsafe fn ev_check_set(_w: *mut ev_check) {}

/// `ev_fork_set(w)` (nothing to set).
///
/// # Safety
///
/// Trivially safe; `unsafe` for symmetry with the other setters.
#[inline]
pub unsafe fn ev_fork_set(_w: *mut ev_fork) {}

/// `ev_cleanup_set(w)` (nothing to set).
///
/// # Safety
///
/// Trivially safe; `unsafe` for symmetry with the other setters.
#[inline]
pub unsafe fn ev_cleanup_set(_w: *mut ev_cleanup) {}

/// `ev_embed_set(w, other)`.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_embed_set(w: *mut ev_embed, other: *mut ev_loop) {
    (*w).other = other;
}

/// `ev_async_set(w)`: clears the sent flag.
///
/// # Safety
///
/// `w` must be valid for writes and inactive.
#[inline]
pub unsafe fn ev_async_set(w: *mut ev_async) {
    (*w).sent = 0;
}

macro_rules! init_fns {
    ($( $(#[$m:meta])* $name:ident($t:ty $(, $a:ident: $at:ty)*) => $set:ident; )*) => { $(
        $(#[$m])*
        ///
        /// # Safety
        ///
        /// `w` must be valid for writes and the watcher must be inactive.
        #[inline]
        pub unsafe fn $name(w: *mut $t, cb: ev_callback<$t> $(, $a: $at)*) {
            ev_init(w, cb);
            $set(w $(, $a)*);
        }
    )* };
}

init_fns! {
    /// `ev_io_init(w, cb, fd, events)`.
    ev_io_init(ev_io, fd: c_int, events: c_int) => ev_io_set;
    /// `ev_timer_init(w, cb, after, repeat)`.
    ev_timer_init(ev_timer, after: ev_tstamp, repeat: ev_tstamp) => ev_timer_set;
    /// `ev_periodic_init(w, cb, offset, interval, reschedule_cb)`.
    ev_periodic_init(ev_periodic, offset: ev_tstamp, interval: ev_tstamp,
        reschedule_cb: Option<unsafe extern "C" fn(*mut ev_periodic, ev_tstamp) -> ev_tstamp>) => ev_periodic_set;
    /// `ev_signal_init(w, cb, signum)`.
    ev_signal_init(ev_signal, signum: c_int) => ev_signal_set;
    /// `ev_child_init(w, cb, pid, trace)`.
    ev_child_init(ev_child, pid: c_int, trace: c_int) => ev_child_set;
    /// `ev_stat_init(w, cb, path, interval)`.
    ev_stat_init(ev_stat, path: *const c_char, interval: ev_tstamp) => ev_stat_set;
    /// `ev_idle_init(w, cb)`.
    ev_idle_init(ev_idle) => ev_idle_set;
    /// `ev_prepare_init(w, cb)`.
    ev_prepare_init(ev_prepare) => ev_prepare_set;
    /// `ev_check_init(w, cb)`.
    ev_check_init(ev_check) => ev_check_set;
    /// `ev_fork_init(w, cb)`.
    ev_fork_init(ev_fork) => ev_fork_set;
    /// `ev_cleanup_init(w, cb)`.
    ev_cleanup_init(ev_cleanup) => ev_cleanup_set;
    /// `ev_embed_init(w, cb, other)`.
    ev_embed_init(ev_embed, other: *mut ev_loop) => ev_embed_set;
    /// `ev_async_init(w, cb)`.
    ev_async_init(ev_async) => ev_async_set;
}

/// `ev_periodic_at(w)`: the absolute time the periodic fires next.
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_periodic_at(w: *const ev_periodic) -> ev_tstamp {
    (*w).at
}

/// `ev_async_pending(w)`: whether `ev_async_send` was called and the
/// callback has not run yet.
///
/// # Safety
///
/// `w` must be valid for reads.
#[inline]
pub unsafe fn ev_async_pending(w: *const ev_async) -> bool {
    core::ptr::read_volatile(&(*w).sent) != 0
}

/// `ev_set_userdata`'s companion for watchers: stores `data` in the watcher.
///
/// # Safety
///
/// `w` must be valid for writes.
#[inline]
pub unsafe fn ev_set_data<W: EvWatcher>(w: *mut W, data: *mut c_void) {
    (*header(w)).data = data;
}

/// Highest watcher priority compiled in (`EV_MAXPRI`).
pub const EV_MAXPRI: c_int = 2;
/// Lowest watcher priority compiled in (`EV_MINPRI`).
pub const EV_MINPRI: c_int = -2;

/// libev 3 name of [`ev_run`].
///
/// # Safety
///
/// As for [`ev_run`].
#[inline]
pub unsafe fn ev_loop(loop_: *mut ev_loop, flags: c_int) -> c_int {
    ev_run(loop_, flags)
}

/// libev 3 name of [`ev_break`].
///
/// # Safety
///
/// As for [`ev_break`].
#[inline]
pub unsafe fn ev_unloop(loop_: *mut ev_loop, how: c_int) {
    ev_break(loop_, how)
}

/// libev 3 name of [`ev_iteration`].
///
/// # Safety
///
/// As for [`ev_iteration`].
#[inline]
pub unsafe fn ev_loop_count(loop_: *mut ev_loop) -> u32 {
    ev_iteration(loop_)
}

/// libev 3 name of [`ev_depth`].
///
/// # Safety
///
/// As for [`ev_depth`].
#[inline]
pub unsafe fn ev_loop_depth(loop_: *mut ev_loop) -> u32 {
    ev_depth(loop_)
}

/// libev 3 name of [`ev_verify`].
///
/// # Safety
///
/// As for [`ev_verify`].
#[inline]
pub unsafe fn ev_loop_verify(loop_: *mut ev_loop) {
    ev_verify(loop_)
}

/// libev 3 `ev_default_destroy()`: destroys the default loop.
///
/// # Safety
///
/// No watcher of the default loop may be used afterwards.
#[inline]
pub unsafe fn ev_default_destroy() {
    ev_loop_destroy(ev_default_loop(0))
}

/// libev 3 `ev_default_fork()`.
///
/// # Safety
///
/// As for [`ev_loop_fork`].
#[inline]
pub unsafe fn ev_default_fork() {
    ev_loop_fork(ev_default_loop(0))
}
