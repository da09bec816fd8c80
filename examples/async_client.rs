//! A tokio-based HTTP client (hyper 1 + hyper-util) called from greenlets
//! through `gevent::tokio::block_on`, beside the same fetches in a plain
//! tokio program. Offline: it starts its own HTTP server on 127.0.0.1:0.
//!
//! Run with `cargo run --example async_client --features tokio`.
//! Arguments: `[N]` fetches per run (default 20).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Answers every request with a short page naming its path, after a small
/// delay standing in for real work.
async fn page(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let body = format!("page {}\n", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Starts the HTTP server on a runtime of its own (a plain thread), so the
/// two client runs below share nothing with it. Returns its address.
fn start_server() -> std::io::Result<SocketAddr> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("http-server")
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(page));
                    if let Err(e) = conn.await {
                        eprintln!("server: connection error: {e}");
                    }
                });
            }
        })
    });
    Ok(addr)
}

/// One GET with hyper's client: connect, handshake, send, read the body.
/// Needs a tokio runtime (it spawns the connection's driver task).
async fn fetch(addr: SocketAddr, path: String) -> Result<String, BoxError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("client: connection error: {e}");
        }
    });
    let req = Request::get(&path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    if !resp.status().is_success() {
        return Err(format!("{path}: HTTP {}", resp.status()).into());
    }
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8(body.to_vec())?)
}

fn main() -> Result<(), BoxError> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|_| format!("bad count {a:?}"))?,
        None => 20,
    };
    let addr = start_server()?;
    println!("server on http://{addr}/");

    // 1. Greenlets, each calling the async client through block_on.
    let start = Instant::now();
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            gevent::spawn(move || {
                gevent::tokio::block_on(fetch(addr, format!("/greenlet/{i}")))
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
            })
        })
        .collect();
    gevent::joinall(&jobs, Some(Duration::from_secs(30)))?;
    let greenlet_time = start.elapsed();
    let mut ok = 0;
    for (i, g) in jobs.iter().enumerate() {
        match g.take()? {
            Ok(body) if body == format!("page /greenlet/{i}\n") => ok += 1,
            Ok(body) => return Err(format!("fetch {i}: unexpected body {body:?}").into()),
            Err(e) => return Err(format!("fetch {i}: {e}").into()),
        }
    }
    println!(
        "greenlets + gevent::tokio::block_on: {ok}/{n} pages in {:.1} ms",
        greenlet_time.as_secs_f64() * 1e3
    );

    // 2. The same fetches in a plain tokio program.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gevent::tokio::DEFAULT_WORKER_THREADS)
        .enable_all()
        .build()?;
    let start = Instant::now();
    let bodies: Vec<Result<String, String>> = rt.block_on(async move {
        let tasks: Vec<_> = (0..n)
            .map(|i| tokio::spawn(fetch(addr, format!("/tokio/{i}"))))
            .collect();
        let mut out = Vec::with_capacity(n);
        for t in tasks {
            out.push(match t.await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            });
        }
        out
    });
    let tokio_time = start.elapsed();
    let mut ok = 0;
    for (i, b) in bodies.into_iter().enumerate() {
        match b {
            Ok(body) if body == format!("page /tokio/{i}\n") => ok += 1,
            Ok(body) => return Err(format!("tokio fetch {i}: unexpected body {body:?}").into()),
            Err(e) => return Err(format!("tokio fetch {i}: {e}").into()),
        }
    }
    println!(
        "plain tokio program:                 {ok}/{n} pages in {:.1} ms",
        tokio_time.as_secs_f64() * 1e3
    );
    // The crate's runtime would also stop at exit; stopping it here shows how.
    gevent::tokio::shutdown(Duration::from_secs(1));
    Ok(())
}
