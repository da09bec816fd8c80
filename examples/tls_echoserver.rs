//! A TLS echo server on `StreamServer` with TLS serving: each
//! connection's handshake runs in its own greenlet with a 10 s timeout,
//! so a slow or silent client never holds up accepting.
//!
//! ```text
//! cargo run --example tls_echoserver -- --selftest
//!     generate a CA and a certificate, serve on a free port, check a client
//!     and a silent client (dropped after the handshake timeout), exit 0
//! cargo run --example tls_echoserver [-- --addr 127.0.0.1:8443 --cert C.pem --key K.pem]
//!     serve until SIGTERM/SIGINT (a generated certificate unless given;
//!     its CA is written to a temporary file for `openssl s_client -CAfile`)
//! ```

mod tls_common;

use std::io::{self, Read, Write};
use std::time::Duration;

use gevent::net::TcpStream;
use gevent::server::{Address, Stream, StreamServer};
use gevent::tls::{TlsAcceptor, TlsConnector};

const USAGE: &str =
    "usage: tls_echoserver [--selftest] [--addr HOST:PORT] [--cert CHAIN.pem --key KEY.pem]";

/// Echoes until the client closes, then says goodbye with close_notify.
fn handle(mut s: Stream, peer: Address) {
    let proto = s
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    println!("{peer}: TLS session (ALPN {proto:?})");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    if let Stream::TlsTcp(t) = &mut s {
        let _ = t.shutdown();
    }
}

fn acceptor(cert: &str, key: &str) -> io::Result<TlsAcceptor> {
    TlsAcceptor::builder()
        .alpn_protocols(tls_common::ALPN)
        .certificate_pem(cert.as_bytes(), key.as_bytes())?
        .build()
}

fn selftest() -> io::Result<()> {
    let (ca, cert, key) = tls_common::generate_certificates();
    let server = StreamServer::builder()
        .bind("127.0.0.1:0")?
        .tls(acceptor(&cert, &key)?)
        .handshake_timeout(Duration::from_millis(300))
        .build(handle)?;
    server.start()?;
    let addr = server.local_addr()?.as_inet().expect("a TCP address");
    // A silent client: it never starts the handshake and gets dropped.
    let silent = TcpStream::connect(addr)?;
    let connector = TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca.as_bytes())?
        .alpn_protocols(["echo/1"])
        .build()?;
    let mut tls = connector.connect("localhost", TcpStream::connect(addr)?)?;
    tls.write_all(b"hello over TLS")?;
    let mut back = [0u8; 14];
    tls.read_exact(&mut back)?;
    assert_eq!(&back, b"hello over TLS");
    assert_eq!(tls.alpn_protocol(), Some(&b"echo/1"[..]));
    silent.set_read_timeout(Some(Duration::from_secs(10)))?;
    assert_eq!(
        (&silent).read(&mut [0; 1])?,
        0,
        "the silent client was not dropped"
    );
    tls.shutdown()?;
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest)?;
    assert_eq!(server.stop(Some(Duration::from_secs(1))), 0);
    println!("selftest passed: echoed over TLS, silent client dropped after the handshake timeout");
    Ok(())
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8443".to_string();
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| tls_common::flag_value(&mut args, flag, USAGE);
        match arg.as_str() {
            "--selftest" => return selftest(),
            "--addr" => addr = value("--addr"),
            "--cert" => cert = Some(value("--cert")),
            "--key" => key = Some(value("--key")),
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let (cert, key) = match (cert, key) {
        (Some(c), Some(k)) => (std::fs::read_to_string(c)?, std::fs::read_to_string(k)?),
        _ => {
            let (ca, cert, key) = tls_common::generate_certificates();
            let ca_path = std::env::temp_dir().join("gevent-tls-echoserver-ca.pem");
            std::fs::write(&ca_path, ca)?;
            println!(
                "generated a certificate; its CA is in {}",
                ca_path.display()
            );
            (cert, key)
        }
    };
    let server = StreamServer::builder()
        .bind(addr.as_str())?
        .tls(acceptor(&cert, &key)?)
        .build(handle)?;
    println!("TLS echo server on {}", server.address());
    io::stdout().flush()?;
    server.serve_until_signal(Duration::from_secs(5))?;
    println!("stopped");
    Ok(())
}
