//! may echo server with one worker: one coroutine per connection.
use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    may::config().set_workers(1);
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:16003".into());
    let listener = may::net::TcpListener::bind(addr.as_str())?;
    println!("ready");
    for conn in listener.incoming() {
        let mut conn = conn?;
        conn.set_nodelay(true)?;
        may::go!(move || {
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
        });
    }
    Ok(())
}
