//! TLS configuration shared by the polling and WebSocket transports (rustls, ring):
//! extra roots, certificate pinning, client certificates, and the development opt-out of
//! verification.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::TransportError;
use crate::options::{ClientCertificate, ManagerOptions, SpkiPin};

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

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration of `options`: the system roots plus
/// `ca_certs_pem`, the pins, the client certificate, or no verification at all.
/// Without any of those, every manager shares one configuration.
///
/// # Errors
/// [`TransportError::Tls`] for a PEM that does not parse, or pins together with
/// `danger_accept_invalid_certs`.
pub(crate) fn client_config(options: &ManagerOptions) -> Result<Arc<ClientConfig>, TransportError> {
    static SHARED: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let plain = options.ca_certs_pem.is_empty()
        && options.certificate_pins.is_empty()
        && options.client_certificate.is_none()
        && !options.danger_accept_invalid_certs;
    if plain {
        if let Some(config) = SHARED.get() {
            return Ok(config.clone());
        }
        let config = build(system_roots().clone(), &[], None, false)?;
        return Ok(SHARED.get_or_init(|| config).clone());
    }
    if options.danger_accept_invalid_certs && !options.certificate_pins.is_empty() {
        return Err(TransportError::Tls(
            "certificate pins need certificate verification: drop danger_accept_invalid_certs \
             (trust a development CA with ca_certs_pem instead)"
                .into(),
        ));
    }
    let mut roots = system_roots().clone();
    for pem in &options.ca_certs_pem {
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
    build(
        roots,
        &options.certificate_pins,
        options.client_certificate.as_ref(),
        options.danger_accept_invalid_certs,
    )
}

fn build(
    roots: RootCertStore,
    pins: &[SpkiPin],
    client_certificate: Option<&ClientCertificate>,
    accept_invalid_certs: bool,
) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let roots = Arc::new(roots);
    let builder = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { algorithms }))
    } else if pins.is_empty() {
        builder.with_root_certificates(roots)
    } else {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider)
            .build()
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier {
                webpki,
                roots,
                algorithms,
                pins: pins.to_vec(),
            }))
    };
    let config = match client_certificate {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let (chain, key) = parse_client_certificate(identity)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TransportError::Tls(format!("bad client certificate: {e}")))?
        }
    };
    Ok(Arc::new(config))
}

/// The chain and key of a client certificate.
fn parse_client_certificate(
    identity: &ClientCertificate,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TransportError> {
    let chain: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut identity.cert_chain_pem.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| TransportError::Tls(format!("bad client certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TransportError::Tls(
            "the client certificate PEM holds no certificate".into(),
        ));
    }
    let key = rustls_pemfile::private_key(&mut identity.key_pem.as_slice())
        .map_err(|e| TransportError::Tls(format!("bad client key PEM: {e}")))?
        .ok_or_else(|| {
            TransportError::Tls(
                "the client key PEM holds no private key (PKCS#8, RSA or EC)".into(),
            )
        })?;
    Ok((chain, key))
}

/// Normal verification, then the pins: one certificate of a verified chain must hold a
/// pinned key.
#[derive(Debug)]
struct PinnedVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    pins: Vec<SpkiPin>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        check_pins(
            &self.pins,
            end_entity,
            intermediates,
            &self.roots.roots,
            self.algorithms.all,
            now,
        )
        .map_err(|seen| {
            tracing::warn!(server = ?server_name, "no pinned key in the server's certificate chain");
            rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(PinMismatch { seen }),
            )))
        })?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether a chain from `end_entity` through some of `intermediates` to one of `anchors`
/// is valid and holds a pinned key (OkHttp's rule: the verified chain, root included).
/// On failure, the pins of every verified chain tried, the server's own key first.
fn check_pins(
    pins: &[SpkiPin],
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[rustls::pki_types::TrustAnchor<'_>],
    algorithms: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm],
    now: UnixTime,
) -> Result<(), Vec<SpkiPin>> {
    let seen = RefCell::new(Vec::<SpkiPin>::new());
    let Ok(cert) = webpki::EndEntityCert::try_from(end_entity) else {
        return Err(Vec::new());
    };
    let pinned = |path: &webpki::VerifiedPath<'_>| {
        let mut keys = vec![SpkiPin::of_spki_der(
            path.end_entity().subject_public_key_info().as_ref(),
        )];
        keys.extend(
            path.intermediate_certificates()
                .map(|cert| SpkiPin::of_spki_der(cert.subject_public_key_info().as_ref())),
        );
        keys.push(SpkiPin::of_spki_der(
            webpki::spki_for_anchor(path.anchor()).as_ref(),
        ));
        let found = keys.iter().any(|key| pins.contains(key));
        let mut seen = seen.borrow_mut();
        for key in keys {
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        if found {
            Ok(())
        } else {
            Err(webpki::Error::UnknownIssuer)
        }
    };
    match cert.verify_for_usage(
        algorithms,
        anchors,
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        Some(&pinned),
    ) {
        Ok(_) => Ok(()),
        Err(_) => Err(seen.into_inner()),
    }
}

/// The error a [`PinnedVerifier`] hands rustls, found again by [`transport_error`].
#[derive(Debug, thiserror::Error)]
#[error("{}", TransportError::PinMismatch { seen: self.seen.clone() })]
struct PinMismatch {
    seen: Vec<SpkiPin>,
}

/// `danger_accept_invalid_certs`: any certificate (the endpoint warns on every session it
/// opens). The handshake's signature is still checked against the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The warning of a connection to `server` that accepts any certificate (its target is this
/// module, which `ferrio connect --insecure` shows without `RUST_LOG`).
pub(crate) fn warn_unverified(server: &str) {
    tracing::warn!(
        server,
        "TLS certificate verification is off (danger_accept_invalid_certs): this connection \
         is encrypted but not authenticated; never use this in production"
    );
}

/// The transport error of a TLS failure: [`TransportError::PinMismatch`] for a pin
/// mismatch, [`TransportError::Tls`] for the rest.
pub(crate) fn transport_error(error: &rustls::Error) -> TransportError {
    if let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = error {
        if let Some(mismatch) = other.0.downcast_ref::<PinMismatch>() {
            return TransportError::PinMismatch {
                seen: mismatch.seen.clone(),
            };
        }
    }
    TransportError::Tls(error.to_string())
}

/// The rustls error somewhere in `error`'s chain of sources (an I/O error wrapping it
/// included), if any.
pub(crate) fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(tls) = find_rustls_error(inner) {
                return Some(tls);
            }
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_and_print_as_sha256_base64() {
        let pin: SpkiPin = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
            .parse()
            .expect("a valid pin");
        assert_eq!(pin, SpkiPin::of_spki_der(b""));
        assert_eq!(
            pin.to_string(),
            "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let unpadded: SpkiPin = " sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU "
            .parse()
            .expect("padding is optional");
        assert_eq!(unpadded, pin);
    }

    #[test]
    fn bad_pins_are_invalid_options() {
        for text in [
            "",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "sha256/not base64!",
            "sha256/AAAA",
            "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUAAAA=",
        ] {
            let error = text.parse::<SpkiPin>().expect_err(text);
            assert!(
                matches!(error, crate::ConnectError::InvalidOption(_)),
                "{text}: {error:?}"
            );
        }
    }

    /// A CA, a server certificate for `localhost` it signed, and an unrelated self-signed
    /// certificate, as DER.
    struct Chain {
        ca: CertificateDer<'static>,
        leaf: CertificateDer<'static>,
        stranger: CertificateDer<'static>,
    }

    impl Chain {
        fn generate() -> Self {
            use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA");
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key"))
                .expect("CA");
            let leaf = CertificateParams::new(vec!["localhost".to_owned()])
                .expect("leaf")
                .signed_by(&KeyPair::generate().expect("key"), &ca)
                .expect("leaf");
            let stranger = CertificateParams::new(vec!["localhost".to_owned()])
                .expect("stranger")
                .self_signed(&KeyPair::generate().expect("key"))
                .expect("stranger");
            Self {
                ca: ca.der().clone(),
                leaf: leaf.der().clone(),
                stranger: stranger.der().clone(),
            }
        }

        fn pin(cert: &CertificateDer<'_>) -> SpkiPin {
            let cert = webpki::EndEntityCert::try_from(cert).expect("parses");
            SpkiPin::of_spki_der(cert.subject_public_key_info().as_ref())
        }

        fn check(
            &self,
            pins: &[SpkiPin],
            intermediates: &[CertificateDer<'_>],
        ) -> Result<(), Vec<SpkiPin>> {
            let anchors = [webpki::anchor_from_trusted_cert(&self.ca).expect("anchor")];
            let algorithms = provider().signature_verification_algorithms.all;
            check_pins(
                pins,
                &self.leaf,
                intermediates,
                &anchors,
                algorithms,
                UnixTime::now(),
            )
        }
    }

    #[test]
    fn a_pin_of_the_leaf_or_of_the_root_passes() {
        let chain = Chain::generate();
        let leaf = Chain::pin(&chain.leaf);
        let ca = Chain::pin(&chain.ca);
        assert_eq!(chain.check(&[leaf], &[]), Ok(()));
        assert_eq!(chain.check(&[ca], &[]), Ok(()));
        let other = SpkiPin([7; 32]);
        assert_eq!(chain.check(&[other, ca], &[]), Ok(()));
    }

    #[test]
    fn a_mismatch_lists_the_keys_of_the_verified_chain() {
        let chain = Chain::generate();
        let seen = chain.check(&[SpkiPin([7; 32])], &[]).expect_err("no pin");
        assert_eq!(seen, [Chain::pin(&chain.leaf), Chain::pin(&chain.ca)]);
    }

    #[test]
    fn a_pinned_certificate_outside_the_verified_chain_does_not_count() {
        let chain = Chain::generate();
        let stranger = Chain::pin(&chain.stranger);
        let seen = chain
            .check(&[stranger], std::slice::from_ref(&chain.stranger))
            .expect_err("appended, not part of the chain");
        assert!(!seen.contains(&stranger), "{seen:?}");
    }

    #[test]
    fn a_malformed_certificate_is_a_mismatch_not_a_panic() {
        let chain = Chain::generate();
        let pins = [Chain::pin(&chain.leaf)];
        let anchors = [webpki::anchor_from_trusted_cert(&chain.ca).expect("anchor")];
        let algorithms = provider().signature_verification_algorithms.all;
        for bytes in [
            Vec::new(),
            vec![0x30],
            vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            chain.leaf[..chain.leaf.len() / 2].to_vec(),
        ] {
            let cert = CertificateDer::from(bytes);
            let result = check_pins(&pins, &cert, &[], &anchors, algorithms, UnixTime::now());
            assert!(result.is_err());
        }
    }

    #[test]
    fn a_pin_mismatch_from_rustls_is_a_typed_transport_error() {
        let seen = vec![SpkiPin([1; 32])];
        let error = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
            Arc::new(PinMismatch { seen: seen.clone() }),
        )));
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let found = find_rustls_error(&wrapped).expect("the rustls error");
        assert!(
            matches!(transport_error(found), TransportError::PinMismatch { seen: s } if s == seen)
        );
        let other = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(matches!(transport_error(&other), TransportError::Tls(_)));
    }

    #[test]
    fn pins_with_verification_off_are_refused() {
        let options = ManagerOptions {
            certificate_pins: vec![SpkiPin([0; 32])],
            danger_accept_invalid_certs: true,
            ..ManagerOptions::default()
        };
        assert!(matches!(
            client_config(&options),
            Err(TransportError::Tls(_))
        ));
    }

    #[test]
    fn a_bad_client_certificate_is_an_error_not_a_panic() {
        let chain = Chain::generate();
        let pem = |label: &str, der: &[u8]| {
            use base64::Engine as _;
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n").into_bytes()
        };
        let cert_pem = pem("CERTIFICATE", &chain.leaf);
        for (cert_chain_pem, key_pem) in [
            (b"not a pem".to_vec(), b"not a pem".to_vec()),
            (cert_pem.clone(), Vec::new()),
            (cert_pem.clone(), pem("PRIVATE KEY", b"garbage")),
            (Vec::new(), pem("PRIVATE KEY", b"garbage")),
        ] {
            let options = ManagerOptions {
                client_certificate: Some(ClientCertificate {
                    cert_chain_pem,
                    key_pem,
                }),
                ..ManagerOptions::default()
            };
            assert!(matches!(
                client_config(&options),
                Err(TransportError::Tls(_))
            ));
        }
    }
}
