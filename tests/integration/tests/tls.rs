//! TLS for mobile policies against the reference server over HTTPS/WSS: certificate pinning
//! (the server's key, the CA's, several pins, a mismatch), client certificates (mutual TLS)
//! and the development opt-out of verification, which warns on every connection.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{builder, wait_for_transport, Mode};
use ferrio::{ConnectError, ManagerBuilder, SpkiPin, TransportError, Value};
use ferrio_integration_tests::{TestCa, TestServer};
use serde_json::json;
use tracing_subscriber::util::SubscriberInitExt as _;

fn ca(server: &TestServer) -> &TestCa {
    server.ca().expect("a TLS server")
}

fn server_pin(server: &TestServer) -> SpkiPin {
    SpkiPin::of_spki_der(ca(server).server_spki_der())
}

fn ca_pin(server: &TestServer) -> SpkiPin {
    SpkiPin::of_spki_der(ca(server).ca_spki_der())
}

/// A builder for `server` in `mode` that trusts its CA.
fn trusting(server: &TestServer, mode: Mode) -> ManagerBuilder {
    builder(server, mode).ca_cert_pem(ca(server).ca_pem().to_owned())
}

/// Connects `/` with `builder`, checks an echo on `mode`'s final transport, and closes.
async fn connects(builder: ManagerBuilder, mode: Mode) {
    let manager = builder.build().expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    wait_for_transport(&manager, mode.final_transport()).await;
    let ack = socket.emit_with_ack("echo", &"pinned").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("pinned")], "{mode:?}");
    manager.close().await;
}

/// The error of connecting `/` with `builder` (reconnection off).
async fn connect_error(builder: ManagerBuilder) -> ConnectError {
    let manager = builder.reconnection(false).build().expect("manager");
    let error = manager
        .socket("/")
        .connect()
        .await
        .expect_err("the connection must fail");
    manager.close().await;
    error
}

async fn a_pin_of_the_servers_key_connects(mode: Mode) {
    let server = TestServer::start_tls(json!({})).await;
    let pin = server_pin(&server);
    connects(trusting(&server, mode).certificate_pin(pin), mode).await;
}
per_transport!(
    a_pin_of_the_servers_key_connects,
    a_pin_of_the_servers_key_connects
);

async fn a_pin_of_the_ca_connects(mode: Mode) {
    let server = TestServer::start_tls(json!({})).await;
    let pin = ca_pin(&server);
    connects(trusting(&server, mode).certificate_pin(pin), mode).await;
}
per_transport!(a_pin_of_the_ca_connects, a_pin_of_the_ca_connects);

#[tokio::test]
async fn several_pins_connect_when_one_matches() {
    let server = TestServer::start_tls(json!({})).await;
    let other = TestCa::generate();
    let builder = trusting(&server, Mode::Upgrade)
        .certificate_pin(SpkiPin::of_spki_der(other.server_spki_der()))
        .certificate_pin(SpkiPin::of_spki_der(other.ca_spki_der()))
        .certificate_pin(
            "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                .parse()
                .expect("pin"),
        )
        .certificate_pin(server_pin(&server));
    connects(builder, Mode::Upgrade).await;
}

async fn a_wrong_pin_fails_with_a_pin_mismatch(mode: Mode) {
    let server = TestServer::start_tls(json!({})).await;
    let other = TestCa::generate();
    let error = connect_error(
        trusting(&server, mode).certificate_pin(SpkiPin::of_spki_der(other.server_spki_der())),
    )
    .await;
    let ConnectError::Transport(TransportError::PinMismatch { seen }) = &error else {
        panic!("{mode:?}: {error:?}");
    };
    assert_eq!(seen, &[server_pin(&server), ca_pin(&server)], "{mode:?}");
    assert!(
        error.to_string().contains(&server_pin(&server).to_string()),
        "{error}"
    );
}
per_transport_pair!(a_wrong_pin_fails_with_a_pin_mismatch);

#[tokio::test]
async fn a_pin_mismatch_is_reported_on_every_reconnection_attempt_until_they_run_out() {
    let server = TestServer::start_tls(json!({})).await;
    let manager = trusting(&server, Mode::WebSocket)
        .certificate_pin(SpkiPin([7; 32]))
        .reconnection_attempts(2)
        .reconnection_delay(std::time::Duration::from_millis(10))
        .build()
        .expect("manager");
    let mut events = manager.events();
    let error = manager.socket("/").connect().await.expect_err("mismatch");
    assert!(
        matches!(
            error,
            ConnectError::Transport(TransportError::PinMismatch { .. })
        ),
        "{error:?}"
    );
    let mut reconnect_errors = 0;
    loop {
        let event = common::within(events.recv()).await.expect("an event");
        match event {
            ferrio::ManagerEvent::ReconnectError(ConnectError::Transport(
                TransportError::PinMismatch { .. },
            )) => reconnect_errors += 1,
            ferrio::ManagerEvent::ReconnectError(other) => panic!("{other:?}"),
            ferrio::ManagerEvent::ReconnectFailed => break,
            _ => {}
        }
    }
    assert_eq!(reconnect_errors, 2);
    manager.close().await;
}

async fn a_client_certificate_passes_mutual_tls(mode: Mode) {
    let server = TestServer::start_mtls(json!({})).await;
    let ca = ca(&server);
    let cert = std::fs::read(ca.client_cert_path()).expect("client certificate");
    let key = std::fs::read(ca.client_key_path()).expect("client key");
    connects(trusting(&server, mode).client_certificate(cert, key), mode).await;
}
per_transport!(
    a_client_certificate_passes_mutual_tls,
    a_client_certificate_passes_mutual_tls
);

/// Connects `attempts` times, each with a builder from `builder` (reconnection off); every
/// connection must fail with a TLS error.
async fn refused_with_tls_errors(
    builder: impl Fn() -> ManagerBuilder,
    attempts: usize,
    mode: Mode,
) {
    for attempt in 0..attempts {
        let error = connect_error(builder()).await;
        assert!(
            matches!(&error, ConnectError::Transport(TransportError::Tls(_))),
            "{mode:?}, attempt {attempt}: {error:?}"
        );
    }
}

/// The server refuses a missing client certificate only after the client's side of a TLS 1.3
/// handshake is done, so the refusal races the first request; it must be a TLS error
/// however the race goes.
async fn mutual_tls_without_a_client_certificate_fails_with_a_tls_error(mode: Mode) {
    let server = TestServer::start_mtls(json!({})).await;
    refused_with_tls_errors(|| trusting(&server, mode), 100, mode).await;
}
per_transport_pair!(mutual_tls_without_a_client_certificate_fails_with_a_tls_error);

/// A client certificate the server does not trust (signed by another CA) is refused after
/// the handshake too: a TLS error every time.
async fn a_client_certificate_from_another_ca_is_a_tls_error(mode: Mode) {
    let server = TestServer::start_mtls(json!({})).await;
    let stranger = TestCa::generate();
    let cert = std::fs::read(stranger.client_cert_path()).expect("client certificate");
    let key = std::fs::read(stranger.client_key_path()).expect("client key");
    let builder = || trusting(&server, mode).client_certificate(cert.clone(), key.clone());
    refused_with_tls_errors(builder, 20, mode).await;
}
per_transport_pair!(a_client_certificate_from_another_ca_is_a_tls_error);

#[tokio::test]
async fn a_client_key_that_does_not_parse_fails_the_build() {
    let built = ferrio::Manager::builder("https://localhost:1")
        .client_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n", "not a key")
        .build();
    let Err(error) = built else {
        panic!("a client certificate that does not parse must fail the build");
    };
    assert!(
        matches!(&error, ConnectError::InvalidOption(_)),
        "{error:?}"
    );
}

/// The tracing output written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn warnings(&self) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned();
        text.lines()
            .filter(|line| line.contains("WARN") && line.contains("danger_accept_invalid_certs"))
            .count()
    }
}

async fn without_verification_connects_and_warns_on_every_connection(mode: Mode) {
    let captured = Captured::default();
    let writer = captured.clone();
    // The test's runtime has one thread: the handshakes run on it, under this subscriber
    // (the thread's own, so the other tests' logs do not count).
    let _guard = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .set_default();
    let server = TestServer::start_tls(json!({})).await;
    let manager = builder(&server, mode)
        .danger_accept_invalid_certs(true)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut warned = 0;
    for round in 0..2 {
        socket
            .connect()
            .await
            .expect("connect without verification");
        wait_for_transport(&manager, mode.final_transport()).await;
        let ack = socket.emit_with_ack("echo", &round).await.expect("ack");
        assert_eq!(ack.args(), [Value::from(round)]);
        let now = captured.warnings();
        assert!(now > warned, "{mode:?} round {round}: {now} warnings");
        warned = now;
        socket.disconnect().await;
    }
    manager.close().await;
}
mod without_verification_connects_and_warns_on_every_connection {
    use super::*;

    #[tokio::test]
    async fn polling() {
        without_verification_connects_and_warns_on_every_connection(Mode::Polling).await
    }

    #[tokio::test]
    async fn websocket() {
        without_verification_connects_and_warns_on_every_connection(Mode::WebSocket).await
    }

    #[tokio::test]
    async fn upgrade() {
        without_verification_connects_and_warns_on_every_connection(Mode::Upgrade).await
    }
}
