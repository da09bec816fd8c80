//! The accept loop's error policy: which `accept` errors are skipped,
//! which pause accepting (and for how long), and logging each distinct
//! error once per pause.

use std::io;
use std::time::Duration;

/// The first pause after an out-of-resources error.
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(10);
/// The longest pause: the delay doubles up to this.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(1);

/// What to do about an `accept` error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing pending: wait for readiness.
    Wait,
    /// A connection died in the backlog, a firewall refused it, a signal
    /// interrupted the call...: try the next one.
    Skip,
    /// Out of descriptors, buffers or memory (or an unexpected error):
    /// pause accepting, then retry.
    Pause,
}

/// Classifies an `accept` error.
pub(crate) fn classify(e: &io::Error) -> Action {
    if e.kind() == io::ErrorKind::WouldBlock {
        return Action::Wait;
    }
    match e.raw_os_error() {
        Some(
            libc::ECONNABORTED
            | libc::EINTR
            | libc::EPROTO
            | libc::EPERM
            | libc::ECONNRESET
            | libc::ETIMEDOUT
            | libc::ENETDOWN
            | libc::ENETUNREACH
            | libc::EHOSTUNREACH
            | libc::EHOSTDOWN
            | libc::ENOPROTOOPT
            | libc::EOPNOTSUPP,
        ) => Action::Skip,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(libc::ENONET) => Action::Skip,
        // EMFILE, ENFILE, ENOBUFS, ENOMEM, and anything unexpected: never
        // spin, never give up.
        _ => Action::Pause,
    }
}

/// The pause state: the next delay and the errors already logged during
/// this pause.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    delay: Option<Duration>,
    logged: Vec<i32>,
}

impl Backoff {
    /// An accept succeeded: the pause (if any) is over.
    #[inline]
    pub(crate) fn reset(&mut self) {
        if self.delay.is_some() {
            self.delay = None;
            self.logged.clear();
        }
    }

    /// Whether accepting is paused (an error since the last success).
    #[cfg(test)]
    pub(crate) fn paused(&self) -> bool {
        self.delay.is_some()
    }

    /// The delay before the next attempt after error `e`, and whether `e`
    /// should be logged (the first time it is seen during this pause).
    pub(crate) fn next(&mut self, e: &io::Error) -> (Duration, bool) {
        let d = match self.delay {
            None => MIN_DELAY,
            Some(d) => (d * 2).min(MAX_DELAY),
        };
        self.delay = Some(d);
        let code = e.raw_os_error().unwrap_or(-1);
        let first = !self.logged.contains(&code);
        if first {
            self.logged.push(code);
        }
        (d, first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let os = io::Error::from_raw_os_error;
        assert_eq!(classify(&os(libc::EAGAIN)), Action::Wait);
        assert_eq!(classify(&os(libc::ECONNABORTED)), Action::Skip);
        assert_eq!(classify(&os(libc::EPERM)), Action::Skip);
        assert_eq!(classify(&os(libc::EMFILE)), Action::Pause);
        assert_eq!(classify(&os(libc::ENFILE)), Action::Pause);
        assert_eq!(classify(&os(libc::ENOBUFS)), Action::Pause);
        assert_eq!(classify(&os(libc::ENOMEM)), Action::Pause);
        assert_eq!(classify(&os(libc::EINVAL)), Action::Pause);
    }

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        let f = io::Error::from_raw_os_error(libc::ENFILE);
        assert_eq!(b.next(&e), (MIN_DELAY, true));
        assert_eq!(b.next(&e), (MIN_DELAY * 2, false));
        assert_eq!(b.next(&f), (MIN_DELAY * 4, true));
        for _ in 0..20 {
            b.next(&e);
        }
        assert_eq!(b.next(&e), (MAX_DELAY, false));
        assert!(b.paused());
        b.reset();
        assert!(!b.paused());
        assert_eq!(b.next(&e), (MIN_DELAY, true));
    }
}
