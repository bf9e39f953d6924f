//! The engine connection's lifecycle: idle, opening (a reconnection hook first, then the
//! servers in order), open, or waiting to reconnect (backoff), with its one deadline.
//!
//! The transitions are plain methods returning what the connection task must do; only
//! [`Engine::start_open`] spawns (the handshake runs on a task of its own), and
//! [`Engine::progress`] awaits the open session or that task.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::failover;
use super::reconnect::ReconnectPolicy;
use crate::disconnect::DisconnectReason;
use crate::engineio::session::{Endpoint, EngineSession, OpenOptions, SessionEvent};
use crate::error::{ConnectError, TransportError};
use crate::options::{ManagerOptions, TransportKind};
use crate::stats::Stats;
use crate::value::Value;

/// Time allowed to close a lost polling session before reconnecting.
const ABANDON_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Where the connection stands.
enum State {
    /// No connection and none wanted.
    Idle,
    /// A handshake is under way.
    Opening {
        task: JoinHandle<Result<Opened, ConnectError>>,
        deadline: Instant,
    },
    /// Connected.
    Open(Box<EngineSession>),
    /// Waiting to reconnect.
    Waiting { until: Instant },
}

/// A session that opened, with the settings a reconnection hook changed.
pub(crate) struct Opened {
    session: EngineSession,
    /// The server it opened to.
    endpoint: Arc<Endpoint>,
    /// The servers to try next time (a hook may have changed them).
    endpoints: Vec<Arc<Endpoint>>,
    auth: Option<Value>,
}

/// What the engine did: an event of the open session, or the outcome of a handshake.
pub(crate) enum Progress {
    Session(SessionEvent),
    Opened(Result<Box<Opened>, ConnectError>),
}

/// What comes after a lost connection or a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Attempt `attempt` once the delay is over.
    Retry { attempt: u32 },
    /// Reconnection is off, or no namespace wants the connection: stay idle.
    Stop,
    /// The last attempt failed: reconnection gives up after these attempts.
    GiveUp { attempts: u32 },
}

/// What is due at the timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Nothing.
    Nothing,
    /// The handshake took too long: it was abandoned.
    OpenTimedOut,
    /// The reconnection delay is over: attempt `attempt` (call [`Engine::start_open`]).
    Reconnect { attempt: u32 },
}

/// The engine connection and its reconnection policy.
pub(crate) struct Engine {
    state: State,
    /// The server of the current (or last) session.
    endpoint: Arc<Endpoint>,
    /// The servers an attempt tries, in order: the manager's URL, then its fallbacks.
    endpoints: Vec<Arc<Endpoint>>,
    options: Arc<ManagerOptions>,
    open_options: OpenOptions,
    reconnect: ReconnectPolicy,
    /// A polling session lost by a failed request: the server may not know it is gone,
    /// and would keep it (and its recoverable state) until its ping timeout.
    abandoned_sid: Option<String>,
    /// Whether a namespace connected on the current session.
    connected_on_session: bool,
}

impl Engine {
    /// An idle engine for `endpoints` (at least the manager's URL).
    pub(crate) fn new(
        endpoints: Vec<Arc<Endpoint>>,
        options: Arc<ManagerOptions>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            state: State::Idle,
            endpoint: endpoints[0].clone(),
            endpoints,
            open_options: OpenOptions {
                transports: options.transports.clone(),
                upgrade: options.upgrade,
                try_all_transports: options.try_all_transports,
                max_payload_packets: options.max_payload_packets,
                stats,
            },
            reconnect: ReconnectPolicy::new(&options),
            options,
            abandoned_sid: None,
            connected_on_session: false,
        }
    }

    /// The open session.
    pub(crate) fn session(&self) -> Option<&EngineSession> {
        match &self.state {
            State::Open(session) => Some(session),
            _ => None,
        }
    }

    /// The open session, to write to.
    pub(crate) fn session_mut(&mut self) -> Option<&mut EngineSession> {
        match &mut self.state {
            State::Open(session) => Some(session),
            _ => None,
        }
    }

    /// Whether a session is open.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Whether there is no connection and none under way.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Whether a reconnection delay is running.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.state, State::Waiting { .. })
    }

    /// The reconnection attempts made since the last success.
    pub(crate) fn attempts(&self) -> u32 {
        self.reconnect.attempts
    }

    /// The URL of the server of the current (or last) session.
    pub(crate) fn url(&self) -> Arc<str> {
        Arc::from(self.endpoint.server_url().as_str())
    }

    /// The handshake's or the reconnection delay's deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Opening { deadline, .. } => Some(*deadline),
            State::Waiting { until } => Some(*until),
            State::Idle | State::Open(_) => None,
        }
    }

    /// Starts a handshake on a task: the lost polling session is closed first, the
    /// reconnection hook (from the second attempt on) may change the servers and the
    /// auth, then each server is tried in turn.
    pub(crate) fn start_open(&mut self) {
        self.open_after(None);
    }

    /// Drops the open session and opens a new one once it closed (the server found to
    /// speak another protocol version): the server forgets the first session, and what it
    /// made for it, before the second one starts.
    pub(crate) fn reopen(&mut self) {
        let closing = self.stop();
        self.open_after(closing);
    }

    /// Starts a handshake on a task, after `closing` closed.
    fn open_after(&mut self, closing: Option<EngineSession>) {
        let attempt = self.reconnect.attempts;
        let hook = self.options.on_reconnect.clone().filter(|_| attempt > 0);
        let endpoint = self.endpoint.clone();
        let endpoints = self.endpoints.clone();
        let options = self.options.clone();
        let open_options = self.open_options.clone();
        let abandoned_sid = self.abandoned_sid.clone();
        let task = tokio::spawn(async move {
            if let Some(session) = closing {
                session.close().await;
            }
            if let Some(sid) = abandoned_sid {
                // Close the lost session first, so that the server stores it for recovery
                // instead of keeping it alive until its ping timeout.
                let limit = options.timeout.min(ABANDON_TIMEOUT);
                let _ = tokio::time::timeout(limit, EngineSession::abandon(&endpoint, &sid)).await;
            }
            let mut endpoints = endpoints;
            let mut auth = None;
            if let Some(hook) = hook {
                let limit = options.reconnect_hook_timeout;
                let update = tokio::time::timeout(limit, (hook.0)(attempt))
                    .await
                    .map_err(|_| ConnectError::Timeout(limit))?;
                if update.url.is_some() || update.query.is_some() || update.extra_headers.is_some()
                {
                    endpoints = failover::apply_update(&endpoints, &update, &options)?;
                }
                auth = update.auth;
            }
            let (session, endpoint) =
                failover::open_first_reachable(&endpoints, &open_options, options.timeout).await?;
            Ok(Opened {
                session,
                endpoint,
                endpoints,
                auth,
            })
        });
        self.state = State::Opening {
            task,
            deadline: Instant::now()
                + failover::attempt_limit(self.options.timeout, self.endpoints.len()),
        };
    }

    /// A handshake succeeded: the session is open. Returns the auth a reconnection hook
    /// gave, if any.
    pub(crate) fn opened(&mut self, opened: Opened) -> Option<Value> {
        let Opened {
            session,
            endpoint,
            endpoints,
            auth,
        } = opened;
        tracing::debug!(sid = %session.handshake().sid, transport = session.transport().as_str(), "engine open");
        self.endpoint = endpoint;
        self.endpoints = endpoints;
        self.abandoned_sid = None;
        self.connected_on_session = false;
        self.state = State::Open(Box::new(session));
        auth
    }

    /// The server answered as a Socket.IO 2.x server: returns whether the manager switches
    /// to its protocol (the version is detected and was not switched yet).
    pub(crate) fn found_older_server(&self) -> bool {
        self.endpoint.version().found_older_server()
    }

    /// A namespace connected: the session works, the reconnection attempts start over.
    pub(crate) fn namespace_connected(&mut self) {
        self.connected_on_session = true;
        self.reconnect.reset();
    }

    /// Whether a transport error now is a failed connection attempt: no namespace
    /// connected on the session yet (say a load balancer without sticky sessions answering
    /// `Session ID unknown`).
    pub(crate) fn is_attempt(&self) -> bool {
        !self.connected_on_session
    }

    /// Whether the last reconnection attempt just failed: a `connect` waiting is answered
    /// that reconnection gave up, so that it is not called again in a loop that starts over.
    pub(crate) fn gives_up(&self) -> bool {
        self.reconnect.attempts > 0 && self.reconnect.is_enabled() && self.reconnect.is_exhausted()
    }

    /// Whether lost connections are reconnected.
    pub(crate) fn reconnects(&self) -> bool {
        self.reconnect.is_enabled()
    }

    /// The session closed for `reason`: a polling session lost by a failed request is
    /// remembered, to be closed before the next attempt.
    pub(crate) fn session_lost(&mut self, reason: DisconnectReason) {
        if let State::Open(session) = &self.state {
            if session.transport() == TransportKind::Polling
                && reason != DisconnectReason::TransportClose
            {
                self.abandoned_sid = Some(session.handshake().sid.clone());
            }
        }
        self.state = State::Idle;
    }

    /// Stops: a handshake under way is abandoned; returns the open session, to close.
    pub(crate) fn stop(&mut self) -> Option<EngineSession> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Open(session) => Some(*session),
            State::Opening { task, .. } => {
                task.abort();
                None
            }
            State::Idle | State::Waiting { .. } => None,
        }
    }

    /// No namespace wants the connection: stops, and the reconnection attempts start over.
    /// Returns the open session, to close.
    pub(crate) fn release(&mut self) -> Option<EngineSession> {
        let session = self.stop();
        self.reconnect.reset();
        session
    }

    /// After a lost connection or a failed attempt (the engine is idle): waits for the
    /// next attempt while reconnection is on, namespaces are `wanted` and attempts are
    /// left.
    pub(crate) fn schedule(&mut self, wanted: bool, now: Instant) -> Next {
        if !self.reconnect.is_enabled() || !wanted {
            self.reconnect.reset();
            return Next::Stop;
        }
        match self.reconnect.next_attempt() {
            Some((attempt, delay)) => {
                tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "reconnecting");
                self.state = State::Waiting {
                    until: now.checked_add(delay).unwrap_or(now),
                };
                Next::Retry { attempt }
            }
            None => {
                let attempts = self.reconnect.attempts;
                tracing::info!(attempts, "reconnection failed, giving up");
                self.reconnect.reset();
                Next::GiveUp { attempts }
            }
        }
    }

    /// Skips the reconnection delay: returns the attempt to start, if one was waiting.
    pub(crate) fn skip_delay(&mut self) -> Option<u32> {
        self.is_waiting().then(|| {
            self.state = State::Idle;
            self.reconnect.attempts
        })
    }

    /// The time is `now`: a handshake past its deadline is abandoned; a reconnection
    /// delay that is over says which attempt to start.
    pub(crate) fn due(&mut self, now: Instant) -> Due {
        match &self.state {
            State::Opening { task, deadline } if *deadline <= now => {
                task.abort();
                self.state = State::Idle;
                Due::OpenTimedOut
            }
            State::Waiting { until } if *until <= now => {
                self.state = State::Idle;
                Due::Reconnect {
                    attempt: self.reconnect.attempts,
                }
            }
            _ => Due::Nothing,
        }
    }

    /// The next event of the open session or the handshake's outcome; pending when there
    /// is neither. A finished handshake leaves the engine idle until [`Engine::opened`].
    pub(crate) async fn progress(&mut self) -> Progress {
        match &mut self.state {
            State::Open(session) => Progress::Session(session.next_event().await),
            State::Opening { task, .. } => {
                let outcome = match task.await {
                    Ok(opened) => opened.map(Box::new),
                    Err(join_error) => Err(ConnectError::Transport(TransportError::Io(
                        join_error.to_string(),
                    ))),
                };
                self.state = State::Idle;
                Progress::Opened(outcome)
            }
            State::Idle | State::Waiting { .. } => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn engine(change: impl FnOnce(&mut ManagerOptions)) -> Engine {
        let mut options = ManagerOptions {
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(1),
            randomization_factor: 0.0,
            ..ManagerOptions::default()
        };
        change(&mut options);
        let url = "http://127.0.0.1:9".parse().expect("url");
        let endpoint = Arc::new(Endpoint::new(&url, &options).expect("endpoint"));
        Engine::new(vec![endpoint], Arc::new(options), Stats::shared())
    }

    #[test]
    fn a_lost_connection_waits_the_delay_then_attempts_again() {
        let mut engine = engine(|_| {});
        let now = Instant::now();
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 1 });
        assert!(engine.is_waiting());
        assert_eq!(engine.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(engine.due(now), Due::Nothing);
        assert_eq!(
            engine.due(now + Duration::from_secs(1)),
            Due::Reconnect { attempt: 1 }
        );
        assert!(engine.is_idle());
        assert_eq!(engine.next_deadline(), None);
    }

    #[test]
    fn reconnection_gives_up_after_the_last_attempt_and_starts_over_next_time() {
        let mut engine = engine(|options| options.reconnection_attempts = Some(2));
        let now = Instant::now();
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 1 });
        assert!(!engine.gives_up());
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 2 });
        assert!(engine.gives_up(), "the attempt under way is the last");
        assert_eq!(engine.schedule(true, now), Next::GiveUp { attempts: 2 });
        assert_eq!(engine.attempts(), 0);
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 1 });
    }

    #[test]
    fn nothing_is_scheduled_without_reconnection_or_namespaces() {
        let mut engine = engine(|options| options.reconnection = false);
        assert_eq!(engine.schedule(true, Instant::now()), Next::Stop);
        assert!(engine.is_idle());
        let mut engine = engine_default();
        assert_eq!(engine.schedule(false, Instant::now()), Next::Stop);
        assert!(engine.is_idle());
    }

    fn engine_default() -> Engine {
        engine(|_| {})
    }

    #[test]
    fn a_connected_namespace_resets_the_attempts() {
        let mut engine = engine_default();
        let now = Instant::now();
        engine.schedule(true, now);
        engine.schedule(true, now);
        assert_eq!(engine.attempts(), 2);
        assert!(engine.is_attempt());
        engine.namespace_connected();
        assert_eq!(engine.attempts(), 0);
        assert!(!engine.is_attempt());
    }

    #[test]
    fn skipping_the_delay_starts_the_waiting_attempt_only() {
        let mut engine = engine_default();
        assert_eq!(engine.skip_delay(), None, "nothing waits");
        engine.schedule(true, Instant::now());
        assert_eq!(engine.skip_delay(), Some(1));
        assert!(engine.is_idle());
    }

    #[tokio::test]
    async fn a_handshake_past_its_deadline_is_abandoned() {
        let mut engine = engine(|options| options.timeout = Duration::from_secs(3600));
        engine.start_open();
        let deadline = engine.next_deadline().expect("the handshake's deadline");
        assert_eq!(engine.due(deadline - Duration::from_secs(1)), Due::Nothing);
        assert_eq!(engine.due(deadline), Due::OpenTimedOut);
        assert!(engine.is_idle());
    }
}
