//! Emits given as JSON text: the text is checked, then framed as it is, without building
//! values (the fast path of the foreign-language bindings, which already hold JSON text).

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::Ordering;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

use super::{check_event, Socket};
use crate::error::EmitError;
use crate::value::{Value, ValueError};

impl Socket {
    /// Emits without waiting, the event and its arguments given as the JSON text of the
    /// array `[event, ...args]`, the data of the Socket.IO packet. The text is checked (one
    /// pass, nothing built) and sent as it is: for callers that already hold JSON text,
    /// such as a foreign-language binding. The arguments cannot carry binary.
    ///
    /// # Examples
    /// ```no_run
    /// # fn f(socket: ferrio::Socket) -> Result<(), ferrio::EmitError> {
    /// socket.try_emit_json(r#"["chat",{"room":"lobby","text":"hello"}]"#)?;
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`EmitError::Serialize`] when the text is not JSON, or not an array whose first
    /// item is the event name; otherwise as [`Socket::try_emit`].
    pub fn try_emit_json(&self, data_json: &str) -> Result<(), EmitError> {
        let data = data_json.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let event = event_name(data)?;
        if self.inner.retries > 0 || self.inner.outgoing_listeners.load(Ordering::Relaxed) > 0 {
            // The at-least-once queue keeps values, outgoing listeners are handed values:
            // take the general path.
            let mut args: Vec<Value> = serde_json::from_str(data).map_err(invalid_json)?;
            args.remove(0);
            return self.try_emit_values(&event, args);
        }
        check_event(&event)?;
        let namespace = &self.inner.namespace;
        let mut text = String::with_capacity(namespace.len() + data.len() + 2);
        text.push('2');
        if !namespace.is_empty() && &**namespace != "/" {
            text.push_str(namespace);
            text.push(',');
        }
        text.push_str(data);
        let emit = self.finish(text, Vec::new(), false)?;
        self.try_send_emit(emit)
    }
}

fn invalid_json(error: serde_json::Error) -> EmitError {
    EmitError::Serialize(ValueError(format!("invalid JSON arguments: {error}")))
}

/// The event name of `[event, ...args]`, checking that the whole text is JSON.
fn event_name(data: &str) -> Result<Cow<'_, str>, EmitError> {
    serde_json::from_str::<NamedArgs<'_>>(data)
        .map(|named| named.0)
        .map_err(invalid_json)
}

/// `[event, ...args]`, of which only the name is kept (the rest is checked and skipped).
struct NamedArgs<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for NamedArgs<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(NamedArgsVisitor)
    }
}

struct NamedArgsVisitor;

impl<'de> Visitor<'de> for NamedArgsVisitor {
    type Value = NamedArgs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array whose first item is the event name")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(EventName(name)) = seq.next_element()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(NamedArgs(name))
    }
}

/// A JSON string, borrowed from the text when it has no escapes.
#[derive(serde::Deserialize)]
struct EventName<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use super::*;

    mod event_name {
        use super::*;

        #[test]
        fn is_the_first_item_borrowed_when_unescaped() {
            let name = event_name(r#"["chat",{"a":[1,2.5,null]},"x"]"#).unwrap();
            assert!(matches!(name, Cow::Borrowed("chat")));
            assert_eq!(event_name(r#"["a\"b"]"#).unwrap(), "a\"b");
        }

        #[test]
        fn rejects_text_that_is_not_an_array_starting_with_a_string() {
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
                    matches!(event_name(text), Err(EmitError::Serialize(_))),
                    "{text:?}"
                );
            }
        }
    }
}
