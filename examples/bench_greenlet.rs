//! Greenlet benchmark: prints one `name value unit` line per figure.
//!
//! ```text
//! cargo run --release --example bench_greenlet            # every figure
//! cargo run --release --example bench_greenlet switch_ns  # one figure
//! ```
//!
//! Figures (each measured on a fresh OS thread, so with a fresh hub and a
//! fresh stack pool):
//!
//! * `switch_ns`: two greenlets ping-pong with `sleep(0)`; time per `sleep(0)`.
//! * `spawn_join_ns`: spawn, run and join one greenlet at a time, 100k; per greenlet.
//! * `event_handoff_ns`: one greenlet wakes another that is parked on a
//!   `gevent::Event`: two greenlets ping-pong through two Events (set, the
//!   other's wait returns, clear); per hand-off. The peers in `benchmarks/`
//!   do the same with tokio's `Notify` and may's `Semphore`.
//! * `timeout_enter_exit_ns`: `Timeout::new` + drop without firing.
//! * `rss_per_parked_greenlet_bytes`: RSS growth (from `/proc/self/statm`)
//!   per parked greenlet, 100k parked.
//! * `max_live_greenlets`: parked greenlets spawned until 1,000,000 or the
//!   first failure; the count reached.
//!
//! This is a benchmark, not a test: numbers vary with the machine and load.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::{Event, Greenlet, Timeout, joinall, sleep, spawn};

const FOREVER: Duration = Duration::from_secs(3600);

/// Best of `runs` measurements of `f` (each returns ns per operation).
fn best_of(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn switch_ns() -> f64 {
    const ROUNDS: u64 = 1_000_000;
    let ping = || {
        spawn(|| {
            for _ in 0..ROUNDS {
                sleep(Duration::ZERO);
            }
        })
    };
    // Warm up the stack pool and the hub.
    joinall(&[ping(), ping()], None).unwrap();
    best_of(3, || {
        let t = Instant::now();
        let (a, b) = (ping(), ping());
        joinall(&[a, b], None).unwrap();
        t.elapsed().as_nanos() as f64 / (2 * ROUNDS) as f64
    })
}

fn spawn_join_ns() -> f64 {
    const N: u64 = 100_000;
    for i in 0..1000 {
        spawn(move || i).join().unwrap();
    }
    best_of(3, || {
        let t = Instant::now();
        let mut sum = 0u64;
        for i in 0..N {
            let g = spawn(move || i);
            g.join().unwrap();
            sum += g.value().unwrap();
        }
        assert_eq!(sum, N * (N - 1) / 2);
        t.elapsed().as_nanos() as f64 / N as f64
    })
}

fn event_handoff_ns() -> f64 {
    const N: u64 = 500_000;
    let round = |n: u64| {
        let (ping, pong) = (Event::new(), Event::new());
        let (pi, po) = (ping.clone(), pong.clone());
        let echo = spawn(move || {
            for _ in 0..n {
                pi.wait().unwrap();
                pi.clear();
                po.set();
            }
        });
        let t = Instant::now();
        for _ in 0..n {
            ping.set();
            pong.wait().unwrap();
            pong.clear();
        }
        let ns = t.elapsed().as_nanos() as f64 / (2 * n) as f64;
        echo.join().unwrap();
        ns
    };
    round(N / 10); // warm up
    best_of(3, || round(N))
}

fn timeout_enter_exit_ns() -> f64 {
    const N: u64 = 1_000_000;
    best_of(3, || {
        let t = Instant::now();
        for _ in 0..N {
            let g = Timeout::new(Some(Duration::from_secs(10)));
            std::hint::black_box(&g);
            drop(g);
        }
        t.elapsed().as_nanos() as f64 / N as f64
    })
}

/// Resident set size in bytes, from `/proc/self/statm`.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}

/// Spawns greenlets that park (joining `gate`) until `limit` are live or
/// one fails to start; returns the handles and how many parked.
fn park_many(gate: &Greenlet<()>, limit: usize, batch: usize) -> (Vec<Greenlet<()>>, usize) {
    let parked = Rc::new(Cell::new(0usize));
    let mut gs = Vec::with_capacity(limit);
    while gs.len() < limit {
        let n = batch.min(limit - gs.len());
        let first = gs.len();
        for _ in 0..n {
            let (g, p) = (gate.clone(), parked.clone());
            gs.push(spawn(move || {
                p.set(p.get() + 1);
                let _ = g.join();
            }));
        }
        sleep(Duration::ZERO); // start them: each parks in its join
        if gs[first..].iter().any(|g| g.dead()) {
            // A stack could not be allocated: report it and stop here.
            if let Some(e) = gs[first..].iter().find_map(|g| g.error()) {
                eprintln!("max_live_greenlets: stopped at {}: {e}", parked.get());
            }
            break;
        }
    }
    let n = parked.get();
    (gs, n)
}

fn rss_per_parked_greenlet_bytes() -> f64 {
    const N: usize = 100_000;
    let gate = spawn(|| sleep(FOREVER));
    sleep(Duration::ZERO);
    let before = rss_bytes();
    let (gs, parked) = park_many(&gate, N, N);
    let after = rss_bytes();
    assert_eq!(parked, N);
    gate.kill().unwrap();
    joinall(&gs, None).unwrap();
    (after.saturating_sub(before)) as f64 / N as f64
}

fn max_live_greenlets() -> f64 {
    const LIMIT: usize = 1_000_000;
    let gate = spawn(|| sleep(FOREVER));
    let (gs, parked) = park_many(&gate, LIMIT, 50_000);
    gate.kill().unwrap();
    joinall(&gs, None).unwrap();
    parked as f64
}

type Figure = (&'static str, &'static str, fn() -> f64);

const FIGURES: &[Figure] = &[
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

fn main() {
    let only = std::env::args().nth(1);
    if let Some(name) = &only {
        if !FIGURES.iter().any(|f| f.0 == name) {
            let names: Vec<_> = FIGURES.iter().map(|f| f.0).collect();
            eprintln!("unknown figure {name:?}; one of: {}", names.join(", "));
            std::process::exit(2);
        }
    }
    for &(name, unit, f) in FIGURES {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        // A fresh thread: a fresh hub and stack pool for every figure.
        let v = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .expect("spawn a benchmark thread")
            .join()
            .expect("benchmark thread panicked");
        if unit == "ns" {
            println!("{name} {v:.1} {unit}");
        } else {
            println!("{name} {v:.0} {unit}");
        }
    }
}
