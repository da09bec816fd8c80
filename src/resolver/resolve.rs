//! [`Resolve`]: the lookups every resolver offers.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{AddrInfo, AiFlags, Family, Hints, NiFlags, Service, numeric};

/// The lookups every resolver offers (gevent's resolver interface). The
/// free functions of [`gevent::resolver`](super) call these on the thread's
/// current resolver; call them on a resolver object to use that one.
///
/// Literal IP addresses are answered by every implementation without a
/// resolver (no thread-pool job, no DNS query, no switch).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{BlockResolver, Resolve};
/// let r = BlockResolver::new();
/// assert_eq!(r.gethostbyname("localhost")?, std::net::Ipv4Addr::LOCALHOST);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Resolve {
    /// Looks up `host` and `service` (C's `getaddrinfo`; see
    /// [`getaddrinfo`](super::getaddrinfo)).
    ///
    /// # Errors
    ///
    /// `NotFound` for unknown names, `InvalidInput` for bad arguments (a
    /// NUL byte, an unknown service), `TimedOut` when the name servers do
    /// not answer; see the [module docs](super#errors).
    fn getaddrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
    ) -> io::Result<Vec<AddrInfo>>;

    /// The host and service names of a socket address (C's `getnameinfo`).
    ///
    /// # Errors
    ///
    /// `NotFound` if [`NiFlags::NAMEREQD`] is set and the address has no
    /// name; as for [`getaddrinfo`](Resolve::getaddrinfo) otherwise.
    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)>;

    /// The name of an address: `(name, aliases, addresses)` like Python's
    /// `gethostbyaddr`. The default asks
    /// [`getnameinfo`](Resolve::getnameinfo) with [`NiFlags::NAMEREQD`] (a
    /// reverse lookup: the hosts file, then a PTR query) and has no aliases.
    ///
    /// # Errors
    ///
    /// `NotFound` if the address has no name.
    fn gethostbyaddr(&self, ip: IpAddr) -> io::Result<(String, Vec<String>, Vec<IpAddr>)> {
        let (name, _) = self.getnameinfo(SocketAddr::new(ip, 0), NiFlags::NAMEREQD)?;
        Ok((name, Vec::new(), vec![ip]))
    }

    /// The canonical name, aliases and IPv4 addresses of `name`, like
    /// Python's `gethostbyname_ex`. The default uses
    /// [`getaddrinfo`](Resolve::getaddrinfo) with [`AiFlags::CANONNAME`],
    /// which reports no aliases.
    ///
    /// # Errors
    ///
    /// As for [`getaddrinfo`](Resolve::getaddrinfo); `InvalidInput` for an
    /// empty name.
    fn gethostbyname_ex(&self, name: &str) -> io::Result<(String, Vec<String>, Vec<Ipv4Addr>)> {
        check_name(name)?;
        if let Some(ip) = numeric::gethostbyname(name) {
            return Ok((name.to_string(), Vec::new(), vec![ip]));
        }
        let hints = Hints {
            family: Family::V4,
            flags: AiFlags::CANONNAME,
            ..Hints::default()
        };
        let all = self.getaddrinfo(name, Service::None, &hints)?;
        let canon = all
            .iter()
            .find_map(|a| a.canonname.clone())
            .unwrap_or_else(|| name.to_string());
        Ok((canon, Vec::new(), ipv4s(all.iter().map(|a| a.addr.ip()))))
    }

    /// The first IPv4 address of `name`, like Python's `gethostbyname`
    /// (a dotted-quad literal is returned as it is).
    ///
    /// # Errors
    ///
    /// As for [`getaddrinfo`](Resolve::getaddrinfo); `InvalidInput` for an
    /// empty name.
    fn gethostbyname(&self, name: &str) -> io::Result<Ipv4Addr> {
        check_name(name)?;
        if let Some(ip) = numeric::gethostbyname(name) {
            return Ok(ip);
        }
        let hints = Hints {
            family: Family::V4,
            ..Hints::default()
        };
        let all = self.getaddrinfo(name, Service::None, &hints)?;
        ipv4s(all.iter().map(|a| a.addr.ip()))
            .into_iter()
            .next()
            .ok_or_else(|| {
                super::sys::lookup_error(
                    io::ErrorKind::NotFound,
                    &format!("'{name}'"),
                    "no IPv4 address",
                )
            })
    }

    /// The addresses to connect to `host` at `port` over TCP, in the
    /// resolver's order, without duplicates: what connect-by-hostname uses.
    ///
    /// # Errors
    ///
    /// As for [`getaddrinfo`](Resolve::getaddrinfo); `InvalidInput` for an
    /// empty host name.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        check_name(host)?;
        let all = self.getaddrinfo(host, Service::Port(port), &Hints::stream())?;
        let mut out: Vec<SocketAddr> = Vec::with_capacity(all.len());
        for a in all {
            if !out.contains(&a.addr) {
                out.push(a.addr);
            }
        }
        Ok(out)
    }
}

/// The IPv4 addresses among `ips`, in order, without duplicates.
pub(crate) fn ipv4s<I: IntoIterator<Item = IpAddr>>(ips: I) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for ip in ips {
        if let IpAddr::V4(ip) = ip {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// `InvalidInput` for an empty host name.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot resolve an empty host name",
        ));
    }
    Ok(())
}
