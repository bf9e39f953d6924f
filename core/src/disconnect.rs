//! `DisconnectReason`: why a socket was disconnected, and its string forms.

use std::fmt;
use std::str::FromStr;

/// Why a socket was disconnected; the strings of the first six match the official
/// JavaScript client, the others keep a cause that client folds into those six.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server disconnected the socket (`socket.disconnect()` on the server). No
    /// automatic reconnection; call `connect()` again.
    IoServerDisconnect,
    /// The client called `disconnect()`. No automatic reconnection.
    IoClientDisconnect,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The connection was closed (by the server, a proxy or the network).
    TransportClose,
    /// The transport failed (HTTP error, connection reset, refused).
    TransportError,
    /// The server sent data that could not be decoded.
    ParseError,
    /// The server sent a message larger than the client accepts
    /// ([`ManagerOptions::max_incoming_bytes`](crate::ManagerOptions::max_incoming_bytes), or
    /// a decoder limit). Not a JavaScript client reason: that client has no such limit.
    MessageTooLarge,
    /// The server broke the WebSocket protocol (a bad frame). Not a JavaScript client
    /// reason: that client reports `transport close` or `transport error`.
    ProtocolViolation,
    /// The server sent text that is not UTF-8. Not a JavaScript client reason.
    InvalidUtf8,
    /// The server stopped taking what the client writes: a write made no progress within
    /// its `pingTimeout`, a polling request got no answer within `pingInterval +
    /// pingTimeout`, or the WebSocket write buffer filled up. Not a JavaScript client reason.
    WriteStalled,
}

impl DisconnectReason {
    /// Every reason, in declaration order.
    pub const ALL: [DisconnectReason; 10] = [
        Self::IoServerDisconnect,
        Self::IoClientDisconnect,
        Self::PingTimeout,
        Self::TransportClose,
        Self::TransportError,
        Self::ParseError,
        Self::MessageTooLarge,
        Self::ProtocolViolation,
        Self::InvalidUtf8,
        Self::WriteStalled,
    ];

    /// The reason as the JavaScript client spells it, e.g. `"io server disconnect"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
            Self::MessageTooLarge => "message too large",
            Self::ProtocolViolation => "protocol violation",
            Self::InvalidUtf8 => "invalid utf-8",
            Self::WriteStalled => "write stalled",
        }
    }

    /// Whether the client reconnects by itself after this reason (when reconnection is on).
    pub fn is_recoverable(self) -> bool {
        !matches!(self, Self::IoServerDisconnect | Self::IoClientDisconnect)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is none of the [`DisconnectReason`] strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown disconnect reason {0:?}")]
pub struct UnknownDisconnectReason(pub String);

impl FromStr for DisconnectReason {
    type Err = UnknownDisconnectReason;

    /// Parses the string of [`DisconnectReason::as_str`], e.g. `"ping timeout"`.
    ///
    /// # Errors
    /// [`UnknownDisconnectReason`] for any other string (the match is exact).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| UnknownDisconnectReason(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index of each reason in `ALL` (an exhaustive match: a new variant needs one).
    fn position(reason: DisconnectReason) -> usize {
        match reason {
            DisconnectReason::IoServerDisconnect => 0,
            DisconnectReason::IoClientDisconnect => 1,
            DisconnectReason::PingTimeout => 2,
            DisconnectReason::TransportClose => 3,
            DisconnectReason::TransportError => 4,
            DisconnectReason::ParseError => 5,
            DisconnectReason::MessageTooLarge => 6,
            DisconnectReason::ProtocolViolation => 7,
            DisconnectReason::InvalidUtf8 => 8,
            DisconnectReason::WriteStalled => 9,
        }
    }

    #[test]
    fn all_lists_the_reasons_once_in_declaration_order() {
        for (index, reason) in DisconnectReason::ALL.into_iter().enumerate() {
            assert_eq!(position(reason), index, "{reason:?}");
        }
    }

    #[test]
    fn every_reason_round_trips_through_its_string() {
        for reason in DisconnectReason::ALL {
            assert_eq!(reason.as_str().parse::<DisconnectReason>(), Ok(reason));
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }

    #[test]
    fn the_strings_are_those_of_the_javascript_client_then_ferrios_own_causes() {
        let strings: Vec<&str> = DisconnectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            strings,
            [
                "io server disconnect",
                "io client disconnect",
                "ping timeout",
                "transport close",
                "transport error",
                "parse error",
                "message too large",
                "protocol violation",
                "invalid utf-8",
                "write stalled",
            ]
        );
    }

    #[test]
    fn an_unknown_string_is_refused_with_its_text() {
        for text in ["", "Ping Timeout", "ping timeout ", "forced close"] {
            let error = text.parse::<DisconnectReason>().unwrap_err();
            assert_eq!(error, UnknownDisconnectReason(text.to_owned()));
        }
        assert_eq!(
            "nope".parse::<DisconnectReason>().unwrap_err().to_string(),
            "unknown disconnect reason \"nope\""
        );
    }

    #[test]
    fn only_the_two_deliberate_disconnects_are_not_recoverable() {
        let final_ones: Vec<DisconnectReason> = DisconnectReason::ALL
            .into_iter()
            .filter(|reason| !reason.is_recoverable())
            .collect();
        assert_eq!(
            final_ones,
            [
                DisconnectReason::IoServerDisconnect,
                DisconnectReason::IoClientDisconnect
            ]
        );
    }
}
