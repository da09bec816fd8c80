//! [`IMap`]: results of a function over an input, in input order.

use std::fmt;
use std::iter::FusedIterator;

use super::imap_engine::Engine;
use crate::Error;

/// The iterator returned by `imap` and `try_imap` on a
/// [`Group`](super::Group) or [`Pool`](super::Pool): runs the function on
/// each input item in its own greenlet (in the group or pool) and yields
/// the results **in input order**, blocking (cooperatively) for the next
/// one.
///
/// * **Failures at their position**: a task that panicked or was killed
///   yields `Err` where its result would be; iteration goes on after it.
///   An error from the input (`try_imap`) is yielded after the results of
///   the items before it, and ends the iteration.
/// * **Bounded**: at most [`maxsize`](IMap::maxsize) items are taken from
///   the input and not yet yielded (running, or finished and waiting for
///   their turn); in a pool, at most the pool's free slots run at once.
///   Defaults: twice the pool's size, unbounded for a group (as in gevent).
/// * **Lazy**: nothing runs before the first `next()`; the input is pulled
///   from the consumer's greenlet, only as the bound allows.
/// * **Cancel on drop**: dropping the iterator kills the tasks still
///   running (they never start if they have not yet).
/// * If waiting becomes impossible (called from the hub, or every greenlet
///   waits: `LoopExit`), that error is yielded and iteration ends.
///
/// # Examples
///
/// ```
/// use gevent::pool::Pool;
/// use std::time::Duration;
///
/// let pool = Pool::new(3)?;
/// let results: Vec<u64> = pool
///     .imap([30u64, 10, 20], |ms| {
///         gevent::sleep(Duration::from_millis(ms));
///         ms
///     })
///     .collect::<Result<_, _>>()?;
/// assert_eq!(results, [30, 10, 20]); // input order, not finishing order
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IMap<'a, T: 'static, E = Error> {
    engine: Engine<'a, T, E>,
}

impl<'a, T: 'static, E: From<Error>> IMap<'a, T, E> {
    pub(crate) fn new(engine: Engine<'a, T, E>) -> IMap<'a, T, E> {
        IMap { engine }
    }

    /// Sets the most items taken from the input and not yet yielded
    /// (0 is taken as 1). Call it before iterating.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let pulled = Rc::new(Cell::new(0));
    /// let p = pulled.clone();
    /// let group = gevent::pool::Group::new();
    /// let mut it = group
    ///     .imap((0..100).inspect(move |_| p.set(p.get() + 1)), |x| x)
    ///     .maxsize(5);
    /// assert_eq!(it.next().unwrap()?, 0);
    /// assert!(pulled.get() <= 6);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn maxsize(mut self, maxsize: usize) -> IMap<'a, T, E> {
        self.engine.set_maxsize(maxsize);
        self
    }
}

impl<T: 'static, E: From<Error>> Iterator for IMap<'_, T, E> {
    type Item = Result<T, E>;

    fn next(&mut self) -> Option<Result<T, E>> {
        self.engine.next_result()
    }
}

impl<T: 'static, E: From<Error>> FusedIterator for IMap<'_, T, E> {}

impl<T: 'static, E> fmt::Debug for IMap<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMap").finish_non_exhaustive()
    }
}
