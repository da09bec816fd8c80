//! Runs the HTTP examples as a user would, as subprocesses, once per
//! usable backend (`LIBEV_FLAGS`): `http_hello` answers and exits 0 on
//! SIGTERM, `http_app`'s routes work, `websocket_echo` echoes through
//! tungstenite's client.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gevent::core::Loop;
use tungstenite::Message;

const EXAMPLES: &[&str] = &["http_hello", "http_app", "websocket_echo"];

/// Builds the HTTP examples once (`cargo test --test http_examples` alone
/// does not), in this test's target directory and profile; the path of
/// `name`.
fn build_example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // <target>/[<triple>/]<profile>/deps/<this test>
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let parent = profile_dir.parent().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "gevent", "--profile", &profile])
            .args(EXAMPLES.iter().flat_map(|e| ["--example", e]));
        if cfg!(feature = "ares") {
            cmd.args(["--features", "ares"]);
        }
        if parent.join("CACHEDIR.TAG").exists() {
            cmd.arg("--target-dir").arg(parent);
        } else if let Some(root) = parent.parent().filter(|r| r.join("CACHEDIR.TAG").exists()) {
            let triple = parent.file_name().unwrap().to_str().unwrap();
            cmd.arg("--target-dir").arg(root).args(["--target", triple]);
        }
        let out = cmd.output().expect("run cargo build --example");
        let dir = profile_dir.join("examples");
        let exist = EXAMPLES.iter().all(|e| dir.join(e).exists());
        assert!(
            out.status.success() || exist,
            "cannot build the examples:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    });
    dir.join(name)
}

/// A running example; killed on drop if still running.
struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `name --addr 127.0.0.1:0 extra...` with `LIBEV_FLAGS=flags`
/// and waits for its `listening on ADDR` line.
fn launch(name: &str, flags: u32, extra: &[&str]) -> Running {
    let mut child = Command::new(build_example(name))
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .env("LIBEV_FLAGS", flags.to_string())
        .env_remove("GEVENT_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the example");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"))
        .to_string();
    Running { child, addr }
}

/// Sends SIGTERM and expects exit status 0 within 10 s.
fn terminate(mut r: Running) {
    // SAFETY: signalling our own child by its pid.
    assert_eq!(unsafe { libc::kill(r.child.id() as i32, libc::SIGTERM) }, 0);
    let start = Instant::now();
    loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn each_backend_flags(mut f: impl FnMut(u32)) {
    for b in Loop::usable_backends().iter() {
        println!("--- backend: {b}");
        f(b.flag());
    }
}

#[test]
fn http_hello_answers_and_exits_0_on_sigterm() {
    each_backend_flags(|flags| {
        for workers in ["1", "2"] {
            let r = launch("http_hello", flags, &["--workers", workers]);
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(5))
                .build();
            for _ in 0..3 {
                let resp = agent
                    .get(&format!("http://{}/any/path", r.addr))
                    .call()
                    .unwrap();
                assert_eq!(resp.status(), 200);
                assert_eq!(resp.into_string().unwrap(), "Hello, World!");
            }
            let resp = agent
                .post(&format!("http://{}/", r.addr))
                .send_bytes(&vec![7u8; 100_000])
                .unwrap();
            assert_eq!(resp.into_string().unwrap(), "Hello, World!");
            drop(agent); // closes its kept-alive connection
            terminate(r);
        }
    });
}

#[test]
fn http_app_routes() {
    each_backend_flags(|flags| {
        let r = launch("http_app", flags, &[]);
        let base = format!("http://{}", r.addr);
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build();
        let json: serde_json::Value = serde_json::from_str(
            &agent
                .get(&format!("{base}/json?name=test"))
                .call()
                .unwrap()
                .into_string()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["hello"], "test");
        assert_eq!(json["server"], "gevent");

        let own_source =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/http_app.rs")).unwrap();
        let resp = agent.get(&format!("{base}/download")).call().unwrap();
        assert_eq!(
            resp.header("content-length"),
            Some(own_source.len().to_string().as_str())
        );
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert_eq!(got, own_source);

        let upload: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let resp = agent
            .post(&format!("{base}/echo"))
            .send_bytes(&upload)
            .unwrap();
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert!(got == upload, "echo differs ({} bytes back)", got.len());

        let chunked = agent
            .get(&format!("{base}/chunked"))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert_eq!(chunked.lines().count(), 5);
        match agent.get(&format!("{base}/nowhere")).call() {
            Err(ureq::Error::Status(404, _)) => {}
            other => panic!("expected 404, got {other:?}"),
        }
        drop(agent);
        terminate(r);
    });
}

#[test]
fn websocket_echo_with_tungstenite_client() {
    each_backend_flags(|flags| {
        let out = Command::new(build_example("websocket_echo"))
            .arg("--selftest")
            .env("LIBEV_FLAGS", flags.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "selftest: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("selftest ok"));

        let r = launch("websocket_echo", flags, &[]);
        let (mut ws, resp) = tungstenite::connect(format!("ws://{}/", r.addr)).unwrap();
        assert_eq!(resp.status(), 101);
        for i in 0..10 {
            let msg = Message::text(format!("message {i}"));
            ws.send(msg.clone()).unwrap();
            assert_eq!(ws.read().unwrap(), msg);
        }
        let big = Message::binary(vec![42u8; 200_000]);
        ws.send(big.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), big);
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        // A plain request to the WebSocket endpoint is refused.
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build();
        match agent.get(&format!("http://{}/", r.addr)).call() {
            Err(ureq::Error::Status(400, _)) => {}
            other => panic!("expected 400, got {other:?}"),
        }
        drop(agent);
        terminate(r);
    });
}
