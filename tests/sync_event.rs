//! Event and AsyncResult: FIFO wake-ups, newcomers queue behind woken
//! waiters, one-shot results, completion from other OS threads, LoopExit.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gevent::sync::AsyncResultSender;
use gevent::{AsyncResult, Error, Event, joinall, sleep, spawn};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(10);

fn yield_now() {
    sleep(Duration::ZERO);
}

#[test]
fn event_wakes_waiters_in_order() {
    each_backend(|| {
        let ev = Event::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let gs: Vec<_> = (0..10)
            .map(|i| {
                let (ev, log) = (ev.clone(), log.clone());
                spawn(move || {
                    assert!(ev.wait_timeout(LONG).unwrap());
                    log.borrow_mut().push(i);
                })
            })
            .collect();
        yield_now();
        assert_eq!(ev.waiters(), 10);
        ev.set();
        joinall(&gs, Some(LONG)).unwrap();
        assert_eq!(*log.borrow(), (0..10).collect::<Vec<_>>());
        assert_eq!(ev.waiters(), 0);
    });
}

#[test]
fn a_newcomer_runs_after_the_woken_waiters() {
    let ev = Event::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let (ev, log) = (ev.clone(), log.clone());
            spawn(move || {
                ev.wait().unwrap();
                log.borrow_mut().push(name);
            })
        })
        .collect();
    yield_now();
    ev.set();
    // The flag is set, but a, b and c were woken first: wait() must not
    // return before they have run.
    ev.wait().unwrap();
    log.borrow_mut().push("newcomer");
    assert_eq!(*log.borrow(), ["a", "b", "c", "newcomer"]);
    joinall(&gs, Some(LONG)).unwrap();
}

#[test]
fn woken_waiters_see_true_even_if_cleared_before_they_run() {
    each_backend(|| {
        let ev = Event::new();
        let e2 = ev.clone();
        let g = spawn(move || e2.wait_timeout(LONG).unwrap());
        yield_now();
        ev.set();
        ev.clear();
        assert!(g.get().unwrap());
        assert!(!ev.is_set());
        assert!(!ev.wait_timeout(Duration::from_millis(1)).unwrap());
    });
}

#[test]
fn timed_out_and_killed_event_waiters_unregister() {
    each_backend(|| {
        let ev = Event::new();
        let gs: Vec<_> = (0..20u64)
            .map(|i| {
                let ev = ev.clone();
                spawn(move || ev.wait_timeout(Duration::from_micros(100 * i)).unwrap())
            })
            .collect();
        yield_now();
        for g in gs.iter().step_by(3) {
            g.kill_nowait();
        }
        joinall(&gs, Some(LONG)).unwrap();
        assert_eq!(ev.waiters(), 0);
        ev.set();
        assert!(ev.wait_timeout(Duration::ZERO).unwrap());
    });
}

#[test]
fn waiting_for_an_event_nobody_can_set_is_loop_exit() {
    each_backend(|| {
        let ev = Event::new();
        assert!(matches!(ev.wait(), Err(Error::LoopExit)));
        assert_eq!(ev.waiters(), 0);
        let r: AsyncResult<u8> = AsyncResult::new();
        assert!(matches!(r.get(), Err(Error::LoopExit)));
    });
}

#[test]
fn event_wait_in_the_hub_fails_unless_set() {
    let ev = Event::new();
    let out = Rc::new(RefCell::new(Vec::new()));
    let (e2, o2) = (ev.clone(), out.clone());
    gevent::get_hub().run_callback(move || {
        o2.borrow_mut()
            .push(matches!(e2.wait(), Err(Error::BlockingInHub)));
        e2.set();
        o2.borrow_mut().push(e2.wait().is_ok());
    });
    yield_now();
    assert_eq!(*out.borrow(), [true, true]);
}

#[test]
fn async_result_is_one_shot() {
    let r = AsyncResult::new();
    assert!(r.try_get().is_none());
    assert_eq!(r.set(1), Ok(()));
    assert_eq!(r.set(2), Err(2));
    assert!(r.set_error(Error::Timeout).unwrap_err().is_timeout());
    assert_eq!(r.get().unwrap(), 1);
    assert_eq!(r.value(), Some(1));
    assert!(r.successful());
    assert!(r.error().is_none());
    assert_eq!(r.take().unwrap(), 1);
    assert!(matches!(r.get(), Err(Error::NotReady)));

    let f: AsyncResult<u8> = AsyncResult::new();
    f.set_error(Error::Panicked("x".into())).unwrap();
    assert_eq!(f.set(3), Err(3));
    assert!(matches!(f.get(), Err(Error::Panicked(_))));
    assert!(f.ready() && !f.successful());
}

#[test]
fn async_result_waiters_fifo_and_newcomer_after_them() {
    each_backend(|| {
        let r = AsyncResult::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let gs: Vec<_> = (0..5)
            .map(|i| {
                let (r, log) = (r.clone(), log.clone());
                spawn(move || {
                    let v: i32 = r.get_timeout(LONG).unwrap();
                    log.borrow_mut().push(v + i);
                })
            })
            .collect();
        yield_now();
        r.set(100).unwrap();
        assert_eq!(r.get().unwrap(), 100);
        log.borrow_mut().push(-1);
        assert_eq!(*log.borrow(), [100, 101, 102, 103, 104, -1]);
        joinall(&gs, Some(LONG)).unwrap();
    });
}

#[test]
fn async_result_get_timeout_then_value() {
    each_backend(|| {
        let r = AsyncResult::new();
        assert!(
            r.get_timeout(Duration::from_millis(1))
                .unwrap_err()
                .is_timeout()
        );
        let r2 = r.clone();
        spawn(move || {
            sleep(Duration::from_millis(1));
            r2.set("late").unwrap();
        });
        assert_eq!(r.get_timeout(LONG).unwrap(), "late");
    });
}

#[test]
fn many_threads_complete_async_results_at_once() {
    each_backend(|| {
        let results: Vec<AsyncResult<u64>> = (0..16).map(|_| AsyncResult::new()).collect();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let s = r.sender();
                let b = barrier.clone();
                std::thread::spawn(move || {
                    b.wait(); // all complete at the same moment
                    if i % 5 == 4 {
                        s.set_error(Error::Panicked(format!("thread {i}").into()))
                    } else {
                        s.set(i as u64 * 3)
                    }
                })
            })
            .collect();
        // Meanwhile other greenlets keep running.
        let ticker = spawn(|| {
            for _ in 0..3 {
                sleep(Duration::from_micros(50));
            }
        });
        for (i, r) in results.iter().enumerate() {
            match r.get_timeout(LONG) {
                Ok(v) => assert_eq!(v, i as u64 * 3),
                Err(Error::Panicked(m)) => {
                    assert_eq!(i % 5, 4);
                    assert_eq!(&*m, format!("thread {i}"));
                }
                Err(e) => panic!("result {i}: {e}"),
            }
        }
        for t in threads {
            t.join().unwrap().unwrap();
        }
        ticker.join_timeout(LONG).unwrap();
    });
}

#[test]
fn waiting_on_a_remote_sender_keeps_the_loop_alive() {
    each_backend(|| {
        let r: AsyncResult<&'static str> = AsyncResult::new();
        let s = r.sender();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s.set("from afar")
        });
        // Without the expectation the main greenlet would get LoopExit.
        assert_eq!(r.get().unwrap(), "from afar");
        t.join().unwrap().unwrap();
    });
}

#[test]
fn an_unused_sender_dropped_elsewhere_releases_the_loop() {
    each_backend(|| {
        let r: AsyncResult<u8> = AsyncResult::new();
        let s = r.sender();
        let t = std::thread::spawn(move || drop(s));
        assert!(matches!(r.wait(), Err(Error::LoopExit)));
        t.join().unwrap();
        // Completing after the result was dropped is harmless.
        let r2: AsyncResult<u8> = AsyncResult::new();
        let s2 = r2.sender();
        drop(r2);
        s2.set(1).unwrap();
        yield_now();
        gevent::idle().unwrap();
    });
}

#[test]
fn sender_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<AsyncResultSender<Vec<u8>>>();
}
