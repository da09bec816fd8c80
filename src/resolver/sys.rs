//! Safe wrappers around libc's resolver: `getaddrinfo`/`freeaddrinfo`,
//! `getnameinfo` and `gai_strerror`, with owned results and errors mapped
//! to `io::Error`.
//!
//! These calls block (they may read files and query name servers), so the
//! resolvers run them either on a worker thread (`ThreadResolver`) or right
//! here on the hub (`BlockResolver`, and the numeric fast path, which never
//! asks a name server). Everything here is thread-safe in glibc and musl.
//!
//! Error kinds (the message is always `failed to resolve 'NAME': TEXT`,
//! TEXT from `gai_strerror`):
//!
//! | code | kind |
//! | --- | --- |
//! | `EAI_NONAME`, `EAI_NODATA`, `EAI_ADDRFAMILY` | `NotFound` |
//! | `EAI_AGAIN` (temporary failure, e.g. no name server answered) | `TimedOut` |
//! | `EAI_SERVICE`, `EAI_SOCKTYPE`, `EAI_FAMILY`, `EAI_BADFLAGS` | `InvalidInput` |
//! | `EAI_MEMORY` | `OutOfMemory` |
//! | `EAI_SYSTEM` | the kind of `errno` |
//! | anything else (`EAI_FAIL`, ...) | `Other` |

use std::ffi::{CStr, CString, c_char, c_int};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

#[cfg(test)]
use super::GaiArgs;
use super::{AddrInfo, Family, Hints, NiFlags, Service, SockType};

// Platform constants libc does not export everywhere: chosen once, here.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const EAI_ADDRFAMILY: Option<c_int> = Some(-9);
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const EAI_ADDRFAMILY: Option<c_int> = None;
/// `NI_MAXHOST` (1025 in glibc; musl uses 255, a bigger buffer is harmless).
const NI_MAXHOST: usize = 1025;
/// `NI_MAXSERV`.
const NI_MAXSERV: usize = 32;

/// The text for a `getaddrinfo`/`getnameinfo` error code.
pub(crate) fn gai_strerror(code: c_int) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated
    // string for any code (glibc: "Unknown error" for unknown ones).
    let p = unsafe { libc::gai_strerror(code) };
    if p.is_null() {
        return format!("unknown resolver error {code}");
    }
    // SAFETY: non-null, NUL-terminated, static.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The `io::ErrorKind` for a `getaddrinfo`/`getnameinfo` error code.
pub(crate) fn gai_kind(code: c_int) -> io::ErrorKind {
    match code {
        libc::EAI_NONAME | libc::EAI_NODATA => io::ErrorKind::NotFound,
        c if Some(c) == EAI_ADDRFAMILY => io::ErrorKind::NotFound,
        libc::EAI_AGAIN => io::ErrorKind::TimedOut,
        libc::EAI_SERVICE | libc::EAI_SOCKTYPE | libc::EAI_FAMILY | libc::EAI_BADFLAGS => {
            io::ErrorKind::InvalidInput
        }
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        _ => io::ErrorKind::Other,
    }
}

/// The error for a failed lookup of `subject` (already quoted), for code
/// `code`; `errno` is read for `EAI_SYSTEM`, so call this right after the
/// failing call.
pub(crate) fn gai_error(code: c_int, subject: &str) -> io::Error {
    if code == libc::EAI_SYSTEM {
        let os = io::Error::last_os_error();
        return io::Error::new(os.kind(), format!("failed to resolve {subject}: {os}"));
    }
    lookup_error(gai_kind(code), subject, &gai_strerror(code))
}

/// A lookup error with the crate's message format.
pub(crate) fn lookup_error(kind: io::ErrorKind, subject: &str, text: &str) -> io::Error {
    io::Error::new(kind, format!("failed to resolve {subject}: {text}"))
}

/// `'host'` or `'host' (service 'name')`, for messages.
pub(crate) fn subject(host: &str, service: Service<'_>) -> String {
    match service {
        Service::Name(s) if service.port().is_none() => format!("'{host}' (service '{s}')"),
        _ => format!("'{host}'"),
    }
}

/// `s` as a C string; `InvalidInput` if it contains a NUL byte.
pub(crate) fn c_string(s: &str, what: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the {what} {s:?} contains a NUL byte"),
        )
    })
}

/// Frees a `getaddrinfo` result list on drop.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from a successful getaddrinfo and is
            // freed exactly once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

fn opt_ptr(s: Option<&CStr>) -> *const c_char {
    s.map_or(std::ptr::null(), CStr::as_ptr)
}

/// `getaddrinfo(host, service, hints)`, results owned. Blocks.
pub(crate) fn getaddrinfo(
    host: Option<&CStr>,
    service: Option<&CStr>,
    hints: &Hints,
    subject: &str,
) -> io::Result<Vec<AddrInfo>> {
    // SAFETY: all-zero is a valid addrinfo (null pointers, zero fields).
    let mut c_hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    c_hints.ai_family = hints.family.as_raw();
    c_hints.ai_socktype = hints.socktype.as_raw();
    c_hints.ai_protocol = hints.protocol;
    c_hints.ai_flags = hints.flags.bits();
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: host/service are NUL-terminated or null, hints is a valid
    // addrinfo with null pointers, res is a valid out-pointer.
    let rc = unsafe { libc::getaddrinfo(opt_ptr(host), opt_ptr(service), &c_hints, &mut res) };
    if rc != 0 {
        return Err(gai_error(rc, subject));
    }
    let list = AddrInfoList(res);
    let mut out = Vec::new();
    let mut p = list.0;
    while !p.is_null() {
        // SAFETY: p is a node of the list getaddrinfo returned, alive until
        // `list` drops.
        let ai = unsafe { &*p };
        p = ai.ai_next;
        // SAFETY: ai_addr points at ai_addrlen bytes of a sockaddr of
        // family ai_family (or is null).
        let Some(addr) = (unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen as usize) }) else {
            continue;
        };
        let canonname = if ai.ai_canonname.is_null() {
            None
        } else {
            // SAFETY: a non-null ai_canonname is a NUL-terminated string
            // owned by the list.
            Some(
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        out.push(AddrInfo {
            family: Family::of(addr.ip()),
            socktype: SockType::from_raw(ai.ai_socktype),
            protocol: ai.ai_protocol,
            canonname,
            addr,
        });
    }
    Ok(out)
}

/// Converts a C socket address of `len` bytes; `None` for null pointers,
/// short lengths and families other than IPv4/IPv6.
///
/// # Safety
///
/// `sa` is null or points at `len` readable bytes.
unsafe fn sockaddr_to_std(sa: *const libc::sockaddr, len: usize) -> Option<SocketAddr> {
    if sa.is_null() || len < std::mem::size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: at least the family field is readable (checked above).
    let family = c_int::from(unsafe { (*sa).sa_family });
    match family {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family and the length say it is a sockaddr_in;
            // read_unaligned because the C buffer may not be aligned for it.
            let sin = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A C socket address for `addr`, and its length.
fn std_to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // sockaddr type.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: as above.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// `getnameinfo(addr, flags)`: the host name and service name of a socket
/// address. Blocks (unless `flags` has both numeric flags).
pub(crate) fn getnameinfo(addr: &SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
    let (storage, len) = std_to_sockaddr(addr);
    let mut host = [0 as c_char; NI_MAXHOST];
    let mut serv = [0 as c_char; NI_MAXSERV];
    // SAFETY: storage holds a valid sockaddr of `len` bytes; the buffers
    // are writable with the lengths given; getnameinfo NUL-terminates them.
    let rc = unsafe {
        libc::getnameinfo(
            (&raw const storage).cast::<libc::sockaddr>(),
            len,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            serv.as_mut_ptr(),
            serv.len() as libc::socklen_t,
            flags.bits(),
        )
    };
    if rc != 0 {
        return Err(gai_error(rc, &format!("the address {addr}")));
    }
    // SAFETY: getnameinfo succeeded, so both buffers hold NUL-terminated strings.
    let h = unsafe { CStr::from_ptr(host.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: as above.
    let s = unsafe { CStr::from_ptr(serv.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok((h, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_and_messages() {
        let e = gai_error(libc::EAI_NONAME, "'nowhere.invalid'");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            format!(
                "failed to resolve 'nowhere.invalid': {}",
                gai_strerror(libc::EAI_NONAME)
            )
        );
        assert_eq!(gai_kind(libc::EAI_NODATA), io::ErrorKind::NotFound);
        assert_eq!(gai_kind(libc::EAI_AGAIN), io::ErrorKind::TimedOut);
        assert_eq!(gai_kind(libc::EAI_SERVICE), io::ErrorKind::InvalidInput);
        assert_eq!(gai_kind(libc::EAI_FAIL), io::ErrorKind::Other);
        assert_eq!(gai_kind(libc::EAI_MEMORY), io::ErrorKind::OutOfMemory);
    }

    #[test]
    fn nul_is_invalid_input() {
        let e = GaiArgs::new("a\0b", Service::None, &Hints::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = GaiArgs::new("a", Service::Name("h\0"), &Hints::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn sockaddr_round_trip() {
        for a in ["127.0.0.1:80", "[::1]:443", "[fe80::1%3]:22"] {
            let a: SocketAddr = a.parse().unwrap();
            let (st, len) = std_to_sockaddr(&a);
            // SAFETY: st holds len bytes of a valid sockaddr.
            let b = unsafe { sockaddr_to_std((&raw const st).cast(), len as usize) };
            assert_eq!(b, Some(a));
        }
    }

    #[test]
    fn numeric_lookup() {
        let mut args = GaiArgs::new("127.0.0.1", Service::Port(80), &Hints::stream()).unwrap();
        args.add_flags(super::super::AiFlags::NUMERICHOST);
        let r = args.call().unwrap();
        assert_eq!(r[0].addr, "127.0.0.1:80".parse().unwrap());
        let (h, s) = getnameinfo(
            &"127.0.0.1:80".parse().unwrap(),
            NiFlags::NUMERICHOST | NiFlags::NUMERICSERV,
        )
        .unwrap();
        assert_eq!((h.as_str(), s.as_str()), ("127.0.0.1", "80"));
    }
}
