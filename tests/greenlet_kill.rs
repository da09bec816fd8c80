//! Killing greenlets (ARCHITECTURE.md, "Semantics kept from gevent"): never-started greenlets never
//! run but their links fire, killing a dead greenlet is a no-op,
//! GreenletExit is a success, custom kill errors, kill with a timeout,
//! kill_nowait, killall, and the unwinding that runs destructors. Failure
//! reports on stderr are checked in a child process.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use gevent::{
    Builder, Error, Greenlet, getcurrent, joinall, killall, sleep, spawn, spawn_later, try_sleep,
};
use gutil::{DropCounter, Log, child, each_backend, run_child, stderr_of, stdout_of, yield_until};

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

fn time_to_kill() -> Error {
    Error::killed(std::io::Error::other("A time to kill"))
}

#[test]
fn kill_of_a_never_started_greenlet() {
    each_backend(|| {
        // Created, never started.
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let g = Greenlet::new(move || r.set(true));
        let linked = Rc::new(Cell::new(0));
        let l = linked.clone();
        g.link(move |g| {
            assert!(g.dead());
            l.set(l.get() + 1)
        });
        g.kill().unwrap();
        assert!(g.dead() && g.successful());
        assert!(matches!(g.get(), Err(Error::GreenletExit)));
        assert!(yield_until(100, || linked.get() == 1));
        // It can no longer be started.
        g.start();
        sleep(Duration::from_millis(1));
        assert!(!ran.get());
        assert_eq!(linked.get(), 1);

        // Spawned (scheduled) but killed before it got to run.
        let r = ran.clone();
        let g = spawn(move || r.set(true));
        let l = linked.clone();
        g.link(move |_| l.set(l.get() + 1));
        g.kill_with(time_to_kill()).unwrap();
        assert!(g.dead() && !g.successful());
        assert!(matches!(g.get(), Err(Error::Killed(_))));
        assert!(yield_until(100, || linked.get() == 2));

        // spawn_later, killed before its delay: never runs, even later.
        let r = ran.clone();
        let g = spawn_later(Duration::from_millis(5), move || r.set(true));
        let l = linked.clone();
        g.link(move |_| l.set(l.get() + 1));
        g.kill_nowait();
        assert!(g.dead());
        sleep(Duration::from_millis(20));
        assert!(!ran.get());
        assert_eq!(linked.get(), 3);
    });
}

#[test]
fn kill_of_a_dead_greenlet_is_a_no_op() {
    each_backend(|| {
        let links = Rc::new(Cell::new(0));
        let l = links.clone();
        let g = spawn(|| 7);
        g.link(move |_| l.set(l.get() + 1));
        assert_eq!(g.get().unwrap(), 7);
        assert!(yield_until(100, || links.get() == 1));
        g.kill().unwrap();
        g.kill_with(time_to_kill()).unwrap();
        assert!(g.kill_timeout(Duration::from_millis(1)).unwrap());
        g.kill_nowait();
        killall(&[&g], true, Some(BOUND)).unwrap();
        assert_eq!(g.get().unwrap(), 7);
        assert!(g.successful() && g.error().is_none());
        sleep(Duration::from_millis(1));
        assert_eq!(links.get(), 1, "links do not fire twice");

        let failed = spawn(|| -> u8 { panic!("first") });
        let _ = failed.join();
        failed.kill().unwrap();
        assert!(matches!(failed.get(), Err(Error::Panicked(m)) if &*m == "first"));
    });
}

#[test]
fn greenlet_exit_counts_as_success() {
    each_backend(|| {
        let log = Log::new();
        let g = spawn(|| sleep(LONG));
        let (l1, l2) = (log.clone(), log.clone());
        g.link_value(move |_| l1.push("value"));
        g.link_exception(move |_| l2.push("exception"));
        sleep(Duration::ZERO);
        assert!(g.started() && !g.dead());
        g.kill().unwrap();
        assert!(g.dead() && g.ready() && g.successful());
        assert!(g.error().is_none() && g.exception().is_none() && g.exited());
        assert!(matches!(g.get(), Err(Error::GreenletExit)));
        assert_eq!(g.value(), None);
        assert!(yield_until(100, || !log.get().is_empty()));
        sleep(Duration::from_millis(1));
        assert_eq!(log.get(), ["value"]);
        // joinall_raise does not treat it as a failure.
        assert_eq!(gevent::joinall_raise(&[&g], Some(BOUND)).unwrap(), vec![0]);
    });
}

#[test]
fn kill_with_a_custom_error() {
    each_backend(|| {
        let log = Log::new();
        let g = Builder::new().name("victim").spawn(|| sleep(LONG));
        let (l1, l2) = (log.clone(), log.clone());
        g.link_value(move |_| l1.push("value"));
        g.link_exception(move |_| l2.push("exception"));
        sleep(Duration::ZERO);
        g.kill_with(time_to_kill()).unwrap();
        assert!(g.dead() && !g.successful());
        match g.get() {
            Err(Error::Killed(e)) => assert_eq!(e.to_string(), "A time to kill"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            gevent::joinall_raise(&[&g], Some(BOUND)),
            Err(Error::Killed(_))
        ));
        assert!(yield_until(100, || !log.get().is_empty()));
        assert_eq!(log.get(), ["exception"]);

        // kill_opts: custom error, not blocking.
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill_opts(Some(time_to_kill()), false, None).unwrap();
        assert!(
            !g.dead(),
            "a non-blocking kill returns before the greenlet dies"
        );
        assert!(g.join_timeout(BOUND).unwrap());
        assert!(matches!(g.error(), Some(Error::Killed(_))));
    });
}

#[test]
fn kill_unwinds_the_stack_so_destructors_run() {
    each_backend(|| {
        let drops = DropCounter::new();
        let entered = Rc::new(Cell::new(false));
        let after = Rc::new(Cell::new(false));
        let (d, e, a) = (drops.clone(), entered.clone(), after.clone());
        let g = spawn(move || {
            let _outer = d.token();
            fn deeper(d: &DropCounter, e: &Cell<bool>, levels: u32) {
                let _t = d.token();
                if levels == 0 {
                    e.set(true);
                    sleep(LONG);
                } else {
                    deeper(d, e, levels - 1);
                }
            }
            deeper(&d, &e, 9);
            a.set(true);
        });
        assert!(yield_until(10, || entered.get()));
        assert_eq!(drops.get(), 0);
        g.kill().unwrap();
        assert_eq!(drops.get(), 11, "every frame's destructor ran");
        assert!(!after.get(), "code after the switch point never ran");
        assert!(g.successful());
    });
}

#[test]
fn kill_of_a_greenlet_waiting_in_join_or_a_timeout() {
    each_backend(|| {
        let target = spawn(|| sleep(LONG));
        let t2 = target.clone();
        let joiner = spawn(move || t2.join());
        let t3 = target.clone();
        let timed = spawn(move || t3.join_timeout(LONG));
        sleep(Duration::ZERO);
        joiner.kill().unwrap();
        timed.kill().unwrap();
        assert!(joiner.successful() && timed.successful());
        assert!(!target.dead(), "killing a joiner does not touch its target");
        target.kill().unwrap();
        assert!(target.dead());
    });
}

#[test]
fn kill_of_the_running_greenlet_unwinds_at_once() {
    each_backend(|| {
        let drops = DropCounter::new();
        let d = drops.clone();
        let g = spawn(move || {
            let _t = d.token();
            let me = getcurrent();
            let _ = me.kill();
            unreachable!("kill() of yourself unwinds at once");
        });
        assert!(g.join_timeout(BOUND).unwrap());
        assert!(g.successful());
        assert!(g.error().is_none() && g.exception().is_none() && g.exited());
        assert_eq!(drops.get(), 1);

        let g = spawn(|| {
            getcurrent().kill_nowait();
            unreachable!("kill_nowait() of yourself unwinds too");
        });
        assert!(g.join_timeout(BOUND).unwrap());
        assert!(g.successful());
    });
}

#[test]
fn kill_with_timeout_on_a_greenlet_that_ignores_the_kill() {
    each_backend(|| {
        let drops = DropCounter::new();
        let d = drops.clone();
        let stubborn = Builder::new().name("stubborn").spawn(move || {
            let _t = d.token();
            // Swallow the kill (a misbehaving greenlet), then "clean up"
            // by blocking for a long time.
            let caught = catch_unwind(|| sleep(LONG));
            assert!(caught.is_err());
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        assert!(!stubborn.kill_timeout(Duration::from_millis(20)).unwrap());
        assert!(!stubborn.dead(), "it ignored the kill");
        assert_eq!(drops.get(), 0);
        // A second kill interrupts the blocking cleanup.
        assert!(stubborn.kill_timeout(BOUND).unwrap());
        assert!(stubborn.dead() && stubborn.successful());
        assert_eq!(drops.get(), 1);

        // kill_opts with a timeout, on a greenlet that dies promptly.
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill_opts(None, true, Some(BOUND)).unwrap();
        assert!(g.dead());
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        assert!(g.kill_timeout(BOUND).unwrap());
    });
}

#[test]
fn kill_nowait_delivers_at_the_next_switch() {
    each_backend(|| {
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill_nowait();
        assert!(!g.dead());
        assert!(g.join_timeout(BOUND).unwrap());
        assert!(g.successful());

        // A greenlet busy without blocking is killed when it next blocks.
        let steps = Rc::new(Cell::new(0));
        let s = steps.clone();
        let busy = spawn(move || {
            for _ in 0..3 {
                s.set(s.get() + 1);
            }
            sleep(Duration::ZERO);
            s.set(100);
        });
        busy.kill_nowait(); // not started yet: it never runs
        assert!(busy.dead());
        assert_eq!(steps.get(), 0);

        // Two kills in a row: the first wins, the second is harmless.
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill_opts(Some(time_to_kill()), false, None).unwrap();
        g.kill_nowait();
        assert!(g.join_timeout(BOUND).unwrap());
        assert!(matches!(g.error(), Some(Error::Killed(_))));
    });
}

#[test]
fn killall_blocking_and_not() {
    each_backend(|| {
        let drops = DropCounter::new();
        let gs: Vec<_> = (0..10)
            .map(|_| {
                let d = drops.clone();
                spawn(move || {
                    let _t = d.token();
                    sleep(LONG)
                })
            })
            .collect();
        sleep(Duration::ZERO);
        killall(&gs, true, Some(BOUND)).unwrap();
        assert!(gs.iter().all(|g| g.dead() && g.successful()));
        assert_eq!(drops.get(), 10);

        let gs: Vec<_> = (0..10).map(|_| spawn(|| sleep(LONG))).collect();
        sleep(Duration::ZERO);
        killall(&gs, false, None).unwrap();
        assert!(gs.iter().all(|g| !g.dead()));
        assert_eq!(joinall(&gs, Some(BOUND)).unwrap().len(), 10);
        assert!(gs.iter().all(|g| g.successful()));

        // Mixed: some never started, some dead, some running.
        let dead = spawn(|| ());
        dead.join().unwrap();
        let mixed = [
            Greenlet::new(|| ()).handle(),
            dead.handle(),
            spawn(|| sleep(LONG)).handle(),
        ];
        killall(&mixed, true, Some(BOUND)).unwrap();
        assert!(mixed.iter().all(|g| g.dead()));
        // killall with a timeout on a greenlet that ignores the kill.
        let stubborn = spawn(|| {
            let _ = catch_unwind(|| sleep(LONG));
            sleep(LONG)
        });
        sleep(Duration::ZERO);
        killall(&[&stubborn], true, Some(Duration::from_millis(10))).unwrap();
        assert!(!stubborn.dead());
        stubborn.kill().unwrap();
    });
}

#[test]
fn try_sleep_after_a_swallowed_kill_works() {
    // The kill is delivered once: after catching it, blocking works again.
    each_backend(|| {
        let g = spawn(|| {
            let r = catch_unwind(AssertUnwindSafe(|| sleep(LONG)));
            assert!(r.is_err());
            try_sleep(Duration::from_millis(1))
        });
        sleep(Duration::ZERO);
        g.kill_nowait();
        assert!(g.get_timeout(BOUND).unwrap().is_ok());
    });
}

// ---------------------------------------------------------------------------
// Failure reports on stderr, in a child process.

/// The seed article's custom greenlet type.
struct MyNoopGreenlet {
    seconds: f64,
}

impl gevent::GreenletRun for MyNoopGreenlet {
    type Output = ();
    fn run(self) {
        sleep(Duration::from_secs_f64(self.seconds));
    }
}

impl std::fmt::Display for MyNoopGreenlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MyNoopGreenlet({})", self.seconds)
    }
}

fn report_scenario() {
    // The article: spawn(lambda: 1 / 0) -> reported, and the program goes on.
    let divider = Builder::new()
        .name("divider")
        .spawn(|| 1 / std::hint::black_box(0u32));
    sleep(Duration::from_millis(1));
    assert!(divider.dead());
    let victim = Builder::new().name("victim").spawn(|| sleep(LONG));
    sleep(Duration::ZERO);
    victim.kill_with(time_to_kill()).unwrap();
    assert!(matches!(victim.get(), Err(Error::Killed(_))));
    let exited = Builder::new().name("exited").spawn(|| sleep(LONG));
    sleep(Duration::ZERO);
    exited.kill().unwrap();
    // The article's custom greenlet type, killed with a custom error.
    let noop = gevent::spawn_run(MyNoopGreenlet { seconds: 5.0 });
    sleep(Duration::ZERO);
    noop.kill_with(time_to_kill()).unwrap();
    let never = Builder::new().name("never").build(|| ());
    never.kill_with(time_to_kill()).unwrap();
    println!("the program continued: {}", spawn(|| 6 * 7).get().unwrap());
}

#[test]
fn failures_are_reported_on_stderr_and_the_program_continues() {
    if child().as_deref() == Some("report") {
        report_scenario();
        return;
    }
    let out = run_child(
        "failures_are_reported_on_stderr_and_the_program_continues",
        "report",
    );
    let (err, stdout) = (stderr_of(&out), stdout_of(&out));
    assert!(
        out.status.success(),
        "child failed: {:?}\n{err}",
        out.status
    );
    assert!(
        err.contains("<Greenlet \"divider\"> failed with panic: attempt to divide by zero"),
        "stderr:\n{err}"
    );
    assert!(
        err.contains("<Greenlet \"victim\"> failed with A time to kill"),
        "stderr:\n{err}"
    );
    assert!(
        err.lines()
            .any(|l| l == "MyNoopGreenlet(5) failed with A time to kill"),
        "a custom greenlet type is reported with its Display:\n{err}"
    );
    assert!(
        err.contains("<Greenlet \"never\"> failed with A time to kill"),
        "a never-started greenlet killed with an error is reported too:\n{err}"
    );
    assert!(
        !err.contains("\"exited\""),
        "GreenletExit is not reported: {err}"
    );
    assert!(
        stdout.contains("the program continued: 42"),
        "stdout:\n{stdout}"
    );
}

// ---------------------------------------------------------------------------
// Issue 8, item 5: a kill (or a Timeout) aimed at a greenlet that is queued
// to resume is raised at that pending switch point.

#[test]
fn kill_while_pending_in_sleep_zero_is_raised_there() {
    each_backend(|| {
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let g = spawn(move || {
            sleep(Duration::ZERO);
            r.set(true);
        });
        // g starts and parks in its sleep(0), queued to resume.
        sleep(Duration::ZERO);
        assert!(g.started() && !g.dead());
        g.kill().unwrap();
        assert!(!ran.get(), "the kill was lost: sleep(0) returned normally");
        assert!(g.dead() && g.successful() && g.exited());
        assert!(matches!(g.get(), Err(Error::GreenletExit)));

        // The same with kill_nowait and a custom error.
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let g = spawn(move || -> u32 {
            sleep(Duration::ZERO);
            r.set(true);
            7
        });
        sleep(Duration::ZERO);
        g.kill_nowait();
        g.kill_with(time_to_kill()).unwrap();
        assert!(!ran.get());
        assert!(g.dead() && g.exited() && g.value().is_none());
    });
}

#[test]
fn kill_of_a_greenlet_woken_but_not_yet_resumed() {
    each_backend(|| {
        let ev = gevent::Event::new();
        let returned = Rc::new(Cell::new(false));
        let (e, r) = (ev.clone(), returned.clone());
        let g = spawn(move || {
            let _ = e.wait();
            r.set(true);
        });
        sleep(Duration::ZERO);
        assert!(!g.dead());
        // Wake it, then kill it before it got to run.
        ev.set();
        g.kill().unwrap();
        assert!(!returned.get(), "the woken greenlet ran on after the kill");
        assert!(g.dead() && g.exited());
    });
}

#[test]
fn timeout_expiring_while_queued_is_raised_at_that_switch() {
    each_backend(|| {
        // The running greenlet yields in a loop, so whenever the hub polls
        // (and the timer fires) it is queued to resume in its sleep(0).
        let ran_after_expiry = Rc::new(Cell::new(0u32));
        let t = gevent::Timeout::new(Some(Duration::ZERO));
        let deadline = std::time::Instant::now() + BOUND;
        let r = t.catch(|| {
            while std::time::Instant::now() < deadline {
                sleep(Duration::ZERO);
                if t.fired() {
                    ran_after_expiry.set(ran_after_expiry.get() + 1);
                }
            }
        });
        assert!(r.unwrap_err().is_timeout(), "the timeout never fired");
        assert_eq!(
            ran_after_expiry.get(),
            0,
            "sleep(0) returned normally after the timeout expired"
        );
    });
}

// Issue 8, item 7: GreenletExit is the value, not an exception.
#[test]
fn plain_kill_leaves_no_exception() {
    each_backend(|| {
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill().unwrap();
        assert!(g.successful() && g.exited());
        assert!(g.error().is_none() && g.exception().is_none());
        assert!(matches!(g.get(), Err(Error::GreenletExit)));
        // A custom kill error is an exception.
        let g = spawn(|| sleep(LONG));
        sleep(Duration::ZERO);
        g.kill_with(time_to_kill()).unwrap();
        assert!(!g.successful() && !g.exited());
        assert!(matches!(g.error(), Some(Error::Killed(_))));
        // Killed before it started, and through the untyped handle.
        let g = Greenlet::new(|| 1);
        g.kill().unwrap();
        assert!(g.handle().error().is_none() && g.handle().exited());
        // A normal return did not exit.
        let g = spawn(|| 1);
        g.join().unwrap();
        assert!(!g.exited() && g.error().is_none());
    });
}

// Issue 8, item 4 (documented): a panic in a Drop run by a kill's unwind
// aborts the process, as the docs of kill and Timeout say.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("drop panicked");
    }
}

#[test]
fn a_panic_in_drop_during_a_kill_aborts_the_process() {
    if child().as_deref() == Some("drop-panic") {
        let g = spawn(|| {
            let _p = PanicsOnDrop;
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        let _ = g.kill();
        println!("not reached: the process survived");
        return;
    }
    let out = run_child(
        "a_panic_in_drop_during_a_kill_aborts_the_process",
        "drop-panic",
    );
    assert!(!out.status.success());
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{:?}", out.status);
    assert!(!stdout_of(&out).contains("not reached"));
}
