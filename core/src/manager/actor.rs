//! The connection task: owns the engine session, the namespace table, the ack table and
//! the reconnect loop. Its loop only routes: commands, engine events, timers.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::OptionFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant, Sleep};

use super::acks::Acks;
use super::command::{Command, OutgoingEmit};
use super::failover;
use super::namespaces::{BufferLimits, Buffered, EarlyLimits, Namespaces, Phase};
use super::reconnect::ReconnectPolicy;
use super::ManagerEventTx;
use crate::disconnect::DisconnectReason;
use crate::engineio::session::{EngineSession, OpenOptions, SessionEvent, WriteFailed};
use crate::engineio::transport::{polling, Endpoint};
use crate::engineio::EnginePacket;
use crate::error::{server_text, AckError, ConnectError, EmitError, ProtocolError, TransportError};
use crate::event::{AckResponder, Event, ManagerEvent, SocketEvent};
use crate::options::{ManagerOptions, TransportKind};
use crate::socketio::{json_values, Decoder, Packet, PacketKind};
use crate::state::{EngineState, SocketState};
use crate::stats::Stats;
use crate::value::Value;

/// Time allowed to close a lost polling session before reconnecting.
const ABANDON_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How many commands are handled per wake-up.
const COMMAND_BATCH: usize = 64;

/// How long reading from the server pauses while a socket's event queue is full: the
/// consumer catches up and TCP slows the server down, instead of events being dropped.
/// Past this, reading resumes and what does not fit is dropped (reported as `Lagged`), so
/// a stalled consumer cannot stall the heartbeat.
const MAX_BACKPRESSURE: std::time::Duration = std::time::Duration::from_secs(1);

/// The engine connection's lifecycle.
enum Engine {
    /// No connection and none wanted.
    Idle,
    /// A handshake is under way.
    Opening {
        task: JoinHandle<Result<Opened, ConnectError>>,
        deadline: Instant,
    },
    /// Connected.
    Open(Box<EngineSession>),
    /// Waiting to reconnect.
    Waiting { until: Instant },
}

/// A session that opened, with the settings a reconnection hook changed.
struct Opened {
    session: EngineSession,
    /// The server it opened to.
    endpoint: Arc<Endpoint>,
    /// The servers to try next time (a hook may have changed them).
    endpoints: Vec<Arc<Endpoint>>,
    auth: Option<Value>,
}

/// The state owned by the connection task.
pub(crate) struct Actor {
    /// The server of the current (or last) session.
    endpoint: Arc<Endpoint>,
    /// The servers an attempt tries, in order: the manager's URL, then its fallbacks.
    endpoints: Vec<Arc<Endpoint>>,
    options: Arc<ManagerOptions>,
    open_options: OpenOptions,
    command_tx: mpsc::WeakSender<Command>,
    engine: Engine,
    decoder: Decoder,
    namespaces: Namespaces,
    acks: Acks,
    reconnect: ReconnectPolicy,
    engine_state_tx: watch::Sender<EngineState>,
    manager_event_tx: ManagerEventTx,
    text: String,
    attachments: Vec<bytes::Bytes>,
    /// A polling session lost by a failed request: the server may not know it is gone,
    /// and would keep it (and its recoverable state) until its ping timeout.
    abandoned_sid: Option<String>,
    /// Whether a namespace connected on the current session.
    connected_on_session: bool,
    /// Whether the heartbeat deadline was checked for the batch of commands at hand: one
    /// clock read per batch, not per emit.
    expiry_checked: bool,
    /// The size the event of the Socket.IO packet being decoded counts for in the queues:
    /// its bytes on the wire (text and attachments) and the size of a decoded value for
    /// each JSON value of its text.
    packet_bytes: usize,
    /// The manager's statistics (reconnections here; the session and the ack table count
    /// the rest).
    stats: Arc<Stats>,
}

impl Actor {
    /// A new, idle connection task.
    /// `endpoints` holds at least the manager's URL.
    pub(crate) fn new(
        endpoints: Vec<Arc<Endpoint>>,
        options: Arc<ManagerOptions>,
        command_tx: mpsc::WeakSender<Command>,
        engine_state_tx: watch::Sender<EngineState>,
        manager_event_tx: ManagerEventTx,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            open_options: OpenOptions {
                transports: options.transports.clone(),
                upgrade: options.upgrade,
                try_all_transports: options.try_all_transports,
                max_payload_packets: options.max_payload_packets,
                stats: stats.clone(),
            },
            decoder: Decoder::new(options.decode_limits),
            reconnect: ReconnectPolicy::new(&options),
            endpoint: endpoints[0].clone(),
            endpoints,
            options,
            command_tx,
            engine: Engine::Idle,
            namespaces: Namespaces::default(),
            acks: Acks::new(stats.clone()),
            engine_state_tx,
            manager_event_tx,
            text: String::new(),
            attachments: Vec::new(),
            abandoned_sid: None,
            connected_on_session: false,
            expiry_checked: false,
            packet_bytes: 0,
            stats,
        }
    }

    /// Runs until closed or until every handle is dropped. `closing` turns true when a
    /// close is on its way: a write stalled at that moment is abandoned.
    pub(crate) async fn run(
        mut self,
        mut command_rx: mpsc::Receiver<Command>,
        mut closing: watch::Receiver<bool>,
    ) {
        // Grown by use: an idle connection does not hold room for a full batch.
        let mut commands = Vec::new();
        let mut timer: Pin<Box<Sleep>> = Box::pin(sleep_until(Instant::now()));
        let mut armed: Option<Instant> = None;
        let mut full_since: Option<Instant> = None;
        loop {
            // Re-armed only for an earlier deadline. A later one (the usual case as acks
            // are answered) waits: the armed timer fires, finds nothing due, and re-arms.
            if let Some(deadline) = self.next_deadline() {
                if armed.is_none_or(|armed| deadline < armed) {
                    timer.as_mut().reset(deadline);
                    armed = Some(deadline);
                }
            }
            // While a socket's queue is full, reading waits for room, at most until the
            // backpressure ends.
            let backpressure = if self.namespaces.have_room() {
                full_since = None;
                None
            } else {
                let since = *full_since.get_or_insert_with(Instant::now);
                (since.elapsed() < MAX_BACKPRESSURE).then(|| {
                    tokio::time::timeout_at(since + MAX_BACKPRESSURE, self.namespaces.room_freed())
                })
            };
            let readable = backpressure.is_none();
            tokio::select! {
                received = command_rx.recv_many(&mut commands, COMMAND_BATCH) => {
                    if received == 0 {
                        self.shutdown().await;
                        return;
                    }
                    self.expiry_checked = false;
                    for command in commands.drain(..) {
                        if let Command::Close { reply } = command {
                            self.shutdown().await;
                            let _ = reply.send(());
                            return;
                        }
                        self.on_command(command);
                    }
                }
                Some(_) = OptionFuture::from(backpressure), if !readable => {}
                progress = engine_progress(&mut self.engine), if readable => match progress {
                    EngineProgress::Session(event) => self.on_session_event(event),
                    EngineProgress::Opened(opened) => self.on_opened(opened),
                },
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.on_timer();
                }
            }
            self.flush(&mut closing).await;
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let engine = match &self.engine {
            Engine::Opening { deadline, .. } => Some(*deadline),
            Engine::Waiting { until } => Some(*until),
            Engine::Idle | Engine::Open(_) => None,
        };
        [
            engine,
            self.namespaces.next_deadline(),
            self.acks.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- commands -----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Connect {
                namespace,
                auth,
                link,
                reply,
            } => {
                let ns = self.namespaces.entry(&namespace);
                ns.link = Some(link);
                ns.auth = auth;
                ns.active = true;
                if ns.is_connected() {
                    let _ = reply.send(Ok(()));
                    return;
                }
                ns.waiters.push(reply);
                if ns.phase == Phase::Idle {
                    ns.set_state(SocketState::Connecting);
                    match self.engine {
                        Engine::Open(_) => self.send_connect(&namespace),
                        Engine::Idle => self.start_open(),
                        Engine::Opening { .. } | Engine::Waiting { .. } => {}
                    }
                }
            }
            Command::Emit(emit) => self.on_emit(emit),
            Command::Ack {
                namespace,
                id,
                args,
            } => {
                let connected = self
                    .namespaces
                    .get_mut(&namespace)
                    .is_some_and(|ns| ns.is_connected());
                if connected {
                    let packet = Packet {
                        kind: PacketKind::Ack,
                        nsp: namespace.to_string(),
                        id: Some(id),
                        data: Some(Value::Array(args)),
                    };
                    self.write_packet(&packet);
                } else {
                    tracing::debug!(%namespace, id, "ack dropped: namespace not connected");
                }
            }
            Command::Disconnect { namespace } => self.disconnect_namespace(&namespace),
            Command::ReconnectNow => {
                if matches!(self.engine, Engine::Waiting { .. }) {
                    tracing::debug!("reconnecting now");
                    self.stats.reconnect_attempt();
                    self.manager_event_tx
                        .send(ManagerEvent::ReconnectAttempt(self.reconnect.attempts));
                    self.start_open();
                }
            }
            Command::ClearBuffer { namespace } => {
                if let Some(ns) = self.namespaces.get_mut(&namespace) {
                    for id in ns.take_outbox().iter().filter_map(|emit| emit.ack_id) {
                        self.acks.fail(&namespace, id, &AckError::Discarded);
                    }
                }
            }
            Command::JoinRoom { namespace, room } => {
                let ns = self.namespaces.entry(&namespace);
                if !ns.rooms.contains(&room) {
                    ns.rooms.push(room.clone());
                }
                if ns.is_connected() {
                    let event = self.options.room_join_event.clone();
                    self.write_packet(&Packet::event(
                        &*namespace,
                        vec![event.into(), room.into()],
                        None,
                    ));
                }
            }
            Command::LeaveRoom { namespace, room } => {
                let ns = self.namespaces.entry(&namespace);
                ns.rooms.retain(|r| *r != room);
                if ns.is_connected() {
                    let event = self.options.room_leave_event.clone();
                    self.write_packet(&Packet::event(
                        &*namespace,
                        vec![event.into(), room.into()],
                        None,
                    ));
                }
            }
            Command::Close { .. } => {}
        }
    }

    fn on_emit(&mut self, mut emit: OutgoingEmit) {
        if !self.expiry_checked {
            self.expiry_checked = true;
            if matches!(&self.engine, Engine::Open(session) if session.is_expired()) {
                // The heartbeat deadline passed while the process was suspended: the
                // connection is dead even if no timer fired yet. Buffer instead of writing.
                tracing::debug!("heartbeat deadline passed, closing before the emit");
                self.close_engine(DisconnectReason::PingTimeout);
            }
        }
        let writable = match &self.engine {
            Engine::Open(session) => session.is_writable(),
            _ => false,
        };
        let waiter = emit.ack_waiter.take();
        let ns = self.namespaces.entry(&emit.namespace);
        if ns.is_connected()
            && matches!(self.engine, Engine::Open(_))
            && (writable || !emit.volatile)
        {
            if let (Some(id), Some(waiter)) = (emit.ack_id, waiter) {
                self.acks.register(&emit.namespace, id, waiter);
            }
            self.write_emit(emit);
        } else if emit.volatile {
            tracing::trace!(namespace = %emit.namespace, "volatile emit dropped: not writable");
            if let Some(admission) = emit.admission {
                let _ = admission.send(Ok(()));
            }
            if let Some(waiter) = waiter {
                let _ = waiter.reply_tx.send(Err(AckError::Disconnected));
            }
        } else {
            let namespace = emit.namespace.clone();
            let ack_id = emit.ack_id;
            let limits = BufferLimits {
                max_emits: self.options.max_buffered_emits,
                max_bytes: self.options.max_buffered_bytes,
                policy: self.options.buffer_policy,
            };
            match ns.buffer(emit, limits) {
                Buffered::Taken { dropped } => {
                    if let (Some(id), Some(waiter)) = (ack_id, waiter) {
                        self.acks.register(&namespace, id, waiter);
                    }
                    for oldest in dropped {
                        tracing::warn!(%namespace, "offline buffer full, oldest emit dropped");
                        if let Some(id) = oldest.ack_id {
                            self.acks.fail(&namespace, id, &AckError::Discarded);
                        }
                    }
                }
                Buffered::Refused(emit) => {
                    if let Some(admission) = emit.admission {
                        let _ = admission.send(Err(EmitError::BufferFull));
                    }
                }
            }
        }
    }

    fn write_emit(&mut self, mut emit: OutgoingEmit) {
        if let Some(admission) = emit.admission.take() {
            let _ = admission.send(Ok(()));
        }
        let Engine::Open(session) = &mut self.engine else {
            return;
        };
        if let Some(id) = emit.ack_id {
            if !self.acks.sent(&emit.namespace, id) {
                return;
            }
        }
        session.send(EnginePacket::Message(emit.text));
        for attachment in emit.attachments {
            session.send(EnginePacket::Binary(attachment));
        }
    }

    fn write_packet(&mut self, packet: &Packet) {
        let Engine::Open(session) = &mut self.engine else {
            return;
        };
        self.text.clear();
        self.attachments.clear();
        packet.encode(&mut self.text, &mut self.attachments);
        session.send(EnginePacket::Message(self.text.clone()));
        for attachment in self.attachments.drain(..) {
            session.send(EnginePacket::Binary(attachment));
        }
    }

    fn send_connect(&mut self, namespace: &Arc<str>) {
        let timeout = self.options.timeout;
        let ns = self.namespaces.entry(namespace);
        ns.phase = Phase::Connecting;
        ns.connect_deadline = Some(Instant::now() + timeout);
        ns.retry_at = None;
        ns.set_state(SocketState::Connecting);
        ns.sent_pid = ns.pid.clone();
        let packet = Packet::connect(&**namespace, ns.connect_payload());
        self.write_packet(&packet);
    }

    fn disconnect_namespace(&mut self, namespace: &Arc<str>) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let was_connected = ns.is_connected();
        ns.active = false;
        ns.phase = Phase::Idle;
        ns.connect_deadline = None;
        self.acks.disconnect(namespace, &AckError::Disconnected);
        ns.answer_waiters(&Err(ConnectError::Disconnected(
            DisconnectReason::IoClientDisconnect,
        )));
        ns.set_state(SocketState::Disconnected(
            DisconnectReason::IoClientDisconnect,
        ));
        if was_connected {
            ns.deliver(SocketEvent::Disconnect(
                DisconnectReason::IoClientDisconnect,
            ));
            self.write_packet(&Packet::disconnect(&**namespace));
        }
        self.close_engine_if_unused();
    }

    /// Closes the engine when no namespace wants it any more (JS `Manager#_destroy`).
    fn close_engine_if_unused(&mut self) {
        if self.namespaces.any_active() {
            return;
        }
        match std::mem::replace(&mut self.engine, Engine::Idle) {
            Engine::Open(session) => {
                tracing::debug!("no namespace left, closing the engine");
                self.publish_engine(None);
                tokio::spawn(session.close());
            }
            Engine::Opening { task, .. } => task.abort(),
            Engine::Idle | Engine::Waiting { .. } => {}
        }
        self.reconnect.reset();
    }

    // ----- engine -----

    fn start_open(&mut self) {
        let attempt = self.reconnect.attempts;
        let hook = self.options.on_reconnect.clone().filter(|_| attempt > 0);
        let endpoint = self.endpoint.clone();
        let endpoints = self.endpoints.clone();
        let options = self.options.clone();
        let open_options = self.open_options.clone();
        let abandoned_sid = self.abandoned_sid.clone();
        let task = tokio::spawn(async move {
            if let Some(sid) = abandoned_sid {
                // Close the lost session first, so that the server stores it for recovery
                // instead of keeping it alive until its ping timeout.
                let limit = options.timeout.min(ABANDON_TIMEOUT);
                let _ = tokio::time::timeout(limit, polling::abandon(&endpoint, &sid)).await;
            }
            let mut endpoints = endpoints;
            let mut auth = None;
            if let Some(hook) = hook {
                let limit = options.reconnect_hook_timeout;
                let update = tokio::time::timeout(limit, (hook.0)(attempt))
                    .await
                    .map_err(|_| ConnectError::Timeout(limit))?;
                if update.url.is_some() || update.query.is_some() || update.extra_headers.is_some()
                {
                    endpoints = failover::apply_update(&endpoints, &update, &options)?;
                }
                auth = update.auth;
            }
            let (session, endpoint) =
                failover::open_first_reachable(&endpoints, &open_options, options.timeout).await?;
            Ok(Opened {
                session,
                endpoint,
                endpoints,
                auth,
            })
        });
        self.engine = Engine::Opening {
            task,
            deadline: Instant::now()
                + failover::attempt_limit(self.options.timeout, self.endpoints.len()),
        };
    }

    fn on_opened(&mut self, opened: Result<Box<Opened>, ConnectError>) {
        match opened.map(|opened| *opened) {
            Ok(Opened {
                session,
                endpoint,
                endpoints,
                auth,
            }) => {
                self.endpoint = endpoint;
                self.endpoints = endpoints;
                self.abandoned_sid = None;
                self.connected_on_session = false;
                if let Some(auth) = auth {
                    for ns in self.namespaces.iter_mut() {
                        ns.auth = Some(auth.clone());
                    }
                }
                tracing::debug!(sid = %session.handshake().sid, transport = session.transport().as_str(), "engine open");
                self.publish_engine(Some(&session));
                self.engine = Engine::Open(Box::new(session));
                self.decoder.reset();
                self.manager_event_tx.send(ManagerEvent::Open);
                if self.reconnect.attempts > 0 {
                    self.stats.reconnected();
                    self.manager_event_tx
                        .send(ManagerEvent::Reconnect(self.reconnect.attempts));
                }
                let wanted: Vec<Arc<str>> = self
                    .namespaces
                    .iter_mut()
                    .filter(|ns| ns.active)
                    .map(|ns| ns.name.clone())
                    .collect();
                for namespace in wanted {
                    self.send_connect(&namespace);
                }
            }
            Err(error) => self.on_open_failed(error),
        }
    }

    fn on_open_failed(&mut self, error: ConnectError) {
        tracing::debug!(%error, attempt = self.reconnect.attempts, "engine failed to open");
        self.engine = Engine::Idle;
        if matches!(
            error,
            ConnectError::Transport(TransportError::OlderProtocol)
        ) {
            self.refuse_older_protocol();
            self.schedule_reconnect();
            return;
        }
        if self.reconnect.attempts > 0 {
            self.manager_event_tx
                .send(ManagerEvent::ReconnectError(error.clone()));
        }
        // The last reconnection attempt failed: a `connect` waiting is answered that
        // reconnection gave up (by `schedule_reconnect`), so that it is not called again
        // in a loop that starts over.
        let gives_up = self.reconnect.attempts > 0
            && self.reconnect.is_enabled()
            && self.reconnect.is_exhausted();
        for ns in self.namespaces.iter_mut().filter(|ns| ns.active) {
            if !gives_up {
                ns.answer_waiters(&Err(error.clone()));
            }
            ns.deliver(SocketEvent::ConnectError(error.clone()));
        }
        self.schedule_reconnect();
    }

    fn on_session_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Flush => {}
            SessionEvent::Packet(packet) => self.on_engine_packet(packet),
            SessionEvent::Closed { reason, error } => {
                match &error {
                    Some(error) => tracing::debug!(%reason, %error, "engine closed"),
                    None => tracing::debug!(%reason, "engine closed"),
                }
                if let Engine::Open(session) = &self.engine {
                    if session.transport() == TransportKind::Polling
                        && reason != DisconnectReason::TransportClose
                    {
                        self.abandoned_sid = Some(session.handshake().sid.clone());
                    }
                }
                if let Some(error) = error {
                    self.report_failed_attempt(error);
                }
                self.on_engine_closed(reason);
            }
        }
    }

    /// A session that failed before any namespace connected on it is a failed connection
    /// attempt (say a load balancer without sticky sessions answering `Session ID
    /// unknown`): report the error as a failed handshake would be.
    fn report_failed_attempt(&mut self, error: TransportError) {
        if self.connected_on_session {
            return;
        }
        let error = ConnectError::Transport(error);
        if self.reconnect.attempts > 0 {
            self.manager_event_tx
                .send(ManagerEvent::ReconnectError(error.clone()));
        }
        for ns in self
            .namespaces
            .iter_mut()
            .filter(|ns| ns.active && !ns.is_connected())
        {
            ns.answer_waiters(&Err(error.clone()));
            ns.deliver(SocketEvent::ConnectError(error.clone()));
        }
    }

    fn on_engine_packet(&mut self, packet: EnginePacket) {
        let decoded = match packet {
            EnginePacket::Message(text) => {
                let values = json_values(&text, usize::MAX);
                self.packet_bytes += text.len() + values * std::mem::size_of::<Value>();
                self.decoder.decode_text(&text)
            }
            EnginePacket::Binary(data) => {
                self.packet_bytes += data.len();
                self.decoder.decode_binary(data)
            }
            _ => return,
        };
        match decoded {
            Ok(Some(packet)) => {
                self.on_socket_packet(packet);
                self.packet_bytes = 0;
            }
            Ok(None) => {}
            Err(error) => {
                self.packet_bytes = 0;
                let error = ProtocolError::from(error);
                tracing::warn!(%error, "undecodable packet from the server");
                self.close_engine(error.disconnect_reason());
            }
        }
    }

    /// Closes the engine from the client side and handles it as a lost connection.
    fn close_engine(&mut self, reason: DisconnectReason) {
        if let Engine::Open(session) = std::mem::replace(&mut self.engine, Engine::Idle) {
            tokio::spawn(session.close());
        }
        self.on_engine_closed(reason);
    }

    fn on_engine_closed(&mut self, reason: DisconnectReason) {
        self.engine = Engine::Idle;
        self.publish_engine(None);
        self.decoder.reset();
        self.packet_bytes = 0;
        let reconnecting = self.reconnect.is_enabled();
        self.acks.connection_lost(&AckError::Disconnected);
        for ns in self.namespaces.iter_mut() {
            let was_connected = ns.is_connected();
            let was_connecting = matches!(ns.phase, Phase::Connecting);
            ns.phase = Phase::Idle;
            ns.connect_deadline = None;
            ns.retry_at = None;
            ns.drop_early();
            if !ns.active {
                continue;
            }
            if !reconnecting {
                ns.active = false;
                ns.answer_waiters(&Err(ConnectError::Disconnected(reason)));
            }
            ns.set_state(SocketState::Disconnected(reason));
            if was_connected {
                ns.deliver(SocketEvent::Disconnect(reason));
            } else if was_connecting {
                // As the JS client: a connection lost before the CONNECT reply is a
                // `connect_error`, so listeners learn of the failed attempt.
                let error = ConnectError::Disconnected(reason);
                ns.deliver(SocketEvent::ConnectError(error));
            }
        }
        self.manager_event_tx.send(ManagerEvent::Close(reason));
        self.schedule_reconnect();
    }

    fn schedule_reconnect(&mut self) {
        if !self.reconnect.is_enabled() || !self.namespaces.any_active() {
            self.reconnect.reset();
            for ns in self.namespaces.iter_mut().filter(|ns| ns.active) {
                ns.active = false;
                ns.set_state(SocketState::Idle);
            }
            return;
        }
        match self.reconnect.next_attempt() {
            Some((attempt, delay)) => {
                tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "reconnecting");
                self.engine = Engine::Waiting {
                    until: Instant::now() + delay,
                };
            }
            None => {
                let attempts = self.reconnect.attempts;
                tracing::info!(attempts, "reconnection failed, giving up");
                self.manager_event_tx.send(ManagerEvent::ReconnectFailed);
                for ns in self.namespaces.iter_mut().filter(|ns| ns.active) {
                    ns.active = false;
                    ns.answer_waiters(&Err(ConnectError::ReconnectFailed(attempts)));
                    ns.set_state(SocketState::Idle);
                }
                self.reconnect.reset();
            }
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        for expired in self.acks.expire(now) {
            if let Some(ns) = self.namespaces.get_mut(&expired.namespace) {
                ns.unbuffer_ack(expired.id);
            }
            expired.time_out();
        }
        match &self.engine {
            Engine::Opening { task, deadline } if *deadline <= now => {
                task.abort();
                self.on_open_failed(ConnectError::Timeout(self.options.timeout));
            }
            Engine::Waiting { until } if *until <= now => {
                self.stats.reconnect_attempt();
                self.manager_event_tx
                    .send(ManagerEvent::ReconnectAttempt(self.reconnect.attempts));
                self.start_open();
            }
            _ => {}
        }
        let timeout = self.options.timeout;
        let engine_open = matches!(self.engine, Engine::Open(_));
        let retries: Vec<Arc<str>> = self
            .namespaces
            .iter_mut()
            .filter(|ns| ns.retry_at.is_some_and(|at| at <= now))
            .map(|ns| {
                ns.retry_at = None;
                ns.name.clone()
            })
            .collect();
        for namespace in retries {
            tracing::debug!(%namespace, engine_open, "connecting again after a server-side disconnect");
            if engine_open {
                self.send_connect(&namespace);
            }
        }
        for ns in self.namespaces.iter_mut() {
            if ns.connect_deadline.is_some_and(|deadline| deadline <= now) {
                ns.connect_deadline = None;
                tracing::debug!(namespace = %ns.name, "namespace connect timed out");
                ns.answer_waiters(&Err(ConnectError::Timeout(timeout)));
                ns.deliver(SocketEvent::ConnectError(ConnectError::Timeout(timeout)));
                ns.drop_early();
            }
        }
    }

    fn publish_engine(&self, session: Option<&EngineSession>) {
        self.engine_state_tx.send_modify(|state| {
            state.transport = session.map(EngineSession::transport);
            state.sid = session.map(|s| Arc::from(s.handshake().sid.as_str()));
            if session.is_some() {
                state.url = Some(Arc::from(self.endpoint.server_url().as_str()));
            }
            if let Some(session) = session {
                state.max_payload = session.handshake().max_payload;
            }
        });
    }

    /// Writes what the session queued. A write that makes no progress ends the connection
    /// within the server's `pingTimeout` (see [`EngineSession::flush`]); one still waiting
    /// when a close comes is abandoned (the close drops the connection anyway).
    async fn flush(&mut self, closing: &mut watch::Receiver<bool>) {
        let Engine::Open(session) = &mut self.engine else {
            return;
        };
        let transport = session.transport();
        let flushed = tokio::select! {
            biased;
            flushed = session.flush() => flushed,
            () = close_requested(closing) => {
                tracing::debug!("closing: the pending write is abandoned");
                return;
            }
        };
        if let Err(WriteFailed { reason, error }) = flushed {
            match error {
                Some(error) => {
                    tracing::debug!(%reason, %error, "write failed");
                    self.report_failed_attempt(error);
                }
                None => tracing::debug!(%reason, "write failed"),
            }
            self.close_engine(reason);
            return;
        }
        if session.transport() != transport {
            let session = match &self.engine {
                Engine::Open(session) => session,
                _ => return,
            };
            self.publish_engine(Some(session));
        }
    }

    // ----- Socket.IO packets -----

    fn on_socket_packet(&mut self, packet: Packet) {
        let namespace: Arc<str> = packet.nsp.as_str().into();
        tracing::trace!(%namespace, kind = ?packet.kind, "packet received");
        match packet.kind {
            PacketKind::Connect => self.on_connect_reply(&namespace, packet.data),
            PacketKind::ConnectError => self.on_connect_error(&namespace, packet.data),
            PacketKind::Disconnect => self.on_server_disconnect(&namespace),
            PacketKind::Event | PacketKind::BinaryEvent => {
                self.on_event(namespace, packet.id, packet.data)
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let Some(id) = packet.id else { return };
                let args = match packet.data {
                    Some(Value::Array(args)) => args,
                    _ => Vec::new(),
                };
                if !self.acks.reply(&namespace, id, args) {
                    tracing::debug!(%namespace, id, "ack for an unknown id ignored");
                }
            }
        }
    }

    fn on_connect_reply(&mut self, namespace: &Arc<str>, data: Option<Value>) {
        let field = |name: &str| {
            data.as_ref()
                .and_then(|d| d.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (sid, pid) = (field("sid"), field("pid"));
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let Some(sid) = sid else {
            tracing::warn!(%namespace, "CONNECT reply without sid (a Socket.IO v2 server?)");
            self.refuse_older_protocol();
            self.close_engine(DisconnectReason::ParseError);
            return;
        };
        if ns.phase != Phase::Connecting || !ns.active {
            tracing::debug!(%namespace, "unexpected CONNECT reply ignored");
            return;
        }
        let recovered = ns.sent_pid.is_some() && ns.sent_pid == pid;
        if !recovered {
            ns.offset = None;
        }
        ns.pid = pid;
        let sid: Arc<str> = sid.into();
        tracing::debug!(%namespace, %sid, recovered, "namespace connected");
        ns.phase = Phase::Connected(sid.clone());
        ns.connect_deadline = None;
        ns.set_state(SocketState::Connected {
            sid: sid.clone(),
            recovered,
        });
        ns.deliver_early();
        ns.deliver(SocketEvent::Connect {
            sid: sid.to_string(),
            recovered,
        });
        ns.answer_waiters(&Ok(()));
        self.connected_on_session = true;
        let rooms = if recovered {
            Vec::new()
        } else {
            ns.rooms.clone()
        };
        let outbox = ns.take_outbox();
        self.reconnect.reset();
        let join_event = self.options.room_join_event.clone();
        for room in rooms {
            self.write_packet(&Packet::event(
                &**namespace,
                vec![join_event.clone().into(), room.into()],
                None,
            ));
        }
        for emit in outbox {
            self.write_emit(emit);
        }
    }

    /// A Socket.IO 2.x server (a CONNECT reply without `sid`, or an Engine.IO v3
    /// handshake): every namespace waiting is refused, once, and leaves (not retried: the
    /// server will not change its protocol), before the connection closes.
    fn refuse_older_protocol(&mut self) {
        let error = ConnectError::Rejected {
            message: "the server speaks an older Socket.IO protocol".into(),
            data: None,
        };
        for ns in self.namespaces.iter_mut().filter(|ns| ns.active) {
            ns.active = false;
            ns.set_state(SocketState::Idle);
            ns.answer_waiters(&Err(error.clone()));
            ns.deliver(SocketEvent::ConnectError(error.clone()));
        }
    }

    fn on_connect_error(&mut self, namespace: &Arc<str>, data: Option<Value>) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let (message, data) = match data {
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
        tracing::debug!(%namespace, %error, "namespace refused");
        ns.phase = Phase::Idle;
        ns.active = false;
        ns.connect_deadline = None;
        ns.set_state(SocketState::Idle);
        ns.answer_waiters(&Err(error.clone()));
        ns.deliver(SocketEvent::ConnectError(error));
        self.close_engine_if_unused();
    }

    fn on_server_disconnect(&mut self, namespace: &Arc<str>) {
        let reconnect = self.options.reconnect_on_server_disconnect;
        let delay = self.options.reconnection_delay;
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        let reason = DisconnectReason::IoServerDisconnect;
        let was_connected = ns.is_connected();
        tracing::debug!(%namespace, reconnect, "disconnected by the server");
        ns.phase = Phase::Idle;
        ns.active = reconnect;
        ns.connect_deadline = None;
        self.acks.disconnect(namespace, &AckError::Disconnected);
        if reconnect {
            ns.retry_at = Some(Instant::now() + delay);
        } else {
            ns.answer_waiters(&Err(ConnectError::Disconnected(reason)));
        }
        ns.set_state(SocketState::Disconnected(reason));
        if was_connected {
            ns.deliver(SocketEvent::Disconnect(reason));
        }
        self.close_engine_if_unused();
    }

    fn on_event(&mut self, namespace: Arc<str>, id: Option<u64>, data: Option<Value>) {
        let Some(Value::Array(mut items)) = data else {
            return;
        };
        if items.is_empty() {
            return;
        }
        let name = match items.remove(0) {
            Value::String(name) => name,
            Value::Number(number) => number.to_string(),
            _ => return,
        };
        let ack = match (id, self.command_tx.upgrade()) {
            (Some(id), Some(command_tx)) => {
                Some(AckResponder::new(namespace.clone(), id, command_tx))
            }
            _ => None,
        };
        let Some(ns) = self.namespaces.get_mut(&namespace) else {
            tracing::debug!(%namespace, "event for an unknown namespace ignored");
            return;
        };
        ns.take_offset(id, &mut items);
        let event = SocketEvent::Event(Event::new(namespace, name, items, ack));
        match ns.phase {
            Phase::Connected(_) => ns.deliver_sized(event, self.packet_bytes),
            Phase::Connecting => {
                let limits = EarlyLimits {
                    max_events: self.options.max_preconnect_events,
                    max_bytes: self.options.max_preconnect_bytes,
                };
                ns.keep_early(event, self.packet_bytes, limits);
            }
            Phase::Idle => {
                tracing::debug!(namespace = %ns.name, "event for a disconnected namespace ignored")
            }
        }
    }

    // ----- shutdown -----

    async fn shutdown(&mut self) {
        let connected: Vec<Arc<str>> = self
            .namespaces
            .iter_mut()
            .filter(|ns| ns.is_connected())
            .map(|ns| ns.name.clone())
            .collect();
        for namespace in &connected {
            self.write_packet(&Packet::disconnect(&**namespace));
        }
        self.acks.close(&AckError::Closed);
        for ns in self.namespaces.iter_mut() {
            let was_connected = ns.is_connected();
            ns.active = false;
            ns.phase = Phase::Idle;
            ns.take_outbox();
            ns.answer_waiters(&Err(ConnectError::Closed));
            if was_connected {
                ns.deliver(SocketEvent::Disconnect(
                    DisconnectReason::IoClientDisconnect,
                ));
            }
            ns.set_state(SocketState::Closed);
            ns.link = None;
        }
        match std::mem::replace(&mut self.engine, Engine::Idle) {
            Engine::Open(session) => session.close().await,
            Engine::Opening { task, .. } => task.abort(),
            Engine::Idle | Engine::Waiting { .. } => {}
        }
        self.engine_state_tx.send_modify(|state| {
            state.transport = None;
            state.sid = None;
            state.closed = true;
        });
        tracing::debug!("manager closed");
    }
}

/// Resolves once a close is requested; never when the manager is gone without one (the
/// closed command queue ends the task then).
async fn close_requested(closing: &mut watch::Receiver<bool>) {
    if closing.wait_for(|closing| *closing).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What the engine did: an event of the open session, or the outcome of a handshake.
enum EngineProgress {
    Session(SessionEvent),
    Opened(Result<Box<Opened>, ConnectError>),
}

/// The next event of the open session or handshake; pending when there is neither.
async fn engine_progress(engine: &mut Engine) -> EngineProgress {
    match engine {
        Engine::Open(session) => EngineProgress::Session(session.next_event().await),
        Engine::Opening { task, .. } => EngineProgress::Opened(match task.await {
            Ok(opened) => opened.map(Box::new),
            Err(join_error) => Err(ConnectError::Transport(TransportError::Io(
                join_error.to_string(),
            ))),
        }),
        Engine::Idle | Engine::Waiting { .. } => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{AckError, Manager, Socket};

    /// A socket whose connection failed and is not retried: its emits are buffered.
    async fn offline_socket() -> (Manager, Socket) {
        let manager = Manager::builder("http://127.0.0.1:9")
            .reconnection(false)
            .build()
            .expect("manager");
        let socket = manager.socket("/");
        assert!(socket.connect().await.is_err(), "nothing listens on port 9");
        (manager, socket)
    }

    /// Emits with ack on a task; returns once the emit is in the offline buffer.
    async fn buffered_emit_with_ack(
        socket: &Socket,
        timeout: Duration,
    ) -> tokio::task::JoinHandle<Result<crate::Ack, AckError>> {
        let waiting = tokio::spawn({
            let socket = socket.clone();
            async move { socket.emit_with_ack_timeout("e", &1, timeout).await }
        });
        while socket.buffered().emits == 0 {
            tokio::task::yield_now().await;
        }
        waiting
    }

    #[tokio::test]
    async fn an_ack_still_buffered_at_its_deadline_times_out_and_its_emit_leaves_the_buffer() {
        let (manager, socket) = offline_socket().await;
        let timeout = Duration::from_millis(20);
        let result = socket.emit_with_ack_timeout("e", &1, timeout).await;
        assert!(
            matches!(result, Err(AckError::Timeout(t)) if t == timeout),
            "{result:?}"
        );
        assert_eq!(socket.buffered().emits, 0);
        manager.close().await;
    }

    #[tokio::test]
    async fn a_buffered_ack_fails_as_discarded_when_the_buffer_is_cleared() {
        let (manager, socket) = offline_socket().await;
        let waiting = buffered_emit_with_ack(&socket, Duration::from_secs(3600)).await;
        socket.clear_buffer().await;
        let result = waiting.await.expect("joined");
        assert!(matches!(result, Err(AckError::Discarded)), "{result:?}");
        manager.close().await;
    }

    #[tokio::test]
    async fn an_ack_without_a_reachable_deadline_fails_as_closed_when_the_manager_closes() {
        let (manager, socket) = offline_socket().await;
        let waiting = buffered_emit_with_ack(&socket, Duration::MAX).await;
        manager.close().await;
        let result = waiting.await.expect("joined");
        assert!(matches!(result, Err(AckError::Closed)), "{result:?}");
    }
}
