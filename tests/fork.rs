//! After fork(), the child's hub re-creates its loop's kernel state
//! (`ev_loop_fork`) by itself, so greenlets keep working in the child on
//! every backend.
//!
//! Forking a busy multi-threaded test process is unsafe, so the forking
//! happens in a re-executed copy of this test binary that runs one test.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use gevent::core::Loop;
use gevent::net::UnixStream;

const CHILD_ENV: &str = "GEVENT_TEST_FORK_CHILD";

/// In the forked grandchild: greenlets, a timer and a socket round trip.
fn exercise_hub() -> bool {
    let (a, b) = match UnixStream::pair() {
        Ok(p) => p,
        Err(_) => return false,
    };
    let echo = gevent::spawn(move || -> std::io::Result<()> {
        let mut buf = [0u8; 5];
        (&a).read_exact(&mut buf)?;
        (&a).write_all(&buf)
    });
    gevent::sleep(Duration::from_millis(2));
    let ok = (&b).write_all(b"hello").is_ok() && {
        let mut buf = [0u8; 5];
        (&b).read_exact(&mut buf).is_ok() && &buf == b"hello"
    };
    let joined = echo.join_timeout(Duration::from_secs(10)).unwrap_or(false);
    ok && joined && echo.successful()
}

/// Re-runs test `name` alone in a fresh copy of this test binary with
/// `env` set (its child mode, which forks), echoes its output, and checks
/// that it passed and printed `"{backend}: {marker} = true"` for every
/// usable backend.
fn reexec_checking(name: &str, env: &str, marker: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, "1")
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the child mode of {name} failed");
    assert!(stdout.contains("1 passed"), "the child test did not run");
    for b in Loop::usable_backends().iter() {
        assert!(
            stdout.contains(&format!("{b}: {marker} = true")),
            "{b} missing"
        );
    }
}

/// Child mode of `greenlets_keep_working_after_fork`.
fn fork_child_body() {
    for b in Loop::usable_backends().iter() {
        let ok = gevent::run_on_backend(b, move || {
            // Use the hub before forking, so the loop's kernel state exists.
            gevent::sleep(Duration::from_millis(1));
            assert!(exercise_hub(), "{b}: hub broken before fork");
            // SAFETY: the child only runs this thread's greenlets and then
            // leaves with _exit, without touching other threads' state.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let code = if exercise_hub() { 0 } else { 3 };
                // SAFETY: ends the forked child without running the parent's
                // exit handlers.
                unsafe { libc::_exit(code) };
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(r, pid);
            // The parent's hub still works too.
            let parent_ok = exercise_hub();
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && parent_ok
        })
        .expect("backend usable");
        println!("{b}: child and parent ok = {ok}");
        assert!(ok, "greenlets broken after fork on {b}");
    }
}

#[test]
fn greenlets_keep_working_after_fork() {
    // Child mode: this same test, re-run by the parent below.
    if std::env::var_os(CHILD_ENV).is_some() {
        fork_child_body();
        return;
    }
    reexec_checking(
        "greenlets_keep_working_after_fork",
        CHILD_ENV,
        "child and parent ok",
    );
}

const GEVENT_FORK_ENV: &str = "GEVENT_TEST_GEVENT_FORK_CHILD";

/// Child mode of `gevent_fork_watch_and_threadpool_in_child`: on every
/// backend, gevent::fork with the thread pool in use before the fork, the
/// pool used again in the child, fork_and_watch and waitpid.
fn gevent_fork_body() {
    for b in Loop::usable_backends().iter() {
        let ok = gevent::run_on_backend(b, move || {
            // Workers exist in the parent before the fork.
            let pool = gevent::get_hub().threadpool();
            assert_eq!(pool.apply(|| 20 + 1).unwrap(), 21);
            // SAFETY: this re-executed test process runs one test on one
            // thread besides the pool's idle workers, which the child
            // never touches (its pool is re-created).
            match unsafe { gevent::fork() }.expect("fork") {
                gevent::ForkResult::Child => {
                    // The pool works in the child (new workers), and so do
                    // greenlets and the hub.
                    let pool_ok = gevent::threadpool::run_blocking(|| 6 * 7).ok() == Some(42);
                    let code = if pool_ok && exercise_hub() { 0 } else { 5 };
                    // SAFETY: ends the forked child without running the
                    // parent's exit handlers.
                    unsafe { libc::_exit(code) };
                }
                gevent::ForkResult::Parent(pid) => {
                    let st = gevent::process::waitpid_timeout(pid, Some(Duration::from_secs(20)))
                        .expect("waitpid");
                    if st.is_none() {
                        // SAFETY: our hung child.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    let direct = st.and_then(|s| s.code()) == Some(0);
                    // fork_and_watch: the callback gets the child's status.
                    let seen = std::rc::Rc::new(std::cell::Cell::new(None));
                    let s2 = seen.clone();
                    // SAFETY: as above.
                    let r = unsafe { gevent::fork_and_watch(move |_pid, st| s2.set(st.code())) }
                        .expect("fork_and_watch");
                    if r == gevent::ForkResult::Child {
                        let code = if exercise_hub() { 9 } else { 6 };
                        // SAFETY: as above.
                        unsafe { libc::_exit(code) };
                    }
                    for _ in 0..2000 {
                        if seen.get().is_some() {
                            break;
                        }
                        gevent::sleep(Duration::from_millis(5));
                    }
                    let watched = seen.get() == Some(9);
                    println!("{b}: direct {direct}, watched {watched}");
                    // The parent's pool still works.
                    direct && watched && pool.apply(|| 1).unwrap() == 1
                }
            }
        })
        .expect("backend usable");
        println!("{b}: gevent fork ok = {ok}");
        assert!(ok, "gevent::fork broken on {b}");
    }
}

#[test]
fn gevent_fork_watch_and_threadpool_in_child() {
    if std::env::var_os(GEVENT_FORK_ENV).is_some() {
        gevent_fork_body();
        return;
    }
    reexec_checking(
        "gevent_fork_watch_and_threadpool_in_child",
        GEVENT_FORK_ENV,
        "gevent fork ok",
    );
}

const STREAM_ENV: &str = "GEVENT_TEST_FORK_STREAM_CHILD";

/// Child mode of `fork_while_pool_results_stream_in`.
fn fork_stream_body() {
    for b in Loop::usable_backends().iter() {
        let ok = gevent::run_on_backend(b, move || {
            // Workers keep handing results to the hub (through its inbox
            // and async watcher, both behind locks) while the main greenlet
            // forks: a fork can land while a worker holds one of those
            // locks, and the child's hub and new workers must not block on
            // it forever.
            let stop = std::rc::Rc::new(std::cell::Cell::new(false));
            let s2 = stop.clone();
            let feeder = gevent::spawn(move || {
                let pool = gevent::get_hub().threadpool();
                while !s2.get() {
                    let _ = pool.apply(|| std::hint::black_box(1) + 1);
                }
            });
            let mut good = 0;
            for _ in 0..40 {
                // SAFETY: this re-executed test process runs one test; the
                // child only uses its own hub and new pool workers.
                match unsafe { gevent::fork() }.expect("fork") {
                    gevent::ForkResult::Child => {
                        let ok = gevent::threadpool::run_blocking(|| 6 * 7).ok() == Some(42);
                        // SAFETY: ends the forked child without the
                        // parent's exit handlers.
                        unsafe { libc::_exit(if ok { 0 } else { 5 }) };
                    }
                    gevent::ForkResult::Parent(pid) => {
                        let st =
                            gevent::process::waitpid_timeout(pid, Some(Duration::from_secs(20)))
                                .expect("waitpid");
                        if st.is_none() {
                            // SAFETY: our hung child.
                            unsafe { libc::kill(pid, libc::SIGKILL) };
                            println!("{b}: a forked child hung");
                        }
                        if st.and_then(|s| s.code()) == Some(0) {
                            good += 1;
                        }
                    }
                }
            }
            stop.set(true);
            feeder.join().is_ok() && good == 40
        })
        .expect("backend usable");
        println!("{b}: fork while streaming ok = {ok}");
        assert!(ok, "a forked child hung or failed on {b}");
    }
}

/// Forks while thread-pool results keep arriving: every child's hub and
/// thread pool work (before, a fork landing while a worker held the hub's
/// inbox or async-watcher lock left the child blocked on it forever).
#[test]
fn fork_while_pool_results_stream_in() {
    if std::env::var_os(STREAM_ENV).is_some() {
        fork_stream_body();
        return;
    }
    reexec_checking(
        "fork_while_pool_results_stream_in",
        STREAM_ENV,
        "fork while streaming ok",
    );
}
