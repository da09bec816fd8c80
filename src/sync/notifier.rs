//! [`Notifier`]: "wait until ready", shared by `Event`, `AsyncResult` and
//! `JoinableQueue::join`.
//!
//! Ordering follows gevent: when the object becomes ready, every waiter is
//! woken in arrival order; a greenlet that arrives after that but before
//! all of them have run does not overtake them (it yields first, which
//! queues it behind them, as gevent's newcomers wait for the pending
//! notifier).

use std::cell::{Cell, RefCell};
use std::time::Duration;

use super::deadline::{self, Deadline};
use super::links::Links;
use super::wait_queue::{WaitKey, WaitQueue};
use crate::Error;
use crate::hub::{self, Waker};

#[derive(Default)]
pub(crate) struct Notifier {
    waiters: RefCell<WaitQueue<()>>,
    /// Woken waiters that have not run yet.
    pending: Cell<usize>,
    /// Callbacks registered with `rawlink`; fired with the waiters.
    pub(crate) links: Links,
}

impl Notifier {
    pub(crate) fn new() -> Notifier {
        Notifier::default()
    }

    /// Wakes every waiter, in arrival order.
    #[inline]
    pub(crate) fn notify_all(&self) {
        self.links.fire();
        if self.waiters.borrow().is_empty() {
            return;
        }
        self.notify_all_slow();
    }

    #[cold]
    fn notify_all_slow(&self) {
        let n = self.waiters.borrow_mut().signal_all(|_| {});
        self.pending.set(self.pending.get() + n);
    }

    /// How many greenlets wait.
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.borrow().len()
    }

    /// Waits until notified or `ready()` (checked first), at most
    /// `timeout`; returns whether it was notified or ready.
    pub(crate) fn wait(
        &self,
        timeout: Option<Duration>,
        ready: impl Fn() -> bool,
    ) -> Result<bool, Error> {
        if ready() {
            if self.pending.get() > 0 {
                // Let the already-woken waiters go first. If we may not
                // switch (in the hub), there is nobody to be fair to.
                let _ = hub::yield_now();
            }
            return Ok(true);
        }
        if timeout == Some(Duration::ZERO) {
            return Ok(false);
        }
        // If this greenlet may not block (in the hub, unwinding), park()
        // says so and the guard unregisters.
        let waker = Waker::current();
        let deadline = Deadline::maybe(timeout, &waker)?;
        let key = self.waiters.borrow_mut().push_back(waker, ());
        let guard = Waiting {
            n: self,
            key,
            armed: true,
        };
        let notified = deadline::park_until(&self.waiters, key, &deadline, || false)?;
        guard.finish();
        Ok(notified)
    }
}

struct Waiting<'a> {
    n: &'a Notifier,
    key: WaitKey,
    armed: bool,
}

impl Waiting<'_> {
    fn finish(mut self) {
        self.armed = false;
        self.unregister();
    }

    fn unregister(&self) {
        let (signaled, ()) = self.n.waiters.borrow_mut().remove(self.key);
        if signaled {
            self.n.pending.set(self.n.pending.get() - 1);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.unregister();
        }
    }
}
