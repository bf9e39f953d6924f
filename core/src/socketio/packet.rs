//! Socket.IO v5 packets: the text encoding and a decoder that reassembles binary packets.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;

use super::binary::attachment_count;
use super::payload::{check_ack, split_event, Payload};
use super::placeholders::Placeholders;
use crate::server_text::server_text;
use crate::value::Value;
use crate::value::{write_json, write_value, BinaryAs};

/// Event names a peer may not use (the reference parser rejects them).
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The type of a Socket.IO packet (its first digit on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: join a namespace (client) or accept the join (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event, `[name, ...args]`.
    Event,
    /// `3`: the acknowledgement of an event, `[...args]`.
    Ack,
    /// `4`: the server refused to join the namespace.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketKind {
    /// The wire digit of this type, `b'0'`..=`b'6'`.
    pub fn digit(self) -> u8 {
        match self {
            PacketKind::Connect => b'0',
            PacketKind::Disconnect => b'1',
            PacketKind::Event => b'2',
            PacketKind::Ack => b'3',
            PacketKind::ConnectError => b'4',
            PacketKind::BinaryEvent => b'5',
            PacketKind::BinaryAck => b'6',
        }
    }

    /// The type whose wire digit is `digit`, if any.
    pub fn from_digit(digit: u8) -> Option<PacketKind> {
        Some(match digit {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// Whether this is [`PacketKind::BinaryEvent`] or [`PacketKind::BinaryAck`].
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

/// One Socket.IO packet.
///
/// `data` is the JSON payload: an object for CONNECT, `[name, ...args]` for an event,
/// `[...args]` for an ack, `{"message", "data"}` (or a string) for CONNECT_ERROR, and
/// `None` for DISCONNECT. Binary may sit anywhere in `data` as [`Value::Binary`]; the
/// placeholders of the wire never show here.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The packet type. A decoded binary packet keeps its `BinaryEvent`/`BinaryAck` type.
    pub kind: PacketKind,
    /// The namespace, such as `/` or `/admin`.
    pub nsp: String,
    /// The ack id: set on an event that wants an ack, and on the ack itself.
    pub id: Option<u64>,
    /// The payload, if any.
    pub data: Option<Value>,
}

/// One Socket.IO packet as the [`Decoder`] gives it: events and acks in wire form.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The packet type. A binary packet keeps its `BinaryEvent`/`BinaryAck` type.
    pub kind: PacketKind,
    /// The namespace, such as `/` or `/admin`.
    pub nsp: String,
    /// The ack id: set on an event that wants an ack, and on the ack itself.
    pub id: Option<u64>,
    /// What the packet carries.
    pub body: Body,
}

/// What an [`Incoming`] packet carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// The data of a CONNECT or CONNECT_ERROR, if any; `None` for a DISCONNECT.
    Data(Option<Value>),
    /// An event: its name (a number name in its decimal form) and its arguments.
    Event {
        /// The event name.
        name: String,
        /// The arguments after the name.
        args: Payload,
    },
    /// The arguments of an ack (none when it has no payload).
    Ack(Payload),
}

impl Incoming {
    /// This packet with its payload as values, binary in place: the form [`Packet`]
    /// holds (an event's name first, as a string).
    pub fn into_packet(self) -> Packet {
        let data = match self.body {
            Body::Data(data) => data,
            Body::Event { name, args } => {
                let mut items = vec![Value::String(name)];
                items.extend(args.values());
                Some(Value::Array(items))
            }
            Body::Ack(args) => Some(Value::Array(args.values())),
        };
        Packet {
            kind: self.kind,
            nsp: self.nsp,
            id: self.id,
            data,
        }
    }

    /// Puts the attachments in place, once `placeholders` are known to name them.
    fn attach(
        &mut self,
        placeholders: &Placeholders,
        attachments: Vec<Bytes>,
    ) -> Result<(), DecodeError> {
        match &mut self.body {
            Body::Event { args, .. } | Body::Ack(args) => args.attach(placeholders, attachments),
            Body::Data(_) => Ok(()),
        }
    }
}

/// Why a Socket.IO packet could not be decoded.
///
/// Any of these is a protocol error: the JavaScript client closes the connection with
/// reason `parse error` and reconnects. After an error the [`Decoder`] is reset.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DecodeError {
    /// The packet text is empty.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type `0`..`6`.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A binary packet's `<count>-` header is missing or not a decimal number.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// A binary packet announces more attachments than [`DecodeLimits::max_attachments`].
    #[error("too many attachments: {count} (limit {max})")]
    TooManyAttachments {
        /// The announced count (saturated at `usize::MAX`).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The ack id does not fit in a `u64`.
    #[error("ack id overflows u64")]
    IdOverflow,
    /// The payload after the header is not JSON.
    #[error("invalid JSON payload: {}", server_text(.0.to_string()))]
    InvalidJson(#[source] Arc<serde_json::Error>),
    /// The payload does not have the shape its packet type requires.
    #[error("invalid payload for {kind:?}: {reason}")]
    InvalidPayload {
        /// The packet type.
        kind: PacketKind,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An event uses a name reserved by Socket.IO (`connect`, `disconnect`, ...).
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// A binary placeholder is malformed or names a missing attachment.
    #[error("invalid attachment placeholder: {0}")]
    InvalidPlaceholder(&'static str),
    /// A text packet arrived while the attachments of a binary packet were expected.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary message arrived while no binary packet was waiting for attachments.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// The packet text is longer than [`DecodeLimits::max_packet_bytes`].
    #[error("packet of {len} bytes exceeds the limit of {max} bytes")]
    PacketTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The attachments of one binary packet are longer in all than
    /// [`DecodeLimits::max_binary_bytes`].
    #[error("attachments of {len} bytes in all exceed the limit of {max} bytes")]
    BinaryTooLarge {
        /// Their length so far, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload holds more JSON values than [`DecodeLimits::max_json_values`].
    #[error("payload of more than {max} JSON values")]
    TooManyValues {
        /// The limit.
        max: usize,
    },
    /// An attachment is longer than [`DecodeLimits::max_attachment_bytes`].
    #[error("attachment of {len} bytes exceeds the limit of {max} bytes")]
    AttachmentTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Bounds on what the [`Decoder`] accepts from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most attachments one binary packet may announce (the server's default is 10).
    pub max_attachments: usize,
    /// The largest single attachment, in bytes (default 16 MiB).
    pub max_attachment_bytes: usize,
    /// The longest packet text, in bytes (default 16 MiB).
    pub max_packet_bytes: usize,
    /// The most bytes of all the attachments of one binary packet together (default
    /// 16 MiB): ten attachments of the largest size are not taken at once.
    pub max_binary_bytes: usize,
    /// The most JSON values (each number, string, array, object, `true`, `false` and
    /// `null` counts once) in one packet's payload (default 262,144). A decoded value takes
    /// 40 bytes or more whatever its text: `[0,0,0,...]` would be 20 times larger in memory
    /// than on the wire; at the default a packet holds at most about 10 MiB of values
    /// beside its strings.
    pub max_json_values: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_attachments: 10,
            max_attachment_bytes: 16 * 1024 * 1024,
            max_packet_bytes: 16 * 1024 * 1024,
            max_binary_bytes: 16 * 1024 * 1024,
            max_json_values: 256 * 1024,
        }
    }
}

/// Everything of an outgoing packet but its JSON payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The packet type. An EVENT or ACK with attachments is written as BINARY_EVENT or
    /// BINARY_ACK.
    pub kind: PacketKind,
    /// The namespace, such as `/` or `/admin` (`/` is not written).
    pub nsp: &'a str,
    /// The ack id the packet asks for or answers.
    pub id: Option<u64>,
    /// How many binary attachments follow the packet.
    pub attachments: usize,
}

impl Header<'_> {
    /// The type written on the wire: [`Header::kind`], made binary when attachments follow.
    pub fn wire_kind(&self) -> PacketKind {
        match self.kind {
            PacketKind::Event if self.attachments > 0 => PacketKind::BinaryEvent,
            PacketKind::Ack if self.attachments > 0 => PacketKind::BinaryAck,
            kind => kind,
        }
    }
}

/// Writes one Socket.IO packet, `<type digit>[<n attachments>-][<nsp>,][<id>]<json>`, to
/// `out`: the framing of every packet this client sends, whatever form its payload is
/// held in (values, typed arguments, JSON text).
///
/// `write_json` appends the JSON payload (nothing for a packet without one). If it fails,
/// `out` is truncated back to its length before and its error returned. No Engine.IO `4`
/// prefix is written. The attachment count is written for BINARY_EVENT and BINARY_ACK
/// only; the `/` namespace is omitted. Socket.IO protocol v4 (2.x servers) frames packets
/// the same way.
///
/// # Errors
/// What `write_json` returns.
///
/// # Examples
/// ```
/// use ferrio::socketio::packet::{frame, Header, PacketKind};
/// let mut text = String::new();
/// let header = Header { kind: PacketKind::Event, nsp: "/admin", id: Some(7), attachments: 1 };
/// frame(&mut text, header, |out| {
///     out.push_str(r#"["file",{"_placeholder":true,"num":0}]"#);
///     Ok::<(), std::convert::Infallible>(())
/// })?;
/// assert_eq!(text, r#"51-/admin,7["file",{"_placeholder":true,"num":0}]"#);
/// # Ok::<(), std::convert::Infallible>(())
/// ```
pub fn frame<E>(
    out: &mut String,
    header: Header<'_>,
    write_json: impl FnOnce(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    let start = out.len();
    let kind = header.wire_kind();
    out.push(char::from(kind.digit()));
    // Writing to a String cannot fail.
    if kind.is_binary() {
        let _ = write!(out, "{}-", header.attachments);
    }
    if !header.nsp.is_empty() && header.nsp != "/" {
        out.push_str(header.nsp);
        out.push(',');
    }
    if let Some(id) = header.id {
        let _ = write!(out, "{id}");
    }
    write_json(out).inspect_err(|_| out.truncate(start))
}

impl Packet {
    /// A CONNECT to `nsp`, with the optional auth object.
    pub fn connect(nsp: impl Into<String>, auth: Option<Value>) -> Packet {
        Packet {
            kind: PacketKind::Connect,
            nsp: nsp.into(),
            id: None,
            data: auth,
        }
    }

    /// A DISCONNECT from `nsp`.
    pub fn disconnect(nsp: impl Into<String>) -> Packet {
        Packet {
            kind: PacketKind::Disconnect,
            nsp: nsp.into(),
            id: None,
            data: None,
        }
    }

    /// An EVENT on `nsp`; `name_and_args` is `[name, ...args]`, `id` asks for an ack.
    ///
    /// It is sent as a BINARY_EVENT if the arguments hold binary.
    pub fn event(nsp: impl Into<String>, name_and_args: Vec<Value>, id: Option<u64>) -> Packet {
        Packet {
            kind: PacketKind::Event,
            nsp: nsp.into(),
            id,
            data: Some(Value::Array(name_and_args)),
        }
    }

    /// The ACK of event `id` on `nsp`, with `args`.
    ///
    /// It is sent as a BINARY_ACK if the arguments hold binary.
    pub fn ack(nsp: impl Into<String>, id: u64, args: Vec<Value>) -> Packet {
        Packet {
            kind: PacketKind::Ack,
            nsp: nsp.into(),
            id: Some(id),
            data: Some(Value::Array(args)),
        }
    }

    /// A CONNECT_ERROR on `nsp`: `{"message": message, "data": data}` (no `data` key if `None`).
    pub fn connect_error(nsp: impl Into<String>, message: &str, data: Option<Value>) -> Packet {
        let mut map = crate::value::Map::new();
        map.insert("message".to_owned(), Value::from(message));
        if let Some(data) = data {
            map.insert("data".to_owned(), data);
        }
        Packet {
            kind: PacketKind::ConnectError,
            nsp: nsp.into(),
            id: None,
            data: Some(Value::Object(map)),
        }
    }

    /// The event name of an EVENT or BINARY_EVENT (a number name in its decimal form).
    pub fn event_name(&self) -> Option<String> {
        match (&self.kind, self.data.as_ref()?.as_array()?.first()?) {
            (PacketKind::Event | PacketKind::BinaryEvent, Value::String(s)) => Some(s.clone()),
            (PacketKind::Event | PacketKind::BinaryEvent, Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The arguments: after the name for an event, all elements for an ack, none otherwise.
    pub fn into_args(self) -> Vec<Value> {
        match (self.kind, self.data) {
            (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(mut a))) => {
                if a.is_empty() {
                    a
                } else {
                    a.split_off(1)
                }
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Some(Value::Array(a))) => a,
            _ => Vec::new(),
        }
    }

    /// Appends the Socket.IO text of this packet to `out` and pushes its attachments.
    ///
    /// No Engine.IO `4` prefix is written: push it first if you need it. An EVENT or ACK
    /// whose data holds binary is written as BINARY_EVENT/BINARY_ACK with the `N-` header,
    /// its binary nodes replaced by placeholders numbered depth-first from 0 (whatever
    /// `attachments` already held); send the attachments, in order, right after the text.
    /// The `/` namespace is omitted; others are written `/admin,`. Binary inside a
    /// CONNECT or CONNECT_ERROR is written the way Node writes a Buffer
    /// (`{"type":"Buffer","data":[...]}`), since those packets carry no attachments.
    ///
    /// # Examples
    /// ```
    /// use ferrio::socketio::Packet;
    /// let packet = Packet::event("/admin", vec!["tellme".into()], Some(1));
    /// let (mut text, mut attachments) = (String::from("4"), Vec::new());
    /// packet.encode(&mut text, &mut attachments);
    /// assert_eq!(text, r#"42/admin,1["tellme"]"#);
    /// ```
    pub fn encode(&self, out: &mut String, attachments: &mut Vec<Bytes>) {
        let count = match self.kind {
            PacketKind::Event
            | PacketKind::Ack
            | PacketKind::BinaryEvent
            | PacketKind::BinaryAck => self.data.as_ref().map_or(0, attachment_count),
            _ => 0,
        };
        let header = Header {
            kind: self.kind,
            nsp: &self.nsp,
            id: self.id,
            attachments: count,
        };
        let binary = header.wire_kind().is_binary();
        let framed = frame(out, header, |out| {
            let Some(data) = &self.data else {
                return Ok::<(), Infallible>(());
            };
            if !binary {
                write_value(data, out, &mut BinaryAs::NodeBuffer);
            } else if attachments.is_empty() {
                write_json(data, out, attachments);
            } else {
                let mut own = Vec::with_capacity(count);
                write_json(data, out, &mut own);
                attachments.append(&mut own);
            }
            Ok(())
        });
        match framed {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }

    /// The Socket.IO text of this packet and its attachments (see [`Packet::encode`]).
    pub fn to_text(&self) -> (String, Vec<Bytes>) {
        let mut out = String::new();
        let mut attachments = Vec::new();
        self.encode(&mut out, &mut attachments);
        (out, attachments)
    }
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Pending {
    packet: Incoming,
    /// What its text names of the attachments.
    placeholders: Placeholders,
    expected: usize,
    attachments: Vec<Bytes>,
    /// Bytes of `attachments`.
    binary_bytes: usize,
}

/// Decodes incoming Socket.IO packets, reassembling binary packets from the text
/// packet and the binary messages that follow it.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use ferrio::socketio::{Decoder, DecodeLimits, PacketKind};
/// let mut decoder = Decoder::new(DecodeLimits::default());
/// let text = r#"51-["message",{"_placeholder":true,"num":0}]"#;
/// assert!(decoder.decode_text(text)?.is_none());
/// let packet = decoder.decode_binary(Bytes::from_static(&[1, 2, 3]))?.unwrap();
/// assert_eq!(packet.kind, PacketKind::BinaryEvent);
/// # Ok::<(), ferrio::socketio::DecodeError>(())
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    limits: DecodeLimits,
    pending: Option<Pending>,
}

impl Decoder {
    /// A decoder that enforces `limits`.
    pub fn new(limits: DecodeLimits) -> Decoder {
        Decoder {
            limits,
            pending: None,
        }
    }

    /// Decodes the Socket.IO text of one Engine.IO message (without its `4` prefix).
    ///
    /// Returns `Ok(None)` for a binary packet whose attachments are still to come (feed
    /// them to [`Decoder::decode_binary`]).
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedText`] while attachments are expected; otherwise any
    /// validation error of the packet (see [`DecodeError`]). The decoder is reset.
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Incoming>, DecodeError> {
        self.decode_text_counted(text, None)
    }

    /// As [`Decoder::decode_text`], given `values`, the count of [`json_values`] over the
    /// whole `text` that the caller made for its own accounting: the payload is not
    /// counted again when that count is within the limit.
    pub(crate) fn decode_text_counted(
        &mut self,
        text: &str,
        values: Option<usize>,
    ) -> Result<Option<Incoming>, DecodeError> {
        if self.pending.take().is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let (mut packet, placeholders, expected) = parse(text, &self.limits, values)?;
        if expected == 0 {
            packet.attach(&placeholders, Vec::new())?;
            return Ok(Some(packet));
        }
        self.pending = Some(Pending {
            packet,
            placeholders,
            expected,
            // Space for the attachments comes as they do: the count is the peer's word,
            // and the limit on it may be raised to anything.
            attachments: Vec::new(),
            binary_bytes: 0,
        });
        Ok(None)
    }

    /// Takes one binary message as the next attachment of the waiting packet.
    ///
    /// Returns the packet, its attachments beside the placeholders that name them, once
    /// the last attachment is in.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedBinary`] if no packet is waiting,
    /// [`DecodeError::AttachmentTooLarge`], or [`DecodeError::InvalidPlaceholder`]. The
    /// decoder is reset.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Incoming>, DecodeError> {
        let Some(mut pending) = self.pending.take() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        if data.len() > self.limits.max_attachment_bytes {
            return Err(DecodeError::AttachmentTooLarge {
                len: data.len(),
                max: self.limits.max_attachment_bytes,
            });
        }
        pending.binary_bytes = pending.binary_bytes.saturating_add(data.len());
        if pending.binary_bytes > self.limits.max_binary_bytes {
            return Err(DecodeError::BinaryTooLarge {
                len: pending.binary_bytes,
                max: self.limits.max_binary_bytes,
            });
        }
        pending.attachments.push(data);
        if pending.attachments.len() < pending.expected {
            self.pending = Some(pending);
            return Ok(None);
        }
        let mut packet = pending.packet;
        packet.attach(&pending.placeholders, pending.attachments)?;
        Ok(Some(packet))
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops any partly received binary packet (for instance when the transport closes).
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

/// Parses one packet text; returns the packet, what it names of its attachments and how
/// many it announces. `values`: [`json_values`] of the whole text, if counted.
fn parse(
    text: &str,
    limits: &DecodeLimits,
    values: Option<usize>,
) -> Result<(Incoming, Placeholders, usize), DecodeError> {
    if text.len() > limits.max_packet_bytes {
        return Err(DecodeError::PacketTooLarge {
            len: text.len(),
            max: limits.max_packet_bytes,
        });
    }
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::Empty);
    };
    let Some(kind) = PacketKind::from_digit(first) else {
        return Err(DecodeError::UnknownType(
            text.chars().next().unwrap_or('\u{fffd}'),
        ));
    };
    // Every index below sits just after an ASCII byte, hence on a char boundary.
    let mut i = 1;

    let mut expected = 0;
    if kind.is_binary() {
        let dash = bytes[i..]
            .iter()
            .position(|&b| b == b'-')
            .ok_or(DecodeError::IllegalAttachments)?;
        let digits = &bytes[i..i + dash];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::IllegalAttachments);
        }
        expected = digits.iter().fold(0usize, |n, &d| {
            n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
        });
        if expected > limits.max_attachments {
            return Err(DecodeError::TooManyAttachments {
                count: expected,
                max: limits.max_attachments,
            });
        }
        i += dash + 1;
    }

    let mut nsp = "/";
    if bytes.get(i) == Some(&b'/') {
        let end = bytes[i..]
            .iter()
            .position(|&b| b == b',')
            .map_or(bytes.len(), |p| i + p);
        nsp = text.get(i..end).ok_or(DecodeError::InvalidPayload {
            kind,
            reason: "namespace is not valid text",
        })?;
        i = if end < bytes.len() { end + 1 } else { end };
    }

    let mut id = None;
    let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        let mut n: u64 = 0;
        for &d in &bytes[i..i + digits] {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(DecodeError::IdOverflow)?;
        }
        id = Some(n);
        i += digits;
    }

    let rest = text.get(i..).unwrap_or("");
    // Without a quote in the header, the payload's count is at most the whole text's.
    let within = values.is_some_and(|values| values <= limits.max_json_values)
        && !bytes[..i].contains(&b'"');
    if !within && json_values(rest, limits.max_json_values) > limits.max_json_values {
        return Err(DecodeError::TooManyValues {
            max: limits.max_json_values,
        });
    }
    let (body, placeholders) = match kind {
        PacketKind::Event | PacketKind::BinaryEvent if rest.is_empty() => {
            return Err(DecodeError::InvalidPayload {
                kind,
                reason: "event has no payload",
            })
        }
        PacketKind::Event | PacketKind::BinaryEvent => {
            let (name, args, placeholders) = split_event(rest, kind)?;
            (Body::Event { name, args }, placeholders)
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let (args, placeholders) = check_ack((!rest.is_empty()).then_some(rest), kind)?;
            (Body::Ack(args), placeholders)
        }
        PacketKind::Connect | PacketKind::ConnectError | PacketKind::Disconnect => {
            let data = if rest.is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str::<Value>(rest)
                        .map_err(|e| DecodeError::InvalidJson(Arc::new(e)))?,
                )
            };
            check_control(kind, data.as_ref())?;
            (Body::Data(data), Placeholders::default())
        }
    };

    Ok((
        Incoming {
            kind,
            nsp: nsp.to_owned(),
            id,
            body,
        },
        placeholders,
        expected,
    ))
}

/// How many JSON values `json` holds at most, counting no further than `stop_past + 1`:
/// one, plus one per `[`, `,` and `:` outside strings (every value but the first follows
/// one of them). Exact for valid JSON without empty arrays; never less.
pub(crate) fn json_values(json: &str, stop_past: usize) -> usize {
    let mut count = usize::from(!json.is_empty());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json.as_bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b',' | b':' => {
                count += 1;
                if count > stop_past {
                    return count;
                }
            }
            _ => {}
        }
    }
    count
}

/// The payload rules of the reference parser (`isPayloadValid`) for CONNECT,
/// CONNECT_ERROR and DISCONNECT; events and acks are checked in wire form.
fn check_control(kind: PacketKind, data: Option<&Value>) -> Result<(), DecodeError> {
    let invalid = |reason| Err(DecodeError::InvalidPayload { kind, reason });
    match (kind, data) {
        (PacketKind::Connect, None | Some(Value::Object(_))) => Ok(()),
        (PacketKind::Connect, Some(_)) => invalid("CONNECT payload must be an object"),
        (PacketKind::Disconnect, None) => Ok(()),
        (PacketKind::Disconnect, Some(_)) => invalid("DISCONNECT takes no payload"),
        (PacketKind::ConnectError, None | Some(Value::Object(_) | Value::String(_))) => Ok(()),
        (PacketKind::ConnectError, Some(_)) => {
            invalid("CONNECT_ERROR payload must be an object or a string")
        }
        (
            PacketKind::Event | PacketKind::BinaryEvent | PacketKind::Ack | PacketKind::BinaryAck,
            _,
        ) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::strategies::{arb_json, arb_value};
    use crate::value::Map;

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn bin(b: &'static [u8]) -> Value {
        Value::Binary(Bytes::from_static(b))
    }

    fn decoder() -> Decoder {
        Decoder::new(DecodeLimits::default())
    }

    /// Decodes `text` then `attachments`, expecting a packet at the last step.
    fn decode_all(text: &str, attachments: &[Bytes]) -> Result<Packet, DecodeError> {
        decode_incoming(text, attachments).map(Incoming::into_packet)
    }

    /// [`decode_all`] in the decoder's own form.
    fn decode_incoming(text: &str, attachments: &[Bytes]) -> Result<Incoming, DecodeError> {
        let mut d = decoder();
        let mut out = d.decode_text(text)?;
        for a in attachments {
            assert!(out.is_none(), "packet complete before its attachments");
            out = d.decode_binary(a.clone())?;
        }
        assert!(!d.is_waiting());
        Ok(out.expect("packet not complete after its attachments"))
    }

    fn decode_err(text: &str) -> DecodeError {
        match decoder().decode_text(text) {
            Err(e) => e,
            Ok(p) => panic!("{text:?} decoded as {p:?}"),
        }
    }

    /// Encodes `packet` as it goes on the wire (with the Engine.IO `4`), checks the text
    /// and attachments, and checks that the wire text decodes back to `decoded`.
    fn check_wire(packet: &Packet, wire: &str, attachments: &[&'static [u8]], decoded: &Packet) {
        let mut out = String::from("4");
        let mut got = Vec::new();
        packet.encode(&mut out, &mut got);
        assert_eq!(out, wire);
        let expected: Vec<Bytes> = attachments.iter().map(|b| Bytes::from_static(b)).collect();
        assert_eq!(got, expected);
        assert_eq!(&decode_all(&wire[1..], &expected).unwrap(), decoded);
    }

    fn same(packet: &Packet, wire: &str) {
        check_wire(packet, wire, &[], packet);
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map>(),
        )
    }

    fn as_binary(mut p: Packet) -> Packet {
        p.kind = match p.kind {
            PacketKind::Event => PacketKind::BinaryEvent,
            PacketKind::Ack => PacketKind::BinaryAck,
            k => k,
        };
        p
    }

    // --- encoding: protocol.md 2.3, byte for byte -------------------------------------

    #[test]
    fn encodes_connect_packets() {
        same(&Packet::connect("/", None), "40");
        same(
            &Packet::connect("/", Some(json(r#"{"token":"123"}"#))),
            r#"40{"token":"123"}"#,
        );
        same(&Packet::connect("/admin", None), "40/admin,");
        same(
            &Packet::connect("/admin", Some(json(r#"{"token":"abc"}"#))),
            r#"40/admin,{"token":"abc"}"#,
        );
        same(
            &Packet::connect("/", Some(json(r#"{"sid":"yTbFz2QprBh2UN0GAAAE"}"#))),
            r#"40{"sid":"yTbFz2QprBh2UN0GAAAE"}"#,
        );
        same(
            &Packet::connect("/custom", Some(json(r#"{"sid":"2G9gSIAkjnjLmMIdAAAF"}"#))),
            r#"40/custom,{"sid":"2G9gSIAkjnjLmMIdAAAF"}"#,
        );
        same(
            &Packet::connect(
                "/",
                Some(json(
                    r#"{"sid":"d4_vDBmZgtn9YMFsAAAA","pid":"jlqCRh_5RTtgngLaAAAB"}"#,
                )),
            ),
            r#"40{"pid":"jlqCRh_5RTtgngLaAAAB","sid":"d4_vDBmZgtn9YMFsAAAA"}"#,
        );
        same(
            &Packet::connect(
                "/",
                Some(json(r#"{"pid":"jlqCRh_5RTtgngLaAAAB","offset":"Q8O5fRz"}"#)),
            ),
            r#"40{"offset":"Q8O5fRz","pid":"jlqCRh_5RTtgngLaAAAB"}"#,
        );
    }

    #[test]
    fn decodes_server_connect_with_keys_in_server_order() {
        let p = decode_all(
            r#"0{"sid":"d4_vDBmZgtn9YMFsAAAA","pid":"jlqCRh_5RTtgngLaAAAB"}"#,
            &[],
        )
        .unwrap();
        assert_eq!(p.kind, PacketKind::Connect);
        assert_eq!(
            p.data.unwrap().get("pid").and_then(Value::as_str),
            Some("jlqCRh_5RTtgngLaAAAB")
        );
    }

    #[test]
    fn encodes_connect_error_packets() {
        same(
            &Packet::connect_error("/nope", "Invalid namespace", None),
            r#"44/nope,{"message":"Invalid namespace"}"#,
        );
        same(
            &Packet::connect_error("/mw", "not authorized", Some(json(r#"{"reason":"x"}"#))),
            r#"44/mw,{"data":{"reason":"x"},"message":"not authorized"}"#,
        );
        same(
            &Packet::connect_error("/", "Auth failed (main namespace)", None),
            r#"44{"message":"Auth failed (main namespace)"}"#,
        );
    }

    #[test]
    fn decodes_connect_error_in_server_key_order() {
        let p = decode_all(
            r#"4/mw,{"message":"not authorized","data":{"reason":"x"}}"#,
            &[],
        )
        .unwrap();
        assert_eq!(p.kind, PacketKind::ConnectError);
        assert_eq!(p.nsp, "/mw");
        let data = p.data.unwrap();
        assert_eq!(
            data.get("message").and_then(Value::as_str),
            Some("not authorized")
        );
        assert_eq!(data.get("data"), Some(&json(r#"{"reason":"x"}"#)));
    }

    #[test]
    fn decodes_legacy_string_connect_error() {
        let p = decode_all(r#"4"Invalid namespace""#, &[]).unwrap();
        assert_eq!(p.data, Some(Value::from("Invalid namespace")));
    }

    /// Socket.IO protocol v4 (socket.io 2.x servers), as socket.io-parser 3.4 writes it.
    #[test]
    fn decodes_and_encodes_the_protocol_v4_forms() {
        // The server's own connection of `/`, and a namespace's reply: no payload.
        let root = decode_all("0", &[]).unwrap();
        assert_eq!(
            (root.kind, root.nsp.as_str(), root.data),
            (PacketKind::Connect, "/", None)
        );
        let custom = decode_all("0/custom", &[]).unwrap();
        assert_eq!((custom.nsp.as_str(), custom.data), ("/custom", None));
        assert_eq!(decode_all("0/custom,", &[]).unwrap().nsp, "/custom");
        // The client's CONNECT of a namespace carries the query in the namespace.
        let (text, _) = Packet::connect("/custom?token=a%20b", None).to_text();
        assert_eq!(text, "0/custom?token=a%20b,");
        // An ERROR: a middleware's message, or its `err.data` object.
        let error = decode_all(r#"4/admin,"not authorized""#, &[]).unwrap();
        assert_eq!(error.kind, PacketKind::ConnectError);
        assert_eq!(error.nsp, "/admin");
        assert_eq!(error.data, Some(Value::from("not authorized")));
        let error = decode_all(r#"4/admin,{"code":42}"#, &[]).unwrap();
        assert!(matches!(error.data, Some(Value::Object(_))));
        // Binary events and acks: placeholders, as in v5.
        let event = decode_all(
            r#"51-/custom,7["up",{"_placeholder":true,"num":0}]"#,
            &[Bytes::from_static(&[1, 2])],
        )
        .unwrap();
        assert_eq!((event.kind, event.id), (PacketKind::BinaryEvent, Some(7)));
        assert_eq!(
            event.into_args(),
            [Value::Binary(Bytes::from_static(&[1, 2]))]
        );
    }

    #[test]
    fn encodes_disconnect_packets() {
        same(&Packet::disconnect("/"), "41");
        same(&Packet::disconnect("/admin"), "41/admin,");
    }

    #[test]
    fn encodes_event_and_ack_packets() {
        let ev =
            |nsp, items: &str, id| Packet::event(nsp, json(items).as_array().unwrap().clone(), id);
        let ack =
            |nsp, id, items: &str| Packet::ack(nsp, id, json(items).as_array().unwrap().clone());
        same(&ev("/", r#"["message","a"]"#, None), r#"42["message","a"]"#);
        same(
            &ev("/", r#"["message-with-ack",1,{"x":true}]"#, Some(0)),
            r#"420["message-with-ack",1,{"x":true}]"#,
        );
        same(&ack("/", 0, r#"[1,{"x":true}]"#), r#"430[1,{"x":true}]"#);
        same(
            &ev("/", r#"["auth",{"token":"abc"}]"#, None),
            r#"42["auth",{"token":"abc"}]"#,
        );
        same(
            &ev("/custom", r#"["auth",{}]"#, None),
            r#"42/custom,["auth",{}]"#,
        );
        same(
            &ev("/admin", r#"["tellme"]"#, Some(1)),
            r#"42/admin,1["tellme"]"#,
        );
        same(&ack("/admin", 13, r#"["bar"]"#), r#"43/admin,13["bar"]"#);
        same(
            &ev("/", r#"["question",42]"#, Some(0)),
            r#"420["question",42]"#,
        );
        same(
            &ev("/", r#"["question",42]"#, Some(1)),
            r#"421["question",42]"#,
        );
        same(&ack("/", 1, "[99]"), "431[99]");
        same(&ack("/admin", 456, "[]"), "43/admin,456[]");
        same(
            &ev(
                "/",
                r#"["message-with-ack",1,"2",{"3":[false]}]"#,
                Some(456),
            ),
            r#"42456["message-with-ack",1,"2",{"3":[false]}]"#,
        );
        same(
            &ack("/", 456, r#"[1,"2",{"3":[false]}]"#),
            r#"43456[1,"2",{"3":[false]}]"#,
        );
    }

    #[test]
    fn encodes_binary_event_with_one_attachment() {
        let p = Packet::event("/", vec!["message".into(), bin(&[1, 2, 3])], None);
        check_wire(
            &p,
            r#"451-["message",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn encodes_binary_event_with_ack_id() {
        let p = Packet::event("/", vec!["hello".into(), "x".into(), bin(&[9, 8])], Some(0));
        check_wire(
            &p,
            r#"451-0["hello","x",{"_placeholder":true,"num":0}]"#,
            &[&[9, 8]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn encodes_binary_event_with_two_attachments_and_ack_id() {
        let p = Packet::event(
            "/",
            vec!["message-with-ack".into(), bin(&[1, 2, 3]), bin(&[4, 5, 6])],
            Some(789),
        );
        check_wire(
            &p,
            r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            &[&[1, 2, 3], &[4, 5, 6]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn encodes_binary_ack() {
        let p = Packet::ack("/", 789, vec![bin(&[1, 2, 3]), bin(&[4, 5, 6])]);
        check_wire(
            &p,
            r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            &[&[1, 2, 3], &[4, 5, 6]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn encodes_binary_event_with_nested_buffer() {
        let p = Packet::event(
            "/",
            vec![
                "bin-back".into(),
                bin(&[1, 2, 3]),
                obj(&[("nested", bin(&[4, 5]))]),
            ],
            None,
        );
        check_wire(
            &p,
            r#"452-["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#,
            &[&[1, 2, 3], &[4, 5]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn encodes_binary_ack_on_namespace() {
        let p = Packet::ack("/admin", 1, vec![bin(&[7])]);
        check_wire(
            &p,
            r#"461-/admin,1[{"_placeholder":true,"num":0}]"#,
            &[&[7]],
            &as_binary(p.clone()),
        );
    }

    #[test]
    fn numbers_placeholders_from_zero_even_after_earlier_attachments() {
        let p = Packet::event("/", vec!["x".into(), bin(&[1])], None);
        let mut out = String::new();
        let mut attachments = vec![Bytes::from_static(b"earlier")];
        p.encode(&mut out, &mut attachments);
        assert_eq!(out, r#"51-["x",{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments.len(), 2);
    }

    #[test]
    fn writes_binary_in_connect_as_a_node_buffer() {
        let p = Packet::connect("/", Some(obj(&[("key", bin(&[1, 2]))])));
        let (text, attachments) = p.to_text();
        assert_eq!(text, r#"0{"key":{"type":"Buffer","data":[1,2]}}"#);
        assert!(attachments.is_empty());
    }

    #[test]
    fn binary_kind_without_binary_is_written_with_zero_count() {
        let mut p = Packet::event("/", vec!["x".into()], None);
        p.kind = PacketKind::BinaryEvent;
        assert_eq!(p.to_text().0, r#"50-["x"]"#);
        assert_eq!(decode_all(r#"50-["x"]"#, &[]).unwrap(), p);
    }

    // --- decoding -------------------------------------------------------------------

    #[test]
    fn decodes_binary_event_with_nested_placeholders() {
        let p = decode_all(
            r#"52-["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#,
            &[Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4, 5])],
        )
        .unwrap();
        assert_eq!(p.kind, PacketKind::BinaryEvent);
        assert_eq!(p.event_name().as_deref(), Some("bin-back"));
        assert_eq!(
            p.into_args(),
            vec![bin(&[1, 2, 3]), obj(&[("nested", bin(&[4, 5]))])]
        );
    }

    #[test]
    fn decodes_namespace_without_trailing_comma() {
        let p = decode_all("0/custom", &[]).unwrap();
        assert_eq!(
            (p.kind, p.nsp.as_str(), p.data),
            (PacketKind::Connect, "/custom", None)
        );
        let p = decode_all("1/custom", &[]).unwrap();
        assert_eq!(
            (p.kind, p.nsp.as_str()),
            (PacketKind::Disconnect, "/custom")
        );
    }

    #[test]
    fn decodes_number_event_name() {
        let p = decode_all(r#"2[1,"a"]"#, &[]).unwrap();
        assert_eq!(p.event_name().as_deref(), Some("1"));
        assert_eq!(p.into_args(), vec![Value::from("a")]);
    }

    #[test]
    fn decodes_multibyte_namespace_and_payload() {
        let p = decode_all(r#"2/ñé😀,7["é",{"😀":"ü"}]"#, &[]).unwrap();
        assert_eq!(p.nsp, "/ñé😀");
        assert_eq!(p.id, Some(7));
    }

    #[test]
    fn decodes_largest_ack_id_and_rejects_overflow() {
        let p = decode_all("318446744073709551615[]", &[]).unwrap();
        assert_eq!(p.id, Some(u64::MAX));
        assert!(matches!(
            decode_err("318446744073709551616[]"),
            DecodeError::IdOverflow
        ));
    }

    #[test]
    fn decodes_ack_without_payload() {
        let p = decode_all("35", &[]).unwrap();
        assert_eq!(
            (p.kind, p.id, p.data),
            (PacketKind::Ack, Some(5), Some(Value::Array(Vec::new())))
        );
    }

    #[test]
    fn rejects_empty_packet() {
        assert!(matches!(decode_err(""), DecodeError::Empty));
    }

    #[test]
    fn rejects_unknown_packet_type() {
        for (text, c) in [("7", '7'), ("abc", 'a'), ("é", 'é'), ("-1", '-')] {
            match decode_err(text) {
                DecodeError::UnknownType(got) => assert_eq!(got, c),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_illegal_attachments_header() {
        for text in [
            "5",
            r#"5["a"]"#,
            r#"5-["a"]"#,
            r#"5a-["a"]"#,
            r#"51["a"]"#,
            r#"5/admin,1-["a"]"#,
            "6 1-[]",
            "6+1-[]",
            "5é-[]",
        ] {
            assert!(
                matches!(decode_err(text), DecodeError::IllegalAttachments),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_too_many_attachments() {
        // protocol.md 2.2: eleven attachments close the connection.
        match decode_err(r#"511-["a"]"#) {
            DecodeError::TooManyAttachments { count: 11, max: 10 } => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode_err(r#"599999999999999999999999999-["a"]"#),
            DecodeError::TooManyAttachments { .. }
        ));
        assert!(decoder().decode_text(r#"510-["a"]"#).unwrap().is_none());
    }

    /// Fuzzing (fuzz/, socketio_decoder): with the attachment limit raised to the maximum,
    /// an announced count reserved its space up front (8.5 GB for `6266666666-`, a
    /// capacity overflow panic for a count past `usize::MAX`). Space now comes with the
    /// attachments themselves.
    #[test]
    fn a_raised_attachment_limit_reserves_nothing_for_announced_attachments() {
        let limits = DecodeLimits {
            max_attachments: usize::MAX,
            ..DecodeLimits::default()
        };
        for text in [
            "6266666666-[]",
            r#"599999999999999999999999999-["a",{"_placeholder":true,"num":0}]"#,
        ] {
            let mut d = Decoder::new(limits);
            assert!(d.decode_text(text).unwrap().is_none(), "{text}");
            assert!(d.is_waiting());
            assert!(d.decode_binary(Bytes::from_static(&[1])).unwrap().is_none());
            assert!(matches!(
                d.decode_text("2[\"a\"]"),
                Err(DecodeError::UnexpectedText)
            ));
        }
    }

    /// Fuzzing (fuzz/, socketio_decoder): serde_json's default float parser may land one
    /// step away from the nearest double, so a number the server wrote in its shortest
    /// form (JavaScript's `JSON.stringify`) arrived as another number.
    #[test]
    fn numbers_decode_to_the_nearest_double() {
        for text in [
            "4.464444e+50",
            "4.4644440000000004e+50",
            "0.1",
            "1e-320",
            "-2.5e-7",
        ] {
            let packet = decode_all(&format!("3[{text}]"), &[]).unwrap();
            let expected: f64 = text.parse().unwrap();
            assert_eq!(
                packet.into_args()[0].as_f64().map(f64::to_bits),
                Some(expected.to_bits()),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_invalid_json() {
        for text in [
            "2abc",
            "2[",
            r#"2/admin,["a""#,
            "2abc[\"a\"]",
            "0{1}",
            "2[\"a\"] x",
        ] {
            assert!(
                matches!(decode_err(text), DecodeError::InvalidJson(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_payload_of_the_wrong_shape() {
        for text in [
            "0[]",
            r#"0"x""#,
            "0true",
            "1{}",
            "1/admin,[]",
            "4[]",
            "4true",
            "4null",
            "2{}",
            r#"2"message""#,
            "2[]",
            "2[{}]",
            "2[null]",
            "2[[\"a\"]]",
            "2",
            "2/admin,",
            "21",
            "3{}",
            r#"3"a""#,
            r#"51-{"_placeholder":true,"num":0}"#,
            r#"61-{"_placeholder":true,"num":0}"#,
        ] {
            assert!(
                matches!(decode_err(text), DecodeError::InvalidPayload { .. }),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_event_with_reserved_name() {
        for name in RESERVED_EVENTS {
            match decode_err(&format!(r#"2["{name}",1]"#)) {
                DecodeError::ReservedEventName(n) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            decode_err(r#"2/admin,["disconnect"]"#),
            DecodeError::ReservedEventName(_)
        ));
    }

    #[test]
    fn rejects_binary_event_name() {
        // The rust-socketio CI case of protocol.md 2.2: a buffer as the event name.
        assert!(matches!(
            decode_err(r#"51-[{"_placeholder":true,"num":0}]"#),
            DecodeError::InvalidPayload { .. }
        ));
    }

    #[test]
    fn rejects_text_while_waiting_for_attachments() {
        let mut d = decoder();
        assert!(d
            .decode_text(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
            .unwrap()
            .is_none());
        assert!(d.decode_binary(Bytes::from_static(&[1])).unwrap().is_none());
        assert!(d.is_waiting());
        assert!(matches!(
            d.decode_text(r#"2["b"]"#),
            Err(DecodeError::UnexpectedText)
        ));
        assert!(!d.is_waiting());
        assert!(d.decode_text(r#"2["b"]"#).unwrap().is_some());
    }

    #[test]
    fn rejects_binary_when_not_waiting() {
        let mut d = decoder();
        assert!(matches!(
            d.decode_binary(Bytes::from_static(&[1])),
            Err(DecodeError::UnexpectedBinary)
        ));
        assert!(d.decode_text(r#"2["a"]"#).unwrap().is_some());
        assert!(matches!(
            d.decode_binary(Bytes::from_static(&[1])),
            Err(DecodeError::UnexpectedBinary)
        ));
    }

    #[test]
    fn rejects_placeholder_out_of_range() {
        assert!(matches!(
            decode_all(r#"51-["a",{"_placeholder":true,"num":1}]"#, &[Bytes::new()]),
            Err(DecodeError::InvalidPlaceholder(_))
        ));
        assert!(matches!(
            decode_err(r#"50-["a",{"_placeholder":true,"num":0}]"#),
            DecodeError::InvalidPlaceholder(_)
        ));
    }

    #[test]
    fn json_values_counts_every_value_outside_strings() {
        for (json, values) in [
            ("", 0),
            ("1", 1),
            (r#"["a",1,true,null]"#, 5),
            (r#"{"a":[1,2],"b":{}}"#, 6),
            (r#"["x,[:]\"y",{"k:":"v,"}]"#, 4),
            (r#"["\\",2]"#, 3),
        ] {
            assert_eq!(json_values(json, usize::MAX), values, "{json}");
        }
        assert_eq!(json_values("[0,0,0,0,0,0]", 3), 4, "stops past the limit");
    }

    #[test]
    fn a_wide_array_over_the_value_limit_is_refused_before_it_is_decoded() {
        let mut wide = String::from("2[\"wide\"");
        // 8 million zeros, just under 16 MiB: 320 MB once decoded.
        for _ in 0..(8 << 20) - 8 {
            wide.push_str(",0");
        }
        wide.push(']');
        assert!(wide.len() < 16 << 20);
        let mut d = Decoder::new(DecodeLimits::default());
        assert!(matches!(
            d.decode_text(&wide),
            Err(DecodeError::TooManyValues { max: 262_144 })
        ));
        let at_limit = format!("2[\"wide\"{}]", ",0".repeat(262_142));
        assert!(d.decode_text(&at_limit).unwrap().is_some());
    }

    #[test]
    fn a_whole_text_count_within_the_limit_spares_the_payload_count_unless_the_header_has_a_quote()
    {
        let limits = DecodeLimits {
            max_json_values: 4,
            ..DecodeLimits::default()
        };
        let mut d = Decoder::new(limits);
        let text = r#"2["a",1,2]"#;
        let whole = json_values(text, usize::MAX);
        assert!(d.decode_text_counted(text, Some(whole)).unwrap().is_some());
        assert!(matches!(
            d.decode_text_counted(r#"2["a",1,2,3]"#, Some(5)),
            Err(DecodeError::TooManyValues { max: 4 })
        ));
        // A quote in the namespace could hide the payload's separators from the count of
        // the whole text: the payload is counted again.
        assert!(matches!(
            d.decode_text_counted(r#"2/a",["a",1,2,3]"#, Some(1)),
            Err(DecodeError::TooManyValues { max: 4 })
        ));
    }

    #[test]
    fn attachments_over_the_binary_bound_in_all_are_refused() {
        let limits = DecodeLimits {
            max_attachment_bytes: 10,
            max_binary_bytes: 15,
            ..DecodeLimits::default()
        };
        let mut d = Decoder::new(limits);
        let text = r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert!(d.decode_text(text).unwrap().is_none());
        assert!(d
            .decode_binary(Bytes::from_static(&[0; 8]))
            .unwrap()
            .is_none());
        assert!(matches!(
            d.decode_binary(Bytes::from_static(&[0; 8])),
            Err(DecodeError::BinaryTooLarge { len: 16, max: 15 })
        ));
        assert!(!d.is_waiting(), "the packet is dropped");
    }

    #[test]
    fn rejects_oversize_packet_and_attachment() {
        let limits = DecodeLimits {
            max_attachments: 10,
            max_attachment_bytes: 4,
            max_packet_bytes: 12,
            ..DecodeLimits::default()
        };
        let mut d = Decoder::new(limits);
        assert!(matches!(
            d.decode_text(r#"2["abcdefghij"]"#),
            Err(DecodeError::PacketTooLarge { len: 15, max: 12 })
        ));
        assert!(d.decode_text(r#"51-["a",{}]"#).unwrap().is_none());
        assert!(matches!(
            d.decode_binary(Bytes::from_static(&[0; 5])),
            Err(DecodeError::AttachmentTooLarge { len: 5, max: 4 })
        ));
        assert!(!d.is_waiting());
    }

    #[test]
    fn reset_drops_a_partial_packet() {
        let mut d = decoder();
        assert!(d
            .decode_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
            .unwrap()
            .is_none());
        d.reset();
        assert!(!d.is_waiting());
        assert!(d.decode_text(r#"2["b"]"#).unwrap().is_some());
    }

    #[test]
    fn kind_digits_round_trip() {
        for d in b'0'..=b'6' {
            assert_eq!(PacketKind::from_digit(d).unwrap().digit(), d);
        }
        assert_eq!(PacketKind::from_digit(b'7'), None);
    }

    // --- properties -----------------------------------------------------------------

    fn arb_nsp() -> impl Strategy<Value = String> {
        prop_oneof![Just("/".to_owned()), "/[^,]{0,8}"]
    }

    fn arb_name() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".*".prop_filter("reserved", |s| !RESERVED_EVENTS.contains(&s.as_str()))
                .prop_map(Value::String),
            any::<u32>().prop_map(Value::from),
        ]
    }

    fn arb_json_object() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(".{0,8}", arb_json(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect()))
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let args = || prop::collection::vec(arb_value(), 0..4);
        prop_oneof![
            (arb_nsp(), prop::option::of(arb_json_object()))
                .prop_map(|(nsp, auth)| Packet::connect(nsp, auth)),
            arb_nsp().prop_map(Packet::disconnect),
            (
                arb_nsp(),
                arb_name(),
                args(),
                any::<Option<u64>>(),
                any::<bool>()
            )
                .prop_map(|(nsp, name, mut args, id, binary_kind)| {
                    args.insert(0, name);
                    let mut p = Packet::event(nsp, args, id);
                    if binary_kind {
                        p.kind = PacketKind::BinaryEvent;
                    }
                    p
                }),
            (arb_nsp(), any::<u64>(), args(), any::<bool>()).prop_map(
                |(nsp, id, args, binary_kind)| {
                    let mut p = Packet::ack(nsp, id, args);
                    if binary_kind {
                        p.kind = PacketKind::BinaryAck;
                    }
                    p
                }
            ),
            (
                arb_nsp(),
                any::<String>(),
                prop::option::of(arb_json().prop_map(Value::from))
            )
                .prop_map(|(nsp, msg, data)| Packet::connect_error(nsp, &msg, data)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn packets_round_trip_through_the_decoder(p in arb_packet()) {
            let (text, attachments) = p.to_text();
            let binary = p.data.as_ref().is_some_and(Value::contains_binary);
            prop_assert_eq!(attachments.len(), p.data.as_ref().map_or(0, attachment_count));
            let mut expected = if binary { as_binary(p.clone()) } else { p.clone() };
            if expected.nsp.is_empty() {
                expected.nsp = "/".into();
            }
            // A number name arrives as its decimal text.
            if let (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(items))) =
                (expected.kind, expected.data.as_mut())
            {
                if let Some(name @ Value::Number(_)) = items.first_mut() {
                    *name = Value::String(name.to_string());
                }
            }
            let mut d = decoder();
            let mut out = d.decode_text(&text).unwrap();
            for a in &attachments {
                prop_assert!(out.is_none());
                out = d.decode_binary(a.clone()).unwrap();
            }
            prop_assert!(!d.is_waiting());
            prop_assert_eq!(out.map(Incoming::into_packet), Some(expected));
        }

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>()) {
            let _ = decoder().decode_text(&s);
        }

        #[test]
        fn packet_like_text_never_panics(
            kind in "[0-7]",
            count in "[0-9]{0,3}-?",
            nsp in "(/[^,]{0,6},?)?",
            id in "[0-9]{0,22}",
            rest in ".{0,24}",
        ) {
            let text = format!("{kind}{count}{nsp}{id}{rest}");
            let _ = decoder().decode_text(&text);
        }

        #[test]
        fn arbitrary_text_and_binary_sequences_never_panic(
            steps in prop::collection::vec(
                prop_oneof![
                    "5[0-3]-\\[\"a\"(,\\{\"_placeholder\":true,\"num\":[0-3]\\}){0,3}\\]"
                        .prop_map(Ok),
                    ".{0,16}".prop_map(Ok),
                    prop::collection::vec(any::<u8>(), 0..8).prop_map(Err),
                ],
                0..8,
            ),
        ) {
            let mut d = decoder();
            for step in steps {
                let _ = match step {
                    Ok(text) => d.decode_text(&text),
                    Err(bytes) => d.decode_binary(Bytes::from(bytes)),
                };
            }
        }
    }
}
