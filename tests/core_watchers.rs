//! Every watcher type, once per usable backend (child watchers: the default
//! loop only).

mod util;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::rc::Rc;
use std::time::Duration;

use gevent::core::{
    Async, Backend, Check, Child, Cleanup, Embed, Events, Fork, Idle, Io, Loop, Periodic, Prepare,
    Signal, Stat, Timer,
};
use util::{
    Counter, Log, for_each_backend, for_each_backend_named, run_bounded, run_until, socketpair,
};

const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

// ---------------------------------------------------------------- io

#[test]
fn io_read_readiness() {
    for_each_backend(|lp| {
        let (mut a, mut b) = socketpair();
        let got: Log<(Events, Vec<u8>)> = Log::new();
        let g = got.clone();
        let fd = a.as_raw_fd();
        let w = Io::new(&lp, fd, Events::READ, move |w, ev| {
            let mut buf = [0u8; 16];
            let n = a.read(&mut buf).unwrap();
            g.push((ev, buf[..n].to_vec()));
            w.stop();
        })
        .unwrap();
        assert_eq!((w.fd(), w.events()), (fd, Events::READ));
        w.start().unwrap();
        assert!(w.is_active());
        b.write_all(b"ping").unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(got.get(), [(Events::READ, b"ping".to_vec())]);
        assert!(!w.is_active());
    });
}

#[test]
fn io_write_readiness() {
    for_each_backend(|lp| {
        let (a, _b) = socketpair();
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let w = Io::new(&lp, a.as_raw_fd(), Events::WRITE, move |w, ev| {
            g.push(ev);
            w.stop();
        })
        .unwrap();
        w.start().unwrap();
        run_bounded(&lp);
        assert_eq!(got.get(), [Events::WRITE]);
    });
}

#[test]
fn io_read_and_write_watchers_on_one_fd() {
    for_each_backend(|lp| {
        let (a, mut b) = socketpair();
        b.write_all(b"x").unwrap();
        let got: Log<Events> = Log::new();
        let (g1, g2) = (got.clone(), got.clone());
        let r = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, ev| {
            g1.push(ev);
            w.stop();
        })
        .unwrap();
        let wr = Io::new(&lp, a.as_raw_fd(), Events::WRITE, move |w, ev| {
            g2.push(ev);
            w.stop();
        })
        .unwrap();
        r.start().unwrap();
        wr.start().unwrap();
        run_bounded(&lp);
        let mut v = got.get();
        v.sort_by_key(|e| e.bits());
        assert_eq!(v, [Events::READ, Events::WRITE]);
        // One watcher for both: the callback sees both bits.
        let g = got.clone();
        got.take();
        let both = Io::new(
            &lp,
            a.as_raw_fd(),
            Events::READ | Events::WRITE,
            move |w, ev| {
                g.push(ev);
                w.stop();
            },
        )
        .unwrap();
        both.start().unwrap();
        run_bounded(&lp);
        assert_eq!(got.get(), [Events::READ | Events::WRITE]);
    });
}

#[test]
fn io_is_level_triggered() {
    for_each_backend(|lp| {
        let (mut a, mut b) = socketpair();
        b.write_all(b"abc").unwrap();
        let read: Log<u8> = Log::new();
        let r = read.clone();
        // Reads one byte per call: libev calls again while data remains.
        let w = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, _| {
            let mut byte = [0u8; 1];
            a.read_exact(&mut byte).unwrap();
            r.push(byte[0]);
            if r.len() == 3 {
                w.stop();
            }
        })
        .unwrap();
        w.start().unwrap();
        run_bounded(&lp);
        assert_eq!(read.get(), b"abc");
    });
}

#[test]
fn io_stop_inside_callback() {
    for_each_backend(|lp| {
        let (a, mut b) = socketpair();
        b.write_all(b"unread").unwrap();
        let c = Counter::new();
        let c2 = c.clone();
        let w = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, _| {
            c2.inc();
            w.stop();
        })
        .unwrap();
        w.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 1, "stopped: no second call although data remains");
        // Started again, the still-readable fd fires again.
        w.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 2);
    });
}

#[test]
fn io_set_and_set_events_while_inactive() {
    for_each_backend(|lp| {
        let (a, mut b) = socketpair();
        let (c, mut d) = socketpair();
        let got: Log<(i32, Events)> = Log::new();
        let g = got.clone();
        let w = Io::new(&lp, a.as_raw_fd(), Events::WRITE, move |w, ev| {
            g.push((w.fd(), ev));
            w.stop();
        })
        .unwrap();
        w.set_events(Events::READ).unwrap();
        assert_eq!(w.events(), Events::READ);
        b.write_all(b"1").unwrap();
        w.start().unwrap();
        run_bounded(&lp);
        w.set(c.as_raw_fd(), Events::READ).unwrap();
        d.write_all(b"2").unwrap();
        w.start().unwrap();
        run_bounded(&lp);
        assert_eq!(
            got.get(),
            [(a.as_raw_fd(), Events::READ), (c.as_raw_fd(), Events::READ)]
        );
    });
}

/// Fd numbers reserved for the tests that close fds behind libev's back:
/// nobody else in this process opens that high, so a closed number cannot
/// be reused by a concurrently running test.
const RESERVED_FD_BASE: i32 = 600;

/// An io watcher whose fd was closed before libev registered it gets
/// `ERROR` (with READ and WRITE, as libev documents) and is stopped, on
/// every backend: select/poll see EBADF/POLLNVAL when polling, the others
/// get EBADF when registering the fd.
#[test]
fn io_error_when_fd_closed_before_registration() {
    let mut n = RESERVED_FD_BASE;
    for_each_backend(|lp| {
        let (a, _b) = socketpair();
        let fd = util::dup_to(&a, n);
        n += 1;
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let w = Io::new(&lp, fd, Events::READ, move |w, ev| {
            assert!(!w.is_active(), "libev stopped it before calling back");
            g.push(ev);
        })
        .unwrap();
        w.start().unwrap();
        util::close_fd(fd);
        // Some backends notice the bad fd while polling and deliver at the
        // next wake-up: keep the loop waking up.
        let tick = Timer::new(&lp, MS, Duration::from_millis(5), |_, _| {});
        tick.start().unwrap();
        run_until(&lp, || got.len() > 0);
        assert_eq!(got.get(), [Events::ERROR | Events::READ | Events::WRITE]);
        assert!(!w.is_active());
        // The loop goes on, and the watcher can be reused on a good fd.
        let (c, mut d) = socketpair();
        w.set(c.as_raw_fd(), Events::READ).unwrap();
        d.write_all(b"x").unwrap();
        w.set_callback(move |w, ev| {
            assert_eq!(ev, Events::READ);
            w.stop();
        });
        w.start().unwrap();
        tick.stop();
        assert!(!run_bounded(&lp));
    });
}

/// An fd closed (its last descriptor) after libev registered it:
/// select and poll report `ERROR` and stop the watcher; epoll, linuxaio and
/// io_uring never hear of it again (the kernel silently drops the
/// registration, as libev's manual warns) and the watcher stays active.
#[test]
fn io_fd_closed_after_registration() {
    let mut n = RESERVED_FD_BASE + 20;
    for_each_backend_named(|b, lp| {
        let (a, _peer) = socketpair();
        let fd = util::dup_to(&a, n);
        n += 1;
        drop(a); // `fd` is now the only descriptor of this socket
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let w = Io::new(&lp, fd, Events::READ, move |_, ev| g.push(ev)).unwrap();
        w.start().unwrap();
        lp.run_nowait(); // registers the fd with the kernel
        assert_eq!(got.len(), 0);
        util::close_fd(fd);
        let ticks = Counter::new();
        let t2 = ticks.clone();
        let tick = Timer::new(&lp, MS, Duration::from_millis(2), move |_, _| t2.inc());
        tick.start().unwrap();
        match b {
            Backend::Select | Backend::Poll => {
                run_until(&lp, || got.len() > 0);
                assert_eq!(got.get(), [Events::ERROR | Events::READ | Events::WRITE]);
                assert!(!w.is_active());
            }
            _ => {
                run_until(&lp, || ticks.get() >= 5);
                assert_eq!(got.get(), [], "{b} reported the closed fd");
                assert!(w.is_active());
            }
        }
        w.stop();
        tick.stop();
        lp.run_nowait();
    });
}

// ---------------------------------------------------------------- timer

#[test]
fn timer_one_shot() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let t = Timer::new(&lp, MS, Duration::ZERO, move |t, ev| {
            assert!(
                !t.is_active(),
                "a one-shot timer is stopped before its callback"
            );
            g.push(ev);
        });
        assert_eq!(t.remaining(), Duration::ZERO);
        t.start().unwrap();
        assert!(t.is_active());
        assert!(!run_bounded(&lp));
        assert_eq!(got.get(), [Events::TIMER]);
        assert!(!t.is_active());
        assert_eq!(t.remaining(), Duration::ZERO);
    });
}

#[test]
fn timer_repeat() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, Duration::ZERO, MS, move |t, _| {
            assert!(t.is_active());
            c2.inc();
            if c2.get() == 3 {
                t.stop();
            }
        });
        assert_eq!(t.repeat(), MS);
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 3);
    });
}

#[test]
fn timer_again_and_remaining() {
    for_each_backend(|lp| {
        // again() on a stopped timer with a repeat starts it with `repeat`.
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, HOUR, MS, move |t, _| {
            c2.inc();
            if c2.get() == 2 {
                t.stop();
            }
        });
        t.again();
        assert!(t.is_active());
        assert!(t.remaining() <= MS);
        run_bounded(&lp);
        assert_eq!(c.get(), 2);

        // The inactivity-timeout idiom: again() pushes the expiry back.
        let t = Timer::new(&lp, HOUR, Duration::from_secs(600), |_, _| {});
        t.start().unwrap();
        let r1 = t.remaining();
        assert!(r1 > Duration::from_secs(600) && r1 <= HOUR);
        t.again();
        let r2 = t.remaining();
        assert!(r2 > Duration::ZERO && r2 <= Duration::from_secs(600));

        // again() with no repeat stops an active timer.
        t.set_repeat(Duration::ZERO);
        t.again();
        assert!(!t.is_active());
        assert_eq!(t.remaining(), Duration::ZERO);
        // ...and leaves a stopped one stopped.
        t.again();
        assert!(!t.is_active());
    });
}

#[test]
fn timer_set_repeat() {
    for_each_backend(|lp| {
        // Turning a repeating timer into a one-shot from its callback: libev
        // already rescheduled it, so it fires once more, then stops.
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, Duration::ZERO, MS, move |t, _| {
            c2.inc();
            t.set_repeat(Duration::ZERO);
        });
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 2);
        assert!(!t.is_active());

        // A one-shot made repeating needs again() to restart.
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |t, _| {
            c2.inc();
            match c2.get() {
                1 => {
                    t.set_repeat(MS);
                    t.again();
                }
                _ => t.set_repeat(Duration::ZERO),
            }
        });
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 3);

        // set() changes both values of a stopped timer.
        t.set(HOUR, MS).unwrap();
        assert_eq!(t.repeat(), MS);
        t.start().unwrap();
        assert!(t.remaining() > Duration::from_secs(3000));
        t.stop();
    });
}

// ---------------------------------------------------------------- periodic

#[test]
fn periodic_absolute() {
    for_each_backend(|lp| {
        for at in [lp.now() + 0.002, lp.now() - 10.0] {
            let got: Log<(Events, f64)> = Log::new();
            let g = got.clone();
            let p = Periodic::new(&lp, at, 0.0, move |p, ev| {
                g.push((ev, p.loop_().now()));
            })
            .unwrap();
            p.start().unwrap();
            assert_eq!(p.at(), at);
            assert!(!run_bounded(&lp));
            let v = got.get();
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].0, Events::PERIODIC);
            assert!(v[0].1 >= at, "fired at {} before {at}", v[0].1);
            assert!(!p.is_active());
        }
    });
}

#[test]
fn periodic_interval() {
    for_each_backend(|lp| {
        let offset = 0.25;
        let interval = 0.002;
        let ats: Log<f64> = Log::new();
        let a = ats.clone();
        let p = Periodic::new(&lp, offset, interval, move |p, _| {
            a.push(p.at());
            if a.len() == 3 {
                p.stop();
            }
        })
        .unwrap();
        assert_eq!((p.offset(), p.interval()), (offset, interval));
        p.start().unwrap();
        let first = p.at();
        assert!(first >= lp.now());
        assert!(!run_bounded(&lp));
        let v = ats.get();
        assert_eq!(v.len(), 3);
        for w in v.windows(2) {
            assert!(w[1] > w[0], "next times increase: {v:?}");
        }
        // Every time is offset + n * interval.
        for t in v.iter().chain([&first]) {
            let n = (t - offset) / interval;
            assert!((n - n.round()).abs() < 1e-3, "{t} is not on the grid");
        }
    });
}

#[test]
fn periodic_reschedule_closure() {
    for_each_backend(|lp| {
        let calls = Counter::new();
        let c2 = calls.clone();
        let fired = Counter::new();
        let f2 = fired.clone();
        let p = Periodic::with_reschedule(
            &lp,
            move |now| {
                c2.inc();
                now + 0.001
            },
            move |p, ev| {
                assert_eq!(ev, Events::PERIODIC);
                f2.inc();
                if f2.get() == 3 {
                    p.stop();
                }
            },
        );
        p.start().unwrap();
        assert_eq!(calls.get(), 1, "start computes the first time");
        assert!(p.at() > lp.now() - 1.0);
        assert!(!run_bounded(&lp));
        assert_eq!(fired.get(), 3);
        // Once at start, then after each of the first two firings (the
        // third stops it, but libev reschedules before calling back).
        assert_eq!(calls.get(), 4);
    });
}

#[test]
fn periodic_again_and_reschedule() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let p = Periodic::new(&lp, lp.now() + 3600.0, 0.0, move |p, _| {
            c2.inc();
            p.stop();
        })
        .unwrap();
        // again() starts a stopped periodic.
        p.again();
        assert!(p.is_active());
        // Change the schedule: stop, set, reschedule.
        p.stop();
        p.set(lp.now() - 1.0, 0.0).unwrap();
        p.reschedule();
        assert!(p.is_active());
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 1);
    });
}

// ---------------------------------------------------------------- signal

fn raise(sig: i32) {
    // SAFETY: raising a signal a watcher of this test handles.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

#[test]
fn signal_watchers_see_raised_signals() {
    let _s = util::signal_lock();
    for_each_backend(|lp| {
        for sig in [libc::SIGUSR1, libc::SIGUSR2] {
            let got: Log<(i32, Events)> = Log::new();
            let g = got.clone();
            let w = Signal::new(&lp, sig, move |w, ev| {
                g.push((w.signum(), ev));
                w.stop();
            })
            .unwrap();
            w.start().unwrap();
            raise(sig);
            assert!(!run_bounded(&lp));
            assert_eq!(got.get(), [(sig, Events::SIGNAL)]);
        }
        // Two watchers of one signal on one loop both hear it.
        let c = Counter::new();
        let ws: Vec<Signal> = (0..2)
            .map(|_| {
                let c = c.clone();
                Signal::new(&lp, libc::SIGUSR1, move |w, _| {
                    c.inc();
                    w.stop();
                })
                .unwrap()
            })
            .collect();
        for w in &ws {
            w.start().unwrap();
        }
        raise(libc::SIGUSR1);
        run_bounded(&lp);
        assert_eq!(c.get(), 2);
    });
}

// ---------------------------------------------------------------- child

fn wait_status(rstatus: i32) -> ExitStatus {
    ExitStatus::from_raw(rstatus)
}

#[test]
fn child_watchers_report_exit_status() {
    let _p = util::process_lock();
    let lp = Loop::default_loop().unwrap();
    for (args, code) in [(&["-c", "true"][..], 0), (&["-c", "exit 3"][..], 3)] {
        let mut child = Command::new("sh").args(args).spawn().unwrap();
        let pid = child.id() as i32;
        let got: Rc<Cell<Option<(i32, i32, Events)>>> = Rc::default();
        let g = got.clone();
        let w = Child::new(&lp, pid, false, move |w, ev| {
            g.set(Some((w.rpid(), w.rstatus(), ev)));
            w.stop();
        })
        .unwrap();
        assert_eq!(w.pid(), pid);
        // The child may well have exited already: the watcher still hears.
        w.start().unwrap();
        assert!(!run_bounded(&lp));
        let (rpid, rstatus, ev) = got.get().expect("child watcher called");
        assert_eq!((rpid, ev), (pid, Events::CHILD));
        assert_eq!(wait_status(rstatus).code(), Some(code));
        // libev reaped it, so std can no longer wait for it.
        let e = child.wait().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECHILD));
    }
    // pid 0: any child.
    let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    let got: Rc<Cell<Option<(i32, i32)>>> = Rc::default();
    let g = got.clone();
    let w = Child::new(&lp, 0, false, move |w, _| {
        g.set(Some((w.rpid(), w.rstatus())));
        w.stop();
    })
    .unwrap();
    w.start().unwrap();
    run_bounded(&lp);
    let (rpid, rstatus) = got.get().unwrap();
    assert_eq!(rpid, child.id() as i32);
    assert_eq!(wait_status(rstatus).code(), Some(7));
    assert!(child.wait().is_err(), "already reaped by libev");
}

fn sigchld_handler() -> libc::sighandler_t {
    // SAFETY: querying the current disposition only.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old);
        old.sa_sigaction
    }
}

/// The SIGCHLD rule: without an active child watcher, the default loop
/// leaves SIGCHLD alone and std's process API works.
#[test]
fn std_process_works_without_active_child_watchers() {
    let _p = util::process_lock();
    let before = sigchld_handler();
    let lp = Loop::default_loop().unwrap();
    assert_eq!(
        sigchld_handler(),
        before,
        "creating the default loop restores SIGCHLD"
    );
    let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
    assert_eq!(status.code(), Some(3));

    let w = Child::new(&lp, 0, false, |_, _| {}).unwrap();
    w.start().unwrap();
    assert_ne!(
        sigchld_handler(),
        before,
        "an active child watcher handles SIGCHLD"
    );
    w.stop();
    assert_eq!(sigchld_handler(), before);
    lp.run_nowait();

    let out = Command::new("sh")
        .args(["-c", "echo hi; exit 4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(out.stdout, b"hi\n");
    let mut child = Command::new("true").spawn().unwrap();
    assert!(child.wait().unwrap().success());
}

// ---------------------------------------------------------------- stat

#[test]
fn stat_sees_create_modify_delete() {
    for_each_backend_named(|b, lp| {
        let path = std::env::temp_dir().join(format!(
            "gevent-core-stat-{}-{}",
            std::process::id(),
            b.name()
        ));
        let _ = std::fs::remove_file(&path);
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Step {
            Create,
            Append,
            Delete,
            Done,
        }
        let step = Rc::new(Cell::new(Step::Create));
        let s = step.clone();
        let p = path.clone();
        let w = Stat::new(&lp, &path, Duration::from_millis(10), move |w, ev| {
            assert_eq!(ev, Events::STAT);
            let (attr, prev) = (w.attr(), w.prev());
            match s.get() {
                Step::Create if attr.is_some_and(|a| a.st_size == 1) => {
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&p)
                        .unwrap()
                        .write_all(b"bb")
                        .unwrap();
                    s.set(Step::Append);
                }
                Step::Append if attr.is_some_and(|a| a.st_size == 3) => {
                    assert!(prev.is_some());
                    std::fs::remove_file(&p).unwrap();
                    s.set(Step::Delete);
                }
                Step::Delete if attr.is_none() => {
                    assert_eq!(prev.map(|p| p.st_size), Some(3));
                    s.set(Step::Done);
                    w.stop();
                }
                _ => {} // an intermediate change (say, created but empty)
            }
        })
        .unwrap();
        assert_eq!(w.path(), path);
        w.start().unwrap();
        assert!(w.attr().is_none(), "the path does not exist yet");
        std::fs::write(&path, b"a").unwrap();
        run_bounded(&lp);
        assert_eq!(step.get(), Step::Done);
        assert!(!path.exists());
        // stat() refreshes the attributes on demand.
        std::fs::write(&path, b"xyz").unwrap();
        w.stat();
        assert_eq!(w.attr().map(|a| a.st_size), Some(3));
        std::fs::remove_file(&path).unwrap();
        w.stat();
        assert!(w.attr().is_none());
    });
}

// ---------------------------------------------------------------- idle, prepare, check

#[test]
fn prepare_check_idle_order_within_an_iteration() {
    for_each_backend(|lp| {
        let log: Log<&str> = Log::new();
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        let p = Prepare::new(&lp, move |_, ev| {
            assert_eq!(ev, Events::PREPARE);
            l1.push("prepare");
        });
        let c = Check::new(&lp, move |_, ev| {
            assert_eq!(ev, Events::CHECK);
            l2.push("check");
        });
        let i = Idle::new(&lp, move |_, ev| {
            assert_eq!(ev, Events::IDLE);
            l3.push("idle");
        });
        i.start().unwrap();
        c.start().unwrap();
        p.start().unwrap();
        for _ in 0..3 {
            lp.run_once(); // never blocks: the idle watcher is active
        }
        assert_eq!(log.take(), ["prepare", "check", "idle"].repeat(3));

        // Idle watchers run only when nothing else is pending.
        let l = log.clone();
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, _| {
            l.push("timer")
        });
        t.start().unwrap();
        let (g, fired) = util::guard(&lp);
        while t.is_active() {
            assert!(!fired.get());
            lp.run_once();
        }
        g.stop();
        let v = log.take();
        assert_eq!(&v[v.len() - 3..], ["prepare", "check", "timer"]);
        p.stop();
        c.stop();
        i.stop();
        assert!(!run_bounded(&lp));
    });
}

// ---------------------------------------------------------------- fork

#[test]
fn fork_watcher_after_loop_fork() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let f = Fork::new(&lp, move |w, ev| {
            g.push(ev);
            w.stop();
        });
        f.start().unwrap();
        // Without loop_fork, nothing happens.
        lp.run_nowait();
        assert_eq!(got.len(), 0);
        lp.loop_fork();
        run_bounded(&lp);
        assert_eq!(got.get(), [Events::FORK]);
    });
}

const FORK_CHILD_ENV: &str = "GEVENT_TEST_FORK_CHILD";

/// Runs itself (child mode: `fork_in_a_subprocess`) in a fresh copy of this test binary, so the
/// fork happens in a process with no other busy threads.
#[test]
fn fork_watcher_after_real_fork() {
    // Child mode: this same test, re-run by the parent below.
    if std::env::var_os(FORK_CHILD_ENV).is_some() {
        fork_in_a_subprocess();
        return;
    }
    let _p = util::process_lock();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "fork_watcher_after_real_fork",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FORK_CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "subprocess failed:\n{text}");
    assert!(text.contains("fork ok on every backend"), "{text}");
}

/// Child mode of `fork_watcher_after_real_fork`.
fn fork_in_a_subprocess() {
    for_each_backend_named(|b, lp| {
        let (mut a, mut peer) = socketpair();
        let forks = Counter::new();
        let f2 = forks.clone();
        let f = Fork::new(&lp, move |_, _| f2.inc());
        f.start().unwrap();
        let reads = Counter::new();
        let r2 = reads.clone();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, move |_, _| {
            let mut buf = [0u8; 8];
            if a.read(&mut buf).is_ok() {
                r2.inc();
            }
        })
        .unwrap();
        io.start().unwrap();
        lp.run_nowait(); // the kernel state now exists and gets inherited
        // SAFETY: this process runs only this test; the child uses the loop
        // (the documented purpose of ev_loop_fork) and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                lp.loop_fork();
                peer.write_all(b"c").unwrap();
                run_until(&lp, || forks.get() == 1 && reads.get() == 1);
            }))
            .is_ok();
            // SAFETY: leaving the forked child without running destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(
            wait_status(status).code(),
            Some(0),
            "child on {b}: {status:#x}"
        );
        // The parent's loop is untouched and still works.
        peer.write_all(b"p").unwrap();
        run_until(&lp, || reads.get() == 1);
        assert_eq!(forks.get(), 0);
        io.stop();
        f.stop();
    });
    println!("fork ok on every backend");
}

// ---------------------------------------------------------------- cleanup

#[test]
fn cleanup_never_keeps_the_loop_alive() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let c = Cleanup::new(&lp, move |_, ev| g.push(ev));
        c.start().unwrap();
        assert!(c.is_active());
        assert!(!run_bounded(&lp));
        // Asking explicitly changes nothing either way.
        c.set_keepalive(false);
        assert!(!run_bounded(&lp));
        c.set_keepalive(true);
        assert!(!run_bounded(&lp));
        c.stop();
        c.set_keepalive(false);
        c.start().unwrap();
        assert!(!run_bounded(&lp));
        c.stop();
        // A keepalive timer still keeps the loop going afterwards.
        let t = Timer::new(&lp, MS, Duration::ZERO, |_, _| {});
        t.start().unwrap();
        run_bounded(&lp);
        assert!(!t.is_active());
        c.invoke(Events::CLEANUP);
        assert_eq!(got.get(), [Events::CLEANUP]);
    });
}

// ---------------------------------------------------------------- async

#[test]
fn async_from_another_thread() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let w = Async::new(&lp, move |w, ev| {
            g.push(ev);
            w.stop();
        });
        w.start().unwrap();
        let sender = w.sender();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            sender.send()
        });
        assert!(!run_bounded(&lp));
        th.join().unwrap().unwrap();
        assert_eq!(got.take(), [Events::ASYNC]);
        assert!(!w.is_sent());

        // From the loop's own thread.
        w.start().unwrap();
        w.send();
        assert!(w.is_sent());
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::ASYNC]);
        assert!(!w.is_sent());
    });
}

// ---------------------------------------------------------------- embed

#[test]
fn embed_an_embeddable_loop() {
    let embeddable: Vec<Backend> = Loop::embeddable_backends()
        .iter()
        .filter(|b| Loop::usable_backends().contains(*b))
        .collect();
    println!("embeddable and usable: {embeddable:?}");
    #[cfg(target_os = "linux")]
    assert!(embeddable.contains(&Backend::Epoll));
    for_each_backend(|outer| {
        for &ib in &embeddable {
            println!("  inner: {ib}");
            let inner = Loop::with_backend(ib).unwrap();
            let (mut a, mut b) = socketpair();
            let fd = a.as_raw_fd();
            let reads = Counter::new();
            let r = reads.clone();
            let io = Io::new(&inner, fd, Events::READ, move |w, _| {
                let mut byte = [0u8; 1];
                a.read_exact(&mut byte).unwrap();
                r.inc();
                w.stop();
            })
            .unwrap();

            // Without a callback the embedded loop is swept automatically.
            let e = Embed::new(&outer, &inner, None::<fn(&Embed, Events)>).unwrap();
            assert_eq!(e.other().as_ptr(), inner.as_ptr());
            e.start().unwrap();
            io.start().unwrap();
            // The embed's prepare watcher registers the inner fd (it sweeps
            // pending fd changes of the inner loop before the outer blocks).
            outer.run_nowait();
            assert_eq!(reads.get(), 0);
            b.write_all(b"x").unwrap();
            run_until(&outer, || reads.get() == 1);
            e.stop();

            // With a callback, it sweeps.
            let sweeps = Counter::new();
            let s = sweeps.clone();
            let e2 = Embed::new(
                &outer,
                &inner,
                Some(move |e: &Embed, ev: Events| {
                    assert_eq!(ev, Events::EMBED);
                    s.inc();
                    e.sweep();
                }),
            )
            .unwrap();
            e2.start().unwrap();
            io.start().unwrap();
            // As above: register first, so the data arrives through the
            // embed callback.
            outer.run_nowait();
            assert_eq!(reads.get(), 1);
            b.write_all(b"y").unwrap();
            run_until(&outer, || reads.get() == 2);
            assert!(sweeps.get() >= 1);

            // A non-keepalive embed does not keep the outer loop running.
            e2.set_keepalive(false);
            assert!(!run_bounded(&outer));
            e2.stop();
        }
    });
}

/// An embed watcher made without a callback has a NULL callback in libev
/// (libev sweeps by itself): feeding or invoking it must not make libev
/// call NULL, and a callback set later is stored but never called.
#[test]
fn embed_without_callback_ignores_feed_and_invoke() {
    let embeddable: Vec<Backend> = Loop::embeddable_backends()
        .iter()
        .filter(|b| Loop::usable_backends().contains(*b))
        .collect();
    #[cfg(target_os = "linux")]
    assert!(embeddable.contains(&Backend::Epoll));
    for_each_backend(|outer| {
        for &ib in &embeddable {
            let inner = Loop::with_backend(ib).unwrap();
            let e = Embed::new(&outer, &inner, None::<fn(&Embed, Events)>).unwrap();
            let calls = Counter::new();
            let c = calls.clone();
            e.set_callback(move |_, _| c.inc());
            e.invoke(Events::CUSTOM);
            e.feed(Events::CUSTOM);
            assert!(!e.is_pending());
            e.start().unwrap();
            e.feed(Events::EMBED);
            e.invoke(Events::EMBED);
            outer.run_nowait();
            assert_eq!(calls.get(), 0);
            // It still sweeps the inner loop by itself.
            let (mut a, mut b) = socketpair();
            let reads = Counter::new();
            let r = reads.clone();
            let io = Io::new(&inner, a.as_raw_fd(), Events::READ, move |w, _| {
                let mut byte = [0u8; 1];
                a.read_exact(&mut byte).unwrap();
                r.inc();
                w.stop();
            })
            .unwrap();
            io.start().unwrap();
            outer.run_nowait();
            b.write_all(b"x").unwrap();
            run_until(&outer, || reads.get() == 1);
            assert_eq!(calls.get(), 0);
            e.stop();
        }
    });
}

// ---------------------------------------------------------------- priorities, feed, invoke

#[test]
fn higher_priority_callbacks_run_first() {
    for_each_backend(|lp| {
        let log: Log<i32> = Log::new();
        let order = [0, -2, 2, -1, 1];
        let idles: Vec<Idle> = order
            .iter()
            .map(|&p| {
                let l = log.clone();
                let w = Idle::new(&lp, move |w, _| l.push(w.priority()));
                assert_eq!(w.priority(), 0);
                w.set_priority(p).unwrap();
                assert_eq!(w.priority(), p);
                w
            })
            .collect();
        for w in &idles {
            w.feed(Events::CUSTOM);
        }
        assert_eq!(lp.pending_count(), 5);
        lp.invoke_pending();
        assert_eq!(log.take(), [2, 1, 0, -1, -2]);

        // Real events: timers that expire in the same iteration.
        let timers: Vec<Timer> = order
            .iter()
            .map(|&p| {
                let l = log.clone();
                let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |t, _| {
                    l.push(t.priority())
                });
                t.set_priority(p).unwrap();
                t.start().unwrap();
                t
            })
            .collect();
        run_bounded(&lp);
        assert_eq!(log.take(), [2, 1, 0, -1, -2]);
        drop(timers);
    });
}

#[test]
fn feed_invoke_and_clear_pending() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let t = Timer::new(&lp, HOUR, Duration::ZERO, move |_, ev| g.push(ev));
        t.start().unwrap();
        // feed: pending until the loop invokes it.
        t.feed(Events::CUSTOM);
        assert!(t.is_pending());
        assert_eq!(lp.pending_count(), 1);
        lp.run_nowait();
        assert_eq!(got.take(), [Events::CUSTOM]);
        assert!(!t.is_pending() && t.is_active());
        // clear_pending: returns the bits, the callback never sees them.
        t.feed(Events::CUSTOM);
        assert_eq!(t.clear_pending(), Events::CUSTOM);
        assert!(!t.is_pending());
        assert_eq!(t.clear_pending(), Events::NONE);
        lp.run_nowait();
        assert_eq!(got.len(), 0);
        // invoke: the callback runs right now.
        t.invoke(Events::TIMER | Events::CUSTOM);
        assert_eq!(got.take(), [Events::TIMER | Events::CUSTOM]);
        assert!(t.is_active());
        // stop clears a pending event too.
        t.feed(Events::CUSTOM);
        t.stop();
        assert!(!t.is_pending());
        lp.run_nowait();
        assert_eq!(got.len(), 0);
    });
}

// ---------------------------------------------------------------- keepalive

#[test]
fn keepalive_false_does_not_keep_run_going() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, HOUR, HOUR, move |_, _| c2.inc());
        assert!(t.keepalive());
        t.set_keepalive(false);
        assert!(!t.keepalive());
        t.start().unwrap();
        assert!(!run_bounded(&lp), "nothing keeps the loop alive");
        assert!(t.is_active());
        // Toggling while active is balanced.
        t.set_keepalive(true);
        t.set_keepalive(false);
        t.set_keepalive(false);
        assert!(!run_bounded(&lp));
        t.set_keepalive(true);
        t.set(Duration::ZERO, MS).unwrap_err(); // active: refused
        t.stop();
        // Keepalive again: the loop runs until the callback stops it.
        t.set(Duration::ZERO, MS).unwrap();
        let c3 = c.clone();
        t.set_callback(move |t, _| {
            c3.inc();
            if c3.get() == 2 {
                t.stop();
            }
        });
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 2);
    });
}

/// One more keepalive watcher must keep `run` going until it fires: proves
/// the loop's reference count is neither too high (run would hang: caught
/// by the guard) nor too low (run would return before it fires).
fn assert_refcount_balanced(lp: &Loop) {
    let quiet = Timer::new(lp, HOUR, Duration::ZERO, |_, _| panic!("never fires"));
    quiet.set_keepalive(false);
    quiet.start().unwrap();
    assert!(
        !run_bounded(lp),
        "a non-keepalive watcher alone must not keep run going"
    );
    let c = Counter::new();
    let c2 = c.clone();
    let t = Timer::new(lp, MS, Duration::ZERO, move |_, _| c2.inc());
    t.start().unwrap();
    assert!(!run_bounded(lp));
    assert_eq!(c.get(), 1, "run returned before the keepalive timer fired");
}

#[test]
fn keepalive_stays_balanced_when_libev_stops_a_one_shot_timer() {
    for_each_backend(|lp| {
        let fired = Counter::new();
        let f = fired.clone();
        let one_shot = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, _| f.inc());
        one_shot.set_keepalive(false);
        one_shot.start().unwrap();
        let keep = Timer::new(&lp, MS, Duration::ZERO, |_, _| {});
        keep.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(fired.get(), 1);
        assert!(!one_shot.is_active());
        assert_refcount_balanced(&lp);

        // The same after again() starts and stops it.
        one_shot.set_repeat(MS);
        one_shot.again();
        one_shot.set_repeat(Duration::ZERO);
        one_shot.again();
        assert!(!one_shot.is_active());
        assert_refcount_balanced(&lp);

        // And for an io watcher libev stops with ERROR.
        let (a, _b) = socketpair();
        let fd = util::dup_to(
            &a,
            RESERVED_FD_BASE + 40 + lp.backend().flag().trailing_zeros() as i32,
        );
        let errs = Counter::new();
        let e = errs.clone();
        let io = Io::new(&lp, fd, Events::READ, move |_, ev| {
            assert!(ev.contains(Events::ERROR));
            e.inc();
        })
        .unwrap();
        io.set_keepalive(false);
        io.start().unwrap();
        util::close_fd(fd);
        let tick = Timer::new(&lp, MS, Duration::from_millis(5), |_, _| {});
        tick.start().unwrap();
        run_until(&lp, || errs.get() == 1);
        tick.stop();
        assert_refcount_balanced(&lp);
    });
}

#[test]
fn keepalive_balanced_when_a_fired_timer_is_cleared_or_restarted_before_its_callback() {
    for_each_backend(|lp| {
        for restart in [false, true] {
            // `t` (non-keepalive, one-shot) and `h` (higher priority) expire
            // in the same iteration; libev stops `t` and queues it, then `h`
            // runs first and clears or restarts `t`.
            let calls = Counter::new();
            let c = calls.clone();
            let t = Rc::new(Timer::new(
                &lp,
                Duration::ZERO,
                Duration::ZERO,
                move |_, _| c.inc(),
            ));
            t.set_keepalive(false);
            t.start().unwrap();
            let t2 = t.clone();
            let h = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, _| {
                assert!(t2.is_pending() && !t2.is_active());
                if restart {
                    t2.start().unwrap();
                } else {
                    assert_eq!(t2.clear_pending(), Events::TIMER);
                }
            });
            h.set_priority(2).unwrap();
            h.start().unwrap();
            // Long enough not to expire in the first iteration even on a
            // slow run (valgrind): then the loop would end with nothing
            // keeping it alive before the restarted `t` fires.
            let keep = Timer::new(&lp, 50 * MS, Duration::ZERO, |_, _| {});
            keep.start().unwrap();
            assert!(!run_bounded(&lp));
            // Restarted, it fires for the first expiry and for the restart.
            assert_eq!(calls.get(), if restart { 2 } else { 0 });
            assert!(!t.is_active());
            assert_refcount_balanced(&lp);
        }
    });
}

// ---------------------------------------------------------------- dropping, replacing

#[test]
fn dropping_a_watcher_inside_its_own_callback() {
    for_each_backend(|lp| {
        // A repeating timer dropped from its callback.
        let c = Counter::new();
        let c2 = c.clone();
        let slot: Rc<RefCell<Option<Timer>>> = Rc::default();
        let s = slot.clone();
        let t = Timer::new(&lp, Duration::ZERO, MS, move |t, _| {
            c2.inc();
            assert!(t.is_active());
            drop(s.borrow_mut().take());
            // The handle is gone but the callback finishes normally.
            assert!(t.is_active());
        });
        t.start().unwrap();
        *slot.borrow_mut() = Some(t);
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 1);
        assert!(slot.borrow().is_none());

        // A level-triggered io watcher that would fire forever.
        let (a, mut b) = socketpair();
        b.write_all(b"never read").unwrap();
        let c = Counter::new();
        let c2 = c.clone();
        let slot: Rc<RefCell<Option<Io>>> = Rc::default();
        let s = slot.clone();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, move |_, _| {
            c2.inc();
            s.borrow_mut().take();
        })
        .unwrap();
        io.start().unwrap();
        *slot.borrow_mut() = Some(io);
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 1);

        // An async watcher: its senders disconnect.
        let slot: Rc<RefCell<Option<Async>>> = Rc::default();
        let s = slot.clone();
        let w = Async::new(&lp, move |_, _| {
            s.borrow_mut().take();
        });
        w.start().unwrap();
        let sender = w.sender();
        *slot.borrow_mut() = Some(w);
        sender.send().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(sender.send().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn replacing_the_callback() {
    for_each_backend(|lp| {
        let log: Log<&str> = Log::new();
        let l = log.clone();
        let t = Timer::new(&lp, Duration::ZERO, MS, move |t, _| {
            l.push("first");
            let l2 = l.clone();
            t.set_callback(move |t, _| {
                l2.push("second");
                t.stop();
            });
        });
        t.start().unwrap();
        run_bounded(&lp);
        assert_eq!(log.get(), ["first", "second"]);
        assert!(format!("{t:?}").contains("active: false"));
    });
}
