//! The greenlet benchmark's figures on tokio's current_thread runtime.
//!
//! * `switch_ns`: two tasks ping-pong with `yield_now`; per yield.
//! * `spawn_join_ns`: `spawn` + await the `JoinHandle`, one at a time, 100k.
//! * `event_handoff_ns`: two tasks ping-pong through two `Notify`s; per hand-off.
//! * `timeout_enter_exit_ns`: a `tokio::time::sleep` registered (polled
//!   once) and dropped without firing: what a timeout costs when it does not fire.
//! * `rss_per_parked_greenlet_bytes`: RSS growth per task parked on a `Notify`, 100k.
//! * `max_live_greenlets`: parked tasks spawned up to 1,000,000.
//! * `rr_switch_1k_ns`, `rr_switch_10k_ns`, `rr_switch_100k_ns`: that many
//!   tasks ready at once, each looping `yield_now` until 4 million yields in
//!   total; per yield, timed from when all of them have started.
//!
//! Issue 4's figures (gevent's `bench_sync` and `bench_pool`):
//!
//! * `queue_put_get_ns`: two tasks ping-pong through two `mpsc::channel(1)`s
//!   (a bounded queue of one); per send or recv.
//! * `channel_handoff_ns`: rendezvous hand-off, per item. tokio has no
//!   zero-capacity channel, so this is an `mpsc::channel(1)` for the items
//!   plus a second `mpsc::channel(1)` carrying an ack back: the producer's
//!   "put" returns only once the consumer took the item, as with gevent's
//!   `Channel`.
//! * `semaphore_acquire_release_ns`: uncontended `Semaphore::acquire().await`
//!   + dropping the permit.
//! * `pool_map_per_item_ns`: 100k trivial items, a task each, at most 100 at
//!   once (an owned permit of a `Semaphore::new(100)` taken before each
//!   spawn into a `JoinSet`), results gathered in input order; per item.
//!   `pool_map_per_item_cpu_ns` is the same in thread CPU time.
//! * `threadpool_roundtrip_us`: `spawn_blocking` of a trivial closure from the
//!   current_thread runtime, awaited, one at a time; per round trip.
//! * `resolve_localhost_us`: `localhost` resolved as `tokio::net::lookup_host`
//!   does it (std's `to_socket_addrs` in `spawn_blocking`), one at a time;
//!   `resolve_blocking_us`: the same lookup called directly (blocking).
//!   Per lookup; `localhost` comes from /etc/hosts, so no network is used.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use gevent_peer_benchmarks::{ns_per, process_cpu, report, rss_bytes, thread_cpu, wanted};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

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

/// `n` tasks ready at once, each looping `yield_now`; ns per yield (wall
/// clock, returned; the process CPU time is reported as `*_cpu_ns`).
fn rr_switch(name: &str, n: u64) -> f64 {
    let iters = 4_000_000 / n;
    rt().block_on(async {
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..3 {
            let started = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let st = started.clone();
                    tokio::spawn(async move {
                        st.fetch_add(1, Ordering::Relaxed);
                        for _ in 0..iters {
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            while (started.load(Ordering::Relaxed) as u64) < n {
                tokio::task::yield_now().await;
            }
            let (t, c) = (Instant::now(), process_cpu());
            for h in hs {
                h.await.unwrap();
            }
            best = best.min(ns_per(t, n * iters));
            best_cpu = best_cpu.min((process_cpu() - c).as_nanos() as f64 / (n * iters) as f64);
        }
        report(
            &format!("{}_cpu_ns", name.trim_end_matches("_ns")),
            best_cpu,
            "ns",
        );
        best
    })
}

fn rr_switch_1k_ns() -> f64 {
    rr_switch("rr_switch_1k_ns", 1_000)
}

fn rr_switch_10k_ns() -> f64 {
    rr_switch("rr_switch_10k_ns", 10_000)
}

fn rr_switch_100k_ns() -> f64 {
    rr_switch("rr_switch_100k_ns", 100_000)
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

/// Runs the async benchmark `f(n)` once as a warm-up with `n / 10`, then
/// `runs` times with `n`; the lowest result.
fn best_async<F, Fut>(runs: usize, n: u64, f: F) -> f64
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = f64>,
{
    rt().block_on(async {
        f(n / 10).await;
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            best = best.min(f(n).await);
        }
        best
    })
}

async fn queue_put_get(n: u64) -> f64 {
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let t = Instant::now();
    let echo = tokio::spawn(async move {
        for _ in 0..n {
            let v = ping_rx.recv().await.unwrap();
            pong_tx.send(v).await.unwrap();
        }
    });
    for i in 0..n {
        ping_tx.send(black_box(i)).await.unwrap();
        black_box(pong_rx.recv().await.unwrap());
    }
    echo.await.unwrap();
    ns_per(t, 4 * n)
}

fn queue_put_get_ns() -> f64 {
    best_async(5, 200_000, queue_put_get)
}

async fn channel_handoff(n: u64) -> f64 {
    // Rendezvous emulated: item over a channel(1), ack back over another.
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    let (ack_tx, mut ack_rx) = mpsc::channel::<()>(1);
    let t = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(black_box(i)).await.unwrap();
            ack_rx.recv().await.unwrap();
        }
    });
    for _ in 0..n {
        black_box(rx.recv().await.unwrap());
        ack_tx.send(()).await.unwrap();
    }
    producer.await.unwrap();
    ns_per(t, n)
}

fn channel_handoff_ns() -> f64 {
    best_async(5, 200_000, channel_handoff)
}

async fn semaphore_acquire_release(n: u64) -> f64 {
    let sem = Semaphore::new(1);
    let t = Instant::now();
    for _ in 0..n {
        drop(black_box(sem.acquire().await.unwrap()));
    }
    ns_per(t, n)
}

fn semaphore_acquire_release_ns() -> f64 {
    best_async(5, 5_000_000, semaphore_acquire_release)
}

const POOL_ITEMS: u64 = 100_000;
const POOL_SIZE: usize = 100;

/// `items` trivial tasks, at most `POOL_SIZE` at once; results in input order.
async fn pool_map(items: u64) -> Vec<u64> {
    let sem = Arc::new(Semaphore::new(POOL_SIZE));
    let mut set = JoinSet::new();
    let mut out = vec![0u64; items as usize];
    let mut put = |r: Result<(u64, u64), tokio::task::JoinError>| {
        let (i, v) = r.unwrap();
        out[i as usize] = v;
    };
    for i in 0..items {
        let permit = sem.clone().acquire_owned().await.unwrap();
        set.spawn(async move {
            let _permit = permit;
            (i, i + 1)
        });
        while let Some(r) = set.try_join_next() {
            put(r);
        }
    }
    while let Some(r) = set.join_next().await {
        put(r);
    }
    out
}

/// (wall ns per item, thread CPU ns per item), each the best of 5.
fn pool_map_per_item() -> (f64, f64) {
    rt().block_on(async {
        pool_map(POOL_ITEMS / 10).await;
        let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            let (t, c) = (Instant::now(), thread_cpu());
            let v = pool_map(POOL_ITEMS).await;
            let (w, c) = (ns_per(t, POOL_ITEMS), (thread_cpu() - c).as_nanos() as f64);
            assert_eq!(v.len() as u64, POOL_ITEMS);
            assert_eq!(v[7], 8);
            wall = wall.min(w);
            cpu = cpu.min(c / POOL_ITEMS as f64);
        }
        (wall, cpu)
    })
}

async fn threadpool_roundtrip(n: u64) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        let v = tokio::task::spawn_blocking(move || i + 1).await.unwrap();
        assert_eq!(v, i + 1);
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn threadpool_roundtrip_us() -> f64 {
    best_async(3, 20_000, threadpool_roundtrip)
}

/// What `tokio::net::lookup_host` does (std's resolver on the blocking
/// pool), written out so that the benchmark needs no `net` feature.
async fn resolve_localhost(n: u64) -> f64 {
    use std::net::ToSocketAddrs;
    let t = Instant::now();
    for _ in 0..n {
        let a = tokio::task::spawn_blocking(|| ("localhost", 0).to_socket_addrs())
            .await
            .unwrap()
            .unwrap();
        assert!(a.count() > 0);
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn resolve_localhost_us() -> f64 {
    best_async(3, 2_000, resolve_localhost)
}

/// A blocking lookup on the calling thread: the reference both resolver
/// figures are compared with.
fn resolve_blocking_us() -> f64 {
    use std::net::ToSocketAddrs;
    const N: u32 = 2_000;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..N {
            assert!(("localhost", 0).to_socket_addrs().unwrap().count() > 0);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(N));
    }
    best
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
        ("rr_switch_1k_ns", "ns", rr_switch_1k_ns),
        ("rr_switch_10k_ns", "ns", rr_switch_10k_ns),
        ("rr_switch_100k_ns", "ns", rr_switch_100k_ns),
        ("queue_put_get_ns", "ns", queue_put_get_ns),
        ("channel_handoff_ns", "ns", channel_handoff_ns),
        (
            "semaphore_acquire_release_ns",
            "ns",
            semaphore_acquire_release_ns,
        ),
    ];
    for &(name, unit, f) in figures {
        if wanted(name) {
            // A fresh thread per figure, like bench_greenlet.
            let v = std::thread::spawn(f).join().expect("figure panicked");
            report(name, v, unit);
        }
    }
    let (wall, cpu) = ("pool_map_per_item_ns", "pool_map_per_item_cpu_ns");
    if wanted(wall) || wanted(cpu) {
        let (w, c) = std::thread::spawn(pool_map_per_item)
            .join()
            .expect("figure panicked");
        for (name, v) in [(wall, w), (cpu, c)] {
            if wanted(name) {
                report(name, v, "ns");
            }
        }
    }
    if wanted("threadpool_roundtrip_us") {
        let v = std::thread::spawn(threadpool_roundtrip_us)
            .join()
            .expect("figure panicked");
        report("threadpool_roundtrip_us", v, "us");
    }
    let resolve: &[Figure] = &[
        ("resolve_localhost_us", "us", resolve_localhost_us),
        ("resolve_blocking_us", "us", resolve_blocking_us),
    ];
    for &(name, unit, f) in resolve {
        if wanted(name) {
            let v = std::thread::spawn(f).join().expect("figure panicked");
            report(name, v, unit);
        }
    }
}
