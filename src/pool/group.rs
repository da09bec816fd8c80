//! [`Group`]: an unbounded set of greenlets.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::members::Members;
use super::{IMap, IMapUnordered, apply, engine, shared_methods};
use crate::{AsGreenlet, Error, Greenlet, GreenletRef};

/// A set of greenlets, without a bound (gevent's `Group`): spawn through
/// it or [`add`](Group::add) greenlets, then wait for or kill them all, or
/// map a function over an input with one greenlet per item. Members leave
/// when they die. Clones share the set.
///
/// # Examples
///
/// ```
/// use gevent::pool::Group;
/// use std::time::Duration;
///
/// let group = Group::new();
/// for i in 0..3u64 {
///     group.spawn(move || gevent::sleep(Duration::from_millis(i)));
/// }
/// assert_eq!(group.len(), 3);
/// group.join()?;
/// assert!(group.is_empty());
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct Group {
    members: Rc<Members>,
}

impl Default for Group {
    fn default() -> Group {
        Group::new()
    }
}

impl Group {
    /// An empty group.
    ///
    /// ```
    /// assert!(gevent::pool::Group::new().is_empty());
    /// ```
    pub fn new() -> Group {
        Group {
            members: Members::new(None),
        }
    }

    /// Spawns `f` in a new greenlet that is a member until it dies.
    ///
    /// ```
    /// let group = gevent::pool::Group::new();
    /// let g = group.spawn(|| 1);
    /// assert!(group.contains(&g));
    /// assert_eq!(g.get()?, 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(&self, f: F) -> Greenlet<T> {
        let g = crate::spawn(f);
        self.members.insert(&g.handle(), None);
        g
    }

    /// Adds a greenlet (any [`AsGreenlet`]); it leaves when it dies. A
    /// dead greenlet or a member is not added again.
    ///
    /// ```
    /// let group = gevent::pool::Group::new();
    /// let g = gevent::spawn(|| ());
    /// group.add(&g);
    /// group.add(&gevent::getcurrent());
    /// assert_eq!(group.len(), 2);
    /// ```
    pub fn add<G: AsGreenlet>(&self, g: &G) {
        self.members.insert(&g.greenlet_ref(), None);
    }

    /// Always `false`: a group has no bound (for code written for both
    /// groups and pools).
    ///
    /// ```
    /// assert!(!gevent::pool::Group::new().full());
    /// ```
    pub fn full(&self) -> bool {
        false
    }

    /// Returns at once: a group always has room (for code written for
    /// both groups and pools).
    ///
    /// # Errors
    ///
    /// None; the `Result` mirrors [`Pool::wait_available`](super::Pool::wait_available).
    ///
    /// ```
    /// gevent::pool::Group::new().wait_available()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_available(&self) -> Result<(), Error> {
        Ok(())
    }
}

shared_methods!(Group, "gevent::pool::Group::new()", "");

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("len", &self.members.len())
            .finish()
    }
}
