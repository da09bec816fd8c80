//! [`Socket`]: the cooperative core of [`Async<T>`](crate::io::Async),
//! which every fd-backed type of the crate wraps (the six socket types,
//! process pipes, file objects on pipes and terminals).
//!
//! Every blocking operation has the shape of async-io's `read_with`: try
//! the non-blocking syscall; on `WouldBlock`, wait for readiness on the
//! hub's loop (parking only the calling greenlet), honouring the socket's
//! timeout and any enclosing [`Timeout`](crate::Timeout); then retry.
//!
//! # Close, and why it is sound with descriptor reuse
//!
//! `close()` (gevent's `cancel_wait`) marks the socket closed for every
//! handle of it (the original and its `try_clone`s), stops their watchers,
//! wakes their waiters (which return `NotConnected`), and releases the OS
//! socket at once by replacing each handle's descriptor with `/dev/null`
//! (`dup3`). The descriptor *number* stays owned (by the `Async`'s I/O
//! object, next to its handle) until the `Async` is dropped, so a greenlet that still holds a reference can never
//! operate on an unrelated socket that reused the number: every operation
//! checks the closed flag first, and a stray syscall would only reach
//! `/dev/null`.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use socket2::SockRef;

use super::socket_group::SocketGroup;
use super::wait_slot::{WaitSlot, Waited};
use crate::core::Events;

/// Whether stream reads use the drained hint.
const DRAINED_HINT: bool = true;

/// Which way an operation goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// One descriptor of a socket, with its two wait slots.
///
/// The handle does not own the descriptor: the I/O object next to it in
/// its [`Async`](crate::io::Async) does, and is dropped after it (so the
/// watchers are stopped before the descriptor closes).
///
/// `#[repr(C)]` keeps what every operation reads (the descriptor, the
/// flags, the mode) together in front of the read slot, so a read that
/// waits touches as few cache lines as possible.
#[repr(C)]
pub(crate) struct Handle {
    fd: RawFd,
    /// The last stream read returned less than asked: the receive queue
    /// was most likely emptied, so the next read waits for readiness
    /// before trying (saves a syscall that would say `EAGAIN`).
    drained: Cell<bool>,
    /// This handle's copy of the group's closed flag, non-blocking mode
    /// and timeouts, read by every operation (so the hot path does not
    /// touch the group). The group's setters update every live member.
    closed: Cell<bool>,
    nonblocking: Cell<bool>,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
    group: Rc<SocketGroup>,
    read: WaitSlot,
    write: WaitSlot,
}

impl AsFd for Handle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `fd` is open as long as the handle: the `Async` holding
        // the handle owns it (through its I/O object) and drops the handle
        // first.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Before the `Async`'s I/O object closes the descriptor: libev must
        // not watch a descriptor that is closed.
        self.read.cancel();
        self.write.cancel();
        self.group.prune();
    }
}

/// The user-visible mode of a socket taken over from std or a raw fd.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Mode {
    pub(crate) nonblocking: bool,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
}

/// The cooperative socket core.
pub(crate) struct Socket {
    h: Rc<Handle>,
}

/// The error of every operation on a closed socket.
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "socket closed (close() was called on it or on one of its try_clone()d handles)",
    )
}

/// The error of a read or write whose timeout ran out: `WouldBlock`
/// (`EAGAIN`), exactly what std returns on Linux when `SO_RCVTIMEO` /
/// `SO_SNDTIMEO` expires.
pub(crate) fn timed_out_again() -> io::Error {
    io::Error::from_raw_os_error(libc::EAGAIN)
}

/// Opens `/dev/null` once per process; `close()` parks descriptor numbers on it.
fn devnull() -> Option<RawFd> {
    static DEVNULL: OnceLock<Option<OwnedFd>> = OnceLock::new();
    DEVNULL
        .get_or_init(|| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .ok()
                .map(OwnedFd::from)
        })
        .as_ref()
        .map(|f| f.as_raw_fd())
}

/// Replaces `fd` by `/dev/null`, keeping the number reserved and
/// close-on-exec; this releases the socket if it was its last descriptor.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn park_fd(fd: RawFd, null: RawFd) -> bool {
    // SAFETY: both descriptors are open; dup3 atomically replaces `fd`.
    unsafe { libc::dup3(null, fd, libc::O_CLOEXEC) >= 0 }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn park_fd(fd: RawFd, null: RawFd) -> bool {
    // SAFETY: both descriptors are open; dup2 atomically replaces `fd`, and
    // FD_CLOEXEC is set right after (single-threaded use of this number).
    unsafe { libc::dup2(null, fd) >= 0 && libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) >= 0 }
}

/// Puts `fd` in non-blocking mode and reads the mode the user had set:
/// blocking or not, and the kernel timeouts, which become ours.
pub(crate) fn import_mode(fd: BorrowedFd<'_>) -> io::Result<Mode> {
    let s = SockRef::from(&fd);
    let nonblocking = s.nonblocking()?;
    if !nonblocking {
        s.set_nonblocking(true)?;
    }
    Ok(Mode {
        nonblocking,
        read_timeout: s.read_timeout().ok().flatten(),
        write_timeout: s.write_timeout().ok().flatten(),
    })
}

impl Socket {
    /// A handle on `fd`, already non-blocking, owned by the I/O object the
    /// handle's `Async` holds.
    pub(crate) fn new(fd: RawFd) -> Socket {
        Socket::with_group(fd, SocketGroup::new())
    }

    /// A handle on `fd` taken over from the user; `mode` from
    /// [`import_mode`].
    pub(crate) fn with_mode(fd: RawFd, mode: Mode) -> Socket {
        let s = Socket::new(fd);
        s.update_group(|g| {
            g.nonblocking.set(mode.nonblocking);
            g.read_timeout.set(mode.read_timeout);
            g.write_timeout.set(mode.write_timeout);
        });
        s
    }

    /// A handle on `fd` (a duplicate of this handle's descriptor) in this
    /// handle's group: it shares the mode, timeouts and closed flag.
    pub(crate) fn sibling(&self, fd: RawFd) -> Socket {
        Socket::with_group(fd, self.h.group.clone())
    }

    fn with_group(fd: RawFd, group: Rc<SocketGroup>) -> Socket {
        let h = Rc::new(Handle {
            fd,
            drained: Cell::new(false),
            closed: Cell::new(group.closed.get()),
            nonblocking: Cell::new(group.nonblocking.get()),
            read_timeout: Cell::new(group.read_timeout.get()),
            write_timeout: Cell::new(group.write_timeout.get()),
            group,
            read: WaitSlot::new(),
            write: WaitSlot::new(),
        });
        h.group.members.borrow_mut().push(Rc::downgrade(&h));
        Socket { h }
    }

    /// Changes the group's shared mode with `f`, then copies it into every
    /// live handle of the group.
    fn update_group(&self, f: impl FnOnce(&SocketGroup)) {
        let g = &self.h.group;
        f(g);
        for m in g.live_members() {
            m.closed.set(g.closed.get());
            m.nonblocking.set(g.nonblocking.get());
            m.read_timeout.set(g.read_timeout.get());
            m.write_timeout.set(g.write_timeout.get());
        }
    }

    /// The descriptor number (also after `close()`, when it refers to
    /// `/dev/null` until the handle is dropped).
    pub(crate) fn fd(&self) -> RawFd {
        self.h.fd
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.h.as_fd()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.h.closed.get()
    }

    /// `Err(NotConnected)` once closed.
    pub(crate) fn check_open(&self) -> io::Result<()> {
        if self.is_closed() {
            Err(closed_error())
        } else {
            Ok(())
        }
    }

    /// socket2's view, for options std lacks.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed.
    pub(crate) fn sock_ref(&self) -> io::Result<SockRef<'_>> {
        self.check_open()?;
        Ok(SockRef::from(&*self.h))
    }

    pub(crate) fn is_nonblocking(&self) -> bool {
        self.h.nonblocking.get()
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.check_open()?;
        self.update_group(|g| g.nonblocking.set(nonblocking));
        Ok(())
    }

    pub(crate) fn timeout(&self, dir: Dir) -> Option<Duration> {
        match dir {
            Dir::Read => self.h.read_timeout.get(),
            Dir::Write => self.h.write_timeout.get(),
        }
    }

    /// Sets a timeout with std's rules (`Some(ZERO)` is `InvalidInput`).
    pub(crate) fn set_timeout(&self, dir: Dir, t: Option<Duration>) -> io::Result<()> {
        self.check_open()?;
        if t == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        self.update_group(|g| match dir {
            Dir::Read => g.read_timeout.set(t),
            Dir::Write => g.write_timeout.set(t),
        });
        Ok(())
    }

    /// Waits once for readiness in direction `dir`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is (or gets) closed, `ResourceBusy` if
    /// another greenlet already waits in this direction on this handle,
    /// the hub's errors (blocking in the hub, while unwinding, `LoopExit`).
    pub(crate) fn wait(&self, dir: Dir, timeout: Option<Duration>) -> io::Result<Waited> {
        let (slot, events, what) = match dir {
            Dir::Read => (&self.h.read, Events::READ, "read from (or accept on)"),
            Dir::Write => (&self.h.write, Events::WRITE, "write to (or connect)"),
        };
        let closed = &self.h.closed;
        slot.wait(self.h.fd, events, timeout, what, || {
            closed.get().then(closed_error)
        })
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readiness in between (unless the socket is in non-blocking mode).
    /// `timeout` bounds the whole call; when it runs out, the result is
    /// `on_timeout()`.
    pub(crate) fn op<R>(
        &self,
        dir: Dir,
        timeout: Option<Duration>,
        on_timeout: fn() -> io::Error,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.op_from(dir, timeout, on_timeout, false, None, op)
    }

    /// A datagram receive: [`io`](Self::io) in the read direction, where a
    /// socket shut down for reading gives `on_shutdown()`.
    ///
    /// The kernel reports a datagram socket shut down for reading as
    /// readable, yet a non-blocking receive on it fails with `EAGAIN`
    /// (only a blocking one returns 0): without this check the wait would
    /// spin. It costs one `poll` only when a receive fails right after a
    /// readiness wake-up.
    pub(crate) fn recv_datagram<R>(
        &self,
        on_shutdown: fn() -> io::Result<R>,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.op_from(
            Dir::Read,
            self.timeout(Dir::Read),
            timed_out_again,
            false,
            Some(on_shutdown),
            op,
        )
    }

    /// Whether the socket was shut down for reading (`POLLRDHUP`).
    fn read_hung_up(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.h.fd,
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n == 1 && p.revents & libc::POLLRDHUP != 0
    }

    /// [`op`](Self::op), optionally waiting for readiness before the first
    /// try (never in non-blocking mode).
    ///
    /// Inlined into each caller: an operation that succeeds at once (the
    /// common case: a write, a read of data that is there) runs only the
    /// closed check and the syscall; waiting after a `WouldBlock` happens
    /// out of line, in [`op_wait`](Self::op_wait). A wait first (the read
    /// of a drained socket) is inlined, being that path's common case.
    #[inline]
    fn op_from<R>(
        &self,
        dir: Dir,
        timeout: Option<Duration>,
        on_timeout: fn() -> io::Error,
        wait_first: bool,
        on_shutdown: Option<fn() -> io::Result<R>>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.check_open()?;
        if wait_first && !self.is_nonblocking() {
            return self.op_wait_inline(dir, timeout, on_timeout, false, on_shutdown, op);
        }
        {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.is_nonblocking() {
                        return Err(e);
                    }
                }
                // Retried (first thing) by op_wait.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    return self.op_wait(dir, timeout, on_timeout, true, on_shutdown, op);
                }
                r => return r,
            }
        }
        self.op_wait(dir, timeout, on_timeout, false, on_shutdown, op)
    }

    /// The waiting part of [`op_from`](Self::op_from), out of line.
    #[inline(never)]
    fn op_wait<R>(
        &self,
        dir: Dir,
        timeout: Option<Duration>,
        on_timeout: fn() -> io::Error,
        try_now: bool,
        on_shutdown: Option<fn() -> io::Result<R>>,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.op_wait_inline(dir, timeout, on_timeout, try_now, on_shutdown, op)
    }

    /// The waiting part of [`op_from`](Self::op_from): waits for readiness
    /// (unless `try_now`), retries `op`, and so on until it does not return
    /// `WouldBlock` or the timeout runs out.
    #[inline(always)]
    fn op_wait_inline<R>(
        &self,
        dir: Dir,
        timeout: Option<Duration>,
        on_timeout: fn() -> io::Error,
        mut try_now: bool,
        on_shutdown: Option<fn() -> io::Result<R>>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let mut deadline: Option<Option<Instant>> = None;
        let mut woken = false;
        loop {
            if try_now {
                match op() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if let Some(f) = on_shutdown.filter(|_| woken && self.read_hung_up()) {
                            return f();
                        }
                        if self.is_nonblocking() {
                            return Err(e);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            }
            try_now = true;
            let remaining = match timeout {
                None => None,
                Some(d) => {
                    // Set on the first wait; `None` inside: too far to
                    // represent, so it never runs out.
                    let dl = *deadline.get_or_insert_with(|| crate::time::deadline_after(d));
                    let left = crate::time::time_left(dl, d);
                    if left.is_zero() {
                        return Err(on_timeout());
                    }
                    Some(left)
                }
            };
            if self.wait(dir, remaining)? == Waited::TimedOut {
                return Err(on_timeout());
            }
            woken = true;
        }
    }

    /// [`op`](Self::op) with the socket's own timeout for `dir`, reporting
    /// expiry as std does (`WouldBlock`).
    pub(crate) fn io<R>(&self, dir: Dir, op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        self.op(dir, self.timeout(dir), timed_out_again, op)
    }

    /// A stream read of up to `len` bytes: [`io`](Self::io) in the read
    /// direction, plus the drained hint (see [`Handle`]).
    pub(crate) fn read_stream(
        &self,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let wait_first = DRAINED_HINT && len > 0 && self.h.drained.get();
        let r = self.op_from(
            Dir::Read,
            self.timeout(Dir::Read),
            timed_out_again,
            wait_first,
            None,
            op,
        );
        self.h.drained.set(matches!(r, Ok(n) if n > 0 && n < len));
        r
    }

    /// `recv(2)` with no flags: what std's `read` does on a stream socket,
    /// without going through a std view (no second closed check, no call
    /// through std's layers). For [`read_stream`](Self::read_stream)'s
    /// operation.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed; `recv`'s error (`WouldBlock` and
    /// `Interrupted` included).
    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.check_open()?;
        // SAFETY: the descriptor is open (owned by the handle) and `buf` is
        // valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::recv(self.h.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// `send(2)` as std's `write` does it on a stream socket (no `SIGPIPE`:
    /// a closed peer gives `BrokenPipe`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed; `send`'s error.
    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.check_open()?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = libc::MSG_NOSIGNAL;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = 0;
        // SAFETY: the descriptor is open (owned by the handle) and `buf` is
        // valid for reads of `buf.len()` bytes.
        let n = unsafe { libc::send(self.h.fd, buf.as_ptr().cast(), buf.len(), flags) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Closes the socket for every handle of it; see the module docs.
    pub(crate) fn close(&self) {
        let group = &self.h.group;
        if group.closed.replace(true) {
            return;
        }
        for m in group.live_members() {
            // Before the wake-ups: the waiters must see it.
            m.closed.set(true);
            m.read.cancel();
            m.write.cancel();
            let parked = devnull().is_some_and(|null| park_fd(m.fd, null));
            if !parked {
                // No /dev/null to park the number on: at least make the
                // peer and every waiter see the end now; the descriptor
                // itself closes when its handle is dropped.
                // SAFETY: `m.fd` is open and owned by its handle.
                unsafe { libc::shutdown(m.fd, libc::SHUT_RDWR) };
            }
        }
    }

    /// Stops this handle before its descriptor `fd` is given back to the
    /// user, restoring the user-visible mode on it: non-blocking mode off
    /// unless the user set it or other handles still share the open file
    /// description (they would then block the thread), and the timeouts
    /// applied as the kernel's `SO_RCVTIMEO`/`SO_SNDTIMEO` (skipped for a
    /// descriptor that is not a socket), so that the object behaves as
    /// this handle did.
    ///
    /// # Errors
    ///
    /// `NotConnected` once closed; the `ioctl` or `setsockopt` error.
    pub(crate) fn release(self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.check_open()?;
        let group = self.h.group.clone();
        let alone = group.live_members().len() == 1;
        drop(self);
        let s = SockRef::from(&fd);
        if alone && !group.nonblocking.get() {
            s.set_nonblocking(false)?;
        }
        let not_socket = |e: &io::Error| e.raw_os_error() == Some(libc::ENOTSOCK);
        if let Some(t) = group.read_timeout.get() {
            s.set_read_timeout(Some(t))
                .or_else(|e| if not_socket(&e) { Ok(()) } else { Err(e) })?;
        }
        if let Some(t) = group.write_timeout.get() {
            s.set_write_timeout(Some(t))
                .or_else(|e| if not_socket(&e) { Ok(()) } else { Err(e) })?;
        }
        Ok(())
    }

    /// Whether a greenlet waits on this handle (for Debug output).
    pub(crate) fn waiting(&self) -> (bool, bool) {
        (self.h.read.is_busy(), self.h.write.is_busy())
    }
}

/// A new non-blocking, close-on-exec socket.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn new_socket(
    domain: socket2::Domain,
    ty: socket2::Type,
    protocol: Option<socket2::Protocol>,
) -> io::Result<socket2::Socket> {
    // socket2 adds SOCK_CLOEXEC; SOCK_NONBLOCK saves an fcntl.
    socket2::Socket::new(domain, ty.nonblocking(), protocol)
}

/// A new non-blocking, close-on-exec socket.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) fn new_socket(
    domain: socket2::Domain,
    ty: socket2::Type,
    protocol: Option<socket2::Protocol>,
) -> io::Result<socket2::Socket> {
    let s = socket2::Socket::new(domain, ty, protocol)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// After an `accept` failed: if it failed for lack of resources
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), lets every other greenlet,
/// timer and I/O callback run before the caller gets the error. Such a
/// failure leaves the connection pending, so the listener stays readable
/// and a retry loop would never park: without this, a plain
/// `for c in listener.incoming()` loop that skips errors would starve the
/// hub. The wait is one trip through the event loop (a zero timer, so the
/// hub polls before resuming the caller), not a back-off. A kill or
/// timeout pending for the caller is raised here.
pub(crate) fn yield_after_accept_error(e: &io::Error) {
    if matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    ) {
        // A greenlet that cannot block (the hub, unwinding) just gets the
        // error.
        let _ = crate::greenlet::try_sleep(Duration::from_nanos(1));
    }
}

/// Takes an accepted std socket (blocking, close-on-exec) over.
pub(crate) fn accepted<T: AsFd>(s: T) -> io::Result<crate::io::Async<T>> {
    SockRef::from(&s).set_nonblocking(true)?;
    Ok(crate::io::Async::from_nonblocking(s))
}

/// What a receive on a datagram socket shut down for reading returns when
/// there is no sender address to give: a clear error.
pub(crate) fn recv_from_shut_down<T>() -> io::Result<T> {
    Err(io::Error::new(
        io::ErrorKind::NotConnected,
        "the socket is shut down for reading",
    ))
}
