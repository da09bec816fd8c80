//! Group and Pool: membership, bounds, fairness, map/imap.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use gevent::Error;
use gevent::core::Loop;
use gevent::pool::{Group, Pool};

const LONG: Duration = Duration::from_secs(10);

/// Runs `f` on every usable backend, each on a fresh hub thread, bounded
/// by a timeout so that a bug fails instead of hanging.
fn on_every_backend(f: fn()) {
    for b in Loop::usable_backends().iter() {
        gevent::run_on_backend(b, move || bounded(f)).unwrap();
    }
}

fn bounded<T>(f: impl FnOnce() -> T) -> T {
    gevent::with_timeout(LONG, f).expect("the test timed out")
}

/// Counts how many run at once and the most ever.
#[derive(Clone, Default)]
struct Gauge {
    now: Rc<Cell<usize>>,
    peak: Rc<Cell<usize>>,
}

impl Gauge {
    fn enter(&self) {
        self.now.set(self.now.get() + 1);
        self.peak.set(self.peak.get().max(self.now.get()));
    }
    fn leave(&self) {
        self.now.set(self.now.get() - 1);
    }
}

/// Makes `n` greenlets finish in the order given by `order` (a permutation
/// of 0..n): task `i` may finish once `order.position(i)` others have.
#[derive(Clone)]
struct Turns {
    order: Rc<Vec<usize>>,
    done: Rc<Cell<usize>>,
    finished: Rc<RefCell<Vec<usize>>>,
}

impl Turns {
    fn new(order: Vec<usize>) -> Turns {
        Turns {
            order: Rc::new(order),
            done: Rc::default(),
            finished: Rc::default(),
        }
    }
    fn finish(&self, i: usize) {
        let rank = self.order.iter().position(|&x| x == i).unwrap();
        while self.done.get() != rank {
            gevent::sleep(Duration::ZERO);
        }
        self.done.set(rank + 1);
        self.finished.borrow_mut().push(i);
    }
}

#[test]
fn pool_bound_is_never_exceeded() {
    on_every_backend(|| {
        let pool = Pool::new(5).unwrap();
        let gauge = Gauge::default();
        for i in 0..60u64 {
            let g = gauge.clone();
            pool.spawn(move || {
                g.enter();
                gevent::sleep(Duration::from_millis(i % 3));
                g.leave();
            })
            .unwrap();
            assert!(pool.len() <= 5);
        }
        pool.join().unwrap();
        assert_eq!(gauge.peak.get(), 5);
        assert_eq!(pool.free_count(), 5);

        // The same through imap and map.
        let gauge = Gauge::default();
        let g = gauge.clone();
        let out: Vec<u64> = pool
            .imap(0..200u64, move |i| {
                g.enter();
                gevent::sleep(Duration::from_millis(i % 2));
                g.leave();
                i
            })
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(out, (0..200).collect::<Vec<_>>());
        assert_eq!(gauge.peak.get(), 5);
        let gauge = Gauge::default();
        let g = gauge.clone();
        let out = pool
            .map(0..50u32, move |i| {
                g.enter();
                gevent::sleep(Duration::ZERO);
                g.leave();
                i * 2
            })
            .unwrap();
        assert_eq!(out[49], 98);
        assert_eq!(gauge.peak.get(), 5);
        assert_eq!(pool.free_count(), 5);
    });
}

#[test]
fn waiting_spawners_are_served_in_order_and_newcomers_do_not_overtake() {
    on_every_backend(|| {
        let pool = Pool::new(1).unwrap();
        let release = Rc::new(Cell::new(false));
        let r = release.clone();
        let holder = pool
            .spawn(move || {
                while !r.get() {
                    gevent::sleep(Duration::from_millis(1));
                }
            })
            .unwrap();
        let order = Rc::new(RefCell::new(Vec::new()));
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let (p, o) = (pool.clone(), order.clone());
                gevent::spawn(move || {
                    p.spawn(move || o.borrow_mut().push(i))
                        .unwrap()
                        .join()
                        .unwrap();
                })
            })
            .collect();
        gevent::sleep(Duration::ZERO); // all four queue up
        assert!(pool.full());
        release.set(true);
        holder.join().unwrap();
        // The slot went straight to the first waiter: no newcomer gets it.
        assert_eq!(pool.free_count(), 0);
        assert!(pool.try_spawn(|| ()).is_err());
        let g = gevent::spawn(|| ());
        assert!(pool.try_add(&g).is_err());
        gevent::joinall(&waiters, Some(LONG)).unwrap();
        assert_eq!(*order.borrow(), [0, 1, 2, 3]);
        assert_eq!(pool.free_count(), 1);
    });
}

#[test]
fn a_killed_or_timed_out_waiter_does_not_leak_a_slot() {
    on_every_backend(|| {
        let pool = Pool::new(1).unwrap();
        let holder = pool
            .spawn(|| gevent::sleep(Duration::from_secs(60)))
            .unwrap();

        // Killed while queued.
        let p = pool.clone();
        let queued = gevent::spawn(move || p.spawn(|| ()).map(|_| ()));
        // Timed out while queued.
        let p = pool.clone();
        let timed = gevent::spawn(move || {
            let g = gevent::spawn(|| ());
            p.add_timeout(&g, Duration::from_millis(1))
        });
        // Killed after the slot was handed to it, before it could run.
        let p = pool.clone();
        let granted = gevent::spawn(move || p.spawn(|| ()).map(|_| ()));
        gevent::sleep(Duration::ZERO);
        queued.kill().unwrap();
        assert!(timed.get().unwrap().unwrap_err().is_timeout());
        assert_eq!(pool.free_count(), 0);

        // Killed, then handed the slot before it could run: it unwinds
        // with the slot granted, and passes it on.
        granted.kill_nowait();
        pool.discard(&holder);
        granted.join().unwrap();
        assert!(matches!(granted.get(), Err(Error::GreenletExit)));
        assert_eq!(pool.free_count(), 1);
        assert!(pool.is_empty());
        holder.kill().unwrap();

        // And the pool works as new.
        let a = pool.spawn(|| 1).unwrap();
        assert_eq!(a.get().unwrap(), 1);
        assert_eq!(pool.free_count(), 1);
    });
}

#[test]
fn imap_keeps_input_order_when_tasks_finish_out_of_order() {
    on_every_backend(|| {
        let pool = Pool::new(8).unwrap();
        let turns = Turns::new(vec![7, 3, 5, 0, 6, 1, 4, 2]);
        let t = turns.clone();
        let out: Vec<usize> = pool
            .imap(0..8usize, move |i| {
                t.finish(i);
                i * 10
            })
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(out, [0, 10, 20, 30, 40, 50, 60, 70]);
        assert_eq!(*turns.finished.borrow(), [7, 3, 5, 0, 6, 1, 4, 2]);
    });
}

#[test]
fn imap_unordered_yields_in_completion_order() {
    on_every_backend(|| {
        let group = Group::new();
        let order = vec![4, 2, 0, 5, 1, 3];
        let turns = Turns::new(order.clone());
        let t = turns.clone();
        let out: Vec<usize> = group
            .imap_unordered(0..6usize, move |i| {
                t.finish(i);
                i
            })
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(out, order);
    });
}

#[test]
fn imap_does_not_run_ahead_of_its_bound() {
    on_every_backend(|| {
        let group = Group::new();
        let pulled = Rc::new(Cell::new(0usize));
        let p = pulled.clone();
        let input = (0..50usize).inspect(move |_| p.set(p.get() + 1));
        // The head task is slow: the rest finish and wait for their turn.
        let head_go = Rc::new(Cell::new(false));
        let h = head_go.clone();
        let gauge = Gauge::default();
        let g = gauge.clone();
        let mut it = group
            .imap(input, move |i| {
                g.enter();
                if i == 0 {
                    while !h.get() {
                        gevent::sleep(Duration::from_millis(1));
                    }
                }
                g.leave();
                i
            })
            .maxsize(4);
        assert_eq!(pulled.get(), 0); // lazy
        let cons = gevent::spawn(move || it.next().map(|r| r.unwrap()).map(|v| (v, it)));
        for _ in 0..20 {
            gevent::sleep(Duration::ZERO);
        }
        // Four taken and not yielded: the head plus three finished.
        assert_eq!(pulled.get(), 4);
        assert_eq!(group.len(), 1);
        head_go.set(true);
        let (first, it) = cons.take().unwrap().unwrap();
        assert_eq!(first, 0);
        let mut yielded = 1;
        for r in it {
            assert_eq!(r.unwrap(), yielded);
            yielded += 1;
            // Never more than the bound ahead of the consumer.
            assert!(
                pulled.get() <= yielded + 4,
                "{} > {}",
                pulled.get(),
                yielded + 4
            );
            for _ in 0..3 {
                gevent::sleep(Duration::ZERO);
            }
        }
        assert_eq!(yielded, 50);
        assert_eq!(pulled.get(), 50);
        assert!(gauge.peak.get() <= 4);
    });
}

#[test]
fn imap_unordered_bound_in_a_pool() {
    let pool = Pool::new(10).unwrap();
    let gauge = Gauge::default();
    let g = gauge.clone();
    let n = bounded(|| {
        pool.imap_unordered(0..100u64, move |i| {
            g.enter();
            gevent::sleep(Duration::from_millis(i % 2));
            g.leave();
        })
        .maxsize(3)
        .count()
    });
    assert_eq!(n, 100);
    assert!(gauge.peak.get() <= 3);
    assert_eq!(pool.free_count(), 10);
}

#[test]
fn failures_come_at_their_position() {
    on_every_backend(|| {
        let pool = Pool::new(3).unwrap();
        let out: Vec<Result<u32, Error>> = pool
            .imap(0..6u32, |i| {
                if i == 2 || i == 4 {
                    panic!("item {i}");
                }
                gevent::sleep(Duration::from_millis(u64::from(6 - i)));
                i
            })
            .collect();
        assert_eq!(out.len(), 6);
        for (i, r) in out.iter().enumerate() {
            match (i, r) {
                (2 | 4, Err(Error::Panicked(m))) => assert_eq!(&**m, format!("item {i}")),
                (_, Ok(v)) => assert_eq!(*v as usize, i),
                other => panic!("unexpected {other:?}"),
            }
        }
        // map returns the first failure in input order.
        let r = pool.map(0..6u32, |i| {
            if i == 3 {
                panic!("three");
            }
            i
        });
        assert!(matches!(r, Err(Error::Panicked(m)) if &*m == "three"));
        pool.join().unwrap();
        assert_eq!(pool.free_count(), 3);
    });
}

#[test]
fn input_errors_are_surfaced_and_end_the_iteration() {
    on_every_backend(|| {
        let pool = Pool::new(2).unwrap();
        let pulled = Rc::new(Cell::new(0));
        let p = pulled.clone();
        let input = vec![
            Ok(1u64),
            Ok(2),
            Ok(3),
            Err(io::Error::other("line 4 unreadable")),
            Ok(5),
        ]
        .into_iter()
        .inspect(move |_| p.set(p.get() + 1));
        let out: Vec<io::Result<u64>> = pool
            .try_imap(input, |x| {
                gevent::sleep(Duration::from_millis(4 - x));
                x * 100
            })
            .collect();
        assert_eq!(out.len(), 4);
        assert_eq!(
            out[..3]
                .iter()
                .map(|r| *r.as_ref().unwrap())
                .collect::<Vec<_>>(),
            [100, 200, 300]
        );
        assert_eq!(
            out[3].as_ref().unwrap_err().to_string(),
            "line 4 unreadable"
        );
        assert_eq!(pulled.get(), 4); // nothing after the error was taken

        // Unordered: the error comes after everything taken before it.
        let input = vec![Ok(30u64), Ok(1), Err(io::Error::other("bad")), Ok(2)];
        let out: Vec<io::Result<u64>> = pool
            .try_imap_unordered(input, |ms| {
                gevent::sleep(Duration::from_millis(ms));
                ms
            })
            .collect();
        assert_eq!(out.len(), 3);
        assert!(out[..2].iter().all(|r| r.is_ok()));
        assert!(out[2].is_err());
        // A task failure converts into the caller's error type.
        let out: Vec<io::Result<u8>> = pool
            .try_imap(vec![Ok::<u8, io::Error>(1)], |_| -> u8 { panic!("nope") })
            .collect();
        assert_eq!(out[0].as_ref().unwrap_err().kind(), io::ErrorKind::Other);
        assert_eq!(pool.free_count(), 2);
    });
}

#[test]
fn dropping_an_imap_kills_its_running_tasks() {
    on_every_backend(|| {
        let pool = Pool::new(3).unwrap();
        let mut it = pool.imap(0..10u64, |i| {
            if i > 0 {
                gevent::sleep(Duration::from_secs(60));
            }
            i
        });
        assert_eq!(it.next().unwrap().unwrap(), 0);
        assert_eq!(pool.len(), 3);
        drop(it);
        assert!(pool.join_timeout(LONG).unwrap());
        assert_eq!(pool.free_count(), 3);
    });
}

#[test]
fn group_join_kill_and_membership() {
    on_every_backend(|| {
        let group = Group::new();
        let sleepers: Vec<_> = (0..3)
            .map(|_| group.spawn(|| gevent::sleep(Duration::from_secs(60))))
            .collect();
        let quick = group.spawn(|| 5);
        let outsider = gevent::spawn(|| gevent::sleep(Duration::from_millis(1)));
        group.add(&outsider);
        group.add(&outsider); // once only
        assert_eq!(group.len(), 5);
        assert!(!group.full());
        group.wait_available().unwrap();
        assert_eq!(quick.get().unwrap(), 5);
        assert!(!group.contains(&quick)); // left when it finished
        assert!(!group.join_timeout(Duration::from_millis(5)).unwrap());
        assert!(!group.contains(&outsider));
        assert_eq!(group.len(), 3);

        group.killone(&sleepers[0]).unwrap();
        assert!(sleepers[0].dead());
        assert_eq!(group.len(), 2);
        assert!(group.discard(&sleepers[1]));
        assert_eq!(group.len(), 1);
        group.kill().unwrap();
        assert!(sleepers[2].dead() && group.is_empty());
        assert!(!sleepers[1].dead()); // discarded: not killed
        sleepers[1].kill().unwrap();

        // A member joining its own group waits for the others only.
        let g2 = group.clone();
        let member = group.spawn(move || g2.join_timeout(LONG).unwrap());
        group.spawn(|| gevent::sleep(Duration::from_millis(2)));
        assert!(member.get().unwrap());
        group.join().unwrap();

        // kill also gets greenlets that join while it waits.
        let g3 = group.clone();
        group.spawn(move || {
            let _guard = DropSpawn(g3);
            gevent::sleep(Duration::from_secs(60));
        });
        assert!(group.kill_timeout(LONG).unwrap());
        assert!(group.is_empty());
    });
}

/// Spawns a long sleeper into the group when dropped (while its owner is
/// being killed).
struct DropSpawn(Group);

impl Drop for DropSpawn {
    fn drop(&mut self) {
        self.0.spawn(|| gevent::sleep(Duration::from_secs(60)));
    }
}

#[test]
fn apply_from_a_member_runs_inline() {
    on_every_backend(|| {
        let pool = Pool::new(1).unwrap();
        let p = pool.clone();
        // Would deadlock if apply waited for the member's own slot.
        let g = pool.spawn(move || p.apply(|| 5).unwrap()).unwrap();
        assert_eq!(g.get().unwrap(), 5);
        assert_eq!(pool.apply(|| "x").unwrap(), "x");
        assert!(matches!(
            pool.apply(|| -> u8 { panic!("p") }),
            Err(Error::Panicked(_))
        ));
    });
}

#[test]
fn a_spawn_that_can_never_get_a_slot_gets_loop_exit() {
    // No Timeout here (its timer would keep the loop alive); a watchdog
    // on the test thread bounds the wait instead.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for b in Loop::usable_backends().iter() {
            gevent::run_on_backend(b, loop_exit_body).unwrap();
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(LONG)
        .expect("a spawn waiting forever did not get LoopExit");
}

fn loop_exit_body() {
    {
        let pool = Pool::new(1).unwrap();
        let p = pool.clone();
        // The only member waits for a slot in its own pool: nothing can
        // ever free one.
        let stuck = pool.spawn(move || p.spawn(|| ()).map(|_| ())).unwrap();
        assert!(matches!(pool.spawn(|| ()), Err(Error::LoopExit)));
        stuck.kill().unwrap();
        assert_eq!(pool.free_count(), 1);
    }
}

#[test]
fn wait_available_and_full() {
    on_every_backend(|| {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.wait_available().unwrap(), 2);
        let a = pool
            .spawn(|| gevent::sleep(Duration::from_millis(3)))
            .unwrap();
        let _b = pool
            .spawn(|| gevent::sleep(Duration::from_secs(60)))
            .unwrap();
        assert!(pool.full());
        assert_eq!(pool.wait_available_timeout(Duration::ZERO).unwrap(), 0);
        assert_eq!(pool.wait_available().unwrap(), 1);
        assert!(a.dead());
        pool.kill().unwrap();
        assert_eq!(pool.free_count(), 2);
    });
}

#[test]
fn limit_many_lookups_to_n_at_a_time() {
    // The article's dns_mass_resolve shape: many lookups, N at a time,
    // each result with its name.
    on_every_backend(|| {
        let names: Vec<String> = (0..300).map(|i| format!("host{i}.example")).collect();
        let pool = Pool::new(20).unwrap();
        let gauge = Gauge::default();
        let g = gauge.clone();
        let mut resolved = 0;
        for r in pool.imap_unordered(names.iter().cloned(), move |name| {
            g.enter();
            gevent::sleep(Duration::from_millis(1)); // the lookup
            g.leave();
            (name.len(), name)
        }) {
            let (len, name) = r.unwrap();
            assert_eq!(len, name.len());
            resolved += 1;
        }
        assert_eq!(resolved, 300);
        assert_eq!(gauge.peak.get(), 20);
    });
}

// Issue 8, item 8: gevent's TestPool0: a pool of size 0 is valid and
// always full; what would wait forever fails at once instead.
#[test]
fn a_pool_of_size_zero_is_always_full() {
    on_every_backend(|| {
        let pool = Pool::new(0).unwrap();
        assert_eq!(pool.size(), 0);
        assert_eq!(pool.free_count(), 0);
        assert!(pool.full());
        assert_eq!(pool.wait_available().unwrap(), 0);
        assert_eq!(
            pool.wait_available_timeout(Duration::from_millis(10))
                .unwrap(),
            0
        );
        assert_eq!(pool.wait_available_timeout(Duration::MAX).unwrap(), 0);
        // A ticker keeps the loop alive: spawning must still not hang.
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = gevent::spawn(move || {
            loop {
                gevent::sleep(Duration::from_millis(1));
                t.set(t.get() + 1);
            }
        });
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        assert!(matches!(
            pool.spawn(move || r.set(true)),
            Err(Error::LoopExit)
        ));
        assert!(matches!(pool.apply(|| 1), Err(Error::LoopExit)));
        assert!(pool.try_spawn(|| ()).is_err());
        let other = gevent::spawn(|| ());
        assert!(matches!(pool.add(&other), Err(Error::LoopExit)));
        assert!(matches!(
            pool.add_timeout(&other, Duration::from_millis(5)),
            Err(Error::Timeout)
        ));
        assert!(pool.try_add(&other).is_err());
        assert!(matches!(pool.map(0..3, |i| i), Err(Error::LoopExit)));
        let items: Vec<_> = pool.imap(0..3, |i| i).collect();
        assert!(
            matches!(items.as_slice(), [Err(Error::LoopExit)]),
            "{}",
            items.len()
        );
        let items: Vec<_> = pool.imap_unordered(0..3, |i| i).collect();
        assert!(
            matches!(items.as_slice(), [Err(Error::LoopExit)]),
            "{}",
            items.len()
        );
        assert!(pool.is_empty());
        pool.join().unwrap();
        gevent::sleep(Duration::from_millis(5));
        assert!(!ran.get());
        assert!(ticks.get() > 0);
        ticker.kill().unwrap();
    });
}
