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
//! * `rr_switch_1k_ns`, `rr_switch_10k_ns`, `rr_switch_100k_ns`: 1,000,
//!   10,000 or 100,000 greenlets all ready at once, each looping `sleep(0)`
//!   until 4 million switches in total (round robin: every switch lands on
//!   another stack); per switch, timed from when all of them have started.
//!   The peers in `benchmarks/` run the same loop. Each also prints a
//!   `rr_switch_*_cpu_ns` line: the same runs in process CPU time, which a
//!   loaded machine disturbs far less than the wall clock.
//! * `io_wake_10k_ns`: 10,000 socketpairs (fewer if `RLIMIT_NOFILE`'s hard
//!   limit is lower: the count is printed on stderr), a greenlet reading
//!   one byte at a time from each; per round the main greenlet writes one
//!   byte to every pair and waits until every reader got its byte; per
//!   byte received (write, poll, wake-up, switch and read).
//!
//! This is a benchmark, not a test: numbers vary with the machine and load.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::{Event, Greenlet, Timeout, joinall, sleep, spawn};
use std::io::{Read, Write};

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

/// Switches measured by each `rr_switch_*` figure, in total.
const RR_SWITCHES: u64 = 4_000_000;

/// CPU time of the whole process so far, in ns.
fn process_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// `n` greenlets ready at once, each looping `sleep(0)`; ns per switch
/// (wall clock, returned), and prints the CPU-time companion figure.
fn rr_switch(name: &str, n: u64) -> f64 {
    let iters = RR_SWITCHES / n;
    let round = |iters: u64| {
        let started = Rc::new(Cell::new(0u64));
        let gs: Vec<Greenlet<()>> = (0..n)
            .map(|_| {
                let st = started.clone();
                spawn(move || {
                    st.set(st.get() + 1);
                    for _ in 0..iters {
                        sleep(Duration::ZERO);
                    }
                })
            })
            .collect();
        // Let every greenlet start (and park in its first sleep(0)).
        while started.get() < n {
            sleep(Duration::ZERO);
        }
        let (t, c) = (Instant::now(), process_cpu_ns());
        joinall(&gs, None).unwrap();
        let ops = (n * iters) as f64;
        (
            t.elapsed().as_nanos() as f64 / ops,
            (process_cpu_ns() - c) / ops,
        )
    };
    round(iters.min(4)); // warm up the stack pool
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        let (w, c) = round(iters);
        wall = wall.min(w);
        cpu = cpu.min(c);
    }
    println!("{}_cpu_ns {cpu:.1} ns", name.trim_end_matches("_ns"));
    wall
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

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limit.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit write or read one plain struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
            }
        }
        r.rlim_cur
    }
}

fn io_wake_10k_ns() -> f64 {
    const WANT: u64 = 10_000;
    const ROUNDS: u64 = 20;
    // Two descriptors per pair, plus a margin for the loop and stdio.
    let n = WANT.min(raise_nofile().saturating_sub(64) / 2);
    if n < WANT {
        eprintln!("io_wake_10k_ns: RLIMIT_NOFILE allows {n} socketpairs only");
    }
    let received = Rc::new(Cell::new(0u64));
    let all_in = Event::new();
    let mut writers = Vec::with_capacity(n as usize);
    let mut readers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (w, mut r) = gevent::net::socketpair().expect("socketpair");
        writers.push(w);
        let (got, done) = (received.clone(), all_in.clone());
        readers.push(spawn(move || {
            let mut b = [0u8; 1];
            while r.read(&mut b).map(|k| k == 1).unwrap_or(false) {
                got.set(got.get() + 1);
                if got.get() == n {
                    done.set();
                }
            }
        }));
    }
    let mut round = |rounds: u64| {
        let t = Instant::now();
        for _ in 0..rounds {
            received.set(0);
            all_in.clear();
            for w in &mut writers {
                w.write_all(b"x").expect("write a byte");
            }
            all_in.wait().unwrap();
        }
        t.elapsed().as_nanos() as f64 / (n * rounds) as f64
    };
    round(2); // warm up: every reader started and parked
    let ns = best_of(3, || round(ROUNDS));
    drop(writers); // each reader sees EOF and ends
    joinall(&readers, None).unwrap();
    ns
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
    ("rr_switch_1k_ns", "ns", rr_switch_1k_ns),
    ("rr_switch_10k_ns", "ns", rr_switch_10k_ns),
    ("rr_switch_100k_ns", "ns", rr_switch_100k_ns),
    ("io_wake_10k_ns", "ns", io_wake_10k_ns),
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
