//! Socket.IO 2.x servers (Engine.IO v3, Socket.IO protocol 4): the real npm socket.io 2.5.1
//! server (`tests/server-v2`) and python-socketio 4.6.1 (`tests/server-v2-python`), each
//! over polling, WebSocket and the upgrade. Found out by itself
//! (`ServerVersion::Detect`, the default) or with `ServerVersion::V2`: events, acks and
//! binary both ways (base64 on polling), the client's heartbeat, namespaces (`/`, `/custom`
//! with the manager's query, refusals as typed errors), a server-side disconnect,
//! reconnection after the server drops the transport. `ServerVersion::V4` keeps refusing
//! such a server, and `ServerVersion::V2` refuses a Socket.IO 4 server, both with a typed
//! error, once.

mod common;

use bytes::Bytes;
use common::{builder, next_connect, next_event, next_lifecycle, within, Mode};
use ferrio::{
    ConnectError, DisconnectReason, Manager, ServerVersion, SocketEvent, SocketState, Value,
};
use ferrio_integration_tests::{binary, TestServer};
use serde_json::json;

/// The two Socket.IO 2.x implementations.
#[derive(Debug, Clone, Copy)]
enum V2 {
    /// npm socket.io 2.5.1 (tests/server-v2).
    Node,
    /// python-socketio 4.6.1 (tests/server-v2-python).
    Python,
}

impl V2 {
    async fn start(self) -> TestServer {
        match self {
            V2::Node => TestServer::start_v2().await,
            V2::Python => TestServer::start_v2_python().await,
        }
    }
}

/// One test per Socket.IO 2.x server and transport, calling `$body(server, mode)`.
macro_rules! per_server_and_transport {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn node_polling() {
                super::$name(V2::Node, Mode::Polling).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn node_websocket() {
                super::$name(V2::Node, Mode::WebSocket).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn node_upgrade() {
                super::$name(V2::Node, Mode::Upgrade).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn python_polling() {
                super::$name(V2::Python, Mode::Polling).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn python_websocket() {
                super::$name(V2::Python, Mode::WebSocket).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn python_upgrade() {
                super::$name(V2::Python, Mode::Upgrade).await
            }
        }
    };
}

/// A manager for the v2 `server` in `mode` with `version`, and its `/` socket connected
/// (after any upgrade).
async fn connected(
    server: &TestServer,
    mode: Mode,
    version: ServerVersion,
) -> (Manager, ferrio::Socket) {
    let manager = builder(server, mode)
        .server_version(version)
        .query("client", "ferrio")
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    within(socket.connect()).await.expect("connect");
    common::wait_for_transport(&manager, mode.final_transport()).await;
    // The session the detection dropped is gone on the server too.
    server.wait_for_sockets("/", 1).await;
    (manager, socket)
}

/// The Engine.IO session id the manager speaks in.
fn engine_sid(manager: &Manager) -> String {
    manager
        .engine_state()
        .sid
        .expect("an open session")
        .to_string()
}

async fn events_acks_and_binary_go_both_ways(kind: V2, mode: Mode, version: ServerVersion) {
    let server = kind.start().await;
    let (manager, socket) = connected(&server, mode, version).await;
    // socket.io 2 names the socket of `/` after the engine session.
    assert_eq!(socket.id(), Some(engine_sid(&manager)));
    assert!(!socket.recovered());
    let mut events = socket.events();

    // Client to server, with an ack, binary nested (raw in the posted payloads, base64 in
    // the polled ones), and a character outside the BMP, whose length in v3's text
    // payloads the two servers count differently (UTF-16 units, code points).
    let args = vec![
        Value::from("héllo 😀"),
        Value::Binary(Bytes::from_static(&[0, 1, 255])),
        Value::Array(vec![Value::Binary(Bytes::from_static(&[7]))]),
    ];
    let ack = socket
        .emit_values_with_ack("echo", args.clone(), common::WAIT)
        .await
        .expect("ack");
    assert_eq!(ack.args(), args);
    let recorded = server.wait_for_event("/", "echo").await;
    assert_eq!(recorded["args"][1], binary(&[0, 1, 255]));
    assert_eq!(recorded["args"][2][0], binary(&[7]));
    socket.emit("plain", &(1, "two")).await.expect("emit");
    let plain = server.wait_for_event("/", "plain").await;
    assert_eq!(plain["args"], json!([1, "two"]));

    // Server to client, binary included.
    let sent = server
        .emit("/", "push", json!(["news", binary(&[9, 8, 7]), {"n": 1}]))
        .await;
    assert_eq!(sent, 1);
    let push = next_event(&mut events, "push").await;
    assert_eq!(
        push.args(),
        [
            Value::from("news"),
            Value::Binary(Bytes::from_static(&[9, 8, 7])),
            serde_json::from_value::<Value>(json!({"n": 1})).expect("value"),
        ]
    );

    // The server asks for an ack; the answer carries binary.
    socket.on("question", |event| {
        event
            .ack_values(vec![
                Value::from("answer"),
                Value::Binary(Bytes::from_static(&[4, 2])),
            ])
            .expect("answer");
    });
    let answer = server
        .emit_with_ack("/", "question", json!([21]), common::WAIT)
        .await;
    assert_eq!(
        answer,
        json!({ "responses": [["answer", binary(&[4, 2])]] })
    );

    // The heartbeat is the client's in Engine.IO v3: the server sees its pings (every
    // second) and the connection stays up past them.
    server.control("waitForPings", json!({ "count": 3 })).await;
    // Each ping goes once the previous one's pong came: the client had the server's pongs,
    // the heartbeat its statistics report.
    assert!(manager.stats().since_last_ping.is_some());
    let ack = socket.emit_with_ack("echo", &"still").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("still")]);
    assert!(socket.connected());
    manager.close().await;
}

async fn events_acks_and_binary_detected(kind: V2, mode: Mode) {
    events_acks_and_binary_go_both_ways(kind, mode, ServerVersion::Detect).await;
}
per_server_and_transport!(events_acks_and_binary_detected);

async fn events_acks_and_binary_forced(kind: V2, mode: Mode) {
    events_acks_and_binary_go_both_ways(kind, mode, ServerVersion::V2).await;
}
per_server_and_transport!(events_acks_and_binary_forced);

async fn namespaces_connect_with_the_query_and_refusals_are_typed(kind: V2, mode: Mode) {
    let server = kind.start().await;
    let (manager, root) = connected(&server, mode, ServerVersion::Detect).await;
    let custom = manager.socket("/custom");
    within(custom.connect()).await.expect("connect /custom");
    let sid = engine_sid(&manager);
    assert_eq!(custom.id(), Some(format!("/custom#{sid}")));
    // The namespace's CONNECT carried the manager's query (socket.io 2 has no auth).
    let clients = server.wait_for_sockets("/custom", 1).await;
    assert_eq!(
        clients["namespaces"]["/custom"][0]["id"],
        format!("/custom#{sid}")
    );
    assert_eq!(
        clients["namespaces"]["/custom"][0]["query"]["client"],
        "ferrio"
    );
    let ack = custom
        .emit_with_ack("echo", &"in custom")
        .await
        .expect("ack");
    assert_eq!(ack.args(), [Value::from("in custom")]);
    assert_eq!(
        server.wait_for_event("/custom", "echo").await["nsp"],
        "/custom"
    );

    // A middleware's error: its message (a string) …
    let refused = manager.socket("/refused");
    let mut refused_events = refused.events();
    match within(refused.connect()).await {
        Err(ConnectError::Rejected { message, data }) => {
            assert_eq!((message.as_str(), data), ("not authorized", None));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(refused.state(), SocketState::Idle, "not retried");
    assert!(matches!(
        next_lifecycle(&mut refused_events).await,
        SocketEvent::ConnectError(ConnectError::Rejected { .. })
    ));
    // … or its `err.data` (an object).
    match within(manager.socket("/refused-data").connect()).await {
        Err(ConnectError::Rejected { message, data }) => {
            assert_eq!(message, "not authorized");
            let data = serde_json::to_value(data.expect("data")).expect("JSON");
            assert_eq!(data["code"], 42);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The others are untouched.
    assert!(root.connected() && custom.connected());
    let ack = root.emit_with_ack("echo", &1).await.expect("ack");
    assert_eq!(ack.args(), [Value::from(1)]);
    manager.close().await;
}
per_server_and_transport!(namespaces_connect_with_the_query_and_refusals_are_typed);

async fn a_server_disconnect_and_a_dropped_transport(kind: V2, mode: Mode) {
    let server = kind.start().await;
    let (manager, root) = connected(&server, mode, ServerVersion::Detect).await;
    let custom = manager.socket("/custom");
    within(custom.connect()).await.expect("connect /custom");
    let mut custom_events = custom.events();
    let mut root_events = root.events();

    // The server disconnects /custom: final, `/` stays.
    custom.emit("disconnectMe", &()).await.expect("emit");
    assert!(matches!(
        next_lifecycle(&mut custom_events).await,
        SocketEvent::Disconnect(DisconnectReason::IoServerDisconnect)
    ));
    assert_eq!(
        custom.state(),
        SocketState::Disconnected(DisconnectReason::IoServerDisconnect)
    );
    let ack = root.emit_with_ack("echo", &"root").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("root")]);

    // The server drops the transport: `/` reconnects on a new session, in v2 again.
    let old_sid = engine_sid(&manager);
    assert_eq!(server.close_transport().await, 1);
    let lost = next_lifecycle(&mut root_events).await;
    match kind {
        V2::Node => assert!(
            matches!(
                lost,
                SocketEvent::Disconnect(DisconnectReason::TransportClose)
            ),
            "{lost:?}"
        ),
        // python-engineio 3.x hands its close packet to a GET already waiting only, and
        // refuses the next GET of the session it closed: a polling client between two GETs
        // sees that refusal.
        V2::Python => assert!(
            matches!(
                lost,
                SocketEvent::Disconnect(
                    DisconnectReason::TransportClose | DisconnectReason::TransportError
                )
            ),
            "{lost:?}"
        ),
    }
    assert!(matches!(
        next_connect(&mut root_events).await,
        SocketEvent::Connect {
            recovered: false,
            ..
        }
    ));
    let new_sid = engine_sid(&manager);
    assert_ne!(new_sid, old_sid);
    assert_eq!(root.id(), Some(new_sid));
    let ack = root.emit_with_ack("echo", &"back").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("back")]);

    // /custom connects again on demand.
    within(custom.connect())
        .await
        .expect("connect /custom again");
    let ack = custom.emit_with_ack("echo", &"again").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("again")]);
    manager.close().await;
}
per_server_and_transport!(a_server_disconnect_and_a_dropped_transport);

async fn disconnecting_and_connecting_the_main_namespace_again(kind: V2, mode: Mode) {
    let server = kind.start().await;
    let (manager, root) = connected(&server, mode, ServerVersion::Detect).await;
    let custom = manager.socket("/custom");
    within(custom.connect()).await.expect("connect /custom");
    // `/` leaves while `/custom` keeps the session; asked again, the server makes a new
    // socket for `/` (it sends no reply for `/` without a middleware).
    root.disconnect().await;
    server.wait_for_sockets("/", 0).await;
    within(root.connect()).await.expect("connect / again");
    server.wait_for_sockets("/", 1).await;
    let ack = root.emit_with_ack("echo", &"again").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("again")]);
    manager.close().await;
}
per_server_and_transport!(disconnecting_and_connecting_the_main_namespace_again);

/// A refusal naming the server's protocol, reported once and not retried.
async fn refused_once(manager: Manager, expected: &str) {
    let socket = manager.socket("/");
    let mut events = socket.events();
    match within(socket.connect()).await {
        Err(ConnectError::Rejected { message, .. }) => {
            assert!(message.contains(expected), "{message}");
        }
        other => panic!("expected a refusal naming the protocol, got {other:?}"),
    }
    assert_eq!(socket.state(), SocketState::Idle, "not retried");
    assert!(matches!(
        next_lifecycle(&mut events).await,
        SocketEvent::ConnectError(ConnectError::Rejected { .. })
    ));
    manager.close().await;
    while let Some(event) = events.next().await {
        assert!(
            !matches!(event, SocketEvent::ConnectError(_)),
            "reported again: {event:?}"
        );
    }
}

async fn v4_forced_refuses_a_socket_io_2_server(kind: V2, mode: Mode) {
    let server = kind.start().await;
    let manager = builder(&server, mode)
        .server_version(ServerVersion::V4)
        .build()
        .expect("manager");
    refused_once(manager, "older Socket.IO protocol").await;
}
per_server_and_transport!(v4_forced_refuses_a_socket_io_2_server);

async fn v2_forced_refuses_a_socket_io_4_server(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode)
        .server_version(ServerVersion::V2)
        .build()
        .expect("manager");
    refused_once(manager, "does not speak Socket.IO 2.x").await;
}
per_transport!(
    v2_forced_refuses_a_socket_io_4_server,
    v2_forced_refuses_a_socket_io_4_server
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_is_kept_for_every_later_connection_of_the_manager() {
    let server = V2::Node.start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let socket = manager.socket("/");
    let mut manager_events = manager.events();
    within(socket.connect()).await.expect("connect");
    // Found out: the v4 session, then the v3 one.
    assert_eq!(opens(&mut manager_events), 2);
    socket.disconnect().await;
    // The manager closed its engine (no namespace left); the next connection speaks v2 at
    // once: one session.
    within(socket.connect()).await.expect("connect again");
    assert_eq!(opens(&mut manager_events), 1);
    assert_eq!(socket.id(), Some(engine_sid(&manager)));
    let ack = socket.emit_with_ack("echo", &"kept").await.expect("ack");
    assert_eq!(ack.args(), [Value::from("kept")]);
    manager.close().await;
}

/// How many engine sessions opened since the last call.
fn opens(events: &mut tokio::sync::broadcast::Receiver<ferrio::ManagerEvent>) -> usize {
    std::iter::from_fn(|| events.try_recv().ok())
        .filter(|event| matches!(event, ferrio::ManagerEvent::Open))
        .count()
}
