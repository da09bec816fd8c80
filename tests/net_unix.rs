//! Unix-domain sockets (std's unix/net tests as a model), on every usable backend.

mod net_util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use gevent::net::{UnixDatagram, UnixListener, UnixStream, socketpair};
use gevent::{Greenlet, spawn};
use net_util::{SHORT, each_backend, sock_path};

fn get<T: 'static>(g: &Greenlet<T>) -> T {
    assert!(g.join_timeout(Duration::from_secs(10)).unwrap());
    g.take().expect("greenlet failed")
}

#[test]
fn listener_accept_connect_echo() {
    each_backend(|| {
        let path = sock_path("echo");
        let l = UnixListener::bind(&path).unwrap();
        assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let srv = spawn(move || {
            for s in l.incoming().take(3) {
                let mut s = s.unwrap();
                spawn(move || {
                    let mut b = [0; 16];
                    let n = s.read(&mut b).unwrap();
                    s.write_all(&b[..n]).unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..3u8)
            .map(|i| {
                let path = path.clone();
                spawn(move || {
                    let mut c = UnixStream::connect(&path).unwrap();
                    c.write_all(&[i; 4]).unwrap();
                    let mut b = [0; 4];
                    c.read_exact(&mut b).unwrap();
                    b
                })
            })
            .collect();
        for (i, c) in clients.iter().enumerate() {
            assert_eq!(get(c), [i as u8; 4]);
        }
        get(&srv);
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        std::fs::remove_file(&path).unwrap();
        assert!(UnixStream::connect(&path).is_err());
    });
}

#[test]
fn pair_read_write_shutdown_peek() {
    each_backend(|| {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let r = spawn(move || {
            let mut buf = [0; 5];
            b.read_exact(&mut buf).unwrap();
            (buf, b)
        });
        gevent::sleep(SHORT);
        a.write_all(b"hello").unwrap();
        let (buf, b) = get(&r);
        assert_eq!(&buf, b"hello");
        a.write_all(b"pk").unwrap();
        let mut p = [0; 4];
        assert_eq!(b.peek(&mut p).unwrap(), 2);
        assert_eq!((&b).read(&mut p).unwrap(), 2);
        a.shutdown(Shutdown::Write).unwrap();
        assert_eq!((&b).read(&mut p).unwrap(), 0);
        assert_eq!(a.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
        let (x, _y) = socketpair().unwrap();
        assert!(x.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn stream_timeouts_nonblocking_and_busy() {
    each_backend(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let e = (&a).read(&mut [0; 4]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert_eq!(
            a.peek(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.set_read_timeout(None).unwrap();
        a.set_nonblocking(true).unwrap();
        assert_eq!(
            (&a).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.set_nonblocking(false).unwrap();
        let a = Rc::new(a);
        let a1 = a.clone();
        let r = spawn(move || (&*a1).read(&mut [0; 4]).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        assert_eq!(
            (&*a).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::ResourceBusy
        );
        a.close();
        assert_eq!(get(&r), Err(ErrorKind::NotConnected));
    });
}

#[test]
fn close_listener_wakes_accept() {
    each_backend(|| {
        let path = sock_path("close");
        let l = Rc::new(UnixListener::bind(&path).unwrap());
        let l1 = l.clone();
        let acc = spawn(move || l1.accept().map(|_| ()).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        l.close();
        assert_eq!(get(&acc), Err(ErrorKind::NotConnected));
        gevent::sleep(SHORT);
        assert!(UnixStream::connect(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn stream_std_conversions_and_kill() {
    each_backend(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let std_a = a.into_std().unwrap();
        let mut a = UnixStream::try_from(std_a).unwrap();
        let g = spawn(move || {
            let mut b = b;
            b.read(&mut [0; 4]).map(|_| ())
        });
        gevent::sleep(SHORT);
        g.kill().unwrap();
        // b was dropped by the kill: a sees the close.
        assert_eq!(a.read(&mut [0; 4]).unwrap(), 0);
        let d = format!("{a:?}");
        assert!(d.contains("UnixStream") && d.contains("fd"), "{d}");
    });
}

#[test]
fn datagram_pair_bind_send_to_recv_from() {
    each_backend(|| {
        let (a, b) = UnixDatagram::pair().unwrap();
        let r = spawn(move || {
            let mut buf = [0; 8];
            let n = b.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        gevent::sleep(SHORT);
        a.send(b"dgram").unwrap();
        assert_eq!(get(&r), b"dgram");

        let sp = sock_path("dg-server");
        let cp = sock_path("dg-client");
        let server = UnixDatagram::bind(&sp).unwrap();
        let client = UnixDatagram::bind(&cp).unwrap();
        client.send_to(b"ping", &sp).unwrap();
        let mut buf = [0; 8];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from.as_pathname(), Some(cp.as_path()));
        server
            .send_to(b"pong", from.as_pathname().unwrap())
            .unwrap();
        assert_eq!(client.recv(&mut buf).unwrap(), 4);
        let unbound = UnixDatagram::unbound().unwrap();
        unbound.connect(&sp).unwrap();
        unbound.send(b"c").unwrap();
        assert_eq!(server.recv_from(&mut buf).unwrap().0, 1);
        assert!(unbound.send_to(b"x", sock_path("nobody")).is_err());
        std::fs::remove_file(&sp).unwrap();
        std::fs::remove_file(&cp).unwrap();
    });
}

#[test]
fn datagram_timeouts_close_and_shutdown() {
    each_backend(|| {
        let (a, _b) = UnixDatagram::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        assert_eq!(
            a.recv(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.set_read_timeout(None).unwrap();
        let a = Rc::new(a);
        let a1 = a.clone();
        let r = spawn(move || a1.recv(&mut [0; 4]).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        a.shutdown(Shutdown::Read).unwrap();
        assert_eq!(get(&r), Ok(0));
        let a2 = a.try_clone().unwrap();
        let a3 = a.clone();
        let r = spawn(move || a3.recv_from(&mut [0; 4]).map(|_| ()).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        a2.close();
        let got = get(&r);
        // Already shut down for reading, so the receive may also see EOF first.
        assert!(
            got == Err(ErrorKind::NotConnected) || got == Ok(()),
            "{got:?}"
        );
        assert_eq!(
            a.recv(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::NotConnected
        );
    });
}
