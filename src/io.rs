//! [`Async<T>`]: any file descriptor, cooperative (the shape of async-io's
//! `Async<T>`, blocking style).
//!
//! `Async<T>` owns an I/O object `T` that has a descriptor (`T: AsFd`: a
//! std socket, an [`OwnedFd`](std::os::fd::OwnedFd), a pipe end, a
//! terminal), keeps the descriptor in non-blocking mode, and runs
//! operations on it the cooperative way: try the syscall; on `WouldBlock`,
//! park the calling greenlet until the hub's loop sees the descriptor
//! ready (or a timeout runs out), then retry. Other greenlets run
//! meanwhile. [`read_with`](Async::read_with) and
//! [`write_with`](Async::write_with) do this for any operation on `&T`;
//! `Read` and `Write` are implemented where `T` has them.
//!
//! Every fd-backed type of the crate is built on it: the six socket types
//! of [`net`](crate::net) (each wraps an `Async` of its std counterpart),
//! the process pipes of [`process`](crate::process) and the pollable path
//! of [`fileobject`](crate::fileobject).
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent::io::Async;
//! let (r, w) = std::io::pipe()?;
//! let (mut r, mut w) = (Async::new(r)?, Async::new(w)?);
//! let writer = gevent::spawn(move || w.write_all(b"through a pipe"));
//! let mut buf = [0; 32];
//! let n = r.read(&mut buf)?; // parks this greenlet until the writer ran
//! assert_eq!(&buf[..n], b"through a pipe");
//! writer.take().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use crate::net::socket::{Dir, Mode, Socket, import_mode, timed_out_again};
use crate::net::wait_slot::Waited;

/// An I/O object whose operations park only the calling greenlet (see the
/// [module docs](self)).
///
/// # Mode
///
/// [`new`](Async::new) switches the descriptor to non-blocking mode but
/// keeps the mode the *user* had set: an object that was blocking becomes
/// cooperative (an operation that cannot complete parks the greenlet), one
/// that was non-blocking keeps returning `ErrorKind::WouldBlock` at once
/// ([`set_nonblocking`](Async::set_nonblocking) changes it). A socket's
/// `SO_RCVTIMEO`/`SO_SNDTIMEO` become its read and write timeouts.
/// [`into_inner`](Async::into_inner) gives the object back in that mode.
///
/// An `Async` is `!Send`: it waits on its thread's hub, like the socket
/// types built on it. (Not to be confused with
/// [`core::Async`](crate::core::Async), libev's `ev_async` watcher.)
///
/// # Close
///
/// [`close`](Async::close) (gevent's `close()` with `cancel_wait`) wakes
/// every greenlet waiting on the object with `ErrorKind::NotConnected`,
/// fails every later operation the same way, and releases the open file
/// (the peer of a socket or pipe sees the end) while keeping the
/// descriptor *number* reserved, on `/dev/null`, until the `Async` is
/// dropped: a greenlet that still holds a reference can never reach an
/// unrelated file that reused the number.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use gevent::io::Async;
/// let (a, b) = UnixStream::pair()?;
/// let (a, b) = (Async::new(a)?, Async::new(b)?);
/// let echo = gevent::spawn(move || -> std::io::Result<()> {
///     let mut buf = [0; 5];
///     (&b).read_exact(&mut buf)?;
///     (&b).write_all(&buf)
/// });
/// (&a).write_all(b"hello")?;
/// let mut back = [0; 5];
/// (&a).read_exact(&mut back)?;
/// assert_eq!(&back, b"hello");
/// echo.take().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Async<T> {
    // Declared first, so dropped first: the handle stops its io watchers
    // before `io` closes the descriptor (libev must never watch a closed
    // descriptor). `Async` has no `Drop` of its own, so that `into_inner`
    // can move `io` out.
    core: Socket,
    io: T,
}

impl<T: AsFd> Async<T> {
    /// Wraps `io`: switches its descriptor to non-blocking mode and keeps
    /// the user-visible mode (see [Mode](Async#mode)).
    ///
    /// # Errors
    ///
    /// The `fcntl`/`ioctl` error if the mode cannot be read or set
    /// (`EBADF` for a descriptor that is not open).
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// let r = gevent::io::Async::new(r)?;
    /// assert!(!r.is_nonblocking()); // cooperative, as the pipe was blocking
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        let mode = import_mode(io.as_fd())?;
        Ok(Async::with_mode(io, mode))
    }

    /// Wraps `io` with the user-visible `mode` (from [`import_mode`]).
    pub(crate) fn with_mode(io: T, mode: Mode) -> Async<T> {
        Async {
            core: Socket::with_mode(io.as_fd().as_raw_fd(), mode),
            io,
        }
    }

    /// Wraps `io`, whose descriptor the crate made (or put in)
    /// non-blocking mode itself: cooperative, no timeouts.
    pub(crate) fn from_nonblocking(io: T) -> Async<T> {
        Async {
            core: Socket::new(io.as_fd().as_raw_fd()),
            io,
        }
    }

    /// A new handle on `f(&T)` (a duplicate of the descriptor, such as
    /// `try_clone` makes) sharing this one's mode, timeouts and closed
    /// flag, with waiters of its own.
    pub(crate) fn try_clone_with(
        &self,
        f: impl FnOnce(&T) -> io::Result<T>,
    ) -> io::Result<Async<T>> {
        self.core.check_open()?;
        let io = f(&self.io)?;
        Ok(Async {
            core: self.core.sibling(io.as_fd().as_raw_fd()),
            io,
        })
    }

    /// Gives the object back in the user-visible mode it had (see
    /// [Mode](Async#mode)): blocking again unless the user set
    /// non-blocking mode, and a socket's read and write timeouts set as
    /// the kernel's `SO_RCVTIMEO`/`SO_SNDTIMEO` (a descriptor that is not
    /// a socket cannot keep them). Exception: while crate handles that
    /// share the open file (the `try_clone`s of a socket type) are alive,
    /// the descriptor stays non-blocking, since they must never block the
    /// thread.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the object was [`close`](Async::close)d; the
    /// `ioctl` or `setsockopt` error otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (r, w) = std::io::pipe()?;
    /// let r = gevent::io::Async::new(r)?.into_inner()?; // blocking again
    /// drop(w);
    /// assert_eq!((&r).read(&mut [0; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> io::Result<T> {
        let Async { core, io } = self;
        core.release(io.as_fd())?;
        Ok(io)
    }

    /// Gives the object back as it is (non-blocking), for the crate's
    /// `From<…> for OwnedFd` and `IntoRawFd` conversions.
    pub(crate) fn into_inner_nonblocking(self) -> T {
        let Async { core, io } = self;
        drop(core);
        io
    }
}

impl<T> Async<T> {
    /// The cooperative core (crate-private: the socket types call its
    /// specialised paths, such as stream reads with the drained hint).
    pub(crate) fn core(&self) -> &Socket {
        &self.core
    }

    /// The object, to call one of its methods that never blocks (an
    /// address, an option).
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    pub(crate) fn std(&self) -> io::Result<&T> {
        self.core.check_open()?;
        Ok(&self.io)
    }

    /// The wrapped object.
    ///
    /// Its descriptor is in non-blocking mode: an operation called on it
    /// directly returns `WouldBlock` instead of waiting (use
    /// [`read_with`](Async::read_with)). After [`close`](Async::close) the
    /// descriptor refers to `/dev/null`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent::io::Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// assert!(s.get_ref().local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped object, mutably.
    ///
    /// # Safety
    ///
    /// The object must keep its descriptor: neither close it nor replace
    /// it by another (e.g. with `mem::swap` or `mem::replace`) while the
    /// `Async` holds it, because the hub's io watcher and the close logic
    /// work on the descriptor number taken at construction. Changing the
    /// descriptor's blocking mode also breaks the cooperative contract.
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// let mut r = gevent::io::Async::new(r)?;
    /// // SAFETY: only borrows the pipe; its descriptor stays.
    /// let inner = unsafe { r.get_mut() };
    /// let _ = inner;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub unsafe fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Runs `op` on the object until it returns something other than
    /// `WouldBlock`, parking the calling greenlet until the descriptor is
    /// readable in between (async-io's `read_with`). `Interrupted` is
    /// retried. The read timeout bounds the whole call (expiry gives
    /// `ErrorKind::WouldBlock`, as a std socket's `SO_RCVTIMEO` does), as
    /// does an enclosing [`Timeout`](crate::Timeout). In non-blocking mode
    /// `op`'s `WouldBlock` is returned at once.
    ///
    /// # Errors
    ///
    /// `op`'s error; `NotConnected` once closed (also when closed while
    /// waiting); `WouldBlock` when the read timeout runs out;
    /// `ResourceBusy` if another greenlet already waits to read on this
    /// handle; the hub's errors (called from the hub itself, or while a
    /// greenlet unwinds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let s = gevent::io::Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// let addr = s.get_ref().local_addr()?;
    /// std::net::UdpSocket::bind("127.0.0.1:0")?.send_to(b"ping", addr)?;
    /// let mut buf = [0; 8];
    /// let (n, _from) = s.read_with(|s| s.recv_from(&mut buf))?;
    /// assert_eq!(&buf[..n], b"ping");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.core.io(Dir::Read, || op(&self.io))
    }

    /// [`read_with`](Async::read_with) in the write direction: waits for
    /// the descriptor to be writable, and the write timeout applies.
    ///
    /// # Errors
    ///
    /// As for [`read_with`](Async::read_with), with the write timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let (_r, w) = std::io::pipe()?;
    /// let w = gevent::io::Async::new(w)?;
    /// assert_eq!(w.write_with(|mut w| w.write(b"abc"))?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.core.io(Dir::Write, || op(&self.io))
    }

    /// Parks the calling greenlet until the descriptor is readable (or at
    /// end of file, or in error), within the read timeout. Waits also in
    /// non-blocking mode: it is an explicit wait.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the read timeout runs out; otherwise as for
    /// [`read_with`](Async::read_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let (r, mut w) = std::io::pipe()?;
    /// let r = gevent::io::Async::new(r)?;
    /// w.write_all(b"x")?;
    /// r.readable()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn readable(&self) -> io::Result<()> {
        self.ready(Dir::Read)
    }

    /// Parks the calling greenlet until the descriptor is writable, within
    /// the write timeout.
    ///
    /// # Errors
    ///
    /// As for [`readable`](Async::readable), with the write timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_r, w) = std::io::pipe()?;
    /// gevent::io::Async::new(w)?.writable()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn writable(&self) -> io::Result<()> {
        self.ready(Dir::Write)
    }

    fn ready(&self, dir: Dir) -> io::Result<()> {
        self.core.check_open()?;
        match self.core.wait(dir, self.core.timeout(dir))? {
            Waited::Ready => Ok(()),
            Waited::TimedOut => Err(timed_out_again()),
        }
    }

    /// Switches between cooperative mode (an operation that cannot
    /// complete parks the calling greenlet) and non-blocking mode (it
    /// returns `ErrorKind::WouldBlock` at once), as std's
    /// `set_nonblocking` does for threads. The descriptor itself stays
    /// non-blocking either way.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (r, _w) = std::io::pipe()?;
    /// let mut r = gevent::io::Async::new(r)?;
    /// r.set_nonblocking(true)?;
    /// assert_eq!(r.read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.core.set_nonblocking(nonblocking)
    }

    /// Whether the user-visible mode is non-blocking (see
    /// [`set_nonblocking`](Async::set_nonblocking)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// assert!(gevent::io::Async::new(a)?.is_nonblocking());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_nonblocking(&self) -> bool {
        self.core.is_nonblocking()
    }

    /// Sets the read timeout: a read that waits longer fails with
    /// `ErrorKind::WouldBlock` (`EAGAIN`, what std returns on Linux when
    /// `SO_RCVTIMEO` expires). `None` waits forever; durations too long
    /// to represent as a deadline never run out. The timeout bounds each
    /// call; an enclosing [`Timeout`](crate::Timeout) applies as well.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)` (as std);
    /// `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// let (r, _w) = std::io::pipe()?;
    /// let mut r = gevent::io::Async::new(r)?;
    /// r.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// assert_eq!(r.read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.core.set_timeout(Dir::Read, t)
    }

    /// Sets the write timeout; rules as for
    /// [`set_read_timeout`](Async::set_read_timeout).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`; `NotConnected` once
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_r, w) = std::io::pipe()?;
    /// let w = gevent::io::Async::new(w)?;
    /// w.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(w.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.core.set_timeout(Dir::Write, t)
    }

    /// The read timeout.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// assert_eq!(gevent::io::Async::new(r)?.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.core.check_open()?;
        Ok(self.core.timeout(Dir::Read))
    }

    /// The write timeout.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_r, w) = std::io::pipe()?;
    /// assert_eq!(gevent::io::Async::new(w)?.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.core.check_open()?;
        Ok(self.core.timeout(Dir::Write))
    }

    /// Closes the object now (gevent's `close()` with `cancel_wait`; see
    /// [Close](Async#close)): waiters wake with `ErrorKind::NotConnected`,
    /// as does every later operation. Closing twice does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// let r = gevent::io::Async::new(r)?;
    /// r.close();
    /// assert!(r.is_closed());
    /// assert_eq!(r.readable().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&self) {
        self.core.close()
    }

    /// Whether [`close`](Async::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// assert!(!gevent::io::Async::new(r)?.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}

impl<T> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.core.as_fd()
    }
}

impl<T> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.core.fd()
    }
}

impl<T: fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, w) = self.core.waiting();
        f.debug_struct("Async")
            .field("io", &self.io)
            .field("closed", &self.core.is_closed())
            .field("read_waiter", &r)
            .field("write_waiter", &w)
            .finish()
    }
}

impl<T> Read for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|mut io| io.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.read_with(|mut io| io.read_vectored(bufs))
    }
}

impl<T> Write for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|mut io| io.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_with(|mut io| io.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_with(|mut io| io.flush())
    }
}

impl<T: Read> Read for Async<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let io = &mut self.io;
        self.core.io(Dir::Read, || io.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let io = &mut self.io;
        self.core.io(Dir::Read, || io.read_vectored(bufs))
    }
}

impl<T: Write> Write for Async<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let io = &mut self.io;
        self.core.io(Dir::Write, || io.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let io = &mut self.io;
        self.core.io(Dir::Write, || io.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        let io = &mut self.io;
        self.core.io(Dir::Write, || io.flush())
    }
}
