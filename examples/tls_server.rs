//! A TLS echo server: one greenlet per connection, all in one thread.
//!
//! ```text
//! cargo run --example tls_server -- --selftest
//!     generate a CA and a certificate, start the server on 127.0.0.1, connect
//!     to it with the tls_client logic, check the echo, exit 0
//! cargo run --example tls_server
//!     serve on 127.0.0.1:8443 with a freshly generated certificate; the CA is
//!     written to a temporary file and the matching tls_client command printed
//! cargo run --example tls_server -- --cert cert.pem --key key.pem --addr 127.0.0.1:8443
//!     serve with your own certificate chain and private key (PEM)
//! ```

mod tls_common;

use std::process::exit;

use gevent::net::TcpListener;
use gevent::tls::TlsAcceptor;

const USAGE: &str =
    "usage: tls_server [--selftest] [--addr HOST:PORT] [--cert CHAIN.pem --key KEY.pem]";

fn main() {
    let mut addr = "127.0.0.1:8443".to_string();
    let mut cert = None;
    let mut key = None;
    let mut selftest = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| tls_common::flag_value(&mut args, flag, USAGE);
        match arg.as_str() {
            "--selftest" => selftest = true,
            "--addr" => addr = value("--addr"),
            "--cert" => cert = Some(value("--cert")),
            "--key" => key = Some(value("--key")),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
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

    if let Err(e) = run(&addr, cert, key) {
        eprintln!("error: {e}");
        exit(1);
    }
}

fn run(addr: &str, cert: Option<String>, key: Option<String>) -> std::io::Result<()> {
    let builder = TlsAcceptor::builder().alpn_protocols(tls_common::ALPN);
    let builder = match (cert, key) {
        (Some(cert), Some(key)) => builder.certificate_pem_files(&cert, &key)?,
        (None, None) => {
            let (ca_pem, cert_pem, key_pem) = tls_common::generate_certificates();
            let ca_path = std::env::temp_dir()
                .join(format!("gevent-tls-example-ca-{}.pem", std::process::id()));
            std::fs::write(&ca_path, ca_pem)?;
            println!(
                "generated a certificate for localhost and 127.0.0.1; its CA is in {}",
                ca_path.display()
            );
            println!(
                "try: cargo run --example tls_client -- {addr} --ca {} --alpn echo/1",
                ca_path.display()
            );
            builder.certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
        }
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--cert and --key go together",
            ));
        }
    };
    let acceptor = builder.build()?;
    let listener = TcpListener::bind(addr)?;
    println!("TLS echo server on {}", listener.local_addr()?);
    tls_common::serve(listener, acceptor, None, true)
}
