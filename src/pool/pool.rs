//! [`Pool`]: a bounded set of greenlets.

use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::members::Members;
use super::{IMap, IMapUnordered, PoolFull, apply, engine, shared_methods, spawn_member};
use crate::{AsGreenlet, Error, Greenlet, GreenletRef};

/// A group of at most `size` greenlets (gevent's `Pool`): the way to limit
/// concurrency. [`spawn`](Pool::spawn) and [`add`](Pool::add) wait while
/// the pool is full; [`try_spawn`](Pool::try_spawn) and
/// [`try_add`](Pool::try_add) fail instead.
///
/// Waiting is fair: a freed slot goes straight to the greenlet that has
/// waited longest, so newcomers never overtake. A waiter that times out or
/// is killed leaves the queue, and a slot handed to it just before is
/// passed on: no slot is ever lost. Members leave (freeing their slot)
/// when they die. Clones share the pool.
///
/// # Examples
///
/// ```
/// use gevent::pool::Pool;
/// use std::{cell::Cell, rc::Rc, time::Duration};
///
/// let pool = Pool::new(10)?;
/// let (running, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// for _ in 0..100 {
///     let (r, p) = (running.clone(), peak.clone());
///     pool.spawn(move || {
///         r.set(r.get() + 1);
///         p.set(p.get().max(r.get()));
///         gevent::sleep(Duration::from_millis(1));
///         r.set(r.get() - 1);
///     })?;
/// }
/// pool.join()?;
/// assert_eq!(peak.get(), 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    members: Rc<Members>,
}

impl Pool {
    /// A pool of `size` slots.
    ///
    /// A pool of size 0 is valid, as in gevent: it is always
    /// [`full`](Pool::full), [`free_count`](Pool::free_count) is 0 and
    /// [`wait_available`](Pool::wait_available) returns 0 at once. Nothing
    /// can ever run in it, so where gevent would block forever this fails
    /// at once instead of hanging: [`spawn`](Pool::spawn),
    /// [`add`](Pool::add), [`apply`](Pool::apply) and the `map`/`imap`
    /// family with [`Error::LoopExit`], their timed forms with
    /// [`Error::Timeout`], and `try_*` with [`PoolFull`].
    ///
    /// # Errors
    ///
    /// None today; the `Result` is kept for API stability.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(4)?;
    /// assert_eq!((pool.size(), pool.free_count()), (4, 4));
    /// let empty = gevent::pool::Pool::new(0)?;
    /// assert!(empty.full());
    /// assert_eq!(empty.wait_available()?, 0);
    /// assert!(matches!(empty.spawn(|| ()), Err(gevent::Error::LoopExit)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(size: usize) -> io::Result<Pool> {
        Ok(Pool {
            members: Members::new(Some(size)),
        })
    }

    /// The most members at once.
    ///
    /// ```
    /// assert_eq!(gevent::pool::Pool::new(3)?.size(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.members.size()
    }

    /// Slots free right now (0 while anybody waits for one).
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(2)?;
    /// let g = pool.spawn(|| ())?;
    /// assert_eq!(pool.free_count(), 1);
    /// g.join()?;
    /// assert_eq!(pool.free_count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_count(&self) -> usize {
        self.members.free_count()
    }

    /// Whether every slot is taken.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let _g = pool.spawn(|| ())?;
    /// assert!(pool.full());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn full(&self) -> bool {
        self.members.free_count() == 0
    }

    /// Waits until a slot is free; returns the number of free slots. It
    /// does not reserve one: spawning may still have to wait.
    ///
    /// # Errors
    ///
    /// Only if waiting is impossible: [`Error::LoopExit`],
    /// [`Error::BlockingInHub`], [`Error::Unwinding`].
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// pool.spawn(|| gevent::sleep(std::time::Duration::from_millis(5)))?;
    /// assert_eq!(pool.wait_available()?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_available(&self) -> Result<usize, Error> {
        self.members.wait_available(None)
    }

    /// Like [`wait_available`](Pool::wait_available), at most `timeout`;
    /// returns the number of free slots, 0 if the time ran out.
    ///
    /// # Errors
    ///
    /// As for [`wait_available`](Pool::wait_available).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let g = pool.spawn(|| gevent::sleep(Duration::from_secs(60)))?;
    /// assert_eq!(pool.wait_available_timeout(Duration::from_millis(1))?, 0);
    /// g.kill()?;
    /// assert_eq!(pool.wait_available_timeout(Duration::from_millis(1))?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_available_timeout(&self, timeout: Duration) -> Result<usize, Error> {
        self.members.wait_available(Some(timeout))
    }

    /// Spawns `f` in a new member greenlet, first waiting (FIFO) while the
    /// pool is full.
    ///
    /// # Errors
    ///
    /// Only if waiting is impossible: [`Error::LoopExit`] (every greenlet
    /// waits, so no slot can ever free up), [`Error::BlockingInHub`],
    /// [`Error::Unwinding`]. `f` is then dropped.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let a = pool.spawn(|| 1)?;
    /// let b = pool.spawn(|| 2)?; // waits for `a` to finish
    /// assert!(a.dead());
    /// assert_eq!(b.get()?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(
        &self,
        f: F,
    ) -> Result<Greenlet<T>, Error> {
        spawn_member(&self.members, f)
    }

    /// Spawns `f` if a slot is free now (and nobody waits for one).
    ///
    /// # Errors
    ///
    /// [`PoolFull`], giving `f` back.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// let g = pool.try_spawn(|| 1)?;
    /// assert!(pool.try_spawn(|| 2).is_err());
    /// g.join()?;
    /// assert_eq!(pool.try_spawn(|| 3)?.get()?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_spawn<T: 'static, F: FnOnce() -> T + 'static>(
        &self,
        f: F,
    ) -> Result<Greenlet<T>, PoolFull<F>> {
        match self.members.try_acquire() {
            Some(slot) => {
                let g = crate::spawn(f);
                self.members.insert(&g.handle(), Some(slot));
                Ok(g)
            }
            None => Err(PoolFull::new(f, self.size())),
        }
    }

    /// Adds a greenlet (any [`AsGreenlet`]), first waiting (FIFO) while the
    /// pool is full. A member or a dead greenlet is not added (and takes
    /// no slot).
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Pool::spawn).
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(2)?;
    /// let g = gevent::spawn(|| ());
    /// pool.add(&g)?;
    /// assert!(pool.contains(&g));
    /// assert_eq!(pool.free_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add<G: AsGreenlet>(&self, g: &G) -> Result<(), Error> {
        self.add_inner(&g.greenlet_ref(), None)
    }

    /// Like [`add`](Pool::add), waiting at most `timeout` for a slot.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (the greenlet is not added), or as for
    /// [`add`](Pool::add).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::pool::Pool::new(1)?;
    /// pool.spawn(|| gevent::sleep(Duration::from_secs(60)))?;
    /// let g = gevent::spawn(|| ());
    /// assert!(pool.add_timeout(&g, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// pool.kill()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_timeout<G: AsGreenlet>(&self, g: &G, timeout: Duration) -> Result<(), Error> {
        self.add_inner(&g.greenlet_ref(), Some(timeout))
    }

    /// Adds a greenlet if a slot is free now (and nobody waits for one).
    ///
    /// # Errors
    ///
    /// [`PoolFull`], giving back the greenlet's handle.
    ///
    /// ```
    /// let pool = gevent::pool::Pool::new(1)?;
    /// pool.try_add(&gevent::spawn(|| ()))?;
    /// assert!(pool.try_add(&gevent::spawn(|| ())).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_add<G: AsGreenlet>(&self, g: &G) -> Result<(), PoolFull<GreenletRef>> {
        let g = g.greenlet_ref();
        if self.members.contains(g.id()) || g.dead() {
            return Ok(());
        }
        match self.members.try_acquire() {
            Some(slot) => {
                self.members.insert(&g, Some(slot));
                Ok(())
            }
            None => Err(PoolFull::new(g, self.size())),
        }
    }

    fn add_inner(&self, g: &GreenletRef, timeout: Option<Duration>) -> Result<(), Error> {
        if self.members.contains(g.id()) || g.dead() {
            return Ok(());
        }
        let slot = self.members.acquire(timeout)?;
        self.members.insert(g, Some(slot));
        Ok(())
    }
}

shared_methods!(Pool, "gevent::pool::Pool::new(4)?", "?");

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("len", &self.members.len())
            .field("free", &self.free_count())
            .finish()
    }
}
