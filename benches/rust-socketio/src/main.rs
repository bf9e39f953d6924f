//! rust_socketio 0.6 (async) bench client: `rust-socketio-bench <scenario> <url> <n>`.
#[path = "../../rust/src/common.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::json;

fn msg(n: u64) -> serde_json::Value {
    json!({"n": n, "s": PAYLOAD})
}

async fn builder(url: &str, websocket_only: bool) -> ClientBuilder {
    ClientBuilder::new(url)
        .transport_type(if websocket_only {
            TransportType::Websocket
        } else {
            TransportType::Any
        })
        .reconnect(false)
}

/// Connects and waits for the namespace's CONNECT ack (`connect()` returns before it).
async fn open(builder: ClientBuilder) -> Client {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let client = builder
        .on(Event::Connect, move |_p: Payload, _c: Client| {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            async {}.boxed()
        })
        .connect()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .expect("no CONNECT ack")
        .unwrap();
    client
}

/// Emits with an ack and waits for it: rust_socketio takes a callback.
async fn call(client: &Client, event: &str, payload: Payload) -> Payload {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    client
        .emit_with_ack(
            event,
            payload,
            ACK_TIMEOUT,
            move |p: Payload, _c: Client| {
                let tx = tx.clone();
                async move {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(p);
                    }
                }
                .boxed()
            },
        )
        .await
        .unwrap();
    rx.await.unwrap()
}

#[tokio::main]
async fn main() {
    let a = args();
    match a.scenario.as_str() {
        "emit" => {
            let client = open(builder(&a.url, true).await).await;
            call(&client, "echo", Payload::Text(vec![json!("warm up")])).await;
            let m = Meter::start();
            for i in 0..a.n {
                client.emit("e", msg(i as u64)).await.unwrap();
            }
            let count = call(&client, "count", Payload::Text(vec![])).await;
            let (wall, cpu) = m.stop();
            match count {
                Payload::Text(v) => {
                    let first = match &v[0] {
                        serde_json::Value::Array(inner) => inner[0].clone(),
                        other => other.clone(),
                    };
                    assert_eq!(first.as_u64(), Some(a.n as u64), "server count {v:?}")
                }
                other => panic!("{other:?}"),
            }
            throughput(a.n, wall, cpu, json!({}));
            client.disconnect().await.ok();
        }
        "receive" => {
            let received = Arc::new(AtomicU64::new(0));
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
            let r = received.clone();
            let client = builder(&a.url, true)
                .await
                .on("r", move |_p: Payload, _c: Client| {
                    r.fetch_add(1, Ordering::Relaxed);
                    async {}.boxed()
                })
                .on("done", move |_p: Payload, _c: Client| {
                    if let Some(tx) = done_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    async {}.boxed()
                });
            let client = open(client).await;
            call(&client, "echo", Payload::Text(vec![json!("warm up")])).await;
            let m = Meter::start();
            client.emit("send", json!(a.n)).await.unwrap();
            done_rx.await.unwrap();
            let (wall, cpu) = m.stop();
            let got = received.load(Ordering::Relaxed) as usize;
            throughput(
                a.n,
                wall,
                cpu,
                json!({"received": got, "dropped": a.n - got}),
            );
            client.disconnect().await.ok();
        }
        "ack" => {
            let client = open(builder(&a.url, true).await).await;
            call(&client, "echo", Payload::Text(vec![json!("warm up")])).await;
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for i in 0..a.n {
                let t = Instant::now();
                call(&client, "echo", Payload::Text(vec![msg(i as u64)])).await;
                samples.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
            client.disconnect().await.ok();
        }
        "binary" => {
            let client = open(builder(&a.url, true).await).await;
            let data = bytes::Bytes::from(vec![7u8; 64 * 1024]);
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for _ in 0..a.n {
                let t = Instant::now();
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                client
                    .emit_with_ack(
                        "bin",
                        Payload::Binary(data.clone()),
                        ACK_TIMEOUT,
                        move |p: Payload, _c: Client| {
                            let _ = tx.send(p);
                            async {}.boxed()
                        },
                    )
                    .await
                    .unwrap();
                loop {
                    let next = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
                    match next
                        .expect("no binary ack within 5 s")
                        .expect("ack dropped")
                    {
                        Payload::Binary(b) => {
                            assert_eq!(b.len(), data.len());
                            break;
                        }
                        _ => continue,
                    }
                }
                samples.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let (wall, cpu) = m.stop();
            latencies(samples, wall, cpu);
            client.disconnect().await.ok();
        }
        "connect_ws" | "connect_upgrade" => {
            let ws = a.scenario == "connect_ws";
            let mut samples = Vec::with_capacity(a.n);
            let m = Meter::start();
            for _ in 0..a.n {
                let t = Instant::now();
                let client = open(builder(&a.url, ws).await).await;
                samples.push(t.elapsed().as_secs_f64() * 1e6);
                client.disconnect().await.ok();
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
                    let mut batch = Vec::new();
                    for _ in 0..k {
                        batch.push(async { open(builder(&a.url, true).await).await });
                    }
                    clients.extend(futures_util::future::join_all(batch).await);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                readings.push(rss_kib());
            }
            memory(readings[0], readings[1], readings[2], a.n);
            for c in &clients {
                c.disconnect().await.ok();
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}
