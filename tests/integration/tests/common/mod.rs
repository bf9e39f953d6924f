//! Shared helpers of the client's integration tests.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use ferrio::{Client, Event, EventStream, Manager, ManagerBuilder, SocketEvent, TransportKind};
use ferrio_integration_tests::TestServer;

/// How long any single wait may take before the test fails (generous: slow CI machines).
pub const WAIT: Duration = Duration::from_secs(20);

/// The three ways to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only.
    WebSocket,
    /// Polling, then upgrade to WebSocket (the default).
    Upgrade,
}

impl Mode {
    /// The transport the connection ends up on.
    pub fn final_transport(self) -> TransportKind {
        match self {
            Mode::Polling => TransportKind::Polling,
            Mode::WebSocket | Mode::Upgrade => TransportKind::WebSocket,
        }
    }
}

/// A manager builder for `server` in `mode`.
pub fn builder(server: &TestServer, mode: Mode) -> ManagerBuilder {
    let builder = Manager::builder(&server.url());
    match mode {
        Mode::Polling => builder.transports(&[TransportKind::Polling]),
        Mode::WebSocket => builder.transports(&[TransportKind::WebSocket]),
        Mode::Upgrade => builder,
    }
}

/// Logs the client's tracing output to the test's stderr when `RUST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// A client connected to `server`'s `/` in `mode`, after any upgrade completed.
pub async fn connect(server: &TestServer, mode: Mode) -> Client {
    let client = Client::builder(&server.url())
        .manager(|b| match mode {
            Mode::Polling => b.transports(&[TransportKind::Polling]),
            Mode::WebSocket => b.transports(&[TransportKind::WebSocket]),
            Mode::Upgrade => b,
        })
        .connect()
        .await
        .expect("connect");
    wait_for_transport(client.manager(), mode.final_transport()).await;
    client
}

/// Waits until `manager` uses `transport`.
pub async fn wait_for_transport(manager: &Manager, transport: TransportKind) {
    let mut engine = manager.watch_engine();
    within(async {
        while engine.borrow_and_update().transport != Some(transport) {
            engine.changed().await.expect("manager alive");
        }
    })
    .await;
}

/// Runs `future`, failing the test if it takes longer than [`WAIT`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    init_logs();
    tokio::time::timeout(WAIT, future)
        .await
        .expect("timed out waiting")
}

/// The next event named `name` on `stream` (other items are skipped).
pub async fn next_event(stream: &mut EventStream, name: &str) -> Event {
    within(async {
        loop {
            match stream.next().await.expect("stream open") {
                SocketEvent::Event(event) if event.name == name => return event,
                _ => continue,
            }
        }
    })
    .await
}

/// The next item of `stream` that is not an event.
pub async fn next_lifecycle(stream: &mut EventStream) -> SocketEvent {
    within(async {
        loop {
            match stream.next().await.expect("stream open") {
                SocketEvent::Event(_) => continue,
                other => return other,
            }
        }
    })
    .await
}

/// Waits for the socket to connect again: the next `Connect` on `stream`, after any
/// number of failed attempts (`ConnectError`: the attempt came before the network was
/// back, as a slow machine may schedule it); any other lifecycle event fails the test.
pub async fn next_connect(stream: &mut EventStream) -> SocketEvent {
    within(async {
        loop {
            match stream.next().await.expect("stream open") {
                SocketEvent::Event(_) | SocketEvent::ConnectError(_) => continue,
                connect @ SocketEvent::Connect { .. } => return connect,
                other => panic!("expected a connect, got {other:?}"),
            }
        }
    })
    .await
}

/// Generates one `#[tokio::test]` per [`Mode`] calling `$body(mode)`.
#[macro_export]
macro_rules! per_transport {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                $body(common::Mode::Polling).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                $body(common::Mode::WebSocket).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upgrade() {
                $body(common::Mode::Upgrade).await
            }
        }
    };
}

/// Applies `mode`'s transports to a manager builder.
pub fn builder_for(builder: ManagerBuilder, mode: Mode) -> ManagerBuilder {
    match mode {
        Mode::Polling => builder.transports(&[TransportKind::Polling]),
        Mode::WebSocket => builder.transports(&[TransportKind::WebSocket]),
        Mode::Upgrade => builder,
    }
}

/// Generates one `#[tokio::test]` over WebSocket and one over polling calling `$body(mode)`.
#[macro_export]
macro_rules! per_transport_pair {
    ($body:ident) => {
        mod $body {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                super::$body(common::Mode::Polling).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                super::$body(common::Mode::WebSocket).await
            }
        }
    };
}
