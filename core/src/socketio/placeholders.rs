//! The one walk of JSON text that finds its binary placeholders
//! (`{"_placeholder":true,"num":K}`, at any depth) without building values: the decoder
//! checks an incoming payload with it, and an outgoing text given by a binding is checked
//! and renumbered from what it finds.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A placeholder seen in the text, or why an object meant as one is not valid.
#[derive(Debug)]
pub(super) enum Found {
    /// Its `num` at `span` of the text.
    Placeholder { span: Range<usize>, num: u64 },
    /// Why it is invalid.
    Invalid(&'static str),
}

/// The placeholders of one text, in the order of the text.
pub(super) struct Scan {
    /// The address of the text's first byte: a borrowed slice's offset is its address
    /// less this.
    base: usize,
    found: Vec<Found>,
}

impl Scan {
    /// A scan of `text`, to be fed its values with [`Scan::value`].
    pub(super) fn new(text: &str) -> Scan {
        Scan {
            base: text.as_ptr() as usize,
            found: Vec::new(),
        }
    }

    /// Checks that `text` is one JSON value within serde_json's nesting limit (the one
    /// parsing it into values meets) and returns its placeholders.
    pub(super) fn whole(text: &str) -> serde_json::Result<Vec<Found>> {
        let mut scan = Scan::new(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        scan.value().deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(scan.found)
    }

    /// As [`Scan::whole`], for an event's text: also returns the event's name when the text
    /// is an array whose first item is a string written without escapes (the usual case),
    /// borrowed from the text, so the caller splits the name off without a second parse.
    pub(super) fn event(text: &str) -> serde_json::Result<(Vec<Found>, Option<&str>)> {
        let mut scan = Scan::new(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let root = EventValue {
            scan: &mut scan,
            root: true,
        };
        let name = root.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok((scan.found, name))
    }

    /// The seed that walks one value of the scanned text, noting its placeholders.
    pub(super) fn value(&mut self) -> Node<'_> {
        Node(self)
    }

    /// What was found, in the order of the text.
    pub(super) fn into_found(self) -> Vec<Found> {
        self.found
    }
}

/// The placeholders of a payload as a check needs them: the highest attachment number
/// named and the first malformed placeholder.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Placeholders {
    highest: Option<u64>,
    malformed: Option<&'static str>,
}

impl Placeholders {
    /// Summarises what a scan found.
    pub(super) fn of(found: &[Found]) -> Placeholders {
        let mut summary = Placeholders::default();
        for found in found {
            match *found {
                Found::Placeholder { num, .. } => summary.highest = summary.highest.max(Some(num)),
                Found::Invalid(reason) => summary.malformed = summary.malformed.or(Some(reason)),
            }
        }
        summary
    }

    /// Whether every placeholder is well formed and names one of `attachments`; else why
    /// not (the rules of [`reconstruct`](super::binary::reconstruct)).
    pub(super) fn check(&self, attachments: usize) -> Result<(), &'static str> {
        if let Some(reason) = self.malformed {
            return Err(reason);
        }
        match self.highest {
            Some(k) if usize::try_from(k).ok().is_none_or(|k| k >= attachments) => {
                Err("attachment number out of range")
            }
            _ => Ok(()),
        }
    }
}

/// Any JSON value, its placeholders noted in the borrowed [`Scan`].
pub(super) struct Node<'s>(&'s mut Scan);

/// What the parent object needs to know of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `true`: the value that makes an object a placeholder.
    True,
    /// Anything else.
    Other,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Kind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(if v { Kind::True } else { Kind::Other })
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element_seed(Node(&mut *self.0))?.is_some() {}
        Ok(Kind::Other)
    }

    /// An object: a placeholder when its `_placeholder` member is `true` (the last one of
    /// that name counts, as in a parsed value). What a placeholder holds besides is
    /// replaced whole by its attachment on the other side: its own placeholders do not count.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let scan = self.0;
        let mark = scan.found.len();
        let mut placeholder = false;
        let mut num: Option<&'de RawValue> = None;
        while let Some(key) = map.next_key_seed(KeyName)? {
            match key {
                Key::Placeholder => {
                    placeholder = map.next_value_seed(Node(&mut *scan))? == Kind::True;
                }
                Key::Num => {
                    let raw: &'de RawValue = map.next_value()?;
                    if raw.get().starts_with(['{', '[']) {
                        check_nested(raw.get(), &mut *scan).map_err(de::Error::custom)?;
                    }
                    num = Some(raw);
                }
                Key::Other => {
                    map.next_value_seed(Node(&mut *scan))?;
                }
            }
        }
        if placeholder {
            scan.found.truncate(mark);
            let found = match num {
                None => Found::Invalid("placeholder has no attachment number"),
                Some(raw) => match serde_json::from_str::<serde_json::Number>(raw.get()) {
                    Ok(n) => match n.as_u64() {
                        Some(num) => {
                            let start = raw.get().as_ptr() as usize - scan.base;
                            Found::Placeholder {
                                span: start..start + raw.get().len(),
                                num,
                            }
                        }
                        None => Found::Invalid("attachment number is not a non-negative integer"),
                    },
                    Err(_) => Found::Invalid("attachment number is not a number"),
                },
            };
            scan.found.push(found);
        }
        Ok(Kind::Other)
    }
}

/// A value of an event's text, walked as a [`Node`]: the whole text (`root`), whose first
/// item is read as an `EventValue` too when it is an array, or that first item, which is
/// the name when it is a string borrowed from the text (written without escapes).
struct EventValue<'s> {
    scan: &'s mut Scan,
    root: bool,
}

impl<'de> DeserializeSeed<'de> for EventValue<'_> {
    type Value = Option<&'de str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventValue<'_> {
    type Value = Option<&'de str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((!self.root).then_some(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !self.root {
            return Node(self.scan).visit_seq(seq).map(|_| None);
        }
        let first = EventValue {
            scan: &mut *self.scan,
            root: false,
        };
        let name = seq.next_element_seed(first)?.flatten();
        while seq.next_element_seed(Node(&mut *self.scan))?.is_some() {}
        Ok(name)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Node(self.scan).visit_map(map).map(|_| None)
    }
}

/// Notes the placeholders of `text`, a value already read whole (an object's `num`).
fn check_nested(text: &str, scan: &mut Scan) -> serde_json::Result<()> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    Node(scan).deserialize(&mut deserializer)?;
    deserializer.end()
}

/// The object keys that matter to placeholders.
enum Key {
    Placeholder,
    Num,
    Other,
}

/// Reads an object key as a [`Key`], without keeping it.
struct KeyName;

impl<'de> DeserializeSeed<'de> for KeyName {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyName {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "_placeholder" => Key::Placeholder,
            "num" => Key::Num,
            _ => Key::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Placeholders {
        Placeholders::of(&Scan::whole(text).unwrap())
    }

    #[test]
    fn placeholders_are_found_at_any_depth_with_the_span_of_their_number() {
        let text = r#"[1,{"a":[{"_placeholder":true,"num":12}]},{"num":0,"_placeholder":true}]"#;
        let found = Scan::whole(text).unwrap();
        let spans: Vec<(&str, u64)> = found
            .iter()
            .map(|found| match found {
                Found::Placeholder { span, num } => (&text[span.clone()], *num),
                Found::Invalid(reason) => panic!("{reason}"),
            })
            .collect();
        assert_eq!(spans, [("12", 12), ("0", 0)]);
        assert_eq!(summary(text).check(13), Ok(()));
        assert_eq!(
            summary(text).check(12),
            Err("attachment number out of range")
        );
    }

    #[test]
    fn a_placeholders_own_members_do_not_count_but_an_ordinary_objects_do() {
        let inside = r#"[{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}]"#;
        assert_eq!(summary(inside).check(1), Ok(()));
        let beside = r#"[{"_placeholder":false,"x":{"_placeholder":true,"num":9}}]"#;
        assert_eq!(
            summary(beside).check(1),
            Err("attachment number out of range")
        );
    }

    #[test]
    fn the_last_placeholder_member_of_an_object_counts() {
        let text = r#"[{"_placeholder":true,"_placeholder":false,"num":"x"}]"#;
        assert_eq!(summary(text).check(0), Ok(()));
    }

    #[test]
    fn malformed_placeholders_are_reported_first_in_the_order_of_the_text() {
        let cases = [
            (
                r#"[{"_placeholder":true}]"#,
                "placeholder has no attachment number",
            ),
            (
                r#"[{"_placeholder":true,"num":-1}]"#,
                "attachment number is not a non-negative integer",
            ),
            (
                r#"[{"_placeholder":true,"num":1.5}]"#,
                "attachment number is not a non-negative integer",
            ),
            (
                r#"[{"_placeholder":true,"num":"0"}]"#,
                "attachment number is not a number",
            ),
            (
                r#"[{"_placeholder":true,"num":7},{"_placeholder":true}]"#,
                "placeholder has no attachment number",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(summary(text).check(1), Err(reason), "{text}");
        }
    }

    #[test]
    fn text_that_is_not_one_json_value_is_refused() {
        assert!(Scan::whole("[1,").is_err());
        assert!(Scan::whole("[1] 2").is_err());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(Scan::whole(&deep).is_err());
    }
}
