//! Outgoing JSON text given by the caller (a foreign-language binding holds its emits as
//! text): checked in one pass without building values, its placeholders checked against
//! the attachments and renumbered for the packet, then written as it is.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::placeholders::{Found, Scan};

use crate::value::write_str;

/// The JSON text of an event's data, checked: an array with its placeholders
/// `{"_placeholder":true,"num":K}` naming attachments that exist.
///
/// The text is written as it is, but for the numbers of its placeholders when the
/// packet's attachments are not the given list itself (a placeholder numbered across an
/// emit batch, an attachment no placeholder names): the packet carries the attachments
/// its placeholders name, numbered in the order the text first names them.
#[derive(Debug)]
pub(crate) struct CheckedJson<'a> {
    /// The array, without the JSON whitespace around it.
    text: &'a str,
    /// The event name: the array's first item when the text is `[event, ...args]`.
    event: Option<Cow<'a, str>>,
    /// The placeholder numbers to write anew.
    renumbered: Renumbering,
    /// The packet's attachments, in their new numbering.
    attachments: Vec<Bytes>,
}

/// Where each placeholder's number is in the text, and the number to write there instead.
type Renumbering = Vec<(Range<usize>, usize)>;

/// What the array of the text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `[event, ...args]`: the data of an event packet, its first item the event name.
    Named,
    /// `[...args]`: the arguments, the event name given apart.
    Args,
}

/// Why JSON text is not the data of an emit.
#[derive(Debug)]
pub(crate) enum JsonTextError {
    /// Not JSON, or not an array of the expected shape.
    Json(serde_json::Error),
    /// A placeholder is malformed or names a missing attachment.
    Placeholder(&'static str),
}

impl fmt::Display for JsonTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonTextError::Json(error) => write!(f, "invalid JSON arguments: {error}"),
            JsonTextError::Placeholder(reason) => {
                write!(f, "invalid attachment placeholder: {reason}")
            }
        }
    }
}

impl<'a> CheckedJson<'a> {
    /// Checks `text`, an array of shape `shape` whose placeholders number into `attachments`.
    ///
    /// # Errors
    /// [`JsonTextError::Json`] when the text is not JSON or not such an array;
    /// [`JsonTextError::Placeholder`] when a placeholder's `num` is missing, not a
    /// non-negative integer, or not less than `attachments.len()` (the rules of
    /// [`reconstruct`](super::binary::reconstruct)).
    pub(crate) fn check(
        text: &'a str,
        shape: Shape,
        attachments: &[Bytes],
    ) -> Result<Self, JsonTextError> {
        let text = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let mut scan = Scan::new(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let event = Top {
            shape,
            scan: &mut scan,
        }
        .deserialize(&mut deserializer)
        .and_then(|event| deserializer.end().map(|()| event))
        .map_err(JsonTextError::Json)?;
        let (renumbered, attachments) = renumber(scan.into_found(), attachments)?;
        Ok(CheckedJson {
            text,
            event,
            renumbered,
            attachments,
        })
    }

    /// The event name of a [`Shape::Named`] text.
    pub(crate) fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// How many attachments the packet carries.
    pub(crate) fn attachment_count(&self) -> usize {
        self.attachments.len()
    }

    /// The packet's attachments.
    pub(crate) fn into_attachments(self) -> Vec<Bytes> {
        self.attachments
    }

    /// Appends the event data: the text as it is for a [`Shape::Named`] text, else
    /// `[event, ...args]` with the arguments of the text spliced in.
    pub(crate) fn write_data(&self, event: &str, out: &mut String) {
        if self.event.is_some() {
            self.write_part(0..self.text.len(), out);
            return;
        }
        out.push('[');
        write_str(event, out);
        let inner = 1..self.text.len() - 1;
        if !self.text[inner.clone()]
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
            .is_empty()
        {
            out.push(',');
            self.write_part(inner, out);
        }
        out.push(']');
    }

    /// Appends `text[range]`, placeholder numbers renumbered.
    fn write_part(&self, range: Range<usize>, out: &mut String) {
        let mut at = range.start;
        for (span, num) in &self.renumbered {
            if span.start >= range.start && span.end <= range.end {
                out.push_str(&self.text[at..span.start]);
                // Writing to a String cannot fail.
                let _ = write!(out, "{num}");
                at = span.end;
            }
        }
        out.push_str(&self.text[at..range.end]);
    }
}

/// The packet's attachments and the renumbering of `found` they need: none when the
/// placeholders name every given attachment (in any order); else the attachments named,
/// numbered in the order the text first names them.
fn renumber(
    found: Vec<Found>,
    given: &[Bytes],
) -> Result<(Renumbering, Vec<Bytes>), JsonTextError> {
    let mut placeholders = Vec::with_capacity(found.len());
    for found in found {
        match found {
            Found::Placeholder { span, num } => {
                let num = usize::try_from(num)
                    .ok()
                    .filter(|&k| k < given.len())
                    .ok_or(JsonTextError::Placeholder("attachment number out of range"))?;
                placeholders.push((span, num));
            }
            Found::Invalid(reason) => return Err(JsonTextError::Placeholder(reason)),
        }
    }
    if placeholders.is_empty() {
        return Ok((placeholders, Vec::new()));
    }
    let mut new_number: Vec<Option<usize>> = vec![None; given.len()];
    let mut attachments = Vec::new();
    for (_, num) in &mut placeholders {
        *num = *new_number[*num].get_or_insert_with(|| {
            attachments.push(given[*num].clone());
            attachments.len() - 1
        });
    }
    if attachments.len() == given.len() {
        // Every attachment is named: the text's own numbers stand.
        return Ok((Vec::new(), given.to_vec()));
    }
    Ok((placeholders, attachments))
}

/// The top-level array.
struct Top<'s> {
    shape: Shape,
    scan: &'s mut Scan,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape {
            Shape::Named => f.write_str("an array whose first item is the event name"),
            Shape::Args => f.write_str("the JSON array of the arguments"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let event = match self.shape {
            Shape::Named => {
                let Some(EventName(name)) = seq.next_element()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                Some(name)
            }
            Shape::Args => None,
        };
        while seq.next_element_seed(self.scan.value())?.is_some() {}
        Ok(event)
    }
}

/// A JSON string, borrowed from the text when it has no escapes.
#[derive(serde::Deserialize)]
struct EventName<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::strategies::arb_value;
    use crate::value::{write_json, Value};

    fn bufs(n: u8) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(vec![i])).collect()
    }

    /// The event data `check` then `write_data` make of `text`.
    fn data(text: &str, shape: Shape, given: &[Bytes]) -> (String, Vec<Bytes>) {
        let checked = CheckedJson::check(text, shape, given).unwrap();
        let mut out = String::new();
        checked.write_data("ev", &mut out);
        (out, checked.into_attachments())
    }

    fn placeholder_error(text: &str, given: u8) -> &'static str {
        match CheckedJson::check(text, Shape::Args, &bufs(given)) {
            Err(JsonTextError::Placeholder(reason)) => reason,
            other => panic!("{text}: {other:?}"),
        }
    }

    mod shapes {
        use super::*;

        #[test]
        fn a_named_text_gives_its_first_item_borrowed_when_unescaped() {
            let checked =
                CheckedJson::check(r#" ["chat",{"a":[1,2.5,null]},"x"] "#, Shape::Named, &[])
                    .unwrap();
            assert!(matches!(checked.event, Some(Cow::Borrowed("chat"))));
            let escaped = CheckedJson::check(r#"["a\"b"]"#, Shape::Named, &[]).unwrap();
            assert_eq!(escaped.event(), Some("a\"b"));
        }

        #[test]
        fn a_named_text_must_be_an_array_starting_with_a_string() {
            for text in [
                "",
                "{}",
                "[]",
                "[1,\"chat\"]",
                "\"chat\"",
                "[\"chat\",",
                "[\"chat\"]x",
                "[\"chat\",NaN]",
                "[\"chat\",{\"a\":}]",
                "[\"chat\",\"\u{1}\"]",
            ] {
                assert!(
                    matches!(
                        CheckedJson::check(text, Shape::Named, &[]),
                        Err(JsonTextError::Json(_))
                    ),
                    "{text:?}"
                );
            }
        }

        #[test]
        fn arguments_must_be_an_array() {
            for text in ["", "{}", "1", "\"a\"", "[1,", "[1]]"] {
                assert!(
                    matches!(
                        CheckedJson::check(text, Shape::Args, &[]),
                        Err(JsonTextError::Json(_))
                    ),
                    "{text:?}"
                );
            }
        }

        #[test]
        fn arguments_follow_the_event_name() {
            assert_eq!(data("[]", Shape::Args, &[]).0, r#"["ev"]"#);
            assert_eq!(data(" [ ] ", Shape::Args, &[]).0, r#"["ev"]"#);
            assert_eq!(
                data(r#"[1,{"a":"b"}]"#, Shape::Args, &[]).0,
                r#"["ev",1,{"a":"b"}]"#
            );
            let checked = CheckedJson::check("[1]", Shape::Args, &[]).unwrap();
            let mut out = String::new();
            checked.write_data("q\"\n", &mut out);
            assert_eq!(out, r#"["q\"\n",1]"#);
        }

        #[test]
        fn a_named_text_is_written_as_it_is() {
            let text = r#"["chat",{"z":1,"a":1.50}]"#;
            assert_eq!(data(&format!("\n{text} "), Shape::Named, &[]).0, text);
        }
    }

    mod placeholders {
        use super::*;

        #[test]
        fn a_text_naming_every_attachment_by_its_number_is_written_as_it_is() {
            let text = r#"[{"_placeholder":true,"num":1},{"x":[{"_placeholder":true,"num":0}]}]"#;
            let (out, attachments) = data(text, Shape::Args, &bufs(2));
            assert_eq!(out, format!("[\"ev\",{}", &text[1..]));
            assert_eq!(attachments, bufs(2));
        }

        #[test]
        fn placeholders_numbered_across_a_batch_are_renumbered_for_the_packet() {
            let text = r#"["c",[{"_placeholder":true,"num":2},{"num":  1 ,"_placeholder":true}],{"_placeholder":true,"num":2}]"#;
            let (out, attachments) = data(text, Shape::Named, &bufs(3));
            assert_eq!(
                out,
                r#"["c",[{"_placeholder":true,"num":0},{"num":  1 ,"_placeholder":true}],{"_placeholder":true,"num":0}]"#
            );
            assert_eq!(attachments, vec![bufs(3)[2].clone(), bufs(3)[1].clone()]);
        }

        #[test]
        fn attachments_no_placeholder_names_are_not_sent() {
            let (out, attachments) = data("[1]", Shape::Args, &bufs(2));
            assert_eq!(out, r#"["ev",1]"#);
            assert!(attachments.is_empty());
        }

        #[test]
        fn a_placeholder_must_name_an_attachment_by_a_non_negative_integer() {
            let cases = [
                (
                    r#"[{"_placeholder":true}]"#,
                    "placeholder has no attachment number",
                ),
                (
                    r#"[{"_placeholder":true,"num":"0"}]"#,
                    "attachment number is not a number",
                ),
                (
                    r#"[[{"_placeholder":true,"num":null}]]"#,
                    "attachment number is not a number",
                ),
                (
                    r#"[{"_placeholder":true,"num":-1}]"#,
                    "attachment number is not a non-negative integer",
                ),
                (
                    r#"[{"_placeholder":true,"num":0.5}]"#,
                    "attachment number is not a non-negative integer",
                ),
                (
                    r#"[{"_placeholder":true,"num":1.0}]"#,
                    "attachment number is not a non-negative integer",
                ),
                (
                    r#"[{"_placeholder":true,"num":2}]"#,
                    "attachment number out of range",
                ),
                (
                    r#"[{"a":{"_placeholder":true,"num":18446744073709551615}}]"#,
                    "attachment number out of range",
                ),
            ];
            for (text, reason) in cases {
                assert_eq!(placeholder_error(text, 2), reason, "{text}");
            }
        }

        #[test]
        fn only_a_true_placeholder_member_makes_a_placeholder() {
            for text in [
                r#"[{"_placeholder":false,"num":9}]"#,
                r#"[{"_placeholder":"true","num":9}]"#,
                r#"[{"num":9}]"#,
                r#"[{"_placeholder":true,"num":9,"_placeholder":false}]"#,
            ] {
                let (out, attachments) = data(text, Shape::Args, &[]);
                assert_eq!(out, format!("[\"ev\",{}", &text[1..]), "{text}");
                assert!(attachments.is_empty());
            }
        }

        #[test]
        fn an_escaped_key_is_the_key_it_spells() {
            assert_eq!(
                placeholder_error(r#"[{"\u005fplaceholder":true,"num":3}]"#, 1),
                "attachment number out of range"
            );
        }

        #[test]
        fn placeholders_inside_a_num_member_count_unless_it_is_a_placeholder_itself() {
            let text = r#"[{"num":{"_placeholder":true,"num":1}}]"#;
            let (out, attachments) = data(text, Shape::Args, &bufs(2));
            assert_eq!(out, r#"["ev",{"num":{"_placeholder":true,"num":0}}]"#);
            assert_eq!(attachments, vec![bufs(2)[1].clone()]);
            assert_eq!(
                placeholder_error(r#"[{"_placeholder":true,"num":{"a":1}}]"#, 1),
                "attachment number is not a number"
            );
        }

        #[test]
        fn what_a_placeholder_holds_besides_is_not_checked() {
            let text = r#"[{"_placeholder":true,"x":{"_placeholder":true,"num":7},"num":0}]"#;
            let (out, attachments) = data(text, Shape::Args, &bufs(1));
            assert_eq!(out, format!("[\"ev\",{}", &text[1..]));
            assert_eq!(attachments, bufs(1));
        }
    }

    /// A placeholder object, valid or not: `num` in range or not, not an integer, missing.
    fn arb_placeholder() -> impl Strategy<Value = serde_json::Value> {
        let num = prop_oneof![
            (0u64..4).prop_map(serde_json::Value::from),
            Just(serde_json::json!(-1)),
            Just(serde_json::json!(0.5)),
            Just(serde_json::json!("0")),
            Just(serde_json::Value::Null),
        ];
        (any::<bool>(), prop::option::of(num)).prop_map(|(flag, num)| {
            let mut object = serde_json::Map::new();
            object.insert("_placeholder".into(), flag.into());
            if let Some(num) = num {
                object.insert("num".into(), num);
            }
            serde_json::Value::Object(object)
        })
    }

    /// JSON with placeholders, valid or not, at any depth (also under a `num` key).
    fn arb_json_with_placeholders() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            crate::value::strategies::arb_json(),
            arb_placeholder(),
            arb_placeholder(),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
                prop::collection::vec((prop_oneof![Just("num"), Just("k")], inner), 0..3).prop_map(
                    |members| serde_json::Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect()
                    )
                ),
            ]
        })
    }

    /// The arguments of `text` by the value path: parsed, then binary put in place.
    fn by_values(text: &str, given: &[Bytes]) -> Option<Vec<Value>> {
        let mut args: Vec<Value> = serde_json::from_str(text).ok()?;
        for arg in &mut args {
            crate::socketio::binary::reconstruct(arg, given).ok()?;
        }
        Some(args)
    }

    proptest! {
        #[test]
        fn the_check_accepts_what_the_value_path_accepts_and_means_the_same(
            args in prop::collection::vec(arb_json_with_placeholders(), 0..4),
            given in 0u8..4,
        ) {
            let text = serde_json::to_string(&args).unwrap();
            let given = bufs(given);
            let expected = by_values(&text, &given);
            match CheckedJson::check(&text, Shape::Args, &given) {
                Ok(checked) => {
                    let mut out = String::new();
                    checked.write_data("ev", &mut out);
                    let attachments = checked.into_attachments();
                    let mut written = by_values(&out, &attachments).expect("written data parses");
                    prop_assert_eq!(written.remove(0), Value::from("ev"));
                    prop_assert_eq!(Some(written), expected, "{} written as {}", text, out);
                }
                Err(JsonTextError::Placeholder(_)) => prop_assert_eq!(expected, None),
                Err(JsonTextError::Json(error)) => prop_assert!(false, "{}: {}", text, error),
            }
        }

        #[test]
        fn values_written_with_placeholders_frame_as_the_value_writer_frames_them(
            args in prop::collection::vec(arb_value(), 0..4)
        ) {
            let mut text = String::from("[");
            let mut given = Vec::new();
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                write_json(arg, &mut text, &mut given);
            }
            text.push(']');
            let (out, attachments) = data(&text, Shape::Args, &given);
            let mut named = vec![Value::from("ev")];
            named.extend(args);
            let mut expected = String::new();
            let mut expected_attachments = Vec::new();
            write_json(&Value::Array(named), &mut expected, &mut expected_attachments);
            prop_assert_eq!(out, expected);
            prop_assert_eq!(attachments, expected_attachments);
        }
    }
}
