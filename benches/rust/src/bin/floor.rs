//! The floor: the least a Socket.IO client can do, written directly on tokio-tungstenite.
//! It speaks only the wire format the scenarios need (protocol.md 1.4-1.6): the Engine.IO
//! open packet, Socket.IO CONNECT, events, acks and binary acks on the main namespace,
//! pong for ping; polling only for the handshake before an upgrade. No dispatch, no
//! buffering, no reconnection, no features. It still does the JSON work a user needs:
//! serializing outgoing arguments and parsing incoming ones into `serde_json::Value`.
//!
//! `floor <scenario> <url> <n>`
#[path = "../common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn host(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// Reads the next text frame, answering pings.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await.expect("closed").expect("ws error") {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await.unwrap(),
            Message::Text(t) => return t.as_str().to_owned(),
            Message::Binary(_) => panic!("unexpected binary"),
            _ => {}
        }
    }
}

/// The WebSocket settings: Ferrio's read buffer size (16 KiB; tungstenite's default is
/// 128 KiB, zero-filled on every read attempt and resident per connection), so the
/// comparison measures Socket.IO's overhead, not a buffer setting. `FLOOR_READ_BUFFER`
/// overrides it (bytes).
async fn ws_connect(
    url: String,
) -> (
    Ws,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let size = std::env::var("FLOOR_READ_BUFFER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16 * 1024);
    let config =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(size);
    tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .expect("ws connect")
}

/// WebSocket-only connection to `/`: open packet, CONNECT, CONNECT ack.
async fn connect_ws(url: &str) -> Ws {
    let ws_url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", host(url));
    let (mut ws, _) = ws_connect(ws_url).await;
    let open = next_text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    ws.send(Message::text("40")).await.unwrap();
    let ack = next_text(&mut ws).await;
    assert!(ack.starts_with("40{"), "{ack}");
    ws
}

/// One HTTP/1.1 request on a keep-alive connection; the response body.
async fn http(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.get_mut().write_all(req.as_bytes()).await.unwrap();
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).await.unwrap();
    String::from_utf8(body).unwrap()
}

/// Polling handshake, CONNECT over polling, then the WebSocket upgrade (2probe, 3probe, 5).
async fn connect_upgrade(url: &str) -> Ws {
    let host = host(url);
    let tcp = TcpStream::connect(host).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut conn = BufReader::new(tcp);
    let open = http(
        &mut conn,
        host,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        "",
    )
    .await;
    let sid_start = open.find("\"sid\":\"").unwrap() + 7;
    let sid = &open[sid_start..sid_start + open[sid_start..].find('"').unwrap()];
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(http(&mut conn, host, "POST", &path, "40").await, "ok");
    let ack = http(&mut conn, host, "GET", &path, "").await;
    assert!(ack.starts_with("40{"), "{ack}");
    // The floor upgrades at once: it issues no further GET (a client that keeps one pending,
    // as protocol.md 1.4 asks of a polling client, may wait up to 100 ms for the server's
    // noop before it can send `5`).
    let ws_url = format!("ws://{host}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let (mut ws, _) = ws_connect(ws_url).await;
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "3probe");
    ws.send(Message::text("5")).await.unwrap();
    ws
}

/// Reads text frames until the ack `43<id>[...]`; its parsed arguments.
async fn read_ack(ws: &mut Ws, id: u64) -> serde_json::Value {
    let prefix = format!("43{id}");
    loop {
        let text = next_text(ws).await;
        if let Some(args) = text.strip_prefix(&prefix) {
            return serde_json::from_str(args).unwrap();
        }
    }
}

fn main() {
    runtime().block_on(run());
}

async fn run() {
    let a = args();
    match a.scenario.as_str() {
        "emit" => {
            let mut ws = connect_ws(&a.url).await;
            ws.send(Message::text(r#"420["echo","warm up"]"#))
                .await
                .unwrap();
            read_ack(&mut ws, 0).await;
            let m = Meter::start();
            for i in 0..a.n {
                let json = serde_json::to_string(&(
                    "e",
                    Msg {
                        n: i as u64,
                        s: PAYLOAD,
                    },
                ))
                .unwrap();
                ws.feed(Message::text(format!("42{json}"))).await.unwrap();
                if i % 64 == 63 {
                    ws.flush().await.unwrap();
                }
            }
            ws.send(Message::text(r#"421["count"]"#)).await.unwrap();
            let count = read_ack(&mut ws, 1).await;
            let (wall, cpu) = m.stop();
            assert_eq!(count[0].as_u64(), Some(a.n as u64), "server count");
            throughput(a.n, wall, cpu, serde_json::json!({}));
        }
        "receive" => {
            let mut ws = connect_ws(&a.url).await;
            let m = Meter::start();
            ws.send(Message::text(format!(r#"42["send",{}]"#, a.n)))
                .await
                .unwrap();
            let mut received = 0usize;
            loop {
                let text = next_text(&mut ws).await;
                if let Some(json) = text.strip_prefix("42") {
                    let value: serde_json::Value = serde_json::from_str(json).unwrap();
                    match value[0].as_str() {
                        Some("r") => received += 1,
                        Some("done") => break,
                        _ => {}
                    }
                }
            }
            let (wall, cpu) = m.stop();
            throughput(
                a.n,
                wall,
                cpu,
                serde_json::json!({"received": received, "dropped": a.n - received}),
            );
        }
        "ack" => {
            let mut ws = connect_ws(&a.url).await;
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for i in 0..a.n as u64 {
                let t = Instant::now();
                let json = serde_json::to_string(&("echo", Msg { n: i, s: PAYLOAD })).unwrap();
                ws.send(Message::text(format!("42{i}{json}")))
                    .await
                    .unwrap();
                let args = read_ack(&mut ws, i).await;
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                assert_eq!(args.as_array().map(Vec::len), Some(1));
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
        }
        "binary" => {
            let mut ws = connect_ws(&a.url).await;
            let data = bytes::Bytes::from(vec![7u8; 64 * 1024]);
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for i in 0..a.n as u64 {
                let t = Instant::now();
                ws.feed(Message::text(format!(
                    r#"451-{i}["bin",{{"_placeholder":true,"num":0}}]"#
                )))
                .await
                .unwrap();
                ws.send(Message::Binary(data.clone())).await.unwrap();
                let prefix = format!("461-{i}");
                loop {
                    let text = next_text(&mut ws).await;
                    if let Some(args) = text.strip_prefix(&prefix) {
                        let _: serde_json::Value = serde_json::from_str(args).unwrap();
                        break;
                    }
                }
                match ws.next().await.unwrap().unwrap() {
                    Message::Binary(b) => assert_eq!(b.len(), data.len()),
                    other => panic!("expected the attachment, got {other:?}"),
                }
                samples.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
        }
        "connect_ws" | "connect_upgrade" => {
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for _ in 0..a.n {
                let t = Instant::now();
                let mut ws = if a.scenario == "connect_ws" {
                    connect_ws(&a.url).await
                } else {
                    connect_upgrade(&a.url).await
                };
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                ws.close(None).await.ok();
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
        }
        "memory" => {
            // Two rounds of `n` idle connections: the second round's growth is the
            // marginal cost (common.rs, `memory`).
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut readings = vec![rss_kib()];
            let mut tasks = Vec::with_capacity(2 * a.n);
            let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(a.n);
            for _ in 0..2 {
                for chunk in 0..a.n.div_ceil(100) {
                    let k = (a.n - chunk * 100).min(100);
                    for _ in 0..k {
                        let url = a.url.clone();
                        let ready_tx = ready_tx.clone();
                        tasks.push(tokio::spawn(async move {
                            let mut ws = connect_ws(&url).await;
                            ready_tx.send(()).await.unwrap();
                            while let Some(Ok(msg)) = ws.next().await {
                                if matches!(&msg, Message::Text(t) if t.as_str() == "2") {
                                    ws.send(Message::text("3")).await.unwrap();
                                }
                            }
                        }));
                    }
                    for _ in 0..k {
                        ready_rx.recv().await.unwrap();
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                readings.push(rss_kib());
            }
            memory(readings[0], readings[1], readings[2], a.n);
            for t in tasks {
                t.abort();
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}
