//! Name resolution: every resolver, on every backend where watchers are
//! involved. Never touches the network: libc lookups use /etc/hosts names
//! and failures libc decides locally; c-ares talks only to a small DNS
//! server this file runs on 127.0.0.1.

#[path = "util/dns_server.rs"]
mod dns_server;

use std::cell::Cell;
use std::io::ErrorKind;
#[cfg(feature = "ares")]
use std::net::Ipv6Addr;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use gevent::core::Loop;
use gevent::resolver::{
    self, AiFlags, BlockResolver, Family, Hints, NiFlags, Resolve, Resolver, ResolverKind, Service,
    SockType, ThreadResolver,
};

/// Runs `f` on a fresh thread (and hub) per usable backend.
fn on_every_backend<F>(f: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for b in Loop::usable_backends().iter() {
        let f = f.clone();
        gevent::run_on_backend(b, f).expect("backend");
    }
}

/// The libc resolvers (plus, with the feature, c-ares pointed at `dns`).
fn resolvers(dns: Option<SocketAddr>) -> Vec<Resolver> {
    #[allow(unused_mut)]
    let mut v = vec![
        Resolver::from(ThreadResolver::new()),
        Resolver::from(BlockResolver::new()),
    ];
    #[cfg(feature = "ares")]
    if let Some(dns) = dns {
        v.push(Resolver::from(ares::local(dns)));
    }
    #[cfg(not(feature = "ares"))]
    let _ = dns;
    v
}

fn is_loopback(a: &SocketAddr) -> bool {
    a.ip().is_loopback()
}

#[test]
fn localhost_from_the_hosts_file() {
    let dns = dns_server::DnsServer::start(&[]).unwrap();
    let addr = dns.addr();
    on_every_backend(move || {
        for r in resolvers(Some(addr)) {
            let kind = r.kind();
            let all = r
                .getaddrinfo("localhost", Service::Port(80), &Hints::stream())
                .unwrap();
            assert!(!all.is_empty(), "{kind}");
            for a in &all {
                assert!(is_loopback(&a.addr), "{kind}: {a:?}");
                assert_eq!(a.addr.port(), 80);
                assert_eq!(a.socktype, SockType::Stream);
                assert_eq!(a.protocol, libc::IPPROTO_TCP);
            }
            assert_eq!(
                r.gethostbyname("localhost").unwrap(),
                Ipv4Addr::LOCALHOST,
                "{kind}"
            );
            let (name, _aliases, v4) = r.gethostbyname_ex("localhost").unwrap();
            assert_eq!(name, "localhost", "{kind}");
            assert!(v4.contains(&Ipv4Addr::LOCALHOST), "{kind}");
            let addrs = r.resolve("localhost", 8080).unwrap();
            assert!(!addrs.is_empty() && addrs.iter().all(|a| is_loopback(a) && a.port() == 8080));
            // No duplicates in resolve().
            let mut dedup = addrs.clone();
            dedup.dedup();
            assert_eq!(dedup, addrs);
            // Canonical name on the first result only.
            let canon = r
                .getaddrinfo(
                    "localhost",
                    Service::None,
                    &Hints::default().flags(AiFlags::CANONNAME),
                )
                .unwrap();
            assert_eq!(canon[0].canonname.as_deref(), Some("localhost"), "{kind}");
            assert!(canon[1..].iter().all(|a| a.canonname.is_none()));
        }
    });
    // The hosts file answered: c-ares never asked the name server.
    assert_eq!(dns.queries(), 0);
}

#[test]
fn same_answers_from_every_resolver() {
    let dns = dns_server::DnsServer::start(&[]).unwrap();
    let addr = dns.addr();
    gevent::run_on_backend(Loop::usable_backends().iter().next().unwrap(), move || {
        let hints = Hints::default().family(Family::V4);
        let mut answers = Vec::new();
        for r in resolvers(Some(addr)) {
            answers.push((
                r.kind(),
                r.getaddrinfo("localhost", Service::Port(7), &hints)
                    .unwrap(),
            ));
        }
        for (kind, a) in &answers[1..] {
            assert_eq!(a, &answers[0].1, "{kind} vs {}", answers[0].0);
        }
    })
    .unwrap();
}

#[test]
fn numeric_addresses_never_switch_nor_use_the_pool() {
    on_every_backend(|| {
        let pool = gevent::threadpool::ThreadPool::new(4).unwrap();
        let mut all = resolvers(None);
        all.push(Resolver::from(ThreadResolver::with_pool(pool.clone())));
        for r in all {
            let kind = r.kind();
            let switched = Rc::new(Cell::new(false));
            let s = switched.clone();
            let other = gevent::spawn(move || s.set(true));
            let v = r
                .getaddrinfo("127.0.0.1", Service::Port(80), &Hints::default())
                .unwrap();
            assert_eq!(v.len(), 3, "{kind}: {v:?}"); // stream, datagram, raw (as glibc)
            let v6 = r
                .getaddrinfo("::1", Service::Name("443"), &Hints::stream())
                .unwrap();
            assert_eq!(v6[0].addr, "[::1]:443".parse().unwrap());
            assert_eq!(v6[0].family, Family::V6);
            assert_eq!(
                r.gethostbyname("10.1.2.3").unwrap(),
                Ipv4Addr::new(10, 1, 2, 3)
            );
            assert_eq!(
                r.gethostbyname_ex("10.1.2.3").unwrap(),
                (
                    "10.1.2.3".to_string(),
                    vec![],
                    vec![Ipv4Addr::new(10, 1, 2, 3)]
                )
            );
            assert_eq!(r.resolve("::1", 9).unwrap(), ["[::1]:9".parse().unwrap()]);
            let (h, p) = r
                .getnameinfo(
                    "192.0.2.1:53".parse().unwrap(),
                    NiFlags::NUMERICHOST | NiFlags::NUMERICSERV,
                )
                .unwrap();
            assert_eq!((h.as_str(), p.as_str()), ("192.0.2.1", "53"));
            // A v4 literal with a v6-only family is refused, locally.
            let e = r
                .getaddrinfo(
                    "127.0.0.1",
                    Service::None,
                    &Hints::default().family(Family::V6),
                )
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{kind}: {e}");
            assert!(
                !switched.get(),
                "{kind}: a numeric lookup switched greenlets"
            );
            other.join().unwrap();
        }
        assert_eq!(
            pool.thread_count(),
            0,
            "a numeric lookup used the thread pool"
        );
        // Numeric lookups even work inside a hub callback, where nothing may block.
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        gevent::get_hub().run_callback(move || {
            let r = resolver::getaddrinfo("127.0.0.1", 1, &Hints::stream());
            g.set(Some(r.map(|v| v[0].addr)));
        });
        gevent::sleep(Duration::ZERO);
        assert_eq!(got.take().unwrap().unwrap(), "127.0.0.1:1".parse().unwrap());
    });
}

#[test]
fn thread_resolver_in_the_hub_is_a_clear_error() {
    on_every_backend(|| {
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        gevent::get_hub().run_callback(move || {
            g.set(Some(ThreadResolver::new().gethostbyname("localhost")));
        });
        gevent::sleep(Duration::ZERO);
        let e = got.take().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert!(e.to_string().contains("hub"), "{e}");
    });
}

#[test]
fn getnameinfo_and_gethostbyaddr_of_localhost() {
    let dns = dns_server::DnsServer::start(&[]).unwrap();
    let addr = dns.addr();
    on_every_backend(move || {
        for r in resolvers(Some(addr)) {
            let kind = r.kind();
            let (host, port) = r
                .getnameinfo("127.0.0.1:8080".parse().unwrap(), NiFlags::NUMERICSERV)
                .unwrap();
            assert_eq!(
                (host.as_str(), port.as_str()),
                ("localhost", "8080"),
                "{kind}"
            );
            let (name, _aliases, addrs) = r.gethostbyaddr(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
            assert_eq!(name, "localhost", "{kind}");
            assert!(addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{kind}");
        }
    });
    assert_eq!(dns.queries(), 0);
}

#[test]
fn locally_decided_failures_are_clear() {
    on_every_backend(|| {
        for r in resolvers(None) {
            let kind = r.kind();
            // A name where a numeric address is required: never resolved.
            let numeric = Hints::default().flags(AiFlags::NUMERICHOST);
            let e = r
                .getaddrinfo("no-such-host.invalid", Service::None, &numeric)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{kind}");
            assert!(
                e.to_string()
                    .starts_with("failed to resolve 'no-such-host.invalid': "),
                "{kind}: {e}"
            );
            // An unknown service name.
            let e = r
                .getaddrinfo(
                    "localhost",
                    Service::Name("no-such-service-xyz"),
                    &Hints::stream(),
                )
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{kind}: {e}");
            assert!(
                e.to_string()
                    .starts_with("failed to resolve 'localhost' (service 'no-such-service-xyz'): "),
                "{kind}: {e}"
            );
            // NUL bytes and empty names.
            for bad in ["local\0host", ""] {
                let e = r.gethostbyname(bad).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{kind}: {bad:?}: {e}");
            }
            let e = r.resolve("", 80).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{kind}: {e}");
            let e = r
                .getaddrinfo("", Service::None, &Hints::default())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{kind}: {e}");
            // No host: the loopback or (passive) wildcard address, locally.
            let lo = r
                .getaddrinfo("", Service::Port(80), &Hints::stream().family(Family::V4))
                .unwrap();
            assert_eq!(lo[0].addr, "127.0.0.1:80".parse().unwrap());
            let any = r
                .getaddrinfo(
                    "",
                    Service::Port(80),
                    &Hints::stream().family(Family::V4).flags(AiFlags::PASSIVE),
                )
                .unwrap();
            assert_eq!(any[0].addr, "0.0.0.0:80".parse().unwrap());
        }
    });
}

#[test]
fn parallel_lookups_let_other_greenlets_run() {
    on_every_backend(|| {
        for (r, cooperative) in [
            (Resolver::from(ThreadResolver::new()), true),
            (Resolver::from(BlockResolver::new()), false),
        ] {
            let ticks = Rc::new(Cell::new(0u32));
            let t = ticks.clone();
            let ticker = gevent::spawn(move || {
                loop {
                    t.set(t.get() + 1);
                    gevent::sleep(Duration::ZERO);
                }
            });
            gevent::sleep(Duration::ZERO);
            let before = ticks.get();
            let jobs: Vec<_> = (0..40)
                .map(|_| {
                    let r = r.clone();
                    let ticks = ticks.clone();
                    gevent::spawn(move || {
                        let at_start = ticks.get();
                        let ip = r.gethostbyname("localhost");
                        (ip, ticks.get() - at_start)
                    })
                })
                .collect();
            gevent::joinall(&jobs, Some(Duration::from_secs(10))).unwrap();
            let mut during = 0;
            for j in &jobs {
                let (ip, ticked) = j.take().unwrap();
                assert_eq!(ip.unwrap(), Ipv4Addr::LOCALHOST);
                during += ticked;
            }
            ticker.kill().unwrap();
            assert!(ticks.get() > before);
            if cooperative {
                assert!(
                    during > 0,
                    "the ticker never ran while thread lookups waited"
                );
            } else {
                assert_eq!(during, 0, "the blocking resolver let another greenlet run");
            }
        }
    });
}

#[test]
fn resolver_kinds_parse_with_clear_errors() {
    assert_eq!(
        "thread".parse::<ResolverKind>().unwrap(),
        ResolverKind::Thread
    );
    assert_eq!(
        " ARES ".parse::<ResolverKind>().unwrap(),
        ResolverKind::Ares
    );
    assert_eq!(
        "block".parse::<ResolverKind>().unwrap(),
        ResolverKind::Block
    );
    let e = "dnspython".parse::<ResolverKind>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("expected thread, ares or block"),
        "{e}"
    );
    assert_eq!(
        ResolverKind::available().len(),
        if cfg!(feature = "ares") { 3 } else { 2 }
    );
}

#[test]
fn set_resolver_per_thread() {
    std::thread::spawn(|| {
        resolver::set_resolver(ResolverKind::Block).unwrap();
        assert_eq!(
            resolver::get_resolver().unwrap().kind(),
            ResolverKind::Block
        );
        assert_eq!(
            resolver::gethostbyname("localhost").unwrap(),
            Ipv4Addr::LOCALHOST
        );
        let r = resolver::set_resolver(ResolverKind::Ares);
        if cfg!(feature = "ares") {
            r.unwrap();
            assert_eq!(resolver::get_resolver().unwrap().kind(), ResolverKind::Ares);
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            let msg = e.to_string();
            assert!(
                msg.contains("`ares` cargo feature") && msg.contains("cmake"),
                "{msg}"
            );
            // The current resolver stays.
            assert_eq!(
                resolver::get_resolver().unwrap().kind(),
                ResolverKind::Block
            );
        }
        Resolver::from(ThreadResolver::new()).install();
        assert_eq!(
            resolver::get_resolver().unwrap().kind(),
            ResolverKind::Thread
        );
    })
    .join()
    .unwrap();
}

/// In a child process (see `gevent_resolver_env_selects`): checks what
/// `GEVENT_RESOLVER` selected against `expect`.
fn env_child(expect: String) {
    match resolver::get_resolver() {
        Ok(r) => assert_eq!(r.kind().name(), expect),
        Err(e) => {
            assert!(
                e.to_string().contains(&expect),
                "{e} does not mention {expect}"
            );
            // The same error every time (read once per thread).
            let again = resolver::gethostbyname("localhost").unwrap_err();
            assert_eq!(again.to_string(), e.to_string());
            // Numeric lookups fail too: the misconfiguration is not hidden.
            assert!(resolver::gethostbyname("127.0.0.1").is_err());
        }
    }
}

#[test]
fn gevent_resolver_env_selects() {
    // Child mode: this same test, re-run by the parent below.
    if let Ok(expect) = std::env::var("RESOLVER_TEST_EXPECT") {
        env_child(expect);
        return;
    }
    let ares_expect = if cfg!(feature = "ares") {
        "ares"
    } else {
        "`ares` cargo feature"
    };
    let cases = [
        ("thread", "thread"),
        ("block", "block"),
        ("", "thread"),
        ("ares", ares_expect),
        ("bogus", "GEVENT_RESOLVER=\"bogus\" is not a resolver"),
    ];
    for (value, expect) in cases {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "gevent_resolver_env_selects",
                "--exact",
                "--test-threads=1",
                "--quiet",
            ])
            .env("GEVENT_RESOLVER", value)
            .env("RESOLVER_TEST_EXPECT", expect)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the child for GEVENT_RESOLVER={value:?} hung");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let out = child.wait_with_output().unwrap();
        assert!(
            status.success(),
            "GEVENT_RESOLVER={value:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the child ran no test"
        );
    }
}

#[cfg(feature = "ares")]
mod ares {
    use super::*;
    use gevent::resolver::{AresOptions, AresResolver};

    /// An ares resolver that asks only `dns`, searches no domains and
    /// caches nothing.
    pub fn local(dns: SocketAddr) -> AresResolver {
        AresResolver::with_options(&options(dns)).unwrap()
    }

    fn options(dns: SocketAddr) -> AresOptions {
        AresOptions::new()
            .servers([dns])
            .search_domains(Vec::<String>::new())
            .timeout(Duration::from_millis(200))
            .tries(2)
            .query_cache_max_ttl(0)
    }

    /// Loopback addresses only (c-ares sorts answers by connecting UDP
    /// sockets to them, which sends nothing, but keep even that local).
    fn records() -> Vec<(&'static str, IpAddr)> {
        vec![
            ("alpha.test", IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1))),
            (
                "alpha.test",
                IpAddr::V6("::ffff:127.0.2.1".parse().unwrap()),
            ),
            ("beta.test", IpAddr::V4(Ipv4Addr::new(127, 0, 1, 2))),
            ("beta.test", IpAddr::V4(Ipv4Addr::new(127, 0, 1, 3))),
            ("six.test", IpAddr::V6("::ffff:127.0.2.6".parse().unwrap())),
        ]
    }

    #[test]
    fn answers_from_the_local_server() {
        let dns = dns_server::DnsServer::start(&records()).unwrap();
        let addr = dns.addr();
        on_every_backend(move || {
            let r = local(addr);
            let all = r
                .getaddrinfo("alpha.test", Service::Port(80), &Hints::stream())
                .unwrap();
            let mut ips: Vec<IpAddr> = all.iter().map(|a| a.addr.ip()).collect();
            ips.sort();
            assert_eq!(
                ips,
                [
                    "127.0.1.1".parse::<IpAddr>().unwrap(),
                    "::ffff:127.0.2.1".parse().unwrap()
                ]
            );
            assert!(
                all.iter()
                    .all(|a| a.addr.port() == 80 && a.socktype == SockType::Stream)
            );
            let v6 = r
                .getaddrinfo(
                    "alpha.test",
                    Service::None,
                    &Hints::stream().family(Family::V6),
                )
                .unwrap();
            assert_eq!(v6.len(), 1);
            assert_eq!(
                v6[0].addr.ip(),
                "::ffff:127.0.2.1".parse::<Ipv6Addr>().unwrap()
            );
            // Any socket type: one entry per type, as libc gives.
            let any = r
                .getaddrinfo("beta.test", Service::None, &Hints::default())
                .unwrap();
            assert_eq!(any.len(), 6, "{any:?}");
            assert_eq!(
                r.gethostbyname("beta.test").unwrap(),
                Ipv4Addr::new(127, 0, 1, 2)
            );
            let (name, _, v4) = r.gethostbyname_ex("beta.test").unwrap();
            assert_eq!(name, "beta.test");
            assert_eq!(
                v4,
                [Ipv4Addr::new(127, 0, 1, 2), Ipv4Addr::new(127, 0, 1, 3)]
            );
            assert_eq!(
                r.resolve("six.test", 443).unwrap(),
                ["[::ffff:127.0.2.6]:443".parse().unwrap()]
            );
            // Names are case-insensitive.
            assert_eq!(
                r.gethostbyname("BETA.Test").unwrap(),
                Ipv4Addr::new(127, 0, 1, 2)
            );
        });
        assert!(dns.queries() > 0);
    }

    #[test]
    fn nxdomain_and_missing_families_are_not_found() {
        let dns = dns_server::DnsServer::start(&records()).unwrap();
        let addr = dns.addr();
        on_every_backend(move || {
            let r = local(addr);
            let e = r.gethostbyname("nowhere.test").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound);
            assert!(
                e.to_string()
                    .starts_with("failed to resolve 'nowhere.test': "),
                "{e}"
            );
            let e = r
                .getaddrinfo("nowhere.test", Service::Port(1), &Hints::default())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            // six.test has no IPv4 address.
            let e = r.gethostbyname("six.test").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            let e = r.gethostbyname_ex("six.test").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            let e = r
                .getaddrinfo("nul\0.test", Service::None, &Hints::default())
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        });
    }

    #[test]
    fn a_silent_server_times_out() {
        let dns = dns_server::DnsServer::silent().unwrap();
        let addr = dns.addr();
        on_every_backend(move || {
            let opts = options(addr).timeout(Duration::from_millis(50)).tries(1);
            let r = AresResolver::with_options(&opts).unwrap();
            // Bounded twice: c-ares's own timeout, and ours in case it fails.
            let res =
                gevent::with_timeout(Duration::from_secs(10), || r.gethostbyname("alpha.test"));
            let e = res.expect("c-ares's timeout did not fire").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
            assert!(
                e.to_string()
                    .starts_with("failed to resolve 'alpha.test': "),
                "{e}"
            );
        });
        assert!(dns.queries() > 0);
    }

    #[test]
    fn hosts_file_with_aliases() {
        let dir =
            std::env::temp_dir().join(format!("gevent-resolver-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hosts = dir.join("hosts");
        std::fs::write(
            &hosts,
            "127.0.9.7 main.example alias-one alias-two\n127.0.0.1 localhost\n",
        )
        .unwrap();
        let dns = dns_server::DnsServer::start(&[]).unwrap();
        let addr = dns.addr();
        let h = hosts.clone();
        on_every_backend(move || {
            let r = AresResolver::with_options(&options(addr).hosts_file(&h)).unwrap();
            let (name, aliases, v4) = r.gethostbyname_ex("alias-one").unwrap();
            assert_eq!(name, "main.example");
            assert!(
                aliases.contains(&"alias-two".to_string())
                    || aliases.contains(&"alias-one".to_string()),
                "{aliases:?}"
            );
            assert_eq!(v4, [Ipv4Addr::new(127, 0, 9, 7)]);
            let (rname, _, _) = r.gethostbyaddr("127.0.9.7".parse().unwrap()).unwrap();
            assert_eq!(rname, "main.example");
        });
        assert_eq!(dns.queries(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn many_parallel_lookups_while_another_greenlet_runs() {
        let dns = dns_server::DnsServer::start(&records()).unwrap();
        let addr = dns.addr();
        on_every_backend(move || {
            let r = local(addr);
            let ticks = Rc::new(Cell::new(0u32));
            let t = ticks.clone();
            let ticker = gevent::spawn(move || {
                loop {
                    t.set(t.get() + 1);
                    gevent::sleep(Duration::ZERO);
                }
            });
            let names = ["alpha.test", "beta.test", "nowhere.test"];
            let jobs: Vec<_> = (0..60)
                .map(|i| {
                    let r = r.clone();
                    let ticks = ticks.clone();
                    gevent::spawn(move || {
                        let at_start = ticks.get();
                        let res = r.gethostbyname(names[i % 3]);
                        (res, ticks.get() - at_start)
                    })
                })
                .collect();
            gevent::joinall(&jobs, Some(Duration::from_secs(10))).unwrap();
            let mut during = 0;
            for (i, j) in jobs.iter().enumerate() {
                let (res, ticked) = j.take().unwrap();
                during += ticked;
                match i % 3 {
                    0 => assert_eq!(res.unwrap(), Ipv4Addr::new(127, 0, 1, 1)),
                    1 => assert_eq!(res.unwrap(), Ipv4Addr::new(127, 0, 1, 2)),
                    _ => assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound),
                }
            }
            assert!(
                during > 0,
                "the ticker never ran while c-ares lookups waited"
            );
            ticker.kill().unwrap();
        });
    }

    #[test]
    fn a_killed_lookup_leaves_the_resolver_usable() {
        let dns =
            dns_server::DnsServer::start_delayed(&records(), Duration::from_millis(30)).unwrap();
        let addr = dns.addr();
        on_every_backend(move || {
            let r = local(addr);
            let r2 = r.clone();
            let victim = gevent::spawn(move || r2.gethostbyname("alpha.test"));
            gevent::sleep(Duration::ZERO); // let it send its query and park
            victim.kill().unwrap();
            assert!(victim.ready());
            assert_eq!(
                r.gethostbyname("beta.test").unwrap(),
                Ipv4Addr::new(127, 0, 1, 2)
            );
            // A timeout around a lookup interrupts it cleanly too.
            let t =
                gevent::with_timeout(Duration::from_millis(1), || r.gethostbyname("alpha.test"));
            assert!(t.is_err());
            assert_eq!(
                r.gethostbyname("alpha.test").unwrap(),
                Ipv4Addr::new(127, 0, 1, 1)
            );
        });
    }

    #[test]
    fn a_thread_may_exit_with_an_ares_resolver_installed() {
        let dns = dns_server::DnsServer::start(&records()).unwrap();
        let addr = dns.addr();
        for b in Loop::usable_backends().iter() {
            gevent::run_on_backend(b, move || {
                Resolver::from(local(addr)).install();
                assert_eq!(
                    resolver::gethostbyname("alpha.test").unwrap(),
                    Ipv4Addr::new(127, 0, 1, 1)
                );
                // A lookup left running by a greenlet that never finishes.
                let g = gevent::spawn(|| resolver::gethostbyname("nowhere.test"));
                gevent::sleep(Duration::ZERO);
                assert!(!g.ready());
            })
            .unwrap();
        }
    }

    #[test]
    fn default_channel_from_env_kind() {
        std::thread::spawn(|| {
            resolver::set_resolver(ResolverKind::Ares).unwrap();
            // /etc/hosts answers localhost without asking any server.
            assert_eq!(
                resolver::gethostbyname("localhost").unwrap(),
                Ipv4Addr::LOCALHOST
            );
            assert_eq!(
                resolver::gethostbyname("127.0.0.1").unwrap(),
                Ipv4Addr::LOCALHOST
            );
        })
        .join()
        .unwrap();
    }
}
