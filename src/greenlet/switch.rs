//! The context switch: the only code that touches the `context` crate.
//!
//! Protocol: whoever switches passes its own [`State`] address as the
//! transfer data; whoever is resumed stores the returned suspended context
//! into that state. A greenlet that finishes parks its own last reference
//! in `ZOMBIE` before its final switch, and the resumed side drops it once
//! the dead stack is no longer in use.

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use context::{Context, Transfer};

use super::stack::{self, GreenletStack};
use super::state::{State, Task};

thread_local! {
    /// The greenlet running on this thread (never null once the hub exists).
    static CURRENT: Cell<*const State> = const { Cell::new(std::ptr::null()) };
    /// The last reference to a greenlet that just finished (from
    /// `Rc::into_raw`), dropped by the next greenlet to run (it cannot be
    /// dropped on its own stack). A raw pointer rather than an `Rc`, so
    /// that the thread-local has no destructor and each access on the
    /// switch path is a plain load or store; every switch is followed by
    /// `after_resume`, which takes it at once, so none is ever left over.
    static ZOMBIE: Cell<Option<NonNull<dyn Task>>> = const { Cell::new(None) };
}

/// The running greenlet's state, or null before the hub exists.
#[inline]
pub(crate) fn current_ptr() -> *const State {
    CURRENT.with(|c| c.get())
}

/// Marks `s` as the running greenlet (used once, for the main greenlet).
pub(crate) fn set_current(s: *const State) {
    CURRENT.with(|c| c.set(s));
}

/// Suspends `from` (the running greenlet) and resumes `to`, which must be
/// suspended (have a saved context). Returns when something switches back
/// to `from`.
///
/// # Safety
///
/// `from` must be the running greenlet and `to` a suspended one; both must
/// stay alive across the switch (their self-references guarantee it).
#[inline]
pub(crate) unsafe fn switch(from: &State, to: &State) {
    let ctx = to
        .ctx
        .take()
        .expect("gevent: switching to a greenlet that has no saved context");
    CURRENT.with(|c| c.set(to as *const State));
    // The handle is set when the greenlet starts and cleared only when its
    // stack is given up, which never happens to a suspended greenlet.
    stack::enter_handle(to.stack_handle());
    // Where our stack's top will be while we are suspended (this frame is
    // the innermost one but for the context's own register save area), for
    // the scheduler to prefetch before it resumes us.
    let marker = 0u8;
    from.sp_hint
        .set(std::hint::black_box(&marker) as *const u8 as usize);
    // SAFETY: `ctx` is the saved context of `to`, whose stack is alive; we
    // pass our state's address so the resumed side can save our context.
    let t = unsafe { ctx.resume(from as *const State as usize) };
    // SAFETY: we were resumed by `switch` or by a new greenlet's first
    // switch, both of which pass a live State address.
    unsafe { after_resume(t) };
}

/// Saves the context of the greenlet that switched to us and drops a
/// finished greenlet's last reference.
///
/// # Safety
///
/// `t.data` must be the address of a live `State`.
#[inline]
unsafe fn after_resume(t: Transfer) {
    // SAFETY: guaranteed by the caller; a finished greenlet is kept alive
    // by ZOMBIE until the line below the store.
    let prev = unsafe { &*(t.data as *const State) };
    prev.ctx.set(Some(t.context));
    if let Some(z) = ZOMBIE.with(|z| z.take()) {
        // SAFETY: ZOMBIE only ever holds a pointer from `Rc::into_raw`
        // (in `entry`), taken out exactly once, here.
        drop(unsafe { Rc::from_raw(z.as_ptr()) });
    }
}

/// Prepares `state` to run a greenlet body on `stack` at its first resume.
pub(crate) fn prepare(state: &State, stack: &GreenletStack) {
    prepare_with(state, stack, entry);
}

/// Prepares `state` to run `f` on `stack` at its first resume; `f` must
/// call [`entered`] first.
pub(crate) fn prepare_with(state: &State, stack: &GreenletStack, f: extern "C" fn(Transfer) -> !) {
    // SAFETY: the stack outlives the context: both belong to `state`, and
    // the context is only resumed while the state is alive.
    let ctx = unsafe { Context::new(&stack.context_stack(), f) };
    state.ctx.set(Some(ctx));
}

/// The first thing a context entry function does.
pub(crate) fn entered(t: Transfer) {
    // SAFETY: the first resume comes from `switch`, passing a live State.
    unsafe { after_resume(t) };
}

extern "C" fn entry(t: Transfer) -> ! {
    entered(t);
    let me = current_ptr();
    // SAFETY: `switch` set CURRENT to this greenlet's live state.
    let state = unsafe { &*me };
    // Runs the body and notifies; every Rust value it creates is dropped
    // before it returns, and it catches every panic.
    super::run_started(state);
    // Hand our last self-reference to whoever runs next, then leave for good.
    let selfref = state.take_selfref();
    let zombie = selfref.map(|rc| {
        // SAFETY: `Rc::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(Rc::into_raw(rc) as *mut dyn Task) }
    });
    ZOMBIE.with(|z| z.set(zombie));
    crate::hub::hub_inner().switch_away(state);
    // A finished greenlet is never resumed.
    std::process::abort();
}

/// Hints the CPU to fetch the cache lines of a greenlet's hot fields,
/// given the address of its task (an `Rc<dyn Task>`'s value, whose first
/// field is the [`State`]: `#[repr(C)]` in `Inner`), and of the `Rc`
/// counts just before it. Never dereferences `task`: a wrong address only
/// wastes the prefetch.
#[inline(always)]
pub(crate) fn prefetch_state(task: *const u8) {
    // The `Rc` counts sit 16 bytes before the value; the hot fields (up
    // to `throws`) end 120 bytes after the counts: at most three lines.
    let p = task.wrapping_sub(16);
    prefetch(p);
    prefetch(p.wrapping_add(64));
    prefetch(p.wrapping_add(119));
}

/// Hints the CPU to fetch the top of a suspended stack, from the address
/// `switch` recorded in [`State::sp_hint`] (0: unknown): the lines a
/// resume reads (the context's saved registers just below it, the
/// innermost frames above). Six lines: measured at 100k ready greenlets,
/// four (up to the hint + 128) left a third of the gain on the table and
/// ten were no better than six. Never dereferences it.
#[inline(always)]
pub(crate) fn prefetch_stack(top: usize) {
    if top == 0 {
        return;
    }
    let p = top as *const u8;
    prefetch(p.wrapping_sub(128));
    prefetch(p.wrapping_sub(64));
    prefetch(p);
    prefetch(p.wrapping_add(64));
    prefetch(p.wrapping_add(128));
    prefetch(p.wrapping_add(192));
}

/// A read prefetch into all cache levels; a no-op where unsupported.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no architectural effect,
    // whatever the address (SSE is part of x86_64's baseline).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
