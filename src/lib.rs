//! gevent for Rust: coroutine-based networking on libev.
//!
//! Write straight-line, blocking-style code — spawn a greenlet per task,
//! call `sleep`, `join`, read from sockets — and let one thread run tens of
//! thousands of them, each switched cooperatively when it would block.
//!
//! * [`core`]: the safe libev layer (loops and every watcher type), the
//!   counterpart of `gevent.core`.
//! * [`Hub`] ([`get_hub`]): the per-thread scheduler running the loop.
//! * [`Greenlet`] ([`spawn`], [`spawn_later`], [`Builder`]), [`joinall`],
//!   [`wait`], [`iwait`], [`killall`], [`sleep`], [`getcurrent`].
//! * [`Timeout`], [`with_timeout`]; [`Local`] (greenlet-local storage).
//! * [`pool`]: [`Group`](pool::Group) and [`Pool`](pool::Pool), sets of
//!   greenlets (the pool bounded) with `map`/`imap`.
//! * [`threadpool`]: run blocking code on OS threads while greenlets wait
//!   cooperatively ([`Hub::threadpool`], [`threadpool::run_blocking`]).
//! * [`net`]: cooperative TCP, UDP and Unix sockets, `wait_read`/`select`/`poll`.
//! * [`wait`]/[`iwait`] over any [`Waitable`] (greenlets, events, results,
//!   semaphores, queues, thread-pool jobs), gevent's `gevent.wait`.
//! * [`io::Async`]: any file descriptor, cooperative (async-io's `Async<T>`
//!   shape); every socket, pipe and pollable file object is built on it.
//! * [`os`] and [`fileobject`]: cooperative reads and writes on raw
//!   descriptors and files (thread pool for files, io watcher for pipes).
//! * [`resolver`]: cooperative DNS (`getaddrinfo`, `gethostbyname`, ...) on
//!   the thread pool, c-ares (feature `ares`) or blocking libc.
//! * [`tls`]: TLS client and server streams (rustls) over those sockets.
//! * [`block_on`], [`run_async`]: run any `Future` from a greenlet, and
//!   greenlets from async code (a [`Greenlet`] is `IntoFuture`); feature
//!   `tokio`: `gevent::tokio::block_on` for tokio-bound futures.
//! * [`process`]: cooperative child processes shaped like `std::process`;
//!   [`fork`], [`fork_and_watch`].
//! * [`monitor`]: the blocking monitor and `run_info`; [`events`]: its
//!   subscriber hook.
//! * [`server`]: [`StreamServer`](server::StreamServer) (TCP, Unix, TLS; one
//!   hub per core with workers; socket activation; graceful stop) and
//!   [`DatagramServer`](server::DatagramServer).
//! * [`signal`]: signal handlers that run in greenlets, `wait_signal`.
//! * [`http`]: a hardened HTTP/1.1 server on the `http` crate's types.
//! * [`monkey`] (feature `monkey`, Linux): make blocking std and C code
//!   cooperative inside greenlets (`patch_all()`).
//! * [`Error`]: everything that is not an `io::Error`.
//! * [`sync`]: [`Event`], [`AsyncResult`], [`Semaphore`],
//!   [`BoundedSemaphore`], [`Lock`], [`RLock`]; [`queue`]: `Queue`,
//!   `LifoQueue`, `PriorityQueue`, `JoinableQueue`, `Channel`.
//!
//! The model and most names are those of Python's
//! [gevent](https://www.gevent.org/contents.html), whose documentation
//! explains them at length. How this crate is put together (layers, where
//! `unsafe` lives, the invariants it keeps) is described in ARCHITECTURE.md
//! in the repository.
//!
//! # Example
//!
//! ```
//! use gevent::{joinall, sleep, spawn};
//! use std::time::Duration;
//!
//! let jobs: Vec<_> = ["a", "b", "c"]
//!     .into_iter()
//!     .map(|name| spawn(move || {
//!         sleep(Duration::from_millis(5));
//!         name.to_uppercase()
//!     }))
//!     .collect();
//! joinall(&jobs, Some(Duration::from_secs(2)))?;
//! let values: Vec<_> = jobs.iter().map(|j| j.value().unwrap()).collect();
//! assert_eq!(values, ["A", "B", "C"]);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! Requires `panic = "unwind"` (the default): kills and timeouts unwind the
//! target greenlet's stack so that destructors run.
//!
//! # Durations
//!
//! Every function taking a `Duration` accepts the whole range:
//! `Duration::ZERO` means "do not wait" (or "now"), and durations too long
//! to represent as a deadline (up to `Duration::MAX`) mean "no deadline":
//! they never panic, never overflow, and are handed to libev as the
//! largest interval it can count (2^53 seconds, about 285 million years).
//!
//! # Destructors must not panic
//!
//! Because a [`Greenlet::kill`] or an expiring [`Timeout`] unwinds the
//! greenlet's stack, every `Drop` on that stack runs *during an unwind*.
//! A `Drop` that panics then is a panic while panicking, which Rust answers
//! by aborting the whole process (every greenlet of every thread), not by
//! failing one greenlet. So: keep destructors infallible (log, or store the
//! failure somewhere, instead of `unwrap()`/`expect()`/`panic!`); where
//! cleanup may fail, do it explicitly before the value is dropped (a
//! `close()`/`finish()` method returning a `Result`) and let `Drop` only
//! handle what is left; and never block in a `Drop` either (blocking calls
//! fail with [`Error::Unwinding`] there).
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod core;
mod error;
pub mod events;
pub mod fileobject;
mod future;
mod greenlet;
pub mod http;
mod hub;
pub mod io;
mod local;
pub mod monitor;
#[cfg(all(feature = "monkey", target_os = "linux"))]
pub mod monkey;
pub mod net;
pub mod os;
pub mod pool;
pub mod process;
pub mod queue;
pub mod resolver;
pub mod server;
pub mod signal;
pub mod sync;
pub mod threadpool;
mod time;
mod timeout;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod wait;
mod wait_list;

pub use error::Error;
pub use future::{GreenletFuture, block_on, run_async};
pub use greenlet::{
    AsGreenlet, Builder, DEFAULT_STACK_SIZE, Greenlet, GreenletRef, GreenletRun, LinkId,
    getcurrent, idle, joinall, joinall_raise, killall, sleep, spawn, spawn_later, spawn_run,
    try_sleep,
};
pub use hub::{Hub, get_hub, run_on_backend, set_hub_backend, try_get_hub};
pub use local::Local;
pub use process::{ForkResult, fork, fork_and_watch};
pub use sync::{AsyncResult, BoundedSemaphore, Event, Lock, RLock, Semaphore};
pub use timeout::{Timeout, with_timeout};
pub use wait::{Iwait, Waitable, iwait, wait};

/// Compiles and runs the Rust examples in README.md as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
