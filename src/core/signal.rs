//! [`Signal`]: Unix signals delivered to a loop.

use std::io;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop, signals};

fn signum_of(w: &WatcherCell<SignalKind>) -> i32 {
    // SAFETY: reading our own struct.
    unsafe { (*w.raw()).signum }
}

watcher_kind!(SignalKind, Signal, ffi::ev_signal, "signal", ffi::ev_signal_start, ffi::ev_signal_stop;
    fn before_start(w: &WatcherCell<Self>) -> io::Result<()> {
        // Registers the signal for this loop (libev asserts if another loop
        // has it); balanced in after_stop.
        signals::acquire(w.lp.as_ptr(), signum_of(w))
    }
    fn after_stop(w: &WatcherCell<Self>) {
        signals::release(w.lp.as_ptr(), signum_of(w));
    }
);

/// A signal watcher: calls back in the loop (not in a signal handler) after
/// `signum` arrived (`ev_signal`).
///
/// A signal belongs to one loop at a time: starting a watcher for a signal
/// that another loop watches is an error, not libev's abort. `SIGCHLD`
/// belongs to the default loop.
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Signal};
///
/// let lp = Loop::new()?;
/// let w = Signal::new(&lp, libc::SIGUSR1, |w, _ev| w.stop())?;
/// w.start()?;
/// // SAFETY: raising a signal we handle.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// lp.run();
/// assert!(!w.is_active());
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Signal {
    inner: Rc<WatcherCell<SignalKind>>,
}

impl Signal {
    /// Creates a stopped watcher for `signum`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `signum` is out of range or uncatchable
    /// (`SIGKILL`, `SIGSTOP`). Starting fails with `AddrInUse` if another
    /// loop watches the signal.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Loop, Signal};
    /// let lp = Loop::new()?;
    /// assert!(Signal::new(&lp, 0, |_, _| {}).is_err());
    /// assert!(Signal::new(&lp, 1000, |_, _| {}).is_err());
    /// assert!(Signal::new(&lp, libc::SIGKILL, |_, _| {}).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Signal, Events) + 'static>(
        lp: &Loop,
        signum: i32,
        cb: F,
    ) -> io::Result<Signal> {
        signals::check_signum(signum)?;
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher.
            unsafe { ffi::ev_signal_set(w, signum) }
        });
        Ok(Signal { inner })
    }

    /// The signal number.
    ///
    /// ```
    /// use gevent::core::{Loop, Signal};
    /// let w = Signal::new(&Loop::new()?, libc::SIGUSR2, |_, _| {})?;
    /// assert_eq!(w.signum(), libc::SIGUSR2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signum(&self) -> i32 {
        signum_of(&self.inner)
    }

    /// Changes the signal number.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if active or `signum` is invalid.
    ///
    /// ```
    /// use gevent::core::{Loop, Signal};
    /// let w = Signal::new(&Loop::new()?, libc::SIGUSR2, |_, _| {})?;
    /// w.set(libc::SIGHUP)?;
    /// assert_eq!(w.signum(), libc::SIGHUP);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set(&self, signum: i32) -> io::Result<()> {
        signals::check_signum(signum)?;
        self.inner.ensure_inactive("change the signal")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_signal_set(self.inner.raw(), signum) };
        Ok(())
    }
}

common_methods!(
    Signal,
    "# let lp = Loop::new()?;\n",
    "Signal::new(&lp, libc::SIGUSR2, |_, _| {})?"
);
