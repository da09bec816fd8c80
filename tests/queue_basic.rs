//! Queue family behaviour: order, FIFO service of blocked getters and
//! putters, bounded and rendezvous blocking, peek, join, shutdown, errors.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent::queue::{Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue, QueueError};
use gevent::{Error, joinall, sleep, spawn};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(10);

fn yield_now() {
    sleep(Duration::ZERO);
}

#[test]
fn blocked_getters_are_served_in_order() {
    each_backend(|| {
        let q = Queue::new();
        let got = Rc::new(RefCell::new(Vec::new()));
        let gs: Vec<_> = (0..6)
            .map(|i| {
                let (q, got) = (q.clone(), got.clone());
                spawn(move || {
                    let item: i32 = q.get_timeout(LONG).unwrap();
                    got.borrow_mut().push((i, item));
                })
            })
            .collect();
        yield_now();
        assert_eq!(q.waiting(), (6, 0));
        for item in 100..106 {
            q.put(item).unwrap();
        }
        joinall(&gs, Some(LONG)).unwrap();
        let expect: Vec<_> = (0..6).map(|i| (i, 100 + i)).collect();
        assert_eq!(*got.borrow(), expect);
    });
}

#[test]
fn blocked_putters_are_served_in_order() {
    each_backend(|| {
        let q = Queue::bounded(1);
        q.put(0).unwrap();
        let gs: Vec<_> = (1..=5)
            .map(|i| {
                let q = q.clone();
                spawn(move || q.put_timeout(i, LONG).map_err(|e| e.into_item()))
            })
            .collect();
        yield_now();
        assert_eq!(q.waiting(), (0, 5));
        let order: Vec<i32> = (0..6).map(|_| q.get_timeout(LONG).unwrap()).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5]);
        joinall(&gs, Some(LONG)).unwrap();
        assert!(gs.iter().all(|g| g.value() == Some(Ok(()))));
    });
}

#[test]
fn a_newcomer_cannot_take_an_item_meant_for_a_blocked_getter() {
    let q = Queue::new();
    let q2 = q.clone();
    let getter = spawn(move || q2.get_timeout(LONG).unwrap());
    yield_now();
    q.put("for the getter").unwrap();
    assert!(matches!(q.try_get(), Err(QueueError::Empty)));
    assert_eq!(getter.get().unwrap(), "for the getter");
}

#[test]
fn bounded_put_blocks_while_full() {
    each_backend(|| {
        let q = Queue::bounded(2);
        q.put(1).unwrap();
        q.put(2).unwrap();
        assert!(q.is_full());
        let done = Rc::new(Cell::new(false));
        let (q2, d2) = (q.clone(), done.clone());
        let putter = spawn(move || {
            q2.put_timeout(3, LONG).unwrap();
            d2.set(true);
        });
        sleep(Duration::from_millis(2));
        assert!(!done.get(), "put must wait while the queue is full");
        assert_eq!(q.get().unwrap(), 1);
        putter.join_timeout(LONG).unwrap();
        assert!(done.get());
        assert_eq!(q.len(), 2);
        assert!(matches!(
            q.put_timeout(4, Duration::from_millis(1))
                .unwrap_err()
                .error(),
            QueueError::Full
        ));
        assert_eq!(q.try_put(5).unwrap_err().into_item(), 5);
    });
}

#[test]
fn channel_put_blocks_until_a_get() {
    each_backend(|| {
        let ch = Channel::new();
        let delivered = Rc::new(Cell::new(false));
        let (c2, d2) = (ch.clone(), delivered.clone());
        let putter = spawn(move || {
            c2.put_timeout("x", LONG).unwrap();
            d2.set(true);
        });
        sleep(Duration::from_millis(2));
        assert!(!delivered.get());
        assert_eq!(ch.balance(), 1);
        assert_eq!(ch.get_timeout(LONG).unwrap(), "x");
        putter.join_timeout(LONG).unwrap();
        assert!(delivered.get());
        assert_eq!(ch.balance(), 0);
    });
}

#[test]
fn channel_try_forms_need_a_waiting_partner() {
    let ch = Channel::new();
    assert_eq!(ch.try_put(1).unwrap_err().into_item(), 1);
    assert!(matches!(ch.try_get(), Err(QueueError::Empty)));
    let c2 = ch.clone();
    let getter = spawn(move || c2.get_timeout(LONG).unwrap());
    yield_now();
    assert_eq!(ch.balance(), -1);
    ch.try_put(2).unwrap();
    assert_eq!(getter.get().unwrap(), 2);
    let c3 = ch.clone();
    let putter = spawn(move || c3.put_timeout(3, LONG).is_ok());
    yield_now();
    assert_eq!(ch.try_get().unwrap(), 3);
    assert!(putter.get().unwrap());
}

#[test]
fn channel_timeouts_are_full_and_empty() {
    each_backend(|| {
        let ch: Channel<u8> = Channel::new();
        let e = ch.put_timeout(1, Duration::from_millis(1)).unwrap_err();
        assert!(matches!(e.error(), QueueError::Full));
        assert_eq!(e.into_item(), 1);
        assert!(matches!(
            ch.get_timeout(Duration::from_millis(1)),
            Err(QueueError::Empty)
        ));
        assert_eq!(ch.waiting(), (0, 0));
    });
}

#[test]
fn bounded_zero_queue_is_a_rendezvous() {
    let q = Queue::bounded(0);
    assert!(q.try_put(1).is_err());
    let q2 = q.clone();
    let putter = spawn(move || q2.put_timeout(7, LONG).is_ok());
    yield_now();
    assert_eq!(q.len(), 0);
    assert_eq!(q.try_peek().unwrap(), 7);
    assert_eq!(q.get().unwrap(), 7);
    assert!(putter.get().unwrap());
}

#[test]
fn priority_queue_gives_smallest_first() {
    let q = PriorityQueue::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut items = Vec::new();
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.push(x % 1000);
    }
    for &i in &items {
        q.put(i).unwrap();
    }
    assert_eq!(q.peek().unwrap(), *items.iter().min().unwrap());
    let out: Vec<u64> = (0..items.len()).map(|_| q.get().unwrap()).collect();
    items.sort();
    assert_eq!(out, items);

    // A blocked getter is handed the first item put: nothing else was
    // there to compare it with.
    let q2 = q.clone();
    let g = spawn(move || q2.get_timeout(LONG).unwrap());
    yield_now();
    q.put(5).unwrap();
    q.put(1).unwrap();
    assert_eq!(g.get().unwrap(), 5);
    assert_eq!(q.get().unwrap(), 1);
}

#[test]
fn lifo_queue_gives_last_first() {
    let q = LifoQueue::bounded(3);
    for i in 0..3 {
        q.put(i).unwrap();
    }
    assert!(q.is_full());
    assert_eq!(q.try_peek().unwrap(), 2);
    let out: Vec<i32> = (0..3).map(|_| q.get().unwrap()).collect();
    assert_eq!(out, [2, 1, 0]);
}

#[test]
fn joinable_queue_join_waits_for_task_done() {
    each_backend(|| {
        let q = JoinableQueue::new();
        let processed = Rc::new(Cell::new(0));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (q, processed) = (q.clone(), processed.clone());
                spawn(move || {
                    for item in &q {
                        let ms: u64 = item.unwrap();
                        sleep(Duration::from_micros(ms * 100));
                        processed.set(processed.get() + 1);
                        q.task_done().unwrap();
                    }
                })
            })
            .collect();
        for i in 0..20 {
            q.put(i % 4).unwrap();
        }
        assert!(!q.join_timeout(Duration::ZERO).unwrap());
        assert!(q.join_timeout(LONG).unwrap());
        assert_eq!(processed.get(), 20);
        assert_eq!(q.unfinished_tasks(), 0);
        assert!(matches!(q.task_done(), Err(QueueError::TaskDoneTooOften)));
        assert_eq!(q.unfinished_tasks(), 0);
        q.shutdown();
        joinall(&workers, Some(LONG)).unwrap();
    });
}

#[test]
fn joinable_counts_items_from_blocked_putters() {
    let q = JoinableQueue::bounded(1);
    q.put(1).unwrap();
    let q2 = q.clone();
    let putter = spawn(move || q2.put_timeout(2, LONG).is_ok());
    yield_now();
    assert_eq!(q.unfinished_tasks(), 1);
    q.get().unwrap(); // accepts the blocked putter's item
    assert_eq!(q.unfinished_tasks(), 2);
    assert!(putter.get().unwrap());
    q.task_done().unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    q.join().unwrap();
}

#[test]
fn shutdown_wakes_everyone_and_drains() {
    each_backend(|| {
        // Blocked getters.
        let q: Queue<u32> = Queue::new();
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                spawn(move || q.get_timeout(LONG))
            })
            .collect();
        yield_now();
        q.shutdown();
        joinall(&getters, Some(LONG)).unwrap();
        for g in &getters {
            assert!(matches!(g.value(), Some(Err(QueueError::ShutDown))));
        }
        assert!(q.is_shutdown());

        // Blocked putters get their items back; items already in are drained.
        let q = Queue::bounded(2);
        q.put(1).unwrap();
        q.put(2).unwrap();
        let putters: Vec<_> = (3..5)
            .map(|i| {
                let q = q.clone();
                spawn(move || q.put_timeout(i, LONG).map_err(|e| e.into_parts()))
            })
            .collect();
        yield_now();
        q.shutdown();
        joinall(&putters, Some(LONG)).unwrap();
        for (g, i) in putters.iter().zip(3..) {
            match g.take().unwrap() {
                Err((QueueError::ShutDown, item)) => assert_eq!(item, i),
                other => panic!("putter {i}: {other:?}"),
            }
        }
        assert!(matches!(
            q.put(9).unwrap_err().error(),
            QueueError::ShutDown
        ));
        assert_eq!(q.get().unwrap(), 1);
        assert_eq!(q.peek().unwrap(), 2);
        assert_eq!(q.iter().map(Result::unwrap).collect::<Vec<_>>(), [2]);
        assert!(matches!(q.try_get(), Err(QueueError::ShutDown)));
        assert!(matches!(q.get(), Err(QueueError::ShutDown)));

        // Channel putters.
        let ch = Channel::new();
        let c2 = ch.clone();
        let p = spawn(move || c2.put_timeout('z', LONG).map_err(|e| e.into_item()));
        yield_now();
        ch.shutdown();
        assert_eq!(p.get().unwrap(), Err('z'));
        assert!(matches!(ch.get(), Err(QueueError::ShutDown)));
    });
}

#[test]
fn waiting_peekers_see_the_item_and_it_goes_on() {
    let q = Queue::new();
    let (q1, q2, q3) = (q.clone(), q.clone(), q.clone());
    let peeker = spawn(move || q1.peek_timeout(LONG).unwrap());
    let getter = spawn(move || q2.get_timeout(LONG).unwrap());
    let peeker2 = spawn(move || q3.peek_timeout(LONG).unwrap());
    yield_now();
    q.put(String::from("item")).unwrap();
    assert_eq!(peeker.get().unwrap(), "item");
    assert_eq!(getter.get().unwrap(), "item");
    // The second peeker was behind the getter: it still waits.
    assert!(!peeker2.ready());
    q.put(String::from("next")).unwrap();
    assert_eq!(peeker2.get().unwrap(), "next");
    assert_eq!(q.len(), 1);
}

#[test]
fn killed_or_timed_out_getters_lose_nothing() {
    each_backend(|| {
        let q = Queue::new();
        let (q1, q2) = (q.clone(), q.clone());
        let doomed = spawn(move || q1.get().ok());
        let patient = spawn(move || q2.get_timeout(LONG).ok());
        yield_now();
        doomed.kill_nowait(); // runnable but not yet unwound
        q.put(1).unwrap(); // must skip the doomed getter
        assert_eq!(patient.get().unwrap(), Some(1));
        doomed.join_timeout(LONG).unwrap();
        assert!(doomed.value().is_none());

        let q3 = q.clone();
        let r = spawn(move || gevent::with_timeout(Duration::from_millis(1), || q3.get().ok()));
        // Until the getter has timed out (a fixed sleep would assume the
        // getter starts in time, which a slow run under valgrind breaks).
        r.join_timeout(LONG).unwrap();
        q.put(2).unwrap();
        assert!(r.get().unwrap().unwrap_err().is_timeout());
        assert_eq!(q.try_get().unwrap(), 2);
        assert_eq!(q.waiting(), (0, 0));
    });
}

#[test]
fn loop_exit_and_blocking_in_the_hub() {
    let q: Queue<u8> = Queue::new();
    assert!(matches!(q.get(), Err(QueueError::Wait(Error::LoopExit))));
    let full = Queue::bounded(0);
    assert!(matches!(
        full.put(1).unwrap_err().error(),
        QueueError::Wait(Error::LoopExit)
    ));
    let out = Rc::new(RefCell::new(Vec::new()));
    let (q2, o2) = (q.clone(), out.clone());
    gevent::get_hub().run_callback(move || {
        o2.borrow_mut().push(matches!(
            q2.get(),
            Err(QueueError::Wait(Error::BlockingInHub))
        ));
        o2.borrow_mut().push(q2.try_put(1).is_ok());
        o2.borrow_mut().push(q2.get().is_ok());
    });
    yield_now();
    assert_eq!(*out.borrow(), [true, true, true]);
}

#[test]
fn iteration_ends_at_shutdown_and_reports_loop_exit() {
    let q = Queue::new();
    let q2 = q.clone();
    spawn(move || {
        for i in 0..4 {
            q2.put(i).unwrap();
            yield_now();
        }
        q2.shutdown();
    });
    let got: Vec<i32> = (&q).into_iter().map(Result::unwrap).collect();
    assert_eq!(got, [0, 1, 2, 3]);

    let lonely: Queue<u8> = Queue::new();
    let mut it = lonely.iter();
    assert!(matches!(
        it.next(),
        Some(Err(QueueError::Wait(Error::LoopExit)))
    ));
    assert!(it.next().is_none());
}

// Issue 8, item 9: gevent's TestChannel.test_send and test_wait orders.
#[test]
fn channel_send_order_is_gevents() {
    each_backend(|| {
        let ch = Channel::new();
        let events = Rc::new(RefCell::new(Vec::<String>::new()));
        let (c, e) = (ch.clone(), events.clone());
        let g = spawn(move || {
            let v: String = c.get().unwrap();
            e.borrow_mut().push(v);
            let v = c.get().unwrap();
            e.borrow_mut().push(v);
        });
        events.borrow_mut().push("sending".into());
        ch.put("hello".to_string()).unwrap();
        events.borrow_mut().push("sent hello".into());
        ch.put("world".to_string()).unwrap();
        events.borrow_mut().push("sent world".into());
        assert_eq!(
            *events.borrow(),
            ["sending", "hello", "sent hello", "world", "sent world"]
        );
        g.join_timeout(LONG).unwrap();
        assert!(g.successful());
    });
}

#[test]
fn channel_wait_order_is_gevents() {
    each_backend(|| {
        let ch = Channel::new();
        let events = Rc::new(RefCell::new(Vec::<String>::new()));
        let (c, e) = (ch.clone(), events.clone());
        let g = spawn(move || {
            e.borrow_mut().push("sending hello".into());
            c.put("hello".to_string()).unwrap();
            e.borrow_mut().push("sending world".into());
            c.put("world".to_string()).unwrap();
            e.borrow_mut().push("sent world".into());
        });
        events.borrow_mut().push("waiting".into());
        let v = ch.get().unwrap();
        events.borrow_mut().push(v);
        let v = ch.get().unwrap();
        events.borrow_mut().push(v);
        assert_eq!(
            *events.borrow(),
            [
                "waiting",
                "sending hello",
                "hello",
                "sending world",
                "world"
            ]
        );
        g.join_timeout(LONG).unwrap();
        assert_eq!(events.borrow().last().unwrap(), "sent world");
    });
}

#[test]
fn channel_handoffs_lose_and_duplicate_nothing_under_kills_and_timeouts() {
    each_backend(|| {
        const PER: u32 = 200;
        let ch: Channel<u32> = Channel::new();
        let got = Rc::new(RefCell::new(Vec::new()));
        let returned = Rc::new(RefCell::new(Vec::new()));
        let putters: Vec<_> = (0..3u32)
            .map(|p| {
                let (ch, returned) = (ch.clone(), returned.clone());
                spawn(move || {
                    for i in 0..PER {
                        let item = p * PER + i;
                        let r = if i % 3 == 0 {
                            ch.put_timeout(item, Duration::from_micros(50))
                        } else {
                            ch.put_timeout(item, LONG)
                        };
                        if let Err(e) = r {
                            returned.borrow_mut().push(e.into_item());
                        }
                    }
                })
            })
            .collect();
        let mut getters = Vec::new();
        let mut round = 0u32;
        let deadline = std::time::Instant::now() + LONG;
        while putters.iter().any(|p| !p.dead()) && std::time::Instant::now() < deadline {
            round += 1;
            let (ch2, got2) = (ch.clone(), got.clone());
            let g = spawn(move || {
                for _ in 0..5 {
                    match ch2.get_timeout(Duration::from_micros(100)) {
                        Ok(v) => got2.borrow_mut().push(v),
                        Err(_) => sleep(Duration::ZERO),
                    }
                }
            });
            if round % 4 == 0 {
                // Killed wherever it is: parked, woken with an item, or
                // queued to resume.
                sleep(Duration::ZERO);
                g.kill_nowait();
            }
            getters.push(g);
            sleep(Duration::ZERO);
        }
        joinall(&putters, Some(LONG)).unwrap();
        joinall(&getters, Some(LONG)).unwrap();
        // Items a killed getter handed back wait in the channel.
        while let Ok(v) = ch.try_get() {
            got.borrow_mut().push(v);
        }
        let mut all: Vec<u32> = got.borrow().clone();
        all.extend(returned.borrow().iter().copied());
        all.sort_unstable();
        assert_eq!(all, (0..3 * PER).collect::<Vec<_>>(), "lost or duplicated");
        assert_eq!(ch.waiting(), (0, 0));
    });
}
