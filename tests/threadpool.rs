//! ThreadPool: jobs on OS threads while greenlets keep running.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use gevent::Error;
use gevent::core::Loop;
use gevent::threadpool::{self, ThreadPool};

const LONG: Duration = Duration::from_secs(10);

/// Runs `f` on every usable backend (but those valgrind cannot run, when
/// under it), each on a fresh hub thread.
fn on_every_backend(f: fn()) {
    for b in Loop::usable_backends()
        .iter()
        .filter(|&b| util::testable(b))
    {
        gevent::run_on_backend(b, f).unwrap();
    }
}

/// Polls `cond` (sleeping cooperatively) until it holds or 10 s pass.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..2000 {
        if cond() {
            return true;
        }
        gevent::sleep(Duration::from_millis(5));
    }
    cond()
}

#[test]
fn results_arrive_while_other_greenlets_run() {
    on_every_backend(|| {
        let pool = ThreadPool::new(2).unwrap();
        // The job cannot finish until a greenlet has done 100 sleep(0)
        // iterations, so it only succeeds if the hub keeps running
        // greenlets while the caller waits for the job.
        let (tx, rx) = mpsc::channel::<usize>();
        let count = Rc::new(Cell::new(0usize));
        let c = count.clone();
        let ticker = gevent::spawn(move || {
            loop {
                c.set(c.get() + 1);
                if c.get() == 100 {
                    tx.send(100).unwrap();
                }
                gevent::sleep(Duration::ZERO);
            }
        });
        let got = pool.apply(move || rx.recv_timeout(LONG)).unwrap();
        assert_eq!(got, Ok(100));
        assert!(count.get() >= 100);
        ticker.kill().unwrap();
    });
}

#[test]
fn main_waiting_only_on_a_job_does_not_get_loop_exit() {
    on_every_backend(|| {
        let pool = ThreadPool::new(1).unwrap();
        let job = pool.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            "late"
        });
        assert!(matches!(job.get(), Ok("late")));
        // And again through the hub's default pool.
        let v = threadpool::run_blocking(|| {
            std::thread::sleep(Duration::from_millis(10));
            7
        });
        assert!(matches!(v, Ok(7)));
    });
}

#[test]
fn many_concurrent_jobs_stay_within_the_size() {
    on_every_backend(|| {
        let pool = ThreadPool::new(8).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..200u64)
            .map(|i| {
                let running = running.clone();
                let peak = peak.clone();
                pool.spawn(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    running.fetch_sub(1, Ordering::SeqCst);
                    i * 2
                })
            })
            .collect();
        for (i, j) in jobs.iter().enumerate() {
            assert_eq!(j.get_timeout(LONG).unwrap(), i as u64 * 2);
        }
        assert!(peak.load(Ordering::SeqCst) <= 8);
        assert!(pool.thread_count() <= 8);
        assert_eq!(pool.pending(), 0);
    });
}

#[test]
fn a_panicking_job_is_an_error_and_the_pool_survives() {
    let pool = ThreadPool::new(1).unwrap();
    let bad = pool.spawn(|| -> u32 { panic!("worker exploded") });
    match bad.get() {
        Err(Error::Panicked(m)) => assert_eq!(&*m, "worker exploded"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!bad.successful());
    // Still an error when asked again: errors are not "taken".
    assert!(matches!(bad.try_get(), Err(Error::Panicked(_))));
    // The same single worker keeps serving.
    for i in 0..5 {
        assert_eq!(pool.apply(move || i + 1).unwrap(), i + 1);
    }
    let panics = pool.map(0..6, |i| {
        if i % 2 == 1 {
            panic!("odd {i}");
        }
        i
    });
    for (i, r) in panics.iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(*v, i),
            Err(Error::Panicked(m)) => assert_eq!(&**m, format!("odd {i}")),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(panics.iter().filter(|r| r.is_err()).count(), 3);
    assert_eq!(pool.thread_count(), 1);
}

#[test]
fn map_keeps_input_order_when_jobs_finish_out_of_order() {
    let pool = ThreadPool::new(4).unwrap();
    let r = pool.map(0..8u64, |i| {
        // Later items finish first.
        std::thread::sleep(Duration::from_millis(2 * (8 - i)));
        i * i
    });
    let v: Vec<u64> = r.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(v, [0, 1, 4, 9, 16, 25, 36, 49]);
}

#[test]
fn handle_getters_timeouts_and_taking() {
    on_every_backend(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let job = pool.spawn(move || {
            rx.recv_timeout(LONG).unwrap();
            String::from("value")
        });
        assert!(!job.ready());
        assert!(matches!(job.try_get(), Err(Error::NotReady)));
        assert!(
            job.get_timeout(Duration::from_millis(1))
                .unwrap_err()
                .is_timeout()
        );
        assert!(!job.wait_timeout(Duration::ZERO).unwrap());
        tx.send(()).unwrap();
        assert!(job.wait_timeout(LONG).unwrap());
        assert!(job.ready() && job.successful());
        assert_eq!(job.get().unwrap(), "value");
        // Moved out: later calls say so instead of blocking.
        assert!(matches!(job.get(), Err(Error::NotReady)));
        assert!(matches!(job.try_get(), Err(Error::NotReady)));
    });
}

#[test]
fn several_greenlets_wait_on_one_handle() {
    let pool = ThreadPool::new(1).unwrap();
    let job = Rc::new(pool.spawn(|| {
        std::thread::sleep(Duration::from_millis(5));
        9
    }));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let j = job.clone();
            gevent::spawn(move || j.wait_timeout(LONG).unwrap())
        })
        .collect();
    gevent::joinall(&waiters, Some(LONG)).unwrap();
    assert!(waiters.iter().all(|w| w.value() == Some(true)));
    assert_eq!(job.get().unwrap(), 9);
}

#[test]
fn a_killed_waiter_loses_nothing() {
    on_every_backend(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let p = pool.clone();
        let waiter = gevent::spawn(move || p.apply(move || rx.recv_timeout(LONG).is_ok()));
        gevent::sleep(Duration::ZERO);
        waiter.kill().unwrap();
        assert!(waiter.dead());
        // The job is still out; its result is delivered (and dropped).
        assert_eq!(pool.pending(), 1);
        tx.send(()).unwrap();
        assert!(pool.join_timeout(LONG).unwrap());
        assert_eq!(pool.pending(), 0);
        assert_eq!(pool.apply(|| 1).unwrap(), 1);
    });
}

#[test]
fn waiting_in_the_hub_is_refused() {
    let pool = ThreadPool::new(1).unwrap();
    // The job cannot finish before the callback has tried to wait.
    let (tx, rx) = mpsc::channel::<i32>();
    let job = Rc::new(pool.spawn(move || rx.recv_timeout(LONG).unwrap()));
    let seen = Rc::new(Cell::new(None));
    let (j, s) = (job.clone(), seen.clone());
    gevent::get_hub().run_callback(move || s.set(Some(j.wait().unwrap_err())));
    gevent::sleep(Duration::ZERO);
    assert!(matches!(seen.take(), Some(Error::BlockingInHub)));
    tx.send(1).unwrap();
    assert_eq!(job.get().unwrap(), 1);
}

#[test]
fn set_size_grows_and_shrinks() {
    let pool = ThreadPool::new(1).unwrap();
    // Three jobs that can only finish together: they need three workers.
    let barrier = Arc::new(Barrier::new(3));
    let jobs: Vec<_> = (0..3)
        .map(|i| {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
                i
            })
        })
        .collect();
    assert_eq!(pool.thread_count(), 1);
    pool.set_size(3).unwrap();
    assert_eq!(pool.size(), 3);
    for (i, j) in jobs.iter().enumerate() {
        assert_eq!(j.get_timeout(LONG).unwrap(), i);
    }
    assert_eq!(pool.thread_count(), 3);
    // Shrinking lets the idle surplus go.
    pool.set_size(1).unwrap();
    assert!(eventually(|| pool.thread_count() == 1));
    assert_eq!(pool.apply(|| 5).unwrap(), 5);
    assert!(pool.set_size(0).is_err());
    assert_eq!(pool.size(), 1);
}

#[test]
fn idle_workers_retire() {
    let pool = ThreadPool::new(4).unwrap();
    pool.set_idle_timeout(Duration::from_millis(20));
    let barrier = Arc::new(Barrier::new(4));
    let jobs: Vec<_> = (0..4)
        .map(|_| {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
            })
        })
        .collect();
    for j in &jobs {
        j.get_timeout(LONG).unwrap();
    }
    // The barrier needed four workers at once; on a slow run (valgrind)
    // some may already have retired after their 20 ms.
    assert!(pool.thread_count() <= 4);
    assert!(eventually(|| pool.thread_count() == 0));
    // Workers come back on demand.
    assert_eq!(pool.apply(|| 3).unwrap(), 3);
    assert!(pool.thread_count() <= 1);
}

#[test]
fn the_hub_owns_a_default_pool_per_thread() {
    let hub = gevent::get_hub();
    let a = hub.threadpool();
    let b = gevent::get_hub().threadpool();
    a.set_idle_timeout(Duration::from_secs(30));
    // The same pool both times.
    assert_eq!(b.idle_timeout(), Duration::from_secs(30));
    assert!(a.size() >= 1);
    assert_eq!(threadpool::spawn_blocking(|| 2).get().unwrap(), 2);
    // Other threads (hubs) each have their own, used concurrently.
    let handles: Vec<_> = (0..3)
        .map(|t| {
            std::thread::spawn(move || {
                let pool = gevent::get_hub().threadpool();
                assert_eq!(pool.idle_timeout(), threadpool::DEFAULT_IDLE_TIMEOUT);
                (0..20)
                    .map(|i| threadpool::run_blocking(move || t * 100 + i).unwrap())
                    .sum::<u32>()
            })
        })
        .collect();
    let sums: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums, [190, 2190, 4190]);
}

#[test]
fn pool_size_parsing() {
    assert_eq!(threadpool::parse_size("10").unwrap(), 10);
    assert_eq!(threadpool::parse_size(" 3\n").unwrap(), 3);
    for bad in ["", "0", "-1", "ten", "1.5", "99999999999999999999999"] {
        let e = threadpool::parse_size(bad).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(e.to_string().contains("GEVENT_THREADPOOL_SIZE"), "{e}");
    }
    assert_eq!(threadpool::DEFAULT_SIZE, 10);
    assert!(ThreadPool::new(0).is_err());
}

#[test]
fn join_waits_for_everything_submitted() {
    on_every_backend(|| {
        let pool = ThreadPool::new(3).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let d = done.clone();
            pool.spawn(move || {
                std::thread::sleep(Duration::from_millis(1));
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert!(pool.join_timeout(LONG).unwrap());
        assert_eq!(done.load(Ordering::SeqCst), 10);
        assert_eq!(pool.pending(), 0);
        pool.join().unwrap();
    });
}

#[test]
fn dropping_the_pool_finishes_queued_jobs() {
    let pool = ThreadPool::new(1).unwrap();
    let jobs: Vec<_> = (0..5).map(|i| pool.spawn(move || i)).collect();
    drop(pool);
    let v: Vec<i32> = jobs.iter().map(|j| j.get_timeout(LONG).unwrap()).collect();
    assert_eq!(v, [0, 1, 2, 3, 4]);
}

/// Sequential round trips from several greenlets at once, checking every
/// value: the worker's spin-before-sleep and the hub's spin-before-poll
/// must never lose or mix up a job or a result.
fn back_to_back_round_trips() {
    let pool = ThreadPool::new(2).unwrap();
    let callers: Vec<_> = (0..3u64)
        .map(|g| {
            let pool = pool.clone();
            gevent::spawn(move || {
                for i in 0..500u64 {
                    let v = pool.apply(move || g * 1000 + i).unwrap();
                    assert_eq!(v, g * 1000 + i);
                }
            })
        })
        .collect();
    gevent::joinall(&callers, Some(LONG)).unwrap();
    assert!(callers.iter().all(|c| c.successful()));
    assert_eq!(pool.pending(), 0);
}

#[test]
fn back_to_back_round_trips_lose_nothing() {
    on_every_backend(back_to_back_round_trips);
}

#[test]
fn round_trips_work_with_spinning_turned_off() {
    // GEVENT_SPIN is read once per process: run the check in a child.
    if std::env::var_os("GEVENT_SPIN").is_some() {
        on_every_backend(back_to_back_round_trips);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "round_trips_work_with_spinning_turned_off",
            "--exact",
            "--test-threads=1",
        ])
        .env("GEVENT_SPIN", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("1 passed"), "child ran nothing: {stdout}");
}

#[test]
fn a_result_wakes_a_hub_sleeping_in_its_poll() {
    on_every_backend(|| {
        let pool = ThreadPool::new(1).unwrap();
        // Longer than the hub's brief spin, so the hub is blocked in the
        // poll when the result comes and must be woken by it.
        for _ in 0..3 {
            let v = pool
                .spawn(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    7
                })
                .get_timeout(LONG)
                .unwrap();
            assert_eq!(v, 7);
        }
    });
}

#[test]
fn sequential_jobs_reuse_one_worker() {
    on_every_backend(|| {
        // One job at a time never needs a second thread: the worker that
        // handed a result back is counted as coming back for the next job
        // even when that job is submitted before it looked at the queue.
        let pool = ThreadPool::new(4).unwrap();
        for i in 0..300u32 {
            assert_eq!(pool.apply(move || i).unwrap(), i);
        }
        assert_eq!(pool.thread_count(), 1);
    });
}
