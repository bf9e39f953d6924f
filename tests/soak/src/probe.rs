//! What the process uses, from `/proc/self` (Linux) and the tokio runtime.

use std::fmt;
use std::io;

/// The process's resources at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Resident memory (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident memory so far (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// Threads of the process (`Threads`).
    pub threads: u64,
    /// Open file descriptors (entries of `/proc/self/fd`, less the one reading it).
    pub fds: u64,
    /// Tasks alive on the tokio runtime.
    pub tasks: u64,
}

/// `/proc/self` could not be read or did not say what was expected.
#[derive(Debug)]
pub struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot sample the process (Linux /proc needed): {}",
            self.0
        )
    }
}

impl std::error::Error for ProbeError {}

impl From<io::Error> for ProbeError {
    fn from(error: io::Error) -> Self {
        ProbeError(error.to_string())
    }
}

/// Samples the current process; must run on the soak's tokio runtime.
///
/// # Errors
/// [`ProbeError`] when `/proc/self` is missing or malformed.
pub fn sample() -> Result<Usage, ProbeError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let mut usage = parse_status(&status)?;
    // The directory being read is itself an open descriptor while it is counted.
    let entries = std::fs::read_dir("/proc/self/fd")?.count();
    usage.fds = u64::try_from(entries.saturating_sub(1)).unwrap_or(u64::MAX);
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    usage.tasks = u64::try_from(tasks).unwrap_or(u64::MAX);
    Ok(usage)
}

/// The process's soft limit on open descriptors (`Max open files` in `/proc/self/limits`);
/// `None` when unlimited.
///
/// # Errors
/// [`ProbeError`] when `/proc/self/limits` is missing or malformed.
pub fn open_files_limit() -> Result<Option<u64>, ProbeError> {
    parse_open_files_limit(&std::fs::read_to_string("/proc/self/limits")?)
}

fn parse_open_files_limit(limits: &str) -> Result<Option<u64>, ProbeError> {
    let soft = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| ProbeError("no `Max open files` in /proc/self/limits".into()))?;
    if soft == "unlimited" {
        return Ok(None);
    }
    soft.parse()
        .map(Some)
        .map_err(|_| ProbeError(format!("`Max open files` is {soft:?}")))
}

/// `VmRSS`, `VmHWM` and `Threads` of a `/proc/PID/status` text.
fn parse_status(status: &str) -> Result<Usage, ProbeError> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .ok_or_else(|| ProbeError(format!("no `{name}` in /proc/self/status")))
    };
    Ok(Usage {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
        threads: field("Threads")?,
        fds: 0,
        tasks: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_fields() {
        let status = "Name:\tferrio-soak\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t3\n";
        let usage = parse_status(status).expect("parsed");
        assert_eq!(
            (usage.rss_kib, usage.hwm_kib, usage.threads),
            (80000, 81234, 3)
        );
    }

    #[test]
    fn a_missing_field_is_an_error() {
        let error = parse_status("VmRSS:\t1 kB\n").expect_err("no VmHWM");
        assert!(error.to_string().contains("VmHWM"), "{error}");
    }

    #[test]
    fn reads_the_open_files_limit() {
        let limits =
            "Max processes             96367                96367                processes\n\
                      Max open files            1024                 20000                files\n";
        assert_eq!(parse_open_files_limit(limits).expect("parsed"), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited).expect("parsed"), None);
        assert!(parse_open_files_limit("Max processes 1 1 processes\n").is_err());
    }

    #[tokio::test]
    async fn samples_this_process() {
        let usage = sample().expect("Linux /proc");
        assert!(usage.rss_kib > 0 && usage.hwm_kib >= usage.rss_kib);
        assert!(usage.threads >= 1 && usage.fds >= 3);
    }
}
