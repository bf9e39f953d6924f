//! Compressed polling responses (gzip/deflate) from the reference server, measured on the
//! wire through a proxy that counts the bytes it forwards to the client. The compression
//! bomb (a small gzip body inflating past the client's limit) is a hostile-fixture case:
//! `tests/hostile`, `compression-bomb`.

mod common;

use common::next_event;
use ferrio::{Manager, TransportKind, Value};
use ferrio_integration_tests::{FaultProxy, TestServer};
use serde_json::json;

/// A chat history: 400 messages in the shape a chat app sends (about 36 KB of JSON).
fn chat_history() -> serde_json::Value {
    let messages: Vec<_> = (0..400)
        .map(|n| {
            let user = ["alice", "bob", "carol"][n % 3];
            json!({
                "id": n,
                "room": "general",
                "user": user,
                "text": "hello everyone, is the build green again?",
                "sentAt": 1_765_000_000_000u64 + n as u64 * 1000,
            })
        })
        .collect();
    json!(messages)
}

/// Receives the chat history over polling through a counting proxy, with `compression`
/// on or off; returns the bytes the server sent on the wire and the payload's size.
async fn bytes_on_the_wire_for_chat_history(compression: bool) -> (u64, usize) {
    let server = TestServer::start_with(json!({"transports": ["polling"]})).await;
    let proxy = FaultProxy::start(server.port()).await;
    let manager = Manager::builder(&proxy.url())
        .transports(&[TransportKind::Polling])
        .compression(compression)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    let history = chat_history();
    let size = history.to_string().len();
    server.emit("/", "history", json!([history])).await;
    let event = next_event(&mut events, "history").await;
    let received: serde_json::Value = serde_json::to_value(&event.args[0]).expect("a JSON value");
    assert_eq!(received, history, "the history arrives intact");
    assert!(matches!(event.args[0], Value::Array(_)));
    manager.close().await;
    (proxy.downstream_bytes(), size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_responses_arrive_compressed_and_intact_by_default() {
    let (bytes, size) = bytes_on_the_wire_for_chat_history(true).await;
    assert!(
        bytes * 4 < size as u64,
        "{bytes} bytes on the wire for a {size}-byte payload: not compressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_responses_arrive_uncompressed_when_compression_is_off() {
    let (bytes, size) = bytes_on_the_wire_for_chat_history(false).await;
    assert!(
        bytes > size as u64,
        "{bytes} bytes on the wire for a {size}-byte payload: compressed although off"
    );
}
