//! [`Io`]: readiness of a file descriptor.

use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

/// The absolute ceiling on file descriptor numbers handed to libev:
/// 2^24 (16,777,216). libev sizes its per-loop fd table (and the poll,
/// select and linuxaio backends their own arrays) by the highest fd number
/// it has seen, at 16 bytes or more per entry, so one watcher on fd 2^28
/// makes it allocate gigabytes (a crash when that fails, a hang while the
/// system swaps). No process reaches 2^24 open files under Linux's default
/// `fs.nr_open` (2^20).
pub(crate) const FD_CEILING: RawFd = 1 << 24;

/// The highest fd number (exclusive) a loop may be asked to index: the
/// process's hard `RLIMIT_NOFILE` (every fd the process can have opened is
/// below its soft limit, which cannot exceed the hard one), capped at
/// [`FD_CEILING`].
pub(crate) fn fd_limit() -> RawFd {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills in the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return FD_CEILING;
    }
    let limit = r.rlim_max.max(r.rlim_cur);
    if limit == libc::RLIM_INFINITY || limit >= FD_CEILING as libc::rlim_t {
        FD_CEILING
    } else {
        limit as RawFd
    }
}

/// `InvalidInput` for a negative fd or one at or beyond the ceiling (no
/// system call).
fn check_fd_range(fd: RawFd) -> io::Result<()> {
    if fd < 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid file descriptor {fd}: must not be negative"),
        ));
    }
    if fd >= FD_CEILING {
        return Err(fd_too_large(fd, FD_CEILING));
    }
    Ok(())
}

/// `InvalidInput` if `fd` is negative or not below [`fd_limit`].
pub(crate) fn check_fd_number(fd: RawFd) -> io::Result<()> {
    check_fd_range(fd)?;
    let limit = fd_limit();
    if fd >= limit {
        return Err(fd_too_large(fd, limit));
    }
    Ok(())
}

fn fd_too_large(fd: RawFd, limit: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "invalid file descriptor {fd}: beyond what an event loop indexes (limit {limit}: the hard RLIMIT_NOFILE, at most 2^24)"
        ),
    )
}

/// Checks that `fd` can be handed to libev: `InvalidInput` if negative or
/// not below [`fd_limit`] (libev would size its tables by it), the `EBADF`
/// error (naming the fd) if it is not open.
pub(crate) fn check_fd_open(fd: RawFd) -> io::Result<()> {
    check_fd_number(fd)?;
    // SAFETY: F_GETFD only reads the descriptor flags; any number is fine.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("file descriptor {fd} is not open: {e}"),
        ));
    }
    Ok(())
}

/// [`check_fd_open`] and [`check_events`]: for a new fd given to libev.
pub(crate) fn check_new_fd_events(fd: RawFd, events: Events) -> io::Result<()> {
    check_events(events)?;
    check_fd_open(fd)
}

/// Checks an fd's range and an io event mask the way libev would assert
/// on them (no system call: for an fd already checked by
/// [`check_new_fd_events`], or one libev bounds-checks itself).
pub(crate) fn check_fd_events(fd: RawFd, events: Events) -> io::Result<()> {
    check_fd_range(fd)?;
    check_events(events)
}

fn check_events(events: Events) -> io::Result<()> {
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
    /// `InvalidInput` for event bits other than READ/WRITE, a negative fd,
    /// or an fd number the loop should not index: at or beyond the
    /// process's hard `RLIMIT_NOFILE`, and in any case beyond 2^24 (libev
    /// sizes its fd tables by the highest fd number, so a huge one would
    /// make it allocate gigabytes). The `EBADF` error for an fd that is not
    /// open. A watcher whose fd is closed later (after this check) gets
    /// [`Events::ERROR`] once started, and libev stops it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Events, Io, Loop};
    /// let lp = Loop::new()?;
    /// assert!(Io::new(&lp, -1, Events::READ, |_, _| {}).is_err());
    /// assert!(Io::new(&lp, 0, Events::TIMER, |_, _| {}).is_err());
    /// let e = Io::new(&lp, i32::MAX, Events::READ, |_, _| {}).err().unwrap();
    /// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Io, Events) + 'static>(
        lp: &Loop,
        fd: RawFd,
        events: Events,
        cb: F,
    ) -> io::Result<Io> {
        check_new_fd_events(fd, events)?;
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
    /// `InvalidInput` if the watcher is active or the arguments are invalid,
    /// `EBADF` if `fd` is not open; as for [`new`](Io::new).
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
        check_new_fd_events(fd, events)?;
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
