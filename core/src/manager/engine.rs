//! The engine connection's lifecycle: idle, opening (an [`Opening`] attempt), open, or
//! waiting to reconnect (backoff), with its one deadline; and the thin driver that
//! performs the opening's steps.
//!
//! The transitions are plain methods returning what the connection task must do. The
//! I/O of an opening step (a close, the hook, a handshake) runs on a task of its own,
//! which [`Engine::progress`] awaits and feeds back to the [`Opening`]; it also awaits the
//! open session.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::opening::{Lost, Opening, Reached, Step};
use super::reconnect::ReconnectPolicy;
use crate::disconnect::DisconnectReason;
use crate::engineio::session::{Endpoint, EngineSession, OpenOptions, SessionEvent};
use crate::error::{ConnectError, TransportError};
use crate::options::{ManagerOptions, ReconnectUpdate, TransportKind};
use crate::stats::Stats;
use crate::value::Value;

/// Where the connection stands.
enum State {
    /// No connection and none wanted.
    Idle,
    /// A connection attempt is under way.
    Opening(Box<Attempt>),
    /// Connected.
    Open(Box<EngineSession>),
    /// Waiting to reconnect.
    Waiting { until: Instant },
}

/// A session that opened, with the settings a reconnection hook changed.
pub(crate) struct Opened {
    session: Box<EngineSession>,
    reached: Reached,
}

/// What the engine did: an event of the open session, or the outcome of an attempt.
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
#[derive(Debug)]
pub(crate) enum Due {
    /// Nothing.
    Nothing,
    /// The attempt took too long (a server, the hook, the whole attempt): it failed.
    OpenFailed(ConnectError),
    /// The reconnection delay is over: attempt `attempt` (call [`Engine::start_open`]).
    Reconnect { attempt: u32 },
}

/// What the task of an opening step returns.
enum Outcome {
    /// The replaced session closed.
    Closed,
    /// The lost session was closed on its server (or that failed).
    Abandoned,
    /// The reconnection hook's answer.
    Hook(ReconnectUpdate),
    /// The handshake's outcome.
    Handshake(Result<Box<EngineSession>, TransportError>),
}

/// An attempt under way: the machine and the task performing its step.
struct Attempt {
    opening: Opening,
    /// The task of the step under way, if any.
    task: Option<JoinHandle<Outcome>>,
    /// The attempt failed: [`Attempt::run`] reports it.
    failed: Option<ConnectError>,
}

impl Attempt {
    /// Performs `step`: the task under way, if any, is dropped for the new one. `replaced`
    /// is the session [`Step::CloseSession`] closes.
    fn perform(
        &mut self,
        step: Step,
        replaced: Option<EngineSession>,
        options: &ManagerOptions,
        open_options: &OpenOptions,
    ) {
        let task = match step {
            Step::Wait => return,
            Step::Failed(error) => {
                self.failed = Some(error);
                None
            }
            Step::CloseSession => replaced.map(|session| {
                tokio::spawn(async move {
                    session.close().await;
                    Outcome::Closed
                })
            }),
            Step::Abandon(Lost { endpoint, sid }) => Some(tokio::spawn(async move {
                EngineSession::abandon(&endpoint, &sid).await;
                Outcome::Abandoned
            })),
            Step::RunHook { attempt } => options
                .on_reconnect
                .clone()
                .map(|hook| tokio::spawn(async move { Outcome::Hook((hook.0)(attempt).await) })),
            Step::Handshake {
                endpoint,
                transport,
                version,
            } => {
                let open_options = open_options.clone();
                Some(tokio::spawn(async move {
                    let opened =
                        EngineSession::open(endpoint, &open_options, transport, version).await;
                    Outcome::Handshake(opened.map(Box::new))
                }))
            }
        };
        if let Some(previous) = std::mem::replace(&mut self.task, task) {
            previous.abort();
        }
    }

    /// Awaits the steps' tasks, feeding each outcome to the machine and performing the
    /// next step, until the attempt opened a session or failed. Cancel-safe: state only
    /// changes between awaits.
    async fn run(
        &mut self,
        options: &ManagerOptions,
        open_options: &OpenOptions,
    ) -> Result<Box<Opened>, ConnectError> {
        loop {
            if let Some(error) = self.failed.take() {
                return Err(error);
            }
            let Some(task) = &mut self.task else {
                return std::future::pending().await;
            };
            let outcome = task.await;
            self.task = None;
            let now = Instant::now();
            let step = match outcome {
                Err(join_error) => Step::Failed(ConnectError::Transport(TransportError::Io(
                    join_error.to_string(),
                ))),
                Ok(Outcome::Closed) => self.opening.on_closed(now),
                Ok(Outcome::Abandoned) => self.opening.on_abandoned(now),
                Ok(Outcome::Hook(update)) => self.opening.on_hook(update, now),
                Ok(Outcome::Handshake(Ok(session))) => match self.opening.opened() {
                    Some(reached) => return Ok(Box::new(Opened { session, reached })),
                    None => Step::Wait,
                },
                Ok(Outcome::Handshake(Err(error))) => self.opening.on_handshake_failed(error, now),
            };
            self.perform(step, None, options, open_options);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
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

    /// The attempt's or the reconnection delay's deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Opening(attempt) => Some(attempt.opening.next_deadline()),
            State::Waiting { until } => Some(*until),
            State::Idle | State::Open(_) => None,
        }
    }

    /// Starts a connection attempt (see [`Opening`]): the lost polling session is closed
    /// first, the reconnection hook (from the second attempt on) may change the servers
    /// and the auth, then each server is tried in turn.
    pub(crate) fn start_open(&mut self) {
        let step = self.begin(false, Instant::now());
        self.perform(step, None);
    }

    /// Drops the open session and opens a new one once it closed (the server found to
    /// speak another protocol version): the server forgets the first session, and what it
    /// made for it, before the second one starts.
    pub(crate) fn reopen(&mut self) {
        let replaced = self.stop();
        let step = self.begin(replaced.is_some(), Instant::now());
        self.perform(step, replaced);
    }

    /// Starts attempt [`Engine::attempts`] at `now`: returns its first step, to perform.
    fn begin(&mut self, replacing: bool, now: Instant) -> Step {
        let lost = self.abandoned_sid.clone().map(|sid| Lost {
            endpoint: self.endpoint.clone(),
            sid,
        });
        let mut opening = Opening::new(
            self.options.clone(),
            self.reconnect.attempts,
            self.endpoints.clone(),
            replacing,
            lost,
            now,
        );
        let step = opening.start(now);
        self.state = State::Opening(Box::new(Attempt {
            opening,
            task: None,
            failed: None,
        }));
        step
    }

    /// Performs a step of the attempt under way.
    fn perform(&mut self, step: Step, replaced: Option<EngineSession>) {
        if let State::Opening(attempt) = &mut self.state {
            attempt.perform(step, replaced, &self.options, &self.open_options);
        }
    }

    /// An attempt succeeded: the session is open. Returns the auth a reconnection hook
    /// gave, if any.
    pub(crate) fn opened(&mut self, opened: Opened) -> Option<Value> {
        let Opened { session, reached } = opened;
        tracing::debug!(sid = %session.handshake().sid, transport = session.transport().as_str(), "engine open");
        self.endpoint = reached.endpoint;
        self.endpoints = reached.endpoints;
        self.abandoned_sid = None;
        self.connected_on_session = false;
        self.state = State::Open(session);
        reached.auth
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

    /// Stops: an attempt under way is abandoned; returns the open session, to close.
    pub(crate) fn stop(&mut self) -> Option<EngineSession> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Open(session) => Some(*session),
            State::Idle | State::Opening(_) | State::Waiting { .. } => None,
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

    /// The time is `now`: what an attempt under way waited for too long is given up (it
    /// may fail); a reconnection delay that is over says which attempt to start.
    pub(crate) fn due(&mut self, now: Instant) -> Due {
        match &mut self.state {
            State::Opening(attempt) => {
                let step = attempt.opening.on_timer(now);
                attempt.perform(step, None, &self.options, &self.open_options);
                match attempt.failed.take() {
                    Some(error) => {
                        self.state = State::Idle;
                        Due::OpenFailed(error)
                    }
                    None => Due::Nothing,
                }
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

    /// The next event of the open session or the attempt's outcome; pending when there
    /// is neither. A finished attempt leaves the engine idle until [`Engine::opened`].
    pub(crate) async fn progress(&mut self) -> Progress {
        match &mut self.state {
            State::Open(session) => Progress::Session(session.next_event().await),
            State::Opening(attempt) => {
                let outcome = attempt.run(&self.options, &self.open_options).await;
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
    use crate::options::ReconnectHook;

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

    fn engine_default() -> Engine {
        engine(|_| {})
    }

    fn with_hook(options: &mut ManagerOptions) {
        options.on_reconnect = Some(ReconnectHook::new(|_| async { ReconnectUpdate::default() }));
    }

    /// The step the attempt started at `now` begins with; nothing is performed.
    fn begin(engine: &mut Engine, now: Instant) -> Step {
        engine.begin(false, now)
    }

    #[test]
    fn a_lost_connection_waits_the_delay_then_attempts_again() {
        let mut engine = engine_default();
        let now = Instant::now();
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 1 });
        assert!(engine.is_waiting());
        assert_eq!(engine.next_deadline(), Some(now + Duration::from_secs(1)));
        assert!(matches!(engine.due(now), Due::Nothing));
        assert!(matches!(
            engine.due(now + Duration::from_secs(1)),
            Due::Reconnect { attempt: 1 }
        ));
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

    #[test]
    fn reconnect_now_starts_the_waiting_attempt_with_the_hook_at_once() {
        let mut engine = engine(|options| {
            with_hook(options);
            options.reconnection_delay = Duration::from_secs(3600);
            options.reconnection_delay_max = Duration::from_secs(3600);
        });
        let now = Instant::now();
        assert_eq!(engine.schedule(true, now), Next::Retry { attempt: 1 });
        let attempt = engine.skip_delay().expect("an attempt waited");
        assert!(matches!(
            begin(&mut engine, now),
            Step::RunHook { attempt: 1 }
        ));
        assert_eq!(attempt, 1);
        let deadline = engine.next_deadline().expect("the attempt's deadline");
        assert!(
            deadline < now + Duration::from_secs(3600),
            "no backoff left"
        );
    }

    #[test]
    fn a_first_connection_opens_without_the_hook() {
        let mut engine = engine(with_hook);
        let step = begin(&mut engine, Instant::now());
        assert!(
            matches!(
                step,
                Step::Handshake {
                    transport: TransportKind::Polling,
                    ..
                }
            ),
            "{step:?}"
        );
        assert!(!engine.is_idle() && !engine.is_open() && !engine.is_waiting());
    }

    #[test]
    fn a_lost_polling_session_is_closed_before_the_next_attempt() {
        let mut engine = engine_default();
        engine.abandoned_sid = Some("lost".into());
        let step = begin(&mut engine, Instant::now());
        assert!(
            matches!(&step, Step::Abandon(lost) if lost.sid == "lost"),
            "{step:?}"
        );
    }

    #[test]
    fn an_attempt_past_its_deadline_fails_with_a_timeout() {
        let timeout = Duration::from_secs(3600);
        let mut engine = engine(|options| options.timeout = timeout);
        let now = Instant::now();
        begin(&mut engine, now);
        let deadline = engine.next_deadline().expect("the attempt's deadline");
        assert_eq!(deadline, now + timeout);
        assert!(matches!(
            engine.due(deadline - Duration::from_secs(1)),
            Due::Nothing
        ));
        assert!(matches!(
            engine.due(deadline),
            Due::OpenFailed(ConnectError::Timeout(t)) if t == timeout
        ));
        assert!(engine.is_idle());
    }

    #[test]
    fn a_hook_that_does_not_answer_fails_the_attempt_at_its_own_deadline() {
        let limit = Duration::from_secs(5);
        let mut engine = engine(|options| {
            with_hook(options);
            options.reconnect_hook_timeout = limit;
        });
        let now = Instant::now();
        engine.schedule(true, now);
        engine.skip_delay();
        begin(&mut engine, now);
        assert_eq!(engine.next_deadline(), Some(now + limit));
        assert!(matches!(
            engine.due(now + limit),
            Due::OpenFailed(ConnectError::Timeout(t)) if t == limit
        ));
        assert!(engine.is_idle());
        assert_eq!(engine.attempts(), 1, "the failure is the attempt's");
    }

    #[test]
    fn closing_during_an_attempt_abandons_it() {
        let mut engine = engine_default();
        begin(&mut engine, Instant::now());
        assert!(engine.stop().is_none(), "no session to close");
        assert!(engine.is_idle());
        assert_eq!(engine.next_deadline(), None);
        assert!(matches!(engine.due(Instant::now()), Due::Nothing));
    }

    #[test]
    fn releasing_during_an_attempt_starts_the_attempts_over() {
        let mut engine = engine_default();
        let now = Instant::now();
        engine.schedule(true, now);
        engine.skip_delay();
        begin(&mut engine, now);
        assert!(engine.release().is_none());
        assert!(engine.is_idle());
        assert_eq!(engine.attempts(), 0);
    }
}
