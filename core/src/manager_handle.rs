//! `Manager`: the handle of one Engine.IO connection shared by many namespaces; its
//! connection task lives in [`crate::manager`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, oneshot, watch};
use url::Url;

use crate::error::ConnectError;
use crate::manager::command::Command;
use crate::manager::event::ManagerEvent;
use crate::manager::{self, Connection};
use crate::options::{
    BufferPolicy, ManagerOptions, ReconnectHook, ReconnectUpdate, SocketOptions, TransportKind,
};
use crate::socket::Socket;
use crate::state::EngineState;
use crate::stats::ConnectionStats;

/// One Engine.IO connection to a server, multiplexing namespaces ([`Socket`]s).
///
/// Cheap to clone. The connection opens when the first socket connects, reconnects by
/// itself (see [`ManagerOptions`]), and closes when the last socket disconnects or on
/// [`Manager::close`].
#[derive(Clone)]
pub struct Manager {
    inner: Arc<ManagerInner>,
}

struct ManagerInner {
    url: Url,
    options: Arc<ManagerOptions>,
    /// The connection task's ends.
    connection: Connection,
    sockets: Mutex<HashMap<String, Socket>>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.inner.url.as_str())
            .finish()
    }
}

impl Manager {
    /// A manager for `url` with default options. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`ConnectError::InvalidUrl`] for a URL that is not `http(s)`/`ws(s)`;
    /// [`ConnectError::InvalidOption`] outside a tokio runtime.
    pub fn new(url: &str) -> Result<Self, ConnectError> {
        Self::with_options(url, ManagerOptions::default())
    }

    /// A builder for a manager with options.
    pub fn builder(url: &str) -> ManagerBuilder {
        ManagerBuilder {
            url: url.to_owned(),
            options: ManagerOptions::default(),
        }
    }

    /// A manager for `url` with `options`. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// As [`Manager::new`], plus [`ConnectError::InvalidOption`] for bad headers or CA.
    pub fn with_options(url: &str, options: ManagerOptions) -> Result<Self, ConnectError> {
        let url = Url::parse(url).map_err(|e| ConnectError::InvalidUrl(format!("{url}: {e}")))?;
        let options = Arc::new(options);
        let connection = manager::start(&url, options.clone())?;
        Ok(Self {
            inner: Arc::new(ManagerInner {
                url,
                options,
                connection,
                sockets: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The socket of `namespace` (created on first use, then the same one). Call
    /// [`Socket::connect`] to connect it.
    pub fn socket(&self, namespace: &str) -> Socket {
        self.socket_with(namespace, SocketOptions::default())
    }

    /// The socket of `namespace` with `options` (its auth payload). An existing socket of
    /// that namespace is returned as it is.
    pub fn socket_with(&self, namespace: &str, options: SocketOptions) -> Socket {
        let namespace = normalize_namespace(namespace);
        let mut sockets = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sockets
            .entry(namespace.clone())
            .or_insert_with(|| {
                Socket::new(
                    namespace.as_str().into(),
                    options,
                    self.inner.options.clone(),
                    self.inner.connection.command_tx.clone(),
                    self.inner.connection.engine_rx.clone(),
                )
            })
            .clone()
    }

    /// The options in force.
    pub fn options(&self) -> &ManagerOptions {
        &self.inner.options
    }

    /// The transport in use, while connected.
    pub fn transport(&self) -> Option<TransportKind> {
        self.inner.connection.engine_rx.borrow().transport
    }

    /// The connection statistics now: bytes and packets in and out, reconnections, the
    /// transport, the heartbeat's age and the ack round trips (see [`ConnectionStats`]).
    /// Always counted; reading them asks nothing of the connection task.
    pub fn stats(&self) -> ConnectionStats {
        self.inner.connection.stats.snapshot(self.transport())
    }

    /// The current state of the Engine.IO connection.
    pub fn engine_state(&self) -> EngineState {
        self.inner.connection.engine_rx.borrow().clone()
    }

    /// A receiver of every change of the Engine.IO connection (transport, upgrade).
    pub fn watch_engine(&self) -> watch::Receiver<EngineState> {
        self.inner.connection.engine_rx.clone()
    }

    /// Skips the remaining reconnection delay and tries now (for apps that learn the
    /// network is back). Does nothing when no reconnection is pending.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn on_network_available(manager: ferrio::Manager) {
    /// manager.reconnect_now().await;
    /// # }
    /// ```
    pub async fn reconnect_now(&self) {
        let _ = self
            .inner
            .connection
            .command_tx
            .send(Command::ReconnectNow)
            .await;
    }

    /// Manager events from now on: open, close, reconnection attempts and outcome.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(manager: ferrio::Manager) {
    /// use ferrio::ManagerEvent;
    /// let mut events = manager.events();
    /// while let Ok(event) = events.recv().await {
    ///     match event {
    ///         ManagerEvent::ReconnectAttempt(n) => println!("reconnecting, attempt {n}"),
    ///         ManagerEvent::ReconnectFailed => break,
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> broadcast::Receiver<ManagerEvent> {
        self.inner.connection.manager_event_tx.subscribe()
    }

    /// Disconnects every namespace and closes the connection for good. Pending acks fail
    /// with [`AckError::Closed`](crate::AckError::Closed). The emits the connection
    /// accepted before it (each emit that returned `Ok` while connected) are written first,
    /// then the DISCONNECT packets and the close handshake, all within two seconds whatever
    /// the server does: what a server that does not read has not taken by then is dropped
    /// with the connection (logged as a warning). Waits until the task has stopped.
    pub async fn close(&self) {
        self.inner.connection.closing.request();
        let (reply_tx, reply_rx) = oneshot::channel();
        if self
            .inner
            .connection
            .command_tx
            .send(Command::Close { reply: reply_tx })
            .await
            .is_ok()
        {
            let _ = reply_rx.await;
        }
    }

    /// The namespace given by the URL's path (`/` when none).
    pub(crate) fn url_namespace(&self) -> String {
        normalize_namespace(self.inner.url.path())
    }
}

/// `/admin` for `admin`, `/admin/` and `/admin`; `/` for an empty path.
fn normalize_namespace(namespace: &str) -> String {
    let trimmed = namespace.trim_matches('/');
    format!("/{trimmed}")
}

/// Builds a [`Manager`] with options named after the JavaScript client's.
///
/// # Examples
/// ```no_run
/// # fn f() -> Result<(), ferrio::ConnectError> {
/// use std::time::Duration;
/// use ferrio::TransportKind;
/// let manager = ferrio::Manager::builder("https://example.com")
///     .transports(&[TransportKind::WebSocket])
///     .reconnection_delay(Duration::from_millis(500))
///     .reconnection_attempts(10)
///     .extra_header("x-app-version", "2.1")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ManagerBuilder {
    url: String,
    options: ManagerOptions,
}

impl ManagerBuilder {
    /// The Engine.IO path (default `/socket.io/`).
    pub fn path(mut self, path: &str) -> Self {
        self.options.path = path.to_owned();
        self
    }

    /// Adds a query parameter to every request.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.options.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header to every request and to the WebSocket handshake.
    pub fn extra_header(mut self, name: &str, value: &str) -> Self {
        self.options
            .extra_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// The transports to try, in order.
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        self.options.transports = transports.to_vec();
        self
    }

    /// Whether to upgrade from polling to WebSocket (default true).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.options.upgrade = upgrade;
        self
    }

    /// Whether to fall back to the next transport when one cannot be opened (default true).
    pub fn try_all_transports(mut self, enabled: bool) -> Self {
        self.options.try_all_transports = enabled;
        self
    }

    /// The Socket.IO version the server speaks (default [`ServerVersion::Detect`]:
    /// found out on the first connection); see [`ServerVersion`].
    ///
    /// [`ServerVersion`]: crate::ServerVersion
    /// [`ServerVersion::Detect`]: crate::ServerVersion::Detect
    pub fn server_version(mut self, version: crate::ServerVersion) -> Self {
        self.options.server_version = version;
        self
    }

    /// The connect timeout (default 20 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// The default ack timeout (default 30 s).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.options.ack_timeout = timeout;
        self
    }

    /// Whether to reconnect automatically (default true).
    pub fn reconnection(mut self, enabled: bool) -> Self {
        self.options.reconnection = enabled;
        self
    }

    /// Reconnection attempts before giving up (default unlimited).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.options.reconnection_attempts = Some(attempts);
        self
    }

    /// First reconnection delay (default 1 s).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.options.reconnection_delay = delay;
        self
    }

    /// Longest reconnection delay (default 5 s).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.options.reconnection_delay_max = delay;
        self
    }

    /// Jitter factor, 0 to 1 (default 0.5).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.options.randomization_factor = factor;
        self
    }

    /// Reconnect a namespace after a server-side disconnect too (default false).
    pub fn reconnect_on_server_disconnect(mut self, enabled: bool) -> Self {
        self.options.reconnect_on_server_disconnect = enabled;
        self
    }

    /// Calls `hook` before every reconnection attempt for fresh URL, query, headers or
    /// auth (token refresh); see [`ReconnectHook`].
    ///
    /// # Examples
    /// ```no_run
    /// # fn f() -> Result<(), ferrio::ConnectError> {
    /// let manager = ferrio::Manager::builder("http://localhost:3000")
    ///     .on_reconnect(|attempt| async move {
    ///         let token = format!("token-{attempt}");
    ///         ferrio::ReconnectUpdate {
    ///             auth: Some(ferrio::to_value(&serde_json::json!({ "token": token })).unwrap()),
    ///             ..Default::default()
    ///         }
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_reconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ReconnectUpdate> + Send + 'static,
    {
        self.options.on_reconnect = Some(ReconnectHook::new(hook));
        self
    }

    /// Bounds of each namespace's offline buffer and what happens when it is full.
    pub fn offline_buffer(
        mut self,
        max_emits: usize,
        max_bytes: usize,
        policy: BufferPolicy,
    ) -> Self {
        self.options.max_buffered_emits = max_emits;
        self.options.max_buffered_bytes = max_bytes;
        self.options.buffer_policy = policy;
        self
    }

    /// Trusts an extra CA certificate (PEM), beside the system roots.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.options.ca_certs_pem.push(pem.into());
        self
    }

    /// Pins a public key (`"sha256/<base64>".parse()?`, or the 32 bytes): the server's
    /// verified chain must hold one of the pinned keys; see
    /// [`ManagerOptions::certificate_pins`].
    pub fn certificate_pin(mut self, pin: crate::SpkiPin) -> Self {
        self.options.certificate_pins.push(pin);
        self
    }

    /// Presents a client certificate (mutual TLS): its chain and private key, PEM; see
    /// [`ManagerOptions::client_certificate`].
    pub fn client_certificate(
        mut self,
        cert_chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.options.client_certificate = Some(crate::ClientCertificate {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// Accepts any server certificate, for development only; every handshake logs a
    /// warning. See [`ManagerOptions::danger_accept_invalid_certs`].
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.options.danger_accept_invalid_certs = accept;
        self
    }

    /// Goes through the proxy at `url` (`http://`, `socks5h://` or `socks5://`, with
    /// `user:password@` if it wants credentials) for both transports, whatever the
    /// environment says; see [`Proxy`](crate::Proxy).
    ///
    /// # Examples
    /// ```no_run
    /// # fn f() -> Result<(), ferrio::ConnectError> {
    /// let manager = ferrio::Manager::builder("https://example.com")
    ///     .proxy("http://user:secret@proxy.internal:3128")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn proxy(mut self, url: &str) -> Self {
        self.options.proxy = crate::Proxy::Url(url.to_owned());
        self
    }

    /// Connects directly: no proxy, and the environment's (`HTTPS_PROXY`, ...) ignored.
    pub fn no_proxy(mut self) -> Self {
        self.options.proxy = crate::Proxy::None;
        self
    }

    /// Adds a server tried when the ones before it cannot be reached; see
    /// [`ManagerOptions::fallback_urls`].
    pub fn fallback_url(mut self, url: &str) -> Self {
        self.options.fallback_urls.push(url.to_owned());
        self
    }

    /// Whether polling responses may come compressed (gzip, deflate); see
    /// [`ManagerOptions::compression`]. Default true.
    pub fn compression(mut self, enabled: bool) -> Self {
        self.options.compression = enabled;
        self
    }

    /// Changes any option.
    pub fn options(mut self, change: impl FnOnce(&mut ManagerOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// Builds the manager. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// As [`Manager::with_options`].
    pub fn build(self) -> Result<Manager, ConnectError> {
        Manager::with_options(&self.url, self.options)
    }

    /// Builds the manager and returns it with the socket of the URL's namespace, made with
    /// `options` and connected.
    ///
    /// # Errors
    /// As [`Socket::connect`].
    pub(crate) async fn connect_with(
        self,
        options: SocketOptions,
    ) -> Result<(Manager, Socket), ConnectError> {
        let manager = self.build()?;
        let socket = manager.socket_with(&manager.url_namespace(), options);
        socket.connect().await?;
        Ok((manager, socket))
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_namespace;

    #[test]
    fn namespaces_are_normalized_with_one_leading_slash() {
        assert_eq!(normalize_namespace(""), "/");
        assert_eq!(normalize_namespace("/"), "/");
        assert_eq!(normalize_namespace("admin"), "/admin");
        assert_eq!(normalize_namespace("/admin/"), "/admin");
    }
}
