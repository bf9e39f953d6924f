//! The connection task behind a [`Manager`](crate::Manager) and its parts: the actor, the
//! engine, the namespace, ack and offline tables, and the events it delivers. Started by
//! [`start`]; the handles talk to it through the ends [`start`] returns.

mod acks;
mod actor;
mod closing;
pub(crate) mod command;
pub(crate) mod delivery;
mod doorbell;
mod engine;
pub(crate) mod event;
mod failover;
mod inbox;
mod namespaces;
mod opening;
mod outbox;
pub(crate) mod queue;
mod reconnect;
mod recovery;

use std::sync::{Arc, OnceLock};

use tokio::sync::{broadcast, watch};
use tracing::Instrument;
use url::Url;

use crate::engineio::session::Endpoint;
use crate::error::ConnectError;
use crate::options::{ManagerOptions, ReconnectUpdate};
use crate::state::EngineState;
use crate::stats::Stats;
use closing::Closing;
use command::{Command, CommandTx};
use event::ManagerEvent;

/// Capacity of the broadcast of manager events.
const MANAGER_EVENT_CAPACITY: usize = 64;

/// The broadcast of manager events, made on the first subscription: its buffer is
/// allocated up front, and without a subscriber every event would be dropped anyway.
#[derive(Debug, Clone, Default)]
pub(crate) struct ManagerEventTx(Arc<OnceLock<broadcast::Sender<ManagerEvent>>>);

impl ManagerEventTx {
    /// Sends `event` to the current subscribers, if any.
    pub(crate) fn send(&self, event: ManagerEvent) {
        if let Some(tx) = self.0.get() {
            let _ = tx.send(event);
        }
    }

    /// A receiver of the events sent from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ManagerEvent> {
        self.0
            .get_or_init(|| broadcast::channel(MANAGER_EVENT_CAPACITY).0)
            .subscribe()
    }
}

/// The handles' ends of a running connection task.
pub(crate) struct Connection {
    /// Commands to the task.
    pub(crate) command_tx: CommandTx,
    /// The Engine.IO connection's state, published by the task.
    pub(crate) engine_rx: watch::Receiver<EngineState>,
    /// The manager events the task sends.
    pub(crate) manager_event_tx: ManagerEventTx,
    /// Requested before a close command is queued: the task stops waiting on a write the
    /// server does not take, so the close is not queued behind it.
    pub(crate) closing: Arc<Closing>,
    /// The connection statistics the task counts.
    pub(crate) stats: Arc<Stats>,
}

/// Starts the connection task for `url` (then each of `options.fallback_urls`) on the
/// current tokio runtime; it stays idle until a socket connects.
///
/// # Errors
/// [`ConnectError::InvalidOption`] outside a tokio runtime, for an option
/// [`ManagerOptions::validate`] refuses, or for headers, certificates or a fallback URL that
/// cannot be used.
pub(crate) fn start(url: &Url, options: Arc<ManagerOptions>) -> Result<Connection, ConnectError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(ConnectError::InvalidOption(
            "a Manager needs a tokio runtime".into(),
        ));
    }
    options.validate()?;
    let endpoint = Arc::new(Endpoint::new(url, &options)?);
    let mut endpoints = vec![endpoint];
    for fallback in &options.fallback_urls {
        let update = ReconnectUpdate {
            url: Some(fallback.clone()),
            ..ReconnectUpdate::default()
        };
        endpoints.push(Arc::new(endpoints[0].updated(&update, &options)?));
    }
    let (command_tx, command_rx) = queue::channel(options.command_capacity, Command::awaits_reply);
    let (engine_tx, engine_rx) = watch::channel(EngineState::default());
    let manager_event_tx = ManagerEventTx::default();
    let stats = Stats::shared();
    let actor = actor::Actor::new(
        endpoints,
        options,
        command_tx.downgrade(),
        engine_tx,
        manager_event_tx.clone(),
        stats.clone(),
    );
    let closing = Arc::new(Closing::default());
    let span = tracing::debug_span!("manager", url = %url);
    tokio::spawn(
        Box::new(actor)
            .run(command_rx, closing.clone())
            .instrument(span),
    );
    Ok(Connection {
        command_tx,
        engine_rx,
        manager_event_tx,
        closing,
        stats,
    })
}
