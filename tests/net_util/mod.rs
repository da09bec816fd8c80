//! Helpers shared by the net test files.
#![allow(dead_code)]

use std::time::Duration;

use gevent::core::Loop;

/// How long any one test body may take before its enclosing Timeout fails it.
pub const BOUND: Duration = Duration::from_secs(20);

/// A short wait, for "nothing happens" checks (never a timing assertion).
pub const SHORT: Duration = Duration::from_millis(20);

/// Runs `f` on every usable backend, each on a fresh thread whose hub uses
/// it, inside a Timeout so that a bug fails instead of hanging.
pub fn each_backend<F>(f: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for b in Loop::usable_backends().iter().filter(|&b| testable(b)) {
        let f = f.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gevent::run_on_backend(b, move || gevent::with_timeout(BOUND, f))
        }));
        match r {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("backend {b}: the test body failed: {e}"),
            Ok(Err(e)) => panic!("backend {b}: cannot run: {e}"),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("backend {b}: {msg}");
            }
        }
    }
}

/// Raises the soft RLIMIT_NOFILE to at least `n` (up to the hard limit).
pub fn raise_nofile(n: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < n {
            r.rlim_cur = n.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The inode of the socket behind `fd`.
pub fn inode(fd: std::os::fd::RawFd) -> u64 {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a valid struct; errors leave it zero.
    assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0, "fstat({fd})");
    st.st_ino
}

/// Whether any descriptor of this process refers to socket inode `ino`.
pub fn socket_inode_open(ino: u64) -> bool {
    let want = format!("socket:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .any(|l| l.to_string_lossy() == want)
        })
        .unwrap_or(false)
}

/// A fresh path for a Unix socket in a per-test temporary directory.
pub fn sock_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("gevent-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_file(&p);
    p
}

/// Whether this test process runs under valgrind (its preload library is
/// mapped). Valgrind cannot emulate the poll requests of libev's linuxaio
/// backend, and a loop waiting in `io_uring_enter` under valgrind is not
/// woken by another thread (valgrind 3.19: `async_from_another_thread`
/// hangs on io_uring only): tests hang or fail on those two backends, so
/// the backend iteration skips them under valgrind (see `.ci/memcheck`).
pub fn under_valgrind() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|m| m.contains("vgpreload"))
}

/// Whether the backend iteration runs `b` (everything but linuxaio and
/// io_uring under valgrind).
pub fn testable(b: gevent::core::Backend) -> bool {
    use gevent::core::Backend::{IoUring, LinuxAio};
    !(matches!(b, LinuxAio | IoUring) && under_valgrind())
}
