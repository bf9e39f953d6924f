//! `ferrio serve` on an ephemeral port, exercised by Ferrio clients.

mod common;

use bytes::Bytes;
use common::{next_event, within, Serve};
use ferrio::{Client, ConnectError, DisconnectReason, SocketEvent, TransportKind, Value};
use serde_json::json;

async fn connect(url: &str) -> Client {
    within("connect", Client::connect(url))
        .await
        .expect("connected")
}

#[tokio::test]
async fn echo_acknowledges_with_every_argument() {
    let server = Serve::start().await;
    let client = connect(&server.url).await;
    let reply = within(
        "ack",
        client.emit_with_ack("echo", &("a", 1, json!({"b": [true, null]}))),
    )
    .await
    .expect("an ack");
    assert_eq!(
        reply.args(),
        vec![
            Value::from("a"),
            Value::from(1),
            Value::from(json!({"b": [true, null]}))
        ]
    );
    let empty = within("ack", client.emit_with_ack("echo", &()))
        .await
        .expect("an ack");
    assert!(empty.args().is_empty(), "{:?}", empty.args());
    client.close().await;
}

#[tokio::test]
async fn echo_without_an_ack_request_emits_echo_back() {
    let server = Serve::start().await;
    let client = connect(&server.url).await;
    let mut events = client.events();
    client.emit("echo", &("back", 2)).await.unwrap();
    let event = next_event(&mut events, "echo").await;
    assert_eq!(event.args(), vec![Value::from("back"), Value::from(2)]);
    client.close().await;
}

#[tokio::test]
async fn a_room_broadcast_reaches_every_member_and_only_them() {
    let server = Serve::start().await;
    let (alice, bob, carol) = (
        connect(&server.url).await,
        connect(&server.url).await,
        connect(&server.url).await,
    );
    for member in [&alice, &bob] {
        let joined = within("join", member.emit_with_ack("join", &"lobby"))
            .await
            .unwrap();
        assert_eq!(joined.args(), vec![Value::Bool(true)]);
    }
    let (mut alice_events, mut bob_events, mut carol_events) =
        (alice.events(), bob.events(), carol.events());
    let sent = within(
        "broadcast",
        alice.emit_with_ack("broadcast", &("lobby", "hi", 3)),
    )
    .await
    .unwrap();
    assert_eq!(sent.args(), vec![Value::Bool(true)]);
    for events in [&mut alice_events, &mut bob_events] {
        let message = next_event(events, "message").await;
        assert_eq!(message.args(), vec![Value::from("hi"), Value::from(3)]);
    }
    // Carol is not in the room: a later broadcast to everyone is the first she gets.
    alice.emit("chat", &"after").await.unwrap();
    let first = within("carol's next event", carol_events.next())
        .await
        .expect("an event");
    match first {
        SocketEvent::Event(event) => assert_eq!(event.name, "chat"),
        other => panic!("{other:?}"),
    }
    for client in [alice, bob, carol] {
        client.close().await;
    }
}

#[tokio::test]
async fn leaving_a_room_stops_its_broadcasts() {
    let server = Serve::start().await;
    let client = connect(&server.url).await;
    within("join", client.emit_with_ack("join", &"r"))
        .await
        .unwrap();
    let left = within("leave", client.emit_with_ack("leave", &"r"))
        .await
        .unwrap();
    assert_eq!(left.args(), vec![Value::Bool(true)]);
    let mut events = client.events();
    within(
        "broadcast",
        client.emit_with_ack("broadcast", &("r", "lost")),
    )
    .await
    .unwrap();
    client.emit("chat", &"next").await.unwrap();
    match within("next event", events.next()).await.unwrap() {
        SocketEvent::Event(event) => assert_eq!(event.name, "chat"),
        other => panic!("{other:?}"),
    }
    client.close().await;
}

#[tokio::test]
async fn chat_reaches_every_client_with_the_sender() {
    let server = Serve::start().await;
    let (alice, bob) = (connect(&server.url).await, connect(&server.url).await);
    let (mut alice_events, mut bob_events) = (alice.events(), bob.events());
    alice
        .emit("chat", &("hello", json!({"n": 1})))
        .await
        .unwrap();
    for events in [&mut alice_events, &mut bob_events] {
        let chat = next_event(events, "chat").await;
        assert_eq!(
            chat.args(),
            vec![Value::from("hello"), Value::from(json!({"n": 1}))]
        );
    }
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn admin_accepts_the_secret_token_and_whoami_returns_the_auth() {
    let server = Serve::start().await;
    let auth = json!({"token": "secret", "user": "ada"});
    let admin = within(
        "connect /admin",
        Client::builder(&format!("{}/admin", server.url))
            .auth(&auth)
            .unwrap()
            .connect(),
    )
    .await
    .expect("accepted");
    assert_eq!(admin.namespace(), "/admin");
    let reply = within("whoami", admin.emit_with_ack("whoami", &()))
        .await
        .unwrap();
    assert_eq!(reply.args(), vec![Value::from(auth)]);
    admin.close().await;
}

#[tokio::test]
async fn admin_refuses_a_wrong_or_missing_token_as_unauthorized() {
    let server = Serve::start().await;
    let url = format!("{}/admin", server.url);
    for auth in [Some(json!({"token": "guess"})), None] {
        let mut builder = Client::builder(&url).manager(|m| m.reconnection(false));
        if let Some(auth) = &auth {
            builder = builder.auth(auth).unwrap();
        }
        let error = within("connect /admin", builder.connect())
            .await
            .expect_err("refused");
        match error {
            ConnectError::Rejected { message, data } => {
                assert_eq!(message, "unauthorized", "{auth:?}");
                // socketioxide sends {"message": ...} only: no data.
                assert_eq!(data, None, "{auth:?}");
            }
            other => panic!("{auth:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn binary_round_trips_at_any_depth() {
    let server = Serve::start().await;
    let client = connect(&server.url).await;
    let bytes = Bytes::from((0..=255u8).collect::<Vec<_>>());
    let mut nested = ferrio::Map::new();
    nested.insert(
        "file".into(),
        Value::Binary(Bytes::from_static(b"\x00\xff")),
    );
    nested.insert("name".into(), Value::from("x.bin"));
    let args = vec![Value::Binary(bytes), Value::Object(nested), Value::from(1)];
    let reply = within(
        "ack",
        client.emit_values_with_ack("echo", args.clone(), common::TIMEOUT),
    )
    .await
    .expect("an ack");
    assert_eq!(reply.args(), args);
    // And through a broadcast.
    let mut events = client.events();
    within("join", client.emit_with_ack("join", &"bin"))
        .await
        .unwrap();
    client
        .emit_values("broadcast", vec![Value::from("bin"), args[0].clone()])
        .await
        .unwrap();
    let message = next_event(&mut events, "message").await;
    assert_eq!(message.args(), vec![args[0].clone()]);
    client.close().await;
}

#[tokio::test]
async fn drop_closes_the_connection_as_transport_close_and_the_client_reconnects() {
    let server = Serve::start().await;
    let client = within(
        "connect",
        Client::builder(&server.url)
            .manager(|m| {
                m.transports(&[TransportKind::WebSocket])
                    .reconnection_delay(std::time::Duration::from_millis(50))
                    .reconnection_delay_max(std::time::Duration::from_millis(200))
            })
            .connect(),
    )
    .await
    .unwrap();
    let first_sid = client.id().unwrap();
    let mut events = client.events();
    // socketioxide may answer CONNECT before its connect handler has registered the
    // namespace's handlers: one acknowledged round trip proves `drop` is registered too.
    within("ready", client.emit_with_ack("echo", &"ready"))
        .await
        .unwrap();
    client.emit("drop", &()).await.unwrap();
    let reason = within("disconnect", async {
        loop {
            if let Some(SocketEvent::Disconnect(reason)) = events.next().await {
                return reason;
            }
        }
    })
    .await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    let sid = within("reconnect", async {
        loop {
            if let Some(SocketEvent::Connect { sid, .. }) = events.next().await {
                return sid;
            }
        }
    })
    .await;
    assert_ne!(sid, first_sid);
    let reply = within("ack", client.emit_with_ack("echo", &"again"))
        .await
        .unwrap();
    assert_eq!(reply.args(), vec![Value::from("again")]);
    client.close().await;
}
