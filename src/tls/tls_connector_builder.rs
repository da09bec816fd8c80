//! [`TlsConnectorBuilder`]: configures a [`TlsConnector`].

use std::fmt;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::TlsConnector;
use super::accept_any_server_cert::AcceptAnyServerCert;
use super::pem;

/// Configures a [`TlsConnector`]: trusted roots, ALPN, SNI, a client
/// certificate. Made by [`TlsConnector::builder`]; finish with
/// [`build`](TlsConnectorBuilder::build).
///
/// Methods that load certificates check them at once and return
/// `io::Result<Self>`, so a chain of settings reads
/// `builder().add_root_certificate_pem_file(p)?.alpn_protocols([..]).build()?`.
///
/// # Examples
///
/// ```
/// use gevent::tls::TlsConnector;
/// # let dir = std::env::temp_dir().join(format!("gevent-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let key = rcgen::KeyPair::generate().unwrap();
/// # let cert = rcgen::CertificateParams::new(vec!["client".into()]).unwrap().self_signed(&key).unwrap();
/// # std::fs::write(dir.join("ca.pem"), cert.pem())?;
/// # std::fs::write(dir.join("client.pem"), cert.pem() + &key.serialize_pem())?;
/// // Only trust a private CA, and authenticate with a client certificate
/// // (certificate and key may share one file).
/// let connector = TlsConnector::builder()
///     .platform_roots(false)
///     .add_root_certificate_pem_file(dir.join("ca.pem"))?
///     .client_certificate_pem_files(dir.join("client.pem"), dir.join("client.pem"))?
///     .build()?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsConnectorBuilder {
    platform_roots: bool,
    roots: RootCertStore,
    alpn: Vec<Vec<u8>>,
    sni: bool,
    client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    accept_invalid_certs: bool,
}

impl TlsConnectorBuilder {
    pub(crate) fn new() -> TlsConnectorBuilder {
        TlsConnectorBuilder {
            platform_roots: true,
            roots: RootCertStore::empty(),
            alpn: Vec::new(),
            sni: true,
            client_cert: None,
            accept_invalid_certs: false,
        }
    }

    /// Whether to trust the platform's root certificates (on by default):
    /// the files that `SSL_CERT_FILE` / `SSL_CERT_DIR` name, else the
    /// system bundle (`/etc/ssl/certs` on Debian). Unusable certificates
    /// in it are skipped and counted
    /// ([`TlsConnector::skipped_platform_certificates`]).
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::builder().platform_roots(true).build()?;
    /// assert!(c.root_certificate_count() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn platform_roots(mut self, enabled: bool) -> TlsConnectorBuilder {
        self.platform_roots = enabled;
        self
    }

    /// Also trusts every certificate in `pem` (one or more
    /// `BEGIN CERTIFICATE` sections) as a root.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if it holds no certificate; `InvalidData` if the PEM
    /// or a certificate is malformed.
    ///
    /// ```
    /// use gevent::tls::TlsConnector;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let ca_pem = rcgen::CertificateParams::new(vec!["my-ca".into()]).unwrap().self_signed(&key).unwrap().pem();
    /// let b = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(ca_pem.as_bytes())?;
    /// assert_eq!(b.build()?.root_certificate_count(), 1);
    /// let err = TlsConnector::builder().add_root_certificate_pem(b"not PEM").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> io::Result<TlsConnectorBuilder> {
        pem::add_roots(&mut self.roots, pem, pem::PEM_DATA)?;
        Ok(self)
    }

    /// Also trusts every certificate in the PEM file at `path` as a root.
    ///
    /// # Errors
    ///
    /// The file's read error (`NotFound`...) naming the path, and those of
    /// [`add_root_certificate_pem`](TlsConnectorBuilder::add_root_certificate_pem).
    ///
    /// ```
    /// let err = gevent::tls::TlsConnector::builder().add_root_certificate_pem_file("/no/such/ca.pem").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("/no/such/ca.pem"));
    /// ```
    pub fn add_root_certificate_pem_file<P: AsRef<Path>>(
        mut self,
        path: P,
    ) -> io::Result<TlsConnectorBuilder> {
        pem::add_roots_from_file(&mut self.roots, path.as_ref())?;
        Ok(self)
    }

    /// Also trusts one DER-encoded certificate as a root.
    ///
    /// # Errors
    ///
    /// `InvalidData` if it is not a usable certificate.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let ca = rcgen::CertificateParams::new(vec!["my-ca".into()]).unwrap().self_signed(&key).unwrap();
    /// let b = gevent::tls::TlsConnector::builder().add_root_certificate_der(ca.der())?;
    /// assert!(gevent::tls::TlsConnector::builder().add_root_certificate_der(b"junk").is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_root_certificate_der(mut self, der: &[u8]) -> io::Result<TlsConnectorBuilder> {
        self.roots
            .add(CertificateDer::from(der.to_vec()))
            .map_err(|e| {
                io::Error::new(
                    ErrorKind::InvalidData,
                    format!("invalid root certificate: {e}"),
                )
            })?;
        Ok(self)
    }

    /// The application protocols to offer with ALPN, most preferred first
    /// (say `["h2", "http/1.1"]`). None by default. What the server chose
    /// is [`TlsStream::alpn_protocol`](super::TlsStream::alpn_protocol).
    /// Names must be 1 to 255 bytes ([`build`](TlsConnectorBuilder::build)
    /// checks).
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::builder().alpn_protocols(["h2", "http/1.1"]).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocols<I, P>(mut self, protocols: I) -> TlsConnectorBuilder
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.alpn = super::alpn_list(protocols);
        self
    }

    /// Whether to send the server name with SNI (on by default; servers
    /// hosting several names need it to pick the certificate).
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::builder().sni(false).build()?;
    /// assert!(!c.config().enable_sni);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sni(mut self, enabled: bool) -> TlsConnectorBuilder {
        self.sni = enabled;
        self
    }

    /// Authenticates with a client certificate: `chain_pem` holds the
    /// certificate (then any intermediates), `key_pem` its private key
    /// (PKCS#8, PKCS#1 RSA or SEC1 EC; the same bytes may hold both).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if there is no certificate or no private key, or the
    /// key does not match the certificate; `InvalidData` for malformed PEM.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["client".into()]).unwrap().self_signed(&key).unwrap();
    /// let b = gevent::tls::TlsConnector::builder()
    ///     .client_certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// let err = gevent::tls::TlsConnector::builder()
    ///     .client_certificate_pem(cert.pem().as_bytes(), cert.pem().as_bytes())
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("no private key found in the PEM data"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_certificate_pem(
        self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> io::Result<TlsConnectorBuilder> {
        self.set_client_certificate(chain_pem, key_pem, pem::PEM_DATA, pem::PEM_DATA)
    }

    fn set_client_certificate(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
        chain_what: &str,
        key_what: &str,
    ) -> io::Result<TlsConnectorBuilder> {
        let chain = pem::certs(chain_pem, chain_what)?;
        let key = pem::private_key(key_pem, key_what)?;
        // Check that the key is usable and matches before accepting it.
        pem::certified_key(chain.clone(), key.clone_key(), chain_what, key_what)?;
        self.client_cert = Some((chain, key));
        Ok(self)
    }

    /// [`client_certificate_pem`](TlsConnectorBuilder::client_certificate_pem)
    /// from files (`chain` and `key` may be the same file).
    ///
    /// # Errors
    ///
    /// A file's read error (`NotFound`...) naming its path, and those of
    /// `client_certificate_pem`, naming the file.
    ///
    /// ```
    /// let err = gevent::tls::TlsConnector::builder()
    ///     .client_certificate_pem_files("/no/cert.pem", "/no/key.pem")
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn client_certificate_pem_files<P: AsRef<Path>, Q: AsRef<Path>>(
        self,
        chain: P,
        key: Q,
    ) -> io::Result<TlsConnectorBuilder> {
        let (chain, key) = (chain.as_ref(), key.as_ref());
        let (chain_pem, key_pem) = pem::read_pair(chain, key)?;
        self.set_client_certificate(
            &chain_pem,
            &key_pem,
            &pem::describe_path(chain),
            &pem::describe_path(key),
        )
    }

    /// **Insecure**: accepts any server certificate — self-signed,
    /// expired, issued for another name, by an unknown CA. The connection
    /// is still encrypted, but anyone between client and server can
    /// impersonate the server and read everything. Only for tests and
    /// for talking to a known development server; never in production.
    ///
    /// No root certificates are needed (or loaded) with it on.
    ///
    /// ```
    /// // A test client for a server with a throwaway self-signed certificate.
    /// let insecure = gevent::tls::TlsConnector::builder().danger_accept_invalid_certs(true).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> TlsConnectorBuilder {
        self.accept_invalid_certs = accept;
        self
    }

    /// Builds the connector.
    ///
    /// # Errors
    ///
    /// * `NotFound` if platform roots are on and none could be loaded
    ///   (the message says what failed and how to fix it).
    /// * `InvalidInput` if there is no root certificate at all (platform
    ///   roots off and none added), or an ALPN name is empty or longer
    ///   than 255 bytes.
    ///
    /// ```
    /// let err = gevent::tls::TlsConnector::builder().platform_roots(false).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(self) -> io::Result<TlsConnector> {
        super::check_alpn(&self.alpn)?;
        let provider = super::provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        let mut roots = self.roots;
        let mut skipped = 0;
        let mut root_count = 0;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert::new(provider)))
        } else {
            if self.platform_roots {
                skipped = add_platform_roots(&mut roots)?;
            }
            if roots.is_empty() {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    "no root certificates to verify servers with: platform roots are off and none were added \
                     (use add_root_certificate_pem or add_root_certificate_pem_file)",
                ));
            }
            root_count = roots.len();
            builder.with_root_certificates(roots)
        };
        let mut config = match self.client_cert {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
                io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("unusable client certificate: {e}"),
                )
            })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        config.enable_sni = self.sni;
        Ok(TlsConnector::from_parts(config, root_count, skipped))
    }
}

/// Loads the platform's root certificates into `roots`; returns how many
/// were skipped (unparsable certificates plus unreadable files).
fn add_platform_roots(roots: &mut RootCertStore) -> io::Result<usize> {
    let loaded = rustls_native_certs::load_native_certs();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = match loaded.errors.first() {
            Some(e) => format!(
                "{} error(s) loading them, the first: {e}",
                loaded.errors.len()
            ),
            None if ignored > 0 => format!("all {ignored} certificates found were unusable"),
            None => "no certificate files were found".to_owned(),
        };
        return Err(io::Error::new(
            ErrorKind::NotFound,
            format!(
                "no platform root certificates could be loaded ({why}); install the ca-certificates package, \
                 point SSL_CERT_FILE or SSL_CERT_DIR at a CA bundle, or add roots with \
                 add_root_certificate_pem_file and turn platform roots off"
            ),
        ));
    }
    Ok(ignored + loaded.errors.len())
}

impl fmt::Debug for TlsConnectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnectorBuilder")
            .field("platform_roots", &self.platform_roots)
            .field("added_roots", &self.roots.len())
            .field("alpn_protocols", &super::alpn_names(&self.alpn))
            .field("sni", &self.sni)
            .field("client_certificate", &self.client_cert.is_some())
            .field("danger_accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}
