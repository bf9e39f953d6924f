//! HTTP long-polling: one GET task and one POST task per session, at most one of each in
//! flight. A pending GET is never cancelled while the session lives. What goes in each POST
//! body is the session's choice (its machine cuts them to `maxPayload`); this only posts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::{read_body, Endpoint};
use crate::engineio::payload::{encode_payload, encode_payload_v3, Framing, Payload};
use crate::engineio::{EnginePacket, Handshake};
use crate::error::TransportError;
use crate::options::TransportKind;
use crate::server_text::server_text;

/// What the polling tasks report to the session.
#[derive(Debug)]
pub(crate) enum PollInbound {
    /// The payload of one GET response.
    Payload(Polled),
    /// The GET loop stopped because polling was paused for an upgrade.
    Paused,
    /// The POST in flight was answered: the next body may go.
    Posted,
    /// A request failed; the session is over.
    Failed(TransportError),
}

/// The payload of one GET response, decoded as the session takes its packets.
///
/// The GET loop polls again only once this is dropped, i.e. once the session took every
/// packet: at most one response body is held at a time, however fast the server answers.
#[derive(Debug)]
pub(crate) struct Polled {
    /// The packets not taken yet.
    pub(crate) packets: Payload,
    /// Dropped with the payload, which wakes the GET loop; none for the handshake's.
    _consumed: Option<oneshot::Sender<()>>,
}

/// Capacity of the queue of bodies to the POST task: the session posts one at a time,
/// the next once the previous was answered.
const POST_QUEUE_CAPACITY: usize = 1;
/// Capacity of the queue of reports to the session: a GET response waits for the
/// previous one to be consumed, so one slot for it and one for a failed GET.
const INBOUND_CAPACITY: usize = 2;

/// How long the GET loop waits, once, for the outcome of an upgrade probe before polling
/// again. A GET pending when the probe succeeds is answered only by the server's upgrade
/// check, a noop it writes every 100 ms (engine.io `checkIntervalTimer`); waiting up to that
/// long instead lets the upgrade finish as soon as the probe does, and never costs more
/// than the noop would. Meanwhile the server keeps what it has to send, for the next GET
/// or the WebSocket.
const PROBE_HOLD: Duration = Duration::from_millis(100);

/// What the GET loop does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetMode {
    /// Poll again at once.
    Run,
    /// An upgrade probe is under way: wait for its outcome (see [`PROBE_HOLD`]).
    Hold,
    /// Stop until told otherwise: the upgrade goes ahead (or polling resumes if it fails).
    Pause,
}

/// A running polling transport.
#[derive(Debug)]
pub(crate) struct Polling {
    inbound_rx: mpsc::Receiver<PollInbound>,
    post_tx: mpsc::Sender<Vec<EnginePacket>>,
    posted_rx: mpsc::Receiver<Result<(), TransportError>>,
    mode_tx: watch::Sender<GetMode>,
    get_task: JoinHandle<()>,
    post_task: JoinHandle<()>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.get_task.abort();
        self.post_task.abort();
    }
}

/// Opens a session over polling: the handshake GET of at most `max_packets` packets in
/// `framing`. Returns the handshake and the packets that came with it.
///
/// # Errors
/// [`TransportError::OlderProtocol`] when an Engine.IO v4 handshake is answered in v3's
/// framing; otherwise the request's or the decoding's failure.
pub(crate) async fn handshake(
    endpoint: &Endpoint,
    max_packets: usize,
    framing: Framing,
) -> Result<(Handshake, Polled), TransportError> {
    let url = endpoint.url(TransportKind::Polling, None);
    let mut packets = poll_once(endpoint, url, max_packets, framing).await?;
    if framing == Framing::Separated && packets.is_engine_io_v3() {
        // The server opened a v3 session (and connected `/` on it): closed at once, so
        // that it does not linger until its ping timeout.
        if let Some(Ok(EnginePacket::Open(handshake))) = packets
            .reframed(Framing::LengthPrefixed)
            .ok()
            .and_then(|mut packets| packets.next())
        {
            let close = abandon(endpoint, &handshake.sid, Framing::LengthPrefixed);
            let _ = tokio::time::timeout(ABANDON_TIMEOUT, close).await;
        }
        return Err(TransportError::OlderProtocol);
    }
    match packets.next().transpose()? {
        Some(EnginePacket::Open(handshake)) => Ok((
            *handshake,
            Polled {
                packets,
                _consumed: None,
            },
        )),
        other => Err(TransportError::Handshake(server_text(format!(
            "expected an open packet, got {other:?}"
        )))),
    }
}

/// How long closing a session opened in the wrong protocol version may take.
const ABANDON_TIMEOUT: Duration = Duration::from_secs(2);

/// Closes session `sid` on the server (a POST of a close packet in `framing`), for a
/// session this client lost track of; errors are ignored.
pub(crate) async fn abandon(endpoint: &Endpoint, sid: &str, framing: Framing) {
    let url = endpoint.url(TransportKind::Polling, Some(sid));
    let Ok(http) = endpoint.http() else { return };
    let body = match framing {
        Framing::Separated => "1",
        Framing::LengthPrefixed => "1:1",
    };
    let sent = http
        .post(url)
        .header(http::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(body)
        .send()
        .await;
    tracing::debug!(
        ok = sent.as_ref().is_ok_and(|r| r.status().is_success()),
        "lost polling session closed"
    );
}

impl Polling {
    /// Starts the GET and POST tasks of session `sid`, its payloads in `framing`; a GET
    /// response may hold at most `max_packets` packets, a POST with its answer may take at
    /// most `post_timeout`.
    pub(crate) fn start(
        endpoint: Arc<Endpoint>,
        sid: &str,
        max_packets: usize,
        post_timeout: Duration,
        framing: Framing,
    ) -> Self {
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_CAPACITY);
        let (post_tx, post_rx) = mpsc::channel(POST_QUEUE_CAPACITY);
        let (posted_tx, posted_rx) = mpsc::channel(POST_QUEUE_CAPACITY);
        let (mode_tx, mode_rx) = watch::channel(GetMode::Run);
        let url = endpoint.url(TransportKind::Polling, Some(sid));
        let get_task = tokio::spawn(run_get_loop(
            endpoint.clone(),
            url.clone(),
            inbound_tx.clone(),
            mode_rx,
            max_packets,
            framing,
        ));
        let post_task = tokio::spawn(run_post_loop(
            endpoint,
            url,
            post_rx,
            posted_tx,
            post_timeout,
            framing,
        ));
        Self {
            inbound_rx,
            post_tx,
            posted_rx,
            mode_tx,
            get_task,
            post_task,
        }
    }

    /// The next report of the polling tasks. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> PollInbound {
        tokio::select! {
            inbound = self.inbound_rx.recv() => inbound.unwrap_or_else(|| PollInbound::Failed(stopped())),
            posted = self.posted_rx.recv() => match posted {
                Some(Ok(())) => PollInbound::Posted,
                Some(Err(error)) => PollInbound::Failed(error),
                None => PollInbound::Failed(stopped()),
            },
        }
    }

    /// Waits for the answer to the POST in flight. Cancel-safe.
    ///
    /// # Errors
    /// The POST's failure, or [`TransportError::Io`] when the POST task stopped.
    pub(crate) async fn posted(&mut self) -> Result<(), TransportError> {
        self.posted_rx
            .recv()
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// Posts `packets` as one body; its answer is reported by [`Polling::recv`] or
    /// [`Polling::posted`]. One POST at a time: the previous one must have been answered.
    ///
    /// # Errors
    /// [`TransportError::Io`] when the POST task stopped, or a POST is still in flight.
    pub(crate) fn post(&self, packets: Vec<EnginePacket>) -> Result<(), TransportError> {
        self.post_tx.try_send(packets).map_err(|_| stopped())
    }

    /// An upgrade probe started: after the next GET response, wait for its outcome (at
    /// most [`PROBE_HOLD`]) before polling again.
    pub(crate) fn hold(&self) {
        let _ = self.mode_tx.send(GetMode::Hold);
    }

    /// The upgrade probe failed: poll as usual.
    pub(crate) fn release(&self) {
        let _ = self.mode_tx.send(GetMode::Run);
    }

    /// Stops issuing GETs once the one in flight completes, reported by
    /// [`PollInbound::Paused`]; [`Polling::release`] starts them again.
    pub(crate) fn pause(&self) {
        let _ = self.mode_tx.send(GetMode::Pause);
    }
}

fn stopped() -> TransportError {
    TransportError::Io("polling stopped".into())
}

async fn run_get_loop(
    endpoint: Arc<Endpoint>,
    url: url::Url,
    inbound_tx: mpsc::Sender<PollInbound>,
    mut mode_rx: watch::Receiver<GetMode>,
    max_packets: usize,
    framing: Framing,
) {
    let mut held = false;
    loop {
        if *mode_rx.borrow() == GetMode::Pause {
            if inbound_tx.send(PollInbound::Paused).await.is_err()
                || mode_rx
                    .wait_for(|mode| *mode != GetMode::Pause)
                    .await
                    .is_err()
            {
                return;
            }
            continue;
        }
        let report = match poll_once(&endpoint, url.clone(), max_packets, framing).await {
            Ok(packets) => {
                let (consumed_tx, consumed_rx) = oneshot::channel();
                let polled = Polled {
                    packets,
                    _consumed: Some(consumed_tx),
                };
                if inbound_tx.send(PollInbound::Payload(polled)).await.is_err() {
                    return;
                }
                // Poll again only once the session took every packet (it drops the
                // payload then; a close packet ends the session, and this task with it).
                let _ = consumed_rx.await;
                if !held && *mode_rx.borrow() == GetMode::Hold {
                    held = true;
                    let probed = mode_rx.wait_for(|mode| *mode != GetMode::Hold);
                    let _ = tokio::time::timeout(PROBE_HOLD, probed).await;
                }
                continue;
            }
            Err(error) => PollInbound::Failed(error),
        };
        let _ = inbound_tx.send(report).await;
        return;
    }
}

/// One polling GET: its payload in `framing`, of at most `max_packets` packets.
async fn poll_once(
    endpoint: &Endpoint,
    url: url::Url,
    max_packets: usize,
    framing: Framing,
) -> Result<Payload, TransportError> {
    tracing::trace!("poll request");
    let response = endpoint
        .http()?
        .get(url)
        .send()
        .await
        .map_err(|e| endpoint.request_error(e))?;
    endpoint.answered();
    if !response.status().is_success() {
        return Err(endpoint.http_error(response).await);
    }
    let body = read_body(response, endpoint.max_incoming_bytes).await?;
    Ok(Payload::framed(body, max_packets, framing)?)
}

async fn run_post_loop(
    endpoint: Arc<Endpoint>,
    url: url::Url,
    mut post_rx: mpsc::Receiver<Vec<EnginePacket>>,
    posted_tx: mpsc::Sender<Result<(), TransportError>>,
    timeout: Duration,
    framing: Framing,
) {
    while let Some(packets) = post_rx.recv().await {
        let body = match framing {
            Framing::Separated => {
                let mut text = String::new();
                encode_payload(&packets, None, &mut text);
                PostBody::Text(text)
            }
            Framing::LengthPrefixed => {
                let mut bytes = Vec::new();
                encode_payload_v3(&packets, &mut bytes);
                PostBody::Binary(bytes)
            }
        };
        drop(packets);
        let posted = post_once(&endpoint, &url, body, timeout).await;
        let failed = posted.is_err();
        if posted_tx.send(posted).await.is_err() || failed {
            return;
        }
    }
}

/// A POST body: Engine.IO v4's text payload, or v3's binary one.
enum PostBody {
    /// `text/plain`.
    Text(String),
    /// `application/octet-stream`.
    Binary(Vec<u8>),
}

impl PostBody {
    /// Its `Content-Type` and bytes.
    fn into_parts(self) -> (&'static str, reqwest::Body) {
        match self {
            PostBody::Text(text) => ("text/plain;charset=UTF-8", text.into()),
            PostBody::Binary(bytes) => ("application/octet-stream", bytes.into()),
        }
    }
}

/// Posts one payload `body`. The POST, answer included, gets at most `timeout`
/// (`pingInterval + pingTimeout`): a server that stops reading cannot hold the POST task,
/// nor a close queued behind it.
async fn post_once(
    endpoint: &Endpoint,
    url: &url::Url,
    body: PostBody,
    timeout: Duration,
) -> Result<(), TransportError> {
    let (content_type, body) = body.into_parts();
    tracing::trace!(bytes = ?body.as_bytes().map(<[u8]>::len), "post request");
    let post = async {
        let response = endpoint
            .http()?
            .post(url.clone())
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| endpoint.request_error(e))?;
        if !response.status().is_success() {
            return Err(endpoint.http_error(response).await);
        }
        // The body is `ok`; read it so the connection can be reused.
        read_body(response, 1024).await.map(drop)
    };
    tokio::time::timeout(timeout, post)
        .await
        .map_err(|_| TransportError::RequestTimeout { after: timeout })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ManagerOptions;

    #[tokio::test]
    async fn a_post_the_server_never_answers_ends_with_a_request_timeout() {
        // A server that accepts connections and never answers a request.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let endpoint = Endpoint::new(&url, &ManagerOptions::default()).expect("endpoint");
        let post_url = endpoint.url(TransportKind::Polling, Some("sid"));
        let timeout = Duration::from_millis(100);
        let error = post_once(
            &endpoint,
            &post_url,
            PostBody::Text("4hello".into()),
            timeout,
        )
        .await
        .expect_err("no answer");
        assert!(
            matches!(error, TransportError::RequestTimeout { after } if after == timeout),
            "{error:?}"
        );
        server.abort();
    }

    /// A polling server answering every GET at once with two pings, telling `get_tx` of
    /// each GET it receives (while `get_tx` has room: the tests ask whether a GET came).
    async fn eager_server(get_tx: mpsc::Sender<()>) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let get_tx = get_tx.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buffer).await {
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        // Requests without a body (GETs) end with their headers.
                        while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            request.drain(..end + 4);
                            let _ = get_tx.try_send(());
                            let body = "2\u{1e}2";
                            let response = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if stream.write_all(response.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn the_next_get_waits_until_every_packet_of_the_previous_one_was_taken() {
        let (get_tx, mut get_rx) = mpsc::channel(16);
        let port = eager_server(get_tx).await;
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let endpoint = Arc::new(Endpoint::new(&url, &ManagerOptions::default()).expect("endpoint"));
        let mut polling = Polling::start(
            endpoint,
            "sid",
            100,
            Duration::from_secs(30),
            Framing::Separated,
        );
        let PollInbound::Payload(mut first) = polling.recv().await else {
            panic!("a payload");
        };
        assert!(get_rx.recv().await.is_some(), "the first GET");
        assert_eq!(first.packets.next().unwrap().unwrap(), EnginePacket::Ping);
        // One packet is left: however long the server has been ready, no GET is made.
        let more = tokio::time::timeout(Duration::from_millis(300), get_rx.recv()).await;
        assert!(
            more.is_err(),
            "a GET while a packet of the previous one was left"
        );
        assert_eq!(first.packets.next().unwrap().unwrap(), EnginePacket::Ping);
        drop(first);
        assert!(
            get_rx.recv().await.is_some(),
            "the next GET once it was taken"
        );
        assert!(matches!(polling.recv().await, PollInbound::Payload(_)));
    }

    #[tokio::test]
    async fn a_paused_get_loop_says_so_and_polls_again_once_released() {
        let (get_tx, mut get_rx) = mpsc::channel(16);
        let port = eager_server(get_tx).await;
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let endpoint = Arc::new(Endpoint::new(&url, &ManagerOptions::default()).expect("endpoint"));
        let mut polling = Polling::start(
            endpoint,
            "sid",
            100,
            Duration::from_secs(30),
            Framing::Separated,
        );
        polling.pause();
        // The GET in flight, if any, completes; then the loop stops and reports it.
        loop {
            match polling.recv().await {
                PollInbound::Payload(polled) => drop(polled),
                PollInbound::Paused => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        while get_rx.try_recv().is_ok() {}
        polling.release();
        assert!(get_rx.recv().await.is_some(), "a GET once released");
        assert!(matches!(polling.recv().await, PollInbound::Payload(_)));
    }
}
