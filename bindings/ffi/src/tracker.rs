//! What a manager releases when it closes: its sockets' core handles, the pull streams and
//! the delivery threads.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::watch;

use crate::listener::Delivery;

/// A core socket handle that `close` takes away, so that nothing keeps its tasks alive.
pub(crate) type SocketCell = Mutex<Option<ferrio::Socket>>;

/// Shared by a manager and everything made from it.
pub(crate) struct Tracker {
    closed_tx: watch::Sender<bool>,
    sockets: Mutex<Vec<Arc<SocketCell>>>,
    deliveries: Mutex<Vec<Weak<Delivery>>>,
}

impl Tracker {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Tracker {
            closed_tx: watch::Sender::new(false),
            sockets: Mutex::default(),
            deliveries: Mutex::default(),
        })
    }

    /// Becomes `true` when the manager closes.
    pub(crate) fn closed_rx(&self) -> watch::Receiver<bool> {
        self.closed_tx.subscribe()
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed_tx.borrow()
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

    /// Marks everything closed and drops the socket handles; returns the delivery threads
    /// still to be waited for.
    pub(crate) fn close(&self) -> Vec<Arc<Delivery>> {
        self.closed_tx.send_replace(true);
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
