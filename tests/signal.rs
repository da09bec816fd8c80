//! gevent::signal: handlers in greenlets, wait_signal, refused signals,
//! dispositions restored, the one-loop-owns-a-signal rule. Every test runs
//! on every usable backend; the tests of this file are serialized
//! (signal dispositions are process-wide).

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use gevent::signal::{signal_handler, wait_signal};
use gutil::each_backend;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn raise(sig: i32) {
    // SAFETY: every signal raised here is handled or ignored by the test.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

/// The current disposition's handler address (SIG_DFL, SIG_IGN or a function).
fn disposition(sig: i32) -> usize {
    // SAFETY: reads the disposition into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old);
        old.sa_sigaction
    }
}

fn set_disposition(sig: i32, handler: usize) {
    // SAFETY: installs SIG_DFL, SIG_IGN or an async-signal-safe handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
    }
}

/// Waits (bounded) until `cond` holds, letting the hub run.
fn until(cond: impl Fn() -> bool) -> bool {
    for _ in 0..2000 {
        if cond() {
            return true;
        }
        gevent::sleep(Duration::from_millis(1));
    }
    cond()
}

#[test]
fn handler_runs_in_a_new_greenlet_each_time() {
    let _l = lock();
    each_backend(|| {
        let names = Rc::new(RefCell::new(Vec::new()));
        let ids = Rc::new(RefCell::new(Vec::new()));
        let (n2, i2) = (names.clone(), ids.clone());
        let h = signal_handler(libc::SIGUSR1, move || {
            let me = gevent::getcurrent();
            n2.borrow_mut().push(me.name());
            i2.borrow_mut().push(me.id());
            // A handler may block.
            gevent::sleep(Duration::from_millis(1));
        })
        .unwrap();
        assert_eq!(h.signum(), libc::SIGUSR1);
        for i in 1..=5 {
            raise(libc::SIGUSR1);
            assert!(
                until(|| names.borrow().len() == i),
                "arrival {i} not handled"
            );
        }
        let mut ids = ids.borrow().clone();
        ids.dedup();
        assert_eq!(ids.len(), 5, "one new greenlet per arrival");
        assert!(
            names.borrow().iter().all(|n| n.contains("SIGUSR1")),
            "{:?}",
            names.borrow()
        );
        assert_ne!(gevent::getcurrent().id(), ids[0]);
        h.cancel();
    });
}

#[test]
fn many_signals_each_handled() {
    let _l = lock();
    each_backend(|| {
        let sigs = [
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGHUP,
            libc::SIGWINCH,
            libc::SIGALRM,
        ];
        let hits = Rc::new(RefCell::new(Vec::new()));
        let handlers: Vec<_> = sigs
            .iter()
            .map(|&s| {
                let h = hits.clone();
                signal_handler(s, move || h.borrow_mut().push(s)).unwrap()
            })
            .collect();
        for round in 1..=3 {
            for &s in &sigs {
                raise(s);
            }
            assert!(until(|| hits.borrow().len() == sigs.len() * round));
        }
        for &s in &sigs {
            assert_eq!(
                hits.borrow().iter().filter(|&&x| x == s).count(),
                3,
                "signal {s}"
            );
        }
        drop(handlers);
        for &s in &sigs {
            assert_eq!(disposition(s), libc::SIG_DFL, "signal {s} not restored");
        }
    });
}

static C_HITS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn c_handler(_: libc::c_int) {
    C_HITS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn cancel_restores_the_previous_disposition() {
    let _l = lock();
    each_backend(|| {
        // A C handler installed before: replaced while ours runs, back after.
        set_disposition(libc::SIGUSR2, c_handler as *const () as usize);
        let before = C_HITS.load(Ordering::SeqCst);
        let ours = Rc::new(Cell::new(0));
        let o2 = ours.clone();
        let h = signal_handler(libc::SIGUSR2, move || o2.set(o2.get() + 1)).unwrap();
        raise(libc::SIGUSR2);
        assert!(until(|| ours.get() == 1));
        assert_eq!(
            C_HITS.load(Ordering::SeqCst),
            before,
            "the old handler ran too"
        );
        // Two handlers on one hub share the signal; the first cancel keeps it.
        let o3 = ours.clone();
        let h2 = signal_handler(libc::SIGUSR2, move || o3.set(o3.get() + 10)).unwrap();
        h.cancel();
        raise(libc::SIGUSR2);
        assert!(until(|| ours.get() == 11));
        drop(h2);
        assert_eq!(disposition(libc::SIGUSR2), c_handler as *const () as usize);
        raise(libc::SIGUSR2);
        assert_eq!(C_HITS.load(Ordering::SeqCst), before + 1);
        gevent::sleep(Duration::from_millis(5));
        assert_eq!(ours.get(), 11, "a cancelled handler ran");
        // An ignored signal stays ignored afterwards.
        set_disposition(libc::SIGUSR2, libc::SIG_IGN);
        let h = signal_handler(libc::SIGUSR2, || {}).unwrap();
        assert_ne!(disposition(libc::SIGUSR2), libc::SIG_IGN);
        drop(h);
        assert_eq!(disposition(libc::SIGUSR2), libc::SIG_IGN);
        set_disposition(libc::SIGUSR2, libc::SIG_DFL);
    });
}

#[test]
fn refused_signals_are_clear_errors() {
    let _l = lock();
    each_backend(|| {
        for s in [libc::SIGKILL, libc::SIGSTOP, 0, -1, 65, 1000, libc::SIGCHLD] {
            let e = signal_handler(s, || {}).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "signal {s}: {e}");
            let e = wait_signal(&[libc::SIGUSR1, s], Some(Duration::ZERO)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "signal {s}: {e}");
        }
        let e = signal_handler(libc::SIGKILL, || {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be caught"), "{e}");
        let e = signal_handler(libc::SIGCHLD, || {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("child watcher"), "{e}");
        let e = signal_handler(99, || {}).unwrap_err().to_string();
        assert!(e.contains("99"), "{e}");
        assert_eq!(
            wait_signal(&[], None).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // Nothing was left installed by the failed calls.
        assert_eq!(disposition(libc::SIGUSR1), libc::SIG_DFL);
    });
}

#[test]
fn wait_signal_returns_the_signal_or_none() {
    let _l = lock();
    each_backend(|| {
        gevent::spawn_later(Duration::from_millis(5), || raise(libc::SIGUSR2));
        let got = wait_signal(
            &[libc::SIGUSR1, libc::SIGUSR2],
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!(got, Some(libc::SIGUSR2));
        assert_eq!(
            wait_signal(&[libc::SIGUSR1], Some(Duration::from_millis(5))).unwrap(),
            None
        );
        assert_eq!(disposition(libc::SIGUSR1), libc::SIG_DFL);
        assert_eq!(disposition(libc::SIGUSR2), libc::SIG_DFL);
        // A wait beside a handler: both see the arrival.
        let hits = Rc::new(Cell::new(0));
        let h2 = hits.clone();
        let h = signal_handler(libc::SIGUSR1, move || h2.set(h2.get() + 1)).unwrap();
        gevent::spawn_later(Duration::from_millis(5), || raise(libc::SIGUSR1));
        assert_eq!(
            wait_signal(&[libc::SIGUSR1], Some(Duration::from_secs(10))).unwrap(),
            Some(libc::SIGUSR1)
        );
        assert!(until(|| hits.get() == 1));
        drop(h);
    });
}

/// libev delivers a signal to one loop: while one hub handles SIGUSR1,
/// another hub asking for it gets AddrInUse; once the first lets go, the
/// second may take it.
#[test]
fn two_hubs_same_signal() {
    let _l = lock();
    each_backend(|| {
        let h = signal_handler(libc::SIGUSR1, || {}).unwrap();
        let b = gevent::get_hub().loop_().backend();
        let other = gevent::run_on_backend(b, || {
            let e = signal_handler(libc::SIGUSR1, || {}).unwrap_err();
            let w = wait_signal(&[libc::SIGUSR1], Some(Duration::ZERO)).unwrap_err();
            (e.kind(), e.to_string(), w.kind())
        })
        .unwrap();
        assert_eq!(other.0, ErrorKind::AddrInUse);
        assert!(other.1.contains("one loop"), "{}", other.1);
        assert_eq!(other.2, ErrorKind::AddrInUse);
        // Still ours and still working.
        drop(h);
        let got = gevent::run_on_backend(b, || {
            let hit = Rc::new(Cell::new(false));
            let h2 = hit.clone();
            let h = signal_handler(libc::SIGUSR1, move || h2.set(true)).unwrap();
            raise(libc::SIGUSR1);
            let ok = until(|| hit.get());
            drop(h);
            ok
        })
        .unwrap();
        assert!(got, "the second hub did not get the signal once free");
        assert_eq!(disposition(libc::SIGUSR1), libc::SIG_DFL);
    });
}

/// A signal sent to the process from another thread reaches the hub that
/// owns it.
#[test]
fn signal_from_another_thread() {
    let _l = lock();
    each_backend(|| {
        let t = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(10));
            // SAFETY: kill(getpid()) with a signal the hub handles.
            unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
        });
        let got = wait_signal(&[libc::SIGHUP], Some(Duration::from_secs(10))).unwrap();
        t.join().unwrap();
        assert_eq!(got, Some(libc::SIGHUP));
    });
}
