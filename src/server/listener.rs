//! The server's listening socket: a raw non-blocking descriptor, with the
//! accept call the accept loop needs (one syscall, the accepted socket
//! already non-blocking and close-on-exec) and the server's own socket
//! options.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, SockRef, Type};

use super::Address;

/// Which kind of stream a listener accepts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Unix,
}

/// Socket options applied when the server binds.
#[derive(Copy, Clone, Debug)]
pub(crate) struct BindOptions {
    pub(crate) backlog: i32,
    pub(crate) reuse_addr: bool,
    pub(crate) reuse_port: bool,
}

/// A listening socket owned by a server.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) fd: OwnedFd,
    pub(crate) kind: Kind,
    /// The socket file to remove on close (Unix listeners the server bound).
    pub(crate) unlink: Option<PathBuf>,
}

impl Listener {
    /// Binds a TCP listener to the first of `addrs` that works.
    pub(crate) fn bind_tcp(addrs: &[SocketAddr], o: BindOptions) -> io::Result<Listener> {
        let mut last = None;
        for a in addrs {
            match bind_tcp_one(*a, o) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server address resolved to no address",
            )
        }))
    }

    /// Binds a Unix-domain listener at `path` (which must not exist).
    pub(crate) fn bind_unix(path: &Path, o: BindOptions) -> io::Result<Listener> {
        let s = socket2::Socket::new(Domain::UNIX, Type::STREAM, None)?;
        s.set_nonblocking(true)?;
        s.bind(&SockAddr::unix(path)?)?;
        s.listen(o.backlog)?;
        Ok(Listener {
            fd: s.into(),
            kind: Kind::Unix,
            unlink: Some(path.to_path_buf()),
        })
    }

    /// Takes over a socket that is already listening (inherited, or
    /// created by the caller): checks that it is a listening stream
    /// socket, makes it non-blocking and close-on-exec.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Listener> {
        let s = SockRef::from(&fd);
        let ty = s.r#type().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("descriptor {} is not a socket: {e}", fd.as_raw_fd()),
            )
        })?;
        if ty != Type::STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("descriptor {} is not a stream socket", fd.as_raw_fd()),
            ));
        }
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        if !s.is_listener()? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "socket {} is not listening (call listen() first)",
                    fd.as_raw_fd()
                ),
            ));
        }
        let kind = match s.local_addr()?.domain() {
            Domain::UNIX => Kind::Unix,
            _ => Kind::Tcp,
        };
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        Ok(Listener {
            fd,
            kind,
            unlink: None,
        })
    }

    /// Another listener on the same address for another worker thread:
    /// a new `SO_REUSEPORT` socket for TCP (the kernel spreads
    /// connections), a duplicate of this one for Unix sockets and
    /// inherited listeners (`share`).
    pub(crate) fn sibling(&self, o: BindOptions, share: bool) -> io::Result<Listener> {
        if self.kind == Kind::Tcp && o.reuse_port && !share {
            let addr = self.local_addr()?;
            if let Address::Inet(a) = addr {
                return bind_tcp_one(a, o);
            }
        }
        self.sibling_dup()
    }

    /// A duplicate descriptor of this very socket.
    pub(crate) fn sibling_dup(&self) -> io::Result<Listener> {
        Ok(Listener {
            fd: self.fd.try_clone()?,
            kind: self.kind,
            unlink: None,
        })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The address the listener is bound to.
    pub(crate) fn local_addr(&self) -> io::Result<Address> {
        Ok(Address::from_sockaddr(
            &SockRef::from(&self.fd).local_addr()?,
        ))
    }

    /// Accepts one pending connection without waiting: the new socket is
    /// non-blocking and close-on-exec. `WouldBlock` when none is pending.
    pub(crate) fn accept(&self) -> io::Result<(OwnedFd, Address)> {
        let fd = self.raw();
        // SAFETY: try_init hands us zeroed storage and its length; accept
        // fills at most that many bytes and updates the length.
        let (raw, addr) = unsafe {
            SockAddr::try_init(|storage, len| {
                let r = accept_nonblocking(fd, storage.cast(), len);
                if r < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(r)
                }
            })
        }?;
        // SAFETY: accept returned a new descriptor that nothing else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        {
            let s = SockRef::from(&owned);
            s.set_nonblocking(true)?;
            s.set_cloexec(true)?;
        }
        Ok((owned, Address::from_sockaddr(&addr)))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(p) = self.unlink.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn bind_tcp_one(a: SocketAddr, o: BindOptions) -> io::Result<Listener> {
    let s = socket2::Socket::new(Domain::for_address(a), Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    if o.reuse_addr {
        s.set_reuse_address(true)?;
    }
    if o.reuse_port {
        set_reuse_port(&s)?;
    }
    s.bind(&a.into())?;
    s.listen(o.backlog)?;
    Ok(Listener {
        fd: s.into(),
        kind: Kind::Tcp,
        unlink: None,
    })
}

#[cfg(not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin")))]
fn set_reuse_port(s: &socket2::Socket) -> io::Result<()> {
    s.set_reuse_port(true)
}

#[cfg(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))]
fn set_reuse_port(_: &socket2::Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not available on this platform",
    ))
}

/// `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: one syscall.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn accept_nonblocking(fd: RawFd, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> RawFd {
    // SAFETY: the caller passes valid storage and length pointers.
    unsafe { libc::accept4(fd, addr, len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) }
}

/// Plain `accept`; the caller sets the flags.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn accept_nonblocking(fd: RawFd, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> RawFd {
    // SAFETY: the caller passes valid storage and length pointers.
    unsafe { libc::accept(fd, addr, len) }
}
