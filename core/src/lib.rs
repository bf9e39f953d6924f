//! Ferrio: a Socket.IO v5 client (Engine.IO v4) for tokio.
//!
//! [`Client::connect`] covers the common case. A [`Manager`] is one Engine.IO connection
//! (polling, WebSocket, or polling upgraded to WebSocket) carrying any number of
//! namespaces, each a [`Socket`] with its own id, auth and lifecycle.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ferrio::Client::connect("http://localhost:3000").await?;
//! client.on("chat", |event| println!("chat: {:?}", event.args));
//! let reply = client.emit_with_ack("echo", &("hello", 1)).await?;
//! println!("{:?}", reply.args);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
mod disconnect;
mod dispatcher;
pub mod engineio;
mod error;
mod event;
mod manager;
mod options;
mod socket;
pub mod socketio;
mod state;
mod stats;
mod stream;
pub mod value;

pub use client::{Client, ClientBuilder};
pub use disconnect::{DisconnectReason, UnknownDisconnectReason};
pub use dispatcher::ListenerId;
pub use error::{
    AckError, AckReplyError, ConnectError, EmitError, ProtocolError, ProxyError, TransportError,
};
pub use event::{Event, ManagerEvent, SocketEvent};
pub use manager::{Manager, ManagerBuilder};
pub use options::{
    BufferPolicy, ClientCertificate, ManagerOptions, Proxy, ReconnectHook, ReconnectUpdate,
    SocketOptions, SpkiPin, TransportKind,
};
pub use socket::{Ack, BufferedEmits, Socket};
pub use socketio::RESERVED_EVENTS;
pub use state::{EngineState, SocketState};
pub use stats::{AckRoundTrips, ConnectionStats};
pub use stream::{EventStream, HeldBytes};
pub use value::{from_args, from_value, to_args, to_value, Map, Value, ValueError};

/// The README's Rust examples, compiled as doctests so that the quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
