//! [`BoundedSemaphore`]: a semaphore that refuses to be released too often.

use std::fmt;
use std::time::Duration;

use super::{ReleaseError, Semaphore, SemaphoreGuard};
use crate::Error;

/// A [`Semaphore`](crate::Semaphore) whose count may never exceed its
/// initial value: an extra [`release`](BoundedSemaphore::release) is an
/// error ([`ReleaseError::TooManyReleases`]), which usually means a bug.
/// Same fairness and leak-freedom as `Semaphore`; its permits are
/// [`SemaphoreGuard`]s.
///
/// # Examples
///
/// ```
/// use gevent::{BoundedSemaphore, sync::ReleaseError};
/// let sem = BoundedSemaphore::new(1);
/// sem.acquire()?.forget();
/// assert_eq!(sem.release(), Ok(()));
/// assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
/// assert_eq!(sem.available(), 1);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    /// Everything but `release` and `bound` is the semaphore's.
    sem: Semaphore,
    initial: usize,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, never more.
    ///
    /// ```
    /// assert_eq!(gevent::BoundedSemaphore::new(2).available(), 2);
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore::with_bound(permits, Some(permits)),
            initial: permits,
        }
    }

    /// Takes a permit, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`],
    /// [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(1);
    /// let g = sem.acquire()?;
    /// assert!(sem.locked());
    /// drop(g);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard, Error> {
        self.sem.acquire()
    }

    /// Takes a permit if one is free, without waiting.
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(1);
    /// let _g = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        self.sem.try_acquire()
    }

    /// Takes a permit, waiting at most `timeout` (zero: do not wait).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time ran out; otherwise as for
    /// [`acquire`](BoundedSemaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(0);
    /// assert!(sem.acquire_timeout(std::time::Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard, Error> {
        self.sem.acquire_timeout(timeout)
    }

    /// Returns a permit taken with [`SemaphoreGuard::forget`]: hands it to
    /// the longest waiter, if any.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::TooManyReleases`] if every permit is already free;
    /// nothing changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(1);
    /// assert!(sem.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.sem.try_release()
    }

    /// How many permits are free now.
    ///
    /// ```
    /// assert_eq!(gevent::BoundedSemaphore::new(3).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.sem.available()
    }

    /// The initial (and maximum) number of permits.
    ///
    /// ```
    /// assert_eq!(gevent::BoundedSemaphore::new(3).bound(), 3);
    /// ```
    pub fn bound(&self) -> usize {
        self.initial
    }

    /// Whether no permit is free.
    ///
    /// ```
    /// assert!(gevent::BoundedSemaphore::new(0).locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// How many greenlets are waiting on it.
    ///
    /// ```
    /// assert_eq!(gevent::BoundedSemaphore::new(1).waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.sem.waiters()
    }

    /// Waits until a permit is free, without taking it.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](BoundedSemaphore::acquire).
    ///
    /// ```
    /// gevent::BoundedSemaphore::new(1).wait()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.sem.wait()
    }

    /// Like [`wait`](BoundedSemaphore::wait), at most `timeout`; returns
    /// whether a permit is free.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](BoundedSemaphore::acquire).
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(0);
    /// assert!(!sem.wait_timeout(std::time::Duration::from_millis(1))?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.sem.wait_timeout(timeout)
    }

    /// Registers `callback` to run once, in the hub, when a permit is free
    /// (see [`Semaphore::rawlink`]).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let sem = gevent::BoundedSemaphore::new(1);
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// sem.rawlink(move || s.set(true));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> crate::LinkId {
        self.sem.rawlink(callback)
    }

    /// Removes a callback added with [`rawlink`](BoundedSemaphore::rawlink)
    /// that has not run yet; returns whether it was removed.
    ///
    /// ```
    /// let sem = gevent::BoundedSemaphore::new(0);
    /// let id = sem.rawlink(|| ());
    /// assert!(sem.unlink(id));
    /// ```
    pub fn unlink(&self, id: crate::LinkId) -> bool {
        self.sem.unlink(id)
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.sem.available())
            .field("bound", &self.initial)
            .field("waiters", &self.sem.waiters())
            .finish()
    }
}
