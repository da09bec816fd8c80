//! [`NiFlags`]: `getnameinfo` flags.

use std::ops::{BitOr, BitOrAssign};

/// Flags for [`getnameinfo`](super::getnameinfo) (`NI_*`). Combine with `|`.
///
/// # Examples
///
/// ```
/// use gevent::resolver::NiFlags;
/// let f = NiFlags::NUMERICHOST | NiFlags::NUMERICSERV;
/// assert!(f.contains(NiFlags::NUMERICSERV));
/// assert_eq!(NiFlags::default(), NiFlags::empty());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NiFlags(i32);

impl NiFlags {
    /// `NI_NUMERICHOST`: return the address as a number; never resolve.
    pub const NUMERICHOST: NiFlags = NiFlags(libc::NI_NUMERICHOST);
    /// `NI_NUMERICSERV`: return the port as a number.
    pub const NUMERICSERV: NiFlags = NiFlags(libc::NI_NUMERICSERV);
    /// `NI_NOFQDN`: only the host part of local names.
    pub const NOFQDN: NiFlags = NiFlags(libc::NI_NOFQDN);
    /// `NI_NAMEREQD`: fail if the address has no name (instead of returning
    /// it in numeric form).
    pub const NAMEREQD: NiFlags = NiFlags(libc::NI_NAMEREQD);
    /// `NI_DGRAM`: look the port up as a UDP service.
    pub const DGRAM: NiFlags = NiFlags(libc::NI_DGRAM);

    /// No flags.
    ///
    /// ```
    /// assert_eq!(gevent::resolver::NiFlags::empty().bits(), 0);
    /// ```
    pub const fn empty() -> NiFlags {
        NiFlags(0)
    }

    /// Flags from the C bits (unknown bits are kept and passed to libc).
    ///
    /// ```
    /// use gevent::resolver::NiFlags;
    /// assert_eq!(NiFlags::from_bits(libc::NI_DGRAM), NiFlags::DGRAM);
    /// ```
    pub const fn from_bits(bits: i32) -> NiFlags {
        NiFlags(bits)
    }

    /// The C bits.
    ///
    /// ```
    /// assert_eq!(gevent::resolver::NiFlags::NAMEREQD.bits(), libc::NI_NAMEREQD);
    /// ```
    pub const fn bits(self) -> i32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    ///
    /// ```
    /// use gevent::resolver::NiFlags;
    /// assert!((NiFlags::DGRAM | NiFlags::NOFQDN).contains(NiFlags::DGRAM));
    /// ```
    pub const fn contains(self, other: NiFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// assert!(gevent::resolver::NiFlags::empty().is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for NiFlags {
    type Output = NiFlags;
    fn bitor(self, rhs: NiFlags) -> NiFlags {
        NiFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for NiFlags {
    fn bitor_assign(&mut self, rhs: NiFlags) {
        self.0 |= rhs.0;
    }
}

impl std::fmt::Debug for NiFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(NiFlags, &str); 5] = [
            (NiFlags::NUMERICHOST, "NUMERICHOST"),
            (NiFlags::NUMERICSERV, "NUMERICSERV"),
            (NiFlags::NOFQDN, "NOFQDN"),
            (NiFlags::NAMEREQD, "NAMEREQD"),
            (NiFlags::DGRAM, "DGRAM"),
        ];
        let mut rest = self.0;
        let mut first = true;
        f.write_str("NiFlags(")?;
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
