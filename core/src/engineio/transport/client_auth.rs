//! What a server's TLS handshakes showed of client authentication, so that its refusal of
//! a client certificate is reported as a TLS error however it reaches the client.
//!
//! Under TLS 1.3 a server checks the client's certificate (or its absence) only after the
//! client's side of the handshake is done: its refusal, an alert, races the first request.
//! When the alert closes the connection before the HTTP client has sent that request, the
//! request fails as cancelled, and the alert is lost. [`ClientAuthRecord`] remembers that the
//! server asked for a certificate and has not yet accepted a connection, which turns such a
//! failure into the [`TransportError::Tls`] it is.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};

use crate::error::TransportError;

/// The server never asked for a client certificate.
const NOT_ASKED: u8 = 0;
/// The server asked for a client certificate; none is configured.
const ASKED_WITHOUT_CERTIFICATE: u8 = 1;
/// The server asked for a client certificate; the configured one was sent.
const ASKED_WITH_CERTIFICATE: u8 = 2;
/// The server answered a request after asking: it does not refuse this client.
const ACCEPTED: u8 = 3;

/// What one endpoint's TLS handshakes showed of client authentication: whether the server
/// asks for a client certificate, and whether it has answered a request since.
#[derive(Debug)]
pub(crate) struct ClientAuthRecord {
    state: AtomicU8,
}

impl Default for ClientAuthRecord {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(NOT_ASKED),
        }
    }
}

impl ClientAuthRecord {
    /// Notes a request for a client certificate, answered with one or not. A server that
    /// has accepted this client stays accepted.
    fn asked(&self, answered: bool) {
        let asked = if answered {
            ASKED_WITH_CERTIFICATE
        } else {
            ASKED_WITHOUT_CERTIFICATE
        };
        let _ = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                (state != ACCEPTED).then_some(asked)
            });
    }

    /// Notes that the server answered a request: whatever it asked for, it accepts this
    /// client.
    pub(crate) fn answered(&self) {
        let _ = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                matches!(state, ASKED_WITHOUT_CERTIFICATE | ASKED_WITH_CERTIFICATE)
                    .then_some(ACCEPTED)
            });
    }

    /// `error`, for a connection the server closed before it answered: a
    /// [`TransportError::Tls`] naming the client certificate when the server asked for one
    /// and has never accepted this client; otherwise (or when `error` already names its
    /// cause) `error` itself.
    pub(crate) fn refusal(&self, error: TransportError) -> TransportError {
        if !matches!(error, TransportError::Io(_) | TransportError::WebSocket(_)) {
            return error;
        }
        let why = match self.state.load(Ordering::Relaxed) {
            ASKED_WITHOUT_CERTIFICATE => {
                "the server asked for a client certificate and none is configured \
                 (client_certificate)"
            }
            ASKED_WITH_CERTIFICATE => {
                "the server asked for a client certificate and may have refused the one sent"
            }
            _ => return error,
        };
        TransportError::Tls(format!("{why}, then closed the connection: {error}"))
    }
}

/// An endpoint's TLS configuration: the manager's, and over TLS a copy of it that records
/// what the handshakes showed of client authentication.
#[derive(Debug, Clone)]
pub(crate) struct EndpointTls {
    /// The manager's configuration.
    manager: Arc<ClientConfig>,
    /// The configuration the transports use: over TLS, the manager's noting each request
    /// for a client certificate in `record`, with its own store of sessions to resume (one
    /// server's tickets); otherwise the manager's itself.
    pub(crate) config: Arc<ClientConfig>,
    /// What the handshakes showed of client authentication (over TLS).
    record: Option<Arc<ClientAuthRecord>>,
}

impl EndpointTls {
    /// The manager's configuration, recording nothing: [`EndpointTls::for_server`] makes
    /// the one an endpoint uses.
    pub(crate) fn of_manager(manager: Arc<ClientConfig>) -> Self {
        Self {
            config: manager.clone(),
            manager,
            record: None,
        }
    }

    /// The configuration of an endpoint reached over TLS or not: this one when it fits (an
    /// endpoint updated by a reconnection hook keeps its record and its sessions),
    /// otherwise a new one from the manager's.
    pub(crate) fn for_server(&self, over_tls: bool) -> Self {
        if over_tls == self.record.is_some() {
            return self.clone();
        }
        if !over_tls {
            return Self::of_manager(self.manager.clone());
        }
        let record = Arc::new(ClientAuthRecord::default());
        let mut config = (*self.manager).clone();
        config.client_auth_cert_resolver = Arc::new(RecordingResolver {
            inner: config.client_auth_cert_resolver.clone(),
            record: record.clone(),
        });
        // A session is resumed only with the resolver that made it: a store shared with
        // other endpoints would hold tickets this one cannot use.
        config.resumption = Resumption::in_memory_sessions(TICKETS_PER_SERVER);
        Self {
            manager: self.manager.clone(),
            config: Arc::new(config),
            record: Some(record),
        }
    }

    /// Notes that the server answered a request: it accepts this client's TLS.
    pub(crate) fn answered(&self) {
        if let Some(record) = &self.record {
            record.answered();
        }
    }

    /// `error`, for a connection the server closed before it answered: see
    /// [`ClientAuthRecord::refusal`].
    pub(crate) fn refusal(&self, error: TransportError) -> TransportError {
        match &self.record {
            Some(record) => record.refusal(error),
            None => error,
        }
    }
}

/// The TLS 1.3 tickets rustls keeps per server: an endpoint's store holds one server.
const TICKETS_PER_SERVER: usize = 8;

/// The configured resolver of client certificates, noting each call in a record.
#[derive(Debug)]
struct RecordingResolver {
    inner: Arc<dyn ResolvesClientCert>,
    record: Arc<ClientAuthRecord>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let key = self.inner.resolve(root_hint_subjects, sigschemes);
        self.record.asked(key.is_some());
        key
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed() -> TransportError {
        TransportError::Io("connection was not ready".into())
    }

    fn tls_message(error: TransportError) -> String {
        match error {
            TransportError::Tls(message) => message,
            other => panic!("expected a TLS error, got {other:?}"),
        }
    }

    fn manager_config() -> Arc<ClientConfig> {
        crate::engineio::transport::tls::client_config(&crate::ManagerOptions::default())
            .expect("the default configuration")
    }

    #[test]
    fn only_an_endpoint_over_tls_gets_a_recording_copy_which_it_keeps() {
        let manager = EndpointTls::of_manager(manager_config());
        let plain = manager.for_server(false);
        assert!(Arc::ptr_eq(&plain.config, &manager.config));
        assert!(plain.record.is_none());
        let over_tls = plain.for_server(true);
        assert!(!Arc::ptr_eq(&over_tls.config, &manager.config));
        assert!(over_tls.record.is_some());
        let updated = over_tls.for_server(true);
        assert!(Arc::ptr_eq(&updated.config, &over_tls.config));
        let back = updated.for_server(false);
        assert!(Arc::ptr_eq(&back.config, &manager.config));
    }

    #[test]
    fn an_endpoint_without_tls_keeps_every_error() {
        let plain = EndpointTls::of_manager(manager_config());
        plain.answered();
        assert!(matches!(plain.refusal(closed()), TransportError::Io(_)));
    }

    #[test]
    fn a_server_that_never_asked_keeps_the_error() {
        let record = ClientAuthRecord::default();
        record.answered();
        assert!(matches!(record.refusal(closed()), TransportError::Io(_)));
    }

    #[test]
    fn an_unanswered_request_for_a_certificate_makes_a_closed_connection_a_tls_error() {
        let record = ClientAuthRecord::default();
        record.asked(false);
        let message = tls_message(record.refusal(closed()));
        assert!(message.contains("none is configured"), "{message}");
        assert!(message.contains("connection was not ready"), "{message}");
    }

    #[test]
    fn a_certificate_sent_and_then_a_closed_connection_is_a_tls_error() {
        let record = ClientAuthRecord::default();
        record.asked(true);
        let message = tls_message(record.refusal(closed()));
        assert!(message.contains("refused the one sent"), "{message}");
    }

    #[test]
    fn an_error_that_names_its_cause_is_kept() {
        let record = ClientAuthRecord::default();
        record.asked(false);
        let alert = TransportError::Tls("received fatal alert: CertificateRequired".into());
        let kept = tls_message(record.refusal(alert));
        assert_eq!(kept, "received fatal alert: CertificateRequired");
        let timeout = TransportError::RequestTimeout {
            after: std::time::Duration::from_secs(1),
        };
        assert!(matches!(
            record.refusal(timeout),
            TransportError::RequestTimeout { .. }
        ));
    }

    #[test]
    fn a_server_that_answered_after_asking_accepts_the_client_for_good() {
        let record = ClientAuthRecord::default();
        record.asked(false);
        record.answered();
        record.asked(false);
        assert!(matches!(record.refusal(closed()), TransportError::Io(_)));
    }
}
