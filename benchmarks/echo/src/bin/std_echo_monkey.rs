//! The gevent echo server written with plain `std::net` after
//! `gevent::monkey::patch_all()`: one greenlet per connection, every
//! blocking call made cooperative by the hooks (feature `monkey`).
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    gevent::monkey::patch_all()?;
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:16001".into());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("ready");
    for conn in listener.incoming() {
        let mut conn = conn?;
        conn.set_nodelay(true)?;
        gevent::spawn(move || {
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
