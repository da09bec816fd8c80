//! Greenlets: stackful coroutines, all of one thread's on that thread, switched
//! by its [`Hub`](crate::Hub).
//!
//! A greenlet runs until it blocks (sleep, a socket read, a lock, a join...),
//! at which point it switches to the hub, which resumes whatever is ready.
//! [`spawn`] queues a new greenlet; it starts when the spawner blocks.
//!
//! * **Results**: [`Greenlet::get`] returns the value, or the failure as an
//!   [`Error`]: a panic (`Error::Panicked`, also printed to stderr as
//!   `<Greenlet "name"> failed with ...`), a kill (`Error::GreenletExit`,
//!   which is not a failure, or a custom `Error::Killed`), or an uncaught
//!   [`Timeout`](crate::Timeout).
//! * **Kill and Timeout** are delivered at the target's switch point by
//!   unwinding its stack with a private payload, so destructors run and
//!   sockets close. This needs `panic = "unwind"` (the default; do not set
//!   `panic = "abort"` in a profile that uses greenlets). Code that catches
//!   panics with `catch_unwind` inside a greenlet should re-raise payloads it
//!   does not recognise.
//! * **No switching while unwinding**: a blocking call made while the thread
//!   unwinds (say from a `Drop` during a kill) fails with `Error::Unwinding`
//!   instead of switching, because `std::thread::panicking()` is per thread.
//! * Handles are `!Send`: a greenlet lives and dies on its hub's thread.
//!
//! # Example
//!
//! ```
//! use gevent::{joinall, sleep, spawn};
//! use std::time::Duration;
//!
//! let jobs: Vec<_> = (1..=3)
//!     .map(|i| spawn(move || {
//!         sleep(Duration::from_millis(10 * (4 - i)));
//!         i * 10
//!     }))
//!     .collect();
//! joinall(&jobs, Some(Duration::from_secs(2)))?;
//! let values: Vec<_> = jobs.iter().map(|g| g.value()).collect();
//! assert_eq!(values, [Some(10), Some(20), Some(30)]);
//! # Ok::<(), gevent::Error>(())
//! ```

pub(crate) mod stack;
pub(crate) mod state;
pub(crate) mod switch;
pub(crate) mod valgrind;
mod waitable;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use crate::Error;
use crate::hub::{self, Ready, Waker, hub_inner, park};
use state::{DeathEntry, Outcome, Phase, State, Task, Throw};

pub use stack_info::DEFAULT_STACK_SIZE;

mod stack_info {
    /// The default usable stack size of a greenlet: 128 KiB. Stacks are
    /// reserved, not committed: a parked greenlet costs about one page of
    /// memory whatever this size. Change it per greenlet with
    /// [`Builder::stack_size`](crate::Builder::stack_size).
    ///
    /// ```
    /// // Deep recursion wants more; the builder sets it per greenlet.
    /// let g = gevent::Builder::new()
    ///     .stack_size(4 * gevent::DEFAULT_STACK_SIZE)
    ///     .spawn(|| "plenty of stack");
    /// assert_eq!(g.get()?, "plenty of stack");
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub const DEFAULT_STACK_SIZE: usize = super::stack::DEFAULT_STACK_SIZE;
}

/// `#[repr(C)]` with the state first: its hot fields sit right after the
/// `Rc` counts (see [`State`]).
#[repr(C)]
struct Inner<T> {
    state: State,
    func: Cell<Option<Box<dyn FnOnce() -> T>>>,
    value: RefCell<Option<T>>,
}

// SAFETY: `Inner` is `#[repr(C)]` with the state first, and `state`
// returns it.
unsafe impl<T: 'static> Task for Inner<T> {
    fn state(&self) -> &State {
        &self.state
    }
    fn run_body(&self) {
        if let Some(f) = self.func.take() {
            let v = f();
            *self.value.borrow_mut() = Some(v);
        }
    }
}

/// A greenlet producing a `T`: a handle to a lightweight, cooperatively
/// scheduled thread of execution. Cloning the handle shares the greenlet.
///
/// # Examples
///
/// ```
/// use gevent::Greenlet;
///
/// let g = Greenlet::spawn(|| 6 * 7);
/// assert_eq!(g.get()?, 42);
/// assert!(g.ready() && g.successful());
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// Handles are `!Send` (and `!Sync`): a greenlet lives and dies on its
/// hub's thread, so this does not compile:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: &T) {}
/// let g = gevent::spawn(|| 1);
/// assert_send(&g);
/// ```
pub struct Greenlet<T: 'static> {
    inner: Rc<Inner<T>>,
}

impl<T: 'static> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet {
            inner: self.inner.clone(),
        }
    }
}

/// An untyped greenlet handle: what [`getcurrent`] returns and what
/// [`Greenlet::handle`] gives, for code that does not care about the result type.
///
/// ```
/// let me = gevent::getcurrent();
/// println!("running in {me}");
/// ```
///
/// Like [`Greenlet`], it is `!Send`:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: &T) {}
/// assert_send(&gevent::getcurrent());
/// ```
#[derive(Clone)]
pub struct GreenletRef {
    task: Rc<dyn Task>,
}

/// Identifies a link added with [`Greenlet::link`], for [`Greenlet::unlink`].
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let g = gevent::spawn(|| 1);
/// let hits = Rc::new(Cell::new(0));
/// let (h1, h2) = (hits.clone(), hits.clone());
/// let keep = g.link(move |_| h1.set(h1.get() + 1));
/// let drop_it = g.link(move |_| h2.set(h2.get() + 10));
/// assert_ne!(keep, drop_it);
/// assert!(g.unlink(drop_it));
/// g.join()?;
/// gevent::sleep(std::time::Duration::ZERO); // links run in the hub
/// assert_eq!(hits.get(), 1);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(u64);

/// Configures a greenlet before spawning it: name and stack size.
///
/// # Examples
///
/// ```
/// let g = gevent::Builder::new().name("worker").stack_size(256 * 1024).spawn(|| 1);
/// assert_eq!(g.name(), "worker");
/// assert_eq!(g.to_string(), "<Greenlet \"worker\">");
/// g.join()?;
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the defaults (no name, [`DEFAULT_STACK_SIZE`]).
    ///
    /// ```
    /// let g = gevent::Builder::new().spawn(|| ());
    /// # g.join()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the greenlet (shown by Display and in failure reports).
    ///
    /// ```
    /// let g = gevent::Builder::new().name("fetch").build(|| ());
    /// assert_eq!(g.name(), "fetch");
    /// ```
    pub fn name<S: Into<String>>(mut self, name: S) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Sets the usable stack size in bytes (rounded up to whole pages).
    ///
    /// ```
    /// let g = gevent::Builder::new().stack_size(1 << 20).spawn(|| ());
    /// # g.join()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Creates the greenlet without starting it; see [`Greenlet::start`].
    ///
    /// ```
    /// let g = gevent::Builder::new().build(|| 5);
    /// assert!(!g.started());
    /// g.start();
    /// assert_eq!(g.get()?, 5);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    #[track_caller]
    pub fn build<T: 'static, F: FnOnce() -> T + 'static>(self, f: F) -> Greenlet<T> {
        let hub = hub_inner();
        let state = State::new(
            hub.next_id(),
            self.stack_size.unwrap_or(DEFAULT_STACK_SIZE).max(16 * 1024),
        );
        if let Some(n) = self.name {
            *state.name.borrow_mut() = Some(Rc::from(n));
        }
        state.spawned_at.set(Some(std::panic::Location::caller()));
        // SAFETY: with the hub created, CURRENT is the running greenlet.
        state.parent.set(unsafe { (*switch::current_ptr()).id });
        let inner = Rc::new(Inner {
            state,
            func: Cell::new(Some(Box::new(f))),
            value: RefCell::new(None),
        });
        if crate::events::has_subscribers() {
            spawned_event(&inner.state);
        }
        Greenlet { inner }
    }

    /// Creates and starts the greenlet.
    ///
    /// ```
    /// let g = gevent::Builder::new().name("x").spawn(|| "done");
    /// assert_eq!(g.get()?, "done");
    /// # Ok::<(), gevent::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(self, f: F) -> Greenlet<T> {
        let g = self.build(f);
        g.start();
        g
    }
}

/// Spawns a greenlet running `f`; it starts when the caller blocks.
///
/// # Examples
///
/// ```
/// let g = gevent::spawn(|| 1 + 1);
/// assert_eq!(g.get()?, 2);
/// # Ok::<(), gevent::Error>(())
/// ```
#[track_caller]
pub fn spawn<T: 'static, F: FnOnce() -> T + 'static>(f: F) -> Greenlet<T> {
    Builder::new().spawn(f)
}

/// Spawns a greenlet that starts after `delay`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent::spawn_later(Duration::from_millis(5), || "late");
/// assert!(!g.ready());
/// assert_eq!(g.get()?, "late");
/// # Ok::<(), gevent::Error>(())
/// ```
#[track_caller]
pub fn spawn_later<T: 'static, F: FnOnce() -> T + 'static>(delay: Duration, f: F) -> Greenlet<T> {
    let g = Builder::new().build(f);
    g.start_later(delay);
    g
}

/// A user-defined greenlet type with its own `run` and `Display`, the
/// counterpart of subclassing gevent's `Greenlet` (overriding `_run` and
/// `__str__`). Create it with [`Greenlet::from_run`] or [`spawn_run`].
///
/// # Examples
///
/// ```
/// use gevent::{Greenlet, GreenletRun};
/// use std::{fmt, time::Duration};
///
/// struct MyNoopGreenlet {
///     seconds: f64,
/// }
///
/// impl GreenletRun for MyNoopGreenlet {
///     type Output = ();
///     fn run(self) {
///         gevent::sleep(Duration::from_secs_f64(self.seconds));
///     }
/// }
///
/// impl fmt::Display for MyNoopGreenlet {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         write!(f, "MyNoopGreenlet({})", self.seconds)
///     }
/// }
///
/// let g = Greenlet::from_run(MyNoopGreenlet { seconds: 4.0 });
/// g.start();
/// g.kill()?;
/// assert!(g.dead());
/// assert_eq!(g.to_string(), "MyNoopGreenlet(4)");
/// # Ok::<(), gevent::Error>(())
/// ```
pub trait GreenletRun: fmt::Display + 'static {
    /// The greenlet's result type.
    type Output: 'static;
    /// The greenlet's body.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::{Greenlet, GreenletRun};
    /// struct Sum(Vec<u32>);
    /// impl GreenletRun for Sum {
    ///     type Output = u32;
    ///     fn run(self) -> u32 {
    ///         self.0.iter().sum()
    ///     }
    /// }
    /// impl std::fmt::Display for Sum {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         write!(f, "Sum of {} numbers", self.0.len())
    ///     }
    /// }
    /// let g = Greenlet::from_run(Sum(vec![1, 2, 3]));
    /// g.start();
    /// assert_eq!(g.get()?, 6);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    fn run(self) -> Self::Output;
}

/// Creates and starts a [`GreenletRun`] greenlet (gevent's `MyGreenlet.spawn(...)`).
///
/// ```
/// use gevent::GreenletRun;
/// struct Answer;
/// impl GreenletRun for Answer { type Output = u32; fn run(self) -> u32 { 42 } }
/// impl std::fmt::Display for Answer {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("Answer") }
/// }
/// assert_eq!(gevent::spawn_run(Answer).get()?, 42);
/// # Ok::<(), gevent::Error>(())
/// ```
#[track_caller]
pub fn spawn_run<R: GreenletRun>(r: R) -> Greenlet<R::Output> {
    let g = Greenlet::from_run(r);
    g.start();
    g
}

/// The running greenlet (the main greenlet outside any spawned one).
///
/// # Examples
///
/// ```
/// let g = gevent::Builder::new().name("me").spawn(|| gevent::getcurrent().name());
/// assert_eq!(g.get()?, "me");
/// assert_eq!(gevent::getcurrent().name(), "MainGreenlet");
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn getcurrent() -> GreenletRef {
    GreenletRef {
        task: hub::current_task(),
    }
}

/// Sleeps cooperatively: other greenlets run meanwhile. `sleep(0)` lets
/// every other ready greenlet run once and cannot starve timers or I/O.
///
/// If the caller cannot block (it is the hub, or the thread is unwinding),
/// this returns at once; [`try_sleep`] reports that instead.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// gevent::sleep(Duration::from_millis(10));
/// assert!(t.elapsed() >= Duration::from_millis(10));
/// ```
#[inline]
pub fn sleep(d: Duration) {
    // The zero test is inlined into the caller, so a `sleep(0)` loop keeps
    // only `yield_now`'s frame between the caller and the switch: with
    // thousands of greenlets ready, every frame on that path is a cache
    // line each resume has to fetch (issue 14).
    if d.is_zero() {
        let _ = hub::yield_now();
    } else {
        let _ = sleep_timer(d);
    }
}

/// Like [`sleep`], but reports why it could not block.
///
/// # Errors
///
/// [`Error::BlockingInHub`] or [`Error::Unwinding`].
///
/// # Examples
///
/// ```
/// gevent::try_sleep(std::time::Duration::ZERO)?;
/// # Ok::<(), gevent::Error>(())
/// ```
#[inline]
pub fn try_sleep(d: Duration) -> Result<(), Error> {
    if d.is_zero() {
        return hub::yield_now();
    }
    sleep_timer(d)
}

/// [`try_sleep`] for a non-zero duration, out of line (see [`sleep`]).
#[inline(never)]
fn sleep_timer(d: Duration) -> Result<(), Error> {
    hub::check_can_block()?;
    let hub = hub_inner();
    let waker = Waker::current();
    // libev times timers from its cached "now", which may be stale by the
    // time spent since the last poll; refresh it so the sleep is never short.
    hub.loop_().now_update();
    let t = crate::core::Timer::new(hub.loop_(), d, Duration::ZERO, move |_, _| {
        waker.wake();
    });
    t.start()
        .map_err(|e| Error::Panicked(e.to_string().into()))?;
    while t.is_active() {
        park()?;
    }
    Ok(())
}

/// Waits until the hub has nothing else to do (gevent's `idle()`).
///
/// # Errors
///
/// [`Error::BlockingInHub`] or [`Error::Unwinding`].
///
/// ```
/// gevent::idle()?;
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn idle() -> Result<(), Error> {
    hub::get_hub().wait_idle()
}

impl<T: 'static> Greenlet<T> {
    /// Creates a greenlet without starting it (gevent's `Greenlet(f)`).
    ///
    /// ```
    /// let g = gevent::Greenlet::new(|| 1);
    /// assert!(!g.started());
    /// ```
    #[track_caller]
    pub fn new<F: FnOnce() -> T + 'static>(f: F) -> Greenlet<T> {
        Builder::new().build(f)
    }

    /// Creates and starts a greenlet (gevent's `Greenlet.spawn`).
    ///
    /// ```
    /// assert_eq!(gevent::Greenlet::spawn(|| 3).get()?, 3);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F: FnOnce() -> T + 'static>(f: F) -> Greenlet<T> {
        spawn(f)
    }

    /// Creates an unstarted greenlet from a [`GreenletRun`] object; its
    /// Display is the object's.
    ///
    /// ```
    /// # use gevent::GreenletRun;
    /// # struct R; impl GreenletRun for R { type Output = (); fn run(self) {} }
    /// # impl std::fmt::Display for R { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("R") } }
    /// let g = gevent::Greenlet::from_run(R);
    /// assert_eq!(g.to_string(), "R");
    /// ```
    #[track_caller]
    pub fn from_run<R: GreenletRun<Output = T>>(r: R) -> Greenlet<T> {
        let text = r.to_string();
        let g = Builder::new().name(text.clone()).build(move || r.run());
        *g.inner.state.display.borrow_mut() = Some(Box::new(move |f: &mut fmt::Formatter<'_>| {
            f.write_str(&text)
        }));
        g
    }

    /// Schedules the greenlet to start (no-op if already started or dead).
    ///
    /// ```
    /// let g = gevent::Greenlet::new(|| 1);
    /// g.start();
    /// assert!(g.started());
    /// ```
    pub fn start(&self) {
        let s = &self.inner.state;
        if s.phase.get() != Phase::New {
            return;
        }
        s.phase.set(Phase::Scheduled);
        hub_inner().push(Ready::Start(self.inner.clone()));
    }

    /// Schedules the greenlet to start after `delay`.
    ///
    /// ```
    /// let g = gevent::Greenlet::new(|| 1);
    /// g.start_later(std::time::Duration::from_millis(1));
    /// assert_eq!(g.get()?, 1);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn start_later(&self, delay: Duration) {
        let s = &self.inner.state;
        if s.phase.get() != Phase::New {
            return;
        }
        s.phase.set(Phase::Scheduled);
        let task: Rc<dyn Task> = self.inner.clone();
        let weak = Rc::downgrade(&task);
        // As for sleep: libev's cached "now" may be stale, which would
        // start the greenlet early.
        hub_inner().loop_().now_update();
        let t = crate::core::Timer::new(hub_inner().loop_(), delay, Duration::ZERO, move |_, _| {
            if let Some(task) = weak.upgrade() {
                hub_inner().push(Ready::Start(task));
            }
        });
        if t.start().is_ok() {
            *s.start_timer.borrow_mut() = Some(t);
        }
        // Keep the greenlet alive until it starts or is killed.
        s.set_selfref(task);
    }

    /// The untyped handle.
    ///
    /// ```
    /// let g = gevent::spawn(|| ());
    /// let r: gevent::GreenletRef = g.handle();
    /// assert_eq!(r.id(), g.id());
    /// ```
    pub fn handle(&self) -> GreenletRef {
        GreenletRef {
            task: self.inner.clone(),
        }
    }

    /// Blocks until the greenlet finishes and returns its value (cloned).
    ///
    /// # Errors
    ///
    /// The greenlet's failure ([`Error::Panicked`], [`Error::GreenletExit`],
    /// [`Error::Killed`], [`Error::Timeout`]), or why waiting was
    /// impossible ([`Error::LoopExit`] and friends).
    ///
    /// ```
    /// let g = gevent::spawn(|| -> u8 { panic!("boom") });
    /// assert!(matches!(g.get(), Err(gevent::Error::Panicked(m)) if &*m == "boom"));
    /// ```
    pub fn get(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.join()?;
        self.result_now()
    }

    /// Like [`get`](Greenlet::get) but gives up after `timeout` with
    /// [`Error::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = gevent::spawn(|| gevent::sleep(Duration::from_secs(10)));
    /// assert!(g.get_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// g.kill()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Error>
    where
        T: Clone,
    {
        if !self.join_timeout(timeout)? {
            return Err(Error::Timeout);
        }
        self.result_now()
    }

    fn result_now(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        match &*self.inner.state.outcome.borrow() {
            Outcome::Pending => Err(Error::NotReady),
            Outcome::Failed(e) => Err(e.clone()),
            Outcome::Value => self.inner.value.borrow().clone().ok_or(Error::NotReady),
        }
    }

    /// Waits for the greenlet and moves its value out (later calls get
    /// `Err(Error::NotReady)`), for result types that are not `Clone`.
    ///
    /// # Errors
    ///
    /// As for [`get`](Greenlet::get).
    ///
    /// ```
    /// let g = gevent::spawn(|| vec![1, 2, 3]);
    /// assert_eq!(g.take()?, vec![1, 2, 3]);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn take(&self) -> Result<T, Error> {
        self.join()?;
        match &*self.inner.state.outcome.borrow() {
            Outcome::Failed(e) => Err(e.clone()),
            _ => self.inner.value.borrow_mut().take().ok_or(Error::NotReady),
        }
    }

    /// The value if the greenlet finished successfully, without blocking.
    ///
    /// ```
    /// let g = gevent::spawn(|| 1);
    /// assert_eq!(g.value(), None);
    /// g.join()?;
    /// assert_eq!(g.value(), Some(1));
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn value(&self) -> Option<T>
    where
        T: Clone,
    {
        self.inner.value.borrow().clone()
    }
}

/// The doc example of a method shared by [`Greenlet`] and [`GreenletRef`]:
/// `$setup` binds `g` (the documented type) to a greenlet that sleeps
/// 10 ms and returns 42, and `greenlet` to its typed handle; then `$body`.
macro_rules! greenlet_example {
    ($setup:literal, $body:literal) => {
        concat!(
            "# Examples\n\n```\n",
            "# use gevent::Error;\n",
            "# use std::time::Duration;\n",
            $setup,
            $body,
            "# Ok::<(), gevent::Error>(())\n",
            "```"
        )
    };
}

/// The operations that do not depend on the result type, shared by
/// [`Greenlet`] and [`GreenletRef`]. `$setup` makes the doc examples (see
/// `greenlet_example`).
macro_rules! untyped_methods {
    ($t:ident $(<$g:ident>)?, $task:ident => $get:expr, $st:expr, $setup:literal) => {
        impl$(<$g: 'static>)? $t$(<$g>)? {
            fn task_rc(&self) -> Rc<dyn Task> {
                let $task = self;
                $get
            }

            fn st(&self) -> &State {
                let $task = self;
                $st
            }

            /// A number unique among this thread's greenlets.
            ///
            #[doc = greenlet_example!($setup, "assert_ne!(g.id(), gevent::spawn(|| ()).id());\n")]
            pub fn id(&self) -> u64 {
                self.st().id
            }

            /// The name (`Greenlet-<id>` unless one was given).
            ///
            #[doc = greenlet_example!($setup, "assert_eq!(g.name(), format!(\"Greenlet-{}\", g.id()));\n")]
            pub fn name(&self) -> String {
                self.st().name()
            }

            /// Renames the greenlet.
            ///
            #[doc = greenlet_example!($setup, "g.set_name(\"worker\");\nassert_eq!(g.name(), \"worker\");\n")]
            pub fn set_name<S: Into<String>>(&self, name: S) {
                *self.st().name.borrow_mut() = Some(Rc::from(name.into()));
            }

            /// Whether it has been started (and may have finished).
            ///
            #[doc = greenlet_example!($setup, "assert!(g.started()); // spawn schedules it\nlet later = gevent::Greenlet::new(|| 1);\nassert!(!later.started());\n")]
            pub fn started(&self) -> bool {
                !matches!(self.st().phase.get(), Phase::New)
            }

            /// Whether it has finished, one way or another (gevent's `ready()`).
            ///
            #[doc = greenlet_example!($setup, "assert!(!g.ready());\ng.join()?;\nassert!(g.ready());\n")]
            pub fn ready(&self) -> bool {
                self.st().is_dead()
            }

            /// Same as [`ready`](Self::ready) (gevent's `dead`).
            ///
            #[doc = greenlet_example!($setup, "assert!(!g.dead());\ng.join()?;\nassert!(g.dead());\n")]
            pub fn dead(&self) -> bool {
                self.st().is_dead()
            }

            /// Whether it finished without failing; a greenlet killed with the
            /// default `GreenletExit` counts as successful.
            ///
            #[doc = greenlet_example!($setup, "g.join()?;\nassert!(g.successful());\nlet failed = gevent::spawn(|| -> i32 { panic!(\"boom\") });\nfailed.join()?;\nassert!(!failed.successful());\n")]
            pub fn successful(&self) -> bool {
                match &*self.st().outcome.borrow() {
                    Outcome::Value => true,
                    Outcome::Failed(Error::GreenletExit) => true,
                    _ => false,
                }
            }

            /// How it failed (gevent's `exception`): a panic, a custom kill
            /// error or an uncaught timeout. `None` while running, after a
            /// normal return, and after a plain [`kill`](Self::kill): as in
            /// gevent, `GreenletExit` is not an exception but the greenlet's
            /// value (see [`exited`](Self::exited)).
            ///
            #[doc = greenlet_example!($setup, "assert!(g.error().is_none());\nlet failed = gevent::spawn(|| -> i32 { panic!(\"boom\") });\nfailed.join()?;\nassert!(matches!(failed.error(), Some(Error::Panicked(_))));\ng.kill()?;\nassert!(g.error().is_none()); // GreenletExit is not an exception\n")]
            pub fn error(&self) -> Option<Error> {
                match &*self.st().outcome.borrow() {
                    Outcome::Failed(Error::GreenletExit) => None,
                    Outcome::Failed(e) => Some(e.clone()),
                    _ => None,
                }
            }

            /// Whether it ended with `GreenletExit` (a plain [`kill`](Self::kill)):
            /// gevent's `isinstance(g.value, GreenletExit)`. Such a greenlet
            /// is [`successful`](Self::successful), has no
            /// [`error`](Self::error), and `get()` reports the exit as
            /// `Err(Error::GreenletExit)` (it has no value of its type).
            ///
            #[doc = greenlet_example!($setup, "assert!(!g.exited());\ng.kill()?;\nassert!(g.exited());\nassert!(g.successful() && g.error().is_none());\n")]
            pub fn exited(&self) -> bool {
                matches!(&*self.st().outcome.borrow(), Outcome::Failed(Error::GreenletExit))
            }

            /// Same as [`error`](Self::error), gevent's name.
            ///
            #[doc = greenlet_example!($setup, "assert!(g.exception().is_none());\ng.kill_with(Error::killed(std::io::Error::other(\"stop\")))?;\nassert!(matches!(g.exception(), Some(Error::Killed(_))));\n")]
            pub fn exception(&self) -> Option<Error> {
                self.error()
            }

            /// Blocks until the greenlet finishes (however it ends).
            ///
            /// # Errors
            ///
            /// Only if waiting is impossible: [`Error::LoopExit`],
            /// [`Error::BlockingInHub`], [`Error::Unwinding`].
            ///
            #[doc = greenlet_example!($setup, "g.join()?;\nassert!(g.ready());\n")]
            pub fn join(&self) -> Result<(), Error> {
                join_task(&self.task_rc(), None).map(|_| ())
            }

            /// Blocks until the greenlet finishes or `timeout` passes; returns
            /// whether it finished.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            #[doc = greenlet_example!($setup, "assert!(!g.join_timeout(Duration::ZERO)?); // still sleeping\nassert!(g.join_timeout(Duration::from_secs(10))?);\n")]
            pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
                join_task(&self.task_rc(), Some(timeout))
            }

            /// Kills the greenlet with `GreenletExit` and waits for it to die.
            /// A greenlet that never started never runs; killing a dead one
            /// does nothing. Killing the running greenlet unwinds it at once.
            /// Otherwise the kill is raised at the greenlet's pending switch
            /// point, whatever it waits in (even a `sleep(0)` or a wait
            /// already woken): it never returns normally from there.
            ///
            /// The kill unwinds the greenlet's stack, so its destructors
            /// run during an unwind: a `Drop` that panics then **aborts the
            /// process** (Rust's rule for a panic while panicking). Keep
            /// destructors infallible and do fallible cleanup explicitly
            /// before dropping (see the crate docs, "Destructors must not
            /// panic").
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            #[doc = greenlet_example!($setup, "g.kill()?;\nassert!(g.dead());\nassert!(g.successful()); // GreenletExit is not a failure\ng.kill()?; // killing a dead greenlet does nothing\n")]
            pub fn kill(&self) -> Result<(), Error> {
                kill_task(&self.task_rc(), None, true, None)
            }

            /// Kills with a custom error: `get()` then returns
            /// `Err(Error::Killed(..))` and the failure is reported on stderr.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            #[doc = greenlet_example!($setup, "g.kill_with(Error::killed(std::io::Error::other(\"shutting down\")))?;\nassert!(matches!(g.error(), Some(Error::Killed(_))));\n")]
            pub fn kill_with(&self, error: Error) -> Result<(), Error> {
                kill_task(&self.task_rc(), Some(error), true, None)
            }

            /// Kills and waits at most `timeout` for the greenlet to die
            /// (it may run cleanup code that blocks); returns whether it died.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            #[doc = greenlet_example!($setup, "assert!(g.kill_timeout(Duration::from_secs(10))?);\nassert!(g.dead());\n")]
            pub fn kill_timeout(&self, timeout: Duration) -> Result<bool, Error> {
                kill_task(&self.task_rc(), None, true, Some(timeout))?;
                Ok(self.dead())
            }

            /// Kills without waiting (gevent's `kill(block=False)`); the
            /// greenlet dies at its next switch point.
            ///
            #[doc = greenlet_example!($setup, "g.kill_nowait();\ng.join()?;\nassert!(g.dead());\n")]
            pub fn kill_nowait(&self) {
                let _ = kill_task(&self.task_rc(), None, false, None);
            }

            /// The general form of kill: an optional custom error, whether to
            /// wait, and for how long.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            #[doc = greenlet_example!($setup, "g.kill_opts(None, true, Some(Duration::from_secs(10)))?;\nassert!(g.dead());\n")]
            pub fn kill_opts(&self, error: Option<Error>, block: bool, timeout: Option<Duration>) -> Result<(), Error> {
                kill_task(&self.task_rc(), error, block, timeout)
            }

            /// Removes a link added by one of the `link` methods; returns
            /// whether it was still there.
            ///
            #[doc = greenlet_example!($setup, "let id = greenlet.link(|_| unreachable!());\nassert!(g.unlink(id));\nassert!(!g.unlink(id)); // already removed\ng.join()?;\n")]
            pub fn unlink(&self, id: LinkId) -> bool {
                let mut v = self.st().on_death.borrow_mut();
                let before = v.len();
                v.retain(|(i, _)| *i != id.0);
                v.len() != before
            }
        }

        impl$(<$g: 'static>)? fmt::Display for $t$(<$g>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.st().describe(f)
            }
        }

        impl$(<$g: 'static>)? fmt::Debug for $t$(<$g>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.st().describe(f)?;
                write!(f, " ({:?})", self.st().phase.get())
            }
        }
    };
}

untyped_methods!(
    Greenlet<T>,
    g => g.inner.clone() as Rc<dyn Task>,
    &g.inner.state,
    "let g = gevent::spawn(|| {\n    gevent::sleep(Duration::from_millis(10));\n    42\n});\n# let greenlet = g.clone();\n"
);
untyped_methods!(
    GreenletRef,
    g => g.task.clone(),
    g.task.state(),
    "# let greenlet = gevent::spawn(|| {\n#     gevent::sleep(Duration::from_millis(10));\n#     42\n# });\nlet g = greenlet.handle(); // a GreenletRef\n"
);

impl GreenletRef {
    /// Crate-internal bookkeeping (pools): runs `f` when the greenlet dies,
    /// at once and in order with joiner wake-ups, before user links. `f`
    /// must neither block nor panic. Returns `None` (and drops `f`) if the
    /// greenlet is already dead. Remove it with [`unlink`](Self::unlink).
    pub(crate) fn on_death_inline(&self, f: Box<dyn FnOnce()>) -> Option<LinkId> {
        let s = self.task.state();
        if s.is_dead() {
            return None;
        }
        let id = s.next_link_id.get();
        s.next_link_id.set(id + 1);
        s.on_death.borrow_mut().push((id, DeathEntry::Inline(f)));
        Some(LinkId(id))
    }
}

impl<T: 'static> Greenlet<T> {
    fn add_link(&self, f: Box<dyn FnOnce()>) -> LinkId {
        let s = &self.inner.state;
        let id = s.next_link_id.get();
        s.next_link_id.set(id + 1);
        if s.is_dead() {
            // Already dead: run it soon, as gevent does.
            hub_inner().push(Ready::Call(f));
        } else {
            s.on_death.borrow_mut().push((id, DeathEntry::Link(f)));
        }
        LinkId(id)
    }

    /// Calls `f(&greenlet)` in the hub when the greenlet dies, however it
    /// dies (links run in the order they were added). `f` must not block;
    /// spawn a greenlet from it for that.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// let g = gevent::spawn(|| 1);
    /// g.link(move |g| s.set(g.successful()));
    /// g.join()?;
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn link<F: FnOnce(&Greenlet<T>) + 'static>(&self, f: F) -> LinkId {
        let g = self.clone();
        self.add_link(Box::new(move || f(&g)))
    }

    /// Like [`link`](Greenlet::link), only if it finished successfully.
    ///
    /// ```
    /// let g = gevent::spawn(|| 1);
    /// g.link_value(|g| println!("value {:?}", g.value()));
    /// g.join()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn link_value<F: FnOnce(&Greenlet<T>) + 'static>(&self, f: F) -> LinkId {
        self.link(move |g| {
            if g.successful() {
                f(g)
            }
        })
    }

    /// Like [`link`](Greenlet::link), only if it failed.
    ///
    /// ```
    /// let g = gevent::spawn(|| -> () { panic!("x") });
    /// g.link_exception(|g| println!("failed: {:?}", g.error()));
    /// g.join()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn link_exception<F: FnOnce(&Greenlet<T>) + 'static>(&self, f: F) -> LinkId {
        self.link(move |g| {
            if !g.successful() {
                f(g)
            }
        })
    }
}

/// Waits for `task` to die, at most `timeout`; returns whether it died.
fn join_task(task: &Rc<dyn Task>, timeout: Option<Duration>) -> Result<bool, Error> {
    let s = task.state();
    if s.is_dead() {
        return Ok(true);
    }
    hub::check_can_block()?;
    if Rc::ptr_eq(task, &hub::current_task()) {
        // Joining yourself would deadlock; gevent raises too.
        return Err(Error::LoopExit);
    }
    let waker = Waker::current();
    let id = s.next_link_id.get();
    s.next_link_id.set(id + 1);
    s.on_death
        .borrow_mut()
        .push((id, DeathEntry::Wake(waker.clone())));
    let timer = timeout.map(|d| {
        hub_inner().loop_().now_update();
        let w3 = waker.clone();
        let t = crate::core::Timer::new(hub_inner().loop_(), d, Duration::ZERO, move |_, _| {
            w3.wake();
        });
        let _ = t.start();
        t
    });
    let guard = UnlinkOnDrop { task, id };
    let result = loop {
        if s.is_dead() {
            break Ok(true);
        }
        if let Some(t) = &timer {
            if !t.is_active() {
                break Ok(false);
            }
        }
        if let Err(e) = park() {
            break Err(e);
        }
    };
    drop(guard);
    result
}

struct UnlinkOnDrop<'a> {
    task: &'a Rc<dyn Task>,
    id: u64,
}

impl Drop for UnlinkOnDrop<'_> {
    fn drop(&mut self) {
        self.task
            .state()
            .on_death
            .borrow_mut()
            .retain(|(i, _)| *i != self.id);
    }
}

fn kill_task(
    task: &Rc<dyn Task>,
    error: Option<Error>,
    block: bool,
    timeout: Option<Duration>,
) -> Result<(), Error> {
    let s = task.state();
    match s.phase.get() {
        Phase::Dead => return Ok(()),
        Phase::New | Phase::Scheduled => {
            fail_unstarted(task, error.unwrap_or(Error::GreenletExit));
            return Ok(());
        }
        _ => hub::throw(task, Throw::Kill(error)),
    }
    if block {
        join_task(task, timeout)?;
    }
    Ok(())
}

/// Kills every greenlet (each at its next switch point), then waits for
/// them if `block`, at most `timeout` in all.
///
/// # Errors
///
/// As for [`Greenlet::join`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let gs: Vec<_> = (0..3).map(|_| gevent::spawn(|| gevent::sleep(Duration::from_secs(60)))).collect();
/// gevent::sleep(Duration::ZERO);
/// gevent::killall(&gs, true, None)?;
/// assert!(gs.iter().all(|g| g.dead() && g.successful()));
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn killall<J: AsGreenlet>(
    greenlets: &[J],
    block: bool,
    timeout: Option<Duration>,
) -> Result<(), Error> {
    for g in greenlets {
        kill_task(&g.greenlet_ref().task, None, false, None)?;
    }
    if block {
        let deadline = timeout.map(|d| (crate::time::deadline_after(d), d));
        for g in greenlets {
            let left = deadline.map(|(dl, d)| crate::time::time_left(dl, d));
            if !join_task(&g.greenlet_ref().task, left)? {
                break;
            }
        }
    }
    Ok(())
}

/// Anything that names a greenlet: [`Greenlet`], [`GreenletRef`], or
/// references to them. Used by [`joinall`] and [`killall`].
///
/// # Examples
///
/// ```
/// use gevent::AsGreenlet;
/// // Typed greenlets and untyped handles mix in one wait.
/// let a = gevent::spawn(|| 1);
/// let b = gevent::spawn(|| "two").handle();
/// let all: Vec<&dyn AsGreenlet> = vec![&a, &b];
/// assert_eq!(all[0].greenlet_ref().id(), a.id());
/// gevent::joinall(&[a.greenlet_ref(), b.greenlet_ref()], None)?;
/// assert!(b.ready());
/// # Ok::<(), gevent::Error>(())
/// ```
pub trait AsGreenlet {
    /// The untyped handle of the greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::AsGreenlet;
    /// let g = gevent::spawn(|| 7);
    /// let r = g.greenlet_ref(); // untyped: no access to the value
    /// r.join()?;
    /// assert_eq!(g.get()?, 7);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    fn greenlet_ref(&self) -> GreenletRef;
}

impl<T: 'static> AsGreenlet for Greenlet<T> {
    fn greenlet_ref(&self) -> GreenletRef {
        self.handle()
    }
}

impl AsGreenlet for GreenletRef {
    fn greenlet_ref(&self) -> GreenletRef {
        self.clone()
    }
}

impl<J: AsGreenlet + ?Sized> AsGreenlet for &J {
    fn greenlet_ref(&self) -> GreenletRef {
        (**self).greenlet_ref()
    }
}

/// Waits for all greenlets, at most `timeout`; returns the indices of
/// those that finished, in completion order. gevent's `joinall`.
///
/// # Errors
///
/// As for [`Greenlet::join`].
///
/// # Examples
///
/// ```
/// let gs: Vec<_> = (0..3).map(|i| gevent::spawn(move || i)).collect();
/// let done = gevent::joinall(&gs, Some(std::time::Duration::from_secs(2)))?;
/// assert_eq!(done.len(), 3);
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn joinall<J: AsGreenlet>(
    greenlets: &[J],
    timeout: Option<Duration>,
) -> Result<Vec<usize>, Error> {
    let refs: Vec<GreenletRef> = greenlets.iter().map(AsGreenlet::greenlet_ref).collect();
    crate::wait(&refs, timeout, None)
}

/// Like [`joinall`], but stops at the first greenlet that failed and
/// returns its error (gevent's `joinall(raise_error=True)`).
///
/// # Errors
///
/// The first failure in completion order, or as for [`Greenlet::join`].
///
/// # Examples
///
/// ```
/// let gs = vec![gevent::spawn(|| -> u8 { panic!("bad") }), gevent::spawn(|| 1)];
/// assert!(matches!(gevent::joinall_raise(&gs, None), Err(gevent::Error::Panicked(_))));
/// ```
pub fn joinall_raise<J: AsGreenlet>(
    greenlets: &[J],
    timeout: Option<Duration>,
) -> Result<Vec<usize>, Error> {
    let refs: Vec<GreenletRef> = greenlets.iter().map(AsGreenlet::greenlet_ref).collect();
    let mut done = Vec::new();
    for r in crate::iwait(&refs, timeout) {
        let i = r?;
        let t = refs[i].task.clone();
        let failed = match &*t.state().outcome.borrow() {
            Outcome::Failed(Error::GreenletExit) => None,
            Outcome::Failed(e) => Some(e.clone()),
            _ => None,
        };
        if let Some(e) = failed {
            return Err(e);
        }
        done.push(i);
    }
    Ok(done)
}

// ---------------------------------------------------------------------------
// Life and death, called by the hub and the switch code.

/// Marks a greenlet that never ran as dead with `error`; its links fire.
pub(crate) fn fail_unstarted(task: &Rc<dyn Task>, error: Error) {
    let s = task.state();
    // Reported like any other failure (gevent does too): a custom kill
    // error, or a stack that could not be allocated.
    report_failure(s, &error);
    s.phase.set(Phase::Dead);
    *s.outcome.borrow_mut() = Outcome::Failed(error);
    let timer = s.start_timer.borrow_mut().take();
    drop(timer);
    let selfref = s.take_selfref();
    schedule_death_callbacks(s);
    drop(selfref);
}

/// Wakes joiners and runs internal notifications at once, in order, and
/// queues the user's links to run in the hub (they may be arbitrary code).
fn schedule_death_callbacks(s: &State) {
    let entries = std::mem::take(&mut *s.on_death.borrow_mut());
    if entries.is_empty() {
        return;
    }
    let mut links = Vec::new();
    for (_, e) in entries {
        match e {
            DeathEntry::Wake(w) => {
                w.wake();
            }
            DeathEntry::Inline(f) => f(),
            DeathEntry::Link(f) => links.push(f),
        }
    }
    if links.is_empty() {
        return;
    }
    hub_inner().push(Ready::Call(Box::new(move || {
        for cb in links {
            if let Err(p) = catch_unwind(AssertUnwindSafe(cb)) {
                eprintln!(
                    "gevent: a greenlet link panicked: {}",
                    hub::panic_message(&*p)
                );
            }
        }
    })));
}

/// Runs a started greenlet's body on its own stack, records the outcome,
/// reports failures and schedules its links. Every value it creates is
/// dropped before it returns.
pub(crate) fn run_started(state: &State) {
    let task = state
        .selfref()
        .expect("a starting greenlet holds its own reference");
    *state.start_timer.borrow_mut() = None;
    let result = catch_unwind(AssertUnwindSafe(|| task.run_body()));
    let outcome = match result {
        Ok(()) => Outcome::Value,
        Err(payload) => match payload.downcast::<Throw>() {
            Ok(t) => match *t {
                Throw::Kill(None) => Outcome::Failed(Error::GreenletExit),
                Throw::Kill(Some(e)) => Outcome::Failed(e),
                Throw::Timeout(_, e) => Outcome::Failed(e),
            },
            Err(p) => Outcome::Failed(Error::Panicked(hub::panic_message(&*p).into())),
        },
    };
    if let Outcome::Failed(e) = &outcome {
        report_failure(state, e);
    }
    // Greenlet-local values die with the greenlet, on its own stack.
    let locals = std::mem::take(&mut *state.locals.borrow_mut());
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(locals))) {
        eprintln!(
            "gevent: dropping a greenlet-local value panicked: {}",
            hub::panic_message(&*p)
        );
    }
    *state.outcome.borrow_mut() = outcome;
    state.phase.set(Phase::Dead);
    hub_inner().greenlet_finished(state);
    schedule_death_callbacks(state);
    drop(task);
}

struct Describe<'a>(&'a State);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(f)
    }
}

fn report_failure(state: &State, e: &Error) {
    let what = match e {
        Error::GreenletExit => return,
        Error::Panicked(m) => format!("panic: {m}"),
        Error::Killed(k) => k.to_string(),
        Error::Timeout => "Timeout".to_string(),
        other => other.to_string(),
    };
    eprintln!("{} failed with {what}", Describe(state));
}

/// Tells the events subscribers about a new greenlet (out of line: only
/// when someone subscribed).
#[cold]
#[inline(never)]
fn spawned_event(s: &State) {
    if let Some(at) = s.spawned_at.get() {
        crate::events::notify(&crate::events::Event::GreenletSpawned {
            id: s.id,
            name: s.name.borrow().as_ref().map(|n| n.to_string()),
            spawned_at: at,
            parent: s.parent.get(),
        });
    }
}
