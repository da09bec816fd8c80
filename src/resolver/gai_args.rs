//! [`GaiArgs`]: the checked, owned arguments of one `getaddrinfo` call.

use std::ffi::CString;
use std::io;

use super::sys::{self, c_string, subject};
use super::{AddrInfo, AiFlags, Hints, Service};

/// The C arguments of one `getaddrinfo` call, checked and owned so they
/// can move to a worker thread.
pub(crate) struct GaiArgs {
    host: Option<CString>,
    service: Option<CString>,
    hints: Hints,
    subject: String,
}

impl GaiArgs {
    /// Checks and converts the arguments. An empty `host` means no host
    /// (C's NULL node: the wildcard or loopback address).
    pub(crate) fn new(host: &str, service: Service<'_>, hints: &Hints) -> io::Result<GaiArgs> {
        let mut hints = *hints;
        let c_host = if host.is_empty() {
            None
        } else {
            Some(c_string(host, "host name")?)
        };
        let c_service = match service {
            Service::None => None,
            Service::Port(p) => {
                hints.flags |= AiFlags::NUMERICSERV;
                Some(c_string(&p.to_string(), "service")?)
            }
            Service::Name(s) => Some(c_string(s, "service")?),
        };
        if c_host.is_none() && c_service.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "getaddrinfo needs a host name or a service (both were empty)",
            ));
        }
        Ok(GaiArgs {
            host: c_host,
            service: c_service,
            hints,
            subject: subject(host, service),
        })
    }

    /// Adds flags (for the numeric fast path: `AI_NUMERICHOST`).
    pub(crate) fn add_flags(&mut self, flags: AiFlags) {
        self.hints.flags |= flags;
    }

    /// Calls `getaddrinfo`. Blocks.
    pub(crate) fn call(&self) -> io::Result<Vec<AddrInfo>> {
        sys::getaddrinfo(
            self.host.as_deref(),
            self.service.as_deref(),
            &self.hints,
            &self.subject,
        )
    }
}
