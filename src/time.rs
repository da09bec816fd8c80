//! Crate-private time arithmetic that never panics: every place a
//! `Duration` is added to an `Instant` or handed to libev goes through here.
//!
//! * [`deadline_after`]: "`d` from now", `None` (no deadline) when the sum
//!   does not fit in an `Instant` (`Duration::MAX` and the like).
//! * [`time_left`]: what remains of such a deadline.
//! * [`to_tstamp`]: a `Duration` as libev seconds, saturating at
//!   [`MAX_TSTAMP`].
//! * [`from_tstamp`]: libev seconds as a `Duration`, never panicking
//!   (negative or NaN is zero, too large is `Duration::MAX`).

use std::time::{Duration, Instant};

/// The largest number of seconds handed to libev: 2^53 s (about 285
/// million years). Up to it an `f64` still counts whole seconds exactly,
/// libev's arithmetic on it (`now + after`) stays meaningful, and its
/// conversions to C integers (`ev_sleep`'s `timespec`) cannot overflow.
/// A longer duration means "never" in practice and is cut down to this.
pub(crate) const MAX_TSTAMP: f64 = 9_007_199_254_740_992.0;

/// The instant `d` from now, or `None` if it cannot be represented: then
/// there is no deadline (the wait is as good as unbounded).
#[inline]
pub(crate) fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// The time left until `deadline` (zero once passed); for a deadline that
/// could not be represented (`None`), the original `timeout`, which is too
/// long to ever run out.
#[inline]
pub(crate) fn time_left(deadline: Option<Instant>, timeout: Duration) -> Duration {
    match deadline {
        Some(dl) => dl.saturating_duration_since(Instant::now()),
        None => timeout,
    }
}

/// `d` in libev seconds, saturating at [`MAX_TSTAMP`].
#[inline]
pub(crate) fn to_tstamp(d: Duration) -> f64 {
    d.as_secs_f64().min(MAX_TSTAMP)
}

/// libev seconds as a `Duration`: zero for negative values and NaN,
/// `Duration::MAX` for values too large (or infinite); never panics.
#[inline]
pub(crate) fn from_tstamp(t: f64) -> Duration {
    if t.is_nan() || t <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate() {
        assert_eq!(to_tstamp(Duration::ZERO), 0.0);
        assert_eq!(to_tstamp(Duration::MAX), MAX_TSTAMP);
        assert_eq!(to_tstamp(Duration::from_millis(1500)), 1.5);
        assert_eq!(from_tstamp(-1.0), Duration::ZERO);
        assert_eq!(from_tstamp(f64::NAN), Duration::ZERO);
        assert_eq!(from_tstamp(f64::INFINITY), Duration::MAX);
        assert_eq!(from_tstamp(1e300), Duration::MAX);
        assert_eq!(from_tstamp(Duration::MAX.as_secs_f64()), Duration::MAX);
        assert_eq!(from_tstamp(2.25), Duration::from_millis(2250));
        assert_eq!(deadline_after(Duration::MAX), None);
        assert!(deadline_after(Duration::ZERO).is_some());
        assert_eq!(time_left(None, Duration::MAX), Duration::MAX);
        assert_eq!(
            time_left(deadline_after(Duration::ZERO), Duration::ZERO),
            Duration::ZERO
        );
    }
}
