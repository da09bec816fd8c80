//! [`Config`]: limits, timeouts and options of the HTTP server.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderValue;

/// A shared writer for the access log.
pub(crate) type LogWriter = Arc<Mutex<dyn Write + Send>>;

/// Limits, timeouts and options of the HTTP server; every setter returns
/// the config, so they chain. The defaults are safe for a server exposed
/// to the Internet.
///
/// | option | default |
/// | --- | --- |
/// | [`max_request_line`](Config::max_request_line) | 8 KiB (longer: `414`) |
/// | [`max_header_bytes`](Config::max_header_bytes) | 64 KiB (more: `431`) |
/// | [`max_headers`](Config::max_headers) | 100 fields (more: `431`) |
/// | [`body_limit`](Config::body_limit) | 1 MiB for [`Body::bytes`](super::Body::bytes) (more: `413`) |
/// | [`max_body_size`](Config::max_body_size) | none (streamed bodies are unlimited) |
/// | [`drain_limit`](Config::drain_limit) | 256 KiB of unread body discarded to keep the connection |
/// | [`header_read_timeout`](Config::header_read_timeout) | 10 s for a whole request head |
/// | [`keepalive_timeout`](Config::keepalive_timeout) | 60 s idle between requests |
/// | [`read_timeout`](Config::read_timeout) | 60 s per body read |
/// | [`write_timeout`](Config::write_timeout) | 60 s per write without progress |
/// | [`keep_alive`](Config::keep_alive) | on |
/// | [`server_header`](Config::server_header) | `gevent` |
/// | [`access_log`](Config::access_log) | off |
///
/// # Examples
///
/// ```
/// use gevent::http::Config;
/// use std::time::Duration;
///
/// let config = Config::new()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_body_size(Some(10 << 20))
///     .access_log(std::io::stderr());
/// assert_eq!(config.get_header_read_timeout(), Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) max_request_line: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) body_limit: usize,
    pub(crate) max_body_size: Option<u64>,
    pub(crate) drain_limit: u64,
    pub(crate) header_read_timeout: Duration,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) keep_alive: bool,
    pub(crate) server_header: Option<HeaderValue>,
    pub(crate) access_log: Option<LogWriter>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_request_line: 8 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            body_limit: 1 << 20,
            max_body_size: None,
            drain_limit: 256 * 1024,
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(60),
            read_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(60)),
            keep_alive: true,
            server_header: Some(HeaderValue::from_static("gevent")),
            access_log: None,
        }
    }
}

/// A zero duration would be refused by the sockets; the smallest bound.
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

impl Config {
    /// The defaults (see the table above).
    ///
    /// ```
    /// assert!(gevent::http::Config::new().get_keep_alive());
    /// ```
    pub fn new() -> Config {
        Config::default()
    }

    /// The longest request line (method, target, version) accepted;
    /// longer gets `414 URI Too Long`.
    ///
    /// ```
    /// let c = gevent::http::Config::new().max_request_line(4096);
    /// ```
    pub fn max_request_line(mut self, bytes: usize) -> Config {
        self.max_request_line = bytes.max(16);
        self
    }

    /// The largest header section accepted (request line excluded);
    /// larger gets `431 Request Header Fields Too Large`. Also bounds the
    /// trailer section of a chunked body (larger: `400`).
    ///
    /// ```
    /// let c = gevent::http::Config::new().max_header_bytes(16 * 1024);
    /// ```
    pub fn max_header_bytes(mut self, bytes: usize) -> Config {
        self.max_header_bytes = bytes.max(64);
        self
    }

    /// The most header fields accepted (at most 1000); more gets `431`.
    ///
    /// ```
    /// let c = gevent::http::Config::new().max_headers(50);
    /// ```
    pub fn max_headers(mut self, fields: usize) -> Config {
        self.max_headers = fields.clamp(1, 1000);
        self
    }

    /// The default limit of [`Body::bytes`](super::Body::bytes): a body
    /// larger than this fails to load there, and the response becomes
    /// `413 Content Too Large`.
    ///
    /// ```
    /// let c = gevent::http::Config::new().body_limit(64 * 1024);
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Config {
        self.body_limit = bytes;
        self
    }

    /// A limit for every request body, streamed or not (`None`: no
    /// limit, the default). A declared `Content-Length` over it gets
    /// `413` before the handler runs; a chunked body that grows over it
    /// fails to read, and the response becomes `413`.
    ///
    /// ```
    /// let c = gevent::http::Config::new().max_body_size(Some(100 << 20));
    /// ```
    pub fn max_body_size(mut self, bytes: Option<u64>) -> Config {
        self.max_body_size = bytes;
        self
    }

    /// How much of a request body the handler did not read is read and
    /// discarded to keep the connection alive; a longer one closes the
    /// connection after the response.
    ///
    /// ```
    /// let c = gevent::http::Config::new().drain_limit(0); // never drain
    /// ```
    pub fn drain_limit(mut self, bytes: u64) -> Config {
        self.drain_limit = bytes;
        self
    }

    /// How long a client may take to send a whole request head, counted
    /// from the connection's start for its first request and from the
    /// first byte for later ones: a total, not per read, so a client
    /// sending a byte at a time (slowloris) is cut off.
    ///
    /// ```
    /// let c = gevent::http::Config::new().header_read_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Config {
        self.header_read_timeout = nonzero(timeout);
        self
    }

    /// How long a keep-alive connection may stay idle between requests.
    ///
    /// ```
    /// let c = gevent::http::Config::new().keepalive_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Config {
        self.keepalive_timeout = nonzero(timeout);
        self
    }

    /// Bounds each read of a request body (`None`: unbounded).
    ///
    /// ```
    /// let c = gevent::http::Config::new().read_timeout(Some(std::time::Duration::from_secs(30)));
    /// ```
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.read_timeout = timeout.map(nonzero);
        self
    }

    /// Bounds each write that makes no progress (a client that stops
    /// reading a large or endless response): the write fails and the
    /// connection closes (`None`: unbounded).
    ///
    /// ```
    /// let c = gevent::http::Config::new().write_timeout(Some(std::time::Duration::from_secs(30)));
    /// ```
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.write_timeout = timeout.map(nonzero);
        self
    }

    /// Whether connections are kept alive between requests (HTTP/1.1 by
    /// default, HTTP/1.0 with `Connection: keep-alive`).
    ///
    /// ```
    /// let c = gevent::http::Config::new().keep_alive(false);
    /// ```
    pub fn keep_alive(mut self, on: bool) -> Config {
        self.keep_alive = on;
        self
    }

    /// The `Server` header added to responses that have none (`None`:
    /// none added).
    ///
    /// ```
    /// use http::HeaderValue;
    /// let c = gevent::http::Config::new().server_header(Some(HeaderValue::from_static("app/1.0")));
    /// ```
    pub fn server_header(mut self, value: Option<HeaderValue>) -> Config {
        self.server_header = value;
        self
    }

    /// Logs each request to `writer` in the Common Log Format, as
    /// gevent's pywsgi does, followed by the request's time in seconds:
    /// `127.0.0.1 - - [04/Dec/2026:15:22:10 +0000] "GET / HTTP/1.1" 200 13 0.000112`.
    ///
    /// ```
    /// let c = gevent::http::Config::new().access_log(std::io::stdout());
    /// ```
    pub fn access_log<W: Write + Send + 'static>(mut self, writer: W) -> Config {
        self.access_log = Some(Arc::new(Mutex::new(writer)));
        self
    }

    /// Turns the access log off (the default).
    ///
    /// ```
    /// let c = gevent::http::Config::new().access_log(std::io::stdout()).no_access_log();
    /// ```
    pub fn no_access_log(mut self) -> Config {
        self.access_log = None;
        self
    }

    /// The header read timeout.
    ///
    /// ```
    /// assert_eq!(gevent::http::Config::new().get_header_read_timeout().as_secs(), 10);
    /// ```
    pub fn get_header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// The keep-alive idle timeout.
    ///
    /// ```
    /// assert_eq!(gevent::http::Config::new().get_keepalive_timeout().as_secs(), 60);
    /// ```
    pub fn get_keepalive_timeout(&self) -> Duration {
        self.keepalive_timeout
    }

    /// Whether keep-alive is on.
    ///
    /// ```
    /// assert!(gevent::http::Config::new().get_keep_alive());
    /// ```
    pub fn get_keep_alive(&self) -> bool {
        self.keep_alive
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("max_request_line", &self.max_request_line)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_headers", &self.max_headers)
            .field("body_limit", &self.body_limit)
            .field("max_body_size", &self.max_body_size)
            .field("drain_limit", &self.drain_limit)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("keepalive_timeout", &self.keepalive_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("server_header", &self.server_header)
            .field("access_log", &self.access_log.is_some())
            .finish()
    }
}
