//! [`Permits`]: the counting engine behind `Semaphore`, `BoundedSemaphore`,
//! `Lock` and `RLock`.
//!
//! Fairness: a release hands its permit straight to the longest-waiting
//! acquirer (it is never put in the pool where a newcomer could take it).
//! Waiters that only wait for availability (`Semaphore::wait`) ahead of it
//! are woken on the way. A waiter already made runnable by its timeout or a
//! kill is passed over, since it is leaving; if it was handed a permit and
//! then unwinds or fails anyway, its drop guard releases it again, so no
//! permit is ever lost.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use super::ReleaseError;
use super::deadline::{self, Deadline};
use super::links::Links;
use super::wait_queue::{WaitKey, WaitQueue};
use crate::Error;
use crate::hub::Waker;

/// A permit counter with a FIFO of waiters.
pub(crate) struct Permits {
    avail: Cell<usize>,
    /// The most permits there may be (BoundedSemaphore, Lock).
    bound: Option<usize>,
    /// `true` for waiters that only wait for availability.
    waiters: RefCell<WaitQueue<bool>>,
    /// Callbacks registered with `rawlink`: fired when a permit becomes
    /// free.
    pub(crate) links: Links,
}

impl Permits {
    pub(crate) fn new(n: usize, bound: Option<usize>) -> Permits {
        Permits {
            avail: Cell::new(n),
            bound,
            waiters: RefCell::new(WaitQueue::new()),
            links: Links::default(),
        }
    }

    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.avail.get()
    }

    /// How many greenlets wait (to acquire or for availability).
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.borrow().len()
    }

    /// Takes a permit if one is free. Free permits exist only while no
    /// acquirer is parked, so this never overtakes one.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let a = self.avail.get();
        if a > 0 {
            self.avail.set(a - 1);
            true
        } else {
            false
        }
    }

    /// Returns a permit: to the longest-waiting acquirer if there is one.
    ///
    /// Errors if that would exceed the bound.
    #[inline]
    pub(crate) fn release(&self) -> Result<(), ReleaseError> {
        if let Some(b) = self.bound {
            if self.avail.get() >= b {
                return Err(ReleaseError::TooManyReleases);
            }
        }
        self.hand_over();
        Ok(())
    }

    #[inline]
    fn hand_over(&self) {
        if self.waiters.borrow().is_empty() {
            self.avail.set(self.avail.get().saturating_add(1));
            self.links.fire();
            return;
        }
        self.hand_over_slow();
    }

    #[cold]
    fn hand_over_slow(&self) {
        {
            let mut w = self.waiters.borrow_mut();
            let mut cur = w.front();
            while let Some(k) = cur {
                cur = w.next(k);
                if *w.data(k) {
                    // Only waits for availability: tell it, pass on.
                    w.wake(k);
                    w.signal(k);
                } else if w.wake(k) {
                    w.signal(k);
                    return;
                }
            }
        }
        self.avail.set(self.avail.get().saturating_add(1));
        self.links.fire();
    }

    /// Acquires a permit, waiting at most `timeout`; `Ok(false)` when the
    /// time ran out.
    pub(crate) fn acquire(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if self.try_acquire() {
            return Ok(true);
        }
        self.wait_slow(timeout, false)
    }

    /// Waits until a permit is free (without taking it), at most `timeout`.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if self.avail.get() > 0 {
            return Ok(true);
        }
        self.wait_slow(timeout, true)
    }

    #[cold]
    fn wait_slow(&self, timeout: Option<Duration>, wait_only: bool) -> Result<bool, Error> {
        if timeout == Some(Duration::ZERO) {
            return Ok(false);
        }
        // If this greenlet may not block (in the hub, unwinding), park()
        // says so and the guard unregisters.
        let waker = Waker::current();
        let deadline = Deadline::maybe(timeout, &waker)?;
        let key = self.waiters.borrow_mut().push_back(waker, wait_only);
        let guard = Waiting {
            p: self,
            key,
            armed: true,
        };
        let got = deadline::park_until(&self.waiters, key, &deadline, || {
            let a = self.avail.get();
            if a == 0 {
                return false;
            }
            // Woken some other way while a permit is free: nobody parked
            // is ahead of us (they would have had it).
            if !wait_only {
                self.avail.set(a - 1);
            }
            true
        })?;
        guard.finish();
        Ok(got)
    }
}

/// A registered waiter; dropped while unwinding (kill, Timeout) or on an
/// error return, it unregisters and passes on a permit it was handed.
struct Waiting<'a> {
    p: &'a Permits,
    key: WaitKey,
    armed: bool,
}

impl Waiting<'_> {
    /// Unregisters after the waiter has dealt with the outcome itself.
    fn finish(mut self) {
        self.armed = false;
        self.p.waiters.borrow_mut().remove(self.key);
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (signaled, wait_only) = self.p.waiters.borrow_mut().remove(self.key);
        if signaled && !wait_only {
            // We were handed a permit we will not use: pass it on.
            self.p.hand_over();
        }
    }
}
