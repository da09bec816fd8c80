//! [`QueueCore`]: the engine shared by every queue type.
//!
//! # How no item is lost or duplicated
//!
//! An item is always in exactly one place: the buffer, the slot of a
//! blocked putter (its own item, until accepted), or the slot of a getter it
//! was handed to. Hand-overs happen synchronously inside `put`/`get`:
//!
//! * A put with getters waiting hands the item straight to the first one
//!   whose wake-up succeeds. A getter that is already runnable because its
//!   timeout fired or it is being killed is passed over (it is leaving), so
//!   the one that gets the item is guaranteed to resume normally and take
//!   it. Should a getter holding an item unwind anyway, its drop guard puts
//!   the item back at the head of the queue (or hands it to the next
//!   getter).
//! * A get that frees room accepts the first blocked putter's item into the
//!   buffer at once (its put has then succeeded, whatever happens to that
//!   greenlet later). A putter that times out, fails or is killed before
//!   that takes its item back out of its slot.
//! * Peekers waiting in line get a clone and the item moves on to the next
//!   waiter.
//!
//! Getters are served in arrival order and so are putters; a newcomer never
//! overtakes a blocked waiter (an item or a free slot never sits unclaimed
//! while a waiter that could take it is parked).

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use super::buffer::Buffer;
use super::{PutError, QueueError};
use crate::Error;
use crate::hub::{Waker, park};
use crate::sync::deadline::{self, Deadline};
use crate::sync::notifier::Notifier;
use crate::sync::wait_queue::{WaitKey, WaitQueue};

/// How long an operation may wait.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Not at all (`try_*`).
    Try,
    Forever,
    For(Duration),
}

impl Wait {
    /// A `*_timeout` wait; zero means do not wait.
    pub(crate) fn timeout(d: Duration) -> Wait {
        if d.is_zero() { Wait::Try } else { Wait::For(d) }
    }
}

struct Getter<T> {
    /// `Some` for a peeker: how to clone the item it is shown.
    peek: Option<fn(&T) -> T>,
    /// What it was handed; `None` when signalled means shut down.
    item: Option<T>,
}

impl<T> Default for Getter<T> {
    fn default() -> Self {
        Getter {
            peek: None,
            item: None,
        }
    }
}

struct Putter<T> {
    /// Its item until accepted; still `Some` when signalled means shut down.
    item: Option<T>,
}

impl<T> Default for Putter<T> {
    fn default() -> Self {
        Putter { item: None }
    }
}

struct State<T, B> {
    buf: B,
    maxsize: Option<usize>,
    getters: WaitQueue<Getter<T>>,
    putters: WaitQueue<Putter<T>>,
    /// Items accepted and not yet `task_done` (JoinableQueue).
    unfinished: usize,
    shutdown: bool,
}

pub(crate) struct QueueCore<T, B> {
    st: RefCell<State<T, B>>,
    joiners: Notifier,
    maxsize: Option<usize>,
    /// `rawlink` callbacks: fired when an item may be taken without
    /// waiting (or the queue is shut down).
    pub(crate) links: crate::sync::links::Links,
}

impl<T, B: Buffer<T>> State<T, B> {
    #[inline]
    fn has_room(&self) -> bool {
        match self.maxsize {
            None => true,
            Some(m) => self.buf.len() < m,
        }
    }

    /// Hands `item` to the first waiting getter that can take it (peekers
    /// in front of it get clones); gives it back if there is none.
    fn deliver(&mut self, item: T) -> Option<T> {
        let mut cur = self.getters.front();
        while let Some(k) = cur {
            cur = self.getters.next(k);
            if let Some(clone) = self.getters.data(k).peek {
                let c = clone(&item);
                self.getters.data_mut(k).item = Some(c);
                self.getters.wake(k);
                self.getters.signal(k);
            } else if self.getters.wake(k) {
                self.getters.data_mut(k).item = Some(item);
                self.getters.signal(k);
                return None;
            }
        }
        Some(item)
    }

    /// Accepts `item` if a getter takes it or there is room; gives it back
    /// otherwise.
    #[inline]
    fn offer(&mut self, item: T) -> Option<T> {
        let item = if self.getters.is_empty() {
            item
        } else {
            match self.deliver(item) {
                None => {
                    self.unfinished += 1;
                    return None;
                }
                Some(item) => item,
            }
        };
        if self.has_room() {
            self.buf.push(item);
            self.unfinished += 1;
            return None;
        }
        Some(item)
    }

    /// Accepts blocked putters' items while there is room.
    fn refill(&mut self) {
        while self.has_room() {
            let Some(k) = self.putters.front() else { break };
            let item = self.putters.data_mut(k).item.take();
            self.putters.wake(k);
            self.putters.signal(k);
            if let Some(item) = item {
                self.unfinished += 1;
                if let Some(item) = self.deliver(item) {
                    self.buf.push(item);
                }
            }
        }
    }

    /// Takes (or, for a peeker, clones) the next item if there is one: from
    /// the buffer, or straight from a blocked putter (rendezvous).
    #[inline]
    fn grab(&mut self, peek: Option<fn(&T) -> T>) -> Option<T> {
        match peek {
            None => {
                if let Some(item) = self.buf.pop() {
                    if !self.putters.is_empty() {
                        self.refill();
                    }
                    return Some(item);
                }
                let k = self.putters.front()?;
                let item = self.putters.data_mut(k).item.take();
                self.putters.wake(k);
                self.putters.signal(k);
                if item.is_some() {
                    self.unfinished += 1;
                }
                item
            }
            Some(clone) => match self.buf.peek() {
                Some(item) => Some(clone(item)),
                None => {
                    let k = self.putters.front()?;
                    self.putters.data(k).item.as_ref().map(clone)
                }
            },
        }
    }

    /// Returns an item a getter was handed but could not keep.
    fn put_back(&mut self, item: T) {
        if let Some(item) = self.deliver(item) {
            self.buf.put_back(item);
        }
    }
}

impl<T, B: Buffer<T>> QueueCore<T, B> {
    /// A queue holding at most `maxsize` items (`None`: unbounded; `0`: a
    /// rendezvous channel).
    pub(crate) fn new(maxsize: Option<usize>) -> Self {
        QueueCore {
            st: RefCell::new(State {
                buf: B::new(),
                maxsize,
                getters: WaitQueue::new(),
                putters: WaitQueue::new(),
                unfinished: 0,
                shutdown: false,
            }),
            joiners: Notifier::new(),
            maxsize,
            links: crate::sync::links::Links::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.st.borrow().buf.len()
    }

    /// Whether a get would return at once: an item is buffered or offered
    /// by a blocked putter, or the queue is shut down.
    pub(crate) fn get_ready(&self) -> bool {
        let st = self.st.borrow();
        st.shutdown || st.buf.len() > 0 || !st.putters.is_empty()
    }

    pub(crate) fn maxsize(&self) -> Option<usize> {
        self.maxsize
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize.is_some_and(|m| self.len() >= m)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.st.borrow().shutdown
    }

    /// Blocked getters (and peekers), blocked putters.
    pub(crate) fn waiting(&self) -> (usize, usize) {
        let st = self.st.borrow();
        (st.getters.len(), st.putters.len())
    }

    pub(crate) fn put(&self, item: T, wait: Wait) -> Result<(), PutError<T>> {
        let item = {
            let mut st = self.st.borrow_mut();
            if st.shutdown {
                return Err(PutError::new(QueueError::ShutDown, item));
            }
            if st.putters.is_empty() {
                match st.offer(item) {
                    None => {
                        if st.buf.len() > 0 {
                            self.links.fire();
                        }
                        drop(st);
                        self.after_handoff(wait);
                        return Ok(());
                    }
                    Some(item) => item,
                }
            } else {
                // Blocked putters go first.
                item
            }
        };
        let timeout = match wait {
            Wait::Try => return Err(PutError::new(QueueError::Full, item)),
            Wait::Forever => None,
            Wait::For(d) => Some(d),
        };
        // If this greenlet may not block (in the hub, unwinding), park()
        // says so and the item comes back.
        self.put_slow(item, timeout)
    }

    #[cold]
    fn put_slow(&self, item: T, timeout: Option<Duration>) -> Result<(), PutError<T>> {
        let waker = Waker::current();
        let deadline = match Deadline::maybe(timeout, &waker) {
            Ok(d) => d,
            Err(e) => return Err(PutError::new(QueueError::Wait(e), item)),
        };
        let key = self
            .st
            .borrow_mut()
            .putters
            .push_back(waker, Putter { item: Some(item) });
        // A blocked putter's item can be taken at once (rendezvous).
        self.links.fire();
        let guard = PutWait {
            q: self,
            key,
            armed: true,
        };
        loop {
            if let Err(e) = park() {
                return guard.finish(QueueError::Wait(e));
            }
            let mut st = self.st.borrow_mut();
            if st.putters.is_signaled(key) {
                drop(st);
                return guard.finish(QueueError::ShutDown);
            }
            // Woken some other way: there may be room now.
            if st.putters.front() == Some(key) && !st.shutdown {
                if let Some(item) = st.putters.data_mut(key).item.take() {
                    if let Some(item) = st.offer(item) {
                        st.putters.data_mut(key).item = Some(item);
                    } else {
                        drop(st);
                        let r = guard.finish(QueueError::Full);
                        self.after_handoff(Wait::Forever);
                        return r;
                    }
                }
            }
            if deadline::expired(&deadline) {
                drop(st);
                return guard.finish(QueueError::Full);
            }
            // Returned from park for nothing: wait again, freshly registered.
            st.putters.set_waker(key, deadline::rearm(&deadline));
        }
    }

    /// After a blocking put on a channel (size 0) handed its item over:
    /// lets the getter run first, then resumes the putter, as gevent's
    /// `Channel.put` does (the getter was woken, so it is ahead in the
    /// ready queue). A kill or timeout pending for the putter is raised
    /// here; the item was delivered all the same. Queues with room do not
    /// switch (gevent's `Queue.put` does not either), nor does `try_put`.
    #[inline]
    fn after_handoff(&self, wait: Wait) {
        if self.maxsize == Some(0) && !matches!(wait, Wait::Try) {
            // Cannot switch (in the hub, unwinding): the put is done anyway.
            let _ = crate::hub::yield_now();
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<T, QueueError> {
        self.take(None, wait)
    }

    pub(crate) fn peek(&self, wait: Wait) -> Result<T, QueueError>
    where
        T: Clone,
    {
        self.take(Some(T::clone), wait)
    }

    #[inline]
    fn take(&self, peek: Option<fn(&T) -> T>, wait: Wait) -> Result<T, QueueError> {
        {
            let mut st = self.st.borrow_mut();
            if let Some(item) = st.grab(peek) {
                return Ok(item);
            }
            if st.shutdown {
                return Err(QueueError::ShutDown);
            }
        }
        let timeout = match wait {
            Wait::Try => return Err(QueueError::Empty),
            Wait::Forever => None,
            Wait::For(d) => Some(d),
        };
        // park() refuses if this greenlet may not block.
        self.take_slow(peek, timeout)
    }

    #[cold]
    fn take_slow(
        &self,
        peek: Option<fn(&T) -> T>,
        timeout: Option<Duration>,
    ) -> Result<T, QueueError> {
        let waker = Waker::current();
        let deadline = Deadline::maybe(timeout, &waker)?;
        let key = self
            .st
            .borrow_mut()
            .getters
            .push_back(waker, Getter { peek, item: None });
        let guard = GetWait {
            q: self,
            key,
            armed: true,
        };
        loop {
            park()?;
            let mut st = self.st.borrow_mut();
            if st.getters.is_signaled(key) {
                drop(st);
                if let Some(item) = guard.finish() {
                    return Ok(item);
                }
                // Shut down: still drain what is left.
                return self.st.borrow_mut().grab(peek).ok_or(QueueError::ShutDown);
            }
            // Woken some other way: an item may be there now.
            if let Some(item) = st.grab(peek) {
                drop(st);
                guard.finish();
                return Ok(item);
            }
            if st.shutdown {
                drop(st);
                guard.finish();
                return Err(QueueError::ShutDown);
            }
            if deadline::expired(&deadline) {
                drop(st);
                guard.finish();
                return Err(QueueError::Empty);
            }
            // Returned from park for nothing: wait again, freshly registered.
            st.getters.set_waker(key, deadline::rearm(&deadline));
        }
    }

    /// Refuses further puts and wakes every blocked greenlet: putters get
    /// their items back with `ShutDown`; getters drain what is left, then
    /// get `ShutDown`.
    pub(crate) fn shutdown(&self) {
        let mut st = self.st.borrow_mut();
        if st.shutdown {
            return;
        }
        st.shutdown = true;
        st.getters.signal_all(|_| {});
        st.putters.signal_all(|_| {});
        self.links.fire();
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.st.borrow().unfinished
    }

    pub(crate) fn task_done(&self) -> Result<(), QueueError> {
        let zero = {
            let mut st = self.st.borrow_mut();
            if st.unfinished == 0 {
                return Err(QueueError::TaskDoneTooOften);
            }
            st.unfinished -= 1;
            st.unfinished == 0
        };
        if zero {
            self.joiners.notify_all();
        }
        Ok(())
    }

    /// Waits until every accepted item is `task_done`; returns whether it
    /// happened within `timeout`.
    pub(crate) fn join(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        self.joiners
            .wait(timeout, || self.st.borrow().unfinished == 0)
    }

    pub(crate) fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        let st = self.st.borrow();
        d.field("len", &st.buf.len())
            .field("maxsize", &st.maxsize)
            .field("getters", &st.getters.len())
            .field("putters", &st.putters.len())
            .field("shutdown", &st.shutdown);
    }
}

/// A blocked putter; if it unwinds or fails, its item comes back out of
/// its slot (and is dropped by the unwinding caller, or returned).
struct PutWait<'a, T, B: Buffer<T>> {
    q: &'a QueueCore<T, B>,
    key: WaitKey,
    armed: bool,
}

impl<T, B: Buffer<T>> PutWait<'_, T, B> {
    /// Unregisters; an item still in the slot comes back with `otherwise`
    /// (or `ShutDown` if the slot was signalled).
    fn finish(mut self, otherwise: QueueError) -> Result<(), PutError<T>> {
        self.armed = false;
        let (signaled, p) = self.q.st.borrow_mut().putters.remove(self.key);
        match p.item {
            None => Ok(()),
            Some(item) if signaled => Err(PutError::new(QueueError::ShutDown, item)),
            Some(item) => Err(PutError::new(otherwise, item)),
        }
    }
}

impl<T, B: Buffer<T>> Drop for PutWait<'_, T, B> {
    fn drop(&mut self) {
        if self.armed {
            let (_, p) = self.q.st.borrow_mut().putters.remove(self.key);
            // Its own item, never accepted: it goes down with the caller.
            drop(p);
        }
    }
}

/// A blocked getter; if it unwinds holding an item, the item goes back.
struct GetWait<'a, T, B: Buffer<T>> {
    q: &'a QueueCore<T, B>,
    key: WaitKey,
    armed: bool,
}

impl<T, B: Buffer<T>> GetWait<'_, T, B> {
    /// Unregisters and returns what it was handed, if anything.
    fn finish(mut self) -> Option<T> {
        self.armed = false;
        self.q.st.borrow_mut().getters.remove(self.key).1.item
    }
}

impl<T, B: Buffer<T>> Drop for GetWait<'_, T, B> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let leftover = {
            let mut st = self.q.st.borrow_mut();
            let (_, g) = st.getters.remove(self.key);
            match (g.item, g.peek) {
                (Some(item), None) => {
                    st.put_back(item);
                    None
                }
                // A peeked clone, or nothing.
                (other, _) => other,
            }
        };
        drop(leftover);
    }
}

/// What a queue iterator pulls items from.
pub(crate) trait ItemSource<T> {
    fn next_item(&self) -> Result<T, QueueError>;
}

impl<T, B: Buffer<T>> ItemSource<T> for QueueCore<T, B> {
    fn next_item(&self) -> Result<T, QueueError> {
        self.get(Wait::Forever)
    }
}
