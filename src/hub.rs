//! [`Hub`]: the per-thread scheduler that runs the event loop.
//!
//! Every OS thread that uses greenlets gets one hub, created on first use
//! (like gevent's `get_hub()`): a [`Loop`](crate::core::Loop) — the default
//! loop on the main thread, a new loop elsewhere — plus the hub greenlet
//! that runs it. The thread's own stack is the *main greenlet*: a blocking
//! call there switches to the hub, so `fn main` needs no `run()` ceremony.
//!
//! The hub alternates between two things: it resumes greenlets that were
//! woken and runs queued callbacks (in FIFO order, only those queued before
//! the round began, so a `sleep(0)` loop cannot starve anything), and it
//! polls libev (without blocking while work is queued, and at least every
//! few rounds, so timers and I/O are never starved either).
//!
//! When every greenlet waits and nothing in the loop can wake any of them,
//! the main greenlet's blocking call fails with [`Error::LoopExit`] instead
//! of hanging.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use crate::Error;
use crate::core::{Async, AsyncSender, Backend, Loop};
use crate::greenlet::state::{Phase, State, Task, Throw, WakeReason, state_of};
use crate::greenlet::{self, stack::GreenletStack, switch};

/// Poll libev at least once every this many scheduling rounds.
const POLL_EVERY_ROUNDS: u32 = 16;

/// How many times greenlets may hand over directly to the next ready
/// greenlet (without a trip through the hub) in one scheduling round
/// before the hub must run and poll libev. Bounds how long a `sleep(0)`
/// loop can delay timers and I/O.
const DIRECT_BUDGET: u32 = 256;

/// From how many queued entries on the scheduler prefetches the next
/// greenlet's state and stack top (see `prefetch_ahead`). Below it, what
/// the queued greenlets touch (a few lines each) stays in the L1/L2 caches.
const PREFETCH_MIN_READY: usize = 32;

mod remote;
use remote::Remote;
pub(crate) use remote::{Backoff, RemoteHub, completion, spin_until};
pub(crate) use remote::{RemoteWaker, WakeRegistration, remote_waker};

pub(crate) enum Ready {
    /// Resume a woken greenlet. The second field is where its stack's top
    /// was when it switched away ([`State::sp_hint`]), carried in the
    /// entry so that the scheduler can prefetch that stack while the
    /// greenlet ahead of it runs, without reading the state first.
    Resume(Rc<dyn Task>, usize),
    /// Start a spawned greenlet.
    Start(Rc<dyn Task>),
    /// Run a callback on the hub.
    Call(Box<dyn FnOnce()>),
}

#[allow(dead_code)] // the remote fields serve the thread pool and resolver
pub(crate) struct HubInner {
    lp: Loop,
    ready: RefCell<VecDeque<Ready>>,
    main: Rc<dyn Task>,
    hub: Rc<dyn Task>,
    /// The inbox, its async watcher and that watcher's sender. Replaced in
    /// a forked child (see [`HubInner::renew_remote`]).
    remote: RefCell<Arc<Remote>>,
    /// The fork generation `remote` belongs to.
    remote_born: Cell<u64>,
    /// The vector the inbox is drained into, kept for its capacity.
    remote_spare: remote::Spare,
    /// Whether spinning for remote results pays (see `remote::Backoff`).
    remote_spin: RefCell<remote::Backoff>,
    remote_watcher: RefCell<Async>,
    remote_sender: RefCell<AsyncSender>,
    /// Operations from other threads still expected back (thread pool jobs):
    /// while positive, the remote watcher keeps the loop alive.
    remote_pending: Cell<usize>,
    rounds_since_poll: Cell<u32>,
    /// Direct handoffs left before the hub must poll (see DIRECT_BUDGET).
    budget: Cell<u32>,
    /// Greenlets started and not yet finished; the hub is torn down at
    /// thread exit only when this is zero.
    live: Cell<usize>,
    next_id: Cell<u64>,
    /// The started, unfinished greenlets: an intrusive list through their
    /// states (`live_prev`/`live_next`), for `monitor::run_info`. A state
    /// is linked from its start (when it holds its self-reference) until
    /// `greenlet_finished`, so every linked pointer is valid.
    live_head: Cell<*const State>,
    /// What the blocking monitor reads: the cycle counter this hub bumps.
    pub(crate) monitor: Arc<crate::monitor::HubSlot>,
}

/// The main and hub greenlets: states with no body.
#[repr(C)]
struct Special {
    state: State,
}

// SAFETY: `#[repr(C)]` with the state first (its only field), returned
// by `state`.
unsafe impl Task for Special {
    fn state(&self) -> &State {
        &self.state
    }
    fn run_body(&self) {}
}

/// Tears the hub down when its thread exits, so that threads that used
/// greenlets do not leak their loop's file descriptors and stacks.
///
/// Only done when no started greenlet is still unfinished: a greenlet
/// parked forever keeps everything (its stack may reference the loop), and
/// then the hub is leaked, as gevent leaks a hub whose greenlets never end.
struct HubGuard;

impl Drop for HubGuard {
    fn drop(&mut self) {
        let p = HUB.with(|h| h.get());
        if p.is_null() {
            return;
        }
        // SAFETY: hubs are leaked until here, so `p` is valid.
        let hub = unsafe { &*p };
        let on_main = std::ptr::eq(switch::current_ptr(), hub.main.state());
        if hub.live.get() != 0 || !on_main {
            return;
        }
        HUB.with(|h| h.set(std::ptr::null()));
        switch::set_current(std::ptr::null());
        crate::greenlet::stack::leave();
        // The hub greenlet is suspended between rounds (never inside
        // ev_run, which only wakes greenlets through the queue) and will
        // never be resumed: release its stack without unwinding it (what
        // its frames reference is simply leaked), break the self-reference
        // cycles, and drop the hub, which destroys the loop once no watcher
        // keeps it alive.
        drop(hub.ready.borrow_mut().drain(..).collect::<Vec<_>>());
        drop(hub.hub.state().take_stack());
        drop(hub.hub.state().take_selfref());
        drop(hub.main.state().take_selfref());
        // SAFETY: `p` came from Box::leak in `create`; HUB no longer points
        // at it and no greenlet of this thread can run again.
        drop(unsafe { Box::from_raw(p as *mut HubInner) });
    }
}

/// A hub's inbox for other threads and the started async watcher (not
/// keeping the loop alive) that drains it on the hub.
fn new_remote(lp: &Loop) -> std::io::Result<(Arc<Remote>, Async, AsyncSender)> {
    let remote = Arc::new(Remote::new());
    let watcher = Async::new(lp, move |_, _| {
        if let Some(h) = existing_hub() {
            h.drain_remote();
        }
    });
    watcher.start()?;
    watcher.set_keepalive(false);
    let sender = watcher.sender();
    Ok((remote, watcher, sender))
}

/// Set in a forked child (by a `pthread_atfork` hook): the hub's loop must
/// re-create its kernel state (epoll fd, io_uring, ...) before it polls.
static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Bumped in every forked child (same hook): state that lives in other
/// threads (thread pools, the process reaper, the monitor) compares it to
/// notice that those threads are gone.
static FORK_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn mark_forked() {
    FORKED.store(true, std::sync::atomic::Ordering::Relaxed);
    FORK_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many forks this process descends from (since the first hub).
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

/// Registers the fork hook once per process.
pub(crate) fn install_fork_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers an async-signal-safe function (one atomic
        // store) to run in the child after fork().
        unsafe { libc::pthread_atfork(None, None, Some(mark_forked)) };
    });
}

thread_local! {
    static HUB: Cell<*const HubInner> = const { Cell::new(std::ptr::null()) };
    static HUB_GUARD: HubGuard = const { HubGuard };
    /// The backend chosen with `set_hub_backend` before the hub was created.
    static REQUESTED_BACKEND: Cell<Option<Backend>> = const { Cell::new(None) };
}

/// Chooses the libev backend of this thread's hub, overriding
/// `LIBEV_FLAGS`/`GEVENT_BACKEND`. Must be called before the thread's hub
/// exists (before any greenlet operation on this thread).
///
/// # Errors
///
/// `ErrorKind::AlreadyExists` if the hub already exists; the hub's loop is
/// created right away, so an unusable backend gives `Unsupported` here.
///
/// # Examples
///
/// ```
/// use gevent::core::Backend;
/// std::thread::spawn(|| {
///     gevent::set_hub_backend(Backend::Poll)?;
///     assert_eq!(gevent::get_hub().loop_().backend(), Backend::Poll);
///     Ok::<(), std::io::Error>(())
/// }).join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_hub_backend(backend: Backend) -> std::io::Result<()> {
    if existing_hub().is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "this thread's hub already exists; choose its backend before the first greenlet operation",
        ));
    }
    REQUESTED_BACKEND.with(|b| b.set(Some(backend)));
    match try_get_hub() {
        Ok(_) => Ok(()),
        Err(e) => {
            REQUESTED_BACKEND.with(|b| b.set(None));
            Err(e)
        }
    }
}

/// Runs `f` on a new OS thread whose hub uses `backend`, and returns its
/// result: the way to run the same code (a test, say) on every backend.
///
/// # Errors
///
/// `Unsupported` if this machine cannot use `backend`.
///
/// # Panics
///
/// Resumes a panic raised by `f`.
///
/// # Examples
///
/// ```
/// use gevent::core::Loop;
/// for b in Loop::usable_backends().iter() {
///     let name = gevent::run_on_backend(b, || {
///         gevent::sleep(std::time::Duration::from_millis(1));
///         gevent::get_hub().loop_().backend().name()
///     })?;
///     assert_eq!(name, b.name());
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_on_backend<T, F>(backend: Backend, f: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let h = std::thread::Builder::new()
        .name(format!("gevent-{backend}"))
        .spawn(move || -> std::io::Result<T> {
            set_hub_backend(backend)?;
            Ok(f())
        })?;
    match h.join() {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// A handle to this thread's hub. Cheap to clone; `!Send`.
///
/// # Examples
///
/// ```
/// let hub = gevent::get_hub();
/// println!("the hub runs a {} loop", hub.loop_().backend());
/// hub.run_callback(|| println!("runs in the hub, soon"));
/// gevent::sleep(std::time::Duration::ZERO);
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: &'static HubInner,
}

/// This thread's hub, created on first use.
///
/// # Panics
///
/// If the thread's event loop cannot be created (for example `LIBEV_FLAGS`
/// asks for a backend this machine lacks); use [`try_get_hub`] to get the
/// error instead.
///
/// # Examples
///
/// ```
/// let lp = gevent::get_hub().loop_().clone();
/// assert!(lp.now() > 0.0);
/// ```
pub fn get_hub() -> Hub {
    match try_get_hub() {
        Ok(h) => h,
        Err(e) => panic!("gevent: cannot create the hub's event loop: {e}"),
    }
}

/// This thread's hub, created on first use.
///
/// # Errors
///
/// The event loop's creation error (an unusable backend requested through
/// `LIBEV_FLAGS` or `GEVENT_BACKEND`).
///
/// # Examples
///
/// ```
/// let hub = gevent::try_get_hub()?;
/// # let _ = hub;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn try_get_hub() -> std::io::Result<Hub> {
    let p = HUB.with(|h| h.get());
    if !p.is_null() {
        // SAFETY: hubs are leaked, so the pointer is valid for the thread's life.
        return Ok(Hub {
            inner: unsafe { &*p },
        });
    }
    let inner = HubInner::create()?;
    HUB.with(|h| h.set(inner as *const HubInner));
    Ok(Hub { inner })
}

/// The hub if this thread has one.
pub(crate) fn existing_hub() -> Option<&'static HubInner> {
    let p = HUB.with(|h| h.get());
    // SAFETY: as in try_get_hub.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// This thread's hub, created on first use (the hot path: one TLS read).
#[inline]
pub(crate) fn hub_inner() -> &'static HubInner {
    let p = HUB.with(|h| h.get());
    if p.is_null() {
        return hub_inner_slow();
    }
    // SAFETY: hubs are leaked, so the pointer is valid for the thread's life.
    unsafe { &*p }
}

#[cold]
#[inline(never)]
fn hub_inner_slow() -> &'static HubInner {
    get_hub().inner
}

fn is_main_thread() -> bool {
    std::thread::current().name() == Some("main")
}

#[allow(dead_code)] // remote_* serve the thread pool and resolver
impl HubInner {
    fn create() -> std::io::Result<&'static HubInner> {
        let lp = if let Some(b) = REQUESTED_BACKEND.with(|b| b.get()) {
            Loop::with_backend(b)?
        } else if is_main_thread() {
            match Loop::default_loop() {
                Ok(lp) => lp,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Loop::new()?,
                Err(e) => return Err(e),
            }
        } else {
            Loop::new()?
        };
        let main: Rc<dyn Task> = Rc::new(Special {
            state: State::new(0, 0),
        });
        *main.state().name.borrow_mut() = Some(Rc::from("MainGreenlet"));
        main.state().phase.set(Phase::Running);
        main.state().set_selfref(main.clone());
        let hub: Rc<dyn Task> = Rc::new(Special {
            state: State::new(u64::MAX, crate::greenlet::stack::DEFAULT_STACK_SIZE),
        });
        *hub.state().name.borrow_mut() = Some(Rc::from("Hub"));
        hub.state().set_selfref(hub.clone());
        let (remote, remote_watcher, remote_sender) = new_remote(&lp)?;
        let inner = Box::leak(Box::new(HubInner {
            lp,
            ready: RefCell::new(VecDeque::new()),
            main,
            hub,
            remote: RefCell::new(remote),
            remote_born: Cell::new(fork_generation()),
            remote_spare: Default::default(),
            remote_spin: Default::default(),
            remote_watcher: RefCell::new(remote_watcher),
            remote_sender: RefCell::new(remote_sender),
            remote_pending: Cell::new(0),
            rounds_since_poll: Cell::new(0),
            budget: Cell::new(DIRECT_BUDGET),
            live: Cell::new(0),
            next_id: Cell::new(1),
            live_head: Cell::new(std::ptr::null()),
            monitor: crate::monitor::register_hub(),
        }));
        // Tells the blocking monitor when the loop waits in the kernel
        // (idle, not blocked).
        // SAFETY: valid loop; the callbacks only store atomics.
        unsafe {
            libev_sys::ev_set_loop_release_cb(
                inner.lp.as_ptr(),
                Some(crate::monitor::loop_release),
                Some(crate::monitor::loop_acquire),
            )
        };
        switch::set_current(inner.main.state() as *const State);
        // Registers the teardown at thread exit (a no-op if the thread's
        // TLS is already being destroyed: then the hub is simply leaked).
        let _ = HUB_GUARD.try_with(|_| {});
        install_fork_hook();
        Ok(inner)
    }

    pub(crate) fn loop_(&self) -> &Loop {
        &self.lp
    }

    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// The main greenlet, the hub and every started, unfinished greenlet
    /// (for `monitor::run_info`), most recently started first.
    pub(crate) fn live_greenlets(&self) -> Vec<Rc<dyn Task>> {
        let mut out = vec![self.main.clone(), self.hub.clone()];
        let mut p = self.live_head.get();
        while !p.is_null() {
            // SAFETY: linked states are alive (see `live_head`).
            let s = unsafe { &*p };
            out.extend(s.selfref());
            p = s.live_next.get();
        }
        out
    }

    pub(crate) fn push(&self, r: Ready) {
        self.ready.borrow_mut().push_back(r);
    }

    pub(crate) fn hub_state(&self) -> &State {
        self.hub.state()
    }

    pub(crate) fn main_state(&self) -> &State {
        self.main.state()
    }

    /// Switches from the running greenlet to the hub, starting the hub
    /// greenlet the first time.
    fn switch_to_hub(&self, from: &State) {
        let hub = self.hub.state();
        if hub.ctx_is_empty() && hub.stack_ref().is_none() {
            match GreenletStack::new(hub.stack_size) {
                Ok(stack) => {
                    stack.set_label("Hub");
                    switch::prepare_with(hub, &stack, hub_entry);
                    hub.set_stack(stack);
                }
                Err(e) => panic!("gevent: cannot allocate the hub's stack: {e}"),
            }
        }
        // SAFETY: `from` is running, the hub is suspended; both are alive
        // (self-references).
        unsafe { switch::switch(from, hub) };
    }

    /// One scheduling round plus, when due, a libev poll. Runs on the hub.
    fn run_round(&self) {
        // Results from other threads (see `remote`): one atomic load when
        // there are none.
        self.renew_remote();
        self.drain_remote();
        self.monitor.tick();
        // A fresh hand-off budget for this round: the greenlets resumed
        // below hand over to each other directly (one context switch each,
        // not two through the hub) until it runs out; then the round ends
        // and the loop is polled. As many hand-offs as entries queued now
        // (at least DIRECT_BUDGET): a poll costs a system call, so it is
        // spread over one pass through the queue, which is also how long a
        // round delayed timers and I/O before. (Refilling the budget only
        // after the round, as before, sent every switch of a round through
        // the hub: with 1,000 ready greenlets, 94% of them.)
        let n = self.ready.borrow().len();
        self.budget
            .set(DIRECT_BUDGET.max(u32::try_from(n).unwrap_or(u32::MAX)));
        for _ in 0..n {
            if self.budget.get() == 0 {
                break;
            }
            let item = {
                let mut q = self.ready.borrow_mut();
                let item = q.pop_front();
                prefetch_ahead(&q);
                item
            };
            match item {
                Some(Ready::Resume(t, _)) => self.resume(t),
                Some(Ready::Start(t)) => self.start(t),
                Some(Ready::Call(f)) => run_guarded(f, "a hub callback"),
                None => break,
            }
        }
        let mut idle = self.ready.borrow().is_empty();
        if idle
            && self.remote_pending.get() > 0
            && self
                .remote_spin
                .borrow_mut()
                .spin(remote::HUB_SPIN, || self.remote.borrow().has_pending())
        {
            // A result from another thread came while spinning: take it
            // without a trip through the poll.
            self.drain_remote();
            idle = self.ready.borrow().is_empty();
        }
        let rounds = self.rounds_since_poll.get() + 1;
        let exhausted = self.budget.get() == 0;
        if idle || exhausted || rounds >= POLL_EVERY_ROUNDS {
            self.rounds_since_poll.set(0);
            let mut flags = if idle {
                libev_sys::EVRUN_ONCE
            } else {
                libev_sys::EVRUN_NOWAIT
            };
            if FORKED.load(std::sync::atomic::Ordering::Relaxed) {
                self.after_fork();
                // libev re-creates its wake-up pipe in this iteration and
                // queues a check of every async watcher, but runs that
                // check only after the poll. A send absorbed by the flags
                // copied from the parent (an async pending there at the
                // fork) would then wait out the whole poll timeout: poll
                // without blocking once, so the check runs now.
                flags = libev_sys::EVRUN_NOWAIT;
            }
            // SAFETY: the hub's loop pointer is valid; callbacks catch panics.
            let active = unsafe { libev_sys::ev_run(self.lp.as_ptr(), flags as i32) } != 0;
            if let Some(p) = self.lp.take_panic() {
                report_panic("a watcher callback", &*p);
            }
            if !active && self.ready.borrow().is_empty() {
                self.loop_exit();
            }
        } else {
            self.rounds_since_poll.set(rounds);
        }
    }

    /// In a forked child: `ev_loop_fork`, so the loop rebuilds its kernel
    /// state (the parent's epoll/io_uring instance must not be shared).
    /// Only the thread that called fork() exists in the child, so this is
    /// the one hub that can still run.
    fn after_fork(&self) {
        FORKED.store(false, std::sync::atomic::Ordering::Relaxed);
        self.lp.loop_fork();
    }

    /// Nothing can wake anyone: tell the main greenlet (gevent's LoopExit).
    fn loop_exit(&self) {
        let main = self.main.state();
        if main.phase.get() == Phase::Parked {
            main.wake_reason.set(WakeReason::LoopExit);
            main.phase.set(Phase::Ready);
            main.park_seq.set(main.park_seq.get() + 1);
            self.push(Ready::Resume(self.main.clone(), main.sp_hint.get()));
        } else {
            // The main greenlet is not waiting (cannot normally happen):
            // sleep briefly rather than spin.
            crate::core::Loop::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn resume(&self, t: Rc<dyn Task>) {
        if state_of(&t).phase.get() != Phase::Ready {
            return;
        }
        self.switch_into(state_of(&self.hub), t, false);
    }

    fn start(&self, t: Rc<dyn Task>) {
        if state_of(&t).phase.get() != Phase::Scheduled {
            return;
        }
        self.switch_into(state_of(&self.hub), t, true);
    }

    /// Gives a scheduled greenlet its stack and initial context. Returns
    /// false (after marking it dead) if no stack could be had.
    ///
    /// Out of line: inlined, its locals would enlarge the frame of
    /// [`switch_into`](Self::switch_into), which every parked greenlet
    /// keeps on its stack.
    #[inline(never)]
    fn prepare_start(&self, t: &Rc<dyn Task>) -> bool {
        let s = t.state();
        let stack = match GreenletStack::new(s.stack_size) {
            Ok(st) => st,
            Err(e) => {
                greenlet::fail_unstarted(
                    t,
                    Error::Panicked(format!("cannot allocate a stack: {e}").into()),
                );
                return false;
            }
        };
        match &*s.name.borrow() {
            Some(n) => stack.set_label(n),
            None => {
                // "Greenlet-<id>" without the formatting machinery: this
                // runs for every greenlet start.
                let mut buf = [0u8; 32];
                buf[..9].copy_from_slice(b"Greenlet-");
                let mut digits = [0u8; 20];
                let (mut n, mut k) = (s.id, digits.len());
                loop {
                    k -= 1;
                    digits[k] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                let len = 9 + digits.len() - k;
                buf[9..len].copy_from_slice(&digits[k..]);
                stack.set_label(std::str::from_utf8(&buf[..len]).unwrap_or("Greenlet"));
            }
        }
        switch::prepare(s, &stack);
        s.set_stack(stack);
        s.set_selfref(t.clone());
        self.live.set(self.live.get() + 1);
        // Progress for the blocking monitor (starts happen without hub
        // rounds when greenlets hand over directly).
        self.monitor.tick();
        // Link at the head of the live list.
        let head = self.live_head.get();
        s.live_prev.set(std::ptr::null());
        s.live_next.set(head);
        if !head.is_null() {
            // SAFETY: linked states are alive (see `live_head`).
            unsafe { (*head).live_prev.set(s) };
        }
        self.live_head.set(s);
        true
    }

    /// The started greenlet `s` finished (it still runs, on its stack).
    pub(crate) fn greenlet_finished(&self, s: &State) {
        self.live.set(self.live.get().saturating_sub(1));
        let (prev, next) = (s.live_prev.get(), s.live_next.get());
        // SAFETY: `s` is linked (started, not finished before) and its
        // neighbours are linked, hence alive (see `live_head`).
        unsafe {
            if prev.is_null() {
                if std::ptr::eq(self.live_head.get(), s) {
                    self.live_head.set(next);
                }
            } else {
                (*prev).live_next.set(next);
            }
            if !next.is_null() {
                (*next).live_prev.set(prev);
            }
        }
        s.live_prev.set(std::ptr::null());
        s.live_next.set(std::ptr::null());
    }

    /// Switches from `from` (running) into `t`, starting it first if
    /// `start`. `t` is kept alive by its self-reference.
    #[inline(always)]
    fn switch_into(&self, from: &State, t: Rc<dyn Task>, start: bool) {
        if start && !self.prepare_start(&t) {
            // It died unstarted; pick something else.
            if !std::ptr::eq(from, self.hub.state()) {
                self.switch_away_outlined(from);
            }
            return;
        }
        let s: *const State = state_of(&t);
        drop(t);
        // SAFETY: the self-reference keeps the state alive; it is ready (or
        // freshly prepared) and suspended, and `from` is running.
        unsafe {
            (*s).phase.set(Phase::Running);
            switch::switch(from, &*s);
        }
    }

    /// Takes the next greenlet that can be switched to directly, if the
    /// head of the queue is one and the budget allows.
    ///
    /// Inlined into `switch_away`, its only caller: out of line, its frame
    /// and its returned `Option` cost a tenth of a two-greenlet switch.
    #[inline(always)]
    fn take_direct(&self) -> Option<(Rc<dyn Task>, bool)> {
        self.take_direct_from(&mut self.ready.borrow_mut())
    }

    /// [`take_direct`](Self::take_direct) on an already borrowed queue.
    #[inline(always)]
    fn take_direct_from(&self, q: &mut VecDeque<Ready>) -> Option<(Rc<dyn Task>, bool)> {
        let budget = self.budget.get();
        if budget == 0 {
            return None;
        }
        loop {
            let (stale, start) = match q.front() {
                Some(Ready::Resume(t, _)) => (state_of(t).phase.get() != Phase::Ready, false),
                Some(Ready::Start(t)) => (state_of(t).phase.get() != Phase::Scheduled, true),
                _ => return None,
            };
            let item = q.pop_front();
            if stale {
                continue;
            }
            prefetch_ahead(q);
            self.budget.set(budget - 1);
            return match item {
                Some(Ready::Resume(t, _)) | Some(Ready::Start(t)) => Some((t, start)),
                _ => None,
            };
        }
    }

    /// [`switch_away`](Self::switch_away), not inlined (it and
    /// `switch_into` call each other).
    #[inline(never)]
    fn switch_away_outlined(&self, from: &State) {
        self.switch_away(from)
    }

    /// Leaves the running greenlet `from` (parking, yielding or dying):
    /// hands over directly to the next ready greenlet when possible,
    /// otherwise to the hub.
    ///
    /// Inlined into `park`, so that a parked greenlet keeps fewer frames
    /// (cache lines) on its stack.
    #[inline(always)]
    pub(crate) fn switch_away(&self, from: &State) {
        let next = self.take_direct();
        self.switch_next(from, next);
    }

    /// The rest of [`switch_away`](Self::switch_away), once `next` was
    /// taken off the queue (or not).
    #[inline(always)]
    fn switch_next(&self, from: &State, next: Option<(Rc<dyn Task>, bool)>) {
        match next {
            Some((t, start)) => {
                if std::ptr::eq(state_of(&t), from) {
                    // Yielding with nobody else ready: keep running.
                    from.phase.set(Phase::Running);
                    return;
                }
                self.switch_into(from, t, start);
            }
            None => self.switch_to_hub(from),
        }
    }

    /// Queues `f` to run on this thread's hub from another thread.
    pub(crate) fn remote(&self) -> RemoteHub {
        self.renew_remote();
        RemoteHub {
            remote: self.remote.borrow().clone(),
            sender: self.remote_sender.borrow().clone(),
        }
    }

    /// Runs the messages other threads sent. The inbox is not borrowed while
    /// they run (one may reach `remote()`).
    #[inline]
    fn drain_remote(&self) {
        if !self.remote.borrow().has_pending() {
            return;
        }
        let r = self.remote.borrow().clone();
        r.drain(&self.remote_spare);
    }

    /// In a forked child, gives the hub a new inbox and async watcher. The
    /// old ones' locks (the inbox's queue, the watcher's sender target) may
    /// have been held at the fork by a thread that does not exist in the
    /// child (a thread-pool worker handing back a result), and would then
    /// block the child's new workers, or the hub, forever. The old watcher
    /// is stopped and leaked, never dropped (its `Drop` takes that lock).
    /// Results of jobs that were running in the parent never arrive here;
    /// with a renewed inbox, neither do those of jobs queued at the fork.
    fn renew_remote(&self) {
        let generation = fork_generation();
        if self.remote_born.get() == generation {
            return;
        }
        self.remote_born.set(generation);
        // Only this thread exists in the child now: a lock held is held by
        // a thread that is gone. Free locks: keep the inbox, so results of
        // jobs still queued at the fork (run by the child's new workers)
        // arrive.
        if self.remote.borrow().lock_is_free() && self.remote_sender.borrow().lock_is_free() {
            return;
        }
        let (remote, watcher, sender) = match new_remote(&self.lp) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("gevent: cannot renew the hub's inbox after fork: {e}");
                return;
            }
        };
        if self.remote_pending.get() > 0 {
            watcher.set_keepalive(true);
        }
        let old = self.remote_watcher.replace(watcher);
        old.stop();
        std::mem::forget(old);
        *self.remote_sender.borrow_mut() = sender;
        *self.remote.borrow_mut() = remote;
    }

    /// Marks that a remote completion is expected: keeps the loop alive
    /// until [`remote_done`](Self::remote_done).
    pub(crate) fn remote_expect(&self) {
        let n = self.remote_pending.get() + 1;
        self.remote_pending.set(n);
        if n == 1 {
            self.remote_watcher.borrow().set_keepalive(true);
        }
    }

    /// Balances [`remote_expect`](Self::remote_expect).
    pub(crate) fn remote_done(&self) {
        let n = self.remote_pending.get().saturating_sub(1);
        self.remote_pending.set(n);
        if n == 0 {
            self.remote_watcher.borrow().set_keepalive(false);
        }
    }
}

/// Prepares the next resume while the current one runs (issue 14): with
/// thousands of greenlets ready, each switch lands on a state and a stack
/// top that are no longer in cache (nor in the TLB), and waiting for them
/// was most of a switch's cost. Called right after an entry is taken off
/// the queue: the new head is resumed next, after the taken greenlet has
/// run up to its own next switch, which hides most of the latency. Reads
/// nothing but the queue entry (the state's address and the stack hint
/// are in it); prefetches never fault, so a stale entry or hint costs
/// nothing but a wasted line.
///
/// Skipped while few greenlets are ready: their states and stacks are
/// still in cache, and the two-greenlet switch should not pay for it.
#[inline(always)]
fn prefetch_ahead(q: &VecDeque<Ready>) {
    if q.len() < PREFETCH_MIN_READY {
        return;
    }
    match q.front() {
        Some(Ready::Resume(t, sp)) => {
            switch::prefetch_state(Rc::as_ptr(t).cast::<u8>());
            switch::prefetch_stack(*sp);
        }
        Some(Ready::Start(t)) => switch::prefetch_state(Rc::as_ptr(t).cast::<u8>()),
        _ => {}
    }
}

extern "C" fn hub_entry(t: context::Transfer) -> ! {
    switch::entered(t);
    let hub = hub_inner();
    loop {
        hub.run_round();
    }
}

/// Runs `f` on the hub, catching and reporting a panic.
fn run_guarded<F: FnOnce()>(f: F, what: &str) {
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        report_panic(what, &*p);
    }
}

pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

fn report_panic(what: &str, p: &(dyn std::any::Any + Send)) {
    eprintln!("gevent: {what} panicked: {}", panic_message(p));
}

// ---------------------------------------------------------------------------
// Parking and waking: the one primitive every blocking operation uses.

/// Wakes one particular park of one greenlet.
#[derive(Clone)]
pub(crate) struct Waker {
    task: Rc<dyn Task>,
    seq: u64,
}

impl Waker {
    /// A waker for the running greenlet's next park.
    pub(crate) fn current() -> Waker {
        let task = current_task();
        let seq = task.state().park_seq.get();
        Waker { task, seq }
    }

    /// Makes the greenlet runnable if it is still in the park this waker
    /// was made for. Returns whether it did.
    pub(crate) fn wake(&self) -> bool {
        let s = self.task.state();
        if s.park_seq.get() != self.seq || s.phase.get() != Phase::Parked {
            return false;
        }
        s.phase.set(Phase::Ready);
        s.wake_reason.set(WakeReason::Normal);
        hub_inner().push(Ready::Resume(self.task.clone(), s.sp_hint.get()));
        true
    }

    /// Whether both wake the same greenlet.
    #[allow(dead_code)]
    pub(crate) fn same_greenlet(&self, other: &Waker) -> bool {
        Rc::ptr_eq(&self.task, &other.task)
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Waker(greenlet {}, seq {})",
            self.task.state().id,
            self.seq
        )
    }
}

/// The running greenlet's state and the number of its next park: what
/// [`wake_parked`] needs, for a waiter that keeps its own record instead
/// of a [`Waker`] (no reference count touched). Creates the hub if needed.
#[inline]
pub(crate) fn current_park() -> (*const State, u64) {
    hub_inner();
    let p = switch::current_ptr();
    // SAFETY: with the hub created, CURRENT points at the running
    // greenlet's live state.
    (p, unsafe { (*p).park_seq.get() })
}

/// [`Waker::wake`] for a record made by [`current_park`]: makes the
/// greenlet of `s` runnable if it is still in park number `seq`.
///
/// The caller must know that `s` is alive; a greenlet parked in a wait is
/// (it cannot finish without leaving the wait first).
pub(crate) fn wake_parked(s: &State, seq: u64) -> bool {
    if s.park_seq.get() != seq || s.phase.get() != Phase::Parked {
        return false;
    }
    let Some(task) = s.selfref() else {
        return false;
    };
    s.phase.set(Phase::Ready);
    s.wake_reason.set(WakeReason::Normal);
    hub_inner().push(Ready::Resume(task, s.sp_hint.get()));
    true
}

/// The running greenlet's task (the main greenlet's if no hub yet).
pub(crate) fn current_task() -> Rc<dyn Task> {
    let hub = hub_inner();
    let p = switch::current_ptr();
    // SAFETY: CURRENT points at the live state of the running greenlet.
    let s = unsafe { &*p };
    s.selfref().unwrap_or_else(|| hub.main.clone())
}

/// Whether the running code is on the hub greenlet.
pub(crate) fn in_hub() -> bool {
    match existing_hub() {
        Some(h) => std::ptr::eq(switch::current_ptr(), state_of(&h.hub)),
        None => false,
    }
}

/// Checks that the running greenlet may block now.
pub(crate) fn check_can_block() -> Result<(), Error> {
    if std::thread::panicking() {
        return Err(Error::Unwinding);
    }
    if in_hub() {
        return Err(Error::BlockingInHub);
    }
    Ok(())
}

/// Raises the first pending throw of `s`, if any.
#[inline(always)]
fn raise_pending(s: &State) {
    if !s.throws.borrow().is_empty() {
        raise_first(s);
    }
}

/// [`raise_pending`]'s rare part, out of the switch path.
#[cold]
#[inline(never)]
fn raise_first(s: &State) {
    let t = s.throws.borrow_mut().pop_front();
    if let Some(t) = t {
        std::panic::resume_unwind(Box::new(t));
    }
}

/// Parks the running greenlet until a [`Waker`] made for this park wakes
/// it. May return spuriously: callers re-check their condition.
///
/// Kills and timeouts are raised here (by unwinding) if one is pending on
/// entry or if one is what woke the greenlet.
///
/// # Errors
///
/// [`Error::LoopExit`] when nothing can ever wake the main greenlet,
/// [`Error::BlockingInHub`] on the hub, [`Error::Unwinding`] while the
/// thread unwinds.
pub(crate) fn park() -> Result<(), Error> {
    check_can_block()?;
    park_checked()
}

/// [`park`] for a caller that already ran [`check_can_block`] for this
/// wait. Inlined: a waiting greenlet keeps one frame less on its stack.
#[inline(always)]
pub(crate) fn park_checked() -> Result<(), Error> {
    let hub = hub_inner();
    let p = switch::current_ptr();
    // SAFETY: CURRENT points at the running greenlet's live state.
    let s = unsafe { &*p };
    raise_pending(s);
    s.phase.set(Phase::Parked);
    hub.switch_away(s);
    // Resumed by the hub.
    s.phase.set(Phase::Running);
    match s.wake_reason.replace(WakeReason::Normal) {
        WakeReason::Throw if s.throws.borrow().is_empty() => {
            // Woken for a throw that was withdrawn meanwhile (a Timeout
            // cancelled after it expired): a spurious return. The park
            // sequence stays, so the wakers the caller registered for this
            // wait stay valid when it re-checks and parks again.
            Ok(())
        }
        reason => {
            s.park_seq.set(s.park_seq.get() + 1);
            match reason {
                WakeReason::Normal => Ok(()),
                WakeReason::Throw => {
                    raise_pending(s);
                    Ok(())
                }
                WakeReason::LoopExit => Err(Error::LoopExit),
            }
        }
    }
}

/// Lets every other ready greenlet run once, then continues (`sleep(0)`).
///
/// # Errors
///
/// As for [`park`].
///
/// Never inlined: `sleep(0)` calls it from the user's code, where this
/// frame is the only one between the caller and the switch.
#[inline(never)]
pub(crate) fn yield_now() -> Result<(), Error> {
    // `check_can_block` and `current_task`, sharing their thread-local
    // reads (this is the `sleep(0)` hot path).
    if std::thread::panicking() {
        return Err(Error::Unwinding);
    }
    let hub = hub_inner();
    let p = switch::current_ptr();
    if std::ptr::eq(p, state_of(&hub.hub)) {
        return Err(Error::BlockingInHub);
    }
    // SAFETY: CURRENT points at the running greenlet's live state.
    let s = unsafe { &*p };
    raise_pending(s);
    s.phase.set(Phase::Ready);
    s.wake_reason.set(WakeReason::Normal);
    let task = s.selfref().unwrap_or_else(|| hub.main.clone());
    // Where the switch below will leave our stack's top: this frame, as
    // the switch is inlined into it.
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    // Queue ourselves and take the head in one borrow of the queue.
    let next = {
        let mut q = hub.ready.borrow_mut();
        q.push_back(Ready::Resume(task, sp));
        hub.take_direct_from(&mut q)
    };
    hub.switch_next(s, next);
    s.park_seq.set(s.park_seq.get() + 1);
    s.phase.set(Phase::Running);
    if s.wake_reason.replace(WakeReason::Normal) == WakeReason::Throw {
        raise_pending(s);
    }
    Ok(())
}

/// Throws `t` into the greenlet of `task` at its current or next switch
/// point: at once if it is the running greenlet.
pub(crate) fn throw(task: &Rc<dyn Task>, t: Throw) {
    let s = task.state();
    match s.phase.get() {
        Phase::Dead | Phase::New | Phase::Scheduled => {}
        Phase::Running => {
            if std::ptr::eq(s, switch::current_ptr()) && !std::thread::panicking() {
                std::panic::resume_unwind(Box::new(t));
            }
            s.throws.borrow_mut().push_back(t);
        }
        Phase::Ready => {
            // Queued to resume (woken, or pending in a `sleep(0)`): the
            // throw must be raised at that pending switch point, not after
            // the greenlet runs on. Marking the wake reason costs the
            // resume path nothing (it already reads the reason).
            s.throws.borrow_mut().push_back(t);
            s.wake_reason.set(WakeReason::Throw);
        }
        Phase::Parked => {
            s.throws.borrow_mut().push_back(t);
            s.phase.set(Phase::Ready);
            s.wake_reason.set(WakeReason::Throw);
            hub_inner().push(Ready::Resume(task.clone(), s.sp_hint.get()));
        }
    }
}

/// Removes a not-yet-raised timeout throw (the timeout was cancelled).
pub(crate) fn cancel_throw(task: &Rc<dyn Task>, timeout_id: u64) {
    task.state()
        .throws
        .borrow_mut()
        .retain(|t| !matches!(t, Throw::Timeout(id, _) if *id == timeout_id));
}

impl Hub {
    /// The hub's event loop, for low-level watcher programming mixed with
    /// greenlets (watcher callbacks run in the hub and must not block).
    ///
    /// ```
    /// use gevent::core::Timer;
    /// use std::time::Duration;
    /// let hub = gevent::get_hub();
    /// let t = Timer::new(hub.loop_(), Duration::from_millis(1), Duration::ZERO, |_, _| println!("tick"));
    /// t.start()?;
    /// gevent::sleep(Duration::from_millis(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn loop_(&self) -> &Loop {
        &self.inner.lp
    }

    /// Runs `f` in the hub soon, after the greenlets and callbacks already
    /// queued (gevent's `loop.run_callback`). `f` must not block.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let hit = Rc::new(Cell::new(false));
    /// let h = hit.clone();
    /// gevent::get_hub().run_callback(move || h.set(true));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(hit.get());
    /// ```
    pub fn run_callback<F: FnOnce() + 'static>(&self, f: F) {
        self.inner.push(Ready::Call(Box::new(f)));
    }

    /// Waits until the hub has nothing else to do (gevent's `idle()`).
    ///
    /// # Errors
    ///
    /// As for [`sleep`](crate::sleep).
    ///
    /// ```
    /// gevent::get_hub().wait_idle()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn wait_idle(&self) -> Result<(), Error> {
        check_can_block()?;
        let waker = Rc::new(RefCell::new(Waker::current()));
        let w2 = waker.clone();
        let w = crate::core::Idle::new(&self.inner.lp, move |w, _| {
            w.stop();
            w2.borrow().wake();
        });
        loop {
            // A waker for this round's park (the previous one is spent).
            *waker.borrow_mut() = Waker::current();
            w.start()
                .map_err(|e| Error::Panicked(e.to_string().into()))?;
            while w.is_active() {
                park()?;
            }
            // libev's idle watcher only knows about libev: greenlets and
            // callbacks may still be queued in the hub (the hub polls
            // every few rounds even while busy). Idle means none are.
            if self.inner.ready.borrow().is_empty() {
                return Ok(());
            }
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("loop", &self.inner.lp)
            .finish_non_exhaustive()
    }
}
