//! `Client`: the one-line path for the common case, a manager plus one connected socket.

use std::ops::Deref;

use crate::error::ConnectError;
use crate::manager_handle::{Manager, ManagerBuilder};
use crate::options::SocketOptions;
use crate::socket::Socket;
use crate::value::{to_value, Value};

/// A connected socket with its own manager: `Client::connect(url)` and go.
///
/// Derefs to [`Socket`] for `emit`, `on`, `events()`; [`Client::manager`] opens more
/// namespaces on the same connection.
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ferrio::Client::connect("http://localhost:3000").await?;
/// client.on("chat", |event| println!("{:?}", event.args()));
/// client.emit("chat", &"hello").await?;
/// let reply = client.emit_with_ack("echo", &42).await?;
/// client.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    manager: Manager,
    socket: Socket,
}

impl Client {
    /// Connects to `url` with default options; the URL's path is the namespace
    /// (`http://host:3000/admin` connects `/admin`).
    ///
    /// # Errors
    /// As [`Socket::connect`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// A builder for a client with options.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder {
            manager: Manager::builder(url),
            socket: SocketOptions::default(),
        }
    }

    /// The manager, to open other namespaces on the same connection.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The socket of the URL's namespace.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Disconnects every namespace and closes the connection.
    pub async fn close(&self) {
        self.manager.close().await;
    }
}

impl Deref for Client {
    type Target = Socket;

    fn deref(&self) -> &Socket {
        &self.socket
    }
}

/// Builds a [`Client`]: the [`ManagerBuilder`] options plus the socket's options (auth,
/// retries).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    manager: ManagerBuilder,
    socket: SocketOptions,
}

impl ClientBuilder {
    /// The auth payload sent in CONNECT; it must serialize to a JSON object.
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`] if it cannot be serialized.
    pub fn auth<T: serde::Serialize + ?Sized>(mut self, auth: &T) -> Result<Self, ConnectError> {
        let value =
            to_value(auth).map_err(|e| ConnectError::InvalidOption(format!("auth: {e}")))?;
        if !matches!(value, Value::Object(_)) {
            return Err(ConnectError::InvalidOption(
                "auth must be a JSON object".into(),
            ));
        }
        self.socket.auth = Some(value);
        Ok(self)
    }

    /// Tries per emit beyond the first, for at-least-once delivery
    /// ([`SocketOptions::retries`]).
    pub fn retries(mut self, retries: u32) -> Self {
        self.socket.retries = retries;
        self
    }

    /// Changes the manager's options.
    pub fn manager(mut self, change: impl FnOnce(ManagerBuilder) -> ManagerBuilder) -> Self {
        self.manager = change(self.manager);
        self
    }

    /// Connects and waits for the namespace to be connected.
    ///
    /// # Errors
    /// As [`Socket::connect`].
    pub async fn connect(self) -> Result<Client, ConnectError> {
        let (manager, socket) = self.manager.connect_with(self.socket).await?;
        Ok(Client { manager, socket })
    }
}
