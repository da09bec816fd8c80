//! [`select`]: a cooperative `select(2)`.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::PollFd;
use super::poll::{poll, select_events};

/// A cooperative `select(2)` (gevent's `gevent.select.select`): parks the
/// calling greenlet until at least one descriptor of `read` is readable or
/// one of `write` is writable, or `timeout` runs out (`None`: no limit).
/// Returns the ready descriptors of each list, in their order (both empty
/// on timeout).
///
/// As with `select(2)`, end of file, hang-up and errors count as
/// readable, and errors as writable. There is no `FD_SETSIZE` limit.
///
/// # Errors
///
/// `InvalidInput` for a negative descriptor or one at or beyond the
/// process's hard `RLIMIT_NOFILE` (at most 2^24, what a loop indexes); `EBADF` for one that is not
/// open; the hub's errors when the caller cannot block.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// let (r, w) = gevent::net::select(&[b.as_raw_fd()], &[], Some(Duration::from_millis(5)))?;
/// assert!(r.is_empty() && w.is_empty());
/// a.write_all(b"x")?;
/// let (r, w) = gevent::net::select(&[b.as_raw_fd()], &[a.as_raw_fd()], None)?;
/// assert_eq!((r, w), (vec![b.as_raw_fd()], vec![a.as_raw_fd()]));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn select(
    read: &[RawFd],
    write: &[RawFd],
    timeout: Option<Duration>,
) -> io::Result<(Vec<RawFd>, Vec<RawFd>)> {
    let mut fds: Vec<PollFd> = Vec::with_capacity(read.len() + write.len());
    for &fd in read {
        fds.push(PollFd::new(fd, select_events(true, false)));
    }
    for &fd in write {
        fds.push(PollFd::new(fd, select_events(false, true)));
    }
    for &fd in read.iter().chain(write) {
        // Negative, or beyond what a loop indexes: InvalidInput.
        crate::core::io::check_fd_number(fd)?;
    }
    poll(&mut fds, timeout)?;
    if let Some(p) = fds.iter().find(|p| p.is_invalid()) {
        return Err(io::Error::new(
            io::Error::from_raw_os_error(libc::EBADF).kind(),
            format!("file descriptor {} is not open", p.fd()),
        ));
    }
    let (rs, ws) = fds.split_at(read.len());
    let readable = rs
        .iter()
        .filter(|p| {
            p.raw.revents & (libc::POLLIN | libc::POLLPRI | libc::POLLHUP | libc::POLLERR) != 0
        })
        .map(|p| p.fd())
        .collect();
    let writable = ws
        .iter()
        .filter(|p| p.raw.revents & (libc::POLLOUT | libc::POLLERR) != 0)
        .map(|p| p.fd())
        .collect();
    Ok((readable, writable))
}
