//! One Engine.IO v4 text packet (a WebSocket text frame, or one segment of a polling
//! payload): `EnginePacket::decode_text` never panics, and what it decodes re-encodes to
//! text that decodes to the same packet; error texts stay short.
#![no_main]

use ferrio::engineio::EnginePacket;
use libfuzzer_sys::fuzz_target;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

fuzz_target!(|data: &[u8]| {
    // The transports hand the decoder text only (tungstenite and the polling body reader
    // check UTF-8 first).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let packet = match EnginePacket::decode_text(text) {
        Ok(packet) => packet,
        Err(error) => {
            assert!(error.to_string().len() <= MAX_ERROR_TEXT, "{error}");
            return;
        }
    };
    let mut encoded = String::new();
    packet.encode_text(&mut encoded);
    let again = EnginePacket::decode_text(&encoded).expect("an encoded packet decodes");
    assert_eq!(again, packet, "text {text:?} re-encoded as {encoded:?}");
});
