//! Telling valgrind about greenlet stacks, at no cost when it is absent.
//!
//! Memcheck tracks which stack the program runs on by watching the stack
//! pointer. A greenlet switch moves it from one stack to another; stacks
//! carved out of the same slab sit only a slot apart, so without help
//! memcheck takes every switch for a huge frame being pushed or popped
//! and reports a flood of false "invalid read/write" and "uninitialised
//! value" errors, which hides the real ones. Valgrind's *stack client
//! requests* (`VALGRIND_STACK_REGISTER` / `VALGRIND_STACK_DEREGISTER`)
//! declare a range as a stack so that moving into it is a switch.
//!
//! A client request is a magic instruction sequence that does nothing on
//! a real CPU (a few rotations of a register by 128 bits in total and a
//! register exchange with itself) and that valgrind's JIT recognises. It
//! is written here with inline assembly following the protocol documented
//! in valgrind's `valgrind.h`, rather than by compiling that header with
//! the C build or depending on a crate that does: the header is not on
//! every build machine (it comes with valgrind's development files), and
//! the three requests used here need a dozen lines. Whether the process
//! runs under valgrind is asked once (`RUNNING_ON_VALGRIND`) and cached,
//! so outside valgrind registering a stack costs one relaxed load.
//!
//! Architectures other than x86_64 and aarch64 get the "not running under
//! valgrind" answer (no requests are made).

use std::sync::atomic::{AtomicU8, Ordering};

const RUNNING_ON_VALGRIND: usize = 0x1001;
const STACK_REGISTER: usize = 0x1501;
const STACK_DEREGISTER: usize = 0x1502;

/// Issues client request `args[0]` with arguments `args[1..]`; returns
/// `default` when not running under valgrind.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn request(args: &[usize; 6], default: usize) -> usize {
    let mut result = default;
    // SAFETY: on a real CPU this sequence rotates rdi by 3+13+61+51 = 128
    // bits (leaving it unchanged; it is declared clobbered anyway) and
    // exchanges rbx with itself: no memory is touched. Under valgrind it is
    // the documented client-request preamble: valgrind reads the six words
    // `args` points at (valid for the whole asm block) and writes the
    // result into rdx.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") result,
            out("rdi") _,
            options(nostack, preserves_flags, readonly),
        );
    }
    result
}

/// See the x86_64 version.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn request(args: &[usize; 6], default: usize) -> usize {
    let mut result = default;
    // SAFETY: on a real CPU the rotations of x12 total 128 bits (a no-op;
    // declared clobbered anyway) and `orr x10, x10, x10` changes nothing.
    // Under valgrind it is the documented client-request preamble: x4
    // points at the six argument words (valid for the block) and the
    // result comes back in x3.
    unsafe {
        std::arch::asm!(
            "ror x12, x12, #3",
            "ror x12, x12, #13",
            "ror x12, x12, #51",
            "ror x12, x12, #61",
            "orr x10, x10, x10",
            in("x4") args.as_ptr(),
            inout("x3") result,
            out("x12") _,
            options(nostack, preserves_flags, readonly),
        );
    }
    result
}

/// No client requests on other architectures.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn request(_args: &[usize; 6], default: usize) -> usize {
    default
}

/// 0: not asked yet, 1: not under valgrind, 2: under valgrind.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether this process runs under valgrind (asked once, then cached).
#[inline]
pub(crate) fn running() -> bool {
    match STATE.load(Ordering::Relaxed) {
        0 => detect(),
        s => s == 2,
    }
}

#[cold]
fn detect() -> bool {
    let on = request(&[RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0], 0) != 0;
    STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    on
}

/// Declares `[lo, hi)` a stack; returns valgrind's id for it (0 when not
/// running under valgrind, which [`deregister_stack`] ignores).
#[inline]
pub(crate) fn register_stack(lo: usize, hi: usize) -> usize {
    if !running() {
        return 0;
    }
    // Valgrind's id 0 is a valid id; store it shifted so 0 means "none".
    request(&[STACK_REGISTER, lo, hi, 0, 0, 0], 0) + 1
}

/// Withdraws a registration made by [`register_stack`].
#[inline]
pub(crate) fn deregister_stack(id: usize) {
    if id != 0 && running() {
        request(&[STACK_DEREGISTER, id - 1, 0, 0, 0, 0], 0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_are_harmless_and_consistent() {
        // Outside valgrind (the normal test run) nothing is registered;
        // under it the id is non-zero. Either way the calls return and the
        // answer is stable.
        let on = super::running();
        assert_eq!(on, super::running());
        let mut buf = vec![0u8; 4096];
        let lo = buf.as_mut_ptr() as usize;
        let id = super::register_stack(lo, lo + buf.len());
        assert_eq!(id != 0, on);
        super::deregister_stack(id);
    }
}
