//! Errors that echo what a hostile server sent stay short: a hand-written Engine.IO server
//! on loopback refuses the namespace with a megabyte-long message.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use ferrio::{Client, ConnectError, TransportKind};

/// A WebSocket-only Engine.IO server that opens a session, then answers the client's
/// CONNECT with a CONNECT_ERROR whose message is `refusal`. Returns its URL.
async fn refusing_server(refusal: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
        let open = r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        ws.send(Message::text(open)).await.expect("send open");
        while let Some(Ok(message)) = ws.next().await {
            if message.to_text().is_ok_and(|text| text.starts_with("40")) {
                break;
            }
        }
        let packet = serde_json::json!({ "message": refusal });
        ws.send(Message::text(format!("44{packet}")))
            .await
            .expect("send the refusal");
        while let Some(Ok(_)) = ws.next().await {}
    });
    url
}

#[tokio::test]
async fn a_megabyte_refusal_message_is_cut_to_a_kilobyte_with_its_length() {
    let url = refusing_server("no".repeat(512 * 1024)).await;

    let result = Client::builder(&url)
        .manager(|b| {
            b.transports(&[TransportKind::WebSocket])
                .reconnection(false)
        })
        .connect()
        .await;

    let Err(ConnectError::Rejected { message, data }) = result else {
        panic!("expected a refusal, got {:?}", result.map(|_| ()));
    };
    assert_eq!(message, format!("{}… (1048576 bytes)", "no".repeat(512)));
    assert!(data.is_none());
}
