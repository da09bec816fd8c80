//! [`wait_read`], [`wait_write`], [`wait_readwrite`]: waiting for any
//! descriptor, and the machinery [`select`](super::select) and
//! [`poll`](super::poll) share.

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use crate::core::{Events, Io, Timer};
use crate::hub::{self, Waker, hub_inner};

/// `InvalidInput` for a negative descriptor or one beyond what the loop
/// indexes, the `EBADF` error (with the number) for one that is not open.
pub(crate) fn check_fd(fd: RawFd) -> io::Result<()> {
    crate::core::io::check_fd_open(fd)
}

/// A started one-shot timer on `lp` that wakes `waker` after `timeout`
/// (none for `None`), timed from a refreshed "now". Dropping it stops it.
pub(crate) fn wake_timer(
    lp: &crate::core::Loop,
    timeout: Option<Duration>,
    waker: &Waker,
) -> io::Result<Option<Timer>> {
    let Some(d) = timeout else { return Ok(None) };
    // libev times timers from its cached "now"; refresh it first.
    lp.now_update();
    let w = waker.clone();
    let t = Timer::new(lp, d, Duration::ZERO, move |_, _| {
        w.wake();
    });
    t.start()?;
    Ok(Some(t))
}

/// Waits until one of `fds` is ready for its events or `timeout` runs
/// out; returns whether one was ready. One io watcher per entry, stopped
/// (dropped) on every way out, including unwinding.
pub(crate) fn wait_any(fds: &[(RawFd, Events)], timeout: Option<Duration>) -> io::Result<bool> {
    hub::check_can_block()?;
    let lp = hub_inner().loop_();
    let waker = Waker::current();
    let fired = Rc::new(Cell::new(false));
    let mut watchers = Vec::with_capacity(fds.len());
    for &(fd, ev) in fds {
        let (w, f) = (waker.clone(), fired.clone());
        let io = Io::new(lp, fd, ev, move |io, _| {
            io.stop();
            f.set(true);
            w.wake();
        })?;
        io.start()?;
        watchers.push(io);
    }
    let timer = wake_timer(lp, timeout, &waker)?;
    loop {
        if fired.get() {
            return Ok(true);
        }
        if timer.as_ref().is_some_and(|t| !t.is_active()) {
            return Ok(false);
        }
        hub::park()?;
    }
}

fn wait_one(fd: RawFd, events: Events, timeout: Option<Duration>) -> io::Result<()> {
    check_fd(fd)?;
    if timeout == Some(Duration::ZERO) {
        // Still report readiness that is already there.
        let mut p = [super::PollFd::new(fd, events)];
        if super::poll::poll_now(&mut p)? > 0 {
            return Ok(());
        }
        return Err(timed_out());
    }
    if wait_any(&[(fd, events)], timeout)? {
        Ok(())
    } else {
        Err(timed_out())
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "timed out waiting for the descriptor",
    )
}

/// Parks the calling greenlet until `fd` is readable (gevent's
/// `wait_read`), or until `timeout` runs out.
///
/// End of file, a hang-up and an error condition count as readable (the
/// next read reports them).
///
/// # Errors
///
/// `TimedOut` when the time runs out; `InvalidInput` for a negative
/// descriptor or one beyond what a loop indexes (the hard
/// `RLIMIT_NOFILE`, at most 2^24); `EBADF` (`Uncategorized`) for one that is not open; the
/// hub's errors when the caller cannot block.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// let fd = b.as_raw_fd();
/// let e = gevent::net::wait_read(fd, Some(Duration::from_millis(5))).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
/// a.write_all(b"x")?;
/// gevent::net::wait_read(fd, Some(Duration::from_secs(5)))?;
/// assert_eq!(gevent::net::wait_read(-1, None).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_read(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    wait_one(fd, Events::READ, timeout)
}

/// Parks the calling greenlet until `fd` is writable (gevent's
/// `wait_write`), or until `timeout` runs out.
///
/// # Errors
///
/// As for [`wait_read`].
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// gevent::net::wait_write(a.as_raw_fd(), Some(std::time::Duration::from_secs(5)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_write(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    wait_one(fd, Events::WRITE, timeout)
}

/// Parks the calling greenlet until `fd` is readable or writable
/// (gevent's `wait_readwrite`), or until `timeout` runs out.
///
/// # Errors
///
/// As for [`wait_read`].
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// gevent::net::wait_readwrite(a.as_raw_fd(), Some(std::time::Duration::from_secs(5)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_readwrite(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    wait_one(fd, Events::READ | Events::WRITE, timeout)
}
