//! Shared helpers of the peer benchmarks: output format and RSS.

use std::time::{Duration, Instant};

/// Prints one figure as `name value unit`, the format of gevent's
/// `bench_greenlet`.
pub fn report(name: &str, value: f64, unit: &str) {
    if unit == "ns" {
        println!("{name} {value:.1} {unit}");
    } else if unit == "us" {
        println!("{name} {value:.2} {unit}");
    } else {
        println!("{name} {value:.0} {unit}");
    }
}

/// Best of `runs` results of `f` (lower is better).
pub fn best_of(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(f64::INFINITY, f64::min)
}

/// Nanoseconds per operation since `t`.
pub fn ns_per(t: Instant, ops: u64) -> f64 {
    t.elapsed().as_nanos() as f64 / ops as f64
}

/// Resident set size in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}

/// The figure named on the command line, if any.
pub fn only() -> Option<String> {
    std::env::args().nth(1)
}

/// Whether figure `name` should run.
pub fn wanted(name: &str) -> bool {
    only().is_none_or(|o| o == name)
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which a busy
/// machine disturbs less than wall-clock time.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time used by the whole process (every thread) so far.
pub fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
