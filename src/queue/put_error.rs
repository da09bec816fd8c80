//! [`PutError`]: a refused put, with the item handed back.

use std::fmt;

use super::QueueError;

/// A put that did not happen: why, and the item, handed back so that it is
/// never lost.
///
/// # Examples
///
/// ```
/// use gevent::queue::{Queue, QueueError};
/// let q = Queue::bounded(1);
/// q.put("first")?;
/// let e = q.try_put("second").unwrap_err();
/// assert!(matches!(e.error(), QueueError::Full));
/// assert_eq!(e.into_item(), "second");
/// # Ok::<(), gevent::queue::QueueError>(())
/// ```
pub struct PutError<T> {
    error: QueueError,
    item: T,
}

impl<T> PutError<T> {
    pub(crate) fn new(error: QueueError, item: T) -> PutError<T> {
        PutError { error, item }
    }

    /// Why the put failed.
    ///
    /// ```
    /// let q = gevent::queue::Channel::new();
    /// assert!(matches!(q.try_put(1).unwrap_err().error(), gevent::queue::QueueError::Full));
    /// ```
    pub fn error(&self) -> &QueueError {
        &self.error
    }

    /// The item that was not put.
    ///
    /// ```
    /// let q = gevent::queue::Channel::new();
    /// assert_eq!(q.try_put(7).unwrap_err().into_item(), 7);
    /// ```
    pub fn into_item(self) -> T {
        self.item
    }

    /// Both.
    ///
    /// ```
    /// let q = gevent::queue::Queue::new();
    /// q.shutdown();
    /// let (why, item) = q.put('x').unwrap_err().into_parts();
    /// assert!(matches!(why, gevent::queue::QueueError::ShutDown));
    /// assert_eq!(item, 'x');
    /// ```
    pub fn into_parts(self) -> (QueueError, T) {
        (self.error, self.item)
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "put failed: {}", self.error)
    }
}

impl<T> std::error::Error for PutError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<PutError<T>> for QueueError {
    /// Drops the item, keeps the reason.
    fn from(e: PutError<T>) -> QueueError {
        e.error
    }
}
