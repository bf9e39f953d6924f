//! The environment's proxy, as curl reads it: `https_proxy`/`HTTPS_PROXY`,
//! `http_proxy`/`HTTP_PROXY`, `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY`. Pure: the
//! variables come through an [`EnvLookup`].

use std::net::IpAddr;

use url::{Host, Url};

use super::ProxyUrl;

/// Reads an environment variable; the process's with [`ProcessEnv`], a table in tests.
pub(crate) trait EnvLookup {
    /// The variable's value, `None` when it is unset.
    fn var(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> EnvLookup for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process's environment.
pub(crate) struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The first of `names` that is set and not blank, with its name.
fn first_set(env: &dyn EnvLookup, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|&name| {
        let value = env.var(name)?;
        (!value.trim().is_empty()).then_some((name, value))
    })
}

/// The environment's proxy for `target` (an `http(s)://` URL), `None` when there is none or
/// the target's host matches `no_proxy`.
///
/// # Errors
/// The variable holding a proxy URL that cannot be used, with its name.
pub(crate) fn from_environment(
    target: &Url,
    env: &dyn EnvLookup,
) -> Result<Option<ProxyUrl>, String> {
    // The upper-case HTTP_PROXY of a CGI program may come from the request's `Proxy:`
    // header (httpoxy): curl and reqwest ignore it there.
    let cgi = env.var("REQUEST_METHOD").is_some();
    let specific: &[&str] = match (target.scheme(), cgi) {
        ("https", _) => &["https_proxy", "HTTPS_PROXY"],
        (_, false) => &["http_proxy", "HTTP_PROXY"],
        (_, true) => &["http_proxy"],
    };
    let Some((name, value)) =
        first_set(env, specific).or_else(|| first_set(env, &["all_proxy", "ALL_PROXY"]))
    else {
        return Ok(None);
    };
    if let (Some((_, list)), Some(host)) =
        (first_set(env, &["no_proxy", "NO_PROXY"]), target.host())
    {
        if no_proxy_matches(&list, &host) {
            return Ok(None);
        }
    }
    ProxyUrl::parse(&value)
        .map(Some)
        .map_err(|e| format!("{name}: {e}"))
}

/// Whether `host` is in the `no_proxy` list: `*`, a host name (the name and its
/// subdomains; a leading `.` or `*.` is ignored), an IP address, or a CIDR range.
pub(crate) fn no_proxy_matches(list: &str, host: &Host<&str>) -> bool {
    let ip: Option<IpAddr> = match host {
        Host::Ipv4(ip) => Some((*ip).into()),
        Host::Ipv6(ip) => Some((*ip).into()),
        Host::Domain(_) => None,
    };
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches('[');
            let entry = entry.split(']').next().unwrap_or(entry);
            if let Some((network, bits)) = entry.split_once('/') {
                return match (ip, network.parse::<IpAddr>(), bits.parse::<u8>()) {
                    (Some(ip), Ok(network), Ok(bits)) => in_network(ip, network, bits),
                    _ => false,
                };
            }
            if let Ok(entry_ip) = entry.parse::<IpAddr>() {
                return ip == Some(entry_ip);
            }
            let Host::Domain(name) = host else {
                return false;
            };
            let suffix = entry
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !suffix.is_empty()
                && (name == suffix
                    || name
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

/// Whether `ip` is in `network/bits` (both of the same family).
fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn proxy_for(target: &str, pairs: &[(&str, &str)]) -> Option<String> {
        let target = Url::parse(target).expect("url");
        from_environment(&target, &env(pairs))
            .expect("usable")
            .map(|proxy| proxy.to_string())
    }

    #[test]
    fn https_servers_use_https_proxy_and_http_servers_http_proxy() {
        let vars = [
            ("HTTPS_PROXY", "http://secure.test:1"),
            ("HTTP_PROXY", "http://plain.test:2"),
        ];
        assert_eq!(
            proxy_for("https://s.test/", &vars).as_deref(),
            Some("http://secure.test:1")
        );
        assert_eq!(
            proxy_for("http://s.test/", &vars).as_deref(),
            Some("http://plain.test:2")
        );
    }

    #[test]
    fn lower_case_wins_over_upper_case_and_blank_values_are_unset() {
        let vars = [
            ("https_proxy", "http://lower.test:1"),
            ("HTTPS_PROXY", "http://upper.test:2"),
        ];
        assert_eq!(
            proxy_for("https://s.test/", &vars).as_deref(),
            Some("http://lower.test:1")
        );
        let blank = [("https_proxy", " "), ("HTTPS_PROXY", "http://upper.test:2")];
        assert_eq!(
            proxy_for("https://s.test/", &blank).as_deref(),
            Some("http://upper.test:2")
        );
    }

    #[test]
    fn all_proxy_is_the_fallback_of_both_schemes() {
        let vars = [
            ("ALL_PROXY", "socks5h://all.test:3"),
            ("http_proxy", "http://plain.test:2"),
        ];
        assert_eq!(
            proxy_for("https://s.test/", &vars).as_deref(),
            Some("socks5h://all.test:3")
        );
        assert_eq!(
            proxy_for("http://s.test/", &vars).as_deref(),
            Some("http://plain.test:2")
        );
        assert_eq!(proxy_for("http://s.test/", &[]), None);
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_in_a_cgi_program() {
        let vars = [
            ("REQUEST_METHOD", "GET"),
            ("HTTP_PROXY", "http://injected.test:1"),
        ];
        assert_eq!(proxy_for("http://s.test/", &vars), None);
        let lower = [
            ("REQUEST_METHOD", "GET"),
            ("http_proxy", "http://ok.test:1"),
        ];
        assert_eq!(
            proxy_for("http://s.test/", &lower).as_deref(),
            Some("http://ok.test:1")
        );
    }

    #[test]
    fn no_proxy_skips_the_proxy_for_matching_hosts_only() {
        let vars = [
            ("HTTP_PROXY", "http://p.test:1"),
            ("NO_PROXY", "internal.test, 10.0.0.0/8,::1"),
        ];
        assert_eq!(proxy_for("http://internal.test/", &vars), None);
        assert_eq!(proxy_for("http://api.internal.test/", &vars), None);
        assert_eq!(proxy_for("http://10.1.2.3/", &vars), None);
        assert_eq!(proxy_for("http://[::1]:3000/", &vars), None);
        assert!(proxy_for("http://notinternal.test/", &vars).is_some());
        assert!(proxy_for("http://11.0.0.1/", &vars).is_some());
    }

    #[test]
    fn an_unusable_proxy_variable_is_an_error_naming_it() {
        let target = Url::parse("http://s.test/").expect("url");
        let error = from_environment(&target, &env(&[("http_proxy", "ftp://p.test")]))
            .expect_err("unsupported");
        assert!(error.starts_with("http_proxy: "), "{error}");
    }

    #[test]
    fn no_proxy_entries_match_names_suffixes_ips_and_star() {
        let name = Host::Domain("api.example.com");
        assert!(no_proxy_matches("*", &name));
        assert!(no_proxy_matches("example.com", &name));
        assert!(no_proxy_matches(".example.com", &name));
        assert!(no_proxy_matches("*.example.com", &name));
        assert!(no_proxy_matches("API.Example.COM", &name));
        assert!(!no_proxy_matches("ample.com", &name));
        assert!(!no_proxy_matches("other.com,", &name));
        let ip = Host::Ipv4("192.168.1.20".parse().expect("ip"));
        assert!(no_proxy_matches("192.168.1.20", &ip));
        assert!(no_proxy_matches("192.168.0.0/16", &ip));
        assert!(!no_proxy_matches("192.168.2.0/24", &ip));
        assert!(!no_proxy_matches("example.com", &ip));
        let v6 = Host::Ipv6("fd00::1".parse().expect("ip"));
        assert!(no_proxy_matches("[fd00::1]", &v6));
        assert!(no_proxy_matches("fd00::/8", &v6));
        assert!(no_proxy_matches("0.0.0.0/0", &ip));
    }
}
