//! `SocketFeed`: a socket's events with its manager's connection events among them, each
//! connection event after every socket event that happened before it.
//!
//! The connection task queues a socket's events before it announces the connection change
//! that follows them (a failed attempt's `connect_error`, then `reconnect_failed`), but the
//! two travel on separate channels: a consumer of both that takes each as it comes can see
//! the change first. The feed takes both from one place: when a connection event arrives,
//! the socket events already queued (those that happened before it) are taken too and
//! placed before it.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{broadcast, Mutex};

use super::Socket;
use crate::error::CallError;
use crate::event::EventRecord;
use crate::manager_events::ManagerEvent;
use crate::queue::{EventQueue, Held};
use crate::runtime::{guard, on_runtime};

/// The connection's events, `None` once they ended (or for a socket of another manager).
type Connection = Arc<Mutex<Option<broadcast::Receiver<ferrio::ManagerEvent>>>>;

/// One item of a [`SocketFeed`].
#[derive(Debug, uniffi::Enum)]
pub enum FeedItem {
    /// An event the socket observed.
    Event { record: EventRecord },
    /// A change of the manager's connection.
    Connection { event: ManagerEvent },
}

/// Everything one socket observes from its creation on, in order, with its manager's
/// connection events (reconnection attempts, giving up, ...) among them: a connection event
/// comes after every socket event that happened before it, so after reconnection gives up,
/// `ReconnectFailed` follows the last attempt's `ConnectError`. A socket event that happened
/// just after a connection event may still come before it.
///
/// Events wait in the core while nobody pulls (backpressure, then `Lagged`): pull
/// continuously, or `close` the feed.
#[derive(uniffi::Object)]
pub struct SocketFeed {
    queue: Arc<EventQueue>,
    connection: Connection,
}

impl Socket {
    /// This socket's feed with `connection`, the events of its manager's connection
    /// subscribed now (`None` once closed).
    pub(crate) fn feed(
        &self,
        connection: Option<broadcast::Receiver<ferrio::ManagerEvent>>,
    ) -> SocketFeed {
        SocketFeed {
            queue: self.events_queue(),
            connection: Arc::new(Mutex::new(connection)),
        }
    }

    /// Whether this socket was made by the manager that `tracker` belongs to.
    pub(crate) fn made_with(&self, tracker: &Arc<crate::tracker::Tracker>) -> bool {
        Arc::ptr_eq(&self.tracker, tracker)
    }
}

#[uniffi::export]
impl SocketFeed {
    /// The next batch: waits for one item, then takes up to `max` (1 to 1024) socket events
    /// queued, without waiting for more; a connection event comes with all the socket
    /// events queued before it (the batch may be longer than `max` then). Empty once the
    /// feed ended (closed, or its manager closed).
    pub async fn next_batch(&self, max: u32) -> Result<Vec<FeedItem>, CallError> {
        let queue = self.queue.clone();
        let connection = self.connection.clone();
        on_runtime(async move { Ok(next_items(&queue, &connection, max).await) }).await
    }

    /// Ends the feed: a pending `next_batch` returns empty, and the core stops queueing.
    pub fn close(&self) -> Result<(), CallError> {
        guard(|| {
            self.queue.stop();
            if let Ok(mut connection) = self.connection.try_lock() {
                connection.take();
            }
            Ok(())
        })
    }
}

/// The next items of `queue` and `connection`, the socket's first.
async fn next_items(queue: &EventQueue, connection: &Connection, max: u32) -> Vec<FeedItem> {
    let mut connection = connection.lock().await;
    loop {
        let change = tokio::select! {
            biased;
            batch = queue.next(max) => return records(queue, batch),
            change = next_change(&mut connection) => change,
        };
        let Some(change) = change else {
            // The connection's events ended: the socket's go on until its queue ends.
            *connection = None;
            continue;
        };
        // The socket events queued before the change was announced are in the queue now.
        let mut items = Vec::new();
        while let Some(batch) = tokio::task::unconstrained(queue.next(max)).now_or_never() {
            if batch.is_empty() {
                break;
            }
            items.extend(records(queue, batch));
        }
        items.push(FeedItem::Connection { event: change });
        return items;
    }
}

/// The connection's next event; `None` once they ended; never, without a subscription.
async fn next_change(
    connection: &mut Option<broadcast::Receiver<ferrio::ManagerEvent>>,
) -> Option<ManagerEvent> {
    let Some(events) = connection.as_mut() else {
        return std::future::pending().await;
    };
    crate::manager_events::received(events.recv().await)
}

fn records(queue: &EventQueue, batch: Vec<Held>) -> Vec<FeedItem> {
    batch
        .into_iter()
        .map(|(event, _)| FeedItem::Event {
            record: EventRecord::from_core(queue.namespace(), event),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::manager::Manager;
    use crate::options::default_client_options;
    use crate::runtime::runtime;

    /// A manager of an unreachable server that gives up after two reconnection attempts,
    /// each a millisecond after the failure before.
    fn giving_up() -> Arc<Manager> {
        let mut options = default_client_options("http://127.0.0.1:1".into());
        options.reconnection_attempts = Some(2);
        options.reconnection_delay_ms = 1;
        options.reconnection_delay_max_ms = 1;
        options.randomization_factor = 0.0;
        Manager::new(options).unwrap()
    }

    /// The items as words: `connect_error` for a socket's failed attempt, `gave_up` for
    /// reconnection giving up, `connection` for the connection's other events.
    fn words(items: &[FeedItem]) -> Vec<&'static str> {
        items
            .iter()
            .map(|item| match item {
                FeedItem::Event { record } if record.kind == EventKind::ConnectError => {
                    "connect_error"
                }
                FeedItem::Event { .. } => "event",
                FeedItem::Connection {
                    event: ManagerEvent::ReconnectFailed,
                } => "gave_up",
                FeedItem::Connection { .. } => "connection",
            })
            .collect()
    }

    /// Pulls `feed` (`max` per batch) until reconnection gave up.
    async fn pull_until_given_up(feed: &SocketFeed, max: u32) -> Vec<&'static str> {
        let mut seen = Vec::new();
        while !seen.contains(&"gave_up") {
            let batch = feed.next_batch(max).await.unwrap();
            assert!(
                !batch.is_empty(),
                "the feed ended before reconnection gave up"
            );
            seen.extend(words(&batch));
        }
        seen
    }

    /// The first attempt's `connect_error` and those of the two reconnection attempts.
    const ATTEMPTS: usize = 3;

    #[test]
    fn giving_up_comes_after_the_last_attempts_connect_error() {
        // Pulled while it happens, where a reader of two streams may see them either way.
        for _ in 0..20 {
            let manager = giving_up();
            let socket = manager.socket("/".into(), None).unwrap();
            let feed = manager.socket_feed(socket.clone()).unwrap();
            assert!(socket.connect_blocking().is_err());
            let seen = runtime().block_on(pull_until_given_up(&feed, 64));
            assert_eq!(seen.last(), Some(&"gave_up"), "{seen:?}");
            assert_eq!(
                seen.iter().filter(|word| **word == "connect_error").count(),
                ATTEMPTS,
                "{seen:?}"
            );
            manager.close_blocking().unwrap();
        }
    }

    #[test]
    fn a_late_reader_gets_the_socket_events_queued_before_each_connection_event_first() {
        let manager = giving_up();
        let socket = manager.socket("/".into(), None).unwrap();
        let feed = manager.socket_feed(socket.clone()).unwrap();
        let connection = manager.events().unwrap();
        assert!(socket.connect_blocking().is_err());
        runtime().block_on(async {
            while connection.next().await.unwrap() != Some(ManagerEvent::ReconnectFailed) {}
            let seen = pull_until_given_up(&feed, 1).await;
            assert_eq!(seen[..ATTEMPTS], ["connect_error"; ATTEMPTS], "{seen:?}");
            assert_eq!(seen.last(), Some(&"gave_up"), "{seen:?}");
        });
        manager.close_blocking().unwrap();
    }

    #[test]
    fn a_socket_of_another_manager_gets_its_events_only() {
        let manager = giving_up();
        let other = giving_up();
        let socket = manager.socket("/".into(), None).unwrap();
        let feed = other.socket_feed(socket.clone()).unwrap();
        assert!(socket.connect_blocking().is_err());
        assert!(other
            .socket("/".into(), None)
            .unwrap()
            .connect_blocking()
            .is_err());
        manager.close_blocking().unwrap();
        let seen = runtime().block_on(async {
            let mut seen = Vec::new();
            loop {
                let batch = feed.next_batch(64).await.unwrap();
                if batch.is_empty() {
                    return seen;
                }
                seen.extend(words(&batch));
            }
        });
        assert!(seen.iter().all(|word| *word == "connect_error"), "{seen:?}");
        other.close_blocking().unwrap();
    }

    #[test]
    fn a_closed_feed_ends() {
        let manager = giving_up();
        let socket = manager.socket("/".into(), None).unwrap();
        let feed = manager.socket_feed(socket).unwrap();
        feed.close().unwrap();
        assert!(runtime().block_on(feed.next_batch(64)).unwrap().is_empty());
        manager.close_blocking().unwrap();
    }
}
