//! Deserializing arguments straight from their wire form: the JSON text of an array in
//! which `{"_placeholder":true,"num":K}` stands for the bytes of attachment K. The one
//! serde adapter between received text and Rust types; nothing is built on the way but
//! the objects of a payload that has attachments (one of them may be a placeholder).

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};

use super::{Map, Value, ValueError};

/// Reads the arguments `json` into `T` as [`super::from_args`] reads values: as one array,
/// a tuple leaving trailing arguments unread. With `attachments`, each placeholder reads as
/// the bytes it names, wherever `T` takes bytes, a sequence of bytes or any value.
///
/// # Errors
/// A [`ValueError`] when the arguments do not have the shape `T` expects.
pub(crate) fn from_wire<T: DeserializeOwned>(
    json: &str,
    attachments: Option<&[Bytes]>,
) -> Result<T, ValueError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = match attachments {
        Some(attachments) => T::deserialize(Args(Wire {
            de: &mut deserializer,
            attachments,
        })),
        None => T::deserialize(Args(&mut deserializer)),
    };
    value
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| ValueError(e.to_string()))
}

/// The top level: the arguments as one array, where a tuple may leave trailing ones unread.
struct Args<D>(D);

/// Forwards `deserialize_*` methods to the inner deserializer as they are.
macro_rules! forward_plain {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* visitor)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Args<D> {
    type Error = D::Error;

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(LeaveTrailing(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(LeaveTrailing(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_plain! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_seq(), deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
}

/// Visits a sequence with the inner visitor, then skips what it left.
struct LeaveTrailing<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for LeaveTrailing<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V::Value, A::Error> {
        let value = self.0.visit_seq(&mut seq)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// A deserializer whose objects may be placeholders of `attachments`.
struct Wire<'a, D> {
    de: D,
    attachments: &'a [Bytes],
}

/// Forwards `deserialize_*` methods with the visitor wrapped; `seq` says whether a
/// placeholder met there is read as a sequence of bytes.
macro_rules! forward_wrapped {
    ($($method:ident($($arg:ident: $ty:ty),*) => $via:ident $seq:literal),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let visitor = WireVisitor { visitor, attachments: self.attachments, seq: $seq };
            self.de.$via($($arg,)* visitor)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Wire<'_, D> {
    type Error = D::Error;

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }

    // Where a placeholder may stand, the object is let through: `deserialize_any`.
    forward_wrapped! {
        deserialize_any() => deserialize_any false,
        deserialize_seq() => deserialize_any true,
        deserialize_bytes() => deserialize_any false,
        deserialize_byte_buf() => deserialize_any false,
        deserialize_bool() => deserialize_bool false,
        deserialize_i8() => deserialize_i8 false,
        deserialize_i16() => deserialize_i16 false,
        deserialize_i32() => deserialize_i32 false,
        deserialize_i64() => deserialize_i64 false,
        deserialize_i128() => deserialize_i128 false,
        deserialize_u8() => deserialize_u8 false,
        deserialize_u16() => deserialize_u16 false,
        deserialize_u32() => deserialize_u32 false,
        deserialize_u64() => deserialize_u64 false,
        deserialize_u128() => deserialize_u128 false,
        deserialize_f32() => deserialize_f32 false,
        deserialize_f64() => deserialize_f64 false,
        deserialize_char() => deserialize_char false,
        deserialize_str() => deserialize_str false,
        deserialize_string() => deserialize_string false,
        deserialize_option() => deserialize_option false,
        deserialize_unit() => deserialize_unit false,
        deserialize_unit_struct(name: &'static str) => deserialize_unit_struct false,
        deserialize_newtype_struct(name: &'static str) => deserialize_newtype_struct false,
        deserialize_map() => deserialize_map false,
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) => deserialize_struct false,
        deserialize_enum(name: &'static str, variants: &'static [&'static str]) => deserialize_enum false,
        deserialize_identifier() => deserialize_identifier false,
    }
}

/// A visitor whose objects are read whole, a placeholder becoming its bytes; whatever
/// the deserializer hands on is wrapped again.
struct WireVisitor<'a, V> {
    visitor: V,
    attachments: &'a [Bytes],
    /// A placeholder reads as a sequence of bytes (else as a byte buffer).
    seq: bool,
}

/// Forwards `visit_*` methods of scalars to the inner visitor.
macro_rules! forward_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.visitor.$method(v)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for WireVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visits! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char), visit_str(&str),
        visit_borrowed_str(&'de str), visit_string(String), visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Wire {
            de,
            attachments: self.attachments,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Wire {
            de,
            attachments: self.attachments,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(WireSeq {
            seq,
            attachments: self.attachments,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        // An object is a placeholder whatever the order of its keys: read it whole.
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(WireSeed {
                seed: std::marker::PhantomData::<Value>,
                attachments: self.attachments,
            })?;
            object.insert(key, value);
        }
        let value = match placeholder(&object, self.attachments) {
            Some(Ok(bytes)) => Value::Binary(bytes.clone()),
            Some(Err(reason)) => return Err(de::Error::custom(reason)),
            None => Value::Object(object),
        };
        let read = if self.seq {
            value.deserialize_seq(self.visitor)
        } else {
            value.deserialize_any(self.visitor)
        };
        read.map_err(de::Error::custom)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(WireEnum {
            data,
            attachments: self.attachments,
        })
    }
}

/// The attachment `object` stands for, if it is a placeholder.
fn placeholder<'a>(object: &Map, attachments: &'a [Bytes]) -> Option<Result<&'a Bytes, String>> {
    if object.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let attachment = object
        .get("num")
        .and_then(Value::as_u64)
        .and_then(|k| usize::try_from(k).ok())
        .and_then(|k| attachments.get(k));
    Some(attachment.ok_or_else(|| "invalid attachment placeholder".to_owned()))
}

/// A seed whose deserializer is wrapped.
struct WireSeed<'a, S> {
    seed: S,
    attachments: &'a [Bytes],
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for WireSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Wire {
            de,
            attachments: self.attachments,
        })
    }
}

/// The elements of an array, each wrapped.
struct WireSeq<'a, A> {
    seq: A,
    attachments: &'a [Bytes],
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for WireSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.seq.next_element_seed(WireSeed {
            seed,
            attachments: self.attachments,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// An enum's variant, its content wrapped.
struct WireEnum<'a, A> {
    data: A,
    attachments: &'a [Bytes],
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for WireEnum<'a, A> {
    type Error = A::Error;
    type Variant = WireEnum<'a, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, data) = self.data.variant_seed(seed)?;
        Ok((
            value,
            WireEnum {
                data,
                attachments: self.attachments,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for WireEnum<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.data.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.data.newtype_variant_seed(WireSeed {
            seed,
            attachments: self.attachments,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.data.tuple_variant(
            len,
            WireVisitor {
                visitor,
                attachments: self.attachments,
                seq: true,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.data.struct_variant(
            fields,
            WireVisitor {
                visitor,
                attachments: self.attachments,
                seq: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;
    use crate::socketio::Payload;
    use crate::value::from_args;
    use crate::value::strategies::arb_value;

    /// Reads `args` through their wire form, as a received payload holds them.
    fn through_wire<T: DeserializeOwned>(args: &[Value]) -> Result<T, ValueError> {
        Payload::from_values(args).parse()
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Move {
        x: i32,
        label: Option<String>,
        data: Option<Bytes>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u8, h: u8 },
        Pair(Bytes, u8),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped((String, u8));

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn bin(b: &'static [u8]) -> Value {
        Value::Binary(Bytes::from_static(b))
    }

    /// Both readers agree on `args` read as `T`: the same value or both an error.
    fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(args: &[Value]) {
        let wire = through_wire::<T>(args);
        let values = from_args::<T>(args.to_vec());
        match (&wire, &values) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{args:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{args:?}: wire {wire:?}, values {values:?}"),
        }
    }

    #[test]
    fn reads_as_the_values_would_for_every_shape_of_type() {
        let moved = obj(&[
            ("x", Value::from(-3)),
            ("label", Value::Null),
            ("data", bin(&[1, 2])),
        ]);
        let cases: Vec<Vec<Value>> = vec![
            vec![],
            vec![Value::from("a"), Value::from(1), Value::from("extra")],
            vec![moved.clone(), bin(&[9])],
            vec![Value::from("Dot")],
            vec![obj(&[("Circle", Value::from(1.5))])],
            vec![obj(&[(
                "Rect",
                obj(&[("w", Value::from(2)), ("h", Value::from(3))]),
            )])],
            vec![obj(&[(
                "Pair",
                Value::Array(vec![bin(&[4]), Value::from(5)]),
            )])],
            vec![bin(&[1, 2, 3])],
            vec![Value::Array(vec![Value::from(1), Value::from(2)])],
            vec![Value::from(300), Value::from(-1)],
        ];
        for args in &cases {
            agree::<(String, u32)>(args);
            agree::<(Move, Bytes)>(args);
            agree::<(Move,)>(args);
            agree::<(Shape,)>(args);
            agree::<Vec<Value>>(args);
            agree::<(Vec<u8>,)>(args);
            agree::<(Bytes,)>(args);
            agree::<(Vec<i64>,)>(args);
            agree::<(u8, i8)>(args);
            agree::<Wrapped>(args);
            agree::<(Option<Value>, Option<Value>)>(args);
            agree::<(BTreeMap<String, Value>,)>(args);
        }
    }

    #[test]
    fn a_placeholder_reads_as_bytes_wherever_bytes_are_taken() {
        let args = [
            bin(&[1, 2]),
            obj(&[("deep", Value::Array(vec![bin(&[3])]))]),
        ];
        let (raw, deep): (Vec<u8>, BTreeMap<String, Vec<Bytes>>) = through_wire(&args).unwrap();
        assert_eq!(raw, [1, 2]);
        assert_eq!(deep["deep"], [Bytes::from_static(&[3])]);
        assert_eq!(through_wire::<Vec<Value>>(&args).unwrap(), args);
    }

    #[test]
    fn a_payload_without_attachments_reads_placeholder_objects_as_objects() {
        let text = r#"[{"_placeholder":true,"num":0}]"#;
        let (object,): (BTreeMap<String, Value>,) = from_wire(text, None).unwrap();
        assert_eq!(object["num"], Value::from(0));
        assert!(
            from_wire::<(Bytes,)>(text, Some(&[])).is_err(),
            "names nothing"
        );
    }

    #[test]
    fn errors_say_what_did_not_match() {
        let error = through_wire::<(u32,)>(&[Value::from("x")]).unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
    }

    proptest! {
        #[test]
        fn any_arguments_read_back_as_the_same_values(
            args in prop::collection::vec(arb_value(), 0..4)
        ) {
            prop_assert_eq!(through_wire::<Vec<Value>>(&args).unwrap(), args.clone());
            agree::<(Value, Option<Value>)>(&args);
        }
    }
}
