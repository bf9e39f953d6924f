//! Emit arguments written straight to JSON text, without building [`Value`]s, for the
//! common case of arguments that hold no binary.
//!
//! [`write_plain_args`] writes what [`to_args`] followed by the packet encoder would write,
//! with one difference: object members come in the order the type serializes them (a
//! struct's field order), where a [`Value`] object sorts them by key. JSON objects are
//! unordered, so the server sees the same values. Whatever the [`Value`] path treats
//! specially (a byte buffer becomes an attachment, an integer beyond 64 bits is an error)
//! makes it give up, and the caller takes the [`Value`] path.
//!
//! [`to_args`]: super::to_args
//! [`Value`]: super::Value

use std::fmt;
use std::io;

use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::Formatter;

/// Appends the arguments of `args`, each preceded by a comma, as JSON: the elements of a
/// top-level tuple one by one, nothing for `()`, anything else as one argument (the
/// [`to_args`](super::to_args) rule).
///
/// Returns `false`, with `out` as it was, when the arguments need the [`Value`](super::Value)
/// path: they hold a byte buffer, an integer beyond 64 bits, or their `Serialize` fails
/// (the [`Value`](super::Value) path then reports the error).
pub(crate) fn write_plain_args<T: Serialize + ?Sized>(args: &T, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let written = match args.serialize(Spread(out)) {
        Ok(()) => true,
        Err(PlainError::NotSpread) => {
            out.push(b',');
            write_json(args, out).is_ok()
        }
        Err(PlainError::Json(_)) => false,
    };
    if !written {
        out.truncate(start);
    }
    written
}

/// Appends `value` as JSON text (see [`write_plain_args`] for when it fails).
fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        out,
        PlainFormatter,
    ))
}

/// serde_json's compact output, refusing what a [`Value`](super::Value) would not carry
/// as plain JSON.
struct PlainFormatter;

impl Formatter for PlainFormatter {
    /// A byte buffer is an attachment: the [`Value`](super::Value) path sends it.
    fn write_byte_array<W: ?Sized + io::Write>(&mut self, _: &mut W, _: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Within 64 bits as an `i64`/`u64`, else refused (the [`Value`](super::Value) path
    /// reports the error).
    fn write_i128<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: i128) -> io::Result<()> {
        if let Ok(v) = i64::try_from(value) {
            self.write_i64(writer, v)
        } else if let Ok(v) = u64::try_from(value) {
            self.write_u64(writer, v)
        } else {
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Within 64 bits as a `u64`, else refused.
    fn write_u128<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: u128) -> io::Result<()> {
        match u64::try_from(value) {
            Ok(v) => self.write_u64(writer, v),
            Err(_) => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    /// Widened to `f64` first, as a [`Value`](super::Value) number is.
    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Why [`Spread`] stopped.
#[derive(Debug)]
enum PlainError {
    /// The value is one argument, not a tuple of them nor `()`.
    NotSpread,
    /// Writing an element failed.
    Json(serde_json::Error),
}

impl fmt::Display for PlainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlainError::NotSpread => f.write_str("not a tuple of arguments"),
            PlainError::Json(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PlainError {}

impl ser::Error for PlainError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        PlainError::Json(serde_json::Error::custom(msg))
    }
}

/// The top level of the arguments: writes a tuple's elements as arguments and `()` as
/// none; stops with [`PlainError::NotSpread`] on anything else.
struct Spread<'a>(&'a mut Vec<u8>);

/// The elements of a top-level tuple, one argument each.
struct SpreadTuple<'a>(&'a mut Vec<u8>);

impl ser::SerializeTuple for SpreadTuple<'_> {
    type Ok = ();
    type Error = PlainError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PlainError> {
        self.0.push(b',');
        write_json(value, self.0).map_err(PlainError::Json)
    }
    fn end(self) -> Result<(), PlainError> {
        Ok(())
    }
}

macro_rules! not_spread {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), PlainError> {
            Err(PlainError::NotSpread)
        })*
    };
}

impl<'a> ser::Serializer for Spread<'a> {
    type Ok = ();
    type Error = PlainError;
    type SerializeSeq = Impossible<(), PlainError>;
    type SerializeTuple = SpreadTuple<'a>;
    type SerializeTupleStruct = Impossible<(), PlainError>;
    type SerializeTupleVariant = Impossible<(), PlainError>;
    type SerializeMap = Impossible<(), PlainError>;
    type SerializeStruct = Impossible<(), PlainError>;
    type SerializeStructVariant = Impossible<(), PlainError>;

    not_spread!(
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
        serialize_none(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_unit(self) -> Result<(), PlainError> {
        Ok(())
    }
    fn serialize_tuple(self, _len: usize) -> Result<SpreadTuple<'a>, PlainError> {
        Ok(SpreadTuple(self.0))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, PlainError> {
        Err(PlainError::NotSpread)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, PlainError> {
        Err(PlainError::NotSpread)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;
    use crate::value::{to_args, write_json as write_value_json, Value};

    /// What the [`Value`] path writes for the same arguments.
    fn via_values<T: Serialize + ?Sized>(args: &T) -> String {
        let mut out = String::new();
        for arg in to_args(args).unwrap() {
            out.push(',');
            write_value_json(&arg, &mut out, &mut Vec::new());
        }
        out
    }

    fn plain<T: Serialize + ?Sized>(args: &T) -> Option<String> {
        let mut out = b"x".to_vec();
        write_plain_args(args, &mut out).then(|| String::from_utf8(out[1..].to_vec()).unwrap())
    }

    #[derive(Serialize)]
    struct Msg {
        a: u64,
        s: &'static str,
    }

    #[derive(Serialize)]
    enum Kind {
        Unit,
        Newtype(i32),
        Tuple(i32, bool),
        Struct { x: f32 },
    }

    #[derive(Serialize)]
    struct Unit;

    #[test]
    fn arguments_are_written_as_the_value_path_writes_them() {
        assert_eq!(plain(&()).unwrap(), "");
        assert_eq!(plain(&("a", 1)).unwrap(), via_values(&("a", 1)));
        assert_eq!(plain(&vec![1, 2]).unwrap(), ",[1,2]");
        assert_eq!(
            plain(&Msg { a: 1, s: "x\n\"" }).unwrap(),
            via_values(&Msg { a: 1, s: "x\n\"" })
        );
        assert_eq!(plain(&Some(3)).unwrap(), ",3");
        assert_eq!(plain(&None::<i32>).unwrap(), ",null");
        assert_eq!(plain(&Unit).unwrap(), via_values(&Unit));
        assert_eq!(
            plain(&(Kind::Unit, Kind::Newtype(-1))).unwrap(),
            via_values(&(Kind::Unit, Kind::Newtype(-1)))
        );
        let nested = (
            Kind::Tuple(1, true),
            Kind::Struct { x: 0.1 },
            f64::NAN,
            1.5f32,
        );
        assert_eq!(plain(&nested).unwrap(), via_values(&nested));
        let keys: BTreeMap<i32, &str> = [(2, "b"), (1, "a")].into();
        assert_eq!(plain(&keys).unwrap(), via_values(&keys));
        assert_eq!(
            plain(&(i128::from(i64::MIN), u128::from(u64::MAX))).unwrap(),
            via_values(&(i128::from(i64::MIN), u128::from(u64::MAX)))
        );
    }

    #[test]
    fn struct_members_keep_their_declaration_order() {
        #[derive(Serialize)]
        struct Backwards {
            z: u8,
            a: u8,
        }
        assert_eq!(
            plain(&Backwards { z: 1, a: 2 }).unwrap(),
            r#",{"z":1,"a":2}"#
        );
    }

    #[test]
    fn binary_and_wide_integers_take_the_value_path() {
        let data = Bytes::from_static(b"\x01\x02");
        assert_eq!(plain(&data), None);
        assert_eq!(plain(&("a", Value::Binary(data.clone()))), None);
        assert_eq!(plain(&vec![Value::Null, Value::Binary(data)]), None);
        assert_eq!(plain(&u128::MAX), None);
        assert_eq!(plain(&(1, i128::MIN)), None);
    }

    #[test]
    fn a_refused_argument_leaves_the_buffer_as_it_was() {
        let mut out = b"42[\"e\"".to_vec();
        assert!(!write_plain_args(&(1, Bytes::from_static(b"x")), &mut out));
        assert_eq!(out, b"42[\"e\"");
    }

    proptest! {
        #[test]
        fn any_json_is_written_as_the_value_path_writes_it(
            json in crate::value::strategies::arb_json()
        ) {
            let value = Value::from(json.clone());
            prop_assert_eq!(plain(&value).unwrap(), via_values(&value));
            prop_assert_eq!(plain(&(&value, 1)).unwrap(), via_values(&(&value, 1)));
        }
    }
}
