//! Calls without an FFI call: the foreign loop writes ack requests to its end of a
//! datagram socket pair and reads plain replies from it.
//!
//! In Python a UniFFI call costs more than the syscall it would wrap (the handle clone
//! through a second call, `RustBuffer` lowering and lifting, the status check): here a
//! call is one `write` and its reply one `read` of the descriptor the loop already
//! watches. Binary arguments and replies travel in the same datagram, their bytes after
//! the text: through UniFFI they would be copied a byte at a time each way (`Vec<u8>`'s
//! generic lifting and lowering: a third of a 64 KiB binary echo's CPU in perf).
//! Datagrams keep each message whole; one that does not fit (the socket is full, the
//! message is too large) and every failure take the queue of
//! [`EventPipe::take`](super::EventPipe::take) instead, so nothing is lost or blocks.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram as StdDatagram;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixDatagram;

use super::{named_args, Shared};
use crate::error::AckError;
use crate::runtime::runtime;
use crate::tracker::{lock, SocketCell};

/// The largest request or reply datagram (documented at
/// [`EventPipe::call_fd`](super::EventPipe::call_fd)): larger calls take
/// [`EventPipe::emit_with_ack`](super::EventPipe::emit_with_ack), larger replies
/// [`EventPipe::take`](super::EventPipe::take). 64 KiB of binary with its text fits; the
/// foreign side reads each reply into a buffer of this size, which stays below glibc's
/// 128 KiB mmap threshold (Python's `os.read` with a 200,000-byte buffer: 23 µs a read
/// instead of 1.8, an mmap per read).
const MAX_CALL_DATAGRAM: usize = 120 * 1024;

/// Separates a datagram's JSON text from the bytes of its binary values: never part of
/// JSON text, where control characters are escaped.
const BINARY_MARK: u8 = 0;

/// The socket pair of one event pipe.
pub(super) struct CallSocket {
    /// The foreign loop's end, non-blocking; its descriptor is [`CallSocket::fd`]. The
    /// native end belongs to [`serve`] and the ack tasks.
    foreign: StdDatagram,
}

impl CallSocket {
    /// A new pair, served by a task on the FFI runtime until the pipe closes.
    pub(super) fn open(core: Arc<SocketCell>, shared: Arc<Shared>) -> std::io::Result<Self> {
        let (foreign, native) = StdDatagram::pair()?;
        foreign.set_nonblocking(true)?;
        native.set_nonblocking(true)?;
        let native = {
            let _runtime = runtime().enter();
            Arc::new(UnixDatagram::from_std(native)?)
        };
        runtime().spawn(serve(native, core, shared));
        Ok(CallSocket { foreign })
    }

    /// The descriptor of the foreign end.
    pub(super) fn fd(&self) -> i32 {
        self.foreign.as_raw_fd()
    }
}

/// Reads requests until the pipe closes and starts each call.
async fn serve(native: Arc<UnixDatagram>, core: Arc<SocketCell>, shared: Arc<Shared>) {
    // Made by the first request: a socket that never calls costs no buffer, and only the
    // bytes a request fills become resident.
    let mut request = Vec::new();
    loop {
        let stop = shared.stop.notified();
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        let readable = tokio::select! {
            readable = native.readable() => readable,
            () = stop => return,
        };
        if request.capacity() == 0 {
            request = Vec::with_capacity(MAX_CALL_DATAGRAM);
        }
        request.clear();
        match readable.and_then(|()| native.try_recv_buf(&mut request)) {
            Ok(_) => start(&request, &native, &core, &shared),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => {
                tracing::debug!(%error, "call socket closed");
                return;
            }
        }
    }
}

/// Starts the call in `request`; its reply, or why there is none, goes back with its id.
fn start(request: &[u8], native: &Arc<UnixDatagram>, core: &SocketCell, shared: &Arc<Shared>) {
    let Some((id, timeout_ms, data)) = split_request(request) else {
        tracing::warn!(
            len = request.len(),
            "call request without its header dropped"
        );
        return;
    };
    let call = split_binary(data)
        .and_then(|(text, attachments)| {
            let text = std::str::from_utf8(text).map_err(|error| AckError::InvalidArgs {
                detail: error.to_string(),
            })?;
            named_args(text, attachments)
        })
        .and_then(|named| Ok((lock(core).clone().ok_or(AckError::Closed)?, named)));
    let (core, (event, args)) = match call {
        Ok(call) => call,
        Err(error) => {
            shared.push_reply(id, Err::<ferrio::Ack, _>(error));
            return;
        }
    };
    let native = native.clone();
    let shared = shared.clone();
    tokio::spawn(async move {
        let timeout = Duration::from_millis(timeout_ms);
        let reply = core.emit_values_with_ack(&event, args, timeout).await;
        if let Ok(ack) = &reply {
            if let Some(datagram) = reply_datagram(id, ack) {
                if native.try_send(&datagram).is_ok() {
                    return;
                }
            }
        }
        shared.push_reply(id, reply);
    });
}

/// The id, the timeout and the JSON text of `[event, ...args]` of a request.
fn split_request(request: &[u8]) -> Option<(u64, u64, &[u8])> {
    let (id, rest) = request.split_first_chunk::<8>()?;
    let (timeout_ms, data) = rest.split_first_chunk::<8>()?;
    Some((
        u64::from_le_bytes(*id),
        u64::from_le_bytes(*timeout_ms),
        data,
    ))
}

/// The JSON text of a datagram's body and the bytes of its binary values: after the text,
/// [`BINARY_MARK`], then each value's length (little-endian `u32`) and bytes.
fn split_binary(body: &[u8]) -> Result<(&[u8], Vec<Vec<u8>>), AckError> {
    let Some(mark) = body.iter().position(|&byte| byte == BINARY_MARK) else {
        return Ok((body, Vec::new()));
    };
    let (text, mut rest) = (&body[..mark], &body[mark + 1..]);
    let mut attachments = Vec::new();
    while !rest.is_empty() {
        let truncated = || AckError::InvalidArgs {
            detail: "a binary value of the call datagram is truncated".to_owned(),
        };
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| truncated())?;
        let bytes = tail.get(..len).ok_or_else(truncated)?;
        attachments.push(bytes.to_vec());
        rest = &tail[len..];
    }
    Ok((text, attachments))
}

/// The reply datagram: the call id (little-endian `u64`), then the JSON text of the
/// reply's arguments, then their binary values as in [`split_binary`]; `None` when the
/// datagram would be too large.
fn reply_datagram(id: u64, ack: &ferrio::Ack) -> Option<Vec<u8>> {
    let payload = ack.payload();
    let text = payload.json().as_bytes();
    let attachments = payload.attachments();
    let binary: usize = attachments.iter().map(|bytes| 4 + bytes.len()).sum();
    let len = 8 + text.len() + usize::from(!attachments.is_empty()) + binary;
    if len > MAX_CALL_DATAGRAM || (!attachments.is_empty() && text.contains(&BINARY_MARK)) {
        return None;
    }
    let mut datagram = Vec::with_capacity(len);
    datagram.extend_from_slice(&id.to_le_bytes());
    datagram.extend_from_slice(text);
    if !attachments.is_empty() {
        datagram.push(BINARY_MARK);
        for bytes in attachments {
            datagram.extend_from_slice(&u32::try_from(bytes.len()).ok()?.to_le_bytes());
            datagram.extend_from_slice(bytes);
        }
    }
    Some(datagram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use crate::pipe::tests::pipe_without_socket;

    #[test]
    fn a_request_without_a_socket_fails_through_take_with_its_id() {
        let pipe = pipe_without_socket();
        let mut request = (1u64 << 63).to_le_bytes().to_vec();
        request.extend_from_slice(&1000u64.to_le_bytes());
        request.extend_from_slice(b"[\"e\"]");
        assert!(pipe.call_fd() >= 0);
        let calls = pipe.calls.get().and_then(Option::as_ref).unwrap();
        calls.foreign.send(&request).unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let batch = pipe.take(64).unwrap();
            if let Some(reply) = batch.acks.first() {
                assert_eq!(reply.id, 1 << 63);
                assert!(matches!(reply.error, Some(AckError::Closed)), "{reply:?}");
                return;
            }
            assert!(Instant::now() < deadline, "no reply");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_request_is_split_into_id_timeout_and_text() {
        let mut request = 7u64.to_le_bytes().to_vec();
        request.extend_from_slice(&2500u64.to_le_bytes());
        request.extend_from_slice(b"[\"e\",1]");
        assert_eq!(split_request(&request), Some((7, 2500, &b"[\"e\",1]"[..])));
        assert_eq!(split_request(&request[..15]), None);
    }

    #[test]
    fn a_plain_reply_is_its_id_then_its_arguments() {
        let ack = ferrio::Ack::from_values(vec![ferrio::Value::from(1), ferrio::Value::from("a")]);
        let datagram = reply_datagram(1 << 63, &ack).unwrap();
        assert_eq!(datagram[..8], (1u64 << 63).to_le_bytes());
        assert_eq!(&datagram[8..], b"[1,\"a\"]");
    }

    #[test]
    fn a_binary_reply_is_its_text_then_the_mark_then_each_length_and_bytes() {
        let ack = ferrio::Ack::from_values(vec![
            ferrio::Value::from(vec![1u8, 2]),
            ferrio::Value::from(vec![3u8]),
        ]);
        let datagram = reply_datagram(5, &ack).unwrap();
        assert_eq!(datagram[..8], 5u64.to_le_bytes());
        let (text, attachments) = split_binary(&datagram[8..]).unwrap();
        assert_eq!(
            text,
            br#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(attachments, vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn a_request_body_without_the_mark_is_all_text() {
        assert_eq!(
            split_binary(b"[\"e\",1]").unwrap(),
            (&b"[\"e\",1]"[..], Vec::new())
        );
    }

    #[test]
    fn a_request_with_binary_starts_the_call_with_its_bytes() {
        let mut body = br#"["e",{"_placeholder":true,"num":0}]"#.to_vec();
        body.push(BINARY_MARK);
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&[7, 8, 9]);
        let (text, attachments) = split_binary(&body).unwrap();
        let (event, args) = named_args(std::str::from_utf8(text).unwrap(), attachments).unwrap();
        assert_eq!(event, "e");
        assert_eq!(args, vec![ferrio::Value::from(vec![7u8, 8, 9])]);
    }

    #[test]
    fn a_truncated_binary_value_is_refused() {
        let mut body = b"[\"e\"]".to_vec();
        body.push(BINARY_MARK);
        body.extend_from_slice(&10u32.to_le_bytes());
        body.extend_from_slice(&[1, 2]);
        assert!(matches!(
            split_binary(&body),
            Err(AckError::InvalidArgs { .. })
        ));
        assert!(matches!(
            split_binary(&[b'[', b']', BINARY_MARK, 1, 0]),
            Err(AckError::InvalidArgs { .. })
        ));
    }

    #[test]
    fn replies_too_large_are_not_datagrams() {
        let large =
            ferrio::Ack::from_values(vec![ferrio::Value::from("x".repeat(MAX_CALL_DATAGRAM))]);
        assert!(reply_datagram(1, &large).is_none());
        let binary =
            ferrio::Ack::from_values(vec![ferrio::Value::from(vec![0u8; MAX_CALL_DATAGRAM])]);
        assert!(reply_datagram(1, &binary).is_none());
    }
}
