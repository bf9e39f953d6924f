//! `ferrio demo` runs end to end on a machine with nothing else installed.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// The whole demo takes well under a second; this bounds a hang.
const DEMO_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn demo_runs_every_step_and_exits_zero() {
    let child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("demo")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the ferrio binary starts");
    let output = tokio::time::timeout(DEMO_TIMEOUT, child.wait_with_output())
        .await
        .expect("the demo ends within the timeout")
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for (step, name) in [
        "connect",
        "event",
        "ack",
        "room",
        "binary",
        "drop",
        "reconnect",
    ]
    .iter()
    .enumerate()
    {
        let header = format!("[{}/7] {name}:", step + 1);
        assert!(stdout.contains(&header), "no {header:?} in:\n{stdout}");
    }
    for shown in [
        "server listening on http://127.0.0.1:",
        "bob    ← chat \"hello, everyone\"",
        "alice  ← ack \"ping\" 42",
        "bob    ← message \"hi, lobby\"",
        "<1024 bytes 00 01 02 03 04 05 06 07 …>, identical",
        "bob    ← disconnect: transport close",
        "reconnected after",
        "bob    ← ack \"back again\"",
        "All 7 steps passed",
    ] {
        assert!(stdout.contains(shown), "no {shown:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains('\x1b'),
        "colors without a terminal:\n{stdout}"
    );
    assert!(stdout.contains(" ms)"), "no timings in:\n{stdout}");
}
