//! Io watchers stopped while their poll is still armed, and others started
//! in the same loop iteration, many times over, once per usable backend.
//!
//! This is the pattern of a server under load (a wait that times out on one
//! fd while another greenlet starts waiting on the next) and of
//! `std::process::Command::output()` (`poll` on stdout and stderr: one
//! fires, the other's watcher is stopped). On io_uring, libev 4.33 turns it
//! into two submissions in one batch, `POLL_REMOVE` for the stopped fd and
//! `POLL_ADD` for the started one. Once the 32-slot submission ring has
//! wrapped, libev writes each `POLL_REMOVE` into a slot still holding the
//! events of an earlier `POLL_ADD`; kernels since 5.13 reject such a remove
//! (`EINVAL`) and stop consuming the batch there, and libev forgets the
//! rest. Without libev-sys's io_uring guard (core-sys/csrc/ev_syscall.c)
//! the started watchers are never armed and the loop waits forever, and the
//! poll a rejected remove leaves armed keeps a closed socket open. Each
//! test runs the loop on its own thread and fails (never hangs) when that
//! thread does not finish in time.

mod util;

use std::cell::Cell;
use std::io::Write;
use std::os::fd::AsRawFd;
#[cfg(target_os = "linux")]
use std::os::raw::c_ulong;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use gevent::core::{Backend, Break, Events, Io, Loop, Timer};
use util::{backends, socketpair};

/// How long one backend's run may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(20);

/// Serializes this file's tests: [`guard_stats`] counts rings process-wide.
fn serial() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// The io_uring guard's counters (core-sys/csrc/ev_syscall.c, linked in
/// through libev-sys): partial submissions re-issued, consumed submission
/// slots zeroed, rings recorded now.
#[cfg(target_os = "linux")]
fn guard_stats() -> (c_ulong, c_ulong, c_ulong) {
    unsafe extern "C" {
        fn gevent_ev_uring_guard_stats(
            partial: *mut c_ulong,
            zeroed: *mut c_ulong,
            rings: *mut c_ulong,
        );
    }
    let (mut p, mut z, mut r) = (0, 0, 0);
    // SAFETY: the function only stores through the three pointers, which
    // point at live locals.
    unsafe { gevent_ev_uring_guard_stats(&mut p, &mut z, &mut r) };
    (p, z, r)
}

/// Runs `body` on a fresh loop with backend `b` on its own thread; fails
/// the test, naming the backend and the state of every io_uring instance of
/// the process, if it panics or does not return within [`LIMIT`].
fn bounded(b: Backend, body: fn(&Loop)) {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("rearm-{b}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(|| {
                let lp = Loop::with_backend(b).unwrap();
                assert_eq!(lp.backend(), b);
                body(&lp);
            });
            let _ = tx.send(r.map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            }));
        })
        .unwrap();
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => panic!("backend {b}: {msg}"),
        Err(_) => panic!(
            "backend {b}: the loop did not finish within {LIMIT:?} (hung); rings: {}",
            uring_states()
        ),
    }
}

/// `SqHead`/`SqTail` (and friends) of every io_uring fd of the process, from
/// `/proc/self/fdinfo`: a tail ahead of the head is a submission the kernel
/// was never given.
fn uring_states() -> String {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return "(no /proc)".into();
    };
    for e in dir.flatten() {
        let is_ring =
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("io_uring"));
        if !is_ring {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{name}")).unwrap_or_default();
        let fields: Vec<&str> = info
            .lines()
            .filter(|l| {
                ["SqHead", "SqTail", "CachedSqHead", "CqHead", "CqTail"]
                    .iter()
                    .any(|k| l.starts_with(&format!("{k}:")))
            })
            .collect();
        out.push(format!("fd {name}: {}", fields.join(" ")));
    }
    if out.is_empty() {
        "(none)".into()
    } else {
        out.join("; ")
    }
}

/// Runs `lp` one iteration at a time until `done()`, with a guard timer;
/// panics if the guard fires first.
fn run_until(lp: &Loop, what: &str, done: impl Fn() -> bool) {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let guard = Timer::new(lp, Duration::from_secs(5), Duration::ZERO, move |t, _| {
        f.set(true);
        t.loop_().break_loop(Break::All);
    });
    guard.set_keepalive(false);
    guard.start().unwrap();
    let start = Instant::now();
    while !done() && !fired.get() && start.elapsed() < LIMIT {
        lp.run_once();
    }
    guard.stop();
    assert!(done(), "{what}: not seen (guard fired: {})", fired.get());
}

/// One idle socket pair per slot, a read watcher on each; every round
/// stops the watcher of one pair (its poll armed) and starts the next one in
/// the same iteration; then a readable fd must be reported.
fn swap_watchers(lp: &Loop) {
    const PAIRS: usize = 4;
    let pairs: Vec<(UnixStream, UnixStream)> = (0..PAIRS).map(|_| socketpair()).collect();
    let fired = Rc::new(Cell::new(0u32));
    let watchers: Vec<Io> = pairs
        .iter()
        .map(|(a, _)| {
            let f = fired.clone();
            Io::new(lp, a.as_raw_fd(), Events::READ, move |_, _| {
                f.set(f.get() + 1)
            })
            .unwrap()
        })
        .collect();
    watchers[0].start().unwrap();
    lp.run_nowait();
    // 200 rounds of two submissions each: the 32-slot ring wraps a dozen times.
    for round in 0..200 {
        let (old, new) = (round % PAIRS, (round + 1) % PAIRS);
        watchers[old].stop();
        watchers[new].start().unwrap();
        lp.run_nowait();
    }
    assert_eq!(fired.get(), 0, "an idle socket was reported readable");
    // Every pair gets data: the watchers that are active must see it.
    for w in &watchers {
        w.stop();
    }
    for w in &watchers {
        w.start().unwrap();
    }
    for (_, b) in &pairs {
        (&*b).write_all(b"x").unwrap();
    }
    let f = fired.clone();
    run_until(lp, "readiness of every re-armed socket", move || {
        f.get() >= PAIRS as u32
    });
    for w in &watchers {
        w.stop();
    }
}

#[test]
fn stop_and_start_in_one_iteration_keeps_watchers_armed() {
    let _s = serial();
    for b in backends() {
        println!("--- backend: {b}");
        bounded(b, swap_watchers);
    }
}

/// A fresh watcher started after many stop/start rounds fires, with a
/// timer as the only other watcher: the timer too must keep working.
fn fresh_watcher_after_churn(lp: &Loop) {
    let (a, b) = socketpair();
    let (c, d) = socketpair();
    let w1 = Io::new(lp, a.as_raw_fd(), Events::READ, |_, _| {}).unwrap();
    let w2 = Io::new(lp, c.as_raw_fd(), Events::READ, |_, _| {}).unwrap();
    w1.start().unwrap();
    lp.run_nowait();
    for _ in 0..100 {
        w1.stop();
        w2.start().unwrap();
        lp.run_nowait();
        w2.stop();
        w1.start().unwrap();
        lp.run_nowait();
    }
    w1.stop();
    drop((w1, w2, b, d));
    // A timer 50 ms out, nothing else: the loop must wake for it.
    let ticked = Rc::new(Cell::new(false));
    let t = ticked.clone();
    let timer = Timer::new(
        lp,
        Duration::from_millis(50),
        Duration::ZERO,
        move |_, _| t.set(true),
    );
    timer.start().unwrap();
    let t = ticked.clone();
    run_until(lp, "a 50 ms timer", move || t.get());
    // And a socket written from another thread while the loop waits.
    let (e, f) = socketpair();
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    let w = Io::new(lp, e.as_raw_fd(), Events::READ, move |w, _| {
        s.set(true);
        w.stop();
    })
    .unwrap();
    w.start().unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        (&f).write_all(b"x").unwrap();
        f
    });
    let s = seen.clone();
    run_until(lp, "data written by another thread", move || s.get());
    drop(writer.join().unwrap());
    drop((a, c));
}

#[test]
fn timers_and_fresh_watchers_work_after_churn() {
    let _s = serial();
    for b in backends() {
        println!("--- backend: {b}");
        bounded(b, fresh_watcher_after_churn);
    }
}

/// After `loop_fork` (which re-creates the kernel state: a new io_uring
/// instance), the churn still leaves every watcher armed.
fn churn_after_loop_fork(lp: &Loop) {
    fresh_watcher_after_churn(lp);
    lp.loop_fork();
    lp.run_nowait();
    fresh_watcher_after_churn(lp);
    swap_watchers(lp);
}

#[test]
fn churn_after_loop_fork_keeps_watchers_armed() {
    let _s = serial();
    for b in backends() {
        println!("--- backend: {b}");
        bounded(b, churn_after_loop_fork);
    }
}

/// A watcher stopped while its poll is armed must really withdraw it: on
/// io_uring an armed poll holds a reference to the socket, so a poll left
/// behind (a rejected `POLL_REMOVE`) keeps a closed socket open and its
/// peer never sees the end of the stream.
fn closed_sockets_reach_their_peers(lp: &Loop) {
    for round in 0..60 {
        let (a, b) = socketpair();
        let w = Io::new(lp, a.as_raw_fd(), Events::READ, |_, _| {}).unwrap();
        w.start().unwrap();
        lp.run_nowait();
        w.stop();
        lp.run_nowait();
        drop(w);
        drop(a);
        // linuxaio and io_uring release the socket when the loop next
        // talks to the kernel: keep iterating (bounded) until the peer sees
        // the end of the stream.
        b.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let r = loop {
            lp.run_nowait();
            let mut buf = [0u8; 1];
            match std::io::Read::read(&mut &b, &mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                r => break r,
            }
            if start.elapsed() > Duration::from_secs(5) {
                break Err(std::io::Error::from(std::io::ErrorKind::WouldBlock));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(
            matches!(r, Ok(0)),
            "round {round}: the peer of a closed socket read {r:?} instead of end of stream"
        );
    }
}

#[test]
fn sockets_closed_after_their_watcher_stopped_are_released() {
    let _s = serial();
    for b in backends() {
        println!("--- backend: {b}");
        bounded(b, closed_sockets_reach_their_peers);
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The churn while another thread keeps interrupting the loop's thread
/// with a signal whose handler does nothing (installed without
/// `SA_RESTART`): every blocking wait of the backend can end in `EINTR`.
/// Nothing may be lost, and on io_uring no submission may be cut short
/// (`io_uring_enter` submits before it waits and then reports the count,
/// not `EINTR`, which the guard's counter of partial submissions shows).
#[test]
fn signals_interrupting_the_wait_lose_nothing() {
    let _s = serial();
    // SAFETY: installs a handler that does nothing (async-signal-safe) for
    // SIGURG, which no other test of this binary uses; `sa` is fully
    // initialised (zeroed, then the fields set).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        assert_eq!(libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut()), 0);
    }
    #[cfg(target_os = "linux")]
    let (partial0, _, _) = guard_stats();
    for b in backends() {
        println!("--- backend: {b}");
        let (tid_tx, tid_rx) = mpsc::channel::<libc::pthread_t>();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let sender = std::thread::spawn(move || {
            let Ok(tid) = tid_rx.recv_timeout(LIMIT) else {
                return 0u32;
            };
            let mut sent = 0;
            let start = Instant::now();
            while !st.load(std::sync::atomic::Ordering::Relaxed) && start.elapsed() < LIMIT {
                // SAFETY: `tid` is the loop thread, which outlives this
                // loop (it waits for `stop` before it returns).
                unsafe { libc::pthread_kill(tid, libc::SIGURG) };
                sent += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            sent
        });
        let (tx, rx) = mpsc::channel();
        let st = stop.clone();
        std::thread::spawn(move || {
            // SAFETY: pthread_self has no preconditions.
            let _ = tid_tx.send(unsafe { libc::pthread_self() });
            let r = std::panic::catch_unwind(|| {
                let lp = Loop::with_backend(b).unwrap();
                fresh_watcher_after_churn(&lp);
                swap_watchers(&lp);
            });
            // Stop the signals before this thread goes away.
            st.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = tx.send(r.is_ok());
        });
        let r = rx.recv_timeout(LIMIT);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sent = sender.join().unwrap();
        match r {
            Ok(ok) => assert!(ok, "backend {b}: the churn failed under signals"),
            Err(_) => panic!(
                "backend {b}: the loop did not finish within {LIMIT:?} under signals (hung); rings: {}",
                uring_states()
            ),
        }
        assert!(sent > 0, "backend {b}: no signal was sent");
        println!("{b}: {sent} signals");
    }
    #[cfg(target_os = "linux")]
    {
        let (partial1, _, _) = guard_stats();
        assert_eq!(
            partial1, partial0,
            "io_uring_enter cut a submission short under signals"
        );
    }
}

/// The same pattern one layer up: greenlets whose `wait_read`s time out
/// (the hub withdraws the wait) and move on to the next fd, then a wait
/// without a timeout for data another thread writes. Nothing else is
/// active, so a wait never armed would park the hub forever.
fn hub_waits_that_time_out() {
    let pairs: Vec<(UnixStream, UnixStream)> = (0..3).map(|_| socketpair()).collect();
    for round in 0..150 {
        let (a, _) = &pairs[round % pairs.len()];
        let e = gevent::net::wait_read(a.as_raw_fd(), Some(Duration::from_millis(1))).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }
    let (c, d) = socketpair();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        (&d).write_all(b"x").unwrap();
        d
    });
    gevent::net::wait_read(c.as_raw_fd(), None).unwrap();
    drop(writer.join().unwrap());
}

#[test]
fn hub_waits_that_time_out_leave_later_waits_armed() {
    let _s = serial();
    for b in backends() {
        println!("--- backend: {b}");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| gevent::run_on_backend(b, hub_waits_that_time_out));
            let _ = tx.send(r.is_ok_and(|h| h.is_ok()));
        });
        match rx.recv_timeout(LIMIT) {
            Ok(ok) => assert!(ok, "backend {b}: the hub's waits failed"),
            Err(_) => panic!(
                "backend {b}: the hub did not finish within {LIMIT:?} (hung); rings: {}",
                uring_states()
            ),
        }
    }
}

/// The guard is linked in and active: it knows each io_uring loop while it
/// lives (and after `loop_fork` re-creates its ring), forgets it when the
/// loop is destroyed, and cleans the submission slots the kernel consumed.
#[cfg(target_os = "linux")]
#[test]
fn uring_guard_tracks_rings_and_cleans_slots() {
    let _s = serial();
    if !backends().contains(&Backend::IoUring) {
        println!("io_uring not usable here: nothing to check");
        return;
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (_, zeroed0, rings0) = guard_stats();
        let lp = Loop::with_backend(Backend::IoUring).unwrap();
        let (_, _, rings1) = guard_stats();
        fresh_watcher_after_churn(&lp);
        let (_, zeroed1, _) = guard_stats();
        lp.loop_fork();
        lp.run_nowait();
        let (_, _, rings2) = guard_stats();
        fresh_watcher_after_churn(&lp);
        drop(lp);
        let (_, _, rings3) = guard_stats();
        let _ = tx.send((rings0, rings1, rings2, rings3, zeroed1 - zeroed0));
    });
    let (r0, r1, r2, r3, zeroed) = rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("io_uring loop hung; rings: {}", uring_states()));
    assert_eq!(r1, r0 + 1, "a new io_uring loop is not recorded");
    assert_eq!(
        r2, r1,
        "loop_fork: the re-created ring is not recorded once"
    );
    assert_eq!(r3, r0, "a destroyed loop's ring is still recorded");
    // 200 stop/start rounds submit and consume hundreds of entries.
    assert!(zeroed >= 200, "only {zeroed} consumed slots cleaned");
}
