//! Stack-overflow reporting: the SIGSEGV/SIGBUS handler that recognises a
//! fault in the running greenlet's guard page, the async-signal-safe report,
//! chaining to the previous handler, and the alternate signal stack the
//! handler runs on.

use std::cell::{Cell, UnsafeCell};
use std::io;
use std::mem::{self, MaybeUninit};
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use libc::{c_int, c_void};

use super::guard::install_guard;
use super::slab::{Pool, map_slab};
use super::{ALTSTACK_MIN, AT_MINSIGSTKSZ, CURRENT, LABEL_CAP, StackRecord};

impl Pool {
    /// Makes sure this thread has an alternate signal stack.
    pub(super) fn ensure_altstack(&mut self) -> io::Result<()> {
        // SAFETY: an all-zero stack_t is a valid value to be overwritten.
        let mut cur: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: querying only; `cur` is a valid out-pointer.
        if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return Ok(()); // std's, or someone else's
        }
        // SAFETY: getauxval has no preconditions (0 when the key is absent).
        let min = unsafe { libc::getauxval(AT_MINSIGSTKSZ) } as usize;
        let size = (min.max(libc::SIGSTKSZ).max(ALTSTACK_MIN) + self.page - 1) & !(self.page - 1);
        let len = size + self.page;
        let base = map_slab(len)?;
        if let Err(e) = install_guard(base, self.page) {
            // SAFETY: just mapped, not shared.
            unsafe { libc::munmap(base as *mut c_void, len) };
            return Err(e);
        }
        let ss = libc::stack_t {
            ss_sp: (base + self.page) as *mut c_void,
            ss_flags: 0,
            ss_size: size,
        };
        // SAFETY: `ss` describes memory owned by this pool until the thread
        // exits (see `PoolOwner::drop`).
        if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: not installed, not shared.
            unsafe { libc::munmap(base as *mut c_void, len) };
            return Err(e);
        }
        self.altstack = Some((base, len, base + self.page));
        Ok(())
    }
}

/// Uninstalls (if still installed) and unmaps this thread's alternate
/// signal stack allocated by `ensure_altstack`.
pub(super) fn free_altstack(base: usize, len: usize, sp: usize) {
    // SAFETY: an all-zero stack_t is a valid value to be overwritten.
    let mut cur: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: querying only.
    if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
        return;
    }
    if cur.ss_flags & libc::SS_ONSTACK != 0 {
        return; // running on it (cannot happen in a TLS destructor): leak
    }
    if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_sp as usize == sp {
        let off = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling the thread's alternate stack, which is ours.
        unsafe { libc::sigaltstack(&off, ptr::null_mut()) };
    }
    // SAFETY: mapped by `ensure_altstack` and no longer installed.
    unsafe { libc::munmap(base as *mut c_void, len) };
}

/// The signal actions that were installed before ours.
struct SavedActions {
    /// Set once both slots are written (before our handler is installed).
    ready: AtomicBool,
    /// Previous SIGSEGV action.
    segv: UnsafeCell<MaybeUninit<libc::sigaction>>,
    /// Previous SIGBUS action.
    bus: UnsafeCell<MaybeUninit<libc::sigaction>>,
}

// SAFETY: the slots are written once, inside `INSTALL`, before `ready` is
// set with Release; afterwards they are only read.
unsafe impl Sync for SavedActions {}

/// Previous actions for chaining.
static SAVED: SavedActions = SavedActions {
    ready: AtomicBool::new(false),
    segv: UnsafeCell::new(MaybeUninit::uninit()),
    bus: UnsafeCell::new(MaybeUninit::uninit()),
};

/// Guards the one-time installation of the fault handler.
static INSTALL: Once = Once::new();

/// Installs the SIGSEGV/SIGBUS handler, once per process.
pub(super) fn install_handlers() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with valid pointers; the saved slots are written
        // before `ready` is published and before our handler can run.
        unsafe {
            for (sig, slot) in [(libc::SIGSEGV, &SAVED.segv), (libc::SIGBUS, &SAVED.bus)] {
                let old = (*slot.get()).as_mut_ptr();
                ptr::write(old, mem::zeroed());
                (*old).sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, ptr::null(), old);
            }
            SAVED.ready.store(true, Ordering::Release);
            let mut action: libc::sigaction = mem::zeroed();
            let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = on_fault;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut());
            libc::sigaction(libc::SIGBUS, &action, ptr::null_mut());
        }
    });
}

/// The SIGSEGV/SIGBUS handler: reports a fault in the running greenlet's
/// guard page, passes anything else on. Async-signal-safe: no allocation,
/// no locks, only `write` and `abort`.
extern "C" fn on_fault(sig: c_int, info: *mut libc::siginfo_t, uctx: *mut c_void) {
    let rec = CURRENT.with(Cell::get);
    // SAFETY: the kernel passes a valid siginfo; `si_code > 0` means it was
    // raised by a fault (not sent), so `si_addr` is meaningful. `rec` is
    // null or the record of a live stack of this thread.
    unsafe {
        if !rec.is_null() && !info.is_null() && (*info).si_code > 0 {
            let addr = (*info).si_addr() as usize;
            let rec = &*rec;
            if addr >= rec.guard_lo && addr < rec.bottom {
                report_overflow(rec);
                libc::abort();
            }
        }
        chain(sig, info, uctx);
    }
}

/// Writes the overflow report for `rec` to stderr (async-signal-safe).
fn report_overflow(rec: &StackRecord) {
    let mut msg = Message {
        buf: [0; 256],
        len: 0,
    };
    let len = usize::from(rec.label_len.get()).min(LABEL_CAP - 1);
    // SAFETY: `len < LABEL_CAP`; the label is written only by this thread,
    // which is inside this handler.
    let label = unsafe { std::slice::from_raw_parts(rec.label.get().cast::<u8>(), len) };
    msg.push(b"gevent: greenlet <Greenlet");
    if !label.is_empty() {
        msg.push(b" \"");
        msg.push(label);
        msg.push(b"\"");
    }
    msg.push(b"> overflowed its stack (");
    msg.push_decimal(rec.size());
    msg.push(b" bytes); use a larger stack_size\n");
    let mut out = &msg.buf[..msg.len];
    while !out.is_empty() {
        // SAFETY: writing initialised bytes to fd 2; write is
        // async-signal-safe.
        let n = unsafe { libc::write(2, out.as_ptr().cast(), out.len()) };
        if n > 0 {
            out = &out[n as usize..];
        } else if n == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
}

/// A fixed buffer for composing the report without allocating.
struct Message {
    /// The bytes.
    buf: [u8; 256],
    /// Bytes in use.
    len: usize,
}

impl Message {
    /// Appends as much of `bytes` as fits.
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// Appends `n` in decimal.
    fn push_decimal(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// Passes a fault that is not a greenlet overflow to the previous handler.
///
/// # Safety
///
/// Called from the signal handler with its arguments.
unsafe fn chain(sig: c_int, info: *mut libc::siginfo_t, uctx: *mut c_void) {
    let slot = if sig == libc::SIGBUS {
        &SAVED.bus
    } else {
        &SAVED.segv
    };
    let sent = info.is_null() || {
        // SAFETY: non-null siginfo from the kernel.
        unsafe { (*info).si_code <= 0 }
    };
    let old = if SAVED.ready.load(Ordering::Acquire) {
        // SAFETY: written before `ready` was set, never written again.
        Some(unsafe { (*slot.get()).assume_init_ref() })
    } else {
        None
    };
    let handler = old.map_or(libc::SIG_DFL, |o| o.sa_sigaction);
    if handler == libc::SIG_IGN && sent {
        return; // an ignored signal sent with kill(): ignore it
    }
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action; a fault then happens again when the
        // instruction is retried and kills the process as it would have
        // without us. A sent signal is re-raised (it is blocked until we
        // return).
        // SAFETY: async-signal-safe calls with valid arguments.
        unsafe {
            let mut dfl: libc::sigaction = mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(sig, &dfl, ptr::null_mut());
            if sent {
                libc::raise(sig);
            }
        }
        return;
    }
    // SAFETY: `old` is Some here (SIG_DFL otherwise); a handler installed
    // with SA_SIGINFO has the three-argument signature, otherwise the
    // one-argument one.
    unsafe {
        if old.is_some_and(|o| o.sa_flags & libc::SA_SIGINFO != 0) {
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                mem::transmute(handler);
            f(sig, info, uctx);
        } else {
            let f: extern "C" fn(c_int) = mem::transmute(handler);
            f(sig);
        }
    }
}
