//! Typed errors of the exports, mirroring the core's `ConnectError`, `EmitError` and
//! `AckError`; each has a `Panic` variant for a bug caught at the boundary.

use crate::disconnect::DisconnectReason;
use crate::json;
use crate::runtime::Panic;

/// Why a connection or a namespace could not be established.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ConnectError {
    /// The URL is not a usable `http(s)://` or `ws(s)://` URL.
    #[error("invalid URL: {detail}")]
    InvalidUrl { detail: String },
    /// An option is invalid (bad header, bad CA certificate, auth not a JSON object).
    #[error("invalid option: {detail}")]
    InvalidOption { detail: String },
    /// The transport failed while connecting (refused, reset, HTTP error, TLS).
    #[error("{detail}")]
    Transport { detail: String },
    /// A proxy could not carry the connection: `kind` says why, `proxy` names it (without
    /// its credentials), `detail` is the whole message.
    #[error("{detail}")]
    Proxy {
        kind: ProxyErrorKind,
        proxy: String,
        detail: String,
    },
    /// The server's certificate chain holds none of the pinned keys (`certificate_pins`):
    /// `seen` lists the chain's keys (`sha256/<base64>`, the server's first). Reported on
    /// every attempt, like a certificate error.
    #[error("no pinned key in the server's certificate chain (its keys: {})", seen.join(", "))]
    PinMismatch { seen: Vec<String> },
    /// No handshake or namespace reply within the connect timeout.
    #[error("connection timed out after {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    /// The server refused the namespace: its `message` and `data` (JSON text, if any).
    #[error("the server refused the connection: {server_message}")]
    Rejected {
        server_message: String,
        data_json: Option<String>,
    },
    /// The connection was lost before the namespace was connected.
    #[error("disconnected while connecting: {reason:?}")]
    Disconnected { reason: DisconnectReason },
    /// Reconnection gave up after the configured number of attempts.
    #[error("gave up after {attempts} reconnection attempts")]
    ReconnectFailed { attempts: u32 },
    /// The client is closed; make a new one.
    #[error("the client is closed")]
    Closed,
    /// A bug in ferrio, caught at the boundary.
    #[error("internal error: {detail}")]
    Panic { detail: String },
}

/// Why a proxy could not carry a connection (the core's `ProxyError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProxyErrorKind {
    /// The proxy could not be reached (refused, DNS, timeout): check its address.
    Unreachable,
    /// The proxy wants credentials, or refused the ones given (HTTP 407, SOCKS5).
    AuthenticationFailed,
    /// The proxy refused to open a connection to the server.
    Refused,
    /// The proxy's answer is not HTTP CONNECT or SOCKS5 as expected (the core's
    /// `ProxyError::Protocol`).
    ProtocolViolation,
}

impl From<ferrio::ProxyError> for ConnectError {
    fn from(error: ferrio::ProxyError) -> Self {
        let detail = error.to_string();
        let (kind, proxy) = match error {
            ferrio::ProxyError::Unreachable { proxy, .. } => (ProxyErrorKind::Unreachable, proxy),
            ferrio::ProxyError::AuthenticationFailed { proxy, .. } => {
                (ProxyErrorKind::AuthenticationFailed, proxy)
            }
            ferrio::ProxyError::Refused { proxy, .. } => (ProxyErrorKind::Refused, proxy),
            ferrio::ProxyError::Protocol { proxy, .. } => {
                (ProxyErrorKind::ProtocolViolation, proxy)
            }
        };
        ConnectError::Proxy {
            kind,
            proxy,
            detail,
        }
    }
}

/// Why an emit could not be queued.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum EmitError {
    /// The event name is reserved by Socket.IO (`connect`, `disconnect`, ...).
    #[error("`{event}` is a reserved event name")]
    ReservedEvent { event: String },
    /// One packet of this emit is larger than the server's `maxPayload`.
    #[error("packet of {size} bytes exceeds the server's maxPayload of {max} bytes")]
    PayloadTooLarge { size: u64, max: u64 },
    /// More binary attachments than the server accepts.
    #[error("{count} binary attachments exceed the limit of {max}")]
    TooManyAttachments { count: u64, max: u64 },
    /// The JSON text or the attachments are not a valid argument list.
    #[error("invalid arguments: {detail}")]
    InvalidArgs { detail: String },
    /// The namespace is offline and its offline buffer is full; retry after reconnection.
    #[error("the offline buffer is full")]
    BufferFull,
    /// The outgoing queue is full (sync `emit` only): retry with the waiting `emit_async`.
    #[error("the outgoing queue is full")]
    QueueFull,
    /// The client is closed; make a new one.
    #[error("the client is closed")]
    Closed,
    /// A bug in ferrio, caught at the boundary.
    #[error("internal error: {detail}")]
    Panic { detail: String },
}

/// Why an emit with acknowledgement did not get its reply.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AckError {
    /// The event name is reserved by Socket.IO.
    #[error("`{event}` is a reserved event name")]
    ReservedEvent { event: String },
    /// One packet of this emit is larger than the server's `maxPayload`.
    #[error("packet of {size} bytes exceeds the server's maxPayload of {max} bytes")]
    PayloadTooLarge { size: u64, max: u64 },
    /// More binary attachments than the server accepts.
    #[error("{count} binary attachments exceed the limit of {max}")]
    TooManyAttachments { count: u64, max: u64 },
    /// The JSON text or the attachments are not a valid argument list.
    #[error("invalid arguments: {detail}")]
    InvalidArgs { detail: String },
    /// The namespace is offline and its offline buffer is full; retry after reconnection.
    #[error("the offline buffer is full")]
    BufferFull,
    /// The buffered packet was discarded before it was sent (buffer cleared or full).
    #[error("the buffered packet was discarded")]
    Discarded,
    /// No acknowledgement within the timeout; the server may still have handled the event.
    #[error("no acknowledgement within {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    /// The connection dropped after the packet was sent.
    #[error("disconnected before the acknowledgement arrived")]
    Disconnected,
    /// The client is closed; make a new one.
    #[error("the client is closed")]
    Closed,
    /// A bug in ferrio, caught at the boundary.
    #[error("internal error: {detail}")]
    Panic { detail: String },
}

/// Why answering a server's acknowledgement request failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AckReplyError {
    /// This request was already answered; a request is answered exactly once.
    #[error("this acknowledgement was already sent")]
    AlreadySent,
    /// The JSON text or the attachments are not a valid argument list.
    #[error("invalid arguments: {detail}")]
    InvalidArgs { detail: String },
    /// A bug in ferrio, caught at the boundary.
    #[error("internal error: {detail}")]
    Panic { detail: String },
}

/// The error of exports that cannot otherwise fail (getters, streams, close).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CallError {
    /// The operating system refused what the call needed: a thread, a pipe, a socket pair
    /// (e.g. too many open files).
    #[error("the system refused a resource: {detail}")]
    Resource { detail: String },
    /// A bug in ferrio, caught at the boundary.
    #[error("internal error: {detail}")]
    Panic { detail: String },
}

/// What a foreign listener returns when it failed; the delivery thread logs it and goes on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener failed while handling a batch.
    #[error("listener failed: {detail}")]
    Failed { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed {
            detail: error.reason,
        }
    }
}

macro_rules! from_panic {
    ($($error:ident),*) => {$(
        impl From<Panic> for $error {
            fn from(panic: Panic) -> Self {
                $error::Panic { detail: panic.0 }
            }
        }
    )*};
}
from_panic!(ConnectError, EmitError, AckError, AckReplyError, CallError);

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn size(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl From<ferrio::ConnectError> for ConnectError {
    fn from(error: ferrio::ConnectError) -> Self {
        match error {
            ferrio::ConnectError::InvalidUrl(detail) => ConnectError::InvalidUrl { detail },
            ferrio::ConnectError::InvalidOption(detail) => ConnectError::InvalidOption { detail },
            ferrio::ConnectError::Transport(ferrio::TransportError::PinMismatch { seen }) => {
                ConnectError::PinMismatch {
                    seen: seen.iter().map(ToString::to_string).collect(),
                }
            }
            ferrio::ConnectError::Transport(ferrio::TransportError::Proxy(error)) => error.into(),
            ferrio::ConnectError::Transport(error) => ConnectError::Transport {
                detail: error.to_string(),
            },
            ferrio::ConnectError::Timeout(timeout) => ConnectError::Timeout {
                timeout_ms: millis(timeout),
            },
            ferrio::ConnectError::Rejected { message, data } => ConnectError::Rejected {
                server_message: message,
                data_json: data.as_ref().map(json::value_to_json),
            },
            ferrio::ConnectError::Disconnected(reason) => ConnectError::Disconnected {
                reason: reason.into(),
            },
            ferrio::ConnectError::ReconnectFailed(attempts) => {
                ConnectError::ReconnectFailed { attempts }
            }
            ferrio::ConnectError::Closed => ConnectError::Closed,
        }
    }
}

impl From<ferrio::EmitError> for EmitError {
    fn from(error: ferrio::EmitError) -> Self {
        match error {
            ferrio::EmitError::ReservedEvent(event) => EmitError::ReservedEvent { event },
            ferrio::EmitError::PayloadTooLarge { size: s, max } => EmitError::PayloadTooLarge {
                size: size(s),
                max: size(max),
            },
            ferrio::EmitError::TooManyAttachments { count, max } => EmitError::TooManyAttachments {
                count: size(count),
                max: size(max),
            },
            ferrio::EmitError::Serialize(error) => EmitError::InvalidArgs {
                detail: error.to_string(),
            },
            ferrio::EmitError::BufferFull => EmitError::BufferFull,
            ferrio::EmitError::QueueFull => EmitError::QueueFull,
            ferrio::EmitError::Closed => EmitError::Closed,
        }
    }
}

impl From<EmitError> for AckError {
    fn from(error: EmitError) -> Self {
        match error {
            EmitError::ReservedEvent { event } => AckError::ReservedEvent { event },
            EmitError::PayloadTooLarge { size, max } => AckError::PayloadTooLarge { size, max },
            EmitError::TooManyAttachments { count, max } => {
                AckError::TooManyAttachments { count, max }
            }
            EmitError::InvalidArgs { detail } => AckError::InvalidArgs { detail },
            EmitError::BufferFull => AckError::BufferFull,
            // Only the sync emit reports a full queue; the ack path waits for room.
            EmitError::QueueFull | EmitError::Closed => AckError::Closed,
            EmitError::Panic { detail } => AckError::Panic { detail },
        }
    }
}

impl From<ferrio::AckError> for AckError {
    fn from(error: ferrio::AckError) -> Self {
        match error {
            ferrio::AckError::Emit(error) => EmitError::from(error).into(),
            ferrio::AckError::Timeout(timeout) => AckError::Timeout {
                timeout_ms: millis(timeout),
            },
            ferrio::AckError::Disconnected => AckError::Disconnected,
            ferrio::AckError::Discarded => AckError::Discarded,
            ferrio::AckError::Closed => AckError::Closed,
        }
    }
}

impl From<ferrio::AckReplyError> for AckReplyError {
    fn from(error: ferrio::AckReplyError) -> Self {
        match error {
            ferrio::AckReplyError::AlreadySent => AckReplyError::AlreadySent,
            ferrio::AckReplyError::Emit(error) => AckReplyError::InvalidArgs {
                detail: error.to_string(),
            },
        }
    }
}

impl From<json::JsonError> for EmitError {
    fn from(error: json::JsonError) -> Self {
        EmitError::InvalidArgs {
            detail: error.to_string(),
        }
    }
}

impl From<json::JsonError> for AckError {
    fn from(error: json::JsonError) -> Self {
        AckError::InvalidArgs {
            detail: error.to_string(),
        }
    }
}

impl From<json::JsonError> for AckReplyError {
    fn from(error: json::JsonError) -> Self {
        AckReplyError::InvalidArgs {
            detail: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy_error(error: ferrio::ProxyError) -> ConnectError {
        ferrio::ConnectError::Transport(ferrio::TransportError::Proxy(error)).into()
    }

    #[test]
    fn every_proxy_failure_crosses_typed_with_the_proxy_and_the_message() {
        let proxy = || "http://127.0.0.1:3128".to_string();
        let reason = || "no".to_string();
        let cases = [
            (
                ferrio::ProxyError::Unreachable {
                    proxy: proxy(),
                    reason: reason(),
                },
                ProxyErrorKind::Unreachable,
            ),
            (
                ferrio::ProxyError::AuthenticationFailed {
                    proxy: proxy(),
                    reason: reason(),
                },
                ProxyErrorKind::AuthenticationFailed,
            ),
            (
                ferrio::ProxyError::Refused {
                    proxy: proxy(),
                    target: "example.com:443".to_string(),
                    reason: reason(),
                },
                ProxyErrorKind::Refused,
            ),
            (
                ferrio::ProxyError::Protocol {
                    proxy: proxy(),
                    reason: reason(),
                },
                ProxyErrorKind::ProtocolViolation,
            ),
        ];
        for (error, expected) in cases {
            let message = error.to_string();
            match proxy_error(error) {
                ConnectError::Proxy {
                    kind,
                    proxy: name,
                    detail,
                } => {
                    assert_eq!(kind, expected);
                    assert_eq!(name, proxy());
                    assert_eq!(detail, message);
                }
                other => panic!("not a proxy error: {other:?}"),
            }
        }
    }
}
