//! Command-line arguments (clap derive): the `ferrio` command and its subcommands.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferrio::ManagerOptions;

const TOP_EXAMPLES: &str = "\
Examples:
  ferrio demo                           # a guided session against a built-in server
  ferrio serve                          # a local Socket.IO server on http://127.0.0.1:3000
  ferrio connect http://localhost:3000  # talk to any Socket.IO server
  echo '{\"emit\":\"echo\",\"args\":[1],\"ack\":true}' | ferrio connect http://localhost:3000
  ferrio help connect";

const CONNECT_EXAMPLES: &str = "\
Input (stdin), one JSON object per line; blank lines are ignored:
  {\"emit\":\"EVENT\",\"args\":[...],\"ack\":true,\"timeout_ms\":5000,\"namespace\":\"/x\"}
      args defaults to [], ack to false, timeout_ms to 5000 (only with \"ack\":true),
      namespace to the first --namespace (\"/\" when none was given); with
      \"volatile\":true (not with ack) the emit is dropped, not buffered, when the
      connection cannot take it now
  {\"join\":\"ROOM\",\"namespace\":\"/x\"}  join a room: emits \"join\" with its name, again
      after every reconnection that did not recover the session
  {\"leave\":\"ROOM\",\"namespace\":\"/x\"} leave it: forgets the intent, emits \"leave\"
  {\"disconnect\":true}     disconnect every namespace, then exit 0 once pending acks settle
  {\"disconnect\":\"/x\"}     disconnect one namespace
  {\"ack\":ID,\"args\":[...]}  answer the server's acknowledgement request of the event
      line printed with \"ack\":ID (args defaults to []); an unknown or already answered
      ID is an error line. At most 1024 requests wait: a newer one answers the oldest
      with no values, and so does the end of the session for those left.
  End of input: wait for pending acks (or their timeouts), close, exit 0.

Output (stdout), one JSON object per line, each with a \"type\":
  connect, event (with \"ack\":ID when the server asks for an acknowledgement), ack,
  ack_error (error: timeout | disconnected | closed), connect_error,
  disconnect (reason: io server disconnect | io client disconnect | ping timeout |
  transport close | transport error | parse error | message too large |
  protocol violation | invalid utf-8 | write stalled), lagged, reconnect_attempt, reconnect,
  reconnect_error, reconnect_failed, and error (a bad input line; the session goes on).
  Binary data is {\"$binary\":\"BASE64\"} at any depth, in both directions.

Namespaces: without --namespace, \"/\" is connected. The URL's path is NOT a namespace here
(http://host:3000/admin still connects \"/\"); use --namespace /admin.

Interactive use: when stdin is a terminal, a short form is accepted besides JSON:
  emit [/NS] EVENT [ARG]...   emit; each ARG is JSON (1, true, {\"a\":1}, \"two words\"),
                              else a plain word is a string; ARGs starting with { [ or \"
                              must be valid JSON
  ack [/NS] EVENT [ARG]...    emit and wait for the acknowledgement (5 s)
  disconnect [NS]             disconnect one namespace, or all and quit
  help                        list these commands
  quit                        wait for pending acks, then exit (also Ctrl-D)
  With --output auto (the default), events print as readable, colored lines with local
  timestamps when stdin and stdout are both terminals; otherwise JSON lines (the contract
  above). NO_COLOR turns colors off.

Scripts: --count N exits 0 once N event lines were printed (later events are not
printed); --timeout S ends the session after S seconds. With either, end of input does
not end the session: it waits for the count or the timeout.

Exit status: 0 normal end, --count reached, or --timeout without --count; 1 connection
failure, or --timeout before anything connected; 2 usage error; 3 --timeout before
--count events arrived.
Logs go to stderr, only when RUST_LOG is set (e.g. RUST_LOG=ferrio=debug).

Examples:
  ferrio connect http://localhost:3000
  ferrio connect http://localhost:3000 --count 1 --timeout 10 < /dev/null   # wait for one event
  ferrio connect https://chat.example --namespace / --namespace /admin --auth '{\"token\":\"s3cret\"}'
  ferrio connect ws://localhost:3000 --transport websocket --header 'Authorization: Bearer abc'
  ferrio connect https://chat.example --proxy http://user:secret@proxy.corp:3128
  ferrio connect http://legacy.example:3000 --server-version 2   # a Socket.IO 2.x server (found out anyway)
  printf '%s\\n' '{\"emit\":\"echo\",\"args\":[\"hi\"],\"ack\":true}' | ferrio connect http://localhost:3000";

/// Talk to Socket.IO servers (2.x, 3.x and 4.x) from a shell.
#[derive(Debug, Parser)]
#[command(name = "ferrio", version, after_help = TOP_EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const SERVE_EXAMPLES: &str = "\
What it does (namespace /, and /admin which needs the auth {\"token\":\"secret\"}):
  echo(...args)             acknowledges with the same arguments; without an ack request,
                            emits \"echo\" back with them
  join(room) / leave(room)  joins / leaves the room, acknowledges with true
  broadcast(room, ...args)  emits \"message\" with the args to everyone in the room (the
                            sender too, if it is in it); acknowledges with true
  chat(...args)             emits \"chat\" with the args to every client of the namespace
  drop                      closes this client's connection (it sees \"transport close\" over
                            WebSocket, then reconnects): to try reconnection
  whoami (/admin only)      acknowledges with the auth payload the socket connected with
  A refused /admin connection gets the connect error {\"message\":\"unauthorized\"}.
  Binary arguments pass through unchanged.

Output: the URL alone on the first line of stdout (e.g. http://127.0.0.1:3000); connections
and disconnections are logged to stderr. Ctrl-C stops it.

Examples:
  ferrio serve
  ferrio serve --port 0                     # a free port; read the URL from stdout
  ferrio serve --host 0.0.0.0 --port 8080   # reachable from other machines";

const DEMO_EXAMPLES: &str = "\
It starts the embedded server (see ferrio serve) on a free loopback port, connects two
clients, alice and bob, and shows: connect, an event, an acknowledgement, a room
broadcast, binary, a dropped connection and the automatic reconnection. Each step has a
timeout; the exit status is 0 when every step passed, 1 otherwise.

Examples:
  ferrio demo
  cargo run -p ferrio-cli -- demo";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a server; JSON commands on stdin, JSON events on stdout (or an
    /// interactive session in a terminal).
    #[command(after_help = CONNECT_EXAMPLES)]
    Connect(Box<ConnectArgs>),
    /// Run a local Socket.IO server (echo, rooms, an /admin namespace with auth).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Show what Ferrio does: two clients against a built-in server, step by step.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo(DemoArgs),
}

/// Arguments of `ferrio serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on; 0 picks a free one (the printed URL tells which).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// The address to listen on: loopback by default; 0.0.0.0 or :: exposes the server.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
}

/// Arguments of `ferrio demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The longest any one step may take, in seconds, before the demo fails.
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    pub step_timeout: Duration,
}

/// Arguments of `ferrio connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server, e.g. http://localhost:3000 (http, https, ws or wss). Its path is not a
    /// namespace: use --namespace.
    pub url: String,

    /// A namespace to connect (repeatable); "/" when none is given.
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// The auth payload sent with every namespace's CONNECT; must be a JSON object.
    #[arg(long, value_name = "JSON", value_parser = parse_auth)]
    pub auth: Option<serde_json::Value>,

    /// Transports: polling upgraded to WebSocket, WebSocket only, or polling only.
    #[arg(long, value_enum, default_value_t = Transport::Upgrade)]
    pub transport: Transport,

    /// The server's Socket.IO version: found out on the first connection (detect: a
    /// Socket.IO 2.x server needs no flag), 2 (Socket.IO 2.x: Engine.IO v3, Socket.IO
    /// protocol 4) or 4 (Socket.IO 3.x and 4.x: Engine.IO v4, Socket.IO protocol 5).
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = ServerVersion::Detect)]
    pub server_version: ServerVersion,

    /// A server tried when the ones before it cannot be reached, on the first connection
    /// and on every reconnection (repeatable; tried in the order given, after URL).
    #[arg(long = "fallback-url", value_name = "URL")]
    pub fallback_urls: Vec<String>,

    /// Do not ask the server to compress: neither polling responses (gzip, deflate) nor
    /// WebSocket messages (permessage-deflate).
    #[arg(long)]
    pub no_compression: bool,

    /// An extra HTTP header for every request, "Name: value" (repeatable).
    #[arg(long = "header", value_name = "K:V", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// A PEM file with an extra CA certificate to trust (beside the system roots).
    #[arg(long, value_name = "PEM_PATH")]
    pub ca_cert: Option<PathBuf>,

    /// A pinned public key, "sha256/<base64>" of a certificate's SubjectPublicKeyInfo
    /// (repeatable): the server's verified chain must hold one of them.
    #[arg(long = "pin", value_name = "SHA256", value_parser = parse_pin)]
    pub pins: Vec<ferrio::SpkiPin>,

    /// A PEM file with the client certificate (chain) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "PEM_PATH", requires = "client_key")]
    pub client_cert: Option<PathBuf>,

    /// A PEM file with the client certificate's private key (PKCS#8, RSA or EC).
    #[arg(long, value_name = "PEM_PATH", requires = "client_cert")]
    pub client_key: Option<PathBuf>,

    /// Accept any server certificate (development only: the connection is not
    /// authenticated); every connection logs a warning on stderr.
    #[arg(long, conflicts_with = "pins")]
    pub insecure: bool,

    /// The proxy of both transports: http://[USER:PASS@]HOST:PORT (CONNECT, or plain
    /// proxying of http:// polling), socks5h://... (SOCKS5, the proxy resolves the
    /// server's name) or socks5://.... Without it, HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
    /// NO_PROXY (lower case first) are read as curl does.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Connect directly: ignore HTTPS_PROXY, HTTP_PROXY and ALL_PROXY.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy_env: bool,

    /// Reconnection attempts before giving up (default: unlimited).
    #[arg(long, value_name = "N")]
    pub reconnection_attempts: Option<u32>,

    /// First reconnection delay in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = default_millis(|o| o.reconnection_delay))]
    pub reconnection_delay_ms: u64,

    /// Longest reconnection delay in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = default_millis(|o| o.reconnection_delay_max))]
    pub reconnection_delay_max_ms: u64,

    /// Do not reconnect after a lost connection.
    #[arg(long)]
    pub no_reconnection: bool,

    /// Tries per emit beyond the first, for at-least-once delivery (the JS client's
    /// `retries`): every emit then waits for the server's acknowledgement (each try as
    /// long as an ack line's timeout_ms, 30 s for an emit without ack) and is sent again,
    /// after the reconnection if the connection was lost, until acknowledged or out of
    /// tries. The server must acknowledge every event.
    #[arg(long, value_name = "N", default_value_t = ferrio::SocketOptions::default().retries)]
    pub retries: u32,

    /// Exit 0 once N events (`event` lines) were received; later events are not printed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// End the session after S seconds (fractions allowed): exit 0, or 3 when --count
    /// was given and not reached, or 1 when no namespace ever connected.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// Output format: readable text when stdin and stdout are terminals (auto), or always
    /// JSON lines, or always text.
    #[arg(long, value_enum, default_value_t = OutputFormat::Auto)]
    pub output: OutputFormat,

    /// Print the connection statistics (bytes, packets, reconnections, transport, ping
    /// age, ack round trips) as a `stats` line when the session ends.
    #[arg(long)]
    pub stats: bool,

    /// Also print a `stats` line every S seconds (fractions allowed); implies --stats.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub stats_interval: Option<Duration>,

    /// The size limits (the core's defaults; 0 where it would refuse everything is a usage
    /// error).
    #[command(flatten)]
    pub limits: Limits,

    /// Do not try the next transport when the first cannot be opened (by default a blocked
    /// WebSocket falls back to polling).
    #[arg(long)]
    pub no_try_all_transports: bool,
}

/// The size limits of `ferrio connect`, each the core's [`ManagerOptions`] default.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct Limits {
    /// Largest HTTP body or WebSocket message taken from the server, counted
    /// decompressed: a larger one ends the connection (`message too large`), then it
    /// reconnects.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().max_incoming_bytes)]
    pub max_incoming_bytes: usize,

    /// Most packets in one polling response: more end the connection (`message too
    /// large`).
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().max_payload_packets)]
    pub max_payload_packets: usize,

    /// Most bytes the WebSocket holds for a server that does not read them: past it
    /// the connection ends (`write stalled`).
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().max_write_buffer_bytes)]
    pub max_write_buffer_bytes: usize,

    /// Most cookies kept from one host.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().max_cookies_per_host)]
    pub max_cookies_per_host: usize,

    /// Most bytes of the cookies kept from one host.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().max_cookie_bytes_per_host)]
    pub max_cookie_bytes_per_host: usize,

    /// Most attachments one incoming binary packet may announce.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().decode_limits.max_attachments)]
    pub max_incoming_attachments: usize,

    /// Largest single incoming attachment.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().decode_limits.max_attachment_bytes)]
    pub max_incoming_attachment_bytes: usize,

    /// Longest incoming packet text.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().decode_limits.max_packet_bytes)]
    pub max_incoming_packet_bytes: usize,

    /// Most bytes of all the attachments of one incoming packet together.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().decode_limits.max_binary_bytes)]
    pub max_incoming_binary_bytes: usize,

    /// Most JSON values in one incoming packet.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().decode_limits.max_json_values)]
    pub max_incoming_json_values: usize,

    /// Most binary attachments in one outgoing packet (the server's maxAttachments).
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().max_outgoing_attachments)]
    pub max_outgoing_attachments: usize,

    /// Capacity of the queue of emits to the connection.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().command_capacity)]
    pub command_capacity: usize,

    /// Capacity of each namespace's queue of incoming events.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().incoming_capacity)]
    pub incoming_capacity: usize,

    /// Most bytes of events waiting in each namespace's incoming queue.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().max_incoming_queue_bytes)]
    pub max_incoming_queue_bytes: usize,

    /// Most events a namespace keeps when the server sends them before its CONNECT
    /// reply; the rest are dropped and counted in a `lagged` line before the `connect`.
    #[arg(long, value_name = "N", default_value_t = ManagerOptions::default().max_preconnect_events)]
    pub max_preconnect_events: usize,

    /// Most bytes of the events kept before the CONNECT reply.
    #[arg(long, value_name = "BYTES", default_value_t = ManagerOptions::default().max_preconnect_bytes)]
    pub max_preconnect_bytes: usize,
}

impl Limits {
    /// Sets the limits in the core's options.
    pub fn apply(&self, options: &mut ManagerOptions) {
        options.max_incoming_bytes = self.max_incoming_bytes;
        options.max_payload_packets = self.max_payload_packets;
        options.max_write_buffer_bytes = self.max_write_buffer_bytes;
        options.max_cookies_per_host = self.max_cookies_per_host;
        options.max_cookie_bytes_per_host = self.max_cookie_bytes_per_host;
        options.decode_limits.max_attachments = self.max_incoming_attachments;
        options.decode_limits.max_attachment_bytes = self.max_incoming_attachment_bytes;
        options.decode_limits.max_packet_bytes = self.max_incoming_packet_bytes;
        options.decode_limits.max_binary_bytes = self.max_incoming_binary_bytes;
        options.decode_limits.max_json_values = self.max_incoming_json_values;
        options.max_outgoing_attachments = self.max_outgoing_attachments;
        options.command_capacity = self.command_capacity;
        options.incoming_capacity = self.incoming_capacity;
        options.max_incoming_queue_bytes = self.max_incoming_queue_bytes;
        options.max_preconnect_events = self.max_preconnect_events;
        options.max_preconnect_bytes = self.max_preconnect_bytes;
    }
}

/// The `--output` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text in an interactive terminal session, JSON lines otherwise.
    Auto,
    /// One JSON object per line (the scripting contract).
    Json,
    /// Readable lines with local timestamps (colored on a terminal unless NO_COLOR is set).
    Text,
}

/// The `--server-version` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerVersion {
    /// Found out on the first connection.
    Detect,
    /// Socket.IO 2.x servers.
    #[value(name = "2")]
    V2,
    /// Socket.IO 3.x and 4.x servers.
    #[value(name = "4")]
    V4,
}

/// The `--transport` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// HTTP long-polling, upgraded to WebSocket when the server offers it.
    Upgrade,
    /// WebSocket only.
    Websocket,
    /// HTTP long-polling only, never upgraded.
    Polling,
}

/// A default of the core's [`ManagerOptions`] in whole milliseconds: the CLI writes none of
/// its own.
fn default_millis(option: fn(&ManagerOptions) -> Duration) -> u64 {
    u64::try_from(option(&ManagerOptions::default()).as_millis()).unwrap_or(u64::MAX)
}

/// `--auth`: any JSON object.
fn parse_auth(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("must be a JSON object, e.g. '{\"token\":\"abc\"}'".to_owned())
    }
}

/// A duration in seconds, fractions allowed: `10`, `0.5`.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, e.g. 10 or 0.5, got {text:?}"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("expected a positive number of seconds, got {text:?}"))
}

/// `--header "Name: value"`: split at the first colon, both sides trimmed.
fn parse_pin(text: &str) -> Result<ferrio::SpkiPin, String> {
    text.parse()
        .map_err(|e: ferrio::ConnectError| e.to_string())
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| "expected Name:value, e.g. 'Authorization: Bearer abc'".to_owned())?;
    let name = name.trim();
    if name.is_empty() {
        return Err("the header name is empty".to_owned());
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn connect(args: &[&str]) -> Result<ConnectArgs, clap::Error> {
        let argv = ["ferrio", "connect"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Connect(args) => *args,
            other => panic!("not connect: {other:?}"),
        })
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_upgrade_with_reconnection_and_no_namespace() {
        let args = connect(&["http://localhost:3000"]).unwrap();
        assert_eq!(args.transport, Transport::Upgrade);
        assert!(args.namespaces.is_empty());
        assert!(!args.no_reconnection);
        assert_eq!(args.auth, None);
    }

    #[test]
    fn the_reconnection_defaults_are_the_cores() {
        let args = connect(&["http://localhost:3000"]).unwrap();
        let core = ManagerOptions::default();
        assert_eq!(args.reconnection_attempts, core.reconnection_attempts);
        assert_eq!(
            Duration::from_millis(args.reconnection_delay_ms),
            core.reconnection_delay
        );
        assert_eq!(
            Duration::from_millis(args.reconnection_delay_max_ms),
            core.reconnection_delay_max
        );
        assert_eq!(!args.no_reconnection, core.reconnection);
    }

    #[test]
    fn the_limits_default_to_the_cores_and_cross_to_it() {
        let args = connect(&["http://localhost:3000"]).unwrap();
        let mut options = ManagerOptions {
            max_incoming_bytes: 1,
            max_preconnect_events: 1,
            ..ManagerOptions::default()
        };
        args.limits.apply(&mut options);
        let core = ManagerOptions::default();
        assert_eq!(options.max_incoming_bytes, core.max_incoming_bytes);
        assert_eq!(options.max_preconnect_events, core.max_preconnect_events);
        assert_eq!(options.decode_limits, core.decode_limits);
        assert!(!args.no_try_all_transports);
        let args = connect(&[
            "http://localhost:3000",
            "--max-incoming-bytes",
            "4096",
            "--max-payload-packets",
            "20",
            "--max-incoming-json-values",
            "7",
        ])
        .unwrap();
        args.limits.apply(&mut options);
        assert_eq!(options.max_incoming_bytes, 4096);
        assert_eq!(options.max_payload_packets, 20);
        assert_eq!(options.decode_limits.max_json_values, 7);
    }

    #[test]
    fn namespaces_and_headers_repeat_and_headers_are_trimmed() {
        let args = connect(&[
            "http://h",
            "--namespace",
            "/a",
            "--namespace",
            "/b",
            "--header",
            "  X-One :  1:2  ",
            "--header",
            "X-Two:two",
        ])
        .unwrap();
        assert_eq!(args.namespaces, ["/a", "/b"]);
        assert_eq!(
            args.headers,
            [
                ("X-One".to_owned(), "1:2".to_owned()),
                ("X-Two".to_owned(), "two".to_owned())
            ]
        );
    }

    #[test]
    fn auth_must_be_a_json_object() {
        assert!(connect(&["http://h", "--auth", r#"{"token":"x"}"#]).is_ok());
        for bad in ["[1]", "\"x\"", "{", "3"] {
            let error = connect(&["http://h", "--auth", bad]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn a_header_without_a_colon_or_name_is_a_usage_error() {
        assert_eq!(
            connect(&["http://h", "--header", "nocolon"])
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            connect(&["http://h", "--header", " : v"])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn the_server_version_is_detected_unless_given() {
        assert_eq!(
            connect(&["http://h"]).unwrap().server_version,
            ServerVersion::Detect
        );
        for (text, version) in [
            ("2", ServerVersion::V2),
            ("4", ServerVersion::V4),
            ("detect", ServerVersion::Detect),
        ] {
            let args = connect(&["http://h", "--server-version", text]).unwrap();
            assert_eq!(args.server_version, version, "{text}");
        }
        let error = connect(&["http://h", "--server-version", "3"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn transports_and_reconnection_options_parse() {
        let args = connect(&[
            "ws://h",
            "--transport",
            "polling",
            "--reconnection-attempts",
            "3",
            "--reconnection-delay-ms",
            "10",
            "--reconnection-delay-max-ms",
            "20",
            "--no-reconnection",
        ])
        .unwrap();
        assert_eq!(args.transport, Transport::Polling);
        assert_eq!(args.reconnection_attempts, Some(3));
        assert_eq!(args.reconnection_delay_ms, 10);
        assert_eq!(args.reconnection_delay_max_ms, 20);
        assert!(args.no_reconnection);
        assert!(connect(&["ws://h", "--transport", "carrier-pigeon"]).is_err());
    }

    #[test]
    fn count_and_timeout_parse_and_output_defaults_to_auto() {
        let args = connect(&["http://h", "--count", "2", "--timeout", "1.5"]).unwrap();
        assert_eq!(args.count, Some(2));
        assert_eq!(args.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(args.output, OutputFormat::Auto);
        let args = connect(&["http://h", "--output", "json"]).unwrap();
        assert_eq!(args.output, OutputFormat::Json);
    }

    #[test]
    fn a_zero_count_or_a_bad_timeout_is_a_usage_error() {
        for bad in [
            &["http://h", "--count", "0"][..],
            &["http://h", "--timeout", "-1"],
            &["http://h", "--timeout", "soon"],
        ] {
            assert_eq!(connect(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn serve_listens_on_loopback_port_3000_by_default() {
        let cli = Cli::try_parse_from(["ferrio", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.port, 3000);
        assert!(args.host.is_loopback());
        let cli = Cli::try_parse_from(["ferrio", "serve", "--port", "0", "--host", "::1"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.port, 0);
        assert!(args.host.is_ipv6());
    }

    #[test]
    fn demo_steps_time_out_after_ten_seconds_by_default() {
        let cli = Cli::try_parse_from(["ferrio", "demo"]).unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("not demo")
        };
        assert_eq!(args.step_timeout, Duration::from_secs(10));
    }
}
