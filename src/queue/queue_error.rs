//! [`QueueError`]: why a queue operation did not happen.

use std::fmt;

use crate::Error;

/// Why a queue operation did not happen (gevent's `Full`, `Empty` and
/// `ShutDown`, plus the reasons a greenlet cannot wait).
///
/// A failed put also gives the item back: see [`PutError`](super::PutError).
///
/// # Examples
///
/// ```
/// use gevent::queue::{Queue, QueueError};
/// let q: Queue<u8> = Queue::new();
/// assert!(matches!(q.try_get(), Err(QueueError::Empty)));
/// assert_eq!(QueueError::Empty.to_string(), "the queue is empty");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum QueueError {
    /// A put found the queue full: `try_put`, or `put_timeout` ran out of
    /// time.
    Full,
    /// A get found the queue empty: `try_get`, or `get_timeout` ran out of
    /// time.
    Empty,
    /// The queue was shut down: puts fail at once; gets fail once the
    /// remaining items are drained.
    ShutDown,
    /// `task_done` was called more times than items were put
    /// ([`JoinableQueue`](super::JoinableQueue)).
    TaskDoneTooOften,
    /// The greenlet could not wait: [`Error::LoopExit`] (nothing could ever
    /// wake it), [`Error::BlockingInHub`], [`Error::Unwinding`].
    Wait(Error),
}

impl QueueError {
    /// Whether this is [`QueueError::Full`] or [`QueueError::Empty`]: the
    /// queue was not ready in time (or at once, for `try_*`).
    ///
    /// ```
    /// assert!(gevent::queue::QueueError::Full.is_timeout());
    /// assert!(!gevent::queue::QueueError::ShutDown.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, QueueError::Full | QueueError::Empty)
    }
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Full => f.write_str("the queue is full"),
            QueueError::Empty => f.write_str("the queue is empty"),
            QueueError::ShutDown => f.write_str("the queue is shut down"),
            QueueError::TaskDoneTooOften => f.write_str("task_done() called too many times"),
            QueueError::Wait(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for QueueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QueueError::Wait(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for QueueError {
    /// [`QueueError::Wait`].
    fn from(e: Error) -> QueueError {
        QueueError::Wait(e)
    }
}

impl From<QueueError> for std::io::Error {
    /// `Full`/`Empty` become `WouldBlock`, `ShutDown` `BrokenPipe`,
    /// `TaskDoneTooOften` `InvalidInput`, `Wait(e)` as `e` converts.
    fn from(e: QueueError) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match &e {
            QueueError::Full | QueueError::Empty => ErrorKind::WouldBlock,
            QueueError::ShutDown => ErrorKind::BrokenPipe,
            QueueError::TaskDoneTooOften => ErrorKind::InvalidInput,
            QueueError::Wait(w) => return w.clone().into(),
        };
        std::io::Error::new(kind, e)
    }
}
