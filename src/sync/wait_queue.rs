//! [`WaitQueue`]: the FIFO list of parked greenlets that every blocking
//! primitive keeps, with O(1) insertion and removal and no allocation once
//! warmed up.
//!
//! A waiter pushes itself with [`push_back`](WaitQueue::push_back) and keeps
//! the returned [`WaitKey`]. A notifier *signals* waiters: it unlinks them
//! (they can no longer be signalled again), may write into their data (an
//! item, a permit), and wakes them. The slot stays allocated until its
//! waiter [`remove`](WaitQueue::remove)s it, normally or from a drop guard
//! while unwinding, and learns then whether it had been signalled and what
//! it was given.
//!
//! Not to be confused with [`crate::wait_list::WaitList`], the simpler
//! broadcast list (every waiter woken on every change, each re-checks its
//! condition) used where waiters carry no data and order does not matter
//! (thread-pool joins, pool membership). A `WaitQueue` hands what it has to
//! one waiter at a time, in arrival order.

use crate::hub::Waker;

const NIL: usize = usize::MAX;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Link {
    Free,
    Linked,
    Signaled,
}

struct Slot<D> {
    waker: Option<Waker>,
    data: D,
    prev: usize,
    /// The next linked slot, or the next free one for free slots.
    next: usize,
    link: Link,
}

/// A waiter's place in a [`WaitQueue`]; only its own waiter holds it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct WaitKey(usize);

/// A FIFO of waiting greenlets, each with some data `D`.
pub(crate) struct WaitQueue<D> {
    slots: Vec<Slot<D>>,
    head: usize,
    tail: usize,
    free: usize,
    linked: usize,
}

impl<D: Default> Default for WaitQueue<D> {
    fn default() -> Self {
        WaitQueue::new()
    }
}

impl<D: Default> WaitQueue<D> {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            linked: 0,
        }
    }

    /// Whether no waiter is linked (signalled ones do not count).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// How many waiters are linked.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// Links a new waiter at the back.
    pub(crate) fn push_back(&mut self, waker: Waker, data: D) -> WaitKey {
        let i = if self.free != NIL {
            let i = self.free;
            let s = &mut self.slots[i];
            self.free = s.next;
            s.waker = Some(waker);
            s.data = data;
            i
        } else {
            self.slots.push(Slot {
                waker: Some(waker),
                data,
                prev: NIL,
                next: NIL,
                link: Link::Free,
            });
            self.slots.len() - 1
        };
        let s = &mut self.slots[i];
        s.link = Link::Linked;
        s.prev = self.tail;
        s.next = NIL;
        if self.tail != NIL {
            self.slots[self.tail].next = i;
        } else {
            self.head = i;
        }
        self.tail = i;
        self.linked += 1;
        WaitKey(i)
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.slots[i].prev, self.slots[i].next);
        if prev != NIL {
            self.slots[prev].next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.slots[next].prev = prev;
        } else {
            self.tail = prev;
        }
        self.linked -= 1;
    }

    /// Whether the waiter has been signalled.
    #[inline]
    pub(crate) fn is_signaled(&self, k: WaitKey) -> bool {
        self.slots[k.0].link == Link::Signaled
    }

    /// The waiter's data.
    pub(crate) fn data(&self, k: WaitKey) -> &D {
        &self.slots[k.0].data
    }

    /// The waiter's data, mutably.
    pub(crate) fn data_mut(&mut self, k: WaitKey) -> &mut D {
        &mut self.slots[k.0].data
    }

    /// Replaces a linked waiter's waker (after a spurious return from
    /// `park`, the old one is stale).
    pub(crate) fn set_waker(&mut self, k: WaitKey, w: Waker) {
        let s = &mut self.slots[k.0];
        if s.link == Link::Linked {
            s.waker = Some(w);
        }
    }

    /// Frees the waiter's slot (unlinking it if it is still linked) and
    /// returns whether it had been signalled, and its data.
    pub(crate) fn remove(&mut self, k: WaitKey) -> (bool, D) {
        let i = k.0;
        let link = self.slots[i].link;
        debug_assert!(link != Link::Free, "a wait slot removed twice");
        if link == Link::Linked {
            self.unlink(i);
        }
        let s = &mut self.slots[i];
        s.link = Link::Free;
        s.waker = None;
        s.next = self.free;
        self.free = i;
        (link == Link::Signaled, std::mem::take(&mut s.data))
    }

    /// The first linked waiter.
    #[inline]
    pub(crate) fn front(&self) -> Option<WaitKey> {
        (self.head != NIL).then_some(WaitKey(self.head))
    }

    /// The linked waiter after `k` (which must be linked).
    pub(crate) fn next(&self, k: WaitKey) -> Option<WaitKey> {
        let n = self.slots[k.0].next;
        (n != NIL).then_some(WaitKey(n))
    }

    /// Wakes a linked waiter's greenlet; returns whether it was still parked
    /// in the wait it registered for. A `false` means it was already made
    /// runnable by its timeout, a kill or LoopExit and is leaving: it must
    /// not be handed anything it could fail to pick up.
    pub(crate) fn wake(&self, k: WaitKey) -> bool {
        self.slots[k.0].waker.as_ref().is_some_and(|w| w.wake())
    }

    /// Unlinks a linked waiter and marks it signalled (without waking it).
    pub(crate) fn signal(&mut self, k: WaitKey) {
        debug_assert_eq!(self.slots[k.0].link, Link::Linked);
        self.unlink(k.0);
        let s = &mut self.slots[k.0];
        s.link = Link::Signaled;
        s.waker = None;
    }

    /// Signals and wakes every linked waiter, front to back, after letting
    /// `f` update each one's data. Returns how many there were.
    pub(crate) fn signal_all(&mut self, mut f: impl FnMut(&mut D)) -> usize {
        let mut n = 0;
        while let Some(k) = self.front() {
            f(self.data_mut(k));
            self.wake(k);
            self.signal(k);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_remove_and_reuse() {
        let mut l: WaitQueue<u32> = WaitQueue::new();
        let w = Waker::current();
        let a = l.push_back(w.clone(), 1);
        let b = l.push_back(w.clone(), 2);
        let c = l.push_back(w.clone(), 3);
        assert_eq!(l.len(), 3);
        assert_eq!(l.remove(b), (false, 2));
        assert_eq!(l.front(), Some(a));
        assert_eq!(l.next(a), Some(c));
        l.signal(a);
        assert!(l.is_signaled(a));
        assert_eq!(l.front(), Some(c));
        let d = l.push_back(w.clone(), 4);
        assert_eq!(d, b, "freed slots are reused");
        assert_eq!(l.next(c), Some(d));
        assert_eq!(l.remove(a), (true, 1));
        let mut seen = Vec::new();
        assert_eq!(l.signal_all(|x| seen.push(*x)), 2);
        assert_eq!(seen, [3, 4]);
        assert!(l.is_empty());
        assert_eq!(l.remove(c), (true, 3));
        assert_eq!(l.remove(d), (true, 4));
    }
}
