//! The arguments of an incoming event or ack in wire form: the JSON text of an array, its
//! binary placeholders kept, plus the attachments. The decoder checks the text once (JSON,
//! depth, placeholders) and splits off the event name with borrowed `RawValue`s; no
//! [`Value`] tree is built until a user asks for one.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::binary::reconstruct;
use super::packet::{DecodeError, PacketKind, RESERVED_EVENTS};
use super::placeholders::{Found, Placeholders, Scan};
use crate::value::{from_wire, write_json, Value, ValueError};

/// The arguments of an event or an ack as they arrived: the JSON text of an array in which
/// each binary node is `{"_placeholder":true,"num":K}`, and the bytes of attachment K.
///
/// The text is the server's, byte for byte (key order and number forms kept), minus the
/// event name and, with connection state recovery, the offset the server appends.
///
/// # Examples
/// ```no_run
/// # fn f(event: ferrio::Event) {
/// let payload = event.payload();
/// println!("{} and {} attachments", payload.json(), payload.attachments().len());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The JSON text of the array of arguments.
    json: String,
    /// The bytes each placeholder names, by number.
    attachments: Vec<Bytes>,
    /// Whether placeholder objects stand for attachments (a binary packet's payload).
    placeholders: bool,
}

impl Default for Payload {
    /// No arguments: `[]`.
    fn default() -> Self {
        Payload {
            json: "[]".to_owned(),
            attachments: Vec::new(),
            placeholders: false,
        }
    }
}

impl Payload {
    /// The arguments `args` in wire form, binary nodes written as placeholders numbered
    /// depth-first from 0.
    ///
    /// # Examples
    /// ```
    /// use ferrio::socketio::Payload;
    /// use ferrio::Value;
    /// let payload = Payload::from_values(&[Value::from("a"), Value::from(vec![1u8])]);
    /// assert_eq!(payload.json(), r#"["a",{"_placeholder":true,"num":0}]"#);
    /// assert_eq!(payload.values()[1], Value::from(vec![1u8]));
    /// ```
    pub fn from_values(args: &[Value]) -> Payload {
        let mut json = String::from("[");
        let mut attachments = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            write_json(arg, &mut json, &mut attachments);
        }
        json.push(']');
        Payload {
            json,
            placeholders: !attachments.is_empty(),
            attachments,
        }
    }

    /// The JSON text of the array of arguments, placeholders kept.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The attachments, by placeholder number.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The JSON text and the attachments.
    pub fn into_parts(self) -> (String, Vec<Bytes>) {
        (self.json, self.attachments)
    }

    /// The arguments as values, binary in place of its placeholders.
    ///
    /// Each call parses the text again: [`crate::Event::args`] keeps the result.
    pub fn values(&self) -> Vec<Value> {
        // The decoder checked the text, its depth and its placeholders: neither step fails
        // on what it let through, and a payload made from values holds what they wrote.
        let Ok(mut args) = serde_json::from_str::<Vec<Value>>(&self.json) else {
            return Vec::new();
        };
        if self.placeholders {
            for arg in &mut args {
                if reconstruct(arg, &self.attachments).is_err() {
                    return Vec::new();
                }
            }
        }
        args
    }

    /// Reads the arguments into `T` straight from the text, as one array: a tuple for
    /// several arguments (trailing ones it does not ask for are ignored), a placeholder
    /// read as its bytes wherever `T` takes bytes.
    ///
    /// # Errors
    /// [`ValueError`] if the arguments do not match `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_wire(
            &self.json,
            self.placeholders.then_some(&self.attachments[..]),
        )
    }

    /// Takes the last argument off when it is a string and returns it: the offset a server
    /// with connection state recovery appends to events that ask for no ack.
    ///
    /// The text is valid JSON (the decoder checked it), so no parse is needed to find
    /// that string: it ends the array, and within it every `"` is escaped.
    pub(crate) fn take_last_string(&mut self) -> Option<String> {
        let items = self
            .json
            .strip_suffix(']')?
            .trim_end_matches(JSON_WHITESPACE);
        let bytes = items.as_bytes();
        if bytes.last() != Some(&b'"') || bytes.len() < 2 {
            return None;
        }
        let mut open = bytes.len() - 1;
        loop {
            open = open.checked_sub(1)?;
            if bytes[open] == b'"' {
                let escapes = bytes[..open]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                if escapes % 2 == 0 {
                    break;
                }
            }
        }
        let before = items[..open].trim_end_matches(JSON_WHITESPACE);
        let keep = match before.as_bytes().last() {
            Some(b',') => before[..before.len() - 1]
                .trim_end_matches(JSON_WHITESPACE)
                .len(),
            Some(b'[') => before.len(),
            _ => return None,
        };
        let offset = serde_json::from_str::<String>(&items[open..]).ok()?;
        self.json.truncate(keep);
        self.json.push(']');
        Some(offset)
    }
}

/// The whitespace JSON allows between tokens.
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Whether the JSON `text` is an array (after any JSON whitespace).
fn is_array(text: &str) -> bool {
    text.trim_start_matches(JSON_WHITESPACE).starts_with('[')
}

/// Checks the JSON `text` of an event's payload and splits it into the name and the
/// arguments. The placeholders are checked once the attachments are in
/// ([`Payload::attach`]).
pub(super) fn split_event(
    text: &str,
    kind: PacketKind,
) -> Result<(String, Payload, Placeholders), DecodeError> {
    if let Ok((found, Some(name))) = Scan::event(text) {
        if let Some(split) = split_plain(text, name, kind, &found)? {
            return Ok(split);
        }
    }
    // Anything else (a name with escapes or not a string, text that is not a valid
    // array) takes the general path, which finds the same errors in the same order.
    split_general(text, kind)
}

/// [`split_event`] for any text: checked whole, then the name read on its own.
fn split_general(
    text: &str,
    kind: PacketKind,
) -> Result<(String, Payload, Placeholders), DecodeError> {
    let invalid = |reason| DecodeError::InvalidPayload { kind, reason };
    let placeholders = walk(text)?;
    let Some(items) = text
        .trim_matches(JSON_WHITESPACE)
        .strip_prefix('[')
        .and_then(|items| items.strip_suffix(']'))
    else {
        return Err(invalid("event payload must be an array"));
    };
    let items = items.trim_start_matches(JSON_WHITESPACE);
    if items.is_empty() {
        return Err(invalid("event array is empty"));
    }
    // The name alone is read, borrowed; the rest of the (valid) text is the arguments.
    let mut stream = serde_json::Deserializer::from_str(items).into_iter::<&RawValue>();
    let name = match stream.next() {
        Some(Ok(name)) => name.get(),
        Some(Err(error)) => return Err(json_error(error)),
        None => return Err(invalid("event array is empty")),
    };
    let rest = items[stream.byte_offset()..].trim_start_matches(JSON_WHITESPACE);
    let name = match name.as_bytes().first().copied() {
        Some(b'"') => {
            let name: String = serde_json::from_str(name).map_err(json_error)?;
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(DecodeError::ReservedEventName(name));
            }
            name
        }
        Some(b'-' | b'0'..=b'9') => serde_json::from_str::<serde_json::Number>(name)
            .map_err(json_error)?
            .to_string(),
        _ => return Err(invalid("event name must be a string or a number")),
    };
    Ok((name, arguments_after_name(rest, kind), placeholders))
}

/// Splits an event's text, a valid JSON array (checked by [`Scan::event`], which `found`
/// its placeholders), whose first item is the string `name`, borrowed from `text` without
/// escapes: the name is its text, the arguments what follows it. `None` when `name` does
/// not lie in `text`.
fn split_plain(
    text: &str,
    name: &str,
    kind: PacketKind,
    found: &[Found],
) -> Result<Option<(String, Payload, Placeholders)>, DecodeError> {
    let Some(start) = (name.as_ptr() as usize).checked_sub(text.as_ptr() as usize) else {
        return Ok(None);
    };
    // After the closing quote.
    let Some(rest) = text.get(start + name.len() + 1..) else {
        return Ok(None);
    };
    if RESERVED_EVENTS.contains(&name) {
        return Err(DecodeError::ReservedEventName(name.to_owned()));
    }
    let Some(rest) = rest.trim_end_matches(JSON_WHITESPACE).strip_suffix(']') else {
        return Ok(None);
    };
    let args = arguments_after_name(rest.trim_start_matches(JSON_WHITESPACE), kind);
    Ok(Some((name.to_owned(), args, Placeholders::of(found))))
}

/// The arguments of an event as a payload: `rest` is the array's text after its first item
/// (the name) and before its closing bracket, either empty or `,` and the arguments.
fn arguments_after_name(rest: &str, kind: PacketKind) -> Payload {
    let json = match rest.strip_prefix(',') {
        Some(args) => {
            let args = args.trim_start_matches(JSON_WHITESPACE);
            let mut json = String::with_capacity(args.len() + 2);
            json.push('[');
            json.push_str(args);
            json.push(']');
            json
        }
        None => "[]".to_owned(),
    };
    Payload {
        json,
        attachments: Vec::new(),
        placeholders: kind.is_binary(),
    }
}

/// Checks the JSON `text` of an ack's payload (`None`: no payload, no arguments).
pub(super) fn check_ack(
    text: Option<&str>,
    kind: PacketKind,
) -> Result<(Payload, Placeholders), DecodeError> {
    let Some(text) = text else {
        return Ok((Payload::default(), Placeholders::default()));
    };
    let placeholders = walk(text)?;
    if !is_array(text) {
        return Err(DecodeError::InvalidPayload {
            kind,
            reason: "ack payload must be an array",
        });
    }
    let payload = Payload {
        json: text.trim_matches(JSON_WHITESPACE).to_owned(),
        attachments: Vec::new(),
        placeholders: kind.is_binary(),
    };
    Ok((payload, placeholders))
}

impl Payload {
    /// Puts the attachments in, once `placeholders` (of its text) are known to name them.
    pub(super) fn attach(
        &mut self,
        placeholders: &Placeholders,
        attachments: Vec<Bytes>,
    ) -> Result<(), DecodeError> {
        if self.placeholders {
            placeholders
                .check(attachments.len())
                .map_err(DecodeError::InvalidPlaceholder)?;
        }
        self.attachments = attachments;
        Ok(())
    }
}

fn json_error(error: serde_json::Error) -> DecodeError {
    DecodeError::InvalidJson(std::sync::Arc::new(error))
}

/// Checks that `text` is JSON within serde_json's nesting limit (the one
/// [`Payload::values`] meets) and notes its placeholders, building nothing.
fn walk(text: &str) -> Result<Placeholders, DecodeError> {
    let found = Scan::whole(text).map_err(json_error)?;
    Ok(Placeholders::of(&found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::{Body, DecodeLimits, Decoder, Incoming};

    #[test]
    fn the_one_walk_split_of_a_plain_name_matches_the_general_split() {
        let texts = [
            r#"["r",{"n":1,"s":"0123456789abcdef"}]"#,
            r#"["r"]"#,
            r#" [ "r" , 1 , [2] ] "#,
            r#"["",{"_placeholder":true,"num":0}]"#,
            r#"["a",{"_placeholder":true}]"#,
            r#"["é",{"x":"\"y"}]"#,
            r#"["a\"b",1]"#,
            r#"[12,"x"]"#,
            r#"[{"a":1},2]"#,
            r#"["connect",1]"#,
            r#"["a",1"#,
            r#"["a",01]"#,
            r#"{"a":1}"#,
            r#"[]"#,
            r#""a""#,
        ];
        for kind in [PacketKind::Event, PacketKind::BinaryEvent] {
            for text in texts {
                let outcome = |split: Result<(String, Payload, Placeholders), DecodeError>| {
                    split.map(|(name, args, placeholders)| {
                        (name, args, placeholders.check(0), placeholders.check(1))
                    })
                };
                assert_eq!(
                    format!("{:?}", outcome(split_event(text, kind))),
                    format!("{:?}", outcome(split_general(text, kind))),
                    "{text}"
                );
            }
        }
    }

    fn decode(text: &str, attachments: &[&'static [u8]]) -> Result<Incoming, DecodeError> {
        let mut decoder = Decoder::new(DecodeLimits::default());
        let mut out = decoder.decode_text(text)?;
        for attachment in attachments {
            out = decoder.decode_binary(Bytes::from_static(attachment))?;
        }
        Ok(out.expect("a complete packet"))
    }

    fn event(text: &str) -> (String, Payload) {
        match decode(text, &[]).unwrap().body {
            Body::Event { name, args } => (name, args),
            other => panic!("{text}: {other:?}"),
        }
    }

    mod split {
        use super::*;

        #[test]
        fn the_name_is_split_off_and_the_arguments_keep_the_servers_text() {
            let (name, args) = event(r#"2["chat",{"b":1,"a":[1, 2.50]},"x"]"#);
            assert_eq!(name, "chat");
            assert_eq!(args.json(), r#"[{"b":1,"a":[1, 2.50]},"x"]"#);
            assert!(args.attachments().is_empty());
        }

        #[test]
        fn an_event_without_arguments_has_an_empty_array() {
            let (name, args) = event(r#"2/admin,7["ping"]"#);
            assert_eq!(name, "ping");
            assert_eq!(args.json(), "[]");
            assert!(args.values().is_empty());
        }

        #[test]
        fn whitespace_around_the_items_stays_outside_the_arguments() {
            let (name, args) = event("2 [ \"a\\u0062\" ,\n1 , [ ] ]");
            assert_eq!(name, "ab");
            assert_eq!(args.json(), "[1 , [ ] ]");
            assert_eq!(args.values(), [Value::from(1), Value::Array(Vec::new())]);
        }

        #[test]
        fn a_number_name_is_its_decimal_text() {
            assert_eq!(event("2[42,true]").0, "42");
            assert_eq!(event("2[-1.5]").0, "-1.5");
        }

        #[test]
        fn an_ack_keeps_its_whole_array_and_one_without_payload_has_none() {
            let ack = |text| match decode(text, &[]).unwrap().body {
                Body::Ack(args) => args,
                other => panic!("{other:?}"),
            };
            assert_eq!(
                ack(r#"35[1,{"z":0,"a":"b"}]"#).json(),
                r#"[1,{"z":0,"a":"b"}]"#
            );
            assert_eq!(ack("35").json(), "[]");
        }

        #[test]
        fn a_binary_event_carries_its_attachments_and_reads_them_in_place() {
            let packet = decode(
                r#"52-["up",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}]]"#,
                &[&[1], &[2, 3]],
            )
            .unwrap();
            let Body::Event { args, .. } = packet.body else {
                panic!("an event");
            };
            assert_eq!(args.attachments(), [&[1u8][..], &[2, 3][..]]);
            assert_eq!(
                args.values(),
                [
                    Value::from(vec![2u8, 3]),
                    Value::Array(vec![Value::from(vec![1u8])])
                ]
            );
        }

        #[test]
        fn a_plain_event_keeps_placeholder_objects_as_objects() {
            let (_, args) = event(r#"2["a",{"_placeholder":true,"num":3}]"#);
            assert_eq!(
                args.values()[0].get("_placeholder"),
                Some(&Value::Bool(true))
            );
        }
    }

    mod offsets {
        use super::*;

        #[test]
        fn a_trailing_string_is_taken_off_the_text() {
            for (text, offset, rest) in [
                (r#"2["e",1,"off"]"#, "off", "[1]"),
                (r#"2["e","off"]"#, "off", "[]"),
                (r#"2["e", {"a":[1]} , "o\"ff" ]"#, "o\"ff", r#"[{"a":[1]}]"#),
                (r#"2["e","a","b"]"#, "b", r#"["a"]"#),
                (r#"2["e",["\""],"\\"]"#, "\\", r#"[["\""]]"#),
            ] {
                let (_, mut args) = event(text);
                assert_eq!(args.take_last_string().as_deref(), Some(offset), "{text}");
                assert_eq!(args.json(), rest, "{text}");
            }
        }

        #[test]
        fn a_trailing_argument_that_is_not_a_string_stays() {
            for text in [r#"2["e",1]"#, r#"2["e"]"#, r#"2["e","a",{}]"#] {
                let (_, mut args) = event(text);
                let before = args.json().to_owned();
                assert!(args.take_last_string().is_none(), "{text}");
                assert_eq!(args.json(), before);
            }
        }

        #[test]
        fn payloads_made_of_values_give_their_trailing_string_too() {
            let mut args = Payload::from_values(&[Value::from(1), Value::from("o")]);
            assert_eq!(args.take_last_string().as_deref(), Some("o"));
            assert_eq!(args.values(), [Value::from(1)]);
        }
    }

    mod checks {
        use super::*;

        #[test]
        fn malformed_placeholders_are_refused_when_the_text_arrives() {
            for text in [
                r#"51-["e",{"_placeholder":true}]"#,
                r#"51-["e",{"_placeholder":true,"num":"0"}]"#,
                r#"51-["e",{"_placeholder":true,"num":-1}]"#,
                r#"51-["e",{"_placeholder":true,"num":0.5}]"#,
                r#"51-["e",[[{"_placeholder":true,"num":null}]]]"#,
                r#"61-[{"num":0,"_placeholder":true,"num":{}}]"#,
            ] {
                let mut decoder = Decoder::new(DecodeLimits::default());
                let error = decoder
                    .decode_text(text)
                    .and_then(|_| decoder.decode_binary(Bytes::from_static(&[1])));
                assert!(
                    matches!(error, Err(DecodeError::InvalidPlaceholder(_))),
                    "{text}: {error:?}"
                );
            }
        }

        #[test]
        fn placeholders_must_name_an_attachment() {
            assert!(matches!(
                decode(r#"52-["e",{"_placeholder":true,"num":2}]"#, &[&[1], &[2]]),
                Err(DecodeError::InvalidPlaceholder(_))
            ));
            assert!(matches!(
                decode(r#"60-[{"_placeholder":true,"num":0}]"#, &[]),
                Err(DecodeError::InvalidPlaceholder(_))
            ));
            assert!(decode(r#"62-[{"_placeholder":true,"num":1}]"#, &[&[1], &[2]]).is_ok());
        }

        #[test]
        fn the_members_of_a_placeholder_are_not_checked_as_placeholders() {
            let text =
                r#"51-["e",{"x":{"_placeholder":true,"num":9},"_placeholder":true,"num":0}]"#;
            let packet = decode(text, &[&[7]]).unwrap();
            let Body::Event { args, .. } = packet.body else {
                panic!("an event");
            };
            assert_eq!(args.values(), [Value::from(vec![7u8])]);
        }

        #[test]
        fn an_object_whose_flag_is_not_true_is_no_placeholder() {
            let text = r#"51-["e",{"_placeholder":false,"num":"x"},{"_placeholder":true,"num":0}]"#;
            assert!(decode(text, &[&[7]]).is_ok());
        }

        #[test]
        fn nesting_deeper_than_serde_json_reads_is_refused() {
            let deep = format!("2[\"e\",{}{}]", "[".repeat(200), "]".repeat(200));
            assert!(matches!(
                decode(&deep, &[]),
                Err(DecodeError::InvalidJson(_))
            ));
            let fits = format!("2[\"e\",{}{}]", "[".repeat(100), "]".repeat(100));
            let (_, args) = event(&fits);
            assert_eq!(args.values().len(), 1, "what decodes reads back as values");
        }

        #[test]
        fn malformed_json_is_refused_with_a_typed_error() {
            for text in [
                "2[\"e\",]",
                "2[\"e\" 1]",
                "2[\"e\",\"\\x\"]",
                "3[1,",
                "2[\"e\"]]",
            ] {
                assert!(
                    matches!(decode(text, &[]), Err(DecodeError::InvalidJson(_))),
                    "{text}"
                );
            }
        }
    }

    mod parse {
        use super::*;

        #[test]
        fn reads_typed_arguments_straight_from_the_text() {
            let (_, args) = event(r#"2["e","lobby",3,"ignored"]"#);
            let (room, n): (String, u32) = args.parse().unwrap();
            assert_eq!((room.as_str(), n), ("lobby", 3));
            assert!(args.parse::<(u32,)>().is_err());
        }

        #[test]
        fn reads_placeholders_as_bytes() {
            #[derive(serde::Deserialize)]
            struct Upload {
                name: String,
                data: Bytes,
            }
            let text = r#"52-["e",{"name":"a","data":{"num":1,"_placeholder":true}},{"_placeholder":true,"num":0}]"#;
            let Body::Event { args, .. } = decode(text, &[&[1, 2], &[3]]).unwrap().body else {
                panic!("an event");
            };
            let (upload, raw): (Upload, Vec<u8>) = args.parse().unwrap();
            assert_eq!((upload.name.as_str(), &upload.data[..]), ("a", &[3u8][..]));
            assert_eq!(raw, [1, 2]);
        }
    }
}
