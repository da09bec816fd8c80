//! [`IMapUnordered`]: results of a function over an input, as they finish.

use std::fmt;
use std::iter::FusedIterator;

use super::imap_engine::Engine;
use crate::Error;

/// The iterator returned by `imap_unordered` and `try_imap_unordered` on a
/// [`Group`](super::Group) or [`Pool`](super::Pool): like
/// [`IMap`](super::IMap), but yields results **in completion order**, so a
/// slow item never holds back the others.
///
/// * A task that panicked or was killed yields `Err` when it finishes; an
///   error from the input (`try_imap_unordered`) is yielded once every
///   item before it has been, and ends the iteration.
/// * At most [`maxsize`](IMapUnordered::maxsize) items are taken from the
///   input and not yet yielded (default: twice the pool's size, unbounded
///   for a group); in a pool, at most its free slots run at once.
/// * Lazy, pulls the input from the consumer's greenlet, and kills the
///   tasks still running when dropped, as [`IMap`](super::IMap) does.
///
/// # Examples
///
/// ```
/// use gevent::pool::Pool;
/// use std::time::Duration;
///
/// let pool = Pool::new(3)?;
/// let results: Vec<u64> = pool
///     .imap_unordered([30u64, 5, 15], |ms| {
///         gevent::sleep(Duration::from_millis(ms));
///         ms
///     })
///     .collect::<Result<_, _>>()?;
/// assert_eq!(results, [5, 15, 30]); // finishing order
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IMapUnordered<'a, T: 'static, E = Error> {
    engine: Engine<'a, T, E>,
}

impl<'a, T: 'static, E: From<Error>> IMapUnordered<'a, T, E> {
    pub(crate) fn new(engine: Engine<'a, T, E>) -> IMapUnordered<'a, T, E> {
        IMapUnordered { engine }
    }

    /// Sets the most items taken from the input and not yet yielded
    /// (0 is taken as 1). Call it before iterating.
    ///
    /// ```
    /// let group = gevent::pool::Group::new();
    /// let n = group.imap_unordered(0..10, |x| x * 2).maxsize(2).count();
    /// assert_eq!(n, 10);
    /// ```
    pub fn maxsize(mut self, maxsize: usize) -> IMapUnordered<'a, T, E> {
        self.engine.set_maxsize(maxsize);
        self
    }
}

impl<T: 'static, E: From<Error>> Iterator for IMapUnordered<'_, T, E> {
    type Item = Result<T, E>;

    fn next(&mut self) -> Option<Result<T, E>> {
        self.engine.next_result()
    }
}

impl<T: 'static, E: From<Error>> FusedIterator for IMapUnordered<'_, T, E> {}

impl<T: 'static, E> fmt::Debug for IMapUnordered<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMapUnordered").finish_non_exhaustive()
    }
}
