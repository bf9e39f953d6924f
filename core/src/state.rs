//! Observable state of sockets and managers (`watch` snapshots).

use std::sync::Arc;

use crate::disconnect::DisconnectReason;
use crate::options::TransportKind;

/// The state of one socket (namespace).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SocketState {
    /// Not connected and not trying (never connected, or disconnected on purpose).
    #[default]
    Idle,
    /// Waiting for the server's CONNECT reply (or for the engine to reconnect).
    Connecting,
    /// Connected.
    Connected {
        /// The Socket.IO session id.
        sid: Arc<str>,
        /// Whether connection state recovery restored the previous session.
        recovered: bool,
    },
    /// Lost; reconnection is pending.
    Disconnected(DisconnectReason),
    /// The manager is closed for good.
    Closed,
}

impl SocketState {
    /// Whether the socket is connected.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

/// The state of a manager's Engine.IO connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineState {
    /// The transport in use, when the connection is open.
    pub transport: Option<TransportKind>,
    /// The Engine.IO session id, when the connection is open.
    pub sid: Option<Arc<str>>,
    /// The server's `maxPayload`, when known.
    pub max_payload: Option<u64>,
    /// Whether the manager is closed for good.
    pub closed: bool,
    /// The server URL the connection is open to: the manager's, one of its
    /// [`fallback_urls`](crate::ManagerOptions::fallback_urls) or a reconnection hook's.
    /// `None` before the first connection; the last one used after a disconnection.
    pub url: Option<Arc<str>>,
}
