//! What the embedded server does with each event: echo, rooms, broadcasts, `/admin` auth.
//!
//! Arguments are kept as [`ferrio::Value`]s, so binary passes through untouched: the
//! socketioxide parser hands attachments to `Deserialize` as bytes, and `Value` serializes
//! bytes back as attachments.

use std::convert::Infallible;
use std::sync::Arc;

use ferrio::Value;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{FromMessageParts, Value as RawValue};
use socketioxide::socket::{DisconnectReason, Socket};
use socketioxide::SocketIo;

use super::conn::{ConnInfo, Connections};
use crate::clock;

/// The namespace with an auth check.
pub const ADMIN_NAMESPACE: &str = "/admin";
/// The token `/admin` accepts in the auth payload: `{"token":"secret"}`.
pub const ADMIN_TOKEN: &str = "secret";
/// The connect error message of a refused `/admin` connection.
pub const UNAUTHORIZED: &str = "unauthorized";

/// Server-wide context of the handlers.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where the sessions' TCP connections are noted, for `drop`.
    pub connections: Connections,
    /// Whether to log connections to stderr.
    pub log: bool,
}

/// Registers the namespaces `/` and `/admin` and their events on `io`.
///
/// The events are registered by a middleware, which socketioxide awaits before it sends
/// CONNECT: its connect handler runs in a task spawned after CONNECT is sent, so a client
/// that emits at once could otherwise reach a socket with no handlers yet.
pub fn register(io: &SocketIo, context: Context) {
    use socketioxide::handler::ConnectHandler as _;
    let main = context.clone();
    let prepare_main = move |socket: SocketRef| {
        let context = main.clone();
        async move { prepare(socket, context, None) }
    };
    io.ns("/", connected.with(prepare_main));
    let admin = context.clone();
    let prepare_admin = move |socket: SocketRef, Data(auth): Data<serde_json::Value>| {
        let context = admin.clone();
        async move { prepare(socket, context, Some(auth)) }
    };
    let check = context;
    let check_admin = move |socket: SocketRef, Data(auth): Data<serde_json::Value>| {
        let context = check.clone();
        async move { check_token(&socket, &auth, &context) }
    };
    io.ns(
        ADMIN_NAMESPACE,
        connected.with(prepare_admin).with(check_admin),
    );
}

/// The connect handler: everything was set up by [`prepare`] before CONNECT was sent.
async fn connected(_socket: SocketRef) {}

/// `/admin`'s middleware: the auth payload must have `"token": "secret"`.
fn check_token(
    socket: &SocketRef,
    auth: &serde_json::Value,
    context: &Context,
) -> Result<(), &'static str> {
    if auth.get("token").and_then(serde_json::Value::as_str) == Some(ADMIN_TOKEN) {
        return Ok(());
    }
    if context.log {
        eprintln!(
            "{} refused    {} {} ({UNAUTHORIZED}){}",
            clock::now(),
            socket.ns(),
            socket.id,
            peer_of(socket)
                .map(|p| format!(" from {p}"))
                .unwrap_or_default()
        );
    }
    Err(UNAUTHORIZED)
}

/// A namespace connection being accepted (a middleware, run before CONNECT is sent): notes
/// its TCP connection, logs it, registers the events.
fn prepare(
    socket: SocketRef,
    context: Context,
    auth: Option<serde_json::Value>,
) -> Result<(), Infallible> {
    let conn = socket.req_parts().extensions.get::<ConnInfo>().cloned();
    if let Some(conn) = &conn {
        context.connections.note(&socket.id.to_string(), conn);
    }
    if context.log {
        let transport = format!("{:?}", socket.transport_type()).to_lowercase();
        eprintln!(
            "{} connect    {} {} ({transport}{})",
            clock::now(),
            socket.ns(),
            socket.id,
            conn.map(|c| format!(", {}", c.peer)).unwrap_or_default()
        );
        socket.on_disconnect(async |socket: SocketRef, reason: DisconnectReason| {
            eprintln!(
                "{} disconnect {} {} ({reason})",
                clock::now(),
                socket.ns(),
                socket.id
            );
        });
    }
    socket.on("echo", on_echo);
    socket.on("join", on_join);
    socket.on("leave", on_leave);
    socket.on("broadcast", on_broadcast);
    socket.on("chat", on_chat);
    let connections = context.connections.clone();
    socket.on("drop", move |socket: SocketRef| {
        let connections = connections.clone();
        async move {
            connections.drop_session(&socket.id.to_string());
        }
    });
    if let Some(auth) = auth {
        let auth = Arc::new(auth);
        socket.on("whoami", move |ack: AckSender| {
            let auth = auth.clone();
            async move {
                let _ = ack.send(&(auth.as_ref(),));
            }
        });
    }
    Ok(())
}

/// `echo(...args)`: acknowledges with the same arguments, or emits them back as `echo`.
async fn on_echo(
    socket: SocketRef,
    Data(ArgList(args)): Data<ArgList>,
    ack: AckSender,
    AckRequested(requested): AckRequested,
) {
    if requested {
        let _ = ack.send(&Args(&args));
    } else {
        let _ = socket.emit("echo", &Args(&args));
    }
}

/// `join(room)`: joins the room, acknowledges with `true`.
async fn on_join(socket: SocketRef, Data(room): Data<(String,)>, ack: AckSender) {
    socket.join(room.0);
    let _ = ack.send(&(true,));
}

/// `leave(room)`: leaves the room, acknowledges with `true`.
async fn on_leave(socket: SocketRef, Data(room): Data<(String,)>, ack: AckSender) {
    socket.leave(room.0);
    let _ = ack.send(&(true,));
}

/// `broadcast(room, ...args)`: emits `message` with the arguments to everyone in the room
/// (the sender too when it is in it); acknowledges with `true`, or `false` without a room.
async fn on_broadcast(
    io: SocketIo,
    socket: SocketRef,
    Data(ArgList(args)): Data<ArgList>,
    ack: AckSender,
) {
    let Some((Value::String(room), rest)) = args.split_first() else {
        let _ = ack.send(&(false,));
        return;
    };
    if let Some(namespace) = io.of(socket.ns()) {
        let _ = namespace
            .to(room.clone())
            .emit("message", &Args(rest))
            .await;
    }
    let _ = ack.send(&(true,));
}

/// `chat(...args)`: emits `chat` with the arguments to every socket of the namespace.
async fn on_chat(io: SocketIo, socket: SocketRef, Data(ArgList(args)): Data<ArgList>) {
    if let Some(namespace) = io.of(socket.ns()) {
        let _ = namespace.emit("chat", &Args(&args)).await;
    }
}

/// The client's address, from the handshake request.
fn peer_of(socket: &SocketRef) -> Option<std::net::SocketAddr> {
    socket
        .req_parts()
        .extensions
        .get::<ConnInfo>()
        .map(|conn| conn.peer)
}

/// Arguments serialized as a tuple, which socketioxide spreads into separate arguments
/// (a `Vec` would be one array argument).
pub struct Args<'a>(pub &'a [Value]);

impl Serialize for Args<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for value in self.0 {
            tuple.serialize_element(value)?;
        }
        tuple.end()
    }
}

/// All the arguments of an event. It deserializes as a tuple of any length, which
/// socketioxide fills with every argument (any other type gets only the first).
pub struct ArgList(pub Vec<Value>);

impl<'de> Deserialize<'de> for ArgList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgListVisitor;
        impl<'de> Visitor<'de> for ArgListVisitor {
            type Value = ArgList;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a list of arguments")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ArgList, A::Error> {
                let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(arg) = seq.next_element::<Value>()? {
                    args.push(arg);
                }
                Ok(ArgList(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgListVisitor)
    }
}

/// Whether the client asked for an acknowledgement of this event (socketioxide's
/// `AckSender` does not tell).
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = Infallible;

    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut RawValue,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(AckRequested(ack_id.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_arg_list_takes_every_element_of_any_length() {
        let ArgList(args) = serde_json::from_value(json!([1, "a", {"b": null}])).unwrap();
        assert_eq!(
            args,
            vec![
                Value::from(1),
                Value::from("a"),
                Value::from(json!({"b": null}))
            ]
        );
        let ArgList(none) = serde_json::from_value(json!([])).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn args_serialize_as_a_tuple_of_their_values() {
        let args = [Value::from(1), Value::from("a")];
        assert_eq!(serde_json::to_value(Args(&args)).unwrap(), json!([1, "a"]));
        assert_eq!(serde_json::to_value(Args(&[])).unwrap(), json!([]));
    }
}
