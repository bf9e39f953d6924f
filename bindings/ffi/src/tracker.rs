//! What a manager releases when it closes: its sockets' core handles, the pull streams and
//! the delivery threads; what it keeps: its statistics; and the queues of its sockets'
//! events, which its manager events wait for.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crate::latch::Latch;
use crate::listener::Delivery;
use crate::queue::EventQueue;
use crate::stats::ConnectionStats;

/// A core socket handle that `close` takes away, so that nothing keeps its tasks alive.
pub(crate) type SocketCell = Mutex<Option<ferrio::Socket>>;

/// How long a manager event waits for one socket's events to be taken before a warning
/// says so.
const STALLED: Duration = Duration::from_secs(10);

/// Shared by a manager and everything made from it.
pub(crate) struct Tracker {
    /// Set by `close`, which wakes those waiting in `closed`.
    closed: Latch,
    sockets: Mutex<Vec<Arc<SocketCell>>>,
    deliveries: Mutex<Vec<Weak<Delivery>>>,
    /// The queues of its sockets' events, while they live.
    queues: Mutex<Vec<Weak<EventQueue>>>,
    /// The manager's statistics as its `close` left them.
    pub(crate) closed_stats: Mutex<Option<ConnectionStats>>,
}

impl Tracker {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Tracker {
            closed: Latch::default(),
            sockets: Mutex::default(),
            deliveries: Mutex::default(),
            queues: Mutex::default(),
            closed_stats: Mutex::default(),
        })
    }

    /// Resolves once the manager is closed.
    pub(crate) async fn closed(&self) {
        self.closed.until_set().await;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_set()
    }

    /// Tracks a socket handle; `None` in the cell once closed. Cells nobody else holds any
    /// more are forgotten here, so the list is bounded by the live handles.
    pub(crate) fn socket(&self, socket: ferrio::Socket) -> Arc<SocketCell> {
        let cell = Arc::new(Mutex::new((!self.is_closed()).then_some(socket)));
        let mut sockets = lock(&self.sockets);
        sockets.retain(|cell| Arc::strong_count(cell) > 1);
        sockets.push(cell.clone());
        cell
    }

    /// Tracks a delivery, for `close` to wait for (while it lives).
    pub(crate) fn delivery(&self, delivery: &Arc<Delivery>) {
        track_while_alive(&self.deliveries, delivery);
    }

    /// Tracks a queue of a socket's events, for [`Tracker::caught_up`] (while it lives).
    pub(crate) fn queue(&self, queue: &Arc<EventQueue>) {
        track_while_alive(&self.queues, queue);
    }

    /// Resolves once every live queue of the sockets' events has been handled up to what
    /// the core had queued in it when this was called (see [`EventQueue::caught_up`]). A
    /// queue waited for longer than [`STALLED`] is named in a warning, once per wait: its
    /// consumer may be a handler that waits for a manager event, or a stream neither pulled
    /// nor closed, which hold the manager's events back for good.
    pub(crate) async fn caught_up(&self) {
        self.caught_up_noting(STALLED, |namespace| {
            tracing::warn!(
                namespace,
                "a manager event has waited {}s for the socket events queued before it to \
                 be taken: a handler waiting for a manager event, or a socket event stream \
                 neither pulled nor closed, holds the manager's events back",
                STALLED.as_secs()
            );
        })
        .await;
    }

    /// [`Tracker::caught_up`], calling `stalled` with the namespace of each queue waited
    /// for longer than `after`.
    async fn caught_up_noting(&self, after: Duration, stalled: impl Fn(&str)) {
        let queues: Vec<Arc<EventQueue>> = lock(&self.queues)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for queue in queues {
            let waiting = queue.caught_up();
            let mut waiting = std::pin::pin!(waiting);
            if tokio::time::timeout(after, &mut waiting).await.is_err() {
                stalled(queue.namespace());
                waiting.await;
            }
        }
    }

    /// Marks everything closed and drops the socket handles; returns the delivery threads
    /// still to be waited for.
    pub(crate) fn close(&self) -> Vec<Arc<Delivery>> {
        self.closed.set();
        for cell in lock(&self.sockets).drain(..) {
            lock(&cell).take();
        }
        lock(&self.deliveries)
            .drain(..)
            .filter_map(|d| d.upgrade())
            .collect()
    }
}

/// Adds `item` to `list`, forgetting the items gone, so that the list is bounded by the
/// live ones.
fn track_while_alive<T>(list: &Mutex<Vec<Weak<T>>>, item: &Arc<T>) {
    let mut list = lock(list);
    list.retain(|tracked| tracked.strong_count() > 0);
    list.push(Arc::downgrade(item));
}

/// Locks, ignoring poisoning: the data stay consistent (plain pushes and takes).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::runtime;

    #[test]
    fn a_queue_waited_for_too_long_is_named_and_still_waited_for() {
        runtime().block_on(async {
            let (socket, tracker, queue) = crate::queue::tests::unreachable().await;
            tracker.queue(&queue);
            let _ = socket.connect().await;
            // One queue: named once.
            let (named_tx, mut named_rx) = tokio::sync::mpsc::channel(1);
            let waiting = tokio::spawn({
                let tracker = tracker.clone();
                async move {
                    tracker
                        .caught_up_noting(Duration::from_millis(1), |namespace| {
                            let _ = named_tx.try_send(namespace.to_owned());
                        })
                        .await;
                }
            });
            // Nobody takes the connect_error: the wait outlasts its bound and says so.
            assert_eq!(named_rx.recv().await.as_deref(), Some("/"));
            assert!(!waiting.is_finished());
            queue.stop();
            waiting.await.unwrap();
        });
    }

    #[test]
    fn socket_handles_dropped_are_not_kept_until_close() {
        let _runtime = runtime().enter();
        let manager = ferrio::Manager::new("http://127.0.0.1:1").unwrap();
        let tracker = Tracker::new();
        let kept = tracker.socket(manager.socket("/"));
        for _ in 0..1000 {
            drop(tracker.socket(manager.socket("/")));
        }
        assert_eq!(lock(&tracker.sockets).len(), 2);
        assert!(tracker.close().is_empty());
        assert!(lock(&kept).is_none());
    }
}
