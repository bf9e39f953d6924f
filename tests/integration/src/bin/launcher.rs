//! `ferrio-test-launcher`: starts the reference servers of a test command that cannot start
//! Node itself (a Windows test binary run by wine), over the protocol of
//! [`ferrio_integration_tests::launcher`].
//!
//! ```sh
//! cargo run -p ferrio-integration-tests --bin ferrio-test-launcher -- \
//!     cargo test --target x86_64-pc-windows-gnu -p ferrio-integration-tests
//! ```
//!
//! Usage: `ferrio-test-launcher -- COMMAND [ARG]...`: listens on an ephemeral loopback
//! port, runs COMMAND with `FERRIO_TEST_LAUNCHER=127.0.0.1:PORT` in its environment and
//! exits with its status. The servers' stderr comes out on this program's stderr.

use std::process::ExitCode;

use ferrio_integration_tests::launcher::{serve, LAUNCHER_ENV};
use tokio::net::TcpListener;

const USAGE: &str = "usage: ferrio-test-launcher -- COMMAND [ARG]...";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.split_first() {
        Some((dashes, command)) if dashes == "--" && !command.is_empty() => command.to_vec(),
        _ => {
            eprintln!("ferrio-test-launcher: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("ferrio-test-launcher: cannot listen on 127.0.0.1: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("ferrio-test-launcher: no local address: {error}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(async move {
        if let Err(error) = serve(listener).await {
            eprintln!("ferrio-test-launcher: stopped accepting: {error}");
        }
    });
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env(LAUNCHER_ENV, address.to_string())
        .kill_on_drop(true)
        .status()
        .await;
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!(
                "ferrio-test-launcher: `{}` failed: {status}",
                command.join(" ")
            );
            ExitCode::from(
                status
                    .code()
                    .and_then(|code| u8::try_from(code.clamp(1, 255)).ok())
                    .unwrap_or(1),
            )
        }
        Err(error) => {
            eprintln!("ferrio-test-launcher: cannot run `{}`: {error}", command[0]);
            ExitCode::FAILURE
        }
    }
    // The runtime drops here: the servers still running are killed.
}
