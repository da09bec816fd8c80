//! [`Handler`]: what answers requests.

use http::{Request, Response};

use super::{Body, ResponseBody};

/// Answers one request: plain blocking code, run in the connection's
/// greenlet (it may sleep, use sockets, queues, pools...).
///
/// Implemented for every `Fn(Request<Body>) -> Response<B>` with
/// `B: Into<ResponseBody>`. A panic is reported on stderr and answered
/// `500 Internal Server Error`, and the connection closes.
///
/// # Examples
///
/// ```
/// use gevent::http::{Body, Handler};
/// use http::{Request, Response};
///
/// let hello = |_req: Request<Body>| Response::new("Hello, World!");
/// let res = hello.call(Request::new(Body::empty()));
/// assert_eq!(res.body().len(), Some(13));
/// ```
pub trait Handler {
    /// Answers `req`.
    ///
    /// ```
    /// use gevent::http::{Body, Handler};
    /// use http::{Request, Response};
    ///
    /// let echo = |mut req: Request<Body>| Response::new(req.body_mut().bytes().unwrap_or_default());
    /// let res = echo.call(Request::new(Body::from("ping")));
    /// assert_eq!(res.body().len(), Some(4));
    /// ```
    fn call(&self, req: Request<Body>) -> Response<ResponseBody>;
}

impl<F, B> Handler for F
where
    F: Fn(Request<Body>) -> Response<B>,
    B: Into<ResponseBody>,
{
    fn call(&self, req: Request<Body>) -> Response<ResponseBody> {
        self(req).map(Into::into)
    }
}
