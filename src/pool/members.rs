//! The state shared by [`Group`](super::Group) and [`Pool`](super::Pool):
//! the member greenlets and, for a pool, its slots.
//!
//! Slots are handed over directly: when a member leaves and greenlets wait
//! for a slot, the first waiter (FIFO) gets it at once, so a newcomer can
//! never overtake a waiter, and `free_count() > 0` only while nobody waits.
//! A slot is held by a [`SlotGuard`] until a member takes it over; every
//! path that drops a guard or a granted [`Ticket`] (a timeout, a kill
//! unwinding the waiter, a panic in the caller's input) gives the slot
//! back, so none leaks.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::time::Duration;

use crate::hub::{check_can_block, park};
use crate::wait_list::{Registration, WaitList, WakeCell, expired, park_timer};
use crate::{Error, GreenletRef, LinkId};

/// Hashes greenlet ids (unique integers) with one multiplication.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

struct Member {
    g: GreenletRef,
    link: LinkId,
    /// Whether the member holds one of the pool's slots.
    slot: bool,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum ReqState {
    /// Waiting in the queue.
    Queued,
    /// A slot was handed over; the requester has not taken it yet.
    Granted,
    /// Taken, or given up.
    Done,
}

struct Request {
    cell: Rc<WakeCell>,
    state: Cell<ReqState>,
}

struct Slots {
    size: usize,
    /// Slots held by members, guards and granted tickets.
    used: Cell<usize>,
    /// Slot requests in arrival order (given-up ones are skipped).
    queue: RefCell<VecDeque<Rc<Request>>>,
    /// Requests in `queue` still `Queued`.
    queued: Cell<usize>,
    /// Greenlets in `wait_available`.
    available: WaitList,
}

pub(crate) struct Members {
    /// By greenlet id.
    map: RefCell<IdMap<Member>>,
    /// Woken when a member joins, and when at most one member is left.
    changed: WaitList,
    slots: Option<Slots>,
}

/// One slot, held until a member takes it over ([`Members::insert`]);
/// dropped, it gives the slot back.
pub(crate) struct SlotGuard {
    owner: Rc<Members>,
}

impl SlotGuard {
    /// The member took the slot over.
    fn consume(self) {
        std::mem::forget(self);
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.owner.release();
    }
}

/// A place in the slot queue; see [`Members::request`].
pub(crate) struct Ticket {
    owner: Rc<Members>,
    req: Rc<Request>,
}

impl Ticket {
    /// The slot, if one has been handed over.
    pub(crate) fn take_granted(&self) -> Option<SlotGuard> {
        if self.req.state.get() != ReqState::Granted {
            return None;
        }
        self.req.state.set(ReqState::Done);
        Some(SlotGuard {
            owner: self.owner.clone(),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        match self.req.state.replace(ReqState::Done) {
            ReqState::Queued => {
                if let Some(s) = &self.owner.slots {
                    s.queued.set(s.queued.get() - 1);
                    let mut q = s.queue.borrow_mut();
                    // Keep given-up entries from piling up behind a long wait.
                    if q.len() > 2 * s.queued.get() + 16 {
                        q.retain(|r| r.state.get() == ReqState::Queued);
                    }
                }
            }
            // Handed a slot but never used it: pass it on.
            ReqState::Granted => self.owner.release(),
            ReqState::Done => {}
        }
    }
}

impl Members {
    /// An unbounded group (`None`) or a pool of `size` slots.
    pub(crate) fn new(size: Option<usize>) -> Rc<Members> {
        Rc::new(Members {
            map: RefCell::new(IdMap::default()),
            changed: WaitList::default(),
            slots: size.map(|size| Slots {
                size,
                used: Cell::new(0),
                queue: RefCell::new(VecDeque::new()),
                queued: Cell::new(0),
                available: WaitList::default(),
            }),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.map.borrow().len()
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.map.borrow().contains_key(&id)
    }

    /// The members, oldest (lowest id) first.
    pub(crate) fn snapshot(&self) -> Vec<GreenletRef> {
        let mut v: Vec<GreenletRef> = self.map.borrow().values().map(|m| m.g.clone()).collect();
        v.sort_by_key(|g| g.id());
        v
    }

    pub(crate) fn bounded(&self) -> bool {
        self.slots.is_some()
    }

    /// The pool's size (`usize::MAX` for a group).
    pub(crate) fn size(&self) -> usize {
        self.slots.as_ref().map_or(usize::MAX, |s| s.size)
    }

    /// Free slots (`usize::MAX` for a group).
    pub(crate) fn free_count(&self) -> usize {
        self.slots
            .as_ref()
            .map_or(usize::MAX, |s| s.size - s.used.get())
    }

    /// Makes `g` a member (it leaves when it dies), holding `slot` if given.
    /// A greenlet that is already a member or already dead is not added,
    /// and the slot goes back.
    pub(crate) fn insert(self: &Rc<Self>, g: &GreenletRef, slot: Option<SlotGuard>) {
        let id = g.id();
        let mut map = self.map.borrow_mut();
        let Entry::Vacant(place) = map.entry(id) else {
            return;
        };
        let weak = Rc::downgrade(self);
        // Registering the hook runs no callback, so the map may stay
        // borrowed.
        let link = g.on_death_inline(Box::new(move || {
            if let Some(m) = weak.upgrade() {
                m.remove(id);
            }
        }));
        let Some(link) = link else { return };
        place.insert(Member {
            g: g.clone(),
            link,
            slot: slot.is_some(),
        });
        drop(map);
        if let Some(s) = slot {
            s.consume();
        }
        self.changed.wake_all();
    }

    /// Removes member `id`, giving back its slot.
    fn remove(&self, id: u64) -> Option<GreenletRef> {
        let m = self.map.borrow_mut().remove(&id)?;
        if m.slot {
            self.release();
        }
        if self.len() <= 1 {
            self.changed.wake_all();
        }
        // The greenlet still holds this link if it is alive (discard).
        m.g.unlink(m.link);
        Some(m.g)
    }

    /// Removes `id` if it is a member; returns whether it was.
    pub(crate) fn discard(&self, id: u64) -> bool {
        self.remove(id).is_some()
    }

    /// A slot now, if one is free and nobody waits for one.
    pub(crate) fn try_acquire(self: &Rc<Self>) -> Option<SlotGuard> {
        let s = self.slots.as_ref()?;
        if s.queued.get() > 0 || s.used.get() >= s.size {
            return None;
        }
        s.used.set(s.used.get() + 1);
        Some(SlotGuard {
            owner: self.clone(),
        })
    }

    /// Joins the slot queue; `cell` is woken when a slot is handed over.
    /// Only for a pool.
    pub(crate) fn request(self: &Rc<Self>, cell: &Rc<WakeCell>) -> Ticket {
        let req = Rc::new(Request {
            cell: cell.clone(),
            state: Cell::new(ReqState::Queued),
        });
        if let Some(s) = &self.slots {
            s.queue.borrow_mut().push_back(req.clone());
            s.queued.set(s.queued.get() + 1);
        }
        Ticket {
            owner: self.clone(),
            req,
        }
    }

    /// Waits (FIFO) for a slot, at most `timeout`. Only for a pool.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], or why waiting was impossible.
    pub(crate) fn acquire(self: &Rc<Self>, timeout: Option<Duration>) -> Result<SlotGuard, Error> {
        if let Some(g) = self.try_acquire() {
            return Ok(g);
        }
        if self.size() == 0 {
            // A pool of size 0 never has a slot: waiting could only end
            // with the timeout, or never (gevent blocks forever there).
            return Err(match timeout {
                Some(_) => Error::Timeout,
                None => Error::LoopExit,
            });
        }
        check_can_block()?;
        let cell = WakeCell::new_rc();
        let ticket = self.request(&cell);
        let timer = park_timer(timeout, &cell)?;
        loop {
            if let Some(g) = ticket.take_granted() {
                return Ok(g);
            }
            if expired(&timer) {
                return Err(Error::Timeout);
            }
            cell.arm();
            park()?;
        }
    }

    /// Gives a slot back: to the first waiter if any, else to the free
    /// count.
    fn release(&self) {
        let Some(s) = &self.slots else { return };
        loop {
            let front = s.queue.borrow_mut().pop_front();
            match front {
                Some(r) if r.state.get() == ReqState::Queued => {
                    r.state.set(ReqState::Granted);
                    s.queued.set(s.queued.get() - 1);
                    r.cell.wake();
                    return;
                }
                Some(_) => continue,
                None => break,
            }
        }
        s.used.set(s.used.get() - 1);
        s.available.wake_all();
    }

    /// Waits until a slot is free (or `timeout`); returns the free count
    /// (0 if the time ran out). Only for a pool.
    pub(crate) fn wait_available(&self, timeout: Option<Duration>) -> Result<usize, Error> {
        let Some(s) = &self.slots else {
            return Ok(usize::MAX);
        };
        if self.free_count() > 0 || s.size == 0 {
            // A pool of size 0 is always full and always will be: 0 at
            // once (gevent would wait out the timeout, or forever).
            return Ok(self.free_count());
        }
        check_can_block()?;
        let cell = WakeCell::new_rc();
        let _reg = Registration::new(&s.available, &cell);
        let timer = park_timer(timeout, &cell)?;
        loop {
            if self.free_count() > 0 {
                return Ok(self.free_count());
            }
            if expired(&timer) {
                return Ok(0);
            }
            cell.arm();
            park()?;
        }
    }

    /// Whether no member is left but (maybe) the caller itself.
    fn settled(&self, me: u64) -> bool {
        let map = self.map.borrow();
        map.is_empty() || (map.len() == 1 && map.contains_key(&me))
    }

    /// Waits until every member but the caller has left, at most
    /// `timeout`; kills them first (and any that join meanwhile) if `kill`.
    pub(crate) fn join(&self, timeout: Option<Duration>, kill: bool) -> Result<bool, Error> {
        let me = crate::getcurrent().id();
        let mut killed = std::collections::HashSet::new();
        let mut kill_new = |m: &Members| {
            if kill {
                // Kill from a snapshot: killing an unstarted greenlet
                // removes it from the map at once.
                for g in m.snapshot() {
                    if g.id() != me && killed.insert(g.id()) {
                        g.kill_nowait();
                    }
                }
            }
        };
        kill_new(self);
        if self.settled(me) {
            return Ok(true);
        }
        check_can_block()?;
        let cell = WakeCell::new_rc();
        let _reg = Registration::new(&self.changed, &cell);
        let timer = park_timer(timeout, &cell)?;
        loop {
            kill_new(self);
            if self.settled(me) {
                return Ok(true);
            }
            if expired(&timer) {
                return Ok(false);
            }
            cell.arm();
            park()?;
        }
    }
}
