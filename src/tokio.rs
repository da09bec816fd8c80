//! Tokio-bound futures from greenlets (feature `tokio`).
//!
//! Much of Rust's async ecosystem (HTTP clients, database drivers, cloud
//! SDKs) needs a tokio runtime: its futures only make progress on one.
//! [`block_on`] spawns such a future on a tokio runtime and parks the
//! calling greenlet until the task finishes; the hub keeps running every
//! other greenlet meanwhile. The task's completion wakes the greenlet
//! through the hub's cross-thread inbox (the waker of
//! [`crate::block_on`], which awaits the task's `JoinHandle`).
//!
//! * The runtime is the crate's own unless you pass a [`Handle`] to
//!   [`block_on_in`]: a multi-thread runtime with
//!   [`DEFAULT_WORKER_THREADS`] workers (or `GEVENT_TOKIO_THREADS`),
//!   created by the first call that needs it, with every driver tokio was
//!   built with (I/O, time) enabled. [`handle`] gives it out for spawning.
//! * It is shut down by [`shutdown`], or at process exit (from an `atexit`
//!   hook, waiting at most [`EXIT_SHUTDOWN_TIMEOUT`] for its tasks to stop);
//!   a later call creates a new one.
//! * A kill or a [`Timeout`](crate::Timeout) interrupting [`block_on`]
//!   aborts the tokio task (it is cancelled at its next `.await`).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! let sleeper = gevent::spawn(|| {
//!     gevent::tokio::block_on(async {
//!         tokio::time::sleep(Duration::from_millis(5)).await;
//!         "slept on tokio"
//!     })
//! });
//! assert_eq!(sleeper.get()??, "slept on tokio");
//! # Ok::<(), gevent::Error>(())
//! ```

use std::future::Future;
use std::io;
use std::sync::{Mutex, Once};
use std::time::Duration;

use ::tokio::runtime::{Builder, Handle, Runtime};
use ::tokio::task::JoinHandle;

use crate::Error;

/// The number of worker threads of the crate's runtime when
/// `GEVENT_TOKIO_THREADS` is unset.
///
/// # Examples
///
/// ```
/// assert_eq!(gevent::tokio::DEFAULT_WORKER_THREADS, 2);
/// ```
pub const DEFAULT_WORKER_THREADS: usize = 2;

/// The environment variable that sets the worker count of the crate's
/// runtime (read when it is created).
///
/// # Examples
///
/// ```
/// assert_eq!(gevent::tokio::THREADS_ENV, "GEVENT_TOKIO_THREADS");
/// ```
pub const THREADS_ENV: &str = "GEVENT_TOKIO_THREADS";

/// How long the `atexit` hook waits for the crate's runtime to stop.
///
/// # Examples
///
/// ```
/// assert!(gevent::tokio::EXIT_SHUTDOWN_TIMEOUT <= std::time::Duration::from_secs(1));
/// ```
pub const EXIT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(500);

/// The crate's runtime, while it runs.
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// The worker count from `GEVENT_TOKIO_THREADS`, or the default.
fn worker_threads() -> io::Result<usize> {
    match std::env::var_os(THREADS_ENV) {
        None => Ok(DEFAULT_WORKER_THREADS),
        Some(v) => v
            .to_str()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{THREADS_ENV}={v:?} is not a positive number"),
                )
            }),
    }
}

/// The crate's tokio runtime's handle, creating the runtime if needed.
///
/// # Errors
///
/// If the runtime cannot be created (its threads cannot be spawned), or
/// `GEVENT_TOKIO_THREADS` is set but not a positive number.
///
/// # Examples
///
/// ```
/// let h = gevent::tokio::handle()?;
/// let task = h.spawn(async { 1 + 1 });
/// assert_eq!(gevent::block_on(task)?.unwrap(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn handle() -> io::Result<Handle> {
    let mut rt = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = &*rt {
        return Ok(r.handle().clone());
    }
    let r = Builder::new_multi_thread()
        .worker_threads(worker_threads()?)
        .thread_name("gevent-tokio")
        .enable_all()
        .build()?;
    let h = r.handle().clone();
    *rt = Some(r);
    drop(rt);
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that catches panics and
        // only touches Rust statics; registering it has no precondition.
        // A failed registration (-1) only means no shutdown at exit.
        let _ = unsafe { libc::atexit(at_exit) };
    });
    Ok(h)
}

extern "C" fn at_exit() {
    // A panic must not cross into C.
    let _ = std::panic::catch_unwind(|| {
        // try_lock: never wait at exit for a thread that holds the lock.
        let rt = match RUNTIME.try_lock() {
            Ok(mut g) => g.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(rt) = rt {
            stop(rt, EXIT_SHUTDOWN_TIMEOUT);
        }
    });
}

/// Shuts `rt` down: waits up to `timeout` for its tasks to stop, unless
/// called from inside a tokio runtime (where waiting is not allowed).
fn stop(rt: Runtime, timeout: Duration) {
    if Handle::try_current().is_ok() {
        rt.shutdown_background();
    } else {
        rt.shutdown_timeout(timeout);
    }
}

/// Shuts the crate's runtime down, if it runs: its tasks are cancelled at
/// their next `.await`, and this waits up to `timeout` for its threads to
/// stop (it blocks the calling thread meanwhile; called from inside a
/// tokio runtime it does not wait). Greenlets still blocked in
/// [`block_on`] on it get an error. A later call to [`block_on`] or
/// [`handle`] creates a new runtime. Returns whether one was running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(gevent::tokio::block_on(async { 1 })?, 1);
/// assert!(gevent::tokio::shutdown(Duration::from_secs(1)));
/// // A new runtime on demand.
/// assert_eq!(gevent::tokio::block_on(async { 2 })?, 2);
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn shutdown(timeout: Duration) -> bool {
    let rt = RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).take();
    match rt {
        Some(rt) => {
            stop(rt, timeout);
            true
        }
        None => false,
    }
}

/// Aborts the task when dropped (a kill or timeout unwinding `block_on`).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` as a task on the crate's tokio runtime and parks the calling
/// greenlet until it finishes (the other greenlets keep running).
///
/// # Errors
///
/// [`Error::Panicked`] if the task panicked; [`Error::Killed`] if it was
/// cancelled (its runtime shut down) or the runtime cannot be created;
/// [`Error::BlockingInHub`] on the hub and [`Error::Unwinding`] while
/// unwinding (the future is not spawned then). A kill or
/// [`Timeout`](crate::Timeout) unwinds out of it and aborts the task.
///
/// # Examples
///
/// ```
/// let sum = gevent::tokio::block_on(async {
///     let a = tokio::spawn(async { 40 });
///     a.await.unwrap() + 2
/// })?;
/// assert_eq!(sum, 42);
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn block_on<F>(fut: F) -> Result<F::Output, Error>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::hub::check_can_block()?;
    let h = handle().map_err(Error::killed)?;
    block_on_in(&h, fut)
}

/// Like [`block_on`], on the runtime of `handle` (one the program owns).
///
/// # Errors
///
/// As for [`block_on`].
///
/// # Examples
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// // A current-thread runtime runs tasks only inside its `block_on`:
/// // drive it from a plain thread.
/// let h = rt.handle().clone();
/// let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
/// let driver = std::thread::spawn(move || rt.block_on(stop_rx));
/// assert_eq!(gevent::tokio::block_on_in(&h, async { "mine" })?, "mine");
/// stop_tx.send(()).unwrap();
/// driver.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn block_on_in<F>(handle: &Handle, fut: F) -> Result<F::Output, Error>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::hub::check_can_block()?;
    let mut task = AbortOnDrop(handle.spawn(fut));
    match crate::block_on(&mut task.0)? {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err(Error::Panicked(
            crate::hub::panic_message(&*e.into_panic()).into(),
        )),
        Err(_) => Err(Error::killed(io::Error::other(
            "the tokio task was cancelled (its runtime shut down)",
        ))),
    }
}
