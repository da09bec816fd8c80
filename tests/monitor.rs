//! The blocking monitor, events and run_info, on every backend.

#[path = "util/examples.rs"]
mod examples;
#[path = "util/greenlet.rs"]
mod gutil;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gevent::events::{self, Event};
use gevent::monitor;
use gutil::each_backend;

/// The monitor is process-wide: one test at a time touches it.
static MONITOR: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    MONITOR.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn stall_is_reported_once_naming_the_greenlet() {
    let _l = lock();
    monitor::set_report_to_stderr(true);
    monitor::start(Duration::from_millis(50)).unwrap();
    each_backend(|| {
        let name = format!("blocker-{}", gevent::get_hub().loop_().backend());
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r2 = reports.clone();
        let n2 = name.clone();
        let sub = events::subscribe(move |e| {
            if let Event::BlockingDetected(r) = e
                && r.greenlet.as_deref() == Some(n2.as_str())
            {
                r2.lock().unwrap().push(r.clone());
            }
        });
        // Something the hub should be doing meanwhile.
        let ticker = gevent::spawn(|| {
            loop {
                gevent::sleep(Duration::from_millis(1));
            }
        });
        gevent::sleep(Duration::from_millis(20));
        let g = gevent::Builder::new().name(name.clone()).spawn(|| {
            std::thread::sleep(Duration::from_millis(400)); // blocks the hub
        });
        g.join().unwrap();
        let t = Instant::now();
        while reports.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(10) {
            gevent::sleep(Duration::from_millis(10));
        }
        // Idle afterwards: no second report for the same stall.
        gevent::sleep(Duration::from_millis(300));
        ticker.kill().unwrap();
        events::unsubscribe(sub);
        let reports = reports.lock().unwrap();
        assert_eq!(
            reports.len(),
            1,
            "{name}: expected one report, got {reports:?}"
        );
        let r = &reports[0];
        assert!(r.finished);
        assert!(r.duration >= Duration::from_millis(50), "{r:?}");
        assert!(
            r.spawned_at
                .as_deref()
                .is_some_and(|s| s.contains("monitor.rs")),
            "{r:?}"
        );
        assert!(r.thread.starts_with("gevent-"), "{r:?}");
        println!("{r}");
    });
    monitor::stop();
}

#[test]
fn an_idle_hub_is_not_a_stall() {
    let _l = lock();
    monitor::start(Duration::from_millis(30)).unwrap();
    each_backend(|| {
        let me = std::thread::current().name().unwrap().to_string();
        let hits = Arc::new(Mutex::new(0));
        let h2 = hits.clone();
        let sub = events::subscribe(move |e| {
            if let Event::BlockingDetected(r) = e
                && r.thread == me
            {
                *h2.lock().unwrap() += 1;
            }
        });
        // Waiting in the loop for 300 ms (10x the limit) is not blocking.
        gevent::sleep(Duration::from_millis(300));
        events::unsubscribe(sub);
        assert_eq!(*hits.lock().unwrap(), 0);
    });
    monitor::stop();
}

#[test]
fn run_info_lists_live_greenlets() {
    each_backend(|| {
        let parent = gevent::Builder::new().name("parent").spawn(|| {
            let child = gevent::Builder::new()
                .name("child")
                .spawn(|| gevent::sleep(Duration::from_secs(30)));
            gevent::sleep(Duration::from_secs(30));
            drop(child);
        });
        gevent::sleep(Duration::from_millis(5));
        let info = monitor::run_info();
        let p = info
            .iter()
            .find(|i| i.name == "parent")
            .expect("parent listed");
        let c = info
            .iter()
            .find(|i| i.name == "child")
            .expect("child listed");
        assert_eq!(c.parent, Some(p.id));
        assert_eq!((p.state, c.state), ("parked", "parked"));
        assert!(p.spawned_at.unwrap().file().ends_with("monitor.rs"));
        assert!(
            info.iter()
                .any(|i| i.name == "MainGreenlet" && i.state == "running")
        );
        assert!(info.iter().any(|i| i.name == "Hub"));
        let text = monitor::format_run_info();
        assert!(text.contains("\"child\""), "{text}");
        parent.kill().unwrap();
        // Dead greenlets are not listed; many short ones do not pile up.
        for _ in 0..1000 {
            gevent::spawn(|| ()).join().unwrap();
        }
        let info = monitor::run_info();
        assert!(!info.iter().any(|i| i.name == "parent"));
        assert!(info.len() < 10, "{} entries", info.len());
    });
}

#[test]
fn spawn_events_reach_subscribers() {
    each_backend(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let sub = events::subscribe(move |e| {
            if let Event::GreenletSpawned {
                name: Some(n),
                spawned_at,
                ..
            } = e
                && n.starts_with("evt-")
            {
                s2.lock().unwrap().push((n.clone(), spawned_at.line()));
            }
        });
        let line = line!() + 1;
        let g = gevent::Builder::new().name("evt-a").spawn(|| ());
        g.join().unwrap();
        assert!(events::unsubscribe(sub));
        gevent::Builder::new()
            .name("evt-b")
            .spawn(|| ())
            .join()
            .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(*seen, vec![("evt-a".to_string(), line)]);
    });
}

#[test]
fn panicking_subscriber_does_not_break_others() {
    let hits = Arc::new(Mutex::new(0));
    let h2 = hits.clone();
    let a = events::subscribe(|e| {
        if let Event::GreenletSpawned { name: Some(n), .. } = e
            && n == "panic-probe"
        {
            panic!("subscriber bug");
        }
    });
    let b = events::subscribe(move |e| {
        if let Event::GreenletSpawned { name: Some(n), .. } = e
            && n == "panic-probe"
        {
            *h2.lock().unwrap() += 1;
        }
    });
    std::thread::spawn(|| {
        gevent::Builder::new()
            .name("panic-probe")
            .spawn(|| ())
            .join()
            .unwrap()
    })
    .join()
    .unwrap();
    events::unsubscribe(a);
    events::unsubscribe(b);
    assert_eq!(*hits.lock().unwrap(), 1);
}

#[test]
fn memory_threshold_event() {
    let _l = lock();
    let seen = Arc::new(Mutex::new(None));
    let s2 = seen.clone();
    let sub = events::subscribe(move |e| {
        if let Event::MemoryThresholdExceeded { rss, threshold } = e {
            *s2.lock().unwrap() = Some((*rss, *threshold));
        }
    });
    monitor::set_max_memory_usage(Some(1)); // surely exceeded
    monitor::start(Duration::from_millis(100)).unwrap();
    let t = Instant::now();
    while seen.lock().unwrap().is_none() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    monitor::stop();
    monitor::set_max_memory_usage(None);
    events::unsubscribe(sub);
    let (rss, threshold) = seen.lock().unwrap().expect("no memory event");
    assert_eq!(threshold, 1);
    assert!(rss > 1);
}

#[test]
fn bad_configuration_is_an_error() {
    assert!(monitor::start(Duration::ZERO).is_err());
    for v in ["", "0", "-0.1", "nan", "inf", "1e300", "soon"] {
        assert!(monitor::parse_max_blocking_time(v).is_err(), "{v:?}");
    }
    assert_eq!(
        monitor::parse_max_blocking_time(" 0.5 ").unwrap(),
        Duration::from_millis(500)
    );
    // A huge limit is accepted (never fires) without overflow.
    let _l = lock();
    monitor::start(Duration::MAX).unwrap();
    assert_eq!(monitor::max_blocking_time(), Some(Duration::MAX));
    std::thread::sleep(Duration::from_millis(20));
    monitor::stop();
}

#[test]
fn env_variables_enable_the_monitor() {
    // In a fresh process, so the first hub reads the variables.
    if std::env::var_os("GEVENT_TEST_MONITOR_ENV").is_some() {
        gevent::sleep(Duration::from_millis(1));
        assert_eq!(
            monitor::max_blocking_time(),
            Some(Duration::from_millis(70))
        );
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_variables_enable_the_monitor",
            "--test-threads=1",
        ])
        .env("GEVENT_TEST_MONITOR_ENV", "1")
        .env("GEVENT_MONITOR_THREAD_ENABLE", "true")
        .env("GEVENT_MAX_BLOCKING_TIME", "0.07")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"));
}

#[test]
fn monitor_example_reports_the_sleepy_greenlet() {
    let out = std::process::Command::new(examples::build_example("monitor"))
        .env_remove("GEVENT_MONITOR_THREAD_ENABLE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert!(
        text.contains("subscriber saw: greenlet \"sleepy-worker\""),
        "{text}"
    );
    assert!(err.contains("by greenlet \"sleepy-worker\""), "{err}");
    assert!(text.contains("\"ticker\""), "{text}");
}
