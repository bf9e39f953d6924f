//! The short form of `ferrio connect`'s interactive input: `emit chat "hello" {"n":1}`.
//!
//! A line starting with `{` is a JSON command as in [`crate::input`]. Otherwise the first
//! word is the command (`emit`, `ack`, `disconnect`, `help`, `quit`) and the rest are
//! arguments: each is a JSON value, else a plain word taken as a string.

use serde_json::Value as Json;

use crate::input::{parse_line, Command, Emit, Target, DEFAULT_ACK_TIMEOUT};
use crate::json::from_json;

/// The help text of the interactive session.
pub const HELP: &str = "\
Commands (or a JSON line such as {\"emit\":\"echo\",\"args\":[1],\"ack\":true}):
  emit [/NS] EVENT [ARG]...   emit EVENT; each ARG is JSON (1, true, null, {\"a\":1},
                              [1,2], \"two words\", {\"$binary\":\"AQI=\"}), else a plain
                              word is a string: emit chat hello {\"n\":1}
  ack [/NS] EVENT [ARG]...    emit and wait for the acknowledgement (5 s): ack echo 1 2
  disconnect [NS]             disconnect NS, or every namespace (then quit)
  {\"ack\":ID,\"args\":[...]}    answer the server's request of an event shown (ack ID)
  help                        this text
  quit                        wait for pending acks, then exit (also Ctrl-D)";

/// One interactive input line.
#[derive(Debug, Clone, PartialEq)]
pub enum Interactive {
    /// A command, as the JSON form has.
    Command(Command),
    /// Print the help.
    Help,
    /// End the session.
    Quit,
}

/// Parses one interactive line: `Ok(None)` for a blank line.
///
/// # Errors
/// A message for the user when the command is unknown or its arguments are malformed.
pub fn parse_interactive(line: &str) -> Result<Option<Interactive>, String> {
    let line = line.trim();
    if line.starts_with('{') {
        return parse_line(line).map(|command| command.map(Interactive::Command));
    }
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim_start()),
        None => (line, ""),
    };
    match word {
        "" => Ok(None),
        "emit" => parse_emit(rest, false).map(Some),
        "ack" => parse_emit(rest, true).map(Some),
        "disconnect" => parse_disconnect(rest).map(Some),
        "help" | "?" => Ok(Some(Interactive::Help)),
        "quit" | "exit" => Ok(Some(Interactive::Quit)),
        other => Err(format!(
            "unknown command {other:?}: try emit, ack, disconnect, help or quit"
        )),
    }
}

/// `emit [/NS] EVENT [ARG]...` and `ack ...`.
fn parse_emit(text: &str, ack: bool) -> Result<Interactive, String> {
    let command = if ack { "ack" } else { "emit" };
    let mut tokens = split_args(text)?.into_iter();
    let mut first = tokens
        .next()
        .ok_or_else(|| format!("{command}: expected an event name, e.g. {command} chat hello"))?;
    let mut namespace = None;
    if let Token::Word(word) = &first {
        if word.starts_with('/') && !tokens.as_slice().is_empty() {
            namespace = Some(word.clone());
            first = tokens.next().unwrap_or(Token::Word(String::new()));
        }
    }
    let event = match first {
        Token::Word(word) => word,
        Token::Json(Json::String(name)) => name,
        Token::Json(other) => {
            return Err(format!(
                "{command}: the event name must be a word or a JSON string, got {other}"
            ))
        }
    };
    let args = tokens
        .map(|token| match token {
            Token::Json(json) => from_json(json),
            Token::Word(word) => Ok(ferrio::Value::String(word)),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{command}: {e}"))?;
    Ok(Interactive::Command(Command::Emit(Emit {
        event,
        args,
        ack: ack.then_some(DEFAULT_ACK_TIMEOUT),
        volatile: false,
        namespace,
    })))
}

/// `disconnect [NS]`.
fn parse_disconnect(text: &str) -> Result<Interactive, String> {
    let mut words = text.split_whitespace();
    let target = match (words.next(), words.next()) {
        (None, _) => Target::All,
        (Some(namespace), None) => Target::Namespace(namespace.to_owned()),
        (Some(_), Some(_)) => return Err("disconnect: expected at most one namespace".to_owned()),
    };
    Ok(Interactive::Command(Command::Disconnect(target)))
}

/// An argument as typed.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A JSON value: `1`, `true`, `null`, `"a b"`, `{...}`, `[...]`.
    Json(Json),
    /// Any other word, taken as a string.
    Word(String),
}

/// Splits `text` into arguments. A token starting with `{`, `[` or `"` is one JSON value
/// (spaces inside allowed); any other run of non-space characters is a JSON scalar when
/// it parses as one (`42`, `-1.5`, `true`, `null`), else a string.
fn split_args(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (token, after) = if rest.starts_with(['{', '[', '"']) {
            let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Json>();
            let value = match values.next() {
                Some(Ok(value)) => value,
                Some(Err(error)) => {
                    return Err(format!(
                        "{} is not valid JSON ({error}); write text with spaces as \"...\"",
                        excerpt(rest)
                    ))
                }
                None => unreachable!("the text is not empty"),
            };
            let after = &rest[values.byte_offset()..];
            if !after.is_empty() && !after.starts_with(char::is_whitespace) {
                return Err(format!(
                    "{}: expected a space after the JSON value",
                    excerpt(rest)
                ));
            }
            (Token::Json(value), after)
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            let token = match serde_json::from_str::<Json>(word) {
                Ok(json) => Token::Json(json),
                Err(_) => Token::Word(word.to_owned()),
            };
            (token, &rest[end..])
        };
        tokens.push(token);
        rest = after.trim_start();
    }
    Ok(tokens)
}

/// The start of `text` for a message: `{"n":…`.
fn excerpt(text: &str) -> String {
    const LONGEST: usize = 24;
    match text.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("`{}…`", &text[..end]),
        None => format!("`{text}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferrio::Value;
    use serde_json::json;
    use std::time::Duration;

    fn emit(line: &str) -> Emit {
        match parse_interactive(line) {
            Ok(Some(Interactive::Command(Command::Emit(emit)))) => emit,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn error(line: &str) -> String {
        parse_interactive(line).unwrap_err()
    }

    mod emit {
        use super::*;

        #[test]
        fn arguments_are_json_or_else_strings() {
            let emit = emit(r#"emit chat "hello" {"n":1} hi 42 -1.5 true null [1, 2]"#);
            assert_eq!(emit.event, "chat");
            assert_eq!(emit.ack, None);
            assert_eq!(emit.namespace, None);
            assert_eq!(
                emit.args,
                vec![
                    Value::from(json!("hello")),
                    Value::from(json!({"n": 1})),
                    Value::from(json!("hi")),
                    Value::from(json!(42)),
                    Value::from(json!(-1.5)),
                    Value::from(json!(true)),
                    Value::Null,
                    Value::from(json!([1, 2])),
                ]
            );
        }

        #[test]
        fn json_values_may_contain_spaces() {
            let emit = emit(r#"emit e {"a b": [1, 2], "c": "d e"}   "x y""#);
            assert_eq!(
                emit.args,
                vec![
                    Value::from(json!({"a b": [1, 2], "c": "d e"})),
                    Value::from(json!("x y"))
                ]
            );
        }

        #[test]
        fn words_that_are_not_json_stay_strings() {
            let emit = emit("emit e it's 0x10 1.2.3 truely");
            let expected: Vec<Value> = ["it's", "0x10", "1.2.3", "truely"]
                .into_iter()
                .map(Value::from)
                .collect();
            assert_eq!(emit.args, expected);
        }

        #[test]
        fn no_arguments_is_an_empty_list() {
            assert_eq!(emit("emit ping").args, vec![]);
        }

        #[test]
        fn binary_markers_become_bytes() {
            let emit = emit(r#"emit e {"$binary":"AQI="}"#);
            assert_eq!(emit.args, vec![Value::Binary(Bytes::from_static(&[1, 2]))]);
        }

        #[test]
        fn a_leading_slash_word_names_the_namespace() {
            let emit = emit("emit /admin whoami 1");
            assert_eq!(emit.namespace.as_deref(), Some("/admin"));
            assert_eq!(emit.event, "whoami");
            assert_eq!(emit.args, vec![Value::from(json!(1))]);
        }

        #[test]
        fn a_lone_slash_word_is_the_event() {
            let emit = emit("emit /cmd");
            assert_eq!(emit.namespace, None);
            assert_eq!(emit.event, "/cmd");
        }

        #[test]
        fn a_quoted_event_name_may_have_spaces() {
            assert_eq!(emit(r#"emit "my event" 1"#).event, "my event");
        }

        #[test]
        fn extra_spaces_are_ignored() {
            let emit = emit("   emit   chat    hi   ");
            assert_eq!(emit.event, "chat");
            assert_eq!(emit.args, vec![Value::from("hi")]);
        }

        #[test]
        fn a_missing_or_non_string_event_name_is_an_error() {
            assert!(error("emit").contains("event name"));
            assert!(error("emit 42").contains("event name"));
            assert!(error("emit {}").contains("event name"));
        }

        #[test]
        fn invalid_json_is_an_error_quoting_it() {
            let message = error(r#"emit e 1 {"n":}"#);
            assert!(
                message.contains(r#"`{"n":}` is not valid JSON"#),
                "{message}"
            );
            let message = error(r#"emit e "unterminated and a long text after it"#);
            assert!(
                message.contains(r#"`"unterminated and a long…` is not valid JSON"#),
                "{message}"
            );
        }

        #[test]
        fn json_glued_to_a_word_is_an_error() {
            assert!(error(r#"emit e {"a":1}x"#).contains("expected a space"));
        }

        #[test]
        fn bad_base64_is_an_error() {
            assert!(error(r#"emit e {"$binary":"%%"}"#).contains("base64"));
        }
    }

    mod ack {
        use super::*;

        #[test]
        fn ack_waits_five_seconds_for_the_reply() {
            let emit = emit("ack echo 1 two");
            assert_eq!(emit.event, "echo");
            assert_eq!(emit.ack, Some(Duration::from_secs(5)));
            assert_eq!(emit.args, vec![Value::from(json!(1)), Value::from("two")]);
        }

        #[test]
        fn ack_takes_a_namespace_too() {
            assert_eq!(
                emit("ack /admin whoami").namespace.as_deref(),
                Some("/admin")
            );
        }
    }

    mod other_commands {
        use super::*;

        #[test]
        fn disconnect_without_a_namespace_disconnects_everything() {
            assert_eq!(
                parse_interactive("disconnect"),
                Ok(Some(Interactive::Command(Command::Disconnect(Target::All))))
            );
        }

        #[test]
        fn disconnect_with_a_namespace_disconnects_it() {
            assert_eq!(
                parse_interactive("disconnect /admin"),
                Ok(Some(Interactive::Command(Command::Disconnect(
                    Target::Namespace("/admin".into())
                ))))
            );
            assert!(error("disconnect /a /b").contains("at most one"));
        }

        #[test]
        fn help_and_quit_are_recognized() {
            assert_eq!(parse_interactive("help"), Ok(Some(Interactive::Help)));
            assert_eq!(parse_interactive("?"), Ok(Some(Interactive::Help)));
            assert_eq!(parse_interactive("quit"), Ok(Some(Interactive::Quit)));
            assert_eq!(parse_interactive("exit"), Ok(Some(Interactive::Quit)));
        }

        #[test]
        fn blank_lines_are_ignored() {
            assert_eq!(parse_interactive(""), Ok(None));
            assert_eq!(parse_interactive("  \t"), Ok(None));
        }

        #[test]
        fn json_lines_are_still_accepted() {
            let emit = emit(r#"{"emit":"echo","args":[1],"ack":true}"#);
            assert_eq!(emit.event, "echo");
            assert_eq!(emit.ack, Some(DEFAULT_ACK_TIMEOUT));
            assert!(error(r#"{"emit":1}"#).contains("\"emit\""));
        }

        #[test]
        fn an_unknown_command_suggests_the_known_ones() {
            let message = error("send chat hi");
            assert!(message.contains("\"send\""), "{message}");
            assert!(message.contains("emit"), "{message}");
        }
    }
}
