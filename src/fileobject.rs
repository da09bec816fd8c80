//! [`FileObject`]: a cooperative file (gevent's `gevent.fileobject`).
//!
//! What "cooperative" means depends on what the descriptor is, and the
//! wrapper picks it from `fstat` (gevent's `FileObjectThread` and
//! `FileObjectPosix` in one type):
//!
//! * pipes, FIFOs, sockets and terminals can be polled: the descriptor is
//!   put in non-blocking mode and wrapped in the crate's cooperative fd
//!   wrapper, [`Async`]: a read or write that would
//!   block parks the greenlet on an io watcher;
//! * regular files, block devices and other character devices cannot (epoll
//!   refuses them, and they always poll "ready" elsewhere even when the
//!   disk is slow): every read and write runs on the hub's thread pool
//!   ([`os::tp_read`]) while the greenlet waits.
//!
//! Seeking (`lseek`) never blocks and runs inline.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use crate::io::Async;
use crate::os;

/// Most bytes one thread-pool write copies and moves (a short write, as
/// `write(2)` may give; `write_all` loops).
const MAX_IO: usize = 16 << 20;

/// How a [`FileObject`] waits. The descriptor is in an `Arc` either way:
/// thread-pool operations (also `sync_all` and `metadata` on a pipe) hand
/// a clone to the worker, so it closes only when both are done with it.
enum Kind {
    /// On the thread pool (regular files and other unpollable descriptors).
    Thread(Arc<OwnedFd>),
    /// On an io watcher, the descriptor non-blocking (in cooperative mode,
    /// whatever its mode was: a `FileObject` always waits).
    Posix(Async<Arc<OwnedFd>>),
}

/// A file whose reads and writes let other greenlets run (see the
/// [module docs](self)): on the thread pool for regular files, on an io
/// watcher for pipes and terminals.
///
/// Implements [`Read`], [`Write`] and [`Seek`]; there is no buffering (wrap
/// it in a `BufReader`/`BufWriter` for small reads and writes).
///
/// The descriptor is shared with the worker thread of an operation in
/// flight, so it is closed only after both are done with it: a greenlet
/// killed in the middle of a read never lets the worker touch a closed or
/// reused descriptor number.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent::fileobject::FileObject;
/// let path = std::env::temp_dir().join(format!("gevent-fileobject-{}", std::process::id()));
/// let mut f = FileObject::create(&path)?;
/// assert!(f.uses_threadpool());
/// f.write_all(b"written on the thread pool")?;
/// drop(f);
/// let mut s = String::new();
/// FileObject::open(&path)?.read_to_string(&mut s)?;
/// assert_eq!(s, "written on the thread pool");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct FileObject {
    kind: Kind,
    /// Whether we made the descriptor non-blocking (and restore blocking
    /// mode when done).
    made_nonblocking: bool,
}

impl FileObject {
    /// Wraps an open file, pipe, socket or terminal (anything that converts
    /// into an `OwnedFd`: `File`, `PipeReader`, `ChildStdout`, ...). A
    /// pollable descriptor is switched to non-blocking mode (and back to
    /// blocking mode when the `FileObject` is dropped, if it was).
    ///
    /// # Errors
    ///
    /// `fstat`'s or `fcntl`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use gevent::fileobject::FileObject;
    /// let (r, w) = std::io::pipe()?;
    /// let (mut r, mut w) = (FileObject::new(r)?, FileObject::new(w)?);
    /// assert!(!r.uses_threadpool());
    /// let writer = gevent::spawn(move || w.write_all(b"through a pipe"));
    /// let mut buf = [0; 32];
    /// let n = r.read(&mut buf)?;
    /// assert_eq!(&buf[..n], b"through a pipe");
    /// writer.take().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: Into<OwnedFd>>(file: F) -> io::Result<FileObject> {
        let fd: OwnedFd = file.into();
        if pollable(fd.as_fd())? {
            let made_nonblocking = os::make_nonblocking(fd.as_raw_fd())?;
            Ok(FileObject {
                kind: Kind::Posix(Async::from_nonblocking(Arc::new(fd))),
                made_nonblocking,
            })
        } else {
            Ok(FileObject {
                kind: Kind::Thread(Arc::new(fd)),
                made_nonblocking: false,
            })
        }
    }

    /// Opens `path` for reading, on the thread pool (opening can block on
    /// a slow disk or network file system).
    ///
    /// # Errors
    ///
    /// `open`'s error, or the thread pool's.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent::fileobject::FileObject::open("/no/such/file").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<FileObject> {
        let mut o = OpenOptions::new();
        o.read(true);
        FileObject::open_with(path, &o)
    }

    /// Creates (or truncates) `path` for writing, on the thread pool.
    ///
    /// # Errors
    ///
    /// As for [`open`](FileObject::open).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent::fileobject::FileObject::create("/no/such/dir/file").unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<FileObject> {
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(true);
        FileObject::open_with(path, &o)
    }

    /// Opens `path` with `options`, on the thread pool.
    ///
    /// # Errors
    ///
    /// As for [`open`](FileObject::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::fs::OpenOptions;
    /// use std::io::Write;
    /// let path = std::env::temp_dir().join(format!("gevent-append-{}", std::process::id()));
    /// let mut o = OpenOptions::new();
    /// o.append(true).create(true);
    /// gevent::fileobject::FileObject::open_with(&path, &o)?.write_all(b"a")?;
    /// gevent::fileobject::FileObject::open_with(&path, &o)?.write_all(b"b")?;
    /// assert_eq!(std::fs::read(&path)?, b"ab");
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open_with<P: AsRef<Path>>(path: P, options: &OpenOptions) -> io::Result<FileObject> {
        let path = path.as_ref().to_path_buf();
        let options = options.clone();
        let file = crate::threadpool::run_blocking(move || options.open(path))??;
        FileObject::new(file)
    }

    /// Whether reads and writes run on the thread pool (`false`: on an io
    /// watcher).
    ///
    /// ```
    /// let (r, _w) = std::io::pipe()?;
    /// assert!(!gevent::fileobject::FileObject::new(r)?.uses_threadpool());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn uses_threadpool(&self) -> bool {
        matches!(self.kind, Kind::Thread(_))
    }

    /// The descriptor, shared with thread-pool workers.
    fn fd(&self) -> &Arc<OwnedFd> {
        match &self.kind {
            Kind::Thread(fd) => fd,
            Kind::Posix(a) => a.get_ref(),
        }
    }

    /// Flushes the file's data and metadata to the disk (`fsync`), on the
    /// thread pool.
    ///
    /// # Errors
    ///
    /// `fsync`'s error (`EINVAL` for pipes), or the thread pool's.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-sync-{}", std::process::id()));
    /// let f = gevent::fileobject::FileObject::create(&path)?;
    /// f.sync_all()?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sync_all(&self) -> io::Result<()> {
        let fd = self.fd().clone();
        crate::threadpool::run_blocking(move || {
            // SAFETY: fsync on a descriptor kept open by `fd`.
            if unsafe { libc::fsync(fd.as_raw_fd()) } < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        })?
    }

    /// The file's metadata (`fstat`), on the thread pool.
    ///
    /// # Errors
    ///
    /// `fstat`'s error, or the thread pool's.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-meta-{}", std::process::id()));
    /// std::fs::write(&path, b"12345")?;
    /// assert_eq!(gevent::fileobject::FileObject::open(&path)?.metadata()?.len(), 5);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metadata(&self) -> io::Result<std::fs::Metadata> {
        let fd = self.fd().clone();
        crate::threadpool::run_blocking(move || {
            let file = std::fs::File::from(fd.try_clone()?);
            file.metadata()
        })?
    }

    /// Gives the descriptor back (in blocking mode again if this wrapper
    /// made it non-blocking).
    ///
    /// # Errors
    ///
    /// `fcntl`'s error when restoring the mode, or `dup`'s in the unlikely
    /// case that a worker thread still holds the descriptor (the result is
    /// then a duplicate).
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// let (r, _w) = std::io::pipe()?;
    /// let raw = r.as_raw_fd();
    /// let fd = gevent::fileobject::FileObject::new(r)?.into_inner()?;
    /// assert_eq!(fd.as_raw_fd(), raw);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(mut self) -> io::Result<OwnedFd> {
        self.restore_mode()?;
        let fd = self.fd().clone();
        drop(self);
        match Arc::try_unwrap(fd) {
            Ok(fd) => Ok(fd),
            Err(shared) => shared.try_clone(),
        }
    }

    fn restore_mode(&mut self) -> io::Result<()> {
        if self.made_nonblocking {
            self.made_nonblocking = false;
            set_blocking(self.fd().as_raw_fd())?;
        }
        Ok(())
    }

    fn tp_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd().clone();
        let n = buf.len();
        let data = crate::threadpool::run_blocking(move || os::read_to_vec(fd.as_raw_fd(), n))??;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn tp_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.fd().clone();
        let n = buf.len().min(MAX_IO);
        let mut data = Vec::new();
        data.try_reserve_exact(n)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.to_string()))?;
        data.extend_from_slice(&buf[..n]);
        crate::threadpool::run_blocking(move || {
            retry(|| {
                // SAFETY: `data` is valid for its length; `fd` is kept open.
                let r = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                cvt(r)
            })
        })?
    }
}

/// Whether `fd` can be waited for with an io watcher.
fn pollable(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: an all-zero stat is a valid out-value; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open (borrowed); `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFSOCK => true,
        // Terminals poll; /dev/null, /dev/zero and friends do not (epoll
        // refuses them with EPERM).
        // SAFETY: isatty only inspects the open descriptor.
        libc::S_IFCHR => (unsafe { libc::isatty(fd.as_raw_fd()) }) == 1,
        _ => false,
    })
}

fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an open descriptor, clearing one of its own flags.
    let r = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK)
        }
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn cvt(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

fn retry(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

impl Read for FileObject {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.kind {
            Kind::Thread(_) => self.tp_read(buf),
            Kind::Posix(a) => a.read_with(|fd| {
                // SAFETY: `fd` is open (the Async owns it) and `buf` is
                // valid for writes of `buf.len()` bytes.
                cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
            }),
        }
    }
}

impl Write for FileObject {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.kind {
            Kind::Thread(_) => self.tp_write(buf),
            Kind::Posix(a) => a.write_with(|fd| {
                // SAFETY: `fd` is open (the Async owns it) and `buf` is
                // valid for reads of `buf.len()` bytes.
                cvt(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
            }),
        }
    }

    /// Nothing is buffered: does nothing (see
    /// [`sync_all`](FileObject::sync_all) for the disk).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FileObject {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (off, whence) = match pos {
            SeekFrom::Start(n) => (
                i64::try_from(n).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek offset beyond i64::MAX")
                })?,
                libc::SEEK_SET,
            ),
            SeekFrom::End(n) => (n, libc::SEEK_END),
            SeekFrom::Current(n) => (n, libc::SEEK_CUR),
        };
        // SAFETY: lseek on an open descriptor; bad offsets are EINVAL.
        let r = unsafe { libc::lseek(self.fd().as_raw_fd(), off as libc::off_t, whence) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r as u64)
        }
    }
}

impl AsRawFd for FileObject {
    fn as_raw_fd(&self) -> RawFd {
        self.fd().as_raw_fd()
    }
}

impl AsFd for FileObject {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd().as_fd()
    }
}

impl Drop for FileObject {
    fn drop(&mut self) {
        // Best effort: a descriptor shared with another process goes back
        // to the mode it had.
        let _ = self.restore_mode();
    }
}

impl fmt::Debug for FileObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileObject")
            .field("fd", &self.fd().as_raw_fd())
            .field("threadpool", &self.uses_threadpool())
            .finish()
    }
}
