//! Cooperative sockets: std's TCP, UDP and Unix socket types, with every
//! blocking operation parking only the calling greenlet (gevent's
//! `gevent.socket`).
//!
//! * [`TcpListener`], [`TcpStream`], [`UdpSocket`], [`UnixListener`],
//!   [`UnixStream`], [`UnixDatagram`]: std's methods and signatures, plus
//!   `close()`; `Read`/`Write` also through `&` references; conversions
//!   from and into the std types and raw descriptors.
//! * [`wait_read`], [`wait_write`], [`wait_readwrite`] for any descriptor,
//!   and the cooperative [`select`] and [`poll`] ([`PollFd`]).
//! * [`socketpair`]; [`resolve`] and [`ToSocketAddrs`] for addresses.
//!
//! # How an operation waits
//!
//! Descriptors are always non-blocking. An operation tries its syscall;
//! on `WouldBlock` it waits for readiness with an io watcher on the hub's
//! loop (one per socket handle and direction, created on first use and
//! started and stopped per wait), then retries. While it waits, the other
//! greenlets run.
//!
//! * **Timeouts.** `set_read_timeout`/`set_write_timeout` bound each call;
//!   an expired read or write returns `ErrorKind::WouldBlock` (`EAGAIN`),
//!   which is what std returns on Linux (std documents `WouldBlock` on
//!   Unix and `TimedOut` on Windows). `connect_timeout` returns
//!   `TimedOut`, as std does; so do [`wait_read`] and friends. An
//!   enclosing [`Timeout`](crate::Timeout) or a
//!   [`kill`](crate::Greenlet::kill) unwinds out of the wait; the wait's
//!   watchers are stopped on the way out.
//! * **Non-blocking mode.** `set_nonblocking(true)` makes operations
//!   return `WouldBlock` instead of waiting, as std does for threads.
//! * **One waiter per direction.** A second greenlet reading (or writing,
//!   or accepting) through the same handle while one already waits gets
//!   `ErrorKind::ResourceBusy` instead of a hang (gevent's
//!   `ConcurrentObjectUseError`). Handles made with `try_clone` have
//!   their own waiters.
//! * **Close.** `close()` on a handle closes the socket for it and all its
//!   `try_clone`s: waiters wake at once with `ErrorKind::NotConnected`
//!   ("socket closed"), later calls fail the same way, and the OS socket
//!   is released; descriptor numbers stay reserved until the handles are
//!   dropped, so closing is safe against descriptor reuse.
//! * **Threads.** A socket handle belongs to the thread (hub) that uses
//!   it (`!Send`); move a socket between threads through its std type.
//!
//! # Example
//!
//! ```
//! use gevent::net::{TcpListener, TcpStream};
//! use std::io::{Read, Write};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! // An echo server: one greenlet per connection.
//! let _server = gevent::spawn(move || {
//!     for conn in listener.incoming() {
//!         let Ok(mut conn) = conn else { break };
//!         gevent::spawn(move || {
//!             let mut buf = [0; 1024];
//!             while let Ok(n @ 1..) = conn.read(&mut buf) {
//!                 if conn.write_all(&buf[..n]).is_err() { break }
//!             }
//!         });
//!     }
//! });
//! let clients: Vec<_> = (0..3).map(|i| gevent::spawn(move || -> std::io::Result<String> {
//!     let mut c = TcpStream::connect(addr)?;
//!     c.write_all(format!("hello {i}").as_bytes())?;
//!     let mut buf = [0; 7];
//!     c.read_exact(&mut buf)?;
//!     Ok(String::from_utf8_lossy(&buf).into_owned())
//! })).collect();
//! for (i, c) in clients.iter().enumerate() {
//!     assert_eq!(c.take().unwrap()?, format!("hello {i}"));
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod ancillary;
mod common;
mod generic_socket;
mod hostname;
mod incoming;
mod poll;
mod poll_fd;
mod resolve;
mod select;
pub(crate) mod socket;
mod socket_group;
mod socket_target;
mod socketpair;
mod tcp_listener;
mod tcp_stream;
mod to_socket_addrs;
mod udp_socket;
mod unix_addr;
mod unix_datagram;
mod unix_incoming;
mod unix_listener;
mod unix_stream;
mod wait;
pub(crate) mod wait_slot;

pub use ancillary::{MAX_FDS, ReceivedFds};
pub use generic_socket::Socket;
pub use hostname::{getfqdn, gethostname};
pub use incoming::Incoming;
pub use poll::poll;
pub use poll_fd::PollFd;
pub use resolve::resolve;
pub use select::select;
pub use socket_target::SocketTarget;
pub use socket2::{Domain, Protocol, SockAddr, SockRef, Type};
pub use socketpair::socketpair;
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use to_socket_addrs::ToSocketAddrs;
pub use udp_socket::UdpSocket;
pub use unix_datagram::UnixDatagram;
pub use unix_incoming::UnixIncoming;
pub use unix_listener::UnixListener;
pub use unix_stream::UnixStream;
pub use wait::{wait_read, wait_readwrite, wait_write};

/// The listen backlog of the `bind` constructors.
pub(crate) const DEFAULT_BACKLOG: i32 = 1024;

/// `InvalidInput` for a negative listen backlog.
pub(crate) fn check_backlog(backlog: i32) -> std::io::Result<()> {
    if backlog < 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("listen backlog must not be negative (got {backlog})"),
        ));
    }
    Ok(())
}
