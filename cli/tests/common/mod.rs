//! A `ferrio serve --port 0` child process for the tests, killed on drop.

#![allow(dead_code)] // Each test crate uses its own part.

use std::process::Stdio;
use std::time::Duration;

use ferrio::{Event, EventStream, SocketEvent};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long anything awaited may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A running `ferrio serve` on an ephemeral loopback port.
pub struct Serve {
    _child: Child,
    /// Its URL, as it printed it.
    pub url: String,
}

impl Serve {
    /// Starts the server and reads its URL from the first line of stdout.
    pub async fn start() -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the ferrio binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(TIMEOUT, lines.next_line())
            .await
            .expect("the URL within the timeout")
            .expect("stdout readable")
            .expect("a first line");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(!url.ends_with(":0"), "{url}");
        Serve { _child: child, url }
    }
}

/// Awaits `future`, failing the test after [`TIMEOUT`].
pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {TIMEOUT:?}"))
}

/// The next event called `name` on `events`; other events are skipped.
pub async fn next_event(events: &mut EventStream, name: &str) -> Event {
    within(&format!("event {name}"), async {
        loop {
            match events.next().await {
                Some(SocketEvent::Event(event)) if event.name == name => return event,
                Some(_) => {}
                None => panic!("the stream ended before {name}"),
            }
        }
    })
    .await
}

/// How long one `ferrio connect` run may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// The proxy variables a run clears, so only those a test sets apply.
const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Runs `ferrio connect URL ARGS...` with `input` on stdin (ended after it), `env` set and
/// the other proxy variables cleared; returns its output once it exited.
pub async fn run_connect(
    url: &str,
    args: &[&str],
    input: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrio"));
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    let mut child = command
        .envs(env.iter().copied())
        .arg("connect")
        .arg(url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the ferrio binary starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
        .await
        .expect("stdin");
    drop(stdin);
    tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .expect("ferrio exits within the timeout")
        .expect("its output")
}

/// The JSON lines of a run's stdout.
pub fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// An ack'ed `echo` of `argument`, as one input line.
pub fn echo_line(argument: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"emit": "echo", "args": [argument], "ack": true})
    )
}

/// Asserts that a run connected, got the ack of [`echo_line`]`(argument)` and exited 0.
pub fn assert_echoed(output: &std::process::Output, argument: &str) {
    let lines = json_lines(output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&serde_json::json!("connect")),
        "{lines:?} {stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "ack" && l["args"] == serde_json::json!([argument])),
        "{lines:?} {stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{lines:?} {stderr}");
}
