//! [`RLock`] and its guard [`RLockGuard`].

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::ReleaseError;
use super::permits::Permits;
use crate::Error;
use crate::hub;

/// Who is running: the greenlet's id ([`GreenletRef::id`](crate::GreenletRef::id)),
/// or a value no greenlet has for the hub itself (whose id is the main
/// greenlet's).
fn current_owner() -> u64 {
    if hub::in_hub() {
        u64::MAX
    } else {
        hub::current_task().state().id
    }
}

struct Inner {
    p: Permits,
    owner: Cell<Option<u64>>,
    count: Cell<usize>,
}

/// A re-entrant lock (gevent's `RLock`): the greenlet holding it may
/// acquire it again without blocking, and must release it as many times;
/// only then do other greenlets get it (in arrival order). Releasing it
/// from a greenlet that does not hold it is an error.
///
/// # Examples
///
/// ```
/// use gevent::RLock;
/// let lock = RLock::new();
/// let outer = lock.acquire()?;
/// let inner = lock.acquire()?; // same greenlet: no deadlock
/// assert_eq!(lock.count(), 2);
/// drop(inner);
/// drop(outer);
/// assert!(!lock.locked());
///
/// // Another greenlet cannot release it.
/// lock.acquire()?.forget();
/// let other = lock.clone();
/// let r = gevent::spawn(move || other.release()).get()?;
/// assert_eq!(r, Err(gevent::sync::ReleaseError::NotOwner));
/// lock.release().unwrap();
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct RLock {
    inner: Rc<Inner>,
}

impl Default for RLock {
    fn default() -> Self {
        RLock::new()
    }
}

impl RLock {
    /// An unlocked re-entrant lock.
    ///
    /// ```
    /// assert!(!gevent::RLock::new().locked());
    /// ```
    pub fn new() -> RLock {
        RLock {
            inner: Rc::new(Inner {
                p: Permits::new(1, Some(1)),
                owner: Cell::new(None),
                count: Cell::new(0),
            }),
        }
    }

    fn reenter(&self, me: u64) -> Option<RLockGuard> {
        let i = &self.inner;
        if i.owner.get() == Some(me) {
            i.count.set(i.count.get() + 1);
            return Some(self.guard(me));
        }
        None
    }

    fn take(&self, me: u64) -> RLockGuard {
        self.inner.owner.set(Some(me));
        self.inner.count.set(1);
        self.guard(me)
    }

    fn guard(&self, owner: u64) -> RLockGuard {
        RLockGuard {
            inner: self.inner.clone(),
            owner,
            armed: true,
        }
    }

    /// Locks (or re-enters, if this greenlet holds it), waiting as long as
    /// it takes.
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`],
    /// [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// let _a = lock.acquire()?;
    /// let _b = lock.acquire()?;
    /// assert!(lock.is_owned());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard, Error> {
        let me = current_owner();
        if let Some(g) = self.reenter(me) {
            return Ok(g);
        }
        self.inner.p.acquire(None)?;
        Ok(self.take(me))
    }

    /// Locks or re-enters without waiting; `None` if another greenlet
    /// holds it.
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// let _a = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_some()); // re-entry
    /// let other = lock.clone();
    /// assert!(gevent::spawn(move || other.try_acquire().is_none()).get()?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<RLockGuard> {
        let me = current_owner();
        if let Some(g) = self.reenter(me) {
            return Some(g);
        }
        self.inner.p.try_acquire().then(|| self.take(me))
    }

    /// Locks or re-enters, waiting at most `timeout` (zero: do not wait).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time ran out; otherwise as for
    /// [`acquire`](RLock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// let _held = lock.acquire()?;
    /// let other = lock.clone();
    /// let r = gevent::spawn(move || other.acquire_timeout(std::time::Duration::from_millis(1)).map(drop));
    /// assert!(r.get()?.unwrap_err().is_timeout());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<RLockGuard, Error> {
        let me = current_owner();
        if let Some(g) = self.reenter(me) {
            return Ok(g);
        }
        if self.inner.p.acquire(Some(timeout))? {
            Ok(self.take(me))
        } else {
            Err(Error::Timeout)
        }
    }

    /// Releases one level of a lock taken with [`RLockGuard::forget`]; the
    /// last level unlocks it for the longest waiter.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] if nobody holds it,
    /// [`ReleaseError::NotOwner`] if another greenlet does; nothing
    /// changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// lock.acquire()?.forget();
    /// assert_eq!(lock.release(), Ok(()));
    /// assert_eq!(lock.release(), Err(gevent::sync::ReleaseError::NotLocked));
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        match self.inner.owner.get() {
            None => Err(ReleaseError::NotLocked),
            Some(o) if o != current_owner() => Err(ReleaseError::NotOwner),
            Some(_) => {
                self.inner.release_level();
                Ok(())
            }
        }
    }

    /// Whether some greenlet holds it.
    ///
    /// ```
    /// assert!(!gevent::RLock::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.owner.get().is_some()
    }

    /// Whether the running greenlet holds it.
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// let _g = lock.acquire()?;
    /// assert!(lock.is_owned());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn is_owned(&self) -> bool {
        self.inner.owner.get() == Some(current_owner())
    }

    /// How many times its holder has acquired it (0 when unlocked).
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// let _a = lock.acquire()?;
    /// assert_eq!(lock.count(), 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn count(&self) -> usize {
        self.inner.count.get()
    }

    /// How many greenlets are waiting for it.
    ///
    /// ```
    /// assert_eq!(gevent::RLock::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.p.waiting()
    }
}

impl Inner {
    fn release_level(&self) {
        let n = self.count.get() - 1;
        self.count.set(n);
        if n == 0 {
            self.owner.set(None);
            // Held, so below the bound: cannot fail.
            let _ = self.p.release();
        }
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("owner", &self.inner.owner.get())
            .field("count", &self.inner.count.get())
            .field("waiters", &self.inner.p.waiting())
            .finish()
    }
}

/// One level of a held [`RLock`]; released when dropped (also while
/// unwinding), on behalf of the greenlet that acquired it, wherever the
/// guard ends up.
///
/// ```
/// let lock = gevent::RLock::new();
/// {
///     let _g = lock.acquire()?;
///     assert!(lock.locked());
/// }
/// assert!(!lock.locked());
/// # Ok::<(), gevent::Error>(())
/// ```
#[must_use = "the lock level is released as soon as the guard is dropped"]
pub struct RLockGuard {
    inner: Rc<Inner>,
    owner: u64,
    armed: bool,
}

impl RLockGuard {
    /// Keeps this level held without a guard, until the owner calls
    /// [`RLock::release`].
    ///
    /// ```
    /// let lock = gevent::RLock::new();
    /// lock.acquire()?.forget();
    /// assert!(lock.locked());
    /// lock.release().unwrap();
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn forget(mut self) {
        self.armed = false;
    }
}

impl Drop for RLockGuard {
    fn drop(&mut self) {
        let i = &self.inner;
        // Skip if released by hand meanwhile.
        if self.armed && i.owner.get() == Some(self.owner) && i.count.get() > 0 {
            i.release_level();
        }
    }
}

impl fmt::Debug for RLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}
