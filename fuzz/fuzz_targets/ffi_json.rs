//! The FFI's arguments codec (bindings/ffi/src/json.rs, compiled in from its source): JSON
//! text with `{"_placeholder":true,"num":K}` nodes plus binary attachments, as the Python,
//! Kotlin and Swift packages pass them, and batches of emits.
//!
//! Input: the JSON text, then attachments, each after a `0xFF` (never in UTF-8 text).
//! Checked: no panic; parsed arguments written back and parsed again are the same; the
//! emits of a batch are each JSON text.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../bindings/ffi/src/json.rs"]
mod json;

use ferrio::socketio::Payload;
use json::{args_from_json, split_batch, value_from_json, value_to_json};

/// Arguments written back the way they cross: the core's wire form of values.
fn args_to_json(args: &[ferrio::Value]) -> (String, Vec<Vec<u8>>) {
    let (text, attachments) = Payload::from_values(args).into_parts();
    (text, attachments.into_iter().map(Vec::from).collect())
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xff);
    let Some(Ok(text)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let attachments: Vec<Vec<u8>> = parts.map(<[u8]>::to_vec).collect();

    if let Ok(value) = value_from_json(text, attachments.clone()) {
        let written = value_to_json(&value);
        serde_json::from_str::<serde_json::Value>(&written).expect("written JSON parses");
    }
    if let Ok(args) = args_from_json(text, attachments) {
        let (written, attachments) = args_to_json(&args);
        let plain = attachments.is_empty();
        let again = args_from_json(&written, attachments).expect("written arguments parse");
        assert_eq!(again, args, "{text:?} written as {written:?}");
        if plain {
            let mut named = String::new();
            json::write_named_args(&mut named, "event", &written);
            let again = args_from_json(&named, Vec::new()).expect("written arguments parse");
            assert_eq!(again.len(), args.len() + 1);
        }
    }
    if let Ok(emits) = split_batch(text) {
        // JSON text: numbers out of the f64 range are JSON too (the core checks each
        // emit's shape as it queues it, and forwards its text).
        for emit in emits {
            serde_json::from_str::<serde::de::IgnoredAny>(emit).expect("an emit is JSON");
        }
    }
});
