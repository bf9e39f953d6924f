//! Proxies: the client reaches the reference server through real proxies from Debian
//! (tinyproxy and squid over HTTP, microsocks over SOCKS5), over polling, WebSocket and the
//! upgrade, with and without credentials. Each proxy connects out from 127.0.0.2 and the
//! server records the address of every connection it accepts: a test passes only if every
//! one of them came from the proxy. The environment's proxy variables are tested in
//! `proxy_env.rs` (its own process: the environment is shared by the tests of a process).

#![cfg(unix)]

mod common;

use common::{builder_for, wait_for_transport, within, Mode};
use ferrio::{Client, ConnectError, ProxyError, TransportError, Value};
use ferrio_integration_tests::{ProxyKind, TestProxy, TestServer, PROXY_OUTGOING_ADDRESS};
use serde_json::json;

/// Connects to `server`'s `/` through `proxy_url` in `mode`, after any upgrade completed.
async fn connect_through(server: &TestServer, proxy_url: &str, mode: Mode) -> Client {
    let client = try_connect_through(server, proxy_url, mode)
        .await
        .unwrap_or_else(|e| panic!("connect through {proxy_url} ({mode:?}): {e}"));
    wait_for_transport(client.manager(), mode.final_transport()).await;
    client
}

async fn try_connect_through(
    server: &TestServer,
    proxy_url: &str,
    mode: Mode,
) -> Result<Client, ConnectError> {
    let ca = server.ca().map(|ca| ca.ca_pem().to_owned());
    within(
        Client::builder(&server.url())
            .manager(|b| {
                let b = builder_for(b.proxy(proxy_url).reconnection(false), mode);
                match ca {
                    Some(pem) => b.ca_cert_pem(pem),
                    None => b,
                }
            })
            .connect(),
    )
    .await
}

/// `count` emits with ack, each answered by the server's echo.
async fn round_trips(client: &Client, count: u32) {
    for n in 0..count {
        let ack = within(client.emit_with_ack("echo", &n)).await.expect("ack");
        assert_eq!(ack.args(), [Value::from(n)]);
    }
}

/// Every connection the server accepted came from the proxy.
async fn assert_only_proxied_connections(server: &TestServer, proxy: &TestProxy) {
    let peers = server.peers().await;
    assert!(!peers.is_empty(), "the server accepted no connection");
    assert!(
        peers.iter().all(|peer| peer == PROXY_OUTGOING_ADDRESS),
        "a connection did not come through {}: {peers:?}\n{}",
        proxy.kind(),
        proxy.log()
    );
}

/// Connects through a fresh `kind` proxy, then checks traffic and the server's peers.
async fn carries_the_connection(kind: ProxyKind, tls: bool, mode: Mode) {
    let proxy = TestProxy::start(kind).await;
    let server = if tls {
        TestServer::start_tls(json!({})).await
    } else {
        TestServer::start().await
    };
    let client = connect_through(&server, &proxy.url(), mode).await;
    round_trips(&client, 20).await;
    assert_eq!(client.manager().transport(), Some(mode.final_transport()));
    assert_only_proxied_connections(&server, &proxy).await;
    client.close().await;
}

async fn tinyproxy_over_http(mode: Mode) {
    carries_the_connection(ProxyKind::Tinyproxy, false, mode).await;
}
per_transport!(tinyproxy_over_http, tinyproxy_over_http);

async fn tinyproxy_over_https(mode: Mode) {
    carries_the_connection(ProxyKind::Tinyproxy, true, mode).await;
}
per_transport!(tinyproxy_over_https, tinyproxy_over_https);

async fn squid_over_http(mode: Mode) {
    carries_the_connection(ProxyKind::Squid, false, mode).await;
}
per_transport!(squid_over_http, squid_over_http);

async fn squid_over_https(mode: Mode) {
    carries_the_connection(ProxyKind::Squid, true, mode).await;
}
per_transport!(squid_over_https, squid_over_https);

async fn socks5_with_remote_dns(mode: Mode) {
    carries_the_connection(ProxyKind::Microsocks, false, mode).await;
}
per_transport!(socks5_with_remote_dns, socks5_with_remote_dns);

/// `https://localhost`: the proxy resolves `localhost` (socks5h).
async fn socks5_with_remote_dns_over_https(mode: Mode) {
    carries_the_connection(ProxyKind::Microsocks, true, mode).await;
}
per_transport!(
    socks5_with_remote_dns_over_https,
    socks5_with_remote_dns_over_https
);

/// `socks5://`: the client resolves `localhost` and sends the proxy an address.
async fn socks5_with_local_dns(mode: Mode) {
    let proxy = TestProxy::start(ProxyKind::Microsocks).await;
    let server = TestServer::start_tls(json!({})).await;
    let client = connect_through(&server, &proxy.url_with_scheme("socks5"), mode).await;
    round_trips(&client, 5).await;
    assert_only_proxied_connections(&server, &proxy).await;
    client.close().await;
}
per_transport!(socks5_with_local_dns, socks5_with_local_dns);

/// Credentials in the proxy URL: Basic `Proxy-Authorization` (tinyproxy) on every plainly
/// proxied request and on `CONNECT`, SOCKS5 username/password (microsocks).
/// `password` is percent-encoded as `encoded` in the URL, and decoded before it is sent.
async fn carries_the_connection_with_credentials(
    kind: ProxyKind,
    password: &str,
    encoded: &str,
    tls: bool,
    mode: Mode,
) {
    let proxy = TestProxy::start_with_credentials(kind, "ferrio", password).await;
    let server = if tls {
        TestServer::start_tls(json!({})).await
    } else {
        TestServer::start().await
    };
    let url = proxy.url_with_credentials("ferrio", encoded);
    let client = connect_through(&server, &url, mode).await;
    round_trips(&client, 10).await;
    assert_only_proxied_connections(&server, &proxy).await;
    client.close().await;
}

async fn tinyproxy_with_credentials(mode: Mode) {
    // tinyproxy's configuration takes letters, digits and `-._` only.
    carries_the_connection_with_credentials(
        ProxyKind::Tinyproxy,
        "pa-ss.w_rd",
        "pa-ss.w_rd",
        false,
        mode,
    )
    .await;
}
per_transport!(tinyproxy_with_credentials, tinyproxy_with_credentials);

/// squid checks Basic credentials on every plainly proxied request and on `CONNECT`
/// (the polling tunnel to an https server is reqwest's, the WebSocket's ours).
async fn squid_with_credentials(mode: Mode) {
    carries_the_connection_with_credentials(
        ProxyKind::Squid,
        "s3:cr@t",
        "s3%3Acr%40t",
        false,
        mode,
    )
    .await;
}
per_transport!(squid_with_credentials, squid_with_credentials);

async fn squid_with_credentials_over_https(mode: Mode) {
    carries_the_connection_with_credentials(ProxyKind::Squid, "s3:cr@t", "s3%3Acr%40t", true, mode)
        .await;
}
per_transport!(
    squid_with_credentials_over_https,
    squid_with_credentials_over_https
);

async fn socks5_with_credentials(mode: Mode) {
    carries_the_connection_with_credentials(
        ProxyKind::Microsocks,
        "p@ss:word",
        "p%40ss%3Aword",
        false,
        mode,
    )
    .await;
}
per_transport!(socks5_with_credentials, socks5_with_credentials);

/// Wrong credentials end the connection attempt with a typed error, and nothing reaches
/// the server.
async fn refused_credentials_are_a_typed_error(kind: ProxyKind, tls: bool, mode: Mode) {
    let proxy = TestProxy::start_with_credentials(kind, "ferrio", "right").await;
    let server = if tls {
        TestServer::start_tls(json!({})).await
    } else {
        TestServer::start().await
    };
    let error = try_connect_through(
        &server,
        &proxy.url_with_credentials("ferrio", "wrong"),
        mode,
    )
    .await
    .expect_err("refused credentials");
    assert!(
        matches!(
            error,
            ConnectError::Transport(TransportError::Proxy(
                ProxyError::AuthenticationFailed { .. }
            ))
        ),
        "{kind} ({mode:?}): {error:?}"
    );
    assert_eq!(server.peers().await, Vec::<String>::new());
}

async fn tinyproxy_refuses_wrong_credentials(mode: Mode) {
    refused_credentials_are_a_typed_error(ProxyKind::Tinyproxy, false, mode).await;
}
per_transport_pair!(tinyproxy_refuses_wrong_credentials);

async fn squid_refuses_wrong_credentials(mode: Mode) {
    refused_credentials_are_a_typed_error(ProxyKind::Squid, false, mode).await;
}
per_transport_pair!(squid_refuses_wrong_credentials);

/// Polling to an https server goes through reqwest's `CONNECT` tunnel: its 407 is typed too.
async fn squid_refuses_wrong_credentials_over_https(mode: Mode) {
    refused_credentials_are_a_typed_error(ProxyKind::Squid, true, mode).await;
}
per_transport_pair!(squid_refuses_wrong_credentials_over_https);

async fn socks5_refuses_wrong_credentials(mode: Mode) {
    refused_credentials_are_a_typed_error(ProxyKind::Microsocks, false, mode).await;
}
per_transport_pair!(socks5_refuses_wrong_credentials);

/// A proxy that is not there: a typed error naming it, not a hang.
async fn an_unreachable_proxy_is_a_typed_error(mode: Mode) {
    let server = TestServer::start().await;
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address").port()
    };
    for scheme in ["http", "socks5h"] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let error = try_connect_through(&server, &url, mode)
            .await
            .expect_err("nothing listens");
        assert!(
            matches!(
                &error,
                ConnectError::Transport(TransportError::Proxy(ProxyError::Unreachable { proxy, .. }))
                    if proxy == &url
            ),
            "{url} ({mode:?}): {error:?}"
        );
    }
}
per_transport_pair!(an_unreachable_proxy_is_a_typed_error);

/// tinyproxy closes each plainly proxied connection after its response while the server's
/// `Connection: keep-alive` passes through: a client that reuses such a connection fails
/// now and then (one run in four before). Hundreds of polling requests in a row, each on
/// a fresh connection, all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_through_tinyproxy_survives_its_dropped_connections() {
    let proxy = TestProxy::start(ProxyKind::Tinyproxy).await;
    let server = TestServer::start().await;
    let client = connect_through(&server, &proxy.url(), Mode::Polling).await;
    round_trips(&client, 150).await;
    assert_only_proxied_connections(&server, &proxy).await;
    client.close().await;
}

/// A proxy that refuses to reach the server (squid answers CONNECT to a closed port with
/// an error status, microsocks with SOCKS5 reply 5): a typed refusal naming the target.
async fn a_proxy_that_cannot_reach_the_server_refuses_with_a_typed_error(kind: ProxyKind) {
    let proxy = TestProxy::start(kind).await;
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address").port()
    };
    let error = within(
        Client::builder(&format!("ws://127.0.0.1:{port}"))
            .manager(|b| {
                b.proxy(&proxy.url())
                    .transports(&[ferrio::TransportKind::WebSocket])
                    .reconnection(false)
            })
            .connect(),
    )
    .await
    .expect_err("nothing listens behind the proxy");
    assert!(
        matches!(
            &error,
            ConnectError::Transport(TransportError::Proxy(ProxyError::Refused { target, .. }))
                if target == &format!("127.0.0.1:{port}")
        ),
        "{kind}: {error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squid_refuses_to_reach_a_closed_port() {
    a_proxy_that_cannot_reach_the_server_refuses_with_a_typed_error(ProxyKind::Squid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_refuses_to_reach_a_closed_port() {
    a_proxy_that_cannot_reach_the_server_refuses_with_a_typed_error(ProxyKind::Microsocks).await;
}

/// A proxy that accepts the connection and never answers: the attempt ends within the
/// connect timeout with an error, it does not hang.
async fn a_silent_proxy_ends_in_an_error_not_a_hang(mode: Mode) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let server = TestServer::start().await;
    for scheme in ["http", "socks5h"] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let error = within(
            Client::builder(&server.url())
                .manager(|b| {
                    builder_for(b.proxy(&url), mode)
                        .reconnection(false)
                        .timeout(std::time::Duration::from_secs(1))
                })
                .connect(),
        )
        .await
        .expect_err("the proxy never answers");
        assert!(
            matches!(
                error,
                ConnectError::Timeout(_)
                    | ConnectError::Transport(TransportError::Proxy(
                        ProxyError::Unreachable { .. }
                    ))
            ),
            "{url} ({mode:?}): {error:?}"
        );
    }
    assert_eq!(server.peers().await, Vec::<String>::new());
    silent.abort();
}
per_transport_pair!(a_silent_proxy_ends_in_an_error_not_a_hang);
