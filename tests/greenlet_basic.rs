//! Greenlet basics (ARCHITECTURE.md, "Semantics kept from gevent"): spawn order, spawn_later, join,
//! the result getters, names and Display, the builder, custom greenlet
//! types, links, getcurrent, and hubs on several threads. Every semantic
//! test runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::{
    Builder, Error, Greenlet, GreenletRun, getcurrent, joinall, sleep, spawn, spawn_later,
    spawn_run,
};
use gutil::{Log, each_backend, yield_until};

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

#[test]
fn spawn_order_interleaves_at_sleep_zero() {
    each_backend(|| {
        let log = Log::new();
        let l1 = log.clone();
        let g1 = spawn(move || {
            l1.push("1A");
            sleep(Duration::ZERO);
            l1.push("1B");
        });
        let l2 = log.clone();
        let g2 = spawn(move || {
            l2.push("2A");
            sleep(Duration::ZERO);
            l2.push("2B");
        });
        // Spawning does not run anything yet.
        assert!(log.get().is_empty());
        assert_eq!(joinall(&[g1, g2], Some(BOUND)).unwrap(), vec![0, 1]);
        assert_eq!(log.get(), ["1A", "2A", "1B", "2B"]);
    });
}

#[test]
fn spawned_greenlets_start_in_spawn_order() {
    each_backend(|| {
        let log = Log::new();
        let gs: Vec<_> = (0..20)
            .map(|i| {
                let l = log.clone();
                spawn(move || l.push(i.to_string()))
            })
            .collect();
        joinall(&gs, Some(BOUND)).unwrap();
        let want: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_eq!(log.get(), want);
    });
}

#[test]
fn spawn_later_starts_after_the_delay() {
    each_backend(|| {
        let log = Log::new();
        let l = log.clone();
        let late = spawn_later(Duration::from_millis(20), move || {
            l.push("late");
            1
        });
        let l = log.clone();
        let early = spawn(move || {
            l.push("early");
            2
        });
        sleep(Duration::ZERO);
        assert_eq!(log.get(), ["early"]);
        assert!(!late.ready());
        assert_eq!(late.get_timeout(BOUND).unwrap(), 1);
        assert_eq!(early.get().unwrap(), 2);
        assert_eq!(log.get(), ["early", "late"]);
    });
}

#[test]
fn spawn_later_never_starts_early_after_busy_code() {
    each_backend(|| {
        // Make libev's cached "now" stale: run CPU-bound code without
        // blocking, so the loop does not update its clock.
        sleep(Duration::from_millis(1));
        let busy = Instant::now();
        while busy.elapsed() < Duration::from_millis(60) {
            std::hint::spin_loop();
        }
        let delay = Duration::from_millis(30);
        let armed = Instant::now();
        let g = spawn_later(delay, move || armed.elapsed());
        let ran_after = g.get_timeout(BOUND).unwrap();
        // A lower bound only: the greenlet must not start before its delay.
        assert!(
            ran_after >= delay,
            "spawn_later({delay:?}) started after {ran_after:?}"
        );
    });
}

#[test]
fn join_with_timeout() {
    each_backend(|| {
        let g = spawn(|| sleep(LONG));
        assert!(!g.join_timeout(Duration::from_millis(10)).unwrap());
        assert!(!g.ready());
        g.kill().unwrap();
        assert!(g.join_timeout(BOUND).unwrap());
        let quick = spawn(|| sleep(Duration::from_millis(1)));
        assert!(quick.join_timeout(BOUND).unwrap());
        // A finished greenlet joins at once, even with a zero timeout.
        assert!(quick.join_timeout(Duration::ZERO).unwrap());
        quick.join().unwrap();
    });
}

#[test]
fn getters_of_a_successful_greenlet() {
    each_backend(|| {
        let g = spawn(|| {
            sleep(Duration::from_millis(1));
            5
        });
        assert!(!g.ready() && !g.dead() && !g.successful());
        assert_eq!(g.value(), None);
        assert!(g.error().is_none() && g.exception().is_none());
        assert!(matches!(g.get_timeout(Duration::ZERO), Err(Error::Timeout)));
        assert_eq!(g.get().unwrap(), 5);
        assert!(g.ready() && g.dead() && g.successful() && g.started());
        assert_eq!(g.value(), Some(5));
        assert!(g.error().is_none());
        assert_eq!(g.get().unwrap(), 5, "get can be repeated");
        assert_eq!(g.take().unwrap(), 5);
        assert!(matches!(g.take(), Err(Error::NotReady)));
        assert_eq!(g.value(), None, "the value was moved out");
        assert!(g.successful());
    });
}

#[test]
fn take_moves_a_non_clone_value() {
    each_backend(|| {
        struct NotClone(Vec<u8>);
        let g = spawn(|| NotClone(vec![1, 2, 3]));
        assert_eq!(g.take().unwrap().0, [1, 2, 3]);
    });
}

#[test]
fn getters_of_a_panicked_greenlet() {
    each_backend(|| {
        let g = Builder::new()
            .name("boom")
            .spawn(|| -> u32 { panic!("boom!") });
        match g.get() {
            Err(Error::Panicked(m)) => assert_eq!(&*m, "boom!"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(g.ready() && !g.successful());
        assert_eq!(g.value(), None);
        assert!(matches!(g.error(), Some(Error::Panicked(_))));
        assert!(matches!(g.exception(), Some(Error::Panicked(_))));
        assert!(matches!(g.take(), Err(Error::Panicked(_))));
        // The hub carried on.
        assert_eq!(spawn(|| 1).get().unwrap(), 1);
    });
}

#[test]
fn getcurrent_names_and_display() {
    each_backend(|| {
        let main = getcurrent();
        assert_eq!(main.name(), "MainGreenlet");
        assert_eq!(main.to_string(), "<Greenlet \"MainGreenlet\">");
        assert_eq!(main.id(), getcurrent().id());

        let g = spawn(|| {
            let me = getcurrent();
            (me.id(), me.name(), me.to_string())
        });
        let (id, name, shown) = g.get().unwrap();
        assert_eq!(id, g.id());
        assert_eq!(name, format!("Greenlet-{}", g.id()));
        assert_eq!(name, g.name());
        assert_eq!(shown, format!("<Greenlet \"Greenlet-{}\">", g.id()));
        assert_eq!(g.to_string(), shown);
        assert_ne!(g.id(), main.id());

        let named = Builder::new().name("worker").spawn(|| getcurrent().name());
        assert_eq!(named.get().unwrap(), "worker");
        assert_eq!(named.to_string(), "<Greenlet \"worker\">");
        named.set_name("renamed");
        assert_eq!(named.name(), "renamed");
        assert_eq!(named.to_string(), "<Greenlet \"renamed\">");
        assert_eq!(named.handle().to_string(), "<Greenlet \"renamed\">");
        assert!(format!("{named:?}").starts_with("<Greenlet \"renamed\">"));

        // Ids are unique.
        let ids: std::collections::HashSet<u64> =
            (0..50).map(|_| Greenlet::new(|| ()).id()).collect();
        assert_eq!(ids.len(), 50);
    });
}

/// Uses `kib` KiB of stack, in 16 KiB frames.
#[inline(never)]
fn use_stack(kib: usize) -> u64 {
    let buf = std::hint::black_box([kib as u8; 16 * 1024]);
    let below = if kib > 16 { use_stack(kib - 16) } else { 0 };
    std::hint::black_box(below + buf[100] as u64)
}

#[test]
fn builder_name_and_stack_size() {
    each_backend(|| {
        let g = Builder::new()
            .name("big")
            .stack_size(4 << 20)
            .spawn(|| use_stack(1024));
        assert_eq!(g.name(), "big");
        assert!(g.get().is_ok());
        // A built greenlet does not start until asked.
        let b = Builder::new().name("later").build(|| 3);
        sleep(Duration::ZERO);
        assert!(!b.started() && !b.ready());
        b.start();
        assert!(b.started());
        assert_eq!(b.get().unwrap(), 3);
        // start() again is a no-op.
        b.start();
        assert_eq!(b.get().unwrap(), 3);
        // A tiny stack size is rounded up to something usable.
        let small = Builder::new().stack_size(1).spawn(|| format!("{}", 42));
        assert_eq!(small.get().unwrap(), "42");
    });
}

/// The seed article's custom greenlet type.
struct MyNoopGreenlet {
    seconds: f64,
}

impl GreenletRun for MyNoopGreenlet {
    type Output = ();
    fn run(self) {
        sleep(Duration::from_secs_f64(self.seconds));
    }
}

impl fmt::Display for MyNoopGreenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyNoopGreenlet({})", self.seconds)
    }
}

#[test]
fn custom_greenlet_type_display_and_kill() {
    each_backend(|| {
        let g = Greenlet::from_run(MyNoopGreenlet { seconds: 4.0 });
        assert_eq!(g.to_string(), "MyNoopGreenlet(4)");
        assert!(!g.started());
        g.start();
        sleep(Duration::ZERO);
        g.kill().unwrap();
        assert!(g.dead() && g.successful());
        assert!(g.error().is_none() && g.exited());

        let g = spawn_run(MyNoopGreenlet { seconds: 5.0 });
        sleep(Duration::ZERO);
        g.kill_with(Error::killed(std::io::Error::other("A time to kill")))
            .unwrap();
        assert!(g.dead() && !g.successful());
        match g.get() {
            Err(Error::Killed(e)) => assert_eq!(e.to_string(), "A time to kill"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(g.to_string(), "MyNoopGreenlet(5)");

        let quick = spawn_run(MyNoopGreenlet { seconds: 0.001 });
        assert!(quick.get().is_ok());
        assert_eq!(quick.handle().to_string(), "MyNoopGreenlet(0.001)");
    });
}

#[test]
fn a_thousand_links_fire_in_insertion_order() {
    each_backend(|| {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let g = spawn(|| sleep(Duration::from_millis(1)));
        for i in 0..1000 {
            let s = seen.clone();
            g.link(move |g| {
                assert!(g.dead());
                s.borrow_mut().push(i)
            });
        }
        g.join().unwrap();
        assert!(yield_until(100, || seen.borrow().len() == 1000));
        assert_eq!(*seen.borrow(), (0..1000).collect::<Vec<_>>());
    });
}

#[test]
fn link_value_and_link_exception() {
    each_backend(|| {
        let log = Log::new();
        let ok = Builder::new().name("ok").spawn(|| 1);
        let bad = Builder::new()
            .name("bad")
            .spawn(|| -> i32 { panic!("bad") });
        let exited = Builder::new().name("exited").spawn(|| sleep(LONG));
        for g in [&ok, &bad] {
            let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
            g.link(move |g| l1.push(format!("link {}", g.name())));
            g.link_value(move |g| l2.push(format!("value {} {:?}", g.name(), g.value())));
            g.link_exception(move |g| l3.push(format!("exception {}", g.name())));
        }
        let (l1, l2) = (log.clone(), log.clone());
        exited.link_value(move |g| l1.push(format!("value {}", g.name())));
        exited.link_exception(move |g| l2.push(format!("exception {}", g.name())));
        sleep(Duration::ZERO);
        exited.kill().unwrap();
        joinall(&[ok.handle(), bad.handle()], Some(BOUND)).unwrap();
        assert!(yield_until(100, || log.get().len() == 5));
        let mut got = log.get();
        got.sort();
        assert_eq!(
            got,
            [
                "exception bad",
                "link bad",
                "link ok",
                "value exited",
                "value ok Some(1)"
            ]
        );
    });
}

#[test]
fn unlink_removes_a_link() {
    each_backend(|| {
        let hits = Rc::new(Cell::new(0));
        let g = spawn(|| sleep(Duration::from_millis(1)));
        let h = hits.clone();
        let keep = g.link(move |_| h.set(h.get() + 1));
        let h = hits.clone();
        let gone = g.link(move |_| h.set(h.get() + 100));
        let h = hits.clone();
        let gone_value = g.link_value(move |_| h.set(h.get() + 1000));
        assert_ne!(keep, gone);
        assert!(g.unlink(gone));
        assert!(!g.unlink(gone), "a second unlink finds nothing");
        assert!(g.unlink(gone_value));
        g.join().unwrap();
        assert!(yield_until(100, || hits.get() != 0));
        sleep(Duration::from_millis(1));
        assert_eq!(hits.get(), 1);
    });
}

#[test]
fn link_on_a_dead_greenlet_fires_soon() {
    each_backend(|| {
        let g = spawn(|| 1);
        g.join().unwrap();
        let hit = Rc::new(Cell::new(false));
        let h = hit.clone();
        g.link(move |g| h.set(g.value() == Some(1)));
        assert!(!hit.get(), "links never run synchronously");
        assert!(yield_until(100, || hit.get()));
    });
}

#[test]
fn greenlets_spawn_greenlets() {
    each_backend(|| {
        fn tree(depth: u32) -> u64 {
            if depth == 0 {
                return 1;
            }
            let kids: Vec<_> = (0..3).map(|_| spawn(move || tree(depth - 1))).collect();
            kids.iter().map(|k| k.get().unwrap()).sum()
        }
        assert_eq!(spawn(|| tree(5)).get().unwrap(), 243);
    });
}

#[test]
fn hubs_on_several_threads_work_independently() {
    // All four hubs stay alive until each has reported its loop, so a
    // freed loop's address cannot be reused by another thread's.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let lp = gevent::get_hub().loop_().as_ptr() as usize;
                let gs: Vec<_> = (0..100u64)
                    .map(|i| {
                        spawn(move || {
                            sleep(Duration::from_millis(1));
                            sleep(Duration::ZERO);
                            t * 1000 + i
                        })
                    })
                    .collect();
                joinall(&gs, Some(BOUND)).unwrap();
                let sum: u64 = gs.iter().map(|g| g.value().unwrap()).sum();
                assert_eq!(getcurrent().name(), "MainGreenlet");
                barrier.wait();
                (lp, sum)
            })
        })
        .collect();
    let results: Vec<(usize, u64)> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    for (t, (_, sum)) in results.iter().enumerate() {
        let t = t as u64;
        assert_eq!(*sum, t * 1000 * 100 + (0..100).sum::<u64>());
    }
    let loops: std::collections::HashSet<usize> = results.iter().map(|r| r.0).collect();
    assert_eq!(loops.len(), 4, "each thread has its own loop");
}

#[test]
fn idle_waits_until_nothing_else_is_ready() {
    each_backend(|| {
        let log = Log::new();
        let gs: Vec<_> = (0..3)
            .map(|i| {
                let l = log.clone();
                spawn(move || {
                    for _ in 0..40 {
                        sleep(Duration::ZERO);
                    }
                    l.push(format!("done {i}"));
                })
            })
            .collect();
        gevent::idle().unwrap();
        assert_eq!(log.get(), ["done 0", "done 1", "done 2"]);
        assert!(gs.iter().all(|g| g.dead()));
        // With nothing to do it returns at once; also from a greenlet.
        gevent::idle().unwrap();
        assert!(spawn(|| gevent::idle().is_ok()).get().unwrap());
    });
}
