//! [`Body`]: a request body, streamed from the connection.

use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use bytes::Bytes;
use http::HeaderMap;

use super::conn::{BodyFail, Conn, Decode};

enum Source {
    Memory(Bytes, usize),
    Conn(Rc<Conn>, u64),
}

/// The body of a request: [`Read`] it, and it streams from the socket
/// cooperatively (only the reading greenlet waits); nothing is buffered
/// whole unless asked with [`bytes`](Body::bytes) or `read_to_end`.
///
/// * Chunked bodies are decoded; their trailers are parsed (bounded like
///   headers) and available from [`trailers`](Body::trailers) at the end.
/// * `Expect: 100-continue` is answered with one `100 Continue` on the
///   first read, and never if the handler does not read.
/// * A malformed body (bad chunk framing) fails to read with
///   `InvalidData`, and the server answers `400` and closes the
///   connection (unless the handler answered with an error status
///   itself); a body over a limit likewise gives `413`.
/// * What the handler leaves unread is discarded after the response, up
///   to [`Config::drain_limit`](super::Config::drain_limit); beyond that
///   the connection closes.
/// * A body outlives its request only as a handle: reading it after the
///   response was sent fails.
///
/// `Body::from(bytes)` makes an in-memory body, for calling handlers in
/// tests.
///
/// # Examples
///
/// ```
/// use gevent::http::Body;
/// use std::io::Read;
///
/// let mut body = Body::from("name=gevent");
/// let mut s = String::new();
/// body.read_to_string(&mut s)?;
/// assert_eq!(s, "name=gevent");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Body {
    src: Source,
}

impl Body {
    pub(crate) fn from_conn(conn: Rc<Conn>, seq: u64) -> Body {
        Body {
            src: Source::Conn(conn, seq),
        }
    }

    /// An empty body.
    ///
    /// ```
    /// assert_eq!(gevent::http::Body::empty().content_length(), Some(0));
    /// ```
    pub fn empty() -> Body {
        Body::from(Bytes::new())
    }

    /// The length announced by `Content-Length` (`None` for a chunked
    /// body).
    ///
    /// ```
    /// assert_eq!(gevent::http::Body::from("abc").content_length(), Some(3));
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        match &self.src {
            Source::Memory(b, _) => Some(b.len() as u64),
            Source::Conn(c, _) => c.st.try_borrow().ok().and_then(|st| st.body.declared),
        }
    }

    /// Whether the whole body has been read.
    ///
    /// ```
    /// use std::io::Read;
    /// let mut b = gevent::http::Body::from("x");
    /// assert!(!b.is_end());
    /// b.read_to_end(&mut Vec::new())?;
    /// assert!(b.is_end());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_end(&self) -> bool {
        match &self.src {
            Source::Memory(b, pos) => *pos == b.len(),
            Source::Conn(c, seq) => {
                c.st.try_borrow()
                    .is_ok_and(|st| st.seq != *seq || st.body.decode == Decode::Done)
            }
        }
    }

    /// The trailer fields of a chunked body, once it has been read to its
    /// end (`None` before, or when there were none).
    ///
    /// ```
    /// assert!(gevent::http::Body::from("x").trailers().is_none());
    /// ```
    pub fn trailers(&self) -> Option<HeaderMap> {
        match &self.src {
            Source::Memory(..) => None,
            Source::Conn(c, seq) => {
                c.st.try_borrow()
                    .ok()
                    .filter(|st| st.seq == *seq)
                    .and_then(|st| st.body.trailers.clone())
            }
        }
    }

    /// Reads the whole body into memory, up to
    /// [`Config::body_limit`](super::Config::body_limit) (1 MiB unless
    /// configured).
    ///
    /// # Errors
    ///
    /// `InvalidData` if the body is larger (the response then becomes
    /// `413 Content Too Large`) or malformed; the connection's error
    /// otherwise.
    ///
    /// ```
    /// assert_eq!(gevent::http::Body::from("abc").bytes()?, b"abc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let limit = match &self.src {
            Source::Memory(..) => 1 << 20,
            Source::Conn(c, _) => c.st.try_borrow().map_or(1 << 20, |st| st.body_limit),
        };
        self.bytes_limited(limit)
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    ///
    /// # Errors
    ///
    /// As [`bytes`](Body::bytes).
    ///
    /// ```
    /// let err = gevent::http::Body::from("abcdef").bytes_limited(3).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    /// ```
    pub fn bytes_limited(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        let too_large = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("request body larger than the limit of {limit} bytes"),
            )
        };
        let declared = self.content_length();
        if declared.is_some_and(|n| n > limit as u64) {
            self.fail_too_large(limit);
            return Err(too_large());
        }
        let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit));
        let mut buf = vec![0u8; 8192];
        loop {
            let n = self.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > limit {
                self.fail_too_large(limit);
                return Err(too_large());
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn fail_too_large(&self, limit: usize) {
        if let Source::Conn(c, seq) = &self.src {
            if let Ok(mut st) = c.st.try_borrow_mut() {
                if st.seq == *seq && st.body.fail.is_none() {
                    st.body.fail = Some(BodyFail::TooLarge(limit as u64));
                }
            }
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.src {
            Source::Memory(b, pos) => {
                let n = buf.len().min(b.len() - *pos);
                buf[..n].copy_from_slice(&b[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            Source::Conn(c, seq) => c.read_body(*seq, buf),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body {
            src: Source::Memory(b, 0),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(s))
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("content_length", &self.content_length())
            .field("is_end", &self.is_end())
            .finish()
    }
}
