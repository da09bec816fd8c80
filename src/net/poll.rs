//! [`poll`]: a cooperative `poll(2)`.

use std::io;
use std::time::Duration;

use super::PollFd;
use super::wait::wait_any;
use crate::core::Events;

/// `poll(2)` without waiting: fills in `revents`, returns how many are set.
pub(crate) fn poll_now(fds: &mut [PollFd]) -> io::Result<usize> {
    loop {
        // SAFETY: PollFd is a transparent-enough wrapper: we pass a pointer
        // to its `libc::pollfd` field for each entry through a temporary
        // array, so the layout of PollFd does not matter.
        let mut raw: Vec<libc::pollfd> = fds.iter().map(|p| p.raw).collect();
        // SAFETY: `raw` is a valid array of `raw.len()` pollfd structs.
        let n = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for (p, r) in fds.iter_mut().zip(&raw) {
            p.raw.revents = r.revents;
        }
        return Ok(n as usize);
    }
}

/// A cooperative `poll(2)`: parks the calling greenlet until at least one
/// entry of `fds` is ready or `timeout` runs out (`None`: no limit), then
/// fills in every entry's `revents` and returns how many are non-empty
/// (0 on timeout). Negative descriptors are skipped; a descriptor that is
/// not open is reported at once as [`PollFd::is_invalid`], as by `poll(2)`.
///
/// # Errors
///
/// `poll(2)`'s errors; the hub's errors when the caller cannot block.
///
/// # Examples
///
/// ```
/// use gevent::core::Events;
/// use gevent::net::{poll, PollFd};
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// let mut fds = [PollFd::new(b.as_raw_fd(), Events::READ)];
/// assert_eq!(poll(&mut fds, Some(Duration::from_millis(5)))?, 0);
/// a.write_all(b"x")?;
/// assert_eq!(poll(&mut fds, Some(Duration::from_secs(5)))?, 1);
/// assert!(fds[0].is_readable());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let n = poll_now(fds)?;
    if n > 0 || timeout == Some(Duration::ZERO) {
        return Ok(n);
    }
    let watch: Vec<_> = fds
        .iter()
        .filter(|p| p.fd() >= 0 && !p.events().is_empty())
        .map(|p| (p.fd(), p.events()))
        .collect();
    let deadline = timeout.map(|d| (crate::time::deadline_after(d), d));
    loop {
        let remaining = match deadline {
            None => None,
            Some((dl, d)) => match crate::time::time_left(dl, d) {
                r if r.is_zero() => return poll_now(fds),
                r => Some(r),
            },
        };
        let ready = wait_any(&watch, remaining)?;
        let n = poll_now(fds)?;
        if n > 0 || !ready {
            return Ok(n);
        }
    }
}

/// Requested events of a `select` entry.
pub(crate) fn select_events(read: bool, write: bool) -> Events {
    match (read, write) {
        (true, true) => Events::READ | Events::WRITE,
        (true, false) => Events::READ,
        _ => Events::WRITE,
    }
}
