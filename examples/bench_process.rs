//! Subprocess benchmark: prints one `name value unit` line per figure.
//!
//! ```text
//! cargo run --release --example bench_process
//! ```
//!
//! * `spawn_wait_process_us`: `gevent::process::Command::new("/bin/true")
//!   .spawn()` then `wait()`, one child at a time; per child.
//! * `spawn_wait_process_std_us`: the same with `std::process`, measured in
//!   the same run, interleaved batch by batch with ours so that machine load
//!   affects both alike.
//! * `spawn_wait_process_vs_std`: the ratio of the two (1.0 = std's cost).
//!
//! Each figure is the best of several batches. This is a benchmark, not a
//! test: numbers vary with the machine and load.

use std::time::Instant;

const PROGRAM: &str = "/bin/true";
const BATCH: u32 = 200;
const BATCHES: usize = 5;

fn ours() -> f64 {
    let t = Instant::now();
    for _ in 0..BATCH {
        let mut c = gevent::process::Command::new(PROGRAM)
            .spawn()
            .expect("spawn");
        assert!(c.wait().expect("wait").success());
    }
    t.elapsed().as_secs_f64() * 1e6 / BATCH as f64
}

fn std_process() -> f64 {
    let t = Instant::now();
    for _ in 0..BATCH {
        let mut c = std::process::Command::new(PROGRAM).spawn().expect("spawn");
        assert!(c.wait().expect("wait").success());
    }
    t.elapsed().as_secs_f64() * 1e6 / BATCH as f64
}

fn main() {
    // Warm up both paths (page cache, the hub, the pidfd path).
    ours();
    std_process();
    let (mut best_ours, mut best_std) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..BATCHES {
        best_ours = best_ours.min(ours());
        best_std = best_std.min(std_process());
    }
    println!("spawn_wait_process_us {best_ours:.1} us");
    println!("spawn_wait_process_std_us {best_std:.1} us");
    println!("spawn_wait_process_vs_std {:.3} x", best_ours / best_std);
}
