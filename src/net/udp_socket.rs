//! [`UdpSocket`]: a cooperative UDP socket.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Type};

use super::ToSocketAddrs;
use super::common::{socket_common, socket_timeouts};
use super::resolve::{each_addr, resolve};
use super::socket::{Dir, new_socket, recv_from_shut_down};

/// A UDP socket: std's [`std::net::UdpSocket`], except that a receive (or
/// a send on a full buffer) parks only the calling greenlet.
///
/// # Examples
///
/// ```
/// use gevent::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"hi", b.local_addr()?)?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    sock: crate::io::Async<std::net::UdpSocket>,
}

socket_common!(
    UdpSocket,
    std::net::UdpSocket,
    "UdpSocket",
    "let s = gevent::net::UdpSocket::bind(\"127.0.0.1:0\")?;"
);
socket_timeouts!(
    UdpSocket,
    "let s = gevent::net::UdpSocket::bind(\"127.0.0.1:0\")?;"
);

impl UdpSocket {
    /// Creates a socket bound to `addr` (port 0 picks a free port). With
    /// several addresses, the first that binds wins.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `InvalidInput` for an address that
    /// resolves to nothing, the resolver's error for a name.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            let s = new_socket(Domain::for_address(*a), Type::DGRAM, Some(Protocol::UDP))?;
            s.bind(&(*a).into())?;
            Ok(UdpSocket::from_socket(crate::io::Async::from_nonblocking(
                std::net::UdpSocket::from(s),
            )))
        })
    }

    /// Sets the default destination for [`send`](Self::send) and the only
    /// source [`recv`](Self::recv) accepts (never blocks).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `connect`'s errors; as for `bind` for the
    /// address.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let s = self.sock.std()?;
        each_addr(&addr, |a| s.connect(a))
    }

    /// Sends to the connected peer; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected or closed; `WouldBlock` on write
    /// timeout or in non-blocking mode; `send`'s errors (such as
    /// `ConnectionRefused` reported from an earlier datagram).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.send(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock
            .core()
            .io(Dir::Write, || self.sock.std()?.send(buf))
    }

    /// Receives one datagram from the connected peer, parking until one
    /// comes; a datagram longer than `buf` is truncated.
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
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// b.connect(a.local_addr()?)?;
    /// a.send(b"data")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf)?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .recv_datagram(|| Ok(0), || self.sock.std()?.recv(buf))
    }

    /// Like [`recv`](Self::recv), leaving the datagram in the queue.
    ///
    /// # Errors
    ///
    /// As for `recv`.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// b.connect(a.local_addr()?)?;
    /// a.send(b"data")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.peek(&mut buf)?, 4);
    /// assert_eq!(b.recv(&mut buf)?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .core()
            .recv_datagram(|| Ok(0), || self.sock.std()?.peek(buf))
    }

    /// Sends a datagram to `addr` (the first address it names).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `addr` names no address; as for
    /// [`send`](Self::send) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(a.send_to(b"abc", b.local_addr()?)?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(to) = resolve(&addr)?.into_iter().next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.sock
            .core()
            .io(Dir::Write, || self.sock.std()?.send_to(buf, to))
    }

    /// Receives one datagram and its sender, parking until one comes.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"abc", b.local_addr()?)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv_from(&mut buf)?, (3, a.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock
            .core()
            .recv_datagram(recv_from_shut_down, || self.sock.std()?.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram in the queue.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"abc", b.local_addr()?)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.peek_from(&mut buf)?, (3, a.local_addr()?));
    /// assert_eq!(b.recv_from(&mut buf)?, (3, a.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock
            .core()
            .recv_datagram(recv_from_shut_down, || self.sock.std()?.peek_from(buf))
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
    /// let s = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.local_addr()?.ip().is_loopback());
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
    /// let s = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.std()?.peer_addr()
    }
}

/// Generates a setter/getter pair forwarding to std's `UdpSocket`.
macro_rules! udp_option {
    ($set:ident, $get:ident, $ty:ty, $val:expr, $opt:literal) => {
        impl UdpSocket {
            #[doc = concat!("Sets `", $opt, "`.")]
            ///
            /// # Errors
            ///
            /// `NotConnected` if closed; `setsockopt`'s error.
            ///
            /// # Examples
            ///
            /// ```
            /// let s = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
            #[doc = concat!("s.", stringify!($set), "(", stringify!($val), ")?;")]
            #[doc = concat!("assert_eq!(s.", stringify!($get), "()?, ", stringify!($val), ");")]
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn $set(&self, v: $ty) -> io::Result<()> {
                self.sock.std()?.$set(v)
            }

            #[doc = concat!("`", $opt, "`.")]
            ///
            /// # Errors
            ///
            /// `NotConnected` if closed; `getsockopt`'s error.
            ///
            /// # Examples
            ///
            /// ```
            /// let s = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
            #[doc = concat!("let _ = s.", stringify!($get), "()?;")]
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn $get(&self) -> io::Result<$ty> {
                self.sock.std()?.$get()
            }
        }
    };
}

udp_option!(set_broadcast, broadcast, bool, true, "SO_BROADCAST");
udp_option!(set_ttl, ttl, u32, 42, "IP_TTL");
udp_option!(
    set_multicast_loop_v4,
    multicast_loop_v4,
    bool,
    false,
    "IP_MULTICAST_LOOP"
);
udp_option!(
    set_multicast_ttl_v4,
    multicast_ttl_v4,
    u32,
    8,
    "IP_MULTICAST_TTL"
);

impl UdpSocket {
    /// Joins an IPv4 multicast group on the interface with address
    /// `interface` (`UNSPECIFIED` lets the kernel choose)
    /// (`IP_ADD_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error (e.g. for an address
    /// that is not multicast).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = gevent::net::UdpSocket::bind("0.0.0.0:0")?;
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// if s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
    ///     s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    /// }
    /// assert!(s.join_multicast_v4(&Ipv4Addr::LOCALHOST, &Ipv4Addr::UNSPECIFIED).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.std()?.join_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group (`IP_DROP_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error (e.g. not a member).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = gevent::net::UdpSocket::bind("0.0.0.0:0")?;
    /// assert!(s.leave_multicast_v4(&Ipv4Addr::new(239, 255, 0, 2), &Ipv4Addr::UNSPECIFIED).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.std()?.leave_multicast_v4(multiaddr, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`
    /// (0: any) (`IPV6_ADD_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = gevent::net::UdpSocket::bind("[::1]:0") {
    ///     assert!(s.join_multicast_v6(&Ipv6Addr::LOCALHOST, 0).is_err()); // not multicast
    /// }
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.std()?.join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group (`IPV6_DROP_MEMBERSHIP`).
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = gevent::net::UdpSocket::bind("[::1]:0") {
    ///     let group: Ipv6Addr = "ff02::1234".parse().unwrap();
    ///     assert!(s.leave_multicast_v6(&group, 0).is_err()); // not a member
    /// }
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.std()?.leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `setsockopt`'s error (an IPv4 socket).
    ///
    /// # Examples
    ///
    /// ```
    /// if let Ok(s) = gevent::net::UdpSocket::bind("[::1]:0") {
    ///     s.set_multicast_loop_v6(false)?;
    ///     assert!(!s.multicast_loop_v6()?);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.sock.std()?.set_multicast_loop_v6(on)
    }

    /// `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if closed; `getsockopt`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Ok(s) = gevent::net::UdpSocket::bind("[::1]:0") {
    ///     assert!(s.multicast_loop_v6()?);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.sock.std()?.multicast_loop_v6()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(a) = self.local_addr() {
            d.field("addr", &a);
        }
        let (r, w) = self.sock.core().waiting();
        d.field("fd", &self.sock.core().fd())
            .field("closed", &self.sock.core().is_closed())
            .field("receiving", &r)
            .field("sending", &w)
            .finish()
    }
}
