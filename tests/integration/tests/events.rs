//! Events and acknowledgements in both directions, over every transport.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{connect, next_event, within, Mode};
use ferrio::{AckError, Map, Value};
use ferrio_integration_tests::{binary, TestServer};
use serde_json::json;

async fn echo_ack_returns_every_argument(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let ack = client
        .emit_with_ack("echo", &("hello", 42, true))
        .await
        .expect("ack");
    assert_eq!(
        ack.args(),
        [Value::from("hello"), Value::from(42), Value::from(true)]
    );
    let (text, n, flag): (String, u32, bool) = ack.parse().expect("typed ack");
    assert_eq!((text.as_str(), n, flag), ("hello", 42, true));
    client.close().await;
}
per_transport!(
    echo_ack_returns_every_argument,
    echo_ack_returns_every_argument
);

async fn server_events_arrive_in_order(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let mut events = client.events();
    client.emit("getUtf8", &()).await.expect("emit");
    let mut texts = Vec::new();
    for _ in 0..4 {
        let event = next_event(&mut events, "takeUtf8").await;
        texts.push(event.args()[0].as_str().expect("string").to_owned());
    }
    assert_eq!(
        texts,
        ["てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string"]
    );
    client.close().await;
}
per_transport!(server_events_arrive_in_order, server_events_arrive_in_order);

async fn client_events_reach_the_server_in_order(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    for n in 0..50 {
        client.emit("countMe", &n).await.expect("emit");
    }
    let received = server.wait_for_events("/", "countMe", 50).await;
    let order: Vec<u64> = received
        .iter()
        .map(|e| e["args"][0].as_u64().expect("number"))
        .collect();
    assert_eq!(order, (0..50).collect::<Vec<u64>>());
    client.close().await;
}
per_transport!(
    client_events_reach_the_server_in_order,
    client_events_reach_the_server_in_order
);

async fn dates_false_and_nested_binary_arrive_intact(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let mut events = client.events();
    client.emit("getDate", &()).await.expect("emit");
    let date = next_event(&mut events, "takeDate").await;
    assert!(date.args()[0]
        .as_str()
        .expect("date as string")
        .ends_with('Z'));
    client.emit("false", &()).await.expect("emit");
    assert_eq!(
        next_event(&mut events, "false").await.args(),
        [Value::Bool(false)]
    );
    client.emit("getNestedBin", &()).await.expect("emit");
    let nested = next_event(&mut events, "nestedbin").await;
    assert_eq!(
        nested.args()[0],
        Value::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    let deep = nested.args()[1]
        .get("nested")
        .and_then(|n| n.get("deep"))
        .and_then(Value::as_array)
        .expect("deep");
    assert_eq!(deep[0], Value::Binary(Bytes::from_static(&[4, 5])));
    assert_eq!(nested.args()[1].get("text"), Some(&Value::from("x")));
    client.close().await;
}
per_transport!(
    dates_false_and_nested_binary_arrive_intact,
    dates_false_and_nested_binary_arrive_intact
);

async fn binary_anywhere_in_arguments_round_trips(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let mut inner = Map::new();
    inner.insert("blob".into(), Value::Binary(Bytes::from_static(&[9, 8, 7])));
    inner.insert(
        "list".into(),
        Value::Array(vec![
            Value::Binary(Bytes::from_static(&[1])),
            Value::from("x"),
        ]),
    );
    let args = vec![
        Value::Binary(Bytes::from_static(&[0, 255])),
        Value::Object(inner),
        Value::from(3),
    ];
    let ack = client
        .emit_values_with_ack("echo", args.clone(), common::WAIT)
        .await
        .expect("ack");
    assert_eq!(ack.args(), args);
    let recorded = server.wait_for_event("/", "echo").await;
    assert_eq!(recorded["args"][0], binary(&[0, 255]));
    assert_eq!(recorded["args"][1]["list"][0], binary(&[1]));
    client.close().await;
}
per_transport!(
    binary_anywhere_in_arguments_round_trips,
    binary_anywhere_in_arguments_round_trips
);

async fn handler_answers_the_servers_ack_request_exactly_once(mode: Mode) {
    let server = TestServer::start().await;
    let client = connect(&server, mode).await;
    let mut events = client.events();
    // The handler runs on the dispatcher while the stream is fed by the connection task:
    // the second answer's outcome is awaited, not read once `answer` has arrived.
    let (refused_tx, mut refused_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on("question", move |event| {
        let n = event.args()[0].as_i64().expect("number");
        event.ack(&(n * 2, "doubled")).expect("first answer");
        let _ = refused_tx.send(event.ack(&"again").is_err());
    });
    client.emit("askMe", &21).await.expect("emit");
    let answer = next_event(&mut events, "answer").await;
    assert_eq!(answer.args(), [Value::from(42), Value::from("doubled")]);
    assert_eq!(
        within(refused_rx.recv()).await,
        Some(true),
        "a second answer is refused"
    );
    client.close().await;
}
per_transport!(
    handler_answers_the_servers_ack_request_exactly_once,
    handler_answers_the_servers_ack_request_exactly_once
);

#[tokio::test]
async fn an_ack_request_nobody_listens_for_is_answered_with_no_values() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let answer = server
        .emit_with_ack("/", "nobody", json!([]), common::WAIT)
        .await;
    assert_eq!(answer, json!({ "responses": [null] }));
    client.close().await;
}

#[tokio::test]
async fn an_ack_request_waits_for_every_copy_of_the_event_before_answering_by_itself() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let mut events = client.events();
    let (kept_tx, mut kept_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on("manual", move |event| {
        let _ = kept_tx.send(event);
    });
    let asked = server.emit_with_ack("/", "manual", json!([]), common::WAIT);
    let answered = async {
        // The stream's copy goes unanswered; the listener's copy still holds the request.
        drop(next_event(&mut events, "manual").await);
        let held = within(kept_rx.recv()).await.expect("the listener ran");
        held.ack(&"late").expect("the held copy answers");
    };
    let (answer, ()) = tokio::join!(asked, answered);
    assert_eq!(answer, json!({ "responses": ["late"] }));
    client.close().await;
}

#[tokio::test]
async fn ack_without_reply_fails_with_a_typed_timeout() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let result = client
        .emit_with_ack_timeout("countMe", &1, Duration::from_millis(200))
        .await;
    assert!(
        matches!(result, Err(AckError::Timeout(d)) if d == Duration::from_millis(200)),
        "{result:?}"
    );
    client.close().await;
}

#[tokio::test]
async fn on_once_off_and_catch_all_listeners_follow_registration() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let on_count = Arc::new(AtomicUsize::new(0));
    let once_count = Arc::new(AtomicUsize::new(0));
    let any_names = Arc::new(Mutex::new(Vec::new()));
    let (ran_tx, mut ran_rx) = tokio::sync::mpsc::unbounded_channel();
    let counter = on_count.clone();
    let id = client.on("hi", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        let _ = ran_tx.send(());
    });
    let counter = once_count.clone();
    client.once("hi", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let names = any_names.clone();
    client.on_any(move |event| names.lock().unwrap().push(event.name));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on("false", move |_| {
        let _ = done_tx.send(());
    });
    client.emit("hi", &()).await.expect("emit");
    within(ran_rx.recv()).await.expect("the listener ran");
    client.emit("hi", &()).await.expect("emit");
    within(ran_rx.recv()).await.expect("the listener ran");
    client.off(id);
    client.off_any();
    client.emit("hi", &()).await.expect("emit");
    // One dispatcher calls the listeners in order: once the `false` listener ran, every
    // listener has run for the third `hi`.
    client.emit("false", &()).await.expect("emit");
    within(done_rx.recv()).await.expect("the barrier ran");
    assert_eq!(on_count.load(Ordering::SeqCst), 2);
    assert_eq!(once_count.load(Ordering::SeqCst), 1);
    assert_eq!(*any_names.lock().unwrap(), ["hi", "hi"]);
    client.close().await;
}

#[tokio::test]
async fn outgoing_catch_all_sees_every_emit() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::WebSocket).await;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    client.on_any_outgoing(move |event| {
        let _ = seen_tx.send((event.name.clone(), event.args().to_vec()));
    });
    client
        .emit("countMe", &("a", Bytes::from_static(&[1])))
        .await
        .expect("emit");
    let (name, args) = within(seen_rx.recv()).await.expect("outgoing seen");
    assert_eq!(name, "countMe");
    assert_eq!(
        args,
        [Value::from("a"), Value::Binary(Bytes::from_static(&[1]))]
    );
    client.close().await;
}

#[tokio::test]
async fn server_broadcast_from_the_control_channel_reaches_the_client() {
    let server = TestServer::start().await;
    let client = connect(&server, Mode::Upgrade).await;
    let mut events = client.events();
    server
        .emit("/", "news", json!([{"n": 1}, binary(&[5, 6])]))
        .await;
    let news = next_event(&mut events, "news").await;
    assert_eq!(news.args()[0].get("n"), Some(&Value::from(1)));
    assert_eq!(news.args()[1], Value::Binary(Bytes::from_static(&[5, 6])));
    client.close().await;
}
