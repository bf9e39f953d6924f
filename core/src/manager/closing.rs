//! The request to close a manager: set by its handle before the close command, watched by
//! the connection task while a write is stalled.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Whether a close was requested: a flag and a `Notify` in one small allocation, where a
/// `watch` channel of a `bool` allocated ~350 bytes per manager.
#[derive(Debug, Default)]
pub(crate) struct Closing {
    requested: AtomicBool,
    notify: Notify,
}

impl Closing {
    /// Requests the close: wakes a task waiting in [`Closing::requested`].
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Resolves once a close is requested; never when none is.
    pub(crate) async fn requested(&self) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        // Registered before the flag is read: a request from then on wakes it.
        notified.as_mut().enable();
        if !self.requested.load(Ordering::SeqCst) {
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_request_wakes_the_waiting_task_and_later_waits_end_at_once() {
        let closing = Arc::new(Closing::default());
        let waiting = tokio::spawn({
            let closing = closing.clone();
            async move { closing.requested().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no request yet");
        closing.request();
        waiting.await.expect("woken by the request");
        closing.requested().await;
    }
}
