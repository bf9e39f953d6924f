//! Socket.IO v5 packet encoding and decoding. Pure: no I/O, no clock.

pub mod binary;
pub mod packet;

pub(crate) use packet::json_values;
pub use packet::{DecodeError, DecodeLimits, Decoder, Packet, PacketKind, RESERVED_EVENTS};
