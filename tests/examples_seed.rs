//! Runs the seed article's examples as a user would, as subprocesses, and
//! checks what they print. Every run is bounded in time; all of them work
//! offline (local servers on 127.0.0.1 only).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "util/examples.rs"]
mod examples;
use examples::build_example;

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs an example with `args`, killing it if it runs longer than 120 s.
fn run(name: &str, args: &[&str]) -> Run {
    let mut child = Command::new(build_example(name))
        .args(args)
        .env_remove("LIBEV_FLAGS")
        .env_remove("GEVENT_BACKEND")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the example") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("example {name} {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let r = Run {
        success: status.success(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    println!(
        "== {name} {args:?}: {status}\n{}\n-- stderr --\n{}",
        r.stdout, r.stderr
    );
    r
}

#[test]
fn greenlets_walks_through_the_article() {
    let r = run("greenlets", &[]);
    assert!(r.success);
    // An unhandled failure is reported with the greenlet's name and the program goes on.
    assert!(
        r.stderr
            .contains("failed with panic: attempt to divide by zero"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("MyNoopGreenlet(5) failed with A time to kill"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("MyNoopGreenlet(4)"));
    assert!(r.stdout.contains("the program continues"));
    assert!(r.stdout.contains("Err(Timeout)"));
}

#[test]
fn concurrent_download_fetches_every_page() {
    let r = run("concurrent_download", &[]);
    assert!(r.success);
    for (page, bytes) in [("google", 11_246), ("yandex", 208_804), ("python", 20_471)] {
        assert!(
            r.stdout.contains("Starting http://127.0.0.1:"),
            "{}",
            r.stdout
        );
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains(&format!("/{page}: ")))
            .unwrap_or_else(|| panic!("no result line for {page} in {}", r.stdout));
        assert!(line.contains(&format!("{bytes} bytes")), "{line}");
    }
}

#[test]
fn concurrent_download_reports_bad_urls() {
    let r = run(
        "concurrent_download",
        &["ftp://example.invalid/", "http://127.0.0.1:1/"],
    );
    assert!(r.success);
    assert!(
        r.stdout.contains("only http:// URLs are supported"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("http://127.0.0.1:1/: failed:"),
        "{}",
        r.stdout
    );
}

#[test]
fn echoserver_selftest() {
    assert!(run("echoserver", &["--selftest"]).success);
}

#[test]
fn portforwarder_selftest() {
    assert!(run("portforwarder", &["--selftest"]).success);
}

#[test]
fn tls_examples_selftest() {
    assert!(run("tls_server", &["--selftest"]).success);
    assert!(run("tls_client", &["--selftest"]).success);
}

#[test]
fn dns_resolve_joins_lookups_within_two_seconds() {
    let r = run("dns_resolve", &[]);
    assert!(r.success);
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("localhost "))
        .unwrap_or_else(|| panic!("no localhost line in {}", r.stdout));
    assert!(line.contains("127.0.0.1"), "{line}");
    // Names from the command line replace the defaults; numeric ones never block.
    let r = run("dns_resolve", &["127.0.0.2", "localhost"]);
    assert!(r.success);
    assert!(r.stdout.contains("127.0.0.2"), "{}", r.stdout);
}

#[test]
fn dns_mass_resolve_limits_concurrency_with_a_pool() {
    let r = run("dns_mass_resolve", &[]);
    assert!(r.success);
    assert!(
        r.stdout.contains("finished within 2 seconds"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(0 failed)"), "{}", r.stdout);
}
