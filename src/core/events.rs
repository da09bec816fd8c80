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

impl Events {
    /// No events.
    pub const NONE: Events = Events(ffi::EV_NONE);
    /// The file descriptor is readable (`EV_READ`).
    pub const READ: Events = Events(ffi::EV_READ);
    /// The file descriptor is writable (`EV_WRITE`).
    pub const WRITE: Events = Events(ffi::EV_WRITE);
    /// A timer fired (`EV_TIMER`).
    pub const TIMER: Events = Events(ffi::EV_TIMER);
    /// A periodic fired (`EV_PERIODIC`).
    pub const PERIODIC: Events = Events(ffi::EV_PERIODIC);
    /// A signal arrived (`EV_SIGNAL`).
    pub const SIGNAL: Events = Events(ffi::EV_SIGNAL);
    /// A child changed status (`EV_CHILD`).
    pub const CHILD: Events = Events(ffi::EV_CHILD);
    /// A path's attributes changed (`EV_STAT`).
    pub const STAT: Events = Events(ffi::EV_STAT);
    /// The loop is idle (`EV_IDLE`).
    pub const IDLE: Events = Events(ffi::EV_IDLE);
    /// The loop is about to block (`EV_PREPARE`).
    pub const PREPARE: Events = Events(ffi::EV_PREPARE);
    /// The loop has just woken up (`EV_CHECK`).
    pub const CHECK: Events = Events(ffi::EV_CHECK);
    /// An embedded loop needs sweeping (`EV_EMBED`).
    pub const EMBED: Events = Events(ffi::EV_EMBED);
    /// The process forked (`EV_FORK`).
    pub const FORK: Events = Events(ffi::EV_FORK);
    /// The loop is being destroyed (`EV_CLEANUP`).
    pub const CLEANUP: Events = Events(ffi::EV_CLEANUP);
    /// An async watcher was sent to (`EV_ASYNC`).
    pub const ASYNC: Events = Events(ffi::EV_ASYNC);
    /// A user-defined event (`EV_CUSTOM`), for [`feed`](super::Io::feed).
    pub const CUSTOM: Events = Events(ffi::EV_CUSTOM);
    /// libev stopped the watcher because of an error, such as a closed fd
    /// (`EV_ERROR`).
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
