//! Emits given as JSON text plus attachments, the form the foreign-language bindings hold:
//! the text is checked (one pass, nothing built), its placeholders checked against the
//! attachments, then framed as it is.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use super::{check_event, Ack, Socket};
use crate::error::{AckError, EmitError};
use crate::manager::command::OutgoingEmit;
use crate::socketio::binary::reconstruct;
use crate::socketio::json_text::{CheckedJson, JsonTextError, Shape};
use crate::socketio::packet::{frame, Header};
use crate::socketio::PacketKind;
use crate::value::{Value, ValueError};

/// An emit given as JSON text: each binary node of the arguments is the placeholder
/// `{"_placeholder":true,"num":K}`, K an index into the attachments (the Socket.IO wire
/// convention).
///
/// The text goes on the wire as it is, checked but never parsed into values (unless the
/// socket has `retries` or outgoing listeners, which keep values). The packet carries the
/// attachments its placeholders name, renumbered in the order the text names them when
/// that differs from the list given (as in an emit batch, numbered across its emits).
///
/// # Examples
/// ```no_run
/// # async fn f(socket: ferrio::Socket) -> Result<(), ferrio::EmitError> {
/// use bytes::Bytes;
/// use ferrio::JsonEmit;
/// let picture = [Bytes::from_static(&[0x89, b'P', b'N', b'G'])];
/// let upload = JsonEmit::new("upload", r#"["me.png",{"_placeholder":true,"num":0}]"#, &picture);
/// socket.emit_json(&upload).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonEmit<'a> {
    /// The event name, unless it is the first item of `json`.
    event: Option<&'a str>,
    /// The JSON text of the array.
    json: &'a str,
    attachments: &'a [Bytes],
}

impl<'a> JsonEmit<'a> {
    /// `event` with the arguments `args_json`, the JSON text of an array (`[]` for none).
    pub fn new(event: &'a str, args_json: &'a str, attachments: &'a [Bytes]) -> Self {
        JsonEmit {
            event: Some(event),
            json: args_json,
            attachments,
        }
    }

    /// The event and its arguments as one array, `[event, ...args]`: the data of the
    /// Socket.IO packet.
    pub fn named(data_json: &'a str, attachments: &'a [Bytes]) -> Self {
        JsonEmit {
            event: None,
            json: data_json,
            attachments,
        }
    }
}

/// An emit ready to queue, or its event and arguments as values for the general path.
enum Prepared {
    Emit(OutgoingEmit),
    Values(String, Vec<Value>),
}

impl Socket {
    /// Emits without waiting, the event and its arguments given as the JSON text of the
    /// array `[event, ...args]`, the data of the Socket.IO packet, without binary. The text
    /// is checked (one pass, nothing built) and sent as it is: for callers that already
    /// hold JSON text, such as a foreign-language binding.
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
        self.try_emit_json_with(&JsonEmit::named(data_json, &[]))
    }

    /// Emits without waiting an emit given as JSON text with attachments ([`JsonEmit`]).
    ///
    /// # Errors
    /// [`EmitError::Serialize`] when the text is not JSON, not an array of the expected
    /// shape, or a placeholder is malformed or names a missing attachment; otherwise as
    /// [`Socket::try_emit`].
    pub fn try_emit_json_with(&self, emit: &JsonEmit<'_>) -> Result<(), EmitError> {
        match self.prepare_json(emit, None, false)? {
            Prepared::Emit(emit) => self.try_send_emit(emit),
            Prepared::Values(event, args) => self.try_emit_values(&event, args),
        }
    }

    /// Emits an emit given as JSON text with attachments, waiting while the outgoing queue
    /// is full.
    ///
    /// # Errors
    /// As [`Socket::try_emit_json_with`], without [`EmitError::QueueFull`].
    pub async fn emit_json(&self, emit: &JsonEmit<'_>) -> Result<(), EmitError> {
        match self.prepare_json(emit, None, false)? {
            Prepared::Emit(emit) => self.send_emit(emit).await,
            Prepared::Values(event, args) => self.emit_values(&event, args).await,
        }
    }

    /// Like [`Socket::try_emit_json_with`], volatile (see [`Socket::emit_volatile`]).
    ///
    /// # Errors
    /// As [`Socket::try_emit_json_with`].
    pub fn try_emit_volatile_json(&self, emit: &JsonEmit<'_>) -> Result<(), EmitError> {
        match self.prepare_json(emit, None, true)? {
            Prepared::Emit(emit) => self.try_send_emit(emit),
            Prepared::Values(event, args) => self.try_emit_volatile_values(&event, args),
        }
    }

    /// Like [`Socket::emit_json`], volatile (see [`Socket::emit_volatile`]).
    ///
    /// # Errors
    /// As [`Socket::emit_json`].
    pub async fn emit_volatile_json(&self, emit: &JsonEmit<'_>) -> Result<(), EmitError> {
        match self.prepare_json(emit, None, true)? {
            Prepared::Emit(emit) => self.send_emit(emit).await,
            Prepared::Values(event, args) => self.emit_volatile_values(&event, args).await,
        }
    }

    /// Emits an emit given as JSON text with attachments and waits for the server's
    /// acknowledgement, at most `timeout`.
    ///
    /// # Errors
    /// As [`Socket::emit_with_ack`]; [`AckError::Emit`] with the errors of
    /// [`Socket::emit_json`].
    pub async fn emit_json_with_ack(
        &self,
        emit: &JsonEmit<'_>,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let id = (self.inner.retries == 0)
            .then(|| self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed));
        match self.prepare_json(emit, id, false)? {
            Prepared::Emit(emit) => self.send_and_await_ack(emit, timeout).await,
            Prepared::Values(event, args) => self.emit_values_with_ack(&event, args, timeout).await,
        }
    }

    /// The emit of `emit` asking for ack `ack_id`, its text framed as it is; or its event
    /// and arguments as values when the at-least-once queue or outgoing listeners need
    /// them.
    fn prepare_json(
        &self,
        emit: &JsonEmit<'_>,
        ack_id: Option<u64>,
        volatile: bool,
    ) -> Result<Prepared, EmitError> {
        let shape = match emit.event {
            Some(_) => Shape::Args,
            None => Shape::Named,
        };
        let checked = CheckedJson::check(emit.json, shape, emit.attachments).map_err(invalid)?;
        let event = emit.event.or(checked.event()).unwrap_or_default();
        if self.inner.retries > 0 || self.inner.outgoing_listeners.load(Ordering::Relaxed) > 0 {
            let mut args = values(emit.json, emit.attachments)?;
            if shape == Shape::Named {
                args.remove(0);
            }
            return Ok(Prepared::Values(event.to_owned(), args));
        }
        check_event(event)?;
        let namespace = &*self.inner.namespace;
        let mut text = String::with_capacity(namespace.len() + event.len() + emit.json.len() + 8);
        let header = Header {
            kind: PacketKind::Event,
            nsp: namespace,
            id: ack_id,
            attachments: checked.attachment_count(),
        };
        let framed = frame(&mut text, header, |out| {
            checked.write_data(event, out);
            Ok::<(), Infallible>(())
        });
        match framed {
            Ok(()) => {}
            Err(never) => match never {},
        }
        let emit = self.finish(text, checked.into_attachments(), volatile)?;
        Ok(Prepared::Emit(emit.asking(ack_id)))
    }
}

fn invalid(error: JsonTextError) -> EmitError {
    EmitError::Serialize(ValueError(error.to_string()))
}

/// The items of `json` (checked) as values, binary in place of the placeholders.
fn values(json: &str, attachments: &[Bytes]) -> Result<Vec<Value>, EmitError> {
    let mut items: Vec<Value> =
        serde_json::from_str(json).map_err(|error| invalid(JsonTextError::Json(error)))?;
    for item in &mut items {
        reconstruct(item, attachments)
            .map_err(|error| EmitError::Serialize(ValueError(error.to_string())))?;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::write_json;
    use crate::{to_args, Manager};

    #[derive(serde::Serialize)]
    struct Msg {
        n: u64,
        s: &'static str,
    }

    /// The text and attachments of an emit.
    fn wire(emit: OutgoingEmit) -> (String, Vec<Bytes>) {
        emit.into_wire()
    }

    fn prepared(prepared: Prepared) -> (String, Vec<Bytes>) {
        match prepared {
            Prepared::Emit(emit) => wire(emit),
            Prepared::Values(event, _) => panic!("{event} took the values path"),
        }
    }

    /// The frames of the emit of `event` with `args` by each path that takes them: typed
    /// arguments (`None` when they need the value path), values, JSON text with the event
    /// apart and as the first item.
    fn frames<T: serde::Serialize + ?Sized>(
        socket: &Socket,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> [Option<(String, Vec<Bytes>)>; 4] {
        let values = to_args(args).unwrap();
        let typed = socket
            .prepare_plain(event, args, id, false)
            .unwrap()
            .map(wire);
        let by_values = wire(socket.prepare(event, values.clone(), id, false).unwrap());
        let mut attachments = Vec::new();
        let mut args_json = String::from("[");
        let mut data_json = serde_json::to_string(&[event]).unwrap();
        data_json.pop();
        for (i, value) in values.iter().enumerate() {
            let start = args_json.len();
            if i > 0 {
                args_json.push(',');
            }
            write_json(value, &mut args_json, &mut attachments);
            data_json.push(',');
            data_json.push_str(args_json[start..].trim_start_matches(','));
        }
        args_json.push(']');
        data_json.push(']');
        let apart = JsonEmit::new(event, &args_json, &attachments);
        let apart = prepared(socket.prepare_json(&apart, id, false).unwrap());
        let named = JsonEmit::named(&data_json, &attachments);
        let named = prepared(socket.prepare_json(&named, id, false).unwrap());
        [typed, Some(by_values), Some(apart), Some(named)]
    }

    #[tokio::test]
    async fn outgoing_events_are_built_while_an_outgoing_listener_is_registered() {
        let manager = Manager::new("http://127.0.0.1:1").unwrap();
        let socket = manager.socket("/");
        let listening = || socket.inner.outgoing_listeners.load(Ordering::Relaxed);
        let first = socket.on_any_outgoing(|_| {});
        let second = socket.on_any_outgoing(|_| {});
        assert_eq!(listening(), 2);
        socket.off(first);
        socket.off(first);
        assert_eq!(listening(), 1, "removed once");
        socket.off_any_outgoing();
        socket.off(second);
        assert_eq!(listening(), 0, "not below none");
        let named = socket.on("e", |_| {});
        socket.off(named);
        assert_eq!(listening(), 0);
        socket.off(socket.on_any_outgoing(|_| {}));
        assert_eq!(listening(), 0);
    }

    #[tokio::test]
    async fn every_emit_path_writes_the_same_frame() {
        let manager = Manager::new("http://127.0.0.1:1").unwrap();
        let main = manager.socket("/");
        let admin = manager.socket("/admin");
        let msg = Msg { n: 7, s: "q\"é" };
        let plain = r#"["e",{"n":7,"s":"q\"é"}]"#;
        let cases = [
            (&main, None, format!("2{plain}")),
            (&main, Some(12), format!("212{plain}")),
            (&admin, None, format!("2/admin,{plain}")),
            (&admin, Some(0), format!("2/admin,0{plain}")),
        ];
        for (socket, id, expected) in cases {
            for frame in frames(socket, "e", &msg, id) {
                assert_eq!(frame, Some((expected.clone(), Vec::new())), "{id:?}");
            }
        }
        for frame in frames(&main, "none", &(), None) {
            assert_eq!(frame, Some((r#"2["none"]"#.to_owned(), Vec::new())));
        }
    }

    #[tokio::test]
    async fn every_emit_path_writes_the_same_binary_frame() {
        let manager = Manager::new("http://127.0.0.1:1").unwrap();
        let admin = manager.socket("/admin");
        let one = Bytes::from_static(&[1, 2]);
        let two = Bytes::from_static(&[3]);
        let args = (
            "name",
            one.clone(),
            vec![Value::Binary(two.clone()), Value::Null],
        );
        let placeholders =
            r#"["up","name",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1},null]]"#;
        let [typed, rest @ ..] = frames(&admin, "up", &args, Some(3));
        assert_eq!(typed, None);
        for frame in rest {
            assert_eq!(
                frame,
                Some((
                    format!("52-/admin,3{placeholders}"),
                    vec![one.clone(), two.clone()]
                ))
            );
        }
    }

    #[tokio::test]
    async fn json_text_keeps_its_errors_typed() {
        let manager = Manager::new("http://127.0.0.1:1").unwrap();
        let socket = manager.socket("/");
        let one = [Bytes::from_static(b"x")];
        let serialize = |emit: JsonEmit<'_>| {
            matches!(
                socket.prepare_json(&emit, None, false),
                Err(EmitError::Serialize(_))
            )
        };
        assert!(serialize(JsonEmit::new("e", "[1,", &[])));
        assert!(serialize(JsonEmit::new("e", "{}", &[])));
        assert!(serialize(JsonEmit::named("[1]", &[])));
        assert!(serialize(JsonEmit::new(
            "e",
            r#"[{"_placeholder":true,"num":1}]"#,
            &one
        )));
        assert!(matches!(
            socket.prepare_json(&JsonEmit::new("connect", "[]", &[]), None, false),
            Err(EmitError::ReservedEvent(_))
        ));
        assert!(matches!(
            socket.prepare_json(&JsonEmit::named(r#"["disconnect",1]"#, &[]), None, false),
            Err(EmitError::ReservedEvent(_))
        ));
    }
}
