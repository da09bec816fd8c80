//! Queues for passing items between greenlets (gevent's `gevent.queue`).
//!
//! * [`Queue`]: FIFO, unbounded or bounded; [`LifoQueue`]: LIFO;
//!   [`PriorityQueue`]: smallest first; [`JoinableQueue`]: FIFO with
//!   `task_done`/`join`; [`Channel`]: rendezvous, no buffer.
//! * Every operation comes in three forms: blocking (`put`, `get`, `peek`),
//!   non-blocking (`try_put`, `try_get`, `try_peek`) and bounded
//!   (`put_timeout`, `get_timeout`, `peek_timeout`).
//! * Queues are handles: cloning one shares the queue. They belong to the
//!   greenlets of one thread (`!Send`).
//!
//! # Guarantees
//!
//! * **FIFO service**: blocked getters are served in arrival order, and so
//!   are blocked putters; a newcomer never overtakes a blocked greenlet.
//! * **No item lost or duplicated**, even when a blocked greenlet times out,
//!   is killed or is hit by a [`Timeout`](crate::Timeout): an item handed to
//!   a getter that then cannot take it goes back to the head of the queue,
//!   and a put that fails hands the item back in its [`PutError`].
//! * **Shutdown**: [`Queue::shutdown`] refuses further puts, wakes every
//!   blocked greenlet, and lets getters drain what is left before they fail
//!   with [`QueueError::ShutDown`]; iteration ends there.
//!
//! # Errors
//!
//! [`QueueError`]: `Full` when a put could not wait (long enough) for room,
//! `Empty` when a get could not wait for an item — as gevent raises `Full`
//! and `Empty` — `ShutDown`, `TaskDoneTooOften`, and `Wait(e)` when waiting
//! is impossible (`e` is [`Error::LoopExit`](crate::Error::LoopExit),
//! [`Error::BlockingInHub`](crate::Error::BlockingInHub) or
//! [`Error::Unwinding`](crate::Error::Unwinding)). A failed put returns a
//! [`PutError`] carrying the `QueueError` and the item.
//!
//! # Example
//!
//! ```
//! use gevent::queue::{Queue, QueueError};
//! use std::time::Duration;
//!
//! let q = Queue::bounded(1);
//! q.put(1).unwrap();
//! let e = q.put_timeout(2, Duration::from_millis(1)).unwrap_err();
//! assert!(matches!(e.error(), QueueError::Full));
//! assert_eq!(q.get()?, 1);
//! assert!(matches!(q.get_timeout(Duration::from_millis(1)), Err(QueueError::Empty)));
//! # Ok::<(), QueueError>(())
//! ```

mod buffer;
mod channel;
pub(crate) mod core;
mod iter;
mod joinable_queue;
mod lifo_queue;
mod methods;
mod priority_queue;
mod put_error;
#[allow(clippy::module_inception)]
mod queue;
mod queue_error;

pub use channel::Channel;
pub use iter::Iter;
pub use joinable_queue::JoinableQueue;
pub use lifo_queue::LifoQueue;
pub use priority_queue::PriorityQueue;
pub use put_error::PutError;
pub use queue::Queue;
pub use queue_error::QueueError;
