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
    /// The next event; `None` once the manager is closed.
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
