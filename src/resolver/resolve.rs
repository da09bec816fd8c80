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
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, Hints, Resolve, Service};
    /// let r = BlockResolver::new();
    /// let found = r.getaddrinfo("127.0.0.1", Service::Port(80), &Hints::stream())?;
    /// assert_eq!(found[0].addr, "127.0.0.1:80".parse().unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, NiFlags, Resolve};
    /// let r = BlockResolver::new();
    /// let addr = "127.0.0.1:8080".parse().unwrap();
    /// let (host, port) = r.getnameinfo(addr, NiFlags::NUMERICHOST | NiFlags::NUMERICSERV)?;
    /// assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "8080"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)>;

    /// The name of an address: `(name, aliases, addresses)` like Python's
    /// `gethostbyaddr`. The default asks
    /// [`getnameinfo`](Resolve::getnameinfo) with [`NiFlags::NAMEREQD`] (a
    /// reverse lookup: the hosts file, then a PTR query) and has no aliases.
    ///
    /// # Errors
    ///
    /// `NotFound` if the address has no name.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, Resolve};
    /// use std::net::{IpAddr, Ipv4Addr};
    /// let r = BlockResolver::new();
    /// match r.gethostbyaddr(IpAddr::V4(Ipv4Addr::LOCALHOST)) {
    ///     Ok((name, _aliases, addrs)) => {
    ///         println!("127.0.0.1 is {name}");
    ///         assert_eq!(addrs, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    ///     }
    ///     // A system whose hosts file does not name it.
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
    /// }
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, Resolve};
    /// let r = BlockResolver::new();
    /// let (name, aliases, addrs) = r.gethostbyname_ex("127.0.0.1")?;
    /// assert_eq!(name, "127.0.0.1");
    /// assert!(aliases.is_empty());
    /// assert_eq!(addrs, [std::net::Ipv4Addr::LOCALHOST]);
    /// assert!(r.gethostbyname_ex("").is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, Resolve};
    /// let r = BlockResolver::new();
    /// assert_eq!(r.gethostbyname("10.1.2.3")?, std::net::Ipv4Addr::new(10, 1, 2, 3));
    /// assert_eq!(r.gethostbyname("localhost")?, std::net::Ipv4Addr::LOCALHOST);
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::{BlockResolver, Resolve};
    /// let r = BlockResolver::new();
    /// let addrs = r.resolve("127.0.0.1", 443)?;
    /// assert_eq!(addrs, ["127.0.0.1:443".parse().unwrap()]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
