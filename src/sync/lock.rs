//! [`Lock`] and its guard [`LockGuard`].

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::ReleaseError;
use super::permits::Permits;
use crate::Error;

/// A mutual-exclusion lock for greenlets (gevent's `Lock`): a binary
/// semaphore. Any greenlet may release it (ownership is not tracked; see
/// [`RLock`](crate::RLock) for that). Fair: waiters get it in arrival
/// order, and one that times out or is killed never keeps it.
///
/// It protects no data by itself (greenlets of one thread never run at the
/// same time, so `RefCell` suffices for data); it serialises *sequences of
/// blocking operations*, such as writes to one socket.
///
/// # Examples
///
/// ```
/// use gevent::{spawn, joinall, sleep, Lock};
/// use std::{cell::RefCell, rc::Rc, time::Duration};
///
/// let lock = Lock::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let jobs: Vec<_> = (0..3).map(|i| {
///     let (lock, log) = (lock.clone(), log.clone());
///     spawn(move || {
///         let _held = lock.acquire().unwrap();
///         log.borrow_mut().push(format!("{i} in"));
///         sleep(Duration::from_millis(1)); // others wait meanwhile
///         log.borrow_mut().push(format!("{i} out"));
///     })
/// }).collect();
/// joinall(&jobs, Some(Duration::from_secs(5)))?;
/// assert_eq!(*log.borrow(), ["0 in", "0 out", "1 in", "1 out", "2 in", "2 out"]);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct Lock {
    p: Rc<Permits>,
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl Lock {
    /// An unlocked lock.
    ///
    /// ```
    /// assert!(!gevent::Lock::new().locked());
    /// ```
    pub fn new() -> Lock {
        Lock {
            p: Rc::new(Permits::new(1, Some(1))),
        }
    }

    /// Locks, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`] (for example
    /// the main greenlet locking a lock it already holds),
    /// [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::Lock::new();
    /// let held = lock.acquire()?;
    /// assert!(lock.locked());
    /// drop(held);
    /// assert!(!lock.locked());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard, Error> {
        self.p.acquire(None)?;
        Ok(self.guard())
    }

    /// Locks if it is free, without waiting.
    ///
    /// ```
    /// let lock = gevent::Lock::new();
    /// let _held = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard> {
        self.p.try_acquire().then(|| self.guard())
    }

    /// Locks, waiting at most `timeout` (zero: do not wait).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time ran out; otherwise as for
    /// [`acquire`](Lock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::Lock::new();
    /// let _held = lock.acquire()?;
    /// assert!(lock.acquire_timeout(std::time::Duration::from_millis(1)).unwrap_err().is_timeout());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard, Error> {
        if self.p.acquire(Some(timeout))? {
            Ok(self.guard())
        } else {
            Err(Error::Timeout)
        }
    }

    /// Unlocks a lock taken with [`LockGuard::forget`] (any greenlet may):
    /// the longest waiter gets it.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] if it is not locked.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::Lock::new();
    /// lock.acquire()?.forget();
    /// lock.release()?;
    /// assert!(lock.release().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.p.release().map_err(|_| ReleaseError::NotLocked)
    }

    /// Whether it is locked.
    ///
    /// ```
    /// assert!(!gevent::Lock::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.p.available() == 0
    }

    /// How many greenlets are waiting for it.
    ///
    /// ```
    /// assert_eq!(gevent::Lock::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.p.waiting()
    }

    fn guard(&self) -> LockGuard {
        LockGuard {
            p: self.p.clone(),
            armed: true,
        }
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .field("waiters", &self.p.waiting())
            .finish()
    }
}

/// A held [`Lock`]; unlocks when dropped (also while unwinding from a kill
/// or timeout). Owns a handle to the lock, so it can be moved.
///
/// ```
/// let lock = gevent::Lock::new();
/// {
///     let _held = lock.acquire()?;
///     assert!(lock.locked());
/// }
/// assert!(!lock.locked());
/// # Ok::<(), gevent::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    p: Rc<Permits>,
    armed: bool,
}

impl LockGuard {
    /// Keeps the lock locked without a guard, until someone calls
    /// [`Lock::release`].
    ///
    /// ```
    /// let lock = gevent::Lock::new();
    /// lock.acquire()?.forget();
    /// assert!(lock.locked());
    /// lock.release()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forget(mut self) {
        self.armed = false;
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.armed {
            // Fails only if someone already released it by hand.
            let _ = self.p.release();
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
