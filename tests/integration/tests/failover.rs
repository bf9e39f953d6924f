//! Failover: the manager's URL first, then its fallback URLs, on the first connection and
//! on reconnection, against real servers (one of them down behind a proxy that refuses
//! or stalls every connection).

mod common;

use std::time::Duration;

use common::{builder_for, next_lifecycle, wait_for_transport, Mode};
use ferrio::{ConnectError, Manager, ManagerBuilder, SocketEvent, Value};
use ferrio_integration_tests::{FaultProxy, TestServer};

/// A manager builder for `url` then `fallback`, in `mode`, with quick reconnection.
fn with_fallback(url: &str, fallback: &str, mode: Mode) -> ManagerBuilder {
    builder_for(Manager::builder(url), mode)
        .fallback_url(fallback)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(300))
        .timeout(Duration::from_secs(5))
}

/// Asserts that `manager` is connected to `server`.
fn assert_connected_to(manager: &Manager, server: &TestServer) {
    let url = manager.engine_state().url.expect("a server URL");
    assert_eq!(url.trim_end_matches('/'), server.url());
}

/// The number of clients the server has in `/`.
async fn clients_of(server: &TestServer) -> usize {
    server.clients().await["namespaces"]["/"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn first_connection_uses_the_fallback_when_the_first_server_is_down(mode: Mode) {
    let server = TestServer::start().await;
    let down = FaultProxy::start(server.port()).await;
    down.refuse_all(true);
    let manager = with_fallback(&down.url(), &server.url(), mode)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    socket
        .connect()
        .await
        .expect("connect through the fallback");
    wait_for_transport(&manager, mode.final_transport()).await;
    assert_connected_to(&manager, &server);
    assert!(down.accepted() >= 1, "the first server was tried first");
    let ack = socket.emit_with_ack("echo", &"via the fallback").await;
    assert_eq!(ack.expect("ack").args(), [Value::from("via the fallback")]);
    assert_eq!(clients_of(&server).await, 1);
    manager.close().await;
}
per_transport!(
    first_connection_uses_the_fallback_when_the_first_server_is_down,
    first_connection_uses_the_fallback_when_the_first_server_is_down
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_server_that_never_answers_is_left_after_the_timeout() {
    let server = TestServer::start().await;
    let silent = FaultProxy::start(server.port()).await;
    silent.stall(true);
    let manager = with_fallback(&silent.url(), &server.url(), Mode::WebSocket)
        .timeout(Duration::from_secs(1))
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    socket
        .connect()
        .await
        .expect("connect through the fallback");
    assert_connected_to(&manager, &server);
    manager.close().await;
}

async fn reconnection_uses_the_fallback_when_the_first_server_goes_down(mode: Mode) {
    let first = TestServer::start().await;
    let second = TestServer::start().await;
    let proxy = FaultProxy::start(first.port()).await;
    let manager = with_fallback(&proxy.url(), &second.url(), mode)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    socket.connect().await.expect("connect");
    wait_for_transport(&manager, mode.final_transport()).await;
    let mut events = socket.events();
    assert_eq!(clients_of(&first).await, 1);
    assert_eq!(clients_of(&second).await, 0);

    proxy.refuse_all(true);
    proxy.cut();
    assert!(matches!(
        next_lifecycle(&mut events).await,
        SocketEvent::Disconnect(_)
    ));
    assert!(matches!(
        next_lifecycle(&mut events).await,
        SocketEvent::Connect { .. }
    ));
    assert_connected_to(&manager, &second);
    let ack = socket.emit_with_ack("echo", &"after failover").await;
    assert_eq!(ack.expect("ack").args(), [Value::from("after failover")]);
    assert_eq!(clients_of(&second).await, 1);
    manager.close().await;
}
per_transport!(
    reconnection_uses_the_fallback_when_the_first_server_goes_down,
    reconnection_uses_the_fallback_when_the_first_server_goes_down
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_with_a_transport_error_when_no_server_is_reachable() {
    let server = TestServer::start().await;
    let first = FaultProxy::start(server.port()).await;
    let second = FaultProxy::start(server.port()).await;
    first.refuse_all(true);
    second.refuse_all(true);
    let manager = with_fallback(&first.url(), &second.url(), Mode::Polling)
        .reconnection(false)
        .build()
        .expect("manager");
    let result = manager.socket("/").connect().await;
    assert!(
        matches!(result, Err(ConnectError::Transport(_))),
        "{result:?}"
    );
    assert!(first.accepted() >= 1 && second.accepted() >= 1);
    manager.close().await;
}

#[tokio::test]
async fn a_fallback_url_that_is_not_a_url_is_refused_when_the_manager_is_built() {
    let result = Manager::builder("http://127.0.0.1:1")
        .fallback_url("not a url")
        .build();
    assert!(
        matches!(result, Err(ConnectError::InvalidUrl(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_waiting_through_reconnection_fails_once_reconnection_gives_up() {
    let server = TestServer::start().await;
    let down = FaultProxy::start(server.port()).await;
    down.refuse_all(true);
    let manager = builder_for(Manager::builder(&down.url()), Mode::WebSocket)
        .reconnection_attempts(2)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(50))
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    let first = socket.connect().await;
    assert!(
        matches!(first, Err(ConnectError::Transport(_))),
        "{first:?}"
    );
    // Waits for the reconnection's attempts: the first one's failure is answered, the
    // last one's is reported as reconnection giving up (not as a failure to try again).
    let mut failures = 0;
    let end = loop {
        match socket.connect().await {
            Err(ConnectError::Transport(_)) => failures += 1,
            other => break other,
        }
        assert!(failures < 10, "connect() started over instead of giving up");
    };
    assert!(
        matches!(end, Err(ConnectError::ReconnectFailed(2))),
        "{end:?}"
    );
    manager.close().await;
}
