//! [`Prepare`]: calls back right before the loop blocks.

use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    PrepareKind,
    Prepare,
    ffi::ev_prepare,
    "prepare",
    ffi::ev_prepare_start,
    ffi::ev_prepare_stop
);

/// A prepare watcher: calls back at the start of each iteration, right
/// before the loop polls for events (`ev_prepare`). Pair it with a
/// [`Check`](super::Check) to integrate another event source.
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Prepare, Timer};
/// use std::time::Duration;
/// let lp = Loop::new()?;
/// let p = Prepare::new(&lp, |_, _| println!("about to poll"));
/// p.start()?;
/// p.set_keepalive(false); // don't keep the loop alive by itself
/// let t = Timer::new(&lp, Duration::from_millis(1), Duration::ZERO, |_, _| {});
/// t.start()?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Prepare {
    inner: Rc<WatcherCell<PrepareKind>>,
}

impl Prepare {
    /// Creates a stopped prepare watcher.
    ///
    /// ```
    /// let lp = gevent::core::Loop::new()?;
    /// let w = gevent::core::Prepare::new(&lp, |_, _| {});
    /// assert!(!w.is_active());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Prepare, Events) + 'static>(lp: &Loop, cb: F) -> Prepare {
        Prepare {
            inner: WatcherCell::new(lp, Some(Box::new(cb)), |_| {}),
        }
    }
}

common_methods!(
    Prepare,
    "# let lp = Loop::new()?;\n",
    "Prepare::new(&lp, |_, _| {})"
);
