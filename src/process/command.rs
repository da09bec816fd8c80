//! [`Command`]: std's process builder, spawning a cooperative [`Child`].

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::Child;

/// A process builder with `std::process::Command`'s methods, whose
/// [`spawn`](Command::spawn), [`output`](Command::output) and
/// [`status`](Command::status) park only the calling greenlet.
///
/// Spawning itself is std's (`fork`/`posix_spawn` plus `exec`, which does
/// not block on the child); the returned [`Child`]'s waits and pipes are
/// cooperative.
///
/// # Examples
///
/// ```
/// use gevent::process::{Command, Stdio};
/// let out = Command::new("sh").args(["-c", "echo hi; echo oops >&2; exit 3"]).output()?;
/// assert_eq!(out.stdout, b"hi\n");
/// assert_eq!(out.stderr, b"oops\n");
/// assert_eq!(out.status.code(), Some(3));
/// let st = Command::new("true").stdout(Stdio::null()).status()?;
/// assert!(st.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Command {
    inner: std::process::Command,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command for `program`, with std's defaults (inherit the
    /// environment, working directory and stdio).
    ///
    /// ```
    /// let c = gevent::process::Command::new("ls");
    /// assert_eq!(c.get_program(), "ls");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            inner: std::process::Command::new(program),
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }

    /// Adds one argument.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("echo");
    /// c.arg("hello");
    /// assert_eq!(c.get_args().count(), 1);
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds several arguments.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("echo");
    /// c.args(["a", "b"]);
    /// assert_eq!(c.get_args().count(), 2);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// let out = gevent::process::Command::new("sh").args(["-c", "echo $X"]).env("X", "42").output()?;
    /// assert_eq!(out.stdout, b"42\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("env");
    /// c.envs([("A", "1"), ("B", "2")]);
    /// assert_eq!(c.get_envs().count(), 2);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes a variable from the child's environment.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("env");
    /// c.env_remove("HOME");
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    ///
    /// ```
    /// let out = gevent::process::Command::new("/usr/bin/env").env_clear().env("ONLY", "1").output()?;
    /// assert_eq!(out.stdout, b"ONLY=1\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// ```
    /// let out = gevent::process::Command::new("pwd").current_dir("/").output()?;
    /// assert_eq!(out.stdout, b"/\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// The child's stdin: [`Stdio::piped`] (then [`Child::stdin`] is a
    /// cooperative [`ChildStdin`](super::ChildStdin)), `inherit`, `null`,
    /// or a file or another child's pipe.
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// let mut c = Command::new("cat");
    /// c.stdin(Stdio::null());
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's stdout (see [`stdin`](Command::stdin)).
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// let mut c = Command::new("echo");
    /// c.stdout(Stdio::piped());
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's stderr (see [`stdin`](Command::stdin)).
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// let mut c = Command::new("ls");
    /// c.stderr(Stdio::null());
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by
    /// the child), as std's `CommandExt::process_group`.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("true");
    /// c.process_group(0);
    /// assert!(c.status()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.inner.process_group(pgroup);
        self
    }

    /// Runs the child with this user id (std's `CommandExt::uid`).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("true");
    /// c.uid(unsafe { libc::getuid() });
    /// ```
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.inner.uid(id);
        self
    }

    /// Runs the child with this group id (std's `CommandExt::gid`).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("true");
    /// c.gid(unsafe { libc::getgid() });
    /// ```
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.inner.gid(id);
        self
    }

    /// Sets `argv[0]` (std's `CommandExt::arg0`).
    ///
    /// ```
    /// let out = gevent::process::Command::new("sh").arg0("renamed").args(["-c", "echo $0"]).output()?;
    /// assert_eq!(out.stdout, b"renamed\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg0(arg);
        self
    }

    /// Runs `f` in the child after `fork` and before `exec` (std's
    /// `CommandExt::pre_exec`).
    ///
    /// # Safety
    ///
    /// As for std: `f` runs in a forked copy of a possibly multi-threaded
    /// process and may only use async-signal-safe functions (no
    /// allocation, no locks, no greenlet operations).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("true");
    /// // SAFETY: setsid is async-signal-safe.
    /// unsafe { c.pre_exec(|| { libc::setsid(); Ok(()) }) };
    /// assert!(c.status()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds std's contract (see # Safety).
        unsafe { self.inner.pre_exec(f) };
        self
    }

    /// The program.
    ///
    /// ```
    /// assert_eq!(gevent::process::Command::new("ls").get_program(), "ls");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// The arguments (without the program).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("ls");
    /// c.arg("-l");
    /// assert_eq!(c.get_args().collect::<Vec<_>>(), ["-l"]);
    /// ```
    pub fn get_args(&self) -> std::process::CommandArgs<'_> {
        self.inner.get_args()
    }

    /// The environment changes (`None` values: removals).
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("ls");
    /// c.env("A", "1");
    /// assert_eq!(c.get_envs().count(), 1);
    /// ```
    pub fn get_envs(&self) -> std::process::CommandEnvs<'_> {
        self.inner.get_envs()
    }

    /// The working directory, if set.
    ///
    /// ```
    /// let mut c = gevent::process::Command::new("ls");
    /// c.current_dir("/tmp");
    /// assert_eq!(c.get_current_dir(), Some(std::path::Path::new("/tmp")));
    /// ```
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.inner.get_current_dir()
    }

    /// Starts the child. Stdio not set is inherited, as with std.
    ///
    /// # Errors
    ///
    /// std's spawn errors (program not found, permission denied, ...).
    ///
    /// ```
    /// use gevent::process::{Command, Stdio};
    /// use std::io::Read;
    /// let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let mut s = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut s)?;
    /// assert_eq!(s, "hi\n");
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::from_std(self.inner.spawn()?)
    }

    /// Runs the child to completion and collects its output; stdout and
    /// stderr are captured and stdin is null unless set otherwise (as
    /// std). Both pipes are read concurrently, so a child that fills one
    /// while the other is read cannot deadlock.
    ///
    /// # Errors
    ///
    /// Spawn errors; I/O errors on the pipes; the hub's errors (blocking in
    /// the hub, [`LoopExit`](crate::Error::LoopExit)) as `io::Error`s.
    ///
    /// ```
    /// let out = gevent::process::Command::new("echo").arg("x").output()?;
    /// assert_eq!(out.stdout, b"x\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.inner.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::piped());
        }
        let r = self.spawn();
        self.restore_defaults();
        r?.wait_with_output()
    }

    /// Runs the child to completion (stdio inherited unless set) and
    /// returns its exit status.
    ///
    /// # Errors
    ///
    /// As for [`output`](Command::output).
    ///
    /// ```
    /// let st = gevent::process::Command::new("false").status()?;
    /// assert_eq!(st.code(), Some(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        child.stdin = None; // as std: a piped stdin is closed
        child.wait()
    }

    /// Puts back the stdio that `output` changed (std's Command has no
    /// "unset", so unset means inherit, std's spawn default).
    fn restore_defaults(&mut self) {
        if !self.stdin_set {
            self.inner.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::inherit());
        }
    }

    /// The std builder inside, for reading its settings.
    ///
    /// ```
    /// let c = gevent::process::Command::new("ls");
    /// assert_eq!(c.as_std().get_program(), "ls");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.inner
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a std builder. Its stdio settings are used by
    /// [`spawn`](Command::spawn) and [`status`](Command::status), but
    /// [`output`](Command::output) cannot see them and applies its
    /// defaults (stdout and stderr captured, stdin null): set stdio on the
    /// wrapper to change that.
    fn from(inner: std::process::Command) -> Command {
        Command {
            inner,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
