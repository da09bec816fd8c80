//! The greenlet benchmark's figures on may with one worker thread
//! (`may::config().set_workers(1)`), its default stack size.
//!
//! * `switch_ns`: two coroutines ping-pong with `yield_now`; per yield.
//! * `spawn_join_ns`: spawn + join one coroutine at a time, 100k, from a coroutine.
//! * `event_handoff_ns`: two coroutines ping-pong through two `Semphore`s; per hand-off.
//! * `max_live_greenlets`: parked coroutines (waiting on a `SyncFlag`)
//!   spawned up to 1,000,000. may maps one guarded stack per coroutine, so
//!   at the default `vm.max_map_count` it fails near 32k: the spawn that
//!   fails panics ("failed to alloc sys stack"). The figure runs in a child
//!   process that reports its progress, so the count survives even an abort.
//!
//! may has no equivalent of a cancellable timeout guard here and cannot
//! hold 100k parked coroutines at default settings, so
//! `timeout_enter_exit_ns` and `rss_per_parked_greenlet_bytes` are not measured.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use gevent_peer_benchmarks::{best_of, ns_per, only, report, wanted};
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
    ];
    for &(name, unit, f) in figures {
        if wanted(name) {
            report(name, f(), unit);
        }
    }
}
