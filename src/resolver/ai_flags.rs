//! [`AiFlags`]: `getaddrinfo` flags.

use super::bit_flags::bit_flags;

bit_flags! {
    /// Flags for [`getaddrinfo`](super::getaddrinfo) (`AI_*`). Combine with `|`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::AiFlags;
    /// let f = AiFlags::PASSIVE | AiFlags::NUMERICSERV;
    /// assert!(f.contains(AiFlags::PASSIVE));
    /// assert!(!f.contains(AiFlags::CANONNAME));
    /// assert_eq!(AiFlags::default(), AiFlags::empty());
    /// ```
    pub struct AiFlags;

    /// `AI_PASSIVE`: with no host, return the wildcard address (for `bind`)
    /// instead of the loopback address.
    const PASSIVE = libc::AI_PASSIVE;
    /// `AI_CANONNAME`: fill in the canonical name of the first result.
    const CANONNAME = libc::AI_CANONNAME;
    /// `AI_NUMERICHOST`: the host must be a numeric address; never resolve.
    const NUMERICHOST = libc::AI_NUMERICHOST;
    /// `AI_NUMERICSERV`: the service must be a port number.
    const NUMERICSERV = libc::AI_NUMERICSERV;
    /// `AI_V4MAPPED`: with [`Family::V6`](super::Family::V6), return
    /// IPv4-mapped addresses if there are no IPv6 ones.
    const V4MAPPED = libc::AI_V4MAPPED;
    /// `AI_ALL`: with `V4MAPPED`, return IPv6 and IPv4-mapped addresses.
    const ALL = libc::AI_ALL;
    /// `AI_ADDRCONFIG`: only families the machine has a non-loopback address of.
    const ADDRCONFIG = libc::AI_ADDRCONFIG;
}
