//! Proxies, the same for both transports: which proxy a server is reached through (the
//! option, else the environment as curl reads it) and the tunnel a WebSocket goes through.
//! Polling hands the chosen proxy to reqwest.

mod connect;
mod env;
mod socks5;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use crate::error::{ProxyError, TransportError};
use crate::options::Proxy;

use env::from_environment;
pub(crate) use env::{EnvLookup, ProcessEnv};

/// The kind of proxy a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    /// HTTP: `CONNECT` tunnels, or plain proxying of `http://` requests.
    Http,
    /// SOCKS5; with `remote_dns` (`socks5h://`) the proxy resolves the server's name.
    Socks5 {
        /// Whether the proxy resolves the server's name.
        remote_dns: bool,
    },
}

/// A user name and password for the proxy, percent-decoded from its URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}:***)", self.user)
    }
}

/// A proxy, parsed from its URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl {
    pub(crate) kind: ProxyKind,
    pub(crate) host: Host<String>,
    pub(crate) port: u16,
    pub(crate) credentials: Option<Credentials>,
    /// The URL, credentials included, with its scheme (reqwest takes it as is).
    url: Url,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// The proxy without its credentials, as errors and logs name it.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.url.scheme(), self.host, self.port)
    }
}

impl ProxyUrl {
    /// Parses a proxy URL: `http://`, `socks5h://` or `socks5://`, a URL without a scheme
    /// being HTTP, with optional percent-encoded `user:password@`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| format!("bad proxy URL: {e}"))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            "socks5h" => ProxyKind::Socks5 { remote_dns: true },
            "socks5" => ProxyKind::Socks5 { remote_dns: false },
            "https" => {
                return Err(
                    "HTTPS proxies (TLS to the proxy) are not supported: use an \
                            http:// proxy URL (the tunnel to an https:// server is still TLS)"
                        .into(),
                )
            }
            other => {
                return Err(format!(
                    "unsupported proxy scheme `{other}` (use http://, socks5h:// or socks5://)"
                ))
            }
        };
        let host = match url.host() {
            None => return Err("the proxy URL has no host".into()),
            // socks5 is not a special scheme: the URL parser leaves its IPv4 hosts opaque.
            Some(Host::Domain(name)) => match name.parse::<Ipv4Addr>() {
                Ok(ip) => Host::Ipv4(ip),
                Err(_) => Host::Domain(name.to_owned()),
            },
            Some(host) => host.to_owned(),
        };
        let port = url.port().unwrap_or(match kind {
            ProxyKind::Http => 80,
            ProxyKind::Socks5 { .. } => 1080,
        });
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some(Credentials {
                user: percent_decode(url.username())?,
                password: percent_decode(url.password().unwrap_or(""))?,
            })
        };
        Ok(Self {
            kind,
            host,
            port,
            credentials,
            url,
        })
    }

    /// The URL to give reqwest, credentials included.
    pub(crate) fn as_str(&self) -> &str {
        self.url.as_str()
    }

    fn error_unreachable(&self, reason: impl fmt::Display) -> TransportError {
        ProxyError::Unreachable {
            proxy: self.to_string(),
            reason: reason.to_string(),
        }
        .into()
    }
}

/// Which proxy, if any, carries the connection to `target` (an `http(s)://` URL):
/// the option's, else the environment's read through `env`.
pub(crate) fn choose(
    setting: &Proxy,
    target: &Url,
    env: &dyn EnvLookup,
) -> Result<Option<ProxyUrl>, String> {
    match setting {
        Proxy::None => Ok(None),
        Proxy::Url(url) => ProxyUrl::parse(url).map(Some),
        Proxy::Environment => from_environment(target, env),
    }
}

/// Where a tunnel leads: the server's host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) host: Host<String>,
    pub(crate) port: u16,
}

impl Target {
    /// The server of `url` (an `http(s)://` or `ws(s)://` URL).
    pub(crate) fn of(url: &Url) -> Option<Self> {
        Some(Self {
            host: url.host()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }
}

/// `host:port`, with an IPv6 host in brackets.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Opens a TCP connection to `target` through `proxy`, ready for TLS or the WebSocket
/// handshake. Connecting and the proxy's handshake get at most `timeout` together.
///
/// # Errors
/// [`TransportError::Proxy`] with the cause: the proxy unreachable, the credentials or the
/// connection refused, the proxy's answer not what its protocol says.
pub(crate) async fn open_tunnel(
    proxy: &ProxyUrl,
    target: &Target,
    timeout: Duration,
) -> Result<TcpStream, TransportError> {
    let opened = async {
        let mut stream = connect_to_proxy(proxy).await?;
        stream
            .set_nodelay(true)
            .map_err(|e| proxy.error_unreachable(e))?;
        match proxy.kind {
            ProxyKind::Http => connect::handshake(&mut stream, proxy, target).await?,
            ProxyKind::Socks5 { remote_dns } => {
                let address = if remote_dns {
                    socks5::Address::Host(target.host.clone())
                } else {
                    socks5::Address::Ip(resolve(target).await?)
                };
                socks5::handshake(&mut stream, proxy, &address, target.port).await?
            }
        }
        Ok::<_, TransportError>(stream)
    };
    tokio::time::timeout(timeout, opened)
        .await
        .map_err(|_| proxy.error_unreachable(format!("no tunnel within {timeout:?}")))?
}

async fn connect_to_proxy(proxy: &ProxyUrl) -> Result<TcpStream, TransportError> {
    let result = match &proxy.host {
        Host::Domain(name) => TcpStream::connect((name.as_str(), proxy.port)).await,
        Host::Ipv4(ip) => TcpStream::connect((*ip, proxy.port)).await,
        Host::Ipv6(ip) => TcpStream::connect((*ip, proxy.port)).await,
    };
    result.map_err(|e| proxy.error_unreachable(e))
}

/// The server's address, resolved here (`socks5://`).
async fn resolve(target: &Target) -> Result<std::net::IpAddr, TransportError> {
    let lookup = match &target.host {
        Host::Ipv4(ip) => return Ok((*ip).into()),
        Host::Ipv6(ip) => return Ok((*ip).into()),
        Host::Domain(name) => tokio::net::lookup_host((name.as_str(), target.port)).await,
    };
    lookup
        .map_err(|e| TransportError::Io(format!("cannot resolve {}: {e}", target.host)))?
        .map(|address: SocketAddr| address.ip())
        .next()
        .ok_or_else(|| TransportError::Io(format!("{} has no address", target.host)))
}

/// Reads exactly `buf.len()` bytes of the proxy's answer; the end of the stream before
/// them is a protocol error.
async fn read_exact<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    proxy: &ProxyUrl,
) -> Result<(), TransportError> {
    stream
        .read_exact(buf)
        .await
        .map(drop)
        .map_err(|e| io_error(e, proxy))
}

async fn write_all(
    stream: &mut TcpStream,
    bytes: &[u8],
    proxy: &ProxyUrl,
) -> Result<(), TransportError> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| io_error(e, proxy))
}

fn io_error(error: std::io::Error, proxy: &ProxyUrl) -> TransportError {
    let reason = if error.kind() == std::io::ErrorKind::UnexpectedEof {
        "the proxy closed the connection during its handshake".to_owned()
    } else {
        error.to_string()
    };
    ProxyError::Protocol {
        proxy: proxy.to_string(),
        reason,
    }
    .into()
}

/// Decodes `%XX` escapes (user names and passwords in proxy URLs).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or("bad %-escape in the proxy credentials")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the proxy credentials are not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_proxy_url_keeps_its_decoded_credentials_and_hides_them_when_shown() {
        let proxy = ProxyUrl::parse("http://us%40er:p%3Ass@proxy.test:3128").expect("parse");
        assert_eq!(proxy.kind, ProxyKind::Http);
        assert_eq!(proxy.host, Host::Domain("proxy.test".to_owned()));
        assert_eq!(proxy.port, 3128);
        assert_eq!(
            proxy.credentials,
            Some(Credentials {
                user: "us@er".into(),
                password: "p:ss".into()
            })
        );
        assert_eq!(proxy.to_string(), "http://proxy.test:3128");
        assert!(!format!("{proxy:?}").contains("p:ss"));
    }

    #[test]
    fn socks_urls_say_who_resolves_names_and_default_to_port_1080() {
        let remote = ProxyUrl::parse("socks5h://127.0.0.1").expect("parse");
        assert_eq!(remote.kind, ProxyKind::Socks5 { remote_dns: true });
        assert_eq!(remote.host, Host::<String>::Ipv4(Ipv4Addr::LOCALHOST));
        assert_eq!(remote.port, 1080);
        let local = ProxyUrl::parse("socks5://[::1]:9050").expect("parse");
        assert_eq!(local.kind, ProxyKind::Socks5 { remote_dns: false });
        assert_eq!(
            local.host,
            Host::<String>::Ipv6(std::net::Ipv6Addr::LOCALHOST)
        );
        assert_eq!(local.port, 9050);
    }

    #[test]
    fn a_url_without_a_scheme_is_an_http_proxy_on_port_80_by_default() {
        let proxy = ProxyUrl::parse(" proxy.test ").expect("parse");
        assert_eq!(proxy.kind, ProxyKind::Http);
        assert_eq!(proxy.port, 80);
        assert_eq!(proxy.credentials, None);
    }

    #[test]
    fn unsupported_schemes_and_bad_escapes_are_refused_with_a_reason() {
        assert!(ProxyUrl::parse("https://proxy.test")
            .unwrap_err()
            .contains("not supported"));
        assert!(ProxyUrl::parse("socks4://proxy.test")
            .unwrap_err()
            .contains("socks4"));
        assert!(ProxyUrl::parse("http://a%zz:b@proxy.test")
            .unwrap_err()
            .contains("%-escape"));
    }

    #[test]
    fn the_option_wins_over_the_environment_and_none_ignores_it() {
        let env = |name: &str| (name == "HTTPS_PROXY").then(|| "http://env.test:1".to_owned());
        let target = Url::parse("https://server.test/").expect("url");
        let explicit = choose(&Proxy::Url("socks5h://opt.test:2".into()), &target, &env)
            .expect("choose")
            .expect("a proxy");
        assert_eq!(explicit.to_string(), "socks5h://opt.test:2");
        assert_eq!(choose(&Proxy::None, &target, &env), Ok(None));
        let from_env = choose(&Proxy::Environment, &target, &env)
            .expect("choose")
            .expect("a proxy");
        assert_eq!(from_env.to_string(), "http://env.test:1");
    }

    #[test]
    fn a_target_names_its_default_port_and_brackets_ipv6() {
        let target = Target::of(&Url::parse("wss://[::1]/x").expect("url")).expect("target");
        assert_eq!(target.to_string(), "[::1]:443");
        let target = Target::of(&Url::parse("http://a.test/").expect("url")).expect("target");
        assert_eq!(target.to_string(), "a.test:80");
    }
}
