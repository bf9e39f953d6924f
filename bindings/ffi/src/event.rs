//! `EventRecord`: the flat envelope in which every event a socket observes crosses.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::ack::AckRequest;
use crate::disconnect::DisconnectReason;
use crate::json;

/// What an [`EventRecord`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EventKind {
    /// An event from the server: `name`, `args_json`, `attachments`, maybe `ack`.
    Event,
    /// The namespace is connected: `sid`, `recovered`.
    Connect,
    /// The namespace was disconnected: `reason` (also the one argument, as a string).
    Disconnect,
    /// The namespace could not be connected: `error`; the argument is `{message, data}`.
    ConnectError,
    /// The consumer was too slow: `dropped` events were lost.
    Lagged,
}

/// One event a socket observed, flat: parse `args_json` in the foreign language and put
/// `attachments[K]` in place of each `{"_placeholder":true,"num":K}`.
#[derive(Debug, uniffi::Record)]
pub struct EventRecord {
    /// What happened.
    pub kind: EventKind,
    /// The namespace, e.g. `/`.
    pub namespace: String,
    /// The event name; `connect`, `disconnect`, `connect_error` or `lagged` for the others.
    pub name: String,
    /// The arguments: JSON text of an array, binary nodes as placeholders.
    pub args_json: String,
    /// The bytes of the placeholders, by number.
    pub attachments: Vec<Vec<u8>>,
    /// Answers the server's acknowledgement request, when it asked for one.
    pub ack: Option<Arc<AckRequest>>,
    /// The session id, for `Connect`.
    pub sid: Option<String>,
    /// Whether connection state recovery restored the session, for `Connect`.
    pub recovered: bool,
    /// Why, for `Disconnect`.
    pub reason: Option<DisconnectReason>,
    /// The error message, for `ConnectError`.
    pub error: Option<String>,
    /// Events lost, for `Lagged`.
    pub dropped: u64,
}

impl EventRecord {
    fn lifecycle(kind: EventKind, namespace: &str, name: &str, args_json: String) -> Self {
        EventRecord {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            args_json,
            attachments: Vec::new(),
            ack: None,
            sid: None,
            recovered: false,
            reason: None,
            error: None,
            dropped: 0,
        }
    }

    /// The record of what socket `namespace` observed.
    pub(crate) fn from_core(namespace: &str, event: ferrio::SocketEvent) -> Self {
        match event {
            ferrio::SocketEvent::Event(mut event) => {
                // The arguments cross as they arrived: the server's text, its attachments.
                let (args_json, attachments) = event.take_payload().into_parts();
                EventRecord {
                    namespace: event.namespace.to_string(),
                    name: std::mem::take(&mut event.name),
                    args_json,
                    attachments: attachments.into_iter().map(Vec::from).collect(),
                    ack: event.wants_ack().then(|| Arc::new(AckRequest::new(event))),
                    ..Self::lifecycle(EventKind::Event, "", "", String::new())
                }
            }
            ferrio::SocketEvent::Connect { sid, recovered } => EventRecord {
                sid: Some(sid),
                recovered,
                ..Self::lifecycle(EventKind::Connect, namespace, "connect", "[]".into())
            },
            ferrio::SocketEvent::Disconnect(reason) => EventRecord {
                reason: Some(reason.into()),
                ..Self::lifecycle(
                    EventKind::Disconnect,
                    namespace,
                    "disconnect",
                    format!("[\"{}\"]", reason.as_str()),
                )
            },
            ferrio::SocketEvent::ConnectError(error) => {
                let args_json = connect_error_args(&error);
                EventRecord {
                    error: Some(error.to_string()),
                    ..Self::lifecycle(
                        EventKind::ConnectError,
                        namespace,
                        "connect_error",
                        args_json,
                    )
                }
            }
            ferrio::SocketEvent::Lagged(dropped) => EventRecord {
                dropped,
                ..Self::lifecycle(
                    EventKind::Lagged,
                    namespace,
                    "lagged",
                    format!("[{dropped}]"),
                )
            },
        }
    }
}

/// A drained batch in its cheapest form to cross: plain events (no attachments, no ack
/// request) as one JSON text, everything else as records.
///
/// `json` is the JSON text of an array with one item per event, in order: a plain event is
/// the array `[name, ...args]`; any other event is the integer K, standing for `others[K]`.
/// One JSON parse in the foreign language replaces lifting a record per event.
#[derive(Debug, uniffi::Record)]
pub struct JsonBatch {
    /// JSON text of the array described above; empty once the stream is closed. A
    /// `String`, which UniFFI lowers with one copy, where a `Vec<u8>` is lowered a byte at
    /// a time (~400 instructions per event of the receive bench in callgrind).
    pub json: String,
    /// The events that are not plain, referenced from `json` by index.
    pub others: Vec<EventRecord>,
}

impl JsonBatch {
    /// Packs `events` of socket `namespace`.
    pub(crate) fn pack(namespace: &str, events: Vec<ferrio::SocketEvent>) -> Self {
        let mut json = String::with_capacity(events.len() * 64 + 2);
        let mut others = Vec::new();
        json.push('[');
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            match event {
                ferrio::SocketEvent::Event(event)
                    if !event.wants_ack() && event.payload().attachments().is_empty() =>
                {
                    json::write_named_args(&mut json, &event.name, event.payload().json());
                }
                other => {
                    // Writing into a String cannot fail.
                    let _ = write!(json, "{}", others.len());
                    others.push(EventRecord::from_core(namespace, other));
                }
            }
        }
        json.push(']');
        JsonBatch { json, others }
    }
}

/// The `connect_error` argument as the JavaScript client shows it: `[{message, data}]`.
fn connect_error_args(error: &ferrio::ConnectError) -> String {
    let (message, data) = match error {
        ferrio::ConnectError::Rejected { message, data } => (message.clone(), data.as_ref()),
        other => (other.to_string(), None),
    };
    let message = serde_json::to_string(&message).unwrap_or_else(|_| "\"\"".into());
    match data {
        Some(data) => format!(
            "[{{\"message\":{message},\"data\":{}}}]",
            json::value_to_json(data)
        ),
        None => format!("[{{\"message\":{message}}}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_becomes_message_and_data() {
        let data = json::value_from_json(r#"{"reason":"denied","code":42}"#, vec![]).unwrap();
        let error = ferrio::ConnectError::Rejected {
            message: "Auth failed".into(),
            data: Some(data),
        };
        let record = EventRecord::from_core("/no", ferrio::SocketEvent::ConnectError(error));
        assert_eq!(record.kind, EventKind::ConnectError);
        assert_eq!(
            record.args_json,
            r#"[{"message":"Auth failed","data":{"code":42,"reason":"denied"}}]"#
        );
        assert_eq!(record.namespace, "/no");
    }

    #[test]
    fn a_disconnect_carries_its_reason_as_enum_and_string() {
        let event = ferrio::SocketEvent::Disconnect(ferrio::DisconnectReason::TransportClose);
        let record = EventRecord::from_core("/", event);
        assert_eq!(record.reason, Some(DisconnectReason::TransportClose));
        assert_eq!(record.args_json, r#"["transport close"]"#);
    }

    #[test]
    fn every_reason_crosses_as_its_enum_and_its_string() {
        for core in ferrio::DisconnectReason::ALL {
            let record = EventRecord::from_core("/", ferrio::SocketEvent::Disconnect(core));
            assert_eq!(record.reason, Some(core.into()));
            assert_eq!(record.args_json, format!("[\"{core}\"]"));
        }
    }
}
