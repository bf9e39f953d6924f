//! The value model of Socket.IO arguments: JSON plus binary at any depth.
//!
//! Socket.IO carries JSON, except that any node of an argument may be a byte buffer
//! (sent as an attachment behind a placeholder). [`Value`] is that model. Typed payloads
//! go through serde: [`to_value`]/[`to_args`] turn any `Serialize` into values (byte
//! buffers serialized with `serialize_bytes`, such as [`bytes::Bytes`] or `serde_bytes`,
//! become [`Value::Binary`]), and [`from_value`] turns values back into any `Deserialize`.

mod de;
mod json;
mod plain;
mod ser;
mod wire;

use std::collections::BTreeMap;

use bytes::Bytes;

pub use de::from_value;
pub use ser::{to_args, to_value};

/// A JSON object whose values may hold binary.
pub type Map = BTreeMap<String, Value>;

/// One Socket.IO argument: a JSON value in which any node may be binary.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), ferrio::ValueError> {
/// use bytes::Bytes;
/// #[derive(serde::Serialize)]
/// struct Upload {
///     name: &'static str,
///     data: Bytes,
/// }
/// let upload = Upload { name: "a.png", data: Bytes::from_static(&[1, 2, 3]) };
/// let value = ferrio::to_value(&upload)?;
/// assert!(value.contains_binary());
/// assert_eq!(value.get("name").and_then(ferrio::Value::as_str), Some("a.png"));
/// assert_eq!(value.get("data").and_then(ferrio::Value::as_bytes), Some(&upload.data));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`.
    #[default]
    Null,
    /// JSON `true` or `false`.
    Bool(bool),
    /// A JSON number (integer or float), exactly as serde_json keeps it.
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
    /// A byte buffer, sent as a binary attachment.
    Binary(Bytes),
    /// A JSON array.
    Array(Vec<Value>),
    /// A JSON object.
    Object(Map),
}

/// Why a value could not be converted to or from a Rust type.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub(crate) String);

pub use de::from_args;
pub(crate) use json::{write_json, write_str, write_value, BinaryAs};
pub(crate) use plain::write_plain_args;
pub(crate) use wire::from_wire;

/// Proptest strategies for values, shared by the codec tests.
#[cfg(test)]
pub(crate) use json::tests as strategies;

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl From<bool> for Value {
    /// `true`/`false` as [`Value::Bool`].
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i32> for Value {
    /// An integer as [`Value::Number`].
    fn from(v: i32) -> Self {
        Value::Number(v.into())
    }
}

impl From<i64> for Value {
    /// An integer as [`Value::Number`].
    fn from(v: i64) -> Self {
        Value::Number(v.into())
    }
}

impl From<u32> for Value {
    /// An integer as [`Value::Number`].
    fn from(v: u32) -> Self {
        Value::Number(v.into())
    }
}

impl From<u64> for Value {
    /// An integer as [`Value::Number`].
    fn from(v: u64) -> Self {
        Value::Number(v.into())
    }
}

impl From<f64> for Value {
    /// A float as [`Value::Number`]; NaN and infinities become [`Value::Null`], as in JSON.
    fn from(v: f64) -> Self {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

impl From<&str> for Value {
    /// A string as [`Value::String`].
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    /// A string as [`Value::String`].
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<Bytes> for Value {
    /// A byte buffer as [`Value::Binary`].
    fn from(v: Bytes) -> Self {
        Value::Binary(v)
    }
}

impl From<Vec<u8>> for Value {
    /// A byte buffer as [`Value::Binary`] (not an array of numbers).
    fn from(v: Vec<u8>) -> Self {
        Value::Binary(Bytes::from(v))
    }
}

impl From<Vec<Value>> for Value {
    /// A list of values as [`Value::Array`].
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}

impl From<Map> for Value {
    /// A map as [`Value::Object`].
    fn from(v: Map) -> Self {
        Value::Object(v)
    }
}

impl From<serde_json::Value> for Value {
    /// A JSON value, node for node (it holds no binary).
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl Value {
    /// Converts to a plain JSON value.
    ///
    /// # Errors
    /// A [`ValueError`] if any node is [`Value::Binary`], which JSON cannot hold.
    pub fn into_json(self) -> Result<serde_json::Value, ValueError> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Binary(b) => {
                return Err(ValueError(format!(
                    "binary value ({} bytes) cannot be represented as JSON",
                    b.len()
                )))
            }
            Value::Array(a) => serde_json::Value::Array(
                a.into_iter()
                    .map(Value::into_json)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => serde_json::Value::Object(
                o.into_iter()
                    .map(|(k, v)| v.into_json().map(|v| (k, v)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as `u64`, if this is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as `f64` (integers converted, possibly losing precision), if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes, if this is a [`Value::Binary`].
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is a [`Value::Object`].
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The member `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether any node of this value, at any depth, is [`Value::Binary`].
    pub fn contains_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(a) => a.iter().any(Value::contains_binary),
            Value::Object(o) => o.values().any(Value::contains_binary),
            _ => false,
        }
    }
}
