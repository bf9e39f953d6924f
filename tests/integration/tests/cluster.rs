//! Ferrio against a scaled-out deployment: two socket.io nodes sharing a Redis adapter
//! behind nginx, sticky by a per-node routing cookie or plain round robin
//! (`tests/cluster/README.md`). Needs redis-server and nginx: `make test-cluster`.

mod common;

use std::time::Duration;

use common::{builder_for, next_event, wait_for_transport, within, Mode};
use ferrio::{
    Client, ConnectError, Manager, ManagerBuilder, ManagerEvent, SocketEvent, SocketState,
    TransportError, Value,
};
use ferrio_integration_tests::{TestCluster, TestServer};
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// The nodes' heartbeat, short so that a test spans many of them.
const PING_INTERVAL_MS: u64 = 200;

/// Quick reconnection (the defaults wait 1 to 5 s).
fn quick(builder: ManagerBuilder) -> ManagerBuilder {
    builder
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(1000))
}

/// A client of `/` through `url` in `mode`, connected and on its final transport.
async fn connect(url: &str, mode: Mode) -> Client {
    let client = Client::builder(url)
        .manager(|b| quick(builder_for(b, mode)))
        .connect()
        .await
        .expect("connect through nginx");
    wait_for_transport(client.manager(), mode.final_transport()).await;
    client
}

/// The socket id of a connected client.
fn sid(client: &Client) -> String {
    client.id().expect("connected")
}

/// The Engine.IO session id of a connected client.
fn engine_sid(client: &Client) -> String {
    client
        .manager()
        .engine_state()
        .sid
        .expect("engine open")
        .to_string()
}

/// The node (index) of each client.
async fn placement(cluster: &TestCluster, clients: &[Client]) -> Vec<usize> {
    let mut nodes = Vec::new();
    for client in clients {
        let node = cluster.node_of(&sid(client)).await;
        nodes.push(node.unwrap_or_else(|| panic!("socket {} is on no node", sid(client))));
    }
    nodes
}

/// The modes of [`connect_mixed`]'s clients: four default ones (polling, then the upgrade)
/// and two that stay on polling.
const MIXED_MODES: [Mode; 6] = [
    Mode::Upgrade,
    Mode::Upgrade,
    Mode::Upgrade,
    Mode::Upgrade,
    Mode::Polling,
    Mode::Polling,
];

/// A client per [`MIXED_MODES`] through the sticky routing, with the node (index) of each.
async fn connect_mixed(cluster: &TestCluster) -> (Vec<Client>, Vec<usize>) {
    let url = cluster.sticky_url();
    let mut clients = Vec::new();
    for mode in MIXED_MODES {
        clients.push(connect(&url, mode).await);
    }
    let nodes = placement(cluster, &clients).await;
    (clients, nodes)
}

/// The next event of `stream` whose name is one of `names`.
async fn next_of(stream: &mut ferrio::EventStream, names: &[&str]) -> ferrio::Event {
    within(async {
        loop {
            if let SocketEvent::Event(event) = stream.next().await.expect("stream open") {
                if names.contains(&event.name.as_str()) {
                    return event;
                }
            }
        }
    })
    .await
}

/// Waits until `node` recorded `count` events `event` from the socket `sid`; returns them.
async fn events_from(node: &TestServer, event: &str, sid: &str, count: usize) -> Vec<Value> {
    within(async {
        loop {
            let from: Vec<serde_json::Value> = node
                .received("/")
                .await
                .into_iter()
                .filter(|e| e["event"] == event && e["id"] == sid)
                .collect();
            if from.len() >= count {
                return from
                    .iter()
                    .map(|e| ferrio::to_value(&e["args"]).expect("args"))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Waits until `node` has `count` sockets that joined `room`.
async fn wait_for_room(node: &TestServer, room: &str, count: usize) {
    within(async {
        loop {
            let clients = node.clients().await;
            let joined = clients["namespaces"]["/"].as_array().map_or(0, |sockets| {
                sockets
                    .iter()
                    .filter(|s| {
                        s["rooms"]
                            .as_array()
                            .is_some_and(|r| r.contains(&json!(room)))
                    })
                    .count()
            });
            if joined >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// The requests of Engine.IO session `engine_sid` that `node` recorded (with whether each
/// carried the node's routing cookie).
async fn requests_of(node: &TestServer, engine_sid: &str) -> Vec<serde_json::Value> {
    node.cookies()
        .await
        .into_iter()
        .filter(|r| r["sid"] == engine_sid)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_cookie_routing_keeps_every_session_on_its_node_across_many_heartbeats() {
    const HEARTBEATS: usize = 12;
    let cluster =
        TestCluster::start_with(json!({"pingInterval": PING_INTERVAL_MS, "pingTimeout": 2000}))
            .await;
    // Polling clients make every heartbeat a new request that must carry the cookie.
    let (clients, nodes) = connect_mixed(&cluster).await;
    let engine_sids: Vec<String> = clients.iter().map(engine_sid).collect();
    eprintln!("placement (0 = A, 1 = B): {nodes:?}");
    assert!(
        nodes.contains(&0) && nodes.contains(&1),
        "new sessions are spread over both nodes: {nodes:?}"
    );

    // Many heartbeats: the polling clients make one GET (and one POST for the pong) per
    // heartbeat; wait until each made HEARTBEATS more GETs.
    for (index, mode) in MIXED_MODES.iter().enumerate() {
        if *mode != Mode::Polling {
            continue;
        }
        let node = cluster.node(nodes[index]);
        within(async {
            loop {
                let gets = requests_of(node, &engine_sids[index])
                    .await
                    .iter()
                    .filter(|r| r["method"] == "GET")
                    .count();
                if gets >= HEARTBEATS {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(PING_INTERVAL_MS)).await;
            }
        })
        .await;
    }

    for (index, client) in clients.iter().enumerate() {
        let node = cluster.node(nodes[index]);
        assert_eq!(
            engine_sid(client),
            engine_sids[index],
            "client {index} kept its session"
        );
        assert_eq!(
            client.manager().transport(),
            Some(MIXED_MODES[index].final_transport())
        );
        let requests = requests_of(node, &engine_sids[index]).await;
        assert!(
            requests.iter().all(|r| r["carried"] == true),
            "every request of client {index} carried its node's cookie: {requests:?}"
        );
        let upgrades = requests
            .iter()
            .filter(|r| r["transport"] == "websocket")
            .count();
        let expected = usize::from(MIXED_MODES[index] == Mode::Upgrade);
        assert_eq!(upgrades, expected, "client {index}: {requests:?}");
        let ack = client
            .emit_with_ack("echo", &index)
            .await
            .expect("echo after the heartbeats");
        assert_eq!(ack.args(), [Value::from(index as u64)]);
    }
    for (index, node) in cluster.nodes().iter().enumerate() {
        let stats = node.stats().await;
        assert_eq!(
            stats["engineCloses"],
            json!([]),
            "no session of node {} closed",
            TestCluster::NAMES[index]
        );
        assert_eq!(stats["engineErrors"], json!([]), "{stats}");
    }
    for client in &clients {
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_different_nodes_all_receive_a_room_broadcast_sent_from_either_node() {
    let cluster = TestCluster::start().await;
    let url = cluster.sticky_url();
    let mut members = Vec::new();
    for _ in 0..4 {
        members.push(connect(&url, Mode::Upgrade).await);
    }
    let outsider = connect(&url, Mode::Upgrade).await;
    let nodes = placement(&cluster, &members).await;
    assert!(
        nodes.contains(&0) && nodes.contains(&1),
        "members on both nodes: {nodes:?}"
    );
    let mut streams: Vec<_> = members.iter().map(|m| m.events()).collect();
    let mut outsider_events = outsider.events();
    for member in &members {
        member.join_room("lobby").await;
    }
    for (index, node) in cluster.nodes().iter().enumerate() {
        let count = nodes.iter().filter(|n| **n == index).count();
        wait_for_room(node, "lobby", count).await;
    }

    // From each node's server side.
    for (index, node) in cluster.nodes().iter().enumerate() {
        let text = format!("from node {}", TestCluster::NAMES[index]);
        node.emit_to_room("/", "lobby", "news", json!([text])).await;
        for (member, stream) in streams.iter_mut().enumerate() {
            let event = next_event(stream, "news").await;
            assert_eq!(
                event.args(),
                [Value::from(text.as_str())],
                "member {member}"
            );
        }
    }
    // From a client on each node (`toRoom`: its node broadcasts to the room).
    for node in 0..2 {
        let sender = nodes.iter().position(|n| *n == node).expect("a member");
        let text = format!("from a client on node {}", TestCluster::NAMES[node]);
        members[sender]
            .emit("toRoom", &("lobby", text.as_str()))
            .await
            .expect("emit");
        for (member, stream) in streams.iter_mut().enumerate() {
            let event = next_event(stream, "room-message").await;
            assert_eq!(
                event.args(),
                [Value::from(text.as_str())],
                "member {member}"
            );
        }
    }
    // The outsider got none of it: its first event is the broadcast to everyone.
    cluster
        .node(1)
        .emit("/", "everyone", json!(["to all"]))
        .await;
    let first = next_of(&mut outsider_events, &["news", "room-message", "everyone"]).await;
    assert_eq!(first.name, "everyone");
    for client in members.iter().chain([&outsider]) {
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_node_reconnect_through_nginx_to_the_other_node_and_get_the_next_broadcast(
) {
    const NOTES: u64 = 5;
    let cluster = TestCluster::start().await;
    let (clients, nodes) = connect_mixed(&cluster).await;
    eprintln!("placement (0 = A, 1 = B): {nodes:?}");
    let victims: Vec<usize> = (0..clients.len()).filter(|i| nodes[*i] == 0).collect();
    let survivors: Vec<usize> = (0..clients.len()).filter(|i| nodes[*i] == 1).collect();
    assert!(
        !victims.is_empty() && !survivors.is_empty(),
        "clients on both nodes: {nodes:?}"
    );
    let mut streams: Vec<_> = clients.iter().map(|c| c.events()).collect();
    for client in &clients {
        client.join_room("lobby").await;
    }
    wait_for_room(cluster.node(0), "lobby", victims.len()).await;
    wait_for_room(cluster.node(1), "lobby", survivors.len()).await;
    let old_sids: Vec<String> = clients.iter().map(sid).collect();
    let survivor_engines: Vec<String> =
        survivors.iter().map(|i| engine_sid(&clients[*i])).collect();

    // Each victim emits while disconnected (the emits are buffered) and waits for its
    // reconnection; the tasks watch the clients' state from before the kill.
    let tasks: Vec<_> = victims
        .iter()
        .map(|&index| {
            let client = clients[index].clone();
            let mut state = client.watch_state();
            tokio::spawn(async move {
                within(state.wait_for(|s| !s.is_connected()))
                    .await
                    .expect("socket alive");
                for n in 0..NOTES {
                    client.emit("note", &(index, n)).await.expect("buffered");
                }
                let buffered = client.buffered().emits;
                within(state.wait_for(SocketState::is_connected))
                    .await
                    .expect("socket alive");
                (index, Instant::now(), buffered)
            })
        })
        .collect();
    let killed_at = Instant::now();
    cluster.kill_node(0).await;
    assert!(!cluster.is_listening(0).await, "node A is gone");
    let mut reconnections = Vec::new();
    for task in tasks {
        let (index, at, buffered) = task.await.expect("victim task");
        reconnections.push((index, at.duration_since(killed_at), buffered));
    }
    let slowest = reconnections
        .iter()
        .map(|(_, elapsed, _)| *elapsed)
        .max()
        .unwrap_or_default();
    for (index, elapsed, buffered) in &reconnections {
        eprintln!(
            "client {index} ({:?}) reconnected {} ms after node A was killed ({buffered} of {NOTES} emits buffered)",
            MIXED_MODES[*index],
            elapsed.as_millis()
        );
    }
    eprintln!(
        "reconnection time after a node was killed: {} ms for the slowest of {} clients",
        slowest.as_millis(),
        victims.len()
    );

    for &index in &victims {
        let client = &clients[index];
        wait_for_transport(client.manager(), MIXED_MODES[index].final_transport()).await;
        let new_sid = sid(client);
        assert_ne!(new_sid, old_sids[index], "a new session on the other node");
        assert_eq!(cluster.node_of(&new_sid).await, Some(1), "client {index}");
        let notes = events_from(cluster.node(1), "note", &new_sid, NOTES as usize).await;
        let expected: Vec<Value> = (0..NOTES)
            .map(|n| ferrio::to_value(&json!([index, n])).expect("value"))
            .collect();
        assert_eq!(
            notes, expected,
            "client {index}'s emits, once each and in order"
        );
    }
    for (n, &index) in survivors.iter().enumerate() {
        assert_eq!(
            engine_sid(&clients[index]),
            survivor_engines[n],
            "untouched"
        );
    }
    // The victims joined the room again on node B: the next broadcast reaches everyone.
    wait_for_room(cluster.node(1), "lobby", clients.len()).await;
    cluster
        .node(1)
        .emit_to_room("/", "lobby", "news", json!(["after the crash"]))
        .await;
    for (index, stream) in streams.iter_mut().enumerate() {
        let event = next_event(stream, "news").await;
        assert_eq!(
            event.args(),
            [Value::from("after the crash")],
            "client {index}"
        );
    }
    for client in &clients {
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_without_stickiness_works_over_websocket_only() {
    let cluster =
        TestCluster::start_with(json!({"pingInterval": PING_INTERVAL_MS, "pingTimeout": 2000}))
            .await;
    let url = cluster.round_robin_url();
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(connect(&url, Mode::WebSocket).await);
    }
    let nodes = placement(&cluster, &clients).await;
    assert!(
        nodes.contains(&0) && nodes.contains(&1),
        "round robin spreads the clients: {nodes:?}"
    );
    let mut streams: Vec<_> = clients.iter().map(|c| c.events()).collect();
    for (index, client) in clients.iter().enumerate() {
        let ack = client.emit_with_ack("echo", &index).await.expect("echo");
        assert_eq!(ack.args(), [Value::from(index as u64)]);
    }
    cluster
        .node(0)
        .emit("/", "everyone", json!(["from A"]))
        .await;
    for stream in &mut streams {
        assert_eq!(
            next_event(stream, "everyone").await.args(),
            [Value::from("from A")]
        );
    }
    for client in &clients {
        client.close().await;
    }
}

/// What a polling client through round robin saw until it gave up.
struct GaveUp {
    connect: Result<(), ConnectError>,
    manager_events: Vec<ManagerEvent>,
    socket_events: Vec<SocketEvent>,
    handshakes: u64,
    server_errors: Vec<String>,
}

/// A polling client with 3 reconnection attempts through round robin, until it gives up.
async fn polling_through_round_robin(cluster: &TestCluster) -> GaveUp {
    let manager = quick(Manager::builder(&cluster.round_robin_url()))
        .transports(&[ferrio::TransportKind::Polling])
        .reconnection_attempts(3)
        .build()
        .expect("manager");
    let mut manager_events = manager.events();
    let socket = manager.socket("/");
    let mut socket_events = socket.events();
    // `connect()` returns the first failure; reconnection goes on in the background.
    let connect = within(socket.connect()).await;
    let mut seen = Vec::new();
    within(async {
        loop {
            match manager_events.recv().await {
                Ok(ManagerEvent::ReconnectFailed) => {
                    seen.push(ManagerEvent::ReconnectFailed);
                    return;
                }
                Ok(event) => seen.push(event),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("manager closed"),
            }
        }
    })
    .await;
    let mut socket_seen = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(10), socket_events.next()).await
    {
        socket_seen.push(event);
    }
    // Not spinning: nothing more happens after giving up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        matches!(
            manager_events.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ),
        "no activity after giving up"
    );
    let mut handshakes = 0;
    let mut server_errors = Vec::new();
    for node in cluster.nodes() {
        let stats = node.stats().await;
        handshakes += stats["engineConnections"].as_u64().unwrap_or_default();
        for error in stats["engineErrors"].as_array().into_iter().flatten() {
            server_errors.push(error["message"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(socket.state(), SocketState::Idle);
    manager.close().await;
    GaveUp {
        connect,
        manager_events: seen,
        socket_events: socket_seen,
        handshakes,
        server_errors,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_polling_gives_up_after_exactly_the_configured_attempts_without_spinning() {
    let cluster = TestCluster::start().await;
    let outcome = polling_through_round_robin(&cluster).await;
    eprintln!("manager events: {:?}", outcome.manager_events);
    eprintln!("socket events: {:?}", outcome.socket_events);
    assert!(
        matches!(
            &outcome.connect,
            Err(ConnectError::Transport(TransportError::Http {
                status: 400,
                ..
            }))
        ),
        "the first failure is returned: {:?}",
        outcome.connect
    );
    let attempts: Vec<u32> = outcome
        .manager_events
        .iter()
        .filter_map(|e| match e {
            ManagerEvent::ReconnectAttempt(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3], "{:?}", outcome.manager_events);
    let failed = outcome
        .manager_events
        .iter()
        .filter(|e| matches!(e, ManagerEvent::ReconnectFailed))
        .count();
    assert_eq!(failed, 1);
    assert!(matches!(
        outcome.manager_events.last(),
        Some(ManagerEvent::ReconnectFailed)
    ));
    // Each handshake succeeds (a node makes the session), then the next request reaches
    // the other node: the first connection and three attempts, no more.
    assert_eq!(outcome.handshakes, 4, "handshakes on both nodes");
    assert!(
        !outcome.server_errors.is_empty()
            && outcome
                .server_errors
                .iter()
                .all(|m| m == "Session ID unknown"),
        "{:?}",
        outcome.server_errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_polling_reports_the_servers_session_id_unknown_as_a_typed_http_error() {
    let cluster = TestCluster::start().await;
    let outcome = polling_through_round_robin(&cluster).await;
    let is_session_unknown = |error: &ConnectError| {
        matches!(
            error,
            ConnectError::Transport(TransportError::Http { status: 400, message })
                if message == "Session ID unknown"
        )
    };
    let from_manager = outcome.manager_events.iter().any(|e| match e {
        ManagerEvent::ReconnectError(error) => is_session_unknown(error),
        _ => false,
    });
    let from_socket = outcome.socket_events.iter().any(|e| match e {
        SocketEvent::ConnectError(error) => is_session_unknown(error),
        _ => false,
    });
    assert!(
        from_manager || from_socket,
        "`400 Session ID unknown` reached neither ManagerEvent::ReconnectError nor \
         SocketEvent::ConnectError\nmanager events: {:?}\nsocket events: {:?}",
        outcome.manager_events,
        outcome.socket_events
    );
}
