//! Builds and locates the example binaries for tests that run them as a
//! user would. `cargo test` builds examples itself, but `cargo test --test
//! NAME` alone does not, so the first call runs `cargo build --example ...`
//! (a no-op when the binaries are fresh) in the same target directory and
//! profile as the running test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// This test binary lives in `<target>/[<triple>/]<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary inside <target>/<profile>/deps")
        .to_path_buf()
}

/// Every example a test runs.
pub const EXAMPLES: &[&str] = &[
    "backend",
    "watchers",
    "greenlets",
    "concurrent_download",
    "echoserver",
    "portforwarder",
    "tls_server",
    "tls_client",
    "dns_resolve",
    "dns_mass_resolve",
    "subprocess",
    "monitor",
    "udp_server",
    "tls_echoserver",
    "signals",
];

/// Builds the examples once per test process; returns the path of `name`.
pub fn build_example(name: &str) -> PathBuf {
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
        // Build with the features this test was built with, so the nested
        // build reuses the artifacts instead of compiling another variant.
        if cfg!(feature = "ares") {
            cmd.args(["--features", "ares"]);
        }
        if cfg!(feature = "tokio") {
            cmd.args(["--features", "tokio", "--example", "async_client"]);
        }
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
