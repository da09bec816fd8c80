//! [`PoolFull`]: the error of a pool's `try_` methods.

use std::fmt;

/// A [`Pool`](super::Pool) had no free slot for
/// [`try_spawn`](super::Pool::try_spawn) or [`try_add`](super::Pool::try_add).
/// Gives back what was not spawned ([`into_inner`](PoolFull::into_inner)),
/// as `std::sync::mpsc::TrySendError` does.
///
/// # Examples
///
/// ```
/// use gevent::pool::Pool;
/// let pool = Pool::new(1)?;
/// let _busy = pool.try_spawn(|| gevent::sleep(std::time::Duration::from_millis(10)))?;
/// let err = pool.try_spawn(|| 7).unwrap_err();
/// assert_eq!(err.to_string(), "the pool is full (all 1 slots are taken)");
/// let f = err.into_inner(); // the closure, not lost
/// assert_eq!(f(), 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PoolFull<T> {
    value: T,
    size: usize,
}

impl<T> PoolFull<T> {
    pub(crate) fn new(value: T, size: usize) -> PoolFull<T> {
        PoolFull { value, size }
    }

    /// What could not be spawned or added.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let g = gevent::spawn(|| ());
    /// pool.try_add(&g)?;
    /// let other = gevent::spawn(|| ());
    /// assert_eq!(pool.try_add(&other).unwrap_err().into_inner().id(), other.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The size of the pool that was full.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let _g = pool.try_spawn(|| ())?;
    /// assert_eq!(pool.try_spawn(|| ()).unwrap_err().size(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }
}

impl<T> fmt::Debug for PoolFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolFull")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PoolFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the pool is full (all {} slots are taken)", self.size)
    }
}

impl<T> std::error::Error for PoolFull<T> {}
