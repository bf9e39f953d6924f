//! Parsing of the stdin command lines into [`Command`]s.

use std::time::Duration;

use ferrio::Value;
use serde_json::{Map, Value as Json};

use crate::json::from_json;

/// How long an emit with `"ack": true` and no `timeout_ms` waits for its reply.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_millis(5_000);

/// The fields an emit line may have.
const EMIT_FIELDS: [&str; 6] = ["emit", "args", "ack", "timeout_ms", "volatile", "namespace"];

/// The fields a room line may have (besides `join` or `leave`).
const ROOM_FIELDS: [&str; 1] = ["namespace"];

/// The fields an answer line may have.
const ANSWER_FIELDS: [&str; 2] = ["ack", "args"];

/// One command read from stdin.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Emit an event.
    Emit(Emit),
    /// Disconnect namespaces.
    Disconnect(Target),
    /// Answer an acknowledgement request of the server.
    Answer(Answer),
    /// Join or leave a room.
    Room(Room),
}

/// `{"join":"ROOM","namespace":"/x"}` or `{"leave":"ROOM",...}`: the room intent of
/// `Socket::join_room` (joined again after a reconnection that did not recover the
/// session) and `Socket::leave_room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The room.
    pub room: String,
    /// Join (`true`) or leave it.
    pub join: bool,
    /// The namespace, as written; `None` for the default one.
    pub namespace: Option<String>,
}

/// `{"ack":ID,"args":[...]}`: answers the server's request printed with `"ack": ID`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The id of the event line, as the CLI numbered it.
    pub id: u64,
    /// The arguments of the answer, binary already decoded.
    pub args: Vec<Value>,
}

/// `{"emit":"EVENT","args":[...],"ack":true,"timeout_ms":N,"namespace":"/x"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    /// The event name.
    pub event: String,
    /// The arguments, binary already decoded.
    pub args: Vec<Value>,
    /// How long to wait for an acknowledgement; `None` when none is asked for.
    pub ack: Option<Duration>,
    /// A volatile emit: dropped, not buffered, when the connection cannot take it now.
    pub volatile: bool,
    /// The namespace, as written; `None` for the default one.
    pub namespace: Option<String>,
}

/// What `{"disconnect": ...}` disconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `true`: every namespace; the session then ends.
    All,
    /// `"/x"`: one namespace.
    Namespace(String),
}

/// Parses one input line: `Ok(None)` for a blank line.
///
/// # Errors
/// A message for the `error` output line when the line is not JSON, not an object, not a
/// known command, or has a field of the wrong type or an unknown field. A line with
/// `"ack"` and neither `"emit"` nor `"disconnect"` is an [`Answer`]; one with `"join"` or
/// `"leave"` a [`Room`].
pub fn parse_line(line: &str) -> Result<Option<Command>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let json: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(mut object) = json else {
        return Err("a command must be a JSON object".to_owned());
    };
    match (
        object.contains_key("emit"),
        object.contains_key("disconnect"),
    ) {
        (true, true) => Err("a command has either \"emit\" or \"disconnect\", not both".to_owned()),
        (true, false) => parse_emit(&mut object).map(|emit| Some(Command::Emit(emit))),
        (false, true) => {
            parse_disconnect(&mut object).map(|target| Some(Command::Disconnect(target)))
        }
        (false, false) if object.contains_key("ack") => {
            parse_answer(&mut object).map(|answer| Some(Command::Answer(answer)))
        }
        (false, false) if object.contains_key("join") || object.contains_key("leave") => {
            parse_room(&mut object).map(|room| Some(Command::Room(room)))
        }
        (false, false) => Err(format!(
            "unknown command: expected \"emit\", \"disconnect\", \"ack\", \"join\" or \"leave\", got {}",
            key_list(&object)
        )),
    }
}

fn parse_room(object: &mut Map<String, Json>) -> Result<Room, String> {
    let (join, key) = match (object.remove("join"), object.remove("leave")) {
        (Some(room), None) => (true, room),
        (None, Some(room)) => (false, room),
        _ => return Err("a command has either \"join\" or \"leave\", not both".to_owned()),
    };
    let name = if join { "join" } else { "leave" };
    if let Some(unknown) = object
        .keys()
        .find(|key| !ROOM_FIELDS.contains(&key.as_str()))
    {
        return Err(format!("unknown field \"{unknown}\" in a {name} command"));
    }
    let Json::String(room) = key else {
        return Err(format!(
            "\"{name}\" must be a room name string, got {}",
            kind(Some(&key))
        ));
    };
    Ok(Room {
        room,
        join,
        namespace: parse_namespace(object)?,
    })
}

/// The optional `"namespace"` string.
fn parse_namespace(object: &mut Map<String, Json>) -> Result<Option<String>, String> {
    match object.remove("namespace") {
        None => Ok(None),
        Some(Json::String(namespace)) => Ok(Some(namespace)),
        Some(other) => Err(format!(
            "\"namespace\" must be a string, got {}",
            kind(Some(&other))
        )),
    }
}

fn parse_answer(object: &mut Map<String, Json>) -> Result<Answer, String> {
    if let Some(unknown) = object
        .keys()
        .find(|key| !ANSWER_FIELDS.contains(&key.as_str()))
    {
        return Err(format!("unknown field \"{unknown}\" in an ack answer"));
    }
    let id = match object.remove("ack") {
        Some(json) => match json.as_u64() {
            Some(id) => id,
            None => {
                return Err(format!(
                    "\"ack\" of an answer must be the id of an event line, got {json}"
                ))
            }
        },
        None => return Err("an answer needs \"ack\"".to_owned()),
    };
    Ok(Answer {
        id,
        args: parse_args(object)?,
    })
}

/// The optional `"args"` array, binary decoded; empty when absent.
fn parse_args(object: &mut Map<String, Json>) -> Result<Vec<Value>, String> {
    match object.remove("args") {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items.into_iter().map(from_json).collect(),
        Some(other) => Err(format!(
            "\"args\" must be an array, got {}",
            kind(Some(&other))
        )),
    }
}

fn parse_emit(object: &mut Map<String, Json>) -> Result<Emit, String> {
    if let Some(unknown) = object
        .keys()
        .find(|key| !EMIT_FIELDS.contains(&key.as_str()))
    {
        return Err(format!("unknown field \"{unknown}\" in an emit command"));
    }
    let event = match object.remove("emit") {
        Some(Json::String(event)) => event,
        other => {
            return Err(format!(
                "\"emit\" must be a string, got {}",
                kind(other.as_ref())
            ))
        }
    };
    let args = parse_args(object)?;
    let ack = match object.remove("ack") {
        None => false,
        Some(Json::Bool(ack)) => ack,
        Some(other) => {
            return Err(format!(
                "\"ack\" must be true or false, got {}",
                kind(Some(&other))
            ))
        }
    };
    let timeout = match object.remove("timeout_ms") {
        None => None,
        Some(json) => match json.as_u64() {
            Some(ms) => Some(Duration::from_millis(ms)),
            None => {
                return Err(format!(
                    "\"timeout_ms\" must be a whole number of milliseconds, got {json}"
                ))
            }
        },
    };
    if timeout.is_some() && !ack {
        return Err("\"timeout_ms\" applies only with \"ack\": true".to_owned());
    }
    let volatile = match object.remove("volatile") {
        None => false,
        Some(Json::Bool(volatile)) => volatile,
        Some(other) => {
            return Err(format!(
                "\"volatile\" must be true or false, got {}",
                kind(Some(&other))
            ))
        }
    };
    if volatile && ack {
        return Err("a volatile emit cannot ask for an ack".to_owned());
    }
    Ok(Emit {
        event,
        args,
        ack: ack.then(|| timeout.unwrap_or(DEFAULT_ACK_TIMEOUT)),
        volatile,
        namespace: parse_namespace(object)?,
    })
}

fn parse_disconnect(object: &mut Map<String, Json>) -> Result<Target, String> {
    if let Some(unknown) = object.keys().find(|key| key.as_str() != "disconnect") {
        return Err(format!(
            "unknown field \"{unknown}\" in a disconnect command"
        ));
    }
    match object.remove("disconnect") {
        Some(Json::Bool(true)) => Ok(Target::All),
        Some(Json::String(namespace)) => Ok(Target::Namespace(namespace)),
        other => Err(format!(
            "\"disconnect\" must be true or a namespace string, got {}",
            kind(other.as_ref())
        )),
    }
}

/// The JSON type of a value, for messages.
fn kind(json: Option<&Json>) -> &'static str {
    match json {
        None => "nothing",
        Some(Json::Null) => "null",
        Some(Json::Bool(_)) => "a boolean",
        Some(Json::Number(_)) => "a number",
        Some(Json::String(_)) => "a string",
        Some(Json::Array(_)) => "an array",
        Some(Json::Object(_)) => "an object",
    }
}

fn key_list(object: &Map<String, Json>) -> String {
    if object.is_empty() {
        return "an empty object".to_owned();
    }
    let keys: Vec<String> = object.keys().map(|key| format!("\"{key}\"")).collect();
    keys.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn command(line: &str) -> Command {
        parse_line(line).unwrap().unwrap()
    }

    fn error(line: &str) -> String {
        parse_line(line).unwrap_err()
    }

    mod emit {
        use super::*;

        #[test]
        fn a_bare_emit_has_no_args_no_ack_and_the_default_namespace() {
            assert_eq!(
                command(r#"{"emit":"hi"}"#),
                Command::Emit(Emit {
                    event: "hi".into(),
                    args: vec![],
                    ack: None,
                    volatile: false,
                    namespace: None
                })
            );
        }

        #[test]
        fn every_field_is_read() {
            let line = r#"{"emit":"echo","args":[1,"a",{"$binary":"AQI="}],"ack":true,"timeout_ms":300,"namespace":"/x"}"#;
            assert_eq!(
                command(line),
                Command::Emit(Emit {
                    event: "echo".into(),
                    args: vec![
                        1.into(),
                        "a".into(),
                        Value::Binary(Bytes::from_static(&[1, 2]))
                    ],
                    ack: Some(Duration::from_millis(300)),
                    volatile: false,
                    namespace: Some("/x".into()),
                })
            );
        }

        #[test]
        fn an_ack_without_timeout_waits_five_seconds() {
            let Command::Emit(emit) = command(r#"{"emit":"e","ack":true}"#) else {
                panic!()
            };
            assert_eq!(emit.ack, Some(Duration::from_millis(5_000)));
        }

        #[test]
        fn ack_false_asks_for_no_ack() {
            let Command::Emit(emit) = command(r#"{"emit":"e","ack":false}"#) else {
                panic!()
            };
            assert_eq!(emit.ack, None);
        }

        #[test]
        fn fields_of_the_wrong_type_are_errors() {
            for (line, field) in [
                (r#"{"emit":1}"#, "\"emit\""),
                (r#"{"emit":"e","args":"x"}"#, "\"args\""),
                (r#"{"emit":"e","args":null}"#, "\"args\""),
                (r#"{"emit":"e","ack":"yes"}"#, "\"ack\""),
                (
                    r#"{"emit":"e","ack":true,"timeout_ms":-1}"#,
                    "\"timeout_ms\"",
                ),
                (
                    r#"{"emit":"e","ack":true,"timeout_ms":1.5}"#,
                    "\"timeout_ms\"",
                ),
                (r#"{"emit":"e","namespace":7}"#, "\"namespace\""),
            ] {
                assert!(error(line).contains(field), "{line}: {}", error(line));
            }
        }

        #[test]
        fn a_timeout_without_ack_is_an_error() {
            assert!(error(r#"{"emit":"e","timeout_ms":10}"#).contains("ack"));
        }

        #[test]
        fn an_unknown_field_is_an_error() {
            assert!(error(r#"{"emit":"e","timeout":10}"#).contains("\"timeout\""));
        }

        #[test]
        fn bad_base64_in_args_is_an_error() {
            assert!(error(r#"{"emit":"e","args":[{"$binary":"%%"}]}"#).contains("base64"));
        }
    }

    mod volatile_and_rooms {
        use super::*;

        #[test]
        fn a_volatile_emit_is_read_and_cannot_ask_for_an_ack() {
            let Command::Emit(emit) = command(r#"{"emit":"pos","args":[1],"volatile":true}"#)
            else {
                panic!()
            };
            assert!(emit.volatile);
            assert!(error(r#"{"emit":"e","volatile":true,"ack":true}"#).contains("volatile"));
            assert!(error(r#"{"emit":"e","volatile":1}"#).contains("\"volatile\""));
        }

        #[test]
        fn join_and_leave_lines_name_a_room_and_maybe_a_namespace() {
            assert_eq!(
                command(r#"{"join":"lobby","namespace":"/x"}"#),
                Command::Room(Room {
                    room: "lobby".into(),
                    join: true,
                    namespace: Some("/x".into()),
                })
            );
            assert_eq!(
                command(r#"{"leave":"lobby"}"#),
                Command::Room(Room {
                    room: "lobby".into(),
                    join: false,
                    namespace: None,
                })
            );
            for (line, part) in [
                (r#"{"join":"a","leave":"b"}"#, "not both"),
                (r#"{"join":1}"#, "room name"),
                (r#"{"join":"a","args":[]}"#, "\"args\""),
                (r#"{"leave":"a","namespace":false}"#, "\"namespace\""),
            ] {
                assert!(error(line).contains(part), "{line}: {}", error(line));
            }
        }
    }

    mod answer {
        use super::*;

        #[test]
        fn an_answer_reads_the_id_and_the_args() {
            assert_eq!(
                command(r#"{"ack":7,"args":[1,{"$binary":"AQI="}]}"#),
                Command::Answer(Answer {
                    id: 7,
                    args: vec![1.into(), Value::Binary(Bytes::from_static(&[1, 2]))],
                })
            );
        }

        #[test]
        fn an_answer_without_args_has_none() {
            assert_eq!(
                command(r#"{"ack":1}"#),
                Command::Answer(Answer {
                    id: 1,
                    args: vec![]
                })
            );
        }

        #[test]
        fn a_bad_id_args_or_field_is_an_error() {
            for (line, part) in [
                (r#"{"ack":true}"#, "\"ack\""),
                (r#"{"ack":-1}"#, "\"ack\""),
                (r#"{"ack":"1"}"#, "\"ack\""),
                (r#"{"ack":1,"args":3}"#, "\"args\""),
                (r#"{"ack":1,"namespace":"/"}"#, "\"namespace\""),
                (r#"{"ack":1,"args":[{"$binary":"%%"}]}"#, "base64"),
            ] {
                assert!(error(line).contains(part), "{line}: {}", error(line));
            }
        }
    }

    mod disconnect {
        use super::*;

        #[test]
        fn true_disconnects_everything() {
            assert_eq!(
                command(r#"{"disconnect":true}"#),
                Command::Disconnect(Target::All)
            );
        }

        #[test]
        fn a_string_disconnects_one_namespace() {
            assert_eq!(
                command(r#"{"disconnect":"/x"}"#),
                Command::Disconnect(Target::Namespace("/x".into()))
            );
        }

        #[test]
        fn false_numbers_and_extra_fields_are_errors() {
            assert!(error(r#"{"disconnect":false}"#).contains("\"disconnect\""));
            assert!(error(r#"{"disconnect":1}"#).contains("\"disconnect\""));
            assert!(error(r#"{"disconnect":true,"now":1}"#).contains("\"now\""));
        }
    }

    mod lines {
        use super::*;

        #[test]
        fn blank_lines_are_ignored() {
            assert_eq!(parse_line(""), Ok(None));
            assert_eq!(parse_line("  \t\r"), Ok(None));
        }

        #[test]
        fn text_that_is_not_json_is_an_error() {
            assert!(error("hello").starts_with("not JSON"));
            assert!(error(r#"{"emit":"e""#).starts_with("not JSON"));
        }

        #[test]
        fn json_that_is_not_an_object_is_an_error() {
            assert!(error("[1,2]").contains("object"));
            assert!(error("\"emit\"").contains("object"));
        }

        #[test]
        fn an_object_without_a_known_command_is_an_unknown_command() {
            assert!(error(r#"{"subscribe":"room"}"#).starts_with("unknown command"));
            assert!(error("{}").starts_with("unknown command"));
        }

        #[test]
        fn emit_and_disconnect_together_are_an_error() {
            assert!(error(r#"{"emit":"e","disconnect":true}"#).contains("not both"));
        }
    }
}
