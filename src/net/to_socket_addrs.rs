//! [`ToSocketAddrs`]: the address argument of `bind`, `connect` and `send_to`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::SocketTarget;

/// Values that name socket addresses, as with std's
/// [`std::net::ToSocketAddrs`] and implemented for the same types: socket
/// addresses, `(ip, port)`, `"host:port"`, `(host, port)` and slices of
/// socket addresses.
///
/// Unlike std's trait it does not resolve anything itself: it tells
/// literal addresses apart from host names
/// ([`to_socket_target`](ToSocketAddrs::to_socket_target)), and
/// [`resolve`](super::resolve) looks names up. Literal addresses never
/// block.
///
/// # Examples
///
/// ```
/// use gevent::net::{SocketTarget, ToSocketAddrs};
/// use std::net::{Ipv4Addr, SocketAddr};
/// let a: SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// let lit = SocketTarget::Addrs(vec![a]);
/// assert_eq!(a.to_socket_target()?, lit);
/// assert_eq!((Ipv4Addr::LOCALHOST, 8080).to_socket_target()?, lit);
/// assert_eq!(("127.0.0.1", 8080).to_socket_target()?, lit);
/// assert_eq!("127.0.0.1:8080".to_string().to_socket_target()?, lit);
/// assert_eq!("example.invalid:1".to_socket_target()?, SocketTarget::Host("example.invalid".into(), 1));
/// assert!("no port".to_socket_target().is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs {
    /// Says what this value names.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a string that is neither a socket address nor
    /// `host:port` with a valid port.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::net::{SocketTarget, ToSocketAddrs};
    /// assert_eq!(
    ///     ("localhost", 80).to_socket_target()?,
    ///     SocketTarget::Host("localhost".into(), 80)
    /// );
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn to_socket_target(&self) -> io::Result<SocketTarget>;
}

fn one(a: SocketAddr) -> io::Result<SocketTarget> {
    Ok(SocketTarget::Addrs(vec![a]))
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(SocketAddr::V4(*self))
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(SocketAddr::V6(*self))
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(SocketAddr::new(self.0, self.1))
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(SocketAddr::new(IpAddr::V4(self.0), self.1))
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        one(SocketAddr::new(IpAddr::V6(self.0), self.1))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => one(SocketAddr::new(ip, port)),
            Err(_) if host.is_empty() => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty host name",
            )),
            Err(_) => Ok(SocketTarget::Host(host.to_string(), port)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        (self.0.as_str(), self.1).to_socket_target()
    }
}

impl ToSocketAddrs for str {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return one(a);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {self:?}: expected host:port"),
            ));
        };
        let Ok(port) = port.parse::<u16>() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid port value in {self:?}"),
            ));
        };
        (host, port).to_socket_target()
    }
}

impl ToSocketAddrs for String {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        self.as_str().to_socket_target()
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        Ok(SocketTarget::Addrs(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        Ok(SocketTarget::Addrs(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_target(&self) -> io::Result<SocketTarget> {
        (**self).to_socket_target()
    }
}
