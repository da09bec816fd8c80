//! [`UnixStream`]: a cooperative Unix-domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use socket2::{Domain, SockAddr, Type};

use super::common::{socket_common, socket_read_write, socket_timeouts};
use super::socket::{Dir, Socket, accepted, new_socket};
use super::wait_slot::Waited;

/// A Unix-domain stream socket: std's
/// [`std::os::unix::net::UnixStream`], except that an operation that
/// cannot complete parks only the calling greenlet. `Read` and `Write`
/// are implemented for `UnixStream` and `&UnixStream`.
///
/// # Examples
///
/// ```
/// use gevent::net::UnixStream;
/// use std::io::{Read, Write};
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"hello")?;
/// let mut buf = [0; 5];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    sock: Socket,
}

socket_common!(
    UnixStream,
    std::os::unix::net::UnixStream,
    "UnixStream",
    "let (s, _peer) = gevent::net::UnixStream::pair()?;"
);
socket_timeouts!(
    UnixStream,
    "let (s, _peer) = gevent::net::UnixStream::pair()?;"
);
socket_read_write!(UnixStream, std::os::unix::net::UnixStream);

impl UnixStream {
    /// Connects to the socket at `path`. If the listener's backlog is
    /// full, the calling greenlet waits (polling with a short back-off,
    /// since the kernel offers no readiness event for it) until there is
    /// room.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing is at `path`, `ConnectionRefused` if nothing
    /// listens there, `InvalidInput` for a path that is too long or has a
    /// NUL byte.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join("gevent-doc-does-not-exist.sock");
    /// assert!(gevent::net::UnixStream::connect(&path).is_err());
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let s = new_socket(Domain::UNIX, Type::STREAM, None)?;
        let sock = Socket::new(s.into());
        let mut backoff = Duration::from_millis(1);
        loop {
            match sock.sock_ref()?.connect(&addr) {
                Ok(()) => return Ok(UnixStream::from_socket(sock)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    crate::try_sleep(backoff).map_err(io::Error::from)?;
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                    while sock.wait(Dir::Write, None)? != Waited::Ready {}
                    return match sock.sock_ref()?.take_error()? {
                        Some(e) => Err(e),
                        None => Ok(UnixStream::from_socket(sock)),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A pair of connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair`'s errors (such as too many open files).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed() && b.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((
            UnixStream::from_socket(accepted(a)?),
            UnixStream::from_socket(accepted(b)?),
        ))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock
            .std::<std::os::unix::net::UnixStream>()?
            .local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock
            .std::<std::os::unix::net::UnixStream>()?
            .peer_addr()
    }

    /// Shuts down the read half, the write half or both; every handle of
    /// the socket sees it (a waiting reader gets end of file).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = gevent::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(b.read(&mut [0; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock
            .std::<std::os::unix::net::UnixStream>()?
            .shutdown(how)
    }

    /// Receives data without removing it from the queue (`MSG_PEEK`),
    /// parking until some arrives. Honours the read timeout.
    ///
    /// # Errors
    ///
    /// As for `read`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let (mut a, b) = gevent::net::UnixStream::pair()?;
    /// a.write_all(b"xyz")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.peek(&mut buf)?, 3);
    /// assert_eq!(b.peek(&mut buf)?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Dir::Read, || {
            self.sock.check_open()?;
            // SAFETY: `buf` is valid for `buf.len()` writable bytes and the
            // descriptor is open (owned by the handle we borrow).
            let n = unsafe {
                libc::recv(
                    self.sock.fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_PEEK,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixStream");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        if let Ok(a) = self.peer_addr() {
            d.field("peer", &a);
        }
        let (r, w) = self.sock.waiting();
        d.field("fd", &self.sock.fd())
            .field("closed", &self.sock.is_closed())
            .field("reading", &r)
            .field("writing", &w)
            .finish()
    }
}
