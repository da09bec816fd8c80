//! A line echo server, one greenlet per connection (gevent's echoserver.py).
//!
//! ```text
//! cargo run --example echoserver                  # listens on 127.0.0.1:16000
//! cargo run --example echoserver -- 127.0.0.1:7000
//! cargo run --example echoserver -- --selftest    # start, check a few clients, exit
//! ```
//!
//! Try it with `nc 127.0.0.1 16000`; type `quit` to leave.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};

/// Serves one client: a greeting, then every line back until `quit` or EOF.
fn handle(conn: TcpStream, peer: SocketAddr) -> io::Result<()> {
    println!("new connection from {peer}");
    let mut out = &conn;
    out.write_all(b"Welcome to the echo server! Type quit to exit.\r\n")?;
    let mut lines = BufReader::new(&conn);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            println!("client {peer} disconnected");
            return Ok(());
        }
        if line.trim().eq_ignore_ascii_case("quit") {
            println!("client {peer} quit");
            return Ok(());
        }
        out.write_all(line.as_bytes())?;
    }
}

/// Accepts forever, one greenlet per connection.
fn serve(listener: TcpListener) {
    for conn in listener.incoming() {
        match conn {
            Ok(conn) => {
                let peer = conn
                    .peer_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                gevent::spawn(move || {
                    if let Err(e) = handle(conn, peer) {
                        eprintln!("client {peer}: {e}");
                    }
                });
            }
            Err(e) => {
                // Like gevent's StreamServer: back off on errors such as EMFILE.
                eprintln!("accept: {e}");
                gevent::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Starts the server on a free port and checks a few concurrent clients.
fn selftest() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = gevent::spawn(move || serve(listener));
    let clients: Vec<_> = (0..5)
        .map(|i| {
            gevent::spawn(move || -> io::Result<()> {
                let c = TcpStream::connect(addr)?;
                c.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut r = BufReader::new(&c);
                let mut greeting = String::new();
                r.read_line(&mut greeting)?;
                assert!(greeting.starts_with("Welcome"), "{greeting:?}");
                for j in 0..3 {
                    let msg = format!("client {i} line {j}\r\n");
                    (&c).write_all(msg.as_bytes())?;
                    let mut back = String::new();
                    r.read_line(&mut back)?;
                    assert_eq!(back, msg);
                }
                (&c).write_all(b"quit\r\n")?;
                // The server closes after quit: end of file.
                assert_eq!(r.read(&mut [0; 8])?, 0);
                Ok(())
            })
        })
        .collect();
    gevent::joinall(&clients, Some(Duration::from_secs(10))).map_err(io::Error::from)?;
    for c in &clients {
        c.take().map_err(io::Error::from)??;
    }
    server.kill().map_err(io::Error::from)?;
    println!("selftest passed: 5 clients echoed");
    Ok(())
}

fn main() -> io::Result<()> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--selftest") {
        return selftest();
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:16000".to_string());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("Starting echo server on {}", listener.local_addr()?);
    serve(listener);
    Ok(())
}
