//! `ferrio connect` against a Socket.IO 2.x server (`tests/server-v2`, socket.io 2.5.1):
//! no flag needed (the version is found out), over every transport; `--server-version 4`
//! refuses it.

use std::process::Stdio;
use std::time::Duration;

use ferrio_integration_tests::{binary, TestServer};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long one output line (or the exit) may take before the test fails.
const LINE_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `ferrio connect` with its stdin and stdout.
struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Cli {
    fn connect(url: &str, args: &[&str]) -> Cli {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .arg("connect")
            .arg(url)
            .args(["--output", "json"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the ferrio binary starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Cli {
            child,
            stdin,
            stdout,
        }
    }

    async fn command(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        let line = format!("{command}\n");
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
    }

    /// The next output line, or `None` at the end of stdout.
    async fn try_line(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(LINE_TIMEOUT, self.stdout.next_line())
            .await
            .expect("an output line within the timeout")
            .expect("stdout readable")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}")))
    }

    async fn line(&mut self) -> Value {
        self.try_line().await.expect("another output line")
    }

    /// Ends the input; returns the exit code and the lines printed until the exit.
    async fn finish(&mut self) -> (i32, Vec<Value>) {
        self.stdin = None;
        let mut rest = Vec::new();
        while let Some(line) = self.try_line().await {
            rest.push(line);
        }
        let status = tokio::time::timeout(LINE_TIMEOUT, self.child.wait())
            .await
            .expect("the process exits within the timeout")
            .expect("exit status");
        (status.code().expect("an exit code"), rest)
    }
}

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
    let (code, rest) = cli.finish().await;
    assert_eq!(code, 0, "lines after end of input: {rest:?}");
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
    let (code, lines) = cli.finish().await;
    assert_eq!(code, 1, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|line| line.to_string().contains("older Socket.IO protocol")),
        "{lines:?}"
    );
}
