//! Helpers for the greenlet, timeout, local and stack tests. Included with
//! `#[path = "util/greenlet.rs"] mod gutil;` so it never collides with
//! `tests/util/mod.rs`.
//!
//! * [`each_backend`] runs a body on a fresh OS thread per usable backend,
//!   with that backend's hub, and fails (never hangs) after [`GUARD`].
//! * [`child`] / [`run_child`] re-run one test in a child process to watch
//!   its stderr and exit status (failure reports, aborts).
//! * [`DropCounter`] counts destructor runs.
#![allow(dead_code)]

use std::cell::Cell;
use std::process::{Command, Output};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use gevent::core::{Backend, Loop};

/// How long one backend's run of a test body may take before it counts as hung.
pub const GUARD: Duration = Duration::from_secs(30);

/// Every backend this machine can open.
pub fn backends() -> Vec<Backend> {
    let v: Vec<Backend> = Loop::usable_backends()
        .iter()
        .filter(|&b| testable(b))
        .collect();
    assert!(!v.is_empty(), "no usable libev backend");
    v
}

/// Runs `body` once per usable backend, each time on a new OS thread whose
/// hub uses that backend. A panic in `body` fails the test naming the
/// backend; a body still running after [`GUARD`] fails it too (the stuck
/// thread is left behind, the test does not hang).
pub fn each_backend(body: fn()) {
    for b in backends() {
        on_backend(b, body);
    }
}

/// Runs `body` on a new OS thread whose hub uses `b` (see [`each_backend`]).
pub fn on_backend<T: Send + 'static>(b: Backend, body: fn() -> T) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("test-{b}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(|| gevent::run_on_backend(b, body));
            let _ = tx.send(r);
        })
        .expect("spawn a test thread");
    match rx.recv_timeout(GUARD) {
        Ok(Ok(Ok(v))) => v,
        Ok(Ok(Err(e))) => panic!("backend {b}: cannot create the hub: {e}"),
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("backend {b}: test body panicked: {msg}")
        }
        Err(_) => panic!("backend {b}: test body still running after {GUARD:?} (hung?)"),
    }
}

/// The environment variable naming the scenario a child process runs.
pub const CHILD_ENV: &str = "GEVENT_TEST_CHILD";

/// In a child started by [`run_child`], the scenario it must run.
pub fn child() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Re-runs the test `test` (its full path inside the test binary, e.g.
/// `"kill_reports"`) in a child process with [`CHILD_ENV`] = `scenario`,
/// and returns its output. The child's test must check [`child`] first.
pub fn run_child(test: &str, scenario: &str) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the test binary as a child")
}

/// The child's stderr as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The child's stdout as text.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Counts how many of its values were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<Cell<usize>>);

impl DropCounter {
    /// A new counter at zero.
    pub fn new() -> DropCounter {
        DropCounter::default()
    }
    /// A value that increments the counter when dropped.
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    /// How many tokens were dropped so far.
    pub fn get(&self) -> usize {
        self.0.get()
    }
}

/// Increments its [`DropCounter`] when dropped.
pub struct DropToken(Rc<Cell<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A bounded wait: `cond` polled between `sleep(0)`s, at most `max` yields.
pub fn yield_until(max: usize, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..max {
        if cond() {
            return true;
        }
        gevent::sleep(Duration::ZERO);
    }
    cond()
}

/// A shared log of events, to assert on ordering.
#[derive(Clone, Default)]
pub struct Log(Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }
    /// Appends an entry.
    pub fn push<S: Into<String>>(&self, s: S) {
        self.0.borrow_mut().push(s.into());
    }
    /// A copy of the entries.
    pub fn get(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
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
