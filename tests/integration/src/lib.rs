//! Test harness for Ferrio's integration tests.
//!
//! [`TestServer`] starts the reference Socket.IO server (`tests/server/server.js`, Node) on an
//! ephemeral loopback port, drives it through its control channel and kills it on `Drop`:
//!
//! ```no_run
//! # async fn example() {
//! use ferrio_integration_tests::TestServer;
//! use serde_json::json;
//!
//! let server = TestServer::start().await;
//! let ws_only = TestServer::start_with(json!({ "transports": ["websocket"] })).await;
//! server.emit("/", "news", json!(["hello", ferrio_integration_tests::binary(&[1, 2])])).await;
//! let event = server.wait_for_event("/", "echo").await;
//! # }
//! ```
//!
//! [`TestCluster`] starts Redis, two nodes of the reference server with the Redis adapter and
//! nginx in front (sticky by cookie, and round robin), for tests of scaled-out deployments.
//!
//! [`TestProxy`] runs a real proxy from Debian (tinyproxy, squid, microsocks) on an
//! ephemeral port, connecting out from [`PROXY_OUTGOING_ADDRESS`] so that
//! [`TestServer::peers`] shows who came through it.
//!
//! [`TestCa`] makes a certificate authority and a server certificate for TLS tests
//! ([`TestServer::start_tls`]).
//!
//! [`behaviour`] runs the behaviour table (`tests/behaviour/scenarios.json`) for the Rust
//! drivers of the core and the CLI.
//!
//! [`launcher`] lets another process start the servers, for test binaries that cannot start
//! Node themselves (a Windows build run by wine: `make test-windows`).

pub mod behaviour;
mod cluster;
// The proxies are Debian's programs: the Windows build of the tests (wine) has none.
#[cfg(unix)]
mod http_proxy;
pub mod launcher;
mod proxy;
mod server;
mod tls;

pub use cluster::TestCluster;
#[cfg(unix)]
pub use http_proxy::{ProxyKind, TestProxy, PROXY_OUTGOING_ADDRESS};
pub use proxy::FaultProxy;
pub use server::TestServer;
pub use tls::TestCa;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

/// The control channel's JSON form of binary data: `{"$binary": "<base64>"}`. The server turns
/// it into a `Buffer` anywhere in the arguments of an emit, and records received binary the
/// same way.
pub fn binary(bytes: &[u8]) -> Value {
    json!({ "$binary": STANDARD.encode(bytes) })
}

/// The bytes of a `{"$binary": "<base64>"}` value, or `None` if `value` is not one.
pub fn binary_bytes(value: &Value) -> Option<Vec<u8>> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    STANDARD.decode(object.get("$binary")?.as_str()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_values_round_trip_through_base64() {
        let value = binary(&[0, 1, 255]);
        assert_eq!(value, json!({ "$binary": "AAH/" }));
        assert_eq!(binary_bytes(&value), Some(vec![0, 1, 255]));
    }

    #[test]
    fn objects_other_than_a_lone_binary_key_are_not_binary() {
        assert_eq!(binary_bytes(&json!({ "$binary": "AA==", "x": 1 })), None);
        assert_eq!(binary_bytes(&json!("AA==")), None);
    }
}
