//! [`ResolverKind`]: the resolvers to choose from.

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable choosing a hub's resolver.
///
/// # Examples
///
/// ```
/// use gevent::resolver::{RESOLVER_ENV, ResolverKind};
/// // What a hub created now would use.
/// let kind = match std::env::var(RESOLVER_ENV) {
///     Ok(v) => v.parse::<ResolverKind>()?,
///     Err(_) => ResolverKind::default(),
/// };
/// println!("{RESOLVER_ENV}={}", kind.name());
/// # Ok::<(), std::io::Error>(())
/// ```
pub const RESOLVER_ENV: &str = "GEVENT_RESOLVER";

/// Which resolver implementation: `thread`, `ares` or `block`, as in
/// `GEVENT_RESOLVER`.
///
/// # Examples
///
/// ```
/// use gevent::resolver::ResolverKind;
/// assert_eq!("block".parse::<ResolverKind>()?, ResolverKind::Block);
/// assert_eq!(ResolverKind::default(), ResolverKind::Thread);
/// assert!("dns".parse::<ResolverKind>().is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResolverKind {
    /// libc's resolver on the hub's thread pool: the calling greenlet
    /// parks, everything else runs ([`ThreadResolver`](super::ThreadResolver)).
    #[default]
    Thread,
    /// c-ares, its sockets and timers driven by the hub's loop, no extra
    /// threads (`AresResolver`); needs the `ares`
    /// cargo feature.
    Ares,
    /// libc's resolver called on the hub's thread: blocks every greenlet
    /// until it returns ([`BlockResolver`](super::BlockResolver)).
    Block,
}

impl ResolverKind {
    /// Every kind, in the order documented.
    ///
    /// ```
    /// use gevent::resolver::ResolverKind;
    /// let names: Vec<_> = ResolverKind::ALL.iter().map(|k| k.name()).collect();
    /// assert_eq!(names, ["thread", "ares", "block"]);
    /// ```
    pub const ALL: [ResolverKind; 3] = [
        ResolverKind::Thread,
        ResolverKind::Ares,
        ResolverKind::Block,
    ];

    /// The name used in `GEVENT_RESOLVER`.
    ///
    /// ```
    /// assert_eq!(gevent::resolver::ResolverKind::Ares.name(), "ares");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ResolverKind::Thread => "thread",
            ResolverKind::Ares => "ares",
            ResolverKind::Block => "block",
        }
    }

    /// Whether this build has it (`ares` needs the `ares` cargo feature).
    ///
    /// ```
    /// use gevent::resolver::ResolverKind;
    /// assert!(ResolverKind::Thread.is_available());
    /// assert_eq!(ResolverKind::Ares.is_available(), cfg!(feature = "ares"));
    /// ```
    pub fn is_available(self) -> bool {
        self != ResolverKind::Ares || cfg!(feature = "ares")
    }

    /// The kinds this build has.
    ///
    /// ```
    /// let kinds = gevent::resolver::ResolverKind::available();
    /// assert!(kinds.contains(&gevent::resolver::ResolverKind::Block));
    /// ```
    pub fn available() -> Vec<ResolverKind> {
        Self::ALL.into_iter().filter(|k| k.is_available()).collect()
    }

    /// The kind `GEVENT_RESOLVER` asks for; [`Thread`](ResolverKind::Thread)
    /// when it is unset or empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the variable and its value if it is not one of
    /// `thread`, `ares`, `block`. (Whether `ares` is compiled in is checked
    /// when the resolver is created.)
    ///
    /// ```
    /// let kind = gevent::resolver::ResolverKind::from_env()?;
    /// println!("GEVENT_RESOLVER selects {kind}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_env() -> io::Result<ResolverKind> {
        match std::env::var(RESOLVER_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(ResolverKind::Thread),
            Ok(v) if v.trim().is_empty() => Ok(ResolverKind::Thread),
            Ok(v) => v.parse().map_err(|_| bad_value(&v)),
            Err(std::env::VarError::NotUnicode(v)) => Err(bad_value(&v.to_string_lossy())),
        }
    }

    /// `Ok` if this build has the kind, else the error explaining how to
    /// get it.
    pub(crate) fn check_available(self) -> io::Result<()> {
        if self.is_available() {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the ares resolver is not compiled in: build gevent with the `ares` cargo feature \
             (`cargo build --features ares`, or `features = [\"ares\"]` in Cargo.toml), \
             which needs cmake to build the bundled c-ares (`apt-get install cmake`)",
        ))
    }
}

fn bad_value(v: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{RESOLVER_ENV}={v:?} is not a resolver: expected thread, ares or block"),
    )
}

impl FromStr for ResolverKind {
    type Err = io::Error;

    /// Parses `thread`, `ares` or `block` (case-insensitive, surrounding
    /// blanks ignored).
    fn from_str(s: &str) -> io::Result<ResolverKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "thread" => Ok(ResolverKind::Thread),
            "ares" => Ok(ResolverKind::Ares),
            "block" => Ok(ResolverKind::Block),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{s:?} is not a resolver: expected thread, ares or block"),
            )),
        }
    }
}

impl fmt::Display for ResolverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
