//! The namespace table: per-namespace phase, buffers and pending acks. Plain data, no I/O.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::command::{AckResult, Delivery, OutgoingEmit, SocketLink};
use crate::error::{AckError, ConnectError};
use crate::event::SocketEvent;
use crate::state::SocketState;

/// Where a namespace stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No CONNECT sent (engine down, or not wanted).
    Idle,
    /// CONNECT sent, reply pending.
    Connecting,
    /// Connected with this socket id.
    Connected(Arc<str>),
}

/// One namespace of the manager.
#[derive(Debug)]
pub(crate) struct Namespace {
    pub(crate) name: Arc<str>,
    pub(crate) phase: Phase,
    /// Wants to be connected: reconnects with the engine.
    pub(crate) active: bool,
    pub(crate) auth: Option<crate::value::Value>,
    pub(crate) link: Option<SocketLink>,
    /// `connect()` calls waiting for the CONNECT reply.
    pub(crate) waiters: Vec<oneshot::Sender<Result<(), ConnectError>>>,
    /// When the pending CONNECT times out.
    pub(crate) connect_deadline: Option<Instant>,
    /// Emits waiting for the namespace to be connected, in order.
    pub(crate) outbox: VecDeque<OutgoingEmit>,
    /// Events received before the CONNECT reply, delivered right after it.
    pub(crate) received: Vec<SocketEvent>,
    /// Acks of sent packets, by id.
    pub(crate) sent_acks: HashMap<u64, oneshot::Sender<AckResult>>,
    /// Events dropped since the consumer's queue was last writable.
    pub(crate) lagged: u64,
}

impl Namespace {
    fn new(name: Arc<str>) -> Self {
        Self {
            name,
            phase: Phase::Idle,
            active: false,
            auth: None,
            link: None,
            waiters: Vec::new(),
            connect_deadline: None,
            outbox: VecDeque::new(),
            received: Vec::new(),
            sent_acks: HashMap::new(),
            lagged: 0,
        }
    }

    /// Whether the namespace is connected.
    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected(_))
    }

    /// Publishes `state` to the socket's watchers.
    pub(crate) fn set_state(&self, state: SocketState) {
        if let Some(link) = &self.link {
            link.state_tx.send_replace(state);
        }
    }

    /// Hands `event` to the socket's dispatcher without waiting. When its queue is full the
    /// event is dropped and counted; the count is delivered as [`SocketEvent::Lagged`] first
    /// once there is room again.
    pub(crate) fn deliver(&mut self, event: SocketEvent) {
        let Some(link) = &self.link else { return };
        let seq = |link: &SocketLink| link.produced.fetch_add(1, Ordering::AcqRel);
        if self.lagged > 0 {
            let lagged = Delivery {
                seq: seq(link),
                event: SocketEvent::Lagged(self.lagged),
            };
            if link.event_tx.try_send(lagged).is_err() {
                self.lagged += 1;
                return;
            }
            self.lagged = 0;
        }
        let delivery = Delivery {
            seq: seq(link),
            event,
        };
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(_)) =
            link.event_tx.try_send(delivery)
        {
            self.lagged += 1;
            tracing::warn!(namespace = %self.name, "event queue full, event dropped");
        }
    }

    /// Answers every `connect()` waiting on this namespace.
    pub(crate) fn answer_waiters(&mut self, result: &Result<(), ConnectError>) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }

    /// Fails the acks of packets already sent: their fate is unknown.
    pub(crate) fn fail_sent_acks(&mut self, error: &AckError) {
        for (_, ack_tx) in self.sent_acks.drain() {
            let _ = ack_tx.send(Err(error.clone()));
        }
    }

    /// Fails the acks of buffered packets and drops the buffer.
    pub(crate) fn fail_outbox(&mut self, error: &AckError) {
        for emit in self.outbox.drain(..) {
            if let Some((_, ack_tx)) = emit.ack {
                let _ = ack_tx.send(Err(error.clone()));
            }
        }
    }
}

/// All namespaces of a manager.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    table: HashMap<Arc<str>, Namespace>,
}

impl Namespaces {
    /// The namespace named `name`, created idle if new.
    pub(crate) fn entry(&mut self, name: &Arc<str>) -> &mut Namespace {
        self.table
            .entry(name.clone())
            .or_insert_with(|| Namespace::new(name.clone()))
    }

    /// The namespace named `name`, if known.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.table.get_mut(name)
    }

    /// Every namespace.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Namespace> {
        self.table.values_mut()
    }

    /// Whether any namespace wants to be connected.
    pub(crate) fn any_active(&self) -> bool {
        self.table.values().any(|ns| ns.active)
    }

    /// The earliest pending CONNECT deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.table
            .values()
            .filter_map(|ns| ns.connect_deadline)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DisconnectReason;
    use tokio::sync::{mpsc, watch};

    fn linked(ns: &mut Namespace, capacity: usize) -> mpsc::Receiver<Delivery> {
        let (event_tx, event_rx) = mpsc::channel(capacity);
        let (state_tx, _) = watch::channel(SocketState::Idle);
        ns.link = Some(SocketLink {
            event_tx,
            produced: Default::default(),
            state_tx: Arc::new(state_tx),
        });
        event_rx
    }

    #[test]
    fn entry_creates_an_idle_inactive_namespace_once() {
        let mut namespaces = Namespaces::default();
        let name: Arc<str> = "/admin".into();
        namespaces.entry(&name).active = true;
        assert!(namespaces.entry(&name).active);
        assert_eq!(namespaces.entry(&name).phase, Phase::Idle);
        assert!(namespaces.any_active());
    }

    #[test]
    fn full_event_queue_drops_and_then_reports_lag() {
        let mut ns = Namespace::new("/".into());
        let mut event_rx = linked(&mut ns, 1);
        ns.deliver(SocketEvent::Disconnect(DisconnectReason::PingTimeout));
        ns.deliver(SocketEvent::Disconnect(DisconnectReason::TransportClose));
        ns.deliver(SocketEvent::Disconnect(DisconnectReason::TransportError));
        assert_eq!(ns.lagged, 2);
        let first = event_rx.try_recv().expect("first event");
        assert!(matches!(
            first.event,
            SocketEvent::Disconnect(DisconnectReason::PingTimeout)
        ));
        ns.deliver(SocketEvent::Disconnect(DisconnectReason::ParseError));
        let lag = event_rx.try_recv().expect("lag report");
        assert!(matches!(lag.event, SocketEvent::Lagged(2)));
        assert_eq!(lag.seq, 3, "dropped events are numbered too");
        assert_eq!(
            ns.lagged, 1,
            "the event after the lag report found the queue full again"
        );
    }

    #[test]
    fn failing_sent_acks_answers_each_waiter_once() {
        let mut ns = Namespace::new("/".into());
        let (ack_tx, mut ack_rx) = oneshot::channel();
        ns.sent_acks.insert(3, ack_tx);
        ns.fail_sent_acks(&AckError::Disconnected);
        assert!(matches!(ack_rx.try_recv(), Ok(Err(AckError::Disconnected))));
        assert!(ns.sent_acks.is_empty());
    }

    #[test]
    fn next_deadline_is_the_earliest_pending_connect() {
        let mut namespaces = Namespaces::default();
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
}
