//! The invariants of ARCHITECTURE.md that belong to the hub: no switching while
//! unwinding, panics never crossing `extern "C"`, LoopExit instead of a
//! hang, no blocking in the hub, and `sleep(0)` not starving timers.
//! Scenarios that could abort the process run in a child process.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::core::Timer;
use gevent::{Builder, Error, Greenlet, get_hub, getcurrent, sleep, spawn, try_sleep};
use gutil::{DropCounter, child, each_backend, run_child, stderr_of, stdout_of, yield_until};

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

/// Counts how often it got to run: proof of a switch when it changes.
fn ticker() -> (Greenlet<()>, Rc<Cell<u64>>) {
    let ticks = Rc::new(Cell::new(0u64));
    let t = ticks.clone();
    let g = spawn(move || {
        loop {
            t.set(t.get() + 1);
            sleep(Duration::ZERO);
        }
    });
    (g, ticks)
}

/// Blocks in its destructor, recording what each blocking call returned
/// and whether anything else ran meanwhile.
struct BlockingDrop {
    ticks: Rc<Cell<u64>>,
    other: Greenlet<()>,
    seen: Rc<RefCell<Vec<String>>>,
}

impl Drop for BlockingDrop {
    fn drop(&mut self) {
        let before = self.ticks.get();
        let me = getcurrent().id();
        let mut seen = self.seen.borrow_mut();
        seen.push(format!("panicking {}", std::thread::panicking()));
        seen.push(format!("{:?}", try_sleep(Duration::from_millis(5))));
        seen.push(format!("{:?}", try_sleep(Duration::ZERO)));
        seen.push(format!("{:?}", self.other.join()));
        seen.push(format!(
            "{:?}",
            self.other.join_timeout(Duration::from_millis(5))
        ));
        seen.push(format!("{:?}", gevent::idle()));
        sleep(Duration::from_millis(5)); // returns at once
        seen.push(format!(
            "switched {}",
            self.ticks.get() != before || getcurrent().id() != me
        ));
    }
}

#[test]
fn a_blocking_call_while_unwinding_does_not_switch() {
    each_backend(|| {
        let (tick, ticks) = ticker();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let other = spawn(|| sleep(LONG));
        let (t, s, o) = (ticks.clone(), seen.clone(), other.clone());
        let g = spawn(move || {
            let _d = BlockingDrop {
                ticks: t,
                other: o,
                seen: s,
            };
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        g.kill().unwrap();
        assert!(g.dead() && g.successful());
        let unwinding = format!("{:?}", Err::<(), _>(Error::Unwinding));
        assert_eq!(
            *seen.borrow(),
            [
                "panicking true".to_string(),
                unwinding.clone(),
                unwinding.clone(),
                unwinding.clone(),
                unwinding.clone(),
                unwinding,
                "switched false".to_string(),
            ]
        );

        // The same under a Timeout and under a plain panic.
        seen.borrow_mut().clear();
        let (t, s, o) = (ticks.clone(), seen.clone(), other.clone());
        let g = spawn(move || {
            let _d = BlockingDrop {
                ticks: t,
                other: o,
                seen: s,
            };
            panic!("plain panic");
        });
        let _ = g.join();
        assert!(matches!(g.error(), Some(Error::Panicked(_))));
        assert_eq!(seen.borrow().last().unwrap(), "switched false");
        seen.borrow_mut().clear();
        let (t, s, o) = (ticks.clone(), seen.clone(), other.clone());
        let g = spawn(move || {
            let _d = BlockingDrop {
                ticks: t,
                other: o,
                seen: s,
            };
            let _timeout = gevent::Timeout::new(Some(Duration::from_millis(1)));
            sleep(LONG);
        });
        assert!(matches!(g.get_timeout(BOUND), Err(Error::Timeout)));
        assert_eq!(seen.borrow().last().unwrap(), "switched false");
        // Blocking works again once the unwinding is over.
        assert!(try_sleep(Duration::from_millis(1)).is_ok());
        other.kill().unwrap();
        tick.kill().unwrap();
    });
}

fn second_panic_scenario() {
    // A greenlet whose destructor tries to block while it is being killed,
    // and another greenlet, ready to run, that panics. If the destructor
    // switched, the second greenlet would panic while the thread is
    // already panicking, and the process would abort.
    let (t, ticks) = ticker();
    let other = spawn(|| sleep(LONG));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (tk, s, o) = (ticks.clone(), seen.clone(), other.clone());
    let victim = Builder::new().name("victim").spawn(move || {
        let _d = BlockingDrop {
            ticks: tk,
            other: o,
            seen: s,
        };
        sleep(LONG);
    });
    sleep(Duration::ZERO);
    let second = Builder::new()
        .name("second")
        .spawn(|| -> () { panic!("second panic") });
    victim.kill_nowait();
    let third = Builder::new()
        .name("third")
        .spawn(|| -> () { panic!("third panic") });
    victim.join().unwrap();
    assert!(matches!(second.get(), Err(Error::Panicked(_))));
    assert!(matches!(third.get(), Err(Error::Panicked(_))));
    // Panics caught inside greenlets while another one unwinds, too.
    let catcher = spawn(|| std::panic::catch_unwind(|| panic!("caught")).is_err());
    assert!(catcher.get().unwrap());
    gevent::killall(&[t.handle(), other.handle()], true, Some(BOUND)).unwrap();
    println!("survived: {}", seen.borrow().last().unwrap());
}

#[test]
fn a_second_panic_elsewhere_cannot_abort_the_process() {
    if child().as_deref() == Some("second_panic") {
        second_panic_scenario();
        return;
    }
    let out = run_child(
        "a_second_panic_elsewhere_cannot_abort_the_process",
        "second_panic",
    );
    let err = stderr_of(&out);
    assert!(out.status.success(), "child died: {:?}\n{err}", out.status);
    assert!(stdout_of(&out).contains("survived: switched false"));
    assert!(
        err.contains("<Greenlet \"second\"> failed with panic: second panic"),
        "{err}"
    );
    assert!(
        err.contains("<Greenlet \"third\"> failed with panic: third panic"),
        "{err}"
    );
}

fn hub_panics_scenario() {
    // A panic in a libev watcher callback on the hub's loop.
    let t = Timer::new(
        get_hub().loop_(),
        Duration::from_millis(1),
        Duration::ZERO,
        |_, _| panic!("panic in a watcher"),
    );
    t.start().unwrap();
    sleep(Duration::from_millis(5));
    // A panic in a hub callback.
    get_hub().run_callback(|| panic!("panic in a hub callback"));
    sleep(Duration::ZERO);
    // A panic in a link.
    let g = spawn(|| 1);
    g.link(|_| panic!("panic in a link"));
    let after = Rc::new(Cell::new(false));
    let a = after.clone();
    g.link(move |_| a.set(true));
    g.join().unwrap();
    assert!(yield_until(100, || after.get()), "later links still run");
    // A panic in the destructor of a greenlet-local value.
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("panic dropping a local");
        }
    }
    let local: &'static gevent::Local<RefCell<Option<PanicOnDrop>>> =
        Box::leak(Box::new(gevent::Local::new(|| RefCell::new(None))));
    let g = spawn(move || local.with(|l| *l.borrow_mut() = Some(PanicOnDrop)));
    g.join().unwrap();
    assert!(g.successful());
    // The hub carries on.
    sleep(Duration::from_millis(2));
    println!("hub carried on: {}", spawn(|| 2 + 2).get().unwrap());
}

#[test]
fn panics_in_hub_code_are_reported_and_the_hub_carries_on() {
    if child().as_deref() == Some("hub_panics") {
        hub_panics_scenario();
        return;
    }
    let out = run_child(
        "panics_in_hub_code_are_reported_and_the_hub_carries_on",
        "hub_panics",
    );
    let err = stderr_of(&out);
    assert!(out.status.success(), "child died: {:?}\n{err}", out.status);
    assert!(stdout_of(&out).contains("hub carried on: 4"));
    for msg in [
        "panic in a watcher",
        "panic in a hub callback",
        "panic in a link",
        "panic dropping a local",
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("gevent: ") && l.contains(msg)),
            "no gevent report of {msg:?} in:\n{err}"
        );
    }
}

#[test]
fn a_panic_in_a_watcher_callback_does_not_stop_the_hub() {
    each_backend(|| {
        let t = Timer::new(get_hub().loop_(), Duration::ZERO, Duration::ZERO, |_, _| {
            panic!("watcher panic")
        });
        t.start().unwrap();
        let g = spawn(|| {
            sleep(Duration::from_millis(2));
            9
        });
        assert_eq!(g.get_timeout(BOUND).unwrap(), 9);
        assert!(!t.is_active());
    });
}

#[test]
fn loop_exit_instead_of_blocking_forever() {
    each_backend(|| {
        // Waits for a greenlet that is never started: nothing can wake it.
        let never = Greenlet::new(|| ());
        let n = never.clone();
        let stuck = spawn(move || n.join());
        let r = stuck.join();
        assert!(matches!(r, Err(Error::LoopExit)), "{r:?}");
        assert!(!stuck.dead());
        // The hub keeps working afterwards.
        sleep(Duration::from_millis(1));
        assert_eq!(spawn(|| 7).get().unwrap(), 7);
        // Again with get(), and with the main greenlet waiting directly.
        assert!(matches!(stuck.get(), Err(Error::LoopExit)));
        assert!(matches!(never.join(), Err(Error::LoopExit)));
        // A timeout keeps the loop alive: no LoopExit then.
        assert!(!never.join_timeout(Duration::from_millis(2)).unwrap());
        // Joining yourself can never finish either.
        assert!(matches!(getcurrent().join(), Err(Error::LoopExit)));
        let selfjoin = spawn(|| getcurrent().join());
        assert!(matches!(selfjoin.get(), Ok(Err(Error::LoopExit))));
        // Clean up: killing the stuck greenlet works.
        stuck.kill().unwrap();
        assert!(stuck.dead() && stuck.successful());
        never.kill().unwrap();
        assert_eq!(spawn(|| 8).get().unwrap(), 8);
    });
}

#[test]
fn blocking_in_the_hub_is_an_error() {
    each_backend(|| {
        let results = Rc::new(RefCell::new(Vec::new()));
        let r = results.clone();
        let target = spawn(|| sleep(LONG));
        let t = target.clone();
        get_hub().run_callback(move || {
            let mut r = r.borrow_mut();
            r.push(format!("{:?}", try_sleep(Duration::from_millis(1))));
            r.push(format!("{:?}", try_sleep(Duration::ZERO)));
            r.push(format!("{:?}", t.join()));
            r.push(format!("{:?}", t.join_timeout(Duration::from_millis(1))));
            r.push(format!("{:?}", t.kill()));
            r.push(format!("{:?}", gevent::idle()));
            r.push(format!(
                "{:?}",
                gevent::with_timeout(Duration::from_millis(1), || try_sleep(LONG))
            ));
        });
        assert!(yield_until(100, || !results.borrow().is_empty()));
        let hub_err = format!("{:?}", Err::<(), _>(Error::BlockingInHub));
        let got = results.borrow().clone();
        assert_eq!(
            got[..6],
            [
                hub_err.clone(),
                hub_err.clone(),
                hub_err.clone(),
                hub_err.clone(),
                hub_err.clone(),
                hub_err.clone()
            ]
        );
        assert_eq!(got[6], format!("Ok({hub_err})"));
        // The hub kill above failed to wait but the kill was delivered.
        assert!(target.join_timeout(BOUND).unwrap());

        // Inside a libev watcher callback too.
        let seen = Rc::new(RefCell::new(None));
        let s = seen.clone();
        let w = Timer::new(
            get_hub().loop_(),
            Duration::ZERO,
            Duration::ZERO,
            move |_, _| {
                *s.borrow_mut() = Some(try_sleep(Duration::from_millis(1)));
            },
        );
        w.start().unwrap();
        sleep(Duration::from_millis(2));
        assert!(matches!(*seen.borrow(), Some(Err(Error::BlockingInHub))));
    });
}

#[test]
fn sleep_zero_cannot_starve_a_timer() {
    each_backend(|| {
        let fired = Rc::new(Cell::new(false));
        let spins = Rc::new(Cell::new(0u64));
        let spins_at_fire = Rc::new(Cell::new(None));
        let (f, s, saf) = (fired.clone(), spins.clone(), spins_at_fire.clone());
        let timer = spawn(move || {
            sleep(Duration::from_millis(10));
            f.set(true);
            saf.set(Some(s.get()));
        });
        let (f, s) = (fired.clone(), spins.clone());
        // The safety bound only keeps a broken hub from hanging the test.
        let bound = Instant::now();
        let spinner = spawn(move || {
            while !f.get() && bound.elapsed() < BOUND {
                s.set(s.get() + 1);
                sleep(Duration::ZERO);
            }
            f.get()
        });
        // The main greenlet spins too.
        while !fired.get() && bound.elapsed() < BOUND {
            sleep(Duration::ZERO);
        }
        assert!(fired.get(), "the timer never fired while greenlets spun");
        assert!(spinner.get().unwrap(), "the spinner saw the timer fire");
        timer.join().unwrap();
        let at = spins_at_fire.get().unwrap();
        assert!(at > 0, "the spinner ran before the timer fired");
        assert!(
            spins.get() <= at + 2,
            "the spinner was still spinning when it fired"
        );

        // A core watcher (not a greenlet) fires too while the main spins.
        let hits = Rc::new(Cell::new(0));
        let h = hits.clone();
        let w = Timer::new(
            get_hub().loop_(),
            Duration::from_millis(5),
            Duration::ZERO,
            move |_, _| h.set(h.get() + 1),
        );
        w.start().unwrap();
        let bound = Instant::now();
        while hits.get() == 0 && bound.elapsed() < BOUND {
            sleep(Duration::ZERO);
        }
        assert_eq!(hits.get(), 1);
    });
}

#[test]
fn kill_and_panic_unwinding_run_destructors_in_every_frame() {
    each_backend(|| {
        let drops = DropCounter::new();
        let d = drops.clone();
        let g = spawn(move || {
            let _a = d.token();
            let v: Vec<_> = (0..5).map(|_| d.token()).collect();
            let _b = Box::new(d.token());
            sleep(LONG);
            drop(v);
        });
        sleep(Duration::ZERO);
        g.kill().unwrap();
        assert_eq!(drops.get(), 7);
    });
}
