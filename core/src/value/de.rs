//! Serde deserialization of [`Value`] (from JSON text) and from [`Value`] (into any type):
//! [`from_value`] and [`from_args`].

use std::collections::btree_map;
use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::{Map, Value, ValueError};

/// Cap on pre-allocation from an untrusted size hint.
const MAX_PREALLOC: usize = 4096;

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever a deserializer (usually serde_json) reports.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value or a byte buffer")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        if let Ok(u) = u64::try_from(v) {
            Ok(Value::Number(u.into()))
        } else if let Ok(i) = i64::try_from(v) {
            Ok(Value::Number(i.into()))
        } else {
            Err(E::custom("integer does not fit in 64 bits"))
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|u| Value::Number(u.into()))
            .map_err(|_| E::custom("integer does not fit in 64 bits"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(Bytes::from(v)))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Converts a [`Value`] into any deserializable type.
///
/// Objects fill structs and maps, arrays fill sequences, tuples and tuple structs,
/// [`Value::Binary`] fills byte buffers (`Bytes`, `serde_bytes::ByteBuf`, and also a plain
/// `Vec<u8>`), `Null` is `None`, numbers convert to any integer or float type that holds
/// them, and enums are externally tagged (`"Unit"` or `{"Variant": …}`).
///
/// # Examples
/// ```
/// # fn main() -> Result<(), ferrio::ValueError> {
/// let v = ferrio::to_value(&("a", 1))?;
/// let (s, n): (String, u8) = ferrio::from_value(v)?;
/// assert_eq!((s.as_str(), n), ("a", 1));
/// # Ok(()) }
/// ```
/// # Errors
/// A [`ValueError`] when the value does not have the shape `T` expects.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

/// Converts the arguments of an event or an ack into a Rust type, as one array.
///
/// Use a tuple (`(String, u32)`), a tuple struct, or a `Vec<T>`. A single argument is a
/// one-element tuple (`(String,)`). Trailing arguments beyond those a tuple asks for are
/// ignored, as a JavaScript handler ignores extra arguments.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), ferrio::ValueError> {
/// let args = vec![ferrio::Value::from("lobby"), ferrio::Value::from(3)];
/// let (room, n): (String, u32) = ferrio::value::from_args(args)?;
/// assert_eq!((room.as_str(), n), ("lobby", 3));
/// # Ok(()) }
/// ```
/// # Errors
/// A [`ValueError`] when the arguments do not have the shape `T` expects (too few, or
/// of the wrong type).
pub fn from_args<T: DeserializeOwned>(args: Vec<Value>) -> Result<T, ValueError> {
    T::deserialize(ArgsDeserializer(args))
}

fn invalid_type(value: &Value, exp: &dyn de::Expected) -> ValueError {
    de::Error::invalid_type(unexpected(value), exp)
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                de::Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                de::Unexpected::Signed(i)
            } else {
                de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => de::Unexpected::Str(s),
        Value::Binary(b) => de::Unexpected::Bytes(b),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::Array(a) => visit_array(a, visitor, true),
            Value::Object(o) => visit_object(o, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Binary(b) => {
                let mut seq = ByteSeq { bytes: b, pos: 0 };
                let out = visitor.visit_seq(&mut seq)?;
                if seq.pos == seq.bytes.len() {
                    Ok(out)
                } else {
                    Err(de::Error::invalid_length(
                        seq.bytes.len(),
                        &"fewer bytes in the buffer",
                    ))
                }
            }
            Value::Array(a) => visit_array(a, visitor, true),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumDeserializer {
                variant,
                value: None,
            }),
            Value::Object(o) if o.len() == 1 => {
                let mut entries = o.into_iter();
                match entries.next() {
                    Some((variant, value)) => visitor.visit_enum(EnumDeserializer {
                        variant,
                        value: Some(value),
                    }),
                    None => Err(de::Error::custom("enum object has no variant")),
                }
            }
            Value::Object(_) => Err(de::Error::invalid_value(
                de::Unexpected::Map,
                &"a map with exactly one key (the variant)",
            )),
            other => Err(invalid_type(&other, &"a string or a single-key object")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        drop(self);
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct map struct identifier
    }
}

impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    array: Vec<Value>,
    visitor: V,
    strict: bool,
) -> Result<V::Value, ValueError> {
    let len = array.len();
    let mut seq = SeqDeserializer {
        iter: array.into_iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    if strict && seq.iter.len() != 0 {
        return Err(de::Error::invalid_length(len, &"fewer elements in array"));
    }
    Ok(out)
}

fn visit_object<'de, V: Visitor<'de>>(object: Map, visitor: V) -> Result<V::Value, ValueError> {
    let len = object.len();
    let mut map = MapDeserializer {
        iter: object.into_iter(),
        value: None,
    };
    let out = visitor.visit_map(&mut map)?;
    if map.iter.len() != 0 {
        return Err(de::Error::invalid_length(len, &"fewer elements in map"));
    }
    Ok(out)
}

/// Hands out the elements of an array.
struct SeqDeserializer {
    iter: std::vec::IntoIter<Value>,
}

impl<'de> SeqAccess<'de> for SeqDeserializer {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.iter.next().map(|v| seed.deserialize(v)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Hands out the bytes of a [`Value::Binary`] as a sequence of `u8`.
struct ByteSeq {
    bytes: Bytes,
    pos: usize,
}

impl<'de> SeqAccess<'de> for ByteSeq {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                seed.deserialize(b.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len() - self.pos)
    }
}

/// Hands out the entries of an object.
struct MapDeserializer {
    iter: btree_map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapDeserializer {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("map value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key: a string that also reads as a number or a bool when the target
/// type asks for one (the keys [`to_value`](super::to_value) wrote from such types).
struct KeyDeserializer(String);

macro_rules! parse_key {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$ty>() {
                Ok(v) => visitor.$visit(v),
                Err(_) => visitor.visit_string(self.0),
            }
        })*
    };
}

impl<'de> Deserializer<'de> for KeyDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_string(self.0)
    }

    parse_key! {
        deserialize_bool => visit_bool: bool,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_enum(EnumDeserializer {
            variant: self.0,
            value: None,
        })
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

/// An externally tagged enum: the variant name and, unless it is a unit variant, its content.
struct EnumDeserializer {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumDeserializer {
    type Error = ValueError;
    type Variant = VariantDeserializer;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDeserializer), ValueError> {
        let variant: de::value::StringDeserializer<ValueError> = self.variant.into_deserializer();
        let tag = seed.deserialize(variant)?;
        Ok((tag, VariantDeserializer(self.value)))
    }
}

/// The content of an enum variant.
struct VariantDeserializer(Option<Value>);

impl<'de> VariantAccess<'de> for VariantDeserializer {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(invalid_type(&other, &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        match self.0 {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(a)) => visit_array(a, visitor, true),
            Some(other) => Err(invalid_type(&other, &"tuple variant")),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(o)) => visit_object(o, visitor),
            Some(Value::Array(a)) => visit_array(a, visitor, true),
            Some(other) => Err(invalid_type(&other, &"struct variant")),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

/// The deserializer behind [`from_args`]: the arguments as one array, where a tuple may
/// leave trailing arguments unread.
struct ArgsDeserializer(Vec<Value>);

macro_rules! args_as_array {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            Value::Array(self.0).$method(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for ArgsDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visit_array(self.0, visitor, true)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visit_array(self.0, visitor, false)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visit_array(self.0, visitor, false)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        Value::Array(self.0).deserialize_unit_struct(name, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        Value::Array(self.0).deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        Value::Array(self.0).deserialize_enum(name, variants, visitor)
    }

    args_as_array! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_option,
        deserialize_unit, deserialize_seq, deserialize_map, deserialize_identifier,
        deserialize_ignored_any,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::value::{to_args, to_value};

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Message {
        room: String,
        seq: u32,
        score: f64,
        tags: Vec<String>,
        reply_to: Option<u64>,
        blob: Bytes,
        plain: Vec<u8>,
        counts: HashMap<u32, i8>,
        shape: Shape,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: u8, h: u8 },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(String, u32);

    #[test]
    fn parses_json_text_into_values() {
        let v: Value = serde_json::from_str(r#"{"a":[1,-2,3.5,true,null,"x"]}"#).unwrap();
        let a = v.get("a").and_then(Value::as_array).unwrap();
        assert_eq!(a[0].as_u64(), Some(1));
        assert_eq!(a[1].as_i64(), Some(-2));
        assert_eq!(a[2].as_f64(), Some(3.5));
        assert_eq!(a[3].as_bool(), Some(true));
        assert!(a[4].is_null());
        assert_eq!(a[5].as_str(), Some("x"));
    }

    #[test]
    fn parses_json_array_text_into_a_vec_of_values() {
        let v: Vec<Value> = serde_json::from_str(r#"["a",{"b":1}]"#).unwrap();
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn round_trips_a_struct_with_every_kind_of_field() {
        let m = Message {
            room: "lobby".into(),
            seq: 7,
            score: -0.25,
            tags: vec!["a".into()],
            reply_to: Some(9),
            blob: Bytes::from_static(&[1, 2, 3]),
            plain: vec![4, 5],
            counts: [(1, -1), (20, 2)].into_iter().collect(),
            shape: Shape::Rect { w: 1, h: 2 },
        };
        let v = to_value(&m).unwrap();
        assert!(v.contains_binary());
        assert_eq!(from_value::<Message>(v).unwrap(), m);
    }

    #[test]
    fn binary_deserializes_as_byte_vec_and_bytes() {
        let v = Value::Binary(Bytes::from_static(&[7, 8]));
        assert_eq!(from_value::<Vec<u8>>(v.clone()).unwrap(), vec![7, 8]);
        assert_eq!(
            from_value::<Bytes>(v.clone()).unwrap(),
            Bytes::from_static(&[7, 8])
        );
        assert_eq!(from_value::<Value>(v.clone()).unwrap(), v);
    }

    #[test]
    fn json_array_of_numbers_deserializes_as_byte_vec() {
        assert_eq!(from_value::<Vec<u8>>(json("[1,2]")).unwrap(), vec![1, 2]);
    }

    #[test]
    fn enums_deserialize_from_string_or_single_key_object() {
        assert_eq!(
            from_value::<Shape>(json(r#""Empty""#)).unwrap(),
            Shape::Empty
        );
        assert_eq!(
            from_value::<Shape>(json(r#"{"Circle":2}"#)).unwrap(),
            Shape::Circle(2.0)
        );
        assert_eq!(
            from_value::<Shape>(json(r#"{"Pair":[1,2]}"#)).unwrap(),
            Shape::Pair(1, 2)
        );
        assert!(from_value::<Shape>(json(r#"{"Pair":[1,2],"Empty":null}"#)).is_err());
        assert!(from_value::<Shape>(json(r#"{"Nope":1}"#)).is_err());
        assert!(from_value::<Shape>(json("3")).is_err());
    }

    #[test]
    fn numbers_convert_to_any_integer_or_float_that_holds_them() {
        assert_eq!(from_value::<u8>(json("255")).unwrap(), 255);
        assert!(from_value::<u8>(json("256")).is_err());
        assert_eq!(from_value::<i16>(json("-3")).unwrap(), -3);
        assert_eq!(from_value::<f32>(json("3")).unwrap(), 3.0);
        assert_eq!(from_value::<i128>(json("-9")).unwrap(), -9);
        assert!(from_value::<u32>(json("1.5")).is_err());
    }

    #[test]
    fn null_is_none_and_other_values_are_some() {
        assert_eq!(from_value::<Option<u8>>(Value::Null).unwrap(), None);
        assert_eq!(from_value::<Option<u8>>(json("1")).unwrap(), Some(1));
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        assert!(from_value::<String>(json("1")).is_err());
        assert!(from_value::<Vec<u8>>(json(r#""x""#)).is_err());
        assert!(from_value::<(u8, u8)>(json("[1,2,3]")).is_err());
        assert!(from_value::<Message>(json("{}")).is_err());
        assert!(from_value::<serde_json::Value>(Value::Binary(Bytes::new())).is_err());
    }

    #[test]
    fn args_deserialize_into_a_tuple() {
        let args = vec![Value::from("a"), Value::from(1u32)];
        assert_eq!(
            from_args::<(String, u32)>(args).unwrap(),
            ("a".to_owned(), 1)
        );
    }

    #[test]
    fn args_deserialize_into_a_tuple_struct_or_vec() {
        let args = vec![Value::from("a"), Value::from(1u32)];
        assert_eq!(
            from_args::<Pair>(args.clone()).unwrap(),
            Pair("a".into(), 1)
        );
        assert_eq!(from_args::<Vec<Value>>(args.clone()).unwrap(), args);
    }

    #[test]
    fn args_beyond_what_the_tuple_asks_for_are_ignored() {
        let args = vec![Value::from("a"), Value::from(1u32), Value::Null];
        assert_eq!(from_args::<(String,)>(args).unwrap(), ("a".to_owned(),));
    }

    #[test]
    fn too_few_args_are_an_error() {
        assert!(from_args::<(String, u32)>(vec![Value::from("a")]).is_err());
        assert!(from_args::<(String,)>(vec![]).is_err());
    }

    #[test]
    fn json_values_convert_both_ways() {
        let j: serde_json::Value = serde_json::from_str(r#"{"a":[1,"x",null,2.5]}"#).unwrap();
        let v = Value::from(j.clone());
        assert_eq!(v.clone().into_json().unwrap(), j);
        assert_eq!(from_value::<serde_json::Value>(v).unwrap(), j);
        let b = Value::Array(vec![Value::from(vec![1u8])]);
        assert!(b.into_json().is_err());
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        id: u64,
        delta: i64,
        ratio: f64,
        flag: bool,
        maybe: Option<i32>,
        list: Vec<u16>,
        map: BTreeMap<String, u8>,
        keyed: BTreeMap<i32, bool>,
        raw: Bytes,
        nested: Vec<(String, Option<Bytes>)>,
        shape: Shape,
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Empty),
            (-1e9f64..1e9).prop_map(Shape::Circle),
            (any::<i32>(), any::<i32>()).prop_map(|(a, b)| Shape::Pair(a, b)),
            (any::<u8>(), any::<u8>()).prop_map(|(w, h)| Shape::Rect { w, h }),
        ]
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (
            (
                ".*",
                any::<u64>(),
                any::<i64>(),
                -1e12f64..1e12,
                any::<bool>(),
            ),
            (
                any::<Option<i32>>(),
                prop::collection::vec(any::<u16>(), 0..5),
                prop::collection::btree_map(".*", any::<u8>(), 0..4),
                prop::collection::btree_map(any::<i32>(), any::<bool>(), 0..4),
            ),
            (
                prop::collection::vec(any::<u8>(), 0..16),
                prop::collection::vec(
                    (
                        ".*",
                        prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
                    ),
                    0..3,
                ),
                shape(),
            ),
        )
            .prop_map(
                |(
                    (name, id, delta, ratio, flag),
                    (maybe, list, map, keyed),
                    (raw, nested, shape),
                )| {
                    Sample {
                        name,
                        id,
                        delta,
                        ratio,
                        flag,
                        maybe,
                        list,
                        map,
                        keyed,
                        raw: Bytes::from(raw),
                        nested: nested
                            .into_iter()
                            .map(|(s, b)| (s, b.map(Bytes::from)))
                            .collect(),
                        shape,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn serde_types_round_trip_through_values(s in sample()) {
            let v = to_value(&s).unwrap();
            prop_assert_eq!(from_value::<Sample>(v).unwrap(), s);
        }

        #[test]
        fn tuples_round_trip_through_args(a in ".*", b in any::<i64>(), c in prop::collection::vec(any::<u8>(), 0..8)) {
            let args = to_args(&(a.clone(), b, Bytes::from(c.clone()))).unwrap();
            prop_assert_eq!(args.len(), 3);
            let back: (String, i64, Bytes) = from_args(args).unwrap();
            prop_assert_eq!(back, (a, b, Bytes::from(c)));
        }

        #[test]
        fn json_text_parses_like_serde_json(j in crate::value::strategies::arb_json()) {
            let text = serde_json::to_string(&j).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(v, Value::from(j));
        }
    }
}
