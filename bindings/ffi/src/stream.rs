//! `EventStream`: a socket's [`EventQueue`] pulled one drained batch per call, awaited or
//! blocking.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::CallError;
use crate::event::{EventRecord, JsonBatch};
use crate::queue::EventQueue;
use crate::runtime::{block_on, guard, on_runtime};

/// Everything one socket observes from its creation on, in order, pulled in batches.
///
/// Events wait in the core while nobody pulls (backpressure, then `Lagged`): pull
/// continuously, or `close` the stream.
#[derive(uniffi::Object)]
pub struct EventStream {
    queue: Arc<EventQueue>,
}

impl EventStream {
    pub(crate) fn new(queue: Arc<EventQueue>) -> Self {
        EventStream { queue }
    }

    /// The next batch of the queue as core events; empty once ended.
    fn next_events(
        &self,
        max: u32,
    ) -> impl Future<Output = Vec<ferrio::SocketEvent>> + Send + 'static {
        let queue = self.queue.clone();
        async move {
            let batch = queue.next(max).await;
            batch.into_iter().map(|(event, _)| event).collect()
        }
    }

    /// The next batch as records; empty once ended.
    fn next_records(&self, max: u32) -> impl Future<Output = Vec<EventRecord>> + Send + 'static {
        let queue = self.queue.clone();
        async move {
            let batch = queue.next(max).await;
            batch
                .into_iter()
                .map(|(event, _)| EventRecord::from_core(queue.namespace(), event))
                .collect()
        }
    }

    /// The next batch packed (see [`JsonBatch`]); `None` once ended.
    fn next_packed(&self, max: u32) -> impl Future<Output = Option<JsonBatch>> + Send + 'static {
        let queue = self.queue.clone();
        let next = self.next_events(max);
        async move {
            let events = next.await;
            (!events.is_empty()).then(|| JsonBatch::pack(queue.namespace(), events))
        }
    }
}

#[uniffi::export]
impl EventStream {
    /// The next batch: waits for one event, then drains up to `max` (1 to 1024; 64 is
    /// the sweet spot) without waiting for more. Empty once closed.
    pub async fn next_batch(&self, max: u32) -> Result<Vec<EventRecord>, CallError> {
        let next = self.next_records(max);
        on_runtime(async move { Ok(next.await) }).await
    }

    /// Like `next_batch`, blocking the calling thread at most `timeout_ms`: empty on
    /// timeout too (see `is_closed`). For callers without an async runtime.
    pub fn next_batch_blocking(
        &self,
        max: u32,
        timeout_ms: u64,
    ) -> Result<Vec<EventRecord>, CallError> {
        let next = self.next_records(max);
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
        let next = self.next_packed(max);
        on_runtime(async move { Ok(next.await.unwrap_or_else(ended)) }).await
    }

    /// `next_json_batch`, blocking the calling thread at most `timeout_ms`: `json` is `[]`
    /// on timeout, empty once closed (see `is_closed`).
    pub fn next_json_batch_blocking(
        &self,
        max: u32,
        timeout_ms: u64,
    ) -> Result<JsonBatch, CallError> {
        let next = self.next_packed(max);
        block_on(async move {
            let timeout = Duration::from_millis(timeout_ms);
            Ok(match tokio::time::timeout(timeout, next).await {
                Ok(packed) => packed.unwrap_or_else(ended),
                Err(_) => JsonBatch {
                    json: "[]".to_owned(),
                    others: Vec::new(),
                },
            })
        })
    }

    /// Whether the stream has ended (closed, or its manager closed).
    pub fn is_closed(&self) -> Result<bool, CallError> {
        guard(|| Ok(self.queue.is_ended()))
    }

    /// Ends the stream: a pending `next_batch` returns empty, and the core stops queueing.
    pub fn close(&self) -> Result<(), CallError> {
        guard(|| {
            self.queue.stop();
            Ok(())
        })
    }
}

/// The packed batch that marks the end: an empty `json`.
fn ended() -> JsonBatch {
    JsonBatch {
        json: String::new(),
        others: Vec::new(),
    }
}
