//! Subprocesses with greenlets (gevent's `examples/processes.py`, grown):
//!
//! * several commands run at once, their outputs gathered with `joinall`;
//! * one that takes too long, cut short by a `Timeout` and killed;
//! * one `communicate` feeding a large input while reading a large output.
//!
//! ```text
//! cargo run --example subprocess
//! ```
//!
//! While the children run, a ticker greenlet keeps printing: waiting for a
//! process parks only the waiting greenlet.

use std::time::{Duration, Instant};

use gevent::process::{Command, Stdio};
use gevent::{joinall, spawn, with_timeout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let ticker = spawn(|| {
        for i in 0.. {
            gevent::sleep(Duration::from_millis(100));
            println!("  tick {i}");
        }
    });

    // 1. Several commands at once.
    let commands: [&[&str]; 3] = [
        &["uname", "-s"],
        &["sh", "-c", "sleep 0.2; echo slept"],
        &["ls", "/"],
    ];
    let jobs: Vec<_> = commands
        .iter()
        .map(|argv| {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            spawn(move || Command::new(&argv[0]).args(&argv[1..]).output())
        })
        .collect();
    joinall(&jobs, Some(Duration::from_secs(30)))?;
    for (argv, job) in commands.iter().zip(&jobs) {
        let out = job.take()??;
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("");
        println!(
            "{:?}: {} ({} lines, first {first:?})",
            argv.join(" "),
            out.status,
            text.lines().count()
        );
    }
    println!(
        "three commands in {:?} (they ran concurrently)",
        start.elapsed()
    );

    // 2. A command that takes too long: a Timeout around its wait, then kill.
    let mut slow = Command::new("sleep").arg("30").spawn()?;
    match with_timeout(Duration::from_millis(300), || slow.wait()) {
        Err(gevent::Error::Timeout) => {
            slow.kill()?;
            println!("sleep 30: timed out after 300 ms, killed: {}", slow.wait()?);
        }
        other => println!("sleep 30: unexpected {other:?}"),
    }

    // 3. communicate: 8 MiB in, 8 MiB out on stdout and again on stderr,
    // with no deadlock although every pipe fills up.
    let input: Vec<u8> = (0..8u32 << 20).map(|i| (i % 253) as u8).collect();
    let mut child = Command::new("sh")
        .args(["-c", "tee /dev/stderr"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = child.communicate(Some(&input), Some(Duration::from_secs(60)))?;
    println!(
        "communicate: sent {} bytes, got {} on stdout and {} on stderr, intact: {}, status {}",
        input.len(),
        out.stdout.len(),
        out.stderr.len(),
        out.stdout == input && out.stderr == input,
        out.status
    );

    ticker.kill()?;
    println!("done in {:?}", start.elapsed());
    Ok(())
}
