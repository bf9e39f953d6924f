//! The namespace table: per-namespace phase and buffers. Plain data, no I/O.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::command::{Charge, Delivery, OutgoingEmit, QueuedBytes, SocketLink};
use crate::error::ConnectError;
use crate::event::SocketEvent;
use crate::options::BufferPolicy;
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
    /// Events received before the CONNECT reply, with their size on the wire, delivered
    /// right after it (within [`EarlyLimits`]).
    pub(crate) received: Vec<(SocketEvent, usize)>,
    /// Bytes in `received`.
    pub(crate) received_bytes: usize,
    /// Events received before a CONNECT reply and dropped (over the bounds, or the reply
    /// never came); reported as [`SocketEvent::Lagged`] when the namespace connects.
    pub(crate) received_dropped: u64,
    /// Events dropped since the consumer's queue was last writable.
    pub(crate) lagged: u64,
    /// Bytes in `outbox`.
    pub(crate) buffered_bytes: usize,
    /// Connection state recovery: the private session id the server gave.
    pub(crate) pid: Option<String>,
    /// Connection state recovery: the offset of the last event received.
    pub(crate) offset: Option<String>,
    /// The `pid` sent in the pending CONNECT, to tell whether the session was recovered.
    pub(crate) sent_pid: Option<String>,
    /// Rooms to re-join after a reconnection that was not recovered, in join order.
    pub(crate) rooms: Vec<String>,
    /// When to retry CONNECT after a server-side disconnect (when that is enabled).
    pub(crate) retry_at: Option<Instant>,
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
            received_bytes: 0,
            received_dropped: 0,
            lagged: 0,
            buffered_bytes: 0,
            pid: None,
            offset: None,
            sent_pid: None,
            rooms: Vec::new(),
            retry_at: None,
        }
    }

    /// The CONNECT payload: the auth object, preceded by `pid` and `offset` when a
    /// session can be recovered (JS: `Object.assign({pid, offset}, auth)`).
    pub(crate) fn connect_payload(&self) -> Option<crate::value::Value> {
        use crate::value::{Map, Value};
        let Some(pid) = &self.pid else {
            return self.auth.clone();
        };
        let mut payload = Map::new();
        payload.insert("pid".into(), Value::String(pid.clone()));
        if let Some(offset) = &self.offset {
            payload.insert("offset".into(), Value::String(offset.clone()));
        }
        if let Some(Value::Object(auth)) = &self.auth {
            payload.extend(auth.clone());
        }
        Some(Value::Object(payload))
    }

    /// Takes the connection state recovery offset off an event's arguments: with a `pid`,
    /// the server appends it as a last string argument to events that ask for no ack.
    pub(crate) fn take_offset(&mut self, ack_id: Option<u64>, args: &mut Vec<crate::value::Value>) {
        if self.pid.is_none() || ack_id.is_some() {
            return;
        }
        if let Some(crate::value::Value::String(_)) = args.last() {
            if let Some(crate::value::Value::String(offset)) = args.pop() {
                self.offset = Some(offset);
            }
        }
    }

    /// Adds `emit` to the offline buffer within `limits`. With [`BufferPolicy::Reject`], a
    /// full buffer refuses an emit whose emitter waits for admission and takes the others
    /// beyond the bound (they were made while the emitter believed the namespace
    /// connected); with [`BufferPolicy::DropOldest`] the oldest emits make room.
    pub(crate) fn buffer(&mut self, mut emit: OutgoingEmit, limits: BufferLimits) -> Buffered {
        let size = emit.size();
        let mut dropped = Vec::new();
        while self.outbox.len() >= limits.max_emits || self.buffered_bytes + size > limits.max_bytes
        {
            match limits.policy {
                BufferPolicy::DropOldest => match self.outbox.pop_front() {
                    Some(oldest) => {
                        self.buffered_bytes -= oldest.size();
                        dropped.push(oldest);
                    }
                    None => break,
                },
                BufferPolicy::Reject if emit.admission.is_some() => {
                    self.publish_buffer();
                    return Buffered::Refused(emit);
                }
                BufferPolicy::Reject => break,
            }
        }
        let admission = emit.admission.take();
        self.buffered_bytes += size;
        self.outbox.push_back(emit);
        self.publish_buffer();
        if let Some(admission) = admission {
            let _ = admission.send(Ok(()));
        }
        Buffered::Taken { dropped }
    }

    /// Empties the offline buffer, returning what it held in order.
    pub(crate) fn take_outbox(&mut self) -> VecDeque<OutgoingEmit> {
        self.buffered_bytes = 0;
        let outbox = std::mem::take(&mut self.outbox);
        self.publish_buffer();
        outbox
    }

    /// Removes the buffered emit asking for ack `id`, if any.
    pub(crate) fn unbuffer_ack(&mut self, id: u64) {
        let before = self.outbox.len();
        self.outbox.retain(|emit| emit.ack_id != Some(id));
        if self.outbox.len() != before {
            self.buffered_bytes = self.outbox.iter().map(OutgoingEmit::size).sum();
            self.publish_buffer();
        }
    }

    fn publish_buffer(&self) {
        if let Some(link) = &self.link {
            link.buffer
                .emits
                .store(self.outbox.len(), Ordering::Release);
            link.buffer
                .bytes
                .store(self.buffered_bytes, Ordering::Release);
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

    /// Hands a lifecycle event (connect, disconnect, error: a few bytes) to the socket's
    /// dispatcher; see [`Namespace::deliver_sized`].
    pub(crate) fn deliver(&mut self, event: SocketEvent) {
        self.deliver_sized(event, 0);
    }

    /// Hands `event`, of `bytes` on the wire, to the socket's dispatcher without waiting.
    /// The connection stops reading while a queue is full, in count or in bytes (up to a
    /// second, see the actor); when it is still full the event is dropped and counted; the
    /// count is delivered as [`SocketEvent::Lagged`] first once there is room again.
    /// Events of no bytes (lifecycle) pass a queue full only in bytes.
    pub(crate) fn deliver_sized(&mut self, event: SocketEvent, bytes: usize) {
        let Some(link) = &self.link else { return };
        let seq = |link: &SocketLink| link.produced.fetch_add(1, Ordering::SeqCst);
        let full_of_bytes = bytes > 0
            && !link.queued.has_room()
            && link
                .event_tx
                .get()
                .is_some_and(|event_tx| !event_tx.is_closed());
        if full_of_bytes && link.listened.load(Ordering::SeqCst) {
            // Dropped, numbered like any event; the lag report waits for room.
            seq(link);
            self.lagged += 1;
            tracing::warn!(namespace = %self.name, queued = link.queued.bytes(), "event queue full of bytes, event dropped");
            return;
        }
        if self.lagged > 0 {
            // Only a dispatcher's full queue counts events as lagged: its queue is there.
            if let Some(event_tx) = link.event_tx.get() {
                let lagged = Delivery {
                    seq: seq(link),
                    event: SocketEvent::Lagged(self.lagged),
                    charge: Charge::default(),
                };
                if event_tx.try_send(lagged).is_err() {
                    self.lagged += 1;
                    return;
                }
            }
            self.lagged = 0;
        }
        let seq = seq(link);
        // Numbered first, then checked (see `Socket::listen`): without a listener or a
        // stream yet, no one can ever want this event. Once `listened` is set, so is the
        // dispatcher's queue.
        if !link.listened.load(Ordering::SeqCst) {
            return;
        }
        let Some(event_tx) = link.event_tx.get() else {
            return;
        };
        let delivery = Delivery {
            seq,
            event,
            charge: link.queued.charge(bytes),
        };
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(_)) = event_tx.try_send(delivery) {
            self.lagged += 1;
            tracing::warn!(namespace = %self.name, "event queue full, event dropped");
        }
    }

    /// Keeps an event that arrived before the CONNECT reply, within `limits`: past them
    /// (one event always fits) it is dropped and counted.
    pub(crate) fn keep_early(&mut self, event: SocketEvent, bytes: usize, limits: EarlyLimits) {
        let fits = self.received.is_empty()
            || (self.received.len() < limits.max_events
                && self.received_bytes.saturating_add(bytes) <= limits.max_bytes);
        if !fits {
            self.received_dropped += 1;
            tracing::warn!(namespace = %self.name, "event before the CONNECT reply dropped: too many kept");
            return;
        }
        self.received_bytes += bytes;
        self.received.push((event, bytes));
    }

    /// Delivers the events kept before the CONNECT reply; the number of those dropped
    /// comes as a [`SocketEvent::Lagged`] before the next event (the connect).
    pub(crate) fn deliver_early(&mut self) {
        for (event, bytes) in std::mem::take(&mut self.received) {
            self.deliver_sized(event, bytes);
        }
        self.received_bytes = 0;
        self.lagged += std::mem::take(&mut self.received_dropped);
    }

    /// Drops the events kept for a CONNECT reply that will not come in time (timeout, lost
    /// connection); they count as dropped.
    pub(crate) fn drop_early(&mut self) {
        self.received_dropped += self.received.len() as u64;
        self.received = Vec::new();
        self.received_bytes = 0;
    }

    /// Answers every `connect()` waiting on this namespace.
    pub(crate) fn answer_waiters(&mut self, result: &Result<(), ConnectError>) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

/// What [`Namespace::buffer`] did with an emit.
#[derive(Debug)]
pub(crate) enum Buffered {
    /// Buffered; these older emits were dropped to make room.
    Taken { dropped: Vec<OutgoingEmit> },
    /// Refused: the buffer is full.
    Refused(OutgoingEmit),
}

/// Bounds of the events a namespace keeps before its CONNECT reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EarlyLimits {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
}

/// Bounds of a namespace's offline buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferLimits {
    pub(crate) max_emits: usize,
    pub(crate) max_bytes: usize,
    pub(crate) policy: BufferPolicy,
}

/// All namespaces of a manager, in the order they were first used. A manager has a few,
/// so a scan (names compare by pointer first) beats hashing the name on every emit.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    table: Vec<Namespace>,
}

impl Namespaces {
    /// The namespace named `name`, created idle if new.
    pub(crate) fn entry(&mut self, name: &Arc<str>) -> &mut Namespace {
        let index = match self.table.iter().position(|ns| ns.name == *name) {
            Some(index) => index,
            None => {
                self.table.push(Namespace::new(name.clone()));
                self.table.len() - 1
            }
        };
        &mut self.table[index]
    }

    /// Whether every socket's event queue has room for what one packet from the server
    /// can produce (an event, and a `Lagged` report before it). A queue whose consumer is
    /// gone counts as having room: nothing will ever drain it.
    pub(crate) fn have_room(&self) -> bool {
        self.event_queues()
            .all(|(event_tx, queued)| has_room(event_tx, queued))
    }

    /// Resolves once every queue that [`Namespaces::have_room`] finds full has room again.
    pub(crate) fn room_freed(&self) -> impl Future<Output = ()> + Send + 'static {
        let full: Vec<(mpsc::Sender<Delivery>, Arc<QueuedBytes>)> = self
            .event_queues()
            .filter(|(event_tx, queued)| !has_room(event_tx, queued))
            .map(|(event_tx, queued)| (event_tx.clone(), queued.clone()))
            .collect();
        async move {
            for (event_tx, queued) in full {
                // The permits are dropped at once: this only waits for the room.
                if event_tx.reserve_many(EVENTS_PER_PACKET).await.is_ok() {
                    queued.room().await;
                }
            }
        }
    }

    /// Each socket's event queue and the account of its bytes.
    fn event_queues(&self) -> impl Iterator<Item = (&mpsc::Sender<Delivery>, &Arc<QueuedBytes>)> {
        self.table.iter().filter_map(|ns| {
            let link = ns.link.as_ref()?;
            Some((link.event_tx.get()?, &link.queued))
        })
    }

    /// The namespace named `name`, if known.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.table.iter_mut().find(|ns| &*ns.name == name)
    }

    /// Every namespace.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Namespace> {
        self.table.iter_mut()
    }

    /// Whether any namespace wants to be connected.
    pub(crate) fn any_active(&self) -> bool {
        self.table.iter().any(|ns| ns.active)
    }

    /// The earliest pending CONNECT deadline or retry.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.table
            .iter()
            .flat_map(|ns| [ns.connect_deadline, ns.retry_at])
            .flatten()
            .min()
    }
}

/// The most queue slots one packet from the server takes: an event, and a `Lagged` report
/// before it.
const EVENTS_PER_PACKET: usize = 2;

/// Whether a socket's queue can take what one packet produces (in count and in bytes), or
/// has no consumer left.
fn has_room(event_tx: &mpsc::Sender<Delivery>, queued: &QueuedBytes) -> bool {
    event_tx.is_closed() || (event_tx.capacity() >= EVENTS_PER_PACKET && queued.has_room())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disconnect::DisconnectReason;
    use tokio::sync::{mpsc, watch};

    fn linked(ns: &mut Namespace, capacity: usize) -> mpsc::Receiver<Delivery> {
        linked_with_bytes(ns, capacity, usize::MAX)
    }

    fn linked_with_bytes(
        ns: &mut Namespace,
        capacity: usize,
        max_bytes: usize,
    ) -> mpsc::Receiver<Delivery> {
        let (event_tx, event_rx) = mpsc::channel(capacity);
        let (state_tx, _) = watch::channel(SocketState::Idle);
        ns.link = Some(SocketLink {
            event_tx: Arc::new(event_tx.into()),
            produced: Default::default(),
            listened: Arc::new(true.into()),
            buffer: Default::default(),
            state_tx: Arc::new(state_tx),
            queued: Arc::new(QueuedBytes::new(max_bytes)),
        });
        event_rx
    }

    fn chat(n: i64) -> SocketEvent {
        SocketEvent::Event(crate::Event::new(
            "/".into(),
            "chat".into(),
            vec![crate::Value::from(n)],
            None,
        ))
    }

    fn chat_number(event: &SocketEvent) -> Option<i64> {
        match event {
            SocketEvent::Event(event) => event.args.first().and_then(crate::Value::as_i64),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_queue_full_of_bytes_drops_events_until_taken_then_reports_lag() {
        let mut ns = Namespace::new("/".into());
        let mut event_rx = linked_with_bytes(&mut ns, 1024, 4 << 20);
        let mut namespaces = Namespaces::default();
        // Two 4 MiB events: the first fills the bound, the second passes nothing.
        ns.deliver_sized(chat(1), 4 << 20);
        namespaces.table.push(ns);
        assert!(!namespaces.have_room(), "full in bytes, not in count");
        let freed = tokio::spawn(namespaces.room_freed());
        let ns = &mut namespaces.table[0];
        ns.deliver_sized(chat(2), 4 << 20);
        ns.deliver_sized(chat(3), 4 << 20);
        assert_eq!(ns.lagged, 2);
        let queued = ns.link.as_ref().expect("link").queued.clone();
        assert_eq!(queued.bytes(), 4 << 20);
        // A lifecycle event carries no bytes: it is not dropped for them.
        ns.deliver(SocketEvent::Disconnect(DisconnectReason::TransportClose));
        assert_eq!(ns.lagged, 0, "the lag report went first");
        let first = event_rx.try_recv().expect("first event");
        assert_eq!(chat_number(&first.event), Some(1));
        assert!(matches!(
            event_rx.try_recv().expect("lag").event,
            SocketEvent::Lagged(2)
        ));
        assert!(!freed.is_finished());
        drop(first);
        freed.await.expect("room freed once the event is taken");
        assert_eq!(queued.bytes(), 0);
        assert!(namespaces.have_room());
        namespaces.table[0].deliver_sized(chat(4), 4 << 20);
        assert!(matches!(
            event_rx.try_recv().expect("disconnect").event,
            SocketEvent::Disconnect(_)
        ));
        assert_eq!(
            chat_number(&event_rx.try_recv().expect("fourth").event),
            Some(4)
        );
    }

    #[test]
    fn an_event_larger_than_the_byte_bound_passes_an_empty_queue() {
        let mut ns = Namespace::new("/".into());
        let mut event_rx = linked_with_bytes(&mut ns, 8, 1024);
        ns.deliver_sized(chat(1), 1 << 20);
        assert_eq!(ns.lagged, 0);
        assert!(event_rx.try_recv().is_ok());
    }

    fn early_limits(max_events: usize, max_bytes: usize) -> EarlyLimits {
        EarlyLimits {
            max_events,
            max_bytes,
        }
    }

    #[test]
    fn events_before_the_connect_reply_are_kept_within_both_bounds() {
        let mut ns = Namespace::new("/".into());
        let mut event_rx = linked(&mut ns, 64);
        let limits = early_limits(3, 250);
        for n in 0..10 {
            ns.keep_early(chat(n), 100, limits);
        }
        assert_eq!(ns.received.len(), 2, "the byte bound: 2 x 100 <= 250");
        assert_eq!(ns.received_bytes, 200);
        assert_eq!(ns.received_dropped, 8);
        for n in 0..10 {
            ns.keep_early(chat(n), 1, limits);
        }
        assert_eq!(ns.received.len(), 3, "the count bound");
        assert_eq!(ns.received_dropped, 17);
        ns.deliver_early();
        ns.deliver(SocketEvent::Connect {
            sid: "s".into(),
            recovered: false,
        });
        let seen: Vec<SocketEvent> = std::iter::from_fn(|| event_rx.try_recv().ok())
            .map(|d| d.event)
            .collect();
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(chat_number(&seen[0]), Some(0));
        assert_eq!(chat_number(&seen[1]), Some(1));
        assert_eq!(chat_number(&seen[2]), Some(0));
        assert!(matches!(seen[3], SocketEvent::Lagged(17)), "{seen:?}");
        assert!(matches!(seen[4], SocketEvent::Connect { .. }));
        assert!(ns.received.is_empty());
        assert_eq!((ns.received_bytes, ns.received_dropped), (0, 0));
    }

    #[test]
    fn one_event_is_kept_before_the_connect_reply_whatever_its_size() {
        let mut ns = Namespace::new("/".into());
        ns.keep_early(chat(1), 10 << 20, early_limits(4, 1024));
        assert_eq!(ns.received.len(), 1);
        ns.keep_early(chat(2), 1, early_limits(4, 1024));
        assert_eq!(ns.received_dropped, 1);
    }

    #[test]
    fn events_kept_for_a_reply_that_timed_out_are_dropped_and_counted() {
        let mut ns = Namespace::new("/".into());
        for n in 0..3 {
            ns.keep_early(chat(n), 10, early_limits(10, 1000));
        }
        ns.drop_early();
        assert!(ns.received.is_empty());
        assert_eq!(ns.received_bytes, 0);
        assert_eq!(ns.received_dropped, 3);
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
    fn events_for_a_socket_nobody_listens_to_are_numbered_but_not_queued() {
        let mut ns = Namespace::new("/".into());
        let (state_tx, _) = watch::channel(SocketState::Idle);
        let link = SocketLink {
            event_tx: Arc::default(),
            produced: Default::default(),
            listened: Default::default(),
            buffer: Default::default(),
            state_tx: Arc::new(state_tx),
            queued: Arc::new(QueuedBytes::new(usize::MAX)),
        };
        ns.link = Some(link.clone());
        let mut namespaces = Namespaces::default();
        namespaces.table.push(ns);
        for _ in 0..3 {
            namespaces.table[0].deliver(SocketEvent::Disconnect(DisconnectReason::PingTimeout));
        }
        assert_eq!(link.produced.load(Ordering::SeqCst), 3);
        assert_eq!(namespaces.table[0].lagged, 0, "nothing was dropped");
        assert!(namespaces.have_room(), "reading never waits for a listener");
        // The dispatcher starts: its queue is set, then `listened`.
        let (event_tx, mut event_rx) = mpsc::channel(4);
        link.event_tx.set(event_tx).expect("set once");
        link.listened.store(true, Ordering::SeqCst);
        namespaces.table[0].deliver(SocketEvent::Disconnect(DisconnectReason::ParseError));
        let delivery = event_rx.try_recv().expect("queued once listened");
        assert_eq!(delivery.seq, 3);
    }

    fn emit(id: u64, bytes: usize) -> OutgoingEmit {
        OutgoingEmit {
            namespace: "/".into(),
            text: "x".repeat(bytes),
            attachments: Vec::new(),
            ack_id: Some(id),
            ack_waiter: None,
            volatile: false,
            admission: None,
        }
    }

    /// An emit whose emitter waits to learn whether it was taken.
    fn admitted(
        id: u64,
        bytes: usize,
    ) -> (
        OutgoingEmit,
        oneshot::Receiver<Result<(), crate::EmitError>>,
    ) {
        let (admission_tx, admission_rx) = oneshot::channel();
        (
            OutgoingEmit {
                admission: Some(admission_tx),
                ..emit(id, bytes)
            },
            admission_rx,
        )
    }

    fn limits(max_emits: usize, policy: BufferPolicy) -> BufferLimits {
        BufferLimits {
            max_emits,
            max_bytes: 100,
            policy,
        }
    }

    fn ids(ns: &Namespace) -> Vec<u64> {
        ns.outbox.iter().filter_map(|e| e.ack_id).collect()
    }

    #[test]
    fn full_buffer_refuses_an_emit_that_waits_for_admission() {
        let mut ns = Namespace::new("/".into());
        let (first, mut first_admission) = admitted(1, 10);
        assert!(matches!(
            ns.buffer(first, limits(2, BufferPolicy::Reject)),
            Buffered::Taken { .. }
        ));
        assert!(matches!(first_admission.try_recv(), Ok(Ok(()))));
        ns.buffer(emit(2, 10), limits(2, BufferPolicy::Reject));
        let (third, _) = admitted(3, 10);
        assert!(
            matches!(ns.buffer(third, limits(2, BufferPolicy::Reject)), Buffered::Refused(e) if e.ack_id == Some(3))
        );
        assert_eq!(ids(&ns), [1, 2]);
        assert_eq!(ns.buffered_bytes, 20);
    }

    #[test]
    fn full_buffer_takes_an_emit_made_while_believed_connected() {
        let mut ns = Namespace::new("/".into());
        ns.buffer(emit(1, 10), limits(1, BufferPolicy::Reject));
        assert!(matches!(
            ns.buffer(emit(2, 10), limits(1, BufferPolicy::Reject)),
            Buffered::Taken { .. }
        ));
        assert_eq!(ids(&ns), [1, 2]);
    }

    #[test]
    fn full_buffer_drops_the_oldest_with_drop_oldest() {
        let mut ns = Namespace::new("/".into());
        ns.buffer(emit(1, 10), limits(2, BufferPolicy::DropOldest));
        ns.buffer(emit(2, 10), limits(2, BufferPolicy::DropOldest));
        let Buffered::Taken { dropped } =
            ns.buffer(emit(3, 10), limits(2, BufferPolicy::DropOldest))
        else {
            panic!("taken");
        };
        assert_eq!(dropped[0].ack_id, Some(1));
        assert_eq!(ids(&ns), [2, 3]);
    }

    #[test]
    fn byte_bound_applies_too() {
        let mut ns = Namespace::new("/".into());
        ns.buffer(emit(1, 60), limits(10, BufferPolicy::Reject));
        let (second, _) = admitted(2, 60);
        assert!(matches!(
            ns.buffer(second, limits(10, BufferPolicy::Reject)),
            Buffered::Refused(_)
        ));
        assert_eq!(ns.buffered_bytes, 60);
    }

    #[test]
    fn connect_payload_puts_pid_and_offset_before_the_auth() {
        use crate::value::Value;
        let mut ns = Namespace::new("/".into());
        let mut auth = crate::value::Map::new();
        auth.insert("token".into(), Value::from("t"));
        ns.auth = Some(Value::Object(auth.clone()));
        assert_eq!(ns.connect_payload(), Some(Value::Object(auth)));
        ns.pid = Some("p".into());
        ns.offset = Some("o".into());
        let payload = ns.connect_payload().expect("payload");
        assert_eq!(payload.get("pid"), Some(&Value::from("p")));
        assert_eq!(payload.get("offset"), Some(&Value::from("o")));
        assert_eq!(payload.get("token"), Some(&Value::from("t")));
    }

    #[test]
    fn offset_is_taken_only_from_events_without_ack_once_a_pid_is_known() {
        use crate::value::Value;
        let mut ns = Namespace::new("/".into());
        let mut args = vec![Value::from(1), Value::from("off1")];
        ns.take_offset(None, &mut args);
        assert_eq!(args.len(), 2, "no pid: nothing is taken");
        ns.pid = Some("p".into());
        ns.take_offset(Some(4), &mut args);
        assert_eq!(args.len(), 2, "events asking for an ack carry no offset");
        ns.take_offset(None, &mut args);
        assert_eq!(args, [Value::from(1)]);
        assert_eq!(ns.offset.as_deref(), Some("off1"));
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
