//! The HTTP/1.1 server's protocol behaviour with well-formed requests:
//! a real client (ureq, from an OS thread) where it can observe the
//! behaviour, raw sockets where the wire matters. Every test runs on
//! every usable backend.

mod http_util;
mod net_util;

use std::cell::Cell;
use std::io::{BufReader, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use gevent::http::{Body, Config, RemoteAddr, ResponseBody, Server, Upgraded, serve_connection};
use gevent::net::UnixStream;
use gevent::server::StreamServer;
use http::{HeaderValue, Request, Response, StatusCode};
use http_util::{IO_BOUND, client, closed, connect, exchange, read_response, start};
use net_util::each_backend;

fn hello(_req: Request<Body>) -> Response<&'static str> {
    Response::new("Hello, World!")
}

fn echo_path(req: Request<Body>) -> Response<String> {
    Response::new(req.uri().path().to_string())
}

#[test]
fn hello_with_ureq() {
    each_backend(|| {
        let srv = start(hello, Config::new());
        let url = format!("http://{}/", srv.addr);
        client(move || {
            let r = ureq::get(&url).call().unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.header("content-length"), Some("13"));
            assert_eq!(r.header("server"), Some("gevent"));
            let date = r.header("date").unwrap().to_string();
            assert_eq!(date.len(), 29, "{date}");
            assert!(date.ends_with(" GMT"), "{date}");
            assert_eq!(r.into_string().unwrap(), "Hello, World!");
        });
    });
}

#[test]
fn date_header_is_imf_fixdate_of_now() {
    each_backend(|| {
        let srv = start(hello, Config::new());
        let addr = srv.addr;
        client(move || {
            let (r, _) = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            let date = r.header("date").unwrap();
            // "Fri, 04 Dec 2026 15:22:10 GMT"
            let b = date.as_bytes();
            assert_eq!(&b[3..5], b", ", "{date}");
            assert!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&date[..3]));
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let year = 1970 + secs / 31_556_952;
            assert!(
                date.contains(&format!(" {year} ")) || date.contains(&format!(" {} ", year - 1)),
                "{date}"
            );
        });
    });
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| {
                Response::new(req.extensions().get::<RemoteAddr>().unwrap().0.to_string())
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            let mut peers = Vec::new();
            for _ in 0..3 {
                s.get_mut()
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                let r = read_response(&mut s, "GET").unwrap();
                assert_eq!(r.status, 200);
                assert_eq!(r.header("connection"), None);
                peers.push(r.text());
            }
            assert_eq!(peers[0], s.get_ref().local_addr().unwrap().to_string());
            assert!(peers.iter().all(|p| *p == peers[0]));
        });
    });
}

#[test]
fn http10_closes_unless_keep_alive_is_asked() {
    each_backend(|| {
        let srv = start(hello, Config::new());
        let addr = srv.addr;
        client(move || {
            let (r, mut rest) = exchange(addr, b"GET / HTTP/1.0\r\n\r\n");
            assert_eq!(r.status, 200);
            assert_eq!(r.header("connection"), Some("close"));
            assert!(closed(&mut rest));

            let mut s = BufReader::new(connect(addr));
            for _ in 0..2 {
                s.get_mut()
                    .write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                    .unwrap();
                let r = read_response(&mut s, "GET").unwrap();
                assert_eq!(r.header("connection"), Some("keep-alive"));
                assert_eq!(r.text(), "Hello, World!");
            }
        });
    });
}

#[test]
fn connection_close_is_honoured_both_ways() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| {
                let mut r = Response::new("bye");
                if req.uri().path() == "/server-closes" {
                    r.headers_mut()
                        .insert("connection", HeaderValue::from_static("close"));
                }
                r
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let (r, mut rest) = exchange(
                addr,
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            assert_eq!(r.header("connection"), Some("close"));
            assert!(closed(&mut rest));
            let (r, mut rest) = exchange(addr, b"GET /server-closes HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(r.header("connection"), Some("close"));
            assert_eq!(r.text(), "bye");
            assert!(closed(&mut rest));
        });
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    each_backend(|| {
        let srv = start(echo_path, Config::new());
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            let mut reqs = Vec::new();
            for p in ["/a", "/b", "/c", "/d"] {
                reqs.extend_from_slice(format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
            }
            reqs.extend_from_slice(b"HEAD /e HTTP/1.1\r\nHost: x\r\n\r\nPOST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /g HTTP/1.1\r\nHost: x\r\n\r\n");
            s.get_mut().write_all(&reqs).unwrap();
            for (p, m) in [
                ("/a", "GET"),
                ("/b", "GET"),
                ("/c", "GET"),
                ("/d", "GET"),
                ("/e", "HEAD"),
                ("/f", "POST"),
                ("/g", "GET"),
            ] {
                let r = read_response(&mut s, m).unwrap();
                assert_eq!(r.status, 200);
                if m == "HEAD" {
                    assert_eq!(r.header("content-length"), Some("2"));
                } else {
                    assert_eq!(r.text(), p);
                }
            }
        });
    });
}

#[test]
fn post_body_is_streamed_to_the_handler() {
    each_backend(|| {
        let srv = start(
            |mut req: Request<Body>| {
                let declared = req.body().content_length();
                let mut buf = [0u8; 1000];
                let (mut total, mut sum) = (0u64, 0u64);
                loop {
                    let n = req.body_mut().read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
                }
                assert!(req.body().is_end());
                Response::new(format!("{declared:?} {total} {sum}"))
            },
            Config::new(),
        );
        let url = format!("http://{}/upload", srv.addr);
        client(move || {
            let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
            let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
            let r = ureq::post(&url).send_bytes(&data).unwrap();
            assert_eq!(
                r.into_string().unwrap(),
                format!("Some(3000000) 3000000 {sum}")
            );
        });
    });
}

#[test]
fn chunked_request_with_trailers() {
    each_backend(|| {
        let srv = start(
            |mut req: Request<Body>| {
                let data = req.body_mut().bytes().unwrap();
                let t = req.body().trailers().unwrap_or_default();
                let check = t.get("x-checksum").map(|v| v.to_str().unwrap().to_string());
                Response::new(format!(
                    "{}|{:?}|{:?}",
                    String::from_utf8(data).unwrap(),
                    req.body().content_length(),
                    check
                ))
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=\"v\\\"al\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "POST").unwrap();
            assert_eq!(r.text(), "hello world|None|Some(\"42\")");
            // and without trailers, on the same connection
            s.get_mut()
                .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "POST").unwrap();
            assert_eq!(r.text(), "abc|None|None");
        });
    });
}

#[test]
fn chunked_and_streamed_responses() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| match req.uri().path() {
                "/reader" => {
                    Response::new(ResponseBody::reader(std::io::repeat(b'z').take(100_000)))
                }
                "/sized" => Response::new(ResponseBody::sized_reader(
                    std::io::repeat(b'y').take(50_000),
                    50_000,
                )),
                _ => Response::new(ResponseBody::writer(|w| {
                    for i in 0..5 {
                        write!(w, "data: {i}\n\n")?;
                        w.flush()?;
                        gevent::sleep(Duration::from_millis(2));
                    }
                    Ok(())
                })),
            },
            Config::new(),
        );
        let addr = srv.addr;
        let base = format!("http://{}", srv.addr);
        client(move || {
            let r = ureq::get(&format!("{base}/reader")).call().unwrap();
            assert_eq!(r.header("transfer-encoding"), Some("chunked"));
            assert_eq!(r.into_string().unwrap(), "z".repeat(100_000));
            let r = ureq::get(&format!("{base}/sized")).call().unwrap();
            assert_eq!(r.header("content-length"), Some("50000"));
            assert_eq!(r.into_string().unwrap().len(), 50_000);

            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "GET").unwrap();
            assert_eq!(r.header("transfer-encoding"), Some("chunked"));
            let want: String = (0..5).map(|i| format!("data: {i}\n\n")).collect();
            assert_eq!(r.text(), want);
            // HTTP/1.0: unframed, then the connection closes.
            let (r, mut rest) = exchange(addr, b"GET /reader HTTP/1.0\r\n\r\n");
            assert_eq!(r.header("transfer-encoding"), None);
            assert_eq!(r.header("connection"), Some("close"));
            assert_eq!(r.body.len(), 100_000);
            assert!(closed(&mut rest));
        });
    });
}

#[test]
fn expect_100_continue_only_when_the_body_is_read() {
    each_backend(|| {
        let srv = start(
            |mut req: Request<Body>| {
                if req.uri().path() == "/read" {
                    Response::new(req.body_mut().bytes().unwrap())
                } else {
                    Response::builder()
                        .status(403)
                        .body(Vec::from("no"))
                        .unwrap()
                }
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"PUT /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "PUT").unwrap();
            assert_eq!(r.status, 100);
            s.get_mut().write_all(b"hello").unwrap();
            let r = read_response(&mut s, "PUT").unwrap();
            assert_eq!((r.status, r.text().as_str()), (200, "hello"));

            // The handler answers without reading: no 100, and the
            // connection closes (the client may or may not send the body).
            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"PUT /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "PUT").unwrap();
            assert_eq!(r.status, 403);
            assert_eq!(r.header("connection"), Some("close"));
            assert!(closed(&mut s));
        });
    });
}

#[test]
fn unread_bodies_are_drained_up_to_the_limit() {
    each_backend(|| {
        let srv = start(echo_path, Config::new().drain_limit(10_000));
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            let body = "x".repeat(5000);
            s.get_mut()
                .write_all(
                    format!("POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{body}")
                        .as_bytes(),
                )
                .unwrap();
            let r = read_response(&mut s, "POST").unwrap();
            assert_eq!(r.header("connection"), None);
            s.get_mut()
                .write_all(b"POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_response(&mut s, "POST").unwrap().text(), "/two");
            assert_eq!(read_response(&mut s, "GET").unwrap().text(), "/three");

            // Over the drain limit: answered, then closed.
            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nxxxx")
                .unwrap();
            let r = read_response(&mut s, "POST").unwrap();
            assert_eq!(r.text(), "/big");
            assert_eq!(r.header("connection"), Some("close"));
            assert!(closed(&mut s));
        });
    });
}

#[test]
fn head_sends_no_body_and_keeps_the_length() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| match req.uri().path() {
                "/stream" => Response::new(ResponseBody::reader(std::io::repeat(b'a').take(10))),
                _ => Response::new(ResponseBody::from("Hello, World!")),
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            s.get_mut()
                .write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let r = read_response(&mut s, "HEAD").unwrap();
            assert_eq!(r.header("content-length"), Some("13"));
            let r = read_response(&mut s, "HEAD").unwrap();
            assert_eq!(r.status, 200);
            // the next response follows at once: no body bytes were sent
            let r = read_response(&mut s, "GET").unwrap();
            assert_eq!(r.text(), "Hello, World!");
        });
    });
}

#[test]
fn handler_panic_gives_500_and_closes_and_the_server_goes_on() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| {
                if req.uri().path() == "/boom" {
                    panic!("handler exploded");
                }
                Response::new("fine")
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let (r, mut rest) = exchange(
                addr,
                b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            );
            assert_eq!(r.status, 500);
            assert_eq!(r.header("connection"), Some("close"));
            assert!(closed(&mut rest));
            let (r, _) = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(r.text(), "fine");
        });
    });
}

#[test]
fn cr_lf_nul_in_response_headers_are_never_sent() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| {
                let evil: &'static [u8] = match req.uri().path() {
                    "/lf" => b"a\nx-injected: 1",
                    "/cr" => b"a\rx-injected: 1",
                    _ => b"a\0b",
                };
                let mut r = Response::new("body");
                // SAFETY: the bytes are valid UTF-8, which is all the http
                // crate's unchecked constructor requires; this is exactly
                // the malformed value the server must refuse to send.
                let v = unsafe {
                    HeaderValue::from_maybe_shared_unchecked(bytes::Bytes::from_static(evil))
                };
                r.headers_mut().insert("x-evil", v);
                r
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            for path in ["/lf", "/cr", "/nul"] {
                let (r, mut rest) = exchange(
                    addr,
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                );
                assert_eq!(r.status, 500, "{path}");
                assert!(r.header("x-evil").is_none() && r.header("x-injected").is_none());
                assert!(closed(&mut rest));
            }
        });
    });
}

#[test]
fn upgrade_hands_over_the_raw_stream() {
    each_backend(|| {
        let srv = start(
            |req: Request<Body>| {
                if req.headers().get("upgrade").is_none() {
                    return Response::builder()
                        .status(426)
                        .body(ResponseBody::empty())
                        .unwrap();
                }
                Response::builder()
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header("upgrade", "echo")
                    .header("connection", "upgrade")
                    .body(ResponseBody::upgrade(|mut io: Upgraded| {
                        let mut buf = [0; 64];
                        while let Ok(n @ 1..) = io.read(&mut buf) {
                            let up: Vec<u8> = buf[..n].to_ascii_uppercase();
                            if io.write_all(&up).is_err() {
                                break;
                            }
                        }
                    }))
                    .unwrap()
            },
            Config::new(),
        );
        let addr = srv.addr;
        client(move || {
            let mut s = BufReader::new(connect(addr));
            // early bytes travel with the request head
            s.get_mut()
                .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nearly")
                .unwrap();
            let r = read_response(&mut s, "GET").unwrap();
            assert_eq!(r.status, 101);
            assert_eq!(r.header("upgrade"), Some("echo"));
            let mut got = [0; 5];
            s.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"EARLY");
            s.get_mut().write_all(b"later").unwrap();
            s.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"LATER");
        });
    });
}

#[test]
fn access_log_uses_the_common_log_format() {
    each_backend(|| {
        let srv = start(hello, Config::new());
        let (addr, log) = (srv.addr, srv.log.clone());
        client(move || {
            let (r, _) = exchange(
                addr,
                b"GET /logged?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            assert_eq!(r.status, 200);
            let (r, _) = exchange(addr, b"GET / HTTP/1.1\r\n\r\n");
            assert_eq!(r.status, 400);
        });
        let text = log.text();
        let line = text
            .lines()
            .find(|l| l.contains("/logged"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
        assert!(
            line.contains(" +0000] \"GET /logged?q=1 HTTP/1.1\" 200 13 "),
            "{line}"
        );
        let secs: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(secs >= 0.0);
        assert!(text.lines().any(|l| l.contains("\"-\" 400 ")), "{text}");
    });
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    each_backend(|| {
        let srv = start(
            hello,
            Config::new().keepalive_timeout(Duration::from_millis(100)),
        );
        let addr = srv.addr;
        client(move || {
            let (r, mut rest) = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(r.header("connection"), None);
            // nothing more is sent: the server closes the idle connection
            assert!(closed(&mut rest));
        });
    });
}

/// A graceful stop closes keep-alive connections idle between requests at
/// once (it does not wait out their keep-alive timeout nor kill them at
/// the deadline), and lets a request in flight finish, answered with
/// `connection: close`.
#[test]
fn graceful_stop_closes_idle_connections_and_finishes_busy_ones() {
    each_backend(|| {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let slow_started = Rc::new(Cell::new(false));
        let flag = slow_started.clone();
        let handler = move |req: Request<Body>| {
            if req.uri().path() == "/slow" {
                flag.set(true);
                gevent::sleep(Duration::from_millis(200));
                return Response::new("slow");
            }
            Response::new("fast")
        };
        let srv = start(
            handler,
            Config::new().keepalive_timeout(Duration::from_secs(3600)),
        );
        let addr = srv.addr;
        let answered = Arc::new(AtomicBool::new(false));
        let a2 = answered.clone();
        let idle = gevent::spawn(move || {
            client(move || {
                let (r, mut rest) = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                assert_eq!((r.status, r.header("connection")), (200, None));
                a2.store(true, Ordering::SeqCst);
                // Idle now, until the server closes the connection.
                closed(&mut rest)
            })
        });
        let busy = gevent::spawn(move || {
            client(move || {
                let (r, mut rest) = exchange(addr, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
                (
                    r.status,
                    r.text(),
                    r.header("connection").map(str::to_string),
                    closed(&mut rest),
                )
            })
        });
        let t0 = std::time::Instant::now();
        while !(answered.load(Ordering::SeqCst) && slow_started.get())
            && t0.elapsed() < Duration::from_secs(10)
        {
            gevent::sleep(Duration::from_millis(1));
        }
        assert!(answered.load(Ordering::SeqCst) && slow_started.get());
        // The busy handler finishes well within the grace; the idle one is
        // closed, not killed at the deadline.
        assert_eq!(srv.server.stop(Some(Duration::from_secs(20))), 0);
        assert!(
            idle.get().unwrap(),
            "the idle connection was not closed by stop"
        );
        let (status, body, connection, then_closed) = busy.get().unwrap();
        assert_eq!((status, body.as_str()), (200, "slow"));
        assert_eq!(connection.as_deref(), Some("close"));
        assert!(then_closed);
    });
}

#[test]
fn write_timeout_frees_the_handler_of_a_client_that_stops_reading() {
    each_backend(|| {
        let l = gevent::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let done = gevent::AsyncResult::<String>::new();
        let d = done.clone();
        let _srv = gevent::spawn(move || {
            let (s, peer) = l.accept().unwrap();
            let endless =
                |_req: Request<Body>| Response::new(ResponseBody::reader(std::io::repeat(b'x')));
            let config = Config::new().write_timeout(Some(Duration::from_millis(100)));
            let r = serve_connection(s, Some(peer), &endless, &config);
            let _ = d.set(format!("{:?}", r.map_err(|e| e.kind())));
        });
        let c = gevent::spawn(move || {
            // A client that sends a request and never reads.
            let mut s = gevent::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            gevent::sleep(Duration::from_secs(10));
            drop(s);
        });
        let r = done
            .get_timeout(Duration::from_secs(8))
            .expect("the connection ends");
        assert_eq!(r, "Err(WouldBlock)");
        c.kill().unwrap();
    });
}

#[test]
fn request_body_limits_give_413() {
    each_backend(|| {
        let srv = start(
            |mut req: Request<Body>| match req.body_mut().bytes() {
                Ok(b) => Response::new(format!("{}", b.len())),
                Err(e) => Response::new(format!("handler saw: {e}")),
            },
            Config::new().body_limit(1000).max_body_size(Some(100_000)),
        );
        let addr = srv.addr;
        client(move || {
            let (r, _) = exchange(
                addr,
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
            );
            assert_eq!(r.text(), "10");
            // bytes() over body_limit: 413, connection closed
            let (r, mut rest) = exchange(
                addr,
                format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n{}",
                    "a".repeat(2000)
                )
                .as_bytes(),
            );
            assert_eq!(r.status, 413);
            assert!(closed(&mut rest));
            let (r, mut rest) = exchange(addr, format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n{}\r\n0\r\n\r\n", "a".repeat(2000)).as_bytes());
            assert_eq!(r.status, 413);
            assert!(closed(&mut rest));
            // max_body_size: refused before the handler runs
            let (r, mut rest) = exchange(
                addr,
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
            );
            assert_eq!(r.status, 413);
            assert!(closed(&mut rest));
        });
    });
}

#[test]
fn serves_over_unix_sockets() {
    each_backend(|| {
        let dir = std::env::temp_dir().join(format!(
            "gevent-http-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("http.sock");
        let _ = std::fs::remove_file(&path);
        let served = Rc::new(Cell::new(0));
        let sv = served.clone();
        let h = move |req: Request<Body>| {
            sv.set(sv.get() + 1);
            assert!(req.extensions().get::<RemoteAddr>().is_none());
            echo_path(req)
        };
        let server = Server::build(StreamServer::builder().unix(&path), Config::new(), h).unwrap();
        server.start().unwrap();
        let mut c = UnixStream::connect(&path).unwrap();
        c.set_read_timeout(Some(IO_BOUND)).unwrap();
        c.write_all(b"GET /u1 HTTP/1.1\r\nHost: x\r\n\r\nGET /u2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(c);
        assert_eq!(read_response(&mut r, "GET").unwrap().text(), "/u1");
        assert_eq!(read_response(&mut r, "GET").unwrap().text(), "/u2");
        assert!(closed(&mut r));
        assert_eq!(served.get(), 2);
        server.stop(Some(Duration::from_secs(1)));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn serves_over_tls() {
    let pems = tls_util::LocalhostPems::new();
    each_backend(move || {
        let builder = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .tls(pems.acceptor());
        let server = Server::build(builder, Config::new(), echo_path).unwrap();
        server.start().unwrap();
        let addr = server.local_addr().unwrap().as_inet().unwrap();
        let tcp = gevent::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(IO_BOUND)).unwrap();
        let mut tls = pems.connector().connect("localhost", tcp).unwrap();
        tls.write_all(b"GET /t1 HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /t2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            .unwrap();
        let mut r = BufReader::new(tls);
        assert_eq!(read_response(&mut r, "GET").unwrap().text(), "/t1");
        let last = read_response(&mut r, "POST").unwrap();
        assert_eq!(last.text(), "/t2");
        assert_eq!(last.header("connection"), Some("close"));
        assert!(closed(&mut r));
        server.stop(Some(Duration::from_secs(1)));
    });
}

#[test]
fn workers_serve_from_several_threads() {
    each_backend(|| {
        fn whoami(_req: Request<Body>) -> Response<String> {
            Response::new(format!("{:?}", std::thread::current().id()))
        }
        let builder = StreamServer::builder()
            .bind("127.0.0.1:0")
            .unwrap()
            .workers(2);
        let server = Server::build_workers(builder, Config::new(), whoami).unwrap();
        server.start().unwrap();
        assert_eq!(server.stream_server().workers(), 2);
        let url = format!(
            "http://{}/",
            server.local_addr().unwrap().as_inet().unwrap()
        );
        let me = format!("{:?}", std::thread::current().id());
        let answers = client(move || {
            (0..20)
                .map(|_| {
                    let agent = ureq::AgentBuilder::new().max_idle_connections(0).build();
                    agent.get(&url).call().unwrap().into_string().unwrap()
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(answers.len(), 20);
        assert!(
            answers.iter().all(|a| *a != me),
            "served on the caller's thread: {answers:?}"
        );
        assert_eq!(server.stop(Some(Duration::from_secs(2))), 0);
    });
}

#[path = "tls_util/mod.rs"]
mod tls_util;
