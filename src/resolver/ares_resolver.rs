//! [`AresResolver`]: c-ares, driven by the hub's loop.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use c_ares::{AddrInfoFlags, AddrInfoHints, AddressFamily, Channel, NIFlags, Options};

use super::resolve::{check_name, ipv4s};
use super::{AddrInfo, AiFlags, AresOptions, Family, Hints, NiFlags, Resolve, Service, SockType};
use super::{numeric, sys};
use crate::core::{Events, Io, Timer};
use crate::hub::{Waker, check_can_block, hub_inner, park};

/// The [c-ares](https://c-ares.org) resolver (gevent's
/// `gevent.resolver.ares`): an asynchronous DNS client whose sockets and
/// timeouts are driven by the hub's own io and timer watchers, so a lookup
/// parks only the calling greenlet and needs no extra thread. One channel
/// per resolver; the thread's default one (`GEVENT_RESOLVER=ares`) is
/// configured from `/etc/resolv.conf` and `/etc/hosts`.
///
/// Needs the `ares` cargo feature (off by default; building the bundled
/// c-ares needs cmake: `apt-get install cmake`).
///
/// Differences from the libc resolvers: c-ares reads only the hosts file
/// and DNS (no nsswitch modules such as mDNS or LDAP); it reports aliases
/// in [`gethostbyname_ex`](Resolve::gethostbyname_ex) and
/// [`gethostbyaddr`](Resolve::gethostbyaddr); it caches answers by their
/// TTL (see [`AresOptions::query_cache_max_ttl`]).
///
/// A resolver belongs to the hub of the thread that created it (`!Send`).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{AresResolver, Resolve};
/// let r = AresResolver::new()?;
/// let (name, _aliases, addrs) = r.gethostbyname_ex("localhost")?; // from /etc/hosts
/// assert_eq!(name, "localhost");
/// assert!(addrs.contains(&std::net::Ipv4Addr::LOCALHOST));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AresResolver {
    inner: Rc<Inner>,
}

/// Socket state changes reported by c-ares: (fd, wants read, wants write).
type Changes = Arc<Mutex<Vec<(RawFd, bool, bool)>>>;

struct Inner {
    /// One io watcher per socket c-ares has open (dropped before the channel).
    sockets: RefCell<HashMap<RawFd, Io>>,
    /// Fires when c-ares's next timeout is due.
    timer: Timer,
    channel: RefCell<Channel>,
    /// Filled by c-ares's socket-state callback, applied by `pump`.
    changes: Changes,
    /// Ids of finished queries, filled by their handlers, woken by `pump`.
    done: Arc<Mutex<Vec<u64>>>,
    /// The greenlets waiting for each query.
    waiters: RefCell<HashMap<u64, Waker>>,
    next_id: Cell<u64>,
    /// For the io watchers' callbacks.
    me: Weak<Inner>,
}

/// Locks a mutex, ignoring poisoning (the data are plain lists).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `io::Error` for a c-ares failure of a lookup of `subject`.
fn ares_error(e: c_ares::Error, subject: &str) -> io::Error {
    use c_ares::Error as E;
    let kind = match e {
        E::ENOTFOUND | E::ENODATA | E::ENONAME => io::ErrorKind::NotFound,
        E::ETIMEOUT => io::ErrorKind::TimedOut,
        E::ECONNREFUSED => io::ErrorKind::ConnectionRefused,
        E::EBADNAME
        | E::EBADFAMILY
        | E::EBADFLAGS
        | E::EBADHINTS
        | E::ESERVICE
        | E::EBADSTR
        | E::EBADQUERY => io::ErrorKind::InvalidInput,
        E::ENOMEM => io::ErrorKind::OutOfMemory,
        E::ECANCELLED | E::EDESTRUCTION => io::ErrorKind::Interrupted,
        _ => io::ErrorKind::Other,
    };
    sys::lookup_error(kind, subject, &e.to_string())
}

/// A configuration error from c-ares.
fn config_error(e: c_ares::Error, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cannot set up the c-ares resolver ({what}): {e}"),
    )
}

fn path_str<'a>(p: &'a std::path::Path, what: &str) -> io::Result<&'a str> {
    p.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the {what} path {p:?} is not valid Unicode"),
        )
    })
}

impl AresResolver {
    /// A resolver configured from the system (`/etc/resolv.conf`,
    /// `/etc/hosts`), on the calling thread's hub.
    ///
    /// # Errors
    ///
    /// The hub's or c-ares's initialisation error.
    ///
    /// ```
    /// let r = gevent::resolver::AresResolver::new()?;
    /// println!("asking {:?}", r.servers());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<AresResolver> {
        AresResolver::with_options(&AresOptions::default())
    }

    /// A resolver with `opts` (servers, timeouts, search domains, files).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for options c-ares refuses (a NUL byte in a domain,
    /// a path that is not Unicode); the hub's or c-ares's initialisation
    /// error.
    ///
    /// ```
    /// use gevent::resolver::{AresOptions, AresResolver, Resolve};
    /// let opts = AresOptions::new().servers(["127.0.0.1:1".parse().unwrap()]).tries(1);
    /// let r = AresResolver::with_options(&opts)?;
    /// // /etc/hosts answers before any server is asked:
    /// assert_eq!(r.gethostbyname("localhost")?, std::net::Ipv4Addr::LOCALHOST);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_options(opts: &AresOptions) -> io::Result<AresResolver> {
        crate::try_get_hub()?;
        let changes: Changes = Arc::new(Mutex::new(Vec::new()));
        let mut o = Options::new();
        let c2 = changes.clone();
        o.set_socket_state_callback(move |fd, r, w| lock(&c2).push((fd, r, w)));
        if let Some(t) = opts.timeout {
            o.set_timeout(t.max(Duration::from_millis(1)));
        }
        if let Some(n) = opts.tries {
            o.set_tries(n.max(1));
        }
        if let Some(d) = &opts.search_domains {
            o.set_domains(d)
                .map_err(|e| config_error(e, "search domains"))?;
        }
        if let Some(p) = &opts.hosts_file {
            o.set_hosts_path(path_str(p, "hosts file")?)
                .map_err(|e| config_error(e, "hosts file"))?;
        }
        if let Some(p) = &opts.resolv_conf {
            o.set_resolvconf_path(path_str(p, "resolv.conf")?)
                .map_err(|e| config_error(e, "resolv.conf"))?;
        }
        if let Some(ttl) = opts.query_cache_max_ttl {
            o.set_query_cache_max_ttl(ttl);
        }
        if let Some(yes) = opts.use_hosts_file {
            o.set_lookups(if yes { "fb" } else { "b" })
                .map_err(|e| config_error(e, "lookups"))?;
        }
        let mut channel = Channel::with_options(o)
            .map_err(|e| io::Error::other(format!("cannot create a c-ares channel: {e}")))?;
        if let Some(servers) = &opts.servers {
            let list: Vec<String> = servers.iter().map(|a| a.to_string()).collect();
            channel
                .set_servers(&list)
                .map_err(|e| config_error(e, "servers"))?;
        }
        let lp = hub_inner().loop_().clone();
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let w = weak.clone();
            let timer = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, _| {
                if let Some(i) = w.upgrade() {
                    i.process(None, None);
                }
            });
            Inner {
                sockets: RefCell::new(HashMap::new()),
                timer,
                channel: RefCell::new(channel),
                changes,
                done: Arc::new(Mutex::new(Vec::new())),
                waiters: RefCell::new(HashMap::new()),
                next_id: Cell::new(1),
                me: weak.clone(),
            }
        });
        Ok(AresResolver { inner })
    }

    /// The name servers asked, as `host:port` strings.
    ///
    /// ```
    /// use gevent::resolver::{AresOptions, AresResolver};
    /// let opts = AresOptions::new().servers(["127.0.0.1:53".parse().unwrap()]);
    /// assert_eq!(AresResolver::with_options(&opts)?.servers(), ["127.0.0.1:53"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn servers(&self) -> Vec<String> {
        match self.inner.channel.try_borrow() {
            Ok(c) => c.servers(),
            Err(_) => Vec::new(),
        }
    }

    /// `getaddrinfo` through c-ares, with `extra` c-ares flags.
    fn addrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
        extra: AddrInfoFlags,
    ) -> io::Result<Vec<AddrInfo>> {
        if let Some(r) = numeric::getaddrinfo(host, service, hints) {
            return r;
        }
        sys::c_string(host, "host name")?;
        let subject = sys::subject(host, service);
        let mut flags = hints.flags;
        let svc = match service {
            Service::None => None,
            Service::Port(p) => {
                flags |= AiFlags::NUMERICSERV;
                Some(p.to_string())
            }
            Service::Name(s) => {
                sys::c_string(s, "service")?;
                Some(s.to_string())
            }
        };
        let chints = AddrInfoHints {
            flags: ares_ai_flags(flags) | extra,
            family: Some(match hints.family {
                Family::Any => AddressFamily::UNSPEC,
                Family::V4 => AddressFamily::INET,
                Family::V6 => AddressFamily::INET6,
            }),
            socktype: hints.socktype.as_raw(),
            protocol: hints.protocol,
        };
        let want_canon = flags.contains(AiFlags::CANONNAME);
        let answer: GaiAnswer = self.query(|ch, deliver| {
            ch.get_addrinfo(host, svc.as_deref(), &chints, move |r| {
                deliver(r.map(|res| {
                    let canon = want_canon.then(|| {
                        res.cnames()
                            .last()
                            .map(|c| c.name().to_string())
                            .or_else(|| res.name().map(str::to_string))
                    });
                    let nodes = res
                        .nodes()
                        .filter_map(|n| Some((n.socket_addr()?, n.socktype(), n.protocol())))
                        .collect();
                    (canon.flatten(), nodes)
                }))
            });
        })?;
        let (canon, nodes) = answer.map_err(|e| ares_error(e, &subject))?;
        let mut out = Vec::with_capacity(nodes.len());
        for (addr, t, p) in nodes {
            expand(addr, t, p, &mut out);
        }
        if out.is_empty() {
            return Err(sys::lookup_error(
                io::ErrorKind::NotFound,
                &subject,
                "no address",
            ));
        }
        if want_canon {
            out[0].canonname = Some(canon.unwrap_or_else(|| host.to_string()));
        }
        Ok(out)
    }

    /// Starts a query with `start` and waits for its answer.
    fn query<T, S>(&self, start: S) -> io::Result<T>
    where
        T: Send + 'static,
        S: FnOnce(&mut Channel, Box<dyn FnOnce(T) + Send>),
    {
        check_can_block()?;
        let inner = &*self.inner;
        let id = inner.next_id.get();
        inner.next_id.set(id + 1);
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let deliver: Box<dyn FnOnce(T) + Send> = {
            let slot = slot.clone();
            let done = inner.done.clone();
            Box::new(move |v: T| {
                *lock(&slot) = Some(v);
                lock(&done).push(id);
            })
        };
        {
            let mut ch = inner
                .channel
                .try_borrow_mut()
                .map_err(|_| io::Error::other("the c-ares channel is busy (re-entered)"))?;
            start(&mut ch, deliver);
        }
        inner.pump();
        let _guard = WaiterGuard { inner, id };
        loop {
            if let Some(v) = lock(&slot).take() {
                return Ok(v);
            }
            inner.waiters.borrow_mut().insert(id, Waker::current());
            park()?;
        }
    }
}

/// Unregisters a query's waiter when its greenlet stops waiting (answer,
/// error, kill or timeout).
struct WaiterGuard<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.inner.waiters.try_borrow_mut() {
            w.remove(&self.id);
        }
    }
}

impl Inner {
    /// Lets c-ares handle readiness of `r`/`w` (and its timeouts).
    fn process(&self, r: Option<RawFd>, w: Option<RawFd>) {
        if let Ok(mut ch) = self.channel.try_borrow_mut() {
            ch.process_fd(r, w);
        }
        self.pump();
    }

    /// Applies c-ares's socket changes, wakes finished queries and re-arms
    /// the timeout timer.
    fn pump(&self) {
        let changes = std::mem::take(&mut *lock(&self.changes));
        for (fd, r, w) in changes {
            self.update_socket(fd, r, w);
        }
        let done = std::mem::take(&mut *lock(&self.done));
        for id in done {
            let waker = self.waiters.borrow_mut().remove(&id);
            if let Some(w) = waker {
                w.wake();
            }
        }
        let (next, busy) = match self.channel.try_borrow() {
            Ok(c) => (c.timeout(None), c.queue_active_queries() > 0),
            Err(_) => (None, true),
        };
        self.timer.stop();
        if let Some(d) = next {
            // The timer was just stopped, so set cannot fail.
            let _ = self.timer.set(d, Duration::ZERO);
            self.timer.loop_().now_update();
            let _ = self.timer.start();
        }
        // Idle sockets (kept open by c-ares) must not keep the loop alive.
        for io in self.sockets.borrow().values() {
            io.set_keepalive(busy);
        }
    }

    fn update_socket(&self, fd: RawFd, r: bool, w: bool) {
        let mut socks = self.sockets.borrow_mut();
        if !r && !w {
            socks.remove(&fd);
            return;
        }
        let mut ev = Events::NONE;
        if r {
            ev |= Events::READ;
        }
        if w {
            ev |= Events::WRITE;
        }
        if let Some(io) = socks.get(&fd) {
            if io.events() != ev {
                io.stop();
                if io.set_events(ev).is_ok() {
                    let _ = io.start();
                }
            }
            return;
        }
        let weak = self.weak_self();
        let made = Io::new(self.timer.loop_(), fd, ev, move |io, got| {
            let Some(inner) = weak.upgrade() else { return };
            let fd = io.fd();
            let readable = got.contains(Events::READ) || got.contains(Events::ERROR);
            let writable = got.contains(Events::WRITE);
            inner.process(readable.then_some(fd), writable.then_some(fd));
        });
        // c-ares only reports sockets it has open, so this cannot fail; if
        // it did, the query would end with c-ares's timeout.
        if let Ok(io) = made {
            if io.start().is_ok() {
                socks.insert(fd, io);
            }
        }
    }

    fn weak_self(&self) -> Weak<Inner> {
        self.me.clone()
    }
}

/// c-ares's `AI_*` bits for ours (the values differ from libc's).
fn ares_ai_flags(f: AiFlags) -> AddrInfoFlags {
    let pairs = [
        (AiFlags::PASSIVE, AddrInfoFlags::PASSIVE),
        (AiFlags::CANONNAME, AddrInfoFlags::CANONNAME),
        (AiFlags::NUMERICHOST, AddrInfoFlags::NUMERICHOST),
        (AiFlags::NUMERICSERV, AddrInfoFlags::NUMERICSERV),
        (AiFlags::V4MAPPED, AddrInfoFlags::V4MAPPED),
        (AiFlags::ALL, AddrInfoFlags::ALL),
        (AiFlags::ADDRCONFIG, AddrInfoFlags::ADDRCONFIG),
    ];
    let mut out = AddrInfoFlags::empty();
    for (ours, theirs) in pairs {
        if f.contains(ours) {
            out |= theirs;
        }
    }
    out
}

/// c-ares's `NI_*` bits for ours, asking for both host and service.
fn ares_ni_flags(f: NiFlags) -> NIFlags {
    let pairs = [
        (NiFlags::NOFQDN, NIFlags::NOFQDN),
        (NiFlags::NUMERICHOST, NIFlags::NUMERICHOST),
        (NiFlags::NAMEREQD, NIFlags::NAMEREQD),
        (NiFlags::NUMERICSERV, NIFlags::NUMERICSERV),
        (NiFlags::DGRAM, NIFlags::UDP),
    ];
    let mut out = NIFlags::LOOKUPHOST | NIFlags::LOOKUPSERVICE;
    for (ours, theirs) in pairs {
        if f.contains(ours) {
            out |= theirs;
        }
    }
    out
}

/// What a getaddrinfo answer carries back from the c-ares callback.
type GaiAnswer = Result<(Option<String>, Vec<(SocketAddr, i32, i32)>), c_ares::Error>;

/// The entries for one address found with `socktype`/`protocol` as c-ares
/// reports them, filled in the way glibc does (every type for "any", the
/// usual protocol for each type).
fn expand(addr: SocketAddr, socktype: i32, protocol: i32, out: &mut Vec<AddrInfo>) {
    let family = Family::of(addr.ip());
    let default_proto = |t: SockType| match t {
        SockType::Stream => libc::IPPROTO_TCP,
        SockType::Datagram => libc::IPPROTO_UDP,
        _ => 0,
    };
    let types: Vec<SockType> = match SockType::from_raw(socktype) {
        SockType::Any => vec![SockType::Stream, SockType::Datagram, SockType::Raw],
        t => vec![t],
    };
    for t in types {
        out.push(AddrInfo {
            family,
            socktype: t,
            protocol: if protocol != 0 && socktype != 0 {
                protocol
            } else {
                default_proto(t)
            },
            canonname: None,
            addr,
        });
    }
}

impl Resolve for AresResolver {
    fn getaddrinfo(
        &self,
        host: &str,
        service: Service<'_>,
        hints: &Hints,
    ) -> io::Result<Vec<AddrInfo>> {
        self.addrinfo(host, service, hints, AddrInfoFlags::empty())
    }

    fn gethostbyname(&self, name: &str) -> io::Result<Ipv4Addr> {
        check_name(name)?;
        if let Some(ip) = numeric::gethostbyname(name) {
            return Ok(ip);
        }
        // Like Python's (gethostbyname_r), the first address in the
        // server's order: no RFC 6724 sorting, which costs c-ares a UDP
        // socket and a connect() per address.
        let hints = Hints::default().family(Family::V4);
        let all = self.addrinfo(name, Service::None, &hints, AddrInfoFlags::NOSORT)?;
        all.first()
            .and_then(|a| match a.addr.ip() {
                IpAddr::V4(ip) => Some(ip),
                IpAddr::V6(_) => None,
            })
            .ok_or_else(|| {
                sys::lookup_error(
                    io::ErrorKind::NotFound,
                    &format!("'{name}'"),
                    "no IPv4 address",
                )
            })
    }

    fn getnameinfo(&self, addr: SocketAddr, flags: NiFlags) -> io::Result<(String, String)> {
        if let Some(r) = numeric::getnameinfo(&addr, flags) {
            return r;
        }
        let cflags = ares_ni_flags(flags);
        type Answer = Result<(Option<String>, Option<String>), c_ares::Error>;
        let answer: Answer = self.query(|ch, deliver| {
            ch.get_name_info(&addr, cflags, move |r| {
                deliver(r.map(|n| {
                    (
                        n.node().map(str::to_string),
                        n.service().map(str::to_string),
                    )
                }))
            });
        })?;
        let (host, serv) = answer.map_err(|e| ares_error(e, &format!("the address {addr}")))?;
        Ok((
            host.unwrap_or_else(|| addr.ip().to_string()),
            serv.unwrap_or_else(|| addr.port().to_string()),
        ))
    }

    fn gethostbyaddr(&self, ip: IpAddr) -> io::Result<(String, Vec<String>, Vec<IpAddr>)> {
        type Answer = Result<(String, Vec<String>, Vec<IpAddr>), c_ares::Error>;
        let answer: Answer = self.query(|ch, deliver| {
            ch.get_host_by_address(&ip, move |r| {
                deliver(r.map(|h| {
                    (
                        h.hostname().to_string(),
                        h.aliases().map(str::to_string).collect(),
                        h.addresses().collect(),
                    )
                }))
            });
        })?;
        answer.map_err(|e| ares_error(e, &format!("the address {ip}")))
    }

    fn gethostbyname_ex(&self, name: &str) -> io::Result<(String, Vec<String>, Vec<Ipv4Addr>)> {
        check_name(name)?;
        if let Some(ip) = numeric::gethostbyname(name) {
            return Ok((name.to_string(), Vec::new(), vec![ip]));
        }
        sys::c_string(name, "host name")?;
        type Answer = Result<(String, Vec<String>, Vec<IpAddr>), c_ares::Error>;
        let answer: Answer = self.query(|ch, deliver| {
            ch.get_host_by_name(name, AddressFamily::INET, move |r| {
                deliver(r.map(|h| {
                    (
                        h.hostname().to_string(),
                        h.aliases().map(str::to_string).collect(),
                        h.addresses().collect(),
                    )
                }))
            });
        })?;
        let (canon, aliases, addrs) = answer.map_err(|e| ares_error(e, &format!("'{name}'")))?;
        let v4 = ipv4s(addrs);
        if v4.is_empty() {
            return Err(sys::lookup_error(
                io::ErrorKind::NotFound,
                &format!("'{name}'"),
                "no IPv4 address",
            ));
        }
        Ok((canon, aliases, v4))
    }
}

impl fmt::Debug for AresResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AresResolver")
            .field("servers", &self.servers())
            .field("sockets", &self.inner.sockets.borrow().len())
            .finish()
    }
}
