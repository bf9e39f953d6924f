//! Transports: polling, WebSocket, the upgrade, fallbacks, TLS and cookies.

mod common;

use common::{builder, connect, next_event, wait_for_transport, Mode};
use ferrio::{Client, ConnectError, Manager, TransportError, TransportKind, Value};
use ferrio_integration_tests::TestServer;
use serde_json::json;

async fn server_sees_the_expected_transport(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    assert_eq!(client.manager().transport(), Some(mode.final_transport()));
    let clients = server.clients().await;
    assert_eq!(
        clients["namespaces"]["/"][0]["transport"],
        mode.final_transport().as_str(),
        "{clients}"
    );
    client.close().await;
}
per_transport!(
    server_sees_the_expected_transport,
    server_sees_the_expected_transport
);

#[tokio::test]
async fn upgrade_keeps_order_of_events_sent_across_it() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::Upgrade).build().expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    for n in 0..200 {
        socket.emit("countMe", &n).await.expect("emit");
    }
    wait_for_transport(&manager, TransportKind::WebSocket).await;
    let received = server.wait_for_events("/", "countMe", 200).await;
    let order: Vec<u64> = received
        .iter()
        .map(|e| e["args"][0].as_u64().expect("n"))
        .collect();
    assert_eq!(order, (0..200).collect::<Vec<u64>>());
    manager.close().await;
}

#[tokio::test]
async fn stays_on_polling_when_the_server_offers_no_upgrade() {
    let server = TestServer::start_with(json!({"transports": ["polling"]})).await;
    let client = Client::connect(&server.url()).await.expect("connect");
    let ack = client
        .emit_with_ack("echo", &"over polling")
        .await
        .expect("ack");
    assert_eq!(ack.args(), [Value::from("over polling")]);
    assert_eq!(client.manager().transport(), Some(TransportKind::Polling));
    client.close().await;
}

#[tokio::test]
async fn falls_back_to_polling_when_websocket_cannot_be_opened() {
    let server = TestServer::start_with(json!({"transports": ["polling"]})).await;
    let client = Client::builder(&server.url())
        .manager(|b| b.transports(&[TransportKind::WebSocket, TransportKind::Polling]))
        .connect()
        .await
        .expect("fell back to polling");
    assert_eq!(client.manager().transport(), Some(TransportKind::Polling));
    assert!(client.emit_with_ack("echo", &1).await.is_ok());
    client.close().await;
}

#[tokio::test]
async fn websocket_only_client_fails_with_the_servers_message_when_websocket_is_disabled() {
    let server = TestServer::start_with(json!({"transports": ["polling"]})).await;
    let error = Client::builder(&server.url())
        .manager(|b| {
            b.transports(&[TransportKind::WebSocket])
                .reconnection(false)
        })
        .connect()
        .await
        .expect_err("no websocket");
    assert!(
        matches!(&error, ConnectError::Transport(TransportError::Http { status: 400, message }) if message.contains("Transport unknown")),
        "{error:?}"
    );
}

#[tokio::test]
async fn default_client_reaches_a_websocket_only_server() {
    let server = TestServer::start_with(json!({"transports": ["websocket"]})).await;
    let client = Client::connect(&server.url()).await.expect("connect");
    assert_eq!(client.manager().transport(), Some(TransportKind::WebSocket));
    client.close().await;
}

#[tokio::test]
async fn connects_over_tls_with_an_extra_ca() {
    let server = TestServer::start_tls(json!({})).await;
    let ca = server.ca().expect("ca").ca_pem().to_owned();
    for mode in [Mode::Polling, Mode::WebSocket, Mode::Upgrade] {
        let manager = builder(&server, mode)
            .ca_cert_pem(ca.clone())
            .build()
            .expect("manager");
        let socket = manager.socket("/");
        socket.connect().await.expect("tls connect");
        wait_for_transport(&manager, mode.final_transport()).await;
        let ack = socket.emit_with_ack("echo", &"secure").await.expect("ack");
        assert_eq!(ack.args(), [Value::from("secure")], "{mode:?}");
        manager.close().await;
    }
}

#[tokio::test]
async fn tls_without_the_ca_fails_with_a_tls_error() {
    let server = TestServer::start_tls(json!({})).await;
    let error = Client::builder(&server.url())
        .manager(|b| b.reconnection(false))
        .connect()
        .await
        .expect_err("untrusted certificate");
    assert!(
        matches!(&error, ConnectError::Transport(TransportError::Tls(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn cookie_jar_sends_the_servers_cookie_on_polling_and_the_upgrade() {
    let server = TestServer::start_with(json!({"cookie": "route=node-a; Path=/"})).await;
    let client = connect(&server, Mode::Upgrade).await;
    client.emit_with_ack("echo", &1).await.expect("ack");
    let cookies = server.cookies().await;
    let later: Vec<_> = cookies
        .iter()
        .filter(|request| request["initial"] == false)
        .collect();
    assert!(!later.is_empty(), "{cookies:?}");
    assert!(
        later.iter().all(|request| request["carried"] == true),
        "{cookies:?}"
    );
    assert!(
        later
            .iter()
            .any(|request| request["transport"] == "websocket"),
        "the upgrade request was recorded: {cookies:?}"
    );
    client.close().await;
}

#[tokio::test]
async fn query_and_extra_headers_reach_the_server() {
    let server = TestServer::start().await;
    let manager = Manager::builder(&format!("{}?from=url", server.url()))
        .query("token", "abc")
        .extra_header(" X-Client ", " ferrio ")
        .transports(&[TransportKind::WebSocket])
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    let ack = socket
        .emit_with_ack("getHandshake", &())
        .await
        .expect("handshake");
    let handshake = &ack.args()[0];
    let query = handshake.get("query").expect("query");
    assert_eq!(query.get("from"), Some(&Value::from("url")));
    assert_eq!(query.get("token"), Some(&Value::from("abc")));
    assert_eq!(
        handshake.get("headers").and_then(|h| h.get("x-client")),
        Some(&Value::from("ferrio"))
    );
    manager.close().await;
}

#[tokio::test]
async fn heartbeats_keep_a_polling_session_alive() {
    let server = TestServer::start_with(json!({"pingInterval": 100, "pingTimeout": 2000})).await;
    let client = connect(&server, Mode::Polling).await;
    let mut events = client.events();
    let sid = client.id();
    // Let ten ping intervals pass: only time can prove the heartbeat.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    client.emit("hi", &()).await.expect("emit");
    next_event(&mut events, "hi").await;
    assert_eq!(client.id(), sid);
    assert!(client.connected());
    client.close().await;
}
