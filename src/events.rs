//! Subscribing to what the runtime notices, the counterpart of
//! `gevent.events`: the [blocking monitor](crate::monitor)'s reports
//! ([`Event::BlockingDetected`]), its memory checks
//! ([`Event::MemoryThresholdExceeded`], [`Event::MemoryUsageUnderThreshold`]),
//! and greenlet creation ([`Event::GreenletSpawned`]).
//!
//! Subscribers are `Fn(&Event) + Send + Sync` closures, called in
//! subscription order on the thread where the event happens: the monitor
//! thread for the monitor's events, the spawning thread for
//! `GreenletSpawned`. They must be quick and must not block or use
//! greenlet operations (the monitor's events arrive on a plain OS thread).
//! A panicking subscriber is reported on stderr and the others still run.
//!
//! Without subscribers, `GreenletSpawned` costs one relaxed atomic load
//! per greenlet created.
//!
//! # Example
//!
//! ```
//! use gevent::events::{self, Event};
//! use std::sync::{Arc, Mutex};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let s2 = seen.clone();
//! let sub = events::subscribe(move |e| {
//!     if let Event::GreenletSpawned { name: Some(n), .. } = e {
//!         s2.lock().unwrap().push(n.clone());
//!     }
//! });
//! gevent::Builder::new().name("watched").spawn(|| ()).join()?;
//! events::unsubscribe(sub);
//! assert!(seen.lock().unwrap().contains(&"watched".to_string()));
//! # Ok::<(), gevent::Error>(())
//! ```

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One report from the runtime.
///
/// ```
/// use gevent::events::Event;
/// fn describe(e: &Event) -> &'static str {
///     match e {
///         Event::BlockingDetected(_) => "a hub stalled",
///         Event::GreenletSpawned { .. } => "a greenlet was created",
///         _ => "memory",
///     }
/// }
/// let e = Event::MemoryThresholdExceeded { rss: 2, threshold: 1 };
/// assert_eq!(describe(&e), "memory");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A hub did not cycle for longer than the monitor's limit (gevent's
    /// `EventLoopBlocked`).
    BlockingDetected(BlockingReport),
    /// The process's resident memory rose above the monitor's threshold
    /// (gevent's `MemoryUsageThresholdExceeded`); reported once per
    /// crossing.
    MemoryThresholdExceeded {
        /// Resident set size, bytes.
        rss: u64,
        /// The threshold, bytes.
        threshold: u64,
    },
    /// The resident memory fell back under the threshold (gevent's
    /// `MemoryUsageUnderThreshold`).
    MemoryUsageUnderThreshold {
        /// Resident set size, bytes.
        rss: u64,
        /// The threshold, bytes.
        threshold: u64,
    },
    /// A greenlet was created (by `spawn`, `Builder::build`, ...), on the
    /// creating thread.
    GreenletSpawned {
        /// Its id.
        id: u64,
        /// Its name, if given at creation.
        name: Option<String>,
        /// Where it was created.
        spawned_at: &'static Location<'static>,
        /// The id of the greenlet that created it (0: the main greenlet).
        parent: u64,
    },
}

/// What the monitor knows about one stall of one hub. Its `Display` is
/// the line printed on stderr.
///
/// ```
/// use gevent::events::{self, Event};
/// let id = events::subscribe(|e| {
///     if let Event::BlockingDetected(r) = e {
///         eprintln!("{r}; greenlet {:?} spawned at {:?}", r.greenlet, r.spawned_at);
///     }
/// });
/// events::unsubscribe(id);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BlockingReport {
    /// The hub's thread (its name, or its `ThreadId` if unnamed).
    pub thread: String,
    /// The id of the greenlet that was running, if it could be captured.
    pub greenlet_id: Option<u64>,
    /// Its name (`Greenlet-<id>` if unnamed; `MainGreenlet`, `Hub`).
    pub greenlet: Option<String>,
    /// Where that greenlet was spawned (`file:line:column`), if known.
    pub spawned_at: Option<String>,
    /// How long the hub did not cycle (at least; measured to the
    /// monitor's resolution, half the limit).
    pub duration: Duration,
    /// Whether the stall was over when reported (otherwise it had lasted
    /// [`monitor::ONGOING_REPORT_FACTOR`](crate::monitor::ONGOING_REPORT_FACTOR)
    /// times the limit and was still going on).
    pub finished: bool,
}

impl std::fmt::Display for BlockingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gevent monitor: the hub of thread {:?} was blocked for {:.3} s{} by greenlet {}",
            self.thread,
            self.duration.as_secs_f64(),
            if self.finished {
                ""
            } else {
                " (still blocked)"
            },
            match (&self.greenlet, self.greenlet_id) {
                (Some(n), Some(id)) => format!("{n:?} (id {id})"),
                _ => "<unknown: no capture signal>".to_string(),
            }
        )?;
        if let Some(s) = &self.spawned_at {
            write!(f, " spawned at {s}")?;
        }
        Ok(())
    }
}

type Subscriber = Arc<dyn Fn(&Event) + Send + Sync>;

static SUBSCRIBERS: RwLock<Vec<(u64, Subscriber)>> = RwLock::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Whether anyone is subscribed (read on every greenlet creation).
static ANY: AtomicBool = AtomicBool::new(false);

/// A subscription, for [`unsubscribe`].
///
/// ```
/// let a = gevent::events::subscribe(|_| ());
/// let b = gevent::events::subscribe(|_| ());
/// assert_ne!(a, b);
/// gevent::events::unsubscribe(a);
/// gevent::events::unsubscribe(b);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

/// Calls `f` for every event from now on, until [`unsubscribe`].
///
/// ```
/// let id = gevent::events::subscribe(|e| eprintln!("{e:?}"));
/// assert!(gevent::events::unsubscribe(id));
/// ```
pub fn subscribe<F: Fn(&Event) + Send + Sync + 'static>(f: F) -> SubscriptionId {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut s = SUBSCRIBERS.write().unwrap_or_else(|e| e.into_inner());
    s.push((id, Arc::new(f)));
    ANY.store(true, Ordering::Relaxed);
    SubscriptionId(id)
}

/// Removes a subscription; false if it was already gone.
///
/// ```
/// let id = gevent::events::subscribe(|_| ());
/// assert!(gevent::events::unsubscribe(id));
/// assert!(!gevent::events::unsubscribe(id));
/// ```
pub fn unsubscribe(id: SubscriptionId) -> bool {
    let mut s = SUBSCRIBERS.write().unwrap_or_else(|e| e.into_inner());
    let before = s.len();
    s.retain(|(i, _)| *i != id.0);
    ANY.store(!s.is_empty(), Ordering::Relaxed);
    s.len() != before
}

/// Whether any subscriber exists (cheap).
#[inline]
pub(crate) fn has_subscribers() -> bool {
    ANY.load(Ordering::Relaxed)
}

/// Delivers `e` to every subscriber (outside the lock, so a subscriber
/// may subscribe or unsubscribe).
pub(crate) fn notify(e: &Event) {
    let subs: Vec<Subscriber> = SUBSCRIBERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, f)| f.clone())
        .collect();
    for f in subs {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(e))) {
            eprintln!(
                "gevent: an events subscriber panicked: {}",
                crate::hub::panic_message(&*p)
            );
        }
    }
}
