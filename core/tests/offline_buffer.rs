//! Emits held in the offline buffer of a socket whose connection failed: their acks time
//! out, are discarded with the buffer, or fail as closed with the manager; retries count in
//! the buffer's bounds. Nothing listens on the discard port 9, so no server is needed.

use std::time::Duration;

use ferrio::{Ack, AckError, EmitError, Manager, Socket, SocketOptions};

/// A socket whose connection failed and is not retried: its emits are buffered.
async fn offline_socket() -> (Manager, Socket) {
    let manager = Manager::builder("http://127.0.0.1:9")
        .reconnection(false)
        .build()
        .expect("manager");
    let socket = manager.socket("/");
    assert!(socket.connect().await.is_err(), "nothing listens on port 9");
    (manager, socket)
}

/// Emits with ack on a task; returns once the emit is in the offline buffer.
async fn buffered_emit_with_ack(
    socket: &Socket,
    timeout: Duration,
) -> tokio::task::JoinHandle<Result<Ack, AckError>> {
    let waiting = tokio::spawn({
        let socket = socket.clone();
        async move { socket.emit_with_ack_timeout("e", &1, timeout).await }
    });
    while socket.buffered().emits == 0 {
        tokio::task::yield_now().await;
    }
    waiting
}

#[tokio::test]
async fn an_ack_still_buffered_at_its_deadline_times_out_and_its_emit_leaves_the_buffer() {
    let (manager, socket) = offline_socket().await;
    let timeout = Duration::from_millis(20);
    let result = socket.emit_with_ack_timeout("e", &1, timeout).await;
    assert!(
        matches!(result, Err(AckError::Timeout(t)) if t == timeout),
        "{result:?}"
    );
    assert_eq!(socket.buffered().emits, 0);
    manager.close().await;
}

#[tokio::test]
async fn a_buffered_ack_fails_as_discarded_when_the_buffer_is_cleared() {
    let (manager, socket) = offline_socket().await;
    let waiting = buffered_emit_with_ack(&socket, Duration::from_secs(3600)).await;
    socket.clear_buffer().await;
    let result = waiting.await.expect("joined");
    assert!(matches!(result, Err(AckError::Discarded)), "{result:?}");
    manager.close().await;
}

#[tokio::test]
async fn an_ack_without_a_reachable_deadline_fails_as_closed_when_the_manager_closes() {
    let (manager, socket) = offline_socket().await;
    let waiting = buffered_emit_with_ack(&socket, Duration::MAX).await;
    manager.close().await;
    let result = waiting.await.expect("joined");
    assert!(matches!(result, Err(AckError::Closed)), "{result:?}");
}

/// A socket with `retries` whose connection failed and is not retried.
async fn offline_socket_with_retries(retries: u32, max_buffered_emits: usize) -> (Manager, Socket) {
    let manager = Manager::builder("http://127.0.0.1:9")
        .reconnection(false)
        .options(|options| options.max_buffered_emits = max_buffered_emits)
        .build()
        .expect("manager");
    let socket = manager.socket_with(
        "/",
        SocketOptions {
            retries,
            ..SocketOptions::default()
        },
    );
    assert!(socket.connect().await.is_err(), "nothing listens on port 9");
    (manager, socket)
}

#[tokio::test]
async fn an_emit_with_retries_never_sent_times_out_after_its_last_try() {
    let (manager, socket) = offline_socket_with_retries(2, 16).await;
    let timeout = Duration::from_millis(10);
    let result = socket.emit_with_ack_timeout("e", &1, timeout).await;
    assert!(
        matches!(result, Err(AckError::Timeout(t)) if t == timeout),
        "{result:?}"
    );
    assert_eq!(socket.buffered().emits, 0);
    manager.close().await;
}

#[tokio::test]
async fn emits_with_retries_count_in_the_buffer_bounds_and_are_discarded_with_it() {
    let (manager, socket) = offline_socket_with_retries(1, 1).await;
    let waiting = tokio::spawn({
        let socket = socket.clone();
        async move { socket.emit_with_ack_timeout("e", &1, Duration::MAX).await }
    });
    while socket.buffered().emits == 0 {
        tokio::task::yield_now().await;
    }
    let refused = socket.emit("e", &2).await;
    assert!(matches!(refused, Err(EmitError::BufferFull)), "{refused:?}");
    socket.clear_buffer().await;
    let result = waiting.await.expect("joined");
    assert!(matches!(result, Err(AckError::Discarded)), "{result:?}");
    assert_eq!(socket.buffered().emits, 0);
    manager.close().await;
}

#[tokio::test]
async fn emits_with_retries_fail_as_closed_when_the_manager_closes() {
    let (manager, socket) = offline_socket_with_retries(3, 16).await;
    let waiting = tokio::spawn({
        let socket = socket.clone();
        async move { socket.emit_with_ack_timeout("e", &1, Duration::MAX).await }
    });
    while socket.buffered().emits == 0 {
        tokio::task::yield_now().await;
    }
    manager.close().await;
    let result = waiting.await.expect("joined");
    assert!(matches!(result, Err(AckError::Closed)), "{result:?}");
}

#[tokio::test]
async fn emits_made_without_waiting_join_the_retry_queue_and_its_bounds() {
    let (manager, socket) = offline_socket_with_retries(1, 2).await;
    socket.try_emit("e", &1).expect("queued");
    socket.try_emit_json(r#"["e",2]"#).expect("queued");
    while socket.buffered().emits < 2 {
        tokio::task::yield_now().await;
    }
    let refused = socket.try_emit("e", &3);
    assert!(matches!(refused, Err(EmitError::BufferFull)), "{refused:?}");
    assert_eq!(socket.buffered().emits, 2);
    manager.close().await;
}

#[tokio::test]
async fn volatile_emits_while_not_connected_are_dropped_not_buffered() {
    let (manager, socket) = offline_socket().await;
    socket
        .try_emit_volatile_values("position", vec![1.into()])
        .expect("dropped, not refused");
    socket
        .emit_volatile_values("position", vec![2.into()])
        .await
        .expect("dropped, not refused");
    socket.emit_volatile("position", &3).await.expect("dropped");
    // Admitted once the buffer took it, after the volatile emits queued before it.
    socket.emit("e", &4).await.expect("buffered");
    assert_eq!(socket.buffered().emits, 1);
    manager.close().await;
}
