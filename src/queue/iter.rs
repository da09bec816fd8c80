//! [`Iter`]: a blocking iterator over a queue's items.

use std::fmt;

use super::QueueError;
use super::core::ItemSource;

/// Takes items from a queue as they come, blocking in between, until the
/// queue is [shut down](super::Queue::shutdown) and drained (gevent's
/// `for item in queue`). Made by `iter()` or `for item in &queue`.
///
/// Yields `Ok(item)`; if waiting becomes impossible (for example
/// [`Error::LoopExit`](crate::Error::LoopExit): nothing will ever put
/// another item), it yields that error once and then ends.
///
/// # Examples
///
/// ```
/// use gevent::queue::Queue;
/// let q = Queue::new();
/// let producer = q.clone();
/// gevent::spawn(move || {
///     for i in 0..3 {
///         producer.put(i).unwrap();
///         gevent::sleep(std::time::Duration::from_millis(1));
///     }
///     producer.shutdown();
/// });
/// let got: Vec<i32> = q.iter().collect::<Result<_, _>>()?;
/// assert_eq!(got, [0, 1, 2]);
/// # Ok::<(), gevent::queue::QueueError>(())
/// ```
pub struct Iter<'a, T> {
    src: &'a dyn ItemSource<T>,
    done: bool,
}

impl<'a, T> Iter<'a, T> {
    pub(crate) fn new(src: &'a dyn ItemSource<T>) -> Iter<'a, T> {
        Iter { src, done: false }
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = Result<T, QueueError>;

    fn next(&mut self) -> Option<Result<T, QueueError>> {
        if self.done {
            return None;
        }
        match self.src.next_item() {
            Ok(item) => Some(Ok(item)),
            Err(QueueError::ShutDown) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<T> std::iter::FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
