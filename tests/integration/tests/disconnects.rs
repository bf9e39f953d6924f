//! Disconnect reasons, as the JavaScript client reports them.

mod common;

use std::time::Duration;

use common::{builder, connect, next_connect, next_lifecycle, within, Mode};
use ferrio::{AckError, Client, DisconnectReason, SocketEvent, SocketState, TransportKind};
use ferrio_integration_tests::TestServer;
use serde_json::json;

async fn disconnect_reason_after(
    client: &Client,
    action: impl std::future::Future<Output = ()>,
) -> DisconnectReason {
    let mut events = client.events();
    action.await;
    match next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => reason,
        other => panic!("expected a disconnect, got {other:?}"),
    }
}

async fn server_disconnect_gives_io_server_disconnect_and_no_reconnection(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let reason = disconnect_reason_after(&client, async {
        client.emit("disconnectMe", &()).await.expect("emit");
    })
    .await;
    assert_eq!(reason, DisconnectReason::IoServerDisconnect);
    assert_eq!(
        client.state(),
        SocketState::Disconnected(DisconnectReason::IoServerDisconnect)
    );
    client.close().await;
}
per_transport!(
    server_disconnect_gives_io_server_disconnect_and_no_reconnection,
    server_disconnect_gives_io_server_disconnect_and_no_reconnection
);

async fn engine_close_by_the_server_gives_transport_close(mode: Mode) {
    let server = TestServer::start().await;
    let client = Client::builder(&server.url())
        .manager(|b| common::builder_for(b, mode).reconnection(false))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    let reason = disconnect_reason_after(&client, async {
        client.emit("closeTransport", &()).await.expect("emit");
    })
    .await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    client.close().await;
}
per_transport!(
    engine_close_by_the_server_gives_transport_close,
    engine_close_by_the_server_gives_transport_close
);

#[tokio::test]
async fn client_disconnect_gives_io_client_disconnect() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let reason = disconnect_reason_after(&client, client.disconnect()).await;
    assert_eq!(reason, DisconnectReason::IoClientDisconnect);
    assert!(!client.connected());
    // The client's own event comes as its DISCONNECT packet is queued: the server has it
    // once the namespace is empty.
    server.wait_for_sockets("/", 0).await;
    let disconnects = server.stats().await;
    assert!(
        disconnects
            .to_string()
            .contains("client namespace disconnect"),
        "{disconnects}"
    );
    client.close().await;
}

async fn a_namespace_disconnect_is_applied_when_it_returns(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let socket = client.socket();
    socket.disconnect().await;
    assert!(!socket.connected());
    assert_eq!(
        socket.state(),
        SocketState::Disconnected(DisconnectReason::IoClientDisconnect)
    );
    client.close().await;
}
per_transport!(
    a_namespace_disconnect_is_applied_when_it_returns,
    a_namespace_disconnect_is_applied_when_it_returns
);

async fn frozen_server_is_detected_by_ping_timeout(mode: Mode) {
    // A pingTimeout of a second: a busy machine must not end the connection (or the
    // upgrade) before the freeze.
    let server = TestServer::start_with(json!({"pingInterval": 200, "pingTimeout": 1000})).await;
    let client = Client::builder(&server.url())
        .manager(|b| common::builder_for(b, mode).reconnection(false))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    let started = tokio::time::Instant::now();
    let reason = disconnect_reason_after(&client, async { server.freeze() }).await;
    server.thaw();
    assert_eq!(reason, DisconnectReason::PingTimeout);
    // Detected within pingInterval + pingTimeout plus scheduling slack, not much later.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    client.close().await;
}
per_transport!(
    frozen_server_is_detected_by_ping_timeout,
    frozen_server_is_detected_by_ping_timeout
);

#[tokio::test]
async fn killed_server_gives_transport_error_over_polling() {
    let server = TestServer::start().await;
    let client = Client::builder(&server.url())
        .manager(|b| b.transports(&[TransportKind::Polling]).reconnection(false))
        .connect()
        .await
        .expect("connect");
    let reason = disconnect_reason_after(&client, server.kill()).await;
    assert_eq!(reason, DisconnectReason::TransportError);
    client.close().await;
}

#[tokio::test]
async fn pending_ack_fails_with_disconnected_when_the_connection_drops() {
    let server = TestServer::start().await;
    let client = Client::builder(&server.url())
        .manager(|b| {
            b.transports(&[TransportKind::WebSocket])
                .reconnection(false)
        })
        .connect()
        .await
        .expect("connect");
    let pending = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .emit_with_ack_timeout("countMe", &1, common::WAIT)
                .await
        })
    };
    server.wait_for_event("/", "countMe").await;
    server.close_transport().await;
    let result = within(pending).await.expect("task");
    assert!(matches!(result, Err(AckError::Disconnected)), "{result:?}");
    client.close().await;
}

#[tokio::test]
async fn closed_manager_fails_emits_and_connects_with_closed() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    manager.close().await;
    assert!(matches!(
        socket.emit("hi", &()).await,
        Err(ferrio::EmitError::Closed)
    ));
    assert!(matches!(
        socket.connect().await,
        Err(ferrio::ConnectError::Closed)
    ));
    assert_eq!(socket.state(), SocketState::Closed);
}

async fn garbage_from_the_server_gives_parse_error_then_reconnection(mode: Mode) {
    let server = TestServer::start().await;
    let client = Client::builder(&server.url())
        .manager(|b| common::builder_for(b, mode).reconnection_delay(Duration::from_millis(50)))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    let mut events = client.events();
    for garbage in ["9nope", "2{\"not\":\"an array\"}", "2[\"truncated\""] {
        server
            .control("raw", json!({"nsp": "/", "data": garbage}))
            .await;
        match next_lifecycle(&mut events).await {
            SocketEvent::Disconnect(reason) => {
                assert_eq!(reason, DisconnectReason::ParseError, "{garbage}")
            }
            other => panic!("expected a disconnect after {garbage}, got {other:?}"),
        }
        next_connect(&mut events).await;
    }
    assert!(client.emit_with_ack("echo", &1).await.is_ok());
    client.close().await;
}
per_transport!(
    garbage_from_the_server_gives_parse_error_then_reconnection,
    garbage_from_the_server_gives_parse_error_then_reconnection
);
