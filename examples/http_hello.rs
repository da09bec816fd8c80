//! The smallest HTTP server: `200 Hello, World!` for every request, kept
//! alive, the body never read. The benchmark server of
//! `benchmarks/http/run.sh`.
//!
//! ```text
//! cargo run --release --example http_hello -- --addr 127.0.0.1:8080 [--workers N] [--log]
//! ```
//!
//! Prints `listening on ADDR` once bound; logs requests only with `--log`
//! (Common Log Format on stderr). Exits 0 on SIGTERM or SIGINT after a
//! graceful stop (open connections get up to 2 s).

use std::io;
use std::time::Duration;

use gevent::http::{Body, Config, Server};
use gevent::server::StreamServer;
use http::{Request, Response};

fn hello(_req: Request<Body>) -> Response<&'static str> {
    Response::new("Hello, World!")
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut workers = 1;
    let mut log = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().expect("--addr ADDR"),
            "--workers" => {
                workers = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--workers N")
            }
            "--log" => log = true,
            other => {
                eprintln!(
                    "usage: http_hello [--addr HOST:PORT] [--workers N] [--log] (got {other:?})"
                );
                std::process::exit(2);
            }
        }
    }
    let mut config = Config::new();
    if log {
        config = config.access_log(io::stderr());
    }
    let builder = StreamServer::builder()
        .bind(addr.as_str())?
        .workers(workers);
    let server = if workers == 1 {
        Server::build(builder, config, hello)?
    } else {
        Server::build_workers(builder, config, hello)?
    };
    // Announced once serve_until_signal has started the server and
    // watches the signals (it does both before it first waits).
    let addr = server.local_addr()?;
    gevent::spawn(move || println!("listening on {addr}"));
    server.serve_until_signal(Duration::from_secs(2))?;
    Ok(())
}
