//! [`Check`]: calls back right after the loop polled.

use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    CheckKind,
    Check,
    ffi::ev_check,
    "check",
    ffi::ev_check_start,
    ffi::ev_check_stop
);

/// A check watcher: calls back in each iteration right after the loop
/// polled for events, before their callbacks run (`ev_check`).
///
/// # Examples
///
/// ```
/// use gevent::core::{Check, Loop, Timer};
/// use std::time::Duration;
/// let lp = Loop::new()?;
/// let c = Check::new(&lp, |_, _| println!("polled"));
/// c.start()?;
/// c.set_keepalive(false);
/// let t = Timer::new(&lp, Duration::from_millis(1), Duration::ZERO, |_, _| {});
/// t.start()?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Check {
    inner: Rc<WatcherCell<CheckKind>>,
}

impl Check {
    /// Creates a stopped check watcher.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let w = gevent::core::Check::new(&lp, |_, _| {});
    /// assert!(!w.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Check, Events) + 'static>(lp: &Loop, cb: F) -> Check {
        Check {
            inner: WatcherCell::new(lp, Some(Box::new(cb)), |_| {}),
        }
    }
}

common_methods!(
    Check,
    "# let lp = Loop::new()?;\n",
    "Check::new(&lp, |_, _| {})"
);
