//! Connection options, with the official JavaScript client's names and defaults.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::socketio::DecodeLimits;
use crate::value::Value;

/// Fresh settings returned by a [`ReconnectHook`] before a reconnection attempt. Fields left
/// `None` keep their current value.
#[derive(Debug, Clone, Default)]
pub struct ReconnectUpdate {
    /// A new server URL (its path is ignored: namespaces stay as they are).
    pub url: Option<String>,
    /// New query parameters, replacing the previous ones.
    pub query: Option<Vec<(String, String)>>,
    /// New extra headers, replacing the previous ones.
    pub extra_headers: Option<Vec<(String, String)>>,
    /// A new auth payload for every namespace (a JSON object), e.g. a refreshed token.
    pub auth: Option<Value>,
}

/// An async callback called before every reconnection attempt with the attempt number
/// (from 1), returning fresh settings (token refresh). It runs under
/// [`ManagerOptions::reconnect_hook_timeout`]; a hook that times out fails the attempt.
#[derive(Clone)]
pub struct ReconnectHook(pub(crate) Arc<HookFn>);

/// The boxed form of a [`ReconnectHook`].
type HookFn = dyn Fn(u32) -> Pin<Box<dyn Future<Output = ReconnectUpdate> + Send>> + Send + Sync;

impl ReconnectHook {
    /// Wraps an async closure.
    pub fn new<F, Fut>(hook: F) -> Self
    where
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ReconnectUpdate> + Send + 'static,
    {
        Self(Arc::new(move |attempt| Box::pin(hook(attempt))))
    }
}

impl fmt::Debug for ReconnectHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReconnectHook")
    }
}

/// What to do with an emit when the offline buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BufferPolicy {
    /// Refuse the new emit with [`EmitError::BufferFull`](crate::EmitError::BufferFull).
    #[default]
    Reject,
    /// Drop the oldest buffered emit (its ack fails with
    /// [`AckError::Discarded`](crate::AckError::Discarded)) to make room.
    DropOldest,
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used on the wire and in the JS client's `transports` option.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// Which Socket.IO server version to speak: [`ManagerOptions::server_version`].
///
/// The two protocol generations differ on the wire (who sends the heartbeat, how polling
/// payloads are framed, how binary travels, how namespaces connect) and a server speaks
/// only its own, so the client must match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerVersion {
    /// Find out (the default): the first handshake speaks Engine.IO v4; when the server
    /// answers as a Socket.IO 2.x server (an Engine.IO v3 polling payload, a namespace
    /// reply without a socket id, or an HTTP 400 refusing an unsupported version as
    /// python-socketio 4.x answers), the client does the handshake again as
    /// [`ServerVersion::V2`], once, and speaks v2 to this server for every later connection
    /// of the manager. Costs one extra handshake against a 2.x server, nothing otherwise.
    #[default]
    Detect,
    /// Socket.IO 2.x servers: Engine.IO v3 and Socket.IO protocol v4 (the client sends the
    /// heartbeat pings, length-prefixed polling payloads with base64 binary, the server
    /// connects `/` by itself, namespaces get the manager's query and no auth). A server
    /// that does not speak it is refused with a typed error.
    V2,
    /// Socket.IO 3.x and 4.x servers: Engine.IO v4 and Socket.IO protocol v5. A 2.x server
    /// is refused with [`ConnectError::Rejected`](crate::ConnectError::Rejected) ("the
    /// server speaks an older Socket.IO protocol").
    V4,
}

/// Which proxy the connection goes through: [`ManagerOptions::proxy`]. Both transports
/// (polling and WebSocket, the upgrade included) follow the same one.
///
/// Proxy URLs: `http://host:port` (HTTP: a `CONNECT` tunnel for `https://`, `ws://` and
/// `wss://` servers, plain proxying of polling requests to `http://` servers),
/// `socks5h://host:port` (SOCKS5, the proxy resolves the server's name) and
/// `socks5://host:port` (SOCKS5, the client resolves it). Credentials go in the URL,
/// percent-encoded: `http://user:password@host:port` (Basic `Proxy-Authorization`) or
/// `socks5h://user:password@host:port` (SOCKS5 username/password). Without a port, HTTP
/// proxies use 80 and SOCKS5 proxies 1080; a URL without a scheme is HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Proxy {
    /// The environment's proxy, as curl reads it (the default): for an `https://` or
    /// `wss://` server `https_proxy` then `HTTPS_PROXY`, for `http://` or `ws://`
    /// `http_proxy` then `HTTP_PROXY` (the upper-case one is ignored in a CGI program,
    /// where `REQUEST_METHOD` is set), and when those are unset or empty `all_proxy` then
    /// `ALL_PROXY`. No proxy when the server's host matches `no_proxy` (or `NO_PROXY`): a
    /// comma-separated list of `*` (every host), host names (matching the name and its
    /// subdomains; a leading `.` or `*.` is ignored), IP addresses and CIDR ranges
    /// (`10.0.0.0/8`). The variables are read each time a connection is made.
    #[default]
    Environment,
    /// No proxy: connect directly, whatever the environment says.
    None,
    /// This proxy for every server, whatever the environment says (`no_proxy` included).
    Url(String),
}

/// Options of a [`Manager`](crate::Manager): one Engine.IO connection.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// The Engine.IO path on the server. Default `/socket.io/` (JS `path`).
    pub path: String,
    /// Query parameters added to every request (JS `query`), after those of the URL.
    pub query: Vec<(String, String)>,
    /// Headers added to every HTTP request and to the WebSocket handshake (JS `extraHeaders`).
    pub extra_headers: Vec<(String, String)>,
    /// Transports to try, in order (JS `transports`). Default polling, then WebSocket.
    pub transports: Vec<TransportKind>,
    /// Upgrade from polling to WebSocket when the server offers it (JS `upgrade`). Default true.
    pub upgrade: bool,
    /// When the first transport cannot be opened, try the next one (JS `tryAllTransports`).
    /// Default true: a blocked WebSocket falls back to polling.
    pub try_all_transports: bool,
    /// The Socket.IO version the server speaks. Default [`ServerVersion::Detect`]: found out
    /// on the first connection, with no setting needed for a Socket.IO 2.x server.
    pub server_version: ServerVersion,
    /// Time allowed for the handshake and for each namespace's CONNECT reply (JS `timeout`).
    /// Default 20 s.
    pub timeout: Duration,
    /// Default timeout of an emit with acknowledgement (JS `ackTimeout`). Default 30 s; the
    /// JS client waits forever, which hangs on a server that never answers.
    pub ack_timeout: Duration,
    /// Reconnect automatically after a lost connection (JS `reconnection`). Default true.
    pub reconnection: bool,
    /// Attempts before giving up, `None` for unlimited (JS `reconnectionAttempts`).
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay (JS `reconnectionDelay`). Default 1 s.
    pub reconnection_delay: Duration,
    /// Longest reconnection delay (JS `reconnectionDelayMax`). Default 5 s.
    pub reconnection_delay_max: Duration,
    /// Jitter factor of the reconnection delay, 0 to 1 (JS `randomizationFactor`). Default 0.5.
    pub randomization_factor: f64,
    /// Reconnect a namespace after the server disconnected it (`io server disconnect`).
    /// Default false, as in the JS client.
    pub reconnect_on_server_disconnect: bool,
    /// Called before every reconnection attempt for fresh URL, query, headers or auth.
    /// A URL it returns replaces the manager's URL (the first endpoint tried), and
    /// [`ManagerOptions::fallback_urls`] still follow it.
    pub on_reconnect: Option<ReconnectHook>,
    /// Servers tried, in order, when the manager's URL cannot be reached: on the first
    /// connection and on every reconnection attempt, each attempt starts again from the
    /// manager's URL. Each server gets [`ManagerOptions::timeout`]; an attempt fails (and
    /// reconnection backs off) only when none of them opened, with the last one's error.
    /// Their paths are ignored (namespaces stay as they are); query, headers, cookies and
    /// TLS settings are shared. Default empty.
    pub fallback_urls: Vec<String>,
    /// Time allowed to [`ManagerOptions::on_reconnect`]. Default 10 s.
    pub reconnect_hook_timeout: Duration,
    /// Most emits buffered per namespace while it is not connected. Default 10,000.
    pub max_buffered_emits: usize,
    /// Most bytes buffered per namespace while it is not connected. Default 16 MiB.
    pub max_buffered_bytes: usize,
    /// What happens to an emit when the buffer is full. Default [`BufferPolicy::Reject`].
    pub buffer_policy: BufferPolicy,
    /// The event that [`Socket::join_room`](crate::Socket::join_room) emits with the room
    /// name (and `leave_room` with `room_leave_event`). Default `join` / `leave`.
    pub room_join_event: String,
    /// See [`ManagerOptions::room_join_event`]. Default `leave`.
    pub room_leave_event: String,
    /// Extra CA certificates (PEM) trusted for `https://`/`wss://`, beside the system roots.
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// Public keys the server's certificate chain must hold one of (certificate pinning, as
    /// OkHttp's `CertificatePinner`). Default empty: no pinning. A connection succeeds only
    /// when normal verification passes *and* one certificate of the verified chain (the
    /// server's own, an intermediate, or the trusted root that signed them) has a pinned
    /// key; certificates the server sends that are not part of that chain do not count, or
    /// anyone could append a pinned certificate to their own chain. Otherwise the
    /// connection fails with [`TransportError::PinMismatch`](crate::TransportError::PinMismatch),
    /// reported as any certificate error is: to `connect()` and as a `connect_error` on
    /// every attempt, and reconnection goes on with its backoff (the server may be rolling
    /// out a new certificate) until `reconnection_attempts` are used up. Pin more than one
    /// key (the next one, or the CA's) so a certificate can be renewed without an update
    /// of the app. Cannot be combined with [`ManagerOptions::danger_accept_invalid_certs`].
    pub certificate_pins: Vec<SpkiPin>,
    /// A client certificate presented when the server asks for one (mutual TLS). Default
    /// none. A PEM that does not parse fails [`Manager::new`](crate::Manager::new) with
    /// [`ConnectError::InvalidOption`](crate::ConnectError::InvalidOption).
    pub client_certificate: Option<ClientCertificate>,
    /// Accept any server certificate: expired, self-signed, for another host. **For
    /// development only**: the connection is encrypted but not authenticated, so anyone on
    /// the path can read and change it. Default false. Every connection made this way (the
    /// first, each reconnection, each server tried) logs a `tracing` warning. Trusting a
    /// development CA with [`ManagerOptions::ca_certs_pem`] is the safe alternative.
    pub danger_accept_invalid_certs: bool,
    /// The proxy of both transports. Default [`Proxy::Environment`]: `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl reads them. A proxy that cannot be
    /// used ends the attempt with [`ProxyError`](crate::ProxyError).
    pub proxy: Proxy,
    /// Largest HTTP body or WebSocket message accepted from the server. Default 16 MiB.
    /// A compressed polling body or WebSocket message counts its decompressed bytes (see
    /// [`ManagerOptions::compression`]).
    pub max_incoming_bytes: usize,
    /// Compression on both transports, where the server supports it. Default true.
    ///
    /// - Polling: the client asks for compressed responses (`Accept-Encoding: gzip,
    ///   deflate`) and decompresses them as they are read. The Node server compresses a
    ///   response of 1 KiB or more (its `httpCompression` option, on by default).
    /// - WebSocket: the client offers permessage-deflate (RFC 7692,
    ///   `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`). A server
    ///   that declines it (socket.io 4's `perMessageDeflate` is off by default) gets plain
    ///   frames. When accepted, the client inflates every compressed message and compresses
    ///   the messages it sends of 1 KiB or more (the threshold of Node's `ws`: smaller ones
    ///   gain little), keeping the window between messages unless the server asks for
    ///   `client_no_context_takeover`. The client compresses with a 32 KiB window only: a
    ///   server that bounds the client's window lower (`client_max_window_bits` under 15)
    ///   receives plain frames, which is allowed.
    ///
    /// Decompression streams: a body or message is bounded by
    /// [`ManagerOptions::max_incoming_bytes`] counted after decompression, so a compression
    /// bomb ends the read with [`TransportError::TooLarge`](crate::TransportError::TooLarge)
    /// (disconnect reason `message too large`), never in memory.
    pub compression: bool,
    /// Most packets in one polling payload (a GET response). Default 100,000, far more
    /// than a server sends (one packet per message written since the previous poll). A
    /// payload over it is refused whole (none of its packets is used) with
    /// [`EngineDecodeError::TooManyPackets`](crate::engineio::EngineDecodeError::TooManyPackets)
    /// and the connection ends. Whatever the count, a payload is decoded one packet at a
    /// time as the client handles them, and the next one is polled only then: the memory of
    /// polling stays that of one body (at most `max_incoming_bytes`) and one packet.
    pub max_payload_packets: usize,
    /// Most bytes the WebSocket may hold waiting for the server to read them: frames not yet
    /// taken by the operating system, such as the automatic replies to the server's ping
    /// frames. Default 16 MiB. A server that stops reading cannot make the client hold more:
    /// the write that would go past the bound fails with
    /// [`TransportError::WriteBufferFull`](crate::TransportError::WriteBufferFull) and the
    /// connection ends (reason `write stalled`). One outgoing WebSocket message larger than
    /// this bound cannot be sent either, so keep it above the server's `maxPayload`.
    pub max_write_buffer_bytes: usize,
    /// Most cookies kept from one host (the cookie jar serves sticky sessions). Default 50.
    /// A cookie that takes its host past this count or past
    /// [`ManagerOptions::max_cookie_bytes_per_host`] pushes out that host's least recently
    /// set cookies (logged as a warning). At most 16 hosts keep cookies (a server may
    /// redirect to other hosts): a new one drops the cookies of the host that set one least
    /// recently.
    pub max_cookies_per_host: usize,
    /// Most bytes (names, values, domains and paths) of the cookies kept from one host.
    /// Default 16 KiB. A single cookie larger than this is ignored; see
    /// [`ManagerOptions::max_cookies_per_host`] for the policy.
    pub max_cookie_bytes_per_host: usize,
    /// Limits of the Socket.IO decoder (attachments count and size).
    pub decode_limits: DecodeLimits,
    /// Most binary attachments in one outgoing packet (the server's `maxAttachments`). Default 10.
    pub max_outgoing_attachments: usize,
    /// Capacity of the queue of commands (emits) to the connection task. Default 1024.
    pub command_capacity: usize,
    /// Capacity of each queue of a socket's incoming events: each
    /// [`EventStream`](crate::EventStream) and the dispatcher of its Rust listeners have
    /// one, filled by the connection task. Default 1024. When a consumer falls this far
    /// behind, the connection stops reading (TCP slows the server down)
    /// for up to a second; past that, further events are dropped and a
    /// [`SocketEvent::Lagged`](crate::SocketEvent::Lagged) reports to that consumer how
    /// many. Also the capacity of each socket's queue of outgoing events to its
    /// [`Socket::on_any_outgoing`](crate::Socket::on_any_outgoing) listeners, where the
    /// overflow is dropped and logged as a warning with its count.
    pub incoming_capacity: usize,
    /// Most bytes of events in each socket's incoming queue, counted as their size on the
    /// wire (text and attachments) plus 40 bytes (a decoded value) per JSON value, from
    /// the moment the connection task queues them until taken, each copy counted (the
    /// dispatcher's and each [`EventStream`](crate::EventStream)'s). Default 8 MiB. The
    /// queues take an event while they hold less than this, so they hold at most this
    /// plus one event; past it the same policy as [`ManagerOptions::incoming_capacity`] applies: reading stops for up to a
    /// second, then events are dropped and a
    /// [`SocketEvent::Lagged`](crate::SocketEvent::Lagged) reports how many.
    pub max_incoming_queue_bytes: usize,
    /// Most events a namespace keeps when they arrive before the server's CONNECT reply
    /// (they are delivered right after it). Default 1024. A server sends its reply first,
    /// so this only bounds a misbehaving one: past this count or
    /// [`ManagerOptions::max_preconnect_bytes`], further events are dropped, and a
    /// [`SocketEvent::Lagged`](crate::SocketEvent::Lagged) with their number comes before
    /// the [`SocketEvent::Connect`](crate::SocketEvent::Connect). The events kept are
    /// dropped the same way when the CONNECT times out or the connection is lost.
    pub max_preconnect_events: usize,
    /// Most bytes (counted as for [`ManagerOptions::max_incoming_queue_bytes`]) of the
    /// events kept before the CONNECT reply; see
    /// [`ManagerOptions::max_preconnect_events`]. Default 1 MiB.
    pub max_preconnect_bytes: usize,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            path: "/socket.io/".into(),
            query: Vec::new(),
            extra_headers: Vec::new(),
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade: true,
            try_all_transports: true,
            server_version: ServerVersion::Detect,
            timeout: Duration::from_secs(20),
            ack_timeout: Duration::from_secs(30),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            reconnect_on_server_disconnect: false,
            on_reconnect: None,
            fallback_urls: Vec::new(),
            reconnect_hook_timeout: Duration::from_secs(10),
            max_buffered_emits: 10_000,
            max_buffered_bytes: 16 * 1024 * 1024,
            buffer_policy: BufferPolicy::Reject,
            room_join_event: "join".into(),
            room_leave_event: "leave".into(),
            ca_certs_pem: Vec::new(),
            certificate_pins: Vec::new(),
            client_certificate: None,
            danger_accept_invalid_certs: false,
            proxy: Proxy::Environment,
            max_incoming_bytes: 16 * 1024 * 1024,
            compression: true,
            max_payload_packets: 100_000,
            max_write_buffer_bytes: 16 * 1024 * 1024,
            max_cookies_per_host: 50,
            max_cookie_bytes_per_host: 16 * 1024,
            decode_limits: DecodeLimits::default(),
            max_outgoing_attachments: 10,
            command_capacity: 1024,
            incoming_capacity: 1024,
            max_incoming_queue_bytes: 8 * 1024 * 1024,
            max_preconnect_events: 1024,
            max_preconnect_bytes: 1024 * 1024,
        }
    }
}

impl ManagerOptions {
    /// Checks the options a connection cannot work with: a size or capacity bound of zero
    /// where zero would refuse everything the server sends or the client queues
    /// (`max_incoming_bytes`, `max_payload_packets`, `max_write_buffer_bytes`,
    /// `command_capacity`, `incoming_capacity`, `max_incoming_queue_bytes`, and the
    /// decoder's `max_packet_bytes` and `max_json_values`), and a `randomization_factor`
    /// outside 0 to 1. Bounds where zero means "none of these" stay valid:
    /// `max_preconnect_events` and `_bytes` (no events kept before the CONNECT reply),
    /// `max_buffered_emits` and `_bytes` (no offline buffer), the attachment bounds (no
    /// binary), `max_cookies_per_host` (no cookies). [`Manager::new`](crate::Manager::new)
    /// calls it, so every language gets the same errors.
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`](crate::ConnectError::InvalidOption) naming the first
    /// invalid option and its value.
    pub fn validate(&self) -> Result<(), crate::ConnectError> {
        let at_least_one = [
            ("max_incoming_bytes", self.max_incoming_bytes),
            ("max_payload_packets", self.max_payload_packets),
            ("max_write_buffer_bytes", self.max_write_buffer_bytes),
            ("command_capacity", self.command_capacity),
            ("incoming_capacity", self.incoming_capacity),
            ("max_incoming_queue_bytes", self.max_incoming_queue_bytes),
            ("max_packet_bytes", self.decode_limits.max_packet_bytes),
            ("max_json_values", self.decode_limits.max_json_values),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, value)| *value == 0) {
            return Err(crate::ConnectError::InvalidOption(format!(
                "{name} must be at least 1, not 0"
            )));
        }
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            return Err(crate::ConnectError::InvalidOption(format!(
                "randomization_factor must be from 0 to 1, not {}",
                self.randomization_factor
            )));
        }
        Ok(())
    }
}

/// A pinned public key: the SHA-256 of a certificate's DER-encoded SubjectPublicKeyInfo,
/// as HPKP (RFC 7469), OkHttp and TrustKit pin. Its text form is `sha256/<base64>`, which
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
/// -binary | base64` prints the base64 of.
///
/// ```
/// let pin: ferrio::SpkiPin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse()?;
/// assert_eq!(pin, ferrio::SpkiPin([0; 32]));
/// assert_eq!(pin.to_string(), "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
/// # Ok::<(), ferrio::ConnectError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpkiPin(pub [u8; 32]);

impl SpkiPin {
    /// The pin of a DER-encoded SubjectPublicKeyInfo (its SHA-256).
    pub fn of_spki_der(spki: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, spki);
        let mut hash = [0; 32];
        hash.copy_from_slice(digest.as_ref());
        Self(hash)
    }
}

impl std::str::FromStr for SpkiPin {
    type Err = crate::ConnectError;

    /// Parses `sha256/<base64 of 32 bytes>` (standard alphabet, padding optional; spaces
    /// around it are ignored).
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`](crate::ConnectError::InvalidOption) for another
    /// prefix, bad base64, or a hash that is not 32 bytes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
        use base64::Engine as _;
        let invalid = |why: &str| {
            crate::ConnectError::InvalidOption(format!(
                "certificate pin `{}`: {why}",
                crate::server_text::server_text(text)
            ))
        };
        let encoded = text
            .trim()
            .strip_prefix("sha256/")
            .ok_or_else(|| invalid("expected `sha256/<base64>`"))?;
        let bytes = if encoded.ends_with('=') {
            STANDARD.decode(encoded)
        } else {
            STANDARD_NO_PAD.decode(encoded)
        }
        .map_err(|e| invalid(&format!("bad base64: {e}")))?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| invalid(&format!("{} bytes, not 32", bytes.len())))?;
        Ok(Self(hash))
    }
}

impl fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(self.0);
        write!(f, "sha256/{encoded}")
    }
}

impl fmt::Debug for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpkiPin({self})")
    }
}

/// A client certificate for mutual TLS: the certificate chain (the client's certificate
/// first) and its private key, both PEM. The key may be PKCS#8 (`BEGIN PRIVATE KEY`),
/// PKCS#1 RSA (`BEGIN RSA PRIVATE KEY`) or SEC1 EC (`BEGIN EC PRIVATE KEY`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate chain, PEM.
    pub cert_chain_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field(
                "cert_chain_pem",
                &format_args!("{} bytes", self.cert_chain_pem.len()),
            )
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Options of one [`Socket`](crate::Socket) (namespace).
#[derive(Debug, Clone, Default)]
pub struct SocketOptions {
    /// The auth payload sent in CONNECT (JS `auth`); must be a JSON object. A Socket.IO
    /// 2.x server ([`ServerVersion::V2`]) has no auth: it is not sent there, and the
    /// namespace gets the manager's query instead ([`ManagerOptions::query`]).
    pub auth: Option<Value>,
    /// Tries per emit beyond the first, for at-least-once delivery (JS `retries`). With
    /// retries, emits go one at a time through an ordered queue and each waits for the
    /// server's ack (`ack_timeout` per try, a new ack id each), so the server must
    /// acknowledge them. The queue counts in the offline buffer's bounds
    /// ([`ManagerOptions::max_buffered_emits`], [`ManagerOptions::buffer_policy`]). Default 0.
    pub retries: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change of one option.
    type Change = fn(&mut ManagerOptions);

    #[test]
    fn the_defaults_are_valid() {
        ManagerOptions::default()
            .validate()
            .expect("valid defaults");
    }

    #[test]
    fn a_zero_bound_that_would_refuse_everything_is_an_invalid_option() {
        let zeroed: [(&str, Change); 8] = [
            ("max_incoming_bytes", |o| o.max_incoming_bytes = 0),
            ("max_payload_packets", |o| o.max_payload_packets = 0),
            ("max_write_buffer_bytes", |o| o.max_write_buffer_bytes = 0),
            ("command_capacity", |o| o.command_capacity = 0),
            ("incoming_capacity", |o| o.incoming_capacity = 0),
            ("max_incoming_queue_bytes", |o| {
                o.max_incoming_queue_bytes = 0
            }),
            ("max_packet_bytes", |o| o.decode_limits.max_packet_bytes = 0),
            ("max_json_values", |o| o.decode_limits.max_json_values = 0),
        ];
        for (name, zero) in zeroed {
            let mut options = ManagerOptions::default();
            zero(&mut options);
            match options.validate() {
                Err(crate::ConnectError::InvalidOption(text)) => {
                    assert_eq!(text, format!("{name} must be at least 1, not 0"));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn zero_stays_valid_where_it_means_none() {
        let options = ManagerOptions {
            max_preconnect_events: 0,
            max_preconnect_bytes: 0,
            max_buffered_emits: 0,
            max_buffered_bytes: 0,
            max_outgoing_attachments: 0,
            max_cookies_per_host: 0,
            decode_limits: DecodeLimits {
                max_attachments: 0,
                ..DecodeLimits::default()
            },
            ..ManagerOptions::default()
        };
        options.validate().expect("valid");
    }

    #[test]
    fn a_randomization_factor_outside_0_to_1_is_an_invalid_option() {
        for factor in [-0.1, 1.5, f64::NAN] {
            let options = ManagerOptions {
                randomization_factor: factor,
                ..ManagerOptions::default()
            };
            assert!(matches!(
                options.validate(),
                Err(crate::ConnectError::InvalidOption(_))
            ));
        }
    }
}
