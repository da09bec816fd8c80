//! `Timeout` and `with_timeout` (ARCHITECTURE.md, "Semantics kept from gevent"): None never fires,
//! zero fires at the next blocking call, nested timeouts are independent
//! and raise their own identity, custom errors, cancel discards a pending
//! expiry, the guard form, and unwinding that runs destructors. Every test
//! runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use gevent::{Builder, Error, Timeout, sleep, spawn, try_sleep, with_timeout};
use gutil::{DropCounter, each_backend};

const LONG: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn custom(msg: &'static str) -> Error {
    Error::killed(std::io::Error::other(msg))
}

#[test]
fn none_never_fires() {
    each_backend(|| {
        let t = Timeout::new(None);
        assert!(!t.pending() && !t.fired());
        assert_eq!(t.duration(), None);
        assert_eq!(t.to_string(), "no timeout");
        let r = t.catch(|| {
            sleep(ms(20));
            "done"
        });
        assert_eq!(r.unwrap(), "done");
        assert!(!t.fired());
    });
}

#[test]
fn zero_fires_at_the_next_blocking_call() {
    each_backend(|| {
        let steps = Rc::new(Cell::new(0));
        let s = steps.clone();
        let t = Timeout::new(Some(Duration::ZERO));
        assert!(t.pending());
        let r = t.catch(move || {
            // Code that does not block is not interrupted...
            for _ in 0..1000 {
                s.set(s.get() + 1);
            }
            // ...the next blocking call is.
            sleep(ms(1000));
            s.set(-1);
        });
        assert!(matches!(r, Err(Error::Timeout)));
        assert_eq!(steps.get(), 1000);
        assert!(t.fired() && !t.pending());

        // With sleep(0) as the blocking call it fires within a few
        // iterations of the loop (a bounded count, no timing).
        let n = Rc::new(Cell::new(0u32));
        let c = n.clone();
        let r = with_timeout(Duration::ZERO, move || {
            loop {
                c.set(c.get() + 1);
                assert!(c.get() < 100_000, "a zero timeout never fired");
                sleep(Duration::ZERO);
            }
        });
        assert!(matches!(r, Err(Error::Timeout)));
        assert!(n.get() >= 1);
    });
}

#[test]
fn with_timeout_ok_and_err() {
    each_backend(|| {
        assert_eq!(with_timeout(BOUND, || 5).unwrap(), 5);
        assert_eq!(
            with_timeout(BOUND, || {
                sleep(ms(1));
                6
            })
            .unwrap(),
            6
        );
        let r = with_timeout(ms(5), || sleep(LONG));
        assert!(r.unwrap_err().is_timeout());
        // Joins, too, are bounded by it.
        let g = spawn(|| sleep(LONG));
        let r = with_timeout(ms(5), || g.join());
        assert!(matches!(r, Err(Error::Timeout)));
        assert!(!g.dead());
        g.kill().unwrap();
        // A blocking call after the block is not affected.
        assert!(try_sleep(ms(2)).is_ok());
    });
}

#[test]
fn nested_inner_shorter() {
    each_backend(|| {
        let outer = Timeout::with_error(Some(ms(2000)), custom("outer"));
        let r = outer.catch(|| {
            let inner = Timeout::with_error(Some(ms(5)), custom("inner"));
            let ri = inner.catch(|| sleep(LONG));
            assert_eq!(ri.unwrap_err().to_string(), "killed: inner");
            assert!(inner.fired());
            "outer block finished"
        });
        assert_eq!(r.unwrap(), "outer block finished");
        assert!(!outer.fired());
    });
}

#[test]
fn nested_outer_shorter_passes_through_the_inner() {
    each_backend(|| {
        let reached = Rc::new(Cell::new(false));
        let re = reached.clone();
        let outer = Timeout::with_error(Some(ms(5)), custom("outer"));
        let r = outer.catch(|| {
            let inner = Timeout::with_error(Some(ms(2000)), custom("inner"));
            // The inner catch does not swallow the outer timeout.
            let ri = inner.catch(|| sleep(LONG));
            re.set(true);
            ri
        });
        assert_eq!(r.unwrap_err().to_string(), "killed: outer");
        assert!(!reached.get());
        assert!(outer.fired());

        // Same with with_timeout: an inner with_timeout does not catch an
        // outer Timeout, and the outer's identity is the one raised.
        let outer = Timeout::new(Some(ms(5)));
        let p = catch_unwind(AssertUnwindSafe(|| {
            let _ = with_timeout(ms(2000), || sleep(LONG));
        }))
        .unwrap_err();
        assert!(outer.is_mine(&*p));
        let other = Timeout::new(None);
        assert!(!other.is_mine(&*p));
    });
}

#[test]
fn nested_same_block_first_to_expire_wins() {
    each_backend(|| {
        let a = Timeout::with_error(Some(ms(200)), custom("a"));
        let b = Timeout::with_error(Some(ms(5)), custom("b"));
        let p = catch_unwind(|| sleep(LONG)).unwrap_err();
        assert!(b.is_mine(&*p) && !a.is_mine(&*p));
        assert!(b.fired());
        assert!(a.pending());
        let pa = catch_unwind(|| sleep(LONG)).unwrap_err();
        assert!(a.is_mine(&*pa));
    });
}

#[test]
fn custom_error_is_what_the_greenlet_fails_with() {
    each_backend(|| {
        let t = Timeout::with_error(Some(Duration::ZERO), custom("too slow"));
        let r = t.catch(|| sleep(LONG));
        assert_eq!(r.unwrap_err().to_string(), "killed: too slow");

        // An uncaught Timeout guard makes its greenlet fail with its error.
        let g = Builder::new().name("slow").spawn(|| {
            let _t = Timeout::with_error(Some(ms(2)), custom("deadline"));
            sleep(LONG);
        });
        match g.get_timeout(BOUND) {
            Err(Error::Killed(e)) => assert_eq!(e.to_string(), "deadline"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!g.successful());
        let g = spawn(|| {
            let _t = Timeout::new(Some(ms(2)));
            sleep(LONG);
        });
        assert!(matches!(g.get_timeout(BOUND), Err(Error::Timeout)));
    });
}

#[test]
fn cancel_discards_a_pending_expiry() {
    each_backend(|| {
        // An expiry while the owner is queued to resume (in a sleep(0)) is
        // raised at that very sleep(0) (issue 8 item 5): the owner never
        // sees `fired()` from a normal return.
        let t = Timeout::new(Some(Duration::ZERO));
        let r = catch_unwind(AssertUnwindSafe(|| {
            for _ in 0..100_000 {
                assert!(!t.fired(), "sleep(0) returned after the expiry");
                sleep(Duration::ZERO);
            }
        }));
        assert!(t.is_mine(&*r.expect_err("a zero timeout never fired")));
        drop(t);

        // A pending expiry (the owner woken for it, not resumed yet) is
        // discarded by cancel(), or by dropping the guard, from another
        // greenlet: the owner's wait then goes on, not interrupted.
        for by_drop in [false, true] {
            let slot: Rc<Cell<Option<Timeout>>> = Rc::new(Cell::new(None));
            let ev = gevent::Event::new();
            let (s2, e2) = (slot.clone(), ev.clone());
            let owner = spawn(move || {
                s2.set(Some(Timeout::new(Some(Duration::ZERO))));
                e2.wait().is_ok()
            });
            // Yield (staying queued ahead of the owner) until the expiry
            // has fired: the owner is then queued to resume with it.
            let mut fired = false;
            for _ in 0..100_000 {
                sleep(Duration::ZERO);
                let t = slot.take();
                fired = t.as_ref().is_some_and(Timeout::fired);
                if fired {
                    if by_drop {
                        drop(t);
                    } else {
                        t.as_ref().unwrap().cancel();
                        slot.set(t);
                    }
                    break;
                }
                slot.set(t);
            }
            assert!(fired, "a zero timeout never fired");
            sleep(Duration::ZERO);
            assert!(!owner.dead(), "the discarded expiry interrupted the wait");
            ev.set();
            assert!(owner.get_timeout(BOUND).unwrap());
            drop(slot.take());
        }
        assert!(try_sleep(ms(2)).is_ok());

        // cancel() before expiry: never fires.
        let t = Timeout::new(Some(ms(2)));
        t.cancel();
        assert!(!t.pending());
        sleep(ms(5));
        assert!(!t.fired());
    });
}

#[test]
fn guard_over_a_block_of_code() {
    each_backend(|| {
        let t = Timeout::new(Some(ms(10)));
        assert!(t.pending() && !t.fired());
        assert_eq!(t.duration(), Some(ms(10)));
        let r = t.catch(|| {
            sleep(ms(1));
            sleep(ms(1));
            sleep(LONG);
            unreachable!()
        });
        assert!(r.unwrap_err().is_timeout());
        assert!(t.fired() && !t.pending());

        // Guard dropped at the end of the block: no effect afterwards. The
        // block has no switch point, so the guard cannot fire inside it
        // however loaded the machine is; the sleep after it outlasts the
        // guard's deadline and must not be interrupted.
        {
            let _guard = Timeout::new(Some(ms(5)));
            std::hint::black_box(());
        }
        sleep(ms(20));

        // restart() re-arms it from now.
        let mut t = Timeout::new(Some(ms(5)));
        t.restart();
        assert!(t.pending());
        let r = t.catch(|| sleep(LONG));
        assert!(r.is_err());
        t.restart();
        assert!(t.pending() && !t.fired());
        t.cancel();
        assert!(format!("{t:?}").contains("pending: false"));
    });
}

#[test]
fn a_timeout_belongs_to_the_greenlet_that_made_it() {
    each_backend(|| {
        // Main arms a timeout; another greenlet blocking meanwhile is not hit.
        let t = Timeout::new(Some(ms(5)));
        let other = spawn(|| try_sleep(ms(20)).is_ok());
        let r = t.catch(|| sleep(LONG));
        assert!(r.is_err());
        assert!(other.get().unwrap());
        // And a greenlet's timeout does not hit the main greenlet.
        let g = spawn(|| with_timeout(ms(2), || sleep(LONG)).is_err());
        sleep(ms(10));
        assert!(g.get().unwrap());
    });
}

#[test]
fn timeout_unwinding_runs_destructors() {
    each_backend(|| {
        let drops = DropCounter::new();
        let d = drops.clone();
        let after = Rc::new(Cell::new(false));
        let a = after.clone();
        let r = with_timeout(ms(2), move || {
            let _x = d.token();
            let _v: Vec<_> = (0..4).map(|_| d.token()).collect();
            sleep(LONG);
            a.set(true);
        });
        assert!(r.is_err());
        assert_eq!(drops.get(), 5);
        assert!(!after.get());
    });
}

#[test]
fn cpu_bound_code_is_not_interrupted() {
    each_backend(|| {
        let r = with_timeout(Duration::ZERO, || {
            let mut x = 0u64;
            for i in 0..100_000u64 {
                x = x.wrapping_add(std::hint::black_box(i));
            }
            x
        });
        assert_eq!(r.unwrap(), (0..100_000u64).sum::<u64>());
    });
}

/// Arms a timeout for the calling greenlet and spawns a greenlet that
/// cancels it right after it expires, before the owner got to run: the
/// owner's wait wakes up for nothing and must carry on waiting.
fn cancelled_after_expiry() -> gevent::Greenlet<bool> {
    let t = Rc::new(Timeout::new(Some(ms(2))));
    let t2 = t.clone();
    drop(t);
    spawn(move || {
        // Spin with sleep(0): this greenlet is queued ahead of the owner
        // when the timer fires, so it runs first.
        for _ in 0..1_000_000 {
            if t2.fired() {
                t2.cancel();
                return true;
            }
            sleep(Duration::ZERO);
        }
        false
    })
}

#[test]
fn a_wait_survives_its_timeout_cancelled_after_expiry() {
    each_backend(|| {
        // sleep
        let canceller = cancelled_after_expiry();
        assert_eq!(try_sleep(ms(20)).map_err(|e| e.to_string()), Ok(()));
        assert!(canceller.get().unwrap());
        // join
        let target = spawn(|| sleep(ms(20)));
        let canceller = cancelled_after_expiry();
        assert_eq!(
            target.join_timeout(BOUND).map_err(|e| e.to_string()),
            Ok(true)
        );
        assert!(canceller.get().unwrap());
        let target = spawn(|| sleep(ms(20)));
        let canceller = cancelled_after_expiry();
        assert!(target.join().is_ok());
        assert!(target.dead());
        assert!(canceller.get().unwrap());
        // idle
        let canceller = cancelled_after_expiry();
        assert!(gevent::idle().is_ok());
        canceller.join().unwrap();
        // iwait
        let gs = [spawn(|| sleep(ms(20)))];
        let canceller = cancelled_after_expiry();
        let got: Vec<_> = gevent::iwait(&gs, Some(BOUND))
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(got, [Ok(0)]);
        assert!(canceller.get().unwrap());
    });
}
