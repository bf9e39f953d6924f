//! Typed errors of every public operation.

use std::time::Duration;

use crate::engineio::EngineDecodeError;
use crate::socketio::DecodeError;
use crate::value::{Value, ValueError};

/// A failure of the Engine.IO transport (HTTP long-polling or WebSocket).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The server answered with an HTTP error; `message` is the server's text (for example
    /// `Session ID unknown`). Retrying with a fresh handshake may succeed.
    #[error("HTTP {status} from the server: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The server's message: the `message` of its JSON error body, or the body itself.
        message: String,
    },
    /// The connection could not be made or broke (refused, reset, DNS, timeout).
    #[error("connection failed: {0}")]
    Io(String),
    /// The WebSocket failed (handshake refused, protocol error, closed abnormally).
    #[error("websocket failed: {0}")]
    WebSocket(String),
    /// TLS could not be set up (bad CA certificate, handshake failure).
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The server sent bytes that are not Engine.IO v4.
    #[error("invalid data from the server: {0}")]
    Decode(#[from] EngineDecodeError),
    /// The server sent more data than the configured limit allows.
    #[error("the server sent {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Bytes received (or announced).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The server stopped reading: one more WebSocket frame would take the client's write
    /// buffer past `limit` bytes (`ManagerOptions::max_write_buffer_bytes`), so the
    /// connection ends. Raise the limit only if single messages are that large.
    #[error("the server is not reading: the WebSocket write buffer is full ({limit} bytes)")]
    WriteBufferFull {
        /// The configured limit.
        limit: usize,
    },
    /// The server's handshake was not what Engine.IO v4 expects.
    #[error("unexpected handshake: {0}")]
    Handshake(String),
}

/// Why a connection or a namespace could not be established.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a usable `http(s)://` or `ws(s)://` URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// An option is invalid (bad header, bad CA certificate, ...).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The transport failed while connecting.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No handshake or namespace reply within the connect timeout.
    #[error("connection timed out after {0:?}")]
    Timeout(Duration),
    /// The server refused the namespace (CONNECT_ERROR): middleware rejection or unknown namespace.
    /// Fix the credentials, then connect again.
    #[error("the server refused the connection: {message}")]
    Rejected {
        /// The server's `message`.
        message: String,
        /// The server's `data` (middleware `err.data`), if any.
        data: Option<Value>,
    },
    /// The connection was lost before the namespace was connected.
    #[error("disconnected while connecting: {0}")]
    Disconnected(crate::event::DisconnectReason),
    /// Reconnection gave up after the configured number of attempts.
    #[error("gave up after {0} reconnection attempts")]
    ReconnectFailed(u32),
    /// The manager or socket was closed; make a new one.
    #[error("the client is closed")]
    Closed,
}

/// Why an emit could not be queued.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved by Socket.IO (`connect`, `disconnect`, ...); pick another.
    #[error("`{0}` is a reserved event name")]
    ReservedEvent(String),
    /// One Engine.IO packet of this emit is larger than the server's `maxPayload`.
    #[error("packet of {size} bytes exceeds the server's maxPayload of {max} bytes")]
    PayloadTooLarge {
        /// Size of the largest packet, in bytes.
        size: usize,
        /// The server's `maxPayload`.
        max: usize,
    },
    /// The arguments hold more binary attachments than the server accepts.
    #[error("{count} binary attachments exceed the limit of {max}")]
    TooManyAttachments {
        /// Attachments in this emit.
        count: usize,
        /// The limit (`max_attachments`, the server's default is 10).
        max: usize,
    },
    /// The arguments could not be serialized.
    #[error("could not serialize the arguments: {0}")]
    Serialize(#[from] ValueError),
    /// The namespace is not connected and its offline buffer is full
    /// ([`BufferPolicy::Reject`](crate::BufferPolicy::Reject)); retry after reconnection.
    #[error("the offline buffer is full")]
    BufferFull,
    /// The outgoing queue is full (only from `try_emit`); retry later or use `emit().await`.
    #[error("the outgoing queue is full")]
    QueueFull,
    /// The client is closed; make a new one.
    #[error("the client is closed")]
    Closed,
}

/// Why an emit with acknowledgement did not get its reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AckError {
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No acknowledgement within the timeout. The server may still have handled the event.
    #[error("no acknowledgement within {0:?}")]
    Timeout(Duration),
    /// The connection dropped after the packet was sent; the server may or may not have
    /// handled it.
    #[error("disconnected before the acknowledgement arrived")]
    Disconnected,
    /// The buffered packet was discarded before it was sent (buffer cleared, or dropped to
    /// make room with [`BufferPolicy::DropOldest`](crate::BufferPolicy::DropOldest)).
    #[error("the buffered packet was discarded")]
    Discarded,
    /// The client was closed; make a new one.
    #[error("the client is closed")]
    Closed,
}

/// Why answering a server's acknowledgement request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AckReplyError {
    /// This request was already answered; a request is answered exactly once.
    #[error("this acknowledgement was already sent")]
    AlreadySent,
    /// The arguments could not be encoded.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// A protocol error that closed the connection with reason `parse error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProtocolError {
    /// An Engine.IO packet could not be decoded.
    #[error(transparent)]
    Engine(#[from] EngineDecodeError),
    /// A Socket.IO packet could not be decoded.
    #[error(transparent)]
    Socket(#[from] DecodeError),
}
