//! [`listen_fds`]: sockets inherited through systemd's socket activation.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The first inherited descriptor (`SD_LISTEN_FDS_START`).
const START: RawFd = 3;

static CONSUMED: AtomicBool = AtomicBool::new(false);

/// A socket passed by the service manager.
///
/// ```
/// // Outside socket activation (as here) nothing was passed.
/// for gevent::server::ListenFd { fd, name } in gevent::server::listen_fds()? {
///     println!("inherited {fd:?} named {name:?}");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ListenFd {
    /// The socket (close-on-exec).
    pub fd: OwnedFd,
    /// Its name from `LISTEN_FDNAMES` (`FileDescriptorName=` in the
    /// `.socket` unit), if given.
    pub name: Option<String>,
}

/// Takes the sockets passed with systemd's socket activation protocol
/// (`sd_listen_fds_with_names`): if `LISTEN_PID` is this process, the
/// `LISTEN_FDS` descriptors from 3 on, named by `LISTEN_FDNAMES`. Each is
/// checked to be open and made close-on-exec.
///
/// The sockets can be taken once: later calls return an empty list (the
/// descriptors are owned by the first caller's [`ListenFd`]s). The
/// environment variables are left in place, because removing them is
/// unsound while other threads may read the environment; `LISTEN_PID`
/// keeps child processes from taking them (and the descriptors are not
/// inherited, being close-on-exec).
///
/// # Errors
///
/// `InvalidData` if `LISTEN_PID`, `LISTEN_FDS` or `LISTEN_FDNAMES` is
/// malformed (or the names do not match the count); `EBADF`'s error if a
/// passed descriptor is not open. No variables (or another process's
/// `LISTEN_PID`) is not an error: the list is empty.
///
/// # Examples
///
/// ```
/// // Not socket-activated: nothing to take.
/// assert!(gevent::server::listen_fds()?.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen_fds() -> io::Result<Vec<ListenFd>> {
    let Some(pid) = std::env::var_os("LISTEN_PID") else {
        return Ok(Vec::new());
    };
    let pid: u32 = pid
        .to_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad("LISTEN_PID is not a process id"))?;
    if pid != std::process::id() {
        return Ok(Vec::new());
    }
    let n: usize = match std::env::var_os("LISTEN_FDS") {
        None => return Ok(Vec::new()),
        Some(v) => v
            .to_str()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| bad("LISTEN_FDS is not a number"))?,
    };
    if n > 4096 {
        return Err(bad("LISTEN_FDS is implausibly large"));
    }
    let names: Option<Vec<String>> = match std::env::var("LISTEN_FDNAMES") {
        Ok(s) => {
            let v: Vec<String> = s.split(':').map(str::to_string).collect();
            if v.len() != n {
                return Err(bad("LISTEN_FDNAMES does not name every LISTEN_FDS socket"));
            }
            Some(v)
        }
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(bad("LISTEN_FDNAMES is not valid UTF-8"));
        }
    };
    for i in 0..n {
        let fd = START + i as RawFd;
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("LISTEN_FDS passes descriptor {fd}, which is not open: {e}"),
            ));
        }
    }
    if CONSUMED.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let fd = START + i as RawFd;
        // SAFETY: the service manager passed `fd` to this process for it to
        // own, it is open (checked above), and CONSUMED makes sure only
        // this call takes it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: F_SETFD on an open descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        let name = names
            .as_ref()
            .map(|v| v[i].clone())
            .filter(|s| !s.is_empty());
        out.push(ListenFd { fd: owned, name });
    }
    Ok(out)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}
