//! [`Socket`]: any socket (`socket(domain, type, protocol)`), cooperative.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Type};

use super::ancillary::{self, ReceivedFds};
use super::common::{socket_common, socket_read_write, socket_timeouts};
use super::socket::{Dir, new_socket};
use super::wait_slot::Waited;

/// A socket of any domain, type and protocol, shaped like
/// [`socket2::Socket`] (gevent's `gevent.socket.socket(family, type,
/// proto)`), whose connect, accept, send and receive park only the calling
/// greenlet.
///
/// For everything that has no method here (options such as
/// `SO_REUSEPORT`, multicast, `TCP_KEEPIDLE`, ...), [`sock_ref`](Socket::sock_ref)
/// gives socket2's full API on the same descriptor.
///
/// Implements [`Read`](std::io::Read) and [`Write`](std::io::Write) (for
/// connected stream sockets), also for `&Socket`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent::net::{Domain, SockAddr, Socket, Type};
/// let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
/// listener.bind(&SockAddr::from("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap()))?;
/// listener.listen(16)?;
/// let addr = listener.local_addr()?;
/// let client = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
///     let mut c = Socket::new(Domain::IPV4, Type::STREAM, None)?;
///     c.connect(&addr)?;
///     c.write_all(b"hello")?;
///     let mut back = Vec::new();
///     c.read_to_end(&mut back)?;
///     Ok(back)
/// });
/// let (mut conn, _peer) = listener.accept()?;
/// let mut buf = [0; 5];
/// conn.read_exact(&mut buf)?;
/// conn.write_all(&buf)?;
/// drop(conn);
/// assert_eq!(client.take().unwrap()?, b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Socket {
    sock: crate::io::Async<socket2::Socket>,
}

socket_common!(
    Socket,
    socket2::Socket,
    "socket2::Socket",
    "let s = gevent::net::Socket::new(gevent::net::Domain::IPV4, gevent::net::Type::STREAM, None)?;"
);
socket_timeouts!(
    Socket,
    "let s = gevent::net::Socket::new(gevent::net::Domain::IPV4, gevent::net::Type::STREAM, None)?;"
);
socket_read_write!(Socket, socket2::Socket);

fn connect_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}

/// `&mut [u8]` as the `MaybeUninit` slice socket2's receives take.
fn uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the receive
    // only writes initialised bytes into it, so `buf` stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

impl Socket {
    /// Creates a socket (`socket(2)`), non-blocking and close-on-exec
    /// underneath, cooperative for the caller.
    ///
    /// # Errors
    ///
    /// `socket`'s error: `EAFNOSUPPORT`, `EPROTONOSUPPORT`, `EINVAL` for a
    /// combination the kernel refuses (any `Domain::from(i32)` or
    /// `Type::from(i32)` value is passed through and checked there).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Protocol, Socket, Type};
    /// let udp = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP));
    /// # let _ = udp;
    /// assert!(Socket::new(Domain::from(12345), Type::STREAM, None).is_err());
    /// ```
    pub fn new(domain: Domain, ty: Type, protocol: Option<Protocol>) -> io::Result<Socket> {
        let s = new_socket(domain, ty, protocol)?;
        Ok(Socket::from_socket(crate::io::Async::from_nonblocking(s)))
    }

    /// A pair of connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair`'s error (only `Domain::UNIX` supports it on Linux).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::SEQPACKET, None)?;
    /// a.send(b"one message")?;
    /// let mut buf = [0; 32];
    /// assert_eq!(b.recv(&mut buf)?, 11);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair(
        domain: Domain,
        ty: Type,
        protocol: Option<Protocol>,
    ) -> io::Result<(Socket, Socket)> {
        let (a, b) = socket2::Socket::pair(domain, ty, protocol)?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok((
            Socket::from_socket(crate::io::Async::from_nonblocking(a)),
            Socket::from_socket(crate::io::Async::from_nonblocking(b)),
        ))
    }

    /// socket2's view of the descriptor, for every option and call that
    /// has no method here. Use it for options only: its blocking calls
    /// (`accept`, `recv`, ...) see a non-blocking descriptor and return
    /// `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.sock_ref()?.set_reuse_port(true)?;
    /// assert!(s.sock_ref()?.reuse_port()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sock_ref(&self) -> io::Result<SockRef<'_>> {
        self.sock.core().sock_ref()
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// `bind`'s error (`AddrInUse`, `AddrNotAvailable`, `InvalidInput`
    /// for an address of another family).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, SockAddr, Socket, Type};
    /// let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    /// s.bind(&SockAddr::from("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap()))?;
    /// assert!(s.local_addr()?.as_socket().unwrap().port() != 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(&self, addr: &SockAddr) -> io::Result<()> {
        self.sock.core().sock_ref()?.bind(addr)
    }

    /// Starts listening, with room for `backlog` pending connections (the
    /// kernel caps it at `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative backlog; `listen`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, SockAddr, Socket, Type};
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.bind(&SockAddr::from("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap()))?;
    /// s.listen(4096)?;
    /// assert!(s.listen(-1).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        if backlog < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("listen backlog must not be negative (got {backlog})"),
            ));
        }
        self.sock.core().sock_ref()?.listen(backlog)
    }

    /// Connects to `addr`, parking the calling greenlet while the
    /// handshake runs (bounded by the write timeout, if one is set).
    ///
    /// # Errors
    ///
    /// `connect`'s error (`ConnectionRefused`, ...); `TimedOut` when the
    /// write timeout runs out.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, SockAddr, Socket, TcpListener, Type};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.connect(&SockAddr::from(l.local_addr()?))?;
    /// assert_eq!(s.peer_addr()?.as_socket(), Some(l.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, addr: &SockAddr) -> io::Result<()> {
        self.connect_inner(addr, self.sock.core().timeout(Dir::Write))
    }

    /// Connects to `addr`, giving up after `timeout` (`TimedOut`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero timeout; as for
    /// [`connect`](Socket::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent::net::{Domain, SockAddr, Socket, TcpListener, Type};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.connect_timeout(&SockAddr::from(l.local_addr()?), Duration::from_secs(5))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(&self, addr: &SockAddr, timeout: Duration) -> io::Result<()> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        self.connect_inner(addr, Some(timeout))
    }

    fn connect_inner(&self, addr: &SockAddr, timeout: Option<Duration>) -> io::Result<()> {
        match self.sock.core().sock_ref()?.connect(addr) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock && self.sock.core().is_nonblocking() =>
            {
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        if self.sock.core().is_nonblocking() {
            return Err(io::Error::from_raw_os_error(libc::EINPROGRESS));
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
            if self.sock.core().wait(Dir::Write, remaining)? == Waited::TimedOut {
                return Err(connect_timed_out());
            }
            let r = self.sock.core().sock_ref()?;
            if let Some(e) = r.take_error()? {
                return Err(e);
            }
            match r.peer_addr() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Accepts a connection, parking until one comes.
    ///
    /// # Errors
    ///
    /// `WouldBlock` in non-blocking mode or when the read timeout runs
    /// out; `NotConnected` once closed; `accept`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, SockAddr, Socket, TcpStream, Type};
    /// let l = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// l.bind(&SockAddr::from("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap()))?;
    /// l.listen(8)?;
    /// let c = TcpStream::connect(l.local_addr()?.as_socket().unwrap())?;
    /// let (_s, peer) = l.accept()?;
    /// assert_eq!(peer.as_socket(), Some(c.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        let (s, a) = self
            .sock
            .core()
            .io(Dir::Read, || self.sock.core().sock_ref()?.accept())?;
        s.set_nonblocking(true)?;
        Ok((
            Socket::from_socket(crate::io::Async::from_nonblocking(s)),
            a,
        ))
    }

    /// Sends on a connected socket; returns how many bytes went.
    ///
    /// # Errors
    ///
    /// `send`'s error; `WouldBlock` in non-blocking mode or on write
    /// timeout; `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, _b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// assert_eq!(a.send(b"abc")?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Write, || self.sock.core().send(buf))
    }

    /// Sends a datagram to `addr`.
    ///
    /// # Errors
    ///
    /// As for [`send`](Socket::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, SockAddr, Socket, Type};
    /// let any = SockAddr::from("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap());
    /// let (a, b) = (Socket::new(Domain::IPV4, Type::DGRAM, None)?, Socket::new(Domain::IPV4, Type::DGRAM, None)?);
    /// b.bind(&any)?;
    /// a.send_to(b"hi", &b.local_addr()?)?;
    /// let mut buf = [0; 4];
    /// let (n, _from) = b.recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to(&self, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
        self.sock.core().io(Dir::Write, || {
            self.sock.core().sock_ref()?.send_to(buf, addr)
        })
    }

    /// Receives on a connected socket, parking until something comes;
    /// `Ok(0)` is the end of a stream.
    ///
    /// # Errors
    ///
    /// `recv`'s error; `WouldBlock` in non-blocking mode or on read
    /// timeout; `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// a.send(b"x")?;
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv(&mut buf)?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Read, || self.sock.core().recv(buf))
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Socket::recv).
    ///
    /// # Examples
    ///
    /// See [`send_to`](Socket::send_to).
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM, None)?;
    /// a.send(b"d")?;
    /// let (n, _) = b.recv_from(&mut [0; 4])?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
        self.sock.core().io(Dir::Read, || {
            self.sock.core().sock_ref()?.recv_from(uninit(buf))
        })
    }

    /// Receives without taking the data out of the queue (`MSG_PEEK`).
    ///
    /// # Errors
    ///
    /// As for [`recv`](Socket::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// a.send(b"x")?;
    /// assert_eq!(b.peek(&mut [0; 4])?, 1);
    /// assert_eq!(b.recv(&mut [0; 4])?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Read, || self.sock.core().sock_ref()?.peek(uninit(buf)))
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(b.recv(&mut [0; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.core().sock_ref()?.shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed; `getsockname`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// assert!(s.local_addr()?.is_ipv4());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SockAddr> {
        self.sock.core().sock_ref()?.local_addr()
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
    /// use gevent::net::{Domain, Socket, Type};
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SockAddr> {
        self.sock.core().sock_ref()?.peer_addr()
    }

    /// Sends `count` bytes of `file` from `offset` (to its end if `None`)
    /// with `sendfile(2)`, parking while the socket is full; returns how
    /// many bytes were sent (fewer at end of file). gevent's
    /// `socket.sendfile`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an offset beyond `i64::MAX`; `sendfile`'s error
    /// (`EINVAL` for a descriptor it cannot read from) if nothing was
    /// sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let path = std::env::temp_dir().join(format!("gevent-sendfile-doc-{}", std::process::id()));
    /// std::fs::write(&path, b"file body")?;
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// assert_eq!(a.sendfile(&std::fs::File::open(&path)?, 5, None)?, 4);
    /// let mut buf = [0; 16];
    /// let n = b.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"body");
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sendfile<F: AsFd>(
        &self,
        file: &F,
        offset: u64,
        count: Option<usize>,
    ) -> io::Result<usize> {
        ancillary::sendfile(self.sock.core(), file, offset, count)
    }

    /// Sends `data` with descriptors attached (`SCM_RIGHTS`; Unix-domain
    /// sockets only). See [`UnixStream::send_fds`](crate::net::UnixStream::send_fds).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for more than 253 descriptors, descriptors without
    /// data, or a socket that is not Unix-domain; `sendmsg`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM, None)?;
    /// let file = std::fs::File::open("/dev/null")?;
    /// a.send_fds(b"f", &[file.as_fd()])?;
    /// assert_eq!(b.recv_fds(&mut [0; 1], 1)?.fds.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_fds(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        ancillary::send_fds(self.sock.core(), data, fds)
    }

    /// Receives into `buf` and up to `max_fds` descriptors (at most 253).
    ///
    /// # Errors
    ///
    /// `recvmsg`'s error.
    ///
    /// # Examples
    ///
    /// See [`send_fds`](Socket::send_fds).
    ///
    /// ```
    /// use gevent::net::{Domain, Socket, Type};
    /// let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    /// a.send(b"no fds")?;
    /// let got = b.recv_fds(&mut [0; 16], 4)?;
    /// assert_eq!((got.len, got.fds.len()), (6, 0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_fds(&self, buf: &mut [u8], max_fds: usize) -> io::Result<ReceivedFds> {
        ancillary::recv_fds(self.sock.core(), buf, max_fds)
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Socket");
        d.field("fd", &self.sock.core().fd());
        if let Ok(r) = self.sock.core().sock_ref() {
            if let Ok(a) = r.local_addr() {
                d.field("local", &a);
            }
            if let Ok(a) = r.peer_addr() {
                d.field("peer", &a);
            }
        }
        d.finish()
    }
}
