//! The greenlet benchmark's figures on tokio's current_thread runtime.
//!
//! * `switch_ns`: two tasks ping-pong with `yield_now`; per yield.
//! * `spawn_join_ns`: `spawn` + await the `JoinHandle`, one at a time, 100k.
//! * `event_handoff_ns`: two tasks ping-pong through two `Notify`s; per hand-off.
//! * `timeout_enter_exit_ns`: a `tokio::time::sleep` registered (polled
//!   once) and dropped without firing: what a timeout costs when it does not fire.
//! * `rss_per_parked_greenlet_bytes`: RSS growth per task parked on a `Notify`, 100k.
//! * `max_live_greenlets`: parked tasks spawned up to 1,000,000.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use gevent_peer_benchmarks::{ns_per, report, rss_bytes, wanted};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Notify;

fn rt() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn switch_ns() -> f64 {
    const N: u64 = 1_000_000;
    rt().block_on(async {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let ping = || {
                tokio::spawn(async {
                    for _ in 0..N {
                        tokio::task::yield_now().await;
                    }
                })
            };
            let (a, b) = (ping(), ping());
            a.await.unwrap();
            b.await.unwrap();
            best = best.min(ns_per(t, 2 * N));
        }
        best
    })
}

fn spawn_join_ns() -> f64 {
    const N: u64 = 100_000;
    rt().block_on(async {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let mut sum = 0;
            for i in 0..N {
                sum += tokio::spawn(async move { i }).await.unwrap();
            }
            assert_eq!(sum, N * (N - 1) / 2);
            best = best.min(ns_per(t, N));
        }
        best
    })
}

fn event_handoff_ns() -> f64 {
    const N: u64 = 500_000;
    rt().block_on(async {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let ping = Arc::new(Notify::new());
            let pong = Arc::new(Notify::new());
            let (pi, po) = (ping.clone(), pong.clone());
            let echo = tokio::spawn(async move {
                for _ in 0..N {
                    pi.notified().await;
                    po.notify_one();
                }
            });
            let t = Instant::now();
            for _ in 0..N {
                ping.notify_one();
                pong.notified().await;
            }
            best = best.min(ns_per(t, 2 * N));
            echo.await.unwrap();
        }
        best
    })
}

fn timeout_enter_exit_ns() -> f64 {
    const N: u64 = 1_000_000;
    rt().block_on(async {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..N {
                let mut sleep = pin!(tokio::time::sleep(Duration::from_secs(10)));
                // Poll once: registers the timer, as arming a timeout does.
                std::future::poll_fn(|cx| {
                    let _ = sleep.as_mut().poll(cx);
                    Poll::Ready(())
                })
                .await;
            }
            best = best.min(ns_per(t, N));
        }
        best
    })
}

/// Spawns `n` tasks parked on `gate`; returns their handles once all parked.
async fn park_many(gate: &Arc<Notify>, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    let parked = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (g, p) = (gate.clone(), parked.clone());
            tokio::spawn(async move {
                let notified = g.notified();
                p.fetch_add(1, Ordering::Relaxed);
                notified.await;
            })
        })
        .collect();
    while parked.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
    // One more round so that every task has polled its `notified()`.
    tokio::task::yield_now().await;
    hs
}

fn rss_per_parked_greenlet_bytes() -> f64 {
    const N: usize = 100_000;
    rt().block_on(async {
        let gate = Arc::new(Notify::new());
        let before = rss_bytes();
        let hs = park_many(&gate, N).await;
        let after = rss_bytes();
        gate.notify_waiters();
        for h in hs {
            h.await.unwrap();
        }
        after.saturating_sub(before) as f64 / N as f64
    })
}

fn max_live_greenlets() -> f64 {
    const N: usize = 1_000_000;
    rt().block_on(async {
        let gate = Arc::new(Notify::new());
        let hs = park_many(&gate, N).await;
        let n = hs.len();
        gate.notify_waiters();
        for h in hs {
            h.await.unwrap();
        }
        n as f64
    })
}

fn main() {
    type Figure = (&'static str, &'static str, fn() -> f64);
    let figures: &[Figure] = &[
        ("switch_ns", "ns", switch_ns),
        ("spawn_join_ns", "ns", spawn_join_ns),
        ("event_handoff_ns", "ns", event_handoff_ns),
        ("timeout_enter_exit_ns", "ns", timeout_enter_exit_ns),
        (
            "rss_per_parked_greenlet_bytes",
            "bytes",
            rss_per_parked_greenlet_bytes,
        ),
        ("max_live_greenlets", "greenlets", max_live_greenlets),
    ];
    for &(name, unit, f) in figures {
        if wanted(name) {
            // A fresh thread per figure, like bench_greenlet.
            let v = std::thread::spawn(f).join().expect("figure panicked");
            report(name, v, unit);
        }
    }
}
