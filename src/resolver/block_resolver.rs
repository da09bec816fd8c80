//! [`BlockResolver`]: libc's resolver called right on the hub's thread.

use std::io;
use std::net::SocketAddr;

use super::{AddrInfo, GaiArgs, Hints, NiFlags, Resolve, Service, numeric, sys};

/// libc's resolver (`getaddrinfo`, `getnameinfo`) called directly on the
/// calling thread: while a lookup waits for a name server, **every**
/// greenlet of the hub waits (gevent's `gevent.resolver.blocking`). For
/// comparison and for programs that resolve only at start-up; it works
/// without a hub, and also inside hub callbacks.
///
/// Select it with `GEVENT_RESOLVER=block` or
/// [`set_resolver(ResolverKind::Block)`](super::set_resolver).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{BlockResolver, Resolve};
/// let r = BlockResolver::new();
/// let addrs = r.resolve("localhost", 8080)?;
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockResolver {
    _private: (),
}

impl BlockResolver {
    /// The blocking resolver.
    ///
    /// ```
    /// let _r = gevent::resolver::BlockResolver::new();
    /// ```
    pub fn new() -> BlockResolver {
        BlockResolver::default()
    }
}

impl Resolve for BlockResolver {
    fn getaddrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
    ) -> io::Result<Vec<AddrInfo>> {
        if let Some(r) = numeric::getaddrinfo(host, service, hints) {
            return r;
        }
        GaiArgs::new(host, service, hints)?.call()
    }

    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
        if let Some(r) = numeric::getnameinfo(&addr, flags) {
            return r;
        }
        sys::getnameinfo(&addr, flags)
    }
}
