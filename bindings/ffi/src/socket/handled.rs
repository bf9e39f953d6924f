//! `Socket::listener_caught_up`: the wait that puts a manager event after the socket events
//! that happened before it, for a consumer that reads the two apart (a listener for the
//! socket's events, a `ManagerEventStream` for the connection's).

use super::Socket;
use crate::error::CallError;
use crate::runtime::on_runtime;

#[uniffi::export]
impl Socket {
    /// Waits until the listener this socket was made with (`Manager.socket_with_listener`)
    /// has been handed every event queued for it when this is called, and those calls have
    /// returned. The connection task queues a socket's events before it announces the
    /// connection change that follows them (a failed attempt's `connect_error`, then
    /// `ReconnectFailed`): awaited after a `ManagerEventStream` event, it returns once the
    /// listener has handled the socket events that happened before that event. Returns at
    /// once for a socket without a listener, and once its delivery ended (the manager
    /// closed). Never call it from the listener's own call: that call is what it waits for.
    pub async fn listener_caught_up(&self) -> Result<(), CallError> {
        let Some(delivery) = self.listener.clone() else {
            return Ok(());
        };
        on_runtime(async move {
            delivery.caught_up().await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc as std_mpsc;
    use std::sync::{Arc, Mutex};

    use crate::error::ListenerError;
    use crate::event::JsonBatch;
    use crate::listener::JsonEventListener;
    use crate::manager::Manager;
    use crate::options::default_client_options;
    use crate::runtime::runtime;
    use crate::tracker::lock;

    /// Counts the records it is handed; its first call says so, then waits for `release`.
    struct HeldFirst {
        seen: AtomicUsize,
        entered: Mutex<std_mpsc::Sender<()>>,
        release: Mutex<Option<std_mpsc::Receiver<()>>>,
    }

    impl JsonEventListener for HeldFirst {
        fn on_json_events(&self, batch: JsonBatch) -> Result<(), ListenerError> {
            let release = lock(&self.release).take();
            if let Some(release) = release {
                let _ = lock(&self.entered).send(());
                let _ = release.recv();
            }
            self.seen.fetch_add(batch.others.len(), Ordering::SeqCst);
            Ok(())
        }
    }

    /// A manager of an unreachable server, without reconnection: each connect queues a
    /// `connect_error`.
    fn unreachable() -> Arc<Manager> {
        let mut options = default_client_options("http://127.0.0.1:1".into());
        options.reconnection = false;
        Manager::new(options).unwrap()
    }

    #[test]
    fn the_events_queued_before_the_wait_have_been_handled_when_it_returns() {
        let manager = unreachable();
        let (entered_tx, entered_rx) = std_mpsc::channel();
        let (release_tx, release_rx) = std_mpsc::channel();
        let listener = Arc::new(HeldFirst {
            seen: AtomicUsize::new(0),
            entered: Mutex::new(entered_tx),
            release: Mutex::new(Some(release_rx)),
        });
        let socket = manager
            .socket_with_listener("/".into(), None, listener.clone(), 1)
            .unwrap();
        assert!(socket.connect_blocking().is_err());
        entered_rx.recv().unwrap();
        // Queued behind the call held.
        assert!(socket.connect_blocking().is_err());
        let waiting = runtime().spawn({
            let socket = socket.clone();
            async move { socket.listener_caught_up().await }
        });
        release_tx.send(()).unwrap();
        runtime().block_on(waiting).unwrap().unwrap();
        assert_eq!(listener.seen.load(Ordering::SeqCst), 2);
        manager.close_blocking().unwrap();
    }

    #[test]
    fn without_a_listener_or_once_closed_the_wait_returns_at_once() {
        let manager = unreachable();
        let plain = manager.socket("/".into(), None).unwrap();
        runtime().block_on(plain.listener_caught_up()).unwrap();
        let (entered_tx, _entered_rx) = std_mpsc::channel();
        let listener = Arc::new(HeldFirst {
            seen: AtomicUsize::new(0),
            entered: Mutex::new(entered_tx),
            release: Mutex::new(None),
        });
        let with_listener = manager
            .socket_with_listener("/chat".into(), None, listener, 64)
            .unwrap();
        manager.close_blocking().unwrap();
        runtime()
            .block_on(with_listener.listener_caught_up())
            .unwrap();
    }
}
