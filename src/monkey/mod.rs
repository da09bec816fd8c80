//! Making blocking code cooperative: the Rust counterpart of gevent's
//! `monkey.patch_all()` (feature `monkey`, Linux).
//!
//! With the feature on, this crate defines the C library's blocking entry
//! points (`recv`, `connect`, `poll`, `nanosleep`, `getaddrinfo`,
//! `waitpid`, ...; the full list is in the README section "Making blocking
//! code cooperative") in the final binary, so that every call to them —
//! from `std::net`, `std::thread::sleep`, `std::process`, blocking crates
//! such as `ureq`, and C libraries linked into the program — comes here
//! first. Until a `patch_*` function turns a group of them on, each hook
//! passes the call straight to the C library (found with
//! `dlsym(RTLD_NEXT)`) after one atomic flag check. Once patched:
//!
//! * **Inside a greenlet** (the main greenlet of a thread that has a hub
//!   counts; the hub itself does not), a call that would block parks only
//!   that greenlet on an io watcher or timer of the hub, then completes
//!   with exactly the result, `errno` and partial-transfer behaviour of the
//!   blocking call: full sends, `SO_RCVTIMEO`/`SO_SNDTIMEO` honoured
//!   (`EAGAIN`, or `EINPROGRESS` for `connect`), `MSG_WAITALL`,
//!   `EBADF` for a waiter whose descriptor another greenlet closed.
//! * **Everywhere else** the real function runs, untouched: on threads
//!   without a hub, on the hub (watcher and hub callbacks), inside libev
//!   (a thread-local guard around `ev_run`, so libev's own `poll`,
//!   `select`, `read`/`write` on its wake-up pipe and `nanosleep` are never
//!   intercepted), while the thread unwinds, in a signal handler that
//!   interrupted a hook, and for descriptors the user made non-blocking
//!   (`O_NONBLOCK`, `FIONBIO`: they still get `EAGAIN`).
//!
//! Descriptors keep the mode the user gave them: sockets are driven with
//! `MSG_DONTWAIT` per call, so their `O_NONBLOCK` flag is never changed;
//! `accept`, `connect` and pipe writes hold `O_NONBLOCK` only for the
//! duration of the call, and `fcntl(F_GETFL)` hides it meanwhile.
//!
//! **Kills and timeouts.** A [`Timeout`](crate::Timeout) or
//! [`kill`](crate::Greenlet::kill) that arrives while a greenlet waits in a
//! hook cannot unwind through the C library's callers: the hooked call
//! fails with `ETIMEDOUT` (timeout) or `ECANCELED` (kill), as do further
//! cooperative hooked calls of that greenlet, and the kill or timeout is
//! raised at its next gevent switch point (or ends it, for a kill, when
//! its function returns). Sleeps are cut short instead.
//!
//! **Signal handlers.** Never park from a signal handler: a hook entered
//! while the same thread is already inside a hook passes the call through
//! (a handler that interrupted a hook is treated that way), but a handler
//! that interrupts plain greenlet code and calls a blocking function on a
//! blocking descriptor would park in the handler. Signal handlers should
//! do async-signal-safe work only (write to a non-blocking pipe, set a
//! flag), which the hooks pass through; use
//! [`core::Signal`](crate::core::Signal) watchers to run code in the hub.
//!
//! Not covered: `std::sync::Mutex` and other futex waits, regular-file
//! I/O (always "ready"), `io_uring` used directly, raw `syscall()`s,
//! statically linked programs (no interposition), descriptors numbered
//! from 262,144 on.
//!
//! # Example
//!
//! ```rust,standalone_crate
//! use std::time::{Duration, Instant};
//! gevent::monkey::patch_all()?;
//! let t = Instant::now();
//! let sleepers: Vec<_> = (0..10)
//!     .map(|_| gevent::spawn(|| std::thread::sleep(Duration::from_millis(50))))
//!     .collect();
//! gevent::joinall(&sleepers, None)?;
//! // Ten std sleeps of 50 ms ran at the same time.
//! assert!(t.elapsed() < Duration::from_millis(400));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) mod fd_table;
mod hooks;
pub(crate) mod real;
mod wait;

/// A group of hooked calls, for [`is_patched`].
///
/// ```
/// use gevent::monkey::{Patch, is_patched, patch_time};
///
/// patch_time()?;
/// assert!(is_patched(Patch::Time));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Patch {
    /// Sockets and pipes: `connect`, `accept`, `accept4`, `read`,
    /// `write`, `readv`, `writev`, `recv`, `recvfrom`, `recvmsg`, `send`,
    /// `sendto`, `sendmsg` ([`patch_socket`]).
    Socket,
    /// `nanosleep`, `clock_nanosleep`, `usleep`, `sleep` ([`patch_time`]).
    Time,
    /// `getaddrinfo`, `getnameinfo` ([`patch_dns`]).
    Dns,
    /// `poll`, `ppoll`, `select` ([`patch_select`]).
    Select,
    /// `waitpid`, `wait4` ([`patch_process`]).
    Process,
}

impl Patch {
    const fn bit(self) -> u32 {
        match self {
            Patch::Socket => 1,
            Patch::Time => 2,
            Patch::Dns => 4,
            Patch::Select => 8,
            Patch::Process => 16,
        }
    }
}

/// The patched groups (bits of [`Patch::bit`]).
static PATCHED: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// Non-zero while the thread must not be intercepted: inside libev
    /// (`ev_run`, `ev_sleep`), or inside a hook's own bookkeeping.
    static SUPPRESS: Cell<u32> = const { Cell::new(0) };
}

/// Whether group `bit` is patched (the one check an unpatched call pays).
#[inline(always)]
fn patched(p: Patch) -> bool {
    PATCHED.load(Ordering::Relaxed) & p.bit() != 0
}

/// Whether the running code may park: a greenlet (not the hub) of a thread
/// with a hub, not inside libev or another hook, not unwinding.
#[inline]
fn cooperative() -> bool {
    if SUPPRESS.with(|s| s.get()) != 0 {
        return false;
    }
    let Some(hub) = crate::hub::existing_hub() else {
        return false;
    };
    let cur = crate::greenlet::switch::current_ptr();
    !cur.is_null() && !std::ptr::eq(cur, hub.hub_state()) && !std::thread::panicking()
}

/// Marks the thread as inside libev (or a hook's bookkeeping) until
/// dropped: hooked calls made meanwhile go straight to the C library.
pub(crate) struct Suppress(());

impl Suppress {
    #[inline]
    pub(crate) fn enter() -> Suppress {
        SUPPRESS.with(|s| s.set(s.get() + 1));
        Suppress(())
    }
}

/// Sets the thread's suppression depth to `v`, returning the old one: a
/// hook parks with it at zero (other greenlets' hooked calls must work
/// meanwhile) and restores its own on resumption.
pub(crate) fn suppress_swap(v: u32) -> u32 {
    SUPPRESS.with(|s| s.replace(v))
}

impl Drop for Suppress {
    #[inline]
    fn drop(&mut self) {
        SUPPRESS.with(|s| s.set(s.get().saturating_sub(1)));
    }
}

fn patch(p: Patch) -> io::Result<()> {
    if !real::resolve_all() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "gevent::monkey: the C library's functions cannot be found with dlsym(RTLD_NEXT) \
             (a statically linked program cannot be patched)",
        ));
    }
    if !hooks::linked() {
        return Err(io::Error::other(
            "gevent::monkey: the hooks are not linked into this program",
        ));
    }
    PATCHED.fetch_or(p.bit(), Ordering::SeqCst);
    Ok(())
}

/// Makes every hooked call cooperative inside greenlets: [`patch_socket`],
/// [`patch_time`], [`patch_dns`], [`patch_select`] and [`patch_process`].
/// Call it once, early (before starting threads is not required: the
/// hooks decide per call). Idempotent; there is no unpatching.
///
/// # Errors
///
/// `Unsupported` if the C library's functions cannot be found (a
/// statically linked program); `Other` if the hooks were not linked in.
///
/// # Examples
///
/// ```rust,standalone_crate
/// use std::io::{Read, Write};
/// gevent::monkey::patch_all()?;
/// // Plain std sockets, each side in a greenlet of the same thread.
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = gevent::spawn(move || -> std::io::Result<()> {
///     let (mut c, _) = listener.accept()?;
///     let mut buf = [0; 5];
///     c.read_exact(&mut buf)?;
///     c.write_all(&buf)
/// });
/// let mut c = std::net::TcpStream::connect(addr)?;
/// c.write_all(b"hello")?;
/// let mut buf = [0; 5];
/// c.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hello");
/// server.take()??;
/// assert!(gevent::monkey::is_patched(gevent::monkey::Patch::Socket));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn patch_all() -> io::Result<()> {
    for p in [
        Patch::Socket,
        Patch::Time,
        Patch::Dns,
        Patch::Select,
        Patch::Process,
    ] {
        patch(p)?;
    }
    Ok(())
}

/// Makes socket and pipe calls cooperative ([`Patch::Socket`]), with the
/// `close`, `dup2`, `dup3`, `fcntl`, `ioctl(FIONBIO)` and `setsockopt`
/// bookkeeping that keeps descriptors' state right.
///
/// # Errors
///
/// As for [`patch_all`].
///
/// # Examples
///
/// ```rust,standalone_crate
/// gevent::monkey::patch_socket()?;
/// assert!(gevent::monkey::is_patched(gevent::monkey::Patch::Socket));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn patch_socket() -> io::Result<()> {
    patch(Patch::Socket)
}

/// Makes `nanosleep`, `clock_nanosleep`, `usleep` and `sleep` (and so
/// `std::thread::sleep`) cooperative ([`Patch::Time`]).
///
/// # Errors
///
/// As for [`patch_all`].
///
/// # Examples
///
/// ```rust,standalone_crate
/// gevent::monkey::patch_time()?;
/// let g = gevent::spawn(|| std::thread::sleep(std::time::Duration::from_millis(5)));
/// g.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn patch_time() -> io::Result<()> {
    patch(Patch::Time)
}

/// Makes `getaddrinfo` and `getnameinfo` (and so
/// `std::net::ToSocketAddrs`) cooperative ([`Patch::Dns`]): the C
/// library's resolver runs on the hub's thread pool while the greenlet
/// waits.
///
/// # Errors
///
/// As for [`patch_all`].
///
/// # Examples
///
/// ```rust,standalone_crate
/// use std::net::ToSocketAddrs;
/// gevent::monkey::patch_dns()?;
/// let n = ("localhost", 80).to_socket_addrs()?.count();
/// assert!(n >= 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn patch_dns() -> io::Result<()> {
    patch(Patch::Dns)
}

/// Makes `poll`, `ppoll` and `select` cooperative ([`Patch::Select`]).
///
/// # Errors
///
/// As for [`patch_all`].
///
/// # Examples
///
/// ```rust,standalone_crate
/// gevent::monkey::patch_select()?;
/// assert!(gevent::monkey::is_patched(gevent::monkey::Patch::Select));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn patch_select() -> io::Result<()> {
    patch(Patch::Select)
}

/// Makes `waitpid` and `wait4` (and so `std::process::Child::wait` and
/// `Command::output`) cooperative ([`Patch::Process`]).
///
/// # Errors
///
/// As for [`patch_all`].
///
/// # Examples
///
/// ```rust,standalone_crate
/// gevent::monkey::patch_process()?;
/// let out = gevent::spawn(|| std::process::Command::new("true").status());
/// assert!(out.take()??.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn patch_process() -> io::Result<()> {
    patch(Patch::Process)
}

/// Whether `what` was patched.
///
/// # Examples
///
/// ```rust,standalone_crate
/// use gevent::monkey::{Patch, is_patched, patch_time};
/// patch_time()?;
/// assert!(is_patched(Patch::Time));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_patched(what: Patch) -> bool {
    patched(what)
}
