//! Cooperative child processes, the counterpart of `gevent.subprocess`,
//! shaped like `std::process` so code can swap one for the other.
//!
//! * [`Command`] (std's builder: program, args, env, `env_clear`,
//!   `current_dir`, stdio, `process_group`, `uid`/`gid`, `pre_exec`) with
//!   [`spawn`](Command::spawn), [`output`](Command::output),
//!   [`status`](Command::status).
//! * [`Child`] with [`id`](Child::id), [`wait`](Child::wait),
//!   [`try_wait`](Child::try_wait), [`wait_timeout`](Child::wait_timeout),
//!   [`kill`](Child::kill), [`signal`](Child::signal),
//!   [`communicate`](Child::communicate) (Python's `Popen.communicate`) and
//!   [`wait_with_output`](Child::wait_with_output).
//! * [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: cooperative pipes
//!   (`Read`/`Write`), through the same try/wait/retry core as the
//!   crate's sockets.
//! * [`run`] and [`check_output`] for the common case; [`waitpid`] for
//!   children started otherwise (such as by [`fork`](crate::fork)).
//!
//! Every wait parks only the calling greenlet; spawning is std's.
//!
//! # The SIGCHLD rule: std::process keeps working beside this module
//!
//! libev's child watchers (`ev_child`, [`core::Child`](crate::core::Child))
//! reap children from a `SIGCHLD` handler with `waitpid(-1)`: *every*
//! child, including those a `std::process::Child` (or any other library)
//! is about to wait for, which then fails with `ECHILD`. This module
//! therefore does not use them. It never installs a `SIGCHLD` handler and
//! reaps exactly the processes it spawned, with `waitpid(pid)`:
//!
//! * On Linux 5.3+ a [`Child`] holds a pidfd, which becomes readable when
//!   the process exits; waiting watches it with an io watcher on the
//!   calling thread's own hub, so it works from **any thread's hub** (no
//!   default loop involved, no cross-thread hop), on every backend.
//! * Elsewhere (older kernels, other Unixes), waiting polls
//!   `waitpid(pid, WNOHANG)` with a cooperative sleep growing from 0.5 ms
//!   to 50 ms, which also works from any thread.
//!
//! So `std::process` children beside this module are untouched. What
//! *does* break both is something that reaps every child: an active
//! [`core::Child`](crate::core::Child) watcher, or `waitpid(-1)`. A wait
//! whose child was reaped that way fails with `ErrorKind::NotFound` saying
//! so (no hang).
//!
//! # Drop, timeouts and zombies
//!
//! Dropping a [`Child`] does not kill it (as std; opt in with
//! [`Child::kill_on_drop`]), but it does not leave a zombie either: a
//! child not yet reaped is handed to a background reaper thread (one per
//! process, started on first need, exiting when idle) that waits for it
//! the same way, by pid. A [`Timeout`](crate::Timeout) around `wait` or
//! `communicate` unwinds out of the wait and leaves the child running;
//! kill it, and whether or not you wait again, it is reaped.
//!
//! # Example
//!
//! ```
//! use gevent::process::{Command, Stdio};
//! use std::time::Duration;
//!
//! // Three commands at once; each waits in its own greenlet.
//! let jobs: Vec<_> = ["one", "two", "three"]
//!     .into_iter()
//!     .map(|w| gevent::spawn(move || Command::new("echo").arg(w).output()))
//!     .collect();
//! gevent::joinall(&jobs, Some(Duration::from_secs(10)))?;
//! let outs: Vec<String> = jobs
//!     .iter()
//!     .map(|j| String::from_utf8_lossy(&j.take().unwrap().unwrap().stdout).into_owned())
//!     .collect();
//! assert_eq!(outs, ["one\n", "two\n", "three\n"]);
//!
//! // A child that takes too long, killed by a Timeout around its wait.
//! let mut slow = Command::new("sleep").arg("10").spawn()?;
//! let r = gevent::with_timeout(Duration::from_millis(20), || slow.wait());
//! assert!(matches!(r, Err(gevent::Error::Timeout)));
//! slow.kill()?;
//! drop(slow); // reaped in the background: no zombie
//!
//! // Large input and output both ways, no deadlock.
//! let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//! let data = vec![b'x'; 1 << 20];
//! let out = cat.communicate(Some(&data), Some(Duration::from_secs(30)))?;
//! assert_eq!(out.stdout.len(), data.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod child;
mod command;
mod fork;
mod pipes;
mod reap;

use std::ffi::OsStr;
use std::io;

pub use child::{Child, waitpid, waitpid_timeout};
pub use command::Command;
pub use fork::{ForkResult, fork, fork_and_watch};
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

/// Runs `program` with `args` to completion and returns its status and
/// captured stdout and stderr (stdin null): `Command::new(program)
/// .args(args).output()`, Python's `subprocess.run(..., capture_output=True)`.
/// A failing exit status is not an error here; see [`check_output`].
///
/// # Errors
///
/// As for [`Command::output`].
///
/// ```
/// let out = gevent::process::run("echo", ["a", "b"])?;
/// assert_eq!(out.stdout, b"a b\n");
/// assert!(out.status.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run<P, I, S>(program: P, args: I) -> io::Result<Output>
where
    P: AsRef<OsStr>,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args).output()
}

/// Like [`run`], but returns only stdout, and a failing exit status is an
/// error (gevent's `check_output`).
///
/// # Errors
///
/// As for [`run`]; `ErrorKind::Other` naming the status and the start of
/// stderr when the program does not exit successfully.
///
/// ```
/// assert_eq!(gevent::process::check_output("echo", ["hi"])?, b"hi\n");
/// assert!(gevent::process::check_output("false", [""; 0]).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn check_output<P, I, S>(program: P, args: I) -> io::Result<Vec<u8>>
where
    P: AsRef<OsStr>,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let name = program.as_ref().to_string_lossy().into_owned();
    let out = run(program, args)?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let err = String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(512)]).into_owned();
    Err(io::Error::other(format!(
        "{name} failed ({}): {}",
        out.status,
        err.trim_end()
    )))
}

/// How many dropped, unreaped children the background reaper still waits
/// for (diagnostics; 0 once they all exited).
///
/// ```
/// let mut c = gevent::process::Command::new("sleep").arg("0.01").spawn()?;
/// drop(c);
/// let _ = gevent::process::pending_reaps();
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pending_reaps() -> usize {
    reap::orphan_count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The fallback without pidfds (other kernels and Unixes): waits poll.
    #[test]
    fn polling_fallback_waits() {
        reap::FORCE_POLL.store(true, std::sync::atomic::Ordering::Relaxed);
        let r = std::thread::spawn(|| {
            let mut c = Command::new("sleep").arg("0.05").spawn()?;
            assert!(c.pidfd_is_none());
            assert_eq!(c.wait_timeout(Duration::from_millis(1))?, None);
            let st = c.wait_timeout(Duration::from_secs(20))?;
            let out = Command::new("echo").arg("p").output()?;
            io::Result::Ok((st, out))
        })
        .join()
        .unwrap();
        reap::FORCE_POLL.store(false, std::sync::atomic::Ordering::Relaxed);
        let (st, out) = r.unwrap();
        assert!(st.unwrap().success());
        assert_eq!(out.stdout, b"p\n");
    }
}
