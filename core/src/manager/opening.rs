//! One connection attempt as a state machine. In order: the session being replaced is
//! closed (a server found to speak Socket.IO 2.x after it opened), a polling session lost
//! by a failed request is closed on its server, the reconnection hook runs (from the
//! second attempt on), then each server is tried in turn (the manager's URL, then
//! [`ManagerOptions::fallback_urls`]), over each transport when `try_all_transports` is
//! set, and once more in Engine.IO v3 when detection finds a Socket.IO 2.x server.
//!
//! Plain data, no I/O, no clock: the driver in [`super::engine`] performs each [`Step`],
//! feeds back its outcome and the time, and calls [`Opening::on_timer`] at
//! [`Opening::next_deadline`].

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::failover;
use crate::engineio::session::Endpoint;
use crate::engineio::version::EngineVersion;
use crate::error::{ConnectError, TransportError};
use crate::options::{ManagerOptions, ReconnectUpdate, TransportKind};
use crate::value::Value;

/// Time allowed to close a lost polling session before reconnecting.
const ABANDON_TIMEOUT: Duration = Duration::from_secs(2);

/// A deadline too far to matter, for durations that overflow the clock.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A polling session the client lost (a request failed) and will not resume: the server
/// may not know it is gone, and would keep it (and its recoverable state) until its ping
/// timeout.
#[derive(Debug, Clone)]
pub(crate) struct Lost {
    /// The server of the session.
    pub(crate) endpoint: Arc<Endpoint>,
    /// The session's id.
    pub(crate) sid: String,
}

/// What the driver does next. Every step but [`Step::Wait`] replaces the work under way:
/// the driver drops what is still running.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing new: wait for the work under way or the deadline.
    Wait,
    /// Close the session being replaced; report with [`Opening::on_closed`].
    CloseSession,
    /// Close the lost session on its server, errors ignored; report with
    /// [`Opening::on_abandoned`].
    Abandon(Lost),
    /// Run the reconnection hook for attempt `attempt`; report its answer with
    /// [`Opening::on_hook`].
    RunHook {
        /// The attempt's number (from 1).
        attempt: u32,
    },
    /// Open a session to `endpoint` over `transport` in Engine.IO `version`; report with
    /// [`Opening::opened`] or [`Opening::on_handshake_failed`].
    Handshake {
        /// The server.
        endpoint: Arc<Endpoint>,
        /// The transport of the handshake.
        transport: TransportKind,
        /// The protocol version to speak.
        version: EngineVersion,
    },
    /// The attempt failed.
    Failed(ConnectError),
}

/// What a successful attempt reached.
#[derive(Debug)]
pub(crate) struct Reached {
    /// The server the session opened to.
    pub(crate) endpoint: Arc<Endpoint>,
    /// The servers to try next time (a hook may have changed them).
    pub(crate) endpoints: Vec<Arc<Endpoint>>,
    /// The auth the reconnection hook gave, if any.
    pub(crate) auth: Option<Value>,
}

/// The handshake under way.
#[derive(Debug, Clone, Copy)]
struct Try {
    /// Index of the server in the attempt's list.
    server: usize,
    /// Index of the transport in `ManagerOptions::transports`.
    transport: usize,
    /// When the server is given up (`ManagerOptions::timeout` after its first handshake).
    until: Instant,
}

/// Where the attempt stands.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Not started.
    New,
    /// The replaced session is closing.
    Closing,
    /// The lost session is being closed on its server, at most until `until`.
    Abandoning { until: Instant },
    /// The reconnection hook runs, at most until `until`.
    Hook { until: Instant },
    /// A handshake is under way.
    Handshake(Try),
    /// Opened or failed: inputs are ignored.
    Over,
}

/// One connection attempt.
#[derive(Debug)]
pub(crate) struct Opening {
    options: Arc<ManagerOptions>,
    /// The reconnection attempt's number; 0 for a first connection.
    attempt: u32,
    /// The servers to try, in order.
    endpoints: Vec<Arc<Endpoint>>,
    /// Whether a session is being replaced (closed first).
    replacing: bool,
    /// The lost session to close first, if any.
    lost: Option<Lost>,
    /// The auth the reconnection hook gave.
    auth: Option<Value>,
    /// When the whole attempt is given up: `ManagerOptions::timeout` per server.
    deadline: Instant,
    phase: Phase,
    /// The first failure on the server being tried (its other transports may follow).
    server_error: Option<TransportError>,
}

impl Opening {
    /// Attempt `attempt` (0 for a first connection) over `endpoints`, starting at `now`;
    /// `replacing` when an open session must close first, `lost` a lost session to close.
    pub(crate) fn new(
        options: Arc<ManagerOptions>,
        attempt: u32,
        endpoints: Vec<Arc<Endpoint>>,
        replacing: bool,
        lost: Option<Lost>,
        now: Instant,
    ) -> Self {
        let deadline = later(
            now,
            failover::attempt_limit(options.timeout, endpoints.len()),
        );
        Self {
            options,
            attempt,
            endpoints,
            replacing,
            lost,
            auth: None,
            deadline,
            phase: Phase::New,
            server_error: None,
        }
    }

    /// The first step.
    pub(crate) fn start(&mut self, now: Instant) -> Step {
        if !matches!(self.phase, Phase::New) {
            return Step::Wait;
        }
        if self.replacing {
            self.phase = Phase::Closing;
            return Step::CloseSession;
        }
        self.after_close(now)
    }

    /// The replaced session closed.
    pub(crate) fn on_closed(&mut self, now: Instant) -> Step {
        match self.phase {
            Phase::Closing => self.after_close(now),
            _ => Step::Wait,
        }
    }

    /// The lost session was closed on its server (or that failed).
    pub(crate) fn on_abandoned(&mut self, now: Instant) -> Step {
        match self.phase {
            Phase::Abandoning { .. } => self.after_abandon(now),
            _ => Step::Wait,
        }
    }

    /// The reconnection hook answered `update`: a URL replaces the first server, a query
    /// and headers apply to every server, the auth goes to the namespaces.
    pub(crate) fn on_hook(&mut self, update: ReconnectUpdate, now: Instant) -> Step {
        if !matches!(self.phase, Phase::Hook { .. }) {
            return Step::Wait;
        }
        if update.url.is_some() || update.query.is_some() || update.extra_headers.is_some() {
            match failover::apply_update(&self.endpoints, &update, &self.options) {
                Ok(endpoints) => self.endpoints = endpoints,
                Err(error) => return self.fail(error),
            }
        }
        self.auth = update.auth;
        self.try_server(0, now)
    }

    /// The handshake under way succeeded: the attempt is over.
    pub(crate) fn opened(&mut self) -> Option<Reached> {
        let Phase::Handshake(current) = self.phase else {
            return None;
        };
        self.phase = Phase::Over;
        Some(Reached {
            endpoint: self.endpoints[current.server].clone(),
            endpoints: std::mem::take(&mut self.endpoints),
            auth: self.auth.take(),
        })
    }

    /// The handshake under way failed with `error`. A Socket.IO 2.x server found while
    /// detecting is opened again in Engine.IO v3 (kept for every later connection); else
    /// the next transport (with `try_all_transports`), then the next server, is tried.
    pub(crate) fn on_handshake_failed(&mut self, error: TransportError, now: Instant) -> Step {
        let Phase::Handshake(mut current) = self.phase else {
            return Step::Wait;
        };
        let endpoint = self.endpoints[current.server].clone();
        if matches!(error, TransportError::OlderProtocol) && endpoint.version().found_older_server()
        {
            tracing::debug!("Engine.IO v3 server detected, opening the session again in v3");
            return self.handshake(current, endpoint);
        }
        let transport = self.options.transports[current.transport];
        tracing::debug!(transport = transport.as_str(), %error, "transport failed to open");
        let error = self.server_error.get_or_insert(error).clone();
        current.transport += 1;
        if self.options.try_all_transports && current.transport < self.options.transports.len() {
            return self.handshake(current, endpoint);
        }
        self.server_failed(current.server, ConnectError::Transport(error), now)
    }

    /// The time is `now`: what took too long is given up. The attempt fails past its
    /// deadline or the hook's; a server that did not open in time is left for the next;
    /// the lost session's close is left unfinished.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Step {
        if matches!(self.phase, Phase::New | Phase::Over) {
            return Step::Wait;
        }
        if self.deadline <= now {
            return self.fail(ConnectError::Timeout(self.options.timeout));
        }
        match self.phase {
            Phase::Abandoning { until } if until <= now => self.after_abandon(now),
            Phase::Hook { until } if until <= now => {
                self.fail(ConnectError::Timeout(self.options.reconnect_hook_timeout))
            }
            Phase::Handshake(current) if current.until <= now => self.server_failed(
                current.server,
                ConnectError::Timeout(self.options.timeout),
                now,
            ),
            _ => Step::Wait,
        }
    }

    /// When [`Opening::on_timer`] is due next.
    pub(crate) fn next_deadline(&self) -> Instant {
        let until = match self.phase {
            Phase::Abandoning { until } | Phase::Hook { until } => until,
            Phase::Handshake(current) => current.until,
            Phase::New | Phase::Closing | Phase::Over => self.deadline,
        };
        until.min(self.deadline)
    }

    fn after_close(&mut self, now: Instant) -> Step {
        match self.lost.take() {
            Some(lost) => {
                let limit = self.options.timeout.min(ABANDON_TIMEOUT);
                self.phase = Phase::Abandoning {
                    until: later(now, limit),
                };
                Step::Abandon(lost)
            }
            None => self.after_abandon(now),
        }
    }

    fn after_abandon(&mut self, now: Instant) -> Step {
        if self.attempt > 0 && self.options.on_reconnect.is_some() {
            self.phase = Phase::Hook {
                until: later(now, self.options.reconnect_hook_timeout),
            };
            return Step::RunHook {
                attempt: self.attempt,
            };
        }
        self.try_server(0, now)
    }

    /// Starts on server `server`, over the first transport.
    fn try_server(&mut self, server: usize, now: Instant) -> Step {
        let Some(endpoint) = self.endpoints.get(server).cloned() else {
            return self.fail(ConnectError::InvalidUrl("no server to connect to".into()));
        };
        self.server_error = None;
        if self.options.transports.is_empty() {
            let error = TransportError::Handshake("no transport enabled".into());
            return self.server_failed(server, ConnectError::Transport(error), now);
        }
        let current = Try {
            server,
            transport: 0,
            until: later(now, self.options.timeout),
        };
        self.handshake(current, endpoint)
    }

    /// A handshake with `endpoint` as `current` says, in the manager's version.
    fn handshake(&mut self, current: Try, endpoint: Arc<Endpoint>) -> Step {
        self.phase = Phase::Handshake(current);
        let version = endpoint.version().current();
        Step::Handshake {
            endpoint,
            transport: self.options.transports[current.transport],
            version,
        }
    }

    /// Server `server` failed with `error`: the next one is tried; after the last, the
    /// attempt fails with its error.
    fn server_failed(&mut self, server: usize, error: ConnectError, now: Instant) -> Step {
        if server + 1 < self.endpoints.len() {
            let url = self.endpoints[server].server_url();
            tracing::info!(%url, %error, "server unreachable, trying the next one");
            return self.try_server(server + 1, now);
        }
        self.fail(error)
    }

    fn fail(&mut self, error: ConnectError) -> Step {
        self.phase = Phase::Over;
        Step::Failed(error)
    }
}

/// `now + duration`, or a far future when that overflows the clock.
fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + FAR_FUTURE)
}

#[cfg(test)]
mod tests;
