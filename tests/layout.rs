//! core-sys's pre-generated bindings against the C compiler's view of
//! libev's structs: sizes, alignments and every field offset that
//! `core-sys/csrc/layout.c` reports, plus the priority range. Catches drift
//! between `bindings.rs` and the defines the C build really uses.

use std::mem::{align_of, offset_of, size_of};

// The C side (layout.c) is compiled into the libev static library that
// libev-sys builds and links.
use libev_sys as ffi;

// One declaration per function in core-sys/csrc/layout.c.
unsafe extern "C" {
    fn gevent_layout_ev_minpri() -> i32;
    fn gevent_layout_ev_maxpri() -> i32;

    fn gevent_layout_sizeof_ev_watcher() -> usize;
    fn gevent_layout_alignof_ev_watcher() -> usize;
    fn gevent_layout_sizeof_ev_watcher_list() -> usize;
    fn gevent_layout_alignof_ev_watcher_list() -> usize;
    fn gevent_layout_sizeof_ev_watcher_time() -> usize;
    fn gevent_layout_alignof_ev_watcher_time() -> usize;
    fn gevent_layout_sizeof_ev_io() -> usize;
    fn gevent_layout_alignof_ev_io() -> usize;
    fn gevent_layout_sizeof_ev_timer() -> usize;
    fn gevent_layout_alignof_ev_timer() -> usize;
    fn gevent_layout_sizeof_ev_periodic() -> usize;
    fn gevent_layout_alignof_ev_periodic() -> usize;
    fn gevent_layout_sizeof_ev_signal() -> usize;
    fn gevent_layout_alignof_ev_signal() -> usize;
    fn gevent_layout_sizeof_ev_child() -> usize;
    fn gevent_layout_alignof_ev_child() -> usize;
    fn gevent_layout_sizeof_ev_stat() -> usize;
    fn gevent_layout_alignof_ev_stat() -> usize;
    fn gevent_layout_sizeof_ev_idle() -> usize;
    fn gevent_layout_alignof_ev_idle() -> usize;
    fn gevent_layout_sizeof_ev_prepare() -> usize;
    fn gevent_layout_alignof_ev_prepare() -> usize;
    fn gevent_layout_sizeof_ev_check() -> usize;
    fn gevent_layout_alignof_ev_check() -> usize;
    fn gevent_layout_sizeof_ev_fork() -> usize;
    fn gevent_layout_alignof_ev_fork() -> usize;
    fn gevent_layout_sizeof_ev_cleanup() -> usize;
    fn gevent_layout_alignof_ev_cleanup() -> usize;
    fn gevent_layout_sizeof_ev_embed() -> usize;
    fn gevent_layout_alignof_ev_embed() -> usize;
    fn gevent_layout_sizeof_ev_async() -> usize;
    fn gevent_layout_alignof_ev_async() -> usize;

    fn gevent_layout_offsetof_ev_watcher_active() -> usize;
    fn gevent_layout_offsetof_ev_watcher_pending() -> usize;
    fn gevent_layout_offsetof_ev_watcher_priority() -> usize;
    fn gevent_layout_offsetof_ev_watcher_data() -> usize;
    fn gevent_layout_offsetof_ev_watcher_cb() -> usize;
    fn gevent_layout_offsetof_ev_io_next() -> usize;
    fn gevent_layout_offsetof_ev_io_fd() -> usize;
    fn gevent_layout_offsetof_ev_io_events() -> usize;
    fn gevent_layout_offsetof_ev_timer_at() -> usize;
    fn gevent_layout_offsetof_ev_timer_repeat() -> usize;
    fn gevent_layout_offsetof_ev_periodic_offset() -> usize;
    fn gevent_layout_offsetof_ev_periodic_interval() -> usize;
    fn gevent_layout_offsetof_ev_periodic_reschedule_cb() -> usize;
    fn gevent_layout_offsetof_ev_signal_signum() -> usize;
    fn gevent_layout_offsetof_ev_child_flags() -> usize;
    fn gevent_layout_offsetof_ev_child_pid() -> usize;
    fn gevent_layout_offsetof_ev_child_rpid() -> usize;
    fn gevent_layout_offsetof_ev_child_rstatus() -> usize;
    fn gevent_layout_offsetof_ev_stat_timer() -> usize;
    fn gevent_layout_offsetof_ev_stat_interval() -> usize;
    fn gevent_layout_offsetof_ev_stat_path() -> usize;
    fn gevent_layout_offsetof_ev_stat_prev() -> usize;
    fn gevent_layout_offsetof_ev_stat_attr() -> usize;
    fn gevent_layout_offsetof_ev_stat_wd() -> usize;
    fn gevent_layout_offsetof_ev_embed_other() -> usize;
    fn gevent_layout_offsetof_ev_embed_io() -> usize;
    fn gevent_layout_offsetof_ev_embed_prepare() -> usize;
    fn gevent_layout_offsetof_ev_embed_check() -> usize;
    fn gevent_layout_offsetof_ev_embed_timer() -> usize;
    fn gevent_layout_offsetof_ev_embed_periodic() -> usize;
    fn gevent_layout_offsetof_ev_embed_idle() -> usize;
    fn gevent_layout_offsetof_ev_embed_fork() -> usize;
    fn gevent_layout_offsetof_ev_embed_cleanup() -> usize;
    fn gevent_layout_offsetof_ev_async_sent() -> usize;
}

/// Compares one Rust value with what a C function reports; collects
/// mismatches so one run lists them all.
fn check(errors: &mut Vec<String>, what: &str, rust: usize, c: unsafe extern "C" fn() -> usize) {
    // SAFETY: the layout functions take nothing and only return a constant.
    let c = unsafe { c() };
    if rust != c {
        errors.push(format!("{what}: Rust {rust}, C {c}"));
    }
}

macro_rules! types {
    ($errors:ident: $($t:ident => $size:ident, $align:ident;)*) => {$(
        check(&mut $errors, concat!("sizeof ", stringify!($t)), size_of::<ffi::$t>(), $size);
        check(&mut $errors, concat!("alignof ", stringify!($t)), align_of::<ffi::$t>(), $align);
    )*};
}

macro_rules! fields {
    ($errors:ident: $($t:ident . $f:ident => $off:ident;)*) => {$(
        check(
            &mut $errors,
            concat!("offsetof ", stringify!($t), ".", stringify!($f)),
            offset_of!(ffi::$t, $f),
            $off,
        );
    )*};
}

#[test]
fn struct_sizes_and_alignments_match_c() {
    let mut errors = Vec::new();
    types! { errors:
        ev_watcher => gevent_layout_sizeof_ev_watcher, gevent_layout_alignof_ev_watcher;
        ev_watcher_list => gevent_layout_sizeof_ev_watcher_list, gevent_layout_alignof_ev_watcher_list;
        ev_watcher_time => gevent_layout_sizeof_ev_watcher_time, gevent_layout_alignof_ev_watcher_time;
        ev_io => gevent_layout_sizeof_ev_io, gevent_layout_alignof_ev_io;
        ev_timer => gevent_layout_sizeof_ev_timer, gevent_layout_alignof_ev_timer;
        ev_periodic => gevent_layout_sizeof_ev_periodic, gevent_layout_alignof_ev_periodic;
        ev_signal => gevent_layout_sizeof_ev_signal, gevent_layout_alignof_ev_signal;
        ev_child => gevent_layout_sizeof_ev_child, gevent_layout_alignof_ev_child;
        ev_stat => gevent_layout_sizeof_ev_stat, gevent_layout_alignof_ev_stat;
        ev_idle => gevent_layout_sizeof_ev_idle, gevent_layout_alignof_ev_idle;
        ev_prepare => gevent_layout_sizeof_ev_prepare, gevent_layout_alignof_ev_prepare;
        ev_check => gevent_layout_sizeof_ev_check, gevent_layout_alignof_ev_check;
        ev_fork => gevent_layout_sizeof_ev_fork, gevent_layout_alignof_ev_fork;
        ev_cleanup => gevent_layout_sizeof_ev_cleanup, gevent_layout_alignof_ev_cleanup;
        ev_embed => gevent_layout_sizeof_ev_embed, gevent_layout_alignof_ev_embed;
        ev_async => gevent_layout_sizeof_ev_async, gevent_layout_alignof_ev_async;
    }
    assert!(errors.is_empty(), "layout drift:\n{}", errors.join("\n"));
}

#[test]
fn field_offsets_match_c() {
    let mut errors = Vec::new();
    fields! { errors:
        ev_watcher.active => gevent_layout_offsetof_ev_watcher_active;
        ev_watcher.pending => gevent_layout_offsetof_ev_watcher_pending;
        ev_watcher.priority => gevent_layout_offsetof_ev_watcher_priority;
        ev_watcher.data => gevent_layout_offsetof_ev_watcher_data;
        ev_watcher.cb => gevent_layout_offsetof_ev_watcher_cb;
        ev_io.next => gevent_layout_offsetof_ev_io_next;
        ev_io.fd => gevent_layout_offsetof_ev_io_fd;
        ev_io.events => gevent_layout_offsetof_ev_io_events;
        ev_timer.at => gevent_layout_offsetof_ev_timer_at;
        ev_timer.repeat => gevent_layout_offsetof_ev_timer_repeat;
        ev_periodic.offset => gevent_layout_offsetof_ev_periodic_offset;
        ev_periodic.interval => gevent_layout_offsetof_ev_periodic_interval;
        ev_periodic.reschedule_cb => gevent_layout_offsetof_ev_periodic_reschedule_cb;
        ev_signal.signum => gevent_layout_offsetof_ev_signal_signum;
        ev_child.flags => gevent_layout_offsetof_ev_child_flags;
        ev_child.pid => gevent_layout_offsetof_ev_child_pid;
        ev_child.rpid => gevent_layout_offsetof_ev_child_rpid;
        ev_child.rstatus => gevent_layout_offsetof_ev_child_rstatus;
        ev_stat.timer => gevent_layout_offsetof_ev_stat_timer;
        ev_stat.interval => gevent_layout_offsetof_ev_stat_interval;
        ev_stat.path => gevent_layout_offsetof_ev_stat_path;
        ev_stat.prev => gevent_layout_offsetof_ev_stat_prev;
        ev_stat.attr => gevent_layout_offsetof_ev_stat_attr;
        ev_stat.wd => gevent_layout_offsetof_ev_stat_wd;
        ev_embed.other => gevent_layout_offsetof_ev_embed_other;
        ev_embed.io => gevent_layout_offsetof_ev_embed_io;
        ev_embed.prepare => gevent_layout_offsetof_ev_embed_prepare;
        ev_embed.check => gevent_layout_offsetof_ev_embed_check;
        ev_embed.timer => gevent_layout_offsetof_ev_embed_timer;
        ev_embed.periodic => gevent_layout_offsetof_ev_embed_periodic;
        ev_embed.idle => gevent_layout_offsetof_ev_embed_idle;
        ev_embed.fork => gevent_layout_offsetof_ev_embed_fork;
        ev_embed.cleanup => gevent_layout_offsetof_ev_embed_cleanup;
        ev_async.sent => gevent_layout_offsetof_ev_async_sent;
    }
    assert!(errors.is_empty(), "layout drift:\n{}", errors.join("\n"));
}

#[test]
fn common_header_is_shared_by_every_watcher() {
    // The macros in libev_sys cast any watcher to ev_watcher: the header
    // fields must sit at the same offsets in every struct.
    macro_rules! same_header {
        ($($t:ident),*) => {$(
            assert_eq!(offset_of!(ffi::$t, active), offset_of!(ffi::ev_watcher, active));
            assert_eq!(offset_of!(ffi::$t, pending), offset_of!(ffi::ev_watcher, pending));
            assert_eq!(offset_of!(ffi::$t, priority), offset_of!(ffi::ev_watcher, priority));
            assert_eq!(offset_of!(ffi::$t, data), offset_of!(ffi::ev_watcher, data));
            assert_eq!(offset_of!(ffi::$t, cb), offset_of!(ffi::ev_watcher, cb));
        )*};
    }
    same_header!(
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
}

#[test]
fn priority_range_matches_c() {
    // SAFETY: constant functions without arguments.
    let (min, max) = unsafe { (gevent_layout_ev_minpri(), gevent_layout_ev_maxpri()) };
    assert_eq!((ffi::EV_MINPRI, ffi::EV_MAXPRI), (min, max));
    assert_eq!((min, max), (-2, 2));
}
