//! [`Timer`]: relative timeouts, optionally repeating.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use libev_sys as ffi;

use crate::time::{from_tstamp, to_tstamp};

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    TimerKind,
    Timer,
    ffi::ev_timer,
    "timer",
    ffi::ev_timer_start,
    ffi::ev_timer_stop
);

/// A timer: calls back `after` from when it is started, then every `repeat`
/// if that is non-zero (`ev_timer`). Based on the loop's monotonic clock
/// ([`Loop::now`] at start).
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Timer};
/// use std::{cell::Cell, rc::Rc, time::Duration};
///
/// let lp = Loop::new()?;
/// let ticks = Rc::new(Cell::new(0));
/// let t2 = ticks.clone();
/// let t = Timer::new(&lp, Duration::ZERO, Duration::from_millis(1), move |t, _ev| {
///     t2.set(t2.get() + 1);
///     if t2.get() == 3 {
///         t.stop();
///     }
/// });
/// t.start()?;
/// lp.run();
/// assert_eq!(ticks.get(), 3);
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Timer {
    inner: Rc<WatcherCell<TimerKind>>,
}

impl Timer {
    /// Creates a stopped timer.
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::from_secs(1), Duration::ZERO, |_, _| {});
    /// assert!(!t.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Timer, Events) + 'static>(
        lp: &Loop,
        after: Duration,
        repeat: Duration,
        cb: F,
    ) -> Timer {
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher; Durations are non-negative.
            unsafe { ffi::ev_timer_set(w, to_tstamp(after), to_tstamp(repeat)) }
        });
        Timer { inner }
    }

    /// Changes `after` and `repeat` (`ev_timer_set`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the timer is active.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::ZERO, Duration::ZERO, |_, _| {});
    /// t.set(Duration::from_secs(2), Duration::from_secs(1))?;
    /// assert_eq!(t.repeat(), Duration::from_secs(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set(&self, after: Duration, repeat: Duration) -> io::Result<()> {
        self.inner.ensure_inactive("change the timeout")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_timer_set(self.inner.raw(), to_tstamp(after), to_tstamp(repeat)) };
        Ok(())
    }

    /// The repeat interval.
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::ZERO, Duration::from_millis(5), |_, _| {});
    /// assert_eq!(t.repeat(), Duration::from_millis(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn repeat(&self) -> Duration {
        // SAFETY: reading our own struct.
        from_tstamp(unsafe { (*self.inner.raw()).repeat })
    }

    /// Changes the repeat interval; allowed at any time, it takes effect at
    /// the next expiry or [`again`](Timer::again) (as libev documents).
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::ZERO, Duration::ZERO, |_, _| {});
    /// t.set_repeat(Duration::from_secs(3));
    /// assert_eq!(t.repeat(), Duration::from_secs(3));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_repeat(&self, repeat: Duration) {
        // SAFETY: libev reads `repeat` only at expiry/again; we are on the
        // loop's thread, so no concurrent access.
        unsafe { (*self.inner.raw()).repeat = to_tstamp(repeat) };
    }

    /// Restarts a repeating timer from now, or stops it if `repeat` is zero
    /// (`ev_timer_again`); the idiom for inactivity timeouts.
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::ZERO, Duration::from_secs(10), |_, _| {});
    /// t.again();
    /// assert!(t.is_active());
    /// assert!(t.remaining() > Duration::from_secs(9));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn again(&self) {
        // SAFETY: valid loop and timer, on the loop's thread.
        self.inner
            .restart_with(|lp, w| unsafe { ffi::ev_timer_again(lp, w) });
    }

    /// Time until the timer fires, zero if inactive (`ev_timer_remaining`).
    ///
    /// ```
    /// use gevent::core::{Loop, Timer};
    /// use std::time::Duration;
    /// let t = Timer::new(&Loop::new()?, Duration::from_secs(5), Duration::ZERO, |_, _| {});
    /// assert_eq!(t.remaining(), Duration::ZERO);
    /// t.start()?;
    /// assert!(t.remaining() > Duration::from_secs(4));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remaining(&self) -> Duration {
        if !self.is_active() {
            return Duration::ZERO;
        }
        // SAFETY: valid loop and active timer.
        let r = unsafe { ffi::ev_timer_remaining(self.inner.lp.as_ptr(), self.inner.raw()) };
        from_tstamp(r)
    }
}

common_methods!(
    Timer,
    "# let lp = Loop::new()?;\n",
    "Timer::new(&lp, Duration::from_secs(60), Duration::ZERO, |_, _| {})"
);
