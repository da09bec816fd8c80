//! [`Deadline`]: the timer behind every `*_timeout` wait.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::wait_queue::{WaitKey, WaitQueue};
use crate::Error;
use crate::core::Timer;
use crate::hub::{Waker, hub_inner, park};

/// A one-shot timer that wakes a waiting greenlet when its time is up.
/// Stopped when dropped.
pub(crate) struct Deadline {
    timer: Timer,
    waker: Rc<RefCell<Waker>>,
}

impl Deadline {
    /// Arms a deadline `d` from now that wakes `waker`.
    pub(crate) fn start(d: Duration, waker: &Waker) -> Result<Deadline, Error> {
        let hub = hub_inner();
        // libev times from its cached "now": refresh it so the wait is never short.
        hub.loop_().now_update();
        let w = Rc::new(RefCell::new(waker.clone()));
        let w2 = w.clone();
        let timer = Timer::new(hub.loop_(), d, Duration::ZERO, move |_, _| {
            w2.borrow().wake();
        });
        timer
            .start()
            .map_err(|e| Error::Panicked(e.to_string().into()))?;
        Ok(Deadline { timer, waker: w })
    }

    /// Arms a deadline if there is a timeout.
    pub(crate) fn maybe(
        timeout: Option<Duration>,
        waker: &Waker,
    ) -> Result<Option<Deadline>, Error> {
        timeout.map(|d| Deadline::start(d, waker)).transpose()
    }

    /// Whether the time is up.
    #[inline]
    pub(crate) fn expired(&self) -> bool {
        !self.timer.is_active()
    }

    /// Points the deadline at the waiter's next park.
    pub(crate) fn set_waker(&self, w: Waker) {
        *self.waker.borrow_mut() = w;
    }
}

/// Whether an optional deadline has expired.
#[inline]
pub(crate) fn expired(d: &Option<Deadline>) -> bool {
    d.as_ref().is_some_and(Deadline::expired)
}

/// After a spurious return from `park`: a fresh waker for the next park,
/// also given to the deadline.
pub(crate) fn rearm(d: &Option<Deadline>) -> Waker {
    let w = Waker::current();
    if let Some(d) = d {
        d.set_waker(w.clone());
    }
    w
}

/// The park loop of a registered waiter (`key` in `waiters`): parks until
/// it is signalled or `ready()` (checked, with the list borrowed, only when
/// it was not signalled) — `Ok(true)` — or the deadline passes —
/// `Ok(false)`. After a return from `park` for nothing it waits again,
/// freshly registered. The caller unregisters afterwards (and its drop
/// guard does when `park` fails or unwinds).
#[inline]
pub(crate) fn park_until<D: Default>(
    waiters: &RefCell<WaitQueue<D>>,
    key: WaitKey,
    deadline: &Option<Deadline>,
    mut ready: impl FnMut() -> bool,
) -> Result<bool, Error> {
    loop {
        park()?;
        let mut w = waiters.borrow_mut();
        if w.is_signaled(key) || ready() {
            return Ok(true);
        }
        if expired(deadline) {
            return Ok(false);
        }
        w.set_waker(key, rearm(deadline));
    }
}
