//! Reconnection, offline buffering, retries and recovery under injected faults, against
//! the real server behind a fault-injecting proxy.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{builder_for, next_event, within, Mode};
use ferrio::{
    AckError, BufferPolicy, Client, EmitError, ManagerBuilder, ManagerEvent, ReconnectUpdate,
    SocketEvent, SocketOptions, SocketState, TransportKind, Value,
};
use ferrio_integration_tests::{FaultProxy, TestServer};
use serde_json::json;
use tokio::sync::broadcast;

/// Cuts every connection and refuses new ones until `refuse_all(false)`: the network is
/// down. (A cut alone can go unnoticed over polling: between two requests there is no
/// connection to lose.)
fn cut_off(proxy: &FaultProxy) {
    proxy.refuse_all(true);
    proxy.cut();
}

/// A manager builder for `url` in `mode` with quick reconnection.
fn quick(url: &str, mode: Mode) -> ManagerBuilder {
    builder_for(ferrio::Manager::builder(url), mode)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(300))
        .timeout(Duration::from_secs(5))
}

async fn quick_client(url: &str, mode: Mode) -> Client {
    let client = Client::builder(url)
        .manager(|_| quick(url, mode))
        .connect()
        .await
        .expect("connect");
    common::wait_for_transport(client.manager(), mode.final_transport()).await;
    client
}

/// Waits for the manager event matching `wanted`.
async fn wait_manager_event(
    events: &mut broadcast::Receiver<ManagerEvent>,
    wanted: impl Fn(&ManagerEvent) -> bool,
) -> ManagerEvent {
    within(async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("manager closed"),
            }
        }
    })
    .await
}

/// Waits until the socket's state satisfies `wanted`.
async fn wait_state(client: &Client, wanted: impl Fn(&SocketState) -> bool) {
    wait_state_of(client.socket(), wanted).await;
}

/// Waits until `socket`'s state satisfies `wanted`.
async fn wait_state_of(socket: &ferrio::Socket, wanted: impl Fn(&SocketState) -> bool) {
    let mut state = socket.watch_state();
    within(state.wait_for(|s| wanted(s)))
        .await
        .expect("socket alive");
}

async fn reconnects_after_the_server_restarts(mode: Mode) {
    let server = TestServer::start().await;
    let client = quick_client(&server.url(), mode).await;
    let mut manager_events = client.manager().events();
    let first_id = client.id();
    server.restart(Duration::from_millis(300)).await;
    wait_manager_event(&mut manager_events, |e| {
        matches!(e, ManagerEvent::Reconnect(_))
    })
    .await;
    wait_state(&client, SocketState::is_connected).await;
    assert_ne!(
        client.id(),
        first_id,
        "a restarted server gives a new session"
    );
    let ack = client
        .emit_with_ack("echo", &"back")
        .await
        .expect("ack after restart");
    assert_eq!(ack.args(), [Value::from("back")]);
    client.close().await;
}
per_transport_pair!(reconnects_after_the_server_restarts);

async fn reconnects_after_the_proxy_cuts_the_connection(mode: Mode) {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let client = quick_client(&proxy.url(), mode).await;
    let mut events = client.events();
    cut_off(&proxy);
    let reason = match common::next_lifecycle(&mut events).await {
        SocketEvent::Disconnect(reason) => reason,
        other => panic!("expected a disconnect, got {other:?}"),
    };
    assert!(reason.is_recoverable(), "{reason}");
    proxy.refuse_all(false);
    common::next_connect(&mut events).await;
    assert!(client.emit_with_ack("echo", &1).await.is_ok());
    client.close().await;
}
per_transport_pair!(reconnects_after_the_proxy_cuts_the_connection);

async fn emits_while_disconnected_are_buffered_and_sent_in_order(mode: Mode) {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let client = quick_client(&proxy.url(), mode).await;
    proxy.refuse_all(true);
    proxy.cut();
    wait_state(&client, |s| !s.is_connected()).await;
    for n in 0..20 {
        client.emit("countMe", &n).await.expect("buffered");
    }
    assert_eq!(client.buffered().emits, 20);
    proxy.refuse_all(false);
    let received = server.wait_for_events("/", "countMe", 20).await;
    let order: Vec<u64> = received
        .iter()
        .map(|e| e["args"][0].as_u64().expect("n"))
        .collect();
    assert_eq!(order, (0..20).collect::<Vec<u64>>());
    assert_eq!(client.buffered().emits, 0);
    client.close().await;
}
per_transport_pair!(emits_while_disconnected_are_buffered_and_sent_in_order);

/// 50 cuts in a row with connection state recovery: every event the server emits arrives
/// exactly once and in order; every emit made while disconnected arrives, in order.
async fn survives_fifty_cuts_with_recovery_losing_nothing(mode: Mode) {
    const TICKS: u64 = 400;
    let server =
        TestServer::start_with(json!({"connectionStateRecovery": true, "pingInterval": 1000}))
            .await;
    let proxy = FaultProxy::start(server.port()).await;
    let client = quick_client(&proxy.url(), mode).await;
    let mut events = client.events();
    let received = Arc::new(Mutex::new(Vec::new()));
    let collector = {
        let received = received.clone();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let SocketEvent::Event(event) = event {
                    if event.name == "tick" {
                        let n = event.args()[0].as_u64().expect("tick number");
                        received.lock().unwrap().push(n);
                        if n == TICKS - 1 {
                            return;
                        }
                    }
                }
            }
        })
    };
    let cuts = async {
        // Recovery needs an offset: the server gives one with each event.
        within(async {
            while received.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        let mut recovered = 0;
        let mut sent_while_down = 0u64;
        for _ in 0..50 {
            cut_off(&proxy);
            wait_state(&client, |s| !s.is_connected()).await;
            proxy.refuse_all(false);
            client
                .emit("countMe", &sent_while_down)
                .await
                .expect("buffered");
            sent_while_down += 1;
            wait_state(&client, SocketState::is_connected).await;
            // A packet is only safe once the server has it: the next cut could take it
            // on the wire (at most once, as the protocol promises).
            server
                .wait_for_events("/", "countMe", sent_while_down as usize)
                .await;
            recovered += u32::from(client.recovered());
        }
        (recovered, sent_while_down)
    };
    let ticks = server.control(
        "tick",
        json!({"event": "tick", "count": TICKS, "intervalMs": 10}),
    );
    let ((recovered, sent), _) = tokio::join!(cuts, ticks);
    within(collector).await.expect("collector");
    let ticks = received.lock().unwrap().clone();
    assert_eq!(
        ticks,
        (0..TICKS).collect::<Vec<u64>>(),
        "every tick exactly once, in order"
    );
    let emitted = server.wait_for_events("/", "countMe", sent as usize).await;
    let order: Vec<u64> = emitted
        .iter()
        .map(|e| e["args"][0].as_u64().expect("n"))
        .collect();
    assert_eq!(order, (0..sent).collect::<Vec<u64>>());
    eprintln!("{mode:?}: 50 cuts, {recovered} recovered, {TICKS} ticks received once each, {sent} buffered emits delivered");
    assert!(
        recovered > 0,
        "connection state recovery restored at least one session"
    );
    client.close().await;
}
per_transport_pair!(survives_fifty_cuts_with_recovery_losing_nothing);

/// With `retries`, every emit reaches the server at least once despite cuts; duplicates
/// are counted, not forbidden.
async fn retries_deliver_every_emit_at_least_once_across_cuts(mode: Mode) {
    const EMITS: u64 = 60;
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let manager = quick(&proxy.url(), mode)
        .ack_timeout(Duration::from_millis(500))
        .build()
        .expect("manager");
    let socket = manager.socket_with(
        "/",
        SocketOptions {
            retries: 10,
            ..Default::default()
        },
    );
    socket.connect().await.expect("connect");
    let emits = async {
        for n in 0..EMITS {
            socket.emit("echo", &n).await.expect("queued");
        }
        socket
            .emit_with_ack_timeout("echo", &"last", common::WAIT)
            .await
            .expect("last acked")
    };
    let cuts = async {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            proxy.cut();
        }
    };
    tokio::join!(emits, cuts);
    let received = server.received("/").await;
    let numbers: Vec<u64> = received
        .iter()
        .filter_map(|e| e["args"][0].as_u64())
        .collect();
    for n in 0..EMITS {
        assert!(numbers.contains(&n), "emit {n} never arrived");
    }
    let duplicates = numbers.len() as u64 - EMITS;
    eprintln!(
        "{mode:?}: {EMITS} emits with retries, {} received, {duplicates} duplicates",
        numbers.len()
    );
    manager.close().await;
}
per_transport_pair!(retries_deliver_every_emit_at_least_once_across_cuts);

async fn server_side_disconnect_is_not_retried_unless_asked(mode: Mode) {
    let server = TestServer::start().await;
    let client = quick_client(&server.url(), mode).await;
    let mut manager_events = client.manager().events();
    client.emit("disconnectMe", &()).await.expect("emit");
    wait_state(&client, |s| {
        *s == SocketState::Disconnected(ferrio::DisconnectReason::IoServerDisconnect)
    })
    .await;
    // Prove no attempt follows: a fresh connection of another namespace succeeds and the
    // manager never reported a reconnection attempt.
    let other = client.manager().socket("/custom");
    other.connect().await.expect("other namespace");
    assert!(!client.connected());
    while let Ok(event) = manager_events.try_recv() {
        assert!(
            !matches!(event, ManagerEvent::ReconnectAttempt(_)),
            "{event:?}"
        );
    }
    client.close().await;

    let asked = Client::builder(&server.url())
        .manager(|_| quick(&server.url(), mode).reconnect_on_server_disconnect(true))
        .connect()
        .await
        .expect("connect");
    let first = asked.id();
    asked.emit("disconnectMe", &()).await.expect("emit");
    wait_state(
        &asked,
        |s| matches!(s, SocketState::Connected { sid, .. } if Some(sid.to_string()) != first),
    )
    .await;
    asked.close().await;
}
per_transport_pair!(server_side_disconnect_is_not_retried_unless_asked);

async fn gives_up_after_the_configured_attempts(mode: Mode) {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let client = Client::builder(&proxy.url())
        .manager(|_| quick(&proxy.url(), mode).reconnection_attempts(3))
        .connect()
        .await
        .expect("connect");
    let mut manager_events = client.manager().events();
    proxy.refuse_all(true);
    proxy.cut();
    let mut attempts = Vec::new();
    loop {
        match wait_manager_event(&mut manager_events, |_| true).await {
            ManagerEvent::ReconnectAttempt(n) => attempts.push(n),
            ManagerEvent::ReconnectFailed => break,
            _ => {}
        }
    }
    assert_eq!(attempts, [1, 2, 3]);
    wait_state(&client, |s| *s == SocketState::Idle).await;
    client.close().await;
}
per_transport_pair!(gives_up_after_the_configured_attempts);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stays_on_polling_when_upgrades_are_refused() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    proxy.refuse_websocket(true);
    let client = Client::connect(&proxy.url()).await.expect("connect");
    let ack = client
        .emit_with_ack("echo", &"still polling")
        .await
        .expect("ack");
    assert_eq!(ack.args(), [Value::from("still polling")]);
    assert_eq!(client.manager().transport(), Some(TransportKind::Polling));
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_polling_when_websocket_is_blocked_from_the_start() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    proxy.refuse_websocket(true);
    let client = Client::builder(&proxy.url())
        .manager(|b| b.transports(&[TransportKind::WebSocket, TransportKind::Polling]))
        .connect()
        .await
        .expect("fell back");
    assert_eq!(client.manager().transport(), Some(TransportKind::Polling));
    assert!(client.emit_with_ack("echo", &1).await.is_ok());
    client.close().await;
}

async fn reconnect_hook_runs_before_every_attempt_and_the_server_sees_the_new_token(mode: Mode) {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let manager = quick(&proxy.url(), mode)
        .on_reconnect(move |attempt| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let auth = ferrio::to_value(&json!({ "token": format!("fresh-{attempt}") }))
                    .expect("auth");
                ReconnectUpdate {
                    auth: Some(auth),
                    ..Default::default()
                }
            }
        })
        .build()
        .expect("manager");
    let auth = ferrio::to_value(&json!({"token": "secret"})).expect("auth");
    let socket = manager.socket_with(
        "/auth",
        SocketOptions {
            auth: Some(auth),
            ..Default::default()
        },
    );
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    assert_eq!(
        next_event(&mut events, "welcome").await.args(),
        [Value::from("secret")]
    );
    server.set_token("fresh-1").await;
    cut_off(&proxy);
    wait_state_of(&socket, |s| !s.is_connected()).await;
    proxy.refuse_all(false);
    assert_eq!(
        next_event(&mut events, "welcome").await.args(),
        [Value::from("fresh-1")]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one attempt, one call");
    manager.close().await;
}
per_transport_pair!(reconnect_hook_runs_before_every_attempt_and_the_server_sees_the_new_token);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_joined_again_after_a_reconnection_that_was_not_recovered() {
    let server = TestServer::start().await;
    let client = quick_client(&server.url(), Mode::WebSocket).await;
    let mut events = client.events();
    client.join_room("lobby").await;
    server.wait_for_event("/", "join").await;
    server.restart(Duration::from_millis(100)).await;
    wait_state(&client, |s| !s.is_connected()).await;
    wait_state(&client, SocketState::is_connected).await;
    server.wait_for_events("/", "join", 2).await;
    server
        .emit_to_room("/", "lobby", "room-news", json!(["hello lobby"]))
        .await;
    assert_eq!(
        next_event(&mut events, "room-news").await.args(),
        [Value::from("hello lobby")]
    );
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_now_skips_the_remaining_backoff() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let client = Client::builder(&proxy.url())
        .manager(|b| {
            b.reconnection_delay(Duration::from_secs(600))
                .reconnection_delay_max(Duration::from_secs(600))
        })
        .connect()
        .await
        .expect("connect");
    let mut manager_events = client.manager().events();
    cut_off(&proxy);
    wait_manager_event(&mut manager_events, |e| matches!(e, ManagerEvent::Close(_))).await;
    proxy.refuse_all(false);
    client.manager().reconnect_now().await;
    wait_manager_event(&mut manager_events, |e| {
        matches!(e, ManagerEvent::Reconnect(1))
    })
    .await;
    wait_state(&client, SocketState::is_connected).await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_offline_buffer_rejects_or_drops_the_oldest_as_configured() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.port()).await;
    let reject = Client::builder(&proxy.url())
        .manager(|_| {
            quick(&proxy.url(), Mode::WebSocket).offline_buffer(3, 1 << 20, BufferPolicy::Reject)
        })
        .connect()
        .await
        .expect("connect");
    let drop_oldest = Client::builder(&proxy.url())
        .manager(|_| {
            quick(&proxy.url(), Mode::WebSocket).offline_buffer(
                3,
                1 << 20,
                BufferPolicy::DropOldest,
            )
        })
        .connect()
        .await
        .expect("connect");
    proxy.refuse_all(true);
    proxy.cut();
    wait_state(&reject, |s| !s.is_connected()).await;
    wait_state(&drop_oldest, |s| !s.is_connected()).await;
    for n in 0..3 {
        reject.emit("countMe", &n).await.expect("fits");
    }
    assert!(matches!(
        reject.emit("countMe", &3).await,
        Err(EmitError::BufferFull)
    ));
    let oldest = {
        let socket = drop_oldest.socket().clone();
        tokio::spawn(async move {
            socket
                .emit_with_ack_timeout("echo", &"oldest", common::WAIT)
                .await
        })
    };
    within(async {
        while drop_oldest.buffered().emits < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    for n in 0..3 {
        drop_oldest
            .emit("countMe", &(100 + n))
            .await
            .expect("room made");
    }
    assert!(matches!(
        within(oldest).await.expect("task"),
        Err(AckError::Discarded)
    ));
    reject.clear_buffer().await;
    within(async {
        while reject.buffered().emits > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    proxy.refuse_all(false);
    let arrived = server.wait_for_events("/", "countMe", 3).await;
    let numbers: Vec<u64> = arrived
        .iter()
        .map(|e| e["args"][0].as_u64().expect("n"))
        .collect();
    assert_eq!(
        numbers,
        [100, 101, 102],
        "the cleared buffer sent nothing; the other kept the newest"
    );
    reject.close().await;
    drop_oldest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_ping_timeout_does_not_cause_a_ping_timeout() {
    // Each handler call (1.5 s) outlasts pingInterval + pingTimeout (1.2 s), which still
    // leaves a loaded machine a second of slack before a pong is late.
    let server = TestServer::start_with(json!({"pingInterval": 200, "pingTimeout": 1000})).await;
    let client = quick_client(&server.url(), Mode::WebSocket).await;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on("hi", move |_| {
        std::thread::sleep(Duration::from_millis(1500));
        let _ = done_tx.send(());
    });
    client.emit("hi", &()).await.expect("emit");
    within(done_rx.recv()).await.expect("the handler returned");
    client.emit("hi", &()).await.expect("emit");
    within(done_rx.recv()).await.expect("the handler returned");
    // The handler blocked its dispatcher thread for 3 s in all: fifteen heartbeats went by.
    let ack = client.emit_with_ack("echo", &"alive").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("alive")]);
    let stats = server.stats().await;
    assert!(
        !stats["disconnects"].to_string().contains("ping timeout"),
        "{stats}"
    );
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_gets_every_event_in_order_through_backpressure() {
    const TICKS: u64 = 150;
    let server = TestServer::start().await;
    let client = Client::builder(&server.url())
        .manager(|b| {
            builder_for(b, Mode::WebSocket).options(|options| options.incoming_capacity = 4)
        })
        .connect()
        .await
        .expect("connect");
    let mut events = client.events();
    let ticks = server.control(
        "tick",
        json!({"event": "tick", "count": TICKS, "intervalMs": 0}),
    );
    let consume = async {
        let mut received = Vec::new();
        while received.len() < TICKS as usize {
            match events.next().await.expect("stream open") {
                SocketEvent::Event(event) if event.name == "tick" => {
                    received.push(event.args()[0].as_u64().expect("tick number"));
                    // Slower than the server: the queue of 4 fills at once.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                SocketEvent::Lagged(dropped) => panic!("{dropped} events dropped"),
                _ => {}
            }
        }
        received
    };
    let (_, received) = within(async { tokio::join!(ticks, consume) }).await;
    assert_eq!(received, (0..TICKS).collect::<Vec<u64>>());
    client.close().await;
}
