//! A fault-injecting TCP proxy for the resilience tests: cut every connection, stall,
//! delay, throttle, refuse WebSocket upgrades, or refuse every connection.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A TCP proxy on an ephemeral loopback port in front of a server, with faults on demand.
/// Stops on `Drop`.
pub struct FaultProxy {
    port: u16,
    faults: Arc<Faults>,
    accept_task: JoinHandle<()>,
}

struct Faults {
    target_port: u16,
    /// Bumped by `cut`: every connection made before ends.
    generation: watch::Sender<u64>,
    stalled: watch::Sender<bool>,
    delay: Mutex<Duration>,
    /// Bytes per second, 0 for no limit.
    throttle: AtomicU64,
    refuse_websocket: AtomicBool,
    refuse_all: AtomicBool,
    accepted: AtomicUsize,
    /// Bytes forwarded from the server to the client.
    downstream_bytes: AtomicU64,
    /// Bytes forwarded from the client to the server after each connection's first read.
    upstream_bytes: AtomicU64,
}

impl FaultProxy {
    /// Starts a proxy in front of `127.0.0.1:target_port`.
    pub async fn start(target_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let faults = Arc::new(Faults {
            target_port,
            generation: watch::channel(0).0,
            stalled: watch::channel(false).0,
            delay: Mutex::new(Duration::ZERO),
            throttle: AtomicU64::new(0),
            refuse_websocket: AtomicBool::new(false),
            refuse_all: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            downstream_bytes: AtomicU64::new(0),
            upstream_bytes: AtomicU64::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, faults.clone()));
        FaultProxy {
            port,
            faults,
            accept_task,
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Closes every connection open now (new ones go through).
    pub fn cut(&self) {
        self.faults
            .generation
            .send_modify(|generation| *generation += 1);
    }

    /// Stops (true) or resumes (false) forwarding bytes, keeping the connections open.
    pub fn stall(&self, stalled: bool) {
        self.faults.stalled.send_replace(stalled);
    }

    /// Delays every chunk of bytes by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        *self.faults.delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Limits each direction of each connection to `bytes_per_second` (0: no limit).
    pub fn set_throttle(&self, bytes_per_second: u64) {
        self.faults
            .throttle
            .store(bytes_per_second, Ordering::SeqCst);
    }

    /// Answers WebSocket upgrade requests with `400 Bad Request`, as a proxy that blocks
    /// WebSocket would.
    pub fn refuse_websocket(&self, refuse: bool) {
        self.faults.refuse_websocket.store(refuse, Ordering::SeqCst);
    }

    /// Closes every new connection at once, as an unreachable server would.
    pub fn refuse_all(&self, refuse: bool) {
        self.faults.refuse_all.store(refuse, Ordering::SeqCst);
    }

    /// Bytes forwarded from the server to the client so far (HTTP heads and bodies, or
    /// WebSocket frames: what crossed the wire).
    pub fn downstream_bytes(&self) -> u64 {
        self.faults.downstream_bytes.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from the client to the server so far, less each connection's first
    /// read (the request head the proxy looks at): on a WebSocket, the frames the client
    /// sent.
    pub fn upstream_bytes(&self) -> u64 {
        self.faults.upstream_bytes.load(Ordering::SeqCst)
    }

    /// How many connections the proxy accepted so far.
    pub fn accepted(&self) -> usize {
        self.faults.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, faults: Arc<Faults>) {
    while let Ok((client, _)) = listener.accept().await {
        faults.accepted.fetch_add(1, Ordering::SeqCst);
        if faults.refuse_all.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        tokio::spawn(serve(client, faults.clone()));
    }
}

async fn serve(mut client: TcpStream, faults: Arc<Faults>) {
    let _ = client.set_nodelay(true);
    let mut cut_rx = faults.generation.subscribe();
    let mut first = vec![0u8; 16 * 1024];
    let read = tokio::select! {
        _ = cut_rx.changed() => return,
        read = client.read(&mut first) => read,
    };
    let Ok(n) = read else { return };
    if n == 0 {
        return;
    }
    first.truncate(n);
    if faults.refuse_websocket.load(Ordering::SeqCst) && is_websocket_upgrade(&first) {
        let _ = client
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", faults.target_port)).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    if server_write.write_all(&first).await.is_err() {
        return;
    }
    let upstream = pipe(
        client_read,
        server_write,
        faults.clone(),
        cut_rx.clone(),
        Direction::Upstream,
    );
    let downstream = pipe(
        server_read,
        client_write,
        faults,
        cut_rx,
        Direction::Downstream,
    );
    // When either direction ends (or a cut), both sockets are dropped and closed.
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}

fn is_websocket_upgrade(head: &[u8]) -> bool {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.contains("upgrade: websocket")
}

/// Which way a [`pipe`] forwards bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to server (counted in `Faults::upstream_bytes`).
    Upstream,
    /// Server to client (counted in `Faults::downstream_bytes`).
    Downstream,
}

async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    faults: Arc<Faults>,
    mut cut_rx: watch::Receiver<u64>,
    direction: Direction,
) {
    let mut stalled_rx = faults.stalled.subscribe();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            _ = cut_rx.changed() => return,
            read = from.read(&mut buffer) => read,
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        tokio::select! {
            _ = cut_rx.changed() => return,
            _ = stalled_rx.wait_for(|stalled| !stalled) => {}
        }
        let delay = *faults.delay.lock().unwrap_or_else(|p| p.into_inner());
        let throttle = faults.throttle.load(Ordering::SeqCst);
        let pause = delay
            + if throttle > 0 {
                Duration::from_secs_f64(n as f64 / throttle as f64)
            } else {
                Duration::ZERO
            };
        if !pause.is_zero() {
            tokio::select! {
                _ = cut_rx.changed() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
        let counter = match direction {
            Direction::Downstream => &faults.downstream_bytes,
            Direction::Upstream => &faults.upstream_bytes,
        };
        counter.fetch_add(n as u64, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::is_websocket_upgrade;

    #[test]
    fn websocket_upgrade_requests_are_recognised_case_insensitively() {
        assert!(is_websocket_upgrade(
            b"GET /socket.io/?EIO=4 HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n"
        ));
        assert!(!is_websocket_upgrade(
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n"
        ));
    }
}
