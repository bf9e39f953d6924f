//! `DisconnectReason`: the core's reasons, as a UniFFI enum, and their text.

/// Why a socket was disconnected: the JavaScript client's reasons, then the causes that
/// client folds into them (too large, protocol violation, bad UTF-8, stalled write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DisconnectReason {
    /// The server disconnected the socket; no automatic reconnection.
    IoServerDisconnect,
    /// The client disconnected; no automatic reconnection.
    IoClientDisconnect,
    /// No ping from the server in time.
    PingTimeout,
    /// The connection was closed (server, proxy or network).
    TransportClose,
    /// The transport failed.
    TransportError,
    /// The server sent data that could not be decoded.
    ParseError,
    /// The server sent a message larger than the client accepts.
    MessageTooLarge,
    /// The server broke the WebSocket protocol.
    ProtocolViolation,
    /// The server sent text that is not UTF-8.
    InvalidUtf8,
    /// The server stopped taking what the client writes.
    WriteStalled,
}

impl From<ferrio::DisconnectReason> for DisconnectReason {
    fn from(reason: ferrio::DisconnectReason) -> Self {
        match reason {
            ferrio::DisconnectReason::IoServerDisconnect => DisconnectReason::IoServerDisconnect,
            ferrio::DisconnectReason::IoClientDisconnect => DisconnectReason::IoClientDisconnect,
            ferrio::DisconnectReason::PingTimeout => DisconnectReason::PingTimeout,
            ferrio::DisconnectReason::TransportClose => DisconnectReason::TransportClose,
            ferrio::DisconnectReason::TransportError => DisconnectReason::TransportError,
            ferrio::DisconnectReason::ParseError => DisconnectReason::ParseError,
            ferrio::DisconnectReason::MessageTooLarge => DisconnectReason::MessageTooLarge,
            ferrio::DisconnectReason::ProtocolViolation => DisconnectReason::ProtocolViolation,
            ferrio::DisconnectReason::InvalidUtf8 => DisconnectReason::InvalidUtf8,
            ferrio::DisconnectReason::WriteStalled => DisconnectReason::WriteStalled,
        }
    }
}

impl From<DisconnectReason> for ferrio::DisconnectReason {
    fn from(reason: DisconnectReason) -> Self {
        match reason {
            DisconnectReason::IoServerDisconnect => ferrio::DisconnectReason::IoServerDisconnect,
            DisconnectReason::IoClientDisconnect => ferrio::DisconnectReason::IoClientDisconnect,
            DisconnectReason::PingTimeout => ferrio::DisconnectReason::PingTimeout,
            DisconnectReason::TransportClose => ferrio::DisconnectReason::TransportClose,
            DisconnectReason::TransportError => ferrio::DisconnectReason::TransportError,
            DisconnectReason::ParseError => ferrio::DisconnectReason::ParseError,
            DisconnectReason::MessageTooLarge => ferrio::DisconnectReason::MessageTooLarge,
            DisconnectReason::ProtocolViolation => ferrio::DisconnectReason::ProtocolViolation,
            DisconnectReason::InvalidUtf8 => ferrio::DisconnectReason::InvalidUtf8,
            DisconnectReason::WriteStalled => ferrio::DisconnectReason::WriteStalled,
        }
    }
}

/// The reason as the JavaScript client spells it, e.g. `"io server disconnect"`: the
/// core's text ([`ferrio::DisconnectReason::as_str`]), so that no binding writes it again.
#[uniffi::export]
pub fn disconnect_reason_text(reason: DisconnectReason) -> String {
    ferrio::DisconnectReason::from(reason).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_reason_becomes_the_variant_of_the_same_name() {
        for core in ferrio::DisconnectReason::ALL {
            let ffi = DisconnectReason::from(core);
            assert_eq!(format!("{ffi:?}"), format!("{core:?}"));
        }
    }

    #[test]
    fn distinct_core_reasons_stay_distinct() {
        let crossed: std::collections::HashSet<String> = ferrio::DisconnectReason::ALL
            .into_iter()
            .map(|core| format!("{:?}", DisconnectReason::from(core)))
            .collect();
        assert_eq!(crossed.len(), ferrio::DisconnectReason::ALL.len());
    }

    #[test]
    fn every_reason_crosses_back_to_the_same_core_reason() {
        for core in ferrio::DisconnectReason::ALL {
            assert_eq!(
                ferrio::DisconnectReason::from(DisconnectReason::from(core)),
                core
            );
        }
    }

    #[test]
    fn the_text_of_every_reason_is_the_cores() {
        for core in ferrio::DisconnectReason::ALL {
            assert_eq!(disconnect_reason_text(core.into()), core.as_str());
        }
        assert_eq!(
            disconnect_reason_text(DisconnectReason::InvalidUtf8),
            "invalid utf-8"
        );
    }
}
