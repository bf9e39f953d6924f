//! SOCKS5 (RFC 1928) `CONNECT`, with username/password authentication (RFC 1929). Each
//! message is built and each answer checked by a pure function; every answer has a length
//! known from its first bytes, so reads are exact and bounded.

use std::net::IpAddr;

use tokio::net::TcpStream;
use url::Host;

use super::{read_exact, write_all, Credentials, ProxyUrl};
use crate::error::{ProxyError, TransportError};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASSWORD: u8 = 2;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const CMD_CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// The address sent to the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Address {
    /// The server's host as in its URL: a name the proxy resolves (`socks5h://`).
    Host(Host<String>),
    /// The server's address, resolved by the client (`socks5://`).
    Ip(IpAddr),
}

/// Why the proxy's answer ends the handshake; the caller adds the proxy's name.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// Credentials wanted, or refused.
    Auth(String),
    /// The proxy would not connect to the server.
    Refused(String),
    /// The answer breaks the protocol.
    Protocol(String),
}

/// The greeting: the methods offered (user/password only with credentials).
pub(super) fn greeting(with_credentials: bool) -> Vec<u8> {
    if with_credentials {
        vec![VERSION, 2, NO_AUTH, USER_PASSWORD]
    } else {
        vec![VERSION, 1, NO_AUTH]
    }
}

/// Checks the proxy's choice of method; `Ok(true)` when it wants the credentials.
pub(super) fn chosen_method(answer: [u8; 2], with_credentials: bool) -> Result<bool, Failure> {
    match answer {
        [VERSION, NO_AUTH] => Ok(false),
        [VERSION, USER_PASSWORD] if with_credentials => Ok(true),
        [VERSION, USER_PASSWORD | NO_ACCEPTABLE_METHOD] if !with_credentials => Err(Failure::Auth(
            "it wants a user name and password (user:password@ in the URL)".into(),
        )),
        [VERSION, NO_ACCEPTABLE_METHOD] => Err(Failure::Auth(
            "it accepts neither no authentication nor a user name and password".into(),
        )),
        [VERSION, method] => Err(Failure::Protocol(format!(
            "it chose authentication method {method}, which was not offered"
        ))),
        [version, _] => Err(Failure::Protocol(format!(
            "not a SOCKS5 answer (version {version})"
        ))),
    }
}

/// The username/password request (RFC 1929); each must be 1 to 255 bytes.
pub(super) fn auth_request(credentials: &Credentials) -> Result<Vec<u8>, Failure> {
    let user = credentials.user.as_bytes();
    let password = credentials.password.as_bytes();
    let fits = |field: &[u8]| (1..=255).contains(&field.len());
    if !fits(user) || !fits(password) {
        return Err(Failure::Auth(
            "SOCKS5 user names and passwords are 1 to 255 bytes".into(),
        ));
    }
    let mut request = vec![1, user.len() as u8];
    request.extend_from_slice(user);
    request.push(password.len() as u8);
    request.extend_from_slice(password);
    Ok(request)
}

/// Checks the answer to the credentials.
pub(super) fn auth_answer(answer: [u8; 2]) -> Result<(), Failure> {
    match answer {
        [1, 0] => Ok(()),
        [1, status] => Err(Failure::Auth(format!(
            "user name or password refused (status {status})"
        ))),
        [version, _] => Err(Failure::Protocol(format!(
            "bad authentication answer version {version}"
        ))),
    }
}

/// The `CONNECT` request for `address:port`.
pub(super) fn connect_request(address: &Address, port: u16) -> Result<Vec<u8>, Failure> {
    let mut request = vec![VERSION, CMD_CONNECT, 0];
    let ip = match address {
        Address::Ip(ip) => Some(*ip),
        Address::Host(Host::Ipv4(ip)) => Some((*ip).into()),
        Address::Host(Host::Ipv6(ip)) => Some((*ip).into()),
        Address::Host(Host::Domain(name)) => {
            let name = name.as_bytes();
            if name.is_empty() || name.len() > 255 {
                return Err(Failure::Refused(
                    "a SOCKS5 host name is 1 to 255 bytes".into(),
                ));
            }
            request.push(ATYP_DOMAIN);
            request.push(name.len() as u8);
            request.extend_from_slice(name);
            None
        }
    };
    match ip {
        Some(IpAddr::V4(ip)) => {
            request.push(ATYP_IPV4);
            request.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            request.push(ATYP_IPV6);
            request.extend_from_slice(&ip.octets());
        }
        None => {}
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// The length of the bound address in the reply, from the reply's first four bytes:
/// `Some(n)` bytes of address and port follow, `None` when a domain's length byte must
/// be read first.
pub(super) fn reply_head(head: [u8; 4]) -> Result<Option<usize>, Failure> {
    let [version, reply, _, atyp] = head;
    if version != VERSION {
        return Err(Failure::Protocol(format!(
            "not a SOCKS5 reply (version {version})"
        )));
    }
    if reply != 0 {
        return Err(Failure::Refused(reply_text(reply)));
    }
    match atyp {
        ATYP_IPV4 => Ok(Some(4 + 2)),
        ATYP_IPV6 => Ok(Some(16 + 2)),
        ATYP_DOMAIN => Ok(None),
        other => Err(Failure::Protocol(format!(
            "unknown address type {other} in its reply"
        ))),
    }
}

/// RFC 1928's meaning of a reply code.
fn reply_text(code: u8) -> String {
    let text = match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown failure",
    };
    format!("{text} (SOCKS5 reply {code})")
}

/// Opens the SOCKS5 tunnel to `address:port` on `stream`.
pub(super) async fn handshake(
    stream: &mut TcpStream,
    proxy: &ProxyUrl,
    address: &Address,
    port: u16,
) -> Result<(), TransportError> {
    let target = match address {
        Address::Host(host) => format!("{}:{port}", host),
        Address::Ip(ip) => std::net::SocketAddr::new(*ip, port).to_string(),
    };
    let fail = |failure: Failure| -> TransportError {
        let proxy = proxy.to_string();
        match failure {
            Failure::Auth(reason) => ProxyError::AuthenticationFailed { proxy, reason },
            Failure::Refused(reason) => ProxyError::Refused {
                proxy,
                target: target.clone(),
                reason,
            },
            Failure::Protocol(reason) => ProxyError::Protocol { proxy, reason },
        }
        .into()
    };
    let credentials = proxy.credentials.as_ref();
    write_all(stream, &greeting(credentials.is_some()), proxy).await?;
    let mut answer = [0u8; 2];
    read_exact(stream, &mut answer, proxy).await?;
    if chosen_method(answer, credentials.is_some()).map_err(fail)? {
        if let Some(credentials) = credentials {
            write_all(stream, &auth_request(credentials).map_err(fail)?, proxy).await?;
            read_exact(stream, &mut answer, proxy).await?;
            auth_answer(answer).map_err(fail)?;
        }
    }
    write_all(
        stream,
        &connect_request(address, port).map_err(fail)?,
        proxy,
    )
    .await?;
    let mut head = [0u8; 4];
    read_exact(stream, &mut head, proxy).await?;
    let rest = match reply_head(head).map_err(fail)? {
        Some(rest) => rest,
        None => {
            let mut length = [0u8; 1];
            read_exact(stream, &mut length, proxy).await?;
            usize::from(length[0]) + 2
        }
    };
    let mut bound = [0u8; 255 + 2];
    read_exact(stream, &mut bound[..rest], proxy).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            user: "bob".into(),
            password: "pw".into(),
        }
    }

    #[test]
    fn the_greeting_offers_user_password_only_with_credentials() {
        assert_eq!(greeting(false), [5, 1, 0]);
        assert_eq!(greeting(true), [5, 2, 0, 2]);
    }

    #[test]
    fn the_method_choice_is_checked_against_what_was_offered() {
        assert_eq!(chosen_method([5, 0], true), Ok(false));
        assert_eq!(chosen_method([5, 2], true), Ok(true));
        assert!(matches!(
            chosen_method([5, 0xff], false),
            Err(Failure::Auth(_))
        ));
        assert!(matches!(
            chosen_method([5, 2], false),
            Err(Failure::Auth(_))
        ));
        assert!(matches!(
            chosen_method([5, 0xff], true),
            Err(Failure::Auth(_))
        ));
        assert!(matches!(
            chosen_method([5, 1], true),
            Err(Failure::Protocol(_))
        ));
        assert!(matches!(
            chosen_method([4, 0], false),
            Err(Failure::Protocol(_))
        ));
    }

    #[test]
    fn credentials_are_sent_with_their_lengths_and_a_refusal_is_an_auth_failure() {
        assert_eq!(
            auth_request(&credentials()),
            Ok(vec![1, 3, b'b', b'o', b'b', 2, b'p', b'w'])
        );
        let empty = Credentials {
            user: "bob".into(),
            password: String::new(),
        };
        assert!(matches!(auth_request(&empty), Err(Failure::Auth(_))));
        assert_eq!(auth_answer([1, 0]), Ok(()));
        assert!(matches!(auth_answer([1, 1]), Err(Failure::Auth(_))));
    }

    #[test]
    fn connect_sends_names_for_remote_dns_and_addresses_otherwise() {
        let name = Address::Host(Host::Domain("s.test".into()));
        assert_eq!(
            connect_request(&name, 443),
            Ok(vec![
                5, 1, 0, 3, 6, b's', b'.', b't', b'e', b's', b't', 1, 187
            ])
        );
        let v4 = Address::Ip("127.0.0.1".parse().expect("ip"));
        assert_eq!(
            connect_request(&v4, 80),
            Ok(vec![5, 1, 0, 1, 127, 0, 0, 1, 0, 80])
        );
        let v6 = Address::Host(Host::Ipv6("::1".parse().expect("ip")));
        let request = connect_request(&v6, 80).expect("request");
        assert_eq!(request[3], 4);
        assert_eq!(request.len(), 4 + 16 + 2);
        let long = Address::Host(Host::Domain("a".repeat(256)));
        assert!(connect_request(&long, 80).is_err());
    }

    #[test]
    fn the_reply_says_how_much_address_follows_or_why_it_failed() {
        assert_eq!(reply_head([5, 0, 0, 1]), Ok(Some(6)));
        assert_eq!(reply_head([5, 0, 0, 4]), Ok(Some(18)));
        assert_eq!(reply_head([5, 0, 0, 3]), Ok(None));
        assert_eq!(
            reply_head([5, 5, 0, 1]),
            Err(Failure::Refused(
                "connection refused (SOCKS5 reply 5)".into()
            ))
        );
        assert!(matches!(
            reply_head([5, 0, 0, 9]),
            Err(Failure::Protocol(_))
        ));
        assert!(matches!(
            reply_head([1, 0, 0, 1]),
            Err(Failure::Protocol(_))
        ));
    }
}
