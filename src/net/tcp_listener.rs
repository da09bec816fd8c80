//! [`TcpListener`]: a cooperative TCP server socket.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Type};

use super::common::socket_common;
use super::resolve::each_addr;
use super::socket::{Dir, accepted, new_socket, yield_after_accept_error};
use super::{Incoming, TcpStream, ToSocketAddrs};

/// The listen backlog of [`TcpListener::bind`] (the kernel caps it at
/// `net.core.somaxconn`): large, so that a burst of connections is not
/// dropped before the accepting greenlet runs.
const BACKLOG: i32 = 1024;

/// A TCP socket server, listening for connections: std's
/// [`std::net::TcpListener`], except that [`accept`](TcpListener::accept)
/// parks only the calling greenlet.
///
/// Handles are bound to the thread (hub) that uses them (`!Send`); convert
/// with [`into_std`](TcpListener::into_std) / [`from_std`](TcpListener::from_std)
/// to move a socket to another thread.
///
/// # Examples
///
/// ```
/// use gevent::net::{TcpListener, TcpStream};
/// use std::io::{Read, Write};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = gevent::spawn(move || -> std::io::Result<()> {
///     let (mut s, _) = listener.accept()?;
///     let mut buf = [0; 5];
///     s.read_exact(&mut buf)?;
///     s.write_all(&buf)
/// });
/// let mut c = TcpStream::connect(addr)?;
/// c.write_all(b"hello")?;
/// let mut back = [0; 5];
/// c.read_exact(&mut back)?;
/// assert_eq!(&back, b"hello");
/// server.take().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    sock: crate::io::Async<std::net::TcpListener>,
}

socket_common!(
    TcpListener,
    std::net::TcpListener,
    "TcpListener",
    "let s = gevent::net::TcpListener::bind(\"127.0.0.1:0\")?;"
);

impl TcpListener {
    /// Creates a listener bound to `addr` (`SO_REUSEADDR` set, as std
    /// does; port 0 picks a free port). With several addresses, the first
    /// that binds wins.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the port is taken, `AddrNotAvailable` for an address
    /// that is not local, `InvalidInput` for an address that resolves to
    /// nothing, the resolver's error for a name.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::TcpListener;
    /// let a = TcpListener::bind("127.0.0.1:0")?;
    /// let taken = a.local_addr()?;
    /// assert_eq!(TcpListener::bind(taken).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let s = new_socket(Domain::for_address(*a), Type::STREAM, Some(Protocol::TCP))?;
            s.set_reuse_address(true)?;
            s.bind(&(*a).into())?;
            s.listen(BACKLOG)?;
            Ok(TcpListener::from_socket(
                crate::io::Async::from_nonblocking(std::net::TcpListener::from(s)),
            ))
        })
    }

    /// Like [`bind`](TcpListener::bind), with room for `backlog` pending
    /// connections (`bind` uses 1024; the kernel caps it at
    /// `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative backlog; as for
    /// [`bind`](TcpListener::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind_with_backlog("127.0.0.1:0", 4096)?;
    /// # let _ = l;
    /// assert!(gevent::net::TcpListener::bind_with_backlog("127.0.0.1:0", -5).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_with_backlog<A: ToSocketAddrs>(addr: A, backlog: i32) -> io::Result<TcpListener> {
        super::check_backlog(backlog)?;
        each_addr(&addr, |a| {
            let s = new_socket(Domain::for_address(*a), Type::STREAM, Some(Protocol::TCP))?;
            s.set_reuse_address(true)?;
            s.bind(&(*a).into())?;
            s.listen(backlog)?;
            Ok(TcpListener::from_socket(
                crate::io::Async::from_nonblocking(std::net::TcpListener::from(s)),
            ))
        })
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockname`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.local_addr()
    }

    /// Accepts a connection, parking the calling greenlet until one comes.
    ///
    /// # Errors
    ///
    /// `WouldBlock` in non-blocking mode when none is pending;
    /// `NotConnected` if the listener is (or gets) closed;
    /// `ResourceBusy` if another greenlet is already accepting on this
    /// handle (accept on a [`try_clone`](Self::try_clone) instead);
    /// `accept`'s errors (such as too many open files).
    ///
    /// An accept that fails for lack of resources (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`) first lets every other greenlet, timer and I/O
    /// callback run (one trip through the event loop), so a loop that
    /// retries at once cannot starve the rest of the program; add a
    /// back-off of your own to avoid spinning.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let (s, peer) = l.accept()?;
    /// assert_eq!(peer, c.local_addr()?);
    /// assert_eq!(s.peer_addr()?, c.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self
            .sock
            .core()
            .io(Dir::Read, || self.sock.std()?.accept())
            .inspect_err(yield_after_accept_error)?;
        Ok((TcpStream::from_socket(accepted(s)?), a))
    }

    /// An endless iterator over accepted connections
    /// ([`accept`](Self::accept) without the peer address).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let _c = TcpStream::connect(l.local_addr()?)?;
    /// for s in l.incoming().take(1) {
    ///     assert!(s?.peer_addr()?.ip().is_loopback());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(self)
    }

    /// Sets `IP_TTL` for accepted sockets.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// l.set_ttl(100)?;
    /// assert_eq!(l.ttl()?, 100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.std()?.set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.std()?.ttl()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(a) = self.local_addr() {
            d.field("addr", &a);
        }
        d.field("fd", &self.sock.core().fd())
            .field("closed", &self.sock.core().is_closed())
            .finish()
    }
}
