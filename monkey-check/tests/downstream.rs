//! gevent's hooks are live in a binary that merely depends on gevent with
//! the `monkey` feature (rust-lang/rust#88085 is about native libraries
//! whose symbols do not reach the final binary): std calls and C code
//! linked in become cooperative after `patch_all()`, on every backend.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::core::Loop;

fn on_every_backend(body: fn()) {
    for b in Loop::usable_backends().iter() {
        println!("backend {b}");
        gevent::run_on_backend(b, body).unwrap();
    }
}

/// A greenlet counting its turns (always ready: it runs whenever another
/// greenlet parks) until told to stop.
fn ticker() -> (Rc<Cell<u64>>, Rc<Cell<bool>>, gevent::Greenlet<()>) {
    let (ticks, stop) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let (t, s) = (ticks.clone(), stop.clone());
    let g = gevent::spawn(move || {
        while !s.get() {
            t.set(t.get() + 1);
            gevent::sleep(Duration::ZERO);
        }
    });
    (ticks, stop, g)
}

#[test]
fn c_sleeps_are_cooperative() {
    gevent::monkey::patch_all().unwrap();
    on_every_backend(|| {
        let t = Instant::now();
        let gs: Vec<_> = (0..50)
            .map(|_| gevent::spawn(|| monkey_check::c_sleep(100)))
            .collect();
        gevent::joinall(&gs, Some(Duration::from_secs(20))).unwrap();
        assert!(gs.iter().all(|g| g.successful()));
        // 5 s if they ran one after another.
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{:?}",
            t.elapsed()
        );
    });
}

#[test]
fn c_client_socket_io_and_poll_are_cooperative() {
    gevent::monkey::patch_all().unwrap();
    on_every_backend(|| {
        // A std server whose every reply takes 100 ms (a std sleep).
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let _server = gevent::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { break };
                gevent::spawn(move || {
                    let mut buf = [0; 64];
                    let n = c.read(&mut buf).unwrap_or(0);
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = c.write_all(&buf[..n]);
                });
            }
        });
        let (ticks, stop, tk) = ticker();
        let t = Instant::now();
        let clients: Vec<_> = (0..50)
            .map(|i| {
                let ticks = ticks.clone();
                gevent::spawn(move || {
                    let seen = ticks.get();
                    let r = monkey_check::c_echo(port, &format!("client {i}"), 64);
                    (
                        r.map(|v| v == format!("client {i}").as_bytes()),
                        ticks.get() > seen,
                    )
                })
            })
            .collect();
        gevent::joinall(&clients, Some(Duration::from_secs(20))).unwrap();
        let elapsed = t.elapsed();
        stop.set(true);
        tk.join().unwrap();
        for c in &clients {
            let (ok, others_ran) = c.take().unwrap();
            assert!(ok.unwrap(), "wrong echo");
            assert!(others_ran, "the C client blocked the thread");
        }
        // Serially: 50 x 100 ms.
        assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    });
}

#[test]
fn std_sleep_in_a_plain_thread_really_sleeps() {
    gevent::monkey::patch_all().unwrap();
    // No hub on this thread: the real nanosleep.
    let t = Instant::now();
    std::thread::spawn(|| std::thread::sleep(Duration::from_millis(30)))
        .join()
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(30));
}
