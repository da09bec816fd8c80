//! The blocking monitor (gevent's monitor thread) and [`run_info`]
//! (gevent's `print_run_info`).
//!
//! A greenlet that blocks its thread — `std::thread::sleep`, a blocking
//! syscall, a long computation without a switch — stops every other
//! greenlet of that hub. The monitor finds such stalls.
//!
//! # How it works, and what it costs
//!
//! Every hub bumps a cycle counter at each scheduling round (a relaxed
//! load and store of an atomic that only its thread writes) and flags,
//! through libev's release/acquire hooks around the kernel wait, when it
//! is idle in `epoll_wait` & co. These run whether or not the monitor is
//! on: a few instructions per hub round (not per switch), below the noise
//! of `bench_greenlet` (see the README's figures). Nothing else happens
//! while the monitor is off: no thread, no signal handler.
//!
//! When on ([`start`], or `GEVENT_MONITOR_THREAD_ENABLE` set to `1`,
//! `true`, `yes` or `on` when the first hub is created), one plain OS
//! thread wakes every half of the limit
//! (`GEVENT_MAX_BLOCKING_TIME`, seconds, default 0.1) and reads each
//! hub's counter. A hub whose counter has not moved for longer than the
//! limit while it was not idle in the kernel is stalled. The monitor then
//! sends that thread a signal (`SIGRTMAX - 2` on Linux, `SIGURG`
//! elsewhere; left alone if the program already handles it) whose handler
//! copies, async-signal-safely, the running greenlet's id, name (at most
//! 64 bytes) and spawn site into the hub's slot. The stall is reported once:
//! when it ends (with its length), or, if it lasts
//! [`ONGOING_REPORT_FACTOR`] times the limit, then (marked still going).
//! Reports go to every [`events`] subscriber
//! ([`Event::BlockingDetected`])
//! and to stderr (unless [`set_report_to_stderr`]`(false)`).
//!
//! Any code that runs on a hub's thread without switching counts, the
//! main greenlet's own computation between two gevent calls included (as
//! in gevent); a thread that never started a greenlet is not watched.
//!
//! The monitor thread costs one wake-up per half limit (20 per second at
//! the default) and a few atomic loads per hub. A stall additionally
//! costs one signal, which interrupts the blocking syscall: restartable
//! ones (`read`, `write`, std's `sleep`) carry on; others (`poll`,
//! `epoll_wait`, `nanosleep` called directly) return `EINTR` once.
//!
//! # Why no backtrace of the blocking code
//!
//! Capturing the blocked thread's stack needs an unwinder running inside
//! that signal handler. Neither std's `Backtrace` nor glibc's
//! `backtrace()` is async-signal-safe (they allocate, and take the
//! dynamic loader's lock, which the interrupted code may hold: a
//! deadlock), and release builds have no frame pointers to walk by hand.
//! So the report names the greenlet and where it was spawned instead —
//! which, with the greenlet's name, points at the code to look at.
//!
//! # Memory
//!
//! With a threshold set ([`set_max_memory_usage`], or
//! `GEVENT_MAX_MEMORY_USAGE` in bytes), the monitor also reads the
//! resident set size (Linux: `/proc/self/statm`) every 5 s and sends
//! [`MemoryThresholdExceeded`](crate::events::Event::MemoryThresholdExceeded)
//! once per crossing, and
//! [`MemoryUsageUnderThreshold`](crate::events::Event::MemoryUsageUnderThreshold)
//! when it falls back.
//!
//! # Example
//!
//! ```
//! use gevent::events::{self, Event};
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! let seen = Arc::new(Mutex::new(None));
//! let s2 = seen.clone();
//! let sub = events::subscribe(move |e| {
//!     if let Event::BlockingDetected(r) = e {
//!         *s2.lock().unwrap() = r.greenlet.clone();
//!     }
//! });
//! gevent::monitor::set_report_to_stderr(false);
//! gevent::monitor::start(Duration::from_millis(50))?;
//! let g = gevent::Builder::new().name("sleepy").spawn(|| {
//!     std::thread::sleep(Duration::from_millis(300)); // blocks the hub
//! });
//! g.join()?;
//! for _ in 0..200 {
//!     if seen.lock().unwrap().is_some() { break }
//!     gevent::sleep(Duration::from_millis(10));
//! }
//! gevent::monitor::stop();
//! events::unsubscribe(sub);
//! assert_eq!(seen.lock().unwrap().as_deref(), Some("sleepy"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::events::{self, BlockingReport, Event};
use crate::greenlet::state::{Phase, Task};

/// A stall still going on after this many times the limit is reported
/// then (and not again when it ends).
///
/// ```
/// let limit = gevent::monitor::DEFAULT_MAX_BLOCKING_TIME;
/// let reported_while_ongoing_after = limit * gevent::monitor::ONGOING_REPORT_FACTOR;
/// assert_eq!(reported_while_ongoing_after, std::time::Duration::from_secs(1));
/// ```
pub const ONGOING_REPORT_FACTOR: u32 = 10;

/// The default limit (gevent's `max_blocking_time`), used when
/// `GEVENT_MAX_BLOCKING_TIME` is unset.
///
/// ```
/// assert_eq!(gevent::monitor::DEFAULT_MAX_BLOCKING_TIME.as_millis(), 100);
/// ```
pub const DEFAULT_MAX_BLOCKING_TIME: Duration = Duration::from_millis(100);

const NAME_CAP: usize = 64;

/// One hub as the monitor sees it. Written by the hub's thread (and its
/// signal handler), read by the monitor thread.
pub(crate) struct HubSlot {
    cycles: AtomicU64,
    polling: AtomicBool,
    thread: String,
    /// `pthread_t` of the hub's thread.
    pthread: libc::pthread_t,
    /// Whether the thread still exists; the monitor signals only while
    /// holding this lock, and the thread clears it (under the lock) when
    /// it exits, so a signal never targets a finished thread.
    alive: Mutex<bool>,
    // Filled in by the capture signal's handler.
    cap_request: AtomicU64,
    cap_done: AtomicU64,
    cap_id: AtomicU64,
    cap_site: AtomicPtr<Location<'static>>,
    cap_name: [AtomicU8; NAME_CAP],
    cap_name_len: AtomicUsize,
    /// The monitor thread's own bookkeeping for this hub.
    watch: Mutex<Watch>,
}

#[derive(Default)]
struct Watch {
    last_cycles: u64,
    last_change: Option<Instant>,
    /// The stall being tracked: when the monitor saw it begin, whether a
    /// capture was made, whether it was reported.
    stall: Option<(Instant, bool, bool)>,
}

impl HubSlot {
    /// One scheduling round (the hub's hot path: no read-modify-write).
    #[inline(always)]
    pub(crate) fn tick(&self) {
        let n = self.cycles.load(Ordering::Relaxed);
        self.cycles.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    #[inline(always)]
    fn set_polling(&self, on: bool) {
        self.polling.store(on, Ordering::Relaxed);
    }
}

/// libev's release hook: the hub's loop is about to wait in the kernel.
pub(crate) unsafe extern "C" fn loop_release(_lp: *mut libev_sys::ev_loop) {
    if let Some(h) = crate::hub::existing_hub() {
        h.monitor.set_polling(true);
    }
}

/// libev's acquire hook: the kernel wait is over.
pub(crate) unsafe extern "C" fn loop_acquire(_lp: *mut libev_sys::ev_loop) {
    if let Some(h) = crate::hub::existing_hub() {
        h.monitor.tick();
        h.monitor.set_polling(false);
    }
}

pub(crate) struct Registry {
    slots: Vec<Weak<HubSlot>>,
    /// The limit while running.
    limit: Option<Duration>,
    thread_running: bool,
    stderr: bool,
    max_memory: Option<u64>,
    env_read: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    slots: Vec::new(),
    limit: None,
    thread_running: false,
    stderr: true,
    max_memory: None,
    env_read: false,
});
static WAKE: Condvar = Condvar::new();

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Marks this thread's slot dead when the thread exits.
    static EXIT_GUARD: std::cell::RefCell<Option<Arc<HubSlot>>> = const { std::cell::RefCell::new(None) };
}

struct ExitMark;
impl Drop for ExitMark {
    fn drop(&mut self) {
        let _ = EXIT_GUARD.try_with(|g| {
            if let Some(s) = g.borrow_mut().take() {
                *s.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
            }
        });
    }
}
thread_local! {
    static EXIT_MARK: ExitMark = const { ExitMark };
}

fn thread_label() -> String {
    let t = std::thread::current();
    match t.name() {
        Some(n) => n.to_string(),
        None => format!("{:?}", t.id()),
    }
}

/// A new hub's slot (called once per hub, on its thread).
pub(crate) fn register_hub() -> Arc<HubSlot> {
    let slot = Arc::new(HubSlot {
        cycles: AtomicU64::new(0),
        polling: AtomicBool::new(false),
        thread: thread_label(),
        // SAFETY: pthread_self has no preconditions.
        pthread: unsafe { libc::pthread_self() },
        alive: Mutex::new(true),
        cap_request: AtomicU64::new(0),
        cap_done: AtomicU64::new(0),
        cap_id: AtomicU64::new(0),
        cap_site: AtomicPtr::new(std::ptr::null_mut()),
        cap_name: [const { AtomicU8::new(0) }; NAME_CAP],
        cap_name_len: AtomicUsize::new(0),
        watch: Mutex::new(Watch::default()),
    });
    let _ = EXIT_GUARD.try_with(|g| *g.borrow_mut() = Some(slot.clone()));
    let _ = EXIT_MARK.try_with(|_| {});
    let env_start = {
        let mut r = registry();
        r.slots.retain(|w| w.strong_count() > 0);
        r.slots.push(Arc::downgrade(&slot));
        if r.env_read {
            None
        } else {
            r.env_read = true;
            Some(())
        }
    };
    if env_start.is_some() {
        config_from_env();
    }
    slot
}

/// Parses a `GEVENT_MONITOR_THREAD_ENABLE` value.
fn env_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Parses `GEVENT_MAX_BLOCKING_TIME` (seconds, positive, finite).
///
/// # Errors
///
/// `InvalidInput` naming the variable and the value.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(gevent::monitor::parse_max_blocking_time("0.25")?, Duration::from_millis(250));
/// assert!(gevent::monitor::parse_max_blocking_time("-1").is_err());
/// assert!(gevent::monitor::parse_max_blocking_time("soon").is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn parse_max_blocking_time(v: &str) -> io::Result<Duration> {
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s <= 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("GEVENT_MAX_BLOCKING_TIME={v:?}: expected a positive number of seconds"),
        )),
    }
}

fn config_from_env() {
    if let Some(m) = std::env::var_os("GEVENT_MAX_MEMORY_USAGE") {
        match m.to_str().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(n) if n > 0 => set_max_memory_usage(Some(n)),
            _ => eprintln!(
                "gevent: GEVENT_MAX_MEMORY_USAGE={m:?}: expected a number of bytes; ignored"
            ),
        }
    }
    let Some(on) = std::env::var_os("GEVENT_MONITOR_THREAD_ENABLE") else {
        return;
    };
    if !env_true(&on.to_string_lossy()) {
        return;
    }
    let limit = match std::env::var("GEVENT_MAX_BLOCKING_TIME") {
        Err(_) => DEFAULT_MAX_BLOCKING_TIME,
        Ok(v) => parse_max_blocking_time(&v).unwrap_or_else(|e| {
            eprintln!("gevent: {e}; using {DEFAULT_MAX_BLOCKING_TIME:?}");
            DEFAULT_MAX_BLOCKING_TIME
        }),
    };
    if let Err(e) = start(limit) {
        eprintln!("gevent: cannot start the monitor thread: {e}");
    }
}

/// Starts the monitor (or changes its limit if it runs) for every hub of
/// the process, present and future.
///
/// # Errors
///
/// `InvalidInput` for a zero limit; the error of spawning the thread.
///
/// ```
/// gevent::monitor::start(std::time::Duration::from_millis(100))?;
/// assert!(gevent::monitor::is_running());
/// gevent::monitor::stop();
/// assert!(gevent::monitor::start(std::time::Duration::ZERO).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn start(max_blocking_time: Duration) -> io::Result<()> {
    if max_blocking_time.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the monitor's max blocking time must be positive",
        ));
    }
    install_capture_handler();
    let mut r = registry();
    r.limit = Some(max_blocking_time);
    if !r.thread_running {
        std::thread::Builder::new()
            .name("gevent-monitor".into())
            .spawn(monitor_thread)?;
        r.thread_running = true;
    }
    drop(r);
    WAKE.notify_all();
    Ok(())
}

/// Stops the monitor (its thread exits at its next wake-up).
///
/// ```
/// gevent::monitor::stop();
/// assert!(!gevent::monitor::is_running());
/// ```
pub fn stop() {
    registry().limit = None;
    WAKE.notify_all();
}

/// Whether the monitor is on.
///
/// ```
/// let _on: bool = gevent::monitor::is_running();
/// ```
pub fn is_running() -> bool {
    registry().limit.is_some()
}

/// The limit, while the monitor is on.
///
/// ```
/// gevent::monitor::start(std::time::Duration::from_millis(200))?;
/// assert_eq!(gevent::monitor::max_blocking_time(), Some(std::time::Duration::from_millis(200)));
/// gevent::monitor::stop();
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn max_blocking_time() -> Option<Duration> {
    registry().limit
}

/// Whether stall reports are also printed on stderr (default: yes).
///
/// ```
/// gevent::monitor::set_report_to_stderr(true);
/// ```
pub fn set_report_to_stderr(on: bool) {
    registry().stderr = on;
}

/// Sets (or clears) the memory threshold, in bytes of resident memory,
/// checked while the monitor runs.
///
/// ```
/// gevent::monitor::set_max_memory_usage(Some(1 << 40));
/// gevent::monitor::set_max_memory_usage(None);
/// ```
pub fn set_max_memory_usage(bytes: Option<u64>) {
    registry().max_memory = bytes;
}

/// The capture signal.
fn capture_signal() -> libc::c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX() - 2
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        libc::SIGURG
    }
}

static HANDLER_INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the capture handler if the signal is unused (once).
fn install_capture_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let sig = capture_signal();
        // SAFETY: plain sigaction calls with zeroed, then filled, structs.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                return;
            }
            if old.sa_sigaction != libc::SIG_DFL {
                eprintln!(
                    "gevent: signal {sig} is in use; the monitor reports stalls without the greenlet's name"
                );
                return;
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = capture_handler as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) == 0 {
                HANDLER_INSTALLED.store(true, Ordering::Release);
            }
        }
    });
}

/// Runs on a stalled hub's thread: copies what identifies the running
/// greenlet into the hub's slot. Async-signal-safe: thread-local reads
/// (constant-initialised, no destructor), plain loads of fields that do
/// not change while the greenlet runs, atomic stores; no allocation, no
/// lock, no reference count.
extern "C" fn capture_handler(_sig: libc::c_int) {
    let Some(hub) = crate::hub::existing_hub() else {
        return;
    };
    let slot = &*hub.monitor;
    let p = crate::greenlet::switch::current_ptr();
    if !p.is_null() {
        // SAFETY: CURRENT points at the running greenlet's state, alive
        // while it runs (it is this thread's, interrupted right here).
        let s = unsafe { &*p };
        slot.cap_id.store(s.id, Ordering::Relaxed);
        let site = s.spawned_at.get().map_or(std::ptr::null_mut(), |l| {
            l as *const Location<'static> as *mut _
        });
        slot.cap_site.store(site, Ordering::Relaxed);
        // SAFETY: a shared look that does not touch the borrow flag. The
        // name is only replaced through `set_name`'s `borrow_mut`; if the
        // interrupted code is inside one, the flag says so and we skip.
        let mut len = 0;
        if let Ok(Some(name)) = unsafe { s.name.try_borrow_unguarded() } {
            for (i, b) in name.as_bytes().iter().take(NAME_CAP).enumerate() {
                slot.cap_name[i].store(*b, Ordering::Relaxed);
                len = i + 1;
            }
        }
        slot.cap_name_len.store(len, Ordering::Relaxed);
    }
    slot.cap_done
        .store(slot.cap_request.load(Ordering::Relaxed), Ordering::Release);
}

/// Asks the stalled thread for its running greenlet; true if it answered.
fn capture(slot: &HubSlot) -> bool {
    if !HANDLER_INSTALLED.load(Ordering::Acquire) {
        return false;
    }
    let req = slot.cap_request.load(Ordering::Relaxed) + 1;
    slot.cap_request.store(req, Ordering::Relaxed);
    {
        let alive = slot.alive.lock().unwrap_or_else(|e| e.into_inner());
        if !*alive {
            return false;
        }
        // SAFETY: the thread exists (it clears `alive` under this lock
        // before it exits) and the handler is installed.
        if unsafe { libc::pthread_kill(slot.pthread, capture_signal()) } != 0 {
            return false;
        }
    }
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(100) {
        if slot.cap_done.load(Ordering::Acquire) == req {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

fn captured(slot: &HubSlot) -> (u64, Option<String>, Option<String>) {
    let id = slot.cap_id.load(Ordering::Relaxed);
    let len = slot.cap_name_len.load(Ordering::Relaxed).min(NAME_CAP);
    let name: Vec<u8> = slot.cap_name[..len]
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    let name = match (len, id) {
        (0, 0) => "MainGreenlet".to_string(),
        (0, u64::MAX) => "Hub".to_string(),
        (0, id) => format!("Greenlet-{id}"),
        _ => String::from_utf8_lossy(&name).into_owned(),
    };
    let site = slot.cap_site.load(Ordering::Relaxed);
    // SAFETY: the pointer came from a `&'static Location`.
    let site = (!site.is_null()).then(|| unsafe { &*site }.to_string());
    (id, Some(name), site)
}

fn report(slot: &HubSlot, since: Instant, got: bool, finished: bool, stderr: bool) {
    let (id, name, site) = if got {
        let (id, n, s) = captured(slot);
        (Some(id), n, s)
    } else {
        (None, None, None)
    };
    let r = BlockingReport {
        thread: slot.thread.clone(),
        greenlet_id: id,
        greenlet: name,
        spawned_at: site,
        duration: since.elapsed(),
        finished,
    };
    if stderr {
        eprintln!("{r}");
    }
    events::notify(&Event::BlockingDetected(r));
}

/// Resident set size in bytes (Linux), if readable.
fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as u64)
}

fn monitor_thread() {
    let mut mem_checked = Instant::now();
    let mut mem_over = false;
    loop {
        let (limit, slots, stderr, max_memory) = {
            let mut r = registry();
            let Some(limit) = r.limit else {
                r.thread_running = false;
                return;
            };
            let slots: Vec<Arc<HubSlot>> = r.slots.iter().filter_map(|w| w.upgrade()).collect();
            (limit, slots, r.stderr, r.max_memory)
        };
        let now = Instant::now();
        for slot in &slots {
            check(slot, limit, now, stderr);
        }
        if let Some(max) = max_memory
            && mem_checked.elapsed() >= Duration::from_secs(5)
        {
            mem_checked = Instant::now();
            if let Some(rss) = rss() {
                if rss > max && !mem_over {
                    mem_over = true;
                    events::notify(&Event::MemoryThresholdExceeded {
                        rss,
                        threshold: max,
                    });
                } else if rss <= max && mem_over {
                    mem_over = false;
                    events::notify(&Event::MemoryUsageUnderThreshold {
                        rss,
                        threshold: max,
                    });
                }
            }
        }
        drop(slots);
        let period = (limit / 2).clamp(Duration::from_millis(1), Duration::from_secs(1));
        let r = registry();
        let _ = WAKE.wait_timeout(r, period);
    }
}

fn check(slot: &HubSlot, limit: Duration, now: Instant, stderr: bool) {
    let mut w = slot.watch.lock().unwrap_or_else(|e| e.into_inner());
    let cycles = slot.cycles.load(Ordering::Relaxed);
    let idle = slot.polling.load(Ordering::Relaxed);
    let moved = cycles != w.last_cycles || w.last_change.is_none();
    if moved || idle {
        // Not stalled (any more).
        if let Some((since, got, reported)) = w.stall.take()
            && !reported
        {
            report(slot, since, got, true, stderr);
        }
        w.last_cycles = cycles;
        w.last_change = Some(now);
        return;
    }
    if cycles == 0 || !*slot.alive.lock().unwrap_or_else(|e| e.into_inner()) {
        return; // no greenlet ever started here, or the thread is gone
    }
    let since = w.last_change.unwrap_or(now);
    let stalled_for = now.saturating_duration_since(since);
    if stalled_for < limit {
        return;
    }
    match w.stall {
        None => {
            let got = capture(slot);
            w.stall = Some((since, got, false));
        }
        Some((since, got, false)) if stalled_for >= limit * ONGOING_REPORT_FACTOR => {
            report(slot, since, got, false, stderr);
            w.stall = Some((since, got, true));
        }
        _ => {}
    }
}

/// For `gevent::fork`: holds the registry across the fork.
pub(crate) fn lock_for_fork() -> MutexGuard<'static, Registry> {
    registry()
}

/// In the child of `gevent::fork`: only this thread's hub is left and the
/// monitor thread is gone; restart it if it was on.
pub(crate) fn after_fork_in_child(mut r: MutexGuard<'static, Registry>) {
    let mine = crate::hub::existing_hub().map(|h| Arc::as_ptr(&h.monitor));
    r.slots.retain(|w| Some(w.as_ptr()) == mine);
    r.thread_running = false;
    let limit = r.limit.take();
    drop(r);
    if let Some(l) = limit
        && let Err(e) = start(l)
    {
        eprintln!("gevent: cannot restart the monitor thread after fork: {e}");
    }
}

/// What [`run_info`] says about one greenlet; its `Display` is one line
/// of [`format_run_info`].
///
/// ```
/// let g = gevent::Builder::new().name("w").spawn(|| gevent::sleep(std::time::Duration::from_secs(5)));
/// gevent::sleep(std::time::Duration::ZERO);
/// let info = gevent::monitor::run_info();
/// let w = info.iter().find(|i| i.name == "w").unwrap();
/// assert_eq!(w.parent, Some(0)); // spawned by the main greenlet
/// assert!(w.to_string().starts_with("<Greenlet \"w\""));
/// g.kill()?;
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GreenletInfo {
    /// Its id (0: the main greenlet; `u64::MAX`: the hub).
    pub id: u64,
    /// Its name (`Greenlet-<id>` if unnamed).
    pub name: String,
    /// `running`, `parked`, `ready` (woken, waiting for its turn) or
    /// `scheduled`; `hub` for the hub.
    pub state: &'static str,
    /// Where it was created (`None` for the main greenlet and the hub).
    pub spawned_at: Option<&'static Location<'static>>,
    /// The id of the greenlet that created it.
    pub parent: Option<u64>,
}

impl fmt::Display for GreenletInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Greenlet {:?} id={} {}>",
            self.name, self.id, self.state
        )?;
        if let Some(s) = self.spawned_at {
            write!(f, " spawned at {s}")?;
        }
        if let Some(p) = self.parent {
            write!(f, " by greenlet {p}")?;
        }
        Ok(())
    }
}

/// Every live greenlet of this thread's hub: the main greenlet, the hub,
/// and each greenlet started and not finished, most recently started
/// first (gevent's `gevent.util.print_run_info`, for this thread).
/// Greenlets created but not started yet are not listed. Costs nothing
/// until called: the hub keeps its started greenlets in an intrusive list
/// (two pointer updates per start and per finish).
///
/// ```
/// let g = gevent::Builder::new().name("idle-worker").spawn(|| gevent::sleep(std::time::Duration::from_secs(5)));
/// gevent::sleep(std::time::Duration::ZERO);
/// let info = gevent::monitor::run_info();
/// let w = info.iter().find(|i| i.name == "idle-worker").unwrap();
/// assert_eq!(w.state, "parked");
/// assert!(w.spawned_at.is_some());
/// println!("{}", gevent::monitor::format_run_info());
/// g.kill()?;
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn run_info() -> Vec<GreenletInfo> {
    let hub = crate::hub::hub_inner();
    hub.live_greenlets()
        .iter()
        .map(|t: &std::rc::Rc<dyn Task>| {
            let s = t.state();
            GreenletInfo {
                id: s.id,
                name: match s.id {
                    0 => "MainGreenlet".to_string(),
                    u64::MAX => "Hub".to_string(),
                    _ => s.name(),
                },
                state: match s.phase.get() {
                    _ if s.id == u64::MAX => "hub",
                    Phase::New => "new",
                    Phase::Scheduled => "scheduled",
                    Phase::Running => "running",
                    Phase::Parked => "parked",
                    Phase::Ready => "ready",
                    Phase::Dead => "dead",
                },
                spawned_at: s.spawned_at.get(),
                parent: s.spawned_at.get().map(|_| s.parent.get()),
            }
        })
        .collect()
}

/// [`run_info`] as text, one greenlet per line, headed by the thread.
///
/// ```
/// assert!(gevent::monitor::format_run_info().contains("MainGreenlet"));
/// ```
pub fn format_run_info() -> String {
    let mut out = format!("Greenlets of the hub of thread {}:\n", thread_label());
    for g in run_info() {
        out.push_str(&format!("  {g}\n"));
    }
    out
}
