//! The cookie jar of a manager, bounded per host so a server cannot grow it without limit.
//!
//! RFC 6265 storage (domain and path matching, expiry) is `cookie_store`'s; this wrapper
//! remembers, for every host that set cookies, the order they were last set in, and keeps
//! each host within [`CookieLimits`]: a cookie that takes its host over a bound pushes out
//! that host's least recently set cookies, and a cookie larger than the byte bound on its own
//! is ignored. At most [`MAX_HOSTS`] hosts keep cookies (a server redirecting to ever new
//! host names cannot multiply the bound): a new one drops every cookie of the host that set
//! one least recently.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cookie_store::{Cookie, CookieStore as Store, RawCookie, StoreAction};
use http::HeaderValue;
use reqwest::cookie::CookieStore;
use url::Url;

/// The bounds of the cookies set by one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieLimits {
    /// Most cookies one host may have set.
    pub(crate) max_count: usize,
    /// Most bytes (names, values, domains and paths) of the cookies one host may have set.
    pub(crate) max_bytes: usize,
}

/// The most hosts whose cookies the jar keeps. A manager talks to one server (a few across
/// reconnection hooks and redirects).
pub(crate) const MAX_HOSTS: usize = 16;

/// Where a cookie lives in the store: domain, path, name.
type Key = (String, String, String);

/// The cookies one host set, least recently set first.
#[derive(Debug)]
struct HostCookies {
    host: String,
    keys: VecDeque<Key>,
}

/// A cookie jar bounded per host (see the module documentation).
#[derive(Debug)]
pub(crate) struct CookieJar {
    limits: CookieLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    store: Store,
    /// The hosts that set cookies, the one that set one least recently first.
    hosts: VecDeque<HostCookies>,
}

impl CookieJar {
    /// An empty jar with these bounds.
    pub(crate) fn new(limits: CookieLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Stores one `Set-Cookie` header value received from `url`; a malformed one is ignored.
    fn store(&self, header: &HeaderValue, url: &Url) {
        let Some(raw) = header
            .to_str()
            .ok()
            .and_then(|text| RawCookie::parse(text.to_owned()).ok())
        else {
            tracing::debug!("ignoring a malformed Set-Cookie header");
            return;
        };
        let Ok(cookie) = Cookie::try_from_raw_cookie(&raw, url) else {
            tracing::debug!(name = raw.name(), "ignoring a cookie not for this host");
            return;
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let size = cookie_size(&cookie);
        if size > self.limits.max_bytes {
            tracing::warn!(
                %host,
                size,
                limit = self.limits.max_bytes,
                "ignoring a cookie larger than the per-host limit"
            );
            return;
        }
        let key = (
            String::from(&cookie.domain),
            String::from(&cookie.path),
            cookie.name().to_owned(),
        );
        let mut inner = self.lock();
        let action = inner.store.insert(cookie.into_owned(), url);
        let known = inner.hosts.iter().position(|known| known.host == host);
        let mut cookies = known
            .and_then(|index| inner.hosts.remove(index))
            .unwrap_or_else(|| HostCookies {
                host,
                keys: VecDeque::new(),
            });
        cookies.keys.retain(|known| *known != key);
        if let Ok(StoreAction::Inserted | StoreAction::UpdatedExisting) = action {
            cookies.keys.push_back(key);
        }
        inner.enforce(&mut cookies, self.limits);
        if !cookies.keys.is_empty() {
            inner.hosts.push_back(cookies);
        }
        while inner.hosts.len() > MAX_HOSTS {
            let Some(oldest) = inner.hosts.pop_front() else {
                break;
            };
            for (domain, path, name) in &oldest.keys {
                inner.store.remove(domain, path, name);
            }
            tracing::warn!(
                host = %oldest.host,
                max_hosts = MAX_HOSTS,
                "cookie jar holds too many hosts, dropped the cookies of the oldest"
            );
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The store stays consistent if a panic interrupted an earlier call.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Forgets the host's expired cookies, then drops its least recently set ones until it
    /// is within `limits`.
    fn enforce(&mut self, cookies: &mut HostCookies, limits: CookieLimits) {
        let order = &mut cookies.keys;
        let store = &mut self.store;
        order.retain(|(domain, path, name)| {
            let live = store.get(domain, path, name).is_some();
            if !live {
                store.remove(domain, path, name);
            }
            live
        });
        let mut bytes: usize = order
            .iter()
            .filter_map(|(domain, path, name)| store.get(domain, path, name))
            .map(cookie_size)
            .sum();
        let mut dropped = 0usize;
        while order.len() > limits.max_count || bytes > limits.max_bytes {
            let Some((domain, path, name)) = order.pop_front() else {
                break;
            };
            if let Some(cookie) = store.remove(&domain, &path, &name) {
                bytes -= cookie_size(&cookie);
            }
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!(
                host = %cookies.host,
                dropped,
                max_count = limits.max_count,
                max_bytes = limits.max_bytes,
                "cookie jar full for this host, dropped its oldest cookies"
            );
        }
    }
}

/// What a cookie costs: the bytes of its name, value, domain and path.
fn cookie_size(cookie: &Cookie<'_>) -> usize {
    let domain = cookie.domain.as_cow().map_or(0, |domain| domain.len());
    let path: &str = cookie.path.as_ref();
    cookie.name().len() + cookie.value().len() + domain + path.len()
}

impl CookieStore for CookieJar {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        for header in cookie_headers {
            self.store(header, url);
        }
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        let inner = self.lock();
        let header = inner
            .store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        if header.is_empty() {
            return None;
        }
        HeaderValue::from_str(&header).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CookieLimits = CookieLimits {
        max_count: 3,
        max_bytes: 100,
    };

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    fn set(jar: &CookieJar, url: &Url, headers: &[&str]) {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_str(h).expect("header"))
            .collect();
        jar.set_cookies(&mut values.iter(), url);
    }

    fn header(jar: &CookieJar, url: &Url) -> String {
        jar.cookies(url)
            .map(|h| h.to_str().expect("text").to_owned())
            .unwrap_or_default()
    }

    /// The cookie names sent to `url`, sorted.
    fn names(jar: &CookieJar, url: &Url) -> Vec<String> {
        let mut names: Vec<String> = header(jar, url)
            .split("; ")
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split('=').next().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn cookies_set_by_the_server_are_sent_back() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/socket.io/");
        set(&jar, &server, &["io=abc; Path=/", "lb=1"]);
        assert_eq!(names(&jar, &server), ["io", "lb"]);
    }

    #[test]
    fn past_the_count_the_least_recently_set_cookies_are_dropped() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/");
        set(&jar, &server, &["a=1", "b=1", "c=1"]);
        // Setting `a` again makes it the most recent: `b` is the oldest now.
        set(&jar, &server, &["a=2", "d=1"]);
        assert_eq!(names(&jar, &server), ["a", "c", "d"]);
        assert!(header(&jar, &server).contains("a=2"));
    }

    #[test]
    fn past_the_byte_bound_the_oldest_cookies_are_dropped() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/");
        // 37 bytes each with the domain `a.test` and the path `/`: two fit, three do not.
        let thirty = "v".repeat(29);
        set(
            &jar,
            &server,
            &[&format!("a={thirty}"), &format!("b={thirty}")],
        );
        assert_eq!(names(&jar, &server), ["a", "b"]);
        set(&jar, &server, &[&format!("c={thirty}")]);
        assert_eq!(names(&jar, &server), ["b", "c"]);
    }

    #[test]
    fn a_cookie_larger_than_the_byte_bound_is_ignored_and_the_others_stay() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/");
        set(&jar, &server, &["a=1"]);
        set(&jar, &server, &[&format!("huge={}", "x".repeat(100))]);
        assert_eq!(names(&jar, &server), ["a"]);
    }

    #[test]
    fn each_host_has_its_own_bound() {
        let jar = CookieJar::new(LIMITS);
        let first = url("http://a.test/");
        let second = url("http://b.test/");
        set(&jar, &first, &["a=1", "b=1", "c=1"]);
        set(&jar, &second, &["x=1", "y=1", "z=1", "w=1"]);
        assert_eq!(names(&jar, &first), ["a", "b", "c"]);
        assert_eq!(names(&jar, &second), ["w", "y", "z"]);
    }

    #[test]
    fn past_the_host_count_the_host_that_set_a_cookie_least_recently_loses_its_cookies() {
        let jar = CookieJar::new(LIMITS);
        let hosts: Vec<Url> = (0..=MAX_HOSTS)
            .map(|i| url(&format!("http://h{i}.test/")))
            .collect();
        for host in &hosts {
            set(&jar, host, &["a=1"]);
        }
        // Host 0 went when the 17th host came. Host 1 sets a cookie again, so host 2 is the
        // least recent and goes when another host comes.
        set(&jar, &hosts[1], &["b=1"]);
        let host = url(&format!("http://h{}.test/", MAX_HOSTS + 1));
        set(&jar, &host, &["a=1"]);
        assert!(names(&jar, &hosts[0]).is_empty());
        assert!(names(&jar, &hosts[2]).is_empty());
        assert_eq!(names(&jar, &hosts[1]), ["a", "b"]);
        assert_eq!(names(&jar, &host), ["a"]);
        assert_eq!(jar.lock().hosts.len(), MAX_HOSTS);
        assert_eq!(jar.lock().store.iter_any().count(), MAX_HOSTS + 1);
    }

    #[test]
    fn an_expired_cookie_removes_the_stored_one_and_frees_its_room() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/");
        set(&jar, &server, &["a=1", "b=1", "c=1"]);
        set(&jar, &server, &["a=; Max-Age=0", "d=1"]);
        assert_eq!(names(&jar, &server), ["b", "c", "d"]);
    }

    #[test]
    fn a_flood_of_cookies_leaves_the_host_within_its_bounds() {
        let jar = CookieJar::new(LIMITS);
        let server = url("http://a.test/");
        let flood: Vec<String> = (0..10_000).map(|i| format!("c{i}={i}")).collect();
        let flood: Vec<&str> = flood.iter().map(String::as_str).collect();
        set(&jar, &server, &flood);
        assert_eq!(names(&jar, &server), ["c9997", "c9998", "c9999"]);
        assert_eq!(jar.lock().store.iter_any().count(), 3);
    }
}
