//! Mapping between JSON lines and Socket.IO values: binary is `{"$binary":"BASE64"}`.
//!
//! An object whose only key is `$binary` with a string value is binary, at any depth; any
//! other object (more keys, a non-string value) is an ordinary object.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use ferrio::Value;
use serde_json::Value as Json;

/// The key of the binary marker object.
const BINARY_KEY: &str = "$binary";

/// A JSON value turned into a Socket.IO value, `{"$binary":...}` nodes into bytes.
///
/// # Errors
/// A message when a `$binary` string is not standard base64.
pub fn from_json(json: Json) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => Value::Number(n),
        Json::String(s) => Value::String(s),
        Json::Array(items) => {
            Value::Array(items.into_iter().map(from_json).collect::<Result<_, _>>()?)
        }
        Json::Object(object) => {
            if let Some(encoded) = binary_marker(&object) {
                let bytes = STANDARD
                    .decode(encoded)
                    .map_err(|e| format!("invalid base64 in {BINARY_KEY}: {e}"))?;
                return Ok(Value::Binary(Bytes::from(bytes)));
            }
            Value::Object(
                object
                    .into_iter()
                    .map(|(key, value)| from_json(value).map(|value| (key, value)))
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

/// A Socket.IO value as JSON, bytes as `{"$binary":"BASE64"}`.
pub fn to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Number(n) => Json::Number(n),
        Value::String(s) => Json::String(s),
        Value::Binary(bytes) => {
            let mut object = serde_json::Map::new();
            object.insert(BINARY_KEY.to_owned(), Json::String(STANDARD.encode(bytes)));
            Json::Object(object)
        }
        Value::Array(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Value::Object(object) => Json::Object(
            object
                .into_iter()
                .map(|(key, value)| (key, to_json(value)))
                .collect(),
        ),
    }
}

/// Socket.IO arguments as a JSON array's elements.
pub fn args_to_json(args: Vec<Value>) -> Vec<Json> {
    args.into_iter().map(to_json).collect()
}

/// The base64 text of a `{"$binary":"..."}` object, if `object` is one.
fn binary_marker(object: &serde_json::Map<String, Json>) -> Option<&str> {
    if object.len() != 1 {
        return None;
    }
    object.get(BINARY_KEY)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binary(bytes: &[u8]) -> Value {
        Value::Binary(Bytes::copy_from_slice(bytes))
    }

    mod from_json {
        use super::*;

        #[test]
        fn plain_json_maps_node_for_node() {
            let json = json!({"a": [1, 2.5, "x", null, true], "b": {}});
            assert_eq!(from_json(json.clone()).unwrap(), Value::from(json));
        }

        #[test]
        fn a_lone_binary_key_becomes_bytes_at_any_depth() {
            let json = json!([{"$binary": "AAH/"}, {"deep": [{"$binary": ""}]}]);
            let mut deep = ferrio::Map::new();
            deep.insert("deep".into(), Value::Array(vec![binary(&[])]));
            let expected = Value::Array(vec![binary(&[0, 1, 255]), Value::Object(deep)]);
            assert_eq!(from_json(json).unwrap(), expected);
        }

        #[test]
        fn objects_with_more_keys_or_a_non_string_marker_stay_objects() {
            let json = json!([{"$binary": "AA==", "x": 1}, {"$binary": 5}]);
            let value = from_json(json).unwrap();
            assert!(!value.contains_binary());
            assert_eq!(value.as_array().unwrap().len(), 2);
        }

        #[test]
        fn bad_base64_is_an_error() {
            let error = from_json(json!({"$binary": "not base64!"})).unwrap_err();
            assert!(error.contains("$binary"), "{error}");
        }
    }

    mod to_json {
        use super::*;

        #[test]
        fn bytes_become_standard_padded_base64() {
            assert_eq!(
                to_json(binary(&[0, 1, 255, 7])),
                json!({"$binary": "AAH/Bw=="})
            );
        }

        #[test]
        fn binary_nested_in_objects_and_arrays_is_marked() {
            let mut object = ferrio::Map::new();
            object.insert("bin".into(), Value::Array(vec![binary(&[1, 2, 3])]));
            object.insert("text".into(), "x".into());
            assert_eq!(
                to_json(Value::Object(object)),
                json!({"bin": [{"$binary": "AQID"}], "text": "x"})
            );
        }

        #[test]
        fn values_round_trip_through_json() {
            let json = json!([1, "two", {"three": {"$binary": "AwMD"}}, [null, false, 1.5]]);
            let value = from_json(json.clone()).unwrap();
            assert_eq!(to_json(value), json);
        }

        #[test]
        fn args_map_one_for_one() {
            assert_eq!(
                args_to_json(vec![1.into(), binary(&[9])]),
                vec![json!(1), json!({"$binary": "CQ=="})]
            );
        }
    }
}
