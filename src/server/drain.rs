//! Graceful stop for protocols with idle connections (HTTP keep-alive):
//! a handler that waits for a client's *next* request marks itself idle,
//! and a server's `stop` closes its idle handlers at once instead of
//! waiting out their keep-alive timeout, while busy handlers finish the
//! request they are serving (and learn through [`stopping`] not to keep
//! the connection open).
//!
//! Each server (each worker's, for a multi-worker server) owns one
//! [`Drain`]. Its handler greenlets are found through a per-thread map
//! from greenlet id to drain, filled by [`Member`] for a handler's
//! lifetime, so the protocol code needs no handle on its server.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::{GreenletRef, getcurrent};

/// One server's stop state and its idle handlers.
#[derive(Default)]
pub(crate) struct Drain {
    stopping: Cell<bool>,
    /// Idle handler greenlets (a slab: `free` lists the empty slots).
    idle: RefCell<Vec<Option<GreenletRef>>>,
    free: RefCell<Vec<usize>>,
}

impl Drain {
    /// Marks the server stopping and kills its idle handlers (each dies at
    /// its wait for the next request; its connection is dropped). Returns
    /// how many were idle.
    pub(crate) fn stop(&self) -> usize {
        self.stopping.set(true);
        let idle: Vec<GreenletRef> = self
            .idle
            .borrow_mut()
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        self.free.borrow_mut().clear();
        self.idle.borrow_mut().clear();
        let current = getcurrent().id();
        let mut n = 0;
        for g in idle {
            // A handler stopping its own server does not kill itself.
            if g.id() != current {
                g.kill_nowait();
                n += 1;
            }
        }
        n
    }
}

thread_local! {
    /// Handler greenlet id -> its server's drain (this thread's servers).
    static MEMBERS: RefCell<HashMap<u64, Rc<Drain>>> = RefCell::new(HashMap::new());
}

/// Registers the current greenlet as a handler of `drain`'s server until
/// dropped (made first thing in the handler greenlet).
pub(crate) struct Member(u64);

impl Member {
    pub(crate) fn enter(drain: Rc<Drain>) -> Member {
        let id = getcurrent().id();
        MEMBERS.with(|m| m.borrow_mut().insert(id, drain));
        Member(id)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // `try_with`: the map may be gone if the thread is exiting.
        let _ = MEMBERS.try_with(|m| m.borrow_mut().remove(&self.0));
    }
}

/// The current greenlet's server drain, if it is a server's handler.
pub(crate) fn current() -> Option<Rc<Drain>> {
    let id = getcurrent().id();
    MEMBERS.with(|m| m.borrow().get(&id).cloned())
}

/// Whether the server of `drain` is stopping (`false` outside servers).
pub(crate) fn stopping(drain: Option<&Drain>) -> bool {
    drain.is_some_and(|d| d.stopping.get())
}

/// Marks the current greenlet idle (waiting for a new request) in `drain`
/// until the guard is dropped. `None` if the server is already stopping:
/// the caller closes the connection instead of waiting.
pub(crate) fn idle(drain: &Rc<Drain>) -> Option<Idle> {
    if drain.stopping.get() {
        return None;
    }
    let g = Some(getcurrent());
    let slot = match drain.free.borrow_mut().pop() {
        Some(i) => {
            drain.idle.borrow_mut()[i] = g;
            i
        }
        None => {
            let mut idle = drain.idle.borrow_mut();
            idle.push(g);
            idle.len() - 1
        }
    };
    Some(Idle {
        drain: drain.clone(),
        slot,
    })
}

/// The current greenlet is idle in a server until dropped.
pub(crate) struct Idle {
    drain: Rc<Drain>,
    slot: usize,
}

impl Drop for Idle {
    fn drop(&mut self) {
        // After `stop` the slab was emptied (and the greenlet killed).
        if self.drain.stopping.get() {
            return;
        }
        if let Some(s) = self.drain.idle.borrow_mut().get_mut(self.slot) {
            *s = None;
            self.drain.free.borrow_mut().push(self.slot);
        }
    }
}
