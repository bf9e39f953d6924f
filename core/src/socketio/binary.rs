//! Binary attachments: counting them for the header and putting them back in place of
//! their placeholders. (Replacing binary by placeholders is done by the JSON writer.)

use bytes::Bytes;

use super::packet::DecodeError;
use crate::value::Value;

/// How many [`Value::Binary`] nodes `value` holds at any depth: the attachment count of
/// the packet that carries it.
pub fn attachment_count(value: &Value) -> usize {
    match value {
        Value::Binary(_) => 1,
        Value::Array(a) => a.iter().map(attachment_count).sum(),
        Value::Object(o) => o.values().map(attachment_count).sum(),
        _ => 0,
    }
}

/// Replaces every placeholder object `{"_placeholder":true,"num":K}`, at any depth, by
/// `Value::Binary(attachments[K])`.
///
/// An object counts as a placeholder when its `_placeholder` member is `true`, as in the
/// reference parser. Attachments that no placeholder names are ignored.
///
/// # Errors
/// [`DecodeError::InvalidPlaceholder`] if a placeholder's `num` is missing, not a
/// non-negative integer, or not less than `attachments.len()`.
pub fn reconstruct(value: &mut Value, attachments: &[Bytes]) -> Result<(), DecodeError> {
    match value {
        Value::Object(o) if o.get("_placeholder") == Some(&Value::Bool(true)) => {
            let bytes = match o.get("num") {
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(k) => usize::try_from(k)
                        .ok()
                        .and_then(|k| attachments.get(k))
                        .ok_or(DecodeError::InvalidPlaceholder(
                            "attachment number out of range",
                        ))?,
                    None => {
                        return Err(DecodeError::InvalidPlaceholder(
                            "attachment number is not a non-negative integer",
                        ))
                    }
                },
                Some(_) => {
                    return Err(DecodeError::InvalidPlaceholder(
                        "attachment number is not a number",
                    ))
                }
                None => {
                    return Err(DecodeError::InvalidPlaceholder(
                        "placeholder has no attachment number",
                    ))
                }
            };
            *value = Value::Binary(bytes.clone());
            Ok(())
        }
        Value::Object(o) => o.values_mut().try_for_each(|v| reconstruct(v, attachments)),
        Value::Array(a) => a.iter_mut().try_for_each(|v| reconstruct(v, attachments)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn bufs() -> Vec<Bytes> {
        vec![Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4, 5])]
    }

    #[test]
    fn counts_binary_at_any_depth() {
        let v = Value::Array(vec![
            Value::from(vec![1u8]),
            json(r#"{"a":[1,2]}"#),
            Value::Array(vec![Value::from(vec![2u8]), Value::from(vec![3u8])]),
        ]);
        assert_eq!(attachment_count(&v), 3);
        assert_eq!(attachment_count(&json(r#"["a",{"b":null}]"#)), 0);
    }

    #[test]
    fn replaces_nested_placeholders() {
        let mut v = json(
            r#"["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}},[{"_placeholder":true,"num":0}]]"#,
        );
        reconstruct(&mut v, &bufs()).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[1], Value::Binary(bufs()[0].clone()));
        assert_eq!(a[2].get("nested"), Some(&Value::Binary(bufs()[1].clone())));
        assert_eq!(
            a[3].as_array().unwrap()[0],
            Value::Binary(bufs()[0].clone())
        );
    }

    #[test]
    fn leaves_objects_whose_placeholder_flag_is_not_true() {
        let text = r#"[{"_placeholder":false,"num":0},{"_placeholder":"true","num":0},{"num":0}]"#;
        let mut v = json(text);
        reconstruct(&mut v, &bufs()).unwrap();
        assert_eq!(v, json(text));
    }

    #[test]
    fn rejects_placeholder_with_bad_num() {
        for text in [
            r#"{"_placeholder":true}"#,
            r#"{"_placeholder":true,"num":"0"}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":0.5}"#,
            r#"{"_placeholder":true,"num":2}"#,
            r#"{"_placeholder":true,"num":18446744073709551615}"#,
            r#"[[{"_placeholder":true,"num":null}]]"#,
        ] {
            let mut v = json(text);
            assert!(
                matches!(
                    reconstruct(&mut v, &bufs()),
                    Err(DecodeError::InvalidPlaceholder(_))
                ),
                "{text}"
            );
        }
    }
}
