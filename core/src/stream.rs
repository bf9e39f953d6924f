//! The pull stream of a socket's events.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::manager::command::Charge;
use crate::manager::delivery::{DeliveryRx, QueuedCount};
use crate::manager::event::SocketEvent;

/// The bytes of one event taken from an [`EventStream`] with
/// [`EventStream::next_batch_held`], still counted in its socket's bound
/// ([`ManagerOptions::max_incoming_queue_bytes`](crate::ManagerOptions::max_incoming_queue_bytes))
/// until dropped: a consumer that queues events further (a binding handing them to another
/// language) keeps the bound over its own queue this way.
#[derive(Debug, Default)]
pub struct HeldBytes(Charge);

impl HeldBytes {
    /// The bytes counted (the event's size on the wire, plus 40 per JSON value).
    pub fn bytes(&self) -> usize {
        self.0.bytes()
    }
}

/// How many events an [`EventStream`] has been given since it was made, taken or not;
/// from [`EventStream::queued_events`]. A consumer that counts what it took can tell
/// whether it has taken every event queued before a given moment: an event the connection
/// task queues before it announces a [`ManagerEvent`](crate::ManagerEvent) is counted by a
/// read made after that announcement was received.
#[derive(Debug, Clone)]
pub struct QueuedEvents(QueuedCount);

impl QueuedEvents {
    /// The events queued so far (missed events are not counted; a `Lagged` event is).
    pub fn total(&self) -> u64 {
        self.0.get()
    }
}

/// Everything a socket observes, in order; see [`Socket::events`](crate::Socket::events).
///
/// Implements [`futures_util::Stream`]; or call [`EventStream::next`].
///
/// Its queue is filled by the connection task itself; each queued event's bytes count in
/// the socket's bound
/// ([`ManagerOptions::max_incoming_queue_bytes`](crate::ManagerOptions::max_incoming_queue_bytes))
/// until taken.
#[derive(Debug)]
pub struct EventStream {
    rx: DeliveryRx,
}

impl EventStream {
    pub(crate) fn new(rx: DeliveryRx) -> Self {
        Self { rx }
    }

    /// The count of the events queued for this stream, readable from elsewhere while the
    /// stream waits (see [`QueuedEvents`]).
    pub fn queued_events(&self) -> QueuedEvents {
        QueuedEvents(self.rx.queued_count())
    }

    /// The next event; `None` once the manager is closed.
    pub async fn next(&mut self) -> Option<SocketEvent> {
        self.rx.recv().await.map(|queued| *queued.event)
    }

    /// Waits for one event, then takes up to `max` events already queued (at least one),
    /// stopping early once the batch holds
    /// [`ManagerOptions::max_incoming_queue_bytes`](crate::ManagerOptions::max_incoming_queue_bytes)
    /// (size on the wire). Returns an empty vector once the manager is closed.
    pub async fn next_batch(&mut self, max: usize) -> Vec<SocketEvent> {
        let batch = self.next_batch_held(max).await;
        batch.into_iter().map(|(event, _)| event).collect()
    }

    /// [`EventStream::next_batch`], each event with its bytes still counted in the
    /// socket's bound until its [`HeldBytes`] is dropped.
    pub async fn next_batch_held(&mut self, max: usize) -> Vec<(SocketEvent, HeldBytes)> {
        let Some(first) = self.rx.recv().await else {
            return Vec::new();
        };
        let bound = first.charge.bound();
        let mut bytes = first.charge.bytes();
        let mut batch = vec![(*first.event, HeldBytes(first.charge))];
        while batch.len() < max && bound.is_none_or(|bound| bytes < bound) {
            let Some(queued) = self.rx.try_recv() else {
                break;
            };
            bytes = bytes.saturating_add(queued.charge.bytes());
            batch.push((*queued.event, HeldBytes(queued.charge)));
        }
        batch
    }

    /// [`EventStream::next_batch_held`] without waiting, for a consumer woken by a callback
    /// of its own (a binding's descriptor) rather than a task: `Pending` when nothing is
    /// queued, an empty batch once the manager is closed. Whatever it returns, `cx`'s
    /// waker is woken when there is more to take: at once when the batch stopped at `max`
    /// or the byte bound, else by the next event or the end.
    pub fn poll_next_batch_held(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<Vec<(SocketEvent, HeldBytes)>> {
        let batch = std::task::ready!(self.rx.poll_recv_batch(cx, max));
        Poll::Ready(
            batch
                .into_iter()
                .map(|queued| (*queued.event, HeldBytes(queued.charge)))
                .collect(),
        )
    }
}

impl futures_util::Stream for EventStream {
    type Item = SocketEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        self.rx
            .poll_recv(cx)
            .map(|queued| queued.map(|queued| *queued.event))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::manager::command::{Delivery, QueuedBytes};
    use crate::manager::delivery::channel;

    #[tokio::test]
    async fn a_batch_stops_once_it_holds_the_byte_bound() {
        let queued = Arc::new(QueuedBytes::new(10));
        let (stream_tx, stream_rx) = channel(16);
        for _ in 0..5 {
            let item = Delivery {
                seq: 0,
                event: Box::new(SocketEvent::Lagged(1)),
                charge: queued.charge(4),
            };
            stream_tx.try_send(item).expect("queued");
        }
        assert_eq!(queued.bytes(), 20);
        let mut stream = EventStream::new(stream_rx);
        assert_eq!(stream.next_batch(100).await.len(), 3, "4 + 4 + 4 >= 10");
        assert_eq!(queued.bytes(), 8, "taken events no longer count");
        let held = stream.next_batch_held(100).await;
        assert_eq!(held.len(), 2);
        assert_eq!(held[0].1.bytes(), 4);
        assert_eq!(queued.bytes(), 8, "held bytes still count");
        drop(held);
        assert_eq!(queued.bytes(), 0);
        drop(stream_tx);
        assert!(stream.next_batch(100).await.is_empty());
    }

    #[tokio::test]
    async fn the_queued_count_counts_every_event_queued_taken_or_not_and_no_refused_one() {
        let queued = Arc::new(QueuedBytes::new(usize::MAX));
        let (stream_tx, stream_rx) = channel(2);
        let mut stream = EventStream::new(stream_rx);
        let count = stream.queued_events();
        assert_eq!(count.total(), 0);
        stream_tx.try_send(lag(&queued)).expect("queued");
        stream_tx.try_send(lag(&queued)).expect("queued");
        assert!(stream_tx.try_send(lag(&queued)).is_err(), "full");
        assert_eq!(count.total(), 2);
        assert_eq!(stream.next_batch(8).await.len(), 2);
        stream_tx.try_send(lag(&queued)).expect("queued");
        assert_eq!(count.total(), 3, "taken events stay counted");
    }

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn lag(queued: &Arc<QueuedBytes>) -> Delivery {
        Delivery {
            seq: 0,
            event: Box::new(SocketEvent::Lagged(1)),
            charge: queued.charge(0),
        }
    }

    #[test]
    fn a_batch_taken_without_waiting_leaves_its_waker_to_the_next_event_or_the_end() {
        let queued = Arc::new(QueuedBytes::new(usize::MAX));
        let (stream_tx, stream_rx) = channel(16);
        let mut stream = EventStream::new(stream_rx);
        let wakes = Arc::new(Wakes::default());
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let woken = || wakes.0.load(std::sync::atomic::Ordering::SeqCst);

        assert!(stream.poll_next_batch_held(&mut cx, 8).is_pending());
        stream_tx.try_send(lag(&queued)).expect("queued");
        assert_eq!(woken(), 1, "the first event wakes the waiting consumer");

        for _ in 0..3 {
            stream_tx.try_send(lag(&queued)).expect("queued");
        }
        let Poll::Ready(batch) = stream.poll_next_batch_held(&mut cx, 2) else {
            panic!("events are queued");
        };
        assert_eq!(
            (batch.len(), woken()),
            (2, 2),
            "stopped at max: woken at once"
        );
        let Poll::Ready(batch) = stream.poll_next_batch_held(&mut cx, 8) else {
            panic!("events are queued");
        };
        assert_eq!(
            (batch.len(), woken()),
            (2, 2),
            "emptied: waiting for the next"
        );
        stream_tx.try_send(lag(&queued)).expect("queued");
        assert_eq!(woken(), 3, "the next event wakes it");

        assert!(matches!(stream.poll_next_batch_held(&mut cx, 8), Poll::Ready(b) if b.len() == 1));
        drop(stream_tx);
        assert_eq!(woken(), 4, "the end wakes it");
        assert!(matches!(stream.poll_next_batch_held(&mut cx, 8), Poll::Ready(b) if b.is_empty()));
    }
}
