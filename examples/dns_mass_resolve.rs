//! Resolve many names with at most N lookups at a time, as gevent's
//! `dns_mass_resolve.py` does: a [`Pool`] bounds the concurrency, and the
//! whole run is bounded by a 2 s [`Timeout`].
//!
//! With no input it generates an offline list: the names in `/etc/hosts`
//! and numeric addresses, repeated up to the count. Give names on the
//! command line (or `-` to read them from stdin, one per line) to resolve
//! those instead.
//!
//! ```text
//! cargo run --example dns_mass_resolve                 # 1000 names, pool of 100
//! cargo run --example dns_mass_resolve -- --count 5000 --pool 20
//! cargo run --example dns_mass_resolve -- 10.com 11.com 12.com
//! ```

use std::cell::Cell;
use std::io::BufRead;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::Timeout;
use gevent::pool::Pool;
use gevent::resolver::{self, gethostbyname};

fn offline_names(count: usize) -> Vec<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut base: Vec<String> = hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    base.sort();
    base.dedup();
    if base.is_empty() {
        base.push("localhost".into());
    }
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                base[(i / 2) % base.len()].clone()
            } else {
                format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
            }
        })
        .collect()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("dns_mass_resolve: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut count = 1000usize;
    let mut pool_size = 100usize;
    let mut quiet = false;
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count = args.next().ok_or("--count needs a number")?.parse()?,
            "--pool" => pool_size = args.next().ok_or("--pool needs a number")?.parse()?,
            "--quiet" | "-q" => quiet = true,
            "-" => {
                for line in std::io::stdin().lock().lines() {
                    let line = line?;
                    if !line.trim().is_empty() {
                        names.push(line.trim().to_string());
                    }
                }
            }
            _ => names.push(a),
        }
    }
    if names.is_empty() {
        names = offline_names(count);
    }
    let total = names.len();
    println!(
        "resolving {total} names, {pool_size} at a time, with the {} resolver",
        resolver::get_resolver()?.kind()
    );

    let pool = Pool::new(pool_size)?;
    let finished = Rc::new(Cell::new(0usize));
    let failed = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    let timeout = Timeout::new(Some(Duration::from_secs(2)));
    let outcome = timeout.catch(|| -> Result<(), gevent::Error> {
        for name in names {
            let (finished, failed) = (finished.clone(), failed.clone());
            pool.spawn(move || {
                match gethostbyname(&name) {
                    Ok(ip) if !quiet => println!("{name} = {ip}"),
                    Ok(_) => {}
                    Err(e) => {
                        failed.set(failed.get() + 1);
                        if !quiet {
                            println!("{name} failed with {e}");
                        }
                    }
                }
                finished.set(finished.get() + 1);
            })?;
        }
        pool.join()
    });
    if outcome.is_err() {
        pool.kill()?;
    }
    println!(
        "finished within 2 seconds: {}/{total} ({} failed) in {:.1} ms",
        finished.get(),
        failed.get(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
