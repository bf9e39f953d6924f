//! `ClientOptions`: the connection options, with the JavaScript client's names and defaults.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::ConnectError;
use crate::json;

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl From<Transport> for ferrio::TransportKind {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::Polling => ferrio::TransportKind::Polling,
            Transport::Websocket => ferrio::TransportKind::WebSocket,
        }
    }
}

impl From<ferrio::TransportKind> for Transport {
    fn from(transport: ferrio::TransportKind) -> Self {
        match transport {
            ferrio::TransportKind::Polling => Transport::Polling,
            ferrio::TransportKind::WebSocket => Transport::Websocket,
        }
    }
}

/// Which Socket.IO server version to speak ([`ferrio::ServerVersion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ServerVersion {
    /// Find out on the first connection (Engine.IO v4 first, Socket.IO 2.x when the server
    /// answers as one).
    Detect,
    /// Socket.IO 2.x servers (Engine.IO v3, Socket.IO protocol 4).
    V2,
    /// Socket.IO 3.x and 4.x servers only; a 2.x server is refused with
    /// [`ConnectError::Rejected`].
    V4,
}

impl From<ServerVersion> for ferrio::ServerVersion {
    fn from(version: ServerVersion) -> Self {
        match version {
            ServerVersion::Detect => ferrio::ServerVersion::Detect,
            ServerVersion::V2 => ferrio::ServerVersion::V2,
            ServerVersion::V4 => ferrio::ServerVersion::V4,
        }
    }
}

impl From<ferrio::ServerVersion> for ServerVersion {
    fn from(version: ferrio::ServerVersion) -> Self {
        match version {
            ferrio::ServerVersion::Detect => ServerVersion::Detect,
            ferrio::ServerVersion::V2 => ServerVersion::V2,
            ferrio::ServerVersion::V4 => ServerVersion::V4,
        }
    }
}

/// What to do with an emit when the offline buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BufferPolicy {
    /// Refuse the new emit with `BufferFull`.
    Reject,
    /// Drop the oldest buffered emit (its ack fails with `Discarded`) to make room.
    DropOldest,
}

impl From<BufferPolicy> for ferrio::BufferPolicy {
    fn from(policy: BufferPolicy) -> Self {
        match policy {
            BufferPolicy::Reject => ferrio::BufferPolicy::Reject,
            BufferPolicy::DropOldest => ferrio::BufferPolicy::DropOldest,
        }
    }
}

impl From<ferrio::BufferPolicy> for BufferPolicy {
    fn from(policy: ferrio::BufferPolicy) -> Self {
        match policy {
            ferrio::BufferPolicy::Reject => BufferPolicy::Reject,
            ferrio::BufferPolicy::DropOldest => BufferPolicy::DropOldest,
        }
    }
}

/// Options of a connection (a manager) and the auth of its sockets.
///
/// The fields that have a default in the core have none here: start from
/// [`default_client_options`], which fills them from the core, so that no binding writes a
/// default again.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientOptions {
    /// `http(s)://` or `ws(s)://` URL; its path is the namespace of `Client.connect`.
    pub url: String,
    /// The Engine.IO path on the server (JS `path`).
    pub path: String,
    /// Query parameters added to every request (JS `query`).
    #[uniffi(default)]
    pub query: HashMap<String, String>,
    /// Headers added to every request and to the WebSocket handshake (JS `extraHeaders`).
    #[uniffi(default)]
    pub extra_headers: HashMap<String, String>,
    /// Transports to try, in order (JS `transports`); empty for polling then WebSocket.
    #[uniffi(default)]
    pub transports: Vec<Transport>,
    /// Upgrade from polling to WebSocket when offered (JS `upgrade`).
    pub upgrade: bool,
    /// The Socket.IO version the server speaks
    /// ([`ferrio::ManagerOptions::server_version`]).
    pub server_version: ServerVersion,
    /// Handshake and namespace connect timeout (JS `timeout`).
    pub timeout_ms: u64,
    /// Default timeout of an emit with acknowledgement (JS `ackTimeout`).
    pub ack_timeout_ms: u64,
    /// Reconnect automatically (JS `reconnection`).
    pub reconnection: bool,
    /// Attempts before giving up, `None` for unlimited (JS `reconnectionAttempts`).
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay (JS `reconnectionDelay`).
    pub reconnection_delay_ms: u64,
    /// Longest reconnection delay (JS `reconnectionDelayMax`).
    pub reconnection_delay_max_ms: u64,
    /// Jitter of the reconnection delay, 0 to 1 (JS `randomizationFactor`).
    pub randomization_factor: f64,
    /// An extra CA certificate (PEM) trusted beside the system roots.
    #[uniffi(default = None)]
    pub ca_cert_pem: Option<String>,
    /// The auth payload (JSON text of an object) sent when connecting a namespace (JS `auth`).
    #[uniffi(default = None)]
    pub auth_json: Option<String>,
    /// Ask the server to compress polling responses (gzip, deflate) and WebSocket messages
    /// (permessage-deflate); the size limit counts the inflated bytes
    /// ([`ferrio::ManagerOptions::compression`]).
    pub compression: bool,
    /// Servers tried, in order, when `url` cannot be reached: on the first connection and
    /// on every reconnection ([`ferrio::ManagerOptions::fallback_urls`]).
    #[uniffi(default)]
    pub fallback_urls: Vec<String>,
    /// Pinned public keys, `sha256/<base64>` of a certificate's SubjectPublicKeyInfo: the
    /// server's verified chain must hold one of them, else [`ConnectError::PinMismatch`]
    /// ([`ferrio::ManagerOptions::certificate_pins`]).
    #[uniffi(default)]
    pub certificate_pins: Vec<String>,
    /// The client certificate chain (PEM) for mutual TLS; needs `client_key_pem`.
    #[uniffi(default = None)]
    pub client_cert_pem: Option<String>,
    /// The client certificate's private key (PEM: PKCS#8, RSA or EC).
    #[uniffi(default = None)]
    pub client_key_pem: Option<String>,
    /// Accept any server certificate, for development only; every connection logs a
    /// warning ([`ferrio::ManagerOptions::danger_accept_invalid_certs`]).
    #[uniffi(default = false)]
    pub danger_accept_invalid_certs: bool,
    /// The proxy of both transports ([`ferrio::Proxy::Url`]): `http://[user:pass@]host:port`
    /// (`CONNECT`, or plain proxying of polling to `http://` servers), `socks5h://…` (the
    /// proxy resolves the server's name) or `socks5://…`. `None`: see
    /// `proxy_from_environment`. A proxy that cannot be used is a
    /// [`ConnectError::Transport`] whose detail names it.
    #[uniffi(default = None)]
    pub proxy: Option<String>,
    /// Without `proxy`: use the environment's proxy as curl reads it (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, lower case first; the default), or connect
    /// directly (false) ([`ferrio::Proxy::Environment`], [`ferrio::Proxy::None`]).
    #[uniffi(default = true)]
    pub proxy_from_environment: bool,
    /// Emits the offline buffer holds at most while a namespace is not connected
    /// ([`ferrio::ManagerOptions::max_buffered_emits`]).
    pub max_buffered_emits: u64,
    /// Bytes the offline buffer holds at most ([`ferrio::ManagerOptions::max_buffered_bytes`]).
    pub max_buffered_bytes: u64,
    /// What a full offline buffer does with a new emit
    /// ([`ferrio::ManagerOptions::buffer_policy`]).
    pub buffer_policy: BufferPolicy,
    /// Tries per emit beyond the first, for at-least-once delivery, in every socket made
    /// with these options (JS `retries`, [`ferrio::SocketOptions::retries`]). With retries,
    /// every emit of the socket waits in an ordered queue for the server's ack (each try
    /// `ack_timeout_ms`), so the server must acknowledge them.
    pub retries: u32,
    /// The event `Socket.join_room` emits with the room name
    /// ([`ferrio::ManagerOptions::room_join_event`]).
    pub room_join_event: String,
    /// The event `Socket.leave_room` emits with the room name
    /// ([`ferrio::ManagerOptions::room_leave_event`]).
    pub room_leave_event: String,
    /// When the first transport cannot be opened, try the next one (JS `tryAllTransports`,
    /// [`ferrio::ManagerOptions::try_all_transports`]).
    pub try_all_transports: bool,
    /// Reconnect a namespace after the server disconnected it (`io server disconnect`)
    /// ([`ferrio::ManagerOptions::reconnect_on_server_disconnect`]).
    pub reconnect_on_server_disconnect: bool,
    /// Time allowed to the reconnection hook before each attempt
    /// ([`ferrio::ManagerOptions::reconnect_hook_timeout`]).
    pub reconnect_hook_timeout_ms: u64,
    /// Largest HTTP body or WebSocket message accepted from the server, decompressed; a
    /// larger one ends the connection (`message too large`)
    /// ([`ferrio::ManagerOptions::max_incoming_bytes`]).
    pub max_incoming_bytes: u64,
    /// Most packets in one polling payload; a payload over it is refused whole and ends the
    /// connection (`message too large`) ([`ferrio::ManagerOptions::max_payload_packets`]).
    pub max_payload_packets: u64,
    /// Most bytes the WebSocket holds waiting for the server to read them; past it the
    /// connection ends (`write stalled`) ([`ferrio::ManagerOptions::max_write_buffer_bytes`]).
    pub max_write_buffer_bytes: u64,
    /// Most cookies kept from one host ([`ferrio::ManagerOptions::max_cookies_per_host`]).
    pub max_cookies_per_host: u64,
    /// Most bytes of the cookies kept from one host
    /// ([`ferrio::ManagerOptions::max_cookie_bytes_per_host`]).
    pub max_cookie_bytes_per_host: u64,
    /// Most attachments one incoming binary packet may announce
    /// ([`ferrio::socketio::DecodeLimits::max_attachments`]).
    pub max_incoming_attachments: u64,
    /// Largest single incoming attachment, in bytes
    /// ([`ferrio::socketio::DecodeLimits::max_attachment_bytes`]).
    pub max_incoming_attachment_bytes: u64,
    /// Longest incoming packet text, in bytes ([`ferrio::socketio::DecodeLimits::max_packet_bytes`]).
    pub max_incoming_packet_bytes: u64,
    /// Most bytes of all the attachments of one incoming packet together
    /// ([`ferrio::socketio::DecodeLimits::max_binary_bytes`]).
    pub max_incoming_binary_bytes: u64,
    /// Most JSON values in one incoming packet ([`ferrio::socketio::DecodeLimits::max_json_values`]).
    pub max_incoming_json_values: u64,
    /// Most binary attachments in one outgoing packet (the server's `maxAttachments`)
    /// ([`ferrio::ManagerOptions::max_outgoing_attachments`]).
    pub max_outgoing_attachments: u64,
    /// Capacity of the queue of commands (emits) to the connection task
    /// ([`ferrio::ManagerOptions::command_capacity`]).
    pub command_capacity: u64,
    /// Capacity of each socket's queue of incoming events
    /// ([`ferrio::ManagerOptions::incoming_capacity`]).
    pub incoming_capacity: u64,
    /// Most bytes of events in each socket's incoming queue
    /// ([`ferrio::ManagerOptions::max_incoming_queue_bytes`]).
    pub max_incoming_queue_bytes: u64,
    /// Most events a namespace keeps when they arrive before the server's CONNECT reply;
    /// the rest are dropped and counted ([`ferrio::ManagerOptions::max_preconnect_events`]).
    pub max_preconnect_events: u64,
    /// Most bytes of the events kept before the CONNECT reply
    /// ([`ferrio::ManagerOptions::max_preconnect_bytes`]).
    pub max_preconnect_bytes: u64,
}

/// The options of a connection to `url` with the core's defaults
/// ([`ferrio::ManagerOptions::default`]): the defaults of every binding.
#[uniffi::export]
pub fn default_client_options(url: String) -> ClientOptions {
    let defaults = ferrio::ManagerOptions::default();
    ClientOptions {
        url,
        path: defaults.path,
        query: defaults.query.into_iter().collect(),
        extra_headers: defaults.extra_headers.into_iter().collect(),
        transports: defaults
            .transports
            .into_iter()
            .map(Transport::from)
            .collect(),
        upgrade: defaults.upgrade,
        server_version: defaults.server_version.into(),
        timeout_ms: millis(defaults.timeout),
        ack_timeout_ms: millis(defaults.ack_timeout),
        reconnection: defaults.reconnection,
        reconnection_attempts: defaults.reconnection_attempts,
        reconnection_delay_ms: millis(defaults.reconnection_delay),
        reconnection_delay_max_ms: millis(defaults.reconnection_delay_max),
        randomization_factor: defaults.randomization_factor,
        ca_cert_pem: None,
        auth_json: None,
        compression: defaults.compression,
        fallback_urls: defaults.fallback_urls,
        certificate_pins: Vec::new(),
        client_cert_pem: None,
        client_key_pem: None,
        danger_accept_invalid_certs: defaults.danger_accept_invalid_certs,
        proxy: None,
        proxy_from_environment: defaults.proxy == ferrio::Proxy::Environment,
        max_buffered_emits: count(defaults.max_buffered_emits),
        max_buffered_bytes: count(defaults.max_buffered_bytes),
        buffer_policy: defaults.buffer_policy.into(),
        retries: ferrio::SocketOptions::default().retries,
        room_join_event: defaults.room_join_event,
        room_leave_event: defaults.room_leave_event,
        try_all_transports: defaults.try_all_transports,
        reconnect_on_server_disconnect: defaults.reconnect_on_server_disconnect,
        reconnect_hook_timeout_ms: millis(defaults.reconnect_hook_timeout),
        max_incoming_bytes: count(defaults.max_incoming_bytes),
        max_payload_packets: count(defaults.max_payload_packets),
        max_write_buffer_bytes: count(defaults.max_write_buffer_bytes),
        max_cookies_per_host: count(defaults.max_cookies_per_host),
        max_cookie_bytes_per_host: count(defaults.max_cookie_bytes_per_host),
        max_incoming_attachments: count(defaults.decode_limits.max_attachments),
        max_incoming_attachment_bytes: count(defaults.decode_limits.max_attachment_bytes),
        max_incoming_packet_bytes: count(defaults.decode_limits.max_packet_bytes),
        max_incoming_binary_bytes: count(defaults.decode_limits.max_binary_bytes),
        max_incoming_json_values: count(defaults.decode_limits.max_json_values),
        max_outgoing_attachments: count(defaults.max_outgoing_attachments),
        command_capacity: count(defaults.command_capacity),
        incoming_capacity: count(defaults.incoming_capacity),
        max_incoming_queue_bytes: count(defaults.max_incoming_queue_bytes),
        max_preconnect_events: count(defaults.max_preconnect_events),
        max_preconnect_bytes: count(defaults.max_preconnect_bytes),
    }
}

impl ClientOptions {
    /// The core's manager options.
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`] for a pin that does not parse, a client certificate
    /// without its key (or the other way round), or a value the core refuses
    /// ([`ferrio::ManagerOptions::validate`]: a size bound of zero where zero would refuse
    /// everything).
    pub(crate) fn manager_options(&self) -> Result<ferrio::ManagerOptions, ConnectError> {
        let defaults = ferrio::ManagerOptions::default();
        let transports = if self.transports.is_empty() {
            defaults.transports.clone()
        } else {
            self.transports.iter().map(|&t| t.into()).collect()
        };
        let certificate_pins = self
            .certificate_pins
            .iter()
            .map(|pin| pin.parse::<ferrio::SpkiPin>())
            .collect::<Result<_, _>>()?;
        let client_certificate = match (&self.client_cert_pem, &self.client_key_pem) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ferrio::ClientCertificate {
                cert_chain_pem: cert.as_bytes().to_vec(),
                key_pem: key.as_bytes().to_vec(),
            }),
            _ => {
                return Err(ConnectError::InvalidOption {
                    detail: "a client certificate needs both client_cert_pem and client_key_pem"
                        .into(),
                })
            }
        };
        let options = ferrio::ManagerOptions {
            path: self.path.clone(),
            query: pairs(&self.query),
            extra_headers: pairs(&self.extra_headers),
            transports,
            upgrade: self.upgrade,
            server_version: self.server_version.into(),
            timeout: Duration::from_millis(self.timeout_ms),
            ack_timeout: Duration::from_millis(self.ack_timeout_ms),
            reconnection: self.reconnection,
            reconnection_attempts: self.reconnection_attempts,
            reconnection_delay: Duration::from_millis(self.reconnection_delay_ms),
            reconnection_delay_max: Duration::from_millis(self.reconnection_delay_max_ms),
            randomization_factor: self.randomization_factor,
            ca_certs_pem: self
                .ca_cert_pem
                .iter()
                .map(|pem| pem.as_bytes().to_vec())
                .collect(),
            compression: self.compression,
            fallback_urls: self.fallback_urls.clone(),
            certificate_pins,
            client_certificate,
            danger_accept_invalid_certs: self.danger_accept_invalid_certs,
            proxy: match (&self.proxy, self.proxy_from_environment) {
                (Some(url), _) => ferrio::Proxy::Url(url.clone()),
                (None, true) => ferrio::Proxy::Environment,
                (None, false) => ferrio::Proxy::None,
            },
            max_buffered_emits: size(self.max_buffered_emits),
            max_buffered_bytes: size(self.max_buffered_bytes),
            buffer_policy: self.buffer_policy.into(),
            room_join_event: self.room_join_event.clone(),
            room_leave_event: self.room_leave_event.clone(),
            try_all_transports: self.try_all_transports,
            reconnect_on_server_disconnect: self.reconnect_on_server_disconnect,
            reconnect_hook_timeout: Duration::from_millis(self.reconnect_hook_timeout_ms),
            max_incoming_bytes: size(self.max_incoming_bytes),
            max_payload_packets: size(self.max_payload_packets),
            max_write_buffer_bytes: size(self.max_write_buffer_bytes),
            max_cookies_per_host: size(self.max_cookies_per_host),
            max_cookie_bytes_per_host: size(self.max_cookie_bytes_per_host),
            decode_limits: ferrio::socketio::DecodeLimits {
                max_attachments: size(self.max_incoming_attachments),
                max_attachment_bytes: size(self.max_incoming_attachment_bytes),
                max_packet_bytes: size(self.max_incoming_packet_bytes),
                max_binary_bytes: size(self.max_incoming_binary_bytes),
                max_json_values: size(self.max_incoming_json_values),
            },
            max_outgoing_attachments: size(self.max_outgoing_attachments),
            command_capacity: size(self.command_capacity),
            incoming_capacity: size(self.incoming_capacity),
            max_incoming_queue_bytes: size(self.max_incoming_queue_bytes),
            max_preconnect_events: size(self.max_preconnect_events),
            max_preconnect_bytes: size(self.max_preconnect_bytes),
            ..defaults
        };
        options.validate()?;
        Ok(options)
    }

    /// The auth payload, parsed.
    pub(crate) fn auth(&self) -> Result<Option<ferrio::Value>, ConnectError> {
        parse_auth(self.auth_json.as_deref())
    }
}

/// Parses an auth payload: JSON text of an object.
pub(crate) fn parse_auth(text: Option<&str>) -> Result<Option<ferrio::Value>, ConnectError> {
    let Some(text) = text else { return Ok(None) };
    match json::value_from_json(text, Vec::new()) {
        Ok(value @ ferrio::Value::Object(_)) => Ok(Some(value)),
        Ok(_) => Err(ConnectError::InvalidOption {
            detail: "auth must be a JSON object".into(),
        }),
        Err(error) => Err(ConnectError::InvalidOption {
            detail: format!("auth: {error}"),
        }),
    }
}

/// A core count or size as the record carries it (`u64`, saturating).
fn count(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// A record's count or size as the core takes it (`usize`, saturating on 32-bit targets).
fn size(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Whole milliseconds, at most `u64::MAX`.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Map entries sorted by key, so requests are the same from run to run.
fn pairs(map: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_options_are_the_cores_defaults() {
        let core = ferrio::ManagerOptions::default();
        let options = default_client_options("http://localhost:3000".into());
        assert_eq!(options.url, "http://localhost:3000");
        assert_eq!(options.auth().unwrap(), None);
        let crossed = options.manager_options().expect("valid options");
        assert_eq!(crossed.path, core.path);
        assert_eq!(crossed.query, core.query);
        assert_eq!(crossed.extra_headers, core.extra_headers);
        assert_eq!(crossed.transports, core.transports);
        assert_eq!(crossed.upgrade, core.upgrade);
        assert_eq!(crossed.server_version, core.server_version);
        assert_eq!(crossed.timeout, core.timeout);
        assert_eq!(crossed.ack_timeout, core.ack_timeout);
        assert_eq!(crossed.reconnection, core.reconnection);
        assert_eq!(crossed.reconnection_attempts, core.reconnection_attempts);
        assert_eq!(crossed.reconnection_delay, core.reconnection_delay);
        assert_eq!(crossed.reconnection_delay_max, core.reconnection_delay_max);
        assert_eq!(crossed.randomization_factor, core.randomization_factor);
        assert_eq!(crossed.ca_certs_pem, core.ca_certs_pem);
        assert_eq!(crossed.compression, core.compression);
        assert_eq!(crossed.fallback_urls, core.fallback_urls);
        assert_eq!(crossed.max_buffered_emits, core.max_buffered_emits);
        assert_eq!(crossed.max_buffered_bytes, core.max_buffered_bytes);
        assert_eq!(crossed.buffer_policy, core.buffer_policy);
        assert_eq!(crossed.certificate_pins, core.certificate_pins);
        assert_eq!(crossed.client_certificate, core.client_certificate);
        assert_eq!(
            crossed.danger_accept_invalid_certs,
            core.danger_accept_invalid_certs
        );
        assert_eq!(crossed.proxy, core.proxy);
        assert_eq!(crossed.room_join_event, core.room_join_event);
        assert_eq!(crossed.room_leave_event, core.room_leave_event);
        assert_eq!(options.retries, ferrio::SocketOptions::default().retries);
        assert_eq!(crossed.try_all_transports, core.try_all_transports);
        assert_eq!(
            crossed.reconnect_on_server_disconnect,
            core.reconnect_on_server_disconnect
        );
        assert_eq!(crossed.reconnect_hook_timeout, core.reconnect_hook_timeout);
        assert_eq!(crossed.max_incoming_bytes, core.max_incoming_bytes);
        assert_eq!(crossed.max_payload_packets, core.max_payload_packets);
        assert_eq!(crossed.max_write_buffer_bytes, core.max_write_buffer_bytes);
        assert_eq!(crossed.max_cookies_per_host, core.max_cookies_per_host);
        assert_eq!(
            crossed.max_cookie_bytes_per_host,
            core.max_cookie_bytes_per_host
        );
        assert_eq!(crossed.decode_limits, core.decode_limits);
        assert_eq!(
            crossed.max_outgoing_attachments,
            core.max_outgoing_attachments
        );
        assert_eq!(crossed.command_capacity, core.command_capacity);
        assert_eq!(crossed.incoming_capacity, core.incoming_capacity);
        assert_eq!(
            crossed.max_incoming_queue_bytes,
            core.max_incoming_queue_bytes
        );
        assert_eq!(crossed.max_preconnect_events, core.max_preconnect_events);
        assert_eq!(crossed.max_preconnect_bytes, core.max_preconnect_bytes);
    }

    #[test]
    fn limits_cross_to_the_core_and_a_zero_bound_is_an_invalid_option() {
        let options = ClientOptions {
            max_incoming_bytes: 4096,
            max_payload_packets: 20,
            max_preconnect_events: 0,
            max_incoming_packet_bytes: 1000,
            ..default_client_options("http://localhost:3000".into())
        };
        let crossed = options.manager_options().expect("valid options");
        assert_eq!(crossed.max_incoming_bytes, 4096);
        assert_eq!(crossed.max_payload_packets, 20);
        assert_eq!(crossed.max_preconnect_events, 0);
        assert_eq!(crossed.decode_limits.max_packet_bytes, 1000);
        let zero = ClientOptions {
            max_incoming_bytes: 0,
            ..options
        };
        match zero.manager_options() {
            Err(ConnectError::InvalidOption { detail }) => {
                assert_eq!(detail, "max_incoming_bytes must be at least 1, not 0");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn room_events_cross_to_the_core() {
        let options = ClientOptions {
            room_join_event: "enter".into(),
            room_leave_event: "exit".into(),
            ..default_client_options("http://localhost:3000".into())
        };
        let crossed = options.manager_options().expect("valid options");
        assert_eq!(crossed.room_join_event, "enter");
        assert_eq!(crossed.room_leave_event, "exit");
    }

    #[test]
    fn each_server_version_crosses_to_the_core() {
        for (version, core) in [
            (ServerVersion::Detect, ferrio::ServerVersion::Detect),
            (ServerVersion::V2, ferrio::ServerVersion::V2),
            (ServerVersion::V4, ferrio::ServerVersion::V4),
        ] {
            let options = ClientOptions {
                server_version: version,
                ..default_client_options("http://localhost:3000".into())
            };
            let crossed = options.manager_options().expect("valid options");
            assert_eq!(crossed.server_version, core);
            assert_eq!(ServerVersion::from(core), version);
        }
    }

    #[test]
    fn the_proxy_crosses_to_the_core_and_the_environment_can_be_turned_off() {
        let defaults = default_client_options("http://localhost:3000".into());
        let proxy = |proxy: Option<&str>, proxy_from_environment: bool| {
            ClientOptions {
                proxy: proxy.map(str::to_owned),
                proxy_from_environment,
                ..defaults.clone()
            }
            .manager_options()
            .expect("valid options")
            .proxy
        };
        assert_eq!(
            proxy(Some("socks5h://p:1080"), false),
            ferrio::Proxy::Url("socks5h://p:1080".into())
        );
        assert_eq!(proxy(None, true), ferrio::Proxy::Environment);
        assert_eq!(proxy(None, false), ferrio::Proxy::None);
    }

    #[test]
    fn tls_options_cross_to_the_core_and_bad_ones_are_invalid_options() {
        let pin = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let options = ClientOptions {
            certificate_pins: vec![pin.into()],
            client_cert_pem: Some("cert".into()),
            client_key_pem: Some("key".into()),
            danger_accept_invalid_certs: true,
            ..default_client_options("https://localhost:3000".into())
        };
        let crossed = options.manager_options().expect("valid options");
        assert_eq!(crossed.certificate_pins, [pin.parse().expect("pin")]);
        let identity = crossed.client_certificate.expect("a client certificate");
        assert_eq!(identity.cert_chain_pem, b"cert");
        assert_eq!(identity.key_pem, b"key");
        assert!(crossed.danger_accept_invalid_certs);
        for bad in [
            ClientOptions {
                certificate_pins: vec!["md5/abc".into()],
                ..options.clone()
            },
            ClientOptions {
                client_key_pem: None,
                ..options.clone()
            },
        ] {
            assert!(matches!(
                bad.manager_options(),
                Err(ConnectError::InvalidOption { .. })
            ));
        }
    }

    #[test]
    fn no_transports_means_the_cores_transports() {
        let options = ClientOptions {
            transports: Vec::new(),
            ..default_client_options("http://localhost:3000".into())
        };
        assert_eq!(
            options.manager_options().expect("valid options").transports,
            ferrio::ManagerOptions::default().transports
        );
    }

    #[test]
    fn a_duration_beyond_u64_milliseconds_saturates() {
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
    }
}
