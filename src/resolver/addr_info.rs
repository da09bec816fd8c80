//! [`AddrInfo`]: one result of a [`getaddrinfo`](super::getaddrinfo) lookup.

use std::net::SocketAddr;

use super::{Family, SockType};

/// One address found by [`getaddrinfo`](super::getaddrinfo): what you need
/// to create a socket and connect or bind it (Python's 5-tuple
/// `(family, type, proto, canonname, sockaddr)`).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{getaddrinfo, Family, Hints, SockType};
/// let all = getaddrinfo("127.0.0.1", 80, &Hints::stream())?;
/// assert_eq!(all[0].family, Family::V4);
/// assert_eq!(all[0].socktype, SockType::Stream);
/// assert_eq!(all[0].protocol, libc::IPPROTO_TCP);
/// assert_eq!(all[0].addr, "127.0.0.1:80".parse().unwrap());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddrInfo {
    /// [`Family::V4`] or [`Family::V6`].
    pub family: Family,
    /// The socket type the address is for.
    pub socktype: SockType,
    /// The protocol (`libc::IPPROTO_TCP`, `IPPROTO_UDP`, or 0).
    pub protocol: i32,
    /// The canonical name of the host: only on the first result, and only
    /// when [`AiFlags::CANONNAME`](super::AiFlags::CANONNAME) was asked for.
    pub canonname: Option<String>,
    /// The address and port.
    pub addr: SocketAddr,
}
