//! [`JoinableQueue`]: a FIFO queue that can wait for its work to be done.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use super::QueueError;
use super::core::QueueCore;
use super::methods::queue_methods;
use crate::Error;

/// A FIFO [`Queue`](super::Queue) that also counts unfinished work
/// (gevent's `JoinableQueue`): every item put adds one, every
/// [`task_done`](JoinableQueue::task_done) removes one, and
/// [`join`](JoinableQueue::join) waits until the count is back to zero.
///
/// # Examples
///
/// ```
/// use gevent::queue::JoinableQueue;
/// let q = JoinableQueue::new();
/// let worker = q.clone();
/// gevent::spawn(move || {
///     for job in &worker {
///         let _job: u32 = job.unwrap();
///         gevent::sleep(std::time::Duration::from_millis(1)); // work
///         worker.task_done().unwrap();
///     }
/// });
/// for job in 0..5 {
///     q.put(job).unwrap();
/// }
/// q.join()?; // every job was processed
/// assert_eq!(q.unfinished_tasks(), 0);
/// q.shutdown();
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct JoinableQueue<T> {
    core: Rc<QueueCore<T, VecDeque<T>>>,
}

queue_methods!(JoinableQueue, "gevent::queue::JoinableQueue", []);

impl<T> JoinableQueue<T> {
    /// Marks one item taken from the queue as processed; when all are,
    /// [`join`](JoinableQueue::join) returns.
    ///
    /// # Errors
    ///
    /// [`QueueError::TaskDoneTooOften`] if called more times than items
    /// were put; nothing changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent::queue::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// q.get()?;
    /// q.task_done()?;
    /// assert!(q.task_done().is_err());
    /// # Ok::<(), gevent::queue::QueueError>(())
    /// ```
    pub fn task_done(&self) -> Result<(), QueueError> {
        self.core.task_done()
    }

    /// How many items were put and not yet marked done.
    ///
    /// ```
    /// let q = gevent::queue::JoinableQueue::new();
    /// q.put('a').unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        self.core.unfinished()
    }

    /// Waits until every item put has been marked done (returns at once if
    /// none is pending). Shutting the queue down does not end a join.
    ///
    /// # Errors
    ///
    /// Only when waiting is impossible: [`Error::LoopExit`] (nobody left to
    /// call `task_done`), [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent::queue::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// assert!(matches!(q.join(), Err(gevent::Error::LoopExit)));
    /// q.get().unwrap();
    /// q.task_done().unwrap();
    /// q.join()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.core.join(None).map(|_| ())
    }

    /// Like [`join`](JoinableQueue::join), waiting at most `timeout`;
    /// returns whether all work was done.
    ///
    /// # Errors
    ///
    /// As for [`join`](JoinableQueue::join).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent::queue::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// assert!(!q.join_timeout(std::time::Duration::from_millis(1))?);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.core.join(Some(timeout))
    }
}
