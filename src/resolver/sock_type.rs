//! [`SockType`]: the socket type asked for or found.

/// A socket type (`SOCK_STREAM`, `SOCK_DGRAM`, ...): in [`Hints`](super::Hints)
/// it restricts the results, in an [`AddrInfo`](super::AddrInfo) it says
/// what the address is for.
///
/// # Examples
///
/// ```
/// use gevent::resolver::SockType;
/// assert_eq!(SockType::default(), SockType::Any);
/// assert_eq!(SockType::from_raw(libc::SOCK_DGRAM), SockType::Datagram);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SockType {
    /// Any type (0); only meaningful in hints.
    #[default]
    Any,
    /// `SOCK_STREAM` (TCP).
    Stream,
    /// `SOCK_DGRAM` (UDP).
    Datagram,
    /// `SOCK_RAW`.
    Raw,
    /// `SOCK_SEQPACKET`.
    SeqPacket,
    /// Any other value, passed through unchanged.
    Other(i32),
}

impl SockType {
    /// The C constant.
    ///
    /// ```
    /// use gevent::resolver::SockType;
    /// assert_eq!(SockType::Stream.as_raw(), libc::SOCK_STREAM);
    /// assert_eq!(SockType::Any.as_raw(), 0);
    /// ```
    pub fn as_raw(self) -> i32 {
        match self {
            SockType::Any => 0,
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Datagram => libc::SOCK_DGRAM,
            SockType::Raw => libc::SOCK_RAW,
            SockType::SeqPacket => libc::SOCK_SEQPACKET,
            SockType::Other(v) => v,
        }
    }

    /// The variant for a C constant.
    ///
    /// ```
    /// use gevent::resolver::SockType;
    /// assert_eq!(SockType::from_raw(0), SockType::Any);
    /// assert_eq!(SockType::from_raw(libc::SOCK_RAW), SockType::Raw);
    /// ```
    pub fn from_raw(v: i32) -> SockType {
        match v {
            0 => SockType::Any,
            libc::SOCK_STREAM => SockType::Stream,
            libc::SOCK_DGRAM => SockType::Datagram,
            libc::SOCK_RAW => SockType::Raw,
            libc::SOCK_SEQPACKET => SockType::SeqPacket,
            v => SockType::Other(v),
        }
    }
}
