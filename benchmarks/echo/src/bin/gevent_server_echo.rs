//! gevent echo server on `StreamServer` (one greenlet per connection),
//! to compare with the plain accept loop of `gevent_echo`.
//!
//! usage: gevent_server_echo ADDR [WORKERS=1]   (WORKERS > 1: one hub per thread)
use std::io::{Read, Write};

use gevent::server::{Address, Stream, StreamServer};

fn echo(mut conn: Stream, _peer: Address) {
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:16002".into());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let b = StreamServer::builder().bind(addr.as_str())?;
    let server = if workers == 1 {
        b.build(echo)?
    } else {
        b.workers(workers).build_workers(echo)?
    };
    server.start()?;
    println!("ready");
    server.serve_forever()
}
