//! Typed errors for bad emits.

mod common;

use bytes::Bytes;
use common::{connect, Mode};
use ferrio::{EmitError, Value, RESERVED_EVENTS};
use ferrio_integration_tests::TestServer;
use serde_json::json;

#[tokio::test]
async fn emitting_a_reserved_event_name_is_refused() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    for name in RESERVED_EVENTS {
        let result = client.emit(name, &()).await;
        assert!(
            matches!(&result, Err(EmitError::ReservedEvent(n)) if n == name),
            "{result:?}"
        );
    }
    client.close().await;
}

async fn packet_larger_than_max_payload_is_refused(mode: Mode) {
    let server = TestServer::start_with(json!({"maxHttpBufferSize": 1000})).await;
    let client = connect(&server, mode).await;
    let result = client.emit("echo", &"x".repeat(2000)).await;
    assert!(
        matches!(result, Err(EmitError::PayloadTooLarge { max: 1000, .. })),
        "{result:?}"
    );
    let result = client.emit("echo", &Bytes::from(vec![0u8; 2000])).await;
    assert!(
        matches!(
            result,
            Err(EmitError::PayloadTooLarge {
                size: 2000,
                max: 1000
            })
        ),
        "{result:?}"
    );
    // The connection is unharmed and small emits still go through, batched within the limit.
    for n in 0..20 {
        client
            .emit("countMe", &"y".repeat(100 + n))
            .await
            .expect("small emit");
    }
    server.wait_for_events("/", "countMe", 20).await;
    assert!(client.connected());
    client.close().await;
}
per_transport!(
    packet_larger_than_max_payload_is_refused,
    packet_larger_than_max_payload_is_refused
);

#[tokio::test]
async fn more_attachments_than_the_server_accepts_are_refused() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let eleven: Vec<Value> = (0..11u8)
        .map(|n| Value::Binary(Bytes::from(vec![n])))
        .collect();
    let result = client.emit_values("echo", eleven).await;
    assert!(
        matches!(
            result,
            Err(EmitError::TooManyAttachments { count: 11, max: 10 })
        ),
        "{result:?}"
    );
    let ten: Vec<Value> = (0..10u8)
        .map(|n| Value::Binary(Bytes::from(vec![n])))
        .collect();
    let ack = client
        .emit_values_with_ack("echo", ten.clone(), common::WAIT)
        .await
        .expect("ten are fine");
    assert_eq!(ack.args(), ten);
    client.close().await;
}
