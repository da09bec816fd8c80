//! [`DatagramServer`] and [`DatagramSocket`]: gevent's `DatagramServer`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use super::Address;
use super::stream::unix_address;
use crate::net::{ToSocketAddrs, UdpSocket, UnixDatagram};
use crate::pool::{Group, Pool};
use crate::sync::{Event, Lock};
use crate::{Builder, Error, Greenlet};

/// The largest datagram the server receives whole (bigger UDP payloads
/// do not exist; longer Unix datagrams are truncated).
const MAX_DATAGRAM: usize = 65536;

enum Sock {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

/// The socket of a [`DatagramServer`], as its handlers see it: send
/// replies with [`send_to`](Self::send_to). Sends from several handlers
/// are serialized (each waits its turn if the socket's buffer is full).
///
/// # Examples
///
/// ```
/// use gevent::server::DatagramServer;
/// let server = DatagramServer::bind("127.0.0.1:0", |data: &[u8], peer, sock| {
///     let _ = sock.send_to(data, &peer);
/// })?;
/// println!("serving UDP on {}", server.socket().local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DatagramSocket {
    sock: Sock,
    send_lock: Lock,
}

impl DatagramSocket {
    /// Sends `buf` to `to` (an internet address for a UDP server, a
    /// socket path for a Unix one).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address of the other family or an unnamed
    /// Unix peer; `NotConnected` once the server is closed; `sendto`'s
    /// error.
    ///
    /// ```
    /// use gevent::server::{Address, DatagramServer};
    /// let server = DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// let e = server.socket().send_to(b"x", &Address::Unix(None)).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to(&self, buf: &[u8], to: &Address) -> io::Result<usize> {
        let _turn = self.send_lock.acquire().map_err(io::Error::from)?;
        match (&self.sock, to) {
            (Sock::Udp(s), Address::Inet(a)) => s.send_to(buf, *a),
            (Sock::Unix(s), Address::Unix(Some(p))) => s.send_to(buf, p),
            (Sock::Unix(_), Address::Unix(None)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot reply to an unnamed Unix datagram socket (the client must bind a path)",
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("address {to} is not of the server socket's family"),
            )),
        }
    }

    /// The address the server receives on.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed; `getsockname`'s error.
    ///
    /// ```
    /// let server = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// assert!(server.socket().local_addr()?.as_inet().unwrap().port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<Address> {
        match &self.sock {
            Sock::Udp(s) => s.local_addr().map(Address::Inet),
            Sock::Unix(s) => s.local_addr().map(|a| unix_address(&a)),
        }
    }

    /// The UDP socket, for options (multicast, TTL...); `None` for Unix.
    ///
    /// ```
    /// let server = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// server.socket().udp().unwrap().set_ttl(10)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn udp(&self) -> Option<&UdpSocket> {
        match &self.sock {
            Sock::Udp(s) => Some(s),
            Sock::Unix(_) => None,
        }
    }

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Address)> {
        match &self.sock {
            Sock::Udp(s) => s.recv_from(buf).map(|(n, a)| (n, Address::Inet(a))),
            Sock::Unix(s) => s.recv_from(buf).map(|(n, a)| (n, unix_address(&a))),
        }
    }

    fn close(&self) {
        match &self.sock {
            Sock::Udp(s) => s.close(),
            Sock::Unix(s) => s.close(),
        }
    }
}

impl fmt::Debug for DatagramSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sock {
            Sock::Udp(s) => f.debug_tuple("DatagramSocket").field(s).finish(),
            Sock::Unix(s) => f.debug_tuple("DatagramSocket").field(s).finish(),
        }
    }
}

type DHandler = Rc<dyn Fn(&[u8], Address, &DatagramSocket)>;

struct Inner {
    sock: Rc<DatagramSocket>,
    handler: DHandler,
    pool: Option<Pool>,
    group: Group,
    unlink: Option<std::path::PathBuf>,
    started: Cell<bool>,
    closed: Cell<bool>,
    receiver: RefCell<Option<Greenlet<()>>>,
    stopped: Event,
}

/// A datagram (UDP or Unix-domain) server calling
/// `handler(data, peer, &socket)` in a new greenlet for every datagram
/// (gevent's `DatagramServer`); the handler replies with
/// [`DatagramSocket::send_to`].
///
/// With [`with_pool_size`](Self::with_pool_size), at most that many
/// handlers run at once and the server stops reading while they all run
/// (datagrams wait in the socket's receive buffer, where the kernel drops
/// them once it is full, as UDP does). Lifecycle as for
/// [`StreamServer`](super::StreamServer): `start`, `serve_forever`,
/// `stop(timeout)`, `close`. A handler panic is reported and the server
/// carries on.
///
/// # Examples
///
/// A UDP echo server:
///
/// ```
/// use gevent::server::DatagramServer;
/// let server = DatagramServer::bind("127.0.0.1:0", |data: &[u8], peer, sock| {
///     let _ = sock.send_to(data, &peer);
/// })?;
/// server.start()?;
/// let addr = server.socket().local_addr()?.as_inet().unwrap();
/// let c = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
/// c.send_to(b"ping", addr)?;
/// let mut buf = [0; 16];
/// let (n, from) = c.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], addr));
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct DatagramServer {
    inner: Rc<Inner>,
}

impl DatagramServer {
    fn new<F: Fn(&[u8], Address, &DatagramSocket) + 'static>(
        sock: Sock,
        unlink: Option<std::path::PathBuf>,
        handler: F,
    ) -> DatagramServer {
        DatagramServer {
            inner: Rc::new(Inner {
                sock: Rc::new(DatagramSocket {
                    sock,
                    send_lock: Lock::new(),
                }),
                handler: Rc::new(handler),
                pool: None,
                group: Group::new(),
                unlink,
                started: Cell::new(false),
                closed: Cell::new(false),
                receiver: RefCell::new(None),
                stopped: Event::new(),
            }),
        }
    }

    /// A UDP server bound to `addr` (not started yet).
    ///
    /// # Errors
    ///
    /// The resolver's or `bind`'s error.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// assert!(!s.started());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A, F>(addr: A, handler: F) -> io::Result<DatagramServer>
    where
        A: ToSocketAddrs,
        F: Fn(&[u8], Address, &DatagramSocket) + 'static,
    {
        Ok(DatagramServer::new(
            Sock::Udp(UdpSocket::bind(addr)?),
            None,
            handler,
        ))
    }

    /// A Unix-domain datagram server bound to `path` (which must not
    /// exist; it is removed when the server closes).
    ///
    /// # Errors
    ///
    /// `bind`'s error (`AddrInUse` if `path` exists).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-dgs-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let s = gevent::server::DatagramServer::bind_unix(&path, |_: &[u8], _, _| {})?;
    /// s.close();
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_unix<P, F>(path: P, handler: F) -> io::Result<DatagramServer>
    where
        P: AsRef<Path>,
        F: Fn(&[u8], Address, &DatagramSocket) + 'static,
    {
        let s = UnixDatagram::bind(path.as_ref())?;
        Ok(DatagramServer::new(
            Sock::Unix(s),
            Some(path.as_ref().to_path_buf()),
            handler,
        ))
    }

    /// A UDP server on an existing socket.
    ///
    /// ```
    /// let sock = gevent::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let s = gevent::server::DatagramServer::from_udp(sock, |_: &[u8], _, _| {});
    /// # let _ = s;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_udp<F>(sock: UdpSocket, handler: F) -> DatagramServer
    where
        F: Fn(&[u8], Address, &DatagramSocket) + 'static,
    {
        DatagramServer::new(Sock::Udp(sock), None, handler)
    }

    /// Bounds the handlers running at once (before [`start`](Self::start)).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0, or if the server was started already.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?
    ///     .with_pool_size(100)?;
    /// # let _ = s;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_pool_size(self, n: usize) -> io::Result<DatagramServer> {
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pool size must be at least 1 (a pool of 0 could serve nobody)",
            ));
        }
        let pool = Pool::new(n)?;
        match Rc::try_unwrap(self.inner) {
            Ok(mut inner) if !inner.started.get() => {
                inner.pool = Some(pool);
                Ok(DatagramServer {
                    inner: Rc::new(inner),
                })
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "set the pool size before starting (and before cloning) the server",
            )),
        }
    }

    /// The server's socket.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// println!("{}", s.socket().local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket(&self) -> &DatagramSocket {
        &self.inner.sock
    }

    /// Whether the server is receiving (started, not closed).
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// s.start()?;
    /// assert!(s.started());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn started(&self) -> bool {
        self.inner.started.get() && !self.inner.closed.get()
    }

    /// Starts receiving in a new greenlet and returns.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the server was closed.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// s.start()?;
    /// s.close();
    /// assert!(s.start().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(&self) -> io::Result<()> {
        if self.inner.closed.get() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the datagram server was closed; it cannot start again",
            ));
        }
        if self.inner.started.replace(true) {
            return Ok(());
        }
        let inner = self.inner.clone();
        let name = match self.inner.sock.local_addr() {
            Ok(a) => format!("DatagramServer {a}"),
            Err(_) => "DatagramServer".to_string(),
        };
        let g = Builder::new().name(name).spawn(move || receive_loop(inner));
        *self.inner.receiver.borrow_mut() = Some(g);
        Ok(())
    }

    /// Starts (if needed) and waits until the server is stopped or closed.
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start); the hub's errors if the caller
    /// cannot wait.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// let s2 = s.clone();
    /// gevent::spawn(move || s2.stop(None));
    /// s.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(&self) -> io::Result<()> {
        self.start()?;
        self.inner.stopped.wait()?;
        Ok(())
    }

    /// Closes the socket (waking the receiving greenlet) and removes a
    /// Unix socket file the server created; running handlers go on, but
    /// their replies fail.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// s.close();
    /// assert!(s.socket().local_addr().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        let i = &self.inner;
        if i.closed.replace(true) {
            return;
        }
        i.sock.close();
        if let Some(p) = &i.unlink {
            let _ = std::fs::remove_file(p);
        }
        i.stopped.set();
    }

    /// Stops receiving, waits up to `timeout` (`None`: as long as it
    /// takes) for running handlers, kills the rest, closes the socket.
    /// Returns how many handlers were killed.
    ///
    /// ```
    /// let s = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})?;
    /// s.start()?;
    /// assert_eq!(s.stop(Some(std::time::Duration::from_secs(1))), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self, timeout: Option<Duration>) -> usize {
        let i = &self.inner;
        if let Some(g) = i.receiver.borrow_mut().take() {
            if g.id() != crate::getcurrent().id() {
                g.kill_nowait();
            }
        }
        // A handler stopping its own server does not wait for itself.
        let me = crate::getcurrent();
        match &i.pool {
            Some(p) => p.discard(&me),
            None => i.group.discard(&me),
        };
        let finished = match (&i.pool, timeout) {
            (Some(p), Some(t)) => p.join_timeout(t).unwrap_or(false),
            (Some(p), None) => p.join().is_ok(),
            (None, Some(t)) => i.group.join_timeout(t).unwrap_or(false),
            (None, None) => i.group.join().is_ok(),
        };
        let mut killed = 0;
        if !finished {
            killed = match &i.pool {
                Some(p) => {
                    let n = p.len();
                    let _ = p.kill();
                    n
                }
                None => {
                    let n = i.group.len();
                    let _ = i.group.kill();
                    n
                }
            };
        }
        self.close();
        killed
    }
}

fn receive_loop(inner: Rc<Inner>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut errors_logged: Vec<i32> = Vec::new();
    loop {
        if inner.closed.get() {
            return;
        }
        if let Some(p) = &inner.pool {
            if p.full() {
                if p.wait_available().is_err() {
                    return;
                }
                continue;
            }
        }
        let (n, peer) = match inner.sock.recv_from(&mut buf) {
            Ok(r) => {
                errors_logged.clear();
                r
            }
            Err(_) if inner.closed.get() => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // ICMP errors reported on the socket (ECONNREFUSED after
                // a reply to a closed port), ENOBUFS...: log once, go on.
                let code = e.raw_os_error().unwrap_or(-1);
                if !errors_logged.contains(&code) {
                    errors_logged.push(code);
                    eprintln!("gevent::server: datagram server: recvfrom failed: {e}; going on");
                }
                if matches!(code, libc::ENOBUFS | libc::ENOMEM) || code == -1 {
                    crate::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        let data = buf[..n].to_vec();
        let (h, s) = (inner.handler.clone(), inner.sock.clone());
        let p = peer.clone();
        let g = Builder::new()
            .name(format!("datagram handler {peer}"))
            .spawn(move || h(&data, p, &s));
        g.link_exception(move |g| {
            if let Some(Error::Panicked(msg)) = g.error() {
                eprintln!(
                    "gevent::server: datagram handler {g} for peer {peer} panicked: {msg}; the server carries on"
                );
            }
        });
        match &inner.pool {
            Some(p) => {
                if p.try_add(&g).is_err() {
                    let _ = p.add(&g);
                }
            }
            None => inner.group.add(&g),
        }
    }
}

impl fmt::Debug for DatagramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer")
            .field("socket", &self.inner.sock)
            .field("pool_size", &self.inner.pool.as_ref().map(|p| p.size()))
            .field("started", &self.started())
            .finish()
    }
}
