//! Feature `tokio`: tokio-bound futures from greenlets through
//! `gevent::tokio::block_on`, on every backend; and examples/async_client.
#![cfg(feature = "tokio")]

#[path = "util/examples.rs"]
mod examples;
#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gevent::Error;
use gutil::each_backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn tokio_futures_run_while_greenlets_run() {
    each_backend(|| {
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = gevent::spawn(move || {
            loop {
                t.set(t.get() + 1);
                gevent::sleep(Duration::from_millis(1));
            }
        });
        let v = gevent::tokio::block_on(async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            "slept"
        })
        .unwrap();
        assert_eq!(v, "slept");
        assert!(ticks.get() > 1, "ticks {}", ticks.get());
        ticker.kill().unwrap();
    });
}

#[test]
fn a_tcp_round_trip_on_tokio_from_greenlets() {
    each_backend(|| {
        // A tokio echo server, and greenlets talking to it with tokio sockets.
        let addr = gevent::tokio::block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = l.accept().await {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 64];
                        while let Ok(n) = s.read(&mut buf).await {
                            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            addr
        })
        .unwrap();
        let gs: Vec<_> = (0..10u8)
            .map(|i| {
                gevent::spawn(move || {
                    gevent::tokio::block_on(async move {
                        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                        s.write_all(&[i; 3]).await.unwrap();
                        let mut back = [0u8; 3];
                        s.read_exact(&mut back).await.unwrap();
                        back
                    })
                    .unwrap()
                })
            })
            .collect();
        gevent::joinall(&gs, Some(LONG)).unwrap();
        for (i, g) in gs.iter().enumerate() {
            assert_eq!(g.value(), Some([i as u8; 3]));
        }
    });
}

#[test]
fn a_panicking_task_is_an_error() {
    each_backend(|| {
        let r = gevent::tokio::block_on(async {
            tokio::task::yield_now().await;
            panic!("tokio side")
        });
        assert!(matches!(r, Err(Error::Panicked(m)) if m.contains("tokio side")));
    });
}

/// Sets its flag when dropped (on a tokio thread).
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn wait_flag(flag: &AtomicBool) -> bool {
    let start = Instant::now();
    while !flag.load(Ordering::SeqCst) && start.elapsed() < LONG {
        gevent::sleep(Duration::from_millis(1));
    }
    flag.load(Ordering::SeqCst)
}

#[test]
fn kill_and_timeout_abort_the_task() {
    each_backend(|| {
        let dropped = Arc::new(AtomicBool::new(false));
        let d = DropFlag(dropped.clone());
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let g = gevent::spawn(move || {
            gevent::tokio::block_on(async move {
                let _d = d;
                s.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await
            })
        });
        assert!(wait_flag(&started));
        g.kill().unwrap();
        assert!(g.dead());
        assert!(wait_flag(&dropped), "the killed task was not dropped");

        let dropped = Arc::new(AtomicBool::new(false));
        let d = DropFlag(dropped.clone());
        let r = gevent::with_timeout(Duration::from_millis(20), move || {
            gevent::tokio::block_on(async move {
                let _d = d;
                tokio::time::sleep(Duration::from_secs(3600)).await
            })
        });
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        assert!(wait_flag(&dropped), "the timed-out task was not dropped");
    });
}

#[test]
fn a_handle_from_the_program_and_many_greenlets() {
    each_backend(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let h = rt.handle().clone();
        let gs: Vec<_> = (0..100u64)
            .map(|i| {
                let h = h.clone();
                gevent::spawn(move || {
                    gevent::tokio::block_on_in(&h, async move {
                        tokio::time::sleep(Duration::from_millis(i % 7)).await;
                        i * 3
                    })
                    .unwrap()
                })
            })
            .collect();
        gevent::joinall(&gs, Some(LONG)).unwrap();
        for (i, g) in gs.iter().enumerate() {
            assert_eq!(g.value(), Some(i as u64 * 3));
        }
        // A runtime shut down under a waiting greenlet: an error, no hang.
        let waiter = {
            let h = h.clone();
            gevent::spawn(move || gevent::tokio::block_on_in(&h, std::future::pending::<()>()))
        };
        gevent::sleep(Duration::from_millis(5));
        rt.shutdown_timeout(Duration::from_secs(1));
        waiter.join().unwrap();
        assert!(matches!(waiter.take(), Ok(Err(Error::Killed(_)))));
        // Spawning on a runtime that is gone: an error too.
        assert!(matches!(
            gevent::tokio::block_on_in(&h, async { 1 }),
            Err(Error::Killed(_))
        ));
    });
}

#[test]
fn on_the_hub_it_is_an_error() {
    each_backend(|| {
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        gevent::get_hub().run_callback(move || {
            g.set(Some(matches!(
                gevent::tokio::block_on(async { 1 }),
                Err(Error::BlockingInHub)
            )));
        });
        assert!(gutil::yield_until(100, || got.get().is_some()));
        assert_eq!(got.get(), Some(true));
    });
}

#[test]
fn async_client_example_fetches_every_page_both_ways() {
    let out = std::process::Command::new(examples::build_example("async_client"))
        .arg("20")
        .output()
        .expect("run examples/async_client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gevent::tokio::block_on: 20/20 pages"),
        "{stdout}"
    );
    assert!(stdout.contains("plain tokio program:"), "{stdout}");
    assert!(stdout.matches("20/20 pages").count() == 2, "{stdout}");
}
