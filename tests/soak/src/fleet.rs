//! The clients of the soak: each a manager with the main namespace, exchanging events and
//! acknowledgements with the reference server at a modest rate, and reconnecting by itself
//! (and by hand after the server disconnected it, as an app would).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::{
    AckError, DisconnectReason, Manager, ManagerEvent, Socket, SocketState, TransportKind, Value,
};
use tokio::sync::{broadcast, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// How many clients connect at the same time when the fleet starts.
const CONNECT_CONCURRENCY: usize = 50;
/// How long one acknowledgement may take, in the traffic and in a probe.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// The text each `message` carries (the server echoes it back as `message-back`).
const PAYLOAD: &str = "soak: the quick brown fox jumps over the lazy dog, again and again";
/// What the server's `getbin` sends back as `takebin`.
const SERVER_BINARY: [u8; 3] = [1, 2, 3];

/// How a client reaches the server; the fleet has as many of each as it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// WebSocket only.
    WebSocket,
    /// HTTP long-polling only.
    Polling,
    /// Polling, then upgraded to WebSocket (the default).
    Upgrade,
}

impl Mode {
    /// The mode of client number `index`: the three in turn.
    fn of(index: usize) -> Mode {
        match index % 3 {
            0 => Mode::WebSocket,
            1 => Mode::Polling,
            _ => Mode::Upgrade,
        }
    }

    /// The transports a manager in this mode may use.
    fn transports(self) -> &'static [TransportKind] {
        match self {
            Mode::WebSocket => &[TransportKind::WebSocket],
            Mode::Polling => &[TransportKind::Polling],
            Mode::Upgrade => &[TransportKind::Polling, TransportKind::WebSocket],
        }
    }
}

/// What every client did, summed; read with [`Counters::totals`].
#[derive(Debug, Default)]
pub struct Counters {
    events_sent: AtomicU64,
    events_received: AtomicU64,
    acks_ok: AtomicU64,
    acks_failed: AtomicU64,
    server_acks: AtomicU64,
    emit_errors: AtomicU64,
    connects: AtomicU64,
    engine_reconnects: AtomicU64,
    reconnect_errors: AtomicU64,
    manual_reconnects: AtomicU64,
    replaced: AtomicU64,
    wrong_replies: AtomicU64,
    closes: Mutex<BTreeMap<&'static str, u64>>,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Events emitted (`message`, `echo`, `askMe`, `getbin`).
    pub events_sent: u64,
    /// Events received (`message-back`, `question`, `answer`, `takebin`).
    pub events_received: u64,
    /// `echo` acknowledgements that came back with what was sent.
    pub acks_ok: u64,
    /// `echo` acknowledgements that failed (timeout, disconnected meanwhile...).
    pub acks_failed: u64,
    /// The server's `question`s this side acknowledged.
    pub server_acks: u64,
    /// Emits refused (offline buffer full, client closed).
    pub emit_errors: u64,
    /// Namespace connections made (each new socket id once).
    pub connects: u64,
    /// Reconnections the managers made by themselves.
    pub engine_reconnects: u64,
    /// Failed reconnection attempts.
    pub reconnect_errors: u64,
    /// `connect()` calls after the server disconnected a socket.
    pub manual_reconnects: u64,
    /// Clients closed and replaced by new ones.
    pub replaced: u64,
    /// Replies that did not carry what was expected (must stay 0).
    pub wrong_replies: u64,
    /// Engine.IO connections closed, by reason.
    pub closes: BTreeMap<&'static str, u64>,
}

impl Counters {
    /// The current sums.
    pub fn totals(&self) -> Totals {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Totals {
            events_sent: get(&self.events_sent),
            events_received: get(&self.events_received),
            acks_ok: get(&self.acks_ok),
            acks_failed: get(&self.acks_failed),
            server_acks: get(&self.server_acks),
            emit_errors: get(&self.emit_errors),
            connects: get(&self.connects),
            engine_reconnects: get(&self.engine_reconnects),
            reconnect_errors: get(&self.reconnect_errors),
            manual_reconnects: get(&self.manual_reconnects),
            replaced: get(&self.replaced),
            wrong_replies: get(&self.wrong_replies),
            closes: self.closes.lock().map(|c| c.clone()).unwrap_or_default(),
        }
    }

    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn closed(&self, reason: DisconnectReason) {
        if let Ok(mut closes) = self.closes.lock() {
            *closes.entry(reason.as_str()).or_default() += 1;
        }
    }
}

/// How a probe of every client went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeResult {
    /// Clients whose `echo` came back right.
    pub answered: usize,
    /// Clients whose `echo` failed or came back wrong.
    pub failed: usize,
}

/// The running clients.
pub struct Fleet {
    url: String,
    op_every: Duration,
    members: Vec<Member>,
    counters: Arc<Counters>,
    connected: Arc<watch::Sender<usize>>,
    next_seed: u64,
}

impl Fleet {
    /// Starts `clients` clients of `url` (the three modes in turn), at most
    /// [`CONNECT_CONCURRENCY`] connecting at once; returns once each connected or gave its
    /// first attempt up (its manager then keeps trying).
    pub async fn start(url: &str, clients: usize, op_every: Duration) -> Fleet {
        let counters = Arc::new(Counters::default());
        let connected = Arc::new(watch::Sender::new(0));
        let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
        let mut starting = JoinSet::new();
        for index in 0..clients {
            let (url, counters, connected, gate) = (
                url.to_owned(),
                counters.clone(),
                connected.clone(),
                gate.clone(),
            );
            starting.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let seed = index as u64;
                let member =
                    Member::start(&url, Mode::of(index), seed, op_every, counters, connected);
                member.first_connect().await;
                (index, member)
            });
        }
        let mut members: Vec<Option<Member>> = (0..clients).map(|_| None).collect();
        while let Some(joined) = starting.join_next().await {
            let (index, member) = joined.expect("a client's start does not panic");
            members[index] = Some(member);
        }
        Fleet {
            url: url.to_owned(),
            op_every,
            members: members.into_iter().flatten().collect(),
            counters,
            connected,
            next_seed: clients as u64,
        }
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// How many clients are connected now.
    pub fn connected(&self) -> usize {
        *self.connected.borrow()
    }

    /// What the clients did so far.
    pub fn totals(&self) -> Totals {
        self.counters.totals()
    }

    /// Waits, `timeout` at most, until every client is connected; returns how many are.
    pub async fn settle(&self, timeout: Duration) -> usize {
        let all = self.len();
        let mut connected = self.connected.subscribe();
        let _ = tokio::time::timeout(timeout, connected.wait_for(|n| *n == all)).await;
        self.connected()
    }

    /// The socket id of client `index`, when it is connected.
    pub fn socket_id(&self, index: usize) -> Option<String> {
        self.members
            .get(index)
            .and_then(|member| member.socket.id())
    }

    /// Every client sends `echo` with its own values and waits for them back.
    pub async fn probe(&self) -> ProbeResult {
        let mut probes = JoinSet::new();
        for (index, member) in self.members.iter().enumerate() {
            let socket = member.socket.clone();
            probes.spawn(async move {
                let sent = (String::from("probe"), index);
                match socket
                    .emit_with_ack_timeout("echo", &sent, ACK_TIMEOUT)
                    .await
                {
                    Ok(ack) => ack.parse::<(String, usize)>().ok() == Some(sent),
                    Err(_) => false,
                }
            });
        }
        let mut result = ProbeResult::default();
        while let Some(answered) = probes.join_next().await {
            if answered.unwrap_or(false) {
                result.answered += 1;
            } else {
                result.failed += 1;
            }
        }
        result
    }

    /// Closes client `index` and starts a new one in its place (same mode), as an app
    /// dropping a client and making another would.
    pub async fn replace(&mut self, index: usize) {
        let Some(slot) = self.members.get_mut(index) else {
            return;
        };
        let mode = slot.mode;
        let seed = self.next_seed;
        self.next_seed += 1;
        let fresh = Member::start(
            &self.url,
            mode,
            seed,
            self.op_every,
            self.counters.clone(),
            self.connected.clone(),
        );
        let old = std::mem::replace(slot, fresh);
        old.close().await;
        Counters::add(&self.counters.replaced);
        self.members[index].first_connect().await;
    }

    /// Closes every client and waits until their tasks ended.
    pub async fn close(self) {
        let mut closing = JoinSet::new();
        for member in self.members {
            closing.spawn(member.close());
        }
        while closing.join_next().await.is_some() {}
    }
}

/// One client and the tasks that drive it.
struct Member {
    manager: Manager,
    socket: Socket,
    mode: Mode,
    counters: Arc<Counters>,
    tasks: Vec<JoinHandle<()>>,
}

impl Member {
    /// Builds the client and starts its tasks; [`Member::first_connect`] connects it.
    fn start(
        url: &str,
        mode: Mode,
        seed: u64,
        op_every: Duration,
        counters: Arc<Counters>,
        connected: Arc<watch::Sender<usize>>,
    ) -> Member {
        let manager = Manager::builder(url)
            .transports(mode.transports())
            .build()
            .expect("the reference server's URL is valid");
        let socket = manager.socket("/");
        listen(&socket, &counters);
        let tasks = vec![
            tokio::spawn(watch_engine(manager.events(), counters.clone())),
            tokio::spawn(follow_state(socket.clone(), counters.clone(), connected)),
            tokio::spawn(traffic(socket.clone(), seed, op_every, counters.clone())),
        ];
        Member {
            manager,
            socket,
            mode,
            counters,
            tasks,
        }
    }

    /// The first `connect()`; a failure is left to the manager's reconnection.
    async fn first_connect(&self) {
        if self.socket.connect().await.is_err() {
            Counters::add(&self.counters.reconnect_errors);
        }
    }

    /// Closes the manager, then ends the tasks.
    async fn close(self) {
        self.manager.close().await;
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Counts what the server sends and answers its `question`s.
fn listen(socket: &Socket, counters: &Arc<Counters>) {
    let received = |counters: &Arc<Counters>| {
        let counters = counters.clone();
        move |_event: ferrio::Event| Counters::add(&counters.events_received)
    };
    socket.on("message-back", received(counters));
    socket.on("answer", received(counters));
    let question = counters.clone();
    socket.on("question", move |event| {
        Counters::add(&question.events_received);
        if event.ack_values(event.args().to_vec()).is_ok() {
            Counters::add(&question.server_acks);
        }
    });
    let binary = counters.clone();
    socket.on("takebin", move |event| {
        Counters::add(&binary.events_received);
        if !matches!(event.args(), [Value::Binary(bytes)] if bytes[..] == SERVER_BINARY) {
            Counters::add(&binary.wrong_replies);
        }
    });
}

/// Counts the manager's closes and reconnections until it is closed.
async fn watch_engine(mut events: broadcast::Receiver<ManagerEvent>, counters: Arc<Counters>) {
    loop {
        match events.recv().await {
            Ok(ManagerEvent::Close(reason)) => counters.closed(reason),
            Ok(ManagerEvent::Reconnect(_)) => Counters::add(&counters.engine_reconnects),
            Ok(ManagerEvent::ReconnectError(_)) => Counters::add(&counters.reconnect_errors),
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// One connected client in the fleet's count while it is connected (also when its task is
/// aborted).
struct ConnectedMark {
    connected: Arc<watch::Sender<usize>>,
    counted: bool,
}

impl ConnectedMark {
    fn set(&mut self, connected: bool) {
        if connected != self.counted {
            self.counted = connected;
            self.connected.send_modify(|n| {
                if connected {
                    *n += 1;
                } else {
                    *n -= 1;
                }
            });
        }
    }
}

impl Drop for ConnectedMark {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// Follows the socket's state: keeps the fleet's count of connected clients, counts new
/// connections, and connects again after the server disconnected the socket (the client
/// does not by itself, like the JavaScript one).
async fn follow_state(
    socket: Socket,
    counters: Arc<Counters>,
    connected: Arc<watch::Sender<usize>>,
) {
    let mut mark = ConnectedMark {
        connected,
        counted: false,
    };
    let mut state = socket.watch_state();
    let mut last_sid = None;
    loop {
        let current = state.borrow_and_update().clone();
        match current {
            SocketState::Connected { sid, .. } => {
                mark.set(true);
                if last_sid.as_ref() != Some(&sid) {
                    Counters::add(&counters.connects);
                    last_sid = Some(sid);
                }
            }
            SocketState::Disconnected(DisconnectReason::IoServerDisconnect) => {
                mark.set(false);
                Counters::add(&counters.manual_reconnects);
                if socket.connect().await.is_ok() {
                    continue;
                }
                // The manager keeps reconnecting; the state says when it is back.
                Counters::add(&counters.reconnect_errors);
            }
            SocketState::Closed => return,
            SocketState::Idle | SocketState::Connecting | SocketState::Disconnected(_) => {
                mark.set(false);
            }
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Emits at random, on average once every `op_every`: a `message` (echoed back), an `echo`
/// with an acknowledgement, an `askMe` (the server asks back with an acknowledgement) or a
/// `getbin` (the server sends binary). Until the client is closed.
async fn traffic(socket: Socket, seed: u64, op_every: Duration, counters: Arc<Counters>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for n in 0u64.. {
        tokio::time::sleep(op_every.mul_f64(2.0 * rng.f64())).await;
        let choice = rng.u32(0..100);
        let sent = if choice < 55 {
            socket.emit("message", &(n, PAYLOAD)).await
        } else if choice < 85 {
            Counters::add(&counters.events_sent);
            match socket
                .emit_with_ack_timeout("echo", &(n, PAYLOAD), ACK_TIMEOUT)
                .await
            {
                Ok(ack) if ack.parse::<(u64, String)>().ok() == Some((n, PAYLOAD.into())) => {
                    Counters::add(&counters.acks_ok);
                }
                Ok(_) => Counters::add(&counters.wrong_replies),
                Err(AckError::Closed) => return,
                Err(_) => Counters::add(&counters.acks_failed),
            }
            continue;
        } else if choice < 95 {
            socket.emit("askMe", &(n, 10_000)).await
        } else {
            socket.emit("getbin", &()).await
        };
        match sent {
            Ok(()) => Counters::add(&counters.events_sent),
            Err(ferrio::EmitError::Closed) => return,
            Err(_) => Counters::add(&counters.emit_errors),
        }
    }
}
