//! permessage-deflate (RFC 7692) on top of tungstenite.
//!
//! tungstenite (0.28) refuses every frame with RSV1 set and implements no extension; its
//! deflate work is unreleased. The crates that do implement permessage-deflate (`yawc`,
//! `soketto` with its `deflate` feature) would replace the whole WebSocket layer: its error
//! kinds (too large, protocol violation, invalid UTF-8), the bounded write buffer and the
//! handshake over our proxy tunnels and pinned rustls, all tested against tungstenite.
//! permessage-deflate itself is small, so tungstenite keeps the handshake and the frames
//! and this module adds the extension around it, with flate2's pure-Rust backend (already
//! built for compressed polling: no crate is added):
//!
//! - [`offer`] is the `Sec-WebSocket-Extensions` request header and [`negotiate`] reads
//!   the server's answer into [`Params`].
//! - [`Inflating`] sits between tungstenite and the connection (TLS or plain). It passes the
//!   HTTP response through, then reads the server's frames: a message whose first frame has
//!   RSV1 is inflated, its frames replaced by one uncompressed frame, and every other frame
//!   goes through untouched, so tungstenite still judges it (a reserved opcode, RSV1 on a
//!   control frame: a protocol violation). Inflating counts the output against the
//!   incoming limit as it goes: a compression bomb ends with [`InflateError::TooLarge`]
//!   once the limit is passed, having held at most the limit.
//! - [`Deflater`] compresses an outgoing message into one frame with RSV1 set, which
//!   tungstenite writes as it is given.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The extension's name.
const NAME: &str = "permessage-deflate";

/// What the client offers: permessage-deflate, letting the server bound the client's
/// window (`client_max_window_bits` without a value). The server's own window is left to
/// the server: inflating always keeps a 32 KiB window, enough for any.
pub(crate) const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The `Sec-WebSocket-Extensions` value the client sends.
pub(crate) fn offer() -> http::HeaderValue {
    http::HeaderValue::from_static(OFFER)
}

/// Messages smaller than this are sent uncompressed (the `ws` library's default threshold):
/// below it deflate saves a few bytes at best and costs a compressor's work per message.
pub(crate) const COMPRESS_THRESHOLD: usize = 1024;

/// The largest window deflate may use (32 KiB), the only one flate2's pure-Rust backend
/// compresses with.
const MAX_WINDOW_BITS: u8 = 15;

/// Every deflated message ends with this empty stored block, which the sender removes and
/// the receiver puts back (RFC 7692, 7.2.1 and 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The parameters the server accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// The server starts every message with an empty window.
    pub(crate) server_no_context_takeover: bool,
    /// The client must start every message with an empty window.
    pub(crate) client_no_context_takeover: bool,
    /// The largest window the client may compress with (8 to 15).
    pub(crate) client_max_window_bits: u8,
}

impl Params {
    /// Whether the client may compress: its only window is 32 KiB, so a server that bounds
    /// the client's window below that gets uncompressed messages (always allowed).
    pub(crate) fn client_may_compress(&self) -> bool {
        self.client_max_window_bits == MAX_WINDOW_BITS
    }
}

/// The server's `Sec-WebSocket-Extensions` answer: none (the extension is declined) or the
/// accepted permessage-deflate parameters; an error for anything the client did not offer
/// (another extension, an unknown or repeated parameter, a bad window size), which fails
/// the connection (RFC 6455, 9.1; RFC 7692, 5).
pub(crate) fn negotiate<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<Params>, String> {
    let mut accepted = None;
    for value in values {
        let value = std::str::from_utf8(value)
            .map_err(|_| "a Sec-WebSocket-Extensions header that is not text".to_owned())?;
        for extension in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if accepted.is_some() {
                return Err(format!("a second extension answered: {extension}"));
            }
            accepted = Some(parse_extension(extension)?);
        }
    }
    Ok(accepted)
}

fn parse_extension(extension: &str) -> Result<Params, String> {
    let mut parts = extension.split(';').map(str::trim);
    let name = parts.next().unwrap_or_default();
    if !name.eq_ignore_ascii_case(NAME) {
        return Err(format!("an extension that was not offered: {name}"));
    }
    let mut params = Params {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        client_max_window_bits: MAX_WINDOW_BITS,
    };
    let mut seen: Vec<String> = Vec::new();
    for part in parts {
        let (key, value) = match part.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim().trim_matches('"'))),
            None => (part, None),
        };
        let key = key.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(format!("{NAME} parameter {key} given twice"));
        }
        match (key.as_str(), value) {
            ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
            ("server_max_window_bits", Some(bits)) => {
                window_bits(bits)?;
            }
            ("client_max_window_bits", Some(bits)) => {
                params.client_max_window_bits = window_bits(bits)?;
            }
            _ => {
                return Err(format!(
                    "{NAME} answered with an unexpected parameter: {part}"
                ))
            }
        }
        seen.push(key);
    }
    Ok(params)
}

fn window_bits(text: &str) -> Result<u8, String> {
    match text.parse::<u8>() {
        Ok(bits @ 8..=MAX_WINDOW_BITS) => Ok(bits),
        _ => Err(format!("{NAME} window bits out of range: {text}")),
    }
}

/// Compresses the client's messages.
pub(crate) struct Deflater {
    params: Params,
    /// Created on the first message large enough: a deflate state is a few hundred KiB.
    compress: Option<Box<Compress>>,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor for what the server accepted.
    pub(crate) fn new(params: Params) -> Self {
        Self {
            params,
            compress: None,
        }
    }

    /// `payload` compressed (the deflate blocks without their tail), or None when it is sent
    /// as it is: under [`COMPRESS_THRESHOLD`] or when the server bounds the client's window.
    pub(crate) fn compress(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        if payload.len() < COMPRESS_THRESHOLD || !self.params.client_may_compress() {
            return None;
        }
        let compress = self
            .compress
            .get_or_insert_with(|| Box::new(Compress::new(Compression::default(), false)));
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            let before = compress.total_in();
            if compress
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                // The compressor's state is lost: start afresh, this message uncompressed.
                compress.reset();
                return None;
            }
            let read = usize::try_from(compress.total_in() - before).unwrap_or(input.len());
            input = &input[read..];
            // The flush is complete once the input is in and it left room in the output.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if self.params.client_no_context_takeover {
            compress.reset();
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        Some(out)
    }
}

/// Why inflating a message failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InflateError {
    /// The message inflates past the limit (`size` is where inflating stopped).
    #[error("a compressed message of at least {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Bytes inflated when the limit was passed.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The compressed data or its framing is invalid.
    #[error("{0}")]
    Protocol(String),
}

impl InflateError {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// Bytes read from the connection at a time while frames are parsed.
pub(crate) const CHUNK: usize = 8 * 1024;

/// The longest response head held back while looking for its end; a longer one goes to
/// tungstenite as it is (and nothing is inflated).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Where [`Inflating`] is in the stream.
#[derive(Debug)]
enum Phase {
    /// The HTTP response is being read: everything up to the end of its head goes through.
    Head,
    /// Everything goes through (no extension, or the handshake failed).
    Through,
    /// Frames are read; compressed messages are inflated.
    Frames,
}

/// What the frame being read is.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// Between frames: the next header is awaited.
    Header,
    /// A frame passed through: this many payload bytes remain.
    Pass(u64),
    /// A frame of a compressed message: this many payload bytes remain to inflate; `fin`
    /// when it ends the message.
    Inflate { remaining: u64, fin: bool },
}

/// The message being inflated.
struct Message {
    /// 0x1 (text) or 0x2 (binary).
    opcode: u8,
    data: Vec<u8>,
    /// The compressed data ended with a final block: nothing may follow it in this
    /// message, and the tail is not inflated (it would start the next stream).
    ended: bool,
}

/// Reads the server's frames through and inflates compressed messages (see the module's
/// documentation). Writes go through untouched.
pub(crate) struct Inflating<S> {
    inner: S,
    phase: Phase,
    frame: Frame,
    /// What the server accepted, known once the response head was read.
    params: Option<Params>,
    /// Bytes read from the connection and not yet handled.
    raw: BytesMut,
    /// Bytes for tungstenite.
    out: BytesMut,
    /// The inflated size a message may reach.
    limit: usize,
    message: Option<Message>,
    /// Created with the first compressed message.
    decompress: Option<Box<Decompress>>,
    /// An error already returned, returned again to every later read.
    failed: Option<(io::ErrorKind, String)>,
    /// How much of the response head was searched for its end already: each read searches
    /// only the new bytes, so a head sent a byte at a time costs linear work, not quadratic.
    /// Back to 0 once the buffers that held the head are released (past it, without
    /// compression).
    head_searched: usize,
}

impl<S> std::fmt::Debug for Inflating<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflating")
            .field("phase", &self.phase)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<S> Inflating<S> {
    /// Wraps a connection whose WebSocket handshake is about to be made. With `offered`
    /// false (the client did not offer the extension) everything goes through.
    pub(crate) fn new(inner: S, offered: bool, limit: usize) -> Self {
        Self {
            inner,
            phase: if offered { Phase::Head } else { Phase::Through },
            frame: Frame::Header,
            params: None,
            raw: BytesMut::new(),
            out: BytesMut::new(),
            limit,
            message: None,
            decompress: None,
            failed: None,
            head_searched: 0,
        }
    }

    /// The connection it reads from.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Handles the bytes in `raw`, moving what tungstenite reads to `out`.
    fn process(&mut self) -> Result<(), InflateError> {
        match self.phase {
            Phase::Through => {
                let all = self.raw.split();
                self.out.unsplit(all);
                Ok(())
            }
            Phase::Head => {
                const END: &[u8] = b"\r\n\r\n";
                // The end may straddle the bytes searched before and the new ones.
                let from = self.head_searched.saturating_sub(END.len() - 1);
                let found = find(&self.raw[from..], END).map(|at| from + at);
                self.head_searched = self.raw.len();
                let Some(end) = found else {
                    if self.raw.len() > MAX_HEAD {
                        // Not a response this reader can use: tungstenite judges the bytes.
                        self.phase = Phase::Through;
                        return self.process();
                    }
                    return Ok(());
                };
                let head = self.raw.split_to(end + 4);
                self.read_head(&head);
                self.out.unsplit(head);
                self.process()
            }
            Phase::Frames => self.frames(),
        }
    }

    /// Reads the response head: a 101 with the extension accepted turns frame parsing on.
    fn read_head(&mut self, head: &[u8]) {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let switching = lines
            .next()
            .and_then(|status| status.split_whitespace().nth(1))
            == Some("101");
        let values: Vec<&str> = lines
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, value)| value.trim())
            .collect();
        // A bad answer fails the connection once the handshake is over (the caller reads
        // the response's headers with `negotiate` too); until then nothing is inflated.
        self.params = negotiate(values.iter().map(|v| v.as_bytes()))
            .ok()
            .flatten();
        self.phase = if switching && self.params.is_some() {
            Phase::Frames
        } else {
            Phase::Through
        };
    }

    fn frames(&mut self) -> Result<(), InflateError> {
        loop {
            match self.frame {
                Frame::Header => {
                    let Some((len, header)) = parse_header(&self.raw) else {
                        return Ok(());
                    };
                    self.frame = self.start_frame(header)?;
                    let head = self.raw.split_to(len);
                    match self.frame {
                        Frame::Pass(0) => {
                            self.out.unsplit(head);
                            self.frame = Frame::Header;
                        }
                        Frame::Pass(_) => self.out.unsplit(head),
                        _ => {}
                    }
                    if let Frame::Inflate { remaining: 0, fin } = self.frame {
                        self.end_frame(fin)?;
                    }
                }
                Frame::Pass(remaining) => {
                    if self.raw.is_empty() {
                        return Ok(());
                    }
                    let take = take_len(remaining, self.raw.len());
                    let part = self.raw.split_to(take);
                    self.out.unsplit(part);
                    let remaining = remaining - take as u64;
                    self.frame = if remaining == 0 {
                        Frame::Header
                    } else {
                        Frame::Pass(remaining)
                    };
                }
                Frame::Inflate { remaining, fin } => {
                    if self.raw.is_empty() {
                        return Ok(());
                    }
                    let take = take_len(remaining, self.raw.len());
                    let part = self.raw.split_to(take);
                    self.inflate(&part)?;
                    let remaining = remaining - take as u64;
                    self.frame = Frame::Inflate { remaining, fin };
                    if remaining == 0 {
                        self.end_frame(fin)?;
                    }
                }
            }
        }
    }

    /// What to do with a frame whose header was just read.
    fn start_frame(&mut self, header: Header) -> Result<Frame, InflateError> {
        let opcode = header.opcode;
        if opcode >= 0x8 {
            // Control frames (also within a fragmented message) go to tungstenite.
            return Ok(Frame::Pass(header.len));
        }
        let inflate = Frame::Inflate {
            remaining: header.len,
            fin: header.fin,
        };
        if self.message.is_some() {
            if opcode == 0x0 && !header.rsv1 && !header.masked {
                return Ok(inflate);
            }
            return Err(InflateError::Protocol(format!(
                "a frame (opcode {opcode:#x}) inside a compressed message"
            )));
        }
        if header.rsv1 && (opcode == 0x1 || opcode == 0x2) && !header.masked {
            self.message = Some(Message {
                opcode,
                data: Vec::new(),
                ended: false,
            });
            return Ok(inflate);
        }
        // Everything else is tungstenite's to accept or refuse.
        Ok(Frame::Pass(header.len))
    }

    /// Inflates compressed payload bytes into the message, within the limit.
    fn inflate(&mut self, mut input: &[u8]) -> Result<(), InflateError> {
        let limit = self.limit;
        let message = self
            .message
            .as_mut()
            .ok_or_else(|| InflateError::Protocol("compressed data outside a message".into()))?;
        if message.ended {
            return match input {
                [] => Ok(()),
                _ => Err(InflateError::Protocol(
                    "compressed data after the final block".into(),
                )),
            };
        }
        let decompress = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new(false)));
        let mut chunk = [0u8; CHUNK];
        loop {
            let before_in = decompress.total_in();
            let before_out = decompress.total_out();
            let status = decompress
                .decompress(input, &mut chunk, FlushDecompress::None)
                .map_err(|e| InflateError::Protocol(format!("invalid compressed data: {e}")))?;
            let read = usize::try_from(decompress.total_in() - before_in).unwrap_or(input.len());
            let written = usize::try_from(decompress.total_out() - before_out).unwrap_or(CHUNK);
            input = &input[read..];
            let size = message.data.len() + written;
            if size > limit {
                return Err(InflateError::TooLarge { size, limit });
            }
            message.data.extend_from_slice(&chunk[..written]);
            if status == Status::StreamEnd {
                // A final block: the next message starts a new stream.
                decompress.reset(false);
                message.ended = true;
                if !input.is_empty() {
                    return Err(InflateError::Protocol(
                        "compressed data after the final block".into(),
                    ));
                }
                return Ok(());
            }
            if input.is_empty() && written < CHUNK {
                return Ok(());
            }
            if read == 0 && written == 0 {
                return Err(InflateError::Protocol(
                    "compressed data that inflates to nothing".into(),
                ));
            }
        }
    }

    /// The end of a frame of a compressed message: on the last one, the tail is inflated
    /// and the message goes to tungstenite as one uncompressed frame.
    fn end_frame(&mut self, fin: bool) -> Result<(), InflateError> {
        self.frame = Frame::Header;
        if !fin {
            return Ok(());
        }
        if !self.message.as_ref().is_some_and(|m| m.ended) {
            self.inflate(&TAIL)?;
        }
        if self.params.is_some_and(|p| p.server_no_context_takeover) {
            if let Some(decompress) = self.decompress.as_mut() {
                decompress.reset(false);
            }
        }
        let Message { opcode, data, .. } = self
            .message
            .take()
            .ok_or_else(|| InflateError::Protocol("a compressed message ended twice".into()))?;
        write_header(&mut self.out, opcode, data.len());
        self.out.extend_from_slice(&data);
        Ok(())
    }
}

/// What an [`Inflating`] holds back from tungstenite between reads (for the fuzzers).
#[cfg(feature = "fuzzing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The response head read so far, while its end is looked for.
    pub head: Option<usize>,
    /// Other bytes read from the connection and not yet handled: a frame header cut
    /// between reads.
    pub raw: usize,
    /// The inflated bytes of the compressed message in progress.
    pub message: usize,
    /// Bytes ready for tungstenite.
    pub out: usize,
}

#[cfg(feature = "fuzzing")]
impl<S> Inflating<S> {
    /// What is held back now.
    pub(crate) fn held(&self) -> Held {
        let in_head = matches!(self.phase, Phase::Head);
        Held {
            head: in_head.then_some(self.raw.len()),
            raw: if in_head { 0 } else { self.raw.len() },
            message: self.message.as_ref().map_or(0, |m| m.data.len()),
            out: self.out.len(),
        }
    }

    /// The connection.
    pub(crate) fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

/// The size and limit of a [`InflateError::TooLarge`] inside `error` (for the fuzzers).
#[cfg(feature = "fuzzing")]
pub(crate) fn too_large(error: &io::Error) -> Option<(usize, usize)> {
    match error.get_ref()?.downcast_ref::<InflateError>()? {
        InflateError::TooLarge { size, limit } => Some((*size, *limit)),
        InflateError::Protocol(_) => None,
    }
}

/// Bytes of a payload with `remaining` bytes left that are in a buffer of `available`.
fn take_len(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// A frame header's fields this module needs.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    masked: bool,
    len: u64,
}

/// The header at the start of `raw` and its length, or None when it is not all there.
fn parse_header(raw: &[u8]) -> Option<(usize, Header)> {
    let [first, second, ..] = *raw else {
        return None;
    };
    let masked = second & 0x80 != 0;
    let (len, mut at) = match second & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = raw.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        short => (u64::from(short), 2),
    };
    if masked {
        at += 4;
    }
    if raw.len() < at {
        return None;
    }
    Some((
        at,
        Header {
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            opcode: first & 0x0f,
            masked,
            len,
        },
    ))
}

/// Writes the header of an unmasked final frame of `len` bytes.
fn write_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.extend_from_slice(&[0x80 | opcode]);
    if len < 126 {
        out.extend_from_slice(&[len as u8]);
    } else if let Ok(short) = u16::try_from(len) {
        out.extend_from_slice(&[126]);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.extend_from_slice(&[127]);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some((kind, message)) = &this.failed {
                return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
            }
            // Nothing pending and nothing to change: read straight into tungstenite's buffer.
            let direct = this.raw.is_empty()
                && match (&this.phase, this.frame) {
                    (Phase::Through, _) => true,
                    (Phase::Frames, Frame::Pass(remaining)) => remaining > 0,
                    _ => false,
                };
            if direct {
                if matches!(this.phase, Phase::Through) && this.head_searched > 0 {
                    // Past the response head nothing goes through the buffers again: the
                    // allocation that held the head is not kept for the connection's life.
                    this.raw = BytesMut::new();
                    this.out = BytesMut::new();
                    this.head_searched = 0;
                }
                if let (Phase::Frames, Frame::Pass(remaining)) = (&this.phase, this.frame) {
                    // At most the rest of the frame: the next header must be parsed here.
                    let room = take_len(remaining, buf.remaining());
                    let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
                    let n = limited.filled().len();
                    buf.advance(n);
                    if n > 0 {
                        this.frame = match remaining - n as u64 {
                            0 => Frame::Header,
                            left => Frame::Pass(left),
                        };
                    }
                    return Poll::Ready(Ok(()));
                }
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // The end: what is left goes to tungstenite, which sees a cut frame.
                let rest = this.raw.split();
                if rest.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.out.unsplit(rest);
                this.phase = Phase::Through;
                continue;
            }
            this.raw.extend_from_slice(read.filled());
            if let Err(error) = this.process() {
                let kind = io::ErrorKind::InvalidData;
                let text = error.to_string();
                this.failed = Some((kind, text));
                return Poll::Ready(Err(error.into_io()));
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

    fn params() -> Params {
        negotiate([b"permessage-deflate".as_slice()])
            .expect("valid")
            .expect("accepted")
    }

    /// A server frame: unmasked, `first` its first byte (FIN, RSV1, opcode).
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        write_header(&mut out, 0, payload.len());
        out[0] = first;
        out.extend_from_slice(payload);
        out.to_vec()
    }

    /// What tungstenite would read from `Inflating` when the server sends `wire`.
    async fn through(wire: Vec<u8>, limit: usize) -> io::Result<Vec<u8>> {
        let (mut server, client) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(async move {
            // Small writes: headers and payloads split across reads.
            for piece in wire.chunks(777) {
                if server.write_all(piece).await.is_err() {
                    return;
                }
            }
        });
        let mut reader = Inflating::new(client, true, limit);
        let mut read = Vec::new();
        let result = reader.read_to_end(&mut read).await.map(|_| read);
        writer.abort();
        result
    }

    #[test]
    fn the_servers_answer_is_read_into_parameters() {
        assert_eq!(negotiate(std::iter::empty()), Ok(None));
        let answer =
            b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
client_max_window_bits=10; server_max_window_bits=\"12\"";
        assert_eq!(
            negotiate([answer.as_slice()]),
            Ok(Some(Params {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                client_max_window_bits: 10,
            }))
        );
        assert!(params().client_may_compress());
        for bad in [
            "x-webkit-deflate-frame",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
            "permessage-deflate, permessage-deflate",
        ] {
            assert!(negotiate([bad.as_bytes()]).is_err(), "{bad} accepted");
        }
    }

    #[tokio::test]
    async fn a_compressed_message_in_fragments_reaches_tungstenite_as_one_plain_frame() {
        let text = "hello everyone, is the build green again? ".repeat(200);
        let compressed = Deflater::new(params())
            .compress(text.as_bytes())
            .expect("compressed");
        assert!(compressed.len() * 10 < text.len());
        let (a, b) = compressed.split_at(compressed.len() / 2);
        let mut wire = HEAD.to_vec();
        wire.extend(frame(0x41, a)); // text, RSV1, not final
        wire.extend(frame(0x89, b"ping")); // a ping in between
        wire.extend(frame(0x80, b)); // the final continuation
        wire.extend(frame(0x82, b"plain")); // an uncompressed binary message
        let read = through(wire, 1 << 20).await.expect("read");
        let mut expected = HEAD.to_vec();
        expected.extend(frame(0x89, b"ping"));
        expected.extend(frame(0x81, text.as_bytes()));
        expected.extend(frame(0x82, b"plain"));
        assert_eq!(read, expected);
    }

    #[tokio::test]
    async fn messages_share_their_context_unless_the_server_takes_none() {
        // Numbers that repeat little within the message, all of it again in the next one.
        let text: String = (0..400u32)
            .map(|n| format!("{},", n * 7919 % 10007))
            .collect();
        let mut deflater = Deflater::new(params());
        let first = deflater.compress(text.as_bytes()).expect("compressed");
        let second = deflater.compress(text.as_bytes()).expect("compressed");
        assert!(
            second.len() < first.len() / 4,
            "the second refers to the first"
        );
        let mut wire = HEAD.to_vec();
        wire.extend(frame(0xc1, &first));
        wire.extend(frame(0xc1, &second));
        let read = through(wire, 1 << 20).await.expect("read");
        let mut expected = HEAD.to_vec();
        expected.extend(frame(0x81, text.as_bytes()));
        expected.extend(frame(0x81, text.as_bytes()));
        assert_eq!(read, expected);

        let no_context = Params {
            client_no_context_takeover: true,
            ..params()
        };
        let mut deflater = Deflater::new(no_context);
        let first = deflater.compress(text.as_bytes()).expect("compressed");
        let second = deflater.compress(text.as_bytes()).expect("compressed");
        assert_eq!(first, second, "each message starts afresh");
    }

    #[tokio::test]
    async fn a_message_inflating_past_the_limit_fails_with_too_large() {
        let limit = 256 * 1024;
        let mut deflater = Deflater::new(params());
        let bomb = deflater.compress(&vec![b'a'; 8 << 20]).expect("compressed");
        assert!(bomb.len() < 64 * 1024);
        let mut wire = HEAD.to_vec();
        wire.extend(frame(0xc1, &bomb));
        let error = through(wire, limit).await.expect_err("too large");
        let inner = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<InflateError>());
        assert!(
            matches!(inner, Some(&InflateError::TooLarge { size, limit: l }) if l == limit && size > limit && size <= limit + CHUNK),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn invalid_compressed_data_or_a_new_message_inside_one_is_a_protocol_error() {
        for wire in [
            frame(0xc1, &[0xff, 0xff, 0xff]),
            [frame(0x41, &[0x00]), frame(0x81, b"new")].concat(),
        ] {
            let error = through([HEAD.to_vec(), wire].concat(), 1 << 20)
                .await
                .expect_err("refused");
            let inner = error
                .get_ref()
                .and_then(|e| e.downcast_ref::<InflateError>());
            assert!(
                matches!(inner, Some(InflateError::Protocol(_))),
                "{error:?}"
            );
        }
    }

    /// Found by the fuzz target `websocket_deflate`: after a message ending with a final
    /// block (`03 00`, empty), the tail was inflated as the start of the next stream, and
    /// the next message (`00` and the tail, empty) came out as 4 bytes of garbage.
    #[tokio::test]
    async fn a_message_ending_with_a_final_block_leaves_the_next_one_a_fresh_stream() {
        let mut finished = Compress::new(Compression::default(), false);
        let mut hello = Vec::with_capacity(64);
        finished
            .compress_vec(b"hello", &mut hello, FlushCompress::Finish)
            .expect("compressed");
        let mut wire = HEAD.to_vec();
        wire.extend(frame(0xc1, &[0x03, 0x00]));
        wire.extend(frame(0xc1, &[0x00]));
        wire.extend(frame(0xc1, &hello));
        let world = Deflater::new(params())
            .compress(&b"world ".repeat(300))
            .expect("compressed");
        wire.extend(frame(0xc2, &world));
        let read = through(wire, 1 << 20).await.expect("read");
        let mut expected = HEAD.to_vec();
        expected.extend(frame(0x81, b""));
        expected.extend(frame(0x81, b""));
        expected.extend(frame(0x81, b"hello"));
        expected.extend(frame(0x82, &b"world ".repeat(300)));
        assert_eq!(read, expected);

        // Data after the final block is refused, in the same frame or a later one.
        for after in [
            frame(0xc1, &[0x03, 0x00, 0x00]),
            [frame(0x41, &[0x03, 0x00]), frame(0x80, &[0x00])].concat(),
        ] {
            let error = through([HEAD.to_vec(), after].concat(), 1 << 20)
                .await
                .expect_err("refused");
            assert!(
                error.to_string().contains("after the final block"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn without_the_extension_every_frame_goes_through_for_tungstenite_to_judge() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        let rsv1 = frame(0xc1, b"not compressed");
        let read = through([head.clone(), rsv1.clone()].concat(), 1 << 20)
            .await
            .expect("read");
        assert_eq!(read, [head, rsv1.clone()].concat());
        // Negotiated, RSV1 on a control frame still goes through (a protocol violation).
        let ping = frame(0xc9, b"p");
        let read = through([HEAD.to_vec(), ping.clone()].concat(), 1 << 20)
            .await
            .expect("read");
        assert_eq!(read, [HEAD.to_vec(), ping].concat());
    }

    /// Found with the fuzz target `websocket_deflate` (its slowest inputs): the head was
    /// searched from its start on every read, so a head trickled in byte by byte took work
    /// quadratic in its size. Its end is still found when it straddles two reads.
    #[test]
    fn a_head_sent_a_byte_at_a_time_is_searched_once_and_found() {
        let mut reader = Inflating::new((), true, 1 << 20);
        for (i, byte) in HEAD.iter().enumerate() {
            assert!(matches!(reader.phase, Phase::Head), "ended early at {i}");
            reader.raw.extend_from_slice(&[*byte]);
            reader.process().expect("a head");
            assert!(reader.head_searched <= i + 1);
        }
        assert!(matches!(reader.phase, Phase::Frames));
        assert_eq!(&reader.out[..], HEAD);
    }

    #[tokio::test]
    async fn a_response_head_without_an_end_is_not_held_back() {
        let endless = b"HTTP/1.1 101 Switching Protocols\r\nX: ".repeat(4096);
        assert!(endless.len() > MAX_HEAD);
        let read = through(endless.clone(), 1 << 20).await.expect("read");
        assert_eq!(read, endless);
    }

    #[test]
    fn small_messages_and_bounded_windows_are_sent_uncompressed() {
        assert_eq!(Deflater::new(params()).compress(&[b'a'; 1023]), None);
        let bounded = Params {
            client_max_window_bits: 10,
            ..params()
        };
        assert_eq!(Deflater::new(bounded).compress(&[b'a'; 4096]), None);
    }
}
