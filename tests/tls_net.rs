//! gevent::tls over gevent::net sockets, client and server as greenlets of
//! one thread, on every backend. Each body runs inside a Timeout
//! (net_util::each_backend), so a bug fails instead of hanging.

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream, UnixStream};
use gevent::tls::{TlsAcceptor, TlsConnector, TlsStream};

mod net_util;
/// The code behind examples/tls_server.rs and tls_client.rs.
#[path = "../examples/tls_common/mod.rs"]
mod tls_example;
mod tls_util;
use net_util::each_backend;
use tls_util::LocalhostPems;

/// Echoes until the client's close_notify, then sends its own.
fn echo<S: Read + Write>(mut tls: TlsStream<S>) -> std::io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            tls.shutdown()?;
            return Ok(total);
        }
        total += n as u64;
        tls.write_all(&buf[..n])?;
    }
}

/// A TLS echo server on 127.0.0.1: one greenlet per connection; stops
/// after `connections` connections and returns their byte counts.
fn echo_server(
    acc: TlsAcceptor,
    connections: usize,
) -> (std::net::SocketAddr, gevent::Greenlet<Vec<u64>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = gevent::spawn(move || {
        let handlers: Vec<_> = (0..connections)
            .map(|_| {
                let (sock, _) = listener.accept().unwrap();
                let acc = acc.clone();
                gevent::spawn(move || echo(acc.accept(sock)?))
            })
            .collect();
        handlers
            .iter()
            .map(|h| h.take().unwrap().unwrap())
            .collect()
    });
    (addr, server)
}

/// Connects, does `rounds` echo round trips, shuts down cleanly.
fn echo_client(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    id: usize,
    rounds: usize,
) -> std::io::Result<()> {
    let mut tls = connector.connect("localhost", TcpStream::connect(addr)?)?;
    assert_eq!(tls.protocol_version(), Some("TLSv1.3"));
    for r in 0..rounds {
        let msg = format!("client {id} round {r}");
        tls.write_all(msg.as_bytes())?;
        let mut back = vec![0u8; msg.len()];
        tls.read_exact(&mut back)?;
        assert_eq!(back, msg.as_bytes());
    }
    tls.shutdown()?;
    assert_eq!(tls.read(&mut [0u8; 16])?, 0, "the server's close_notify");
    Ok(())
}

#[test]
fn echo_over_tcp_in_greenlets() {
    let pems = LocalhostPems::new();
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems.connector();
        let (addr, server) = echo_server(acc, 1);
        let client = gevent::spawn(move || echo_client(&connector, addr, 0, 10));
        client.take().unwrap().unwrap();
        let msg_bytes: u64 = (0..10)
            .map(|r| format!("client 0 round {r}").len() as u64)
            .sum();
        assert_eq!(server.take().unwrap(), [msg_bytes]);
    });
}

#[test]
fn fifty_concurrent_tls_clients_in_one_thread() {
    const CLIENTS: usize = 50;
    let pems = LocalhostPems::new();
    net_util::raise_nofile(1024);
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems.connector();
        let (addr, server) = echo_server(acc, CLIENTS);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let connector = connector.clone();
                gevent::spawn(move || echo_client(&connector, addr, id, 3))
            })
            .collect();
        for c in &clients {
            c.take().unwrap().unwrap();
        }
        let counts = server.take().unwrap();
        assert_eq!(counts.len(), CLIENTS);
        let expected: u64 = (0..CLIENTS)
            .flat_map(|id| (0..3).map(move |r| format!("client {id} round {r}").len() as u64))
            .sum();
        assert_eq!(counts.iter().sum::<u64>(), expected);
    });
}

#[test]
fn large_transfer_between_greenlets() {
    // One thread: the client's writes park when the socket buffer fills,
    // letting the server greenlet read, and the other way round.
    const SIZE: usize = 3 * 1024 * 1024 + 7;
    let pems = LocalhostPems::new();
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems.connector();
        let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
        let expect = data.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut tls = acc.accept(listener.accept()?.0)?;
            let mut got = vec![0u8; SIZE];
            tls.read_exact(&mut got)?;
            // send it back reversed
            got.reverse();
            tls.write_all(&got)?;
            tls.shutdown()?;
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest)?;
            Ok(rest)
        });
        let client = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut tls = connector.connect("localhost", TcpStream::connect(addr)?)?;
            tls.write_all(&data)?;
            let mut back = Vec::new();
            tls.read_to_end(&mut back)?;
            tls.shutdown()?;
            Ok(back)
        });
        let mut back = client.take().unwrap().unwrap();
        back.reverse();
        assert!(back == expect, "data differs");
        assert!(server.take().unwrap().unwrap().is_empty());
    });
}

#[test]
fn over_a_unix_socketpair() {
    let pems = LocalhostPems::new();
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems
            .connector_builder()
            .alpn_protocols(["x"])
            .build()
            .unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let server = gevent::spawn(move || echo(acc.accept(b)?));
        let client = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut tls = connector.connect("localhost", a)?;
            tls.write_all(b"unix")?;
            tls.shutdown()?;
            let mut v = Vec::new();
            tls.read_to_end(&mut v)?;
            Ok(v)
        });
        assert_eq!(client.take().unwrap().unwrap(), b"unix");
        assert_eq!(server.take().unwrap().unwrap(), 4);
    });
}

#[test]
fn handshake_bounded_by_timeout_and_socket_timeouts() {
    let pems = LocalhostPems::new();
    each_backend(move || {
        let connector = pems.connector();
        // A TCP server that accepts and never speaks.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = gevent::spawn(move || {
            let held: Vec<_> = (0..3).map(|_| listener.accept().unwrap().0).collect();
            gevent::sleep(Duration::from_secs(30));
            drop(held);
        });

        // 1. a gevent Timeout around connect unwinds out of the handshake
        let sock = TcpStream::connect(addr).unwrap();
        let r = gevent::with_timeout(Duration::from_millis(30), || {
            connector.connect("localhost", sock).map(|_| ())
        });
        assert!(r.unwrap_err().is_timeout());

        // 2. a socket read timeout ends the handshake with WouldBlock
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        let e = connector.connect("localhost", sock).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");

        // 3. the server side: a client that connects and never sends
        let acc = pems.acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr2 = listener.local_addr().unwrap();
        let idle_client = TcpStream::connect(addr2).unwrap();
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        assert_eq!(acc.accept(sock).unwrap_err().kind(), ErrorKind::WouldBlock);
        drop(idle_client);
        silent.kill().unwrap();
    });
}

#[test]
fn killing_a_reader_unwinds_cleanly() {
    let pems = LocalhostPems::new();
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems.connector();
        let (a, b) = UnixStream::pair().unwrap();
        let server = gevent::spawn(move || -> std::io::Result<usize> {
            let mut tls = acc.accept(b)?;
            let mut buf = [0u8; 8];
            tls.read(&mut buf) // parks until killed
        });
        let mut tls = connector.connect("localhost", a).unwrap();
        gevent::sleep(Duration::from_millis(5));
        assert!(!server.ready());
        server.kill().unwrap();
        assert!(matches!(server.take(), Err(gevent::Error::GreenletExit)));
        // The server's stream was dropped without close_notify.
        let e = tls.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        // Dropping the client stream needs no I/O either.
        drop(tls);
    });
}

#[test]
fn examples_selftest() {
    // What `cargo run --example tls_server -- --selftest` (and tls_client's)
    // does: generated certificates, server greenlet, client logic, echo check.
    each_backend(|| {
        let x = tls_example::selftest().unwrap();
        assert_eq!(x.protocol, "TLSv1.3");
        assert_eq!(x.alpn.as_deref(), Some("echo/1"));
    });
}

// Issue 8, item 2: TLS over sockets whose timeouts are Duration::MAX (no
// deadline) handshakes and exchanges data without a panic.
#[test]
fn tls_with_duration_max_socket_timeouts() {
    let pems = LocalhostPems::new();
    each_backend(move || {
        let acc = pems.acceptor();
        let connector = pems.connector();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gevent::spawn(move || -> std::io::Result<Vec<u8>> {
            let (sock, _) = listener.accept()?;
            sock.set_read_timeout(Some(Duration::MAX))?;
            sock.set_write_timeout(Some(Duration::MAX))?;
            let mut tls = acc.accept(sock)?;
            let mut got = [0u8; 5];
            tls.read_exact(&mut got)?;
            tls.write_all(&got)?;
            tls.shutdown()?;
            Ok(got.to_vec())
        });
        let sock = TcpStream::connect_timeout(&addr, Duration::MAX).unwrap();
        sock.set_read_timeout(Some(Duration::MAX)).unwrap();
        sock.set_write_timeout(Some(Duration::MAX)).unwrap();
        let back = gevent::with_timeout(Duration::MAX, || -> std::io::Result<Vec<u8>> {
            let mut tls = connector.connect("localhost", sock)?;
            assert_eq!(tls.get_ref().read_timeout()?, Some(Duration::MAX));
            tls.write_all(b"hello")?;
            let mut back = Vec::new();
            tls.read_to_end(&mut back)?;
            Ok(back)
        })
        .unwrap()
        .unwrap();
        assert_eq!(back, b"hello");
        assert_eq!(server.take().unwrap().unwrap(), b"hello");
    });
}
