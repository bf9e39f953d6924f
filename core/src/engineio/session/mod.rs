//! The Engine.IO session: the driver that opens the transports and performs what the
//! session's state machine ([`machine`]) decides: handshake, heartbeat, upgrade from
//! polling to WebSocket, and the ordered outgoing queue. Socket.IO messages pass through
//! it untouched. It speaks the Engine.IO version it is opened in (v4, or v3 for Socket.IO
//! 2.x servers), and tells a server of the other version by a typed error.

mod bound;
mod machine;
mod outgoing;
mod upgrade;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant, Sleep};

use self::bound::WriteBound;
pub(crate) use self::bound::WriteFailed;
use self::machine::{Control, Event, Link, Machine, Now, Transmit};
use super::payload::SEPARATOR;
use super::transport::polling::{self, PollInbound, Polled, Polling};
use super::transport::websocket::{WebSocket, WsInbound};
/// Where sessions are opened: the server, the options of its requests, its cookies. The
/// manager makes one per server and hands it to [`EngineSession::open`].
pub(crate) use super::transport::Endpoint;
use super::version::EngineVersion;
use super::{EnginePacket, Handshake};
use crate::disconnect::DisconnectReason;
use crate::error::TransportError;
use crate::options::TransportKind;
use crate::server_text::server_text;
use crate::stats::Stats;

/// How to open a session.
#[derive(Debug, Clone)]
pub(crate) struct OpenOptions {
    /// Transports to try, in order.
    pub(crate) transports: Vec<TransportKind>,
    /// Upgrade from polling to WebSocket when offered.
    pub(crate) upgrade: bool,
    /// Most packets in one polling payload (`ManagerOptions::max_payload_packets`).
    pub(crate) max_payload_packets: usize,
    /// The manager's statistics, counted by every session it opens.
    pub(crate) stats: Arc<Stats>,
}

/// What the session reports to the manager.
#[derive(Debug)]
pub(crate) enum SessionEvent {
    /// A message (text or binary) for Socket.IO.
    Packet(EnginePacket),
    /// Something to write is ready (a pong, the next POST, the upgrade): flush.
    Flush,
    /// The session is over.
    Closed {
        /// Why, as Socket.IO reports it.
        reason: DisconnectReason,
        /// The transport failure behind it, if any.
        error: Option<TransportError>,
    },
}

/// The most a client-side close waits for the server (the last writes, the close packet or
/// frame) before it drops the connection.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

enum Active {
    Polling(Polling),
    WebSocket(WebSocket),
}

/// The WebSocket probed for an upgrade.
enum Probe {
    None,
    Opening(JoinHandle<Result<WebSocket, TransportError>>),
    Open(WebSocket),
}

/// One Engine.IO session over one transport at a time.
pub(crate) struct EngineSession {
    endpoint: Arc<Endpoint>,
    handshake: Handshake,
    machine: Machine,
    active: Active,
    probe: Probe,
    /// The polling payload being taken, packet by packet.
    payload: Option<Polled>,
    /// A frame taken from the machine for the WebSocket and not handed to it yet (it had
    /// no room), with its size on the wire: written first by the next flush, so a flush
    /// abandoned while it waits (a close) loses nothing.
    unsent: Option<(EnginePacket, usize)>,
    /// The machine's next deadline as a timer, kept from one [`EngineSession::next_event`]
    /// to the next and moved only when the deadline does: a timer made for each call was
    /// registered and removed again in the runtime's timer wheel whenever another event
    /// (a command, a packet) ended the wait, i.e. at every turn of the connection task.
    timer: Pin<Box<Sleep>>,
    /// The deadline `timer` is set to.
    timer_at: Instant,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.handshake.sid)
            .field("transport", &self.transport())
            .field("upgrade", &self.machine.upgrade_phase())
            .finish()
    }
}

impl EngineSession {
    /// Opens a session over `kind`, speaking Engine.IO `version`. Which server, transport
    /// and version to try, and what to do when one fails, is the manager's opening
    /// (`manager::opening`).
    pub(crate) async fn open(
        endpoint: Arc<Endpoint>,
        options: &OpenOptions,
        kind: TransportKind,
        version: EngineVersion,
    ) -> Result<Self, TransportError> {
        endpoint.warn_if_unverified();
        tracing::debug!(
            transport = kind.as_str(),
            eio = version.eio(),
            "opening engine session"
        );
        let (handshake, active, payload) =
            Self::open_transport(&endpoint, options, kind, version).await?;
        let may_upgrade = options.upgrade && options.transports.contains(&TransportKind::WebSocket);
        let machine = Machine::new(version, &handshake, kind, may_upgrade, Now::current());
        let timer_at = machine.next_deadline();
        let mut session = Self {
            endpoint,
            machine,
            handshake,
            active,
            probe: Probe::None,
            payload,
            unsent: None,
            timer: Box::pin(sleep_until(timer_at)),
            timer_at,
            stats: options.stats.clone(),
        };
        session.perform_controls();
        Ok(session)
    }

    /// Opens `kind` in Engine.IO `version`. In v3, a handshake refused with HTTP 400 is a
    /// server that does not speak v3 ([`TransportError::NewerProtocol`]); in v4, one refused
    /// for an unsupported version is a Socket.IO 2.x server
    /// ([`TransportError::OlderProtocol`]).
    async fn open_transport(
        endpoint: &Arc<Endpoint>,
        options: &OpenOptions,
        kind: TransportKind,
        version: EngineVersion,
    ) -> Result<(Handshake, Active, Option<Polled>), TransportError> {
        let opened = match kind {
            TransportKind::Polling => Self::open_polling(endpoint, options, version).await,
            TransportKind::WebSocket => Self::open_websocket(endpoint, options).await,
        };
        match (version, opened) {
            (
                EngineVersion::V3,
                Err(TransportError::Http {
                    status: 400,
                    message,
                }),
            ) => Err(TransportError::NewerProtocol(message)),
            // engine.io 6 accepts the WebSocket upgrade before it refuses the version, and
            // writes its 400 answer into the WebSocket: a polling handshake tells.
            (
                EngineVersion::V3,
                Err(error @ (TransportError::Protocol(_) | TransportError::WebSocket(_))),
            ) => {
                let framing = version.framing();
                match polling::handshake(endpoint, 16, framing).await {
                    Err(TransportError::Http {
                        status: 400,
                        message,
                    }) => Err(TransportError::NewerProtocol(message)),
                    Ok((handshake, _)) => {
                        polling::abandon(endpoint, &handshake.sid, framing).await;
                        Err(error)
                    }
                    Err(_) => Err(error),
                }
            }
            // python-engineio 3.x (python-socketio 4.x, a Socket.IO 2.x server) refuses a
            // v4 handshake instead of answering it in v3.
            (
                EngineVersion::V4,
                Err(TransportError::Http {
                    status: 400,
                    message,
                }),
            ) if message.to_ascii_lowercase().contains("unsupported version") => {
                tracing::debug!(%message, "the server refused Engine.IO v4");
                Err(TransportError::OlderProtocol)
            }
            (_, other) => other,
        }
    }

    async fn open_polling(
        endpoint: &Arc<Endpoint>,
        options: &OpenOptions,
        version: EngineVersion,
    ) -> Result<(Handshake, Active, Option<Polled>), TransportError> {
        let max_packets = options.max_payload_packets;
        let framing = version.framing();
        let (handshake, payload) = polling::handshake(endpoint, max_packets, framing).await?;
        // The open packet, taken from the payload; the body's bytes counted as a whole.
        options.stats.received(0);
        options.stats.received_bytes(payload.packets.body_len());
        let polling = Polling::start(
            endpoint.clone(),
            &handshake.sid,
            max_packets,
            machine::heartbeat_window(&handshake),
            framing,
        );
        Ok((handshake, Active::Polling(polling), Some(payload)))
    }

    async fn open_websocket(
        endpoint: &Arc<Endpoint>,
        options: &OpenOptions,
    ) -> Result<(Handshake, Active, Option<Polled>), TransportError> {
        let mut ws = WebSocket::connect(endpoint, None).await?;
        let received = ws.recv().await;
        if let WsInbound::Packet(packet) = &received {
            options.stats.received(packet.frame_len());
        }
        match received {
            WsInbound::Packet(EnginePacket::Open(handshake)) => {
                Ok((*handshake, Active::WebSocket(ws), None))
            }
            WsInbound::Packet(other) => Err(TransportError::Handshake(server_text(format!(
                "expected an open packet, got {other:?}"
            )))),
            WsInbound::Closed => Err(TransportError::WebSocket(
                "closed during the handshake".into(),
            )),
            WsInbound::Invalid(error) => Err(error),
        }
    }

    /// Closes the polling session `sid` on the server of `endpoint`, a session this client
    /// lost (a request failed) and will not resume, so that the server ends it now instead
    /// of at its ping timeout; errors are ignored.
    pub(crate) async fn abandon(endpoint: &Endpoint, sid: &str) {
        let framing = endpoint.version().current().framing();
        polling::abandon(endpoint, sid, framing).await;
    }

    /// The server's handshake.
    pub(crate) fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use.
    pub(crate) fn transport(&self) -> TransportKind {
        self.machine.transport()
    }

    /// The Engine.IO version the session speaks.
    pub(crate) fn version(&self) -> EngineVersion {
        self.machine.version()
    }

    /// Whether the transport can take a packet right now (not mid-upgrade).
    pub(crate) fn is_writable(&self) -> bool {
        self.machine.is_writable()
    }

    /// Whether the heartbeat deadline passed on the wall clock: after a suspension longer
    /// than `pingInterval + pingTimeout` the connection counts as expired.
    pub(crate) fn is_expired(&self) -> bool {
        self.machine.is_expired(SystemTime::now())
    }

    /// Queues `packet`; [`EngineSession::flush`] writes it.
    pub(crate) fn send(&mut self, packet: EnginePacket) {
        self.machine.send(packet);
    }

    /// The next event. Cancel-safe: state only changes between awaits.
    pub(crate) async fn next_event(&mut self) -> SessionEvent {
        loop {
            self.perform_controls();
            match self.machine.poll_event() {
                Some(Event::Deliver(packet)) => return SessionEvent::Packet(packet),
                Some(Event::Closed { reason, error }) => {
                    return SessionEvent::Closed { reason, error }
                }
                None => {}
            }
            if self.machine.can_transmit() {
                return SessionEvent::Flush;
            }
            if self.payload.is_some() {
                self.take_polled_packet();
                continue;
            }
            let deadline = self.machine.next_deadline();
            if deadline != self.timer_at {
                self.timer.as_mut().reset(deadline);
                self.timer_at = deadline;
            }
            tokio::select! {
                () = self.timer.as_mut() => self.machine.on_timeout(Instant::now()),
                progress = probe_progress(&mut self.probe) => self.on_probe_progress(progress),
                received = receive(&mut self.active) => self.on_received(received),
            }
        }
    }

    /// Feeds the next packet of the polling payload to the machine (the payload is dropped
    /// once empty, which lets the GET loop poll again).
    fn take_polled_packet(&mut self) {
        let Some(polled) = &mut self.payload else {
            return;
        };
        let next = polled.packets.next();
        if polled.packets.is_empty() {
            self.payload = None;
        }
        match next {
            Some(Ok(packet)) => {
                // Its bytes were counted with its body.
                self.stats.received(0);
                self.feed_packet(Link::Current, packet);
            }
            Some(Err(error)) => self
                .machine
                .on_failed(Link::Current, Some(TransportError::Decode(error))),
            None => {}
        }
    }

    fn feed_packet(&mut self, link: Link, packet: EnginePacket) {
        // The server's heartbeat: its ping in v4, its pong in v3.
        let heartbeat = match self.machine.version() {
            EngineVersion::V4 => EnginePacket::Ping,
            EngineVersion::V3 => EnginePacket::Pong,
        };
        if link == Link::Current && packet == heartbeat {
            self.stats.pinged();
        }
        self.machine.on_packet(link, packet, Now::current);
    }

    fn on_received(&mut self, received: Received) {
        match received {
            Received::Packet(packet) => {
                self.stats.received(packet.frame_len());
                match unframe(self.machine.version(), packet) {
                    Ok(packet) => self.feed_packet(Link::Current, packet),
                    Err(error) => self.machine.on_failed(Link::Current, Some(error)),
                }
            }
            Received::Polling(PollInbound::Payload(polled)) => {
                self.stats.received_bytes(polled.packets.body_len());
                self.payload = Some(polled);
            }
            Received::Polling(PollInbound::Paused) => self.machine.on_polling_paused(),
            Received::Polling(PollInbound::Posted) => self.machine.on_posted(),
            Received::Polling(PollInbound::Failed(error)) | Received::Invalid(error) => {
                self.machine.on_failed(Link::Current, Some(error));
            }
            Received::Closed => self.machine.on_failed(Link::Current, None),
        }
    }

    fn on_probe_progress(&mut self, progress: ProbeProgress) {
        match progress {
            ProbeProgress::Opened(Ok(ws)) => {
                self.probe = Probe::Open(ws);
                self.machine.on_probe_opened();
            }
            ProbeProgress::Opened(Err(error)) => {
                self.probe = Probe::None;
                self.machine.on_failed(Link::Probe, Some(error));
            }
            ProbeProgress::Received(WsInbound::Packet(packet)) => {
                self.feed_packet(Link::Probe, packet);
            }
            ProbeProgress::Received(WsInbound::Closed) => {
                self.machine.on_failed(Link::Probe, None);
            }
            ProbeProgress::Received(WsInbound::Invalid(error)) => {
                self.machine.on_failed(Link::Probe, Some(error));
            }
        }
    }

    /// Performs the machine's effects on the transports; none waits.
    fn perform_controls(&mut self) {
        while let Some(control) = self.machine.poll_control() {
            match control {
                Control::OpenProbe => {
                    let endpoint = self.endpoint.clone();
                    let sid = self.handshake.sid.clone();
                    self.probe = Probe::Opening(tokio::spawn(async move {
                        WebSocket::connect(&endpoint, Some(&sid)).await
                    }));
                }
                Control::CloseProbe => {
                    if let Probe::Opening(task) = &self.probe {
                        task.abort();
                    }
                    self.probe = Probe::None;
                }
                Control::HoldPolling => self.with_polling(Polling::hold),
                Control::ReleasePolling => self.with_polling(Polling::release),
                Control::PausePolling => self.with_polling(Polling::pause),
            }
        }
    }

    fn with_polling(&self, control: impl FnOnce(&Polling)) {
        if let Active::Polling(polling) = &self.active {
            control(polling);
        }
    }

    /// Whether [`EngineSession::flush`] has anything to do: a frame left unsent by a flush
    /// that was dropped, a control to perform, a write to make or a POST to wait for.
    /// Without, it would return at once.
    pub(crate) fn has_writes(&self) -> bool {
        self.unsent.is_some()
            || self.machine.has_controls()
            || self.machine.can_transmit()
            || self.machine.is_backlogged()
    }

    /// Writes what the machine has to write, the upgrade's switch included. Each step
    /// waits at most the server's `pingTimeout` without progress, and never past the
    /// heartbeat deadline: a server that stops reading cannot hold the connection task.
    /// Over polling, it waits for the POST in flight only when too many packets queue
    /// behind it.
    ///
    ///
    /// Cancel-safe over WebSocket: a flush dropped while it waits for room (the manager's
    /// close does so) loses no packet; the next flush, or the close's, writes it first.
    ///
    /// # Errors
    /// How to close the session when a write fails or gives up: `write stalled`, `ping
    /// timeout`, or the transport failure's own reason.
    pub(crate) async fn flush(&mut self) -> Result<(), WriteFailed> {
        let bound = WriteBound {
            heartbeat: self.machine.heartbeat_deadline(),
            stall: self.handshake.ping_timeout,
        };
        loop {
            self.perform_controls();
            let mut fed = self.feed_unsent(bound).await?;
            while let Some(transmit) = self.machine.poll_transmit() {
                match transmit {
                    Transmit::Frame {
                        link: Link::Current,
                        packet,
                    } => {
                        if !matches!(self.active, Active::WebSocket(_)) {
                            continue;
                        }
                        let len = packet.frame_len();
                        self.unsent = Some((to_frame(self.machine.version(), packet), len));
                        fed |= self.feed_unsent_now()? || self.feed_unsent(bound).await?;
                    }
                    Transmit::Frame {
                        link: Link::Probe,
                        packet,
                    } => {
                        if let Err(failed) = self.write_probe(bound, &packet).await {
                            self.machine.on_failed(Link::Probe, failed.error);
                            self.perform_controls();
                        }
                    }
                    Transmit::Post(packets) => {
                        let Active::Polling(polling) = &self.active else {
                            continue;
                        };
                        // Each packet's text form and the separator after it in a body.
                        let sizes: Vec<usize> = packets
                            .iter()
                            .map(|p| p.text_len() + SEPARATOR.len_utf8())
                            .collect();
                        polling.post(packets)?;
                        for bytes in sizes {
                            self.stats.sent(bytes);
                        }
                    }
                    Transmit::Switch => {
                        self.switch(bound).await;
                        self.perform_controls();
                    }
                }
            }
            if fed {
                if let Active::WebSocket(ws) = &mut self.active {
                    bound.run(ws.flush()).await?;
                }
            }
            if !self.machine.is_backlogged() {
                return Ok(());
            }
            let Active::Polling(polling) = &mut self.active else {
                return Ok(());
            };
            bound.run(polling.posted()).await?;
            self.machine.on_posted();
        }
    }

    /// Hands the frame in `unsent` to the WebSocket once it has room; whether there was
    /// one. Cancel-safe: until the WebSocket takes it, the frame stays in `unsent`.
    async fn feed_unsent(&mut self, bound: WriteBound) -> Result<bool, WriteFailed> {
        let Active::WebSocket(ws) = &mut self.active else {
            return Ok(false);
        };
        if self.unsent.is_none() {
            return Ok(false);
        }
        bound.run(ws.ready()).await?;
        if let Some((packet, len)) = self.unsent.take() {
            ws.start_send(&packet)?;
            self.stats.sent(len);
        }
        Ok(true)
    }

    /// Hands the frame in `unsent` to the WebSocket if it has room now, without the
    /// waiting machinery of [`EngineSession::feed_unsent`] (the usual case: a batch of
    /// emits fits the write buffer); whether it did. `false` leaves the frame in `unsent`.
    fn feed_unsent_now(&mut self) -> Result<bool, WriteFailed> {
        let Active::WebSocket(ws) = &mut self.active else {
            return Ok(false);
        };
        if self.unsent.is_none() || !ws.is_ready_now()? {
            return Ok(false);
        }
        if let Some((packet, len)) = self.unsent.take() {
            ws.start_send(&packet)?;
            self.stats.sent(len);
        }
        Ok(true)
    }

    async fn write_probe(
        &mut self,
        bound: WriteBound,
        packet: &EnginePacket,
    ) -> Result<(), WriteFailed> {
        let Probe::Open(ws) = &mut self.probe else {
            return Err(TransportError::WebSocket("probe closed".into()).into());
        };
        bound.run(ws.feed(packet)).await?;
        bound.run(ws.flush()).await
    }

    /// Writes `5` on the probe and makes it the transport; polling stops with it. A
    /// probe that fails here leaves the session on polling.
    async fn switch(&mut self, bound: WriteBound) {
        match self.write_probe(bound, &EnginePacket::Upgrade).await {
            Ok(()) => {
                self.stats.sent(EnginePacket::Upgrade.frame_len());
                if let Probe::Open(ws) = std::mem::replace(&mut self.probe, Probe::None) {
                    self.active = Active::WebSocket(ws);
                    self.payload = None;
                    self.machine.on_switched();
                }
            }
            Err(failed) => self.machine.on_failed(Link::Probe, failed.error),
        }
    }

    /// Closes the session from the client side, best effort: the queued packets and the
    /// close handshake get at most [`CLOSE_TIMEOUT`], then the connection is dropped.
    pub(crate) async fn close(mut self) {
        let graceful = async {
            let _ = self.flush().await;
            self.machine.close();
            self.perform_controls();
            match &mut self.active {
                Active::Polling(_) => {
                    // The close packet goes behind the rest, each POST after the last.
                    while self.flush().await.is_ok() && !self.machine.is_drained() {
                        let Active::Polling(polling) = &mut self.active else {
                            break;
                        };
                        if polling.posted().await.is_err() {
                            break;
                        }
                        self.machine.on_posted();
                    }
                }
                Active::WebSocket(ws) => ws.close().await,
            }
        };
        if timeout(CLOSE_TIMEOUT, graceful).await.is_err() {
            if self.unsent.is_some() || !self.machine.is_drained() {
                tracing::warn!(
                    bound = ?CLOSE_TIMEOUT,
                    "close: the server did not take all that was sent before the close within \
                     the bound; the rest is dropped with the connection"
                );
            } else {
                tracing::debug!("the server took no close within the bound, connection dropped");
            }
        }
    }
}

impl Drop for EngineSession {
    fn drop(&mut self) {
        if let Probe::Opening(task) = &self.probe {
            task.abort();
        }
    }
}

/// A packet read from the WebSocket in `version`, as the machine takes it: in Engine.IO v3
/// a binary frame leads with the packet type `4`, taken off here (no copy).
fn unframe(version: EngineVersion, packet: EnginePacket) -> Result<EnginePacket, TransportError> {
    match packet {
        EnginePacket::Binary(mut data) if version == EngineVersion::V3 => {
            if data.first() != Some(&4) {
                return Err(TransportError::Protocol(
                    "an Engine.IO v3 binary frame without its message type".into(),
                ));
            }
            Ok(EnginePacket::Binary(data.split_off(1)))
        }
        other => Ok(other),
    }
}

/// A packet as written on the WebSocket in `version`: in Engine.IO v3 a binary frame
/// leads with the packet type `4` (one copy of the data).
fn to_frame(version: EngineVersion, packet: EnginePacket) -> EnginePacket {
    match packet {
        EnginePacket::Binary(data) if version == EngineVersion::V3 => {
            let mut framed = Vec::with_capacity(data.len() + 1);
            framed.push(4);
            framed.extend_from_slice(&data);
            EnginePacket::Binary(framed.into())
        }
        other => other,
    }
}

enum Received {
    Packet(EnginePacket),
    Polling(PollInbound),
    Invalid(TransportError),
    Closed,
}

async fn receive(active: &mut Active) -> Received {
    match active {
        Active::Polling(polling) => Received::Polling(polling.recv().await),
        Active::WebSocket(ws) => match ws.recv().await {
            WsInbound::Packet(packet) => Received::Packet(packet),
            WsInbound::Closed => Received::Closed,
            WsInbound::Invalid(error) => Received::Invalid(error),
        },
    }
}

enum ProbeProgress {
    Opened(Result<WebSocket, TransportError>),
    Received(WsInbound),
}

/// The probe's next step: opened, or a packet (or its end) read from it; pending when
/// there is no probe.
async fn probe_progress(probe: &mut Probe) -> ProbeProgress {
    match probe {
        Probe::Opening(task) => ProbeProgress::Opened(match task.await {
            Ok(result) => result,
            Err(join_error) => Err(TransportError::WebSocket(join_error.to_string())),
        }),
        Probe::Open(ws) => ProbeProgress::Received(ws.recv().await),
        Probe::None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn v3_websocket_binary_frames_lead_with_the_message_type_both_ways() {
        let data = EnginePacket::Binary(Bytes::from_static(&[1, 2, 3]));
        let framed = to_frame(EngineVersion::V3, data.clone());
        assert_eq!(
            framed,
            EnginePacket::Binary(Bytes::from_static(&[4, 1, 2, 3]))
        );
        assert_eq!(unframe(EngineVersion::V3, framed).expect("v3 frame"), data);
        // v4 frames are the data alone; text is the same in both versions.
        assert_eq!(to_frame(EngineVersion::V4, data.clone()), data);
        assert_eq!(unframe(EngineVersion::V4, data.clone()).expect("v4"), data);
        let text = EnginePacket::Message("2[\"x\"]".into());
        assert_eq!(to_frame(EngineVersion::V3, text.clone()), text);
        // A v3 binary frame without its type is a protocol violation.
        let bare = EnginePacket::Binary(Bytes::from_static(&[1]));
        assert!(matches!(
            unframe(EngineVersion::V3, bare),
            Err(TransportError::Protocol(_))
        ));
        assert!(unframe(EngineVersion::V3, EnginePacket::Binary(Bytes::new())).is_err());
    }
}
