//! The event bits libev reports to callbacks.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use libev_sys as ffi;

/// A set of libev event bits: what a callback was invoked for, or what an io
/// watcher waits for.
///
/// # Examples
///
/// ```
/// use gevent::core::Events;
/// let e = Events::READ | Events::WRITE;
/// assert!(e.contains(Events::READ));
/// assert_eq!(format!("{e:?}"), "Events(READ | WRITE)");
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Events(i32);

// Hand-rolled rather than a `bitflags` type (the resolver's flags are
// one): chosen to keep this core-layer API as it is. libev passes bits
// that have no constant here through callbacks (`EV_CUSTOM`, internal
// ones), so `from_bits` must stay infallible and `const` (bitflags' is
// `Option`), and the type has nothing else bitflags would replace. No
// figure was measured for a switch: both are an `i32` newtype.

impl Events {
    /// No events.
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert!(Events::NONE.is_empty());
    /// assert_eq!(Events::default(), Events::NONE);
    /// ```
    pub const NONE: Events = Events(ffi::EV_NONE);
    /// The file descriptor is readable (`EV_READ`).
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// use std::io::Write;
    /// use std::os::{fd::AsRawFd, unix::net::UnixStream};
    /// let lp = Loop::new()?;
    /// let (a, mut b) = UnixStream::pair()?;
    /// b.write_all(b"x")?;
    /// let io = Io::new(&lp, a.as_raw_fd(), Events::READ, |w, ev| {
    ///     assert!(ev.contains(Events::READ));
    ///     w.stop();
    /// })?;
    /// io.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const READ: Events = Events(ffi::EV_READ);
    /// The file descriptor is writable (`EV_WRITE`).
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// use std::io::Write;
    /// use std::os::{fd::AsRawFd, unix::net::UnixStream};
    /// let lp = Loop::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let io = Io::new(&lp, a.as_raw_fd(), Events::WRITE, |w, ev| {
    ///     assert!(ev.contains(Events::WRITE)); // an empty socket buffer: writable
    ///     w.stop();
    /// })?;
    /// io.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const WRITE: Events = Events(ffi::EV_WRITE);
    /// A timer fired (`EV_TIMER`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Timer};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, ev| assert_eq!(ev, Events::TIMER));
    /// t.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const TIMER: Events = Events(ffi::EV_TIMER);
    /// A periodic fired (`EV_PERIODIC`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Periodic};
    /// let lp = Loop::new()?;
    /// let p = Periodic::new(&lp, lp.now(), 0.0, |_, ev| assert_eq!(ev, Events::PERIODIC))?;
    /// p.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const PERIODIC: Events = Events(ffi::EV_PERIODIC);
    /// A signal arrived (`EV_SIGNAL`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Signal};
    /// let lp = Loop::new()?;
    /// let s = Signal::new(&lp, libc::SIGUSR1, |w, ev| {
    ///     assert_eq!(ev, Events::SIGNAL);
    ///     w.stop();
    /// })?;
    /// s.start()?;
    /// lp.feed_signal_event(libc::SIGUSR1)?; // as if the signal had arrived
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const SIGNAL: Events = Events(ffi::EV_SIGNAL);
    /// A child changed status (`EV_CHILD`).
    ///
    /// ```
    /// use gevent::core::{Child, Events, Loop};
    /// let lp = Loop::default_loop()?; // child watchers live on the default loop
    /// let child = std::process::Command::new("true").spawn()?;
    /// let w = Child::new(&lp, child.id() as i32, false, |w, ev| {
    ///     assert_eq!(ev, Events::CHILD);
    ///     w.stop();
    /// })?;
    /// w.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const CHILD: Events = Events(ffi::EV_CHILD);
    /// A path's attributes changed (`EV_STAT`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Stat};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// let path = std::env::temp_dir().join(format!("gevent-doc-stat-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let w = Stat::new(&lp, &path, Duration::from_millis(10), |w, ev| {
    ///     assert_eq!(ev, Events::STAT);
    ///     w.stop();
    /// })?;
    /// w.start()?;
    /// std::fs::write(&path, b"now it exists")?;
    /// lp.run(); // returns once the change was seen and the watcher stopped
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const STAT: Events = Events(ffi::EV_STAT);
    /// The loop is idle (`EV_IDLE`).
    ///
    /// ```
    /// use gevent::core::{Events, Idle, Loop};
    /// let lp = Loop::new()?;
    /// let w = Idle::new(&lp, |w, ev| {
    ///     assert_eq!(ev, Events::IDLE);
    ///     w.stop();
    /// });
    /// w.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const IDLE: Events = Events(ffi::EV_IDLE);
    /// The loop is about to block (`EV_PREPARE`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Prepare};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let w = Prepare::new(&lp, move |_, ev| s.set(ev));
    /// w.start()?;
    /// lp.run_nowait();
    /// assert_eq!(seen.get(), Events::PREPARE);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const PREPARE: Events = Events(ffi::EV_PREPARE);
    /// The loop has just woken up (`EV_CHECK`).
    ///
    /// ```
    /// use gevent::core::{Check, Events, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let w = Check::new(&lp, move |_, ev| s.set(ev));
    /// w.start()?;
    /// lp.run_nowait();
    /// assert_eq!(seen.get(), Events::CHECK);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const CHECK: Events = Events(ffi::EV_CHECK);
    /// An embedded loop needs sweeping (`EV_EMBED`).
    ///
    /// ```
    /// use gevent::core::{Embed, Events, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let outer = Loop::new()?;
    /// # let Some(b) = Loop::embeddable_backends().iter().find(|b| Loop::with_backend(*b).is_ok()) else { return Ok(()) };
    /// let inner = Loop::with_backend(b)?; // an embeddable backend
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let e = Embed::new(&outer, &inner, Some(move |e: &Embed, ev: Events| {
    ///     s.set(ev);
    ///     e.sweep();
    /// }))?;
    /// e.invoke(Events::EMBED); // what libev passes when the inner loop has events
    /// assert_eq!(seen.get(), Events::EMBED);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const EMBED: Events = Events(ffi::EV_EMBED);
    /// The process forked (`EV_FORK`).
    ///
    /// ```
    /// use gevent::core::{Events, Fork, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let w = Fork::new(&lp, move |_, ev| s.set(ev));
    /// w.start()?;
    /// lp.loop_fork(); // what a forked child does before reusing the loop
    /// lp.run_nowait();
    /// assert_eq!(seen.get(), Events::FORK);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const FORK: Events = Events(ffi::EV_FORK);
    /// The loop is being destroyed (`EV_CLEANUP`).
    ///
    /// ```
    /// use gevent::core::{Cleanup, Events, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let w = Cleanup::new(&lp, move |_, ev| s.set(ev));
    /// w.invoke(Events::CLEANUP); // libev passes this when the loop is destroyed
    /// assert_eq!(seen.get(), Events::CLEANUP);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const CLEANUP: Events = Events(ffi::EV_CLEANUP);
    /// An async watcher was sent to (`EV_ASYNC`).
    ///
    /// ```
    /// use gevent::core::{Async, Events, Loop};
    /// let lp = Loop::new()?;
    /// let w = Async::new(&lp, |w, ev| {
    ///     assert_eq!(ev, Events::ASYNC);
    ///     w.stop();
    /// });
    /// w.start()?;
    /// let sender = w.sender(); // Send: usable from any thread
    /// std::thread::spawn(move || sender.send()).join().unwrap()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const ASYNC: Events = Events(ffi::EV_ASYNC);
    /// A user-defined event (`EV_CUSTOM`), for [`feed`](super::Io::feed).
    ///
    /// ```
    /// use gevent::core::{Events, Idle, Loop};
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = Loop::new()?;
    /// let seen = Rc::new(Cell::new(Events::NONE));
    /// let s = seen.clone();
    /// let w = Idle::new(&lp, move |_, ev| s.set(ev));
    /// w.feed(Events::CUSTOM);
    /// lp.run_nowait();
    /// assert_eq!(seen.get(), Events::CUSTOM);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const CUSTOM: Events = Events(ffi::EV_CUSTOM);
    /// libev stopped the watcher because of an error, such as a closed fd
    /// (`EV_ERROR`).
    ///
    /// ```
    /// use gevent::core::{Events, Loop, Timer};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, ev| {
    ///     if ev.contains(Events::ERROR) {
    ///         eprintln!("libev stopped the watcher");
    ///     } else {
    ///         assert_eq!(ev, Events::TIMER);
    ///     }
    /// });
    /// t.start()?;
    /// lp.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const ERROR: Events = Events(ffi::EV_ERROR);

    const NAMES: [(Events, &'static str); 17] = [
        (Events::READ, "READ"),
        (Events::WRITE, "WRITE"),
        (Events::TIMER, "TIMER"),
        (Events::PERIODIC, "PERIODIC"),
        (Events::SIGNAL, "SIGNAL"),
        (Events::CHILD, "CHILD"),
        (Events::STAT, "STAT"),
        (Events::IDLE, "IDLE"),
        (Events::PREPARE, "PREPARE"),
        (Events::CHECK, "CHECK"),
        (Events::EMBED, "EMBED"),
        (Events::FORK, "FORK"),
        (Events::CLEANUP, "CLEANUP"),
        (Events::ASYNC, "ASYNC"),
        (Events::CUSTOM, "CUSTOM"),
        (Events::ERROR, "ERROR"),
        (Events::NONE, "NONE"),
    ];

    /// The raw bits.
    ///
    /// ```
    /// assert_eq!(gevent::core::Events::READ.bits(), 1);
    /// ```
    pub const fn bits(self) -> i32 {
        self.0
    }

    /// Builds a set from raw bits (unknown bits are kept as they are).
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert_eq!(Events::from_bits(3), Events::READ | Events::WRITE);
    /// ```
    pub const fn from_bits(bits: i32) -> Events {
        Events(bits)
    }

    /// Whether every bit of `other` is set in `self`.
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert!((Events::READ | Events::WRITE).contains(Events::WRITE));
    /// ```
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert!(Events::READ.intersects(Events::READ | Events::WRITE));
    /// ```
    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no bit is set.
    ///
    /// ```
    /// assert!(gevent::core::Events::NONE.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Events {
    type Output = Events;
    fn bitor(self, rhs: Events) -> Events {
        Events(self.0 | rhs.0)
    }
}

impl BitOrAssign for Events {
    fn bitor_assign(&mut self, rhs: Events) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Events {
    type Output = Events;
    fn bitand(self, rhs: Events) -> Events {
        Events(self.0 & rhs.0)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Events(")?;
        if self.0 == 0 {
            f.write_str("NONE")?;
        } else {
            let mut rest = self.0;
            let mut first = true;
            for (e, name) in Events::NAMES.iter() {
                if e.0 != 0 && rest & e.0 == e.0 {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    f.write_str(name)?;
                    first = false;
                    rest &= !e.0;
                }
            }
            if rest != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                write!(f, "{rest:#x}")?;
            }
        }
        f.write_str(")")
    }
}
