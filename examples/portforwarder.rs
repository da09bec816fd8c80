//! A TCP port forwarder (gevent's portforwarder.py): accepts connections on
//! one address and forwards each to a remote address, with one greenlet
//! pumping each direction.
//!
//! ```text
//! cargo run --example portforwarder -- 127.0.0.1:8080 127.0.0.1:80
//! cargo run --example portforwarder -- --selftest
//! ```

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};

/// Copies `from` to `to` until end of file, then passes the end on
/// (half-close), so the other direction can still finish.
fn pump(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = (&*from).read(&mut buf)?;
        if n == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return Ok(total);
        }
        (&*to).write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// Forwards one accepted connection to `remote`.
fn forward(client: TcpStream, remote: &str) -> io::Result<()> {
    let peer = client.peer_addr()?;
    let upstream = match TcpStream::connect(remote) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{peer}: cannot connect to {remote}: {e}");
            return Err(e);
        }
    };
    println!("{peer} -> {remote}");
    let (c2, u2) = (client.try_clone()?, upstream.try_clone()?);
    let up = gevent::spawn(move || pump(&c2, &u2));
    let down = pump(&upstream, &client);
    let up = up.take().map_err(io::Error::from);
    if down.is_err() || !matches!(up, Ok(Ok(_))) {
        // One direction failed: tear the whole thing down.
        client.close();
        upstream.close();
    }
    println!(
        "{peer} closed ({} bytes up, {} down)",
        up.ok().and_then(Result::ok).unwrap_or(0),
        down.as_ref().copied().unwrap_or(0)
    );
    Ok(())
}

fn serve(listener: TcpListener, remote: String) {
    for conn in listener.incoming() {
        match conn {
            Ok(conn) => {
                let remote = remote.clone();
                gevent::spawn(move || {
                    let _ = forward(conn, &remote);
                });
            }
            Err(e) => {
                eprintln!("accept: {e}");
                gevent::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// An echo server, a forwarder in front of it, and clients through both.
fn selftest() -> io::Result<()> {
    let echo = TcpListener::bind("127.0.0.1:0")?;
    let echo_addr = echo.local_addr()?;
    let echo_server = gevent::spawn(move || {
        for c in echo.incoming() {
            let Ok(mut c) = c else { break };
            gevent::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n @ 1..) = c.read(&mut buf) {
                    if c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let fwd = TcpListener::bind("127.0.0.1:0")?;
    let fwd_addr = fwd.local_addr()?;
    let forwarder = gevent::spawn(move || serve(fwd, echo_addr.to_string()));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            gevent::spawn(move || -> io::Result<()> {
                let mut c = TcpStream::connect(fwd_addr)?;
                c.set_read_timeout(Some(Duration::from_secs(5)))?;
                let msg = vec![b'a' + i as u8; 100_000];
                let writer = c.try_clone()?;
                let m2 = msg.clone();
                let w = gevent::spawn(move || -> io::Result<()> {
                    let mut writer = writer;
                    writer.write_all(&m2)?;
                    writer.shutdown(Shutdown::Write)
                });
                let mut back = Vec::new();
                c.read_to_end(&mut back)?;
                w.take().map_err(io::Error::from)??;
                assert_eq!(back, msg, "client {i}: data changed on the way");
                Ok(())
            })
        })
        .collect();
    gevent::joinall(&clients, Some(Duration::from_secs(10))).map_err(io::Error::from)?;
    for c in &clients {
        c.take().map_err(io::Error::from)??;
    }
    forwarder.kill().map_err(io::Error::from)?;
    echo_server.kill().map_err(io::Error::from)?;
    println!("selftest passed: 4 clients x 100000 bytes through the forwarder");
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--selftest" => selftest(),
        [listen, remote] => {
            let listener = TcpListener::bind(listen.as_str())?;
            println!(
                "Starting port forwarder {} -> {remote}",
                listener.local_addr()?
            );
            serve(listener, remote.clone());
            Ok(())
        }
        _ => {
            eprintln!("usage: portforwarder LISTEN_ADDR REMOTE_ADDR | --selftest");
            std::process::exit(2);
        }
    }
}
