//! `Flushes`: requests that a subscription's task hand its listener every event queued so
//! far, and the answers to them.
//!
//! A waiter asks (a numbered ticket) and waits for an answer at least that high; the task
//! sees the highest ticket asked, delivers what its queue holds at that moment, then
//! answers it, which answers every ticket asked before it too.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::latch::wait_until;

/// The flush requests of one subscription and their answers.
#[derive(Default)]
pub(crate) struct Flushes {
    /// The last ticket asked.
    asked: AtomicU64,
    /// The last ticket answered.
    answered: AtomicU64,
    /// Wakes the task: `notify_one` keeps the wake-up for a task busy with a batch.
    asking: Notify,
    /// Wakes the waiters once a ticket is answered.
    answering: Notify,
}

impl Flushes {
    /// Asks for a flush; returns the ticket that [`Flushes::answered`] waits for.
    pub(crate) fn ask(&self) -> u64 {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        self.asking.notify_one();
        ticket
    }

    /// For the task: the last ticket asked, when it is not answered yet.
    pub(crate) fn pending(&self) -> Option<u64> {
        let asked = self.asked.load(Ordering::SeqCst);
        (asked > self.answered.load(Ordering::SeqCst)).then_some(asked)
    }

    /// For the task: resolves when a flush may have been asked since the last `pending`
    /// (the task then checks `pending`).
    pub(crate) async fn asking(&self) {
        self.asking.notified().await;
    }

    /// For the task: answers `ticket` and every ticket before it.
    pub(crate) fn answer(&self, ticket: u64) {
        self.answered.fetch_max(ticket, Ordering::SeqCst);
        self.answering.notify_waiters();
    }

    /// Resolves once `ticket` is answered.
    pub(crate) async fn answered(&self, ticket: u64) {
        wait_until(&self.answering, || {
            self.answered.load(Ordering::SeqCst) >= ticket
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;
    use crate::runtime::runtime;

    #[test]
    fn nothing_is_pending_until_asked() {
        let flushes = Flushes::default();
        assert_eq!(flushes.pending(), None);
        assert_eq!(flushes.ask(), 1);
        assert_eq!(flushes.pending(), Some(1));
    }

    #[test]
    fn an_answer_answers_every_ticket_asked_before_it() {
        let flushes = Flushes::default();
        let (first, second) = (flushes.ask(), flushes.ask());
        assert_eq!(flushes.pending(), Some(second));
        flushes.answer(second);
        assert_eq!(flushes.pending(), None);
        assert!(flushes.answered(first).now_or_never().is_some());
        assert!(flushes.answered(second).now_or_never().is_some());
    }

    #[test]
    fn a_ticket_asked_after_the_answer_stays_pending() {
        let flushes = Flushes::default();
        let first = flushes.ask();
        flushes.answer(first);
        let second = flushes.ask();
        assert_eq!(flushes.pending(), Some(second));
        assert!(flushes.answered(second).now_or_never().is_none());
    }

    #[test]
    fn an_older_answer_does_not_undo_a_newer_one() {
        let flushes = Flushes::default();
        let (first, second) = (flushes.ask(), flushes.ask());
        flushes.answer(second);
        flushes.answer(first);
        assert_eq!(flushes.pending(), None);
    }

    #[test]
    fn the_task_is_woken_by_an_ask_made_while_it_was_busy() {
        let flushes = Flushes::default();
        flushes.ask();
        assert!(flushes.asking().now_or_never().is_some());
    }

    #[test]
    fn waiters_are_woken_by_the_answer() {
        let flushes = std::sync::Arc::new(Flushes::default());
        let ticket = flushes.ask();
        runtime().block_on(async {
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let flushes = flushes.clone();
                    tokio::spawn(async move { flushes.answered(ticket).await })
                })
                .collect();
            tokio::task::yield_now().await;
            flushes.answer(ticket);
            for waiter in waiters {
                waiter.await.unwrap();
            }
        });
    }
}
