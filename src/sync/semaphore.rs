//! [`Semaphore`] and its guard [`SemaphoreGuard`].

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::ReleaseError;
use super::permits::Permits;
use crate::Error;

/// A counting semaphore for greenlets (gevent's `Semaphore`): at most `n`
/// holders at a time; the others wait cooperatively.
///
/// * **Fair**: waiters are served first come, first served. A release
///   hands its permit straight to the longest waiter, so a newcomer's
///   [`try_acquire`](Semaphore::try_acquire) cannot take it.
/// * **Leak-free**: a waiter that times out or is killed (or hit by a
///   [`Timeout`](crate::Timeout)) never keeps a permit; one handed to it at
///   the last moment goes to the next waiter.
/// * Acquiring returns a [`SemaphoreGuard`] that releases on drop.
///   [`release`](Semaphore::release) adds a permit by hand (gevent allows
///   releasing more than was acquired; use
///   [`BoundedSemaphore`](crate::BoundedSemaphore) to forbid it).
///
/// Cloning the handle shares the semaphore. It belongs to one thread's
/// greenlets (`!Send`).
///
/// # Examples
///
/// Limit the concurrency of many tasks to 2 at a time:
///
/// ```
/// use gevent::{spawn, joinall, sleep, Semaphore};
/// use std::{cell::Cell, rc::Rc, time::Duration};
///
/// let sem = Semaphore::new(2);
/// let (now, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// let jobs: Vec<_> = (0..6).map(|_| {
///     let (sem, now, peak) = (sem.clone(), now.clone(), peak.clone());
///     spawn(move || {
///         let _permit = sem.acquire().unwrap();
///         now.set(now.get() + 1);
///         peak.set(peak.get().max(now.get()));
///         sleep(Duration::from_millis(1));
///         now.set(now.get() - 1);
///     })
/// }).collect();
/// joinall(&jobs, Some(Duration::from_secs(5)))?;
/// assert_eq!(peak.get(), 2);
/// assert_eq!(sem.available(), 2);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct Semaphore {
    p: Rc<Permits>,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore::with_bound(permits, None)
    }

    /// A semaphore whose count may not exceed `bound` (for
    /// [`BoundedSemaphore`](crate::BoundedSemaphore)).
    pub(super) fn with_bound(permits: usize, bound: Option<usize>) -> Semaphore {
        Semaphore {
            p: Rc::new(Permits::new(permits, bound)),
        }
    }

    /// Takes a permit, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`] (nothing could
    /// ever release one), [`Error::BlockingInHub`], [`Error::Unwinding`].
    /// A free permit is taken even where blocking is impossible.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(1);
    /// let permit = sem.acquire()?;
    /// assert_eq!(sem.available(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available(), 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard, Error> {
        self.p.acquire(None)?;
        Ok(self.guard())
    }

    /// Takes a permit if one is free, without waiting.
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(1);
    /// let a = sem.try_acquire();
    /// assert!(a.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        self.p.try_acquire().then(|| self.guard())
    }

    /// Takes a permit, waiting at most `timeout` (zero: do not wait).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time ran out; otherwise as for
    /// [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = gevent::Semaphore::new(0);
    /// assert!(sem.acquire_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard, Error> {
        if self.p.acquire(Some(timeout))? {
            Ok(self.guard())
        } else {
            Err(Error::Timeout)
        }
    }

    /// Adds a permit: hands it to the longest-waiting acquirer, if any.
    /// Use it to balance [`SemaphoreGuard::forget`], or to raise the count.
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn release(&self) {
        // Unbounded: cannot fail.
        let _ = self.try_release();
    }

    /// Adds a permit unless that would exceed the bound (see
    /// [`with_bound`](Semaphore::with_bound)).
    pub(super) fn try_release(&self) -> Result<(), ReleaseError> {
        self.p.release()
    }

    /// How many permits are free now (gevent's `counter`).
    ///
    /// ```
    /// assert_eq!(gevent::Semaphore::new(4).available(), 4);
    /// ```
    pub fn available(&self) -> usize {
        self.p.available()
    }

    /// Whether no permit is free (gevent's `locked()`).
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(1);
    /// let _g = sem.acquire()?;
    /// assert!(sem.locked());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn locked(&self) -> bool {
        self.p.available() == 0
    }

    /// How many greenlets are waiting on it (to acquire or in
    /// [`wait`](Semaphore::wait)).
    ///
    /// ```
    /// assert_eq!(gevent::Semaphore::new(1).waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.p.waiting()
    }

    /// Waits until a permit is free, without taking it (gevent's `wait()`).
    /// Earlier acquirers are served first.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(1);
    /// sem.wait()?;
    /// assert_eq!(sem.available(), 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.p.wait(None).map(|_| ())
    }

    /// Like [`wait`](Semaphore::wait), at most `timeout`; returns whether a
    /// permit is free.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = gevent::Semaphore::new(0);
    /// assert!(!sem.wait_timeout(Duration::from_millis(1))?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.p.wait(Some(timeout))
    }

    /// Registers `callback` to run once, in the hub, when a permit is free
    /// (soon, if one is free now): gevent's `rawlink`. It must not block,
    /// and the permit may be gone again by the time it runs (another
    /// greenlet may take it first), so treat it as a hint. Remove it with
    /// [`unlink`](Semaphore::unlink) before it has run.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let sem = gevent::Semaphore::new(1);
    /// let permit = sem.acquire()?;
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// sem.rawlink(move || s.set(true));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(!seen.get());
    /// drop(permit);
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> crate::LinkId {
        self.p.links.add(Box::new(callback), self.p.available() > 0)
    }

    /// Removes a callback added with [`rawlink`](Semaphore::rawlink) that
    /// has not run yet; returns whether it was removed.
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(0);
    /// let id = sem.rawlink(|| ());
    /// assert!(sem.unlink(id));
    /// ```
    pub fn unlink(&self, id: crate::LinkId) -> bool {
        self.p.links.remove(id)
    }

    fn guard(&self) -> SemaphoreGuard {
        SemaphoreGuard::new(self.p.clone())
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.p.available())
            .field("waiters", &self.p.waiting())
            .finish()
    }
}

/// A held permit of a [`Semaphore`] or
/// [`BoundedSemaphore`](crate::BoundedSemaphore); released when dropped
/// (also while unwinding from a kill or timeout). It owns a handle to the
/// semaphore, so it can be moved into a spawned greenlet.
///
/// # Examples
///
/// ```
/// let sem = gevent::Semaphore::new(1);
/// let permit = sem.acquire()?;
/// let g = gevent::spawn(move || drop(permit)); // released by the greenlet
/// g.join()?;
/// assert_eq!(sem.available(), 1);
/// # Ok::<(), gevent::Error>(())
/// ```
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard {
    p: Rc<Permits>,
    armed: bool,
}

impl SemaphoreGuard {
    /// Keeps the permit taken without a guard: it stays unavailable until
    /// someone calls [`Semaphore::release`].
    ///
    /// ```
    /// let sem = gevent::Semaphore::new(1);
    /// sem.acquire()?.forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn forget(mut self) {
        self.armed = false;
    }
}

impl SemaphoreGuard {
    pub(crate) fn new(p: Rc<Permits>) -> SemaphoreGuard {
        SemaphoreGuard { p, armed: true }
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // The guard holds a permit, so this cannot exceed a bound unless
        // someone released by hand too; then there is nothing to undo.
        let _ = self.p.release();
    }
}

impl fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
