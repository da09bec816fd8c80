//! [`ServerBuilder`]: a [`StreamServer`](super::StreamServer)'s listener
//! and options.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use super::listener::{BindOptions, Listener};
use super::one::{One, Options};
use super::stream_server::StreamServer;
use super::workers::Workers;
use super::{Address, Stream};
use crate::net::ToSocketAddrs;
use crate::tls::TlsAcceptor;

/// Where a server gets its listening socket.
pub(crate) enum Listen {
    Addrs(Vec<SocketAddr>),
    Unix(PathBuf),
    Fd(OwnedFd),
}

/// Configures a [`StreamServer`]: where it listens, its socket options,
/// how many connections it serves at once, TLS, and how many worker
/// threads. `Send`, so it can be prepared on one thread and built on
/// another.
///
/// Defaults: backlog 1024, `SO_REUSEADDR` on, `SO_REUSEPORT` off (on
/// with [`workers`](Self::workers) other than 1), `TCP_NODELAY` on
/// accepted streams, at most 100 accepts per wake-up, no pool bound,
/// TLS handshake timeout 10 s, one worker (this thread's hub).
///
/// # Examples
///
/// ```
/// use gevent::server::StreamServer;
/// use std::io::Write;
///
/// let server = StreamServer::builder()
///     .bind("127.0.0.1:0")?
///     .pool_size(100)
///     .max_accept(10)
///     .build(|mut s, _peer| {
///         let _ = s.write_all(b"hello\n");
///     })?;
/// server.start()?;
/// let mut c = gevent::net::TcpStream::connect(server.local_addr()?.as_inet().unwrap())?;
/// let mut line = String::new();
/// std::io::Read::read_to_string(&mut c, &mut line)?;
/// assert_eq!(line, "hello\n");
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ServerBuilder {
    pub(crate) listen: Option<Listen>,
    pub(crate) bind: BindOptions,
    reuse_port_set: bool,
    pub(crate) opts: Options,
    pub(crate) workers: usize,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder::new()
    }
}

impl ServerBuilder {
    /// A builder with the defaults and no listener yet.
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new();
    /// # let _ = b;
    /// ```
    pub fn new() -> ServerBuilder {
        ServerBuilder {
            listen: None,
            bind: BindOptions {
                backlog: 1024,
                reuse_addr: true,
                reuse_port: false,
            },
            reuse_port_set: false,
            opts: Options {
                nodelay: true,
                max_accept: 100,
                pool_size: None,
                tls: None,
                handshake_timeout: Duration::from_secs(10),
            },
            workers: 1,
        }
    }

    /// Listens on a TCP address (`"host:port"`, a `SocketAddr`, ...;
    /// names are resolved now, cooperatively). Port 0 picks a free port;
    /// see [`StreamServer::local_addr`].
    ///
    /// # Errors
    ///
    /// The resolver's error for a name that does not resolve.
    ///
    /// ```
    /// let b = gevent::server::StreamServer::builder().bind("127.0.0.1:0")?;
    /// # let _ = b;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(mut self, addr: A) -> io::Result<ServerBuilder> {
        self.listen = Some(Listen::Addrs(crate::net::resolve(&addr)?));
        Ok(self)
    }

    /// Listens on a Unix-domain socket at `path` (which must not exist;
    /// the server removes it when it closes).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-sb-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = gevent::server::StreamServer::builder().unix(&path).build(|_, _| {})?;
    /// assert!(path.exists());
    /// server.close();
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unix<P: Into<PathBuf>>(mut self, path: P) -> ServerBuilder {
        self.listen = Some(Listen::Unix(path.into()));
        self
    }

    /// Serves on a socket that is already listening: a std or
    /// `gevent::net` `TcpListener` or `UnixListener`, or any listening
    /// stream socket as an `OwnedFd` (one inherited from a process
    /// manager, say). Socket options given to this builder that only
    /// apply when binding (backlog, `SO_REUSEADDR`) are not applied.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = l.local_addr()?;
    /// let server = gevent::server::StreamServer::builder().listener(l).build(|_, _| {})?;
    /// assert_eq!(server.local_addr()?.as_inet(), Some(addr));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listener<L: Into<OwnedFd>>(mut self, listener: L) -> ServerBuilder {
        self.listen = Some(Listen::Fd(listener.into()));
        self
    }

    /// Serves on the first socket the service manager passed with
    /// systemd's socket activation protocol (`LISTEN_FDS`); see
    /// [`listen_fds`](super::listen_fds) for the checks and for several
    /// sockets.
    ///
    /// # Errors
    ///
    /// As for [`listen_fds`](super::listen_fds); `NotFound` if no socket
    /// was passed.
    ///
    /// ```
    /// use gevent::server::StreamServer;
    /// use std::io::ErrorKind;
    ///
    /// let builder = match StreamServer::builder().listen_fds() {
    ///     Ok(b) => b, // started by systemd with a .socket unit
    ///     // Not socket-activated (as here): bind the address ourselves.
    ///     Err(e) if e.kind() == ErrorKind::NotFound => {
    ///         StreamServer::builder().bind("127.0.0.1:0")?
    ///     }
    ///     Err(e) => return Err(e),
    /// };
    /// let server = builder.build(|_, _| {})?;
    /// server.start()?;
    /// server.close();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_fds(self) -> io::Result<ServerBuilder> {
        let mut fds = super::listen_fds()?;
        if fds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no socket was passed through LISTEN_FDS (is the service socket-activated?)",
            ));
        }
        Ok(self.listener(fds.swap_remove(0).fd))
    }

    /// The listen backlog when binding (the kernel caps it at
    /// `net.core.somaxconn`).
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().backlog(128);
    /// # let _ = b;
    /// ```
    pub fn backlog(mut self, backlog: u32) -> ServerBuilder {
        self.bind.backlog = backlog.min(i32::MAX as u32) as i32;
        self
    }

    /// `SO_REUSEADDR` when binding (default on).
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().reuse_addr(false);
    /// # let _ = b;
    /// ```
    pub fn reuse_addr(mut self, on: bool) -> ServerBuilder {
        self.bind.reuse_addr = on;
        self
    }

    /// `SO_REUSEPORT` when binding (default off for one worker, on for
    /// several): other processes and threads can bind the same port and
    /// the kernel spreads connections among them.
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().reuse_port(true);
    /// # let _ = b;
    /// ```
    pub fn reuse_port(mut self, on: bool) -> ServerBuilder {
        self.bind.reuse_port = on;
        self.reuse_port_set = true;
        self
    }

    /// `TCP_NODELAY` on accepted TCP streams (default on: replies leave
    /// at once instead of waiting for Nagle's algorithm).
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().nodelay(false);
    /// # let _ = b;
    /// ```
    pub fn nodelay(mut self, on: bool) -> ServerBuilder {
        self.opts.nodelay = on;
        self
    }

    /// At most `n` accepts each time the listener wakes up (default 100),
    /// so a flood of connections cannot starve the server's other
    /// greenlets. `build` refuses 0.
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().max_accept(10);
    /// # let _ = b;
    /// ```
    pub fn max_accept(mut self, n: usize) -> ServerBuilder {
        self.opts.max_accept = n;
        self
    }

    /// At most `n` handlers at once (per worker). While all `n` run, the
    /// server accepts nothing: new connections wait in the kernel's
    /// backlog until a handler finishes (backpressure; none is accepted
    /// and dropped). `build` refuses 0.
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().pool_size(1000);
    /// # let _ = b;
    /// ```
    pub fn pool_size(mut self, n: usize) -> ServerBuilder {
        self.opts.pool_size = Some(n);
        self
    }

    /// Serves TLS: each handler's greenlet first runs the handshake with
    /// `acceptor` (bounded by [`handshake_timeout`](Self::handshake_timeout)),
    /// then gets a [`Stream::TlsTcp`] or [`Stream::TlsUnix`]. A failed or
    /// timed-out handshake closes the connection without calling the
    /// handler; it never delays accepting.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let acceptor = gevent::tls::TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// let b = gevent::server::ServerBuilder::new().tls(acceptor);
    /// # let _ = b;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tls(mut self, acceptor: TlsAcceptor) -> ServerBuilder {
        self.opts.tls = Some(acceptor);
        self
    }

    /// How long a TLS handshake may take (default 10 s).
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().handshake_timeout(std::time::Duration::from_secs(3));
    /// # let _ = b;
    /// ```
    pub fn handshake_timeout(mut self, d: Duration) -> ServerBuilder {
        self.opts.handshake_timeout = d;
        self
    }

    /// Serve on `n` OS threads, each with its own hub and its own
    /// listener (`SO_REUSEPORT` sockets on the same address, so the
    /// kernel spreads the connections; inherited and Unix listeners are
    /// shared). `0` means one per available core. Only
    /// [`build_workers`](Self::build_workers) uses more than one.
    ///
    /// ```
    /// let b = gevent::server::ServerBuilder::new().workers(2);
    /// # let _ = b;
    /// ```
    pub fn workers(mut self, n: usize) -> ServerBuilder {
        self.workers = n;
        self
    }

    fn check(&self) -> io::Result<()> {
        if self.opts.max_accept == 0 {
            return Err(invalid("max_accept must be at least 1"));
        }
        if self.opts.pool_size == Some(0) {
            return Err(invalid(
                "pool_size must be at least 1 (a pool of 0 could serve nobody)",
            ));
        }
        if self.listen.is_none() {
            return Err(invalid(
                "no listener: call bind(), unix(), listener() or listen_fds() first",
            ));
        }
        Ok(())
    }

    pub(crate) fn open_listener(&mut self) -> io::Result<Listener> {
        match self.listen.take() {
            Some(Listen::Addrs(a)) => Listener::bind_tcp(&a, self.bind),
            Some(Listen::Unix(p)) => Listener::bind_unix(&p, self.bind),
            Some(Listen::Fd(fd)) => Listener::from_fd(fd),
            None => Err(invalid("no listener")),
        }
    }

    /// Binds and creates a server on this thread's hub (not started yet:
    /// see [`StreamServer::start`] and [`StreamServer::serve_forever`]).
    /// `handler(stream, peer)` runs in a new greenlet for each connection.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad option (`max_accept` or `pool_size` 0,
    /// no listener, [`workers`](Self::workers) other than 1: use
    /// [`build_workers`](Self::build_workers)); the `bind`/`listen`
    /// error (`AddrInUse`, ...); for an inherited socket, `InvalidInput`
    /// if it is not a listening stream socket.
    ///
    /// ```
    /// let server = gevent::server::StreamServer::builder()
    ///     .bind("127.0.0.1:0")?
    ///     .build(|_stream, peer| println!("connection from {peer}"))?;
    /// assert!(!server.started());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build<F, R>(mut self, handler: F) -> io::Result<StreamServer>
    where
        F: Fn(Stream, Address) -> R + 'static,
        R: 'static,
    {
        self.check()?;
        if self.workers != 1 {
            return Err(invalid(
                "workers(n) with n != 1 needs a Send + Sync + Clone handler: use build_workers()",
            ));
        }
        let l = self.open_listener()?;
        let h: super::one::Handler = Rc::new(move |s, a| {
            let _ = handler(s, a);
        });
        Ok(StreamServer::from_one(One::new(
            l,
            h,
            self.opts,
            Default::default(),
        )?))
    }

    /// Creates a server of [`workers`](Self::workers) threads, each with
    /// its own hub (using the same backend as this thread's hub), listener
    /// and clone of `handler`. A worker thread that dies (its hub fails or
    /// panics outside a greenlet) is reported to stderr and restarted on
    /// the same listener, as long as this thread's hub runs (the
    /// supervisor is a greenlet here). Nothing runs until
    /// [`start`](StreamServer::start) or
    /// [`serve_forever`](StreamServer::serve_forever); the listeners are
    /// bound now, so the address is known and errors surface here.
    ///
    /// # Errors
    ///
    /// As for [`build`](Self::build); `SO_REUSEPORT`'s error where the
    /// platform lacks it.
    ///
    /// ```
    /// use gevent::server::StreamServer;
    /// use std::io::{Read, Write};
    /// let server = StreamServer::builder()
    ///     .bind("127.0.0.1:0")?
    ///     .workers(2)
    ///     .build_workers(|mut s, _| { let _ = s.write_all(b"hi"); })?;
    /// server.start()?;
    /// let mut c = std::net::TcpStream::connect(server.local_addr()?.as_inet().unwrap())?;
    /// let mut got = String::new();
    /// c.read_to_string(&mut got)?;
    /// assert_eq!(got, "hi");
    /// assert_eq!(server.stop(Some(std::time::Duration::from_secs(5))), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build_workers<F, R>(mut self, handler: F) -> io::Result<StreamServer>
    where
        F: Fn(Stream, Address) -> R + Send + Sync + Clone + 'static,
        R: 'static,
    {
        self.check()?;
        let n = match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        if n > 1 && !self.reuse_port_set && matches!(self.listen, Some(Listen::Addrs(_))) {
            self.bind.reuse_port = true;
        }
        let share = matches!(self.listen, Some(Listen::Fd(_)));
        let first = self.open_listener()?;
        let mut listeners = Vec::with_capacity(n);
        for _ in 1..n {
            listeners.push(first.sibling(self.bind, share)?);
        }
        listeners.insert(0, first);
        Ok(StreamServer::from_workers(Workers::new(
            listeners, handler, self.opts,
        )?))
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listen = match &self.listen {
            None => "none".to_string(),
            Some(Listen::Addrs(a)) => format!("{a:?}"),
            Some(Listen::Unix(p)) => format!("unix:{}", p.display()),
            Some(Listen::Fd(fd)) => format!("fd {fd:?}"),
        };
        f.debug_struct("ServerBuilder")
            .field("listen", &listen)
            .field("backlog", &self.bind.backlog)
            .field("reuse_addr", &self.bind.reuse_addr)
            .field("reuse_port", &self.bind.reuse_port)
            .field("nodelay", &self.opts.nodelay)
            .field("max_accept", &self.opts.max_accept)
            .field("pool_size", &self.opts.pool_size)
            .field("tls", &self.opts.tls.is_some())
            .field("handshake_timeout", &self.opts.handshake_timeout)
            .field("workers", &self.workers)
            .finish()
    }
}
