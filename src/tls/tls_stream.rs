//! [`TlsStream`]: a TLS session over a blocking-style byte stream.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};

use rustls::pki_types::CertificateDer;
use rustls::{Connection, ProtocolVersion};

/// A TLS connection over a stream `S`: reading and writing it reads and
/// writes plaintext, encrypted on `S`. Made by [`TlsConnector::connect`](super::TlsConnector::connect)
/// (client side) or [`TlsAcceptor::accept`](super::TlsAcceptor::accept) (server side) once the handshake
/// has completed.
///
/// `S` is any blocking-style `Read + Write` stream: a `gevent::net`
/// socket (a would-block operation parks only the calling greenlet), a std
/// socket, a pipe pair...
///
/// * **Reading** returns the plaintext the peer sent. `Ok(0)` means the peer
///   closed the session cleanly with `close_notify`; a connection that ends
///   without one (a truncation attack, or a peer that just closed its
///   socket) gives an `UnexpectedEof` error instead, as rustls reports it.
/// * **Writing** encrypts and sends; [`flush`](Write::flush) sends anything
///   still buffered (after a `WouldBlock` from a non-blocking or timed-out
///   stream, say).
/// * **Errors** from `S` pass through unchanged — `WouldBlock` and
///   `TimedOut` included, after which the operation can be retried: rustls
///   keeps any partial record. TLS protocol errors (a bad record, a fatal
///   alert from the peer) have kind `InvalidData` and wrap the
///   [`rustls::Error`]; the session cannot be used after one.
/// * [`shutdown`](TlsStream::shutdown) sends `close_notify`. Dropping the
///   stream does not (it may not block in a destructor): shut down first
///   when the peer relies on a clean end of data.
///
/// A `TlsStream` is one object with one session state: read and write it
/// from one greenlet at a time (or hand it over between them).
///
/// # Examples
///
/// ```
/// use gevent::tls::{TlsAcceptor, TlsConnector};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// # let key = rcgen::KeyPair::generate().unwrap();
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
/// # let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
/// let acceptor = TlsAcceptor::builder()
///     .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
///     .alpn_protocols(["echo/1"])
///     .build()?;
/// let connector = TlsConnector::builder()
///     .platform_roots(false)
///     .add_root_certificate_pem(cert_pem.as_bytes())?
///     .alpn_protocols(["echo/1"])
///     .build()?;
/// let (a, b) = UnixStream::pair()?;
/// let server = std::thread::spawn(move || -> std::io::Result<Option<String>> {
///     let mut tls = acceptor.accept(b)?;
///     let mut buf = [0u8; 4];
///     tls.read_exact(&mut buf)?;
///     tls.write_all(&buf)?;
///     Ok(tls.server_name().map(String::from))
/// });
/// let mut tls = connector.connect("localhost", a)?;
/// tls.write_all(b"ping")?;
/// let mut buf = [0u8; 4];
/// tls.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"ping");
/// assert_eq!(tls.alpn_protocol(), Some(&b"echo/1"[..]));
/// assert!(tls.negotiated_cipher_suite().unwrap().starts_with("TLS13_"));
/// assert_eq!(server.join().unwrap()?.as_deref(), Some("localhost"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsStream<S> {
    conn: Connection,
    sock: S,
    /// Client side: the name given to `connect`.
    client_server_name: Option<String>,
    /// `close_notify` has been queued by [`TlsStream::shutdown`].
    shut_down: bool,
}

impl<S: Read + Write> TlsStream<S> {
    /// Runs the handshake of `conn` over `sock` to completion.
    pub(crate) fn handshake(
        conn: Connection,
        sock: S,
        client_server_name: Option<String>,
    ) -> io::Result<TlsStream<S>> {
        let mut s = TlsStream {
            conn,
            sock,
            client_server_name,
            shut_down: false,
        };
        while s.conn.is_handshaking() {
            s.flush_tls()?;
            if !s.conn.is_handshaking() {
                break;
            }
            if s.conn.wants_read() {
                if s.read_tls()? == 0 {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    ));
                }
                s.process_packets()?;
            }
        }
        // The last flight (a TLS 1.3 client's Finished, a server's session
        // tickets) is queued when the handshake state completes. The
        // handshake is done either way: if it cannot be sent now (a client
        // that already hung up, a socket timeout), it stays queued and the
        // next read or write sends it or reports the error.
        let _ = s.flush_tls();
        Ok(s)
    }

    /// Writes every queued TLS record to the stream.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::WriteZero,
                        "the underlying stream accepted no TLS data",
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads TLS data from the stream into rustls's buffer; 0 at EOF.
    fn read_tls(&mut self) -> io::Result<usize> {
        loop {
            match self.conn.read_tls(&mut self.sock) {
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Processes received records; on a TLS error, tries to send the alert
    /// rustls queued before reporting it.
    fn process_packets(&mut self) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(_) => Ok(()),
            Err(e) => {
                // Best effort: the peer may already be gone.
                let _ = self.flush_tls();
                Err(io::Error::new(ErrorKind::InvalidData, e))
            }
        }
    }

    /// Sends `close_notify`: tells the peer that no more data will come,
    /// so that its reads end with `Ok(0)` rather than an `UnexpectedEof`
    /// error. Writing afterwards fails with `BrokenPipe`; reading still
    /// works (until the peer's own `close_notify`). Calling it again only
    /// flushes.
    ///
    /// This does not shut down or close `S` itself: do that with
    /// [`get_mut`](TlsStream::get_mut) or by dropping the stream.
    ///
    /// # Errors
    ///
    /// Errors writing to the underlying stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # use std::io::{Read, Write};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let mut tls = connector.connect("localhost", a)?;
    /// # let mut server_side = server.join().unwrap()?;
    /// tls.write_all(b"bye")?;
    /// tls.shutdown()?;
    /// assert_eq!(tls.write(b"more").unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    /// // the peer reads the data, then a clean end of stream
    /// let mut got = Vec::new();
    /// server_side.read_to_end(&mut got)?;
    /// assert_eq!(got, b"bye");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self) -> io::Result<()> {
        if !self.shut_down {
            self.conn.send_close_notify();
            self.shut_down = true;
        }
        self.flush_tls()?;
        self.sock.flush()
    }
}

impl<S> TlsStream<S> {
    /// The underlying stream.
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// println!("connected over {:?}", tls.get_ref().peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The underlying stream, mutably: for socket options, timeouts or a
    /// final `shutdown` of the socket. Reading or writing it directly
    /// corrupts the TLS session.
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let mut tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// tls.get_mut().set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.sock
    }

    /// Gives back the underlying stream, dropping the TLS session (no
    /// `close_notify` is sent; call [`shutdown`](TlsStream::shutdown) first
    /// for that).
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let mut tls = connector.connect("localhost", a)?;
    /// # let _server_side = server.join().unwrap()?;
    /// tls.shutdown()?;
    /// let sock = tls.into_inner();
    /// sock.shutdown(std::net::Shutdown::Both)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> S {
        self.sock
    }

    /// The rustls connection, for what this type does not expose (exported
    /// keying material, say).
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// assert!(matches!(tls.connection(), gevent::tls::rustls::Connection::Client(_)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The application protocol agreed with ALPN, if any.
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// let acceptor = TlsAcceptor::builder()
    ///     .certificate_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?
    ///     .alpn_protocols(["http/1.1"])
    ///     .build()?;
    /// let connector = TlsConnector::builder()
    ///     .platform_roots(false)
    ///     .add_root_certificate_pem(cert.pem().as_bytes())?
    ///     .alpn_protocols(["h2", "http/1.1"])
    ///     .build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The server name of the session. On the server side: the name the
    /// client asked for with SNI (`None` if it sent none, as clients
    /// connecting to an IP address do). On the client side: the name given
    /// to [`TlsConnector::connect`](super::TlsConnector::connect).
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let server = std::thread::spawn(move || acceptor.accept(b));
    /// let client = connector.connect("localhost", a)?;
    /// let server = server.join().unwrap()?;
    /// assert_eq!(server.server_name(), Some("localhost"));
    /// assert_eq!(client.server_name(), Some("localhost"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(c) => c.server_name(),
            Connection::Client(_) => self.client_server_name.as_deref(),
        }
    }

    /// The certificate chain the peer presented, end-entity certificate
    /// first (DER); `None` when it presented none (a client without a
    /// client certificate).
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// let server = server.join().unwrap()?;
    /// assert_eq!(tls.peer_certificates().unwrap()[0], *cert.der());
    /// assert!(server.peer_certificates().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// The negotiated protocol version, named as Python's
    /// `SSLSocket.version()` does: `"TLSv1.3"` or `"TLSv1.2"`.
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// assert_eq!(tls.protocol_version(), Some("TLSv1.3"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.conn.protocol_version().map(|v| match v {
            ProtocolVersion::TLSv1_3 => "TLSv1.3",
            ProtocolVersion::TLSv1_2 => "TLSv1.2",
            other => other.as_str().unwrap_or("unknown"),
        })
    }

    /// The negotiated cipher suite's IANA-style name, such as
    /// `"TLS13_AES_256_GCM_SHA384"` or
    /// `"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"`.
    ///
    /// ```
    /// # use gevent::tls::{TlsAcceptor, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    /// # let acceptor = TlsAcceptor::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    /// # let connector = TlsConnector::builder().platform_roots(false).add_root_certificate_pem(cert.pem().as_bytes())?.build()?;
    /// # let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # let server = std::thread::spawn(move || acceptor.accept(b));
    /// let tls = connector.connect("localhost", a)?;
    /// # server.join().unwrap()?;
    /// println!("cipher suite: {}", tls.negotiated_cipher_suite().unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn negotiated_cipher_suite(&self) -> Option<&'static str> {
        self.conn
            .negotiated_cipher_suite()
            .map(|s| s.suite().as_str().unwrap_or("unknown"))
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext yet: send anything pending (a key update reply,
            // the tail of an earlier write or of the handshake), then wait
            // for more records. A peer that stopped reading may still have
            // sent data to read, so a failure to send is left for the next
            // write to report.
            let _ = self.flush_tls();
            let n = self.read_tls()?;
            self.process_packets()?;
            if n == 0 {
                // rustls has seen EOF: its reader now reports Ok(0) after
                // close_notify, UnexpectedEof otherwise.
                return match self.conn.reader().read(buf) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "peer closed connection without sending TLS close_notify",
                    )),
                    r => r,
                };
            }
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.shut_down {
            return Err(io::Error::new(
                ErrorKind::BrokenPipe,
                "cannot write to a TLS stream after shutdown (close_notify was sent)",
            ));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        // Send what earlier writes left behind first, so the buffered
        // records stay bounded and errors are reported before accepting
        // new data.
        self.flush_tls()?;
        let n = self.conn.writer().write(buf)?;
        // The bytes are accepted now; a failure to send them shows up at
        // the next write, flush or read.
        let _ = self.flush_tls();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.flush_tls()?;
        self.sock.flush()
    }
}

impl<S: fmt::Debug> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.conn {
            Connection::Client(_) => "client",
            Connection::Server(_) => "server",
        };
        f.debug_struct("TlsStream")
            .field("side", &side)
            .field("stream", &self.sock)
            .field("server_name", &self.server_name())
            .field("protocol_version", &self.protocol_version())
            .field("cipher_suite", &self.negotiated_cipher_suite())
            .field(
                "alpn_protocol",
                &self.alpn_protocol().map(String::from_utf8_lossy),
            )
            .finish()
    }
}
