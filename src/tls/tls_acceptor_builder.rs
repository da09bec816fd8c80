//! [`TlsAcceptorBuilder`]: configures a [`TlsAcceptor`].

use std::fmt;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::TlsAcceptor;
use super::pem;
use super::sni_resolver::SniResolver;

/// Configures a [`TlsAcceptor`]: the server's certificate(s), ALPN, client
/// authentication. Made by [`TlsAcceptor::builder`]; finish with
/// [`build`](TlsAcceptorBuilder::build).
///
/// Certificates are chosen by the name the client asks for with SNI:
/// [`sni_certificate_pem`](TlsAcceptorBuilder::sni_certificate_pem) adds one
/// per name (or `*.domain` wildcard); the one given to
/// [`certificate_pem`](TlsAcceptorBuilder::certificate_pem) serves every
/// other client. Methods that load certificates check them at once
/// (including that the key matches the certificate) and return
/// `io::Result<Self>`.
///
/// # Examples
///
/// ```
/// use gevent::tls::TlsAcceptor;
/// # let key = rcgen::KeyPair::generate().unwrap();
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
/// # let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
/// # let (ca_pem, api_cert, api_key) = (cert_pem.clone(), cert_pem.clone(), key_pem.clone());
/// let acceptor = TlsAcceptor::builder()
///     .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
///     .sni_certificate_pem("api.example.com", api_cert.as_bytes(), api_key.as_bytes())?
///     .alpn_protocols(["h2", "http/1.1"])
///     .client_ca_pem(ca_pem.as_bytes())?
///     .client_auth_optional(true)
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsAcceptorBuilder {
    certs: SniResolver,
    alpn: Vec<Vec<u8>>,
    client_roots: RootCertStore,
    client_auth_optional: bool,
}

impl TlsAcceptorBuilder {
    pub(crate) fn new() -> TlsAcceptorBuilder {
        TlsAcceptorBuilder {
            certs: SniResolver::default(),
            alpn: Vec::new(),
            client_roots: RootCertStore::empty(),
            client_auth_optional: false,
        }
    }

    /// The server's certificate: `chain_pem` holds the certificate then any
    /// intermediates, `key_pem` its private key (PKCS#8, PKCS#1 RSA or
    /// SEC1 EC; the same bytes may hold both). Served to clients whose SNI
    /// name has no certificate of its own, and to clients sending none.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if there is no certificate or no private key ("no
    /// private key found in the PEM data"), the key type is unsupported or
    /// the key does not match the certificate; `InvalidData` for malformed
    /// PEM.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let b = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// let other_key = rcgen::KeyPair::generate().unwrap();
    /// let err = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), other_key.serialize_pem().as_bytes())
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("does not match"), "{err}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn certificate_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> io::Result<TlsAcceptorBuilder> {
        let key = pem::certified_key_from_pem(chain_pem, key_pem, pem::PEM_DATA, pem::PEM_DATA)?;
        self.certs.set_default(key);
        Ok(self)
    }

    /// [`certificate_pem`](TlsAcceptorBuilder::certificate_pem) from files
    /// (`chain` and `key` may be the same file).
    ///
    /// # Errors
    ///
    /// A file's read error (`NotFound`...) naming its path, and those of
    /// `certificate_pem`, naming the file.
    ///
    /// ```
    /// let err = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem_files("/no/such/cert.pem", "/no/such/key.pem")
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("/no/such/cert.pem"));
    /// ```
    pub fn certificate_pem_files<P: AsRef<Path>, Q: AsRef<Path>>(
        mut self,
        chain: P,
        key: Q,
    ) -> io::Result<TlsAcceptorBuilder> {
        let key = pem::certified_key_from_files(chain.as_ref(), key.as_ref())?;
        self.certs.set_default(key);
        Ok(self)
    }

    /// The certificate to serve to clients asking for `name` with SNI:
    /// an exact DNS name (case-insensitive) or a wildcard `*.example.com`
    /// matching one leftmost label. Exact names win over wildcards.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an invalid name, and those of
    /// [`certificate_pem`](TlsAcceptorBuilder::certificate_pem).
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["*.example.com".into()]).unwrap().self_signed(&key).unwrap();
    /// let b = gevent::tls::TlsAcceptor::builder()
    ///     .sni_certificate_pem("*.example.com", cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// assert!(gevent::tls::TlsAcceptor::builder()
    ///     .sni_certificate_pem("bad name!", cert.pem().as_bytes(), key.serialize_pem().as_bytes())
    ///     .is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sni_certificate_pem(
        mut self,
        name: &str,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> io::Result<TlsAcceptorBuilder> {
        let key = pem::certified_key_from_pem(chain_pem, key_pem, pem::PEM_DATA, pem::PEM_DATA)?;
        self.certs.add(name, key)?;
        Ok(self)
    }

    /// [`sni_certificate_pem`](TlsAcceptorBuilder::sni_certificate_pem)
    /// from files.
    ///
    /// # Errors
    ///
    /// As [`certificate_pem_files`](TlsAcceptorBuilder::certificate_pem_files),
    /// and `InvalidInput` for an invalid name.
    ///
    /// ```
    /// let err = gevent::tls::TlsAcceptor::builder()
    ///     .sni_certificate_pem_files("example.com", "/no/cert.pem", "/no/key.pem")
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn sni_certificate_pem_files<P: AsRef<Path>, Q: AsRef<Path>>(
        mut self,
        name: &str,
        chain: P,
        key: Q,
    ) -> io::Result<TlsAcceptorBuilder> {
        let key = pem::certified_key_from_files(chain.as_ref(), key.as_ref())?;
        self.certs.add(name, key)?;
        Ok(self)
    }

    /// The application protocols the server supports with ALPN, in its
    /// order of preference. None by default (the client's offer is then
    /// ignored). If the server has some and the client offers only others,
    /// the handshake fails ("no_application_protocol"), as RFC 7301 asks.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let a = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .alpn_protocols(["h2", "http/1.1"])
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocols<I, P>(mut self, protocols: I) -> TlsAcceptorBuilder
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.alpn = super::alpn_list(protocols);
        self
    }

    /// Asks clients for a certificate signed by one of the CA certificates
    /// in `pem`, and refuses the handshake without one (unless
    /// [`client_auth_optional`](TlsAcceptorBuilder::client_auth_optional)).
    /// Can be called several times to trust several CAs. The client's
    /// chain is [`TlsStream::peer_certificates`](super::TlsStream::peer_certificates).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `pem` holds no certificate; `InvalidData` if it or
    /// a certificate is malformed.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let ca_pem = cert.pem();
    /// let a = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .client_ca_pem(ca_pem.as_bytes())?
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_ca_pem(mut self, pem: &[u8]) -> io::Result<TlsAcceptorBuilder> {
        pem::add_roots(&mut self.client_roots, pem, pem::PEM_DATA)?;
        Ok(self)
    }

    /// [`client_ca_pem`](TlsAcceptorBuilder::client_ca_pem) from a file.
    ///
    /// # Errors
    ///
    /// The file's read error (`NotFound`...) naming the path, and those of
    /// `client_ca_pem`, naming the file.
    ///
    /// ```
    /// let err = gevent::tls::TlsAcceptor::builder().client_ca_pem_file("/no/ca.pem").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn client_ca_pem_file<P: AsRef<Path>>(mut self, path: P) -> io::Result<TlsAcceptorBuilder> {
        pem::add_roots_from_file(&mut self.client_roots, path.as_ref())?;
        Ok(self)
    }

    /// With client CAs set: whether clients may also connect without a
    /// certificate (off by default: a certificate is required). A client
    /// that does present one must still present a valid one.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let a = gevent::tls::TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .client_ca_pem(cert.pem().as_bytes())?
    ///     .client_auth_optional(true)
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_auth_optional(mut self, optional: bool) -> TlsAcceptorBuilder {
        self.client_auth_optional = optional;
        self
    }

    /// Builds the acceptor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if no certificate was given, or an ALPN name is empty
    /// or longer than 255 bytes.
    ///
    /// ```
    /// let err = gevent::tls::TlsAcceptor::builder().build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(self) -> io::Result<TlsAcceptor> {
        super::check_alpn(&self.alpn)?;
        if self.certs.is_empty() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "no server certificate: give one with certificate_pem, certificate_pem_files or sni_certificate_pem",
            ));
        }
        let provider = super::provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        let builder = if self.client_roots.is_empty() {
            builder.with_no_client_auth()
        } else {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(self.client_roots), provider);
            let verifier = if self.client_auth_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| {
                io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("client authentication: {e}"),
                )
            })?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder.with_cert_resolver(Arc::new(self.certs));
        config.alpn_protocols = self.alpn;
        Ok(TlsAcceptor::from_config(Arc::new(config)))
    }
}

impl fmt::Debug for TlsAcceptorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptorBuilder")
            .field("certificates", &self.certs)
            .field("alpn_protocols", &super::alpn_names(&self.alpn))
            .field("client_cas", &self.client_roots.len())
            .field("client_auth_optional", &self.client_auth_optional)
            .finish()
    }
}
