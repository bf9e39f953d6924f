//! The Engine.IO session: handshake, heartbeat, upgrade from polling to WebSocket, and the
//! ordered outgoing queue. Socket.IO messages pass through it untouched.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use super::heartbeat::Heartbeat;
use super::payload::SEPARATOR;
use super::transport::polling::{self, PollInbound, Polled, Polling};
use super::transport::websocket::{WebSocket, WsInbound};
use super::transport::Endpoint;
use super::{EnginePacket, Handshake};
use crate::disconnect::DisconnectReason;
use crate::error::{server_text, TransportError};
use crate::options::TransportKind;
use crate::stats::Stats;

/// How to open a session.
#[derive(Debug, Clone)]
pub(crate) struct OpenOptions {
    /// Transports to try, in order.
    pub(crate) transports: Vec<TransportKind>,
    /// Upgrade from polling to WebSocket when offered.
    pub(crate) upgrade: bool,
    /// Try the next transport when one cannot be opened.
    pub(crate) try_all_transports: bool,
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
    /// Something to write is queued (a pong, or the upgrade is ready): flush.
    Flush,
    /// The session is over.
    Closed {
        /// Why, as Socket.IO reports it.
        reason: DisconnectReason,
        /// The transport failure behind it, if any.
        error: Option<TransportError>,
    },
}

/// Why a write ended the session.
#[derive(Debug)]
pub(crate) struct WriteFailed {
    /// Why, as Socket.IO reports it.
    pub(crate) reason: DisconnectReason,
    /// The transport failure behind it; none for a heartbeat that expired meanwhile.
    pub(crate) error: Option<TransportError>,
}

impl From<TransportError> for WriteFailed {
    fn from(error: TransportError) -> Self {
        Self {
            reason: error.disconnect_reason(),
            error: Some(error),
        }
    }
}

/// The most a client-side close waits for the server (the last writes, the close packet or
/// frame) before it drops the connection.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one write may wait: never past the heartbeat deadline (a connection that got
/// no ping in time is dead, written to or not), and at most `stall` (the server's
/// `pingTimeout`) without progress. A write that completes at once costs no timer.
#[derive(Debug, Clone, Copy)]
struct WriteBound {
    heartbeat: Instant,
    stall: Duration,
}

impl WriteBound {
    /// When a write that starts waiting at `now` gives up, and how the session ends then.
    fn expiry(self, now: Instant) -> (Instant, WriteFailed) {
        let stalled = now + self.stall;
        if self.heartbeat <= stalled {
            let ended = WriteFailed {
                reason: DisconnectReason::PingTimeout,
                error: None,
            };
            (self.heartbeat, ended)
        } else {
            let error = TransportError::WriteStalled { after: self.stall };
            (stalled, error.into())
        }
    }

    /// Runs one write step under the bound.
    async fn run<T>(
        self,
        write: impl Future<Output = Result<T, TransportError>>,
    ) -> Result<T, WriteFailed> {
        let mut write = std::pin::pin!(write);
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        if let Poll::Ready(done) = first {
            return Ok(done?);
        }
        let (deadline, ended) = self.expiry(Instant::now());
        match timeout_at(deadline, write).await {
            Ok(done) => Ok(done?),
            Err(_) => {
                tracing::debug!(reason = %ended.reason, "write gave up");
                Err(ended)
            }
        }
    }
}

enum Active {
    Polling(Polling),
    WebSocket(WebSocket),
}

enum Upgrade {
    /// No upgrade under way.
    Idle,
    /// The WebSocket is being opened and probed.
    Probing(JoinHandle<Result<WebSocket, TransportError>>),
    /// The probe succeeded; polling is winding down.
    Pausing {
        ws: WebSocket,
        get_paused: bool,
        drained_rx: Option<oneshot::Receiver<()>>,
    },
    /// Polling is idle: switch on the next flush.
    Ready(WebSocket),
}

/// One Engine.IO session over one transport at a time.
pub(crate) struct EngineSession {
    endpoint: Arc<Endpoint>,
    handshake: Handshake,
    active: Active,
    upgrade: Upgrade,
    /// A packet received over WebSocket, not handled yet.
    inbound: Option<EnginePacket>,
    /// The polling payload being taken, packet by packet.
    payload: Option<Polled>,
    outgoing: VecDeque<EnginePacket>,
    heartbeat: Heartbeat,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.handshake.sid)
            .field("transport", &self.transport())
            .finish()
    }
}

impl EngineSession {
    /// Opens a session: handshake over the first transport that works.
    pub(crate) async fn open(
        endpoint: Arc<Endpoint>,
        options: &OpenOptions,
    ) -> Result<Self, TransportError> {
        endpoint.warn_if_unverified();
        let mut first_error = None;
        for (index, &kind) in options.transports.iter().enumerate() {
            if index > 0 && !options.try_all_transports {
                break;
            }
            tracing::debug!(transport = kind.as_str(), "opening engine session");
            let opened = match kind {
                TransportKind::Polling => Self::open_polling(&endpoint, options).await,
                TransportKind::WebSocket => Self::open_websocket(&endpoint, options).await,
            };
            match opened {
                Ok((handshake, active, payload)) => {
                    let mut session = Self {
                        endpoint: endpoint.clone(),
                        heartbeat: Heartbeat::new(
                            heartbeat_window(&handshake),
                            Instant::now(),
                            SystemTime::now(),
                        ),
                        handshake,
                        active,
                        upgrade: Upgrade::Idle,
                        inbound: None,
                        payload,
                        outgoing: VecDeque::new(),
                        stats: options.stats.clone(),
                    };
                    if kind == TransportKind::Polling && session.may_upgrade(options) {
                        session.start_probe();
                        if let Active::Polling(polling) = &session.active {
                            polling.hold();
                        }
                    }
                    return Ok(session);
                }
                Err(error) => {
                    tracing::debug!(transport = kind.as_str(), %error, "transport failed to open");
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| TransportError::Handshake("no transport enabled".into())))
    }

    async fn open_polling(
        endpoint: &Arc<Endpoint>,
        options: &OpenOptions,
    ) -> Result<(Handshake, Active, Option<Polled>), TransportError> {
        let max_packets = options.max_payload_packets;
        let (handshake, payload) = polling::handshake(endpoint, max_packets).await?;
        // The open packet, taken from the payload; the body's bytes counted as a whole.
        options.stats.received(0);
        options.stats.received_bytes(payload.packets.body_len());
        let polling = Polling::start(
            endpoint.clone(),
            &handshake.sid,
            handshake.max_payload,
            max_packets,
            heartbeat_window(&handshake),
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

    fn may_upgrade(&self, options: &OpenOptions) -> bool {
        options.upgrade
            && options.transports.contains(&TransportKind::WebSocket)
            && self.handshake.upgrades.iter().any(|u| u == "websocket")
    }

    fn start_probe(&mut self) {
        let endpoint = self.endpoint.clone();
        let sid = self.handshake.sid.clone();
        let limit = self.handshake.ping_interval + self.handshake.ping_timeout;
        self.upgrade = Upgrade::Probing(tokio::spawn(async move {
            timeout(limit, probe(&endpoint, &sid))
                .await
                .unwrap_or_else(|_| Err(TransportError::WebSocket("probe timed out".into())))
        }));
    }

    /// The server's handshake.
    pub(crate) fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use.
    pub(crate) fn transport(&self) -> TransportKind {
        match self.active {
            Active::Polling(_) => TransportKind::Polling,
            Active::WebSocket(_) => TransportKind::WebSocket,
        }
    }

    /// Whether the transport can take a packet right now (not mid-upgrade).
    pub(crate) fn is_writable(&self) -> bool {
        !matches!(self.upgrade, Upgrade::Pausing { .. } | Upgrade::Ready(_))
    }

    /// Whether the heartbeat deadline passed on the wall clock: after a suspension longer
    /// than `pingInterval + pingTimeout` the connection counts as expired.
    pub(crate) fn is_expired(&self) -> bool {
        self.heartbeat.is_expired(SystemTime::now())
    }

    /// Queues `packet`; [`EngineSession::flush`] writes it.
    pub(crate) fn send(&mut self, packet: EnginePacket) {
        self.outgoing.push_back(packet);
    }

    /// The next event. Cancel-safe: state only changes between awaits.
    pub(crate) async fn next_event(&mut self) -> SessionEvent {
        loop {
            let packet = match self.next_packet() {
                Ok(packet) => packet,
                Err(error) => {
                    return SessionEvent::Closed {
                        reason: error.disconnect_reason(),
                        error: Some(error),
                    }
                }
            };
            if let Some(packet) = packet {
                match packet {
                    EnginePacket::Ping => {
                        self.heartbeat.on_ping(Instant::now(), SystemTime::now());
                        self.stats.pinged();
                        self.outgoing.push_back(EnginePacket::Pong);
                        return SessionEvent::Flush;
                    }
                    EnginePacket::Close => {
                        return SessionEvent::Closed {
                            reason: DisconnectReason::TransportClose,
                            error: None,
                        }
                    }
                    EnginePacket::Message(_) | EnginePacket::Binary(_) => {
                        return SessionEvent::Packet(packet)
                    }
                    other => {
                        tracing::trace!(packet = ?other, "engine packet ignored");
                        continue;
                    }
                }
            }
            let deadline = self.heartbeat.deadline();
            let Self {
                active,
                upgrade,
                inbound,
                payload,
                stats,
                ..
            } = self;
            tokio::select! {
                _ = sleep_until(deadline) => {
                    return SessionEvent::Closed { reason: DisconnectReason::PingTimeout, error: None };
                }
                progress = upgrade_progress(upgrade) => {
                    match progress {
                        UpgradeProgress::Probed(Ok(ws)) => {
                            let Active::Polling(polling) = active else { continue };
                            tracing::debug!("upgrade probe succeeded, pausing polling");
                            let drained_rx = polling.pause();
                            *upgrade = Upgrade::Pausing { ws, get_paused: false, drained_rx: Some(drained_rx) };
                        }
                        UpgradeProgress::Probed(Err(error)) => {
                            tracing::debug!(%error, "upgrade failed, staying on polling");
                            *upgrade = Upgrade::Idle;
                            if let Active::Polling(polling) = active {
                                polling.release();
                            }
                        }
                        UpgradeProgress::Drained => {
                            if let Upgrade::Pausing { drained_rx, .. } = upgrade {
                                *drained_rx = None;
                            }
                            if upgrade_ready(upgrade) {
                                return SessionEvent::Flush;
                            }
                        }
                    }
                }
                received = receive(active) => {
                    match received {
                        Received::Packet(packet) => *inbound = Some(packet),
                        Received::Payload(polled) => {
                            stats.received_bytes(polled.packets.body_len());
                            *payload = Some(polled);
                        }
                        Received::Paused => {
                            if let Upgrade::Pausing { get_paused, .. } = upgrade {
                                *get_paused = true;
                            }
                            if upgrade_ready(upgrade) {
                                return SessionEvent::Flush;
                            }
                        }
                        Received::Closed(reason, error) => return SessionEvent::Closed { reason, error },
                    }
                }
            }
        }
    }

    /// The next packet received and not handled yet: the WebSocket's, else the next of
    /// the polling payload (dropped once empty, which lets the GET loop poll again).
    ///
    /// # Errors
    /// A packet of the payload that does not decode: the session is over.
    fn next_packet(&mut self) -> Result<Option<EnginePacket>, TransportError> {
        if let Some(packet) = self.inbound.take() {
            self.stats.received(packet.frame_len());
            return Ok(Some(packet));
        }
        let Some(polled) = &mut self.payload else {
            return Ok(None);
        };
        let next = polled.packets.next();
        if polled.packets.is_empty() {
            self.payload = None;
        }
        // Its bytes were counted with its body.
        if matches!(next, Some(Ok(_))) {
            self.stats.received(0);
        }
        next.transpose().map_err(TransportError::Decode)
    }

    /// Writes the queued packets, completing a ready upgrade first. Each step waits at
    /// most the server's `pingTimeout` without progress, and never past the heartbeat
    /// deadline: a server that stops reading cannot hold the connection task.
    ///
    /// # Errors
    /// How to close the session when a write fails or gives up: `write stalled`, `ping
    /// timeout`, or the transport failure's own reason.
    pub(crate) async fn flush(&mut self) -> Result<(), WriteFailed> {
        let bound = WriteBound {
            heartbeat: self.heartbeat.deadline(),
            stall: self.handshake.ping_timeout,
        };
        if matches!(self.upgrade, Upgrade::Ready(_)) {
            if let Upgrade::Ready(mut ws) = std::mem::replace(&mut self.upgrade, Upgrade::Idle) {
                bound.run(ws.feed(&EnginePacket::Upgrade)).await?;
                self.stats.sent(EnginePacket::Upgrade.frame_len());
                self.active = Active::WebSocket(ws);
                tracing::debug!("upgraded to websocket");
            }
        }
        if !self.is_writable() {
            return Ok(());
        }
        match &mut self.active {
            Active::WebSocket(ws) => {
                while let Some(packet) = self.outgoing.pop_front() {
                    bound.run(ws.feed(&packet)).await?;
                    self.stats.sent(packet.frame_len());
                }
                bound.run(ws.flush()).await
            }
            Active::Polling(polling) => {
                while let Some(packet) = self.outgoing.pop_front() {
                    // Its text form and the separator that follows it in a POST body.
                    let bytes = packet.text_len() + SEPARATOR.len_utf8();
                    bound.run(polling.send(packet)).await?;
                    self.stats.sent(bytes);
                }
                Ok(())
            }
        }
    }

    /// Closes the session from the client side, best effort: the queued packets and the
    /// close handshake get at most [`CLOSE_TIMEOUT`], then the connection is dropped.
    pub(crate) async fn close(mut self) {
        let graceful = async {
            let _ = self.flush().await;
            match &mut self.active {
                Active::Polling(polling) => polling.close().await,
                Active::WebSocket(ws) => ws.close().await,
            }
        };
        if timeout(CLOSE_TIMEOUT, graceful).await.is_err() {
            tracing::debug!("the server took no close within the bound, connection dropped");
        }
    }
}

impl Drop for EngineSession {
    fn drop(&mut self) {
        if let Upgrade::Probing(task) = &self.upgrade {
            task.abort();
        }
    }
}

/// `pingInterval + pingTimeout`: how long to wait for the next ping.
fn heartbeat_window(handshake: &Handshake) -> Duration {
    handshake.ping_interval + handshake.ping_timeout
}

enum Received {
    Packet(EnginePacket),
    Payload(Polled),
    Paused,
    Closed(DisconnectReason, Option<TransportError>),
}

async fn receive(active: &mut Active) -> Received {
    match active {
        Active::Polling(polling) => match polling.recv().await {
            PollInbound::Payload(polled) => Received::Payload(polled),
            PollInbound::Paused => Received::Paused,
            PollInbound::Failed(error) => Received::Closed(error.disconnect_reason(), Some(error)),
        },
        Active::WebSocket(ws) => match ws.recv().await {
            WsInbound::Packet(packet) => Received::Packet(packet),
            WsInbound::Closed => Received::Closed(DisconnectReason::TransportClose, None),
            WsInbound::Invalid(error) => Received::Closed(error.disconnect_reason(), Some(error)),
        },
    }
}

/// Moves a fully paused upgrade to `Ready`; true when it did.
fn upgrade_ready(upgrade: &mut Upgrade) -> bool {
    let paused = matches!(
        upgrade,
        Upgrade::Pausing {
            get_paused: true,
            drained_rx: None,
            ..
        }
    );
    if paused {
        if let Upgrade::Pausing { ws, .. } = std::mem::replace(upgrade, Upgrade::Idle) {
            *upgrade = Upgrade::Ready(ws);
        }
    }
    paused
}

enum UpgradeProgress {
    Probed(Result<WebSocket, TransportError>),
    Drained,
}

/// Resolves with the next step of an upgrade under way; pending when there is none.
async fn upgrade_progress(upgrade: &mut Upgrade) -> UpgradeProgress {
    match upgrade {
        Upgrade::Probing(task) => UpgradeProgress::Probed(match task.await {
            Ok(result) => result,
            Err(join_error) => Err(TransportError::WebSocket(join_error.to_string())),
        }),
        Upgrade::Pausing {
            drained_rx: Some(drained_rx),
            ..
        } => {
            let _ = drained_rx.await;
            UpgradeProgress::Drained
        }
        _ => std::future::pending().await,
    }
}

/// Opens a WebSocket for `sid` and checks it with `2probe`/`3probe`.
async fn probe(endpoint: &Endpoint, sid: &str) -> Result<WebSocket, TransportError> {
    let mut ws = WebSocket::connect(endpoint, Some(sid)).await?;
    ws.feed(&EnginePacket::PingProbe).await?;
    ws.flush().await?;
    match ws.recv().await {
        WsInbound::Packet(EnginePacket::PongProbe) => Ok(ws),
        WsInbound::Packet(other) => Err(TransportError::WebSocket(server_text(format!(
            "probe answered with {other:?}"
        )))),
        WsInbound::Closed => Err(TransportError::WebSocket("probe closed".into())),
        WsInbound::Invalid(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_millis(50);

    #[test]
    fn a_write_gives_up_after_the_stall_bound_when_the_heartbeat_is_further() {
        let now = Instant::now();
        let bound = WriteBound {
            heartbeat: now + Duration::from_secs(60),
            stall: STALL,
        };
        let (deadline, failed) = bound.expiry(now);
        assert_eq!(deadline, now + STALL);
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
        assert!(
            matches!(failed.error, Some(TransportError::WriteStalled { after }) if after == STALL),
            "{failed:?}"
        );
    }

    #[test]
    fn a_write_never_waits_past_the_heartbeat_deadline() {
        let now = Instant::now();
        let bound = WriteBound {
            heartbeat: now + Duration::from_millis(10),
            stall: Duration::from_secs(20),
        };
        let (deadline, failed) = bound.expiry(now);
        assert_eq!(deadline, now + Duration::from_millis(10));
        assert_eq!(failed.reason, DisconnectReason::PingTimeout);
        assert!(failed.error.is_none(), "{failed:?}");
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_ends_with_write_stalled() {
        let bound = WriteBound {
            heartbeat: Instant::now() + Duration::from_secs(3600),
            stall: STALL,
        };
        let stuck = std::future::pending::<Result<(), TransportError>>();
        let failed = bound.run(stuck).await.expect_err("a stuck write gives up");
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
    }

    #[tokio::test]
    async fn a_write_that_completes_at_once_succeeds_even_past_the_heartbeat() {
        // The deadline passed, but the write needs no wait: it is not failed for it.
        let bound = WriteBound {
            heartbeat: Instant::now(),
            stall: STALL,
        };
        let done = bound.run(async { Ok::<_, TransportError>(7) }).await;
        assert_eq!(done.expect("written"), 7);
    }

    #[tokio::test]
    async fn a_failed_write_keeps_its_own_cause() {
        let bound = WriteBound {
            heartbeat: Instant::now() + Duration::from_secs(3600),
            stall: STALL,
        };
        let failed = bound
            .run(async { Err::<(), _>(TransportError::WriteBufferFull { limit: 1 }) })
            .await
            .expect_err("the write failed");
        assert_eq!(failed.reason, DisconnectReason::WriteStalled);
        assert!(matches!(
            failed.error,
            Some(TransportError::WriteBufferFull { limit: 1 })
        ));
    }
}
