//! `Socket`: one namespace; emits as cheap sync calls, acks and connects as async waits.

use std::sync::Arc;
use std::time::Duration;

use ferrio::JsonEmit;

use crate::ack::AckRecord;
use crate::emit_batch::{self, shared, Batch, EmitFailure};
use crate::error::{AckError, CallError, ConnectError, EmitError};
use crate::listener::Delivery;
use crate::runtime::{block_if_open, block_on, guard, on_runtime, polled_here, run_if_open};
use crate::tracker::{lock, SocketCell, Tracker};

mod receive;

/// What waits in a socket's offline buffer (emits made while not connected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BufferedEmits {
    /// Buffered emits.
    pub emits: u64,
    /// Their size on the wire, in bytes.
    pub bytes: u64,
}

/// A namespace on a manager's connection.
#[derive(uniffi::Object)]
pub struct Socket {
    namespace: String,
    core: Arc<SocketCell>,
    tracker: Arc<Tracker>,
    ack_timeout: Duration,
    /// The delivery of the listener this socket was made with
    /// (`Manager.socket_with_listener`): it stops when this object goes.
    listener: Option<Arc<Delivery>>,
}

impl Socket {
    pub(crate) fn new(core: ferrio::Socket, tracker: Arc<Tracker>, ack_timeout: Duration) -> Self {
        Socket {
            namespace: core.namespace().to_owned(),
            core: tracker.socket(core),
            tracker,
            ack_timeout,
            listener: None,
        }
    }

    /// The core handle; `None` once the manager is closed.
    fn core(&self) -> Option<ferrio::Socket> {
        lock(&self.core).clone()
    }
}

#[uniffi::export]
impl Socket {
    /// The namespace, e.g. `/` or `/admin`.
    pub fn namespace(&self) -> String {
        self.namespace.clone()
    }

    /// The socket id given by the server, while connected.
    pub fn id(&self) -> Result<Option<String>, CallError> {
        guard(|| Ok(self.core().and_then(|core| core.id())))
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> Result<bool, CallError> {
        guard(|| Ok(self.core().is_some_and(|core| core.connected())))
    }

    /// Whether connection state recovery restored the previous session (missed events
    /// replayed, rooms kept) on the last connect; `false` while disconnected.
    pub fn recovered(&self) -> Result<bool, CallError> {
        guard(|| Ok(self.core().is_some_and(|core| core.recovered())))
    }

    /// What waits in the offline buffer: emits made while the namespace is not connected
    /// (before its first connect too), sent in order once it is. Counted as the core takes
    /// emits in: one just made may show a moment later. Zero once closed.
    pub fn buffered(&self) -> Result<BufferedEmits, CallError> {
        guard(|| {
            Ok(self
                .core()
                .map_or(BufferedEmits { emits: 0, bytes: 0 }, |core| {
                    let buffered = core.buffered();
                    BufferedEmits {
                        emits: buffered.emits as u64,
                        bytes: buffered.bytes as u64,
                    }
                }))
        })
    }

    /// Discards the offline buffer; the acks of the discarded emits fail with
    /// [`AckError::Discarded`].
    pub async fn clear_buffer(&self) -> Result<(), CallError> {
        run_if_open(self.core(), |core| async move { core.clear_buffer().await }).await
    }

    /// `clear_buffer`, blocking the calling thread.
    pub fn clear_buffer_blocking(&self) -> Result<(), CallError> {
        block_if_open(self.core(), |core| async move { core.clear_buffer().await })
    }

    /// Joins `room`: emits the join event (the options' `room_join_event`, default `join`)
    /// with the room name now if connected, else at the next connection, and again after
    /// every reconnection that did not recover the session (the server forgets rooms
    /// then). The server decides what joining means: Socket.IO has no room packet.
    pub async fn join_room(&self, room: String) -> Result<(), CallError> {
        run_if_open(
            self.core(),
            |core| async move { core.join_room(&room).await },
        )
        .await
    }

    /// `join_room`, blocking the calling thread.
    pub fn join_room_blocking(&self, room: String) -> Result<(), CallError> {
        block_if_open(
            self.core(),
            |core| async move { core.join_room(&room).await },
        )
    }

    /// Leaves `room`: forgets the intent and emits the leave event (the options'
    /// `room_leave_event`, default `leave`) when connected.
    pub async fn leave_room(&self, room: String) -> Result<(), CallError> {
        run_if_open(
            self.core(),
            |core| async move { core.leave_room(&room).await },
        )
        .await
    }

    /// `leave_room`, blocking the calling thread.
    pub fn leave_room_blocking(&self, room: String) -> Result<(), CallError> {
        block_if_open(
            self.core(),
            |core| async move { core.leave_room(&room).await },
        )
    }

    /// Connects the namespace (opening the connection if needed) and waits for the server.
    /// Emits made before are sent, in order, once connected.
    ///
    /// # Errors
    /// [`ConnectError::Rejected`] with the server's message and data, `Transport`,
    /// `Timeout`, `Closed`.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        let core = self.core().ok_or(ConnectError::Closed)?;
        on_runtime(async move { Ok(core.connect().await?) }).await
    }

    /// `connect`, blocking the calling thread.
    pub fn connect_blocking(&self) -> Result<(), ConnectError> {
        let core = self.core().ok_or(ConnectError::Closed)?;
        block_on(async move { Ok(core.connect().await?) })
    }

    /// Disconnects this namespace (`io client disconnect`).
    pub async fn disconnect(&self) -> Result<(), CallError> {
        run_if_open(self.core(), |core| async move { core.disconnect().await }).await
    }

    /// `disconnect`, blocking the calling thread.
    pub fn disconnect_blocking(&self) -> Result<(), CallError> {
        block_if_open(self.core(), |core| async move { core.disconnect().await })
    }

    /// Queues an emit without waiting: `args_json` is the JSON text of the argument array,
    /// binary nodes as `{"_placeholder":true,"num":K}` into `attachments`.
    ///
    /// # Errors
    /// [`EmitError::QueueFull`] when the outgoing queue is full: nothing was queued; retry
    /// with `emit_async` (or `emit_blocking`), which waits for room. Also `ReservedEvent`,
    /// `InvalidArgs`, `PayloadTooLarge`, `TooManyAttachments`, `Closed`.
    pub fn emit(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        guard(|| {
            let core = self.core().ok_or(EmitError::Closed)?;
            let attachments = shared(attachments);
            Ok(core.try_emit_json_with(&JsonEmit::new(&event, &args_json, &attachments))?)
        })
    }

    /// Queues a batch of emits in order without waiting, until one cannot be queued;
    /// returns how many were. `batch_json` is the JSON text of an array of
    /// `[event, ...args]` arrays, binary nodes as `{"_placeholder":true,"num":K}` numbered
    /// across the whole batch into `attachments` (see [`crate::emit_batch`]). Send the
    /// rest with `emit_batch_async` (or `emit_batch_blocking`) from the first one not
    /// queued: it waits for room and reports each emit's own error.
    ///
    /// # Errors
    /// [`EmitError::InvalidArgs`] when `batch_json` is not a JSON array (nothing queued);
    /// [`EmitError::Closed`].
    pub fn emit_batch(
        &self,
        batch_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<u32, EmitError> {
        guard(|| {
            let core = self.core().ok_or(EmitError::Closed)?;
            let batch = Batch::parse(&batch_json, attachments)?;
            Ok(emit_batch::queue(&core, &batch))
        })
    }

    /// Queues the emits of a batch (as `emit_batch`'s) from position `first` on, in
    /// order, waiting while the outgoing queue is full. An emit that fails for its own
    /// reason (reserved name, too large, ...) is skipped and returned, with its position,
    /// among the failures; once the client is closed the rest is not tried.
    ///
    /// # Errors
    /// [`EmitError::InvalidArgs`] when `batch_json` is not a JSON array (nothing queued);
    /// [`EmitError::Closed`].
    pub async fn emit_batch_async(
        &self,
        batch_json: String,
        attachments: Vec<Vec<u8>>,
        first: u32,
    ) -> Result<Vec<EmitFailure>, EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        on_runtime(emit_batch_waiting(core, batch_json, attachments, first)).await
    }

    /// `emit_batch_async`, blocking the calling thread.
    pub fn emit_batch_blocking(
        &self,
        batch_json: String,
        attachments: Vec<Vec<u8>>,
        first: u32,
    ) -> Result<Vec<EmitFailure>, EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        block_on(emit_batch_waiting(core, batch_json, attachments, first))
    }

    /// Queues an emit, waiting while the outgoing queue is full (backpressure).
    ///
    /// # Errors
    /// As `emit`, without `QueueFull`.
    pub async fn emit_async(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        on_runtime(emit_queued(core, event, args_json, attachments)).await
    }

    /// `emit_async`, blocking the calling thread.
    pub fn emit_blocking(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        block_on(emit_queued(core, event, args_json, attachments))
    }

    /// Queues a volatile emit without waiting: sent only if the connection is writable
    /// now, dropped (never buffered, never retried) otherwise, as the JS client's
    /// `socket.volatile.emit`. Arguments as `emit`'s.
    ///
    /// # Errors
    /// As `emit` (`QueueFull`: nothing was queued; `emit_volatile_async` waits for room).
    pub fn emit_volatile(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        guard(|| {
            let core = self.core().ok_or(EmitError::Closed)?;
            let attachments = shared(attachments);
            Ok(core.try_emit_volatile_json(&JsonEmit::new(&event, &args_json, &attachments))?)
        })
    }

    /// `emit_volatile`, waiting while the outgoing queue is full.
    ///
    /// # Errors
    /// As `emit_volatile`, without `QueueFull`.
    pub async fn emit_volatile_async(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        on_runtime(emit_volatile(core, event, args_json, attachments)).await
    }

    /// `emit_volatile_async`, blocking the calling thread.
    pub fn emit_volatile_blocking(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), EmitError> {
        let core = self.core().ok_or(EmitError::Closed)?;
        block_on(emit_volatile(core, event, args_json, attachments))
    }

    /// Emits and waits for the server's acknowledgement, at most `timeout_ms` (the
    /// manager's `ack_timeout_ms` when `None`).
    ///
    /// # Errors
    /// [`AckError::Timeout`], `Disconnected`, `Closed`, and the emit errors.
    pub async fn emit_with_ack(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
        timeout_ms: Option<u64>,
    ) -> Result<AckRecord, AckError> {
        let core = self.core().ok_or(AckError::Closed)?;
        let timeout = timeout_ms.map_or(self.ack_timeout, Duration::from_millis);
        polled_here(emit_with_ack(core, event, args_json, attachments, timeout)).await
    }

    /// `emit_with_ack` of the event and its arguments as one JSON text, `[event, ...args]`
    /// (the data of the Socket.IO packet, as `emit_batch`'s items), without binary: one
    /// string and one integer to lower, for bindings whose every lowered argument costs
    /// allocations (JNA). Waits at most `timeout_ms` (required: a binding resolves its own
    /// default, as for `EventPipe::emit_with_ack`).
    ///
    /// # Errors
    /// As `emit_with_ack`; [`AckError::InvalidArgs`] also when `data_json` is not an
    /// array starting with the event name, or holds binary placeholders.
    pub async fn emit_named_with_ack(
        &self,
        data_json: String,
        timeout_ms: u64,
    ) -> Result<AckRecord, AckError> {
        let core = self.core().ok_or(AckError::Closed)?;
        let timeout = Duration::from_millis(timeout_ms);
        polled_here(async move {
            let emit = JsonEmit::named(&data_json, &[]);
            Ok(core.emit_json_with_ack(&emit, timeout).await?.into())
        })
        .await
    }

    /// `emit_with_ack`, blocking the calling thread.
    pub fn emit_with_ack_blocking(
        &self,
        event: String,
        args_json: String,
        attachments: Vec<Vec<u8>>,
        timeout_ms: Option<u64>,
    ) -> Result<AckRecord, AckError> {
        let core = self.core().ok_or(AckError::Closed)?;
        let timeout = timeout_ms.map_or(self.ack_timeout, Duration::from_millis);
        block_on(emit_with_ack(core, event, args_json, attachments, timeout))
    }
}

/// The emit of `emit_async` and `emit_blocking`: waits while the outgoing queue is full.
async fn emit_queued(
    core: ferrio::Socket,
    event: String,
    args_json: String,
    attachments: Vec<Vec<u8>>,
) -> Result<(), EmitError> {
    let attachments = shared(attachments);
    Ok(core
        .emit_json(&JsonEmit::new(&event, &args_json, &attachments))
        .await?)
}

/// The emit of `emit_volatile_async` and `emit_volatile_blocking`.
async fn emit_volatile(
    core: ferrio::Socket,
    event: String,
    args_json: String,
    attachments: Vec<Vec<u8>>,
) -> Result<(), EmitError> {
    let attachments = shared(attachments);
    Ok(core
        .emit_volatile_json(&JsonEmit::new(&event, &args_json, &attachments))
        .await?)
}

/// The body of `emit_batch_async` and `emit_batch_blocking`.
async fn emit_batch_waiting(
    core: ferrio::Socket,
    batch_json: String,
    attachments: Vec<Vec<u8>>,
    first: u32,
) -> Result<Vec<EmitFailure>, EmitError> {
    let batch = Batch::parse(&batch_json, attachments)?;
    Ok(emit_batch::queue_waiting(&core, &batch, first).await)
}

/// The call of `emit_with_ack` and `emit_with_ack_blocking`.
async fn emit_with_ack(
    core: ferrio::Socket,
    event: String,
    args_json: String,
    attachments: Vec<Vec<u8>>,
    timeout: Duration,
) -> Result<AckRecord, AckError> {
    let attachments = shared(attachments);
    let emit = JsonEmit::new(&event, &args_json, &attachments);
    Ok(core.emit_json_with_ack(&emit, timeout).await?.into())
}
