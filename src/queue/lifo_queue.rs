//! [`LifoQueue`]: last in, first out.

use std::rc::Rc;

use super::core::QueueCore;
use super::methods::queue_methods;

/// A LIFO queue (a stack) for greenlets (gevent's `LifoQueue`): `get` takes
/// the most recently put item. Otherwise exactly like
/// [`Queue`](super::Queue): bounded or not, FIFO service of blocked
/// greenlets, no item lost, shutdown.
///
/// # Examples
///
/// ```
/// use gevent::queue::LifoQueue;
/// let q = LifoQueue::new();
/// for i in 1..=3 {
///     q.put(i).unwrap();
/// }
/// assert_eq!(q.peek()?, 3);
/// let order: Vec<_> = (0..3).map(|_| q.get().unwrap()).collect();
/// assert_eq!(order, [3, 2, 1]);
/// # Ok::<(), gevent::queue::QueueError>(())
/// ```
pub struct LifoQueue<T> {
    core: Rc<QueueCore<T, Vec<T>>>,
}

queue_methods!(LifoQueue, "gevent::queue::LifoQueue", []);
