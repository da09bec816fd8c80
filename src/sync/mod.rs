//! Synchronisation between greenlets: events, one-shot results, locks and
//! semaphores (gevent's `gevent.event` and `gevent.lock`).
//!
//! * [`Event`]: a resettable flag; [`AsyncResult`]: a one-shot value or
//!   error, which another OS thread can deliver through an
//!   [`AsyncResultSender`].
//! * [`Semaphore`], [`BoundedSemaphore`], [`Lock`], [`RLock`]: acquire with
//!   `acquire()` (waits), `try_acquire()` (never waits) or
//!   `acquire_timeout(d)`; each returns an RAII guard that releases on drop.
//!
//! All of them are handles: cloning one shares the object. They belong to
//! the greenlets of one thread (`!Send`).
//!
//! # Guarantees
//!
//! * **FIFO service.** Waiters are served in arrival order. A release hands
//!   its permit directly to the longest waiter, so a newcomer cannot take it.
//!   When an event is set, its waiters run in the order they started
//!   waiting, and a greenlet that checks the event after that (before they
//!   have all run) is queued behind them.
//! * **Nothing leaks.** A waiter that times out, is killed or is hit by a
//!   [`Timeout`](crate::Timeout) never keeps a permit: one handed to it at
//!   the last moment is passed on to the next waiter by its drop guard.
//! * **No hang.** Waiting where nothing could ever wake the main greenlet
//!   fails with [`Error::LoopExit`](crate::Error::LoopExit); waiting inside
//!   the hub (a watcher or hub callback) fails with
//!   [`Error::BlockingInHub`](crate::Error::BlockingInHub). Operations that
//!   need not wait (a free permit) succeed even there.
//!
//! # Errors
//!
//! Waiting fails with [`crate::Error`] (`Timeout` from the `*_timeout`
//! forms, `LoopExit`, ...). Releasing what may not be released is a
//! [`ReleaseError`], never a panic.

mod async_result;
mod bounded_semaphore;
pub(crate) mod deadline;
mod dummy_semaphore;
mod event;
pub(crate) mod links;
mod lock;
pub(crate) mod notifier;
pub(crate) mod permits;
mod release_error;
mod rlock;
mod semaphore;
pub(crate) mod wait_queue;

pub use async_result::{AsyncResult, AsyncResultSender};
pub use bounded_semaphore::BoundedSemaphore;
pub use dummy_semaphore::{DummySemaphore, DummySemaphoreGuard};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use release_error::ReleaseError;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Semaphore, SemaphoreGuard};
