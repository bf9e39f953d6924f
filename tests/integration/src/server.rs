//! [`TestServer`]: one reference server process per test.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::launcher::{self, Launched};
use crate::tls::{client_config, TestCa};

/// How long the server may take to print its `READY` line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle control connection is kept for the next request: less than Node's
/// keep-alive timeout (5 s), so a request never goes out on a connection the server is
/// closing (after a freeze, the server's timers close every idle connection at once).
const CONTROL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one control request may take (`restart` and `waitFor*` answer late on purpose).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(120);

/// The reference Socket.IO server (`tests/server/server.js`) running as a child process on an
/// ephemeral loopback port, with its control channel. Killed on `Drop`.
///
/// Its stderr is forwarded to the test's stderr, each line prefixed with the process id.
///
/// With `FERRIO_TEST_LAUNCHER` set, a `ferrio-test-launcher` process at that address starts
/// the servers instead (see [`crate::launcher`]): for a test binary that cannot start Node
/// itself, a Windows build run by wine.
pub struct TestServer {
    process: ServerProcess,
    port: u16,
    control_port: u16,
    config: Value,
    ca: Option<Arc<TestCa>>,
    http: reqwest::Client,
    program: Program,
}

/// What a server process runs: a Node script using the reference server's packages (its
/// first argument is the configuration) and further arguments.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// The script's path relative to `tests/`.
    pub(crate) script: String,
    pub(crate) extra_args: Vec<String>,
}

impl Program {
    /// The reference server, `tests/server/server.js`.
    fn reference() -> Program {
        Program::new("server/server.js", Vec::new())
    }

    /// `script` (relative to `tests/`) with `extra_args` after the configuration.
    pub(crate) fn new(script: &str, extra_args: Vec<String>) -> Program {
        Program {
            script: script.to_owned(),
            extra_args,
        }
    }
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(json!({})).await
    }

    /// Starts a server with `config`, a JSON object whose keys (all optional) are described
    /// in `tests/server/README.md`, e.g. `json!({"transports": ["websocket"]})`.
    pub async fn start_with(config: Value) -> TestServer {
        TestServer::launch(config, None).await
    }

    /// Starts an HTTPS/WSS server with a certificate for `localhost` and `127.0.0.1` signed
    /// by a fresh [`TestCa`] (see [`TestServer::ca`]).
    pub async fn start_tls(config: Value) -> TestServer {
        TestServer::launch(config, Some(Arc::new(TestCa::generate()))).await
    }

    /// As [`TestServer::start_tls`], and the server requires a client certificate signed by
    /// the same CA ([`TestCa::client_cert_path`]): mutual TLS.
    pub async fn start_mtls(mut config: Value) -> TestServer {
        config["tls"] = json!({"requireClientCert": true});
        TestServer::start_tls(config).await
    }

    /// Starts a Socket.IO 2.x server (`tests/server-v2`: socket.io 2.5.1, Engine.IO v3,
    /// Socket.IO protocol 4). Its control channel takes the actions of
    /// `tests/server-v2/README.md` (a subset of the reference server's, and `waitForPings`).
    pub async fn start_v2() -> TestServer {
        let v2_modules = server_dir()
            .join("..")
            .join("server-v2")
            .join("node_modules");
        assert!(
            v2_modules.is_dir(),
            "{} is missing: run `npm ci --prefix tests/server-v2` (or `make deps-node-v2`)",
            v2_modules.display()
        );
        TestServer::launch_program(
            Program::new("server-v2/server.js", Vec::new()),
            json!({}),
            None,
        )
        .await
    }

    /// Starts a python-socketio 4.x server (`tests/server-v2-python`: Engine.IO v3,
    /// Socket.IO protocol 4, polling and WebSocket) in the venv of `make deps-python-v2`.
    /// Only its port is of use: its control channel does nothing.
    pub async fn start_v2_python() -> TestServer {
        let python = v2_python();
        assert!(
            python.is_file(),
            "{} is missing: run `make deps-python-v2`",
            python.display()
        );
        TestServer::launch_program(
            Program::new("server-v2-python/server.py", Vec::new()),
            json!({}),
            None,
        )
        .await
    }

    async fn launch(config: Value, ca: Option<Arc<TestCa>>) -> TestServer {
        TestServer::launch_program(Program::reference(), config, ca).await
    }

    /// Starts `program` (a server speaking the reference server's `READY` line and control
    /// channel) with `config`.
    pub(crate) async fn launch_program(
        program: Program,
        mut config: Value,
        ca: Option<Arc<TestCa>>,
    ) -> TestServer {
        let object = config
            .as_object_mut()
            .expect("the test server configuration must be a JSON object");
        if let Some(ca) = &ca {
            let client_auth = object
                .remove("tls")
                .is_some_and(|tls| tls["requireClientCert"] == true);
            let mut tls = json!({
                "cert": ca.server_cert_path(),
                "key": ca.server_key_path(),
            });
            if client_auth {
                tls["clientCa"] = json!(ca.ca_pem_path());
            }
            object.insert("tls".to_owned(), tls);
        }
        let (process, ready) = ServerProcess::start(&program, &config, ca.as_deref()).await;
        // Direct, whatever the environment says (the proxy tests set HTTP_PROXY).
        let http = reqwest::Client::builder()
            .no_proxy()
            .use_preconfigured_tls(client_config(ca.as_deref()))
            .pool_idle_timeout(CONTROL_IDLE_TIMEOUT)
            .build()
            .expect("HTTP client for the test server");
        TestServer {
            process,
            port: ready.port,
            control_port: ready.control,
            config,
            ca,
            http,
            program,
        }
    }

    /// The port the Socket.IO server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's base URL: `http://127.0.0.1:P`, or `https://localhost:P` with TLS.
    pub fn url(&self) -> String {
        match self.ca {
            Some(_) => format!("https://localhost:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// The control channel's base URL (plain HTTP).
    pub fn control_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.control_port)
    }

    /// The configuration the server was started with (including `tls` if any).
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The CA that signed the server's certificate, for servers from [`TestServer::start_tls`].
    pub fn ca(&self) -> Option<&TestCa> {
        self.ca.as_deref()
    }

    /// An HTTP client for raw requests to the server; trusts the server's CA with TLS.
    pub fn http_client(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends a control action (`POST /<action>` with `body`) and returns its JSON answer.
    /// Panics if the control channel fails or answers an error.
    pub async fn control(&self, action: &str, body: Value) -> Value {
        self.try_control(action, body)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// [`TestServer::control`] for callers that outlive a failed action (the soak's faults
    /// under load): the failure as text instead of a panic.
    pub async fn try_control(&self, action: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/{action}", self.control_url());
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(CONTROL_TIMEOUT)
            .send()
            .await
            .map_err(|error| format!("control action `{action}` failed: {error:?}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| format!("control action `{action}`: no answer: {error:?}"))?;
        if !status.is_success() {
            return Err(format!(
                "control action `{action}` answered {status}: {text}"
            ));
        }
        serde_json::from_str(&text)
            .map_err(|error| format!("control action `{action}` answered {text:?}: {error}"))
    }

    /// Emits `event` with `args` (a JSON array; see [`crate::binary`]) to every socket of
    /// namespace `nsp`. Returns how many sockets the namespace had.
    pub async fn emit(&self, nsp: &str, event: &str, args: Value) -> u64 {
        let answer = self
            .control("emit", json!({ "nsp": nsp, "event": event, "args": args }))
            .await;
        answer["sockets"].as_u64().unwrap_or_default()
    }

    /// Like [`TestServer::emit`], but volatile (dropped for sockets that cannot take it now).
    pub async fn emit_volatile(&self, nsp: &str, event: &str, args: Value) -> u64 {
        let answer = self
            .control(
                "emitVolatile",
                json!({ "nsp": nsp, "event": event, "args": args }),
            )
            .await;
        answer["sockets"].as_u64().unwrap_or_default()
    }

    /// Emits `event` with `args` to the sockets of `nsp` that joined `room`.
    pub async fn emit_to_room(&self, nsp: &str, room: &str, event: &str, args: Value) {
        self.control(
            "emitToRoom",
            json!({ "nsp": nsp, "room": room, "event": event, "args": args }),
        )
        .await;
    }

    /// Emits `event` with `args` to every socket of `nsp`, asking for acknowledgements, and
    /// returns `{"responses": [[...args of each ack]...]}`, plus `"error"` if some socket did
    /// not answer within `timeout`.
    pub async fn emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Value,
        timeout: Duration,
    ) -> Value {
        self.control(
            "emitWithAck",
            json!({ "nsp": nsp, "event": event, "args": args, "timeoutMs": millis(timeout) }),
        )
        .await
    }

    /// The events the server received in `nsp`, in order: objects with `nsp`, `id` (the
    /// socket), `event`, `args` (binary as `{"$binary": base64}`) and `ack` (whether the
    /// client asked for an acknowledgement).
    pub async fn received(&self, nsp: &str) -> Vec<Value> {
        events(self.control("received", json!({ "nsp": nsp })).await)
    }

    /// The events the server received in every namespace, in order.
    pub async fn received_all(&self) -> Vec<Value> {
        events(self.control("received", json!({})).await)
    }

    /// Forgets the received events.
    pub async fn clear_received(&self) {
        self.control("clear", json!({})).await;
    }

    /// Waits (10 s at most, then panics) until the server received `event` in `nsp`;
    /// returns the first such event.
    pub async fn wait_for_event(&self, nsp: &str, event: &str) -> Value {
        self.wait_for_events(nsp, event, 1).await.swap_remove(0)
    }

    /// Waits (10 s at most, then panics) until the server received `event` in `nsp` at least
    /// `count` times; returns all such events.
    pub async fn wait_for_events(&self, nsp: &str, event: &str, count: usize) -> Vec<Value> {
        events(
            self.control(
                "waitForEvent",
                json!({ "nsp": nsp, "event": event, "count": count }),
            )
            .await,
        )
    }

    /// Waits (10 s at most, then panics) until `nsp` has exactly `count` connected sockets;
    /// returns [`TestServer::clients`].
    pub async fn wait_for_sockets(&self, nsp: &str, count: usize) -> Value {
        self.control("waitForSockets", json!({ "nsp": nsp, "count": count }))
            .await
    }

    /// `socket.disconnect()` for every socket of `nsp` (clients see `io server disconnect`).
    pub async fn disconnect(&self, nsp: &str) -> u64 {
        let answer = self.control("disconnect", json!({ "nsp": nsp })).await;
        answer["disconnected"].as_u64().unwrap_or_default()
    }

    /// `socket.disconnect(true)` for every socket of every namespace.
    pub async fn disconnect_all(&self) -> u64 {
        let answer = self.control("disconnectAll", json!({})).await;
        answer["disconnected"].as_u64().unwrap_or_default()
    }

    /// `conn.close()` on every Engine.IO connection (clients see `transport close`).
    pub async fn close_transport(&self) -> u64 {
        let answer = self.control("closeTransport", json!({})).await;
        answer["closed"].as_u64().unwrap_or_default()
    }

    /// Shuts the Socket.IO server down (`io.close()`, no DISCONNECT packets) and listens
    /// again on the same port after `delay`; returns once it listens. Recorded events,
    /// handshakes and stats are kept.
    pub async fn restart(&self, delay: Duration) {
        self.control("restart", json!({ "delayMs": millis(delay) }))
            .await;
    }

    /// The connected clients: `{"engineClients": n, "namespaces": {"/": [{"id", "engineId",
    /// "transport", "recovered", "rooms"}...]...}}`.
    pub async fn clients(&self) -> Value {
        self.control("clients", json!({})).await
    }

    /// One entry per namespace connection: `nsp`, `id`, `transport`, `recovered`, `auth`,
    /// `query`, `headers`.
    pub async fn handshakes(&self) -> Vec<Value> {
        list(self.control("handshakes", json!({})).await, "handshakes")
    }

    /// Makes `token` valid for namespace `/auth` (besides `"secret"`).
    pub async fn set_token(&self, token: &str) {
        self.control("setToken", json!({ "token": token })).await;
    }

    /// With the `cookie` configuration: one entry per Engine.IO request (`method`,
    /// `transport`, `sid`, `initial`, `carried`: whether it carried the cookie).
    pub async fn cookies(&self) -> Vec<Value> {
        list(self.control("cookies", json!({})).await, "requests")
    }

    /// The remote address of every TCP connection the server accepted, in order (the
    /// proxy tests' [`TestProxy`](crate::TestProxy)s connect out from `127.0.0.2`).
    pub async fn peers(&self) -> Vec<String> {
        list(self.control("peers", json!({})).await, "peers")
            .into_iter()
            .filter_map(|peer| peer.as_str().map(str::to_owned))
            .collect()
    }

    /// Counters and logs: `engineConnections`, `engineClients`, `engineCloses`,
    /// `engineErrors`, `upgrades`, `connections`, `connectErrors`, `disconnects`,
    /// `eventsReceived`, `restarts`.
    pub async fn stats(&self) -> Value {
        self.control("stats", json!({})).await
    }

    /// Stops the server process (SIGSTOP): it keeps its sockets but answers nothing, so
    /// clients hit their ping timeout. The control channel is frozen too until
    /// [`TestServer::thaw`].
    pub fn freeze(&self) {
        self.process.signal(Signal::Stop);
    }

    /// Resumes a frozen server (SIGCONT).
    pub fn thaw(&self) {
        self.process.signal(Signal::Cont);
    }

    /// Kills the server process (SIGKILL) and waits for it to exit: its ports are free.
    pub async fn kill(&self) {
        self.process.kill().await;
    }

    /// Starts a new server process with the same configuration on the same port, replacing
    /// this one (killed first if still running), as a crashed server coming back would.
    pub async fn respawn(&mut self) {
        self.kill().await;
        let mut config = self.config.clone();
        config["port"] = json!(self.port);
        let (process, ready) =
            ServerProcess::start(&self.program, &config, self.ca.as_deref()).await;
        self.process = process;
        self.control_port = ready.control;
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("pid", &self.process.pid())
            .field("url", &self.url())
            .field("control", &self.control_url())
            .finish()
    }
}

/// The ports from the server's `READY` line.
pub(crate) struct Ready {
    pub(crate) port: u16,
    pub(crate) control: u16,
}

/// The signals a test sends to a server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGSTOP: the process freezes.
    Stop,
    /// SIGCONT: a frozen process resumes.
    Cont,
}

impl Signal {
    /// The name `kill -NAME` takes, also the launcher protocol's command.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
        }
    }
}

/// A server process: a child of this process, or of a launcher.
enum ServerProcess {
    Child(Box<ChildServer>),
    Launched(Launched),
}

impl ServerProcess {
    /// Starts `program` with `config` (whose `tls` names the files of `ca`'s certificate),
    /// through the launcher when `FERRIO_TEST_LAUNCHER` names one.
    async fn start(
        program: &Program,
        config: &Value,
        ca: Option<&TestCa>,
    ) -> (ServerProcess, Ready) {
        match launcher::address() {
            Some(address) => {
                let (launched, ready) = Launched::start(&address, program, config, ca).await;
                (ServerProcess::Launched(launched), ready)
            }
            None => {
                let (child, ready) = ChildServer::spawn(program, config).await;
                (ServerProcess::Child(Box::new(child)), ready)
            }
        }
    }

    fn pid(&self) -> u32 {
        match self {
            ServerProcess::Child(child) => child.pid,
            ServerProcess::Launched(launched) => launched.pid(),
        }
    }

    fn signal(&self, signal: Signal) {
        match self {
            ServerProcess::Child(child) => child.signal(signal),
            ServerProcess::Launched(launched) => launched.signal(signal),
        }
    }

    async fn kill(&self) {
        match self {
            ServerProcess::Child(child) => child.kill().await,
            ServerProcess::Launched(launched) => launched.kill(),
        }
    }
}

/// The Node child process and the tasks forwarding its output.
pub(crate) struct ChildServer {
    child: Mutex<Child>,
    pub(crate) pid: u32,
    // The server exits when its stdin closes, so it never outlives a test process that died.
    _stdin: ChildStdin,
}

impl ChildServer {
    /// Starts `program` with `config` and waits for its `READY` line; panics, with the
    /// server's stderr, if it does not come.
    pub(crate) async fn spawn(program: &Program, config: &Value) -> (ChildServer, Ready) {
        let server_dir = server_dir();
        assert!(
            server_dir.join("node_modules").is_dir(),
            "{} is missing: run `npm ci --prefix tests/server` (or `make deps-node`) in the \
             repository root first",
            server_dir.join("node_modules").display()
        );
        // A Python script is the python-socketio server; every other one runs on Node.
        let (interpreter, what) = if program.script.ends_with(".py") {
            (
                v2_python().display().to_string(),
                "run `make deps-python-v2`",
            )
        } else {
            let node = std::env::var("FERRIO_NODE").unwrap_or_else(|_| "node".to_owned());
            (node, "is Node.js installed?")
        };
        let mut child = Command::new(&interpreter)
            .arg(server_dir.join("..").join(&program.script))
            .arg(config.to_string())
            .args(&program.extra_args)
            .current_dir(&server_dir)
            .env("FERRIO_EXIT_ON_STDIN_CLOSE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{interpreter}` ({what}): {error}"));
        let pid = child.id().expect("a running child has an id");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");

        let log = Arc::new(SyncMutex::new(Some(String::new())));
        let stderr_task = forward(stderr, pid, log.clone());
        let mut stdout = BufReader::new(stdout).lines();
        let ready = match tokio::time::timeout(READY_TIMEOUT, stdout.next_line()).await {
            Ok(Ok(Some(line))) => parse_ready(&line),
            Ok(Ok(None)) => Err("the server exited before printing READY".to_owned()),
            Ok(Err(error)) => Err(format!("cannot read the server's stdout: {error}")),
            Err(_) => Err(format!("no READY line within {READY_TIMEOUT:?}")),
        };
        let ready = match ready {
            Ok(ready) => ready,
            Err(reason) => {
                let _ = child.kill().await;
                let _ = tokio::time::timeout(Duration::from_secs(5), stderr_task).await;
                let log = log
                    .lock()
                    .map(|log| log.clone().unwrap_or_default())
                    .unwrap_or_default();
                panic!(
                    "the test server (config {config}) did not start: {reason}\nits stderr:\n{log}"
                );
            }
        };
        // Started: the output is no longer kept (a server running for hours would fill it).
        if let Ok(mut log) = log.lock() {
            *log = None;
        }
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                eprintln!("[test-server {pid}] (stdout) {line}");
            }
        });
        let process = ChildServer {
            child: Mutex::new(child),
            pid,
            _stdin: stdin,
        };
        (process, ready)
    }

    /// Sends `signal` to the process (`kill -NAME PID`).
    pub(crate) fn signal(&self, signal: Signal) {
        let (name, pid) = (signal.name(), self.pid);
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap_or_else(|error| panic!("cannot run `kill -{name} {pid}`: {error}"));
        assert!(status.success(), "`kill -{name} {pid}` failed: {status}");
    }

    /// Kills the process (SIGKILL) and waits for it to exit.
    pub(crate) async fn kill(&self) {
        let mut child = self.child.lock().await;
        // An error here means the process was already gone.
        let _ = child.kill().await;
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // An error here means the process was already gone.
        let _ = self.child.get_mut().start_kill();
    }
}

/// Forwards each line of `stream` to the test's stderr, and into `log` while it is `Some`
/// (until the server is ready: the startup output, for the error when it does not start).
fn forward(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    pid: u32,
    log: Arc<SyncMutex<Option<String>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[test-server {pid}] {line}");
            if let Ok(mut log) = log.lock() {
                if let Some(log) = log.as_mut() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        }
    })
}

pub(crate) fn parse_ready(line: &str) -> Result<Ready, String> {
    let json = line
        .strip_prefix("READY ")
        .ok_or_else(|| format!("expected a READY line, got {line:?}"))?;
    let value: Value =
        serde_json::from_str(json).map_err(|error| format!("bad READY line {line:?}: {error}"))?;
    let port = |key: &str| {
        value[key]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .ok_or_else(|| format!("READY line {line:?} has no valid `{key}`"))
    };
    Ok(Ready {
        port: port("port")?,
        control: port("control")?,
    })
}

fn server_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("server")
}

/// The Python of the python-socketio 4.x server's venv: `$FERRIO_V2_PYTHON_VENV/bin/python`,
/// by default under `${XDG_CACHE_HOME:-$HOME/.cache}/ferrio/server-v2-python` (as the
/// Makefile's `deps-python-v2` installs it).
fn v2_python() -> PathBuf {
    let venv = match std::env::var_os("FERRIO_V2_PYTHON_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .unwrap_or_default()
            .join("ferrio")
            .join("server-v2-python"),
    };
    venv.join("bin").join("python")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn events(answer: Value) -> Vec<Value> {
    list(answer, "events")
}

fn list(mut answer: Value, key: &str) -> Vec<Value> {
    match answer[key].take() {
        Value::Array(items) => items,
        other => panic!("expected an array `{key}` in the control answer, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_line_gives_both_ports() {
        let ready = parse_ready(r#"READY {"port":4100,"control":4101}"#).unwrap();
        assert_eq!((ready.port, ready.control), (4100, 4101));
    }

    #[test]
    fn other_lines_are_not_ready_lines() {
        assert!(parse_ready("listening").is_err());
        assert!(parse_ready(r#"READY {"port":70000,"control":1}"#).is_err());
    }
}
