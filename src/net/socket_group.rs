//! [`SocketGroup`]: what the handles of one socket (the original and its
//! `try_clone`s) share.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::socket::Handle;

/// State shared by every handle of one OS socket, as the kernel shares it
/// between duplicated descriptors: the user-visible non-blocking mode (the
/// `O_NONBLOCK` flag lives in the open file description), the read and
/// write timeouts (`SO_RCVTIMEO`/`SO_SNDTIMEO` are socket options), and,
/// ours, the closed flag: `close()` on any handle closes them all.
pub(crate) struct SocketGroup {
    pub(crate) closed: Cell<bool>,
    pub(crate) nonblocking: Cell<bool>,
    pub(crate) read_timeout: Cell<Option<Duration>>,
    pub(crate) write_timeout: Cell<Option<Duration>>,
    /// The live handles, so that `close()` can reach their waiters and
    /// descriptors.
    pub(crate) members: RefCell<Vec<Weak<Handle>>>,
}

impl SocketGroup {
    pub(crate) fn new() -> Rc<SocketGroup> {
        Rc::new(SocketGroup {
            closed: Cell::new(false),
            nonblocking: Cell::new(false),
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            members: RefCell::new(Vec::new()),
        })
    }

    /// The live handles.
    pub(crate) fn live_members(&self) -> Vec<Rc<Handle>> {
        self.members
            .borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Forgets handles that were dropped.
    pub(crate) fn prune(&self) {
        self.members.borrow_mut().retain(|w| w.strong_count() > 0);
    }
}
