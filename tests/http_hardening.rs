//! The HTTP/1.1 server against malformed and hostile input, on raw
//! sockets: limits (414, 431, 413), malformed heads (400), request
//! smuggling vectors (400 and a closed connection, the smuggled request
//! never reaching the handler), bad chunked framing, slowloris. Every
//! test runs on every usable backend.

mod http_util;
mod net_util;

use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gevent::http::{Body, Config};
use http::{Request, Response};
use http_util::{client, closed, connect, exchange, read_response, start};
use net_util::each_backend;

/// A server whose handler reads the whole body and records each path it
/// served (so a smuggled request would show).
fn recording_server(config: Config) -> (http_util::TestServer, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let srv = start(
        move |mut req: Request<Body>| {
            s.lock().unwrap().push(req.uri().path().to_string());
            match req.body_mut().bytes() {
                Ok(b) => Response::new(format!("read {}", b.len())),
                Err(e) => Response::new(format!("handler saw {e}")),
            }
        },
        config,
    );
    (srv, seen)
}

/// Sends each request on its own connection; expects `status` and a closed
/// connection after it.
fn expect_rejected(cases: &[(&str, Vec<u8>, u16)], config: Config) {
    let (srv, seen) = recording_server(config);
    let addr = srv.addr;
    let cases: Vec<(String, Vec<u8>, u16)> = cases
        .iter()
        .map(|(n, r, s)| (n.to_string(), r.clone(), *s))
        .collect();
    client(move || {
        for (name, req, status) in cases {
            let (r, mut rest) = exchange(addr, &req);
            assert_eq!(r.status, status, "{name}: {}", r.text());
            assert_eq!(r.header("connection"), Some("close"), "{name}");
            assert!(closed(&mut rest), "{name}: connection left open");
        }
    });
    let seen = seen.lock().unwrap();
    assert!(
        !seen.iter().any(|p| p.contains("smuggled")),
        "a smuggled request was served: {seen:?}"
    );
}

fn req(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn limits_give_414_and_431() {
    each_backend(|| {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
        let big_headers = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "b".repeat(70 * 1024)
        );
        let many: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
        let many_headers = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
        // Partial heads too: the limits apply before the head is complete.
        let partial_target = format!("GET /{}", "a".repeat(9000));
        let partial_headers = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}",
            "b".repeat(70 * 1024)
        );
        expect_rejected(
            &[
                ("long request line", req(&long_target), 414),
                ("long partial request line", req(&partial_target), 414),
                ("header section over 64 KiB", req(&big_headers), 431),
                (
                    "partial header section over 64 KiB",
                    req(&partial_headers),
                    431,
                ),
                ("101 header fields", req(&many_headers), 431),
            ],
            Config::new(),
        );
    });
}

#[test]
fn limits_just_under_are_served() {
    each_backend(|| {
        let (srv, _) = recording_server(Config::new());
        let addr = srv.addr;
        client(move || {
            let target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(8000));
            assert_eq!(exchange(addr, target.as_bytes()).0.status, 200);
            let many: String = (0..99).map(|i| format!("X-H{i}: v\r\n")).collect();
            assert_eq!(
                exchange(
                    addr,
                    format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes()
                )
                .0
                .status,
                200
            );
        });
    });
}

#[test]
fn malformed_heads_give_400() {
    each_backend(|| {
        expect_rejected(
            &[
                ("bad method", req("GE(T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
                ("no target", req("GET  HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
                ("two spaces", req("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
                ("HTTP/1.2", req("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), 400),
                ("HTTP/2.0", req("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 400),
                ("HTTP/1", req("GET / HTTP/1\r\nHost: x\r\n\r\n"), 400),
                (
                    "lowercase version",
                    req("GET / http/1.1\r\nHost: x\r\n\r\n"),
                    400,
                ),
                (
                    "space before colon",
                    req("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
                    400,
                ),
                (
                    "tab before colon",
                    req("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
                    400,
                ),
                (
                    "obs-fold",
                    req("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
                    400,
                ),
                (
                    "header without colon",
                    req("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
                    400,
                ),
                (
                    "empty header name",
                    req("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"),
                    400,
                ),
                (
                    "bare LF everywhere",
                    req("GET / HTTP/1.1\nHost: x\n\n"),
                    400,
                ),
                (
                    "bare LF after a header",
                    req("GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"),
                    400,
                ),
                (
                    "bare CR in a value",
                    req("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
                    400,
                ),
                (
                    "NUL in a value",
                    req("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
                    400,
                ),
                (
                    "control char in a value",
                    req("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
                    400,
                ),
                (
                    "NUL in the target",
                    req("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"),
                    400,
                ),
                ("missing Host", req("GET / HTTP/1.1\r\n\r\n"), 400),
                (
                    "two Hosts",
                    req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                    400,
                ),
                (
                    "many empty lines first",
                    req("\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                    400,
                ),
                (
                    "unknown expectation",
                    req("GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"),
                    417,
                ),
            ],
            Config::new(),
        );
    });
}

#[test]
fn one_leading_empty_line_is_tolerated() {
    each_backend(|| {
        let (srv, _) = recording_server(Config::new());
        let addr = srv.addr;
        client(move || {
            assert_eq!(
                exchange(addr, b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .0
                    .status,
                200
            );
        });
    });
}

#[test]
fn smuggling_vectors_give_400_and_close() {
    each_backend(|| {
        let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            (
                "CL and TE",
                req(&format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "TE and CL",
                req(&format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "differing CLs",
                req(&format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "CL list",
                req(&format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 40\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "CL with sign",
                req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"),
                400,
            ),
            (
                "negative CL",
                req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
                400,
            ),
            (
                "hex CL",
                req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n"),
                400,
            ),
            (
                "empty CL",
                req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n"),
                400,
            ),
            (
                "overflowing CL",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                ),
                400,
            ),
            (
                "TE not ending in chunked",
                req(&format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "TE gzip alone",
                req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
                400,
            ),
            (
                "TE chunked twice",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
                ),
                400,
            ),
            (
                "TE over two fields",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
                ),
                400,
            ),
            (
                "TE obfuscated",
                req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
                400,
            ),
            (
                "TE quoted",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
                ),
                400,
            ),
            (
                "TE empty item",
                req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n"),
                400,
            ),
            (
                "TE with vertical tab",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
                ),
                400,
            ),
            (
                "TE name with space",
                req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
                400,
            ),
            (
                "TE in HTTP/1.0",
                req(&format!(
                    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
                )),
                400,
            ),
            (
                "unsupported coding",
                req(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                ),
                501,
            ),
        ];
        expect_rejected(&cases, Config::new());
    });
}

#[test]
fn bad_chunked_bodies_give_400_and_close() {
    each_backend(|| {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
        let ext = format!(";e={}", "v".repeat(5000));
        let big_trailer = format!("X-T: {}\r\n", "t".repeat(70 * 1024));
        let cases: Vec<(String, String)> = vec![
            ("not hex".into(), "zz\r\nhello\r\n0\r\n\r\n".into()),
            ("negative".into(), "-5\r\nhello\r\n0\r\n\r\n".into()),
            (
                "overflowing size".into(),
                "10000000000000000\r\nhello\r\n0\r\n\r\n".into(),
            ),
            (
                "17 hex digits".into(),
                "00000000000000005\r\nhello\r\n0\r\n\r\n".into(),
            ),
            ("size with 0x".into(), "0x5\r\nhello\r\n0\r\n\r\n".into()),
            ("empty size".into(), "\r\nhello\r\n0\r\n\r\n".into()),
            ("bare LF after size".into(), "5\nhello\r\n0\r\n\r\n".into()),
            (
                "data too long for its size".into(),
                format!("3\r\nhello\r\n0\r\n\r\n{smuggled}"),
            ),
            ("no CRLF after data".into(), "5\r\nhelloXX0\r\n\r\n".into()),
            ("bad extension".into(), "5;=x\r\nhello\r\n0\r\n\r\n".into()),
            (
                "extension with space in name".into(),
                "5;a b\r\nhello\r\n0\r\n\r\n".into(),
            ),
            (
                "unterminated quoted extension".into(),
                "5;a=\"x\r\nhello\r\n0\r\n\r\n".into(),
            ),
            (
                "extension over the line limit".into(),
                format!("5{ext}\r\nhello\r\n0\r\n\r\n"),
            ),
            (
                "trailers over the limit".into(),
                format!("5\r\nhello\r\n0\r\n{big_trailer}\r\n"),
            ),
            (
                "trailer with bare LF".into(),
                "5\r\nhello\r\n0\r\nX-T: 1\n\r\n".into(),
            ),
            (
                "malformed trailer".into(),
                "5\r\nhello\r\n0\r\nX-T 1\r\n\r\n".into(),
            ),
        ];
        let cases: Vec<(String, Vec<u8>, u16)> = cases
            .into_iter()
            .map(|(n, b)| (n, format!("{head}{b}").into_bytes(), 400))
            .collect();
        let refs: Vec<(&str, Vec<u8>, u16)> = cases
            .iter()
            .map(|(n, b, s)| (n.as_str(), b.clone(), *s))
            .collect();
        expect_rejected(&refs, Config::new());
    });
}

#[test]
fn chunk_extensions_over_the_total_limit_give_400() {
    each_backend(|| {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let ext = format!(";e={}", "v".repeat(3000));
        let chunks: String = (0..10).map(|_| format!("1{ext}\r\na\r\n")).collect();
        let body = format!("{head}{chunks}0\r\n\r\n");
        expect_rejected(
            &[("many long extensions", body.into_bytes(), 400)],
            Config::new(),
        );
    });
}

#[test]
fn a_bad_body_the_handler_ignores_still_closes_the_connection() {
    each_backend(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let srv = start(
            move |req: Request<Body>| {
                s.lock().unwrap().push(req.uri().path().to_string());
                Response::new("ignored the body")
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let (r, mut rest) = exchange(
                addr,
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
            );
            assert_eq!(r.status, 200);
            assert!(closed(&mut rest));
        });
        assert_eq!(*seen.lock().unwrap(), vec!["/".to_string()]);
    });
}

#[test]
fn slowloris_is_cut_off_by_the_header_deadline() {
    each_backend(|| {
        let (srv, seen) =
            recording_server(Config::new().header_read_timeout(Duration::from_millis(300)));
        let addr = srv.addr;
        client(move || {
            let mut s = connect(addr);
            let request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            let started = Instant::now();
            let mut sent = 0;
            // One byte every 20 ms: each read is quick, the head is not.
            for b in request.iter() {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                sent += 1;
                std::thread::sleep(Duration::from_millis(20));
                if started.elapsed() > Duration::from_secs(4) {
                    break;
                }
            }
            assert!(sent < request.len(), "the whole slow head was accepted");
            let mut r = BufReader::new(s);
            match read_response(&mut r, "GET") {
                Ok(resp) => {
                    assert_eq!(resp.status, 408);
                    assert!(closed(&mut r));
                }
                // the close raced the client's writes (reset)
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                    ),
                    "{e}"
                ),
            }
        });
        assert!(seen.lock().unwrap().is_empty());
    });
}

#[test]
fn a_silent_connection_is_closed_after_the_header_deadline() {
    each_backend(|| {
        let (srv, _) =
            recording_server(Config::new().header_read_timeout(Duration::from_millis(100)));
        let addr = srv.addr;
        client(move || {
            let mut s = connect(addr);
            assert!(closed(&mut s));
        });
    });
}

#[test]
fn a_head_split_into_many_reads_is_served() {
    each_backend(|| {
        let (srv, _) = recording_server(Config::new());
        let addr = srv.addr;
        client(move || {
            let mut s = connect(addr);
            s.set_nodelay(true).unwrap();
            let request = b"POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
            for piece in request.chunks(3) {
                s.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut r = BufReader::new(s);
            let resp = read_response(&mut r, "POST").unwrap();
            assert_eq!(resp.text(), "read 3");
        });
    });
}
