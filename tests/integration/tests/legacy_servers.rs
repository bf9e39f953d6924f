//! Servers that speak an older protocol than Ferrio's (Engine.IO v4, Socket.IO v5): a
//! Socket.IO 2.x server (`tests/server-v2`, socket.io 2.5.1) is refused with a clear typed
//! error, reported once and not retried.

mod common;

use common::{builder, next_lifecycle, Mode};
use ferrio::{ConnectError, SocketEvent, SocketState};
use ferrio_integration_tests::TestServer;

async fn a_socket_io_v2_server_is_refused_with_a_clear_error_once(mode: Mode) {
    let server = TestServer::start_v2().await;
    let manager = builder(&server, mode).build().expect("manager");
    let socket = manager.socket("/");
    let mut events = socket.events();
    let result = socket.connect().await;
    match &result {
        Err(ConnectError::Rejected { message, .. }) => {
            assert!(message.contains("older Socket.IO protocol"), "{message}");
        }
        other => panic!("expected a refusal naming the older protocol, got {other:?}"),
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

mod v2_server {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polling() {
        a_socket_io_v2_server_is_refused_with_a_clear_error_once(Mode::Polling).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn websocket() {
        a_socket_io_v2_server_is_refused_with_a_clear_error_once(Mode::WebSocket).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upgrade() {
        a_socket_io_v2_server_is_refused_with_a_clear_error_once(Mode::Upgrade).await;
    }
}
