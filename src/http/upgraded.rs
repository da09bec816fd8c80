//! [`Upgraded`]: a connection taken over after `101 Switching Protocols`.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

use super::Transport;

/// The raw connection after a `101 Switching Protocols` response (see
/// [`ResponseBody::upgrade`](super::ResponseBody::upgrade)): reads give
/// first the bytes the client sent after its request head, then the
/// stream's. The read and write timeouts are cleared on hand-over; set
/// them with the [`Transport`] methods.
///
/// # Examples
///
/// ```
/// use gevent::http::{Body, ResponseBody, Upgraded};
/// use http::{Request, Response, StatusCode};
/// use std::io::{Read, Write};
///
/// // An echo protocol after the upgrade.
/// let handler = |_req: Request<Body>| {
///     Response::builder()
///         .status(StatusCode::SWITCHING_PROTOCOLS)
///         .header("upgrade", "echo")
///         .header("connection", "upgrade")
///         .body(ResponseBody::upgrade(|mut io: Upgraded| {
///             let mut buf = [0; 1024];
///             while let Ok(n @ 1..) = io.read(&mut buf) {
///                 if io.write_all(&buf[..n]).is_err() { break }
///             }
///         }))
///         .unwrap()
/// };
/// # let _ = handler;
/// ```
pub struct Upgraded {
    io: Box<dyn Transport>,
    early: Vec<u8>,
    pos: usize,
}

impl Upgraded {
    pub(crate) fn new(io: Box<dyn Transport>, early: Vec<u8>) -> Upgraded {
        Upgraded { io, early, pos: 0 }
    }

    /// The stream and the bytes read from it but not consumed yet.
    ///
    /// ```
    /// use gevent::http::{serve_connection, Body, Config, ResponseBody};
    /// use http::{Request, Response};
    /// use std::io::{Read, Write};
    ///
    /// let (server_side, mut client) = gevent::net::UnixStream::pair()?;
    /// let conn = gevent::spawn(move || {
    ///     let early = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    ///     let e = early.clone();
    ///     let h = move |_r: Request<Body>| {
    ///         let e = e.clone();
    ///         Response::builder().status(101).body(ResponseBody::upgrade(move |u| {
    ///             let (_stream, bytes) = u.into_parts();
    ///             *e.borrow_mut() = bytes;
    ///         })).unwrap()
    ///     };
    ///     let _ = serve_connection(server_side, None, &h, &Config::new());
    ///     early.take()
    /// });
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nhi")?;
    /// assert_eq!(conn.take().unwrap(), b"hi"); // sent with the head
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_parts(self) -> (Box<dyn Transport>, Vec<u8>) {
        let mut early = self.early;
        early.drain(..self.pos);
        (self.io, early)
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.early.len() {
            let n = buf.len().min(self.early.len() - self.pos);
            buf[..n].copy_from_slice(&self.early[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.io.read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.io.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl Transport for Upgraded {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.io.shutdown_write()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("early_bytes", &(self.early.len() - self.pos))
            .finish()
    }
}
