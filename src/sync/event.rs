//! [`Event`]: a flag greenlets can wait for.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::notifier::Notifier;
use crate::Error;

struct Inner {
    flag: Cell<bool>,
    n: Notifier,
}

/// A resettable flag that greenlets wait for (gevent's `Event`):
/// [`set`](Event::set) wakes every waiter, in the order they started
/// waiting, and later waits return at once until [`clear`](Event::clear).
///
/// A greenlet that calls `wait` after `set` but before all the woken
/// waiters have run is queued behind them, so it never overtakes them.
/// A waiter returns `true` when it was woken by `set`, even if the flag was
/// cleared again before it ran.
///
/// Cloning the handle shares the event (`!Send`; see
/// [`AsyncResult::sender`](crate::AsyncResult::sender) to signal from
/// another thread).
///
/// # Examples
///
/// ```
/// use gevent::{spawn, Event};
/// let ready = Event::new();
/// let r2 = ready.clone();
/// let waiter = spawn(move || {
///     r2.wait().unwrap();
///     "woken"
/// });
/// gevent::sleep(std::time::Duration::ZERO);
/// assert!(!waiter.ready());
/// ready.set();
/// assert_eq!(waiter.get()?, "woken");
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct Event {
    inner: Rc<Inner>,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// A new, clear event.
    ///
    /// ```
    /// assert!(!gevent::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            inner: Rc::new(Inner {
                flag: Cell::new(false),
                n: Notifier::new(),
            }),
        }
    }

    /// Sets the flag and wakes every waiter (they run soon, in order).
    /// Setting a set event does nothing.
    ///
    /// ```
    /// let e = gevent::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        if !self.inner.flag.replace(true) {
            self.inner.n.notify_all();
        }
    }

    /// Clears the flag: later waits block until the next `set`.
    ///
    /// ```
    /// let e = gevent::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        self.inner.flag.set(false);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// assert!(!gevent::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.flag.get()
    }

    /// Waits until the flag is set (returns at once if it is).
    ///
    /// # Errors
    ///
    /// [`Error::LoopExit`] if nothing could ever set it,
    /// [`Error::BlockingInHub`], [`Error::Unwinding`] — only when it would
    /// have to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent::Event::new();
    /// assert!(matches!(e.wait(), Err(gevent::Error::LoopExit))); // nobody can set it
    /// e.set();
    /// e.wait()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        let flag = &self.inner.flag;
        self.inner.n.wait(None, || flag.get()).map(|_| ())
    }

    /// Waits at most `timeout` for the flag; returns whether it was set.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Event::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = gevent::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(1))?);
    /// let e2 = e.clone();
    /// gevent::spawn(move || e2.set());
    /// assert!(e.wait_timeout(Duration::from_secs(5))?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        let flag = &self.inner.flag;
        self.inner.n.wait(Some(timeout), || flag.get())
    }

    /// How many greenlets are waiting.
    ///
    /// ```
    /// assert_eq!(gevent::Event::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.n.waiting()
    }

    /// Registers `callback` to run once, in the hub, when the flag is set
    /// (soon, if it is set already): gevent's `rawlink`. It must not
    /// block; spawn a greenlet from it for that. Remove it with
    /// [`unlink`](Event::unlink) before it has run.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let e = gevent::Event::new();
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// e.rawlink(move || s.set(true));
    /// e.set();
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> crate::LinkId {
        self.inner.n.links.add(Box::new(callback), self.is_set())
    }

    /// Removes a callback added with [`rawlink`](Event::rawlink) that has
    /// not run yet; returns whether it was removed.
    ///
    /// ```
    /// let e = gevent::Event::new();
    /// let id = e.rawlink(|| unreachable!());
    /// assert!(e.unlink(id));
    /// e.set();
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(!e.unlink(id));
    /// ```
    pub fn unlink(&self, id: crate::LinkId) -> bool {
        self.inner.n.links.remove(id)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .field("waiters", &self.waiters())
            .finish()
    }
}
