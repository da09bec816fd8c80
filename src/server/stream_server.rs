//! [`StreamServer`]: gevent's `StreamServer`.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::one::One;
use super::workers::Workers;
use super::{Address, ServerBuilder, Stream};
use crate::net::ToSocketAddrs;

#[derive(Clone)]
enum Imp {
    One(Rc<One>),
    Workers(Rc<Workers>),
}

/// A stream (TCP, Unix-domain, TLS) server calling
/// `handler(stream, peer)` in a new greenlet for every connection
/// (gevent's `StreamServer`).
///
/// * **Life cycle.** Built bound (so the address is known and errors come
///   early) but idle; [`start`](Self::start) begins accepting in a
///   greenlet and returns, [`serve_forever`](Self::serve_forever) starts
///   and waits until the server is stopped,
///   [`serve_until_signal`](Self::serve_until_signal) stops gracefully on
///   `SIGTERM`/`SIGINT`. [`stop`](Self::stop) closes the listener at
///   once, waits up to a timeout for the running handlers and kills the
///   rest; [`close`](Self::close) only closes the listener.
/// * **Accepting.** At most `max_accept` accepts per wake-up (default
///   100), so a flood cannot starve the server's other greenlets. With a
///   [`pool_size`](ServerBuilder::pool_size), the server accepts nothing
///   while the pool is full: connections wait in the kernel's backlog
///   (never accepted and dropped). Out-of-resources errors (`EMFILE`,
///   `ENFILE`, `ENOBUFS`, `ENOMEM`; also unexpected ones) pause accepting
///   for 10 ms, doubling up to 1 s, until an accept succeeds; each
///   distinct error is logged once per pause, to stderr. Connections
///   that died in the backlog and other transient errors (`ECONNABORTED`,
///   `EINTR`, `EPROTO`, `EPERM` from a firewall...) are skipped.
/// * **Handlers.** Each runs in a greenlet named `handler <peer>`. A
///   handler that panics is reported (greenlet name, peer, message); its
///   connection is closed and the server carries on. The handler's return
///   value is dropped.
/// * **Threads.** A server built with [`ServerBuilder::build`] lives on the
///   hub of the thread that built it (`!Send`); with
///   [`ServerBuilder::build_workers`] it runs worker threads, each with
///   its own hub, and this handle controls them from the building thread.
///   Dropping the handle does not stop a started server; a worker server
///   is asked to close when its last handle is dropped.
///
/// Clones are handles to the same server.
///
/// # Examples
///
/// An echo server (gevent's `echoserver.py`), stopped after one client:
///
/// ```
/// use gevent::server::StreamServer;
/// use std::io::{Read, Write};
///
/// let server = StreamServer::bind("127.0.0.1:0", |mut conn, peer| {
///     println!("connection from {peer}");
///     let mut buf = [0; 1024];
///     while let Ok(n @ 1..) = conn.read(&mut buf) {
///         if conn.write_all(&buf[..n]).is_err() {
///             break;
///         }
///     }
/// })?;
/// server.start()?;
/// let addr = server.local_addr()?.as_inet().unwrap();
/// let mut c = gevent::net::TcpStream::connect(addr)?;
/// c.write_all(b"hello")?;
/// let mut back = [0; 5];
/// c.read_exact(&mut back)?;
/// assert_eq!(&back, b"hello");
/// drop(c);
/// assert_eq!(server.stop(Some(std::time::Duration::from_secs(1))), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct StreamServer {
    imp: Imp,
}

impl StreamServer {
    pub(crate) fn from_one(one: Rc<One>) -> StreamServer {
        StreamServer { imp: Imp::One(one) }
    }

    pub(crate) fn from_workers(w: Rc<Workers>) -> StreamServer {
        StreamServer {
            imp: Imp::Workers(w),
        }
    }

    /// A builder for every option: listener kind, socket options, pool
    /// bound, TLS, workers.
    ///
    /// ```
    /// let b = gevent::server::StreamServer::builder().bind("127.0.0.1:0")?.pool_size(10);
    /// # let _ = b;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// A TCP server on `addr` with the default options, on this thread's
    /// hub (not started yet).
    ///
    /// # Errors
    ///
    /// The resolver's or `bind`'s error (`AddrInUse`, ...).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert!(server.local_addr()?.as_inet().unwrap().port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A, F, R>(addr: A, handler: F) -> io::Result<StreamServer>
    where
        A: ToSocketAddrs,
        F: Fn(Stream, Address) -> R + 'static,
        R: 'static,
    {
        ServerBuilder::new().bind(addr)?.build(handler)
    }

    /// A server on a listening socket (std or `gevent::net` `TcpListener`
    /// or `UnixListener`, or a listening socket's `OwnedFd`), with the
    /// default options, on this thread's hub.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if it is not a listening stream socket.
    ///
    /// ```
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let server = gevent::server::StreamServer::from_listener(l, |_, _| {})?;
    /// # let _ = server;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listener<L, F, R>(listener: L, handler: F) -> io::Result<StreamServer>
    where
        L: Into<std::os::fd::OwnedFd>,
        F: Fn(Stream, Address) -> R + 'static,
        R: 'static,
    {
        ServerBuilder::new().listener(listener).build(handler)
    }

    /// A server on the first socket inherited through systemd's socket
    /// activation (`LISTEN_FDS`), with the default options; see
    /// [`listen_fds`](super::listen_fds).
    ///
    /// # Errors
    ///
    /// As for [`ServerBuilder::listen_fds`].
    ///
    /// ```
    /// use gevent::server::StreamServer;
    /// use std::io::ErrorKind;
    ///
    /// let server = match StreamServer::from_listen_fds(|_, _| {}) {
    ///     Ok(server) => server, // socket-activated by systemd
    ///     // Not socket-activated (as here): bind the address ourselves.
    ///     Err(e) if e.kind() == ErrorKind::NotFound => {
    ///         StreamServer::bind("127.0.0.1:0", |_, _| {})?
    ///     }
    ///     Err(e) => return Err(e),
    /// };
    /// server.start()?; // or serve_until_signal(grace) in a service
    /// server.close();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listen_fds<F, R>(handler: F) -> io::Result<StreamServer>
    where
        F: Fn(Stream, Address) -> R + 'static,
        R: 'static,
    {
        ServerBuilder::new().listen_fds()?.build(handler)
    }

    /// Starts accepting in a new greenlet (or, for a worker server, starts
    /// the worker threads) and returns at once. Starting a started server
    /// does nothing.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the server was closed or stopped; the watcher's
    /// or thread creation's error.
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// server.start()?;
    /// assert!(server.started());
    /// server.close();
    /// assert!(!server.started());
    /// assert!(server.start().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(&self) -> io::Result<()> {
        match &self.imp {
            Imp::One(o) => o.start(),
            Imp::Workers(w) => w.start(),
        }
    }

    /// Starts (if needed) and waits until the server is stopped or closed
    /// (by another greenlet, a handler, or a signal handler).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start); `Interrupted` if the caller is
    /// killed... (a kill unwinds as usual), `WouldBlock` when called
    /// where it cannot wait (in the hub).
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// let s = server.clone();
    /// gevent::spawn_later(Duration::from_millis(10), move || s.stop(None));
    /// server.serve_forever()?; // returns once stopped
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(&self) -> io::Result<()> {
        self.start()?;
        match &self.imp {
            Imp::One(o) => o.wait_stopped()?,
            Imp::Workers(w) => w.wait_stopped()?,
        }
        Ok(())
    }

    /// Serves until `SIGTERM` or `SIGINT` arrives, then stops gracefully:
    /// the listener closes at once, running handlers get up to `grace` to
    /// finish, the rest are killed. Returns the signal that ended it. Also
    /// returns (with `None`) if the server is stopped otherwise.
    ///
    /// The signals are watched on this thread's hub for the duration
    /// (see [`signal`](crate::signal) for the one-loop-per-signal rule);
    /// their previous dispositions are restored afterwards.
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start); `AddrInUse` if another hub already
    /// watches `SIGTERM` or `SIGINT`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// # let _lock = (); // SIGTERM to ourselves is process-wide
    /// gevent::spawn_later(Duration::from_millis(20), || {
    ///     // SAFETY: raising a signal the server handles.
    ///     unsafe { libc::raise(libc::SIGTERM) };
    /// });
    /// assert_eq!(server.serve_until_signal(Duration::from_secs(5))?, Some(libc::SIGTERM));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_until_signal(&self, grace: Duration) -> io::Result<Option<i32>> {
        // The handlers first: once a connection is served, SIGTERM stops
        // the server gracefully (never the default disposition's kill).
        let got: Rc<Cell<Option<i32>>> = Rc::new(Cell::new(None));
        let mut handlers = Vec::with_capacity(2);
        for sig in [libc::SIGTERM, libc::SIGINT] {
            let (me, g) = (self.clone(), got.clone());
            handlers.push(crate::signal::signal_handler(sig, move || {
                if g.get().is_none() {
                    g.set(Some(sig));
                    me.stop(Some(grace));
                }
            })?);
        }
        self.start()?;
        let r = match &self.imp {
            Imp::One(o) => o.wait_stopped(),
            Imp::Workers(w) => w.wait_stopped(),
        };
        drop(handlers);
        r?;
        Ok(got.get())
    }

    /// Closes the listener at once (new connections are refused), waits
    /// up to `timeout` (`None`: as long as it takes) for the running
    /// handlers to finish, then kills the rest (their connections are
    /// closed as they unwind). Returns how many handlers were killed.
    /// A handler may stop its own server: it does not wait for itself.
    /// Stopping a stopped server returns 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// use std::io::Read;
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |mut s, _| {
    ///     let _ = s.read(&mut [0; 1]); // waits for the client, which never writes
    /// })?;
    /// server.start()?;
    /// let c = gevent::net::TcpStream::connect(server.local_addr()?.as_inet().unwrap())?;
    /// gevent::sleep(Duration::from_millis(20)); // the handler starts
    /// assert_eq!(server.stop(Some(Duration::from_millis(10))), 1);
    /// assert_eq!((&c).read(&mut [0; 1])?, 0); // the connection was closed
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self, timeout: Option<Duration>) -> usize {
        match &self.imp {
            Imp::One(o) => o.stop(timeout),
            Imp::Workers(w) => w.stop(timeout),
        }
    }

    /// Stops accepting and closes the listener (removing a Unix socket
    /// file the server created); running handlers go on. For a worker
    /// server this is [`stop`](Self::stop) without waiting for handlers
    /// (they are killed).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// let addr = server.local_addr()?.as_inet().unwrap();
    /// server.close();
    /// assert!(std::net::TcpStream::connect(addr).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        match &self.imp {
            Imp::One(o) => o.close_now(),
            Imp::Workers(w) => {
                w.stop(Some(Duration::ZERO));
            }
        }
    }

    /// Whether the server is accepting connections (started, not closed).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert!(!server.started());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn started(&self) -> bool {
        match &self.imp {
            Imp::One(o) => o.started(),
            Imp::Workers(w) => w.started(),
        }
    }

    /// The address the server listens on (with the real port when bound
    /// to port 0). Known from construction on, also after closing.
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// println!("listening on {}", server.address());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn address(&self) -> &Address {
        match &self.imp {
            Imp::One(o) => o.address(),
            Imp::Workers(w) => w.address(),
        }
    }

    /// [`address`](Self::address) as std's `local_addr` would give it.
    ///
    /// # Errors
    ///
    /// None today; a `Result` to match std's socket types.
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert!(server.local_addr()?.as_inet().unwrap().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<Address> {
        Ok(self.address().clone())
    }

    /// How many worker threads serve (1 for a server on this hub).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert_eq!(server.workers(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(&self) -> usize {
        match &self.imp {
            Imp::One(_) => 1,
            Imp::Workers(w) => w.count(),
        }
    }

    /// Connections accepted so far (summed over the workers of a
    /// multi-worker server).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert_eq!(server.accepted(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accepted(&self) -> u64 {
        self.counters().accepted()
    }

    /// Failed `accept` calls so far (skipped or paused for; summed over
    /// the workers).
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert_eq!(server.accept_errors(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept_errors(&self) -> u64 {
        self.counters().accept_errors()
    }

    /// Handlers running now (summed over the workers): each counts from
    /// its connection's accept until its handler returns, panics or is
    /// killed.
    ///
    /// ```
    /// let server = gevent::server::StreamServer::bind("127.0.0.1:0", |_, _| {})?;
    /// assert_eq!(server.connections(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connections(&self) -> usize {
        self.counters().connections()
    }

    fn counters(&self) -> &super::one::Counters {
        match &self.imp {
            Imp::One(o) => o.counters(),
            Imp::Workers(w) => w.counters(),
        }
    }
}

impl fmt::Debug for StreamServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("address", self.address())
            .field("workers", &self.workers())
            .field("started", &self.started())
            .finish()
    }
}
