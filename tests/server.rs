//! StreamServer: serving, backpressure, max_accept, stop, panics, TLS,
//! Unix sockets, workers, socket activation, accept backoff under EMFILE,
//! graceful SIGTERM. Every test runs on every usable backend.

#[path = "util/examples.rs"]
mod examples;
#[path = "util/greenlet.rs"]
mod gutil;
mod tls_util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::net::TcpStream;
use gevent::server::{Address, Stream, StreamServer};
use gutil::each_backend;

fn inet(s: &StreamServer) -> SocketAddr {
    s.local_addr().unwrap().as_inet().unwrap()
}

fn echo(mut s: Stream, _peer: Address) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// Connects, sends `msg`, reads it back.
fn roundtrip(addr: SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    c.write_all(msg)?;
    let mut back = vec![0; msg.len()];
    c.read_exact(&mut back)?;
    Ok(back)
}

#[test]
fn echo_many_clients() {
    each_backend(|| {
        let server = StreamServer::bind("127.0.0.1:0", echo).unwrap();
        assert!(!server.started());
        server.start().unwrap();
        assert!(server.started());
        let addr = inet(&server);
        let clients: Vec<_> = (0..50)
            .map(|i| gevent::spawn(move || roundtrip(addr, format!("client {i}").as_bytes())))
            .collect();
        for (i, c) in clients.iter().enumerate() {
            assert_eq!(
                c.take().unwrap().unwrap(),
                format!("client {i}").into_bytes()
            );
        }
        assert_eq!(server.accepted(), 50);
        assert_eq!(server.stop(Some(Duration::from_secs(5))), 0);
        assert!(!server.started());
        // Refused at once, or (linuxaio: the kernel releases the socket
        // when it reaps the cancelled poll request) very soon.
        assert!(
            gutil::yield_until(2000, || {
                gevent::sleep(Duration::from_millis(1));
                std::net::TcpStream::connect(addr).is_err()
            }),
            "listener still open"
        );
        assert_eq!(server.stop(None), 0, "stopping twice");
    });
}

#[test]
fn handler_gets_peer_address_and_nodelay() {
    each_backend(|| {
        let seen = Rc::new(RefCell::new(None));
        let s2 = seen.clone();
        let server = StreamServer::bind("127.0.0.1:0", move |s: Stream, peer: Address| {
            let Stream::Tcp(t) = &s else {
                panic!("not TCP")
            };
            *s2.borrow_mut() = Some((peer, t.nodelay().unwrap(), s.peer_addr().unwrap()));
        })
        .unwrap();
        server.start().unwrap();
        let c = TcpStream::connect(inet(&server)).unwrap();
        assert_eq!((&c).read(&mut [0; 1]).unwrap(), 0);
        let (peer, nodelay, peer2) = seen.borrow_mut().take().unwrap();
        assert_eq!(peer, Address::Inet(c.local_addr().unwrap()));
        assert_eq!(peer, peer2);
        assert!(nodelay, "TCP_NODELAY is on by default");
        server.stop(None);
    });
}

/// With a pool of N, the N+1st connection is accepted only after a
/// handler finishes (it waits in the backlog meanwhile).
#[test]
fn full_pool_stops_accepting() {
    each_backend(|| {
        let release = gevent::Event::new();
        let r2 = release.clone();
        let started = Rc::new(Cell::new(0));
        let st = started.clone();
        let server = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .pool_size(2)
            .build(move |mut s: Stream, _| {
                st.set(st.get() + 1);
                let mut b = [0u8; 1];
                if s.read_exact(&mut b).is_ok() {
                    if b[0] == b'w' {
                        r2.wait().unwrap();
                    }
                    let _ = s.write_all(&b);
                }
            })
            .unwrap();
        server.start().unwrap();
        let addr = inet(&server);
        // a and b take both slots (their handlers wait for a byte).
        let a = TcpStream::connect(addr).unwrap();
        let b = TcpStream::connect(addr).unwrap();
        let c = TcpStream::connect(addr).unwrap();
        (&a).write_all(b"w").unwrap();
        (&c).write_all(b"x").unwrap();
        assert!(gutil::yield_until(10_000, || started.get() == 2));
        // Give the server every chance to (wrongly) accept the third.
        for _ in 0..50 {
            gevent::sleep(Duration::from_millis(1));
        }
        assert_eq!(server.accepted(), 2, "accepted past the pool bound");
        // b's handler finishes (it echoes and returns), freeing a slot.
        (&b).write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        (&b).read_exact(&mut one).unwrap();
        drop(b);
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (&c).read_exact(&mut one).unwrap();
        assert_eq!(server.accepted(), 3);
        release.set();
        (&a).read_exact(&mut one).unwrap();
        assert_eq!(server.stop(Some(Duration::from_secs(5))), 0);
    });
}

/// At most max_accept connections per wake-up: with 1, the first
/// handler runs before the second connection is accepted.
#[test]
fn max_accept_bounds_each_wakeup() {
    each_backend(|| {
        for (max, expect_first) in [(1usize, 1u64), (100, 3)] {
            let cell: Rc<RefCell<Option<StreamServer>>> = Rc::new(RefCell::new(None));
            let seen = Rc::new(RefCell::new(Vec::new()));
            let (c2, s2) = (cell.clone(), seen.clone());
            let server = StreamServer::builder()
                .bind("127.0.0.1:0")
                .unwrap()
                .max_accept(max)
                .build(move |_s: Stream, _| {
                    let n = c2.borrow().as_ref().unwrap().accepted();
                    s2.borrow_mut().push(n);
                })
                .unwrap();
            *cell.borrow_mut() = Some(server.clone());
            let addr = inet(&server);
            // Three connections wait in the backlog before the server starts.
            let conns: Vec<_> = (0..3)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            server.start().unwrap();
            assert!(gutil::yield_until(100_000, || seen.borrow().len() == 3));
            assert_eq!(
                seen.borrow()[0],
                expect_first,
                "max_accept {max}: {:?}",
                seen.borrow()
            );
            drop(conns);
            server.stop(None);
            cell.borrow_mut().take();
        }
    });
}

#[test]
fn bad_options_are_errors() {
    each_backend(|| {
        let b = || StreamServer::builder().bind("127.0.0.1:0").unwrap();
        let e = b().max_accept(0).build(|_, _| {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let e = b().pool_size(0).build(|_, _| {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let e = StreamServer::builder().build(|_, _| {}).unwrap_err();
        assert!(e.to_string().contains("no listener"), "{e}");
        let e = gevent::server::DatagramServer::bind("127.0.0.1:0", |_: &[u8], _, _| {})
            .unwrap()
            .with_pool_size(0)
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let e = b().workers(2).build(|_, _| {}).unwrap_err();
        assert!(e.to_string().contains("build_workers"), "{e}");
        // A socket that is not listening.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let e = StreamServer::from_listener(a, |_, _| {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        // The port is taken.
        let s = StreamServer::bind("127.0.0.1:0", |_, _| {}).unwrap();
        let e = StreamServer::bind(inet(&s), |_, _| {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    });
}

/// stop(timeout): handlers that finish in time are not killed; those that
/// hang are, and their connections are closed.
#[test]
fn stop_waits_then_kills() {
    each_backend(|| {
        let server = StreamServer::bind("127.0.0.1:0", |mut s: Stream, _| {
            let mut b = [0u8; 1];
            if s.read_exact(&mut b).is_ok() {
                if b[0] == b'q' {
                    // Finishes soon after the stop begins.
                    gevent::sleep(Duration::from_millis(20));
                    let _ = s.write_all(b"done");
                } else {
                    gevent::sleep(Duration::from_secs(3600));
                }
            }
        })
        .unwrap();
        server.start().unwrap();
        let addr = inet(&server);
        let quick = TcpStream::connect(addr).unwrap();
        let hangs: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        (&quick).write_all(b"q").unwrap();
        for h in &hangs {
            let mut w: &TcpStream = h;
            w.write_all(b"h").unwrap();
        }
        assert!(gutil::yield_until(100_000, || server.connections() == 4));
        let killed = server.stop(Some(Duration::from_millis(500)));
        assert_eq!(killed, 3);
        assert_eq!(server.connections(), 0);
        let mut got = Vec::new();
        (&quick).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"done");
        for h in &hangs {
            h.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            assert_eq!(
                {
                    let mut r: &TcpStream = h;
                    r.read(&mut [0; 1])
                }
                .unwrap(),
                0,
                "killed handler's socket not closed"
            );
        }
    });
}

/// A handler that stops its own server does not wait for itself.
#[test]
fn handler_can_stop_its_server() {
    each_backend(|| {
        let cell: Rc<RefCell<Option<StreamServer>>> = Rc::new(RefCell::new(None));
        let c2 = cell.clone();
        let server = StreamServer::bind("127.0.0.1:0", move |_s: Stream, _| {
            let s = c2.borrow().clone().unwrap();
            assert_eq!(s.stop(Some(Duration::from_secs(5))), 0);
        })
        .unwrap();
        *cell.borrow_mut() = Some(server.clone());
        let addr = inet(&server);
        let t = gevent::spawn(move || TcpStream::connect(addr));
        server.serve_forever().unwrap();
        assert!(t.take().unwrap().is_ok());
        assert!(!server.started());
        cell.borrow_mut().take();
    });
}

#[test]
fn handler_panic_is_reported_and_server_goes_on() {
    if gutil::child().as_deref() == Some("panic") {
        let server = StreamServer::bind("127.0.0.1:0", |mut s: Stream, _| {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            if b[0] == b'p' {
                panic!("handler blew up");
            }
            s.write_all(&b).unwrap();
        })
        .unwrap();
        server.start().unwrap();
        let addr = inet(&server);
        let c = TcpStream::connect(addr).unwrap();
        println!("peer={}", c.local_addr().unwrap());
        (&c).write_all(b"p").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!((&c).read(&mut [0; 1]).unwrap(), 0, "connection not closed");
        assert_eq!(roundtrip(addr, b"k").unwrap(), b"k");
        server.stop(None);
        println!("served after panic");
        return;
    }
    let out = gutil::run_child("handler_panic_is_reported_and_server_goes_on", "panic");
    let (stdout, stderr) = (gutil::stdout_of(&out), gutil::stderr_of(&out));
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    assert!(stdout.contains("served after panic"), "{stdout}");
    let peer = stdout
        .lines()
        .find_map(|l| l.split_once("peer=").map(|(_, p)| p.trim()))
        .expect("peer line");
    let report = stderr
        .lines()
        .find(|l| l.contains("gevent::server") && l.contains("panicked"))
        .unwrap_or_else(|| panic!("no server report in {stderr}"));
    assert!(report.contains(peer), "{report}");
    assert!(report.contains("handler blew up"), "{report}");
    assert!(
        report.contains(&format!("<Greenlet \"handler {peer}\">")),
        "{report}"
    );
}

#[test]
fn unix_socket_server() {
    each_backend(|| {
        let dir = std::env::temp_dir().join(format!(
            "gevent-server-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let _ = std::fs::remove_file(&path);
        let server = StreamServer::builder().unix(&path).build(echo).unwrap();
        assert_eq!(server.address(), &Address::Unix(Some(path.clone())));
        server.start().unwrap();
        let mut c = gevent::net::UnixStream::connect(&path).unwrap();
        c.write_all(b"unix").unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"unix");
        drop(c);
        server.stop(Some(Duration::from_secs(5)));
        assert!(!path.exists(), "socket file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn from_inherited_listener() {
    each_backend(|| {
        let l = gevent::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = StreamServer::from_listener(l, echo).unwrap();
        assert_eq!(inet(&server), addr);
        server.start().unwrap();
        assert_eq!(roundtrip(addr, b"abc").unwrap(), b"abc");
        server.stop(None);
    });
}

/// A client that never speaks TLS is dropped after the handshake timeout
/// and does not delay other clients.
#[test]
fn tls_handshake_timeout() {
    let pems = tls_util::LocalhostPems::new();
    for b in gutil::backends() {
        let p = pems.clone();
        let r = std::thread::spawn(move || gevent::run_on_backend(b, move || tls_body(p))).join();
        assert!(matches!(r, Ok(Ok(()))), "backend {b} failed");
    }
}

fn tls_body(pems: tls_util::LocalhostPems) {
    let handled = Rc::new(Cell::new(0));
    let h2 = handled.clone();
    let server = StreamServer::builder()
        .bind("127.0.0.1:0")
        .unwrap()
        .tls(pems.acceptor())
        .handshake_timeout(Duration::from_millis(200))
        .build(move |mut s: Stream, _| {
            assert!(s.is_tls());
            h2.set(h2.get() + 1);
            let mut b = [0u8; 5];
            if s.read_exact(&mut b).is_ok() {
                let _ = s.write_all(&b);
                let _ = s.flush();
            }
        })
        .unwrap();
    server.start().unwrap();
    let addr = inet(&server);
    // A silent client: connected, never sends a ClientHello.
    let silent = TcpStream::connect(addr).unwrap();
    // A real client is served meanwhile.
    let connector = pems.connector();
    let mut tls = connector
        .connect("localhost", TcpStream::connect(addr).unwrap())
        .unwrap();
    tls.write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    tls.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    // The silent one is closed after the handshake timeout.
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t0 = Instant::now();
    assert_eq!((&silent).read(&mut [0; 1]).unwrap(), 0);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(handled.get(), 1, "the handler ran for the silent client");
    drop(tls);
    server.stop(Some(Duration::from_secs(5)));
}

/// workers(2): two threads, each with its own hub and SO_REUSEPORT
/// listener, both accepting connections.
#[test]
fn two_workers_both_accept() {
    each_backend(|| {
        let server = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .workers(2)
            .build_workers(|mut s: Stream, _| {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                let _ = s.write_all(name.as_bytes());
            })
            .unwrap();
        assert_eq!(server.workers(), 2);
        server.start().unwrap();
        let addr = inet(&server);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut name = String::new();
            c.read_to_string(&mut name).unwrap();
            assert!(name.starts_with("gevent-worker-"), "{name}");
            seen.insert(name);
            if seen.len() == 2 {
                break;
            }
        }
        assert_eq!(seen.len(), 2, "only {seen:?} accepted in 500 connections");
        assert_eq!(server.stop(Some(Duration::from_secs(5))), 0);
        assert!(
            gutil::yield_until(2000, || {
                gevent::sleep(Duration::from_millis(1));
                std::net::TcpStream::connect(addr).is_err()
            }),
            "a worker's listener is still open"
        );
    });
}

/// A worker server's counters are the sums over its workers: every
/// accepted connection, every live handler (until it returns), no errors.
#[test]
fn worker_server_counters_are_summed() {
    each_backend(|| {
        let server = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .workers(2)
            .build_workers(|mut s: Stream, _| {
                let _ = s.write_all(b"k");
                // Live until the client closes.
                let _ = s.read(&mut [0; 1]);
            })
            .unwrap();
        server.start().unwrap();
        assert_eq!((server.accepted(), server.connections()), (0, 0));
        let addr = inet(&server);
        let conns: Vec<_> = (0..8)
            .map(|_| {
                let c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                (&c).read_exact(&mut [0; 1]).unwrap();
                c
            })
            .collect();
        // Every client got its byte: each was accepted and its handler is
        // blocked in read.
        assert_eq!(server.accepted(), 8);
        assert_eq!(server.connections(), 8);
        drop(conns);
        let t0 = std::time::Instant::now();
        while server.connections() != 0 && t0.elapsed() < Duration::from_secs(10) {
            gevent::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            server.connections(),
            0,
            "handlers still counted after their clients left"
        );
        assert_eq!(server.accepted(), 8);
        assert_eq!(server.accept_errors(), 0);
        assert_eq!(server.stop(Some(Duration::from_secs(5))), 0);
    });
}

/// stop(timeout) on a worker server kills the hanging handlers of every
/// worker and counts them.
#[test]
fn workers_stop_kills_hanging_handlers() {
    each_backend(|| {
        let server = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .workers(2)
            .build_workers(|mut s: Stream, _| {
                let _ = s.write_all(b"k");
                gevent::sleep(Duration::from_secs(3600));
            })
            .unwrap();
        server.start().unwrap();
        let addr = inet(&server);
        let conns: Vec<_> = (0..4)
            .map(|_| {
                let c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut b = [0u8; 1];
                (&c).read_exact(&mut b).unwrap();
                c
            })
            .collect();
        assert_eq!(server.stop(Some(Duration::from_millis(100))), 4);
        for c in &conns {
            assert_eq!((&*c).read(&mut [0; 1]).unwrap(), 0);
        }
    });
}

#[test]
fn datagram_server_udp_and_pool() {
    each_backend(|| {
        let server = gevent::server::DatagramServer::bind("127.0.0.1:0", |d: &[u8], peer, sock| {
            let mut up = d.to_ascii_uppercase();
            if d == b"slow" {
                gevent::sleep(Duration::from_millis(50));
                up = b"SLOW".to_vec();
            }
            sock.send_to(&up, &peer).unwrap();
        })
        .unwrap()
        .with_pool_size(1)
        .unwrap();
        server.start().unwrap();
        let addr = server.socket().local_addr().unwrap().as_inet().unwrap();
        let c = gevent::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.send_to(b"slow", addr).unwrap();
        c.send_to(b"fast", addr).unwrap();
        let mut buf = [0u8; 16];
        // Pool of 1: the second datagram waits for the first handler.
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"SLOW");
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"FAST"[..], addr));
        assert_eq!(server.stop(Some(Duration::from_secs(5))), 0);
        assert!(!server.started());
    });
}

#[test]
fn datagram_server_unix() {
    each_backend(|| {
        let dir = std::env::temp_dir().join(format!(
            "gevent-dgram-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (sp, cp) = (dir.join("s"), dir.join("c"));
        let _ = std::fs::remove_file(&sp);
        let _ = std::fs::remove_file(&cp);
        let server = gevent::server::DatagramServer::bind_unix(&sp, |d: &[u8], peer, sock| {
            let _ = sock.send_to(d, &peer);
        })
        .unwrap();
        server.start().unwrap();
        let c = gevent::net::UnixDatagram::bind(&cp).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.send_to(b"dgram", &sp).unwrap();
        let mut buf = [0u8; 16];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"dgram");
        server.stop(None);
        assert!(!sp.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// The child side of the LISTEN_FDS test: takes the inherited socket and
/// serves one connection per backend on it.
fn listen_fds_child() {
    let fds = gevent::server::listen_fds().unwrap();
    assert_eq!(fds.len(), 1, "expected one inherited socket");
    assert_eq!(fds[0].name.as_deref(), Some("web"));
    assert!(
        gevent::server::listen_fds().unwrap().is_empty(),
        "taken twice"
    );
    let fd = fds.into_iter().next().unwrap().fd;
    for b in gutil::backends() {
        let mine = fd.try_clone().unwrap();
        gevent::run_on_backend(b, move || {
            let cell: Rc<RefCell<Option<StreamServer>>> = Rc::new(RefCell::new(None));
            let c2 = cell.clone();
            let server = StreamServer::builder()
                .listener(mine)
                .build(move |mut s: Stream, _| {
                    let mut buf = [0u8; 3];
                    s.read_exact(&mut buf).unwrap();
                    s.write_all(&buf).unwrap();
                    c2.borrow().as_ref().unwrap().stop(None);
                })
                .unwrap();
            *cell.borrow_mut() = Some(server.clone());
            server.serve_forever().unwrap();
            cell.borrow_mut().take();
            println!("served on {b}");
        })
        .unwrap();
    }
}

/// Socket activation: the test binary re-executes itself with a listener
/// as descriptor 3 and LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES set, as
/// systemd does; the child serves on it.
#[test]
fn listen_fds_inherited_listener() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    if gutil::child().as_deref() == Some("listen_fds") {
        listen_fds_child();
        return;
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let raw = l.as_raw_fd();
    let exe = std::env::current_exe().unwrap();
    // `sh` exports its own pid, which `exec` keeps for the test binary.
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""])
        .arg(exe)
        .args([
            "listen_fds_inherited_listener",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(gutil::CHILD_ENV, "listen_fds")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "web")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: dup2 and fcntl are async-signal-safe; `raw` stays open in
    // the parent until the child has been spawned.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(3, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(l);
    let n = gutil::backends().len();
    for i in 0..n {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c.write_all(b"abc").unwrap();
        let mut back = [0u8; 3];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        assert_eq!(&back, b"abc");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("served on").count(), n, "{stdout}");
}

fn cpu_us() -> u64 {
    // SAFETY: getrusage fills a zeroed struct.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// The child side of the EMFILE test: a server under a low descriptor
/// limit; reports accept errors and CPU used during one second of pause.
fn emfile_child() {
    let cell: Rc<RefCell<Option<StreamServer>>> = Rc::new(RefCell::new(None));
    let c2 = cell.clone();
    let server = StreamServer::bind("127.0.0.1:0", move |mut s: Stream, _| {
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) if &buf[..n] == b"bye" => {
                    c2.borrow()
                        .as_ref()
                        .unwrap()
                        .stop(Some(Duration::from_secs(1)));
                    return;
                }
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    })
    .unwrap();
    *cell.borrow_mut() = Some(server.clone());
    server.start().unwrap();
    gevent::sleep(Duration::from_millis(1));
    // Room for a handful of connections beyond what is open now.
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let lim = libc::rlimit {
        rlim_cur: open + 8,
        rlim_max: open + 8,
    };
    // SAFETY: lowers this (child) process's descriptor limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    println!("port {}", inet(&server).port());
    std::io::stdout().flush().unwrap();
    let t0 = Instant::now();
    while server.accept_errors() == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no accept error came"
        );
        gevent::sleep(Duration::from_millis(5));
    }
    let (e0, c0) = (server.accept_errors(), cpu_us());
    gevent::sleep(Duration::from_secs(1));
    let (e1, c1) = (server.accept_errors(), cpu_us());
    println!("paused errors={} cpu_us={}", e1 - e0, c1 - c0);
    std::io::stdout().flush().unwrap();
    server.serve_forever().unwrap();
    cell.borrow_mut().take();
    println!("recovered and stopped");
}

/// Accept backoff under a real EMFILE: the server (in a child process
/// with a low RLIMIT_NOFILE) pauses accepting instead of spinning, logs
/// the error once per pause, and serves again once descriptors are freed.
#[test]
fn emfile_backoff_and_recovery() {
    use std::io::BufRead;
    if let Some(b) = gutil::child()
        .as_deref()
        .and_then(|c| c.strip_prefix("emfile:"))
    {
        let b = gutil::backends()
            .into_iter()
            .find(|x| x.name() == b)
            .unwrap();
        gevent::run_on_backend(b, emfile_child).unwrap();
        return;
    }
    for b in gutil::backends() {
        println!("--- backend {b}");
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args([
                "emfile_backoff_and_recovery",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(gutil::CHILD_ENV, format!("emfile:{}", b.name()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next_with = |key: &str| -> String {
            for l in lines.by_ref() {
                let l = l.unwrap();
                if let Some((_, rest)) = l.split_once(key) {
                    return rest.trim().to_string();
                }
            }
            panic!("child ended before printing {key:?}")
        };
        let port: u16 = next_with("port ").parse().unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // More connections than the child has descriptors for.
        let conns: Vec<_> = (0..40)
            .map(|_| {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.write_all(b"x").unwrap();
                c
            })
            .collect();
        let report = next_with("paused ");
        let field = |k: &str| -> u64 {
            report
                .split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap()
                .parse()
                .unwrap()
        };
        let (errors, cpu) = (field("errors="), field("cpu_us="));
        // Backoff from 10 ms doubling to 1 s: a handful of attempts in a
        // second (a busy loop would make thousands), and little CPU.
        assert!(
            errors <= 20,
            "backend {b}: {errors} accept attempts in 1 s of pause"
        );
        assert!(
            cpu < 500_000,
            "backend {b}: {cpu} us of CPU in 1 s of pause"
        );
        // Free the descriptors: the server serves again.
        drop(conns);
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c.write_all(b"again").unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"again");
        c.write_all(b"bye").unwrap();
        assert_eq!(next_with("recovered"), "and stopped");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "backend {b}: child failed: {stderr}");
        let logged = stderr.matches("accept failed").count();
        println!("backend {b}: {errors} errors in the window, {logged} log line(s)\n{stderr}");
        assert!(logged >= 1, "the pause was not logged: {stderr}");
        assert!(
            stderr.contains("Too many open files"),
            "backend {b}: {stderr}"
        );
    }
}

/// The echoserver example, as a user runs it: serves, then on SIGTERM
/// refuses new connections, lets the connected client finish, and exits
/// 0. With one worker and with two, on every backend.
#[test]
fn echoserver_example_stops_gracefully_on_sigterm() {
    use std::io::BufRead;
    let exe = examples::build_example("echoserver");
    for b in gutil::backends() {
        for workers in ["1", "2"] {
            let mut child = std::process::Command::new(&exe)
                .args(["--port", "0", "--workers", workers, "--pool", "100"])
                .env("GEVENT_BACKEND", b.name())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let addr: SocketAddr = line
                .split_whitespace()
                .find_map(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("no address in {line:?}"));
            let c = std::net::TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = std::io::BufReader::new(&c);
            let mut greeting = String::new();
            r.read_line(&mut greeting).unwrap();
            assert!(greeting.starts_with("Welcome"), "{greeting}");
            // SAFETY: signals our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            // The listener closes; the connected client is still served.
            let t0 = Instant::now();
            while std::net::TcpStream::connect(addr).is_ok() {
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "listener still open after SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            (&c).write_all(b"still here\r\n").unwrap();
            let mut back = String::new();
            r.read_line(&mut back).unwrap();
            if back != "still here\r\n" {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "backend {b}, {workers} worker(s): got {back:?}; server said {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            (&c).write_all(b"quit\r\n").unwrap();
            let t0 = Instant::now();
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break s;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "still running after SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(5));
            };
            let mut rest = String::new();
            out.read_to_string(&mut rest).unwrap();
            assert!(status.success(), "backend {b}: exit {status}: {rest}");
            assert!(rest.contains("SIGTERM: stopped gracefully"), "{rest}");
        }
    }
}

/// serve_until_signal: SIGTERM closes the listener, gives handlers the
/// grace period, kills the rest, restores SIGTERM's disposition. In a
/// child process (SIGTERM is process-wide).
#[test]
fn serve_until_signal_graceful_stop() {
    if gutil::child().as_deref() == Some("sigterm") {
        for b in gutil::backends() {
            gevent::run_on_backend(b, || {
                let finished = Rc::new(Cell::new(0));
                let f2 = finished.clone();
                let server = StreamServer::bind("127.0.0.1:0", move |mut s: Stream, _| {
                    let mut buf = [0u8; 1];
                    if s.read_exact(&mut buf).is_ok() {
                        if buf[0] == b'q' {
                            gevent::sleep(Duration::from_millis(20));
                            f2.set(f2.get() + 1);
                        } else {
                            gevent::sleep(Duration::from_secs(3600));
                        }
                    }
                })
                .unwrap();
                let addr = inet(&server);
                let client = gevent::spawn(move || {
                    let q = TcpStream::connect(addr).unwrap();
                    let h = TcpStream::connect(addr).unwrap();
                    (&q).write_all(b"q").unwrap();
                    (&h).write_all(b"h").unwrap();
                    gevent::sleep(Duration::from_millis(5));
                    // SAFETY: the server handles SIGTERM now.
                    unsafe { libc::raise(libc::SIGTERM) };
                    h.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    (&h).read(&mut [0; 1]).unwrap()
                });
                let sig = server
                    .serve_until_signal(Duration::from_millis(300))
                    .unwrap();
                assert_eq!(sig, Some(libc::SIGTERM));
                assert_eq!(
                    finished.get(),
                    1,
                    "the finishing handler was not given its grace"
                );
                assert_eq!(
                    client.take().unwrap(),
                    0,
                    "the hanging handler's socket stayed open"
                );
                assert!(
                    std::net::TcpStream::connect(addr).is_err() || {
                        gevent::sleep(Duration::from_millis(50));
                        std::net::TcpStream::connect(addr).is_err()
                    }
                );
                // SAFETY: reads SIGTERM's disposition.
                let dfl = unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut old);
                    old.sa_sigaction
                };
                assert_eq!(dfl, libc::SIG_DFL, "SIGTERM's disposition not restored");
            })
            .unwrap();
            println!("graceful on {b}");
        }
        return;
    }
    let out = gutil::run_child("serve_until_signal_graceful_stop", "sigterm");
    let stdout = gutil::stdout_of(&out);
    assert!(out.status.success(), "{stdout}\n{}", gutil::stderr_of(&out));
    assert_eq!(
        stdout.matches("graceful on").count(),
        gutil::backends().len(),
        "{stdout}"
    );
}

/// The server examples' self-tests, on every backend.
#[test]
fn server_examples_selftest() {
    for b in gutil::backends() {
        for name in ["echoserver", "udp_server", "tls_echoserver", "signals"] {
            let out = std::process::Command::new(examples::build_example(name))
                .arg("--selftest")
                .env("GEVENT_BACKEND", b.name())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{name} on {b}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains("selftest passed"),
                "{name} on {b}: {stdout}"
            );
        }
    }
}
