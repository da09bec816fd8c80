//! [`NiFlags`]: `getnameinfo` flags.

use super::bit_flags::bit_flags;

bit_flags! {
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
    pub struct NiFlags;

    /// `NI_NUMERICHOST`: return the address as a number; never resolve.
    const NUMERICHOST = libc::NI_NUMERICHOST;
    /// `NI_NUMERICSERV`: return the port as a number.
    const NUMERICSERV = libc::NI_NUMERICSERV;
    /// `NI_NOFQDN`: only the host part of local names.
    const NOFQDN = libc::NI_NOFQDN;
    /// `NI_NAMEREQD`: fail if the address has no name (instead of returning
    /// it in numeric form).
    const NAMEREQD = libc::NI_NAMEREQD;
    /// `NI_DGRAM`: look the port up as a UDP service.
    const DGRAM = libc::NI_DGRAM;
}
