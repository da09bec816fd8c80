//! Cooperative name resolution (gevent's socket functions and resolvers):
//! [`getaddrinfo`], [`gethostbyname`], [`gethostbyname_ex`],
//! [`gethostbyaddr`], [`getnameinfo`], and [`resolve`] (what connecting by
//! host name uses). A lookup parks only the calling greenlet.
//!
//! # Resolvers
//!
//! | kind | how | blocks |
//! | --- | --- | --- |
//! | [`thread`](ThreadResolver) (default) | libc's `getaddrinfo` on the hub's thread pool | the calling greenlet |
//! | `ares` (`AresResolver`, cargo feature `ares`) | c-ares, its sockets and timers on the hub's loop, no extra threads | the calling greenlet |
//! | [`block`](BlockResolver) | libc's `getaddrinfo` on the hub's thread | every greenlet of the hub |
//!
//! Each thread (hub) has a current resolver, chosen the first time it is
//! needed from `GEVENT_RESOLVER=thread|ares|block` (read once per thread;
//! an invalid value makes every lookup fail with an error naming it), or
//! in code with [`set_resolver`] or [`Resolver::install`]. Every resolver
//! also implements [`Resolve`], so you can call one directly.
//!
//! The ares resolver is behind the `ares` cargo feature, off by default,
//! because building the bundled c-ares needs cmake (`apt-get install
//! cmake`). Without the feature, `GEVENT_RESOLVER=ares` or
//! `set_resolver(ResolverKind::Ares)` fails with an error saying so.
//!
//! Literal IP addresses (`"127.0.0.1"`, `"::1"`) never reach a resolver:
//! they are parsed and answered on the spot, without a thread-pool job, a
//! DNS query or a greenlet switch. So are lookups with no host and with
//! [`AiFlags::NUMERICHOST`].
//!
//! # Errors
//!
//! Lookups return `io::Error`s whose message reads
//! `failed to resolve 'NAME': REASON` (REASON from `gai_strerror` or
//! c-ares), with a kind you can match on:
//!
//! * `NotFound`: the name does not exist or has no address of the family
//!   asked for (`EAI_NONAME`, `EAI_NODATA`, NXDOMAIN);
//! * `TimedOut`: no name server answered in time (`EAI_AGAIN`, c-ares
//!   timeouts);
//! * `InvalidInput`: bad arguments: a NUL byte or an empty name, an unknown
//!   service name (`EAI_SERVICE`), bad flags;
//! * `Unsupported`: the ares resolver asked for in a build without it;
//! * `WouldBlock`: a lookup that must wait, called from the hub itself (a
//!   watcher callback); run it in a greenlet instead.
//!
//! # Example
//!
//! The article's first example: resolve several names at once.
//!
//! ```
//! use gevent::resolver::gethostbyname;
//! use std::time::Duration;
//!
//! let names = ["localhost", "127.0.0.1", "localhost"];
//! let jobs: Vec<_> = names.iter().map(|&n| gevent::spawn(move || gethostbyname(n))).collect();
//! gevent::joinall(&jobs, Some(Duration::from_secs(2)))?;
//! for (name, job) in names.iter().zip(&jobs) {
//!     let ip = job.take()??;
//!     println!("{name} -> {ip}");
//!     assert_eq!(ip, std::net::Ipv4Addr::LOCALHOST);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod addr_info;
mod ai_flags;
#[cfg(feature = "ares")]
mod ares_options;
#[cfg(feature = "ares")]
mod ares_resolver;
mod block_resolver;
mod family;
mod gai_args;
mod hints;
mod ni_flags;
mod numeric;
mod resolve;
#[allow(clippy::module_inception)]
mod resolver;
mod resolver_kind;
mod service;
mod sock_type;
mod sys;
mod thread_resolver;

pub use addr_info::AddrInfo;
pub use ai_flags::AiFlags;
#[cfg(feature = "ares")]
pub use ares_options::AresOptions;
#[cfg(feature = "ares")]
pub use ares_resolver::AresResolver;
pub use block_resolver::BlockResolver;
pub use family::Family;
pub use hints::Hints;
pub use ni_flags::NiFlags;
pub use resolve::Resolve;
pub use resolver::Resolver;
pub use resolver_kind::{RESOLVER_ENV, ResolverKind};
pub use service::Service;
pub use sock_type::SockType;
pub use thread_resolver::ThreadResolver;

use gai_args::GaiArgs;

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The thread's resolver, or the error creating it from the environment.
type Current = Result<Resolver, (io::ErrorKind, String)>;

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// The calling thread's resolver: the one installed with [`set_resolver`]
/// or [`Resolver::install`], else the one `GEVENT_RESOLVER` names (read the
/// first time, then kept for the thread's life).
///
/// # Errors
///
/// `InvalidInput` if `GEVENT_RESOLVER` is not `thread`, `ares` or `block`;
/// `Unsupported` if it says `ares` in a build without the `ares` feature
/// (every later call returns the same error until a resolver is set).
///
/// # Examples
///
/// ```
/// let r = gevent::resolver::get_resolver()?;
/// println!("this thread resolves with {r:?}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn get_resolver() -> io::Result<Resolver> {
    CURRENT.with(|c| {
        if let Some(cur) = &*c.borrow() {
            return cur.clone().map_err(|(k, m)| io::Error::new(k, m));
        }
        // Created outside the borrow: an ares resolver creates the hub.
        let made: Current = Resolver::from_env().map_err(|e| (e.kind(), e.to_string()));
        let mut slot = c.borrow_mut();
        let cur = slot.get_or_insert(made);
        cur.clone().map_err(|(k, m)| io::Error::new(k, m))
    })
}

/// Makes a new resolver of `kind` the calling thread's resolver.
///
/// # Errors
///
/// `Unsupported` for [`ResolverKind::Ares`] in a build without the `ares`
/// cargo feature, with a message saying how to enable it; the c-ares
/// channel's creation error. The current resolver stays on error.
///
/// # Examples
///
/// ```
/// use gevent::resolver::{set_resolver, get_resolver, ResolverKind};
/// std::thread::spawn(|| {
///     set_resolver(ResolverKind::Block)?;
///     assert_eq!(get_resolver()?.kind(), ResolverKind::Block);
///     assert_eq!(set_resolver(ResolverKind::Ares).is_ok(), cfg!(feature = "ares"));
///     Ok::<(), std::io::Error>(())
/// }).join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_resolver(kind: ResolverKind) -> io::Result<()> {
    install(Resolver::new(kind)?);
    Ok(())
}

fn install(r: Resolver) {
    // Replace outside the borrow: dropping an ares resolver touches the loop.
    let old = CURRENT.with(|c| c.borrow_mut().replace(Ok(r)));
    drop(old);
}

/// Looks up `host` and `service` with the thread's resolver (C's and
/// Python's `getaddrinfo`): the addresses to create sockets for, in the
/// order to try them.
///
/// * `host`: a name or a literal address; `""` means none (C's NULL): the
///   wildcard address with [`AiFlags::PASSIVE`], loopback without.
/// * `service`: a port (`80`), a service name (`"http"`), or
///   `None::<u16>`.
/// * `hints`: family, socket type, protocol and flags wanted;
///   `&Hints::default()` for everything.
///
/// # Errors
///
/// See the [module docs](self#errors); `InvalidInput` when both `host` and
/// `service` are empty.
///
/// # Examples
///
/// ```
/// use gevent::resolver::{getaddrinfo, Family, Hints, SockType};
/// let tcp = getaddrinfo("localhost", 80, &Hints::stream())?;
/// assert!(tcp.iter().all(|a| a.addr.ip().is_loopback() && a.socktype == SockType::Stream));
/// let v4 = getaddrinfo("127.0.0.1", None::<u16>, &Hints::default().family(Family::V4))?;
/// assert_eq!(v4.len(), 3); // stream, datagram, raw, as libc does
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn getaddrinfo<'a, S: Into<Service<'a>>>(
    host: &str,
    service: S,
    hints: &Hints,
) -> io::Result<Vec<AddrInfo>> {
    get_resolver()?.getaddrinfo(host, service.into(), hints)
}

/// The first IPv4 address of `name` (Python's `socket.gethostbyname`); a
/// dotted-quad literal is returned as it is.
///
/// # Errors
///
/// See the [module docs](self#errors).
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// assert_eq!(gevent::resolver::gethostbyname("localhost")?, Ipv4Addr::LOCALHOST);
/// assert_eq!(gevent::resolver::gethostbyname("10.0.0.7")?, Ipv4Addr::new(10, 0, 0, 7));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn gethostbyname(name: &str) -> io::Result<Ipv4Addr> {
    get_resolver()?.gethostbyname(name)
}

/// `(canonical name, aliases, IPv4 addresses)` of `name` (Python's
/// `socket.gethostbyname_ex`). The libc resolvers report no aliases
/// (`getaddrinfo` has none); the ares resolver reports those it finds.
///
/// # Errors
///
/// See the [module docs](self#errors).
///
/// # Examples
///
/// ```
/// let (name, _aliases, addrs) = gevent::resolver::gethostbyname_ex("localhost")?;
/// assert_eq!(name, "localhost");
/// assert!(addrs.contains(&std::net::Ipv4Addr::LOCALHOST));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn gethostbyname_ex(name: &str) -> io::Result<(String, Vec<String>, Vec<Ipv4Addr>)> {
    get_resolver()?.gethostbyname_ex(name)
}

/// `(name, aliases, addresses)` for an address (Python's
/// `socket.gethostbyaddr`): a reverse lookup, in the hosts file and then
/// by DNS (PTR). The libc resolvers use `getnameinfo` with
/// [`NiFlags::NAMEREQD`] and report no aliases.
///
/// # Errors
///
/// `NotFound` if the address has no name; see the [module docs](self#errors).
///
/// # Examples
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// let (name, _, addrs) = gevent::resolver::gethostbyaddr(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
/// assert!(!name.is_empty());
/// assert_eq!(addrs, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn gethostbyaddr(ip: IpAddr) -> io::Result<(String, Vec<String>, Vec<IpAddr>)> {
    get_resolver()?.gethostbyaddr(ip)
}

/// `(host, service)` names of a socket address (C's and Python's
/// `getnameinfo`). With [`NiFlags::NUMERICHOST`] no resolver is asked.
///
/// # Errors
///
/// `NotFound` with [`NiFlags::NAMEREQD`] when the address has no name; see
/// the [module docs](self#errors).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{getnameinfo, NiFlags};
/// let addr = "127.0.0.1:8080".parse().unwrap();
/// let (host, port) = getnameinfo(addr, NiFlags::NUMERICHOST | NiFlags::NUMERICSERV)?;
/// assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "8080"));
/// let (name, _) = getnameinfo(addr, NiFlags::NUMERICSERV)?;
/// assert!(!name.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn getnameinfo(addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
    get_resolver()?.getnameinfo(addr, flags)
}

/// The addresses to connect to `host` at `port` over TCP, in order,
/// without duplicates: what connecting by host name uses.
///
/// # Errors
///
/// See the [module docs](self#errors).
///
/// # Examples
///
/// ```
/// let addrs = gevent::resolver::resolve("localhost", 443)?;
/// assert!(!addrs.is_empty());
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 443));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    get_resolver()?.resolve(host, port)
}
