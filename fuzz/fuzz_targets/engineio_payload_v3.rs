//! One Engine.IO v3 polling payload (a GET response body from a Socket.IO 2.x server:
//! `<length>:<packet>`, lengths in UTF-16 code units, binary as `b4<base64>`), through the
//! client's lazy decoder (`Payload` in v3's framing, with a packet cap, reached through
//! `ferrio::fuzzing`) and through the same decoder taking the whole body.
//!
//! Checked: no panic; the capped decoder yields exactly the packets of the whole decode,
//! stops at the first bad one, keeps its count and cap; both agree with a reference
//! written here from the protocol's rules (lengths counted on the body's UTF-16 form);
//! decoded packets framed again decode to the same packets; error texts stay short.
#![no_main]

use base64::Engine as _;
use ferrio::engineio::{EngineDecodeError, EnginePacket};
use ferrio::fuzzing::payload_v3;
use libfuzzer_sys::fuzz_target;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

/// A small cap, so that both sides of it are reached.
const MAX_PACKETS: usize = 16;

/// The longest length prefix the client reads (no body it takes needs more digits).
const MAX_DIGITS: usize = 12;

/// The packets' texts as the protocol frames them, or the index of the first length
/// prefix that frames no packet.
fn reference_frames(body: &str) -> Result<Vec<&str>, usize> {
    let mut texts = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let bad = texts.len();
        let (digits, after) = rest.split_once(':').ok_or(bad)?;
        if digits.is_empty()
            || digits.len() > MAX_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad);
        }
        let units: usize = digits.parse().map_err(|_| bad)?;
        let taken: Vec<u16> = after.encode_utf16().take(units).collect();
        if units == 0 || taken.len() < units {
            return Err(bad);
        }
        // A length that cuts a surrogate pair frames no text.
        let text = String::from_utf16(&taken).map_err(|_| bad)?;
        let (text, next) = after.split_at(text.len());
        texts.push(text);
        rest = next;
    }
    Ok(texts)
}

/// One packet's text as v3 writes it: binary as `b4<base64>`, the rest as in v4.
fn reference_packet(text: &str) -> Result<EnginePacket, ()> {
    match text.strip_prefix('b') {
        // v4's binary form carries the same base64 after a lone `b`.
        Some(rest) => match rest.strip_prefix('4') {
            Some(data) => EnginePacket::decode_text(&format!("b{data}")).map_err(|_| ()),
            None => Err(()),
        },
        None => EnginePacket::decode_text(text).map_err(|_| ()),
    }
}

fn check_error(error: &EngineDecodeError) {
    assert!(error.to_string().len() <= MAX_ERROR_TEXT, "{error}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };

    // The whole body, as one decode: the packets, or the error that ends them.
    let whole = payload_v3(body.to_owned(), usize::MAX).map(|payload| {
        let mut packets = Vec::new();
        let mut error = None;
        for packet in payload {
            assert!(error.is_none(), "a packet after an error");
            match packet {
                Ok(packet) => packets.push(packet),
                Err(e) => {
                    check_error(&e);
                    error = Some(e);
                }
            }
        }
        (packets, error)
    });

    // The reference: framing first (the decoder checks every length before any packet),
    // then the packets up to the first bad one.
    let frames = reference_frames(body);
    match (&whole, &frames) {
        (Err(EngineDecodeError::EmptyPayload), _) => assert!(body.is_empty()),
        (Err(EngineDecodeError::BadLength), Err(_)) => {}
        (Ok((packets, error)), Ok(texts)) => {
            let expected: Vec<_> = texts
                .iter()
                .map(|text| reference_packet(text))
                .take_while(Result::is_ok)
                .flatten()
                .collect();
            assert_eq!(packets, &expected, "body {body:?}");
            assert_eq!(error.is_some(), expected.len() < texts.len());
        }
        (whole, frames) => panic!("body {body:?}: decoded {whole:?}, framed {frames:?}"),
    }
    if let Err(error) = &whole {
        check_error(error);
    }

    // The client's decoder, capped.
    match payload_v3(body.to_owned(), MAX_PACKETS) {
        Ok(mut payload) => {
            let count = payload.len();
            assert!((1..=MAX_PACKETS).contains(&count), "{count} packets");
            assert_eq!(payload.body_len(), body.len());
            let mut taken = Vec::new();
            let mut failed = false;
            while let Some(packet) = payload.next() {
                assert!(!failed, "a packet after an error");
                assert!(taken.len() < count, "more packets than counted");
                match packet {
                    Ok(packet) => taken.push(packet),
                    Err(error) => {
                        check_error(&error);
                        failed = true;
                    }
                }
                assert!(payload.size_hint().1 == Some(payload.len()));
            }
            assert!(payload.is_empty());
            let (packets, error) = whole.as_ref().expect("the whole body decodes too");
            assert_eq!(&taken, packets);
            assert_eq!(failed, error.is_some());
            assert_eq!(frames.map(|t| t.len()), Ok(count));
        }
        Err(EngineDecodeError::TooManyPackets { count, max }) => {
            assert_eq!(max, MAX_PACKETS);
            // Counting stops at the first packet over the cap: the rest is never scanned.
            assert_eq!(count, MAX_PACKETS + 1);
            match frames {
                Ok(texts) => assert!(texts.len() > MAX_PACKETS),
                Err(bad) => assert!(bad > MAX_PACKETS),
            }
        }
        Err(error) => {
            check_error(&error);
            assert!(whole.is_err(), "{error} under the cap only");
            match frames {
                Ok(_) => assert!(body.is_empty()),
                Err(bad) => assert!(bad <= MAX_PACKETS),
            }
        }
    }

    // Framed again, the packets decode to themselves.
    let Ok((packets, _)) = whole else {
        return;
    };
    let mut encoded = String::new();
    let mut text = String::new();
    for packet in &packets {
        text.clear();
        match packet {
            EnginePacket::Binary(bytes) => {
                text.push_str("b4");
                base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut text);
            }
            packet => packet.encode_text(&mut text),
        }
        encoded.push_str(&format!("{}:{text}", text.encode_utf16().count()));
    }
    if packets.is_empty() {
        return;
    }
    let again: Result<Vec<_>, _> = payload_v3(encoded.clone(), usize::MAX)
        .expect("a framed payload")
        .collect();
    assert_eq!(
        again.expect("framed packets decode"),
        packets,
        "body {body:?} framed again as {encoded:?}"
    );
});
