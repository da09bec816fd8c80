//! The per-connection engine: reading heads, decoding bodies, writing
//! responses, keep-alive, draining, timeouts, upgrades, the access log.

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, SERVER, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};

use super::body::Body;
use super::chunked::parse_chunk_line;
use super::config::Config;
use super::date;
use super::handler::Handler;
use super::head::{self, Framing, Head, Reject, find_head_end, first_lf, has_bare_lf};
use super::response_body::{Kind, ResponseBody};
use super::{BodyWriter, RemoteAddr, Transport, Upgraded};
use crate::greenlet::state::Throw;
use crate::server::drain::{self, Drain};

/// Initial read buffer size (grown up to the head limits when needed).
const READ_BUF: usize = 2048;
/// Reads of body data at least this large bypass the read buffer.
const DIRECT_READ: usize = 4096;
/// A bytes body up to this size is copied after the head (one send).
const COALESCE: usize = 64 * 1024;
/// Longest chunk-size line (with extensions).
const MAX_CHUNK_LINE: usize = 4096;
/// Most chunk-extension bytes in one body.
const MAX_CHUNK_EXT_TOTAL: usize = 16 * 1024;
/// Lingering close: how long and how much input to discard after a
/// half-close so that the client reads the response instead of a reset.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;
/// Empty lines tolerated before a request line.
const MAX_LEADING_BLANK_LINES: usize = 4;

/// Where a request body's decoding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decode {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Done,
}

/// Why a request body cannot be read further.
#[derive(Clone, Debug)]
pub(crate) enum BodyFail {
    /// Bad framing: the request gets `400` (or keeps the handler's error
    /// status) and the connection closes.
    Malformed(&'static str),
    /// Over a limit: `413`.
    TooLarge(u64),
    /// The connection failed (I/O error, timeout, early end).
    Broken(io::ErrorKind, String),
}

impl BodyFail {
    fn error(&self) -> io::Error {
        match self {
            BodyFail::Malformed(why) => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed request body: {why}"),
            ),
            BodyFail::TooLarge(limit) => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("request body larger than the limit of {limit} bytes"),
            ),
            BodyFail::Broken(kind, msg) => io::Error::new(*kind, msg.clone()),
        }
    }
}

/// The current request's body.
pub(crate) struct BodyState {
    pub(crate) decode: Decode,
    pub(crate) received: u64,
    pub(crate) declared: Option<u64>,
    pub(crate) expect_continue: bool,
    pub(crate) fail: Option<BodyFail>,
    pub(crate) trailers: Option<HeaderMap>,
    ext_total: usize,
}

impl BodyState {
    fn new(framing: Framing, expect_continue: bool) -> BodyState {
        let (decode, declared) = match framing {
            Framing::Length(0) => (Decode::Done, Some(0)),
            Framing::Length(n) => (Decode::Length(n), Some(n)),
            Framing::Chunked => (Decode::ChunkSize, None),
        };
        BodyState {
            decode,
            received: 0,
            declared,
            expect_continue: expect_continue && decode != Decode::Done,
            fail: None,
            trailers: None,
            ext_total: 0,
        }
    }
}

/// A decoding failure, before it is recorded.
enum Fail {
    Malformed(&'static str),
    TooLarge(u64),
    Io(io::Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Io(e)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "client closed the connection inside the request body",
    )
}

/// Everything of a connection that the engine, the request [`Body`] and
/// the [`BodyWriter`] share.
pub(crate) struct State {
    pub(crate) io: Option<Box<dyn Transport>>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pub(crate) seq: u64,
    pub(crate) body: BodyState,
    /// The final head went out (no `100 Continue` after it).
    pub(crate) head_sent: bool,
    pub(crate) body_limit: usize,
    max_body_size: Option<u64>,
    max_trailer_bytes: usize,
    max_headers: usize,
}

/// A connection shared by the engine and the request bodies it hands out.
pub(crate) struct Conn {
    pub(crate) st: RefCell<State>,
}

impl Conn {
    /// Reads request body bytes for the request number `seq`.
    pub(crate) fn read_body(&self, seq: u64, out: &mut [u8]) -> io::Result<usize> {
        let Ok(mut st) = self.st.try_borrow_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "the connection is in use by another greenlet",
            ));
        };
        if st.seq != seq {
            return Err(io::Error::other(
                "request body read after its response was completed",
            ));
        }
        st.read_body(out)
    }
}

impl State {
    fn io(&mut self) -> io::Result<&mut Box<dyn Transport>> {
        self.io.as_mut().ok_or_else(closed)
    }

    /// Reads once into the buffer's free space (compacting or growing it
    /// first when full); 0 at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.is_empty() {
                // Zeroed by the allocator (calloc): pages the reads never
                // reach are never touched, so an idle connection costs
                // only what it received.
                self.buf = vec![0; READ_BUF];
            } else {
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
        }
        let io = self.io.as_mut().ok_or_else(closed)?;
        loop {
            match io.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn read_body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.body.fail {
            return Err(f.error());
        }
        if out.is_empty() || self.body.decode == Decode::Done {
            return Ok(0);
        }
        if self.body.expect_continue {
            self.body.expect_continue = false;
            if !self.head_sent && self.start == self.end {
                let io = self.io()?;
                io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
                io.flush()?;
            }
        }
        match self.decode_body(out) {
            Ok(n) => Ok(n),
            Err(f) => {
                let fail = match f {
                    Fail::Malformed(why) => BodyFail::Malformed(why),
                    Fail::TooLarge(limit) => BodyFail::TooLarge(limit),
                    Fail::Io(e) => BodyFail::Broken(e.kind(), e.to_string()),
                };
                let e = fail.error();
                self.body.fail = Some(fail);
                Err(e)
            }
        }
    }

    fn decode_body(&mut self, out: &mut [u8]) -> Result<usize, Fail> {
        loop {
            match self.body.decode {
                Decode::Done => return Ok(0),
                Decode::Length(rem) => {
                    let n = self.read_data(out, rem)?;
                    let rem = rem - n as u64;
                    self.body.decode = if rem == 0 {
                        Decode::Done
                    } else {
                        Decode::Length(rem)
                    };
                    self.body.received += n as u64;
                    return Ok(n);
                }
                Decode::ChunkSize => {
                    let (s, e) = self.read_line(MAX_CHUNK_LINE)?;
                    let line = &self.buf[s..e];
                    let Some(size) = parse_chunk_line(line) else {
                        return Err(Fail::Malformed("invalid chunk size line"));
                    };
                    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                    self.body.ext_total += line.len() - digits;
                    if self.body.ext_total > MAX_CHUNK_EXT_TOTAL {
                        return Err(Fail::Malformed("chunk extensions too large"));
                    }
                    if size == 0 {
                        self.body.decode = Decode::Trailers;
                    } else {
                        let total = self.body.received.saturating_add(size);
                        if let Some(max) = self.max_body_size.filter(|&m| total > m) {
                            return Err(Fail::TooLarge(max));
                        }
                        self.body.decode = Decode::ChunkData(size);
                    }
                }
                Decode::ChunkData(rem) => {
                    let n = self.read_data(out, rem)?;
                    let rem = rem - n as u64;
                    self.body.decode = if rem == 0 {
                        Decode::ChunkEnd
                    } else {
                        Decode::ChunkData(rem)
                    };
                    self.body.received += n as u64;
                    return Ok(n);
                }
                Decode::ChunkEnd => {
                    while self.end - self.start < 2 {
                        if self.fill()? == 0 {
                            return Err(Fail::Io(early_eof()));
                        }
                    }
                    if self.buf[self.start..self.start + 2] != *b"\r\n" {
                        return Err(Fail::Malformed("chunk data not followed by CRLF"));
                    }
                    self.start += 2;
                    self.body.decode = Decode::ChunkSize;
                }
                Decode::Trailers => {
                    self.read_trailers()?;
                    self.body.decode = Decode::Done;
                    return Ok(0);
                }
            }
        }
    }

    /// Up to `rem` bytes of body data into `out`, from the buffer or the
    /// stream.
    fn read_data(&mut self, out: &mut [u8], rem: u64) -> Result<usize, Fail> {
        let want = (out.len() as u64).min(rem) as usize;
        if self.start == self.end {
            if want >= DIRECT_READ {
                let io = self.io()?;
                let n = loop {
                    match io.read(&mut out[..want]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r?,
                    }
                };
                if n == 0 {
                    return Err(Fail::Io(early_eof()));
                }
                return Ok(n);
            }
            if self.fill()? == 0 {
                return Err(Fail::Io(early_eof()));
            }
        }
        let n = want.min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }

    /// A CRLF-terminated line of at most `max` bytes: its range in the
    /// buffer without the CRLF (consumed).
    fn read_line(&mut self, max: usize) -> Result<(usize, usize), Fail> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(p) = first_lf(&avail[scanned..]) {
                let p = scanned + p;
                if p > max {
                    return Err(Fail::Malformed("chunk size line too long"));
                }
                if p == 0 || avail[p - 1] != b'\r' {
                    return Err(Fail::Malformed("bare LF in chunked framing"));
                }
                let s = self.start;
                self.start += p + 1;
                return Ok((s, s + p - 1));
            }
            scanned = avail.len();
            if scanned > max {
                return Err(Fail::Malformed("chunk size line too long"));
            }
            if self.fill()? == 0 {
                return Err(Fail::Io(early_eof()));
            }
        }
    }

    /// The trailer section after the last chunk, parsed and bounded.
    #[inline(never)]
    fn read_trailers(&mut self) -> Result<(), Fail> {
        let mut resume = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if avail.starts_with(b"\r\n") {
                self.start += 2;
                return Ok(());
            }
            if avail.first() == Some(&b'\n') {
                return Err(Fail::Malformed("bare LF in chunked framing"));
            }
            match find_head_end(avail, resume) {
                Ok(n) => {
                    let section = &avail[..n];
                    if has_bare_lf(section) {
                        return Err(Fail::Malformed("bare LF in trailers"));
                    }
                    if n > self.max_trailer_bytes {
                        return Err(Fail::Malformed("trailer section too large"));
                    }
                    let mut slots = vec![httparse::EMPTY_HEADER; self.max_headers];
                    let fields = match httparse::parse_headers(section, &mut slots) {
                        Ok(httparse::Status::Complete((_, fields))) => fields,
                        _ => return Err(Fail::Malformed("invalid trailer section")),
                    };
                    let mut map = HeaderMap::with_capacity(fields.len());
                    for f in fields {
                        let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(f.name.as_bytes()),
                            HeaderValue::from_bytes(f.value),
                        ) else {
                            return Err(Fail::Malformed("invalid trailer field"));
                        };
                        map.append(name, value);
                    }
                    self.body.trailers = Some(map);
                    self.start += n;
                    return Ok(());
                }
                Err(r) => resume = r,
            }
            if avail.len() > self.max_trailer_bytes {
                return Err(Fail::Malformed("trailer section too large"));
            }
            if self.fill()? == 0 {
                return Err(Fail::Io(early_eof()));
            }
        }
    }
}

/// Why no request head could be read.
enum HeadFail {
    Reject(Reject),
    Timeout,
    Io(io::Error),
}

/// What the engine keeps of a request while answering it.
struct ReqInfo {
    method: Method,
    version: Version,
    keep_alive: bool,
    /// `"GET /path HTTP/1.1"`, only with an access log.
    line: Option<String>,
    started: Instant,
}

/// How a response went.
struct Sent {
    status: StatusCode,
    bytes: u64,
    keep_alive: bool,
}

/// The engine of one connection.
pub(crate) struct Engine<'a> {
    conn: Rc<Conn>,
    config: &'a Config,
    peer: Option<SocketAddr>,
    /// The server's graceful-stop state, when served by a server: idle
    /// between requests, the connection is closed by its `stop`.
    drain: Option<Rc<Drain>>,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

pub(crate) fn push_hex(out: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 16];
    let mut i = tmp.len();
    let mut v = v;
    loop {
        i -= 1;
        tmp[i] = b"0123456789abcdef"[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Whether a header value (or name) could split or end the head.
fn unsafe_header_bytes(b: &[u8]) -> bool {
    b.iter().any(|&c| c == b'\r' || c == b'\n' || c == 0)
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// Writes all of `bufs` (one `writev` where the stream supports it).
pub(crate) fn write_all_vectored(io: &mut dyn Transport, bufs: &mut [&[u8]]) -> io::Result<()> {
    let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
    if let (Some(only), None) = (nonempty.next(), nonempty.next()) {
        // One buffer: a plain send, no slice vector.
        return io.write_all(only);
    }
    let mut first = 0;
    while first < bufs.len() {
        if bufs[first].is_empty() {
            first += 1;
            continue;
        }
        let slices: Vec<IoSlice<'_>> = bufs[first..].iter().map(|b| IoSlice::new(b)).collect();
        let mut n = match io.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        while n > 0 {
            let b = &mut bufs[first];
            let k = n.min(b.len());
            *b = &b[k..];
            n -= k;
            if b.is_empty() {
                first += 1;
            }
        }
    }
    Ok(())
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        io: Box<dyn Transport>,
        peer: Option<SocketAddr>,
        config: &'a Config,
    ) -> Engine<'a> {
        let st = State {
            io: Some(io),
            buf: Vec::new(),
            start: 0,
            end: 0,
            seq: 0,
            body: BodyState::new(Framing::Length(0), false),
            head_sent: false,
            body_limit: config.body_limit,
            max_body_size: config.max_body_size,
            max_trailer_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
        };
        Engine {
            conn: Rc::new(Conn {
                st: RefCell::new(st),
            }),
            config,
            peer,
            drain: drain::current(),
        }
    }

    fn state(&self) -> io::Result<std::cell::RefMut<'_, State>> {
        self.conn.st.try_borrow_mut().map_err(|_| {
            io::Error::new(
                io::ErrorKind::ResourceBusy,
                "the connection is in use by another greenlet",
            )
        })
    }

    /// Serves requests until the connection ends.
    pub(crate) fn run<H: Handler + ?Sized>(self, handler: &H) -> io::Result<()> {
        {
            let mut st = self.state()?;
            let io = st.io()?;
            io.set_write_timeout(self.config.write_timeout)?;
        }
        let mut first = true;
        loop {
            let head = match self.read_head(first) {
                Ok(Some(h)) => h,
                Ok(None) => {
                    self.close(false);
                    return Ok(());
                }
                Err(HeadFail::Reject(Reject(code, why))) => {
                    let info = ReqInfo {
                        method: Method::GET,
                        version: Version::HTTP_11,
                        keep_alive: false,
                        line: self.config.access_log.as_ref().map(|_| "-".to_string()),
                        started: Instant::now(),
                    };
                    let sent = self.send_error(code, why);
                    self.log(&info, code, sent.as_ref().map_or(0, |n| *n));
                    self.close(true);
                    return Ok(());
                }
                Err(HeadFail::Timeout) => {
                    let _ =
                        self.send_error(StatusCode::REQUEST_TIMEOUT, "request head took too long");
                    self.close(true);
                    return Ok(());
                }
                Err(HeadFail::Io(e)) => {
                    self.close(false);
                    return Err(e);
                }
            };
            first = false;
            match self.serve_request(head, handler) {
                Ok(true) => {}
                Ok(false) => {
                    self.close(true);
                    return Ok(());
                }
                Err(e) => {
                    self.close(false);
                    return Err(e);
                }
            }
        }
    }

    /// Reads the next request head. `Ok(None)`: the connection ended
    /// (closed by the client, or idle past the timeout) between requests.
    fn read_head(&self, first: bool) -> Result<Option<Head>, HeadFail> {
        let mut st = self.state().map_err(HeadFail::Io)?;
        let cfg = self.config;
        let mut deadline = first.then(|| Instant::now() + cfg.header_read_timeout);
        let mut resume = 0;
        // The request line's end once seen, and how far it was searched.
        let mut line_end: Option<usize> = None;
        let mut line_scan = 0;
        let mut blank = 0;
        loop {
            if resume == 0 {
                while st.end - st.start >= 2 && st.buf[st.start..st.start + 2] == *b"\r\n" {
                    st.start += 2;
                    blank += 1;
                    if blank > MAX_LEADING_BLANK_LINES {
                        return Err(HeadFail::Reject(Reject(
                            StatusCode::BAD_REQUEST,
                            "too many empty lines before the request",
                        )));
                    }
                }
            }
            let avail = &st.buf[st.start..st.end];
            if !avail.is_empty() {
                match find_head_end(avail, resume) {
                    Ok(n) => {
                        let head = head::parse(&avail[..n], cfg).map_err(HeadFail::Reject)?;
                        st.start += n;
                        return Ok(Some(head));
                    }
                    Err(r) => resume = r,
                }
                if line_end.is_none() {
                    line_end = first_lf(&avail[line_scan..]).map(|p| line_scan + p);
                    line_scan = avail.len();
                }
                match line_end {
                    None if avail.len() > cfg.max_request_line => {
                        return Err(HeadFail::Reject(Reject(
                            StatusCode::URI_TOO_LONG,
                            "request line too long",
                        )));
                    }
                    Some(e) if e > cfg.max_request_line => {
                        return Err(HeadFail::Reject(Reject(
                            StatusCode::URI_TOO_LONG,
                            "request line too long",
                        )));
                    }
                    Some(e) if avail.len() - e > cfg.max_header_bytes => {
                        return Err(HeadFail::Reject(Reject(
                            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "header section too large",
                        )));
                    }
                    _ => {}
                }
                if deadline.is_none() {
                    deadline = Some(Instant::now() + cfg.header_read_timeout);
                }
            }
            let timeout = match deadline {
                None => cfg.keepalive_timeout,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return if st.start == st.end {
                            Ok(None)
                        } else {
                            Err(HeadFail::Timeout)
                        };
                    }
                    (d - now).max(Duration::from_millis(1))
                }
            };
            st.io()
                .and_then(|io| io.set_read_timeout(Some(timeout)))
                .map_err(HeadFail::Io)?;
            // No byte of a request yet: the connection is idle, and a
            // stopping server closes it (now, or by killing this wait).
            let _idle = match (&self.drain, st.start == st.end) {
                (Some(d), true) => match drain::idle(d) {
                    Some(guard) => Some(guard),
                    None => return Ok(None),
                },
                _ => None,
            };
            match st.fill() {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return if st.start == st.end {
                        Ok(None)
                    } else {
                        Err(HeadFail::Timeout)
                    };
                }
                Err(e) => {
                    return if st.start == st.end && e.kind() == io::ErrorKind::ConnectionReset {
                        Ok(None)
                    } else {
                        Err(HeadFail::Io(e))
                    };
                }
            }
        }
    }

    /// Runs the handler for one request and answers it; whether the
    /// connection stays open for another.
    fn serve_request<H: Handler + ?Sized>(&self, head: Head, handler: &H) -> io::Result<bool> {
        let seq = {
            let mut st = self.state()?;
            st.seq += 1;
            st.body = BodyState::new(head.framing, head.expect_continue);
            st.head_sent = false;
            let t = self.config.read_timeout;
            st.io()?.set_read_timeout(t)?;
            st.seq
        };
        let info = ReqInfo {
            line: self
                .config
                .access_log
                .as_ref()
                .map(|_| format!("{} {} {:?}", head.method, head.uri, head.version)),
            method: head.method.clone(),
            version: head.version,
            keep_alive: head.keep_alive,
            started: Instant::now(),
        };
        let mut req = Request::new(Body::from_conn(self.conn.clone(), seq));
        *req.method_mut() = head.method;
        *req.uri_mut() = head.uri;
        *req.version_mut() = head.version;
        *req.headers_mut() = head.headers;
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(RemoteAddr(peer));
        }
        let uri = req.uri().clone();
        let response = match catch_unwind(AssertUnwindSafe(|| handler.call(req))) {
            Ok(r) => r,
            Err(p) if p.is::<Throw>() => resume_unwind(p),
            Err(p) => {
                eprintln!(
                    "gevent::http: handler panicked on \"{} {uri}\" from {}: {}",
                    info.method,
                    self.peer.map_or_else(|| "-".to_string(), |p| p.to_string()),
                    crate::hub::panic_message(&*p)
                );
                let mut r = error_response(StatusCode::INTERNAL_SERVER_ERROR, "handler failed");
                r.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                r
            }
        };
        let sent = self.respond(&info, response);
        // Whatever happened, the body handed out is finished now.
        if let Ok(mut st) = self.conn.st.try_borrow_mut() {
            st.seq += 1;
        }
        let sent = match sent {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(false), // upgraded
            Err(e) => return Err(e),
        };
        self.log(&info, sent.status, sent.bytes);
        Ok(sent.keep_alive)
    }

    /// Writes the response (and drains an unread body); `None` after an
    /// upgrade.
    fn respond(
        &self,
        info: &ReqInfo,
        response: Response<ResponseBody>,
    ) -> io::Result<Option<Sent>> {
        let (parts, body) = response.into_parts();
        let (mut status, mut headers, mut body) = (parts.status, parts.headers, body.0);
        let cfg = self.config;
        // A stopping server answers the requests in flight, then closes.
        let mut keep = info.keep_alive && cfg.keep_alive && !drain::stopping(self.drain.as_deref());
        let (fail, decode, continue_pending) = {
            let st = self.state()?;
            (
                st.body.fail.clone(),
                st.body.decode,
                st.body.expect_continue,
            )
        };
        if let Some(f) = &fail {
            keep = false;
            if status.as_u16() < 400 {
                let (code, why) = match f {
                    BodyFail::Malformed(why) => (StatusCode::BAD_REQUEST, *why),
                    BodyFail::TooLarge(_) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                    }
                    BodyFail::Broken(..) => (StatusCode::BAD_REQUEST, "request body incomplete"),
                };
                (status, headers, body) = into_triple(error_response(code, why));
            }
        }
        let upgrade = matches!(body, Kind::Upgrade(_));
        let bad = if upgrade != (status == StatusCode::SWITCHING_PROTOCOLS) {
            Some("101 Switching Protocols needs an upgrade body, and only it")
        } else if status.is_informational() && !upgrade {
            Some("informational status as a final response")
        } else if headers.iter().any(|(n, v)| {
            unsafe_header_bytes(n.as_str().as_bytes()) || unsafe_header_bytes(v.as_bytes())
        }) {
            Some("CR, LF or NUL in a response header")
        } else {
            None
        };
        if let Some(why) = bad {
            eprintln!("gevent::http: invalid response refused: {why}");
            keep = false;
            (status, headers, body) = into_triple(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid response",
            ));
        }
        if has_token(&headers, CONNECTION, b"close") {
            keep = false;
        }
        if decode != Decode::Done {
            if continue_pending {
                // The client may or may not send the body it announced.
                keep = false;
            } else if let Decode::Length(rem) = decode {
                if rem > cfg.drain_limit {
                    keep = false;
                }
            }
        }
        let head_req = info.method == Method::HEAD;
        let length = match resolve_length(&body, &headers, head_req, status) {
            Some(l) => l,
            None => {
                eprintln!(
                    "gevent::http: invalid response refused: Content-Length does not match the body"
                );
                keep = false;
                (status, headers, body) = into_triple(error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "invalid response",
                ));
                resolve_length(&body, &headers, head_req, status).flatten()
            }
        };
        self.write_response(info, status, headers, body, length, keep, head_req, decode)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_response(
        &self,
        info: &ReqInfo,
        status: StatusCode,
        mut headers: HeaderMap,
        body: Kind,
        length: Option<u64>,
        mut keep: bool,
        head_req: bool,
        decode: Decode,
    ) -> io::Result<Option<Sent>> {
        let no_body = no_body_of(status);
        let upgrade = matches!(body, Kind::Upgrade(_));
        let http10 = info.version == Version::HTTP_10;
        let chunked = !no_body && !upgrade && length.is_none() && !http10;
        if !no_body && !upgrade && length.is_none() && http10 && !head_req {
            keep = false; // the body ends when the connection does
        }
        headers.remove(TRANSFER_ENCODING);
        if !(no_body && status == StatusCode::NOT_MODIFIED) {
            headers.remove(CONTENT_LENGTH);
        }
        let mut w = Vec::with_capacity(256);
        w.extend_from_slice(b"HTTP/1.1 ");
        w.extend_from_slice(status.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        w.extend_from_slice(b"\r\n");
        for (name, value) in &headers {
            w.extend_from_slice(name.as_str().as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(value.as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        if !headers.contains_key(DATE) {
            w.extend_from_slice(b"date: ");
            w.extend_from_slice(&date::http_date_now());
            w.extend_from_slice(b"\r\n");
        }
        if !headers.contains_key(SERVER) {
            if let Some(s) = &self.config.server_header {
                w.extend_from_slice(b"server: ");
                w.extend_from_slice(s.as_bytes());
                w.extend_from_slice(b"\r\n");
            }
        }
        if !no_body && !upgrade {
            if let Some(n) = length {
                w.extend_from_slice(b"content-length: ");
                push_u64(&mut w, n);
                w.extend_from_slice(b"\r\n");
            } else if chunked {
                w.extend_from_slice(b"transfer-encoding: chunked\r\n");
            }
        }
        if !upgrade {
            if !keep {
                if !has_token(&headers, CONNECTION, b"close") {
                    w.extend_from_slice(b"connection: close\r\n");
                }
            } else if http10 {
                w.extend_from_slice(b"connection: keep-alive\r\n");
            }
        }
        w.extend_from_slice(b"\r\n");
        let send_body = !no_body && !head_req;
        let mut bytes = 0u64;
        match body {
            Kind::Upgrade(f) => {
                let (io, early) = {
                    let mut st = self.state()?;
                    let io = st.io()?;
                    io.write_all(&w)?;
                    io.flush()?;
                    io.set_read_timeout(None)?;
                    io.set_write_timeout(None)?;
                    st.head_sent = true;
                    let early = st.buf[st.start..st.end].to_vec();
                    st.start = st.end;
                    (st.io.take().ok_or_else(closed)?, early)
                };
                self.log(info, status, 0);
                let upgraded = Upgraded::new(io, early);
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(upgraded))) {
                    if p.is::<Throw>() {
                        resume_unwind(p);
                    }
                    eprintln!(
                        "gevent::http: upgrade handler panicked: {}",
                        crate::hub::panic_message(&*p)
                    );
                }
                return Ok(None);
            }
            Kind::Empty => self.send(&mut [&w])?,
            Kind::Bytes(b) => {
                if send_body {
                    bytes = b.len() as u64;
                    if w.len() + b.len() <= COALESCE {
                        w.extend_from_slice(&b);
                        self.send(&mut [&w])?;
                    } else {
                        self.send(&mut [&w, &b])?;
                    }
                } else {
                    self.send(&mut [&w])?;
                }
            }
            Kind::Reader(mut r, _) => {
                if send_body {
                    match self.send_reader(&mut w, &mut *r, length, chunked) {
                        Ok(n) => bytes = n,
                        Err(e) => {
                            self.mark_sent();
                            return Err(e);
                        }
                    }
                } else {
                    self.send(&mut [&w])?;
                }
            }
            Kind::Writer(f) => {
                if send_body {
                    let mode = match (length, chunked) {
                        (Some(n), _) => super::body_writer::Mode::Length(n),
                        (None, true) => super::body_writer::Mode::Chunked,
                        (None, false) => super::body_writer::Mode::Raw,
                    };
                    let mut bw = BodyWriter::new(&self.conn, w, mode);
                    let r = f(&mut bw).and_then(|()| bw.finish());
                    bytes = bw.written();
                    if let Err(e) = r {
                        self.mark_sent();
                        return Err(e);
                    }
                } else {
                    self.send(&mut [&w])?;
                }
            }
        }
        self.mark_sent();
        if keep && decode != Decode::Done {
            keep = self.drain();
        }
        Ok(Some(Sent {
            status,
            bytes,
            keep_alive: keep,
        }))
    }

    fn mark_sent(&self) {
        if let Ok(mut st) = self.conn.st.try_borrow_mut() {
            st.head_sent = true;
        }
    }

    /// Sends `bufs` and flushes.
    fn send(&self, bufs: &mut [&[u8]]) -> io::Result<()> {
        let mut st = self.state()?;
        st.head_sent = true;
        let io = st.io()?;
        write_all_vectored(&mut **io, bufs)?;
        io.flush()
    }

    /// Streams a reader's body after the head in `w`.
    fn send_reader(
        &self,
        w: &mut Vec<u8>,
        r: &mut dyn Read,
        length: Option<u64>,
        chunked: bool,
    ) -> io::Result<u64> {
        const CHUNK: usize = 16 * 1024;
        let mut data = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let want = match length {
                Some(len) => ((len - total).min(CHUNK as u64)) as usize,
                None => CHUNK,
            };
            if want == 0 {
                break;
            }
            let n = loop {
                match r.read(&mut data[..want]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    res => break res?,
                }
            };
            if n == 0 {
                if length.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "response body reader ended before its length",
                    ));
                }
                break;
            }
            total += n as u64;
            if chunked {
                push_hex(w, n as u64);
                w.extend_from_slice(b"\r\n");
                w.extend_from_slice(&data[..n]);
                w.extend_from_slice(b"\r\n");
            } else {
                w.extend_from_slice(&data[..n]);
            }
            if w.len() >= CHUNK {
                self.send(&mut [w])?;
                w.clear();
            }
        }
        if chunked {
            w.extend_from_slice(b"0\r\n\r\n");
        }
        self.send(&mut [w])?;
        Ok(total)
    }

    /// Discards what is left of a request body, up to the drain limit;
    /// whether the connection can carry another request.
    #[inline(never)]
    fn drain(&self) -> bool {
        let Ok(mut st) = self.state() else {
            return false;
        };
        let mut left = self.config.drain_limit;
        // On the heap: a stack array would make every connection's
        // greenlet touch (and keep) more stack pages.
        let mut scratch = vec![0u8; 4096];
        loop {
            if st.body.decode == Decode::Done {
                return st.body.fail.is_none();
            }
            if left == 0 {
                return false;
            }
            let want = (left.min(scratch.len() as u64)) as usize;
            match st.read_body(&mut scratch[..want]) {
                Ok(0) => return st.body.decode == Decode::Done && st.body.fail.is_none(),
                Ok(n) => left = left.saturating_sub(n as u64),
                Err(_) => return false,
            }
        }
    }

    /// Answers a request the engine refuses (the connection closes);
    /// the body's length.
    #[inline(never)]
    fn send_error(&self, code: StatusCode, why: &str) -> Option<u64> {
        let body = format!(
            "{} {}: {why}\n",
            code.as_str(),
            code.canonical_reason().unwrap_or("")
        );
        let mut w = Vec::with_capacity(256 + body.len());
        w.extend_from_slice(b"HTTP/1.1 ");
        w.extend_from_slice(code.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(code.canonical_reason().unwrap_or("").as_bytes());
        w.extend_from_slice(b"\r\ndate: ");
        w.extend_from_slice(&date::http_date_now());
        if let Some(s) = &self.config.server_header {
            w.extend_from_slice(b"\r\nserver: ");
            w.extend_from_slice(s.as_bytes());
        }
        w.extend_from_slice(
            b"\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ",
        );
        push_u64(&mut w, body.len() as u64);
        w.extend_from_slice(b"\r\n\r\n");
        w.extend_from_slice(body.as_bytes());
        self.send(&mut [&w]).ok().map(|()| body.len() as u64)
    }

    /// Ends the connection; with `linger`, half-closes and discards the
    /// client's remaining input for a while, so that it reads the last
    /// response rather than a reset.
    #[inline(never)]
    fn close(&self, linger: bool) {
        let Ok(mut st) = self.conn.st.try_borrow_mut() else {
            return;
        };
        let Some(mut io) = st.io.take() else { return };
        drop(st);
        if !linger {
            return;
        }
        let _ = io.flush();
        if io.shutdown_write().is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER_TIME;
        let mut left = LINGER_BYTES;
        let mut scratch = vec![0u8; 4096];
        while left > 0 {
            let now = Instant::now();
            if now >= deadline || io.set_read_timeout(Some(deadline - now)).is_err() {
                break;
            }
            match io.read(&mut scratch) {
                Ok(0) => break,
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// One access log line (Common Log Format plus the request time).
    fn log(&self, info: &ReqInfo, status: StatusCode, bytes: u64) {
        let Some(log) = &self.config.access_log else {
            return;
        };
        let line = format!(
            "{} - - [{}] \"{}\" {} {} {:.6}\n",
            self.peer
                .map_or_else(|| "-".to_string(), |p| p.ip().to_string()),
            date::clf_date(date::now_secs()),
            info.line.as_deref().unwrap_or("-"),
            status.as_u16(),
            if bytes == 0 {
                "-".to_string()
            } else {
                bytes.to_string()
            },
            info.started.elapsed().as_secs_f64()
        );
        if let Ok(mut w) = log.lock() {
            let _ = w.write_all(line.as_bytes());
            let _ = w.flush();
        }
    }
}

/// The body length to announce: `Some(None)` when unknown (chunked),
/// `None` when the handler's `Content-Length` contradicts the body.
fn resolve_length(
    body: &Kind,
    headers: &HeaderMap,
    head_req: bool,
    status: StatusCode,
) -> Option<Option<u64>> {
    let mut declared: Option<u64> = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        match std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(n) if declared.is_none_or(|d| d == n) => declared = Some(n),
            _ => return None,
        }
    }
    let known = match body {
        Kind::Empty => Some(0),
        Kind::Bytes(b) => Some(b.len() as u64),
        Kind::Reader(_, len) => *len,
        Kind::Writer(_) | Kind::Upgrade(_) => None,
    };
    match (known, declared) {
        (Some(k), Some(d)) if k != d => {
            // A HEAD or 304 answer may announce the length of a body it
            // does not send.
            (matches!(body, Kind::Empty) && (head_req || status == StatusCode::NOT_MODIFIED))
                .then_some(Some(d))
        }
        (Some(k), _) => Some(Some(k)),
        (None, d) => Some(d),
    }
}

fn no_body_of(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

fn into_triple(r: Response<ResponseBody>) -> (StatusCode, HeaderMap, Kind) {
    let (parts, body) = r.into_parts();
    (parts.status, parts.headers, body.0)
}

/// A plain-text error response.
pub(crate) fn error_response(code: StatusCode, why: &str) -> Response<ResponseBody> {
    let text = format!(
        "{} {}: {why}\n",
        code.as_str(),
        code.canonical_reason().unwrap_or("")
    );
    let mut r = Response::new(ResponseBody::from(text));
    *r.status_mut() = code;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
