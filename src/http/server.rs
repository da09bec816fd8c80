//! [`Server`]: accepting connections and serving HTTP on each.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use super::{Config, Handler, serve_connection};
use crate::net::{TcpListener, ToSocketAddrs};

/// An HTTP/1.1 server: accepts TCP connections and serves each with
/// [`serve_connection`] in its own greenlet.
///
/// # Examples
///
/// ```no_run
/// use gevent::http::{Body, Server};
/// use http::{Request, Response};
///
/// Server::bind("127.0.0.1:8080", |_req: Request<Body>| Response::new("Hello, World!"))?
///     .serve_forever()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server<H> {
    listener: TcpListener,
    handler: Rc<H>,
    config: Rc<Config>,
}

impl<H: Handler + 'static> Server<H> {
    /// Binds a listener on `addr`.
    ///
    /// # Errors
    ///
    /// The bind error.
    ///
    /// ```
    /// use gevent::http::{Body, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?;
    /// assert!(s.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A, handler: H) -> io::Result<Server<H>> {
        Ok(Server::from_listener(TcpListener::bind(addr)?, handler))
    }

    /// Serves on an existing listener.
    ///
    /// ```
    /// use gevent::http::{Body, Server};
    /// let l = gevent::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = Server::from_listener(l, |_r: http::Request<Body>| http::Response::new(""));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listener(listener: TcpListener, handler: H) -> Server<H> {
        Server {
            listener,
            handler: Rc::new(handler),
            config: Rc::new(Config::default()),
        }
    }

    /// Replaces the configuration.
    ///
    /// ```
    /// use gevent::http::{Body, Config, Server};
    /// let s = Server::bind("127.0.0.1:0", |_r: http::Request<Body>| http::Response::new(""))?
    ///     .config(Config::new().keep_alive(false));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(mut self, config: Config) -> Server<H> {
        self.config = Rc::new(config);
        self
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
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts and serves connections, each in a new greenlet, until
    /// accepting fails.
    ///
    /// # Errors
    ///
    /// The accept error that stopped it.
    ///
    /// ```no_run
    /// # use gevent::http::{Body, Server};
    /// Server::bind("127.0.0.1:8080", |_r: http::Request<Body>| http::Response::new("hi"))?.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(&self) -> io::Result<()> {
        loop {
            let (stream, peer) = self.listener.accept()?;
            let _ = stream.set_nodelay(true);
            let handler = self.handler.clone();
            let config = self.config.clone();
            crate::spawn(move || {
                let _ = serve_connection(stream, Some(peer), &*handler, &config);
            });
        }
    }
}

impl<H> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("config", &self.config)
            .finish()
    }
}
