//! `ferrio connect` against a Socket.IO 2.x server (`tests/server-v2`, socket.io 2.5.1):
//! no flag needed (the version is found out), over every transport; `--server-version 4`
//! refuses it.

mod common;

use common::{finish, Cli};
use ferrio_integration_tests::{binary, TestServer};
use serde_json::json;

async fn talks_to_a_socket_io_2_server_without_a_flag(transport: &str) {
    let server = TestServer::start_v2().await;
    let mut cli = Cli::connect(&server.url(), &["--transport", transport]);
    let connect = cli.line().await;
    assert_eq!(connect["type"], "connect", "{connect}");
    assert_eq!(connect["namespace"], "/", "{connect}");
    server.wait_for_sockets("/", 1).await;

    let args = json!(["hi", binary(&[0, 1, 255]), {"deep": [binary(&[7; 300])]}]);
    cli.command(json!({"emit": "echo", "args": args, "ack": true}))
        .await;
    assert_eq!(
        cli.line().await,
        json!({"type": "ack", "namespace": "/", "event": "echo", "args": args})
    );
    server
        .emit("/", "news", json!([{"n": 1}, binary(&[5, 6])]))
        .await;
    assert_eq!(
        cli.line().await,
        json!({"type": "event", "namespace": "/", "event": "news", "args": [{"n": 1}, binary(&[5, 6])]})
    );
    finish(&mut cli).await;
}

#[tokio::test]
async fn talks_to_a_socket_io_2_server_without_a_flag_over_polling() {
    talks_to_a_socket_io_2_server_without_a_flag("polling").await;
}

#[tokio::test]
async fn talks_to_a_socket_io_2_server_without_a_flag_over_websocket() {
    talks_to_a_socket_io_2_server_without_a_flag("websocket").await;
}

#[tokio::test]
async fn talks_to_a_socket_io_2_server_without_a_flag_over_an_upgrade() {
    talks_to_a_socket_io_2_server_without_a_flag("upgrade").await;
}

#[tokio::test]
async fn server_version_4_refuses_a_socket_io_2_server() {
    let server = TestServer::start_v2().await;
    let mut cli = Cli::connect(&server.url(), &["--server-version", "4"]);
    cli.close_stdin();
    let lines = cli.rest().await;
    assert_eq!(cli.exit_code().await, 1, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|line| line.to_string().contains("older Socket.IO protocol")),
        "{lines:?}"
    );
}
