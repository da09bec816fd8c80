//! [`Child`]: status changes of child processes.

use std::io;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop, signals};

watcher_kind!(ChildKind, Child, ffi::ev_child, "child", ffi::ev_child_start, ffi::ev_child_stop;
    fn after_start(_w: &WatcherCell<Self>) {
        signals::child_watcher_started();
    }
    fn after_stop(_w: &WatcherCell<Self>) {
        signals::child_watcher_stopped();
    }
);

/// A child watcher: calls back when a child process (or any child, for pid
/// 0) exits, or with `trace` also when it stops or continues (`ev_child`).
/// Only the default loop can have child watchers.
///
/// **The SIGCHLD rule.** While at least one child watcher is active, the
/// default loop handles `SIGCHLD` and reaps *every* exited child with
/// `waitpid(-1)`, so `std::process::Child::wait` on an unrelated child may
/// then fail with `ECHILD`. When no child watcher is active, `SIGCHLD` is
/// left as it was and std's process API works as usual.
///
/// # Examples
///
/// ```
/// use gevent::core::{Child, Loop};
///
/// let lp = Loop::default_loop()?;
/// let proc = std::process::Command::new("true").spawn()?;
/// let w = Child::new(&lp, proc.id() as i32, false, |w, _ev| {
///     assert_eq!(w.rstatus() >> 8, 0); // exit code 0
///     w.stop();
/// })?;
/// w.start()?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Child {
    inner: Rc<WatcherCell<ChildKind>>,
}

impl Child {
    /// Creates a stopped watcher for `pid` (0: any child).
    ///
    /// # Errors
    ///
    /// `Unsupported` unless `lp` is the default loop; `InvalidInput` for a
    /// negative pid.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Child, Loop};
    /// let lp = Loop::new()?;
    /// assert!(Child::new(&lp, 0, false, |_, _| {}).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Child, Events) + 'static>(
        lp: &Loop,
        pid: i32,
        trace: bool,
        cb: F,
    ) -> io::Result<Child> {
        if !lp.is_default() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "child watchers only work on the default loop (Loop::default_loop())",
            ));
        }
        if pid < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid pid {pid}"),
            ));
        }
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher.
            unsafe { ffi::ev_child_set(w, pid, trace as i32) }
        });
        Ok(Child { inner })
    }

    /// The pid watched (0: any).
    ///
    /// ```
    /// # let lp = gevent::core::Loop::default_loop()?;
    /// let w = gevent::core::Child::new(&lp, 42, false, |_, _| {})?;
    /// assert_eq!(w.pid(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pid(&self) -> i32 {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).pid }
    }

    /// The pid whose status changed last.
    ///
    /// ```
    /// use gevent::core::{Child, Loop};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let lp = Loop::default_loop()?;
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// // pid 0: any child; rpid says which one it was.
    /// let w = Child::new(&lp, 0, false, move |w, _| {
    ///     s.set(w.rpid());
    ///     w.stop();
    /// })?;
    /// w.start()?;
    /// let child = std::process::Command::new("true").spawn()?;
    /// lp.run();
    /// assert_eq!(seen.get(), child.id() as i32);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn rpid(&self) -> i32 {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).rpid }
    }

    /// The raw `waitpid` status of the last change (use `libc::WIFEXITED`
    /// and friends, or `std::os::unix::process::ExitStatusExt::from_raw`).
    ///
    /// ```
    /// use gevent::core::{Child, Loop};
    /// use std::os::unix::process::ExitStatusExt;
    /// use std::process::{Command, ExitStatus};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let lp = Loop::default_loop()?;
    /// let child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
    /// let code = Rc::new(Cell::new(None));
    /// let c = code.clone();
    /// let w = Child::new(&lp, child.id() as i32, false, move |w, _| {
    ///     c.set(ExitStatus::from_raw(w.rstatus()).code());
    ///     w.stop();
    /// })?;
    /// w.start()?;
    /// lp.run();
    /// assert_eq!(code.get(), Some(3));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn rstatus(&self) -> i32 {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).rstatus }
    }

    /// Changes pid and trace.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if active or pid is negative.
    ///
    /// ```
    /// # let lp = gevent::core::Loop::default_loop()?;
    /// let w = gevent::core::Child::new(&lp, 0, false, |_, _| {})?;
    /// w.set(1234, true)?;
    /// assert_eq!(w.pid(), 1234);
    /// assert!(w.set(-1, false).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set(&self, pid: i32, trace: bool) -> io::Result<()> {
        if pid < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid pid {pid}"),
            ));
        }
        self.inner.ensure_inactive("change the pid")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_child_set(self.inner.raw(), pid, trace as i32) };
        Ok(())
    }
}

common_methods!(
    Child,
    "# let lp = Loop::default_loop()?; // child watchers: default loop only\n",
    "Child::new(&lp, 0, false, |_, _| {})?"
);
