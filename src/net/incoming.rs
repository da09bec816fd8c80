//! [`Incoming`]: the connections of a [`TcpListener`].

use std::io;

use super::{TcpListener, TcpStream};

/// An endless iterator over the connections a [`TcpListener`] accepts
/// (see [`TcpListener::incoming`]); each `next` parks the calling greenlet
/// until a connection comes.
///
/// # Examples
///
/// ```
/// use gevent::net::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0")?;
/// let _a = TcpStream::connect(l.local_addr()?)?;
/// let _b = TcpStream::connect(l.local_addr()?)?;
/// assert_eq!(l.incoming().take(2).filter(|s| s.is_ok()).count(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl<'a> Incoming<'a> {
    pub(crate) fn new(listener: &'a TcpListener) -> Incoming<'a> {
        Incoming { listener }
    }
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}
