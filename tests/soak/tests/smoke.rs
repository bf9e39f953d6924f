//! A short run of the soak driver (`ferrio-soak`), so that `make test` keeps it working:
//! a dozen clients for a few seconds, local faults every 0.4 s on average and, timing
//! allowing, a server-wide transport close and a restart; the driver must pass its own
//! checks (every client connected and answering at the end, descriptors, threads and tasks
//! back to the baseline after closing) and write its outputs.

use std::process::Command;

#[test]
fn a_short_soak_passes_and_writes_its_report() {
    let out = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_ferrio-soak"))
        .env("SOAK_CLIENTS", "12")
        .env("SOAK_MINUTES", "0.12")
        .env("SOAK_SAMPLE_SECS", "2")
        .env("SOAK_CHAOS_SECS", "0.4")
        .env("SOAK_GLOBAL_SECS", "2.5")
        .env("SOAK_OP_SECS", "0.5")
        .env("SOAK_OUT", out.path())
        .output()
        .expect("ferrio-soak runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ferrio-soak failed ({}):\n{stdout}\nthe server's log and the driver's errors:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report = std::fs::read_to_string(out.path().join("SOAK.md")).expect("SOAK.md");
    assert!(report.contains("Verdict: **passed**"), "{report}");
    assert!(
        report.contains("| server closes some transports |")
            || report.contains("| server disconnects some sockets |")
            || report.contains("| app replaces some clients |"),
        "no fault in the report:\n{report}"
    );
    let csv = std::fs::read_to_string(out.path().join("soak.csv")).expect("soak.csv");
    let phases: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1))
        .collect();
    assert_eq!(phases.first(), Some(&"idle"), "{csv}");
    assert_eq!(phases.last(), Some(&"closed"), "{csv}");
    assert!(phases.iter().filter(|p| **p == "run").count() >= 3, "{csv}");
    let svg = std::fs::read_to_string(out.path().join("soak.svg")).expect("soak.svg");
    assert!(svg.contains("<polyline"), "{svg}");
}
