//! Engine.IO v4, and v3 for Socket.IO 2.x servers: packet codecs (pure), the transports
//! that carry them, and the session that drives the transports.

pub mod handshake;
mod heartbeat;
pub mod packet;
pub mod payload;
pub(crate) mod session;
pub(crate) mod transport;
pub(crate) mod version;

pub use handshake::Handshake;
pub use packet::{EngineDecodeError, EnginePacket};
