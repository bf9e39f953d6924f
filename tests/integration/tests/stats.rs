//! Connection statistics (`Manager::stats`) against the reference server, per transport:
//! packets and bytes of what was exchanged, ack round trips, reconnections, the transport
//! and the heartbeat's age.

mod common;

use std::time::Duration;

use common::{builder, next_event, wait_for_transport, within, Mode};
use ferrio::{ConnectionStats, ManagerEvent, TransportKind};
use ferrio_integration_tests::TestServer;
use serde_json::json;

/// A server that pings only once a minute: no heartbeat packet during a test, so the
/// packets counted are exactly those the test exchanges.
async fn quiet_server() -> TestServer {
    TestServer::start_with(json!({"pingInterval": 60000, "pingTimeout": 60000})).await
}

/// The differences `after - before` of the packet and byte counters.
fn delta(before: &ConnectionStats, after: &ConnectionStats) -> [u64; 4] {
    [
        after.packets_in - before.packets_in,
        after.packets_out - before.packets_out,
        after.bytes_in - before.bytes_in,
        after.bytes_out - before.bytes_out,
    ]
}

async fn counts_the_packets_and_bytes_exchanged(mode: Mode) {
    const EMITS: u64 = 20;
    const EVENTS: u64 = 10;
    let server = quiet_server().await;
    let manager = builder(&server, mode).build().expect("manager");
    assert_eq!(manager.stats(), ConnectionStats::default(), "nothing yet");
    let socket = manager.socket("/");
    let mut events = socket.events();
    socket.connect().await.expect("connect");
    wait_for_transport(&manager, mode.final_transport()).await;
    let connected = manager.stats();
    assert!(connected.packets_in >= 2, "open and CONNECT: {connected:?}");
    assert!(connected.packets_out >= 1, "CONNECT: {connected:?}");
    assert!(
        connected.bytes_in > 0 && connected.bytes_out > 0,
        "{connected:?}"
    );
    assert_eq!(connected.transport, Some(mode.final_transport()));

    for n in 0..EMITS {
        socket.emit("countMe", &n).await.expect("emit");
    }
    server.wait_for_events("/", "countMe", EMITS as usize).await;
    for n in 0..EVENTS {
        server.emit("/", "news", json!([n])).await;
    }
    for _ in 0..EVENTS {
        next_event(&mut events, "news").await;
    }
    let after = manager.stats();
    let [packets_in, packets_out, bytes_in, bytes_out] = delta(&connected, &after);
    // The Socket.IO text of each packet, as the Engine.IO message `4...` carries it.
    let sent: u64 = (0..EMITS)
        .map(|n| format!(r#"42["countMe",{n}]"#).len() as u64)
        .sum();
    let received: u64 = (0..EVENTS)
        .map(|n| format!(r#"42["news",{n}]"#).len() as u64)
        .sum();
    match mode {
        Mode::WebSocket => {
            // One frame per packet, nothing else on the wire meanwhile.
            assert_eq!(packets_out, EMITS);
            assert_eq!(packets_in, EVENTS);
            assert_eq!(bytes_out, sent);
            assert_eq!(bytes_in, received);
        }
        Mode::Polling => {
            // POST bodies count a separator per packet; GET bodies hold the events joined
            // by separators, however the server batched them.
            assert_eq!(packets_out, EMITS);
            assert_eq!(packets_in, EVENTS);
            assert_eq!(bytes_out, sent + EMITS);
            assert!(
                bytes_in >= received && bytes_in < received + EVENTS,
                "{bytes_in}"
            );
        }
        Mode::Upgrade => {
            assert!(packets_out >= EMITS && packets_in >= EVENTS, "{after:?}");
            assert!(bytes_out >= sent && bytes_in >= received, "{after:?}");
        }
    }
    assert_eq!(after.ack_round_trips.count, 0, "no ack asked for");
    manager.close().await;
    let closed = manager.stats();
    assert_eq!(closed.transport, None, "closed: no transport");
    assert!(
        closed.packets_out >= after.packets_out,
        "counters never go back"
    );
}
per_transport!(
    counts_the_packets_and_bytes_exchanged,
    counts_the_packets_and_bytes_exchanged
);

async fn counts_every_ack_round_trip(mode: Mode) {
    const ACKS: u64 = 25;
    let server = quiet_server().await;
    let manager = builder(&server, mode).build().expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    for n in 0..ACKS {
        let ack = socket.emit_with_ack("echo", &n).await.expect("ack");
        assert_eq!(ack.args().len(), 1);
    }
    // Emits without ack and events from the server count for nothing here.
    socket.emit("countMe", &0).await.expect("emit");
    server.wait_for_event("/", "countMe").await;
    let acks = manager.stats().ack_round_trips;
    assert_eq!(acks.count, ACKS, "{acks:?}");
    assert!(acks.max > Duration::ZERO, "{acks:?}");
    assert!(
        acks.p50 <= acks.p90 && acks.p90 <= acks.p99 && acks.p99 <= acks.max,
        "{acks:?}"
    );
    assert!(acks.mean <= acks.max, "{acks:?}");
    manager.close().await;
}
per_transport!(counts_every_ack_round_trip, counts_every_ack_round_trip);

async fn counts_a_reconnection_forced_by_the_server(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode)
        .reconnection_delay(Duration::from_millis(50))
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    wait_for_transport(&manager, mode.final_transport()).await;
    let before = manager.stats();
    assert_eq!((before.reconnects, before.reconnect_attempts), (0, 0));
    let mut manager_events = manager.events();
    assert_eq!(server.close_transport().await, 1);
    within(async {
        loop {
            if let ManagerEvent::Reconnect(_) = manager_events.recv().await.expect("events") {
                return;
            }
        }
    })
    .await;
    wait_for_transport(&manager, mode.final_transport()).await;
    let after = manager.stats();
    assert_eq!(after.reconnects, 1, "{after:?}");
    assert!(after.reconnect_attempts >= 1, "{after:?}");
    assert_eq!(after.transport, Some(mode.final_transport()));
    assert!(after.packets_in > before.packets_in, "a new handshake");
    assert!(after.bytes_in > before.bytes_in);
    manager.close().await;
}
per_transport!(
    counts_a_reconnection_forced_by_the_server,
    counts_a_reconnection_forced_by_the_server
);

#[tokio::test]
async fn the_transport_switches_to_websocket_with_the_upgrade() {
    let server = TestServer::start_with(json!({"allowUpgrades": false})).await;
    let polling = builder(&server, Mode::Upgrade).build().expect("manager");
    polling.socket("/").connect().await.expect("connect");
    assert_eq!(polling.stats().transport, Some(TransportKind::Polling));
    polling.close().await;

    let server = TestServer::start().await;
    let upgraded = builder(&server, Mode::Upgrade).build().expect("manager");
    let socket = upgraded.socket("/");
    socket.connect().await.expect("connect");
    wait_for_transport(&upgraded, TransportKind::WebSocket).await;
    assert_eq!(upgraded.stats().transport, Some(TransportKind::WebSocket));
    let ack = socket.emit_with_ack("echo", &1).await.expect("ack");
    assert_eq!(ack.args().len(), 1);
    assert_eq!(upgraded.stats().ack_round_trips.count, 1);
    upgraded.close().await;
}

async fn reports_the_age_of_the_last_ping(mode: Mode) {
    let server = TestServer::start_with(json!({"pingInterval": 100, "pingTimeout": 5000})).await;
    let manager = builder(&server, mode).build().expect("manager");
    manager.socket("/").connect().await.expect("connect");
    // Waits for the first ping: the heartbeat comes by itself every 100 ms.
    let age = within(async {
        loop {
            if let Some(age) = manager.stats().since_last_ping {
                return age;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(age < Duration::from_secs(60), "{age:?}");
    let stats = manager.stats();
    assert!(stats.since_last_ping.is_some(), "still known: {stats:?}");
    assert!(stats.packets_out >= 2, "CONNECT, and a pong: {stats:?}");
    manager.close().await;
}
per_transport!(
    reports_the_age_of_the_last_ping,
    reports_the_age_of_the_last_ping
);
