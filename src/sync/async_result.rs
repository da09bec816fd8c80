//! [`AsyncResult`]: a one-shot value or error, and [`AsyncResultSender`] to
//! deliver it from another OS thread.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::notifier::Notifier;
use crate::Error;
use crate::hub::{RemoteHub, hub_inner};

enum Outcome<T> {
    Pending,
    /// `None` once [`AsyncResult::take`] moved it out.
    Value(Option<T>),
    Failed(Error),
}

struct Inner<T> {
    outcome: RefCell<Outcome<T>>,
    n: Notifier,
}

impl<T> Inner<T> {
    fn ready(&self) -> bool {
        !matches!(*self.outcome.borrow(), Outcome::Pending)
    }

    /// Completes a pending result and wakes the waiters.
    fn fill(&self, outcome: Outcome<T>) {
        *self.outcome.borrow_mut() = outcome;
        self.n.notify_all();
    }

    fn complete(&self, r: Result<T, Error>) {
        if !self.ready() {
            self.fill(match r {
                Ok(v) => Outcome::Value(Some(v)),
                Err(e) => Outcome::Failed(e),
            });
        }
    }
}

/// A one-shot result that greenlets can wait for (gevent's `AsyncResult`):
/// set once, with a value ([`set`](AsyncResult::set)) or an error
/// ([`set_error`](AsyncResult::set_error)); every waiter then gets it.
///
/// * Waiters are woken in the order they started waiting; a greenlet that
///   asks after completion but before they have all run is queued behind
///   them.
/// * Completing it twice is refused (the second value is handed back).
/// * [`sender`](AsyncResult::sender) gives a `Send` handle that completes
///   it from any OS thread (how thread-pool results come back); the hub
///   stays alive while one is outstanding.
///
/// Cloning the handle shares the result (`!Send`).
///
/// # Examples
///
/// ```
/// use gevent::{spawn, AsyncResult};
/// let result = AsyncResult::new();
/// let r2 = result.clone();
/// spawn(move || {
///     gevent::sleep(std::time::Duration::from_millis(1));
///     r2.set("hello").unwrap();
/// });
/// assert_eq!(result.get()?, "hello");
/// assert!(result.ready() && result.successful());
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct AsyncResult<T: 'static> {
    inner: Rc<Inner<T>>,
}

impl<T> Clone for AsyncResult<T> {
    fn clone(&self) -> Self {
        AsyncResult {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for AsyncResult<T> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T> AsyncResult<T> {
    /// A new, pending result.
    ///
    /// ```
    /// let r: gevent::AsyncResult<u8> = gevent::AsyncResult::new();
    /// assert!(!r.ready());
    /// ```
    pub fn new() -> AsyncResult<T> {
        AsyncResult {
            inner: Rc::new(Inner {
                outcome: RefCell::new(Outcome::Pending),
                n: Notifier::new(),
            }),
        }
    }

    /// Completes it with a value and wakes the waiters.
    ///
    /// # Errors
    ///
    /// `Err(value)` (the value handed back) if it was already completed.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// assert_eq!(r.set(1), Ok(()));
    /// assert_eq!(r.set(2), Err(2));
    /// assert_eq!(r.get()?, 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        if self.inner.ready() {
            return Err(value);
        }
        self.inner.fill(Outcome::Value(Some(value)));
        Ok(())
    }

    /// Completes it with an error (gevent's `set_exception`) and wakes the
    /// waiters; they get `Err(error)`.
    ///
    /// # Errors
    ///
    /// `Err(error)` (handed back) if it was already completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::{AsyncResult, Error};
    /// let r: AsyncResult<u8> = AsyncResult::new();
    /// r.set_error(Error::killed(std::io::Error::other("no luck"))).unwrap();
    /// assert_eq!(r.get().unwrap_err().to_string(), "killed: no luck");
    /// assert!(r.ready() && !r.successful());
    /// ```
    pub fn set_error(&self, error: Error) -> Result<(), Error> {
        if self.inner.ready() {
            return Err(error);
        }
        self.inner.fill(Outcome::Failed(error));
        Ok(())
    }

    /// Whether it has been completed, one way or the other.
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// r.set(()).unwrap();
    /// assert!(r.ready());
    /// ```
    pub fn ready(&self) -> bool {
        self.inner.ready()
    }

    /// Whether it was completed with a value.
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// assert!(!r.successful());
    /// r.set(0).unwrap();
    /// assert!(r.successful());
    /// ```
    pub fn successful(&self) -> bool {
        matches!(*self.inner.outcome.borrow(), Outcome::Value(_))
    }

    /// The error it was completed with, if any (gevent's `exception`).
    ///
    /// ```
    /// let r: gevent::AsyncResult<()> = gevent::AsyncResult::new();
    /// r.set_error(gevent::Error::Timeout).unwrap();
    /// assert!(r.error().unwrap().is_timeout());
    /// ```
    pub fn error(&self) -> Option<Error> {
        match &*self.inner.outcome.borrow() {
            Outcome::Failed(e) => Some(e.clone()),
            _ => None,
        }
    }

    /// The value, if completed with one, without waiting (gevent's `value`).
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// assert_eq!(r.value(), None);
    /// r.set(3).unwrap();
    /// assert_eq!(r.value(), Some(3));
    /// ```
    pub fn value(&self) -> Option<T>
    where
        T: Clone,
    {
        match &*self.inner.outcome.borrow() {
            Outcome::Value(v) => v.clone(),
            _ => None,
        }
    }

    /// Waits until it is completed (however).
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`] (nothing could
    /// ever complete it), [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// let r2 = r.clone();
    /// gevent::spawn(move || r2.set(()).unwrap());
    /// r.wait()?;
    /// assert!(r.ready());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        let i = &self.inner;
        i.n.wait(None, || i.ready()).map(|_| ())
    }

    /// Waits at most `timeout`; returns whether it is completed.
    ///
    /// # Errors
    ///
    /// As for [`wait`](AsyncResult::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let r: gevent::AsyncResult<()> = gevent::AsyncResult::new();
    /// assert!(!r.wait_timeout(std::time::Duration::from_millis(1))?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        let i = &self.inner;
        i.n.wait(Some(timeout), || i.ready())
    }

    /// Waits for completion and returns a clone of the value.
    ///
    /// # Errors
    ///
    /// The error it was completed with, [`Error::NotReady`] if the value
    /// was [`take`](AsyncResult::take)n, or why waiting was impossible
    /// (as for [`wait`](AsyncResult::wait)).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// let r2 = r.clone();
    /// gevent::spawn(move || r2.set(vec![1, 2]).unwrap());
    /// assert_eq!(r.get()?, [1, 2]);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.wait()?;
        self.now()
    }

    /// Like [`get`](AsyncResult::get), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if it is still pending then; otherwise as for
    /// [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let r: gevent::AsyncResult<u8> = gevent::AsyncResult::new();
    /// assert!(r.get_timeout(std::time::Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Error>
    where
        T: Clone,
    {
        if !self.wait_timeout(timeout)? {
            return Err(Error::Timeout);
        }
        self.now()
    }

    /// The outcome if it is completed, without waiting (gevent's
    /// `get(block=False)`); `None` while pending.
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// assert!(r.try_get().is_none());
    /// r.set('x').unwrap();
    /// assert_eq!(r.try_get().unwrap()?, 'x');
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn try_get(&self) -> Option<Result<T, Error>>
    where
        T: Clone,
    {
        self.ready().then(|| self.now())
    }

    /// Waits for completion and moves the value out, for values that are
    /// not `Clone`; later calls (and `get`) give [`Error::NotReady`].
    ///
    /// # Errors
    ///
    /// As for [`get`](AsyncResult::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// r.set(String::from("mine")).unwrap();
    /// assert_eq!(r.take()?, "mine");
    /// assert!(matches!(r.take(), Err(gevent::Error::NotReady)));
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn take(&self) -> Result<T, Error> {
        self.wait()?;
        match &mut *self.inner.outcome.borrow_mut() {
            Outcome::Value(v) => v.take().ok_or(Error::NotReady),
            Outcome::Failed(e) => Err(e.clone()),
            Outcome::Pending => Err(Error::NotReady),
        }
    }

    fn now(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        match &*self.inner.outcome.borrow() {
            Outcome::Value(v) => v.clone().ok_or(Error::NotReady),
            Outcome::Failed(e) => Err(e.clone()),
            Outcome::Pending => Err(Error::NotReady),
        }
    }

    /// How many greenlets are waiting.
    ///
    /// ```
    /// assert_eq!(gevent::AsyncResult::<()>::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.n.waiting()
    }

    /// Registers `callback` to run once, in the hub, when the result is
    /// completed (soon, if it is already): gevent's `rawlink`. It must not
    /// block. Remove it with [`unlink`](AsyncResult::unlink) before it has
    /// run.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let r = gevent::AsyncResult::new();
    /// let seen = Rc::new(Cell::new(0));
    /// let (s, r2) = (seen.clone(), r.clone());
    /// r.rawlink(move || s.set(r2.value().unwrap()));
    /// r.set(7).unwrap();
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert_eq!(seen.get(), 7);
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> crate::LinkId {
        self.inner.n.links.add(Box::new(callback), self.ready())
    }

    /// Removes a callback added with [`rawlink`](AsyncResult::rawlink)
    /// that has not run yet; returns whether it was removed.
    ///
    /// ```
    /// let r: gevent::AsyncResult<()> = gevent::AsyncResult::new();
    /// let id = r.rawlink(|| unreachable!());
    /// assert!(r.unlink(id));
    /// assert!(!r.unlink(id));
    /// ```
    pub fn unlink(&self, id: crate::LinkId) -> bool {
        self.inner.n.links.remove(id)
    }

    /// Cancels a pending result (the `concurrent.futures.Future.cancel`
    /// counterpart): it is completed with [`Error::Cancelled`], waiters
    /// and links are woken, and a later `set` is refused. Returns whether
    /// it was cancelled: `false` if it was already completed (gevent's
    /// `AsyncResult.cancel` always returns `false` because it has nothing
    /// to cancel; here a pending result can be given up on).
    ///
    /// ```
    /// let r: gevent::AsyncResult<u8> = gevent::AsyncResult::new();
    /// assert!(r.cancel());
    /// assert!(r.cancelled() && r.ready() && !r.successful());
    /// assert!(matches!(r.get(), Err(gevent::Error::Cancelled)));
    /// assert_eq!(r.set(1), Err(1));
    /// assert!(!r.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        if self.inner.ready() {
            return false;
        }
        self.inner.fill(Outcome::Failed(Error::Cancelled));
        true
    }

    /// Whether it was completed by [`cancel`](AsyncResult::cancel).
    ///
    /// ```
    /// let r: gevent::AsyncResult<()> = gevent::AsyncResult::new();
    /// assert!(!r.cancelled());
    /// r.cancel();
    /// assert!(r.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        matches!(
            *self.inner.outcome.borrow(),
            Outcome::Failed(Error::Cancelled)
        )
    }
}

impl<T: Send + 'static> AsyncResult<T> {
    /// A `Send` handle that completes this result from any OS thread
    /// (through the hub's async watcher): how a thread hands a result back
    /// to a greenlet. While a sender is alive and unused, the hub counts on
    /// it, so a greenlet waiting for it does not get [`Error::LoopExit`].
    /// Dropping it unused withdraws that.
    ///
    /// The first completion wins, as for [`set`](AsyncResult::set);
    /// completing after another completion (or after every handle of the
    /// result was dropped) does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let result = gevent::AsyncResult::new();
    /// let sender = result.sender();
    /// std::thread::spawn(move || {
    ///     let answer = 6 * 7; // blocking work, off the hub's thread
    ///     sender.set(answer).unwrap();
    /// });
    /// assert_eq!(result.get_timeout(std::time::Duration::from_secs(5))?, 42);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn sender(&self) -> AsyncResultSender<T> {
        let hub = hub_inner();
        let id = hub.next_id();
        let target: Box<dyn Any> = Box::new(Rc::downgrade(&self.inner));
        TARGETS.with(|t| t.borrow_mut().insert(id, target));
        hub.remote_expect();
        AsyncResultSender {
            remote: hub.remote(),
            id,
            used: false,
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.inner.outcome.borrow() {
            Outcome::Pending => "pending",
            Outcome::Value(_) => "value",
            Outcome::Failed(_) => "error",
        };
        f.debug_struct("AsyncResult")
            .field("state", &state)
            .field("waiters", &self.waiters())
            .finish()
    }
}

thread_local! {
    /// The results that senders of this thread's hub may complete, by id
    /// (each a `Weak<Inner<T>>`).
    static TARGETS: RefCell<HashMap<u64, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Completes an [`AsyncResult`] from any OS thread; made by
/// [`AsyncResult::sender`]. One-shot: `set` and `set_error` consume it.
///
/// # Examples
///
/// Sixteen threads each completing their own result while the main
/// greenlet waits for all of them:
///
/// ```
/// use gevent::AsyncResult;
/// let results: Vec<AsyncResult<usize>> = (0..16).map(|_| AsyncResult::new()).collect();
/// for (i, r) in results.iter().enumerate() {
///     let s = r.sender();
///     std::thread::spawn(move || s.set(i * i).unwrap());
/// }
/// for (i, r) in results.iter().enumerate() {
///     assert_eq!(r.get_timeout(std::time::Duration::from_secs(5))?, i * i);
/// }
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct AsyncResultSender<T: Send + 'static> {
    remote: RemoteHub,
    id: u64,
    used: bool,
    _t: PhantomData<fn(T)>,
}

impl<T: Send + 'static> AsyncResultSender<T> {
    /// Completes the result with `value` (soon, on the hub's thread).
    ///
    /// # Errors
    ///
    /// If the hub's thread can no longer be reached (its async watcher is
    /// gone); the value is lost then.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent::AsyncResult::new();
    /// r.sender().set(5)?;
    /// assert_eq!(r.get()?, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set(self, value: T) -> std::io::Result<()> {
        self.complete(Ok(value))
    }

    /// Completes the result with `error`.
    ///
    /// # Errors
    ///
    /// As for [`set`](AsyncResultSender::set).
    ///
    /// # Examples
    ///
    /// ```
    /// let r: gevent::AsyncResult<()> = gevent::AsyncResult::new();
    /// let s = r.sender();
    /// std::thread::spawn(move || s.set_error(gevent::Error::Panicked("worker died".into())).unwrap());
    /// assert!(matches!(r.get(), Err(gevent::Error::Panicked(_))));
    /// ```
    pub fn set_error(self, error: Error) -> std::io::Result<()> {
        self.complete(Err(error))
    }

    fn complete(mut self, r: Result<T, Error>) -> std::io::Result<()> {
        self.used = true;
        let id = self.id;
        self.remote.run_callback(move || {
            if let Some(inner) = take_target::<T>(id) {
                inner.complete(r);
            }
            hub_inner().remote_done();
        })
    }
}

/// Unregisters a sender's target (on the hub's thread).
fn take_target<T: 'static>(id: u64) -> Option<Rc<Inner<T>>> {
    let target = TARGETS.with(|t| t.borrow_mut().remove(&id))?;
    target.downcast::<Weak<Inner<T>>>().ok()?.upgrade()
}

impl<T: Send + 'static> Drop for AsyncResultSender<T> {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        let id = self.id;
        // Unused: withdraw the registration and the hub's expectation, on
        // the hub's thread. If it is unreachable there is nobody to tell.
        let _ = self.remote.run_callback(move || {
            drop(take_target::<T>(id));
            hub_inner().remote_done();
        });
    }
}

impl<T: Send + 'static> fmt::Debug for AsyncResultSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResultSender")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
