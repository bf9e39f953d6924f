//! Calls without an FFI call: the foreign loop writes ack requests to its end of a
//! datagram socket pair and reads plain replies from it.
//!
//! In Python a UniFFI call costs more than the syscall it would wrap (the handle clone
//! through a second call, `RustBuffer` lowering and lifting, the status check): here a
//! call is one `write` and its reply one `read` of the descriptor the loop already
//! watches. Datagrams keep each message whole; one that does not fit (the socket is full,
//! the reply is too large or holds binary) and every failure take the queue of
//! [`EventPipe::take`](super::EventPipe::take) instead, so nothing is lost or blocks.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram as StdDatagram;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixDatagram;

use super::{named_args, Shared};
use crate::error::AckError;
use crate::json;
use crate::runtime::runtime;
use crate::tracker::{lock, SocketCell};

/// The largest request or reply datagram (documented at
/// [`EventPipe::call_fd`](super::EventPipe::call_fd)): larger calls take
/// [`EventPipe::emit_with_ack`](super::EventPipe::emit_with_ack), larger replies
/// [`EventPipe::take`](super::EventPipe::take).
const MAX_CALL_DATAGRAM: usize = 65_536;

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
    // Made by the first request: a socket that never calls costs no buffer.
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
        if request.is_empty() {
            request = vec![0u8; MAX_CALL_DATAGRAM];
        }
        match readable.and_then(|()| native.try_recv(&mut request)) {
            Ok(len) => start(&request[..len], &native, &core, &shared),
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
    let call = std::str::from_utf8(data)
        .map_err(|error| AckError::InvalidArgs {
            detail: error.to_string(),
        })
        .and_then(|text| named_args(text, Vec::new()))
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

/// The reply datagram: the call id (little-endian `u64`), then the JSON text of the
/// reply's arguments; `None` when they hold binary or the datagram would be too large.
fn reply_datagram(id: u64, ack: &ferrio::Ack) -> Option<Vec<u8>> {
    if json::has_binary(&ack.args) {
        return None;
    }
    let (text, _) = json::args_to_json(&ack.args);
    let mut datagram = Vec::with_capacity(8 + text.len());
    datagram.extend_from_slice(&id.to_le_bytes());
    datagram.extend_from_slice(text.as_bytes());
    (datagram.len() <= MAX_CALL_DATAGRAM).then_some(datagram)
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
        pipe.calls.foreign.send(&request).unwrap();
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
        let ack = ferrio::Ack {
            args: vec![ferrio::Value::from(1), ferrio::Value::from("a")],
        };
        let datagram = reply_datagram(1 << 63, &ack).unwrap();
        assert_eq!(datagram[..8], (1u64 << 63).to_le_bytes());
        assert_eq!(&datagram[8..], b"[1,\"a\"]");
    }

    #[test]
    fn replies_with_binary_or_too_large_are_not_datagrams() {
        let binary = ferrio::Ack {
            args: vec![ferrio::Value::from(vec![1u8, 2])],
        };
        assert!(reply_datagram(1, &binary).is_none());
        let large = ferrio::Ack {
            args: vec![ferrio::Value::from("x".repeat(MAX_CALL_DATAGRAM))],
        };
        assert!(reply_datagram(1, &large).is_none());
    }
}
