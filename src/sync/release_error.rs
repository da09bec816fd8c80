//! [`ReleaseError`]: releasing a lock or semaphore that may not be released.

use std::fmt;

/// Why a `release` was refused. The object is left unchanged.
///
/// # Examples
///
/// ```
/// use gevent::sync::{Lock, ReleaseError};
/// let lock = Lock::new();
/// assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
/// assert_eq!(ReleaseError::NotLocked.to_string(), "release of an unlocked lock");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A [`BoundedSemaphore`](crate::BoundedSemaphore) was released more
    /// times than it was acquired (gevent's `ValueError`).
    TooManyReleases,
    /// A [`Lock`](crate::Lock) or [`RLock`](crate::RLock) that is not held
    /// was released.
    NotLocked,
    /// An [`RLock`](crate::RLock) was released by a greenlet that does not
    /// own it.
    NotOwner,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::TooManyReleases => "semaphore released too many times",
            ReleaseError::NotLocked => "release of an unlocked lock",
            ReleaseError::NotOwner => "cannot release a lock owned by another greenlet",
        })
    }
}

impl std::error::Error for ReleaseError {}

impl From<ReleaseError> for std::io::Error {
    /// `ErrorKind::InvalidInput`, with the message.
    fn from(e: ReleaseError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}
