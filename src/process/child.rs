//! [`Child`]: a running or exited child process.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::process::{ExitStatus, Output};
use std::time::Duration;

use super::pipes::{ChildStderr, ChildStdin, ChildStdout, Pipe};
use super::reap::{self, check_pid, deadline, pidfd_open, remaining, try_reap, wait_pid};
use crate::core::Events;
use crate::io::Async;
use crate::net::{PollFd, poll};

/// Highest signal number accepted by [`Child::signal`].
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_SIGNAL: i32 = 64;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MAX_SIGNAL: i32 = 31;

/// How much [`Child::communicate`] reads or writes per syscall.
const CHUNK: usize = 64 * 1024;

/// Where an interrupted [`Child::communicate`] left off.
#[derive(Default)]
struct Progress {
    written: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    stdout_done: bool,
    stderr_done: bool,
}

/// A child process (`std::process::Child`'s shape): its pid, its
/// cooperative pipes, and waits that park only the calling greenlet.
///
/// # Waiting, and the SIGCHLD rule
///
/// Waits reap *this* child only (`waitpid(pid)`), never installing a
/// `SIGCHLD` handler: see the [module docs](super). They work from any
/// thread's hub.
///
/// # Threads
///
/// Unlike std's, a `Child` is `!Send`: its pipes and pidfd wait on the
/// hub of the thread that spawned it. To wait from another thread, hand
/// over the pid and use [`waitpid`] there.
///
/// # Drop
///
/// Like std, dropping a `Child` does **not** kill the process (use
/// [`kill_on_drop`](Child::kill_on_drop) for that). Unlike std, it does not
/// leave a zombie either: a child not yet waited for is handed to a
/// background reaper thread that collects its exit status when it ends.
/// So a child whose `wait` was cut short by a [`Timeout`](crate::Timeout)
/// and then killed and dropped is reaped without further ado. The pipes
/// are closed on drop.
///
/// # Examples
///
/// ```
/// use gevent::process::{Command, Stdio};
/// use std::time::Duration;
///
/// let mut child = Command::new("sleep").arg("10").spawn()?;
/// assert_eq!(child.wait_timeout(Duration::from_millis(20))?, None);
/// child.kill()?;
/// let st = child.wait()?;
/// assert!(!st.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Child {
    pid: i32,
    /// The pidfd (Linux 5.3+; pidfds are born non-blocking), in the
    /// cooperative fd wrapper.
    pidfd: Option<Async<OwnedFd>>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    progress: Option<Progress>,
    /// The child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Takes over a child spawned by `std::process::Command` (its pipes
    /// become cooperative). Do not wait for it through std as well.
    ///
    /// # Errors
    ///
    /// `fcntl`'s error if a pipe cannot be made non-blocking (the child is
    /// then handed to the reaper).
    ///
    /// ```
    /// let c = std::process::Command::new("true").spawn()?;
    /// let mut c = gevent::process::Child::from_std(c)?;
    /// assert!(c.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(mut c: std::process::Child) -> io::Result<Child> {
        let pid = c.id() as i32;
        let mut child = Child {
            pid,
            pidfd: pidfd_open(pid).map(Async::from_nonblocking),
            status: None,
            kill_on_drop: false,
            progress: None,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        if let Some(p) = c.stdin.take() {
            child.stdin = Some(ChildStdin {
                pipe: Pipe::new(OwnedFd::from(p))?,
            });
        }
        if let Some(p) = c.stdout.take() {
            child.stdout = Some(ChildStdout {
                pipe: Pipe::new(OwnedFd::from(p))?,
            });
        }
        if let Some(p) = c.stderr.take() {
            child.stderr = Some(ChildStderr {
                pipe: Pipe::new(OwnedFd::from(p))?,
            });
        }
        Ok(child)
    }

    /// The process id.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("true").spawn()?;
    /// assert!(c.id() > 0);
    /// c.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Kills the child when this `Child` is dropped before it was reaped
    /// (off by default, as with std).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("sleep").arg("10").spawn()?;
    /// c.kill_on_drop(true);
    /// drop(c); // killed, then reaped in the background
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Child {
        self.kill_on_drop = on;
        self
    }

    /// Waits for the child to exit (parking only this greenlet) and
    /// returns its status; later calls return the same status. A piped
    /// stdin is closed first, as std does, so a child reading it sees EOF.
    ///
    /// # Errors
    ///
    /// `NotFound` if the child was reaped elsewhere (see the SIGCHLD
    /// rule); the hub's errors (blocking in the hub,
    /// [`LoopExit`](crate::Error::LoopExit)) as `io::Error`s. An enclosing
    /// [`Timeout`](crate::Timeout) or kill unwinds out of the wait.
    ///
    /// ```
    /// let st = gevent::process::Command::new("sh").args(["-c", "exit 7"]).spawn()?.wait()?;
    /// assert_eq!(st.code(), Some(7));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        match self.wait_inner(None)? {
            Some(s) => Ok(s),
            None => Err(io::Error::other("child wait ended without a status")),
        }
    }

    /// Like [`wait`](Child::wait), for at most `timeout` (`Duration::MAX`
    /// and other unrepresentable deadlines mean no limit). `Ok(None)` if the
    /// child still runs; it is not killed.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Child::wait).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut c = gevent::process::Command::new("sleep").arg("0.01").spawn()?;
    /// assert!(c.wait_timeout(Duration::from_secs(10))?.unwrap().success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.stdin = None;
        self.wait_inner(Some(timeout))
    }

    fn wait_inner(&mut self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let r = wait_pid(self.pid, self.pidfd.as_ref().map(Async::core), timeout)?;
        if let Some(s) = r {
            self.reaped(s);
        }
        Ok(r)
    }

    #[cfg(test)]
    pub(crate) fn pidfd_is_none(&self) -> bool {
        self.pidfd.is_none()
    }

    fn reaped(&mut self, s: ExitStatus) {
        self.status = Some(s);
        self.pidfd = None;
    }

    /// The exit status if the child has exited (reaping it), `None` if it
    /// still runs; never waits.
    ///
    /// # Errors
    ///
    /// `NotFound` if the child was reaped elsewhere.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("sleep").arg("10").spawn()?;
    /// assert!(c.try_wait()?.is_none());
    /// c.kill()?;
    /// c.wait()?;
    /// assert!(c.try_wait()?.is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let r = try_reap(self.pid)?;
        if let Some(s) = r {
            self.reaped(s);
        }
        Ok(r)
    }

    /// Sends `SIGKILL`. A no-op (`Ok`) once the child was reaped (its pid
    /// may belong to another process by then, so nothing is sent).
    ///
    /// # Errors
    ///
    /// `kill(2)`'s error.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut c = gevent::process::Command::new("sleep").arg("10").spawn()?;
    /// c.kill()?;
    /// assert_eq!(c.wait()?.signal(), Some(libc::SIGKILL));
    /// c.kill()?; // reaped: nothing to do
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        self.signal(libc::SIGKILL)
    }

    /// Sends signal `sig` (gevent's `send_signal`); a no-op once reaped.
    /// 0 only checks that the process exists.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number outside `0..=64` (31 off Linux);
    /// `kill(2)`'s error.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut c = gevent::process::Command::new("sleep").arg("10").spawn()?;
    /// assert!(c.signal(1000).is_err());
    /// c.signal(libc::SIGTERM)?;
    /// assert_eq!(c.wait()?.signal(), Some(libc::SIGTERM));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signal(&mut self, sig: i32) -> io::Result<()> {
        if !(0..=MAX_SIGNAL).contains(&sig) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid signal number {sig}: must be between 0 and {MAX_SIGNAL}"),
            ));
        }
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: plain syscall; the child is not reaped, so `pid` is still
        // this process (a zombie at worst), never a recycled pid.
        if unsafe { libc::kill(self.pid, sig) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Feeds `input` to the child's stdin (then closes it) while reading
    /// its stdout and stderr, all at once in this greenlet, and waits for
    /// it to exit: Python's `Popen.communicate`. Large outputs in both
    /// directions cannot deadlock. Pipes that are not piped are skipped.
    ///
    /// With a `timeout` that runs out, returns `TimedOut` and leaves the
    /// child running; what was read so far is kept, and calling
    /// `communicate` again (with the same input) carries on where it left
    /// off. Kill the child (and call `wait` or just drop it) to give up.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `input` is given but stdin is not piped;
    /// `TimedOut` as above; I/O errors (a child that exits without
    /// reading all its input is not an error: the rest is discarded);
    /// the errors of [`wait`](Child::wait).
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// let mut c = Command::new("tr").arg("a-z").arg("A-Z")
    ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let out = c.communicate(Some(b"hello"), None)?;
    /// assert_eq!(out.stdout, b"HELLO");
    /// assert!(out.status.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn communicate(
        &mut self,
        input: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> io::Result<Output> {
        if input.is_some_and(|i| !i.is_empty()) && self.stdin.is_none() && self.progress.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate: input given but the child's stdin is not piped (Stdio::piped())",
            ));
        }
        let input = input.unwrap_or(&[]);
        let dl = deadline(timeout);
        let mut p = self.progress.take().unwrap_or_default();
        let r = self.pump(input, &mut p, dl, timeout);
        match r {
            Ok(()) => {}
            Err(e) => {
                self.progress = Some(p);
                return Err(e);
            }
        }
        match self.wait_inner(remaining(dl))? {
            Some(status) => Ok(Output {
                status,
                stdout: std::mem::take(&mut p.stdout),
                stderr: std::mem::take(&mut p.stderr),
            }),
            None => {
                self.progress = Some(p);
                Err(timed_out(timeout))
            }
        }
    }

    /// The I/O part of `communicate`: until stdin is written and closed
    /// and stdout and stderr are at EOF.
    fn pump(
        &mut self,
        input: &[u8],
        p: &mut Progress,
        dl: Option<std::time::Instant>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        if self.stdout.is_none() {
            p.stdout_done = true;
        }
        if self.stderr.is_none() {
            p.stderr_done = true;
        }
        loop {
            let mut progressed = false;
            // stdin
            if let Some(si) = &self.stdin {
                if p.written >= input.len() {
                    self.stdin = None; // close: EOF for the child
                    progressed = true;
                } else {
                    let end = input.len().min(p.written + CHUNK);
                    match si.pipe.write_now(&input[p.written..end]) {
                        Ok(n) => {
                            p.written += n;
                            progressed = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                            // The child stopped reading: not an error (as Python).
                            p.written = input.len();
                            self.stdin = None;
                            progressed = true;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            // stdout, stderr
            for (pipe, out, done) in [
                (
                    self.stdout.as_ref().map(|s| &s.pipe),
                    &mut p.stdout,
                    &mut p.stdout_done,
                ),
                (
                    self.stderr.as_ref().map(|s| &s.pipe),
                    &mut p.stderr,
                    &mut p.stderr_done,
                ),
            ] {
                let Some(pipe) = pipe.filter(|_| !*done) else {
                    continue;
                };
                match pipe.read_now(&mut buf) {
                    Ok(0) => {
                        *done = true;
                        progressed = true;
                    }
                    Ok(n) => {
                        out.extend_from_slice(&buf[..n]);
                        progressed = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                    Err(e) => return Err(e),
                }
            }
            if p.stdout_done && p.stderr_done && self.stdin.is_none() {
                self.stdout = None;
                self.stderr = None;
                return Ok(());
            }
            if progressed {
                continue;
            }
            // Nothing could move: wait for any of the pipes.
            let mut fds = Vec::with_capacity(3);
            if let Some(si) = &self.stdin {
                fds.push(PollFd::new(si.pipe.fd(), Events::WRITE));
            }
            if let (Some(so), false) = (&self.stdout, p.stdout_done) {
                fds.push(PollFd::new(so.pipe.fd(), Events::READ));
            }
            if let (Some(se), false) = (&self.stderr, p.stderr_done) {
                fds.push(PollFd::new(se.pipe.fd(), Events::READ));
            }
            let left = remaining(dl);
            if left == Some(Duration::ZERO) {
                return Err(timed_out(timeout));
            }
            // In slices (see RECHECK): the loop retries the syscalls anyway.
            poll(
                &mut fds,
                Some(left.map_or(reap::RECHECK, |l| l.min(reap::RECHECK))),
            )?;
        }
    }

    /// Waits for the child to exit, collecting all of stdout and stderr
    /// (std's `wait_with_output`); stdin is closed first.
    ///
    /// # Errors
    ///
    /// As for [`communicate`](Child::communicate).
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// let c = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(c.wait_with_output()?.stdout, b"hi\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        self.communicate(None, None)
    }
}

fn timed_out(timeout: Option<Duration>) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        match timeout {
            Some(d) => format!(
                "communicate timed out after {d:?}; the child still runs: kill() it, or call communicate again to go on"
            ),
            None => "communicate timed out; the child still runs".to_string(),
        },
    )
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.kill();
        }
        // Pipes first (closing stdin lets a child waiting for EOF end).
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        let pidfd = self.pidfd.take().map(Async::into_inner_nonblocking);
        reap::adopt(self.pid, pidfd);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

/// Waits cooperatively for child `pid` to exit and reaps it (gevent's
/// `waitpid`), parking only the calling greenlet: for children started
/// some other way, such as [`fork`](crate::fork). Only `pid` is reaped.
///
/// # Errors
///
/// `InvalidInput` for a pid ≤ 0 (any-child and process-group waits would
/// reap children other code owns); `NotFound` if `pid` is not an unreaped
/// child of this process; the hub's errors as `io::Error`s.
///
/// ```
/// let c = std::process::Command::new("true").spawn()?;
/// let st = gevent::process::waitpid(c.id() as i32)?;
/// assert!(st.success());
/// assert!(gevent::process::waitpid(-1).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn waitpid(pid: i32) -> io::Result<ExitStatus> {
    match waitpid_timeout(pid, None)? {
        Some(s) => Ok(s),
        None => Err(io::Error::other("waitpid ended without a status")),
    }
}

/// [`waitpid`] for at most `timeout` (`None`: no limit); `Ok(None)` if
/// the child still runs.
///
/// # Errors
///
/// As for [`waitpid`].
///
/// ```
/// use std::time::Duration;
/// let mut c = std::process::Command::new("sleep").arg("10").spawn()?;
/// let pid = c.id() as i32;
/// assert_eq!(gevent::process::waitpid_timeout(pid, Some(Duration::from_millis(10)))?, None);
/// c.kill()?;
/// assert!(gevent::process::waitpid_timeout(pid, Some(Duration::from_secs(10)))?.is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn waitpid_timeout(pid: i32, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
    check_pid(pid)?;
    if let Some(s) = try_reap(pid)? {
        return Ok(Some(s));
    }
    let fd = pidfd_open(pid).map(Async::from_nonblocking);
    wait_pid(pid, fd.as_ref().map(Async::core), timeout)
}
