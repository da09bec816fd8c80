//! `wait`/`iwait` over any `Waitable` (greenlets, events, results,
//! semaphores, queues), `rawlink`/`unlink`, `AsyncResult::cancel`,
//! `DummySemaphore`, `Greenlet::take_timeout` and the `Error`/`io::Error`
//! conversions. Every test runs on every usable backend; orders come from
//! `sleep(0)` counts, never from timing.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use gevent::queue::{Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue};
use gevent::sync::DummySemaphore;
use gevent::{
    AsyncResult, BoundedSemaphore, Error, Event, Semaphore, Waitable, iwait, sleep, spawn, wait,
    with_timeout,
};
use gutil::each_backend;

const BOUND: Duration = Duration::from_secs(10);

fn yields(n: usize) {
    for _ in 0..n {
        sleep(Duration::ZERO);
    }
}

#[test]
fn iwait_mixes_kinds_in_readiness_order() {
    each_backend(|| {
        let ev = Event::new();
        let ar: AsyncResult<u8> = AsyncResult::new();
        let sem = Semaphore::new(0);
        let q: Queue<u8> = Queue::new();
        let g = spawn(|| yields(2));
        let (ev2, ar2, sem2, q2) = (ev.clone(), ar.clone(), sem.clone(), q.clone());
        let driver = spawn(move || {
            q2.put(1).unwrap();
            yields(6);
            ar2.set(3).unwrap();
            yields(2);
            sem2.release();
            yields(2);
            ev2.set();
        });
        let objects: [&dyn Waitable; 5] = [&ev, &ar, &sem, &q, &g];
        let order: Vec<usize> = iwait(&objects, Some(BOUND)).map(|r| r.unwrap()).collect();
        assert_eq!(order, [3, 4, 1, 2, 0]);
        driver.join().unwrap();
    });
}

#[test]
fn wait_counts_and_ready_ones_come_first() {
    each_backend(|| {
        let a = Event::new();
        let b = Event::new();
        let c = Event::new();
        b.set();
        let objects = [a.clone(), b.clone(), c.clone()];
        assert_eq!(wait(&objects, Some(BOUND), Some(1)).unwrap(), vec![1]);
        assert_eq!(wait(&objects, None, Some(0)).unwrap(), Vec::<usize>::new());
        let c2 = c.clone();
        let g = spawn(move || c2.set());
        assert_eq!(wait(&objects, Some(BOUND), Some(2)).unwrap(), vec![1, 2]);
        g.join().unwrap();
        // A count larger than the list is capped.
        a.set();
        assert_eq!(
            wait(&objects, Some(BOUND), Some(99)).unwrap(),
            vec![0, 1, 2]
        );
    });
}

#[test]
fn wait_times_out_with_what_is_ready_and_unlinks() {
    each_backend(|| {
        let a = Event::new();
        let r: AsyncResult<()> = AsyncResult::new();
        let objects: [&dyn Waitable; 2] = [&a, &r];
        let got = wait(&objects, Some(Duration::from_millis(5)), None).unwrap();
        assert!(got.is_empty());
        // The iterator's links are gone: setting them now calls nothing.
        let seen = Rc::new(Cell::new(0));
        let s = seen.clone();
        a.rawlink(move || s.set(s.get() + 1));
        a.set();
        r.set(()).unwrap();
        yields(2);
        assert_eq!(seen.get(), 1);
        // Duration::MAX is "forever", not a panic.
        assert_eq!(
            wait(&objects, Some(Duration::MAX), None).unwrap(),
            vec![0, 1]
        );
    });
}

#[test]
fn wait_with_nothing_to_wake_it_is_loop_exit() {
    each_backend(|| {
        let e = Event::new();
        let r = wait(&[e], None, None);
        assert!(matches!(r, Err(Error::LoopExit)), "{r:?}");
    });
}

#[test]
fn rawlink_runs_once_in_the_hub_and_unlink_removes() {
    each_backend(|| {
        let e = Event::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        e.rawlink(move || l1.borrow_mut().push("first"));
        let gone = e.rawlink(move || l2.borrow_mut().push("unlinked"));
        e.rawlink(move || l3.borrow_mut().push("second"));
        assert!(e.unlink(gone));
        assert!(!e.unlink(gone));
        e.set();
        // Not inline: the callbacks run in the hub.
        assert!(log.borrow().is_empty());
        yields(1);
        assert_eq!(*log.borrow(), ["first", "second"]);
        // One-shot: a second set calls nobody.
        e.clear();
        e.set();
        yields(1);
        assert_eq!(log.borrow().len(), 2);
        // Linking a set event runs soon.
        let l4 = log.clone();
        e.rawlink(move || l4.borrow_mut().push("late"));
        yields(1);
        assert_eq!(log.borrow().last(), Some(&"late"));
    });
}

#[test]
fn a_panicking_link_does_not_stop_the_others() {
    each_backend(|| {
        let r: AsyncResult<u8> = AsyncResult::new();
        let seen = Rc::new(Cell::new(false));
        let s = seen.clone();
        r.rawlink(|| panic!("link boom"));
        r.rawlink(move || s.set(true));
        r.set(1).unwrap();
        yields(1);
        assert!(seen.get());
    });
}

#[test]
fn semaphore_links_fire_when_a_permit_is_free() {
    each_backend(|| {
        for bounded in [false, true] {
            let seen = Rc::new(Cell::new(0));
            let s = seen.clone();
            let (permit, sem): (Box<dyn FnOnce()>, Box<dyn Waitable>) = if bounded {
                let sem = BoundedSemaphore::new(1);
                let p = sem.acquire().unwrap();
                sem.rawlink(move || s.set(s.get() + 1));
                (Box::new(move || drop(p)), Box::new(sem))
            } else {
                let sem = Semaphore::new(1);
                let p = sem.acquire().unwrap();
                sem.rawlink(move || s.set(s.get() + 1));
                (Box::new(move || drop(p)), Box::new(sem))
            };
            assert!(!sem.is_ready());
            yields(1);
            assert_eq!(seen.get(), 0);
            permit();
            assert!(sem.is_ready());
            yields(1);
            assert_eq!(seen.get(), 1);
        }
    });
}

#[test]
fn a_permit_handed_to_a_waiter_does_not_make_the_semaphore_ready() {
    each_backend(|| {
        let sem = Semaphore::new(1);
        let p = sem.acquire().unwrap();
        let s2 = sem.clone();
        let waiter = spawn(move || s2.acquire().map(drop));
        yields(1);
        let seen = Rc::new(Cell::new(false));
        let s = seen.clone();
        sem.rawlink(move || s.set(true));
        drop(p); // goes straight to the waiter
        yields(1);
        assert!(!seen.get());
        waiter.join().unwrap();
        yields(1);
        // The waiter released it when it finished: now it is free.
        assert!(seen.get());
    });
}

#[test]
fn every_queue_kind_is_waitable() {
    each_backend(|| {
        let q: Queue<u8> = Queue::new();
        let l: LifoQueue<u8> = LifoQueue::new();
        let p: PriorityQueue<u8> = PriorityQueue::new();
        let j: JoinableQueue<u8> = JoinableQueue::new();
        let c: Channel<u8> = Channel::new();
        let objects: [&dyn Waitable; 5] = [&q, &l, &p, &j, &c];
        assert!(objects.iter().all(|o| !o.is_ready()));
        let (q2, l2, p2, j2, c2) = (q.clone(), l.clone(), p.clone(), j.clone(), c.clone());
        let driver = spawn(move || {
            c2.put(5).unwrap(); // blocks until taken
        });
        let filler = spawn(move || {
            yields(3);
            j2.put(4).unwrap();
            yields(3);
            p2.put(3).unwrap();
            yields(3);
            l2.put(2).unwrap();
            yields(3);
            q2.put(1).unwrap();
        });
        let order: Vec<usize> = iwait(&objects, Some(BOUND)).map(|r| r.unwrap()).collect();
        assert_eq!(order, [4, 3, 2, 1, 0]);
        assert_eq!(c.get().unwrap(), 5);
        driver.join().unwrap();
        filler.join().unwrap();
        // Shut down counts as ready (a get returns at once).
        let s: Queue<u8> = Queue::new();
        s.shutdown();
        assert!(s.is_ready());
        assert_eq!(wait(&[s], Some(BOUND), None).unwrap(), vec![0]);
    });
}

#[test]
fn queue_link_removed_before_it_runs_never_runs() {
    each_backend(|| {
        let q: Queue<u8> = Queue::new();
        let id = q.rawlink(|| panic!("must not run"));
        q.put(1).unwrap();
        assert!(q.unlink(id));
        yields(2);
        assert_eq!(q.get().unwrap(), 1);
    });
}

#[test]
fn async_result_cancel() {
    each_backend(|| {
        let r: AsyncResult<String> = AsyncResult::new();
        let r2 = r.clone();
        let waiter = spawn(move || r2.get());
        yields(1);
        assert!(r.cancel());
        assert!(r.cancelled());
        assert!(matches!(waiter.take().unwrap(), Err(Error::Cancelled)));
        assert!(!r.cancel());
        assert_eq!(r.set("late".into()), Err("late".into()));
        let done: AsyncResult<u8> = AsyncResult::new();
        done.set(1).unwrap();
        assert!(!done.cancel());
        assert!(!done.cancelled());
        assert_eq!(done.get().unwrap(), 1);
        let io: io::Error = Error::Cancelled.into();
        assert_eq!(io.to_string(), "cancelled");
    });
}

#[test]
fn dummy_semaphore_never_blocks() {
    each_backend(|| {
        let sem = DummySemaphore::new();
        let guards: Vec<_> = (0..1000).map(|_| sem.acquire().unwrap()).collect();
        assert!(!sem.locked());
        assert!(sem.try_acquire().is_some());
        assert!(sem.wait_timeout(Duration::MAX).unwrap());
        assert!(sem.acquire_timeout(Duration::ZERO).is_ok());
        sem.release();
        drop(guards);
        assert_eq!(sem.waiters(), 0);
        assert_eq!(
            wait(std::slice::from_ref(&sem), None, None).unwrap(),
            vec![0]
        );
        let seen = Rc::new(Cell::new(false));
        let s = seen.clone();
        sem.rawlink(move || s.set(true));
        yields(1);
        assert!(seen.get());
    });
}

#[test]
fn take_timeout_moves_non_clone_values_out() {
    each_backend(|| {
        let g = spawn(|| -> io::Result<Vec<u8>> {
            yields(3);
            Ok(vec![1, 2])
        });
        assert!(matches!(
            g.take_timeout(Duration::ZERO),
            Err(Error::Timeout)
        ));
        assert_eq!(g.take_timeout(BOUND).unwrap().unwrap(), [1, 2]);
        assert!(matches!(g.take_timeout(BOUND), Err(Error::NotReady)));
        let forever = spawn(|| -> io::Result<()> { Ok(()) });
        assert!(forever.take_timeout(Duration::MAX).unwrap().is_ok());
        let failed = spawn(|| -> io::Result<()> { panic!("bad") });
        assert!(matches!(
            failed.take_timeout(BOUND),
            Err(Error::Panicked(_))
        ));
        let sleeper = spawn(|| -> io::Result<()> {
            sleep(Duration::from_secs(30));
            Ok(())
        });
        assert!(matches!(
            sleeper.take_timeout(Duration::from_millis(2)),
            Err(Error::Timeout)
        ));
        sleeper.kill().unwrap();
        assert!(matches!(
            sleeper.take_timeout(BOUND),
            Err(Error::GreenletExit)
        ));
    });
}

fn io_read_with_deadline(d: Duration) -> io::Result<usize> {
    let n = with_timeout(d, || {
        sleep(Duration::from_secs(30));
        Ok::<usize, io::Error>(1)
    })??;
    Ok(n)
}

fn gevent_fn_with_io_error() -> Result<usize, Error> {
    let n = with_timeout(BOUND, || {
        Err::<usize, _>(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
    })??;
    Ok(n)
}

#[test]
fn errors_convert_both_ways() {
    each_backend(|| {
        let e = io_read_with_deadline(Duration::from_millis(1)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // And back: the gevent error comes out again.
        assert!(matches!(Error::from(e), Error::Timeout));
        let e = gevent_fn_with_io_error().unwrap_err();
        match &e {
            Error::Io(io) => assert_eq!(io.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("{other:?}"),
        }
        assert_eq!(e.to_string(), "reset");
        let shared = e.clone();
        let back: io::Error = e.into();
        assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
        // A shared one keeps its kind too.
        let back2: io::Error = shared.into();
        assert_eq!(back2.kind(), io::ErrorKind::ConnectionReset);
        let killed: io::Error = Error::GreenletExit.into();
        assert_eq!(killed.kind(), io::ErrorKind::Interrupted);
    });
}

#[test]
fn thread_pool_jobs_are_waitable() {
    each_backend(|| {
        let pool = gevent::threadpool::ThreadPool::new(2).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let held = pool.spawn(move || rx.recv_timeout(Duration::from_secs(20)).is_ok());
        let quick = pool.spawn(|| 7u8);
        let ev = Event::new();
        let objects: [&dyn Waitable; 3] = [&held, &quick, &ev];
        assert_eq!(wait(&objects, Some(BOUND), Some(1)).unwrap(), vec![1]);
        assert!(!held.is_ready());
        tx.send(()).unwrap();
        let order: Vec<usize> = iwait(&objects[..2], Some(BOUND))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(order, [1, 0]); // quick was ready already: first
        assert!(held.get().unwrap());
        assert_eq!(quick.get().unwrap(), 7);
        // rawlink/unlink on a job.
        let seen = Rc::new(Cell::new(0));
        let s = seen.clone();
        let job = pool.spawn(|| ());
        let gone = job.rawlink(|| panic!("unlinked"));
        job.rawlink(move || s.set(s.get() + 1));
        assert!(job.unlink(gone));
        job.wait().unwrap();
        yields(1);
        assert_eq!(seen.get(), 1);
    });
}
