//! Unit tests of the stack pool, guards and overflow reports.

use super::*;
use context::{Context, Transfer};
use std::mem;
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
