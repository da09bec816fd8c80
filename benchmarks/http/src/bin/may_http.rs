//! may_minihttp (one worker): `200 Hello, World!`.
use std::io;

use may_minihttp::{HttpServer, HttpService, Request, Response};

#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, _req: Request, res: &mut Response) -> io::Result<()> {
        res.body("Hello, World!");
        Ok(())
    }
}

fn main() {
    may::config().set_workers(1);
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = HttpServer(Hello).start(addr).expect("bind");
    server.join().unwrap();
}
