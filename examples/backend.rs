//! Prints the backend the default loop chose.
//!
//! ```text
//! cargo run --example backend                   # libev's choice (epoll on Linux)
//! LIBEV_FLAGS=2 cargo run --example backend     # poll
//! LIBEV_FLAGS=8 cargo run --example backend     # kqueue: fails on Linux, naming it
//! GEVENT_BACKEND=select cargo run --example backend
//! ```

use gevent::core::Loop;

fn main() {
    match Loop::default_loop() {
        Ok(lp) => {
            println!("backend: {}", lp.backend());
            println!("supported: {}", Loop::supported_backends());
            println!("recommended: {}", Loop::recommended_backends());
            println!("embeddable: {}", Loop::embeddable_backends());
            let (major, minor) = Loop::version();
            println!("libev {major}.{minor}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
