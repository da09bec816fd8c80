//! Downloads several URLs at once, one greenlet per URL, over gevent's
//! cooperative sockets: the counterpart of the gevent introduction's
//! `monkey.patch_all()` + `urllib2.urlopen` example.
//!
//! ```text
//! cargo run --example concurrent_download                      # local demo server
//! cargo run --example concurrent_download -- http://HOST/PATH ...
//! ```
//!
//! With no URLs it starts its own small HTTP server on 127.0.0.1 (in a
//! greenlet of the same thread) and downloads three pages from it, so it
//! runs without any network. Only plain `http://` is supported here.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};

/// A parsed `http://host[:port]/path` URL.
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> io::Result<Url> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad URL {url:?}: {why}"),
        )
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse().map_err(|_| bad("bad port"))?,
        ),
        _ => (authority, 80),
    };
    Ok(Url {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// GETs `url` and returns the body (handles Content-Length, chunked and
/// read-to-close bodies).
fn fetch(url: &str) -> io::Result<Vec<u8>> {
    let u = parse_url(url)?;
    let stream = TcpStream::connect((u.host.as_str(), u.port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gevent-rs-example\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        u.path, u.host
    );
    (&stream).write_all(request.as_bytes())?;
    let mut reader = BufReader::new(&stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP response: {status:?}"),
        ));
    }
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

fn print_head(url: &str) {
    println!("Starting {url}");
    match fetch(url) {
        Ok(data) => {
            let head = String::from_utf8_lossy(&data[..data.len().min(50)]);
            println!("{url}: {} bytes: {head:?}", data.len());
        }
        Err(e) => println!("{url}: failed: {e}"),
    }
}

/// A tiny HTTP server: one greenlet per connection, three pages.
fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        gevent::spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                return;
            }
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line.trim_end().is_empty() => break,
                    Ok(_) => {}
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (size, title) = match path {
                "/google" => (11_246, "<!doctype html><html itemscope=\"\">"),
                "/python" => (20_471, "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0\">"),
                _ => (208_804, "<!DOCTYPE html><html class=\"i-ua_js_no\">"),
            };
            // Different pages take different times, so they finish out of order.
            gevent::sleep(Duration::from_millis((size / 2_000) as u64));
            let mut body = title.as_bytes().to_vec();
            body.resize(size, b'.');
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
            );
            let mut out = head.into_bytes();
            out.extend_from_slice(&body);
            let _ = (&stream).write_all(&out);
        });
    }
}

fn main() -> io::Result<()> {
    let mut urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        gevent::spawn(move || serve(listener));
        urls = ["google", "yandex", "python"]
            .iter()
            .map(|p| format!("http://{addr}/{p}"))
            .collect();
    }
    let jobs: Vec<_> = urls
        .into_iter()
        .map(|url| gevent::spawn(move || print_head(&url)))
        .collect();
    gevent::wait(&jobs, Some(Duration::from_secs(30)), None).map_err(io::Error::from)?;
    Ok(())
}
