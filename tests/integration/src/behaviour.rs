//! The behaviour table (`tests/behaviour/scenarios.json`) for the Rust drivers: the
//! catalogue, the matching of observations, the records handlers fill, the server steps and
//! the results file that `tests/behaviour/coverage.py` turns into `tests/COVERAGE.md`.
//!
//! A driver (the core's in `tests/integration/tests/behaviour.rs`, the CLI's in
//! `cli/tests/behaviour.rs`) calls [`run_catalogue`] with the function that runs one
//! scenario's client steps over one transport; the format of the steps is described in
//! `tests/behaviour/README.md`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::TestServer;

/// How long a step may wait for what it expects (generous: slow, loaded machines).
pub const STEP_WAIT: Duration = Duration::from_secs(30);

/// How long one scenario may take over one transport before it counts as failed.
const SCENARIO_WAIT: Duration = Duration::from_secs(120);

/// The three ways to reach the server, as the catalogue names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `P`: HTTP long-polling only.
    Polling,
    /// `W`: WebSocket only.
    WebSocket,
    /// `U`: polling upgraded to WebSocket.
    Upgrade,
}

impl Transport {
    /// The transport named `P`, `W` or `U`.
    pub fn from_letter(letter: &str) -> Option<Transport> {
        match letter {
            "P" => Some(Transport::Polling),
            "W" => Some(Transport::WebSocket),
            "U" => Some(Transport::Upgrade),
            _ => None,
        }
    }

    /// `P`, `W` or `U`.
    pub fn letter(self) -> &'static str {
        match self {
            Transport::Polling => "P",
            Transport::WebSocket => "W",
            Transport::Upgrade => "U",
        }
    }
}

/// One scenario of the catalogue.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its stable id, e.g. `connect-echo-ack`.
    pub id: String,
    /// The transports it runs over.
    pub transports: Vec<Transport>,
    /// Why it does not apply, per language (`rust`, `cli`, `python`, `kotlin`, `swift`).
    pub not_applicable: HashMap<String, String>,
    /// The client's options: `query` and `headers`, objects of strings (`{}` when none).
    pub options: Value,
    /// The steps, each a JSON object with an `op`.
    pub steps: Vec<Value>,
    /// Runs against the reference server with connection state recovery on (`"server":
    /// "recovering"`) instead of the default one.
    pub recovering: bool,
}

/// The repository's root.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scenarios of `tests/behaviour/scenarios.json`.
///
/// # Panics
/// If the catalogue cannot be read or is malformed.
pub fn load_catalogue() -> Vec<Scenario> {
    let path = repo().join("tests/behaviour/scenarios.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let catalogue: Value = serde_json::from_str(&text).expect("the catalogue is JSON");
    let scenarios = catalogue["scenarios"]
        .as_array()
        .expect("a scenarios array");
    scenarios
        .iter()
        .map(|s| Scenario {
            id: s["id"].as_str().expect("an id").to_owned(),
            transports: s["transports"]
                .as_array()
                .expect("transports")
                .iter()
                .map(|t| {
                    Transport::from_letter(t.as_str().unwrap_or_default())
                        .unwrap_or_else(|| panic!("bad transport {t}"))
                })
                .collect(),
            not_applicable: s["not_applicable"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            options: s.get("options").cloned().unwrap_or_else(|| json!({})),
            steps: s["steps"].as_array().expect("steps").clone(),
            recovering: match s.get("server") {
                None => false,
                Some(server) if server == "recovering" => true,
                Some(other) => panic!("{}: unknown server {other}", s["id"]),
            },
        })
        .collect()
}

/// Whether `actual` matches `expected`: objects by the expected keys (others may be
/// present), arrays element by element with the same length, numbers by value.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(ev, av)| matches(ev, av))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

/// Whether the statistics `observed` (the catalogue's names: `bytes_in`, `packets_out`,
/// `acks`, `acks_ordered`, ...) match an `expect_stats` step's `stats`: each expected value
/// equal, or at least `n` where it is `{"at_least": n}`.
pub fn stats_match(expected: &Value, observed: &Value) -> bool {
    let Some(expected) = expected.as_object() else {
        return false;
    };
    expected.iter().all(|(key, want)| {
        let seen = &observed[key];
        match want.get("at_least").and_then(Value::as_f64) {
            Some(least) => seen.as_f64().is_some_and(|seen| seen >= least),
            None => matches(want, seen),
        }
    })
}

/// Whether ack round-trip percentiles are in order: p50 ≤ p90 ≤ p99 ≤ max, and max above
/// zero once an ack was counted.
pub fn acks_ordered<T: PartialOrd + Default>(count: u64, percentiles: [T; 4]) -> bool {
    let [p50, p90, p99, max] = percentiles;
    p50 <= p90 && p90 <= p99 && p99 <= max && (count == 0 || max > T::default())
}

/// What the handlers of one scenario recorded, by record name, in arrival order.
#[derive(Clone, Default)]
pub struct Records {
    calls: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    changed: Arc<Notify>,
}

impl Records {
    /// Appends one call (its arguments as a JSON array) to `record`.
    pub fn push(&self, record: &str, call: Value) {
        self.calls
            .lock()
            .expect("records lock")
            .entry(record.to_owned())
            .or_default()
            .push(call);
        self.changed.notify_waiters();
    }

    /// The `expect` step: waits until `record` has as many calls as expected, then compares
    /// them (and, with `exact`, that there are no more).
    ///
    /// # Errors
    /// What differs, or what was missing when the wait ended.
    pub async fn expect(&self, step: &Value) -> Result<(), String> {
        let record = step["record"].as_str().ok_or("expect without a record")?;
        let expected = step["calls"].as_array().ok_or("expect without calls")?;
        let exact = step["exact"].as_bool().unwrap_or(false);
        let count = expected.len();
        let seen = self.wait_for(record, count).await?;
        let expected = Value::from(expected.clone());
        let first = Value::from(seen[..count].to_vec());
        if !matches(&expected, &first) {
            return Err(format!(
                "record {record}: expected {expected}, got {}",
                Value::from(seen)
            ));
        }
        if exact && seen.len() != count {
            return Err(format!(
                "record {record}: expected exactly {expected}, got {}",
                Value::from(seen)
            ));
        }
        Ok(())
    }

    /// Waits until `record` has at least `count` calls; all its calls then.
    ///
    /// # Errors
    /// When [`STEP_WAIT`] passed first, with what was recorded.
    pub async fn wait_for(&self, record: &str, count: usize) -> Result<Vec<Value>, String> {
        let deadline = tokio::time::Instant::now() + STEP_WAIT;
        loop {
            let notified = self.changed.notified();
            let seen = self.snapshot(record);
            if seen.len() >= count {
                return Ok(seen);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "{record}: {count} expected within {STEP_WAIT:?}, got {}",
                    Value::from(seen)
                ));
            }
        }
    }

    /// Every call of `record` so far.
    pub fn snapshot(&self, record: &str) -> Vec<Value> {
        self.calls
            .lock()
            .expect("records lock")
            .get(record)
            .cloned()
            .unwrap_or_default()
    }
}

/// The `server` step: posts the action with its body and matches the answer with `expect`.
///
/// # Errors
/// The control channel's failure, or what did not match.
pub async fn server_step(server: &TestServer, step: &Value) -> Result<(), String> {
    let action = step["action"]
        .as_str()
        .ok_or("server step without action")?;
    let body = step.get("body").cloned().unwrap_or_else(|| json!({}));
    let answer = server.try_control(action, body).await?;
    if let Some(expected) = step.get("expect") {
        if !matches(expected, &answer) {
            return Err(format!(
                "server {action}: expected {expected}, answered {answer}"
            ));
        }
    }
    Ok(())
}

/// The `expect_disconnect` step: waits (up to [`STEP_WAIT`]) for the first disconnect of
/// the step's namespace, recorded in `disconnect <nsp>` with the reason as its only
/// argument, and compares the reason with the step's `reason`: a string, or a list of the
/// reasons any one of which may come.
///
/// # Errors
/// No disconnect in time, or another reason.
pub async fn expect_disconnect(records: &Records, step: &Value) -> Result<(), String> {
    let nsp = step["nsp"].as_str().unwrap_or("/");
    let calls = records.wait_for(&format!("disconnect {nsp}"), 1).await?;
    let seen = &calls[0][0];
    let expected = &step["reason"];
    let allowed = match expected {
        Value::Array(reasons) => reasons.contains(seen),
        reason => reason == seen,
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "disconnect of {nsp}: expected {expected}, got {seen}"
        ))
    }
}

/// An `on_manager` step's record and the manager event kinds it asks for.
///
/// # Errors
/// A step without `record` or `events`.
pub fn manager_route(step: &Value) -> Result<(String, Vec<String>), String> {
    let record = step["record"].as_str().ok_or("on_manager without record")?;
    let kinds = step["events"]
        .as_array()
        .ok_or("on_manager without events")?
        .iter()
        .filter_map(|kind| kind.as_str().map(str::to_owned))
        .collect();
    Ok((record.to_owned(), kinds))
}

/// The namespaces a scenario connects (its `connect` steps that expect no refusal), in order.
pub fn connected_namespaces(scenario: &Scenario) -> Vec<String> {
    let mut seen = Vec::new();
    for step in &scenario.steps {
        if step["op"] != "connect" || step.get("error").is_some() {
            continue;
        }
        if let Some(nsp) = step["nsp"].as_str() {
            if !seen.iter().any(|s| s == nsp) {
                seen.push(nsp.to_owned());
            }
        }
    }
    seen
}

/// Whether `step` runs over `transport`: every step does, but one with `transports` only
/// over those.
pub fn runs_over(step: &Value, transport: Transport) -> bool {
    step.get("transports")
        .and_then(Value::as_array)
        .is_none_or(|letters| letters.iter().any(|l| l == transport.letter()))
}

/// The argument lists of an `emit` step: `args`, or each list of `args_each`.
pub fn emit_arguments(step: &Value) -> Vec<Vec<Value>> {
    match step.get("args_each").and_then(Value::as_array) {
        Some(each) => each
            .iter()
            .map(|args| args.as_array().cloned().unwrap_or_default())
            .collect(),
        None => vec![step["args"].as_array().cloned().unwrap_or_default()],
    }
}

/// Runs every scenario over each of its transports, one at a time, against one reference
/// server (or, for a scenario that asks for it, one with connection state recovery on), with
/// `run` (the language's client steps); writes
/// `target/behaviour/<language>.json` (or `$FERRIO_BEHAVIOUR_RESULTS/<language>.json`).
///
/// Before each run the server's records are cleared; after it, the driver has closed its
/// client and the server is waited on until the namespaces it connected have no sockets left.
/// `FERRIO_BEHAVIOUR_ONLY` (scenario ids, comma-separated) runs only those.
///
/// # Panics
/// When a scenario failed (after the results are written), naming each failure.
pub async fn run_catalogue(
    language: &str,
    mut run: impl AsyncFnMut(&Scenario, Transport, &TestServer, Records) -> Result<(), String>,
) {
    let default = TestServer::start().await;
    let recovering = TestServer::start_with(json!({"connectionStateRecovery": true})).await;
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let only = std::env::var("FERRIO_BEHAVIOUR_ONLY").ok();
    let chosen = |id: &str| {
        only.as_ref()
            .is_none_or(|ids| ids.split(',').any(|o| o == id))
    };
    for scenario in load_catalogue().into_iter().filter(|s| chosen(&s.id)) {
        for &transport in &scenario.transports {
            let (outcome, detail) = match scenario.not_applicable.get(language) {
                Some(reason) => ("not-applicable", reason.clone()),
                None => {
                    let server = if scenario.recovering {
                        &recovering
                    } else {
                        &default
                    };
                    server.control("clear", json!({})).await;
                    let records = Records::default();
                    let ran = tokio::time::timeout(
                        SCENARIO_WAIT,
                        run(&scenario, transport, server, records),
                    )
                    .await
                    .unwrap_or_else(|_| Err(format!("not done within {SCENARIO_WAIT:?}")));
                    let settled = settle(server, &scenario).await;
                    match ran.and(settled) {
                        Ok(()) => ("pass", String::new()),
                        Err(error) => ("fail", error),
                    }
                }
            };
            eprintln!(
                "behaviour {language}: {} {}: {outcome} {detail}",
                scenario.id,
                transport.letter()
            );
            if outcome == "fail" {
                failures.push(format!(
                    "{} over {}: {detail}",
                    scenario.id,
                    transport.letter()
                ));
            }
            results.push(json!({
                "scenario": scenario.id,
                "transport": transport.letter(),
                "language": language,
                "outcome": outcome,
                "detail": detail,
            }));
        }
    }
    write_results(language, results);
    assert!(
        failures.is_empty(),
        "behaviour table, {language}: {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Waits until the namespaces `scenario` connected have no sockets on the server.
async fn settle(server: &TestServer, scenario: &Scenario) -> Result<(), String> {
    for nsp in connected_namespaces(scenario) {
        server
            .try_control(
                "waitForSockets",
                json!({"nsp": nsp, "count": 0, "timeoutMs": 30000}),
            )
            .await
            .map_err(|e| format!("the client left sockets behind in {nsp}: {e}"))?;
    }
    Ok(())
}

fn write_results(language: &str, results: Vec<Value>) {
    let dir = std::env::var_os("FERRIO_BEHAVIOUR_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/behaviour"));
    std::fs::create_dir_all(&dir).expect("results directory");
    let path = dir.join(format!("{language}.json"));
    let text = serde_json::to_string_pretty(&json!({"language": language, "results": results}))
        .expect("results as JSON");
    std::fs::write(&path, text + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_match_by_the_expected_keys_and_arrays_by_every_element() {
        assert!(matches(&json!({"a": 1}), &json!({"a": 1.0, "b": 2})));
        assert!(!matches(&json!({"a": 1, "c": 3}), &json!({"a": 1})));
        assert!(matches(&json!([1, [2]]), &json!([1, [2]])));
        assert!(!matches(&json!([1]), &json!([1, 2])));
        assert!(!matches(&json!("1"), &json!(1)));
    }

    #[test]
    fn a_step_with_transports_runs_over_those_only() {
        let step = json!({"op": "server", "transports": ["W", "U"]});
        assert!(!runs_over(&step, Transport::Polling));
        assert!(runs_over(&step, Transport::Upgrade));
        assert!(runs_over(&json!({"op": "connect"}), Transport::Polling));
    }

    #[test]
    fn every_scenario_of_the_catalogue_has_steps_and_transports() {
        let scenarios = load_catalogue();
        assert!(!scenarios.is_empty());
        for scenario in scenarios {
            assert!(!scenario.steps.is_empty(), "{}", scenario.id);
            assert!(!scenario.transports.is_empty(), "{}", scenario.id);
        }
    }
}
