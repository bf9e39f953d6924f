//! The behaviour table's CLI driver: every scenario of `tests/behaviour/scenarios.json`
//! run through `ferrio connect` (JSON lines on stdin and stdout) against the reference server
//! over each of its transports; results in `target/behaviour/cli.json`.
//!
//! The CLI connects its namespaces (`--namespace`, `--auth`) when it starts, so a scenario's
//! `connect` steps wait for the `connect` or `connect_error` line of their namespace, and
//! emits written before that line test the CLI's buffering. Handlers are the driver's: an
//! `on` step routes the `event` lines of its event to its record, and answers the ones
//! that ask for an ack (`{"ack": ID, "args": ...}`) with its `reply`.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use ferrio_integration_tests::behaviour::{
    acks_ordered, emit_arguments, expect_disconnect, manager_route, matches, run_catalogue,
    runs_over, server_step, stats_match, Records, Scenario, Transport, STEP_WAIT,
};
use ferrio_integration_tests::TestServer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Where `event` lines go: (namespace, event) → (record, reply) of each `on` step.
type Routes = Arc<Mutex<HashMap<(String, String), Vec<(String, Option<Value>)>>>>;

/// Where every `event` line of a namespace also goes, as `[event, ...args]`: the records of
/// its `stream` steps (the CLI's output is its pull stream of events).
type Streams = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// The records of the `on_manager` steps: (record, the manager event kinds it takes; the
/// CLI prints lines for `reconnect_attempt`, `reconnect_error`, `reconnect` and
/// `reconnect_failed`).
type ManagerRoutes = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// The record the CLI's `stats` lines go to.
const STATS: &str = "other stats";

/// The record the CLI's `reconnect_failed` lines go to.
const RECONNECT_FAILED: &str = "other reconnect_failed";

/// The namespaces the scenario connects, in order, and the auth of those that send one.
fn connect_options(scenario: &Scenario) -> (Vec<String>, Option<Value>) {
    let mut namespaces: Vec<String> = Vec::new();
    let mut auth = None;
    for step in scenario.steps.iter().filter(|s| s["op"] == "connect") {
        let nsp = step["nsp"].as_str().unwrap_or("/").to_owned();
        if !namespaces.contains(&nsp) {
            namespaces.push(nsp);
        }
        if let Some(a) = step.get("auth") {
            auth = Some(a.clone());
        }
    }
    (namespaces, auth)
}

/// Routes one output line: events to the records of their routes (answering ack requests),
/// everything else to a record named after its type and namespace.
fn route(
    line: &Value,
    routes: &Routes,
    streams: &Streams,
    manager_routes: &ManagerRoutes,
    records: &Records,
    input_tx: &mpsc::WeakUnboundedSender<Value>,
) {
    let kind = line["type"].as_str().unwrap_or_default();
    let nsp = line["namespace"].as_str().unwrap_or_default();
    match kind {
        "event" => {
            let event = line["event"].as_str().unwrap_or_default();
            let targets = routes
                .lock()
                .expect("routes lock")
                .get(&(nsp.to_owned(), event.to_owned()))
                .cloned()
                .unwrap_or_default();
            let streamed = streams
                .lock()
                .expect("streams lock")
                .get(nsp)
                .cloned()
                .unwrap_or_default();
            for record in streamed {
                let mut call = vec![Value::from(event)];
                call.extend(line["args"].as_array().cloned().unwrap_or_default());
                records.push(&record, Value::Array(call));
            }
            for (record, reply) in targets {
                records.push(&record, line["args"].clone());
                if let (Some(reply), Some(id), Some(input_tx)) =
                    (reply, line.get("ack"), input_tx.upgrade())
                {
                    let _ = input_tx.send(json!({"ack": id, "args": reply}));
                }
            }
        }
        "ack" | "ack_error" => {
            let event = line["event"].as_str().unwrap_or_default();
            records.push(&format!("ack {nsp} {event}"), line.clone());
        }
        "disconnect" => records.push(&format!("disconnect {nsp}"), json!([line["reason"]])),
        "connect" | "connect_error" => records.push(&format!("connect {nsp}"), line.clone()),
        _ => {
            // A manager event's line as the catalogue writes the event: its kind, then the
            // attempt of `reconnect_attempt` and `reconnect`.
            let mut call = vec![Value::from(kind)];
            if matches!(kind, "reconnect_attempt" | "reconnect") {
                call.push(line["attempt"].clone());
            }
            let targets = manager_routes.lock().expect("manager routes lock").clone();
            for (record, kinds) in targets {
                if kinds.iter().any(|k| k == kind) {
                    records.push(&record, Value::Array(call.clone()));
                }
            }
            records.push(&format!("other {kind}"), line.clone());
        }
    }
}

/// The key of the line that ends a `flood` step's emit lines: not a command, so the CLI
/// answers it with an `error` line once it has taken every line before it.
const FLOOD_END: &str = "flood_end";

/// A `flood` step's outcomes once the CLI answered its end line: `sent` for the emit lines
/// without an `error` line, and each refusal's typed name (`buffer_full`, `closed`) or
/// message, pushed to `record` as one call.
async fn flood_outcomes(records: Records, record: String, errors_before: usize, count: u64) {
    let mut seen = errors_before;
    let mut outcomes = std::collections::BTreeSet::new();
    let mut refused = 0;
    loop {
        let Ok(lines) = records.wait_for("other error", seen + 1).await else {
            return;
        };
        let message = lines[seen]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seen += 1;
        if message.contains(FLOOD_END) {
            break;
        }
        refused += 1;
        outcomes.insert(if message.contains("buffer") {
            "buffer_full".to_owned()
        } else if message.contains("closed") {
            "closed".to_owned()
        } else {
            message
        });
    }
    if refused < count {
        outcomes.insert("sent".to_owned());
    }
    records.push(&record, json!(outcomes));
}

/// A running `ferrio connect` and what its output said.
struct Cli {
    child: Child,
    input_tx: Option<mpsc::UnboundedSender<Value>>,
    routes: Routes,
    streams: Streams,
    manager_routes: ManagerRoutes,
    records: Records,
}

impl Cli {
    fn start(scenario: &Scenario, transport: Transport, url: &str, records: Records) -> Cli {
        let (namespaces, auth) = connect_options(scenario);
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferrio"));
        // The query goes in the URL; each header is a --header.
        let query: Vec<String> = scenario.options["query"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let url = if query.is_empty() {
            url.to_owned()
        } else {
            format!("{url}/?{}", query.join("&"))
        };
        command
            .arg("connect")
            .arg(&url)
            .args(["--output", "json", "--no-proxy-env"]);
        if let Some(headers) = scenario.options["headers"].as_object() {
            for (name, value) in headers {
                let header = format!("{name}: {}", value.as_str().unwrap_or_default());
                command.args(["--header", &header]);
            }
        }
        command.args([
            "--transport",
            match transport {
                Transport::Polling => "polling",
                Transport::WebSocket => "websocket",
                Transport::Upgrade => "upgrade",
            },
        ]);
        for nsp in &namespaces {
            command.args(["--namespace", nsp]);
        }
        if let Some(auth) = auth {
            command.args(["--auth", &auth.to_string()]);
        }
        if let Some(retries) = scenario.options["retries"].as_u64() {
            command.args(["--retries", &retries.to_string()]);
        }
        if let Some(attempts) = scenario.options["reconnection_attempts"].as_u64() {
            command.args(["--reconnection-attempts", &attempts.to_string()]);
        }
        for key in [
            "max_incoming_bytes",
            "max_payload_packets",
            "max_preconnect_events",
            "max_preconnect_bytes",
        ] {
            if let Some(limit) = scenario.options[key].as_u64() {
                command.args([format!("--{}", key.replace('_', "-")), limit.to_string()]);
            }
        }
        if scenario
            .steps
            .iter()
            .any(|step| step["op"] == "expect_stats")
        {
            command.args(["--stats-interval", "0.05"]);
        }
        if let Some(delay) = scenario.options["reconnection_delay_ms"].as_u64() {
            let delay = delay.to_string();
            command.args(["--reconnection-delay-ms", &delay]);
            command.args(["--reconnection-delay-max-ms", &delay]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the ferrio binary starts");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (input_tx, mut input_rx) = mpsc::unbounded_channel::<Value>();
        tokio::spawn(async move {
            while let Some(line) = input_rx.recv().await {
                let text = format!("{line}\n");
                if stdin.write_all(text.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let routes = Routes::default();
        let streams = Streams::default();
        let manager_routes = ManagerRoutes::default();
        // The reader answers ack requests through a weak sender: stdin closes once `finish`
        // drops the last strong one.
        let (reader_routes, reader_streams, reader_manager_routes, reader_records, reader_tx) = (
            routes.clone(),
            streams.clone(),
            manager_routes.clone(),
            records.clone(),
            input_tx.downgrade(),
        );
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&text) {
                    Ok(line) => route(
                        &line,
                        &reader_routes,
                        &reader_streams,
                        &reader_manager_routes,
                        &reader_records,
                        &reader_tx,
                    ),
                    Err(_) => reader_records.push("other unparsed", Value::from(text)),
                }
            }
        });
        Cli {
            child,
            input_tx: Some(input_tx),
            routes,
            streams,
            manager_routes,
            records,
        }
    }

    fn send(&self, line: Value) -> Result<(), String> {
        self.input_tx
            .as_ref()
            .ok_or("stdin is closed")?
            .send(line)
            .map_err(|_| "the CLI's stdin is closed".to_owned())
    }

    /// The last `connect`/`connect_error`/`disconnect` line of `nsp` says it is connected.
    fn connected(&self, nsp: &str) -> bool {
        let connects = self.records.snapshot(&format!("connect {nsp}"));
        let connected = connects
            .last()
            .is_some_and(|line| line["type"] == "connect");
        let disconnects = self.records.snapshot(&format!("disconnect {nsp}")).len();
        connected && disconnects < connects.len()
    }

    async fn step(&mut self, step: &Value, server: &TestServer) -> Result<(), String> {
        let op = step["op"].as_str().ok_or("a step without op")?;
        let nsp = step["nsp"].as_str().unwrap_or("/").to_owned();
        match op {
            "connect" => {
                let lines = self.records.wait_for(&format!("connect {nsp}"), 1).await?;
                let line = &lines[0];
                match step.get("error") {
                    None if line["type"] == "connect" => Ok(()),
                    None => Err(format!("connect: {line}")),
                    Some(expected) if line["type"] == "connect_error" => {
                        if matches(expected, line) {
                            Ok(())
                        } else {
                            Err(format!("connect error: expected {expected}, got {line}"))
                        }
                    }
                    Some(_) => Err(format!("connect: expected a refusal, got {line}")),
                }
            }
            "emit" => {
                for args in emit_arguments(step) {
                    let errors = self.records.snapshot("other error").len();
                    self.send(json!({"emit": step["event"], "args": args, "namespace": nsp}))?;
                    // A refused emit is an `error` line; its message names the cause.
                    if let Some(error) = step["error"].as_str() {
                        let lines = self.records.wait_for("other error", errors + 1).await?;
                        let message = lines[errors]["message"].as_str().unwrap_or_default();
                        if !message.contains(error) {
                            return Err(format!(
                                "emit: expected a {error} error line, got {}",
                                lines[errors]
                            ));
                        }
                    }
                }
                Ok(())
            }
            "flood" => {
                let count = step["count"].as_u64().ok_or("flood without count")?;
                let bytes = step["bytes"].as_u64().ok_or("flood without bytes")?;
                let payload = "k".repeat(usize::try_from(bytes).unwrap_or(usize::MAX));
                let record = step["record"].as_str().ok_or("flood without record")?;
                let errors = self.records.snapshot("other error").len();
                for n in 0..count {
                    self.send(
                        json!({"emit": step["event"], "args": [n, payload], "namespace": nsp}),
                    )?;
                }
                // A line the CLI refuses: its `error` line says every emit before it was taken.
                self.send(json!({FLOOD_END: record}))?;
                tokio::spawn(flood_outcomes(
                    self.records.clone(),
                    record.to_owned(),
                    errors,
                    count,
                ));
                Ok(())
            }
            "emit_mixed" => {
                let event = step["event"].as_str().ok_or("emit_mixed without event")?;
                let count = step["count"].as_u64().ok_or("emit_mixed without count")?;
                let every = step["ack_every"]
                    .as_u64()
                    .ok_or("emit_mixed without ack_every")?;
                let record = format!("ack {nsp} {event}");
                for n in 0..count {
                    if n % every != every - 1 {
                        self.send(json!({"emit": event, "args": [n], "namespace": nsp}))?;
                        continue;
                    }
                    let before = self.records.snapshot(&record).len();
                    self.send(json!({"emit": event, "args": [n], "ack": true, "namespace": nsp}))?;
                    let lines = self.records.wait_for(&record, before + 1).await?;
                    let line = &lines[before];
                    if line["type"] != "ack" || !matches(&json!([n]), &line["args"]) {
                        return Err(format!("ack of {event} {n}: got {line}"));
                    }
                }
                Ok(())
            }
            "emit_volatile" => self.send(json!({"emit": step["event"], "args": step["args"],
                "volatile": true, "namespace": nsp})),
            "join_room" => self.send(json!({"join": step["room"], "namespace": nsp})),
            "leave_room" => self.send(json!({"leave": step["room"], "namespace": nsp})),
            "emit_ack" if step["error"] == "payload_too_large" => {
                // Refused before it is sent: an `error` line naming the server's maxPayload.
                let errors = self.records.snapshot("other error").len();
                let line = json!({"emit": step["event"], "args": step["args"], "ack": true,
                    "namespace": nsp});
                self.send(line)?;
                let lines = self.records.wait_for("other error", errors + 1).await?;
                let message = lines[errors]["message"].as_str().unwrap_or_default();
                if message.contains("maxPayload") {
                    Ok(())
                } else {
                    let got = &lines[errors];
                    Err(format!("emit_ack: expected a maxPayload error, got {got}"))
                }
            }
            "emit_ack" => {
                let event = step["event"].as_str().ok_or("emit_ack without event")?;
                let record = format!("ack {nsp} {event}");
                let before = self.records.snapshot(&record).len();
                let timeout = step["timeout_ms"]
                    .as_u64()
                    .unwrap_or(STEP_WAIT.as_millis() as u64);
                self.send(json!({"emit": event, "args": step["args"], "ack": true,
                    "timeout_ms": timeout, "namespace": nsp}))?;
                let lines = self.records.wait_for(&record, before + 1).await?;
                let line = &lines[before];
                match step["error"].as_str() {
                    None if line["type"] == "ack" && matches(&step["reply"], &line["args"]) => {
                        Ok(())
                    }
                    Some(error) if line["type"] == "ack_error" && line["error"] == error => Ok(()),
                    _ => Err(format!("ack of {event}: expected {step}, got {line}")),
                }
            }
            "on" => {
                let event = step["event"].as_str().ok_or("on without event")?;
                let record = step["record"].as_str().ok_or("on without record")?;
                self.routes
                    .lock()
                    .expect("routes lock")
                    .entry((nsp, event.to_owned()))
                    .or_default()
                    .push((record.to_owned(), step.get("reply").cloned()));
                Ok(())
            }
            "stream" => {
                let record = step["record"].as_str().ok_or("stream without record")?;
                self.streams
                    .lock()
                    .expect("streams lock")
                    .entry(nsp)
                    .or_default()
                    .push(record.to_owned());
                Ok(())
            }
            "on_manager" => {
                let route = manager_route(step)?;
                self.manager_routes
                    .lock()
                    .expect("manager routes lock")
                    .push(route);
                Ok(())
            }
            "expect" => self.records.expect(step).await,
            "disconnect" => self.send(json!({"disconnect": nsp})),
            "expect_disconnect" => expect_disconnect(&self.records, step).await,
            "expect_connected" => {
                let expected = step["connected"].as_bool().unwrap_or(true);
                if expected == self.connected(&nsp) {
                    return Ok(());
                }
                // A disconnect just asked for is printed once it is done (a reconnection's
                // `connect` line comes before the lines of what it carried, e.g. an ack's).
                let count = self.records.snapshot(&format!("connect {nsp}")).len();
                self.records
                    .wait_for(&format!("disconnect {nsp}"), count)
                    .await?;
                if expected == self.connected(&nsp) {
                    Ok(())
                } else {
                    Err(format!("connected: expected {expected}"))
                }
            }
            "expect_stats" => {
                // The stats lines (`--stats-interval`) printed after the step began.
                let mut seen = self.records.snapshot(STATS).len();
                let deadline = tokio::time::Instant::now() + STEP_WAIT;
                loop {
                    let lines = self.records.wait_for(STATS, seen + 1).await?;
                    let line = &lines[seen];
                    let acks = &line["ack_rtt_us"];
                    let count = acks["count"].as_u64().unwrap_or_default();
                    let percentiles = ["p50", "p90", "p99", "max"]
                        .map(|key| acks[key].as_u64().unwrap_or_default());
                    let mut observed = line.clone();
                    observed["acks"] = json!(count);
                    observed["acks_ordered"] = json!(acks_ordered(count, percentiles));
                    if stats_match(&step["stats"], &observed) {
                        return Ok(());
                    }
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!("stats: expected {}, got {line}", step["stats"]));
                    }
                    seen += 1;
                }
            }
            "server" => server_step(server, step).await,
            "close" => {
                // The CLI's close: the end of its input, then its exit.
                self.input_tx = None;
                self.exit().await
            }
            "expect_reconnect_failed" => self.records.wait_for(RECONNECT_FAILED, 1).await.map(drop),
            // The CLI's state is its process: ended for good, it exits (1 after reconnection
            // gave up) without waiting for the end of its input.
            "expect_ended" => self.exit().await,
            other => Err(format!(
                "op {other} has no meaning for the CLI (mark the scenario not applicable)"
            )),
        }
    }

    /// Ends the input and waits for the exit; kills the CLI if it does not exit in time.
    async fn finish(mut self) -> Result<(), String> {
        self.input_tx = None;
        self.exit().await
    }

    /// Waits for the CLI's exit: 0, or 1 once it said reconnection gave up (the connection
    /// is lost for good); kills it if it does not exit in time.
    async fn exit(&mut self) -> Result<(), String> {
        let gave_up = !self.records.snapshot(RECONNECT_FAILED).is_empty();
        match tokio::time::timeout(STEP_WAIT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) if gave_up && status.code() == Some(1) => Ok(()),
            Ok(status) => Err(format!("the CLI ended with {status:?}")),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(format!(
                    "the CLI did not exit within {STEP_WAIT:?} after its input ended"
                ))
            }
        }
    }
}

async fn run_scenario(
    scenario: &Scenario,
    transport: Transport,
    server: &TestServer,
    records: Records,
) -> Result<(), String> {
    // The CLI connects as it starts: the `server` steps that open the scenario (e.g. the
    // heartbeat it needs) run before.
    let steps: Vec<&Value> = scenario
        .steps
        .iter()
        .filter(|step| runs_over(step, transport))
        .collect();
    let leading = steps
        .iter()
        .take_while(|step| step["op"] == "server")
        .count();
    for (n, step) in steps[..leading].iter().enumerate() {
        server_step(server, step)
            .await
            .map_err(|error| format!("step {} ({step}): {error}", n + 1))?;
    }
    let mut cli = Cli::start(scenario, transport, &server.url(), records);
    let mut outcome = Ok(());
    for (n, step) in steps.iter().enumerate().skip(leading) {
        if let Err(error) = cli.step(step, server).await {
            outcome = Err(format!("step {} ({step}): {error}", n + 1));
            break;
        }
    }
    let finished = cli.finish().await;
    outcome.and(finished)
}

#[tokio::test]
async fn every_scenario_of_the_behaviour_table_passes_through_the_cli() {
    run_catalogue("cli", run_scenario).await;
}
