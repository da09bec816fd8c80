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
//! * [`resolver`]: cooperative DNS (`getaddrinfo`, `gethostbyname`, ...) on
//!   the thread pool, c-ares (feature `ares`) or blocking libc.
//! * [`tls`]: TLS client and server streams (rustls) over those sockets.
//! * [`pool`]: [`Group`](pool::Group) and [`Pool`](pool::Pool), sets of
//!   greenlets (the pool bounded) with `map`/`imap`.
//! * [`threadpool`]: run blocking code on OS threads while greenlets wait
//!   cooperatively ([`Hub::threadpool`], [`threadpool::run_blocking`]).
//! * [`monkey`] (feature `monkey`, Linux): make blocking std and C code
//!   cooperative inside greenlets (`patch_all()`).
//! * [`Error`]: everything that is not an `io::Error`.
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
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod core;
mod error;
mod greenlet;
mod hub;
mod local;
#[cfg(all(feature = "monkey", target_os = "linux"))]
pub mod monkey;
pub mod net;
pub mod pool;
pub mod queue;
pub mod resolver;
pub mod sync;
pub mod threadpool;
mod timeout;
pub mod tls;
mod wait_list;

pub use error::Error;
pub use greenlet::{
    AsGreenlet, Builder, DEFAULT_STACK_SIZE, Greenlet, GreenletRef, GreenletRun, Iwait, LinkId,
    getcurrent, idle, iwait, joinall, joinall_raise, killall, sleep, spawn, spawn_later, spawn_run,
    try_sleep, wait,
};
pub use hub::{Hub, get_hub, run_on_backend, set_hub_backend, try_get_hub};
pub use local::Local;
pub use sync::{AsyncResult, BoundedSemaphore, Event, Lock, RLock, Semaphore};
pub use timeout::{Timeout, with_timeout};

/// Compiles and runs the Rust examples in README.md as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
