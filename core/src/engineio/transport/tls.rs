//! TLS configuration shared by the polling and WebSocket transports (rustls, ring).

use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::TransportError;

/// The system's root certificates, loaded once per process: reading and parsing the
/// system store costs milliseconds of CPU and ~100 KiB, too much to repeat per connection.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(%error, "could not load a system root certificate");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "system root certificates loaded");
        roots
    })
}

/// Builds the rustls client configuration: the system roots plus `extra_ca_pems`.
/// Without extra roots, every manager shares one configuration.
///
/// Each item of `extra_ca_pems` is a PEM file's content holding one or more certificates.
pub(crate) fn client_config(
    extra_ca_pems: &[Vec<u8>],
) -> Result<Arc<ClientConfig>, TransportError> {
    static SHARED: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if extra_ca_pems.is_empty() {
        if let Some(config) = SHARED.get() {
            return Ok(config.clone());
        }
        let config = build(system_roots().clone())?;
        return Ok(SHARED.get_or_init(|| config).clone());
    }
    let mut roots = system_roots().clone();
    for pem in extra_ca_pems {
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| TransportError::Tls(format!("bad CA certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(TransportError::Tls(
                "the CA certificate PEM holds no certificate".into(),
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| TransportError::Tls(format!("bad CA certificate: {e}")))?;
        }
    }
    build(roots)
}

fn build(roots: RootCertStore) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
