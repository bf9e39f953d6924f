//! What a server sends on a WebSocket connection that offered permessage-deflate, through
//! the client's reader (`Inflating` in the core, reached through `ferrio::fuzzing`): the
//! HTTP response head, then frames; the messages compressed (RSV1) are inflated under a
//! size limit, everything else goes through to tungstenite as it came.
//!
//! Input, read with `arbitrary::Unstructured`: a mode byte, a limit, how the connection's
//! reads and tungstenite's reads cut the stream, then either
//! - raw: the extension offered or not, optionally a valid 101 response head accepting it,
//!   then, rarely, a header line of up to 80 KiB (so that a head passes the 64 KiB the
//!   reader holds back), then the rest of the input as the server's bytes (repeated up to
//!   48 times); or
//! - messages: a valid 101 head accepting the extension (with or without
//!   `server_no_context_takeover`), then control frames, plain messages and compressed
//!   messages built from the input (flate2 at a chosen level; sync, full or final flush;
//!   the compressor's context kept or not; fragmented, with control frames in between).
//!
//! Checked: no panic; between reads the reader holds back at most the 64 KiB of a head
//! being read, a cut frame header, and the message being inflated within its limit; a
//! message past the limit fails with at most one read's worth of inflated output past it;
//! an error is returned again to every later read, and its text stays short. In messages
//! mode the reader's output is exactly the stream with every compressed message replaced
//! by one uncompressed frame (after the control frames sent between its fragments), or up
//! to the first message over the limit, then that error.
#![no_main]

use ferrio::fuzzing::{Inflater, INFLATE_CHUNK, MAX_HEAD};
use flate2::{Compress, Compression, FlushCompress};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Errors quote the peer's data cut to 1 KiB: an error text never grows with the input.
const MAX_ERROR_TEXT: usize = 1200;

/// The longest frame header (8-byte length, masking key).
const MAX_FRAME_HEADER: usize = 14;

/// The empty stored block that ends a flushed deflate stream: the sender removes it.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Limits on the inflated size of a message: none allowed, tiny, small, the default range.
const LIMITS: [usize; 5] = [0, 1, 300, 64 * 1024, 1 << 20];

/// The fragments of a message are at most this many.
const MAX_FRAGMENTS: usize = 5;

/// A frame from the server (unmasked): `first` is its first byte (FIN, RSV1, opcode);
/// `wide` writes its length in the next longer form than needed.
fn frame(first: u8, payload: &[u8], wide: bool) -> Vec<u8> {
    let len = payload.len();
    let mut out = vec![first];
    match (len, wide) {
        (0..=125, false) => out.push(len as u8),
        (0..=125, true) | (126..=0xffff, false) => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A 101 response accepting permessage-deflate.
fn head(u: &mut Unstructured, no_context: bool) -> Result<Vec<u8>> {
    let name = if u.arbitrary()? {
        "sec-websocket-extensions"
    } else {
        "Sec-WebSocket-Extensions"
    };
    let takeover = if no_context {
        "; server_no_context_takeover"
    } else {
        ""
    };
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         {name}: permessage-deflate{takeover}\r\n\r\n"
    )
    .into_bytes())
}

/// `input` compressed by `compress`, flushed with `flush`.
fn deflate(compress: &mut Compress, mut input: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    loop {
        let before = compress.total_in();
        compress
            .compress_vec(input, &mut out, flush)
            .expect("flate2 compresses");
        let read = usize::try_from(compress.total_in() - before).expect("a small input");
        input = &input[read..];
        // Done once the input is in and the flush left room in the output.
        if input.is_empty() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(out.capacity().max(64));
    }
}

/// `data` cut into 1 to `MAX_FRAGMENTS` pieces where the input says.
fn fragments<'a>(u: &mut Unstructured, data: &'a [u8]) -> Result<Vec<&'a [u8]>> {
    let count = u.int_in_range(1..=MAX_FRAGMENTS)?;
    let mut cuts: Vec<usize> = (1..count)
        .map(|_| u.int_in_range(0..=data.len()))
        .collect::<Result<_>>()?;
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&data[start..cut]);
        start = cut;
    }
    pieces.push(&data[start..]);
    Ok(pieces)
}

/// A ping or pong the server sends.
fn control(u: &mut Unstructured) -> Result<Vec<u8>> {
    let opcode = if u.arbitrary()? { 0x9 } else { 0xa };
    let len = u.int_in_range(0..=125)?;
    Ok(frame(0x80 | opcode, u.bytes(len)?, u.arbitrary()?))
}

/// The stream the server sends and what tungstenite must read from it: everything up to
/// the first message over `limit` (the stream stops there), and whether there is one.
struct Stream {
    wire: Vec<u8>,
    expected: Vec<u8>,
    /// With a message over the limit: how many bytes of `expected` come before it (the
    /// rest are the control frames sent between its fragments, read or not before the
    /// error).
    over_limit: Option<usize>,
}

fn messages(u: &mut Unstructured, limit: usize) -> Result<Stream> {
    let no_context = u.arbitrary()?;
    let wire = head(u, no_context)?;
    let mut stream = Stream {
        expected: wire.clone(),
        wire,
        over_limit: None,
    };
    let level = Compression::new(u.int_in_range(0..=9)?);
    // Made with the first compressed message: a compressor is a few hundred KiB.
    let mut compressor: Option<Compress> = None;
    for _ in 0..u.int_in_range(0..=12)? {
        match u.int_in_range(0..=3)? {
            0 => {
                let ping = control(u)?;
                stream.wire.extend_from_slice(&ping);
                stream.expected.extend_from_slice(&ping);
            }
            1 => {
                // A plain message, in fragments: every frame goes through as it is.
                let opcode = u.int_in_range(1..=2)?;
                let len = u.int_in_range(0..=300)?;
                let payload = u.bytes(len)?;
                let pieces = fragments(u, payload)?;
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let fin = if i == last { 0x80 } else { 0 };
                    let code = if i == 0 { opcode } else { 0 };
                    let bytes = frame(fin | code, piece, u.arbitrary()?);
                    stream.wire.extend_from_slice(&bytes);
                    stream.expected.extend_from_slice(&bytes);
                }
            }
            _ => {
                let opcode = u.int_in_range(1..=2)?;
                let len = u.int_in_range(0..=2048)?;
                let repeat = u.int_in_range(1..=64)?;
                let content = u.bytes(len)?.repeat(repeat);
                let compress = compressor.get_or_insert_with(|| Compress::new(level, false));
                // The server may always start afresh; with no context takeover it must.
                if no_context || u.arbitrary()? {
                    compress.reset();
                }
                let flush = match u.int_in_range(0..=2)? {
                    0 => FlushCompress::Sync,
                    1 => FlushCompress::Full,
                    _ => FlushCompress::Finish,
                };
                let mut compressed = deflate(compress, &content, flush);
                if flush == FlushCompress::Finish {
                    // A final block ends the stream: the next message starts a new one.
                    compress.reset();
                } else if compressed.ends_with(&TAIL) {
                    compressed.truncate(compressed.len() - TAIL.len());
                }
                let before = stream.expected.len();
                let mut controls = Vec::new();
                let pieces = fragments(u, &compressed)?;
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let fin = if i == last { 0x80 } else { 0 };
                    let first = if i == 0 { 0x40 | opcode } else { 0 };
                    stream
                        .wire
                        .extend_from_slice(&frame(fin | first, piece, u.arbitrary()?));
                    if i < last && u.ratio(1, 4)? {
                        let ping = control(u)?;
                        stream.wire.extend_from_slice(&ping);
                        controls.extend_from_slice(&ping);
                    }
                }
                stream.expected.extend_from_slice(&controls);
                if content.len() > limit {
                    stream.over_limit = Some(before);
                    return Ok(stream);
                }
                stream
                    .expected
                    .extend_from_slice(&frame(0x80 | opcode, &content, false));
            }
        }
    }
    Ok(stream)
}

/// What the reader gave before its error, and the error's text.
struct Outcome {
    read: Vec<u8>,
    error: Option<String>,
}

/// Feeds the case's stream to `inflater` in pieces (the sizes in `cuts`, in turn) and
/// reads after each, checking what it holds back; then the server closes and everything
/// is read.
fn drive(inflater: &mut Inflater, case: &Case) -> Outcome {
    let (wire, buffer, limit) = (&case.wire, case.buffer, case.limit);
    let mut read = Vec::new();
    // Streams in pieces of at least 1/32 of them, long ones 1/8: the run stays short (the
    // reader looks for the end of the head from its start again after each piece).
    let floor = wire.len() / if wire.len() > 16 * 1024 { 8 } else { 32 };
    let mut rest = wire.as_slice();
    let mut cut = case.cuts.iter().cycle();
    let mut closed = false;
    loop {
        if rest.is_empty() && !closed {
            inflater.close();
            closed = true;
        } else if !rest.is_empty() {
            let size = cut
                .next()
                .copied()
                .unwrap_or(INFLATE_CHUNK)
                .max(floor)
                .max(1);
            let (piece, after) = rest.split_at(size.min(rest.len()));
            inflater.receive(piece);
            rest = after;
        }
        match inflater.read(&mut read, buffer) {
            Ok(ended) => {
                let held = inflater.held();
                assert_eq!(held.out, 0, "bytes left for tungstenite: {held:?}");
                assert!(held.head.is_none_or(|head| head <= MAX_HEAD), "{held:?}");
                assert!(held.raw < MAX_FRAME_HEADER, "{held:?}");
                assert!(held.message <= limit, "{held:?}");
                if ended {
                    assert!(closed && rest.is_empty(), "the end before the server's");
                    return Outcome { read, error: None };
                }
                assert!(!closed, "waiting for a server that closed");
            }
            Err(error) => {
                let error = failed(inflater, error, &mut read, buffer, limit);
                return Outcome {
                    read,
                    error: Some(error),
                };
            }
        }
    }
}

/// Checks the reader's first error and what follows it: the bytes read before it come out,
/// then the same error again. Returns the error's text.
fn failed(
    inflater: &mut Inflater,
    error: std::io::Error,
    read: &mut Vec<u8>,
    buffer: usize,
    limit: usize,
) -> String {
    let text = error.to_string();
    assert!(text.len() <= MAX_ERROR_TEXT, "{text}");
    if let Some((size, at)) = Inflater::too_large(&error) {
        assert_eq!(at, limit);
        assert!(
            size > limit && size <= limit + INFLATE_CHUNK,
            "{size} over {limit}"
        );
    }
    assert!(inflater.held().message <= limit);
    let again = inflater
        .read(read, buffer)
        .expect_err("an error is returned again");
    assert_eq!(again.to_string(), text);
    text
}

/// One input: the stream, how it is read, and what must come out (messages mode).
struct Case {
    limit: usize,
    /// tungstenite's read buffer.
    buffer: usize,
    /// The sizes of the connection's reads, in turn.
    cuts: Vec<usize>,
    offered: bool,
    wire: Vec<u8>,
    expected: Option<Stream>,
}

fn case(u: &mut Unstructured) -> Result<Case> {
    let raw = u.ratio(1, 3)?;
    let limit = LIMITS[u.choose_index(LIMITS.len())?];
    // Small buffers for small limits only: the run stays short.
    let buffer = u.int_in_range(1..=16 * 1024)?.max(limit / 1024);
    let cuts = (0..u.int_in_range(0..=4)?)
        .map(|_| u.int_in_range(1..=3 * INFLATE_CHUNK))
        .collect::<Result<_>>()?;
    if raw {
        let offered = u.ratio(3, 4)?;
        let mut wire = match u.int_in_range(0..=2)? {
            0 => Vec::new(),
            prefix => head(u, prefix == 2)?,
        };
        if u.ratio(1, 32)? {
            wire.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nX-Long: ");
            wire.resize(wire.len() + u.int_in_range(0..=80 * 1024)?, b'x');
        }
        let repeat = u.int_in_range(1..=48)?;
        wire.extend_from_slice(&u.bytes(u.len())?.repeat(repeat));
        Ok(Case {
            limit,
            buffer,
            cuts,
            offered,
            wire,
            expected: None,
        })
    } else {
        let mut stream = messages(u, limit)?;
        Ok(Case {
            limit,
            buffer,
            cuts,
            offered: true,
            wire: std::mem::take(&mut stream.wire),
            expected: Some(stream),
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(case) = case(&mut Unstructured::new(data)) else {
        return;
    };
    let mut inflater = Inflater::new(case.offered, case.limit);
    let outcome = drive(&mut inflater, &case);
    let Some(Stream {
        expected,
        over_limit,
        ..
    }) = case.expected
    else {
        return;
    };
    match (over_limit, outcome.error) {
        (None, None) => assert!(
            outcome.read == expected,
            "read {:?}, expected {expected:?}",
            outcome.read
        ),
        (Some(before), Some(error)) => {
            assert!(error.contains("over the limit"), "{error}");
            assert!(
                expected.starts_with(&outcome.read),
                "read past the message over the limit"
            );
            assert!(
                outcome.read.len() >= before,
                "the messages before the one over the limit"
            );
        }
        (_, error) => panic!(
            "expected {expected:?}, read {:?}, error {error:?}",
            outcome.read
        ),
    }
});
