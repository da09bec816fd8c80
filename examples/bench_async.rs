//! Async interop benchmark: prints one `name value unit` line per figure
//! (the format of `bench_greenlet`).
//!
//! ```text
//! cargo run --release --features tokio --example bench_async          # ours
//! cargo run --release --features tokio --example bench_async -- --peer # tokio's
//! ```
//!
//! * `block_on_ready_ns`: `gevent::block_on` of a ready future, per call.
//!   Peer: a current-thread tokio runtime's `block_on` of the same.
//! * `block_on_cross_thread_us`: `gevent::block_on` of a
//!   `futures::channel::oneshot` receiver whose sender is handed to a
//!   helper thread, which completes it; sequential round trips, averaged
//!   (compare `threadpool_roundtrip_us`). Peer: the same round trip through
//!   a current-thread runtime's `block_on`.
//! * `tokio_block_on_roundtrip_us`: `gevent::tokio::block_on` of a trivial
//!   future (spawned on the crate's 2-worker runtime, result back through
//!   the hub's inbox). Peer: tokio's own spawn + await from outside the
//!   runtime, `Handle::block_on(handle.spawn(..))` from a plain thread, on a
//!   2-worker multi-thread runtime.
//!
//! With `--peer` it prints tokio's figures under the same names
//! (benchmarks/run.sh puts them in the tokio column). This is a benchmark,
//! not a test: numbers vary with the machine and load.

use std::sync::mpsc;
use std::time::{Duration, Instant};

const READY: u32 = 1_000_000;
const CROSS: u32 = 20_000;
const TOKIO: u32 = 20_000;

fn best_of<F: FnMut() -> Duration>(runs: usize, mut f: F) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

/// A helper thread that completes every oneshot sender it receives.
fn completer() -> mpsc::Sender<futures_channel::oneshot::Sender<u32>> {
    let (tx, rx) = mpsc::channel::<futures_channel::oneshot::Sender<u32>>();
    std::thread::spawn(move || {
        for (i, s) in rx.into_iter().enumerate() {
            let _ = s.send(i as u32);
        }
    });
    tx
}

fn report(name: &str, d: Duration, n: u32, unit: &str) {
    let per = d.as_secs_f64() / f64::from(n);
    let v = if unit == "ns" { per * 1e9 } else { per * 1e6 };
    println!("{name} {v:.2} {unit}");
}

fn ours() -> Result<(), Box<dyn std::error::Error>> {
    let ready = best_of(3, || {
        let t = Instant::now();
        for i in 0..READY {
            let v = gevent::block_on(std::future::ready(i)).expect("block_on");
            std::hint::black_box(v);
        }
        t.elapsed()
    });
    report("block_on_ready_ns", ready, READY, "ns");

    let helper = completer();
    let cross = best_of(3, || {
        let t = Instant::now();
        for _ in 0..CROSS {
            let (tx, rx) = futures_channel::oneshot::channel();
            helper.send(tx).expect("helper");
            gevent::block_on(rx).expect("block_on").expect("completed");
        }
        t.elapsed()
    });
    report("block_on_cross_thread_us", cross, CROSS, "us");

    gevent::tokio::block_on(async {})?;
    let tokio = best_of(3, || {
        let t = Instant::now();
        for i in 0..TOKIO {
            let v = gevent::tokio::block_on(async move { i + 1 }).expect("tokio");
            assert_eq!(v, i + 1);
        }
        t.elapsed()
    });
    report("tokio_block_on_roundtrip_us", tokio, TOKIO, "us");
    Ok(())
}

fn peer() -> Result<(), Box<dyn std::error::Error>> {
    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ready = best_of(3, || {
        let t = Instant::now();
        for i in 0..READY {
            std::hint::black_box(ct.block_on(std::future::ready(i)));
        }
        t.elapsed()
    });
    report("block_on_ready_ns", ready, READY, "ns");

    let helper = completer();
    let cross = best_of(3, || {
        let t = Instant::now();
        for _ in 0..CROSS {
            let (tx, rx) = futures_channel::oneshot::channel();
            helper.send(tx).expect("helper");
            ct.block_on(rx).expect("completed");
        }
        t.elapsed()
    });
    report("block_on_cross_thread_us", cross, CROSS, "us");

    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gevent::tokio::DEFAULT_WORKER_THREADS)
        .enable_all()
        .build()?;
    let h = mt.handle().clone();
    h.block_on(h.spawn(async {}))?;
    let tokio = best_of(3, || {
        let t = Instant::now();
        for i in 0..TOKIO {
            let v = h.block_on(h.spawn(async move { i + 1 })).expect("join");
            assert_eq!(v, i + 1);
        }
        t.elapsed()
    });
    report("tokio_block_on_roundtrip_us", tokio, TOKIO, "us");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--peer") {
        peer()
    } else {
        ours()
    }
}
