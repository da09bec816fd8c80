//! A small HTTP application on `gevent::http`, routing by hand:
//!
//! * `GET /` — a plain-text index;
//! * `GET /json?name=...` — a JSON document (serde_json);
//! * `GET /download` — a file streamed from disk with its length (this
//!   example's own source unless `--file PATH` is given);
//! * `POST /echo` — the request body streamed back as it arrives
//!   (chunked), never held whole in memory;
//! * `GET /chunked` — a response written in five chunks, 100 ms apart;
//! * anything else — `404`.
//!
//! ```text
//! cargo run --example http_app -- [--addr 127.0.0.1:8080] [--file PATH]
//! curl -s localhost:8080/json?name=you
//! curl -s -T big.iso localhost:8080/echo | cmp - big.iso
//! ```
//!
//! Requests are logged to stderr in the Common Log Format. Exits 0 on
//! SIGTERM or SIGINT.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use gevent::http::{Body, Config, RemoteAddr, ResponseBody, Server};
use gevent::server::StreamServer;
use http::{Method, Request, Response, StatusCode, header};

fn text(status: StatusCode, body: impl Into<ResponseBody>) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body.into())
        .expect("static headers are valid")
}

fn query_param<'a>(req: &'a Request<Body>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

fn route(req: Request<Body>, file: &PathBuf) -> Response<ResponseBody> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => text(
            StatusCode::OK,
            "gevent::http example app: /json, /download, POST /echo, /chunked\n",
        ),
        (&Method::GET, "/json") => {
            let name = query_param(&req, "name").unwrap_or("world");
            let client = req
                .extensions()
                .get::<RemoteAddr>()
                .map(|a| a.0.to_string());
            let doc = serde_json::json!({
                "hello": name,
                "client": client,
                "server": "gevent",
                "version": format!("{:?}", req.version()),
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(ResponseBody::from(doc.to_string()))
                .expect("static headers are valid")
        }
        (&Method::GET, "/download") => match File::open(file) {
            Ok(f) => Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(ResponseBody::from(f))
                .expect("static headers are valid"),
            Err(e) => text(StatusCode::NOT_FOUND, format!("{}: {e}\n", file.display())),
        },
        (&Method::POST, "/echo") => {
            // The upload is read as the response is written: a streamed echo.
            let body = req.into_body();
            Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(ResponseBody::reader(body))
                .expect("static headers are valid")
        }
        (&Method::GET, "/chunked") => Response::new(ResponseBody::writer(|w| {
            for i in 1..=5 {
                writeln!(w, "chunk {i} of 5")?;
                w.flush()?;
                gevent::sleep(Duration::from_millis(100));
            }
            Ok(())
        })),
        (_, "/" | "/json" | "/download" | "/echo" | "/chunked") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut file = PathBuf::from(file!());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().expect("--addr ADDR"),
            "--file" => file = args.next().expect("--file PATH").into(),
            other => {
                eprintln!("usage: http_app [--addr HOST:PORT] [--file PATH] (got {other:?})");
                std::process::exit(2);
            }
        }
    }
    if file.is_relative() && !file.exists() {
        file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&file);
    }
    let config = Config::new().access_log(io::stderr());
    let builder = StreamServer::builder().bind(addr.as_str())?;
    let server = Server::build(builder, config, move |req| route(req, &file))?;
    // Announced once serve_until_signal has started the server and
    // watches the signals (it does both before it first waits).
    let addr = server.local_addr()?;
    gevent::spawn(move || println!("listening on {addr}"));
    server.serve_until_signal(Duration::from_secs(2))?;
    Ok(())
}
