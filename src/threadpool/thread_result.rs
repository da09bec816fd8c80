//! [`ThreadResult`]: the handle of one thread-pool job.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::Error;
use crate::hub::{check_can_block, park};
use crate::wait_list::{Registration, WaitList, WakeCell, expired, park_timer};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Pending,
    Ready,
    Taken,
}

/// Where a job's result lands on the hub's thread.
pub(crate) struct Slot<T> {
    result: RefCell<Option<Result<T, Error>>>,
    phase: Cell<Phase>,
    waiters: WaitList,
    /// `rawlink` callbacks (see `threadpool/waitable.rs`).
    pub(super) links: crate::sync::links::Links,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Rc<Slot<T>> {
        Rc::new(Slot {
            result: RefCell::new(None),
            phase: Cell::new(Phase::Pending),
            waiters: WaitList::default(),
            links: crate::sync::links::Links::default(),
        })
    }

    /// Stores the result and wakes the waiters (on the hub's thread).
    pub(crate) fn complete(&self, r: Result<T, Error>) {
        if self.phase.get() != Phase::Pending {
            return;
        }
        *self.result.borrow_mut() = Some(r);
        self.phase.set(Phase::Ready);
        self.waiters.wake_all();
        self.links.fire();
    }
}

/// The handle of a job running on a [`ThreadPool`](crate::threadpool::ThreadPool)
/// (returned by [`spawn`](crate::threadpool::ThreadPool::spawn)).
/// Waiting on it parks only the calling greenlet: the hub keeps running the
/// others while the job runs on a worker thread.
///
/// The result is *moved out* by the first getter that returns it
/// ([`get`](ThreadResult::get), [`get_timeout`](ThreadResult::get_timeout)
/// or [`try_get`](ThreadResult::try_get)), so `T` need not be `Clone`; a
/// later call returns `Err(Error::NotReady)` (as
/// [`Greenlet::take`](crate::Greenlet::take) does). A job that panicked
/// gives `Err(Error::Panicked(message))` every time.
///
/// Dropping the handle does not cancel the job; its result is dropped when
/// it arrives. The handle is `!Send`: it belongs to the hub that submitted
/// the job.
///
/// # Examples
///
/// ```
/// use gevent::threadpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let job = pool.spawn(|| (1..=10u64).product::<u64>());
/// // ... other greenlets run meanwhile ...
/// assert_eq!(job.get()?, 3_628_800);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadResult<T> {
    pub(super) slot: Rc<Slot<T>>,
}

impl<T> ThreadResult<T> {
    pub(crate) fn new(slot: Rc<Slot<T>>) -> ThreadResult<T> {
        ThreadResult { slot }
    }

    /// Whether the job's result has arrived (and maybe been taken).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| 5);
    /// job.wait()?;
    /// assert!(job.ready());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ready(&self) -> bool {
        self.slot.phase.get() != Phase::Pending
    }

    /// Whether the job finished without panicking (`false` while it runs).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| -> u8 { panic!("no") });
    /// job.wait()?;
    /// assert!(!job.successful());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn successful(&self) -> bool {
        match self.slot.phase.get() {
            Phase::Pending => false,
            Phase::Taken => true,
            Phase::Ready => matches!(&*self.slot.result.borrow(), Some(Ok(_))),
        }
    }

    /// Waits (parking this greenlet) until the result has arrived.
    ///
    /// # Errors
    ///
    /// [`Error::LoopExit`], [`Error::BlockingInHub`] or
    /// [`Error::Unwinding`] if waiting is impossible.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| ());
    /// job.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.wait_inner(None).map(|_| ())
    }

    /// Waits at most `timeout`; returns whether the result has arrived.
    ///
    /// # Errors
    ///
    /// As for [`wait`](ThreadResult::wait).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| std::thread::sleep(Duration::from_millis(50)));
    /// assert!(!job.wait_timeout(Duration::ZERO)?);
    /// assert!(job.wait_timeout(Duration::from_secs(10))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.wait_inner(Some(timeout))
    }

    /// Waits for the job and moves its result out.
    ///
    /// # Errors
    ///
    /// `Error::Panicked(message)` if the job panicked; `Error::Killed` if
    /// the pool could not start a worker for it; [`Error::NotReady`] if the
    /// value was already taken; or why waiting was impossible, as for
    /// [`wait`](ThreadResult::wait).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| -> u8 { panic!("bad input") });
    /// assert!(matches!(job.get(), Err(gevent::Error::Panicked(m)) if &*m == "bad input"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self) -> Result<T, Error> {
        self.wait_inner(None)?;
        self.take_now()
    }

    /// Like [`get`](ThreadResult::get), giving up after `timeout` with
    /// [`Error::Timeout`] (the job keeps running; ask again later).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], or as for [`get`](ThreadResult::get).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| { std::thread::sleep(Duration::from_millis(30)); 7 });
    /// assert!(job.get_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// assert_eq!(job.get_timeout(Duration::from_secs(10))?, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Error> {
        if !self.wait_inner(Some(timeout))? {
            return Err(Error::Timeout);
        }
        self.take_now()
    }

    /// The result if it has arrived, without blocking.
    ///
    /// # Errors
    ///
    /// [`Error::NotReady`] if the job has not finished (or its value was
    /// already taken); the job's failure as for [`get`](ThreadResult::get).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| "done");
    /// job.wait()?;
    /// assert_eq!(job.try_get()?, "done");
    /// assert!(matches!(job.try_get(), Err(gevent::Error::NotReady)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_get(&self) -> Result<T, Error> {
        self.take_now()
    }

    fn take_now(&self) -> Result<T, Error> {
        if self.slot.phase.get() != Phase::Ready {
            return Err(Error::NotReady);
        }
        let mut r = self.slot.result.borrow_mut();
        match r.as_ref() {
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(_)) => {
                self.slot.phase.set(Phase::Taken);
                match r.take() {
                    Some(Ok(v)) => Ok(v),
                    _ => Err(Error::NotReady),
                }
            }
            None => Err(Error::NotReady),
        }
    }

    fn wait_inner(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if self.ready() {
            return Ok(true);
        }
        check_can_block()?;
        let cell = WakeCell::new_rc();
        let _reg = Registration::new(&self.slot.waiters, &cell);
        let timer = park_timer(timeout, &cell)?;
        loop {
            if self.ready() {
                return Ok(true);
            }
            if expired(&timer) {
                return Ok(false);
            }
            cell.arm();
            park()?;
        }
    }
}

impl<T> fmt::Debug for ThreadResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadResult")
            .field("phase", &self.slot.phase.get())
            .finish()
    }
}
