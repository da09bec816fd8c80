//! [`Async`]: wake-ups from other threads.

use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

/// The raw pointers a sender needs; `None` once the watcher is gone.
#[derive(Default)]
struct Target {
    ptrs: Option<(usize, usize)>,
}

struct Shared {
    target: Mutex<Target>,
}

watcher_kind!(
    AsyncKind,
    Async,
    ffi::ev_async,
    "async",
    ffi::ev_async_start,
    ffi::ev_async_stop
);

/// An async watcher: the one libev watcher that another thread may trigger
/// (`ev_async`). [`sender`](Async::sender) hands out a `Send + Sync`
/// [`AsyncSender`] whose [`send`](AsyncSender::send) wakes the loop and
/// makes the callback run on the loop's thread. Several sends before the
/// callback runs coalesce into one call.
///
/// # Examples
///
/// ```
/// use gevent::core::{Async, Loop};
///
/// let lp = Loop::new()?;
/// let w = Async::new(&lp, |w, _ev| w.stop());
/// w.start()?;
/// let sender = w.sender();
/// let t = std::thread::spawn(move || sender.send().unwrap());
/// lp.run(); // returns once the callback stopped the watcher
/// t.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Async {
    inner: Rc<WatcherCell<AsyncKind>>,
}

/// A thread-safe handle that triggers an [`Async`] watcher.
///
/// # Examples
///
/// ```
/// use gevent::core::{Async, Loop};
/// let lp = Loop::new()?;
/// let w = Async::new(&lp, |_, _| {});
/// let s = w.sender();
/// drop(w);
/// assert!(s.send().is_err()); // the watcher is gone
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AsyncSender {
    shared: Arc<Shared>,
}

impl Async {
    /// Creates a stopped async watcher.
    ///
    /// ```
    /// let w = gevent::core::Async::new(&gevent::core::Loop::new()?, |_, _| {});
    /// assert!(!w.is_sent());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Async, Events) + 'static>(lp: &Loop, cb: F) -> Async {
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher.
            unsafe { ffi::ev_async_set(w) }
        });
        let shared = Arc::new(Shared {
            target: Mutex::new(Target {
                ptrs: Some((lp.as_ptr() as usize, inner.raw() as usize)),
            }),
        });
        *inner.extra.borrow_mut() = Some(Box::new(shared));
        Async { inner }
    }

    fn shared(&self) -> Arc<Shared> {
        let extra = self.inner.extra.borrow();
        Arc::clone(
            extra
                .as_ref()
                .and_then(|b| b.downcast_ref::<Arc<Shared>>())
                .expect("async shared state"),
        )
    }

    /// A handle that can trigger this watcher from any thread.
    ///
    /// ```
    /// let w = gevent::core::Async::new(&gevent::core::Loop::new()?, |_, _| {});
    /// let s = w.sender();
    /// std::thread::spawn(move || s.send()).join().unwrap()?;
    /// assert!(w.is_sent());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sender(&self) -> AsyncSender {
        AsyncSender {
            shared: self.shared(),
        }
    }

    /// Triggers the watcher from its own thread (`ev_async_send`).
    ///
    /// ```
    /// let w = gevent::core::Async::new(&gevent::core::Loop::new()?, |_, _| {});
    /// w.send();
    /// assert!(w.is_sent());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self) {
        // SAFETY: valid loop and watcher on the loop's thread.
        unsafe { ffi::ev_async_send(self.inner.lp.as_ptr(), self.inner.raw()) }
    }

    /// Whether a send is waiting for the callback (`ev_async_pending`).
    ///
    /// ```
    /// let w = gevent::core::Async::new(&gevent::core::Loop::new()?, |_, _| {});
    /// assert!(!w.is_sent());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_sent(&self) -> bool {
        // SAFETY: valid watcher; `sent` is read volatilely.
        unsafe { ffi::ev_async_pending(self.inner.raw()) }
    }
}

impl Drop for Async {
    fn drop(&mut self) {
        // Disconnect senders before the watcher (and maybe the loop) goes.
        let shared = self.shared();
        shared.target.lock().unwrap_or_else(|e| e.into_inner()).ptrs = None;
    }
}

impl AsyncSender {
    /// Wakes the watcher's loop and makes its callback run there
    /// (`ev_async_send`). Safe from any thread, and cheap when a send is
    /// already pending.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the watcher has been dropped.
    ///
    /// ```
    /// let w = gevent::core::Async::new(&gevent::core::Loop::new()?, |_, _| {});
    /// w.sender().send()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self) -> io::Result<()> {
        let target = self.shared.target.lock().unwrap_or_else(|e| e.into_inner());
        match target.ptrs {
            Some((lp, w)) => {
                // SAFETY: the watcher (and the loop it keeps alive) exist
                // while `ptrs` is Some: Async's Drop clears it under this
                // lock before anything is freed. ev_async_send is the libev
                // call documented as safe from other threads.
                unsafe { ffi::ev_async_send(lp as *mut ffi::ev_loop, w as *mut ffi::ev_async) };
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the async watcher has been dropped",
            )),
        }
    }
}

impl AsyncSender {
    /// Whether no thread holds the lock `send` takes (checked by the hub in
    /// a forked child, where a holder would be a thread that is gone).
    pub(crate) fn lock_is_free(&self) -> bool {
        !matches!(
            self.shared.target.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }
}

impl std::fmt::Debug for AsyncSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSender").finish_non_exhaustive()
    }
}

common_methods!(
    Async,
    "# let lp = Loop::new()?;\n",
    "Async::new(&lp, |_, _| {})"
);
