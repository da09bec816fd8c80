//! [`Idle`]: calls back when the loop has nothing else to do.

use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    IdleKind,
    Idle,
    ffi::ev_idle,
    "idle",
    ffi::ev_idle_start,
    ffi::ev_idle_stop
);

/// An idle watcher: calls back once per iteration while no other event is
/// pending (`ev_idle`), which also keeps the loop from blocking. Watchers
/// of higher priority than pending ones still count as activity.
///
/// # Examples
///
/// ```
/// use gevent::core::{Idle, Loop};
/// let lp = Loop::new()?;
/// let w = Idle::new(&lp, |w, _ev| w.stop()); // run once, when idle
/// w.start()?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Idle {
    inner: Rc<WatcherCell<IdleKind>>,
}

impl Idle {
    /// Creates a stopped idle watcher.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let w = gevent::core::Idle::new(&lp, |_, _| {});
    /// assert!(!w.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Idle, Events) + 'static>(lp: &Loop, cb: F) -> Idle {
        Idle {
            inner: WatcherCell::new(lp, Some(Box::new(cb)), |_| {}),
        }
    }
}

common_methods!(
    Idle,
    "# let lp = Loop::new()?;\n",
    "Idle::new(&lp, |_, _| {})"
);
