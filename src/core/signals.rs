//! Process-wide signal bookkeeping that libev would otherwise `assert` on:
//! which loop owns which signal, the default loop's creation, and when the
//! default loop reaps children (`SIGCHLD`).

use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

use libev_sys as ffi;

/// Highest signal number libev handles (`EV_NSIG - 1`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const MAX_SIGNAL: i32 = 64;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const MAX_SIGNAL: i32 = 31;

struct Registry {
    /// Per signal: the owning loop (as an address) and how many active
    /// watchers on it use the signal.
    owners: [(usize, usize); MAX_SIGNAL as usize + 1],
    default_loop: usize,
    /// Active users of SIGCHLD on the default loop (child watchers and
    /// SIGCHLD signal watchers); while positive, SIGCHLD is delivered to libev.
    child_users: usize,
    saved_sigchld: Option<libc::sigaction>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    owners: [(0, 0); MAX_SIGNAL as usize + 1],
    default_loop: 0,
    child_users: 0,
    saved_sigchld: None,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks that `signum` is a signal libev can watch.
pub(crate) fn check_signum(signum: i32) -> io::Result<()> {
    if !(1..=MAX_SIGNAL).contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid signal number {signum}: must be between 1 and {MAX_SIGNAL}"),
        ));
    }
    if signum == libc::SIGKILL || signum == libc::SIGSTOP {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} (SIGKILL/SIGSTOP) cannot be caught"),
        ));
    }
    Ok(())
}

/// Registers an active watcher of `signum` on `lp`.
pub(crate) fn acquire(lp: *mut ffi::ev_loop, signum: i32) -> io::Result<()> {
    check_signum(signum)?;
    let mut r = registry();
    let me = lp as usize;
    if signum == libc::SIGCHLD && me != r.default_loop {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "SIGCHLD belongs to the default loop, which uses it for child watchers; watch it on Loop::default_loop()",
        ));
    }
    let slot = &mut r.owners[signum as usize];
    if slot.1 > 0 && slot.0 != me {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "signal {signum} is already watched by another loop; a signal can belong to one loop at a time"
            ),
        ));
    }
    *slot = (me, slot.1 + 1);
    if signum == libc::SIGCHLD {
        child_user_added(&mut r);
    }
    Ok(())
}

/// Unregisters a watcher registered with [`acquire`].
pub(crate) fn release(lp: *mut ffi::ev_loop, signum: i32) {
    let mut r = registry();
    let slot = &mut r.owners[signum as usize];
    if slot.0 == lp as usize && slot.1 > 0 {
        slot.1 -= 1;
    }
    if signum == libc::SIGCHLD {
        child_user_removed(&mut r);
    }
}

/// A child watcher started on the default loop.
pub(crate) fn child_watcher_started() {
    let mut r = registry();
    let first = r.child_users == 0;
    child_user_added(&mut r);
    if first {
        // Until now nothing handled SIGCHLD, so a child that already exited
        // (say, between spawn and this start) went unnoticed and no further
        // SIGCHLD will come for it: make the loop sweep with waitpid once.
        // SAFETY: the default loop exists (child watchers live only there)
        // and owns SIGCHLD; ev_feed_signal only flags it and wakes the loop.
        unsafe { ffi::ev_feed_signal(libc::SIGCHLD) };
    }
}

/// A child watcher stopped on the default loop.
pub(crate) fn child_watcher_stopped() {
    child_user_removed(&mut registry());
}

extern "C" fn sigchld_handler(signum: libc::c_int) {
    // SAFETY: ev_feed_signal is async-signal-safe (it is what libev's own
    // handler calls) and SIGCHLD's loop is set while the default loop lives.
    unsafe { ffi::ev_feed_signal(signum) }
}

fn child_user_added(r: &mut Registry) {
    r.child_users += 1;
    if r.child_users == 1 {
        // SAFETY: plain sigaction calls with valid, zeroed structs.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = sigchld_handler as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigfillset(&mut sa.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGCHLD, &sa, &mut old);
            r.saved_sigchld = Some(old);
        }
    }
}

fn child_user_removed(r: &mut Registry) {
    if r.child_users == 0 {
        return;
    }
    r.child_users -= 1;
    if r.child_users == 0 {
        if let Some(old) = r.saved_sigchld.take() {
            // SAFETY: restores the disposition saved when reaping began.
            unsafe { libc::sigaction(libc::SIGCHLD, &old, std::ptr::null_mut()) };
        }
    }
}

/// Drops every registration of a loop that is being destroyed.
pub(crate) fn forget_loop(lp: *mut ffi::ev_loop) {
    let mut r = registry();
    for slot in r.owners.iter_mut() {
        if slot.0 == lp as usize {
            *slot = (0, 0);
        }
    }
}

/// Creates (once) or returns libev's default loop. `resolve` turns the
/// requested flags into the ones to pass (and a description for errors).
/// SIGCHLD's disposition is restored right after libev installs its own.
pub(crate) fn default_loop_ptr(
    resolve: impl FnOnce(u32) -> io::Result<(u32, String)>,
) -> io::Result<NonNull<ffi::ev_loop>> {
    let mut r = registry();
    if let Some(p) = NonNull::new(r.default_loop as *mut ffi::ev_loop) {
        return Ok(p);
    }
    let (flags, why) = resolve(ffi::EVFLAG_AUTO)?;
    if r.owners[libc::SIGCHLD as usize].1 > 0 {
        // Cannot happen (acquire refuses SIGCHLD elsewhere), but libev
        // would abort, so check.
        return Err(io::Error::other("SIGCHLD is owned by another loop"));
    }
    // SAFETY: plain sigaction calls; ev_default_loop accepts any flags and
    // returns NULL on failure.
    let ptr = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old);
        let p = ffi::ev_default_loop(flags);
        if !p.is_null() {
            libc::sigaction(libc::SIGCHLD, &old, std::ptr::null_mut());
        }
        p
    };
    let ptr = NonNull::new(ptr).ok_or_else(|| {
        let requested = super::Backends::from_bits(flags);
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{why}: libev could not create the default loop with backend {requested}; supported backends here: {}",
                super::Loop::supported_backends()
            ),
        )
    })?;
    r.default_loop = ptr.as_ptr() as usize;
    // libev's internal child watcher holds SIGCHLD on the default loop.
    r.owners[libc::SIGCHLD as usize] = (r.default_loop, 0);
    Ok(ptr)
}
