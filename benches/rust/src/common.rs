//! What every Rust bench client shares: arguments, clocks, the result line.
#![allow(dead_code)]

use std::time::{Duration, Instant};

pub const PAYLOAD: &str = "0123456789abcdef";
pub const ACK_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(serde::Serialize)]
pub struct Msg {
    pub n: u64,
    pub s: &'static str,
}

pub struct Args {
    pub scenario: String,
    pub url: String,
    pub n: usize,
}

/// The tokio runtime the client runs on: tokio's default multi-thread runtime, or a
/// current-thread one when `BENCH_RUNTIME=current_thread` (the harness's `_ct` clients).
pub fn runtime() -> tokio::runtime::Runtime {
    let mut builder = if std::env::var("BENCH_RUNTIME").as_deref() == Ok("current_thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().expect("tokio runtime")
}

pub fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().expect("scenario");
    let url = it.next().expect("url");
    let n = it.next().map_or(0, |n| n.parse().expect("n"));
    Args { scenario, url, n }
}

/// User + system CPU time of this process.
pub fn cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident set size now, in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// A KiB field of `/proc/self/status` (0 when it cannot be read).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub struct Meter {
    wall: Instant,
    cpu: Duration,
}

impl Meter {
    pub fn start() -> Self {
        Meter {
            wall: Instant::now(),
            cpu: cpu(),
        }
    }
    pub fn stop(&self) -> (f64, f64) {
        (
            self.wall.elapsed().as_secs_f64(),
            (cpu() - self.cpu).as_secs_f64(),
        )
    }
}

pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

/// Peak resident set size of this process image, in KiB (VmHWM: unlike ru_maxrss, it
/// does not include the parent's memory before exec).
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Prints the one result line the driver reads.
pub fn report(mut value: serde_json::Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert("peak_rss_kib".into(), peak_rss_kib().into());
    }
    println!("RESULT {value}");
}

pub fn throughput(n: usize, wall: f64, cpu: f64, extra: serde_json::Value) {
    let mut v = serde_json::json!({
        "n": n, "wall_s": wall, "cpu_s": cpu,
        "per_s": n as f64 / wall, "cpu_us_per_msg": cpu / n as f64 * 1e6,
    });
    if let (Some(v), serde_json::Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    report(v);
}

pub fn latencies(mut samples_us: Vec<f64>, wall: f64, cpu: f64) {
    let n = samples_us.len();
    report(serde_json::json!({
        "n": n, "wall_s": wall, "cpu_s": cpu, "cpu_us_per_msg": cpu / n as f64 * 1e6,
        "p50_us": percentile(&mut samples_us, 0.5),
        "p99_us": percentile(&mut samples_us, 0.99),
    }));
}

/// The memory scenario's readings, taken with every connection established and idle:
/// `before` (none yet), `mid` (after the first `n`), `after` (after `n` more, `2n` in all),
/// all VmRSS in KiB. `kib_per_conn` is the marginal cost, `(after - mid) / n`: one-off costs
/// (code pages, runtime threads, first-use tables) fall in the first half and do not count.
/// `kib_per_conn_first` is the harness's earlier figure, `(mid - before) / n`.
pub fn memory(before: u64, mid: u64, after: u64, n: usize) {
    report(serde_json::json!({
        "n": n, "rss_before_kib": before, "rss_mid_kib": mid, "rss_after_kib": after,
        "kib_per_conn": (after.saturating_sub(mid)) as f64 / n as f64,
        "kib_per_conn_first": (mid.saturating_sub(before)) as f64 / n as f64,
    }));
}
