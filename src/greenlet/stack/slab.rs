//! Slab allocation: the per-thread pool of stacks, its size classes and
//! slabs, and giving pages of surplus pooled stacks back to the kernel.

use std::cell::{Cell, UnsafeCell};
use std::io;
use std::ptr::{self, NonNull};

use libc::c_void;

use super::guard::{enomem_error, install_guard};
use super::overflow::{free_altstack, install_handlers};
use super::{
    CURRENT, FIRST_SLAB_SLOTS, HOT_STACKS, KEEP_PAGES, LABEL_CAP, MAX_SLAB_BYTES, MAX_SLAB_SLOTS,
    POOL, POOL_OWNER, SLAB_MAP_FLAGS, StackRecord,
};

/// Stacks of one usable size.
pub(super) struct SizeClass {
    /// Usable bytes of each stack.
    size: usize,
    /// Returned stacks, most recently returned last.
    pub(super) free: Vec<NonNull<StackRecord>>,
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
pub(super) struct Pool {
    /// The pointer this pool was allocated at (records point to the pool
    /// through it, never through a reference).
    pub(super) this: *mut Pool,
    /// Identity of the owning thread: the address of its `CURRENT`.
    pub(super) owner: usize,
    /// The system page size.
    pub(super) page: usize,
    /// Size classes, in order of creation (indices are stable).
    pub(super) classes: Vec<SizeClass>,
    /// Every slab mapped: (base, length).
    pub(super) slabs: Vec<(usize, usize)>,
    /// Every record created, to be freed with the pool.
    pub(super) records: Vec<NonNull<StackRecord>>,
    /// Stacks handed out and not yet returned.
    pub(super) live: usize,
    /// The owning thread has exited; free the pool when `live` drops to 0.
    pub(super) orphaned: bool,
    /// Alternate signal stack this pool allocated: (mapping base, length,
    /// `ss_sp`).
    pub(super) altstack: Option<(usize, usize, usize)>,
}

impl Pool {
    /// Creates this thread's pool (first allocation on the thread).
    #[cold]
    pub(super) fn create() -> io::Result<*mut Pool> {
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
    pub(super) fn take(&mut self, size: usize) -> io::Result<NonNull<StackRecord>> {
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
            valgrind_id: crate::greenlet::valgrind::register_stack(
                guard_lo + page,
                guard_lo + slot,
            ),
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
    pub(super) unsafe fn give(pool: *mut Pool, rec: NonNull<StackRecord>) {
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

    /// Unmaps the slabs and frees the records and the pool.
    ///
    /// # Safety
    ///
    /// `pool` is allocated, no stack of it is live and nothing refers to it.
    pub(super) unsafe fn free(pool: *mut Pool) {
        // SAFETY: guaranteed by the caller.
        let pool = unsafe { Box::from_raw(pool) };
        for &rec in &pool.records {
            // SAFETY: created by Box::leak in `carve`, freed once here.
            let rec = unsafe { Box::from_raw(rec.as_ptr()) };
            crate::greenlet::valgrind::deregister_stack(rec.valgrind_id);
        }
        for &(base, len) in &pool.slabs {
            // SAFETY: mapped by `map_slab`; no stack in it is in use.
            unsafe { libc::munmap(base as *mut c_void, len) };
        }
    }
}

/// Owner of a thread's pool in thread-local storage.
pub(super) struct PoolOwner(pub(super) Cell<*mut Pool>);

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

/// Maps `len` bytes of anonymous, unreserved, read-write memory.
pub(super) fn map_slab(len: usize) -> io::Result<usize> {
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
