//! WebSocket: one Engine.IO packet per message; binary packets as raw binary frames.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::Endpoint;
use crate::engineio::EnginePacket;
use crate::error::TransportError;

/// Bytes read per `read` call, and the read buffer's size. tungstenite's default (128 KiB)
/// zero-fills that much on every read attempt and keeps it resident per connection;
/// Socket.IO packets are small, and larger frames still grow the buffer as needed.
pub(crate) const READ_BUFFER_SIZE: usize = 16 * 1024;

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

/// An open WebSocket to the server.
#[derive(Debug)]
pub(crate) struct WebSocket {
    stream: Box<WebSocketStream<MaybeTlsStream<TcpStream>>>,
}

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
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
        let connector = endpoint.is_tls().then(|| Connector::Rustls(endpoint.tls()));
        let (stream, response) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            connector,
        )
        .await
        .map_err(handshake_error)?;
        endpoint.store_cookies(response.headers());
        Ok(Self {
            stream: Box::new(stream),
        })
    }

    /// Reads the next packet. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> WsInbound {
        loop {
            let message = match self.stream.next().await {
                None => return WsInbound::Closed,
                Some(Err(error)) => {
                    tracing::debug!(%error, "websocket read failed");
                    return match error {
                        WsError::Capacity(e) => {
                            WsInbound::Invalid(TransportError::WebSocket(e.to_string()))
                        }
                        _ => WsInbound::Closed,
                    };
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

    /// Queues `packet` in the write buffer; [`WebSocket::flush`] sends it.
    pub(crate) async fn feed(&mut self, packet: &EnginePacket) -> Result<(), TransportError> {
        let message = match packet {
            EnginePacket::Binary(data) => Message::Binary(data.clone()),
            other => {
                // Encoded straight into the frame's own buffer: one copy of the payload.
                let mut text = String::with_capacity(text_capacity(other));
                other.encode_text(&mut text);
                Message::Text(text.into())
            }
        };
        self.stream.feed(message).await.map_err(write_error)
    }

    /// Sends everything fed so far.
    pub(crate) async fn flush(&mut self) -> Result<(), TransportError> {
        self.stream.flush().await.map_err(write_error)
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

fn write_error(error: WsError) -> TransportError {
    TransportError::WebSocket(error.to_string())
}

fn handshake_error(error: WsError) -> TransportError {
    match error {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let message = response
                .body()
                .as_ref()
                .map(|body| String::from_utf8_lossy(body).into_owned())
                .unwrap_or_default();
            TransportError::Http { status, message }
        }
        WsError::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => TransportError::Tls(tls.to_string()),
            None => TransportError::Io(e.to_string()),
        },
        WsError::Tls(e) => TransportError::Tls(e.to_string()),
        other => TransportError::WebSocket(other.to_string()),
    }
}
