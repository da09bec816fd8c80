//! A TLS echo over 127.0.0.1 with a throwaway self-signed certificate from
//! `gevent::tls::self_signed_localhost()` (feature `selfsigned`): a server
//! greenlet and several client greenlets in one thread.
//!
//! ```text
//! cargo run --example tls_selfsigned --features selfsigned [-- CLIENTS]
//! ```
//!
//! Prints one line per client and "ok"; exits 1 on any failure.

use std::io::{self, Read, Write};
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};

fn run(clients: usize) -> io::Result<()> {
    let cert = gevent::tls::self_signed_localhost()?;
    println!("certificate for {:?}", cert.names());
    let acceptor = cert.acceptor()?;
    let connector = cert.connector()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;

    // The server: one greenlet per connection, echoing until close_notify.
    let server = gevent::spawn(move || -> io::Result<()> {
        let mut handlers = Vec::new();
        for _ in 0..clients {
            let (sock, _) = listener.accept()?;
            let acceptor = acceptor.clone();
            handlers.push(gevent::spawn(move || -> io::Result<()> {
                let mut tls = acceptor.accept(sock)?;
                let mut buf = [0u8; 4096];
                loop {
                    let n = tls.read(&mut buf)?;
                    if n == 0 {
                        return tls.shutdown();
                    }
                    tls.write_all(&buf[..n])?;
                }
            }));
        }
        for h in handlers {
            h.take().map_err(io::Error::from)??;
        }
        Ok(())
    });

    let jobs: Vec<_> = (0..clients)
        .map(|i| {
            let connector = connector.clone();
            gevent::spawn(move || -> io::Result<String> {
                let mut tls = connector.connect("localhost", TcpStream::connect(addr)?)?;
                let msg = format!("hello from client {i}");
                tls.write_all(msg.as_bytes())?;
                let mut back = vec![0u8; msg.len()];
                tls.read_exact(&mut back)?;
                tls.shutdown()?;
                Ok(format!(
                    "client {i}: {} {}: {:?}",
                    tls.protocol_version().unwrap_or("?"),
                    tls.negotiated_cipher_suite().unwrap_or("?"),
                    String::from_utf8_lossy(&back)
                ))
            })
        })
        .collect();
    for j in &jobs {
        let line = j
            .take_timeout(Duration::from_secs(30))
            .map_err(io::Error::from)??;
        println!("{line}");
    }
    server
        .take_timeout(Duration::from_secs(30))
        .map_err(io::Error::from)??;
    Ok(())
}

fn main() {
    let clients = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 3,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        Some(_) => {
            eprintln!("usage: tls_selfsigned [CLIENTS (1..=10000)]");
            std::process::exit(2);
        }
    };
    match run(clients) {
        Ok(()) => println!("ok"),
        Err(e) => {
            eprintln!("tls_selfsigned: {e}");
            std::process::exit(1);
        }
    }
}
