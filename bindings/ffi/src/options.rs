//! `ClientOptions`: the connection options, with the JavaScript client's names and defaults.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::ConnectError;
use crate::json;

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl From<Transport> for ferrio::TransportKind {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::Polling => ferrio::TransportKind::Polling,
            Transport::Websocket => ferrio::TransportKind::WebSocket,
        }
    }
}

impl From<ferrio::TransportKind> for Transport {
    fn from(transport: ferrio::TransportKind) -> Self {
        match transport {
            ferrio::TransportKind::Polling => Transport::Polling,
            ferrio::TransportKind::WebSocket => Transport::Websocket,
        }
    }
}

/// Options of a connection (a manager) and the auth of its sockets.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientOptions {
    /// `http(s)://` or `ws(s)://` URL; its path is the namespace of `Client.connect`.
    pub url: String,
    /// The Engine.IO path on the server (JS `path`).
    #[uniffi(default = "/socket.io/")]
    pub path: String,
    /// Query parameters added to every request (JS `query`).
    #[uniffi(default)]
    pub query: HashMap<String, String>,
    /// Headers added to every request and to the WebSocket handshake (JS `extraHeaders`).
    #[uniffi(default)]
    pub extra_headers: HashMap<String, String>,
    /// Transports to try, in order (JS `transports`); empty for polling then WebSocket.
    #[uniffi(default)]
    pub transports: Vec<Transport>,
    /// Upgrade from polling to WebSocket when offered (JS `upgrade`).
    #[uniffi(default = true)]
    pub upgrade: bool,
    /// Handshake and namespace connect timeout (JS `timeout`).
    #[uniffi(default = 20000)]
    pub timeout_ms: u64,
    /// Default timeout of an emit with acknowledgement (JS `ackTimeout`).
    #[uniffi(default = 30000)]
    pub ack_timeout_ms: u64,
    /// Reconnect automatically (JS `reconnection`).
    #[uniffi(default = true)]
    pub reconnection: bool,
    /// Attempts before giving up, `None` for unlimited (JS `reconnectionAttempts`).
    #[uniffi(default = None)]
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay (JS `reconnectionDelay`).
    #[uniffi(default = 1000)]
    pub reconnection_delay_ms: u64,
    /// Longest reconnection delay (JS `reconnectionDelayMax`).
    #[uniffi(default = 5000)]
    pub reconnection_delay_max_ms: u64,
    /// Jitter of the reconnection delay, 0 to 1 (JS `randomizationFactor`).
    #[uniffi(default = 0.5)]
    pub randomization_factor: f64,
    /// An extra CA certificate (PEM) trusted beside the system roots.
    #[uniffi(default = None)]
    pub ca_cert_pem: Option<String>,
    /// The auth payload (JSON text of an object) sent when connecting a namespace (JS `auth`).
    #[uniffi(default = None)]
    pub auth_json: Option<String>,
}

impl ClientOptions {
    /// The core's manager options.
    pub(crate) fn manager_options(&self) -> ferrio::ManagerOptions {
        let defaults = ferrio::ManagerOptions::default();
        let transports = if self.transports.is_empty() {
            defaults.transports.clone()
        } else {
            self.transports.iter().map(|&t| t.into()).collect()
        };
        ferrio::ManagerOptions {
            path: self.path.clone(),
            query: pairs(&self.query),
            extra_headers: pairs(&self.extra_headers),
            transports,
            upgrade: self.upgrade,
            timeout: Duration::from_millis(self.timeout_ms),
            ack_timeout: Duration::from_millis(self.ack_timeout_ms),
            reconnection: self.reconnection,
            reconnection_attempts: self.reconnection_attempts,
            reconnection_delay: Duration::from_millis(self.reconnection_delay_ms),
            reconnection_delay_max: Duration::from_millis(self.reconnection_delay_max_ms),
            randomization_factor: self.randomization_factor,
            ca_certs_pem: self
                .ca_cert_pem
                .iter()
                .map(|pem| pem.as_bytes().to_vec())
                .collect(),
            ..defaults
        }
    }

    /// The auth payload, parsed.
    pub(crate) fn auth(&self) -> Result<Option<ferrio::Value>, ConnectError> {
        parse_auth(self.auth_json.as_deref())
    }
}

/// Parses an auth payload: JSON text of an object.
pub(crate) fn parse_auth(text: Option<&str>) -> Result<Option<ferrio::Value>, ConnectError> {
    let Some(text) = text else { return Ok(None) };
    match json::value_from_json(text, Vec::new()) {
        Ok(value @ ferrio::Value::Object(_)) => Ok(Some(value)),
        Ok(_) => Err(ConnectError::InvalidOption {
            detail: "auth must be a JSON object".into(),
        }),
        Err(error) => Err(ConnectError::InvalidOption {
            detail: format!("auth: {error}"),
        }),
    }
}

/// Map entries sorted by key, so requests are the same from run to run.
fn pairs(map: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort();
    pairs
}
