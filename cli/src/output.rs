//! The stdout lines: one JSON object per line, written by a single writer task.

use std::sync::Arc;

use ferrio::{AckError, ConnectError, ConnectionStats, ManagerEvent, SocketEvent};
use serde::Serialize;
use serde_json::Value as Json;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::clock;
use crate::json::{args_to_json, to_json};
use crate::pretty::{self, Style};

/// Capacity of the queue of lines to the writer task.
pub const LINE_CAPACITY: usize = 1024;

/// Most bytes (their JSON size) of the lines in the queue to the writer task. A line larger
/// than this waits for the queue to empty, then goes alone. With stdout stalled, the lines
/// wait here, then the events in the socket's queue (`max_incoming_queue_bytes`), then the
/// connection drops events and prints a `lagged` line once stdout moves again.
pub const LINE_BYTES: usize = 8 * 1024 * 1024;

/// Most lines the writer takes from its queue before one flush.
const WRITE_BATCH: usize = 256;

/// Most bytes of text the writer renders before one flush (the line that crosses it
/// included).
const WRITE_BATCH_BYTES: usize = 1024 * 1024;

/// A line on its way to the writer; its bytes count in the queue's bound until rendered.
#[derive(Debug)]
struct Queued {
    line: Line,
    _bytes: OwnedSemaphorePermit,
}

/// The queue of lines to the writer task was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

/// The sending side of the queue of lines to the writer: bounded in lines and in bytes,
/// [`LineSender::send`] waits while either bound is reached.
#[derive(Debug, Clone)]
pub struct LineSender {
    tx: mpsc::Sender<Queued>,
    bytes: Arc<Semaphore>,
    max_bytes: usize,
}

/// The receiving side of the queue of lines, for [`run_writer`].
#[derive(Debug)]
pub struct LineReceiver {
    rx: mpsc::Receiver<Queued>,
}

/// A queue of at most `capacity` lines and `max_bytes` bytes of lines to the writer.
pub fn line_queue(capacity: usize, max_bytes: usize) -> (LineSender, LineReceiver) {
    // A semaphore counts at most `u32::MAX` permits at a time.
    let max_bytes = max_bytes.clamp(1, u32::MAX as usize);
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let sender = LineSender {
        tx,
        bytes: Arc::new(Semaphore::new(max_bytes)),
        max_bytes,
    };
    (sender, LineReceiver { rx })
}

impl LineSender {
    /// Queues `line`, waiting while the queue is full in lines or in bytes.
    ///
    /// # Errors
    /// [`WriterGone`] when the writer stopped.
    pub async fn send(&self, line: Line) -> Result<(), WriterGone> {
        let size = line.json_size().clamp(1, self.max_bytes);
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        let bytes = self
            .bytes
            .clone()
            .acquire_many_owned(size)
            .await
            .map_err(|_| WriterGone)?;
        self.tx
            .send(Queued {
                line,
                _bytes: bytes,
            })
            .await
            .map_err(|_| WriterGone)
    }
}

/// Counts the bytes written to it.
#[derive(Default)]
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One output line; `type` is the variant's name in snake case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// A namespace is connected.
    Connect { namespace: String, sid: String },
    /// An event from the server; `ack` (only when the server asks for an acknowledgement)
    /// is the id that a `{"ack": ID, "args": [...]}` input line answers.
    Event {
        namespace: String,
        event: String,
        args: Vec<Json>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ack: Option<u64>,
    },
    /// The reply to an emit with ack.
    Ack {
        namespace: String,
        event: String,
        args: Vec<Json>,
    },
    /// An emit with ack got no reply: `timeout`, `disconnected`, `closed` (or `discarded`
    /// when the offline buffer dropped it).
    AckError {
        namespace: String,
        event: String,
        error: &'static str,
    },
    /// A namespace could not be connected.
    ConnectError {
        namespace: String,
        message: String,
        data: Json,
    },
    /// A namespace was disconnected.
    Disconnect {
        namespace: String,
        reason: &'static str,
    },
    /// Events were dropped because stdout was too slow.
    Lagged { namespace: String, dropped: u64 },
    /// A reconnection attempt starts.
    ReconnectAttempt { attempt: u32 },
    /// Reconnected after this many attempts.
    Reconnect { attempt: u32 },
    /// A reconnection attempt failed.
    ReconnectError { message: String },
    /// Reconnection gave up.
    ReconnectFailed,
    /// A bad input line or a command that could not be carried out.
    Error { message: String },
    /// The connection statistics (`--stats`, `--stats-interval`).
    Stats(StatsLine),
}

/// The fields of a `stats` line: the manager's [`ConnectionStats`], durations in
/// microseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsLine {
    /// Engine.IO payload bytes received (WebSocket frames, polling response bodies).
    pub bytes_in: u64,
    /// Engine.IO payload bytes sent.
    pub bytes_out: u64,
    /// Engine.IO packets received.
    pub packets_in: u64,
    /// Engine.IO packets sent.
    pub packets_out: u64,
    /// Reconnections that succeeded.
    pub reconnects: u64,
    /// Reconnection attempts.
    pub reconnect_attempts: u64,
    /// `polling`, `websocket`, or `null` while not connected.
    pub transport: Option<&'static str>,
    /// Microseconds since the server's last ping; `null` before the first.
    pub since_last_ping_us: Option<u64>,
    /// The round trips of the emits with ack.
    pub ack_rtt_us: AckRttLine,
}

/// Ack round trips in a `stats` line, in microseconds (all 0 when `count` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AckRttLine {
    /// Acks received.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Longest.
    pub max: u64,
    /// Mean.
    pub mean: u64,
}

/// Whole microseconds of `duration`, saturated.
fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl From<ConnectionStats> for StatsLine {
    fn from(stats: ConnectionStats) -> Self {
        let acks = stats.ack_round_trips;
        StatsLine {
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            packets_in: stats.packets_in,
            packets_out: stats.packets_out,
            reconnects: stats.reconnects,
            reconnect_attempts: stats.reconnect_attempts,
            transport: stats.transport.map(|t| t.as_str()),
            since_last_ping_us: stats.since_last_ping.map(micros),
            ack_rtt_us: AckRttLine {
                count: acks.count,
                p50: micros(acks.p50),
                p90: micros(acks.p90),
                p99: micros(acks.p99),
                max: micros(acks.max),
                mean: micros(acks.mean),
            },
        }
    }
}

impl Line {
    /// The line for something a socket of `namespace` observed; an event keeps no ack id
    /// (see [`crate::pending`] for those that get one).
    pub fn from_socket_event(namespace: &str, event: SocketEvent) -> Line {
        let namespace = namespace.to_owned();
        match event {
            SocketEvent::Connect { sid, .. } => Line::Connect { namespace, sid },
            SocketEvent::ConnectError(error) => Line::connect_error(namespace, error),
            SocketEvent::Disconnect(reason) => Line::Disconnect {
                namespace,
                reason: reason.as_str(),
            },
            SocketEvent::Event(event) => {
                let args = args_to_json(event.args().to_vec());
                Line::Event {
                    namespace,
                    event: event.name,
                    args,
                    ack: None,
                }
            }
            SocketEvent::Lagged(dropped) => Line::Lagged { namespace, dropped },
        }
    }

    /// The `connect_error` line: the server's message and data for a rejection, else the
    /// error's text and `null`.
    pub fn connect_error(namespace: String, error: ConnectError) -> Line {
        match error {
            ConnectError::Rejected { message, data } => Line::ConnectError {
                namespace,
                message,
                data: data.map_or(Json::Null, to_json),
            },
            other => Line::ConnectError {
                namespace,
                message: other.to_string(),
                data: Json::Null,
            },
        }
    }

    /// The line for a manager event; `None` for those the contract does not print (open, close).
    pub fn from_manager_event(event: ManagerEvent) -> Option<Line> {
        match event {
            ManagerEvent::ReconnectAttempt(attempt) => Some(Line::ReconnectAttempt { attempt }),
            ManagerEvent::Reconnect(attempt) => Some(Line::Reconnect { attempt }),
            ManagerEvent::ReconnectError(error) => Some(Line::ReconnectError {
                message: error.to_string(),
            }),
            ManagerEvent::ReconnectFailed => Some(Line::ReconnectFailed),
            ManagerEvent::Open | ManagerEvent::Close(_) => None,
        }
    }

    /// The `ack` or `ack_error` line for the outcome of an emit with ack; an emit that could
    /// not be sent at all (reserved name, too large) is an `error` line.
    pub fn from_ack(
        namespace: String,
        event: String,
        result: Result<ferrio::Ack, AckError>,
    ) -> Line {
        let error = match result {
            Ok(ack) => {
                return Line::Ack {
                    namespace,
                    event,
                    args: args_to_json(ack.args().to_vec()),
                }
            }
            Err(AckError::Timeout(_)) => "timeout",
            Err(AckError::Disconnected) => "disconnected",
            Err(AckError::Closed) => "closed",
            Err(AckError::Discarded) => "discarded",
            Err(AckError::Emit(error)) => {
                return Line::Error {
                    message: format!("emit \"{event}\" on {namespace}: {error}"),
                }
            }
        };
        Line::AckError {
            namespace,
            event,
            error,
        }
    }

    /// The size of the line as JSON text, without making it.
    pub fn json_size(&self) -> usize {
        let mut count = ByteCount::default();
        // As for `to_json_string`: a `Line` always serializes.
        let _ = serde_json::to_writer(&mut count, self);
        count.0
    }

    /// The line as JSON text, without the newline.
    pub fn to_json_string(&self) -> String {
        // A `Line` holds only strings, numbers and JSON values: it always serializes.
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!(r#"{{"type":"error","message":"{e}"}}"#))
    }
}

/// How the writer prints lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// One JSON object per line: the contract.
    Json,
    /// Readable text with local timestamps (see [`crate::pretty`]).
    Text(Style),
}

/// The `--count` limit: after `limit` event lines, later ones are not printed and
/// `reached_tx` is told once.
#[derive(Debug)]
pub struct EventLimit {
    /// Event lines to print.
    pub limit: u64,
    /// Told once, after the last of them was flushed.
    pub reached_tx: mpsc::Sender<()>,
}

/// Writes each line received to `out`, newline-terminated, flushing whenever the queue is
/// empty (so no line waits in a buffer), or after [`WRITE_BATCH`] lines or
/// [`WRITE_BATCH_BYTES`] of text. Stops when every sender is gone; after a write error
/// (stdout closed) it keeps draining the queue so senders never block.
pub async fn run_writer(
    mut line_rx: LineReceiver,
    out: impl AsyncWrite + Unpin,
    render: Render,
    event_limit: Option<EventLimit>,
) {
    let mut out = tokio::io::BufWriter::new(out);
    let mut broken = false;
    let mut events = 0u64;
    let mut text = String::new();
    while let Some(first) = line_rx.rx.recv().await {
        if broken {
            continue;
        }
        text.clear();
        let mut reached = false;
        let mut taken = 0;
        let mut queued = Some(first);
        while let Some(Queued { line, _bytes }) = queued {
            taken += 1;
            if let (Line::Event { .. }, Some(limit)) = (&line, &event_limit) {
                if events >= limit.limit {
                    queued = line_rx.rx.try_recv().ok();
                    continue;
                }
                events += 1;
                reached |= events == limit.limit;
            }
            match render {
                Render::Json => text.push_str(&line.to_json_string()),
                Render::Text(style) => text.push_str(&pretty::render(&line, &clock::now(), style)),
            }
            text.push('\n');
            // The line is text now: its bytes leave the queue's bound.
            drop((line, _bytes));
            queued = if taken < WRITE_BATCH && text.len() < WRITE_BATCH_BYTES {
                line_rx.rx.try_recv().ok()
            } else {
                None
            };
        }
        if let Err(error) = write_all_and_flush(&mut out, text.as_bytes()).await {
            tracing::debug!(%error, "stdout closed, output dropped from now on");
            broken = true;
        }
        if let (true, Some(limit)) = (reached, &event_limit) {
            let _ = limit.reached_tx.try_send(());
        }
        if text.capacity() > WRITE_BATCH_BYTES * 2 {
            // One huge line grew it: do not keep that much while idle.
            text = String::new();
        }
    }
}

async fn write_all_and_flush(
    out: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
) -> std::io::Result<()> {
    out.write_all(bytes).await?;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio::DisconnectReason;
    use serde_json::json;

    fn text(line: Line) -> Json {
        serde_json::from_str(&line.to_json_string()).unwrap()
    }

    #[test]
    fn a_stats_line_is_flat_with_microseconds_and_a_null_transport_when_disconnected() {
        assert_eq!(
            text(Line::Stats(ferrio::ConnectionStats::default().into())),
            json!({
                "type": "stats",
                "bytes_in": 0, "bytes_out": 0, "packets_in": 0, "packets_out": 0,
                "reconnects": 0, "reconnect_attempts": 0,
                "transport": null, "since_last_ping_us": null,
                "ack_rtt_us": {"count": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0}
            })
        );
    }

    #[test]
    fn each_line_has_its_type_in_snake_case() {
        assert_eq!(
            text(Line::Connect {
                namespace: "/".into(),
                sid: "abc".into()
            }),
            json!({"type": "connect", "namespace": "/", "sid": "abc"})
        );
        assert_eq!(
            text(Line::AckError {
                namespace: "/".into(),
                event: "e".into(),
                error: "timeout"
            }),
            json!({"type": "ack_error", "namespace": "/", "event": "e", "error": "timeout"})
        );
        assert_eq!(
            text(Line::ReconnectFailed),
            json!({"type": "reconnect_failed"})
        );
        assert_eq!(
            text(Line::ReconnectAttempt { attempt: 2 }),
            json!({"type": "reconnect_attempt", "attempt": 2})
        );
    }

    #[test]
    fn a_rejection_carries_the_server_message_and_data() {
        let data = ferrio::Value::from(json!({"code": 42}));
        let error = ConnectError::Rejected {
            message: "no".into(),
            data: Some(data),
        };
        assert_eq!(
            text(Line::connect_error("/no".into(), error)),
            json!({"type": "connect_error", "namespace": "/no", "message": "no", "data": {"code": 42}})
        );
    }

    #[test]
    fn other_connect_errors_have_null_data() {
        let line = text(Line::connect_error("/".into(), ConnectError::Closed));
        assert_eq!(line["data"], Json::Null);
        assert_eq!(line["message"], "the client is closed");
    }

    #[test]
    fn disconnect_reasons_use_the_javascript_strings() {
        let line = Line::from_socket_event(
            "/",
            SocketEvent::Disconnect(DisconnectReason::IoServerDisconnect),
        );
        assert_eq!(text(line)["reason"], "io server disconnect");
    }

    #[test]
    fn disconnect_causes_keep_their_own_strings() {
        for (reason, expected) in [
            (DisconnectReason::MessageTooLarge, "message too large"),
            (DisconnectReason::ProtocolViolation, "protocol violation"),
            (DisconnectReason::InvalidUtf8, "invalid utf-8"),
            (DisconnectReason::WriteStalled, "write stalled"),
        ] {
            let line = Line::from_socket_event("/", SocketEvent::Disconnect(reason));
            assert_eq!(text(line)["reason"], expected);
        }
    }

    #[test]
    fn ack_outcomes_map_to_ack_ack_error_or_error() {
        let ok = Line::from_ack(
            "/".into(),
            "e".into(),
            Ok(ferrio::Ack::from_values(vec![1.into()])),
        );
        assert_eq!(
            text(ok),
            json!({"type": "ack", "namespace": "/", "event": "e", "args": [1]})
        );
        let lost = Line::from_ack("/".into(), "e".into(), Err(AckError::Disconnected));
        assert_eq!(text(lost)["error"], "disconnected");
        let closed = Line::from_ack("/".into(), "e".into(), Err(AckError::Closed));
        assert_eq!(text(closed)["error"], "closed");
        let reserved = AckError::Emit(ferrio::EmitError::ReservedEvent("connect".into()));
        assert_eq!(
            text(Line::from_ack("/".into(), "connect".into(), Err(reserved)))["type"],
            "error"
        );
    }

    #[test]
    fn open_and_close_manager_events_print_nothing() {
        assert_eq!(Line::from_manager_event(ManagerEvent::Open), None);
        assert_eq!(
            Line::from_manager_event(ManagerEvent::Reconnect(3)),
            Some(Line::Reconnect { attempt: 3 })
        );
    }

    #[tokio::test]
    async fn the_writer_writes_one_line_per_message_in_order() {
        let (line_tx, line_rx) = line_queue(4, LINE_BYTES);
        let mut out = Vec::new();
        let writer = async {
            run_writer(line_rx, &mut out, Render::Json, None).await;
        };
        let sender = async move {
            for attempt in 1..=3 {
                line_tx
                    .send(Line::ReconnectAttempt { attempt })
                    .await
                    .unwrap();
            }
        };
        tokio::join!(writer, sender);
        let text = String::from_utf8(out).unwrap();
        let attempts: Vec<u64> = text
            .lines()
            .map(|line| {
                serde_json::from_str::<Json>(line).unwrap()["attempt"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(attempts, [1, 2, 3]);
    }

    fn event(n: u64) -> Line {
        Line::Event {
            namespace: "/".into(),
            event: "e".into(),
            args: vec![json!(n)],
            ack: None,
        }
    }

    #[tokio::test]
    async fn the_event_limit_prints_that_many_events_and_tells_once() {
        let (line_tx, line_rx) = line_queue(8, LINE_BYTES);
        let (reached_tx, mut reached_rx) = mpsc::channel(1);
        for line in [
            event(1),
            Line::ReconnectAttempt { attempt: 1 },
            event(2),
            event(3),
        ] {
            line_tx.send(line).await.unwrap();
        }
        drop(line_tx);
        let mut out = Vec::new();
        let limit = EventLimit {
            limit: 2,
            reached_tx,
        };
        run_writer(line_rx, &mut out, Render::Json, Some(limit)).await;
        let text = String::from_utf8(out).unwrap();
        let types: Vec<Json> = text
            .lines()
            .map(|line| serde_json::from_str::<Json>(line).unwrap()["type"].clone())
            .collect();
        assert_eq!(types, ["event", "reconnect_attempt", "event"]);
        assert_eq!(reached_rx.try_recv(), Ok(()));
        assert!(reached_rx.try_recv().is_err());
    }

    /// An event line of about `bytes` bytes of JSON.
    fn big_event(bytes: usize) -> Line {
        Line::Event {
            namespace: "/".into(),
            event: "e".into(),
            args: vec![json!("x".repeat(bytes))],
            ack: None,
        }
    }

    #[tokio::test]
    async fn the_line_queue_waits_for_room_in_bytes() {
        use futures_util::FutureExt as _;
        let (line_tx, mut line_rx) = line_queue(100, 1000);
        line_tx.send(big_event(600)).await.unwrap();
        let mut second = Box::pin(line_tx.send(big_event(600)));
        assert!((&mut second).now_or_never().is_none(), "1200 bytes > 1000");
        let first = line_rx.rx.recv().await.expect("first line");
        assert!(
            (&mut second).now_or_never().is_none(),
            "held until rendered"
        );
        drop(first);
        second.await.expect("room once the first is gone");
    }

    #[tokio::test]
    async fn a_line_larger_than_the_byte_bound_goes_alone() {
        use futures_util::FutureExt as _;
        let (line_tx, mut line_rx) = line_queue(100, 1000);
        line_tx.send(big_event(5000)).await.unwrap();
        let mut small = Box::pin(line_tx.send(event(1)));
        assert!(
            (&mut small).now_or_never().is_none(),
            "the big one takes it all"
        );
        drop(line_rx.rx.recv().await);
        small.await.expect("sent");
    }

    /// Records how many bytes each flush wrote.
    #[derive(Default)]
    struct Flushes {
        pending: usize,
        sizes: Vec<usize>,
    }

    impl AsyncWrite for Flushes {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            bytes: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.pending += bytes.len();
            std::task::Poll::Ready(Ok(bytes.len()))
        }

        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let pending = std::mem::take(&mut self.pending);
            if pending > 0 {
                self.sizes.push(pending);
            }
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_writer_flushes_once_a_batch_holds_its_byte_bound() {
        const LINE: usize = 600 * 1024;
        let (line_tx, line_rx) = line_queue(8, LINE_BYTES);
        for _ in 0..3 {
            line_tx.send(big_event(LINE)).await.unwrap();
        }
        drop(line_tx);
        let mut out = Flushes::default();
        run_writer(line_rx, &mut out, Render::Json, None).await;
        // Two lines make a batch of over 1 MiB, the third goes in the next.
        assert_eq!(out.sizes.len(), 2, "{:?}", out.sizes);
        assert!(out.sizes[0] > 2 * LINE && out.sizes[0] < 2 * LINE + 1024);
        assert!(out.sizes[1] > LINE && out.sizes[1] < LINE + 1024);
    }

    #[tokio::test]
    async fn text_output_is_one_readable_line_per_event() {
        let (line_tx, line_rx) = line_queue(2, LINE_BYTES);
        line_tx.send(event(7)).await.unwrap();
        drop(line_tx);
        let mut out = Vec::new();
        run_writer(line_rx, &mut out, Render::Text(Style::new(false)), None).await;
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.trim_end().ends_with("event      /  e 7"), "{text}");
    }
}
