//! lighttpd (Debian's `lighttpd`) as a real-world peer.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{
    free_port, set_mode, temp_dir, unprivileged_account, which, write_files, Account, Supervised,
};

/// How long lighttpd may take to accept connections after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a start is tried (another process may grab the port that
/// was free a moment before).
const START_ATTEMPTS: usize = 3;

/// The upload script, run by `mod_cgi` with `/bin/sh`: it reads the whole
/// request body and answers `201 Created` with `received <n> bytes`.
const UPLOAD_CGI: &str = r#"n=$(wc -c | tr -d ' ')
printf 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nreceived %s bytes\n' "$n"
"#;

/// A private lighttpd on `127.0.0.1`, serving the files given to
/// [`start`](Lighttpd::start), plus an upload script at
/// `/cgi/upload.sh`.
///
/// It runs in the foreground as one process (`lighttpd -D -f <conf>`) with
/// its configuration, pid file, error log, request-body temporary files
/// and document root in a fresh temporary directory. When the tests run as
/// root it switches to `www-data` (or `nobody`) after binding
/// (`server.username`), so the directory is made readable and writable by
/// everyone. It is killed (and the directory removed) on drop.
///
/// | request | response |
/// | --- | --- |
/// | `GET`/`HEAD /<file>` | the file given to `start`, `Content-Length`, keep-alive (1000 requests per connection) |
/// | `PUT`/`POST /cgi/upload.sh` | lighttpd reads the whole body (sending `100 Continue` first to a request that expects it) before it runs the script: `201 Created`, body `received <n> bytes\n` |
/// | `PUT /<file>` | no module takes `PUT`: `501 Not Implemented` at once, without `100 Continue`, with `Connection: close` |
/// | anything else | lighttpd's usual answers (404, ...) |
#[derive(Debug)]
pub struct Lighttpd {
    process: Supervised,
}

impl Lighttpd {
    /// Writes `files` (pairs of a relative path such as `"a.txt"` or
    /// `"dir/b.json"`, and its content; not under `cgi/`) into a fresh
    /// document root and starts lighttpd on a free loopback port, waiting
    /// (at most about 5 s) until it accepts connections.
    ///
    /// Returns `None` only when no `lighttpd` binary is found (see
    /// [`which`](crate::which)); panics, with its logs, when it is found
    /// but does not start.
    pub fn start(files: &[(&str, &[u8])]) -> Option<Lighttpd> {
        let binary = which("lighttpd")?;
        let account = unprivileged_account(&["www-data", "nobody"]);
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-lighttpd-");
            let base = dir.path().to_owned();
            if account.is_some() {
                set_mode(&base, 0o777);
            }
            let root = base.join("root");
            write_files(&root, files, "Lighttpd::start");
            write_files(
                &root,
                &[("cgi/upload.sh", UPLOAD_CGI.as_bytes())],
                "Lighttpd::start",
            );
            std::fs::create_dir(base.join("upload")).expect("create lighttpd's upload dir");
            set_mode(&base.join("upload"), 0o777);
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let config_path = base.join("lighttpd.conf");
            std::fs::write(&config_path, config(&base, port, account.as_ref()))
                .expect("write lighttpd.conf");
            let mut command = Command::new(&binary);
            command.arg("-D").arg("-f").arg(&config_path);
            let logs = [base.join("error.log")];
            match Supervised::start(command, dir, addr, &logs, START_TIMEOUT, "lighttpd") {
                Ok(process) => return Some(Lighttpd { process }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "lighttpd did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The address lighttpd listens on (`127.0.0.1:port`).
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

    /// lighttpd's output and error log so far (for diagnosing a failing
    /// test).
    pub fn log(&self) -> String {
        self.process.logs(&[self.process.dir().join("error.log")])
    }
}

/// The configuration: lighttpd listening on `127.0.0.1:port`, everything
/// it writes under `base`, switching to `account` when given.
fn config(base: &Path, port: u16, account: Option<&Account>) -> String {
    let user = match account {
        Some(Account { user, group }) => {
            format!("server.username = \"{user}\"\nserver.groupname = \"{group}\"\n")
        }
        None => String::new(),
    };
    let base = base.display();
    format!(
        r#"# Written by dugong-tests.
server.modules += ( "mod_cgi" )
server.document-root = "{base}/root"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{base}/lighttpd.pid"
server.errorlog = "{base}/error.log"
server.upload-dirs = ( "{base}/upload" )
server.max-keep-alive-requests = 1000
server.max-keep-alive-idle = 30
{user}mimetype.assign = (
    ".txt" => "text/plain",
    ".html" => "text/html",
    ".json" => "application/json",
    ".bin" => "application/octet-stream",
)
$HTTP["url"] =~ "^/cgi/" {{
    cgi.assign = ( ".sh" => "/bin/sh" )
}}
"#
    )
}
