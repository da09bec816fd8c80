//! [`NiFlags`]: `getnameinfo` flags.

bitflags::bitflags! {
    /// Flags for [`getnameinfo`](super::getnameinfo) (`NI_*`). Combine with `|`.
    ///
    /// A [`bitflags`](https://docs.rs/bitflags/2) type: `empty`, `all`,
    /// `bits`, `contains`, `insert`, `remove`, `iter_names`, set operators
    /// and a `Debug` that names the flags. [`from_bits`](NiFlags::from_bits)
    /// returns `None` for bits this type does not name; to pass such bits
    /// to libc anyway, use [`from_bits_retain`](NiFlags::from_bits_retain).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::resolver::NiFlags;
    /// let f = NiFlags::NUMERICHOST | NiFlags::NUMERICSERV;
    /// assert!(f.contains(NiFlags::NUMERICSERV));
    /// assert_eq!(NiFlags::default(), NiFlags::empty());
    /// assert_eq!(NiFlags::from_bits(libc::NI_NUMERICHOST), Some(NiFlags::NUMERICHOST));
    /// assert_eq!(NiFlags::from_bits(1 << 30), None); // no such flag
    /// assert_eq!(NiFlags::from_bits_retain(1 << 30).bits(), 1 << 30);
    /// assert_eq!(format!("{:?}", NiFlags::NUMERICHOST | NiFlags::NUMERICSERV), "NiFlags(NUMERICHOST | NUMERICSERV)");
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NiFlags: i32 {
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
}
