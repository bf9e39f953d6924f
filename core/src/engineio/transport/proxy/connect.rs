//! HTTP `CONNECT` tunnels: the request, and the proxy's answer read to the end of its
//! head (at most [`MAX_RESPONSE_HEAD`] bytes) and no further, so the tunnel's first byte is
//! the server's.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tokio::net::TcpStream;

use super::{read_exact, write_all, Credentials, ProxyUrl, Target};
use crate::error::{ProxyError, TransportError};
use crate::server_text::server_text;

/// Most bytes of the proxy's answer (status line and headers) read.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// The `CONNECT` request for `target`, with Basic `Proxy-Authorization` when there are
/// credentials.
pub(super) fn request(target: &Target, credentials: Option<&Credentials>) -> String {
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(Credentials { user, password }) = credentials {
        let token = STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// What the proxy answered to `CONNECT`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// A 2xx status: the tunnel is open.
    Open,
    /// 407: credentials wanted or refused; also 401, which the server cannot have sent
    /// before the tunnel is open (tinyproxy answers wrong credentials with it).
    AuthRequired(String),
    /// Another status, with its line.
    Refused(String),
    /// Not an HTTP response.
    Invalid(String),
}

/// Reads the answer's status line from its head (everything up to the blank line).
pub(super) fn parse_answer(head: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default().trim().to_owned();
    let mut parts = line.splitn(3, ' ');
    let (Some(version), Some(status)) = (parts.next(), parts.next()) else {
        return Answer::Invalid(server_text(line));
    };
    let Ok(status) = status.parse::<u16>() else {
        return Answer::Invalid(server_text(line));
    };
    if !version.starts_with("HTTP/1.") {
        return Answer::Invalid(server_text(line));
    }
    match status {
        200..=299 => Answer::Open,
        401 | 407 => Answer::AuthRequired(server_text(line)),
        _ => Answer::Refused(server_text(line)),
    }
}

/// Whether `head` ends the response head: a blank line, `\r\n\r\n` or a bare `\n\n`.
pub(super) fn head_complete(head: &[u8]) -> bool {
    head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n")
}

/// Asks the proxy for a tunnel to `target` and reads its answer, byte by byte to the end of
/// its head: nothing of the tunnel is read.
pub(super) async fn handshake(
    stream: &mut TcpStream,
    proxy: &ProxyUrl,
    target: &Target,
) -> Result<(), TransportError> {
    write_all(
        stream,
        request(target, proxy.credentials.as_ref()).as_bytes(),
        proxy,
    )
    .await?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head_complete(&head) {
        if head.len() == MAX_RESPONSE_HEAD {
            return Err(ProxyError::Protocol {
                proxy: proxy.to_string(),
                reason: format!("its answer to CONNECT is over {MAX_RESPONSE_HEAD} bytes"),
            }
            .into());
        }
        read_exact(stream, &mut byte, proxy).await?;
        head.push(byte[0]);
    }
    let proxy_name = proxy.to_string();
    match parse_answer(&head) {
        Answer::Open => Ok(()),
        Answer::AuthRequired(reason) => Err(ProxyError::AuthenticationFailed {
            proxy: proxy_name,
            reason,
        }
        .into()),
        Answer::Refused(reason) => Err(ProxyError::Refused {
            proxy: proxy_name,
            target: target.to_string(),
            reason,
        }
        .into()),
        Answer::Invalid(line) => Err(ProxyError::Protocol {
            proxy: proxy_name,
            reason: format!("not an HTTP answer to CONNECT: {line:?}"),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use url::Host;

    use super::*;

    fn target() -> Target {
        Target {
            host: Host::Domain("server.test".into()),
            port: 443,
        }
    }

    #[test]
    fn the_request_names_the_target_twice_and_carries_basic_credentials() {
        let credentials = Credentials {
            user: "alice".into(),
            password: "s3:cret".into(),
        };
        assert_eq!(
            request(&target(), Some(&credentials)),
            "CONNECT server.test:443 HTTP/1.1\r\nHost: server.test:443\r\n\
             Proxy-Authorization: Basic YWxpY2U6czM6Y3JldA==\r\n\r\n"
        );
        let v6 = Target {
            host: Host::Ipv6("::1".parse().expect("ip")),
            port: 80,
        };
        assert_eq!(
            request(&v6, None),
            "CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"
        );
    }

    #[test]
    fn a_2xx_answer_opens_the_tunnel() {
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Answer::Open
        );
        assert_eq!(parse_answer(b"HTTP/1.0 200\r\n\r\n"), Answer::Open);
    }

    #[test]
    fn a_407_or_401_asks_for_credentials_and_other_statuses_refuse() {
        assert_eq!(
            parse_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\nX: y\r\n\r\n"),
            Answer::AuthRequired("HTTP/1.1 407 Proxy Authentication Required".into())
        );
        assert_eq!(
            parse_answer(b"HTTP/1.0 401 Unauthorized\r\n\r\n"),
            Answer::AuthRequired("HTTP/1.0 401 Unauthorized".into())
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n"),
            Answer::Refused("HTTP/1.1 403 Forbidden".into())
        );
    }

    #[test]
    fn an_answer_that_is_not_http_is_invalid() {
        assert!(matches!(parse_answer(b"\x05\x00"), Answer::Invalid(_)));
        assert!(matches!(
            parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Answer::Invalid(_)
        ));
        assert!(matches!(
            parse_answer(b"HTTP/1.1 abc\r\n\r\n"),
            Answer::Invalid(_)
        ));
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert!(!head_complete(b"HTTP/1.1 200 OK\r\n"));
        assert!(head_complete(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(head_complete(b"HTTP/1.1 200 OK\n\n"));
    }

    #[tokio::test]
    async fn an_endless_answer_is_cut_at_the_bound_with_a_protocol_error() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request).await;
            let line = [b'x'; 1024];
            while stream.write_all(&line).await.is_ok() {}
        });
        let proxy = ProxyUrl::parse(&format!("http://127.0.0.1:{port}")).expect("proxy");
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let error = handshake(&mut stream, &proxy, &target())
            .await
            .expect_err("too long");
        assert!(
            matches!(&error, TransportError::Proxy(ProxyError::Protocol { reason, .. }) if reason.contains("8192")),
            "{error:?}"
        );
        drop(stream);
        server.abort();
    }
}
