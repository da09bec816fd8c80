//! [`Local`]: greenlet-local storage.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::hub;

static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A value per greenlet, like `thread_local!` but per greenlet (gevent's
/// `local`). Each greenlet sees its own copy, created by the init function
/// on first access and dropped when the greenlet dies.
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
    _not_send: PhantomData<*const ()>,
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
            _not_send: PhantomData,
        }
    }

    /// Calls `f` with the running greenlet's value, creating it first if
    /// needed.
    ///
    /// # Panics
    ///
    /// If `f` accesses the same `Local` recursively (like `RefCell`).
    ///
    /// ```
    /// let l = gevent::Local::new(String::new);
    /// assert!(l.with(|s| s.is_empty()));
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let task = hub::current_task();
        let state = task.state();
        let present = state.locals.borrow().iter().any(|(k, _)| *k == self.key);
        if !present {
            let v: Box<dyn Any> = Box::new((self.init)());
            state.locals.borrow_mut().push((self.key, v));
        }
        let locals = state.locals.borrow();
        let v = locals
            .iter()
            .find(|(k, _)| *k == self.key)
            .and_then(|(_, b)| b.downcast_ref::<T>())
            .expect("greenlet-local value of the right type");
        f(v)
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
        let old = {
            let mut locals = task.state().locals.borrow_mut();
            match locals.iter_mut().find(|(k, _)| *k == self.key) {
                Some((_, slot)) => Some(std::mem::replace(slot, Box::new(value) as Box<dyn Any>)),
                None => {
                    locals.push((self.key, Box::new(value)));
                    None
                }
            }
        };
        drop(old);
    }

    /// Removes and returns the running greenlet's value, if it has one.
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
            locals
                .iter()
                .position(|(k, _)| *k == self.key)
                .map(|i| locals.swap_remove(i).1)
        };
        v.and_then(|b| b.downcast::<T>().ok()).map(|b| *b)
    }
}

impl<T: 'static> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("key", &self.key).finish()
    }
}
