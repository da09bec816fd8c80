//! What the `monkey` hooks cost when they pass a call through: a
//! non-blocking `recv` that finds nothing (`EAGAIN`), timed through the
//! hook before `patch_all()`, through the hook after it on a thread
//! without a hub (one flag check more), the C library's `recv` called
//! directly, and a raw `syscall`.
//!
//! ```text
//! cargo run --release --features monkey --example bench_monkey
//! ```

use std::os::fd::AsRawFd;
use std::time::Instant;

const N: u32 = 1_000_000;

/// Nanoseconds per call of `f`, best of 5 runs of N calls.
fn ns_per_call(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..N {
                f();
            }
            t.elapsed().as_secs_f64() * 1e9 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> std::io::Result<()> {
    let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    let fd = a.as_raw_fd();
    let mut buf = [0u8; 16];
    let p = buf.as_mut_ptr();
    let mut hooked = || {
        // SAFETY: a valid socket and buffer.
        std::hint::black_box(unsafe { libc::recv(fd, p.cast(), 16, libc::MSG_DONTWAIT) });
    };
    let raw = || {
        // SAFETY: as above, through the raw syscall (never hooked).
        std::hint::black_box(unsafe {
            libc::syscall(
                libc::SYS_recvfrom,
                fd,
                p,
                16usize,
                libc::MSG_DONTWAIT,
                0usize,
                0usize,
            )
        });
    };
    // The C library's own recv, called directly (what the hook calls).
    // SAFETY: RTLD_NEXT lookup of a libc function with this prototype.
    let libc_recv: unsafe extern "C" fn(i32, *mut libc::c_void, usize, i32) -> isize = unsafe {
        let f = libc::dlsym(libc::RTLD_NEXT, c"recv".as_ptr());
        assert!(!f.is_null(), "no recv in the C library");
        std::mem::transmute(f)
    };
    let direct = || {
        // SAFETY: a valid socket and buffer.
        std::hint::black_box(unsafe { libc_recv(fd, p.cast(), 16, libc::MSG_DONTWAIT) });
    };
    let raw_ns = ns_per_call(raw);
    let direct_ns = ns_per_call(direct);
    let unpatched = ns_per_call(&mut hooked);
    gevent::monkey::patch_all()?;
    // This thread has no hub: the hook checks and passes through.
    let patched_plain = ns_per_call(&mut hooked);
    println!("raw_syscall_recv_ns {raw_ns:.1}");
    println!("libc_recv_direct_ns {direct_ns:.1}");
    println!("hooked_unpatched_recv_ns {unpatched:.1}");
    println!("hooked_patched_plain_thread_recv_ns {patched_plain:.1}");
    println!(
        "hook overhead over the C library's recv: unpatched {:+.1} ns, patched outside greenlets {:+.1} ns",
        unpatched - direct_ns,
        patched_plain - direct_ns
    );
    Ok(())
}
