//! `Manager`: one connection shared by many namespaces; `close` releases everything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{CallError, ConnectError};
use crate::listener::JsonEventListener;
use crate::manager_events::ManagerEventStream;
use crate::options::{parse_auth, ClientOptions, Transport};
use crate::reconnect_hook::{core_hook, ReconnectHook};
use crate::runtime::{block_if_open, block_on, guard, on_runtime, run_if_open, runtime};
use crate::socket::Socket;
use crate::stats::ConnectionStats;
use crate::tracker::{lock, Tracker};

/// One Engine.IO connection to a server, multiplexing namespaces ([`Socket`]s).
///
/// The connection opens when the first socket connects and reconnects by itself. `close`
/// (or dropping it) closes the connection, ends every stream and stops every delivery
/// thread made from it.
#[derive(uniffi::Object)]
pub struct Manager {
    core: Mutex<Option<ferrio::Manager>>,
    pub(crate) tracker: Arc<Tracker>,
    ack_timeout: Duration,
    auth_json: Option<String>,
    /// Tries per emit beyond the first, in every socket made here.
    retries: u32,
}

impl Manager {
    pub(crate) fn from_core(core: ferrio::Manager, options: &ClientOptions) -> Self {
        Manager {
            ack_timeout: Duration::from_millis(options.ack_timeout_ms),
            auth_json: options.auth_json.clone(),
            retries: options.retries,
            core: Mutex::new(Some(core)),
            tracker: Tracker::new(),
        }
    }

    /// The statistics once closed: those `close` left, or none counted.
    fn final_stats(&self) -> ConnectionStats {
        lock(&self.tracker.closed_stats)
            .clone()
            .unwrap_or_else(|| ferrio::ConnectionStats::default().into())
    }

    pub(crate) fn core(&self) -> Option<ferrio::Manager> {
        lock(&self.core).clone()
    }

    pub(crate) fn socket_for(&self, core: ferrio::Socket) -> Arc<Socket> {
        Arc::new(Socket::new(core, self.tracker.clone(), self.ack_timeout))
    }

    /// The core socket of `namespace` with `auth_json` (the options' when `None`).
    fn core_socket(
        &self,
        namespace: &str,
        auth_json: Option<String>,
    ) -> Result<ferrio::Socket, ConnectError> {
        let core = self.core().ok_or(ConnectError::Closed)?;
        let auth = parse_auth(auth_json.as_deref().or(self.auth_json.as_deref()))?;
        let _runtime = runtime().enter();
        Ok(core.socket_with(
            namespace,
            ferrio::SocketOptions {
                auth,
                retries: self.retries,
            },
        ))
    }

    /// Closes the core manager and everything tracked; returns when all has stopped.
    async fn shut(core: Option<ferrio::Manager>, tracker: Arc<Tracker>) {
        if let Some(core) = core {
            core.close().await;
        }
        for delivery in tracker.close() {
            delivery.stop().await;
        }
    }
}

#[uniffi::export]
impl Manager {
    /// A manager for `options.url`; nothing connects until a socket does.
    ///
    /// # Errors
    /// [`ConnectError::InvalidUrl`], [`ConnectError::InvalidOption`].
    #[uniffi::constructor]
    pub fn new(options: ClientOptions) -> Result<Arc<Self>, ConnectError> {
        guard(|| {
            options.auth()?;
            let _runtime = runtime().enter();
            let core = ferrio::Manager::with_options(&options.url, options.manager_options()?)?;
            Ok(Arc::new(Manager::from_core(core, &options)))
        })
    }

    /// A manager for `options.url` whose `hook` runs before every reconnection attempt
    /// and may return a fresh URL, query, headers or auth (see [`ReconnectHook`]).
    ///
    /// # Errors
    /// As [`Manager::new`].
    #[uniffi::constructor]
    pub fn with_reconnect_hook(
        options: ClientOptions,
        hook: Arc<dyn ReconnectHook>,
    ) -> Result<Arc<Self>, ConnectError> {
        guard(|| {
            options.auth()?;
            let _runtime = runtime().enter();
            let manager_options = ferrio::ManagerOptions {
                on_reconnect: Some(core_hook(hook)),
                ..options.manager_options()?
            };
            let core = ferrio::Manager::with_options(&options.url, manager_options)?;
            Ok(Arc::new(Manager::from_core(core, &options)))
        })
    }

    /// The socket of `namespace`, with the auth payload `auth_json` (JSON text of an
    /// object; the options' `auth_json` when `None`) and the options' `retries`. Call
    /// `connect` on it. A namespace has one core socket: a second call shares it (and its
    /// first auth).
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`] for bad auth, [`ConnectError::Closed`].
    pub fn socket(
        &self,
        namespace: String,
        auth_json: Option<String>,
    ) -> Result<Arc<Socket>, ConnectError> {
        guard(|| Ok(self.socket_for(self.core_socket(&namespace, auth_json)?)))
    }

    /// `socket`, with `listener` given the socket's events as `Socket.subscribe_json`
    /// gives them, from its creation for as long as the returned object lives (or until
    /// the manager closes): one call where a binding would make two (each JNA call
    /// allocates its own call status and buffers).
    ///
    /// # Errors
    /// As `socket`; [`ConnectError::Transport`] when the delivery thread cannot start.
    pub fn socket_with_listener(
        &self,
        namespace: String,
        auth_json: Option<String>,
        listener: Arc<dyn JsonEventListener>,
        max_batch: u32,
    ) -> Result<Arc<Socket>, ConnectError> {
        guard(|| {
            let core = self.core_socket(&namespace, auth_json)?;
            let socket = Socket::new(core, self.tracker.clone(), self.ack_timeout)
                .with_listener(listener, max_batch)
                .map_err(|error| ConnectError::Transport {
                    detail: error.to_string(),
                })?;
            Ok(Arc::new(socket))
        })
    }

    /// The transport in use, while connected.
    pub fn transport(&self) -> Result<Option<Transport>, CallError> {
        guard(|| {
            Ok(self
                .core()
                .and_then(|core| core.transport())
                .map(Transport::from))
        })
    }

    /// The connection statistics now: bytes and packets in and out, reconnections, the
    /// transport, the age of the last ping and the ack round trips. After `close`, those
    /// counted until then; always counted, cheap to read.
    pub fn stats(&self) -> Result<ConnectionStats, CallError> {
        guard(|| {
            let core = lock(&self.core).clone();
            Ok(match core {
                Some(core) => core.stats().into(),
                None => self.final_stats(),
            })
        })
    }

    /// Connection events from now on: open, close, reconnection attempts and outcome.
    pub fn events(&self) -> Result<Arc<ManagerEventStream>, CallError> {
        guard(|| {
            let events = self.core().map(|core| core.events());
            Ok(Arc::new(ManagerEventStream::new(
                events,
                self.tracker.clone(),
            )))
        })
    }

    /// Skips the remaining reconnection delay and tries now, e.g. from a mobile app's
    /// network-change callback. Does nothing when no reconnection is pending or once closed.
    pub async fn reconnect_now(&self) -> Result<(), CallError> {
        run_if_open(
            self.core(),
            |core| async move { core.reconnect_now().await },
        )
        .await
    }

    /// `reconnect_now`, blocking the calling thread.
    pub fn reconnect_now_blocking(&self) -> Result<(), CallError> {
        block_if_open(
            self.core(),
            |core| async move { core.reconnect_now().await },
        )
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> Result<bool, CallError> {
        guard(|| Ok(self.tracker.is_closed()))
    }

    /// Disconnects every namespace, closes the connection, ends the streams and waits for
    /// the delivery threads to stop. Pending acks fail with `Closed`.
    pub async fn close(&self) -> Result<(), CallError> {
        let core = lock(&self.core).take();
        let last = core.clone();
        let tracker = self.tracker.clone();
        on_runtime(async move {
            Manager::shut(core, tracker.clone()).await;
            keep_stats(last, &tracker.closed_stats);
            Ok(())
        })
        .await
    }

    /// `close`, blocking the calling thread.
    pub fn close_blocking(&self) -> Result<(), CallError> {
        let core = lock(&self.core).take();
        let last = core.clone();
        let tracker = self.tracker.clone();
        block_on(async move {
            Manager::shut(core, tracker.clone()).await;
            keep_stats(last, &tracker.closed_stats);
            Ok(())
        })
    }
}

/// Keeps the statistics of the closed manager `core` (if this call closed it).
fn keep_stats(core: Option<ferrio::Manager>, closed_stats: &Mutex<Option<ConnectionStats>>) {
    if let Some(core) = core {
        *lock(closed_stats) = Some(core.stats().into());
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let core = lock(&self.core).take();
        if core.is_some() || !self.tracker.is_closed() {
            let tracker = self.tracker.clone();
            // Not awaited: a dropped manager closes in the background.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime().spawn(Manager::shut(core, tracker));
            }));
        }
    }
}
