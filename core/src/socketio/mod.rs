//! Socket.IO v5 packet encoding and decoding. Pure: no I/O, no clock.

pub mod binary;
pub(crate) mod json_text;
pub mod packet;
pub mod payload;
mod placeholders;

pub(crate) use packet::json_values;
pub use packet::{
    Body, DecodeError, DecodeLimits, Decoder, Incoming, Packet, PacketKind, RESERVED_EVENTS,
};
pub use payload::Payload;
