//! Typed errors of every public operation.

use std::time::Duration;

use crate::disconnect::DisconnectReason;
use crate::engineio::EngineDecodeError;
use crate::socketio::DecodeError;
use crate::value::{Value, ValueError};

/// A failure of the Engine.IO transport (HTTP long-polling or WebSocket).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The server answered with an HTTP error; `message` is the server's text (for example
    /// `Session ID unknown`, at most 1 KiB of it). Retrying with a fresh handshake may
    /// succeed.
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
    /// The server's certificate passed verification but its chain holds none of the pinned
    /// keys ([`ManagerOptions::certificate_pins`](crate::ManagerOptions::certificate_pins)):
    /// the server is not the one the app expects, or its certificate changed. `seen` lists
    /// the pins of the verified chain, the server's certificate first, to compare with the
    /// configured ones. Reported like a certificate error (see that option).
    #[error(
        "no pinned key in the server's certificate chain (its keys: {})",
        pin_list(seen)
    )]
    PinMismatch {
        /// The pins of the certificates of the verified chain (without duplicates).
        seen: Vec<crate::SpkiPin>,
    },
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
    /// The server answered the handshake in Engine.IO v3 (Socket.IO 2.x) while the client
    /// was set to speak v4 only (`ServerVersion::V4`): reported as the refusal
    /// `the server speaks an older Socket.IO protocol`, not retried. (With the default
    /// `ServerVersion::Detect` the client speaks v3 to such a server instead.)
    #[error("the server speaks an older Engine.IO protocol (v3: a Socket.IO 2.x server)")]
    OlderProtocol,
    /// The client was set to speak Socket.IO 2.x (`ServerVersion::V2`, Engine.IO v3) and
    /// the server refused the version (a Socket.IO 3.x or 4.x server, which answers an
    /// Engine.IO v3 handshake with HTTP 400): reported as a refusal, not retried. The
    /// server's message follows.
    #[error("the server does not speak Engine.IO v3 (not a Socket.IO 2.x server): {0}")]
    NewerProtocol(String),
    /// The server broke the WebSocket protocol (RFC 6455): a bad frame, a reserved opcode,
    /// a fragment out of place.
    #[error("the server broke the WebSocket protocol: {0}")]
    Protocol(String),
    /// The server sent text that is not UTF-8 (a WebSocket text frame or a polling body).
    #[error("the server sent text that is not UTF-8")]
    InvalidUtf8,
    /// The server stopped taking what the client writes: a write made no progress for
    /// `after` (the server's `pingTimeout`), so the connection ends.
    #[error("the server is not reading: a write made no progress in {after:?}")]
    WriteStalled {
        /// How long the write waited.
        after: Duration,
    },
    /// A polling request got no answer within `after` (the server's `pingInterval +
    /// pingTimeout`), so the connection ends.
    #[error("the server did not answer a request within {after:?}")]
    RequestTimeout {
        /// How long the request waited.
        after: Duration,
    },
    /// The proxy (`ManagerOptions::proxy`, or the environment's) could not be used: it is
    /// unreachable, refused the credentials, or refused to connect to the server.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

/// Why a proxy could not carry the connection. `proxy` names it without its credentials
/// (`http://proxy.example:3128`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The proxy could not be reached (refused, DNS, timeout): check its address, or turn
    /// the environment's proxy off (`Proxy::None`).
    #[error("cannot reach the proxy {proxy}: {reason}")]
    Unreachable {
        /// The proxy.
        proxy: String,
        /// What failed.
        reason: String,
    },
    /// The proxy wants credentials, or refused the ones given (`user:password@` in the
    /// proxy URL): HTTP status 407, or a refused SOCKS5 username/password.
    #[error("the proxy {proxy} refused the credentials: {reason}")]
    AuthenticationFailed {
        /// The proxy.
        proxy: String,
        /// The proxy's answer.
        reason: String,
    },
    /// The proxy refused to open a connection to the server (an HTTP status to CONNECT, a
    /// SOCKS5 reply code): the server is unreachable from the proxy, or not allowed.
    #[error("the proxy {proxy} refused to connect to {target}: {reason}")]
    Refused {
        /// The proxy.
        proxy: String,
        /// The server's `host:port`.
        target: String,
        /// The proxy's answer (at most 1 KiB of it).
        reason: String,
    },
    /// The proxy's answer is not HTTP CONNECT or SOCKS5 as expected (too long, cut off,
    /// another protocol): is it the right kind of proxy for its URL's scheme?
    #[error("the proxy {proxy} broke its protocol: {reason}")]
    Protocol {
        /// The proxy.
        proxy: String,
        /// What was wrong.
        reason: String,
    },
}

impl TransportError {
    /// The reason a connection that failed with this error ends with: the cause is kept
    /// (a too-large message, a protocol violation, bad UTF-8, a stalled write), so that
    /// apps and logs can tell them from a plain network failure.
    pub fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            Self::TooLarge { .. }
            | Self::Decode(
                EngineDecodeError::PayloadTooLarge { .. }
                | EngineDecodeError::TooManyPackets { .. },
            ) => DisconnectReason::MessageTooLarge,
            Self::Decode(_) => DisconnectReason::ParseError,
            Self::Protocol(_) => DisconnectReason::ProtocolViolation,
            Self::InvalidUtf8 => DisconnectReason::InvalidUtf8,
            Self::WriteBufferFull { .. }
            | Self::WriteStalled { .. }
            | Self::RequestTimeout { .. } => DisconnectReason::WriteStalled,
            Self::Http { .. }
            | Self::Io(_)
            | Self::WebSocket(_)
            | Self::Tls(_)
            | Self::PinMismatch { .. }
            | Self::Handshake(_)
            | Self::OlderProtocol
            | Self::NewerProtocol(_)
            | Self::Proxy(_) => DisconnectReason::TransportError,
        }
    }
}

/// `sha256/…, sha256/…` for an error message.
fn pin_list(pins: &[crate::SpkiPin]) -> String {
    let texts: Vec<String> = pins.iter().map(ToString::to_string).collect();
    texts.join(", ")
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
        /// The server's `message` (at most 1 KiB of it, then `…` and its length).
        message: String,
        /// The server's `data` (middleware `err.data`), if any.
        data: Option<Value>,
    },
    /// The connection was lost before the namespace was connected.
    #[error("disconnected while connecting: {0}")]
    Disconnected(crate::disconnect::DisconnectReason),
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

/// A protocol error that closed the connection with reason `parse error` (or `message too
/// large` for a packet over a limit).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProtocolError {
    /// An Engine.IO packet could not be decoded.
    #[error(transparent)]
    Engine(#[from] EngineDecodeError),
    /// A Socket.IO packet could not be decoded.
    #[error(transparent)]
    Socket(#[from] DecodeError),
}

impl ProtocolError {
    /// The reason the connection ends with: `message too large` for a packet over a limit,
    /// `parse error` for the rest.
    pub fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            Self::Engine(
                EngineDecodeError::PayloadTooLarge { .. }
                | EngineDecodeError::TooManyPackets { .. },
            )
            | Self::Socket(
                DecodeError::TooManyAttachments { .. }
                | DecodeError::PacketTooLarge { .. }
                | DecodeError::AttachmentTooLarge { .. }
                | DecodeError::BinaryTooLarge { .. }
                | DecodeError::TooManyValues { .. },
            ) => DisconnectReason::MessageTooLarge,
            Self::Engine(_) | Self::Socket(_) => DisconnectReason::ParseError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::EnginePacket;
    use crate::server_text::MAX_SERVER_TEXT;

    #[test]
    fn each_transport_failure_keeps_its_cause_as_the_disconnect_reason() {
        let cases = [
            (
                TransportError::TooLarge { size: 2, limit: 1 },
                DisconnectReason::MessageTooLarge,
            ),
            (
                TransportError::Decode(EngineDecodeError::PayloadTooLarge { len: 2, max: 1 }),
                DisconnectReason::MessageTooLarge,
            ),
            (
                TransportError::Decode(EngineDecodeError::TooManyPackets { count: 2, max: 1 }),
                DisconnectReason::MessageTooLarge,
            ),
            (
                TransportError::Decode(EngineDecodeError::UnknownType('x')),
                DisconnectReason::ParseError,
            ),
            (
                TransportError::Protocol("reserved bits".into()),
                DisconnectReason::ProtocolViolation,
            ),
            (TransportError::InvalidUtf8, DisconnectReason::InvalidUtf8),
            (
                TransportError::WriteStalled {
                    after: Duration::from_secs(1),
                },
                DisconnectReason::WriteStalled,
            ),
            (
                TransportError::RequestTimeout {
                    after: Duration::from_secs(1),
                },
                DisconnectReason::WriteStalled,
            ),
            (
                TransportError::WriteBufferFull { limit: 1 },
                DisconnectReason::WriteStalled,
            ),
            (
                TransportError::Io("reset".into()),
                DisconnectReason::TransportError,
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.disconnect_reason(), reason, "{error:?}");
        }
    }

    #[test]
    fn a_socket_io_packet_over_a_limit_is_too_large_and_garbage_a_parse_error() {
        let too_large = ProtocolError::Socket(DecodeError::PacketTooLarge { len: 2, max: 1 });
        assert_eq!(
            too_large.disconnect_reason(),
            DisconnectReason::MessageTooLarge
        );
        let garbage = ProtocolError::Socket(DecodeError::UnknownType('x'));
        assert_eq!(garbage.disconnect_reason(), DisconnectReason::ParseError);
    }

    #[test]
    fn a_bad_handshake_quoting_a_huge_value_gives_a_short_message() {
        let huge = "x".repeat(1 << 20);
        let open = format!(
            r#"0{{"sid":"s","upgrades":[],"pingInterval":"{huge}","pingTimeout":1,"maxPayload":1}}"#
        );
        let error = EnginePacket::decode_text(&open).expect_err("a string interval");
        let message = TransportError::from(error).to_string();
        assert!(
            message.len() < 2 * MAX_SERVER_TEXT,
            "{} bytes",
            message.len()
        );
        assert!(message.ends_with(" bytes)"), "{message}");
    }
}
