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

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, compiler_fence};

use libc::{c_int, c_void};

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

/// Guard strategy not known yet (no guard installed in this process).
const GUARD_UNKNOWN: u8 = 0;
/// Guards are `MADV_GUARD_INSTALL` markers.
const GUARD_MADVISE: u8 = 1;
/// Guards are `mprotect(PROT_NONE)` pages.
const GUARD_MPROTECT: u8 = 2;
/// How guard pages are made in this process (one of the `GUARD_*`).
static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);

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

/// Stacks of one usable size.
struct SizeClass {
    /// Usable bytes of each stack.
    size: usize,
    /// Returned stacks, most recently returned last.
    free: Vec<NonNull<StackRecord>>,
    /// `free[..released]` have had their pages released.
    released: usize,
    /// Base of the slab being carved (0: none).
    carve_base: usize,
    /// Slots of that slab carved so far.
    carve_next: usize,
    /// Slots of that slab.
    carve_cap: usize,
    /// Slabs mapped for this class so far.
    slabs: usize,
}

/// One thread's stacks.
struct Pool {
    /// The pointer this pool was allocated at (records point to the pool
    /// through it, never through a reference).
    this: *mut Pool,
    /// Identity of the owning thread: the address of its `CURRENT`.
    owner: usize,
    /// The system page size.
    page: usize,
    /// Size classes, in order of creation (indices are stable).
    classes: Vec<SizeClass>,
    /// Every slab mapped: (base, length).
    slabs: Vec<(usize, usize)>,
    /// Every record created, to be freed with the pool.
    records: Vec<NonNull<StackRecord>>,
    /// Stacks handed out and not yet returned.
    live: usize,
    /// The owning thread has exited; free the pool when `live` drops to 0.
    orphaned: bool,
    /// Alternate signal stack this pool allocated: (mapping base, length,
    /// `ss_sp`).
    altstack: Option<(usize, usize, usize)>,
}

impl Pool {
    /// Creates this thread's pool (first allocation on the thread).
    #[cold]
    fn create() -> io::Result<*mut Pool> {
        install_handlers();
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        let owner = CURRENT.with(|current| current as *const Cell<*const StackRecord> as usize);
        let pool = Box::into_raw(Box::new(Pool {
            this: ptr::null_mut(),
            owner,
            page,
            classes: Vec::new(),
            slabs: Vec::new(),
            records: Vec::new(),
            live: 0,
            orphaned: false,
            altstack: None,
        }));
        // SAFETY: just allocated, not shared yet.
        unsafe { (*pool).this = pool };
        if POOL_OWNER.try_with(|o| o.0.set(pool)).is_err() {
            // SAFETY: not registered anywhere, no stack exists.
            unsafe { Pool::free(pool) };
            return Err(io::Error::other(
                "gevent: cannot create a greenlet stack while the thread is exiting",
            ));
        }
        // SAFETY: this thread's pool, no other reference alive.
        if let Err(e) = unsafe { (*pool).ensure_altstack() } {
            let _ = POOL_OWNER.try_with(|o| o.0.set(ptr::null_mut()));
            // SAFETY: unregistered again, no stack exists; a later
            // allocation on this thread starts over.
            unsafe { Pool::free(pool) };
            return Err(e);
        }
        POOL.with(|p| p.set(pool));
        Ok(pool)
    }

    /// Takes a stack of at least `size` usable bytes.
    #[inline]
    fn take(&mut self, size: usize) -> io::Result<NonNull<StackRecord>> {
        let size = match size.max(1).checked_add(self.page - 1) {
            Some(s) if s <= isize::MAX as usize / 2 => s & !(self.page - 1),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("gevent: greenlet stack size {size} is too large"),
                ));
            }
        };
        let class = match self.classes.iter().position(|c| c.size == size) {
            Some(i) => i,
            None => self.add_class(size),
        };
        let c = &mut self.classes[class];
        let rec = match c.free.pop() {
            Some(rec) => {
                c.released = c.released.min(c.free.len());
                rec
            }
            None => self.carve(class)?,
        };
        self.live += 1;
        Ok(rec)
    }

    /// Adds an empty size class and returns its index.
    #[cold]
    fn add_class(&mut self, size: usize) -> usize {
        self.classes.push(SizeClass {
            size,
            free: Vec::new(),
            released: 0,
            carve_base: 0,
            carve_next: 0,
            carve_cap: 0,
            slabs: 0,
        });
        self.classes.len() - 1
    }

    /// Carves a new stack of class `class`, mapping a slab if needed.
    #[cold]
    fn carve(&mut self, class: usize) -> io::Result<NonNull<StackRecord>> {
        let page = self.page;
        let size = self.classes[class].size;
        let slot = size + page;
        if self.classes[class].carve_next == self.classes[class].carve_cap {
            let wanted = (FIRST_SLAB_SLOTS << self.classes[class].slabs.min(8))
                .min(MAX_SLAB_SLOTS)
                .min(MAX_SLAB_BYTES / slot)
                .max(1);
            let (base, slots) = match map_slab(wanted * slot) {
                Ok(base) => (base, wanted),
                // Perhaps a commit or address-space limit: try a slab of one.
                Err(_) if wanted > 1 => (map_slab(slot)?, 1),
                Err(e) => return Err(e),
            };
            self.slabs.push((base, slots * slot));
            let c = &mut self.classes[class];
            c.carve_base = base;
            c.carve_next = 0;
            c.carve_cap = slots;
            c.slabs += 1;
        }
        let c = &mut self.classes[class];
        let guard_lo = c.carve_base + c.carve_next * slot;
        // Only advance once the guard is in place: on failure the slot stays
        // uncarved and the next attempt retries it.
        install_guard(guard_lo, page)?;
        c.carve_next += 1;
        let rec = NonNull::from(Box::leak(Box::new(StackRecord {
            guard_lo,
            bottom: guard_lo + page,
            top: guard_lo + slot,
            pool: self.this,
            class,
            label_len: Cell::new(0),
            label: UnsafeCell::new([0; LABEL_CAP]),
        })));
        self.records.push(rec);
        Ok(rec)
    }

    /// Returns a stack to `pool`, releasing a surplus stack's pages and
    /// freeing an orphaned pool whose last stack this was.
    ///
    /// # Safety
    ///
    /// `pool` is allocated, belongs to this thread, has no other reference
    /// alive, and `rec` is one of its live stacks.
    #[inline]
    unsafe fn give(pool: *mut Pool, rec: NonNull<StackRecord>) {
        // SAFETY: guaranteed by the caller.
        let p = unsafe { &mut *pool };
        p.live -= 1;
        // SAFETY: `rec` is a record of this pool.
        let c = &mut p.classes[unsafe { rec.as_ref() }.class];
        c.free.push(rec);
        if c.free.len() - c.released > HOT_STACKS {
            // SAFETY: pooled records are valid and their stacks unused.
            unsafe { release_pages(c.free[c.released].as_ref(), p.page) };
            c.released += 1;
        }
        if p.orphaned && p.live == 0 {
            // SAFETY: the thread-local no longer points to an orphaned pool
            // and no stack of it is live.
            unsafe { Pool::free(pool) };
        }
    }

    /// Makes sure this thread has an alternate signal stack.
    fn ensure_altstack(&mut self) -> io::Result<()> {
        // SAFETY: an all-zero stack_t is a valid value to be overwritten.
        let mut cur: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: querying only; `cur` is a valid out-pointer.
        if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return Ok(()); // std's, or someone else's
        }
        // SAFETY: getauxval has no preconditions (0 when the key is absent).
        let min = unsafe { libc::getauxval(AT_MINSIGSTKSZ) } as usize;
        let size = (min.max(libc::SIGSTKSZ).max(ALTSTACK_MIN) + self.page - 1) & !(self.page - 1);
        let len = size + self.page;
        let base = map_slab(len)?;
        if let Err(e) = install_guard(base, self.page) {
            // SAFETY: just mapped, not shared.
            unsafe { libc::munmap(base as *mut c_void, len) };
            return Err(e);
        }
        let ss = libc::stack_t {
            ss_sp: (base + self.page) as *mut c_void,
            ss_flags: 0,
            ss_size: size,
        };
        // SAFETY: `ss` describes memory owned by this pool until the thread
        // exits (see `PoolOwner::drop`).
        if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: not installed, not shared.
            unsafe { libc::munmap(base as *mut c_void, len) };
            return Err(e);
        }
        self.altstack = Some((base, len, base + self.page));
        Ok(())
    }

    /// Unmaps the slabs and frees the records and the pool.
    ///
    /// # Safety
    ///
    /// `pool` is allocated, no stack of it is live and nothing refers to it.
    unsafe fn free(pool: *mut Pool) {
        // SAFETY: guaranteed by the caller.
        let pool = unsafe { Box::from_raw(pool) };
        for &rec in &pool.records {
            // SAFETY: created by Box::leak in `carve`, freed once here.
            drop(unsafe { Box::from_raw(rec.as_ptr()) });
        }
        for &(base, len) in &pool.slabs {
            // SAFETY: mapped by `map_slab`; no stack in it is in use.
            unsafe { libc::munmap(base as *mut c_void, len) };
        }
    }
}

/// Owner of a thread's pool in thread-local storage.
struct PoolOwner(Cell<*mut Pool>);

impl Drop for PoolOwner {
    fn drop(&mut self) {
        let pool = self.0.replace(ptr::null_mut());
        if pool.is_null() {
            return;
        }
        POOL.with(|p| p.set(ptr::null_mut()));
        // SAFETY: the pool is allocated (only this destructor or the last
        // `give` after it frees it) and no other reference to it is alive.
        let p = unsafe { &mut *pool };
        if let Some((base, len, sp)) = p.altstack.take() {
            free_altstack(base, len, sp);
        }
        if p.live == 0 {
            // SAFETY: unregistered above and no stack is live.
            unsafe { Pool::free(pool) };
        } else {
            // Greenlets still hold stacks (e.g. a hub in another
            // thread-local destroyed later): the last `give` frees the pool.
            p.orphaned = true;
        }
    }
}

/// Uninstalls (if still installed) and unmaps this thread's alternate
/// signal stack allocated by `ensure_altstack`.
fn free_altstack(base: usize, len: usize, sp: usize) {
    // SAFETY: an all-zero stack_t is a valid value to be overwritten.
    let mut cur: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: querying only.
    if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
        return;
    }
    if cur.ss_flags & libc::SS_ONSTACK != 0 {
        return; // running on it (cannot happen in a TLS destructor): leak
    }
    if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_sp as usize == sp {
        let off = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling the thread's alternate stack, which is ours.
        unsafe { libc::sigaltstack(&off, ptr::null_mut()) };
    }
    // SAFETY: mapped by `ensure_altstack` and no longer installed.
    unsafe { libc::munmap(base as *mut c_void, len) };
}

/// Maps `len` bytes of anonymous, unreserved, read-write memory.
fn map_slab(len: usize) -> io::Result<usize> {
    // SAFETY: a fresh anonymous mapping overlaps nothing.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            SLAB_MAP_FLAGS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENOMEM) {
            enomem_error(&format!("map {len} bytes"))
        } else {
            e
        });
    }
    // Best effort: where MAP_STACK does not imply it (before Linux 6.7),
    // keep transparent huge pages out of stacks so that touching the top of
    // one stack costs 4 KiB, not 2 MiB.
    // SAFETY: advice on our own fresh mapping.
    unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) };
    Ok(p as usize)
}

/// Makes the page at `addr` a guard page.
fn install_guard(addr: usize, page: usize) -> io::Result<()> {
    let mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode != GUARD_MPROTECT && !forced_mprotect() {
        for _ in 0..64 {
            // SAFETY: `addr` is a page of a private anonymous mapping of ours
            // that holds no data.
            if unsafe { libc::madvise(addr as *mut c_void, page, MADV_GUARD_INSTALL) } == 0 {
                if mode == GUARD_UNKNOWN {
                    GUARD_MODE.store(GUARD_MADVISE, Ordering::Relaxed);
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR | libc::EAGAIN) => {}
                Some(libc::EINVAL) => {
                    // Unknown advice (or refused for this mapping): decide
                    // for good if this was the first try, else fall back for
                    // this guard only.
                    if mode == GUARD_UNKNOWN {
                        GUARD_MODE.store(GUARD_MPROTECT, Ordering::Relaxed);
                    }
                    break;
                }
                Some(libc::ENOMEM) => return Err(enomem_error("install a guard page")),
                _ => return Err(e),
            }
        }
    }
    if mode == GUARD_UNKNOWN && forced_mprotect() {
        GUARD_MODE.store(GUARD_MPROTECT, Ordering::Relaxed);
    }
    // SAFETY: as above; PROT_NONE on our own page.
    if unsafe { libc::mprotect(addr as *mut c_void, page, libc::PROT_NONE) } != 0 {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENOMEM) {
            enomem_error("mprotect a guard page")
        } else {
            e
        });
    }
    Ok(())
}

/// Tests can force the `mprotect` fallback through the environment.
#[cfg(test)]
fn forced_mprotect() -> bool {
    std::env::var_os("GEVENT_STACK_FORCE_MPROTECT").is_some()
}

/// The `mprotect` fallback is only forced in tests.
#[cfg(not(test))]
#[inline]
fn forced_mprotect() -> bool {
    false
}

/// Explains an `ENOMEM` from `op` (mmap, mprotect or madvise).
#[cold]
fn enomem_error(op: &str) -> io::Error {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let maps = std::fs::read("/proc/self/maps")
        .ok()
        .map(|m| m.iter().filter(|&&b| b == b'\n').count());
    let fallback = GUARD_MODE.load(Ordering::Relaxed) == GUARD_MPROTECT;
    let near_limit = matches!((maps, limit), (Some(m), Some(l)) if m + 64 >= l);
    let limit_text = limit.map_or_else(|| "unknown".to_owned(), |l| l.to_string());
    let maps_text = maps.map_or_else(|| "unknown".to_owned(), |m| m.to_string());
    let msg = if fallback || near_limit {
        format!(
            "gevent: cannot {op} for a greenlet stack: vm.max_map_count reached \
             ({maps_text} memory mappings, limit {limit_text}); {}raise it with \
             `sysctl -w vm.max_map_count=N` or use fewer live greenlets",
            if fallback {
                "this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+), so every guarded \
                 stack costs 2 mappings and about half the limit can be live; "
            } else {
                ""
            }
        )
    } else {
        format!(
            "gevent: cannot {op} for a greenlet stack: out of memory or address space \
             (ENOMEM; {maps_text} memory mappings, vm.max_map_count {limit_text}); \
             use fewer live greenlets or a smaller stack_size"
        )
    };
    io::Error::new(io::ErrorKind::OutOfMemory, msg)
}

/// Gives the pages of a pooled stack below its top `KEEP_PAGES` back to
/// the kernel (they read as zero when touched again).
///
/// # Safety
///
/// Nothing may be using the stack (it is pooled).
unsafe fn release_pages(rec: &StackRecord, page: usize) {
    let len = rec.size().saturating_sub(KEEP_PAGES * page);
    if len > 0 {
        // SAFETY: the range lies inside the usable part of a stack nobody
        // uses; MADV_DONTNEED keeps the mapping (and its guard) intact.
        unsafe { libc::madvise(rec.bottom as *mut c_void, len, libc::MADV_DONTNEED) };
    }
}

/// The signal actions that were installed before ours.
struct SavedActions {
    /// Set once both slots are written (before our handler is installed).
    ready: AtomicBool,
    /// Previous SIGSEGV action.
    segv: UnsafeCell<MaybeUninit<libc::sigaction>>,
    /// Previous SIGBUS action.
    bus: UnsafeCell<MaybeUninit<libc::sigaction>>,
}

// SAFETY: the slots are written once, inside `INSTALL`, before `ready` is
// set with Release; afterwards they are only read.
unsafe impl Sync for SavedActions {}

/// Previous actions for chaining.
static SAVED: SavedActions = SavedActions {
    ready: AtomicBool::new(false),
    segv: UnsafeCell::new(MaybeUninit::uninit()),
    bus: UnsafeCell::new(MaybeUninit::uninit()),
};

/// Guards the one-time installation of the fault handler.
static INSTALL: Once = Once::new();

/// Installs the SIGSEGV/SIGBUS handler, once per process.
fn install_handlers() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with valid pointers; the saved slots are written
        // before `ready` is published and before our handler can run.
        unsafe {
            for (sig, slot) in [(libc::SIGSEGV, &SAVED.segv), (libc::SIGBUS, &SAVED.bus)] {
                let old = (*slot.get()).as_mut_ptr();
                ptr::write(old, mem::zeroed());
                (*old).sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, ptr::null(), old);
            }
            SAVED.ready.store(true, Ordering::Release);
            let mut action: libc::sigaction = mem::zeroed();
            let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = on_fault;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut());
            libc::sigaction(libc::SIGBUS, &action, ptr::null_mut());
        }
    });
}

/// The SIGSEGV/SIGBUS handler: reports a fault in the running greenlet's
/// guard page, passes anything else on. Async-signal-safe: no allocation,
/// no locks, only `write` and `abort`.
extern "C" fn on_fault(sig: c_int, info: *mut libc::siginfo_t, uctx: *mut c_void) {
    let rec = CURRENT.with(Cell::get);
    // SAFETY: the kernel passes a valid siginfo; `si_code > 0` means it was
    // raised by a fault (not sent), so `si_addr` is meaningful. `rec` is
    // null or the record of a live stack of this thread.
    unsafe {
        if !rec.is_null() && !info.is_null() && (*info).si_code > 0 {
            let addr = (*info).si_addr() as usize;
            let rec = &*rec;
            if addr >= rec.guard_lo && addr < rec.bottom {
                report_overflow(rec);
                libc::abort();
            }
        }
        chain(sig, info, uctx);
    }
}

/// Writes the overflow report for `rec` to stderr (async-signal-safe).
fn report_overflow(rec: &StackRecord) {
    let mut msg = Message {
        buf: [0; 256],
        len: 0,
    };
    let len = usize::from(rec.label_len.get()).min(LABEL_CAP - 1);
    // SAFETY: `len < LABEL_CAP`; the label is written only by this thread,
    // which is inside this handler.
    let label = unsafe { std::slice::from_raw_parts(rec.label.get().cast::<u8>(), len) };
    msg.push(b"gevent: greenlet <Greenlet");
    if !label.is_empty() {
        msg.push(b" \"");
        msg.push(label);
        msg.push(b"\"");
    }
    msg.push(b"> overflowed its stack (");
    msg.push_decimal(rec.size());
    msg.push(b" bytes); use a larger stack_size\n");
    let mut out = &msg.buf[..msg.len];
    while !out.is_empty() {
        // SAFETY: writing initialised bytes to fd 2; write is
        // async-signal-safe.
        let n = unsafe { libc::write(2, out.as_ptr().cast(), out.len()) };
        if n > 0 {
            out = &out[n as usize..];
        } else if n == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
}

/// A fixed buffer for composing the report without allocating.
struct Message {
    /// The bytes.
    buf: [u8; 256],
    /// Bytes in use.
    len: usize,
}

impl Message {
    /// Appends as much of `bytes` as fits.
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// Appends `n` in decimal.
    fn push_decimal(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// Passes a fault that is not a greenlet overflow to the previous handler.
///
/// # Safety
///
/// Called from the signal handler with its arguments.
unsafe fn chain(sig: c_int, info: *mut libc::siginfo_t, uctx: *mut c_void) {
    let slot = if sig == libc::SIGBUS {
        &SAVED.bus
    } else {
        &SAVED.segv
    };
    let sent = info.is_null() || {
        // SAFETY: non-null siginfo from the kernel.
        unsafe { (*info).si_code <= 0 }
    };
    let old = if SAVED.ready.load(Ordering::Acquire) {
        // SAFETY: written before `ready` was set, never written again.
        Some(unsafe { (*slot.get()).assume_init_ref() })
    } else {
        None
    };
    let handler = old.map_or(libc::SIG_DFL, |o| o.sa_sigaction);
    if handler == libc::SIG_IGN && sent {
        return; // an ignored signal sent with kill(): ignore it
    }
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action; a fault then happens again when the
        // instruction is retried and kills the process as it would have
        // without us. A sent signal is re-raised (it is blocked until we
        // return).
        // SAFETY: async-signal-safe calls with valid arguments.
        unsafe {
            let mut dfl: libc::sigaction = mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(sig, &dfl, ptr::null_mut());
            if sent {
                libc::raise(sig);
            }
        }
        return;
    }
    // SAFETY: `old` is Some here (SIG_DFL otherwise); a handler installed
    // with SA_SIGINFO has the three-argument signature, otherwise the
    // one-argument one.
    unsafe {
        if old.is_some_and(|o| o.sa_flags & libc::SA_SIGINFO != 0) {
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                mem::transmute(handler);
            f(sig, info, uctx);
        } else {
            let f: extern "C" fn(c_int) = mem::transmute(handler);
            f(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use context::{Context, Transfer};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    /// Environment variable selecting a child scenario in `child_entry`.
    const CHILD_ENV: &str = "GEVENT_STACK_TEST_CHILD";

    fn page() -> usize {
        // SAFETY: no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }

    fn maps_lines() -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    }

    #[test]
    fn reuse_returns_the_same_memory() {
        let a = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        let top = a.context_stack().top();
        let before = stats();
        assert!(before.live >= 1);
        drop(a);
        let after = stats();
        assert_eq!(after.live, before.live - 1);
        assert_eq!(after.pooled, before.pooled + 1);
        let b = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        assert_eq!(b.context_stack().top(), top);
        assert_eq!(stats().slabs, after.slabs);
    }

    #[test]
    fn sizes_round_up_and_classes_are_separate() {
        let p = page();
        let one = GreenletStack::new(1).unwrap();
        assert_eq!(one.size(), p);
        let zero = GreenletStack::new(0).unwrap();
        assert_eq!(zero.size(), p);
        let odd = GreenletStack::new(p + 1).unwrap();
        assert_eq!(odd.size(), 2 * p);
        let def = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        assert_eq!(def.size(), DEFAULT_STACK_SIZE);
        let big = GreenletStack::new(3 * 1024 * 1024 + 5).unwrap();
        assert_eq!(big.size(), (3 * 1024 * 1024 + 5usize).div_ceil(p) * p);
        for s in [&one, &zero, &odd, &def, &big] {
            let cs = s.context_stack();
            assert_eq!(cs.len(), s.size());
            assert_eq!(cs.top() as usize % p, 0);
        }
        // A stack of one class is not handed out for another.
        let top = odd.context_stack().top();
        drop(odd);
        let other = GreenletStack::new(3 * p).unwrap();
        assert_ne!(other.context_stack().top(), top);
        assert!(GreenletStack::new(usize::MAX).is_err());
    }

    #[test]
    fn labels_truncate_on_char_boundaries() {
        let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        s.set_label("worker-1");
        assert_eq!(s.label(), "worker-1");
        let long = "é".repeat(40); // 80 bytes, 2 per char
        s.set_label(&long);
        assert_eq!(s.label(), "é".repeat(31)); // 62 bytes, not 63
        s.set_label("");
        assert_eq!(s.label(), "");
    }

    #[test]
    fn enter_leave_and_drop_clear_current() {
        let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        s.enter();
        assert!(ptr::eq(CURRENT.with(Cell::get), s.rec.as_ptr()));
        leave();
        assert!(CURRENT.with(Cell::get).is_null());
        s.enter();
        drop(s);
        assert!(CURRENT.with(Cell::get).is_null());
    }

    #[test]
    fn stats_follow_allocations() {
        std::thread::spawn(|| {
            assert_eq!(stats().live, 0);
            assert_eq!(stats().slabs, 0);
            let stacks: Vec<_> = (0..100)
                .map(|_| GreenletStack::new(DEFAULT_STACK_SIZE).unwrap())
                .collect();
            let s = stats();
            assert_eq!((s.live, s.pooled, s.slabs), (100, 0, 2)); // 64 + 128 slots
            drop(stacks);
            let s = stats();
            assert_eq!((s.live, s.pooled, s.slabs), (0, 100, 2));
            let again: Vec<_> = (0..100)
                .map(|_| GreenletStack::new(DEFAULT_STACK_SIZE).unwrap())
                .collect();
            assert_eq!(stats().slabs, 2);
            assert_eq!(stats().pooled, 0);
            drop(again);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn released_stacks_keep_working_and_read_zero() {
        std::thread::spawn(|| {
            let stacks: Vec<_> = (0..HOT_STACKS + 8)
                .map(|_| GreenletStack::new(DEFAULT_STACK_SIZE).unwrap())
                .collect();
            for s in &stacks {
                let bottom = s.context_stack().bottom().cast::<u8>();
                // SAFETY: the usable range of a stack we own.
                unsafe {
                    ptr::write_volatile(bottom, 0xAA);
                    ptr::write_volatile(bottom.add(s.size() - 1), 0xBB);
                }
            }
            let bottoms: Vec<usize> = stacks
                .iter()
                .map(|s| s.context_stack().bottom() as usize)
                .collect();
            drop(stacks);
            // The first 8 returned fell out of the hot window: released
            // below their top page, which they keep.
            for &b in &bottoms[..8] {
                // SAFETY: pooled stacks stay mapped.
                unsafe {
                    assert_eq!(ptr::read_volatile(b as *const u8), 0);
                    let top = (b + DEFAULT_STACK_SIZE - 1) as *const u8;
                    assert_eq!(ptr::read_volatile(top), 0xBB);
                }
            }
            for &b in &bottoms[8..] {
                // SAFETY: as above.
                unsafe { assert_eq!(ptr::read_volatile(b as *const u8), 0xAA) };
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn many_live_stacks_do_not_multiply_mappings() {
        std::thread::spawn(|| {
            let before = maps_lines();
            let n = 100_000;
            let mut stacks = Vec::with_capacity(n);
            let first = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
            let madv = stats().madv_guard;
            stacks.push(first);
            // Without MADV_GUARD_INSTALL every stack costs 2 mappings: stay
            // well inside the default limit there.
            let n = if madv { n } else { 10_000 };
            while stacks.len() < n {
                stacks.push(GreenletStack::new(DEFAULT_STACK_SIZE).unwrap());
            }
            let after = maps_lines();
            let grown = after.saturating_sub(before);
            eprintln!("{n} stacks: {before} -> {after} mappings, madv_guard={madv}");
            if madv {
                assert!(grown < 2_000, "mappings grew by {grown} for {n} stacks");
            } else {
                assert!(grown >= n, "mprotect guards should split mappings");
            }
            assert_eq!(stats().live, n);
            drop(stacks);
            assert_eq!(stats().pooled, n);
        })
        .join()
        .unwrap();
    }

    // ---- child-process tests -------------------------------------------

    /// Runs scenario `name` of `child_entry` in a fresh copy of this test
    /// binary.
    fn run_child(name: &str, force_mprotect: bool) -> std::process::Output {
        let path = module_path!();
        let test = format!(
            "{}::child_entry",
            path.split_once("::").map_or(path, |p| p.1)
        );
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, name);
        if force_mprotect {
            cmd.env("GEVENT_STACK_FORCE_MPROTECT", "1");
        } else {
            cmd.env_remove("GEVENT_STACK_FORCE_MPROTECT");
        }
        cmd.output().unwrap()
    }

    fn assert_overflow_report(out: &std::process::Output, label: &str) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "status {:?}, stderr:\n{stderr}",
            out.status
        );
        let want = format!(
            "gevent: greenlet <Greenlet \"{label}\"> overflowed its stack (131072 bytes); use a larger stack_size\n"
        );
        assert!(stderr.contains(&want), "stderr:\n{stderr}");
    }

    #[inline(never)]
    fn recurse(depth: usize) -> usize {
        let mut buf = [0u8; 256];
        buf[depth % 256] = depth as u8;
        std::hint::black_box(&mut buf);
        if depth == usize::MAX {
            return 0;
        }
        recurse(depth + 1) + usize::from(buf[7])
    }

    extern "C" fn recurse_forever(_t: Transfer) -> ! {
        recurse(0);
        // SAFETY: not reached; abort is always safe.
        unsafe { libc::abort() }
    }

    extern "C" fn touch_protected(t: Transfer) -> ! {
        let addr = t.data as *const u8;
        // SAFETY: deliberately faults on a PROT_NONE page.
        let v = unsafe { ptr::read_volatile(addr) };
        std::hint::black_box(v);
        // SAFETY: not reached.
        unsafe { libc::abort() }
    }

    /// Runs `f` on `stack` as a greenlet would (enter, then switch).
    fn run_on(stack: &GreenletStack, f: extern "C" fn(Transfer) -> !, data: usize) {
        // SAFETY: the stack outlives the context, which is abandoned after
        // it switches back (it never does in these scenarios).
        unsafe {
            let ctx = Context::new(&stack.context_stack(), f);
            stack.enter();
            ctx.resume(data);
        }
        leave();
    }

    fn overflow(label: &str) {
        let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        s.set_label(label);
        run_on(&s, recurse_forever, 0);
    }

    /// Child-process scenarios, selected by `CHILD_ENV`; a no-op otherwise.
    #[test]
    fn child_entry() {
        let Ok(scenario) = std::env::var(CHILD_ENV) else {
            return;
        };
        match scenario.as_str() {
            "overflow" => overflow("overflow-λ"),
            "overflow_mprotect" => {
                let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                assert!(!stats().madv_guard);
                drop(s);
                overflow("fallback");
            }
            "overflow_released" => {
                // Overflow a stack whose pages were released (the guard must
                // survive MADV_DONTNEED).
                let stacks: Vec<_> = (0..HOT_STACKS + 1)
                    .map(|_| GreenletStack::new(DEFAULT_STACK_SIZE).unwrap())
                    .collect();
                let first = stacks[0].context_stack().top();
                drop(stacks);
                let again: Vec<_> = (0..HOT_STACKS + 1)
                    .map(|_| GreenletStack::new(DEFAULT_STACK_SIZE).unwrap())
                    .collect();
                let s = again.last().unwrap();
                assert_eq!(s.context_stack().top(), first);
                s.set_label("released");
                run_on(s, recurse_forever, 0);
            }
            "overflow_no_altstack" => {
                std::thread::spawn(|| {
                    let off = libc::stack_t {
                        ss_sp: ptr::null_mut(),
                        ss_flags: libc::SS_DISABLE,
                        ss_size: 0,
                    };
                    // SAFETY: disabling this thread's alternate stack.
                    assert_eq!(unsafe { libc::sigaltstack(&off, ptr::null_mut()) }, 0);
                    let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                    // SAFETY: zeroed stack_t is a valid out-value.
                    let mut cur: libc::stack_t = unsafe { mem::zeroed() };
                    // SAFETY: query only.
                    assert_eq!(unsafe { libc::sigaltstack(ptr::null(), &mut cur) }, 0);
                    assert_eq!(cur.ss_flags & libc::SS_DISABLE, 0, "no altstack installed");
                    drop(s);
                    overflow("no-altstack");
                })
                .join()
                .unwrap();
            }
            "thread_overflow" => {
                // A stale `enter` must not claim an overflow of the thread's
                // own stack: std reports that one.
                std::thread::Builder::new()
                    .name("deep".into())
                    .stack_size(256 * 1024)
                    .spawn(|| {
                        let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                        s.set_label("not-me");
                        s.enter();
                        recurse(0);
                    })
                    .unwrap()
                    .join()
                    .unwrap();
            }
            "thread_exit" => {
                fn mapped(addr: usize) -> bool {
                    std::fs::read_to_string("/proc/self/maps")
                        .unwrap()
                        .lines()
                        .any(|l| {
                            let range = l.split(' ').next().unwrap();
                            let (lo, hi) = range.split_once('-').unwrap();
                            let lo = usize::from_str_radix(lo, 16).unwrap();
                            let hi = usize::from_str_radix(hi, 16).unwrap();
                            (lo..hi).contains(&addr)
                        })
                }
                // A thread whose stacks are all returned: its pool goes
                // with it.
                let addr = std::thread::spawn(|| {
                    let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                    s.context_stack().bottom() as usize
                })
                .join()
                .unwrap();
                assert!(!mapped(addr), "slab of an exited thread still mapped");
                // A thread whose stacks outlive its pool's thread-local (held
                // by a thread-local destroyed later): the last drop frees it.
                struct Holder(std::cell::RefCell<Vec<GreenletStack>>);
                impl Drop for Holder {
                    fn drop(&mut self) {
                        let orphaned = POOL.with(Cell::get).is_null();
                        println!("holder dropped, pool orphaned first: {orphaned}");
                        let stacks = mem::take(&mut *self.0.borrow_mut());
                        drop(stacks);
                    }
                }
                thread_local! {
                    static HOLDER: Holder = const { Holder(std::cell::RefCell::new(Vec::new())) };
                }
                let addr = std::thread::spawn(|| {
                    HOLDER.with(|_| ()); // registered before the pool
                    let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                    let addr = s.context_stack().bottom() as usize;
                    HOLDER.with(|h| h.0.borrow_mut().push(s));
                    addr
                })
                .join()
                .unwrap();
                assert!(!mapped(addr), "slab of an orphaned pool still mapped");
                println!("THREAD_EXIT_OK");
            }
            "foreign_fault" => {
                // SAFETY: a fresh PROT_NONE mapping.
                let p = unsafe {
                    libc::mmap(
                        ptr::null_mut(),
                        page(),
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                assert_ne!(p, libc::MAP_FAILED);
                let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
                s.set_label("innocent");
                run_on(&s, touch_protected, p as usize);
            }
            "exhaust" => {
                let mut stacks = Vec::with_capacity(100_000);
                let err = loop {
                    match GreenletStack::new(DEFAULT_STACK_SIZE) {
                        Ok(s) => stacks.push(s),
                        Err(e) => break e,
                    }
                    assert!(stacks.len() < 100_000, "no limit hit");
                };
                assert!(!stats().madv_guard);
                assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
                println!("EXHAUSTED after {} stacks: {err}", stacks.len());
                // Still usable: a returned stack can be taken again.
                stacks.pop();
                stacks.push(GreenletStack::new(DEFAULT_STACK_SIZE).unwrap());
                println!("REUSED");
            }
            other => panic!("unknown scenario {other}"),
        }
    }

    #[test]
    fn overflow_is_reported_with_the_label() {
        assert_overflow_report(&run_child("overflow", false), "overflow-λ");
    }

    #[test]
    fn overflow_is_reported_with_mprotect_guards() {
        assert_overflow_report(&run_child("overflow_mprotect", true), "fallback");
    }

    #[test]
    fn overflow_is_reported_after_pages_were_released() {
        assert_overflow_report(&run_child("overflow_released", false), "released");
    }

    #[test]
    fn overflow_is_reported_on_a_thread_without_altstack() {
        assert_overflow_report(&run_child("overflow_no_altstack", false), "no-altstack");
    }

    #[test]
    fn other_faults_are_passed_on() {
        let out = run_child("foreign_fault", false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGSEGV),
            "status {:?}, stderr:\n{stderr}",
            out.status
        );
        assert!(!stderr.contains("overflowed"), "stderr:\n{stderr}");
    }

    #[test]
    fn thread_stack_overflow_goes_to_std() {
        let out = run_child("thread_overflow", false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "status {:?}, stderr:\n{stderr}",
            out.status
        );
        assert!(stderr.contains("thread 'deep'"), "stderr:\n{stderr}");
        assert!(
            stderr.contains("has overflowed its stack"),
            "stderr:\n{stderr}"
        );
        assert!(!stderr.contains("gevent:"), "stderr:\n{stderr}");
    }

    #[test]
    fn pools_are_freed_at_thread_exit() {
        let out = run_child("thread_exit", false);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("THREAD_EXIT_OK"), "stdout:\n{stdout}");
    }

    #[test]
    fn a_stack_dropped_on_another_thread_is_leaked() {
        struct Smuggle(GreenletStack);
        // SAFETY: deliberately breaking `!Send` to check the drop is inert.
        unsafe impl Send for Smuggle {}
        let s = GreenletStack::new(DEFAULT_STACK_SIZE).unwrap();
        let before = stats();
        let smuggled = Smuggle(s);
        std::thread::spawn(move || {
            let whole = smuggled; // capture the wrapper, not the field
            drop(whole.0);
        })
        .join()
        .unwrap();
        let after = stats();
        assert_eq!(after.live, before.live);
        assert_eq!(after.pooled, before.pooled);
    }

    #[test]
    fn map_count_exhaustion_is_a_clean_error() {
        let out = run_child("exhaust", true);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        assert!(stdout.contains("EXHAUSTED after"), "stdout:\n{stdout}");
        assert!(
            stdout.contains("vm.max_map_count reached"),
            "stdout:\n{stdout}"
        );
        assert!(stdout.contains("REUSED"), "stdout:\n{stdout}");
        eprintln!(
            "{}",
            stdout
                .lines()
                .find(|l| l.contains("EXHAUSTED"))
                .unwrap_or("")
        );
    }
}
