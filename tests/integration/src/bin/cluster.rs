//! `ferrio-cluster`: starts a [`TestCluster`] (Redis, two reference server nodes with the
//! Redis adapter, nginx) for tests written in other languages, and prints where it is.
//!
//! ```sh
//! cargo run -p ferrio-integration-tests --features cluster --bin ferrio-cluster
//! # READY {"sticky":"http://127.0.0.1:P","round_robin":"http://127.0.0.1:R","ping_interval_ms":200,
//! #        "nodes":[{"name":"A","url":...,"control":"http://127.0.0.1:C"},{"name":"B",...}]}
//! cargo run -p ferrio-integration-tests --features cluster --bin ferrio-cluster -- -- pytest ...
//! ```
//!
//! Usage: `ferrio-cluster [CONFIG] [-- COMMAND [ARG]...]`. CONFIG is the nodes' reference
//! server configuration (JSON, default `{"pingInterval":200,"pingTimeout":2000}`: many
//! heartbeats in a short test). Without COMMAND it prints one `READY` line on stdout and
//! runs until its stdin closes. With COMMAND it runs it with the cluster in its environment
//! and exits with its status:
//!
//! | variable | value |
//! |---|---|
//! | `FERRIO_CLUSTER_STICKY_URL` | nginx, sticky by the routing cookie `srv` |
//! | `FERRIO_CLUSTER_ROUND_ROBIN_URL` | nginx, round robin |
//! | `FERRIO_CLUSTER_CONTROL_A` / `FERRIO_CLUSTER_CONTROL_B` | each node's control channel |
//! | `FERRIO_CLUSTER_PING_INTERVAL_MS` | the nodes' `pingInterval` |

// The READY line is this program's contract on stdout.
#![allow(clippy::print_stdout)]

use std::io::Read as _;
use std::process::ExitCode;

use ferrio_integration_tests::TestCluster;
use serde_json::{json, Value};

/// The nodes' configuration unless one is given: a 200 ms heartbeat, as the Rust cluster tests.
const DEFAULT_CONFIG: &str = r#"{"pingInterval":200,"pingTimeout":2000}"#;

const USAGE: &str = "usage: ferrio-cluster [CONFIG] [-- COMMAND [ARG]...]";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.iter().position(|a| a == "--") {
        Some(at) => {
            let command = args.split_off(at + 1);
            args.pop();
            Some(command)
        }
        None => None,
    };
    let config = match args.as_slice() {
        [] => DEFAULT_CONFIG.to_owned(),
        [config] if !config.starts_with('-') => config.clone(),
        _ => {
            eprintln!("ferrio-cluster: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let config: Value = match serde_json::from_str(&config) {
        Ok(config @ Value::Object(_)) => config,
        _ => {
            eprintln!("ferrio-cluster: CONFIG must be a JSON object\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if command.as_ref().is_some_and(|c| c.is_empty()) {
        eprintln!("ferrio-cluster: nothing after `--`\n{USAGE}");
        return ExitCode::from(2);
    }

    let ping_interval = config.get("pingInterval").cloned().unwrap_or(json!(2000));
    let cluster = TestCluster::start_with(config).await;
    let nodes: Vec<Value> = cluster
        .nodes()
        .iter()
        .zip(TestCluster::NAMES)
        .map(|(node, name)| json!({"name": name, "url": node.url(), "control": node.control_url()}))
        .collect();
    let ready = json!({
        "sticky": cluster.sticky_url(),
        "round_robin": cluster.round_robin_url(),
        "ping_interval_ms": ping_interval,
        "nodes": nodes,
    });
    println!("READY {ready}");

    match command {
        None => {
            wait_for_stdin_to_close().await;
            ExitCode::SUCCESS
        }
        Some(command) => run(&cluster, &ping_interval, &command).await,
    }
    // The cluster drops here: nginx, the nodes and Redis stop.
}

/// Runs `command` with the cluster's addresses in its environment; its exit status.
async fn run(cluster: &TestCluster, ping_interval: &Value, command: &[String]) -> ExitCode {
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env("FERRIO_CLUSTER_STICKY_URL", cluster.sticky_url())
        .env("FERRIO_CLUSTER_ROUND_ROBIN_URL", cluster.round_robin_url())
        .env("FERRIO_CLUSTER_CONTROL_A", cluster.node(0).control_url())
        .env("FERRIO_CLUSTER_CONTROL_B", cluster.node(1).control_url())
        .env("FERRIO_CLUSTER_PING_INTERVAL_MS", ping_interval.to_string())
        .kill_on_drop(true)
        .status()
        .await;
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("ferrio-cluster: `{}` failed: {status}", command.join(" "));
            ExitCode::from(status.code().map_or(1, |code| code.clamp(1, 255) as u8))
        }
        Err(error) => {
            eprintln!("ferrio-cluster: cannot run `{}`: {error}", command[0]);
            ExitCode::FAILURE
        }
    }
}

/// Returns once stdin is closed (or unreadable); what it carries is ignored.
async fn wait_for_stdin_to_close() {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = closed_tx.send(());
    });
    let _ = closed_rx.await;
}
