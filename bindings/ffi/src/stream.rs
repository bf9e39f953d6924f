//! `EventStream`: the pull side, one drained batch per call.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex};

use crate::error::CallError;
use crate::event::{EventRecord, JsonBatch};
use crate::runtime::{block_on, guard, on_runtime};

/// Most events per batch: past 64 the per-event cost no longer drops (ffi-costs.md).
pub(crate) const MAX_BATCH: u32 = 1024;

/// Everything one socket observes from its creation on, in order, pulled in batches.
///
/// Events wait in the core while nobody pulls (backpressure, then `Lagged`): pull
/// continuously, or `close` the stream.
#[derive(uniffi::Object)]
pub struct EventStream {
    namespace: String,
    stream: Arc<Mutex<Option<ferrio::EventStream>>>,
    stop_tx: watch::Sender<bool>,
    closed_rx: watch::Receiver<bool>,
}

impl EventStream {
    /// Waits for at least one event, then takes what is queued, up to `max`, as core
    /// events. Empty once the stream or its manager is closed.
    pub(crate) fn next_core(
        &self,
        max: u32,
    ) -> impl std::future::Future<Output = Vec<ferrio::SocketEvent>> + Send + 'static {
        let batch = self.next_core_held(max);
        async move {
            let batch = batch.await;
            batch.into_iter().map(|(event, _)| event).collect()
        }
    }

    /// [`EventStream::next_core`], each event with its bytes still counted in the core's
    /// bound on queued bytes until its [`ferrio::HeldBytes`] is dropped.
    pub(crate) fn next_core_held(
        &self,
        max: u32,
    ) -> impl std::future::Future<Output = Vec<(ferrio::SocketEvent, ferrio::HeldBytes)>> + Send + 'static
    {
        let stream = self.stream.clone();
        let mut stop_rx = self.stop_tx.subscribe();
        let mut closed_rx = self.closed_rx.clone();
        let max = usize::try_from(max.clamp(1, MAX_BATCH)).unwrap_or(64);
        async move {
            let mut slot = stream.lock().await;
            let Some(core) = slot.as_mut() else {
                return Vec::new();
            };
            // A closed stream stops at once; a closed manager first drains what is queued
            // (the last disconnect, a connect error).
            let batch = tokio::select! {
                biased;
                _ = stop_rx.wait_for(|stop| *stop) => Vec::new(),
                batch = core.next_batch_held(max) => batch,
                _ = closed_rx.wait_for(|closed| *closed) => Vec::new(),
            };
            if batch.is_empty() {
                *slot = None;
            }
            batch
        }
    }

    pub(crate) fn new(
        namespace: String,
        stream: Option<ferrio::EventStream>,
        closed_rx: watch::Receiver<bool>,
    ) -> Self {
        EventStream {
            namespace,
            stream: Arc::new(Mutex::new(stream)),
            stop_tx: watch::Sender::new(false),
            closed_rx,
        }
    }

    /// Waits for at least one event, then takes what is queued, up to `max`, as records.
    /// Empty once the stream or its manager is closed.
    fn next(
        &self,
        max: u32,
    ) -> impl std::future::Future<Output = Vec<EventRecord>> + Send + 'static {
        let namespace = self.namespace.clone();
        let batch = self.next_core(max);
        async move {
            batch
                .await
                .into_iter()
                .map(|event| EventRecord::from_core(&namespace, event))
                .collect()
        }
    }
}

#[uniffi::export]
impl EventStream {
    /// The next batch: waits for one event, then drains up to `max` (1 to 1024; 64 is
    /// the sweet spot) without waiting for more. Empty once closed.
    pub async fn next_batch(&self, max: u32) -> Result<Vec<EventRecord>, CallError> {
        let next = self.next(max);
        on_runtime(async move { Ok(next.await) }).await
    }

    /// Like `next_batch`, blocking the calling thread at most `timeout_ms`: empty on
    /// timeout too (see `is_closed`). For callers without an async runtime.
    pub fn next_batch_blocking(
        &self,
        max: u32,
        timeout_ms: u64,
    ) -> Result<Vec<EventRecord>, CallError> {
        let next = self.next(max);
        block_on(async move {
            let timeout = Duration::from_millis(timeout_ms);
            Ok(tokio::time::timeout(timeout, next)
                .await
                .unwrap_or_default())
        })
    }

    /// `next_batch` packed for languages where lifting a record per event is the main
    /// cost (Python): plain events as one JSON text, the rest as records (see
    /// [`JsonBatch`]). An empty `json` once closed.
    pub async fn next_json_batch(&self, max: u32) -> Result<JsonBatch, CallError> {
        let next = self.next_core(max);
        let namespace = self.namespace.clone();
        on_runtime(async move { Ok(pack(&namespace, next.await)) }).await
    }

    /// `next_json_batch`, blocking the calling thread at most `timeout_ms`: `json` is `[]`
    /// on timeout, empty once closed (see `is_closed`).
    pub fn next_json_batch_blocking(
        &self,
        max: u32,
        timeout_ms: u64,
    ) -> Result<JsonBatch, CallError> {
        let next = self.next_core(max);
        let namespace = self.namespace.clone();
        block_on(async move {
            let timeout = Duration::from_millis(timeout_ms);
            match tokio::time::timeout(timeout, next).await {
                Ok(events) => Ok(pack(&namespace, events)),
                Err(_) => Ok(JsonBatch {
                    json: b"[]".to_vec(),
                    others: Vec::new(),
                }),
            }
        })
    }

    /// Whether the stream has ended (closed, or its manager closed).
    pub fn is_closed(&self) -> Result<bool, CallError> {
        guard(|| {
            Ok(*self.stop_tx.borrow()
                || *self.closed_rx.borrow()
                || self.stream.try_lock().is_ok_and(|slot| slot.is_none()))
        })
    }

    /// Ends the stream: a pending `next_batch` returns empty, and the core stops queueing.
    pub fn close(&self) -> Result<(), CallError> {
        guard(|| {
            self.stop_tx.send_replace(true);
            if let Ok(mut slot) = self.stream.try_lock() {
                slot.take();
            }
            Ok(())
        })
    }
}

/// An empty `json` marks the end of the stream.
fn pack(namespace: &str, events: Vec<ferrio::SocketEvent>) -> JsonBatch {
    if events.is_empty() {
        return JsonBatch {
            json: Vec::new(),
            others: Vec::new(),
        };
    }
    JsonBatch::pack(namespace, events)
}
