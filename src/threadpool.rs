//! [`ThreadPool`]: run blocking or CPU-bound closures on OS threads while
//! the calling greenlet waits cooperatively (gevent's `gevent.threadpool`).
//!
//! Greenlets must never block their thread; code that has to (a blocking
//! C library, `getaddrinfo`, file I/O, heavy computation) runs on a worker
//! thread instead, and the greenlet that needs the result parks until it
//! arrives, while the hub goes on serving every other greenlet.
//!
//! * [`ThreadPool::spawn`] returns a [`ThreadResult`] handle;
//!   [`ThreadPool::apply`] waits for the value; [`ThreadPool::map`] runs a
//!   function over many items and returns the results in input order.
//! * Workers start on demand, up to [`size`](ThreadPool::size) (changeable
//!   with [`set_size`](ThreadPool::set_size)), and retire after
//!   [`idle_timeout`](ThreadPool::idle_timeout) without work (60 s unless
//!   changed).
//! * A panic in a job comes back as `Err(Error::Panicked(message))` on its
//!   handle; the worker and the pool carry on.
//! * Results travel back through the hub's completion-from-another-thread
//!   facility (its inbox, with libev's async watcher to wake a sleeping
//!   hub); while a job is out, the hub's loop stays alive, so the main
//!   greenlet waiting only for a job never gets [`Error::LoopExit`].
//! * A round trip is made cheap by brief spinning on both sides: a worker
//!   that finished a job watches the queue for 50 µs before it sleeps (one
//!   worker at a time), and an otherwise idle hub watches for results for
//!   30 µs before it blocks in its poll, so back-to-back short jobs need no
//!   system call and no sleep. Nothing spins on a single-CPU machine, under
//!   valgrind, or with `GEVENT_SPIN=0` in the environment (for machines
//!   whose CPUs are always busy, or to save power).
//! * Every hub owns a default pool, [`Hub::threadpool`](crate::Hub::threadpool),
//!   sized from `GEVENT_THREADPOOL_SIZE` (default 10); [`spawn_blocking`]
//!   and [`run_blocking`] use it.
//!
//! * After `fork` (by [`gevent::fork`](crate::fork) or plain `fork(2)`),
//!   a pool used in the child re-creates its worker state on first use:
//!   new workers start there, jobs still queued at the fork run, jobs that
//!   were running on the parent's workers never complete in the child.
//!   Exception: if the fork landed while a worker was handing a result to
//!   the hub, the child's hub replaces the cross-thread inbox that worker
//!   held locked, and results of jobs queued at the fork are lost too (their
//!   waiters keep waiting, so bound such waits with a timeout).
//!
//! A `ThreadPool` and its handles are `!Send`: a pool belongs to the hub
//! (thread) that created it; each thread's hub has its own default pool.
//!
//! # Example
//!
//! ```
//! use gevent::threadpool;
//! use std::{sync::mpsc, time::Duration};
//!
//! let (tx, rx) = mpsc::channel();
//! let ticker = gevent::spawn(move || {
//!     let mut ticks = 0;
//!     loop {
//!         ticks += 1;
//!         if ticks == 3 {
//!             tx.send(ticks).unwrap();
//!         }
//!         gevent::sleep(Duration::from_millis(1));
//!     }
//! });
//! // The job blocks its worker thread until the ticker has ticked three
//! // times, which only happens because the hub keeps running greenlets
//! // while this one waits for the job.
//! let ticks = threadpool::run_blocking(move || rx.recv_timeout(Duration::from_secs(10)))?;
//! assert_eq!(ticks, Ok(3));
//! ticker.kill()?;
//! # Ok::<(), gevent::Error>(())
//! ```

mod thread_result;
mod waitable;

pub use thread_result::ThreadResult;

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::hub::{self, check_can_block, park};
use crate::wait_list::{Registration, WaitList, WakeCell, expired, park_timer};
use crate::{Error, Hub};
use thread_result::Slot;

/// The size of a hub's default pool when `GEVENT_THREADPOOL_SIZE` is unset.
///
/// # Examples
///
/// ```
/// // Without GEVENT_THREADPOOL_SIZE in the environment:
/// if std::env::var_os(gevent::threadpool::SIZE_ENV).is_none() {
///     assert_eq!(gevent::get_hub().threadpool().size(), gevent::threadpool::DEFAULT_SIZE);
/// }
/// ```
pub const DEFAULT_SIZE: usize = 10;

/// How long an idle worker waits for work before it exits, unless changed
/// with [`ThreadPool::set_idle_timeout`].
///
/// # Examples
///
/// ```
/// use gevent::threadpool::{DEFAULT_IDLE_TIMEOUT, ThreadPool};
/// let pool = ThreadPool::new(2)?;
/// assert_eq!(pool.idle_timeout(), DEFAULT_IDLE_TIMEOUT);
/// # Ok::<(), std::io::Error>(())
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that sizes each hub's default pool.
///
/// # Examples
///
/// ```
/// use gevent::threadpool::SIZE_ENV;
/// // Set it before the thread's hub creates its pool, e.g. in the shell:
/// // GEVENT_THREADPOOL_SIZE=4 ./server
/// assert_eq!(SIZE_ENV, "GEVENT_THREADPOOL_SIZE");
/// ```
pub const SIZE_ENV: &str = "GEVENT_THREADPOOL_SIZE";

/// How long a worker that finished a job watches the queue for the next
/// one before it goes to sleep (not on a single-CPU machine).
pub(crate) const WORKER_SPIN: Duration = Duration::from_micros(50);

/// A job as the workers see it: runs the caller's closure and completes
/// its `Completer` (`hub::remote`). Dropped without running (the
/// pool could not start a worker for it), the completer is dropped too,
/// which reports the failure to the handle: no waiter hangs.
///
/// Its argument is [`Shared::finishing`]: a job that ran increments it
/// right before it hands its result back, and the worker decrements it
/// once it holds the queue's lock again.
type Job = Box<dyn FnOnce(&AtomicUsize) + Send>;

/// The state shared with the worker threads.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued or the workers must re-check.
    work: Condvar,
    /// Whether `queue.jobs` may be non-empty, for spinning workers to
    /// watch without the lock (written under it).
    has_jobs: AtomicBool,
    /// Workers that handed a result back and have not yet re-checked the
    /// queue. The result can reach the hub, and the greenlet submit its
    /// next job, before that worker takes the lock again: the job is then
    /// left to it rather than given to a new thread or a sleeping one.
    finishing: AtomicUsize,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// The most workers allowed.
    size: usize,
    /// Live workers (counted from before the thread starts to after its
    /// last use of the queue).
    threads: usize,
    /// Workers waiting for a job.
    idle: usize,
    /// Workers spinning for a job (they re-check the queue under the lock
    /// before they sleep, so a job they may take needs no notification).
    spinning: usize,
    idle_timeout: Duration,
    /// Every `ThreadPool` handle is gone: drain the queue, then exit.
    closed: bool,
    next_worker: u64,
}

impl Shared {
    fn new(size: usize, idle_timeout: Duration) -> Arc<Shared> {
        Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                size: size.max(1),
                threads: 0,
                idle: 0,
                spinning: 0,
                idle_timeout,
                closed: false,
                next_worker: 0,
            }),
            work: Condvar::new(),
            has_jobs: AtomicBool::new(false),
            finishing: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Jobs run outside the lock and catch their panics, so poisoning
        // cannot leave the queue inconsistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a job and starts a worker if no idle one can take it.
    fn submit(self: &Arc<Self>, job: Job) {
        let mut q = self.lock();
        q.jobs.push_back(job);
        self.has_jobs.store(true, Ordering::Relaxed);
        // Workers about to look at the queue without being told.
        let coming = q.spinning + self.finishing.load(Ordering::SeqCst);
        if q.jobs.len() > q.idle + coming && q.threads < q.size {
            self.start_workers(q, 1);
        } else if q.jobs.len() > coming {
            drop(q);
            self.work.notify_one();
        }
    }

    /// Starts up to `n` workers (within the size), releasing the lock. If
    /// none can be started and none is alive, the queued jobs are dropped
    /// (they report the failure to their handles).
    fn start_workers(self: &Arc<Self>, mut q: MutexGuard<'_, Queue>, n: usize) {
        let n = n.min(q.size.saturating_sub(q.threads));
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            q.threads += 1;
            q.next_worker += 1;
            names.push(format!("gevent-threadpool-{}", q.next_worker));
        }
        drop(q);
        self.work.notify_one();
        let mut failure = None;
        for name in names {
            let shared = self.clone();
            if let Err(e) = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker(shared))
            {
                failure = Some(e);
                self.lock().threads -= 1;
            }
        }
        if let Some(e) = failure {
            let mut q = self.lock();
            if q.threads == 0 {
                let orphans: Vec<Job> = q.jobs.drain(..).collect();
                self.has_jobs.store(false, Ordering::Relaxed);
                drop(q);
                eprintln!("gevent: cannot start a thread-pool worker: {e}");
                drop(orphans);
            }
        }
    }
}

fn worker(shared: Arc<Shared>) {
    let mut q = shared.lock();
    let mut idle_since: Option<Instant> = None;
    let mut spun = false;
    let mut backoff = hub::Backoff::default();
    loop {
        if q.threads > q.size {
            break; // the pool shrank
        }
        if let Some(job) = q.jobs.pop_front() {
            shared.has_jobs.store(!q.jobs.is_empty(), Ordering::Relaxed);
            drop(q);
            job(&shared.finishing);
            q = shared.lock();
            shared.finishing.fetch_sub(1, Ordering::SeqCst);
            idle_since = None;
            spun = false;
            continue;
        }
        if q.closed {
            break;
        }
        if !spun && q.spinning == 0 && backoff.should_spin() {
            // Fresh from a job: the next one often follows at once (a
            // greenlet calling blocking code in a loop). Watch for it
            // briefly instead of paying a sleep and a wake-up. One
            // spinner at a time: more would only take CPU time from the
            // workers with jobs and from the hub.
            spun = true;
            q.spinning += 1;
            drop(q);
            let ok = hub::spin_until(WORKER_SPIN, || shared.has_jobs.load(Ordering::Relaxed));
            backoff.record(ok);
            q = shared.lock();
            q.spinning -= 1;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        let left = q.idle_timeout.saturating_sub(since.elapsed());
        if left.is_zero() {
            break; // idle too long: retire
        }
        q.idle += 1;
        q = match shared.work.wait_timeout(q, left) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
        q.idle -= 1;
    }
    q.threads -= 1;
}

/// The hub-side part of a pool.
struct Local {
    /// Replaced (see [`Local::shared`]) in a forked child, whose copy of
    /// the workers does not exist.
    shared: RefCell<Arc<Shared>>,
    /// The fork generation `shared` belongs to.
    born: Cell<u64>,
    /// Jobs submitted whose results have not been delivered yet.
    pending: Cell<usize>,
    /// Greenlets in `join`.
    joiners: WaitList,
}

impl Local {
    /// The state shared with the workers. In a process forked since it was
    /// made, the workers it counts do not exist: it is re-created (same
    /// size and idle timeout, queued jobs carried over) and new workers
    /// start on demand. Jobs that were running in the parent at the fork
    /// never complete in the child.
    fn shared(&self) -> Arc<Shared> {
        let generation = hub::fork_generation();
        if self.born.get() != generation {
            self.born.set(generation);
            let old = self.shared.borrow().clone();
            // The lock may be held by a worker that does not exist here.
            let (jobs, size, idle_timeout) = match old.queue.try_lock() {
                Ok(mut q) => (std::mem::take(&mut q.jobs), q.size, q.idle_timeout),
                Err(_) => (VecDeque::new(), DEFAULT_SIZE, DEFAULT_IDLE_TIMEOUT),
            };
            let fresh = Shared::new(size, idle_timeout);
            fresh.has_jobs.store(!jobs.is_empty(), Ordering::Relaxed);
            fresh.lock().jobs = jobs;
            // The old state must not run Drop work against absent workers;
            // leak it (its lock may be held forever).
            std::mem::forget(self.shared.replace(fresh.clone()));
            let q = fresh.lock();
            let n = q.jobs.len();
            if n > 0 {
                fresh.start_workers(q, n);
            }
        }
        self.shared.borrow().clone()
    }

    fn delivered(&self) {
        let n = self.pending.get() - 1;
        self.pending.set(n);
        if n == 0 {
            self.joiners.wake_all();
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Workers finish the queued jobs, then exit without idling.
        let shared = self.shared();
        shared.lock().closed = true;
        shared.work.notify_all();
    }
}

/// A pool of OS worker threads for blocking work, used from greenlets:
/// the caller parks while its job runs, and the hub keeps serving the
/// other greenlets. See the [module docs](self).
///
/// Cloning the handle shares the pool. When the last handle (and the last
/// unfinished job) is gone, the workers finish the queued jobs and exit.
///
/// # Examples
///
/// ```
/// use gevent::threadpool::ThreadPool;
///
/// let pool = ThreadPool::new(4)?;
/// let squares = pool.map(1..=5u32, |x| x * x);
/// let squares: Vec<u32> = squares.into_iter().collect::<Result<_, _>>()?;
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    local: Rc<Local>,
}

fn zero_size() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a thread pool needs at least one worker (size 0 given)",
    )
}

impl ThreadPool {
    /// A pool of at most `size` worker threads, for this thread's hub.
    /// Workers start on demand, so an unused pool costs no thread.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `size` is 0; the hub's creation error if this
    /// thread has no hub yet and its loop cannot be created.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(8)?;
    /// assert_eq!((pool.size(), pool.thread_count()), (8, 0));
    /// assert!(gevent::threadpool::ThreadPool::new(0).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(size: usize) -> io::Result<ThreadPool> {
        if size == 0 {
            return Err(zero_size());
        }
        crate::try_get_hub()?;
        Ok(ThreadPool::create(size))
    }

    /// A pool of at most `size` (at least 1) workers for this thread's hub.
    fn create(size: usize) -> ThreadPool {
        ThreadPool {
            local: Rc::new(Local {
                shared: RefCell::new(Shared::new(size, DEFAULT_IDLE_TIMEOUT)),
                born: Cell::new(hub::fork_generation()),
                pending: Cell::new(0),
                joiners: WaitList::default(),
            }),
        }
    }

    /// Runs `f` on a worker thread; returns at once with the job's handle.
    /// The job waits in the queue while every worker is busy and no more
    /// may be started.
    ///
    /// `f` runs on a plain OS thread: blocking there is the point. It
    /// should not use greenlet operations (they would give the worker
    /// thread a hub of its own).
    ///
    /// If no worker thread can be started at all (the system refuses new
    /// threads), the handle gets `Err(Error::Killed(..))` saying so.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(2)?;
    /// let jobs: Vec<_> = (0..4u64).map(|i| pool.spawn(move || i * 10)).collect();
    /// let values: Vec<u64> = jobs.iter().map(|j| j.get().unwrap()).collect();
    /// assert_eq!(values, [0, 10, 20, 30]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<T, F>(&self, f: F) -> ThreadResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = Slot::<T>::new();
        let s = slot.clone();
        let local = self.local.clone();
        let completer = hub::completion(move |r: Option<Result<T, Error>>| {
            s.complete(r.unwrap_or_else(|| {
                Err(Error::killed(io::Error::other(
                    "the thread pool discarded the job: no worker thread could be started",
                )))
            }));
            local.delivered();
        });
        self.local.pending.set(self.local.pending.get() + 1);
        self.local
            .shared()
            .submit(Box::new(move |finishing: &AtomicUsize| {
                let r = match catch_unwind(AssertUnwindSafe(f)) {
                    Ok(v) => Ok(v),
                    Err(p) => {
                        let msg = hub::panic_message(&*p);
                        // A payload whose Drop panics must not kill the worker.
                        let _ = catch_unwind(AssertUnwindSafe(move || drop(p)));
                        Err(Error::Panicked(msg.into()))
                    }
                };
                finishing.fetch_add(1, Ordering::SeqCst);
                // Fails only once the hub is gone (its thread exited): then
                // nobody can be waiting for the result, which is dropped.
                let _ = completer.complete(r);
            }));
        ThreadResult::new(slot)
    }

    /// Runs `f` on a worker thread and waits for its value (spawn + get).
    ///
    /// # Errors
    ///
    /// `Error::Panicked(message)` if `f` panicked, or as for
    /// [`ThreadResult::get`].
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let text = pool.apply(|| std::fs::read_to_string("Cargo.toml").map(|s| s.len()))?;
    /// assert!(text? > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.spawn(f).get()
    }

    /// Runs `f` over every item on the workers (as many at once as the
    /// pool allows) and waits for all; returns the results in input order,
    /// each `Err(Error::Panicked(..))` where `f` panicked.
    ///
    /// Every item is queued at once; if waiting is impossible (say, called
    /// from the hub), the remaining entries hold that error.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(3)?;
    /// let r = pool.map(["1", "x", "3"], |s| s.parse::<u8>().unwrap());
    /// assert_eq!(r[0].as_ref().ok(), Some(&1));
    /// assert!(r[1].is_err());
    /// assert_eq!(r[2].as_ref().ok(), Some(&3));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn map<I, T, F>(&self, items: I, f: F) -> Vec<Result<T, Error>>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let jobs: Vec<ThreadResult<T>> = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.spawn(move || f(item))
            })
            .collect();
        jobs.iter().map(|j| j.get()).collect()
    }

    /// The most worker threads the pool runs at once.
    ///
    /// ```
    /// assert_eq!(gevent::threadpool::ThreadPool::new(3)?.size(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.local.shared().lock().size
    }

    /// Changes the most worker threads. Growing starts workers for queued
    /// jobs at once; shrinking lets surplus workers exit when they finish
    /// their current job (running jobs are never interrupted).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `size` is 0.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// pool.set_size(4)?;
    /// assert_eq!(pool.size(), 4);
    /// assert!(pool.set_size(0).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_size(&self, size: usize) -> io::Result<()> {
        if size == 0 {
            return Err(zero_size());
        }
        let shared = &self.local.shared();
        let mut q = shared.lock();
        q.size = size;
        if q.threads > size {
            drop(q);
            shared.work.notify_all();
        } else {
            let want = q.jobs.len().saturating_sub(q.idle);
            if want > 0 {
                shared.start_workers(q, want);
            }
        }
        Ok(())
    }

    /// How many worker threads are alive now (busy or idle).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(2)?;
    /// assert_eq!(pool.thread_count(), 0); // started on demand
    /// pool.apply(|| ())?;
    /// assert_eq!(pool.thread_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn thread_count(&self) -> usize {
        self.local.shared().lock().threads
    }

    /// Jobs submitted through this pool whose results have not been
    /// delivered yet (queued, running, or on their way back).
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// let job = pool.spawn(|| ());
    /// assert_eq!(pool.pending(), 1);
    /// job.wait()?;
    /// assert_eq!(pool.pending(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending(&self) -> usize {
        self.local.pending.get()
    }

    /// How long an idle worker waits for a job before it exits.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// assert_eq!(pool.idle_timeout(), gevent::threadpool::DEFAULT_IDLE_TIMEOUT);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn idle_timeout(&self) -> Duration {
        self.local.shared().lock().idle_timeout
    }

    /// Sets how long an idle worker waits for a job before it exits
    /// (counted from when it became idle; `Duration::ZERO` retires workers
    /// as soon as the queue is empty).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// pool.set_idle_timeout(Duration::from_millis(10));
    /// assert_eq!(pool.idle_timeout(), Duration::from_millis(10));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_idle_timeout(&self, timeout: Duration) {
        self.local.shared().lock().idle_timeout = timeout;
        self.local.shared().work.notify_all();
    }

    /// Waits until every job submitted through this pool has finished and
    /// its result has been delivered (jobs submitted meanwhile included).
    ///
    /// # Errors
    ///
    /// [`Error::BlockingInHub`] or [`Error::Unwinding`] if the caller
    /// cannot block.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(2)?;
    /// for _ in 0..4 {
    ///     pool.spawn(|| std::thread::sleep(std::time::Duration::from_millis(5)));
    /// }
    /// pool.join()?;
    /// assert_eq!(pool.pending(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.join_inner(None).map(|_| ())
    }

    /// Like [`join`](ThreadPool::join), at most `timeout`; returns whether
    /// all jobs were done.
    ///
    /// # Errors
    ///
    /// As for [`join`](ThreadPool::join).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent::threadpool::ThreadPool::new(1)?;
    /// pool.spawn(|| std::thread::sleep(Duration::from_millis(50)));
    /// assert!(!pool.join_timeout(Duration::ZERO)?);
    /// assert!(pool.join_timeout(Duration::from_secs(10))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.join_inner(Some(timeout))
    }

    fn join_inner(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if self.local.pending.get() == 0 {
            return Ok(true);
        }
        check_can_block()?;
        let cell = WakeCell::new_rc();
        let _reg = Registration::new(&self.local.joiners, &cell);
        let timer = park_timer(timeout, &cell)?;
        loop {
            if self.local.pending.get() == 0 {
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

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.local.shared();
        let q = shared.lock();
        f.debug_struct("ThreadPool")
            .field("size", &q.size)
            .field("threads", &q.threads)
            .field("idle", &q.idle)
            .field("queued", &q.jobs.len())
            .field("pending", &self.local.pending.get())
            .finish()
    }
}

/// Parses a pool size as given in `GEVENT_THREADPOOL_SIZE`: a positive
/// decimal integer (surrounding blanks allowed).
///
/// # Errors
///
/// `InvalidInput` naming the variable and the value, for anything else
/// (empty, not a number, zero).
///
/// ```
/// use gevent::threadpool::parse_size;
/// assert_eq!(parse_size(" 16 ")?, 16);
/// assert!(parse_size("0").is_err());
/// assert!(parse_size("lots").unwrap_err().to_string().contains("GEVENT_THREADPOOL_SIZE"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn parse_size(value: &str) -> io::Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{SIZE_ENV}={value:?} is not a valid thread pool size (a whole number of at least 1)"
            ),
        )),
    }
}

/// The size for a hub's default pool from `GEVENT_THREADPOOL_SIZE`:
/// [`DEFAULT_SIZE`] when unset.
///
/// # Errors
///
/// As for [`parse_size`] when the variable is set to an invalid value
/// (or is not Unicode).
///
/// ```
/// let n = gevent::threadpool::size_from_env()?;
/// assert!(n >= 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn size_from_env() -> io::Result<usize> {
    match std::env::var(SIZE_ENV) {
        Ok(v) => parse_size(&v),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_SIZE),
        Err(std::env::VarError::NotUnicode(v)) => parse_size(&v.to_string_lossy()),
    }
}

/// Runs `f` on the hub's default pool ([`Hub::threadpool`](crate::Hub::threadpool));
/// returns at once with the job's handle.
///
/// ```
/// let job = gevent::threadpool::spawn_blocking(|| std::env::current_dir());
/// assert!(job.get()?.is_ok());
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn spawn_blocking<T, F>(f: F) -> ThreadResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    crate::get_hub().threadpool().spawn(f)
}

/// Runs `f` on the hub's default pool and waits (cooperatively) for its
/// value: the way to call blocking code from a greenlet.
///
/// # Errors
///
/// `Error::Panicked(message)` if `f` panicked, or as for
/// [`ThreadResult::get`].
///
/// ```
/// use std::net::ToSocketAddrs;
/// let addrs = gevent::threadpool::run_blocking(|| {
///     ("localhost", 80).to_socket_addrs().map(|a| a.count())
/// })?;
/// assert!(addrs? >= 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_blocking(f).get()
}

thread_local! {
    /// This thread's hub's default pool, created on first use.
    static DEFAULT_POOL: OnceCell<ThreadPool> = const { OnceCell::new() };
}

/// The size for a default pool: from `GEVENT_THREADPOOL_SIZE`, an invalid
/// value printed once per process and replaced by [`DEFAULT_SIZE`].
fn default_size_lenient() -> usize {
    size_from_env().unwrap_or_else(|e| {
        static REPORTED: AtomicBool = AtomicBool::new(false);
        if !REPORTED.swap(true, Ordering::Relaxed) {
            eprintln!("gevent: {e}; using {DEFAULT_SIZE}");
        }
        DEFAULT_SIZE
    })
}

/// The default pool of this thread's hub, created with `size()` workers
/// at most on first use.
fn default_pool(size: fn() -> io::Result<usize>) -> io::Result<ThreadPool> {
    DEFAULT_POOL
        .try_with(|cell| {
            if let Some(p) = cell.get() {
                return Ok(p.clone());
            }
            let size = size()?;
            Ok(cell.get_or_init(|| ThreadPool::create(size)).clone())
        })
        .unwrap_or_else(|_| {
            // The thread is exiting and its default pool is gone: a
            // private pool for this last use.
            Ok(ThreadPool::create(size()?))
        })
}

impl Hub {
    /// The hub's default [`ThreadPool`], created on first use with
    /// `GEVENT_THREADPOOL_SIZE` workers at most (default 10). Each thread's
    /// hub has its own. If the variable is invalid, the error is printed on
    /// stderr (once) and the default size is used;
    /// [`try_threadpool`](Hub::try_threadpool) reports it instead. Its
    /// workers exit when idle for its idle timeout, or once the queue is
    /// drained after the thread exits.
    ///
    /// ```
    /// let pool = gevent::get_hub().threadpool();
    /// assert_eq!(pool.apply(|| 2 + 2)?, 4);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn threadpool(&self) -> ThreadPool {
        match default_pool(|| Ok(default_size_lenient())) {
            Ok(p) => p,
            // The size closure never fails.
            Err(_) => ThreadPool::create(DEFAULT_SIZE),
        }
    }

    /// Like [`threadpool`](Hub::threadpool), but an invalid
    /// `GEVENT_THREADPOOL_SIZE` is an error (and no pool is created).
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the variable and its value.
    ///
    /// ```
    /// let pool = gevent::get_hub().try_threadpool()?;
    /// assert!(pool.size() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_threadpool(&self) -> io::Result<ThreadPool> {
        default_pool(size_from_env)
    }
}
