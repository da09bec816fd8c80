//! [`AiFlags`]: `getaddrinfo` flags.

use std::ops::{BitOr, BitOrAssign};

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
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AiFlags(i32);

impl AiFlags {
    /// `AI_PASSIVE`: with no host, return the wildcard address (for `bind`)
    /// instead of the loopback address.
    pub const PASSIVE: AiFlags = AiFlags(libc::AI_PASSIVE);
    /// `AI_CANONNAME`: fill in the canonical name of the first result.
    pub const CANONNAME: AiFlags = AiFlags(libc::AI_CANONNAME);
    /// `AI_NUMERICHOST`: the host must be a numeric address; never resolve.
    pub const NUMERICHOST: AiFlags = AiFlags(libc::AI_NUMERICHOST);
    /// `AI_NUMERICSERV`: the service must be a port number.
    pub const NUMERICSERV: AiFlags = AiFlags(libc::AI_NUMERICSERV);
    /// `AI_V4MAPPED`: with [`Family::V6`](super::Family::V6), return
    /// IPv4-mapped addresses if there are no IPv6 ones.
    pub const V4MAPPED: AiFlags = AiFlags(libc::AI_V4MAPPED);
    /// `AI_ALL`: with `V4MAPPED`, return IPv6 and IPv4-mapped addresses.
    pub const ALL: AiFlags = AiFlags(libc::AI_ALL);
    /// `AI_ADDRCONFIG`: only families the machine has a non-loopback address of.
    pub const ADDRCONFIG: AiFlags = AiFlags(libc::AI_ADDRCONFIG);

    /// No flags.
    ///
    /// ```
    /// assert_eq!(gevent::resolver::AiFlags::empty().bits(), 0);
    /// ```
    pub const fn empty() -> AiFlags {
        AiFlags(0)
    }

    /// Flags from the C bits (unknown bits are kept and passed to libc).
    ///
    /// ```
    /// use gevent::resolver::AiFlags;
    /// assert_eq!(AiFlags::from_bits(libc::AI_PASSIVE), AiFlags::PASSIVE);
    /// ```
    pub const fn from_bits(bits: i32) -> AiFlags {
        AiFlags(bits)
    }

    /// The C bits.
    ///
    /// ```
    /// assert_eq!(gevent::resolver::AiFlags::CANONNAME.bits(), libc::AI_CANONNAME);
    /// ```
    pub const fn bits(self) -> i32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    ///
    /// ```
    /// use gevent::resolver::AiFlags;
    /// assert!((AiFlags::ALL | AiFlags::V4MAPPED).contains(AiFlags::ALL));
    /// ```
    pub const fn contains(self, other: AiFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// assert!(gevent::resolver::AiFlags::empty().is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for AiFlags {
    type Output = AiFlags;
    fn bitor(self, rhs: AiFlags) -> AiFlags {
        AiFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for AiFlags {
    fn bitor_assign(&mut self, rhs: AiFlags) {
        self.0 |= rhs.0;
    }
}

impl std::fmt::Debug for AiFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(AiFlags, &str); 7] = [
            (AiFlags::PASSIVE, "PASSIVE"),
            (AiFlags::CANONNAME, "CANONNAME"),
            (AiFlags::NUMERICHOST, "NUMERICHOST"),
            (AiFlags::NUMERICSERV, "NUMERICSERV"),
            (AiFlags::V4MAPPED, "V4MAPPED"),
            (AiFlags::ALL, "ALL"),
            (AiFlags::ADDRCONFIG, "ADDRCONFIG"),
        ];
        let mut rest = self.0;
        let mut first = true;
        f.write_str("AiFlags(")?;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        f.write_str(")")
    }
}
