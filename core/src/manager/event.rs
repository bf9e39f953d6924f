//! What a socket receives: events from the server and lifecycle changes.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::command::{Command, CommandTx};
use super::queue::TrySendError;
use crate::disconnect::DisconnectReason;
use crate::error::{AckReplyError, ConnectError};
use crate::socketio::Payload;
use crate::value::{to_args, Value, ValueError};

/// An event sent by the server: a name and its arguments, maybe with an ack request.
///
/// The arguments stay in wire form ([`Event::payload`]) until asked for:
/// [`Event::args`] builds the values once, [`Event::parse`] reads them into a type.
#[derive(Debug, Clone)]
pub struct Event {
    /// The namespace it arrived on, e.g. `/` or `/admin`.
    pub namespace: Arc<str>,
    /// The event name.
    pub name: String,
    /// The arguments as they arrived.
    payload: Payload,
    /// The arguments as values, built on first use.
    args: OnceLock<Vec<Value>>,
    ack: Option<AckResponder>,
}

impl Event {
    /// An event received: its arguments in wire form.
    pub(crate) fn new(
        namespace: Arc<str>,
        name: String,
        payload: Payload,
        ack: Option<AckResponder>,
    ) -> Self {
        Self {
            namespace,
            name,
            payload,
            args: OnceLock::new(),
            ack,
        }
    }

    /// An event made of values (one being emitted, for the outgoing listeners).
    pub(crate) fn from_values(namespace: Arc<str>, name: String, args: Vec<Value>) -> Self {
        Self {
            namespace,
            name,
            payload: Payload::from_values(&args),
            args: OnceLock::from(args),
            ack: None,
        }
    }

    /// The arguments, binary in place, built from the wire form on first use.
    ///
    /// # Examples
    /// ```no_run
    /// # fn f(socket: ferrio::Socket) {
    /// socket.on("chat", |event| println!("{:?}", event.args()));
    /// # }
    /// ```
    pub fn args(&self) -> &[Value] {
        self.args.get_or_init(|| self.payload.values())
    }

    /// The arguments as they arrived: the JSON text of an array, binary nodes as
    /// `{"_placeholder":true,"num":K}`, and the attachments.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Takes the arguments in wire form out, to pass them on without a copy, leaving an
    /// empty payload: [`Event::args`] (unless it was called before) and [`Event::parse`]
    /// see no arguments afterwards.
    pub fn take_payload(&mut self) -> Payload {
        std::mem::take(&mut self.payload)
    }

    /// Parses all arguments into `T`, as one array: use a tuple for several arguments,
    /// e.g. `let (room, n): (String, u32) = event.parse()?`.
    ///
    /// # Examples
    /// ```no_run
    /// # fn f(socket: ferrio::Socket) {
    /// socket.on("score", |event| match event.parse::<(String, u32)>() {
    ///     Ok((player, points)) => println!("{player}: {points}"),
    ///     Err(e) => eprintln!("unexpected arguments: {e}"),
    /// });
    /// # }
    /// ```
    /// # Errors
    /// [`ValueError`] if the arguments do not match `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        self.payload.parse()
    }

    /// Whether the server asked for an acknowledgement of this event.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers the server's acknowledgement request with `args` (a tuple for several
    /// arguments, `()` for none). Handlers share one request: it is answered exactly once.
    /// A request nobody answers is answered with no values when the last copy of the
    /// event is dropped.
    ///
    /// # Errors
    /// [`AckReplyError::AlreadySent`] if it was answered before, or when the server asked
    /// for no acknowledgement; [`AckReplyError::Emit`] if `args` cannot be encoded.
    pub fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), AckReplyError> {
        let args = to_args(args).map_err(|e| AckReplyError::Emit(e.into()))?;
        self.ack_values(args)
    }

    /// Answers the server's acknowledgement request with values, see [`Event::ack`].
    ///
    /// # Errors
    /// As [`Event::ack`].
    pub fn ack_values(&self, args: Vec<Value>) -> Result<(), AckReplyError> {
        match &self.ack {
            Some(responder) => responder.send(args),
            None => Err(AckReplyError::AlreadySent),
        }
    }
}

/// Answers one acknowledgement request of the server, exactly once.
///
/// Every copy of the event shares one request. When the last copy is dropped unanswered
/// (no handler, a handler that did not answer, a stream consumer that let the event go),
/// the request is answered with no values, as python-socketio does, so the server's
/// callback is never left waiting. This rule lives here once for Rust and every binding.
#[derive(Clone)]
pub(crate) struct AckResponder {
    request: Arc<AckRequest>,
}

/// The shared state of one acknowledgement request.
struct AckRequest {
    namespace: Arc<str>,
    id: u64,
    sent: AtomicBool,
    command_tx: CommandTx,
    /// Where a reply that finds the command queue full waits for room.
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for AckResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckResponder")
            .field("id", &self.request.id)
            .finish()
    }
}

impl AckResponder {
    /// A request of the server, answered through `command_tx`; must be made on the
    /// runtime that drives the connection.
    pub(crate) fn new(namespace: Arc<str>, id: u64, command_tx: CommandTx) -> Self {
        Self {
            request: Arc::new(AckRequest {
                namespace,
                id,
                sent: AtomicBool::new(false),
                command_tx,
                runtime: tokio::runtime::Handle::current(),
            }),
        }
    }

    fn send(&self, args: Vec<Value>) -> Result<(), AckReplyError> {
        if self.request.sent.swap(true, Ordering::AcqRel) {
            return Err(AckReplyError::AlreadySent);
        }
        self.request.reply(args);
        Ok(())
    }
}

impl AckRequest {
    /// Hands the reply to the connection; never blocks: a full queue makes it wait on the
    /// runtime. A closed connection has nobody to answer.
    fn reply(&self, args: Vec<Value>) {
        let command = Command::Ack {
            namespace: self.namespace.clone(),
            id: self.id,
            args,
        };
        if let Err(TrySendError::Full(command)) = self.command_tx.try_send(command) {
            let command_tx = self.command_tx.clone();
            self.runtime.spawn(async move {
                let _ = command_tx.send(command).await;
            });
        }
    }
}

impl Drop for AckRequest {
    fn drop(&mut self) {
        if !*self.sent.get_mut() {
            self.reply(Vec::new());
        }
    }
}

/// Everything a socket observes, in order: what the pull stream yields.
#[derive(Debug, Clone)]
pub enum SocketEvent {
    /// The namespace is connected; `sid` is this socket's id on the server.
    Connect {
        /// The Socket.IO session id.
        sid: String,
        /// Whether connection state recovery restored the previous session.
        recovered: bool,
    },
    /// The namespace could not be connected.
    ConnectError(ConnectError),
    /// The namespace was disconnected.
    Disconnect(DisconnectReason),
    /// An event from the server.
    Event(Event),
    /// The consumer was too slow: this many events were dropped because the incoming
    /// queue was full (see `ManagerBuilder::incoming_capacity`).
    Lagged(u64),
}

/// A change of the manager's connection, for reconnection monitoring.
#[derive(Debug, Clone)]
pub enum ManagerEvent {
    /// The Engine.IO connection is open.
    Open,
    /// The Engine.IO connection closed.
    Close(DisconnectReason),
    /// Reconnection attempt `n` (from 1) is starting.
    ReconnectAttempt(u32),
    /// Reconnection attempt failed.
    ReconnectError(ConnectError),
    /// Reconnected after `n` attempts.
    Reconnect(u32),
    /// Reconnection gave up after the configured attempts.
    ReconnectFailed,
}
