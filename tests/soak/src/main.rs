//! `ferrio-soak`: many clients of the Rust core against the reference server for a long
//! time, cut and reconnected, while the process samples its own memory, threads,
//! descriptors and tokio tasks; exits non-zero unless they stay flat and every client still
//! works at the end. `make soak` runs it (tests/soak/README.md).
//!
//! ```sh
//! SOAK_MINUTES=3 SOAK_CLIENTS=200 cargo run --release -p ferrio-soak 2>server.log
//! ```
//!
//! The reference server's log goes to stderr; progress and the verdict to stdout; the
//! CSV, the plot and the report to `SOAK_OUT` (`target/soak`).

mod chaos;
mod config;
mod fleet;
mod probe;
mod report;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chaos::{Chaos, PING_INTERVAL_MS, PING_TIMEOUT_MS};
use config::Config;
use ferrio_integration_tests::TestServer;
use fleet::Fleet;
use probe::{ProbeError, Usage};
use report::{Phase, Sample};
use serde_json::json;
use tokio::time::Instant;

/// How long the clients get, after the faults of an interval, to be connected again before
/// a sample: past it the sample records how many were.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the process gets, after closing every client, to release their descriptors,
/// tasks and threads before the last sample.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(30);
/// Descriptors one client may hold at once: a WebSocket, or a polling GET and POST plus a
/// pooled connection being replaced.
const DESCRIPTORS_PER_CLIENT: u64 = 3;
/// The plot's file name in the output directory.
const SVG_NAME: &str = "soak.svg";

/// Why the soak could not run to its verdict.
#[derive(Debug)]
enum SoakError {
    /// `/proc/self` could not be sampled.
    Probe(ProbeError),
    /// An output file could not be written.
    Write(PathBuf, std::io::Error),
    /// The process may not open enough descriptors for the clients.
    OpenFilesLimit {
        /// The soft limit.
        limit: u64,
        /// What the clients may need.
        needed: u64,
    },
}

impl fmt::Display for SoakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SoakError::Probe(error) => error.fmt(f),
            SoakError::Write(path, error) => write!(f, "cannot write {}: {error}", path.display()),
            SoakError::OpenFilesLimit { limit, needed } => write!(
                f,
                "the process may open {limit} descriptors, the clients may need {needed}: \
                 raise the limit (`ulimit -n {needed}`) or run fewer clients (SOAK_CLIENTS)"
            ),
        }
    }
}

impl From<ProbeError> for SoakError {
    fn from(error: ProbeError) -> Self {
        SoakError::Probe(error)
    }
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ferrio-soak: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferrio-soak: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(soak(&config)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            say(&format!("ferrio-soak: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// Progress and results, on stdout (stderr carries the server's log).
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Runs the soak; `Ok(passed)`.
async fn soak(config: &Config) -> Result<bool, SoakError> {
    let needed = u64::try_from(config.clients)
        .unwrap_or(u64::MAX)
        .saturating_mul(DESCRIPTORS_PER_CLIENT)
        .saturating_add(64);
    if let Some(limit) = probe::open_files_limit()? {
        if limit < needed {
            return Err(SoakError::OpenFilesLimit { limit, needed });
        }
    }
    std::fs::create_dir_all(&config.out_dir)
        .map_err(|error| SoakError::Write(config.out_dir.clone(), error))?;
    say(&format!(
        "soak: {} clients for {:.1} min, a sample every {} s, outputs in {}",
        config.clients,
        config.duration.as_secs_f64() / 60.0,
        config.sample_every.as_secs_f64(),
        config.out_dir.display()
    ));
    let server = TestServer::start_with(json!({
        "pingInterval": PING_INTERVAL_MS,
        "pingTimeout": PING_TIMEOUT_MS,
    }))
    .await;
    let mut samples = vec![Sample {
        elapsed: Duration::ZERO,
        phase: Phase::Idle,
        usage: probe::sample()?,
        connected: 0,
        probe: None,
        totals: fleet::Totals::default(),
    }];
    report_sample(samples.last());

    let mut fleet = Fleet::start(&server.url(), config.clients, config.op_every).await;
    let mut chaos = Chaos::new(server, config.chaos_every, config.global_every);
    let start = Instant::now();
    loop {
        fleet.settle(SETTLE_TIMEOUT).await;
        let probe = fleet.probe().await;
        samples.push(Sample {
            elapsed: start.elapsed(),
            phase: Phase::Run,
            usage: probe::sample()?,
            connected: fleet.connected(),
            probe: Some(probe),
            totals: fleet.totals(),
        });
        report_sample(samples.last());
        write_outputs(config, &samples, &chaos)?;
        // A remainder under half an interval is not worth another sample.
        let remaining = config.duration.saturating_sub(start.elapsed());
        if remaining < config.sample_every / 2 {
            break;
        }
        let until = Instant::now() + config.sample_every.min(remaining);
        chaos.run_until(&mut fleet, until).await;
        chaos.clear_server_records().await;
    }

    let totals = fleet.totals();
    fleet.close().await;
    let idle = samples[0].usage;
    let usage = released(&idle).await?;
    samples.push(Sample {
        elapsed: start.elapsed(),
        phase: Phase::Closed,
        usage,
        connected: 0,
        probe: None,
        totals,
    });
    report_sample(samples.last());
    let checks = write_outputs(config, &samples, &chaos)?;
    drop(chaos);
    for check in &checks {
        let result = match check.passed {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "not judged",
        };
        say(&format!(
            "{result:>10}  {}: {} (limit {})",
            check.name, check.measured, check.limit
        ));
    }
    let passed = report::passed(&checks);
    say(&format!(
        "soak {}: report in {}",
        if passed { "passed" } else { "FAILED" },
        config.out_dir.join("SOAK.md").display()
    ));
    Ok(passed)
}

/// Samples until descriptors, tasks and threads are back near `idle` (or [`RELEASE_TIMEOUT`]
/// passed): closing ends connections and tasks a little after `close()` returns, and each
/// socket's dispatcher thread ends on its own once it sees the socket closed.
async fn released(idle: &Usage) -> Result<Usage, SoakError> {
    let deadline = Instant::now() + RELEASE_TIMEOUT;
    loop {
        let usage = probe::sample()?;
        let back = usage.fds <= idle.fds + report::CLOSED_SLACK
            && usage.tasks <= idle.tasks + report::CLOSED_SLACK
            && usage.threads <= idle.threads + report::THREAD_SLACK;
        if back || Instant::now() >= deadline {
            return Ok(usage);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report_sample(sample: Option<&Sample>) {
    let Some(s) = sample else {
        return;
    };
    let probe = s.probe.map_or(String::new(), |p| {
        format!(", probe {} ok {} failed", p.answered, p.failed)
    });
    say(&format!(
        "{:>6.1} min {:<6} connected {:>5}{probe}, RSS {:.1} MiB (peak {:.1}), {} threads, {} fds, {} tasks, {} events out, {} in, {} reconnects",
        s.elapsed.as_secs_f64() / 60.0,
        format!("{:?}", s.phase).to_lowercase(),
        s.connected,
        s.usage.rss_kib as f64 / 1024.0,
        s.usage.hwm_kib as f64 / 1024.0,
        s.usage.threads,
        s.usage.fds,
        s.usage.tasks,
        s.totals.events_sent,
        s.totals.events_received,
        s.totals.engine_reconnects + s.totals.manual_reconnects,
    ));
}

/// Writes the CSV, the plot and the report; returns the verdict they carry.
fn write_outputs(
    config: &Config,
    samples: &[Sample],
    chaos: &Chaos,
) -> Result<Vec<report::Check>, SoakError> {
    let checks = report::verdict(samples, config.clients);
    let context = report::Context {
        settings: settings(config),
        faults: chaos
            .injected()
            .iter()
            .map(|(fault, count)| (fault.name(), *count))
            .chain([("per-client actions that failed", chaos.failed_actions())])
            .collect(),
        svg_name: SVG_NAME,
    };
    write(&config.out_dir.join("soak.csv"), &report::csv(samples))?;
    write(&config.out_dir.join(SVG_NAME), &report::svg(samples))?;
    write(
        &config.out_dir.join("SOAK.md"),
        &report::markdown(samples, &checks, &context),
    )?;
    Ok(checks)
}

fn write(path: &Path, text: &str) -> Result<(), SoakError> {
    std::fs::write(path, text).map_err(|error| SoakError::Write(path.to_owned(), error))
}

/// The settings, for the report.
fn settings(config: &Config) -> Vec<(&'static str, String)> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    vec![
        (
            "clients",
            format!(
                "{} (a third each: WebSocket, polling, polling upgraded to WebSocket)",
                config.clients
            ),
        ),
        (
            "duration",
            format!("{:.1} min", config.duration.as_secs_f64() / 60.0),
        ),
        (
            "sample",
            format!(
                "every {} s, once every client is connected again ({} s at most)",
                config.sample_every.as_secs_f64(),
                SETTLE_TIMEOUT.as_secs()
            ),
        ),
        (
            "traffic per client",
            format!(
                "one operation every {} s on average: 55% `message` (echoed), 30% `echo` with an ack, 10% `askMe` (the server asks back with an ack), 5% `getbin` (binary back)",
                config.op_every.as_secs_f64()
            ),
        ),
        (
            "local faults",
            format!(
                "one every {} s on average: 50% the server closes 5% of the transports, 30% it disconnects 5% of the sockets, 20% the app replaces 1% of the clients",
                config.chaos_every.as_secs_f64()
            ),
        ),
        (
            "server-wide faults",
            format!(
                "one every {} s, in turn: close every transport, restart, freeze, kill and respawn",
                config.global_every.as_secs_f64()
            ),
        ),
        (
            "server heartbeat",
            format!("pingInterval {PING_INTERVAL_MS} ms, pingTimeout {PING_TIMEOUT_MS} ms"),
        ),
        (
            "machine",
            format!("{cpus} CPUs, Linux {kernel}, tokio multi-thread runtime"),
        ),
        (
            "build",
            if cfg!(debug_assertions) {
                "debug".into()
            } else {
                "release".into()
            },
        ),
    ]
}
