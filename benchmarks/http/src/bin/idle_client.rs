//! Opens N keep-alive connections to ADDR, makes one request on each
//! (reading the whole response), prints "held N" and keeps them open until
//! its standard input closes. For the RSS-per-idle-connection figure.
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("ADDR");
    let n: usize = args.next().and_then(|s| s.parse().ok()).expect("N");
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = match TcpStream::connect(&addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("connection {i}: {e}");
                break;
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n").unwrap();
        // Read until the 13-byte body arrived (responses are small).
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"Hello, World!") {
            let k = s.read(&mut buf).expect("response");
            assert!(k > 0, "connection {i} closed");
            got.extend_from_slice(&buf[..k]);
        }
        conns.push(s);
    }
    println!("held {}", conns.len());
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}
