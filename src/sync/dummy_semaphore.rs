//! [`DummySemaphore`]: a semaphore that never blocks.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::links::Links;
use crate::{Error, LinkId};

/// A semaphore with unlimited permits: every acquire succeeds at once and
/// release does nothing (gevent's `DummySemaphore`, what an unbounded pool
/// uses). Handy where code takes a semaphore-shaped limit and some callers
/// want no limit.
///
/// It has the same methods as [`Semaphore`](crate::Semaphore); the guard
/// it hands out ([`DummySemaphoreGuard`]) releases nothing.
///
/// # Examples
///
/// ```
/// use gevent::sync::DummySemaphore;
/// let sem = DummySemaphore::new();
/// let a = sem.acquire()?;
/// let b = sem.acquire()?;
/// assert!(!sem.locked());
/// assert_eq!(sem.available(), usize::MAX);
/// drop((a, b));
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct DummySemaphore {
    links: Rc<Links>,
}

/// What [`DummySemaphore::acquire`] hands out; dropping it does nothing.
///
/// ```
/// let guard = gevent::sync::DummySemaphore::new().acquire()?;
/// drop(guard);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "the guard stands for a permit held"]
pub struct DummySemaphoreGuard(());

impl DummySemaphore {
    /// A new dummy semaphore.
    ///
    /// ```
    /// let sem = gevent::sync::DummySemaphore::new();
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn new() -> DummySemaphore {
        DummySemaphore::default()
    }

    /// Takes a permit: always succeeds at once.
    ///
    /// # Errors
    ///
    /// Never; the `Result` matches [`Semaphore::acquire`](crate::Semaphore::acquire).
    ///
    /// ```
    /// let _permit = gevent::sync::DummySemaphore::new().acquire()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<DummySemaphoreGuard, Error> {
        Ok(DummySemaphoreGuard(()))
    }

    /// Takes a permit without waiting: always `Some`.
    ///
    /// ```
    /// assert!(gevent::sync::DummySemaphore::new().try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<DummySemaphoreGuard> {
        Some(DummySemaphoreGuard(()))
    }

    /// Takes a permit, waiting at most `timeout`: never waits.
    ///
    /// # Errors
    ///
    /// Never.
    ///
    /// ```
    /// let sem = gevent::sync::DummySemaphore::new();
    /// let _p = sem.acquire_timeout(std::time::Duration::ZERO)?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<DummySemaphoreGuard, Error> {
        let _ = timeout;
        Ok(DummySemaphoreGuard(()))
    }

    /// Returns a permit: does nothing.
    ///
    /// ```
    /// gevent::sync::DummySemaphore::new().release();
    /// ```
    pub fn release(&self) {}

    /// Free permits: unlimited (`usize::MAX`).
    ///
    /// ```
    /// assert_eq!(gevent::sync::DummySemaphore::new().available(), usize::MAX);
    /// ```
    pub fn available(&self) -> usize {
        usize::MAX
    }

    /// Whether acquiring would wait: never.
    ///
    /// ```
    /// assert!(!gevent::sync::DummySemaphore::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        false
    }

    /// How many greenlets wait on it: none ever do.
    ///
    /// ```
    /// assert_eq!(gevent::sync::DummySemaphore::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        0
    }

    /// Waits until a permit is free: returns at once.
    ///
    /// # Errors
    ///
    /// Never.
    ///
    /// ```
    /// gevent::sync::DummySemaphore::new().wait()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Like [`wait`](DummySemaphore::wait): always `Ok(true)` at once.
    ///
    /// # Errors
    ///
    /// Never.
    ///
    /// ```
    /// let sem = gevent::sync::DummySemaphore::new();
    /// assert!(sem.wait_timeout(std::time::Duration::ZERO)?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        let _ = timeout;
        Ok(true)
    }

    /// Registers `callback` to run once, soon, in the hub: a permit is
    /// always free. (gevent's `DummySemaphore.rawlink` ignores the
    /// callback; running it keeps [`wait`](crate::wait) over a mix of
    /// semaphores correct.)
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// gevent::sync::DummySemaphore::new().rawlink(move || s.set(true));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> LinkId {
        self.links.add(Box::new(callback), true)
    }

    /// Removes a callback that has not run yet; returns whether it was
    /// removed.
    ///
    /// ```
    /// let sem = gevent::sync::DummySemaphore::new();
    /// let id = sem.rawlink(|| unreachable!());
    /// assert!(sem.unlink(id));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.links.remove(id)
    }
}

impl fmt::Debug for DummySemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DummySemaphore")
            .field("links", &self.links.len())
            .finish()
    }
}
