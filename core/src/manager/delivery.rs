//! A socket's consumers as the connection task feeds them: each pull stream
//! ([`Socket::events`](crate::Socket::events)) and the dispatcher that runs the Rust
//! listeners has a bounded queue of its own, which the connection task fills directly (the
//! async-nats subscription shape: no task in between).
//!
//! Rules, the same for every queue:
//! - Numbering: every event produced for the socket gets the next number, delivered or
//!   not. A consumer added now gets the events numbered from [`Subscribers::produced`]
//!   on; a listener added to a running dispatcher keeps that number to skip what came
//!   before it (see [`Subscribers::at_next`]).
//! - Backpressure: the connection task stops reading while a queue cannot take what one
//!   packet produces ([`Subscribers::has_room`], [`Subscribers::room_freed`]), at most a
//!   second (see the actor); then what does not fit is dropped and counted per queue, and
//!   that queue gets a [`SocketEvent::Lagged`] with the count before its next event.
//! - Bytes: each queued copy counts its event's bytes in the socket's
//!   [`QueuedBytes`] until taken; while they are over the bound, events with bytes are
//!   dropped for every queue (lifecycle events, of no bytes, pass).
//! - End: [`Subscribers::close`] (the manager closed) drops every queue's sender, so each
//!   consumer gets what is queued, then the end; a consumer added after it ends at once.

mod queue;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::command::{Charge, Delivery, QueuedBytes};
use super::event::SocketEvent;
use queue::Refused;
pub(crate) use queue::{channel, DeliveryRx, DeliveryTx, QueuedCount};

/// The most queue slots one packet from the server takes: an event, and a `Lagged` report
/// before it.
pub(crate) const EVENTS_PER_PACKET: usize = 2;

/// A socket's consumer queues, shared by the socket (which adds them) and the connection
/// task (which fills them).
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// How many events were produced for the socket (delivered or dropped).
    produced: u64,
    sinks: Vec<Sink>,
    /// The manager closed: no queue is kept any more.
    closed: bool,
}

/// One consumer's queue and what it missed.
#[derive(Debug)]
struct Sink {
    tx: DeliveryTx,
    /// Events dropped since this queue last took one, reported before its next event.
    lagged: u64,
}

impl Sink {
    fn has_room(&self) -> bool {
        self.tx.has_room(EVENTS_PER_PACKET)
    }
}

/// What became of an event handed to [`Subscribers::deliver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Queued for every consumer (or there is none).
    Delivered,
    /// Dropped for every consumer: the socket's queued bytes are over their bound.
    DroppedForBytes,
    /// Dropped for this many consumers, whose queue was full.
    DroppedFull(usize),
}

impl Subscribers {
    /// Feeds `tx` with the events produced from now on. After [`Subscribers::close`],
    /// `tx` is dropped at once: its consumer ends.
    pub(crate) fn subscribe(&self, tx: DeliveryTx) {
        let mut table = self.lock();
        if !table.closed {
            table.sinks.push(Sink { tx, lagged: 0 });
        }
    }

    /// Calls `add` with the number of the next event, with event production held until
    /// it returns: what `add` registers (a listener of a running dispatcher) sees exactly
    /// the events numbered from there.
    pub(crate) fn at_next<R>(&self, add: impl FnOnce(u64) -> R) -> R {
        let table = self.lock();
        add(table.produced)
    }

    /// How many events were produced so far.
    #[cfg(test)]
    pub(crate) fn produced(&self) -> u64 {
        self.lock().produced
    }

    /// Numbers `event`, of `bytes` on the wire, and queues it for every consumer without
    /// waiting, each copy counted in `queued` until taken. A consumer whose queue is full
    /// misses it (counted, reported as [`SocketEvent::Lagged`] before its next event);
    /// with `queued` over its bound, an event of some bytes is dropped for all.
    pub(crate) fn deliver(
        &self,
        event: SocketEvent,
        bytes: usize,
        queued: &Arc<QueuedBytes>,
    ) -> Outcome {
        let mut table = self.lock();
        let seq = table.produced;
        table.produced += 1;
        table.sinks.retain(|sink| !sink.tx.is_closed());
        let Some((last, others)) = table.sinks.split_last_mut() else {
            return Outcome::Delivered;
        };
        if bytes > 0 && !queued.has_room() {
            last.lagged += 1;
            others.iter_mut().for_each(|sink| sink.lagged += 1);
            return Outcome::DroppedForBytes;
        }
        let mut dropped = 0;
        for sink in others {
            let copy = SocketEvent::clone(&event);
            dropped += usize::from(!sink.queue(seq, copy, queued.charge(bytes)));
        }
        dropped += usize::from(!last.queue(seq, event, queued.charge(bytes)));
        if dropped == 0 {
            Outcome::Delivered
        } else {
            Outcome::DroppedFull(dropped)
        }
    }

    /// Counts `count` events dropped before they could be delivered (kept for a CONNECT
    /// reply over the bounds): every consumer gets a [`SocketEvent::Lagged`] before its
    /// next event.
    pub(crate) fn add_lagged(&self, count: u64) {
        if count > 0 {
            self.lock()
                .sinks
                .iter_mut()
                .for_each(|sink| sink.lagged += count);
        }
    }

    /// Whether every queue can take what one packet produces, in count and in bytes. A
    /// queue whose consumer is gone has room: nothing will ever drain it.
    pub(crate) fn has_room(&self, queued: &QueuedBytes) -> bool {
        let table = self.lock();
        let live = table.sinks.iter().any(|sink| !sink.tx.is_closed());
        table.sinks.iter().all(Sink::has_room) && (!live || queued.has_room())
    }

    /// Resolves once the queues that [`Subscribers::has_room`] finds full have room again;
    /// `None` when none is.
    pub(crate) fn room_freed(
        &self,
        queued: &Arc<QueuedBytes>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        if self.has_room(queued) {
            return None;
        }
        let full: Vec<_> = self
            .lock()
            .sinks
            .iter()
            .filter(|sink| !sink.has_room())
            .map(|sink| sink.tx.room(EVENTS_PER_PACKET))
            .collect();
        let queued = queued.clone();
        Some(async move {
            for room in full {
                room.await;
            }
            queued.room().await;
        })
    }

    /// The manager closed: every queue's sender is dropped (each consumer gets what is
    /// queued, then its end), and a consumer added from now on ends at once.
    pub(crate) fn close(&self) {
        let mut table = self.lock();
        table.closed = true;
        table.sinks = Vec::new();
    }

    /// No user code runs under the lock, so a poisoned table is still whole.
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sink {
    /// Queues event `seq`, after the report of what this queue missed; `false` when the
    /// queue is full (the event is counted as missed).
    fn queue(&mut self, seq: u64, event: SocketEvent, charge: Charge) -> bool {
        if self.lagged > 0 {
            let lag = Delivery {
                seq,
                event: Box::new(SocketEvent::Lagged(self.lagged)),
                charge: Charge::default(),
            };
            if self.tx.try_send(lag).is_err() {
                self.lagged += 1;
                return false;
            }
            self.lagged = 0;
        }
        let delivery = Delivery {
            seq,
            event: Box::new(event),
            charge,
        };
        match self.tx.try_send(delivery) {
            Ok(()) => true,
            // The consumer is gone: nothing to count; the sink leaves at the next event.
            Err(Refused::Closed) => true,
            Err(Refused::Full) => {
                self.lagged += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disconnect::DisconnectReason;
    use crate::manager::inbox::test_support::{chat, chat_number};

    fn unbounded() -> Arc<QueuedBytes> {
        Arc::new(QueuedBytes::new(usize::MAX))
    }

    fn subscribed(subscribers: &Subscribers, capacity: usize) -> DeliveryRx {
        let (tx, rx) = channel(capacity);
        subscribers.subscribe(tx);
        rx
    }

    fn taken(rx: &mut DeliveryRx) -> Vec<(u64, SocketEvent)> {
        std::iter::from_fn(|| rx.try_recv())
            .map(|delivery| (delivery.seq, *delivery.event))
            .collect()
    }

    #[test]
    fn events_without_consumers_are_numbered_but_not_kept() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        for n in 0..3 {
            assert_eq!(
                subscribers.deliver(chat(n), 10, &queued),
                Outcome::Delivered
            );
        }
        assert_eq!(subscribers.produced(), 3);
        assert_eq!(queued.bytes(), 0);
        assert!(subscribers.has_room(&queued));
        let mut rx = subscribed(&subscribers, 4);
        subscribers.deliver(chat(3), 10, &queued);
        let seen = taken(&mut rx);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].0, chat_number(&seen[0].1)), (3, Some(3)));
    }

    #[test]
    fn each_consumer_gets_every_event_in_order_with_its_bytes_counted() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut first = subscribed(&subscribers, 8);
        let mut second = subscribed(&subscribers, 8);
        subscribers.deliver(chat(1), 100, &queued);
        subscribers.deliver(
            SocketEvent::Disconnect(DisconnectReason::TransportClose),
            0,
            &queued,
        );
        assert_eq!(queued.bytes(), 200, "one copy in each queue");
        for rx in [&mut first, &mut second] {
            let seen = taken(rx);
            assert_eq!(chat_number(&seen[0].1), Some(1));
            assert!(matches!(seen[1].1, SocketEvent::Disconnect(_)));
            assert_eq!((seen[0].0, seen[1].0), (0, 1));
        }
        assert_eq!(queued.bytes(), 0, "taken copies no longer count");
    }

    #[test]
    fn a_full_queue_misses_events_and_is_told_how_many_before_its_next() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut slow = subscribed(&subscribers, 2);
        let mut fast = subscribed(&subscribers, 64);
        for n in 0..5 {
            subscribers.deliver(chat(n), 1, &queued);
        }
        assert_eq!(
            subscribers.deliver(chat(5), 1, &queued),
            Outcome::DroppedFull(1)
        );
        assert_eq!(taken(&mut fast).len(), 6, "the other queue missed nothing");
        let seen = taken(&mut slow);
        assert_eq!(seen.len(), 2);
        subscribers.deliver(chat(6), 1, &queued);
        let seen = taken(&mut slow);
        assert!(matches!(seen[0].1, SocketEvent::Lagged(4)), "{seen:?}");
        assert_eq!(chat_number(&seen[1].1), Some(6));
        assert_eq!(seen[1].0, 6, "dropped events are numbered too");
        assert_eq!(
            taken(&mut fast).len(),
            1,
            "no lag report where none was missed"
        );
    }

    #[test]
    fn a_lag_report_that_does_not_fit_counts_the_event_as_missed_too() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut rx = subscribed(&subscribers, 1);
        subscribers.deliver(chat(0), 1, &queued);
        subscribers.deliver(chat(1), 1, &queued);
        subscribers.deliver(chat(2), 1, &queued);
        assert_eq!(taken(&mut rx).len(), 1);
        subscribers.deliver(chat(3), 1, &queued);
        let seen = taken(&mut rx);
        assert!(
            matches!(seen[..], [(_, SocketEvent::Lagged(2))]),
            "{seen:?}"
        );
        subscribers.deliver(chat(4), 1, &queued);
        let seen = taken(&mut rx);
        assert!(
            matches!(seen[..], [(_, SocketEvent::Lagged(1))]),
            "{seen:?}"
        );
    }

    #[test]
    fn over_the_byte_bound_events_are_dropped_for_all_but_lifecycle_events_pass() {
        let subscribers = Subscribers::default();
        let queued = Arc::new(QueuedBytes::new(1000));
        let mut rx = subscribed(&subscribers, 64);
        subscribers.deliver(chat(0), 5000, &queued);
        assert!(
            !subscribers.has_room(&queued),
            "full in bytes, not in count"
        );
        assert_eq!(
            subscribers.deliver(chat(1), 10, &queued),
            Outcome::DroppedForBytes
        );
        subscribers.deliver(
            SocketEvent::Disconnect(DisconnectReason::TransportClose),
            0,
            &queued,
        );
        let seen = taken(&mut rx);
        assert_eq!(chat_number(&seen[0].1), Some(0));
        assert!(matches!(seen[1].1, SocketEvent::Lagged(1)), "{seen:?}");
        assert!(matches!(seen[2].1, SocketEvent::Disconnect(_)));
        assert!(subscribers.has_room(&queued), "the big event was taken");
    }

    #[test]
    fn events_dropped_before_delivery_are_reported_to_every_consumer() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut rx = subscribed(&subscribers, 8);
        subscribers.add_lagged(3);
        subscribers.deliver(chat(0), 1, &queued);
        let seen = taken(&mut rx);
        assert!(matches!(seen[0].1, SocketEvent::Lagged(3)), "{seen:?}");
        assert_eq!(chat_number(&seen[1].1), Some(0));
    }

    #[tokio::test]
    async fn reading_waits_for_a_full_queue_until_its_consumer_takes() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut rx = subscribed(&subscribers, 3);
        subscribers.deliver(chat(0), 1, &queued);
        assert!(subscribers.room_freed(&queued).is_none(), "room for 2");
        subscribers.deliver(chat(1), 1, &queued);
        assert!(!subscribers.has_room(&queued));
        let freed = tokio::spawn(subscribers.room_freed(&queued).expect("full"));
        tokio::task::yield_now().await;
        assert!(!freed.is_finished());
        assert!(rx.recv().await.is_some());
        freed.await.expect("room once taken");
        assert!(subscribers.has_room(&queued));
    }

    #[test]
    fn a_gone_consumer_neither_holds_reading_nor_stays() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let rx = subscribed(&subscribers, 1);
        subscribers.deliver(chat(0), 1, &queued);
        assert!(!subscribers.has_room(&queued));
        drop(rx);
        assert!(subscribers.has_room(&queued));
        assert_eq!(subscribers.deliver(chat(1), 1, &queued), Outcome::Delivered);
        assert!(subscribers.lock().sinks.is_empty());
    }

    #[tokio::test]
    async fn closing_ends_every_consumer_after_what_is_queued_and_later_ones_at_once() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        let mut rx = subscribed(&subscribers, 8);
        subscribers.deliver(
            SocketEvent::Disconnect(DisconnectReason::IoClientDisconnect),
            0,
            &queued,
        );
        subscribers.close();
        assert!(rx.recv().await.is_some(), "what was queued");
        assert!(rx.recv().await.is_none(), "then the end");
        let mut late = subscribed(&subscribers, 8);
        assert!(late.recv().await.is_none());
    }

    #[test]
    fn what_is_added_at_the_next_number_sees_no_earlier_event() {
        let subscribers = Subscribers::default();
        let queued = unbounded();
        subscribers.deliver(chat(0), 1, &queued);
        subscribers.deliver(chat(1), 1, &queued);
        assert_eq!(subscribers.at_next(|from| from), 2);
    }
}
