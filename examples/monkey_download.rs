//! The seed article's `monkey.patch_all()` + `urllib2.urlopen` example, for
//! real: after one call, a blocking HTTP client that knows nothing about
//! gevent (`ureq`, on `std::net`) downloads every URL at once, one greenlet
//! per URL.
//!
//! ```text
//! cargo run --release --features monkey --example monkey_download
//! cargo run --release --features monkey --example monkey_download -- http://HOST/PATH ...
//! ```
//!
//! With no URLs it starts its own HTTP server on 127.0.0.1 whose every
//! response takes 300 ms (a plain `std::thread::sleep`, cooperative too)
//! and fetches 20 pages from it: the total is about 300 ms, not 6 s.
//! `concurrent_download` is the unpatched variant, written against
//! `gevent::net`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long each response of the demo server takes.
const DELAY: Duration = Duration::from_millis(300);

/// Serves `GET /N` with a small page after [`DELAY`], one greenlet per
/// connection, on its own thread (with its own hub).
fn start_demo_server() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("demo-server".into())
        .spawn(move || {
            let server = gevent::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    gevent::spawn(move || {
                        if let Err(e) = serve(conn) {
                            eprintln!("demo server: {e}");
                        }
                    });
                }
            });
            let _ = server.join();
        })?;
    Ok(port)
}

fn serve(conn: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    // Blocking std code, made cooperative by patch_all().
    std::thread::sleep(DELAY);
    let body = format!(
        "<html><body>page {path}: {}</body></html>\n",
        "x".repeat(200)
    );
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

fn fetch(url: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    // A plain blocking client call, as the article's urllib2.urlopen(url).
    let resp = ureq::get(url).timeout(Duration::from_secs(30)).call()?;
    let mut data = Vec::new();
    resp.into_reader().take(64 << 20).read_to_end(&mut data)?;
    Ok(data)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    gevent::monkey::patch_all()?;
    let mut urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() {
        let port = start_demo_server()?;
        urls = (1..=20)
            .map(|i| format!("http://127.0.0.1:{port}/{i}"))
            .collect();
    }
    let t = Instant::now();
    let jobs: Vec<_> = urls
        .iter()
        .cloned()
        .map(|url| {
            gevent::spawn(move || match fetch(&url) {
                Ok(data) => {
                    let head = String::from_utf8_lossy(&data[..data.len().min(24)]).into_owned();
                    println!("{} bytes received from {url}: {head:?}...", data.len());
                    true
                }
                Err(e) => {
                    eprintln!("{url}: {e}");
                    false
                }
            })
        })
        .collect();
    gevent::joinall(&jobs, None)?;
    let failed = jobs.iter().filter(|j| j.value() != Some(true)).count();
    println!(
        "{} downloads in {:.0} ms ({} failed)",
        jobs.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
