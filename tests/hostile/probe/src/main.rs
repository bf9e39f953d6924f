//! `ferrio-hostile-probe`: the Rust client of the hostile-server fixture (tests/hostile).
//!
//! Connects one socket to the hostile server (reconnection off unless `--reconnect`: then
//! after a failed connect the manager keeps trying until the deadline), optionally emits a load,
//! then waits until the connection ends or `--deadline` passes, closes the manager and
//! prints one JSON line saying what happened. tests/hostile/run.py runs it once per case
//! and measures its peak memory; it never decides pass or fail itself.
//!
//! ```text
//! ferrio-hostile-probe URL --transport polling|websocket [--deadline S]
//!     [--connect-timeout S] [--emit N] [--emit-size BYTES] [--stall] [--reconnect]
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrio::{Manager, ManagerEvent, SocketEvent, TransportKind};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// What the command line asks for.
struct Args {
    url: String,
    transport: TransportKind,
    deadline: Duration,
    connect_timeout: Duration,
    emit: usize,
    emit_size: usize,
    stall: bool,
    reconnect: bool,
}

/// What the run observed; printed as JSON.
#[derive(Default)]
struct Outcome {
    connected: bool,
    connect_error: Option<String>,
    disconnect: Option<String>,
    disconnect_debug: Option<String>,
    events: u64,
    lagged: u64,
    emitted: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut raw = std::env::args().skip(1);
    let url = raw.next().ok_or("a URL is needed")?;
    let mut args = Args {
        url,
        transport: TransportKind::WebSocket,
        deadline: Duration::from_secs(4),
        connect_timeout: Duration::from_secs(10),
        emit: 0,
        emit_size: 1024,
        stall: false,
        reconnect: false,
    };
    while let Some(flag) = raw.next() {
        if flag == "--stall" {
            args.stall = true;
            continue;
        }
        if flag == "--reconnect" {
            args.reconnect = true;
            continue;
        }
        let value = raw.next().ok_or(format!("{flag} needs a value"))?;
        let seconds = |v: &str| {
            v.parse::<f64>()
                .map(Duration::from_secs_f64)
                .map_err(|e| format!("{flag}: {e}"))
        };
        let count = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--transport" => {
                args.transport = match value.as_str() {
                    "polling" => TransportKind::Polling,
                    "websocket" => TransportKind::WebSocket,
                    other => return Err(format!("unknown transport {other}")),
                }
            }
            "--deadline" => args.deadline = seconds(&value)?,
            "--connect-timeout" => args.connect_timeout = seconds(&value)?,
            "--emit" => args.emit = count(&value)?,
            "--emit-size" => args.emit_size = count(&value)?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// Emits `count` events of `size` bytes, counting those accepted in `sent`.
async fn emit_load(socket: ferrio::Socket, count: usize, size: usize, sent: Arc<AtomicUsize>) {
    let payload = "x".repeat(size);
    for _ in 0..count {
        if socket.emit("load", &(payload.as_str(),)).await.is_err() {
            return;
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
}

async fn run(args: Args) -> Result<Outcome, String> {
    let manager = Manager::builder(&args.url)
        .transports(&[args.transport])
        .upgrade(false)
        .reconnection(args.reconnect)
        .timeout(args.connect_timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let mut manager_events = manager.events();
    let socket = manager.socket("/");
    let mut events = socket.events();
    let mut outcome = Outcome::default();
    let started = Instant::now();
    if let Err(error) = socket.connect().await {
        outcome.connect_error = Some(error.to_string());
        if args.reconnect {
            // The manager keeps reconnecting (and its server keeps flooding) until then.
            tokio::time::sleep_until(started + args.deadline).await;
        }
        manager.close().await;
        return Ok(outcome);
    }
    outcome.connected = true;
    let sent = Arc::new(AtomicUsize::new(0));
    let emitter = tokio::spawn(emit_load(
        socket.clone(),
        args.emit,
        args.emit_size,
        sent.clone(),
    ));
    let deadline = tokio::time::sleep_until(Instant::now() + args.deadline);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            event = manager_events.recv() => match event {
                Ok(ManagerEvent::Close(reason)) => {
                    outcome.disconnect = Some(reason.to_string());
                    outcome.disconnect_debug = Some(format!("{reason:?}"));
                    break;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            event = events.next(), if !args.stall => match event {
                Some(SocketEvent::Event(_)) => outcome.events += 1,
                Some(SocketEvent::Lagged(n)) => outcome.lagged += n,
                Some(SocketEvent::Disconnect(reason)) if outcome.disconnect.is_none() => {
                    outcome.disconnect = Some(reason.to_string());
                    outcome.disconnect_debug = Some(format!("{reason:?}"));
                    break;
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    manager.close().await;
    emitter.abort();
    outcome.emitted = sent.load(Ordering::Relaxed);
    Ok(outcome)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("ferrio-hostile-probe: {message}");
            return ExitCode::from(2);
        }
    };
    let line = match run(args).await {
        Ok(o) => json!({
            "connected": o.connected,
            "connect_error": o.connect_error,
            "disconnect": o.disconnect,
            "disconnect_debug": o.disconnect_debug,
            "events": o.events,
            "lagged": o.lagged,
            "emitted": o.emitted,
        }),
        Err(message) => json!({ "setup_error": message }),
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
