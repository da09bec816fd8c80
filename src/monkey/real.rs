//! The C library's own entry points, found with `dlsym(RTLD_NEXT, name)`:
//! what every hook calls when it passes a call through, and what the hooks
//! use internally (never the hooked names, which resolve to the hooks).

use std::ffi::{CStr, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Looks `name` up in the objects loaded after the executable (the C
/// library); null if none defines it.
fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated; RTLD_NEXT is a valid pseudo-handle
    // in a dynamically linked program; dlsym has no other precondition.
    unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) }
}

/// The real function's address, resolved on first use and cached.
///
/// Aborts (with a message on stderr) if the C library lacks it: a hooked
/// call can then neither be passed through nor fail in a way its caller
/// expects. This cannot happen with glibc or a dynamically linked musl,
/// which define every hooked function.
#[cold]
#[inline(never)]
pub(super) fn resolve(cache: &AtomicPtr<c_void>, name: &CStr) -> *mut c_void {
    let p = lookup(name);
    if p.is_null() {
        let msg = b"gevent::monkey: dlsym(RTLD_NEXT) cannot find a hooked C library function; \
                    is the program statically linked?\n";
        // SAFETY: writes a static buffer to stderr with the raw syscall (the
        // `write` symbol is hooked); abort needs nothing.
        unsafe {
            libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len());
            libc::abort();
        }
    }
    cache.store(p, Ordering::Relaxed);
    p
}

/// Defines `real::$name`, calling the C library's `$name` with the hook's
/// exact signature.
macro_rules! real_fns {
    ($( fn $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        $(
            #[allow(clippy::missing_safety_doc)]
            #[inline]
            pub(crate) unsafe fn $name($($arg: $ty),*) -> $ret {
                static CACHE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
                let mut p = CACHE.load(Ordering::Relaxed);
                if p.is_null() {
                    p = resolve(&CACHE, {
                        const N: &CStr = match CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                            Ok(n) => n,
                            Err(_) => panic!("bad name"),
                        };
                        N
                    });
                }
                // SAFETY: `p` is the C library's definition of `$name`,
                // whose C prototype is the one spelled here; the caller
                // upholds the function's own contract.
                unsafe {
                    let f: unsafe extern "C" fn($($ty),*) -> $ret = std::mem::transmute(p);
                    f($($arg),*)
                }
            }
        )*

        /// Resolves every real function now (so that a missing one shows up
        /// at `patch_*` time rather than in the middle of a call).
        pub(crate) fn resolve_all() -> bool {
            true $( && !lookup({
                const N: &CStr = match CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                    Ok(n) => n,
                    Err(_) => panic!("bad name"),
                };
                N
            }).is_null() )*
        }
    };
}

use libc::{
    addrinfo, c_char, c_int, c_uint, c_ulong, fd_set, iovec, msghdr, nfds_t, pid_t, pollfd, rusage,
    sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval, useconds_t,
};

real_fns! {
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t;
    fn recvfrom(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> ssize_t;
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t;
    fn sendto(fd: c_int, buf: *const c_void, n: size_t, flags: c_int, addr: *const sockaddr, len: socklen_t) -> ssize_t;
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int;
    fn ppoll(fds: *mut pollfd, n: nfds_t, ts: *const timespec, mask: *const sigset_t) -> c_int;
    fn select(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, t: *mut timeval) -> c_int;
    fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
    fn clock_nanosleep(clock: libc::clockid_t, flags: c_int, req: *const timespec, rem: *mut timespec) -> c_int;
    fn usleep(us: useconds_t) -> c_int;
    fn sleep(s: c_uint) -> c_uint;
    fn getaddrinfo(node: *const c_char, service: *const c_char, hints: *const addrinfo, res: *mut *mut addrinfo) -> c_int;
    fn freeaddrinfo(res: *mut addrinfo) -> ();
    fn getnameinfo(addr: *const sockaddr, len: socklen_t, host: *mut c_char, hostlen: socklen_t, serv: *mut c_char, servlen: socklen_t, flags: c_int) -> c_int;
    fn wait4(pid: pid_t, status: *mut c_int, options: c_int, ru: *mut rusage) -> pid_t;
    fn close(fd: c_int) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int;
    fn ioctl(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: socklen_t) -> c_int;
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int;
}
