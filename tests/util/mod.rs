//! Helpers shared by the integration tests (`mod util;` in each test file).
//!
//! * [`for_each_backend`] runs a closure once per backend this machine can
//!   open, printing which one, so a failure names its backend.
//! * [`run_bounded`] / [`run_until`] run a loop with a guard timer: a bug
//!   makes the test fail after [`GUARD`], never hang CI.
//! * [`signal_lock`] and [`process_lock`] serialize tests that touch
//!   process-wide state (signal dispositions, the default loop, children).
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use gevent::core::{Backend, Break, Loop, Timer};

/// How long a loop may run in a test before it counts as hung.
pub const GUARD: Duration = Duration::from_secs(5);

/// Every backend [`Loop::usable_backends`] reports, in flag order.
pub fn backends() -> Vec<Backend> {
    let v: Vec<Backend> = Loop::usable_backends()
        .iter()
        .filter(|&b| testable(b))
        .collect();
    assert!(!v.is_empty(), "no usable libev backend at all");
    v
}

/// Runs `f` once per usable backend with a fresh loop using it, printing
/// the backend first (shown by the test harness when the test fails).
pub fn for_each_backend<F: FnMut(Loop)>(mut f: F) {
    for_each_backend_named(|_, lp| f(lp));
}

/// Like [`for_each_backend`], also passing the backend.
pub fn for_each_backend_named<F: FnMut(Backend, Loop)>(mut f: F) {
    for b in backends() {
        println!("--- backend: {b}");
        let lp = Loop::with_backend(b)
            .unwrap_or_else(|e| panic!("usable backend {b} cannot open a loop: {e}"));
        assert_eq!(lp.backend(), b);
        f(b, lp);
    }
}

/// A guard timer on `lp`: after [`GUARD`] it sets the returned flag and
/// breaks every `run`. It does not keep the loop alive.
pub fn guard(lp: &Loop) -> (Timer, Rc<Cell<bool>>) {
    guard_after(lp, GUARD)
}

/// [`guard`] with a custom delay.
pub fn guard_after(lp: &Loop, after: Duration) -> (Timer, Rc<Cell<bool>>) {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let t = Timer::new(lp, after, Duration::ZERO, move |t, _| {
        f.set(true);
        t.loop_().break_loop(Break::All);
    });
    t.set_keepalive(false);
    t.start().expect("start guard timer");
    (t, fired)
}

/// Runs `lp` until it runs out of active watchers (or a callback breaks it).
/// Fails the test if the guard had to stop it. Returns `run`'s result.
pub fn run_bounded(lp: &Loop) -> bool {
    let (g, fired) = guard(lp);
    let r = lp.run();
    g.stop();
    assert!(
        !fired.get(),
        "loop (backend {}) still running after {GUARD:?}: hung?",
        lp.backend()
    );
    r
}

/// Runs `lp` one iteration at a time until `done()` holds; fails the test
/// if that takes [`GUARD`] (also when the guard's wake-up is what let the
/// condition be seen: a stalled loop is a bug too).
pub fn run_until(lp: &Loop, mut done: impl FnMut() -> bool) {
    let (g, fired) = guard(lp);
    while !done() && !fired.get() {
        lp.run_once();
    }
    g.stop();
    assert!(
        !fired.get(),
        "condition not reached within {GUARD:?} (backend {})",
        lp.backend()
    );
}

/// A shared counter for callbacks.
#[derive(Clone, Default)]
pub struct Counter(Rc<Cell<u32>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }
    pub fn inc(&self) {
        self.0.set(self.0.get() + 1);
    }
    pub fn get(&self) -> u32 {
        self.0.get()
    }
}

/// A shared log of events, for ordering assertions.
#[derive(Clone, Default)]
pub struct Log<T>(Rc<RefCell<Vec<T>>>);

impl<T: Clone> Log<T> {
    pub fn new() -> Log<T> {
        Log(Rc::new(RefCell::new(Vec::new())))
    }
    pub fn push(&self, v: T) {
        self.0.borrow_mut().push(v);
    }
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
    pub fn get(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
}

/// A connected, non-blocking pair of Unix stream sockets.
pub fn socketpair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Duplicates `fd` onto exactly `target` (which should be a number no other
/// code in the process uses, so closing it cannot race with another test
/// opening a file under the same number).
pub fn dup_to(fd: &impl AsRawFd, target: RawFd) -> RawFd {
    // SAFETY: dup2 on an open fd; `target` is reserved for the caller.
    let r = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    assert_eq!(r, target, "dup2: {}", io::Error::last_os_error());
    r
}

/// Closes a raw fd behind everyone's back.
pub fn close_fd(fd: RawFd) {
    // SAFETY: closing a number the caller owns.
    let r = unsafe { libc::close(fd) };
    assert_eq!(r, 0, "close({fd}): {}", io::Error::last_os_error());
}

fn lock(m: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

static SIGNALS: Mutex<()> = Mutex::new(());
static PROCESS: Mutex<()> = Mutex::new(());

/// Serializes tests (of one test binary) that install signal watchers or
/// raise signals: dispositions are process-wide and a signal belongs to one
/// loop at a time.
pub fn signal_lock() -> MutexGuard<'static, ()> {
    lock(&SIGNALS)
}

/// Serializes tests that use the default loop or child processes: the
/// default loop is held by one thread at a time, and while a child watcher
/// is active it reaps every child of the process.
pub fn process_lock() -> MutexGuard<'static, ()> {
    lock(&PROCESS)
}

/// Asserts that `r` failed with `kind` and that its message contains every
/// string in `needles` (case-insensitively); returns the message.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(
    r: io::Result<T>,
    kind: io::ErrorKind,
    needles: &[&str],
) -> String {
    let e = match r {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), kind, "wrong error kind for: {e}");
    let msg = e.to_string();
    let lower = msg.to_lowercase();
    for n in needles {
        assert!(
            lower.contains(&n.to_lowercase()),
            "error message {msg:?} does not mention {n:?}"
        );
    }
    msg
}

/// Whether this test process runs under valgrind (its preload library is
/// mapped). Valgrind cannot emulate the poll requests of libev's linuxaio
/// backend, and a loop waiting in `io_uring_enter` under valgrind is not
/// woken by another thread (valgrind 3.19: `async_from_another_thread`
/// hangs on io_uring only): tests hang or fail on those two backends, so
/// the backend iteration skips them under valgrind (see `.ci/memcheck`).
pub fn under_valgrind() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|m| m.contains("vgpreload"))
}

/// Whether the backend iteration runs `b` (everything but linuxaio and
/// io_uring under valgrind).
pub fn testable(b: gevent::core::Backend) -> bool {
    use gevent::core::Backend::{IoUring, LinuxAio};
    !(matches!(b, LinuxAio | IoUring) && under_valgrind())
}
