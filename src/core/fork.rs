//! [`Fork`]: calls back after the process forked.

use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    ForkKind,
    Fork,
    ffi::ev_fork,
    "fork",
    ffi::ev_fork_start,
    ffi::ev_fork_stop
);

/// A fork watcher: calls back at the start of the next iteration after
/// [`Loop::loop_fork`] was called in a forked child (`ev_fork`).
///
/// # Examples
///
/// ```
/// use gevent::core::{Fork, Loop};
/// let lp = Loop::new()?;
/// let f = Fork::new(&lp, |w, _ev| w.stop());
/// f.start()?;
/// lp.loop_fork(); // as a child process would after fork()
/// lp.run();
/// assert!(!f.is_active());
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Fork {
    inner: Rc<WatcherCell<ForkKind>>,
}

impl Fork {
    /// Creates a stopped fork watcher.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let w = gevent::core::Fork::new(&lp, |_, _| {});
    /// assert!(!w.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Fork, Events) + 'static>(lp: &Loop, cb: F) -> Fork {
        Fork {
            inner: WatcherCell::new(lp, Some(Box::new(cb)), |_| {}),
        }
    }
}

common_methods!(
    Fork,
    "# let lp = Loop::new()?;\n",
    "Fork::new(&lp, |_, _| {})"
);
