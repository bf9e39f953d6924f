//! A connection that ends on bad input keeps its cause: a message over the limit, a
//! WebSocket protocol violation and text that is not UTF-8 each have their own reason (the
//! JavaScript client would report `transport error` or `transport close`), and reconnection
//! follows as after any lost connection.

mod common;

use std::time::Duration;

use common::{next_connect, next_lifecycle, Mode};
use ferrio::{Client, DisconnectReason, SocketEvent};
use ferrio_integration_tests::TestServer;
use serde_json::json;

/// The client's `max_incoming_bytes` in these tests.
const LIMIT: usize = 4096;

/// A client of `server` in `mode` with a small inbound limit, reconnecting quickly.
async fn client(server: &TestServer, mode: Mode) -> Client {
    let client = Client::builder(&server.url())
        .manager(|b| {
            common::builder_for(b, mode)
                .reconnection_delay(Duration::from_millis(50))
                .options(|o| o.max_incoming_bytes = LIMIT)
        })
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    client
}

/// Runs `action`, then expects a disconnect with `expected` and a reconnection.
async fn ends_with(client: &Client, expected: DisconnectReason, action: impl std::future::Future) {
    let mut events = client.events();
    action.await;
    match next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => assert_eq!(reason, expected),
        other => panic!("expected a disconnect, got {other:?}"),
    }
    next_connect(&mut events).await;
}

async fn a_message_over_the_limit_ends_the_connection_with_message_too_large(mode: Mode) {
    let server = TestServer::start().await;
    let client = client(&server, mode).await;
    let big = format!("2[\"big\",\"{}\"]", "x".repeat(2 * LIMIT));
    ends_with(&client, DisconnectReason::MessageTooLarge, async {
        server
            .control("raw", json!({"nsp": "/", "data": big}))
            .await;
    })
    .await;
    assert!(client.emit_with_ack("echo", &1).await.is_ok());
    client.close().await;
}
per_transport!(
    a_message_over_the_limit_ends_the_connection_with_message_too_large,
    a_message_over_the_limit_ends_the_connection_with_message_too_large
);

/// Writes `bytes` onto the WebSocket's TCP connection, past its framing.
async fn raw_frame(server: &TestServer, bytes: &str) {
    let answer = server
        .control("rawFrame", json!({"nsp": "/", "bytes": bytes}))
        .await;
    assert_eq!(answer["sent"], 1, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_websocket_frame_ends_the_connection_with_protocol_violation() {
    let server = TestServer::start().await;
    let client = client(&server, Mode::WebSocket).await;
    // A text frame with the three reserved bits set: no extension was negotiated.
    ends_with(
        &client,
        DisconnectReason::ProtocolViolation,
        raw_frame(&server, "8QA="),
    )
    .await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_frame_that_is_not_utf8_ends_the_connection_with_invalid_utf8() {
    let server = TestServer::start().await;
    let client = client(&server, Mode::WebSocket).await;
    // A text frame of two bytes, 0xff 0xfe: never UTF-8.
    ends_with(
        &client,
        DisconnectReason::InvalidUtf8,
        raw_frame(&server, "gQL//g=="),
    )
    .await;
    client.close().await;
}
