//! `ManagerEventStream`: connection and reconnection events, as an enum.

use std::sync::Arc;

use tokio::sync::{broadcast, Mutex};

use crate::disconnect::DisconnectReason;
use crate::error::CallError;
use crate::runtime::{guard, on_runtime};
use crate::tracker::Tracker;

/// A change of the manager's connection.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ManagerEvent {
    /// The connection is open.
    Open,
    /// The connection closed.
    Close { reason: DisconnectReason },
    /// Reconnection attempt `attempt` (from 1) is starting.
    ReconnectAttempt { attempt: u32 },
    /// A reconnection attempt failed.
    ReconnectError { detail: String },
    /// Reconnected after `attempts` attempts.
    Reconnect { attempts: u32 },
    /// Reconnection gave up.
    ReconnectFailed,
    /// This stream fell behind and missed `dropped` events.
    Lagged { dropped: u64 },
}

/// What a receiver of the core's manager events got: the event, `Lagged` with the count of
/// those it missed, or `None` once the events ended.
pub(crate) fn received(
    result: Result<ferrio::ManagerEvent, broadcast::error::RecvError>,
) -> Option<ManagerEvent> {
    match result {
        Ok(event) => Some(event.into()),
        Err(broadcast::error::RecvError::Lagged(dropped)) => Some(ManagerEvent::Lagged { dropped }),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

impl From<ferrio::ManagerEvent> for ManagerEvent {
    fn from(event: ferrio::ManagerEvent) -> Self {
        match event {
            ferrio::ManagerEvent::Open => ManagerEvent::Open,
            ferrio::ManagerEvent::Close(reason) => ManagerEvent::Close {
                reason: reason.into(),
            },
            ferrio::ManagerEvent::ReconnectAttempt(attempt) => {
                ManagerEvent::ReconnectAttempt { attempt }
            }
            ferrio::ManagerEvent::ReconnectError(error) => ManagerEvent::ReconnectError {
                detail: error.to_string(),
            },
            ferrio::ManagerEvent::Reconnect(attempts) => ManagerEvent::Reconnect { attempts },
            ferrio::ManagerEvent::ReconnectFailed => ManagerEvent::ReconnectFailed,
        }
    }
}

/// The manager's connection events from its creation on; `next` is `None` once closed.
///
/// Each event comes once the consumers of its sockets' events (pull streams, event pipes,
/// listeners) have handled the socket events queued before it: after reconnection gives
/// up, `ReconnectFailed` comes once the last attempt's `connect_error` was handled. A
/// socket's events count as handled when their consumer comes back for more (the next
/// `next_batch`, the listener call returned, for an event pipe its `take`). So a consumer
/// that stops pulling without closing its stream holds back these events, and waiting for
/// one of them inside a handler of a socket's events never ends (after 10 s of such a
/// wait, a warning names the socket's namespace).
#[derive(uniffi::Object)]
pub struct ManagerEventStream {
    events: Arc<Mutex<Option<broadcast::Receiver<ferrio::ManagerEvent>>>>,
    /// Its manager's: `next` ends when the manager closes.
    tracker: Arc<Tracker>,
}

impl ManagerEventStream {
    pub(crate) fn new(
        events: Option<broadcast::Receiver<ferrio::ManagerEvent>>,
        tracker: Arc<Tracker>,
    ) -> Self {
        ManagerEventStream {
            events: Arc::new(Mutex::new(events)),
            tracker,
        }
    }
}

#[uniffi::export]
impl ManagerEventStream {
    /// The next event, once the socket events queued before it were handled (see
    /// [`ManagerEventStream`]); `None` once the manager is closed.
    pub async fn next(&self) -> Result<Option<ManagerEvent>, CallError> {
        let events = self.events.clone();
        let tracker = self.tracker.clone();
        on_runtime(async move {
            let mut slot = events.lock().await;
            let Some(events) = slot.as_mut() else {
                return Ok(None);
            };
            let event = tokio::select! {
                biased;
                () = tracker.closed() => None,
                event = events.recv() => received(event),
            };
            if event.is_none() {
                *slot = None;
                return Ok(None);
            }
            // After the socket events queued before it, however they are consumed.
            tokio::select! {
                biased;
                () = tracker.closed() => {}
                () = tracker.caught_up() => {}
            }
            Ok(event)
        })
        .await
    }

    /// Ends the stream.
    pub fn close(&self) -> Result<(), CallError> {
        guard(|| {
            if let Ok(mut slot) = self.events.try_lock() {
                slot.take();
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::FutureExt;

    use super::*;
    use crate::error::ListenerError;
    use crate::event::{EventKind, EventRecord, JsonBatch};
    use crate::listener::JsonEventListener;
    use crate::manager::Manager;
    use crate::options::default_client_options;
    use crate::runtime::runtime;
    use crate::tracker::lock;

    /// A manager of an unreachable server that gives up after two reconnection attempts,
    /// each a millisecond after the failure before.
    fn giving_up() -> Arc<Manager> {
        let mut options = default_client_options("http://127.0.0.1:1".into());
        options.reconnection_attempts = Some(2);
        options.reconnection_delay_ms = 1;
        options.reconnection_delay_max_ms = 1;
        options.randomization_factor = 0.0;
        Manager::new(options).unwrap()
    }

    /// The first attempt's `connect_error` and those of the two reconnection attempts.
    const ATTEMPTS: usize = 3;

    /// What a consumer saw, in order: `connect_error` for a socket's failed attempt,
    /// `gave_up` for `ReconnectFailed` from the manager's event stream.
    type Log = Arc<Mutex<Vec<&'static str>>>;

    fn log_records(log: &Log, records: &[EventRecord]) {
        let mut log = lock(log);
        for record in records {
            if record.kind == EventKind::ConnectError {
                log.push("connect_error");
            }
        }
    }

    /// Resolves once the core's own manager events (which wait for nobody) say that
    /// reconnection gave up.
    fn core_gave_up(manager: &Manager) -> impl std::future::Future<Output = ()> {
        let mut raw = manager.core().unwrap().events();
        async move { while !matches!(raw.recv().await, Ok(ferrio::ManagerEvent::ReconnectFailed)) {} }
    }

    /// Resolves once `stream` says that reconnection gave up.
    async fn given_up(stream: &ManagerEventStream) {
        while stream.next().await.unwrap() != Some(ManagerEvent::ReconnectFailed) {}
    }

    /// Logs `gave_up` once `stream` says so.
    async fn log_when_given_up(stream: Arc<ManagerEventStream>, log: Log) {
        given_up(&stream).await;
        lock(&log).push("gave_up");
    }

    fn assert_gave_up_after_every_connect_error(log: &Log) {
        let log = lock(log);
        assert_eq!(log.len(), ATTEMPTS + 1, "{log:?}");
        assert_eq!(log.last(), Some(&"gave_up"), "{log:?}");
    }

    /// Logs the `connect_error`s of its batches; its calls wait until `go` is set.
    struct SlowListener {
        log: Log,
        go: Arc<std::sync::Barrier>,
        waited: Mutex<bool>,
    }

    impl JsonEventListener for SlowListener {
        fn on_json_events(&self, batch: JsonBatch) -> Result<(), ListenerError> {
            let first = !std::mem::replace(&mut *lock(&self.waited), true);
            if first {
                self.go.wait();
            }
            log_records(&self.log, &batch.others);
            Ok(())
        }
    }

    #[test]
    fn giving_up_waits_for_a_listener_still_handling_the_last_connect_errors() {
        let manager = giving_up();
        let log = Log::default();
        let go = Arc::new(std::sync::Barrier::new(2));
        let listener = Arc::new(SlowListener {
            log: log.clone(),
            go: go.clone(),
            waited: Mutex::new(false),
        });
        let socket = manager
            .socket_with_listener("/".into(), None, listener, 64)
            .unwrap();
        let gave_up = core_gave_up(&manager);
        let watching = runtime().spawn(log_when_given_up(manager.events().unwrap(), log.clone()));
        assert!(socket.connect_blocking().is_err());
        runtime().block_on(gave_up);
        // The listener is still in its first call: the stream must wait for it.
        // Polled here, its timer on the runtime.
        let _runtime = runtime().enter();
        let mut caught_up = Box::pin(manager.tracker.caught_up());
        assert!(
            (&mut caught_up).now_or_never().is_none(),
            "the listener is still handling the events queued before"
        );
        go.wait();
        runtime().block_on(caught_up);
        runtime().block_on(watching).unwrap();
        assert_gave_up_after_every_connect_error(&log);
        manager.close_blocking().unwrap();
    }

    #[test]
    fn giving_up_waits_for_a_pull_stream_read_late() {
        let manager = giving_up();
        let log = Log::default();
        let socket = manager.socket("/".into(), None).unwrap();
        let events = socket.events().unwrap();
        let gave_up = core_gave_up(&manager);
        let mut watching =
            runtime().spawn(log_when_given_up(manager.events().unwrap(), log.clone()));
        assert!(socket.connect_blocking().is_err());
        runtime().block_on(async {
            gave_up.await;
            // Read only now, one event at a time, while the manager's stream waits.
            loop {
                tokio::select! {
                    batch = events.next_batch(1) => log_records(&log, &batch.unwrap()),
                    watched = &mut watching => break watched.unwrap(),
                }
            }
        });
        assert_gave_up_after_every_connect_error(&log);
        manager.close_blocking().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn giving_up_waits_for_an_event_pipe_to_be_taken_from() {
        let manager = giving_up();
        let socket = manager.socket("/".into(), None).unwrap();
        let pipe = socket.event_pipe().unwrap();
        let gave_up = core_gave_up(&manager);
        let stream = manager.events().unwrap();
        let watching = runtime().spawn(async move { given_up(&stream).await });
        assert!(socket.connect_blocking().is_err());
        runtime().block_on(gave_up);
        assert!(!watching.is_finished(), "nothing was taken yet");
        let mut connect_errors = 0;
        while connect_errors < ATTEMPTS {
            let batch = pipe.take(64).unwrap();
            connect_errors += batch
                .others
                .iter()
                .filter(|record| record.kind == EventKind::ConnectError)
                .count();
        }
        runtime().block_on(watching).unwrap();
        manager.close_blocking().unwrap();
    }

    #[test]
    fn a_closed_stream_holds_back_no_manager_event() {
        let manager = giving_up();
        let socket = manager.socket("/".into(), None).unwrap();
        let events = socket.events().unwrap();
        events.close().unwrap();
        let stream = manager.events().unwrap();
        assert!(socket.connect_blocking().is_err());
        runtime().block_on(given_up(&stream));
        manager.close_blocking().unwrap();
    }
}
