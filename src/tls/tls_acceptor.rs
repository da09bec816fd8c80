//! [`TlsAcceptor`]: the server side — settings shared by every connection.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::path::Path;
use std::sync::Arc;

use rustls::{Connection, ServerConfig, ServerConnection};

use super::{TlsAcceptorBuilder, TlsStream};

/// Server TLS settings: certificate(s), ALPN, client authentication.
/// [`accept`](TlsAcceptor::accept) wraps an accepted stream in a
/// [`TlsStream`] after a completed handshake.
///
/// Cloning is cheap (the configuration is shared): give a clone to each
/// connection's greenlet.
///
/// # Examples
///
/// ```
/// use gevent::tls::TlsAcceptor;
/// # let dir = std::env::temp_dir().join(format!("gevent-doc-acc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let key = rcgen::KeyPair::generate().unwrap();
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
/// # std::fs::write(dir.join("cert.pem"), cert.pem())?;
/// # std::fs::write(dir.join("key.pem"), key.serialize_pem())?;
/// let acceptor = TlsAcceptor::from_pem_files(dir.join("cert.pem"), dir.join("key.pem"))?;
/// // for each accepted connection `sock`, in its own greenlet:
/// //     let mut tls = acceptor.accept(sock)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl TlsAcceptor {
    /// A builder for SNI-selected certificates, ALPN and client
    /// authentication.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let acceptor = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .alpn_protocols(["http/1.1"])
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> TlsAcceptorBuilder {
        TlsAcceptorBuilder::new()
    }

    /// An acceptor serving one certificate chain (`chain_pem`: certificate
    /// then intermediates) with its private key (`key_pem`: PKCS#8, PKCS#1
    /// RSA or SEC1 EC; may be the same bytes).
    ///
    /// # Errors
    ///
    /// As [`TlsAcceptorBuilder::certificate_pem`].
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let both = cert.pem() + &key.serialize_pem();
    /// let acceptor = gevent::tls::TlsAcceptor::from_pem(both.as_bytes(), both.as_bytes())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
        TlsAcceptor::builder()
            .certificate_pem(chain_pem, key_pem)?
            .build()
    }

    /// [`from_pem`](TlsAcceptor::from_pem) with the PEM read from files
    /// (`chain` and `key` may be the same file).
    ///
    /// # Errors
    ///
    /// As [`TlsAcceptorBuilder::certificate_pem_files`]: `NotFound` naming
    /// a missing file, `InvalidInput` "no private key found in PATH"...
    ///
    /// ```
    /// let err = gevent::tls::TlsAcceptor::from_pem_files("/missing/cert.pem", "/missing/key.pem").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn from_pem_files<P: AsRef<Path>, Q: AsRef<Path>>(
        chain: P,
        key: Q,
    ) -> io::Result<TlsAcceptor> {
        TlsAcceptor::builder()
            .certificate_pem_files(chain, key)?
            .build()
    }

    /// An acceptor using a rustls configuration built by the caller, for
    /// settings the builder does not offer.
    ///
    /// ```
    /// use gevent::tls::{rustls, TlsAcceptor};
    /// use std::sync::Arc;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_protocol_versions(&[&rustls::version::TLS12])
    ///     .unwrap()
    ///     .with_no_client_auth()
    ///     .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
    ///     .unwrap();
    /// let acceptor = TlsAcceptor::from_config(Arc::new(config)); // TLS 1.2 only
    /// ```
    pub fn from_config(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { config }
    }

    /// The rustls configuration in use.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let a = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .alpn_protocols(["h2"])
    ///     .build()?;
    /// assert_eq!(a.config().alpn_protocols, [b"h2".to_vec()]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs a TLS handshake as the server over `stream` (an accepted
    /// connection) and returns the established session.
    ///
    /// The handshake blocks the caller (on `gevent::net` sockets: parks
    /// only the calling greenlet); bound it with a socket timeout or a
    /// [`Timeout`](crate::Timeout), since a client that never speaks would
    /// otherwise hold it forever.
    ///
    /// # Errors
    ///
    /// * `InvalidData` wrapping the [`rustls::Error`] if the handshake
    ///   fails: not TLS at all, no certificate for the requested name, no
    ///   common ALPN protocol, a missing or untrusted client certificate
    ///   (with client authentication), an alert from the client (which
    ///   rejected the server's certificate, say)...
    /// * `UnexpectedEof` if the client closed the connection mid-handshake.
    /// * Any error of `stream`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::tls::{TlsAcceptor, TlsConnector};
    /// use std::io::{Read, Write};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    /// // A client that is not speaking TLS:
    /// let client = std::thread::spawn(move || b.write_all(b"GET / HTTP/1.0\r\n\r\n"));
    /// let err = acceptor.accept(a).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    /// client.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept<S: Read + Write>(&self, stream: S) -> io::Result<TlsStream<S>> {
        let conn = ServerConnection::new(self.config.clone())
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        TlsStream::handshake(Connection::Server(conn), stream, None)
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field(
                "alpn_protocols",
                &super::alpn_names(&self.config.alpn_protocols),
            )
            .field("cert_resolver", &self.config.cert_resolver)
            .finish_non_exhaustive()
    }
}
