//! [`Periodic`]: timers on the wall clock.

use std::io;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    PeriodicKind,
    Periodic,
    ffi::ev_periodic,
    "periodic",
    ffi::ev_periodic_start,
    ffi::ev_periodic_stop
);

type Reschedule = Box<dyn FnMut(f64) -> f64>;

fn check(offset: f64, interval: f64) -> io::Result<()> {
    if !offset.is_finite() || !interval.is_finite() || interval < 0.0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid periodic offset {offset} / interval {interval}: both must be finite and the interval not negative"
            ),
        ));
    }
    Ok(())
}

unsafe extern "C" fn reschedule_trampoline(w: *mut ffi::ev_periodic, now: f64) -> f64 {
    // SAFETY: `data` is the cell (see watcher.rs); the reschedule closure is
    // stored in its `extra` slot while this callback is installed.
    let cell = unsafe { &*((*w).data as *const WatcherCell<PeriodicKind>) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut extra = cell.extra.borrow_mut();
        let f = extra
            .as_mut()
            .and_then(|b| b.downcast_mut::<Reschedule>())
            .expect("reschedule closure present");
        f(now)
    }));
    match result {
        // libev requires a time not before `now`.
        Ok(t) if t.is_finite() && t >= now => t,
        Ok(_) => now + 1e30,
        Err(p) => {
            cell.lp.store_panic(p);
            now + 1e30
        }
    }
}

/// A periodic: calls back at absolute wall-clock times (`ev_periodic`).
///
/// * `interval == 0`: once, at absolute time `offset` (seconds since the
///   epoch), like `at`;
/// * `interval > 0`: at every `offset + n * interval`, e.g. `(0, 3600)`
///   fires at every full hour, whatever the clock does in between;
/// * [`with_reschedule`](Periodic::with_reschedule): a closure computes the
///   next time from the current one.
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Periodic};
///
/// let lp = Loop::new()?;
/// let at = lp.now() + 0.001;
/// let p = Periodic::new(&lp, at, 0.0, |p, _ev| println!("fired at {}", p.at()))?;
/// p.start()?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Periodic {
    inner: Rc<WatcherCell<PeriodicKind>>,
}

impl Periodic {
    /// Creates a stopped periodic with `offset` and `interval` in seconds.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative or non-finite interval or a non-finite
    /// offset (libev would assert).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let lp = Loop::new()?;
    /// assert!(Periodic::new(&lp, 0.0, -1.0, |_, _| {}).is_err());
    /// let p = Periodic::new(&lp, 0.0, 60.0, |_, _| {})?;
    /// assert_eq!(p.interval(), 60.0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Periodic, Events) + 'static>(
        lp: &Loop,
        offset: f64,
        interval: f64,
        cb: F,
    ) -> io::Result<Periodic> {
        check(offset, interval)?;
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher; arguments validated.
            unsafe { ffi::ev_periodic_set(w, offset, interval, None) }
        });
        Ok(Periodic { inner })
    }

    /// Creates a stopped periodic whose next time is computed by
    /// `reschedule(now)`, which must return a time not before `now` (a
    /// smaller or non-finite result stops the schedule far in the future).
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let lp = Loop::new()?;
    /// // fire at the next multiple of 10 ms
    /// let p = Periodic::with_reschedule(&lp, |now| (now / 0.01).floor() * 0.01 + 0.01, |p, _| p.stop());
    /// p.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_reschedule<R, F>(lp: &Loop, reschedule: R, cb: F) -> Periodic
    where
        R: FnMut(f64) -> f64 + 'static,
        F: FnMut(&Periodic, Events) + 'static,
    {
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher.
            unsafe { ffi::ev_periodic_set(w, 0.0, 0.0, Some(reschedule_trampoline)) }
        });
        let boxed: Reschedule = Box::new(reschedule);
        *inner.extra.borrow_mut() = Some(Box::new(boxed));
        Periodic { inner }
    }

    /// Changes offset and interval (and drops a reschedule closure).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if active or the values are invalid.
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let p = Periodic::new(&Loop::new()?, 0.0, 1.0, |_, _| {})?;
    /// p.set(5.0, 10.0)?;
    /// assert_eq!((p.offset(), p.interval()), (5.0, 10.0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set(&self, offset: f64, interval: f64) -> io::Result<()> {
        check(offset, interval)?;
        self.inner.ensure_inactive("change the schedule")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_periodic_set(self.inner.raw(), offset, interval, None) };
        *self.inner.extra.borrow_mut() = None;
        Ok(())
    }

    /// The offset in seconds.
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// assert_eq!(Periodic::new(&Loop::new()?, 3.0, 0.0, |_, _| {})?.offset(), 3.0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn offset(&self) -> f64 {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).offset }
    }

    /// The interval in seconds (0 for a one-shot).
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// assert_eq!(Periodic::new(&Loop::new()?, 0.0, 2.5, |_, _| {})?.interval(), 2.5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn interval(&self) -> f64 {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).interval }
    }

    /// The absolute time it fires next (`ev_periodic_at`); meaningful while active.
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let lp = Loop::new()?;
    /// let p = Periodic::new(&lp, 0.0, 1.0, |_, _| {})?;
    /// p.start()?;
    /// assert!(p.at() >= lp.now());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn at(&self) -> f64 {
        // SAFETY: reading our own struct.
        unsafe { ffi::ev_periodic_at(self.inner.raw()) }
    }

    /// Recomputes the next time after the offset, interval or clock changed
    /// (`ev_periodic_again`); starts the watcher if it was stopped.
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let p = Periodic::new(&Loop::new()?, 0.0, 1.0, |_, _| {})?;
    /// p.again();
    /// assert!(p.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn again(&self) {
        // SAFETY: valid loop and watcher, on the loop's thread.
        self.inner
            .restart_with(|lp, w| unsafe { ffi::ev_periodic_again(lp, w) });
    }

    /// Alias of [`again`](Periodic::again), gevent's and Perl EV's name.
    ///
    /// ```
    /// use gevent::core::{Loop, Periodic};
    /// let p = Periodic::new(&Loop::new()?, 0.0, 1.0, |_, _| {})?;
    /// p.reschedule();
    /// assert!(p.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reschedule(&self) {
        self.again()
    }
}

common_methods!(
    Periodic,
    "# let lp = Loop::new()?;\n",
    "Periodic::new(&lp, lp.now() + 60.0, 0.0, |_, _| {})?"
);
