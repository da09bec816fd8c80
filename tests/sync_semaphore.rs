//! Semaphore, BoundedSemaphore, Lock and RLock: fairness, no leaked
//! permits, misuse errors. Timer-using tests run on every backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent::sync::ReleaseError;
use gevent::{BoundedSemaphore, Error, Lock, RLock, Semaphore, joinall, sleep, spawn};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(10);

fn yield_now() {
    sleep(Duration::ZERO);
}

#[test]
fn waiters_are_served_fifo() {
    each_backend(|| {
        let sem = Semaphore::new(0);
        let order = Rc::new(RefCell::new(Vec::new()));
        let gs: Vec<_> = (0..8)
            .map(|i| {
                let (sem, order) = (sem.clone(), order.clone());
                spawn(move || {
                    let _p = sem.acquire_timeout(LONG).unwrap();
                    order.borrow_mut().push(i);
                    yield_now();
                })
            })
            .collect();
        yield_now(); // everyone queues
        assert_eq!(sem.waiters(), 8);
        sem.release();
        assert_eq!(joinall(&gs, Some(LONG)).unwrap().len(), 8);
        assert_eq!(*order.borrow(), (0..8).collect::<Vec<_>>());
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn newcomer_cannot_take_a_handed_over_permit() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().unwrap();
    let s2 = sem.clone();
    let waiter = spawn(move || s2.acquire_timeout(LONG).map(|g| g.forget()).is_ok());
    yield_now();
    drop(held); // handed to the waiter, not put back
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire().is_none());
    assert!(sem.acquire_timeout(Duration::ZERO).is_err());
    assert!(waiter.get_timeout(LONG).unwrap());
    sem.release();
    assert_eq!(sem.available(), 1);
}

#[test]
fn lock_is_fair_between_a_looping_holder_and_a_waiter() {
    // The holder re-locks right after unlocking; the waiter must still get
    // its turn (no barging).
    let lock = Lock::new();
    let turns = Rc::new(RefCell::new(Vec::new()));
    let (l2, t2) = (lock.clone(), turns.clone());
    let held = lock.acquire().unwrap();
    let other = spawn(move || {
        for _ in 0..3 {
            let _g = l2.acquire_timeout(LONG).unwrap();
            t2.borrow_mut().push('b');
        }
    });
    yield_now();
    drop(held);
    for _ in 0..3 {
        let _g = lock.acquire_timeout(LONG).unwrap();
        turns.borrow_mut().push('a');
    }
    other.join_timeout(LONG).unwrap();
    assert_eq!(*turns.borrow(), ['b', 'a', 'b', 'a', 'b', 'a']);
}

#[test]
fn timed_out_and_killed_waiters_never_leak_permits() {
    each_backend(|| {
        for permits in [1usize, 3] {
            let sem = Semaphore::new(permits);
            let got = Rc::new(Cell::new(0u32));
            let inside = Rc::new(Cell::new(0usize));
            let mut gs = Vec::new();
            for i in 0..60u64 {
                let (sem, got, inside) = (sem.clone(), got.clone(), inside.clone());
                gs.push(spawn(move || {
                    let t = Duration::from_micros(200 * (i % 7));
                    if let Ok(_p) = sem.acquire_timeout(t) {
                        inside.set(inside.get() + 1);
                        assert!(inside.get() <= permits);
                        got.set(got.get() + 1);
                        sleep(Duration::from_micros(100 * (i % 3)));
                        inside.set(inside.get() - 1);
                    }
                }));
            }
            // Kill a third of them at various points of their wait.
            for (n, g) in gs.iter().enumerate() {
                if n % 3 == 0 {
                    if n % 2 == 0 {
                        yield_now();
                    }
                    g.kill_nowait();
                }
            }
            assert_eq!(joinall(&gs, Some(LONG)).unwrap().len(), gs.len());
            assert_eq!(sem.available(), permits, "a permit leaked");
            assert_eq!(sem.waiters(), 0);
            assert!(got.get() > 0);
        }
    });
}

#[test]
fn a_permit_handed_to_a_killed_waiter_goes_to_the_next() {
    let sem = Semaphore::new(0);
    let (s1, s2) = (sem.clone(), sem.clone());
    let a = spawn(move || s1.acquire().map(|g| g.forget()));
    let b = spawn(move || s2.acquire_timeout(LONG).map(|g| g.forget()));
    yield_now();
    a.kill_nowait(); // a is now leaving: the release must skip it
    sem.release();
    assert!(a.join_timeout(LONG).unwrap());
    assert!(a.error().is_none() && a.exited() && a.successful());
    assert!(b.get_timeout(LONG).unwrap().is_ok());
    assert_eq!(sem.available(), 0);
    assert_eq!(sem.waiters(), 0);
}

#[test]
fn a_timeout_guard_around_acquire_leaks_nothing() {
    each_backend(|| {
        let sem = Semaphore::new(1);
        let held = sem.acquire().unwrap();
        let r = gevent::with_timeout(Duration::from_millis(2), || {
            sem.acquire().map(|g| g.forget())
        });
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(sem.waiters(), 0);
        drop(held);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn acquire_timeout_times_out_then_succeeds() {
    each_backend(|| {
        let sem = Semaphore::new(0);
        assert!(matches!(
            sem.acquire_timeout(Duration::from_millis(1)),
            Err(Error::Timeout)
        ));
        let s2 = sem.clone();
        spawn(move || {
            sleep(Duration::from_millis(1));
            s2.release();
        });
        sem.acquire_timeout(LONG).unwrap().forget();
        assert_eq!(sem.available(), 0);
    });
}

#[test]
fn wait_does_not_take_the_permit_and_respects_order() {
    let sem = Semaphore::new(0);
    let log = Rc::new(RefCell::new(Vec::new()));
    let (s1, l1) = (sem.clone(), log.clone());
    let acquirer = spawn(move || {
        s1.acquire_timeout(LONG).unwrap().forget();
        l1.borrow_mut().push("acquired");
    });
    let (s2, l2) = (sem.clone(), log.clone());
    let waiter = spawn(move || {
        assert!(s2.wait_timeout(LONG).unwrap());
        l2.borrow_mut().push("available");
    });
    yield_now();
    sem.release(); // goes to the acquirer; the waiter keeps waiting
    yield_now();
    assert_eq!(*log.borrow(), ["acquired"]);
    sem.release();
    joinall(&[acquirer.handle(), waiter.handle()], Some(LONG)).unwrap();
    assert_eq!(*log.borrow(), ["acquired", "available"]);
    assert_eq!(sem.available(), 1);
}

#[test]
fn bounded_semaphore_refuses_over_release() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
    let a = sem.acquire().unwrap();
    a.forget();
    assert_eq!(sem.available(), 1);
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
    assert_eq!(sem.available(), 2);
    // A guard dropped after a manual over-release does not panic or exceed.
    let g = sem.acquire().unwrap();
    sem.release().unwrap();
    drop(g);
    assert_eq!(sem.available(), 2);
}

#[test]
fn lock_release_when_unlocked_is_an_error() {
    let lock = Lock::new();
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    lock.acquire().unwrap().forget();
    assert!(lock.locked());
    // Any greenlet may release a Lock.
    let l2 = lock.clone();
    assert_eq!(spawn(move || l2.release()).get().unwrap(), Ok(()));
    assert!(!lock.locked());
}

#[test]
fn rlock_is_reentrant_and_owned() {
    let lock = RLock::new();
    let a = lock.acquire().unwrap();
    let b = lock.try_acquire().unwrap();
    let c = lock.acquire_timeout(Duration::ZERO).unwrap();
    assert_eq!(lock.count(), 3);
    assert!(lock.is_owned());
    // Another greenlet neither gets it nor may release it.
    let l2 = lock.clone();
    let other = spawn(move || {
        let stolen = l2.try_acquire().is_some();
        let released = l2.release();
        (stolen, released, l2.is_owned())
    });
    assert_eq!(
        other.get().unwrap(),
        (false, Err(ReleaseError::NotOwner), false)
    );
    drop(c);
    drop(b);
    assert!(lock.locked());
    drop(a);
    assert!(!lock.locked());
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
}

#[test]
fn rlock_waiter_gets_it_after_the_last_level() {
    each_backend(|| {
        let lock = RLock::new();
        let a = lock.acquire().unwrap();
        let b = lock.acquire().unwrap();
        let l2 = lock.clone();
        let got = Rc::new(Cell::new(false));
        let g2 = got.clone();
        let w = spawn(move || {
            let _g = l2.acquire_timeout(LONG).unwrap();
            g2.set(true);
            assert!(l2.is_owned());
        });
        yield_now();
        drop(b);
        yield_now();
        assert!(!got.get(), "released one level of two: still held");
        drop(a);
        w.join_timeout(LONG).unwrap();
        assert!(got.get());
        assert!(!lock.locked());
    });
}

#[test]
fn waiting_forever_is_loop_exit() {
    let sem = Semaphore::new(0);
    assert!(matches!(sem.acquire(), Err(Error::LoopExit)));
    assert_eq!(sem.waiters(), 0);
    let lock = Lock::new();
    let _held = lock.acquire().unwrap();
    assert!(matches!(lock.acquire(), Err(Error::LoopExit)));
}

#[test]
fn blocking_in_the_hub_is_an_error_but_free_permits_are_fine() {
    let sem = Semaphore::new(1);
    let out = Rc::new(RefCell::new(Vec::new()));
    let (s2, o2) = (sem.clone(), out.clone());
    gevent::get_hub().run_callback(move || {
        let g = s2.acquire();
        o2.borrow_mut().push(g.is_ok());
        let again = s2.acquire();
        o2.borrow_mut()
            .push(matches!(again, Err(Error::BlockingInHub)));
        drop(g);
    });
    yield_now();
    assert_eq!(*out.borrow(), [true, true]);
    assert_eq!(sem.available(), 1);
}
