//! `ferrio connect --proxy URL` and `--no-proxy-env` through real proxies (tinyproxy over
//! HTTP, microsocks over SOCKS5) to the reference server. The proxies connect out from
//! 127.0.0.2; the server's record of its peers shows who came through them.

#![cfg(unix)]

use std::process::{Output, Stdio};
use std::time::Duration;

use ferrio_integration_tests::{ProxyKind, TestProxy, TestServer, PROXY_OUTGOING_ADDRESS};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// An ack'ed echo, then the end of input.
const ECHO: &str = "{\"emit\":\"echo\",\"args\":[\"proxied\"],\"ack\":true}\n";

/// Runs `ferrio connect URL ARGS...` with `env` set and the proxy variables cleared
/// otherwise, [`ECHO`] on stdin; returns its output once it exited.
async fn run(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrio"));
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(name);
    }
    let mut child = command
        .envs(env.iter().copied())
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
    stdin.write_all(ECHO.as_bytes()).await.expect("stdin");
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

/// Asserts that `output` connected, got the echo's ack and exited 0.
fn assert_echoed(output: &Output) {
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
            .any(|l| l["type"] == "ack" && l["args"] == json!(["proxied"])),
        "{lines:?} {stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{lines:?} {stderr}");
}

/// Whether every connection the server accepted came from `address` (and there was one).
async fn all_peers_from(server: &TestServer, address: &str) -> bool {
    let peers = server.peers().await;
    !peers.is_empty() && peers.iter().all(|peer| peer == address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_carries_every_transport() {
    let proxy = TestProxy::start(ProxyKind::Tinyproxy).await;
    for transport in ["polling", "websocket", "upgrade"] {
        let server = TestServer::start().await;
        let output = run(
            &server.url(),
            &["--proxy", &proxy.url(), "--transport", transport],
            &[],
        )
        .await;
        assert_echoed(&output);
        assert!(
            all_peers_from(&server, PROXY_OUTGOING_ADDRESS).await,
            "{transport}: {:?}",
            server.peers().await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socks5_proxy_with_credentials_carries_the_upgrade() {
    let proxy = TestProxy::start_with_credentials(ProxyKind::Microsocks, "cli", "pw").await;
    let server = TestServer::start().await;
    let output = run(&server.url(), &["--proxy", &proxy.url()], &[]).await;
    assert_echoed(&output);
    assert!(all_peers_from(&server, PROXY_OUTGOING_ADDRESS).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environments_proxy_is_used_unless_no_proxy_env() {
    let proxy = TestProxy::start(ProxyKind::Tinyproxy).await;
    let env = [("HTTP_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let server = TestServer::start().await;
    assert_echoed(&run(&server.url(), &[], &env).await);
    assert!(all_peers_from(&server, PROXY_OUTGOING_ADDRESS).await);

    let server = TestServer::start().await;
    assert_echoed(&run(&server.url(), &["--no-proxy-env"], &env).await);
    assert!(all_peers_from(&server, "127.0.0.1").await);
}

#[tokio::test]
async fn an_unreachable_proxy_is_a_connect_error_naming_it() {
    let server = TestServer::start().await;
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address").port()
    };
    let proxy = format!("http://127.0.0.1:{port}");
    let output = run(
        &server.url(),
        &["--proxy", &proxy, "--no-reconnection"],
        &[],
    )
    .await;
    let lines = lines(&output);
    let error = lines
        .iter()
        .find(|l| l["type"] == "connect_error")
        .unwrap_or_else(|| panic!("a connect_error: {lines:?}"));
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("cannot reach the proxy") && message.contains(&proxy),
        "{message}"
    );
    assert_eq!(output.status.code(), Some(1), "{lines:?}");
}
