//! `Socket`: a cheap handle to one namespace of a manager's connection.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::dispatcher::{spawn_dispatcher, Filter, Handler, ListenerId, ListenerIds, Registration};
use crate::engineio::EnginePacket;
use crate::error::{AckError, ConnectError, EmitError};
use crate::event::{Event, SocketEvent};
use crate::manager::command::{AckResult, Command, OutgoingEmit, SocketLink};
use crate::options::{BufferPolicy, ManagerOptions, SocketOptions};
use crate::retry::{run_retry_queue, RetryItem, RETRY_QUEUE_CAPACITY};
use crate::socketio::{Packet, PacketKind};
use crate::state::{EngineState, SocketState};
use crate::stream::EventStream;
use crate::value::{from_args, to_args, Value, ValueError};

mod json_emit;

/// Event names the server reserves; emitting them is an error.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A namespace on a manager's connection: emit, listen, acknowledge.
///
/// Cheap to clone; all clones are the same socket. Create one with
/// [`Manager::socket`](crate::Manager::socket) or [`Client::connect`](crate::Client::connect).
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    namespace: Arc<str>,
    auth: Option<Value>,
    options: Arc<ManagerOptions>,
    command_tx: mpsc::Sender<Command>,
    link: SocketLink,
    state_rx: watch::Receiver<SocketState>,
    engine_rx: watch::Receiver<EngineState>,
    registration_tx: mpsc::UnboundedSender<Registration>,
    listener_ids: ListenerIds,
    next_ack_id: AtomicU64,
    outgoing_listeners: AtomicUsize,
    /// The at-least-once queue, when `retries` is set.
    retry_tx: Option<mpsc::Sender<RetryItem>>,
}

/// A socket reference that does not keep it alive.
#[derive(Clone)]
pub(crate) struct WeakSocket(Weak<SocketInner>);

impl WeakSocket {
    /// The socket, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<Socket> {
        self.0.upgrade().map(|inner| Socket { inner })
    }
}

/// The size of a socket's offline buffer (emits waiting for the namespace to connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferedEmits {
    /// Buffered emits.
    pub emits: usize,
    /// Their size on the wire, in bytes.
    pub bytes: usize,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("namespace", &self.inner.namespace)
            .field("state", &*self.inner.state_rx.borrow())
            .finish()
    }
}

/// The reply to an emit with acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    /// The values the server passed to its callback.
    pub args: Vec<Value>,
}

impl Ack {
    /// Parses the reply into `T`, as one array: a tuple for several values,
    /// e.g. `let (ok,): (bool,) = ack.parse()?`.
    ///
    /// # Errors
    /// [`ValueError`] if the reply does not match `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_args(self.args.clone())
    }
}

impl Socket {
    pub(crate) fn new(
        namespace: Arc<str>,
        socket_options: SocketOptions,
        options: Arc<ManagerOptions>,
        command_tx: mpsc::Sender<Command>,
        engine_rx: watch::Receiver<EngineState>,
    ) -> Self {
        let (event_tx, event_rx) = mpsc::channel(options.incoming_capacity.max(1));
        let (registration_tx, registration_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(SocketState::Idle);
        spawn_dispatcher(&namespace, event_rx, registration_rx, state_rx.clone());
        let retries = socket_options.retries;
        let inner = Arc::new_cyclic(|weak| {
            let retry_tx = (retries > 0).then(|| {
                let (retry_tx, retry_rx) = mpsc::channel(RETRY_QUEUE_CAPACITY);
                tokio::spawn(run_retry_queue(WeakSocket(weak.clone()), retry_rx, retries));
                retry_tx
            });
            SocketInner {
                namespace,
                auth: socket_options.auth,
                options,
                command_tx,
                link: SocketLink {
                    event_tx,
                    produced: Arc::default(),
                    buffer: Arc::default(),
                    state_tx: Arc::new(state_tx),
                },
                state_rx,
                engine_rx,
                registration_tx,
                listener_ids: ListenerIds::default(),
                next_ack_id: AtomicU64::new(0),
                outgoing_listeners: AtomicUsize::new(0),
                retry_tx,
            }
        });
        Self { inner }
    }

    /// The namespace, e.g. `/` or `/admin`.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The socket id given by the server, while connected.
    pub fn id(&self) -> Option<String> {
        match &*self.inner.state_rx.borrow() {
            SocketState::Connected { sid, .. } => Some(sid.to_string()),
            _ => None,
        }
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.inner.state_rx.borrow().is_connected()
    }

    /// Whether connection state recovery restored the previous session on the last connect.
    pub fn recovered(&self) -> bool {
        matches!(
            &*self.inner.state_rx.borrow(),
            SocketState::Connected {
                recovered: true,
                ..
            }
        )
    }

    /// The current state.
    pub fn state(&self) -> SocketState {
        self.inner.state_rx.borrow().clone()
    }

    /// A receiver of every state change, to `await` a state.
    pub fn watch_state(&self) -> watch::Receiver<SocketState> {
        self.inner.state_rx.clone()
    }

    /// Connects the namespace (opening the manager's connection if needed) and waits for
    /// the server's reply. Emits made before are buffered and sent, in order, once connected.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f() -> Result<(), ferrio::ConnectError> {
    /// let manager = ferrio::Manager::new("http://localhost:3000")?;
    /// let admin = manager.socket("/admin");
    /// admin.connect().await?;
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`ConnectError::Rejected`] when the server's middleware refuses (with its `data`),
    /// [`ConnectError::Transport`] or [`ConnectError::Timeout`] when the server cannot be
    /// reached (reconnection, when on, keeps trying in the background),
    /// [`ConnectError::Closed`] when the manager is closed.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let command = Command::Connect {
            namespace: self.inner.namespace.clone(),
            auth: self.inner.auth.clone(),
            link: self.inner.link.clone(),
            reply: reply_tx,
        };
        self.inner
            .command_tx
            .send(command)
            .await
            .map_err(|_| ConnectError::Closed)?;
        reply_rx.await.map_err(|_| ConnectError::Closed)?
    }

    /// Disconnects this namespace (`io client disconnect`); other namespaces stay connected.
    /// The manager's connection closes when no namespace is left.
    pub async fn disconnect(&self) {
        let _ = self
            .inner
            .command_tx
            .send(Command::Disconnect {
                namespace: self.inner.namespace.clone(),
            })
            .await;
    }

    /// Emits `event` with `args`: a tuple for several arguments, `()` for none, anything
    /// else `Serialize` for one. Waits while the outgoing queue is full (backpressure).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) -> Result<(), ferrio::EmitError> {
    /// socket.emit("chat", &("lobby", "hello")).await?;
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`EmitError::ReservedEvent`], [`EmitError::PayloadTooLarge`],
    /// [`EmitError::TooManyAttachments`], [`EmitError::Serialize`], [`EmitError::Closed`].
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.emit_values(event, to_args(args)?).await
    }

    /// Emits `event` with values as its arguments; see [`Socket::emit`].
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub async fn emit_values(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        if let Some(retry_tx) = &self.inner.retry_tx {
            self.prepare(event, args.clone(), None, false)?;
            let item = RetryItem {
                event: event.to_owned(),
                args,
                reply: None,
            };
            return retry_tx.send(item).await.map_err(|_| EmitError::Closed);
        }
        let emit = self.prepare(event, args, None, false)?;
        self.send_emit(emit).await
    }

    /// Emits without waiting: fails with [`EmitError::QueueFull`] when the outgoing queue
    /// is full.
    ///
    /// # Errors
    /// As [`Socket::emit`], plus [`EmitError::QueueFull`].
    pub fn try_emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.try_emit_values(event, to_args(args)?)
    }

    /// Like [`Socket::try_emit`], with values as arguments. While the namespace is not
    /// connected, a full offline buffer ([`BufferPolicy::Reject`]) refuses the emit with
    /// [`EmitError::BufferFull`], as far as the last published buffer size tells.
    ///
    /// # Errors
    /// As [`Socket::try_emit`].
    pub fn try_emit_values(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let emit = self.prepare(event, args, None, false)?;
        let options = &self.inner.options;
        if !self.connected() && options.buffer_policy == BufferPolicy::Reject {
            let buffered = self.buffered();
            if buffered.emits >= options.max_buffered_emits
                || buffered.bytes + emit.size() > options.max_buffered_bytes
            {
                return Err(EmitError::BufferFull);
            }
        }
        self.inner
            .command_tx
            .try_send(Command::Emit(emit))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => EmitError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => EmitError::Closed,
            })
    }

    /// Hands `emit` to the connection task. While the namespace is not connected, waits to
    /// learn whether the offline buffer took it.
    async fn send_emit(&self, mut emit: OutgoingEmit) -> Result<(), EmitError> {
        let admission_rx = (!emit.volatile && !self.connected()).then(|| {
            let (admission_tx, admission_rx) = oneshot::channel();
            emit.admission = Some(admission_tx);
            admission_rx
        });
        self.inner
            .command_tx
            .send(Command::Emit(emit))
            .await
            .map_err(|_| EmitError::Closed)?;
        match admission_rx {
            Some(admission_rx) => admission_rx.await.unwrap_or(Err(EmitError::Closed)),
            None => Ok(()),
        }
    }

    /// Emits a volatile event: dropped, not buffered, when the connection is not writable.
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub async fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let emit = self.prepare(event, to_args(args)?, None, true)?;
        self.send_emit(emit).await
    }

    /// Emits `event` and waits for the server's acknowledgement, at most the manager's
    /// `ack_timeout`.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) -> Result<(), ferrio::AckError> {
    /// let ack = socket.emit_with_ack("join", &"lobby").await?;
    /// let (joined,): (bool,) = ack.parse().unwrap_or((false,));
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`AckError::Timeout`] when no reply comes in time, [`AckError::Disconnected`] when
    /// the connection drops after the packet was sent, [`AckError::Emit`] when it cannot be sent.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Ack, AckError> {
        let timeout = self.inner.options.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout).await
    }

    /// Like [`Socket::emit_with_ack`], with its own timeout.
    ///
    /// # Errors
    /// As [`Socket::emit_with_ack`].
    pub async fn emit_with_ack_timeout<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let args = to_args(args).map_err(EmitError::from)?;
        self.emit_values_with_ack(event, args, timeout).await
    }

    /// Like [`Socket::emit_with_ack`], with values as arguments and its own timeout.
    ///
    /// # Errors
    /// As [`Socket::emit_with_ack`].
    pub async fn emit_values_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let Some(retry_tx) = &self.inner.retry_tx else {
            return self.emit_values_with_ack_once(event, args, timeout).await;
        };
        self.prepare(event, args.clone(), None, false)?;
        let (reply_tx, reply_rx) = oneshot::channel();
        let item = RetryItem {
            event: event.to_owned(),
            args,
            reply: Some(reply_tx),
        };
        retry_tx.send(item).await.map_err(|_| AckError::Closed)?;
        reply_rx.await.map_err(|_| AckError::Closed)?
    }

    /// The default ack timeout.
    pub(crate) fn ack_timeout(&self) -> Duration {
        self.inner.options.ack_timeout
    }

    /// One emit with ack, without retries.
    pub(crate) async fn emit_values_with_ack_once(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let id = self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed);
        let (ack_tx, ack_rx) = oneshot::channel::<AckResult>();
        let emit = self.prepare(event, args, Some((id, ack_tx)), false)?;
        let deadline = tokio::time::Instant::now() + timeout;
        match tokio::time::timeout_at(deadline, self.send_emit(emit)).await {
            Ok(Ok(())) => {}
            Ok(Err(EmitError::Closed)) => return Err(AckError::Closed),
            Ok(Err(error)) => return Err(AckError::Emit(error)),
            Err(_) => return Err(AckError::Timeout(timeout)),
        }
        match tokio::time::timeout_at(deadline, ack_rx).await {
            Ok(Ok(result)) => result.map(|args| Ack { args }),
            Ok(Err(_)) => Err(AckError::Closed),
            Err(_) => {
                let forget = Command::ForgetAck {
                    namespace: self.inner.namespace.clone(),
                    id,
                };
                let _ = self.inner.command_tx.try_send(forget);
                Err(AckError::Timeout(timeout))
            }
        }
    }

    fn prepare(
        &self,
        event: &str,
        args: Vec<Value>,
        ack: Option<(u64, oneshot::Sender<AckResult>)>,
        volatile: bool,
    ) -> Result<OutgoingEmit, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        if self.inner.outgoing_listeners.load(Ordering::Relaxed) > 0 {
            let outgoing = Event::new(
                self.inner.namespace.clone(),
                event.to_owned(),
                args.clone(),
                None,
            );
            let _ = self
                .inner
                .registration_tx
                .send(Registration::Outgoing(outgoing));
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        let packet = Packet {
            kind: PacketKind::Event,
            nsp: self.inner.namespace.to_string(),
            id: ack.as_ref().map(|(id, _)| *id),
            data: Some(Value::Array(data)),
        };
        let mut text = String::new();
        let mut attachments = Vec::new();
        packet.encode(&mut text, &mut attachments);
        let max_attachments = self.inner.options.max_outgoing_attachments;
        if attachments.len() > max_attachments {
            return Err(EmitError::TooManyAttachments {
                count: attachments.len(),
                max: max_attachments,
            });
        }
        if let Some(max) = self.inner.engine_rx.borrow().max_payload {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            let largest = attachments
                .iter()
                .map(|a| a.len())
                .chain([text.len() + 1])
                .max()
                .unwrap_or(0);
            if largest > max {
                return Err(EmitError::PayloadTooLarge { size: largest, max });
            }
        }

        let mut packets = Vec::with_capacity(1 + attachments.len());
        packets.push(EnginePacket::Message(text));
        packets.extend(attachments.into_iter().map(EnginePacket::Binary));
        Ok(OutgoingEmit {
            namespace: self.inner.namespace.clone(),
            packets,
            ack,
            volatile,
            admission: None,
        })
    }

    /// The offline buffer: emits made while the namespace is not connected, sent in order
    /// once it is.
    pub fn buffered(&self) -> BufferedEmits {
        let buffer = &self.inner.link.buffer;
        BufferedEmits {
            emits: buffer.emits.load(Ordering::Acquire),
            bytes: buffer.bytes.load(Ordering::Acquire),
        }
    }

    /// Discards the offline buffer; the acks of the discarded emits fail with
    /// [`AckError::Discarded`].
    pub async fn clear_buffer(&self) {
        let _ = self
            .inner
            .command_tx
            .send(Command::ClearBuffer {
                namespace: self.inner.namespace.clone(),
            })
            .await;
    }

    /// Joins `room`: emits the join event (`room_join_event`, default `join`) with the room
    /// name now if connected, else at the next connection, and again after every
    /// reconnection that did not recover the session (the server forgets rooms then).
    pub async fn join_room(&self, room: &str) {
        let command = Command::JoinRoom {
            namespace: self.inner.namespace.clone(),
            room: room.to_owned(),
        };
        let _ = self.inner.command_tx.send(command).await;
    }

    /// Leaves `room`: forgets the intent and emits the leave event when connected.
    pub async fn leave_room(&self, room: &str) {
        let command = Command::LeaveRoom {
            namespace: self.inner.namespace.clone(),
            room: room.to_owned(),
        };
        let _ = self.inner.command_tx.send(command).await;
    }

    /// Calls `handler` with every `event` from the server (also `connect`, `disconnect`
    /// with the reason string, and `connect_error` with `{message, data}`).
    ///
    /// Handlers run on this socket's dispatcher task, in order; a slow handler delays the
    /// next events of this socket only. Answer an ack request with [`Event::ack`].
    pub fn on(&self, event: &str, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Named(event.to_owned()), false, Arc::new(handler))
    }

    /// Like [`Socket::on`], for the next `event` only.
    pub fn once(&self, event: &str, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Named(event.to_owned()), true, Arc::new(handler))
    }

    /// Removes one listener.
    pub fn off(&self, id: ListenerId) {
        let _ = self.inner.registration_tx.send(Registration::Remove(id));
    }

    /// Removes every listener of `event`.
    pub fn off_event(&self, event: &str) {
        let _ = self
            .inner
            .registration_tx
            .send(Registration::RemoveAll(Filter::Named(event.to_owned())));
    }

    /// Calls `handler` with every custom event from the server (catch-all).
    pub fn on_any(&self, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Any, false, Arc::new(handler))
    }

    /// Removes every catch-all listener.
    pub fn off_any(&self) {
        let _ = self
            .inner
            .registration_tx
            .send(Registration::RemoveAll(Filter::Any));
    }

    /// Calls `handler` with every event this socket emits.
    pub fn on_any_outgoing(&self, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.inner
            .outgoing_listeners
            .fetch_add(1, Ordering::Relaxed);
        self.add(Filter::AnyOutgoing, false, Arc::new(handler))
    }

    /// Removes every outgoing catch-all listener.
    pub fn off_any_outgoing(&self) {
        self.inner.outgoing_listeners.store(0, Ordering::Relaxed);
        let _ = self
            .inner
            .registration_tx
            .send(Registration::RemoveAll(Filter::AnyOutgoing));
    }

    fn add(&self, filter: Filter, once: bool, handler: Handler) -> ListenerId {
        let id = self.inner.listener_ids.next();
        let from = self.produced();
        let _ = self.inner.registration_tx.send(Registration::Add {
            id,
            filter,
            once,
            from,
            handler,
        });
        id
    }

    /// A stream of everything this socket observes from now on: events, connects,
    /// disconnects, errors. It applies backpressure: events wait while it is full.
    pub fn events(&self) -> EventStream {
        let (stream_tx, stream_rx) = mpsc::channel(self.inner.options.incoming_capacity.max(1));
        let from = self.produced();
        let _ = self
            .inner
            .registration_tx
            .send(Registration::Stream { stream_tx, from });
        EventStream::new(stream_rx)
    }

    /// How many events were produced for this socket so far: a listener added now gets the
    /// ones numbered from here.
    fn produced(&self) -> u64 {
        self.inner.link.produced.load(Ordering::Acquire)
    }
}

/// Wraps a server event as a stream item.
impl From<Event> for SocketEvent {
    fn from(event: Event) -> Self {
        SocketEvent::Event(event)
    }
}
