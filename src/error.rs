//! [`Error`]: the crate's error type for everything that is not I/O.

use std::fmt;
use std::io;
use std::sync::Arc;

/// What can go wrong in a blocking operation, a greenlet or a timeout
/// (I/O errors are [`std::io::Error`]).
///
/// `Error` is `Clone` so that every greenlet joining a failed greenlet can
/// get the same failure. It converts into `io::Error` (timeouts become
/// `ErrorKind::TimedOut`).
///
/// # Examples
///
/// ```
/// use gevent::Error;
/// let e = Error::Timeout;
/// assert_eq!(e.to_string(), "timed out");
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// A [`Timeout`](crate::Timeout) expired, or a `*_timeout` call ran out of time.
    Timeout,
    /// The greenlet was killed with the default `GreenletExit`. Not a
    /// failure: [`successful`](crate::Greenlet::successful) is `true` and,
    /// as in gevent, it is not the greenlet's exception either
    /// ([`error`](crate::Greenlet::error) is `None`); `get()` reports it
    /// in place of the value.
    GreenletExit,
    /// The greenlet was killed with a custom error.
    Killed(Arc<dyn std::error::Error + Send + Sync>),
    /// The greenlet panicked; the panic message.
    Panicked(Arc<str>),
    /// The operation would block forever: every greenlet is waiting and
    /// nothing in the loop can wake any of them (gevent's `LoopExit`).
    LoopExit,
    /// A blocking call was made from the hub (inside a watcher callback or a
    /// hub callback), which must never block.
    BlockingInHub,
    /// A blocking call was made while the thread is unwinding from a panic,
    /// kill or timeout; switching then is unsound, so it fails at once.
    Unwinding,
    /// The greenlet or result is not finished yet, or its value was
    /// already taken (for non-blocking getters and `take`).
    NotReady,
    /// The result was cancelled ([`AsyncResult::cancel`](crate::AsyncResult::cancel)).
    Cancelled,
    /// An I/O error, kept whole (from `?` on an `io::Result` in a function
    /// returning this `Error`); converting back into `io::Error` gives the
    /// original error.
    Io(Arc<io::Error>),
}

impl Error {
    /// A [`Error::Killed`] from any error value.
    ///
    /// ```
    /// let e = gevent::Error::killed(std::io::Error::other("A time to kill"));
    /// assert_eq!(e.to_string(), "killed: A time to kill");
    /// ```
    pub fn killed<E: Into<Box<dyn std::error::Error + Send + Sync>>>(err: E) -> Error {
        Error::Killed(Arc::from(err.into()))
    }

    /// Whether this is a [`Error::Timeout`].
    ///
    /// ```
    /// assert!(gevent::Error::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout => f.write_str("timed out"),
            Error::GreenletExit => f.write_str("GreenletExit"),
            Error::Killed(e) => write!(f, "killed: {e}"),
            Error::Panicked(m) => write!(f, "panicked: {m}"),
            Error::LoopExit => f.write_str("this operation would block forever (every greenlet is waiting and nothing can wake them)"),
            Error::BlockingInHub => f.write_str("cannot block in the hub (inside a watcher or hub callback); spawn a greenlet instead"),
            Error::Unwinding => f.write_str("cannot block while the thread is unwinding (panic, kill or timeout in progress)"),
            Error::NotReady => f.write_str("not ready: the greenlet or result has not finished yet, or its value was already taken"),
            Error::Cancelled => f.write_str("cancelled"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Killed(e) => Some(&**e),
            Error::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Keeps an I/O error whole as [`Error::Io`], except one that carries a
/// gevent `Error` (made by the conversion the other way), which is unwrapped
/// again, so that the round trip gives back what went in.
///
/// ```
/// use std::io;
/// fn read_with_deadline() -> Result<usize, gevent::Error> {
///     let n = gevent::with_timeout(std::time::Duration::from_secs(1), || {
///         Err::<usize, _>(io::Error::new(io::ErrorKind::ConnectionReset, "peer left"))
///     })??;
///     Ok(n)
/// }
/// let e = read_with_deadline().unwrap_err();
/// assert!(matches!(&e, gevent::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionReset));
/// let back: io::Error = e.into();
/// assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
/// ```
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            // Made from a gevent Error: give that back.
            return inner.clone();
        }
        Error::Io(Arc::new(e))
    }
}

/// Converts for `?` in functions returning `io::Result`: timeouts become
/// [`io::ErrorKind::TimedOut`], kills `Interrupted`, impossible waits
/// `WouldBlock`, an [`Error::Io`] the original error.
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// fn slow() -> io::Result<u8> {
///     let v = gevent::with_timeout(Duration::from_millis(1), || {
///         gevent::sleep(Duration::from_secs(5));
///         Ok::<u8, io::Error>(1)
///     })??;
///     Ok(v)
/// }
/// assert_eq!(slow().unwrap_err().kind(), io::ErrorKind::TimedOut);
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e {
            Error::Io(io) => {
                return Arc::try_unwrap(io).unwrap_or_else(|shared| {
                    io::Error::new(shared.kind(), Error::Io(shared.clone()))
                });
            }
            Error::Cancelled => io::ErrorKind::Other,
            Error::Timeout => io::ErrorKind::TimedOut,
            Error::GreenletExit | Error::Killed(_) => io::ErrorKind::Interrupted,
            Error::LoopExit | Error::BlockingInHub | Error::Unwinding => io::ErrorKind::WouldBlock,
            Error::NotReady => io::ErrorKind::WouldBlock,
            Error::Panicked(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
