//! gevent::tls: handshakes, I/O, certificates and errors.
//!
//! Certificates are generated here at run time (rcgen); the only fixtures
//! are a few private keys in encodings rcgen cannot write (tests/data/tls).
//! Client and server talk over a Unix socket pair, the server side in its
//! own OS thread; every socket operation has a 60 s timeout, so a bug fails a test
//! instead of hanging it.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use gevent::tls::{TlsAcceptor, TlsConnector, TlsStream, rustls};
use rcgen::KeyPair;

mod tls_util;
use tls_util::{Ca, Leaf, acceptor};

const LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

/// A connected socket pair whose every operation is bounded by [`LIMIT`].
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(LIMIT)).unwrap();
        s.set_write_timeout(Some(LIMIT)).unwrap();
    }
    (a, b)
}

/// Runs `server` on the server end of a fresh pair in another thread and
/// `client` on the client end here; returns both results.
fn run<C, S, CT, ST>(client: C, server: S) -> (CT, ST)
where
    C: FnOnce(UnixStream) -> CT,
    S: FnOnce(UnixStream) -> ST + Send + 'static,
    ST: Send + 'static,
{
    let (c, s) = pair();
    let server = thread::spawn(move || server(s));
    let c = client(c);
    (c, server.join().expect("server thread panicked"))
}

/// [`run`] over TLS: the server end serves a "localhost" certificate of a
/// fresh "Test CA", the client end trusts that CA; each side's function
/// gets its stream after the handshake (whose failure it returns).
fn run_tls<C, S, CT, ST>(client: C, server: S) -> (std::io::Result<CT>, std::io::Result<ST>)
where
    C: FnOnce(TlsStream<UnixStream>) -> std::io::Result<CT>,
    S: FnOnce(TlsStream<UnixStream>) -> std::io::Result<ST> + Send + 'static,
    ST: Send + 'static,
{
    let ca = Ca::new("Test CA");
    let acc = acceptor(&ca.leaf(&["localhost"]));
    run(
        |sock| client(ca.connector().connect("localhost", sock)?),
        move |sock| server(acc.accept(sock)?),
    )
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gevent-tls-test-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn echo_upper(mut tls: TlsStream<UnixStream>) -> std::io::Result<TlsStream<UnixStream>> {
    let mut buf = [0u8; 1024];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Ok(tls);
        }
        tls.write_all(&buf[..n].to_ascii_uppercase())?;
    }
}

// ---------------------------------------------------------------- handshake and echo

#[test]
fn handshake_and_echo_both_ways() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let acc = acceptor(&leaf);
    let leaf_der = leaf.der.clone();
    let (client, server) = run(
        |sock| -> std::io::Result<()> {
            let mut tls = ca.connector().connect("localhost", sock)?;
            assert_eq!(tls.protocol_version(), Some("TLSv1.3"));
            assert!(tls.negotiated_cipher_suite().unwrap().starts_with("TLS13_"));
            assert_eq!(tls.peer_certificates().unwrap()[0].as_ref(), &leaf_der[..]);
            assert_eq!(tls.server_name(), Some("localhost"));
            assert_eq!(tls.alpn_protocol(), None);
            // the server speaks first
            let mut greeting = [0u8; 6];
            tls.read_exact(&mut greeting)?;
            assert_eq!(&greeting, b"hello\n");
            for i in 0..20 {
                let msg = format!("message number {i}");
                tls.write_all(msg.as_bytes())?;
                let mut reply = vec![0u8; msg.len()];
                tls.read_exact(&mut reply)?;
                assert_eq!(reply, msg.to_uppercase().as_bytes());
            }
            tls.shutdown()?;
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest)?;
            assert!(rest.is_empty());
            Ok(())
        },
        move |sock| -> std::io::Result<()> {
            let mut tls = acc.accept(sock)?;
            assert_eq!(tls.server_name(), Some("localhost"));
            assert!(tls.peer_certificates().is_none());
            tls.write_all(b"hello\n")?;
            let mut tls = echo_upper(tls)?;
            tls.shutdown()
        },
    );
    client.unwrap();
    server.unwrap();
}

#[test]
fn ip_address_server_name() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1", "::1"]);
    for name in ["127.0.0.1", "::1", "[::1]"] {
        let acc = acceptor(&leaf);
        let (client, server) = run(
            |sock| {
                ca.connector()
                    .connect(name, sock)
                    .map(|t| t.server_name().map(String::from))
            },
            move |sock| acc.accept(sock).map(|t| t.server_name().map(String::from)),
        );
        // No SNI for addresses; the certificate is checked against the IP.
        assert_eq!(
            client.unwrap().as_deref(),
            Some(name.trim_matches(|c| c == '[' || c == ']'))
        );
        assert_eq!(server.unwrap(), None);
    }
}

#[test]
fn tls12_through_from_config() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = vec![rustls::pki_types::CertificateDer::from(leaf.der.clone())];
    let key = rustls::pki_types::PrivateKeyDer::try_from(
        rustls::pki_types::pem::PemObject::from_pem_slice(leaf.key.as_bytes())
            .map(|k: rustls::pki_types::PrivatePkcs8KeyDer| k.secret_pkcs8_der().to_vec())
            .unwrap(),
    )
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acc = TlsAcceptor::from_config(Arc::new(config));
    let (client, server) = run(
        |sock| -> std::io::Result<(String, String)> {
            let mut tls = ca.connector().connect("localhost", sock)?;
            tls.write_all(b"twelve")?;
            tls.shutdown()?;
            let mut back = Vec::new();
            tls.read_to_end(&mut back)?;
            assert_eq!(back, b"TWELVE");
            Ok((
                tls.protocol_version().unwrap().into(),
                tls.negotiated_cipher_suite().unwrap().into(),
            ))
        },
        move |sock| echo_upper(acc.accept(sock)?)?.shutdown(),
    );
    let (version, suite) = client.unwrap();
    server.unwrap();
    assert_eq!(version, "TLSv1.2");
    assert!(suite.starts_with("TLS_ECDHE_ECDSA_WITH_"), "{suite}");
}

#[test]
fn handshake_runs_inside_a_greenlet() {
    // The client side runs in a greenlet with the default stack (the server
    // is another OS thread, so the blocking std socket cannot deadlock):
    // the handshake must fit in a greenlet's stack.
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let acc = acceptor(&leaf);
    let connector = ca.connector();
    let (c, s) = pair();
    let server = thread::spawn(move || echo_upper(acc.accept(s)?)?.shutdown());
    let g = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
        let mut tls = connector.connect("localhost", c)?;
        tls.write_all(b"from a greenlet")?;
        tls.shutdown()?;
        let mut got = Vec::new();
        tls.read_to_end(&mut got)?;
        Ok(got)
    });
    g.join_timeout(LIMIT).unwrap();
    assert_eq!(g.take().unwrap().unwrap(), b"FROM A GREENLET");
    server.join().unwrap().unwrap();
}

// ---------------------------------------------------------------- ALPN

/// What the client and the server saw: a result each.
type Both<T> = (std::io::Result<T>, std::io::Result<T>);

fn alpn_case(client: &[&str], server: &[&str]) -> Both<Option<Vec<u8>>> {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let acc = TlsAcceptor::builder()
        .certificate_pem(leaf.cert.as_bytes(), leaf.key.as_bytes())
        .unwrap()
        .alpn_protocols(server)
        .build()
        .unwrap();
    let connector = TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca.pem.as_bytes())
        .unwrap()
        .alpn_protocols(client)
        .build()
        .unwrap();
    run(
        move |sock| {
            connector
                .connect("localhost", sock)
                .map(|t| t.alpn_protocol().map(<[u8]>::to_vec))
        },
        move |sock| {
            acc.accept(sock)
                .map(|t| t.alpn_protocol().map(<[u8]>::to_vec))
        },
    )
}

#[test]
fn alpn_negotiation() {
    let (c, s) = alpn_case(&["h2", "http/1.1"], &["http/1.1"]);
    assert_eq!(c.unwrap().as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(s.unwrap().as_deref(), Some(&b"http/1.1"[..]));

    // the server's preference wins
    let (c, s) = alpn_case(&["http/1.1", "h2"], &["h2", "http/1.1"]);
    assert_eq!(c.unwrap().as_deref(), Some(&b"h2"[..]));
    assert_eq!(s.unwrap().as_deref(), Some(&b"h2"[..]));

    // a server without ALPN ignores the offer
    let (c, s) = alpn_case(&["h2"], &[]);
    assert_eq!(c.unwrap(), None);
    assert_eq!(s.unwrap(), None);

    // a client without ALPN
    let (c, s) = alpn_case(&[], &["h2"]);
    assert_eq!(c.unwrap(), None);
    assert_eq!(s.unwrap(), None);
}

#[test]
fn alpn_without_common_protocol_fails() {
    let (c, s) = alpn_case(&["spdy/3"], &["h2"]);
    let (c, s) = (c.unwrap_err(), s.unwrap_err());
    assert_eq!(s.kind(), ErrorKind::InvalidData);
    assert!(
        s.to_string()
            .contains("peer doesn't support any known protocol"),
        "{s}"
    );
    assert_eq!(c.kind(), ErrorKind::InvalidData);
    assert!(c.to_string().contains("NoApplicationProtocol"), "{c}");
}

#[test]
fn bad_alpn_names_are_rejected() {
    let long = "x".repeat(256);
    for names in [vec![""], vec![long.as_str()]] {
        let err = TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .alpn_protocols(&names)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("1 to 255 bytes"), "{err}");
    }
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let err = TlsAcceptor::builder()
        .certificate_pem(leaf.cert.as_bytes(), leaf.key.as_bytes())
        .unwrap()
        .alpn_protocols([""])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

// ---------------------------------------------------------------- SNI

#[test]
fn sni_selects_the_certificate() {
    let ca = Ca::new("Test CA");
    let default = ca.leaf(&["localhost", "127.0.0.1"]);
    let api = ca.leaf(&["api.test"]);
    let wild = ca.leaf(&["*.wild.test"]);
    let acc = TlsAcceptor::builder()
        .certificate_pem(default.cert.as_bytes(), default.key.as_bytes())
        .unwrap()
        .sni_certificate_pem("API.test", api.cert.as_bytes(), api.key.as_bytes())
        .unwrap()
        .sni_certificate_pem("*.wild.test", wild.cert.as_bytes(), wild.key.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let cases: [(&str, Option<&str>, &Leaf); 5] = [
        ("api.test", Some("api.test"), &api),
        ("Api.Test", Some("api.test"), &api),
        ("one.wild.test", Some("one.wild.test"), &wild),
        ("localhost", Some("localhost"), &default),
        ("127.0.0.1", None, &default),
    ];
    for (name, seen, expected) in cases {
        let acc = acc.clone();
        let (client, server) = run(
            |sock| {
                ca.connector()
                    .connect(name, sock)
                    .map(|t| t.peer_certificates().unwrap()[0].to_vec())
            },
            move |sock| acc.accept(sock).map(|t| t.server_name().map(String::from)),
        );
        assert_eq!(client.unwrap(), expected.der, "certificate for {name}");
        assert_eq!(server.unwrap().as_deref(), seen, "SNI seen for {name}");
    }

    // A client with SNI off gets the default certificate (and fails to
    // verify it for a name it does not cover).
    let no_sni = TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca.pem.as_bytes())
        .unwrap()
        .sni(false)
        .build()
        .unwrap();
    let acc2 = acc.clone();
    let (client, server) = run(
        |sock| {
            no_sni
                .connect("localhost", sock)
                .map(|t| t.peer_certificates().unwrap()[0].to_vec())
        },
        move |sock| acc2.accept(sock).map(|t| t.server_name().map(String::from)),
    );
    assert_eq!(client.unwrap(), default.der);
    assert_eq!(server.unwrap(), None);
    let (client, server) = run(
        |sock| no_sni.connect("api.test", sock).map(|_| ()),
        move |sock| acc.accept(sock).map(|_| ()),
    );
    assert!(
        client
            .unwrap_err()
            .to_string()
            .contains("certificate not valid for name")
    );
    assert!(server.is_err());
}

#[test]
fn sni_without_default_refuses_unknown_names() {
    let ca = Ca::new("Test CA");
    let api = ca.leaf(&["api.test"]);
    let acc = TlsAcceptor::builder()
        .sni_certificate_pem("api.test", api.cert.as_bytes(), api.key.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let acc2 = acc.clone();
    let (client, server) = run(
        |sock| ca.connector().connect("api.test", sock).map(|_| ()),
        move |sock| acc2.accept(sock).map(|_| ()),
    );
    client.unwrap();
    server.unwrap();
    let (client, server) = run(
        |sock| ca.connector().connect("other.test", sock).map(|_| ()),
        move |sock| acc.accept(sock).map(|_| ()),
    );
    let s = server.unwrap_err();
    assert_eq!(s.kind(), ErrorKind::InvalidData);
    assert!(
        s.to_string()
            .contains("no server certificate chain resolved"),
        "{s}"
    );
    assert_eq!(client.unwrap_err().kind(), ErrorKind::InvalidData);
}

#[test]
fn bad_sni_names_are_rejected() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    for name in ["", "bad name", "*.*.x", "a.*.b", "*"] {
        let err = TlsAcceptor::builder()
            .sni_certificate_pem(name, leaf.cert.as_bytes(), leaf.key.as_bytes())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}");
        assert!(err.to_string().contains("invalid SNI name"), "{err}");
    }
}

// ---------------------------------------------------------------- certificate verification

fn connect_err(
    connector: &TlsConnector,
    name: &str,
    leaf: &Leaf,
) -> (std::io::Error, std::io::Error) {
    let acc = acceptor(leaf);
    let (client, server) = run(
        |sock| connector.connect(name, sock).map(|_| ()),
        move |sock| acc.accept(sock).map(|_| ()),
    );
    (client.unwrap_err(), server.unwrap_err())
}

#[test]
fn wrong_hostname_fails_clearly() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let (c, s) = connect_err(&ca.connector(), "wrong.example", &leaf);
    assert_eq!(c.kind(), ErrorKind::InvalidData);
    let msg = c.to_string();
    assert!(
        msg.contains("certificate not valid for name \"wrong.example\""),
        "{msg}"
    );
    assert!(msg.contains("localhost"), "{msg}");
    // the rustls error is inside
    let inner = c
        .get_ref()
        .unwrap()
        .downcast_ref::<rustls::Error>()
        .unwrap();
    assert!(matches!(inner, rustls::Error::InvalidCertificate(_)));
    // and the server heard about it
    assert_eq!(s.kind(), ErrorKind::InvalidData);
    assert!(s.to_string().contains("BadCertificate"), "{s}");
}

#[test]
fn untrusted_ca_fails() {
    let ca = Ca::new("Test CA");
    let other = Ca::new("Other CA");
    let leaf = ca.leaf(&["localhost"]);
    let (c, _) = connect_err(&other.connector(), "localhost", &leaf);
    assert_eq!(c.kind(), ErrorKind::InvalidData);
    assert!(c.to_string().contains("UnknownIssuer"), "{c}");

    // also with the platform roots only
    let platform = TlsConnector::new().unwrap();
    let (c, _) = connect_err(&platform, "localhost", &leaf);
    assert!(c.to_string().contains("UnknownIssuer"), "{c}");
}

#[test]
fn expired_certificate_fails() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf_with(&["localhost"], KeyPair::generate().unwrap(), |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (c, _) = connect_err(&ca.connector(), "localhost", &leaf);
    assert_eq!(c.kind(), ErrorKind::InvalidData);
    assert!(c.to_string().contains("expired"), "{c}");
}

#[test]
fn danger_accept_invalid_certs_accepts_anything() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf_with(&["elsewhere.test"], KeyPair::generate().unwrap(), |p| {
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let insecure = TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(insecure.root_certificate_count(), 0);
    let acc = acceptor(&leaf);
    let (client, server) = run(
        |sock| -> std::io::Result<Vec<u8>> {
            let mut tls = insecure.connect("localhost", sock)?;
            tls.write_all(b"anyway")?;
            tls.shutdown()?;
            let mut v = Vec::new();
            tls.read_to_end(&mut v)?;
            Ok(v)
        },
        move |sock| echo_upper(acc.accept(sock)?)?.shutdown(),
    );
    assert_eq!(client.unwrap(), b"ANYWAY");
    server.unwrap();
}

// ---------------------------------------------------------------- client authentication

fn client_auth_acceptor(server: &Leaf, client_ca: &Ca, optional: bool) -> TlsAcceptor {
    TlsAcceptor::builder()
        .certificate_pem(server.cert.as_bytes(), server.key.as_bytes())
        .unwrap()
        .client_ca_pem(client_ca.pem.as_bytes())
        .unwrap()
        .client_auth_optional(optional)
        .build()
        .unwrap()
}

fn with_client_cert(ca: &Ca, client: &Leaf) -> TlsConnector {
    TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca.pem.as_bytes())
        .unwrap()
        .client_certificate_pem(client.cert.as_bytes(), client.key.as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

/// Connects, sends "ping", expects "PING" back; returns the client's result
/// and the server's view of the client certificate.
fn client_auth_case(
    connector: TlsConnector,
    acc: TlsAcceptor,
) -> (std::io::Result<()>, std::io::Result<Option<Vec<u8>>>) {
    run(
        move |sock| -> std::io::Result<()> {
            let mut tls = connector.connect("localhost", sock)?;
            tls.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf)?;
            assert_eq!(&buf, b"PING");
            Ok(())
        },
        move |sock| -> std::io::Result<Option<Vec<u8>>> {
            let mut tls = acc.accept(sock)?;
            let peer = tls.peer_certificates().map(|c| c[0].to_vec());
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf)?;
            tls.write_all(&buf.to_ascii_uppercase())?;
            Ok(peer)
        },
    )
}

#[test]
fn client_auth_required_and_provided() {
    let ca = Ca::new("Test CA");
    let server = ca.leaf(&["localhost"]);
    let client = ca.leaf(&["client.test"]);
    let (c, s) = client_auth_case(
        with_client_cert(&ca, &client),
        client_auth_acceptor(&server, &ca, false),
    );
    c.unwrap();
    assert_eq!(s.unwrap().unwrap(), client.der);
}

#[test]
fn client_auth_required_and_missing() {
    let ca = Ca::new("Test CA");
    let server = ca.leaf(&["localhost"]);
    let (c, s) = client_auth_case(ca.connector(), client_auth_acceptor(&server, &ca, false));
    let s = s.unwrap_err();
    assert_eq!(s.kind(), ErrorKind::InvalidData);
    assert!(s.to_string().contains("peer sent no certificates"), "{s}");
    // TLS 1.3: the client learns it on its first read, from the alert.
    let c = c.unwrap_err();
    assert_eq!(c.kind(), ErrorKind::InvalidData);
    assert!(c.to_string().contains("CertificateRequired"), "{c}");
}

#[test]
fn client_auth_with_untrusted_client_certificate() {
    let ca = Ca::new("Test CA");
    let rogue = Ca::new("Rogue CA");
    let server = ca.leaf(&["localhost"]);
    let client = rogue.leaf(&["client.test"]);
    let (c, s) = client_auth_case(
        with_client_cert(&ca, &client),
        client_auth_acceptor(&server, &ca, true),
    );
    let s = s.unwrap_err();
    assert!(s.to_string().contains("UnknownIssuer"), "{s}");
    assert_eq!(c.unwrap_err().kind(), ErrorKind::InvalidData);
}

#[test]
fn client_auth_optional() {
    let ca = Ca::new("Test CA");
    let server = ca.leaf(&["localhost"]);
    let client = ca.leaf(&["client.test"]);
    let (c, s) = client_auth_case(ca.connector(), client_auth_acceptor(&server, &ca, true));
    c.unwrap();
    assert_eq!(s.unwrap(), None);
    let (c, s) = client_auth_case(
        with_client_cert(&ca, &client),
        client_auth_acceptor(&server, &ca, true),
    );
    c.unwrap();
    assert_eq!(s.unwrap().unwrap(), client.der);
}

// ---------------------------------------------------------------- large transfers

#[test]
fn large_transfers_both_directions() {
    const SIZE: usize = 4 * 1024 * 1024 + 12_345;
    let up = Arc::new(pattern(SIZE, 1));
    let down = Arc::new(pattern(SIZE, 2));
    let (up2, down2) = (up.clone(), down.clone());
    let (client, server) = run_tls(
        |mut tls| -> std::io::Result<()> {
            // uneven chunk sizes, some above the 16 KiB record size
            let mut off = 0;
            let mut step = 1;
            while off < up.len() {
                let end = (off + step).min(up.len());
                tls.write_all(&up[off..end])?;
                off = end;
                step = step * 3 % 100_003 + 1;
            }
            tls.flush()?;
            let mut got = vec![0u8; SIZE];
            tls.read_exact(&mut got)?;
            assert!(got == *down, "downloaded data differs");
            tls.shutdown()?;
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest)?;
            assert!(rest.is_empty());
            Ok(())
        },
        move |mut tls| -> std::io::Result<()> {
            let mut got = vec![0u8; SIZE];
            // small reads too
            tls.read_exact(&mut got[..1000])?;
            tls.read_exact(&mut got[1000..])?;
            assert!(got == *up2, "uploaded data differs");
            tls.write_all(&down2)?;
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest)?; // until the client's close_notify
            assert!(rest.is_empty());
            tls.shutdown()
        },
    );
    client.unwrap();
    server.unwrap();
}

// ---------------------------------------------------------------- shutdown and EOF

#[test]
fn shutdown_sends_close_notify_and_half_closes() {
    let (client, server) = run_tls(
        |mut tls| -> std::io::Result<()> {
            tls.write_all(b"request")?;
            tls.shutdown()?;
            tls.shutdown()?; // idempotent
            let e = tls.write(b"x").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokenPipe);
            assert!(e.to_string().contains("after shutdown"), "{e}");
            // reading still works after our close_notify
            let mut reply = Vec::new();
            tls.read_to_end(&mut reply)?;
            assert_eq!(reply, b"response");
            // and keeps reporting the clean end
            assert_eq!(tls.read(&mut [0u8; 8])?, 0);
            Ok(())
        },
        move |mut tls| -> std::io::Result<()> {
            let mut req = Vec::new();
            tls.read_to_end(&mut req)?; // Ok at the close_notify
            assert_eq!(req, b"request");
            assert_eq!(tls.read(&mut [0u8; 8])?, 0);
            tls.write_all(b"response")?;
            tls.shutdown()
        },
    );
    client.unwrap();
    server.unwrap();
}

#[test]
fn eof_without_close_notify_is_unexpected_eof() {
    let (client, server) = run_tls(
        |mut tls| -> std::io::Result<()> {
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf)?;
            assert_eq!(&buf, b"early");
            let e = tls.read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
            assert!(e.to_string().contains("close_notify"), "{e}");
            let mut v = Vec::new();
            assert_eq!(
                tls.read_to_end(&mut v).unwrap_err().kind(),
                ErrorKind::UnexpectedEof
            );
            Ok(())
        },
        move |mut tls| -> std::io::Result<()> {
            tls.write_all(b"early")?;
            drop(tls); // closes the socket without close_notify
            Ok(())
        },
    );
    client.unwrap();
    server.unwrap();
}

#[test]
fn into_inner_then_socket_shutdown() {
    let (client, server) = run_tls(
        |mut tls| -> std::io::Result<()> {
            tls.write_all(b"abc")?;
            tls.shutdown()?;
            tls.into_inner().shutdown(std::net::Shutdown::Write)
        },
        move |mut tls| -> std::io::Result<Vec<u8>> {
            let mut v = Vec::new();
            tls.read_to_end(&mut v)?;
            Ok(v)
        },
    );
    client.unwrap();
    assert_eq!(server.unwrap(), b"abc");
}

#[test]
fn peer_closing_during_handshake() {
    let ca = Ca::new("Test CA");
    // a server that hangs up at once
    let (client, ()) = run(
        |sock| ca.connector().connect("localhost", sock).map(|_| ()),
        drop,
    );
    let e = client.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{e:?}"
    );
    // a client that hangs up at once
    let leaf = ca.leaf(&["localhost"]);
    let acc = acceptor(&leaf);
    let ((), server) = run(drop, move |sock| acc.accept(sock).map(|_| ()));
    let e = server.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
    assert!(e.to_string().contains("during the TLS handshake"), "{e}");
}

#[test]
fn not_tls_is_invalid_data() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let acc = acceptor(&leaf);
    let (client, server) = run(
        |mut sock| sock.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        move |sock| acc.accept(sock).map(|_| ()),
    );
    client.unwrap();
    let e = server.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    // and a client talking to a non-TLS server
    let (client, ()) = run(
        |sock| ca.connector().connect("localhost", sock).map(|_| ()),
        |mut sock| {
            let mut buf = [0u8; 512];
            let _ = sock.read(&mut buf);
            let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        },
    );
    assert_eq!(client.unwrap_err().kind(), ErrorKind::InvalidData);
}

// ---------------------------------------------------------------- WouldBlock and timeouts

#[test]
fn would_block_and_timeouts_pass_through_and_resume() {
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (client, server) = run_tls(
        |mut tls| -> std::io::Result<()> {
            // nothing sent yet: a non-blocking read reports WouldBlock
            tls.get_mut().set_nonblocking(true)?;
            assert_eq!(
                tls.read(&mut [0u8; 16]).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            tls.get_mut().set_nonblocking(false)?;
            // a read timeout too (std reports it as WouldBlock on Unix)
            tls.get_mut()
                .set_read_timeout(Some(Duration::from_millis(20)))?;
            let e = tls.read(&mut [0u8; 16]).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "{e:?}"
            );
            tls.get_mut().set_read_timeout(Some(LIMIT))?;
            // the session is intact afterwards
            go_tx.send(()).unwrap();
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf)?;
            assert_eq!(&buf, b"later");
            // then the server's close_notify
            assert_eq!(tls.read(&mut buf)?, 0);
            Ok(())
        },
        move |mut tls| -> std::io::Result<()> {
            go_rx.recv_timeout(LIMIT).unwrap();
            tls.write_all(b"later")?;
            tls.shutdown()
        },
    );
    client.unwrap();
    server.unwrap();
}

// ---------------------------------------------------------------- key formats and PEM errors

fn read_data(name: &str) -> Vec<u8> {
    std::fs::read(data_file(name)).unwrap()
}

#[test]
fn server_key_formats_pkcs8_pkcs1_sec1() {
    let ca = Ca::new("Test CA");
    // (signing key for rcgen, key file the server loads)
    let cases = [
        ("rsa2048.pkcs8.pem", "rsa2048.pkcs8.pem"),
        ("rsa2048.pkcs8.pem", "rsa2048.pkcs1.pem"),
        ("p256.pkcs8.pem", "p256.pkcs8.pem"),
        ("p256.pkcs8.pem", "p256.sec1.pem"),
    ];
    let dir = temp_dir("keys");
    for (signing, loaded) in cases {
        let key = KeyPair::from_pem(std::str::from_utf8(&read_data(signing)).unwrap()).unwrap();
        let leaf = ca.leaf_with(&["localhost"], key, |_| {});
        let cert_path = dir.join(format!("{loaded}.crt"));
        std::fs::write(&cert_path, &leaf.cert).unwrap();
        let acc = TlsAcceptor::from_pem_files(&cert_path, data_file(loaded)).unwrap();
        let (client, server) = run(
            |sock| -> std::io::Result<Vec<u8>> {
                let mut tls = ca.connector().connect("localhost", sock)?;
                tls.write_all(b"key")?;
                tls.shutdown()?;
                let mut v = Vec::new();
                tls.read_to_end(&mut v)?;
                Ok(v)
            },
            move |sock| echo_upper(acc.accept(sock)?)?.shutdown(),
        );
        assert_eq!(client.unwrap(), b"KEY", "{loaded}");
        server.unwrap();
    }
    // the same formats as client keys
    let key =
        KeyPair::from_pem(std::str::from_utf8(&read_data("p256.pkcs8.pem")).unwrap()).unwrap();
    let leaf = ca.leaf_with(&["client.test"], key, |_| {});
    std::fs::write(dir.join("client.crt"), &leaf.cert).unwrap();
    TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .client_certificate_pem_files(dir.join("client.crt"), data_file("p256.sec1.pem"))
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pem_errors_are_clear() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let dir = temp_dir("pem");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &leaf.cert).unwrap();
    std::fs::write(&key_path, &leaf.key).unwrap();

    // missing file: NotFound naming the path
    let missing = dir.join("missing.pem");
    let e = TlsAcceptor::from_pem_files(&missing, &key_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    let e = TlsAcceptor::from_pem_files(&cert_path, &missing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("missing.pem"), "{e}");
    let e = TlsConnector::builder()
        .add_root_certificate_pem_file(&missing)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // a certificate file given as the key: no private key found in PATH
    let e = TlsAcceptor::from_pem_files(&cert_path, &cert_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .starts_with(&format!("no private key found in {}", cert_path.display())),
        "{e}"
    );
    // a key file given as the certificate
    let e = TlsAcceptor::from_pem_files(&key_path, &key_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().starts_with("no certificates found in"), "{e}");
    // both in one file works
    let both = dir.join("both.pem");
    std::fs::write(&both, format!("{}{}", leaf.cert, leaf.key)).unwrap();
    TlsAcceptor::from_pem_files(&both, &both).unwrap();

    // empty and non-PEM input
    for junk in [&b""[..], b"hello world", b"\x00\x01\x02"] {
        let e = TlsAcceptor::from_pem(junk, leaf.key.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.to_string()
                .contains("no certificates found in the PEM data"),
            "{e}"
        );
        let e = TlsAcceptor::from_pem(leaf.cert.as_bytes(), junk).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no private key found in the PEM data"),
            "{e}"
        );
        let e = TlsConnector::builder()
            .add_root_certificate_pem(junk)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
    // a PEM section with broken base64
    let broken = "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
    let e = TlsAcceptor::from_pem(broken.as_bytes(), leaf.key.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        e.to_string().starts_with("invalid PEM in the PEM data"),
        "{e}"
    );
    // well-formed PEM, not a certificate
    let garbage = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let e = TlsConnector::builder()
        .add_root_certificate_pem(garbage.as_bytes())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        e.to_string()
            .starts_with("invalid root certificate in the PEM data"),
        "{e}"
    );
    // an encrypted key
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let e = TlsAcceptor::from_pem(leaf.cert.as_bytes(), encrypted.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    // a key that is not the certificate's
    let other = ca.leaf(&["localhost"]);
    std::fs::write(dir.join("other.key"), &other.key).unwrap();
    let e = TlsAcceptor::from_pem_files(&cert_path, dir.join("other.key")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("does not match the certificate in"),
        "{e}"
    );
    let e = TlsConnector::builder()
        .client_certificate_pem(leaf.cert.as_bytes(), other.key.as_bytes())
        .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn builder_errors() {
    let e = TlsAcceptor::builder().build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().starts_with("no server certificate"), "{e}");
    let e = TlsConnector::builder()
        .platform_roots(false)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no root certificates"), "{e}");
    let e = TlsConnector::builder()
        .add_root_certificate_der(b"junk")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    // invalid server names fail before any I/O
    let c = TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    for name in ["", "bad name", "a..b", "[::1"] {
        let (a, _b) = pair();
        let e = c.connect(name, a).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name:?}");
        assert!(e.to_string().contains("invalid TLS server name"), "{e}");
    }
}

// ---------------------------------------------------------------- platform roots

#[test]
fn platform_roots_load() {
    let c = TlsConnector::new().unwrap();
    assert!(c.root_certificate_count() > 10, "{c:?}");
    // extra roots add to them
    let ca = Ca::new("Test CA");
    let c2 = TlsConnector::builder()
        .add_root_certificate_pem(ca.pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(c2.root_certificate_count(), c.root_certificate_count() + 1);
}

/// Run in a child process by `platform_roots_total_failure` (environment
/// variables are process-wide, so the parent cannot set them safely).
#[test]
fn platform_roots_failure_child() {
    if std::env::var_os("GEVENT_TLS_ROOTS_CHILD").is_none() {
        return;
    }
    let e = TlsConnector::new().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let msg = e.to_string();
    assert!(
        msg.starts_with("no platform root certificates could be loaded"),
        "{msg}"
    );
    assert!(msg.contains("/nonexistent/ca-bundle.pem"), "{msg}");
    assert!(msg.contains("SSL_CERT_FILE"), "{msg}");
    // turning platform roots off with an explicit root works
    let ca = Ca::new("Test CA");
    TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca.pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    println!("CHILD-OK");
}

#[test]
fn platform_roots_total_failure() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "platform_roots_failure_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GEVENT_TLS_ROOTS_CHILD", "1")
        .env("SSL_CERT_FILE", "/nonexistent/ca-bundle.pem")
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn debug_output_is_readable() {
    let ca = Ca::new("Test CA");
    let leaf = ca.leaf(&["localhost"]);
    let acc = TlsAcceptor::builder()
        .certificate_pem(leaf.cert.as_bytes(), leaf.key.as_bytes())
        .unwrap()
        .sni_certificate_pem("api.test", leaf.cert.as_bytes(), leaf.key.as_bytes())
        .unwrap()
        .alpn_protocols(["h2"])
        .build()
        .unwrap();
    let s = format!("{acc:?}");
    assert!(
        s.contains("api.test") && s.contains("h2") && s.len() < 400,
        "{s}"
    );
    let s = format!("{:?}", ca.connector());
    assert!(s.contains("root_certificates: 1"), "{s}");
    let (client, server) = run(
        |sock| {
            ca.connector()
                .connect("localhost", sock)
                .map(|t| format!("{t:?}"))
        },
        move |sock| acc.accept(sock).map(|_| ()),
    );
    server.unwrap();
    let s = client.unwrap();
    assert!(
        s.contains("side: \"client\"") && s.contains("TLSv1.3"),
        "{s}"
    );
}
