//! [`Loop`]: a libev event loop.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::os::raw::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::rc::{Rc, Weak};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use libev_sys as ffi;

use crate::time::to_tstamp;

use super::{Backend, Backends, Events, signals};

/// How [`Loop::break_loop`] unwinds nested [`Loop::run`] calls.
///
/// # Examples
///
/// ```
/// use gevent::core::{Break, Loop, Timer};
/// use std::time::Duration;
/// let lp = Loop::new()?;
/// // A repeating timer would keep the loop running for ever: break out.
/// let t = Timer::new(&lp, Duration::ZERO, Duration::from_millis(1), |w, _| {
///     w.loop_().break_loop(Break::One);
/// });
/// t.start()?;
/// lp.run();
/// assert!(t.is_active()); // still repeating; run just returned
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// Cancel an earlier break request (`EVBREAK_CANCEL`).
    Cancel,
    /// Make the innermost `run` return (`EVBREAK_ONE`).
    One,
    /// Make every nested `run` return (`EVBREAK_ALL`).
    All,
}

pub(crate) struct LoopInner {
    ptr: NonNull<ffi::ev_loop>,
    is_default: bool,
    /// The first panic caught in a callback, re-raised by `run`.
    panic: Cell<Option<Box<dyn Any + Send>>>,
    /// An internal fork watcher that works around a libev 4.33 io_uring
    /// bug, see [`Loop::loop_fork`]. Boxed: libev keeps its address.
    uring_fork_fix: Box<UnsafeCell<ffi::ev_fork>>,
}

/// Runs in the first iteration after `ev_loop_fork` on an io_uring loop,
/// just before libev's `iouring_fork`, which restarts libev's internal
/// timerfd watcher without the `ev_unref` it got at loop creation (libev
/// 4.33 bug): that extra reference would keep `run` from ever returning.
/// Take it back in advance, once.
unsafe extern "C" fn uring_fork_fix_cb(lp: *mut ffi::ev_loop, w: *mut ffi::ev_fork, _: c_int) {
    // SAFETY: libev calls this on the loop's thread with the loop and our
    // watcher; the matching ev_ref is the one iouring_fork is about to add.
    unsafe {
        ffi::ev_fork_stop(lp, w);
        ffi::ev_unref(lp);
    }
}

/// A libev event loop: the default loop or a new one.
///
/// `Loop` is a cheap, reference-counted handle (`Clone` shares the same
/// loop). It is `!Send`: a loop and its watchers belong to one thread. Every
/// watcher keeps its loop alive, so a loop is destroyed only after its last
/// watcher and handle are gone.
///
/// The backend comes from libev's own `LIBEV_FLAGS` environment variable
/// (a decimal number of `EVBACKEND_*` bits: 1 select, 2 poll, 4 epoll,
/// 8 kqueue, 64 linuxaio, 128 io_uring), or, when that is unset, from
/// `GEVENT_BACKEND` (names such as `epoll` or `poll,select`), or libev picks
/// the best recommended one. A request the platform cannot satisfy is an
/// error naming the requested and the available backends.
///
/// Panics raised by watcher callbacks are caught at the C boundary, the loop
/// is broken out of, and the panic resumes from [`run`](Loop::run).
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Timer};
/// use std::time::Duration;
///
/// let lp = Loop::new()?;
/// let timer = Timer::new(&lp, Duration::from_millis(1), Duration::ZERO, |_t, _ev| {
///     println!("timer fired");
/// });
/// timer.start()?;
/// lp.run(); // returns once no active watcher is left
/// assert!(!timer.is_active());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Loop {
    pub(crate) inner: Rc<LoopInner>,
}

/// The thread that currently holds the default loop, if any.
static DEFAULT_OWNER: Mutex<Option<ThreadId>> = Mutex::new(None);

thread_local! {
    static DEFAULT_HANDLE: RefCell<Weak<LoopInner>> = const { RefCell::new(Weak::new()) };
}

fn env_flags() -> Option<(u32, String)> {
    // libev ignores LIBEV_FLAGS in set-uid programs; so do we.
    // SAFETY: getuid/geteuid have no preconditions.
    let secure = unsafe { libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid() };
    if secure {
        return None;
    }
    let v = std::env::var("LIBEV_FLAGS").ok()?;
    Some((atoi(&v) as u32, format!("LIBEV_FLAGS={v}")))
}

/// C's `atoi`, as libev applies it to `LIBEV_FLAGS`: leading blanks, an
/// optional sign, then digits; anything else ends the number (garbage is 0).
fn atoi(s: &str) -> i32 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = (n * 10 + i64::from(b - b'0')).min(i64::from(i32::MAX) + 1);
    }
    let n = if neg { -n } else { n };
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Works out the flags libev will use and describes where they came from.
fn resolve_flags(flags: u32) -> io::Result<(u32, String)> {
    if flags & ffi::EVFLAG_NOENV != 0 {
        return Ok((flags, format!("flags {flags:#x}")));
    }
    if let Some((f, why)) = env_flags() {
        // libev replaces the whole flags word with LIBEV_FLAGS.
        return Ok((f, why));
    }
    if let Ok(names) = std::env::var("GEVENT_BACKEND") {
        let set: Backends = names.parse().map_err(|e: io::Error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("GEVENT_BACKEND={names}: {e}"),
            )
        })?;
        let f = (flags & !ffi::EVBACKEND_MASK) | set.bits() | ffi::EVFLAG_NOENV;
        return Ok((f, format!("GEVENT_BACKEND={names}")));
    }
    Ok((flags, format!("flags {flags:#x}")))
}

fn unsupported(why: &str, requested: Backends) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{why} asks for the {requested} backend, which this platform cannot use; supported backends here: {}",
            Loop::supported_backends()
        ),
    )
}

impl Loop {
    /// Creates a new loop with libev's automatic backend choice, honouring
    /// `LIBEV_FLAGS` and `GEVENT_BACKEND`.
    ///
    /// # Errors
    ///
    /// `ErrorKind::Unsupported` naming the requested and the available
    /// backends when the environment asks for a backend this machine cannot
    /// use (say `LIBEV_FLAGS=8`, kqueue, on Linux); `InvalidInput` for an
    /// unknown name in `GEVENT_BACKEND`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// assert!(!lp.is_default());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Loop> {
        Loop::with_flags(ffi::EVFLAG_AUTO)
    }

    /// Creates a new loop that uses exactly `backend`, ignoring the environment.
    ///
    /// # Errors
    ///
    /// `ErrorKind::Unsupported` if this machine cannot use `backend`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// let lp = Loop::with_backend(Backend::Poll)?;
    /// assert_eq!(lp.backend(), Backend::Poll);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_backend(backend: Backend) -> io::Result<Loop> {
        Loop::with_flags(backend.flag() | ffi::EVFLAG_NOENV)
    }

    /// Creates a new loop from raw `ev_loop_new` flags (`EVFLAG_*` and
    /// `EVBACKEND_*` bits, see `libev_sys`). Without `EVFLAG_NOENV`,
    /// `LIBEV_FLAGS` replaces them as libev documents.
    ///
    /// # Errors
    ///
    /// `ErrorKind::Unsupported` if no requested backend can be used.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::Loop;
    /// let lp = Loop::with_flags(libev_sys::EVBACKEND_SELECT | libev_sys::EVFLAG_NOENV)?;
    /// assert_eq!(lp.backend().name(), "select");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_flags(flags: u32) -> io::Result<Loop> {
        let (flags, why) = resolve_flags(flags)?;
        Loop::check_backend_request(flags, &why)?;
        // SAFETY: ev_loop_new accepts any flags word and returns NULL when
        // no backend could be initialised.
        let ptr = unsafe { ffi::ev_loop_new(flags) };
        let ptr = NonNull::new(ptr).ok_or_else(|| Loop::creation_failed(flags, &why))?;
        Ok(Loop::from_ptr(ptr, false))
    }

    fn check_backend_request(flags: u32, why: &str) -> io::Result<()> {
        let requested = Backends::from_bits(flags);
        if !requested.is_empty() && (requested.bits() & Loop::supported_backends().bits()) == 0 {
            return Err(unsupported(why, requested));
        }
        Ok(())
    }

    fn creation_failed(flags: u32, why: &str) -> io::Error {
        let requested = Backends::from_bits(flags);
        if requested.is_empty() {
            io::Error::other(format!("libev could not initialise any backend ({why})"))
        } else {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{why} asks for the {requested} backend, but the kernel refused to set it up (it may be disabled or too old); supported backends here: {}",
                    Loop::supported_backends()
                ),
            )
        }
    }

    fn from_ptr(ptr: NonNull<ffi::ev_loop>, is_default: bool) -> Loop {
        // SAFETY: all-zero is a valid inactive ev_fork; ev_init sets it up.
        let fix: Box<UnsafeCell<ffi::ev_fork>> =
            Box::new(UnsafeCell::new(unsafe { std::mem::zeroed() }));
        // SAFETY: fresh, inactive watcher.
        unsafe { ffi::ev_init(fix.get(), Some(uring_fork_fix_cb)) };
        Loop {
            inner: Rc::new(LoopInner {
                ptr,
                is_default,
                panic: Cell::new(None),
                uring_fork_fix: fix,
            }),
        }
    }

    /// The default loop (libev's `ev_default_loop`), the only one that can
    /// run [`Child`](super::Child) watchers.
    ///
    /// One thread at a time may hold it: the first caller's thread owns it
    /// until every handle to it (and every watcher on it) is dropped; other
    /// threads get an error meanwhile. It is never destroyed, so later calls
    /// get the same loop with the backend chosen the first time.
    ///
    /// Unlike plain libev, creating the default loop does not take over
    /// `SIGCHLD`: the previous disposition is restored at once, and the
    /// loop reaps children only while a child watcher (or a `SIGCHLD`
    /// signal watcher) is active on it, so `std::process::Child::wait` keeps
    /// working for code that does not use child watchers.
    ///
    /// # Errors
    ///
    /// `ErrorKind::WouldBlock` if another thread holds the default loop;
    /// the backend errors of [`Loop::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::default_loop()?;
    /// assert!(lp.is_default());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn default_loop() -> io::Result<Loop> {
        if let Some(inner) = DEFAULT_HANDLE.with(|h| h.borrow().upgrade()) {
            return Ok(Loop { inner });
        }
        let me = std::thread::current().id();
        let mut owner = DEFAULT_OWNER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(other) = *owner {
            if other != me {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "the default libev loop is in use by another thread ({other:?}); use Loop::new() on this thread"
                    ),
                ));
            }
        }
        let ptr = signals::default_loop_ptr(|flags| {
            let (flags, why) = resolve_flags(flags)?;
            Loop::check_backend_request(flags, &why)?;
            Ok((flags, why))
        })?;
        *owner = Some(me);
        let lp = Loop::from_ptr(ptr, true);
        DEFAULT_HANDLE.with(|h| *h.borrow_mut() = Rc::downgrade(&lp.inner));
        Ok(lp)
    }

    /// The raw `struct ev_loop *`, for calling `libev_sys` directly.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// // SAFETY: the pointer is valid while `lp` lives.
    /// let n = unsafe { libev_sys::ev_iteration(lp.as_ptr()) };
    /// assert_eq!(n, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_ptr(&self) -> *mut ffi::ev_loop {
        self.inner.ptr.as_ptr()
    }

    /// Whether this is libev's default loop.
    ///
    /// ```
    /// assert!(!gevent::core::Loop::new()?.is_default());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_default(&self) -> bool {
        self.inner.is_default
    }

    /// Runs the loop until no active (referenced) watcher is left or
    /// [`break_loop`](Loop::break_loop) is called (`ev_run(loop, 0)`).
    /// Returns whether active watchers remain (libev's return value).
    ///
    /// # Panics
    ///
    /// Resumes a panic raised by a watcher callback, after the loop stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// assert!(!lp.run()); // nothing to do
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run(&self) -> bool {
        self.run_with(0)
    }

    /// Waits for and handles one round of events (`EVRUN_ONCE`).
    ///
    /// # Panics
    ///
    /// As for [`run`](Loop::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, _| {});
    /// t.start()?;
    /// lp.run_once();
    /// assert!(!t.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_once(&self) -> bool {
        self.run_with(ffi::EVRUN_ONCE as c_int)
    }

    /// Handles the events that are ready without blocking (`EVRUN_NOWAIT`).
    ///
    /// # Panics
    ///
    /// As for [`run`](Loop::run).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.run_nowait();
    /// assert_eq!(lp.iteration(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_nowait(&self) -> bool {
        self.run_with(ffi::EVRUN_NOWAIT as c_int)
    }

    fn run_with(&self, flags: c_int) -> bool {
        // SAFETY: the loop pointer is valid while `self` lives; callbacks
        // never unwind into C (the trampolines catch panics).
        let r = unsafe { ffi::ev_run(self.as_ptr(), flags) };
        self.resume_panic();
        r != 0
    }

    /// Records a panic caught in a callback and breaks out of the loop.
    pub(crate) fn store_panic(&self, payload: Box<dyn Any + Send>) {
        let first = self.inner.panic.take();
        self.inner.panic.set(Some(first.unwrap_or(payload)));
        // SAFETY: valid loop pointer; ev_break is allowed from callbacks.
        unsafe { ffi::ev_break(self.as_ptr(), ffi::EVBREAK_ALL as c_int) };
    }

    /// Resumes a panic stored by a callback, if any.
    pub(crate) fn resume_panic(&self) {
        if let Some(p) = self.inner.panic.take() {
            std::panic::resume_unwind(p);
        }
    }

    /// Takes a stored callback panic without resuming it.
    pub(crate) fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        self.inner.panic.take()
    }

    /// Asks the running [`run`](Loop::run) to return (`ev_break`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Break, Loop, Timer};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// let t = Timer::new(&lp, Duration::ZERO, Duration::from_millis(1), |t, _| {
    ///     t.loop_().break_loop(Break::All);
    /// });
    /// t.start()?;
    /// lp.run(); // returns although the repeating timer is still active
    /// assert!(t.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn break_loop(&self, how: Break) {
        let how = match how {
            Break::Cancel => ffi::EVBREAK_CANCEL,
            Break::One => ffi::EVBREAK_ONE,
            Break::All => ffi::EVBREAK_ALL,
        };
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_break(self.as_ptr(), how as c_int) }
    }

    /// The loop's cached time in seconds since the epoch (`ev_now`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// assert!(lp.now() > 1.6e9);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn now(&self) -> f64 {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_now(self.as_ptr()) }
    }

    /// Updates the cached time (`ev_now_update`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let before = lp.now();
    /// std::thread::sleep(std::time::Duration::from_millis(2));
    /// lp.now_update();
    /// assert!(lp.now() > before);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn now_update(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_now_update(self.as_ptr()) }
    }

    /// The current wall-clock time in seconds (`ev_time`).
    ///
    /// ```
    /// assert!(gevent::core::Loop::time() > 1.6e9);
    /// ```
    pub fn time() -> f64 {
        // SAFETY: no preconditions.
        unsafe { ffi::ev_time() }
    }

    /// Sleeps the whole thread (`ev_sleep`); not cooperative.
    ///
    /// ```
    /// gevent::core::Loop::sleep(std::time::Duration::from_millis(1));
    /// ```
    pub fn sleep(d: Duration) {
        // SAFETY: no preconditions.
        unsafe { ffi::ev_sleep(to_tstamp(d)) }
    }

    /// Adds a reference: the loop does not return from `run` while the
    /// count of active watchers plus references is positive (`ev_ref`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.ref_();
    /// lp.unref();
    /// assert!(!lp.run());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ref_(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_ref(self.as_ptr()) }
    }

    /// Removes a reference (`ev_unref`); see [`ref_`](Loop::ref_). Prefer a
    /// watcher's [`set_keepalive`](super::Timer::set_keepalive), which keeps
    /// the count right when libev stops a watcher by itself.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.ref_();
    /// lp.unref();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unref(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_unref(self.as_ptr()) }
    }

    /// Stops time while the process is suspended (`ev_suspend`); pair with
    /// [`resume`](Loop::resume).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.suspend();
    /// lp.resume();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn suspend(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_suspend(self.as_ptr()) }
    }

    /// Resumes after [`suspend`](Loop::suspend) (`ev_resume`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.suspend();
    /// lp.resume();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn resume(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_resume(self.as_ptr()) }
    }

    /// How many times the loop polled for events (`ev_iteration`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.run_nowait();
    /// assert_eq!(lp.iteration(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn iteration(&self) -> u32 {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_iteration(self.as_ptr()) }
    }

    /// How many `run` calls are active on this loop (`ev_depth`).
    ///
    /// ```
    /// assert_eq!(gevent::core::Loop::new()?.depth(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn depth(&self) -> u32 {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_depth(self.as_ptr()) }
    }

    /// How many watchers are pending (`ev_pending_count`).
    ///
    /// ```
    /// assert_eq!(gevent::core::Loop::new()?.pending_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pending_count(&self) -> u32 {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_pending_count(self.as_ptr()) }
    }

    /// Invokes every pending watcher now (`ev_invoke_pending`).
    ///
    /// # Panics
    ///
    /// Resumes a panic raised by a callback.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Idle, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let hits = Rc::new(Cell::new(0));
    /// let h = hits.clone();
    /// let w = Idle::new(&lp, move |_, _| h.set(h.get() + 1));
    /// w.feed(Events::CUSTOM);
    /// assert_eq!(lp.pending_count(), 1);
    /// lp.invoke_pending();
    /// assert_eq!(hits.get(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn invoke_pending(&self) {
        // SAFETY: valid loop pointer; callbacks catch their panics.
        unsafe { ffi::ev_invoke_pending(self.as_ptr()) };
        self.resume_panic();
    }

    /// Checks libev's internal data structures (`ev_verify`); libev aborts
    /// if they are corrupt. Only thorough in libev builds with
    /// `EV_VERIFY`; cheap otherwise.
    ///
    /// ```
    /// gevent::core::Loop::new()?.verify();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn verify(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_verify(self.as_ptr()) }
    }

    /// Lets the loop sleep up to `interval` to collect more io events per
    /// iteration (`ev_set_io_collect_interval`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.set_io_collect_interval(std::time::Duration::from_micros(100));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_io_collect_interval(&self, interval: Duration) {
        // SAFETY: valid loop pointer; non-negative interval.
        unsafe { ffi::ev_set_io_collect_interval(self.as_ptr(), to_tstamp(interval)) }
    }

    /// Lets timers be delayed up to `interval` to batch them
    /// (`ev_set_timeout_collect_interval`).
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.set_timeout_collect_interval(std::time::Duration::from_micros(100));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_timeout_collect_interval(&self, interval: Duration) {
        // SAFETY: valid loop pointer; non-negative interval.
        unsafe { ffi::ev_set_timeout_collect_interval(self.as_ptr(), to_tstamp(interval)) }
    }

    /// Re-initialises the kernel state after `fork()` in the child
    /// (`ev_loop_fork`); takes effect at the next iteration.
    ///
    /// On io_uring this also corrects a libev 4.33 bug: re-creating the
    /// ring leaves an extra loop reference, so `run` would never return
    /// for lack of watchers.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.loop_fork(); // harmless without a fork
    /// lp.run_nowait();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn loop_fork(&self) {
        // SAFETY: valid loop pointer.
        unsafe { ffi::ev_loop_fork(self.as_ptr()) };
        if self.backend() == Backend::IoUring {
            // SAFETY: valid loop; the boxed watcher outlives its activity
            // (LoopInner's Drop stops it). Starting an active one is a no-op,
            // so repeated loop_fork calls compensate once, like libev forks once.
            unsafe { ffi::ev_fork_start(self.as_ptr(), self.inner.uring_fork_fix.get()) };
        }
    }

    /// The backend this loop uses.
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// let lp = Loop::with_backend(Backend::Select)?;
    /// assert_eq!(lp.backend(), Backend::Select);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(&self) -> Backend {
        // SAFETY: valid loop pointer.
        let bits = unsafe { ffi::ev_backend(self.as_ptr()) };
        Backend::from_flag(bits).unwrap_or(Backend::Select)
    }

    /// Backends compiled in and usable on this system
    /// (`ev_supported_backends`).
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// assert!(Loop::supported_backends().contains(Backend::Poll));
    /// ```
    pub fn supported_backends() -> Backends {
        // SAFETY: no preconditions.
        Backends::from_bits(unsafe { ffi::ev_supported_backends() })
    }

    /// Backends libev recommends here, the ones tried by default
    /// (`ev_recommended_backends`).
    ///
    /// ```
    /// use gevent::core::Loop;
    /// let rec = Loop::recommended_backends();
    /// assert_eq!(rec.bits() & !Loop::supported_backends().bits(), 0);
    /// ```
    pub fn recommended_backends() -> Backends {
        // SAFETY: no preconditions.
        Backends::from_bits(unsafe { ffi::ev_recommended_backends() })
    }

    /// Backends whose loops can be embedded in another loop
    /// (`ev_embeddable_backends`), minus io_uring.
    ///
    /// libev 4.33 lists io_uring as embeddable, but an embedded io_uring
    /// loop never settles: each sweep re-arms its internal timerfd, which
    /// queues another fd change, and the embed watcher sweeps until no fd
    /// change is left, forever. So it is left out here, and
    /// [`Embed::new`](super::Embed::new) refuses it.
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// assert!(!Loop::embeddable_backends().contains(Backend::IoUring));
    /// ```
    pub fn embeddable_backends() -> Backends {
        // SAFETY: no preconditions.
        let bits = unsafe { ffi::ev_embeddable_backends() & ffi::ev_supported_backends() };
        Backends::from_bits(bits & !ffi::EVBACKEND_IOURING)
    }

    /// Every backend this process can actually open a loop with: the
    /// supported ones, each tried once (io_uring, say, may be compiled in
    /// yet disabled by the kernel). Handy for running tests on each backend.
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// assert!(Loop::usable_backends().contains(Backend::Select));
    /// ```
    pub fn usable_backends() -> Backends {
        Loop::supported_backends()
            .iter()
            .filter(|b| Loop::with_backend(*b).is_ok())
            .collect()
    }

    /// libev's version, `(major, minor)`.
    ///
    /// ```
    /// assert_eq!(gevent::core::Loop::version(), (4, 33));
    /// ```
    pub fn version() -> (i32, i32) {
        // SAFETY: no preconditions.
        unsafe { (ffi::ev_version_major(), ffi::ev_version_minor()) }
    }

    /// Feeds a signal event to this loop as if `signum` arrived
    /// (`ev_feed_signal_event`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `signum` is not a valid signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// lp.feed_signal_event(libc::SIGUSR1)?;
    /// assert!(lp.feed_signal_event(0).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn feed_signal_event(&self, signum: i32) -> io::Result<()> {
        signals::check_signum(signum)?;
        // SAFETY: valid loop and signal number (libev ignores signals that
        // have no watcher on this loop).
        unsafe { ffi::ev_feed_signal_event(self.as_ptr(), signum) };
        Ok(())
    }

    /// Feeds `events` to every io watcher of `fd` on this loop
    /// (`ev_feed_fd_event`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative fd or non-io event bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Loop};
    /// let lp = Loop::new()?;
    /// lp.feed_fd_event(0, Events::READ)?;
    /// assert!(lp.feed_fd_event(-1, Events::READ).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn feed_fd_event(&self, fd: RawFd, events: Events) -> io::Result<()> {
        super::io::check_fd_events(fd, events)?;
        // SAFETY: libev bounds-checks fd against its table.
        unsafe { ffi::ev_feed_fd_event(self.as_ptr(), fd, events.bits()) };
        Ok(())
    }

    /// Calls `cb` once, when `fd` becomes ready for `events` or `timeout`
    /// passes, whichever comes first (`ev_once`). Pass `None` as the fd for
    /// a pure timeout and `None` as the timeout to wait for the fd only.
    /// The callback gets the events that happened (`Events::TIMER` on
    /// timeout). If the loop is destroyed first, `cb` is dropped uncalled.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for bad event bits, a negative fd or one beyond what
    /// the loop indexes (see [`Io::new`](super::Io::new)); `EBADF` for an
    /// fd that is not open.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Loop};
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// let lp = Loop::new()?;
    /// let got = Rc::new(Cell::new(Events::NONE));
    /// let g = got.clone();
    /// lp.once(None, Events::NONE, Some(Duration::from_millis(1)), move |ev| g.set(ev))?;
    /// lp.run();
    /// assert_eq!(got.get(), Events::TIMER);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn once<F: FnOnce(Events) + 'static>(
        &self,
        fd: Option<RawFd>,
        events: Events,
        timeout: Option<Duration>,
        cb: F,
    ) -> io::Result<()> {
        if let Some(fd) = fd {
            super::io::check_new_fd_events(fd, events)?;
        }
        struct Once {
            lp: Weak<LoopInner>,
            cb: Box<dyn FnOnce(Events)>,
        }
        unsafe extern "C" fn once_cb(revents: c_int, arg: *mut c_void) {
            // SAFETY: `arg` is the Box<Once> leaked below; libev calls this once.
            let once = unsafe { Box::from_raw(arg as *mut Once) };
            let Once { lp, cb } = *once;
            if let Err(p) = catch_unwind(AssertUnwindSafe(move || cb(Events::from_bits(revents)))) {
                match lp.upgrade() {
                    Some(inner) => Loop { inner }.store_panic(p),
                    None => std::process::abort(),
                }
            }
        }
        let arg = Box::into_raw(Box::new(Once {
            lp: Rc::downgrade(&self.inner),
            cb: Box::new(cb),
        }));
        let t = timeout.map_or(-1.0, to_tstamp);
        // SAFETY: valid loop; `arg` stays alive until once_cb frees it.
        unsafe {
            ffi::ev_once(
                self.as_ptr(),
                fd.unwrap_or(-1),
                events.bits(),
                t,
                Some(once_cb),
                arg as *mut c_void,
            )
        };
        Ok(())
    }

    pub(crate) fn ptr_eq(&self, other: &Loop) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        // SAFETY: valid loop; stopping an inactive watcher does nothing.
        unsafe { ffi::ev_fork_stop(self.ptr.as_ptr(), self.uring_fork_fix.get()) };
        if self.is_default {
            // The default loop stays allocated (libev keeps process-wide
            // signal state in it); just let another thread claim it.
            let mut owner = DEFAULT_OWNER.lock().unwrap_or_else(|e| e.into_inner());
            *owner = None;
        } else {
            signals::forget_loop(self.ptr.as_ptr());
            // SAFETY: every watcher held a strong reference, so none is
            // left; the pointer is not used again.
            unsafe { ffi::ev_loop_destroy(self.ptr.as_ptr()) };
        }
    }
}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop")
            .field("ptr", &self.as_ptr())
            .field("default", &self.is_default())
            .field("backend", &self.backend())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_matches_c() {
        assert_eq!(atoi("4"), 4);
        assert_eq!(atoi("  128xyz"), 128);
        assert_eq!(atoi("garbage"), 0);
        assert_eq!(atoi(""), 0);
        assert_eq!(atoi("-1"), -1);
        assert_eq!(atoi("99999999999"), i32::MAX);
    }
}
