//! `ferrio connect` with the TLS options (`--pin`, `--client-cert`/`--client-key`,
//! `--insecure`) against the reference server over HTTPS.

mod common;

use common::{assert_echoed, echo_line, json_lines, run_connect};
use ferrio::SpkiPin;
use ferrio_integration_tests::{TestCa, TestServer};
use serde_json::json;

/// Runs `ferrio connect URL ARGS...` with `input` on stdin.
async fn run(url: &str, args: &[&str], input: &str) -> std::process::Output {
    run_connect(url, args, input, &[]).await
}

/// Asserts that a run connected, got its echo's ack and exited 0.
fn assert_connected(output: &std::process::Output) {
    assert_echoed(output, "tls");
}

fn path(path: std::path::PathBuf) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

fn ca(server: &TestServer) -> &TestCa {
    server.ca().expect("a TLS server")
}

#[tokio::test]
async fn a_matching_pin_connects_and_a_wrong_one_is_a_connect_error() {
    let server = TestServer::start_tls(json!({})).await;
    let ca_cert = path(ca(&server).ca_pem_path());
    let right = SpkiPin::of_spki_der(ca(&server).server_spki_der()).to_string();
    let wrong = SpkiPin([7; 32]).to_string();

    let output = run(
        &server.url(),
        &["--ca-cert", &ca_cert, "--pin", &wrong, "--pin", &right],
        &echo_line("tls"),
    )
    .await;
    assert_connected(&output);

    let output = run(
        &server.url(),
        &["--ca-cert", &ca_cert, "--pin", &wrong, "--no-reconnection"],
        &echo_line("tls"),
    )
    .await;
    let lines = json_lines(&output);
    assert_eq!(lines[0]["type"], "connect_error", "{lines:?}");
    let message = lines[0]["message"].as_str().expect("a message");
    assert!(message.contains("no pinned key"), "{message}");
    assert!(
        message.contains(&right),
        "the chain's keys are listed: {message}"
    );
    assert_eq!(output.status.code(), Some(1), "{lines:?}");
}

#[tokio::test]
async fn a_pin_that_does_not_parse_is_a_usage_error() {
    let output = run("https://localhost:1", &["--pin", "md5/abc"], "").await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sha256/"), "{stderr}");
}

#[tokio::test]
async fn a_client_certificate_passes_mutual_tls() {
    let server = TestServer::start_mtls(json!({})).await;
    let ca = ca(&server);
    let output = run(
        &server.url(),
        &[
            "--ca-cert",
            &path(ca.ca_pem_path()),
            "--client-cert",
            &path(ca.client_cert_path()),
            "--client-key",
            &path(ca.client_key_path()),
        ],
        &echo_line("tls"),
    )
    .await;
    assert_connected(&output);
}

#[tokio::test]
async fn insecure_connects_without_the_ca_and_warns() {
    let server = TestServer::start_tls(json!({})).await;
    let output = run(&server.url(), &["--insecure"], &echo_line("tls")).await;
    assert_connected(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("verification is off"),
        "{stderr}"
    );
}
