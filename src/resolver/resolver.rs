//! [`Resolver`]: any of the resolvers, chosen at run time.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

#[cfg(feature = "ares")]
use super::AresResolver;
use super::{
    AddrInfo, BlockResolver, Hints, NiFlags, Resolve, ResolverKind, Service, ThreadResolver,
};

/// One of the resolvers ([`ThreadResolver`], [`BlockResolver`],
/// `AresResolver`), chosen at run time: what [`get_resolver`](super::get_resolver)
/// returns and [`install`](Resolver::install) installs. Cheap to clone;
/// `!Send` (it belongs to its thread's hub).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{Resolve, Resolver, ResolverKind};
/// let r = Resolver::new(ResolverKind::Block)?;
/// assert_eq!(r.kind(), ResolverKind::Block);
/// assert_eq!(r.gethostbyname("127.0.0.1")?, std::net::Ipv4Addr::LOCALHOST);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Resolver {
    imp: Imp,
}

#[derive(Clone)]
enum Imp {
    Thread(ThreadResolver),
    Block(BlockResolver),
    #[cfg(feature = "ares")]
    Ares(AresResolver),
}

impl Resolver {
    /// A new resolver of `kind` with default settings (an ares resolver
    /// gets its own channel, configured from `/etc/resolv.conf`).
    ///
    /// # Errors
    ///
    /// `Unsupported` for [`ResolverKind::Ares`] in a build without the
    /// `ares` cargo feature (the message says how to enable it); the
    /// channel's creation error for ares.
    ///
    /// ```
    /// use gevent::resolver::{Resolver, ResolverKind};
    /// let r = Resolver::new(ResolverKind::Ares);
    /// assert_eq!(r.is_ok(), cfg!(feature = "ares"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(kind: ResolverKind) -> io::Result<Resolver> {
        kind.check_available()?;
        let imp = match kind {
            ResolverKind::Thread => Imp::Thread(ThreadResolver::new()),
            ResolverKind::Block => Imp::Block(BlockResolver::new()),
            #[cfg(feature = "ares")]
            ResolverKind::Ares => Imp::Ares(AresResolver::new()?),
            #[cfg(not(feature = "ares"))]
            ResolverKind::Ares => unreachable!("checked by check_available"),
        };
        Ok(Resolver { imp })
    }

    /// The resolver `GEVENT_RESOLVER` asks for (default `thread`).
    ///
    /// # Errors
    ///
    /// As for [`ResolverKind::from_env`] and [`Resolver::new`].
    ///
    /// ```
    /// let r = gevent::resolver::Resolver::from_env()?;
    /// println!("using the {} resolver", r.kind());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_env() -> io::Result<Resolver> {
        Resolver::new(ResolverKind::from_env()?)
    }

    /// Which kind this is.
    ///
    /// ```
    /// use gevent::resolver::{Resolver, ResolverKind, ThreadResolver};
    /// assert_eq!(Resolver::from(ThreadResolver::new()).kind(), ResolverKind::Thread);
    /// ```
    pub fn kind(&self) -> ResolverKind {
        match self.imp {
            Imp::Thread(_) => ResolverKind::Thread,
            Imp::Block(_) => ResolverKind::Block,
            #[cfg(feature = "ares")]
            Imp::Ares(_) => ResolverKind::Ares,
        }
    }

    /// Makes this the calling thread's resolver, used by the free functions
    /// of [`gevent::resolver`](super) (and by `gevent::net` to connect by
    /// host name) from now on.
    ///
    /// ```
    /// use gevent::resolver::{get_resolver, BlockResolver, Resolver, ResolverKind};
    /// std::thread::spawn(|| {
    ///     Resolver::from(BlockResolver::new()).install();
    ///     assert_eq!(get_resolver().unwrap().kind(), ResolverKind::Block);
    /// }).join().unwrap();
    /// ```
    pub fn install(&self) {
        super::install(self.clone());
    }
}

macro_rules! delegate {
    ($self:ident, $r:ident => $e:expr) => {
        match &$self.imp {
            Imp::Thread($r) => $e,
            Imp::Block($r) => $e,
            #[cfg(feature = "ares")]
            Imp::Ares($r) => $e,
        }
    };
}

impl Resolve for Resolver {
    fn getaddrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
    ) -> io::Result<Vec<AddrInfo>> {
        delegate!(self, r => r.getaddrinfo(host, service, hints))
    }

    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
        delegate!(self, r => r.getnameinfo(addr, flags))
    }

    fn gethostbyaddr(&self, ip: IpAddr) -> io::Result<(String, Vec<String>, Vec<IpAddr>)> {
        delegate!(self, r => r.gethostbyaddr(ip))
    }

    fn gethostbyname_ex(&self, name: &str) -> io::Result<(String, Vec<String>, Vec<Ipv4Addr>)> {
        delegate!(self, r => r.gethostbyname_ex(name))
    }

    fn gethostbyname(&self, name: &str) -> io::Result<Ipv4Addr> {
        delegate!(self, r => r.gethostbyname(name))
    }

    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        delegate!(self, r => r.resolve(host, port))
    }
}

impl From<ThreadResolver> for Resolver {
    fn from(r: ThreadResolver) -> Resolver {
        Resolver {
            imp: Imp::Thread(r),
        }
    }
}

impl From<BlockResolver> for Resolver {
    fn from(r: BlockResolver) -> Resolver {
        Resolver { imp: Imp::Block(r) }
    }
}

#[cfg(feature = "ares")]
impl From<AresResolver> for Resolver {
    fn from(r: AresResolver) -> Resolver {
        Resolver { imp: Imp::Ares(r) }
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        delegate!(self, r => fmt::Debug::fmt(r, f))
    }
}
