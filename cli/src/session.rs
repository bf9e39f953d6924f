//! `ferrio connect`: connects the namespaces, runs the stdin command loop, prints events.
//!
//! Tasks: one reader per namespace (its pull stream, created before `connect()` so the
//! `connect` line comes first), one for the manager's events, and one writer that owns
//! stdout; they all send [`Line`]s to the writer through one bounded channel. The command
//! loop runs in the main task: emits are awaited in order there, and emits with ack wait in
//! a set of futures that the loop polls alongside (see [`CommandLoop`]); their lines are
//! printed by their namespace's reader, in order with its events (see [`crate::ack_lines`]).
//!
//! When stdin is a terminal the loop also takes the short form of [`crate::shortform`];
//! when stdout is one too the writer prints readable text (see [`crate::pretty`]).
//! `--count` is counted by the writer, `--timeout` bounds the whole session.
//!
//! An event the server wants acknowledged stays in [`PendingAcks`] (shared by the readers
//! and the loop) until a `{"ack": ID}` line answers it; those left are answered with no
//! values before the manager closes.

use std::future::{poll_fn, Future};
use std::io::IsTerminal;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use ferrio::{
    ConnectError, EventStream, Manager, ManagerBuilder, ManagerEvent, Socket, SocketEvent,
    SocketOptions, SocketState, TransportKind,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ack_lines::{ack_route, AckLines, AckRoute, Routed};
use crate::args::{ConnectArgs, OutputFormat, ServerVersion, Transport};
use crate::input::{parse_line, Answer, Command, Emit, Room, Target};
use crate::json::{args_to_json, from_json};
use crate::output::{
    line_queue, run_writer, EventLimit, Line, LineSender, Render, WriterGone, LINE_BYTES,
    LINE_CAPACITY,
};
use crate::pending::PendingAcks;
use crate::pretty::Style;
use crate::shortform::{parse_interactive, Interactive, HELP};

/// Exit status of a connection failure, also when `--timeout` came before any namespace
/// ever connected.
const EXIT_CONNECTION_FAILED: u8 = 1;
/// Exit status of a usage error.
const EXIT_USAGE: u8 = 2;
/// Exit status when `--timeout` ends the session before `--count` events arrived.
const EXIT_COUNT_NOT_REACHED: u8 = 3;
/// How long the reader tasks may take to print the last events after the manager closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Buffer of the stdin reader.
const STDIN_BUFFER: usize = 64 * 1024;

/// An emit-with-ack waiting for its reply; yields its namespace and the line to print.
type PendingAck = Pin<Box<dyn Future<Output = (String, Line)> + Send>>;

/// Runs `ferrio connect` and returns the exit status.
pub async fn run(args: ConnectArgs) -> ExitCode {
    let setup = match Setup::from_args(&args) {
        Ok(setup) => setup,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let interactive = std::io::stdin().is_terminal();
    let render = match args.output {
        OutputFormat::Json => Render::Json,
        OutputFormat::Text => Render::Text(Style::for_stdout()),
        OutputFormat::Auto if interactive && std::io::stdout().is_terminal() => {
            Render::Text(Style::for_stdout())
        }
        OutputFormat::Auto => Render::Json,
    };
    // Capacity 1: the writer tells once that the count is reached.
    let (reached_tx, reached_rx) = mpsc::channel(1);
    let event_limit = args.count.map(|limit| EventLimit { limit, reached_tx });
    let (line_tx, line_rx) = line_queue(LINE_CAPACITY, LINE_BYTES);
    let writer = tokio::spawn(run_writer(
        line_rx,
        tokio::io::stdout(),
        render,
        event_limit,
    ));
    // Capacity 1: one "the connection is lost for good" is enough.
    let (lost_tx, lost_rx) = mpsc::channel(1);

    let manager = setup.manager;
    let mut readers = JoinSet::new();
    readers.spawn(forward_manager_events(
        manager.events(),
        line_tx.clone(),
        lost_tx.clone(),
    ));
    // Set by the readers on a namespace's first `connect`: a timeout before it is a failure.
    let ever_connected = Arc::new(AtomicBool::new(false));
    let pending = PendingAcks::default();
    let mut sockets = Vec::with_capacity(setup.namespaces.len());
    let mut routes = Vec::with_capacity(setup.namespaces.len());
    for namespace in &setup.namespaces {
        let socket = manager.socket_with(
            namespace,
            SocketOptions {
                auth: setup.auth.clone(),
                retries: setup.retries,
            },
        );
        let lost_tx = (!setup.reconnection).then(|| lost_tx.clone());
        let (route, acks) = ack_route();
        readers.spawn(forward_socket_events(
            SocketReader {
                namespace: namespace.clone(),
                socket: socket.clone(),
                line_tx: line_tx.clone(),
                lost_tx,
                ever_connected: ever_connected.clone(),
                pending: pending.clone(),
            },
            socket.events(),
            acks,
        ));
        sockets.push((namespace.clone(), socket));
        routes.push(route);
    }
    drop(lost_tx);
    let stats_task = args
        .stats_interval
        .map(|period| tokio::spawn(print_stats(manager.clone(), period, line_tx.clone())));

    let session = async {
        let refused = connect_all(&sockets, setup.reconnection, &line_tx).await?;
        if interactive {
            eprintln!(
                "ferrio connect: {} ({}). Type help for commands; quit or Ctrl-D to exit.",
                args.url,
                setup.namespaces.join(", ")
            );
        }
        let mut commands = CommandLoop {
            sockets: &sockets,
            routes: &routes,
            refused,
            line_tx: &line_tx,
            acks: FuturesUnordered::new(),
            pending: &pending,
            interactive,
            keep_open: args.count.is_some() || args.timeout.is_some(),
        };
        let stdin = BufReader::with_capacity(STDIN_BUFFER, tokio::io::stdin());
        Some(commands.run(stdin, lost_rx, reached_rx).await)
    };
    let end = match args.timeout {
        Some(timeout) => tokio::time::timeout_at(Instant::now() + timeout, session)
            .await
            .unwrap_or(Some(End::TimedOut)),
        None => session.await,
    };
    let connected = ever_connected.load(Ordering::Relaxed)
        || sockets.iter().any(|(_, socket)| socket.connected());
    let status = match end {
        Some(End::Input | End::CountReached) => 0,
        Some(End::TimedOut) if !connected => EXIT_CONNECTION_FAILED,
        Some(End::TimedOut) if args.count.is_some() => EXIT_COUNT_NOT_REACHED,
        Some(End::TimedOut) => 0,
        Some(End::ConnectionLost) | None => EXIT_CONNECTION_FAILED,
    };

    // Answered before the close so that the answers still reach the server.
    pending.release_all();
    if let Some(stats_task) = stats_task {
        stats_task.abort();
    }
    // The ack lines handed to the readers come before the last stats line.
    for route in &routes {
        route.flush().await;
    }
    if args.stats || args.stats_interval.is_some() {
        let _ = line_tx.send(Line::Stats(manager.stats().into())).await;
    }
    manager.close().await;
    // The pull streams and the manager events end after the close; the readers print what
    // is left, then stop.
    drop(sockets);
    drop(manager);
    if tokio::time::timeout(DRAIN_TIMEOUT, async {
        while readers.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("event readers still running after close, stopping them");
        readers.shutdown().await;
    }
    drop(line_tx);
    let _ = writer.await;
    ExitCode::from(status)
}

/// What the arguments ask for, checked.
struct Setup {
    manager: Manager,
    namespaces: Vec<String>,
    auth: Option<ferrio::Value>,
    reconnection: bool,
    /// Tries per emit beyond the first (`--retries`).
    retries: u32,
}

impl Setup {
    /// Builds the manager. Errors are usage errors (exit 2).
    fn from_args(args: &ConnectArgs) -> Result<Setup, String> {
        let auth = match &args.auth {
            Some(auth) => Some(from_json(auth.clone()).map_err(|e| format!("--auth: {e}"))?),
            None => None,
        };
        let manager = manager_builder(args)?.build().map_err(|e| e.to_string())?;
        Ok(Setup {
            manager,
            namespaces: namespace_list(&args.namespaces),
            auth,
            reconnection: !args.no_reconnection,
            retries: args.retries,
        })
    }
}

/// The manager's options from the arguments; reads the `--ca-cert`, `--client-cert` and
/// `--client-key` files.
fn manager_builder(args: &ConnectArgs) -> Result<ManagerBuilder, String> {
    let mut builder = Manager::builder(&args.url);
    builder = match args.transport {
        Transport::Upgrade => builder
            .transports(&[TransportKind::Polling, TransportKind::WebSocket])
            .upgrade(true),
        Transport::Websocket => builder.transports(&[TransportKind::WebSocket]),
        Transport::Polling => builder.transports(&[TransportKind::Polling]).upgrade(false),
    };
    builder = builder.server_version(match args.server_version {
        ServerVersion::Detect => ferrio::ServerVersion::Detect,
        ServerVersion::V2 => ferrio::ServerVersion::V2,
        ServerVersion::V4 => ferrio::ServerVersion::V4,
    });
    for (name, value) in &args.headers {
        builder = builder.extra_header(name, value);
    }
    for url in &args.fallback_urls {
        builder = builder.fallback_url(url);
    }
    builder = builder.compression(!args.no_compression);
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        builder = builder.ca_cert_pem(pem);
    }
    for pin in &args.pins {
        builder = builder.certificate_pin(*pin);
    }
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        let cert_pem =
            std::fs::read(cert).map_err(|e| format!("--client-cert {}: {e}", cert.display()))?;
        let key_pem =
            std::fs::read(key).map_err(|e| format!("--client-key {}: {e}", key.display()))?;
        builder = builder.client_certificate(cert_pem, key_pem);
    }
    builder = builder.danger_accept_invalid_certs(args.insecure);
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy);
    } else if args.no_proxy_env {
        builder = builder.no_proxy();
    }
    builder = builder.options(|options| {
        args.limits.apply(options);
        options.try_all_transports = !args.no_try_all_transports;
    });
    builder = builder.reconnection(!args.no_reconnection);
    if let Some(attempts) = args.reconnection_attempts {
        builder = builder.reconnection_attempts(attempts);
    }
    Ok(builder
        .reconnection_delay(Duration::from_millis(args.reconnection_delay_ms))
        .reconnection_delay_max(Duration::from_millis(args.reconnection_delay_max_ms)))
}

/// The namespaces to connect, normalized, without duplicates, in order; `/` when none.
fn namespace_list(given: &[String]) -> Vec<String> {
    let mut namespaces: Vec<String> = Vec::new();
    for namespace in given.iter().map(|n| normalize_namespace(n)) {
        if !namespaces.contains(&namespace) {
            namespaces.push(namespace);
        }
    }
    if namespaces.is_empty() {
        namespaces.push("/".to_owned());
    }
    namespaces
}

/// `/x` for `x`, `/x/` and `/x`; `/` for an empty name (as the manager names them).
fn normalize_namespace(namespace: &str) -> String {
    format!("/{}", namespace.trim_matches('/'))
}

/// Connects every namespace at once. Returns the namespaces the server refused, or `None`
/// when the session cannot go on: a namespace failed for good, or none is left.
async fn connect_all(
    sockets: &[(String, Socket)],
    reconnection: bool,
    line_tx: &LineSender,
) -> Option<Vec<String>> {
    let mut connects = Vec::with_capacity(sockets.len());
    for (_, socket) in sockets {
        let socket = socket.clone();
        connects.push(tokio::spawn(async move { socket.connect().await }));
    }
    let mut refused = Vec::new();
    let mut failed = false;
    for ((namespace, _), connect) in sockets.iter().zip(connects) {
        let result = connect.await.unwrap_or(Err(ConnectError::Closed));
        match result {
            Ok(()) => {}
            // The reader prints these from the socket's stream.
            Err(ConnectError::Rejected { .. }) => refused.push(namespace.clone()),
            Err(ConnectError::Transport(_) | ConnectError::Timeout(_)) if reconnection => {
                tracing::debug!(%namespace, "namespace not connected yet, the manager retries");
            }
            Err(ConnectError::Transport(_) | ConnectError::Timeout(_)) => failed = true,
            // Errors the socket's stream does not report.
            Err(error) => {
                let _ = line_tx
                    .send(Line::connect_error(namespace.clone(), error))
                    .await;
                failed = true;
            }
        }
    }
    (!failed && refused.len() < sockets.len()).then_some(refused)
}

/// What one namespace's reader prints to and reports.
struct SocketReader {
    namespace: String,
    /// Its socket, whose state says whether a `connect` is still to be printed.
    socket: Socket,
    line_tx: LineSender,
    /// Told of a lost connection (given when reconnection is off).
    lost_tx: Option<mpsc::Sender<()>>,
    /// Set on a `connect`.
    ever_connected: Arc<AtomicBool>,
    /// Where the events the server wants acknowledged are kept.
    pending: PendingAcks,
}

/// Prints what one namespace's socket observes and the ack lines handed over in `acks`
/// in the order they happened (see [`crate::ack_lines`]): an ack line after the events its
/// stream has ready, and, while the socket is connected in a session whose `connect` line
/// is not printed yet, held (taking no other) until that line is; once the stream ends,
/// the ack lines handed over before.
async fn forward_socket_events(reader: SocketReader, mut stream: EventStream, mut acks: AckLines) {
    let SocketReader {
        namespace,
        socket,
        line_tx,
        lost_tx,
        ever_connected,
        pending,
    } = reader;
    // The session id of the last `connect` printed, until a `disconnect`.
    let mut shown: Option<String> = None;
    let mut held: Option<Line> = None;
    loop {
        let event = tokio::select! {
            biased;
            event = stream.next() => event,
            Some(routed) = acks.recv(), if held.is_none() => {
                match routed {
                    Routed::Line(line) if awaits_connect(&socket, shown.as_deref()) => {
                        held = Some(line);
                    }
                    routed => {
                        if print_routed(routed, &line_tx).await.is_err() {
                            return;
                        }
                    }
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        match &event {
            SocketEvent::Connect { sid, .. } => {
                ever_connected.store(true, Ordering::Relaxed);
                shown = Some(sid.clone());
            }
            SocketEvent::Disconnect(_) => shown = None,
            _ => {}
        }
        let lost = matches!(&event, SocketEvent::Disconnect(reason) if reason.is_recoverable());
        let line = match event {
            SocketEvent::Event(mut event) if event.wants_ack() => {
                let name = std::mem::take(&mut event.name);
                let args = args_to_json(event.args().to_vec());
                Line::Event {
                    namespace: namespace.clone(),
                    event: name,
                    args,
                    ack: Some(pending.insert(event)),
                }
            }
            event => Line::from_socket_event(&namespace, event),
        };
        if line_tx.send(line).await.is_err() {
            return;
        }
        if let (true, Some(lost_tx)) = (lost, &lost_tx) {
            let _ = lost_tx.try_send(());
        }
        if held.is_some() && !awaits_connect(&socket, shown.as_deref()) {
            if let Some(line) = held.take() {
                if line_tx.send(line).await.is_err() {
                    return;
                }
            }
        }
    }
    if let Some(line) = held {
        let _ = line_tx.send(line).await;
    }
    acks.close();
    while let Some(routed) = acks.recv().await {
        if print_routed(routed, &line_tx).await.is_err() {
            return;
        }
    }
}

/// Whether `socket` is connected in a session whose `connect` line is not printed yet
/// (`shown` is the session id of the last one printed): its `connect` event is still on
/// its way through the stream.
fn awaits_connect(socket: &Socket, shown: Option<&str>) -> bool {
    matches!(socket.state(), SocketState::Connected { sid, .. } if shown != Some(&*sid))
}

/// Prints an ack line handed to a reader, or answers a flush.
async fn print_routed(routed: Routed, line_tx: &LineSender) -> Result<(), WriterGone> {
    match routed {
        Routed::Line(line) => line_tx.send(line).await,
        Routed::Flush(done) => {
            let _ = done.send(());
            Ok(())
        }
    }
}

/// Prints a `stats` line every `period` (`--stats-interval`, at least 1 ms) until aborted.
async fn print_stats(manager: Manager, period: Duration, line_tx: LineSender) {
    let period = period.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if line_tx
            .send(Line::Stats(manager.stats().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Prints the manager's reconnection events; reports `reconnect_failed` on `lost_tx`.
async fn forward_manager_events(
    mut event_rx: broadcast::Receiver<ManagerEvent>,
    line_tx: LineSender,
    lost_tx: mpsc::Sender<()>,
) {
    loop {
        let event = match event_rx.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "manager events missed");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let failed = matches!(event, ManagerEvent::ReconnectFailed);
        if let Some(line) = Line::from_manager_event(event) {
            if line_tx.send(line).await.is_err() {
                return;
            }
        }
        if failed {
            let _ = lost_tx.try_send(());
        }
    }
}

/// Why the command loop ended.
enum End {
    /// End of input, `{"disconnect":true}` or `quit`, pending acks settled.
    Input,
    /// The connection is lost for good (reconnection gave up, or is off).
    ConnectionLost,
    /// `--count` events were printed.
    CountReached,
    /// `--timeout` elapsed.
    TimedOut,
}

/// Whether to read the next line.
enum Next {
    Continue,
    Stop,
}

/// The stdin command loop.
///
/// Emits must reach the manager in input order, and an emit with ack must not hold up
/// the lines after it. The ack futures therefore live in `acks`, polled in this task
/// before anything else: a new one is polled (and its packet queued) before the next line
/// is read, and while a later emit waits for room in the manager's queue the earlier ack
/// emits, ahead of it in that (fair) queue, are polled first.
struct CommandLoop<'a> {
    sockets: &'a [(String, Socket)],
    /// The route of each socket's ack lines to its reader, in the order of `sockets`.
    routes: &'a [AckRoute],
    refused: Vec<String>,
    line_tx: &'a LineSender,
    acks: FuturesUnordered<PendingAck>,
    /// The server's acknowledgement requests that `{"ack": ID}` lines answer.
    pending: &'a PendingAcks,
    /// Whether stdin is a terminal: the short form is accepted.
    interactive: bool,
    /// Whether the session outlives the end of input (`--count` or `--timeout`).
    keep_open: bool,
}

impl CommandLoop<'_> {
    async fn run(
        &mut self,
        mut input: impl AsyncBufRead + Unpin,
        mut lost_rx: mpsc::Receiver<()>,
        mut reached_rx: mpsc::Receiver<()>,
    ) -> End {
        let mut buffer = Vec::new();
        let mut input_open = true;
        let end = loop {
            tokio::select! {
                biased;
                Some(ack) = self.acks.next(), if !self.acks.is_empty() => self.print_ack(ack).await,
                Some(()) = lost_rx.recv() => break End::ConnectionLost,
                // Ends with `None` at once when there is no --count.
                Some(()) = reached_rx.recv() => break End::CountReached,
                // `read_until` keeps what it read in `buffer` when cancelled.
                read = input.read_until(b'\n', &mut buffer), if input_open => {
                    match read {
                        Ok(0) if self.keep_open => input_open = false,
                        Ok(0) => break End::Input,
                        Ok(_) => {
                            let next = self.on_line(&buffer).await;
                            buffer.clear();
                            if let Next::Stop = next {
                                break End::Input;
                            }
                        }
                        Err(error) if self.keep_open => {
                            tracing::debug!(%error, "stdin failed");
                            input_open = false;
                        }
                        Err(error) => {
                            tracing::debug!(%error, "stdin failed");
                            break End::Input;
                        }
                    }
                }
                // After the end of input with --count or --timeout: wait for them.
                () = std::future::pending(), if !input_open => {}
            }
        };
        if let End::Input = end {
            while let Some(ack) = self.acks.next().await {
                self.print_ack(ack).await;
            }
        }
        end
    }

    async fn on_line(&mut self, bytes: &[u8]) -> Next {
        let Ok(text) = std::str::from_utf8(bytes) else {
            self.error("not UTF-8 text".to_owned()).await;
            return Next::Continue;
        };
        let parsed = if self.interactive {
            match parse_interactive(text) {
                Ok(Some(Interactive::Help)) => {
                    eprintln!("{HELP}");
                    return Next::Continue;
                }
                Ok(Some(Interactive::Quit)) => return Next::Stop,
                Ok(Some(Interactive::Command(command))) => Ok(Some(command)),
                Ok(None) => Ok(None),
                Err(message) => Err(message),
            }
        } else {
            parse_line(text)
        };
        match parsed {
            Ok(None) => Next::Continue,
            Ok(Some(Command::Emit(emit))) => {
                self.emit(emit).await;
                Next::Continue
            }
            Ok(Some(Command::Room(room))) => {
                self.room(room).await;
                Next::Continue
            }
            Ok(Some(Command::Answer(Answer { id, args }))) => {
                if let Err(error) = self.pending.answer(id, args) {
                    self.error(error.to_string()).await;
                }
                Next::Continue
            }
            Ok(Some(Command::Disconnect(Target::Namespace(namespace)))) => {
                let namespace = normalize_namespace(&namespace);
                match self.socket(&namespace).cloned() {
                    Some(socket) => self.drive(socket.disconnect()).await,
                    None => {
                        self.error(format!(
                            "disconnect: namespace {namespace} was not given with --namespace"
                        ))
                        .await
                    }
                }
                Next::Continue
            }
            Ok(Some(Command::Disconnect(Target::All))) => {
                let sockets = self.sockets;
                for (_, socket) in sockets {
                    self.drive(socket.disconnect()).await;
                }
                Next::Stop
            }
            Err(message) => {
                self.error(message).await;
                Next::Continue
            }
        }
    }

    async fn emit(&mut self, emit: Emit) {
        let namespace = match &emit.namespace {
            Some(namespace) => normalize_namespace(namespace),
            None => self.sockets[0].0.clone(),
        };
        let Some(socket) = self.socket(&namespace).cloned() else {
            let message = format!(
                "emit \"{}\": namespace {namespace} was not given with --namespace",
                emit.event
            );
            return self.error(message).await;
        };
        if self.refused.contains(&namespace) {
            let message = format!(
                "emit \"{}\": namespace {namespace} was refused by the server",
                emit.event
            );
            return self.error(message).await;
        }
        let Emit {
            event,
            args,
            ack,
            volatile,
            ..
        } = emit;
        match ack {
            None if volatile => {
                if let Err(error) = self.drive(socket.emit_volatile_values(&event, args)).await {
                    self.error(format!("emit \"{event}\" on {namespace}: {error}"))
                        .await;
                }
            }
            None => {
                if let Err(error) = self.drive(socket.emit_values(&event, args)).await {
                    self.error(format!("emit \"{event}\" on {namespace}: {error}"))
                        .await;
                }
            }
            Some(timeout) => {
                let mut ack: PendingAck = Box::pin(async move {
                    let result = socket.emit_values_with_ack(&event, args, timeout).await;
                    (namespace.clone(), Line::from_ack(namespace, event, result))
                });
                // Polled once here, so the emit takes its place in the command queue before
                // the next line's: `acks` may poll a future pushed now only after the next
                // emit (it yields after a budget of others' wake-ups).
                match poll_fn(|cx| Poll::Ready(ack.as_mut().poll(cx))).await {
                    Poll::Ready(ack) => self.print_ack(ack).await,
                    Poll::Pending => self.acks.push(ack),
                }
            }
        }
    }

    /// Joins or leaves a room of a namespace given with --namespace.
    async fn room(&mut self, room: Room) {
        let namespace = match &room.namespace {
            Some(namespace) => normalize_namespace(namespace),
            None => self.sockets[0].0.clone(),
        };
        let Some(socket) = self.socket(&namespace).cloned() else {
            let verb = if room.join { "join" } else { "leave" };
            let message = format!(
                "{verb} \"{}\": namespace {namespace} was not given with --namespace",
                room.room
            );
            return self.error(message).await;
        };
        if room.join {
            self.drive(socket.join_room(&room.room)).await;
        } else {
            self.drive(socket.leave_room(&room.room)).await;
        }
    }

    /// Awaits `future` while printing the acks that settle meanwhile (polled first).
    async fn drive<F: Future>(&mut self, future: F) -> F::Output {
        tokio::pin!(future);
        loop {
            tokio::select! {
                biased;
                Some(ack) = self.acks.next(), if !self.acks.is_empty() => self.print_ack(ack).await,
                output = &mut future => return output,
            }
        }
    }

    fn socket(&self, namespace: &str) -> Option<&Socket> {
        self.sockets
            .iter()
            .find(|(name, _)| name == namespace)
            .map(|(_, socket)| socket)
    }

    async fn print(&self, line: Line) {
        let _ = self.line_tx.send(line).await;
    }

    /// Prints an ack's line through its namespace's reader (the writer's own way once the
    /// reader has stopped).
    async fn print_ack(&self, (namespace, line): (String, Line)) {
        let route = self
            .sockets
            .iter()
            .position(|(name, _)| *name == namespace)
            .and_then(|n| self.routes.get(n));
        let line = match route {
            Some(route) => match route.send(line).await {
                Ok(()) => return,
                Err(line) => line,
            },
            None => line,
        };
        self.print(line).await;
    }

    async fn error(&self, message: String) {
        self.print(Line::Error { message }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_default_to_the_main_one() {
        assert_eq!(namespace_list(&[]), ["/"]);
    }

    #[test]
    fn namespaces_are_normalized_and_deduplicated_in_order() {
        let given = ["custom", "/", "/custom/", "/abc"].map(String::from);
        assert_eq!(namespace_list(&given), ["/custom", "/", "/abc"]);
    }
}
