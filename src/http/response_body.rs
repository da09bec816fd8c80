//! [`ResponseBody`]: what a handler answers with.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;

use super::{BodyWriter, Upgraded};

/// The closure of a streamed response.
pub(crate) type WriteFn = Box<dyn FnOnce(&mut BodyWriter<'_>) -> io::Result<()>>;
/// The closure taking over an upgraded connection.
pub(crate) type UpgradeFn = Box<dyn FnOnce(Upgraded)>;

pub(crate) enum Kind {
    Empty,
    Bytes(Bytes),
    Reader(Box<dyn Read>, Option<u64>),
    Writer(WriteFn),
    Upgrade(UpgradeFn),
}

/// The body of a response: in memory (sent with `Content-Length`, in the
/// same send as the head when it fits), read from a [`Read`]er (streamed;
/// chunked when its length is unknown), written by a closure as it goes
/// (server-sent events, long responses), or the takeover of the
/// connection after `101 Switching Protocols`.
///
/// Handlers may return `Response<B>` for any `B: Into<ResponseBody>`:
/// `()`, `&'static str`, `String`, `&'static [u8]`, `Vec<u8>`,
/// [`Bytes`], [`File`] (streamed with its length) or a `ResponseBody`.
///
/// The server frames responses itself: it sets `Content-Length` or
/// `Transfer-Encoding: chunked` (for HTTP/1.0 clients: closes the
/// connection after a body of unknown length), drops a
/// `Transfer-Encoding` the handler set, and refuses (with `500`) a
/// `Content-Length` that contradicts the body.
///
/// # Examples
///
/// ```
/// use gevent::http::ResponseBody;
/// use std::io::Write;
///
/// let fixed: ResponseBody = "Hello, World!".into();
/// let streamed = ResponseBody::reader(std::io::repeat(b'x').take(1 << 20));
/// let events = ResponseBody::writer(|w| {
///     for i in 0..3 {
///         writeln!(w, "data: {i}\n")?;
///         w.flush()?; // sends it now
///     }
///     Ok(())
/// });
/// # use std::io::Read;
/// # let _ = (fixed, streamed, events);
/// ```
pub struct ResponseBody(pub(crate) Kind);

impl ResponseBody {
    /// No body (`Content-Length: 0` where a body is allowed).
    ///
    /// ```
    /// let b = gevent::http::ResponseBody::empty();
    /// assert_eq!(b.len(), Some(0));
    /// ```
    pub fn empty() -> ResponseBody {
        ResponseBody(Kind::Empty)
    }

    /// A body streamed from `reader` until its end, sent chunked (to
    /// HTTP/1.0 clients: unframed, then the connection closes) unless the
    /// handler sets `Content-Length`, in which case exactly that many
    /// bytes are sent.
    ///
    /// ```
    /// let b = gevent::http::ResponseBody::reader(std::io::Cursor::new(vec![1, 2, 3]));
    /// assert_eq!(b.len(), None);
    /// ```
    pub fn reader<R: Read + 'static>(reader: R) -> ResponseBody {
        ResponseBody(Kind::Reader(Box::new(reader), None))
    }

    /// A body of exactly `len` bytes streamed from `reader`, sent with
    /// `Content-Length`. A reader that ends early breaks the response:
    /// the connection is closed.
    ///
    /// ```
    /// let b = gevent::http::ResponseBody::sized_reader(std::io::Cursor::new(vec![1, 2, 3]), 3);
    /// assert_eq!(b.len(), Some(3));
    /// ```
    pub fn sized_reader<R: Read + 'static>(reader: R, len: u64) -> ResponseBody {
        ResponseBody(Kind::Reader(Box::new(reader), Some(len)))
    }

    /// A body written by `f` after the head, through a [`BodyWriter`]:
    /// chunked unless the handler sets `Content-Length`. Writes are
    /// buffered (up to 16 KiB); [`flush`](std::io::Write::flush) sends
    /// what was written, with the head the first time. An error from `f`
    /// or a write ends the response abnormally: the connection closes
    /// without the final chunk, so the client sees it incomplete.
    ///
    /// For a `HEAD` request, `f` is not called.
    ///
    /// ```
    /// use std::io::Write;
    /// let b = gevent::http::ResponseBody::writer(|w| w.write_all(b"streamed"));
    /// assert_eq!(b.len(), None);
    /// ```
    pub fn writer<F>(f: F) -> ResponseBody
    where
        F: FnOnce(&mut BodyWriter<'_>) -> io::Result<()> + 'static,
    {
        ResponseBody(Kind::Writer(Box::new(f)))
    }

    /// Takes over the connection once the `101 Switching Protocols` head
    /// is sent (WebSocket and other upgrades): `f` gets the raw stream as
    /// an [`Upgraded`], bytes the client sent early included, and the
    /// connection ends when `f` returns. Only valid with status `101`
    /// (anything else is answered `500`), and `101` needs this body.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let b = gevent::http::ResponseBody::upgrade(|mut io| {
    ///     let mut buf = [0; 5];
    ///     if io.read_exact(&mut buf).is_ok() { let _ = io.write_all(&buf); }
    /// });
    /// assert!(b.is_upgrade());
    /// ```
    pub fn upgrade<F: FnOnce(Upgraded) + 'static>(f: F) -> ResponseBody {
        ResponseBody(Kind::Upgrade(Box::new(f)))
    }

    /// The length, where it is known before sending.
    ///
    /// ```
    /// assert_eq!(gevent::http::ResponseBody::from("abc").len(), Some(3));
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Option<u64> {
        match &self.0 {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::Reader(_, len) => *len,
            Kind::Writer(_) | Kind::Upgrade(_) => None,
        }
    }

    /// Whether it is an [`upgrade`](ResponseBody::upgrade).
    ///
    /// ```
    /// assert!(!gevent::http::ResponseBody::empty().is_upgrade());
    /// ```
    pub fn is_upgrade(&self) -> bool {
        matches!(self.0, Kind::Upgrade(_))
    }
}

impl Default for ResponseBody {
    fn default() -> ResponseBody {
        ResponseBody::empty()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Empty => f.write_str("ResponseBody::Empty"),
            Kind::Bytes(b) => write!(f, "ResponseBody::Bytes({} bytes)", b.len()),
            Kind::Reader(_, len) => write!(f, "ResponseBody::Reader(len: {len:?})"),
            Kind::Writer(_) => f.write_str("ResponseBody::Writer"),
            Kind::Upgrade(_) => f.write_str("ResponseBody::Upgrade"),
        }
    }
}

impl From<()> for ResponseBody {
    fn from(_: ()) -> ResponseBody {
        ResponseBody::empty()
    }
}

impl From<Bytes> for ResponseBody {
    fn from(b: Bytes) -> ResponseBody {
        ResponseBody(Kind::Bytes(b))
    }
}

impl From<&'static str> for ResponseBody {
    fn from(s: &'static str) -> ResponseBody {
        ResponseBody(Kind::Bytes(Bytes::from_static(s.as_bytes())))
    }
}

impl From<&'static [u8]> for ResponseBody {
    fn from(s: &'static [u8]) -> ResponseBody {
        ResponseBody(Kind::Bytes(Bytes::from_static(s)))
    }
}

impl From<String> for ResponseBody {
    fn from(s: String) -> ResponseBody {
        ResponseBody(Kind::Bytes(Bytes::from(s)))
    }
}

impl From<Vec<u8>> for ResponseBody {
    fn from(v: Vec<u8>) -> ResponseBody {
        ResponseBody(Kind::Bytes(Bytes::from(v)))
    }
}

impl From<File> for ResponseBody {
    /// Streams the file with its current length (chunked if the length
    /// cannot be read).
    fn from(f: File) -> ResponseBody {
        let len = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        ResponseBody(Kind::Reader(Box::new(f), len))
    }
}
