//! Real proxies from Debian for the proxy tests: tinyproxy and squid (HTTP: `CONNECT` and
//! plain proxying) and microsocks (SOCKS5), each started on an ephemeral loopback port with
//! a configuration generated in a temporary directory, and killed on `Drop`.
//!
//! Every proxy connects out from `127.0.0.2`, so the server's record of the addresses it
//! accepted ([`TestServer::peers`](crate::TestServer::peers)) proves that a client came
//! through the proxy: a direct connection comes from `127.0.0.1`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, Command};

/// The address every test proxy connects out from.
pub const PROXY_OUTGOING_ADDRESS: &str = "127.0.0.2";

/// Runs the proxy (`"$@"`) and kills it once this script's stdin, a pipe from the test
/// process, closes: on `Drop`, and when the test process dies, so that no proxy outlives
/// its test. The shell exits when the proxy does (a failed start is seen at once).
const GUARD_SCRIPT: &str = r#"exec 3<&0; "$@" </dev/null & child=$!; (cat <&3 >/dev/null; kill -KILL "$child" 2>/dev/null) & exec 3<&-; wait "$child""#;

/// How long a proxy gets to listen after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried before giving up (another process may take the one picked).
const START_ATTEMPTS: usize = 5;

/// Which proxy to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// tinyproxy (HTTP; closes every plainly proxied connection after its response,
    /// without saying so).
    Tinyproxy,
    /// squid (HTTP).
    Squid,
    /// microsocks (SOCKS5).
    Microsocks,
}

impl ProxyKind {
    fn program(self) -> &'static str {
        match self {
            Self::Tinyproxy => "tinyproxy",
            Self::Squid => "squid",
            Self::Microsocks => "microsocks",
        }
    }

    /// The Debian package holding the program.
    fn package(self) -> &'static str {
        self.program()
    }
}

impl fmt::Display for ProxyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// A running proxy on `127.0.0.1:<port>`, killed on `Drop`.
pub struct TestProxy {
    kind: ProxyKind,
    port: u16,
    credentials: Option<(String, String)>,
    child: Child,
    /// The guard's stdin: dropping it stops the proxy.
    _guard: ChildStdin,
    dir: TempDir,
}

impl TestProxy {
    /// Starts `kind` without authentication.
    ///
    /// # Panics
    /// When the program is not installed (the message says which Debian package to
    /// install; `make test-rust` installs them), or it does not listen within 30 s.
    pub async fn start(kind: ProxyKind) -> TestProxy {
        Self::start_inner(kind, None).await
    }

    /// Starts `kind` accepting only `user:password` (tinyproxy and squid: Basic
    /// `Proxy-Authorization`; tinyproxy's configuration takes letters, digits and `-._`
    /// only, squid checks an htpasswd file made with `openssl passwd -apr1`; microsocks:
    /// SOCKS5 username/password).
    ///
    /// # Panics
    /// As [`TestProxy::start`], and for squid when `openssl` is missing.
    pub async fn start_with_credentials(kind: ProxyKind, user: &str, password: &str) -> TestProxy {
        Self::start_inner(kind, Some((user.to_owned(), password.to_owned()))).await
    }

    async fn start_inner(kind: ProxyKind, credentials: Option<(String, String)>) -> TestProxy {
        let program = find_program(kind);
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix(&format!("ferrio-{kind}-"))
                .tempdir()
                .expect("a temporary directory");
            let port = free_port().await;
            let mut command = command(kind, &program, dir.path(), port, credentials.as_ref());
            let output = dir.path().join("output.log");
            let log = std::fs::File::create(&output).expect("the proxy's output file");
            command
                .stdin(Stdio::piped())
                .stdout(log.try_clone().expect("output file"))
                .stderr(log)
                .kill_on_drop(true);
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
            let guard = child.stdin.take().expect("the guard's stdin");
            match wait_listening(&mut child, port).await {
                Ok(()) => {
                    return TestProxy {
                        kind,
                        port,
                        credentials,
                        child,
                        _guard: guard,
                        dir,
                    }
                }
                Err(error) => {
                    let _ = child.kill().await;
                    if kind == ProxyKind::Squid {
                        remove_squid_segments(port);
                    }
                    let output = logs(dir.path());
                    last_error = format!("{error}; its output and logs:\n{output}");
                    // A port taken meanwhile: try another one. Anything else is fatal.
                    let port_taken = ["in use", "bind", "Bind"]
                        .iter()
                        .any(|text| output.contains(text));
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        panic!("{kind} did not start: {last_error}");
    }

    /// Which proxy this is.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy's URL (`http://` or `socks5h://`), with its credentials if it has some.
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::Tinyproxy | ProxyKind::Squid => "http",
            ProxyKind::Microsocks => "socks5h",
        };
        self.url_with_scheme(scheme)
    }

    /// The proxy's URL with another scheme (`socks5://` for local DNS), credentials kept.
    pub fn url_with_scheme(&self, scheme: &str) -> String {
        match &self.credentials {
            Some((user, password)) => {
                format!("{scheme}://{user}:{password}@127.0.0.1:{}", self.port)
            }
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// The proxy's URL with other credentials (to test a refusal).
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        let scheme = self.url();
        let scheme = scheme.split("://").next().unwrap_or("http");
        format!("{scheme}://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// What the proxy logged so far (its log file, its output).
    pub fn log(&self) -> String {
        logs(self.dir.path())
    }

    /// Whether the proxy is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// What a proxy wrote in `dir`: its log files and its output, one after the other.
fn logs(dir: &Path) -> String {
    let mut text = String::new();
    for name in ["proxy.log", "access.log", "cache.log", "output.log"] {
        if let Ok(part) = std::fs::read_to_string(dir.join(name)) {
            text.push_str(&part);
        }
    }
    text
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if self.kind == ProxyKind::Squid {
            remove_squid_segments(self.port);
        }
    }
}

/// The program's path, or a panic saying which package to install.
fn find_program(kind: ProxyKind) -> PathBuf {
    let name = kind.program();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: `apt-get install {}` (make test-rust installs it)",
                kind.package()
            )
        })
}

/// A port free right now (bound to 0, then released).
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    listener.local_addr().expect("address").port()
}

/// The command line of `kind` listening on `port`, its files in `dir`.
fn command(
    kind: ProxyKind,
    program: &Path,
    dir: &Path,
    port: u16,
    credentials: Option<&(String, String)>,
) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(GUARD_SCRIPT).arg("sh").arg(program);
    match kind {
        ProxyKind::Tinyproxy => {
            let mut config = format!(
                "Port {port}\nListen 127.0.0.1\nBind {PROXY_OUTGOING_ADDRESS}\nTimeout 60\n\
                 LogFile \"{}\"\nLogLevel Info\nMaxClients 64\nAllow 127.0.0.1\n",
                dir.join("proxy.log").display()
            );
            if let Some((user, password)) = credentials {
                config.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let file = dir.join("tinyproxy.conf");
            std::fs::write(&file, config).expect("write tinyproxy.conf");
            command.arg("-d").arg("-c").arg(file);
        }
        ProxyKind::Squid => {
            // squid started as root runs as `cache_effective_user` (Debian's `proxy`),
            // which must write its logs here; started as another user it stays that user.
            set_mode(dir, 0o777);
            let access = match credentials {
                None => "http_access allow all\n".to_owned(),
                Some((user, password)) => {
                    let passwords = dir.join("passwords");
                    std::fs::write(&passwords, format!("{user}:{}\n", apr1(password)))
                        .expect("write the squid password file");
                    set_mode(&passwords, 0o644);
                    format!(
                        "auth_param basic program {SQUID_BASIC_AUTH} {}\n\
                         auth_param basic children 1\n\
                         auth_param basic realm ferrio\n\
                         acl authenticated proxy_auth REQUIRED\n\
                         http_access allow authenticated\n\
                         http_access deny all\n",
                        passwords.display()
                    )
                }
            };
            let config = format!(
                "http_port 127.0.0.1:{port}\n\
                 tcp_outgoing_address {PROXY_OUTGOING_ADDRESS}\n\
                 {access}\
                 cache deny all\n\
                 cache_mem 8 MB\n\
                 access_log stdio:{dir}/access.log\n\
                 cache_log {dir}/cache.log\n\
                 cache_store_log none\n\
                 pid_filename {dir}/squid.pid\n\
                 coredump_dir {dir}\n\
                 pinger_enable off\n\
                 shutdown_lifetime 0 seconds\n\
                 cache_effective_user proxy\n",
                dir = dir.display()
            );
            let file = dir.join("squid.conf");
            std::fs::write(&file, config).expect("write squid.conf");
            set_mode(&file, 0o644);
            // `-n`: the instance's name, which names its shared memory segments
            // (`/dev/shm/<name>-cf__*.shm`): two squids of one name collide there
            // ("shm_open … File exists") and the second exits.
            command
                .arg("-N")
                .arg("-n")
                .arg(squid_service_name(port))
                .arg("-f")
                .arg(file);
        }
        ProxyKind::Microsocks => {
            command
                .arg("-i")
                .arg("127.0.0.1")
                .arg("-p")
                .arg(port.to_string())
                .arg("-b")
                .arg(PROXY_OUTGOING_ADDRESS);
            if let Some((user, password)) = credentials {
                command.arg("-u").arg(user).arg("-P").arg(password);
            }
        }
    }
    command
}

/// The name of the squid instance listening on `port`, unique on this machine while it runs.
fn squid_service_name(port: u16) -> String {
    format!("ferrio{}p{port}", std::process::id())
}

/// Removes the shared memory segments of the squid instance on `port`: squid removes them
/// when it shuts down, but the proxy is killed.
fn remove_squid_segments(port: u16) {
    let prefix = format!("{}-", squid_service_name(port));
    let Ok(entries) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// squid's helper checking Basic credentials against an htpasswd file (Debian's path).
const SQUID_BASIC_AUTH: &str = "/usr/lib/squid/basic_ncsa_auth";

/// `password` hashed for an htpasswd file (`$apr1$…`), by `openssl passwd`.
fn apr1(password: &str) -> String {
    let output = std::process::Command::new("openssl")
        .args(["passwd", "-apr1", password])
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl (apt-get install openssl) hashes squid's password: {e}")
        });
    assert!(output.status.success(), "openssl passwd failed: {output:?}");
    String::from_utf8(output.stdout)
        .expect("a UTF-8 hash")
        .trim()
        .to_owned()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Waits until something accepts connections on `port`, or the child exits.
async fn wait_listening(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status})"));
        }
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nothing listens on port {port} after {START_TIMEOUT:?}"
            ));
        }
        // Nothing to wait on but the port itself: retry, backing off to 100 ms.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
