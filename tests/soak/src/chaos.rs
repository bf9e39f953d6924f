//! The faults the soak injects: every few seconds some clients are cut (the server closes
//! their transport, or disconnects their socket, or the app replaces the client), and now
//! and then the whole server fails (every transport closed, a restart, a freeze past the
//! ping timeout, a crash and respawn).

use std::collections::BTreeMap;
use std::time::Duration;

use ferrio_integration_tests::TestServer;
use serde_json::json;
use tokio::time::Instant;

use crate::fleet::Fleet;

/// The server's heartbeat: a ping every 5 s, a client gone after 10 s more. Longer than the
/// reference server's test default (2 s), so a thousand clients on a busy machine do not
/// miss pongs; a freeze still outlasts it.
pub const PING_INTERVAL_MS: u64 = 5_000;
/// See [`PING_INTERVAL_MS`].
pub const PING_TIMEOUT_MS: u64 = 10_000;
/// Share of the clients one local fault hits (at least one).
const LOCAL_SHARE: f64 = 0.05;
/// Share of the clients one churn replaces (at least one).
const CHURN_SHARE: f64 = 0.01;

/// A fault the soak injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The server closes the Engine.IO connection of some clients (`transport close`).
    CloseTransport,
    /// The server disconnects the socket of some clients (`io server disconnect`); they
    /// connect again by hand.
    ServerDisconnect,
    /// The app closes some clients and makes new ones.
    Churn,
    /// The server closes every Engine.IO connection at once.
    CloseAll,
    /// The Socket.IO server shuts down and listens again a second later.
    Restart,
    /// The server process stops (SIGSTOP) past the clients' ping timeout, then resumes.
    Freeze,
    /// The server process is killed (SIGKILL) and a new one starts on the same port.
    Respawn,
}

impl Fault {
    /// The server-wide faults, injected in this order, one every `global_every`.
    const GLOBAL: [Fault; 4] = [
        Fault::CloseAll,
        Fault::Restart,
        Fault::Freeze,
        Fault::Respawn,
    ];

    /// The fault's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::CloseTransport => "server closes some transports",
            Fault::ServerDisconnect => "server disconnects some sockets",
            Fault::Churn => "app replaces some clients",
            Fault::CloseAll => "server closes every transport",
            Fault::Restart => "server restarts (1 s down)",
            Fault::Freeze => "server frozen past the ping timeout",
            Fault::Respawn => "server killed and respawned",
        }
    }
}

/// Injects faults into a server and a fleet.
pub struct Chaos {
    server: TestServer,
    rng: fastrand::Rng,
    every: Duration,
    global_every: Duration,
    next_global: Instant,
    globals: usize,
    injected: BTreeMap<Fault, u64>,
    failed_actions: u64,
}

impl Chaos {
    /// Faults into `server`: a local one every `every` on average, a global one every
    /// `global_every`, the first after that long.
    pub fn new(server: TestServer, every: Duration, global_every: Duration) -> Chaos {
        Chaos {
            server,
            rng: fastrand::Rng::with_seed(0x50a6),
            every,
            global_every,
            next_global: Instant::now() + global_every,
            globals: 0,
            injected: BTreeMap::new(),
            failed_actions: 0,
        }
    }

    /// How many faults of each kind were injected.
    pub fn injected(&self) -> &BTreeMap<Fault, u64> {
        &self.injected
    }

    /// How many per-client control actions failed (a starved server may drop its control
    /// connection): the fault is skipped for that client, the soak goes on.
    pub fn failed_actions(&self) -> u64 {
        self.failed_actions
    }

    /// Forgets the events the server recorded (it keeps every event for its control
    /// channel; the soak never reads them).
    pub async fn clear_server_records(&mut self) {
        if let Err(error) = self.server.try_control("clear", json!({})).await {
            eprintln!("soak: the server's records not cleared: {error}");
            self.failed_actions += 1;
        }
    }

    /// Injects faults into `fleet` until `until`.
    pub async fn run_until(&mut self, fleet: &mut Fleet, until: Instant) {
        loop {
            let pause = self.every.mul_f64(2.0 * self.rng.f64());
            let at = Instant::now() + pause;
            if at >= until {
                tokio::time::sleep_until(until).await;
                return;
            }
            tokio::time::sleep_until(at).await;
            let fault = if Instant::now() >= self.next_global {
                self.next_global = Instant::now() + self.global_every;
                self.globals += 1;
                Fault::GLOBAL[(self.globals - 1) % Fault::GLOBAL.len()]
            } else {
                match self.rng.u32(0..100) {
                    0..50 => Fault::CloseTransport,
                    50..80 => Fault::ServerDisconnect,
                    _ => Fault::Churn,
                }
            };
            self.inject(fault, fleet).await;
        }
    }

    async fn inject(&mut self, fault: Fault, fleet: &mut Fleet) {
        *self.injected.entry(fault).or_default() += 1;
        match fault {
            Fault::CloseTransport => self.control_each(fleet, "closeTransport").await,
            Fault::ServerDisconnect => self.control_each(fleet, "disconnect").await,
            Fault::Churn => {
                for index in self.pick(fleet.len(), CHURN_SHARE) {
                    fleet.replace(index).await;
                }
            }
            Fault::CloseAll => {
                self.server.close_transport().await;
            }
            Fault::Restart => self.server.restart(Duration::from_secs(1)).await,
            Fault::Freeze => {
                self.server.freeze();
                tokio::time::sleep(Duration::from_millis(
                    PING_INTERVAL_MS + PING_TIMEOUT_MS + 3_000,
                ))
                .await;
                self.server.thaw();
            }
            Fault::Respawn => self.server.respawn().await,
        }
        if Fault::GLOBAL.contains(&fault) {
            self.clear_server_records().await;
        }
    }

    /// The control `action` (`{nsp: "/", id}`) for [`LOCAL_SHARE`] of the clients, those
    /// connected.
    async fn control_each(&mut self, fleet: &Fleet, action: &str) {
        for index in self.pick(fleet.len(), LOCAL_SHARE) {
            if let Some(id) = fleet.socket_id(index) {
                let body = json!({ "nsp": "/", "id": id });
                if let Err(error) = self.server.try_control(action, body).await {
                    eprintln!("soak: fault skipped for one client: {error}");
                    self.failed_actions += 1;
                }
            }
        }
    }

    /// `share` of `0..len` (at least one), distinct, at random.
    fn pick(&mut self, len: usize, share: f64) -> Vec<usize> {
        let wanted = ((len as f64 * share).round() as usize).clamp(1, len.max(1));
        let mut all: Vec<usize> = (0..len).collect();
        self.rng.shuffle(&mut all);
        all.truncate(wanted.min(len));
        all
    }
}
