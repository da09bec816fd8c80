//! Runs `examples/backend.rs` as a subprocess with each `LIBEV_FLAGS` value
//! and `GEVENT_BACKEND` name: the contract of the foundation issue. Also
//! checks that `examples/watchers.rs` finishes by itself.
//!
//! `cargo test` builds the examples (in the same target directory and
//! profile as this test), but `cargo test --test backend_example` alone does
//! not; so the test runs `cargo build --example ...` first, which is a no-op
//! when the binaries are fresh.

use std::process::{Command, Output};

#[path = "util/examples.rs"]
mod examples;
use examples::build_example;

use gevent::core::{Backend, Loop};

/// Runs the example with exactly these backend-related variables set.
fn run(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(build_example("backend"));
    cmd.env_remove("LIBEV_FLAGS").env_remove("GEVENT_BACKEND");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the backend example");
    println!(
        "{env:?} -> {}\n  stdout: {}  stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The backend named on the example's `backend: NAME` line.
fn chosen_backend(out: &Output) -> String {
    assert!(out.status.success(), "example failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("backend: "))
        .unwrap_or_else(|| panic!("no `backend:` line in {stdout:?}"));
    line.trim().to_string()
}

#[test]
fn libev_flags_selects_each_usable_backend() {
    let usable = Loop::usable_backends();
    let mut tried = 0;
    for (flags, b) in [
        ("1", Backend::Select),
        ("2", Backend::Poll),
        ("4", Backend::Epoll),
        ("64", Backend::LinuxAio),
        ("128", Backend::IoUring),
    ] {
        if !usable.contains(b) {
            println!("skipping LIBEV_FLAGS={flags}: {b} is not usable here");
            continue;
        }
        let out = run(&[("LIBEV_FLAGS", flags)]);
        assert_eq!(chosen_backend(&out), b.name(), "LIBEV_FLAGS={flags}");
        tried += 1;
    }
    assert!(tried >= 2, "select and poll are usable everywhere");
}

#[cfg(target_os = "linux")]
#[test]
fn libev_flags_kqueue_fails_on_linux_naming_it() {
    let out = run(&[("LIBEV_FLAGS", "8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kqueue"), "{stderr}");
    assert!(stderr.contains("LIBEV_FLAGS=8"), "{stderr}");
    assert!(
        stderr.contains("epoll"),
        "lists the supported backends: {stderr}"
    );
}

#[test]
fn gevent_backend_by_name() {
    let out = run(&[("GEVENT_BACKEND", "poll")]);
    assert_eq!(chosen_backend(&out), "poll");
    let out = run(&[("GEVENT_BACKEND", "select")]);
    assert_eq!(chosen_backend(&out), "select");

    let out = run(&[("GEVENT_BACKEND", "bogus")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GEVENT_BACKEND=bogus"), "{stderr}");
    assert!(stderr.contains("unknown libev backend"), "{stderr}");

    // LIBEV_FLAGS, libev's own variable, wins over the name.
    let out = run(&[("GEVENT_BACKEND", "poll"), ("LIBEV_FLAGS", "1")]);
    assert_eq!(chosen_backend(&out), "select");
}

#[test]
fn default_and_garbage_flags_let_libev_choose() {
    let recommended = Loop::recommended_backends();
    for env in [
        &[][..],
        &[("LIBEV_FLAGS", "garbage")][..],
        &[("LIBEV_FLAGS", "0")][..],
    ] {
        let name = chosen_backend(&run(env));
        let b: Backend = name.parse().unwrap();
        assert!(recommended.contains(b), "{env:?}: {b} not in {recommended}");
        #[cfg(target_os = "linux")]
        assert_eq!(b, Backend::Epoll, "{env:?}");
    }
}

#[test]
fn watchers_example_stops_by_itself() {
    let out = Command::new(build_example("watchers"))
        .env_remove("LIBEV_FLAGS")
        .env_remove("GEVENT_BACKEND")
        .output()
        .expect("run the watchers example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("signal: SIGINT, stopping"), "{stdout}");
    assert!(stdout.contains("done after"), "{stdout}");
}
