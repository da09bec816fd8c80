//! TLS client and server streams on [rustls] (with its `ring` crypto
//! provider), over any blocking-style `Read + Write` stream — in particular
//! the cooperative sockets of `gevent::net`, where a would-block read or
//! write parks only the calling greenlet.
//!
//! * [`TlsConnector`] ([`TlsConnectorBuilder`]): client settings — the
//!   platform's root certificates plus any extra roots from PEM, ALPN, SNI,
//!   an optional client certificate. [`TlsConnector::connect`] runs the
//!   handshake and returns a [`TlsStream`].
//! * [`TlsAcceptor`] ([`TlsAcceptorBuilder`]): server settings — certificate
//!   chain and private key from PEM (PKCS#8, PKCS#1 RSA or SEC1 EC keys),
//!   per-name certificates chosen by SNI, ALPN, client authentication.
//!   [`TlsAcceptor::accept`] runs the handshake and returns a [`TlsStream`].
//! * [`TlsStream`]: `Read` and `Write` plaintext; [`shutdown`](TlsStream::shutdown)
//!   sends `close_notify`; the negotiated ALPN protocol, SNI name, peer
//!   certificates, protocol version and cipher suite.
//!
//! The handshake is done eagerly by `connect`/`accept`, so certificate and
//! protocol errors surface there. Every error is an [`std::io::Error`]; TLS
//! failures have kind `InvalidData` and wrap the [`rustls::Error`]
//! (`e.get_ref()` downcasts to it), whose text is the message.
//!
//! Connectors and acceptors are cheap to clone (the configuration is shared),
//! so one can serve every connection of a server. The `rustls` crate is
//! re-exported as [`rustls`] for code that needs its types or builds its own
//! configuration ([`TlsConnector::from_config`], [`TlsAcceptor::from_config`]).
//!
//! # Example
//!
//! A TLS echo server and a client, each a greenlet of this thread, over
//! cooperative TCP sockets on 127.0.0.1:
//!
//! ```
//! use gevent::net::{TcpListener, TcpStream};
//! use gevent::tls::{TlsAcceptor, TlsConnector};
//! use std::io::{Read, Write};
//!
//! # let key = rcgen::KeyPair::generate().unwrap();
//! # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
//! # let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
//! // cert_pem / key_pem: a certificate for "localhost" and its private key.
//! let acceptor = TlsAcceptor::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
//! let connector = TlsConnector::builder()
//!     .platform_roots(false)
//!     .add_root_certificate_pem(cert_pem.as_bytes())?
//!     .build()?;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = gevent::spawn(move || -> std::io::Result<()> {
//!     let (sock, _) = listener.accept()?;
//!     let mut tls = acceptor.accept(sock)?;
//!     let mut word = [0u8; 5];
//!     tls.read_exact(&mut word)?;
//!     tls.write_all(&word.to_ascii_uppercase())?;
//!     tls.shutdown() // close_notify: the client's read_to_end ends cleanly
//! });
//!
//! let mut tls = connector.connect("localhost", TcpStream::connect(addr)?)?;
//! tls.write_all(b"hello")?;
//! let mut reply = Vec::new();
//! tls.read_to_end(&mut reply)?;
//! assert_eq!(reply, b"HELLO");
//! assert_eq!(tls.protocol_version(), Some("TLSv1.3"));
//! server.take().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The other examples in this module use std socket pairs and threads:
//! `TlsStream` works over any blocking-style stream.

mod accept_any_server_cert;
mod pem;
#[cfg(feature = "selfsigned")]
mod self_signed;
mod sni_resolver;
mod tls_acceptor;
mod tls_acceptor_builder;
mod tls_connector;
mod tls_connector_builder;
mod tls_stream;

pub use rustls;
#[cfg(feature = "selfsigned")]
pub use self_signed::{SelfSignedCert, self_signed, self_signed_localhost};
pub use tls_acceptor::TlsAcceptor;
pub use tls_acceptor_builder::TlsAcceptorBuilder;
pub use tls_connector::TlsConnector;
pub use tls_connector_builder::TlsConnectorBuilder;
pub use tls_stream::TlsStream;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// The crypto provider every configuration built here uses: rustls's `ring`
/// provider, passed explicitly so that no process-wide default is needed
/// (and none is disturbed).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// ALPN protocol names as the builders store them.
pub(crate) fn alpn_list<I, P>(protocols: I) -> Vec<Vec<u8>>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    protocols.into_iter().map(|p| p.as_ref().to_vec()).collect()
}

/// ALPN protocol names as text, for `Debug`.
pub(crate) fn alpn_names(protocols: &[Vec<u8>]) -> Vec<std::borrow::Cow<'_, str>> {
    protocols
        .iter()
        .map(|p| String::from_utf8_lossy(p))
        .collect()
}

/// Checks ALPN protocol names (1 to 255 bytes each, as the protocol requires).
pub(crate) fn check_alpn(protocols: &[Vec<u8>]) -> std::io::Result<()> {
    match protocols.iter().find(|p| p.is_empty() || p.len() > 255) {
        Some(p) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "invalid ALPN protocol name {:?}: names must be 1 to 255 bytes long",
                String::from_utf8_lossy(p)
            ),
        )),
        None => Ok(()),
    }
}
