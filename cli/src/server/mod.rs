//! The embedded Socket.IO server of `ferrio serve` and `ferrio demo`: socketioxide on hyper.
//!
//! One accept task owns the listener and a task per HTTP connection (HTTP/1.1 with
//! upgrades, for WebSocket). Each request carries its connection's [`conn::ConnInfo`] so
//! that the server can later drop one client's connection (see [`conn`]).

mod conn;
mod handlers;

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::args::ServeArgs;
use conn::{ConnInfo, Connections};
use handlers::ADMIN_TOKEN;

/// How long to wait after a failed accept (out of file descriptors) before the next.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// A running embedded server; stops when [`EmbeddedServer::shutdown`] is called or when
/// it is dropped.
#[derive(Debug)]
pub struct EmbeddedServer {
    local_addr: SocketAddr,
    io: SocketIo,
    connections: Connections,
    accept_task: JoinHandle<()>,
}

impl EmbeddedServer {
    /// Binds `addr` (port 0 for an ephemeral port) and starts serving. With `log`,
    /// connections and disconnections are logged to stderr.
    ///
    /// # Errors
    /// When the address cannot be bound (in use, not local).
    pub async fn start(addr: SocketAddr, log: bool) -> io::Result<EmbeddedServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (service, io) = SocketIo::builder().build_svc();
        let connections = Connections::default();
        handlers::register(
            &io,
            handlers::Context {
                connections: connections.clone(),
                log,
            },
        );
        let accept_task = tokio::spawn(accept_connections(listener, service, connections.clone()));
        Ok(EmbeddedServer {
            local_addr,
            io,
            connections,
            accept_task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to, e.g. `http://127.0.0.1:3000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Closes the TCP connections of the client whose Engine.IO session id is `sid` (for
    /// socketioxide, also its socket id in every namespace), as a network failure would:
    /// over WebSocket the client sees `transport close`. Returns whether one was open.
    pub fn drop_connection(&self, sid: &str) -> bool {
        self.connections.drop_session(sid) > 0
    }

    /// Disconnects every client and stops listening.
    pub async fn shutdown(self) {
        self.io.close().await;
        self.accept_task.abort();
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Accepts connections and serves each in its own task; the tasks end with this one.
async fn accept_connections<S, B>(listener: TcpListener, service: S, connections: Connections)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut tasks = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted.
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        while tasks.try_join_next().is_some() {}
        // Small Socket.IO packets must not wait for Nagle's algorithm.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "cannot set TCP_NODELAY");
        }
        let (stream, info) = match conn::track(stream, peer) {
            Ok(tracked) => tracked,
            Err(error) => {
                tracing::debug!(%error, %peer, "cannot track the connection");
                continue;
            }
        };
        let service = Tracking {
            inner: service.clone(),
            info,
            connections: connections.clone(),
        };
        tasks.spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(error) = served {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
}

/// The socket.io service, with each request tagged with its connection.
#[derive(Clone)]
struct Tracking<S> {
    inner: S,
    info: ConnInfo,
    connections: Connections,
}

impl<S, B> Service<Request<B>> for Tracking<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: Request<B>) -> S::Future {
        if let Some(sid) = conn::session_of(request.uri().query()) {
            self.connections.note(sid, &self.info);
        }
        request.extensions_mut().insert(self.info.clone());
        self.inner.call(request)
    }
}

/// Runs `ferrio serve`: prints the URL on stdout, logs to stderr, stops on Ctrl-C.
pub async fn run(args: ServeArgs) -> ExitCode {
    let addr = SocketAddr::new(args.host, args.port);
    let server = match EmbeddedServer::start(addr, true).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    print_url(&server.url());
    eprintln!(
        "ferrio serve: Socket.IO server on {url} (Ctrl-C to stop)\n\
         \x20 /       echo, join, leave, broadcast(room, ...args) -> message, chat, drop\n\
         \x20 /admin  same, plus whoami; auth {{\"token\":\"{ADMIN_TOKEN}\"}} required\n\
         \x20 try:    ferrio connect {url}",
        url = server.url()
    );
    if !server.local_addr().ip().is_loopback() {
        eprintln!("note: listening beyond loopback, reachable from other machines");
    }
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    match stopped {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot wait for Ctrl-C: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the URL alone on stdout and flushes, so that a script can read it.
fn print_url(url: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{url}");
    let _ = stdout.flush();
}
