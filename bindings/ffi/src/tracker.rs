//! What a manager releases when it closes: its sockets' core handles, the pull streams and
//! the delivery threads; what it keeps: its statistics; and the queues of its sockets'
//! events, which its manager events wait for.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::latch::Latch;
use crate::listener::Delivery;
use crate::queue::EventQueue;
use crate::stats::ConnectionStats;

/// A core socket handle that `close` takes away, so that nothing keeps its tasks alive.
pub(crate) type SocketCell = Mutex<Option<ferrio::Socket>>;

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

    pub(crate) fn delivery(&self, delivery: &Arc<Delivery>) {
        let mut deliveries = lock(&self.deliveries);
        deliveries.retain(|d| d.strong_count() > 0);
        deliveries.push(Arc::downgrade(delivery));
    }

    /// Tracks a queue of a socket's events, for [`Tracker::caught_up`]. Queues gone are
    /// forgotten here, so the list is bounded by the live ones.
    pub(crate) fn queue(&self, queue: &Arc<EventQueue>) {
        let mut queues = lock(&self.queues);
        queues.retain(|q| q.strong_count() > 0);
        queues.push(Arc::downgrade(queue));
    }

    /// Resolves once every live queue of the sockets' events has been handled up to what
    /// the core had queued in it when this was called (see [`EventQueue::caught_up`]).
    pub(crate) async fn caught_up(&self) {
        let queues: Vec<Arc<EventQueue>> = lock(&self.queues)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for queue in queues {
            queue.caught_up().await;
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
