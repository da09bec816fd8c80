//! [`UnixListener`]: a cooperative Unix-domain stream server socket.

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::common::socket_common;
use super::socket::{Dir, accepted, yield_after_accept_error};
use super::{UnixIncoming, UnixStream};

/// A Unix-domain stream socket server: std's
/// [`std::os::unix::net::UnixListener`], except that
/// [`accept`](UnixListener::accept) parks only the calling greenlet.
///
/// # Examples
///
/// ```
/// use gevent::net::{UnixListener, UnixStream};
/// use std::io::{Read, Write};
/// let dir = std::env::temp_dir().join(format!("gevent-doc-ul-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path)?;
/// let mut c = UnixStream::connect(&path)?;
/// let (mut s, _) = l.accept()?;
/// c.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// s.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    sock: crate::io::Async<std::os::unix::net::UnixListener>,
}

socket_common!(
    UnixListener,
    std::os::unix::net::UnixListener,
    "UnixListener",
    "let dir = std::env::temp_dir().join(format!(\"gevent-doc-{}-{:?}\", std::process::id(), std::thread::current().id()));\nstd::fs::create_dir_all(&dir)?;\nlet path = dir.join(\"l\");\nlet _ = std::fs::remove_file(&path);\nlet s = gevent::net::UnixListener::bind(&path)?;"
);

impl UnixListener {
    /// Creates a listener bound to the socket file `path` (which must not
    /// exist).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if `path` exists, `InvalidInput` for a path that is too
    /// long or contains a NUL byte, `bind`'s other errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-ulb-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// assert_eq!(gevent::net::UnixListener::bind(&path).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// # drop(l); std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let l = std::os::unix::net::UnixListener::bind(path)?;
        Ok(UnixListener::from_socket(accepted(l)?))
    }

    /// Accepts a connection, parking the calling greenlet until one comes.
    ///
    /// # Errors
    ///
    /// `WouldBlock` in non-blocking mode; `NotConnected` if the listener
    /// is (or gets) closed; `ResourceBusy` if another greenlet already
    /// accepts on this handle; `accept`'s errors. As for
    /// [`TcpListener::accept`](super::TcpListener::accept), one that fails
    /// for lack of resources (`EMFILE`...) first lets the other greenlets
    /// run.
    ///
    /// # Examples
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gevent-doc-ula-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// let _c = gevent::net::UnixStream::connect(&path)?;
    /// let (s, addr) = l.accept()?;
    /// assert!(addr.is_unnamed());
    /// # drop(s); std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, a) = self
            .sock
            .core()
            .io(Dir::Read, || self.sock.std()?.accept())
            .inspect_err(yield_after_accept_error)?;
        Ok((UnixStream::from_socket(accepted(s)?), a))
    }

    /// An endless iterator over accepted connections.
    ///
    /// # Examples
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gevent-doc-uli-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// let _c = gevent::net::UnixStream::connect(&path)?;
    /// assert!(l.incoming().next().unwrap().is_ok());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming::new(self)
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
    /// # let path = std::env::temp_dir().join(format!("gevent-doc-ull-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        d.field("fd", &self.sock.core().fd())
            .field("closed", &self.sock.core().is_closed())
            .finish()
    }
}

impl UnixListener {
    /// Creates a listener bound to `addr` (a path or, on Linux, an abstract
    /// name), as std's `bind_addr`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; as for
    /// [`bind`](UnixListener::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-ulba-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind_addr(&SocketAddr::from_pathname(&path)?)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(l); std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::bind_sockaddr(
            &super::unix_addr::to_sockaddr(addr)?,
            super::DEFAULT_BACKLOG,
        )
    }

    /// Like [`bind`](UnixListener::bind), with room for `backlog` pending
    /// connections (the kernel caps it at `net.core.somaxconn`; `bind`
    /// uses std's default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative backlog; as for
    /// [`bind`](UnixListener::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-ulbb-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind_with_backlog(&path, 16)?;
    /// # drop(l); std::fs::remove_file(&path)?;
    /// assert!(gevent::net::UnixListener::bind_with_backlog(&path, -1).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_with_backlog<P: AsRef<Path>>(path: P, backlog: i32) -> io::Result<UnixListener> {
        UnixListener::bind_sockaddr(&socket2::SockAddr::unix(path)?, backlog)
    }

    fn bind_sockaddr(addr: &socket2::SockAddr, backlog: i32) -> io::Result<UnixListener> {
        super::check_backlog(backlog)?;
        let s = super::socket::new_socket(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        s.bind(addr)?;
        s.listen(backlog)?;
        Ok(UnixListener::from_socket(
            crate::io::Async::from_nonblocking(std::os::unix::net::UnixListener::from(s)),
        ))
    }
}

impl<'a> IntoIterator for &'a UnixListener {
    type Item = io::Result<UnixStream>;
    type IntoIter = UnixIncoming<'a>;

    /// [`incoming`](UnixListener::incoming), for `for s in &listener`.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-ulii-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent::net::UnixListener::bind(&path)?;
    /// let _c = gevent::net::UnixStream::connect(&path)?;
    /// for s in &l {
    ///     assert!(s?.peer_addr()?.is_unnamed());
    ///     break;
    /// }
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn into_iter(self) -> UnixIncoming<'a> {
        self.incoming()
    }
}
