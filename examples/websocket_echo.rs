//! A WebSocket echo server: `gevent::http` answers the upgrade handshake
//! with `101 Switching Protocols` and hands the raw stream to
//! `tungstenite`, which then speaks WebSocket on it in the connection's
//! greenlet.
//!
//! ```text
//! cargo run --example websocket_echo -- [--addr 127.0.0.1:9001]
//! cargo run --example websocket_echo -- --selftest   # serve, check with tungstenite's client, exit
//! ```
//!
//! Exits 0 on SIGTERM or SIGINT.

use std::io;
use std::time::Duration;

use gevent::http::{Body, Config, ResponseBody, Server, Upgraded};
use gevent::server::StreamServer;
use http::{Request, Response, StatusCode, header};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

fn bad_request(why: &'static str) -> Response<ResponseBody> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .body(ResponseBody::from(why))
        .expect("static parts are valid")
}

/// Accepts a WebSocket upgrade and echoes every message back.
fn handler(req: Request<Body>) -> Response<ResponseBody> {
    let h = req.headers();
    let upgrade = h
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !upgrade {
        return bad_request("this endpoint speaks WebSocket only\n");
    }
    if h.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return bad_request("unsupported WebSocket version\n");
    }
    let Some(key) = h.get(header::SEC_WEBSOCKET_KEY) else {
        return bad_request("missing Sec-WebSocket-Key\n");
    };
    let accept = derive_accept_key(key.as_bytes());
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(ResponseBody::upgrade(echo))
        .expect("the accept key is a valid header value")
}

fn echo(io: Upgraded) {
    let mut ws = WebSocket::from_raw_socket(io, Role::Server, None);
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(msg).is_err() {
                    return;
                }
            }
            Ok(Message::Close(_)) => {
                // tungstenite queued the close reply; send it out.
                let _ = ws.flush();
                return;
            }
            Ok(_) => {} // pings are answered by tungstenite itself
            Err(_) => return,
        }
    }
}

/// Serves on a free port and talks to it with tungstenite's client from
/// an OS thread.
fn selftest() -> io::Result<()> {
    let server = Server::build(
        StreamServer::builder().bind("127.0.0.1:0")?,
        Config::new(),
        handler,
    )?;
    server.start()?;
    let addr = server.local_addr()?.as_inet().expect("a TCP address");
    let r = gevent::threadpool::run_blocking(move || -> Result<(), String> {
        let (mut ws, resp) =
            tungstenite::connect(format!("ws://{addr}/echo")).map_err(|e| e.to_string())?;
        if resp.status() != 101 {
            return Err(format!("handshake answered {}", resp.status()));
        }
        for text in ["hello", "gevent", "websocket"] {
            ws.send(Message::text(text)).map_err(|e| e.to_string())?;
            let back = ws.read().map_err(|e| e.to_string())?;
            if back != Message::text(text) {
                return Err(format!("sent {text:?}, got {back:?}"));
            }
        }
        ws.send(Message::binary(vec![0u8, 1, 2, 255]))
            .map_err(|e| e.to_string())?;
        let back = ws.read().map_err(|e| e.to_string())?;
        if back != Message::binary(vec![0u8, 1, 2, 255]) {
            return Err(format!("binary echo: got {back:?}"));
        }
        ws.close(None).map_err(|e| e.to_string())?;
        // Read until the server's close reply ends the session.
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
                Err(e) => return Err(format!("closing: {e}")),
            }
        }
    });
    server.stop(Some(Duration::from_secs(2)));
    match r {
        Ok(Ok(())) => {
            println!("selftest ok");
            Ok(())
        }
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:9001".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().expect("--addr ADDR"),
            "--selftest" => return selftest(),
            other => {
                eprintln!("usage: websocket_echo [--addr HOST:PORT] [--selftest] (got {other:?})");
                std::process::exit(2);
            }
        }
    }
    let server = Server::build(
        StreamServer::builder().bind(addr.as_str())?,
        Config::new(),
        handler,
    )?;
    // Announced once serve_until_signal has started the server and
    // watches the signals (it does both before it first waits).
    let addr = server.local_addr()?;
    gevent::spawn(move || println!("listening on {addr}"));
    server.serve_until_signal(Duration::from_secs(2))?;
    Ok(())
}
