//! The scheduler's hot path (issue 14): `sleep(0)` among many ready
//! greenlets (direct hand-offs, hub rounds, the prefetching of queued
//! entries), stale queue entries left by kills, and `sleep(0)` where it
//! cannot block. Every test runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::{Error, Greenlet, get_hub, joinall, sleep, spawn, try_sleep};
use gutil::{each_backend, yield_until};

const BOUND: Duration = Duration::from_secs(20);

/// More greenlets than the direct hand-off budget (64) and the prefetch
/// threshold (32), so that both hub rounds and prefetching take part.
const MANY: usize = 300;

#[test]
fn many_ready_greenlets_resume_round_robin_in_fifo_order() {
    each_backend(|| {
        const ROUNDS: usize = 5;
        let log = Rc::new(RefCell::new(Vec::new()));
        let gs: Vec<Greenlet<()>> = (0..MANY)
            .map(|i| {
                let log = log.clone();
                spawn(move || {
                    for r in 0..ROUNDS {
                        log.borrow_mut().push((r, i));
                        sleep(Duration::ZERO);
                    }
                })
            })
            .collect();
        assert!(joinall(&gs, Some(BOUND)).unwrap().len() == MANY);
        let want: Vec<(usize, usize)> = (0..ROUNDS)
            .flat_map(|r| (0..MANY).map(move |i| (r, i)))
            .collect();
        assert_eq!(*log.borrow(), want);
    });
}

#[test]
fn sleep_zero_with_nobody_else_ready_returns_at_once() {
    each_backend(|| {
        // The main greenlet alone.
        let t = Instant::now();
        for _ in 0..10_000 {
            sleep(Duration::ZERO);
        }
        assert!(t.elapsed() < BOUND);
        // A spawned greenlet alone (the main greenlet waits in join).
        let g = spawn(|| {
            let mut n = 0u32;
            for _ in 0..10_000 {
                try_sleep(Duration::ZERO).unwrap();
                n += 1;
            }
            n
        });
        assert_eq!(g.get_timeout(BOUND).unwrap(), 10_000);
    });
}

#[test]
fn kills_of_many_greenlets_queued_in_sleep_zero_leave_the_rest_running() {
    each_backend(|| {
        let counts: Rc<Vec<Cell<u64>>> = Rc::new((0..MANY).map(|_| Cell::new(0)).collect());
        let gs: Vec<Greenlet<()>> = (0..MANY)
            .map(|i| {
                let c = counts.clone();
                spawn(move || {
                    loop {
                        c[i].set(c[i].get() + 1);
                        sleep(Duration::ZERO);
                    }
                })
            })
            .collect();
        // Every greenlet starts and is queued in its sleep(0).
        sleep(Duration::ZERO);
        assert!(counts.iter().all(|c| c.get() >= 1));
        // Kill every other one while it is queued to resume: its queue
        // entry goes stale, the scheduler must skip it.
        for g in gs.iter().step_by(2) {
            g.kill().unwrap();
        }
        let before: Vec<u64> = counts.iter().map(Cell::get).collect();
        assert!(yield_until(1000, || {
            counts
                .iter()
                .zip(&before)
                .skip(1)
                .step_by(2)
                .all(|(c, b)| c.get() >= b + 3)
        }));
        for (i, g) in gs.iter().enumerate() {
            if i % 2 == 0 {
                assert!(g.dead() && matches!(g.get(), Err(Error::GreenletExit)));
                // A killed greenlet never ran again.
                assert_eq!(counts[i].get(), before[i]);
            } else {
                assert!(!g.dead());
            }
        }
        for g in gs.iter().skip(1).step_by(2) {
            g.kill().unwrap();
        }
        assert!(gs.iter().all(|g| g.dead()));
    });
}

#[test]
fn sleep_on_the_hub_is_refused_not_performed() {
    each_backend(|| {
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        get_hub().run_callback(move || {
            *g.borrow_mut() = Some((
                try_sleep(Duration::ZERO),
                try_sleep(Duration::from_millis(1)),
            ));
            // `sleep` reports nothing and returns at once.
            sleep(Duration::ZERO);
            sleep(Duration::from_millis(1));
        });
        assert!(yield_until(1000, || got.borrow().is_some()));
        let (zero, timed) = got.borrow_mut().take().unwrap();
        assert!(matches!(zero, Err(Error::BlockingInHub)), "{zero:?}");
        assert!(matches!(timed, Err(Error::BlockingInHub)), "{timed:?}");
    });
}

#[test]
fn timed_sleep_still_sleeps_and_lets_others_run() {
    each_backend(|| {
        let ran = Rc::new(Cell::new(0u32));
        let r = ran.clone();
        let g = spawn(move || {
            for _ in 0..100 {
                r.set(r.get() + 1);
                sleep(Duration::ZERO);
            }
        });
        let t = Instant::now();
        try_sleep(Duration::from_millis(20)).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(ran.get(), 100, "the other greenlet ran while we slept");
        assert!(g.dead());
    });
}

#[test]
fn many_spinning_greenlets_cannot_starve_a_timer() {
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
        // The safety bound only keeps a broken hub from hanging the test.
        let bound = Instant::now();
        let spinners: Vec<Greenlet<bool>> = (0..MANY)
            .map(|_| {
                let (f, s) = (fired.clone(), spins.clone());
                spawn(move || {
                    while !f.get() && bound.elapsed() < BOUND {
                        s.set(s.get() + 1);
                        sleep(Duration::ZERO);
                    }
                    f.get()
                })
            })
            .collect();
        timer.get_timeout(BOUND).unwrap();
        assert!(fired.get(), "the timer never fired while greenlets spun");
        for g in &spinners {
            assert!(g.get_timeout(BOUND).unwrap(), "a spinner missed the timer");
        }
        let at = spins_at_fire.get().unwrap();
        assert!(
            at >= MANY as u64,
            "every spinner ran before the timer fired"
        );
        // Once it fired, each spinner saw it at its next turn.
        assert!(spins.get() <= at + MANY as u64);
    });
}
