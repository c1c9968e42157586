//! Apache httpd 2.4 (Debian's `apache2`, mpm_event) as a real-world peer.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{
    free_port, set_mode, temp_dir, unprivileged_account, which, write_files, Account, Stop,
    Supervised,
};

/// How long Apache may take to accept connections after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a start is tried (another process may grab the port that
/// was free a moment before).
const START_ATTEMPTS: usize = 3;
/// The modules loaded, from Debian's module directory: the event MPM,
/// `Require` (authz_core), `DirectoryIndex` (dir) and content types
/// (mime). Nothing else: no access log, no CGI, no WebDAV.
const MODULES: [(&str, &str); 4] = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("dir_module", "mod_dir.so"),
    ("mime_module", "mod_mime.so"),
];
/// Where Debian installs Apache's modules.
const MODULE_DIR: &str = "/usr/lib/apache2/modules";

/// A private Apache httpd (the `apache2` binary of Debian's package, with
/// the event MPM) on `127.0.0.1`, serving the files given to
/// [`start`](Apache::start).
///
/// It runs in the foreground (`apache2 -f <conf> -d <dir> -DFOREGROUND`)
/// from a self-contained configuration (no file of `/etc/apache2` is
/// read) with its pid file, error log, mutexes and document root in a
/// fresh temporary directory. Apache refuses to serve as root: when the
/// tests run as root, the parent process stays root and its worker
/// process switches to `www-data` (or `nobody`), so the directory is made
/// readable and writable by everyone. On drop it is stopped with `SIGTERM`
/// (its worker process outlives a `SIGKILL` of the parent), then the
/// directory is removed.
///
/// | request | response |
/// | --- | --- |
/// | `GET`/`HEAD /<file>` | the file given to `start`, `Content-Length`, keep-alive without a request limit |
/// | `PUT /<file>` | the default handler reads and drops any request body before it answers: `100 Continue` to a request that expects it, then, after the body, `405 Method Not Allowed` (keep-alive) |
/// | `PUT`/`POST /small/<name>` | `LimitRequestBody 10`, checked against `Content-Length` first: `413 Request Entity Too Large` at once, without `100 Continue`, with `Connection: close` and a body delimited by the close |
/// | anything else | Apache's usual answers (404, ...) |
#[derive(Debug)]
pub struct Apache {
    process: Supervised,
}

impl Apache {
    /// Writes `files` (pairs of a relative path such as `"a.txt"` or
    /// `"dir/b.json"`, and its content) into a fresh document root and starts
    /// Apache on a free loopback port, waiting (at most about 10 s) until
    /// it accepts connections.
    ///
    /// Returns `None` only when no `apache2` binary is found (see
    /// [`which`](crate::which)); panics, with Apache's logs, when it is
    /// found but does not start.
    pub fn start(files: &[(&str, &[u8])]) -> Option<Apache> {
        let binary = which("apache2")?;
        let account = unprivileged_account(&["www-data", "nobody"]);
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-apache-");
            let base = dir.path().to_owned();
            if account.is_some() {
                set_mode(&base, 0o777);
            }
            write_files(&base.join("root"), files, "Apache::start");
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            std::fs::write(base.join("mime.types"), MIME_TYPES).expect("write mime.types");
            let config_path = base.join("httpd.conf");
            std::fs::write(&config_path, config(&base, port, account.as_ref()))
                .expect("write httpd.conf");
            let mut command = Command::new(&binary);
            command
                .arg("-f")
                .arg(&config_path)
                .arg("-d")
                .arg(&base)
                .arg("-DFOREGROUND");
            let logs = [base.join("error.log")];
            match Supervised::start_with(
                command,
                dir,
                addr,
                &logs,
                START_TIMEOUT,
                "apache",
                Stop::Term,
            ) {
                Ok(process) => return Some(Apache { process }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "apache2 did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The address Apache listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// `http://127.0.0.1:port` followed by `path` (which should start with
    /// `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The document root.
    pub fn root(&self) -> PathBuf {
        self.process.dir().join("root")
    }

    /// Apache's error log so far (for diagnosing a failing test).
    pub fn log(&self) -> String {
        self.process.logs(&[self.process.dir().join("error.log")])
    }
}

/// The content types Apache knows (`TypesConfig`); other files are sent
/// without a `Content-Type`.
const MIME_TYPES: &str =
    "text/plain txt\ntext/html html\napplication/json json\napplication/octet-stream bin\n";

/// The configuration: Apache listening on `127.0.0.1:port`, everything
/// it writes under `base`, running its worker as `account` when given.
fn config(base: &Path, port: u16, account: Option<&Account>) -> String {
    let modules: String = MODULES
        .iter()
        .map(|(name, file)| format!("LoadModule {name} {MODULE_DIR}/{file}\n"))
        .collect();
    let user = match account {
        Some(Account { user, group }) => format!("User {user}\nGroup {group}\n"),
        None => String::new(),
    };
    let base = base.display();
    format!(
        r#"# Written by dugong-tests.
ServerRoot "{base}"
ServerName 127.0.0.1
{modules}{user}Listen 127.0.0.1:{port}
PidFile "{base}/httpd.pid"
ErrorLog "{base}/error.log"
LogLevel info
DefaultRuntimeDir "{base}"
Mutex file:{base} default
TypesConfig "{base}/mime.types"

# One worker process with a few threads is plenty for a test.
StartServers 1
ServerLimit 1
ThreadLimit 16
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16

Timeout 30
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30

DocumentRoot "{base}/root"
<Directory />
    Require all denied
</Directory>
<Directory "{base}/root">
    Require all granted
</Directory>

# Checked against Content-Length before the body is read: an over-long
# upload gets 413 and no 100 Continue.
<Location /small/>
    LimitRequestBody 10
</Location>
"#
    )
}
