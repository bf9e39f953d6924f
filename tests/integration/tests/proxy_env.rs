//! The environment's proxy (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, lower
//! case too) against real proxies, for both transports through the upgrade. One test in
//! its own binary: the environment is the process's, shared by every test in it.

#![cfg(unix)]

mod common;

use common::{wait_for_transport, within};
use ferrio::{Client, TransportKind, Value};
use ferrio_integration_tests::{ProxyKind, TestProxy, TestServer, PROXY_OUTGOING_ADDRESS};
use serde_json::json;

const VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Clears every proxy variable, then sets `pairs`.
fn set_environment(pairs: &[(&str, &str)]) {
    for name in VARIABLES {
        std::env::remove_var(name);
    }
    for (name, value) in pairs {
        std::env::set_var(name, value);
    }
}

/// Connects (polling, then the upgrade) with the environment as it is, unless `no_proxy`,
/// exchanges a few acks, and returns the addresses the server accepted connections from.
async fn peers_of_a_connection(server: &TestServer, no_proxy: bool) -> Vec<String> {
    let ca = server.ca().map(|ca| ca.ca_pem().to_owned());
    let client = within(
        Client::builder(&server.url())
            .manager(|b| {
                let b = if no_proxy { b.no_proxy() } else { b };
                let b = b.reconnection(false);
                match ca {
                    Some(pem) => b.ca_cert_pem(pem),
                    None => b,
                }
            })
            .connect(),
    )
    .await
    .expect("connect");
    wait_for_transport(client.manager(), TransportKind::WebSocket).await;
    for n in 0..5 {
        let ack = within(client.emit_with_ack("echo", &n)).await.expect("ack");
        assert_eq!(ack.args(), [Value::from(n)]);
    }
    client.close().await;
    server.peers().await
}

fn all_from(peers: &[String], address: &str) -> bool {
    !peers.is_empty() && peers.iter().all(|peer| peer == address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environments_proxy_is_used_as_curl_reads_it() {
    let tinyproxy = TestProxy::start(ProxyKind::Tinyproxy).await;
    let squid = TestProxy::start(ProxyKind::Squid).await;
    let socks = TestProxy::start(ProxyKind::Microsocks).await;
    // A proxy that is not there: a connection that used it would fail.
    let nowhere = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        )
    };

    // HTTP_PROXY carries polling (plain proxying) and the WebSocket (CONNECT).
    set_environment(&[("HTTP_PROXY", &tinyproxy.url())]);
    let server = TestServer::start().await;
    let peers = peers_of_a_connection(&server, false).await;
    assert!(
        all_from(&peers, PROXY_OUTGOING_ADDRESS),
        "HTTP_PROXY: {peers:?}"
    );

    // Lower case first; HTTPS_PROXY is not for an http:// server.
    set_environment(&[
        ("http_proxy", &squid.url()),
        ("HTTP_PROXY", &nowhere),
        ("HTTPS_PROXY", &nowhere),
    ]);
    let server = TestServer::start().await;
    let peers = peers_of_a_connection(&server, false).await;
    assert!(
        all_from(&peers, PROXY_OUTGOING_ADDRESS),
        "http_proxy: {peers:?}"
    );

    // HTTPS_PROXY for an https:// server, not HTTP_PROXY.
    set_environment(&[("HTTPS_PROXY", &squid.url()), ("HTTP_PROXY", &nowhere)]);
    let server = TestServer::start_tls(json!({})).await;
    let peers = peers_of_a_connection(&server, false).await;
    assert!(
        all_from(&peers, PROXY_OUTGOING_ADDRESS),
        "HTTPS_PROXY: {peers:?}"
    );

    // ALL_PROXY when no scheme's variable is set, SOCKS5 included.
    set_environment(&[("ALL_PROXY", &socks.url())]);
    let server = TestServer::start().await;
    let peers = peers_of_a_connection(&server, false).await;
    assert!(
        all_from(&peers, PROXY_OUTGOING_ADDRESS),
        "ALL_PROXY: {peers:?}"
    );

    // NO_PROXY names the server: direct.
    set_environment(&[
        ("HTTP_PROXY", &nowhere),
        ("NO_PROXY", "example.com, 127.0.0.1"),
    ]);
    let server = TestServer::start().await;
    let peers = peers_of_a_connection(&server, false).await;
    assert!(all_from(&peers, "127.0.0.1"), "NO_PROXY: {peers:?}");

    // no_proxy() turns the environment off.
    set_environment(&[("HTTP_PROXY", &nowhere), ("ALL_PROXY", &nowhere)]);
    let server = TestServer::start().await;
    let peers = peers_of_a_connection(&server, true).await;
    assert!(all_from(&peers, "127.0.0.1"), "no_proxy(): {peers:?}");

    set_environment(&[]);
}
