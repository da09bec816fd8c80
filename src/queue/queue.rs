//! [`Queue`]: first in, first out.

use std::collections::VecDeque;
use std::rc::Rc;

use super::core::QueueCore;
use super::methods::queue_methods;

/// A FIFO queue for greenlets (gevent's `Queue`): unbounded by default,
/// bounded with [`Queue::bounded`]. `put` waits while a bounded queue is
/// full, `get` while it is empty; `try_*` never wait and `*_timeout` wait at
/// most so long ([`QueueError::Full`](super::QueueError::Full) /
/// [`QueueError::Empty`](super::QueueError::Empty) otherwise).
///
/// * Blocked getters are served in arrival order, and so are blocked putters.
/// * No item is ever lost or duplicated, even when a blocked greenlet times
///   out or is killed; a failed put hands its item back in the
///   [`PutError`](super::PutError).
/// * [`shutdown`](Queue::shutdown) ends it: puts fail, gets drain what is
///   left, iteration stops.
///
/// Cloning the handle shares the queue (`!Send`).
///
/// # Examples
///
/// A producer and two workers:
///
/// ```
/// use gevent::{queue::Queue, spawn, joinall};
/// use std::time::Duration;
///
/// let tasks = Queue::bounded(2);
/// let workers: Vec<_> = (0..2).map(|_| {
///     let tasks = tasks.clone();
///     spawn(move || tasks.iter().map(|t| t.unwrap()).sum::<u32>())
/// }).collect();
/// for t in 1..=10 {
///     tasks.put(t).unwrap(); // waits while two are pending
/// }
/// tasks.shutdown();
/// joinall(&workers, Some(Duration::from_secs(5)))?;
/// let total: u32 = workers.iter().map(|w| w.value().unwrap()).sum();
/// assert_eq!(total, 55);
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct Queue<T> {
    core: Rc<QueueCore<T, VecDeque<T>>>,
}

queue_methods!(Queue, "gevent::queue::Queue", []);
