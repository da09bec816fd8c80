//! Guard pages: `MADV_GUARD_INSTALL` markers where the kernel has them, the
//! `mprotect(PROT_NONE)` fallback elsewhere, and the `ENOMEM` explanation
//! (`vm.max_map_count`) when the fallback runs out of mappings.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use libc::c_void;

use super::MADV_GUARD_INSTALL;

/// Guard strategy not known yet (no guard installed in this process).
pub(super) const GUARD_UNKNOWN: u8 = 0;
/// Guards are `MADV_GUARD_INSTALL` markers.
pub(super) const GUARD_MADVISE: u8 = 1;
/// Guards are `mprotect(PROT_NONE)` pages.
pub(super) const GUARD_MPROTECT: u8 = 2;
/// How guard pages are made in this process (one of the `GUARD_*`).
pub(super) static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);

/// Makes the page at `addr` a guard page.
pub(super) fn install_guard(addr: usize, page: usize) -> io::Result<()> {
    let mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode != GUARD_MPROTECT && !forced_mprotect() {
        for _ in 0..64 {
            // SAFETY: `addr` is a page of a private anonymous mapping of ours
            // that holds no data.
            if unsafe { libc::madvise(addr as *mut c_void, page, MADV_GUARD_INSTALL) } == 0 {
                if mode == GUARD_UNKNOWN {
                    GUARD_MODE.store(GUARD_MADVISE, Ordering::Relaxed);
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR | libc::EAGAIN) => {}
                Some(libc::EINVAL) => {
                    // Unknown advice (or refused for this mapping): decide
                    // for good if this was the first try, else fall back for
                    // this guard only.
                    if mode == GUARD_UNKNOWN {
                        GUARD_MODE.store(GUARD_MPROTECT, Ordering::Relaxed);
                    }
                    break;
                }
                Some(libc::ENOMEM) => return Err(enomem_error("install a guard page")),
                _ => return Err(e),
            }
        }
    }
    if mode == GUARD_UNKNOWN && forced_mprotect() {
        GUARD_MODE.store(GUARD_MPROTECT, Ordering::Relaxed);
    }
    // SAFETY: as above; PROT_NONE on our own page.
    if unsafe { libc::mprotect(addr as *mut c_void, page, libc::PROT_NONE) } != 0 {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENOMEM) {
            enomem_error("mprotect a guard page")
        } else {
            e
        });
    }
    Ok(())
}

/// Tests can force the `mprotect` fallback through the environment.
#[cfg(test)]
fn forced_mprotect() -> bool {
    std::env::var_os("GEVENT_STACK_FORCE_MPROTECT").is_some()
}

/// The `mprotect` fallback is only forced in tests.
#[cfg(not(test))]
#[inline]
fn forced_mprotect() -> bool {
    false
}

/// Explains an `ENOMEM` from `op` (mmap, mprotect or madvise).
#[cold]
pub(super) fn enomem_error(op: &str) -> io::Error {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let maps = std::fs::read("/proc/self/maps")
        .ok()
        .map(|m| m.iter().filter(|&&b| b == b'\n').count());
    let fallback = GUARD_MODE.load(Ordering::Relaxed) == GUARD_MPROTECT;
    let near_limit = matches!((maps, limit), (Some(m), Some(l)) if m + 64 >= l);
    let limit_text = limit.map_or_else(|| "unknown".to_owned(), |l| l.to_string());
    let maps_text = maps.map_or_else(|| "unknown".to_owned(), |m| m.to_string());
    let msg = if fallback || near_limit {
        format!(
            "gevent: cannot {op} for a greenlet stack: vm.max_map_count reached \
             ({maps_text} memory mappings, limit {limit_text}); {}raise it with \
             `sysctl -w vm.max_map_count=N` or use fewer live greenlets",
            if fallback {
                "this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+), so every guarded \
                 stack costs 2 mappings and about half the limit can be live; "
            } else {
                ""
            }
        )
    } else {
        format!(
            "gevent: cannot {op} for a greenlet stack: out of memory or address space \
             (ENOMEM; {maps_text} memory mappings, vm.max_map_count {limit_text}); \
             use fewer live greenlets or a smaller stack_size"
        )
    };
    io::Error::new(io::ErrorKind::OutOfMemory, msg)
}
