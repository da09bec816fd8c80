//! A waiter can return from its park with nothing to show for it: here a
//! `Timeout` fires (making the waiter runnable) and is cancelled by another
//! greenlet before the waiter runs. The waiter must then wait again, with a
//! fresh wake-up registration, and still get what it waits for.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent::queue::Queue;
use gevent::{Event, Semaphore, Timeout, sleep, spawn};

const LONG: Duration = Duration::from_secs(10);

/// Runs `wait` in a greenlet under a short `Timeout` that another greenlet
/// cancels after it fired but before the waiter ran; then calls `wake` and
/// checks the waiter finishes with `true`. Returns whether the race was
/// won (the cancel really came in between).
fn spurious_then_woken(wait: impl FnOnce() -> bool + 'static, wake: impl FnOnce()) -> bool {
    let slot: Rc<RefCell<Option<Timeout>>> = Rc::default();
    let waiting = Rc::new(Cell::new(false));
    let (s2, w2) = (slot.clone(), waiting.clone());
    let waiter = spawn(move || {
        *s2.borrow_mut() = Some(Timeout::new(Some(Duration::from_millis(1))));
        w2.set(true);
        let r = wait();
        w2.set(false);
        r
    });
    let won = Rc::new(Cell::new(false));
    let (s3, w3, won2) = (slot.clone(), waiting.clone(), won.clone());
    let canceller = spawn(move || {
        for _ in 0..1_000_000 {
            if let Some(t) = &*s3.borrow() {
                if t.fired() {
                    // The waiter is runnable with the timeout pending and
                    // has not run yet: take the timeout away.
                    won2.set(w3.get());
                    t.cancel();
                    return;
                }
            }
            sleep(Duration::ZERO);
        }
    });
    canceller.join_timeout(LONG).unwrap();
    sleep(Duration::from_millis(2)); // the waiter resumes, finds nothing, waits again
    assert!(!waiter.ready(), "the waiter must still be waiting");
    wake();
    assert!(waiter.get_timeout(LONG).unwrap());
    won.get()
}

fn exercised(f: impl Fn() -> bool) {
    // The race is won nearly always; try a few times to be sure it was.
    assert!(
        (0..20).any(|_| f()),
        "never managed to make a spurious wake-up"
    );
}

#[test]
fn queue_get_after_a_spurious_wakeup() {
    exercised(|| {
        let q = Queue::new();
        let q2 = q.clone();
        spurious_then_woken(move || q2.get().unwrap() == 7, || q.put(7).unwrap())
    });
}

#[test]
fn bounded_put_after_a_spurious_wakeup() {
    exercised(|| {
        let q = Queue::bounded(1);
        q.put(1).unwrap();
        let q2 = q.clone();
        let won = spurious_then_woken(
            move || q2.put(2).is_ok(),
            || assert_eq!(q.get().unwrap(), 1),
        );
        assert_eq!(q.get().unwrap(), 2);
        won
    });
}

#[test]
fn semaphore_acquire_after_a_spurious_wakeup() {
    exercised(|| {
        let sem = Semaphore::new(0);
        let s2 = sem.clone();
        let won = spurious_then_woken(
            move || s2.acquire().map(|g| g.forget()).is_ok(),
            || sem.release(),
        );
        assert_eq!(sem.available(), 0);
        won
    });
}

#[test]
fn semaphore_acquire_timeout_after_a_spurious_wakeup() {
    exercised(|| {
        let sem = Semaphore::new(0);
        let s2 = sem.clone();
        spurious_then_woken(
            move || s2.acquire_timeout(LONG).map(|g| g.forget()).is_ok(),
            || sem.release(),
        )
    });
}

#[test]
fn event_wait_after_a_spurious_wakeup() {
    exercised(|| {
        let ev = Event::new();
        let e2 = ev.clone();
        spurious_then_woken(move || e2.wait_timeout(LONG).unwrap(), || ev.set())
    });
}
