//! [`WaitSlot`]: one direction (read or write) of one socket handle: the
//! greenlet waiting on it, and the watchers it waits with.

use std::cell::{Cell, OnceCell, UnsafeCell};
use std::io;
use std::os::fd::RawFd;
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use libev_sys as ffi;

use crate::core::io::check_new_fd_events;
use crate::core::{Events, Loop, Timer};
use crate::greenlet::state::State;
use crate::hub::{self, hub_inner};

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
/// is set up on the first wait and the timeout timer on the first wait with
/// a timeout; later waits reuse them, so nothing is allocated on the hot
/// path.
///
/// # The io watcher is embedded
///
/// Every socket operation that waits goes through here, so the io watcher
/// is a plain libev `ev_io` inside the slot (itself inside the socket's
/// `Rc`-allocated handle) with a callback of its own, rather than a
/// [`core::Io`](crate::core::Io) (a separate allocation, a boxed closure
/// and a generic trampoline): a wait touches the handle's memory and the
/// greenlet's, little else. The rules the safe watchers keep are kept here
/// by hand (see the `SAFETY` comments): the slot never moves once its
/// watcher was set up, the watcher is stopped before the slot goes away,
/// the slot keeps its loop alive, and no panic crosses into C.
///
/// # The io watcher stays started between waits
///
/// A wait that ends because the fd became ready leaves the io watcher
/// running (with its loop reference dropped, so an idle socket never keeps
/// the loop alive and `LoopExit` still works): a greenlet that waits on the
/// same socket again — an echo loop's next read — finds it started and
/// costs libev nothing (no `ev_io_stop`/`ev_io_start`, no fd change to
/// reify). libev is level-triggered, so a lingering watcher fires again
/// when the fd is ready while nobody waits; its callback then stops it
/// (lazily, once). A wait that ends any other way (timeout, close, kill,
/// an error) stops the watcher at once, as do closing and dropping the
/// socket.
#[repr(C)]
pub(crate) struct WaitSlot {
    /// libev's io watcher. Must stay the first field: the callback turns
    /// the watcher pointer libev passes back into the slot. All zeroes
    /// (inactive, no callback) until the first wait sets it up.
    io: UnsafeCell<ffi::ev_io>,
    /// The hub's loop, once the watcher is set up; keeps the loop alive for
    /// as long as the watcher may be active.
    lp: OnceCell<Loop>,
    /// A greenlet is waiting here.
    busy: Cell<bool>,
    /// Set by the io callback when the fd became ready during the wait.
    fired: Cell<bool>,
    /// We hold an `ev_unref` for the lingering watcher.
    unrefed: Cell<bool>,
    /// The waiting greenlet while a wait is in progress (null otherwise)
    /// and the number of the park it waits in: a [`Waker`](hub::Waker)
    /// without the reference count. Valid while set: the greenlet is
    /// suspended inside [`wait`](WaitSlot::wait), which clears it on every
    /// way out (`Release`), so its state is alive.
    waiter: Cell<*const State>,
    waiter_seq: Cell<u64>,
    timer: OnceCell<Timer>,
}

/// Clears the slot when a wait ends, however it ends (return, error, or a
/// kill/Timeout unwinding out of `park`): forgets the waiter, stops the
/// timer, stops the io watcher unless the fd became ready (see
/// [`WaitSlot`]), frees the slot.
struct Release<'a>(&'a WaitSlot);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let slot = self.0;
        slot.waiter.set(std::ptr::null());
        if slot.fired.get() {
            slot.linger();
        } else {
            slot.stop_io();
        }
        if let Some(t) = slot.timer.get() {
            t.stop();
        }
        slot.busy.set(false);
    }
}

/// libev's callback for every slot's io watcher.
///
/// # Safety
///
/// Called by libev only, with `w` pointing at the `io` field of a live
/// [`WaitSlot`] whose watcher is active or pending (libev invokes nothing
/// else).
unsafe extern "C" fn slot_io_cb(_lp: *mut ffi::ev_loop, w: *mut ffi::ev_io, _revents: c_int) {
    // SAFETY: `io` is the first field of the `#[repr(C)]` WaitSlot, so the
    // watcher's address is the slot's. The slot is alive: it stops its
    // watcher (which also clears a pending event) before it is dropped,
    // and it never moves once the watcher was set up (see `setup_io`).
    let slot = unsafe { &*(w as *const WaitSlot) };
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| slot.on_io())) {
        // Nothing here is expected to panic; if it did, the loop reports it
        // rather than unwinding into C.
        if let Some(lp) = slot.lp.get() {
            lp.store_panic(p);
        }
    }
}

impl WaitSlot {
    pub(crate) fn new() -> WaitSlot {
        WaitSlot {
            // SAFETY: an all-zero ev_io is a valid inactive watcher (libev's
            // own ev_init would write zeroes too); it is never handed to
            // libev before `setup_io` initialises it.
            io: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            lp: OnceCell::new(),
            busy: Cell::new(false),
            fired: Cell::new(false),
            unrefed: Cell::new(false),
            waiter: Cell::new(std::ptr::null()),
            waiter_seq: Cell::new(0),
            timer: OnceCell::new(),
        }
    }

    /// Whether a greenlet is waiting here.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy.get()
    }

    /// Sets the io watcher up for `fd` and `events` on the first wait
    /// (kept out of line: the hot path only ever finds it set up).
    #[cold]
    #[inline(never)]
    fn setup_io(&self, fd: RawFd, events: Events) -> io::Result<&Loop> {
        check_new_fd_events(fd, events)?;
        let lp = hub_inner().loop_().clone();
        let w = self.io.get();
        // SAFETY: the watcher was never started (zeroed, inactive), so it
        // may be initialised. From here on the slot must not move: it is a
        // field of a socket `Handle`, which lives in an `Rc` from before its
        // first wait until it is dropped. `data` records the address for
        // the debug check in `wait`.
        unsafe {
            ffi::ev_init(w, Some(slot_io_cb));
            ffi::ev_io_set(w, fd, events.bits());
            (*w).data = self as *const WaitSlot as *mut std::ffi::c_void;
        }
        Ok(self.lp.get_or_init(|| lp))
    }

    fn is_active(&self) -> bool {
        // SAFETY: reading the header of our own watcher.
        unsafe { ffi::ev_is_active(self.io.get()) }
    }

    /// Gives back the loop reference we dropped for a lingering watcher.
    fn restore_ref(&self, lp: &Loop) {
        if self.unrefed.replace(false) {
            // SAFETY: valid loop; balances the ev_unref in `linger`.
            unsafe { ffi::ev_ref(lp.as_ptr()) };
        }
    }

    /// Starts the io watcher (it may still be running from the last wait).
    fn start_io(&self, lp: &Loop) {
        self.restore_ref(lp);
        if !self.is_active() {
            // SAFETY: valid loop; the watcher is initialised (setup_io) and
            // inactive; its fd and events passed check_new_fd_events.
            unsafe { ffi::ev_io_start(lp.as_ptr(), self.io.get()) };
        }
    }

    /// Leaves the io watcher running after a wait, not keeping the loop
    /// alive.
    fn linger(&self) {
        if let Some(lp) = self.lp.get()
            && self.is_active()
            && !self.unrefed.replace(true)
        {
            // SAFETY: valid loop; undone by `restore_ref` before the next
            // start or any stop.
            unsafe { ffi::ev_unref(lp.as_ptr()) };
        }
    }

    /// Stops the io watcher (and clears a pending event of it).
    fn stop_io(&self) {
        if let Some(lp) = self.lp.get() {
            // ev_io_stop drops the reference an active watcher holds: give
            // ours back first. (If libev stopped the watcher itself, on a
            // bad fd, this rebalances the one we dropped.)
            self.restore_ref(lp);
            // SAFETY: valid loop and initialised watcher; stopping is valid
            // in any state.
            unsafe { ffi::ev_io_stop(lp.as_ptr(), self.io.get()) };
        }
    }

    /// The io callback's work, in the hub: wake the waiter, or stop a
    /// lingering watcher that nobody waits on any more.
    fn on_io(&self) {
        if !self.is_active()
            && let Some(lp) = self.lp.get()
        {
            // libev stopped the watcher itself (a bad fd: the event carries
            // EV_ERROR): settle our loop reference.
            self.restore_ref(lp);
        }
        if self.waiter.get().is_null() {
            self.stop_io();
        } else {
            self.fired.set(true);
            self.wake_waiter();
        }
    }

    /// Wakes the waiting greenlet, if any.
    fn wake_waiter(&self) {
        let p = self.waiter.get();
        if !p.is_null() {
            // SAFETY: while `waiter` is set, that greenlet is suspended in
            // `wait` and its state alive (see the field).
            hub::wake_parked(unsafe { &*p }, self.waiter_seq.get());
        }
    }

    fn timer(&self) -> &Timer {
        self.timer.get_or_init(|| {
            let slot = self as *const WaitSlot;
            Timer::new(
                hub_inner().loop_(),
                Duration::ZERO,
                Duration::ZERO,
                move |_, _| {
                    // SAFETY: the timer belongs to the slot, which stops it
                    // before it goes away (Release, Drop) and never moves
                    // while it can be started (see `setup_io`); nothing else
                    // has the timer handle, so this runs only while it is
                    // active, when the slot is alive.
                    unsafe { &*slot }.wake_waiter();
                },
            )
        })
    }

    /// Arms the timeout timer for `d` from now.
    #[inline(never)]
    fn start_timer(&self, d: Duration) -> io::Result<&Timer> {
        let t = self.timer();
        t.set(d, Duration::ZERO)?;
        hub_inner().loop_().now_update();
        t.start()?;
        Ok(t)
    }

    fn stop_watchers(&self) {
        self.stop_io();
        if let Some(t) = self.timer.get() {
            t.stop();
        }
    }

    /// Waits until `fd` is ready for `events`, `timeout` runs out, or
    /// `cancelled()` becomes true (checked after every wake-up).
    ///
    /// `what` describes the operation for a second waiter's error ("read
    /// from", "write to").
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
            return Err(busy_error(fd, what));
        }
        if let Some(e) = cancelled() {
            return Err(e);
        }
        let lp = match self.lp.get() {
            Some(lp) => lp,
            None => self.setup_io(fd, events)?,
        };
        // SAFETY: reading our own watcher's data field.
        debug_assert_eq!(
            unsafe { (*self.io.get()).data } as *const WaitSlot,
            self as *const WaitSlot,
            "a WaitSlot moved after its first wait"
        );
        self.busy.set(true);
        self.fired.set(false);
        let (me, seq) = hub::current_park();
        self.waiter.set(me);
        self.waiter_seq.set(seq);
        let _release = Release(self);
        self.start_io(lp);
        let timer = match timeout {
            Some(d) => Some(self.start_timer(d)?),
            None => None,
        };
        loop {
            if let Some(e) = cancelled() {
                return Err(e);
            }
            if self.fired.get() {
                return Ok(Waited::Ready);
            }
            if timer.is_some_and(|t| !t.is_active()) {
                return Ok(Waited::TimedOut);
            }
            // `check_can_block` ran at the top of this wait.
            hub::park_checked()?;
            // Woken for nothing we wait for: the next park has a new number.
            // SAFETY: `me` is the running greenlet's live state.
            self.waiter_seq.set(unsafe { (*me).park_seq.get() });
        }
    }

    /// Stops the watchers and wakes the waiter, if any, which then sees its
    /// `cancelled()` condition (the socket was closed).
    pub(crate) fn cancel(&self) {
        self.stop_watchers();
        self.wake_waiter();
    }
}

/// The error of a second greenlet trying to wait in a busy slot.
#[cold]
#[inline(never)]
fn busy_error(fd: RawFd, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::ResourceBusy,
        format!(
            "another greenlet is already waiting to {what} on this socket (fd {fd}); \
             use one greenlet per direction, or try_clone() the socket"
        ),
    )
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        // Explicit, so the watchers are stopped before the owner closes the
        // fd, and before the memory libev points into goes away.
        self.stop_watchers();
    }
}
