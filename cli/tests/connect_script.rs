//! `ferrio connect` in shell scripts (`--count`, `--timeout`) and its readable output,
//! against `ferrio serve`.

mod common;

use std::process::Stdio;

use common::{within, Serve};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// Starts `ferrio connect URL ARGS...` with piped stdin and stdout.
fn connect(url: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("connect")
        .arg(url)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the ferrio binary starts")
}

/// Writes `lines` to stdin, keeping it open unless `close`.
async fn write_lines(child: &mut Child, lines: &[&str], close: bool) {
    let stdin = child.stdin.as_mut().expect("piped stdin");
    for line in lines {
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }
    stdin.flush().await.unwrap();
    if close {
        child.stdin = None;
    }
}

/// Waits for the exit; returns the status code and stdout.
async fn finish(child: Child) -> (i32, String) {
    let output = within("exit", child.wait_with_output()).await.unwrap();
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

#[tokio::test]
async fn count_exits_zero_after_that_many_events_with_stdin_still_open() {
    let server = Serve::start().await;
    let mut child = connect(&server.url, &["--count", "2"]);
    let echo = r#"{"emit":"echo","args":["n"]}"#;
    write_lines(&mut child, &[echo, echo, echo], false).await;
    let _stdin_stays_open = child.stdin.take();
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 0, "{stdout}");
    let lines = json_lines(&stdout);
    let events = lines.iter().filter(|line| line["type"] == "event").count();
    assert_eq!(events, 2, "{stdout}");
    assert_eq!(lines[0]["type"], "connect", "{stdout}");
}

#[tokio::test]
async fn end_of_input_waits_for_the_count() {
    let server = Serve::start().await;
    let mut child = connect(&server.url, &["--count", "1", "--timeout", "10"]);
    write_lines(&mut child, &[r#"{"emit":"echo","args":[1]}"#], true).await;
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 0, "{stdout}");
    let lines = json_lines(&stdout);
    assert!(
        lines
            .iter()
            .any(|line| line["type"] == "event" && line["event"] == "echo"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_timeout_before_the_count_exits_3() {
    let server = Serve::start().await;
    // Room to connect on a busy machine (a timeout before that exits 1): 5 s.
    let mut child = connect(&server.url, &["--count", "5", "--timeout", "5"]);
    write_lines(&mut child, &[], true).await;
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 3, "{stdout}");
    assert_eq!(json_lines(&stdout)[0]["type"], "connect", "{stdout}");
}

#[tokio::test]
async fn a_timeout_without_a_count_is_a_normal_end() {
    let server = Serve::start().await;
    // Room to connect on a busy machine (a timeout before that exits 1): 5 s.
    let mut child = connect(&server.url, &["--timeout", "5"]);
    write_lines(&mut child, &[], true).await;
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 0, "{stdout}");
}

#[tokio::test]
async fn text_output_prints_readable_timestamped_lines() {
    let server = Serve::start().await;
    let mut child = connect(&server.url, &["--output", "text"]);
    write_lines(
        &mut child,
        &[r#"{"emit":"echo","args":["hi",{"$binary":"AQID"}],"ack":true}"#],
        true,
    )
    .await;
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout}");
    for line in &lines {
        let time = &line[..12];
        assert!(
            time.as_bytes()[2] == b':' && time.as_bytes()[8] == b'.',
            "no timestamp: {line:?}"
        );
        assert!(!line.contains("\"type\""), "a JSON line: {line:?}");
    }
    assert!(lines[0].contains("connected"), "{stdout}");
    assert!(
        stdout.contains(r#"echo -> "hi" <3 bytes 01 02 03>"#),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_limit_of_zero_that_would_refuse_everything_is_a_usage_error() {
    // Checked by the core when the manager is made: nothing is sent to the URL.
    let output = common::run_connect(
        "http://127.0.0.1:9",
        &["--max-incoming-bytes", "0"],
        "",
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("max_incoming_bytes must be at least 1, not 0"),
        "{stderr}"
    );
}
