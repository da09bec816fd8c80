//! Async interop: run any [`Future`] from a greenlet ([`block_on`],
//! [`run_async`]) and await a greenlet from async code (a [`Greenlet`] is
//! [`IntoFuture`]).
//!
//! # How `block_on` parks
//!
//! [`block_on`] polls the future on the calling greenlet's own stack. When
//! it is pending, only that greenlet parks; the hub goes on running every
//! other greenlet. The [`std::task::Waker`] handed to the future is
//! `Send + Sync`:
//!
//! * woken on the hub's own thread (a future completed by another
//!   greenlet, or waking itself during `poll`), it sets an atomic
//!   "notified" flag and makes the greenlet runnable directly: no lock,
//!   no message, no system call;
//! * woken from another thread, it sets the flag and sends one message
//!   through the hub's cross-thread inbox (`hub::remote`), which wakes a
//!   sleeping hub through libev's async watcher. Wakes that arrive before
//!   the hub handled the first one coalesce.
//!
//! The flag is cleared before each poll and checked again before parking,
//! so a wake that arrives between the poll and the park is never lost;
//! spurious wakes only cause one more poll. A future that wakes itself
//! during `poll` (a cooperative "yield") lets the other greenlets run once
//! before it is polled again.
//!
//! While the greenlet is parked in `block_on`, the hub's loop stays alive
//! (a wake may come from another thread), so the main greenlet waiting for
//! a future never gets [`Error::LoopExit`].
//!
//! A kill or an expiring [`Timeout`](crate::Timeout) is raised at the park
//! like at any other switch point: the greenlet unwinds and the future is
//! dropped there (for a future that owns a tokio task, that cancels it).

use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake};

use crate::greenlet::state::State;
use crate::hub::{self, RemoteWaker, WakeRegistration};
use crate::{Error, Greenlet, LinkId};

/// A number unique to the running thread (never reused, never 0 while the
/// thread's locals live): how a waker tells that it runs on its hub's
/// thread without any cross-thread machinery.
fn thread_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TAG: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TAG.try_with(|t| *t).unwrap_or(0)
}

/// Where the greenlet blocked in [`block_on`] is parked: its state and the
/// number of its park, while (and only while) it is parked there.
struct ParkSlot(Cell<Option<(*const State, u64)>>);

// SAFETY: the cell is only ever read or written on the thread whose tag is
// `Shared::owner` (the waker checks the tag before touching it; the hub-side
// callback and `block_on` itself run on that thread). Other threads only
// move the `Arc<Shared>` around and touch its atomics.
unsafe impl Send for ParkSlot {}
// SAFETY: as for `Send`: no access from any thread but the owner's.
unsafe impl Sync for ParkSlot {}

/// What the `std::task::Waker` of one [`block_on`] call points at.
struct Shared {
    /// Set by every wake; cleared before each poll.
    notified: AtomicBool,
    /// [`thread_tag`] of the hub's thread.
    owner: u64,
    /// The cross-thread path, registered with the hub the first time the
    /// future is pending (a ready future never pays for it).
    remote: OnceLock<RemoteWaker>,
    /// Owner-thread only (see [`ParkSlot`]).
    park: ParkSlot,
}

impl Shared {
    /// On the owner thread: makes the parked greenlet runnable, if it is
    /// parked in `block_on`.
    fn wake_local(&self) {
        debug_assert_eq!(thread_tag(), self.owner);
        if let Some((s, seq)) = self.park.0.get() {
            // SAFETY: the slot holds a state only while its greenlet is
            // parked in `block_on` (a guard clears it when the park ends,
            // unwinding included), and a greenlet that has not finished
            // is kept alive by its own reference.
            hub::wake_parked(unsafe { &*s }, seq);
        }
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.notified.swap(true, Ordering::SeqCst) {
            // Already notified: the greenlet has not polled since, and
            // whoever set the flag has woken it (or it will see the flag
            // before it parks).
            return;
        }
        if thread_tag() == self.owner {
            self.wake_local();
            return;
        }
        // Pairs with the fence in `block_on` between registering the remote
        // waker and re-checking the flag: either this thread sees the
        // registration, or the greenlet sees the flag (and does not park).
        fence(Ordering::SeqCst);
        if let Some(r) = self.remote.get() {
            // False only if the hub's thread is gone: nobody to wake.
            let _ = r.wake();
        }
    }
}

/// Each thread keeps the `Shared` of its last `block_on` for the next one
/// when nothing else holds it any more: a ready future then costs no
/// allocation.
struct SharedCache;

thread_local! {
    static SPARE: Cell<Option<Arc<Shared>>> = const { Cell::new(None) };
}

impl SharedCache {
    /// A fresh (or reset, unshared) `Shared` for this thread.
    fn take() -> Arc<Shared> {
        if let Some(mut a) = SPARE.try_with(Cell::take).ok().flatten() {
            // Unique: no waker of an earlier call survives (none can be
            // made from nothing), so resetting it cannot confuse one.
            if let Some(s) = Arc::get_mut(&mut a) {
                if s.owner == thread_tag() {
                    *s.notified.get_mut() = false;
                    s.remote = OnceLock::new();
                    s.park.0.set(None);
                    return a;
                }
            }
        }
        Arc::new(Shared {
            notified: AtomicBool::new(false),
            owner: thread_tag(),
            remote: OnceLock::new(),
            park: ParkSlot(Cell::new(None)),
        })
    }
}

/// Offers the `Shared` back to the thread's cache when `block_on` ends
/// (after the waker and the registration are gone: declared first, dropped
/// last).
struct Recycle(Option<Arc<Shared>>);

impl Drop for Recycle {
    fn drop(&mut self) {
        if let Some(a) = self.0.take() {
            // Only worth keeping if nobody else holds it; ignore a thread
            // whose locals are being destroyed.
            if Arc::strong_count(&a) == 1 {
                let _ = SPARE.try_with(|c| c.set(Some(a)));
            }
        }
    }
}

/// Clears the park slot when the park ends, however it ends.
struct SlotGuard<'a>(&'a Shared);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.0.park.0.set(None);
    }
}

/// Runs `fut` to completion on the calling greenlet: polls it here, and
/// parks only this greenlet while it is pending (the hub keeps running the
/// others). Works with any runtime-agnostic future: `futures` channels,
/// `async-channel`, hand-written futures; for tokio-bound ones use
/// `gevent::tokio::block_on` (feature `tokio`).
///
/// The [`Waker`](std::task::Waker) handed to the future is `Send + Sync`.
/// Woken on the hub's own thread (by another greenlet, or by the future
/// itself during `poll`), it sets an atomic flag and makes the greenlet
/// runnable directly: no lock, no message, no system call. Woken from
/// another thread, it sets the flag and sends one message through the
/// hub's cross-thread inbox (libev's async watcher wakes a sleeping hub);
/// wakes that arrive before the hub handled the first coalesce. The flag
/// is cleared before each poll and checked before parking, so a wake
/// between the poll and the park is never lost; a spurious wake costs one
/// more poll; a future that wakes itself during `poll` (a cooperative
/// yield) lets the other greenlets run once before its next poll. While
/// the greenlet is parked here the hub's loop stays alive (a wake may come
/// from another thread).
///
/// A panic inside the future propagates out of `block_on` (and so becomes
/// the greenlet's failure, [`Error::Panicked`]). A kill or a
/// [`Timeout`](crate::Timeout) interrupts the wait: the future is dropped
/// at the switch point.
///
/// # Errors
///
/// [`Error::BlockingInHub`] when called on the hub (inside a watcher or
/// hub callback), [`Error::Unwinding`] while the thread unwinds; the future
/// is not polled then. [`Error::LoopExit`] if the loop could never wake the
/// main greenlet again (not while a wake may still come from another thread).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (tx, rx) = std::sync::mpsc::channel::<u32>();
/// // A future completed from another thread: a tiny hand-rolled oneshot.
/// let slot = std::sync::Arc::new(std::sync::Mutex::new((None, None::<std::task::Waker>)));
/// let s = slot.clone();
/// std::thread::spawn(move || {
///     let v = rx.recv().unwrap();
///     let mut g = s.lock().unwrap();
///     g.0 = Some(v);
///     if let Some(w) = g.1.take() { w.wake(); }
/// });
/// let ticker = gevent::spawn(|| loop { gevent::sleep(Duration::from_millis(1)) });
/// tx.send(7).unwrap();
/// let v = gevent::block_on(std::future::poll_fn(|cx| {
///     let mut g = slot.lock().unwrap();
///     match g.0.take() {
///         Some(v) => std::task::Poll::Ready(v),
///         None => { g.1 = Some(cx.waker().clone()); std::task::Poll::Pending }
///     }
/// }))?;
/// assert_eq!(v, 7);
/// ticker.kill()?;
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, Error> {
    hub::check_can_block()?;
    // Dropped last, after the future, the waker and the registration.
    let recycle = Recycle(Some(SharedCache::take()));
    let shared = recycle.0.as_ref().expect("just set");
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::from(shared.clone());
    let mut cx = Context::from_waker(&waker);
    // Keeps the hub-side callback (and the loop) alive while pending.
    let mut registration: Option<WakeRegistration> = None;
    loop {
        shared.notified.store(false, Ordering::SeqCst);
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Ok(v);
        }
        if shared.notified.load(Ordering::SeqCst) {
            // Woken during the poll (a self-wake, a cooperative yield):
            // let the other greenlets run once, then poll again.
            hub::yield_now()?;
            continue;
        }
        if registration.is_none() {
            let s = shared.clone();
            let (reg, remote) = hub::remote_waker(move || s.wake_local());
            registration = Some(reg);
            // Set exactly once, by this (the owner) thread.
            let _ = shared.remote.set(remote);
            // Pairs with the fence in `wake_by_ref` (see there).
            fence(Ordering::SeqCst);
        }
        let guard = SlotGuard(shared);
        shared.park.0.set(Some(hub::current_park()));
        if shared.notified.load(Ordering::SeqCst) {
            // A wake from another thread raced with the registration.
            continue;
        }
        // A kill or timeout unwinds from here: the guard clears the slot,
        // the registration is dropped, and so is the future.
        hub::park()?;
        drop(guard);
    }
}

/// Drives `fut` to completion on the current thread's hub, letting every
/// greenlet of this thread run while it waits: the entry point for async
/// code that mixes with greenlets on one thread. The future may await
/// greenlets ([`Greenlet`] is [`IntoFuture`]), futures that greenlets
/// complete, or futures completed from other threads.
///
/// This is [`block_on`] under the name an async program looks for: it
/// runs on the calling greenlet (the main greenlet, typically), and has
/// the same errors and interruptions.
///
/// # Errors
///
/// As for [`block_on`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let total = gevent::run_async(async {
///     let a = gevent::spawn(|| { gevent::sleep(Duration::from_millis(2)); 40 });
///     let b = gevent::spawn(|| 2);
///     Ok::<u32, gevent::Error>(a.await? + b.await?)
/// })??;
/// assert_eq!(total, 42);
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn run_async<F: Future>(fut: F) -> Result<F::Output, Error> {
    block_on(fut)
}

/// The future of a [`Greenlet`]: resolves to the greenlet's value (moved
/// out, as by [`Greenlet::take`]) or its failure, once it finished.
/// Made by `greenlet.into_future()` or `greenlet.await`.
///
/// Poll it on the greenlet's own thread, from [`run_async`]/[`block_on`]
/// or an executor that lets the hub run while it waits; an executor that
/// blocks the thread (`futures::executor::block_on`) would stop the hub,
/// and with it the greenlet being awaited. `!Send`, like [`Greenlet`].
///
/// # Examples
///
/// ```
/// let g = gevent::spawn(|| "done".to_string());
/// let v = gevent::block_on(g.into_future())??;
/// assert_eq!(v, "done");
/// # use std::future::IntoFuture;
/// # Ok::<(), gevent::Error>(())
/// ```
pub struct GreenletFuture<T: 'static> {
    greenlet: Greenlet<T>,
    /// The waker of the latest poll, woken by the link on death.
    waker: Rc<RefCell<Option<std::task::Waker>>>,
    link: Option<LinkId>,
}

impl<T: 'static> Future for GreenletFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.greenlet.dead() {
            if let Some(id) = this.link.take() {
                this.greenlet.unlink(id);
            }
            // Does not block: the greenlet is dead.
            return Poll::Ready(this.greenlet.take());
        }
        {
            let mut w = this.waker.borrow_mut();
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        if this.link.is_none() {
            let w = this.waker.clone();
            this.link = Some(this.greenlet.link(move |_| {
                let waker = w.borrow_mut().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }));
        }
        Poll::Pending
    }
}

impl<T: 'static> Drop for GreenletFuture<T> {
    fn drop(&mut self) {
        if let Some(id) = self.link.take() {
            self.greenlet.unlink(id);
        }
    }
}

impl<T: 'static> std::fmt::Debug for GreenletFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreenletFuture")
            .field("greenlet", &self.greenlet.handle())
            .finish_non_exhaustive()
    }
}

/// `greenlet.await` waits for the greenlet and gives its value (moved
/// out) or its failure; see [`GreenletFuture`].
///
/// # Examples
///
/// ```
/// let v = gevent::run_async(async { gevent::spawn(|| 6 * 7).await })??;
/// assert_eq!(v, 42);
/// # Ok::<(), gevent::Error>(())
/// ```
impl<T: 'static> IntoFuture for Greenlet<T> {
    type Output = Result<T, Error>;
    type IntoFuture = GreenletFuture<T>;

    fn into_future(self) -> GreenletFuture<T> {
        GreenletFuture {
            greenlet: self,
            waker: Rc::default(),
            link: None,
        }
    }
}

/// `(&greenlet).await`: like awaiting the greenlet itself, keeping the
/// handle.
///
/// # Examples
///
/// ```
/// let g = gevent::spawn(|| 1);
/// let v = gevent::run_async(async { (&g).await })??;
/// assert_eq!(v, 1);
/// assert!(g.dead());
/// # Ok::<(), gevent::Error>(())
/// ```
impl<T: 'static> IntoFuture for &Greenlet<T> {
    type Output = Result<T, Error>;
    type IntoFuture = GreenletFuture<T>;

    fn into_future(self) -> GreenletFuture<T> {
        self.clone().into_future()
    }
}
