//! Greenlet-local storage (`gevent::Local`): one value per greenlet,
//! created on first use and dropped when the greenlet dies, however it
//! dies. Every test runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent::{Error, Local, joinall, sleep, spawn};
use gutil::{DropCounter, DropToken, each_backend};

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

#[test]
fn each_greenlet_sees_its_own_value() {
    each_backend(|| {
        let id: &'static Local<Cell<u64>> = leak(Local::new(|| Cell::new(0)));
        id.with(|c| c.set(1000));
        let gs: Vec<_> = (1..=5u64)
            .map(|i| {
                spawn(move || {
                    assert_eq!(id.with(|c| c.get()), 0, "starts from the initialiser");
                    id.with(|c| c.set(i));
                    // Interleave with the others.
                    for _ in 0..3 {
                        sleep(Duration::ZERO);
                        assert_eq!(id.with(|c| c.get()), i);
                    }
                    id.with(|c| c.get())
                })
            })
            .collect();
        joinall(&gs, Some(BOUND)).unwrap();
        let got: Vec<u64> = gs.iter().map(|g| g.value().unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert_eq!(id.with(|c| c.get()), 1000, "the main greenlet kept its own");
    });
}

#[test]
fn set_take_and_separate_keys() {
    each_backend(|| {
        let a: &'static Local<String> = leak(Local::new(|| "a".to_string()));
        let b: &'static Local<String> = leak(Local::new(|| "b".to_string()));
        let g = spawn(move || {
            assert_eq!(a.take(), None);
            assert_eq!(a.with(|s| s.clone()), "a");
            a.set("x".into());
            assert_eq!(b.with(|s| s.clone()), "b", "keys are separate");
            let taken = a.take();
            (taken, a.with(|s| s.clone()))
        });
        assert_eq!(g.get().unwrap(), (Some("x".to_string()), "a".to_string()));
        assert!(format!("{a:?}").starts_with("Local"));
    });
}

#[test]
fn values_are_dropped_when_the_greenlet_dies() {
    each_backend(|| {
        let slot: &'static Local<RefCell<Vec<DropToken>>> =
            leak(Local::new(|| RefCell::new(Vec::new())));
        let drops = DropCounter::new();

        // Returns normally.
        let d = drops.clone();
        let g = spawn(move || slot.with(|v| v.borrow_mut().push(d.token())));
        g.join().unwrap();
        assert_eq!(drops.get(), 1);

        // Panics.
        let d = drops.clone();
        let g = spawn(move || {
            slot.with(|v| v.borrow_mut().push(d.token()));
            panic!("dies");
        });
        let _ = g.join();
        assert!(matches!(g.error(), Some(Error::Panicked(_))));
        assert_eq!(drops.get(), 2);

        // Killed while parked.
        let d = drops.clone();
        let g = spawn(move || {
            slot.with(|v| {
                v.borrow_mut().push(d.token());
                v.borrow_mut().push(d.token());
            });
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        assert_eq!(drops.get(), 2, "alive while the greenlet lives");
        g.kill().unwrap();
        assert_eq!(drops.get(), 4);

        // Timed out.
        let d = drops.clone();
        let g = spawn(move || {
            slot.with(|v| v.borrow_mut().push(d.token()));
            let _t = gevent::Timeout::new(Some(Duration::from_millis(1)));
            sleep(LONG);
        });
        let _ = g.join_timeout(BOUND);
        assert_eq!(drops.get(), 5);

        // Replaced with set(): the old value drops at once.
        let d = drops.clone();
        let g = spawn(move || {
            slot.with(|v| v.borrow_mut().push(d.token()));
            slot.set(RefCell::new(Vec::new()));
            d.get()
        });
        assert_eq!(g.get().unwrap(), 6);

        // Many greenlets: every value drops.
        let gs: Vec<_> = (0..100)
            .map(|_| {
                let d = drops.clone();
                spawn(move || {
                    slot.with(|v| v.borrow_mut().push(d.token()));
                    sleep(Duration::ZERO);
                })
            })
            .collect();
        joinall(&gs, Some(BOUND)).unwrap();
        assert_eq!(drops.get(), 106);

        // The main greenlet's value lives on.
        let d = drops.clone();
        slot.with(|v| v.borrow_mut().push(d.token()));
        sleep(Duration::from_millis(1));
        assert_eq!(drops.get(), 106);
        slot.take();
        assert_eq!(drops.get(), 107);
    });
}

#[test]
fn a_local_touched_only_in_a_destructor_during_a_kill() {
    each_backend(|| {
        // Accessing a Local while the greenlet unwinds works (no switch
        // needed) and the value is dropped with the others.
        let slot: &'static Local<RefCell<Vec<DropToken>>> =
            leak(Local::new(|| RefCell::new(Vec::new())));
        let drops = DropCounter::new();
        struct Stash(&'static Local<RefCell<Vec<DropToken>>>, DropCounter);
        impl Drop for Stash {
            fn drop(&mut self) {
                self.0.with(|v| v.borrow_mut().push(self.1.token()));
            }
        }
        let d = drops.clone();
        let g = spawn(move || {
            let _s = Stash(slot, d);
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        g.kill().unwrap();
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn different_locals_nest() {
    each_backend(|| {
        let a: &'static Local<Cell<u32>> = leak(Local::new(|| Cell::new(1)));
        let b: &'static Local<Cell<u32>> = leak(Local::new(|| Cell::new(2)));
        let c: &'static Local<String> = leak(Local::new(String::new));
        let g = spawn(move || {
            // b and c are created while a's value is borrowed.
            let sum = a.with(|x| b.with(|y| x.get() + y.get()));
            a.with(|_| c.set("set inside another with".into()));
            // The same Local nests too.
            assert_eq!(a.with(|x| a.with(|y| x.get() + y.get())), 2);
            let taken = b.with(|_| a.take());
            (sum, c.with(|s| s.clone()), taken.map(|c| c.get()))
        });
        assert_eq!(
            g.get().unwrap(),
            (3, "set inside another with".to_string(), Some(1))
        );
    });
}

// Issue 8, item 6: gevent's
// test_locals_collected_when_unreferenced_even_in_running_greenlet.
#[test]
fn values_are_dropped_with_the_local_even_in_a_running_greenlet() {
    each_backend(|| {
        let drops = DropCounter::new();
        let d = drops.clone();
        // A long-lived greenlet that creates and drops Locals as it goes.
        let g = spawn(move || {
            for i in 0..10_000usize {
                let l: Local<RefCell<Vec<DropToken>>> = Local::new(|| RefCell::new(Vec::new()));
                // Drops so far: two per even round, one per odd one.
                let base = i + i.div_ceil(2);
                l.with(|v| v.borrow_mut().push(d.token()));
                if i % 2 == 0 {
                    l.set(RefCell::new(vec![d.token()]));
                    assert_eq!(d.get(), base + 1, "set() drops the old value");
                }
                drop(l);
                // Freed at once, while this greenlet keeps running.
                assert_eq!(d.get(), base + 1 + usize::from(i % 2 == 0));
                if i % 1000 == 0 {
                    sleep(Duration::ZERO);
                }
            }
            d.get()
        });
        assert_eq!(g.get().unwrap(), 15_000);

        // The main greenlet too.
        let before = drops.get();
        let l: Local<DropToken> = Local::new(|| panic!("not called"));
        l.set(drops.token());
        drop(l);
        assert_eq!(drops.get(), before + 1);
    });
}

#[test]
fn dropping_a_local_drops_every_parked_greenlets_value() {
    each_backend(|| {
        let drops = DropCounter::new();
        let l: &'static Local<RefCell<Option<DropToken>>> = leak(Local::new(|| RefCell::new(None)));
        let shared: Rc<RefCell<Option<Local<DropToken>>>> =
            Rc::new(RefCell::new(Some(Local::new(|| panic!("not called")))));
        let gs: Vec<_> = (0..50)
            .map(|_| {
                let (d, sh) = (drops.clone(), shared.clone());
                spawn(move || {
                    sh.borrow().as_ref().unwrap().set(d.token());
                    l.with(|v| *v.borrow_mut() = Some(d.token()));
                    sleep(Duration::from_millis(20));
                    // The other Local still works; this one's value is gone.
                    l.with(|v| v.borrow().is_some())
                })
            })
            .collect();
        sleep(Duration::from_millis(1));
        assert_eq!(drops.get(), 0);
        // Dropping the Local drops the 50 values of the still-parked greenlets.
        drop(shared.borrow_mut().take());
        assert_eq!(drops.get(), 50);
        for g in &gs {
            assert!(g.get().unwrap());
        }
        assert_eq!(drops.get(), 100);
    });
}

#[test]
fn a_long_lived_local_used_by_many_short_greenlets() {
    each_backend(|| {
        // The holder list is pruned as greenlets die: dropping the Local
        // after many rounds drops only the live greenlets' values.
        let drops = DropCounter::new();
        let l: Rc<Local<DropToken>> = Rc::new(Local::new(|| panic!("not called")));
        for _ in 0..20 {
            let gs: Vec<_> = (0..100)
                .map(|_| {
                    let (d, l) = (drops.clone(), l.clone());
                    spawn(move || l.set(d.token()))
                })
                .collect();
            joinall(&gs, Some(BOUND)).unwrap();
        }
        assert_eq!(drops.get(), 2000);
        let (d, l2) = (drops.clone(), l.clone());
        let keeper = spawn(move || {
            l2.set(d.token());
            drop(l2);
            sleep(LONG);
        });
        sleep(Duration::ZERO);
        drop(l);
        assert_eq!(drops.get(), 2001);
        keeper.kill().unwrap();
    });
}
