//! Throwaway self-signed certificates for tests and demos (feature
//! `selfsigned`, through [rcgen](https://docs.rs/rcgen)).

use std::io;

use super::{TlsAcceptor, TlsConnector};

/// A freshly generated self-signed certificate and its private key (an
/// ECDSA P-256 key), for tests, demos and local development: never for
/// production, where a certificate must come from an authority the
/// clients trust.
///
/// [`acceptor`](SelfSignedCert::acceptor) serves it;
/// [`connector`](SelfSignedCert::connector) trusts exactly it (and not the
/// platform's roots).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent::net::{TcpListener, TcpStream};
/// let cert = gevent::tls::self_signed_localhost()?;
/// let acceptor = cert.acceptor()?;
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = gevent::spawn(move || -> std::io::Result<()> {
///     let mut tls = acceptor.accept(listener.accept()?.0)?;
///     tls.write_all(b"hi")?;
///     tls.shutdown()
/// });
/// let mut tls = cert.connector()?.connect("localhost", TcpStream::connect(addr)?)?;
/// let mut got = Vec::new();
/// tls.read_to_end(&mut got)?;
/// assert_eq!(got, b"hi");
/// server.take().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct SelfSignedCert {
    cert_pem: String,
    key_pem: String,
    cert_der: Vec<u8>,
    names: Vec<String>,
}

/// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
///
/// # Errors
///
/// `Other` if key generation or signing fails (it does not with rcgen's
/// defaults).
///
/// # Examples
///
/// ```
/// let cert = gevent::tls::self_signed_localhost()?;
/// assert!(cert.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(cert.names(), ["localhost", "127.0.0.1", "::1"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn self_signed_localhost() -> io::Result<SelfSignedCert> {
    self_signed(&["localhost", "127.0.0.1", "::1"])
}

/// A self-signed certificate for `names` (DNS names or IP addresses; the
/// first is also the common name).
///
/// # Errors
///
/// `InvalidInput` for an empty list or a name rcgen refuses (an empty
/// name, one with a NUL byte, ...); `Other` if generation fails.
///
/// # Examples
///
/// ```
/// let cert = gevent::tls::self_signed(&["example.test", "10.0.0.1"])?;
/// assert_eq!(cert.names(), ["example.test", "10.0.0.1"]);
/// assert!(gevent::tls::self_signed(&[]).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn self_signed(names: &[&str]) -> io::Result<SelfSignedCert> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let Some(&first) = names.first() else {
        return Err(invalid(
            "a self-signed certificate needs at least one name".into(),
        ));
    };
    if let Some(bad) = names.iter().find(|n| n.is_empty() || n.contains('\0')) {
        return Err(invalid(format!("invalid certificate name {bad:?}")));
    }
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(owned.clone())
        .map_err(|e| invalid(format!("invalid certificate names: {e}")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, first);
    let key = rcgen::KeyPair::generate()
        .map_err(|e| io::Error::other(format!("cannot generate a key: {e}")))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| io::Error::other(format!("cannot sign the certificate: {e}")))?;
    Ok(SelfSignedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
        names: owned,
    })
}

impl SelfSignedCert {
    /// The certificate, PEM-encoded.
    ///
    /// ```
    /// let cert = gevent::tls::self_signed_localhost()?;
    /// assert!(cert.cert_pem().contains("CERTIFICATE"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PEM-encoded (PKCS#8).
    ///
    /// ```
    /// let cert = gevent::tls::self_signed_localhost()?;
    /// assert!(cert.key_pem().contains("PRIVATE KEY"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The certificate, DER-encoded.
    ///
    /// ```
    /// let cert = gevent::tls::self_signed_localhost()?;
    /// assert_eq!(cert.cert_der()[0], 0x30); // a DER SEQUENCE
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The names the certificate is valid for.
    ///
    /// ```
    /// assert_eq!(gevent::tls::self_signed(&["a.test"])?.names(), ["a.test"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A server configuration presenting this certificate.
    ///
    /// # Errors
    ///
    /// As for [`TlsAcceptor::from_pem`].
    ///
    /// ```
    /// let acceptor = gevent::tls::self_signed_localhost()?.acceptor()?;
    /// # let _ = acceptor;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn acceptor(&self) -> io::Result<TlsAcceptor> {
        TlsAcceptor::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// A client configuration that trusts this certificate only (not the
    /// platform's roots).
    ///
    /// # Errors
    ///
    /// As for [`TlsConnectorBuilder::build`](super::TlsConnectorBuilder::build).
    ///
    /// ```
    /// let connector = gevent::tls::self_signed_localhost()?.connector()?;
    /// # let _ = connector;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connector(&self) -> io::Result<TlsConnector> {
        TlsConnector::builder()
            .platform_roots(false)
            .add_root_certificate_pem(self.cert_pem.as_bytes())?
            .build()
    }
}

impl std::fmt::Debug for SelfSignedCert {
    /// Shows the names, never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSignedCert")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}
