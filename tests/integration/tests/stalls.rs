//! Bounded waits against a server that stops reading: the reference server frozen with
//! SIGSTOP keeps its sockets open but takes no more bytes, so the client's writes block once
//! the kernel's buffers are full. The connection must end with a typed reason, emits must
//! not wait forever, and closing must end whatever the server does.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{next_lifecycle, within, Mode};
use ferrio::{Client, DisconnectReason, Socket, SocketEvent};
use ferrio_integration_tests::TestServer;
use serde_json::json;

/// Emits of one KiB each: 20 MiB in all, more than the kernel's socket buffers on both
/// sides of a loopback connection (4 MiB + 6 MiB on Linux by default) and than the
/// polling POST queue, so the writes block on a server that does not read.
const FLOOD: usize = 20_000;

/// Emits `FLOOD` one-KiB events, each waiting for room in the queue, whatever they give;
/// `admitted` counts those that were taken.
fn flood(socket: Socket, admitted: Arc<AtomicUsize>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let payload = "k".repeat(1024);
        for _ in 0..FLOOD {
            if socket.emit("flood", &payload).await.is_ok() {
                admitted.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

async fn a_server_that_stops_reading_ends_the_connection_with_write_stalled(mode: Mode) {
    // The next ping is 30 s away, so the heartbeat cannot end the connection first: what
    // ends it is the write making no progress for pingTimeout (500 ms).
    let server = TestServer::start_with(json!({"pingInterval": 30000, "pingTimeout": 500})).await;
    let client = Client::builder(&server.url())
        .manager(|b| common::builder_for(b, mode).reconnection(false))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    let mut events = client.events();
    server.freeze();
    let flooding = flood(client.socket().clone(), Arc::default());
    let reason = match next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => reason,
        other => panic!("expected a disconnect, got {other:?}"),
    };
    assert_eq!(reason, DisconnectReason::WriteStalled);
    // Emits no longer wait on the stalled connection: the flood ends (the rest is buffered
    // offline or refused as the offline buffer fills).
    within(flooding).await.expect("the flood task");
    within(client.close()).await;
    server.thaw();
}
per_transport!(
    a_server_that_stops_reading_ends_the_connection_with_write_stalled,
    a_server_that_stops_reading_ends_the_connection_with_write_stalled
);

/// A client connected over `mode` to a server whose heartbeat bounds are a minute, so that
/// nothing but the test's own steps can end the connection in time.
async fn connected_with_minute_bounds(mode: Mode) -> (TestServer, Client) {
    let server = TestServer::start_with(json!({"pingInterval": 60000, "pingTimeout": 60000})).await;
    let client = Client::builder(&server.url())
        .manager(|b| common::builder_for(b, mode))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    (server, client)
}

async fn close_ends_while_the_server_takes_nothing(mode: Mode) {
    // Heartbeat and write bounds of a minute: only the close's own bound can end it in time.
    let (server, client) = connected_with_minute_bounds(mode).await;
    server.freeze();
    let admitted = Arc::new(AtomicUsize::new(0));
    let flooding = flood(client.socket().clone(), admitted.clone());
    // Some of the flood is on its way (the rest keeps coming while the client closes).
    within(async {
        while admitted.load(Ordering::Relaxed) < 1000 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    within(client.close()).await;
    assert!(!client.connected());
    // Once closed, the rest of the flood fails at once.
    within(flooding).await.expect("the flood task");
    server.thaw();
}
per_transport!(
    close_ends_while_the_server_takes_nothing,
    close_ends_while_the_server_takes_nothing
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_under_a_flood_ends_the_connection_and_reconnection_follows() {
    // pingInterval + pingTimeout = 2 s, as in the report of the blocked write: the heartbeat
    // or the write bound ends the connection, whichever comes first, and the client
    // reconnects once the server is back.
    let server = TestServer::start_with(json!({"pingInterval": 1000, "pingTimeout": 1000})).await;
    let client = Client::builder(&server.url())
        .manager(|b| {
            common::builder_for(b, Mode::WebSocket).reconnection_delay(Duration::from_millis(100))
        })
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), Mode::WebSocket.final_transport()).await;
    let mut events = client.events();
    server.freeze();
    let flooding = flood(client.socket().clone(), Arc::default());
    match next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => assert!(
            matches!(
                reason,
                DisconnectReason::WriteStalled | DisconnectReason::PingTimeout
            ),
            "{reason:?}"
        ),
        other => panic!("expected a disconnect, got {other:?}"),
    }
    server.thaw();
    // Reconnected once the server is back (an attempt made while it was frozen may fail).
    loop {
        match next_lifecycle(&mut events).await {
            SocketEvent::Connect { .. } => break,
            SocketEvent::ConnectError(_) => continue,
            other => panic!("expected a reconnection, got {other:?}"),
        }
    }
    within(flooding).await.expect("the flood task");
    within(client.close()).await;
}

/// Emits numbered one-KiB events until one fails: `admitted` is how many the API took (all
/// of `0..admitted`, in order); `blocked` is notified once the outgoing queue stayed full
/// for 200 ms, the connection task having stopped taking emits (its write waits for room).
fn numbered_flood(
    socket: Socket,
    admitted: Arc<AtomicUsize>,
    blocked: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let payload = "k".repeat(1024);
        for n in 0..FLOOD {
            let args = (n, &payload);
            let sent = match socket.try_emit("flood", &args) {
                Err(ferrio::EmitError::QueueFull) => {
                    let waiting = socket.emit("flood", &args);
                    match tokio::time::timeout(Duration::from_millis(200), waiting).await {
                        Ok(sent) => sent,
                        Err(_) => {
                            blocked.notify_one();
                            socket.emit("flood", &args).await
                        }
                    }
                }
                other => other,
            };
            if sent.is_err() {
                return;
            }
            admitted.store(n + 1, Ordering::SeqCst);
        }
    })
}

async fn a_close_during_a_blocked_write_loses_no_emit_the_api_took(mode: Mode) {
    // Heartbeat and write bounds of a minute: the write waits for room until the close.
    let (server, client) = connected_with_minute_bounds(mode).await;
    server.control("stall", json!({"nsp": "/"})).await;
    let admitted = Arc::new(AtomicUsize::new(0));
    let blocked = Arc::new(tokio::sync::Notify::new());
    let flooding = numbered_flood(client.socket().clone(), admitted.clone(), blocked.clone());
    within(blocked.notified()).await;
    // The close comes while the connection task waits for room; the server reads again
    // while the close writes what was taken.
    let started = std::time::Instant::now();
    let closing = tokio::spawn({
        let client = client.clone();
        async move { client.close().await }
    });
    server.control("thaw", json!({})).await;
    within(closing).await.expect("the close task");
    let bounded = started.elapsed() >= Duration::from_secs(2);
    within(flooding).await.expect("the flood task");
    let admitted = admitted.load(Ordering::SeqCst);
    server
        .control(
            "waitForSockets",
            json!({"nsp": "/", "count": 0, "timeoutMs": 20000}),
        )
        .await;
    let received = server.control("received", json!({"nsp": "/"})).await;
    let numbers: Vec<usize> = received["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["event"] == "flood")
        .map(|event| event["args"][0].as_u64().expect("a number") as usize)
        .collect();
    // In order, none lost on the way, none twice: 0, 1, 2, ...
    let first_wrong = numbers.iter().enumerate().find(|(i, n)| *i != **n);
    assert_eq!(
        first_wrong,
        None,
        "{} received of {admitted}",
        numbers.len()
    );
    // All of them, unless the close's own bound expired first (a very slow machine).
    if !bounded {
        assert_eq!(numbers.len(), admitted);
    }
}
per_transport!(
    a_close_during_a_blocked_write_loses_no_emit_the_api_took,
    a_close_during_a_blocked_write_loses_no_emit_the_api_took
);
