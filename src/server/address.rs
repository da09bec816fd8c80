//! [`Address`]: where a server listens or a peer connects from.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A socket address of a stream or datagram server: an internet address
/// (TCP, UDP) or a Unix-domain one.
///
/// Unix peers usually connect from an unnamed socket (`Unix(None)`);
/// abstract-namespace addresses are also shown as `Unix(None)`.
///
/// # Examples
///
/// ```
/// use gevent::server::Address;
/// let a = Address::from("127.0.0.1:80".parse::<std::net::SocketAddr>().unwrap());
/// assert_eq!(a.to_string(), "127.0.0.1:80");
/// assert_eq!(a.as_inet().map(|a| a.port()), Some(80));
/// assert_eq!(Address::Unix(None).to_string(), "(unnamed unix socket)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix-domain socket: its path, or `None` if unnamed or abstract.
    Unix(Option<PathBuf>),
}

impl Address {
    /// The internet address, if this is one.
    ///
    /// ```
    /// use gevent::server::Address;
    /// assert!(Address::Unix(None).as_inet().is_none());
    /// ```
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            Address::Inet(a) => Some(*a),
            Address::Unix(_) => None,
        }
    }

    /// Converts from socket2's address (what `accept`/`recvfrom` fill in).
    pub(crate) fn from_sockaddr(a: &socket2::SockAddr) -> Address {
        match a.as_socket() {
            Some(a) => Address::Inet(a),
            None => Address::Unix(a.as_pathname().map(|p| p.to_path_buf())),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Address {
        Address::Inet(a)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(a) => write!(f, "{a}"),
            Address::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            Address::Unix(None) => f.write_str("(unnamed unix socket)"),
        }
    }
}
