//! Servers started by a launcher (the protocol `make test-windows` uses: see
//! `ferrio_integration_tests::launcher`) behave as the test's own children. The launcher
//! runs in this process; it starts Node, so this runs where Node does (not under wine).
#![cfg(unix)]

use std::time::Duration;

use ferrio_integration_tests::launcher::{serve, LAUNCHER_ENV};
use ferrio_integration_tests::TestServer;
use serde_json::json;

async fn polling_handshake(server: &TestServer) -> String {
    let url = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    let response = server.http_client().get(&url).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap()
}

// One test in this binary: the variable is set before any thread could read the environment.
#[test]
fn servers_start_freeze_respawn_fail_and_serve_tls_through_a_launcher() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    std::env::set_var(LAUNCHER_ENV, listener.local_addr().unwrap().to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::spawn(serve(tokio::net::TcpListener::from_std(listener).unwrap()));

        let mut server = TestServer::start_with(json!({ "pingInterval": 300 })).await;
        assert_ne!(server.pid(), std::process::id());
        let open = polling_handshake(&server).await;
        assert!(open.contains(r#""pingInterval":300"#), "{open}");

        server.freeze();
        let request = tokio::spawn({
            let client = server.http_client();
            let url = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
            async move { client.get(&url).send().await.unwrap().text().await.unwrap() }
        });
        tokio::task::yield_now().await;
        assert!(!request.is_finished());
        server.thaw();
        assert!(request.await.unwrap().starts_with(r#"0{"sid""#));

        let port = server.port();
        server.kill().await;
        server.respawn().await;
        assert_eq!(server.port(), port);
        assert!(polling_handshake(&server).await.starts_with(r#"0{"sid""#));

        // The port is taken: the launcher's reason reaches the test's panic.
        let taken = tokio::spawn(TestServer::start_with(json!({ "port": port }))).await;
        let panic = taken
            .expect_err("a second server on a taken port")
            .into_panic();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("did not start"), "{message}");

        let tls = TestServer::start_tls(json!({})).await;
        let ca = tls.ca().expect("a TLS server has a CA");
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(ca.rustls_client_config())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let url = format!("{}/socket.io/?EIO=4&transport=polling", tls.url());
        let open = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(open.starts_with(r#"0{"sid""#), "{open}");
    });
}
