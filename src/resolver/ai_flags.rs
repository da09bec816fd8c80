//! [`AiFlags`]: `getaddrinfo` flags.

bitflags::bitflags! {
    /// Flags for [`getaddrinfo`](super::getaddrinfo) (`AI_*`). Combine with `|`.
    ///
    /// A [`bitflags`](https://docs.rs/bitflags/2) type: `empty`, `all`,
    /// `bits`, `contains`, `insert`, `remove`, `iter_names`, set operators
    /// and a `Debug` that names the flags. [`from_bits`](AiFlags::from_bits)
    /// returns `None` for bits this type does not name; to pass such bits
    /// to libc anyway, use [`from_bits_retain`](AiFlags::from_bits_retain).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::AiFlags;
    /// let f = AiFlags::PASSIVE | AiFlags::NUMERICSERV;
    /// assert!(f.contains(AiFlags::PASSIVE));
    /// assert!(!f.contains(AiFlags::CANONNAME));
    /// assert_eq!(AiFlags::default(), AiFlags::empty());
    /// assert_eq!(AiFlags::from_bits(libc::AI_PASSIVE), Some(AiFlags::PASSIVE));
    /// assert_eq!(AiFlags::from_bits(1 << 30), None); // no such flag
    /// assert_eq!(AiFlags::from_bits_retain(1 << 30).bits(), 1 << 30);
    /// assert_eq!(format!("{:?}", AiFlags::PASSIVE | AiFlags::NUMERICSERV), "AiFlags(PASSIVE | NUMERICSERV)");
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct AiFlags: i32 {
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
}
