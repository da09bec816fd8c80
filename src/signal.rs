//! Unix signals handled in greenlets (gevent's `gevent.signal_handler`).
//!
//! * [`signal_handler`]`(sig, f)` runs `f` in a new greenlet each time
//!   `sig` arrives, until the returned [`SignalHandler`] is cancelled or
//!   dropped, which restores the disposition the signal had before.
//! * [`wait_signal`]`(&[sigs], timeout)` parks the calling greenlet until
//!   one of `sigs` arrives.
//!
//! Handlers never run inside the C signal handler: libev's handler only
//! records the signal and wakes the loop, and the hub then starts the
//! greenlet, so `f` may do anything a greenlet does (block, use
//! sockets, stop a server).
//!
//! # Rules
//!
//! * **One loop owns a signal.** libev delivers a signal to one loop at a
//!   time. The first hub (thread) that watches a signal owns it until its
//!   last handler or wait for that signal ends; another hub asking for the
//!   same signal meanwhile gets `ErrorKind::AddrInUse` (never libev's
//!   abort). Several handlers and waits on the *same* hub share the
//!   signal: each arrival runs every handler and wakes every waiter. The
//!   signal itself may be delivered to any thread of the process: libev
//!   forwards it to the owning loop.
//! * **Refused signals.** `SIGKILL` and `SIGSTOP` cannot be caught;
//!   numbers outside `1..=64` (`1..=31` off Linux) do not exist: both give
//!   `ErrorKind::InvalidInput`. `SIGCHLD` is reserved for the child
//!   watcher that reaps subprocesses (libev's default loop owns it; see
//!   `gevent::core::Child`): also `InvalidInput`.
//! * **Dispositions.** The first handler or wait for a signal saves the
//!   signal's disposition (default, ignored, or a handler installed with
//!   `sigaction`) and the last one to end restores it. A handler installed
//!   behind the crate's back meanwhile is overwritten then.
//! * Coalescing: like any Unix signal, several arrivals before the hub
//!   runs may count as one.
//!
//! # Example
//!
//! ```
//! use gevent::signal::{signal_handler, wait_signal};
//! use std::{cell::Cell, rc::Rc, time::Duration};
//!
//! let count = Rc::new(Cell::new(0));
//! let c = count.clone();
//! let handler = signal_handler(libc::SIGUSR2, move || c.set(c.get() + 1))?;
//! // SAFETY: raising a signal we handle.
//! unsafe { libc::raise(libc::SIGUSR2) };
//! gevent::sleep(Duration::from_millis(20));
//! assert_eq!(count.get(), 1);
//! handler.cancel(); // SIGUSR2's previous disposition is back
//!
//! gevent::spawn_later(Duration::from_millis(5), || unsafe { libc::raise(libc::SIGUSR2) });
//! assert_eq!(wait_signal(&[libc::SIGUSR2], Some(Duration::from_secs(5)))?, Some(libc::SIGUSR2));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use crate::core::Signal;
use crate::core::signals::{MAX_SIGNAL, check_signum};
use crate::hub::{self, Waker, hub_inner};

/// Per signal: how many handlers and waits of this crate use it, and the
/// disposition to restore when the last one ends.
struct Saved {
    users: usize,
    old: Option<libc::sigaction>,
}

static SAVED: Mutex<Vec<Saved>> = Mutex::new(Vec::new());

fn saved() -> std::sync::MutexGuard<'static, Vec<Saved>> {
    let mut g = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    if g.is_empty() {
        g.extend((0..=MAX_SIGNAL).map(|_| Saved {
            users: 0,
            old: None,
        }));
    }
    g
}

/// Checks that `signum` is one this module may handle.
fn check(signum: i32) -> io::Result<()> {
    check_signum(signum)?;
    if signum == libc::SIGCHLD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "SIGCHLD is reserved for the child watcher that reaps subprocesses; wait for children instead",
        ));
    }
    Ok(())
}

/// A started watcher for one signal whose disposition is restored when
/// it is dropped.
struct Owned {
    watcher: Signal,
    signum: i32,
}

impl Owned {
    /// Starts `watcher` (for `signum`), saving the disposition first if
    /// this is the signal's first user.
    fn start(watcher: Signal, signum: i32) -> io::Result<Owned> {
        let mut s = saved();
        let first = s[signum as usize].users == 0;
        if first {
            // SAFETY: reads the current disposition into a zeroed struct.
            let old = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signum, std::ptr::null(), &mut old);
                old
            };
            s[signum as usize].old = Some(old);
        }
        if let Err(e) = watcher.start() {
            if first {
                s[signum as usize].old = None;
            }
            return Err(e);
        }
        s[signum as usize].users += 1;
        Ok(Owned { watcher, signum })
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let mut s = saved();
        // libev resets the signal to SIG_DFL when its last watcher stops;
        // the saved disposition replaces that right after.
        self.watcher.stop();
        let slot = &mut s[self.signum as usize];
        slot.users = slot.users.saturating_sub(1);
        if slot.users == 0 {
            if let Some(old) = slot.old.take() {
                // SAFETY: restores a disposition read by sigaction before.
                unsafe { libc::sigaction(self.signum, &old, std::ptr::null_mut()) };
            }
        }
    }
}

/// A signal handler installed with [`signal_handler`]. Cancel it (or drop
/// it) to stop handling the signal; the signal's previous disposition is
/// restored when the last handler or wait for it ends.
///
/// # Examples
///
/// ```
/// let h = gevent::signal::signal_handler(libc::SIGUSR1, || println!("got SIGUSR1"))?;
/// assert_eq!(h.signum(), libc::SIGUSR1);
/// drop(h); // same as h.cancel()
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SignalHandler {
    owned: Owned,
}

impl SignalHandler {
    /// The signal number.
    ///
    /// ```
    /// let h = gevent::signal::signal_handler(libc::SIGHUP, || {})?;
    /// assert_eq!(h.signum(), libc::SIGHUP);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signum(&self) -> i32 {
        self.owned.signum
    }

    /// Stops handling the signal (handlers already running go on).
    ///
    /// ```
    /// let h = gevent::signal::signal_handler(libc::SIGHUP, || {})?;
    /// h.cancel();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(self) {
        drop(self)
    }
}

impl fmt::Debug for SignalHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalHandler")
            .field("signum", &self.owned.signum)
            .finish()
    }
}

/// Runs `f` in a new greenlet of this thread's hub each time signal
/// `signum` arrives (gevent's `gevent.signal_handler`), until the returned
/// handle is cancelled or dropped. The handler does not keep the hub
/// alive: a program whose greenlets are all done exits even with
/// handlers installed.
///
/// # Errors
///
/// `InvalidInput` for `SIGKILL`, `SIGSTOP`, `SIGCHLD` or a number out of
/// range; `AddrInUse` if another hub (thread) owns the signal (see the
/// [module docs](self)).
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let hits = Rc::new(Cell::new(0));
/// let h2 = hits.clone();
/// let _h = gevent::signal::signal_handler(libc::SIGWINCH, move || h2.set(h2.get() + 1))?;
/// // SAFETY: raising a signal we handle.
/// unsafe { libc::raise(libc::SIGWINCH) };
/// gevent::sleep(Duration::from_millis(20));
/// assert_eq!(hits.get(), 1);
/// assert!(gevent::signal::signal_handler(libc::SIGKILL, || {}).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal_handler<F: Fn() + 'static>(signum: i32, f: F) -> io::Result<SignalHandler> {
    check(signum)?;
    let f: Rc<dyn Fn()> = Rc::new(f);
    let watcher = Signal::new(hub_inner().loop_(), signum, move |_, _| {
        let f = f.clone();
        crate::Builder::new()
            .name(format!("signal handler ({})", signal_name(signum)))
            .spawn(move || f());
    })?;
    watcher.set_keepalive(false);
    Ok(SignalHandler {
        owned: Owned::start(watcher, signum)?,
    })
}

/// Parks the calling greenlet until one of `signals` arrives or
/// `timeout` runs out (`None`: no limit); returns the signal, or `None`
/// on timeout. While it waits, the signals are handled by this hub (their
/// dispositions are restored afterwards).
///
/// # Errors
///
/// As for [`signal_handler`], for any of `signals`; `InvalidInput` for an
/// empty list; the hub's errors as `io::Error` (waiting in the hub or
/// while unwinding).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// gevent::spawn(|| unsafe { libc::raise(libc::SIGUSR1) }); // SAFETY: handled below
/// let sig = gevent::signal::wait_signal(&[libc::SIGUSR1, libc::SIGUSR2], Some(Duration::from_secs(5)))?;
/// assert_eq!(sig, Some(libc::SIGUSR1));
/// assert_eq!(gevent::signal::wait_signal(&[libc::SIGUSR1], Some(Duration::from_millis(1)))?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_signal(signals: &[i32], timeout: Option<Duration>) -> io::Result<Option<i32>> {
    if signals.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "wait_signal needs at least one signal",
        ));
    }
    for &s in signals {
        check(s)?;
    }
    hub::check_can_block()?;
    let lp = hub_inner().loop_();
    let got: Rc<Cell<Option<i32>>> = Rc::new(Cell::new(None));
    let waker = Waker::current();
    let mut owned = Vec::with_capacity(signals.len());
    for &s in signals {
        if owned.iter().any(|o: &Owned| o.signum == s) {
            continue;
        }
        let (g, w) = (got.clone(), waker.clone());
        let watcher = Signal::new(lp, s, move |_, _| {
            if g.get().is_none() {
                g.set(Some(s));
            }
            w.wake();
        })?;
        owned.push(Owned::start(watcher, s)?);
    }
    let timer = crate::net::wait::wake_timer(lp, timeout, &waker)?;
    loop {
        if let Some(s) = got.get() {
            return Ok(Some(s));
        }
        if timer.as_ref().is_some_and(|t| !t.is_active()) {
            return Ok(None);
        }
        hub::park()?;
    }
}

/// The conventional name of a signal (`"SIGTERM"`), or its number.
fn signal_name(signum: i32) -> String {
    let name = match signum {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGWINCH => "SIGWINCH",
        _ => return format!("signal {signum}"),
    };
    name.to_string()
}
