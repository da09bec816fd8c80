//! [`RemoteAddr`]: the client's address, in request extensions.

use std::net::SocketAddr;

/// The client's address, stored in each request's extensions when the
/// connection has one (TCP, TLS over TCP).
///
/// # Examples
///
/// ```
/// use gevent::http::{Body, RemoteAddr};
/// use http::{Request, Response};
///
/// let handler = |req: Request<Body>| {
///     let who = req.extensions().get::<RemoteAddr>().map(|a| a.0.to_string());
///     Response::new(who.unwrap_or_default())
/// };
/// # let _ = handler;
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);
