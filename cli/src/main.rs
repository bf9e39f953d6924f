//! The `ferrio` command: talk to Socket.IO servers from a shell (see `ferrio --help`).

mod ack_lines;
mod args;
mod clock;
mod demo;
mod input;
mod json;
mod output;
mod pending;
mod pretty;
mod server;
mod session;
mod shortform;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // Usage errors exit with 2, `--help` and `--version` with 0.
    let cli = Cli::parse();
    // Before any thread starts: the local time offset can only be read then.
    clock::init();
    let insecure = matches!(&cli.command, Command::Connect(args) if args.insecure);
    init_logging(insecure);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let status = match cli.command {
        Command::Connect(args) => runtime.block_on(session::run(*args)),
        Command::Serve(args) => runtime.block_on(server::run(args)),
        Command::Demo(args) => runtime.block_on(demo::run(args)),
    };
    // The stdin reader may still be blocked in a read: do not wait for it.
    runtime.shutdown_background();
    status
}

/// Logs to stderr when `RUST_LOG` is set; with `--insecure` (`insecure`), the core's
/// warning on each connection without certificate verification is logged in any case.
fn init_logging(insecure: bool) {
    let filter = match std::env::var_os("RUST_LOG") {
        Some(_) => tracing_subscriber::EnvFilter::from_default_env(),
        None if insecure => {
            tracing_subscriber::EnvFilter::new("ferrio::engineio::transport::tls=warn")
        }
        None => return,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
