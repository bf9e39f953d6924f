//! A namespace's outbox: the offline buffer (bounds, policy) and the at-least-once queue
//! of a socket with `retries`. Plain data, no I/O.
//!
//! The namespace feeds it emits, whether it is connected, the acks of the server, lost
//! connections and the time; the outbox returns the emits to write now and its next
//! deadline, which the connection task adds to its one timer.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::command::{AckResult, BufferStats, OutgoingEmit, RetryEmit};
use crate::error::{AckError, EmitError};
use crate::options::{BufferPolicy, ManagerOptions};
use crate::socketio::{Packet, Payload};

/// Bounds of a namespace's outbox, and what happens when it is full.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferLimits {
    pub(crate) max_emits: usize,
    pub(crate) max_bytes: usize,
    pub(crate) policy: BufferPolicy,
}

impl BufferLimits {
    /// The bounds set in `options`.
    pub(crate) fn new(options: &ManagerOptions) -> Self {
        Self {
            max_emits: options.max_buffered_emits,
            max_bytes: options.max_buffered_bytes,
            policy: options.buffer_policy,
        }
    }
}

/// What [`Outbox::buffer`] did with an emit.
#[derive(Debug)]
pub(crate) enum Buffered {
    /// Buffered; these older emits were dropped to make room.
    Taken { dropped: Vec<OutgoingEmit> },
    /// Refused: the buffer is full.
    Refused(OutgoingEmit),
}

/// The try under way of the emit first in the retry queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Try {
    /// When the try fails for want of an ack; never for `None`.
    deadline: Option<Instant>,
    /// The ack id it was sent with; `None` while it waits for the namespace to connect.
    sent_as: Option<u64>,
}

/// Emits waiting for the namespace, and those of a socket with `retries`.
#[derive(Debug)]
pub(crate) struct Outbox {
    limits: BufferLimits,
    /// Emits waiting for the namespace to be connected, in order.
    buffer: VecDeque<OutgoingEmit>,
    /// Bytes in `buffer`.
    buffer_bytes: usize,
    /// At-least-once emits, in order; the first is the one being tried.
    retry: VecDeque<(RetryEmit, u32)>,
    /// Bytes in `retry`.
    retry_bytes: usize,
    /// The try of the first retry emit.
    attempt: Option<Try>,
    /// The next ack id of a retry emit (a socket with retries numbers no ack itself).
    next_retry_id: u64,
    /// Where the sizes are published for the socket.
    stats: Option<Arc<BufferStats>>,
}

impl Outbox {
    /// An empty outbox within `limits`.
    pub(crate) fn new(limits: BufferLimits) -> Self {
        Self {
            limits,
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            retry: VecDeque::new(),
            retry_bytes: 0,
            attempt: None,
            next_retry_id: 0,
            stats: None,
        }
    }

    /// Publishes the outbox's size to `stats` from now on.
    pub(crate) fn publish_to(&mut self, stats: Arc<BufferStats>) {
        self.stats = Some(stats);
        self.publish();
    }

    fn is_full_for(&self, size: usize) -> bool {
        self.len() >= self.limits.max_emits
            || self.bytes().saturating_add(size) > self.limits.max_bytes
    }

    fn len(&self) -> usize {
        self.buffer.len() + self.retry.len()
    }

    fn bytes(&self) -> usize {
        self.buffer_bytes + self.retry_bytes
    }

    // ----- the offline buffer -----

    /// Adds `emit` to the offline buffer. With [`BufferPolicy::Reject`], a full outbox
    /// refuses an emit whose emitter waits for admission and takes the others beyond the
    /// bound (they were made while the emitter believed the namespace connected); with
    /// [`BufferPolicy::DropOldest`] the oldest buffered emits make room.
    pub(crate) fn buffer(&mut self, mut emit: OutgoingEmit) -> Buffered {
        let size = emit.size();
        let mut dropped = Vec::new();
        while self.is_full_for(size) {
            match self.limits.policy {
                BufferPolicy::DropOldest => match self.buffer.pop_front() {
                    Some(oldest) => {
                        self.buffer_bytes -= oldest.size();
                        dropped.push(oldest);
                    }
                    None => break,
                },
                BufferPolicy::Reject if emit.awaits_admission() => {
                    self.publish();
                    return Buffered::Refused(emit);
                }
                BufferPolicy::Reject => break,
            }
        }
        let admission = emit.take_admission();
        self.buffer_bytes += size;
        self.buffer.push_back(emit);
        self.publish();
        if let Some(admission) = admission {
            let _ = admission.send(Ok(()));
        }
        Buffered::Taken { dropped }
    }

    /// Empties the offline buffer, returning what it held in order.
    pub(crate) fn take_buffer(&mut self) -> VecDeque<OutgoingEmit> {
        self.buffer_bytes = 0;
        let buffer = std::mem::take(&mut self.buffer);
        self.publish();
        buffer
    }

    /// Removes the buffered emit asking for ack `id`, if any.
    pub(crate) fn unbuffer_ack(&mut self, id: u64) {
        let before = self.buffer.len();
        self.buffer.retain(|emit| emit.ack_id != Some(id));
        if self.buffer.len() != before {
            self.buffer_bytes = self.buffer.iter().map(OutgoingEmit::size).sum();
            self.publish();
        }
    }

    // ----- at-least-once emits -----

    /// Queues `emit` behind the other retry emits, within the bounds (a full outbox
    /// refuses it with [`BufferPolicy::Reject`]; drops the oldest emit not being tried with
    /// [`BufferPolicy::DropOldest`]). Returns the emit to write now, if it is the first and
    /// the namespace is `connected`.
    pub(crate) fn push_retry(
        &mut self,
        mut emit: RetryEmit,
        connected: bool,
        now: Instant,
    ) -> Option<OutgoingEmit> {
        while self.is_full_for(emit.size) {
            match self.limits.policy {
                BufferPolicy::DropOldest => {
                    if let Some(oldest) = self.buffer.pop_front() {
                        self.buffer_bytes -= oldest.size();
                    } else if let Some((oldest, _)) = (self.retry.len() > 1)
                        .then(|| self.retry.remove(1))
                        .flatten()
                    {
                        self.retry_bytes -= oldest.size;
                        answer(oldest, Err(AckError::Discarded));
                    } else {
                        break;
                    }
                }
                BufferPolicy::Reject => {
                    if let Some(admission) = emit.admission.take() {
                        let _ = admission.send(Err(EmitError::BufferFull));
                    }
                    answer(emit, Err(AckError::Emit(EmitError::BufferFull)));
                    return None;
                }
            }
        }
        if let Some(admission) = emit.admission.take() {
            let _ = admission.send(Ok(()));
        }
        self.retry_bytes += emit.size;
        self.retry.push_back((emit, 0));
        self.publish();
        if self.attempt.is_some() {
            return None;
        }
        self.begin_try(connected, now)
    }

    /// The server acknowledged `id`: when it is the retry emit being tried, its emitter
    /// gets `args` and the next one is tried (its deadline counted from `now()`, read only
    /// then); returns the next emit to write, if any.
    ///
    /// # Errors
    /// Gives `args` back when `id` is not the ack of the retry emit being tried.
    pub(crate) fn retry_acked(
        &mut self,
        id: u64,
        args: Payload,
        connected: bool,
        now: impl FnOnce() -> Instant,
    ) -> Result<Option<OutgoingEmit>, Payload> {
        if self.attempt.and_then(|attempt| attempt.sent_as) != Some(id) {
            return Err(args);
        }
        self.finish_first(Ok(args));
        Ok(self.begin_try(connected, now()))
    }

    /// The connection (or the namespace) was lost: a try sent and not acknowledged failed;
    /// the next waits for the namespace to connect again.
    pub(crate) fn retry_lost(&mut self, now: Instant) {
        if self
            .attempt
            .is_some_and(|attempt| attempt.sent_as.is_some())
        {
            self.try_failed(AckError::Disconnected, false, now);
        }
    }

    /// The namespace connected: returns the retry emit to write, if one waits for it.
    pub(crate) fn retry_connected(&mut self) -> Option<OutgoingEmit> {
        let attempt = self.attempt.as_mut()?;
        let (emit, tries) = self.retry.front()?;
        if attempt.sent_as.is_some() {
            return None;
        }
        let id = self.next_retry_id;
        self.next_retry_id += 1;
        attempt.sent_as = Some(id);
        tracing::trace!(id, tries, "retry emit sent");
        Some(encode(&emit.packet, id))
    }

    /// The time is `now`: a try past its deadline failed. Returns the emit to write, if a
    /// new try starts while `connected`.
    pub(crate) fn expire(&mut self, connected: bool, now: Instant) -> Option<OutgoingEmit> {
        let attempt = self.attempt?;
        if attempt.deadline.is_none_or(|deadline| deadline > now) {
            return None;
        }
        let timeout = self.retry.front().map(|(emit, _)| emit.timeout)?;
        self.try_failed(AckError::Timeout(timeout), connected, now)
    }

    /// When the try under way fails for want of an ack.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.attempt.and_then(|attempt| attempt.deadline)
    }

    /// Discards everything: the buffered emits come back (their acks are the caller's to
    /// fail), the retry emits' emitters get `error`.
    pub(crate) fn discard(&mut self, error: &AckError) -> VecDeque<OutgoingEmit> {
        for (emit, _) in self.retry.drain(..) {
            answer(emit, Err(error.clone()));
        }
        self.retry_bytes = 0;
        self.attempt = None;
        self.take_buffer()
    }

    /// The try under way failed with `error`: tried again while tries are left, else the
    /// emitter gets `error` and the next emit is tried.
    fn try_failed(
        &mut self,
        error: AckError,
        connected: bool,
        now: Instant,
    ) -> Option<OutgoingEmit> {
        let (emit, tries) = self.retry.front_mut()?;
        *tries += 1;
        tracing::debug!(tries = *tries, %error, "retry emit not acknowledged");
        if *tries > emit.retries {
            self.finish_first(Err(error));
        }
        self.attempt = None;
        self.begin_try(connected, now)
    }

    /// Answers the first retry emit's emitter with `result` and takes it off the queue.
    fn finish_first(&mut self, result: AckResult) {
        self.attempt = None;
        if let Some((emit, _)) = self.retry.pop_front() {
            self.retry_bytes -= emit.size;
            answer(emit, result);
        }
        self.publish();
    }

    /// Starts a try of the first retry emit, if any; returns it to write when `connected`.
    fn begin_try(&mut self, connected: bool, now: Instant) -> Option<OutgoingEmit> {
        let (emit, _) = self.retry.front()?;
        self.attempt = Some(Try {
            deadline: now.checked_add(emit.timeout),
            sent_as: None,
        });
        if connected {
            self.retry_connected()
        } else {
            None
        }
    }

    fn publish(&self) {
        if let Some(stats) = &self.stats {
            stats.emits.store(self.len(), Ordering::Release);
            stats.bytes.store(self.bytes(), Ordering::Release);
        }
    }
}

/// Gives a retry emit's emitter its outcome.
fn answer(emit: RetryEmit, result: AckResult) {
    if let Some(reply_tx) = emit.reply_tx {
        let _ = reply_tx.send(result);
    }
}

/// The text and attachments of `packet` asking for ack `id`. The ack id is the outbox's,
/// not the ack table's: the emit is written as one that asks for none.
fn encode(packet: &Packet, id: u64) -> OutgoingEmit {
    let mut packet = packet.clone();
    packet.id = Some(id);
    let (text, attachments) = packet.to_text();
    OutgoingEmit::new(packet.nsp.as_str().into(), text, attachments, false)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;
    use crate::value::Value;

    fn emit(id: u64, bytes: usize) -> OutgoingEmit {
        OutgoingEmit::new("/".into(), "x".repeat(bytes), Vec::new(), false).asking(Some(id))
    }

    /// An emit whose emitter waits to learn whether it was taken.
    fn admitted(id: u64, bytes: usize) -> (OutgoingEmit, oneshot::Receiver<Result<(), EmitError>>) {
        let (admission_tx, admission_rx) = oneshot::channel();
        let mut emit = emit(id, bytes);
        emit.set_admission(admission_tx);
        (emit, admission_rx)
    }

    fn outbox(max_emits: usize, policy: BufferPolicy) -> Outbox {
        Outbox::new(BufferLimits {
            max_emits,
            max_bytes: 100,
            policy,
        })
    }

    fn ids(outbox: &Outbox) -> Vec<u64> {
        outbox.buffer.iter().filter_map(|e| e.ack_id).collect()
    }

    #[test]
    fn full_buffer_refuses_an_emit_that_waits_for_admission() {
        let mut outbox = outbox(2, BufferPolicy::Reject);
        let (first, mut first_admission) = admitted(1, 10);
        assert!(matches!(outbox.buffer(first), Buffered::Taken { .. }));
        assert!(matches!(first_admission.try_recv(), Ok(Ok(()))));
        outbox.buffer(emit(2, 10));
        let (third, _) = admitted(3, 10);
        assert!(matches!(outbox.buffer(third), Buffered::Refused(e) if e.ack_id == Some(3)));
        assert_eq!(ids(&outbox), [1, 2]);
        assert_eq!(outbox.bytes(), 20);
    }

    #[test]
    fn full_buffer_takes_an_emit_made_while_believed_connected() {
        let mut outbox = outbox(1, BufferPolicy::Reject);
        outbox.buffer(emit(1, 10));
        assert!(matches!(outbox.buffer(emit(2, 10)), Buffered::Taken { .. }));
        assert_eq!(ids(&outbox), [1, 2]);
    }

    #[test]
    fn full_buffer_drops_the_oldest_with_drop_oldest() {
        let mut outbox = outbox(2, BufferPolicy::DropOldest);
        outbox.buffer(emit(1, 10));
        outbox.buffer(emit(2, 10));
        let Buffered::Taken { dropped } = outbox.buffer(emit(3, 10)) else {
            panic!("taken");
        };
        assert_eq!(dropped[0].ack_id, Some(1));
        assert_eq!(ids(&outbox), [2, 3]);
    }

    #[test]
    fn byte_bound_applies_too() {
        let mut outbox = outbox(10, BufferPolicy::Reject);
        outbox.buffer(emit(1, 60));
        let (second, _) = admitted(2, 60);
        assert!(matches!(outbox.buffer(second), Buffered::Refused(_)));
        assert_eq!(outbox.bytes(), 60);
    }

    #[test]
    fn taking_the_buffer_empties_it_in_order_and_publishes_the_size() {
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let stats = Arc::new(BufferStats::default());
        outbox.publish_to(stats.clone());
        outbox.buffer(emit(1, 10));
        outbox.buffer(emit(2, 20));
        assert_eq!(stats.emits.load(Ordering::Acquire), 2);
        assert_eq!(stats.bytes.load(Ordering::Acquire), 30);
        let taken: Vec<u64> = outbox
            .take_buffer()
            .iter()
            .filter_map(|e| e.ack_id)
            .collect();
        assert_eq!(taken, [1, 2]);
        assert_eq!(stats.emits.load(Ordering::Acquire), 0);
        assert_eq!(stats.bytes.load(Ordering::Acquire), 0);
    }

    #[test]
    fn an_expired_ack_takes_its_emit_out_of_the_buffer() {
        let mut outbox = outbox(10, BufferPolicy::Reject);
        outbox.buffer(emit(1, 10));
        outbox.buffer(emit(2, 10));
        outbox.unbuffer_ack(1);
        assert_eq!(ids(&outbox), [2]);
        assert_eq!(outbox.bytes(), 10);
    }

    const TIMEOUT: Duration = Duration::from_secs(1);

    /// A retry emit of `echo` with `n`, and where its outcome goes.
    fn retry_emit(n: i64, retries: u32) -> (RetryEmit, oneshot::Receiver<AckResult>) {
        let (reply_tx, reply_rx) = oneshot::channel();
        let packet = Packet::event("/", vec![Value::from("echo"), Value::from(n)], None);
        (
            RetryEmit {
                packet,
                size: 10,
                retries,
                timeout: TIMEOUT,
                reply_tx: Some(reply_tx),
                admission: None,
            },
            reply_rx,
        )
    }

    fn text(emit: Option<OutgoingEmit>) -> String {
        let emit = emit.expect("an emit to write");
        assert_eq!(emit.ack_id, None, "the ack table knows nothing of it");
        emit.text
    }

    #[test]
    fn retry_emits_go_one_at_a_time_in_order() {
        let now = Instant::now();
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let (first, mut first_rx) = retry_emit(1, 2);
        let (second, mut second_rx) = retry_emit(2, 2);
        assert_eq!(text(outbox.push_retry(first, true, now)), r#"20["echo",1]"#);
        assert!(
            outbox.push_retry(second, true, now).is_none(),
            "one in flight"
        );
        assert_eq!(outbox.len(), 2);
        assert!(
            outbox
                .retry_acked(7, Payload::default(), true, || now)
                .is_err(),
            "not ours"
        );
        let next = outbox.retry_acked(0, Payload::from_values(&[Value::from("ok")]), true, || now);
        assert_eq!(text(next.expect("ours")), r#"21["echo",2]"#);
        assert!(
            matches!(first_rx.try_recv(), Ok(Ok(args)) if args.values() == [Value::from("ok")])
        );
        assert!(second_rx.try_recv().is_err(), "still waiting");
        assert_eq!(
            outbox
                .retry_acked(1, Payload::default(), true, || now)
                .map(|e| e.is_none())
                .ok(),
            Some(true)
        );
        assert!(matches!(second_rx.try_recv(), Ok(Ok(args)) if args.values().is_empty()));
        assert_eq!(outbox.len(), 0);
        assert_eq!(outbox.next_deadline(), None);
    }

    #[test]
    fn a_timed_out_try_is_sent_again_with_a_new_id_until_the_tries_run_out() {
        let start = Instant::now();
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let (only, mut reply_rx) = retry_emit(1, 1);
        assert_eq!(
            text(outbox.push_retry(only, true, start)),
            r#"20["echo",1]"#
        );
        assert_eq!(outbox.next_deadline(), Some(start + TIMEOUT));
        assert!(
            outbox.expire(true, start + TIMEOUT / 2).is_none(),
            "not yet"
        );
        let later = start + TIMEOUT;
        assert_eq!(text(outbox.expire(true, later)), r#"21["echo",1]"#);
        assert_eq!(outbox.next_deadline(), Some(later + TIMEOUT));
        assert!(
            outbox
                .retry_acked(0, Payload::default(), true, || later)
                .is_err(),
            "an old try"
        );
        assert!(
            outbox.expire(true, later + TIMEOUT).is_none(),
            "no tries left"
        );
        assert!(matches!(reply_rx.try_recv(), Ok(Err(AckError::Timeout(t))) if t == TIMEOUT));
        assert_eq!(outbox.len(), 0);
    }

    #[test]
    fn a_try_lost_with_the_connection_is_sent_again_once_connected() {
        let now = Instant::now();
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let (only, mut reply_rx) = retry_emit(1, 3);
        assert!(
            outbox.push_retry(only, false, now).is_none(),
            "waits for the namespace"
        );
        assert_eq!(text(outbox.retry_connected()), r#"20["echo",1]"#);
        assert!(outbox.retry_connected().is_none(), "already sent");
        outbox.retry_lost(now);
        outbox.retry_lost(now);
        assert_eq!(text(outbox.retry_connected()), r#"21["echo",1]"#);
        assert_eq!(
            outbox
                .retry_acked(1, Payload::default(), true, || now)
                .map(|e| e.is_none())
                .ok(),
            Some(true)
        );
        assert!(matches!(reply_rx.try_recv(), Ok(Ok(args)) if args.values().is_empty()));
    }

    #[test]
    fn the_last_lost_try_fails_as_disconnected_and_the_next_emit_waits_its_turn() {
        let now = Instant::now();
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let (first, mut first_rx) = retry_emit(1, 0);
        let (second, mut second_rx) = retry_emit(2, 0);
        outbox.push_retry(first, true, now);
        outbox.push_retry(second, true, now);
        outbox.retry_lost(now);
        assert!(matches!(
            first_rx.try_recv(),
            Ok(Err(AckError::Disconnected))
        ));
        assert!(second_rx.try_recv().is_err());
        assert_eq!(text(outbox.retry_connected()), r#"21["echo",2]"#);
    }

    #[test]
    fn a_full_outbox_refuses_a_retry_emit_with_reject() {
        let now = Instant::now();
        let mut outbox = outbox(1, BufferPolicy::Reject);
        let (first, _first_rx) = retry_emit(1, 0);
        let (second, mut second_rx) = retry_emit(2, 0);
        let (admission_tx, mut admission_rx) = oneshot::channel();
        outbox.push_retry(first, false, now);
        outbox.push_retry(
            RetryEmit {
                admission: Some(admission_tx),
                ..second
            },
            false,
            now,
        );
        assert!(matches!(
            admission_rx.try_recv(),
            Ok(Err(EmitError::BufferFull))
        ));
        assert!(matches!(
            second_rx.try_recv(),
            Ok(Err(AckError::Emit(EmitError::BufferFull)))
        ));
        assert_eq!(outbox.len(), 1);
    }

    #[test]
    fn a_full_outbox_drops_the_oldest_retry_emit_not_under_way() {
        let now = Instant::now();
        let mut outbox = outbox(2, BufferPolicy::DropOldest);
        let (first, mut first_rx) = retry_emit(1, 0);
        let (second, mut second_rx) = retry_emit(2, 0);
        let (third, _third_rx) = retry_emit(3, 0);
        outbox.push_retry(first, true, now);
        outbox.push_retry(second, true, now);
        outbox.push_retry(third, true, now);
        assert!(first_rx.try_recv().is_err(), "the one under way stays");
        assert!(matches!(second_rx.try_recv(), Ok(Err(AckError::Discarded))));
        assert_eq!(outbox.len(), 2);
    }

    #[test]
    fn discarding_answers_every_retry_emit_and_returns_the_buffer() {
        let now = Instant::now();
        let mut outbox = outbox(10, BufferPolicy::Reject);
        let (first, mut first_rx) = retry_emit(1, 5);
        outbox.push_retry(first, true, now);
        outbox.buffer(emit(9, 10));
        let buffered = outbox.discard(&AckError::Closed);
        assert_eq!(buffered.len(), 1);
        assert!(matches!(first_rx.try_recv(), Ok(Err(AckError::Closed))));
        assert_eq!((outbox.len(), outbox.next_deadline()), (0, None));
    }
}
