//! [`socketpair`]: two connected cooperative sockets.

use std::io;

use super::UnixStream;

/// A pair of connected Unix stream sockets (gevent's `socket.socketpair()`),
/// the same as [`UnixStream::pair`].
///
/// # Errors
///
/// `socketpair(2)`'s errors (such as too many open files).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// let (mut a, mut b) = gevent::net::socketpair()?;
/// a.write_all(b"x")?;
/// let mut buf = [0; 1];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"x");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn socketpair() -> io::Result<(UnixStream, UnixStream)> {
    UnixStream::pair()
}
