// The one list of preprocessor defines used to configure libev.
//
// It is `include!`d by libev-sys's build.rs, which compiles
// vendor/libev/ev.c with the `cc` crate and, with the `bindgen` feature,
// regenerates src/bindings.rs with the same defines. Anything that changes
// a struct layout must therefore be changed here and nowhere else.

/// Defines for the given `CARGO_CFG_TARGET_OS` value, sorted by name.
#[allow(dead_code)]
fn libev_defines(target_os: &str) -> Vec<(&'static str, &'static str)> {
    let linux = target_os == "linux" || target_os == "android";
    let bsd = matches!(
        target_os,
        "macos" | "ios" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    );
    let on = |b: bool| if b { "1" } else { "0" };
    let mut d = vec![
        // libev's asserts abort the process. The misuse they catch is checked
        // by the safe layer first, except one that safe code cannot rule
        // out: an fd closed behind an io watcher's back. With asserts on,
        // poll, epoll, linuxaio and io_uring abort on it ("libev: event loop
        // rejected bad fd"); with NDEBUG libev takes its documented recovery
        // path and stops the watcher with EV_ERROR. (Python gevent's libev is
        // built with NDEBUG too.) Does not change any struct layout.
        ("NDEBUG", "1"),
        // Our own configuration instead of autoconf's config.h.
        ("EV_STANDALONE", "1"),
        // Every loop function takes the loop as its first argument.
        ("EV_MULTIPLICITY", "1"),
        // All watcher types and features.
        ("EV_FEATURES", "0x7f"),
        ("EV_USE_4HEAP", "1"),
        ("EV_HEAP_CACHE_AT", "1"),
        ("EV_USE_FLOOR", "1"),
        ("EV_USE_NANOSLEEP", "1"),
        ("EV_USE_MONOTONIC", "1"),
        ("EV_USE_REALTIME", "0"),
        // clock_gettime through libc (the vDSO, ~20 ns) rather than a raw
        // syscall (measured ~10x slower here); libev's default assumes a
        // libc that might pull in librt, which does not apply to us.
        ("EV_USE_CLOCK_SYSCALL", "0"),
        // Backends: everything the platform has.
        ("EV_USE_SELECT", "1"),
        ("EV_USE_POLL", "1"),
        ("EV_USE_EPOLL", on(linux)),
        ("EV_USE_LINUXAIO", on(linux)),
        ("EV_USE_IOURING", on(linux)),
        ("EV_USE_KQUEUE", on(bsd)),
        ("EV_USE_PORT", on(target_os == "solaris" || target_os == "illumos")),
        ("EV_USE_INOTIFY", on(linux)),
        ("EV_USE_EVENTFD", on(linux)),
        ("EV_USE_TIMERFD", on(linux)),
        // signalfd blocks signals in the thread's mask, which child processes
        // inherit; plain sigaction-based handling keeps std behaviour intact.
        ("EV_USE_SIGNALFD", "0"),
        // select uses libev's own growable fd bit vectors (no FD_SETSIZE
        // limit, unlike the fd_set variant, which asserts on fd >= 1024).
        ("EV_SELECT_IS_WINSOCKET", "0"),
        ("EV_SELECT_USE_FD_SET", "0"),
    ];
    if !linux {
        d.push(("HAVE_SYS_SELECT_H", "1"));
    }
    d.sort_by(|a, b| a.0.cmp(b.0));
    d
}
