//! [`Waitable`], and [`wait`]/[`iwait`] over any mix of waitable objects
//! (gevent's `gevent.wait(objects, timeout, count)` and `gevent.iwait`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::core::Timer;
use crate::hub::{self, park};
use crate::sync::DummySemaphore;
use crate::wait_list::{WakeCell, expired, park_timer};
use crate::{AsyncResult, BoundedSemaphore, Error, Event, LinkId, Semaphore};

/// Something a greenlet can wait for, and be told about in the hub when it
/// becomes ready (gevent's "linkable" objects: `rawlink`/`unlink`).
///
/// Implemented by [`Greenlet`](crate::Greenlet) and
/// [`GreenletRef`](crate::GreenletRef) (ready: dead), [`Event`] (set),
/// [`AsyncResult`] (completed), [`Semaphore`], [`BoundedSemaphore`] and
/// [`DummySemaphore`] (a permit is free), the queues
/// ([`Queue`](crate::queue::Queue) and the others: an item can be taken
/// without waiting, or the queue is shut down), and references, boxes and
/// `Rc`s of those, so `&[&dyn Waitable]` mixes kinds.
///
/// Readiness is a snapshot: another greenlet may take the permit or the
/// item before the one told about it runs.
///
/// # Examples
///
/// ```
/// use gevent::{Event, Waitable};
/// let e = Event::new();
/// assert!(!e.is_ready());
/// e.set();
/// assert!(e.is_ready());
/// ```
pub trait Waitable {
    /// Whether waiting for it now would return at once.
    ///
    /// ```
    /// use gevent::Waitable;
    /// assert!(gevent::Semaphore::new(1).is_ready());
    /// ```
    fn is_ready(&self) -> bool;

    /// Calls `callback` once, in the hub, when it becomes ready (soon, if
    /// it is ready now). The callback must not block.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use gevent::Waitable;
    /// let e = gevent::Event::new();
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// Waitable::rawlink(&e, Box::new(move || s.set(true)));
    /// e.set();
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// ```
    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId;

    /// Removes a callback that has not run yet; returns whether it did.
    ///
    /// ```
    /// use gevent::Waitable;
    /// let e = gevent::Event::new();
    /// let id = Waitable::rawlink(&e, Box::new(|| ()));
    /// assert!(Waitable::unlink(&e, id));
    /// ```
    fn unlink(&self, id: LinkId) -> bool;
}

/// Implements `Waitable` for pointers to waitables, by delegation.
macro_rules! waitable_through_pointer {
    ($($ptr:ty),* $(,)?) => {$(
        impl<W: Waitable + ?Sized> Waitable for $ptr {
            fn is_ready(&self) -> bool {
                (**self).is_ready()
            }
            fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
                (**self).rawlink(callback)
            }
            fn unlink(&self, id: LinkId) -> bool {
                (**self).unlink(id)
            }
        }
    )*};
}

waitable_through_pointer!(&W, Box<W>, Rc<W>);

/// Implements `Waitable` through the type's inherent `rawlink`/`unlink`.
macro_rules! waitable_via_inherent {
    ($t:ty, $ready:expr) => {
        impl Waitable for $t {
            fn is_ready(&self) -> bool {
                let f: fn(&$t) -> bool = $ready;
                f(self)
            }
            fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
                <$t>::rawlink(self, callback)
            }
            fn unlink(&self, id: LinkId) -> bool {
                <$t>::unlink(self, id)
            }
        }
    };
}

waitable_via_inherent!(Event, Event::is_set);
waitable_via_inherent!(Semaphore, |s| s.available() > 0);
waitable_via_inherent!(BoundedSemaphore, |s| s.available() > 0);
waitable_via_inherent!(DummySemaphore, |_| true);

impl<T: 'static> Waitable for AsyncResult<T> {
    fn is_ready(&self) -> bool {
        self.ready()
    }
    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
        AsyncResult::rawlink(self, callback)
    }
    fn unlink(&self, id: LinkId) -> bool {
        AsyncResult::unlink(self, id)
    }
}

/// Waits until `count` of `objects` are ready (all if `None`), at most
/// `timeout`: gevent's `gevent.wait(objects, timeout, count)`. Returns the
/// indices (into `objects`) of those that became ready, in the order they
/// did (those ready already first, in input order); fewer than asked if
/// the time ran out.
///
/// Works on any [`Waitable`]: greenlets, events, results, semaphores,
/// queues; `&[&dyn Waitable]` mixes them.
///
/// # Errors
///
/// When waiting is impossible: [`Error::LoopExit`] (nothing could ever
/// make them ready), [`Error::BlockingInHub`], [`Error::Unwinding`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent::{spawn, sleep, wait, Event, Waitable};
/// let gs = vec![
///     spawn(|| sleep(Duration::from_secs(3600))),
///     spawn(|| sleep(Duration::from_millis(1))),
/// ];
/// assert_eq!(wait(&gs, None, Some(1))?, vec![1]);
/// gs[0].kill()?;
///
/// // Anything waitable, mixed:
/// let stop = Event::new();
/// let s = stop.clone();
/// let worker = spawn(move || { sleep(Duration::from_millis(5)); s.set() });
/// let objects: [&dyn Waitable; 2] = [&stop, &gevent::AsyncResult::<()>::new()];
/// assert_eq!(wait(&objects, Some(Duration::from_secs(10)), Some(1))?, vec![0]);
/// worker.join()?;
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn wait<W: Waitable>(
    objects: &[W],
    timeout: Option<Duration>,
    count: Option<usize>,
) -> Result<Vec<usize>, Error> {
    let want = count.unwrap_or(objects.len()).min(objects.len());
    let mut done = Vec::with_capacity(want);
    if want == 0 {
        return Ok(done);
    }
    let mut it = iwait(objects, timeout);
    while done.len() < want {
        match it.next() {
            Some(Ok(i)) => done.push(i),
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    Ok(done)
}

/// Iterates over `objects` as they become ready: yields indices into
/// `objects` in the order they did (those ready already first, in input
/// order), blocking in between, until every one has been yielded or
/// `timeout` (for the whole iteration) passes. gevent's `iwait`.
///
/// Each object is yielded once. Dropping the iterator unlinks what is
/// left.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent::{AsyncResult, Event, Waitable};
/// let e = Event::new();
/// let r: AsyncResult<u8> = AsyncResult::new();
/// let (e2, r2) = (e.clone(), r.clone());
/// gevent::spawn(move || {
///     r2.set(1).unwrap();
///     gevent::sleep(Duration::from_millis(5));
///     e2.set();
/// });
/// let objects: [&dyn Waitable; 2] = [&e, &r];
/// let order: Vec<usize> = gevent::iwait(&objects, None).map(|r| r.unwrap()).collect();
/// assert_eq!(order, [1, 0]);
/// ```
pub fn iwait<W: Waitable>(objects: &[W], timeout: Option<Duration>) -> Iwait<'_, W> {
    let ready: Rc<RefCell<VecDeque<usize>>> = Rc::default();
    let cell = WakeCell::new_rc();
    let mut table: Vec<Option<LinkId>> = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        if o.is_ready() {
            ready.borrow_mut().push_back(i);
            table.push(None);
            continue;
        }
        let (r, c) = (ready.clone(), cell.clone());
        table.push(Some(o.rawlink(Box::new(move || {
            r.borrow_mut().push_back(i);
            c.wake();
        }))));
    }
    let (timer, timer_error) = match park_timer(timeout, &cell) {
        Ok(t) => (t, None),
        Err(e) => (None, Some(e)),
    };
    Iwait {
        objects,
        remaining: objects.len(),
        ready,
        cell,
        links: table,
        timer,
        timer_error,
    }
}

/// The iterator returned by [`iwait`]: yields `Ok(index)` per object that
/// became ready, or one `Err` if waiting became impossible.
///
/// ```
/// use gevent::{Event, iwait};
///
/// let events = [Event::new(), Event::new()];
/// events[1].set();
/// let mut it = iwait(&events, None);
/// assert_eq!(it.next().unwrap()?, 1); // the one already set comes first
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct Iwait<'a, W: Waitable> {
    objects: &'a [W],
    remaining: usize,
    ready: Rc<RefCell<VecDeque<usize>>>,
    cell: Rc<WakeCell>,
    /// Per object: its link until it has been reported.
    links: Vec<Option<LinkId>>,
    timer: Option<Timer>,
    timer_error: Option<Error>,
}

impl<W: Waitable> Iterator for Iwait<'_, W> {
    type Item = Result<usize, Error>;

    fn next(&mut self) -> Option<Result<usize, Error>> {
        loop {
            if self.remaining == 0 {
                return None;
            }
            let next = self.ready.borrow_mut().pop_front();
            if let Some(i) = next {
                // A link runs once; forget it so that drop does not unlink.
                if let Some(slot) = self.links.get_mut(i) {
                    *slot = None;
                }
                self.remaining -= 1;
                return Some(Ok(i));
            }
            if let Some(e) = self.timer_error.take() {
                self.remaining = 0;
                return Some(Err(e));
            }
            if expired(&self.timer) {
                self.remaining = 0;
                return None;
            }
            if let Err(e) = hub::check_can_block() {
                self.remaining = 0;
                return Some(Err(e));
            }
            self.cell.arm();
            if let Err(e) = park() {
                self.remaining = 0;
                return Some(Err(e));
            }
        }
    }
}

impl<W: Waitable> Drop for Iwait<'_, W> {
    fn drop(&mut self) {
        for (i, id) in self.links.iter_mut().enumerate() {
            if let Some(id) = id.take() {
                self.objects[i].unlink(id);
            }
        }
    }
}

impl<W: Waitable> fmt::Debug for Iwait<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iwait")
            .field("remaining", &self.remaining)
            .field("ready", &self.ready.borrow().len())
            .finish()
    }
}
