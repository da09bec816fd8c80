//! Thread-pool jobs as [`Waitable`](crate::Waitable)s: `rawlink`/`unlink`
//! on [`ThreadResult`], so [`wait`](crate::wait) and [`iwait`](crate::iwait)
//! take jobs (Python's `concurrent.futures.wait`/`as_completed`), mixed
//! with greenlets and events.

use super::ThreadResult;
use crate::{LinkId, Waitable};

impl<T> ThreadResult<T> {
    /// Registers `callback` to run once, in the hub, when the job's result
    /// arrives (soon, if it has). It must not block. Remove it with
    /// [`unlink`](ThreadResult::unlink) before it has run.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let job = gevent::threadpool::spawn_blocking(|| 6 * 7);
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// job.rawlink(move || s.set(true));
    /// assert_eq!(job.get()?, 42);
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> LinkId {
        self.slot.links.add(Box::new(callback), self.ready())
    }

    /// Removes a callback added with [`rawlink`](ThreadResult::rawlink)
    /// that has not run yet; returns whether it was removed.
    ///
    /// ```
    /// let job = gevent::threadpool::spawn_blocking(|| ());
    /// let id = job.rawlink(|| ());
    /// assert!(job.unlink(id));
    /// # job.wait()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.slot.links.remove(id)
    }
}

/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = gevent::threadpool::ThreadPool::new(2)?;
/// let slow = pool.spawn(|| std::thread::sleep(Duration::from_millis(50)));
/// let fast = pool.spawn(|| ());
/// // Like concurrent.futures.wait(..., return_when=FIRST_COMPLETED):
/// assert_eq!(gevent::wait(&[&slow, &fast], Some(Duration::from_secs(10)), Some(1))?, [1]);
/// slow.wait()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<T> Waitable for ThreadResult<T> {
    fn is_ready(&self) -> bool {
        self.ready()
    }
    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> LinkId {
        ThreadResult::rawlink(self, callback)
    }
    fn unlink(&self, id: LinkId) -> bool {
        ThreadResult::unlink(self, id)
    }
}
