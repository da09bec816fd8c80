//! [`fork`] and [`fork_and_watch`]: gevent's `gevent.fork` and
//! `gevent.os.fork_and_watch`.

use std::io;
use std::process::ExitStatus;

use super::reap;

/// Which side of a [`fork`] the caller is on.
///
/// ```
/// use gevent::ForkResult;
/// let r = ForkResult::Parent(42);
/// assert_ne!(r, ForkResult::Child);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ForkResult {
    /// In the parent: the child's pid.
    Parent(i32),
    /// In the child.
    Child,
}

/// Forks the process (gevent's `gevent.fork`): in the child, the hub's
/// loop re-creates its kernel state (`ev_loop_fork`) before its next poll,
/// and the thread pool and the process reaper start afresh on first use.
///
/// # What survives in the child
///
/// * Only the calling OS thread. Other threads' hubs and greenlets are
///   gone (their memory is copied but never runs again).
/// * The calling thread's hub and **all** its greenlets, as in gevent: the
///   forking greenlet continues (with [`ForkResult::Child`]), the others
///   stay parked or ready and go on running when it blocks; their
///   watchers (sockets, timers) are re-armed on the new kernel state. A
///   pre-fork server relies on exactly this. Kill what the child should
///   not run.
/// * The hub's thread pool is re-created lazily on its next use (new
///   workers). Jobs that were running on the parent's workers at the time
///   of the fork never complete in the child; jobs still queued run.
/// * [`Child`](super::Child) handles copied from the parent must not be
///   used in the child (the processes are the parent's children).
///
/// # Safety
///
/// As for `fork(2)` in a multi-threaded process: if other threads exist,
/// the child may find locks held by threads that no longer exist (in the
/// allocator, stdio, user code). gevent's own state is safe: its locks are
/// taken across the fork or re-created. Call this before starting other
/// threads, or use only async-signal-safe functions in the child before
/// `exec`.
///
/// # Errors
///
/// `fork(2)`'s error (`WouldBlock` for `EAGAIN`, `OutOfMemory`).
///
/// ```rust,standalone_crate
/// use gevent::ForkResult;
/// // SAFETY: the child only calls _exit, which is async-signal-safe (a
/// // single-threaded program could go on using gevent there).
/// match unsafe { gevent::fork() }? {
///     ForkResult::Child => unsafe { libc::_exit(7) },
///     ForkResult::Parent(pid) => {
///         assert_eq!(gevent::process::waitpid(pid)?.code(), Some(7));
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub unsafe fn fork() -> io::Result<ForkResult> {
    crate::hub::install_fork_hook();
    // Hold our own locks across the fork, so the child's copies are not
    // left locked by threads that do not exist there.
    let mut orphans = reap::orphans();
    let monitor = crate::monitor::lock_for_fork();
    // SAFETY: the caller accepts fork's rules for multi-threaded programs
    // (see # Safety); the atfork hook marks the hub for ev_loop_fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        reap::forget_orphans_after_fork(&mut orphans);
        crate::monitor::after_fork_in_child(monitor);
        drop(orphans);
        return Ok(ForkResult::Child);
    }
    drop(monitor);
    drop(orphans);
    Ok(ForkResult::Parent(pid))
}

/// [`fork`], and in the parent a greenlet (named `fork_and_watch(<pid>)`)
/// that waits cooperatively for the child and then calls `callback` with
/// its pid and exit status (gevent's `fork_and_watch`). The greenlet keeps
/// the hub's loop alive until the child exits.
///
/// # Safety
///
/// As for [`fork`].
///
/// # Errors
///
/// As for [`fork`]. A failed wait (the child reaped elsewhere) is printed
/// on stderr and the callback is not called.
///
/// ```rust,standalone_crate
/// use gevent::ForkResult;
/// use std::{cell::Cell, rc::Rc};
/// let code = Rc::new(Cell::new(None));
/// let c2 = code.clone();
/// // SAFETY: the child only calls _exit, which is async-signal-safe.
/// match unsafe { gevent::fork_and_watch(move |_pid, st| c2.set(st.code())) }? {
///     ForkResult::Child => unsafe { libc::_exit(3) },
///     ForkResult::Parent(_) => {
///         for _ in 0..10_000 {
///             if code.get().is_some() { break }
///             gevent::sleep(std::time::Duration::from_millis(1));
///         }
///         assert_eq!(code.get(), Some(3));
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub unsafe fn fork_and_watch<F>(callback: F) -> io::Result<ForkResult>
where
    F: FnOnce(i32, ExitStatus) + 'static,
{
    // SAFETY: the caller upholds fork's contract.
    let r = unsafe { fork() }?;
    if let ForkResult::Parent(pid) = r {
        crate::Builder::new()
            .name(format!("fork_and_watch({pid})"))
            .spawn(move || match super::waitpid(pid) {
                Ok(st) => callback(pid, st),
                Err(e) => eprintln!("gevent: fork_and_watch({pid}): {e}"),
            });
    }
    Ok(r)
}
