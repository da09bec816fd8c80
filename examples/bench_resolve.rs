//! How much a cooperative lookup costs next to a blocking one: resolves
//! `localhost` (from /etc/hosts, so offline) N times with each resolver,
//! one after another and from many greenlets at once, and prints
//! `resolve_per_name_us` (wall-clock microseconds per name) for each.
//! With the `ares` feature it also resolves names from a small DNS server
//! it runs on 127.0.0.1 (c-ares's cache off, so every lookup is a query).
//!
//! ```text
//! cargo run --release --example bench_resolve [N]
//! cargo run --release --features ares --example bench_resolve [N]
//! ```

#[cfg(feature = "ares")]
#[path = "../tests/util/dns_server.rs"]
mod dns_server;

use std::time::{Duration, Instant};

use gevent::resolver::{BlockResolver, Resolve, Resolver, ThreadResolver};

/// Microseconds per lookup of `name`, `n` lookups one after another.
fn sequential(r: &Resolver, name: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        r.gethostbyname(name).expect("lookup");
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Microseconds per lookup of `name`, `n` lookups from `width` greenlets.
fn parallel(r: &Resolver, name: &str, n: usize, width: usize) -> f64 {
    let start = Instant::now();
    let jobs: Vec<_> = (0..width)
        .map(|w| {
            let r = r.clone();
            let name = name.to_string();
            let mine = n / width + usize::from(w < n % width);
            gevent::spawn(move || {
                for _ in 0..mine {
                    r.gethostbyname(&name).expect("lookup");
                }
            })
        })
        .collect();
    gevent::joinall(&jobs, Some(Duration::from_secs(120))).expect("joinall");
    assert!(jobs.iter().all(|j| j.successful()), "a lookup failed");
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn report(resolver: &str, mode: &str, name: &str, us: f64) {
    println!("resolve_per_name_us {resolver:<6} {mode:<10} {name:<10} {us:>8.2}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One resolver under test: label, resolver, name, lookups per round.
struct Case {
    label: &'static str,
    resolver: Resolver,
    name: &'static str,
    n: usize,
    seq: Vec<f64>,
    par: Vec<f64>,
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rounds = 5;
    let width = 10; // the default thread pool's size
    println!(
        "# median of {rounds} interleaved rounds of {n} lookups; parallel = {width} greenlets"
    );
    let mut cases = vec![
        Case::new(
            "block",
            Resolver::from(BlockResolver::new()),
            "localhost",
            n,
        ),
        Case::new(
            "thread",
            Resolver::from(ThreadResolver::new()),
            "localhost",
            n,
        ),
    ];
    #[cfg(feature = "ares")]
    let _dns = ares::add_cases(&mut cases, n);
    // The floor of the thread resolver's overhead: a no-op pool round trip.
    let pool = gevent::get_hub().threadpool();
    let mut pool_rt = Vec::new();
    for c in &mut cases {
        sequential(&c.resolver, c.name, c.n / 10); // warm up
    }
    for _ in 0..rounds {
        for c in &mut cases {
            c.seq.push(sequential(&c.resolver, c.name, c.n));
            c.par.push(parallel(&c.resolver, c.name, c.n, width));
        }
        let start = Instant::now();
        for _ in 0..n {
            pool.apply(|| ()).expect("pool");
        }
        pool_rt.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    let mut medians = Vec::new();
    for c in cases {
        let (s, p) = (median(c.seq), median(c.par));
        report(c.label, "sequential", c.name, s);
        report(c.label, "parallel", c.name, p);
        medians.push((c.label, c.name, s, p));
    }
    println!("# thread pool no-op round trip: {:.2} us", median(pool_rt));
    let (_, _, bs, bp) = medians[0];
    for (label, name, s, p) in &medians[1..] {
        if *name == "localhost" {
            println!(
                "# {label}/block: sequential {:.2}x, parallel {:.2}x",
                s / bs,
                p / bp
            );
        }
    }
}

impl Case {
    fn new(label: &'static str, resolver: Resolver, name: &'static str, n: usize) -> Case {
        Case {
            label,
            resolver,
            name,
            n,
            seq: Vec::new(),
            par: Vec::new(),
        }
    }
}

#[cfg(feature = "ares")]
mod ares {
    use super::{Case, Resolver, dns_server};
    use gevent::resolver::{AresOptions, AresResolver};
    use std::net::{IpAddr, Ipv4Addr};

    /// Adds c-ares on /etc/hosts (localhost) and on real UDP queries to a
    /// local server (c-ares's cache off); returns the server to keep alive.
    pub fn add_cases(cases: &mut Vec<Case>, n: usize) -> dns_server::DnsServer {
        let dns = dns_server::DnsServer::start(&[(
            "bench.test",
            IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)),
        )])
        .expect("fake DNS server");
        let opts = AresOptions::new()
            .servers([dns.addr()])
            .search_domains(Vec::<String>::new())
            .query_cache_max_ttl(0);
        let r = Resolver::from(AresResolver::with_options(&opts).expect("ares"));
        cases.push(Case::new("ares", r.clone(), "localhost", n));
        cases.push(Case::new("ares", r, "bench.test", n / 4));
        dns
    }
}
