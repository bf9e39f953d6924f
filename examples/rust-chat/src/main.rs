//! A chat client with typed events: joins a room, says hello, prints the room's messages.
//!
//! ```sh
//! cargo run -p ferrio-cli -- serve                  # terminal 1: a local server
//! cargo run -p rust-chat -- --name ada              # terminal 2
//! cargo run -p rust-chat -- --name bob              # terminal 3: ada sees bob's hello
//! ```
//!
//! Usage: `rust-chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]`; URL
//! defaults to http://127.0.0.1:3000. It exits 0 after N messages received (default: never)
//! and 1 when the timeout comes first, so it doubles as a smoke test.
//!
//! Any Socket.IO server with the events of `ferrio serve` works: `join(room)` answered with
//! an acknowledgement, and `broadcast(room, message)` sent to the room as `message`.

// An example talks to its user on stdout.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use ferrio::{Client, SocketEvent};
use serde::{Deserialize, Serialize};

/// A chat message as it travels: one JSON object argument, `{"from":"ada","text":"hi"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChatMessage {
    from: String,
    text: String,
}

/// The command line.
#[derive(Debug)]
struct Options {
    url: String,
    name: String,
    room: String,
    /// Exit after this many messages; `None` for never.
    messages: Option<usize>,
    /// Exit with an error when the messages have not arrived by then.
    timeout: Option<Duration>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("rust-chat: {message}\nusage: rust-chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rust-chat: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), Box<dyn Error>> {
    let client = Client::connect(&options.url).await?;
    // The pull stream sees everything from now on, in order.
    let mut events = client.events();
    println!("connected to {} as {}", options.url, options.name);

    // Join the room; the server acknowledges with `true`.
    let (joined,): (bool,) = client.emit_with_ack("join", &options.room).await?.parse()?;
    if !joined {
        return Err(format!("the server did not let us join {}", options.room).into());
    }

    // Send a typed message: any `Serialize` goes, a tuple is several arguments.
    let hello = ChatMessage {
        from: options.name.clone(),
        text: format!("hello from {}", options.name),
    };
    client.emit("broadcast", &(&options.room, &hello)).await?;

    // Print the room's messages, typed, until enough arrived.
    let receive = async {
        let mut received = 0;
        while let Some(event) = events.next().await {
            match event {
                SocketEvent::Event(event) if event.name == "message" => {
                    let (message,): (ChatMessage,) = event.parse()?;
                    println!("[{}] {}: {}", options.room, message.from, message.text);
                    received += 1;
                    if Some(received) == options.messages {
                        return Ok(());
                    }
                }
                SocketEvent::Disconnect(reason) => println!("disconnected: {reason}"),
                SocketEvent::Connect { .. } => println!("reconnected"),
                _ => {}
            }
        }
        Err::<(), Box<dyn Error>>("the connection closed".into())
    };
    let outcome = match options.timeout {
        Some(timeout) => tokio::time::timeout(timeout, receive)
            .await
            .unwrap_or_else(|_| {
                Err(format!("timed out after {timeout:?} waiting for messages").into())
            }),
        None => receive.await,
    };
    client.close().await;
    outcome
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            url: "http://127.0.0.1:3000".to_owned(),
            name: "rustacean".to_owned(),
            room: "lobby".to_owned(),
            messages: None,
            timeout: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--name" => options.name = value()?,
                "--room" => options.room = value()?,
                "--messages" => {
                    options.messages =
                        Some(value()?.parse().map_err(|e| format!("--messages: {e}"))?)
                }
                "--timeout" => {
                    let seconds: f64 = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                    options.timeout = Some(
                        Duration::try_from_secs_f64(seconds)
                            .map_err(|e| format!("--timeout: {e}"))?,
                    );
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                url => options.url = url.to_owned(),
            }
        }
        Ok(options)
    }
}
