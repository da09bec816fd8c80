//! Helpers shared by the HTTP test files: a test server run in the hub
//! (one greenlet per connection, `serve_connection`), clients run on OS
//! threads (`client`), and a small HTTP/1.1 response reader for raw
//! sockets.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gevent::http::{Config, Handler, Server};
use gevent::server::StreamServer;

/// How long a client waits for any one read before failing.
pub const IO_BOUND: Duration = Duration::from_secs(5);

/// A writer appending to a shared buffer (the access log in tests).
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// An [`http::Server`](Server) on 127.0.0.1 (port 0), started; stopped
/// on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub log: SharedBuf,
    pub server: Server,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop(Some(Duration::from_millis(100)));
    }
}

/// Starts a test server for `handler` with `config` (plus an access log
/// into [`TestServer::log`]).
pub fn start<H: Handler + 'static>(handler: H, config: Config) -> TestServer {
    let log = SharedBuf::default();
    let builder = StreamServer::builder().bind("127.0.0.1:0").unwrap();
    let server = Server::build(builder, config.access_log(log.clone()), handler).unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap().as_inet().unwrap();
    TestServer { addr, log, server }
}

/// Runs `f` on an OS thread (the hub's thread pool) while the hub serves;
/// a panic in `f` fails the test with its message.
pub fn client<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    gevent::threadpool::run_blocking(f).unwrap_or_else(|e| panic!("client: {e}"))
}

/// A blocking std connection with read and write bounds.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(IO_BOUND)).unwrap();
    s.set_write_timeout(Some(IO_BOUND)).unwrap();
    s
}

/// A response as read from the wire.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// `(lowercase name, value)` in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_line<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    assert!(
        line.ends_with("\r\n"),
        "response line without CRLF: {line:?}"
    );
    line.truncate(line.len() - 2);
    Ok(line)
}

fn read_fields<R: BufRead>(r: &mut R) -> io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            return Ok(out);
        }
        let (n, v) = line.split_once(':').expect("header line without colon");
        out.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
}

/// Reads one response (to a request with method `method`).
pub fn read_response<R: BufRead>(r: &mut R, method: &str) -> io::Result<Resp> {
    let status_line = read_line(r)?;
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(
        parts.next(),
        Some("HTTP/1.1"),
        "status line {status_line:?}"
    );
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let headers = read_fields(r)?;
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
        trailers: Vec::new(),
    };
    if method == "HEAD" || status / 100 == 1 || status == 204 || status == 304 {
        return Ok(resp);
    }
    if resp.header("transfer-encoding") == Some("chunked") {
        loop {
            let line = read_line(r)?;
            let size = usize::from_str_radix(line.split(';').next().unwrap(), 16).unwrap();
            if size == 0 {
                resp.trailers = read_fields(r)?;
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk)?;
            resp.body.extend_from_slice(&chunk);
            assert_eq!(read_line(r)?, "", "chunk not followed by CRLF");
        }
    } else if let Some(len) = resp.header("content-length") {
        let mut body = vec![0; len.parse().unwrap()];
        r.read_exact(&mut body)?;
        resp.body = body;
    } else {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// Whether the server closed the connection (end of stream, or a reset),
/// waiting at most [`IO_BOUND`].
pub fn closed<R: Read>(r: &mut R) -> bool {
    let mut b = [0u8; 1];
    match r.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == io::ErrorKind::ConnectionReset,
    }
}

/// Sends `request` on a new connection and reads one response.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> (Resp, BufReader<TcpStream>) {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    let mut r = BufReader::new(s);
    let method = std::str::from_utf8(request)
        .ok()
        .and_then(|t| t.split(' ').next())
        .unwrap_or("GET")
        .to_string();
    let resp = read_response(&mut r, &method).expect("a response");
    (resp, r)
}
