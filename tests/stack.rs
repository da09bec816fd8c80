//! Greenlet stacks (ARCHITECTURE.md, "Invariants"): far more live greenlets than
//! one-mapping-per-stack allows, big stacks on request, and a stack
//! overflow reported with the greenlet's name before the process aborts.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gevent::{Builder, Greenlet, joinall, sleep, spawn};
use gutil::{child, each_backend, run_child, stderr_of};

const LONG: Duration = Duration::from_secs(60);

/// Parks `n` greenlets at once, each waiting (an Event-like park: a join
/// on a "gate" greenlet) until the gate is released, then checks they all
/// complete.
fn park_and_release(n: usize) {
    let gate = Builder::new().name("gate").spawn(|| sleep(LONG));
    let done = Rc::new(Cell::new(0usize));
    let parked = Rc::new(Cell::new(0usize));
    let gs: Vec<Greenlet<()>> = (0..n)
        .map(|_| {
            let (gate, done, parked) = (gate.clone(), done.clone(), parked.clone());
            spawn(move || {
                parked.set(parked.get() + 1);
                gate.join().unwrap();
                done.set(done.get() + 1);
            })
        })
        .collect();
    // Let every one of them start and park.
    sleep(Duration::ZERO);
    assert_eq!(parked.get(), n, "every greenlet is live and parked at once");
    assert_eq!(done.get(), 0);
    assert!(gs.iter().all(|g| !g.dead()));
    gate.kill().unwrap();
    let finished = joinall(&gs, Some(Duration::from_secs(20))).unwrap();
    assert_eq!(finished.len(), n);
    assert_eq!(done.get(), n);
    assert!(gs.iter().all(|g| g.successful()));
}

#[test]
fn a_hundred_thousand_parked_greenlets_all_complete() {
    // Beyond the ~32,750 stacks that one guarded mapping per stack allows
    // at the default vm.max_map_count. Once, on the default backend.
    park_and_release(100_000);
    // The pool reuses the stacks: a second round works just as well.
    park_and_release(100_000);
}

#[test]
fn many_parked_greenlets_on_every_backend() {
    each_backend(|| park_and_release(5_000));
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    if std::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    std::hint::black_box(recurse(depth + 1)) + buf[7] as u64
}

/// Uses `kib` KiB of stack, in 8 KiB frames.
#[inline(never)]
fn use_stack(kib: usize) -> u64 {
    let buf = std::hint::black_box([kib as u8; 8 * 1024]);
    let below = if kib > 8 { use_stack(kib - 8) } else { 0 };
    std::hint::black_box(below + buf[100] as u64)
}

#[test]
fn a_big_stack_size_allows_deep_recursion() {
    each_backend(|| {
        let g = Builder::new()
            .name("deep")
            .stack_size(8 << 20)
            .spawn(|| use_stack(1024));
        assert!(g.get().is_ok());
        // The default size holds a moderate depth.
        assert!(spawn(|| use_stack(32)).get().is_ok());
        assert_eq!(gevent::DEFAULT_STACK_SIZE, 128 * 1024);
    });
}

#[test]
fn a_stack_overflow_is_reported_with_the_greenlet_name() {
    if child().as_deref() == Some("overflow") {
        let g = Builder::new().name("deep-diver").spawn(|| recurse(0));
        let _ = g.join();
        println!("not reached");
        return;
    }
    let out = run_child(
        "a_stack_overflow_is_reported_with_the_greenlet_name",
        "overflow",
    );
    let err = stderr_of(&out);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "status {:?}\n{err}",
        out.status
    );
    assert!(
        err.contains("greenlet <Greenlet \"deep-diver\"> overflowed its stack"),
        "stderr:\n{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not reached"));
}

/// SIGABRT's number on Linux (no libc dependency in the tests).
fn libc_sigabrt() -> i32 {
    6
}
