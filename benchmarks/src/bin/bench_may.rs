//! The greenlet benchmark's figures on may with one worker thread
//! (`may::config().set_workers(1)`), its default stack size.
//!
//! * `switch_ns`: two coroutines ping-pong with `yield_now`; per yield.
//! * `spawn_join_ns`: spawn + join one coroutine at a time, 100k, from a coroutine.
//! * `event_handoff_ns`: two coroutines ping-pong through two `Semphore`s; per hand-off.
//! * `rr_switch_1k_ns`, `rr_switch_10k_ns`: that many coroutines ready at
//!   once, each looping `yield_now` until 4 million yields in total; per
//!   yield, timed from when all have started. No 100k figure: may's one
//!   mapping per stack runs out near 32k coroutines (see below).
//! * `max_live_greenlets`: parked coroutines (waiting on a `SyncFlag`)
//!   spawned up to 1,000,000. may maps one guarded stack per coroutine, so
//!   at the default `vm.max_map_count` it fails near 32k: the spawn that
//!   fails panics ("failed to alloc sys stack"). The figure runs in a child
//!   process that reports its progress, so the count survives even an abort.
//!
//! Issue 4's figures (gevent's `bench_sync` and `bench_pool`):
//!
//! * `queue_put_get_ns`: two coroutines ping-pong through two
//!   `may::sync::mpsc` channels; per send or recv. may 0.3 has no bounded
//!   channel (no `SyncSender`); in a strict ping-pong a queue never holds
//!   more than one item, so an unbounded channel behaves as a bounded
//!   queue of one would.
//! * `channel_handoff_ns`: rendezvous hand-off, per item. may has no
//!   zero-capacity channel, so this is an mpsc channel for the items plus a
//!   second one carrying an ack back (the producer's "put" returns only once
//!   the consumer took the item), like the tokio peer.
//! * `semaphore_acquire_release_ns`: uncontended `Semphore::wait` + `post`.
//! * `pool_map_per_item_ns`: 100k trivial items, a coroutine each, at most
//!   100 at once (a `Semphore::new(100)` waited on before each spawn and
//!   posted by the coroutine), results sent back over an mpsc channel and
//!   put in input order; per item. `pool_map_per_item_cpu_ns` is the same
//!   in the worker thread's CPU time.
//! * `threadpool_roundtrip_us`: may has no blocking-task pool, so this is
//!   one plain OS thread serving boxed closures over a may mpsc channel and
//!   answering over another; a coroutine sends a trivial closure and waits
//!   for its result, one at a time; per round trip.
//!
//! may has no equivalent of a cancellable timeout guard here and cannot
//! hold 100k parked coroutines at default settings, so
//! `timeout_enter_exit_ns` and `rss_per_parked_greenlet_bytes` are not measured.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use std::hint::black_box;

use gevent_peer_benchmarks::{best_of, ns_per, only, process_cpu, report, thread_cpu, wanted};
use may::sync::{Semphore, SyncFlag};

/// Runs `f` in a coroutine and waits for its result.
fn in_coroutine<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // SAFETY: the closure uses no thread-local storage of the main thread.
    let h = unsafe { may::coroutine::spawn(f) };
    h.join().expect("coroutine panicked")
}

fn switch_ns() -> f64 {
    const N: u64 = 1_000_000;
    best_of(3, || {
        let t = Instant::now();
        let ping = || {
            // SAFETY: the body only yields.
            unsafe {
                may::coroutine::spawn(|| {
                    for _ in 0..N {
                        may::coroutine::yield_now();
                    }
                })
            }
        };
        let (a, b) = (ping(), ping());
        a.join().unwrap();
        b.join().unwrap();
        ns_per(t, 2 * N)
    })
}

/// `n` coroutines ready at once, each looping `yield_now`; ns per yield
/// (wall clock, returned; the process CPU time is reported as `*_cpu_ns`).
/// Spawned and joined from this thread (as `switch_ns` does), which waits
/// for all of them to start before the clock starts.
fn rr_switch(name: &str, n: u64) -> f64 {
    let iters = 4_000_000 / n;
    let mut best_cpu = f64::INFINITY;
    let wall = best_of(3, || {
        let started = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let st = started.clone();
                // SAFETY: the body only counts and yields.
                unsafe {
                    may::coroutine::spawn(move || {
                        st.fetch_add(1, Ordering::Relaxed);
                        for _ in 0..iters {
                            may::coroutine::yield_now();
                        }
                    })
                }
            })
            .collect();
        while (started.load(Ordering::Relaxed) as u64) < n {
            std::thread::yield_now();
        }
        let (t, c) = (Instant::now(), process_cpu());
        for h in hs {
            h.join().unwrap();
        }
        best_cpu = best_cpu.min((process_cpu() - c).as_nanos() as f64 / (n * iters) as f64);
        ns_per(t, n * iters)
    });
    report(
        &format!("{}_cpu_ns", name.trim_end_matches("_ns")),
        best_cpu,
        "ns",
    );
    wall
}

fn rr_switch_1k_ns() -> f64 {
    rr_switch("rr_switch_1k_ns", 1_000)
}

fn rr_switch_10k_ns() -> f64 {
    rr_switch("rr_switch_10k_ns", 10_000)
}

fn spawn_join_ns() -> f64 {
    const N: u64 = 100_000;
    in_coroutine(|| {
        best_of(3, || {
            let t = Instant::now();
            let mut sum = 0;
            for i in 0..N {
                // SAFETY: the body uses no thread-local storage.
                let h = unsafe { may::coroutine::spawn(move || i) };
                sum += h.join().unwrap();
            }
            assert_eq!(sum, N * (N - 1) / 2);
            ns_per(t, N)
        })
    })
}

fn event_handoff_ns() -> f64 {
    const N: u64 = 500_000;
    in_coroutine(|| {
        best_of(3, || {
            let ping = Arc::new(Semphore::new(0));
            let pong = Arc::new(Semphore::new(0));
            let (pi, po) = (ping.clone(), pong.clone());
            // SAFETY: the body uses no thread-local storage.
            let echo = unsafe {
                may::coroutine::spawn(move || {
                    for _ in 0..N {
                        pi.wait();
                        po.post();
                    }
                })
            };
            let t = Instant::now();
            for _ in 0..N {
                ping.post();
                pong.wait();
            }
            let ns = ns_per(t, 2 * N);
            echo.join().unwrap();
            ns
        })
    })
}

/// The child side of `max_live_greenlets`: spawns parked coroutines and
/// prints `live N` as they park, then the final count.
fn max_live_child() {
    const LIMIT: usize = 1_000_000;
    let gate = Arc::new(SyncFlag::new());
    let parked = Arc::new(AtomicUsize::new(0));
    let mut spawned = 0;
    let mut hs = Vec::new();
    while spawned < LIMIT {
        let (g, p) = (gate.clone(), parked.clone());
        // SAFETY: the body uses no thread-local storage.
        let r = std::panic::catch_unwind(move || unsafe {
            may::coroutine::spawn(move || {
                p.fetch_add(1, Ordering::Relaxed);
                g.wait();
            })
        });
        match r {
            Ok(h) => hs.push(h),
            Err(_) => break,
        }
        spawned += 1;
        if spawned % 100 == 0 {
            while parked.load(Ordering::Relaxed) < spawned {
                std::thread::yield_now();
            }
            println!("live {spawned}");
        }
    }
    while parked.load(Ordering::Relaxed) < spawned {
        std::thread::yield_now();
    }
    println!("live {spawned}");
    println!("done {spawned}");
    // Releasing and joining a million coroutines is not part of the figure.
    std::process::exit(0);
}

fn max_live_greenlets() -> f64 {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .arg("max_live_child")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the max_live child");
    // Read its progress on another thread: when the child hits the mapping
    // limit, even malloc fails and the child can hang in the allocation
    // error hook, so a child silent for STALL is killed.
    const STALL: Duration = Duration::from_secs(5);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut last = 0usize;
    let mut how = "finished";
    loop {
        match rx.recv_timeout(STALL) {
            Ok(line) => {
                if let Some(n) = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()) {
                    last = n;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                how = "hung (killed)";
                let _ = child.kill();
                break;
            }
        }
    }
    let out = child.wait_with_output().expect("wait for the child");
    let err = String::from_utf8_lossy(&out.stderr);
    let why = err
        .lines()
        .find(|l| l.contains("alloc") || l.contains("panicked") || l.contains("memory"))
        .unwrap_or("");
    eprintln!(
        "may max_live: {how} at {last} live coroutines, {:?} {why}",
        out.status
    );
    last as f64
}

/// Runs `f(n)` in a coroutine once as a warm-up with `n / 10`, then `runs`
/// times with `n`; the lowest result.
fn best_in_coroutine(runs: usize, n: u64, f: fn(u64) -> f64) -> f64 {
    in_coroutine(move || {
        f(n / 10);
        best_of(runs, || f(n))
    })
}

fn queue_put_get(n: u64) -> f64 {
    let (ping_tx, ping_rx) = may::sync::mpsc::channel::<u64>();
    let (pong_tx, pong_rx) = may::sync::mpsc::channel::<u64>();
    let t = Instant::now();
    // SAFETY: the body uses no thread-local storage.
    let echo = unsafe {
        may::coroutine::spawn(move || {
            for _ in 0..n {
                let v = ping_rx.recv().unwrap();
                pong_tx.send(v).unwrap();
            }
        })
    };
    for i in 0..n {
        ping_tx.send(black_box(i)).unwrap();
        black_box(pong_rx.recv().unwrap());
    }
    echo.join().unwrap();
    ns_per(t, 4 * n)
}

fn queue_put_get_ns() -> f64 {
    best_in_coroutine(5, 200_000, queue_put_get)
}

fn channel_handoff(n: u64) -> f64 {
    // Rendezvous emulated: the item over one channel, an ack back over another.
    let (tx, rx) = may::sync::mpsc::channel::<u64>();
    let (ack_tx, ack_rx) = may::sync::mpsc::channel::<()>();
    let t = Instant::now();
    // SAFETY: the body uses no thread-local storage.
    let producer = unsafe {
        may::coroutine::spawn(move || {
            for i in 0..n {
                tx.send(black_box(i)).unwrap();
                ack_rx.recv().unwrap();
            }
        })
    };
    for _ in 0..n {
        black_box(rx.recv().unwrap());
        ack_tx.send(()).unwrap();
    }
    producer.join().unwrap();
    ns_per(t, n)
}

fn channel_handoff_ns() -> f64 {
    best_in_coroutine(5, 200_000, channel_handoff)
}

fn semaphore_acquire_release(n: u64) -> f64 {
    let sem = Semphore::new(1);
    let t = Instant::now();
    for _ in 0..n {
        black_box(&sem).wait();
        sem.post();
    }
    ns_per(t, n)
}

fn semaphore_acquire_release_ns() -> f64 {
    best_in_coroutine(5, 5_000_000, semaphore_acquire_release)
}

const POOL_ITEMS: u64 = 100_000;
const POOL_SIZE: usize = 100;

/// `items` trivial coroutines, at most `POOL_SIZE` at once; results in
/// input order. Runs in a coroutine.
fn pool_map(items: u64) -> Vec<u64> {
    let sem = Arc::new(Semphore::new(POOL_SIZE));
    let (tx, rx) = may::sync::mpsc::channel::<(u64, u64)>();
    for i in 0..items {
        sem.wait();
        let (s, tx) = (sem.clone(), tx.clone());
        // SAFETY: the body uses no thread-local storage. The handle is
        // dropped: the coroutine runs detached and reports over `tx`.
        drop(unsafe {
            may::coroutine::spawn(move || {
                tx.send((i, i + 1)).unwrap();
                s.post();
            })
        });
    }
    drop(tx);
    let mut out = vec![0u64; items as usize];
    for (i, v) in rx.iter() {
        out[i as usize] = v;
    }
    out
}

/// (wall ns per item, worker CPU ns per item), each the best of 5.
fn pool_map_per_item() -> (f64, f64) {
    in_coroutine(|| {
        pool_map(POOL_ITEMS / 10);
        let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            // With one worker, every coroutine runs on this thread.
            let (t, c) = (Instant::now(), thread_cpu());
            let v = pool_map(POOL_ITEMS);
            let (w, c) = (ns_per(t, POOL_ITEMS), (thread_cpu() - c).as_nanos() as f64);
            assert_eq!(v.len() as u64, POOL_ITEMS);
            assert_eq!(v[7], 8);
            wall = wall.min(w);
            cpu = cpu.min(c / POOL_ITEMS as f64);
        }
        (wall, cpu)
    })
}

type Job = Box<dyn FnOnce() -> u64 + Send>;

fn threadpool_roundtrip_us() -> f64 {
    const N: u64 = 20_000;
    let (job_tx, job_rx) = may::sync::mpsc::channel::<Job>();
    let (res_tx, res_rx) = may::sync::mpsc::channel::<u64>();
    // The "pool": one OS thread; may's channels block a plain thread too.
    let worker = std::thread::spawn(move || {
        for job in job_rx.iter() {
            if res_tx.send(job()).is_err() {
                break;
            }
        }
    });
    let us = in_coroutine(move || {
        let round = |n: u64| {
            let t = Instant::now();
            for i in 0..n {
                job_tx.send(Box::new(move || i + 1)).unwrap();
                assert_eq!(res_rx.recv().unwrap(), i + 1);
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        };
        round(N / 10);
        best_of(3, || round(N))
    });
    worker.join().unwrap();
    us
}

fn main() {
    may::config().set_workers(1);
    if only().as_deref() == Some("max_live_child") {
        max_live_child();
        return;
    }
    type Figure = (&'static str, &'static str, fn() -> f64);
    let figures: &[Figure] = &[
        ("switch_ns", "ns", switch_ns),
        ("spawn_join_ns", "ns", spawn_join_ns),
        ("event_handoff_ns", "ns", event_handoff_ns),
        ("max_live_greenlets", "greenlets", max_live_greenlets),
        ("rr_switch_1k_ns", "ns", rr_switch_1k_ns),
        ("rr_switch_10k_ns", "ns", rr_switch_10k_ns),
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
            report(name, f(), unit);
        }
    }
    let (wall, cpu) = ("pool_map_per_item_ns", "pool_map_per_item_cpu_ns");
    if wanted(wall) || wanted(cpu) {
        let (w, c) = pool_map_per_item();
        for (name, v) in [(wall, w), (cpu, c)] {
            if wanted(name) {
                report(name, v, "ns");
            }
        }
    }
    if wanted("threadpool_roundtrip_us") {
        report("threadpool_roundtrip_us", threadpool_roundtrip_us(), "us");
    }
}
