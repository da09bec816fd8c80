//! Servers: [`StreamServer`] (TCP, Unix, TLS) and [`DatagramServer`]
//! (UDP, Unix datagrams), gevent's `gevent.server`.
//!
//! A server owns its listening socket and calls a handler in a new
//! greenlet for every connection (or datagram), so handlers are plain
//! blocking-style code. It is also how this crate uses more than one core:
//! [`ServerBuilder::workers`] runs one hub per thread, each accepting on
//! its own `SO_REUSEPORT` socket. For deployment under a process manager,
//! servers take listeners inherited through systemd's socket activation
//! ([`listen_fds`], [`StreamServer::from_listen_fds`]) and stop gracefully
//! on `SIGTERM` ([`StreamServer::serve_until_signal`]).
//!
//! # Example
//!
//! ```
//! use gevent::server::StreamServer;
//! use std::io::{BufRead, BufReader, Write};
//!
//! // A line echo server, bounded to 1000 concurrent connections.
//! let server = StreamServer::builder()
//!     .bind("127.0.0.1:0")?
//!     .pool_size(1000)
//!     .build(|conn, _peer| {
//!         let mut conn = BufReader::new(conn);
//!         let mut line = String::new();
//!         while conn.read_line(&mut line).map_or(false, |n| n > 0) {
//!             if conn.get_mut().write_all(line.as_bytes()).is_err() {
//!                 break;
//!             }
//!             line.clear();
//!         }
//!     })?;
//! server.start()?;
//!
//! let addr = server.local_addr()?.as_inet().unwrap();
//! let c = gevent::net::TcpStream::connect(addr)?;
//! (&c).write_all(b"hello\n")?;
//! let mut back = String::new();
//! BufReader::new(&c).read_line(&mut back)?;
//! assert_eq!(back, "hello\n");
//! server.stop(Some(std::time::Duration::from_secs(1)));
//! # Ok::<(), std::io::Error>(())
//! ```

mod accept_loop;
mod address;
mod datagram_server;
pub(crate) mod drain;
mod listen_fds;
mod listener;
mod one;
mod server_builder;
mod stream;
mod stream_server;
mod workers;

pub use address::Address;
pub use datagram_server::{DatagramServer, DatagramSocket};
pub use listen_fds::{ListenFd, listen_fds};
pub use server_builder::ServerBuilder;
pub use stream::Stream;
pub use stream_server::StreamServer;
