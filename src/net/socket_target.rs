//! [`SocketTarget`]: what a [`ToSocketAddrs`](super::ToSocketAddrs) value names.

use std::net::SocketAddr;

/// What an address argument names: literal socket addresses, or a host
/// name and port that still have to be resolved (by
/// [`resolve`](super::resolve)).
///
/// # Examples
///
/// ```
/// use gevent::net::{SocketTarget, ToSocketAddrs};
/// assert_eq!(
///     "127.0.0.1:80".to_socket_target()?,
///     SocketTarget::Addrs(vec!["127.0.0.1:80".parse().unwrap()])
/// );
/// assert_eq!(
///     ("localhost", 80).to_socket_target()?,
///     SocketTarget::Host("localhost".to_string(), 80)
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketTarget {
    /// Literal addresses: nothing to resolve, never blocks.
    Addrs(Vec<SocketAddr>),
    /// A host name (not a literal IP address) and a port.
    Host(String, u16),
}
