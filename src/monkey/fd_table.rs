//! What the hooks remember about each descriptor number, process-wide:
//! its kind (and whether a socket is a stream), the timeouts the user set
//! on it, the user's `O_NONBLOCK`, whether its last stream read drained
//! it, and whether a hook holds it in non-blocking mode for the duration
//! of a call.
//!
//! Everything but the timeouts' values sits in one atomic state word per
//! descriptor, so a hooked call's fast path reads it once ([`snap`]) and
//! does not look at the timeouts' word unless one is set.
//!
//! A fixed table in zero-initialised static memory (pages the kernel maps
//! only when touched), indexed by descriptor number: no allocation, no
//! lock, usable from any thread and from a signal handler. Descriptors at
//! or above [`MAX_FD`] are simply never made cooperative.
//!
//! Entries are reset by the `close`, `dup2` and `dup3` hooks. A descriptor
//! closed behind the hooks' back (a raw `close` syscall, `fclose` on an
//! `fdopen`ed socket) may leave a stale kind, mode or timeout for the next
//! descriptor with that number; the hooks re-check the kind when a call
//! fails with `ENOTSOCK`, but a stale blocking mode would make a
//! non-blocking descriptor wait (documented in the README).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::real;

/// Descriptors from this number on are passed through untouched.
pub(crate) const MAX_FD: usize = 1 << 18;

/// What kind of file a descriptor refers to, as far as waiting goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A socket: operations can be tried with `MSG_DONTWAIT`.
    Socket,
    /// A pipe or FIFO: pollable; made non-blocking for a call when needed.
    Fifo,
    /// A character device (a terminal, say): reads wait for readiness.
    Char,
    /// A regular file, a directory, an eventfd, ...: never waited on.
    Other,
}

// Layout of a state word.
const KIND_KNOWN: u64 = 1 << 0;
const KIND_SHIFT: u32 = 1; // 2 bits
const TIMEO_KNOWN: u64 = 1 << 3;
/// The user's view of O_NONBLOCK while a hook holds the descriptor
/// non-blocking (`depth > 0`).
const USER_NONBLOCK: u64 = 1 << 4;
/// The user's O_NONBLOCK, cached (valid when NB_KNOWN): read on first use,
/// kept current by the `fcntl(F_SETFL)` and `ioctl(FIONBIO)` hooks.
const NB_KNOWN: u64 = 1 << 5;
const NB: u64 = 1 << 6;
/// The last stream read on this descriptor returned less than asked: the
/// next one waits for readiness before trying (saves a failing `recv`).
const DRAINED: u64 = 1 << 7;
const DEPTH_SHIFT: u32 = 8; // 16 bits: hooks holding O_NONBLOCK set
const DEPTH_ONE: u64 = 1 << DEPTH_SHIFT;
const DEPTH_MASK: u64 = 0xffff << DEPTH_SHIFT;
/// A socket of type `SOCK_STREAM` (valid with KIND_KNOWN): its reads use
/// the drained hint.
const STREAM: u64 = 1 << 24;
/// A receive (send) timeout is set (valid with TIMEO_KNOWN): without it,
/// the hot path needs no second load for the timeouts.
const RCV_SET: u64 = 1 << 25;
const SND_SET: u64 = 1 << 26;
/// What [`reclassify`] forgets.
const LEARNED: u64 =
    KIND_KNOWN | (3 << KIND_SHIFT) | TIMEO_KNOWN | NB_KNOWN | DRAINED | STREAM | RCV_SET | SND_SET;

struct Entry {
    state: AtomicU64,
    /// Receive timeout in microseconds in the low half, send timeout in the
    /// high half (0: none); valid when TIMEO_KNOWN.
    timeo: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Entry = Entry {
    state: AtomicU64::new(0),
    timeo: AtomicU64::new(0),
};
static TABLE: [Entry; MAX_FD] = [EMPTY; MAX_FD];

fn entry(fd: RawFd) -> Option<&'static Entry> {
    usize::try_from(fd).ok().and_then(|i| TABLE.get(i))
}

/// Forgets everything about `fd` (it was closed or replaced).
pub(crate) fn reset(fd: RawFd) {
    if let Some(e) = entry(fd) {
        // Keep a hook's non-blocking hold: it ends with `nonblock_exit`.
        let _ = e
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some(s & DEPTH_MASK)
            });
    }
}

fn decode_kind(s: u64) -> Kind {
    match (s >> KIND_SHIFT) & 3 {
        0 => Kind::Socket,
        1 => Kind::Fifo,
        2 => Kind::Char,
        _ => Kind::Other,
    }
}

/// Looks the kind of `fd` up again (after `ENOTSOCK` on a descriptor
/// believed to be a socket).
pub(crate) fn reclassify(fd: RawFd) -> Option<Kind> {
    let e = entry(fd)?;
    let _ = e
        .state
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some(s & !LEARNED));
    classify(fd, e)
}

#[cold]
fn classify(fd: RawFd, e: &Entry) -> Option<Kind> {
    // SAFETY: an all-zero stat is valid; fstat only writes it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid stat buffer; any fd number is fine.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => Kind::Socket,
        libc::S_IFIFO => Kind::Fifo,
        libc::S_IFCHR => Kind::Char,
        _ => Kind::Other,
    };
    let stream = kind == Kind::Socket && socket_type(fd) == Some(libc::SOCK_STREAM);
    let bits = KIND_KNOWN
        | if stream { STREAM } else { 0 }
        | ((match kind {
            Kind::Socket => 0u64,
            Kind::Fifo => 1,
            Kind::Char => 2,
            Kind::Other => 3,
        }) << KIND_SHIFT);
    let _ = e
        .state
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            Some((s & !((3 << KIND_SHIFT) | STREAM)) | bits)
        });
    Some(kind)
}

/// `SO_TYPE` of socket `fd`, if it can be read.
fn socket_type(fd: RawFd) -> Option<libc::c_int> {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `ty` and `len` are valid for writes of their sizes.
    let r = unsafe {
        real::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(ty)
}

/// One load of everything the hooks' hot path needs to know about a
/// descriptor: its kind, whether it is a stream socket, the user's
/// `O_NONBLOCK`, whether a timeout is set, the drained hint. Taken once
/// per hooked call; what is not known yet is looked up (and cached) on
/// demand, out of line.
#[derive(Copy, Clone)]
pub(crate) struct Snap {
    fd: RawFd,
    s: u64,
    e: &'static Entry,
}

/// The state of `fd`, classified on first use; `None` for a descriptor
/// out of the table's range or one that is not open.
#[inline]
pub(crate) fn snap(fd: RawFd) -> Option<Snap> {
    let e = entry(fd)?;
    let mut s = e.state.load(Ordering::Acquire);
    if s & KIND_KNOWN == 0 {
        classify(fd, e)?;
        s = e.state.load(Ordering::Acquire);
    }
    Some(Snap { fd, s, e })
}

impl Snap {
    /// The descriptor's kind.
    #[inline]
    pub(crate) fn kind(&self) -> Kind {
        decode_kind(self.s)
    }

    /// A `SOCK_STREAM` socket.
    #[inline]
    pub(crate) fn is_stream(&self) -> bool {
        self.s & STREAM != 0
    }

    /// Whether the last stream read drained the socket (see [`DRAINED`]).
    #[inline]
    pub(crate) fn drained(&self) -> bool {
        self.s & DRAINED != 0
    }

    /// Records whether a stream read drained the socket (a store only when
    /// it changes).
    #[inline]
    pub(crate) fn set_drained(&self, drained: bool) {
        if self.drained() != drained {
            set_drained(self.fd, drained);
        }
    }

    /// The user's view of `O_NONBLOCK` (see [`user_nonblocking`]).
    #[inline]
    pub(crate) fn user_nonblocking(&self) -> bool {
        let s = self.s;
        if s & DEPTH_MASK != 0 {
            return s & USER_NONBLOCK != 0;
        }
        if s & NB_KNOWN != 0 {
            return s & NB != 0;
        }
        user_nonblocking(self.fd)
    }

    /// The receive timeout (`SO_RCVTIMEO`), if any.
    #[inline]
    pub(crate) fn rcv_timeout(&self) -> Option<Duration> {
        if self.s & (TIMEO_KNOWN | RCV_SET) == TIMEO_KNOWN {
            return None;
        }
        self.timeouts().0
    }

    /// The send timeout (`SO_SNDTIMEO`), if any.
    #[inline]
    pub(crate) fn snd_timeout(&self) -> Option<Duration> {
        if self.s & (TIMEO_KNOWN | SND_SET) == TIMEO_KNOWN {
            return None;
        }
        self.timeouts().1
    }

    #[inline(never)]
    fn timeouts(&self) -> (Option<Duration>, Option<Duration>) {
        if self.s & TIMEO_KNOWN != 0 {
            let t = self.e.timeo.load(Ordering::Acquire);
            return (from_us(t & 0xffff_ffff), from_us(t >> 32));
        }
        timeouts(self.fd)
    }
}

fn to_us(d: Option<Duration>) -> u64 {
    match d {
        None => 0,
        // At least 1 µs (0 means none), at most what 32 bits hold (71 min:
        // longer timeouts are clamped).
        Some(d) => d.as_micros().clamp(1, u32::MAX as u128) as u64,
    }
}

fn from_us(us: u64) -> Option<Duration> {
    (us != 0).then(|| Duration::from_micros(us))
}

/// The user's receive and send timeouts on socket `fd` (`SO_RCVTIMEO`,
/// `SO_SNDTIMEO`), read from the kernel on first use and kept current by
/// the `setsockopt` hook.
pub(crate) fn timeouts(fd: RawFd) -> (Option<Duration>, Option<Duration>) {
    let Some(e) = entry(fd) else {
        return (None, None);
    };
    if e.state.load(Ordering::Acquire) & TIMEO_KNOWN != 0 {
        let t = e.timeo.load(Ordering::Acquire);
        return (from_us(t & 0xffff_ffff), from_us(t >> 32));
    }
    let r = read_timeo(fd, libc::SO_RCVTIMEO);
    let w = read_timeo(fd, libc::SO_SNDTIMEO);
    store_timeouts(e, r, w);
    (r, w)
}

fn store_timeouts(e: &Entry, r: Option<Duration>, w: Option<Duration>) {
    e.timeo
        .store(to_us(r) | (to_us(w) << 32), Ordering::Release);
    let set = if r.is_some() { RCV_SET } else { 0 } | if w.is_some() { SND_SET } else { 0 };
    set_bits(e, TIMEO_KNOWN | set, TIMEO_KNOWN | RCV_SET | SND_SET);
}

fn read_timeo(fd: RawFd, opt: libc::c_int) -> Option<Duration> {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: `tv` and `len` are valid for writes of their sizes.
    let r = unsafe {
        real::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut tv as *mut libc::timeval).cast(),
            &mut len,
        )
    };
    if r != 0 || (tv.tv_sec <= 0 && tv.tv_usec <= 0) {
        return None;
    }
    Some(Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64))
}

/// After a successful `setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)`: re-read both
/// from the kernel (which rounds them as it does).
pub(crate) fn timeouts_changed(fd: RawFd) {
    if let Some(e) = entry(fd) {
        let r = read_timeo(fd, libc::SO_RCVTIMEO);
        let w = read_timeo(fd, libc::SO_SNDTIMEO);
        store_timeouts(e, r, w);
    }
}

fn getfl(fd: RawFd) -> libc::c_int {
    // SAFETY: F_GETFL takes no argument.
    unsafe { real::fcntl(fd, libc::F_GETFL, 0) }
}

/// Whether the user set `fd` non-blocking (O_NONBLOCK as the user sees
/// it: a hook's temporary hold is hidden).
pub(crate) fn user_nonblocking(fd: RawFd) -> bool {
    let e = entry(fd);
    if let Some(e) = e {
        let s = e.state.load(Ordering::Acquire);
        if s & DEPTH_MASK != 0 {
            return s & USER_NONBLOCK != 0;
        }
        if s & NB_KNOWN != 0 {
            return s & NB != 0;
        }
    }
    let fl = getfl(fd);
    let nb = fl >= 0 && fl & libc::O_NONBLOCK != 0;
    if fl >= 0
        && let Some(e) = e
    {
        set_bits(e, NB_KNOWN | if nb { NB } else { 0 }, NB_KNOWN | NB);
    }
    nb
}

fn set_bits(e: &Entry, bits: u64, mask: u64) {
    let _ = e
        .state
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            Some((s & !mask) | bits)
        });
}

/// The user set (or cleared) O_NONBLOCK on `fd` (`fcntl(F_SETFL)` or
/// `ioctl(FIONBIO)` succeeded).
pub(crate) fn nonblocking_changed(fd: RawFd, nonblocking: bool) {
    if let Some(e) = entry(fd) {
        set_bits(
            e,
            NB_KNOWN | if nonblocking { NB } else { 0 },
            NB_KNOWN | NB,
        );
    }
}

/// Records whether a stream read on `fd` drained it.
pub(crate) fn set_drained(fd: RawFd, drained: bool) {
    if let Some(e) = entry(fd) {
        let s = e.state.load(Ordering::Relaxed);
        if (s & DRAINED != 0) != drained {
            set_bits(e, if drained { DRAINED } else { 0 }, DRAINED);
        }
    }
}

/// While a hook holds `fd` non-blocking: the user's view of O_NONBLOCK,
/// to report from `fcntl(F_GETFL)`; `None` if no hook holds it.
pub(crate) fn held_view(fd: RawFd) -> Option<bool> {
    let s = entry(fd)?.state.load(Ordering::Acquire);
    (s & DEPTH_MASK != 0).then_some(s & USER_NONBLOCK != 0)
}

/// The user changed O_NONBLOCK while a hook holds `fd`: record the new
/// view (applied when the last hold ends). Returns false if no hook holds
/// it (then the change goes to the kernel as usual).
pub(crate) fn set_held_view(fd: RawFd, nonblocking: bool) -> bool {
    let Some(e) = entry(fd) else { return false };
    e.state
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            (s & DEPTH_MASK != 0).then_some(if nonblocking {
                s | USER_NONBLOCK
            } else {
                s & !USER_NONBLOCK
            })
        })
        .is_ok()
}

/// Makes `fd` non-blocking for the duration of a hook's call (the user
/// sees it blocking: `fcntl(F_GETFL)` hides the flag). Returns false if it
/// cannot (out of the table's range, or `fcntl` failed): then the caller
/// must not wait cooperatively.
pub(crate) fn nonblock_enter(fd: RawFd) -> bool {
    let Some(e) = entry(fd) else { return false };
    let prev = e.state.fetch_add(DEPTH_ONE, Ordering::AcqRel);
    if prev & DEPTH_MASK == DEPTH_MASK {
        e.state.fetch_sub(DEPTH_ONE, Ordering::AcqRel);
        return false;
    }
    if prev & DEPTH_MASK == 0 {
        let fl = getfl(fd);
        // SAFETY: F_SETFL with an int flag word.
        if fl < 0 || unsafe { real::fcntl(fd, libc::F_SETFL, (fl | libc::O_NONBLOCK) as usize) } < 0
        {
            e.state.fetch_sub(DEPTH_ONE, Ordering::AcqRel);
            return false;
        }
        if fl & libc::O_NONBLOCK != 0 {
            e.state.fetch_or(USER_NONBLOCK, Ordering::AcqRel);
        } else {
            e.state.fetch_and(!USER_NONBLOCK, Ordering::AcqRel);
        }
    }
    true
}

/// Ends a hold taken by [`nonblock_enter`]; the last one restores the
/// user's view of O_NONBLOCK.
pub(crate) fn nonblock_exit(fd: RawFd) {
    let Some(e) = entry(fd) else { return };
    let prev = e.state.fetch_sub(DEPTH_ONE, Ordering::AcqRel);
    if prev & DEPTH_MASK == DEPTH_ONE && prev & USER_NONBLOCK == 0 {
        let fl = getfl(fd);
        if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
            // SAFETY: F_SETFL with an int flag word. A failure (the fd was
            // closed meanwhile) leaves nothing to restore.
            unsafe { real::fcntl(fd, libc::F_SETFL, (fl & !libc::O_NONBLOCK) as usize) };
        }
    }
}

/// Whether a hook currently holds `fd` non-blocking while the user sees it
/// blocking: a call from outside greenlets must then wait for readiness
/// itself instead of failing with `EAGAIN`.
pub(crate) fn held_for_blocking_user(fd: RawFd) -> bool {
    match entry(fd) {
        Some(e) => {
            let s = e.state.load(Ordering::Acquire);
            s & DEPTH_MASK != 0 && s & USER_NONBLOCK == 0
        }
        None => false,
    }
}
