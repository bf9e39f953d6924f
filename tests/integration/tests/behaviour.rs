//! The behaviour table's Rust driver: every scenario of `tests/behaviour/scenarios.json`
//! run by the core (`ferrio`) against the reference server over each of its transports;
//! results in `target/behaviour/rust.json` (`tests/behaviour/coverage.py` reads them).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrio::{
    AckError, BufferPolicy, ConnectError, EmitError, Manager, ManagerEvent, ManagerOptions,
    ReconnectUpdate, Socket, SocketEvent, SocketOptions, SocketState, TransportKind, Value,
};
use ferrio_integration_tests::behaviour::{
    acks_ordered, emit_arguments, expect_disconnect, manager_route, matches, run_catalogue,
    runs_over, server_step, stats_match, Records, Scenario, Transport, STEP_WAIT,
};
use ferrio_integration_tests::{binary, binary_bytes, TestServer};
use serde_json::{json, Value as Json};

/// A catalogue value as a client value: `{"$binary": ...}` becomes bytes.
fn to_value(json: &Json) -> Value {
    if let Some(bytes) = binary_bytes(json) {
        return Value::Binary(Bytes::from(bytes));
    }
    match json {
        Json::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Json::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
        other => Value::from(other.clone()),
    }
}

/// A client value as the catalogue writes it: bytes become `{"$binary": ...}`.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Binary(bytes) => binary(bytes),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        other => other.clone().into_json().unwrap_or(Json::Null),
    }
}

/// The record the manager's `reconnect_failed` events go to.
const RECONNECT_FAILED: &str = "manager reconnect_failed";

/// The records of the `on_manager` steps: (record, the event kinds it takes).
type ManagerRecords = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// A manager event as the catalogue writes it: its kind and arguments (`close`: the reason,
/// `reconnect_attempt`: the attempt, `reconnect`: the attempts it took).
fn manager_call(event: &ManagerEvent) -> Vec<Json> {
    match event {
        ManagerEvent::Open => vec![json!("open")],
        ManagerEvent::Close(reason) => vec![json!("close"), json!(reason.as_str())],
        ManagerEvent::ReconnectAttempt(attempt) => vec![json!("reconnect_attempt"), json!(attempt)],
        ManagerEvent::ReconnectError(_) => vec![json!("reconnect_error")],
        ManagerEvent::Reconnect(attempts) => vec![json!("reconnect"), json!(attempts)],
        ManagerEvent::ReconnectFailed => vec![json!("reconnect_failed")],
    }
}

fn to_args(json: &Json) -> Vec<Value> {
    json.as_array()
        .map(|items| items.iter().map(to_value).collect())
        .unwrap_or_default()
}

fn args_json(args: &[Value]) -> Json {
    Json::Array(args.iter().map(to_json).collect())
}

/// One emit of a `flood` step, `event` with `n` and `payload`, waiting for room; its outcome
/// as the catalogue names it: `sent` when the API took it, else its typed error.
async fn flood_emit(socket: &Socket, event: &str, n: u64, payload: &str) -> String {
    match socket.emit(event, &(n, payload)).await {
        Ok(()) => "sent".to_owned(),
        Err(EmitError::BufferFull) => "buffer_full".to_owned(),
        Err(EmitError::Closed) => "closed".to_owned(),
        Err(error) => error.to_string(),
    }
}

/// One scenario's client: a manager and its sockets by namespace.
struct Run {
    manager: Manager,
    sockets: HashMap<String, Socket>,
    /// The auth of each namespace, from its `connect` step.
    auths: HashMap<String, Json>,
    /// The scenario's `retries` option, for every socket.
    retries: u32,
    records: Records,
    /// The records of the `on_manager` steps, filled by the manager's event reader.
    manager_records: ManagerRecords,
    /// The readers of the `stream` steps, stopped when the run ends.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Run {
    fn socket(&mut self, step: &Json) -> Socket {
        let nsp = step["nsp"].as_str().unwrap_or("/").to_owned();
        let manager = &self.manager;
        let records = &self.records;
        let auths = &self.auths;
        let retries = self.retries;
        self.sockets
            .entry(nsp.clone())
            .or_insert_with(|| {
                let options = SocketOptions {
                    auth: auths.get(&nsp).map(to_value),
                    retries,
                };
                let socket = manager.socket_with(&nsp, options);
                let disconnects = records.clone();
                let key = format!("disconnect {nsp}");
                socket.on("disconnect", move |event| {
                    disconnects.push(&key, args_json(event.args()));
                });
                socket
            })
            .clone()
    }

    fn record_handler(&self, step: &Json) -> impl Fn(ferrio::Event) + Send + Sync + 'static {
        let records = self.records.clone();
        let record = step["record"].as_str().unwrap_or_default().to_owned();
        let reply = step.get("reply").map(to_args);
        let block = Duration::from_millis(step["block_ms"].as_u64().unwrap_or(0));
        move |event| {
            if !block.is_zero() {
                // A slow handler: it holds its dispatcher task's thread.
                std::thread::sleep(block);
            }
            records.push(&record, args_json(event.args()));
            if let Some(reply) = &reply {
                let _ = event.ack_values(reply.clone());
            }
        }
    }

    async fn step(&mut self, step: &Json, server: &TestServer) -> Result<(), String> {
        let op = step["op"].as_str().ok_or("a step without op")?;
        match op {
            "connect" => {
                let socket = self.socket(step);
                let result = socket.connect().await;
                match (step.get("error"), result) {
                    (None, Ok(())) => Ok(()),
                    (Some(Json::String(closed)), Err(ConnectError::Closed))
                        if closed == "closed" =>
                    {
                        Ok(())
                    }
                    (None, Err(error)) => Err(format!("connect: {error}")),
                    (Some(_), Ok(())) => Err("connect: expected a refusal".into()),
                    (Some(expected), Err(ConnectError::Rejected { message, data })) => {
                        let seen = json!({"message": message, "data": data.as_ref().map(to_json)});
                        if matches(expected, &seen) {
                            Ok(())
                        } else {
                            Err(format!("connect error: expected {expected}, got {seen}"))
                        }
                    }
                    (Some(_), Err(error)) => Err(format!("connect: not a refusal: {error}")),
                }
            }
            "emit" => {
                let socket = self.socket(step);
                let event = step["event"].as_str().ok_or("emit without event")?;
                for args in emit_arguments(step) {
                    let sent = socket
                        .emit_values(event, args.iter().map(to_value).collect())
                        .await;
                    match (step["error"].as_str(), sent) {
                        (None, Ok(()))
                        | (Some("reserved"), Err(EmitError::ReservedEvent(_)))
                        | (Some("closed"), Err(EmitError::Closed)) => {}
                        (expected, sent) => {
                            return Err(format!(
                                "emit {event}: expected {expected:?}, got {sent:?}"
                            ))
                        }
                    }
                }
                Ok(())
            }
            "emit_volatile" => {
                let socket = self.socket(step);
                let event = step["event"]
                    .as_str()
                    .ok_or("emit_volatile without event")?;
                socket
                    .emit_volatile_values(event, to_args(&step["args"]))
                    .await
                    .map_err(|e| format!("emit_volatile {event}: {e}"))
            }
            "flood" => {
                let socket = self.socket(step);
                let event = step["event"]
                    .as_str()
                    .ok_or("flood without event")?
                    .to_owned();
                let count = step["count"].as_u64().ok_or("flood without count")?;
                let bytes = step["bytes"].as_u64().ok_or("flood without bytes")?;
                let payload = "k".repeat(usize::try_from(bytes).unwrap_or(usize::MAX));
                let record = step["record"].as_str().ok_or("flood without record")?;
                let awaited = step["awaited"].as_u64().unwrap_or(0).min(count);
                let (records, record) = (self.records.clone(), record.to_owned());
                let mut outcomes = BTreeSet::new();
                for n in 0..awaited {
                    outcomes.insert(flood_emit(&socket, &event, n, &payload).await);
                }
                self.readers.push(tokio::spawn(async move {
                    for n in awaited..count {
                        outcomes.insert(flood_emit(&socket, &event, n, &payload).await);
                    }
                    records.push(&record, json!(outcomes));
                }));
                Ok(())
            }
            "emit_mixed" => {
                let socket = self.socket(step);
                let event = step["event"].as_str().ok_or("emit_mixed without event")?;
                let count = step["count"].as_u64().ok_or("emit_mixed without count")?;
                let every = step["ack_every"]
                    .as_u64()
                    .ok_or("emit_mixed without ack_every")?;
                for n in 0..count {
                    if n % every == every - 1 {
                        let ack = socket
                            .emit_values_with_ack(event, vec![Value::from(n)], STEP_WAIT)
                            .await
                            .map_err(|e| format!("ack of {event} {n}: {e}"))?;
                        let got = args_json(ack.args());
                        if !matches(&json!([n]), &got) {
                            return Err(format!("ack of {event} {n}: got {got}"));
                        }
                    } else {
                        socket
                            .emit_values(event, vec![Value::from(n)])
                            .await
                            .map_err(|e| format!("emit {event} {n}: {e}"))?;
                    }
                }
                Ok(())
            }
            "join_room" | "leave_room" => {
                let socket = self.socket(step);
                let room = step["room"].as_str().ok_or("a room step without room")?;
                if op == "join_room" {
                    socket.join_room(room).await;
                } else {
                    socket.leave_room(room).await;
                }
                Ok(())
            }
            "emit_ack" => {
                let socket = self.socket(step);
                let event = step["event"].as_str().ok_or("emit_ack without event")?;
                let timeout = step["timeout_ms"]
                    .as_u64()
                    .map_or(STEP_WAIT, Duration::from_millis);
                let result = socket
                    .emit_values_with_ack(event, to_args(&step["args"]), timeout)
                    .await;
                match (step["error"].as_str(), result) {
                    (None, Ok(ack)) => {
                        let got = args_json(ack.args());
                        if matches(&step["reply"], &got) {
                            Ok(())
                        } else {
                            Err(format!(
                                "ack of {event}: expected {}, got {got}",
                                step["reply"]
                            ))
                        }
                    }
                    (Some("timeout"), Err(AckError::Timeout(_)))
                    | (Some("disconnected"), Err(AckError::Disconnected))
                    | (Some("buffer_full"), Err(AckError::Emit(EmitError::BufferFull)))
                    | (
                        Some("payload_too_large"),
                        Err(AckError::Emit(EmitError::PayloadTooLarge { .. })),
                    )
                    | (Some("closed"), Err(AckError::Closed)) => Ok(()),
                    (expected, result) => Err(format!(
                        "ack of {event}: expected {expected:?}, got {result:?}"
                    )),
                }
            }
            "on" | "once" => {
                let socket = self.socket(step);
                let event = step["event"].as_str().ok_or("on without event")?;
                let handler = self.record_handler(step);
                if op == "on" {
                    socket.on(event, handler);
                } else {
                    socket.once(event, handler);
                }
                Ok(())
            }
            "off" => {
                let socket = self.socket(step);
                socket.off_event(step["event"].as_str().ok_or("off without event")?);
                Ok(())
            }
            "on_any" => {
                let socket = self.socket(step);
                let records = self.records.clone();
                let record = step["record"].as_str().unwrap_or_default().to_owned();
                socket.on_any(move |event| {
                    let mut call = vec![Json::from(event.name.clone())];
                    call.extend(event.args().iter().map(to_json));
                    records.push(&record, Json::Array(call));
                });
                Ok(())
            }
            "off_any" => {
                self.socket(step).off_any();
                Ok(())
            }
            "on_any_outgoing" => {
                let socket = self.socket(step);
                let records = self.records.clone();
                let record = step["record"].as_str().unwrap_or_default().to_owned();
                socket.on_any_outgoing(move |event| {
                    let mut call = vec![Json::from(event.name.clone())];
                    call.extend(event.args().iter().map(to_json));
                    records.push(&record, Json::Array(call));
                });
                Ok(())
            }
            "stream" => {
                let mut events = self.socket(step).events();
                let records = self.records.clone();
                let record = step["record"].as_str().unwrap_or_default().to_owned();
                self.readers.push(tokio::spawn(async move {
                    while let Some(event) = events.next().await {
                        if let SocketEvent::Event(event) = event {
                            let mut call = vec![Json::from(event.name.clone())];
                            call.extend(event.args().iter().map(to_json));
                            records.push(&record, Json::Array(call));
                        }
                    }
                }));
                Ok(())
            }
            "on_manager" => {
                let route = manager_route(step)?;
                self.manager_records
                    .lock()
                    .expect("manager records lock")
                    .push(route);
                Ok(())
            }
            "expect" => self.records.expect(step).await,
            "close" => {
                self.manager.close().await;
                Ok(())
            }
            "clear_buffer" => {
                self.socket(step).clear_buffer().await;
                Ok(())
            }
            "expect_buffered" => {
                let socket = self.socket(step);
                let expected = step["emits"]
                    .as_u64()
                    .ok_or("expect_buffered without emits")?;
                let deadline = tokio::time::Instant::now() + STEP_WAIT;
                // No event says the count changed: it is read every few milliseconds.
                while socket.buffered().emits as u64 != expected {
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!(
                            "buffered: expected {expected} emits, got {:?}",
                            socket.buffered()
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(())
            }
            "reconnect_now" => {
                self.manager.reconnect_now().await;
                Ok(())
            }
            "expect_reconnect_failed" => self.records.wait_for(RECONNECT_FAILED, 1).await.map(drop),
            "expect_ended" => {
                // Ended for good: `Idle` (`Disconnected` says a reconnection is pending).
                let mut state = self.socket(step).watch_state();
                let ended = state.wait_for(|s| matches!(s, SocketState::Idle));
                let ended = matches!(tokio::time::timeout(STEP_WAIT, ended).await, Ok(Ok(_)));
                if ended {
                    Ok(())
                } else {
                    Err(format!("state: expected Idle, is {:?}", state.borrow()))
                }
            }
            "disconnect" => {
                self.socket(step).disconnect().await;
                Ok(())
            }
            "expect_disconnect" => expect_disconnect(&self.records, step).await,
            "expect_connected" => {
                let socket = self.socket(step);
                let expected = step["connected"].as_bool().unwrap_or(true);
                if socket.connected() == expected {
                    Ok(())
                } else {
                    Err(format!("connected: expected {expected}"))
                }
            }
            "expect_recovered" => {
                let socket = self.socket(step);
                let expected = step["recovered"].as_bool().unwrap_or(true);
                if socket.recovered() == expected {
                    Ok(())
                } else {
                    Err(format!("recovered: expected {expected}"))
                }
            }
            "expect_stats" => {
                let deadline = tokio::time::Instant::now() + STEP_WAIT;
                // No event says the statistics changed: they are read every few milliseconds.
                loop {
                    let stats = self.manager.stats();
                    let acks = stats.ack_round_trips;
                    let observed = json!({
                        "bytes_in": stats.bytes_in,
                        "bytes_out": stats.bytes_out,
                        "packets_in": stats.packets_in,
                        "packets_out": stats.packets_out,
                        "reconnects": stats.reconnects,
                        "acks": acks.count,
                        "acks_ordered": acks_ordered(acks.count, [acks.p50, acks.p90, acks.p99, acks.max]),
                    });
                    if stats_match(&step["stats"], &observed) {
                        return Ok(());
                    }
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!("stats: expected {}, got {observed}", step["stats"]));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            "server" => server_step(server, step).await,
            other => Err(format!("unknown op {other}")),
        }
    }
}

async fn run_scenario(
    scenario: &Scenario,
    transport: Transport,
    server: &TestServer,
    records: Records,
) -> Result<(), String> {
    let builder = Manager::builder(&server.url());
    let builder = match transport {
        Transport::Polling => builder.transports(&[TransportKind::Polling]),
        Transport::WebSocket => builder.transports(&[TransportKind::WebSocket]),
        Transport::Upgrade => builder,
    };
    let options = scenario.options.clone();
    let pairs = |key: &str| options[key].as_object().cloned().unwrap_or_default();
    let builder = pairs("query").iter().fold(builder, |b, (k, v)| {
        b.query(k, v.as_str().unwrap_or_default())
    });
    let builder = pairs("headers").iter().fold(builder, |b, (k, v)| {
        b.extra_header(k, v.as_str().unwrap_or_default())
    });
    let builder = match options["reconnection_delay_ms"].as_u64() {
        Some(ms) => builder
            .reconnection_delay(Duration::from_millis(ms))
            .reconnection_delay_max(Duration::from_millis(ms)),
        None => builder,
    };
    let builder = match options["max_buffered_emits"].as_u64() {
        Some(max) => builder.offline_buffer(
            usize::try_from(max).unwrap_or(usize::MAX),
            ManagerOptions::default().max_buffered_bytes,
            match options["buffer_policy"].as_str() {
                Some("drop_oldest") => BufferPolicy::DropOldest,
                _ => BufferPolicy::Reject,
            },
        ),
        None => builder,
    };
    // The scenario's size limits (`max_incoming_bytes`, ...); the others keep the core's.
    let limit = |key: &str| {
        options[key]
            .as_u64()
            .map(|value| usize::try_from(value).unwrap_or(usize::MAX))
    };
    let (incoming, packets) = (limit("max_incoming_bytes"), limit("max_payload_packets"));
    let (early_events, early_bytes) = (
        limit("max_preconnect_events"),
        limit("max_preconnect_bytes"),
    );
    let builder = builder.options(|o| {
        o.max_incoming_bytes = incoming.unwrap_or(o.max_incoming_bytes);
        o.max_payload_packets = packets.unwrap_or(o.max_payload_packets);
        o.max_preconnect_events = early_events.unwrap_or(o.max_preconnect_events);
        o.max_preconnect_bytes = early_bytes.unwrap_or(o.max_preconnect_bytes);
    });
    let builder = match options["reconnection_attempts"].as_u64() {
        Some(attempts) => {
            builder.reconnection_attempts(u32::try_from(attempts).unwrap_or(u32::MAX))
        }
        None => builder,
    };
    let builder = match options.get("reconnect_auth") {
        Some(auth) => {
            let auth = to_value(auth);
            builder.on_reconnect(move |_attempt| {
                let auth = auth.clone();
                async move {
                    ReconnectUpdate {
                        auth: Some(auth),
                        ..ReconnectUpdate::default()
                    }
                }
            })
        }
        None => builder,
    };
    let manager = builder.build().map_err(|e| format!("manager: {e}"))?;
    let mut manager_events = manager.events();
    let failures = records.clone();
    let manager_records = ManagerRecords::default();
    let subscribed = manager_records.clone();
    let manager_reader = tokio::spawn(async move {
        loop {
            match manager_events.recv().await {
                Ok(event) => {
                    if matches!(event, ManagerEvent::ReconnectFailed) {
                        failures.push(RECONNECT_FAILED, json!([]));
                    }
                    let call = manager_call(&event);
                    let targets = subscribed.lock().expect("manager records lock").clone();
                    for (record, kinds) in targets {
                        if kinds.iter().any(|kind| call[0] == kind.as_str()) {
                            failures.push(&record, Json::Array(call.clone()));
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let auths = scenario
        .steps
        .iter()
        .filter(|step| step["op"] == "connect")
        .filter_map(|step| Some((step["nsp"].as_str()?.to_owned(), step.get("auth")?.clone())))
        .collect();
    let retries = options["retries"]
        .as_u64()
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let mut run = Run {
        manager,
        sockets: HashMap::new(),
        auths,
        retries,
        records,
        manager_records,
        readers: vec![manager_reader],
    };
    let mut outcome = Ok(());
    for (n, step) in scenario.steps.iter().enumerate() {
        if !runs_over(step, transport) {
            continue;
        }
        if let Err(error) = run.step(step, server).await {
            outcome = Err(format!("step {} ({step}): {error}", n + 1));
            break;
        }
    }
    run.manager.close().await;
    for reader in run.readers {
        reader.abort();
    }
    outcome
}

// Two worker threads: a slow handler (`block_ms`) holds one, as an application's would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_of_the_behaviour_table_passes() {
    run_catalogue("rust", run_scenario).await;
}
