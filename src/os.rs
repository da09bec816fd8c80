//! Cooperative reads and writes on raw file descriptors (gevent's
//! `gevent.os`).
//!
//! * [`nb_read`] / [`nb_write`]: for descriptors in non-blocking mode
//!   (pipes, sockets, ttys): try the call, and while it would block, park
//!   the greenlet on an io watcher.
//! * [`tp_read`] / [`tp_write`]: run the call on the hub's thread pool,
//!   for descriptors that cannot be polled (regular files, block devices),
//!   where a read may still block the thread on the disk.
//! * [`make_nonblocking`]: puts a descriptor in non-blocking mode.
//!
//! Every function takes the descriptor by number, checks that it is open
//! (`EBADF` otherwise, `InvalidInput` for a negative one) and never
//! panics. The thread-pool forms work on a duplicate of the descriptor, so
//! the worker thread never touches a number the caller may have closed and
//! reused in the meantime (if the calling greenlet is killed while it
//! waits, the worker finishes on its duplicate).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::net::wait_read;
use crate::net::wait_write;

/// Most bytes one thread-pool read asks for: reads may be short anyway,
/// and this bounds the buffer a huge `n` would allocate.
const MAX_READ: usize = 16 << 20;

/// `EBADF`/`InvalidInput` for a bad descriptor, else a borrowed view of it.
fn open_fd<'a>(fd: RawFd) -> io::Result<BorrowedFd<'a>> {
    if fd < 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid file descriptor {fd}: must not be negative"),
        ));
    }
    // SAFETY: F_GETFD only reads the descriptor flags; any number is fine.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        // EBADF, kept as the OS error so callers can match on it.
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the number is open (checked above); the borrow is only used
    // for the duration of the calling function, during which the caller
    // keeps it open (the same contract as `read(2)` on a number).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Whether `fd` is in non-blocking mode.
fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL only reads the status flags of an open descriptor.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags & libc::O_NONBLOCK != 0)
}

/// Puts `fd` in non-blocking mode; returns whether it was in blocking mode
/// before (gevent's `make_nonblocking` returns `True` then).
///
/// # Errors
///
/// `InvalidInput` for a negative descriptor, `EBADF` for one that is not
/// open, `fcntl`'s error otherwise.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (r, _w) = std::io::pipe()?;
/// assert!(gevent::os::make_nonblocking(r.as_raw_fd())?);
/// assert!(!gevent::os::make_nonblocking(r.as_raw_fd())?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_nonblocking(fd: RawFd) -> io::Result<bool> {
    let b = open_fd(fd)?;
    if is_nonblocking(b)? {
        return Ok(false);
    }
    // SAFETY: fcntl on an open descriptor, with its own flags plus one.
    let r = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

fn require_nonblocking(fd: BorrowedFd<'_>, what: &str) -> io::Result<()> {
    if is_nonblocking(fd)? {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "gevent::os::{what}: the descriptor is in blocking mode and would block the \
                 whole thread; call make_nonblocking first, or use tp_{} for regular files",
                &what[3..]
            ),
        ))
    }
}

/// One `read(2)` into `buf`.
fn read_once(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; a bad
    // descriptor is reported by the kernel (EBADF), never undefined.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// One `write(2)` of `buf`.
fn write_once(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Runs `op` on non-blocking `fd` until it does not return `WouldBlock`,
/// parking on the io watcher in between.
fn nb_loop(
    fd: RawFd,
    wait: fn(RawFd, Option<Duration>) -> io::Result<()>,
    mut op: impl FnMut() -> io::Result<usize>,
) -> io::Result<usize> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(fd, None)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Reads up to `buf.len()` bytes from non-blocking `fd`, parking the
/// greenlet while nothing is there (gevent's `nb_read`). `Ok(0)` is end of
/// file (or an empty `buf`).
///
/// # Errors
///
/// `InvalidInput` for a negative descriptor or one in blocking mode (it
/// would block the thread: see [`make_nonblocking`]), `EBADF` for one that
/// is not open, `read`'s error, or the hub's (blocking in the hub,
/// `LoopExit`).
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// let (r, mut w) = std::io::pipe()?;
/// gevent::os::make_nonblocking(r.as_raw_fd())?;
/// let writer = gevent::spawn(move || w.write_all(b"hi"));
/// let mut buf = [0; 8];
/// let n = gevent::os::nb_read(r.as_raw_fd(), &mut buf)?;
/// assert_eq!(&buf[..n], b"hi");
/// writer.take()??;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn nb_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    let b = open_fd(fd)?;
    require_nonblocking(b, "nb_read")?;
    nb_loop(fd, wait_read, || read_once(fd, buf))
}

/// Writes some of `buf` to non-blocking `fd`, parking the greenlet while
/// it is full (gevent's `nb_write`); returns how many bytes were written.
///
/// # Errors
///
/// As for [`nb_read`]; `BrokenPipe` when the reader is gone (`SIGPIPE`
/// is ignored by Rust programs).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use std::os::fd::AsRawFd;
/// let (mut r, w) = std::io::pipe()?;
/// gevent::os::make_nonblocking(w.as_raw_fd())?;
/// assert_eq!(gevent::os::nb_write(w.as_raw_fd(), b"hey")?, 3);
/// drop(w);
/// let mut s = String::new();
/// r.read_to_string(&mut s)?;
/// assert_eq!(s, "hey");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn nb_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let b = open_fd(fd)?;
    require_nonblocking(b, "nb_write")?;
    nb_loop(fd, wait_write, || write_once(fd, buf))
}

/// One `read(2)` of up to `n` bytes into a new vector (retried on
/// `EINTR`), without zero-filling the buffer first.
pub(crate) fn read_to_vec(fd: RawFd, n: usize) -> io::Result<Vec<u8>> {
    let n = n.min(MAX_READ);
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(n).map_err(|e| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("gevent: cannot allocate a {n}-byte read buffer: {e}"),
        )
    })?;
    let got = loop {
        // SAFETY: the vector has capacity for `n` bytes; `read` writes at
        // most `n` of them.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), n) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    // SAFETY: `read` initialised the first `got <= n` bytes.
    unsafe { buf.set_len(got) };
    Ok(buf)
}

/// Duplicates `fd` for a worker thread (close-on-exec).
fn dup_for_worker(fd: RawFd) -> io::Result<OwnedFd> {
    open_fd(fd)?.try_clone_to_owned()
}

/// Reads up to `n` bytes from `fd` on the hub's thread pool (gevent's
/// `tp_read`); the greenlet waits cooperatively. An empty vector is end of
/// file (or `n == 0`). For regular files and anything else that cannot be
/// polled; the descriptor may be in either mode.
///
/// At most 16 MiB are read at once (a short read, as `read(2)` may give).
///
/// # Errors
///
/// `InvalidInput`/`EBADF` for a bad descriptor, `OutOfMemory` when the
/// buffer cannot be allocated, `read`'s error, or the thread pool's (as an
/// `io::Error` converted from [`crate::Error`]).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let path = std::env::temp_dir().join(format!("gevent-tp-read-{}", std::process::id()));
/// std::fs::write(&path, b"on disk")?;
/// let file = std::fs::File::open(&path)?;
/// assert_eq!(gevent::os::tp_read(file.as_raw_fd(), 64)?, b"on disk");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn tp_read(fd: RawFd, n: usize) -> io::Result<Vec<u8>> {
    let dup = dup_for_worker(fd)?;
    crate::threadpool::run_blocking(move || -> io::Result<Vec<u8>> {
        use std::os::fd::AsRawFd;
        read_to_vec(dup.as_raw_fd(), n)
    })?
}

/// Writes some of `data` to `fd` on the hub's thread pool (gevent's
/// `tp_write`); returns how many bytes were written. The bytes are copied
/// for the worker thread.
///
/// # Errors
///
/// As for [`tp_read`]; `write`'s error.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let path = std::env::temp_dir().join(format!("gevent-tp-write-{}", std::process::id()));
/// let file = std::fs::File::create(&path)?;
/// assert_eq!(gevent::os::tp_write(file.as_raw_fd(), b"saved")?, 5);
/// assert_eq!(std::fs::read(&path)?, b"saved");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn tp_write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    let dup = dup_for_worker(fd)?;
    let mut copy = Vec::new();
    copy.try_reserve_exact(data.len()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "gevent::os::tp_write: cannot copy {} bytes: {e}",
                data.len()
            ),
        )
    })?;
    copy.extend_from_slice(data);
    crate::threadpool::run_blocking(move || -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        loop {
            match write_once(dup.as_raw_fd(), &copy) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    })?
}
