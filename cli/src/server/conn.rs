//! The embedded server's TCP connections, tracked so that it can drop one client's.
//!
//! socketioxide closes a client's Engine.IO connection only together with the whole
//! server, and its `disconnect()` is a namespace DISCONNECT (`io server disconnect`). To cut
//! one client the way a network does (`transport close`), every accepted TCP stream keeps a
//! second handle on its socket ([`TrackedStream`]); [`ConnInfo`] rides in each HTTP
//! request's extensions, and [`Connections`] maps Engine.IO session ids to the connections
//! that carried them. Dropping shuts those sockets down, which ends the WebSocket (or the
//! pending poll) on both sides.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that keeps a handle with which [`ConnInfo::shutdown`] can end it.
#[derive(Debug)]
pub struct TrackedStream {
    stream: TcpStream,
    /// Alive as long as the stream: the weak handles in [`ConnInfo`] die with it.
    _handle: Arc<std::net::TcpStream>,
}

/// What the server knows of the TCP connection an HTTP request came on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    handle: Weak<std::net::TcpStream>,
}

impl ConnInfo {
    /// Shuts the connection down (both directions); false when it was already gone.
    pub fn shutdown(&self) -> bool {
        match self.handle.upgrade() {
            Some(stream) => stream.shutdown(Shutdown::Both).is_ok(),
            None => false,
        }
    }

    fn is_alive(&self) -> bool {
        self.handle.strong_count() > 0
    }
}

/// Wraps an accepted stream; returns it with the information for its requests.
///
/// # Errors
/// When the socket cannot be duplicated (out of file descriptors).
pub fn track(stream: TcpStream, peer: SocketAddr) -> io::Result<(TrackedStream, ConnInfo)> {
    let stream = stream.into_std()?;
    let handle = Arc::new(stream.try_clone()?);
    let info = ConnInfo {
        peer,
        handle: Arc::downgrade(&handle),
    };
    let stream = TcpStream::from_std(stream)?;
    Ok((
        TrackedStream {
            stream,
            _handle: handle,
        },
        info,
    ))
}

/// Engine.IO session ids and the connections that carried them.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    by_sid: Arc<Mutex<HashMap<String, Vec<ConnInfo>>>>,
}

impl Connections {
    /// Remembers that `conn` carries session `sid`; forgets connections that are gone.
    pub fn note(&self, sid: &str, conn: &ConnInfo) {
        let mut by_sid = self.by_sid.lock().unwrap_or_else(|e| e.into_inner());
        by_sid.retain(|_, conns| {
            conns.retain(ConnInfo::is_alive);
            !conns.is_empty()
        });
        let conns = by_sid.entry(sid.to_owned()).or_default();
        if !conns.iter().any(|c| Weak::ptr_eq(&c.handle, &conn.handle)) {
            conns.push(conn.clone());
        }
    }

    /// Shuts down every connection of session `sid`; returns how many were open.
    pub fn drop_session(&self, sid: &str) -> usize {
        let conns = {
            let mut by_sid = self.by_sid.lock().unwrap_or_else(|e| e.into_inner());
            by_sid.remove(sid).unwrap_or_default()
        };
        conns.iter().filter(|conn| conn.shutdown()).count()
    }
}

/// The session id of a request that carries one (`?sid=...`: polling after the
/// handshake, and the WebSocket upgrade).
pub fn session_of(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("sid="))
        .filter(|sid| !sid.is_empty())
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[test]
    fn the_session_id_is_read_from_the_query() {
        assert_eq!(
            session_of(Some("EIO=4&transport=websocket&sid=abc")),
            Some("abc")
        );
        assert_eq!(session_of(Some("sid=x&EIO=4")), Some("x"));
        assert_eq!(session_of(Some("EIO=4&transport=polling")), None);
        assert_eq!(session_of(Some("sid=")), None);
        assert_eq!(session_of(None), None);
    }

    #[tokio::test]
    async fn dropping_a_session_ends_its_connection_for_the_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, peer) = listener.accept().await.unwrap();
        let (_server_side, info) = track(accepted, peer).unwrap();
        let connections = Connections::default();
        connections.note("s1", &info);
        connections.note("s1", &info);
        assert_eq!(connections.drop_session("s1"), 1);
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), client.read(&mut byte))
            .await
            .expect("the peer sees the end of the stream");
        assert_eq!(read.unwrap(), 0);
        assert_eq!(connections.drop_session("s1"), 0);
    }

    #[tokio::test]
    async fn connections_that_are_gone_are_forgotten() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, peer) = listener.accept().await.unwrap();
        let (server_side, info) = track(accepted, peer).unwrap();
        drop(server_side);
        assert!(!info.shutdown());
        let connections = Connections::default();
        connections.note("gone", &info);
        assert_eq!(connections.drop_session("gone"), 0);
    }
}
