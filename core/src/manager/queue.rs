//! The bounded queue of commands from the handles to the connection task.
//!
//! Many senders, one receiver, like tokio's `mpsc`, with three differences that matter on
//! the emit path and for idle connections:
//! - Storage grows by use. tokio's channel allocates a block of 32 slots up front (32
//!   commands of ~150 bytes, 4.9 KiB for every connection, even an idle one).
//! - A send is one uncontended lock of state the receiver touches once per batch. tokio's
//!   send updates the semaphore, the block's tail and ready bits and the receiver's waker,
//!   atomics the receiver also writes for every message: with the emitter and the
//!   connection task on two cores their cache lines moved back and forth per emit (perf:
//!   those atomics were most of `Socket::send_emit`, 13 % of the emit loop).
//! - The receiver is woken only when it waits for an empty queue: while it works through a
//!   batch, senders only append. On a multi-thread runtime (Unix), a sender outside the
//!   runtime's tasks that then waits for the receiver's answer wakes it through a
//!   [doorbell](super::doorbell) the I/O driver watches, not through tokio's shared
//!   queue: one worker wakes instead of two.
//!
//! - A sender waiting for room is woken once the queue has drained to half its capacity,
//!   not for every batch taken: an emitter faster than the connection task parks once
//!   per half queue instead of once per batch (with tokio's channel: once per 64 emits,
//!   a futex wake-up and a context switch each).
//!
//! Policy when full (`capacity` items queued): [`CommandTx::try_send`] refuses
//! ([`TrySendError::Full`]); [`CommandTx::send`] waits for room. Waiting senders are
//! served first come, first served, and a `try_send` does not overtake them, so one
//! task's commands keep their order, and the order in which waiting tasks queued.
//! Senders are counted: once the last one is dropped, the receiver gets what remains,
//! then the end (`recv_many` gives 0). Once the receiver is dropped, the queued items are
//! dropped and every send fails with its item back.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use super::doorbell::{doorbell, Bell, BellRx};

/// Why [`CommandTx::try_send`] did not queue the item, which it gives back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError<T> {
    /// The queue holds `capacity` items, or senders wait for room.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// The receiver is gone; the item that could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed<T>(pub(crate) T);

/// A new queue holding at most `capacity` items (at least one), with a doorbell when made
/// on a multi-thread runtime (Unix), rung for the items `awaits_reply` picks.
pub(crate) fn channel<T>(
    capacity: usize,
    awaits_reply: fn(&T) -> bool,
) -> (CommandTx<T>, CommandRx<T>) {
    let (bell, bell_rx) = doorbell().unzip();
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            receiver: None,
            closed: false,
            waiting: VecDeque::new(),
            next_ticket: 0,
        }),
        senders: AtomicUsize::new(1),
        capacity: capacity.max(1),
        ringing: AtomicBool::new(bell.is_some()),
        bell,
        awaits_reply,
    });
    let rx = CommandRx {
        shared: shared.clone(),
        bell_rx,
    };
    (CommandTx(shared), rx)
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Live [`CommandTx`] handles.
    senders: AtomicUsize,
    capacity: usize,
    /// Rung instead of waking the receiver by a sender outside the runtime's tasks.
    bell: Option<Bell>,
    /// Whether the receiver watches the bell (until the I/O driver shuts down).
    ringing: AtomicBool,
    /// Whether the sender of an item waits for the receiver's answer: its thread then
    /// sleeps, and a ring wakes one worker where tokio's shared queue wakes two. A sender
    /// that goes on sending keeps its core busy, and the runtime's active worker takes
    /// the task from the shared queue mostly without a wake-up, which a ring would cost
    /// every time (`benches/NOTES.md`).
    awaits_reply: fn(&T) -> bool,
}

struct State<T> {
    queue: VecDeque<T>,
    /// The receiver's waker, set while it waits for an empty queue to get an item.
    receiver: Option<Waker>,
    /// The receiver is gone.
    closed: bool,
    /// Senders waiting for room, in arrival order: their ticket and waker.
    waiting: VecDeque<(u64, Waker)>,
    next_ticket: u64,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while the lock is held leaves no broken invariant: every critical
        // section is a few pushes and pops.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether an item is worth a ring of the doorbell, if there is one.
    fn rings_for(&self, item: &T) -> bool {
        self.bell.is_some() && (self.awaits_reply)(item)
    }

    /// Wakes the receiver, which waits for an item: through the doorbell when `ring` (the
    /// item is worth it) and the caller is not a task of a runtime (whose wake-up tokio
    /// schedules on the caller's worker), else with its waker.
    fn wake_receiver(&self, waker: Waker, ring: bool) {
        let rung = match &self.bell {
            Some(bell)
                if ring
                    && tokio::task::try_id().is_none()
                    && self.ringing.load(Ordering::SeqCst) =>
            {
                bell.ring()
            }
            _ => false,
        };
        if !rung {
            waker.wake();
        }
    }
}

impl<T> State<T> {
    /// Queues `item` and gives the receiver's waker when it waits for one.
    fn push(&mut self, item: T) -> Option<Waker> {
        self.queue.push_back(item);
        self.receiver.take()
    }

    /// The first waiting sender's waker, when there is room for it.
    fn next_waiting(&self, capacity: usize) -> Option<Waker> {
        if self.queue.len() < capacity {
            self.waiting.front().map(|(_, waker)| waker.clone())
        } else {
            None
        }
    }
}

/// A sending end; cloned for every handle. The queue ends when the last one is dropped.
pub(crate) struct CommandTx<T>(Arc<Shared<T>>);

/// A sending end that does not keep the queue open (the connection task's own, for ack
/// responders it makes).
pub(crate) struct WeakCommandTx<T>(Weak<Shared<T>>);

/// The receiving end.
pub(crate) struct CommandRx<T> {
    shared: Arc<Shared<T>>,
    /// The doorbell's end, watched while the queue is empty.
    bell_rx: Option<BellRx>,
}

impl<T> std::fmt::Debug for CommandTx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandTx").finish_non_exhaustive()
    }
}

impl<T> Clone for CommandTx<T> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        Self(self.0.clone())
    }
}

impl<T> Drop for CommandTx<T> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last sender: a receiver waiting on an empty queue learns the end.
        let waker = self.0.lock().receiver.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> CommandTx<T> {
    /// Queues `item` if there is room and no sender waits for room.
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the item.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.0.lock();
        if state.closed {
            return Err(TrySendError::Closed(item));
        }
        if state.queue.len() >= self.0.capacity || !state.waiting.is_empty() {
            return Err(TrySendError::Full(item));
        }
        let ring = self.0.rings_for(&item);
        let waker = state.push(item);
        drop(state);
        if let Some(waker) = waker {
            self.0.wake_receiver(waker, ring);
        }
        Ok(())
    }

    /// Queues `item`, waiting for room behind the senders already waiting. Cancel-safe:
    /// dropped while waiting, the item is not queued and the next waiting sender is served.
    ///
    /// # Errors
    /// [`Closed`] with the item when the receiver is gone.
    pub(crate) async fn send(&self, item: T) -> Result<(), Closed<T>> {
        let mut wait = Wait {
            shared: &self.0,
            ticket: None,
        };
        let mut item = Some(item);
        poll_fn(|cx| wait.poll_send(cx, &mut item)).await
    }

    /// A handle that does not keep the queue open.
    pub(crate) fn downgrade(&self) -> WeakCommandTx<T> {
        WeakCommandTx(Arc::downgrade(&self.0))
    }
}

/// A sender waiting for room; leaves the line when dropped.
struct Wait<'a, T> {
    shared: &'a Shared<T>,
    ticket: Option<u64>,
}

impl<T> Wait<'_, T> {
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        item: &mut Option<T>,
    ) -> Poll<Result<(), Closed<T>>> {
        let Some(value) = item.take() else {
            return Poll::Ready(Ok(()));
        };
        let shared = self.shared;
        let mut state = shared.lock();
        if state.closed {
            return Poll::Ready(Err(Closed(value)));
        }
        let first = match self.ticket {
            None => state.waiting.is_empty(),
            Some(ticket) => state.waiting.front().is_some_and(|(t, _)| *t == ticket),
        };
        if first && state.queue.len() < shared.capacity {
            if self.ticket.take().is_some() {
                state.waiting.pop_front();
            }
            let ring = shared.rings_for(&value);
            let receiver = state.push(value);
            let next = state.next_waiting(shared.capacity);
            drop(state);
            if let Some(waker) = receiver {
                shared.wake_receiver(waker, ring);
            }
            if let Some(waker) = next {
                waker.wake();
            }
            return Poll::Ready(Ok(()));
        }
        *item = Some(value);
        match self.ticket {
            Some(ticket) => {
                if let Some((_, waker)) = state.waiting.iter_mut().find(|(t, _)| *t == ticket) {
                    waker.clone_from(cx.waker());
                }
            }
            None => {
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                state.waiting.push_back((ticket, cx.waker().clone()));
                self.ticket = Some(ticket);
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Wait<'_, T> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else {
            return;
        };
        let mut state = self.shared.lock();
        state.waiting.retain(|(t, _)| *t != ticket);
        let next = state.next_waiting(self.shared.capacity);
        drop(state);
        if let Some(waker) = next {
            waker.wake();
        }
    }
}

impl<T> WeakCommandTx<T> {
    /// A sending end, unless the queue already ended (every sender dropped).
    pub(crate) fn upgrade(&self) -> Option<CommandTx<T>> {
        let shared = self.0.upgrade()?;
        let mut senders = shared.senders.load(Ordering::Relaxed);
        loop {
            if senders == 0 {
                return None;
            }
            match shared.senders.compare_exchange_weak(
                senders,
                senders + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(CommandTx(shared)),
                Err(now) => senders = now,
            }
        }
    }
}

/// The queue holds nothing now ([`CommandRx::try_recv`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Empty;

impl<T> CommandRx<T> {
    /// Closes the queue and keeps what it holds: every send fails from now on (waiting
    /// senders too, with their item), what was queued before can still be taken.
    pub(crate) fn close(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    /// The next queued item, without waiting.
    ///
    /// # Errors
    /// [`Empty`] when nothing is queued.
    pub(crate) fn try_recv(&mut self) -> Result<T, Empty> {
        let mut state = self.shared.lock();
        let item = state.queue.pop_front().ok_or(Empty)?;
        let next = if state.queue.len() <= self.shared.capacity / 2 {
            state.next_waiting(self.shared.capacity)
        } else {
            None
        };
        drop(state);
        if let Some(waker) = next {
            waker.wake();
        }
        Ok(item)
    }

    /// Moves up to `limit` queued items into `buffer`, waiting while the queue is empty;
    /// 0 once every sender is gone and nothing remains. Cancel-safe.
    pub(crate) async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.poll_recv_many(cx, buffer, limit)).await
    }

    fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        loop {
            if let Poll::Ready(count) = self.poll_take(cx, buffer, limit) {
                return Poll::Ready(count);
            }
            let Some(bell_rx) = &mut self.bell_rx else {
                return Poll::Pending;
            };
            if !self.shared.ringing.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
            match bell_rx.poll_rung(cx) {
                Poll::Pending => return Poll::Pending,
                // Rung (or spuriously): the queue is looked at again.
                Poll::Ready(true) => {}
                // The driver cannot watch the bell any more: senders wake the waker from
                // now on, and the queue is looked at again for an item rung meanwhile.
                Poll::Ready(false) => self.shared.ringing.store(false, Ordering::SeqCst),
            }
        }
    }

    /// Takes a batch, or registers the task's waker while the queue is empty.
    fn poll_take(&self, cx: &mut Context<'_>, buffer: &mut Vec<T>, limit: usize) -> Poll<usize> {
        let shared = &self.shared;
        let mut state = shared.lock();
        if state.queue.is_empty() {
            if shared.senders.load(Ordering::Acquire) == 0 {
                return Poll::Ready(0);
            }
            match &mut state.receiver {
                Some(waker) => waker.clone_from(cx.waker()),
                None => state.receiver = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let count = state.queue.len().min(limit.max(1));
        buffer.reserve_exact(count);
        buffer.extend(state.queue.drain(..count));
        // Drained: its room goes back to the allocator (an idle connection keeps none; a
        // steady stream keeps it, as the queue is rarely empty then).
        let released = state
            .queue
            .is_empty()
            .then(|| std::mem::take(&mut state.queue));
        // Waiting senders are told once half the room is free, not at every batch: a
        // sender faster than the connection task parks once per half queue.
        let next = if state.queue.len() <= shared.capacity / 2 {
            state.next_waiting(shared.capacity)
        } else {
            None
        };
        drop(state);
        drop(released);
        if let Some(waker) = next {
            waker.wake();
        }
        Poll::Ready(count)
    }
}

impl<T> Drop for CommandRx<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        let queued = std::mem::take(&mut state.queue);
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        drop(queued);
        for (_, waker) in waiting {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    /// A queue whose every item would ring (none does: tests outside a runtime have no
    /// doorbell, the multi-thread one's senders are tasks).
    fn channel<T>(capacity: usize) -> (CommandTx<T>, CommandRx<T>) {
        super::channel(capacity, |_| true)
    }

    /// A waker counting its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(counter: &Counter) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    fn recv_now(rx: &mut CommandRx<u32>, limit: usize) -> Poll<Vec<u32>> {
        let (_, waker) = counter();
        let mut buffer = Vec::new();
        rx.poll_recv_many(&mut Context::from_waker(&waker), &mut buffer, limit)
            .map(|_| buffer)
    }

    #[test]
    fn items_come_out_in_order_in_batches_of_at_most_the_limit() {
        let (tx, mut rx) = channel(10);
        for i in 0..5 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(recv_now(&mut rx, 3), Poll::Ready(vec![0, 1, 2]));
        assert_eq!(recv_now(&mut rx, 3), Poll::Ready(vec![3, 4]));
        assert_eq!(recv_now(&mut rx, 3), Poll::Pending);
    }

    #[test]
    fn a_full_queue_refuses_try_send() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(recv_now(&mut rx, 1), Poll::Ready(vec![1]));
        tx.try_send(3).unwrap();
    }

    #[test]
    fn the_receiver_is_woken_only_when_it_waits_for_an_empty_queue() {
        let (tx, mut rx) = channel(10);
        let (count, waker) = counter();
        let mut buffer = Vec::new();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 10), Poll::Pending);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(wakes(&count), 1, "one wake-up for the first item only");
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 1), Poll::Ready(1));
        tx.try_send(3).unwrap();
        assert_eq!(wakes(&count), 1, "not waiting: not woken");
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 10), Poll::Ready(2));
        assert_eq!(buffer, [1, 2, 3]);
    }

    #[test]
    fn waiting_senders_are_served_in_order_and_try_send_does_not_overtake_them() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (count_a, waker_a) = counter();
        let (_, waker_b) = counter();
        let mut a = pin!(tx.send(1));
        let mut b = pin!(tx.send(2));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&waker_a))
            .is_pending());
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&waker_b))
            .is_pending());
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![0]));
        assert_eq!(wakes(&count_a), 1, "the first waiting sender is told");
        assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&waker_b))
            .is_pending());
        assert_eq!(
            a.as_mut().poll(&mut Context::from_waker(&waker_a)),
            Poll::Ready(Ok(()))
        );
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![1]));
        assert_eq!(
            b.as_mut().poll(&mut Context::from_waker(&waker_b)),
            Poll::Ready(Ok(()))
        );
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![2]));
        tx.try_send(3).unwrap();
    }

    #[test]
    fn a_waiting_sender_is_told_once_half_the_room_is_free() {
        let (tx, mut rx) = channel(8);
        for i in 0..8 {
            tx.try_send(i).unwrap();
        }
        let (count, waker) = counter();
        let mut waiting = pin!(tx.send(8));
        let mut cx = Context::from_waker(&waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        assert_eq!(recv_now(&mut rx, 3), Poll::Ready(vec![0, 1, 2]));
        assert_eq!(wakes(&count), 0, "5 of 8 still queued");
        assert_eq!(recv_now(&mut rx, 1), Poll::Ready(vec![3]));
        assert_eq!(wakes(&count), 1, "half the room free");
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![4, 5, 6, 7, 8]));
    }

    #[test]
    fn a_cancelled_waiting_sender_hands_its_turn_to_the_next() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (_, waker_a) = counter();
        let (count_b, waker_b) = counter();
        let mut a = Box::pin(tx.send(1));
        let mut b = pin!(tx.send(2));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&waker_a))
            .is_pending());
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&waker_b))
            .is_pending());
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![0]));
        drop(a);
        assert_eq!(wakes(&count_b), 1);
        assert_eq!(
            b.as_mut().poll(&mut Context::from_waker(&waker_b)),
            Poll::Ready(Ok(()))
        );
        assert_eq!(recv_now(&mut rx, 10), Poll::Ready(vec![2]));
    }

    #[test]
    fn the_queue_ends_after_the_last_sender_once_drained() {
        let (tx, mut rx) = channel(4);
        let weak = tx.downgrade();
        let other = weak.upgrade().expect("open");
        tx.try_send(1).unwrap();
        drop(tx);
        let (count, waker) = counter();
        let mut buffer = Vec::new();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(1));
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Pending);
        drop(other);
        assert_eq!(wakes(&count), 1, "the waiting receiver learns the end");
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(0));
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_dropped_receiver_fails_senders_and_drops_the_queued_items() {
        let (tx, rx) = channel(1);
        let item = Arc::new(());
        let (arc_tx, arc_rx) = channel(1);
        arc_tx.try_send(item.clone()).unwrap();
        drop(arc_rx);
        assert_eq!(Arc::strong_count(&item), 1);
        tx.try_send(1).unwrap();
        let (count, waker) = counter();
        let mut waiting = pin!(tx.send(2));
        assert!(waiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(rx);
        assert_eq!(wakes(&count), 1);
        assert_eq!(
            waiting.as_mut().poll(&mut Context::from_waker(&waker)),
            Poll::Ready(Err(Closed(2)))
        );
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    }

    #[test]
    fn a_closed_queue_refuses_sends_and_keeps_what_it_holds() {
        let (tx, mut rx) = channel(1);
        tx.try_send(1).unwrap();
        let (count, waker) = counter();
        let mut waiting = pin!(tx.send(2));
        let mut cx = Context::from_waker(&waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        rx.close();
        assert_eq!(wakes(&count), 1);
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Err(Closed(2))));
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(Empty));
    }

    #[test]
    fn a_drained_queue_keeps_no_room() {
        let (tx, mut rx) = channel(1000);
        for i in 0..1000 {
            tx.try_send(i).unwrap();
        }
        while let Poll::Ready(batch) = recv_now(&mut rx, 64) {
            assert!(!batch.is_empty());
        }
        assert_eq!(rx.shared.lock().queue.capacity(), 0);
    }

    /// A waker that says so on a channel each time it is woken.
    struct Signal(std::sync::mpsc::Sender<()>);

    impl Wake for Signal {
        fn wake(self: Arc<Self>) {
            let _ = self.0.send(());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_sender_outside_the_runtime_rings_for_an_item_awaiting_a_reply_and_wakes_for_others() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_io()
            .build()
            .unwrap();
        let _inside = runtime.enter();
        let (tx, mut rx) = super::channel(4, |item: &u32| *item == 1);
        // The only worker is held: the doorbell, heard by the I/O driver of a parked
        // worker, wakes nobody until it is released.
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        runtime.spawn(async move {
            let _ = held_tx.send(());
            let _ = release_rx.recv();
        });
        held_rx.recv().unwrap();
        let (woken_tx, woken_rx) = std::sync::mpsc::channel();
        let waker = Waker::from(Arc::new(Signal(woken_tx)));
        let mut cx = Context::from_waker(&waker);
        let mut buffer = Vec::new();
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Pending);
        tx.try_send(0).unwrap();
        assert_eq!(woken_rx.try_recv(), Ok(()));
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(1));
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Pending);
        tx.try_send(1).unwrap();
        assert!(woken_rx.try_recv().is_err());
        release_tx.send(()).unwrap();
        woken_rx.recv().unwrap();
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(1));
        assert_eq!(buffer, [0, 1]);
        assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Pending);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_senders_on_threads_deliver_everything_in_each_senders_order() {
        let (tx, mut rx) = channel::<(u32, u32)>(8);
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..2000 {
                        if i % 3 == 0 {
                            tx.send((s, i)).await.unwrap();
                        } else {
                            while let Err(TrySendError::Full(_)) = tx.try_send((s, i)) {
                                tokio::task::yield_now().await;
                            }
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u32; 4];
        let mut buffer = Vec::new();
        while rx.recv_many(&mut buffer, 5).await > 0 {
            for (s, i) in buffer.drain(..) {
                assert_eq!(i, next[s as usize]);
                next[s as usize] += 1;
            }
        }
        for sender in senders {
            sender.await.unwrap();
        }
        assert_eq!(next, [2000; 4]);
    }
}
