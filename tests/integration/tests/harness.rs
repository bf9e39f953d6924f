//! The harness itself: the reference server starts, answers and restarts as promised.

use std::time::Duration;

use ferrio_integration_tests::{binary, TestServer};
use serde_json::json;

/// A raw Engine.IO polling handshake; returns the open packet's text.
async fn polling_handshake(server: &TestServer) -> String {
    let url = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    let response = server.http_client().get(&url).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_server_listens_on_an_ephemeral_loopback_port_and_the_control_channel_answers() {
    let server = TestServer::start().await;

    assert_ne!(server.port(), 0);
    assert_eq!(server.url(), format!("http://127.0.0.1:{}", server.port()));
    let clients = server.clients().await;
    assert_eq!(clients["engineClients"], 0);
    assert_eq!(clients["namespaces"]["/"], json!([]));
    assert!(server.received_all().await.is_empty());
}

#[tokio::test]
async fn a_polling_handshake_gets_an_open_packet() {
    let server = TestServer::start().await;

    let open = polling_handshake(&server).await;

    assert!(open.starts_with(r#"0{"sid""#), "{open}");
    assert!(open.contains(r#""pingInterval":2000"#), "{open}");
    assert!(open.contains(r#""pingTimeout":5000"#), "{open}");
    assert_eq!(server.stats().await["engineConnections"], 1);
}

#[tokio::test]
async fn the_configuration_reaches_the_server() {
    let server = TestServer::start_with(json!({
        "pingInterval": 300,
        "pingTimeout": 200,
        "transports": ["polling"],
        "maxHttpBufferSize": 100,
    }))
    .await;

    let open = polling_handshake(&server).await;

    assert!(open.contains(r#""upgrades":[]"#), "{open}");
    assert!(open.contains(r#""pingInterval":300"#), "{open}");
    assert!(open.contains(r#""maxPayload":100"#), "{open}");
}

#[tokio::test]
async fn a_restarted_server_listens_on_the_same_port_and_keeps_its_records() {
    let server = TestServer::start().await;
    polling_handshake(&server).await;

    server.restart(Duration::from_millis(50)).await;

    assert!(polling_handshake(&server).await.starts_with(r#"0{"sid""#));
    let stats = server.stats().await;
    assert_eq!(stats["restarts"], 1);
    assert_eq!(stats["engineConnections"], 2);
}

#[tokio::test]
async fn a_killed_server_respawns_on_the_same_port() {
    let mut server = TestServer::start().await;
    let port = server.port();
    server.kill().await;

    server.respawn().await;

    assert_eq!(server.port(), port);
    assert!(polling_handshake(&server).await.starts_with(r#"0{"sid""#));
}

#[tokio::test]
async fn a_tls_server_is_trusted_through_the_generated_ca() {
    let server = TestServer::start_tls(json!({})).await;
    let ca = server.ca().expect("a TLS server has a CA");
    assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(ca.ca_pem_path().is_file());
    assert_eq!(server.url(), format!("https://localhost:{}", server.port()));

    let client = reqwest::Client::builder()
        .use_preconfigured_tls(ca.rustls_client_config())
        .build()
        .unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!(
            "https://{host}:{}/socket.io/?EIO=4&transport=polling",
            server.port()
        );
        let open = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(open.starts_with(r#"0{"sid""#), "{host}: {open}");
    }
}

#[tokio::test]
async fn a_tls_server_is_not_trusted_without_the_ca() {
    let server = TestServer::start_tls(json!({})).await;
    let other_ca = ferrio_integration_tests::TestCa::generate();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(other_ca.rustls_client_config())
        .build()
        .unwrap();

    let url = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    assert!(client.get(&url).send().await.is_err());
}

#[tokio::test]
async fn servers_started_in_parallel_get_different_ports() {
    let (a, b) = tokio::join!(TestServer::start(), TestServer::start());

    assert_ne!(a.port(), b.port());
    assert!(polling_handshake(&a).await.starts_with(r#"0{"sid""#));
    assert!(polling_handshake(&b).await.starts_with(r#"0{"sid""#));
}

#[tokio::test]
async fn control_emits_reject_unknown_namespaces() {
    let server = TestServer::start().await;

    assert_eq!(server.emit("/", "news", json!([binary(&[1])])).await, 0);
    let answer = server
        .http_client()
        .post(format!("{}/emit", server.control_url()))
        .body(r#"{"nsp":"/nowhere","event":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

#[tokio::test]
async fn a_frozen_server_answers_again_once_thawed() {
    let server = TestServer::start().await;

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
}
