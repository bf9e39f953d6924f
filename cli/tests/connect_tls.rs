//! `ferrio connect` with the TLS options (`--pin`, `--client-cert`/`--client-key`,
//! `--insecure`) against the reference server over HTTPS.

use std::process::{Output, Stdio};
use std::time::Duration;

use ferrio::SpkiPin;
use ferrio_integration_tests::{TestCa, TestServer};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `ferrio connect URL ARGS... --count 1` with `input` on stdin (ended after it) and
/// returns its output once it exited.
async fn run(url: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("connect")
        .arg(url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the ferrio binary starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).await.expect("stdin");
    drop(stdin);
    tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .expect("ferrio exits within the timeout")
        .expect("its output")
}

/// The JSON lines of stdout.
fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// An ack'ed echo, then the end of input.
const ECHO: &str = "{\"emit\":\"echo\",\"args\":[\"tls\"],\"ack\":true}\n";

/// Asserts that `output` connected, got the echo's ack and exited 0.
fn assert_connected(output: &Output) {
    let lines = lines(output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&json!("connect")),
        "{lines:?} {stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "ack" && l["args"] == json!(["tls"])),
        "{lines:?} {stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{lines:?} {stderr}");
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
        ECHO,
    )
    .await;
    assert_connected(&output);

    let output = run(
        &server.url(),
        &["--ca-cert", &ca_cert, "--pin", &wrong, "--no-reconnection"],
        ECHO,
    )
    .await;
    let lines = lines(&output);
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
        ECHO,
    )
    .await;
    assert_connected(&output);
}

#[tokio::test]
async fn insecure_connects_without_the_ca_and_warns() {
    let server = TestServer::start_tls(json!({})).await;
    let output = run(&server.url(), &["--insecure"], ECHO).await;
    assert_connected(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("verification is off"),
        "{stderr}"
    );
}
