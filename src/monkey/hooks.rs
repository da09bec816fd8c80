//! The interposed C library functions.
//!
//! Each is `#[no_mangle] extern "C"` with the C prototype, so that the
//! linker binds every call to that name in the program (from std, from
//! crates, from C code linked in, and from shared libraries that import
//! it) here instead of the C library. Each first checks its group's flag
//! and whether the caller is a greenlet (see [`super::cooperative`]);
//! otherwise it calls the real function (`super::real`) with the same
//! arguments, which leaves the result and `errno` exactly as the C library
//! makes them.
//!
//! None of these may unwind: waits run under [`wait::guarded`], which
//! catches kills and timeouts, and nothing else here panics.

#![allow(clippy::missing_safety_doc)]

use std::ffi::{CString, c_void};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use libc::{
    addrinfo, c_char, c_int, c_uint, c_ulong, fd_set, iovec, msghdr, nfds_t, pid_t, pollfd, rusage,
    sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval, useconds_t,
};

use super::fd_table::{self, Kind, Snap};
use super::wait::{self, Errno};
use super::{Patch, Suppress, cooperative, patched, real};
use crate::core::Events;

fn errno() -> c_int {
    // SAFETY: the thread's errno location is always valid.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = e }
}

/// `-1` with `errno` set.
fn fail<T: From<i8>>(e: Errno) -> T {
    set_errno(e);
    T::from(-1)
}

fn is_again(e: c_int) -> bool {
    e == libc::EAGAIN || e == libc::EWOULDBLOCK
}

/// The state of a descriptor the calling greenlet may wait on (the caller
/// checked that its group is patched): `None` outside greenlets, and for
/// a descriptor out of the table's range or not open. One load of the
/// descriptor's state word serves the whole call's fast path.
#[inline]
fn coop_snap(fd: RawFd) -> Option<Snap> {
    if !cooperative() {
        return None;
    }
    fd_table::snap(fd)
}

/// A cooperative socket: `coop_snap` of a socket.
#[inline]
fn coop_socket(fd: RawFd) -> Option<Snap> {
    coop_snap(fd).filter(|st| st.kind() == Kind::Socket)
}

/// What is left of `timeout` started at `start`; `Err` once it ran out.
fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, ()> {
    match deadline {
        None => Ok(None),
        Some(dl) => {
            let now = Instant::now();
            if now >= dl {
                Err(())
            } else {
                Ok(Some(dl - now))
            }
        }
    }
}

fn deadline(t: Option<Duration>) -> Option<Instant> {
    t.and_then(|d| Instant::now().checked_add(d))
}

/// A receive-side operation on a socket the user sees blocking: `op`
/// (which adds `MSG_DONTWAIT`) until it does not fail with `EAGAIN`,
/// waiting for readability in between, bounded by `SO_RCVTIMEO`.
#[inline(always)]
fn sock_in(st: &Snap, fd: RawFd, op: impl FnMut() -> ssize_t) -> ssize_t {
    sock_in_from(st, fd, false, op)
}

/// A stream read of up to `len` bytes: [`sock_in`], first waiting for
/// readability when the last read drained the socket (as `gevent::net`
/// does), then recording whether this one did.
/// Only for `SOCK_STREAM` sockets: on a datagram socket every read
/// returns less than asked, and waiting first would cost a loop iteration
/// per datagram.
#[inline(always)]
fn stream_read(st: &Snap, fd: RawFd, len: usize, op: impl FnMut() -> ssize_t) -> ssize_t {
    let wait_first = len > 0 && st.drained() && !st.user_nonblocking();
    let r = sock_in_from(st, fd, wait_first, op);
    st.set_drained(r > 0 && (r as usize) < len);
    r
}

/// [`sock_in`], optionally waiting for readability before the first try.
/// The fast path (a try that succeeds, or a wait first and then a try that
/// succeeds) reads nothing but the snapshot `st`; after `EAGAIN` the
/// user's `O_NONBLOCK` is read afresh (another greenlet may have changed
/// it during a wait).
#[inline(always)]
fn sock_in_from(
    st: &Snap,
    fd: RawFd,
    wait_first: bool,
    mut op: impl FnMut() -> ssize_t,
) -> ssize_t {
    let rcv = st.rcv_timeout();
    let mut dl = None;
    if wait_first {
        dl = deadline(rcv);
        match wait::wait_fd(fd, Events::READ, rcv) {
            Ok(true) => {}
            Ok(false) => return fail(libc::EAGAIN),
            Err(e) => return fail(e),
        }
    }
    let r = op();
    if r >= 0 {
        return r;
    }
    // errno first: nothing may run between the failed call and its read.
    let e = errno();
    sock_in_wait(fd, e, if wait_first { dl } else { deadline(rcv) }, op)
}

/// The waiting part of [`sock_in_from`], out of line: entered after a try
/// failed with `e`, bounded by the deadline `dl`.
#[inline(never)]
fn sock_in_wait(
    fd: RawFd,
    mut e: c_int,
    dl: Option<Instant>,
    mut op: impl FnMut() -> ssize_t,
) -> ssize_t {
    loop {
        if !is_again(e) || fd_table::user_nonblocking(fd) {
            return fail(e);
        }
        let Ok(left) = remaining(dl) else {
            return fail(libc::EAGAIN);
        };
        match wait::wait_fd(fd, Events::READ, left) {
            Ok(true) => {}
            Ok(false) => return fail(libc::EAGAIN),
            Err(e) => return fail(e),
        }
        let r = op();
        if r >= 0 {
            return r;
        }
        e = errno();
    }
}

/// A send-side operation of `len` bytes: `op(done)` sends from offset
/// `done` (with `MSG_DONTWAIT`, or on a descriptor held non-blocking),
/// repeated until everything went (a blocking send's promise), waiting
/// for writability in between, bounded by `timeout`. After a partial
/// send, an error or the timeout returns the count sent, as the kernel
/// does.
#[inline]
fn out_loop(
    fd: RawFd,
    len: usize,
    timeout: Option<Duration>,
    mut op: impl FnMut(usize) -> ssize_t,
) -> ssize_t {
    // The common case: everything goes at once.
    let r = op(0);
    if r >= 0 && r as usize >= len {
        return r;
    }
    // errno first: nothing may run between the failed call and its read.
    let e = if r < 0 { errno() } else { 0 };
    out_wait(fd, len, timeout, (r, e), op)
}

/// The rest of [`out_loop`] after a first try that did not send
/// everything (its result and, if it failed, its errno), out of line.
#[inline(never)]
fn out_wait(
    fd: RawFd,
    len: usize,
    timeout: Option<Duration>,
    first: (ssize_t, c_int),
    mut op: impl FnMut(usize) -> ssize_t,
) -> ssize_t {
    let dl = deadline(timeout);
    let mut done = 0usize;
    let mut next = Some(first);
    loop {
        let (r, e) = match next.take() {
            Some(f) => f,
            None => {
                let r = op(done);
                (r, if r < 0 { errno() } else { 0 })
            }
        };
        if r >= 0 {
            done += r as usize;
            if done >= len {
                return done as ssize_t;
            }
            continue;
        }
        let partial = |e| if done > 0 { done as ssize_t } else { fail(e) };
        if !is_again(e) || fd_table::user_nonblocking(fd) {
            return partial(e);
        }
        let Ok(left) = remaining(dl) else {
            return partial(libc::EAGAIN);
        };
        match wait::wait_fd(fd, Events::WRITE, left) {
            Ok(true) => {}
            Ok(false) => return partial(libc::EAGAIN),
            Err(e) => return partial(e),
        }
    }
}

/// Waits until a pipe or terminal the user sees blocking is readable,
/// then lets the real call read what is there. (A reader on another
/// thread or process could take the data first; the read then blocks the
/// thread as it would have without the hook.)
fn wait_readable(fd: RawFd) -> Result<(), Errno> {
    loop {
        let mut p = pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { real::poll(&mut p, 1, 0) };
        if n != 0 {
            return Ok(());
        }
        wait::wait_fd(fd, Events::READ, None)?;
    }
}

/// A call from outside greenlets on a descriptor a greenlet holds
/// non-blocking for the user who sees it blocking: wait for readiness
/// (with the real `poll`) and retry, as the blocking call would have.
fn emulate_blocking(fd: RawFd, events: libc::c_short, mut op: impl FnMut() -> ssize_t) -> ssize_t {
    loop {
        let r = op();
        if r >= 0 || !is_again(errno()) || !fd_table::held_for_blocking_user(fd) {
            return r;
        }
        let mut p = pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { real::poll(&mut p, 1, 50) };
    }
}

// ---------------------------------------------------------------------------
// Receiving.

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    // SAFETY (all hooks): the arguments are the caller's, passed on with the
    // contract of the C function being hooked; `buf` is only handed to the
    // real functions, with lengths within `n`.
    unsafe {
        recvfrom(
            fd,
            buf,
            n,
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if !patched(Patch::Socket) || flags & libc::MSG_DONTWAIT != 0 {
        return unsafe { real::recvfrom(fd, buf, n, flags, addr, alen) };
    }
    let Some(st) = coop_socket(fd) else {
        return emulate_blocking(fd, libc::POLLIN, || unsafe {
            real::recvfrom(fd, buf, n, flags, addr, alen)
        });
    };
    let _s = Suppress::enter();
    let dflags = (flags & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT;
    if flags & libc::MSG_WAITALL == 0 || n == 0 {
        let op = move || unsafe { real::recvfrom(fd, buf, n, dflags, addr, alen) };
        // std's `TcpStream::read` is a `recv`: a stream read, unless it
        // peeks or asks for urgent data.
        if st.is_stream() && flags & (libc::MSG_PEEK | libc::MSG_OOB) == 0 {
            return stream_read(&st, fd, n, op);
        }
        return sock_in(&st, fd, op);
    }
    // MSG_WAITALL: until `n` bytes, the end of the stream, an error or the
    // timeout (the last two return what came, if anything).
    let mut got = 0usize;
    while got < n {
        let r = sock_in(&st, fd, move || unsafe {
            real::recvfrom(
                fd,
                buf.cast::<u8>().add(got).cast(),
                n - got,
                dflags,
                addr,
                alen,
            )
        });
        if r < 0 {
            return if got > 0 { got as ssize_t } else { r };
        }
        if r == 0 || flags & libc::MSG_PEEK != 0 {
            return if flags & libc::MSG_PEEK != 0 {
                r
            } else {
                got as ssize_t
            };
        }
        got += r as usize;
    }
    got as ssize_t
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    if !patched(Patch::Socket) || flags & libc::MSG_DONTWAIT != 0 {
        return unsafe { real::recvmsg(fd, msg, flags) };
    }
    let Some(st) = coop_socket(fd) else {
        return emulate_blocking(fd, libc::POLLIN, || unsafe {
            real::recvmsg(fd, msg, flags)
        });
    };
    let _s = Suppress::enter();
    sock_in(&st, fd, move || unsafe {
        real::recvmsg(fd, msg, flags | libc::MSG_DONTWAIT)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    if !patched(Patch::Socket) {
        return unsafe { real::read(fd, buf, n) };
    }
    match coop_snap(fd) {
        Some(st) if st.kind() == Kind::Socket => {
            let _s = Suppress::enter();
            let op = move || unsafe { real::recv(fd, buf, n, libc::MSG_DONTWAIT) };
            let r = if st.is_stream() {
                stream_read(&st, fd, n, op)
            } else {
                sock_in(&st, fd, op)
            };
            if r < 0 && errno() == libc::ENOTSOCK {
                // A stale entry: the number now names something else.
                fd_table::reclassify(fd);
                return unsafe { real::read(fd, buf, n) };
            }
            r
        }
        Some(st) if matches!(st.kind(), Kind::Fifo | Kind::Char) && !st.user_nonblocking() => {
            let _s = Suppress::enter();
            match wait_readable(fd) {
                Ok(()) => unsafe { real::read(fd, buf, n) },
                Err(e) => fail(e),
            }
        }
        _ => emulate_blocking(fd, libc::POLLIN, || unsafe { real::read(fd, buf, n) }),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    if !patched(Patch::Socket) {
        return unsafe { real::readv(fd, iov, cnt) };
    }
    match coop_snap(fd) {
        Some(st) if st.kind() == Kind::Socket && cnt >= 0 => {
            let _s = Suppress::enter();
            // SAFETY: a zeroed msghdr is valid; the iovecs are the caller's.
            let mut m: msghdr = unsafe { std::mem::zeroed() };
            m.msg_iov = iov as *mut iovec;
            m.msg_iovlen = cnt as _;
            let r = sock_in(&st, fd, || unsafe {
                real::recvmsg(fd, &mut m, libc::MSG_DONTWAIT)
            });
            if r < 0 && errno() == libc::ENOTSOCK {
                fd_table::reclassify(fd);
                return unsafe { real::readv(fd, iov, cnt) };
            }
            r
        }
        Some(st) if matches!(st.kind(), Kind::Fifo | Kind::Char) && !st.user_nonblocking() => {
            let _s = Suppress::enter();
            match wait_readable(fd) {
                Ok(()) => unsafe { real::readv(fd, iov, cnt) },
                Err(e) => fail(e),
            }
        }
        _ => emulate_blocking(fd, libc::POLLIN, || unsafe { real::readv(fd, iov, cnt) }),
    }
}

// ---------------------------------------------------------------------------
// Sending.

#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    unsafe { sendto(fd, buf, n, flags, std::ptr::null(), 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    if !patched(Patch::Socket) || flags & libc::MSG_DONTWAIT != 0 {
        return unsafe { real::sendto(fd, buf, n, flags, addr, alen) };
    }
    let Some(st) = coop_socket(fd) else {
        return emulate_blocking(fd, libc::POLLOUT, || unsafe {
            real::sendto(fd, buf, n, flags, addr, alen)
        });
    };
    let _s = Suppress::enter();
    let snd = st.snd_timeout();
    out_loop(fd, n, snd, move |done| unsafe {
        real::sendto(
            fd,
            buf.cast::<u8>().add(done).cast(),
            n - done,
            flags | libc::MSG_DONTWAIT,
            addr,
            alen,
        )
    })
}

/// Copies `iov[..cnt]` and drops its first `skip` bytes.
///
/// # Safety
///
/// `iov` must point at `cnt` valid iovecs.
unsafe fn iov_after(iov: *const iovec, cnt: usize, mut skip: usize) -> Vec<iovec> {
    // SAFETY: guaranteed by the caller.
    let all = unsafe { std::slice::from_raw_parts(iov, cnt) };
    let mut out = Vec::with_capacity(cnt);
    for v in all {
        if skip >= v.iov_len {
            skip -= v.iov_len;
            continue;
        }
        out.push(iovec {
            // SAFETY: within the caller's buffer.
            iov_base: unsafe { v.iov_base.cast::<u8>().add(skip).cast() },
            iov_len: v.iov_len - skip,
        });
        skip = 0;
    }
    out
}

fn iov_total(iov: *const iovec, cnt: usize) -> usize {
    if iov.is_null() {
        return 0;
    }
    // SAFETY: the caller's iovec array of `cnt` entries.
    unsafe { std::slice::from_raw_parts(iov, cnt) }
        .iter()
        .fold(0usize, |a, v| a.saturating_add(v.iov_len))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if !patched(Patch::Socket) || flags & libc::MSG_DONTWAIT != 0 || msg.is_null() {
        return unsafe { real::sendmsg(fd, msg, flags) };
    }
    let Some(st) = coop_socket(fd) else {
        return emulate_blocking(fd, libc::POLLOUT, || unsafe {
            real::sendmsg(fd, msg, flags)
        });
    };
    let _s = Suppress::enter();
    let snd = st.snd_timeout();
    // SAFETY: the caller's message.
    let m = unsafe { &*msg };
    // `msg_iovlen` is a size_t with glibc, an int with musl.
    #[allow(clippy::unnecessary_cast)]
    let cnt = m.msg_iovlen as usize;
    let total = iov_total(m.msg_iov, cnt);
    out_loop(fd, total, snd, |done| unsafe {
        if done == 0 {
            return real::sendmsg(fd, msg, flags | libc::MSG_DONTWAIT);
        }
        // The rest, without the ancillary data (it went with the first
        // part).
        let rest = iov_after(m.msg_iov, cnt, done);
        let mut m2: msghdr = std::mem::zeroed();
        m2.msg_name = m.msg_name;
        m2.msg_namelen = m.msg_namelen;
        m2.msg_iov = rest.as_ptr() as *mut iovec;
        m2.msg_iovlen = rest.len() as _;
        real::sendmsg(fd, &m2, flags | libc::MSG_DONTWAIT)
    })
}

/// A blocking write to a pipe, in a greenlet: the pipe is held
/// non-blocking for the call, which writes everything (as a blocking write
/// does), parking whenever the pipe is full.
fn fifo_write(fd: RawFd, total: usize, mut op: impl FnMut(usize) -> ssize_t) -> Option<ssize_t> {
    if !fd_table::nonblock_enter(fd) {
        return None;
    }
    let r = out_loop(fd, total, None, &mut op);
    let e = errno();
    fd_table::nonblock_exit(fd);
    set_errno(e);
    Some(r)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    if !patched(Patch::Socket) {
        return unsafe { real::write(fd, buf, n) };
    }
    match coop_snap(fd) {
        Some(st) if st.kind() == Kind::Socket => {
            let _s = Suppress::enter();
            let snd = st.snd_timeout();
            let r = out_loop(fd, n, snd, move |done| unsafe {
                real::send(
                    fd,
                    buf.cast::<u8>().add(done).cast(),
                    n - done,
                    libc::MSG_DONTWAIT,
                )
            });
            if r < 0 && errno() == libc::ENOTSOCK {
                fd_table::reclassify(fd);
                return unsafe { real::write(fd, buf, n) };
            }
            r
        }
        Some(st) if st.kind() == Kind::Fifo && !st.user_nonblocking() => {
            let _s = Suppress::enter();
            fifo_write(fd, n, |done| unsafe {
                real::write(fd, buf.cast::<u8>().add(done).cast(), n - done)
            })
            .unwrap_or_else(|| unsafe { real::write(fd, buf, n) })
        }
        _ => emulate_blocking(fd, libc::POLLOUT, || unsafe { real::write(fd, buf, n) }),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    if !patched(Patch::Socket) || cnt < 0 {
        return unsafe { real::writev(fd, iov, cnt) };
    }
    let st = coop_snap(fd);
    let total = iov_total(iov, cnt as usize);
    let rest = |done: usize| -> Vec<iovec> {
        // SAFETY: the caller's `cnt` iovecs.
        unsafe { iov_after(iov, cnt as usize, done) }
    };
    match st {
        Some(st) if st.kind() == Kind::Socket => {
            let _s = Suppress::enter();
            let snd = st.snd_timeout();
            let r = out_loop(fd, total, snd, |done| unsafe {
                let v = rest(done);
                // SAFETY: a zeroed msghdr is valid.
                let mut m: msghdr = std::mem::zeroed();
                m.msg_iov = v.as_ptr() as *mut iovec;
                m.msg_iovlen = v.len() as _;
                real::sendmsg(fd, &m, libc::MSG_DONTWAIT)
            });
            if r < 0 && errno() == libc::ENOTSOCK {
                fd_table::reclassify(fd);
                return unsafe { real::writev(fd, iov, cnt) };
            }
            r
        }
        Some(st) if st.kind() == Kind::Fifo && !st.user_nonblocking() => {
            let _s = Suppress::enter();
            fifo_write(fd, total, |done| unsafe {
                let v = rest(done);
                real::writev(fd, v.as_ptr(), v.len() as c_int)
            })
            .unwrap_or_else(|| unsafe { real::writev(fd, iov, cnt) })
        }
        _ => emulate_blocking(fd, libc::POLLOUT, || unsafe { real::writev(fd, iov, cnt) }),
    }
}

// ---------------------------------------------------------------------------
// Connecting and accepting.

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, alen: *mut socklen_t) -> c_int {
    unsafe { accept4(fd, addr, alen, 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
    flags: c_int,
) -> c_int {
    if !patched(Patch::Socket) {
        return unsafe { real::accept4(fd, addr, alen, flags) };
    }
    if coop_socket(fd).is_none_or(|st| st.user_nonblocking()) {
        return emulate_blocking(fd, libc::POLLIN, || unsafe {
            real::accept4(fd, addr, alen, flags) as ssize_t
        }) as c_int;
    }
    let _s = Suppress::enter();
    if !fd_table::nonblock_enter(fd) {
        return unsafe { real::accept4(fd, addr, alen, flags) };
    }
    // A fresh snapshot: the hold changed the state word.
    let r = match fd_table::snap(fd) {
        Some(st) => sock_in(&st, fd, move || unsafe {
            real::accept4(fd, addr, alen, flags) as ssize_t
        }) as c_int,
        None => fail(libc::EBADF),
    };
    let e = errno();
    fd_table::nonblock_exit(fd);
    set_errno(e);
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, alen: socklen_t) -> c_int {
    if !patched(Patch::Socket) || coop_socket(fd).is_none_or(|st| st.user_nonblocking()) {
        return unsafe { real::connect(fd, addr, alen) };
    }
    let _s = Suppress::enter();
    if !fd_table::nonblock_enter(fd) {
        return unsafe { real::connect(fd, addr, alen) };
    }
    let r = connect_held(fd, addr, alen);
    let e = errno();
    fd_table::nonblock_exit(fd);
    set_errno(e);
    r
}

/// `connect` on a socket held non-blocking: start it, wait for it to
/// finish (bounded by `SO_SNDTIMEO`: `EINPROGRESS` on expiry, as Linux
/// reports it), report its outcome.
fn connect_held(fd: RawFd, addr: *const sockaddr, alen: socklen_t) -> c_int {
    let (_, snd) = fd_table::timeouts(fd);
    let dl = deadline(snd);
    loop {
        // SAFETY: the caller's address.
        let r = unsafe { real::connect(fd, addr, alen) };
        if r == 0 {
            return 0;
        }
        let e = errno();
        // EAGAIN: a Unix socket's backlog is full (a blocking connect
        // waits for room); EINPROGRESS: a TCP connect under way.
        if e != libc::EINPROGRESS && !is_again(e) {
            return fail(e);
        }
        let Ok(left) = remaining(dl) else {
            return fail(libc::EINPROGRESS);
        };
        match wait::wait_fd(fd, Events::WRITE, left) {
            Ok(true) => {}
            Ok(false) => {
                return fail(if is_again(e) {
                    libc::EAGAIN
                } else {
                    libc::EINPROGRESS
                });
            }
            Err(err) => return fail(err),
        }
        if is_again(e) {
            continue;
        }
        let mut err: c_int = 0;
        let mut len = std::mem::size_of::<c_int>() as socklen_t;
        // SAFETY: `err` and `len` are valid for writes of their sizes.
        let g = unsafe {
            real::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut c_int).cast(),
                &mut len,
            )
        };
        if g != 0 {
            return -1;
        }
        return if err == 0 { 0 } else { fail(err) };
    }
}

// ---------------------------------------------------------------------------
// Descriptor bookkeeping.

/// Before `fd` is closed or replaced: the hooks forget it, and this
/// thread's waiters on it fail with `EBADF`.
fn forget(fd: RawFd) {
    if !patched(Patch::Socket) {
        return;
    }
    fd_table::reset(fd);
    if crate::hub::existing_hub().is_some() {
        wait::forget_fd(fd);
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    forget(fd);
    unsafe { real::close(fd) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new {
        forget(new);
    }
    unsafe { real::dup2(old, new) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new {
        forget(new);
    }
    unsafe { real::dup3(old, new, flags) }
}

/// `fcntl(fd, cmd, arg)`. The C prototype is variadic; the one optional
/// argument (an `int`, a `long` or a pointer) arrives in the same register
/// as a fixed pointer-sized argument on the supported targets (x86-64 and
/// AArch64 Linux), and is passed on unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    if patched(Patch::Socket) {
        if cmd == libc::F_GETFL {
            let r = unsafe { real::fcntl(fd, cmd, arg) };
            if r >= 0
                && let Some(view) = fd_table::held_view(fd)
            {
                return if view {
                    r | libc::O_NONBLOCK
                } else {
                    r & !libc::O_NONBLOCK
                };
            }
            return r;
        }
        if cmd == libc::F_SETFL && fd_table::set_held_view(fd, arg as c_int & libc::O_NONBLOCK != 0)
        {
            // A hook holds it non-blocking: keep it so until the hold ends,
            // which applies the user's choice.
            return unsafe { real::fcntl(fd, cmd, arg | libc::O_NONBLOCK as usize) };
        }
        if cmd == libc::F_SETFL {
            let r = unsafe { real::fcntl(fd, cmd, arg) };
            if r >= 0 {
                fd_table::nonblocking_changed(fd, arg as c_int & libc::O_NONBLOCK != 0);
            }
            return r;
        }
    }
    unsafe { real::fcntl(fd, cmd, arg) }
}

/// `ioctl(fd, request, arg)` (variadic in C; see [`fcntl`]). Only
/// `FIONBIO` on a descriptor a hook holds non-blocking is looked at.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int {
    if patched(Patch::Socket) && req == libc::FIONBIO as c_ulong && !arg.is_null() {
        // SAFETY: FIONBIO's argument is a pointer to an int.
        let on = unsafe { *(arg as *const c_int) } != 0;
        if fd_table::set_held_view(fd, on) {
            return 0;
        }
        let r = unsafe { real::ioctl(fd, req, arg) };
        if r == 0 {
            fd_table::nonblocking_changed(fd, on);
        }
        return r;
    }
    unsafe { real::ioctl(fd, req, arg) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    let r = unsafe { real::setsockopt(fd, level, name, val, len) };
    if r == 0
        && patched(Patch::Socket)
        && level == libc::SOL_SOCKET
        && (name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO)
    {
        fd_table::timeouts_changed(fd);
    }
    r
}

// ---------------------------------------------------------------------------
// poll, ppoll, select.

fn poll_events(ev: libc::c_short) -> Option<Events> {
    let mut e = Events::NONE;
    if ev & (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) != 0 {
        e |= Events::READ;
    }
    if ev & libc::POLLOUT != 0 {
        e |= Events::WRITE;
    }
    (!e.is_empty()).then_some(e)
}

/// Cooperative `poll`: the real one with a zero timeout first; then park
/// on io watchers for the descriptors' events until one fires (then poll
/// again) or the timeout runs out.
fn coop_poll(fds: *mut pollfd, n: nfds_t, timeout: Option<Duration>) -> c_int {
    let _s = Suppress::enter();
    let dl = deadline(timeout);
    loop {
        // SAFETY: the caller's array of `n` pollfds.
        let r = unsafe { real::poll(fds, n, 0) };
        if r != 0 {
            return r;
        }
        let Ok(left) = remaining(dl) else { return 0 };
        let list: Vec<(RawFd, Events)> = if fds.is_null() {
            Vec::new()
        } else {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(fds, n as usize) }
                .iter()
                .filter(|p| p.fd >= 0)
                .filter_map(|p| poll_events(p.events).map(|e| (p.fd, e)))
                .collect()
        };
        let waited = if list.is_empty() {
            // Nothing to watch: a sleep (forever, in day-long steps).
            wait::sleep(left.unwrap_or(Duration::from_secs(86_400))).map(|()| false)
        } else {
            wait::wait_many(&list, left)
        };
        match waited {
            Ok(_) => {}
            Err(e) => return fail(e),
        }
    }
}

fn clamp_nfds(n: nfds_t) -> bool {
    n <= 1 << 20
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int {
    if !patched(Patch::Select) || timeout == 0 || !clamp_nfds(n) || !cooperative() {
        return unsafe { real::poll(fds, n, timeout) };
    }
    let t = (timeout > 0).then(|| Duration::from_millis(timeout as u64));
    coop_poll(fds, n, t)
}

fn ts_duration(ts: &timespec) -> Option<Duration> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: nfds_t,
    ts: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    // A signal mask asks for the kernel's atomic mask-and-wait, which
    // cannot be done cooperatively: such calls are passed through.
    if !patched(Patch::Select) || !mask.is_null() || !clamp_nfds(n) || !cooperative() {
        return unsafe { real::ppoll(fds, n, ts, mask) };
    }
    let t = if ts.is_null() {
        None
    } else {
        // SAFETY: the caller's timespec.
        match ts_duration(unsafe { &*ts }) {
            Some(d) if d.is_zero() => return unsafe { real::ppoll(fds, n, ts, mask) },
            Some(d) => Some(d),
            None => return fail(libc::EINVAL),
        }
    };
    coop_poll(fds, n, t)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn select(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    tv: *mut timeval,
) -> c_int {
    let zero_tv = !tv.is_null() && unsafe { (*tv).tv_sec == 0 && (*tv).tv_usec == 0 };
    if !patched(Patch::Select)
        || zero_tv
        || !(0..=libc::FD_SETSIZE as c_int).contains(&nfds)
        || !cooperative()
    {
        return unsafe { real::select(nfds, r, w, e, tv) };
    }
    let timeout = if tv.is_null() {
        None
    } else {
        // SAFETY: the caller's timeval.
        let t = unsafe { &*tv };
        if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
            return fail(libc::EINVAL);
        }
        Some(Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64))
    };
    let _s = Suppress::enter();
    // SAFETY (block): the caller's fd_sets (or null), copied by value.
    let copy = |p: *mut fd_set| (!p.is_null()).then(|| unsafe { *p });
    let (r0, w0, e0) = (copy(r), copy(w), copy(e));
    let ptr = |c: &mut Option<fd_set>| {
        c.as_mut()
            .map_or(std::ptr::null_mut(), |s| s as *mut fd_set)
    };
    let dl = deadline(timeout);
    let set_tv = |left: Duration| {
        if !tv.is_null() {
            // SAFETY: the caller's timeval (Linux reports the time left).
            unsafe {
                (*tv).tv_sec = left.as_secs() as libc::time_t;
                (*tv).tv_usec = left.subsec_micros() as libc::suseconds_t;
            }
        }
    };
    loop {
        let (mut r1, mut w1, mut e1) = (r0, w0, e0);
        let mut z = timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        // SAFETY: our copies of the caller's sets.
        let n = unsafe { real::select(nfds, ptr(&mut r1), ptr(&mut w1), ptr(&mut e1), &mut z) };
        let left = remaining(dl);
        if n != 0 || left.is_err() {
            if n >= 0 {
                // SAFETY: writing back into the caller's sets.
                unsafe {
                    for (dst, src) in [(r, r1), (w, w1), (e, e1)] {
                        if let Some(s) = src
                            && !dst.is_null()
                        {
                            *dst = s;
                        }
                    }
                }
                set_tv(left.ok().flatten().unwrap_or(Duration::ZERO));
            }
            return n;
        }
        let mut list = Vec::new();
        for fd in 0..nfds {
            // SAFETY: fd < nfds <= FD_SETSIZE, within each set.
            unsafe {
                let mut ev = Events::NONE;
                if r0.as_ref().is_some_and(|s| libc::FD_ISSET(fd, s))
                    || e0.as_ref().is_some_and(|s| libc::FD_ISSET(fd, s))
                {
                    ev |= Events::READ;
                }
                if w0.as_ref().is_some_and(|s| libc::FD_ISSET(fd, s)) {
                    ev |= Events::WRITE;
                }
                if !ev.is_empty() {
                    list.push((fd, ev));
                }
            }
        }
        let left = left.ok().flatten();
        let waited = if list.is_empty() {
            wait::sleep(left.unwrap_or(Duration::from_secs(86_400))).map(|()| false)
        } else {
            wait::wait_many(&list, left)
        };
        if let Err(err) = waited {
            return fail(err);
        }
    }
}

// ---------------------------------------------------------------------------
// Sleeping.

/// A cooperative sleep; a kill or timeout cuts it short (the sleep then
/// reports no time left: the greenlet is about to leave anyway).
fn coop_sleep(d: Duration) {
    let _s = Suppress::enter();
    let _ = wait::sleep(d);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    if !patched(Patch::Time) || req.is_null() || !cooperative() {
        return unsafe { real::nanosleep(req, rem) };
    }
    // SAFETY: the caller's timespec.
    let Some(d) = ts_duration(unsafe { &*req }) else {
        return fail(libc::EINVAL);
    };
    coop_sleep(d);
    if !rem.is_null() {
        // SAFETY: the caller's output timespec.
        unsafe {
            (*rem).tv_sec = 0;
            (*rem).tv_nsec = 0;
        }
    }
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_nanosleep(
    clock: libc::clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    let known = matches!(
        clock,
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI
    );
    if !patched(Patch::Time) || req.is_null() || !known || !cooperative() {
        return unsafe { real::clock_nanosleep(clock, flags, req, rem) };
    }
    // SAFETY: the caller's timespec.
    let Some(mut d) = ts_duration(unsafe { &*req }) else {
        return libc::EINVAL;
    };
    if flags & libc::TIMER_ABSTIME != 0 {
        let mut now = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock id and output.
        unsafe { libc::clock_gettime(clock, &mut now) };
        d = d.saturating_sub(ts_duration(&now).unwrap_or(Duration::ZERO));
    }
    coop_sleep(d);
    if !rem.is_null() && flags & libc::TIMER_ABSTIME == 0 {
        // SAFETY: the caller's output timespec.
        unsafe {
            (*rem).tv_sec = 0;
            (*rem).tv_nsec = 0;
        }
    }
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn usleep(us: useconds_t) -> c_int {
    if !patched(Patch::Time) || !cooperative() {
        return unsafe { real::usleep(us) };
    }
    coop_sleep(Duration::from_micros(us as u64));
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sleep(s: c_uint) -> c_uint {
    if !patched(Patch::Time) || !cooperative() {
        return unsafe { real::sleep(s) };
    }
    coop_sleep(Duration::from_secs(s as u64));
    0
}

// ---------------------------------------------------------------------------
// Name resolution: the real functions on the hub's thread pool.

/// A result list of `getaddrinfo`, freed unless handed to the caller.
struct AiList(*mut addrinfo);

// SAFETY: the list is plain heap memory owned by whoever holds this; it is
// created on a pool thread and used or freed on the greenlet's.
unsafe impl Send for AiList {}

impl Drop for AiList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a list from the real getaddrinfo, freed once.
            unsafe { real::freeaddrinfo(self.0) };
        }
    }
}

fn opt_cstring(p: *const c_char) -> Option<CString> {
    // SAFETY: the caller's NUL-terminated string (or null).
    (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_owned())
}

/// Runs `job` on the hub's thread pool and parks until it is done. On a
/// kill or timeout, the job still finishes on its thread (its result is
/// dropped there), and the errno says which.
fn on_pool<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Errno> {
    let pool = crate::get_hub()
        .try_threadpool()
        .map_err(|_| libc::EAGAIN)?;
    let r = pool.spawn(job);
    wait::guarded(|| r.get().map_err(std::io::Error::from))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    if !patched(Patch::Dns) || res.is_null() || !cooperative() {
        return unsafe { real::getaddrinfo(node, service, hints, res) };
    }
    let _s = Suppress::enter();
    let (node_c, service_c) = (opt_cstring(node), opt_cstring(service));
    // Only these fields of the hints have a meaning (the others must be 0).
    let h = (!hints.is_null()).then(|| {
        // SAFETY: the caller's hints.
        let h = unsafe { &*hints };
        (h.ai_flags, h.ai_family, h.ai_socktype, h.ai_protocol)
    });
    let out = on_pool(move || {
        // SAFETY: a zeroed addrinfo is the documented empty hints value.
        let mut hints: addrinfo = unsafe { std::mem::zeroed() };
        let hp = match h {
            Some((f, fam, st, pr)) => {
                hints.ai_flags = f;
                hints.ai_family = fam;
                hints.ai_socktype = st;
                hints.ai_protocol = pr;
                &hints as *const addrinfo
            }
            None => std::ptr::null(),
        };
        let mut list: *mut addrinfo = std::ptr::null_mut();
        // SAFETY: valid strings (or null), hints and output.
        let rc = unsafe {
            real::getaddrinfo(
                node_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                service_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                hp,
                &mut list,
            )
        };
        (rc, errno(), AiList(list))
    });
    match out {
        Ok((rc, e, mut list)) => {
            if rc == 0 {
                // SAFETY: the caller's output pointer.
                unsafe { *res = std::mem::replace(&mut list.0, std::ptr::null_mut()) };
            } else if rc == libc::EAI_SYSTEM {
                set_errno(e);
            }
            rc
        }
        Err(e) => {
            set_errno(e);
            libc::EAI_SYSTEM
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getnameinfo(
    addr: *const sockaddr,
    alen: socklen_t,
    host: *mut c_char,
    hostlen: socklen_t,
    serv: *mut c_char,
    servlen: socklen_t,
    flags: c_int,
) -> c_int {
    let fits = (alen as usize) <= std::mem::size_of::<libc::sockaddr_storage>();
    if !patched(Patch::Dns) || addr.is_null() || !fits || !cooperative() {
        return unsafe { real::getnameinfo(addr, alen, host, hostlen, serv, servlen, flags) };
    }
    let _s = Suppress::enter();
    // SAFETY: the caller's address of `alen` bytes.
    let a = unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), alen as usize) }.to_vec();
    let (want_host, want_serv) = (
        !host.is_null() && hostlen > 0,
        !serv.is_null() && servlen > 0,
    );
    let out = on_pool(move || {
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        // SAFETY: `a` fits in `st` (checked above).
        unsafe { std::ptr::copy_nonoverlapping(a.as_ptr(), &mut st as *mut _ as *mut u8, a.len()) };
        let mut h = vec![0 as c_char; if want_host { hostlen as usize } else { 0 }];
        let mut s = vec![0 as c_char; if want_serv { servlen as usize } else { 0 }];
        // SAFETY: valid address and output buffers of the given sizes.
        let rc = unsafe {
            real::getnameinfo(
                (&st as *const libc::sockaddr_storage).cast(),
                a.len() as socklen_t,
                if want_host {
                    h.as_mut_ptr()
                } else {
                    std::ptr::null_mut()
                },
                h.len() as socklen_t,
                if want_serv {
                    s.as_mut_ptr()
                } else {
                    std::ptr::null_mut()
                },
                s.len() as socklen_t,
                flags,
            )
        };
        (rc, errno(), h, s)
    });
    match out {
        Ok((rc, e, h, s)) => {
            if rc == 0 {
                // SAFETY: the caller's buffers, of these very lengths.
                unsafe {
                    if want_host {
                        std::ptr::copy_nonoverlapping(h.as_ptr(), host, h.len());
                    }
                    if want_serv {
                        std::ptr::copy_nonoverlapping(s.as_ptr(), serv, s.len());
                    }
                }
            } else if rc == libc::EAI_SYSTEM {
                set_errno(e);
            }
            rc
        }
        Err(e) => {
            set_errno(e);
            libc::EAI_SYSTEM
        }
    }
}

// ---------------------------------------------------------------------------
// Waiting for children.

#[unsafe(no_mangle)]
pub unsafe extern "C" fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t {
    unsafe { wait4(pid, status, options, std::ptr::null_mut()) }
}

/// Closes a descriptor of the hooks' own (forgetting it first).
fn close_own(fd: RawFd) {
    forget(fd);
    // SAFETY: our own descriptor, closed once.
    unsafe { real::close(fd) };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn wait4(
    pid: pid_t,
    status: *mut c_int,
    options: c_int,
    ru: *mut rusage,
) -> pid_t {
    if !patched(Patch::Process) || options & libc::WNOHANG != 0 || !cooperative() {
        return unsafe { real::wait4(pid, status, options, ru) };
    }
    let _s = Suppress::enter();
    // For one child that can only exit (no WUNTRACED/WCONTINUED): a pidfd
    // becomes readable when it does (Linux 5.3+). Otherwise, or without
    // pidfds: look again after growing pauses (1 ms to 50 ms).
    let exit_only = options & (libc::WUNTRACED | libc::WCONTINUED) == 0;
    let mut pidfd: RawFd = -1;
    let mut pause = Duration::from_millis(1);
    let r = loop {
        // SAFETY: the caller's outputs.
        let r = unsafe { real::wait4(pid, status, options | libc::WNOHANG, ru) };
        if r != 0 {
            break r;
        }
        if pidfd < 0 && pid > 0 && exit_only {
            // SAFETY: pidfd_open(pid, 0) has no memory arguments.
            pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
        }
        let waited = if pidfd >= 0 {
            wait::wait_fd(pidfd, Events::READ, None).map(|_| ())
        } else {
            let w = wait::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
            w
        };
        if let Err(e) = waited {
            break fail(e);
        }
    };
    let e = errno();
    if pidfd >= 0 {
        close_own(pidfd);
    }
    set_errno(e);
    r
}

/// Whether the hooks are part of the program; referencing every one of
/// them from here (called by `patch_*`) also makes sure the linker keeps
/// the object files that define them.
#[inline(never)]
pub(super) fn linked() -> bool {
    let hooks: [*const (); 33] = [
        recv as *const (),
        recvfrom as *const (),
        recvmsg as *const (),
        read as *const (),
        readv as *const (),
        send as *const (),
        sendto as *const (),
        sendmsg as *const (),
        write as *const (),
        writev as *const (),
        accept as *const (),
        accept4 as *const (),
        connect as *const (),
        close as *const (),
        dup2 as *const (),
        dup3 as *const (),
        fcntl as *const (),
        ioctl as *const (),
        setsockopt as *const (),
        poll as *const (),
        ppoll as *const (),
        select as *const (),
        nanosleep as *const (),
        clock_nanosleep as *const (),
        usleep as *const (),
        sleep as *const (),
        getaddrinfo as *const (),
        getnameinfo as *const (),
        waitpid as *const (),
        wait4 as *const (),
        recv as *const (),
        send as *const (),
        read as *const (),
    ];
    std::hint::black_box(hooks).iter().all(|p| !p.is_null())
}
