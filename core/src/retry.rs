//! At-least-once emits (the JS client's `retries`): an ordered queue with one packet in
//! flight, re-sent with a new ack id when its ack times out or the connection drops.

use tokio::sync::{mpsc, oneshot};

use crate::error::AckError;
use crate::socket::{Ack, WeakSocket};
use crate::value::Value;

/// Capacity of a socket's retry queue.
pub(crate) const RETRY_QUEUE_CAPACITY: usize = 1024;

/// One emit waiting for its turn.
pub(crate) struct RetryItem {
    pub(crate) event: String,
    pub(crate) args: Vec<Value>,
    /// Where the final outcome goes, for emits with ack.
    pub(crate) reply: Option<oneshot::Sender<Result<Ack, AckError>>>,
}

/// Sends the queued emits one at a time, each up to `retries + 1` times, until the socket
/// is gone.
pub(crate) async fn run_retry_queue(
    socket: WeakSocket,
    mut queue_rx: mpsc::Receiver<RetryItem>,
    retries: u32,
) {
    while let Some(item) = queue_rx.recv().await {
        let Some(socket) = socket.upgrade() else {
            return;
        };
        let timeout = socket.ack_timeout();
        let mut outcome = Err(AckError::Closed);
        for attempt in 0..=retries {
            outcome = socket
                .emit_values_with_ack_once(&item.event, item.args.clone(), timeout)
                .await;
            match &outcome {
                Err(AckError::Timeout(_) | AckError::Disconnected) => {
                    tracing::debug!(event = %item.event, attempt, "no ack, retrying");
                }
                _ => break,
            }
        }
        if let Some(reply) = item.reply {
            let _ = reply.send(outcome);
        }
    }
}
