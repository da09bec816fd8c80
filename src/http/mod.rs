//! An HTTP/1.1 server, hardened for direct exposure to the Internet: the
//! counterpart of gevent's `pywsgi`, with the field's standard types.
//!
//! Requests and responses are the [`http`] crate's [`Request`],
//! [`Response`], [`HeaderMap`](http::HeaderMap) and
//! [`StatusCode`](http::StatusCode); request heads are parsed with
//! `httparse`. A [`Handler`] is plain blocking code,
//! `Fn(Request<Body>) -> Response<impl Into<ResponseBody>>`, run in the
//! connection's greenlet; the request [`Body`] implements `Read` and
//! streams from the socket.
//!
//! * [`serve_connection`] serves one connection over any [`Transport`]
//!   (TCP, Unix, TLS streams); [`Server`] accepts connections and serves
//!   each in its own greenlet.
//! * **Protocol**: keep-alive (HTTP/1.1, and 1.0 with
//!   `Connection: keep-alive`), pipelining (answers in order), chunked
//!   bodies both ways (request trailers parsed and bounded),
//!   `100 Continue` sent only when the handler reads the body, unread
//!   bodies drained up to a limit, `HEAD`, `Date` (formatted once per
//!   second) and `Server` headers, `Connection: close` both ways, `500`
//!   and a closed connection when the handler panics, head and body in
//!   one send where they fit, `101 Switching Protocols` with a takeover of
//!   the stream ([`ResponseBody::upgrade`]), an access log in the Common
//!   Log Format ([`Config::access_log`]).
//! * **Hardening** (RFC 9112, strict): request line over 8 KiB: `414`;
//!   header section over 64 KiB or 100 fields: `431`; a body over the
//!   limit: `413`; any malformed request line or header, whitespace
//!   before a colon, obs-fold, a bare LF, a bad version, a missing or
//!   repeated `Host` in HTTP/1.1: `400`. Request smuggling vectors get
//!   `400` and a closed connection: `Content-Length` with
//!   `Transfer-Encoding`, differing `Content-Length`s, a
//!   `Transfer-Encoding` not ending in (exactly one) `chunked` or
//!   malformed, `Transfer-Encoding` in HTTP/1.0, invalid or overflowing
//!   chunk sizes, chunk extensions or trailers over their limits. A
//!   response header holding CR, LF or NUL is never sent (`500`).
//!   Deadlines: the whole request head (10 s, not per read: slowloris is
//!   cut off, with `408`), the keep-alive idle time (60 s), each body
//!   read and each write without progress (60 s), see [`Config`].
//!
//! # Example
//!
//! ```
//! use gevent::http::{Body, Server};
//! use ::http::{Request, Response};
//! use std::io::{Read, Write};
//!
//! let server = Server::bind("127.0.0.1:0", |req: Request<Body>| {
//!     Response::new(format!("Hello from {}", req.uri().path()))
//! })?;
//! server.start()?;
//! let addr = server.local_addr()?.as_inet().unwrap();
//!
//! let mut c = gevent::net::TcpStream::connect(addr)?;
//! c.write_all(b"GET /docs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! c.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nHello from /docs"));
//! server.stop(None);
//! # Ok::<(), std::io::Error>(())
//! ```

mod body;
mod body_writer;
mod chunked;
mod config;
mod conn;
mod date;
mod handler;
mod head;
mod remote_addr;
mod response_body;
mod server;
mod transport;
mod upgraded;

use std::io;
use std::net::SocketAddr;

pub use body::Body;
pub use body_writer::BodyWriter;
pub use config::Config;
pub use handler::Handler;
pub use remote_addr::RemoteAddr;
pub use response_body::ResponseBody;
pub use server::Server;
pub use transport::Transport;
pub use upgraded::Upgraded;

#[doc(no_inline)]
pub use ::http::{Request, Response};

/// Serves HTTP/1.1 on one connection until it ends: reads requests,
/// calls `handler` for each, writes the responses, as long as the
/// connection is kept alive. Runs in the calling greenlet.
///
/// `peer` is the client's address for the access log and
/// [`RemoteAddr`] (`None` for Unix sockets and the like).
///
/// # Errors
///
/// The I/O error that ended the connection (a reset, a write timeout,
/// ...). A connection the client closed, that idled past the keep-alive
/// timeout, or that the server closed after an error response ends with
/// `Ok(())`.
///
/// # Panics
///
/// A handler's panic does not propagate (it is answered `500`); a kill or
/// [`Timeout`](crate::Timeout) of the calling greenlet does, after the
/// connection is closed.
///
/// # Examples
///
/// ```
/// use gevent::http::{serve_connection, Body, Config};
/// use gevent::net::UnixStream;
/// use http::{Request, Response};
/// use std::io::{Read, Write};
///
/// let (server_side, mut client) = UnixStream::pair()?;
/// let _conn = gevent::spawn(move || {
///     let hello = |_req: Request<Body>| Response::new("Hello, World!");
///     serve_connection(server_side, None, &hello, &Config::default())
/// });
/// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer)?;
/// assert!(answer.ends_with("Hello, World!"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve_connection<S, H>(
    stream: S,
    peer: Option<SocketAddr>,
    handler: &H,
    config: &Config,
) -> io::Result<()>
where
    S: Transport + 'static,
    H: Handler + ?Sized,
{
    conn::Engine::new(Box::new(stream), peer, config).run(handler)
}
