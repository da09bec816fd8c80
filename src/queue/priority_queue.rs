//! [`PriorityQueue`]: smallest first.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

use super::core::QueueCore;
use super::methods::queue_methods;

/// A priority queue for greenlets (gevent's `PriorityQueue`): `get` takes
/// the smallest item, as Python's `heapq` does; use tuples such as
/// `(priority, payload)`, or [`std::cmp::Reverse`] for largest first.
/// Items that compare equal come out in no particular order. Otherwise
/// exactly like [`Queue`](super::Queue).
///
/// # Examples
///
/// ```
/// use gevent::queue::PriorityQueue;
/// let q = PriorityQueue::new();
/// q.put((2, "write report")).unwrap();
/// q.put((1, "fix outage")).unwrap();
/// q.put((3, "lunch")).unwrap();
/// assert_eq!(q.get()?.1, "fix outage");
/// assert_eq!(q.get()?.1, "write report");
/// # Ok::<(), gevent::queue::QueueError>(())
/// ```
pub struct PriorityQueue<T> {
    core: Rc<QueueCore<T, BinaryHeap<Reverse<T>>>>,
}

queue_methods!(PriorityQueue, "gevent::queue::PriorityQueue", [: Ord]);
