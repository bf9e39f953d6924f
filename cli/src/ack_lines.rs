//! The lines of emits with ack, printed by their namespace's event reader.
//!
//! An ack settles in the command loop, a namespace's `connect` reaches its reader: printed
//! from two tasks, a reconnection's `connect` line could come after the line of an ack that
//! the reconnection carried (the JavaScript client fires `connect` before the buffered emits
//! go out). The command loop hands each ack line to its namespace's reader through an
//! [`AckRoute`]; the reader takes them from its [`AckLines`] after the events its stream
//! has ready, and holds one while the socket's state says it is connected in a session whose
//! `connect` line it has not printed yet (the state changes before the event reaches the
//! stream, and before any ack of that session settles).

use tokio::sync::{mpsc, oneshot};

use crate::output::Line;

/// Ack lines handed to one reader and not printed yet; the command loop waits for room
/// (the reader prints them as fast as the writer takes lines).
const ACK_LINES: usize = 64;

/// What the command loop hands to a reader.
pub enum Routed {
    /// An ack line to print.
    Line(Line),
    /// Answered once every line handed over before is printed.
    Flush(oneshot::Sender<()>),
}

/// The command loop's side of one namespace's route.
#[derive(Clone)]
pub struct AckRoute {
    tx: mpsc::Sender<Routed>,
}

/// The reader's side of one namespace's route.
pub struct AckLines {
    rx: mpsc::Receiver<Routed>,
}

/// A route from the command loop to one namespace's reader.
pub fn ack_route() -> (AckRoute, AckLines) {
    let (tx, rx) = mpsc::channel(ACK_LINES);
    (AckRoute { tx }, AckLines { rx })
}

impl AckRoute {
    /// Hands `line` to the reader; gives it back when the reader has stopped.
    pub async fn send(&self, line: Line) -> Result<(), Line> {
        match self.tx.send(Routed::Line(line)).await {
            Err(mpsc::error::SendError(Routed::Line(line))) => Err(line),
            _ => Ok(()),
        }
    }

    /// Waits until the reader has printed every line handed to it before (at once when
    /// the reader has stopped).
    pub async fn flush(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Routed::Flush(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }
}

impl AckLines {
    /// The next thing handed over; `None` once every route is dropped.
    pub async fn recv(&mut self) -> Option<Routed> {
        self.rx.recv().await
    }

    /// Refuses what is handed over from now on (given back to the command loop, which
    /// prints it itself); what was handed over before is still received.
    pub fn close(&mut self) {
        self.rx.close();
    }
}
