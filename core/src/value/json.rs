//! Compact JSON writer for [`Value`], byte for byte what serde_json writes, with binary
//! nodes turned into Socket.IO attachment placeholders.

use std::fmt::{self, Write as _};

use bytes::Bytes;

use super::Value;

/// What to write for a [`Value::Binary`] node.
pub(crate) enum BinaryAs<'a> {
    /// `{"_placeholder":true,"num":K}`, pushing the bytes to the list (K = its length before).
    Placeholder(&'a mut Vec<Bytes>),
    /// `{"type":"Buffer","data":[1,2,3]}`, what Node's `JSON.stringify` writes for a Buffer.
    NodeBuffer,
    /// `{"_binary":LEN}`, a short summary for display.
    Summary,
}

/// Appends `value` to `out` as compact JSON, exactly as serde_json would write it, except
/// that each [`Value::Binary`] becomes `{"_placeholder":true,"num":K}` where K is
/// `attachments.len()` before its bytes are pushed (depth-first, arrays in order, objects
/// in key order).
pub(crate) fn write_json(value: &Value, out: &mut String, attachments: &mut Vec<Bytes>) {
    write_value(value, out, &mut BinaryAs::Placeholder(attachments));
}

/// Appends `value` to `out` as compact JSON, writing binary nodes as `binary` says.
pub(crate) fn write_value(value: &Value, out: &mut String, binary: &mut BinaryAs<'_>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(s, out),
        Value::Binary(b) => match binary {
            BinaryAs::Placeholder(attachments) => {
                let _ = write!(
                    out,
                    r#"{{"_placeholder":true,"num":{}}}"#,
                    attachments.len()
                );
                attachments.push(b.clone());
            }
            BinaryAs::NodeBuffer => {
                out.push_str(r#"{"type":"Buffer","data":["#);
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{byte}");
                }
                out.push_str("]}");
            }
            BinaryAs::Summary => {
                let _ = write!(out, r#"{{"_binary":{}}}"#, b.len());
            }
        },
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(v, out, binary);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_value(v, out, binary);
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal with serde_json's escaping: `"` and `\` escaped, the
/// C0 controls as `\b \t \n \f \r` or `\u00xx` (lowercase hex), everything else verbatim.
pub(crate) fn write_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\x08' => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            b'\x0c' => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, hence a char boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl fmt::Display for Value {
    /// Compact JSON, with each binary node shown as `{"_binary":<length in bytes>}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_value(self, &mut out, &mut BinaryAs::Summary);
        f.write_str(&out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::Map;

    /// Floats that survive a JSON text round trip exactly (serde_json's default parser
    /// is not correctly rounded for every input).
    fn arb_float() -> impl Strategy<Value = f64> {
        (-1_000_000i32..1_000_000, 0u32..8).prop_map(|(m, e)| f64::from(m) / f64::from(1u32 << e))
    }

    fn arb_number() -> impl Strategy<Value = serde_json::Number> {
        prop_oneof![
            any::<i64>().prop_map(serde_json::Number::from),
            any::<u64>().prop_map(serde_json::Number::from),
            arb_float().prop_filter_map("finite", serde_json::Number::from_f64),
        ]
    }

    /// Object keys; too short to ever be `_placeholder`.
    fn arb_key() -> impl Strategy<Value = String> {
        ".{0,8}"
    }

    /// Any JSON value (no binary).
    pub(crate) fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            arb_number().prop_map(serde_json::Value::Number),
            ".*".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(arb_key(), inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Any [`Value`], with binary nodes (possibly empty) at any depth.
    pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            arb_number().prop_map(Value::Number),
            ".*".prop_map(Value::String),
            prop::collection::vec(any::<u8>(), 0..12).prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(arb_key(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map>())),
            ]
        })
    }

    fn placeholder(n: u64) -> serde_json::Value {
        serde_json::json!({"_placeholder": true, "num": n})
    }

    /// The serde_json value of `v` with binary nodes replaced by numbered placeholders.
    fn deconstructed(v: &Value, next: &mut u64) -> serde_json::Value {
        match v {
            Value::Binary(_) => {
                let p = placeholder(*next);
                *next += 1;
                p
            }
            Value::Array(a) => a.iter().map(|v| deconstructed(v, next)).collect(),
            Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), deconstructed(v, next)))
                    .collect(),
            ),
            other => other.clone().into_json().unwrap(),
        }
    }

    fn write(v: &Value) -> (String, Vec<Bytes>) {
        let mut out = String::new();
        let mut attachments = Vec::new();
        write_json(v, &mut out, &mut attachments);
        (out, attachments)
    }

    #[test]
    fn writes_compact_json() {
        let v: Value =
            serde_json::from_str(r#" { "b" : [1, -2, 2.5, true, null], "a" : "x" } "#).unwrap();
        assert_eq!(write(&v).0, r#"{"a":"x","b":[1,-2,2.5,true,null]}"#);
    }

    #[test]
    fn escapes_strings_like_serde_json() {
        let s = "q\" b\\ \u{8}\u{c}\n\r\t \u{0}\u{1f}\u{1e} \u{7f} é 😀 </script>";
        let v = Value::from(s);
        assert_eq!(write(&v).0, serde_json::to_string(s).unwrap());
        assert!(write(&v).0.contains("\\u001e"));
    }

    #[test]
    fn numbers_binary_placeholders_depth_first_in_key_order() {
        let mut inner = Map::new();
        inner.insert("z".into(), Value::from(vec![3u8]));
        inner.insert("a".into(), Value::from(vec![2u8]));
        let v = Value::Array(vec![
            Value::from("ev"),
            Value::from(vec![1u8]),
            Value::Object(inner),
            Value::from(vec![4u8]),
        ]);
        let (text, attachments) = write(&v);
        assert_eq!(
            text,
            r#"["ev",{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1},"z":{"_placeholder":true,"num":2}},{"_placeholder":true,"num":3}]"#
        );
        let firsts: Vec<u8> = attachments.iter().map(|b| b[0]).collect();
        assert_eq!(firsts, vec![1, 2, 3, 4]);
    }

    #[test]
    fn placeholders_continue_numbering_from_existing_attachments() {
        let mut attachments = vec![Bytes::from_static(b"x")];
        let mut out = String::new();
        write_json(&Value::from(vec![9u8]), &mut out, &mut attachments);
        assert_eq!(out, r#"{"_placeholder":true,"num":1}"#);
        assert_eq!(attachments.len(), 2);
    }

    #[test]
    fn node_buffer_form_lists_the_bytes() {
        let mut out = String::new();
        write_value(
            &Value::from(vec![1u8, 255]),
            &mut out,
            &mut BinaryAs::NodeBuffer,
        );
        assert_eq!(out, r#"{"type":"Buffer","data":[1,255]}"#);
    }

    #[test]
    fn display_is_compact_json_with_binary_summarized() {
        let v = Value::Array(vec![Value::from("a"), Value::from(vec![0u8; 5])]);
        assert_eq!(v.to_string(), r#"["a",{"_binary":5}]"#);
        assert_eq!(Value::from(f64::NAN).to_string(), "null");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn strings_are_written_exactly_as_serde_json_writes_them(s in any::<String>()) {
            let mut out = String::new();
            write_str(&s, &mut out);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn json_is_written_exactly_as_serde_json_writes_it(j in arb_json()) {
            let (text, attachments) = write(&Value::from(j.clone()));
            prop_assert!(attachments.is_empty());
            prop_assert_eq!(text, serde_json::to_string(&j).unwrap());
        }

        #[test]
        fn binary_becomes_placeholders_in_encounter_order(v in arb_value()) {
            let (text, attachments) = write(&v);
            let mut next = 0;
            let expected = deconstructed(&v, &mut next);
            prop_assert_eq!(&text, &serde_json::to_string(&expected).unwrap());
            prop_assert_eq!(attachments.len() as u64, next);
        }
    }
}
