//! The pending-ack table: who waits for which ack, and until when. Plain data, no I/O.
//!
//! The connection task feeds it the emits that ask for an ack, the replies of the server,
//! disconnects and the time; the table answers the waiters and returns what the task must
//! do besides (take expired emits out of the offline buffer) and its next deadline, which
//! the task adds to its one timer. No caller runs a timer of its own.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::command::{AckResult, AckWaiter};
use crate::error::AckError;
use crate::socketio::Payload;
use crate::stats::Stats;

/// One awaited ack.
#[derive(Debug)]
struct Pending {
    reply_tx: oneshot::Sender<AckResult>,
    /// When the waiter gets [`AckError::Timeout`]; never for `None`.
    deadline: Option<Instant>,
    /// The timeout the waiter asked for, reported in the error.
    timeout: Duration,
    /// When its packet went to the server; until then it waits in the offline buffer.
    sent: Option<std::time::Instant>,
}

/// The awaited acks of one namespace, by id (ids are counted per namespace).
#[derive(Debug)]
struct NamespaceAcks {
    name: Arc<str>,
    pending: HashMap<u64, Pending, BuildHasherDefault<IdHasher>>,
}

/// Hashes an ack id with one multiplication instead of SipHash (four lookups per ack).
/// Only the client's own ids are inserted (counted up from 0, or 2^63 for the FFI's call
/// socket), so no peer can choose keys that collide; a server's reply with an unknown id
/// is one lookup that finds nothing.
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        // Fibonacci hashing: consecutive ids spread over the high bits the table uses.
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// An ack that expired before its packet was sent: its emit, still in the namespace's
/// offline buffer, must be taken out, then its waiter told with [`ExpiredUnsent::time_out`]
/// (so that it finds the buffer without the emit).
#[derive(Debug)]
pub(crate) struct ExpiredUnsent {
    /// The namespace of the buffered emit.
    pub(crate) namespace: Arc<str>,
    /// The ack id the emit asks for.
    pub(crate) id: u64,
    pending: Pending,
}

impl ExpiredUnsent {
    /// Answers the waiter with [`AckError::Timeout`].
    pub(crate) fn time_out(self) {
        let _ = self
            .pending
            .reply_tx
            .send(Err(AckError::Timeout(self.pending.timeout)));
    }
}

/// Every awaited ack of a manager, by namespace and id, with its deadlines in order.
#[derive(Debug, Default)]
pub(crate) struct Acks {
    /// By namespace, in the order first used; never shrinks (a manager has a few).
    namespaces: Vec<NamespaceAcks>,
    /// `(deadline, index in namespaces, id)` of every pending ack that has a deadline.
    deadlines: BTreeSet<(Instant, usize, u64)>,
    /// Where the round trips of the acks answered are counted.
    stats: Arc<Stats>,
}

impl Acks {
    /// An empty table counting the round trips of its acks in `stats`.
    pub(crate) fn new(stats: Arc<Stats>) -> Self {
        Self {
            stats,
            ..Self::default()
        }
    }

    /// Waits for ack `id` of `namespace` for `waiter`, whose packet is not sent yet (see
    /// [`Acks::sent`]). A waiter already registered under that id is dropped (its caller
    /// sees the client closed).
    pub(crate) fn register(&mut self, namespace: &Arc<str>, id: u64, waiter: AckWaiter) {
        let index = self.index(namespace);
        let AckWaiter {
            reply_tx,
            deadline,
            timeout,
        } = waiter;
        if let Some(deadline) = deadline {
            self.deadlines.insert((deadline, index, id));
        }
        let pending = Pending {
            reply_tx,
            deadline,
            timeout,
            sent: None,
        };
        if let Some(replaced) = self.namespaces[index].pending.insert(id, pending) {
            if let Some(deadline) = replaced.deadline.filter(|d| Some(*d) != deadline) {
                self.deadlines.remove(&(deadline, index, id));
            }
        }
    }

    /// Records that the packet asking for ack `id` is being written. Returns false when
    /// nobody waits for it any more (its caller gave up, or its deadline passed): the
    /// packet need not be sent.
    pub(crate) fn sent(&mut self, namespace: &str, id: u64) -> bool {
        let Some(index) = self.find(namespace) else {
            return false;
        };
        let waiting = match self.namespaces[index].pending.get_mut(&id) {
            Some(pending) if !pending.reply_tx.is_closed() => {
                pending.sent = Some(std::time::Instant::now());
                true
            }
            Some(_) => false,
            None => return false,
        };
        if !waiting {
            self.take(index, id);
        }
        waiting
    }

    /// Hands the server's reply `args` to the waiter of ack `id`. Returns false for an id
    /// nobody waits for (unknown, answered, expired, or its packet was never sent).
    pub(crate) fn reply(&mut self, namespace: &str, id: u64, args: Payload) -> bool {
        let Some(index) = self.find(namespace) else {
            return false;
        };
        if self.namespaces[index]
            .pending
            .get(&id)
            .is_none_or(|pending| pending.sent.is_none())
        {
            return false;
        }
        if let Some(pending) = self.take(index, id) {
            if let Some(sent) = pending.sent {
                self.stats.ack_round_trip(sent.elapsed());
            }
            let _ = pending.reply_tx.send(Ok(args));
        }
        true
    }

    /// Fails ack `id` with `error` (its buffered packet was discarded).
    pub(crate) fn fail(&mut self, namespace: &str, id: u64, error: &AckError) {
        let Some(index) = self.find(namespace) else {
            return;
        };
        if let Some(pending) = self.take(index, id) {
            let _ = pending.reply_tx.send(Err(error.clone()));
        }
    }

    /// `namespace` was disconnected: the acks of its packets already sent fail with
    /// `error`, their fate being unknown. Those still buffered keep waiting: their packets
    /// go out when the namespace connects again.
    pub(crate) fn disconnect(&mut self, namespace: &str, error: &AckError) {
        if let Some(index) = self.find(namespace) {
            self.fail_where(error, |i, pending| i == index && pending.sent.is_some());
        }
    }

    /// The connection was lost: as [`Acks::disconnect`] for every namespace.
    pub(crate) fn connection_lost(&mut self, error: &AckError) {
        self.fail_where(error, |_, pending| pending.sent.is_some());
    }

    /// The manager closes: every ack fails with `error`.
    pub(crate) fn close(&mut self, error: &AckError) {
        self.fail_where(error, |_, _| true);
    }

    /// Fails with [`AckError::Timeout`] every ack whose deadline is `now` or earlier and
    /// whose packet was sent; returns those whose packets are still buffered.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<ExpiredUnsent> {
        let mut unsent = Vec::new();
        while let Some(&(deadline, index, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(pending) = self.namespaces[index].pending.remove(&id) else {
                continue;
            };
            let namespace = &self.namespaces[index].name;
            tracing::debug!(%namespace, id, sent = pending.sent.is_some(), "ack timed out");
            if pending.sent.is_some() {
                let _ = pending
                    .reply_tx
                    .send(Err(AckError::Timeout(pending.timeout)));
            } else {
                unsent.push(ExpiredUnsent {
                    namespace: namespace.clone(),
                    id,
                    pending,
                });
            }
        }
        unsent
    }

    /// The earliest deadline of a pending ack.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _, _)| deadline)
    }

    /// The index of `namespace`, added if new.
    fn index(&mut self, namespace: &Arc<str>) -> usize {
        match self.namespaces.iter().position(|ns| ns.name == *namespace) {
            Some(index) => index,
            None => {
                self.namespaces.push(NamespaceAcks {
                    name: namespace.clone(),
                    pending: HashMap::default(),
                });
                self.namespaces.len() - 1
            }
        }
    }

    fn find(&self, namespace: &str) -> Option<usize> {
        self.namespaces.iter().position(|ns| &*ns.name == namespace)
    }

    /// Removes ack `id` of the namespace at `index`, with its deadline.
    fn take(&mut self, index: usize, id: u64) -> Option<Pending> {
        let pending = self.namespaces[index].pending.remove(&id)?;
        if let Some(deadline) = pending.deadline {
            self.deadlines.remove(&(deadline, index, id));
        }
        Some(pending)
    }

    /// Fails with `error` every ack for which `which(namespace index, ack)` holds.
    fn fail_where(&mut self, error: &AckError, which: impl Fn(usize, &Pending) -> bool) {
        for (index, ns) in self.namespaces.iter_mut().enumerate() {
            let ids: Vec<u64> = ns
                .pending
                .iter()
                .filter(|(_, pending)| which(index, pending))
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                let Some(pending) = ns.pending.remove(&id) else {
                    continue;
                };
                if let Some(deadline) = pending.deadline {
                    self.deadlines.remove(&(deadline, index, id));
                }
                let _ = pending.reply_tx.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    const SECOND: Duration = Duration::from_secs(1);

    fn waiter(
        deadline: Option<Instant>,
        timeout: Duration,
    ) -> (AckWaiter, oneshot::Receiver<AckResult>) {
        let (reply_tx, reply_rx) = oneshot::channel();
        (
            AckWaiter {
                reply_tx,
                deadline,
                timeout,
            },
            reply_rx,
        )
    }

    /// Registers ack `id` of `namespace`, due `after` from `now`, and marks it sent.
    fn sent(
        acks: &mut Acks,
        namespace: &str,
        id: u64,
        now: Instant,
        after: Duration,
    ) -> oneshot::Receiver<AckResult> {
        let (waiter, reply_rx) = waiter(Some(now + after), after);
        acks.register(&namespace.into(), id, waiter);
        assert!(acks.sent(namespace, id));
        reply_rx
    }

    #[test]
    fn only_answered_acks_count_as_round_trips() {
        let stats = Stats::shared();
        let mut acks = Acks::new(stats.clone());
        let now = Instant::now();
        let mut answered = sent(&mut acks, "/", 1, now, SECOND);
        let _lost = sent(&mut acks, "/", 2, now, SECOND);
        let (waiter, _unsent) = waiter(None, SECOND);
        acks.register(&"/".into(), 3, waiter);
        assert!(acks.reply("/", 1, Payload::default()));
        assert!(!acks.reply("/", 3, Payload::default()), "never sent");
        acks.connection_lost(&AckError::Disconnected);
        assert!(matches!(answered.try_recv(), Ok(Ok(_))));
        assert_eq!(stats.snapshot(None).ack_round_trips.count, 1);
    }

    fn timed_out(reply_rx: &mut oneshot::Receiver<AckResult>) -> Option<Duration> {
        match reply_rx.try_recv() {
            Ok(Err(AckError::Timeout(timeout))) => Some(timeout),
            _ => None,
        }
    }

    #[test]
    fn a_reply_before_the_deadline_reaches_the_waiter_and_clears_the_deadline() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut reply_rx = sent(&mut acks, "/", 0, now, SECOND);
        assert_eq!(acks.next_deadline(), Some(now + SECOND));
        assert!(acks.reply("/", 0, Payload::from_values(&[Value::from("ok")])));
        assert!(
            matches!(reply_rx.try_recv(), Ok(Ok(args)) if args.values() == [Value::from("ok")])
        );
        assert_eq!(acks.next_deadline(), None);
        assert!(acks.expire(now + 2 * SECOND).is_empty());
    }

    #[test]
    fn an_ack_expires_at_its_deadline_and_not_before() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut reply_rx = sent(&mut acks, "/", 0, now, SECOND);
        assert!(acks
            .expire(now + SECOND - Duration::from_nanos(1))
            .is_empty());
        assert!(reply_rx.try_recv().is_err(), "still waiting");
        assert!(acks.expire(now + SECOND).is_empty(), "it was sent");
        assert_eq!(timed_out(&mut reply_rx), Some(SECOND));
        assert_eq!(acks.next_deadline(), None);
        assert!(
            !acks.reply("/", 0, Payload::default()),
            "a late reply finds no waiter"
        );
    }

    #[test]
    fn several_deadlines_expire_in_order() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut late = sent(&mut acks, "/", 0, now, 3 * SECOND);
        let mut early = sent(&mut acks, "/", 1, now, SECOND);
        let mut middle = sent(&mut acks, "/admin", 0, now, 2 * SECOND);
        assert_eq!(acks.next_deadline(), Some(now + SECOND));
        acks.expire(now + SECOND);
        assert_eq!(timed_out(&mut early), Some(SECOND));
        assert!(middle.try_recv().is_err() && late.try_recv().is_err());
        assert_eq!(acks.next_deadline(), Some(now + 2 * SECOND));
        acks.expire(now + 2 * SECOND);
        assert_eq!(timed_out(&mut middle), Some(2 * SECOND));
        assert!(late.try_recv().is_err());
        assert_eq!(acks.next_deadline(), Some(now + 3 * SECOND));
        acks.expire(now + 10 * SECOND);
        assert_eq!(timed_out(&mut late), Some(3 * SECOND));
        assert_eq!(acks.next_deadline(), None);
    }

    #[test]
    fn an_ack_still_buffered_at_its_deadline_is_returned_for_its_emit_to_go() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let (waiter, mut reply_rx) = waiter(Some(now + SECOND), SECOND);
        acks.register(&"/chat".into(), 4, waiter);
        let mut unsent = acks.expire(now + SECOND);
        assert_eq!(unsent.len(), 1);
        let expired = unsent.remove(0);
        assert_eq!((&*expired.namespace, expired.id), ("/chat", 4));
        assert!(reply_rx.try_recv().is_err(), "told once the emit is gone");
        expired.time_out();
        assert_eq!(timed_out(&mut reply_rx), Some(SECOND));
        assert!(!acks.sent("/chat", 4), "expired: nothing to send");
    }

    #[test]
    fn a_namespace_disconnect_fails_its_sent_acks_and_keeps_the_buffered_ones() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut sent_rx = sent(&mut acks, "/", 0, now, SECOND);
        let mut other_rx = sent(&mut acks, "/admin", 0, now, SECOND);
        let (waiter, mut buffered_rx) = waiter(Some(now + SECOND), SECOND);
        acks.register(&"/".into(), 1, waiter);
        acks.disconnect("/", &AckError::Disconnected);
        assert!(matches!(
            sent_rx.try_recv(),
            Ok(Err(AckError::Disconnected))
        ));
        assert!(buffered_rx.try_recv().is_err(), "still buffered");
        assert!(other_rx.try_recv().is_err(), "another namespace");
        assert!(acks.sent("/", 1), "sent after reconnecting");
        acks.connection_lost(&AckError::Disconnected);
        assert!(matches!(
            buffered_rx.try_recv(),
            Ok(Err(AckError::Disconnected))
        ));
        assert!(matches!(
            other_rx.try_recv(),
            Ok(Err(AckError::Disconnected))
        ));
        assert_eq!(acks.next_deadline(), None, "deadlines go with their acks");
    }

    #[test]
    fn closing_fails_every_ack_sent_or_buffered() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut sent_rx = sent(&mut acks, "/", 0, now, SECOND);
        let (waiter, mut buffered_rx) = waiter(None, Duration::MAX);
        acks.register(&"/".into(), 1, waiter);
        acks.close(&AckError::Closed);
        assert!(matches!(sent_rx.try_recv(), Ok(Err(AckError::Closed))));
        assert!(matches!(buffered_rx.try_recv(), Ok(Err(AckError::Closed))));
    }

    #[test]
    fn a_discarded_buffered_ack_fails_with_the_given_error() {
        let mut acks = Acks::default();
        let (waiter, mut reply_rx) = waiter(Some(Instant::now() + SECOND), SECOND);
        acks.register(&"/".into(), 7, waiter);
        acks.fail("/", 7, &AckError::Discarded);
        assert!(matches!(reply_rx.try_recv(), Ok(Err(AckError::Discarded))));
        assert_eq!(acks.next_deadline(), None);
    }

    #[test]
    fn a_reply_for_an_unknown_or_unsent_id_is_ignored() {
        let mut acks = Acks::default();
        let now = Instant::now();
        assert!(!acks.reply("/", 9, Payload::default()), "unknown namespace");
        let mut reply_rx = sent(&mut acks, "/", 0, now, SECOND);
        assert!(!acks.reply("/", 9, Payload::default()), "unknown id");
        let (waiter, mut buffered_rx) = waiter(Some(now + SECOND), SECOND);
        acks.register(&"/".into(), 1, waiter);
        assert!(!acks.reply("/", 1, Payload::default()), "never sent");
        assert!(reply_rx.try_recv().is_err() && buffered_rx.try_recv().is_err());
        assert_eq!(acks.next_deadline(), Some(now + SECOND));
    }

    #[test]
    fn the_same_id_in_two_namespaces_are_two_acks() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut main_rx = sent(&mut acks, "/", 3, now, SECOND);
        let mut admin_rx = sent(&mut acks, "/admin", 3, now, SECOND);
        assert!(acks.reply("/admin", 3, Payload::from_values(&[Value::from(1)])));
        assert!(matches!(admin_rx.try_recv(), Ok(Ok(_))));
        assert!(
            main_rx.try_recv().is_err(),
            "the other namespace still waits"
        );
        assert_eq!(acks.next_deadline(), Some(now + SECOND));
        assert!(acks.reply("/", 3, Payload::default()));
        assert!(matches!(main_rx.try_recv(), Ok(Ok(_))));
    }

    #[test]
    fn acks_with_one_deadline_expire_together() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let mut receivers: Vec<_> = (0..3)
            .map(|id| sent(&mut acks, "/", id, now, SECOND))
            .collect();
        acks.expire(now + SECOND);
        for reply_rx in &mut receivers {
            assert_eq!(timed_out(reply_rx), Some(SECOND));
        }
    }

    #[test]
    fn an_ack_whose_caller_gave_up_is_not_sent() {
        let mut acks = Acks::default();
        let now = Instant::now();
        let (waiter, reply_rx) = waiter(Some(now + SECOND), SECOND);
        acks.register(&"/".into(), 0, waiter);
        drop(reply_rx);
        assert!(!acks.sent("/", 0));
        assert_eq!(acks.next_deadline(), None);
    }

    #[test]
    fn an_ack_without_deadline_waits_until_answered() {
        let mut acks = Acks::default();
        let (waiter, mut reply_rx) = waiter(None, Duration::MAX);
        acks.register(&"/".into(), 0, waiter);
        assert!(acks.sent("/", 0));
        assert_eq!(acks.next_deadline(), None);
        acks.expire(Instant::now() + 1000 * SECOND);
        assert!(reply_rx.try_recv().is_err());
        assert!(acks.reply("/", 0, Payload::default()));
        assert!(matches!(reply_rx.try_recv(), Ok(Ok(_))));
    }
}
