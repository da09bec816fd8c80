//! [`Service`]: the port part of a [`getaddrinfo`](super::getaddrinfo) lookup.

/// The service (port) to look up along with a host: nothing, a port number
/// or a service name from the services database (`"http"`). Converts from
/// `u16`, `&str` and `Option<u16>`, so `getaddrinfo("localhost", 80, ..)`
/// and `getaddrinfo("localhost", "http", ..)` both work.
///
/// # Examples
///
/// ```
/// use gevent::resolver::Service;
/// assert_eq!(Service::from(80), Service::Port(80));
/// assert_eq!(Service::from("http"), Service::Name("http"));
/// assert_eq!(Service::from(None::<u16>), Service::None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Service<'a> {
    /// No service: every result has port 0.
    #[default]
    None,
    /// A port number.
    Port(u16),
    /// A service name (or a port number as text).
    Name(&'a str),
}

impl Service<'_> {
    /// The port if this is a number (also a numeric name like `"8080"`).
    ///
    /// ```
    /// use gevent::resolver::Service;
    /// assert_eq!(Service::Name("8080").port(), Some(8080));
    /// assert_eq!(Service::None.port(), Some(0));
    /// assert_eq!(Service::Name("http").port(), None);
    /// ```
    pub fn port(&self) -> Option<u16> {
        match *self {
            Service::None => Some(0),
            Service::Port(p) => Some(p),
            Service::Name(s) => {
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse().ok()
                } else {
                    None
                }
            }
        }
    }
}

impl From<u16> for Service<'_> {
    fn from(p: u16) -> Self {
        Service::Port(p)
    }
}

impl<'a> From<&'a str> for Service<'a> {
    fn from(s: &'a str) -> Self {
        Service::Name(s)
    }
}

impl<'a> From<&'a String> for Service<'a> {
    fn from(s: &'a String) -> Self {
        Service::Name(s)
    }
}

impl From<Option<u16>> for Service<'_> {
    fn from(p: Option<u16>) -> Self {
        p.map_or(Service::None, Service::Port)
    }
}
