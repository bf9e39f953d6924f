//! `EventQueue`: one subscription's delivery queue, and the one rule for batching, lag and
//! ending that every way of waiting on it follows.
//!
//! A socket's events (or, for `subscribe_outgoing`, its emits) wait in a bounded queue of
//! the core, fed by the connection task. The three ways to wait on it are thin front-ends
//! over this type: [`EventStream`](crate::EventStream) awaits (or blocks for) the next
//! batch, [`EventPipe`](crate::EventPipe) signals a descriptor and is taken from without
//! waiting, and a [`Subscription`](crate::Subscription) hands each batch to a listener on
//! the delivery threads.
//!
//! Each queue also counts what its consumer has handled, so that a manager event can wait
//! for the socket events queued before it ([`EventQueue::caught_up`]): one rule for every
//! binding's order of a socket's events and its manager's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
#[cfg(unix)]
use std::task::{Context, Poll};

use tokio::sync::{mpsc, Mutex, Notify};

use crate::latch::{wait_until, Latch};
use crate::tracker::Tracker;

/// Most events per batch: past 64 the per-event cost no longer drops (ffi-costs.md).
pub(crate) const MAX_BATCH: u32 = 1024;

/// An event taken from a queue, its bytes still counted in the core's bound on a
/// socket's queued bytes until dropped.
pub(crate) type Held = (ferrio::SocketEvent, ferrio::HeldBytes);

/// Where a queue's events come from.
pub(crate) enum Source {
    /// Everything a socket observes.
    Events(ferrio::EventStream),
    /// Every event a socket emits.
    Outgoing(Outgoing),
}

impl Source {
    /// Waits for one event, then takes what is queued, up to `max`; empty once ended.
    async fn next_batch(&mut self, max: usize) -> Vec<Held> {
        match self {
            Source::Events(stream) => stream.next_batch_held(max).await,
            Source::Outgoing(outgoing) => {
                let mut events = Vec::with_capacity(max.min(64));
                if outgoing.rx.recv_many(&mut events, max).await == 0 {
                    return Vec::new();
                }
                outgoing.held(events)
            }
        }
    }

    /// [`Source::next_batch`] without waiting: `Pending` when nothing is queued, and
    /// whatever it returns, `cx` is woken when there may be more to take (or the end).
    /// Used by the event pipe, which is Unix-only.
    #[cfg(unix)]
    fn poll_batch(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Vec<Held>> {
        match self {
            Source::Events(stream) => stream.poll_next_batch_held(cx, max),
            Source::Outgoing(outgoing) => {
                let mut events = Vec::new();
                if std::task::ready!(outgoing.rx.poll_recv_many(cx, &mut events, max)) == 0 {
                    return Poll::Ready(Vec::new());
                }
                // Not registered for the next one: come back.
                cx.waker().wake_by_ref();
                Poll::Ready(outgoing.held(events))
            }
        }
    }
}

/// The receiving end of a socket's outgoing catch-all (`Socket.subscribe_outgoing`): the
/// core's listener hands each emitted event over without waiting, into a queue of
/// [`outgoing_capacity`] events. When the foreign listener falls that far behind, further
/// events are dropped and counted, and the next batch ends with a `Lagged` record of how
/// many (an emit never waits for a listener).
pub(crate) struct Outgoing {
    rx: mpsc::Receiver<ferrio::Event>,
    dropped: Arc<AtomicU64>,
}

/// Most outgoing events waiting for a foreign listener: the core's bound on a socket's
/// queue of events ([`ferrio::ManagerOptions::incoming_capacity`]).
fn outgoing_capacity() -> usize {
    ferrio::ManagerOptions::default().incoming_capacity.max(1)
}

impl Outgoing {
    /// Registers an outgoing listener on `core`; returns its id and the receiving end.
    pub(crate) fn listen(core: &ferrio::Socket) -> (ferrio::ListenerId, Self) {
        let (tx, rx) = mpsc::channel(outgoing_capacity());
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        let id = core.on_any_outgoing(move |event| {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event) {
                if counted.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("an outgoing listener fell behind: dropping outgoing events");
                }
            }
        });
        (id, Outgoing { rx, dropped })
    }

    /// `events` as a batch, ending with a `Lagged` record when some were dropped.
    fn held(&self, events: Vec<ferrio::Event>) -> Vec<Held> {
        let mut batch: Vec<Held> = events
            .into_iter()
            .map(|event| {
                (
                    ferrio::SocketEvent::Event(event),
                    ferrio::HeldBytes::default(),
                )
            })
            .collect();
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            batch.push((
                ferrio::SocketEvent::Lagged(dropped),
                ferrio::HeldBytes::default(),
            ));
        }
        batch
    }
}

/// One subscription's queue of events, until it ends: when its owner stops it, when its
/// manager closes (after what is already queued), or when the core ends the source.
pub(crate) struct EventQueue {
    namespace: String,
    /// `None` once ended. Held by a waiting `next`, so that batches leave in order.
    source: Mutex<Option<Source>>,
    /// Set by `stop`, which wakes a waiting `next`.
    stopped: Latch,
    /// Its manager's: the queue ends when the manager closes.
    tracker: Arc<Tracker>,
    /// The core's count of the events queued for this queue; `None` for outgoing events,
    /// which no manager event waits for.
    queued: Option<ferrio::QueuedEvents>,
    /// Events taken from the core so far.
    taken: AtomicU64,
    /// Of those, the events the consumer has handled: every event taken before it came
    /// back for more.
    handled: AtomicU64,
    /// Wakes [`EventQueue::caught_up`] when `handled` rises or the queue ends.
    progress: Notify,
}

impl EventQueue {
    /// A queue of socket `namespace` fed by `source` (`None`: ended from the start, as for
    /// a socket whose manager is closed), ending when the manager of `tracker` closes.
    pub(crate) fn new(namespace: String, source: Option<Source>, tracker: Arc<Tracker>) -> Self {
        let queued = match &source {
            Some(Source::Events(stream)) => Some(stream.queued_events()),
            Some(Source::Outgoing(_)) | None => None,
        };
        EventQueue {
            namespace,
            source: Mutex::new(source),
            stopped: Latch::default(),
            tracker,
            queued,
            taken: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            progress: Notify::new(),
        }
    }

    /// The namespace of the socket whose events these are.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Waits for at least one event, then takes what is queued, up to `max` (clamped to
    /// 1..=[`MAX_BATCH`]) and the core's byte bound, never waiting for more. Empty once
    /// ended: a stopped queue ends at once, a closed manager's after what is queued (the
    /// last disconnect, a connect error).
    ///
    /// Coming back for more marks every event taken before as handled.
    pub(crate) async fn next(&self, max: u32) -> Vec<Held> {
        self.handled_all_taken();
        let max = batch_size(max);
        let mut slot = self.source.lock().await;
        let batch = match slot.as_mut() {
            None => Vec::new(),
            Some(_) if self.is_stopped() => Vec::new(),
            Some(source) => tokio::select! {
                biased;
                () = self.stopped.until_set() => Vec::new(),
                batch = source.next_batch(max) => batch,
                () = self.tracker.closed() => Vec::new(),
            },
        };
        self.took(&mut slot, &batch);
        batch
    }

    /// [`EventQueue::next`] without waiting, for a consumer woken through `cx` (the event
    /// pipe's descriptor): `Pending` when nothing is queued; whatever it returns, `cx` is
    /// woken when there is more to take or the queue ends. The manager's close ends the
    /// source (the core drops its queue), which wakes `cx`; a closed manager's queue ends
    /// once what it holds is taken, a stopped one at once. Used by the event pipe, which is
    /// Unix-only.
    #[cfg(unix)]
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>, max: u32) -> Poll<Vec<Held>> {
        let Ok(mut slot) = self.source.try_lock() else {
            // Held for a moment by `stop`, or by a `next` that ends with the same batches.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        let batch = match slot.as_mut() {
            None => Vec::new(),
            Some(_) if self.is_stopped() => Vec::new(),
            Some(source) => match source.poll_batch(cx, batch_size(max)) {
                Poll::Pending if !self.tracker.is_closed() => return Poll::Pending,
                Poll::Pending => Vec::new(),
                Poll::Ready(batch) => batch,
            },
        };
        self.took(&mut slot, &batch);
        Poll::Ready(batch)
    }

    /// Counts `batch` as taken; an empty one ends the queue (the source in `slot` goes).
    fn took(&self, slot: &mut Option<Source>, batch: &[Held]) {
        if batch.is_empty() {
            *slot = None;
            self.progress.notify_waiters();
        } else {
            self.taken.fetch_add(
                u64::try_from(batch.len()).unwrap_or(u64::MAX),
                Ordering::SeqCst,
            );
        }
    }

    /// Marks every event taken so far as handled by the consumer. [`EventQueue::next`]
    /// does, as its consumer comes back for more; a consumer taken from with
    /// [`EventQueue::poll_next`] says so itself (the event pipe: once it handed its
    /// events over).
    pub(crate) fn handled_all_taken(&self) {
        let taken = self.taken.load(Ordering::SeqCst);
        if self.handled.fetch_max(taken, Ordering::SeqCst) < taken {
            self.progress.notify_waiters();
        }
    }

    /// Resolves once the consumer has handled every event the core had queued for this
    /// queue when this was called, or the queue ended; at once for outgoing events. Awaited
    /// after a manager event is received, it puts that event after the socket events
    /// queued before it (the connection task queues those first). A consumer that stops
    /// taking without ending the queue holds it back.
    pub(crate) async fn caught_up(&self) {
        let Some(queued) = &self.queued else {
            return;
        };
        let mark = queued.total();
        wait_until(&self.progress, || {
            self.handled.load(Ordering::SeqCst) >= mark || self.is_ended()
        })
        .await;
    }

    /// Ends the queue: a waiting `next` returns empty, and the core stops queueing once
    /// the source is dropped (at once, or by the `next` that held it).
    pub(crate) fn stop(&self) {
        self.stopped.set();
        if let Ok(mut slot) = self.source.try_lock() {
            slot.take();
        }
        self.progress.notify_waiters();
    }

    /// Whether the queue is stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.is_set()
    }

    /// Whether the queue has ended (stopped, its manager closed, or its source ended).
    pub(crate) fn is_ended(&self) -> bool {
        self.is_stopped()
            || self.tracker.is_closed()
            || self.source.try_lock().is_ok_and(|slot| slot.is_none())
    }
}

/// `max` clamped to 1..=[`MAX_BATCH`].
fn batch_size(max: u32) -> usize {
    usize::try_from(max.clamp(1, MAX_BATCH)).unwrap_or(64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runtime::runtime;

    /// A queue of the events of a socket whose server cannot be reached, each of its
    /// connects queueing a `connect_error`; and the tracker that closes its manager.
    pub(crate) async fn unreachable() -> (ferrio::Socket, Arc<Tracker>, Arc<EventQueue>) {
        let options = ferrio::ManagerOptions {
            reconnection: false,
            ..ferrio::ManagerOptions::default()
        };
        let manager = ferrio::Manager::with_options("http://127.0.0.1:1", options).unwrap();
        let socket = manager.socket("/");
        let tracker = Tracker::new();
        let source = Source::Events(socket.events());
        let queue = EventQueue::new("/".into(), Some(source), tracker.clone());
        (socket, tracker, Arc::new(queue))
    }

    fn connect_errors(batch: &[Held]) -> usize {
        batch
            .iter()
            .filter(|(event, _)| matches!(event, ferrio::SocketEvent::ConnectError(_)))
            .count()
    }

    #[test]
    fn a_batch_is_what_is_queued() {
        runtime().block_on(async {
            let (socket, _tracker, queue) = unreachable().await;
            let _ = socket.connect().await;
            assert_eq!(connect_errors(&queue.next(64).await), 1);
            assert!(!queue.is_ended());
        });
    }

    #[test]
    fn a_stopped_queue_ends_at_once() {
        runtime().block_on(async {
            let (_socket, _tracker, queue) = unreachable().await;
            let waiting = tokio::spawn({
                let queue = queue.clone();
                async move { queue.next(64).await.len() }
            });
            queue.stop();
            assert_eq!(waiting.await.unwrap(), 0);
            assert!(queue.is_ended());
            assert!(queue.next(64).await.is_empty());
        });
    }

    #[test]
    fn a_closed_manager_ends_the_queue() {
        runtime().block_on(async {
            let (_socket, tracker, queue) = unreachable().await;
            tracker.close();
            assert!(queue.next(64).await.is_empty());
            assert!(queue.is_ended());
        });
    }

    #[test]
    fn outgoing_events_that_were_dropped_end_the_batch_as_a_lag() {
        let (_tx, rx) = mpsc::channel(1);
        let outgoing = Outgoing {
            rx,
            dropped: Arc::new(AtomicU64::new(2)),
        };
        let batch = outgoing.held(Vec::new());
        assert!(matches!(batch[..], [(ferrio::SocketEvent::Lagged(2), _)]));
        assert!(outgoing.held(Vec::new()).is_empty(), "counted once");
    }
}
