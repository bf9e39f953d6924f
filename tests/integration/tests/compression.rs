//! Compression from the reference server, measured on the wire through a proxy that counts
//! the bytes it forwards: gzip/deflate polling responses, and permessage-deflate on the
//! WebSocket (the server's `perMessageDeflate`, off by default in socket.io 4) both ways.
//! A compressed WebSocket message inflating past the client's limit ends the connection
//! with `message too large`, then the client reconnects. The memory bound under a
//! compression bomb is checked by the hostile fixture (`tests/hostile`, cases
//! `compression-bomb` and `compression-bomb-websocket`).

mod common;

use std::time::Duration;

use common::{next_connect, next_event, next_lifecycle};
use ferrio::{DisconnectReason, Manager, SocketEvent, TransportKind, Value};
use ferrio_integration_tests::{FaultProxy, TestServer};
use serde_json::json;

/// A chat history: 400 messages in the shape a chat app sends (about 36 KB of JSON).
fn chat_history() -> serde_json::Value {
    chat_history_of(400)
}

/// A chat history of `count` messages (about 90 bytes of JSON each).
fn chat_history_of(count: usize) -> serde_json::Value {
    let messages: Vec<_> = (0..count)
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
    let received: serde_json::Value = serde_json::to_value(&event.args()[0]).expect("a JSON value");
    assert_eq!(received, history, "the history arrives intact");
    assert!(matches!(event.args()[0], Value::Array(_)));
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

/// What crossed the wire in [`chat_history_both_ways_over_websocket`].
struct WsRun {
    /// Bytes the server sent, all frames of the connection.
    downstream: u64,
    /// Bytes the client sent after its upgrade request.
    upstream: u64,
    /// The history's JSON size.
    size: usize,
    /// The client's `Sec-WebSocket-Extensions` as the server saw it, if any.
    offered: Option<String>,
}

/// Sends `history` over a WebSocket-only connection through a counting proxy, from the
/// server to the client and back, `rounds` times each way; checks that every copy arrives
/// intact and returns what crossed the wire.
async fn history_both_ways_over_websocket(
    per_message_deflate: serde_json::Value,
    compression: bool,
    rounds: usize,
    history: serde_json::Value,
) -> WsRun {
    let server = TestServer::start_with(json!({
        "transports": ["websocket"],
        "perMessageDeflate": per_message_deflate,
    }))
    .await;
    let proxy = FaultProxy::start(server.port()).await;
    let manager = Manager::builder(&proxy.url())
        .transports(&[TransportKind::WebSocket])
        .compression(compression)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    for round in 0..rounds {
        server.emit("/", "history", json!([history])).await;
        let event = next_event(&mut events, "history").await;
        let received: serde_json::Value =
            serde_json::to_value(&event.args()[0]).expect("a JSON value");
        assert_eq!(
            received, history,
            "round {round}: the history reaches the client"
        );
        socket
            .emit("history", &(history.clone(),))
            .await
            .expect("emit");
        let echoed = server.wait_for_events("/", "history", round + 1).await;
        assert_eq!(
            echoed[round]["args"][0], history,
            "round {round}: the history reaches the server"
        );
    }
    let handshakes = server.handshakes().await;
    let offered = handshakes[0]["headers"]["sec-websocket-extensions"]
        .as_str()
        .map(str::to_owned);
    manager.close().await;
    WsRun {
        downstream: proxy.downstream_bytes(),
        upstream: proxy.upstream_bytes(),
        size: history.to_string().len(),
        offered,
    }
}

/// [`history_both_ways_over_websocket`] with the 36 KB chat history.
async fn chat_history_both_ways_over_websocket(
    per_message_deflate: serde_json::Value,
    compression: bool,
    rounds: usize,
) -> WsRun {
    history_both_ways_over_websocket(per_message_deflate, compression, rounds, chat_history()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_are_compressed_both_ways_when_the_server_accepts_deflate() {
    let run = chat_history_both_ways_over_websocket(json!(true), true, 1).await;
    assert_eq!(
        run.offered.as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    assert!(
        run.downstream * 4 < run.size as u64,
        "{} bytes from the server for a {}-byte payload: not compressed",
        run.downstream,
        run.size
    );
    assert!(
        run.upstream * 4 < run.size as u64,
        "{} bytes from the client for a {}-byte payload: not compressed",
        run.upstream,
        run.size
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_compression_keeps_no_context_between_messages_when_the_server_says_so() {
    let run = chat_history_both_ways_over_websocket(
        json!({"serverNoContextTakeover": true, "clientNoContextTakeover": true}),
        true,
        3,
    )
    .await;
    assert!(
        run.downstream * 4 < 3 * run.size as u64 && run.upstream * 4 < 3 * run.size as u64,
        "{} bytes down, {} up for three {}-byte payloads each way: not compressed",
        run.downstream,
        run.upstream,
        run.size
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_compression_takes_the_previous_messages_as_context_by_default() {
    // A history within deflate's 32 KiB window: with the context kept, each copy after the
    // first compresses to a few bytes; without it, each costs as much as the first.
    let history = chat_history_of(80);
    let kept = history_both_ways_over_websocket(json!(true), true, 3, history.clone()).await;
    let no_context = json!({"serverNoContextTakeover": true, "clientNoContextTakeover": true});
    let fresh = history_both_ways_over_websocket(no_context, true, 3, history).await;
    assert!(
        kept.downstream < fresh.downstream && kept.upstream < fresh.upstream,
        "with the context kept {}/{} bytes down/up, without {}/{}",
        kept.downstream,
        kept.upstream,
        fresh.downstream,
        fresh.upstream
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_bounding_the_clients_window_gets_uncompressed_messages_intact() {
    // The client compresses with a 32 KiB window only; under a smaller bound it sends
    // plain frames (always allowed) while the server still compresses.
    let run =
        chat_history_both_ways_over_websocket(json!({"clientMaxWindowBits": 10}), true, 1).await;
    assert!(
        run.downstream * 4 < run.size as u64,
        "{} bytes down",
        run.downstream
    );
    assert!(run.upstream > run.size as u64, "{} bytes up", run.upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_compression_off_offers_no_extension() {
    let run = chat_history_both_ways_over_websocket(json!(true), false, 1).await;
    assert_eq!(
        run.offered, None,
        "the upgrade request offered an extension"
    );
    assert!(
        run.downstream > run.size as u64,
        "{} bytes down",
        run.downstream
    );
    assert!(run.upstream > run.size as u64, "{} bytes up", run.upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_deflate_gets_plain_websocket_frames() {
    let run = chat_history_both_ways_over_websocket(json!(false), true, 1).await;
    assert!(run.offered.is_some(), "the client offers the extension");
    assert!(
        run.downstream > run.size as u64,
        "{} bytes down",
        run.downstream
    );
    assert!(run.upstream > run.size as u64, "{} bytes up", run.upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_message_inflating_past_the_limit_ends_with_message_too_large() {
    const LIMIT: usize = 64 * 1024;
    let server = TestServer::start_with(json!({
        "transports": ["websocket"],
        "perMessageDeflate": true,
    }))
    .await;
    let proxy = FaultProxy::start(server.port()).await;
    let manager = Manager::builder(&proxy.url())
        .transports(&[TransportKind::WebSocket])
        .reconnection_delay(Duration::from_millis(50))
        .options(|o| o.max_incoming_bytes = LIMIT)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    next_connect(&mut events).await;
    let before = proxy.downstream_bytes();
    // 4 MiB of one letter: ws compresses it to a few KiB, 64 times the client's limit.
    let bomb = format!("2[\"bomb\",\"{}\"]", "a".repeat(4 << 20));
    server
        .control("raw", json!({"nsp": "/", "data": bomb}))
        .await;
    match next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => assert_eq!(reason, DisconnectReason::MessageTooLarge),
        other => panic!("expected a disconnect, got {other:?}"),
    }
    let on_the_wire = proxy.downstream_bytes() - before;
    assert!(
        on_the_wire < LIMIT as u64,
        "{on_the_wire} bytes on the wire: the message was not a small compressed one"
    );
    next_connect(&mut events).await;
    socket
        .emit_with_ack("echo", &1)
        .await
        .expect("the reconnected socket answers");
    manager.close().await;
}
