//! A throw-away certificate authority and a server certificate it signed, for TLS tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData as _,
};
use rustls::pki_types::CertificateDer;
use tempfile::TempDir;

/// A CA and a server certificate for `localhost` and `127.0.0.1` signed by it (and a client
/// certificate for mutual TLS), written as PEM files into a temporary directory that lives
/// as long as this value.
pub struct TestCa {
    dir: TempDir,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    ca_spki_der: Vec<u8>,
    server_spki_der: Vec<u8>,
}

impl TestCa {
    /// Generates a fresh CA and server certificate.
    pub fn generate() -> TestCa {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Ferrio test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_spki_der = ca_key.subject_public_key_info();
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-signed CA");

        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server certificate parameters");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .expect("server certificate");

        let mut client_params =
            CertificateParams::new(Vec::<String>::new()).expect("client certificate parameters");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "Ferrio test client");
        client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().expect("client key");
        let client_cert = client_params
            .signed_by(&client_key, &ca)
            .expect("client certificate");

        let dir = tempfile::Builder::new()
            .prefix("ferrio-test-ca-")
            .tempdir()
            .expect("temporary directory for the test CA");
        let ca_pem = ca.pem();
        write(&dir.path().join("ca.pem"), &ca_pem);
        write(&dir.path().join("server.pem"), &server_cert.pem());
        write(
            &dir.path().join("server-key.pem"),
            &server_key.serialize_pem(),
        );
        write(&dir.path().join("client.pem"), &client_cert.pem());
        write(
            &dir.path().join("client-key.pem"),
            &client_key.serialize_pem(),
        );
        TestCa {
            dir,
            ca_pem,
            ca_der: ca.der().clone(),
            ca_spki_der,
            server_spki_der: server_key.subject_public_key_info(),
        }
    }

    /// The CA's public key as a DER SubjectPublicKeyInfo (what a certificate pin hashes).
    pub fn ca_spki_der(&self) -> &[u8] {
        &self.ca_spki_der
    }

    /// The server certificate's public key as a DER SubjectPublicKeyInfo.
    pub fn server_spki_der(&self) -> &[u8] {
        &self.server_spki_der
    }

    /// A client certificate signed by the CA (for mutual TLS; PEM file).
    pub fn client_cert_path(&self) -> PathBuf {
        self.dir.path().join("client.pem")
    }

    /// The client certificate's private key (PKCS#8 PEM file).
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client-key.pem")
    }

    /// The CA certificate (PEM file), to give a client as its trusted root.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The CA certificate as PEM text.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate as DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The server certificate (PEM file).
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server certificate's private key (PEM file).
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.path().join("server-key.pem")
    }

    /// A rustls client configuration (ring provider) that trusts only this CA.
    pub fn rustls_client_config(&self) -> rustls::ClientConfig {
        client_config(Some(self))
    }
}

/// A rustls client configuration with the ring provider, trusting `ca` only (or nothing).
pub(crate) fn client_config(ca: Option<&TestCa>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        roots
            .add(ca.ca_der().clone())
            .expect("the test CA is a valid root");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}
