//! Completion from another thread: how work running off the hub's thread
//! (thread-pool jobs, resolver lookups, [`AsyncResultSender`]) hands its
//! result back to the hub and wakes the greenlet waiting for it.
//!
//! The hub owns one inbox per thread ([`Remote`]): a queue of messages
//! that any thread may append to, drained by the hub on its own thread.
//! Three handles are built on it:
//!
//! * [`RemoteHub`] (`Send`, `Clone`): runs a `Send` closure on the hub's
//!   thread, soon ([`RemoteHub::run_callback`]). The lowest level.
//! * [`Completer<T>`] (`Send`, one-shot): made on the hub's thread by
//!   [`completion`] together with a hub-side callback; another thread
//!   calls [`Completer::complete`] with a value, and the callback runs on
//!   the hub with `Some(value)`. A completer dropped without completing
//!   delivers `None`, so a waiter can never hang on a lost completion.
//!   While a completion is outstanding the hub's loop stays alive (the
//!   main greenlet waiting only for it does not get `LoopExit`). The
//!   thread pool and the thread resolver use it.
//! * [`RemoteWaker`] (`Send + Sync`, `Clone`, any number of wakes): made
//!   by [`remote_waker`] with a hub-side `FnMut()` callback; every
//!   [`wake`](RemoteWaker::wake) from any thread schedules one run of the
//!   callback on the hub, wakes that arrive before it ran coalescing into
//!   one. The callback lives (and keeps the loop alive) as long as the
//!   [`WakeRegistration`] returned with the waker. This is the shape of a
//!   `std::task::Waker`: `block_on(future)` for greenlets wraps the
//!   `Arc` inside a `RemoteWaker` in a `std::task::Wake` impl (it already
//!   is `Send + Sync + 'static`), registers a callback that wakes the
//!   parked greenlet ([`Waker::wake`](super::Waker::wake)) for as long as
//!   the future is pending, and polls again each time it is resumed.
//!
//! # Waking the hub cheaply
//!
//! A sender appends its message, then signals libev's async watcher
//! (`ev_async_send`). libev only writes to its eventfd when the loop is
//! blocked in (or entering) its poll; otherwise the signal is a few
//! atomic operations, and the hub finds the message anyway: it drains the
//! inbox at the start of each scheduling round (one atomic load when it
//! is empty) as well as from the watcher's callback. Relying on libev's
//! own check keeps every way of running the loop covered (a nested
//! `Loop::run` included).
//!
//! When the hub has nothing else to do but results are expected, it
//! spins briefly ([`HUB_SPIN`]) watching the inbox before it blocks: a
//! short job's result then arrives without any system call or sleep on
//! either side (the thread pool's workers spin similarly for the next
//! job). Spinning is skipped on a machine with a single CPU, and turned
//! off with `GEVENT_SPIN=0`.
//!
//! [`AsyncResultSender`]: crate::sync::AsyncResultSender

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::AsyncSender;

use super::hub_inner;

/// How long the hub, idle but expecting remote completions, watches its
/// inbox before it blocks in the poll.
pub(crate) const HUB_SPIN: Duration = Duration::from_micros(30);

/// A gap between two checks of the clock while spinning that means the
/// spinning thread was descheduled.
const PREEMPTED: Duration = Duration::from_micros(20);

/// The environment variable that turns the spinning off when set to `0`
/// (for a machine whose CPUs are always busy, or to save power).
pub(crate) const SPIN_ENV: &str = "GEVENT_SPIN";

/// Whether to spin at all: another CPU must be there to do the work being
/// waited for, `GEVENT_SPIN` must not be `0`, and the process must not run
/// under valgrind. Decided once per process.
///
/// Cached in an atomic, not a `OnceLock`: a `OnceLock` being initialised
/// by another thread (a thread-pool worker) at the moment of a `fork`
/// stays "running" forever in the child, whose every later call then
/// blocks on it (seen as a forked child's hub and its new worker both
/// stuck here). Computing twice in a race is harmless: same answer.
pub(crate) fn may_spin() -> bool {
    // 0: not decided yet; 1: no; 2: yes.
    static SPIN: AtomicU8 = AtomicU8::new(0);
    match SPIN.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = std::env::var_os(SPIN_ENV).is_none_or(|v| v != "0")
                && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
                // Valgrind runs one thread at a time: spinning only waits.
                && !crate::greenlet::valgrind::running();
            SPIN.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// How a spin ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spin {
    /// `ready()` held.
    Ready,
    /// The time limit passed.
    TimedOut,
    /// The spinning thread lost its CPU meanwhile (the machine is busy:
    /// spinning there only competes with the thread being waited for).
    Preempted,
}

/// Spins (with the CPU's spin hint) until `ready()`, `limit` passed, or
/// the thread is seen to have been preempted.
pub(crate) fn spin_until(limit: Duration, mut ready: impl FnMut() -> bool) -> Spin {
    if !may_spin() {
        return if ready() { Spin::Ready } else { Spin::TimedOut };
    }
    let start = Instant::now();
    let mut last = Duration::ZERO;
    loop {
        for _ in 0..64 {
            if ready() {
                return Spin::Ready;
            }
            std::hint::spin_loop();
        }
        let spent = start.elapsed();
        if ready() {
            return Spin::Ready;
        }
        if spent - last >= PREEMPTED {
            // 64 spin hints take a few microseconds: this long a gap means
            // the thread was descheduled.
            return Spin::Preempted;
        }
        if spent >= limit {
            return Spin::TimedOut;
        }
        last = spent;
    }
}

/// Spinning that backs off when it does not pay: after a spin that timed
/// out or was preempted, the next `penalty` chances to spin are skipped (1, 2, 4, ... up
/// to [`MAX_SKIP`]); a spin that succeeds resets the penalty. On a busy
/// machine, where the thread being waited for is often not running, a
/// spin mostly times out or is preempted and only steals CPU time from it
/// (and the scheduler then favours threads that sleep over ones that
/// spin); there the back-off makes spinning rare, and the code sleeps and
/// wakes as it would without spinning.
#[derive(Default)]
pub(crate) struct Backoff {
    skip: u32,
    penalty: u32,
}

/// The longest run of skipped chances to spin.
const MAX_SKIP: u32 = 64;

impl Backoff {
    /// Whether to spin at this chance (skipping it counts).
    pub(crate) fn should_spin(&mut self) -> bool {
        if !may_spin() {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// [`spin_until`] if [`should_spin`](Self::should_spin); learns from
    /// the outcome. Returns whether `ready()` held.
    pub(crate) fn spin(&mut self, limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
        if !self.should_spin() {
            return ready();
        }
        let outcome = spin_until(limit, &mut ready);
        self.record(outcome);
        outcome == Spin::Ready
    }

    /// Learns from a spin's outcome.
    pub(crate) fn record(&mut self, outcome: Spin) {
        if outcome == Spin::Ready {
            self.penalty = 0;
        } else {
            self.penalty = (self.penalty * 2).clamp(1, MAX_SKIP);
            self.skip = self.penalty;
        }
    }
}

/// One message for the hub.
pub(crate) enum Msg {
    /// Run a closure.
    Call(Box<dyn FnOnce() + Send>),
    /// Deliver a completion's value (`None`: the completer was dropped).
    Complete(u64, Option<Box<dyn Any + Send>>),
    /// Run a remote waker's callback.
    Wake(Arc<WakeNode>),
}

/// A hub's inbox for messages from other threads.
pub(crate) struct Remote {
    queue: Mutex<Vec<Msg>>,
    /// Whether `queue` may be non-empty (checked without the lock).
    pending: AtomicBool,
}

impl Remote {
    pub(crate) fn new() -> Remote {
        Remote {
            queue: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
        }
    }

    /// Appends `m`.
    fn push(&self, m: Msg) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(m);
        self.pending.store(true, Ordering::Release);
    }

    /// Whether no thread holds the queue's lock now (checked in a forked
    /// child, where a holder would be a thread that no longer exists).
    pub(crate) fn lock_is_free(&self) -> bool {
        !matches!(
            self.queue.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    /// Whether messages may be waiting.
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Runs every queued message (on the hub's thread, in the hub).
    /// `spare` is an empty vector whose capacity is reused.
    pub(crate) fn drain(&self, spare: &RefCell<Vec<Msg>>) {
        if !self.has_pending() {
            return;
        }
        let mut batch = std::mem::take(&mut *spare.borrow_mut());
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.pending.store(false, Ordering::Relaxed);
            std::mem::swap(&mut *q, &mut batch);
        }
        for m in batch.drain(..) {
            super::run_guarded(|| handle(m), "a cross-thread completion");
        }
        *spare.borrow_mut() = batch;
    }
}

/// The spare vector the hub drains into (see [`Remote::drain`]).
pub(crate) type Spare = RefCell<Vec<Msg>>;

fn handle(m: Msg) {
    match m {
        Msg::Call(f) => f(),
        Msg::Complete(id, value) => {
            let c = COMPLETIONS
                .try_with(|m| m.borrow_mut().remove(&id))
                .ok()
                .flatten();
            if let Some(c) = c {
                hub_inner().remote_done();
                c(value);
            }
        }
        Msg::Wake(node) => {
            node.queued.store(false, Ordering::SeqCst);
            let cb = WAKERS
                .try_with(|m| m.borrow().get(&node.id).cloned())
                .ok()
                .flatten();
            if let Some(cb) = cb {
                (cb.borrow_mut())();
            }
        }
    }
}

/// A `Send` handle for reaching a hub from another thread.
#[derive(Clone)]
pub(crate) struct RemoteHub {
    pub(super) remote: Arc<Remote>,
    pub(super) sender: AsyncSender,
}

impl RemoteHub {
    fn send(&self, m: Msg) -> std::io::Result<()> {
        self.remote.push(m);
        self.sender.send()
    }

    /// Runs `f` on the hub's thread, in the hub, soon.
    ///
    /// # Errors
    ///
    /// If the hub's async watcher is gone (its thread exited).
    pub(crate) fn run_callback<F: FnOnce() + Send + 'static>(&self, f: F) -> std::io::Result<()> {
        self.send(Msg::Call(Box::new(f)))
    }
}

type OnComplete = Box<dyn FnOnce(Option<Box<dyn Any + Send>>)>;

/// A remote waker's hub-side callback.
type OnWake = std::rc::Rc<RefCell<dyn FnMut()>>;

thread_local! {
    /// This thread's hub's outstanding completions, by id.
    static COMPLETIONS: RefCell<HashMap<u64, OnComplete>> = RefCell::new(HashMap::new());
    /// This thread's hub's remote-waker callbacks, by id.
    static WAKERS: RefCell<HashMap<u64, OnWake>> = RefCell::new(HashMap::new());
}

/// Registers a one-shot completion on this thread's hub: `on_hub` runs on
/// the hub with `Some(value)` once the returned [`Completer`] is completed
/// from any thread, or with `None` if it is dropped unused (or the value
/// has another type, which cannot happen through the typed API). Keeps
/// the hub's loop alive until then.
pub(crate) fn completion<T, F>(on_hub: F) -> Completer<T>
where
    T: Send + 'static,
    F: FnOnce(Option<T>) + 'static,
{
    let hub = hub_inner();
    let id = hub.next_id();
    let cb: OnComplete =
        Box::new(move |v| on_hub(v.and_then(|b| b.downcast::<T>().ok().map(|b| *b))));
    COMPLETIONS.with(|m| m.borrow_mut().insert(id, cb));
    hub.remote_expect();
    Completer {
        hub: hub.remote(),
        id,
        done: false,
        _t: std::marker::PhantomData,
    }
}

/// Completes one [`completion`] from any thread. `Send`.
pub(crate) struct Completer<T: Send + 'static> {
    hub: RemoteHub,
    id: u64,
    done: bool,
    _t: std::marker::PhantomData<fn(T)>,
}

impl<T: Send + 'static> Completer<T> {
    /// Hands `value` to the hub-side callback (soon, on the hub's thread).
    ///
    /// # Errors
    ///
    /// If the hub's thread is gone; the value is dropped then.
    pub(crate) fn complete(mut self, value: T) -> std::io::Result<()> {
        self.done = true;
        self.hub.send(Msg::Complete(self.id, Some(Box::new(value))))
    }
}

impl<T: Send + 'static> Drop for Completer<T> {
    fn drop(&mut self) {
        if !self.done {
            // Nobody to tell if the hub is gone.
            let _ = self.hub.send(Msg::Complete(self.id, None));
        }
    }
}

pub(crate) struct WakeNode {
    id: u64,
    hub: RemoteHub,
    /// A wake is in the inbox and has not run yet.
    queued: AtomicBool,
}

/// Wakes a hub-side callback from any thread, any number of times; made
/// by [`remote_waker`]. `Send + Sync`; clones share one registration.
#[derive(Clone)]
#[allow(dead_code)] // the building block of `block_on`; exercised by the unit tests
pub(crate) struct RemoteWaker(Arc<WakeNode>);

#[allow(dead_code)]
impl RemoteWaker {
    /// Schedules one run of the callback on the hub (nothing if one is
    /// already scheduled). Returns false if the hub's thread is gone.
    pub(crate) fn wake(&self) -> bool {
        if self.0.queued.swap(true, Ordering::SeqCst) {
            return true;
        }
        self.0.hub.send(Msg::Wake(self.0.clone())).is_ok()
    }
}

/// The hub-side half of a [`RemoteWaker`]: while it lives, wakes run the
/// callback and the hub's loop stays alive. `!Send`.
#[allow(dead_code)]
pub(crate) struct WakeRegistration {
    id: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for WakeRegistration {
    fn drop(&mut self) {
        let _ = WAKERS.try_with(|m| m.borrow_mut().remove(&self.id));
        if let Some(h) = super::existing_hub() {
            h.remote_done();
        }
    }
}

/// Registers `on_wake` to run on this thread's hub each time the returned
/// waker is woken (see the [module docs](self)).
#[allow(dead_code)]
pub(crate) fn remote_waker<F: FnMut() + 'static>(on_wake: F) -> (WakeRegistration, RemoteWaker) {
    let hub = hub_inner();
    let id = hub.next_id();
    WAKERS.with(|m| {
        m.borrow_mut()
            .insert(id, std::rc::Rc::new(RefCell::new(on_wake)))
    });
    hub.remote_expect();
    (
        WakeRegistration {
            id,
            _not_send: std::marker::PhantomData,
        },
        RemoteWaker(Arc::new(WakeNode {
            id,
            hub: hub.remote(),
            queued: AtomicBool::new(false),
        })),
    )
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use super::{completion, remote_waker};
    use crate::hub::{Waker, park};

    /// Runs `f` on a fresh thread (a fresh hub).
    fn on_fresh_hub(f: fn()) {
        std::thread::spawn(f).join().expect("test body panicked");
    }

    /// Parks the main greenlet until `done()`, failing after 10 s. Parking
    /// (instead of sleeping) also checks that the outstanding completion
    /// keeps the loop alive: otherwise park reports LoopExit.
    fn park_until(waker: &Rc<Cell<Option<Waker>>>, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(10), "hung");
            waker.set(Some(Waker::current()));
            park().expect("the pending completion keeps the loop alive");
        }
    }

    #[test]
    fn a_completion_carries_its_value_and_wakes_the_waiter() {
        on_fresh_hub(|| {
            let got = Rc::new(Cell::new(None));
            let waker: Rc<Cell<Option<Waker>>> = Rc::default();
            let (g, w) = (got.clone(), waker.clone());
            let c = completion(move |v: Option<String>| {
                g.set(Some(v));
                if let Some(w) = w.take() {
                    w.wake();
                }
            });
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                c.complete("from a worker".to_string()).unwrap();
            });
            park_until(&waker, || {
                let v = got.take();
                let done = v.is_some();
                got.set(v);
                done
            });
            assert_eq!(got.take(), Some(Some("from a worker".to_string())));
            t.join().unwrap();
            assert_eq!(crate::hub::hub_inner().remote_pending.get(), 0);
        });
    }

    #[test]
    fn a_dropped_completer_delivers_none() {
        on_fresh_hub(|| {
            let got = Rc::new(Cell::new(0u8));
            let waker: Rc<Cell<Option<Waker>>> = Rc::default();
            let (g, w) = (got.clone(), waker.clone());
            let c = completion(move |v: Option<u8>| {
                g.set(if v.is_none() { 1 } else { 2 });
                if let Some(w) = w.take() {
                    w.wake();
                }
            });
            std::thread::spawn(move || drop(c)).join().unwrap();
            park_until(&waker, || got.get() != 0);
            assert_eq!(got.get(), 1);
            assert_eq!(crate::hub::hub_inner().remote_pending.get(), 0);
        });
    }

    #[test]
    fn remote_wakes_coalesce_until_the_callback_runs() {
        on_fresh_hub(|| {
            let runs = Rc::new(Cell::new(0u32));
            let r = runs.clone();
            let (reg, waker) = remote_waker(move || r.set(r.get() + 1));
            let w = waker.clone();
            // The hub cannot run while this greenlet does not yield: the
            // three wakes pile up and run the callback once.
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert!(w.wake());
                }
            })
            .join()
            .unwrap();
            assert_eq!(runs.get(), 0);
            let start = Instant::now();
            while runs.get() == 0 && start.elapsed() < Duration::from_secs(10) {
                crate::sleep(Duration::from_millis(1));
            }
            assert_eq!(runs.get(), 1);
            // Once it ran, a new wake runs it again.
            let w = waker.clone();
            std::thread::spawn(move || assert!(w.wake()))
                .join()
                .unwrap();
            while runs.get() == 1 && start.elapsed() < Duration::from_secs(10) {
                crate::sleep(Duration::from_millis(1));
            }
            assert_eq!(runs.get(), 2);
            // Unregistered: wakes are accepted and do nothing.
            drop(reg);
            assert_eq!(crate::hub::hub_inner().remote_pending.get(), 0);
            assert!(waker.wake());
            crate::sleep(Duration::from_millis(5));
            assert_eq!(runs.get(), 2);
        });
    }
}
