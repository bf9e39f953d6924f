//! Entry points for the fuzz targets in `fuzz/` to decoders of server input that are not
//! public API, compiled only with the `fuzzing` feature (which only the fuzz crate
//! enables). Each is the thinnest wrapper that reaches the decoder as the client runs it.
//! Not part of Ferrio's API: hidden from the documentation, no stability promised.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, ReadBuf};

use crate::engineio::payload::{Framing, Payload};
use crate::engineio::transport::deflate::{self, Inflating};
use crate::engineio::EngineDecodeError;

pub use crate::engineio::transport::deflate::Held;

/// Bytes the permessage-deflate reader reads from the connection at a time, which is
/// also how far past its limit a message may inflate before it is refused.
pub const INFLATE_CHUNK: usize = deflate::CHUNK;

/// The longest HTTP response head the permessage-deflate reader holds back.
pub const MAX_HEAD: usize = deflate::MAX_HEAD;

/// An Engine.IO v3 polling payload (`<length>:<packet>`, lengths in UTF-16 code units),
/// as the client takes a GET response body from a Socket.IO 2.x server.
///
/// # Errors
/// As `Payload::framed` in Engine.IO v3's framing: an empty body, a bad length prefix,
/// more than `max_packets` packets.
pub fn payload_v3(body: String, max_packets: usize) -> Result<Payload, EngineDecodeError> {
    Payload::framed(body, max_packets, Framing::LengthPrefixed)
}

/// The permessage-deflate reader between a connection and tungstenite, driven by hand: the
/// server's bytes go in as the reads of the connection return them, and what tungstenite
/// would read comes out.
#[derive(Debug)]
pub struct Inflater {
    reader: Inflating<Feed>,
    /// tungstenite's read buffer.
    space: Vec<u8>,
}

impl Inflater {
    /// A reader for a WebSocket handshake that offered the extension (`offered`) or not,
    /// inflating messages up to `limit` bytes.
    pub fn new(offered: bool, limit: usize) -> Self {
        Self {
            reader: Inflating::new(Feed::default(), offered, limit),
            space: Vec::new(),
        }
    }

    /// Bytes the server sends, returned by one read of the connection (or more, when a
    /// read asks for less).
    pub fn receive(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.reader.inner_mut().pieces.push_back(bytes.to_vec());
        }
    }

    /// The server closes the connection: reads end once everything received is read.
    pub fn close(&mut self) {
        self.reader.inner_mut().closed = true;
    }

    /// Reads as tungstenite does, `buffer` bytes at most at a time, until the reader waits
    /// for the server or the stream ends, appending what it reads to `out`; true at the end.
    ///
    /// # Errors
    /// The reader's error (a message past the limit, invalid compressed data or framing);
    /// what was read before it is in `out`.
    pub fn read(&mut self, out: &mut Vec<u8>, buffer: usize) -> io::Result<bool> {
        let mut context = Context::from_waker(Waker::noop());
        self.space.resize(buffer.max(1), 0);
        loop {
            let mut buf = ReadBuf::new(&mut self.space);
            match Pin::new(&mut self.reader).poll_read(&mut context, &mut buf) {
                Poll::Pending => return Ok(false),
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Ok(true),
                Poll::Ready(Ok(())) => out.extend_from_slice(buf.filled()),
            }
        }
    }

    /// What the reader holds back from tungstenite now.
    pub fn held(&self) -> Held {
        self.reader.held()
    }

    /// The size reached and the limit, when `error` is a message inflating past its limit.
    pub fn too_large(error: &io::Error) -> Option<(usize, usize)> {
        deflate::too_large(error)
    }
}

/// The connection: the pieces received and not read yet.
#[derive(Debug, Default)]
struct Feed {
    pieces: VecDeque<Vec<u8>>,
    closed: bool,
}

impl AsyncRead for Feed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(piece) = self.pieces.front_mut() else {
            // Nothing to wake: the driver polls again once it has received more.
            return if self.closed {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            };
        };
        let n = piece.len().min(buf.remaining());
        buf.put_slice(&piece[..n]);
        piece.drain(..n);
        if piece.is_empty() {
            self.pieces.pop_front();
        }
        Poll::Ready(Ok(()))
    }
}
