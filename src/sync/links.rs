//! [`Links`]: the callbacks registered with `rawlink` on an object that
//! becomes ready (an `Event` set, an `AsyncResult` completed, a semaphore
//! with a free permit, a queue with an item).
//!
//! gevent's contract: a link is called once, in the hub (so it must not
//! block), soon after the object becomes ready, or soon after it is added
//! if the object is ready already; `unlink` removes it until it has run.
//! Links are one-shot: after running they are gone.
//!
//! [`Links::fire`] never runs a callback inline: it marks the registered
//! links due and schedules one hub callback that runs the due links still
//! registered, so firing is safe in the middle of a state change (with
//! `RefCell` borrows held) and costs a single emptiness check when nobody
//! is linked.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::LinkId;
use crate::hub::{Ready, hub_inner};

/// One registered callback.
struct Entry {
    id: u64,
    /// Ready to run at the next scheduled hub call.
    due: bool,
    f: Box<dyn FnOnce()>,
}

#[derive(Default)]
struct Inner {
    next_id: Cell<u64>,
    entries: RefCell<Vec<Entry>>,
    /// A hub callback that runs the due links is queued.
    scheduled: Cell<bool>,
}

/// Callbacks waiting for an object to become ready (see the module docs).
#[derive(Default)]
pub(crate) struct Links {
    inner: Rc<Inner>,
}

impl Links {
    /// Registers `f`; when `ready_now`, it is due at once (runs soon).
    pub(crate) fn add(&self, f: Box<dyn FnOnce()>, ready_now: bool) -> LinkId {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id.wrapping_add(1));
        self.inner
            .entries
            .borrow_mut()
            .push(Entry { id, due: false, f });
        if ready_now {
            self.fire();
        }
        LinkId::from_raw(id)
    }

    /// Removes a link that has not run yet; returns whether it was there.
    pub(crate) fn remove(&self, id: LinkId) -> bool {
        let mut entries = self.inner.entries.borrow_mut();
        let before = entries.len();
        entries.retain(|e| e.id != id.raw());
        entries.len() != before
    }

    /// How many links are registered (not run yet).
    pub(crate) fn len(&self) -> usize {
        self.inner.entries.borrow().len()
    }

    /// The object became ready: every registered link runs soon, in the
    /// order added.
    #[inline]
    pub(crate) fn fire(&self) {
        if self.inner.entries.borrow().is_empty() {
            return;
        }
        self.fire_slow();
    }

    #[cold]
    fn fire_slow(&self) {
        for e in self.inner.entries.borrow_mut().iter_mut() {
            e.due = true;
        }
        if self.inner.scheduled.replace(true) {
            return;
        }
        let inner = self.inner.clone();
        hub_inner().push(Ready::Call(Box::new(move || run_due(&inner))));
    }
}

/// Runs the due links, one at a time, with no borrow held while a callback
/// runs (it may link, unlink or fire again). A panicking callback is
/// reported and does not stop the others.
fn run_due(inner: &Rc<Inner>) {
    inner.scheduled.set(false);
    loop {
        let next = {
            let mut entries = inner.entries.borrow_mut();
            match entries.iter().position(|e| e.due) {
                Some(i) => entries.remove(i),
                None => return,
            }
        };
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(next.f)) {
            eprintln!(
                "gevent: a rawlink callback panicked: {}",
                crate::hub::panic_message(&*p)
            );
        }
    }
}
