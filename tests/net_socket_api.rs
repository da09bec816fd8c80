//! The generic `net::Socket`, `sendfile`, `send_fds`/`recv_fds`,
//! `create_connection`, `gethostname`/`getfqdn`, configurable listen
//! backlogs and std's `*_addr` Unix methods, with bad input; on every
//! usable backend.

mod net_util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::time::Duration;

use gevent::net::{
    Domain, MAX_FDS, Protocol, SockAddr, Socket, TcpListener, TcpStream, Type, UnixDatagram,
    UnixListener, UnixStream, getfqdn, gethostname,
};
use gevent::{Greenlet, sleep, spawn};
use net_util::{BOUND, each_backend, sock_path};

fn get<T: 'static>(g: &Greenlet<T>) -> T {
    assert!(g.join_timeout(BOUND).unwrap());
    g.take().expect("greenlet failed")
}

fn loopback() -> SockAddr {
    SockAddr::from("127.0.0.1:0".parse::<SocketAddr>().unwrap())
}

fn temp_file(tag: &str, data: &[u8]) -> std::path::PathBuf {
    let p = sock_path(tag);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn generic_tcp_socket_is_cooperative() {
    each_backend(|| {
        let l = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        l.sock_ref().unwrap().set_reuse_address(true).unwrap();
        l.bind(&loopback()).unwrap();
        l.listen(8).unwrap();
        let addr = l.local_addr().unwrap();
        // The server parks in accept while the client connects.
        let server = spawn(move || {
            let (mut s, peer) = l.accept().unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            peer
        });
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.connect(&addr).unwrap();
        assert_eq!(c.peer_addr().unwrap().as_socket(), addr.as_socket());
        assert_eq!(c.send(b"hello").unwrap(), 5);
        let mut buf = [0; 5];
        assert_eq!(c.peek(&mut buf).unwrap(), 5);
        assert_eq!(c.recv(&mut buf).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        assert_eq!(c.recv(&mut buf).unwrap(), 0);
        assert_eq!(
            get(&server).as_socket(),
            c.local_addr().unwrap().as_socket()
        );
        // Timeouts and non-blocking mode come from the shared macros.
        c.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        c.close();
        assert_eq!(c.send(b"x").unwrap_err().kind(), ErrorKind::NotConnected);
        assert_eq!(
            c.recv(&mut buf).unwrap_err().kind(),
            ErrorKind::NotConnected
        );
    });
}

#[test]
fn generic_socket_datagrams_and_pairs() {
    each_backend(|| {
        let a = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let b = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        b.bind(&loopback()).unwrap();
        let to = b.local_addr().unwrap();
        let rx = spawn(move || {
            let mut buf = [0; 16];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            (buf[..n].to_vec(), from.as_socket())
        });
        sleep(Duration::ZERO);
        a.send_to(b"datagram", &to).unwrap();
        let (data, from) = get(&rx);
        assert_eq!(data, b"datagram");
        assert_eq!(
            from.map(|f| f.port()),
            a.local_addr().unwrap().as_socket().map(|a| a.port())
        );
        let (x, y) = Socket::pair(Domain::UNIX, Type::SEQPACKET, None).unwrap();
        x.send(b"msg").unwrap();
        let mut buf = [0; 8];
        assert_eq!(y.recv(&mut buf).unwrap(), 3);
        // Non-blocking mode: WouldBlock instead of parking.
        y.set_nonblocking(true).unwrap();
        assert_eq!(y.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn generic_socket_bad_input_is_an_error() {
    each_backend(|| {
        assert!(Socket::new(Domain::from(9999), Type::STREAM, None).is_err());
        assert!(Socket::new(Domain::IPV4, Type::from(9999), None).is_err());
        assert!(Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::from(250))).is_err());
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert_eq!(s.listen(-1).unwrap_err().kind(), ErrorKind::InvalidInput);
        let unix = SockAddr::unix("/nonexistent/gevent-test.sock").unwrap();
        assert!(s.bind(&unix).is_err());
        assert!(s.connect(&unix).is_err());
        assert_eq!(
            s.connect_timeout(&loopback(), Duration::ZERO)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        // Nothing listens on a port we just freed.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = SockAddr::from(l.local_addr().unwrap());
        drop(l);
        let e = s.connect_timeout(&dead, Duration::MAX).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        assert!(format!("{s:?}").contains("Socket"));
    });
}

#[test]
fn sendfile_streams_a_file_while_the_reader_runs() {
    each_backend(|| {
        let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 241) as u8).collect();
        let path = temp_file("sendfile", &body);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let reader = spawn(move || {
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let f = std::fs::File::open(&path).unwrap();
        // More than the socket buffers hold: sendfile parks for the reader.
        assert_eq!(c.sendfile(&f, 0, None).unwrap(), body.len());
        assert_eq!(c.sendfile(&f, 10, Some(5)).unwrap(), 5);
        // Past the end: nothing to send.
        assert_eq!(c.sendfile(&f, 10_000_000, None).unwrap(), 0);
        assert_eq!(
            c.sendfile(&f, u64::MAX, None).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(c.sendfile(&f, 0, Some(0)).unwrap(), 0);
        // A pipe cannot be a sendfile source here: the kernel's error.
        let (r, _w) = std::io::pipe().unwrap();
        drop(_w);
        let _ = c.sendfile(&r, 0, Some(1));
        drop(c);
        let got = get(&reader);
        assert_eq!(got.len(), body.len() + 5);
        assert_eq!(&got[..body.len()], &body[..]);
        assert_eq!(&got[body.len()..], &body[10..15]);
        // UnixStream and Socket have it too.
        let (a, mut b) = UnixStream::pair().unwrap();
        assert_eq!(a.sendfile(&f, 1, Some(3)).unwrap(), 3);
        let mut three = [0; 3];
        b.read_exact(&mut three).unwrap();
        assert_eq!(&three[..], &body[1..4]);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn descriptors_travel_over_unix_sockets() {
    each_backend(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, mut w) = std::io::pipe().unwrap();
        // The receiver parks until the message comes.
        let rx = spawn(move || {
            let mut buf = [0; 8];
            let got = b.recv_fds(&mut buf, usize::MAX).unwrap();
            (buf[..got.len].to_vec(), got.fds, got.truncated)
        });
        sleep(Duration::ZERO);
        assert_eq!(a.send_fds(b"fd", &[r.as_fd()]).unwrap(), 2);
        let (data, fds, truncated) = get(&rx);
        assert_eq!(
            (data.as_slice(), fds.len(), truncated),
            (&b"fd"[..], 1, false)
        );
        drop(r);
        w.write_all(b"via copy").unwrap();
        drop(w);
        let mut s = String::new();
        std::fs::File::from(fds.into_iter().next().unwrap())
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "via copy");
        // Bad input.
        let (a, b) = UnixStream::pair().unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(
            a.send_fds(b"", &[f.as_fd()]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let many = vec![f.as_fd(); MAX_FDS + 1];
        assert_eq!(
            a.send_fds(b"x", &many).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // More descriptors than asked for: the rest are dropped, and said so.
        a.send_fds(b"3", &[f.as_fd(), f.as_fd(), f.as_fd()])
            .unwrap();
        let got = b.recv_fds(&mut [0; 1], 1).unwrap();
        assert_eq!((got.len, got.fds.len(), got.truncated), (1, 1, true));
        // Zero descriptors asked for: plain data.
        a.send(b"z").unwrap_or_else(|_| unreachable!());
        let got = b.recv_fds(&mut [0; 1], 0).unwrap();
        assert_eq!((got.len, got.fds.len()), (1, 0));
        // Datagrams and the generic socket.
        let (x, y) = UnixDatagram::pair().unwrap();
        x.send_fds(b"d", &[f.as_fd(); 3]).unwrap();
        assert_eq!(y.recv_fds(&mut [0; 1], MAX_FDS).unwrap().fds.len(), 3);
        let (p, q) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
        p.send_fds(b"s", &[f.as_fd()]).unwrap();
        assert_eq!(q.recv_fds(&mut [0; 1], 2).unwrap().fds.len(), 1);
        // Over TCP they would be dropped silently: refused instead.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        t.connect(&SockAddr::from(l.local_addr().unwrap())).unwrap();
        assert_eq!(
            t.send_fds(b"x", &[f.as_fd()]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

trait SendExt {
    fn send(&self, b: &[u8]) -> std::io::Result<usize>;
}
impl SendExt for UnixStream {
    fn send(&self, b: &[u8]) -> std::io::Result<usize> {
        (&*self).write(b)
    }
}

#[test]
fn create_connection_by_name_with_source_and_deadline() {
    each_backend(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let s = TcpStream::create_connection(
            ("localhost", port),
            Some(Duration::from_secs(10)),
            Some("127.0.0.1:0".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
        let (_acc, peer) = l.accept().unwrap();
        assert_eq!(peer, s.local_addr().unwrap());
        // A fixed source port is used as given.
        let src_l = TcpListener::bind("127.0.0.1:0").unwrap();
        let src = src_l.local_addr().unwrap();
        drop(src_l);
        if let Ok(s2) = TcpStream::create_connection(("127.0.0.1", port), None, Some(src)) {
            assert_eq!(s2.local_addr().unwrap(), src);
        }
        let s3 = TcpStream::connect_timeout_to(("localhost", port), Duration::MAX).unwrap();
        assert_eq!(s3.peer_addr().unwrap().port(), port);
        // Bad input.
        assert_eq!(
            TcpStream::create_connection(("127.0.0.1", port), Some(Duration::ZERO), None)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let e = TcpStream::create_connection(
            ("127.0.0.1", port),
            None,
            Some("[::1]:0".parse().unwrap()),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("family"), "{e}");
        assert_eq!(
            TcpStream::create_connection(("127.0.0.1", 0), None, None)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        // A source address that is not ours.
        assert!(
            TcpStream::create_connection(
                ("127.0.0.1", port),
                None,
                Some("192.0.2.1:0".parse().unwrap())
            )
            .is_err()
        );
        drop(l);
        assert_eq!(
            TcpStream::create_connection(("127.0.0.1", port), Some(BOUND), None)
                .unwrap_err()
                .kind(),
            ErrorKind::ConnectionRefused
        );
    });
}

#[test]
fn host_names() {
    each_backend(|| {
        let h = gethostname().unwrap();
        assert!(!h.is_empty() && !h.contains('\0'));
        assert!(!getfqdn("").is_empty());
        assert!(!getfqdn("  ").is_empty());
        assert!(!getfqdn("127.0.0.1").is_empty());
    });
}

#[test]
fn listen_backlog_is_configurable() {
    each_backend(|| {
        for backlog in [0, 1, 4096, i32::MAX] {
            let l = TcpListener::bind_with_backlog("127.0.0.1:0", backlog).unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        }
        assert_eq!(
            TcpListener::bind_with_backlog("127.0.0.1:0", -1)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let path = sock_path("backlog");
        let l = UnixListener::bind_with_backlog(&path, 2).unwrap();
        let _c = UnixStream::connect(&path).unwrap();
        assert!(l.accept().is_ok());
        assert_eq!(
            UnixListener::bind_with_backlog(sock_path("neg"), i32::MIN)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn std_unix_addr_methods() {
    each_backend(|| {
        let path = sock_path("addr");
        let l = UnixListener::bind_addr(&UnixAddr::from_pathname(&path).unwrap()).unwrap();
        let c = UnixStream::connect_addr(&l.local_addr().unwrap()).unwrap();
        let mut n = 0;
        for s in (&l).into_iter().take(1) {
            assert!(s.unwrap().peer_addr().unwrap().is_unnamed());
            n += 1;
        }
        assert_eq!(n, 1);
        drop(c);
        // Abstract names (Linux).
        {
            use std::os::linux::net::SocketAddrExt;
            let name = format!(
                "gevent-test-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            );
            let a = UnixAddr::from_abstract_name(name.as_bytes()).unwrap();
            let l = UnixListener::bind_addr(&a).unwrap();
            let c = UnixStream::connect_addr(&a).unwrap();
            let (s, _) = l.accept().unwrap();
            assert_eq!(
                c.peer_addr().unwrap().as_abstract_name(),
                Some(name.as_bytes())
            );
            drop(s);
        }
        // Datagrams.
        let dpath = sock_path("dgram-addr");
        let server = UnixDatagram::bind_addr(&UnixAddr::from_pathname(&dpath).unwrap()).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client
            .send_to_addr(b"one", &server.local_addr().unwrap())
            .unwrap();
        client.connect_addr(&server.local_addr().unwrap()).unwrap();
        client.send(b"two").unwrap();
        let mut buf = [0; 8];
        assert_eq!(server.recv(&mut buf).unwrap(), 3);
        assert_eq!(server.recv(&mut buf).unwrap(), 3);
        // Unnamed addresses name nothing.
        let unnamed = client.local_addr().unwrap();
        assert!(unnamed.is_unnamed());
        assert_eq!(
            UnixStream::connect_addr(&unnamed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixListener::bind_addr(&unnamed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixDatagram::bind_addr(&unnamed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            client.connect_addr(&unnamed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            client.send_to_addr(b"x", &unnamed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // Connecting to a path nobody listens on.
        let gone = sock_path("gone");
        let a = UnixAddr::from_pathname(&gone).unwrap();
        assert_eq!(
            UnixStream::connect_addr(&a).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}
