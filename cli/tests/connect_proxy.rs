//! `ferrio connect --proxy URL` and `--no-proxy-env` through real proxies (tinyproxy over
//! HTTP, microsocks over SOCKS5) to the reference server. The proxies connect out from
//! 127.0.0.2; the server's record of its peers shows who came through them.

#![cfg(unix)]

mod common;

use common::{assert_echoed as assert_echo_line, echo_line, json_lines, run_connect};
use ferrio_integration_tests::{ProxyKind, TestProxy, TestServer, PROXY_OUTGOING_ADDRESS};

/// Runs `ferrio connect URL ARGS...` with `env` set, an ack'ed echo on stdin.
async fn run(url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    run_connect(url, args, &echo_line("proxied"), env).await
}

/// Asserts that a run connected, got the echo's ack and exited 0.
fn assert_echoed(output: &std::process::Output) {
    assert_echo_line(output, "proxied");
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
    let lines = json_lines(&output);
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
