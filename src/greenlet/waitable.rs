//! Greenlets as [`Waitable`](crate::Waitable)s, and the greenlet methods
//! that build on them ([`Greenlet::take_timeout`]).

use std::rc::Rc;
use std::time::Duration;

use super::state::DeathEntry;
use super::{Greenlet, GreenletRef, LinkId, Task};
use crate::Error;
use crate::hub::{Ready, hub_inner};
use crate::wait::Waitable;

impl LinkId {
    /// A link id from its raw number (for link lists outside greenlets).
    pub(crate) fn from_raw(raw: u64) -> LinkId {
        LinkId(raw)
    }

    /// The raw number.
    pub(crate) fn raw(self) -> u64 {
        self.0
    }
}

/// Runs `f` in the hub when `task` dies (soon if it is dead already).
fn rawlink_task(task: &Rc<dyn Task>, f: Box<dyn FnOnce()>) -> LinkId {
    let s = task.state();
    let id = s.next_link_id.get();
    s.next_link_id.set(id + 1);
    if s.is_dead() {
        hub_inner().push(Ready::Call(f));
    } else {
        s.on_death.borrow_mut().push((id, DeathEntry::Link(f)));
    }
    LinkId(id)
}

impl<T: 'static> Waitable for Greenlet<T> {
    fn is_ready(&self) -> bool {
        self.ready()
    }

    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
        rawlink_task(&(self.inner.clone() as Rc<dyn Task>), callback)
    }

    fn unlink(&self, id: LinkId) -> bool {
        Greenlet::unlink(self, id)
    }
}

impl Waitable for GreenletRef {
    fn is_ready(&self) -> bool {
        self.ready()
    }

    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
        rawlink_task(&self.task, callback)
    }

    fn unlink(&self, id: LinkId) -> bool {
        GreenletRef::unlink(self, id)
    }
}

impl<T: 'static> Greenlet<T> {
    /// Waits at most `timeout` for the greenlet and moves its value out,
    /// for result types that are not `Clone` (an `io::Result`, a
    /// connection): [`take`](Greenlet::take) with a deadline. On timeout
    /// the greenlet keeps running and its value stays there for a later
    /// `take`. A zero `timeout` only looks (never switches).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the time ran out, otherwise as for
    /// [`take`](Greenlet::take).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = gevent::spawn(|| -> std::io::Result<Vec<u8>> {
    ///     gevent::sleep(Duration::from_millis(20));
    ///     Ok(b"done".to_vec())
    /// });
    /// assert!(g.take_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// let bytes = g.take_timeout(Duration::from_secs(10))??;
    /// assert_eq!(bytes, b"done");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_timeout(&self, timeout: Duration) -> Result<T, Error> {
        // A zero timeout polls: it never lets the greenlet run first.
        if timeout.is_zero() && !self.ready() {
            return Err(Error::Timeout);
        }
        if !self.join_timeout(timeout)? {
            return Err(Error::Timeout);
        }
        self.take()
    }
}
