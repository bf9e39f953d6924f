//! The Engine.IO open packet: session id, upgrades, heartbeat timing and `maxPayload`.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::packet::EngineDecodeError;

/// The server's handshake, carried by the Engine.IO open packet (`0{...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The Engine.IO session id, sent back as the `sid` query parameter.
    pub sid: String,
    /// The transports the session may upgrade to (`["websocket"]` after a polling handshake).
    pub upgrades: Vec<String>,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long the server waits for a pong.
    pub ping_timeout: Duration,
    /// The largest payload (POST body or WebSocket message) the server accepts, in bytes;
    /// `None` when the server did not say (no limit).
    pub max_payload: Option<u64>,
}

/// The open packet's JSON, as the server writes it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    #[serde(borrow)]
    sid: std::borrow::Cow<'a, str>,
    #[serde(default)]
    upgrades: Vec<String>,
    ping_interval: u64,
    ping_timeout: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_payload: Option<u64>,
}

impl Handshake {
    /// Parses the JSON of an open packet (the text after the `0`).
    ///
    /// Unknown keys are ignored; `upgrades` defaults to none and `maxPayload` to no limit.
    ///
    /// # Errors
    /// [`EngineDecodeError::BadHandshake`] if the text is not a JSON object with a string
    /// `sid` and non-negative integer `pingInterval` and `pingTimeout` (milliseconds).
    pub fn parse(json: &str) -> Result<Handshake, EngineDecodeError> {
        let wire: Wire<'_> =
            serde_json::from_str(json).map_err(|e| EngineDecodeError::BadHandshake(Arc::new(e)))?;
        Ok(Handshake {
            sid: wire.sid.into_owned(),
            upgrades: wire.upgrades,
            ping_interval: Duration::from_millis(wire.ping_interval),
            ping_timeout: Duration::from_millis(wire.ping_timeout),
            max_payload: wire.max_payload,
        })
    }

    /// Appends the handshake as the server writes it, durations in whole milliseconds.
    pub fn write_json(&self, out: &mut String) {
        let wire = Wire {
            sid: std::borrow::Cow::Borrowed(&self.sid),
            upgrades: self.upgrades.clone(),
            ping_interval: u64::try_from(self.ping_interval.as_millis()).unwrap_or(u64::MAX),
            ping_timeout: u64::try_from(self.ping_timeout.as_millis()).unwrap_or(u64::MAX),
            max_payload: self.max_payload,
        };
        // Serializing strings and integers into JSON cannot fail.
        if let Ok(text) = serde_json::to_string(&wire) {
            out.push_str(&text);
        }
    }

    /// The time after which a silent server is considered gone: `pingInterval + pingTimeout`.
    pub fn heartbeat_deadline(&self) -> Duration {
        self.ping_interval.saturating_add(self.ping_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_captured_polling_handshake() {
        let h = Handshake::parse(
            r#"{"sid":"ZL3HGtEwa9MSMYxaAAAA","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#,
        )
        .unwrap();
        assert_eq!(h.sid, "ZL3HGtEwa9MSMYxaAAAA");
        assert_eq!(h.upgrades, vec!["websocket".to_owned()]);
        assert_eq!(h.ping_interval, Duration::from_millis(300));
        assert_eq!(h.ping_timeout, Duration::from_millis(200));
        assert_eq!(h.max_payload, Some(1_000_000));
        assert_eq!(h.heartbeat_deadline(), Duration::from_millis(500));
    }

    #[test]
    fn ignores_unknown_keys_and_tolerates_missing_max_payload() {
        let h = Handshake::parse(
            r#"{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"extra":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(h.max_payload, None);
        assert!(h.upgrades.is_empty());
    }

    #[test]
    fn parses_escaped_sid() {
        let h = Handshake::parse(r#"{"sid":"a\"b","pingInterval":1,"pingTimeout":2}"#).unwrap();
        assert_eq!(h.sid, "a\"b");
    }

    #[test]
    fn rejects_handshake_without_sid_or_timing() {
        for bad in [
            r#"{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
            r#"{"sid":"a","pingTimeout":1}"#,
            r#"{"sid":"a","pingInterval":-1,"pingTimeout":1}"#,
            r#"{"sid":1,"pingInterval":1,"pingTimeout":1}"#,
            r#"["sid"]"#,
            "",
            "{",
        ] {
            assert!(
                matches!(
                    Handshake::parse(bad),
                    Err(EngineDecodeError::BadHandshake(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn writes_json_the_server_way() {
        let h = Handshake {
            sid: "s".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            max_payload: Some(1_000_000),
        };
        let mut out = String::new();
        h.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"sid":"s","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
        assert_eq!(Handshake::parse(&out).unwrap(), h);
    }
}
