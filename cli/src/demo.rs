//! `ferrio demo`: the embedded server and two clients, alice and bob, in this process, going
//! through what Ferrio does step by step while printing a transcript with timings.
//!
//! Every step runs under `--step-timeout`; a step that fails or times out ends the demo
//! with a message naming it and exit status 1.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use ferrio::{
    Client, DisconnectReason, Event, EventStream, ManagerEvent, SocketEvent, TransportKind, Value,
};
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::args::DemoArgs;
use crate::pretty::{binary_text, value_text, Style};
use crate::server::EmbeddedServer;

/// The steps, in order: name and what the step shows.
const STEPS: [(&str, &str); 7] = [
    (
        "connect",
        "both clients connect (HTTP long-polling first, then the upgrade to WebSocket)",
    ),
    (
        "event",
        "alice emits \"chat\"; the server sends it to every client",
    ),
    (
        "ack",
        "alice emits \"echo\" and waits for the server's acknowledgement",
    ),
    (
        "room",
        "bob joins the room \"lobby\"; alice broadcasts to that room",
    ),
    (
        "binary",
        "alice sends bytes; they come back unchanged in the acknowledgement",
    ),
    (
        "drop",
        "the server drops bob's connection, as a network failure would",
    ),
    ("reconnect", "bob reconnects by itself, then emits again"),
];

/// First reconnection delay of the demo's clients (the default is 1 s), to keep it short.
const RECONNECTION_DELAY: Duration = Duration::from_millis(100);
/// Longest reconnection delay of the demo's clients.
const RECONNECTION_DELAY_MAX: Duration = Duration::from_millis(500);
/// Size of the binary payload of step 5.
const BINARY_SIZE: usize = 1024;

/// Runs `ferrio demo` and returns the exit status.
pub async fn run(args: DemoArgs) -> ExitCode {
    let mut transcript = Transcript::new(Style::for_stdout());
    let started = Instant::now();
    let server =
        match EmbeddedServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), false).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!(
                    "ferrio demo: FAILED to start the embedded server on a loopback port: {error}"
                );
                return ExitCode::FAILURE;
            }
        };
    transcript.intro(&server.url());
    let mut demo = Demo {
        server,
        transcript,
        step_timeout: args.step_timeout,
        peers: None,
    };
    let outcome = demo.run_steps().await;
    let Demo {
        server,
        mut transcript,
        peers,
        ..
    } = demo;
    // Closing is bounded too: a stuck close must not hang the demo.
    let close = async {
        if let Some((alice, bob)) = peers {
            alice.client.close().await;
            bob.client.close().await;
        }
        server.shutdown().await;
    };
    let closed = tokio::time::timeout(args.step_timeout, close).await.is_ok();
    match (outcome, closed) {
        (Ok(()), true) => {
            transcript.passed(started.elapsed());
            ExitCode::SUCCESS
        }
        (Ok(()), false) => {
            eprintln!("ferrio demo: FAILED: closing the clients and the server timed out");
            ExitCode::FAILURE
        }
        (Err(failure), _) => {
            eprintln!(
                "ferrio demo: FAILED at step {} ({}): {}",
                failure.step, failure.name, failure.message
            );
            ExitCode::FAILURE
        }
    }
}

/// A step that failed.
struct Failure {
    step: usize,
    name: &'static str,
    message: String,
}

/// One client and what it observes.
struct Peer {
    name: &'static str,
    client: Client,
    events: EventStream,
    manager_events: broadcast::Receiver<ManagerEvent>,
}

impl Peer {
    /// Connects, then waits for the upgrade to WebSocket.
    async fn connect(
        name: &'static str,
        url: &str,
        transcript: &mut Transcript,
    ) -> Result<Peer, String> {
        let started = Instant::now();
        let client = Client::builder(url)
            .manager(|manager| {
                manager
                    .reconnection_delay(RECONNECTION_DELAY)
                    .reconnection_delay_max(RECONNECTION_DELAY_MAX)
            })
            .connect()
            .await
            .map_err(|e| format!("{name} could not connect: {e}"))?;
        let events = client.events();
        let manager_events = client.manager().events();
        let mut engine = client.manager().watch_engine();
        engine
            .wait_for(|state| state.transport == Some(TransportKind::WebSocket))
            .await
            .map_err(|_| format!("{name}'s connection closed before the upgrade"))?;
        let sid = client.id().unwrap_or_default();
        transcript.line(
            name,
            &format!("connected, sid {sid}, polling upgraded to websocket"),
            Some(started.elapsed()),
        );
        Ok(Peer {
            name,
            client,
            events,
            manager_events,
        })
    }

    /// The next event called `event`; other events are skipped.
    async fn next_event(&mut self, event: &str) -> Result<Event, String> {
        loop {
            match self.events.next().await {
                Some(SocketEvent::Event(received)) if received.name == event => {
                    return Ok(received)
                }
                Some(SocketEvent::Disconnect(reason)) => {
                    return Err(format!(
                        "{} was disconnected ({reason}) while waiting for \"{event}\"",
                        self.name
                    ))
                }
                Some(_) => {}
                None => return Err(format!("{}'s client closed", self.name)),
            }
        }
    }

    /// The next disconnection.
    async fn next_disconnect(&mut self) -> Result<DisconnectReason, String> {
        loop {
            match self.events.next().await {
                Some(SocketEvent::Disconnect(reason)) => return Ok(reason),
                Some(_) => {}
                None => return Err(format!("{}'s client closed", self.name)),
            }
        }
    }

    /// The next connection; returns the new socket id.
    async fn next_connect(&mut self) -> Result<String, String> {
        loop {
            match self.events.next().await {
                Some(SocketEvent::Connect { sid, .. }) => return Ok(sid),
                Some(SocketEvent::ConnectError(error)) => {
                    return Err(format!("{} could not reconnect: {error}", self.name))
                }
                Some(_) => {}
                None => return Err(format!("{}'s client closed", self.name)),
            }
        }
    }

    /// The next manager event that `pick` selects.
    async fn next_manager_event<T>(
        &mut self,
        pick: impl Fn(&ManagerEvent) -> Option<T>,
    ) -> Result<T, String> {
        loop {
            match self.manager_events.recv().await {
                Ok(event) => {
                    if let Some(picked) = pick(&event) {
                        return Ok(picked);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(format!("{}'s manager closed", self.name))
                }
            }
        }
    }
}

/// The demo's state between steps.
struct Demo {
    server: EmbeddedServer,
    transcript: Transcript,
    step_timeout: Duration,
    peers: Option<(Peer, Peer)>,
}

impl Demo {
    /// Runs every step, each under the step timeout.
    async fn run_steps(&mut self) -> Result<(), Failure> {
        for (index, (name, summary)) in STEPS.iter().enumerate() {
            let step = index + 1;
            self.transcript.header(step, name, summary);
            let result = tokio::time::timeout(self.step_timeout, self.run_step(step)).await;
            let message = match result {
                Ok(Ok(())) => continue,
                Ok(Err(message)) => message,
                Err(_) => format!("no result within {} s", self.step_timeout.as_secs_f64()),
            };
            return Err(Failure {
                step,
                name,
                message,
            });
        }
        Ok(())
    }

    async fn run_step(&mut self, step: usize) -> Result<(), String> {
        if step == 1 {
            return self.connect().await;
        }
        let Some((alice, bob)) = self.peers.as_mut() else {
            return Err("the clients are not connected".to_owned());
        };
        let transcript = &mut self.transcript;
        match step {
            2 => event(alice, bob, transcript).await,
            3 => ack(alice, transcript).await,
            4 => room(alice, bob, transcript).await,
            5 => binary(alice, transcript).await,
            6 => drop_connection(&self.server, bob, transcript).await,
            _ => reconnect(bob, transcript).await,
        }
    }

    async fn connect(&mut self) -> Result<(), String> {
        let url = self.server.url();
        let alice = Peer::connect("alice", &url, &mut self.transcript).await?;
        let bob = Peer::connect("bob", &url, &mut self.transcript).await?;
        self.peers = Some((alice, bob));
        Ok(())
    }
}

/// Step 2: an event reaches the other client.
async fn event(
    alice: &mut Peer,
    bob: &mut Peer,
    transcript: &mut Transcript,
) -> Result<(), String> {
    let text = "hello, everyone";
    let started = Instant::now();
    alice
        .client
        .emit("chat", &text)
        .await
        .map_err(|e| format!("alice could not emit: {e}"))?;
    transcript.sent("alice", &format!("chat {}", value_text(&json!(text))));
    let received = bob.next_event("chat").await?;
    transcript.received(
        "bob",
        &format!("chat{}", args_text(received.args())),
        started.elapsed(),
    );
    expect_args(received.args(), &[Value::from(text)])
}

/// Step 3: an acknowledgement round trip.
async fn ack(alice: &mut Peer, transcript: &mut Transcript) -> Result<(), String> {
    let started = Instant::now();
    transcript.sent("alice", "echo \"ping\" 42, asking for an ack");
    let reply = alice
        .client
        .emit_with_ack("echo", &("ping", 42))
        .await
        .map_err(|e| format!("no acknowledgement: {e}"))?;
    transcript.received(
        "alice",
        &format!("ack{}", args_text(reply.args())),
        started.elapsed(),
    );
    let (text, number): (String, u32) = reply
        .parse()
        .map_err(|e| format!("unexpected acknowledgement: {e}"))?;
    if (text.as_str(), number) == ("ping", 42) {
        Ok(())
    } else {
        Err(format!("unexpected acknowledgement {text:?} {number}"))
    }
}

/// Step 4: a room broadcast reaches the member.
async fn room(alice: &mut Peer, bob: &mut Peer, transcript: &mut Transcript) -> Result<(), String> {
    let started = Instant::now();
    let joined = bob
        .client
        .emit_with_ack("join", &"lobby")
        .await
        .map_err(|e| format!("bob could not join: {e}"))?;
    transcript.line(
        "bob",
        &format!("→ join \"lobby\" ← ack{}", args_text(joined.args())),
        Some(started.elapsed()),
    );
    let started = Instant::now();
    let text = "hi, lobby";
    alice
        .client
        .emit("broadcast", &("lobby", text))
        .await
        .map_err(|e| format!("alice could not emit: {e}"))?;
    transcript.sent(
        "alice",
        &format!("broadcast \"lobby\" {}", value_text(&json!(text))),
    );
    let received = bob.next_event("message").await?;
    transcript.received(
        "bob",
        &format!("message{}", args_text(received.args())),
        started.elapsed(),
    );
    expect_args(received.args(), &[Value::from(text)])
}

/// Step 5: bytes make a round trip unchanged.
async fn binary(alice: &mut Peer, transcript: &mut Transcript) -> Result<(), String> {
    let bytes: Bytes = (0..BINARY_SIZE).map(|i| (i % 256) as u8).collect();
    let started = Instant::now();
    transcript.sent(
        "alice",
        &format!("echo {}, asking for an ack", binary_text(&bytes)),
    );
    let reply = alice
        .client
        .emit_with_ack("echo", &bytes)
        .await
        .map_err(|e| format!("no acknowledgement: {e}"))?;
    let same = matches!(reply.args(), [Value::Binary(back)] if *back == bytes);
    let shown = match reply.args() {
        [Value::Binary(back)] => binary_text(back),
        other => format!("{other:?}"),
    };
    transcript.received(
        "alice",
        &format!("ack {shown}{}", if same { ", identical" } else { "" }),
        started.elapsed(),
    );
    if same {
        Ok(())
    } else {
        Err("the bytes came back changed".to_owned())
    }
}

/// Step 6: the server cuts bob's connection; bob sees `transport close`.
async fn drop_connection(
    server: &EmbeddedServer,
    bob: &mut Peer,
    transcript: &mut Transcript,
) -> Result<(), String> {
    let sid = bob.client.id().ok_or("bob is not connected")?;
    let started = Instant::now();
    if !server.drop_connection(&sid) {
        return Err(format!("the server has no connection for bob's sid {sid}"));
    }
    transcript.line("server", "closes bob's TCP connection", None);
    let reason = bob.next_disconnect().await?;
    transcript.received("bob", &format!("disconnect: {reason}"), started.elapsed());
    if reason == DisconnectReason::TransportClose {
        Ok(())
    } else {
        Err(format!(
            "bob saw \"{reason}\", expected \"transport close\""
        ))
    }
}

/// Step 7: bob reconnects by itself and emits again.
async fn reconnect(bob: &mut Peer, transcript: &mut Transcript) -> Result<(), String> {
    let started = Instant::now();
    let attempt = bob
        .next_manager_event(|event| match event {
            ManagerEvent::ReconnectAttempt(attempt) => Some(*attempt),
            _ => None,
        })
        .await?;
    transcript.line(
        "bob",
        &format!(
            "reconnection attempt {attempt} (backoff {}–{} ms with jitter)",
            RECONNECTION_DELAY.as_millis(),
            RECONNECTION_DELAY_MAX.as_millis()
        ),
        Some(started.elapsed()),
    );
    let sid = bob.next_connect().await?;
    let attempts = bob
        .next_manager_event(|event| match event {
            ManagerEvent::Reconnect(attempts) => Some(*attempts),
            _ => None,
        })
        .await?;
    transcript.line(
        "bob",
        &format!(
            "reconnected after {attempts} attempt{}, new sid {sid}",
            if attempts == 1 { "" } else { "s" }
        ),
        Some(started.elapsed()),
    );
    let started = Instant::now();
    transcript.sent("bob", "echo \"back again\", asking for an ack");
    let reply = bob
        .client
        .emit_with_ack("echo", &"back again")
        .await
        .map_err(|e| format!("no acknowledgement after the reconnection: {e}"))?;
    transcript.received(
        "bob",
        &format!("ack{}", args_text(reply.args())),
        started.elapsed(),
    );
    expect_args(reply.args(), &[Value::from("back again")])
}

/// ` "a" 1`: arguments for the transcript.
fn args_text(args: &[Value]) -> String {
    args.iter()
        .map(|arg| match arg {
            Value::Binary(bytes) => format!(" {}", binary_text(bytes)),
            other => format!(" {}", value_text(&crate::json::to_json(other.clone()))),
        })
        .collect()
}

fn expect_args(got: &[Value], expected: &[Value]) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "expected{}, got{}",
            args_text(expected),
            args_text(got)
        ))
    }
}

/// The demo's stdout.
struct Transcript {
    style: Style,
}

impl Transcript {
    fn new(style: Style) -> Transcript {
        Transcript { style }
    }

    fn write(&mut self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }

    fn intro(&mut self, url: &str) {
        let text = format!(
            "{}\nserver listening on {url} (socketioxide, in this process)",
            self.style.bold(
                "Ferrio demo: two Ferrio clients, alice and bob, and an embedded Socket.IO server."
            )
        );
        self.write(&text);
    }

    fn header(&mut self, step: usize, name: &str, summary: &str) {
        let text = format!(
            "\n{} {summary}",
            self.style
                .bold(&format!("[{step}/{}] {name}:", STEPS.len()))
        );
        self.write(&text);
    }

    /// `who  text  (12.3 ms)`.
    fn line(&mut self, who: &str, text: &str, elapsed: Option<Duration>) {
        let time = elapsed
            .map(|elapsed| format!("  {}", self.style.dim(&format!("({})", format_ms(elapsed)))))
            .unwrap_or_default();
        let text = format!("      {who:<6} {text}{time}");
        self.write(&text);
    }

    fn sent(&mut self, who: &str, text: &str) {
        let arrow = self.style.info("→");
        self.line(who, &format!("{arrow} {text}"), None);
    }

    fn received(&mut self, who: &str, text: &str, elapsed: Duration) {
        let arrow = self.style.good("←");
        self.line(who, &format!("{arrow} {text}"), Some(elapsed));
    }

    fn passed(&mut self, elapsed: Duration) {
        let text = format!(
            "\n{} in {}.\nNext: `ferrio serve` runs this server on http://127.0.0.1:3000; \
             `ferrio connect http://127.0.0.1:3000` talks to it (try `emit chat hello`).",
            self.style
                .good(&format!("All {} steps passed", STEPS.len())),
            format_ms(elapsed)
        );
        self.write(&text);
    }
}

/// `0.8 ms`, `12 ms`, `1.20 s`.
fn format_ms(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_ms_or_seconds() {
        assert_eq!(format_ms(Duration::from_micros(800)), "0.8 ms");
        assert_eq!(format_ms(Duration::from_millis(12)), "12 ms");
        assert_eq!(format_ms(Duration::from_millis(1200)), "1.20 s");
    }

    #[test]
    fn arguments_print_as_json_with_binary_as_bytes() {
        let args = [Value::from("a"), Value::Binary(Bytes::from_static(&[1, 2]))];
        assert_eq!(args_text(&args), r#" "a" <2 bytes 01 02>"#);
    }
}
