//! Descriptor passing (`SCM_RIGHTS` over `sendmsg`/`recvmsg`) and
//! `sendfile`, on the cooperative socket core, for the public socket types.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::socket::{Dir, Socket};

/// Most descriptors one message may carry (Linux's `SCM_MAX_FD`).
///
/// ```
/// use gevent::net::{UnixStream, MAX_FDS};
/// use std::os::fd::AsFd;
///
/// let (a, _b) = UnixStream::pair()?;
/// let fds = vec![a.as_fd(); MAX_FDS + 1];
/// // One descriptor too many for one message: refused before sending.
/// assert!(a.send_fds(b"x", &fds).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub const MAX_FDS: usize = 253;

/// What [`UnixStream::recv_fds`](crate::net::UnixStream::recv_fds) (and
/// the other `recv_fds`) received: the bytes' count and the descriptors,
/// now owned by the caller (close-on-exec).
///
/// ```
/// use std::io::Write;
/// let (a, b) = gevent::net::UnixStream::pair()?;
/// let (r, _w) = std::io::pipe()?;
/// use std::os::fd::AsFd;
/// a.send_fds(b"x", &[r.as_fd()])?;
/// let mut buf = [0; 1];
/// let got = b.recv_fds(&mut buf, 4)?;
/// assert_eq!((got.len, got.fds.len(), got.truncated), (1, 1, false));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct ReceivedFds {
    /// Bytes written into the buffer (0: end of stream).
    pub len: usize,
    /// The descriptors that came with them.
    pub fds: Vec<OwnedFd>,
    /// More descriptors were sent than asked for: the rest were closed
    /// (by the kernel, `MSG_CTRUNC`, or here).
    pub truncated: bool,
}

/// Bytes of control buffer for `n` descriptors.
fn cmsg_space(n: usize) -> usize {
    // SAFETY: CMSG_SPACE only computes a size; `n <= MAX_FDS` keeps it
    // far from overflow.
    unsafe { libc::CMSG_SPACE((n * std::mem::size_of::<RawFd>()) as u32) as usize }
}

/// Sends `data` with `fds` attached, parking while the socket is full.
pub(crate) fn send_fds(sock: &Socket, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot send {} descriptors in one message (at most {MAX_FDS})",
                fds.len()
            ),
        ));
    }
    if data.is_empty() && !fds.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "descriptors must travel with at least one byte of data",
        ));
    }
    // Other families ignore SCM_RIGHTS silently: the descriptors would be
    // lost without a word.
    if !fds.is_empty() && sock.sock_ref()?.domain()? != socket2::Domain::UNIX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "descriptors can only be passed over Unix-domain sockets",
        ));
    }
    // u64 elements keep the buffer aligned for cmsghdr.
    let space = cmsg_space(fds.len());
    let mut control = vec![0u64; space.div_ceil(8)];
    sock.io(Dir::Write, || {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: an all-zero msghdr is valid; the pointers set below live
        // for the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            // SAFETY: the control buffer has room for one header with
            // `fds.len()` descriptors (CMSG_SPACE), and is aligned.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len =
                    libc::CMSG_LEN((fds.len() * std::mem::size_of::<RawFd>()) as u32) as _;
                let p = libc::CMSG_DATA(c).cast::<RawFd>();
                for (i, fd) in fds.iter().enumerate() {
                    p.add(i).write_unaligned(fd.as_raw_fd());
                }
            }
        }
        sock.check_open()?;
        // SAFETY: `msg` describes valid buffers; MSG_NOSIGNAL avoids SIGPIPE.
        let n = unsafe { libc::sendmsg(sock.fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    })
}

/// Receives into `buf` and up to `max_fds` descriptors, parking while
/// nothing is there.
pub(crate) fn recv_fds(sock: &Socket, buf: &mut [u8], max_fds: usize) -> io::Result<ReceivedFds> {
    let max_fds = max_fds.min(MAX_FDS);
    let space = cmsg_space(max_fds.max(1));
    let mut control = vec![0u64; space.div_ceil(8)];
    let len = buf.len();
    let ptr = buf.as_mut_ptr();
    let (n, msg_flags, controllen) = sock.io(Dir::Read, || {
        let mut iov = libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        };
        // SAFETY: as in send_fds.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if max_fds > 0 {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
        }
        sock.check_open()?;
        // SAFETY: `msg` describes valid, writable buffers.
        let n = unsafe { libc::recvmsg(sock.fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok((n as usize, msg.msg_flags, msg.msg_controllen as usize))
        }
    })?;
    let mut fds = Vec::new();
    // The control buffer is rounded up and may hold more than asked for.
    let mut extra = false;
    if max_fds > 0 && controllen > 0 {
        // SAFETY: an all-zero msghdr is valid; only the control fields are
        // used, pointing at the buffer the kernel filled (`controllen`
        // bytes).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = controllen as _;
        // SAFETY: walking the headers the kernel wrote, within
        // `controllen`; each SCM_RIGHTS payload holds whole descriptors that
        // are now ours.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let bytes = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    let p = libc::CMSG_DATA(c).cast::<RawFd>();
                    for i in 0..bytes / std::mem::size_of::<RawFd>() {
                        let fd = OwnedFd::from_raw_fd(p.add(i).read_unaligned());
                        if fds.len() < max_fds {
                            fds.push(fd);
                        } else {
                            extra = true; // closed here: more than asked for
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    Ok(ReceivedFds {
        len: n,
        fds,
        truncated: extra || msg_flags & libc::MSG_CTRUNC != 0,
    })
}

/// Sends up to `count` bytes (all until end of file if `None`) of `file`
/// from `offset`, with `sendfile(2)`, parking while the socket is full;
/// returns how many were sent.
pub(crate) fn sendfile<F: AsFd>(
    sock: &Socket,
    file: &F,
    offset: u64,
    count: Option<usize>,
) -> io::Result<usize> {
    let mut off = i64::try_from(offset).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sendfile offset {offset} is beyond i64::MAX"),
        )
    })?;
    let in_fd = file.as_fd().as_raw_fd();
    let mut total = 0usize;
    loop {
        let want = match count {
            Some(c) => c - total,
            None => usize::MAX,
        }
        .min(0x7fff_f000);
        if want == 0 {
            return Ok(total);
        }
        let r = sock.io(Dir::Write, || {
            sock.check_open()?;
            let mut o = off as libc::off_t;
            // SAFETY: both descriptors are open; `o` is a valid offset
            // out-pointer.
            let n = unsafe { libc::sendfile(sock.fd(), in_fd, &mut o, want) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match r {
            Ok(0) => return Ok(total), // end of file
            Ok(n) => {
                total += n;
                off += n as i64;
            }
            // Report what was sent before a later failure.
            Err(_) if total > 0 => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}
