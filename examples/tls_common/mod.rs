//! Code shared by the `tls_server` and `tls_client` examples: throwaway
//! certificates, the greenlet-per-connection TLS echo server, and the
//! client exchange.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};
use gevent::tls::{TlsAcceptor, TlsConnector};

/// The ALPN protocol the example server speaks (and `http/1.1`, so that
/// HTTP clients talking to it get an answer too).
pub const ALPN: &[&str] = &["echo/1", "http/1.1"];

/// A throwaway certificate authority and a server certificate it signed
/// for `localhost` and `127.0.0.1`, as PEM: (CA certificate, server
/// certificate, server private key).
pub fn generate_certificates() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gevent example CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Accepts connections forever (or `limit` of them), each handled by its
/// own greenlet: TLS handshake, then echo until the client's close_notify.
pub fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limit: Option<usize>,
    verbose: bool,
) -> io::Result<()> {
    let mut handlers = Vec::new();
    let mut accepted = 0;
    while limit.is_none_or(|l| accepted < l) {
        let (sock, peer) = listener.accept()?;
        accepted += 1;
        let acceptor = acceptor.clone();
        let handler = gevent::spawn(move || {
            // A client that never finishes its handshake must not hold a
            // greenlet forever.
            sock.set_read_timeout(Some(Duration::from_secs(30))).ok();
            let result = (|| -> io::Result<u64> {
                let mut tls = acceptor.accept(sock)?;
                if verbose {
                    println!(
                        "{peer}: {} {} sni={} alpn={}",
                        tls.protocol_version().unwrap_or("?"),
                        tls.negotiated_cipher_suite().unwrap_or("?"),
                        tls.server_name().unwrap_or("-"),
                        tls.alpn_protocol()
                            .map(String::from_utf8_lossy)
                            .unwrap_or("-".into()),
                    );
                }
                let mut buf = [0u8; 16 * 1024];
                let mut total = 0u64;
                loop {
                    let n = tls.read(&mut buf)?;
                    if n == 0 {
                        tls.shutdown()?;
                        return Ok(total);
                    }
                    tls.write_all(&buf[..n])?;
                    total += n as u64;
                }
            })();
            if verbose {
                match result {
                    Ok(n) => println!("{peer}: closed cleanly after echoing {n} bytes"),
                    Err(e) => println!("{peer}: {e}"),
                }
            }
        });
        // A bounded run waits for its connections; an endless one lets
        // each greenlet finish on its own.
        if limit.is_some() {
            handlers.push(handler);
        }
    }
    for h in handlers {
        h.join().map_err(io::Error::from)?;
    }
    Ok(())
}

/// What a client exchange found out.
pub struct Exchange {
    pub protocol: String,
    pub cipher_suite: String,
    pub alpn: Option<String>,
    pub peer_certificates: usize,
    pub reply: Vec<u8>,
}

/// Connects to `addr`, handshakes with `server_name`, sends `request`,
/// shuts its side down and reads the reply until the server closes (or
/// `max_reply` bytes).
pub fn exchange(
    connector: &TlsConnector,
    addr: &str,
    server_name: &str,
    request: &[u8],
    max_reply: usize,
) -> io::Result<Exchange> {
    let sock = TcpStream::connect(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    sock.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = connector.connect(server_name, sock)?;
    tls.write_all(request)?;
    tls.flush()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while reply.len() < max_reply {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            // Many servers close without close_notify once they have answered.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !reply.is_empty() => break,
            Err(e) => return Err(e),
        }
        // For the echo server: stop once the whole request came back.
        if reply.len() >= request.len() && reply.starts_with(request) {
            tls.shutdown()?;
        }
    }
    Ok(Exchange {
        protocol: tls.protocol_version().unwrap_or("?").to_string(),
        cipher_suite: tls.negotiated_cipher_suite().unwrap_or("?").to_string(),
        alpn: tls
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        peer_certificates: tls.peer_certificates().map_or(0, <[_]>::len),
        reply,
    })
}

/// Prints an exchange's findings and the first bytes of the reply.
pub fn print_exchange(x: &Exchange) {
    println!("protocol:      {}", x.protocol);
    println!("cipher suite:  {}", x.cipher_suite);
    println!("ALPN:          {}", x.alpn.as_deref().unwrap_or("(none)"));
    println!("server chain:  {} certificate(s)", x.peer_certificates);
    let shown = &x.reply[..x.reply.len().min(200)];
    println!("reply ({} bytes), first {}:", x.reply.len(), shown.len());
    println!("  {}", String::from_utf8_lossy(shown).escape_debug());
}

/// Runs a server on 127.0.0.1 in a greenlet with freshly generated
/// certificates, talks to it through the client logic and checks the echo.
/// Returns the exchange.
pub fn selftest() -> io::Result<Exchange> {
    let (ca_pem, cert_pem, key_pem) = generate_certificates();
    let acceptor = TlsAcceptor::builder()
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
        .alpn_protocols(ALPN)
        .build()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let server = gevent::spawn(move || serve(listener, acceptor, Some(1), true));
    let connector = TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca_pem.as_bytes())?
        .alpn_protocols(ALPN)
        .build()?;
    let request = b"hello over TLS from a greenlet\n";
    let x = gevent::with_timeout(Duration::from_secs(20), || {
        exchange(&connector, &addr, "localhost", request, 1 << 20)
    })
    .map_err(io::Error::from)??;
    server.take().map_err(io::Error::from)??;
    if x.reply != request {
        return Err(io::Error::other(format!(
            "selftest: the echo differs: {:?}",
            String::from_utf8_lossy(&x.reply)
        )));
    }
    if x.alpn.as_deref() != Some("echo/1") {
        return Err(io::Error::other(format!(
            "selftest: unexpected ALPN {:?}",
            x.alpn
        )));
    }
    Ok(x)
}

/// `--selftest` of both examples: runs [`selftest`] and prints what it
/// found and "selftest: ok", or the error, then exits with status 1.
pub fn run_selftest() {
    match selftest() {
        Ok(x) => {
            print_exchange(&x);
            println!("selftest: ok");
        }
        Err(e) => {
            eprintln!("selftest failed: {e}");
            std::process::exit(1);
        }
    }
}

/// The value after command-line flag `flag`; without one, says so with
/// `usage` and exits with status 2.
pub fn flag_value(args: &mut impl Iterator<Item = String>, flag: &str, usage: &str) -> String {
    args.next().unwrap_or_else(|| {
        eprintln!("{flag} needs a value\n{usage}");
        std::process::exit(2)
    })
}
