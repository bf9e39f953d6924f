//! The connection task: routes commands, engine events and its one timer to the parts
//! (the engine, the namespace table, the ack table) and performs what they return: writes,
//! the handshake task, published state and manager events.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_util::future::OptionFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant, Sleep};

use super::acks::Acks;
use super::closing::Closing;
use super::command::{Command, OutgoingEmit};
use super::engine::{Due, Engine, Next, Opened, Progress};
use super::event::{AckResponder, ManagerEvent};
use super::namespaces::{ConnectReply, Held, Namespaces};
use super::queue::{CommandRx, WeakCommandTx};
use super::ManagerEventTx;
use crate::disconnect::DisconnectReason;
use crate::engineio::session::{Endpoint, EngineSession, SessionEvent, WriteFailed};
use crate::engineio::version::EngineVersion;
use crate::engineio::EnginePacket;
use crate::error::{AckError, ConnectError, ProtocolError, TransportError};
use crate::options::ManagerOptions;
use crate::socketio::{json_values, Body, Decoder, Incoming, Packet, PacketKind, Payload};
use crate::state::EngineState;
use crate::stats::Stats;
use crate::value::Value;

/// How many commands are handled per wake-up.
const COMMAND_BATCH: usize = 64;

/// How many packets from the server are handled per turn of the loop, at most.
const PACKET_BATCH: usize = 64;

/// How long reading from the server pauses while a socket's event queue is full: the
/// consumer catches up and TCP slows the server down, instead of events being dropped.
/// Past this, reading resumes and what does not fit is dropped (reported as `Lagged`), so
/// a stalled consumer cannot stall the heartbeat.
const MAX_BACKPRESSURE: std::time::Duration = std::time::Duration::from_secs(1);

/// The state owned by the connection task.
pub(crate) struct Actor {
    command_tx: WeakCommandTx<Command>,
    engine: Engine,
    decoder: Decoder,
    namespaces: Namespaces,
    acks: Acks,
    engine_state_tx: watch::Sender<EngineState>,
    manager_event_tx: ManagerEventTx,
    text: String,
    attachments: Vec<bytes::Bytes>,
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
    /// The sessions released when their last namespace disconnected, closing in their own
    /// task (they write what was queued, the namespace's DISCONNECT last, then the close
    /// handshake): the shutdown waits for them, so that what was sent before
    /// `Manager::close` is written when it returns, even if the process exits right after.
    released: Vec<JoinHandle<()>>,
}

impl Actor {
    /// A new, idle connection task.
    /// `endpoints` holds at least the manager's URL.
    pub(crate) fn new(
        endpoints: Vec<Arc<Endpoint>>,
        options: Arc<ManagerOptions>,
        command_tx: WeakCommandTx<Command>,
        engine_state_tx: watch::Sender<EngineState>,
        manager_event_tx: ManagerEventTx,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            engine: Engine::new(endpoints, options.clone(), stats.clone()),
            decoder: Decoder::new(options.decode_limits),
            namespaces: Namespaces::new(&options),
            acks: Acks::new(stats.clone()),
            command_tx,
            engine_state_tx,
            manager_event_tx,
            text: String::new(),
            attachments: Vec::new(),
            expiry_checked: false,
            packet_bytes: 0,
            stats,
            released: Vec::new(),
        }
    }

    /// Runs until closed or until every handle is dropped. `closing` is requested when a
    /// close is on its way: a write stalled at that moment is left to the close. Boxed so the
    /// task's future holds a pointer to the actor, not the actor itself.
    pub(crate) async fn run(
        mut self: Box<Self>,
        mut command_rx: CommandRx<Command>,
        closing: Arc<Closing>,
    ) {
        // Made for each batch while commands come one batch at a time, kept while they
        // come faster than they are handled.
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
            // backpressure ends. Boxed: the rare wait does not enlarge every connection's
            // task (it would be stored twice, as a local and inside the `select!`).
            let backpressure = if self.namespaces.have_room() {
                full_since = None;
                None
            } else {
                let since = *full_since.get_or_insert_with(Instant::now);
                (since.elapsed() < MAX_BACKPRESSURE).then(|| {
                    Box::pin(tokio::time::timeout_at(
                        since + MAX_BACKPRESSURE,
                        self.namespaces.room_freed(),
                    ))
                })
            };
            let readable = backpressure.is_none();
            tokio::select! {
                received = command_rx.recv_many(&mut commands, COMMAND_BATCH) => {
                    if received == 0 {
                        // Boxed: the rare close path does not enlarge every connection's task.
                        Box::pin(self.shutdown()).await;
                        return;
                    }
                    self.expiry_checked = false;
                    let mut closers = Vec::new();
                    for command in commands.drain(..) {
                        match command {
                            Command::Close { reply } => closers.push(reply),
                            command if closers.is_empty() => self.on_command(command),
                            command => self.on_accepted(command),
                        }
                    }
                    if !closers.is_empty() {
                        // The emits queued before the queue closed were accepted: they
                        // are written before the close's DISCONNECT.
                        command_rx.close();
                        while let Ok(command) = command_rx.try_recv() {
                            match command {
                                Command::Close { reply } => closers.push(reply),
                                command => self.on_accepted(command),
                            }
                        }
                        Box::pin(self.shutdown()).await;
                        for reply in closers {
                            let _ = reply.send(());
                        }
                        return;
                    }
                    if received < COMMAND_BATCH {
                        // The queue is drained: an idle connection keeps no room for a batch.
                        commands = Vec::new();
                    }
                }
                Some(_) = OptionFuture::from(backpressure), if !readable => {}
                progress = self.engine.progress(), if readable => {
                    self.on_progress(progress);
                    self.take_ready_packets().await;
                }
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.on_timer();
                }
            }
            // Boxed, and made only when the session has something to write: the write's
            // state (~1 KiB) is not held inline by every idle connection's task.
            if self.engine.session().is_some_and(EngineSession::has_writes) {
                Box::pin(self.flush(&closing)).await;
            }
        }
    }

    fn on_progress(&mut self, progress: Progress) {
        match progress {
            Progress::Session(event) => self.on_session_event(event),
            Progress::Opened(Ok(opened)) => self.on_opened(*opened),
            Progress::Opened(Err(error)) => self.on_open_failed(error),
        }
    }

    /// Handles the packets of the open session that are ready now (read already, or
    /// readable without waiting), up to a batch, in the same turn of the loop: a turn
    /// polls the command queue and the timer and checks the deadlines, work a stream of
    /// packets does not need per packet. Stops at the first wait, when a socket's queue
    /// is full (backpressure is checked before each read, as by the loop), or when
    /// something is to be written (a pong): the loop flushes it first.
    async fn take_ready_packets(&mut self) {
        for _ in 1..PACKET_BATCH {
            let writes = self.engine.session().is_some_and(EngineSession::has_writes);
            if writes || !self.engine.is_open() || !self.namespaces.have_room() {
                return;
            }
            // Polled once with the task's own waker: a wait registered here wakes the
            // task, whose next turn polls the session again.
            let polled = {
                let mut progress = std::pin::pin!(self.engine.progress());
                std::future::poll_fn(|cx| Poll::Ready(progress.as_mut().poll(cx))).await
            };
            match polled {
                Poll::Ready(progress) => self.on_progress(progress),
                Poll::Pending => return,
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.engine.next_deadline(),
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
                if self.namespaces.connect(&namespace, auth, *link, reply) {
                    if self.engine.is_open() {
                        let packet = self.namespaces.send_connect(&namespace, Instant::now());
                        self.write_packets(packet);
                        let reply = self.namespaces.legacy_root_ready();
                        self.on_connect_reply(reply);
                    } else if self.engine.is_idle() {
                        self.engine.start_open();
                    }
                }
            }
            Command::Emit(emit) => self.on_emit(emit),
            Command::EmitWithRetries(emit) => {
                let emit = self.namespaces.emit_with_retries(*emit, Instant::now());
                self.write_emits(emit);
            }
            Command::Ack {
                namespace,
                id,
                args,
            } => {
                if self.namespaces.is_connected(&namespace) {
                    let packet = Packet {
                        kind: PacketKind::Ack,
                        nsp: namespace.to_string(),
                        id: Some(id),
                        data: Some(Value::Array(args)),
                    };
                    self.write_packets(Some(packet));
                } else {
                    tracing::debug!(%namespace, id, "ack dropped: namespace not connected");
                }
            }
            Command::Disconnect { namespace, done } => {
                let packet = self.namespaces.disconnect(&namespace, Instant::now());
                self.acks.disconnect(&namespace, &AckError::Disconnected);
                self.write_packets(packet);
                self.close_engine_if_unused();
                let _ = done.send(());
            }
            Command::ReconnectNow => {
                if let Some(attempt) = self.engine.skip_delay() {
                    tracing::debug!("reconnecting now");
                    self.start_attempt(attempt);
                }
            }
            Command::ClearBuffer { namespace } => {
                for id in self.namespaces.clear_buffer(&namespace) {
                    self.acks.fail(&namespace, id, &AckError::Discarded);
                }
            }
            Command::JoinRoom { namespace, room } => {
                let packet = self.namespaces.join_room(&namespace, room);
                self.write_packets(packet);
            }
            Command::LeaveRoom { namespace, room } => {
                let packet = self.namespaces.leave_room(&namespace, room);
                self.write_packets(packet);
            }
            Command::Close { .. } => {}
        }
    }

    /// A command queued before the close closed the queue: its emits, acks and room
    /// changes were accepted and are applied; a connection it would open is not (its
    /// caller sees the client closed).
    fn on_accepted(&mut self, command: Command) {
        match command {
            Command::Connect { .. } | Command::ReconnectNow | Command::Close { .. } => {}
            command => self.on_command(command),
        }
    }

    fn on_emit(&mut self, mut emit: OutgoingEmit) {
        if !self.expiry_checked {
            self.expiry_checked = true;
            if self.engine.session().is_some_and(|s| s.is_expired()) {
                // The heartbeat deadline passed while the process was suspended: the
                // connection is dead even if no timer fired yet. Buffer instead of writing.
                tracing::debug!("heartbeat deadline passed, closing before the emit");
                self.close_engine(DisconnectReason::PingTimeout);
            }
        }
        let open = self.engine.is_open();
        let writable = self.engine.session().is_some_and(|s| s.is_writable());
        let waiter = emit.take_ack_waiter();
        let ack = emit.ack_id.zip(waiter);
        if self.namespaces.sends_now(&mut emit, open, writable) {
            if let Some((id, waiter)) = ack {
                self.acks.register(&emit.namespace, id, waiter);
            }
            self.write_emit(emit);
            return;
        }
        match self.namespaces.hold(emit) {
            Held::Buffered { namespace, dropped } => {
                if let Some((id, waiter)) = ack {
                    self.acks.register(&namespace, id, waiter);
                }
                for oldest in dropped {
                    tracing::warn!(%namespace, "offline buffer full, oldest emit dropped");
                    if let Some(id) = oldest.ack_id {
                        self.acks.fail(&namespace, id, &AckError::Discarded);
                    }
                }
            }
            Held::Dropped => {
                if let Some((_, waiter)) = ack {
                    let _ = waiter.reply_tx.send(Err(AckError::Disconnected));
                }
            }
            Held::Refused => {}
        }
    }

    // ----- writing -----

    /// Writes emits, in order.
    fn write_emits(&mut self, emits: impl IntoIterator<Item = OutgoingEmit>) {
        for emit in emits {
            self.write_emit(emit);
        }
    }

    /// Writes an emit, unless nobody waits for its ack any more.
    fn write_emit(&mut self, emit: OutgoingEmit) {
        let Some(session) = self.engine.session_mut() else {
            return;
        };
        if let Some(id) = emit.ack_id {
            if !self.acks.sent(&emit.namespace, id) {
                return;
            }
        }
        let (text, attachments) = emit.into_wire();
        session.send(EnginePacket::Message(text));
        for attachment in attachments {
            session.send(EnginePacket::Binary(attachment));
        }
    }

    /// Writes packets, in order.
    fn write_packets(&mut self, packets: impl IntoIterator<Item = Packet>) {
        let Some(session) = self.engine.session_mut() else {
            return;
        };
        for packet in packets {
            self.text.clear();
            self.attachments.clear();
            packet.encode(&mut self.text, &mut self.attachments);
            session.send(EnginePacket::Message(self.text.clone()));
            for attachment in self.attachments.drain(..) {
                session.send(EnginePacket::Binary(attachment));
            }
        }
    }

    /// Writes what the session queued. A write that makes no progress ends the connection
    /// within the server's `pingTimeout` (see `EngineSession::flush`); one still waiting
    /// when a close comes is left to the close, which writes it within its own bound (the
    /// session's flush is cancel-safe: nothing is lost by leaving it).
    async fn flush(&mut self, closing: &Closing) {
        let Some(session) = self.engine.session_mut() else {
            return;
        };
        let transport = session.transport();
        let flushed = tokio::select! {
            biased;
            flushed = session.flush() => flushed,
            () = closing.requested() => {
                tracing::debug!("closing: the pending write is abandoned");
                return;
            }
        };
        let upgraded = session.transport() != transport;
        if let Err(WriteFailed { reason, error }) = flushed {
            match error {
                Some(error) => {
                    tracing::debug!(%reason, %error, "write failed");
                    self.report_failed_attempt(error);
                }
                None => tracing::debug!(%reason, "write failed"),
            }
            self.close_engine(reason);
        } else if upgraded {
            self.publish_engine();
        }
    }

    fn publish_engine(&self) {
        let session = self.engine.session();
        self.engine_state_tx.send_modify(|state| {
            state.transport = session.map(|s| s.transport());
            state.sid = session.map(|s| Arc::from(s.handshake().sid.as_str()));
            if let Some(session) = session {
                state.url = Some(self.engine.url());
                state.max_payload = session.handshake().max_payload;
            }
        });
    }

    // ----- the engine -----

    /// Starts reconnection attempt `attempt`.
    fn start_attempt(&mut self, attempt: u32) {
        self.stats.reconnect_attempt();
        self.manager_event_tx
            .send(ManagerEvent::ReconnectAttempt(attempt));
        self.engine.start_open();
    }

    fn on_opened(&mut self, opened: Opened) {
        let auth = self.engine.opened(opened);
        let legacy_sid = self
            .engine
            .session()
            .filter(|session| session.version() == EngineVersion::V3)
            .map(|session| Arc::from(session.handshake().sid.as_str()));
        self.publish_engine();
        self.decoder.reset();
        self.manager_event_tx.send(ManagerEvent::Open);
        let attempts = self.engine.attempts();
        if attempts > 0 {
            self.stats.reconnected();
            self.manager_event_tx
                .send(ManagerEvent::Reconnect(attempts));
        }
        let connects = self
            .namespaces
            .engine_opened(auth, legacy_sid, Instant::now());
        self.write_packets(connects);
    }

    fn on_open_failed(&mut self, error: ConnectError) {
        tracing::debug!(%error, attempt = self.engine.attempts(), "engine failed to open");
        if let ConnectError::Transport(
            error @ (TransportError::OlderProtocol | TransportError::NewerProtocol(_)),
        ) = &error
        {
            self.namespaces.refuse_protocol(&refusal(error));
        } else {
            // The sockets' `connect_error` before the manager's `reconnect_error`, as the
            // JS client emits them.
            let gives_up = self.engine.gives_up();
            self.namespaces.attempt_failed(&error, gives_up);
            if self.engine.attempts() > 0 {
                self.manager_event_tx
                    .send(ManagerEvent::ReconnectError(error));
            }
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
                self.engine.session_lost(reason);
                if let Some(error) = error {
                    self.report_failed_attempt(error);
                }
                self.on_engine_closed(reason);
            }
        }
    }

    /// A session that failed before any namespace connected on it is a failed connection
    /// attempt: the error is reported as a failed handshake's would be.
    fn report_failed_attempt(&mut self, error: TransportError) {
        if !self.engine.is_attempt() {
            return;
        }
        let error = ConnectError::Transport(error);
        self.namespaces.attempt_failed(&error, false);
        if self.engine.attempts() > 0 {
            self.manager_event_tx
                .send(ManagerEvent::ReconnectError(error));
        }
    }

    /// Closes the engine from the client side and handles it as a lost connection.
    fn close_engine(&mut self, reason: DisconnectReason) {
        if let Some(session) = self.engine.stop() {
            tokio::spawn(session.close());
        }
        self.on_engine_closed(reason);
    }

    /// The session is gone (the engine is idle): every namespace and sent ack learns it,
    /// then reconnection is scheduled.
    fn on_engine_closed(&mut self, reason: DisconnectReason) {
        self.publish_engine();
        self.decoder.reset();
        self.packet_bytes = 0;
        self.acks.connection_lost(&AckError::Disconnected);
        let reconnecting = self.engine.reconnects();
        self.namespaces
            .on_engine_closed(reason, reconnecting, Instant::now());
        self.manager_event_tx.send(ManagerEvent::Close(reason));
        self.schedule_reconnect();
    }

    /// Closes the engine when no namespace wants it any more (JS `Manager#_destroy`).
    fn close_engine_if_unused(&mut self) {
        if self.namespaces.any_active() {
            return;
        }
        if let Some(session) = self.engine.release() {
            tracing::debug!("no namespace left, closing the engine");
            self.publish_engine();
            self.released.retain(|task| !task.is_finished());
            self.released.push(tokio::spawn(session.close()));
        }
    }

    fn schedule_reconnect(&mut self) {
        match self
            .engine
            .schedule(self.namespaces.any_active(), Instant::now())
        {
            Next::Retry { .. } => {}
            Next::Stop => self.namespaces.leave_all(),
            Next::GiveUp { attempts } => {
                self.manager_event_tx.send(ManagerEvent::ReconnectFailed);
                self.namespaces.give_up(attempts);
            }
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        for expired in self.acks.expire(now) {
            self.namespaces.unbuffer_ack(&expired.namespace, expired.id);
            expired.time_out();
        }
        match self.engine.due(now) {
            Due::Nothing => {}
            Due::OpenFailed(error) => self.on_open_failed(error),
            Due::Reconnect { attempt } => self.start_attempt(attempt),
        }
        let due = self.namespaces.on_timer(now, self.engine.is_open());
        self.write_packets(due.packets);
        let reply = self.namespaces.legacy_root_ready();
        self.on_connect_reply(reply);
        self.write_emits(due.emits);
    }

    // ----- packets from the server -----

    fn on_engine_packet(&mut self, packet: EnginePacket) {
        let decoded = match packet {
            EnginePacket::Message(text) => {
                let values = json_values(&text, usize::MAX);
                self.packet_bytes += text.len() + values * std::mem::size_of::<Value>();
                self.decoder.decode_text_counted(&text, Some(values))
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

    fn on_socket_packet(&mut self, packet: Incoming) {
        let namespace = packet.nsp.as_str();
        tracing::trace!(%namespace, kind = ?packet.kind, "packet received");
        match (packet.kind, packet.body) {
            (PacketKind::Connect, Body::Data(data)) => {
                let reply = self.namespaces.on_connect_reply(namespace, data);
                self.on_connect_reply(reply);
            }
            (PacketKind::ConnectError, Body::Data(data)) => {
                if self.namespaces.on_connect_error(namespace, data) {
                    self.close_engine_if_unused();
                }
            }
            (PacketKind::Disconnect, _) => {
                if self
                    .namespaces
                    .on_server_disconnect(namespace, Instant::now())
                {
                    self.acks.disconnect(namespace, &AckError::Disconnected);
                    self.close_engine_if_unused();
                }
            }
            (_, Body::Event { name, args }) => {
                let command_tx = &self.command_tx;
                let id = packet.id;
                // The namespace's own name is shared with the event: no copy per packet.
                let ack = |namespace: &Arc<str>| {
                    let id = id?;
                    Some(AckResponder::new(
                        namespace.clone(),
                        id,
                        command_tx.upgrade()?,
                    ))
                };
                self.namespaces
                    .on_event(namespace, id, name, args, self.packet_bytes, ack);
            }
            (_, Body::Ack(args)) => {
                let Some(id) = packet.id else { return };
                self.on_ack(namespace, id, args);
            }
            (_, Body::Data(_)) => {}
        }
    }

    /// Performs what a CONNECT reply did.
    fn on_connect_reply(&mut self, reply: ConnectReply) {
        match reply {
            ConnectReply::Ignored => {}
            ConnectReply::OlderProtocol if self.engine.found_older_server() => {
                self.restart_in_older_protocol();
            }
            ConnectReply::OlderProtocol => {
                self.namespaces
                    .refuse_protocol(&refusal(&TransportError::OlderProtocol));
                self.close_engine(DisconnectReason::ParseError);
            }
            ConnectReply::Connected { packets, emits } => {
                self.engine.namespace_connected();
                self.write_packets(packets);
                self.write_emits(emits);
            }
        }
    }

    /// A Socket.IO 2.x server answered a v4 session (over WebSocket, where the handshake
    /// looks the same): the session is dropped and opened again in Engine.IO v3, which the
    /// manager speaks from now on; the namespaces wait for it, told nothing.
    fn restart_in_older_protocol(&mut self) {
        tracing::debug!("Socket.IO 2.x server detected, connecting again in its protocol");
        self.engine.reopen();
        self.decoder.reset();
        self.packet_bytes = 0;
        self.namespaces.restart_quietly();
        self.publish_engine();
    }

    /// The server acknowledged `id`: a retry emit's, or one in the ack table.
    fn on_ack(&mut self, namespace: &str, id: u64, args: Payload) {
        // A socket with retries numbers its acks in its outbox, never in the table.
        let args = match self
            .namespaces
            .retry_acked(namespace, id, args, Instant::now)
        {
            Ok(next) => return self.write_emits(next),
            Err(args) => args,
        };
        if !self.acks.reply(namespace, id, args) {
            tracing::debug!(%namespace, id, "ack for an unknown id ignored");
        }
    }

    // ----- shutdown -----

    async fn shutdown(&mut self) {
        let disconnects = self.namespaces.shutdown();
        self.write_packets(disconnects);
        self.acks.close(&AckError::Closed);
        if let Some(session) = self.engine.stop() {
            session.close().await;
        }
        // Each close is bounded by its own timeout.
        for task in self.released.drain(..) {
            let _ = task.await;
        }
        self.engine_state_tx.send_modify(|state| {
            state.transport = None;
            state.sid = None;
            state.closed = true;
        });
        tracing::debug!("manager closed");
    }
}

/// The refusal's message for a server that does not speak the client's protocol.
fn refusal(error: &TransportError) -> String {
    match error {
        TransportError::NewerProtocol(message) => {
            format!("the server does not speak Socket.IO 2.x (server_version V2): {message}")
        }
        _ => "the server speaks an older Socket.IO protocol".into(),
    }
}
