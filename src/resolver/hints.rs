//! [`Hints`]: what [`getaddrinfo`](super::getaddrinfo) should return.

use super::{AiFlags, Family, SockType};

/// Restricts and steers a [`getaddrinfo`](super::getaddrinfo) lookup, like
/// the `hints` argument of C's `getaddrinfo` (and the `family`, `type`,
/// `proto`, `flags` arguments of Python's). The default asks for anything.
///
/// # Examples
///
/// ```
/// use gevent::resolver::{Family, Hints, SockType};
/// let h = Hints { family: Family::V4, socktype: SockType::Stream, ..Hints::default() };
/// assert_eq!(h.protocol, 0);
/// assert_eq!(Hints::stream(), Hints { socktype: SockType::Stream, ..Hints::default() });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hints {
    /// The address family wanted ([`Family::Any`] for both).
    pub family: Family,
    /// The socket type wanted ([`SockType::Any`] for every type).
    pub socktype: SockType,
    /// The protocol wanted (`libc::IPPROTO_TCP`, ...; 0 for any).
    pub protocol: i32,
    /// `AI_*` flags.
    pub flags: AiFlags,
}

impl Hints {
    /// Hints for TCP: any family, [`SockType::Stream`].
    ///
    /// ```
    /// assert_eq!(gevent::resolver::Hints::stream().socktype, gevent::resolver::SockType::Stream);
    /// ```
    pub fn stream() -> Hints {
        Hints {
            socktype: SockType::Stream,
            ..Hints::default()
        }
    }

    /// Hints for UDP: any family, [`SockType::Datagram`].
    ///
    /// ```
    /// assert_eq!(gevent::resolver::Hints::datagram().socktype, gevent::resolver::SockType::Datagram);
    /// ```
    pub fn datagram() -> Hints {
        Hints {
            socktype: SockType::Datagram,
            ..Hints::default()
        }
    }

    /// These hints with `family` instead.
    ///
    /// ```
    /// use gevent::resolver::{Family, Hints};
    /// assert_eq!(Hints::stream().family(Family::V6).family, Family::V6);
    /// ```
    pub fn family(mut self, family: Family) -> Hints {
        self.family = family;
        self
    }

    /// These hints with `flags` added.
    ///
    /// ```
    /// use gevent::resolver::{AiFlags, Hints};
    /// let h = Hints::default().flags(AiFlags::PASSIVE).flags(AiFlags::CANONNAME);
    /// assert_eq!(h.flags, AiFlags::PASSIVE | AiFlags::CANONNAME);
    /// ```
    pub fn flags(mut self, flags: AiFlags) -> Hints {
        self.flags |= flags;
        self
    }
}
