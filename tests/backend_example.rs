//! Runs `examples/backend.rs` as a subprocess with each `LIBEV_FLAGS` value
//! and `GEVENT_BACKEND` name: the contract of the foundation issue. Also
//! checks that `examples/watchers.rs` finishes by itself.
//!
//! `cargo test` builds the examples (in the same target directory and
//! profile as this test), but `cargo test --test backend_example` alone does
//! not; so the test runs `cargo build --example ...` first, which is a no-op
//! when the binaries are fresh.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use gevent::core::{Backend, Loop};

/// This test binary lives in `<target>/[<triple>/]<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary inside <target>/<profile>/deps")
        .to_path_buf()
}

const EXAMPLES: [&str; 2] = ["backend", "watchers"];

/// Builds the examples once per test process; returns the path of `name`.
fn build_example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let profile_dir = profile_dir();
        let dir = profile_dir.join("examples");
        let exists = || EXAMPLES.iter().all(|e| dir.join(e).exists());
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_string(),
            Some(other) => other.to_string(),
            None => "dev".to_string(),
        };
        let parent = profile_dir.parent().expect("target dir").to_path_buf();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "gevent"])
            .args(EXAMPLES.iter().flat_map(|e| ["--example", e]))
            .args(["--profile", &profile]);
        // Cargo marks its target directory with CACHEDIR.TAG; one level
        // further up means a `--target <triple>` build.
        if parent.join("CACHEDIR.TAG").exists() {
            cmd.arg("--target-dir").arg(&parent);
        } else if let Some(root) = parent.parent().filter(|r| r.join("CACHEDIR.TAG").exists()) {
            let triple = parent.file_name().unwrap().to_str().unwrap();
            cmd.arg("--target-dir").arg(root).args(["--target", triple]);
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {}
            Ok(out) if exists() => eprintln!(
                "warning: `cargo build --example ...` failed, using the existing binaries:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Ok(out) => panic!(
                "cannot build the examples:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) if exists() => {
                eprintln!("warning: cannot run cargo ({e}); using the existing binaries")
            }
            Err(e) => panic!("cannot run cargo to build the examples: {e}"),
        }
        assert!(
            exists(),
            "examples missing in {} after the build",
            dir.display()
        );
        dir
    });
    dir.join(name)
}

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
