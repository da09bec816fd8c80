//! TCP sockets, modelled on std's own tests (library/std/src/net/tcp/tests.rs),
//! plus the cooperative guarantees: close wakes waiters, busy sockets,
//! Timeout and kill. Every test runs on every usable backend.

mod net_util;

use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};
use gevent::{Greenlet, spawn};
use net_util::{SHORT, each_backend};

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// A connected pair (client, server side).
fn pair() -> (TcpStream, TcpStream) {
    let (l, a) = listener();
    let c = TcpStream::connect(a).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

fn get<T: 'static>(g: &Greenlet<T>) -> T {
    assert!(
        g.join_timeout(Duration::from_secs(10)).expect("join"),
        "greenlet still running"
    );
    g.take().expect("greenlet failed")
}

#[test]
fn bind_error() {
    each_backend(|| {
        // Not a local address.
        let e = TcpListener::bind("1.1.1.1:9999").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
        let e = TcpListener::bind("not an address").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = TcpListener::bind(&[][..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn connect_error() {
    each_backend(|| {
        let (l, a) = listener();
        drop(l);
        let e = TcpStream::connect(a).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect("127.0.0.1:0").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("port 0"), "{e}");
        let e = TcpStream::connect_timeout(&a, Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn double_bind() {
    each_backend(|| {
        let (_l, a) = listener();
        let e = TcpListener::bind(a).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    });
}

#[test]
fn smoke_and_eof() {
    each_backend(|| {
        let (l, a) = listener();
        let srv = spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(&[99]).unwrap();
        });
        let mut c = TcpStream::connect(("127.0.0.1", a.port())).unwrap();
        let mut b = [0];
        c.read_exact(&mut b).unwrap();
        assert_eq!(b[0], 99);
        get(&srv);
        // The server side was dropped: end of file, repeatedly.
        assert_eq!(c.read(&mut b).unwrap(), 0);
        assert_eq!(c.read(&mut b).unwrap(), 0);
    });
}

#[test]
fn ipv6_smoke() {
    each_backend(|| {
        let Ok(l) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 loopback here
        };
        let a = l.local_addr().unwrap();
        let mut c = TcpStream::connect(a).unwrap();
        let (mut s, peer) = l.accept().unwrap();
        assert!(peer.is_ipv6());
        c.write_all(b"six").unwrap();
        let mut b = [0; 3];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"six");
    });
}

#[test]
fn write_after_peer_close() {
    each_backend(|| {
        let (c, s) = pair();
        drop(s);
        let mut c = c;
        let buf = [0; 4096];
        // The first writes may succeed; one must fail (EPIPE or reset).
        let mut failed = None;
        for _ in 0..1000 {
            if let Err(e) = c.write(&buf) {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("writing to a closed peer never failed");
        assert!(
            matches!(
                e.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ),
            "{e}"
        );
    });
}

#[test]
fn multiple_connect_serial() {
    each_backend(|| {
        let (l, a) = listener();
        let srv = spawn(move || {
            let mut sum = 0u32;
            for s in l.incoming().take(10) {
                let mut s = s.unwrap();
                let mut b = [0];
                s.read_exact(&mut b).unwrap();
                sum += b[0] as u32;
            }
            sum
        });
        for i in 0..10u8 {
            let mut c = TcpStream::connect(a).unwrap();
            c.write_all(&[i]).unwrap();
        }
        assert_eq!(get(&srv), 45);
    });
}

#[test]
fn accept_many_clients_interleaved() {
    each_backend(|| {
        let (l, a) = listener();
        let srv = spawn(move || {
            let mut handlers = Vec::new();
            for _ in 0..50 {
                let (mut s, _) = l.accept().unwrap();
                handlers.push(spawn(move || {
                    let mut b = [0];
                    s.read_exact(&mut b).unwrap();
                    s.write_all(&[b[0] + 1]).unwrap();
                }));
            }
            gevent::joinall(&handlers, Some(Duration::from_secs(10))).unwrap();
        });
        let clients: Vec<_> = (0..50u8)
            .map(|i| {
                spawn(move || {
                    let mut c = TcpStream::connect(a).unwrap();
                    c.write_all(&[i]).unwrap();
                    let mut b = [0];
                    c.read_exact(&mut b).unwrap();
                    b[0]
                })
            })
            .collect();
        for (i, c) in clients.iter().enumerate() {
            assert_eq!(get(c), i as u8 + 1);
        }
        get(&srv);
    });
}

#[test]
fn socket_and_peer_name() {
    each_backend(|| {
        let (l, a) = listener();
        let c = TcpStream::connect(a).unwrap();
        let (s, peer) = l.accept().unwrap();
        assert_eq!(c.peer_addr().unwrap(), a);
        assert_eq!(s.local_addr().unwrap(), a);
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), peer);
    });
}

#[test]
fn partial_and_vectored_io() {
    each_backend(|| {
        let (mut c, mut s) = pair();
        let n = c
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cde")])
            .unwrap();
        assert_eq!(n, 5);
        let mut b = [0; 2];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ab");
        let (mut x, mut y) = ([0; 1], [0; 4]);
        let mut got = 0;
        while got < 3 {
            let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
            got += s.read_vectored(&mut bufs).unwrap();
        }
        assert_eq!((&x, &y[..2]), (b"c", &b"de"[..]));
    });
}

#[test]
fn read_write_through_shared_refs() {
    each_backend(|| {
        let (c, s) = pair();
        let s = Rc::new(s);
        // One greenlet reads while another writes the same handle.
        let s2 = s.clone();
        let echo = spawn(move || {
            let mut b = [0; 5];
            (&*s2).read_exact(&mut b).unwrap();
            (&*s2).write_all(&b).unwrap();
        });
        let mut r = &c;
        r.write_all(b"12345").unwrap();
        let mut b = [0; 5];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"12345");
        get(&echo);
        drop(s);
    });
}

#[test]
fn shutdown_smoke() {
    each_backend(|| {
        let (mut c, mut s) = pair();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(s.read(&mut [0; 4]).unwrap(), 0);
        let e = c.write(&[0]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
        // The other direction still works.
        s.write_all(b"x").unwrap();
        let mut b = [0];
        c.read_exact(&mut b).unwrap();
        // Shutting down reading: reads return end of file.
        c.shutdown(Shutdown::Read).unwrap();
        assert_eq!(c.read(&mut b).unwrap(), 0);
    });
}

#[test]
fn shutdown_read_wakes_a_waiting_reader() {
    each_backend(|| {
        let (c, _s) = pair();
        let c = Rc::new(c);
        let c2 = c.clone();
        let reader = spawn(move || (&*c2).read(&mut [0; 8]).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        c.shutdown(Shutdown::Read).unwrap();
        assert_eq!(get(&reader), Ok(0));
    });
}

#[test]
fn shutdown_through_a_clone_wakes_the_other_handle() {
    each_backend(|| {
        let (c, _s) = pair();
        let c2 = c.try_clone().unwrap();
        let reader = spawn(move || {
            let mut c = c;
            c.read(&mut [0; 8]).map_err(|e| e.kind())
        });
        gevent::sleep(SHORT);
        c2.shutdown(Shutdown::Both).unwrap();
        assert_eq!(get(&reader), Ok(0));
    });
}

#[test]
fn clone_smoke_and_two_readers_on_clones() {
    each_backend(|| {
        let (c, mut s) = pair();
        let c1 = c.try_clone().unwrap();
        let c2 = c.try_clone().unwrap();
        // Two greenlets read at once, each through its own handle.
        let r1 = spawn(move || {
            let mut b = [0];
            (&c1).read_exact(&mut b).unwrap();
            b[0]
        });
        let r2 = spawn(move || {
            let mut b = [0];
            (&c2).read_exact(&mut b).unwrap();
            b[0]
        });
        gevent::sleep(SHORT);
        s.write_all(&[1, 2]).unwrap();
        let mut got = [get(&r1), get(&r2)];
        got.sort();
        assert_eq!(got, [1, 2]);
        // Writing through two clones.
        let mut w1 = c.try_clone().unwrap();
        let mut w2 = c.try_clone().unwrap();
        w1.write_all(&[7]).unwrap();
        w2.write_all(&[8]).unwrap();
        let mut b = [0; 2];
        s.read_exact(&mut b).unwrap();
        assert_eq!(b, [7, 8]);
    });
}

#[test]
fn clone_accept_concurrent() {
    each_backend(|| {
        let (l, a) = listener();
        let l2 = l.try_clone().unwrap();
        let g1 = spawn(move || l.accept().map(|_| ()).is_ok());
        let g2 = spawn(move || l2.accept().map(|_| ()).is_ok());
        gevent::sleep(SHORT);
        let _c1 = TcpStream::connect(a).unwrap();
        let _c2 = TcpStream::connect(a).unwrap();
        assert!(get(&g1) && get(&g2));
    });
}

#[test]
fn two_readers_on_one_handle_get_resource_busy() {
    each_backend(|| {
        let (c, mut s) = pair();
        let c = Rc::new(c);
        let c1 = c.clone();
        let first = spawn(move || {
            let mut b = [0; 3];
            (&*c1).read_exact(&mut b).map(|_| b)
        });
        gevent::sleep(SHORT);
        let e = (&*c).read(&mut [0; 1]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceBusy);
        assert!(e.to_string().contains("already waiting"), "{e}");
        assert!(format!("{c:?}").contains("reading: true"));
        // The first reader is unaffected.
        s.write_all(b"abc").unwrap();
        assert_eq!(&get(&first).unwrap(), b"abc");
        // Two accepts on one listener handle.
        let (l, _) = listener();
        let l = Rc::new(l);
        let l1 = l.clone();
        let acc = spawn(move || l1.accept().map(|_| ()).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::ResourceBusy);
        l.close();
        assert_eq!(get(&acc), Err(ErrorKind::NotConnected));
    });
}

#[test]
fn close_wakes_a_waiting_reader_and_writer() {
    each_backend(|| {
        let (c, _s) = pair();
        let c = Rc::new(c);
        let c1 = c.clone();
        let reader = spawn(move || (&*c1).read(&mut [0; 8]).map_err(|e| e.kind()));
        // A writer blocked on a full buffer.
        let c2 = c.clone();
        let writer = spawn(move || {
            let buf = vec![0u8; 1 << 16];
            loop {
                if let Err(e) = (&*c2).write(&buf) {
                    return e.kind();
                }
            }
        });
        gevent::sleep(SHORT);
        assert!(format!("{c:?}").contains("writing: true"), "{c:?}");
        let fd = c.as_raw_fd();
        c.close();
        assert_eq!(get(&reader), Err(ErrorKind::NotConnected));
        assert_eq!(get(&writer), ErrorKind::NotConnected);
        // Later operations fail the same way; the fd number stays ours.
        assert_eq!(
            (&*c).read(&mut [0]).unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        assert_eq!(c.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        assert_eq!(c.as_raw_fd(), fd);
        c.close(); // twice is fine
    });
}

#[test]
fn close_through_a_clone_wakes_the_waiter_and_releases_the_socket() {
    each_backend(|| {
        let (c, mut s) = pair();
        let c2 = c.try_clone().unwrap();
        let ino = net_util::inode(c.as_raw_fd());
        let reader = spawn(move || {
            let mut c = c;
            c.read(&mut [0; 8]).map_err(|e| e.kind())
        });
        gevent::sleep(SHORT);
        c2.close();
        assert_eq!(get(&reader), Err(ErrorKind::NotConnected));
        // Released at once: the peer sees end of file and no descriptor of
        // ours refers to the socket, though c2 is still alive.
        assert_eq!(s.read(&mut [0; 8]).unwrap(), 0);
        assert!(!net_util::socket_inode_open(ino));
        assert_eq!(c2.try_clone().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn close_listener_frees_the_port_and_wakes_accept() {
    each_backend(|| {
        let (l, a) = listener();
        let l = Rc::new(l);
        let l1 = l.clone();
        let acc = spawn(move || l1.accept().map(|_| ()).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        l.close();
        assert_eq!(get(&acc), Err(ErrorKind::NotConnected));
        // The port is free again although `l` is still alive (with the
        // linuxaio and io_uring backends from the next loop iteration on,
        // when libev withdraws its in-flight poll request on the socket).
        gevent::sleep(SHORT);
        let again = TcpListener::bind(a).unwrap();
        assert_eq!(again.local_addr().unwrap(), a);
    });
}

#[test]
fn timeout_block_interrupts_read_and_leaves_the_socket_usable() {
    each_backend(|| {
        let (mut c, mut s) = pair();
        let r = gevent::with_timeout(SHORT, || c.read(&mut [0; 8]));
        assert!(r.unwrap_err().is_timeout());
        // The watcher was stopped and the slot freed: reading works again.
        s.write_all(b"ok").unwrap();
        let mut b = [0; 2];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ok");
        // Same for accept and connect.
        let (l, _) = listener();
        assert!(
            gevent::with_timeout(SHORT, || l.accept())
                .unwrap_err()
                .is_timeout()
        );
    });
}

#[test]
fn kill_while_reading_stops_the_watcher_and_closes_the_fd() {
    each_backend(|| {
        let (c, _s) = pair();
        let c = Rc::new(c);
        let c1 = c.clone();
        let g = spawn(move || (&*c1).read(&mut [0; 8]).map(|_| ()));
        gevent::sleep(SHORT);
        assert!(format!("{c:?}").contains("reading: true"));
        g.kill().unwrap();
        assert!(g.dead());
        assert!(format!("{c:?}").contains("reading: false"), "{c:?}");
        // A socket owned by the killed greenlet is closed by the unwind.
        let (c, _s) = pair();
        let ino = net_util::inode(c.as_raw_fd());
        let g = spawn(move || {
            let mut c = c;
            c.read(&mut [0; 8]).map(|_| ())
        });
        gevent::sleep(SHORT);
        assert!(net_util::socket_inode_open(ino));
        g.kill().unwrap();
        assert!(!net_util::socket_inode_open(ino));
    });
}

#[test]
fn an_idle_socket_does_not_keep_the_hub_alive() {
    // After a read that waited, the socket's io watcher stays started for
    // the next wait; it must neither keep the loop alive (LoopExit still
    // comes) nor lose data that arrives while nobody waits.
    for b in gevent::core::Loop::usable_backends()
        .iter()
        .filter(|&b| net_util::testable(b))
    {
        gevent::run_on_backend(b, || {
            let (c, s) = pair();
            let (c, s) = (Rc::new(c), Rc::new(s));
            let s1 = s.clone();
            let w = spawn(move || {
                gevent::sleep(SHORT);
                (&*s1).write_all(b"x")
            });
            let mut one = [0; 1];
            assert_eq!((&*c).read(&mut one).unwrap(), 1);
            get(&w).unwrap();
            assert!(format!("{c:?}").contains("reading: false"), "{c:?}");
            // Bounds the test if the hub wrongly stays alive: a guard that
            // does not keep the loop alive itself closes the socket.
            let guard_fired = Rc::new(std::cell::Cell::new(false));
            let (g, c1) = (guard_fired.clone(), c.clone());
            let guard = gevent::core::Timer::new(
                gevent::get_hub().loop_(),
                net_util::BOUND,
                Duration::ZERO,
                move |_, _| {
                    g.set(true);
                    c1.close();
                },
            );
            guard.set_keepalive(false);
            guard.start().unwrap();
            let never = Greenlet::new(|| ());
            let r = never.join();
            assert!(matches!(r, Err(gevent::Error::LoopExit)), "{r:?}");
            assert!(!guard_fired.get(), "the idle socket kept the hub alive");
            // Data arriving while nobody waits is read later.
            (&*s).write_all(b"yz").unwrap();
            gevent::sleep(SHORT);
            let mut two = [0; 2];
            (&*c).read_exact(&mut two).unwrap();
            assert_eq!(&two, b"yz");
            // And a reader that waits again is woken again.
            let s2 = s.clone();
            let w = spawn(move || {
                gevent::sleep(SHORT);
                (&*s2).write_all(b"w")
            });
            assert_eq!((&*c).read(&mut one).unwrap(), 1);
            assert_eq!(&one, b"w");
            get(&w).unwrap();
        })
        .unwrap();
    }
}

#[test]
fn read_timeout() {
    each_backend(|| {
        let (mut c, mut s) = pair();
        c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(10)));
        let e = c.read(&mut [0; 8]).unwrap_err();
        // std on Linux: SO_RCVTIMEO expiry is EAGAIN = WouldBlock.
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        let e = c.peek(&mut [0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        // Data arriving in time is read.
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let w = spawn(move || {
            gevent::sleep(SHORT);
            s.write_all(b"late").unwrap();
            s
        });
        let mut b = [0; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"late");
        get(&w);
        // The timeout is shared with clones, as SO_RCVTIMEO is.
        let c2 = c.try_clone().unwrap();
        assert_eq!(c2.read_timeout().unwrap(), Some(Duration::from_secs(5)));
        c.set_read_timeout(None).unwrap();
        assert_eq!(c2.read_timeout().unwrap(), None);
    });
}

#[test]
fn zero_duration_timeouts_are_invalid() {
    each_backend(|| {
        let (c, _s) = pair();
        let e = c.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = c.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let a = c.peer_addr().unwrap();
        let e = TcpStream::connect_timeout(&a, Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn write_timeout() {
    each_backend(|| {
        let (mut c, _s) = pair();
        c.set_write_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        let e = loop {
            match c.write(&buf) {
                Ok(n) => total += n,
                Err(e) => break e,
            }
            assert!(total < 1 << 30, "the peer never pushed back");
        };
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert!(total > 0);
    });
}

#[test]
fn nonblocking_mode() {
    each_backend(|| {
        let (l, a) = listener();
        l.set_nonblocking(true).unwrap();
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let mut c = TcpStream::connect(a).unwrap();
        let mut s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    gevent::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        };
        s.set_nonblocking(true).unwrap();
        assert_eq!(
            s.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        c.write_all(b"x").unwrap();
        let n = loop {
            match s.read(&mut [0; 4]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    gevent::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(n, 1);
        s.set_nonblocking(false).unwrap();
        c.write_all(b"y").unwrap();
        assert_eq!(s.read(&mut [0; 4]).unwrap(), 1);
        // The mode is shared with clones (O_NONBLOCK lives in the open
        // file description), both ways and for clones made before.
        let mut s2 = s.try_clone().unwrap();
        s2.set_nonblocking(true).unwrap();
        assert_eq!(
            s.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let mut s3 = s2.try_clone().unwrap();
        s.set_nonblocking(false).unwrap();
        c.write_all(b"z").unwrap();
        assert_eq!(s2.read(&mut [0; 4]).unwrap(), 1);
        // s3, cloned while non-blocking, now waits (until the Timeout).
        let r = gevent::with_timeout(SHORT, || s3.read(&mut [0; 4]));
        assert!(r.unwrap_err().is_timeout());
    });
}

#[test]
fn peek() {
    each_backend(|| {
        let (mut c, s) = pair();
        let p = spawn(move || {
            let mut b = [0; 8];
            let n = s.peek(&mut b).unwrap();
            (n, b, s)
        });
        gevent::sleep(SHORT);
        c.write_all(b"peek").unwrap();
        let (n, b, mut s) = get(&p);
        assert_eq!(&b[..n], b"peek");
        let mut r = [0; 4];
        s.read_exact(&mut r).unwrap();
        assert_eq!(&r, b"peek");
    });
}

#[test]
fn options() {
    each_backend(|| {
        let (l, _) = listener();
        l.set_ttl(100).unwrap();
        assert_eq!(l.ttl().unwrap(), 100);
        let (c, _s) = pair();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        c.set_nodelay(false).unwrap();
        assert!(!c.nodelay().unwrap());
        c.set_ttl(100).unwrap();
        assert_eq!(c.ttl().unwrap(), 100);
        c.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(1)));
        c.set_keepalive(true).unwrap();
        assert!(c.keepalive().unwrap());
        assert!(c.take_error().unwrap().is_none());
    });
}

#[test]
fn connect_timeout_against_a_full_backlog() {
    each_backend(|| {
        // A listener with backlog 1 that never accepts: once its queue is
        // full the kernel drops further SYNs, so a connect cannot finish.
        let raw = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        raw.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        raw.listen(1).unwrap();
        let l = TcpListener::from_std(raw.into()).unwrap();
        let a = l.local_addr().unwrap();
        let mut kept = Vec::new();
        let mut timed_out = false;
        for _ in 0..32 {
            match TcpStream::connect_timeout(&a, Duration::from_millis(50)) {
                Ok(c) => kept.push(c),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
                    timed_out = true;
                    break;
                }
            }
        }
        assert!(timed_out, "{} connects never timed out", kept.len());
        // An enclosing Timeout interrupts a plain connect the same way.
        let r = gevent::with_timeout(Duration::from_millis(50), || TcpStream::connect(a));
        assert!(r.unwrap_err().is_timeout());
    });
}

#[test]
fn std_and_raw_fd_conversions() {
    each_backend(|| {
        let (l, a) = listener();
        // Into std: blocking, with our timeouts as SO_RCVTIMEO.
        let c = TcpStream::connect(a).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let (s, _) = l.accept().unwrap();
        let mut std_c: std::net::TcpStream = c.into_std().unwrap();
        assert!(std_c.read_timeout().unwrap().is_some()); // rounded to jiffies
        assert_eq!(
            std_c.read(&mut [0]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // From std: a blocking std socket becomes cooperative...
        std_c.set_read_timeout(None).unwrap();
        let mut c = TcpStream::from_std(std_c).unwrap();
        let w = spawn(move || {
            gevent::sleep(SHORT);
            (&s).write_all(b"z").unwrap();
            s
        });
        let mut b = [0];
        c.read_exact(&mut b).unwrap();
        let s = get(&w);
        // ...and a non-blocking one stays non-blocking.
        let std_s = s.into_std().unwrap();
        std_s.set_nonblocking(true).unwrap();
        let s = TcpStream::try_from(std_s).unwrap();
        assert_eq!(
            (&s).read(&mut [0]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Raw descriptors and OwnedFd round trips.
        let fd = s.into_raw_fd();
        // SAFETY: we own `fd`, which is a TCP socket.
        let s = unsafe { TcpStream::from_raw_fd(fd) };
        let owned: OwnedFd = s.into();
        let s = TcpStream::from(owned);
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        let l2 = std::net::TcpListener::try_from(l).unwrap();
        assert_eq!(l2.local_addr().unwrap(), a);
        // into_std of a closed socket fails clearly.
        s.close();
        assert_eq!(s.into_std().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn debug_output() {
    each_backend(|| {
        let (l, a) = listener();
        let d = format!("{l:?}");
        assert!(d.contains(&a.to_string()) && d.contains("fd"), "{d}");
        let c = TcpStream::connect(a).unwrap();
        let d = format!("{c:?}");
        assert!(d.contains(&a.to_string()) && d.contains("peer"), "{d}");
    });
}

#[test]
fn blocking_in_the_hub_is_an_error() {
    each_backend(|| {
        let (c, _s) = pair();
        let c = Rc::new(c);
        let c1 = c.clone();
        let out = Rc::new(std::cell::Cell::new(None));
        let o = out.clone();
        gevent::get_hub().run_callback(move || {
            o.set(Some((&*c1).read(&mut [0; 4]).map_err(|e| e.kind())));
        });
        gevent::sleep(SHORT);
        assert_eq!(out.take(), Some(Err(ErrorKind::WouldBlock)));
    });
}

#[test]
fn many_connections() {
    net_util::raise_nofile(8192);
    each_backend(|| {
        const N: usize = 1000;
        let (l, a) = listener();
        let srv = spawn(move || {
            let mut handlers = Vec::with_capacity(N);
            for _ in 0..N {
                let (mut s, _) = l.accept().unwrap();
                handlers.push(spawn(move || {
                    let mut buf = [0; 64];
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => s.write_all(&buf[..n]).unwrap(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                }));
            }
            gevent::joinall(&handlers, Some(Duration::from_secs(15))).unwrap();
            handlers.len()
        });
        let clients: Vec<_> = (0..N)
            .map(|i| {
                spawn(move || {
                    let mut c = TcpStream::connect(a).unwrap();
                    let msg = format!("client {i:04}");
                    let mut back = vec![0; msg.len()];
                    for _ in 0..3 {
                        c.write_all(msg.as_bytes()).unwrap();
                        c.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg.as_bytes());
                    }
                    1usize
                })
            })
            .collect();
        gevent::joinall(&clients, Some(Duration::from_secs(15))).unwrap();
        assert_eq!(clients.iter().map(get).sum::<usize>(), N);
        assert_eq!(get(&srv), N);
    });
}

// ---------------------------------------------------------------------------
// Issue 8, item 3: an accept failing with EMFILE lets other greenlets run,
// so a naive retry loop cannot starve the hub. Run in a child process: it
// lowers RLIMIT_NOFILE, which would break tests running alongside.

const EMFILE_CHILD_ENV: &str = "GEVENT_TEST_EMFILE_CHILD";

/// Uses up every fd the (lowered) limit allows; returns them to close later.
fn exhaust_fds() -> Vec<std::fs::File> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        r.rlim_cur = 256.min(r.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &r), 0);
    }
    let mut files = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => files.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                return files;
            }
        }
    }
}

/// A naive accept loop (retry at once on any error) under EMFILE, beside
/// a ticker greenlet: the ticker must keep ticking.
fn naive_loop_under_emfile<S>(mut accept: impl FnMut() -> std::io::Result<S>) {
    use std::cell::Cell;
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    let ticker = spawn(move || {
        loop {
            gevent::sleep(Duration::from_millis(1));
            t.set(t.get() + 1);
        }
    });
    let started = std::time::Instant::now();
    let mut errors = 0u64;
    while ticks.get() < 20 && started.elapsed() < Duration::from_secs(10) {
        match accept() {
            Ok(_) => panic!("accepted although out of fds"),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                errors += 1;
            }
        }
    }
    assert!(
        ticks.get() >= 20,
        "the ticker starved: {} ticks beside {errors} failing accepts",
        ticks.get()
    );
    ticker.kill().unwrap();
}

fn emfile_child() {
    for b in gevent::core::Loop::usable_backends().iter() {
        println!("--- backend {b}");
        gevent::run_on_backend(b, || {
            // TCP: a pending connection keeps the listener readable.
            let (l, a) = listener();
            let _pending = std::net::TcpStream::connect(a).unwrap();
            // Unix, the same.
            let path = std::env::temp_dir().join(format!(
                "gevent-emfile-{}-{}",
                std::process::id(),
                gevent::get_hub().loop_().backend()
            ));
            let _ = std::fs::remove_file(&path);
            let ul = gevent::net::UnixListener::bind(&path).unwrap();
            let _upending = std::os::unix::net::UnixStream::connect(&path).unwrap();
            let mut saved = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit on a struct we own.
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut saved) };
            let files = exhaust_fds();
            naive_loop_under_emfile(|| l.incoming().next().unwrap());
            naive_loop_under_emfile(|| ul.incoming().next().unwrap());
            drop(files);
            // SAFETY: restores the limit read above.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &saved) };
            // With fds available again, the pending connections come in.
            assert!(l.accept().is_ok());
            assert!(ul.accept().is_ok());
            let _ = std::fs::remove_file(&path);
        })
        .unwrap();
    }
    println!("emfile child done");
}

#[test]
fn accept_out_of_fds_lets_other_greenlets_run() {
    if std::env::var_os(EMFILE_CHILD_ENV).is_some() {
        emfile_child();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "accept_out_of_fds_lets_other_greenlets_run",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EMFILE_CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("emfile child done"),
        "child failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}
