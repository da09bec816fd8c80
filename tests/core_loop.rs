//! Every `Loop` function, once per usable backend.

mod util;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use gevent::core::{
    Backend, Backends, Break, Events, Idle, Io, Loop, Periodic, Prepare, Signal, Timer,
};
use util::{Counter, Log, for_each_backend, for_each_backend_named, run_bounded, run_until};

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn backend_sets_are_consistent() {
    let supported = Loop::supported_backends();
    let usable = Loop::usable_backends();
    let recommended = Loop::recommended_backends();
    let embeddable = Loop::embeddable_backends();
    println!(
        "supported {supported}; usable {usable}; recommended {recommended}; embeddable {embeddable}"
    );
    assert!(usable.contains(Backend::Select));
    assert!(usable.contains(Backend::Poll));
    for set in [usable, recommended, embeddable] {
        assert_eq!(
            set.bits() & !supported.bits(),
            0,
            "{set} not within {supported}"
        );
    }
    #[cfg(target_os = "linux")]
    {
        assert!(usable.contains(Backend::Epoll));
        assert!(!supported.contains(Backend::Kqueue));
    }
    // Names round-trip through parsing.
    let parsed: Backends = supported.to_string().parse().unwrap();
    assert_eq!(parsed, supported);
    assert_eq!(Loop::version(), (4, 33));
}

#[test]
fn loops_on_every_backend() {
    for_each_backend_named(|b, lp| {
        assert!(!lp.is_default());
        assert_eq!(lp.backend(), b);
        assert!(!lp.as_ptr().is_null());
        let by_flags = Loop::with_flags(b.flag() | libev_sys::EVFLAG_NOENV).unwrap();
        assert_eq!(by_flags.backend(), b);
        assert_ne!(lp.as_ptr(), by_flags.as_ptr(), "two distinct loops");
        assert!(format!("{lp:?}").contains(&format!("{b:?}")));
    });
    let lp = Loop::new().unwrap();
    assert!(Loop::usable_backends().contains(lp.backend()));
}

#[test]
fn default_loop_is_shared_on_one_thread() {
    let _g = util::process_lock();
    let a = Loop::default_loop().unwrap();
    let b = Loop::default_loop().unwrap();
    assert!(a.is_default() && b.is_default());
    assert_eq!(a.as_ptr(), b.as_ptr());
    assert!(!Loop::new().unwrap().is_default());
    // It runs like any other loop.
    let c = Counter::new();
    let c2 = c.clone();
    let t = Timer::new(&a, Duration::ZERO, Duration::ZERO, move |_, _| c2.inc());
    t.start().unwrap();
    run_bounded(&b);
    assert_eq!(c.get(), 1);
}

#[test]
fn run_without_watchers_returns_at_once() {
    for_each_backend(|lp| {
        assert_eq!(lp.iteration(), 0);
        assert!(!lp.run());
        assert_eq!(lp.iteration(), 1);
        assert!(!lp.run_once());
        assert!(!lp.run_nowait());
        assert_eq!(lp.iteration(), 3);
        assert_eq!(lp.depth(), 0);
        assert_eq!(lp.pending_count(), 0);
    });
}

#[test]
fn run_once_and_run_nowait() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, ev| {
            assert_eq!(ev, Events::TIMER);
            c2.inc();
        });
        t.start().unwrap();
        // A zero timer expires in the first iteration that follows.
        let (g, fired) = util::guard(&lp);
        while c.get() == 0 {
            assert!(!fired.get());
            lp.run_once();
        }
        g.stop();
        assert!(!t.is_active());

        // Nothing is due: run_nowait handles nothing and reports the
        // still-active watcher.
        let long = Timer::new(&lp, HOUR, Duration::ZERO, |_, _| panic!("not due"));
        long.start().unwrap();
        let before = lp.iteration();
        assert!(lp.run_nowait());
        assert_eq!(lp.iteration(), before + 1);
        assert!(long.is_active());
    });
}

#[test]
fn break_one_returns_with_watchers_active() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(
            &lp,
            Duration::ZERO,
            Duration::from_millis(1),
            move |t, _| {
                c2.inc();
                t.loop_().break_loop(Break::One);
            },
        );
        t.start().unwrap();
        assert!(run_bounded(&lp), "run reports the active timer");
        assert_eq!(c.get(), 1);
        assert!(t.is_active());
        // The break applied to that run only: the next run goes on.
        assert!(run_bounded(&lp));
        assert_eq!(c.get(), 2);
        t.stop();
        assert!(!run_bounded(&lp));
    });
}

#[test]
fn break_cancel_undoes_a_break() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(
            &lp,
            Duration::ZERO,
            Duration::from_millis(1),
            move |t, _| {
                c2.inc();
                t.loop_().break_loop(Break::One);
                t.loop_().break_loop(Break::Cancel);
                if c2.get() == 3 {
                    t.stop();
                }
            },
        );
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 3);
    });
}

#[test]
fn depth_and_nested_run() {
    for_each_backend(|lp| {
        let log: Log<(&str, u32)> = Log::new();
        let l = log.clone();
        let outer = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |t, _| {
            let lp = t.loop_();
            l.push(("outer", lp.depth()));
            let l2 = l.clone();
            let inner = Timer::new(lp, Duration::ZERO, Duration::ZERO, move |t2, _| {
                l2.push(("inner", t2.loop_().depth()));
            });
            inner.start().unwrap();
            lp.run(); // nested: returns once `inner` fired
            l.push(("after nested", lp.depth()));
        });
        outer.start().unwrap();
        assert_eq!(lp.depth(), 0);
        run_bounded(&lp);
        assert_eq!(lp.depth(), 0);
        assert_eq!(log.get(), [("outer", 1), ("inner", 2), ("after nested", 1)]);
    });
}

#[test]
fn break_all_leaves_every_nested_run() {
    for_each_backend(|lp| {
        for (how, outer_calls, outer_active) in [(Break::All, 1, true), (Break::One, 2, false)] {
            let c = Counter::new();
            let c2 = c.clone();
            // A repeating outer timer keeps the outer run going until
            // something breaks it (or it stops itself on its second call).
            let outer = Timer::new(
                &lp,
                Duration::ZERO,
                Duration::from_millis(1),
                move |t, _| {
                    c2.inc();
                    if c2.get() == 2 {
                        t.stop();
                        return;
                    }
                    let inner =
                        Timer::new(t.loop_(), Duration::ZERO, Duration::ZERO, move |t2, _| {
                            assert_eq!(t2.loop_().depth(), 2);
                            t2.loop_().break_loop(how);
                        });
                    inner.start().unwrap();
                    t.loop_().run();
                },
            );
            outer.start().unwrap();
            let r = run_bounded(&lp);
            assert_eq!(c.get(), outer_calls, "{how:?}");
            assert_eq!(outer.is_active(), outer_active, "{how:?}");
            assert_eq!(r, outer_active, "{how:?}");
            outer.stop();
        }
    });
}

#[test]
fn iteration_counts_polls() {
    for_each_backend(|lp| {
        let p = Counter::new();
        let p2 = p.clone();
        let prep = Prepare::new(&lp, move |_, _| p2.inc());
        prep.set_keepalive(false);
        prep.start().unwrap();
        for i in 1..=5 {
            lp.run_nowait();
            assert_eq!(lp.iteration(), i);
            assert_eq!(p.get(), i);
        }
    });
}

#[test]
fn pending_count_and_invoke_pending() {
    for_each_backend(|lp| {
        let log: Log<(u32, Events)> = Log::new();
        let watchers: Vec<Idle> = (0..3)
            .map(|i| {
                let l = log.clone();
                Idle::new(&lp, move |_, ev| l.push((i, ev)))
            })
            .collect();
        assert_eq!(lp.pending_count(), 0);
        watchers[0].feed(Events::CUSTOM);
        watchers[2].feed(Events::CUSTOM);
        assert_eq!(lp.pending_count(), 2);
        assert!(watchers[0].is_pending() && !watchers[1].is_pending());
        lp.invoke_pending();
        assert_eq!(lp.pending_count(), 0);
        let mut got = log.take();
        got.sort_by_key(|e| e.0);
        assert_eq!(got, [(0, Events::CUSTOM), (2, Events::CUSTOM)]);
        // Nothing pending: invoke_pending does nothing.
        lp.invoke_pending();
        assert_eq!(log.len(), 0);
    });
}

#[test]
fn now_now_update_time_and_sleep() {
    for_each_backend(|lp| {
        let t0 = lp.now();
        assert!(t0 > 1.6e9, "now() is wall-clock seconds");
        // The cached time does not move by itself...
        Loop::sleep(Duration::from_millis(5));
        assert_eq!(lp.now(), t0);
        // ...until updated.
        lp.now_update();
        let t1 = lp.now();
        assert!(t1 > t0);
        // (ev_time reads the wall clock directly; ev_now derives it from
        // the monotonic clock, so the two may differ slightly either way.)
        assert!(Loop::time() > 1.6e9);
        // run updates it too.
        Loop::sleep(Duration::from_millis(2));
        lp.run_nowait();
        assert!(lp.now() > t1);
    });
}

#[test]
fn suspend_and_resume_keep_timers_working() {
    for_each_backend(|lp| {
        let long = Timer::new(&lp, HOUR, Duration::ZERO, |_, _| {});
        long.start().unwrap();
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(
            &lp,
            Duration::from_millis(1),
            Duration::ZERO,
            move |_, _| c2.inc(),
        );
        t.start().unwrap();
        lp.suspend();
        Loop::sleep(Duration::from_millis(3));
        lp.resume();
        assert!(long.is_active() && t.is_active());
        assert!(long.remaining() <= HOUR);
        long.stop();
        run_bounded(&lp);
        assert_eq!(c.get(), 1);
    });
}

#[test]
fn collect_intervals_do_not_lose_events() {
    for_each_backend(|lp| {
        lp.set_io_collect_interval(Duration::from_millis(1));
        lp.set_timeout_collect_interval(Duration::from_millis(1));
        let (a, mut b) = util::socketpair();
        let log: Log<Events> = Log::new();
        let l = log.clone();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, ev| {
            l.push(ev);
            w.stop();
        })
        .unwrap();
        io.start().unwrap();
        let l = log.clone();
        let t = Timer::new(
            &lp,
            Duration::from_millis(1),
            Duration::ZERO,
            move |_, ev| l.push(ev),
        );
        t.start().unwrap();
        b.write_all(b"x").unwrap();
        run_bounded(&lp);
        let mut got = log.get();
        got.sort_by_key(|e| e.bits());
        assert_eq!(got, [Events::READ, Events::TIMER]);
        lp.set_io_collect_interval(Duration::ZERO);
        lp.set_timeout_collect_interval(Duration::ZERO);
    });
}

#[test]
fn ref_and_unref() {
    for_each_backend(|lp| {
        // An unref'd loop returns although a (long) timer is active.
        let long = Timer::new(&lp, HOUR, Duration::ZERO, |_, _| {});
        long.start().unwrap();
        lp.unref();
        assert!(!run_bounded(&lp));
        assert!(long.is_active());
        lp.ref_();
        long.stop();
        // An extra reference keeps it running until dropped again.
        lp.ref_();
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |t, _| {
            t.loop_().unref()
        });
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert!(!t.is_active());
    });
}

#[test]
fn verify_after_activity() {
    for_each_backend(|lp| {
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, _| {});
        t.start().unwrap();
        lp.verify();
        run_bounded(&lp);
        lp.verify();
    });
}

#[test]
fn once_with_fd_and_timeout() {
    for_each_backend(|lp| {
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let push = move |ev| g.push(ev);

        // Pure timeout.
        lp.once(None, Events::NONE, Some(Duration::ZERO), push.clone())
            .unwrap();
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::TIMER]);

        // A readable fd wins over a long timeout.
        let (a, mut b) = util::socketpair();
        b.write_all(b"x").unwrap();
        lp.once(Some(a.as_raw_fd()), Events::READ, Some(HOUR), push.clone())
            .unwrap();
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::READ]);

        // A readable fd without a timeout.
        lp.once(Some(a.as_raw_fd()), Events::READ, None, push.clone())
            .unwrap();
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::READ]);

        // A writable fd.
        lp.once(Some(b.as_raw_fd()), Events::WRITE, None, push.clone())
            .unwrap();
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::WRITE]);

        // Nothing to read on `b`: the timeout fires instead.
        lp.once(
            Some(b.as_raw_fd()),
            Events::READ,
            Some(Duration::ZERO),
            push.clone(),
        )
        .unwrap();
        run_bounded(&lp);
        assert_eq!(got.take(), [Events::TIMER]);

        // Arguments libev would assert on are refused.
        util::assert_err(
            lp.once(Some(-1), Events::READ, None, |_| {}),
            std::io::ErrorKind::InvalidInput,
            &["-1"],
        );
        util::assert_err(
            lp.once(Some(0), Events::TIMER, None, |_| {}),
            std::io::ErrorKind::InvalidInput,
            &["mask"],
        );
    });
}

#[test]
fn feed_fd_event_reaches_io_watchers() {
    for_each_backend(|lp| {
        let (a, _b) = util::socketpair();
        let got: Log<Events> = Log::new();
        let g = got.clone();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, ev| {
            g.push(ev);
            w.stop();
        })
        .unwrap();
        io.start().unwrap();
        lp.run_nowait(); // registers the fd; nothing is readable
        assert_eq!(got.len(), 0);
        lp.feed_fd_event(a.as_raw_fd(), Events::READ).unwrap();
        run_bounded(&lp);
        assert_eq!(got.get(), [Events::READ]);
    });
}

#[test]
fn feed_signal_event_reaches_signal_watchers() {
    let _s = util::signal_lock();
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let w = Signal::new(&lp, libc::SIGUSR2, move |w, ev| {
            assert_eq!(ev, Events::SIGNAL);
            c2.inc();
            w.stop();
        })
        .unwrap();
        w.start().unwrap();
        lp.feed_signal_event(libc::SIGUSR2).unwrap();
        run_bounded(&lp);
        assert_eq!(c.get(), 1);
    });
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn panics_in_callbacks_resurface_from_run() {
    for_each_backend(|lp| {
        // A timer callback.
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |_, _| {
            panic!("boom in timer")
        });
        t.start().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom in timer");
        assert_eq!(lp.depth(), 0);

        // An io callback; the watcher stays active after the panic.
        let (a, mut b) = util::socketpair();
        b.write_all(b"x").unwrap();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, |_, _| {
            panic!("boom in io")
        })
        .unwrap();
        io.start().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom in io");
        assert!(io.is_active());
        io.stop();

        // A once callback.
        lp.once(None, Events::NONE, Some(Duration::ZERO), |_| {
            panic!("boom in once")
        })
        .unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom in once");

        // A periodic's reschedule closure (called when it fires).
        let calls = Counter::new();
        let c2 = calls.clone();
        let p = Periodic::with_reschedule(
            &lp,
            move |now| {
                c2.inc();
                if c2.get() > 1 {
                    panic!("boom in reschedule");
                }
                now
            },
            |_, _| {},
        );
        p.start().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom in reschedule");
        p.stop();

        // A panic in a nested run goes through the outer run.
        let outer = Timer::new(&lp, Duration::ZERO, Duration::ZERO, |t, _| {
            let inner = Timer::new(t.loop_(), Duration::ZERO, Duration::ZERO, |_, _| {
                panic!("boom nested")
            });
            inner.start().unwrap();
            t.loop_().run();
            unreachable!("the nested run resumes the panic");
        });
        outer.start().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom nested");
        assert_eq!(lp.depth(), 0);

        // invoke() runs the callback directly and resumes its panic too.
        let w = Idle::new(&lp, |_, ev| panic!("boom in invoke {ev:?}"));
        let r = catch_unwind(AssertUnwindSafe(|| w.invoke(Events::CUSTOM)));
        assert_eq!(
            panic_message(&*r.unwrap_err()),
            "boom in invoke Events(CUSTOM)"
        );

        // The loop is fine afterwards.
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(&lp, Duration::ZERO, Duration::ZERO, move |_, _| c2.inc());
        t.start().unwrap();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 1);
        lp.verify();
    });
}

#[test]
fn watchers_keep_the_loop_alive() {
    for_each_backend(|lp| {
        let c = Counter::new();
        let c2 = c.clone();
        let t = Timer::new(
            &lp,
            Duration::ZERO,
            Duration::from_millis(1),
            move |t, _| {
                c2.inc();
                if c2.get() == 2 {
                    t.stop();
                }
            },
        );
        t.start().unwrap();
        drop(lp); // the timer still holds the loop
        let lp = t.loop_().clone();
        assert!(!run_bounded(&lp));
        assert_eq!(c.get(), 2);
        // The last handle and the watcher can go in either order.
        drop(lp);
        drop(t);
    });
}

#[test]
fn loop_fork_without_fork_is_harmless() {
    for_each_backend(|lp| {
        let (a, mut b) = util::socketpair();
        let got = Counter::new();
        let g = got.clone();
        let io = Io::new(&lp, a.as_raw_fd(), Events::READ, move |w, _| {
            g.inc();
            w.stop();
        })
        .unwrap();
        io.start().unwrap();
        lp.run_nowait();
        lp.loop_fork();
        b.write_all(b"x").unwrap();
        run_until(&lp, || got.get() == 1);
    });
}

/// The raw-API example of libev_sys's crate docs, which can only be
/// compiled there (libev is linked through the gevent package).
#[test]
fn libev_sys_raw_example_runs() {
    use libev_sys::*;
    use std::os::raw::c_int;

    unsafe extern "C" fn on_timer(_l: *mut ev_loop, w: *mut ev_timer, _revents: c_int) {
        // SAFETY: `data` points at the counter below for the watcher's life.
        unsafe { *((*w).data as *mut u32) += 1 };
    }

    // SAFETY: the watcher and the counter outlive the loop run; the loop
    // is destroyed after the (one-shot) timer has stopped.
    unsafe {
        let lp = ev_loop_new(EVFLAG_AUTO);
        assert!(!lp.is_null());
        let mut fired = 0u32;
        let mut t: ev_timer = std::mem::zeroed();
        ev_timer_init(&mut t, Some(on_timer), 0.001, 0.0);
        t.data = &mut fired as *mut u32 as *mut _;
        ev_timer_start(lp, &mut t);
        ev_run(lp, 0);
        assert_eq!(fired, 1);
        ev_loop_destroy(lp);
    }
}
