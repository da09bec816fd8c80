//! A TLS client: connects, prints the negotiated protocol, cipher suite and
//! ALPN protocol, sends a simple request and prints the first bytes of the
//! reply.
//!
//! ```text
//! cargo run --example tls_client -- --selftest
//!     start a local TLS echo server in a greenlet (fresh certificates) and
//!     talk to it; exit 0 when the echo comes back
//! cargo run --example tls_client -- 127.0.0.1:8443 --ca /tmp/ca.pem --alpn echo/1
//!     talk to `cargo run --example tls_server` (it prints the CA path)
//! cargo run --example tls_client -- example.com:443
//!     an HTTPS server, verified with the platform's root certificates
//! ```
//!
//! Options: `--name NAME` (the name to verify and send with SNI; default:
//! the host part of the address), `--ca FILE` (trust this CA instead of the
//! platform roots), `--alpn P1,P2`, `--request TEXT` (default: an HTTP/1.0
//! GET), `--insecure` (accept any certificate: testing only).

mod tls_common;

use std::process::exit;
use std::time::Duration;

use gevent::tls::TlsConnector;

const USAGE: &str = "usage: tls_client HOST:PORT [--name NAME] [--ca CA.pem] [--alpn P1,P2] [--request TEXT] [--insecure] | --selftest";

fn main() {
    let mut addr = None;
    let mut name = None;
    let mut ca = None;
    let mut alpn: Vec<String> = Vec::new();
    let mut request = None;
    let mut insecure = false;
    let mut selftest = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| tls_common::flag_value(&mut args, flag, USAGE);
        match arg.as_str() {
            "--selftest" => selftest = true,
            "--name" => name = Some(value("--name")),
            "--ca" => ca = Some(value("--ca")),
            "--alpn" => alpn = value("--alpn").split(',').map(str::to_owned).collect(),
            "--request" => request = Some(value("--request")),
            "--insecure" => insecure = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            a if !a.starts_with('-') && addr.is_none() => addr = Some(a.to_owned()),
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                exit(2);
            }
        }
    }

    if selftest {
        tls_common::run_selftest();
        return;
    }

    let Some(addr) = addr else {
        eprintln!("{USAGE}");
        exit(2);
    };
    // The name to verify: --name, else the host part of HOST:PORT.
    let host = match addr.rsplit_once(':') {
        Some((host, _port)) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        None => {
            eprintln!("expected HOST:PORT, got {addr:?}");
            exit(2);
        }
    };
    let name = name.unwrap_or_else(|| host.clone());
    let request = request
        .map(|r| r.replace("\\r", "\r").replace("\\n", "\n"))
        .unwrap_or_else(|| format!("GET / HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"));

    let result = (|| -> std::io::Result<()> {
        let mut builder = TlsConnector::builder()
            .alpn_protocols(&alpn)
            .danger_accept_invalid_certs(insecure);
        if let Some(ca) = &ca {
            builder = builder
                .platform_roots(false)
                .add_root_certificate_pem_file(ca)?;
        }
        let connector = builder.build()?;
        let x = gevent::with_timeout(Duration::from_secs(30), || {
            tls_common::exchange(&connector, &addr, &name, request.as_bytes(), 64 * 1024)
        })
        .map_err(std::io::Error::from)??;
        println!("connected to {addr} as {name:?}");
        tls_common::print_exchange(&x);
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("error: {e}");
        exit(1);
    }
}
