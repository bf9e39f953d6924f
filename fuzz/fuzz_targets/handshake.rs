//! The JSON of the Engine.IO open packet: `Handshake::parse` never panics, and a parsed
//! handshake written back as JSON parses to the same handshake; error texts stay short.
#![no_main]

use ferrio::engineio::Handshake;
use libfuzzer_sys::fuzz_target;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let handshake = match Handshake::parse(json) {
        Ok(handshake) => handshake,
        Err(error) => {
            assert!(error.to_string().len() <= MAX_ERROR_TEXT, "{error}");
            return;
        }
    };
    let mut written = String::new();
    handshake.write_json(&mut written);
    let again = Handshake::parse(&written).expect("a written handshake parses");
    assert_eq!(again, handshake, "json {json:?} written as {written:?}");
    // The heartbeat deadline saturates instead of overflowing.
    let _ = handshake.heartbeat_deadline();
});
