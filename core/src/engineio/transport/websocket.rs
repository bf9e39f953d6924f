//! WebSocket: one Engine.IO packet per message; binary packets as raw binary frames;
//! permessage-deflate when the server accepts it (see [`super::deflate`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError, TlsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use url::Host;

use super::deflate::{self, Deflater, InflateError, Inflating};
use super::proxy::{self, Target};
use super::Endpoint;
use crate::engineio::EnginePacket;
use crate::error::TransportError;
use crate::server_text::server_text;

/// Bytes read per `read` call, and the read buffer's size. tungstenite's default (128 KiB)
/// zero-fills that much on every read attempt and keeps it resident per connection;
/// Socket.IO packets are small, and larger frames still grow the buffer as needed.
pub(crate) const READ_BUFFER_SIZE: usize = 16 * 1024;

/// Bytes gathered before they are written to the socket (tungstenite's default), or half
/// the write bound when that is smaller: tungstenite wants the bound above this size.
const WRITE_BUFFER_SIZE: usize = 128 * 1024;

/// What reading the WebSocket gave.
#[derive(Debug)]
pub(crate) enum WsInbound {
    /// One Engine.IO packet.
    Packet(EnginePacket),
    /// The WebSocket closed (by the peer, or the connection dropped).
    Closed,
    /// A frame could not be decoded.
    Invalid(TransportError),
}

/// The connection under the WebSocket: TCP (direct or through a proxy's tunnel), maybe
/// TLS, and the permessage-deflate reader.
type Stream = Inflating<Connection>;

/// TCP, or TLS over TCP. The TLS state is boxed: a rustls connection takes ~1 KiB, which
/// every plain connection would otherwise hold inline too (tokio-tungstenite's
/// `MaybeTlsStream` keeps it inline).
#[derive(Debug)]
enum Connection {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection {
    /// Resolves once a read may find data: at once over TLS, whose reads may also wait
    /// for writes, when the socket is readable over plain TCP.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Connection::Plain(tcp) => tcp.poll_read_ready(cx).map(|_| ()),
            Connection::Tls(_) => Poll::Ready(()),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Connection::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Connection::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Connection::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Plain(tcp) => tcp.is_write_vectored(),
            Connection::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Connection::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Connection::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open WebSocket to the server.
#[derive(Debug)]
pub(crate) struct WebSocket {
    stream: Box<WebSocketStream<Stream>>,
    /// The write buffer's bound, reported when it is reached.
    max_write_buffer: usize,
    /// Compresses what is sent, when the server accepted permessage-deflate.
    deflater: Option<Deflater>,
    /// The payloads of the text frames fed since the last flush, each cut off as a
    /// shared slice: tungstenite copies a payload into its write buffer at once, so the
    /// buffer is free again for the next one and a batch of frames costs one allocation,
    /// not one each. Released by [`WebSocket::flush`]: an idle connection keeps none.
    frames: BytesMut,
    /// The last read found nothing: tungstenite holds no whole frame, so the next read
    /// waits for the socket to be readable before asking it. tungstenite zero-fills its
    /// read buffer's free room (16 KiB) on every attempt, and the connection task polls
    /// for reads after each batch of commands it handles.
    read_blocked: bool,
}

/// The room [`WebSocket::frames`] is made with: the payloads of a few small packets. Each
/// payload is copied by tungstenite as soon as it is fed, so the room is taken back for the
/// next ones without a new allocation; at 1 KiB it is a size the allocator keeps a cache of
/// per thread (glibc's tcache ends at 1,032 bytes), which a batch of one packet, an ack
/// round trip, makes and frees each time.
const FRAMES_CAPACITY: usize = 1024;

impl WebSocket {
    /// Opens a WebSocket for session `sid` (none for a WebSocket-only handshake), with the
    /// extra headers and the cookies of the endpoint.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        sid: Option<&str>,
    ) -> Result<Self, TransportError> {
        let url = endpoint.ws_url(sid);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| TransportError::WebSocket(e.to_string()))?;
        for (name, value) in endpoint.headers() {
            request.headers_mut().append(name, value.clone());
        }
        if let Some(cookies) = endpoint.cookie_header() {
            request.headers_mut().insert(http::header::COOKIE, cookies);
        }
        let limit = endpoint.max_incoming_bytes;
        let (write_buffer, max_write_buffer) = write_buffer_sizes(endpoint.max_write_buffer_bytes);
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            .write_buffer_size(write_buffer)
            .max_write_buffer_size(max_write_buffer)
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
        let offered = endpoint.compression();
        if offered {
            request
                .headers_mut()
                .insert(http::header::SEC_WEBSOCKET_EXTENSIONS, deflate::offer());
        }
        let target = Target::of(&url)
            .ok_or_else(|| TransportError::WebSocket(format!("no host in {url}")))?;
        let tcp = match endpoint.proxy() {
            None => connect_tcp(&target).await.map_err(handshake_error)?,
            // The same proxy as polling: a tunnel to the server, then TLS and the WebSocket
            // handshake inside it.
            Some(proxy) => proxy::open_tunnel(proxy, &target, endpoint.connect_timeout).await?,
        };
        let stream = if endpoint.is_tls() {
            connect_tls(tcp, &target.host, endpoint.tls())
                .await
                .map_err(handshake_error)?
        } else {
            Connection::Plain(tcp)
        };
        let stream = Inflating::new(stream, offered, limit);
        let (stream, response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|error| upgrade_error(endpoint, error))?;
        endpoint.answered();
        let answer = response
            .headers()
            .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(http::HeaderValue::as_bytes);
        let params = match deflate::negotiate(answer) {
            Ok(Some(_)) if !offered => Err("an extension that was not offered".to_owned()),
            other => other,
        }
        .map_err(|reason| {
            TransportError::WebSocket(server_text(format!(
                "the server's Sec-WebSocket-Extensions: {reason}"
            )))
        })?;
        endpoint.store_cookies(response.headers());
        Ok(Self {
            stream: Box::new(stream),
            max_write_buffer,
            deflater: params.map(Deflater::new),
            frames: BytesMut::new(),
            read_blocked: false,
        })
    }

    /// Reads the next packet. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> WsInbound {
        loop {
            if self.read_blocked {
                let connection = self.stream.get_ref().get_ref();
                std::future::poll_fn(|cx| connection.poll_read_ready(cx)).await;
                self.read_blocked = false;
            }
            let next = std::future::poll_fn(|cx| {
                let next = self.stream.poll_next_unpin(cx);
                self.read_blocked = next.is_pending();
                next
            });
            let message = match next.await {
                None => return WsInbound::Closed,
                Some(Err(error)) => {
                    tracing::debug!(%error, "websocket read failed");
                    return read_error(error);
                }
                Some(Ok(message)) => message,
            };
            return match message {
                Message::Text(text) => match EnginePacket::decode_text(text.as_str()) {
                    Ok(packet) => WsInbound::Packet(packet),
                    Err(error) => WsInbound::Invalid(error.into()),
                },
                Message::Binary(data) => WsInbound::Packet(EnginePacket::Binary(data)),
                Message::Close(_) => WsInbound::Closed,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
        }
    }

    /// Queues `packet` in the write buffer once it has room; [`WebSocket::flush`] sends it.
    pub(crate) async fn feed(&mut self, packet: &EnginePacket) -> Result<(), TransportError> {
        self.ready().await?;
        self.start_send(packet)
    }

    /// Waits until the write buffer has room for a message (what did not fit is written
    /// first). Cancel-safe: nothing is taken.
    pub(crate) async fn ready(&mut self) -> Result<(), TransportError> {
        let limit = self.max_write_buffer;
        std::future::poll_fn(|cx| self.stream.poll_ready_unpin(cx))
            .await
            .map_err(|error| write_error(error, limit))
    }

    /// Whether the write buffer has room for a message now, without waiting: what
    /// [`WebSocket::ready`] resolves to at once, or `false` where it would wait (it is
    /// then polled again with the caller's waker).
    ///
    /// # Errors
    /// As [`WebSocket::ready`].
    pub(crate) fn is_ready_now(&mut self) -> Result<bool, TransportError> {
        let limit = self.max_write_buffer;
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_ready_unpin(&mut cx) {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(error)) => Err(write_error(error, limit)),
            Poll::Pending => Ok(false),
        }
    }

    /// Queues `packet` in the write buffer without waiting, after [`WebSocket::ready`]:
    /// compressed only here, so the compression context never holds a frame not sent.
    pub(crate) fn start_send(&mut self, packet: &EnginePacket) -> Result<(), TransportError> {
        let message = match packet {
            EnginePacket::Binary(data) => match self.compress(data, Data::Binary) {
                Some(frame) => frame,
                None => Message::Binary(data.clone()),
            },
            other if self.deflater.is_some() => {
                let mut text = String::with_capacity(text_capacity(other));
                other.encode_text(&mut text);
                match self.compress(text.as_bytes(), Data::Text) {
                    Some(frame) => frame,
                    None => Message::Text(text.into()),
                }
            }
            other => {
                let payload = self.text_payload(other);
                Message::Frame(Frame::message(payload, OpCode::Data(Data::Text), true))
            }
        };
        let limit = self.max_write_buffer;
        self.stream
            .start_send_unpin(message)
            .map_err(|error| write_error(error, limit))
    }

    /// The text form of `packet`, cut from [`WebSocket::frames`]. Its bytes are valid
    /// UTF-8 (the packet's text), so it is sent as a text frame as it is, not checked
    /// again as a [`Message::Text`] would be.
    fn text_payload(&mut self, packet: &EnginePacket) -> Bytes {
        let needed = text_capacity(packet);
        if self.frames.capacity() - self.frames.len() < needed {
            // Takes back the room of the payloads already written out (all of them,
            // unless a write failed), or allocates.
            self.frames.reserve(needed.max(FRAMES_CAPACITY));
        }
        match packet {
            // What `EnginePacket::encode_text` writes, without a `String` of its own.
            EnginePacket::Message(text) => {
                self.frames.put_u8(b'4');
                self.frames.extend_from_slice(text.as_bytes());
            }
            other => {
                let mut text = String::with_capacity(needed);
                other.encode_text(&mut text);
                self.frames.extend_from_slice(text.as_bytes());
            }
        }
        self.frames.split().freeze()
    }

    /// `payload` as one compressed frame (RSV1 set), when permessage-deflate is on and the
    /// payload is worth compressing.
    fn compress(&mut self, payload: &[u8], data: Data) -> Option<Message> {
        let compressed = self.deflater.as_mut()?.compress(payload)?;
        let mut frame = Frame::message(compressed, OpCode::Data(data), true);
        frame.header_mut().rsv1 = true;
        Some(Message::Frame(frame))
    }

    /// Sends everything fed so far.
    pub(crate) async fn flush(&mut self) -> Result<(), TransportError> {
        let limit = self.max_write_buffer;
        self.frames = BytesMut::new();
        self.stream
            .flush()
            .await
            .map_err(|error| write_error(error, limit))
    }

    /// Closes the WebSocket (the Node server ignores an Engine.IO close packet here).
    pub(crate) async fn close(&mut self) {
        let _ = WebSocketStream::close(&mut self.stream, None).await;
    }
}

/// Room for a packet's text form: its type digit and its message, if any.
fn text_capacity(packet: &EnginePacket) -> usize {
    match packet {
        EnginePacket::Message(text) => text.len() + 1,
        _ => 8,
    }
}

/// tungstenite's write buffer size and bound for a bound of `max` bytes: the bound must be
/// above the buffer size, so a tiny bound shrinks the buffer (0 writes every frame at once).
fn write_buffer_sizes(max: usize) -> (usize, usize) {
    let buffer = WRITE_BUFFER_SIZE.min(max / 2);
    (buffer, max.max(buffer + 1))
}

/// A TCP connection to the server, without Nagle's delay.
async fn connect_tcp(target: &Target) -> Result<TcpStream, WsError> {
    let tcp = match &target.host {
        Host::Domain(domain) => TcpStream::connect((domain.as_str(), target.port)).await,
        Host::Ipv4(ip) => TcpStream::connect((*ip, target.port)).await,
        Host::Ipv6(ip) => TcpStream::connect((*ip, target.port)).await,
    }?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// TLS over `tcp` with the endpoint's configuration (roots, pins, client certificate).
async fn connect_tls(
    tcp: TcpStream,
    host: &Host<String>,
    config: std::sync::Arc<rustls::ClientConfig>,
) -> Result<Connection, WsError> {
    use rustls::pki_types::ServerName;
    let name = match host {
        Host::Domain(domain) => ServerName::try_from(domain.clone())
            .map_err(|_| WsError::Tls(TlsError::InvalidDnsName))?,
        Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(*ip).into()),
        Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(*ip).into()),
    };
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    Ok(Connection::Tls(Box::new(tls)))
}

fn write_error(error: WsError, limit: usize) -> TransportError {
    match error {
        WsError::WriteBufferFull(_) => TransportError::WriteBufferFull { limit },
        other => TransportError::WebSocket(other.to_string()),
    }
}

/// What a failed read means: the connection closed, or the server sent something the
/// client refuses, with its own cause (too large, a protocol violation, bad UTF-8).
fn read_error(error: WsError) -> WsInbound {
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            WsInbound::Invalid(TransportError::TooLarge {
                size,
                limit: max_size,
            })
        }
        WsError::Capacity(e) => WsInbound::Invalid(TransportError::WebSocket(e.to_string())),
        WsError::Utf8(_) => WsInbound::Invalid(TransportError::InvalidUtf8),
        // A connection that ends without a close frame is a closed connection, as is a
        // read after the close.
        WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake
            | ProtocolError::SendAfterClosing
            | ProtocolError::ReceivedAfterClosing,
        ) => WsInbound::Closed,
        WsError::Protocol(e) => WsInbound::Invalid(TransportError::Protocol(e.to_string())),
        WsError::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<InflateError>())
        {
            Some(&InflateError::TooLarge { size, limit }) => {
                WsInbound::Invalid(TransportError::TooLarge { size, limit })
            }
            Some(InflateError::Protocol(reason)) => {
                WsInbound::Invalid(TransportError::Protocol(reason.clone()))
            }
            None => WsInbound::Closed,
        },
        _ => WsInbound::Closed,
    }
}

/// The typed error of a failed upgrade request: a connection closed before the server
/// answered may be its TLS refusal of the client certificate
/// ([`Endpoint::closed_before_answer`]).
fn upgrade_error(endpoint: &Endpoint, error: WsError) -> TransportError {
    let closed = matches!(
        error,
        WsError::Io(_) | WsError::Protocol(ProtocolError::HandshakeIncomplete)
    );
    let typed = handshake_error(error);
    if closed {
        endpoint.closed_before_answer(typed)
    } else {
        endpoint.answered();
        typed
    }
}

fn handshake_error(error: WsError) -> TransportError {
    match error {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let message = response
                .body()
                .as_ref()
                .map(|body| server_text(String::from_utf8_lossy(body)))
                .unwrap_or_default();
            TransportError::Http { status, message }
        }
        WsError::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => super::tls::transport_error(tls),
            None => TransportError::Io(e.to_string()),
        },
        WsError::Tls(e) => match super::tls::find_rustls_error(&e) {
            Some(tls) => super::tls::transport_error(tls),
            None => TransportError::Tls(e.to_string()),
        },
        // Protocol errors may quote the server's headers.
        other => TransportError::WebSocket(server_text(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpSocket;
    use tokio::task::JoinHandle;
    use url::Url;

    use super::*;
    use crate::options::ManagerOptions;

    /// The most a socket's send buffer grows to: Linux's `tcp_wmem` maximum, or 4 MiB (the
    /// usual value, also macOS's) where it cannot be read.
    fn send_buffer_max() -> usize {
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
            .ok()
            .and_then(|text| text.split_whitespace().nth(2)?.parse().ok())
            .unwrap_or(4 << 20)
    }

    /// How many ping frames of 125 bytes the hostile server sends: their pongs (131 bytes
    /// each, masked) must exceed what the kernel takes in (the client's send buffer; the
    /// server's receive buffer is tiny) plus the bound, with a margin.
    fn ping_count(bound: usize) -> usize {
        (send_buffer_max() + bound + (8 << 20)) / 131
    }

    /// A server that accepts one WebSocket, sends `pings` ping frames then the Engine.IO
    /// packet `6` (noop), and never reads. Its receive buffer is small, so the client's
    /// pongs pile up on the client's side. The task keeps the connection open.
    async fn ping_flooding_server(pings: usize) -> (Url, JoinHandle<()>) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        let listener = socket.listen(1).expect("listen");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
            let mut ping = vec![0x89, 125];
            ping.extend_from_slice(&[b'p'; 125]);
            let burst = ping.repeat(1000);
            for _ in 0..pings.div_ceil(1000) {
                ws.get_mut().write_all(&burst).await.expect("send pings");
            }
            ws.get_mut()
                .write_all(&[0x81, 1, b'6'])
                .await
                .expect("send noop");
            std::future::pending::<()>().await;
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        (url, task)
    }

    async fn connect(url: &Url, max_write_buffer_bytes: usize) -> WebSocket {
        let options = ManagerOptions {
            max_write_buffer_bytes,
            ..ManagerOptions::default()
        };
        let endpoint = Endpoint::new(url, &options).expect("endpoint");
        WebSocket::connect(&endpoint, None).await.expect("connect")
    }

    #[tokio::test]
    async fn a_server_that_never_reads_fills_the_bounded_write_buffer_and_the_next_write_fails() {
        let limit = 256 * 1024;
        let (url, server) = ping_flooding_server(ping_count(limit)).await;
        let mut ws = connect(&url, limit).await;
        // Reading answers every ping; `recv` returns once the noop after them arrived.
        assert!(matches!(
            ws.recv().await,
            WsInbound::Packet(EnginePacket::Noop)
        ));
        // The pongs filled the buffer to within one pong (131 bytes) of the bound.
        let error = ws
            .feed(&EnginePacket::Message("m".repeat(1024)))
            .await
            .expect_err("the write buffer is full");
        assert!(
            matches!(error, TransportError::WriteBufferFull { limit: l } if l == limit),
            "{error:?}"
        );
        server.abort();
    }

    #[test]
    fn the_write_buffer_stays_below_its_bound_even_when_the_bound_is_tiny() {
        assert_eq!(write_buffer_sizes(16 << 20), (WRITE_BUFFER_SIZE, 16 << 20));
        assert_eq!(write_buffer_sizes(100_000), (50_000, 100_000));
        assert_eq!(write_buffer_sizes(1), (0, 1));
        assert_eq!(write_buffer_sizes(0), (0, 1));
    }
}
