//! Resolve several host names at once, the first example of the gevent
//! article:
//!
//! ```python
//! jobs = [gevent.spawn(socket.gethostbyname, url) for url in urls]
//! gevent.joinall(jobs, timeout=2)
//! [job.value for job in jobs]
//! ```
//!
//! Each lookup runs in its own greenlet; `joinall` waits at most 2 s for
//! them all. With no arguments the names come from `/etc/hosts` (so it
//! runs offline): `localhost`, this machine's host name if the file lists
//! it, and a literal address. Give names on the command line to look
//! those up instead (that asks your name servers).
//!
//! ```text
//! cargo run --example dns_resolve
//! cargo run --example dns_resolve -- www.example.com www.python.org
//! GEVENT_RESOLVER=block cargo run --example dns_resolve
//! GEVENT_RESOLVER=ares cargo run --features ares --example dns_resolve
//! ```

use std::time::Duration;

use gevent::resolver::{self, gethostbyname};

/// Names every machine can resolve offline.
fn default_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let listed: Vec<&str> = hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect();
    if let Ok(me) = std::fs::read_to_string("/etc/hostname") {
        let me = me.trim();
        if !me.is_empty() && me != "localhost" && listed.contains(&me) {
            names.push(me.to_string());
        }
    }
    names.push("127.0.0.1".to_string());
    names
}

fn main() {
    if let Err(e) = run() {
        eprintln!("dns_resolve: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names = if args.is_empty() {
        default_names()
    } else {
        args
    };
    println!("resolver: {}", resolver::get_resolver()?.kind());

    let jobs: Vec<_> = names
        .iter()
        .map(|name| {
            let name = name.clone();
            gevent::spawn(move || gethostbyname(&name))
        })
        .collect();
    gevent::joinall(&jobs, Some(Duration::from_secs(2)))?;

    for (name, job) in names.iter().zip(&jobs) {
        match job.take() {
            Ok(Ok(ip)) => println!("{name:<20} {ip}"),
            Ok(Err(e)) => println!("{name:<20} error: {e}"),
            Err(gevent::Error::NotReady) => {
                println!("{name:<20} (no answer within 2 s)");
                job.kill_nowait();
            }
            Err(e) => println!("{name:<20} failed: {e}"),
        }
    }
    Ok(())
}
