//! [`Family`]: the address family asked for or found.

/// An address family: which kind of addresses a lookup should return
/// (`AF_UNSPEC`, `AF_INET`, `AF_INET6`).
///
/// # Examples
///
/// ```
/// use gevent::resolver::Family;
/// assert_eq!(Family::default(), Family::Any);
/// assert_eq!(Family::V4.to_string(), "AF_INET");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Family {
    /// Any family (`AF_UNSPEC`): IPv4 and IPv6.
    #[default]
    Any,
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The C constant (`AF_UNSPEC`, `AF_INET`, `AF_INET6`).
    ///
    /// ```
    /// use gevent::resolver::Family;
    /// assert_eq!(Family::V6.as_raw(), libc::AF_INET6);
    /// ```
    pub fn as_raw(self) -> i32 {
        match self {
            Family::Any => libc::AF_UNSPEC,
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }

    /// The family of an address.
    ///
    /// ```
    /// use gevent::resolver::Family;
    /// use std::net::{IpAddr, Ipv6Addr};
    /// assert_eq!(Family::of(IpAddr::V6(Ipv6Addr::LOCALHOST)), Family::V6);
    /// ```
    pub fn of(ip: std::net::IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// Whether an address of family `other` (`V4` or `V6`) is acceptable.
    pub(crate) fn accepts(self, other: Family) -> bool {
        self == Family::Any || self == other
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Any => "AF_UNSPEC",
            Family::V4 => "AF_INET",
            Family::V6 => "AF_INET6",
        })
    }
}
