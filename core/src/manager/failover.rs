//! Failover: the servers a connection attempt tries, in order (the manager's URL, then
//! [`ManagerOptions::fallback_urls`]), as a reconnection hook changes them, and the time
//! an attempt over them may take. The attempt itself is [`super::opening`].

use std::sync::Arc;
use std::time::Duration;

use crate::engineio::session::Endpoint;
use crate::error::ConnectError;
use crate::options::{ManagerOptions, ReconnectUpdate};

/// The servers after a reconnection hook's `update`: a URL it returns replaces the first
/// (the manager's URL); its query and headers apply to every server.
pub(crate) fn apply_update(
    endpoints: &[Arc<Endpoint>],
    update: &ReconnectUpdate,
    options: &ManagerOptions,
) -> Result<Vec<Arc<Endpoint>>, ConnectError> {
    let shared = ReconnectUpdate {
        url: None,
        ..update.clone()
    };
    endpoints
        .iter()
        .enumerate()
        .map(|(index, endpoint)| {
            let update = if index == 0 { update } else { &shared };
            Ok(Arc::new(endpoint.updated(update, options)?))
        })
        .collect()
}

/// The longest an attempt over `count` servers may take: `timeout` each.
pub(crate) fn attempt_limit(timeout: Duration, count: usize) -> Duration {
    timeout.saturating_mul(u32::try_from(count.max(1)).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(urls: &[&str], options: &ManagerOptions) -> Vec<Arc<Endpoint>> {
        urls.iter()
            .map(|url| {
                Arc::new(Endpoint::new(&url.parse().expect("url"), options).expect("endpoint"))
            })
            .collect()
    }

    fn urls(endpoints: &[Arc<Endpoint>]) -> Vec<String> {
        endpoints
            .iter()
            .map(|e| e.server_url().to_string())
            .collect()
    }

    #[test]
    fn a_hook_url_replaces_the_first_server_and_the_fallbacks_follow_it() {
        let options = ManagerOptions::default();
        let list = endpoints(&["http://a.test/", "http://b.test/"], &options);
        let update = ReconnectUpdate {
            url: Some("http://c.test/".into()),
            ..ReconnectUpdate::default()
        };
        let updated = apply_update(&list, &update, &options).expect("updated");
        assert_eq!(urls(&updated), ["http://c.test/", "http://b.test/"]);
    }

    #[test]
    fn a_hook_query_applies_to_every_server() {
        let options = ManagerOptions::default();
        let list = endpoints(&["http://a.test/", "http://b.test/"], &options);
        let update = ReconnectUpdate {
            query: Some(vec![("token".into(), "fresh".into())]),
            ..ReconnectUpdate::default()
        };
        let updated = apply_update(&list, &update, &options).expect("updated");
        assert_eq!(urls(&updated), ["http://a.test/", "http://b.test/"]);
        for endpoint in &updated {
            let url = endpoint.url(crate::TransportKind::Polling, None);
            assert!(url.query().unwrap_or("").contains("token=fresh"), "{url}");
        }
    }

    #[test]
    fn an_attempt_over_several_servers_may_take_the_timeout_of_each() {
        let second = Duration::from_secs(1);
        assert_eq!(attempt_limit(second, 0), second);
        assert_eq!(attempt_limit(second, 3), 3 * second);
        assert_eq!(attempt_limit(Duration::MAX, 2), Duration::MAX);
    }
}
