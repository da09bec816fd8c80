//! [`UnixStream`]: a cooperative Unix-domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use socket2::{Domain, SockAddr, Type};

use super::common::{socket_common, socket_read_write, socket_timeouts};
use super::socket::{Dir, accepted, new_socket};
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
    sock: crate::io::Async<std::os::unix::net::UnixStream>,
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
        UnixStream::connect_sockaddr(&SockAddr::unix(path)?)
    }

    /// Connects to the socket at `addr` (a path or, on Linux, an abstract
    /// name), as std's `connect_addr`; waits as [`connect`](Self::connect)
    /// does.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; as for
    /// [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-ca-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// let s = gevent::net::UnixStream::connect_addr(&SocketAddr::from_pathname(&path)?)?;
    /// assert_eq!(s.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(l); std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        UnixStream::connect_sockaddr(&super::unix_addr::to_sockaddr(addr)?)
    }

    fn connect_sockaddr(addr: &SockAddr) -> io::Result<UnixStream> {
        let s = new_socket(Domain::UNIX, Type::STREAM, None)?;
        let sock = crate::io::Async::from_nonblocking(std::os::unix::net::UnixStream::from(s));
        let mut backoff = Duration::from_millis(1);
        loop {
            match sock.core().sock_ref()?.connect(addr) {
                Ok(()) => return Ok(UnixStream::from_socket(sock)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    crate::try_sleep(backoff).map_err(io::Error::from)?;
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                    while sock.core().wait(Dir::Write, None)? != Waited::Ready {}
                    return match sock.core().sock_ref()?.take_error()? {
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
        self.sock.std()?.local_addr()
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
        self.sock.std()?.peer_addr()
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
        self.sock.std()?.shutdown(how)
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
        self.sock.core().io(Dir::Read, || {
            self.sock.core().check_open()?;
            // SAFETY: `buf` is valid for `buf.len()` writable bytes and the
            // descriptor is open (owned by the handle we borrow).
            let n = unsafe {
                libc::recv(
                    self.sock.core().fd(),
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
        let (r, w) = self.sock.core().waiting();
        d.field("fd", &self.sock.core().fd())
            .field("closed", &self.sock.core().is_closed())
            .field("reading", &r)
            .field("writing", &w)
            .finish()
    }
}

impl UnixStream {
    /// Sends `data` with the descriptors `fds` attached (`SCM_RIGHTS`):
    /// the peer gets duplicates of them with
    /// [`recv_fds`](UnixStream::recv_fds). Parks while the socket is full.
    /// Returns how many bytes of `data` went (the descriptors go with the
    /// first byte).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for more than [`MAX_FDS`](super::MAX_FDS)
    /// descriptors or descriptors with no data; `sendmsg`'s error;
    /// `WouldBlock` in non-blocking mode or on write timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsFd;
    /// let (a, b) = gevent::net::UnixStream::pair()?;
    /// let (r, mut w) = std::io::pipe()?;
    /// a.send_fds(b"pipe", &[r.as_fd()])?;
    /// let mut buf = [0; 4];
    /// let got = b.recv_fds(&mut buf, 1)?;
    /// assert_eq!((&buf[..got.len], got.fds.len()), (&b"pipe"[..], 1));
    /// w.write_all(b"through the passed fd")?;
    /// drop(w);
    /// let mut s = String::new();
    /// std::fs::File::from(got.fds.into_iter().next().unwrap()).read_to_string(&mut s)?;
    /// assert_eq!(s, "through the passed fd");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_fds(&self, data: &[u8], fds: &[std::os::fd::BorrowedFd<'_>]) -> io::Result<usize> {
        super::ancillary::send_fds(self.sock.core(), data, fds)
    }

    /// Receives into `buf` and up to `max_fds` descriptors (at most
    /// [`MAX_FDS`](super::MAX_FDS)) sent with
    /// [`send_fds`](UnixStream::send_fds), parking until data comes. The
    /// descriptors are close-on-exec and owned by the caller.
    ///
    /// # Errors
    ///
    /// `recvmsg`'s error; `WouldBlock` in non-blocking mode or on read
    /// timeout.
    ///
    /// # Examples
    ///
    /// See [`send_fds`](UnixStream::send_fds).
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixStream::pair()?;
    /// drop(a);
    /// let got = b.recv_fds(&mut [0; 8], 4)?;
    /// assert_eq!((got.len, got.fds.len()), (0, 0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_fds(&self, buf: &mut [u8], max_fds: usize) -> io::Result<super::ReceivedFds> {
        super::ancillary::recv_fds(self.sock.core(), buf, max_fds)
    }

    /// Sends `count` bytes of `file` from `offset` (to its end if `None`)
    /// with `sendfile(2)`; see [`Socket::sendfile`](super::Socket::sendfile).
    ///
    /// # Errors
    ///
    /// As for [`Socket::sendfile`](super::Socket::sendfile).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = gevent::net::UnixStream::pair()?;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-usf-{}", std::process::id()));
    /// std::fs::write(&path, b"abc")?;
    /// assert_eq!(a.sendfile(&std::fs::File::open(&path)?, 0, Some(2))?, 2);
    /// let mut buf = [0; 2];
    /// b.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"ab");
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sendfile<F: std::os::fd::AsFd>(
        &self,
        file: &F,
        offset: u64,
        count: Option<usize>,
    ) -> io::Result<usize> {
        super::ancillary::sendfile(self.sock.core(), file, offset, count)
    }
}
