//! Async interop: `block_on` from greenlets (wakes from every direction,
//! interruption, panics, many at once), greenlets as futures, `run_async`.
//! Every test runs on every backend (`each_backend`).

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gevent::{Error, Timeout, block_on, run_async, spawn};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(10);

/// A future that is pending until `flag` is set, counting its polls, and
/// recording in `dropped` that it was dropped.
struct Flagged {
    flag: Arc<Mutex<(bool, Option<Waker>)>>,
    polls: Rc<Cell<usize>>,
    dropped: Rc<Cell<bool>>,
}

impl Future for Flagged {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.set(self.polls.get() + 1);
        let mut g = self.flag.lock().unwrap();
        if g.0 {
            Poll::Ready(self.polls.get())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Flagged {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

type Flag = Arc<Mutex<(bool, Option<Waker>)>>;

fn flagged() -> (Flag, Flagged, Rc<Cell<usize>>, Rc<Cell<bool>>) {
    let flag: Flag = Arc::default();
    let polls = Rc::new(Cell::new(0));
    let dropped = Rc::new(Cell::new(false));
    let f = Flagged {
        flag: flag.clone(),
        polls: polls.clone(),
        dropped: dropped.clone(),
    };
    (flag, f, polls, dropped)
}

fn set_and_wake(flag: &Flag) {
    let w = {
        let mut g = flag.lock().unwrap();
        g.0 = true;
        g.1.take()
    };
    if let Some(w) = w {
        w.wake();
    }
}

#[test]
fn ready_future_returns_at_once() {
    each_backend(|| {
        assert_eq!(block_on(async { 5 }).unwrap(), 5);
        assert_eq!(block_on(std::future::ready("x")).unwrap(), "x");
    });
}

#[test]
fn woken_from_another_thread_while_other_greenlets_run() {
    each_backend(|| {
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = spawn(move || {
            loop {
                t.set(t.get() + 1);
                gevent::sleep(Duration::from_millis(1));
            }
        });
        let (tx, rx) = futures_channel::oneshot::channel::<String>();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            tx.send("from a thread".to_string()).unwrap();
        });
        let v = block_on(rx).unwrap().unwrap();
        assert_eq!(v, "from a thread");
        th.join().unwrap();
        // The hub kept running the ticker while this greenlet waited.
        assert!(ticks.get() > 1, "ticks: {}", ticks.get());
        ticker.kill().unwrap();
    });
}

#[test]
fn main_greenlet_waiting_only_for_a_thread_does_not_get_loop_exit() {
    each_backend(|| {
        let (tx, rx) = async_channel::bounded::<u32>(1);
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send_blocking(9).unwrap();
        });
        assert_eq!(block_on(rx.recv()).unwrap().unwrap(), 9);
        th.join().unwrap();
    });
}

#[test]
fn woken_from_another_greenlet_on_the_same_thread() {
    each_backend(|| {
        let (tx, rx) = futures_channel::oneshot::channel::<u8>();
        let sender = spawn(move || {
            gevent::sleep(Duration::from_millis(5));
            tx.send(3).unwrap();
        });
        assert_eq!(block_on(rx).unwrap().unwrap(), 3);
        sender.join().unwrap();
        // async-channel between greenlets, both directions.
        let (a_tx, a_rx) = async_channel::unbounded::<u32>();
        let (b_tx, b_rx) = async_channel::unbounded::<u32>();
        let echo = spawn(move || {
            while let Ok(Ok(v)) = block_on(a_rx.recv()) {
                block_on(b_tx.send(v * 2)).unwrap().unwrap();
            }
        });
        for i in 0..50 {
            block_on(a_tx.send(i)).unwrap().unwrap();
            assert_eq!(block_on(b_rx.recv()).unwrap().unwrap(), i * 2);
        }
        drop(a_tx);
        echo.join().unwrap();
        assert!(echo.successful());
    });
}

#[test]
fn wake_by_ref_during_poll_polls_again_and_lets_others_run() {
    each_backend(|| {
        let other_ran = Rc::new(Cell::new(0u32));
        let o = other_ran.clone();
        let other = spawn(move || {
            loop {
                o.set(o.get() + 1);
                gevent::sleep(Duration::ZERO);
            }
        });
        let mut polls = 0;
        let v = block_on(std::future::poll_fn(|cx| {
            polls += 1;
            if polls < 5 {
                // A cooperative yield: wake ourselves, report pending.
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(polls)
            }
        }))
        .unwrap();
        assert_eq!(v, 5);
        assert!(other_ran.get() >= 3, "other ran {} times", other_ran.get());
        other.kill().unwrap();
    });
}

#[test]
fn spurious_wakes_are_harmless_and_a_wake_before_the_park_is_kept() {
    each_backend(|| {
        let (flag, fut, polls, _) = flagged();
        let f2 = flag.clone();
        // Another thread wakes repeatedly without making it ready, then
        // makes it ready.
        let th = std::thread::spawn(move || {
            let start = Instant::now();
            let mut n = 0;
            while n < 200 && start.elapsed() < LONG {
                let w = f2.lock().unwrap().1.clone();
                if let Some(w) = w {
                    w.wake_by_ref();
                    w.wake();
                    n += 1;
                }
                std::thread::yield_now();
            }
            set_and_wake(&f2);
        });
        // Greenlets on this thread wake it spuriously too.
        let f3 = flag.clone();
        let local = spawn(move || {
            for _ in 0..100 {
                let w = f3.lock().unwrap().1.clone();
                if let Some(w) = w {
                    w.wake_by_ref();
                }
                gevent::sleep(Duration::ZERO);
            }
        });
        let n = block_on(fut).unwrap();
        th.join().unwrap();
        local.join().unwrap();
        assert!(n >= 2 && n == polls.get());

        // A wake that arrives before the first park (here: the future is
        // made ready and woken while it is being polled for the first
        // time, after it registered its waker) is not lost.
        let (flag, fut, _, _) = flagged();
        let wrapped = WakeAfterFirstPoll {
            inner: fut,
            flag,
            first: true,
        };
        assert!(block_on(wrapped).unwrap() >= 2);
    });
}

/// Polls `inner`; after its first (pending) poll, makes it ready from
/// another thread and waits for that thread before returning `Pending`.
struct WakeAfterFirstPoll {
    inner: Flagged,
    flag: Flag,
    first: bool,
}

impl Future for WakeAfterFirstPoll {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let r = Pin::new(&mut self.inner).poll(cx);
        if self.first {
            self.first = false;
            let f = self.flag.clone();
            std::thread::spawn(move || set_and_wake(&f)).join().unwrap();
        }
        r
    }
}

#[test]
fn a_panicking_future_fails_the_greenlet() {
    each_backend(|| {
        let g = spawn(|| {
            block_on(async {
                gevent::sleep(Duration::from_millis(1));
                panic!("future went wrong")
            })
        });
        match g.join().and_then(|_| g.error().map_or(Ok(()), Err)) {
            Err(Error::Panicked(m)) => assert!(m.contains("future went wrong"), "{m}"),
            other => panic!("expected a panic failure, got {other:?}"),
        }
    });
}

#[test]
fn kill_during_block_on_drops_the_future() {
    each_backend(|| {
        let (_flag, fut, _, dropped) = flagged();
        let d = dropped.clone();
        let started = Rc::new(Cell::new(false));
        let s = started.clone();
        let g = spawn(move || {
            s.set(true);
            let r = block_on(fut);
            unreachable!("block_on returned {r:?} after a kill");
        });
        assert!(gutil::yield_until(100, || started.get()));
        gevent::sleep(Duration::from_millis(2));
        assert!(!d.get());
        g.kill().unwrap();
        assert!(g.dead());
        assert!(dropped.get(), "the future was not dropped");
        assert!(matches!(g.error(), Some(Error::GreenletExit)) || g.error().is_none());
    });
}

#[test]
fn timeout_during_block_on_drops_the_future() {
    each_backend(|| {
        // A future never completed, with a waker held by another thread
        // that wakes it late (after the timeout): the late wake is harmless.
        let (flag, fut, _, dropped) = flagged();
        let r = gevent::with_timeout(Duration::from_millis(20), || block_on(fut));
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        assert!(dropped.get());
        set_and_wake(&flag);
        gevent::sleep(Duration::from_millis(2));

        // A Timeout object around a block_on that completes in time.
        let t = Timeout::new(Some(LONG));
        let (tx, rx) = futures_channel::oneshot::channel();
        std::thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(rx).unwrap().unwrap(), 1);
        t.cancel();
    });
}

#[test]
fn many_greenlets_blocked_on_many_futures() {
    each_backend(|| {
        const N: usize = 200;
        let mut senders = Vec::new();
        let mut gs = Vec::new();
        for i in 0..N {
            let (tx, rx) = futures_channel::oneshot::channel::<usize>();
            senders.push(tx);
            gs.push(spawn(move || block_on(rx).unwrap().unwrap() + i));
        }
        gevent::sleep(Duration::from_millis(1));
        // Half completed from other threads, half from this one.
        let remote: Vec<_> = senders.drain(..N / 2).collect();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let th = std::thread::spawn(move || {
            for (i, tx) in remote.into_iter().enumerate() {
                tx.send(i).unwrap();
                d.fetch_add(1, Ordering::SeqCst);
            }
        });
        for (i, tx) in senders.into_iter().enumerate() {
            tx.send(N / 2 + i).unwrap();
        }
        gevent::joinall(&gs, Some(LONG)).unwrap();
        th.join().unwrap();
        for (i, g) in gs.iter().enumerate() {
            assert_eq!(g.value(), Some(2 * i));
        }
        assert_eq!(done.load(Ordering::SeqCst), N / 2);
    });
}

#[test]
fn a_greenlet_is_a_future() {
    each_backend(|| {
        let g = spawn(|| {
            gevent::sleep(Duration::from_millis(3));
            vec![1, 2, 3]
        });
        assert_eq!(block_on(g.into_future()).unwrap().unwrap(), vec![1, 2, 3]);
        // A failed greenlet's failure comes out of the future.
        let bad = spawn(|| -> u8 { panic!("nope") });
        let r = run_async(async { (&bad).await }).unwrap();
        assert!(matches!(r, Err(Error::Panicked(m)) if m.contains("nope")));
        // A hand-rolled executor that sleeps cooperatively between polls.
        let g = spawn(|| {
            gevent::sleep(Duration::from_millis(2));
            7u8
        });
        let mut fut = std::pin::pin!(g.into_future());
        let woken = Arc::new(AtomicBool::new(false));
        let waker = Waker::from(Arc::new(FlagWaker(woken.clone())));
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // The greenlet's death wakes the executor's waker.
        let start = Instant::now();
        while !woken.load(Ordering::SeqCst) {
            assert!(start.elapsed() < LONG, "never woken");
            gevent::sleep(Duration::from_millis(1));
        }
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => assert_eq!(v.unwrap(), 7),
            Poll::Pending => panic!("woken but not ready"),
        }
        // A dropped pending future unlinks itself; the greenlet is unaffected.
        let g = spawn(|| 1);
        drop(g.clone().into_future());
        assert_eq!(g.get().unwrap(), 1);
    });
}

struct FlagWaker(Arc<AtomicBool>);
impl std::task::Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn run_async_mixes_async_and_greenlets() {
    each_backend(|| {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let l = log.clone();
        let (tx, rx) = async_channel::unbounded::<u32>();
        // A greenlet that feeds the async side while it runs.
        let producer = spawn(move || {
            for i in 0..5 {
                gevent::sleep(Duration::from_millis(1));
                tx.send_blocking(i).unwrap();
            }
        });
        let total = run_async(async move {
            let mut sum = 0;
            while let Ok(v) = rx.recv().await {
                l.borrow_mut().push(format!("got {v}"));
                sum += v;
            }
            let helper = spawn(|| 100u32);
            sum + helper.await.unwrap()
        })
        .unwrap();
        assert_eq!(total, 110);
        assert_eq!(log.borrow().len(), 5);
        assert!(producer.dead());
    });
}

#[test]
fn block_on_in_the_hub_or_while_unwinding_is_an_error() {
    each_backend(|| {
        let got = Rc::new(Cell::new(None));
        let g2 = got.clone();
        gevent::get_hub().run_callback(move || {
            let polled = Cell::new(false);
            let r = block_on(async { polled.set(true) });
            g2.set(Some((matches!(r, Err(Error::BlockingInHub)), polled.get())));
        });
        assert!(gutil::yield_until(100, || got.get().is_some()));
        assert_eq!(got.get(), Some((true, false)));

        struct BlockInDrop(Rc<Cell<Option<bool>>>);
        impl Drop for BlockInDrop {
            fn drop(&mut self) {
                let r = block_on(std::future::pending::<()>());
                self.0.set(Some(matches!(r, Err(Error::Unwinding))));
            }
        }
        let seen = Rc::new(Cell::new(None));
        let s = seen.clone();
        let g = spawn(move || {
            let _b = BlockInDrop(s);
            panic!("unwind through block_on");
        });
        let _ = g.join();
        assert_eq!(seen.get(), Some(true));
    });
}
