//! Commands from the public handles to the connection task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

use super::event::SocketEvent;
use crate::error::{AckError, ConnectError, EmitError};
use crate::socketio::{Packet, Payload};
use crate::state::SocketState;
use crate::value::Value;

/// The reply to an emit with acknowledgement.
pub(crate) type AckResult = Result<Payload, AckError>;

/// An event in a consumer's queue (a stream's or the dispatcher's), numbered in the order
/// the connection task produced it, so that a listener added later never sees what came
/// before it.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// Position among everything produced for this socket, from 0.
    pub(crate) seq: u64,
    /// The event, boxed: a queue's slot holds a pointer instead of an event (~150 bytes),
    /// and a queue grows by doubling its slots.
    pub(crate) event: Box<SocketEvent>,
    /// Its bytes in the socket's queues, given back once this consumer took it.
    pub(crate) charge: Charge,
}

/// The bytes of a socket's events on their way to its consumers: queued by the connection
/// task, not yet taken by the dispatcher's listeners and by every stream, one count per copy
/// (`ManagerOptions::max_incoming_queue_bytes`).
#[derive(Debug)]
pub(crate) struct QueuedBytes {
    bytes: AtomicUsize,
    max: usize,
    /// Told when the bytes fall below `max`.
    freed: Notify,
}

impl QueuedBytes {
    /// An empty account holding at most `max` bytes (plus one event).
    pub(crate) fn new(max: usize) -> Self {
        Self {
            bytes: AtomicUsize::new(0),
            max,
            freed: Notify::new(),
        }
    }

    /// The bytes queued now.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// Whether one more event may be queued: the account is empty or holds less than its
    /// bound (so an event larger than the bound still passes, alone).
    pub(crate) fn has_room(&self) -> bool {
        let bytes = self.bytes();
        bytes == 0 || bytes < self.max
    }

    /// Counts `bytes` of a queued event until the returned charge is dropped.
    pub(crate) fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        Charge {
            bytes,
            account: Some(self.clone()),
        }
    }

    /// Resolves once the account has room.
    pub(crate) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            // Registered before the check: a release in between still wakes this.
            freed.as_mut().enable();
            if self.has_room() {
                return;
            }
            freed.await;
        }
    }
}

/// The bytes of one queued event, counted in its socket's [`QueuedBytes`] until dropped.
#[derive(Debug, Default)]
pub(crate) struct Charge {
    bytes: usize,
    account: Option<Arc<QueuedBytes>>,
}

impl Charge {
    /// The bytes counted.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The account's bound (none for a charge of no account).
    pub(crate) fn bound(&self) -> Option<usize> {
        self.account.as_ref().map(|account| account.max)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        let Some(account) = &self.account else {
            return;
        };
        let before = account.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        let after = before - self.bytes;
        let was_full = before != 0 && before >= account.max;
        if was_full && (after == 0 || after < account.max) {
            account.freed.notify_waiters();
        }
    }
}

/// How the connection task reaches one socket.
#[derive(Debug, Clone)]
pub(crate) struct SocketLink {
    /// The socket's consumers (its streams and its dispatcher), each with its queue, fed
    /// by the connection task; none until the first stream or listener.
    pub(crate) subscribers: Arc<super::delivery::Subscribers>,
    /// The size of the socket's offline buffer, kept by the connection task.
    pub(crate) buffer: Arc<BufferStats>,
    /// The socket's observable state.
    pub(crate) state_tx: Arc<watch::Sender<SocketState>>,
    /// The bytes of the events queued to the socket's consumers.
    pub(crate) queued: Arc<QueuedBytes>,
}

/// The size of a socket's offline buffer, readable without asking the connection task.
#[derive(Debug, Default)]
pub(crate) struct BufferStats {
    /// Buffered emits.
    pub(crate) emits: AtomicUsize,
    /// Buffered bytes (text and attachments).
    pub(crate) bytes: AtomicUsize,
}

/// Where the reply to an emit's ack request goes, and until when it is awaited: the
/// connection task answers [`AckError::Timeout`] at the deadline (see `manager::acks`).
#[derive(Debug)]
pub(crate) struct AckWaiter {
    /// Gets the reply, or why none came.
    pub(crate) reply_tx: oneshot::Sender<AckResult>,
    /// When the wait ends; `None` for a timeout too large to reach (the wait never ends).
    pub(crate) deadline: Option<Instant>,
    /// The timeout asked for, reported in [`AckError::Timeout`].
    pub(crate) timeout: Duration,
}

/// An encoded emit on its way to the server.
///
/// Small (72 bytes): it is moved several times per emit (into the command, the queue, the
/// connection task's batch), and a 152-byte one was a `memcpy` call each time. What few
/// emits carry (attachments, an ack waiter, an admission) is boxed in [`Rare`].
#[derive(Debug)]
pub(crate) struct OutgoingEmit {
    /// The namespace.
    pub(crate) namespace: Arc<str>,
    /// The Socket.IO text of the packet.
    pub(crate) text: String,
    /// The ack id the packet asks for.
    pub(crate) ack_id: Option<u64>,
    /// Dropped rather than buffered when the connection is not writable.
    pub(crate) volatile: bool,
    /// Attachments, ack waiter and admission, when the emit has any.
    rare: Option<Box<Rare>>,
}

/// The parts of an [`OutgoingEmit`] that plain emits do not have.
#[derive(Debug, Default)]
struct Rare {
    /// The binary attachments, in order.
    attachments: Vec<Bytes>,
    /// Who waits for the ack, until when; the connection task moves it to its ack table.
    ack_waiter: Option<AckWaiter>,
    /// Told whether the emit was taken (sent or buffered) or refused (buffer full). Set
    /// when the emitter saw the namespace disconnected; a full buffer refuses only these.
    admission: Option<oneshot::Sender<Result<(), EmitError>>>,
}

impl OutgoingEmit {
    /// The emit of `text` followed by `attachments` on `namespace`, asking for no ack.
    pub(crate) fn new(
        namespace: Arc<str>,
        text: String,
        attachments: Vec<Bytes>,
        volatile: bool,
    ) -> Self {
        let rare = (!attachments.is_empty()).then(|| {
            Box::new(Rare {
                attachments,
                ..Rare::default()
            })
        });
        Self {
            namespace,
            text,
            ack_id: None,
            volatile,
            rare,
        }
    }

    /// The same emit asking for ack `ack_id`.
    pub(crate) fn asking(self, ack_id: Option<u64>) -> Self {
        Self { ack_id, ..self }
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Its binary attachments, in order.
    pub(crate) fn attachments(&self) -> &[Bytes] {
        self.rare.as_ref().map_or(&[], |rare| &rare.attachments)
    }

    /// Its text and attachments, what is written.
    pub(crate) fn into_wire(self) -> (String, Vec<Bytes>) {
        let attachments = self.rare.map(|rare| rare.attachments).unwrap_or_default();
        (self.text, attachments)
    }

    /// Bytes on the wire: the text and every attachment.
    pub(crate) fn size(&self) -> usize {
        self.text.len() + self.attachments().iter().map(Bytes::len).sum::<usize>()
    }

    /// Sets who waits for the ack ([`OutgoingEmit::ack_id`]).
    pub(crate) fn set_ack_waiter(&mut self, waiter: AckWaiter) {
        self.rare().ack_waiter = Some(waiter);
    }

    /// Takes who waits for the ack, if anyone.
    pub(crate) fn take_ack_waiter(&mut self) -> Option<AckWaiter> {
        self.rare.as_mut()?.ack_waiter.take()
    }

    /// Sets who is told whether the emit was taken or refused.
    pub(crate) fn set_admission(&mut self, admission: oneshot::Sender<Result<(), EmitError>>) {
        self.rare().admission = Some(admission);
    }

    /// Whether the emitter waits to learn whether the emit was taken.
    pub(crate) fn awaits_admission(&self) -> bool {
        self.rare
            .as_ref()
            .is_some_and(|rare| rare.admission.is_some())
    }

    /// Takes who is told whether the emit was taken, if anyone.
    pub(crate) fn take_admission(&mut self) -> Option<oneshot::Sender<Result<(), EmitError>>> {
        self.rare.as_mut()?.admission.take()
    }
}

/// An emit of a socket with `retries`: sent until the server acknowledges it, each try
/// with a new ack id, at most `retries + 1` times.
#[derive(Debug)]
pub(crate) struct RetryEmit {
    /// The event, without ack id (each try gets its own).
    pub(crate) packet: Packet,
    /// Its size on the wire, for the bounds.
    pub(crate) size: usize,
    /// Tries beyond the first.
    pub(crate) retries: u32,
    /// How long each try waits for the ack.
    pub(crate) timeout: Duration,
    /// Gets the server's reply, or why none came after the last try.
    pub(crate) reply_tx: Option<oneshot::Sender<AckResult>>,
    /// Told whether the queue took the emit or refused it (full).
    pub(crate) admission: Option<oneshot::Sender<Result<(), EmitError>>>,
}

/// The handles' end of the command queue.
pub(crate) type CommandTx = super::queue::CommandTx<Command>;

/// A request to the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Connect a namespace (opening the engine if needed).
    Connect {
        namespace: Arc<str>,
        auth: Option<Value>,
        link: Box<SocketLink>,
        reply: oneshot::Sender<Result<(), ConnectError>>,
    },
    /// Send an event (buffered until the namespace is connected).
    Emit(OutgoingEmit),
    /// Send an event of a socket with `retries`, after its other such events (boxed, as
    /// is the CONNECT's link: the command stays as small as an emit).
    EmitWithRetries(Box<RetryEmit>),
    /// Answer the server's ack request `id`.
    Ack {
        namespace: Arc<str>,
        id: u64,
        args: Vec<Value>,
    },
    /// Disconnect one namespace; `done` is told once it is applied.
    Disconnect {
        namespace: Arc<str>,
        done: oneshot::Sender<()>,
    },
    /// Skip the remaining reconnection delay.
    ReconnectNow,
    /// Discard a namespace's offline buffer.
    ClearBuffer { namespace: Arc<str> },
    /// Record a room intent and emit the join event when connected.
    JoinRoom { namespace: Arc<str>, room: String },
    /// Forget a room intent and emit the leave event when connected.
    LeaveRoom { namespace: Arc<str>, room: String },
    /// Close everything.
    Close { reply: oneshot::Sender<()> },
}

impl Command {
    /// Whether its sender waits for the connection task's answer once it is queued: an
    /// emit with ack, a connection, a disconnection, the close. The queue rings the task's
    /// doorbell for these when their sender is outside the runtime (`queue.rs`).
    pub(crate) fn awaits_reply(&self) -> bool {
        match self {
            Command::Emit(emit) => emit.ack_id.is_some(),
            Command::EmitWithRetries(emit) => emit.reply_tx.is_some(),
            Command::Connect { .. } | Command::Disconnect { .. } | Command::Close { .. } => true,
            Command::Ack { .. }
            | Command::ReconnectNow
            | Command::ClearBuffer { .. }
            | Command::JoinRoom { .. }
            | Command::LeaveRoom { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emit_command_is_small_enough_to_move_without_a_memcpy_call() {
        let (emit, command) = (
            std::mem::size_of::<OutgoingEmit>(),
            std::mem::size_of::<Command>(),
        );
        assert!(emit <= 72 && command <= 80, "{emit} {command}");
    }
}
