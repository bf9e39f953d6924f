//! The Engine.IO session as a state machine: fed what the transports receive, how they
//! fare, what to send and the time; it answers with what to write, what to deliver, what
//! to do to the transports, and its next deadline. No I/O, no clock, no tasks: the driver
//! in [`super`] performs its effects.
//!
//! Two transports may be open at once: the current one ([`Link::Current`], polling or
//! WebSocket) and, during an upgrade, the probe ([`Link::Probe`], a WebSocket).
//!
//! What is specific to the protocol version ([`EngineVersion`], chosen when the machine is
//! made) sits in two places. The heartbeat rule ([`Rule`]): in v4 the server pings,
//! [`Machine::on_packet`] answers and moves the deadline; in v3 the client pings every
//! `pingInterval` ([`Machine::on_timeout`] queues the ping) and the pong is due within
//! `pingTimeout`. The framing ([`EngineVersion::framing`]): the polling payload codec (v4
//! separated; v3 length-prefixed, polled as text with base64 binary, posted in v3's binary
//! form) and, over WebSocket, v3's binary
//! frames led by the packet type byte `0x04` (the driver adds and strips it). The upgrade
//! and the queue are the same for both.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::outgoing::Outgoing;
use super::upgrade::{Phase, Upgrade};
use crate::disconnect::DisconnectReason;
use crate::engineio::heartbeat::{ClientPings, Heartbeat};
use crate::engineio::version::EngineVersion;
use crate::engineio::{EnginePacket, Handshake};
use crate::error::TransportError;
use crate::options::TransportKind;

/// Which open transport an input or an effect concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// The transport the session runs on.
    Current,
    /// The WebSocket being probed for an upgrade.
    Probe,
}

/// The time, on both clocks: the monotonic one drives deadlines, the wall clock catches a
/// suspended process (see [`Heartbeat`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// The monotonic clock.
    pub(crate) instant: Instant,
    /// The wall clock.
    pub(crate) wall: SystemTime,
}

impl Now {
    /// Reads both clocks.
    pub(crate) fn current() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// What the session reports upward.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message (text or binary) for Socket.IO.
    Deliver(EnginePacket),
    /// The session is over.
    Closed {
        /// Why, as Socket.IO reports it.
        reason: DisconnectReason,
        /// The transport failure behind it, if any.
        error: Option<TransportError>,
    },
}

/// An effect on the transports that writes nothing; the driver performs it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Open the probe WebSocket for this session; report with [`Machine::on_probe_opened`]
    /// or [`Machine::on_failed`].
    OpenProbe,
    /// Drop the probe (opening or open).
    CloseProbe,
    /// After the next GET response, wait briefly for the probe's outcome before polling.
    HoldPolling,
    /// Poll as usual again (after a hold or a pause).
    ReleasePolling,
    /// Stop polling after the GET in flight; report with [`Machine::on_polling_paused`].
    PausePolling,
}

/// Something to write.
#[derive(Debug, PartialEq)]
pub(crate) enum Transmit {
    /// One packet as one WebSocket message on `link`; the driver sends what it fed once
    /// there is nothing more to transmit.
    Frame {
        /// The WebSocket to write on.
        link: Link,
        /// The packet.
        packet: EnginePacket,
    },
    /// One POST body on the current polling transport, within `maxPayload`; report its
    /// answer with [`Machine::on_posted`].
    Post(Vec<EnginePacket>),
    /// Write `5` (upgrade) on the probe and make it the transport; report with
    /// [`Machine::on_switched`], or [`Machine::on_failed`] for the probe.
    Switch,
}

/// The heartbeat rule of a protocol version.
#[derive(Debug)]
pub(crate) enum Rule {
    /// Engine.IO v4: the server pings, the client answers.
    ServerPings(Heartbeat),
    /// Engine.IO v3: the client pings, the server answers.
    ClientPings(ClientPings),
}

impl Rule {
    fn deadline(&self) -> Instant {
        match self {
            Self::ServerPings(heartbeat) => heartbeat.deadline(),
            Self::ClientPings(pings) => pings.deadline(),
        }
    }

    fn next_deadline(&self) -> Instant {
        match self {
            Self::ServerPings(heartbeat) => heartbeat.deadline(),
            Self::ClientPings(pings) => pings.next_deadline(),
        }
    }

    fn is_expired(&self, wall: SystemTime) -> bool {
        match self {
            Self::ServerPings(heartbeat) => heartbeat.is_expired(wall),
            Self::ClientPings(pings) => pings.is_expired(wall),
        }
    }
}

/// The state of one Engine.IO session.
#[derive(Debug)]
pub(crate) struct Machine {
    version: EngineVersion,
    transport: TransportKind,
    heartbeat: Rule,
    upgrade: Upgrade,
    outgoing: Outgoing,
    /// Packets for the probe (`2probe`), written before anything else.
    probe_frames: VecDeque<EnginePacket>,
    controls: VecDeque<Control>,
    events: VecDeque<Event>,
    /// Whether [`Event::Closed`] was reported: inputs are ignored after it.
    closed: bool,
}

impl Machine {
    /// The session `handshake` opened in Engine.IO `version` over `transport` at `now`; it
    /// probes WebSocket when `may_upgrade` and the server offers it on a polling session.
    pub(crate) fn new(
        version: EngineVersion,
        handshake: &Handshake,
        transport: TransportKind,
        may_upgrade: bool,
        now: Now,
    ) -> Self {
        let window = heartbeat_window(handshake);
        let offered = handshake.upgrades.iter().any(|u| u == "websocket");
        let mut controls = VecDeque::new();
        let upgrade = if may_upgrade && offered && transport == TransportKind::Polling {
            controls.extend([Control::OpenProbe, Control::HoldPolling]);
            Upgrade::start(now.instant + window)
        } else {
            Upgrade::off()
        };
        let heartbeat = match version {
            EngineVersion::V4 => Rule::ServerPings(Heartbeat::new(window, now.instant, now.wall)),
            EngineVersion::V3 => Rule::ClientPings(ClientPings::new(
                handshake.ping_interval,
                handshake.ping_timeout,
                now.instant,
                now.wall,
            )),
        };
        Self {
            version,
            transport,
            heartbeat,
            upgrade,
            outgoing: Outgoing::new(handshake.max_payload),
            probe_frames: VecDeque::new(),
            controls,
            events: VecDeque::new(),
            closed: false,
        }
    }

    // ----- state -----

    /// The transport the session runs on.
    pub(crate) fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The Engine.IO version the session speaks.
    pub(crate) fn version(&self) -> EngineVersion {
        self.version
    }

    /// The upgrade's phase.
    pub(crate) fn upgrade_phase(&self) -> Phase {
        self.upgrade.phase()
    }

    /// Whether a packet sent now goes out at once (not held for an upgrade).
    pub(crate) fn is_writable(&self) -> bool {
        !self.upgrade.holds_writes()
    }

    /// Whether the heartbeat deadline passed on the wall clock at `wall` (after a
    /// suspension longer than `pingInterval + pingTimeout`).
    pub(crate) fn is_expired(&self, wall: SystemTime) -> bool {
        self.heartbeat.is_expired(wall)
    }

    /// When the connection counts as dead without a ping (v4) or a pong (v3).
    pub(crate) fn heartbeat_deadline(&self) -> Instant {
        self.heartbeat.deadline()
    }

    /// When [`Machine::on_timeout`] is due: the heartbeat (v3: the next ping too), or the
    /// probe's deadline.
    pub(crate) fn next_deadline(&self) -> Instant {
        let heartbeat = self.heartbeat.next_deadline();
        self.upgrade
            .deadline()
            .map_or(heartbeat, |probe| probe.min(heartbeat))
    }

    /// Whether writing must wait for the POST in flight before taking more packets.
    pub(crate) fn is_backlogged(&self) -> bool {
        self.transport == TransportKind::Polling && self.outgoing.is_backlogged()
    }

    /// Whether everything sent was written and answered (nothing queued, no POST in
    /// flight).
    pub(crate) fn is_drained(&self) -> bool {
        self.outgoing.is_empty() && !self.outgoing.post_in_flight()
    }

    // ----- inputs -----

    /// Queues `packet` to send, after those queued before.
    pub(crate) fn send(&mut self, packet: EnginePacket) {
        self.outgoing.push(packet);
    }

    /// A packet arrived on `link`; `now` gives the time, asked only when the packet needs
    /// it (a ping in v4, a pong in v3, moves the heartbeat), so that the other packets cost
    /// no clock read.
    pub(crate) fn on_packet(
        &mut self,
        link: Link,
        packet: EnginePacket,
        now: impl FnOnce() -> Now,
    ) {
        if self.closed {
            return;
        }
        match link {
            Link::Current => self.on_current_packet(packet, now),
            Link::Probe => self.on_probe_packet(packet),
        }
    }

    fn on_current_packet(&mut self, packet: EnginePacket, now: impl FnOnce() -> Now) {
        match (&mut self.heartbeat, packet) {
            (Rule::ServerPings(heartbeat), EnginePacket::Ping) => {
                let now = now();
                heartbeat.on_ping(now.instant, now.wall);
                self.outgoing.push(EnginePacket::Pong);
            }
            (Rule::ClientPings(pings), EnginePacket::Pong) => {
                let now = now();
                pings.on_pong(now.instant, now.wall);
            }
            (_, packet) => self.on_current_data(packet),
        }
    }

    fn on_current_data(&mut self, packet: EnginePacket) {
        match packet {
            EnginePacket::Close => self.close_with(DisconnectReason::TransportClose, None),
            EnginePacket::Message(_) | EnginePacket::Binary(_) => {
                self.events.push_back(Event::Deliver(packet));
            }
            other => tracing::trace!(packet = ?other, "engine packet ignored"),
        }
    }

    fn on_probe_packet(&mut self, packet: EnginePacket) {
        match (self.upgrade.phase(), packet) {
            (Phase::Probing, EnginePacket::PongProbe) => {
                self.upgrade.probe_answered();
                tracing::debug!("upgrade probe succeeded, pausing polling");
                self.controls.push_back(Control::PausePolling);
            }
            (Phase::Pausing { .. } | Phase::Upgrading, EnginePacket::Noop) => {}
            (_, other) => {
                tracing::debug!(packet = ?other, "unexpected packet on the probe");
                self.fail_upgrade();
            }
        }
    }

    /// The probe WebSocket opened: `2probe` goes out on it.
    pub(crate) fn on_probe_opened(&mut self) {
        if self.upgrade.probe_opened() {
            self.probe_frames.push_back(EnginePacket::PingProbe);
        } else {
            self.controls.push_back(Control::CloseProbe);
        }
    }

    /// `link` closed (`error` none) or failed. The current transport's end is the
    /// session's; the probe's ends the upgrade, and the session stays on polling.
    pub(crate) fn on_failed(&mut self, link: Link, error: Option<TransportError>) {
        if self.closed {
            return;
        }
        match link {
            Link::Current => {
                let reason = error
                    .as_ref()
                    .map_or(DisconnectReason::TransportClose, |e| e.disconnect_reason());
                self.close_with(reason, error);
            }
            Link::Probe => {
                match &error {
                    Some(error) => tracing::debug!(%error, "upgrade failed, staying on polling"),
                    None => tracing::debug!("probe closed, staying on polling"),
                }
                self.fail_upgrade();
            }
        }
    }

    /// The GET loop stopped for the upgrade.
    pub(crate) fn on_polling_paused(&mut self) {
        self.upgrade.polling_paused();
    }

    /// The POST in flight was answered.
    pub(crate) fn on_posted(&mut self) {
        self.outgoing.posted();
    }

    /// `5` was written on the probe, which is now the transport.
    pub(crate) fn on_switched(&mut self) {
        if self.upgrade.phase() == Phase::Upgrading {
            self.upgrade.switched();
            self.transport = TransportKind::WebSocket;
            tracing::debug!("upgraded to websocket");
        }
    }

    /// The time is `now`, at or after [`Machine::next_deadline`]: no ping within
    /// `pingInterval + pingTimeout` (v4) or no pong within `pingTimeout` of the ping (v3)
    /// ends the session, a v3 ping due is queued, a probe past its deadline fails.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Rule::ClientPings(pings) = &mut self.heartbeat {
            if pings.ping_due(now) {
                pings.ping_sent(now);
                self.outgoing.push(EnginePacket::Ping);
            }
        }
        if now >= self.heartbeat.deadline() {
            self.close_with(DisconnectReason::PingTimeout, None);
        } else if self.upgrade.deadline().is_some_and(|d| now >= d) {
            tracing::debug!("upgrade probe timed out, staying on polling");
            self.fail_upgrade();
        }
    }

    /// The client closes the session: an upgrade under way stops, and over polling a
    /// close packet is queued behind the packets to send.
    pub(crate) fn close(&mut self) {
        self.fail_upgrade();
        if self.transport == TransportKind::Polling {
            self.outgoing.push(EnginePacket::Close);
        }
    }

    fn fail_upgrade(&mut self) {
        if self.upgrade.fail() {
            self.probe_frames.clear();
            self.controls
                .extend([Control::CloseProbe, Control::ReleasePolling]);
        }
    }

    fn close_with(&mut self, reason: DisconnectReason, error: Option<TransportError>) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(Event::Closed { reason, error });
        }
    }

    // ----- outputs -----

    /// The next event to report upward.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next effect on the transports.
    pub(crate) fn poll_control(&mut self) -> Option<Control> {
        self.controls.pop_front()
    }

    /// The next write, if one can be made now: the probe's packets first, then the switch
    /// once polling is idle, then the queue (held while the upgrade switches).
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(packet) = self.probe_frames.pop_front() {
            return Some(Transmit::Frame {
                link: Link::Probe,
                packet,
            });
        }
        if self.upgrade.begin_switch(self.outgoing.post_in_flight()) {
            return Some(Transmit::Switch);
        }
        if self.upgrade.holds_writes() {
            return None;
        }
        match self.transport {
            TransportKind::WebSocket => self.outgoing.pop().map(|packet| Transmit::Frame {
                link: Link::Current,
                packet,
            }),
            TransportKind::Polling => self.outgoing.next_post().map(Transmit::Post),
        }
    }

    /// Whether [`Machine::poll_control`] has something.
    pub(crate) fn has_controls(&self) -> bool {
        !self.controls.is_empty()
    }

    /// Whether [`Machine::poll_transmit`] has something.
    pub(crate) fn can_transmit(&self) -> bool {
        if !self.probe_frames.is_empty() || self.upgrade.is_ready(self.outgoing.post_in_flight()) {
            return true;
        }
        if self.upgrade.holds_writes() {
            return false;
        }
        match self.transport {
            TransportKind::WebSocket => !self.outgoing.is_empty(),
            TransportKind::Polling => self.outgoing.can_post(),
        }
    }
}

/// `pingInterval + pingTimeout`: how long to wait for the next ping.
pub(crate) fn heartbeat_window(handshake: &Handshake) -> Duration {
    handshake.ping_interval + handshake.ping_timeout
}

#[cfg(test)]
mod tests;
