//! `gevent::tls::self_signed_localhost` and `self_signed` (feature
//! `selfsigned`): handshakes over cooperative sockets on every usable
//! backend, names checked, bad input refused. (.ci/run also runs
//! `examples/tls_selfsigned.rs`.)

#[path = "util/greenlet.rs"]
mod gutil;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};
use gevent::tls::{self_signed, self_signed_localhost};
use gutil::each_backend;

fn echo_once(
    cert: &gevent::tls::SelfSignedCert,
    host: &str,
    name: &str,
) -> std::io::Result<Vec<u8>> {
    let acceptor = cert.acceptor()?;
    let listener = TcpListener::bind((host, 0))?;
    let addr = listener.local_addr()?;
    let server = gevent::spawn(move || -> std::io::Result<()> {
        let (sock, _) = listener.accept()?;
        let mut tls = match acceptor.accept(sock) {
            Ok(t) => t,
            Err(_) => return Ok(()), // the client refused us: fine here
        };
        let mut buf = [0; 64];
        let n = tls.read(&mut buf)?;
        tls.write_all(&buf[..n])?;
        tls.shutdown()
    });
    let result = (|| {
        let mut tls = cert.connector()?.connect(name, TcpStream::connect(addr)?)?;
        tls.write_all(b"ping")?;
        let mut got = Vec::new();
        tls.read_to_end(&mut got)?;
        Ok(got)
    })();
    server
        .take_timeout(Duration::from_secs(20))
        .map_err(std::io::Error::from)??;
    result
}

#[test]
fn localhost_certificate_works_for_its_names() {
    each_backend(|| {
        let cert = self_signed_localhost().unwrap();
        assert_eq!(cert.names(), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(echo_once(&cert, "127.0.0.1", "localhost").unwrap(), b"ping");
        assert_eq!(echo_once(&cert, "127.0.0.1", "127.0.0.1").unwrap(), b"ping");
        // A name it was not made for fails the handshake, clearly.
        let e = echo_once(&cert, "127.0.0.1", "example.com").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
        // Another certificate is not trusted by this connector.
        let other = self_signed_localhost().unwrap();
        assert_ne!(other.cert_der(), cert.cert_der());
        assert!(!format!("{other:?}").contains("PRIVATE"));
    });
}

#[test]
fn custom_names_and_bad_input() {
    each_backend(|| {
        let cert = self_signed(&["service.test"]).unwrap();
        assert_eq!(
            echo_once(&cert, "127.0.0.1", "service.test").unwrap(),
            b"ping"
        );
        assert_eq!(
            self_signed(&[]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            self_signed(&[""]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            self_signed(&["a\0b"]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let long = "x".repeat(100_000);
        // Either a certificate or a clear error: never a panic.
        let _ = self_signed(&[&long]);
        let _ = self_signed(&["\u{1F600}.test"]);
    });
}
