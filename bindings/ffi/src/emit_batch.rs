//! Emit batches: the emits a binding collected in one tick, plain and binary mixed, crossing
//! in one call.
//!
//! A batch is the JSON text of an array of `[event, ...args]` arrays; a binary node of any
//! emit is the placeholder `{"_placeholder":true,"num":K}`, K numbered across the whole
//! batch into one list of attachments. An emit without placeholders is checked and framed
//! as it is (never parsed into values); one with placeholders is parsed with its bytes put
//! back, then framed by the core like any emit with binary.

use bytes::Bytes;
use ferrio::Value;

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
            attachments: attachments.into_iter().map(Bytes::from).collect(),
        })
    }

    /// How many emits the batch holds.
    pub(crate) fn len(&self) -> usize {
        self.emits.len()
    }

    /// Queues emit `index` without waiting.
    ///
    /// # Errors
    /// As `Socket::emit`, `QueueFull` included.
    pub(crate) fn try_emit(&self, core: &ferrio::Socket, index: usize) -> Result<(), EmitError> {
        let text = self.emits[index];
        if self.has_binary(text) {
            let (event, args) = self.values(text)?;
            Ok(core.try_emit_values(&event, args)?)
        } else {
            Ok(core.try_emit_json(text)?)
        }
    }

    /// Queues emit `index`, waiting while the outgoing queue is full.
    ///
    /// # Errors
    /// As `Socket::emit_async`.
    pub(crate) async fn emit(&self, core: &ferrio::Socket, index: usize) -> Result<(), EmitError> {
        match self.try_emit(core, index) {
            Err(EmitError::QueueFull) => {
                let (event, args) = self.values(self.emits[index])?;
                Ok(core.emit_values(&event, args).await?)
            }
            other => other,
        }
    }

    /// Whether `text` names attachments: only then is it parsed into values.
    fn has_binary(&self, text: &str) -> bool {
        json::contains_placeholder(text.as_bytes())
    }

    /// The event name and arguments of the emit `text`, binary put in place.
    fn values(&self, text: &str) -> Result<(String, Vec<Value>), EmitError> {
        let mut args = json::args_from_json_shared(text, &self.attachments)?;
        let name = (!args.is_empty()).then(|| args.remove(0));
        match name {
            Some(Value::String(event)) => Ok((event, args)),
            _ => Err(EmitError::InvalidArgs {
                detail: "an emit must be an array whose first item is the event name".into(),
            }),
        }
    }
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
        assert!(!batch.has_binary(batch.emits[0]));
        assert!(batch.has_binary(batch.emits[1]));
    }

    #[test]
    fn placeholders_are_numbered_across_the_batch() {
        let text = r#"[["a",{"_placeholder":true,"num":0}],["b",1],["c",[{"_placeholder":true,"num":2},{"_placeholder":true,"num":1}]]]"#;
        let batch = Batch::parse(text, vec![vec![0], vec![1], vec![2]]).unwrap();
        let (event, args) = batch.values(batch.emits[2]).unwrap();
        assert_eq!(event, "c");
        assert_eq!(
            args,
            vec![Value::Array(vec![
                Value::Binary(Bytes::from_static(&[2])),
                Value::Binary(Bytes::from_static(&[1])),
            ])]
        );
        let (event, args) = batch.values(batch.emits[0]).unwrap();
        assert_eq!(event, "a");
        assert_eq!(args, vec![Value::Binary(Bytes::from_static(&[0]))]);
    }

    #[test]
    fn an_emit_naming_a_missing_attachment_or_without_a_name_is_invalid() {
        let text = r#"[["a",{"_placeholder":true,"num":1}],[{"_placeholder":true,"num":0}]]"#;
        let batch = Batch::parse(text, vec![vec![0]]).unwrap();
        assert!(matches!(
            batch.values(batch.emits[0]),
            Err(EmitError::InvalidArgs { .. })
        ));
        assert!(matches!(
            batch.values(batch.emits[1]),
            Err(EmitError::InvalidArgs { .. })
        ));
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
