//! [`UnixDatagram`]: a cooperative Unix-domain datagram socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::common::{socket_common, socket_timeouts};
use super::socket::{Dir, accepted, recv_from_shut_down};

/// A Unix-domain datagram socket: std's
/// [`std::os::unix::net::UnixDatagram`], except that a receive (or a send
/// to a full queue) parks only the calling greenlet.
///
/// # Examples
///
/// ```
/// use gevent::net::UnixDatagram;
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"one")?;
/// let mut buf = [0; 8];
/// assert_eq!(b.recv(&mut buf)?, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    sock: crate::io::Async<std::os::unix::net::UnixDatagram>,
}

socket_common!(
    UnixDatagram,
    std::os::unix::net::UnixDatagram,
    "UnixDatagram",
    "let s = gevent::net::UnixDatagram::unbound()?;"
);
socket_timeouts!(
    UnixDatagram,
    "let s = gevent::net::UnixDatagram::unbound()?;"
);

fn std_dgram(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
    Ok(UnixDatagram::from_socket(accepted(s)?))
}

impl UnixDatagram {
    /// Creates a socket bound to the file `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if `path` exists; `InvalidInput` for a bad path.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-udb-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let s = gevent::net::UnixDatagram::bind(&path)?;
    /// assert_eq!(s.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        std_dgram(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to no address.
    ///
    /// # Errors
    ///
    /// `socket`'s errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent::net::UnixDatagram::unbound()?;
    /// assert!(s.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        std_dgram(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected sockets.
    ///
    /// # Errors
    ///
    /// `socketpair`'s errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixDatagram::pair()?;
    /// a.send(b"x")?;
    /// assert_eq!(b.recv(&mut [0; 4])?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((std_dgram(a)?, std_dgram(b)?))
    }

    /// Sets the default destination and the only accepted source (never
    /// blocks).
    ///
    /// # Errors
    ///
    /// `NotFound`/`ConnectionRefused` if nothing is bound at `path`;
    /// `NotConnected` if closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent::net::UnixDatagram::unbound()?;
    /// assert!(s.connect("/nonexistent/gevent.sock").is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.sock.std()?.connect(path)
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed; `WouldBlock` on write
    /// timeout or in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"abc")?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Write, || self.sock.std()?.send(buf))
    }

    /// Receives one datagram, parking until one comes.
    ///
    /// # Errors
    ///
    /// `WouldBlock` on read timeout or in non-blocking mode;
    /// `NotConnected` if closed; `ResourceBusy` if another greenlet already
    /// receives through this handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixDatagram::pair()?;
    /// a.send(b"abc")?;
    /// assert_eq!(b.recv(&mut [0; 8])?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .recv_datagram(|| Ok(0), || self.sock.std()?.recv(buf))
    }

    /// Sends a datagram to the socket bound at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound`/`ConnectionRefused` if nothing is bound there; as for
    /// [`send`](Self::send) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-udst-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = gevent::net::UnixDatagram::bind(&path)?;
    /// let client = gevent::net::UnixDatagram::unbound()?;
    /// client.send_to(b"ping", &path)?;
    /// let mut buf = [0; 8];
    /// let (n, from) = server.recv_from(&mut buf)?;
    /// assert_eq!((&buf[..n], from.is_unnamed()), (&b"ping"[..], true));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.sock
            .core()
            .io(Dir::Write, || self.sock.std()?.send_to(buf, path))
    }

    /// Receives one datagram and its sender's address, parking until one
    /// comes.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixDatagram::pair()?;
    /// a.send(b"abc")?;
    /// let (n, from) = b.recv_from(&mut [0; 8])?;
    /// assert_eq!((n, from.is_unnamed()), (3, true));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock
            .core()
            .recv_datagram(recv_from_shut_down, || self.sock.std()?.recv_from(buf))
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
    /// let s = gevent::net::UnixDatagram::unbound()?;
    /// assert!(s.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.peer_addr()
    }

    /// Shuts down reading, writing or both; a waiting receiver wakes up.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixDatagram::pair()?;
    /// a.shutdown(std::net::Shutdown::Read)?;
    /// assert_eq!(a.recv(&mut [0; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.std()?.shutdown(how)
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        let (r, w) = self.sock.core().waiting();
        d.field("fd", &self.sock.core().fd())
            .field("closed", &self.sock.core().is_closed())
            .field("receiving", &r)
            .field("sending", &w)
            .finish()
    }
}

impl UnixDatagram {
    /// Creates a socket bound to `addr` (a path or, on Linux, an abstract
    /// name), as std's `bind_addr`.
    ///
    /// # Errors
    ///
    /// `bind`'s error; `InvalidInput` for an unnamed address.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-udba-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let s = gevent::net::UnixDatagram::bind_addr(&SocketAddr::from_pathname(&path)?)?;
    /// assert_eq!(s.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        let a = super::unix_addr::to_sockaddr(addr)?;
        let s = super::socket::new_socket(socket2::Domain::UNIX, socket2::Type::DGRAM, None)?;
        s.bind(&a)?;
        Ok(UnixDatagram::from_socket(
            crate::io::Async::from_nonblocking(std::os::unix::net::UnixDatagram::from(s)),
        ))
    }

    /// Connects to the socket at `addr`, as std's `connect_addr`.
    ///
    /// # Errors
    ///
    /// `connect`'s error; `InvalidInput` for an unnamed address.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-udca-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = gevent::net::UnixDatagram::bind(&path)?;
    /// let client = gevent::net::UnixDatagram::unbound()?;
    /// client.connect_addr(&server.local_addr()?)?;
    /// client.send(b"x")?;
    /// assert_eq!(server.recv(&mut [0; 4])?, 1);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        let a = super::unix_addr::to_sockaddr(addr)?;
        self.sock.core().sock_ref()?.connect(&a)
    }

    /// Sends a datagram to `addr`, as std's `send_to_addr`; parks while the
    /// receiver's queue is full.
    ///
    /// # Errors
    ///
    /// As for [`send_to`](UnixDatagram::send_to); `InvalidInput` for an
    /// unnamed address.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-udsta-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = gevent::net::UnixDatagram::bind(&path)?;
    /// let client = gevent::net::UnixDatagram::unbound()?;
    /// client.send_to_addr(b"hey", &server.local_addr()?)?;
    /// assert_eq!(server.recv(&mut [0; 4])?, 3);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let a = super::unix_addr::to_sockaddr(addr)?;
        self.sock
            .core()
            .io(Dir::Write, || self.sock.core().sock_ref()?.send_to(buf, &a))
    }

    /// Sends a datagram with descriptors attached (`SCM_RIGHTS`); see
    /// [`UnixStream::send_fds`](super::UnixStream::send_fds).
    ///
    /// # Errors
    ///
    /// As for [`UnixStream::send_fds`](super::UnixStream::send_fds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// let (a, b) = gevent::net::UnixDatagram::pair()?;
    /// let f = std::fs::File::open("/dev/null")?;
    /// a.send_fds(b"1", &[f.as_fd(), f.as_fd()])?;
    /// assert_eq!(b.recv_fds(&mut [0; 1], 8)?.fds.len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_fds(&self, data: &[u8], fds: &[std::os::fd::BorrowedFd<'_>]) -> io::Result<usize> {
        super::ancillary::send_fds(self.sock.core(), data, fds)
    }

    /// Receives a datagram and up to `max_fds` descriptors; see
    /// [`UnixStream::recv_fds`](super::UnixStream::recv_fds).
    ///
    /// # Errors
    ///
    /// As for [`recv`](UnixDatagram::recv).
    ///
    /// # Examples
    ///
    /// See [`send_fds`](UnixDatagram::send_fds).
    ///
    /// ```
    /// let (a, b) = gevent::net::UnixDatagram::pair()?;
    /// a.send(b"plain")?;
    /// assert_eq!(b.recv_fds(&mut [0; 8], 2)?.len, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_fds(&self, buf: &mut [u8], max_fds: usize) -> io::Result<super::ReceivedFds> {
        super::ancillary::recv_fds(self.sock.core(), buf, max_fds)
    }
}
