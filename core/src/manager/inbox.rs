//! A socket's incoming side as the connection task sees it: the socket's consumers (fed
//! by `manager::delivery`), its published state, and the events kept before the CONNECT
//! reply. Plain data, no I/O.

use std::sync::Arc;

use super::command::{QueuedBytes, SocketLink};
use super::delivery::Outcome;
use super::event::SocketEvent;
use crate::state::SocketState;

/// Bounds of the events a namespace keeps before its CONNECT reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EarlyLimits {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
}

/// What the connection task holds of one socket's incoming side.
#[derive(Debug)]
pub(crate) struct Inbox {
    /// The namespace, for the logs.
    name: Arc<str>,
    /// How to reach the socket; none until it connects, and after the manager closes.
    link: Option<SocketLink>,
    /// Events received before the CONNECT reply, with their size on the wire, delivered
    /// right after it (within [`EarlyLimits`]).
    received: Vec<(SocketEvent, usize)>,
    /// Bytes in `received`.
    received_bytes: usize,
    /// Events received before a CONNECT reply and dropped (over the bounds, or the reply
    /// never came); reported as [`SocketEvent::Lagged`] when the namespace connects.
    received_dropped: u64,
}

impl Inbox {
    /// The side of a socket not linked yet.
    pub(crate) fn new(name: Arc<str>) -> Self {
        Self {
            name,
            link: None,
            received: Vec::new(),
            received_bytes: 0,
            received_dropped: 0,
        }
    }

    /// Reaches the socket through `link` from now on (none: no longer).
    pub(crate) fn set_link(&mut self, link: Option<SocketLink>) {
        self.link = link;
    }

    /// The socket's consumers and the account of their queued bytes, once linked.
    pub(crate) fn consumers(&self) -> Option<(&super::delivery::Subscribers, &Arc<QueuedBytes>)> {
        let link = self.link.as_ref()?;
        Some((&link.subscribers, &link.queued))
    }

    /// The manager closed: the socket's consumers end (after what is queued) and the
    /// socket is no longer reached.
    pub(crate) fn close(&mut self) {
        if let Some(link) = self.link.take() {
            link.subscribers.close();
        }
    }

    /// Publishes `state` to the socket's watchers.
    pub(crate) fn set_state(&self, state: SocketState) {
        if let Some(link) = &self.link {
            link.state_tx.send_replace(state);
        }
    }

    /// Hands a lifecycle event (connect, disconnect, error: a few bytes) to the socket's
    /// consumers; see [`Inbox::deliver_sized`].
    pub(crate) fn deliver(&mut self, event: SocketEvent) {
        self.deliver_sized(event, 0);
    }

    /// Hands `event`, of `bytes` on the wire, to each of the socket's consumers without
    /// waiting (see `manager::delivery`): the connection stops reading while a queue is
    /// full, in count or in bytes (up to a second, see the actor); an event that still does
    /// not fit is dropped and counted, and reported as [`SocketEvent::Lagged`] once there
    /// is room again. Events of no bytes (lifecycle) pass a queue full only in bytes.
    pub(crate) fn deliver_sized(&mut self, event: SocketEvent, bytes: usize) {
        let Some(link) = &self.link else { return };
        match link.subscribers.deliver(event, bytes, &link.queued) {
            Outcome::Delivered => {}
            Outcome::DroppedForBytes => {
                tracing::warn!(namespace = %self.name, queued = link.queued.bytes(), "event queue full of bytes, event dropped");
            }
            Outcome::DroppedFull(queues) => {
                tracing::warn!(namespace = %self.name, queues, "event queue full, event dropped");
            }
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
        let dropped = std::mem::take(&mut self.received_dropped);
        if let Some(link) = &self.link {
            link.subscribers.add_lagged(dropped);
        }
    }

    /// Drops the events kept for a CONNECT reply that will not come in time (timeout, lost
    /// connection); they count as dropped.
    pub(crate) fn drop_early(&mut self) {
        self.received_dropped += self.received.len() as u64;
        self.received = Vec::new();
        self.received_bytes = 0;
    }
}

impl Drop for Inbox {
    /// The connection task ends however it ends (its runtime shut down): the socket's
    /// consumers end too.
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
/// Helpers of the inbox's tests and of the namespaces' tests.
pub(crate) mod test_support {
    use tokio::sync::watch;

    use super::*;
    use crate::manager::delivery::{channel, DeliveryRx, Subscribers};

    /// Links `inbox` to a socket whose queue holds `capacity` events and `max_bytes`; its
    /// receiving end.
    pub(crate) fn linked_with_bytes(
        ns: &mut Inbox,
        capacity: usize,
        max_bytes: usize,
    ) -> DeliveryRx {
        let (event_tx, event_rx) = channel(capacity);
        let (state_tx, _) = watch::channel(SocketState::Idle);
        let subscribers = Arc::new(Subscribers::default());
        subscribers.subscribe(event_tx);
        ns.link = Some(SocketLink {
            subscribers,
            buffer: Default::default(),
            state_tx: Arc::new(state_tx),
            queued: Arc::new(QueuedBytes::new(max_bytes)),
        });
        event_rx
    }

    /// A `chat` event carrying `n`.
    pub(crate) fn chat(n: i64) -> SocketEvent {
        SocketEvent::Event(crate::Event::from_values(
            "/".into(),
            "chat".into(),
            vec![crate::Value::from(n)],
        ))
    }

    /// The number a [`chat`] event carries.
    pub(crate) fn chat_number(event: &SocketEvent) -> Option<i64> {
        match event {
            SocketEvent::Event(event) => event.args().first().and_then(crate::Value::as_i64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{chat, chat_number, linked_with_bytes};
    use super::*;
    use crate::disconnect::DisconnectReason;
    use crate::manager::delivery::DeliveryRx;

    fn inbox() -> Inbox {
        Inbox::new("/".into())
    }

    fn linked(ns: &mut Inbox, capacity: usize) -> DeliveryRx {
        linked_with_bytes(ns, capacity, usize::MAX)
    }

    #[test]
    fn an_event_larger_than_the_byte_bound_passes_an_empty_queue() {
        let mut ns = inbox();
        let mut event_rx = linked_with_bytes(&mut ns, 8, 1024);
        ns.deliver_sized(chat(1), 1 << 20);
        assert!(event_rx.try_recv().is_some());
    }

    fn early_limits(max_events: usize, max_bytes: usize) -> EarlyLimits {
        EarlyLimits {
            max_events,
            max_bytes,
        }
    }

    #[test]
    fn events_before_the_connect_reply_are_kept_within_both_bounds() {
        let mut ns = inbox();
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
        let seen: Vec<SocketEvent> = std::iter::from_fn(|| event_rx.try_recv())
            .map(|d| *d.event)
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
        let mut ns = inbox();
        ns.keep_early(chat(1), 10 << 20, early_limits(4, 1024));
        assert_eq!(ns.received.len(), 1);
        ns.keep_early(chat(2), 1, early_limits(4, 1024));
        assert_eq!(ns.received_dropped, 1);
    }

    #[test]
    fn events_kept_for_a_reply_that_timed_out_are_dropped_and_counted() {
        let mut ns = inbox();
        for n in 0..3 {
            ns.keep_early(chat(n), 10, early_limits(10, 1000));
        }
        ns.drop_early();
        assert!(ns.received.is_empty());
        assert_eq!(ns.received_bytes, 0);
        assert_eq!(ns.received_dropped, 3);
    }

    #[tokio::test]
    async fn closing_ends_the_consumers_and_unlinks_the_socket() {
        let mut ns = inbox();
        let mut event_rx = linked(&mut ns, 4);
        ns.deliver(SocketEvent::Disconnect(
            DisconnectReason::IoClientDisconnect,
        ));
        ns.close();
        assert!(ns.consumers().is_none());
        assert!(event_rx.recv().await.is_some(), "what was queued");
        assert!(event_rx.recv().await.is_none(), "then the end");
    }

    #[tokio::test]
    async fn a_dropped_inbox_ends_its_consumers() {
        let mut ns = inbox();
        let mut event_rx = linked(&mut ns, 4);
        drop(ns);
        assert!(event_rx.recv().await.is_none());
    }
}
