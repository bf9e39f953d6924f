//! The CLI tests' shared parts: a `ferrio serve --port 0` child process, killed on drop; a
//! `ferrio connect` child driven through its stdin and stdout ([`Cli`]); runs of
//! `ferrio connect` and their JSON lines.

#![allow(dead_code)] // Each test crate uses its own part.

use std::process::Stdio;
use std::time::Duration;

use ferrio::{Event, EventStream, SocketEvent};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

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

/// A running `ferrio connect` with its stdin and stdout.
pub struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Cli {
    /// Starts `ferrio connect URL ARGS...`.
    pub fn connect(url: &str, args: &[&str]) -> Cli {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .arg("connect")
            .arg(url)
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

    /// Writes one input line.
    pub async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Writes one JSON command.
    pub async fn command(&mut self, command: Value) {
        self.send(&command.to_string()).await;
    }

    /// Closes stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Takes stdin, for another task to write to while the output is read; dropping it
    /// ends the input.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is open")
    }

    /// The next output line, or `None` at the end of stdout.
    pub async fn try_line(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(TIMEOUT, self.stdout.next_line())
            .await
            .expect("an output line within the timeout")
            .expect("stdout readable")?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}")),
        )
    }

    /// The next output line; fails at the end of stdout.
    pub async fn line(&mut self) -> Value {
        self.try_line().await.expect("another output line")
    }

    /// Every line until stdout ends.
    pub async fn rest(&mut self) -> Vec<Value> {
        let mut lines = Vec::new();
        while let Some(line) = self.try_line().await {
            lines.push(line);
        }
        lines
    }

    /// The exit status, after stdout ended.
    pub async fn exit_code(&mut self) -> i32 {
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("the process exits within the timeout")
            .unwrap();
        status.code().expect("an exit code")
    }
}

/// Ends the input and checks for a clean exit; returns the last lines.
pub async fn finish(cli: &mut Cli) -> Vec<Value> {
    cli.close_stdin();
    let rest = cli.rest().await;
    assert_eq!(
        cli.exit_code().await,
        0,
        "lines after end of input: {rest:?}"
    );
    rest
}
