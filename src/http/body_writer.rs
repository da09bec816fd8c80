//! [`BodyWriter`]: the writer of a streamed response.

use std::fmt;
use std::io::{self, Write};

use super::conn::{Conn, push_hex, write_all_vectored};

/// How the written bytes are framed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Unframed; the connection closes after (HTTP/1.0).
    Raw,
}

/// Buffered bytes sent as one chunk.
const BUFFER: usize = 16 * 1024;

/// Writes the body of a [`ResponseBody::writer`](super::ResponseBody::writer)
/// response: buffered up to 16 KiB, each [`flush`](Write::flush) sends
/// what was written (the first one together with the head), framed as
/// chunks unless the handler set `Content-Length`.
///
/// Writes fail once the client is gone or stops reading for longer than
/// [`Config::write_timeout`](super::Config::write_timeout); writing more
/// than a declared `Content-Length` fails with `InvalidInput`.
///
/// # Examples
///
/// ```
/// use gevent::http::ResponseBody;
/// use std::io::Write;
///
/// // Server-sent events: one event per second, each sent at once.
/// let events = ResponseBody::writer(|w| {
///     for i in 0..3 {
///         write!(w, "data: tick {i}\n\n")?;
///         w.flush()?;
///         gevent::sleep(std::time::Duration::from_secs(1));
///     }
///     Ok(())
/// });
/// # let _ = events;
/// ```
pub struct BodyWriter<'a> {
    conn: &'a Conn,
    /// Bytes to send: the head first, then framed data.
    out: Vec<u8>,
    /// Data not framed yet.
    pending: Vec<u8>,
    mode: Mode,
    written: u64,
    failed: bool,
}

impl<'a> BodyWriter<'a> {
    pub(crate) fn new(conn: &'a Conn, head: Vec<u8>, mode: Mode) -> BodyWriter<'a> {
        BodyWriter {
            conn,
            out: head,
            pending: Vec::new(),
            mode,
            written: 0,
            failed: false,
        }
    }

    /// Body bytes accepted so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// How many body bytes were written so far.
    ///
    /// ```
    /// use std::io::Write;
    /// let b = gevent::http::ResponseBody::writer(|w| {
    ///     w.write_all(b"abc")?;
    ///     assert_eq!(w.bytes_written(), 3);
    ///     Ok(())
    /// });
    /// # let _ = b;
    /// ```
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    fn send(&mut self, last: bool) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "an earlier write of this response failed",
            ));
        }
        let mut frame = Vec::new();
        let data: &[u8] = &self.pending;
        let mut tail: &[u8] = b"";
        if self.mode == Mode::Chunked {
            if !data.is_empty() {
                push_hex(&mut frame, data.len() as u64);
                frame.extend_from_slice(b"\r\n");
                tail = b"\r\n";
            }
            if last {
                tail = if data.is_empty() {
                    b"0\r\n\r\n"
                } else {
                    b"\r\n0\r\n\r\n"
                };
            }
        }
        if self.out.is_empty() && frame.is_empty() && data.is_empty() && tail.is_empty() {
            return Ok(());
        }
        let r = (|| {
            let mut st = self.conn.st.try_borrow_mut().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "the connection is in use by another greenlet",
                )
            })?;
            st.head_sent = true;
            let io = st
                .io
                .as_mut()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "connection closed"))?;
            write_all_vectored(&mut **io, &mut [&self.out, &frame, data, tail])?;
            io.flush()
        })();
        self.out.clear();
        self.pending.clear();
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Sends the rest and the end of the body.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Mode::Length(n) = self.mode {
            if self.written != n {
                self.failed = true;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "response body of {} bytes for a Content-Length of {n}",
                        self.written
                    ),
                ));
            }
        }
        self.send(true)
    }
}

impl Write for BodyWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "an earlier write of this response failed",
            ));
        }
        if let Mode::Length(n) = self.mode {
            if self.written + buf.len() as u64 > n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("response body longer than its Content-Length of {n}"),
                ));
            }
        }
        self.pending.extend_from_slice(buf);
        self.written += buf.len() as u64;
        if self.pending.len() >= BUFFER {
            self.send(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send(false)
    }
}

impl fmt::Debug for BodyWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter")
            .field("mode", &self.mode)
            .field("written", &self.written)
            .finish()
    }
}
