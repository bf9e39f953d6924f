//! Emit batches: the emits a binding collected in one tick, plain and binary mixed, crossing
//! in one call.
//!
//! A batch is the JSON text of an array of `[event, ...args]` arrays; a binary node of any
//! emit is the placeholder `{"_placeholder":true,"num":K}`, K numbered across the whole
//! batch into one list of attachments. Each emit is checked and framed by the core as it
//! is (never parsed into values), with the attachments its placeholders name.

use bytes::Bytes;
use ferrio::JsonEmit;

use crate::error::EmitError;
use crate::json::{self, JsonError};

/// One emit of a batch that was not queued, and why.
#[derive(Debug, uniffi::Record)]
pub struct EmitFailure {
    /// Its position in the batch, from 0.
    pub index: u32,
    /// Why it was not queued.
    pub error: EmitError,
}

/// A batch split into its emits, with the attachments they share.
pub(crate) struct Batch<'a> {
    emits: Vec<&'a str>,
    attachments: Vec<Bytes>,
}

impl<'a> Batch<'a> {
    /// Splits `text`, the JSON text of an array of `[event, ...args]` arrays.
    ///
    /// # Errors
    /// [`JsonError::Syntax`] when `text` is not a JSON array of JSON values.
    pub(crate) fn parse(text: &'a str, attachments: Vec<Vec<u8>>) -> Result<Self, JsonError> {
        Ok(Batch {
            emits: json::split_batch(text)?,
            attachments: shared(attachments),
        })
    }

    /// How many emits the batch holds.
    pub(crate) fn len(&self) -> usize {
        self.emits.len()
    }

    /// Emit `index`, as the core takes it.
    fn emit_at(&self, index: usize) -> JsonEmit<'_> {
        JsonEmit::named(self.emits[index], &self.attachments)
    }

    /// Queues emit `index` without waiting.
    ///
    /// # Errors
    /// As `Socket::emit`, `QueueFull` included.
    pub(crate) fn try_emit(&self, core: &ferrio::Socket, index: usize) -> Result<(), EmitError> {
        Ok(core.try_emit_json_with(&self.emit_at(index))?)
    }

    /// Queues emit `index`, waiting while the outgoing queue is full.
    ///
    /// # Errors
    /// As `Socket::emit_async`.
    pub(crate) async fn emit(&self, core: &ferrio::Socket, index: usize) -> Result<(), EmitError> {
        Ok(core.emit_json(&self.emit_at(index)).await?)
    }
}

/// Attachments as the core keeps them (no copy).
pub(crate) fn shared(attachments: Vec<Vec<u8>>) -> Vec<Bytes> {
    attachments.into_iter().map(Bytes::from).collect()
}

/// Queues the emits of `batch` in order without waiting, until one cannot be queued;
/// returns how many were.
pub(crate) fn queue(core: &ferrio::Socket, batch: &Batch<'_>) -> u32 {
    let mut queued = 0u32;
    for index in 0..batch.len() {
        if batch.try_emit(core, index).is_err() {
            break;
        }
        queued += 1;
    }
    queued
}

/// Queues the emits of `batch` from `first` on, in order, waiting while the outgoing queue
/// is full. An emit that fails for its own reason is skipped; once the client is closed
/// the rest is not tried. Returns the failures in order.
pub(crate) async fn queue_waiting(
    core: &ferrio::Socket,
    batch: &Batch<'_>,
    first: u32,
) -> Vec<EmitFailure> {
    let mut failures = Vec::new();
    for index in usize::try_from(first).unwrap_or(usize::MAX)..batch.len() {
        if let Err(error) = batch.emit(core, index).await {
            let closed = matches!(error, EmitError::Closed);
            failures.push(EmitFailure {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                error,
            });
            if closed {
                break;
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{block_on, runtime};

    #[test]
    fn a_batch_splits_into_its_emits_and_keeps_the_attachments() {
        let batch = Batch::parse(
            r#"[["a",1],["b",{"_placeholder":true,"num":0}]]"#,
            vec![vec![7]],
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.emits[1], r#"["b",{"_placeholder":true,"num":0}]"#);
        assert_eq!(batch.attachments, vec![Bytes::from_static(&[7])]);
    }

    #[test]
    fn a_batch_queues_until_an_emit_fails_and_the_waiting_variant_reports_each_failure() {
        let text = r#"[["a",1],["connect"],["b",{"_placeholder":true,"num":0}],["c",{"_placeholder":true,"num":1}],["d"]]"#;
        let _runtime = runtime().enter();
        let manager = ferrio::Manager::new("http://127.0.0.1:1").unwrap();
        let socket = manager.socket("/");
        let batch = Batch::parse(text, vec![vec![1]]).unwrap();
        assert_eq!(queue(&socket, &batch), 1);
        let failures = block_on(async move {
            let batch = Batch::parse(text, vec![vec![1]])?;
            Ok::<_, EmitError>(queue_waiting(&socket, &batch, 1).await)
        })
        .unwrap();
        let failed: Vec<(u32, &EmitError)> = failures.iter().map(|f| (f.index, &f.error)).collect();
        assert!(
            matches!(
                failed[..],
                [
                    (1, EmitError::ReservedEvent { .. }),
                    (3, EmitError::InvalidArgs { .. })
                ]
            ),
            "{failures:?}"
        );
    }

    #[test]
    fn text_that_is_not_an_array_is_refused_whole() {
        assert!(Batch::parse("{}", vec![]).is_err());
        assert!(Batch::parse(r#"[["a"]"#, vec![]).is_err());
    }
}
