//! [`TcpStream`]: a cooperative TCP connection.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Type};

use super::ToSocketAddrs;
use super::common::{socket_common, socket_read_write, socket_timeouts};
use super::resolve::each_addr;
use super::socket::{Dir, new_socket};
use super::wait_slot::Waited;

/// A TCP connection: std's [`std::net::TcpStream`], except that an
/// operation that cannot complete parks only the calling greenlet.
///
/// Implements [`Read`](std::io::Read) and [`Write`](std::io::Write), also
/// for `&TcpStream`, so one greenlet may read while another writes. Two
/// greenlets reading (or two writing) through the same handle at once is
/// an error (`ResourceBusy`), not a hang; use a
/// [`try_clone`](TcpStream::try_clone)d handle per greenlet instead.
///
/// Handles are bound to the thread (hub) that uses them (`!Send`).
///
/// # Examples
///
/// ```
/// use gevent::net::{TcpListener, TcpStream};
/// use std::io::{Read, Write};
///
/// let l = TcpListener::bind("127.0.0.1:0")?;
/// let mut c = TcpStream::connect(l.local_addr()?)?;
/// let (mut s, _) = l.accept()?;
/// c.write_all(b"ping")?;
/// let mut buf = [0; 4];
/// s.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    sock: crate::io::Async<std::net::TcpStream>,
}

socket_common!(
    TcpStream,
    std::net::TcpStream,
    "TcpStream",
    "let l = gevent::net::TcpListener::bind(\"127.0.0.1:0\")?;\nlet s = gevent::net::TcpStream::connect(l.local_addr()?)?;"
);
socket_timeouts!(
    TcpStream,
    "let l = gevent::net::TcpListener::bind(\"127.0.0.1:0\")?;\nlet s = gevent::net::TcpStream::connect(l.local_addr()?)?;"
);
socket_read_write!(TcpStream, std::net::TcpStream);

fn connect_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}

impl TcpStream {
    /// Opens a connection to `addr`, parking the calling greenlet while
    /// the handshake runs. With several addresses, each is tried in turn
    /// and the last error is returned if none works (as std does).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if nothing listens, `InvalidInput` for port 0
    /// or an address that resolves to nothing, the resolver's error for a
    /// name, other `connect` errors. An enclosing
    /// [`gevent::Timeout`](crate::Timeout) interrupts the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let s = TcpStream::connect(("127.0.0.1", l.local_addr()?.port()))?;
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// assert_eq!(TcpStream::connect("127.0.0.1:0").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| TcpStream::connect_one(a, None, None))
    }

    /// Opens a connection to `addr`, giving up after `timeout`
    /// (`ErrorKind::TimedOut`, as std).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero timeout or port 0; `TimedOut` when the
    /// time runs out; `connect`'s errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let s = TcpStream::connect_timeout(&l.local_addr()?, Duration::from_secs(5))?;
    /// # let _ = s;
    /// assert!(TcpStream::connect_timeout(&l.local_addr()?, Duration::ZERO).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_one(addr, Some(timeout), None)
    }

    /// Opens a connection to `addr` (a name is resolved first), trying
    /// each address in turn, within `timeout` for the whole (resolution
    /// included), from the local address `source` if given: gevent's
    /// `create_connection(address, timeout, source_address)`. A `source`
    /// port of 0 picks a free port; addresses of the other family than
    /// `source` are skipped.
    ///
    /// # Errors
    ///
    /// `TimedOut` when the time runs out; `InvalidInput` for a zero
    /// timeout, port 0, or when no address has `source`'s family;
    /// `AddrNotAvailable` for a `source` that is not local; the
    /// resolver's error for a name; the last `connect` error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let port = l.local_addr()?.port();
    /// let s = TcpStream::create_connection(
    ///     ("localhost", port),
    ///     Some(Duration::from_secs(5)),
    ///     Some("127.0.0.1:0".parse().unwrap()),
    /// )?;
    /// assert_eq!(s.peer_addr()?.port(), port);
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_connection<A: ToSocketAddrs>(
        addr: A,
        timeout: Option<Duration>,
        source: Option<SocketAddr>,
    ) -> io::Result<TcpStream> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        let deadline = timeout.map(|d| (crate::time::deadline_after(d), d));
        let addrs = match timeout {
            Some(d) => {
                crate::with_timeout(d, || super::resolve(&addr)).map_err(|e| match e {
                    crate::Error::Timeout => connect_timed_out(),
                    e => io::Error::from(e),
                })??
            }
            None => super::resolve(&addr)?,
        };
        let mut last = None;
        for a in addrs
            .iter()
            .filter(|a| source.is_none_or(|s| s.is_ipv4() == a.is_ipv4()))
        {
            let remaining = match deadline {
                None => None,
                Some((dl, d)) => match crate::time::time_left(dl, d) {
                    r if r.is_zero() => return Err(connect_timed_out()),
                    r => Some(r),
                },
            };
            match TcpStream::connect_one(a, remaining, source.as_ref()) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                match source {
                    Some(s) => {
                        format!("no address to connect to has the family of the source address {s}")
                    }
                    None => "could not resolve to any addresses".to_owned(),
                },
            )
        }))
    }

    /// Like [`connect_timeout`](TcpStream::connect_timeout), for a name or
    /// any [`ToSocketAddrs`] (each address is tried within the one
    /// `timeout`, resolution included).
    ///
    /// # Errors
    ///
    /// As for [`create_connection`](TcpStream::create_connection).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let s = TcpStream::connect_timeout_to(("localhost", l.local_addr()?.port()), Duration::from_secs(5))?;
    /// # let _ = s;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout_to<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        TcpStream::create_connection(addr, Some(timeout), None)
    }

    fn connect_one(
        addr: &SocketAddr,
        timeout: Option<Duration>,
        source: Option<&SocketAddr>,
    ) -> io::Result<TcpStream> {
        if addr.port() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot connect to port 0 ({addr})"),
            ));
        }
        let s = new_socket(
            Domain::for_address(*addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        if let Some(src) = source {
            s.bind(&(*src).into())?;
        }
        let sock = crate::io::Async::from_nonblocking(std::net::TcpStream::from(s));
        match sock.core().sock_ref()?.connect(&(*addr).into()) {
            Ok(()) => return Ok(TcpStream::from_socket(sock)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let deadline = timeout.map(|d| (crate::time::deadline_after(d), d));
        loop {
            let remaining = match deadline {
                None => None,
                Some((dl, d)) => match crate::time::time_left(dl, d) {
                    r if r.is_zero() => return Err(connect_timed_out()),
                    r => Some(r),
                },
            };
            if sock.core().wait(Dir::Write, remaining)? == Waited::TimedOut {
                return Err(connect_timed_out());
            }
            let r = sock.core().sock_ref()?;
            if let Some(e) = r.take_error()? {
                return Err(e);
            }
            match r.peer_addr() {
                Ok(_) => return Ok(TcpStream::from_socket(sock)),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.peer_addr()
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
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.local_addr()
    }

    /// Shuts down the read half, the write half or both (`shutdown(2)`).
    /// It acts on the socket, so every handle sees it: a greenlet waiting
    /// to read then gets end of file, one waiting to write gets an error.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let c = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// let (mut s, _) = l.accept()?;
    /// c.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(s.read(&mut [0; 8])?, 0);
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
    /// use std::io::{Read, Write};
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// let (mut s, _) = l.accept()?;
    /// c.write_all(b"abc")?;
    /// let mut buf = [0; 3];
    /// assert_eq!(s.peek(&mut buf)?, 3);
    /// s.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"abc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Read, || self.sock.std()?.peek(buf))
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when true).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_nodelay(true)?;
    /// assert!(s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.std()?.set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(!s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.std()?.nodelay()
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_ttl(77)?;
    /// assert_eq!(s.ttl()?, 77);
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
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(s.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.std()?.ttl()
    }

    /// Sets `SO_LINGER`: `Some(d)` makes closing wait up to `d` for unsent
    /// data (`Some(ZERO)` resets the connection on close); `None` is the
    /// default background close. Note that a lingering close blocks the
    /// thread in `close(2)`. Durations beyond `i32::MAX` seconds are cut
    /// down to it (the kernel's limit).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(s.linger()?, Some(Duration::ZERO));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        // The kernel counts whole seconds in a C int: saturate rather than
        // let a huge duration wrap to a negative count.
        let max = Duration::from_secs(i32::MAX as u64);
        self.sock
            .core()
            .sock_ref()?
            .set_linger(linger.map(|d| d.min(max)))
    }

    /// `SO_LINGER`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(s.linger()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.core().sock_ref()?.linger()
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// s.set_keepalive(true)?;
    /// assert!(s.keepalive()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.sock.core().sock_ref()?.set_keepalive(keepalive)
    }

    /// `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = gevent::net::TcpStream::connect(l.local_addr()?)?;
    /// assert!(!s.keepalive()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        self.sock.core().sock_ref()?.keepalive()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(a) = self.local_addr() {
            d.field("addr", &a);
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

impl TcpStream {
    /// Sends `count` bytes of `file` from `offset` (to its end if `None`)
    /// with `sendfile(2)`, parking while the socket is full; returns how
    /// many were sent. gevent's `socket.sendfile`.
    ///
    /// # Errors
    ///
    /// As for [`Socket::sendfile`](super::Socket::sendfile).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent::net::{TcpListener, TcpStream};
    /// let path = std::env::temp_dir().join(format!("gevent-doc-tsf-{}", std::process::id()));
    /// std::fs::write(&path, b"static file")?;
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let (mut s, _) = l.accept()?;
    /// assert_eq!(c.sendfile(&std::fs::File::open(&path)?, 0, None)?, 11);
    /// drop(c);
    /// let mut got = String::new();
    /// s.read_to_string(&mut got)?;
    /// assert_eq!(got, "static file");
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
