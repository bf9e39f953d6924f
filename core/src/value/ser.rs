//! Serde serialization into [`Value`]: `Serialize for Value`, [`to_value`] and [`to_args`].

use bytes::Bytes;
use serde::ser::{self, Impossible, Serialize};

use super::{Map, Value, ValueError};

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Binary(b) => serializer.serialize_bytes(b),
            Value::Array(a) => serializer.collect_seq(a),
            Value::Object(o) => serializer.collect_map(o),
        }
    }
}

/// Converts any serde type into a [`Value`].
///
/// Structs and maps become objects, sequences and tuples arrays, `Option::None` and `()`
/// null; byte buffers serialized with `serialize_bytes` (such as [`bytes::Bytes`] or
/// `serde_bytes`) become [`Value::Binary`]. Enums are externally tagged, as in serde_json
/// (`"Unit"`, `{"Newtype":…}`, `{"Tuple":[…]}`, `{"Struct":{…}}`).
///
/// # Examples
/// ```
/// # fn main() -> Result<(), ferrio::ValueError> {
/// let v = ferrio::to_value(&("a", 1))?;
/// assert_eq!(v.to_string(), r#"["a",1]"#);
/// # Ok(()) }
/// ```
/// # Errors
/// A [`ValueError`] if a map key is not a string, number, bool or char, if an
/// `i128`/`u128` does not fit in 64 bits, or if the type's `Serialize` fails.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

/// Converts a serde value into the argument list of an emit or an ack.
///
/// The rule: a top-level **tuple** gives one argument per element (`("a", 1)` → two
/// arguments), `()` gives no argument, and anything else gives exactly **one** argument:
/// a struct, a string, a [`Value`], and also a `Vec` (one array argument) or a tuple
/// struct. To send several arguments whose number is only known at run time, build a
/// `Vec<Value>` yourself.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), ferrio::ValueError> {
/// assert_eq!(ferrio::to_args(&("a", 1))?.len(), 2);
/// assert_eq!(ferrio::to_args(&vec![1, 2, 3])?.len(), 1);
/// assert!(ferrio::to_args(&())?.is_empty());
/// # Ok(()) }
/// ```
/// # Errors
/// As [`to_value`].
pub fn to_args<T: Serialize + ?Sized>(value: &T) -> Result<Vec<Value>, ValueError> {
    value.serialize(ArgsSerializer)
}

fn key_error() -> ValueError {
    ValueError("map key must be a string, number, bool or char".to_owned())
}

fn int128_error() -> ValueError {
    ValueError("integer does not fit in 64 bits".to_owned())
}

/// The serializer behind [`to_value`].
struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantMapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        if let Ok(u) = u64::try_from(v) {
            Ok(Value::Number(u.into()))
        } else if let Ok(i) = i64::try_from(v) {
            Ok(Value::Number(i.into()))
        } else {
            Err(int128_error())
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        u64::try_from(v)
            .map(|u| Value::Number(u.into()))
            .map_err(|_| int128_error())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::from(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Binary(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        let mut map = Map::new();
        map.insert(variant.to_owned(), to_value(value)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0).min(4096))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeqBuilder, ValueError> {
        Ok(VariantSeqBuilder {
            variant,
            seq: self.serialize_seq(Some(len))?,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder {
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, ValueError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMapBuilder, ValueError> {
        Ok(VariantMapBuilder {
            variant,
            map: self.serialize_map(Some(len))?,
        })
    }
}

/// Collects the elements of a sequence, tuple or tuple struct.
struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

/// Collects a tuple variant as `{"Variant":[...]}`.
struct VariantSeqBuilder {
    variant: &'static str,
    seq: SeqBuilder,
}

impl ser::SerializeTupleVariant for VariantSeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(&mut self.seq, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        let mut map = Map::new();
        map.insert(self.variant.to_owned(), Value::Array(self.seq.0));
        Ok(Value::Object(map))
    }
}

/// Collects a map or a struct.
struct MapBuilder {
    map: Map,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ValueError("map value serialized before its key".to_owned()))?;
        self.map.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.map.insert(key.to_owned(), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.map))
    }
}

/// Collects a struct variant as `{"Variant":{...}}`.
struct VariantMapBuilder {
    variant: &'static str,
    map: MapBuilder,
}

impl ser::SerializeStructVariant for VariantMapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        ser::SerializeStruct::serialize_field(&mut self.map, key, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        let mut map = Map::new();
        map.insert(self.variant.to_owned(), Value::Object(self.map.map));
        Ok(Value::Object(map))
    }
}

/// Turns a map key into a string: strings and chars as they are, numbers and bools
/// in their JSON spelling, unit variants by name; anything else is an error.
struct KeySerializer;

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, ValueError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String, ValueError> {
        serde_json::Number::from_f64(v)
            .map(|n| n.to_string())
            .ok_or_else(|| ValueError("float map key must be finite".to_owned()))
    }
    fn serialize_char(self, v: char) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, ValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, ValueError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(key_error())
    }
}

/// The serializer behind [`to_args`]: a top-level tuple spreads into arguments, `()` is
/// no argument, and everything else is one argument built by [`ValueSerializer`].
struct ArgsSerializer;

/// Collects the elements of a top-level tuple, one argument each.
struct ArgsTuple(Vec<Value>);

impl ser::SerializeTuple for ArgsTuple {
    type Ok = Vec<Value>;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Vec<Value>, ValueError> {
        Ok(self.0)
    }
}

/// Wraps a [`ValueSerializer`] compound so that its result becomes a single argument.
struct OneArg<S>(S);

macro_rules! one_arg_compound {
    ($trait:ident, $method:ident) => {
        impl<S: ser::$trait<Ok = Value, Error = ValueError>> ser::$trait for OneArg<S> {
            type Ok = Vec<Value>;
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
                self.0.$method(value)
            }
            fn end(self) -> Result<Vec<Value>, ValueError> {
                self.0.end().map(|v| vec![v])
            }
        }
    };
    ($trait:ident, $method:ident, keyed) => {
        impl<S: ser::$trait<Ok = Value, Error = ValueError>> ser::$trait for OneArg<S> {
            type Ok = Vec<Value>;
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), ValueError> {
                self.0.$method(key, value)
            }
            fn end(self) -> Result<Vec<Value>, ValueError> {
                self.0.end().map(|v| vec![v])
            }
        }
    };
}

one_arg_compound!(SerializeSeq, serialize_element);
one_arg_compound!(SerializeTupleStruct, serialize_field);
one_arg_compound!(SerializeTupleVariant, serialize_field);
one_arg_compound!(SerializeStruct, serialize_field, keyed);
one_arg_compound!(SerializeStructVariant, serialize_field, keyed);

impl<S: ser::SerializeMap<Ok = Value, Error = ValueError>> ser::SerializeMap for OneArg<S> {
    type Ok = Vec<Value>;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.0.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.0.serialize_value(value)
    }
    fn end(self) -> Result<Vec<Value>, ValueError> {
        self.0.end().map(|v| vec![v])
    }
}

macro_rules! one_arg_scalar {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Vec<Value>, ValueError> {
            ValueSerializer.$method(v).map(|v| vec![v])
        })*
    };
}

impl ser::Serializer for ArgsSerializer {
    type Ok = Vec<Value>;
    type Error = ValueError;
    type SerializeSeq = OneArg<SeqBuilder>;
    type SerializeTuple = ArgsTuple;
    type SerializeTupleStruct = OneArg<SeqBuilder>;
    type SerializeTupleVariant = OneArg<VariantSeqBuilder>;
    type SerializeMap = OneArg<MapBuilder>;
    type SerializeStruct = OneArg<MapBuilder>;
    type SerializeStructVariant = OneArg<VariantMapBuilder>;

    one_arg_scalar!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<Vec<Value>, ValueError> {
        Ok(vec![Value::Null])
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<Value>, ValueError> {
        Ok(vec![to_value(value)?])
    }
    fn serialize_unit(self) -> Result<Vec<Value>, ValueError> {
        Ok(Vec::new())
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<Vec<Value>, ValueError> {
        Ok(vec![
            ValueSerializer.serialize_unit_variant(name, index, variant)?
        ])
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Vec<Value>, ValueError> {
        Ok(vec![to_value(value)?])
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Vec<Value>, ValueError> {
        Ok(vec![
            ValueSerializer.serialize_newtype_variant(name, index, variant, value)?
        ])
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        ValueSerializer.serialize_seq(len).map(OneArg)
    }
    fn serialize_tuple(self, len: usize) -> Result<ArgsTuple, ValueError> {
        Ok(ArgsTuple(Vec::with_capacity(len.min(4096))))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        ValueSerializer
            .serialize_tuple_struct(name, len)
            .map(OneArg)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        ValueSerializer
            .serialize_tuple_variant(name, index, variant, len)
            .map(OneArg)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        ValueSerializer.serialize_map(len).map(OneArg)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        ValueSerializer.serialize_struct(name, len).map(OneArg)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        ValueSerializer
            .serialize_struct_variant(name, index, variant, len)
            .map(OneArg)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Chat<'a> {
        room: &'a str,
        seq: u32,
        tags: Vec<&'a str>,
        reply_to: Option<u64>,
        #[serde(with = "bytes_as_binary")]
        blob: Vec<u8>,
    }

    mod bytes_as_binary {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Empty,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: u8, h: u8 },
    }

    #[derive(Serialize)]
    struct Point(i32, i32);

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn struct_becomes_object_with_binary_field() {
        let v = to_value(&Chat {
            room: "lobby",
            seq: 7,
            tags: vec!["a", "b"],
            reply_to: None,
            blob: vec![1, 2],
        })
        .unwrap();
        let mut expected =
            match json(r#"{"room":"lobby","seq":7,"tags":["a","b"],"reply_to":null}"#) {
                Value::Object(o) => o,
                other => panic!("{other:?}"),
            };
        expected.insert("blob".into(), Value::Binary(Bytes::from_static(&[1, 2])));
        assert_eq!(v, Value::Object(expected));
    }

    #[test]
    fn enums_are_externally_tagged_like_serde_json() {
        for (shape, text) in [
            (Shape::Empty, r#""Empty""#),
            (Shape::Circle(1.5), r#"{"Circle":1.5}"#),
            (Shape::Pair(1, -2), r#"{"Pair":[1,-2]}"#),
            (Shape::Rect { w: 3, h: 4 }, r#"{"Rect":{"h":4,"w":3}}"#),
        ] {
            assert_eq!(to_value(&shape).unwrap(), json(text));
        }
    }

    #[test]
    fn map_keys_that_are_numbers_or_bools_become_strings() {
        let mut m = BTreeMap::new();
        m.insert(3u32, "x");
        assert_eq!(to_value(&m).unwrap(), json(r#"{"3":"x"}"#));
        let mut m = BTreeMap::new();
        m.insert(true, 1);
        assert_eq!(to_value(&m).unwrap(), json(r#"{"true":1}"#));
        let mut m = BTreeMap::new();
        m.insert('c', 1);
        assert_eq!(to_value(&m).unwrap(), json(r#"{"c":1}"#));
    }

    #[test]
    fn map_keys_that_are_compound_are_rejected() {
        let mut m = BTreeMap::new();
        m.insert((1, 2), "x");
        assert!(to_value(&m).is_err());
        let mut m = BTreeMap::new();
        m.insert(vec![1u8], "x");
        assert!(to_value(&m).is_err());
    }

    #[test]
    fn options_and_unit_become_null_or_inner() {
        assert_eq!(to_value(&None::<u8>).unwrap(), Value::Null);
        assert_eq!(to_value(&Some(5u8)).unwrap(), json("5"));
        assert_eq!(to_value(&()).unwrap(), Value::Null);
    }

    #[test]
    fn wide_integers_convert_only_when_they_fit() {
        assert_eq!(
            to_value(&(u64::MAX as u128)).unwrap(),
            Value::from(u64::MAX)
        );
        assert_eq!(
            to_value(&(i64::MIN as i128)).unwrap(),
            Value::from(i64::MIN)
        );
        assert!(to_value(&u128::MAX).is_err());
        assert!(to_value(&i128::MIN).is_err());
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
        assert_eq!(to_value(&f32::INFINITY).unwrap(), Value::Null);
    }

    #[test]
    fn bytes_become_binary() {
        let b = Bytes::from_static(b"\x00\xff");
        assert_eq!(to_value(&b).unwrap(), Value::Binary(b));
    }

    #[test]
    fn value_serializes_through_serde_json_with_binary_as_numbers() {
        let v = Value::Array(vec![
            Value::from("a"),
            Value::Binary(Bytes::from_static(&[1, 2])),
        ]);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"["a",[1,2]]"#);
        assert_eq!(to_value(&v).unwrap(), v);
    }

    #[test]
    fn tuple_gives_one_argument_per_element() {
        assert_eq!(
            to_args(&("a", 1, true)).unwrap(),
            vec![Value::from("a"), Value::from(1), Value::from(true)]
        );
    }

    #[test]
    fn unit_gives_no_arguments() {
        assert!(to_args(&()).unwrap().is_empty());
    }

    #[test]
    fn vec_gives_one_array_argument() {
        assert_eq!(to_args(&vec![1, 2]).unwrap(), vec![json("[1,2]")]);
    }

    #[test]
    fn scalars_structs_and_values_give_one_argument() {
        assert_eq!(to_args("x").unwrap(), vec![Value::from("x")]);
        assert_eq!(to_args(&Point(1, 2)).unwrap(), vec![json("[1,2]")]);
        assert_eq!(to_args(&Shape::Empty).unwrap(), vec![json(r#""Empty""#)]);
        assert_eq!(
            to_args(&Shape::Rect { w: 1, h: 2 }).unwrap(),
            vec![json(r#"{"Rect":{"h":2,"w":1}}"#)]
        );
        assert_eq!(
            to_args(&Shape::Pair(1, 2)).unwrap(),
            vec![json(r#"{"Pair":[1,2]}"#)]
        );
        assert_eq!(to_args(&Some((1, 2))).unwrap(), vec![json("[1,2]")]);
        assert_eq!(to_args(&None::<u8>).unwrap(), vec![Value::Null]);
        let v = json(r#"[1,{"a":2}]"#);
        assert_eq!(to_args(&v).unwrap(), vec![v.clone()]);
        let mut m = BTreeMap::new();
        m.insert("k", 1);
        assert_eq!(to_args(&m).unwrap(), vec![json(r#"{"k":1}"#)]);
    }

    #[test]
    fn tuple_elements_that_are_tuples_stay_nested() {
        assert_eq!(
            to_args(&((1, 2), "x")).unwrap(),
            vec![json("[1,2]"), Value::from("x")]
        );
    }
}
