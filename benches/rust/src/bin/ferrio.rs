//! Ferrio (Rust) bench client: `ferrio <scenario> <url> <n>`.
#[path = "../common.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferrio::{Client, TransportKind, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn connect(url: &str, websocket_only: bool) -> Client {
    Client::builder(url)
        .manager(|m| {
            let m = m.reconnection(false);
            if websocket_only {
                m.transports(&[TransportKind::WebSocket])
            } else {
                m
            }
        })
        .connect()
        .await
        .expect("connect")
}

/// Receives `n` chat messages over `transport` through a proxy that counts the bytes the
/// server sends (HTTP heads and bodies or WebSocket frames, as on the wire), with
/// `compression` on or off; returns those bytes and the messages' JSON size.
async fn chat_over(url: &str, transport: TransportKind, n: usize, compression: bool) -> (u64, u64) {
    let proxy = CountingProxy::start(url).await;
    let client = Client::builder(&proxy.url)
        .manager(|m| {
            m.reconnection(false)
                .transports(&[transport])
                .compression(compression)
        })
        .connect()
        .await
        .expect("connect");
    let payload = Arc::new(AtomicU64::new(0));
    let done = Arc::new(tokio::sync::Notify::new());
    let p = payload.clone();
    client.on("m", move |event| {
        let size = serde_json::to_string(event.args()).map_or(0, |text| text.len());
        p.fetch_add(size as u64, Ordering::Relaxed);
    });
    let d = done.clone();
    client.on("done", move |_| d.notify_one());
    client.emit("chat", &n).await.expect("emit");
    tokio::time::timeout(ACK_TIMEOUT, done.notified())
        .await
        .expect("done");
    client.close().await;
    (
        proxy.downstream.load(Ordering::Relaxed),
        payload.load(Ordering::Relaxed),
    )
}

/// A TCP proxy in front of the bench server counting the bytes it forwards to the client.
struct CountingProxy {
    url: String,
    downstream: Arc<AtomicU64>,
}

impl CountingProxy {
    async fn start(server_url: &str) -> Self {
        let server = server_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let downstream = Arc::new(AtomicU64::new(0));
        let counter = downstream.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = server.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(upstream) = tokio::net::TcpStream::connect(&server).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = upstream.into_split();
                    let up = tokio::io::copy(&mut client_read, &mut server_write);
                    let down = async {
                        let mut buffer = vec![0u8; 16 * 1024];
                        loop {
                            let n = match server_read.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                            if client_write.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        () = down => {}
                    }
                });
            }
        });
        CountingProxy { url, downstream }
    }
}

fn main() {
    runtime().block_on(run());
}

async fn run() {
    let a = args();
    match a.scenario.as_str() {
        "emit" => {
            let client = connect(&a.url, true).await;
            client.emit_with_ack("echo", &"warm up").await.unwrap();
            let m = Meter::start();
            for i in 0..a.n {
                client
                    .emit(
                        "e",
                        &Msg {
                            n: i as u64,
                            s: PAYLOAD,
                        },
                    )
                    .await
                    .unwrap();
            }
            let ack = client
                .emit_with_ack_timeout("count", &(), ACK_TIMEOUT)
                .await
                .unwrap();
            let (wall, cpu) = m.stop();
            assert_eq!(ack.args()[0].as_u64(), Some(a.n as u64), "server count");
            throughput(a.n, wall, cpu, serde_json::json!({}));
            client.close().await;
        }
        "receive" => {
            let client = connect(&a.url, true).await;
            let received = Arc::new(AtomicU64::new(0));
            let done = Arc::new(tokio::sync::Notify::new());
            let r = received.clone();
            client.on("r", move |event| {
                if !event.args().is_empty() {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            });
            let d = done.clone();
            client.on("done", move |_| d.notify_one());
            client.emit_with_ack("echo", &"warm up").await.unwrap();
            let m = Meter::start();
            client.emit("send", &a.n).await.unwrap();
            // Ends on `done`, or 2 s after the last event if `done` was dropped.
            let (mut seen, mut last) = (0, Instant::now());
            let mut quiet = Duration::ZERO;
            loop {
                tokio::select! {
                    () = done.notified() => break,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        let now = received.load(Ordering::Relaxed);
                        if now != seen {
                            (seen, last) = (now, Instant::now());
                        } else if now > 0 && last.elapsed() > Duration::from_secs(2) {
                            quiet = last.elapsed();
                            break;
                        }
                    }
                }
            }
            let (mut wall, cpu) = m.stop();
            wall -= quiet.as_secs_f64();
            let got = received.load(Ordering::Relaxed) as usize;
            throughput(
                a.n,
                wall,
                cpu,
                serde_json::json!({"received": got, "dropped": a.n - got}),
            );
            client.close().await;
        }
        "ack" => {
            let client = connect(&a.url, true).await;
            client.emit_with_ack("echo", &"warm up").await.unwrap();
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for i in 0..a.n {
                let t = Instant::now();
                let ack = client
                    .emit_with_ack(
                        "echo",
                        &Msg {
                            n: i as u64,
                            s: PAYLOAD,
                        },
                    )
                    .await
                    .unwrap();
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                assert_eq!(ack.args().len(), 1);
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
            client.close().await;
        }
        "binary" => {
            let client = connect(&a.url, true).await;
            let data = Bytes::from(vec![7u8; 64 * 1024]);
            client.emit_with_ack("echo", &"warm up").await.unwrap();
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for _ in 0..a.n {
                let t = Instant::now();
                let ack = client
                    .emit_values_with_ack("bin", vec![Value::Binary(data.clone())], ACK_TIMEOUT)
                    .await
                    .unwrap();
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                assert!(matches!(&ack.args()[0], Value::Binary(b) if b.len() == data.len()));
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
            client.close().await;
        }
        "connect_ws" | "connect_upgrade" => {
            let ws = a.scenario == "connect_ws";
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for _ in 0..a.n {
                let t = Instant::now();
                let client = connect(&a.url, ws).await;
                if !ws {
                    let mut engine = client.manager().watch_engine();
                    engine
                        .wait_for(|s| s.transport == Some(TransportKind::WebSocket))
                        .await
                        .unwrap();
                }
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                client.close().await;
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
        }
        "memory" => {
            // Two rounds of `n` idle connections: the second round's growth is the
            // marginal cost (common.rs, `memory`).
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut readings = vec![rss_kib()];
            let mut clients = Vec::with_capacity(2 * a.n);
            for _ in 0..2 {
                for chunk in 0..a.n.div_ceil(100) {
                    let k = (a.n - chunk * 100).min(100);
                    let batch = (0..k).map(|_| connect(&a.url, true));
                    clients.extend(futures_util::future::join_all(batch).await);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                readings.push(rss_kib());
            }
            memory(readings[0], readings[1], readings[2], a.n);
            for c in &clients {
                c.close().await;
            }
        }
        "compression" => {
            let polling = TransportKind::Polling;
            let (compressed, payload) = chat_over(&a.url, polling, a.n, true).await;
            let (plain, _) = chat_over(&a.url, polling, a.n, false).await;
            let websocket = TransportKind::WebSocket;
            let (ws_compressed, _) = chat_over(&a.url, websocket, a.n, true).await;
            let (ws_plain, _) = chat_over(&a.url, websocket, a.n, false).await;
            report(serde_json::json!({
                "n": a.n,
                "bytes_compressed": compressed,
                "bytes_plain": plain,
                "ws_bytes_compressed": ws_compressed,
                "ws_bytes_plain": ws_plain,
                "payload_bytes": payload,
            }));
        }
        other => panic!("unknown scenario {other}"),
    }
}
