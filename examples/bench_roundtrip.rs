//! Round trips through the cooperative fd wrapper, for instruction counts
//! (`valgrind --tool=callgrind`): a greenlet echoes 64-byte messages back
//! over a loopback TCP connection and a Unix socket pair, the main greenlet
//! sends and reads them back.
//!
//! ```text
//! cargo build --release --example bench_roundtrip
//! valgrind --tool=callgrind target/release/examples/bench_roundtrip 1000
//! valgrind --tool=callgrind target/release/examples/bench_roundtrip 11000
//! ```
//!
//! The difference of the two totals divided by 10,000 is the user-space
//! cost of one round trip on each transport (start-up cancels out). This
//! is a benchmark, not a test: it prints the wall time only as a hint.

use std::io::{Read, Write};
use std::time::Instant;

use gevent::net::{TcpListener, TcpStream, UnixStream};

fn echo<S: Read + Write>(mut s: S) -> std::io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n])?;
    }
}

fn rounds<S: Read + Write>(s: &mut S, n: u32) -> std::io::Result<()> {
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    for _ in 0..n {
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let t = Instant::now();

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = gevent::spawn(move || echo(listener.accept()?.0));
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    rounds(&mut c, n)?;
    drop(c);
    server.take().expect("echo greenlet")?;

    let (a, mut b) = UnixStream::pair()?;
    let server = gevent::spawn(move || echo(a));
    rounds(&mut b, n)?;
    drop(b);
    server.take().expect("echo greenlet")?;

    println!(
        "{n} round trips on TCP and on a Unix pair: {:?}",
        t.elapsed()
    );
    Ok(())
}
