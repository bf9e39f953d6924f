//! The JSON of the Engine.IO open packet: `Handshake::parse` never panics, and a parsed
//! handshake written back as JSON parses to the same handshake.
#![no_main]

use ferrio::engineio::Handshake;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(handshake) = Handshake::parse(json) else {
        return;
    };
    let mut written = String::new();
    handshake.write_json(&mut written);
    let again = Handshake::parse(&written).expect("a written handshake parses");
    assert_eq!(again, handshake, "json {json:?} written as {written:?}");
    // The heartbeat deadline saturates instead of overflowing.
    let _ = handshake.heartbeat_deadline();
});
