//! Ferrio: a Socket.IO client for tokio: Socket.IO v5 over Engine.IO v4 (socket.io 3.x and
//! 4.x servers), and v4 over Engine.IO v3 for socket.io 2.x servers ([`ServerVersion`]).
//!
//! [`Client::connect`] covers the common case. A [`Manager`] is one Engine.IO connection
//! (polling, WebSocket, or polling upgraded to WebSocket) carrying any number of
//! namespaces, each a [`Socket`] with its own id, auth and lifecycle.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ferrio::Client::connect("http://localhost:3000").await?;
//! client.on("chat", |event| println!("chat: {:?}", event.args()));
//! let reply = client.emit_with_ack("echo", &("hello", 1)).await?;
//! println!("{:?}", reply.args());
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! The modules depend one way, each on the layers below it only:
//!
//! 1. **Handles**, what users hold: `client`, `manager_handle` ([`Manager`]), `socket`,
//!    `stream`, `dispatcher`. They send commands to the connection task and read its state.
//! 2. **The connection task**, `manager/`: the actor and its parts, and the events it
//!    delivers (`manager::event`: [`Event`], [`SocketEvent`], [`ManagerEvent`]).
//! 3. **The Engine.IO session**, `engineio::session`: the only way to the transports for the
//!    layers above (it opens them from an `Endpoint` and closes a lost polling session).
//! 4. **Transports and codecs**: `engineio::transport`, the Engine.IO and Socket.IO packet
//!    codecs (`engineio::{packet, payload, handshake}`, [`socketio`]) and [`value`].
//!
//! Between the transports and the codecs sits the vocabulary the upper layers share:
//! `error` (which wraps the codecs' decode errors), `options`, `disconnect`, `state`,
//! `stats`. At the very bottom, `server_text` bounds what the server sent before any error,
//! a codec's included, quotes it.
#![deny(missing_docs)]

mod client;
mod disconnect;
mod dispatcher;
pub mod engineio;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod manager;
mod manager_handle;
mod options;
mod server_text;
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
pub use manager::event::{Event, ManagerEvent, SocketEvent};
pub use manager_handle::{Manager, ManagerBuilder};
pub use options::{
    BufferPolicy, ClientCertificate, ManagerOptions, Proxy, ReconnectHook, ReconnectUpdate,
    ServerVersion, SocketOptions, SpkiPin, TransportKind,
};
pub use socket::{Ack, BufferedEmits, JsonEmit, Socket};
pub use socketio::RESERVED_EVENTS;
pub use state::{EngineState, SocketState};
pub use stats::{AckRoundTrips, ConnectionStats};
pub use stream::{EventStream, HeldBytes, QueuedEvents};
pub use value::{from_args, from_value, to_args, to_value, Map, Value, ValueError};

/// The README's Rust examples, compiled as doctests so that the quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
