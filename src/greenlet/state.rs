//! [`State`]: what the scheduler knows about one greenlet, whatever its
//! result type.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use context::Context;

use super::stack::{GreenletStack, StackHandle};
use crate::Error;

/// Where a greenlet is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Created, not started.
    New,
    /// Start requested; waiting in the hub's queue (or a spawn_later timer).
    Scheduled,
    /// Running right now.
    Running,
    /// Waiting in `park`.
    Parked,
    /// Woken; waiting in the hub's queue to be resumed.
    Ready,
    /// Finished.
    Dead,
}

/// Why a parked greenlet was resumed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WakeReason {
    Normal,
    Throw,
    LoopExit,
}

/// Something thrown into a greenlet at its switch point: a kill or a
/// timeout. Raised with `resume_unwind`, so no panic message is printed.
pub(crate) enum Throw {
    /// `kill()`: GreenletExit (None) or a custom error.
    Kill(Option<Error>),
    /// A `Timeout` with this id expired; the error to report.
    Timeout(u64, Error),
}

/// How a greenlet ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    Pending,
    Value,
    Failed(Error),
}

/// A greenlet as the scheduler sees it (type-erased).
///
/// # Safety
///
/// An implementor must be `#[repr(C)]` with its [`State`] as its first
/// field, and `state` must return that field: [`state_of`] relies on it
/// to reach the state without a virtual call.
pub(crate) unsafe trait Task: 'static {
    fn state(&self) -> &State;
    /// Runs the body and stores its value; panics propagate to the caller.
    fn run_body(&self);
}

/// `t.state()` without the virtual call (the scheduler's hot path reads
/// the state of every greenlet it switches to).
#[inline(always)]
pub(crate) fn state_of(t: &Rc<dyn Task>) -> &State {
    // SAFETY: `Task`'s contract puts the `State` at offset 0 of every
    // implementor (`#[repr(C)]`, first field), and the value lives as long
    // as the `Rc` borrowed here.
    let s = unsafe { &*Rc::as_ptr(t).cast::<State>() };
    debug_assert!(std::ptr::eq(s, t.state()));
    s
}

/// Something to do when a greenlet dies, in the order they were added.
pub(crate) enum DeathEntry {
    /// Wake a joiner (done at once, on the dying greenlet's stack).
    Wake(crate::hub::Waker),
    /// Crate-internal bookkeeping that never blocks (done at once).
    Inline(Box<dyn FnOnce()>),
    /// A user's link callback (run in the hub).
    Link(Box<dyn FnOnce()>),
}
type DisplayFn = Box<dyn Fn(&mut fmt::Formatter<'_>) -> fmt::Result>;

/// `#[repr(C)]` so that the fields every park, wake-up and switch touch
/// come first and share one or two cache lines (with the `Rc` counts just
/// before them, `Inner` being `#[repr(C)]` with the state first); the
/// compiler's own order spread them over the whole struct.
#[repr(C)]
pub(crate) struct State {
    // Hot: read or written on every park, wake-up and switch.
    pub(crate) phase: Cell<Phase>,
    pub(crate) wake_reason: Cell<WakeReason>,
    /// Incremented each time a park ends; stale wakers compare it.
    pub(crate) park_seq: Cell<u64>,
    pub(crate) ctx: Cell<Option<Context>>,
    /// The stack's handle once set (the switch's fast path reads it here,
    /// not from the colder `stack` field).
    stack_handle: Cell<StackHandle>,
    /// About where this greenlet's stack pointer was when it last switched
    /// away: the lines a resume touches lie around it. Only ever used as a
    /// prefetch address (never dereferenced), so a stale value is harmless.
    pub(crate) sp_hint: Cell<usize>,
    /// The greenlet's own reference while started and not dead.
    selfref: RefCell<Option<Rc<dyn Task>>>,
    pub(crate) throws: RefCell<VecDeque<Throw>>,
    // Cold.
    pub(crate) id: u64,
    pub(crate) name: RefCell<Option<Rc<str>>>,
    /// A custom Display (the `GreenletRun` object's), if any.
    pub(crate) display: RefCell<Option<DisplayFn>>,
    stack: RefCell<Option<GreenletStack>>,
    pub(crate) stack_size: usize,
    pub(crate) outcome: RefCell<Outcome>,
    /// Joiners' wake-ups and links, run in order by the hub after death.
    pub(crate) on_death: RefCell<Vec<(u64, DeathEntry)>>,
    pub(crate) next_link_id: Cell<u64>,
    /// Greenlet-local values by key (few per greenlet: a Vec beats a map).
    pub(crate) locals: RefCell<Vec<(usize, Box<dyn Any>)>>,
    /// Keeps a spawn_later timer alive until the start.
    pub(crate) start_timer: RefCell<Option<crate::core::Timer>>,
    /// Where the greenlet was created (monitor, run_info).
    pub(crate) spawned_at: Cell<Option<&'static std::panic::Location<'static>>>,
    /// The id of the greenlet that created it (0: a main greenlet).
    pub(crate) parent: Cell<u64>,
    /// Neighbours in the hub's list of live greenlets (see `HubInner`).
    pub(crate) live_prev: Cell<*const State>,
    pub(crate) live_next: Cell<*const State>,
}

impl State {
    pub(crate) fn new(id: u64, stack_size: usize) -> State {
        State {
            id,
            name: RefCell::new(None),
            display: RefCell::new(None),
            phase: Cell::new(Phase::New),
            ctx: Cell::new(None),
            stack: RefCell::new(None),
            stack_handle: Cell::new(StackHandle::THREAD),
            sp_hint: Cell::new(0),
            stack_size,
            park_seq: Cell::new(0),
            wake_reason: Cell::new(WakeReason::Normal),
            throws: RefCell::new(VecDeque::new()),
            outcome: RefCell::new(Outcome::Pending),
            on_death: RefCell::new(Vec::new()),
            next_link_id: Cell::new(1),
            locals: RefCell::new(Vec::new()),
            selfref: RefCell::new(None),
            start_timer: RefCell::new(None),
            spawned_at: Cell::new(None),
            parent: Cell::new(0),
            live_prev: Cell::new(std::ptr::null()),
            live_next: Cell::new(std::ptr::null()),
        }
    }

    pub(crate) fn stack_ref(&self) -> Option<std::cell::Ref<'_, GreenletStack>> {
        std::cell::Ref::filter_map(self.stack.borrow(), |s| s.as_ref()).ok()
    }

    pub(crate) fn ctx_is_empty(&self) -> bool {
        let c = self.ctx.take();
        let empty = c.is_none();
        self.ctx.set(c);
        empty
    }

    /// Sets the stack, once, before the first switch onto it.
    pub(crate) fn set_stack(&self, s: GreenletStack) {
        self.stack_handle.set(s.handle());
        *self.stack.borrow_mut() = Some(s);
    }

    /// Removes the stack (only for a greenlet that will never run again).
    pub(crate) fn take_stack(&self) -> Option<GreenletStack> {
        self.stack_handle.set(StackHandle::THREAD);
        self.stack.borrow_mut().take()
    }

    /// The stack's handle ([`StackHandle::THREAD`] for the main greenlet).
    #[inline]
    pub(crate) fn stack_handle(&self) -> StackHandle {
        self.stack_handle.get()
    }

    pub(crate) fn set_selfref(&self, t: Rc<dyn Task>) {
        *self.selfref.borrow_mut() = Some(t);
    }

    pub(crate) fn take_selfref(&self) -> Option<Rc<dyn Task>> {
        self.selfref.borrow_mut().take()
    }

    pub(crate) fn selfref(&self) -> Option<Rc<dyn Task>> {
        self.selfref.borrow().clone()
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.phase.get() == Phase::Dead
    }

    /// Writes `<Greenlet "name">` or the custom Display.
    pub(crate) fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &*self.display.borrow() {
            return d(f);
        }
        match &*self.name.borrow() {
            Some(n) => write!(f, "<Greenlet \"{n}\">"),
            None => write!(f, "<Greenlet \"Greenlet-{}\">", self.id),
        }
    }

    /// The name, or `Greenlet-<id>`.
    pub(crate) fn name(&self) -> String {
        match &*self.name.borrow() {
            Some(n) => n.to_string(),
            None => format!("Greenlet-{}", self.id),
        }
    }
}
