//! [`resolve`]: the one place where socket address arguments are resolved.

use std::io;
use std::net::SocketAddr;

use super::{SocketTarget, ToSocketAddrs};

/// Resolves an address argument to socket addresses: the step every
/// `bind`, `connect` and `send_to` of this module goes through.
///
/// Literal addresses are returned as they are and never block. A host
/// name is looked up with the thread's resolver
/// ([`gevent::resolver::resolve`](crate::resolver::resolve): by default
/// libc's `getaddrinfo` on the hub's thread pool), so only the calling
/// greenlet waits.
///
/// # Errors
///
/// `InvalidInput` for a malformed address; the resolver's error for a name
/// that does not resolve. An empty result is not an error here (`connect`
/// and `bind` report it).
///
/// # Examples
///
/// ```
/// let addrs = gevent::net::resolve(&("127.0.0.1", 80))?;
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// let local = gevent::net::resolve("localhost:80")?; // from /etc/hosts
/// assert!(local.iter().all(|a| a.ip().is_loopback()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    match addr.to_socket_target()? {
        SocketTarget::Addrs(v) => Ok(v),
        SocketTarget::Host(host, port) => crate::resolver::resolve(&host, port),
    }
}

/// Runs `f` on each address of `addr` until one succeeds, std's rule for
/// `bind` and `connect`: the last error if all fail.
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, T>(
    addr: &A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match f(&a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
