//! A line echo server on `StreamServer` (gevent's `examples/echoserver.py`).
//!
//! ```text
//! cargo run --example echoserver                           # 127.0.0.1:16000
//! cargo run --example echoserver -- 127.0.0.1:7000         # another address
//! cargo run --example echoserver -- --port 16200 --workers 2 --pool 1000
//! cargo run --example echoserver -- --selftest             # start, check clients, exit
//! ```
//!
//! Try it with `nc 127.0.0.1 16000`; type `quit` to leave. The server runs
//! until SIGTERM or SIGINT (Ctrl-C), then stops gracefully: the listener
//! closes at once, connected clients get up to 5 s to finish, and the
//! process exits 0.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use gevent::net::TcpStream;
use gevent::server::{Address, Stream, StreamServer};

/// How long connected clients may go on after SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// Serves one client: a greeting, then every line back until `quit` or EOF.
fn handle(conn: Stream, peer: Address) {
    if let Err(e) = echo_lines(conn) {
        eprintln!("client {peer}: {e}");
    }
}

fn echo_lines(mut conn: Stream) -> io::Result<()> {
    conn.write_all(b"Welcome to the echo server! Type quit to exit.\r\n")?;
    let mut lines = BufReader::new(conn);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().eq_ignore_ascii_case("quit") {
            return Ok(());
        }
        lines.get_mut().write_all(line.as_bytes())?;
    }
}

/// Starts the server on a free port and checks a few concurrent clients.
fn selftest() -> io::Result<()> {
    let server = StreamServer::bind("127.0.0.1:0", handle)?;
    server.start()?;
    let addr = server.local_addr()?.as_inet().expect("a TCP address");
    let clients: Vec<_> = (0..5)
        .map(|i| {
            gevent::spawn(move || -> io::Result<()> {
                let c = TcpStream::connect(addr)?;
                c.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut r = BufReader::new(&c);
                let mut greeting = String::new();
                r.read_line(&mut greeting)?;
                assert!(greeting.starts_with("Welcome"), "{greeting:?}");
                for j in 0..3 {
                    let msg = format!("client {i} line {j}\r\n");
                    (&c).write_all(msg.as_bytes())?;
                    let mut back = String::new();
                    r.read_line(&mut back)?;
                    assert_eq!(back, msg);
                }
                (&c).write_all(b"quit\r\n")?;
                // The server closes after quit: end of file.
                assert_eq!(r.read(&mut [0; 8])?, 0);
                Ok(())
            })
        })
        .collect();
    gevent::joinall(&clients, Some(Duration::from_secs(10))).map_err(io::Error::from)?;
    for c in &clients {
        c.take().map_err(io::Error::from)??;
    }
    let killed = server.stop(Some(Duration::from_secs(1)));
    assert_eq!(killed, 0);
    println!("selftest passed: 5 clients echoed");
    Ok(())
}

/// The command line: an address, or --port/--workers/--pool.
struct Args {
    addr: String,
    workers: usize,
    pool: Option<usize>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:16000".into(),
        workers: 1,
        pool: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("{arg} needs a number ({what})"))
        };
        match arg.as_str() {
            "--port" => a.addr = format!("127.0.0.1:{}", value("the port")?),
            "--workers" => a.workers = value("threads, 0 = one per core")?,
            "--pool" => a.pool = Some(value("concurrent connections")?),
            s if !s.starts_with("--") => a.addr = s.to_string(),
            s => return Err(format!("unknown option {s}")),
        }
    }
    Ok(a)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--selftest") {
        return selftest();
    }
    let a = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "echoserver: {e}\nusage: echoserver [ADDR | --port N] [--workers K] [--pool M] | --selftest"
            );
            std::process::exit(2);
        }
    };
    let mut b = StreamServer::builder()
        .bind(a.addr.as_str())?
        .workers(a.workers);
    if let Some(n) = a.pool {
        b = b.pool_size(n);
    }
    let server = b.build_workers(handle)?;
    println!(
        "Starting echo server on {} ({} worker(s))",
        server.address(),
        server.workers()
    );
    io::stdout().flush()?;
    match server.serve_until_signal(GRACE)? {
        Some(sig) => {
            let name = if sig == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            println!("{name}: stopped gracefully");
        }
        None => println!("stopped"),
    }
    Ok(())
}
