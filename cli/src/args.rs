//! Command-line arguments (clap derive): the `ferrio` command and its subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const TOP_EXAMPLES: &str = "\
Examples:
  ferrio connect http://localhost:3000
  echo '{\"emit\":\"echo\",\"args\":[1],\"ack\":true}' | ferrio connect http://localhost:3000
  ferrio connect --help";

const CONNECT_EXAMPLES: &str = "\
Input (stdin), one JSON object per line; blank lines are ignored:
  {\"emit\":\"EVENT\",\"args\":[...],\"ack\":true,\"timeout_ms\":5000,\"namespace\":\"/x\"}
      args defaults to [], ack to false, timeout_ms to 5000 (only with \"ack\":true),
      namespace to the first --namespace (\"/\" when none was given)
  {\"disconnect\":true}     disconnect every namespace, then exit 0 once pending acks settle
  {\"disconnect\":\"/x\"}     disconnect one namespace
  End of input: wait for pending acks (or their timeouts), close, exit 0.

Output (stdout), one JSON object per line, each with a \"type\":
  connect, event, ack, ack_error (error: timeout | disconnected | closed), connect_error,
  disconnect (reason: io server disconnect | io client disconnect | ping timeout |
  transport close | transport error | parse error), lagged, reconnect_attempt, reconnect,
  reconnect_error, reconnect_failed, and error (a bad input line; the session goes on).
  Binary data is {\"$binary\":\"BASE64\"} at any depth, in both directions.

Namespaces: without --namespace, \"/\" is connected. The URL's path is NOT a namespace here
(http://host:3000/admin still connects \"/\"); use --namespace /admin.

Exit status: 0 normal end, 1 connection failure, 2 usage error.
Logs go to stderr, only when RUST_LOG is set (e.g. RUST_LOG=ferrio=debug).

Examples:
  ferrio connect http://localhost:3000
  ferrio connect https://chat.example --namespace / --namespace /admin --auth '{\"token\":\"s3cret\"}'
  ferrio connect ws://localhost:3000 --transport websocket --header 'Authorization: Bearer abc'
  printf '%s\\n' '{\"emit\":\"echo\",\"args\":[\"hi\"],\"ack\":true}' | ferrio connect http://localhost:3000";

/// Talk to Socket.IO v5 servers from a shell.
#[derive(Debug, Parser)]
#[command(name = "ferrio", version, after_help = TOP_EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a server; JSON commands on stdin, JSON events on stdout.
    #[command(after_help = CONNECT_EXAMPLES)]
    Connect(ConnectArgs),
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

    /// An extra HTTP header for every request, "Name: value" (repeatable).
    #[arg(long = "header", value_name = "K:V", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// A PEM file with an extra CA certificate to trust (beside the system roots).
    #[arg(long, value_name = "PEM_PATH")]
    pub ca_cert: Option<PathBuf>,

    /// Reconnection attempts before giving up (default: unlimited).
    #[arg(long, value_name = "N")]
    pub reconnection_attempts: Option<u32>,

    /// First reconnection delay in milliseconds (default 1000).
    #[arg(long, value_name = "MS")]
    pub reconnection_delay_ms: Option<u64>,

    /// Longest reconnection delay in milliseconds (default 5000).
    #[arg(long, value_name = "MS")]
    pub reconnection_delay_max_ms: Option<u64>,

    /// Do not reconnect after a lost connection.
    #[arg(long)]
    pub no_reconnection: bool,
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

/// `--header "Name: value"`: split at the first colon, both sides trimmed.
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
            Command::Connect(args) => args,
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
        assert_eq!(args.reconnection_delay_ms, Some(10));
        assert_eq!(args.reconnection_delay_max_ms, Some(20));
        assert!(args.no_reconnection);
        assert!(connect(&["ws://h", "--transport", "carrier-pigeon"]).is_err());
    }
}
