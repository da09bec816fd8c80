//! Certificates for the TLS test files, generated at run time with rcgen.
#![allow(dead_code)]

use gevent::tls::{TlsAcceptor, TlsConnector, TlsConnectorBuilder};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A test certificate authority issuing leaf certificates.
pub struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate and its private key, as PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
    pub der: Vec<u8>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn leaf_with(
        &self,
        names: &[&str],
        key: KeyPair,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.use_authority_key_identifier_extension = true;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        edit(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, KeyPair::generate().unwrap(), |_| {})
    }

    pub fn connector(&self) -> TlsConnector {
        connector_builder(&self.pem).build().unwrap()
    }
}

/// A connector builder trusting only the CA certificate `ca_pem`.
pub fn connector_builder(ca_pem: &str) -> TlsConnectorBuilder {
    TlsConnector::builder()
        .platform_roots(false)
        .add_root_certificate_pem(ca_pem.as_bytes())
        .unwrap()
}

/// A "Test CA" and a "localhost" leaf it issued, as PEM strings only, so
/// that a test body can take them to the thread it runs on.
#[derive(Clone)]
pub struct LocalhostPems {
    pub cert: String,
    pub key: String,
    pub ca: String,
}

impl LocalhostPems {
    pub fn new() -> LocalhostPems {
        let ca = Ca::new("Test CA");
        let leaf = ca.leaf(&["localhost"]);
        LocalhostPems {
            cert: leaf.cert,
            key: leaf.key,
            ca: ca.pem,
        }
    }

    /// An acceptor serving the leaf.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from_pem(self.cert.as_bytes(), self.key.as_bytes()).unwrap()
    }

    /// A connector builder trusting only the CA.
    pub fn connector_builder(&self) -> TlsConnectorBuilder {
        connector_builder(&self.ca)
    }

    /// A connector trusting only the CA.
    pub fn connector(&self) -> TlsConnector {
        self.connector_builder().build().unwrap()
    }
}

/// An acceptor serving `leaf`.
pub fn acceptor(leaf: &Leaf) -> TlsAcceptor {
    TlsAcceptor::from_pem(leaf.cert.as_bytes(), leaf.key.as_bytes()).unwrap()
}
