//! libev's backends (the kernel interfaces it can wait with) and sets of them.

use std::fmt;
use std::io;

use libev_sys as ffi;

/// One of libev's event-notification backends.
///
/// The numbers are libev's `EVBACKEND_*` bits, the same numbers
/// `LIBEV_FLAGS` takes: 1 select, 2 poll, 4 epoll, 8 kqueue, 16 devpoll,
/// 32 port, 64 linuxaio, 128 io_uring.
///
/// # Examples
///
/// ```
/// use gevent::core::Backend;
/// assert_eq!(Backend::Epoll.flag(), 4);
/// assert_eq!("io_uring".parse::<Backend>().unwrap(), Backend::IoUring);
/// assert_eq!(Backend::Poll.to_string(), "poll");
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// `select(2)`, everywhere (`EVBACKEND_SELECT`, 1).
    Select,
    /// `poll(2)` (`EVBACKEND_POLL`, 2).
    Poll,
    /// Linux `epoll` (`EVBACKEND_EPOLL`, 4).
    Epoll,
    /// BSD/macOS `kqueue` (`EVBACKEND_KQUEUE`, 8).
    Kqueue,
    /// Solaris `/dev/poll` (`EVBACKEND_DEVPOLL`, 16; libev never implemented it).
    Devpoll,
    /// Solaris event ports (`EVBACKEND_PORT`, 32).
    Port,
    /// Linux AIO poll, kernel 4.19+ (`EVBACKEND_LINUXAIO`, 64).
    LinuxAio,
    /// Linux `io_uring`, kernel 5.6+ (`EVBACKEND_IOURING`, 128).
    IoUring,
}

impl Backend {
    /// Every backend, in flag order.
    ///
    /// ```
    /// use gevent::core::{Backend, Loop};
    /// for b in Backend::ALL {
    ///     let usable = Loop::usable_backends().contains(b);
    ///     println!("{b}: {}", if usable { "usable" } else { "not usable here" });
    /// }
    /// ```
    pub const ALL: [Backend; 8] = [
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Kqueue,
        Backend::Devpoll,
        Backend::Port,
        Backend::LinuxAio,
        Backend::IoUring,
    ];

    /// libev's `EVBACKEND_*` bit for this backend.
    ///
    /// ```
    /// assert_eq!(gevent::core::Backend::IoUring.flag(), 128);
    /// ```
    pub const fn flag(self) -> u32 {
        match self {
            Backend::Select => ffi::EVBACKEND_SELECT,
            Backend::Poll => ffi::EVBACKEND_POLL,
            Backend::Epoll => ffi::EVBACKEND_EPOLL,
            Backend::Kqueue => ffi::EVBACKEND_KQUEUE,
            Backend::Devpoll => ffi::EVBACKEND_DEVPOLL,
            Backend::Port => ffi::EVBACKEND_PORT,
            Backend::LinuxAio => ffi::EVBACKEND_LINUXAIO,
            Backend::IoUring => ffi::EVBACKEND_IOURING,
        }
    }

    /// The backend with exactly this flag bit, if any.
    ///
    /// ```
    /// use gevent::core::Backend;
    /// assert_eq!(Backend::from_flag(2), Some(Backend::Poll));
    /// assert_eq!(Backend::from_flag(3), None);
    /// ```
    pub fn from_flag(flag: u32) -> Option<Backend> {
        Backend::ALL.iter().copied().find(|b| b.flag() == flag)
    }

    /// The backend's name as libev's documentation spells it.
    ///
    /// ```
    /// assert_eq!(gevent::core::Backend::LinuxAio.name(), "linuxaio");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
            Backend::Kqueue => "kqueue",
            Backend::Devpoll => "devpoll",
            Backend::Port => "port",
            Backend::LinuxAio => "linuxaio",
            Backend::IoUring => "io_uring",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = io::Error;

    /// Parses a backend name, case-insensitively; `iouring`, `io-uring`,
    /// `linux_aio` and `aio` are accepted as aliases.
    fn from_str(s: &str) -> io::Result<Backend> {
        let lower = s.trim().to_ascii_lowercase();
        let b = match lower.as_str() {
            "select" => Backend::Select,
            "poll" => Backend::Poll,
            "epoll" => Backend::Epoll,
            "kqueue" => Backend::Kqueue,
            "devpoll" => Backend::Devpoll,
            "port" => Backend::Port,
            "linuxaio" | "linux_aio" | "aio" => Backend::LinuxAio,
            "io_uring" | "iouring" | "io-uring" | "uring" => Backend::IoUring,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "unknown libev backend {s:?}; known backends: select, poll, epoll, kqueue, devpoll, port, linuxaio, io_uring"
                    ),
                ));
            }
        };
        Ok(b)
    }
}

/// A set of [`Backend`]s, such as [`Loop::supported_backends`](super::Loop::supported_backends).
///
/// # Examples
///
/// ```
/// use gevent::core::{Backend, Backends, Loop};
/// let supported = Loop::supported_backends();
/// assert!(supported.contains(Backend::Select));
/// let names: Vec<&str> = supported.iter().map(|b| b.name()).collect();
/// assert!(names.contains(&"poll"));
/// let set: Backends = "epoll,poll".parse().unwrap();
/// assert_eq!(set.bits(), 6);
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Backends(u32);

impl Backends {
    /// The empty set.
    ///
    /// ```
    /// use gevent::core::{Backend, Backends};
    /// assert!(Backends::EMPTY.is_empty());
    /// assert!(!Backends::EMPTY.contains(Backend::Select));
    /// ```
    pub const EMPTY: Backends = Backends(0);

    /// The set with these `EVBACKEND_*` bits (bits that name no backend are dropped).
    ///
    /// ```
    /// use gevent::core::{Backend, Backends};
    /// assert!(Backends::from_bits(5).contains(Backend::Epoll));
    /// ```
    pub const fn from_bits(bits: u32) -> Backends {
        Backends(bits & ffi::EVBACKEND_ALL)
    }

    /// The raw `EVBACKEND_*` bits.
    ///
    /// ```
    /// assert_eq!(gevent::core::Backends::EMPTY.bits(), 0);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether `b` is in the set.
    ///
    /// ```
    /// use gevent::core::{Backend, Backends};
    /// assert!(!Backends::EMPTY.contains(Backend::Poll));
    /// ```
    pub const fn contains(self, b: Backend) -> bool {
        self.0 & b.flag() != 0
    }

    /// The set with `b` added.
    ///
    /// ```
    /// use gevent::core::{Backend, Backends};
    /// assert!(Backends::EMPTY.with(Backend::Poll).contains(Backend::Poll));
    /// ```
    pub const fn with(self, b: Backend) -> Backends {
        Backends(self.0 | b.flag())
    }

    /// Whether the set is empty.
    ///
    /// ```
    /// assert!(gevent::core::Backends::EMPTY.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The backends in the set, in flag order.
    ///
    /// ```
    /// use gevent::core::{Backend, Backends};
    /// let v: Vec<_> = Backends::from_bits(3).iter().collect();
    /// assert_eq!(v, [Backend::Select, Backend::Poll]);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(move |b| self.contains(*b))
    }
}

impl FromIterator<Backend> for Backends {
    fn from_iter<I: IntoIterator<Item = Backend>>(iter: I) -> Backends {
        iter.into_iter().fold(Backends::EMPTY, Backends::with)
    }
}

impl std::str::FromStr for Backends {
    type Err = io::Error;

    /// Parses a comma-, space- or `|`-separated list of backend names.
    fn from_str(s: &str) -> io::Result<Backends> {
        s.split([',', ' ', '|'])
            .filter(|p| !p.trim().is_empty())
            .map(str::parse::<Backend>)
            .collect()
    }
}

impl fmt::Display for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, b) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(b.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Backends({self})")
    }
}
