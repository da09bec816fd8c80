//! UDP sockets, modelled on std's tests (library/std/src/net/udp/tests.rs),
//! on every usable backend.

mod net_util;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use gevent::net::UdpSocket;
use gevent::{Greenlet, spawn};
use net_util::{SHORT, each_backend};

fn bound() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

fn get<T: 'static>(g: &Greenlet<T>) -> T {
    assert!(g.join_timeout(Duration::from_secs(10)).unwrap());
    g.take().expect("greenlet failed")
}

#[test]
fn bind_errors() {
    each_backend(|| {
        let (_s, a) = bound();
        assert_eq!(UdpSocket::bind(a).unwrap_err().kind(), ErrorKind::AddrInUse);
        assert_eq!(
            UdpSocket::bind("1.1.1.1:9999").unwrap_err().kind(),
            ErrorKind::AddrNotAvailable
        );
        assert_eq!(
            UdpSocket::bind("x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn send_to_recv_from() {
    each_backend(|| {
        let (a, aa) = bound();
        let (b, ba) = bound();
        let r = spawn(move || {
            let mut buf = [0; 16];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            b.send_to(&buf[..n], from).unwrap();
            (buf[..n].to_vec(), from)
        });
        gevent::sleep(SHORT);
        a.send_to(b"hello", ba).unwrap();
        let mut buf = [0; 16];
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"hello"[..], ba));
        assert_eq!(get(&r), (b"hello".to_vec(), aa));
        // send_to by (host, port) and a name that resolves to nothing valid.
        a.send_to(b"x", ("127.0.0.1", ba.port())).unwrap();
        assert_eq!(
            a.send_to(b"x", &[][..]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn connected_send_recv_and_peek() {
    each_backend(|| {
        let (a, aa) = bound();
        let (b, ba) = bound();
        a.connect(ba).unwrap();
        b.connect(aa).unwrap();
        assert_eq!(a.peer_addr().unwrap(), ba);
        a.send(b"one").unwrap();
        a.send(b"two").unwrap();
        let mut buf = [0; 8];
        assert_eq!(b.peek(&mut buf).unwrap(), 3);
        assert_eq!(b.peek_from(&mut buf).unwrap(), (3, aa));
        assert_eq!(b.recv(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.recv(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"two");
        // A truncated datagram.
        a.send(b"longer than four").unwrap();
        let mut small = [0; 4];
        assert_eq!(b.recv(&mut small).unwrap(), 4);
        assert_eq!(&small, b"long");
    });
}

#[test]
fn clones_receive_concurrently() {
    each_backend(|| {
        let (a, _) = bound();
        let (b, ba) = bound();
        let b2 = b.try_clone().unwrap();
        let r1 = spawn(move || b.recv_from(&mut [0; 4]).unwrap().0);
        let r2 = spawn(move || b2.recv_from(&mut [0; 4]).unwrap().0);
        gevent::sleep(SHORT);
        a.send_to(b"1", ba).unwrap();
        a.send_to(b"22", ba).unwrap();
        let mut got = [get(&r1), get(&r2)];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn second_receiver_on_one_handle_is_busy_and_close_wakes_the_first() {
    each_backend(|| {
        let (s, _) = bound();
        let s = Rc::new(s);
        let s1 = s.clone();
        let r = spawn(move || s1.recv_from(&mut [0; 4]).map(|_| ()).map_err(|e| e.kind()));
        gevent::sleep(SHORT);
        assert_eq!(
            s.recv(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::ResourceBusy
        );
        s.close();
        assert_eq!(get(&r), Err(ErrorKind::NotConnected));
        assert_eq!(
            s.send_to(b"x", "127.0.0.1:9").unwrap_err().kind(),
            ErrorKind::NotConnected
        );
    });
}

#[test]
fn timeouts_and_nonblocking() {
    each_backend(|| {
        let (s, _) = bound();
        s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        assert_eq!(
            s.recv_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            s.peek_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            s.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
        s.set_read_timeout(None).unwrap();
        s.set_nonblocking(true).unwrap();
        assert_eq!(
            s.recv_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // A Timeout block interrupts a receive; the socket stays usable.
        s.set_nonblocking(false).unwrap();
        let r = gevent::with_timeout(SHORT, || s.recv_from(&mut [0; 4]));
        assert!(r.unwrap_err().is_timeout());
        let (a, _) = bound();
        a.send_to(b"ok", s.local_addr().unwrap()).unwrap();
        assert_eq!(s.recv_from(&mut [0; 4]).unwrap().0, 2);
    });
}

#[test]
fn options() {
    each_backend(|| {
        let (s, _) = bound();
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(42).unwrap();
        assert_eq!(s.ttl().unwrap(), 42);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
        assert!(s.take_error().unwrap().is_none());
        // Not a multicast group: a clear error.
        assert!(
            s.join_multicast_v4(&Ipv4Addr::LOCALHOST, &Ipv4Addr::UNSPECIFIED)
                .is_err()
        );
    });
}

#[test]
fn ipv6_and_conversions() {
    each_backend(|| {
        if let Ok(s6) = UdpSocket::bind("[::1]:0") {
            let (t6, _) = (UdpSocket::bind("[::1]:0").unwrap(), ());
            t6.send_to(b"v6", s6.local_addr().unwrap()).unwrap();
            assert_eq!(s6.recv_from(&mut [0; 4]).unwrap().0, 2);
        }
        let (s, a) = bound();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let std_s = s.into_std().unwrap();
        assert!(std_s.read_timeout().unwrap().is_some());
        let s = UdpSocket::from_std(std_s).unwrap();
        assert!(s.read_timeout().unwrap().is_some());
        assert_eq!(s.local_addr().unwrap(), a);
        let d = format!("{s:?}");
        assert!(d.contains(&a.to_string()), "{d}");
    });
}
