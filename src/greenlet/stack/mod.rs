//! Greenlet stacks: a per-thread pool of guarded stacks carved out of slabs.
//!
//! # Slabs and the pool
//!
//! Every thread that creates greenlets owns a pool. A stack is one *slot*:
//! a guard page at its low end (x86_64 stacks grow down) followed by the
//! usable bytes, the usable size rounded up to whole pages. Slots of one
//! usable size (a *size class*) are carved out of *slabs*: one anonymous
//! `mmap` holding many slots, 64 for the first slab of a class, doubling
//! for each further slab up to 1024 (and at most 256 MiB of address space
//! per slab). Slots are carved lazily, so an untouched slot costs only
//! address space, and a stack that is dropped goes back to its class's
//! free list (LIFO, so the most recently used, cache-warm stack comes back
//! first). Taking a stack from the pool and giving it back is a few loads
//! and stores: no system call, no allocation.
//!
//! Slabs are mapped `MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
//! MAP_STACK` (and `MADV_NOHUGEPAGE`, so that touching the top of one stack
//! never brings in a 2 MiB huge page): only pages a greenlet really touches
//! cost memory, and the untouched rest of a stack is not charged against
//! the overcommit limit.
//!
//! Slabs are never unmapped while their thread lives. When the thread
//! exits, its pool is freed (slabs unmapped, records freed) as soon as no
//! stack of it is live any more: immediately if none is, otherwise when the
//! last live stack is dropped (a stack leaked with `mem::forget` leaks its
//! whole pool, never anything worse). A `GreenletStack` is `!Send`; should
//! one still be dropped on a thread other than its pool's (only possible
//! through `unsafe` code), it is leaked instead of being returned, so a
//! foreign pool is never touched.
//!
//! # Guard pages and the memory-map limit
//!
//! Linux limits the number of memory mappings (VMAs) of a process to
//! `vm.max_map_count`, 65530 by default. The classic way to make a guard
//! page, `mprotect(PROT_NONE)`, splits the mapping around it, so every
//! guarded stack costs two VMAs and a process can hold only about
//! 32,000 live stacks.
//!
//! On Linux 6.13 and later `madvise(MADV_GUARD_INSTALL)` (102; its inverse
//! is `MADV_GUARD_REMOVE`, 103) installs guard markers in the page tables
//! instead: touching one raises `SIGSEGV` just like a `PROT_NONE` page, but
//! the mapping is not split. A slab of 1024 stacks is then one VMA (and
//! neighbouring slabs may even merge), so a million live stacks need about a
//! thousand mappings. Support is detected once per process, on the first
//! guard the process installs: `EINVAL` means the kernel does not know the
//! advice (or refuses it for that mapping, e.g. under `mlockall`), and the
//! process falls back to `mprotect` for good. [`stats`] reports which way
//! guards are installed.
//!
//! With the fallback, a guard is `mprotect`ed when its slot is first carved,
//! so mappings grow by two per stack ever carved (stacks in the pool keep
//! theirs), and the live-stack limit is about `vm.max_map_count / 2` minus
//! what the rest of the program maps. When `mmap` or `mprotect` then fails
//! with `ENOMEM`, [`GreenletStack::new`] returns an
//! [`io::ErrorKind::OutOfMemory`] error whose message says that
//! `vm.max_map_count` was reached and how to raise it; nothing crashes.
//!
//! # Memory (RSS) policy
//!
//! A parked greenlet costs the pages its stack really touched, typically
//! one. A stack returned to the pool keeps its dirty pages while it is among
//! the [`HOT_STACKS`] most recently returned stacks of its size class; when
//! more than that many stacks are pooled, the one that falls out of that
//! window gets `madvise(MADV_DONTNEED)` on everything below its top page,
//! once. The steady state of spawn + join therefore never makes a system
//! call, and memory held by idle pooled stacks is bounded by
//! `HOT_STACKS * stack size` plus one page per other pooled stack. The
//! numbers behind the choice are at [`HOT_STACKS`].
//!
//! # Stack-overflow reports
//!
//! On the first allocation in the process, a `SIGSEGV` and `SIGBUS` handler
//! is installed with `SA_SIGINFO | SA_ONSTACK`, remembering the handler that
//! was there before (normally std's own stack-overflow handler). The switch
//! code calls [`GreenletStack::enter`] right before it switches onto a stack
//! and [`leave`] when it switches back to the thread's own stack; that keeps
//! a thread-local pointer to the running stack's [`StackRecord`]. When a
//! fault hits the guard page of that stack, the handler writes
//!
//! ```text
//! gevent: greenlet <Greenlet "NAME"> overflowed its stack (131072 bytes); use a larger stack_size
//! ```
//!
//! to stderr with a single `write(2)` and aborts. Any other fault goes to
//! the previous handler (or, when that was the default action, the default
//! action is restored and the fault re-raised), so std still reports
//! overflows of thread stacks and a null dereference still dies of
//! `SIGSEGV`. The handler runs on the alternate signal stack: when a thread
//! creates its pool and has none (threads not started by std), one is
//! allocated for it and freed when the thread exits.
//!
//! Only faults inside the guard page are recognised: code that moves the
//! stack pointer more than a page at once without probing (Rust always
//! probes; C needs `-fstack-clash-protection`) could step over the guard.
//!
//! This module is written for Linux (the only platform the code has been
//! run on); `MADV_GUARD_INSTALL` is Linux-only, and everywhere else guards
//! would be made with `mprotect`.
//!
//! # Layout
//!
//! This file holds the stack handle and the thread-locals; `slab` the pool
//! and slab allocation, `guard` the guard pages (with the `mprotect`
//! fallback and its `ENOMEM` explanation), `overflow` the fault handler and
//! the alternate signal stack.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{Ordering, compiler_fence};

use libc::{c_int, c_void};

mod guard;
mod overflow;
mod slab;
#[cfg(test)]
mod tests;

use guard::{GUARD_MADVISE, GUARD_MODE};
use slab::{Pool, PoolOwner};

/// Usable bytes of a greenlet stack when the caller asks for nothing else.
pub(crate) const DEFAULT_STACK_SIZE: usize = 128 * 1024;

/// `madvise` advice installing guard markers (Linux 6.13+; not in libc yet).
const MADV_GUARD_INSTALL: c_int = 102;

/// Extra `mmap` flags of a slab: no swap/overcommit reservation for the
/// untouched part, and the stack hint (which on Linux 6.7+ also disables
/// transparent huge pages for the mapping).
const SLAB_MAP_FLAGS: c_int =
    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;

/// Slots in the first slab of a size class; each further slab doubles it.
const FIRST_SLAB_SLOTS: usize = 64;
/// Upper bound on slots per slab.
const MAX_SLAB_SLOTS: usize = 1024;
/// Upper bound on the address space of one slab (for big stack sizes).
const MAX_SLAB_BYTES: usize = 256 << 20;

/// How many returned stacks per size class may keep their dirty pages.
///
/// Measured on the target machine (Linux 6.18 VM, x86_64, 2 cores), for a
/// 128 KiB stack: `madvise(MADV_DONTNEED)` of the 124 KiB below the top page
/// costs about 1.0 us even when none of it was touched, 3.7 us with 3 dirty
/// pages and 16 us with all 31 dirty (7 us and 39 us when another thread of
/// the process is running: TLB shootdowns), and faulting a released page
/// back in costs about 2.5 us. A warm take + give costs 5 to 10 ns. Releasing
/// on every return would make spawn + join 100 to 1000 times slower, so only
/// a stack that falls out of the window of the `HOT_STACKS` most recently
/// returned ones is released, once. Spawn/join churn stays inside the window
/// and never makes the call; a burst of exits pays about 1 us per surplus
/// stack (0.8 us each measured for 100,000 stacks that had touched only
/// their top page). Idle dirty memory is bounded by `HOT_STACKS * 128 KiB`
/// = 8 MiB per size class.
const HOT_STACKS: usize = 64;

/// Pages at the top of a pooled stack that are kept when it is released:
/// the top page holds the initial context frame and is touched by every
/// greenlet anyway.
const KEEP_PAGES: usize = 1;

/// Capacity of a stack's label buffer (the label itself is at most one less).
const LABEL_CAP: usize = 64;

/// `getauxval` key of the kernel's minimal signal-stack size (not in libc).
const AT_MINSIGSTKSZ: libc::c_ulong = 51;
/// Least size of an alternate signal stack this module allocates.
const ALTSTACK_MIN: usize = 64 * 1024;

thread_local! {
    /// The record of the greenlet stack running on this thread, or null.
    ///
    /// Const-initialised, with a type that needs no destructor: accessing it
    /// compiles to a plain thread-local load or store (no lazy-init check,
    /// no destructor registration), which is what makes it usable both on
    /// the switch path and from the signal handler. Its address also serves
    /// as this thread's identity.
    static CURRENT: Cell<*const StackRecord> = const { Cell::new(ptr::null()) };

    /// This thread's pool, or null before the first allocation and after the
    /// thread-exit destructor ran. Const-initialised, no destructor.
    static POOL: Cell<*mut Pool> = const { Cell::new(ptr::null_mut()) };

    /// Owns this thread's pool; its destructor frees or orphans it.
    static POOL_OWNER: PoolOwner = const { PoolOwner(Cell::new(ptr::null_mut())) };
}

/// Everything the overflow handler needs to know about one stack.
///
/// Heap-allocated when its slot is first carved and never moved; owned by
/// the pool, which frees it together with the slabs. All fields but the
/// label are immutable after creation.
struct StackRecord {
    /// Lowest address of the guard page.
    guard_lo: usize,
    /// Lowest usable address (one past the guard page).
    bottom: usize,
    /// One past the highest usable address (where the stack starts).
    top: usize,
    /// The pool this stack belongs to.
    pool: *mut Pool,
    /// Index of the size class in `pool.classes`.
    class: usize,
    /// Bytes of `label` in use (at most `LABEL_CAP - 1`).
    label_len: Cell<u8>,
    /// UTF-8 name of the greenlet for the overflow report.
    label: UnsafeCell<[u8; LABEL_CAP]>,
    /// Valgrind's registration of `[bottom, top)` (0: not under valgrind).
    valgrind_id: usize,
}

impl StackRecord {
    /// Usable bytes.
    fn size(&self) -> usize {
        self.top - self.bottom
    }
}

/// One greenlet stack, owned; returned to this thread's pool on drop.
///
/// `!Send`: it belongs to the pool of the thread that created it.
pub(crate) struct GreenletStack {
    /// The stack's record; valid while this value lives.
    rec: NonNull<StackRecord>,
    /// Pins the stack to its thread.
    _not_send: PhantomData<*const ()>,
}

impl GreenletStack {
    /// Takes a stack of at least `size` usable bytes from this thread's pool
    /// (or a new slab). `size` is rounded up to whole pages (at least one).
    ///
    /// # Errors
    ///
    /// `OutOfMemory` when the stack cannot be mapped or guarded (the message
    /// names `vm.max_map_count` when that is the cause), `InvalidInput` for
    /// an absurd `size`, and an error when called while the thread's
    /// thread-local storage is being torn down.
    #[inline]
    pub(crate) fn new(size: usize) -> io::Result<GreenletStack> {
        let mut pool = POOL.with(Cell::get);
        if pool.is_null() {
            pool = Pool::create()?;
        }
        // SAFETY: `pool` is this thread's live pool (POOL is reset before the
        // pool is orphaned), only this thread touches it, and no other
        // reference to it is alive: pool methods never call back into code
        // that could reach the pool.
        let rec = unsafe { (*pool).take(size)? };
        Ok(GreenletStack {
            rec,
            _not_send: PhantomData,
        })
    }

    /// The record, valid as long as `self`.
    #[inline]
    fn record(&self) -> &StackRecord {
        // SAFETY: records live until their pool is freed, which never
        // happens while one of its stacks is live.
        unsafe { self.rec.as_ref() }
    }

    /// The `context` crate's view of it, for
    /// `context::Context::new(&stack.context_stack(), f)`.
    pub(crate) fn context_stack(&self) -> context::stack::Stack {
        let rec = self.record();
        // SAFETY: `[bottom, top)` is mapped read-write and owned by this
        // stack for as long as `self` lives; the caller must not use the
        // `Stack` (or a context on it) after dropping `self`.
        unsafe { context::stack::Stack::new(rec.top as *mut c_void, rec.bottom as *mut c_void) }
    }

    /// Usable bytes (the requested size rounded up to whole pages).
    #[inline]
    #[allow(dead_code)] // used by the tests and diagnostics
    pub(crate) fn size(&self) -> usize {
        self.record().size()
    }

    /// Copies up to 63 bytes of `name` (truncated on a char boundary) into
    /// the label used by the overflow report.
    pub(crate) fn set_label(&self, name: &str) {
        let mut len = name.len().min(LABEL_CAP - 1);
        while !name.is_char_boundary(len) {
            len -= 1;
        }
        let rec = self.record();
        // A signal handler on this thread may read the label at any point;
        // hide it while it changes (the fences keep the compiler from
        // moving the copy across the length stores).
        rec.label_len.set(0);
        compiler_fence(Ordering::SeqCst);
        // SAFETY: `len < LABEL_CAP`; the buffer is only ever accessed through
        // raw pointers, by this thread (here and in its signal handler).
        unsafe { ptr::copy_nonoverlapping(name.as_ptr(), rec.label.get().cast::<u8>(), len) };
        compiler_fence(Ordering::SeqCst);
        rec.label_len.set(len as u8);
    }

    /// What [`enter_handle`] needs to mark this stack as running, kept by
    /// the greenlet's state next to its other hot fields (so that a switch
    /// does not read the `GreenletStack` itself, on a colder cache line).
    #[inline]
    pub(crate) fn handle(&self) -> StackHandle {
        StackHandle(self.rec.as_ptr())
    }

    /// Marks this stack as the one now running on this thread (called by
    /// the switch code right before switching onto it); see [`leave`].
    #[inline]
    #[allow(dead_code)] // the switch uses `enter_handle`; tests use this
    pub(crate) fn enter(&self) {
        let rec: *const StackRecord = self.rec.as_ptr();
        CURRENT.with(|current| current.set(rec));
    }

    /// The label as stored (test helper).
    #[cfg(test)]
    fn label(&self) -> String {
        let rec = self.record();
        let len = usize::from(rec.label_len.get());
        // SAFETY: the first `len` bytes were copied from a `&str` cut on a
        // char boundary.
        let bytes = unsafe { std::slice::from_raw_parts(rec.label.get().cast::<u8>(), len) };
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}

impl Drop for GreenletStack {
    #[inline]
    fn drop(&mut self) {
        let rec = self.rec.as_ptr();
        let thread = CURRENT.with(|current| {
            if ptr::eq(current.get(), rec) {
                current.set(ptr::null());
            }
            current as *const Cell<*const StackRecord> as usize
        });
        // SAFETY: the record is valid while this stack is live; `pool` and
        // `pool.owner` are written once before any stack exists.
        let pool = unsafe { (*rec).pool };
        // SAFETY: as above; reading the immutable `owner` field is not a race
        // even from a foreign thread.
        if unsafe { (*pool).owner } != thread {
            // Dropped on a foreign thread (only possible through unsafe code
            // sending it there): leak it rather than touch another thread's
            // pool.
            return;
        }
        // SAFETY: this is the pool's own thread and the stack is live, so
        // the pool is allocated; no other reference to it is alive.
        unsafe { Pool::give(pool, self.rec) };
    }
}

impl fmt::Debug for GreenletStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rec = self.record();
        f.debug_struct("GreenletStack")
            .field("bottom", &(rec.bottom as *const u8))
            .field("top", &(rec.top as *const u8))
            .field("size", &rec.size())
            .finish()
    }
}

/// Which stack a greenlet runs on, for [`enter_handle`]: the address of the
/// stack's record, or null for the thread's own stack (the main greenlet).
///
/// Invariant: whoever keeps a non-null handle also keeps the
/// [`GreenletStack`] it came from alive (the greenlet's state holds both
/// and clears the handle when it gives the stack up), so the record
/// [`enter_handle`] publishes is valid while the stack runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackHandle(*const StackRecord);

impl StackHandle {
    /// The thread's own stack.
    pub(crate) const THREAD: StackHandle = StackHandle(ptr::null());
}

/// Marks the stack of `h` as the one now running on this thread:
/// [`GreenletStack::enter`] for a greenlet stack, [`leave`] for the
/// thread's own.
#[inline]
pub(crate) fn enter_handle(h: StackHandle) {
    CURRENT.with(|current| current.set(h.0));
}

/// Marks that no greenlet stack is running on this thread (the thread's own
/// stack, i.e. the hub, is running).
#[inline]
pub(crate) fn leave() {
    CURRENT.with(|current| current.set(ptr::null()));
}

/// Statistics of this thread's pool, for tests and benchmarks.
#[allow(dead_code)] // read by tests and benchmarks only
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StackStats {
    /// Stacks handed out and not yet dropped.
    pub(crate) live: usize,
    /// Stacks waiting in the pool for reuse.
    pub(crate) pooled: usize,
    /// Slabs mapped by this thread.
    pub(crate) slabs: usize,
    /// Whether this process installs guards with `MADV_GUARD_INSTALL` (false
    /// when it uses `mprotect`, or has not installed a guard yet).
    pub(crate) madv_guard: bool,
}

/// Statistics of this thread's pool (all zero before its first stack).
#[allow(dead_code)] // called by tests and benchmarks only
pub(crate) fn stats() -> StackStats {
    let madv_guard = GUARD_MODE.load(Ordering::Relaxed) == GUARD_MADVISE;
    let pool = POOL.with(Cell::get);
    if pool.is_null() {
        return StackStats {
            madv_guard,
            ..StackStats::default()
        };
    }
    // SAFETY: this thread's live pool, read without other references alive.
    let pool = unsafe { &*pool };
    StackStats {
        live: pool.live,
        pooled: pool.classes.iter().map(|c| c.free.len()).sum(),
        slabs: pool.slabs.len(),
        madv_guard,
    }
}
