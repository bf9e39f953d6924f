//! The soak's samples, its verdict (what "flat" means, checked), and what it writes: a CSV,
//! an SVG plot drawn here, and a Markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use crate::fleet::{ProbeResult, Totals};
use crate::probe::Usage;

/// RSS may grow from the middle third of the run to the last third by this share of the
/// middle third's median...
pub const RSS_GROWTH_SHARE: f64 = 0.10;
/// ... or by this many KiB, whichever is larger (small runs have small RSS).
pub const RSS_GROWTH_KIB: u64 = 8 * 1024;
/// Threads in the last third may exceed the middle third's most by this many.
pub const THREAD_SLACK: u64 = 2;
/// The fewest descriptors (and tasks) of the last third may exceed the fewest of the middle
/// third by this share of the clients. The fewest, because polling clients' pooled HTTP
/// connections (and their tasks) come and go on top of a steady base: the server closes an
/// idle one after 5 s, and a sample finds each polling client with one to three; a leak
/// raises the base...
pub const CLIENT_SLACK_SHARE: f64 = 0.02;
/// ... or by this many, whichever is larger.
pub const CLIENT_SLACK_MIN: u64 = 8;
/// The fewest tasks of the last third may exceed the fewest of the middle third by this
/// share of the clients (or [`CLIENT_SLACK_MIN`]): besides the pooled connections, tasks
/// count the fleet's operations in flight (emits awaiting acks, probes, HTTP requests),
/// which swung by 265 within one third of a 1,000-client run whose descriptors did not
/// move. A leak grows with the reconnections (over 14,000 in 30 minutes), far past this.
pub const TASK_SLACK_SHARE: f64 = 0.10;
/// After every client closed, descriptors and tasks may exceed the count before the first
/// client by this many (the control channel's pooled connection, a respawned server's pipes).
pub const CLOSED_SLACK: u64 = 4;
/// The fewest samples of the running fleet for which flatness is judged.
pub const MIN_SAMPLES_FOR_FLATNESS: usize = 6;

/// When a sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the first client, the server running.
    Idle,
    /// Clients running (after the faults settled).
    Run,
    /// After every client was closed.
    Closed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Run => "run",
            Phase::Closed => "closed",
        }
    }
}

/// One sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Time since the fleet first connected (zero before).
    pub elapsed: Duration,
    /// When it was taken.
    pub phase: Phase,
    /// The process's resources.
    pub usage: Usage,
    /// Clients connected when it was taken.
    pub connected: usize,
    /// The ack round trip of every client just before (run samples).
    pub probe: Option<ProbeResult>,
    /// What the clients did so far.
    pub totals: Totals,
}

/// One line of the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// The measured value(s).
    pub measured: String,
    /// The bound.
    pub limit: String,
    /// Whether it held; `None` when the run was too short to judge.
    pub passed: Option<bool>,
}

/// The verdict on `samples` of a fleet of `clients`: health at the end, flatness, and the
/// return to the idle baseline after closing.
pub fn verdict(samples: &[Sample], clients: usize) -> Vec<Check> {
    let run: Vec<&Sample> = samples.iter().filter(|s| s.phase == Phase::Run).collect();
    let mut checks = Vec::new();
    let last = run.last();
    checks.push(Check {
        name: "every client connected at the end",
        measured: last.map_or("no sample".into(), |s| {
            format!("{} of {clients}", s.connected)
        }),
        limit: format!("{clients}"),
        passed: Some(last.is_some_and(|s| s.connected == clients)),
    });
    let probe = last.and_then(|s| s.probe);
    checks.push(Check {
        name: "every client answered an ack round trip at the end",
        measured: probe.map_or("no probe".into(), |p| {
            format!("{} answered, {} failed", p.answered, p.failed)
        }),
        limit: format!("{clients} answered"),
        passed: Some(probe.is_some_and(|p| p.answered == clients && p.failed == 0)),
    });
    let wrong = samples.last().map_or(0, |s| s.totals.wrong_replies);
    checks.push(Check {
        name: "no reply carried other values than sent",
        measured: wrong.to_string(),
        limit: "0".into(),
        passed: Some(wrong == 0),
    });
    // A sample taken before every client was connected again (the wait for them is
    // bounded) has fewer connections, so fewer descriptors and tasks: not comparable.
    let whole: Vec<&Sample> = run
        .iter()
        .copied()
        .filter(|s| s.connected == clients)
        .collect();
    checks.extend(flatness(&whole, clients));
    checks.extend(back_to_baseline(samples));
    checks
}

/// The thirds of the run samples: the middle and the last, when there are enough samples.
fn thirds<'a>(run: &[&'a Sample]) -> Option<(Vec<&'a Sample>, Vec<&'a Sample>)> {
    if run.len() < MIN_SAMPLES_FOR_FLATNESS {
        return None;
    }
    let (one, two) = (run.len() / 3, run.len() * 2 / 3);
    Some((run[one..two].to_vec(), run[two..].to_vec()))
}

fn flatness(run: &[&Sample], clients: usize) -> Vec<Check> {
    let client_slack = ((clients as f64 * CLIENT_SLACK_SHARE).ceil() as u64).max(CLIENT_SLACK_MIN);
    let task_slack = ((clients as f64 * TASK_SLACK_SHARE).ceil() as u64).max(CLIENT_SLACK_MIN);
    let names = [
        "RSS flat (median of the last third vs the middle third)",
        "threads flat (most in the last third vs the middle third)",
        "descriptors flat (fewest in the last third vs the middle third)",
        "tokio tasks flat (fewest in the last third vs the middle third)",
    ];
    let Some((middle, last)) = thirds(run) else {
        return names
            .into_iter()
            .map(|name| Check {
                name,
                measured: format!("{} run samples", run.len()),
                limit: format!("needs {MIN_SAMPLES_FOR_FLATNESS}"),
                passed: None,
            })
            .collect();
    };
    let values = |part: &[&Sample], field: fn(&Usage) -> u64| -> Vec<u64> {
        part.iter().map(|s| field(&s.usage)).collect()
    };
    let rss = (
        median(&values(&middle, |u| u.rss_kib)),
        median(&values(&last, |u| u.rss_kib)),
    );
    let rss_allowed = ((rss.0 as f64 * RSS_GROWTH_SHARE) as u64).max(RSS_GROWTH_KIB);
    let most = |part: &[&Sample], field: fn(&Usage) -> u64| {
        values(part, field).into_iter().max().unwrap_or(0)
    };
    let threads = (most(&middle, |u| u.threads), most(&last, |u| u.threads));
    let fewest = |part: &[&Sample], field: fn(&Usage) -> u64| {
        values(part, field).into_iter().min().unwrap_or(0)
    };
    let fds = (fewest(&middle, |u| u.fds), fewest(&last, |u| u.fds));
    let tasks = (fewest(&middle, |u| u.tasks), fewest(&last, |u| u.tasks));
    vec![
        Check {
            name: names[0],
            measured: format!(
                "{} → {} MiB ({:+.1} MiB)",
                mib(rss.0),
                mib(rss.1),
                (rss.1 as f64 - rss.0 as f64) / 1024.0
            ),
            limit: format!(
                "+{} MiB (max of {:.0}% and {} MiB)",
                mib(rss_allowed),
                RSS_GROWTH_SHARE * 100.0,
                RSS_GROWTH_KIB / 1024
            ),
            passed: Some(rss.1 <= rss.0 + rss_allowed),
        },
        Check {
            name: names[1],
            measured: format!("{} → {}", threads.0, threads.1),
            limit: format!("+{THREAD_SLACK}"),
            passed: Some(threads.1 <= threads.0 + THREAD_SLACK),
        },
        Check {
            name: names[2],
            measured: format!("{} → {}", fds.0, fds.1),
            limit: format!("+{client_slack}"),
            passed: Some(fds.1 <= fds.0 + client_slack),
        },
        Check {
            name: names[3],
            measured: format!("{} → {}", tasks.0, tasks.1),
            limit: format!("+{task_slack}"),
            passed: Some(tasks.1 <= tasks.0 + task_slack),
        },
    ]
}

fn back_to_baseline(samples: &[Sample]) -> Vec<Check> {
    let idle = samples.iter().find(|s| s.phase == Phase::Idle);
    let closed = samples.iter().rev().find(|s| s.phase == Phase::Closed);
    let check = |name: &'static str, field: fn(&Usage) -> u64, slack: u64| match (idle, closed) {
        (Some(idle), Some(closed)) => {
            let (before, after) = (field(&idle.usage), field(&closed.usage));
            Check {
                name,
                measured: format!("{before} → {after}"),
                limit: format!("+{slack}"),
                passed: Some(after <= before + slack),
            }
        }
        _ => Check {
            name,
            measured: "no idle or closed sample".into(),
            limit: format!("+{slack}"),
            passed: Some(false),
        },
    };
    vec![
        check(
            "descriptors back to the idle baseline after closing",
            |u| u.fds,
            CLOSED_SLACK,
        ),
        check(
            "threads back to the idle baseline after closing",
            |u| u.threads,
            THREAD_SLACK,
        ),
        check(
            "tokio tasks back to the idle baseline after closing",
            |u| u.tasks,
            CLOSED_SLACK,
        ),
    ]
}

/// Whether every judged check held.
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|check| check.passed != Some(false))
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => 0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn minutes(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() / 60.0
}

/// The samples as CSV, one line each.
pub fn csv(samples: &[Sample]) -> String {
    let mut out = String::from(
        "elapsed_s,phase,connected,probe_answered,probe_failed,rss_kib,hwm_kib,threads,fds,tasks,\
         events_sent,events_received,acks_ok,acks_failed,server_acks,emit_errors,connects,\
         engine_reconnects,manual_reconnects,reconnect_errors,replaced,wrong_replies\n",
    );
    for s in samples {
        let (answered, failed) = s.probe.map_or((String::new(), String::new()), |p| {
            (p.answered.to_string(), p.failed.to_string())
        });
        let (u, t) = (&s.usage, &s.totals);
        let _ = writeln!(
            out,
            "{:.0},{},{},{answered},{failed},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            s.elapsed.as_secs_f64(),
            s.phase.name(),
            s.connected,
            u.rss_kib,
            u.hwm_kib,
            u.threads,
            u.fds,
            u.tasks,
            t.events_sent,
            t.events_received,
            t.acks_ok,
            t.acks_failed,
            t.server_acks,
            t.emit_errors,
            t.connects,
            t.engine_reconnects,
            t.manual_reconnects,
            t.reconnect_errors,
            t.replaced,
            t.wrong_replies,
        );
    }
    out
}

/// One panel of the plot: a value of the run samples over time.
struct Series {
    title: &'static str,
    unit: &'static str,
    lines: Vec<(&'static str, Vec<f64>)>,
}

/// The run samples plotted (RSS and its peak, threads, descriptors, tasks over minutes), as
/// an SVG document.
pub fn svg(samples: &[Sample]) -> String {
    const WIDTH: f64 = 760.0;
    const PANEL: f64 = 150.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 30.0;
    const COLORS: [&str; 2] = ["#1f77b4", "#d62728"];
    let run: Vec<&Sample> = samples.iter().filter(|s| s.phase == Phase::Run).collect();
    let xs: Vec<f64> = run.iter().map(|s| minutes(s.elapsed)).collect();
    let column = |field: fn(&Usage) -> u64, scale: f64| -> Vec<f64> {
        run.iter().map(|s| field(&s.usage) as f64 / scale).collect()
    };
    let panels = [
        Series {
            title: "resident memory",
            unit: "MiB",
            lines: vec![
                ("VmRSS", column(|u| u.rss_kib, 1024.0)),
                ("VmHWM (peak)", column(|u| u.hwm_kib, 1024.0)),
            ],
        },
        Series {
            title: "threads",
            unit: "",
            lines: vec![("threads", column(|u| u.threads, 1.0))],
        },
        Series {
            title: "open file descriptors",
            unit: "",
            lines: vec![("descriptors", column(|u| u.fds, 1.0))],
        },
        Series {
            title: "tokio tasks alive",
            unit: "",
            lines: vec![("tasks", column(|u| u.tasks, 1.0))],
        },
    ];
    let height = panels.len() as f64 * (PANEL + TOP + BOTTOM);
    let x_max = xs.iter().copied().fold(1.0_f64, f64::max);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (i, panel) in panels.iter().enumerate() {
        let top = i as f64 * (PANEL + TOP + BOTTOM) + TOP;
        let all = panel
            .lines
            .iter()
            .flat_map(|(_, values)| values.iter().copied());
        let y_max = all.clone().fold(f64::MIN, f64::max);
        // From zero, so a flat line looks flat: growth shows against the whole value.
        let y_top = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
        let plot_w = WIDTH - LEFT - RIGHT;
        let x = |m: f64| LEFT + m / x_max * plot_w;
        let y = |v: f64| top + PANEL - v / y_top * PANEL;
        let _ = writeln!(
            out,
            "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\">{}{}</text>",
            top - 10.0,
            panel.title,
            if panel.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", panel.unit)
            }
        );
        let _ = writeln!(
            out,
            "<rect x=\"{LEFT}\" y=\"{top:.1}\" width=\"{plot_w:.1}\" height=\"{PANEL}\" fill=\"none\" stroke=\"#999\"/>"
        );
        for step in 0..=4 {
            let value = y_top * f64::from(step) / 4.0;
            let _ = writeln!(
                out,
                "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eee\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{value:.0}</text>",
                LEFT + plot_w,
                LEFT - 6.0,
                y(value) + 4.0,
                yy = y(value),
            );
        }
        let ticks = x_max.ceil().max(1.0) as u64;
        let tick_every = ticks.div_ceil(10).max(1);
        for minute in (0..=ticks)
            .step_by(tick_every as usize)
            .filter(|&m| m as f64 <= x_max)
        {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{minute}</text>",
                x(minute as f64),
                top + PANEL + 14.0
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">minutes</text>",
            LEFT + plot_w,
            top + PANEL + 26.0
        );
        for (n, (label, values)) in panel.lines.iter().enumerate() {
            let color = COLORS[n % COLORS.len()];
            let points: Vec<String> = xs
                .iter()
                .zip(values)
                .map(|(&m, &v)| format!("{:.1},{:.1}", x(m), y(v)))
                .collect();
            let dash = if n > 0 {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
                points.join(" ")
            );
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{color}\">{label}</text>",
                LEFT + plot_w - 6.0,
                top + 14.0 + 13.0 * n as f64
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// `values` as a one-line chart of block characters, scaled from zero to the largest.
fn sparkline(values: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let top = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| BLOCKS[((v as f64 / top as f64) * 7.0).round() as usize])
        .collect()
}

/// What the report says besides the samples.
pub struct Context<'a> {
    /// The settings, as `(name, value)` lines.
    pub settings: Vec<(&'static str, String)>,
    /// The faults injected, as `(name, count)`.
    pub faults: Vec<(&'static str, u64)>,
    /// The plot's file name, next to the report.
    pub svg_name: &'a str,
}

/// The Markdown report.
pub fn markdown(samples: &[Sample], checks: &[Check], context: &Context<'_>) -> String {
    let mut out = String::from("# Soak\n\n");
    out.push_str(
        "Generated by `make soak` (tests/soak, `ferrio-soak`); do not edit by hand. \
         Clients of the Rust core run in one process against the reference server \
         (tests/server) on loopback, exchanging events and acknowledgements while faults \
         cut them; the process samples its own memory, threads, descriptors and tokio tasks \
         once the faults settled (every client connected again), each interval. \
         See tests/soak/README.md for what is checked and why.\n\n",
    );
    let verdict = if passed(checks) {
        "**passed**"
    } else {
        "**FAILED**"
    };
    let _ = writeln!(out, "Verdict: {verdict}\n\n## Settings\n");
    out.push_str("| setting | value |\n|---|---|\n");
    for (name, value) in &context.settings {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push_str("\n## Checks\n\n| check | measured | limit | |\n|---|---|---|---|\n");
    for check in checks {
        let result = match check.passed {
            Some(true) => "passed",
            Some(false) => "**FAILED**",
            None => "not judged",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {result} |",
            check.name, check.measured, check.limit
        );
    }
    out.push_str(
        "\n## Samples\n\n| min | phase | connected | ack probe | RSS MiB | peak MiB | threads | \
         fds | tasks | events sent | events received | acks ok | acks failed | connects | \
         reconnects (auto / by hand) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in samples {
        let probe = s.probe.map_or("—".into(), |p| {
            if p.failed == 0 {
                format!("{} ok", p.answered)
            } else {
                format!("{} ok, **{} failed**", p.answered, p.failed)
            }
        });
        let (u, t) = (&s.usage, &s.totals);
        let _ = writeln!(
            out,
            "| {:.1} | {} | {} | {probe} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            minutes(s.elapsed),
            s.phase.name(),
            s.connected,
            mib(u.rss_kib),
            mib(u.hwm_kib),
            u.threads,
            u.fds,
            u.tasks,
            t.events_sent,
            t.events_received,
            t.acks_ok,
            t.acks_failed,
            t.connects,
            t.engine_reconnects,
            t.manual_reconnects,
        );
    }
    let run: Vec<&Sample> = samples.iter().filter(|s| s.phase == Phase::Run).collect();
    let column =
        |field: fn(&Usage) -> u64| -> Vec<u64> { run.iter().map(|s| field(&s.usage)).collect() };
    let _ = writeln!(
        out,
        "\n## Plot\n\n![RSS, threads, descriptors and tasks over the run]({})\n\n\
         The same, one character per run sample, each scaled from zero to its largest value:\n\n\
         ```text\nRSS     {}\nthreads {}\nfds     {}\ntasks   {}\n```",
        context.svg_name,
        sparkline(&column(|u| u.rss_kib)),
        sparkline(&column(|u| u.threads)),
        sparkline(&column(|u| u.fds)),
        sparkline(&column(|u| u.tasks)),
    );
    if let Some(last) = samples.last() {
        let t = &last.totals;
        out.push_str("\n## What the clients did\n\n| | count |\n|---|---|\n");
        for (name, value) in [
            ("events emitted", t.events_sent),
            ("events received", t.events_received),
            ("`echo` acknowledgements received", t.acks_ok),
            (
                "`echo` acknowledgements failed (cut meanwhile)",
                t.acks_failed,
            ),
            ("server `question`s acknowledged", t.server_acks),
            ("emits refused (offline buffer full)", t.emit_errors),
            ("namespace connections (new socket ids)", t.connects),
            ("reconnections by the managers", t.engine_reconnects),
            (
                "connects by hand after `io server disconnect`",
                t.manual_reconnects,
            ),
            ("failed reconnection attempts", t.reconnect_errors),
            ("clients replaced", t.replaced),
        ] {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        out.push_str("\n## Faults injected\n\n| fault | count |\n|---|---|\n");
        for (name, count) in &context.faults {
            let _ = writeln!(out, "| {name} | {count} |");
        }
        out.push_str("\n## Engine.IO connections closed, by reason (client side)\n\n| reason | count |\n|---|---|\n");
        for (reason, count) in &t.closes {
            let _ = writeln!(out, "| {reason} | {count} |");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(minute: u64, phase: Phase, rss_mib: u64, fds: u64) -> Sample {
        Sample {
            elapsed: Duration::from_secs(minute * 60),
            phase,
            usage: Usage {
                rss_kib: rss_mib * 1024,
                hwm_kib: rss_mib * 1024,
                threads: 3,
                fds,
                tasks: fds * 4,
            },
            connected: 100,
            probe: Some(ProbeResult {
                answered: 100,
                failed: 0,
            }),
            totals: Totals::default(),
        }
    }

    fn run(rss: &[u64]) -> Vec<Sample> {
        let mut samples = vec![sample(0, Phase::Idle, 10, 20)];
        samples.extend(
            rss.iter()
                .enumerate()
                .map(|(m, &r)| sample(m as u64, Phase::Run, r, 220)),
        );
        samples.push(sample(rss.len() as u64, Phase::Closed, 50, 21));
        samples
    }

    fn check<'a>(checks: &'a [Check], prefix: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no check {prefix}"))
    }

    #[test]
    fn a_flat_run_passes() {
        let checks = verdict(&run(&[40, 60, 61, 62, 60, 61, 62, 61, 60]), 100);
        assert!(passed(&checks), "{checks:#?}");
    }

    #[test]
    fn growing_memory_fails_and_a_short_run_is_not_judged() {
        let checks = verdict(&run(&[40, 60, 70, 80, 90, 100, 110, 120, 130]), 100);
        assert_eq!(check(&checks, "RSS flat").passed, Some(false));
        assert!(!passed(&checks));
        let short = verdict(&run(&[40, 90, 200]), 100);
        assert_eq!(check(&short, "RSS flat").passed, None);
        assert!(passed(&short), "{short:#?}");
    }

    #[test]
    fn descriptors_flipping_between_two_levels_pass_a_rising_base_fails() {
        let mut samples = run(&[40, 60, 61, 62, 60, 61, 62, 61, 60]);
        let levels = [285, 415, 287, 285, 415, 286, 415, 288, 287];
        for (sample, fds) in samples[1..10].iter_mut().zip(levels) {
            sample.usage.fds = fds;
        }
        let checks = verdict(&samples, 100);
        assert_eq!(check(&checks, "descriptors flat").passed, Some(true));
        for (n, sample) in samples[1..10].iter_mut().enumerate() {
            sample.usage.fds = 285 + 20 * n as u64;
        }
        let checks = verdict(&samples, 100);
        assert_eq!(check(&checks, "descriptors flat").passed, Some(false));
    }

    #[test]
    fn a_sample_of_a_partly_reconnected_fleet_is_left_out_of_flatness() {
        let mut samples = run(&[40, 60, 61, 62, 60, 61, 62, 61, 60]);
        // The middle third's fewest descriptors, taken while 8 clients were still away.
        samples[4].connected = 92;
        samples[4].usage.fds = 190;
        let checks = verdict(&samples, 100);
        assert_eq!(check(&checks, "descriptors flat").passed, Some(true));
    }

    #[test]
    fn descriptors_left_open_after_closing_fail() {
        let mut samples = run(&[40, 60, 61, 62, 60, 61]);
        if let Some(closed) = samples.last_mut() {
            closed.usage.fds = 120;
        }
        let checks = verdict(&samples, 100);
        assert_eq!(check(&checks, "descriptors back").passed, Some(false));
    }

    #[test]
    fn an_unanswered_probe_at_the_end_fails() {
        let mut samples = run(&[40, 60, 61, 62, 60, 61]);
        let last_run = samples.len() - 2;
        samples[last_run].probe = Some(ProbeResult {
            answered: 99,
            failed: 1,
        });
        assert!(!passed(&verdict(&samples, 100)));
    }

    #[test]
    fn the_outputs_carry_every_sample() {
        let samples = run(&[40, 60, 61]);
        let checks = verdict(&samples, 100);
        assert_eq!(csv(&samples).lines().count(), 1 + samples.len());
        let svg = svg(&samples);
        assert!(svg.starts_with("<svg") && svg.contains("polyline"), "{svg}");
        let context = Context {
            settings: vec![("clients", "100".into())],
            faults: vec![("x", 1)],
            svg_name: "soak.svg",
        };
        let report = markdown(&samples, &checks, &context);
        assert!(report.contains("Verdict: **passed**") && report.contains("soak.svg"));
        assert_eq!(sparkline(&[0, 4, 8]), "▁▅█");
    }
}
