//! Socket.IO v5 packets as the client receives them: text packets and the binary messages
//! (attachments) that follow a binary packet, through one `Decoder`.
//!
//! Input: one byte choosing the limits (default, tiny, or none at all), then messages
//! separated by `0xFF` (never in UTF-8 text): a message starting with `0xFE` is a binary
//! message (the bytes after the marker), `0xFD` resets the decoder, anything else is a text
//! message. Checked: no panic; a decoded binary packet holds no placeholder; a decoded
//! packet encoded again decodes to the same packet; error texts stay short.
#![no_main]

use bytes::Bytes;
use ferrio::socketio::{DecodeLimits, Decoder, Packet, PacketKind};
use ferrio::Value;
use libfuzzer_sys::fuzz_target;

const BINARY: u8 = 0xfe;
const RESET: u8 = 0xfd;
const SEPARATOR: u8 = 0xff;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

/// No bound at all: what a user gets by raising every limit to the maximum.
const UNLIMITED: DecodeLimits = DecodeLimits {
    max_attachments: usize::MAX,
    max_attachment_bytes: usize::MAX,
    max_packet_bytes: usize::MAX,
    max_binary_bytes: usize::MAX,
    max_json_values: usize::MAX,
};

fn limits(selector: u8) -> DecodeLimits {
    match selector % 3 {
        0 => DecodeLimits::default(),
        1 => DecodeLimits {
            max_attachments: 2,
            max_attachment_bytes: 8,
            max_packet_bytes: 64,
            max_binary_bytes: 12,
            max_json_values: 8,
        },
        _ => UNLIMITED,
    }
}

/// Whether `value` still holds an object the decoder takes for a placeholder.
fn has_placeholder(value: &Value) -> bool {
    match value {
        Value::Object(o) => {
            o.get("_placeholder") == Some(&Value::Bool(true)) || o.values().any(has_placeholder)
        }
        Value::Array(a) => a.iter().any(has_placeholder),
        _ => false,
    }
}

/// The type a packet is sent as: binary types only when it holds binary.
fn plain(kind: PacketKind) -> PacketKind {
    match kind {
        PacketKind::BinaryEvent => PacketKind::Event,
        PacketKind::BinaryAck => PacketKind::Ack,
        kind => kind,
    }
}

fn check(packet: &Packet) {
    if packet.kind.is_binary() {
        assert!(
            !packet.data.as_ref().is_some_and(has_placeholder),
            "placeholder left in {packet:?}"
        );
    }
    let (text, attachments) = packet.to_text();
    let mut decoder = Decoder::new(UNLIMITED);
    let mut decoded = decoder
        .decode_text(&text)
        .expect("an encoded packet decodes");
    for attachment in attachments {
        assert!(decoded.is_none(), "{text:?}: attachments left over");
        decoded = decoder
            .decode_binary(attachment)
            .expect("an encoded attachment decodes");
    }
    let again = decoded
        .expect("the encoded packet is complete")
        .into_packet();
    assert_eq!(plain(again.kind), plain(packet.kind), "{text:?}");
    assert_eq!(again.nsp, packet.nsp, "{text:?}");
    assert_eq!(again.id, packet.id, "{text:?}");
    assert_eq!(again.data, packet.data, "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, messages)) = data.split_first() else {
        return;
    };
    let mut decoder = Decoder::new(limits(selector));
    for message in messages.split(|&b| b == SEPARATOR) {
        let decoded = match message.split_first() {
            Some((&BINARY, bytes)) => decoder.decode_binary(Bytes::copy_from_slice(bytes)),
            Some((&RESET, _)) => {
                decoder.reset();
                assert!(!decoder.is_waiting());
                continue;
            }
            _ => match std::str::from_utf8(message) {
                Ok(text) => decoder.decode_text(text),
                Err(_) => continue,
            },
        };
        match decoded {
            Ok(Some(packet)) => {
                assert!(!decoder.is_waiting());
                check(&packet.into_packet());
            }
            Ok(None) => assert!(decoder.is_waiting()),
            Err(error) => {
                assert!(!decoder.is_waiting(), "the decoder resets after an error");
                assert!(error.to_string().len() <= MAX_ERROR_TEXT, "{error}");
            }
        }
    }
});
