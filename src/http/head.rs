//! Request heads: finding their end, parsing them with `httparse`, and the
//! RFC 9112 framing rules (which body follows, keep-alive, expectations).

use std::mem::MaybeUninit;

use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

use super::config::Config;

/// Header slots parsed on the stack before falling back to the heap.
const STACK_HEADERS: usize = 24;

/// How the request body is delimited.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// A parsed and validated request head.
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// Why a head is refused: the status to answer (the connection closes).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Reject(pub(crate) StatusCode, pub(crate) &'static str);

fn reject<T>(code: StatusCode, why: &'static str) -> Result<T, Reject> {
    Err(Reject(code, why))
}

/// Where the blank line ending a head is, searching `buf[from..]`:
/// `Ok(end)` (the index after it), or `Err(resume)`, the index to resume
/// the search from once more bytes arrived.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                None => return Err(i),
                Some(b'\n') => return Ok(i + 2),
                Some(b'\r') => match buf.get(i + 2) {
                    None => return Err(i),
                    Some(b'\n') => return Ok(i + 3),
                    Some(_) => {}
                },
                Some(_) => {}
            }
        }
        i += 1;
    }
    Err(buf.len())
}

/// Whether `buf` holds a line feed not preceded by a carriage return.
pub(crate) fn has_bare_lf(buf: &[u8]) -> bool {
    let mut prev = 0u8;
    for &b in buf {
        if b == b'\n' && prev != b'\r' {
            return true;
        }
        prev = b;
    }
    false
}

/// The position of the first line feed, if any.
pub(crate) fn first_lf(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// `tchar` of RFC 9110.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a list header value on commas, trimming spaces and tabs.
fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(|s| s.trim_ascii())
}

/// Parses a complete head (`buf` ends with its blank line). Not inlined:
/// its header array lives in its own frame, only while parsing.
#[inline(never)]
pub(crate) fn parse(buf: &[u8], config: &Config) -> Result<Head, Reject> {
    let line_end = first_lf(buf).unwrap_or(buf.len());
    if line_end > config.max_request_line {
        return reject(StatusCode::URI_TOO_LONG, "request line too long");
    }
    if buf.len() - line_end > config.max_header_bytes {
        return reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header section too large",
        );
    }
    if has_bare_lf(buf) {
        return reject(StatusCode::BAD_REQUEST, "bare LF in request head");
    }
    // Most requests have few fields: a small array on the stack (each
    // greenlet keeps the stack pages it ever touched), the configured
    // maximum on the heap only when they do not fit.
    let mut stack: [MaybeUninit<httparse::Header<'_>>; STACK_HEADERS] =
        [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let mut req = httparse::Request::new(&mut []);
    let mut r =
        req.parse_with_uninit_headers(buf, &mut stack[..config.max_headers.min(STACK_HEADERS)]);
    if matches!(r, Err(httparse::Error::TooManyHeaders)) && config.max_headers > STACK_HEADERS {
        heap.resize_with(config.max_headers, MaybeUninit::uninit);
        req = httparse::Request::new(&mut []);
        r = req.parse_with_uninit_headers(buf, &mut heap[..]);
    }
    match r {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return reject(StatusCode::BAD_REQUEST, "incomplete head"),
        Err(httparse::Error::TooManyHeaders) => {
            return reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            );
        }
        Err(httparse::Error::Version) => {
            return reject(StatusCode::BAD_REQUEST, "unsupported HTTP version");
        }
        Err(_) => return reject(StatusCode::BAD_REQUEST, "malformed request head"),
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return reject(StatusCode::BAD_REQUEST, "malformed request line");
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return reject(StatusCode::BAD_REQUEST, "bad method");
    };
    let Ok(uri) = path.parse::<Uri>() else {
        return reject(StatusCode::BAD_REQUEST, "bad request target");
    };
    let version = if minor == 1 {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return reject(StatusCode::BAD_REQUEST, "invalid header field");
        };
        headers.append(name, value);
    }
    analyse(method, uri, version, headers, config)
}

/// The framing and connection rules of RFC 9112 over parsed headers.
fn analyse(
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    config: &Config,
) -> Result<Head, Reject> {
    let http11 = version == Version::HTTP_11;
    // Host: exactly one in HTTP/1.1, at most one in HTTP/1.0.
    let hosts = headers.get_all(HOST).iter().count();
    if hosts > 1 || (http11 && hosts == 0) {
        return reject(StatusCode::BAD_REQUEST, "missing or repeated Host");
    }
    let mut framing = Framing::Length(0);
    let has_te = headers.contains_key(TRANSFER_ENCODING);
    let has_cl = headers.contains_key(CONTENT_LENGTH);
    if has_te {
        if has_cl {
            return reject(
                StatusCode::BAD_REQUEST,
                "both Transfer-Encoding and Content-Length",
            );
        }
        if !http11 {
            return reject(StatusCode::BAD_REQUEST, "Transfer-Encoding in HTTP/1.0");
        }
        let mut codings = Vec::new();
        for v in headers.get_all(TRANSFER_ENCODING) {
            for item in list_items(v.as_bytes()) {
                if item.is_empty() || !item.iter().all(|&b| is_tchar(b)) {
                    return reject(StatusCode::BAD_REQUEST, "malformed Transfer-Encoding");
                }
                codings.push(item);
            }
        }
        let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        let n_chunked = codings.iter().filter(|c| chunked(c)).count();
        if codings.last().is_none_or(|c| !chunked(c)) || n_chunked != 1 {
            return reject(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding must end with one chunked",
            );
        }
        if codings.len() > 1 {
            return reject(StatusCode::NOT_IMPLEMENTED, "unsupported transfer coding");
        }
        framing = Framing::Chunked;
    } else if has_cl {
        let mut len: Option<u64> = None;
        for v in headers.get_all(CONTENT_LENGTH) {
            let v = v.as_bytes();
            if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
                return reject(StatusCode::BAD_REQUEST, "malformed Content-Length");
            }
            let n = v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            if len.is_some_and(|l| l != n) {
                return reject(StatusCode::BAD_REQUEST, "differing Content-Lengths");
            }
            len = Some(n);
        }
        let n = len.unwrap_or(0);
        if config.max_body_size.is_some_and(|max| n > max) {
            return reject(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        framing = Framing::Length(n);
    }
    let mut close = false;
    let mut keep = false;
    for v in headers.get_all(CONNECTION) {
        for item in list_items(v.as_bytes()) {
            close |= item.eq_ignore_ascii_case(b"close");
            keep |= item.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    let keep_alive = if http11 { !close } else { keep && !close };
    let mut expect_continue = false;
    for v in headers.get_all(EXPECT) {
        if v.as_bytes().eq_ignore_ascii_case(b"100-continue") {
            expect_continue = http11;
        } else {
            return reject(StatusCode::EXPECTATION_FAILED, "unsupported expectation");
        }
    }
    Ok(Head {
        method,
        uri,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue,
    })
}
