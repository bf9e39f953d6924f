//! Servers started by another process: the `ferrio-test-launcher` side ([`serve`]) and the
//! test side ([`Launched`]).
//!
//! A test binary that cannot start Node itself (a Windows build run by wine: wine starts a
//! Linux program but connects none of its standard streams, and has no `kill`) sets
//! `FERRIO_TEST_LAUNCHER` to the loopback address of a launcher, a Linux process that starts
//! each [`TestServer`](crate::TestServer) for it. One TCP connection per server, one line
//! per message:
//!
//! 1. the test sends the request, a JSON object: `script` (relative to `tests/`), `args`,
//!    `config` and, for TLS, `tls` with the PEM text of the server's `cert` and `key`, and
//!    of `clientCa` when the server requires client certificates (the launcher writes them
//!    to files of its own and points the configuration at them);
//! 2. the launcher answers `READY {"port":P,"control":C,"pid":N}` once the server listens,
//!    or `ERROR <why>`;
//! 3. then each command (`STOP`, `CONT`: the signals; `KILL`: kill and wait for the exit)
//!    is answered `OK` or `ERROR <why>`;
//! 4. when the connection closes (the test dropped the server, or died), the launcher kills
//!    the server.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::sync::Mutex as SyncMutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::server::{parse_ready, ChildServer, Program, Ready, Signal};
use crate::tls::TestCa;

/// The environment variable naming the launcher's address (`127.0.0.1:PORT`).
pub const LAUNCHER_ENV: &str = "FERRIO_TEST_LAUNCHER";

/// How long the launcher may take to start a server (its own wait for `READY` is 30 s).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The launcher's address, when `FERRIO_TEST_LAUNCHER` is set.
pub(crate) fn address() -> Option<String> {
    std::env::var(LAUNCHER_ENV)
        .ok()
        .filter(|address| !address.is_empty())
}

/// Serves launch requests on `listener`, each connection on a task of its own, until
/// accepting fails.
///
/// # Errors
/// The error of `accept`.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(error) = session(stream).await {
                eprintln!("[launcher] connection lost: {error}");
            }
        });
    }
}

/// One server's connection: starts it, runs its commands, kills it at the end.
async fn session(stream: TcpStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Some(request) = lines.next_line().await? else {
        return Ok(());
    };
    // `ChildServer::spawn` panics with the server's stderr when it does not start.
    let started = tokio::spawn(start(request)).await;
    let (server, ready, _tls_dir) = match started {
        Ok(Ok(started)) => started,
        Ok(Err(why)) => return answer(&mut write, &format!("ERROR {why}")).await,
        Err(error) => return answer(&mut write, &format!("ERROR {}", panic_text(error))).await,
    };
    let ready = json!({ "port": ready.port, "control": ready.control, "pid": server.pid });
    answer(&mut write, &format!("READY {ready}")).await?;
    while let Some(command) = lines.next_line().await? {
        match command.as_str() {
            "STOP" => server.signal(Signal::Stop),
            "CONT" => server.signal(Signal::Cont),
            "KILL" => server.kill().await,
            other => {
                answer(&mut write, &format!("ERROR unknown command {other:?}")).await?;
                continue;
            }
        }
        answer(&mut write, "OK").await?;
    }
    Ok(())
}

/// Starts the server a request asks for; the directory holds its TLS files.
async fn start(request: String) -> Result<(ChildServer, Ready, Option<tempfile::TempDir>), String> {
    let request: Value =
        serde_json::from_str(&request).map_err(|error| format!("bad request: {error}"))?;
    let script = request["script"]
        .as_str()
        .ok_or("the request has no `script`")?;
    let args = match &request["args"] {
        Value::Array(args) => args
            .iter()
            .map(|arg| arg.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("`args` must be strings")?,
        _ => Vec::new(),
    };
    let mut config = request["config"].clone();
    if !config.is_object() {
        return Err("the request has no `config` object".to_owned());
    }
    let tls_dir = match &request["tls"] {
        Value::Null => None,
        tls => {
            let dir = tempfile::Builder::new()
                .prefix("ferrio-launcher-tls-")
                .tempdir()
                .map_err(|error| format!("no directory for the TLS files: {error}"))?;
            let mut paths = serde_json::Map::new();
            for key in ["cert", "key", "clientCa"] {
                if key == "clientCa" && tls[key].is_null() {
                    continue;
                }
                let pem = tls[key]
                    .as_str()
                    .ok_or_else(|| format!("`tls.{key}` must be PEM text"))?;
                let path = dir.path().join(format!("{key}.pem"));
                std::fs::write(&path, pem)
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                paths.insert(key.to_owned(), json!(path));
            }
            config["tls"] = Value::Object(paths);
            Some(dir)
        }
    };
    let (server, ready) = ChildServer::spawn(&Program::new(script, args), &config).await;
    Ok((server, ready, tls_dir))
}

async fn answer(write: &mut (impl AsyncWriteExt + Unpin), line: &str) -> std::io::Result<()> {
    // One line per message: a multi-line reason is joined.
    let line = line.replace('\n', " | ");
    write.write_all(format!("{line}\n").as_bytes()).await
}

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "the start panicked".to_owned()),
        Err(error) => error.to_string(),
    }
}

/// A server a launcher started for this process; killed when dropped (the connection
/// closes).
pub(crate) struct Launched {
    pid: u32,
    connection: SyncMutex<std::io::BufReader<std::net::TcpStream>>,
}

impl Launched {
    /// Asks the launcher at `address` to start `program` with `config` (whose `tls`, if any,
    /// names the files of `ca`'s server certificate). Panics with the launcher's reason if
    /// the server does not start.
    pub(crate) async fn start(
        address: &str,
        program: &Program,
        config: &Value,
        ca: Option<&TestCa>,
    ) -> (Launched, Ready) {
        let mut request = json!({
            "script": program.script,
            "args": program.extra_args,
            "config": config,
        });
        if let Some(ca) = ca {
            request["tls"] = json!({
                "cert": read(&ca.server_cert_path()),
                "key": read(&ca.server_key_path()),
            });
            if config["tls"]["clientCa"].is_string() {
                request["tls"]["clientCa"] = json!(read(&ca.ca_pem_path()));
            }
        }
        let stream = TcpStream::connect(address).await.unwrap_or_else(|error| {
            panic!("cannot reach the server launcher at {address} ({LAUNCHER_ENV}): {error}")
        });
        let mut stream = BufReader::new(stream);
        let mut line = String::new();
        let exchange = async {
            stream
                .get_mut()
                .write_all(format!("{request}\n").as_bytes())
                .await?;
            stream.read_line(&mut line).await
        };
        match tokio::time::timeout(START_TIMEOUT, exchange).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("the server launcher at {address} failed: {error}"),
            Err(_) => panic!("the server launcher started no server within {START_TIMEOUT:?}"),
        }
        let line = line.trim_end();
        if let Some(why) = line.strip_prefix("ERROR ") {
            panic!("the test server (config {config}) did not start: {why}");
        }
        let ready = parse_ready(line)
            .unwrap_or_else(|why| panic!("the server launcher answered {line:?}: {why}"));
        let pid = serde_json::from_str::<Value>(line.trim_start_matches("READY "))
            .ok()
            .and_then(|ready| ready["pid"].as_u64())
            .and_then(|pid| u32::try_from(pid).ok())
            .unwrap_or_else(|| panic!("the server launcher's READY line has no pid: {line:?}"));
        // The launcher says nothing more until asked: no buffered bytes are dropped here.
        let stream = stream
            .into_inner()
            .into_std()
            .and_then(|stream| stream.set_nonblocking(false).map(|()| stream))
            .unwrap_or_else(|error| panic!("the launcher connection: {error}"));
        let launched = Launched {
            pid,
            connection: SyncMutex::new(std::io::BufReader::new(stream)),
        };
        (launched, ready)
    }

    /// The server's process id (on the launcher's side).
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` to the server.
    pub(crate) fn signal(&self, signal: Signal) {
        self.command(signal.name());
    }

    /// Kills the server and waits for it to exit.
    pub(crate) fn kill(&self) {
        self.command("KILL");
    }

    fn command(&self, command: &str) {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut line = String::new();
        let result = writeln!(connection.get_mut(), "{command}")
            .and_then(|()| connection.read_line(&mut line));
        match result {
            Ok(_) if line.trim_end() == "OK" => {}
            Ok(0) => panic!("`{command}`: the server launcher closed the connection"),
            Ok(_) => panic!("`{command}`: the server launcher answered {line:?}"),
            Err(error) => panic!("`{command}`: the server launcher failed: {error}"),
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}
