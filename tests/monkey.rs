//! gevent::monkey: std's blocking calls made cooperative inside greenlets
//! (feature `monkey`), on every backend. The downstream-binary check is the
//! `monkey-check` workspace crate.
#![cfg(all(feature = "monkey", target_os = "linux"))]

#[path = "util/examples.rs"]
mod examples;
#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::monkey::{self, Patch};

fn patch() {
    monkey::patch_all().expect("patch_all");
}

/// A greenlet that counts how often it ran, yielding in between, until
/// the returned flag is set.
fn ticker() -> (Rc<Cell<u64>>, Rc<Cell<bool>>, gevent::Greenlet<()>) {
    ticker_every(Duration::from_millis(1))
}

/// [`ticker`] pausing `pause` between ticks (zero: it is always ready, so
/// it runs whenever any other greenlet parks).
fn ticker_every(pause: Duration) -> (Rc<Cell<u64>>, Rc<Cell<bool>>, gevent::Greenlet<()>) {
    let ticks = Rc::new(Cell::new(0));
    let stop = Rc::new(Cell::new(false));
    let (t, s) = (ticks.clone(), stop.clone());
    let g = gevent::spawn(move || {
        while !s.get() {
            t.set(t.get() + 1);
            gevent::sleep(pause);
        }
    });
    (ticks, stop, g)
}

fn o_nonblock(fd: i32) -> bool {
    // SAFETY: F_GETFL on an open descriptor.
    unsafe { libc::fcntl(fd, libc::F_GETFL) & libc::O_NONBLOCK != 0 }
}

#[test]
fn patch_functions_report_what_is_patched() {
    monkey::patch_time().unwrap();
    assert!(monkey::is_patched(Patch::Time));
    patch();
    for p in [
        Patch::Socket,
        Patch::Time,
        Patch::Dns,
        Patch::Select,
        Patch::Process,
    ] {
        assert!(monkey::is_patched(p), "{p:?}");
    }
}

#[test]
fn ten_thousand_std_sleeps_run_concurrently() {
    patch();
    gutil::each_backend(|| {
        let t = Instant::now();
        let done = Rc::new(Cell::new(0u32));
        let gs: Vec<_> = (0..10_000)
            .map(|_| {
                let d = done.clone();
                gevent::spawn(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    d.set(d.get() + 1);
                })
            })
            .collect();
        gevent::joinall(&gs, Some(Duration::from_secs(25))).unwrap();
        assert_eq!(done.get(), 10_000);
        // Serially this would take 1,000 s; any real concurrency is far
        // below half of that.
        assert!(t.elapsed() < Duration::from_secs(500));
    });
}

#[test]
fn std_echo_server_with_a_thousand_std_clients() {
    patch();
    gutil::each_backend(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(!o_nonblock(listener.as_raw_fd()));
        let _server = gevent::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                gevent::spawn(move || {
                    let mut buf = [0; 256];
                    while let Ok(n @ 1..) = conn.read(&mut buf) {
                        if conn.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let clients: Vec<_> = (0..1000)
            .map(|i| {
                gevent::spawn(move || -> std::io::Result<bool> {
                    let mut c = TcpStream::connect(addr)?;
                    let msg = format!("hello from client {i:04}");
                    c.write_all(msg.as_bytes())?;
                    let mut back = vec![0; msg.len()];
                    c.read_exact(&mut back)?;
                    // The user's blocking socket stays blocking.
                    Ok(back == msg.as_bytes() && !o_nonblock(c.as_raw_fd()))
                })
            })
            .collect();
        gevent::joinall(&clients, Some(Duration::from_secs(25))).unwrap();
        for c in &clients {
            assert!(c.take().unwrap().unwrap());
        }
    });
}

#[test]
fn to_socket_addrs_runs_off_the_hub() {
    patch();
    gutil::each_backend(|| {
        let (ticks, stop, t) = ticker_every(Duration::ZERO);
        let lookup = gevent::spawn(move || {
            let seen = ticks.get();
            let addrs: Vec<_> = ("localhost", 80).to_socket_addrs().unwrap().collect();
            // The lookup parked this greenlet (it ran on the hub's pool):
            // the ticker got to run meanwhile.
            (addrs, ticks.get() > seen)
        });
        let (addrs, others_ran) = lookup.get().unwrap();
        stop.set(true);
        t.join().unwrap();
        assert!(!addrs.is_empty());
        assert!(others_ran, "getaddrinfo blocked the hub");
        assert!(gevent::get_hub().threadpool().thread_count() >= 1);
        // Errors come back as the C library gives them.
        let bad = gevent::spawn(|| "no-such-host.invalid:80".to_socket_addrs().is_err());
        assert!(bad.get().unwrap());
    });
}

#[test]
fn command_output_lets_others_run() {
    patch();
    let _l = gutil_lock();
    gutil::each_backend(command_output_body);
}

fn command_output_body() {
    {
        let (ticks, stop, t) = ticker();
        let job = gevent::spawn(move || {
            let seen = ticks.get();
            let out = std::process::Command::new("sh")
                .args(["-c", "sleep 0.2; echo done"])
                .output()
                .unwrap();
            (out, ticks.get() - seen)
        });
        let (out, ran) = job.get().unwrap();
        stop.set(true);
        t.join().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"done\n");
        assert!(ran > 0, "Command::output blocked the hub");
        // wait() on a child through waitpid.
        let st = gevent::spawn(|| {
            let mut c = std::process::Command::new("sh")
                .args(["-c", "exit 3"])
                .spawn()
                .unwrap();
            c.wait().unwrap().code()
        });
        assert_eq!(st.get().unwrap(), Some(3));
    }
}

/// Serializes the tests that spawn children (waitpid semantics).
fn gutil_lock() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn users_nonblocking_socket_still_gets_would_block() {
    patch();
    gutil::each_backend(|| {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let r = gevent::spawn(move || {
            let mut a = a;
            a.set_nonblocking(true).unwrap();
            let mut buf = [0; 8];
            let read = a.read(&mut buf).unwrap_err().kind();
            let accept = l.accept().unwrap_err().kind();
            (read, accept, o_nonblock(a.as_raw_fd()))
        });
        assert_eq!(
            r.get().unwrap(),
            (ErrorKind::WouldBlock, ErrorKind::WouldBlock, true)
        );
    });
}

#[test]
fn read_timeout_still_fires_and_others_run() {
    patch();
    gutil::each_backend(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let _keep = gevent::spawn(move || l.accept().map(|(s, _)| s));
        let (ticks, stop, t) = ticker();
        let r = gevent::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let seen = ticks.get();
            let mut buf = [0; 4];
            let e = c.read(&mut buf).unwrap_err();
            (e.kind(), ticks.get() > seen)
        });
        let (kind, others_ran) = r.get().unwrap();
        stop.set(true);
        t.join().unwrap();
        assert_eq!(kind, ErrorKind::WouldBlock);
        assert!(others_ran);
    });
}

#[test]
fn plain_threads_are_untouched() {
    patch();
    let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let h = std::thread::spawn(move || {
        // No hub on this thread: real blocking calls.
        std::thread::sleep(Duration::from_millis(10));
        b.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0; 4];
        let timed_out = b.read(&mut buf).unwrap_err().kind();
        b.set_read_timeout(None).unwrap();
        b.read_exact(&mut buf).unwrap();
        (timed_out, buf, o_nonblock(b.as_raw_fd()))
    });
    std::thread::sleep(Duration::from_millis(100));
    a.write_all(b"ping").unwrap();
    assert_eq!(h.join().unwrap(), (ErrorKind::WouldBlock, *b"ping", false));
}

#[test]
fn close_wakes_a_waiting_reader_with_ebadf() {
    patch();
    gutil::each_backend(|| {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let reader = gevent::spawn(move || {
            let mut a = std::mem::ManuallyDrop::new(a);
            let mut buf = [0; 4];
            a.read(&mut buf).unwrap_err().raw_os_error()
        });
        gevent::sleep(Duration::from_millis(20));
        // SAFETY: closes the reader's descriptor (it never closes it).
        assert_eq!(unsafe { libc::close(fd) }, 0);
        assert_eq!(reader.get().unwrap(), Some(libc::EBADF));
    });
}

#[test]
fn timeout_around_a_hooked_call_ends_it() {
    patch();
    gutil::each_backend(|| {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let g = gevent::spawn(move || {
            let mut a = a;
            gevent::with_timeout(Duration::from_millis(30), || {
                let mut buf = [0; 4];
                a.read(&mut buf).map_err(|e| e.kind())
            })
        });
        // The read fails with TimedOut inside the closure (the Timeout
        // could not unwind through the C call).
        assert_eq!(g.get().unwrap().unwrap(), Err(ErrorKind::TimedOut));
        // A killed sleeper ends.
        let s = gevent::spawn(|| std::thread::sleep(Duration::from_secs(30)));
        gevent::sleep(Duration::from_millis(10));
        assert!(s.kill_timeout(Duration::from_secs(5)).unwrap());
        assert!(s.dead());
    });
}

#[test]
fn poll_and_select_are_cooperative() {
    patch();
    gutil::each_backend(|| {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let poller = gevent::spawn(move || {
            let _a = a;
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, 5000) };
            // SAFETY: an fd_set is plain data; FD_SET within FD_SETSIZE.
            let m = unsafe {
                let mut set: libc::fd_set = std::mem::zeroed();
                libc::FD_SET(fd, &mut set);
                let mut tv = libc::timeval {
                    tv_sec: 5,
                    tv_usec: 0,
                };
                let m = libc::select(
                    fd + 1,
                    &mut set,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    &mut tv,
                );
                (m, libc::FD_ISSET(fd, &set))
            };
            (n, p.revents & libc::POLLIN != 0, m)
        });
        gevent::sleep(Duration::from_millis(20));
        // The poller parked, so this greenlet got to write.
        assert!(!poller.ready());
        b.write_all(b"x").unwrap();
        assert_eq!(poller.get().unwrap(), (1, true, (1, true)));
        // A poll that times out returns 0.
        let idle = gevent::spawn(|| {
            // SAFETY: no descriptors.
            unsafe { libc::poll(std::ptr::null_mut(), 0, 20) }
        });
        assert_eq!(idle.get().unwrap(), 0);
    });
}

#[test]
fn monkey_download_example_fetches_twenty_slow_pages_at_once() {
    let exe = examples::build_example("monkey_download");
    let out = std::process::Command::new(exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout
            .matches(" bytes received from http://127.0.0.1:")
            .count(),
        20
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("20 downloads in ") && last.ends_with("(0 failed)"),
        "{last}"
    );
    // Each response takes 300 ms: one after another would be 6 s.
    let ms: f64 = last["20 downloads in ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms < 3000.0, "{last}");
}

/// A connected pair of std TCP streams (made in the calling greenlet).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let acc = gevent::spawn(move || l.accept().map(|(s, _)| s));
    let c = TcpStream::connect(addr).unwrap();
    (c, acc.take().unwrap().unwrap())
}

#[test]
fn timeouts_set_after_first_use_still_fire() {
    // The hooks cache "no timeout set" on a descriptor's first use; a
    // later set_read_timeout / set_write_timeout must still be honoured,
    // and clearing it must make reads wait for data again.
    patch();
    gutil::each_backend(|| {
        let (mut a, mut b) = tcp_pair();
        b.write_all(b"one").unwrap();
        let mut buf = [0; 8];
        assert_eq!(a.read(&mut buf).unwrap(), 3);
        a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        let t = Instant::now();
        assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        assert!(t.elapsed() >= Duration::from_millis(20));
        a.set_read_timeout(None).unwrap();
        let w = gevent::spawn(move || {
            gevent::sleep(Duration::from_millis(30));
            b.write_all(b"two").map(|()| b)
        });
        // No timeout any more: waits for the writer.
        assert_eq!(a.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"two");
        let _b = w.take().unwrap().unwrap();
    });
}

#[test]
fn stream_reads_after_a_draining_read_keep_their_semantics() {
    // After a read that returned less than asked (the hooks then wait for
    // readability before the next read), peeks, timeouts and the user's
    // non-blocking mode behave as without the hooks.
    patch();
    gutil::each_backend(|| {
        let (mut a, b) = tcp_pair();
        let writer = gevent::spawn(move || -> std::io::Result<TcpStream> {
            let mut b = b;
            for chunk in [&b"abc"[..], b"defgh", b"ij"] {
                gevent::sleep(Duration::from_millis(10));
                b.write_all(chunk)?;
            }
            Ok(b)
        });
        let mut got = Vec::new();
        let mut buf = [0; 64];
        while got.len() < 10 {
            let n = a.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"abcdefghij");
        let mut b = writer.take().unwrap().unwrap();
        // Drained: a timed read waits first, then times out.
        a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        a.set_read_timeout(None).unwrap();
        // A peek waits for data and leaves it for the read.
        let w = gevent::spawn(move || {
            gevent::sleep(Duration::from_millis(20));
            b.write_all(b"xyz").map(|()| b)
        });
        assert_eq!(a.peek(&mut buf).unwrap(), 3);
        assert_eq!(a.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"xyz");
        let _b = w.take().unwrap().unwrap();
        // Drained again, then made non-blocking by the user: WouldBlock at
        // once, not a wait.
        a.set_nonblocking(true).unwrap();
        assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn std_udp_sockets_in_greenlets() {
    // Datagram sockets take the non-stream path (no drained hint): queued
    // datagrams are all received at once, later ones after a wait.
    patch();
    gutil::each_backend(|| {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        for m in [&b"first"[..], b"2nd"] {
            tx.send(m).unwrap();
        }
        let (ticks, stop, t) = ticker();
        let sender = gevent::spawn(move || {
            gevent::sleep(Duration::from_millis(30));
            tx.send(b"third, later")
        });
        let mut buf = [0; 64];
        let mut got = Vec::new();
        for _ in 0..3 {
            let (n, _) = rx.recv_from(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
        }
        assert_eq!(got, [&b"first"[..], b"2nd", b"third, later"]);
        assert_eq!(sender.take().unwrap().unwrap(), 12);
        // Others ran while this greenlet waited for the third datagram.
        assert!(ticks.get() > 0);
        rx.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        assert_eq!(rx.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        stop.set(true);
        t.join().unwrap();
    });
}
