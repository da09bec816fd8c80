//! [`WaitSlot`]: one direction (read or write) of one socket handle: the
//! greenlet waiting on it, and the watchers it waits with.

use std::cell::{Cell, OnceCell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use crate::core::{Events, Io, Timer};
use crate::hub::{self, Waker, hub_inner};

/// How a wait ended (errors aside).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The fd is (probably) ready: retry the operation.
    Ready,
    /// The timeout ran out first.
    TimedOut,
}

/// One direction of one socket handle.
///
/// At most one greenlet waits in a slot at a time (a second one gets
/// `ResourceBusy` instead of silently stealing the wake-up). The io watcher
/// and the timeout timer are created on first use and reused by every later
/// wait: a wait starts them and stops them, nothing is allocated on the hot
/// path. The io callback stops its watcher (libev is level-triggered: a
/// watcher left running would fire on every iteration while the greenlet
/// is still busy with the data).
pub(crate) struct WaitSlot {
    busy: Cell<bool>,
    io: OnceCell<Io>,
    timer: OnceCell<Timer>,
    /// The waiting greenlet's waker, shared with the watcher callbacks.
    waker: Rc<RefCell<Option<Waker>>>,
}

/// Clears the slot when a wait ends, however it ends (return, error, or a
/// kill/Timeout unwinding out of `park`): stops both watchers, forgets the
/// waker, frees the slot.
struct Release<'a>(&'a WaitSlot);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.stop_watchers();
        self.0.waker.borrow_mut().take();
        self.0.busy.set(false);
    }
}

impl WaitSlot {
    pub(crate) fn new() -> WaitSlot {
        WaitSlot {
            busy: Cell::new(false),
            io: OnceCell::new(),
            timer: OnceCell::new(),
            waker: Rc::new(RefCell::new(None)),
        }
    }

    /// Whether a greenlet is waiting here.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy.get()
    }

    fn io(&self, fd: RawFd, events: Events) -> io::Result<&Io> {
        if let Some(io) = self.io.get() {
            return Ok(io);
        }
        let waker = self.waker.clone();
        let io = Io::new(hub_inner().loop_(), fd, events, move |w, _| {
            w.stop();
            if let Some(k) = &*waker.borrow() {
                k.wake();
            }
        })?;
        Ok(self.io.get_or_init(|| io))
    }

    fn timer(&self) -> &Timer {
        self.timer.get_or_init(|| {
            let waker = self.waker.clone();
            Timer::new(
                hub_inner().loop_(),
                Duration::ZERO,
                Duration::ZERO,
                move |_, _| {
                    if let Some(k) = &*waker.borrow() {
                        k.wake();
                    }
                },
            )
        })
    }

    fn stop_watchers(&self) {
        if let Some(io) = self.io.get() {
            io.stop();
        }
        if let Some(t) = self.timer.get() {
            t.stop();
        }
    }

    /// Waits until `fd` is ready for `events`, `timeout` runs out, or
    /// `cancelled()` becomes true (checked after every wake-up).
    ///
    /// `busy` describes the error for a second waiter ("read", "write").
    pub(crate) fn wait(
        &self,
        fd: RawFd,
        events: Events,
        timeout: Option<Duration>,
        what: &str,
        cancelled: impl Fn() -> Option<io::Error>,
    ) -> io::Result<Waited> {
        hub::check_can_block()?;
        if self.busy.get() {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "another greenlet is already waiting to {what} on this socket (fd {fd}); \
                     use one greenlet per direction, or try_clone() the socket"
                ),
            ));
        }
        if let Some(e) = cancelled() {
            return Err(e);
        }
        let io = self.io(fd, events)?;
        self.busy.set(true);
        *self.waker.borrow_mut() = Some(Waker::current());
        let _release = Release(self);
        io.start()?;
        let timer = match timeout {
            Some(d) => {
                let t = self.timer();
                t.set(d, Duration::ZERO)?;
                hub_inner().loop_().now_update();
                t.start()?;
                Some(t)
            }
            None => None,
        };
        loop {
            if let Some(e) = cancelled() {
                return Err(e);
            }
            if !io.is_active() {
                return Ok(Waited::Ready);
            }
            if timer.is_some_and(|t| !t.is_active()) {
                return Ok(Waited::TimedOut);
            }
            hub::park()?;
        }
    }

    /// Stops the watchers and wakes the waiter, if any, which then sees its
    /// `cancelled()` condition (the socket was closed).
    pub(crate) fn cancel(&self) {
        self.stop_watchers();
        if let Some(k) = &*self.waker.borrow() {
            k.wake();
        }
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        // Explicit, so the watchers are stopped before the owner closes the fd.
        self.stop_watchers();
    }
}
