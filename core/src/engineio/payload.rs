//! HTTP long-polling payloads: in Engine.IO v4 packets joined by the record separator
//! `\x1e`; in Engine.IO v3 (Socket.IO 2.x servers) each packet prefixed by its length:
//! `<length>:<packet>` in the text the server answers (binary as `b4<base64>`), and v3's
//! binary form in what the client posts.

use super::packet::{EngineDecodeError, EnginePacket};

/// The separator between the packets of a payload.
pub const SEPARATOR: char = '\u{1e}';

/// How the packets of a polling payload are framed: the payload codec of a protocol
/// version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Engine.IO v4: joined by [`SEPARATOR`], binary as `b<base64>`.
    Separated,
    /// Engine.IO v3: each packet prefixed by its length. Received as text,
    /// `<length>:<packet>`, the length in UTF-16 code units (a JavaScript string's length:
    /// a character outside the BMP counts 2), binary as `b4<base64>`; posted in v3's binary
    /// form (see [`encode_payload_v3`]).
    LengthPrefixed,
}

/// Decodes a polling payload (a GET response body) into its packets, in order.
///
/// This holds every packet at once; the client itself goes through [`Payload`], which
/// decodes one packet at a time and caps their number.
///
/// # Examples
/// ```
/// use ferrio::engineio::{payload::decode_payload, EnginePacket};
/// let packets = decode_payload("4hello\u{1e}bAQIDBA==").unwrap();
/// assert_eq!(packets[0], EnginePacket::Message("hello".into()));
/// assert!(packets[1].is_binary());
/// ```
/// # Errors
/// [`EngineDecodeError::EmptyPayload`] for an empty body; otherwise the error of the
/// first packet that does not decode (see [`EnginePacket::decode_text`]), including
/// [`EngineDecodeError::Empty`] for an empty segment.
pub fn decode_payload(body: &str) -> Result<Vec<EnginePacket>, EngineDecodeError> {
    Payload::new(body.to_owned(), usize::MAX)?.collect()
}

/// A polling payload decoded lazily: the body stays as it came, and each call to
/// [`Iterator::next`] decodes the next packet.
///
/// Memory stays that of the body plus the packet at hand, whatever the packets are: a
/// 16 MiB body of one-byte packets is never turned into millions of decoded packets at
/// once. The number of packets is checked when the payload is made (one scan for the
/// separator), so a payload over the cap is refused before any of its packets is used.
///
/// # Examples
/// ```
/// use ferrio::engineio::{payload::Payload, EnginePacket};
/// let mut payload = Payload::new("2\u{1e}4hi".to_owned(), 100).unwrap();
/// assert_eq!(payload.len(), 2);
/// assert_eq!(payload.next().unwrap().unwrap(), EnginePacket::Ping);
/// assert_eq!(payload.next().unwrap().unwrap(), EnginePacket::Message("hi".into()));
/// assert!(payload.next().is_none());
/// ```
#[derive(Debug)]
pub struct Payload {
    body: String,
    framing: Framing,
    /// The body's length as received.
    size: usize,
    /// Where the next packet starts; `None` once every packet was taken (or one failed).
    next: Option<usize>,
    /// Packets not taken yet.
    left: usize,
}

impl Payload {
    /// Takes a GET response body holding at most `max_packets` packets.
    ///
    /// # Errors
    /// [`EngineDecodeError::EmptyPayload`] for an empty body,
    /// [`EngineDecodeError::TooManyPackets`] when it holds more than `max_packets`.
    pub fn new(body: String, max_packets: usize) -> Result<Self, EngineDecodeError> {
        Self::framed(body, max_packets, Framing::Separated)
    }

    /// Takes a GET response body in `framing` holding at most `max_packets` packets.
    ///
    /// # Errors
    /// As [`Payload::new`]; for [`Framing::LengthPrefixed`] also
    /// [`EngineDecodeError::BadLength`] when a length prefix does not frame a packet.
    pub(crate) fn framed(
        body: String,
        max_packets: usize,
        framing: Framing,
    ) -> Result<Self, EngineDecodeError> {
        if body.is_empty() {
            return Err(EngineDecodeError::EmptyPayload);
        }
        let count = match framing {
            Framing::Separated => {
                let separator = SEPARATOR as u8;
                body.bytes().filter(|&b| b == separator).count() + 1
            }
            Framing::LengthPrefixed => {
                let mut count = 0;
                let mut start = 0;
                while start < body.len() {
                    start = length_prefixed(&body, start)?.1;
                    count += 1;
                    if count > max_packets {
                        break;
                    }
                }
                count
            }
        };
        if count > max_packets {
            return Err(EngineDecodeError::TooManyPackets {
                count,
                max: max_packets,
            });
        }
        Ok(Self {
            size: body.len(),
            body,
            framing,
            next: Some(0),
            left: count,
        })
    }

    /// Whether the payload is in Engine.IO v3's framing (Socket.IO 2.x servers):
    /// `<length>:<packet>`, e.g. `97:0{"sid":…}2:40`, where v4 starts with a packet type.
    pub fn is_engine_io_v3(&self) -> bool {
        let digits = self.body.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && self.body.as_bytes().get(digits) == Some(&b':')
    }

    /// The same body, untaken, decoded in `framing` instead (a v4 handshake answered in
    /// v3's framing); its packets were counted already, as bytes were.
    ///
    /// # Errors
    /// As [`Payload::framed`]; [`EngineDecodeError::EmptyPayload`] once a packet was taken.
    pub(crate) fn reframed(self, framing: Framing) -> Result<Self, EngineDecodeError> {
        if self.next != Some(0) {
            return Err(EngineDecodeError::EmptyPayload);
        }
        Self::framed(self.body, usize::MAX, framing)
    }

    /// How many packets are left to take.
    pub fn len(&self) -> usize {
        self.left
    }

    /// Whether every packet was taken.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// The length in bytes of the body as it was received, whatever was taken since.
    pub fn body_len(&self) -> usize {
        self.size
    }
}

impl Iterator for Payload {
    type Item = Result<EnginePacket, EngineDecodeError>;

    /// The next packet. After an error the payload ends: the packets after a bad one are
    /// never used.
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.next?;
        let rest = self.body.get(start..)?;
        let (decoded, next) = match self.framing {
            Framing::Separated => {
                let (text, next) = match rest.find(SEPARATOR) {
                    Some(end) => (&rest[..end], Some(start + end + SEPARATOR.len_utf8())),
                    None => (rest, None),
                };
                (EnginePacket::decode_text(text), next)
            }
            Framing::LengthPrefixed => match length_prefixed(&self.body, start) {
                Ok((from, end)) => (
                    EnginePacket::decode_text_v3(&self.body[from..end]),
                    Some(end).filter(|&end| end < self.body.len()),
                ),
                Err(error) => (Err(error), None),
            },
        };
        self.left -= 1;
        self.next = next.filter(|_| decoded.is_ok());
        if self.next.is_none() {
            self.left = 0;
            // Nothing more is read from the body: give its memory back at once.
            self.body = String::new();
        }
        Some(decoded)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// The packet of an Engine.IO v3 payload that starts at byte `start` of `body`
/// (`<length>:<packet>`): the byte range of the packet.
fn length_prefixed(body: &str, start: usize) -> Result<(usize, usize), EngineDecodeError> {
    let rest = body.get(start..).ok_or(EngineDecodeError::BadLength)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    // More digits than any body this size could need is not a length.
    if digits == 0 || digits > 12 || rest.as_bytes().get(digits) != Some(&b':') {
        return Err(EngineDecodeError::BadLength);
    }
    let units: usize = rest[..digits]
        .parse()
        .map_err(|_| EngineDecodeError::BadLength)?;
    let from = start + digits + 1;
    let mut counted = 0;
    let mut end = from;
    for c in body[from..].chars() {
        if counted >= units {
            break;
        }
        counted += c.len_utf16();
        end += c.len_utf8();
    }
    // Short of the length, or a character split by it.
    if counted != units || units == 0 {
        return Err(EngineDecodeError::BadLength);
    }
    Ok((from, end))
}

/// Appends an Engine.IO v3 polling payload (a POST body, sent as
/// `application/octet-stream`) of `packets` in v3's binary form: each packet as a kind
/// byte (0 text, 1 binary), its length in bytes as one byte per decimal digit, `0xFF`,
/// then the packet: a text packet's UTF-8 bytes, or the type byte 4 and the raw data.
///
/// Not v3's text form, because the servers count its lengths differently: the npm
/// server in UTF-16 code units, python-engineio 3 in code points, so a character outside
/// the BMP would break one or the other. Both count this form's lengths in bytes.
pub(crate) fn encode_payload_v3(packets: &[EnginePacket], out: &mut Vec<u8>) {
    let mut text = String::new();
    for packet in packets {
        if let EnginePacket::Binary(bytes) = packet {
            push_binary_header(out, 1, bytes.len() + 1);
            out.push(4);
            out.extend_from_slice(bytes);
        } else {
            text.clear();
            packet.encode_text(&mut text);
            push_binary_header(out, 0, text.len());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// The header of a packet in v3's binary payload form: `kind`, the digits of `len` as
/// bytes 0 to 9, and `0xFF`.
fn push_binary_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    out.extend(len.to_string().bytes().map(|digit| digit - b'0'));
    out.push(0xFF);
}

/// Appends a polling payload (a POST body) holding as many packets from the front of
/// `packets` as fit in `max_payload`, and returns how many it took.
///
/// The size is counted as the JavaScript client counts it (`_getWritablePackets`):
/// 1 for the first type byte, plus for each packet the byte length of its data
/// (`ceil(len * 1.33)` for binary), plus 2 (separator and type) per further packet; the
/// packet that takes the count over `max_payload` and all after it are left for the next
/// payload. At least one packet is always taken, even if it alone is too large (the
/// server then answers 413). `None` or `Some(0)` means no limit. Returns 0 only when
/// `packets` is empty.
pub fn encode_payload(
    packets: &[EnginePacket],
    max_payload: Option<u64>,
    out: &mut String,
) -> usize {
    let count = fitting_count(packets, max_payload);
    for (i, packet) in packets.iter().take(count).enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        packet.encode_text(out);
    }
    count
}

/// How many packets from the front of `packets` one POST body takes under `max_payload`,
/// as [`encode_payload`] counts them: at least one when there is any. `None` or `Some(0)`
/// means no limit.
pub(crate) fn fitting_count(packets: &[EnginePacket], max_payload: Option<u64>) -> usize {
    writable_count(packets, max_payload.filter(|&m| m > 0))
}

/// How many packets from the front fit in `max_payload` under the JS client's rule.
fn writable_count(packets: &[EnginePacket], max_payload: Option<u64>) -> usize {
    let Some(max) = max_payload else {
        return packets.len();
    };
    let mut size: u64 = 1;
    for (i, packet) in packets.iter().enumerate() {
        size = size.saturating_add(data_len(packet));
        if i > 0 && size > max {
            return i;
        }
        size = size.saturating_add(2);
    }
    packets.len()
}

/// The JS client's `byteLength(packet.data)`: UTF-8 length of text data,
/// `ceil(len * 1.33)` for binary, 0 for packets without data.
fn data_len(packet: &EnginePacket) -> u64 {
    let len = match packet {
        EnginePacket::Open(h) => {
            let mut json = String::new();
            h.write_json(&mut json);
            json.len()
        }
        EnginePacket::PingProbe | EnginePacket::PongProbe => "probe".len(),
        EnginePacket::Message(text) => text.len(),
        EnginePacket::Binary(bytes) => {
            // Same float arithmetic as `Math.ceil(byteLength * 1.33)`.
            return (bytes.len() as f64 * 1.33).ceil() as u64;
        }
        EnginePacket::Close
        | EnginePacket::Ping
        | EnginePacket::Pong
        | EnginePacket::Upgrade
        | EnginePacket::Noop => 0,
    };
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::engineio::packet::tests::arb_packet;

    #[test]
    fn an_engine_io_v3_payload_is_told_from_a_v4_one() {
        let v3 = r#"97:0{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}2:40"#;
        assert!(Payload::new(v3.into(), 10)
            .expect("payload")
            .is_engine_io_v3());
        let v4 = r#"0{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":1}"#;
        assert!(!Payload::new(v4.into(), 10)
            .expect("payload")
            .is_engine_io_v3());
        assert!(!Payload::new("4hello\u{1e}2".into(), 10)
            .expect("payload")
            .is_engine_io_v3());
        assert!(!Payload::new("42".into(), 10)
            .expect("payload")
            .is_engine_io_v3());
    }

    fn decode_v3(body: &str) -> Result<Vec<EnginePacket>, EngineDecodeError> {
        Payload::framed(body.into(), 100, Framing::LengthPrefixed)?.collect()
    }

    /// Reads v3's binary payload form as python-engineio 3 and engine.io-parser 2 do.
    fn decode_v3_posted(mut body: &[u8]) -> Vec<EnginePacket> {
        let mut packets = Vec::new();
        while let Some((&kind, rest)) = body.split_first() {
            let end = rest
                .iter()
                .position(|&b| b == 0xFF)
                .expect("0xFF ends the length");
            let len = rest[..end]
                .iter()
                .fold(0, |len, &digit| len * 10 + usize::from(digit));
            let packet = &rest[end + 1..end + 1 + len];
            packets.push(match kind {
                0 => EnginePacket::decode_text(std::str::from_utf8(packet).expect("UTF-8"))
                    .expect("a text packet"),
                _ => {
                    assert_eq!(packet[0], 4, "a binary message");
                    EnginePacket::Binary(Bytes::copy_from_slice(&packet[1..]))
                }
            });
            body = &rest[end + 1 + len..];
        }
        packets
    }

    #[test]
    fn an_engine_io_v3_payload_is_framed_by_lengths_in_utf16_code_units() {
        let handshake =
            r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}"#;
        let body = format!("{}:{handshake}2:40", handshake.len());
        let packets = decode_v3(&body).expect("payload");
        assert!(
            matches!(&packets[0], EnginePacket::Open(h) if h.sid == "s" && h.max_payload.is_none())
        );
        assert_eq!(packets[1], msg("0"));
        // `😀` is one char, four UTF-8 bytes, two UTF-16 code units (JS length 2); `é` is
        // two bytes, one unit.
        let packets = decode_v3("4:4😀é3:4ab1:6").expect("payload");
        assert_eq!(packets, [msg("😀é"), msg("ab"), EnginePacket::Noop]);
    }

    #[test]
    fn v3_lengths_count_a_character_outside_the_bmp_as_two() {
        assert_eq!(
            decode_v3("3:4😀1:2").expect("payload"),
            [msg("😀"), EnginePacket::Ping]
        );
        // A length that splits the surrogate pair, or runs past the body, is refused.
        assert!(matches!(
            decode_v3("2:4😀"),
            Err(EngineDecodeError::BadLength)
        ));
        assert!(matches!(
            decode_v3("9:4ab"),
            Err(EngineDecodeError::BadLength)
        ));
        for bad in ["4ab", ":4", "x:4", "0:", "2:4a3"] {
            assert!(decode_v3(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn v3_posts_count_lengths_in_bytes_with_binary_raw() {
        let binary = EnginePacket::Binary(Bytes::from_static(&[1, 2, 3, 4]));
        let mut body = Vec::new();
        encode_payload_v3(&[msg("😀é"), binary.clone(), EnginePacket::Ping], &mut body);
        let mut expected = vec![0, 7, 0xFF, b'4'];
        expected.extend_from_slice("😀é".as_bytes());
        expected.extend_from_slice(&[1, 5, 0xFF, 4, 1, 2, 3, 4, 0, 1, 0xFF, b'2']);
        assert_eq!(body, expected);
        assert_eq!(
            decode_v3_posted(&body),
            [msg("😀é"), binary, EnginePacket::Ping]
        );
        // A length of several digits: a byte per digit.
        let mut body = Vec::new();
        encode_payload_v3(&[msg(&"x".repeat(122))], &mut body);
        assert_eq!(body[..5], [0, 1, 2, 3, 0xFF]);
    }

    #[test]
    fn v3_binary_arrives_as_b4_base64() {
        let binary = EnginePacket::Binary(Bytes::from_static(&[1, 2, 3, 4]));
        assert_eq!(
            decode_v3("9:451-[\"x\"]10:b4AQIDBA==").expect("payload"),
            [msg("51-[\"x\"]"), binary]
        );
        assert!(matches!(
            decode_v3("4:bAQI"),
            Err(EngineDecodeError::UnknownType('b'))
        ));
    }

    #[test]
    fn a_v3_payload_over_the_packet_cap_is_refused_whole() {
        let error = Payload::framed("1:21:21:2".into(), 2, Framing::LengthPrefixed)
            .expect_err("three packets");
        assert!(
            matches!(error, EngineDecodeError::TooManyPackets { max: 2, .. }),
            "{error:?}"
        );
    }

    fn msg(s: &str) -> EnginePacket {
        EnginePacket::Message(s.into())
    }

    fn encode_all(packets: &[EnginePacket]) -> String {
        let mut out = String::new();
        assert_eq!(encode_payload(packets, None, &mut out), packets.len());
        out
    }

    /// The examples of protocol.md 1.4, in both directions.
    #[test]
    fn encodes_and_decodes_the_documented_payloads() {
        let cases: Vec<(&str, Vec<EnginePacket>)> = vec![
            ("4hello", vec![msg("hello")]),
            ("4test1\x1e4test2\x1e4test3", vec![msg("test1"), msg("test2"), msg("test3")]),
            (
                "4hello\x1ebAQIDBA==",
                vec![msg("hello"), EnginePacket::Binary(Bytes::from_static(&[1, 2, 3, 4]))],
            ),
            ("2", vec![EnginePacket::Ping]),
            ("3", vec![EnginePacket::Pong]),
            (
                "40{\"sid\":\"zVqJnpAp-jwH6AIzAAAA\"}\x1e42[\"auth\",{}]",
                vec![msg("0{\"sid\":\"zVqJnpAp-jwH6AIzAAAA\"}"), msg("2[\"auth\",{}]")],
            ),
            ("42[\"hello\"]\x1e42[\"world\"]", vec![msg("2[\"hello\"]"), msg("2[\"world\"]")]),
            (
                "451-[\"message-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
                vec![
                    msg("51-[\"message-back\",{\"_placeholder\":true,\"num\":0}]"),
                    EnginePacket::Binary(Bytes::from_static(&[1, 2, 3])),
                ],
            ),
            (
                "452-[\"bin-back\",{\"_placeholder\":true,\"num\":0},{\"nested\":{\"_placeholder\":true,\"num\":1}}]\x1ebAQID\x1ebBAU=",
                vec![
                    msg("52-[\"bin-back\",{\"_placeholder\":true,\"num\":0},{\"nested\":{\"_placeholder\":true,\"num\":1}}]"),
                    EnginePacket::Binary(Bytes::from_static(&[1, 2, 3])),
                    EnginePacket::Binary(Bytes::from_static(&[4, 5])),
                ],
            ),
            ("6", vec![EnginePacket::Noop]),
            ("1", vec![EnginePacket::Close]),
            ("41", vec![msg("1")]),
            ("6\x1e1", vec![EnginePacket::Noop, EnginePacket::Close]),
        ];
        for (body, packets) in cases {
            assert_eq!(decode_payload(body).unwrap(), packets, "{body:?}");
            assert_eq!(encode_all(&packets), body);
        }
    }

    #[test]
    fn decodes_handshake_followed_by_initial_message() {
        let body = "0{\"sid\":\"a\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,\"pingTimeout\":200}\x1e4x";
        let packets = decode_payload(body).unwrap();
        assert!(matches!(packets[0], EnginePacket::Open(_)));
        assert_eq!(packets[1], msg("x"));
    }

    #[test]
    fn rejects_empty_body() {
        assert!(matches!(
            decode_payload(""),
            Err(EngineDecodeError::EmptyPayload)
        ));
    }

    #[test]
    fn rejects_empty_segment() {
        for body in ["4a\x1e", "\x1e4a", "4a\x1e\x1e4b"] {
            assert!(
                matches!(decode_payload(body), Err(EngineDecodeError::Empty)),
                "{body:?}"
            );
        }
    }

    #[test]
    fn rejects_payload_with_a_bad_packet() {
        assert!(matches!(
            decode_payload("4a\x1e9"),
            Err(EngineDecodeError::UnknownType('9'))
        ));
        assert!(matches!(
            decode_payload("4a\x1eb%%"),
            Err(EngineDecodeError::BadBase64(_))
        ));
    }

    #[test]
    fn batches_packets_that_fit_under_the_js_counting_rule() {
        // 1 + 5 = 6, then + 2 + 5 = 13, then + 2 + 5 = 20.
        let packets = vec![msg("aaaaa"), msg("bbbbb"), msg("ccccc")];
        for (max, expected) in [(20, 3), (19, 2), (13, 2), (12, 1), (6, 1), (1, 1)] {
            let mut out = String::new();
            assert_eq!(
                encode_payload(&packets, Some(max), &mut out),
                expected,
                "max {max}"
            );
            assert_eq!(decode_payload(&out).unwrap(), packets[..expected].to_vec());
        }
    }

    #[test]
    fn counts_binary_as_133_percent_rounded_up() {
        // ceil(100 * 1.33) = 133: 1 + 0 + 2 + 133 = 136.
        let packets = vec![
            EnginePacket::Pong,
            EnginePacket::Binary(Bytes::from(vec![0u8; 100])),
        ];
        let mut out = String::new();
        assert_eq!(encode_payload(&packets, Some(136), &mut out), 2);
        out.clear();
        assert_eq!(encode_payload(&packets, Some(135), &mut out), 1);
        assert_eq!(out, "3");
    }

    #[test]
    fn counts_multibyte_text_in_utf8_bytes() {
        // "é" is 2 bytes: 1 + 2 = 3, then + 2 + 2 = 7.
        let packets = vec![msg("é"), msg("é")];
        let mut out = String::new();
        assert_eq!(encode_payload(&packets, Some(7), &mut out), 2);
        out.clear();
        assert_eq!(encode_payload(&packets, Some(6), &mut out), 1);
    }

    #[test]
    fn always_takes_the_first_packet_even_when_too_large() {
        let mut out = String::new();
        assert_eq!(encode_payload(&[msg("too long")], Some(2), &mut out), 1);
        assert_eq!(out, "4too long");
    }

    #[test]
    fn no_limit_or_zero_limit_takes_everything() {
        let packets = vec![msg("aaaaa"), msg("bbbbb")];
        let mut out = String::new();
        assert_eq!(encode_payload(&packets, Some(0), &mut out), 2);
        out.clear();
        assert_eq!(encode_payload(&packets, None, &mut out), 2);
    }

    #[test]
    fn appends_after_existing_text_and_takes_nothing_from_an_empty_list() {
        let mut out = String::from("x");
        assert_eq!(encode_payload(&[], Some(10), &mut out), 0);
        assert_eq!(out, "x");
    }

    /// A body of `len` bytes of pings: `2\x1e2\x1e...2`.
    fn pings(len: usize) -> String {
        let mut body = "2\u{1e}".repeat(len / 2);
        body.push('2');
        body
    }

    #[test]
    fn a_16_mib_body_of_one_byte_packets_is_refused_whole_by_default() {
        let body = pings(16 << 20);
        let max = crate::ManagerOptions::default().max_payload_packets;
        match Payload::new(body, max) {
            Err(EngineDecodeError::TooManyPackets { count, max: limit }) => {
                assert_eq!(count, (8 << 20) + 1);
                assert_eq!(limit, max);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_16_mib_body_of_one_byte_packets_is_taken_one_packet_at_a_time() {
        // With the cap raised, nothing but the body is held: each packet is decoded when
        // taken, and a packet is five words at most.
        let mut payload = Payload::new(pings(16 << 20), usize::MAX).expect("payload");
        assert_eq!(payload.len(), (8 << 20) + 1);
        let mut taken = 0usize;
        for packet in payload.by_ref() {
            assert_eq!(packet.expect("a ping"), EnginePacket::Ping);
            taken += 1;
        }
        assert_eq!(taken, (8 << 20) + 1);
        assert!(payload.is_empty());
        assert!(payload.next().is_none());
    }

    #[test]
    fn a_payload_of_exactly_the_cap_is_taken() {
        let payload = Payload::new("4a\x1e4b\x1e4c".into(), 3).expect("three packets");
        assert_eq!(payload.collect::<Result<Vec<_>, _>>().unwrap().len(), 3);
        assert!(matches!(
            Payload::new("4a\x1e4b\x1e4c".into(), 2),
            Err(EngineDecodeError::TooManyPackets { count: 3, max: 2 })
        ));
    }

    #[test]
    fn a_payload_ends_at_its_first_bad_packet() {
        let mut payload = Payload::new("4a\x1e9\x1e4b".into(), 10).expect("payload");
        assert_eq!(payload.next().unwrap().unwrap(), msg("a"));
        assert!(matches!(
            payload.next(),
            Some(Err(EngineDecodeError::UnknownType('9')))
        ));
        assert!(payload.next().is_none());
        assert!(payload.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn v3_posts_round_trip(packets in prop::collection::vec(arb_packet(), 1..8)) {
            let mut body = Vec::new();
            encode_payload_v3(&packets, &mut body);
            prop_assert_eq!(decode_v3_posted(&body), packets);
        }

        #[test]
        fn an_arbitrary_v3_body_never_panics(s in any::<String>()) {
            if let Ok(payload) = Payload::framed(s, 1000, Framing::LengthPrefixed) {
                payload.for_each(drop);
            }
        }

        #[test]
        fn a_v3_body_of_lengths_and_packets_never_panics(s in "([0-9]{1,3}:[0-6b]?[😀é a-z]{0,4}){1,4}") {
            if let Ok(payload) = Payload::framed(s, 1000, Framing::LengthPrefixed) {
                payload.for_each(drop);
            }
        }

        #[test]
        fn payloads_round_trip(packets in prop::collection::vec(arb_packet(), 1..6)) {
            let body = encode_all(&packets);
            prop_assert_eq!(decode_payload(&body).unwrap(), packets);
        }

        #[test]
        fn batching_takes_a_non_empty_prefix_that_decodes(
            packets in prop::collection::vec(arb_packet(), 1..6),
            max in 1u64..400,
        ) {
            let mut out = String::new();
            let n = encode_payload(&packets, Some(max), &mut out);
            prop_assert!(n >= 1 && n <= packets.len());
            prop_assert_eq!(decode_payload(&out).unwrap(), packets[..n].to_vec());
        }

        #[test]
        fn arbitrary_bodies_never_panic(s in any::<String>()) {
            let _ = decode_payload(&s);
        }

        #[test]
        fn bodies_of_packet_like_segments_never_panic(
            parts in prop::collection::vec(("[0-6b]", ".{0,12}"), 0..5),
        ) {
            let body: Vec<String> = parts.into_iter().map(|(t, s)| t + &s).collect();
            let _ = decode_payload(&body.join("\u{1e}"));
        }
    }
}
