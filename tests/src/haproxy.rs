//! haproxy (Debian's `haproxy`) as a reverse proxy.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{free_port, temp_dir, which, Supervised};

/// How long haproxy may take to accept connections after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a start is tried (another process may grab the port that
/// was free a moment before).
const START_ATTEMPTS: usize = 3;

/// A private haproxy on `127.0.0.1` in HTTP mode, as a reverse proxy in
/// front of one origin server (given to [`start`](Haproxy::start)).
///
/// It runs in the foreground as one process with one thread (`haproxy -f
/// <conf> -db`), with its configuration in a fresh temporary directory;
/// its log (one `option httplog` line per request) goes to its standard
/// error, kept in that directory. It is killed (and the directory removed)
/// on drop.
///
/// Requests go to the origin over keep-alive connections. haproxy passes
/// `Expect: 100-continue` on and relays the origin's `100 Continue`; it
/// writes header names in lower case and drops hop-by-hop fields (such as
/// the origin's `Connection: close`: whether the client connection stays
/// open is haproxy's own decision). `GET /dugong-start-probe` is answered
/// by haproxy itself (`200`, `haproxy`), so the start does not depend on
/// the origin.
#[derive(Debug)]
pub struct Haproxy {
    process: Supervised,
    origin: SocketAddr,
}

impl Haproxy {
    /// Starts haproxy on a free loopback port, forwarding to `origin`, and
    /// waits (at most about 5 s) until it accepts connections.
    ///
    /// Returns `None` only when no `haproxy` binary is found (see
    /// [`which`](crate::which)); panics, with its output, when it is found
    /// but does not start.
    pub fn start(origin: SocketAddr) -> Option<Haproxy> {
        let binary = which("haproxy")?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-haproxy-");
            let base = dir.path().to_owned();
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let config_path = base.join("haproxy.cfg");
            std::fs::write(&config_path, config(&base, port, origin)).expect("write haproxy.cfg");
            let mut command = Command::new(&binary);
            command.arg("-f").arg(&config_path).arg("-db");
            match Supervised::start(command, dir, addr, &[], START_TIMEOUT, "haproxy") {
                Ok(process) => return Some(Haproxy { process, origin }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "haproxy did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The address haproxy listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// The origin server's address, as given to [`start`](Haproxy::start).
    pub fn origin(&self) -> SocketAddr {
        self.origin
    }

    /// `http://127.0.0.1:port` followed by `path` (which should start with
    /// `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// haproxy's output so far, with its request log (for diagnosing a
    /// failing test).
    pub fn log(&self) -> String {
        self.process.logs(&[])
    }
}

/// The configuration: haproxy listening on `127.0.0.1:port` and
/// forwarding to `origin`; `base` holds the pid file.
fn config(base: &Path, port: u16, origin: SocketAddr) -> String {
    let base = base.display();
    format!(
        r#"# Written by dugong-tests.
global
    maxconn 100
    nbthread 1
    pidfile "{base}/haproxy.pid"
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 30s
    timeout http-keep-alive 30s

frontend web
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string "haproxy" if {{ path /dugong-start-probe }}
    default_backend origin

backend origin
    server origin {origin}
"#
    )
}
