//! The numeric fast path: lookups that need no resolver at all.
//!
//! A literal IP address, an empty host (C's NULL node) or
//! [`AiFlags::NUMERICHOST`] is answered right here, on the calling
//! greenlet, by every resolver: no thread-pool job, no DNS query, no
//! switch. The common case (a numeric address with a numeric port and
//! plain hints) is built in Rust, exactly as glibc builds it; the rest
//! calls libc with `AI_NUMERICHOST`, which never asks a name server.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{AddrInfo, AiFlags, Family, GaiArgs, Hints, NiFlags, Service, SockType, sys};

/// `getaddrinfo` without a resolver, if the arguments allow: `None` means
/// a resolver is needed.
pub(crate) fn getaddrinfo(
    host: &str,
    service: Service<'_>,
    hints: &Hints,
) -> Option<io::Result<Vec<AddrInfo>>> {
    if host.is_empty() {
        return Some(GaiArgs::new(host, service, hints).and_then(|a| a.call()));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if let Some(r) = build(host, ip, service, hints) {
            return Some(Ok(r));
        }
    } else if !hints.flags.contains(AiFlags::NUMERICHOST) && !host.contains(':') {
        // A name (an IPv6 literal with a zone like "fe80::1%lo" is numeric
        // for libc and never a DNS name).
        return None;
    }
    Some(GaiArgs::new(host, service, hints).and_then(|mut a| {
        a.add_flags(AiFlags::NUMERICHOST);
        a.call()
    }))
}

/// The results for a numeric `ip` when the hints are plain enough to build
/// them as glibc does; `None` otherwise.
fn build(host: &str, ip: IpAddr, service: Service<'_>, hints: &Hints) -> Option<Vec<AddrInfo>> {
    let simple_flags =
        AiFlags::CANONNAME | AiFlags::NUMERICHOST | AiFlags::NUMERICSERV | AiFlags::PASSIVE;
    if hints.protocol != 0
        || hints.flags.bits() & !simple_flags.bits() != 0
        || !hints.family.accepts(Family::of(ip))
    {
        return None;
    }
    let port = service.port()?;
    // glibc refuses a service for raw sockets asked for explicitly (but
    // returns one with the port when any type is asked for).
    let has_service = service != Service::None;
    let types: &[(SockType, i32)] = match hints.socktype {
        SockType::Any => &[
            (SockType::Stream, libc::IPPROTO_TCP),
            (SockType::Datagram, libc::IPPROTO_UDP),
            (SockType::Raw, 0),
        ],
        SockType::Stream => &[(SockType::Stream, libc::IPPROTO_TCP)],
        SockType::Datagram => &[(SockType::Datagram, libc::IPPROTO_UDP)],
        SockType::Raw if !has_service => &[(SockType::Raw, 0)],
        _ => return None,
    };
    let canon = hints.flags.contains(AiFlags::CANONNAME);
    Some(
        types
            .iter()
            .enumerate()
            .map(|(i, &(socktype, protocol))| AddrInfo {
                family: Family::of(ip),
                socktype,
                protocol,
                canonname: (canon && i == 0).then(|| host.to_string()),
                addr: SocketAddr::new(ip, port),
            })
            .collect(),
    )
}

/// `getnameinfo` without a resolver when `flags` asks for a numeric host
/// (the service part reads at most the local services database).
pub(crate) fn getnameinfo(
    addr: &SocketAddr,
    flags: NiFlags,
) -> Option<io::Result<(String, String)>> {
    if flags.contains(NiFlags::NUMERICHOST) && !flags.contains(NiFlags::NAMEREQD) {
        let scoped = matches!(addr, SocketAddr::V6(a) if a.scope_id() != 0);
        if flags.contains(NiFlags::NUMERICSERV) && !scoped {
            return Some(Ok((addr.ip().to_string(), addr.port().to_string())));
        }
        return Some(sys::getnameinfo(addr, flags));
    }
    None
}

/// `gethostbyname` of a dotted-quad literal.
pub(crate) fn gethostbyname(name: &str) -> Option<Ipv4Addr> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path builds exactly what glibc returns.
    #[test]
    fn same_as_libc() {
        let hosts = ["127.0.0.1", "::1", "10.1.2.3", "fe80::1"];
        let services = [
            Service::None,
            Service::Port(80),
            Service::Port(0),
            Service::Name("8080"),
        ];
        let families = [Family::Any, Family::V4, Family::V6];
        let types = [
            SockType::Any,
            SockType::Stream,
            SockType::Datagram,
            SockType::Raw,
        ];
        let flags = [
            AiFlags::empty(),
            AiFlags::CANONNAME,
            AiFlags::PASSIVE,
            AiFlags::NUMERICSERV,
        ];
        for host in hosts {
            for &service in &services {
                for family in families {
                    for socktype in types {
                        for f in flags {
                            let hints = Hints {
                                family,
                                socktype,
                                protocol: 0,
                                flags: f,
                            };
                            let fast = getaddrinfo(host, service, &hints).expect("numeric");
                            let mut args = GaiArgs::new(host, service, &hints).unwrap();
                            args.add_flags(AiFlags::NUMERICHOST);
                            let libc = args.call();
                            match (fast, libc) {
                                (Ok(a), Ok(b)) => assert_eq!(a, b, "{host} {service:?} {hints:?}"),
                                (Err(a), Err(b)) => {
                                    assert_eq!(a.kind(), b.kind());
                                    assert_eq!(a.to_string(), b.to_string());
                                }
                                (a, b) => panic!("{host} {service:?} {hints:?}: {a:?} vs {b:?}"),
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn getnameinfo_same_as_libc() {
        for a in [
            "127.0.0.1:80",
            "[::1]:443",
            "[::ffff:10.0.0.1]:1",
            "[fe80::1%1]:22",
            "0.0.0.0:0",
        ] {
            let a: SocketAddr = a.parse().unwrap();
            let f = NiFlags::NUMERICHOST | NiFlags::NUMERICSERV;
            let fast = getnameinfo(&a, f).unwrap().unwrap();
            assert_eq!(fast, sys::getnameinfo(&a, f).unwrap(), "{a}");
        }
    }

    #[test]
    fn names_need_a_resolver() {
        assert!(getaddrinfo("localhost", Service::Port(1), &Hints::default()).is_none());
        let e = getaddrinfo(
            "localhost",
            Service::None,
            &Hints::default().flags(AiFlags::NUMERICHOST),
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(
            e.to_string().starts_with("failed to resolve 'localhost': "),
            "{e}"
        );
    }
}
