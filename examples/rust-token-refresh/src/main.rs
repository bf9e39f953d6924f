//! A client that gets a fresh auth token before every reconnection attempt.
//!
//! Tokens expire; a reconnection that sends the old one is refused. Ferrio calls the
//! `on_reconnect` hook before each attempt, and the `auth` it returns is sent with every
//! namespace's CONNECT from then on.
//!
//! ```sh
//! cargo run -p ferrio-cli -- serve                          # terminal 1
//! cargo run -p rust-token-refresh                           # terminal 2; stop and restart
//!                                                           # the server to see a refresh
//! cargo run -p rust-token-refresh -- --force-reconnect      # or let the server drop us
//! ```
//!
//! Usage: `rust-token-refresh [URL] [--force-reconnect] [--timeout S]`; URL defaults to
//! http://127.0.0.1:3000. It connects the `/admin` namespace, which `ferrio serve` opens
//! only with the token `secret`, and asks `whoami` (the server answers with the auth it
//! got). With `--force-reconnect` it asks the server to `drop` its connection, waits for
//! the automatic reconnection, checks that the server saw a newer token, and exits 0.

// An example talks to its user on stdout.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrio::{Manager, ReconnectUpdate, Socket, SocketEvent, SocketOptions};
use serde::{Deserialize, Serialize};

/// The auth payload: the token and which one it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Auth {
    token: String,
    serial: u32,
}

/// Stands for your identity provider: each call issues a new token.
#[derive(Debug, Default)]
struct TokenService {
    issued: AtomicU32,
}

impl TokenService {
    async fn fetch(&self) -> Auth {
        let serial = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        // A real service would be an HTTP call; `ferrio serve` accepts "secret".
        Auth {
            token: "secret".to_owned(),
            serial,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut url = "http://127.0.0.1:3000".to_owned();
    let mut force_reconnect = false;
    let mut timeout = Duration::from_secs(30);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--force-reconnect" => force_reconnect = true,
            "--timeout" => match args.next().and_then(|s| s.parse::<f64>().ok()) {
                Some(seconds) if seconds > 0.0 => timeout = Duration::from_secs_f64(seconds),
                _ => return usage("--timeout needs a number of seconds"),
            },
            flag if flag.starts_with("--") => return usage(&format!("unknown option {flag}")),
            other => url = other.to_owned(),
        }
    }
    match tokio::time::timeout(timeout, run(&url, force_reconnect)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("rust-token-refresh: {error}");
            ExitCode::FAILURE
        }
        // Without --force-reconnect the client runs until the timeout: a normal end.
        Err(_) if !force_reconnect => ExitCode::SUCCESS,
        Err(_) => {
            eprintln!("rust-token-refresh: no reconnection within {timeout:?}");
            ExitCode::FAILURE
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("rust-token-refresh: {message}\nusage: rust-token-refresh [URL] [--force-reconnect] [--timeout S]");
    ExitCode::from(2)
}

async fn run(url: &str, force_reconnect: bool) -> Result<(), Box<dyn Error>> {
    let tokens = Arc::new(TokenService::default());
    let first = tokens.fetch().await;

    let hook_tokens = tokens.clone();
    let manager = Manager::builder(url)
        .reconnection_delay(Duration::from_millis(200))
        .reconnection_delay_max(Duration::from_secs(2))
        // Before every attempt: fetch a fresh token, hand it to the manager.
        .on_reconnect(move |attempt| {
            let tokens = hook_tokens.clone();
            async move {
                let auth = tokens.fetch().await;
                println!("attempt {attempt}: fetched token #{}", auth.serial);
                ReconnectUpdate {
                    auth: ferrio::to_value(&auth).ok(),
                    ..ReconnectUpdate::default()
                }
            }
        })
        .build()?;
    let admin = manager.socket_with(
        "/admin",
        SocketOptions {
            auth: Some(ferrio::to_value(&first)?),
            ..SocketOptions::default()
        },
    );
    admin.connect().await?;
    let seen = whoami(&admin).await?;
    println!("connected to {url}/admin with token #{}", seen.serial);

    // What happens from now on: disconnections and reconnections.
    let mut events = admin.events();

    if force_reconnect {
        // `ferrio serve` closes our connection on `drop`, as a network failure would.
        admin.emit("drop", &()).await?;
    }
    while let Some(event) = events.next().await {
        match event {
            SocketEvent::Disconnect(reason) => println!("disconnected: {reason}"),
            SocketEvent::ConnectError(error) => println!("refused: {error}"),
            SocketEvent::Connect { .. } => {
                let seen = whoami(&admin).await?;
                println!("reconnected; the server saw token #{}", seen.serial);
                if seen.serial <= first.serial {
                    return Err("the server saw the old token".into());
                }
                if force_reconnect {
                    break;
                }
            }
            _ => {}
        }
    }
    manager.close().await;
    Ok(())
}

/// The auth payload the server got with our CONNECT.
async fn whoami(admin: &Socket) -> Result<Auth, Box<dyn Error>> {
    let (auth,): (Auth,) = admin.emit_with_ack("whoami", &()).await?.parse()?;
    Ok(auth)
}
