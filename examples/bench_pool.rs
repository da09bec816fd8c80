//! Pool and ThreadPool benchmark: prints one `name value unit` line per
//! figure (the format of `bench_greenlet`).
//!
//! ```text
//! cargo run --release --example bench_pool
//! ```
//!
//! * `pool_map_per_item_ns`: `Pool::new(100).map(0..100_000, trivial)`,
//!   total time divided by the items (a greenlet per item, at most 100 at
//!   once).
//!   `pool_map_per_item_cpu_ns` is the same in thread CPU time, which a
//!   busy machine disturbs less.
//! * `threadpool_roundtrip_us`: one trivial closure sent to a worker thread
//!   and its result back to the waiting greenlet, sequentially, averaged.
//! * `resolve_localhost_us`: `localhost` (from /etc/hosts, so offline)
//!   resolved with the thread resolver (`getaddrinfo` on the hub's pool),
//!   one lookup at a time; `resolve_blocking_us`: the same lookup by a
//!   plain blocking `getaddrinfo` (std's `to_socket_addrs`), the reference.
//!
//! This is a benchmark, not a test: numbers vary with the machine and load.

use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use gevent::pool::Pool;
use gevent::resolver::{Resolve, ThreadResolver};
use gevent::threadpool::ThreadPool;

const ITEMS: u64 = 100_000;
const POOL_SIZE: usize = 100;
const ROUNDTRIPS: u32 = 20_000;
const LOOKUPS: u32 = 2_000;

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn best_of<F: FnMut() -> Duration>(runs: usize, mut f: F) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(POOL_SIZE)?;
    // Warm up: stacks, allocator.
    pool.map(0..ITEMS / 10, |i| i + 1)?;
    let mut cpu_best = Duration::MAX;
    let map = best_of(5, || {
        let (t, c) = (Instant::now(), thread_cpu());
        let v = pool.map(0..ITEMS, |i| i + 1).expect("map");
        let (d, cpu) = (t.elapsed(), thread_cpu() - c);
        cpu_best = cpu_best.min(cpu);
        assert_eq!(v.len() as u64, ITEMS);
        d
    });
    println!(
        "pool_map_per_item_ns {:.1} ns",
        map.as_nanos() as f64 / ITEMS as f64
    );
    println!(
        "pool_map_per_item_cpu_ns {:.1} ns",
        cpu_best.as_nanos() as f64 / ITEMS as f64
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
        "threadpool_roundtrip_us {:.2} us",
        rt.as_secs_f64() * 1e6 / f64::from(ROUNDTRIPS)
    );

    let resolver = ThreadResolver::new();
    let per_lookup = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(LOOKUPS);
    resolver.resolve("localhost", 0)?;
    let thread = best_of(3, || {
        let t = Instant::now();
        for _ in 0..LOOKUPS {
            assert!(!resolver.resolve("localhost", 0).expect("lookup").is_empty());
        }
        t.elapsed()
    });
    println!("resolve_localhost_us {:.2} us", per_lookup(thread));
    let blocking = best_of(3, || {
        let t = Instant::now();
        for _ in 0..LOOKUPS {
            assert!(("localhost", 0).to_socket_addrs().expect("lookup").count() > 0);
        }
        t.elapsed()
    });
    println!("resolve_blocking_us {:.2} us", per_lookup(blocking));
    Ok(())
}
