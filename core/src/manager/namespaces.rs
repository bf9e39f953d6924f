//! The namespace table: each namespace's phase, waiters, rooms, outbox and recovery, and
//! its transitions (connect reply, connect error, server and client disconnect, lost
//! connection, shutdown) as methods returning what to write. Plain data, no I/O.
//!
//! Over an Engine.IO v3 session (a Socket.IO 2.x server) the namespaces speak Socket.IO
//! protocol v4 ([`Legacy`]): the server connects `/` by itself when the session opens
//! (`40`, no payload), other namespaces are asked for with `0/nsp?<manager query>,` and no
//! auth, the reply carries no socket id (the socket id is the engine's session id for
//! `/`, `/nsp#<session id>` for the others, as socket.io 2 names them), a refusal is an
//! ERROR packet with a string or an object, and nothing is recovered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::command::{OutgoingEmit, RetryEmit, SocketLink};
use super::event::{AckResponder, Event, SocketEvent};
use super::inbox::{EarlyLimits, Inbox};
use super::outbox::{BufferLimits, Buffered, Outbox};
use super::recovery::Recovery;
use crate::disconnect::DisconnectReason;
use crate::error::{AckError, ConnectError, EmitError};
use crate::options::ManagerOptions;
use crate::server_text::server_text;
use crate::socketio::{Packet, Payload};
use crate::state::SocketState;
use crate::value::Value;

/// Where a namespace stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No CONNECT sent (engine down, or not wanted).
    Idle,
    /// CONNECT sent, reply pending.
    Connecting,
    /// Connected with this socket id.
    Connected(Arc<str>),
}

/// One namespace of the manager.
#[derive(Debug)]
struct Namespace {
    name: Arc<str>,
    phase: Phase,
    /// Wants to be connected: reconnects with the engine.
    active: bool,
    auth: Option<Value>,
    /// `connect()` calls waiting for the CONNECT reply.
    waiters: Vec<oneshot::Sender<Result<(), ConnectError>>>,
    /// When the pending CONNECT times out.
    connect_deadline: Option<Instant>,
    /// Emits waiting for the namespace, and the at-least-once queue.
    outbox: Outbox,
    /// The socket's side: its queue, state and events kept before the CONNECT reply.
    inbox: Inbox,
    /// Connection state recovery: pid and offset.
    recovery: Recovery,
    /// Rooms to re-join after a reconnection that was not recovered, in join order.
    rooms: Vec<String>,
    /// When to retry CONNECT after a server-side disconnect (when that is enabled).
    retry_at: Option<Instant>,
}

impl Namespace {
    fn new(name: Arc<str>, limits: BufferLimits) -> Self {
        Self {
            inbox: Inbox::new(name.clone()),
            name,
            phase: Phase::Idle,
            active: false,
            auth: None,
            waiters: Vec::new(),
            connect_deadline: None,
            outbox: Outbox::new(limits),
            recovery: Recovery::default(),
            rooms: Vec::new(),
            retry_at: None,
        }
    }

    /// Whether the namespace is connected.
    fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected(_))
    }

    /// Answers every `connect()` waiting on this namespace. Called after the namespace's
    /// state and events are updated: a caller that `connect()` answers finds the outcome's
    /// event (`Connect`, `ConnectError`, `Disconnect`) queued for its consumers and the
    /// state it reports.
    fn answer_waiters(&mut self, result: &Result<(), ConnectError>) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

/// Socket.IO protocol v4 on the current engine session (a Socket.IO 2.x server).
#[derive(Debug)]
struct Legacy {
    /// The Engine.IO session id, which names the sockets.
    engine_sid: Arc<str>,
    /// Where the server's socket of `/` stands.
    root: Root,
}

impl Legacy {
    /// The socket id socket.io 2 gives `name` on this session.
    fn socket_id(&self, name: &str) -> String {
        if name == "/" {
            self.engine_sid.to_string()
        } else {
            format!("{name}#{}", self.engine_sid)
        }
    }
}

/// The server's socket of `/` over a Socket.IO 2.x session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// The session just opened: the server connects `/` by itself, its `40` is coming.
    Pending,
    /// Connected on the server (its `40` came, wanted or not).
    Open,
    /// Disconnected (by either side) or refused: a CONNECT asks for a new one.
    Closed,
}

/// The options the namespaces follow.
#[derive(Debug, Clone)]
struct Settings {
    connect_timeout: Duration,
    early: EarlyLimits,
    buffer: BufferLimits,
    /// Connect again after a server-side disconnect, after `retry_delay`.
    reconnect_on_server_disconnect: bool,
    retry_delay: Duration,
    room_join_event: String,
    room_leave_event: String,
    /// The manager's query, URL-encoded: a Socket.IO 2.x namespace's CONNECT carries it.
    query: String,
}

/// What became of an emit not written at once (see [`Namespaces::hold`]).
#[derive(Debug)]
pub(crate) enum Held {
    /// In the offline buffer of `namespace`; these older emits were dropped to make room.
    Buffered {
        namespace: Arc<str>,
        dropped: Vec<OutgoingEmit>,
    },
    /// A volatile emit dropped: the connection is not writable.
    Dropped,
    /// Refused: the offline buffer is full (its emitter was told).
    Refused,
}

/// What a CONNECT reply did.
#[derive(Debug)]
pub(crate) enum ConnectReply {
    /// Unexpected (unknown namespace, not connecting): ignored.
    Ignored,
    /// A reply without `sid` over Engine.IO v4: the server speaks Socket.IO 2.x.
    OlderProtocol,
    /// Connected: write these packets (rooms to join again), then these emits, in order.
    Connected {
        packets: Vec<Packet>,
        emits: Vec<OutgoingEmit>,
    },
}

/// What the timer did: packets and emits to write.
#[derive(Debug, Default)]
pub(crate) struct Due {
    /// CONNECTs sent again after a server-side disconnect.
    pub(crate) packets: Vec<Packet>,
    /// Retry emits tried again.
    pub(crate) emits: Vec<OutgoingEmit>,
}

/// All namespaces of a manager, in the order they were first used. A manager has a few,
/// so a scan (names compare by pointer first) beats hashing the name on every emit.
#[derive(Debug)]
pub(crate) struct Namespaces {
    table: Vec<Namespace>,
    settings: Settings,
    /// Socket.IO protocol v4 on the current session, if it speaks Engine.IO v3.
    legacy: Option<Legacy>,
}

impl Namespaces {
    /// No namespace yet; they follow `options`.
    pub(crate) fn new(options: &ManagerOptions) -> Self {
        Self {
            table: Vec::new(),
            settings: Settings {
                connect_timeout: options.timeout,
                early: EarlyLimits {
                    max_events: options.max_preconnect_events,
                    max_bytes: options.max_preconnect_bytes,
                },
                buffer: BufferLimits::new(options),
                reconnect_on_server_disconnect: options.reconnect_on_server_disconnect,
                retry_delay: options.reconnection_delay,
                room_join_event: options.room_join_event.clone(),
                room_leave_event: options.room_leave_event.clone(),
                query: url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&options.query)
                    .finish(),
            },
            legacy: None,
        }
    }

    /// The namespace named `name`, created idle if new.
    fn entry(&mut self, name: &Arc<str>) -> &mut Namespace {
        let index = match self.table.iter().position(|ns| ns.name == *name) {
            Some(index) => index,
            None => {
                // One more at a time: most connections use one namespace, and a
                // namespace is large.
                self.table.reserve_exact(1);
                self.table
                    .push(Namespace::new(name.clone(), self.settings.buffer));
                self.table.len() - 1
            }
        };
        &mut self.table[index]
    }

    /// The namespace named `name`, if known.
    fn get_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.table.iter_mut().find(|ns| &*ns.name == name)
    }

    /// Whether `name` is connected.
    pub(crate) fn is_connected(&self, name: &str) -> bool {
        self.table
            .iter()
            .any(|ns| &*ns.name == name && ns.is_connected())
    }

    /// Whether any namespace wants to be connected.
    pub(crate) fn any_active(&self) -> bool {
        self.table.iter().any(|ns| ns.active)
    }

    /// The earliest pending CONNECT deadline, CONNECT retry or retry emit's deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.table
            .iter()
            .flat_map(|ns| [ns.connect_deadline, ns.retry_at, ns.outbox.next_deadline()])
            .flatten()
            .min()
    }

    // ----- requests of the sockets -----

    /// A socket asks to connect `name`, with `reply` waiting for the outcome. Returns
    /// whether a CONNECT is wanted (sent now if the engine is open, else once it opens).
    pub(crate) fn connect(
        &mut self,
        name: &Arc<str>,
        auth: Option<Value>,
        link: SocketLink,
        reply: oneshot::Sender<Result<(), ConnectError>>,
    ) -> bool {
        let ns = self.entry(name);
        ns.outbox.publish_to(link.buffer.clone());
        ns.inbox.set_link(Some(link));
        ns.auth = auth;
        ns.active = true;
        if ns.is_connected() {
            let _ = reply.send(Ok(()));
            return false;
        }
        ns.waiters.push(reply);
        if ns.phase != Phase::Idle {
            return false;
        }
        ns.inbox.set_state(SocketState::Connecting);
        true
    }

    /// The CONNECT of `name`, now sent: its reply is due within the connect timeout.
    ///
    /// To a Socket.IO 2.x server: none for `/` while the server's own connection of it is
    /// coming or there (see [`Namespaces::legacy_root_ready`]); `0/nsp?<query>,` for the
    /// others, without the auth, which v2 does not have.
    pub(crate) fn send_connect(&mut self, name: &str, now: Instant) -> Option<Packet> {
        let timeout = self.settings.connect_timeout;
        let root = self.legacy.as_ref().map(|legacy| legacy.root);
        let query = &self.settings.query;
        let ns = self.table.iter_mut().find(|ns| &*ns.name == name)?;
        ns.phase = Phase::Connecting;
        ns.connect_deadline = now.checked_add(timeout);
        ns.retry_at = None;
        ns.inbox.set_state(SocketState::Connecting);
        let Some(root) = root else {
            let payload = ns.recovery.connect_payload(ns.auth.as_ref());
            return Some(Packet::connect(&*ns.name, payload));
        };
        if ns.auth.is_some() {
            tracing::debug!(namespace = %name, "a Socket.IO 2.x server takes no auth: not sent");
        }
        if name != "/" {
            let nsp = if query.is_empty() {
                name.to_owned()
            } else {
                format!("{name}?{query}")
            };
            return Some(Packet::connect(nsp, None));
        }
        if root != Root::Closed {
            return None;
        }
        // The server makes a new socket for `/` and answers only when `/` has a
        // middleware: taken as connected at once (a refusal still comes as an ERROR).
        if let Some(legacy) = &mut self.legacy {
            legacy.root = Root::Open;
        }
        Some(Packet::connect("/", None))
    }

    /// Over a Socket.IO 2.x session, `/` waiting for a connection the server already
    /// made: connected now (as [`Namespaces::on_connect_reply`] does). Ignored otherwise.
    pub(crate) fn legacy_root_ready(&mut self) -> ConnectReply {
        let open = self
            .legacy
            .as_ref()
            .is_some_and(|legacy| legacy.root == Root::Open);
        let connecting = self
            .table
            .iter()
            .any(|ns| &*ns.name == "/" && ns.phase == Phase::Connecting);
        if open && connecting {
            self.on_connect_reply("/", None)
        } else {
            ConnectReply::Ignored
        }
    }

    /// The engine opened: the CONNECT of every namespace that wants one, with the `auth` a
    /// reconnection hook gave, if any. `legacy_sid` is the session id of an Engine.IO v3
    /// session (a Socket.IO 2.x server, spoken to in Socket.IO protocol v4), none in v4.
    pub(crate) fn engine_opened(
        &mut self,
        auth: Option<Value>,
        legacy_sid: Option<Arc<str>>,
        now: Instant,
    ) -> Vec<Packet> {
        self.legacy = legacy_sid.map(|engine_sid| Legacy {
            engine_sid,
            root: Root::Pending,
        });
        let wanted: Vec<Arc<str>> = self
            .table
            .iter_mut()
            .filter(|ns| ns.active)
            .map(|ns| {
                if let Some(auth) = &auth {
                    ns.auth = Some(auth.clone());
                }
                ns.name.clone()
            })
            .collect();
        wanted
            .iter()
            .filter_map(|name| self.send_connect(name, now))
            .collect()
    }

    /// A socket disconnects `name` (`io client disconnect`): returns the DISCONNECT to
    /// write if it was connected. Its acks sent are the caller's to fail.
    pub(crate) fn disconnect(&mut self, name: &str, now: Instant) -> Option<Packet> {
        let reason = DisconnectReason::IoClientDisconnect;
        self.legacy_root_closed(name);
        let ns = self.get_mut(name)?;
        let was_connected = ns.is_connected();
        ns.active = false;
        ns.phase = Phase::Idle;
        ns.connect_deadline = None;
        ns.outbox.retry_lost(now);
        ns.inbox.set_state(SocketState::Disconnected(reason));
        if was_connected {
            ns.inbox.deliver(SocketEvent::Disconnect(reason));
        }
        ns.answer_waiters(&Err(ConnectError::Disconnected(reason)));
        was_connected.then(|| Packet::disconnect(&*ns.name))
    }

    /// A socket emits: returns whether `emit` is written now, its namespace being connected
    /// on an `open` engine (a volatile emit only when it is `writable` too); its emitter
    /// waiting for admission is then told. Else see [`Namespaces::hold`].
    pub(crate) fn sends_now(
        &mut self,
        emit: &mut OutgoingEmit,
        open: bool,
        writable: bool,
    ) -> bool {
        let sends =
            open && (writable || !emit.volatile) && self.entry(&emit.namespace).is_connected();
        if sends {
            if let Some(admission) = emit.take_admission() {
                let _ = admission.send(Ok(()));
            }
        }
        sends
    }

    /// Holds an emit not written now: buffered, or dropped when volatile. Its emitter
    /// waiting for admission is told; its ack waiter is the caller's.
    pub(crate) fn hold(&mut self, mut emit: OutgoingEmit) -> Held {
        if emit.volatile {
            tracing::trace!(namespace = %emit.namespace, "volatile emit dropped: not writable");
            if let Some(admission) = emit.take_admission() {
                let _ = admission.send(Ok(()));
            }
            return Held::Dropped;
        }
        let ns = self.entry(&emit.namespace);
        match ns.outbox.buffer(emit) {
            Buffered::Taken { dropped } => Held::Buffered {
                namespace: ns.name.clone(),
                dropped,
            },
            Buffered::Refused(mut emit) => {
                if let Some(admission) = emit.take_admission() {
                    let _ = admission.send(Err(EmitError::BufferFull));
                }
                Held::Refused
            }
        }
    }

    /// A socket with `retries` emits: queued behind its other retry emits. Returns the
    /// emit to write now, if any.
    pub(crate) fn emit_with_retries(
        &mut self,
        emit: RetryEmit,
        now: Instant,
    ) -> Option<OutgoingEmit> {
        let name: Arc<str> = emit.packet.nsp.as_str().into();
        let ns = self.entry(&name);
        let connected = ns.is_connected();
        ns.outbox.push_retry(emit, connected, now)
    }

    /// A socket discards its offline buffer: the retry emits fail as discarded; returns
    /// the ack ids of the buffered emits, for the caller to fail.
    pub(crate) fn clear_buffer(&mut self, name: &str) -> Vec<u64> {
        let Some(ns) = self.get_mut(name) else {
            return Vec::new();
        };
        let buffered = ns.outbox.discard(&AckError::Discarded);
        buffered.iter().filter_map(|emit| emit.ack_id).collect()
    }

    /// Takes the buffered emit asking for ack `id` out of `name`'s buffer (its ack
    /// expired).
    pub(crate) fn unbuffer_ack(&mut self, name: &str, id: u64) {
        if let Some(ns) = self.get_mut(name) {
            ns.outbox.unbuffer_ack(id);
        }
    }

    /// A socket joins `room`: returns the join event to write if `name` is connected.
    pub(crate) fn join_room(&mut self, name: &Arc<str>, room: String) -> Option<Packet> {
        let event = self.settings.room_join_event.clone();
        let ns = self.entry(name);
        if !ns.rooms.contains(&room) {
            ns.rooms.push(room.clone());
        }
        ns.is_connected()
            .then(|| Packet::event(&**name, vec![event.into(), room.into()], None))
    }

    /// A socket leaves `room`: returns the leave event to write if `name` is connected.
    pub(crate) fn leave_room(&mut self, name: &Arc<str>, room: String) -> Option<Packet> {
        let event = self.settings.room_leave_event.clone();
        let ns = self.entry(name);
        ns.rooms.retain(|r| *r != room);
        ns.is_connected()
            .then(|| Packet::event(&**name, vec![event.into(), room.into()], None))
    }

    // ----- packets from the server -----

    /// The server answered the CONNECT of `name` with `data`.
    pub(crate) fn on_connect_reply(&mut self, name: &str, data: Option<Value>) -> ConnectReply {
        let field = |field: &str| {
            data.as_ref()
                .and_then(|d| d.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (sid, pid) = match &mut self.legacy {
            Some(legacy) => {
                if name == "/" {
                    legacy.root = Root::Open;
                }
                (Some(legacy.socket_id(name)), None)
            }
            None => (field("sid"), field("pid")),
        };
        let join_event = self.settings.room_join_event.clone();
        let Some(ns) = self.get_mut(name) else {
            return ConnectReply::Ignored;
        };
        let Some(sid) = sid else {
            tracing::warn!(namespace = %name, "CONNECT reply without sid (a Socket.IO v2 server?)");
            return ConnectReply::OlderProtocol;
        };
        if ns.phase != Phase::Connecting || !ns.active {
            tracing::debug!(namespace = %name, "unexpected CONNECT reply ignored");
            return ConnectReply::Ignored;
        }
        let recovered = ns.recovery.connected(pid);
        let sid: Arc<str> = sid.into();
        tracing::debug!(namespace = %name, %sid, recovered, "namespace connected");
        ns.phase = Phase::Connected(sid.clone());
        ns.connect_deadline = None;
        ns.inbox.set_state(SocketState::Connected {
            sid: sid.clone(),
            recovered,
        });
        ns.inbox.deliver_early();
        ns.inbox.deliver(SocketEvent::Connect {
            sid: sid.to_string(),
            recovered,
        });
        ns.answer_waiters(&Ok(()));
        let packets = if recovered {
            Vec::new()
        } else {
            ns.rooms
                .iter()
                .map(|room| {
                    Packet::event(
                        name,
                        vec![join_event.clone().into(), room.clone().into()],
                        None,
                    )
                })
                .collect()
        };
        let mut emits: Vec<OutgoingEmit> = ns.outbox.take_buffer().into();
        emits.extend(ns.outbox.retry_connected());
        ConnectReply::Connected { packets, emits }
    }

    /// The server refused `name` (CONNECT_ERROR with `data`). Returns whether `name` is
    /// known.
    pub(crate) fn on_connect_error(&mut self, name: &str, data: Option<Value>) -> bool {
        let legacy = self.legacy.is_some();
        self.legacy_root_closed(name);
        let Some(ns) = self.get_mut(name) else {
            return false;
        };
        let (message, data) = match data {
            // socket.io 2 sends a middleware's `err.data` as it is, or else `err.message`.
            Some(Value::Object(object)) if legacy => {
                let message = match object.get("message") {
                    Some(Value::String(message)) => message.clone(),
                    _ => String::new(),
                };
                (message, Some(Value::Object(object)))
            }
            Some(Value::Object(mut object)) => {
                let message = match object.remove("message") {
                    Some(Value::String(message)) => message,
                    _ => String::new(),
                };
                (message, object.remove("data"))
            }
            Some(Value::String(message)) => (message, None),
            _ => (String::new(), None),
        };
        let error = ConnectError::Rejected {
            message: server_text(message),
            data,
        };
        tracing::debug!(namespace = %name, %error, "namespace refused");
        ns.phase = Phase::Idle;
        ns.active = false;
        ns.connect_deadline = None;
        ns.inbox.set_state(SocketState::Idle);
        ns.inbox.deliver(SocketEvent::ConnectError(error.clone()));
        ns.answer_waiters(&Err(error));
        true
    }

    /// The server disconnected `name`: connected again after the reconnection delay when
    /// `reconnect_on_server_disconnect` is set. Returns whether `name` is known; its acks
    /// sent are the caller's to fail.
    pub(crate) fn on_server_disconnect(&mut self, name: &str, now: Instant) -> bool {
        let reconnect = self.settings.reconnect_on_server_disconnect;
        let delay = self.settings.retry_delay;
        self.legacy_root_closed(name);
        let Some(ns) = self.get_mut(name) else {
            return false;
        };
        let reason = DisconnectReason::IoServerDisconnect;
        let was_connected = ns.is_connected();
        tracing::debug!(namespace = %name, reconnect, "disconnected by the server");
        ns.phase = Phase::Idle;
        ns.active = reconnect;
        ns.connect_deadline = None;
        ns.outbox.retry_lost(now);
        ns.inbox.set_state(SocketState::Disconnected(reason));
        if was_connected {
            ns.inbox.deliver(SocketEvent::Disconnect(reason));
        }
        if reconnect {
            ns.retry_at = now.checked_add(delay);
        } else {
            ns.answer_waiters(&Err(ConnectError::Disconnected(reason)));
        }
        true
    }

    /// Event `event` with `args` (or an ack request, answered through the responder `ack`
    /// makes) for `name`, of `bytes` on the wire: delivered when connected, kept until the
    /// CONNECT reply when connecting, else ignored.
    pub(crate) fn on_event(
        &mut self,
        name: &str,
        id: Option<u64>,
        event: String,
        mut args: Payload,
        bytes: usize,
        ack: impl FnOnce(&Arc<str>) -> Option<AckResponder>,
    ) {
        let early = self.settings.early;
        let Some(ns) = self.get_mut(name) else {
            tracing::debug!(namespace = %name, "event for an unknown namespace ignored");
            return;
        };
        if ns.phase == Phase::Idle {
            tracing::debug!(namespace = %name, "event for a disconnected namespace ignored");
            return;
        }
        ns.recovery.take_offset(id, &mut args);
        let event = SocketEvent::Event(Event::new(ns.name.clone(), event, args, ack(&ns.name)));
        if ns.is_connected() {
            ns.inbox.deliver_sized(event, bytes);
        } else {
            ns.inbox.keep_early(event, bytes, early);
        }
    }

    /// The server acknowledged `id` of `name`: when it is a retry emit's ack, returns the
    /// next retry emit to write, if any (the time is read only then).
    ///
    /// # Errors
    /// Gives `args` back when `id` is not a retry emit's ack.
    pub(crate) fn retry_acked(
        &mut self,
        name: &str,
        id: u64,
        args: Payload,
        now: impl FnOnce() -> Instant,
    ) -> Result<Option<OutgoingEmit>, Payload> {
        let Some(ns) = self.get_mut(name) else {
            return Err(args);
        };
        let connected = ns.is_connected();
        ns.outbox.retry_acked(id, args, connected, now)
    }

    // ----- the connection -----

    /// The connection was lost for `reason`: every namespace is disconnected; those that
    /// want to be connected stay so (and are told of the loss) when `reconnecting`, else
    /// they give up. Acks are the caller's to fail.
    pub(crate) fn on_engine_closed(
        &mut self,
        reason: DisconnectReason,
        reconnecting: bool,
        now: Instant,
    ) {
        self.legacy = None;
        for ns in &mut self.table {
            let was_connected = ns.is_connected();
            let was_connecting = ns.phase == Phase::Connecting;
            ns.phase = Phase::Idle;
            ns.connect_deadline = None;
            ns.retry_at = None;
            ns.inbox.drop_early();
            ns.outbox.retry_lost(now);
            if !ns.active {
                continue;
            }
            ns.inbox.set_state(SocketState::Disconnected(reason));
            if was_connected {
                ns.inbox.deliver(SocketEvent::Disconnect(reason));
            } else if was_connecting {
                // As the JS client: a connection lost before the CONNECT reply is a
                // `connect_error`, so listeners learn of the failed attempt.
                ns.inbox
                    .deliver(SocketEvent::ConnectError(ConnectError::Disconnected(
                        reason,
                    )));
            }
            if !reconnecting {
                ns.active = false;
                ns.answer_waiters(&Err(ConnectError::Disconnected(reason)));
            }
        }
    }

    /// A connection attempt failed with `error`: every namespace waiting to connect is
    /// told, and its `connect()` callers answered unless `keep_waiters` (reconnection
    /// gave up: they get that instead).
    pub(crate) fn attempt_failed(&mut self, error: &ConnectError, keep_waiters: bool) {
        for ns in self
            .table
            .iter_mut()
            .filter(|ns| ns.active && !ns.is_connected())
        {
            ns.inbox.deliver(SocketEvent::ConnectError(error.clone()));
            if !keep_waiters {
                ns.answer_waiters(&Err(error.clone()));
            }
        }
    }

    /// The server does not speak the protocol the client is set to (a Socket.IO 2.x server
    /// with `ServerVersion::V4`: a CONNECT reply without `sid`, or an Engine.IO v3
    /// handshake; a newer server with `ServerVersion::V2`): every namespace that wants to
    /// connect is refused with `message`, once, and leaves (not retried: the server will
    /// not change its protocol).
    pub(crate) fn refuse_protocol(&mut self, message: &str) {
        let error = ConnectError::Rejected {
            message: server_text(message.to_owned()),
            data: None,
        };
        for ns in self.table.iter_mut().filter(|ns| ns.active) {
            ns.active = false;
            ns.inbox.set_state(SocketState::Idle);
            ns.inbox.deliver(SocketEvent::ConnectError(error.clone()));
            ns.answer_waiters(&Err(error.clone()));
        }
    }

    /// The session is dropped to be opened again in another protocol (a Socket.IO 2.x
    /// server detected): the namespaces waiting for a CONNECT reply wait for the next
    /// session, and nobody is told (nothing was connected).
    pub(crate) fn restart_quietly(&mut self) {
        self.legacy = None;
        for ns in self
            .table
            .iter_mut()
            .filter(|ns| ns.phase == Phase::Connecting)
        {
            ns.phase = Phase::Idle;
            ns.connect_deadline = None;
            ns.inbox.drop_early();
        }
    }

    /// Over a Socket.IO 2.x session, the server's socket of `/` is gone when `name` is
    /// `/` (disconnected or refused).
    fn legacy_root_closed(&mut self, name: &str) {
        if let Some(legacy) = self.legacy.as_mut().filter(|_| name == "/") {
            legacy.root = Root::Closed;
        }
    }

    /// Reconnection gave up after `attempts`: every namespace leaves, its `connect()`
    /// callers answered [`ConnectError::ReconnectFailed`].
    pub(crate) fn give_up(&mut self, attempts: u32) {
        for ns in self.table.iter_mut().filter(|ns| ns.active) {
            ns.active = false;
            ns.inbox.set_state(SocketState::Idle);
            ns.answer_waiters(&Err(ConnectError::ReconnectFailed(attempts)));
        }
    }

    /// No reconnection will come: every namespace leaves.
    pub(crate) fn leave_all(&mut self) {
        for ns in self.table.iter_mut().filter(|ns| ns.active) {
            ns.active = false;
            ns.inbox.set_state(SocketState::Idle);
        }
    }

    /// The manager closes: returns the DISCONNECT of every connected namespace, to write
    /// before the connection closes. Every namespace is closed, its outbox discarded.
    pub(crate) fn shutdown(&mut self) -> Vec<Packet> {
        let reason = DisconnectReason::IoClientDisconnect;
        let mut packets = Vec::new();
        for ns in &mut self.table {
            let was_connected = ns.is_connected();
            ns.active = false;
            ns.phase = Phase::Idle;
            ns.outbox.discard(&AckError::Closed);
            if was_connected {
                packets.push(Packet::disconnect(&*ns.name));
                ns.inbox.deliver(SocketEvent::Disconnect(reason));
            }
            ns.inbox.set_state(SocketState::Closed);
            ns.inbox.close();
            ns.answer_waiters(&Err(ConnectError::Closed));
        }
        packets
    }

    /// The time is `now`: CONNECTs past their deadline fail as timed out, those to retry
    /// after a server-side disconnect are sent when the engine is `open`, and retry emits
    /// past their deadline are tried again.
    pub(crate) fn on_timer(&mut self, now: Instant, open: bool) -> Due {
        let timeout = self.settings.connect_timeout;
        let mut due = Due::default();
        let mut connects = Vec::new();
        for ns in &mut self.table {
            if ns.retry_at.is_some_and(|at| at <= now) {
                ns.retry_at = None;
                tracing::debug!(namespace = %ns.name, open, "connecting again after a server-side disconnect");
                if open {
                    connects.push(ns.name.clone());
                }
            }
            if ns.connect_deadline.is_some_and(|deadline| deadline <= now) {
                ns.connect_deadline = None;
                tracing::debug!(namespace = %ns.name, "namespace connect timed out");
                ns.inbox
                    .deliver(SocketEvent::ConnectError(ConnectError::Timeout(timeout)));
                ns.inbox.drop_early();
                ns.answer_waiters(&Err(ConnectError::Timeout(timeout)));
            }
            let connected = ns.is_connected();
            due.emits.extend(ns.outbox.expire(connected, now));
        }
        due.packets = connects
            .iter()
            .filter_map(|name| self.send_connect(name, now))
            .collect();
        due
    }

    // ----- the sockets' queues -----

    /// Whether every socket's consumer queues have room for what one packet from the
    /// server can produce (an event, and a `Lagged` report before it). A queue whose
    /// consumer is gone counts as having room: nothing will ever drain it.
    pub(crate) fn have_room(&self) -> bool {
        self.table.iter().all(|ns| {
            ns.inbox
                .consumers()
                .is_none_or(|(subscribers, queued)| subscribers.has_room(queued))
        })
    }

    /// Resolves once every queue that [`Namespaces::have_room`] finds full has room again.
    pub(crate) fn room_freed(&self) -> impl Future<Output = ()> + Send + 'static {
        let full: Vec<_> = self
            .table
            .iter()
            .filter_map(|ns| ns.inbox.consumers())
            .filter_map(|(subscribers, queued)| subscribers.room_freed(queued))
            .collect();
        async move {
            for room in full {
                room.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::command::QueuedBytes;
    use crate::manager::delivery::{channel, DeliveryRx, Subscribers};
    use crate::manager::inbox::test_support::{chat, chat_number, linked_with_bytes};
    use tokio::sync::watch;

    fn namespace(name: &str) -> Namespace {
        Namespace::new(name.into(), BufferLimits::new(&ManagerOptions::default()))
    }

    fn table() -> Namespaces {
        Namespaces::new(&ManagerOptions::default())
    }

    #[tokio::test]
    async fn a_queue_full_of_bytes_drops_events_until_taken_then_reports_lag() {
        let mut ns = namespace("/");
        let mut event_rx = linked_with_bytes(&mut ns.inbox, 1024, 4 << 20);
        let mut namespaces = table();
        // Two 4 MiB events: the first fills the bound, the second passes nothing.
        ns.inbox.deliver_sized(chat(1), 4 << 20);
        namespaces.table.push(ns);
        assert!(!namespaces.have_room(), "full in bytes, not in count");
        let freed = tokio::spawn(namespaces.room_freed());
        let ns = &mut namespaces.table[0];
        ns.inbox.deliver_sized(chat(2), 4 << 20);
        ns.inbox.deliver_sized(chat(3), 4 << 20);
        let queued = ns.inbox.consumers().expect("linked").1.clone();
        assert_eq!(queued.bytes(), 4 << 20);
        // A lifecycle event carries no bytes: it is not dropped for them.
        ns.inbox
            .deliver(SocketEvent::Disconnect(DisconnectReason::TransportClose));
        let first = event_rx.try_recv().expect("first event");
        assert_eq!(chat_number(&first.event), Some(1));
        assert!(matches!(
            *event_rx.try_recv().expect("lag").event,
            SocketEvent::Lagged(2)
        ));
        assert!(!freed.is_finished());
        drop(first);
        freed.await.expect("room freed once the event is taken");
        assert_eq!(queued.bytes(), 0);
        assert!(namespaces.have_room());
        namespaces.table[0].inbox.deliver_sized(chat(4), 4 << 20);
        assert!(matches!(
            *event_rx.try_recv().expect("disconnect").event,
            SocketEvent::Disconnect(_)
        ));
        assert_eq!(
            chat_number(&event_rx.try_recv().expect("fourth").event),
            Some(4)
        );
    }

    /// What a socket sees of its namespace.
    struct Probe {
        state_rx: watch::Receiver<SocketState>,
        event_rx: DeliveryRx,
        reply_rx: oneshot::Receiver<Result<(), ConnectError>>,
    }

    impl Probe {
        fn events(&mut self) -> Vec<SocketEvent> {
            std::iter::from_fn(|| self.event_rx.try_recv())
                .map(|d| *d.event)
                .collect()
        }

        fn state(&self) -> SocketState {
            self.state_rx.borrow().clone()
        }
    }

    /// `connect()` on `name`; returns whether a CONNECT is wanted, and the socket's view.
    fn connect(namespaces: &mut Namespaces, name: &str) -> (bool, Probe) {
        let (event_tx, event_rx) = channel(64);
        let (state_tx, state_rx) = watch::channel(SocketState::Idle);
        let subscribers = Arc::new(Subscribers::default());
        subscribers.subscribe(event_tx);
        let link = SocketLink {
            subscribers,
            buffer: Default::default(),
            state_tx: Arc::new(state_tx),
            queued: Arc::new(QueuedBytes::new(usize::MAX)),
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        let wanted = namespaces.connect(&name.into(), None, link, reply_tx);
        let probe = Probe {
            state_rx,
            event_rx,
            reply_rx,
        };
        (wanted, probe)
    }

    fn reply_data(sid: &str, pid: Option<&str>) -> Option<Value> {
        let mut data = crate::value::Map::new();
        data.insert("sid".into(), Value::from(sid));
        if let Some(pid) = pid {
            data.insert("pid".into(), Value::from(pid));
        }
        Some(Value::Object(data))
    }

    /// `name` connected, with socket id `sid`.
    fn connected(namespaces: &mut Namespaces, name: &str) -> Probe {
        let (_, mut probe) = connect(namespaces, name);
        namespaces
            .send_connect(name, Instant::now())
            .expect("a CONNECT");
        let reply = namespaces.on_connect_reply(name, reply_data("s1", Some("p1")));
        assert!(matches!(reply, ConnectReply::Connected { .. }), "{reply:?}");
        probe.events();
        probe
    }

    fn plain_emit(name: &str, text: &str, volatile: bool) -> OutgoingEmit {
        OutgoingEmit::new(name.into(), text.into(), Vec::new(), volatile)
    }

    /// Where an emit goes: written (`None`) or held.
    fn route(
        namespaces: &mut Namespaces,
        mut emit: OutgoingEmit,
        open: bool,
        writable: bool,
    ) -> Option<Held> {
        if namespaces.sends_now(&mut emit, open, writable) {
            None
        } else {
            Some(namespaces.hold(emit))
        }
    }

    fn texts(emits: &[OutgoingEmit]) -> Vec<&str> {
        emits.iter().map(|e| e.text.as_str()).collect()
    }

    #[test]
    fn a_connect_reply_connects_and_flushes_the_rooms_then_the_buffer_in_order() {
        let mut namespaces = table();
        let (wanted, mut probe) = connect(&mut namespaces, "/chat");
        assert!(wanted);
        assert_eq!(probe.state(), SocketState::Connecting);
        assert!(
            namespaces
                .join_room(&"/chat".into(), "lobby".into())
                .is_none(),
            "not connected yet"
        );
        for text in ["a", "b"] {
            assert!(matches!(
                route(
                    &mut namespaces,
                    plain_emit("/chat", text, false),
                    true,
                    true
                ),
                Some(Held::Buffered { .. })
            ));
        }
        let packet = namespaces
            .send_connect("/chat", Instant::now())
            .expect("CONNECT");
        assert_eq!(packet.kind, crate::socketio::PacketKind::Connect);
        let ConnectReply::Connected { packets, emits } =
            namespaces.on_connect_reply("/chat", reply_data("s1", None))
        else {
            panic!("connected");
        };
        assert_eq!(packets.len(), 1, "the room joined again");
        assert_eq!(packets[0].event_name().as_deref(), Some("join"));
        assert_eq!(texts(&emits), ["a", "b"]);
        assert!(matches!(probe.reply_rx.try_recv(), Ok(Ok(()))));
        assert!(matches!(
            probe.state(),
            SocketState::Connected {
                recovered: false,
                ..
            }
        ));
        assert!(matches!(probe.events()[..], [SocketEvent::Connect { .. }]));
        assert!(namespaces.is_connected("/chat"));
        assert!(route(&mut namespaces, plain_emit("/chat", "c", false), true, true).is_none());
    }

    #[test]
    fn a_connect_reply_without_sid_is_an_older_server_and_others_are_ignored() {
        let mut namespaces = table();
        assert!(matches!(
            namespaces.on_connect_reply("/unknown", reply_data("s", None)),
            ConnectReply::Ignored
        ));
        let (_, mut probe) = connect(&mut namespaces, "/");
        assert!(
            matches!(
                namespaces.on_connect_reply("/", reply_data("s", None)),
                ConnectReply::Ignored
            ),
            "no CONNECT was sent"
        );
        namespaces.send_connect("/", Instant::now());
        assert!(matches!(
            namespaces.on_connect_reply("/", None),
            ConnectReply::OlderProtocol
        ));
        namespaces.refuse_protocol("the server speaks an older Socket.IO protocol");
        assert!(!namespaces.any_active());
        assert!(matches!(
            probe.reply_rx.try_recv(),
            Ok(Err(ConnectError::Rejected { .. }))
        ));
        assert!(matches!(probe.events()[..], [SocketEvent::ConnectError(_)]));
    }

    #[test]
    fn a_connect_error_refuses_the_namespace_with_the_servers_message_and_data() {
        let mut namespaces = table();
        let (_, mut probe) = connect(&mut namespaces, "/admin");
        namespaces.send_connect("/admin", Instant::now());
        let mut data = crate::value::Map::new();
        data.insert("message".into(), Value::from("not authorized"));
        data.insert("data".into(), Value::from(7));
        assert!(namespaces.on_connect_error("/admin", Some(Value::Object(data))));
        assert!(!namespaces.on_connect_error("/other", None));
        let Ok(Err(ConnectError::Rejected { message, data })) = probe.reply_rx.try_recv() else {
            panic!("rejected");
        };
        assert_eq!(
            (message.as_str(), data),
            ("not authorized", Some(Value::from(7)))
        );
        assert_eq!(probe.state(), SocketState::Idle);
        assert!(!namespaces.any_active());
        assert_eq!(namespaces.next_deadline(), None, "no CONNECT pending");
    }

    #[test]
    fn a_server_disconnect_is_final_unless_asked_to_reconnect() {
        let mut namespaces = table();
        let mut probe = connected(&mut namespaces, "/");
        assert!(namespaces.on_server_disconnect("/", Instant::now()));
        assert_eq!(
            probe.state(),
            SocketState::Disconnected(DisconnectReason::IoServerDisconnect)
        );
        assert!(matches!(
            probe.events()[..],
            [SocketEvent::Disconnect(
                DisconnectReason::IoServerDisconnect
            )]
        ));
        assert!(!namespaces.any_active());
        assert_eq!(namespaces.next_deadline(), None);
    }

    #[test]
    fn a_server_disconnect_connects_again_after_the_delay_when_asked() {
        let options = ManagerOptions {
            reconnect_on_server_disconnect: true,
            reconnection_delay: Duration::from_secs(2),
            ..ManagerOptions::default()
        };
        let mut namespaces = Namespaces::new(&options);
        connected(&mut namespaces, "/");
        let now = Instant::now();
        namespaces.on_server_disconnect("/", now);
        assert!(namespaces.any_active());
        let retry_at = now + Duration::from_secs(2);
        assert_eq!(namespaces.next_deadline(), Some(retry_at));
        assert!(namespaces.on_timer(now, true).packets.is_empty(), "not yet");
        let due = namespaces.on_timer(retry_at, true);
        assert_eq!(due.packets.len(), 1);
        assert_eq!(due.packets[0].kind, crate::socketio::PacketKind::Connect);
    }

    #[test]
    fn a_client_disconnect_writes_a_disconnect_only_when_connected() {
        let mut namespaces = table();
        let (_, mut waiting) = connect(&mut namespaces, "/a");
        assert!(namespaces.disconnect("/a", Instant::now()).is_none());
        assert!(matches!(
            waiting.reply_rx.try_recv(),
            Ok(Err(ConnectError::Disconnected(
                DisconnectReason::IoClientDisconnect
            )))
        ));
        let mut probe = connected(&mut namespaces, "/b");
        let packet = namespaces
            .disconnect("/b", Instant::now())
            .expect("DISCONNECT");
        assert_eq!(packet.kind, crate::socketio::PacketKind::Disconnect);
        assert!(matches!(
            probe.events()[..],
            [SocketEvent::Disconnect(
                DisconnectReason::IoClientDisconnect
            )]
        ));
        assert!(!namespaces.any_active());
        assert!(namespaces.disconnect("/unknown", Instant::now()).is_none());
    }

    #[test]
    fn a_lost_connection_keeps_the_namespaces_while_reconnecting_and_ends_them_otherwise() {
        let reason = DisconnectReason::TransportClose;
        let mut namespaces = table();
        let mut probe = connected(&mut namespaces, "/");
        let (_, mut pending) = connect(&mut namespaces, "/late");
        namespaces.send_connect("/late", Instant::now());
        namespaces.on_engine_closed(reason, true, Instant::now());
        assert!(namespaces.any_active());
        assert_eq!(probe.state(), SocketState::Disconnected(reason));
        assert!(matches!(probe.events()[..], [SocketEvent::Disconnect(r)] if r == reason));
        assert!(
            matches!(pending.events()[..], [SocketEvent::ConnectError(ConnectError::Disconnected(r))] if r == reason),
            "lost before the reply: a connect_error"
        );
        assert!(
            pending.reply_rx.try_recv().is_err(),
            "still waits for the reconnection"
        );
        let connects = namespaces.engine_opened(None, None, Instant::now());
        assert_eq!(connects.len(), 2, "both namespaces connect again");
        let payload = connects[0].data.as_ref().expect("the CONNECT payload");
        assert_eq!(
            payload.get("pid"),
            Some(&Value::from("p1")),
            "recovery asked for"
        );
        namespaces.on_engine_closed(reason, false, Instant::now());
        assert!(!namespaces.any_active());
        assert!(matches!(
            pending.reply_rx.try_recv(),
            Ok(Err(ConnectError::Disconnected(r))) if r == reason
        ));
    }

    #[test]
    fn a_failed_attempt_is_told_to_namespaces_waiting_and_giving_up_answers_them() {
        let mut namespaces = table();
        let (_, mut probe) = connect(&mut namespaces, "/");
        let error = ConnectError::Timeout(Duration::from_secs(1));
        namespaces.attempt_failed(&error, true);
        assert!(matches!(probe.events()[..], [SocketEvent::ConnectError(_)]));
        assert!(probe.reply_rx.try_recv().is_err(), "kept for the give-up");
        namespaces.give_up(3);
        assert!(matches!(
            probe.reply_rx.try_recv(),
            Ok(Err(ConnectError::ReconnectFailed(3)))
        ));
        assert_eq!(probe.state(), SocketState::Idle);
        assert!(!namespaces.any_active());
    }

    #[test]
    fn a_connect_not_answered_in_time_fails_as_timed_out() {
        let options = ManagerOptions {
            timeout: Duration::from_secs(5),
            ..ManagerOptions::default()
        };
        let mut namespaces = Namespaces::new(&options);
        let (_, mut probe) = connect(&mut namespaces, "/");
        let now = Instant::now();
        namespaces.send_connect("/", now);
        namespaces.on_timer(now + Duration::from_secs(5), true);
        assert!(matches!(
            probe.reply_rx.try_recv(),
            Ok(Err(ConnectError::Timeout(_)))
        ));
        assert!(matches!(
            probe.events()[..],
            [SocketEvent::ConnectError(ConnectError::Timeout(_))]
        ));
        assert_eq!(namespaces.next_deadline(), None);
    }

    #[test]
    fn shutdown_disconnects_the_connected_namespaces_and_closes_every_one() {
        let mut namespaces = table();
        let mut probe = connected(&mut namespaces, "/");
        let (_, mut waiting) = connect(&mut namespaces, "/late");
        route(
            &mut namespaces,
            plain_emit("/late", "x", false),
            false,
            false,
        );
        let packets = namespaces.shutdown();
        assert_eq!(packets.len(), 1);
        assert_eq!(packets[0].nsp, "/");
        assert_eq!(probe.state(), SocketState::Closed);
        assert!(matches!(
            probe.events()[..],
            [SocketEvent::Disconnect(
                DisconnectReason::IoClientDisconnect
            )]
        ));
        assert!(matches!(
            waiting.reply_rx.try_recv(),
            Ok(Err(ConnectError::Closed))
        ));
        assert!(!namespaces.any_active());
    }

    #[test]
    fn a_volatile_emit_is_written_only_when_writable_and_never_buffered() {
        let mut namespaces = table();
        assert!(matches!(
            route(&mut namespaces, plain_emit("/", "v", true), false, false),
            Some(Held::Dropped)
        ));
        connected(&mut namespaces, "/");
        assert!(matches!(
            route(&mut namespaces, plain_emit("/", "v", true), true, false),
            Some(Held::Dropped)
        ));
        assert!(
            route(&mut namespaces, plain_emit("/", "n", false), true, false).is_none(),
            "a plain emit is queued behind the write under way"
        );
        assert!(route(&mut namespaces, plain_emit("/", "v", true), true, true).is_none());
    }

    #[test]
    fn events_are_delivered_when_connected_kept_when_connecting_and_ignored_otherwise() {
        let mut namespaces = table();
        let event = |n: i64| Payload::from_values(&[Value::from(n)]);
        let (_, mut probe) = connect(&mut namespaces, "/");
        namespaces.on_event("/", None, "chat".into(), event(1), 10, |_| None);
        assert!(probe.events().is_empty(), "idle: ignored");
        namespaces.send_connect("/", Instant::now());
        namespaces.on_event("/", None, "chat".into(), event(2), 10, |_| None);
        assert!(probe.events().is_empty(), "kept for the reply");
        namespaces.on_connect_reply("/", reply_data("s", None));
        namespaces.on_event("/", None, "chat".into(), event(3), 10, |_| None);
        let seen: Vec<Option<i64>> = probe.events().iter().map(chat_number).collect();
        assert_eq!(
            seen,
            [Some(2), None, Some(3)],
            "the kept event, the connect, the new one"
        );
    }

    #[test]
    fn retry_emits_wait_for_the_connection_and_go_after_the_buffer() {
        let mut namespaces = table();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let retry = RetryEmit {
            packet: Packet::event("/", vec![Value::from("r")], None),
            size: 8,
            retries: 1,
            timeout: Duration::from_secs(1),
            reply_tx: Some(reply_tx),
            admission: None,
        };
        let (_, _probe) = connect(&mut namespaces, "/");
        assert!(namespaces
            .emit_with_retries(retry, Instant::now())
            .is_none());
        route(&mut namespaces, plain_emit("/", "b", false), false, false);
        namespaces.send_connect("/", Instant::now());
        let ConnectReply::Connected { emits, .. } =
            namespaces.on_connect_reply("/", reply_data("s", None))
        else {
            panic!("connected");
        };
        assert_eq!(texts(&emits), ["b", r#"20["r"]"#]);
        assert!(namespaces
            .retry_acked("/", 5, Payload::default(), Instant::now)
            .is_err());
        assert!(namespaces
            .retry_acked("/", 0, Payload::default(), Instant::now)
            .is_ok());
        assert!(matches!(reply_rx.try_recv(), Ok(Ok(_))));
    }

    #[test]
    fn entry_creates_an_idle_inactive_namespace_once() {
        let mut namespaces = table();
        let name: Arc<str> = "/admin".into();
        namespaces.entry(&name).active = true;
        assert!(namespaces.entry(&name).active);
        assert_eq!(namespaces.entry(&name).phase, Phase::Idle);
        assert!(namespaces.any_active());
    }

    #[test]
    fn a_socket_nobody_listens_to_never_holds_reading() {
        let mut ns = namespace("/");
        let (state_tx, _) = watch::channel(SocketState::Idle);
        let link = SocketLink {
            subscribers: Arc::default(),
            buffer: Default::default(),
            state_tx: Arc::new(state_tx),
            queued: Arc::new(QueuedBytes::new(1)),
        };
        ns.inbox.set_link(Some(link.clone()));
        let mut namespaces = table();
        namespaces.table.push(ns);
        for n in 0..3 {
            namespaces.table[0].inbox.deliver_sized(chat(n), 100);
        }
        assert_eq!(link.subscribers.produced(), 3);
        assert_eq!(link.queued.bytes(), 0, "nothing kept");
        assert!(namespaces.have_room(), "reading never waits for a listener");
    }

    #[test]
    fn next_deadline_is_the_earliest_pending_connect() {
        let mut namespaces = table();
        let now = Instant::now();
        namespaces.entry(&"/a".into()).connect_deadline =
            Some(now + std::time::Duration::from_secs(5));
        namespaces.entry(&"/b".into()).connect_deadline =
            Some(now + std::time::Duration::from_secs(1));
        assert_eq!(
            namespaces.next_deadline(),
            Some(now + std::time::Duration::from_secs(1))
        );
    }

    /// A table for a manager with the query `client=ferrio`, on an Engine.IO v3 session
    /// `E1` (a Socket.IO 2.x server).
    fn legacy_table() -> Namespaces {
        let options = ManagerOptions {
            query: vec![("client".into(), "ferrio".into())],
            ..ManagerOptions::default()
        };
        Namespaces::new(&options)
    }

    #[test]
    fn over_a_socket_io_2_session_the_server_connects_the_main_namespace_by_itself() {
        let mut namespaces = legacy_table();
        let (_, mut root) = connect(&mut namespaces, "/");
        let (_, custom) = connect(&mut namespaces, "/custom");
        let connects = namespaces.engine_opened(None, Some("E1".into()), Instant::now());
        // No CONNECT for `/`; the namespace's carries the manager's query and no auth.
        assert_eq!(connects.len(), 1);
        assert_eq!(connects[0].to_text().0, "0/custom?client=ferrio,");
        assert_eq!(root.state(), SocketState::Connecting);
        // The server's `40`: no sid in it, the socket id is the engine's session id.
        let ConnectReply::Connected { .. } = namespaces.on_connect_reply("/", None) else {
            panic!("connected");
        };
        assert!(matches!(
            root.events()[..],
            [SocketEvent::Connect { ref sid, recovered: false }] if sid == "E1"
        ));
        assert!(matches!(
            namespaces.on_connect_reply("/custom", None),
            ConnectReply::Connected { .. }
        ));
        assert!(matches!(
            custom.state(),
            SocketState::Connected { ref sid, recovered: false } if &**sid == "/custom#E1"
        ));
    }

    #[test]
    fn over_a_socket_io_2_session_the_main_namespace_connects_on_the_servers_own_connection() {
        let mut namespaces = legacy_table();
        let (_, mut other) = connect(&mut namespaces, "/other");
        namespaces.engine_opened(None, Some("E1".into()), Instant::now());
        // The `40` came while `/` was not wanted: kept, `/` connects at once later.
        assert!(matches!(
            namespaces.on_connect_reply("/", None),
            ConnectReply::Ignored
        ));
        let (wanted, root) = connect(&mut namespaces, "/");
        assert!(wanted);
        assert!(namespaces.send_connect("/", Instant::now()).is_none());
        assert!(matches!(
            namespaces.legacy_root_ready(),
            ConnectReply::Connected { .. }
        ));
        assert!(root.state().is_connected());
        // Once the client left `/`, connecting it again asks the server for a new socket.
        assert_eq!(
            namespaces
                .disconnect("/", Instant::now())
                .map(|p| p.to_text().0),
            Some("1".into())
        );
        let (_, _again) = connect(&mut namespaces, "/");
        let packet = namespaces
            .send_connect("/", Instant::now())
            .expect("CONNECT");
        assert_eq!(packet.to_text().0, "0");
        assert!(matches!(
            namespaces.legacy_root_ready(),
            ConnectReply::Connected { .. }
        ));
        other.events();
    }

    #[test]
    fn a_socket_io_2_refusal_keeps_its_object_as_the_data() {
        let mut namespaces = legacy_table();
        let (_, mut probe) = connect(&mut namespaces, "/admin");
        namespaces.engine_opened(None, Some("E1".into()), Instant::now());
        let mut data = crate::value::Map::new();
        data.insert("message".into(), Value::from("not authorized"));
        data.insert("code".into(), Value::from(42));
        assert!(namespaces.on_connect_error("/admin", Some(Value::Object(data.clone()))));
        let Ok(Err(ConnectError::Rejected { message, data: got })) = probe.reply_rx.try_recv()
        else {
            panic!("rejected");
        };
        assert_eq!(message, "not authorized");
        assert_eq!(got, Some(Value::Object(data)));
    }

    #[test]
    fn a_detected_socket_io_2_server_restarts_the_namespaces_quietly() {
        let mut namespaces = table();
        let (_, mut probe) = connect(&mut namespaces, "/");
        namespaces.send_connect("/", Instant::now());
        assert!(matches!(
            namespaces.on_connect_reply("/", None),
            ConnectReply::OlderProtocol
        ));
        namespaces.restart_quietly();
        assert!(probe.events().is_empty(), "nobody is told");
        assert!(probe.reply_rx.try_recv().is_err(), "still waiting");
        assert_eq!(namespaces.next_deadline(), None);
        assert_eq!(
            namespaces
                .engine_opened(None, Some("E1".into()), Instant::now())
                .len(),
            0,
            "`/` waits for the server's own connection"
        );
    }
}
