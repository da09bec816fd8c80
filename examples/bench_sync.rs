//! Micro-benchmarks of the synchronisation primitives and queues.
//!
//! ```text
//! cargo run --release --example bench_sync
//! ```
//!
//! Prints one `name value unit` line per figure (the best of a few runs):
//!
//! * `queue_put_get_ns`: two greenlets ping-pong through two bounded
//!   queues (maxsize 1); per put or get, switches included.
//! * `channel_handoff_ns`: a producer hands items to a consumer through a
//!   `Channel`; per item (a put and a get, a switch each way).
//! * `semaphore_acquire_release_ns`: uncontended acquire + guard drop.
//! * `event_handoff_ns`: two greenlets wake each other with two `Event`s;
//!   per wake-up (set, switch, wait returns, clear).

use std::hint::black_box;
use std::time::{Duration, Instant};

use gevent::queue::{Channel, Queue};
use gevent::{Event, Semaphore, spawn};

const RUNS: usize = 5;

/// Runs `f(n)` a few times; the best time per unit of work, in ns.
fn best(units_per_iter: u64, n: u64, mut f: impl FnMut(u64)) -> f64 {
    f(n / 10); // warm up (stacks, slabs)
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f(n);
            t.elapsed().as_nanos() as f64 / (n * units_per_iter) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn queue_put_get(n: u64) {
    let (ping, pong) = (Queue::bounded(1), Queue::bounded(1));
    let (p2, q2) = (ping.clone(), pong.clone());
    let echo = spawn(move || {
        for _ in 0..n {
            let v: u64 = p2.get().unwrap();
            q2.put(v).unwrap();
        }
    });
    for i in 0..n {
        ping.put(black_box(i)).unwrap();
        black_box(pong.get().unwrap());
    }
    echo.join().unwrap();
}

fn channel_handoff(n: u64) {
    let ch = Channel::new();
    let c2 = ch.clone();
    let producer = spawn(move || {
        for i in 0..n {
            c2.put(black_box(i)).unwrap();
        }
    });
    for _ in 0..n {
        black_box(ch.get().unwrap());
    }
    producer.join().unwrap();
}

fn semaphore_acquire_release(n: u64) {
    let sem = Semaphore::new(1);
    for _ in 0..n {
        drop(black_box(sem.acquire().unwrap()));
    }
}

fn event_handoff(n: u64) {
    let (a, b) = (Event::new(), Event::new());
    let (a2, b2) = (a.clone(), b.clone());
    let other = spawn(move || {
        for _ in 0..n {
            a2.wait().unwrap();
            a2.clear();
            b2.set();
        }
    });
    for _ in 0..n {
        a.set();
        b.wait().unwrap();
        b.clear();
    }
    other.join().unwrap();
}

fn yield_switch(n: u64) {
    let other = spawn(move || {
        for _ in 0..n {
            gevent::sleep(Duration::ZERO);
        }
    });
    for _ in 0..n {
        gevent::sleep(Duration::ZERO);
    }
    other.join().unwrap();
}

type Bench = (&'static str, u64, u64, fn(u64));

fn main() {
    // Optional arguments: a name filter and a scale for the iteration counts.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.first().cloned().unwrap_or_default();
    let scale: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let benches: [Bench; 5] = [
        ("queue_put_get_ns", 4, 200_000, queue_put_get),
        ("channel_handoff_ns", 1, 200_000, channel_handoff),
        (
            "semaphore_acquire_release_ns",
            1,
            5_000_000,
            semaphore_acquire_release,
        ),
        ("event_handoff_ns", 2, 200_000, event_handoff),
        // For reference: the scheduler's own cost of one greenlet switch.
        ("yield_switch_ns", 2, 200_000, yield_switch),
    ];
    for (name, units, n, f) in benches {
        if name.contains(&filter) {
            let n = ((n as f64 * scale) as u64).max(10);
            println!("{name} {:.1} ns", best(units, n, f));
        }
    }
    // Keep the hub from reporting LoopExit noise at exit.
    gevent::sleep(Duration::ZERO);
}
