//! [`gethostname`] and [`getfqdn`] (gevent's `gevent.socket` functions).

use std::io;
use std::net::IpAddr;

/// This machine's host name (`gethostname(2)`).
///
/// # Errors
///
/// `gethostname`'s error, or `InvalidData` if the name is not UTF-8.
///
/// # Examples
///
/// ```
/// let name = gevent::net::gethostname()?;
/// assert!(!name.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn gethostname() -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for `buf.len()` bytes; the kernel writes a
    // NUL-terminated name (truncated to fit).
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..len].to_vec()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the host name is not valid UTF-8",
        )
    })
}

/// The fully qualified domain name of `name` (this machine if `name` is
/// empty, `0.0.0.0` or `::`), as Python's and gevent's `getfqdn`: the
/// first of the reverse lookup's name and aliases that contains a dot, else
/// the reverse lookup's name, else `name` itself when the lookups fail.
/// The lookups go through gevent's resolver (they park the greenlet).
///
/// # Examples
///
/// ```
/// let fqdn = gevent::net::getfqdn("");
/// assert!(!fqdn.is_empty());
/// assert!(!gevent::net::getfqdn("127.0.0.1").is_empty());
/// ```
pub fn getfqdn(name: &str) -> String {
    let mut name = name.trim().to_owned();
    if name.is_empty() || name == "0.0.0.0" || name == "::" {
        match gethostname() {
            Ok(h) => name = h,
            Err(_) => return name,
        }
    }
    let ip: IpAddr = match name.parse() {
        Ok(ip) => ip,
        Err(_) => match crate::resolver::resolve(&name, 0) {
            Ok(addrs) => match addrs.first() {
                Some(a) => a.ip(),
                None => return name,
            },
            Err(_) => return name,
        },
    };
    match crate::resolver::gethostbyaddr(ip) {
        Ok((host, aliases, _)) => std::iter::once(&host)
            .chain(aliases.iter())
            .find(|n| n.contains('.'))
            .cloned()
            .unwrap_or(host),
        Err(_) => name,
    }
}
