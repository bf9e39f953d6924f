//! Commands from the public handles to the connection task.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{AckError, ConnectError, EmitError};
use crate::event::SocketEvent;
use crate::state::SocketState;
use crate::value::Value;

/// The reply to an emit with acknowledgement.
pub(crate) type AckResult = Result<Vec<Value>, AckError>;

/// An event numbered in the order the connection task produced it, so that a listener
/// added later never sees what came before it.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// Position among everything produced for this socket, from 0.
    pub(crate) seq: u64,
    /// The event.
    pub(crate) event: SocketEvent,
}

/// How the connection task reaches one socket.
#[derive(Debug, Clone)]
pub(crate) struct SocketLink {
    /// Incoming events, to the socket's dispatcher; set when the dispatcher starts.
    pub(crate) event_tx: Arc<OnceLock<mpsc::Sender<Delivery>>>,
    /// How many events were produced for this socket (delivered or dropped).
    pub(crate) produced: Arc<AtomicU64>,
    /// Whether the socket has (or had) a listener or a stream, i.e. a running dispatcher.
    /// Until then events are numbered but not queued: nobody would take them.
    pub(crate) listened: Arc<AtomicBool>,
    /// The size of the socket's offline buffer, kept by the connection task.
    pub(crate) buffer: Arc<BufferStats>,
    /// The socket's observable state.
    pub(crate) state_tx: Arc<watch::Sender<SocketState>>,
}

/// The size of a socket's offline buffer, readable without asking the connection task.
#[derive(Debug, Default)]
pub(crate) struct BufferStats {
    /// Buffered emits.
    pub(crate) emits: AtomicUsize,
    /// Buffered bytes (text and attachments).
    pub(crate) bytes: AtomicUsize,
}

/// An encoded emit on its way to the server.
#[derive(Debug)]
pub(crate) struct OutgoingEmit {
    /// The namespace.
    pub(crate) namespace: Arc<str>,
    /// The Socket.IO text of the packet.
    pub(crate) text: String,
    /// Its binary attachments, in order.
    pub(crate) attachments: Vec<Bytes>,
    /// The ack id and where its reply goes.
    pub(crate) ack: Option<(u64, oneshot::Sender<AckResult>)>,
    /// Dropped rather than buffered when the connection is not writable.
    pub(crate) volatile: bool,
    /// Told whether the emit was taken (sent or buffered) or refused (buffer full). Set
    /// when the emitter saw the namespace disconnected; a full buffer refuses only these.
    pub(crate) admission: Option<oneshot::Sender<Result<(), EmitError>>>,
}

impl OutgoingEmit {
    /// Bytes on the wire: the text and every attachment.
    pub(crate) fn size(&self) -> usize {
        self.text.len() + self.attachments.iter().map(Bytes::len).sum::<usize>()
    }
}

/// A request to the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Connect a namespace (opening the engine if needed).
    Connect {
        namespace: Arc<str>,
        auth: Option<Value>,
        link: SocketLink,
        reply: oneshot::Sender<Result<(), ConnectError>>,
    },
    /// Send an event (buffered until the namespace is connected).
    Emit(OutgoingEmit),
    /// Answer the server's ack request `id`.
    Ack {
        namespace: Arc<str>,
        id: u64,
        args: Vec<Value>,
    },
    /// The caller stopped waiting for ack `id`.
    ForgetAck { namespace: Arc<str>, id: u64 },
    /// Disconnect one namespace.
    Disconnect { namespace: Arc<str> },
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
