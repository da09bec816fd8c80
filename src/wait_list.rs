//! Crate-private helpers for blocking operations built on `hub::park`:
//! [`WakeCell`] (how something finds the greenlet to wake), [`WaitList`]
//! (a list of waiting greenlets) and [`park_timer`] (a timeout for a park
//! loop).
//!
//! A [`Waker`] is only good for the park it was made for, so a waiting loop
//! refreshes its cell ([`WakeCell::arm`]) before every `park()`; whatever
//! must wake it (a list, a timer, a remote completion) holds the cell, not
//! a waker.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::Error;
use crate::core::Timer;
use crate::hub::{Waker, hub_inner};

/// Where to find the waiting greenlet's waker for its current park.
#[derive(Default)]
pub(crate) struct WakeCell {
    waker: RefCell<Option<Waker>>,
}

impl WakeCell {
    /// A new shared cell, not armed.
    pub(crate) fn new_rc() -> Rc<WakeCell> {
        Rc::new(WakeCell::default())
    }

    /// Points the cell at the running greenlet's next park. Call right
    /// before each `park()`.
    pub(crate) fn arm(&self) {
        *self.waker.borrow_mut() = Some(Waker::current());
    }

    /// Wakes the greenlet if it is still in the park the cell was armed
    /// for; returns whether it did.
    pub(crate) fn wake(&self) -> bool {
        // Clone out so that no borrow is held while the hub queue is touched.
        let w = self.waker.borrow().clone();
        w.is_some_and(|w| w.wake())
    }
}

/// Greenlets waiting for a condition; all are woken when it may have
/// changed, and each re-checks it (a broadcast list: no order, no data).
/// The FIFO, one-waiter-at-a-time counterpart that carries data (permits,
/// queue items) is [`crate::sync::wait_queue::WaitQueue`].
#[derive(Default)]
pub(crate) struct WaitList {
    cells: RefCell<Vec<Rc<WakeCell>>>,
}

impl WaitList {
    /// Adds a waiter (once per wait, not per park).
    pub(crate) fn add(&self, cell: &Rc<WakeCell>) {
        self.cells.borrow_mut().push(cell.clone());
    }

    /// Removes a waiter (from its drop guard: also on unwind).
    pub(crate) fn remove(&self, cell: &Rc<WakeCell>) {
        self.cells.borrow_mut().retain(|c| !Rc::ptr_eq(c, cell));
    }

    /// Wakes every waiter; they stay registered until they remove
    /// themselves.
    pub(crate) fn wake_all(&self) {
        if self.cells.borrow().is_empty() {
            return;
        }
        let cells = self.cells.borrow().clone();
        for c in cells {
            c.wake();
        }
    }
}

/// Registers `cell` in `list` for one wait and removes it when dropped
/// (also when a kill or timeout unwinds the waiting greenlet).
pub(crate) struct Registration<'a> {
    list: &'a WaitList,
    cell: Rc<WakeCell>,
}

impl<'a> Registration<'a> {
    pub(crate) fn new(list: &'a WaitList, cell: &Rc<WakeCell>) -> Registration<'a> {
        list.add(cell);
        Registration {
            list,
            cell: cell.clone(),
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.list.remove(&self.cell);
    }
}

/// A one-shot timer that wakes `cell` after `timeout`; `None` for no
/// timeout. The wait has timed out once the timer is no longer active
/// (see [`expired`]).
///
/// # Errors
///
/// If libev refuses the timer (it never does for a valid duration), as
/// `Error::Panicked` with the reason.
pub(crate) fn park_timer(
    timeout: Option<Duration>,
    cell: &Rc<WakeCell>,
) -> Result<Option<Timer>, Error> {
    let Some(d) = timeout else { return Ok(None) };
    let hub = hub_inner();
    // libev times timers from its cached "now"; refresh it first.
    hub.loop_().now_update();
    let c = cell.clone();
    let t = Timer::new(hub.loop_(), d, Duration::ZERO, move |_, _| {
        c.wake();
    });
    t.start()
        .map_err(|e| Error::Panicked(format!("cannot start a timeout timer: {e}").into()))?;
    Ok(Some(t))
}

/// Whether the timer from [`park_timer`] has fired.
pub(crate) fn expired(timer: &Option<Timer>) -> bool {
    timer.as_ref().is_some_and(|t| !t.is_active())
}
