//! PEM loading shared by the connector and acceptor builders: certificates
//! and private keys from bytes or files, with errors that name their source.

use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// What the PEM data came from, for error messages: `the PEM data` or a path.
pub(crate) fn describe_path(path: &Path) -> String {
    path.display().to_string()
}

/// The description of PEM given as bytes.
pub(crate) const PEM_DATA: &str = "the PEM data";

/// Reads a whole file, naming it in the error (the error kind is kept, so a
/// missing file is `NotFound`).
pub(crate) fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
}

fn invalid_pem(what: &str, e: rustls::pki_types::pem::Error) -> io::Error {
    io::Error::new(
        ErrorKind::InvalidData,
        format!("invalid PEM in {what}: {e}"),
    )
}

/// Every certificate in `pem`; an error if there is none.
pub(crate) fn certs(pem: &[u8], what: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid_pem(what, e))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "no certificates found in {what} (expected \"-----BEGIN CERTIFICATE-----\" sections)"
            ),
        ));
    }
    Ok(certs)
}

/// The first private key in `pem` (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub(crate) fn private_key(pem: &[u8], what: &str) -> io::Result<PrivateKeyDer<'static>> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            let hint = if contains(pem, b"ENCRYPTED PRIVATE KEY") {
                "; the key is encrypted, which is not supported: decrypt it first"
            } else {
                " (expected a PKCS#8 \"PRIVATE KEY\", an \"RSA PRIVATE KEY\" or an \"EC PRIVATE KEY\" section)"
            };
            Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("no private key found in {what}{hint}"),
            ))
        }
        Err(e) => Err(invalid_pem(what, e)),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A certificate chain and its private key, checked against each other.
///
/// `chain_what`/`key_what` describe the sources for error messages.
pub(crate) fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    chain_what: &str,
    key_what: &str,
) -> io::Result<Arc<CertifiedKey>> {
    match CertifiedKey::from_der(chain, key, &super::provider()) {
        Ok(ck) => Ok(Arc::new(ck)),
        Err(rustls::Error::InconsistentKeys(_)) => Err(io::Error::new(
            ErrorKind::InvalidInput,
            if chain_what == key_what {
                format!("the private key in {key_what} does not match its certificate")
            } else {
                format!(
                    "the private key in {key_what} does not match the certificate in {chain_what}"
                )
            },
        )),
        Err(e) => Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("unusable certificate or private key ({chain_what}, {key_what}): {e}"),
        )),
    }
}

/// Loads a chain and key from PEM bytes into a checked [`CertifiedKey`].
pub(crate) fn certified_key_from_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
    chain_what: &str,
    key_what: &str,
) -> io::Result<Arc<CertifiedKey>> {
    let chain = certs(chain_pem, chain_what)?;
    let key = private_key(key_pem, key_what)?;
    certified_key(chain, key, chain_what, key_what)
}

/// Reads a chain file and a key file (possibly the same file, then read
/// once).
pub(crate) fn read_pair(chain: &Path, key: &Path) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let chain_pem = read_file(chain)?;
    let key_pem = if key == chain {
        chain_pem.clone()
    } else {
        read_file(key)?
    };
    Ok((chain_pem, key_pem))
}

/// Loads a chain and key from PEM files (possibly the same file).
pub(crate) fn certified_key_from_files(chain: &Path, key: &Path) -> io::Result<Arc<CertifiedKey>> {
    let (chain_pem, key_pem) = read_pair(chain, key)?;
    certified_key_from_pem(
        &chain_pem,
        &key_pem,
        &describe_path(chain),
        &describe_path(key),
    )
}

/// Adds every certificate in `pem` to `store` as a trust anchor.
pub(crate) fn add_roots(store: &mut RootCertStore, pem: &[u8], what: &str) -> io::Result<()> {
    for cert in certs(pem, what)? {
        store.add(cert).map_err(|e| {
            io::Error::new(
                ErrorKind::InvalidData,
                format!("invalid root certificate in {what}: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Adds every certificate in the PEM file at `path` to `store` as a trust
/// anchor; errors name the file.
pub(crate) fn add_roots_from_file(store: &mut RootCertStore, path: &Path) -> io::Result<()> {
    let data = read_file(path)?;
    add_roots(store, &data, &describe_path(path))
}
