//! The pull stream of a socket's events.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::event::SocketEvent;

/// Everything a socket observes, in order; see [`Socket::events`](crate::Socket::events).
///
/// Implements [`futures_util::Stream`]; or call [`EventStream::next`].
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<SocketEvent>,
}

impl EventStream {
    pub(crate) fn new(rx: mpsc::Receiver<SocketEvent>) -> Self {
        Self { rx }
    }

    /// The next event; `None` once the manager is closed.
    pub async fn next(&mut self) -> Option<SocketEvent> {
        self.rx.recv().await
    }

    /// Waits for one event, then takes up to `max` events already queued (at least one).
    /// Returns an empty vector once the manager is closed.
    pub async fn next_batch(&mut self, max: usize) -> Vec<SocketEvent> {
        let mut batch = Vec::new();
        self.rx.recv_many(&mut batch, max.max(1)).await;
        batch
    }
}

impl futures_util::Stream for EventStream {
    type Item = SocketEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        self.rx.poll_recv(cx)
    }
}
