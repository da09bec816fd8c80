//! [`UnixIncoming`]: the connections of a [`UnixListener`].

use std::io;

use super::{UnixListener, UnixStream};

/// An endless iterator over the connections a [`UnixListener`] accepts
/// (see [`UnixListener::incoming`]); each `next` parks the calling
/// greenlet until a connection comes.
///
/// # Examples
///
/// ```
/// # let path = std::env::temp_dir().join(format!("gevent-doc-uinc-{}", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let l = gevent::net::UnixListener::bind(&path)?;
/// let _c = gevent::net::UnixStream::connect(&path)?;
/// let s = l.incoming().next().unwrap()?;
/// # drop(s); std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl<'a> UnixIncoming<'a> {
    pub(crate) fn new(listener: &'a UnixListener) -> UnixIncoming<'a> {
        UnixIncoming { listener }
    }
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;
    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}
