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
        max_buffered_emits: defaults.max_buffered_emits as u64,
        max_buffered_bytes: defaults.max_buffered_bytes as u64,
        buffer_policy: defaults.buffer_policy.into(),
        retries: ferrio::SocketOptions::default().retries,
        room_join_event: defaults.room_join_event,
        room_leave_event: defaults.room_leave_event,
    }
}

impl ClientOptions {
    /// The core's manager options.
    ///
    /// # Errors
    /// [`ConnectError::InvalidOption`] for a pin that does not parse, or a client
    /// certificate without its key (or the other way round).
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
        Ok(ferrio::ManagerOptions {
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
            max_buffered_emits: usize::try_from(self.max_buffered_emits).unwrap_or(usize::MAX),
            max_buffered_bytes: usize::try_from(self.max_buffered_bytes).unwrap_or(usize::MAX),
            buffer_policy: self.buffer_policy.into(),
            room_join_event: self.room_join_event.clone(),
            room_leave_event: self.room_leave_event.clone(),
            ..defaults
        })
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
