//! One Engine.IO v4 polling payload (a GET response body), through the client's lazy
//! decoder (`Payload`, with a packet cap) and through `decode_payload`.
//!
//! Checked: no panic; `Payload` yields exactly the packets `decode_payload` returns, stops
//! at the first bad one, and keeps its count and cap; decoded packets encoded again as one
//! payload decode to the same packets; error texts stay short.
#![no_main]

use ferrio::engineio::payload::{decode_payload, encode_payload, Payload};
use ferrio::engineio::EngineDecodeError;
use libfuzzer_sys::fuzz_target;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

/// A small cap, so that both sides of it are reached.
const MAX_PACKETS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let all = decode_payload(body);

    match Payload::new(body.to_owned(), MAX_PACKETS) {
        Ok(mut payload) => {
            let count = payload.len();
            assert!((1..=MAX_PACKETS).contains(&count), "{count} packets");
            let mut taken = Vec::new();
            let mut failed = false;
            while let Some(packet) = payload.next() {
                assert!(!failed, "a packet after an error");
                assert!(taken.len() < count, "more packets than counted");
                match packet {
                    Ok(packet) => taken.push(packet),
                    Err(error) => {
                        assert!(error.to_string().len() <= MAX_ERROR_TEXT, "{error}");
                        failed = true;
                    }
                }
                assert!(payload.size_hint().1 == Some(payload.len()));
            }
            assert!(payload.is_empty());
            match &all {
                Ok(packets) => {
                    assert!(!failed);
                    assert_eq!(&taken, packets);
                }
                Err(_) => assert!(failed),
            }
        }
        Err(EngineDecodeError::TooManyPackets { count, max }) => {
            assert_eq!(max, MAX_PACKETS);
            assert!(count > MAX_PACKETS);
            assert_eq!(count, body.matches('\u{1e}').count() + 1);
        }
        Err(error) => {
            assert!(body.is_empty(), "{error}");
            assert!(matches!(error, EngineDecodeError::EmptyPayload));
        }
    }

    let Ok(packets) = all else {
        return;
    };
    let mut encoded = String::new();
    assert_eq!(encode_payload(&packets, None, &mut encoded), packets.len());
    let again = decode_payload(&encoded).expect("an encoded payload decodes");
    assert_eq!(again, packets, "body {body:?} re-encoded as {encoded:?}");
});
