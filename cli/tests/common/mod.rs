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
