//! Namespaces multiplexed on one connection, auth payloads and refusals.

mod common;

use common::{builder, next_event, Mode};
use ferrio::{ConnectError, SocketOptions, Value};
use ferrio_integration_tests::TestServer;
use serde_json::json;

async fn namespaces_share_one_engine_connection(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode).build().expect("manager");
    let main = manager.socket("/");
    let custom = manager.socket("/custom");
    main.connect().await.expect("main");
    custom.connect().await.expect("custom");
    assert_ne!(main.id(), custom.id(), "each namespace has its own sid");
    let main_ack = main.emit_with_ack("getId", &()).await.expect("getId");
    assert_eq!(main_ack.args()[0].as_str(), main.id().as_deref());
    let clients = server.clients().await;
    assert_eq!(clients["engineClients"], 1, "{clients}");
    manager.close().await;
}
per_transport!(
    namespaces_share_one_engine_connection,
    namespaces_share_one_engine_connection
);

async fn a_connection_lost_before_the_connect_reply_is_a_connect_error(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode)
        .reconnection(false)
        .build()
        .expect("manager");
    let socket = manager.socket("/drop-before-reply");
    let mut events = socket.events();
    let result = socket.connect().await;
    assert!(
        matches!(result, Err(ConnectError::Disconnected(_))),
        "{result:?}"
    );
    let event = common::within(events.next()).await;
    assert!(
        matches!(
            event,
            Some(ferrio::SocketEvent::ConnectError(
                ConnectError::Disconnected(_)
            ))
        ),
        "{event:?}"
    );
    manager.close().await;
}
per_transport!(
    a_connection_lost_before_the_connect_reply_is_a_connect_error,
    a_connection_lost_before_the_connect_reply_is_a_connect_error
);

#[tokio::test]
async fn namespace_opened_after_the_connection_is_up_connects() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::Upgrade).build().expect("manager");
    manager.socket("/").connect().await.expect("main");
    common::wait_for_transport(&manager, ferrio::TransportKind::WebSocket).await;
    let abc = manager.socket("/abc");
    let mut events = abc.events();
    abc.connect().await.expect("abc");
    let handshake = next_event(&mut events, "handshake").await;
    assert!(handshake.args()[0].get("auth").is_some());
    manager.close().await;
}

#[tokio::test]
async fn disconnecting_one_namespace_leaves_the_others_connected() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let main = manager.socket("/");
    let custom = manager.socket("/custom");
    main.connect().await.expect("main");
    custom.connect().await.expect("custom");
    custom.disconnect().await;
    let ack = main
        .emit_with_ack("echo", &"still here")
        .await
        .expect("main still works");
    assert_eq!(ack.args(), [Value::from("still here")]);
    assert!(!custom.connected());
    assert!(main.connected());
    manager.close().await;
}

#[tokio::test]
async fn auth_payload_reaches_the_server_middleware() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let auth = ferrio::to_value(&json!({"token": "secret"})).expect("auth");
    let socket = manager.socket_with(
        "/auth",
        SocketOptions {
            auth: Some(auth),
            ..Default::default()
        },
    );
    let mut events = socket.events();
    socket.connect().await.expect("accepted");
    let welcome = next_event(&mut events, "welcome").await;
    assert_eq!(welcome.args(), [Value::from("secret")]);
    manager.close().await;
}

async fn middleware_refusal_gives_connect_error_with_message_and_data(mode: Mode) {
    let server = TestServer::start().await;
    let manager = builder(&server, mode).build().expect("manager");
    let socket = manager.socket("/no");
    let result = socket.connect().await;
    match result {
        Err(ConnectError::Rejected { message, data }) => {
            assert_eq!(message, "Auth failed (custom namespace)");
            let data = data.expect("data");
            assert_eq!(data.get("reason"), Some(&Value::from("denied")));
            assert_eq!(data.get("code"), Some(&Value::from(42)));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!socket.connected());
    manager.close().await;
}
per_transport!(
    middleware_refusal_gives_connect_error_with_message_and_data,
    middleware_refusal_gives_connect_error_with_message_and_data
);

#[tokio::test]
async fn wrong_token_is_refused_with_the_servers_data() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let auth = ferrio::to_value(&json!({"token": "nope"})).expect("auth");
    let socket = manager.socket_with(
        "/auth",
        SocketOptions {
            auth: Some(auth),
            ..Default::default()
        },
    );
    let error = socket.connect().await.expect_err("refused");
    assert!(
        matches!(&error, ConnectError::Rejected { message, data: Some(data) } if message == "invalid token" && data.get("token") == Some(&Value::from("nope"))),
        "{error:?}"
    );
    manager.close().await;
}

#[tokio::test]
async fn unknown_namespace_is_refused_and_others_keep_working() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket).build().expect("manager");
    let main = manager.socket("/");
    main.connect().await.expect("main");
    let error = manager
        .socket("/random")
        .connect()
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, ConnectError::Rejected { message, .. } if message == "Invalid namespace"),
        "{error:?}"
    );
    assert!(main.emit_with_ack("echo", &1).await.is_ok());
    manager.close().await;
}

#[tokio::test]
async fn connect_event_and_handler_fire_for_a_slow_middleware_namespace() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::Polling).build().expect("manager");
    let slow = manager.socket("/slow");
    let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
    let connected_tx = std::sync::Mutex::new(Some(connected_tx));
    slow.on("connect", move |_| {
        if let Some(tx) = connected_tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
    });
    slow.emit("echo", &"buffered before connect")
        .await
        .expect("buffered");
    slow.connect().await.expect("slow namespace");
    common::within(connected_rx).await.expect("connect handler");
    let received = server.wait_for_event("/slow", "echo").await;
    assert_eq!(received["args"], json!(["buffered before connect"]));
    manager.close().await;
}

/// How many times each outcome of `connect()` is checked: the answer and the queueing of
/// its event ran on different threads when the answer came first (the FFI's test that
/// looked once failed 47 times in 300 runs).
const OUTCOME_ATTEMPTS: usize = 50;

/// `connect()` answers once the event of its outcome is queued for the socket's
/// consumers: a consumer that looks when `connect()` returned finds the `Connect`, or the
/// `ConnectError` of a refusal, of a server that cannot be reached, or of a connection
/// lost before the reply. On a multi-thread runtime, where the caller runs on one thread
/// and the connection task on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_returns_after_the_event_of_its_outcome_is_queued() {
    let server = TestServer::start().await;
    let manager = builder(&server, Mode::WebSocket)
        .reconnection(false)
        .build()
        .expect("manager");
    let unreachable = ferrio::Manager::builder("http://127.0.0.1:1")
        .reconnection(false)
        .build()
        .expect("manager");
    let dropping = builder(&server, Mode::WebSocket)
        .reconnection(false)
        .build()
        .expect("manager");
    // Each socket, whether its connect() succeeds, and what the outcome is.
    let cases = [
        (manager.socket("/"), true, "Connect"),
        (manager.socket("/no"), false, "refusal"),
        (unreachable.socket("/"), false, "unreachable"),
        (
            dropping.socket("/drop-before-reply"),
            false,
            "lost before the reply",
        ),
    ];
    let streams = cases.each_ref().map(|(socket, _, _)| socket.events());
    for attempt in 0..OUTCOME_ATTEMPTS {
        for ((socket, succeeds, outcome), stream) in cases.iter().zip(&streams) {
            let queued = stream.queued_events();
            let before = queued.total();
            let result = socket.connect().await;
            assert_eq!(result.is_ok(), *succeeds, "{outcome}: {result:?}");
            assert_eq!(queued.total(), before + 1, "{outcome}, attempt {attempt}");
            if *succeeds {
                socket.disconnect().await;
            }
        }
    }
    drop(streams);
    manager.close().await;
    unreachable.close().await;
    dropping.close().await;
}

/// Each failed reconnection attempt is queued for the sockets as a `ConnectError` before
/// the manager sends its `ReconnectError` (the JS client emits `connect_error`, then
/// `reconnect_error`): a consumer that has the manager's event finds the socket's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reconnection_is_a_connect_error_before_the_reconnect_error() {
    const ATTEMPTS: u64 = 20;
    let manager = ferrio::Manager::builder("http://127.0.0.1:1")
        .reconnection_attempts(u32::try_from(ATTEMPTS).expect("attempts"))
        .reconnection_delay(std::time::Duration::from_millis(1))
        .reconnection_delay_max(std::time::Duration::from_millis(1))
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let stream = socket.events();
    let queued = stream.queued_events();
    let mut manager_events = manager.events();
    socket.connect().await.expect_err("unreachable");
    let mut reconnect_errors = 0;
    loop {
        match common::within(manager_events.recv())
            .await
            .expect("an event")
        {
            ferrio::ManagerEvent::ReconnectError(_) => {
                reconnect_errors += 1;
                // The first attempt's ConnectError, then one per reconnection attempt.
                assert!(
                    queued.total() > reconnect_errors,
                    "{} socket events at reconnect_error {reconnect_errors}",
                    queued.total()
                );
            }
            ferrio::ManagerEvent::ReconnectFailed => break,
            _ => {}
        }
    }
    assert_eq!(reconnect_errors, ATTEMPTS);
    drop(stream);
    manager.close().await;
}
