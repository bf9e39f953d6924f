//! `EventPipe`: a socket's [`EventQueue`] announced on a file descriptor that the foreign
//! event loop watches (asyncio `add_reader`) and taken with a sync call, together with the
//! replies to its ack requests.
//!
//! An awaited UniFFI future wakes its foreign loop with a callback from a tokio thread
//! (thread state, GIL, `call_soon_threadsafe`): ~150 µs of CPU per wake-up in Python. Here a
//! tokio thread only writes one byte to a pipe; the loop wakes from its own poll, as it
//! does for a socket of its own. A pipe, not a socket pair: its one-byte write and read
//! cost ~1.2 µs against ~2.9 µs (no socket buffer per write), once per wake-up.
//!
//! No task stands between the queue and the descriptor: `take` takes from the queue
//! itself, and when it leaves the queue empty, the queue holds the pipe's waker, which
//! writes the byte from the connection task that queues the next event.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use mio::unix::pipe::{Receiver, Sender};
use tokio::sync::Notify;

use crate::error::{AckError, CallError};
use crate::event::{EventRecord, JsonBatch};
use crate::json;
use crate::queue::{EventQueue, Held, MAX_BATCH};
use crate::runtime::{guard, runtime};
use crate::tracker::{lock, SocketCell};

mod calls;

use calls::CallSocket;

/// A socket's events and the replies to [`EventPipe::emit_with_ack`], signalled on
/// [`EventPipe::fd`]: when it is readable, call [`EventPipe::take`].
#[derive(uniffi::Object)]
pub struct EventPipe {
    queue: Arc<EventQueue>,
    core: Arc<SocketCell>,
    shared: Arc<Shared>,
    /// Signals the descriptor: registered with the queue while it is empty.
    waker: Waker,
    reader: Receiver,
    /// Opened by the first [`EventPipe::call_fd`]: a socket that never calls has no call
    /// socket and no task serving one. `None` when it could not be opened.
    calls: OnceLock<Option<CallSocket>>,
    next_call: AtomicU64,
}

/// What the queue's waker, the ack tasks and the taker share.
struct Shared {
    state: Mutex<State>,
    writer: Sender,
    signalled: AtomicBool,
    /// Stops the call socket's task, if there is one (see `calls`).
    stop: Notify,
    closed: AtomicBool,
}

#[derive(Default)]
struct State {
    /// What the queue held when the pipe was opened (the first poll, which registers the
    /// waker), for the first `take`.
    early: Vec<Held>,
    acks: Vec<(u64, Result<ferrio::Ack, AckError>)>,
    /// The queue has ended.
    ended: bool,
}

impl Shared {
    fn push(&self, fill: impl FnOnce(&mut State)) {
        fill(&mut lock(&self.state));
        self.signal();
    }

    /// Queues the reply to call `id` (or why there is none) for [`EventPipe::take`].
    fn push_reply(&self, id: u64, reply: Result<ferrio::Ack, impl Into<AckError>>) {
        self.push(|state| state.acks.push((id, reply.map_err(Into::into))));
    }

    /// One byte per wake-up: set until the taker clears it.
    fn signal(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // Non-blocking: a full pipe already holds a wake-up.
            let _ = (&self.writer).write(&[1]);
        }
    }
}

/// The queue wakes the pipe by signalling its descriptor.
impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.signal();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.signal();
    }
}

impl EventPipe {
    /// A pipe of `queue`: its descriptor is signalled when the queue has events or ends.
    pub(crate) fn new(queue: Arc<EventQueue>, core: Arc<SocketCell>) -> std::io::Result<Self> {
        // Both ends non-blocking and closed on exec.
        let (writer, reader) = mio::unix::pipe::new()?;
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            writer,
            signalled: AtomicBool::new(false),
            stop: Notify::new(),
            closed: AtomicBool::new(false),
        });
        let waker = Waker::from(shared.clone());
        // Registers the waker, or finds events (or the end) already there.
        if let Poll::Ready(early) = queue.poll_next(&mut Context::from_waker(&waker), MAX_BATCH) {
            let mut state = lock(&shared.state);
            state.ended = early.is_empty();
            state.early = early;
            drop(state);
            shared.signal();
        }
        Ok(EventPipe {
            queue,
            core,
            shared,
            waker,
            reader,
            calls: OnceLock::new(),
            next_call: AtomicU64::new(0),
        })
    }

    /// Takes up to `max` events from the queue (after the early ones). When it leaves
    /// events there, the queue wakes the pipe at once; when it empties it, the queue keeps
    /// the waker for the next event.
    fn take_events(&self, state: &mut State, max: u32) -> Vec<ferrio::SocketEvent> {
        let max = max.clamp(1, MAX_BATCH) as usize;
        let mut events = if state.early.len() > max {
            let rest = state.early.split_off(max);
            self.shared.signal();
            std::mem::replace(&mut state.early, rest)
        } else {
            std::mem::take(&mut state.early)
        };
        let room = max - events.len();
        if room > 0 && !state.ended {
            let mut cx = Context::from_waker(&self.waker);
            match self.queue.poll_next(&mut cx, room as u32) {
                Poll::Pending => {}
                Poll::Ready(batch) if batch.is_empty() => state.ended = true,
                Poll::Ready(batch) if events.is_empty() => events = batch,
                Poll::Ready(batch) => events.extend(batch),
            }
        }
        // Taken: the foreign side holds them from now on (their bytes no longer count).
        events.into_iter().map(|(event, _)| event).collect()
    }

    /// Reads the pending wake-up bytes, so that the descriptor is readable again only after
    /// the next signal.
    fn clear_signal(&self) {
        let mut bytes = [0u8; 64];
        while matches!((&self.reader).read(&mut bytes), Ok(n) if n == bytes.len()) {}
        self.shared.signalled.store(false, Ordering::Release);
    }
}

#[uniffi::export]
impl EventPipe {
    /// The descriptor to watch for reading (asyncio: `loop.add_reader(pipe.fd(), ...)`):
    /// readable when [`EventPipe::take`] has something.
    pub fn fd(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    /// Takes, without waiting, up to `max` events and every ack reply that arrived, packed
    /// as described at [`PipeBatch`]. `ended` once the queue has ended and is drained.
    pub fn take(&self, max: u32) -> Result<PipeBatch, CallError> {
        guard(|| {
            // Cleared before taking: whatever arrives after the take signals again.
            self.clear_signal();
            let (events, replies, ended, all_taken) = {
                let mut state = lock(&self.shared.state);
                let events = self.take_events(&mut state, max);
                let replies = std::mem::take(&mut state.acks);
                let all_taken = state.early.is_empty();
                (events, replies, state.ended && all_taken, all_taken)
            };
            // The caller's loop handles what it takes before anything it is told after
            // (a manager event awaited there resumes in a later callback): taken counts
            // as handled.
            if all_taken {
                self.queue.handled_all_taken();
            }
            let JsonBatch { mut json, others } = JsonBatch::pack(self.queue.namespace(), events);
            let mut acks = Vec::new();
            for (id, reply) in replies {
                match reply {
                    Ok(ack) if ack.payload().attachments().is_empty() => {
                        // `[...]` becomes `[...,{"ack":id,"args":[...]}]`.
                        json.pop();
                        if json.len() > 1 {
                            json.push(',');
                        }
                        // Writing into a String cannot fail.
                        let _ = write!(json, "{{\"ack\":{id},\"args\":");
                        json.push_str(ack.payload().json());
                        json.push_str("}]");
                    }
                    Ok(ack) => {
                        let (args_json, attachments) = ack.into_payload().into_parts();
                        let attachments = attachments.into_iter().map(Vec::from).collect();
                        acks.push(AckReply {
                            id,
                            args_json,
                            attachments,
                            error: None,
                        });
                    }
                    Err(error) => acks.push(AckReply {
                        id,
                        args_json: String::new(),
                        attachments: Vec::new(),
                        error: Some(error),
                    }),
                }
            }
            Ok(PipeBatch {
                json,
                others,
                acks,
                ended,
            })
        })
    }

    /// Emits with an acknowledgement request without waiting. `data_json` is the JSON text
    /// of `[event, ...args]`, binary nodes as placeholders into `attachments`. The
    /// reply, or why there is none (no reply within `timeout_ms`, disconnection, ...),
    /// comes back through [`EventPipe::take`] with the returned id.
    ///
    /// # Errors
    /// [`AckError::InvalidArgs`] and `Closed` at once; the others in the reply.
    pub fn emit_with_ack(
        &self,
        data_json: String,
        attachments: Vec<Vec<u8>>,
        timeout_ms: u64,
    ) -> Result<u64, AckError> {
        guard(|| {
            let core = lock(&self.core).clone().ok_or(AckError::Closed)?;
            let (event, args) = named_args(&data_json, attachments)?;
            let timeout = Duration::from_millis(timeout_ms);
            let id = self.next_call.fetch_add(1, Ordering::Relaxed);
            let shared = self.shared.clone();
            runtime().spawn(async move {
                let reply = core.emit_values_with_ack(&event, args, timeout).await;
                shared.push_reply(id, reply);
            });
            Ok(id)
        })
    }

    /// The descriptor of the call socket, a datagram socket (non-blocking) through which
    /// calls need no FFI call: watch it for reading too.
    ///
    /// A request is one datagram: the call id and the timeout in milliseconds, each a
    /// little-endian `u64`, then the UTF-8 JSON text of `[event, ...args]`, binary values
    /// as placeholders; when there are binary values, a zero byte, then for each
    /// placeholder in order its length (little-endian `u32`) and its bytes. At most
    /// 122,880 bytes (120 KiB). The caller picks the ids, at or above 2^63 (those of
    /// [`EventPipe::emit_with_ack`] count up from 0). A reply that fits comes back as one
    /// datagram: the id, then the JSON text of the reply's arguments, binary values as in
    /// a request; any other reply, and every failure, comes through [`EventPipe::take`]
    /// like those of `emit_with_ack`. When a request cannot be written (the socket is
    /// full, or it is too large), use `emit_with_ack`.
    ///
    /// The first call opens the call socket (a pipe that never calls has none); `-1` when
    /// it could not be opened: then every call takes `emit_with_ack`.
    pub fn call_fd(&self) -> i32 {
        self.calls
            .get_or_init(|| {
                CallSocket::open(self.core.clone(), self.shared.clone())
                    .inspect_err(|error| tracing::warn!(%error, "could not open the call socket"))
                    .ok()
            })
            .as_ref()
            .map_or(-1, CallSocket::fd)
    }

    /// Ends the pipe: its queue stops (`take` then reports `ended`); ack replies still
    /// to come are dropped.
    pub fn close(&self) -> Result<(), CallError> {
        guard(|| {
            self.shared.closed.store(true, Ordering::Release);
            self.queue.stop();
            self.shared.signal();
            self.shared.stop.notify_one();
            Ok(())
        })
    }
}

impl Drop for EventPipe {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The event name and the arguments of the JSON text of `[event, ...args]`.
fn named_args(
    data_json: &str,
    attachments: Vec<Vec<u8>>,
) -> Result<(String, Vec<ferrio::Value>), AckError> {
    let mut args = json::args_from_json(data_json, attachments)?.into_iter();
    let Some(ferrio::Value::String(event)) = args.next() else {
        return Err(AckError::InvalidArgs {
            detail: "the first item must be the event name".to_owned(),
        });
    };
    Ok((event, args.collect()))
}

/// What [`EventPipe::take`] hands over, in the cheapest form to cross.
///
/// `json` is the UTF-8 JSON text of an array, in order: a plain event (no attachments, no
/// ack request) is the array `[name, ...args]`; any other event is the integer K, standing
/// for `others[K]`; a reply without binary to `emit_with_ack` call `id` is the object
/// `{"ack":id,"args":[...]}`. Other replies, and failures, are in `acks`.
#[derive(Debug, uniffi::Record)]
pub struct PipeBatch {
    /// The JSON text described above; `[]` when there is nothing.
    pub json: String,
    /// The events that are not plain, referenced from `json` by index.
    pub others: Vec<EventRecord>,
    /// Replies with binary, and calls that got no reply, in the order they arrived.
    pub acks: Vec<AckReply>,
    /// The queue has ended and everything was taken: stop watching the descriptor.
    pub ended: bool,
}

/// The reply to [`EventPipe::emit_with_ack`] call `id` when it does not fit in
/// [`PipeBatch::json`]: with binary, or why there is none.
#[derive(Debug, uniffi::Record)]
pub struct AckReply {
    /// The id `emit_with_ack` returned.
    pub id: u64,
    /// The values the server passed to its callback: JSON text of an array.
    pub args_json: String,
    /// The bytes of the placeholders in `args_json`, by number.
    pub attachments: Vec<Vec<u8>>,
    /// Set when there is no reply (timeout, disconnection, closed, ...).
    pub error: Option<AckError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use mio::unix::SourceFd;
    use mio::{Interest, Token};

    use crate::queue::Source;

    pub(super) fn pipe_without_socket() -> EventPipe {
        let queue = EventQueue::new("/".into(), None, crate::tracker::Tracker::new());
        EventPipe::new(Arc::new(queue), Arc::default()).unwrap()
    }

    /// Takes until `ended`, for at most a second.
    fn take_until_ended(pipe: &EventPipe) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let batch = pipe.take(64).unwrap();
            assert_eq!(batch.json, "[]");
            if batch.ended {
                return;
            }
            assert!(Instant::now() < deadline, "the pipe never ended");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_end_of_the_queue_is_signalled_on_the_descriptor_then_taken() {
        let pipe = pipe_without_socket();
        wait_for_signal(&pipe);
        take_until_ended(&pipe);
    }

    /// Waits for the descriptor to be readable (failing after 10 s) and reads its byte.
    fn wait_for_signal(pipe: &EventPipe) {
        let mut poll = mio::Poll::new().unwrap();
        let fd = pipe.fd();
        poll.registry()
            .register(&mut SourceFd(&fd), Token(0), Interest::READABLE)
            .unwrap();
        let mut events = mio::Events::with_capacity(1);
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert!(!events.is_empty(), "no wake-up");
        let read = (&pipe.reader).read(&mut [0u8; 1]);
        assert_eq!(read.unwrap(), 1, "no wake-up byte");
    }

    #[test]
    fn after_a_take_that_emptied_the_pipe_the_next_event_signals_again() {
        let (manager, socket) = runtime().block_on(async {
            let options = ferrio::ManagerOptions {
                reconnection: false,
                ..ferrio::ManagerOptions::default()
            };
            let manager = ferrio::Manager::with_options("http://127.0.0.1:1", options).unwrap();
            let socket = manager.socket("/");
            (manager, socket)
        });
        let tracker = crate::tracker::Tracker::new();
        let source = Some(Source::Events(socket.events()));
        let queue = Arc::new(EventQueue::new("/".into(), source, tracker.clone()));
        let cell = Arc::new(Mutex::new(Some(socket.clone())));
        let pipe = EventPipe::new(queue, cell).unwrap();
        for _ in 0..2 {
            // Each failed connect queues one `connect_error`.
            let _ = runtime().block_on(socket.connect());
            wait_for_signal(&pipe);
            let batch = pipe.take(64).unwrap();
            assert_eq!(batch.others.len(), 1, "{batch:?}");
            assert_eq!(batch.others[0].name, "connect_error");
            assert!(!batch.ended);
        }
        tracker.close();
        take_until_ended(&pipe);
        drop(manager);
    }

    #[test]
    fn a_call_without_a_socket_is_refused_at_once() {
        let pipe = pipe_without_socket();
        let result = pipe.emit_with_ack("[\"e\"]".into(), Vec::new(), 1000);
        assert!(matches!(result, Err(AckError::Closed)), "{result:?}");
    }

    #[test]
    fn closing_ends_the_pipe() {
        let pipe = pipe_without_socket();
        pipe.close().unwrap();
        take_until_ended(&pipe);
    }
}
