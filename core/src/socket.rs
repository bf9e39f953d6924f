//! `Socket`: a cheap handle to one namespace of a manager's connection.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use crate::dispatcher::{
    spawn_dispatcher, DispatcherStart, Filter, Handler, Listener, ListenerId, ListenerIds,
    Listeners, OutgoingQueue,
};
use crate::error::{AckError, ConnectError, EmitError};
use crate::manager::command::{
    AckResult, AckWaiter, Command, CommandTx, OutgoingEmit, QueuedBytes, RetryEmit, SocketLink,
};
use crate::manager::delivery::{self, DeliveryRx};
use crate::manager::event::{Event, SocketEvent};
use crate::manager::queue::TrySendError;
use crate::options::{BufferPolicy, ManagerOptions, SocketOptions};
use crate::socketio::packet::{frame, Header};
use crate::socketio::{Packet, PacketKind, Payload, RESERVED_EVENTS};
use crate::state::{EngineState, SocketState};
use crate::stream::EventStream;
use crate::value::{to_args, write_plain_args, write_str, Value, ValueError};

mod json_emit;

pub use json_emit::JsonEmit;

/// A namespace on a manager's connection: emit, listen, acknowledge.
///
/// Cheap to clone; all clones are the same socket. Create one with
/// [`Manager::socket`](crate::Manager::socket) or [`Client::connect`](crate::Client::connect).
///
/// # Examples
/// Two namespaces on one connection:
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = ferrio::Manager::new("http://localhost:3000")?;
/// let main = manager.socket("/");
/// let admin = manager.socket("/admin");
/// main.connect().await?;
/// admin.connect().await?;
/// admin.emit("kick", &"alice").await?;
/// manager.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    namespace: Arc<str>,
    auth: Option<Value>,
    options: Arc<ManagerOptions>,
    command_tx: CommandTx,
    link: SocketLink,
    state_rx: watch::Receiver<SocketState>,
    engine_rx: watch::Receiver<EngineState>,
    /// The listeners, shared with the dispatcher.
    listeners: Arc<Listeners>,
    /// The queue of outgoing events to the dispatcher. The first listener makes it and
    /// starts the dispatcher (see [`Socket::add`]): a socket without Rust listeners costs
    /// no dispatcher and no queue.
    outgoing: OnceLock<Arc<OutgoingQueue>>,
    /// The runtime the socket was made in, where its listeners run.
    runtime: tokio::runtime::Handle,
    listener_ids: ListenerIds,
    next_ack_id: AtomicU64,
    outgoing_listeners: AtomicUsize,
    /// Tries per emit beyond the first (`SocketOptions::retries`): with any, every emit
    /// goes through the connection task's at-least-once queue.
    retries: u32,
}

/// Room for the text of a small emit besides its namespace and event name: one
/// allocation for typical arguments (larger ones grow the buffer).
const PLAIN_EMIT_CAPACITY: usize = 64;

/// Refuses the event names the server reserves.
fn check_event(event: &str) -> Result<(), EmitError> {
    if RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    Ok(())
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

/// The reply to an emit with acknowledgement: the values the server passed to its
/// callback, in wire form until asked for.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The reply as it arrived.
    payload: Payload,
    /// The reply as values, built on first use.
    args: OnceLock<Vec<Value>>,
}

impl PartialEq for Ack {
    /// Replies are equal when their wire forms are.
    fn eq(&self, other: &Self) -> bool {
        self.payload == other.payload
    }
}

impl From<Payload> for Ack {
    /// A reply in wire form.
    fn from(payload: Payload) -> Self {
        Ack {
            payload,
            args: OnceLock::new(),
        }
    }
}

impl Ack {
    /// A reply made of values.
    pub fn from_values(args: Vec<Value>) -> Self {
        Ack {
            payload: Payload::from_values(&args),
            args: OnceLock::from(args),
        }
    }

    /// The values the server passed to its callback, binary in place, built on first use.
    pub fn args(&self) -> &[Value] {
        self.args.get_or_init(|| self.payload.values())
    }

    /// The reply as it arrived: the JSON text of an array, binary nodes as
    /// `{"_placeholder":true,"num":K}`, and the attachments.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The reply in wire form.
    pub fn into_payload(self) -> Payload {
        self.payload
    }

    /// Parses the reply into `T`, as one array: a tuple for several values,
    /// e.g. `let (ok,): (bool,) = ack.parse()?`.
    ///
    /// # Errors
    /// [`ValueError`] if the reply does not match `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        self.payload.parse()
    }
}

impl Socket {
    pub(crate) fn new(
        namespace: Arc<str>,
        socket_options: SocketOptions,
        options: Arc<ManagerOptions>,
        command_tx: CommandTx,
        engine_rx: watch::Receiver<EngineState>,
    ) -> Self {
        let (state_tx, state_rx) = watch::channel(SocketState::Idle);
        let queued = Arc::new(QueuedBytes::new(options.max_incoming_queue_bytes));
        let inner = Arc::new(SocketInner {
            namespace,
            auth: socket_options.auth,
            options,
            command_tx,
            link: SocketLink {
                subscribers: Arc::default(),
                buffer: Arc::default(),
                state_tx: Arc::new(state_tx),
                queued,
            },
            state_rx,
            engine_rx,
            listeners: Arc::default(),
            outgoing: OnceLock::new(),
            runtime: tokio::runtime::Handle::current(),
            listener_ids: ListenerIds::default(),
            next_ack_id: AtomicU64::new(0),
            outgoing_listeners: AtomicUsize::new(0),
            retries: socket_options.retries,
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
            link: Box::new(self.inner.link.clone()),
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
    /// The manager's connection closes when no namespace is left. Returns once the
    /// connection task has applied it: [`connected`](Self::connected) is `false` from then on.
    pub async fn disconnect(&self) {
        let (done, applied) = oneshot::channel();
        let command = Command::Disconnect {
            namespace: self.inner.namespace.clone(),
            done,
        };
        if self.inner.command_tx.send(command).await.is_ok() {
            let _ = applied.await;
        }
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
        match self.prepare_plain(event, args, None, false)? {
            Some(emit) => self.send_emit(emit).await,
            None => self.emit_values(event, to_args(args)?).await,
        }
    }

    /// Emits `event` with values as its arguments; see [`Socket::emit`].
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub async fn emit_values(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        if self.inner.retries > 0 {
            let timeout = self.inner.options.ack_timeout;
            return self.send_with_retries(event, args, timeout, None).await;
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
        match self.prepare_plain(event, args, None, false)? {
            Some(emit) => self.try_send_emit(emit),
            None => self.try_emit_values(event, to_args(args)?),
        }
    }

    /// Like [`Socket::try_emit`], with values as arguments. While the namespace is not
    /// connected, a full offline buffer ([`BufferPolicy::Reject`]) refuses the emit with
    /// [`EmitError::BufferFull`], as far as the last published buffer size tells. With
    /// `retries` ([`SocketOptions::retries`]), the emit joins the at-least-once queue, as
    /// [`Socket::emit`]'s does.
    ///
    /// # Errors
    /// As [`Socket::try_emit`].
    pub fn try_emit_values(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        if self.inner.retries > 0 {
            let timeout = self.inner.options.ack_timeout;
            let emit = self.retry_emit(event, args, timeout, None)?;
            self.check_buffer_room(emit.size)?;
            return self.try_send(Command::EmitWithRetries(Box::new(emit)));
        }
        let emit = self.prepare(event, args, None, false)?;
        self.try_send_emit(emit)
    }

    /// Hands `emit` to the connection task without waiting.
    fn try_send_emit(&self, emit: OutgoingEmit) -> Result<(), EmitError> {
        if !emit.volatile && !self.connected() {
            self.check_buffer_room(emit.size())?;
        }
        self.try_send(Command::Emit(emit))
    }

    /// With [`BufferPolicy::Reject`], refuses an emit of `size` bytes that the offline
    /// buffer has no room for, as far as the last published buffer size tells.
    fn check_buffer_room(&self, size: usize) -> Result<(), EmitError> {
        let options = &self.inner.options;
        if options.buffer_policy == BufferPolicy::Reject {
            let buffered = self.buffered();
            if buffered.emits >= options.max_buffered_emits
                || buffered.bytes + size > options.max_buffered_bytes
            {
                return Err(EmitError::BufferFull);
            }
        }
        Ok(())
    }

    /// Hands `command` to the connection task without waiting.
    fn try_send(&self, command: Command) -> Result<(), EmitError> {
        self.inner
            .command_tx
            .try_send(command)
            .map_err(|e| match e {
                TrySendError::Full(_) => EmitError::QueueFull,
                TrySendError::Closed(_) => EmitError::Closed,
            })
    }

    /// Hands `emit` to the connection task. While the namespace is not connected, waits to
    /// learn whether the offline buffer took it.
    async fn send_emit(&self, mut emit: OutgoingEmit) -> Result<(), EmitError> {
        let admission_rx = (!emit.volatile && !self.connected()).then(|| {
            let (admission_tx, admission_rx) = oneshot::channel();
            emit.set_admission(admission_tx);
            admission_rx
        });
        // A free slot is taken without the waiting machinery of `send` (the semaphore
        // hands freed slots to waiting senders first, so this does not overtake them).
        match self.inner.command_tx.try_send(Command::Emit(emit)) {
            Ok(()) => {}
            Err(TrySendError::Full(command)) => self
                .inner
                .command_tx
                .send(command)
                .await
                .map_err(|_| EmitError::Closed)?,
            Err(TrySendError::Closed(_)) => return Err(EmitError::Closed),
        }
        match admission_rx {
            Some(admission_rx) => admission_rx.await.unwrap_or(Err(EmitError::Closed)),
            None => Ok(()),
        }
    }

    /// Emits a volatile event: dropped, not buffered, when the connection is not writable.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) -> Result<(), ferrio::EmitError> {
    /// // A position update is worthless once stale: never buffer it.
    /// socket.emit_volatile("position", &(48.85, 2.35)).await?;
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// As [`Socket::emit`].
    pub async fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let emit = match self.prepare_plain(event, args, None, true)? {
            Some(emit) => emit,
            None => self.prepare(event, to_args(args)?, None, true)?,
        };
        self.send_emit(emit).await
    }

    /// Like [`Socket::emit_volatile`], with values as arguments.
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub async fn emit_volatile_values(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(), EmitError> {
        let emit = self.prepare(event, args, None, true)?;
        self.send_emit(emit).await
    }

    /// Like [`Socket::emit_volatile_values`], without waiting: fails with
    /// [`EmitError::QueueFull`] when the outgoing queue is full (the emit is dropped, as
    /// a volatile emit may be).
    ///
    /// # Errors
    /// As [`Socket::try_emit`].
    pub fn try_emit_volatile_values(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let emit = self.prepare(event, args, None, true)?;
        self.try_send_emit(emit)
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
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) {
    /// use std::time::Duration;
    /// match socket.emit_with_ack_timeout("echo", &"hi", Duration::from_secs(2)).await {
    ///     Ok(ack) => println!("reply: {:?}", ack.args()),
    ///     Err(ferrio::AckError::Timeout(_)) => println!("no reply within 2 s"),
    ///     Err(e) => println!("failed: {e}"),
    /// }
    /// # }
    /// ```
    /// # Errors
    /// As [`Socket::emit_with_ack`].
    pub async fn emit_with_ack_timeout<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        if self.inner.retries == 0 {
            let id = self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed);
            let emit = match self.prepare_plain(event, args, Some(id), false)? {
                Some(emit) => emit,
                None => {
                    let args = to_args(args).map_err(EmitError::from)?;
                    self.prepare(event, args, Some(id), false)?
                }
            };
            return self.send_and_await_ack(emit, timeout).await;
        }
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
        if self.inner.retries == 0 {
            let id = self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed);
            let emit = self.prepare(event, args, Some(id), false)?;
            return self.send_and_await_ack(emit, timeout).await;
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        match self
            .send_with_retries(event, args, timeout, Some(reply_tx))
            .await
        {
            Ok(()) => {}
            Err(EmitError::Closed) => return Err(AckError::Closed),
            Err(error) => return Err(AckError::Emit(error)),
        }
        match reply_rx.await {
            Ok(result) => result.map(Ack::from),
            Err(_) => Err(AckError::Closed),
        }
    }

    /// Queues an emit of a socket with `retries` in the connection task's at-least-once
    /// queue: it is sent, one at a time after the others, until the server acknowledges
    /// it, each try waiting `timeout`; `reply_tx` gets the ack or why none came. Waits to
    /// learn whether the queue took it.
    async fn send_with_retries(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        reply_tx: Option<oneshot::Sender<AckResult>>,
    ) -> Result<(), EmitError> {
        let mut emit = self.retry_emit(event, args, timeout, reply_tx)?;
        let (admission_tx, admission_rx) = oneshot::channel();
        emit.admission = Some(admission_tx);
        self.inner
            .command_tx
            .send(Command::EmitWithRetries(Box::new(emit)))
            .await
            .map_err(|_| EmitError::Closed)?;
        admission_rx.await.unwrap_or(Err(EmitError::Closed))
    }

    /// The at-least-once emit of `event` with `args`, each try waiting `timeout`;
    /// `reply_tx` gets the ack or why none came.
    fn retry_emit(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        reply_tx: Option<oneshot::Sender<AckResult>>,
    ) -> Result<RetryEmit, EmitError> {
        let packet = self.event_packet(event, args, None)?;
        let (text, attachments) = packet.to_text();
        let size = self.finish(text, attachments, false)?.size();
        Ok(RetryEmit {
            packet,
            size,
            retries: self.inner.retries,
            timeout,
            reply_tx,
            admission: None,
        })
    }

    /// Sends `emit`, an event asking for an ack, and waits for the reply.
    ///
    /// The connection task keeps the deadline: it answers [`AckError::Timeout`] when it
    /// passes, and forgets the ack (with its emit, if still buffered). Only the wait for
    /// room in the command queue, before the task knows of the ack, is bounded here by the
    /// same deadline; what was not queued leaves nothing behind.
    async fn send_and_await_ack(
        &self,
        mut emit: OutgoingEmit,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let (reply_tx, reply_rx) = oneshot::channel::<AckResult>();
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        emit.set_ack_waiter(AckWaiter {
            reply_tx,
            deadline,
            timeout,
        });
        // Polled once first: a free queue slot (the usual case) takes the emit without
        // the timer entry of `timeout_at`, which only the wait for room needs.
        let mut send = std::pin::pin!(self.send_emit(emit));
        let sent = match std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await {
            Poll::Ready(sent) => Ok(sent),
            Poll::Pending => match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, send).await,
                None => Ok(send.await),
            },
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(EmitError::Closed)) => return Err(AckError::Closed),
            Ok(Err(error)) => return Err(AckError::Emit(error)),
            Err(_) => return Err(AckError::Timeout(timeout)),
        }
        match reply_rx.await {
            Ok(result) => result.map(Ack::from),
            Err(_) => Err(AckError::Closed),
        }
    }

    /// The emit of `event` with `args` as values: the path that handles binary, and
    /// what outgoing listeners need.
    fn prepare(
        &self,
        event: &str,
        args: Vec<Value>,
        ack_id: Option<u64>,
        volatile: bool,
    ) -> Result<OutgoingEmit, EmitError> {
        let packet = self.event_packet(event, args, ack_id)?;
        let mut text = String::new();
        let mut attachments = Vec::new();
        packet.encode(&mut text, &mut attachments);
        let emit = self.finish(text, attachments, volatile)?;
        Ok(emit.asking(ack_id))
    }

    /// The packet of `event` with `args`, asking for ack `ack_id`; shown to the outgoing
    /// listeners.
    fn event_packet(
        &self,
        event: &str,
        args: Vec<Value>,
        ack_id: Option<u64>,
    ) -> Result<Packet, EmitError> {
        check_event(event)?;
        if self.inner.outgoing_listeners.load(Ordering::Relaxed) > 0 {
            let outgoing =
                Event::from_values(self.inner.namespace.clone(), event.to_owned(), args.clone());
            if let Some(queue) = self.inner.outgoing.get() {
                queue.send(outgoing);
            }
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        Ok(Packet {
            kind: PacketKind::Event,
            nsp: self.inner.namespace.to_string(),
            id: ack_id,
            data: Some(Value::Array(data)),
        })
    }

    /// The emit of `event` with `args` written straight to text (no [`Value`]s), or
    /// `None` when it needs [`Socket::prepare`]: the arguments hold binary (see
    /// [`write_plain_args`]), the at-least-once queue keeps values, or outgoing listeners get them.
    fn prepare_plain<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        ack_id: Option<u64>,
        volatile: bool,
    ) -> Result<Option<OutgoingEmit>, EmitError> {
        check_event(event)?;
        if self.inner.retries > 0 || self.inner.outgoing_listeners.load(Ordering::Relaxed) > 0 {
            return Ok(None);
        }
        let namespace = &*self.inner.namespace;
        let mut text = String::with_capacity(PLAIN_EMIT_CAPACITY + namespace.len() + event.len());
        let header = Header {
            kind: PacketKind::Event,
            nsp: namespace,
            id: ack_id,
            attachments: 0,
        };
        let framed = frame(&mut text, header, |out| {
            out.push('[');
            write_str(event, out);
            let mut json = std::mem::take(out).into_bytes();
            let written = write_plain_args(args, &mut json);
            json.push(b']');
            *out = String::from_utf8(json).map_err(|_| ())?;
            written.then_some(()).ok_or(())
        });
        if framed.is_err() {
            return Ok(None);
        }
        let emit = self.finish(text, Vec::new(), volatile)?;
        Ok(Some(emit.asking(ack_id)))
    }

    /// Checks an encoded emit against the attachment and payload limits; the emit asks
    /// for no ack.
    fn finish(
        &self,
        text: String,
        attachments: Vec<Bytes>,
        volatile: bool,
    ) -> Result<OutgoingEmit, EmitError> {
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
                .map(Bytes::len)
                .chain([text.len() + 1])
                .max()
                .unwrap_or(0);
            if largest > max {
                return Err(EmitError::PayloadTooLarge { size: largest, max });
            }
        }
        Ok(OutgoingEmit::new(
            self.inner.namespace.clone(),
            text,
            attachments,
            volatile,
        ))
    }

    /// The offline buffer: emits made while the namespace is not connected, sent in order
    /// once it is. With `retries` ([`SocketOptions::retries`]), the emits not acknowledged
    /// yet count too, within the same bounds.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) {
    /// let waiting = socket.buffered();
    /// if waiting.emits > 100 {
    ///     socket.clear_buffer().await;
    /// }
    /// # }
    /// ```
    pub fn buffered(&self) -> BufferedEmits {
        let buffer = &self.inner.link.buffer;
        BufferedEmits {
            emits: buffer.emits.load(Ordering::Acquire),
            bytes: buffer.bytes.load(Ordering::Acquire),
        }
    }

    /// Discards the offline buffer (with `retries`, every emit not acknowledged yet); the
    /// acks of the discarded emits fail with [`AckError::Discarded`].
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
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) {
    /// socket.join_room("lobby").await;
    /// socket.on("news", |event| println!("lobby news: {:?}", event.args()));
    /// # }
    /// ```
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
    /// Handlers run on this socket's dispatcher thread (started by the first handler; a
    /// socket with streams alone has no dispatcher: the connection task fills each
    /// stream's queue), in order; a slow handler delays the next events of this socket
    /// only. Answer an ack request with [`Event::ack`].
    ///
    /// # Examples
    /// ```no_run
    /// # fn f(socket: ferrio::Socket) {
    /// #[derive(serde::Deserialize)]
    /// struct Chat {
    ///     user: String,
    ///     text: String,
    /// }
    /// let id = socket.on("chat", |event| {
    ///     if let Ok((chat,)) = event.parse::<(Chat,)>() {
    ///         println!("{}: {}", chat.user, chat.text);
    ///     }
    /// });
    /// socket.on("ping-me", |event| {
    ///     let _ = event.ack(&"pong");
    /// });
    /// socket.off(id);
    /// # }
    /// ```
    pub fn on(&self, event: &str, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Named(event.to_owned()), false, Arc::new(handler))
    }

    /// Like [`Socket::on`], for the next `event` only.
    pub fn once(&self, event: &str, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Named(event.to_owned()), true, Arc::new(handler))
    }

    /// Removes one listener.
    pub fn off(&self, id: ListenerId) {
        if self.inner.listeners.remove(id) {
            // The emits stop building events for the outgoing listeners with the last one
            // (`off_any_outgoing` may have counted it out already).
            let _ = self.inner.outgoing_listeners.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |count| count.checked_sub(1),
            );
        }
    }

    /// Removes every listener of `event`.
    pub fn off_event(&self, event: &str) {
        self.inner
            .listeners
            .remove_all(&Filter::Named(event.to_owned()));
    }

    /// Calls `handler` with every custom event from the server (catch-all).
    ///
    /// # Examples
    /// ```no_run
    /// # fn f(socket: ferrio::Socket) {
    /// socket.on_any(|event| println!("{} {:?}", event.name, event.args()));
    /// # }
    /// ```
    pub fn on_any(&self, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.add(Filter::Any, false, Arc::new(handler))
    }

    /// Removes every catch-all listener.
    pub fn off_any(&self) {
        self.inner.listeners.remove_all(&Filter::Any);
    }

    /// Calls `handler` with every event this socket emits.
    ///
    /// The events wait for the handler in a queue of
    /// [`ManagerOptions::incoming_capacity`](crate::ManagerOptions::incoming_capacity)
    /// events. When the handlers fall that far behind, further emits are still sent but
    /// not shown to them: those events are dropped, counted and logged as a warning with
    /// their number (an emit never waits for a listener).
    pub fn on_any_outgoing(&self, handler: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        self.inner
            .outgoing_listeners
            .fetch_add(1, Ordering::Relaxed);
        self.add(Filter::AnyOutgoing, false, Arc::new(handler))
    }

    /// Removes every outgoing catch-all listener.
    pub fn off_any_outgoing(&self) {
        self.inner.outgoing_listeners.store(0, Ordering::Relaxed);
        self.inner.listeners.remove_all(&Filter::AnyOutgoing);
    }

    /// Adds a listener of the events produced from now on, starting the dispatcher if need
    /// be. Event production waits while the listener is added (see
    /// `Subscribers::at_next`, and `OutgoingQueue::at_next` for the emits an outgoing
    /// listener sees): the dispatcher gets the events numbered from `from` on only after
    /// the listener is in its table.
    fn add(&self, filter: Filter, once: bool, handler: Handler) -> ListenerId {
        let id = self.inner.listener_ids.next();
        let outgoing = self.inner.outgoing.get_or_init(|| self.start_dispatcher());
        let numbered_outgoing = filter == Filter::AnyOutgoing;
        let add = |from| {
            self.inner.listeners.add(Listener {
                id,
                filter,
                once,
                from,
                handler,
            });
        };
        if numbered_outgoing {
            outgoing.at_next(add);
        } else {
            self.inner.link.subscribers.at_next(add);
        }
        id
    }

    /// A stream of everything this socket observes from now on: events, connects,
    /// disconnects, errors. It applies backpressure: events wait while it is full.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(socket: ferrio::Socket) {
    /// use ferrio::SocketEvent;
    /// let mut events = socket.events();
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         SocketEvent::Event(event) => println!("{}: {:?}", event.name, event.args()),
    ///         SocketEvent::Disconnect(reason) => println!("disconnected: {reason:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        EventStream::new(self.subscribe())
    }

    /// A queue of [`ManagerOptions::incoming_capacity`] events that the connection task
    /// fills with the events produced from now on; it ends when the manager closes (at
    /// once if it is closed).
    fn subscribe(&self) -> DeliveryRx {
        let (event_tx, event_rx) = delivery::channel(self.inner.options.incoming_capacity);
        self.inner.link.subscribers.subscribe(event_tx);
        event_rx
    }

    /// Subscribes the dispatcher's queue and starts it, with the outgoing queue.
    fn start_dispatcher(&self) -> Arc<OutgoingQueue> {
        let (outgoing, outgoing_rx) = OutgoingQueue::new(self.inner.options.incoming_capacity);
        spawn_dispatcher(DispatcherStart {
            name: format!("ferrio-dispatch {}", self.inner.namespace),
            runtime: self.inner.runtime.clone(),
            event_rx: self.subscribe(),
            listeners: self.inner.listeners.clone(),
            outgoing: outgoing.clone(),
            outgoing_rx,
        });
        outgoing
    }
}

/// Wraps a server event as a stream item.
impl From<Event> for SocketEvent {
    fn from(event: Event) -> Self {
        SocketEvent::Event(event)
    }
}
