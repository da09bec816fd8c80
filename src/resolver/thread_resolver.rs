//! [`ThreadResolver`]: libc's resolver on the hub's thread pool.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::{AddrInfo, GaiArgs, Hints, NiFlags, Resolve, Service, numeric, sys};
use crate::threadpool::ThreadPool;

/// libc's resolver (`getaddrinfo`, `getnameinfo`) run on a thread pool —
/// by default the hub's ([`Hub::threadpool`](crate::Hub::threadpool)): the
/// calling greenlet parks while a worker thread waits for the answer, and
/// every other greenlet keeps running (gevent's default
/// `gevent.resolver.thread`). It sees exactly what the rest of the system
/// sees: `/etc/hosts`, `/etc/resolv.conf`, `nsswitch.conf`, mDNS, ...
///
/// At most as many lookups run at once as the pool has workers
/// (`GEVENT_THREADPOOL_SIZE`, default 10); more wait in its queue. Literal
/// IP addresses never reach the pool.
///
/// The default resolver; select it with `GEVENT_RESOLVER=thread` or
/// [`set_resolver(ResolverKind::Thread)`](super::set_resolver).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{Resolve, ThreadResolver};
/// let r = ThreadResolver::new();
/// let lookups: Vec<_> = (0..3)
///     .map(|_| { let r = r.clone(); gevent::spawn(move || r.gethostbyname("localhost")) })
///     .collect();
/// gevent::joinall(&lookups, Some(std::time::Duration::from_secs(2)))?;
/// for g in &lookups {
///     assert_eq!(g.take()??, std::net::Ipv4Addr::LOCALHOST);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ThreadResolver {
    pool: Option<ThreadPool>,
}

impl ThreadResolver {
    /// A resolver using the calling thread's hub's default pool.
    ///
    /// ```
    /// let _r = gevent::resolver::ThreadResolver::new();
    /// ```
    pub fn new() -> ThreadResolver {
        ThreadResolver::default()
    }

    /// A resolver using `pool` (for example a small pool reserved for DNS).
    ///
    /// ```
    /// use gevent::resolver::{Resolve, ThreadResolver};
    /// let r = ThreadResolver::with_pool(gevent::threadpool::ThreadPool::new(2)?);
    /// assert!(r.resolve("localhost", 1)?.iter().all(|a| a.ip().is_loopback()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_pool(pool: ThreadPool) -> ThreadResolver {
        ThreadResolver { pool: Some(pool) }
    }

    /// Runs `f` on the pool and waits for it cooperatively.
    fn run<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        crate::hub::check_can_block()?;
        let r = match &self.pool {
            Some(p) => p.apply(f),
            None => crate::try_get_hub()?.threadpool().apply(f),
        };
        r?
    }
}

impl Resolve for ThreadResolver {
    fn getaddrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
    ) -> io::Result<Vec<AddrInfo>> {
        if let Some(r) = numeric::getaddrinfo(host, service, hints) {
            return r;
        }
        let args = GaiArgs::new(host, service, hints)?;
        self.run(move || args.call())
    }

    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
        if let Some(r) = numeric::getnameinfo(&addr, flags) {
            return r;
        }
        self.run(move || sys::getnameinfo(&addr, flags))
    }
}

impl fmt::Debug for ThreadResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadResolver")
            .field("pool", &if self.pool.is_some() { "own" } else { "hub's" })
            .finish()
    }
}
