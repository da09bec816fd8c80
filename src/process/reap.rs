//! Waiting for one child process without touching any other: a pidfd
//! watched on the calling hub's loop (Linux 5.3+), or `waitpid(pid,
//! WNOHANG)` polled with a growing sleep elsewhere; and the background
//! reaper for dropped [`Child`](super::Child)ren.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::net::socket::{Dir, Socket};
use crate::net::wait_slot::Waited;

/// The longest slice `Child::communicate` waits on its pipes in one `poll`
/// before it looks again (child waits here use one wait for the whole
/// timeout).
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// The longest sleep between two `waitpid` polls (no pidfd).
const POLL_MAX: Duration = Duration::from_millis(50);

/// Checks a pid given by the user: only positive pids name one process.
pub(crate) fn check_pid(pid: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid pid {pid}: must be a positive process id (waiting for \
                 \"any child\" or a process group would reap children that other code owns)"
            ),
        ));
    }
    Ok(())
}

/// The error when the child was reaped by somebody else.
fn reaped_elsewhere(pid: i32) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "process {pid} is not a child of this process, or was already reaped \
             elsewhere (a waitpid(-1) or an active gevent::core::Child watcher reaps every child)"
        ),
    )
}

/// `waitpid(pid, WNOHANG)`: the exit status if `pid` has exited (and is
/// now reaped), `None` while it runs.
pub(crate) fn try_reap(pid: i32) -> io::Result<Option<ExitStatus>> {
    loop {
        let mut status = 0;
        // SAFETY: plain syscall with a valid out pointer; pid > 0 names one
        // process, so nothing else is reaped.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(Some(ExitStatus::from_raw(status)));
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Err(reaped_elsewhere(pid)),
            _ => return Err(e),
        }
    }
}

/// A pidfd for `pid` (Linux 5.3+), or `None` where the kernel or platform
/// has none (the caller then polls).
pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if FORCE_POLL.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        // SAFETY: plain syscall; on success it returns a new descriptor
        // (close-on-exec) that we own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd >= 0 {
            // SAFETY: the descriptor was just created and is ours alone.
            // It is only ever polled for readability (never read), so its
            // blocking mode does not matter and is left alone.
            return Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        None
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        None
    }
}

/// Tests only: pretend pidfds do not exist, to exercise the polling path.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) static FORCE_POLL: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Sets or clears `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: &OwnedFd, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let new = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if new != flags && libc::fcntl(fd, libc::F_SETFL, new) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `now + d`, or `None` (no deadline) if that is too far to represent
/// (`Duration::MAX` and the like mean "no limit").
pub(crate) fn deadline(d: Option<Duration>) -> Option<Instant> {
    d.and_then(crate::time::deadline_after)
}

/// Time left until `dl` (zero once past).
pub(crate) fn remaining(dl: Option<Instant>) -> Option<Duration> {
    dl.map(|dl| dl.saturating_duration_since(Instant::now()))
}

/// Parks the calling greenlet until `pid` exits (and reaps it), or until
/// `timeout` runs out (`Ok(None)`). `pidfd` is the child's pidfd, if any.
///
/// Only `pid` is reaped (never `waitpid(-1)`), and no `SIGCHLD` handler is
/// involved, which is what lets `std::process` work beside this module.
pub(crate) fn wait_pid(
    pid: i32,
    pidfd: Option<&Socket>,
    timeout: Option<Duration>,
) -> io::Result<Option<ExitStatus>> {
    crate::hub::check_can_block()?;
    let dl = deadline(timeout);
    let mut nap = Duration::from_micros(500);
    loop {
        if let Some(s) = try_reap(pid)? {
            return Ok(Some(s));
        }
        let left = remaining(dl);
        if left == Some(Duration::ZERO) {
            return Ok(None);
        }
        match pidfd {
            Some(fd) => {
                // One wait for the whole time left: the pidfd becomes
                // readable when the child exits. (This used to wait in
                // 1 s slices to survive wake-ups lost by libev 4.33's
                // io_uring backend; libev-sys's io_uring guard fixed that
                // loss at its cause, see core-sys/csrc/ev_syscall.c.)
                if fd.wait(Dir::Read, left)? == Waited::TimedOut
                    && remaining(dl) == Some(Duration::ZERO)
                {
                    // One last look: the exit may have raced the timer.
                    return try_reap(pid);
                }
            }
            None => {
                let d = left.map_or(nap, |l| l.min(nap));
                crate::try_sleep(d)?;
                nap = (nap * 2).min(POLL_MAX);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The background reaper: collects the exit status of children whose
// `Child` was dropped before they were waited for, so that none stays a
// zombie. A plain OS thread, started on first need; it too reaps only the
// pids it was given.

pub(crate) struct Orphans {
    pids: Vec<(i32, Option<OwnedFd>)>,
    thread_running: bool,
}

static ORPHANS: Mutex<Orphans> = Mutex::new(Orphans {
    pids: Vec::new(),
    thread_running: false,
});
static ORPHAN_ADDED: Condvar = Condvar::new();

pub(crate) fn orphans() -> MutexGuard<'static, Orphans> {
    ORPHANS.lock().unwrap_or_else(|e| e.into_inner())
}

/// In a child after `gevent::fork` (which held the lock across the fork):
/// the reaper thread is gone and the parent's children are not ours.
pub(crate) fn forget_orphans_after_fork(g: &mut MutexGuard<'static, Orphans>) {
    g.pids.clear();
    g.thread_running = false;
}

/// Hands `pid` (not yet reaped) to the background reaper.
pub(crate) fn adopt(pid: i32, pidfd: Option<OwnedFd>) {
    if let Ok(Some(_)) | Err(_) = try_reap(pid) {
        return; // already gone (or not ours)
    }
    let mut o = orphans();
    o.pids.push((pid, pidfd));
    if !o.thread_running {
        let started = std::thread::Builder::new()
            .name("gevent-reaper".into())
            .spawn(reaper_thread)
            .is_ok();
        o.thread_running = started;
        if !started {
            eprintln!(
                "gevent: cannot start the child reaper thread; process {pid} may stay a zombie"
            );
        }
    }
    drop(o);
    ORPHAN_ADDED.notify_one();
}

/// How many dropped children the reaper still waits for (tests, Debug).
pub(crate) fn orphan_count() -> usize {
    orphans().pids.len()
}

fn reaper_thread() {
    let mut nap = Duration::from_millis(1);
    loop {
        let mut o = orphans();
        o.pids.retain(|(pid, _)| matches!(try_reap(*pid), Ok(None)));
        if o.pids.is_empty() {
            // Idle: wait for work, and exit after a while without any.
            let (g, t) = ORPHAN_ADDED
                .wait_timeout(o, Duration::from_secs(10))
                .unwrap_or_else(|e| e.into_inner());
            o = g;
            if t.timed_out() && o.pids.is_empty() {
                o.thread_running = false;
                return;
            }
            nap = Duration::from_millis(1);
            continue;
        }
        let mut fds: Vec<libc::pollfd> = o
            .pids
            .iter()
            .filter_map(|(_, fd)| fd.as_ref())
            .map(|fd| libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(fd),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let all_pidfds = fds.len() == o.pids.len();
        drop(o);
        // With a pidfd for every orphan, sleep until one exits (or 1 s,
        // to pick up new orphans); otherwise poll with a growing nap.
        let ms = if all_pidfds {
            1000
        } else {
            nap.as_millis() as i32
        };
        // SAFETY: `fds` is a valid array of pollfd; the descriptors stay
        // open (owned by ORPHANS; only this thread removes entries).
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        nap = (nap * 2).min(Duration::from_millis(100));
    }
}
