//! [`SniResolver`]: picks the server certificate from the name the client
//! asked for with SNI.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::DnsName;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Certificates by server name (exact names and `*.suffix` wildcards that
/// match one leftmost label), with a default for clients that send no SNI
/// or a name with no certificate of its own.
#[derive(Default)]
pub(crate) struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// Sets the certificate used when no name matches.
    pub(crate) fn set_default(&mut self, key: Arc<CertifiedKey>) {
        self.default = Some(key);
    }

    /// Whether no certificate at all is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.default.is_none() && self.by_name.is_empty()
    }

    /// Adds the certificate for `name` (a DNS name, or `*.` and a DNS name).
    pub(crate) fn add(&mut self, name: &str, key: Arc<CertifiedKey>) -> io::Result<()> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let base = name.strip_prefix("*.").unwrap_or(&name);
        if DnsName::try_from(base).is_err() || base.contains('*') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "invalid SNI name {name:?}: expected a DNS name like \"example.com\" or \"*.example.com\""
                ),
            ));
        }
        self.by_name.insert(name, key);
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(k) = self.by_name.get(&name) {
            return Some(k);
        }
        let (_, parent) = name.split_once('.')?;
        self.by_name.get(&format!("*.{parent}"))
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        client_hello
            .server_name()
            .and_then(|n| self.lookup(n))
            .or(self.default.as_ref())
            .cloned()
    }
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("SniResolver")
            .field("names", &names)
            .field("default", &self.default.is_some())
            .finish()
    }
}
