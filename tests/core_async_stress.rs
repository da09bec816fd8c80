//! `AsyncSender::send` from many threads at once, on every backend: sends
//! coalesce, but every change made before a send is seen by a callback that
//! runs after it, the loop always wakes up, and senders that race with the
//! watcher's drop get `NotConnected`, never a crash.

mod util;

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use gevent::core::{Async, Events};
use util::{Counter, for_each_backend, run_bounded, run_until};

const THREADS: usize = 8;
const SENDS: usize = 10_000;

#[test]
fn many_threads_many_sends() {
    for_each_backend(|lp| {
        let total = THREADS * SENDS;
        let counter = Arc::new(AtomicUsize::new(0));
        let calls = Counter::new();
        let last_seen = Rc::new(Cell::new(0usize));
        let (c, seen, n) = (counter.clone(), last_seen.clone(), calls.clone());
        let w = Async::new(&lp, move |w, ev| {
            assert_eq!(ev, Events::ASYNC);
            n.inc();
            let now = c.load(Ordering::SeqCst);
            assert!(now >= seen.get(), "the counter only grows");
            seen.set(now);
            if now == total {
                w.stop();
            }
        });
        w.start().unwrap();
        let senders: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = w.sender();
                let c = counter.clone();
                thread::spawn(move || {
                    for _ in 0..SENDS {
                        c.fetch_add(1, Ordering::SeqCst);
                        s.send().unwrap();
                    }
                })
            })
            .collect();
        // Returns only once a callback saw every increment: the last send
        // of the last thread happened after its last increment.
        assert!(!run_bounded(&lp));
        for t in senders {
            t.join().unwrap();
        }
        assert_eq!(last_seen.get(), total);
        let calls = calls.get() as usize;
        println!("    {total} sends -> {calls} callbacks");
        assert!((1..=total).contains(&calls));
        // Once dropped, senders are disconnected.
        let s = w.sender();
        drop(w);
        assert_eq!(s.send().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn senders_racing_with_the_watchers_drop() {
    for_each_backend(|lp| {
        for round in 0..6 {
            let calls = Counter::new();
            let n = calls.clone();
            let slot: Rc<Cell<Option<Async>>> = Rc::default();
            let s2 = slot.clone();
            let drop_inside = round % 2 == 1;
            let w = Async::new(&lp, move |_, _| {
                n.inc();
                if drop_inside && n.get() == 3 {
                    drop(s2.take()); // dropped from its own callback
                }
            });
            w.start().unwrap();
            let started = Arc::new(AtomicUsize::new(0));
            let senders: Vec<_> = (0..4)
                .map(|_| {
                    let s = w.sender();
                    let started = started.clone();
                    thread::spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        let mut ok = 0usize;
                        loop {
                            match s.send() {
                                Ok(()) => ok += 1,
                                Err(e) => {
                                    assert_eq!(e.kind(), ErrorKind::NotConnected);
                                    return ok;
                                }
                            }
                        }
                    })
                })
                .collect();
            slot.set(Some(w));
            run_until(&lp, || calls.get() >= 3);
            assert!(started.load(Ordering::SeqCst) > 0);
            // Drop while the threads are still sending.
            drop(slot.take());
            let sent: usize = senders.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(sent >= 3);
        }
    });
}

#[test]
fn stop_and_start_while_senders_run() {
    for_each_backend(|lp| {
        let calls = Counter::new();
        let n = calls.clone();
        let w = Async::new(&lp, move |_, _| n.inc());
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..3)
            .map(|_| {
                let s = w.sender();
                let stop = stop.clone();
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        s.send().unwrap();
                        thread::yield_now();
                    }
                })
            })
            .collect();
        for i in 1..=20 {
            w.start().unwrap();
            // libev clears a send that arrived while stopped when starting,
            // so wait for one that arrives while active.
            run_until(&lp, || calls.get() >= i);
            w.stop();
            lp.run_nowait();
        }
        stop.store(true, Ordering::SeqCst);
        for t in senders {
            t.join().unwrap();
        }
        assert!(calls.get() >= 20);
    });
}
