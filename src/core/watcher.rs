//! The machinery every watcher type shares: a reference-counted, pinned
//! cell holding the libev struct, the Rust callback, keepalive bookkeeping
//! and the `extern "C"` trampoline.
//!
//! Soundness rules, relied on by every watcher type:
//!
//! * The libev struct lives inside an `Rc` allocation, which never moves,
//!   so the pointer libev keeps while the watcher is active stays valid.
//! * The cell keeps its [`Loop`] alive, and dropping the last reference
//!   stops the watcher first, so libev never holds a dangling pointer.
//! * The trampoline holds a strong reference for the duration of the
//!   callback, so a callback may drop the user's handle without freeing
//!   the memory libev is using.
//! * Panics never cross into C: the trampoline catches them, stores them in
//!   the loop and breaks it; [`Loop::run`] resumes them.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::io;
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use libev_sys as ffi;

use super::{Events, Loop};

/// Describes one libev watcher type to the shared machinery.
pub(crate) trait Kind: Sized + 'static {
    /// The libev struct.
    type Raw: ffi::EvWatcher;
    /// The public handle type, a `#[repr(transparent)]` wrapper of `Rc<Cell<Self>>`.
    type Handle;
    /// Short name for messages ("io", "timer", ...).
    const NAME: &'static str;
    /// How many loop references (`ev_ref`) libev takes for one active
    /// watcher of this kind: 1 for most, 0 for cleanup (libev unrefs it
    /// itself), 4 for embed (the watcher plus its internal io, prepare and
    /// fork watchers). Keepalive bookkeeping undoes exactly this many.
    const REFS: u32 = 1;
    /// `ev_TYPE_start`.
    ///
    /// # Safety
    /// Valid loop and watcher; the watcher is initialised.
    unsafe fn start(lp: *mut ffi::ev_loop, w: *mut Self::Raw);
    /// `ev_TYPE_stop`.
    ///
    /// # Safety
    /// Valid loop and watcher.
    unsafe fn stop(lp: *mut ffi::ev_loop, w: *mut Self::Raw);
    /// Checks run before `start`; `Err` keeps libev from asserting.
    fn before_start(_w: &WatcherCell<Self>) -> io::Result<()> {
        Ok(())
    }
    /// Bookkeeping after a successful start.
    fn after_start(_w: &WatcherCell<Self>) {}
    /// Bookkeeping after the watcher was stopped (by us or by libev).
    fn after_stop(_w: &WatcherCell<Self>) {}
    /// Reinterprets a cell reference as the public handle.
    fn handle(rc: &Rc<WatcherCell<Self>>) -> &Self::Handle;
}

type Callback<K> = Box<dyn FnMut(&<K as Kind>::Handle, Events)>;

/// The shared state of one watcher.
pub(crate) struct WatcherCell<K: Kind> {
    pub(crate) lp: Loop,
    raw: UnsafeCell<K::Raw>,
    cb: Cell<Option<Callback<K>>>,
    /// Whether the watcher should keep the loop running (default true).
    keepalive: Cell<bool>,
    /// Whether we currently hold an `ev_unref` for this watcher.
    unrefed: Cell<bool>,
    /// Whether `after_start` ran without a matching `after_stop`.
    started: Cell<bool>,
    /// Owned data the raw struct points into (a path, another loop, ...).
    pub(crate) extra: RefCell<Option<Box<dyn Any>>>,
}

impl<K: Kind> WatcherCell<K> {
    /// Allocates a watcher. `init` fills in the type-specific fields of the
    /// zeroed raw struct; the common header is set up here.
    pub(crate) fn new(
        lp: &Loop,
        cb: Option<Callback<K>>,
        init: impl FnOnce(*mut K::Raw),
    ) -> Rc<WatcherCell<K>> {
        let rc = Rc::new(WatcherCell {
            lp: lp.clone(),
            // SAFETY: every libev watcher struct is plain old data for
            // which all-zero bytes are a valid (inactive) state.
            raw: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            cb: Cell::new(cb),
            keepalive: Cell::new(true),
            unrefed: Cell::new(false),
            started: Cell::new(false),
            extra: RefCell::new(None),
        });
        let raw = rc.raw.get();
        // SAFETY: `raw` is valid, inactive and not shared with libev yet;
        // the data pointer is the cell's stable Rc address.
        unsafe {
            ffi::ev_init(raw, Some(trampoline::<K>));
            ffi::ev_set_data(raw, Rc::as_ptr(&rc) as *mut std::ffi::c_void);
        }
        init(raw);
        rc
    }

    /// The raw libev struct. Mutating it is only allowed while inactive.
    pub(crate) fn raw(&self) -> *mut K::Raw {
        self.raw.get()
    }

    pub(crate) fn is_active(&self) -> bool {
        // SAFETY: valid pointer; reading the header is always allowed.
        unsafe { ffi::ev_is_active(self.raw()) }
    }

    pub(crate) fn is_pending(&self) -> bool {
        // SAFETY: as above.
        unsafe { ffi::ev_is_pending(self.raw()) }
    }

    /// Fails with a clear error if the watcher is active (libev forbids
    /// changing an active watcher's parameters).
    pub(crate) fn ensure_inactive(&self, what: &str) -> io::Result<()> {
        if self.is_active() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot {what} while the {} watcher is active; stop it first",
                    K::NAME
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn start(&self) -> io::Result<()> {
        if self.is_active() {
            return Ok(());
        }
        // libev may have stopped it (a fired one-shot timer) without the
        // callback having run yet: settle that first, or the old unref and
        // the old after_start would never be balanced.
        self.sync_after_libev_stop();
        K::before_start(self)?;
        // SAFETY: valid loop and initialised watcher; before_start checked
        // everything libev asserts on.
        unsafe { K::start(self.lp.as_ptr(), self.raw()) };
        self.started.set(true);
        K::after_start(self);
        if !self.keepalive.get() && self.is_active() {
            self.unref_loop();
        }
        Ok(())
    }

    /// Removes the loop references an active watcher of this kind holds.
    fn unref_loop(&self) {
        for _ in 0..K::REFS {
            // SAFETY: valid loop pointer; balanced by ref_loop.
            unsafe { ffi::ev_unref(self.lp.as_ptr()) };
        }
        self.unrefed.set(true);
    }

    pub(crate) fn stop(&self) {
        self.restore_ref();
        // SAFETY: stopping is valid in any state and also clears a pending event.
        unsafe { K::stop(self.lp.as_ptr(), self.raw()) };
        self.note_stopped();
    }

    fn note_stopped(&self) {
        if self.started.replace(false) {
            K::after_stop(self);
        }
    }

    /// Re-adds the reference we removed for a non-keepalive watcher, if we
    /// hold one. Needed before stopping and when libev stopped it itself.
    fn restore_ref(&self) {
        if self.unrefed.replace(false) {
            for _ in 0..K::REFS {
                // SAFETY: valid loop pointer; balances our earlier ev_unref.
                unsafe { ffi::ev_ref(self.lp.as_ptr()) };
            }
        }
    }

    /// libev may stop a watcher by itself (a one-shot timer that fired, an
    /// io watcher on a bad fd): bring our bookkeeping in line.
    fn sync_after_libev_stop(&self) {
        if !self.is_active() {
            self.restore_ref();
            self.note_stopped();
        }
    }

    /// Runs a libev call that may start or stop the watcher by itself
    /// (`ev_timer_again`, `ev_periodic_again`), keeping our bookkeeping right.
    pub(crate) fn restart_with(&self, f: impl FnOnce(*mut ffi::ev_loop, *mut K::Raw)) {
        self.restore_ref();
        f(self.lp.as_ptr(), self.raw());
        if self.is_active() {
            if !self.started.replace(true) {
                K::after_start(self);
            }
            if !self.keepalive.get() {
                self.unref_loop();
            }
        } else {
            self.note_stopped();
        }
    }

    pub(crate) fn keepalive(&self) -> bool {
        self.keepalive.get()
    }

    pub(crate) fn set_keepalive(&self, keep: bool) {
        self.keepalive.set(keep);
        if self.is_active() {
            if keep {
                self.restore_ref();
            } else if !self.unrefed.get() {
                self.unref_loop();
            }
        }
    }

    pub(crate) fn priority(&self) -> i32 {
        // SAFETY: valid pointer.
        unsafe { ffi::ev_priority(self.raw()) }
    }

    pub(crate) fn set_priority(&self, pri: i32) -> io::Result<()> {
        if !(ffi::EV_MINPRI..=ffi::EV_MAXPRI).contains(&pri) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "priority {pri} out of range {}..={}",
                    ffi::EV_MINPRI,
                    ffi::EV_MAXPRI
                ),
            ));
        }
        if self.is_active() || self.is_pending() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot change the priority of an active or pending {} watcher",
                    K::NAME
                ),
            ));
        }
        // SAFETY: inactive and not pending, as libev requires.
        unsafe { ffi::ev_set_priority(self.raw(), pri) };
        Ok(())
    }

    /// Whether libev has a callback to call: false only for an embed
    /// watcher made without one (libev then sweeps the embedded loop
    /// itself), whose callback pointer is NULL.
    fn has_raw_callback(&self) -> bool {
        // SAFETY: valid pointer; reading the header is always allowed.
        unsafe { ffi::ev_cb(self.raw()).is_some() }
    }

    pub(crate) fn feed(&self, events: Events) {
        if !self.has_raw_callback() {
            // libev would call the NULL callback: nothing to feed.
            return;
        }
        // SAFETY: valid loop and watcher; feeding is allowed in any state.
        unsafe {
            ffi::ev_feed_event(
                self.lp.as_ptr(),
                self.raw() as *mut std::ffi::c_void,
                events.bits(),
            )
        }
    }

    pub(crate) fn invoke(&self, events: Events) {
        if !self.has_raw_callback() {
            // libev would call the NULL callback: nothing to invoke.
            return;
        }
        // SAFETY: valid loop and watcher; the trampoline catches panics.
        unsafe {
            ffi::ev_invoke(
                self.lp.as_ptr(),
                self.raw() as *mut std::ffi::c_void,
                events.bits(),
            )
        };
        self.lp.resume_panic();
    }

    pub(crate) fn clear_pending(&self) -> Events {
        // SAFETY: valid loop and watcher.
        let ev = Events::from_bits(unsafe {
            ffi::ev_clear_pending(self.lp.as_ptr(), self.raw() as *mut std::ffi::c_void)
        });
        // The callback will not run now, so it cannot settle a stop libev
        // made by itself (a fired one-shot timer): do it here.
        self.sync_after_libev_stop();
        ev
    }

    pub(crate) fn set_callback(&self, cb: Option<Callback<K>>) {
        drop(self.cb.replace(cb));
    }

    /// Runs the callback; called by the trampoline with a strong reference.
    fn dispatch(self: &Rc<Self>, revents: c_int) {
        self.sync_after_libev_stop();
        if let Some(mut cb) = self.cb.take() {
            cb(K::handle(self), Events::from_bits(revents));
            // Put it back unless the callback installed a new one.
            let newer = self.cb.take();
            self.cb.set(Some(newer.unwrap_or(cb)));
        }
    }
}

impl<K: Kind> Drop for WatcherCell<K> {
    fn drop(&mut self) {
        self.stop();
    }
}

unsafe extern "C" fn trampoline<K: Kind>(lp: *mut ffi::ev_loop, w: *mut K::Raw, revents: c_int) {
    // SAFETY: `data` was set to the cell's Rc pointer in `new`, and the cell
    // is alive: dropping it stops the watcher, after which libev no longer
    // invokes it. Taking a strong reference keeps it alive for the call.
    let cell: Rc<WatcherCell<K>> = unsafe {
        let ptr = (*(w as *mut ffi::ev_watcher)).data as *const WatcherCell<K>;
        Rc::increment_strong_count(ptr);
        Rc::from_raw(ptr)
    };
    let lp_handle = cell.lp.clone();
    let result = catch_unwind(AssertUnwindSafe(move || {
        cell.dispatch(revents);
        // Dropping may run the user's destructors (a dropped handle's last
        // reference): keep that inside catch_unwind too.
        drop(cell);
    }));
    if let Err(payload) = result {
        debug_assert_eq!(lp, lp_handle.as_ptr());
        lp_handle.store_panic(payload);
    }
}

/// The doc example of a shared watcher method: `$setup` (hidden lines that
/// define `lp` and what the constructor needs), then `let w = $ctor;`, then
/// the method-specific `$body`. Every watcher type passes its own setup and
/// constructor to [`common_methods`], so each type's page shows (and
/// tests) the example with that type.
macro_rules! watcher_example {
    ($setup:literal, $ctor:literal, $body:literal) => {
        concat!(
            "# Examples\n\n```\n",
            "# fn main() -> std::io::Result<()> {\n",
            "# use gevent::core::*;\n",
            "# use std::time::Duration;\n",
            "# use std::{cell::Cell, rc::Rc};\n",
            $setup,
            "let w = ",
            $ctor,
            ";\n",
            $body,
            "# Ok(())\n",
            "# }\n",
            "```"
        )
    };
}
pub(crate) use watcher_example;

/// Generates the methods every watcher handle shares. `$setup` and `$ctor`
/// make the doc examples (see [`watcher_example`]).
macro_rules! common_methods {
    ($t:ident, $setup:literal, $ctor:literal) => {
        impl $t {
            /// Starts the watcher (`ev_TYPE_start`); starting an active
            /// watcher does nothing.
            ///
            /// # Errors
            ///
            /// Whatever libev would `assert` on is reported instead
            /// (`ErrorKind::InvalidInput` and friends, with a message).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "w.start()?;\nassert!(w.is_active());\nw.start()?; // already active: nothing happens\nw.stop();\n")]
            pub fn start(&self) -> std::io::Result<()> {
                self.inner.start()
            }

            /// Stops the watcher (`ev_TYPE_stop`) and clears a pending
            /// event; stopping an inactive watcher does nothing.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "w.start()?;\nw.stop();\nassert!(!w.is_active());\nw.stop(); // already stopped: nothing happens\n")]
            pub fn stop(&self) {
                self.inner.stop()
            }

            /// Whether the watcher is started (`ev_is_active`).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "assert!(!w.is_active());\nw.start()?;\nassert!(w.is_active());\n")]
            pub fn is_active(&self) -> bool {
                self.inner.is_active()
            }

            /// Whether an event is waiting for the callback (`ev_is_pending`).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "assert!(!w.is_pending());\nw.feed(Events::CUSTOM);\nassert!(w.is_pending());\nw.clear_pending();\nassert!(!w.is_pending());\n")]
            pub fn is_pending(&self) -> bool {
                self.inner.is_pending()
            }

            /// The watcher's priority, `-2..=2` (`ev_priority`).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "assert_eq!(w.priority(), 0);\nw.set_priority(2)?;\nassert_eq!(w.priority(), 2);\n")]
            pub fn priority(&self) -> i32 {
                self.inner.priority()
            }

            /// Sets the priority (`ev_set_priority`).
            ///
            /// # Errors
            ///
            /// `InvalidInput` if `pri` is outside `-2..=2` or the watcher is
            /// active or pending.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "w.set_priority(-2)?;\nassert!(w.set_priority(3).is_err()); // out of range\nw.start()?;\nassert!(w.set_priority(1).is_err()); // active\nw.stop();\nw.set_priority(1)?;\n")]
            pub fn set_priority(&self, pri: i32) -> std::io::Result<()> {
                self.inner.set_priority(pri)
            }

            /// Makes the callback run as if `events` happened, at the next
            /// chance the loop gets (`ev_feed_event`). Does nothing for an
            /// [`Embed`](crate::core::Embed) made without a callback.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "let got = Rc::new(Cell::new(Events::NONE));\nlet g = got.clone();\nw.set_callback(move |_, ev| g.set(ev));\nw.feed(Events::CUSTOM);\nassert_eq!(got.get(), Events::NONE); // not yet: at the next iteration\nlp.run_nowait();\nassert_eq!(got.get(), Events::CUSTOM);\n")]
            pub fn feed(&self, events: $crate::core::Events) {
                self.inner.feed(events)
            }

            /// Calls the callback right now with `events` (`ev_invoke`). Does
            /// nothing for an [`Embed`](crate::core::Embed) made without a
            /// callback.
            ///
            /// # Panics
            ///
            /// Resumes a panic raised by the callback.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "let hits = Rc::new(Cell::new(0));\nlet h = hits.clone();\nw.set_callback(move |_, _| h.set(h.get() + 1));\nw.invoke(Events::CUSTOM);\nassert_eq!(hits.get(), 1);\n")]
            pub fn invoke(&self, events: $crate::core::Events) {
                self.inner.invoke(events)
            }

            /// Clears a pending event and returns its bits (`ev_clear_pending`).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "w.feed(Events::CUSTOM);\nassert_eq!(w.clear_pending(), Events::CUSTOM);\nassert!(!w.is_pending());\nassert_eq!(w.clear_pending(), Events::NONE);\n")]
            pub fn clear_pending(&self) -> $crate::core::Events {
                self.inner.clear_pending()
            }

            /// Whether the watcher keeps [`Loop::run`](crate::core::Loop::run)
            /// from returning (default `true`).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "assert!(w.keepalive());\nw.set_keepalive(false);\nassert!(!w.keepalive());\n")]
            pub fn keepalive(&self) -> bool {
                self.inner.keepalive()
            }

            /// Chooses whether the active watcher keeps the loop running
            /// (`ev_ref`/`ev_unref`, kept balanced even when libev stops the
            /// watcher by itself, as it does with a one-shot timer).
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "w.set_keepalive(false);\nw.start()?;\n// Nothing else keeps the loop running, so this returns at once.\nlp.run();\nassert!(w.is_active());\n")]
            pub fn set_keepalive(&self, keep: bool) {
                self.inner.set_keepalive(keep)
            }

            /// Replaces the callback.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "let last = Rc::new(Cell::new(Events::NONE));\nlet l = last.clone();\nw.set_callback(move |_, ev| l.set(ev));\nw.invoke(Events::CUSTOM);\nassert_eq!(last.get(), Events::CUSTOM);\n")]
            pub fn set_callback<F: FnMut(&$t, $crate::core::Events) + 'static>(&self, cb: F) {
                self.inner.set_callback(Some(Box::new(cb)))
            }

            /// The loop this watcher belongs to.
            ///
            #[doc = $crate::core::watcher::watcher_example!($setup, $ctor, "assert_eq!(w.loop_().as_ptr(), lp.as_ptr());\n")]
            pub fn loop_(&self) -> &$crate::core::Loop {
                &self.inner.lp
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("active", &self.is_active())
                    .field("pending", &self.is_pending())
                    .field("priority", &self.priority())
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use common_methods;

/// Generates the `Kind` marker type and trait impl for a watcher type.
macro_rules! watcher_kind {
    ($kind:ident, $t:ident, $raw:ty, $name:literal, $start:path, $stop:path $(; $($body:tt)*)?) => {
        pub(crate) struct $kind;
        impl $crate::core::watcher::Kind for $kind {
            type Raw = $raw;
            type Handle = $t;
            const NAME: &'static str = $name;
            unsafe fn start(lp: *mut libev_sys::ev_loop, w: *mut $raw) {
                // SAFETY: forwarded contract.
                unsafe { $start(lp, w) }
            }
            unsafe fn stop(lp: *mut libev_sys::ev_loop, w: *mut $raw) {
                // SAFETY: forwarded contract.
                unsafe { $stop(lp, w) }
            }
            fn handle(rc: &std::rc::Rc<$crate::core::watcher::WatcherCell<Self>>) -> &$t {
                // SAFETY: $t is #[repr(transparent)] over exactly this Rc.
                unsafe { &*(rc as *const std::rc::Rc<$crate::core::watcher::WatcherCell<Self>> as *const $t) }
            }
            $($($body)*)?
        }
    };
}
pub(crate) use watcher_kind;
