//! [`PollFd`]: one entry of [`poll`](super::poll).

use std::fmt;
use std::os::fd::RawFd;

use crate::core::Events;

/// A descriptor, the events to wait for, and (after
/// [`poll`](super::poll)) the events that happened, like `struct pollfd`.
///
/// # Examples
///
/// ```
/// use gevent::core::Events;
/// use gevent::net::PollFd;
/// let p = PollFd::new(0, Events::READ);
/// assert_eq!((p.fd(), p.events(), p.revents()), (0, Events::READ, Events::NONE));
/// ```
#[derive(Copy, Clone)]
pub struct PollFd {
    pub(crate) raw: libc::pollfd,
}

impl PollFd {
    /// An entry waiting on `fd` for `events` (`READ`, `WRITE` or both;
    /// other bits are ignored). A negative `fd` is skipped by
    /// [`poll`](super::poll), as by `poll(2)`.
    ///
    /// ```
    /// use gevent::core::Events;
    /// let p = gevent::net::PollFd::new(3, Events::READ | Events::WRITE);
    /// assert_eq!(p.events(), Events::READ | Events::WRITE);
    /// ```
    pub fn new(fd: RawFd, events: Events) -> PollFd {
        let mut e = 0;
        if events.contains(Events::READ) {
            e |= libc::POLLIN;
        }
        if events.contains(Events::WRITE) {
            e |= libc::POLLOUT;
        }
        PollFd {
            raw: libc::pollfd {
                fd,
                events: e,
                revents: 0,
            },
        }
    }

    /// The descriptor.
    ///
    /// ```
    /// assert_eq!(gevent::net::PollFd::new(7, gevent::core::Events::READ).fd(), 7);
    /// ```
    pub fn fd(&self) -> RawFd {
        self.raw.fd
    }

    /// The events waited for.
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert_eq!(gevent::net::PollFd::new(7, Events::WRITE).events(), Events::WRITE);
    /// ```
    pub fn events(&self) -> Events {
        let mut e = Events::NONE;
        if self.raw.events & libc::POLLIN != 0 {
            e |= Events::READ;
        }
        if self.raw.events & libc::POLLOUT != 0 {
            e |= Events::WRITE;
        }
        e
    }

    /// What happened, as `Events`: `READ` for readable, end of file or
    /// hang-up, `WRITE` for writable, `ERROR` for an error condition or a
    /// descriptor that is not open.
    ///
    /// ```
    /// use gevent::core::Events;
    /// assert!(gevent::net::PollFd::new(7, Events::READ).revents().is_empty());
    /// ```
    pub fn revents(&self) -> Events {
        let r = self.raw.revents;
        let mut e = Events::NONE;
        if r & (libc::POLLIN | libc::POLLPRI | libc::POLLHUP) != 0 {
            e |= Events::READ;
        }
        if r & libc::POLLOUT != 0 {
            e |= Events::WRITE;
        }
        if r & (libc::POLLERR | libc::POLLNVAL) != 0 {
            e |= Events::ERROR;
        }
        e
    }

    /// Readable (`POLLIN`).
    ///
    /// ```
    /// assert!(!gevent::net::PollFd::new(7, gevent::core::Events::READ).is_readable());
    /// ```
    pub fn is_readable(&self) -> bool {
        self.raw.revents & libc::POLLIN != 0
    }

    /// Writable (`POLLOUT`).
    ///
    /// ```
    /// assert!(!gevent::net::PollFd::new(7, gevent::core::Events::WRITE).is_writable());
    /// ```
    pub fn is_writable(&self) -> bool {
        self.raw.revents & libc::POLLOUT != 0
    }

    /// The peer hung up (`POLLHUP`).
    ///
    /// ```
    /// assert!(!gevent::net::PollFd::new(7, gevent::core::Events::READ).is_hangup());
    /// ```
    pub fn is_hangup(&self) -> bool {
        self.raw.revents & libc::POLLHUP != 0
    }

    /// An error condition (`POLLERR`).
    ///
    /// ```
    /// assert!(!gevent::net::PollFd::new(7, gevent::core::Events::READ).is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        self.raw.revents & libc::POLLERR != 0
    }

    /// The descriptor is not open (`POLLNVAL`).
    ///
    /// ```
    /// assert!(!gevent::net::PollFd::new(7, gevent::core::Events::READ).is_invalid());
    /// ```
    pub fn is_invalid(&self) -> bool {
        self.raw.revents & libc::POLLNVAL != 0
    }
}

impl fmt::Debug for PollFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollFd")
            .field("fd", &self.raw.fd)
            .field("events", &self.events())
            .field("revents", &self.revents())
            .finish()
    }
}
