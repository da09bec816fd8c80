//! [`Cleanup`]: calls back when the loop is destroyed.

use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(CleanupKind, Cleanup, ffi::ev_cleanup, "cleanup", ffi::ev_cleanup_start, ffi::ev_cleanup_stop;
    // ev_cleanup_start unrefs the loop itself: there is no reference to undo.
    const REFS: u32 = 0;
);

/// A cleanup watcher: calls back when its loop is being destroyed
/// (`ev_cleanup`). It never keeps the loop alive. Since a watcher keeps its
/// loop alive, it fires only for loops destroyed with raw `ev_loop_destroy`
/// calls; it exists for completeness of the libev API.
///
/// # Examples
///
/// ```
/// use gevent::core::{Cleanup, Loop};
/// let lp = Loop::new()?;
/// let c = Cleanup::new(&lp, |_, _| {});
/// c.start()?;
/// assert!(!lp.run()); // a cleanup watcher does not keep the loop running
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Cleanup {
    inner: Rc<WatcherCell<CleanupKind>>,
}

impl Cleanup {
    /// Creates a stopped cleanup watcher.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let w = gevent::core::Cleanup::new(&lp, |_, _| {});
    /// assert!(!w.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Cleanup, Events) + 'static>(lp: &Loop, cb: F) -> Cleanup {
        Cleanup {
            inner: WatcherCell::new(lp, Some(Box::new(cb)), |_| {}),
        }
    }
}

common_methods!(
    Cleanup,
    "# let lp = Loop::new()?;\n",
    "Cleanup::new(&lp, |_, _| {})"
);
