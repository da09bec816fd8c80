//! [`AresOptions`]: settings for an [`AresResolver`](super::AresResolver).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings for a new [`AresResolver`](super::AresResolver); anything not
/// set comes from `/etc/resolv.conf` (or c-ares's defaults: 2 s timeout, 3
/// tries).
///
/// # Examples
///
/// ```
/// use gevent::resolver::{AresOptions, AresResolver};
/// use std::time::Duration;
/// let opts = AresOptions::new()
///     .servers(["127.0.0.1:5353".parse().unwrap()])
///     .timeout(Duration::from_millis(500))
///     .tries(2)
///     .search_domains(Vec::<String>::new());
/// let r = AresResolver::with_options(&opts)?;
/// assert_eq!(r.servers(), ["127.0.0.1:5353"]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AresOptions {
    pub(crate) servers: Option<Vec<SocketAddr>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) tries: Option<u32>,
    pub(crate) search_domains: Option<Vec<String>>,
    pub(crate) hosts_file: Option<PathBuf>,
    pub(crate) resolv_conf: Option<PathBuf>,
    pub(crate) query_cache_max_ttl: Option<u32>,
    pub(crate) use_hosts_file: Option<bool>,
}

impl AresOptions {
    /// Settings from the system configuration.
    ///
    /// ```
    /// let _o = gevent::resolver::AresOptions::new();
    /// ```
    pub fn new() -> AresOptions {
        AresOptions::default()
    }

    /// The name servers to ask, in order, instead of resolv.conf's (each
    /// with its port, so a test can run one on `127.0.0.1:PORT`).
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().servers(["[::1]:53".parse().unwrap()]);
    /// # let _ = o;
    /// ```
    pub fn servers<I: IntoIterator<Item = SocketAddr>>(mut self, servers: I) -> AresOptions {
        self.servers = Some(servers.into_iter().collect());
        self
    }

    /// How long a name server gets to answer the first try (later tries
    /// get longer, as c-ares does).
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().timeout(std::time::Duration::from_secs(1));
    /// # let _ = o;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> AresOptions {
        self.timeout = Some(timeout);
        self
    }

    /// How many times each server is tried.
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().tries(1);
    /// # let _ = o;
    /// ```
    pub fn tries(mut self, tries: u32) -> AresOptions {
        self.tries = Some(tries);
        self
    }

    /// The domains appended to short names, instead of resolv.conf's
    /// `search` line (an empty list: none).
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().search_domains(["example.org"]);
    /// # let _ = o;
    /// ```
    pub fn search_domains<I, S>(mut self, domains: I) -> AresOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.search_domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// The hosts file to read instead of `/etc/hosts`.
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().hosts_file("/etc/hosts");
    /// # let _ = o;
    /// ```
    pub fn hosts_file<P: AsRef<Path>>(mut self, path: P) -> AresOptions {
        self.hosts_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Whether to look names up in the hosts file before asking the name
    /// servers (default: yes).
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().use_hosts_file(false);
    /// # let _ = o;
    /// ```
    pub fn use_hosts_file(mut self, yes: bool) -> AresOptions {
        self.use_hosts_file = Some(yes);
        self
    }

    /// The resolv.conf to read instead of `/etc/resolv.conf`.
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().resolv_conf("/etc/resolv.conf");
    /// # let _ = o;
    /// ```
    pub fn resolv_conf<P: AsRef<Path>>(mut self, path: P) -> AresOptions {
        self.resolv_conf = Some(path.as_ref().to_path_buf());
        self
    }

    /// The longest time in seconds c-ares may cache an answer (it caches by
    /// the answer's TTL, at most 3600 s by default); 0 turns the cache off.
    ///
    /// ```
    /// let o = gevent::resolver::AresOptions::new().query_cache_max_ttl(0);
    /// # let _ = o;
    /// ```
    pub fn query_cache_max_ttl(mut self, seconds: u32) -> AresOptions {
        self.query_cache_max_ttl = Some(seconds);
        self
    }
}
