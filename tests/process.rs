//! gevent::process: cooperative children beside std::process, on every
//! backend.

#[path = "util/examples.rs"]
mod examples;
#[path = "util/greenlet.rs"]
mod gutil;

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use gevent::process::{self, Command, Stdio};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(60);

#[test]
fn hundred_concurrent_sleeps_all_finish() {
    each_backend(|| {
        let t = Instant::now();
        let jobs: Vec<_> = (0..100)
            .map(|_| {
                gevent::spawn(|| -> std::io::Result<bool> {
                    Ok(Command::new("sleep").arg("0.2").status()?.success())
                })
            })
            .collect();
        let done = gevent::joinall(&jobs, Some(LONG)).unwrap();
        assert_eq!(done.len(), 100, "not all children finished");
        for j in &jobs {
            assert!(j.take().unwrap().unwrap(), "a sleep failed");
        }
        // Informational only (no timing assert): concurrent waits overlap.
        println!("100 x sleep 0.2 took {:?}", t.elapsed());
    });
}

#[test]
fn communicate_ten_mib_each_way() {
    each_backend(|| {
        let data: Vec<u8> = (0..10 << 20).map(|i: u32| (i % 251) as u8).collect();
        // cat echoes stdin to stdout; tee also copies it to stderr.
        let mut c = Command::new("sh")
            .args(["-c", "tee /dev/stderr"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Another greenlet keeps running meanwhile.
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let t2 = ticks.clone();
        let ticker = gevent::spawn(move || {
            loop {
                gevent::sleep(Duration::ZERO);
                t2.set(t2.get() + 1);
            }
        });
        let out = c.communicate(Some(&data), Some(LONG)).unwrap();
        ticker.kill().unwrap();
        assert!(
            ticks.get() > 0,
            "the hub did not run other greenlets during communicate"
        );
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), data.len());
        assert!(out.stdout == data, "stdout differs");
        assert!(out.stderr == data, "stderr differs");
    });
}

#[test]
fn communicate_timeout_keeps_partial_output_and_resumes() {
    each_backend(|| {
        let mut c = Command::new("sh")
            .args(["-c", "echo first; sleep 0.3; echo second"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let e = c
            .communicate(None, Some(Duration::from_millis(50)))
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        let out = c.communicate(None, Some(LONG)).unwrap();
        assert_eq!(out.stdout, b"first\nsecond\n");
        assert!(out.status.success());
    });
}

#[test]
fn wait_timeout_kill_and_signal() {
    each_backend(|| {
        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(c.try_wait().unwrap().is_none());
        assert_eq!(c.wait_timeout(Duration::from_millis(30)).unwrap(), None);
        c.kill().unwrap();
        let st = c.wait_timeout(LONG).unwrap().expect("killed child exits");
        assert_eq!(st.signal(), Some(libc::SIGKILL));
        // Reaped: kill and signal are no-ops, waits repeat the status.
        c.kill().unwrap();
        c.signal(libc::SIGTERM).unwrap();
        assert_eq!(c.wait().unwrap(), st);
        assert_eq!(c.try_wait().unwrap(), Some(st));

        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        c.signal(libc::SIGTERM).unwrap();
        assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGTERM));
    });
}

#[test]
fn timeout_around_wait_then_drop_leaves_no_zombie() {
    each_backend(|| {
        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = c.id() as i32;
        let r = gevent::with_timeout(Duration::from_millis(20), || c.wait());
        assert!(matches!(r, Err(gevent::Error::Timeout)));
        c.kill().unwrap();
        drop(c);
        // The background reaper collects it: the pid disappears.
        let t = Instant::now();
        loop {
            // SAFETY: signal 0 only checks for existence.
            let gone = unsafe { libc::kill(pid, 0) } != 0;
            if gone {
                break;
            }
            assert!(t.elapsed() < LONG, "dropped child {pid} stayed a zombie");
            gevent::sleep(Duration::from_millis(5));
        }
        // kill_on_drop kills without being asked.
        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = c.id() as i32;
        c.kill_on_drop(true);
        drop(c);
        let t = Instant::now();
        // SAFETY: as above.
        while unsafe { libc::kill(pid, 0) } == 0 {
            assert!(t.elapsed() < LONG, "kill_on_drop child {pid} still exists");
            gevent::sleep(Duration::from_millis(5));
        }
    });
}

#[test]
fn std_process_beside_the_module() {
    each_backend(|| {
        // std children started before and during our waits are untouched:
        // nothing here reaps them (no SIGCHLD handler, no waitpid(-1)).
        let mut std_child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.05; exit 4"])
            .spawn()
            .unwrap();
        let ours: Vec<_> = (0..5)
            .map(|_| gevent::spawn(|| Command::new("true").status().unwrap().success()))
            .collect();
        gevent::joinall(&ours, Some(LONG)).unwrap();
        assert!(ours.iter().all(|g| g.value() == Some(true)));
        gevent::sleep(Duration::from_millis(100));
        assert_eq!(std_child.wait().unwrap().code(), Some(4));
        let out = std::process::Command::new("echo")
            .arg("std")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"std\n");
    });
}

#[test]
fn pipes_are_cooperative_streams() {
    each_backend(|| {
        let mut c = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let mut stdout = c.stdout.take().unwrap();
        let reader = gevent::spawn(move || {
            let mut v = Vec::new();
            stdout.read_to_end(&mut v).map(|_| v)
        });
        for i in 0..100 {
            writeln!(stdin, "line {i}").unwrap();
        }
        drop(stdin);
        let v = reader.take().unwrap().unwrap();
        assert_eq!(v.iter().filter(|&&b| b == b'\n').count(), 100);
        assert!(c.wait().unwrap().success());
    });
}

#[test]
fn pipeline_through_stdio_conversion() {
    each_backend(|| {
        let mut a = Command::new("echo")
            .arg("piped text")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out: Stdio = a.stdout.take().unwrap().try_into().unwrap();
        let b = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(out)
            .output()
            .unwrap();
        assert_eq!(b.stdout, b"PIPED TEXT\n");
        assert!(a.wait().unwrap().success());
    });
}

#[test]
fn output_status_run_check_output() {
    each_backend(|| {
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 2"])
            .output()
            .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(process::run("echo", ["x"]).unwrap().stdout, b"x\n");
        assert_eq!(process::check_output("echo", ["y"]).unwrap(), b"y\n");
        let e = process::check_output("sh", ["-c", "echo bad >&2; exit 1"]).unwrap_err();
        assert!(e.to_string().contains("bad"), "{e}");
        // Spawn errors are std's.
        let e = Command::new("/nonexistent/program").status().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        // env_clear and current_dir reach the child.
        let out = Command::new("/bin/sh")
            .args(["-c", "pwd; echo ${HOME:-unset}"])
            .env_clear()
            .current_dir("/")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"/\nunset\n");
    });
}

#[test]
fn waits_from_many_threads_at_once() {
    // Each thread's hub waits for its own children (no default loop).
    let hs: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let jobs: Vec<_> = (0..5)
                    .map(|_| gevent::spawn(|| Command::new("sleep").arg("0.05").status().unwrap()))
                    .collect();
                gevent::joinall(&jobs, Some(LONG)).unwrap();
                jobs.iter().all(|j| j.value().is_some_and(|s| s.success()))
            })
        })
        .collect();
    for h in hs {
        assert!(h.join().unwrap());
    }
}

#[test]
fn bad_input_is_an_error() {
    each_backend(|| {
        for pid in [0, -1, i32::MIN] {
            let e = process::waitpid(pid).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "pid {pid}");
        }
        // Not our child (pid 1) and a pid that cannot exist.
        assert_eq!(
            process::waitpid(1).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        assert_eq!(
            process::waitpid(i32::MAX).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        for sig in [-1, 65, 1000, i32::MAX, i32::MIN] {
            assert_eq!(
                c.signal(sig).unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
        }
        c.signal(0).unwrap(); // exists
        // Duration::MAX means no limit, never an overflow panic.
        assert_eq!(c.wait_timeout(Duration::ZERO).unwrap(), None);
        c.kill().unwrap();
        assert!(c.wait_timeout(Duration::MAX).unwrap().is_some());
        let mut c = Command::new("true").spawn().unwrap();
        assert!(
            process::waitpid_timeout(c.id() as i32, Some(Duration::MAX))
                .unwrap()
                .unwrap()
                .success()
        );
        // Reaped through waitpid: the Child then says so clearly.
        assert_eq!(c.wait().unwrap_err().kind(), std::io::ErrorKind::NotFound);
        // Input without a piped stdin.
        let mut c = Command::new("true").stdout(Stdio::piped()).spawn().unwrap();
        let e = c.communicate(Some(b"x"), None).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let out = c.communicate(None, Some(Duration::MAX)).unwrap();
        assert!(out.status.success());
        // A child that exits without reading its input: not an error.
        let mut c = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let big = vec![0u8; 4 << 20];
        assert!(
            c.communicate(Some(&big), Some(LONG))
                .unwrap()
                .status
                .success()
        );
        // Writing to a closed pipe: BrokenPipe, no SIGPIPE death.
        let mut c = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let mut si = c.stdin.take().unwrap();
        c.wait().unwrap();
        let r = (0..64).try_for_each(|_| si.write_all(&[0u8; 65536]));
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn blocking_in_the_hub_is_refused() {
    each_backend(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut c = Command::new("true").spawn().unwrap();
        gevent::get_hub().run_callback(move || {
            let _ = tx.send(c.wait().map_err(|e| e.kind()));
        });
        gevent::sleep(Duration::from_millis(1));
        assert_eq!(rx.recv().unwrap(), Err(std::io::ErrorKind::WouldBlock));
    });
}

#[test]
fn subprocess_example_runs() {
    let out = std::process::Command::new(examples::build_example("subprocess"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("\"sh -c sleep 0.2; echo slept\": exit status: 0"),
        "{text}"
    );
    assert!(
        text.contains("timed out after 300 ms, killed: signal: 9"),
        "{text}"
    );
    assert!(text.contains("intact: true"), "{text}");
    assert!(text.contains("tick"), "the ticker never ran: {text}");
}

/// Subprocess load: many children whose stdout and stderr are read at once
/// (one pipe's wait ends, the other's is withdrawn), waits that time out
/// (a withdrawn pidfd wait) and a ticker's timers, all on one hub: the
/// kind of load under which libev 4.33's io_uring backend used to leave
/// submissions unsubmitted and the hub asleep (issue 13; reproduced
/// deterministically by tests/core_io_rearm.rs, fixed by libev-sys's
/// io_uring guard). Child waits no longer re-check on their own every
/// second, so a lost wake-up here fails the test instead of costing time.
#[test]
fn subprocess_load_with_withdrawn_waits_keeps_the_hub_awake() {
    each_backend(|| {
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let t = ticks.clone();
        let ticker = gevent::spawn(move || {
            for _ in 0..1_000 {
                gevent::sleep(Duration::from_millis(1));
                t.set(t.get() + 1);
            }
        });
        let outputs: Vec<_> = (0..30)
            .map(|i| {
                gevent::spawn(move || -> std::io::Result<(bool, Vec<u8>, Vec<u8>)> {
                    let o = Command::new("sh")
                        .args(["-c", &format!("echo out{i}; echo err{i} >&2")])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .output()?;
                    Ok((o.status.success(), o.stdout, o.stderr))
                })
            })
            .collect();
        let waits: Vec<_> = (0..10)
            .map(|_| {
                gevent::spawn(|| -> std::io::Result<bool> {
                    let mut c = Command::new("sleep").arg("0.3").spawn()?;
                    let mut timed_out = 0;
                    // Each short wait times out and withdraws its wait.
                    while c.wait_timeout(Duration::from_millis(7))?.is_none() {
                        timed_out += 1;
                    }
                    Ok(timed_out > 0)
                })
            })
            .collect();
        let done = gevent::joinall(&outputs, Some(LONG)).unwrap();
        assert_eq!(done.len(), outputs.len(), "not every output() finished");
        for (i, j) in outputs.iter().enumerate() {
            let (ok, out, err) = j.take().unwrap().unwrap();
            assert!(ok, "child {i} failed");
            assert_eq!(out, format!("out{i}\n").into_bytes());
            assert_eq!(err, format!("err{i}\n").into_bytes());
        }
        let done = gevent::joinall(&waits, Some(LONG)).unwrap();
        assert_eq!(done.len(), waits.len(), "not every wait finished");
        for j in &waits {
            assert!(j.take().unwrap().unwrap(), "no wait timed out");
        }
        // A plain wait without a timeout, after all that.
        let st = Command::new("sh").args(["-c", "exit 4"]).status().unwrap();
        assert_eq!(st.code(), Some(4));
        let _ = ticker.kill();
        assert!(ticks.get() > 0, "the ticker never ran");
    });
}
