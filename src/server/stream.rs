//! [`Stream`]: the connection a [`StreamServer`](super::StreamServer)
//! handler gets.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use super::Address;
use crate::net::{TcpStream, UnixStream};
use crate::tls::TlsStream;

/// An accepted connection: plain TCP, Unix-domain, or TLS over either.
///
/// It implements `Read` and `Write` (parking only the handler's
/// greenlet), and offers the socket options a handler needs whatever the
/// transport; match on the variants for the rest (`TcpStream`'s
/// `set_linger`, the TLS session's ALPN protocol, ...). Dropping it closes
/// the connection.
///
/// # Examples
///
/// ```
/// use gevent::server::{Stream, StreamServer};
/// use std::io::{Read, Write};
///
/// let server = StreamServer::bind("127.0.0.1:0", |mut s: Stream, _peer| {
///     assert!(!s.is_tls());
///     let mut buf = [0; 4];
///     if s.read_exact(&mut buf).is_ok() {
///         let _ = s.write_all(&buf);
///     }
/// })?;
/// server.start()?;
/// let mut c = gevent::net::TcpStream::connect(server.local_addr()?.as_inet().unwrap())?;
/// c.write_all(b"ping")?;
/// let mut back = [0; 4];
/// c.read_exact(&mut back)?;
/// assert_eq!(&back, b"ping");
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[non_exhaustive]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-domain stream connection.
    Unix(UnixStream),
    /// TLS over TCP (the handshake is done).
    TlsTcp(Box<TlsStream<TcpStream>>),
    /// TLS over a Unix-domain stream (the handshake is done).
    TlsUnix(Box<TlsStream<UnixStream>>),
}

/// Calls `$e` with `$s` bound to the underlying socket of any variant.
macro_rules! on_socket {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Stream::Tcp($s) => $e,
            Stream::Unix($s) => $e,
            Stream::TlsTcp(t) => {
                let $s = t.get_ref();
                $e
            }
            Stream::TlsUnix(t) => {
                let $s = t.get_ref();
                $e
            }
        }
    };
}

impl Stream {
    /// Whether the connection is TLS.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert!(!gevent::server::Stream::Unix(a).is_tls());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::TlsTcp(_) | Stream::TlsUnix(_))
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket was closed or the peer is gone;
    /// `getpeername`'s error.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert_eq!(gevent::server::Stream::Unix(a).peer_addr()?, gevent::server::Address::Unix(None));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<Address> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(Address::Inet),
            Stream::TlsTcp(t) => t.get_ref().peer_addr().map(Address::Inet),
            Stream::Unix(s) => s.peer_addr().map(|a| unix_address(&a)),
            Stream::TlsUnix(t) => t.get_ref().peer_addr().map(|a| unix_address(&a)),
        }
    }

    /// The local address (the server's).
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket was closed; `getsockname`'s error.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert_eq!(gevent::server::Stream::Unix(a).local_addr()?, gevent::server::Address::Unix(None));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<Address> {
        match self {
            Stream::Tcp(s) => s.local_addr().map(Address::Inet),
            Stream::TlsTcp(t) => t.get_ref().local_addr().map(Address::Inet),
            Stream::Unix(s) => s.local_addr().map(|a| unix_address(&a)),
            Stream::TlsUnix(t) => t.get_ref().local_addr().map(|a| unix_address(&a)),
        }
    }

    /// Bounds each read (std's `set_read_timeout`; an expired read
    /// returns `WouldBlock`). `None` waits forever.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration; `NotConnected` if closed.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// let s = gevent::server::Stream::Unix(a);
    /// s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        on_socket!(self, s => s.set_read_timeout(t))
    }

    /// Bounds each write (std's `set_write_timeout`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration; `NotConnected` if closed.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// gevent::server::Stream::Unix(a).set_write_timeout(None)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        on_socket!(self, s => s.set_write_timeout(t))
    }

    /// Shuts the socket down in one or both directions. For TLS, call
    /// [`TlsStream::shutdown`] first (through the variant) to send
    /// `close_notify`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `shutdown`'s error.
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// gevent::server::Stream::Unix(a).shutdown(std::net::Shutdown::Write)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        on_socket!(self, s => s.shutdown(how))
    }

    /// Closes the connection now (see [`TcpStream::close`]).
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// let s = gevent::server::Stream::Unix(a);
    /// s.close();
    /// assert!(s.peer_addr().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        on_socket!(self, s => s.close())
    }

    /// The ALPN protocol the TLS handshake agreed on (`None` for plain
    /// connections).
    ///
    /// ```
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// assert_eq!(gevent::server::Stream::Unix(a).alpn_protocol(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match self {
            Stream::TlsTcp(t) => t.alpn_protocol(),
            Stream::TlsUnix(t) => t.alpn_protocol(),
            _ => None,
        }
    }
}

/// A std Unix address as an [`Address`].
pub(crate) fn unix_address(a: &std::os::unix::net::SocketAddr) -> Address {
    Address::Unix(a.as_pathname().map(|p| p.to_path_buf()))
}

impl Read for Stream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::TlsTcp(t) => t.read(buf),
            Stream::TlsUnix(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::TlsTcp(t) => t.write(buf),
            Stream::TlsUnix(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::TlsTcp(t) => t.write_vectored(bufs),
            Stream::TlsUnix(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
            Stream::TlsTcp(t) => t.flush(),
            Stream::TlsUnix(t) => t.flush(),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        on_socket!(self, s => s.as_fd())
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        on_socket!(self, s => s.as_raw_fd())
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Tcp(s) => f.debug_tuple("Tcp").field(s).finish(),
            Stream::Unix(s) => f.debug_tuple("Unix").field(s).finish(),
            Stream::TlsTcp(t) => f.debug_tuple("TlsTcp").field(t).finish(),
            Stream::TlsUnix(t) => f.debug_tuple("TlsUnix").field(t).finish(),
        }
    }
}
