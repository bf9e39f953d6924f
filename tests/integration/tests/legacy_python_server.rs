//! The second Socket.IO 2.x implementation: a python-socketio 4.x server
//! (`tests/server-v2-python`: python-engineio 3.x in aiohttp mode), checked on the wire.
//! It speaks Engine.IO v3 over polling and WebSocket, refuses Ferrio's Engine.IO v4
//! opening request with an HTTP 400 (where the npm socket.io@2 server answers a v3
//! handshake instead), and reads a posted text payload's lengths in code points (the JS
//! parser writes UTF-16 code units) or a binary payload's in bytes, the form Ferrio posts.
//! The client's scenarios against it are in `legacy_servers.rs`.

use ferrio_integration_tests::TestServer;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// The refusal python-engineio 3.x gives a client that does not speak Engine.IO v2 or v3.
const UNSUPPORTED_VERSION: &str =
    "The client is using an unsupported version of the Socket.IO or Engine.IO protocols";

/// The Engine.IO v3 OPEN packet's handshake (`0{...}`) as JSON.
fn handshake(packet: &str) -> serde_json::Value {
    let json = packet
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an OPEN packet: {packet:?}"));
    serde_json::from_str(json).expect("handshake JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_opens_an_engine_io_v3_session_that_offers_websocket() {
    let server = TestServer::start_v2_python().await;
    // b64=1: text payloads (without it, python-engineio 3.x answers in the binary
    // payload format, `\x00<length digits>\xff<packet>`).
    let url = format!("{}/socket.io/?EIO=3&transport=polling&b64=1", server.url());
    let response = server.http_client().get(url).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    let packets = payload(&body);
    let open = handshake(&packets[0]);
    assert!(open["sid"].is_string(), "{open}");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]), "{open}");
    assert_eq!(open["pingInterval"], 1000, "{open}");
    // Socket.IO protocol 4: the server connects "/" by itself (v5 waits for the client).
    assert_eq!(packets[1..], ["40"], "{body}");
}

/// The packets of an Engine.IO v3 text payload, each `<length in characters>:<packet>` (v4
/// separates packets with \x1e instead).
fn payload(body: &str) -> Vec<String> {
    let mut packets = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (length, tail) = rest
            .split_once(':')
            .unwrap_or_else(|| panic!("not a v3 payload: {body:?}"));
        let length: usize = length.parse().expect("a packet length");
        let end = tail
            .char_indices()
            .nth(length)
            .map_or(tail.len(), |(index, _)| index);
        packets.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    packets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_opens_an_engine_io_v3_session_and_connects_the_main_namespace() {
    let server = TestServer::start_v2_python().await;
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=3&transport=websocket",
        server.port()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket handshake");
    let open = handshake(&next_text(&mut ws).await);
    assert!(open["sid"].is_string(), "{open}");
    // Socket.IO protocol 4: the server connects "/" by itself (v5 waits for the client).
    assert_eq!(next_text(&mut ws).await, "40");
}

/// The next text frame of `ws`.
async fn next_text<S>(ws: &mut S) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    match ws.next().await {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_session_upgrades_to_websocket() {
    let server = TestServer::start_v2_python().await;
    let polling = format!("{}/socket.io/?EIO=3&transport=polling&b64=1", server.url());
    let http = server.http_client();
    let body = http.get(&polling).send().await.expect("GET").text().await;
    let open = handshake(&payload(&body.expect("body"))[0]);
    let sid = open["sid"].as_str().expect("sid");
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=3&transport=websocket&sid={sid}",
        server.port()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket handshake");
    ws.send(Message::text("2probe")).await.expect("probe");
    assert_eq!(next_text(&mut ws).await, "3probe");
    ws.send(Message::text("5")).await.expect("upgrade");
    // Upgraded: an event goes over the WebSocket and its ack comes back on it (after any
    // NOOP, `6`, that ended the polling request still open).
    ws.send(Message::text(r#"421["echo","over the upgrade"]"#))
        .await
        .expect("event");
    let mut packet = next_text(&mut ws).await;
    while packet == "6" {
        packet = next_text(&mut ws).await;
    }
    assert_eq!(packet, r#"431["over the upgrade"]"#);
}

/// The two packets of a POST, an echo with a character outside the BMP then another.
const PACKETS: [&str; 2] = [r#"421["echo","😀"]"#, r#"422["echo","x"]"#];

/// A new polling session's URL (with its sid) on `server`.
async fn polling_session(server: &TestServer) -> String {
    let url = format!("{}/socket.io/?EIO=3&transport=polling&b64=1", server.url());
    let body = server.http_client().get(&url).send().await.expect("GET");
    let open = handshake(&payload(&body.text().await.expect("body"))[0]);
    format!("{url}&sid={}", open["sid"].as_str().expect("sid"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_payload_counts_code_points_or_is_binary() {
    let server = TestServer::start_v2_python().await;
    let http = server.http_client();
    let post = |url: String, body: Vec<u8>, content_type: &'static str| {
        let http = http.clone();
        async move {
            let response = http
                .post(url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("POST");
            response.status().as_u16()
        }
    };
    let text = |length: fn(&str) -> usize| {
        PACKETS
            .iter()
            .map(|packet| format!("{}:{packet}", length(packet)))
            .collect::<String>()
            .into_bytes()
    };
    let acks = |url: String| {
        let http = http.clone();
        async move {
            let body = http.get(url).send().await.expect("GET").text().await;
            payload(&body.expect("body"))
        }
    };
    // Lengths in code points (Python's `len`): both packets are read and answered.
    let url = polling_session(&server).await;
    let code_points = text(|packet| packet.chars().count());
    assert_eq!(post(url.clone(), code_points, "text/plain").await, 200);
    assert_eq!(acks(url).await, [r#"431["\ud83d\ude00"]"#, r#"432["x"]"#]);
    // Lengths in UTF-16 code units (the JS parser's): the payload does not parse,
    // the server closes the session (the POST answers once it closed) and refuses its GETs.
    let url = polling_session(&server).await;
    let utf16 = text(|packet| packet.encode_utf16().count());
    post(url.clone(), utf16, "text/plain").await;
    let next = http.get(url).send().await.expect("GET");
    assert_eq!(next.status(), 400);
    // The binary payload format, lengths in UTF-8 bytes (what Ferrio posts): read as the
    // npm server reads it.
    let url = polling_session(&server).await;
    let mut binary = Vec::new();
    for packet in PACKETS {
        binary.push(0);
        binary.extend(packet.len().to_string().bytes().map(|digit| digit - b'0'));
        binary.push(0xff);
        binary.extend(packet.as_bytes());
    }
    assert_eq!(
        post(url.clone(), binary, "application/octet-stream").await,
        200
    );
    assert_eq!(acks(url).await, [r#"431["\ud83d\ude00"]"#, r#"432["x"]"#]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_io_v4_opening_request_is_refused_with_http_400() {
    let server = TestServer::start_v2_python().await;
    let url = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    let response = server.http_client().get(url).send().await.expect("GET");
    assert_eq!(response.status(), 400);
    let body = response.text().await.expect("body");
    assert!(body.contains(UNSUPPORTED_VERSION), "{body}");
}
