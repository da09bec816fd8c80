//! [`Transport`]: what the HTTP engine needs from a byte stream.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use crate::net::{TcpStream, UnixStream};
use crate::tls::TlsStream;

/// A cooperative byte stream an HTTP connection can be served over:
/// `Read + Write`, plus per-call timeouts and a half-close.
///
/// Implemented for [`TcpStream`], [`UnixStream`], [`TlsStream`] over
/// either, and [`Upgraded`](super::Upgraded). Implement it for another
/// stream to serve HTTP over it with
/// [`serve_connection`](super::serve_connection).
///
/// The engine sets the read timeout before each read to what is left of
/// the current deadline (header deadline, keep-alive idle time, body read
/// timeout), so a timeout must bound one call, as std's socket timeouts
/// do, and an expired call must fail with `WouldBlock` or `TimedOut`.
///
/// # Examples
///
/// ```
/// use gevent::http::Transport;
/// use gevent::net::UnixStream;
/// use std::time::Duration;
///
/// let (a, _b) = UnixStream::pair()?;
/// Transport::set_read_timeout(&a, Some(Duration::from_secs(1)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Transport: Read + Write {
    /// Bounds each later read call (`None`: no bound).
    ///
    /// # Errors
    ///
    /// The stream's error (for sockets: closed, or a zero duration).
    ///
    /// ```
    /// use gevent::http::Transport;
    /// use std::io::Read;
    /// use std::time::Duration;
    ///
    /// let (mut a, _b) = gevent::net::UnixStream::pair()?;
    /// Transport::set_read_timeout(&a, Some(Duration::from_millis(5)))?;
    /// assert_eq!(a.read(&mut [0; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bounds each later write call (`None`: no bound).
    ///
    /// # Errors
    ///
    /// The stream's error (for sockets: closed, or a zero duration).
    ///
    /// ```
    /// use gevent::http::Transport;
    /// use std::time::Duration;
    ///
    /// let (a, _b) = gevent::net::UnixStream::pair()?;
    /// Transport::set_write_timeout(&a, Some(Duration::from_secs(1)))?;
    /// assert_eq!(a.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Ends the sending direction (TCP `shutdown(Write)`, TLS
    /// `close_notify` then that) so the peer reads end of stream, while
    /// its remaining input can still be read.
    ///
    /// # Errors
    ///
    /// The stream's error.
    ///
    /// ```
    /// use gevent::http::Transport;
    /// use std::io::Read;
    ///
    /// let (mut a, mut b) = gevent::net::UnixStream::pair()?;
    /// a.shutdown_write()?;
    /// assert_eq!(b.read(&mut [0; 1])?, 0); // end of stream
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Transport for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl<S: Transport> Transport for TlsStream<S> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.get_ref().set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.get_ref().set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown()?;
        self.get_mut().shutdown_write()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

impl Transport for crate::server::Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        crate::server::Stream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        crate::server::Stream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        use crate::server::Stream;
        match self {
            Stream::Tcp(s) => Transport::shutdown_write(s),
            Stream::Unix(s) => Transport::shutdown_write(s),
            Stream::TlsTcp(s) => Transport::shutdown_write(&mut **s),
            Stream::TlsUnix(s) => Transport::shutdown_write(&mut **s),
        }
    }
}
