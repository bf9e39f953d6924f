//! `ferrio-ffi`: the UniFFI layer over the `ferrio` core, shared by the Python, Kotlin and
//! Swift packages. Thin: types converted, threads arranged, no protocol logic.
//!
//! - Events cross in drained batches as flat [`EventRecord`]s: JSON text plus binary
//!   attachments (see [`json`]). Each subscription has one delivery queue (`queue`, one
//!   rule for batching, lag and ending), waited on in one of three ways: pulled
//!   ([`EventStream::next_batch`]), handed to a listener ([`EventListener`], or
//!   [`JsonEventListener`] with plain events packed as one JSON text) or, on Unix,
//!   announced on a file descriptor ([`EventPipe`], with the ack replies), for event loops
//!   that watch descriptors (asyncio): no callback from a Rust thread. The pipe's call
//!   socket carries plain ack requests and replies as datagrams: no FFI call at all.
//! - Emits are cheap sync calls ([`Socket::emit`], [`Socket::emit_batch`]); async is for
//!   real waits (connect, ack, next batch), run on this crate's own tokio runtime; an
//!   ack's wait is polled by the foreign executor itself in the runtime's context
//!   ([`Socket::emit_named_with_ack`]: one JSON text in, for JNA's per-argument costs).
//! - Every export catches panics into a typed error's `Panic` variant.

uniffi::setup_scaffolding!();

mod ack;
mod client;
mod disconnect;
mod emit_batch;
mod error;
mod event;
mod json;
mod latch;
mod listener;
mod manager;
mod manager_events;
mod options;
#[cfg(unix)]
mod pipe;
mod queue;
mod reconnect_hook;
mod runtime;
mod socket;
mod stats;
mod stream;
mod tracker;

pub use ack::{AckRecord, AckRequest};
pub use client::{connect, connect_blocking, Client};
pub use disconnect::{disconnect_reason_text, DisconnectReason};
pub use emit_batch::EmitFailure;
pub use error::{
    AckError, AckReplyError, CallError, ConnectError, EmitError, ListenerError, ProxyErrorKind,
};
pub use event::{EventKind, EventRecord, JsonBatch};
pub use listener::{EventListener, JsonEventListener, Subscription};
pub use manager::Manager;
pub use manager_events::{ManagerEvent, ManagerEventStream};
pub use options::{default_client_options, ClientOptions, Transport};
#[cfg(unix)]
pub use pipe::{AckReply, EventPipe, PipeBatch};
pub use reconnect_hook::{ReconnectHook, ReconnectHookError, ReconnectUpdate};
pub use socket::Socket;
pub use stats::{AckRoundTrips, ConnectionStats};
pub use stream::EventStream;

/// How many listener delivery threads are alive in the process (for leak tests).
#[uniffi::export]
pub fn live_delivery_threads() -> u32 {
    u32::try_from(listener::live_delivery_threads()).unwrap_or(u32::MAX)
}

/// How many tasks are alive on the FFI runtime (for leak tests).
#[uniffi::export]
pub fn live_runtime_tasks() -> u64 {
    u64::try_from(runtime::runtime().metrics().num_alive_tasks()).unwrap_or(u64::MAX)
}

/// The version of the ferrio library.
#[uniffi::export]
pub fn ferrio_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
