//! Memory bounds against the reference server: events before the CONNECT reply, packets
//! per polling payload, bytes in a socket's incoming queue. Each bound acts with a visible
//! signal (`Lagged`, or the connection ends with a typed cause).

mod common;

use std::time::Duration;

use common::{builder, next_event, within, Mode};
use ferrio::engineio::EngineDecodeError;
use ferrio::{ConnectError, Manager, SocketEvent, SocketOptions, TransportError};
use ferrio_integration_tests::TestServer;
use serde_json::json;

/// A socket of `/early`, whose middleware sends `events` events of `bytes` characters of
/// padding before the CONNECT reply.
fn early_socket(manager: &Manager, events: u64, bytes: u64) -> ferrio::Socket {
    let auth = ferrio::to_value(&json!({"events": events, "bytes": bytes})).expect("auth");
    manager.socket_with(
        "/early",
        SocketOptions {
            auth: Some(auth),
            ..Default::default()
        },
    )
}

/// Everything `stream` yields up to and including the connect: the numbers of the `early`
/// events, and the `Lagged` counts.
async fn until_connect(stream: &mut ferrio::EventStream) -> (Vec<u64>, Vec<u64>) {
    within(async {
        let (mut early, mut lagged) = (Vec::new(), Vec::new());
        loop {
            match stream.next().await.expect("stream open") {
                SocketEvent::Event(event) if event.name == "early" => {
                    early.push(event.args()[0].as_u64().expect("number"));
                }
                SocketEvent::Lagged(dropped) => lagged.push(dropped),
                SocketEvent::Connect { .. } => return (early, lagged),
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
}

async fn early_events_are_kept_up_to_the_count_bound(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode)
        .options(|options| options.max_preconnect_events = 4)
        .build()
        .expect("manager");
    let socket = early_socket(&manager, 10, 0);
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    let (early, lagged) = until_connect(&mut events).await;
    assert_eq!(early, [0, 1, 2, 3], "the first four, in order");
    assert_eq!(
        lagged,
        [6],
        "the six dropped are reported before the connect"
    );
    manager.close().await;
}
per_transport!(
    early_events_are_kept_up_to_the_count_bound,
    early_events_are_kept_up_to_the_count_bound
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_events_are_kept_up_to_the_byte_bound() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket)
        .options(|options| options.max_preconnect_bytes = 64 * 1024)
        .build()
        .expect("manager");
    // Each event is a little over 16 KiB on the wire: three fit in 64 KiB, not four.
    let socket = early_socket(&manager, 10, 16 * 1024);
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    let (early, lagged) = until_connect(&mut events).await;
    assert_eq!(early, [0, 1, 2]);
    assert_eq!(lagged, [7]);
    manager.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_payload_of_many_packets_is_delivered_whole_under_the_default_cap() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::Polling).build().expect("manager");
    let socket = early_socket(&manager, 500, 0);
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    let (early, lagged) = until_connect(&mut events).await;
    assert_eq!(early, (0..500).collect::<Vec<u64>>());
    assert!(lagged.is_empty(), "{lagged:?}");
    manager.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_payload_over_the_packet_cap_ends_the_connection_with_its_cause() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::Polling)
        .reconnection(false)
        .options(|options| options.max_payload_packets = 20)
        .build()
        .expect("manager");
    // Written in one go: the first may leave alone on a pending poll, the others (and the
    // CONNECT reply) wait for the next one, over 20 packets.
    let socket = early_socket(&manager, 50, 0);
    let error = within(socket.connect()).await.expect_err("refused payload");
    match error {
        ConnectError::Transport(TransportError::Decode(EngineDecodeError::TooManyPackets {
            count,
            max,
        })) => {
            assert!(count > 20, "{count}");
            assert_eq!(max, 20);
        }
        other => panic!("{other:?}"),
    }
    manager.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_stream_holds_one_event_over_the_byte_bound_and_the_rest_is_reported_lagged() {
    const BIG: usize = 64 * 1024;
    const SENT: u64 = 20;
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket)
        .options(|options| options.max_incoming_queue_bytes = BIG)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    assert!(matches!(
        within(events.next()).await,
        Some(SocketEvent::Connect { .. })
    ));
    // Events of the bound's size each: once one is queued, the queue is full until the
    // stream's owner takes it.
    let padding = "x".repeat(BIG);
    for n in 0..SENT {
        server
            .control("emit", json!({"event": "big", "args": [n, padding]}))
            .await;
    }
    // The ack comes after every event on the wire: once here, all of them were handled
    // (after up to a second of backpressure, the connection drops what does not fit).
    socket.emit_with_ack("echo", &()).await.expect("ack");
    let first = next_event(&mut events, "big").await;
    assert_eq!(first.args()[0].as_u64(), Some(0));
    // The queue is empty now: ask for small events until one comes through, after the
    // report of everything dropped (the big ones, and any small one that found the queue
    // still held by the first).
    let mut lagged = 0;
    'through: loop {
        socket.emit("hi", &()).await.expect("emit");
        loop {
            match tokio::time::timeout(Duration::from_secs(2), events.next()).await {
                Ok(Some(SocketEvent::Lagged(dropped))) => lagged += dropped,
                Ok(Some(SocketEvent::Event(event))) if event.name == "hi" => break 'through,
                Ok(other) => panic!("unexpected {other:?}"),
                // That `hi` was dropped: ask again.
                Err(_) => continue 'through,
            }
        }
    }
    assert!(lagged >= SENT - 1, "{lagged} reported dropped");
    manager.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_outgoing_listener_keeps_only_its_queue_capacity_and_streams_end_on_close() {
    const CAPACITY: usize = 4;
    const BURST: u64 = 100;
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket)
        .options(|options| options.incoming_capacity = CAPACITY)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    within(socket.connect()).await.expect("connect");
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    socket.on_any_outgoing(move |event| {
        let first = event.name == "first";
        let _ = seen_tx.send(event);
        if first {
            // Holds the dispatcher until the test releases it.
            let _ = release_rx.lock().expect("not poisoned").recv();
        }
    });
    within(socket.emit("first", &())).await.expect("emit");
    let first = within(seen_rx.recv()).await.expect("first seen");
    assert_eq!(first.name, "first");
    // The listener is blocked: the queue takes CAPACITY events, the rest are dropped
    // (still sent to the server).
    for n in 0..BURST {
        within(socket.emit("burst", &(n,))).await.expect("emit");
    }
    release_tx.send(()).expect("listener waiting");
    for n in 0..CAPACITY as u64 {
        let event = within(seen_rx.recv()).await.expect("burst seen");
        assert_eq!(event.name, "burst");
        assert_eq!(
            event.args(),
            [ferrio::Value::from(n)],
            "the oldest are kept"
        );
    }
    // The queue is empty again: the next emit is shown.
    within(socket.emit("last", &())).await.expect("emit");
    let last = within(seen_rx.recv()).await.expect("last seen");
    assert_eq!(last.name, "last");
    assert!(seen_rx.try_recv().is_err(), "nothing else was kept");
    manager.close().await;
    within(async { while events.next().await.is_some() {} }).await;
    assert!(
        within(socket.events().next()).await.is_none(),
        "a stream made after close ends at once"
    );
}
