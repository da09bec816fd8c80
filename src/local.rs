//! [`Local`]: greenlet-local storage.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::greenlet::state::Task;
use crate::hub;

static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A value per greenlet, like `thread_local!` but per greenlet (gevent's
/// `local`). Each greenlet sees its own copy, created by the init function
/// on first access and dropped when the greenlet dies or when the `Local`
/// itself is dropped, whichever comes first (as gevent frees a `local`'s
/// values once the object is unreferenced, even in greenlets still running).
///
/// # Examples
///
/// ```
/// use gevent::Local;
/// use std::cell::Cell;
///
/// let counter: &'static Local<Cell<u32>> = Box::leak(Box::new(Local::new(|| Cell::new(0))));
/// counter.with(|c| c.set(5));
/// let g = gevent::spawn(move || counter.with(|c| c.get()));
/// assert_eq!(g.get()?, 0); // the spawned greenlet has its own
/// assert_eq!(counter.with(|c| c.get()), 5);
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct Local<T: 'static> {
    key: usize,
    init: fn() -> T,
    /// The greenlets that were given a value, so that dropping the `Local`
    /// can drop their values (all on this thread: `Local` is `!Send`).
    holders: RefCell<Holders>,
    _not_send: PhantomData<*const ()>,
}

/// Weak references to the greenlets holding a value, pruned of dead ones
/// whenever the list doubles, so a long-lived `Local` used by many
/// short-lived greenlets stays bounded (at most twice the live holders).
#[derive(Default)]
struct Holders {
    list: Vec<Weak<dyn Task>>,
    prune_at: usize,
}

impl Holders {
    fn add(&mut self, task: &Rc<dyn Task>) {
        if self.list.len() >= self.prune_at {
            self.list
                .retain(|w| w.upgrade().is_some_and(|t| !t.state().is_dead()));
            self.prune_at = (self.list.len() * 2).max(8);
        }
        self.list.push(Rc::downgrade(task));
    }
}

impl<T: 'static> Local<T> {
    /// A new key with an initialiser.
    ///
    /// ```
    /// let l = gevent::Local::new(|| 1u8);
    /// assert_eq!(l.with(|v| *v), 1);
    /// ```
    pub fn new(init: fn() -> T) -> Local<T> {
        Local {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            init,
            holders: RefCell::new(Holders::default()),
            _not_send: PhantomData,
        }
    }

    /// Calls `f` with the running greenlet's value, creating it first if
    /// needed.
    ///
    /// `f` may use other `Local`s and this one again; the initialiser may
    /// use other `Local`s.
    ///
    /// ```
    /// let l = gevent::Local::new(String::new);
    /// assert!(l.with(|s| s.is_empty()));
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let task = hub::current_task();
        let state = task.state();
        // Values are stored as `Rc<T>` and cloned out, so that no borrow of
        // the greenlet's table is held while `init` or `f` runs: they may
        // use other `Local`s (or `set`/`take` this one).
        let existing = state
            .locals
            .borrow()
            .iter()
            .find(|(k, _)| *k == self.key)
            .and_then(|(_, b)| b.downcast_ref::<Rc<T>>())
            .cloned();
        let v = match existing {
            Some(v) => v,
            None => {
                let v = Rc::new((self.init)());
                state
                    .locals
                    .borrow_mut()
                    .push((self.key, Box::new(v.clone())));
                self.holders.borrow_mut().add(&task);
                v
            }
        };
        f(&v)
    }

    /// Replaces the running greenlet's value.
    ///
    /// ```
    /// let l = gevent::Local::new(|| 0);
    /// l.set(3);
    /// assert_eq!(l.with(|v| *v), 3);
    /// ```
    pub fn set(&self, value: T) {
        let task = hub::current_task();
        let new: Box<dyn Any> = Box::new(Rc::new(value));
        let old = {
            let mut locals = task.state().locals.borrow_mut();
            match locals.iter_mut().find(|(k, _)| *k == self.key) {
                Some((_, slot)) => Some(std::mem::replace(slot, new)),
                None => {
                    locals.push((self.key, new));
                    self.holders.borrow_mut().add(&task);
                    None
                }
            }
        };
        // Dropped after the borrow ends: its destructor may use Locals.
        drop(old);
    }

    /// Removes and returns the running greenlet's value, if it has one.
    ///
    /// # Panics
    ///
    /// If called from inside [`with`](Local::with) on the same `Local`
    /// (the value is borrowed there).
    ///
    /// ```
    /// let l = gevent::Local::new(|| 0);
    /// l.set(9);
    /// assert_eq!(l.take(), Some(9));
    /// assert_eq!(l.take(), None);
    /// ```
    pub fn take(&self) -> Option<T> {
        let task = hub::current_task();
        let v = {
            let mut locals = task.state().locals.borrow_mut();
            let i = locals.iter().position(|(k, _)| *k == self.key);
            i.map(|i| locals.swap_remove(i).1)
        };
        let rc = *v?.downcast::<Rc<T>>().ok()?;
        match Rc::try_unwrap(rc) {
            Ok(v) => Some(v),
            Err(_) => panic!("gevent::Local::take called inside with() on the same Local"),
        }
    }
}

impl<T: 'static> Drop for Local<T> {
    /// Drops every greenlet's value for this key, in the running greenlet
    /// (values must not block in their destructors, as anywhere in `Drop`).
    fn drop(&mut self) {
        let holders = std::mem::take(&mut self.holders.borrow_mut().list);
        for w in holders {
            let Some(task) = w.upgrade() else { continue };
            let value = {
                let mut locals = task.state().locals.borrow_mut();
                let i = locals.iter().position(|(k, _)| *k == self.key);
                i.map(|i| locals.swap_remove(i).1)
            };
            // Dropped after the borrow ends: its destructor may use Locals.
            drop(value);
        }
    }
}

impl<T: 'static> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("key", &self.key).finish()
    }
}
