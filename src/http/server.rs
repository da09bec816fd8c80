//! [`Server`]: HTTP/1.1 on a [`StreamServer`].

use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::{Config, Handler, serve_connection};
use crate::net::ToSocketAddrs;
use crate::server::{Address, ServerBuilder, StreamServer};

/// An HTTP/1.1 server: a [`StreamServer`] (plain TCP, Unix sockets, TLS,
/// inherited listeners, a pool bound, `workers(n)` threads) whose
/// handler serves each connection with [`serve_connection`], one greenlet
/// per connection.
///
/// Build it with [`bind`](Server::bind) for the common case, or from a
/// [`ServerBuilder`] with [`build`](Server::build) (this thread's hub)
/// or [`build_workers`](Server::build_workers) (one hub per worker
/// thread, each with its own `SO_REUSEPORT` listener; the handler must be
/// `Send + Sync + Clone`).
///
/// # Examples
///
/// ```
/// use gevent::http::{Body, Server};
/// use http::{Request, Response};
/// use std::io::{Read, Write};
///
/// let server = Server::bind("127.0.0.1:0", |_req: Request<Body>| Response::new("Hello, World!"))?;
/// server.start()?; // or serve_forever() / serve_until_signal()
/// let mut c = gevent::net::TcpStream::connect(server.local_addr()?.as_inet().unwrap())?;
/// c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut answer = String::new();
/// c.read_to_string(&mut answer)?;
/// assert!(answer.ends_with("Hello, World!"));
/// server.stop(None);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// TLS, a custom configuration and four worker threads:
///
/// ```no_run
/// use gevent::http::{Body, Config, Server};
/// use gevent::server::StreamServer;
/// use gevent::tls::TlsAcceptor;
/// use http::{Request, Response};
///
/// let acceptor = TlsAcceptor::from_pem_files("cert.pem", "key.pem")?;
/// let builder = StreamServer::builder().bind("0.0.0.0:8443")?.tls(acceptor).workers(4);
/// let config = Config::new().access_log(std::io::stderr());
/// let server = Server::build_workers(builder, config, |_req: Request<Body>| Response::new("secure"))?;
/// server.serve_until_signal(std::time::Duration::from_secs(10))?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Server {
    inner: StreamServer,
}

impl Server {
    /// Binds a TCP listener on `addr`, with the default [`Config`], served
    /// by this thread's hub.
    ///
    /// # Errors
    ///
    /// The bind error.
    ///
    /// ```
    /// use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// assert!(s.local_addr()?.as_inet().unwrap().port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A, H>(addr: A, handler: H) -> io::Result<Server>
    where
        A: ToSocketAddrs,
        H: Handler + 'static,
    {
        Server::build(
            StreamServer::builder().bind(addr)?,
            Config::default(),
            handler,
        )
    }

    /// A server on this thread's hub from a [`ServerBuilder`] (listener,
    /// TLS, pool size, ... as configured there).
    ///
    /// # Errors
    ///
    /// As [`ServerBuilder::build`].
    ///
    /// ```
    /// use gevent::http::{Body, Config, Server};
    /// use gevent::server::StreamServer;
    /// let builder = StreamServer::builder().bind("127.0.0.1:0")?.pool_size(1000);
    /// let s = Server::build(builder, Config::new(), |_r: http::Request<Body>| http::Response::new(""))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build<H: Handler + 'static>(
        builder: ServerBuilder,
        config: Config,
        handler: H,
    ) -> io::Result<Server> {
        let handler = Rc::new(handler);
        let config = Rc::new(config);
        let inner = builder.build(move |stream, peer: Address| {
            let _ = serve_connection(stream, peer.as_inet(), &*handler, &config);
        })?;
        Ok(Server { inner })
    }

    /// A server of the builder's [`workers`](ServerBuilder::workers)
    /// threads, each with its own hub and listener and a clone of
    /// `handler`.
    ///
    /// # Errors
    ///
    /// As [`ServerBuilder::build_workers`].
    ///
    /// ```
    /// use gevent::http::{Body, Config, Server};
    /// use gevent::server::StreamServer;
    /// let builder = StreamServer::builder().bind("127.0.0.1:0")?.workers(2);
    /// let s = Server::build_workers(builder, Config::new(), |_r: http::Request<Body>| http::Response::new("hi"))?;
    /// s.start()?;
    /// s.stop(Some(std::time::Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build_workers<H>(
        builder: ServerBuilder,
        config: Config,
        handler: H,
    ) -> io::Result<Server>
    where
        H: Handler + Send + Sync + Clone + 'static,
    {
        let inner = builder.build_workers(move |stream, peer: Address| {
            let _ = serve_connection(stream, peer.as_inet(), &handler, &config);
        })?;
        Ok(Server { inner })
    }

    /// The listening address.
    ///
    /// # Errors
    ///
    /// The socket's error.
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// assert!(s.local_addr()?.as_inet().unwrap().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<Address> {
        self.inner.local_addr()
    }

    /// Starts accepting in the background (see [`StreamServer::start`]).
    ///
    /// # Errors
    ///
    /// As [`StreamServer::start`].
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// s.start()?;
    /// s.stop(None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(&self) -> io::Result<()> {
        self.inner.start()
    }

    /// Serves until stopped (see [`StreamServer::serve_forever`]).
    ///
    /// # Errors
    ///
    /// As [`StreamServer::serve_forever`].
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// let s2 = s.clone();
    /// gevent::spawn_later(std::time::Duration::from_millis(10), move || s2.stop(None));
    /// s.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(&self) -> io::Result<()> {
        self.inner.serve_forever()
    }

    /// Serves until `SIGTERM` or `SIGINT`, then stops gracefully within
    /// `grace` (see [`StreamServer::serve_until_signal`]).
    ///
    /// # Errors
    ///
    /// As [`StreamServer::serve_until_signal`].
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// let s2 = s.clone();
    /// // stopped by another greenlet here; by SIGTERM or SIGINT in a service
    /// gevent::spawn_later(std::time::Duration::from_millis(10), move || s2.stop(None));
    /// assert_eq!(s.serve_until_signal(std::time::Duration::from_secs(10))?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_until_signal(&self, grace: Duration) -> io::Result<Option<i32>> {
        self.inner.serve_until_signal(grace)
    }

    /// Closes the listener, waits up to `timeout` for connections being
    /// served, then closes the rest; how many were cut off (see
    /// [`StreamServer::stop`]).
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// s.start()?;
    /// assert_eq!(s.stop(Some(std::time::Duration::from_secs(1))), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self, timeout: Option<Duration>) -> usize {
        self.inner.stop(timeout)
    }

    /// The underlying [`StreamServer`] (counters, `workers()`, ...).
    ///
    /// ```
    /// # use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// assert_eq!(s.stream_server().workers(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream_server(&self) -> &StreamServer {
        &self.inner
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("inner", &self.inner)
            .finish()
    }
}
