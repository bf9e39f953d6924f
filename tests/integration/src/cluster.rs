//! [`TestCluster`]: a scaled-out deployment on loopback ports, one per test: Redis, two
//! reference server nodes with the Redis adapter (`tests/cluster/node.js`) and nginx in
//! front (`tests/cluster/nginx.conf.template`). See `tests/cluster/README.md`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, Command};
use tokio::time::Instant;

use crate::server::{Program, TestServer};

/// How long Redis or nginx may take to answer after being started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries with fresh ports when a port picked as free was taken in the meantime.
const PORT_TRIES: usize = 5;
/// How long a killed node's port may stay open.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `"$@"` and stops it (SIGTERM) when this shell's stdin closes: when the harness drops
/// the process, or when the test process dies without running any `Drop`.
const WATCHDOG: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
child=$!
(cat <&3 >/dev/null; kill "$child" 2>/dev/null) &
exec 3<&-
wait "$child"
"#;

/// Two reference server nodes (`A` and `B`) sharing a Redis adapter, behind nginx in two
/// routings, everything on ephemeral loopback ports and stopped on `Drop`:
///
/// - [`TestCluster::sticky_url`]: sticky sessions by the routing cookie `srv`, which each
///   node sets on the handshake (`Set-Cookie: srv=A` or `srv=B`); a request without it goes
///   round robin; each node's upstream has the other node as backup.
/// - [`TestCluster::round_robin_url`]: round robin, no stickiness.
///
/// ```no_run
/// # async fn example() {
/// use ferrio_integration_tests::TestCluster;
/// use serde_json::json;
///
/// let cluster = TestCluster::start_with(json!({ "pingInterval": 300 })).await;
/// let url = cluster.sticky_url();
/// cluster.node(0).emit_to_room("/", "lobby", "news", json!(["hi"])).await;
/// cluster.kill_node(0).await;
/// # }
/// ```
pub struct TestCluster {
    // Fields drop in this order: nginx first, Redis last.
    _nginx: Watched,
    nodes: [TestServer; 2],
    killed: [AtomicBool; 2],
    redis: Watched,
    sticky_port: u16,
    round_robin_port: u16,
    dir: tempfile::TempDir,
}

impl TestCluster {
    /// The nodes' names, by index: also the values of their routing cookie `srv`.
    pub const NAMES: [&'static str; 2] = ["A", "B"];

    /// Starts a cluster whose nodes have the reference server's default configuration.
    pub async fn start() -> TestCluster {
        TestCluster::start_with(json!({})).await
    }

    /// Starts a cluster whose nodes have `config` (the reference server's keys, see
    /// `tests/server/README.md`); `cookie` is set by the cluster.
    pub async fn start_with(config: Value) -> TestCluster {
        let dir = tempfile::Builder::new()
            .prefix("ferrio-cluster-")
            .tempdir()
            .expect("temporary directory for the cluster");
        let (redis, redis_port) = start_redis(dir.path()).await;
        let redis_url = format!("redis://127.0.0.1:{redis_port}");
        let (a, b) = tokio::join!(
            start_node(&config, &redis_url, Self::NAMES[0]),
            start_node(&config, &redis_url, Self::NAMES[1]),
        );
        let (nginx, sticky_port, round_robin_port) =
            start_nginx(dir.path(), a.port(), b.port()).await;
        eprintln!(
            "[cluster] redis 127.0.0.1:{redis_port}, node A {} (pid {}), node B {} (pid {}), \
             nginx sticky 127.0.0.1:{sticky_port}, round robin 127.0.0.1:{round_robin_port}, \
             files in {}",
            a.url(),
            a.pid(),
            b.url(),
            b.pid(),
            dir.path().display()
        );
        TestCluster {
            _nginx: nginx,
            nodes: [a, b],
            killed: [AtomicBool::new(false), AtomicBool::new(false)],
            redis,
            sticky_port,
            round_robin_port,
            dir,
        }
    }

    /// nginx with sticky sessions by the routing cookie: `http://127.0.0.1:P`.
    pub fn sticky_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.sticky_port)
    }

    /// nginx with plain round robin: `http://127.0.0.1:P`.
    pub fn round_robin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.round_robin_port)
    }

    /// Node `index` (0: `A`, 1: `B`) with its control channel.
    pub fn node(&self, index: usize) -> &TestServer {
        &self.nodes[index]
    }

    /// Both nodes, `A` then `B`.
    pub fn nodes(&self) -> &[TestServer] {
        &self.nodes
    }

    /// Kills node `index` (SIGKILL, no DISCONNECT packets: a crash) and waits until its port
    /// refuses connections.
    pub async fn kill_node(&self, index: usize) {
        self.killed[index].store(true, Ordering::SeqCst);
        let node = &self.nodes[index];
        node.kill().await;
        // A killed process may linger as a zombie: its port tells whether it is gone.
        let deadline = Instant::now() + KILL_TIMEOUT;
        while port_is_open(node.port()).await {
            assert!(
                Instant::now() < deadline,
                "node {} still listens on {} after {KILL_TIMEOUT:?}",
                Self::NAMES[index],
                node.port()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether node `index` accepts connections on its Socket.IO port.
    pub async fn is_listening(&self, index: usize) -> bool {
        port_is_open(self.nodes[index].port()).await
    }

    /// The index of the live node where the socket `sid` of namespace `/` is connected.
    pub async fn node_of(&self, sid: &str) -> Option<usize> {
        for (index, node) in self.nodes.iter().enumerate() {
            if self.killed[index].load(Ordering::SeqCst) {
                continue;
            }
            let clients = node.clients().await;
            let found = clients["namespaces"]["/"]
                .as_array()
                .is_some_and(|sockets| sockets.iter().any(|s| s["id"] == sid));
            if found {
                return Some(index);
            }
        }
        None
    }

    /// nginx's access log so far: one line per request with its status, the `srv` cookie
    /// it carried and the upstream address that served it.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Redis's port.
    pub fn redis_port(&self) -> u16 {
        self.redis.port
    }
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("sticky", &self.sticky_url())
            .field("round_robin", &self.round_robin_url())
            .field("nodes", &self.nodes)
            .field("redis_port", &self.redis.port)
            .finish()
    }
}

async fn start_node(config: &Value, redis_url: &str, name: &str) -> TestServer {
    let mut config = config.clone();
    config
        .as_object_mut()
        .expect("the cluster configuration must be a JSON object")
        .insert("cookie".to_owned(), json!(format!("srv={name}; Path=/")));
    let cluster = json!({ "redis": redis_url, "name": name }).to_string();
    let program = Program::new("cluster/node.js", vec![cluster]);
    TestServer::launch_program(program, config, None).await
}

async fn start_redis(dir: &Path) -> (Watched, u16) {
    let program = find_program("FERRIO_REDIS_SERVER", "redis-server", "/usr/bin");
    for _ in 0..PORT_TRIES {
        let port = free_port();
        let log = dir.join("redis.log");
        let args = [
            "--port".to_owned(),
            port.to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--save".to_owned(),
            String::new(),
            "--appendonly".to_owned(),
            "no".to_owned(),
            "--daemonize".to_owned(),
            "no".to_owned(),
            "--dir".to_owned(),
            dir.display().to_string(),
            "--pidfile".to_owned(),
            dir.join("redis.pid").display().to_string(),
            "--logfile".to_owned(),
            log.display().to_string(),
        ];
        let mut redis = Watched::spawn("redis", &program, &args, port);
        let ready = redis
            .wait_ready(|| async move { redis_answers_ping(port).await })
            .await;
        match ready {
            Ok(()) => return (redis, port),
            Err(reason) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                eprintln!("[cluster] redis on port {port} did not start ({reason}):\n{log}");
            }
        }
    }
    panic!("redis-server did not start after {PORT_TRIES} tries (see the output above)");
}

async fn start_nginx(dir: &Path, node_a: u16, node_b: u16) -> (Watched, u16, u16) {
    let program = find_program("FERRIO_NGINX", "nginx", "/usr/sbin");
    let template_path = tests_dir().join("cluster").join("nginx.conf.template");
    let template = std::fs::read_to_string(&template_path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", template_path.display()));
    let config_path = dir.join("nginx.conf");
    for _ in 0..PORT_TRIES {
        let (sticky, round_robin) = (free_port(), free_port());
        let config = nginx_config(&template, dir, node_a, node_b, sticky, round_robin);
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let args = [
            "-p".to_owned(),
            format!("{}/", dir.display()),
            "-c".to_owned(),
            config_path.display().to_string(),
            "-e".to_owned(),
            "stderr".to_owned(),
        ];
        let mut nginx = Watched::spawn("nginx", &program, &args, sticky);
        let ready = nginx
            .wait_ready(|| async move {
                nginx_answers(sticky, "sticky").await
                    && nginx_answers(round_robin, "round-robin").await
            })
            .await;
        match ready {
            Ok(()) => return (nginx, sticky, round_robin),
            Err(reason) => eprintln!("[cluster] nginx did not start ({reason}), trying again"),
        }
    }
    panic!("nginx did not start after {PORT_TRIES} tries (see the output above)");
}

/// The nginx configuration of `template` for a cluster whose files are in `dir`.
fn nginx_config(
    template: &str,
    dir: &Path,
    node_a: u16,
    node_b: u16,
    sticky: u16,
    round_robin: u16,
) -> String {
    template
        .replace("{{DIR}}", &dir.display().to_string())
        .replace("{{NODE_A}}", &node_a.to_string())
        .replace("{{NODE_B}}", &node_b.to_string())
        .replace("{{STICKY_PORT}}", &sticky.to_string())
        .replace("{{ROUND_ROBIN_PORT}}", &round_robin.to_string())
}

/// A process (Redis, nginx) under the [`WATCHDOG`] shell, its output forwarded to the
/// test's stderr. Stopped (SIGTERM) when dropped.
struct Watched {
    name: &'static str,
    port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<String>>,
}

impl Watched {
    fn spawn(name: &'static str, program: &Path, args: &[String], port: u16) -> Watched {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("ferrio-watchdog")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let pid = child.id().unwrap_or_default();
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward(stdout, name, pid, output.clone());
        forward(stderr, name, pid, output.clone());
        Watched {
            name,
            port,
            stdin: child.stdin.take(),
            child,
            output,
        }
    }

    /// Waits until `ready()` is true; fails if the process exits first or on timeout.
    async fn wait_ready<F, Fut>(&mut self, ready: F) -> Result<(), String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let output = self.output.lock().map(|o| o.clone()).unwrap_or_default();
                return Err(format!("{} exited with {status}: {output}", self.name));
            }
            if ready().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready within {READY_TIMEOUT:?} (port {})",
                    self.name, self.port
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // The watchdog stops the process once its stdin is closed, and exits.
        self.stdin.take();
    }
}

fn forward(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    name: &'static str,
    pid: u32,
    output: Arc<Mutex<String>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{name} {pid}] {line}");
            if let Ok(mut output) = output.lock() {
                output.push_str(&line);
                output.push('\n');
            }
        }
    });
}

/// `$env` if set, else `name` on the `PATH`, else `dir/name`.
fn find_program(env: &str, name: &str, dir: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    let path = on_path.unwrap_or_else(|| Path::new(dir).join(name));
    assert!(
        path.is_file(),
        "`{name}` is not installed: run `make deps-cluster` (or set {env})"
    );
    path
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

async fn port_is_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

/// One request/answer exchange on a fresh connection; `None` on any failure.
async fn exchange(port: u16, request: &[u8]) -> Option<String> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            let read = stream.read(&mut buffer).await.ok()?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
            if answer.ends_with(b"\r\n") && answer.starts_with(b"+") {
                break;
            }
        }
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}

async fn redis_answers_ping(port: u16) -> bool {
    exchange(port, b"PING\r\n")
        .await
        .is_some_and(|answer| answer.starts_with("+PONG"))
}

/// Whether nginx itself (not a node, not another program on the port) answers
/// `/cluster-ready` with `name`.
async fn nginx_answers(port: u16, name: &str) -> bool {
    let request = b"GET /cluster-ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    exchange(port, request)
        .await
        .is_some_and(|answer| answer.starts_with("HTTP/1.1 200") && answer.ends_with(name))
}

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nginx_template_gets_every_placeholder_filled() {
        let template =
            std::fs::read_to_string(tests_dir().join("cluster").join("nginx.conf.template"))
                .expect("template");
        let config = nginx_config(&template, Path::new("/tmp/x"), 1001, 1002, 1003, 1004);
        assert!(!config.contains("{{"), "{config}");
        assert!(config.contains("server 127.0.0.1:1002 backup;"), "{config}");
        assert!(config.contains("listen 127.0.0.1:1003;"), "{config}");
        assert!(config.contains("listen 127.0.0.1:1004;"), "{config}");
    }
}
