//! `Client`: the one-call path for the common case, a manager plus the connected socket of
//! the URL's namespace.

use std::sync::Arc;

use crate::error::{CallError, ConnectError};
use crate::manager::Manager;
use crate::options::ClientOptions;
use crate::runtime::{block_on, on_runtime};
use crate::socket::Socket;

/// A connected socket with its own manager.
#[derive(uniffi::Object)]
pub struct Client {
    manager: Arc<Manager>,
    socket: Arc<Socket>,
}

/// Connects to `options.url` (its path is the namespace) and waits for the namespace.
///
/// # Errors
/// As `Socket.connect`, plus `InvalidUrl`/`InvalidOption`.
#[uniffi::export]
pub async fn connect(options: ClientOptions) -> Result<Arc<Client>, ConnectError> {
    on_runtime(connect_client(options)).await
}

/// `connect`, blocking the calling thread.
#[uniffi::export]
pub fn connect_blocking(options: ClientOptions) -> Result<Arc<Client>, ConnectError> {
    block_on(connect_client(options))
}

async fn connect_client(options: ClientOptions) -> Result<Arc<Client>, ConnectError> {
    let mut builder = ferrio::Client::builder(&options.url).retries(options.retries);
    if let Some(auth) = options.auth()? {
        builder = builder.auth(&auth)?;
    }
    let manager_options = options.manager_options()?;
    let core = builder
        .manager(|b| b.options(|o| *o = manager_options))
        .connect()
        .await?;
    let manager = Arc::new(Manager::from_core(core.manager().clone(), &options));
    let socket = manager.socket_for(core.socket().clone());
    Ok(Arc::new(Client { manager, socket }))
}

#[uniffi::export]
impl Client {
    /// The manager, to open more namespaces on the same connection.
    pub fn manager(&self) -> Arc<Manager> {
        self.manager.clone()
    }

    /// The socket of the URL's namespace.
    pub fn socket(&self) -> Arc<Socket> {
        self.socket.clone()
    }

    /// Closes the manager (see `Manager.close`).
    pub async fn close(&self) -> Result<(), CallError> {
        self.manager.close().await
    }

    /// `close`, blocking the calling thread.
    pub fn close_blocking(&self) -> Result<(), CallError> {
        self.manager.close_blocking()
    }
}
