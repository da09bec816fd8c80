//! [`Timeout`] and [`with_timeout`]: bounding the time a block of code may block.

use std::cell::Cell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::time::Duration;

use crate::Error;
use crate::core::Timer;
use crate::greenlet::state::{Task, Throw};
use crate::hub::{self, hub_inner};

/// A timeout for the greenlet that starts it: when it expires, the
/// greenlet's current (or next) blocking call unwinds with the timeout, as
/// gevent raises `Timeout` at the switch point. Destructors run on the way.
///
/// * `None` never fires; `Some(Duration::ZERO)` fires at the next loop
///   iteration (so the next blocking call is interrupted).
/// * Timeouts nest independently: the first to expire is raised, with its
///   own identity; an inner [`with_timeout`] does not catch an outer one.
/// * Dropping (or [`cancel`](Timeout::cancel)ling) it disarms it, including
///   an expiry that has not been raised yet.
/// * CPU-bound code that never blocks is not interrupted.
/// * An expiry is raised at the greenlet's pending switch point even if the
///   greenlet is already queued to resume there (say, woken by an event it
///   waited for): it does not return normally from that blocking call.
///
/// # Destructors and aborts
///
/// The expiry unwinds the greenlet's stack, so the destructors it passes run
/// during an unwind: a `Drop` that panics then **aborts the process** (a
/// panic while panicking), it does not merely fail the greenlet. Keep
/// destructors infallible (report or store errors instead of `unwrap()`),
/// and do cleanup that may fail explicitly before the value is dropped; see
/// the crate docs, "Destructors must not panic".
///
/// Use [`with_timeout`] to get a `Result`, or a guard with
/// [`Timeout::catch`] to catch this timeout around any block.
///
/// # Examples
///
/// ```
/// use gevent::{sleep, Timeout};
/// use std::time::Duration;
///
/// let t = Timeout::new(Some(Duration::from_millis(10)));
/// let r = t.catch(|| {
///     sleep(Duration::from_secs(10)); // interrupted after 10 ms
///     "finished"
/// });
/// assert!(r.unwrap_err().is_timeout());
/// ```
pub struct Timeout {
    id: u64,
    duration: Option<Duration>,
    error: Error,
    owner: Rc<dyn Task>,
    timer: Option<Timer>,
    fired: Rc<Cell<bool>>,
}

impl Timeout {
    /// Creates and starts a timeout for the running greenlet
    /// (gevent's `Timeout.start_new`).
    ///
    /// ```
    /// let _guard = gevent::Timeout::new(Some(std::time::Duration::from_secs(5)));
    /// // ... blocking code bounded by 5 s; the guard disarms on drop
    /// ```
    pub fn new(duration: Option<Duration>) -> Timeout {
        Timeout::with_error(duration, Error::Timeout)
    }

    /// Like [`new`](Timeout::new), reporting `error` instead of
    /// [`Error::Timeout`] when it expires.
    ///
    /// ```
    /// use gevent::{Error, Timeout};
    /// use std::time::Duration;
    /// let t = Timeout::with_error(Some(Duration::ZERO), Error::killed(std::io::Error::other("too slow")));
    /// let r = t.catch(|| gevent::sleep(Duration::from_secs(1)));
    /// assert_eq!(r.unwrap_err().to_string(), "killed: too slow");
    /// ```
    pub fn with_error(duration: Option<Duration>, error: Error) -> Timeout {
        let hub = hub_inner();
        let mut t = Timeout {
            id: hub.next_id(),
            duration,
            error,
            owner: hub::current_task(),
            timer: None,
            fired: Rc::new(Cell::new(false)),
        };
        t.arm();
        t
    }

    fn arm(&mut self) {
        let Some(d) = self.duration else { return };
        let owner = Rc::downgrade(&self.owner);
        let id = self.id;
        let error = self.error.clone();
        let fired = self.fired.clone();
        hub_inner().loop_().now_update();
        let timer = Timer::new(hub_inner().loop_(), d, Duration::ZERO, move |_, _| {
            fired.set(true);
            if let Some(owner) = owner.upgrade() {
                hub::throw(&owner, Throw::Timeout(id, error.clone()));
            }
        });
        // A timer on our own loop with a valid duration always starts.
        let _ = timer.start();
        self.timer = Some(timer);
    }

    /// Disarms the timeout; an expiry not yet raised is discarded.
    ///
    /// ```
    /// let t = gevent::Timeout::new(Some(std::time::Duration::ZERO));
    /// t.cancel();
    /// gevent::sleep(std::time::Duration::from_millis(1)); // not interrupted
    /// ```
    pub fn cancel(&self) {
        if let Some(t) = &self.timer {
            t.stop();
        }
        hub::cancel_throw(&self.owner, self.id);
    }

    /// Disarms and re-arms with the same duration, counting from now.
    ///
    /// ```
    /// let mut t = gevent::Timeout::new(Some(std::time::Duration::from_millis(50)));
    /// t.restart();
    /// assert!(t.pending());
    /// ```
    pub fn restart(&mut self) {
        self.cancel();
        self.fired.set(false);
        self.arm();
    }

    /// Whether it is armed and has not fired.
    ///
    /// ```
    /// assert!(!gevent::Timeout::new(None).pending());
    /// ```
    pub fn pending(&self) -> bool {
        self.timer.as_ref().is_some_and(|t| t.is_active())
    }

    /// Whether it has fired.
    ///
    /// ```
    /// let t = gevent::Timeout::new(Some(std::time::Duration::ZERO));
    /// let _ = t.catch(|| gevent::sleep(std::time::Duration::from_millis(5)));
    /// assert!(t.fired());
    /// ```
    pub fn fired(&self) -> bool {
        self.fired.get()
    }

    /// The duration it was created with.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(gevent::Timeout::new(Some(Duration::from_secs(1))).duration(), Some(Duration::from_secs(1)));
    /// ```
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Whether a payload caught with `catch_unwind` is this timeout's.
    ///
    /// ```
    /// let t = gevent::Timeout::new(Some(std::time::Duration::ZERO));
    /// let p = std::panic::catch_unwind(|| gevent::sleep(std::time::Duration::from_secs(1))).unwrap_err();
    /// assert!(t.is_mine(&*p));
    /// ```
    pub fn is_mine(&self, payload: &(dyn std::any::Any + Send)) -> bool {
        matches!(payload.downcast_ref::<Throw>(), Some(Throw::Timeout(id, _)) if *id == self.id)
    }

    /// Runs `f`; if this timeout expires inside it, returns the timeout's
    /// error instead. Other panics, kills and other timeouts pass through.
    /// The timeout is cancelled when `f` returns.
    ///
    /// # Errors
    ///
    /// The timeout's error ([`Error::Timeout`] unless given another).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent::Timeout::new(Some(Duration::from_secs(5)));
    /// assert_eq!(t.catch(|| 7).unwrap(), 7);
    /// ```
    pub fn catch<T, F: FnOnce() -> T>(&self, f: F) -> Result<T, Error> {
        let r = catch_unwind(AssertUnwindSafe(f));
        self.cancel();
        match r {
            Ok(v) => Ok(v),
            Err(p) if self.is_mine(&*p) => Err(self.error.clone()),
            Err(p) => resume_unwind(p),
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("duration", &self.duration)
            .field("pending", &self.pending())
            .field("fired", &self.fired())
            .finish()
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.duration {
            Some(d) => write!(f, "{d:?}"),
            None => f.write_str("no timeout"),
        }
    }
}

/// Runs `f` with a timeout: `Err(Error::Timeout)` if it is still blocked
/// after `duration`.
///
/// # Errors
///
/// [`Error::Timeout`] when the time ran out.
///
/// # Examples
///
/// ```
/// use gevent::{sleep, with_timeout};
/// use std::time::Duration;
/// assert!(with_timeout(Duration::from_millis(5), || sleep(Duration::from_secs(5))).unwrap_err().is_timeout());
/// assert_eq!(with_timeout(Duration::from_secs(5), || 1).unwrap(), 1);
/// ```
pub fn with_timeout<T, F: FnOnce() -> T>(duration: Duration, f: F) -> Result<T, Error> {
    Timeout::new(Some(duration)).catch(f)
}
