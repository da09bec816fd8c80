//! Everything libev would `assert` on (and so abort the process) comes back
//! as an `io::Error` with the right kind and a message naming the problem.

mod util;

use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::time::Duration;

use gevent::core::{
    Async, Backend, Backends, Child, Embed, Events, Idle, Io, Loop, Periodic, Signal, Stat, Timer,
};
use util::{Counter, assert_err, for_each_backend, run_bounded};

#[test]
fn negative_fd() {
    for_each_backend(|lp| {
        assert_err(
            Io::new(&lp, -1, Events::READ, |_, _| {}),
            ErrorKind::InvalidInput,
            &["file descriptor", "-1"],
        );
        let w = Io::new(&lp, 0, Events::READ, |_, _| {}).unwrap();
        assert_err(w.set(-7, Events::READ), ErrorKind::InvalidInput, &["-7"]);
        assert_eq!(w.fd(), 0, "a refused set changes nothing");
        assert_err(
            lp.feed_fd_event(-1, Events::READ),
            ErrorKind::InvalidInput,
            &["-1"],
        );
        assert_err(
            lp.once(Some(-2), Events::READ, None, |_| {}),
            ErrorKind::InvalidInput,
            &["-2"],
        );
    });
}

#[test]
fn bad_io_event_mask() {
    for_each_backend(|lp| {
        for bad in [Events::TIMER, Events::READ | Events::SIGNAL, Events::CUSTOM] {
            assert_err(
                Io::new(&lp, 0, bad, |_, _| {}),
                ErrorKind::InvalidInput,
                &["event mask", "READ and WRITE"],
            );
        }
        let w = Io::new(&lp, 0, Events::READ, |_, _| {}).unwrap();
        assert_err(
            w.set_events(Events::ERROR),
            ErrorKind::InvalidInput,
            &["mask"],
        );
        assert_err(w.set(0, Events::IDLE), ErrorKind::InvalidInput, &["mask"]);
        assert_eq!(w.events(), Events::READ);
        assert_err(
            lp.feed_fd_event(0, Events::TIMER),
            ErrorKind::InvalidInput,
            &["mask"],
        );
    });
}

#[test]
fn bad_signal_numbers() {
    let lp = Loop::new().unwrap();
    for sig in [0, -1, 65, 1000] {
        assert_err(
            Signal::new(&lp, sig, |_, _| {}),
            ErrorKind::InvalidInput,
            &["invalid signal number", &sig.to_string()],
        );
        assert_err(
            lp.feed_signal_event(sig),
            ErrorKind::InvalidInput,
            &[&sig.to_string()],
        );
    }
    for sig in [libc::SIGKILL, libc::SIGSTOP] {
        assert_err(
            Signal::new(&lp, sig, |_, _| {}),
            ErrorKind::InvalidInput,
            &["cannot be caught", "SIGKILL/SIGSTOP"],
        );
    }
    let w = Signal::new(&lp, libc::SIGUSR1, |_, _| {}).unwrap();
    assert_err(w.set(0), ErrorKind::InvalidInput, &["0"]);
    assert_err(w.set(libc::SIGKILL), ErrorKind::InvalidInput, &["caught"]);
    assert_eq!(w.signum(), libc::SIGUSR1);
}

#[test]
fn one_signal_on_two_loops() {
    let _s = util::signal_lock();
    for_each_backend(|lp1| {
        let lp2 = Loop::new().unwrap();
        let first = Counter::new();
        let f = first.clone();
        let w1 = Signal::new(&lp1, libc::SIGUSR1, move |_, _| f.inc()).unwrap();
        let second = Counter::new();
        let s = second.clone();
        let w2 = Signal::new(&lp2, libc::SIGUSR1, move |w, _| {
            s.inc();
            w.stop();
        })
        .unwrap();
        w1.start().unwrap();
        let msg = assert_err(
            w2.start(),
            ErrorKind::AddrInUse,
            &[&format!("signal {}", libc::SIGUSR1), "another loop"],
        );
        println!("{msg}");
        assert!(!w2.is_active());
        // Several watchers on the owning loop are fine.
        let w1b = Signal::new(&lp1, libc::SIGUSR1, |_, _| {}).unwrap();
        w1b.start().unwrap();
        // Once every watcher on the first loop stopped, the second may take it.
        w1.stop();
        assert_err(w2.start(), ErrorKind::AddrInUse, &["another loop"]);
        drop(w1b); // dropping stops it too
        w2.start().unwrap();
        // SAFETY: SIGUSR1 is handled by w2.
        unsafe { libc::raise(libc::SIGUSR1) };
        run_bounded(&lp2);
        assert_eq!((first.get(), second.get()), (0, 1));
        // And back: the first loop can have it again.
        w1.start().unwrap();
        w1.stop();
    });
}

#[test]
fn sigchld_and_child_watchers_belong_to_the_default_loop() {
    for_each_backend(|lp| {
        let w = Signal::new(&lp, libc::SIGCHLD, |_, _| {}).unwrap();
        assert_err(
            w.start(),
            ErrorKind::InvalidInput,
            &["SIGCHLD", "default loop"],
        );
        assert!(!w.is_active());
        assert_err(
            Child::new(&lp, 0, false, |_, _| {}),
            ErrorKind::Unsupported,
            &["child watchers", "default loop"],
        );
    });
    let _p = util::process_lock();
    let lp = Loop::default_loop().unwrap();
    assert_err(
        Child::new(&lp, -5, false, |_, _| {}),
        ErrorKind::InvalidInput,
        &["pid -5"],
    );
    let c = Child::new(&lp, 0, false, |_, _| {}).unwrap();
    assert_err(c.set(-1, false), ErrorKind::InvalidInput, &["pid -1"]);
    c.start().unwrap();
    assert_err(
        c.set(1, false),
        ErrorKind::InvalidInput,
        &["active", "child"],
    );
    c.stop();
    c.set(1, true).unwrap();
    assert_eq!(c.pid(), 1);
}

#[test]
fn default_loop_is_held_by_one_thread() {
    let _p = util::process_lock();
    let lp = Loop::default_loop().unwrap();
    let other = std::thread::spawn(|| Loop::default_loop().map(|_| ()))
        .join()
        .unwrap();
    assert_err(
        other,
        ErrorKind::WouldBlock,
        &["default libev loop", "another thread", "Loop::new()"],
    );
    // A watcher keeps the claim alive too.
    let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, _| {});
    drop(lp);
    let other = std::thread::spawn(|| Loop::default_loop().map(|_| ()))
        .join()
        .unwrap();
    assert_err(other, ErrorKind::WouldBlock, &["another thread"]);
    // Released with the last handle: another thread may take it now.
    drop(t);
    std::thread::spawn(|| {
        let lp = Loop::default_loop().unwrap();
        assert!(lp.is_default());
    })
    .join()
    .unwrap();
    assert!(Loop::default_loop().unwrap().is_default());
}

#[test]
fn embedding_what_cannot_be_embedded() {
    let none = None::<fn(&Embed, Events)>;
    for_each_backend(|outer| {
        // A loop into itself.
        assert_err(
            Embed::new(&outer, &outer, none),
            ErrorKind::InvalidInput,
            &["itself"],
        );
        // Loops whose backend cannot be embedded.
        for b in Loop::usable_backends().iter() {
            if Loop::embeddable_backends().contains(b) {
                continue;
            }
            let inner = Loop::with_backend(b).unwrap();
            assert_err(
                Embed::new(&outer, &inner, none),
                ErrorKind::InvalidInput,
                &[
                    &format!("the {b} backend cannot be embedded"),
                    "embeddable backends here",
                ],
            );
        }
    });
    // io_uring is left out on purpose (libev 4.33 spins when sweeping it).
    if Loop::usable_backends().contains(Backend::IoUring) {
        let outer = Loop::with_backend(Backend::Poll).unwrap();
        let inner = Loop::with_backend(Backend::IoUring).unwrap();
        assert_err(
            Embed::new(&outer, &inner, none),
            ErrorKind::InvalidInput,
            &["io_uring"],
        );
    }
}

#[test]
fn priorities_out_of_range_or_while_active() {
    for_each_backend(|lp| {
        let w = Idle::new(&lp, |_, _| {});
        for p in [-3, 3, i32::MIN, i32::MAX] {
            assert_err(
                w.set_priority(p),
                ErrorKind::InvalidInput,
                &[&format!("priority {p} out of range -2..=2")],
            );
        }
        w.set_priority(-2).unwrap();
        w.set_priority(2).unwrap();
        w.start().unwrap();
        assert_err(
            w.set_priority(0),
            ErrorKind::InvalidInput,
            &["priority", "active or pending", "idle"],
        );
        w.stop();
        w.feed(Events::CUSTOM);
        assert_err(w.set_priority(0), ErrorKind::InvalidInput, &["pending"]);
        w.clear_pending();
        w.set_priority(0).unwrap();
        assert_eq!(w.priority(), 0);
    });
}

#[test]
fn setters_while_active() {
    for_each_backend(|lp| {
        let (a, _b) = util::socketpair();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, |_, _| {}).unwrap();
        io.start().unwrap();
        assert_err(
            io.set(a.as_raw_fd(), Events::WRITE),
            ErrorKind::InvalidInput,
            &["change the fd", "io watcher is active", "stop it first"],
        );
        assert_err(
            io.set_events(Events::WRITE),
            ErrorKind::InvalidInput,
            &["io watcher is active"],
        );
        assert_eq!(io.events(), Events::READ);

        let t = Timer::new(&lp, Duration::from_secs(60), Duration::ZERO, |_, _| {});
        t.start().unwrap();
        assert_err(
            t.set(Duration::ZERO, Duration::ZERO),
            ErrorKind::InvalidInput,
            &["timer watcher is active"],
        );

        let p = Periodic::new(&lp, 0.0, 60.0, |_, _| {}).unwrap();
        p.start().unwrap();
        assert_err(
            p.set(0.0, 1.0),
            ErrorKind::InvalidInput,
            &["periodic watcher is active"],
        );
        assert_eq!(p.interval(), 60.0);

        let st = Stat::new(&lp, "/", Duration::ZERO, |_, _| {}).unwrap();
        st.start().unwrap();
        assert_err(
            st.set("/tmp", Duration::ZERO),
            ErrorKind::InvalidInput,
            &["stat watcher is active"],
        );
        assert_eq!(st.path(), std::path::Path::new("/"));
    });
}

#[test]
fn signal_setter_while_active() {
    let _s = util::signal_lock();
    let lp = Loop::new().unwrap();
    let s = Signal::new(&lp, libc::SIGUSR2, |_, _| {}).unwrap();
    s.start().unwrap();
    assert_err(
        s.set(libc::SIGUSR1),
        ErrorKind::InvalidInput,
        &["signal watcher is active"],
    );
    assert_eq!(s.signum(), libc::SIGUSR2);
}

#[test]
fn invalid_periodic_schedules() {
    let lp = Loop::new().unwrap();
    for (offset, interval) in [(0.0, -1.0), (f64::NAN, 1.0), (0.0, f64::INFINITY)] {
        assert_err(
            Periodic::new(&lp, offset, interval, |_, _| {}),
            ErrorKind::InvalidInput,
            &["invalid periodic"],
        );
    }
    let p = Periodic::new(&lp, 0.0, 1.0, |_, _| {}).unwrap();
    assert_err(p.set(0.0, -2.0), ErrorKind::InvalidInput, &["interval -2"]);
}

#[test]
fn nul_in_stat_path() {
    let lp = Loop::new().unwrap();
    assert_err(
        Stat::new(&lp, "/tmp/a\0b", Duration::ZERO, |_, _| {}),
        ErrorKind::InvalidInput,
        &["NUL"],
    );
    let w = Stat::new(&lp, "/tmp", Duration::ZERO, |_, _| {}).unwrap();
    assert_err(
        w.set("x\0", Duration::ZERO),
        ErrorKind::InvalidInput,
        &["NUL"],
    );
    assert_eq!(w.path(), std::path::Path::new("/tmp"));
}

#[test]
fn unsupported_backends_are_named() {
    let supported = Loop::supported_backends();
    for b in Backend::ALL {
        if supported.contains(b) {
            continue;
        }
        let msg = assert_err(
            Loop::with_backend(b),
            ErrorKind::Unsupported,
            &[b.name(), "supported backends here"],
        );
        for s in supported.iter() {
            assert!(msg.contains(s.name()), "{msg:?} does not list {s}");
        }
    }
    #[cfg(target_os = "linux")]
    {
        let msg = assert_err(
            Loop::with_backend(Backend::Kqueue),
            ErrorKind::Unsupported,
            &["kqueue", "select", "poll", "epoll"],
        );
        println!("{msg}");
        assert_err(
            Loop::with_flags(libev_sys::EVBACKEND_KQUEUE | libev_sys::EVFLAG_NOENV),
            ErrorKind::Unsupported,
            &["kqueue"],
        );
    }
    // Names that are no backend at all.
    assert_err(
        "bogus".parse::<Backend>(),
        ErrorKind::InvalidInput,
        &["unknown libev backend", "bogus", "epoll"],
    );
    assert_err(
        "epoll,nope".parse::<Backends>(),
        ErrorKind::InvalidInput,
        &["nope"],
    );
}

#[test]
fn async_sender_after_the_watcher_is_gone() {
    let lp = Loop::new().unwrap();
    let w = Async::new(&lp, |_, _| {});
    let s = w.sender();
    s.send().unwrap();
    drop(w);
    assert_err(
        s.send(),
        ErrorKind::NotConnected,
        &["async watcher has been dropped"],
    );
    drop(lp);
    assert_err(s.clone().send(), ErrorKind::NotConnected, &["dropped"]);
}

/// An fd number nobody in this test process opens, for the "not open" checks.
const UNUSED_FD: i32 = 700;

fn fd_numbers_beyond_the_loops_reach() -> Vec<i32> {
    vec![i32::MAX, 1 << 30, 1 << 28, 1 << 24]
}

/// Issue 8, item 1: numbers libev would index its fd tables by are checked
/// first: no crash, no hang, no giant allocation.
fn check_fd_validation(lp: &Loop) {
    // SAFETY: F_GETFD on a number only reads its flags.
    assert!(unsafe { libc::fcntl(UNUSED_FD, libc::F_GETFD) } < 0);
    for fd in fd_numbers_beyond_the_loops_reach() {
        let fd_text = fd.to_string();
        assert_err(
            Io::new(lp, fd, Events::READ, |_, _| {}),
            ErrorKind::InvalidInput,
            &["file descriptor", &fd_text],
        );
        let w = Io::new(lp, 0, Events::READ, |_, _| {}).unwrap();
        assert_err(
            w.set(fd, Events::WRITE),
            ErrorKind::InvalidInput,
            &[&fd_text],
        );
        assert_eq!(w.fd(), 0);
        assert_err(
            lp.once(Some(fd), Events::READ, None, |_| {}),
            ErrorKind::InvalidInput,
            &[&fd_text],
        );
        assert_err(
            lp.feed_fd_event(fd, Events::READ),
            ErrorKind::InvalidInput,
            &[&fd_text],
        );
    }
    // Not open: EBADF, as net::wait_read reports.
    let e = Io::new(lp, UNUSED_FD, Events::READ, |_, _| {})
        .err()
        .unwrap();
    assert_eq!(e.raw_os_error(), None, "a message naming the fd: {e}");
    assert_eq!(
        e.kind(),
        std::io::Error::from_raw_os_error(libc::EBADF).kind()
    );
    assert!(e.to_string().contains("700"), "{e}");
    let w = Io::new(lp, 0, Events::READ, |_, _| {}).unwrap();
    let e = w.set(UNUSED_FD, Events::READ).unwrap_err();
    assert!(e.to_string().contains("not open"), "{e}");
    let e = lp
        .once(Some(UNUSED_FD), Events::READ, None, |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("not open"), "{e}");
    // Open fds still work, and the loop runs on.
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let w = Io::new(lp, a.as_raw_fd(), Events::WRITE, |w, _| w.stop()).unwrap();
    w.start().unwrap();
    assert!(!run_bounded(lp));
}

#[test]
fn fd_numbers_are_validated_on_new_loops() {
    for_each_backend(|lp| check_fd_validation(&lp));
}

#[test]
fn fd_numbers_are_validated_on_the_hubs_loop() {
    for b in util::backends() {
        gevent::run_on_backend(b, || {
            let lp = gevent::get_hub().loop_().clone();
            check_fd_validation(&lp);
            // The cooperative waits: same checks, no hang.
            for fd in fd_numbers_beyond_the_loops_reach() {
                let e = gevent::net::wait_read(fd, Some(Duration::from_secs(5))).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{fd}: {e}");
                let e = gevent::net::wait_write(fd, None).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{fd}: {e}");
                let e = gevent::net::select(&[fd], &[], Some(Duration::from_secs(5))).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{fd}: {e}");
                let e = gevent::net::select(&[], &[fd], None).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{fd}: {e}");
                // poll(2) semantics: an fd it cannot use is reported, at once.
                let mut p = [gevent::net::PollFd::new(fd, Events::READ)];
                assert_eq!(
                    gevent::net::poll(&mut p, Some(Duration::from_secs(5))).unwrap(),
                    1
                );
                assert!(p[0].is_invalid());
            }
            let e = gevent::net::wait_read(UNUSED_FD, None).unwrap_err();
            assert!(e.to_string().contains("not open"), "{e}");
        })
        .unwrap();
    }
}
