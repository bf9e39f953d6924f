//! Arguments across the boundary: JSON text plus binary attachments.
//!
//! A list of arguments crosses as the JSON text of an array in which every binary node is
//! the placeholder `{"_placeholder":true,"num":K}`, K indexing `attachments` (depth-first,
//! the order in which the text is written), which carries the bytes. This is the Socket.IO
//! wire convention; each language parses the text with its own JSON parser and puts its
//! byte type back in place of the placeholders.

use bytes::Bytes;
use ferrio::socketio::Payload;
use ferrio::Value;
use serde_json::value::RawValue;

/// Why JSON text and attachments are not a valid list of arguments.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JsonError {
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// The arguments must be a JSON array.
    #[error("the arguments must be a JSON array")]
    NotAnArray,
    /// A placeholder names a missing attachment, or is malformed.
    #[error("{0}")]
    Placeholder(String),
}

/// Parses one JSON value, with placeholders replaced by `attachments`.
pub(crate) fn value_from_json(text: &str, attachments: Vec<Vec<u8>>) -> Result<Value, JsonError> {
    let attachments: Vec<Bytes> = attachments.into_iter().map(Bytes::from).collect();
    value_from_json_shared(text, &attachments)
}

/// Parses one JSON value, with placeholders replaced by (cheap copies of) `attachments`.
fn value_from_json_shared(text: &str, attachments: &[Bytes]) -> Result<Value, JsonError> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    if !attachments.is_empty() || contains_placeholder(text.as_bytes()) {
        ferrio::socketio::binary::reconstruct(&mut value, attachments)
            .map_err(|e| JsonError::Placeholder(e.to_string()))?;
    }
    Ok(value)
}

/// Parses a list of arguments: a JSON array, with placeholders replaced by `attachments`.
pub(crate) fn args_from_json(
    text: &str,
    attachments: Vec<Vec<u8>>,
) -> Result<Vec<Value>, JsonError> {
    let attachments: Vec<Bytes> = attachments.into_iter().map(Bytes::from).collect();
    args_from_json_shared(text, &attachments)
}

/// [`args_from_json`] with attachments shared by several texts (an emit batch's).
pub(crate) fn args_from_json_shared(
    text: &str,
    attachments: &[Bytes],
) -> Result<Vec<Value>, JsonError> {
    match value_from_json_shared(text, attachments)? {
        Value::Array(args) => Ok(args),
        _ => Err(JsonError::NotAnArray),
    }
}

/// Appends the JSON text of `[name, ...args]` to `out`, given `args_json`, the JSON text
/// of the array of arguments (an event's payload, copied as it is).
pub(crate) fn write_named_args(out: &mut String, name: &str, args_json: &str) {
    out.push('[');
    write_json_string(out, name);
    let items = args_json
        .trim()
        .strip_prefix('[')
        .and_then(|text| text.strip_suffix(']'))
        .unwrap_or_default()
        .trim();
    if !items.is_empty() {
        out.push(',');
        out.push_str(items);
    }
    out.push(']');
}

/// Appends `text` to `out` as a JSON string literal: as it is between quotes when nothing
/// in it needs escaping (an event name, nearly always), else as serde_json escapes it.
fn write_json_string(out: &mut String, text: &str) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        // Serialising a `str` cannot fail.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

/// Splits the JSON text of an array into the text of each item, in order. The core checks
/// each emit's shape as it queues it.
pub(crate) fn split_batch(text: &str) -> Result<Vec<&str>, JsonError> {
    let emits: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    Ok(emits.into_iter().map(RawValue::get).collect())
}

/// Whether `text` holds the placeholder key (maybe only inside a string: a hint, checked
/// by parsing).
pub(crate) fn contains_placeholder(text: &[u8]) -> bool {
    text.windows(b"_placeholder".len())
        .any(|w| w == b"_placeholder")
}

/// Writes one value as JSON text, binary nodes as placeholders whose bytes are dropped:
/// for diagnostics such as a connect error's `data`.
pub(crate) fn value_to_json(value: &Value) -> String {
    let (text, _) = Payload::from_values(std::slice::from_ref(value)).into_parts();
    // The text of a one-item array: the item is between the brackets.
    text[1..text.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(bytes: &[u8]) -> Value {
        Value::Binary(Bytes::copy_from_slice(bytes))
    }

    /// Arguments in the form they cross in: the core's wire form of values.
    fn args_to_json(args: &[Value]) -> (String, Vec<Vec<u8>>) {
        let (text, attachments) = Payload::from_values(args).into_parts();
        (text, attachments.into_iter().map(Vec::from).collect())
    }

    mod args_from_json {
        use super::*;

        #[test]
        fn parses_an_array_into_one_value_per_argument() {
            let args = args_from_json(r#"["a",1,{"b":[true,null]}]"#, vec![]).unwrap();
            assert_eq!(args.len(), 3);
            assert_eq!(args[0], Value::from("a"));
            assert_eq!(args[1].as_i64(), Some(1));
            assert_eq!(args[2].to_string(), r#"{"b":[true,null]}"#);
        }

        #[test]
        fn puts_attachments_back_in_place_of_nested_placeholders() {
            let text = r#"[{"_placeholder":true,"num":1},{"x":[{"_placeholder":true,"num":0}]}]"#;
            let args = args_from_json(text, vec![vec![1, 2], vec![3]]).unwrap();
            assert_eq!(args[0], bin(&[3]));
            assert_eq!(
                args[1].get("x").unwrap().as_array().unwrap()[0],
                bin(&[1, 2])
            );
        }

        #[test]
        fn rejects_a_placeholder_without_its_attachment() {
            let text = r#"[{"_placeholder":true,"num":2}]"#;
            assert!(matches!(
                args_from_json(text, vec![vec![1]]),
                Err(JsonError::Placeholder(_))
            ));
        }

        #[test]
        fn rejects_text_that_is_not_an_array() {
            assert!(matches!(
                args_from_json(r#"{"a":1}"#, vec![]),
                Err(JsonError::NotAnArray)
            ));
            assert!(matches!(
                args_from_json("\"a\"", vec![]),
                Err(JsonError::NotAnArray)
            ));
        }

        #[test]
        fn rejects_invalid_json() {
            assert!(matches!(
                args_from_json("[1,", vec![]),
                Err(JsonError::Syntax(_))
            ));
            assert!(matches!(
                args_from_json("", vec![]),
                Err(JsonError::Syntax(_))
            ));
        }

        #[test]
        fn keeps_big_integers_and_floats_exact() {
            let args =
                args_from_json("[18446744073709551615,-9223372036854775808,0.5]", vec![]).unwrap();
            assert_eq!(args[0].as_u64(), Some(u64::MAX));
            assert_eq!(args[1].as_i64(), Some(i64::MIN));
            assert_eq!(args[2].as_f64(), Some(0.5));
        }
    }

    mod numbers {
        use super::*;

        /// Fuzzing (fuzz/, ffi_json): serde_json's default float parser may land one step
        /// away from the nearest double, so arguments written back did not read the same.
        #[test]
        fn floats_parse_to_the_nearest_double_and_survive_a_round_trip() {
            for text in [
                "0.9888888888888808889",
                "4.464444e+50",
                "2.2250738585072011e-308",
            ] {
                let args = args_from_json(&format!("[{text}]"), vec![]).unwrap();
                let expected: f64 = text.parse().unwrap();
                assert_eq!(args[0].as_f64().map(f64::to_bits), Some(expected.to_bits()));
                let (written, attachments) = args_to_json(&args);
                assert_eq!(args_from_json(&written, attachments).unwrap(), args);
            }
        }
    }

    mod args_to_json {
        use super::*;

        #[test]
        fn writes_compact_json_without_attachments() {
            let args = args_from_json(r#"["héllo \"q\"",1.5,{"b":null,"a":[]}]"#, vec![]).unwrap();
            let (text, attachments) = args_to_json(&args);
            assert_eq!(text, r#"["héllo \"q\"",1.5,{"a":[],"b":null}]"#);
            assert!(attachments.is_empty());
        }

        #[test]
        fn numbers_placeholders_depth_first_in_writing_order() {
            let mut object = ferrio::Map::new();
            object.insert("deep".into(), Value::Array(vec![bin(&[4, 5])]));
            let args = vec![bin(&[1, 2, 3]), Value::Object(object), bin(&[])];
            let (text, attachments) = args_to_json(&args);
            assert_eq!(
                text,
                r#"[{"_placeholder":true,"num":0},{"deep":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2}]"#
            );
            assert_eq!(attachments, vec![vec![1, 2, 3], vec![4, 5], vec![]]);
        }

        #[test]
        fn writes_no_arguments_as_an_empty_array() {
            assert_eq!(args_to_json(&[]), ("[]".to_owned(), vec![]));
        }

        #[test]
        fn round_trips_through_args_from_json() {
            let args = vec![
                Value::from("x"),
                Value::Array(vec![bin(&[9]), Value::Null, Value::from(-3)]),
                bin(&[0xff, 0]),
            ];
            let (text, attachments) = args_to_json(&args);
            assert_eq!(args_from_json(&text, attachments).unwrap(), args);
        }
    }

    mod value_to_json {
        use super::*;

        #[test]
        fn writes_one_value() {
            let value = value_from_json(r#"{"reason":"denied","code":42}"#, vec![]).unwrap();
            assert_eq!(value_to_json(&value), r#"{"code":42,"reason":"denied"}"#);
        }
    }

    mod json_batches {
        use super::*;

        #[test]
        fn a_batch_splits_into_the_text_of_each_emit_in_order() {
            let emits = split_batch(r#"[["a",1,{"b":2}], ["c"]]"#).unwrap();
            assert_eq!(emits, vec![r#"["a",1,{"b":2}]"#, r#"["c"]"#]);
        }

        #[test]
        fn a_batch_rejects_text_that_is_not_an_array() {
            assert!(matches!(split_batch("[[\"a\"]"), Err(JsonError::Syntax(_))));
            assert!(matches!(split_batch("{}"), Err(JsonError::Syntax(_))));
        }

        #[test]
        fn write_named_args_puts_the_name_before_the_arguments_as_they_are() {
            let mut out = String::new();
            write_named_args(&mut out, "ev\"1", r#"["x",{"k":[1,null],"a":0}]"#);
            assert_eq!(out, r#"["ev\"1","x",{"k":[1,null],"a":0}]"#);
            let mut out = String::new();
            write_named_args(&mut out, "e", " [ ] ");
            assert_eq!(out, r#"["e"]"#);
        }

        proptest::proptest! {
            #[test]
            fn an_event_name_is_written_as_serde_json_writes_it(name in ".*") {
                let mut out = String::new();
                write_json_string(&mut out, &name);
                proptest::prop_assert_eq!(out, serde_json::to_string(&name).unwrap());
            }
        }
    }

    mod round_trip {
        use super::*;
        use proptest::prelude::*;

        fn arb_arg() -> impl Strategy<Value = Value> {
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                ".*".prop_map(Value::from),
                proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_argument_lists_survive_text_and_attachments(
                items in proptest::collection::vec(arb_arg(), 0..8)
            ) {
                let (text, attachments) = args_to_json(&items);
                prop_assert_eq!(args_from_json(&text, attachments).unwrap(), items);
            }
        }
    }
}
