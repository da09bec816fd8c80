//! [`Io`]: readiness of a file descriptor.

use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

/// Checks an fd and an io event mask the way libev would assert on them.
pub(crate) fn check_fd_events(fd: RawFd, events: Events) -> io::Result<()> {
    if fd < 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid file descriptor {fd}: must not be negative"),
        ));
    }
    if events.bits() & !(ffi::EV_READ | ffi::EV_WRITE) != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid io event mask {events:?}: only READ and WRITE are allowed"),
        ));
    }
    Ok(())
}

watcher_kind!(IoKind, Io, ffi::ev_io, "io", ffi::ev_io_start, ffi::ev_io_stop;
    fn before_start(w: &WatcherCell<Self>) -> io::Result<()> {
        // SAFETY: reading fields of our own struct.
        let (fd, ev) = unsafe { ((*w.raw()).fd, (*w.raw()).events & !ffi::EV__IOFDSET) };
        // A closed fd is not an assertion in libev: the backend reports
        // EBADF and libev stops the watcher with EV_ERROR.
        check_fd_events(fd, Events::from_bits(ev))
    }
);

/// An io watcher: calls back when a file descriptor becomes readable and/or
/// writable (`ev_io`).
///
/// Level-triggered, as libev is: the callback keeps firing while the
/// condition holds. If the fd is closed behind libev's back, the watcher is
/// stopped by libev and the callback gets [`Events::ERROR`].
///
/// # Examples
///
/// ```
/// use gevent::core::{Events, Io, Loop};
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
///
/// let lp = Loop::new()?;
/// let (a, mut b) = UnixStream::pair()?;
/// let w = Io::new(&lp, a.as_raw_fd(), Events::READ, |w, ev| {
///     assert!(ev.contains(Events::READ));
///     w.stop();
/// })?;
/// w.start()?;
/// b.write_all(b"ping")?;
/// lp.run();
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Io {
    inner: Rc<WatcherCell<IoKind>>,
}

impl Io {
    /// Creates a stopped io watcher for `fd` and `events` (`READ`, `WRITE`
    /// or both).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative fd or event bits other than READ/WRITE.
    /// A watcher on an fd that is not open gets [`Events::ERROR`] once
    /// started, and libev stops it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let lp = Loop::new()?;
    /// assert!(Io::new(&lp, -1, Events::READ, |_, _| {}).is_err());
    /// assert!(Io::new(&lp, 0, Events::TIMER, |_, _| {}).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Io, Events) + 'static>(
        lp: &Loop,
        fd: RawFd,
        events: Events,
        cb: F,
    ) -> io::Result<Io> {
        check_fd_events(fd, events)?;
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher.
            unsafe { ffi::ev_io_set(w, fd, events.bits()) }
        });
        Ok(Io { inner })
    }

    /// The watched file descriptor.
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let w = Io::new(&Loop::new()?, 0, Events::READ, |_, _| {})?;
    /// assert_eq!(w.fd(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        // SAFETY: reading our own struct.
        unsafe { (*self.inner.raw()).fd }
    }

    /// The events waited for.
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let w = Io::new(&Loop::new()?, 0, Events::READ, |_, _| {})?;
    /// assert_eq!(w.events(), Events::READ);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn events(&self) -> Events {
        // SAFETY: reading our own struct.
        Events::from_bits(unsafe { (*self.inner.raw()).events } & !ffi::EV__IOFDSET)
    }

    /// Changes fd and events (`ev_io_set`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the watcher is active or the arguments are invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let w = Io::new(&Loop::new()?, 0, Events::READ, |_, _| {})?;
    /// w.set(1, Events::WRITE)?;
    /// assert_eq!((w.fd(), w.events()), (1, Events::WRITE));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set(&self, fd: RawFd, events: Events) -> io::Result<()> {
        check_fd_events(fd, events)?;
        self.inner.ensure_inactive("change the fd")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_io_set(self.inner.raw(), fd, events.bits()) };
        Ok(())
    }

    /// Changes only the events (`ev_io_modify`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the watcher is active or the events are invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let w = Io::new(&Loop::new()?, 0, Events::READ, |_, _| {})?;
    /// w.set_events(Events::READ | Events::WRITE)?;
    /// assert_eq!(w.events(), Events::READ | Events::WRITE);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_events(&self, events: Events) -> io::Result<()> {
        check_fd_events(self.fd(), events)?;
        self.inner.ensure_inactive("change the events")?;
        // SAFETY: inactive watcher.
        unsafe { ffi::ev_io_modify(self.inner.raw(), events.bits()) };
        Ok(())
    }
}

common_methods!(
    Io,
    "# let lp = Loop::new()?;\n# use std::os::fd::AsRawFd;\n# let (a, _b) = std::os::unix::net::UnixStream::pair()?;\n",
    "Io::new(&lp, a.as_raw_fd(), Events::READ, |_, _| {})?"
);
