//! Measures Pool.map and ThreadPool round trips.
//!
//! ```text
//! cargo run --release --example bench_pool
//! ```
//!
//! * `pool_map_per_item_ns`: `Pool::new(100).map(0..100_000, trivial)`,
//!   total time divided by the items (a greenlet per item, at most 100 at
//!   once).
//! * `threadpool_roundtrip_us`: one trivial closure sent to a worker thread
//!   and its result back to the waiting greenlet, sequentially, averaged.

use std::time::{Duration, Instant};

use gevent::pool::Pool;
use gevent::threadpool::ThreadPool;

const ITEMS: u64 = 100_000;
const POOL_SIZE: usize = 100;
const ROUNDTRIPS: u32 = 20_000;

fn best_of<F: FnMut() -> Duration>(runs: usize, mut f: F) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(POOL_SIZE)?;
    // Warm up: stacks, allocator.
    pool.map(0..ITEMS / 10, |i| i + 1)?;
    let map = best_of(5, || {
        let t = Instant::now();
        let v = pool.map(0..ITEMS, |i| i + 1).expect("map");
        let d = t.elapsed();
        assert_eq!(v.len() as u64, ITEMS);
        d
    });
    println!(
        "pool_map_per_item_ns {:.1}",
        map.as_nanos() as f64 / ITEMS as f64
    );

    let tp = ThreadPool::new(1)?;
    for _ in 0..1000 {
        tp.apply(|| 1u32)?;
    }
    let rt = best_of(3, || {
        let t = Instant::now();
        for i in 0..ROUNDTRIPS {
            let v = tp.apply(move || i + 1).expect("apply");
            assert_eq!(v, i + 1);
        }
        t.elapsed()
    });
    println!(
        "threadpool_roundtrip_us {:.2}",
        rt.as_secs_f64() * 1e6 / f64::from(ROUNDTRIPS)
    );
    Ok(())
}
