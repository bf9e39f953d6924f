//! The pull stream of a socket's events.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::manager::command::{Charge, Delivery};
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
    rx: mpsc::Receiver<Delivery>,
}

impl EventStream {
    pub(crate) fn new(rx: mpsc::Receiver<Delivery>) -> Self {
        Self { rx }
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
            let Ok(queued) = self.rx.try_recv() else {
                break;
            };
            bytes = bytes.saturating_add(queued.charge.bytes());
            batch.push((*queued.event, HeldBytes(queued.charge)));
        }
        batch
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
    use crate::manager::command::QueuedBytes;

    #[tokio::test]
    async fn a_batch_stops_once_it_holds_the_byte_bound() {
        let queued = Arc::new(QueuedBytes::new(10));
        let (stream_tx, stream_rx) = mpsc::channel(16);
        for _ in 0..5 {
            let item = Delivery {
                seq: 0,
                event: Box::new(SocketEvent::Lagged(1)),
                charge: queued.charge(4),
            };
            stream_tx.send(item).await.expect("queued");
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
}
