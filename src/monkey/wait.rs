//! How a hook waits: on the per-thread [`WaitSlot`]s of a descriptor (the
//! same embedded, lingering io watchers `gevent::net` sockets use), or on
//! one-off watchers when another greenlet of the thread already waits on
//! that descriptor in that direction; kills and timeouts caught at the
//! hook's boundary.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use crate::core::Events;
use crate::greenlet::state::Throw;
use crate::greenlet::switch;
use crate::net::wait::wait_any;
use crate::net::wait_slot::{WaitSlot, Waited};

/// Both directions of one descriptor, for this thread's greenlets.
struct FdWait {
    read: WaitSlot,
    write: WaitSlot,
    /// Set by the `close`/`dup2`/`dup3` hooks: waiters return `EBADF`.
    closed: Cell<bool>,
}

thread_local! {
    /// This thread's wait slots, indexed by descriptor number (below
    /// [`MAX_FD`](super::fd_table::MAX_FD): a hook waits only on
    /// descriptors of the table). A vector, not a hash map: the lookup is
    /// on every wait of every hooked call.
    static WAITS: RefCell<Vec<Option<Rc<FdWait>>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's slots for `fd`, created on first use; `None` for a
/// negative or too large descriptor, or while the thread is being torn
/// down.
fn fd_wait(fd: RawFd) -> Option<Rc<FdWait>> {
    let i = usize::try_from(fd)
        .ok()
        .filter(|&i| i < super::fd_table::MAX_FD)?;
    WAITS
        .try_with(|m| {
            let mut m = m.try_borrow_mut().ok()?;
            if let Some(Some(fw)) = m.get(i) {
                return Some(fw.clone());
            }
            if m.len() <= i {
                m.resize(i + 1, None);
            }
            let fw = Rc::new(FdWait {
                read: WaitSlot::new(),
                write: WaitSlot::new(),
                closed: Cell::new(false),
            });
            m[i] = Some(fw.clone());
            Some(fw)
        })
        .ok()
        .flatten()
}

/// A wait that did not end with readiness or a timeout: the `errno` to
/// fail the hooked call with.
pub(crate) type Errno = libc::c_int;

/// The errno for a pending kill or timeout (see [`deliver_later`]).
fn throw_errno(t: &Throw) -> Errno {
    match t {
        Throw::Timeout(..) => libc::ETIMEDOUT,
        Throw::Kill(_) => libc::ECANCELED,
    }
}

/// If a kill or timeout is pending for the running greenlet (caught by an
/// earlier hook), the errno to fail at once with instead of waiting.
pub(crate) fn pending_throw() -> Option<Errno> {
    let p = switch::current_ptr();
    if p.is_null() {
        return None;
    }
    // SAFETY: CURRENT points at the running greenlet's live state.
    let s = unsafe { &*p };
    s.throws.borrow().front().map(throw_errno)
}

/// Runs `f` (which may park), catching a kill or timeout that unwinds out
/// of the park: it must not cross the hook's `extern "C"` boundary into C
/// (or into Rust code that called a C function). The throw is put back at
/// the front of the greenlet's queue, raised at its next switch point
/// outside the hooks; meanwhile every cooperative hooked call fails at once
/// with `ETIMEDOUT` (a [`Timeout`](crate::Timeout)) or `ECANCELED` (a
/// kill), so the code returns to Rust quickly.
pub(crate) fn guarded<T>(f: impl FnOnce() -> io::Result<T>) -> Result<T, Errno> {
    let depth = super::suppress_swap(0);
    let r = catch_unwind(AssertUnwindSafe(f));
    super::suppress_swap(depth);
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_errno(&e)),
        Err(payload) => match payload.downcast::<Throw>() {
            Ok(t) => {
                let errno = throw_errno(&t);
                deliver_later(*t);
                Err(errno)
            }
            Err(other) => {
                eprintln!(
                    "gevent::monkey: a wait inside a hooked call panicked: {}",
                    crate::hub::panic_message(&*other)
                );
                Err(libc::EIO)
            }
        },
    }
}

fn deliver_later(t: Throw) {
    let p = switch::current_ptr();
    if !p.is_null() {
        // SAFETY: CURRENT points at the running greenlet's live state.
        unsafe { &*p }.throws.borrow_mut().push_front(t);
    }
}

fn to_errno(e: &io::Error) -> Errno {
    if let Some(n) = e.raw_os_error() {
        return n;
    }
    match e.kind() {
        io::ErrorKind::NotConnected => libc::EBADF,
        io::ErrorKind::TimedOut => libc::ETIMEDOUT,
        io::ErrorKind::InvalidInput => libc::EINVAL,
        io::ErrorKind::WouldBlock => libc::EAGAIN,
        _ => libc::EIO,
    }
}

fn closed() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// Parks the calling greenlet until `fd` is ready for `events` (READ or
/// WRITE), or `timeout` runs out (`Ok(false)`).
pub(crate) fn wait_fd(fd: RawFd, events: Events, timeout: Option<Duration>) -> Result<bool, Errno> {
    if let Some(e) = pending_throw() {
        return Err(e);
    }
    let fw = fd_wait(fd);
    guarded(|| {
        if let Some(fw) = &fw {
            let slot = if events == Events::WRITE {
                &fw.write
            } else {
                &fw.read
            };
            if !slot.is_busy() {
                let what = if events == Events::WRITE {
                    "write to"
                } else {
                    "read from"
                };
                let w = slot.wait(fd, events, timeout, what, || fw.closed.get().then(closed))?;
                return Ok(w == Waited::Ready);
            }
        }
        // Another greenlet of this thread waits on this descriptor in this
        // direction (several acceptors on one listener, say): one-off
        // watchers, so both are woken.
        wait_any(&[(fd, events)], timeout)
    })
}

/// Parks until one of `fds` is ready or `timeout` runs out (`Ok(false)`).
pub(crate) fn wait_many(fds: &[(RawFd, Events)], timeout: Option<Duration>) -> Result<bool, Errno> {
    if let Some(e) = pending_throw() {
        return Err(e);
    }
    guarded(|| wait_any(fds, timeout))
}

/// Parks for `d`.
pub(crate) fn sleep(d: Duration) -> Result<(), Errno> {
    if let Some(e) = pending_throw() {
        return Err(e);
    }
    guarded(|| crate::try_sleep(d).map_err(io::Error::from))
}

/// The `close`/`dup2`/`dup3` hooks, before the descriptor goes: stops this
/// thread's watchers on it (libev must not watch a closed descriptor) and
/// wakes its waiters, which fail with `EBADF`.
pub(crate) fn forget_fd(fd: RawFd) {
    let Ok(i) = usize::try_from(fd) else { return };
    let fw = WAITS
        .try_with(|m| {
            m.try_borrow_mut()
                .ok()
                .and_then(|mut m| m.get_mut(i).and_then(Option::take))
        })
        .ok()
        .flatten();
    if let Some(fw) = fw {
        fw.closed.set(true);
        fw.read.cancel();
        fw.write.cancel();
    }
}
