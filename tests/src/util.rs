//! Small helpers: ports, temporary directories, finding programs, and
//! running an external server program under supervision.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The environment variable that makes missing peer programs (nginx,
/// tinyproxy, Apache httpd, lighttpd, haproxy, squid) a test failure
/// instead of a skip; see [`require_peer`].
pub const REQUIRE_PEERS_ENV: &str = "DUGONG_REQUIRE_PEERS";

/// Returns a loopback TCP port that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0` and dropping the listener, so
/// another process may take it before the caller binds it; callers that
/// hand the port to an external program retry on a bind failure.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local_addr of a bound listener")
        .port()
}

/// Creates a fresh temporary directory whose name starts with `prefix`; it
/// is removed with everything in it when the returned value is dropped.
pub fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temporary directory")
}

/// Finds an executable program by name in `PATH` and in the `sbin`
/// directories (`/usr/local/sbin`, `/usr/sbin`, `/sbin`), which an ordinary
/// user's `PATH` often lacks (Debian installs nginx in `/usr/sbin`).
pub fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/sbin",
        "/sbin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
    ];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(bin))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether a missing peer program (`name`, e.g. `"nginx"`) must fail the
/// test rather than skip it: true when the environment variable
/// `DUGONG_REQUIRE_PEERS` is set to anything but the empty string or `0`.
///
/// CI sets it, so a broken install step cannot turn the peer tests into
/// silent skips. Tests normally use [`peer_or_skip!`](crate::peer_or_skip)
/// instead of calling this directly.
pub fn require_peer(name: &str) -> bool {
    let _ = name;
    match std::env::var_os(REQUIRE_PEERS_ENV) {
        Some(value) => !value.is_empty() && value != "0",
        None => false,
    }
}

/// Unwraps the `Option` returned by a peer server's `start` (such as
/// [`Nginx::start`](crate::Nginx::start) or
/// [`Proxy::start`](crate::Proxy::start)), or ends the current test early.
///
/// When the peer program is missing, the test panics with a clear message if
/// [`require_peer`](crate::require_peer) says peers are required, and
/// otherwise prints a note and `return`s from the test function (so use it
/// only in functions returning `()`).
///
/// ```no_run
/// use dugong_tests::{peer_or_skip, Nginx};
///
/// let nginx = peer_or_skip!(Nginx::start(&[("a.txt", b"hi")]), "nginx");
/// println!("{}", nginx.url("/a.txt"));
/// ```
#[macro_export]
macro_rules! peer_or_skip {
    ($start:expr, $name:expr) => {
        match $start {
            ::std::option::Option::Some(server) => server,
            ::std::option::Option::None => {
                let name: &str = $name;
                assert!(
                    !$crate::require_peer(name),
                    "{name} is not installed, but {} requires it",
                    $crate::REQUIRE_PEERS_ENV,
                );
                eprintln!("skipping: {name} is not installed");
                return;
            }
        }
    };
}

/// Writes `files` (pairs of a relative path such as `"a.txt"` or
/// `"dir/b.json"`, and its content) under `root`, creating directories as
/// needed; `server` names the caller in the panic for a path that is not
/// relative or has `..`.
///
/// Directories get mode `0o755` and files `0o644` whatever the umask, so a
/// server that switched to an unprivileged user (see
/// [`unprivileged_account`]) can read them.
pub(crate) fn write_files(root: &Path, files: &[(&str, &[u8])], server: &str) {
    std::fs::create_dir_all(root).expect("create a document root");
    set_mode(root, 0o755);
    for (path, content) in files {
        let relative = Path::new(path);
        assert!(
            relative
                .components()
                .all(|component| matches!(component, Component::Normal(_))),
            "{server}: file path {path:?} must be relative, without `..`"
        );
        let target = root.join(relative);
        let mut dir = root.to_owned();
        for component in relative.parent().into_iter().flat_map(Path::components) {
            dir.push(component);
            std::fs::create_dir_all(&dir).expect("create a document directory");
            set_mode(&dir, 0o755);
        }
        std::fs::write(&target, content).expect("write a document");
        set_mode(&target, 0o644);
    }
}

/// Sets the permission bits of `path` (panics on failure: the path was
/// just created by the caller).
pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// A user account and its primary group, by name, for the `User`/`Group`
/// (Apache), `server.username` (lighttpd) or `cache_effective_user`
/// (squid) settings of a server started as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// The user name, such as `www-data`.
    pub(crate) user: String,
    /// The name of the user's primary group, such as `www-data`.
    pub(crate) group: String,
}

/// Whether this process runs as root, by `id -u` (false if `id` fails).
pub(crate) fn running_as_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
    })
}

/// The account a server started by root should switch to: `None` when
/// this process does not run as root (the server then keeps the current
/// user), otherwise the first of `candidates` (such as `["www-data",
/// "nobody"]`) found in `/etc/passwd` whose primary group is in
/// `/etc/group`.
///
/// Such a server may write its logs and pid file as that user: the caller
/// makes the temporary directory writable by everyone (mode `0o777`, with
/// [`set_mode`]) when this returns `Some`. The temporary directory's
/// parents must be searchable by that user, as `/tmp` is.
///
/// # Panics
///
/// When running as root and none of `candidates` exists.
pub(crate) fn unprivileged_account(candidates: &[&str]) -> Option<Account> {
    if !running_as_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    // name:password:id:... in both files; the primary gid is passwd's 4th.
    let field = |line: &str, n: usize| line.split(':').nth(n).map(str::to_owned);
    for candidate in candidates {
        let Some(gid) = passwd
            .lines()
            .find(|line| field(line, 0).as_deref() == Some(*candidate))
            .and_then(|line| field(line, 3))
        else {
            continue;
        };
        if let Some(name) = group
            .lines()
            .find(|line| field(line, 2).as_deref() == Some(gid.as_str()))
            .and_then(|line| field(line, 0))
        {
            return Some(Account {
                user: (*candidate).to_owned(),
                group: name,
            });
        }
    }
    panic!("running as root, and none of the accounts {candidates:?} exists to run a server as");
}

/// How a [`Supervised`] program is stopped on drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `SIGKILL` at once: for programs that run as one process.
    Kill,
    /// `SIGTERM`, then `SIGKILL` if the program has not exited within
    /// [`TERM_TIMEOUT`]: for programs whose children survive their parent's
    /// `SIGKILL` (Apache httpd's worker processes), which stop them when
    /// asked to.
    Term,
}

/// How long a program stopped with [`Stop::Term`] may take to exit.
const TERM_TIMEOUT: Duration = Duration::from_secs(10);

/// An external server program running in its own temporary directory; it
/// is stopped (see [`Stop`]) and reaped on drop, then the directory is
/// removed.
#[derive(Debug)]
pub(crate) struct Supervised {
    child: Child,
    addr: SocketAddr,
    stop: Stop,
    // Dropped after the child is stopped (fields drop after `Drop::drop`).
    dir: TempDir,
}

impl Supervised {
    /// Starts `command` (whose output goes to `output.log` in `dir`) and
    /// waits up to `timeout` until `addr` accepts connections.
    ///
    /// On failure the program is stopped and the error carries its output
    /// and the contents of `logs` (paths of log files it may have written).
    ///
    /// What accepts must be the program itself: a `GET` on the accepted
    /// connection must be answered with `server` (its `Server` field's
    /// product, such as `nginx`) in the answer. Another process that took
    /// the port in the meantime fails the start, and the caller tries again
    /// on another port.
    pub(crate) fn start(
        command: Command,
        dir: TempDir,
        addr: SocketAddr,
        logs: &[PathBuf],
        timeout: Duration,
        server: &str,
    ) -> Result<Supervised, String> {
        Supervised::start_with(command, dir, addr, logs, timeout, server, Stop::Kill)
    }

    /// Like [`start`](Supervised::start), stopping the program the `stop`
    /// way (also when the start fails).
    pub(crate) fn start_with(
        mut command: Command,
        dir: TempDir,
        addr: SocketAddr,
        logs: &[PathBuf],
        timeout: Duration,
        server: &str,
        stop: Stop,
    ) -> Result<Supervised, String> {
        let child = spawn(&mut command, dir.path())?;
        let mut supervised = Supervised {
            child,
            addr,
            stop,
            dir,
        };
        supervised.wait_accepting(&command, logs, timeout, server)?;
        Ok(supervised)
    }

    /// Stops the program (as on drop) and starts `command` in its place,
    /// in the same directory and on the same address, waiting as
    /// [`start`](Supervised::start) does: a server restarted under its
    /// clients.
    pub(crate) fn restart(
        &mut self,
        mut command: Command,
        logs: &[PathBuf],
        timeout: Duration,
        server: &str,
    ) -> Result<(), String> {
        self.stop_program();
        self.child = spawn(&mut command, self.dir.path())?;
        self.wait_accepting(&command, logs, timeout, server)
    }

    /// Waits until the program accepts on its address and answers as
    /// `server`.
    fn wait_accepting(
        &mut self,
        command: &Command,
        logs: &[PathBuf],
        timeout: Duration,
        server: &str,
    ) -> Result<(), String> {
        let addr = self.addr;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{command:?} exited with {status} before accepting on {addr}\n{}",
                    self.logs(logs)
                ));
            }
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                // With nothing listening yet, a connection to a loopback
                // port in the ephemeral range can connect to itself (TCP
                // simultaneous open, source port == the port): that is not
                // the program accepting, and it holds the port it needs.
                if stream.local_addr().ok() != Some(addr) {
                    if answered_by(stream, server) {
                        return Ok(());
                    }
                    return Err(format!(
                        "something other than {command:?} answers on {addr}\n{}",
                        self.logs(logs)
                    ));
                }
            }
            if Instant::now() >= deadline {
                let logs = self.logs(logs);
                return Err(format!(
                    "{command:?} did not accept on {addr} within {timeout:?}\n{logs}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the program: `SIGTERM` first for [`Stop::Term`], else (or if
    /// it does not stop) `SIGKILL`; reaped.
    fn stop_program(&mut self) {
        if self.stop == Stop::Term && self.terminate() {
            return;
        }
        // SIGKILL: the program runs in the foreground as one process (or
        // did not stop when asked to).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends `SIGTERM` (with the shell's `kill`: the standard library only
    /// sends `SIGKILL`, and the workspace forbids `unsafe`) and waits up to
    /// [`TERM_TIMEOUT`] for the program to exit; returns whether it did
    /// (and was reaped).
    fn terminate(&mut self) -> bool {
        if let Ok(Some(_)) = self.child.try_wait() {
            return true;
        }
        let sent = Command::new("sh")
            .arg("-c")
            .arg("kill -TERM \"$1\"")
            .arg("sh")
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !sent {
            return false;
        }
        let deadline = Instant::now() + TERM_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The program's output (`output.log`) and the contents of `logs`, for
    /// a failure message.
    pub(crate) fn logs(&self, logs: &[PathBuf]) -> String {
        let mut text = String::new();
        for path in std::iter::once(self.dir.path().join("output.log")).chain(logs.iter().cloned())
        {
            let content = std::fs::read_to_string(&path).unwrap_or_else(|e| format!("({e})"));
            text.push_str(&format!("--- {} ---\n{content}\n", path.display()));
        }
        text
    }
}

/// Sends a `GET` on `stream` and looks for `server` in the answer (at most
/// 2 s).
fn answered_by(mut stream: TcpStream, server: &str) -> bool {
    use std::io::{Read, Write};

    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /dugong-start-probe HTTP/1.0\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    while answer.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .to_ascii_lowercase()
        .contains(&server.to_ascii_lowercase())
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop_program();
    }
}

/// Spawns `command` with its output to `dir/output.log`.
fn spawn(command: &mut Command, dir: &Path) -> Result<Child, String> {
    let output =
        File::create(dir.join("output.log")).map_err(|e| format!("create output.log: {e}"))?;
    let output2 = output
        .try_clone()
        .map_err(|e| format!("dup output.log: {e}"))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(output2));
    command
        .spawn()
        .map_err(|e| format!("spawn {command:?}: {e}"))
}
