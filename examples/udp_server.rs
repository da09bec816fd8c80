//! A UDP server on `DatagramServer` (gevent's `examples/udp_server.py`):
//! answers every datagram with `Received N bytes`.
//!
//! ```text
//! cargo run --example udp_server                  # listens on 127.0.0.1:9000
//! cargo run --example udp_server -- 127.0.0.1:9001
//! cargo run --example udp_server -- --selftest    # start, check a client, exit
//! ```
//!
//! Try it with `echo hello | nc -u -w1 127.0.0.1 9000`.

use std::io;
use std::time::Duration;

use gevent::net::UdpSocket;
use gevent::server::{Address, DatagramServer, DatagramSocket};

fn handle(data: &[u8], peer: Address, sock: &DatagramSocket) {
    println!("{peer}: got {:?}", String::from_utf8_lossy(data));
    let reply = format!("Received {} bytes", data.len());
    if let Err(e) = sock.send_to(reply.as_bytes(), &peer) {
        eprintln!("reply to {peer}: {e}");
    }
}

fn selftest() -> io::Result<()> {
    let server = DatagramServer::bind("127.0.0.1:0", handle)?.with_pool_size(100)?;
    server.start()?;
    let addr = server
        .socket()
        .local_addr()?
        .as_inet()
        .expect("a UDP address");
    let clients: Vec<_> = (0..5)
        .map(|i| {
            gevent::spawn(move || -> io::Result<String> {
                let c = UdpSocket::bind("127.0.0.1:0")?;
                c.set_read_timeout(Some(Duration::from_secs(5)))?;
                c.send_to(&vec![b'x'; i + 1], addr)?;
                let mut buf = [0u8; 64];
                let (n, _) = c.recv_from(&mut buf)?;
                Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
            })
        })
        .collect();
    for (i, c) in clients.iter().enumerate() {
        let reply = c.take().map_err(io::Error::from)??;
        assert_eq!(reply, format!("Received {} bytes", i + 1));
    }
    server.stop(Some(Duration::from_secs(1)));
    println!("selftest passed: 5 datagrams answered");
    Ok(())
}

fn main() -> io::Result<()> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--selftest") {
        return selftest();
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:9000".into());
    let server = DatagramServer::bind(addr.as_str(), handle)?;
    println!("Receiving datagrams on {}", server.socket().local_addr()?);
    server.serve_forever()
}
