//! The server's acknowledgement requests that wait for an answer on stdin.
//!
//! An event the server wants acknowledged is printed with `"ack": ID`, an id counted by
//! the CLI from 1 (not the id on the wire), and kept here until `{"ack": ID, ...}` answers
//! it. At most [`MAX_PENDING`] wait: the next one pushes out the oldest, which is then
//! answered with no values (dropping the core's [`Event`] answers it, so the server's
//! callback is never left waiting). Those still waiting when the session ends are answered
//! the same way.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ferrio::{AckReplyError, Event, Value};

/// Most acknowledgement requests that wait for an answer at a time.
pub const MAX_PENDING: usize = 1024;

/// Why an answer line was not sent.
#[derive(Debug)]
pub enum AnswerError {
    /// No request waits with this id: never printed, answered already, or pushed out
    /// (answered with no values) by newer ones.
    Unknown(u64),
    /// The core refused the answer.
    Reply(u64, AckReplyError),
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::Unknown(id) => write!(
                f,
                "ack {id}: no acknowledgement request waits with this id (unknown, already \
                 answered, or answered empty after {MAX_PENDING} newer ones)"
            ),
            AnswerError::Reply(id, error) => write!(f, "ack {id}: {error}"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// The waiting requests, shared by the event readers and the command loop.
#[derive(Debug, Clone, Default)]
pub struct PendingAcks {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ids only grow, so the first entry is the oldest.
    events: BTreeMap<u64, Event>,
    last_id: u64,
}

impl PendingAcks {
    /// Keeps `event` until answered and returns its id; pushes out the oldest request
    /// when [`MAX_PENDING`] already wait.
    pub fn insert(&self, event: Event) -> u64 {
        let (id, released) = {
            let mut inner = self.lock();
            inner.last_id += 1;
            let id = inner.last_id;
            inner.events.insert(id, event);
            let released = if inner.events.len() > MAX_PENDING {
                inner.events.pop_first()
            } else {
                None
            };
            (id, released)
        };
        if let Some((old, _)) = &released {
            tracing::debug!(
                id = old,
                "acknowledgement request answered empty: too many wait"
            );
        }
        // Dropped outside the lock: the core answers it with no values.
        drop(released);
        id
    }

    /// Answers request `id` with `args`.
    ///
    /// # Errors
    /// [`AnswerError::Unknown`] when no request waits with this id, [`AnswerError::Reply`]
    /// when the core refuses the answer.
    pub fn answer(&self, id: u64, args: Vec<Value>) -> Result<(), AnswerError> {
        let event = self.lock().events.remove(&id);
        let event = event.ok_or(AnswerError::Unknown(id))?;
        event
            .ack_values(args)
            .map_err(|error| AnswerError::Reply(id, error))
    }

    /// Answers every waiting request with no values.
    pub fn release_all(&self) {
        let events = std::mem::take(&mut self.lock().events);
        drop(events);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock is never held across a panic-prone call: the map stays consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
