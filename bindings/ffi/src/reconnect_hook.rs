//! The reconnection hook: a foreign callback run before every reconnection attempt, which
//! may return a fresh URL, query, headers or auth (a refreshed token).
//!
//! The callback is synchronous on the FFI and runs on a blocking thread of the FFI runtime
//! (never on a runtime worker), so it may block: each language bridges its own async form
//! to it (a Python coroutine on the client's loop, a Kotlin `suspend` function, a Swift
//! `async` closure). The core bounds it with `reconnect_hook_timeout` (10 s): an attempt
//! whose hook has not answered by then fails and the next one is scheduled.

use std::collections::HashMap;
use std::sync::Arc;

use crate::options::parse_auth;

/// Fresh settings for a reconnection attempt; fields left `None` keep their value.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ReconnectUpdate {
    /// A new server URL (its path is ignored: namespaces stay as they are).
    #[uniffi(default = None)]
    pub url: Option<String>,
    /// New query parameters, replacing the previous ones.
    #[uniffi(default = None)]
    pub query: Option<HashMap<String, String>>,
    /// New extra headers, replacing the previous ones.
    #[uniffi(default = None)]
    pub extra_headers: Option<HashMap<String, String>>,
    /// A new auth payload for every namespace: JSON text of an object.
    #[uniffi(default = None)]
    pub auth_json: Option<String>,
}

/// Why a reconnection hook gave no update. The attempt goes on with the current settings
/// (a warning is logged): a token that could not be refreshed is the server's to refuse.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ReconnectHookError {
    /// The hook failed (a foreign exception, with its text).
    #[error("the reconnection hook failed: {detail}")]
    Failed {
        /// What the hook said.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ReconnectHookError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            detail: error.reason,
        }
    }
}

/// Implemented by each language: called before reconnection attempt `attempt` (from 1).
#[uniffi::export(foreign)]
pub trait ReconnectHook: Send + Sync {
    /// The settings of attempt `attempt`; runs on a thread of its own and may block.
    ///
    /// # Errors
    /// Any: the attempt then goes on with the current settings.
    fn before_attempt(&self, attempt: u32) -> Result<ReconnectUpdate, ReconnectHookError>;
}

/// The core's hook calling `hook` on a blocking thread.
pub(crate) fn core_hook(hook: Arc<dyn ReconnectHook>) -> ferrio::ReconnectHook {
    ferrio::ReconnectHook::new(move |attempt| {
        let hook = hook.clone();
        async move {
            let called = tokio::task::spawn_blocking(move || hook.before_attempt(attempt)).await;
            match called {
                Ok(Ok(update)) => to_core(update),
                Ok(Err(error)) => {
                    tracing::warn!(attempt, %error, "reconnecting with the current settings");
                    ferrio::ReconnectUpdate::default()
                }
                Err(error) => {
                    tracing::warn!(attempt, %error, "the reconnection hook panicked; reconnecting with the current settings");
                    ferrio::ReconnectUpdate::default()
                }
            }
        }
    })
}

/// The core's update; an auth that is not JSON text of an object is left out (logged).
fn to_core(update: ReconnectUpdate) -> ferrio::ReconnectUpdate {
    let auth = match parse_auth(update.auth_json.as_deref()) {
        Ok(auth) => auth,
        Err(error) => {
            tracing::warn!(%error, "the reconnection hook's auth is ignored");
            None
        }
    };
    ferrio::ReconnectUpdate {
        url: update.url,
        query: update.query.map(sorted),
        extra_headers: update.extra_headers.map(sorted),
        auth,
    }
}

/// Map entries sorted by key, so requests are the same from run to run.
fn sorted(map: HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = map.into_iter().collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_crosses_with_its_auth_parsed_and_its_maps_sorted() {
        let update = to_core(ReconnectUpdate {
            url: Some("http://backup.test".into()),
            query: Some(HashMap::from([
                ("b".to_owned(), "2".to_owned()),
                ("a".to_owned(), "1".to_owned()),
            ])),
            extra_headers: None,
            auth_json: Some(r#"{"token":"fresh"}"#.into()),
        });
        assert_eq!(update.url.as_deref(), Some("http://backup.test"));
        assert_eq!(
            update.query,
            Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert_eq!(update.extra_headers, None);
        let auth = update.auth.expect("auth");
        assert_eq!(
            serde_json::to_value(&auth).expect("json"),
            serde_json::json!({"token": "fresh"})
        );
    }

    #[test]
    fn an_auth_that_is_not_an_object_is_left_out() {
        let update = to_core(ReconnectUpdate {
            auth_json: Some("[1]".into()),
            ..ReconnectUpdate::default()
        });
        assert!(update.auth.is_none());
    }
}
