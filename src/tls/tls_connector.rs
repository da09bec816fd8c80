//! [`TlsConnector`]: the client side — settings shared by many connections.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection};

use super::{TlsConnectorBuilder, TlsStream};

/// Client TLS settings: which servers to trust, ALPN protocols, SNI, an
/// optional client certificate. [`connect`](TlsConnector::connect) wraps a
/// connected stream in a [`TlsStream`] after a completed handshake.
///
/// [`TlsConnector::new`] trusts the platform's root certificates (as a
/// browser would); [`TlsConnector::builder`] configures the rest. Cloning is
/// cheap (the configuration is shared), so one connector serves every
/// connection.
///
/// # Examples
///
/// ```
/// use gevent::tls::TlsConnector;
///
/// # let key = rcgen::KeyPair::generate().unwrap();
/// # let ca_pem = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap().pem();
/// // Trust the system's roots plus a private CA, and offer HTTP/1.1 by ALPN.
/// let connector = TlsConnector::builder()
///     .add_root_certificate_pem(ca_pem.as_bytes())?
///     .alpn_protocols(["http/1.1"])
///     .build()?;
/// assert!(connector.root_certificate_count() > 1);
/// // let tls = connector.connect("example.com", gevent::net::TcpStream::connect("example.com:443")?)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    root_count: usize,
    skipped_roots: usize,
}

impl TlsConnector {
    /// A connector with the default settings: the platform's root
    /// certificates, SNI on, no ALPN, no client certificate. Same as
    /// `TlsConnector::builder().build()`.
    ///
    /// # Errors
    ///
    /// `NotFound` if no root certificate could be loaded from the platform
    /// (see [`TlsConnectorBuilder::platform_roots`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let connector = gevent::tls::TlsConnector::new()?;
    /// println!("{} trusted roots", connector.root_certificate_count());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<TlsConnector> {
        TlsConnector::builder().build()
    }

    /// A builder to configure a connector.
    ///
    /// ```
    /// let connector = gevent::tls::TlsConnector::builder().alpn_protocols(["h2"]).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> TlsConnectorBuilder {
        TlsConnectorBuilder::new()
    }

    /// A connector using a rustls configuration built by the caller, for
    /// settings the builder does not offer (protocol versions, session
    /// storage, key logging...).
    ///
    /// ```
    /// use gevent::tls::{rustls, TlsConnector};
    /// use std::sync::Arc;
    ///
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_protocol_versions(&[&rustls::version::TLS13])
    ///     .unwrap()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::from_config(Arc::new(config));
    /// ```
    pub fn from_config(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector {
            config,
            root_count: 0,
            skipped_roots: 0,
        }
    }

    pub(crate) fn from_parts(
        config: ClientConfig,
        root_count: usize,
        skipped_roots: usize,
    ) -> TlsConnector {
        TlsConnector {
            config: Arc::new(config),
            root_count,
            skipped_roots,
        }
    }

    /// The rustls configuration in use.
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::builder().alpn_protocols(["h2"]).build()?;
    /// assert_eq!(c.config().alpn_protocols, [b"h2".to_vec()]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// How many trust anchors the builder installed (platform roots plus
    /// added ones; 0 for [`from_config`](TlsConnector::from_config)).
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::builder().platform_roots(false).danger_accept_invalid_certs(true).build()?;
    /// assert_eq!(c.root_certificate_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root_certificate_count(&self) -> usize {
        self.root_count
    }

    /// How many platform certificates were skipped because they could not
    /// be parsed or used as trust anchors, plus certificate files that
    /// could not be read (the rest still load).
    ///
    /// ```
    /// let c = gevent::tls::TlsConnector::new()?;
    /// if c.skipped_platform_certificates() > 0 {
    ///     eprintln!("{} unusable platform certificates skipped", c.skipped_platform_certificates());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn skipped_platform_certificates(&self) -> usize {
        self.skipped_roots
    }

    /// Runs a TLS handshake as a client over `stream` (already connected
    /// to the server) and returns the established session.
    ///
    /// `server_name` is the DNS name (or IP address) the server's
    /// certificate must be valid for; it is also sent with SNI unless that
    /// was turned off (names that are IP addresses never are). IPv6
    /// addresses may be written in brackets.
    ///
    /// The handshake blocks the caller (on `gevent::net` sockets: parks
    /// only the calling greenlet); bound it with a socket timeout or a
    /// [`Timeout`](crate::Timeout).
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `server_name` is neither a DNS name nor an IP address.
    /// * `InvalidData` wrapping the [`rustls::Error`] if the handshake fails:
    ///   a certificate not valid for `server_name` ("certificate not valid
    ///   for name ..."), one not signed by a trusted root ("UnknownIssuer"),
    ///   expired, a fatal alert from the server...
    /// * `UnexpectedEof` if the server closed the connection mid-handshake.
    /// * Any error of `stream` (`TimedOut`, `WouldBlock`, `ConnectionReset`...).
    ///
    /// With TLS 1.3 a server's rejection of the client certificate arrives
    /// after the client has finished its handshake: it shows up as an
    /// error on the first read instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::tls::{TlsAcceptor, TlsConnector};
    /// use std::io::ErrorKind;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// let connector = TlsConnector::builder()
    ///     .platform_roots(false)
    ///     .add_root_certificate_pem(cert.pem().as_bytes())?
    ///     .build()?;
    ///
    /// // The certificate is for "localhost": any other name is refused.
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let server = std::thread::spawn(move || acceptor.accept(b).map(|_| ()));
    /// let err = connector.connect("example.com", a).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidData);
    /// assert!(err.to_string().contains("certificate not valid for name"), "{err}");
    /// assert!(server.join().unwrap().is_err()); // the server got the alert
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<S: Read + Write>(
        &self,
        server_name: &str,
        stream: S,
    ) -> io::Result<TlsStream<S>> {
        let bare = server_name
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(server_name);
        let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("invalid TLS server name {server_name:?} (expected a DNS name or an IP address): {e}"),
            )
        })?;
        let conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        TlsStream::handshake(Connection::Client(conn), stream, Some(bare.to_owned()))
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("root_certificates", &self.root_count)
            .field("skipped_platform_certificates", &self.skipped_roots)
            .field(
                "alpn_protocols",
                &super::alpn_names(&self.config.alpn_protocols),
            )
            .field("sni", &self.config.enable_sni)
            .finish_non_exhaustive()
    }
}
