//! Engine.IO v4 packets: the text form (WebSocket text frames, polling payload segments).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use std::sync::Arc;

use bytes::Bytes;

use super::handshake::Handshake;
use crate::server_text::server_text;

/// Standard base64; writes `=` padding, reads with or without it.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One Engine.IO packet.
///
/// Kept small (40 bytes on 64-bit targets, a [`Bytes`] and a tag): the handshake, rare
/// and large, is boxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket {
    /// `0{...}`: the server's handshake.
    Open(Box<Handshake>),
    /// `1`: close the session.
    Close,
    /// `2`: the server's heartbeat ping.
    Ping,
    /// `3`: the client's answer to a ping.
    Pong,
    /// `2probe`: the client's upgrade probe over the new WebSocket.
    PingProbe,
    /// `3probe`: the server's answer to the upgrade probe.
    PongProbe,
    /// `4<text>`: a text message (a Socket.IO packet).
    Message(String),
    /// A binary message: a WebSocket binary frame, or `b<base64>` in a polling payload.
    Binary(Bytes),
    /// `5`: the client completes the upgrade to WebSocket.
    Upgrade,
    /// `6`: no operation (ends a pending poll during an upgrade).
    Noop,
}

/// Why an Engine.IO packet or payload could not be decoded.
///
/// Any of these is a protocol error: close the session (reason `parse error`) and let
/// reconnection start a new one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineDecodeError {
    /// The packet is an empty string; it has no type.
    #[error("empty packet")]
    Empty,
    /// The polling payload (HTTP body) is empty.
    #[error("empty payload")]
    EmptyPayload,
    /// The first character is not a packet type (`0`..`6`, or `b` for base64 binary).
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A packet that carries no data (`1`, `5`, `6`, or `2`/`3` other than `probe`) had some.
    #[error("unexpected data after packet type {0:?}")]
    UnexpectedData(char),
    /// The open packet's JSON is not a valid handshake.
    #[error("bad handshake: {}", server_text(.0.to_string()))]
    BadHandshake(#[source] Arc<serde_json::Error>),
    /// A `b` packet is not valid standard base64.
    #[error("bad base64 in binary packet: {0}")]
    BadBase64(#[source] base64::DecodeError),
    /// An Engine.IO v3 polling payload's length prefix (`<length>:`) is missing, not a
    /// number, or does not match the packet that follows.
    #[error("bad length prefix in an Engine.IO v3 payload")]
    BadLength,
    /// A polling payload holds more packets than
    /// [`ManagerOptions::max_payload_packets`](crate::ManagerOptions::max_payload_packets)
    /// allows; none of them is used.
    #[error("payload of {count} packets exceeds the limit of {max} packets")]
    TooManyPackets {
        /// Packets in the payload.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A packet or payload is larger than the inbound limit.
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge {
        /// Its size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl EnginePacket {
    /// Decodes one text packet: a WebSocket text frame or one segment of a polling payload.
    ///
    /// Accepts the base64 form `b<base64>` too, as Engine.IO's parser does. Never panics.
    ///
    /// # Errors
    /// [`EngineDecodeError::Empty`], [`EngineDecodeError::UnknownType`],
    /// [`EngineDecodeError::UnexpectedData`], [`EngineDecodeError::BadHandshake`] or
    /// [`EngineDecodeError::BadBase64`].
    pub fn decode_text(text: &str) -> Result<EnginePacket, EngineDecodeError> {
        let Some(&kind) = text.as_bytes().first() else {
            return Err(EngineDecodeError::Empty);
        };
        // `kind` is checked to be ASCII before `data` is used, so index 1 is a boundary.
        let data = text.get(1..).unwrap_or("");
        let no_data = |packet: EnginePacket| {
            if data.is_empty() {
                Ok(packet)
            } else {
                Err(EngineDecodeError::UnexpectedData(char::from(kind)))
            }
        };
        match kind {
            b'0' => Handshake::parse(data).map(|h| EnginePacket::Open(Box::new(h))),
            b'1' => no_data(EnginePacket::Close),
            b'2' if data == "probe" => Ok(EnginePacket::PingProbe),
            b'2' => no_data(EnginePacket::Ping),
            b'3' if data == "probe" => Ok(EnginePacket::PongProbe),
            b'3' => no_data(EnginePacket::Pong),
            b'4' => Ok(EnginePacket::Message(data.to_owned())),
            b'5' => no_data(EnginePacket::Upgrade),
            b'6' => no_data(EnginePacket::Noop),
            b'b' => BASE64
                .decode(data)
                .map(|b| EnginePacket::Binary(Bytes::from(b)))
                .map_err(EngineDecodeError::BadBase64),
            _ => Err(EngineDecodeError::UnknownType(
                text.chars().next().unwrap_or('\u{fffd}'),
            )),
        }
    }

    /// Decodes one Engine.IO v3 text packet: as [`EnginePacket::decode_text`], except that
    /// binary is written `b4<base64>` (the `b`, then the type of the packet it carries).
    ///
    /// # Errors
    /// As [`EnginePacket::decode_text`].
    pub(crate) fn decode_text_v3(text: &str) -> Result<EnginePacket, EngineDecodeError> {
        match text.strip_prefix('b') {
            Some(rest) => match rest.strip_prefix('4') {
                Some(data) => BASE64
                    .decode(data)
                    .map(|b| EnginePacket::Binary(Bytes::from(b)))
                    .map_err(EngineDecodeError::BadBase64),
                None => Err(EngineDecodeError::UnknownType('b')),
            },
            None => Self::decode_text(text),
        }
    }

    /// Appends the text form of this packet to `out`.
    ///
    /// That is the WebSocket text frame (`4hello`, `2probe`, ...). [`EnginePacket::Binary`]
    /// is written in its polling form, `b<base64>`; over WebSocket send the raw bytes as a
    /// binary frame instead.
    pub fn encode_text(&self, out: &mut String) {
        match self {
            EnginePacket::Open(h) => {
                out.push('0');
                h.write_json(out);
            }
            EnginePacket::Close => out.push('1'),
            EnginePacket::Ping => out.push('2'),
            EnginePacket::Pong => out.push('3'),
            EnginePacket::PingProbe => out.push_str("2probe"),
            EnginePacket::PongProbe => out.push_str("3probe"),
            EnginePacket::Message(text) => {
                out.push('4');
                out.push_str(text);
            }
            EnginePacket::Binary(bytes) => {
                out.push('b');
                BASE64.encode_string(bytes, out);
            }
            EnginePacket::Upgrade => out.push('5'),
            EnginePacket::Noop => out.push('6'),
        }
    }

    /// Whether this is a binary message (sent as a WebSocket binary frame).
    pub fn is_binary(&self) -> bool {
        matches!(self, EnginePacket::Binary(_))
    }

    /// The length in bytes of the text form [`EnginePacket::encode_text`] writes.
    pub(crate) fn text_len(&self) -> usize {
        match self {
            EnginePacket::Open(_) => {
                let mut text = String::new();
                self.encode_text(&mut text);
                text.len()
            }
            EnginePacket::PingProbe | EnginePacket::PongProbe => "2probe".len(),
            EnginePacket::Message(text) => 1 + text.len(),
            EnginePacket::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
            EnginePacket::Close
            | EnginePacket::Ping
            | EnginePacket::Pong
            | EnginePacket::Upgrade
            | EnginePacket::Noop => 1,
        }
    }

    /// The payload length of this packet's WebSocket frame: the raw bytes of a binary
    /// message, the text form of any other packet.
    pub(crate) fn frame_len(&self) -> usize {
        match self {
            EnginePacket::Binary(bytes) => bytes.len(),
            other => other.text_len(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn encode(p: &EnginePacket) -> String {
        let mut out = String::new();
        p.encode_text(&mut out);
        out
    }

    /// Any packet, with handshake timing in whole milliseconds.
    pub(crate) fn arb_packet() -> impl Strategy<Value = EnginePacket> {
        let handshake = (
            ".*",
            prop::collection::vec("[a-z]{1,9}", 0..3),
            any::<u32>(),
            any::<u32>(),
            any::<Option<u64>>(),
        )
            .prop_map(|(sid, upgrades, pi, pt, max_payload)| Handshake {
                sid,
                upgrades,
                ping_interval: Duration::from_millis(u64::from(pi)),
                ping_timeout: Duration::from_millis(u64::from(pt)),
                max_payload,
            });
        prop_oneof![
            handshake.prop_map(|h| EnginePacket::Open(Box::new(h))),
            Just(EnginePacket::Close),
            Just(EnginePacket::Ping),
            Just(EnginePacket::Pong),
            Just(EnginePacket::PingProbe),
            Just(EnginePacket::PongProbe),
            "[^\u{1e}]*".prop_map(EnginePacket::Message),
            prop::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| EnginePacket::Binary(Bytes::from(b))),
            Just(EnginePacket::Upgrade),
            Just(EnginePacket::Noop),
        ]
    }

    #[test]
    fn decodes_every_packet_type() {
        let cases = [
            ("1", EnginePacket::Close),
            ("2", EnginePacket::Ping),
            ("3", EnginePacket::Pong),
            ("2probe", EnginePacket::PingProbe),
            ("3probe", EnginePacket::PongProbe),
            ("4hello", EnginePacket::Message("hello".into())),
            ("4", EnginePacket::Message(String::new())),
            ("5", EnginePacket::Upgrade),
            ("6", EnginePacket::Noop),
            (
                "bAQIDBA==",
                EnginePacket::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            ),
            ("b", EnginePacket::Binary(Bytes::new())),
        ];
        for (text, packet) in cases {
            assert_eq!(EnginePacket::decode_text(text).unwrap(), packet, "{text}");
            assert_eq!(encode(&packet), text);
        }
    }

    #[test]
    fn decodes_open_packet_with_handshake() {
        let text = r#"0{"sid":"nW-IQxTADmoYhF84AAAG","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
        let EnginePacket::Open(h) = EnginePacket::decode_text(text).unwrap() else {
            panic!("not an open packet");
        };
        assert_eq!(h.sid, "nW-IQxTADmoYhF84AAAG");
        assert_eq!(encode(&EnginePacket::Open(h)), text);
    }

    #[test]
    fn decodes_unpadded_base64() {
        assert_eq!(
            EnginePacket::decode_text("bAQIDBA").unwrap(),
            EnginePacket::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        );
    }

    #[test]
    fn message_keeps_multibyte_text() {
        assert_eq!(
            EnginePacket::decode_text("4héllo😀").unwrap(),
            EnginePacket::Message("héllo😀".into())
        );
    }

    #[test]
    fn rejects_empty_packet() {
        assert!(matches!(
            EnginePacket::decode_text(""),
            Err(EngineDecodeError::Empty)
        ));
    }

    #[test]
    fn rejects_unknown_packet_type() {
        for (text, c) in [
            ("7", '7'),
            ("x1", 'x'),
            ("é", 'é'),
            ("😀4", '😀'),
            ("B", 'B'),
        ] {
            match EnginePacket::decode_text(text) {
                Err(EngineDecodeError::UnknownType(got)) => assert_eq!(got, c),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_data_on_packets_that_carry_none() {
        for text in ["1x", "2pro", "3probes", "5probe", "6é"] {
            assert!(
                matches!(
                    EnginePacket::decode_text(text),
                    Err(EngineDecodeError::UnexpectedData(_))
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_handshake() {
        for text in ["0", "0{}", "0not json"] {
            assert!(
                matches!(
                    EnginePacket::decode_text(text),
                    Err(EngineDecodeError::BadHandshake(_))
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_base64() {
        for text in ["b!!!!", "bAQIDBA=x", "bA", "bAQ=="] {
            let r = EnginePacket::decode_text(text);
            if text == "bAQ==" {
                assert!(r.is_ok());
            } else {
                assert!(
                    matches!(r, Err(EngineDecodeError::BadBase64(_))),
                    "{text}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn a_packet_is_at_most_five_words() {
        // 96 bytes when the handshake was stored inline.
        assert!(std::mem::size_of::<EnginePacket>() <= 5 * std::mem::size_of::<usize>());
    }

    #[test]
    fn only_binary_is_binary() {
        assert!(EnginePacket::Binary(Bytes::new()).is_binary());
        assert!(!EnginePacket::Message(String::new()).is_binary());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn packets_round_trip_through_text(p in arb_packet()) {
            let text = encode(&p);
            prop_assert_eq!(EnginePacket::decode_text(&text).unwrap(), p);
        }

        #[test]
        fn text_len_is_the_length_of_the_text_form(p in arb_packet()) {
            prop_assert_eq!(p.text_len(), encode(&p).len());
            if let EnginePacket::Binary(bytes) = &p {
                prop_assert_eq!(p.frame_len(), bytes.len());
            } else {
                prop_assert_eq!(p.frame_len(), p.text_len());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>()) {
            let _ = EnginePacket::decode_text(&s);
        }

        #[test]
        fn text_with_a_type_prefix_never_panics(t in "[0-6b]", s in any::<String>()) {
            let _ = EnginePacket::decode_text(&format!("{t}{s}"));
        }
    }
}
