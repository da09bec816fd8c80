//! [`Stat`]: changes of a path's attributes.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use libev_sys as ffi;

use crate::time::{from_tstamp, to_tstamp};

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(
    StatKind,
    Stat,
    ffi::ev_stat,
    "stat",
    ffi::ev_stat_start,
    ffi::ev_stat_stop
);

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} contains a NUL byte", path.display()),
        )
    })
}

/// A stat watcher: calls back when the attributes of a path change — it is
/// created, deleted, written, chmod-ed (`ev_stat`). Uses inotify on Linux
/// and polls every `interval` elsewhere (zero: libev's default, 5 s).
///
/// # Examples
///
/// ```
/// use gevent::core::{Loop, Stat};
/// use std::time::Duration;
///
/// let lp = Loop::new()?;
/// let dir = std::env::temp_dir().join(format!("gevent-stat-doc-{}", std::process::id()));
/// let _ = std::fs::remove_file(&dir);
/// let w = Stat::new(&lp, &dir, Duration::from_millis(10), |w, _ev| {
///     if w.attr().is_some() {
///         w.stop(); // the file appeared
///     }
/// })?;
/// w.start()?;
/// std::fs::write(&dir, b"hi")?;
/// lp.run();
/// std::fs::remove_file(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Stat {
    inner: Rc<WatcherCell<StatKind>>,
}

struct StatPath {
    /// libev's `path` points into this for the watcher's life.
    _c: CString,
    path: PathBuf,
}

impl Stat {
    /// Creates a stopped watcher for `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path contains a NUL byte.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// use std::time::Duration;
    /// let lp = Loop::new()?;
    /// assert!(Stat::new(&lp, "a\0b", Duration::ZERO, |_, _| {}).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<P: AsRef<Path>, F: FnMut(&Stat, Events) + 'static>(
        lp: &Loop,
        path: P,
        interval: Duration,
        cb: F,
    ) -> io::Result<Stat> {
        let path = path.as_ref().to_path_buf();
        let c = c_path(&path)?;
        let ptr = c.as_ptr();
        let inner = WatcherCell::new(lp, Some(Box::new(cb)), |w| {
            // SAFETY: fresh, inactive watcher; the CString is kept in
            // `extra` below for the watcher's whole life.
            unsafe { ffi::ev_stat_set(w, ptr, to_tstamp(interval)) }
        });
        *inner.extra.borrow_mut() = Some(Box::new(StatPath { _c: c, path }));
        Ok(Stat { inner })
    }

    /// The watched path.
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// let w = Stat::new(&Loop::new()?, "/tmp", std::time::Duration::ZERO, |_, _| {})?;
    /// assert_eq!(w.path(), std::path::Path::new("/tmp"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> PathBuf {
        let extra = self.inner.extra.borrow();
        extra
            .as_ref()
            .and_then(|b| b.downcast_ref::<StatPath>())
            .map(|p| p.path.clone())
            .unwrap_or_default()
    }

    /// Changes the path and interval.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if active or the path contains NUL.
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// use std::time::Duration;
    /// let w = Stat::new(&Loop::new()?, "/tmp", Duration::ZERO, |_, _| {})?;
    /// w.set("/", Duration::from_secs(1))?;
    /// assert_eq!(w.path(), std::path::Path::new("/"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set<P: AsRef<Path>>(&self, path: P, interval: Duration) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let c = c_path(&path)?;
        self.inner.ensure_inactive("change the path")?;
        // SAFETY: inactive watcher; the new CString replaces the old one in
        // `extra` (no one points at the old one once inactive).
        unsafe { ffi::ev_stat_set(self.inner.raw(), c.as_ptr(), to_tstamp(interval)) };
        *self.inner.extra.borrow_mut() = Some(Box::new(StatPath { _c: c, path }));
        Ok(())
    }

    /// The polling interval.
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// use std::time::Duration;
    /// let w = Stat::new(&Loop::new()?, "/", Duration::from_secs(2), |_, _| {})?;
    /// assert_eq!(w.interval(), Duration::from_secs(2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn interval(&self) -> Duration {
        // SAFETY: reading our own struct.
        from_tstamp(unsafe { (*self.inner.raw()).interval })
    }

    /// The attributes seen last, `None` if the path did not exist.
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// let w = Stat::new(&Loop::new()?, "/", std::time::Duration::ZERO, |_, _| {})?;
    /// w.stat(); // refresh now
    /// assert!(w.attr().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn attr(&self) -> Option<libc::stat> {
        // SAFETY: reading our own struct.
        let a = unsafe { (*self.inner.raw()).attr };
        (a.st_nlink != 0).then_some(a)
    }

    /// The attributes before the last change, `None` if it did not exist.
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// let w = Stat::new(&Loop::new()?, "/", std::time::Duration::ZERO, |_, _| {})?;
    /// assert!(w.prev().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn prev(&self) -> Option<libc::stat> {
        // SAFETY: reading our own struct.
        let a = unsafe { (*self.inner.raw()).prev };
        (a.st_nlink != 0).then_some(a)
    }

    /// Refreshes [`attr`](Stat::attr) now (`ev_stat_stat`).
    ///
    /// ```
    /// use gevent::core::{Loop, Stat};
    /// let w = Stat::new(&Loop::new()?, "/nonexistent-path", std::time::Duration::ZERO, |_, _| {})?;
    /// w.stat();
    /// assert!(w.attr().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stat(&self) {
        // SAFETY: valid loop and watcher; the path is alive.
        unsafe { ffi::ev_stat_stat(self.inner.lp.as_ptr(), self.inner.raw()) }
    }
}

common_methods!(
    Stat,
    "# let lp = Loop::new()?;\n",
    "Stat::new(&lp, \"/\", Duration::ZERO, |_, _| {})?"
);
