//! One consumer's bounded queue of deliveries (a pull stream's or the dispatcher's): the
//! connection task queues, the consumer takes.
//!
//! One sender, one receiver, like a tokio `mpsc` channel of `capacity` used that way, but
//! its storage grows by use and is given back once drained: tokio's channel allocates its
//! state (512 bytes) and a first block of 32 slots (1 KiB) when made, 1.5 KiB for every
//! socket read through a stream, most of them idle.
//!
//! Policy when full (`capacity` deliveries queued): [`DeliveryTx::try_send`] refuses
//! ([`Refused::Full`]); the connection task counts the event as missed
//! (see [`Subscribers`](super::Subscribers)), or first waits for room with
//! [`DeliveryTx::room`]. Once the sender is dropped, the receiver gets what is queued,
//! then the end; once the receiver is dropped, what is queued is dropped and every send
//! is refused ([`Refused::Closed`]).

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use crate::manager::command::Delivery;

/// A new queue holding at most `capacity` deliveries (at least one).
pub(crate) fn channel(capacity: usize) -> (DeliveryTx, DeliveryRx) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            receiver: None,
            room_wanted: 0,
            sender_gone: false,
            receiver_gone: false,
        }),
        room: Notify::new(),
        capacity: capacity.max(1),
        queued: AtomicU64::new(0),
    });
    (DeliveryTx(shared.clone()), DeliveryRx(shared))
}

/// Why [`DeliveryTx::try_send`] did not queue a delivery (which it drops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds `capacity` deliveries.
    Full,
    /// The receiver is gone.
    Closed,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Told when the free slots reach what a waiting [`DeliveryTx::room`] wants, or the
    /// receiver is gone.
    room: Notify,
    capacity: usize,
    /// Deliveries queued since the queue was made, taken or not: raised under the lock
    /// with each push.
    queued: AtomicU64,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Delivery>,
    /// The receiver's waker, set while it waits on an empty queue.
    receiver: Option<Waker>,
    /// Free slots a waiting [`DeliveryTx::room`] wants (0: none waits).
    room_wanted: usize,
    sender_gone: bool,
    receiver_gone: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a few pushes and pops: a panic leaves no broken state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Free slots.
    fn free(&self, state: &State) -> usize {
        self.capacity.saturating_sub(state.items.len())
    }
}

/// The sending end, the connection task's. The queue ends when it is dropped.
#[derive(Debug)]
pub(crate) struct DeliveryTx(Arc<Shared>);

/// The receiving end, the consumer's.
#[derive(Debug)]
pub(crate) struct DeliveryRx(Arc<Shared>);

impl DeliveryTx {
    /// Queues `delivery` if there is room and the receiver is there.
    ///
    /// # Errors
    /// [`Refused::Full`] or [`Refused::Closed`]; the delivery is dropped.
    pub(crate) fn try_send(&self, delivery: Delivery) -> Result<(), Refused> {
        let mut state = self.0.lock();
        if state.receiver_gone {
            return Err(Refused::Closed);
        }
        if state.items.len() >= self.0.capacity {
            return Err(Refused::Full);
        }
        state.items.push_back(delivery);
        self.0.queued.fetch_add(1, Ordering::SeqCst);
        let waker = state.receiver.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.lock().receiver_gone
    }

    /// Whether `slots` slots are free, or the receiver is gone (nothing will drain it).
    pub(crate) fn has_room(&self, slots: usize) -> bool {
        let state = self.0.lock();
        state.receiver_gone || self.0.free(&state) >= slots
    }

    /// Resolves once `slots` slots (at most the capacity) are free, or the receiver is
    /// gone. Keeps neither the queue open nor a slot.
    pub(crate) fn room(&self, slots: usize) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.0.clone();
        let slots = slots.clamp(1, shared.capacity);
        async move {
            loop {
                let freed = shared.room.notified();
                let mut freed = std::pin::pin!(freed);
                // Registered before the check: a take in between still wakes this.
                freed.as_mut().enable();
                {
                    let mut state = shared.lock();
                    if state.receiver_gone || shared.free(&state) >= slots {
                        return;
                    }
                    state.room_wanted = state.room_wanted.max(slots);
                }
                freed.await;
            }
        }
    }
}

impl Drop for DeliveryTx {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.0.lock();
            state.sender_gone = true;
            state.receiver.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// How many deliveries a queue has been given, read without its receiver (which its
/// consumer may be holding while it waits).
#[derive(Debug, Clone)]
pub(crate) struct QueuedCount(Arc<Shared>);

impl QueuedCount {
    /// Deliveries queued since the queue was made, taken or not. Read after an
    /// announcement the connection task made after queueing, it counts what was queued
    /// before that announcement.
    pub(crate) fn get(&self) -> u64 {
        self.0.queued.load(Ordering::SeqCst)
    }
}

impl DeliveryRx {
    /// A count of the deliveries this queue has been given (see [`QueuedCount`]).
    pub(crate) fn queued_count(&self) -> QueuedCount {
        QueuedCount(self.0.clone())
    }

    /// The next delivery, registering `cx` when the queue is empty; `None` once the
    /// sender is gone and everything queued was taken.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let mut state = self.0.lock();
        if let Some(delivery) = self.take(&mut state) {
            return Poll::Ready(Some(delivery));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        register(&mut state, cx);
        Poll::Pending
    }

    /// Takes up to `max` deliveries (at least one) in one critical section, stopping once
    /// their bytes reach their account's bound: a consumer on another thread than the
    /// connection task's locks the queue once per batch instead of once per delivery, so
    /// the two rarely contend for the lock (a contended lock costs both a futex call).
    /// `Pending` when nothing is queued (`cx` registered for the next delivery); empty
    /// once the sender is gone and everything queued was taken. Whatever it returns, `cx`
    /// is woken when there is more to take: at once when the batch stopped at `max` or
    /// the bound, or the sender is gone; else by the next delivery.
    pub(crate) fn poll_recv_batch(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<Vec<Delivery>> {
        let mut state = self.0.lock();
        let Some(first) = pop(&mut state) else {
            if state.sender_gone {
                return Poll::Ready(Vec::new());
            }
            register(&mut state, cx);
            return Poll::Pending;
        };
        let bound = first.charge.bound();
        let mut bytes = first.charge.bytes();
        let mut batch = Vec::with_capacity(max.min(state.items.len() + 1));
        batch.push(first);
        let more = loop {
            if batch.len() >= max || bound.is_some_and(|bound| bytes >= bound) {
                break true;
            }
            match pop(&mut state) {
                Some(delivery) => {
                    bytes = bytes.saturating_add(delivery.charge.bytes());
                    batch.push(delivery);
                }
                None if state.sender_gone => break true,
                None => {
                    register(&mut state, cx);
                    break false;
                }
            }
        };
        let room = self.room_reached(&mut state);
        drop(state);
        if room {
            self.0.room.notify_waiters();
        }
        if more {
            cx.waker().wake_by_ref();
        }
        Poll::Ready(batch)
    }

    /// Waits for the next delivery; `None` once the sender is gone and everything queued
    /// was taken. Cancel-safe: nothing is taken unless returned.
    pub(crate) async fn recv(&mut self) -> Option<Delivery> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next delivery if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Delivery> {
        let mut state = self.0.lock();
        self.take(&mut state)
    }

    /// Takes the first delivery; tells a waiting [`DeliveryTx::room`] once the free
    /// slots reach what it wants.
    fn take(&self, state: &mut State) -> Option<Delivery> {
        let delivery = pop(state)?;
        if self.room_reached(state) {
            self.0.room.notify_waiters();
        }
        Some(delivery)
    }

    /// Whether the free slots reach what a waiting [`DeliveryTx::room`] wants, which is
    /// then to be told (once).
    fn room_reached(&self, state: &mut State) -> bool {
        let reached = state.room_wanted > 0 && self.0.free(state) >= state.room_wanted;
        if reached {
            state.room_wanted = 0;
        }
        reached
    }
}

/// Takes the first delivery. The storage is given back when this empties the queue: an
/// idle consumer holds none.
fn pop(state: &mut State) -> Option<Delivery> {
    let delivery = state.items.pop_front()?;
    if state.items.is_empty() {
        state.items = VecDeque::new();
    }
    Some(delivery)
}

/// Keeps `cx`'s waker for the next delivery (unless it is the one kept already).
fn register(state: &mut State, cx: &Context<'_>) {
    if !state
        .receiver
        .as_ref()
        .is_some_and(|waker| waker.will_wake(cx.waker()))
    {
        state.receiver = Some(cx.waker().clone());
    }
}

impl Drop for DeliveryRx {
    fn drop(&mut self) {
        let items = {
            let mut state = self.0.lock();
            state.receiver_gone = true;
            std::mem::take(&mut state.items)
        };
        self.0.room.notify_waiters();
        // Outside the lock: each delivery's charge gives its bytes back.
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::command::Charge;
    use crate::manager::event::SocketEvent;

    fn delivery(seq: u64) -> Delivery {
        Delivery {
            seq,
            event: Box::new(SocketEvent::Lagged(1)),
            charge: Charge::default(),
        }
    }

    fn seqs(rx: &mut DeliveryRx) -> Vec<u64> {
        std::iter::from_fn(|| rx.try_recv())
            .map(|delivery| delivery.seq)
            .collect()
    }

    #[test]
    fn a_new_queue_allocates_no_storage() {
        let (_tx, rx) = channel(1024);
        assert_eq!(rx.0.lock().items.capacity(), 0);
    }

    #[test]
    fn deliveries_leave_in_order_and_a_full_queue_refuses() {
        let (tx, mut rx) = channel(2);
        assert!(tx.has_room(2));
        tx.try_send(delivery(0)).expect("room");
        tx.try_send(delivery(1)).expect("room");
        assert_eq!(tx.try_send(delivery(2)), Err(Refused::Full));
        assert!(!tx.has_room(1));
        assert_eq!(seqs(&mut rx), [0, 1]);
        assert!(tx.has_room(2));
        assert_eq!(rx.0.lock().items.capacity(), 0, "given back once drained");
    }

    #[tokio::test]
    async fn the_receiver_gets_what_is_queued_then_the_end() {
        let (tx, mut rx) = channel(4);
        tx.try_send(delivery(7)).expect("room");
        drop(tx);
        assert_eq!(rx.recv().await.map(|d| d.seq), Some(7));
        assert!(rx.recv().await.is_none());
        assert!(rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_delivery_and_by_the_end() {
        let (tx, mut rx) = channel(4);
        let waiting = tokio::spawn(async move {
            let first = rx.recv().await.map(|d| d.seq);
            (first, rx.recv().await.is_none())
        });
        tokio::task::yield_now().await;
        tx.try_send(delivery(3)).expect("room");
        tokio::task::yield_now().await;
        drop(tx);
        assert_eq!(waiting.await.expect("ran"), (Some(3), true));
    }

    #[test]
    fn a_gone_receiver_refuses_sends_and_drops_what_was_queued() {
        let queued = Arc::new(crate::manager::command::QueuedBytes::new(usize::MAX));
        let (tx, rx) = channel(4);
        let mut charged = delivery(0);
        charged.charge = queued.charge(10);
        tx.try_send(charged).expect("room");
        assert_eq!(queued.bytes(), 10);
        drop(rx);
        assert!(tx.is_closed());
        assert!(tx.has_room(4), "nothing will drain it");
        assert_eq!(
            queued.bytes(),
            0,
            "the dropped delivery gave its bytes back"
        );
        assert_eq!(tx.try_send(delivery(1)), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn room_resolves_once_enough_slots_are_taken_or_the_receiver_is_gone() {
        let (tx, mut rx) = channel(3);
        for seq in 0..3 {
            tx.try_send(delivery(seq)).expect("room");
        }
        let room = tokio::spawn(tx.room(2));
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_some());
        tokio::task::yield_now().await;
        assert!(!room.is_finished(), "one slot free, two wanted");
        assert!(rx.try_recv().is_some());
        room.await.expect("two slots free");

        tx.try_send(delivery(3)).expect("room");
        tx.try_send(delivery(4)).expect("room");
        let room = tokio::spawn(tx.room(2));
        tokio::task::yield_now().await;
        drop(rx);
        room.await.expect("the receiver is gone");
    }

    #[tokio::test]
    async fn a_batch_is_taken_in_order_up_to_max_and_tells_a_waiting_sender_of_its_room() {
        let (tx, mut rx) = channel(4);
        for seq in 0..4 {
            tx.try_send(delivery(seq)).expect("room");
        }
        let room = tokio::spawn(tx.room(3));
        tokio::task::yield_now().await;
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(batch) = rx.poll_recv_batch(&mut cx, 3) else {
            panic!("deliveries are queued");
        };
        assert_eq!(batch.iter().map(|d| d.seq).collect::<Vec<_>>(), [0, 1, 2]);
        room.await.expect("three slots free");
        let Poll::Ready(batch) = rx.poll_recv_batch(&mut cx, 3) else {
            panic!("a delivery is queued");
        };
        assert_eq!(batch.iter().map(|d| d.seq).collect::<Vec<_>>(), [3]);
        assert!(rx.poll_recv_batch(&mut cx, 3).is_pending());
        drop(tx);
        assert!(
            matches!(rx.poll_recv_batch(&mut cx, 3), Poll::Ready(batch) if batch.is_empty()),
            "the end, once drained"
        );
    }
}
