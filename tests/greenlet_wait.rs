//! joinall / wait / iwait / joinall_raise (ARCHITECTURE.md, "Semantics kept from gevent"):
//! completion order, count, timeout and raise_error semantics. Orders are
//! made deterministic with `sleep(0)` counts, not with timing. Every test
//! runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::time::Duration;

use gevent::{
    Error, Greenlet, GreenletRef, iwait, joinall, joinall_raise, killall, sleep, spawn, wait,
};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

/// A greenlet that finishes after `yields` sleep(0)s and returns `v`.
fn after_yields(yields: usize, v: usize) -> Greenlet<usize> {
    spawn(move || {
        for _ in 0..yields {
            sleep(Duration::ZERO);
        }
        v
    })
}

#[test]
fn joinall_returns_completion_order() {
    each_backend(|| {
        let gs = vec![
            after_yields(6, 0),
            after_yields(2, 1),
            after_yields(4, 2),
            after_yields(0, 3),
        ];
        assert_eq!(joinall(&gs, Some(BOUND)).unwrap(), vec![3, 1, 2, 0]);
        let values: Vec<_> = gs.iter().map(|g| g.value().unwrap()).collect();
        assert_eq!(values, [0, 1, 2, 3]);
        // Already finished: input order.
        assert_eq!(joinall(&gs, None).unwrap(), vec![0, 1, 2, 3]);
        // Empty input.
        let none: Vec<Greenlet<()>> = Vec::new();
        assert!(joinall(&none, Some(BOUND)).unwrap().is_empty());
    });
}

#[test]
fn joinall_with_timeout_returns_those_that_finished() {
    each_backend(|| {
        let gs = vec![
            spawn(|| sleep(LONG)),
            spawn(|| sleep(Duration::from_millis(1))),
            spawn(|| sleep(LONG)),
        ];
        let done = joinall(&gs, Some(Duration::from_millis(100))).unwrap();
        assert_eq!(done, vec![1]);
        assert!(!gs[0].dead() && !gs[2].dead());
        killall(&gs, true, Some(BOUND)).unwrap();
        // Zero timeout: only what has already finished.
        let gs = vec![spawn(|| ()), spawn(|| sleep(LONG))];
        gs[0].join().unwrap();
        assert_eq!(joinall(&gs, Some(Duration::ZERO)).unwrap(), vec![0]);
        gs[1].kill().unwrap();
    });
}

#[test]
fn wait_with_count() {
    each_backend(|| {
        let gs = vec![
            after_yields(30, 0),
            after_yields(1, 1),
            after_yields(10, 2),
            spawn(|| {
                sleep(LONG);
                3
            }),
        ];
        assert_eq!(wait(&gs, Some(BOUND), Some(2)).unwrap(), vec![1, 2]);
        assert!(!gs[0].dead());
        assert_eq!(wait(&gs, Some(BOUND), Some(3)).unwrap(), vec![1, 2, 0]);
        // A count above the number of greenlets is clamped; the timeout
        // still bounds it. Already-finished ones come in input order.
        assert_eq!(
            wait(&gs, Some(Duration::from_millis(10)), Some(100)).unwrap(),
            vec![0, 1, 2]
        );
        assert_eq!(wait(&gs, None, Some(0)).unwrap(), Vec::<usize>::new());
        gs[3].kill().unwrap();
        assert_eq!(wait(&gs, None, None).unwrap().len(), 4);
    });
}

#[test]
fn iwait_yields_in_completion_order_with_finished_ones_first() {
    each_backend(|| {
        let done = spawn(|| 10);
        done.join().unwrap();
        let gs: Vec<GreenletRef> = vec![
            after_yields(4, 0).handle(),
            done.handle(),
            after_yields(1, 2).handle(),
            spawn(|| "a different type").handle(),
        ];
        let order: Vec<usize> = iwait(&gs, Some(BOUND)).map(|r| r.unwrap()).collect();
        assert_eq!(order, vec![1, 3, 2, 0]);

        // Stopping early and dropping the iterator leaves no link behind.
        let gs = vec![after_yields(1, 0), after_yields(3, 1)];
        let mut it = iwait(&gs, Some(BOUND));
        assert_eq!(it.next().unwrap().unwrap(), 0);
        drop(it);
        joinall(&gs, Some(BOUND)).unwrap();

        // A timeout ends the iteration.
        let gs = vec![spawn(|| sleep(LONG)), spawn(|| ())];
        let got: Vec<_> = iwait(&gs, Some(Duration::from_millis(10))).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap(), &1);
        gs[0].kill().unwrap();
    });
}

#[test]
fn iwait_reports_loop_exit_instead_of_hanging() {
    each_backend(|| {
        let never = Greenlet::new(|| ());
        let gs = [spawn(|| ()).handle(), never.handle()];
        let got: Vec<_> = iwait(&gs, None).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(*got[0].as_ref().unwrap(), 0);
        assert!(matches!(got[1], Err(Error::LoopExit)));
        assert!(matches!(joinall(&gs, None), Err(Error::LoopExit)));
        never.kill().unwrap();
    });
}

#[test]
fn joinall_raise_stops_at_the_first_failure() {
    each_backend(|| {
        let gs: Vec<GreenletRef> = vec![
            after_yields(30, 0).handle(),
            spawn(|| {
                sleep(Duration::ZERO);
                sleep(Duration::ZERO);
                panic!("second to finish, fails")
            })
            .handle(),
            after_yields(0, 2).handle(),
        ];
        match joinall_raise(&gs, Some(BOUND)) {
            Err(Error::Panicked(m)) => assert_eq!(&*m, "second to finish, fails"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!gs[0].dead(), "it stopped at the failure");
        assert_eq!(joinall_raise(&gs[..1], Some(BOUND)).unwrap(), vec![0]);

        // No failure: like joinall. A killed (GreenletExit) one is no failure.
        let killed = spawn(|| sleep(LONG));
        let gs = [after_yields(2, 0).handle(), killed.handle()];
        sleep(Duration::ZERO);
        killed.kill_nowait();
        assert_eq!(joinall_raise(&gs, Some(BOUND)).unwrap().len(), 2);
        // A Timeout failure counts.
        let timed = spawn(|| {
            let _t = gevent::Timeout::new(Some(Duration::ZERO));
            sleep(LONG)
        });
        assert!(matches!(
            joinall_raise(&[&timed], Some(BOUND)),
            Err(Error::Timeout)
        ));
    });
}
