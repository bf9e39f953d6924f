//! Connection options, with the official JavaScript client's names and defaults.

use std::time::Duration;

use crate::socketio::DecodeLimits;
use crate::value::Value;

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used on the wire and in the JS client's `transports` option.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// Options of a [`Manager`](crate::Manager): one Engine.IO connection.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// The Engine.IO path on the server. Default `/socket.io/` (JS `path`).
    pub path: String,
    /// Query parameters added to every request (JS `query`), after those of the URL.
    pub query: Vec<(String, String)>,
    /// Headers added to every HTTP request and to the WebSocket handshake (JS `extraHeaders`).
    pub extra_headers: Vec<(String, String)>,
    /// Transports to try, in order (JS `transports`). Default polling, then WebSocket.
    pub transports: Vec<TransportKind>,
    /// Upgrade from polling to WebSocket when the server offers it (JS `upgrade`). Default true.
    pub upgrade: bool,
    /// When the first transport cannot be opened, try the next one (JS `tryAllTransports`).
    /// Default true: a blocked WebSocket falls back to polling.
    pub try_all_transports: bool,
    /// Time allowed for the handshake and for each namespace's CONNECT reply (JS `timeout`).
    /// Default 20 s.
    pub timeout: Duration,
    /// Default timeout of an emit with acknowledgement (JS `ackTimeout`). Default 30 s; the
    /// JS client waits forever, which hangs on a server that never answers.
    pub ack_timeout: Duration,
    /// Reconnect automatically after a lost connection (JS `reconnection`). Default true.
    pub reconnection: bool,
    /// Attempts before giving up, `None` for unlimited (JS `reconnectionAttempts`).
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay (JS `reconnectionDelay`). Default 1 s.
    pub reconnection_delay: Duration,
    /// Longest reconnection delay (JS `reconnectionDelayMax`). Default 5 s.
    pub reconnection_delay_max: Duration,
    /// Jitter factor of the reconnection delay, 0 to 1 (JS `randomizationFactor`). Default 0.5.
    pub randomization_factor: f64,
    /// Extra CA certificates (PEM) trusted for `https://`/`wss://`, beside the system roots.
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// Largest HTTP body or WebSocket message accepted from the server. Default 16 MiB.
    pub max_incoming_bytes: usize,
    /// Limits of the Socket.IO decoder (attachments count and size).
    pub decode_limits: DecodeLimits,
    /// Most binary attachments in one outgoing packet (the server's `maxAttachments`). Default 10.
    pub max_outgoing_attachments: usize,
    /// Capacity of the queue of commands (emits) to the connection task. Default 1024.
    pub command_capacity: usize,
    /// Capacity of each socket's queue of incoming events. Default 1024. When a consumer
    /// falls this far behind, further events are dropped and a
    /// [`SocketEvent::Lagged`](crate::SocketEvent::Lagged) reports how many.
    pub incoming_capacity: usize,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            path: "/socket.io/".into(),
            query: Vec::new(),
            extra_headers: Vec::new(),
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade: true,
            try_all_transports: true,
            timeout: Duration::from_secs(20),
            ack_timeout: Duration::from_secs(30),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            ca_certs_pem: Vec::new(),
            max_incoming_bytes: 16 * 1024 * 1024,
            decode_limits: DecodeLimits::default(),
            max_outgoing_attachments: 10,
            command_capacity: 1024,
            incoming_capacity: 1024,
        }
    }
}

/// Options of one [`Socket`](crate::Socket) (namespace).
#[derive(Debug, Clone, Default)]
pub struct SocketOptions {
    /// The auth payload sent in CONNECT (JS `auth`); must be a JSON object.
    pub auth: Option<Value>,
}
