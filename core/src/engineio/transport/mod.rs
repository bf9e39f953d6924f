//! Engine.IO transports: I/O only. The session in [`super::session`] drives them.

pub(crate) mod client_auth;
pub(crate) mod cookies;
pub(crate) mod deflate;
pub(crate) mod polling;
pub(crate) mod proxy;
pub(crate) mod tls;
pub(crate) mod websocket;

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::cookie::CookieStore;
use url::Url;

use self::client_auth::EndpointTls;
use self::cookies::{CookieJar, CookieLimits};
use self::proxy::{ProcessEnv, ProxyKind, ProxyUrl};
use crate::engineio::version::{EngineVersion, VersionChoice};
use crate::error::{ConnectError, ProxyError, TransportError};
use crate::options::{ManagerOptions, ReconnectUpdate, TransportKind};
use crate::server_text::server_text;

/// Where and how to reach the server: URLs, headers, cookies, TLS. Shared by all transports
/// of a manager, so the cookie jar serves polling requests and the WebSocket upgrade alike.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The URL as the user gave it.
    url: Url,
    /// The user's query parameters.
    query: Vec<(String, String)>,
    /// The user's extra headers.
    extra_headers: Vec<(String, String)>,
    /// `http(s)://host:port/path/` with the user's query parameters.
    base: Url,
    headers: HeaderMap,
    jar: Arc<CookieJar>,
    /// Built on first use: a WebSocket-only connection never pays for an HTTP client.
    http: OnceLock<reqwest::Client>,
    pub(crate) connect_timeout: std::time::Duration,
    /// Whether polling responses may come compressed and the WebSocket offers
    /// permessage-deflate (`ManagerOptions::compression`).
    compression: bool,
    /// The TLS configuration, and what its handshakes showed of client authentication
    /// (carried over by [`Endpoint::updated`], like the cookie jar).
    tls: EndpointTls,
    /// Whether `tls` accepts any certificate (`ManagerOptions::danger_accept_invalid_certs`).
    accept_invalid_certs: bool,
    /// The proxy both transports go through (`ManagerOptions::proxy`), if any.
    proxy: Option<ProxyUrl>,
    /// Largest body or message accepted from the server.
    pub(crate) max_incoming_bytes: usize,
    /// Most bytes the WebSocket holds unwritten (`ManagerOptions::max_write_buffer_bytes`).
    pub(crate) max_write_buffer_bytes: usize,
    /// The Engine.IO version the requests speak: the manager's, shared by its endpoints.
    version: Arc<VersionChoice>,
}

impl Endpoint {
    /// Builds the endpoint for `url` (its path is the namespace, not the Engine.IO path).
    pub(crate) fn new(url: &Url, options: &ManagerOptions) -> Result<Self, ConnectError> {
        let tls =
            tls::client_config(options).map_err(|e| ConnectError::InvalidOption(e.to_string()))?;
        let tls = EndpointTls::of_manager(tls);
        Self::assemble(
            url,
            &options.query,
            &options.extra_headers,
            options,
            Arc::new(CookieJar::new(CookieLimits {
                max_count: options.max_cookies_per_host,
                max_bytes: options.max_cookie_bytes_per_host,
            })),
            tls,
            Arc::new(VersionChoice::new(options.server_version)),
        )
    }

    /// The server's URL as the user gave it (the manager's or a fallback's).
    pub(crate) fn server_url(&self) -> &Url {
        &self.url
    }

    /// The same endpoint with the fresh settings of a reconnection hook; the cookie jar and
    /// TLS configuration carry over.
    pub(crate) fn updated(
        &self,
        update: &ReconnectUpdate,
        options: &ManagerOptions,
    ) -> Result<Self, ConnectError> {
        let url = match &update.url {
            Some(url) => {
                Url::parse(url).map_err(|e| ConnectError::InvalidUrl(format!("{url}: {e}")))?
            }
            None => self.url.clone(),
        };
        let query = update.query.as_ref().unwrap_or(&self.query);
        let headers = update.extra_headers.as_ref().unwrap_or(&self.extra_headers);
        Self::assemble(
            &url,
            query,
            headers,
            options,
            self.jar.clone(),
            self.tls.clone(),
            self.version.clone(),
        )
    }

    fn assemble(
        url: &Url,
        query: &[(String, String)],
        extra_headers: &[(String, String)],
        options: &ManagerOptions,
        jar: Arc<CookieJar>,
        tls: EndpointTls,
        version: Arc<VersionChoice>,
    ) -> Result<Self, ConnectError> {
        let mut base = url.clone();
        match base.scheme() {
            "http" | "https" => {}
            "ws" => base.set_scheme("http").map_err(|_| invalid_url(url))?,
            "wss" => base.set_scheme("https").map_err(|_| invalid_url(url))?,
            other => {
                return Err(ConnectError::InvalidUrl(format!(
                    "unsupported scheme `{other}`"
                )))
            }
        }
        if base.host_str().is_none() {
            return Err(invalid_url(url));
        }
        let mut path = options.path.clone();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        base.set_path(&path);
        base.set_fragment(None);
        let tls = tls.for_server(base.scheme() == "https");
        {
            let mut pairs = base.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        if base.query() == Some("") {
            base.set_query(None);
        }
        let headers = header_map(extra_headers)?;
        let proxy = proxy::choose(&options.proxy, &base, &ProcessEnv)
            .map_err(|e| ConnectError::InvalidOption(format!("proxy: {e}")))?;
        if let Some(proxy) = &proxy {
            tracing::debug!(%proxy, server = %url, "connecting through a proxy");
        }
        Ok(Self {
            url: url.clone(),
            query: query.to_vec(),
            extra_headers: extra_headers.to_vec(),
            base,
            headers,
            jar,
            http: OnceLock::new(),
            connect_timeout: options.timeout,
            compression: options.compression,
            tls,
            accept_invalid_certs: options.danger_accept_invalid_certs,
            proxy,
            max_incoming_bytes: options.max_incoming_bytes,
            max_write_buffer_bytes: options.max_write_buffer_bytes,
            version,
        })
    }

    /// The HTTP URL of a request over `transport`, for session `sid` (none for a handshake),
    /// in the Engine.IO version of [`Endpoint::version`]. Engine.IO v3 polling asks for
    /// binary as base64 (`b64=1`): the payloads are text.
    pub(crate) fn url(&self, transport: TransportKind, sid: Option<&str>) -> Url {
        let version = self.version.current();
        let mut url = self.base.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("EIO", version.eio())
                .append_pair("transport", transport.as_str());
            if version == EngineVersion::V3 && transport == TransportKind::Polling {
                query.append_pair("b64", "1");
            }
            if let Some(sid) = sid {
                query.append_pair("sid", sid);
            }
        }
        url
    }

    /// The manager's Engine.IO version: what the next session speaks, and what detection
    /// found.
    pub(crate) fn version(&self) -> &VersionChoice {
        &self.version
    }

    /// The `ws(s)://` URL of a WebSocket for session `sid` (none for a WebSocket-only handshake).
    pub(crate) fn ws_url(&self, sid: Option<&str>) -> Url {
        let mut url = self.url(TransportKind::WebSocket, sid);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // Switching between these special schemes always succeeds.
        let _ = url.set_scheme(scheme);
        url
    }

    /// The `Cookie` header the jar holds for this server.
    pub(crate) fn cookie_header(&self) -> Option<HeaderValue> {
        self.jar.cookies(&self.base)
    }

    /// Stores the `Set-Cookie` headers of a response (the WebSocket handshake's).
    pub(crate) fn store_cookies(&self, headers: &HeaderMap) {
        let mut cookies = headers.get_all(http::header::SET_COOKIE).iter();
        self.jar.set_cookies(&mut cookies, &self.base);
    }

    /// The HTTP client of the polling transport, built on first use.
    pub(crate) fn http(&self) -> Result<&reqwest::Client, TransportError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        // The proxy is ours to choose (`proxy::choose`): reqwest's own reading of the
        // environment is off.
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(proxy) = &self.proxy {
            let reqwest_proxy = reqwest::Proxy::all(proxy.as_str())
                .map_err(|e| TransportError::from(proxy_error(proxy, e.to_string())))?;
            builder = builder.proxy(reqwest_proxy);
            if proxy.kind == ProxyKind::Http && !self.is_tls() {
                // Plain proxying: each request on a fresh connection to the proxy. A proxy
                // may close a kept-alive connection at any moment after a response without
                // saying so (tinyproxy closes each one after its response while the
                // server's `Connection: keep-alive` passes through), and a request raced
                // with that close fails after it may have been sent: a POST cannot be
                // replayed (its packets could arrive twice). A tunnel (`CONNECT`, SOCKS5)
                // lives as long as the server's connection and is pooled as usual.
                builder = builder.pool_max_idle_per_host(0);
            }
        }
        let http = builder
            .use_preconfigured_tls((*self.tls.config).clone())
            .cookie_provider(self.jar.clone())
            .default_headers(self.headers.clone())
            .connect_timeout(self.connect_timeout)
            .gzip(self.compression)
            .deflate(self.compression)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| TransportError::Io(format!("HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| http))
    }

    /// The proxy both transports go through, if any.
    pub(crate) fn proxy(&self) -> Option<&ProxyUrl> {
        self.proxy.as_ref()
    }

    /// The typed error of a failed polling request: a failure to reach or use the proxy
    /// is a [`TransportError::Proxy`]; a connection closed before the server answered may
    /// be its TLS refusal of the client certificate ([`Endpoint::closed_before_answer`]).
    pub(crate) fn request_error(&self, error: reqwest::Error) -> TransportError {
        let connecting = error.is_connect();
        let closed_early = !connecting && !error.is_timeout();
        let typed = request_error(error);
        if closed_early {
            return self.closed_before_answer(typed);
        }
        let Some(proxy) = &self.proxy else {
            return typed;
        };
        let TransportError::Io(message) = &typed else {
            return typed;
        };
        if !connecting {
            return typed;
        }
        // reqwest's (hyper-util's) tunnel and SOCKS errors, by their text.
        let auth = [
            "proxy authorization required",
            "credentials not accepted",
            "user/pass",
        ];
        let error = if auth.iter().any(|text| message.contains(text)) {
            ProxyError::AuthenticationFailed {
                proxy: proxy.to_string(),
                reason: message.clone(),
            }
        } else if message.contains("tunnel error: unsuccessful")
            || (message.contains("SOCKS error") && !message.contains("underlying connection"))
        {
            ProxyError::Refused {
                proxy: proxy.to_string(),
                target: proxy::Target::of(&self.base)
                    .map(|target| target.to_string())
                    .unwrap_or_default(),
                reason: message.clone(),
            }
        } else {
            proxy_error(proxy, message.clone())
        };
        error.into()
    }

    /// The typed error of an HTTP error response: 407 (only proxies send it) is a
    /// [`ProxyError::AuthenticationFailed`], and so is 401 through a proxy given
    /// credentials (tinyproxy answers wrong ones with 401; an Engine.IO server never does).
    pub(crate) async fn http_error(&self, response: reqwest::Response) -> TransportError {
        match (&self.proxy, http_error(response).await) {
            (Some(proxy), TransportError::Http { status, message })
                if status == 407 || (status == 401 && proxy.credentials.is_some()) =>
            {
                ProxyError::AuthenticationFailed {
                    proxy: proxy.to_string(),
                    reason: format!("HTTP {status}: {message}"),
                }
                .into()
            }
            (_, error) => error,
        }
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The TLS configuration of both transports.
    pub(crate) fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.config.clone()
    }

    /// Notes that the server answered a request: it accepts this client's TLS.
    pub(crate) fn answered(&self) {
        self.tls.answered();
    }

    /// `error`, for a connection the server closed before it answered: the TLS refusal of
    /// a client certificate when the server asked for one and never accepted this client
    /// ([`client_auth`]).
    pub(crate) fn closed_before_answer(&self, error: TransportError) -> TransportError {
        self.tls.refusal(error)
    }

    /// Whether compression is on: polling asks for compressed responses, the WebSocket
    /// offers permessage-deflate.
    pub(crate) fn compression(&self) -> bool {
        self.compression
    }

    /// Whether the server is reached over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// Logs a warning when this connection accepts any certificate: called for every
    /// session opened (the first connection, each reconnection, each server tried), so that
    /// `danger_accept_invalid_certs` never goes unnoticed in a log.
    pub(crate) fn warn_if_unverified(&self) {
        if self.accept_invalid_certs && self.is_tls() {
            tls::warn_unverified(self.base.host_str().unwrap_or_default());
        }
    }
}

/// The proxy could not be reached.
fn proxy_error(proxy: &ProxyUrl, reason: String) -> ProxyError {
    ProxyError::Unreachable {
        proxy: proxy.to_string(),
        reason,
    }
}

fn invalid_url(url: &Url) -> ConnectError {
    ConnectError::InvalidUrl(url.to_string())
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, ConnectError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ConnectError::InvalidOption(format!("bad header name `{name}`")))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| ConnectError::InvalidOption(format!("bad value for header `{name}`")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Reads a response body, refusing more than `limit` bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<String, TransportError> {
    if let Some(length) = response.content_length() {
        if length > limit as u64 {
            return Err(TransportError::TooLarge {
                size: length as usize,
                limit,
            });
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > limit {
            return Err(TransportError::TooLarge {
                size: body.len() + chunk.len(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| TransportError::InvalidUtf8)
}

/// Turns an HTTP error response into a typed error carrying the server's message.
pub(crate) async fn http_error(response: reqwest::Response) -> TransportError {
    let status = response.status().as_u16();
    let body = read_body(response, 64 * 1024).await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| {
            json.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or(body);
    TransportError::Http {
        status,
        message: server_text(message),
    }
}

pub(crate) fn request_error(error: reqwest::Error) -> TransportError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    // The message names the URL, which holds the server's session id.
    let message = server_text(message);
    if let Some(tls) = tls::find_rustls_error(&error) {
        return match tls::transport_error(tls) {
            TransportError::Tls(_) => TransportError::Tls(message),
            typed => typed,
        };
    }
    if message.contains("certificate") || message.contains("tls") || message.contains("TLS") {
        TransportError::Tls(message)
    } else {
        TransportError::Io(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_text::MAX_SERVER_TEXT;

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_typed_error() {
        let response = http::Response::builder()
            .status(200)
            .body(vec![b'4', 0xff, 0xfe])
            .expect("response");
        let error = read_body(reqwest::Response::from(response), 1024)
            .await
            .expect_err("not UTF-8");
        assert!(matches!(error, TransportError::InvalidUtf8), "{error:?}");
    }

    #[tokio::test]
    async fn an_http_error_keeps_a_bounded_part_of_a_huge_body() {
        let body = "e".repeat(60 * 1024);
        let response = http::Response::builder()
            .status(400)
            .body(body)
            .expect("response");
        let error = http_error(reqwest::Response::from(response)).await;
        let TransportError::Http { status, message } = error else {
            panic!("{error:?}");
        };
        assert_eq!(status, 400);
        assert_eq!(
            message,
            format!("{}… ({} bytes)", "e".repeat(MAX_SERVER_TEXT), 60 * 1024)
        );
    }
}
