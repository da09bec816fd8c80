//! The benchmark's gevent::http server: `200 Hello, World!` (as
//! examples/http_hello.rs), one hub.
use gevent::http::{Body, Config, Server};
use gevent::server::StreamServer;
use http::{Request, Response};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let builder = StreamServer::builder().bind(addr.as_str())?;
    let server = Server::build(builder, Config::new(), |_req: Request<Body>| {
        Response::new("Hello, World!")
    })?;
    server.serve_forever()
}
