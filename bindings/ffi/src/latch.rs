//! `Latch`: a flag set once, and the wake-up of the tasks waiting for it; [`wait_until`],
//! the wait on a condition woken by a `Notify` that it and other flags share.
//!
//! A flag and a `Notify` inline, where a `watch` channel would allocate ~350 bytes per
//! owner (a manager's tracker, each event queue).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Set once (setting it again does nothing more); [`Latch::until_set`] resolves once it is.
#[derive(Default)]
pub(crate) struct Latch {
    set: AtomicBool,
    setting: Notify,
}

impl Latch {
    /// Sets the latch and wakes every task waiting in [`Latch::until_set`].
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.setting.notify_waiters();
    }

    /// Whether the latch is set.
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once the latch is set (at once if it is).
    pub(crate) async fn until_set(&self) {
        wait_until(&self.setting, || self.is_set()).await;
    }
}

/// Resolves once `done` returns true, checking it at once and again after each wake-up of
/// `notify`, which whoever makes `done` true must wake with `notify_waiters` after doing so.
///
/// Each check is made with the wait already registered (`enable`) on `notify`:
/// `notify_waiters` wakes only the waits registered when it is called and keeps nothing
/// for later ones, so a condition made true (and notified) between a check and a
/// registration made after it would never wake the wait.
pub(crate) async fn wait_until(notify: &Notify, done: impl Fn() -> bool) {
    loop {
        let notified = notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if done() {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::FutureExt;

    use super::*;
    use crate::runtime::runtime;

    #[test]
    fn a_latch_starts_unset_and_does_not_resolve() {
        let latch = Latch::default();
        assert!(!latch.is_set());
        assert!(latch.until_set().now_or_never().is_none());
    }

    #[test]
    fn set_before_the_wait_resolves_it_at_once() {
        let latch = Latch::default();
        latch.set();
        assert!(latch.is_set());
        assert!(latch.until_set().now_or_never().is_some());
    }

    #[test]
    fn a_wait_begun_before_the_set_is_woken_by_it() {
        let latch = Latch::default();
        let waiting = latch.until_set();
        let mut waiting = std::pin::pin!(waiting);
        assert!(waiting.as_mut().now_or_never().is_none());
        latch.set();
        assert!(waiting.now_or_never().is_some());
    }

    #[test]
    fn every_waiter_is_woken() {
        let latch = Arc::new(Latch::default());
        runtime().block_on(async {
            let (started_tx, mut started_rx) = tokio::sync::mpsc::channel(8);
            let waiters: Vec<_> = (0..8)
                .map(|_| {
                    let (latch, started) = (latch.clone(), started_tx.clone());
                    tokio::spawn(async move {
                        let waiting = latch.until_set();
                        let mut waiting = std::pin::pin!(waiting);
                        // Registered (first poll) before saying it waits.
                        assert!(waiting.as_mut().now_or_never().is_none());
                        started.send(()).await.unwrap();
                        waiting.await;
                    })
                })
                .collect();
            for _ in 0..8 {
                started_rx.recv().await.unwrap();
            }
            latch.set();
            for waiter in waiters {
                waiter.await.unwrap();
            }
        });
    }

    mod wait_until {
        use std::sync::atomic::AtomicU32;

        use super::*;

        #[test]
        fn a_condition_already_true_resolves_at_once() {
            let notify = Notify::new();
            assert!(wait_until(&notify, || true).now_or_never().is_some());
        }

        #[test]
        fn a_wait_begun_before_the_condition_turns_true_is_woken() {
            let (notify, done) = (Notify::new(), AtomicBool::new(false));
            let waiting = wait_until(&notify, || done.load(Ordering::SeqCst));
            let mut waiting = std::pin::pin!(waiting);
            assert!(waiting.as_mut().now_or_never().is_none());
            done.store(true, Ordering::SeqCst);
            notify.notify_waiters();
            assert!(waiting.now_or_never().is_some());
        }

        #[test]
        fn a_notify_without_the_condition_keeps_it_waiting() {
            let (notify, checks) = (Notify::new(), AtomicU32::new(0));
            let waiting = wait_until(&notify, || checks.fetch_add(1, Ordering::SeqCst) == 2);
            let mut waiting = std::pin::pin!(waiting);
            assert!(waiting.as_mut().now_or_never().is_none());
            notify.notify_waiters();
            assert!(waiting.as_mut().now_or_never().is_none());
            assert_eq!(checks.load(Ordering::SeqCst), 2);
            notify.notify_waiters();
            assert!(waiting.now_or_never().is_some());
        }
    }

    #[test]
    fn setting_twice_keeps_it_set() {
        let latch = Latch::default();
        latch.set();
        latch.set();
        assert!(latch.is_set());
        assert!(latch.until_set().now_or_never().is_some());
    }
}
