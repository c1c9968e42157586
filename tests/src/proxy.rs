//! tinyproxy as a real HTTP proxy.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{free_port, temp_dir, which, Supervised};

const START_TIMEOUT: Duration = Duration::from_secs(5);
const START_ATTEMPTS: usize = 3;

/// A private tinyproxy (Debian's `tinyproxy` package) on `127.0.0.1`, run in
/// the foreground (`tinyproxy -d -c <conf>`) with its configuration, log
/// and pid file in a fresh temporary directory; killed on drop.
///
/// It forwards absolute-form requests (`GET http://host:port/path
/// HTTP/1.1`) and opens `CONNECT host:port` tunnels to any port (its
/// configuration has no `ConnectPort` line, which allows every port),
/// answering `HTTP/1.0 200 Connection established`. Only clients on
/// 127.0.0.1 are allowed. tinyproxy adds a `Via` header to forwarded
/// responses and closes the client connection after each forwarded
/// request.
#[derive(Debug)]
pub struct Proxy {
    process: Supervised,
}

impl Proxy {
    /// Starts tinyproxy on a free loopback port, waiting (at most about
    /// 5 s) until it accepts connections.
    ///
    /// Returns `None` only when no `tinyproxy` binary is found (see
    /// [`which`](crate::which)); panics, with its log, when it is found but
    /// does not start.
    pub fn start() -> Option<Proxy> {
        let binary = which("tinyproxy")?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-tinyproxy-");
            let base = dir.path().to_owned();
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let config_path = base.join("tinyproxy.conf");
            std::fs::write(&config_path, config(&base, port)).expect("write tinyproxy.conf");
            let mut command = Command::new(&binary);
            command.arg("-d").arg("-c").arg(&config_path);
            let log = base.join("tinyproxy.log");
            match Supervised::start(command, dir, addr, &[log], START_TIMEOUT, "tinyproxy") {
                Ok(process) => return Some(Proxy { process }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "tinyproxy did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The address the proxy listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// The proxy URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The proxy's log so far (for diagnosing a failing test).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.process.dir().join("tinyproxy.log")).unwrap_or_default()
    }
}

fn config(base: &Path, port: u16) -> String {
    let base = base.display();
    // No `User`/`Group`: tinyproxy then keeps the current user (root in CI,
    // with a warning), so it can write the log and pid file in the
    // temporary directory. No `ConnectPort`: CONNECT to every port.
    format!(
        r#"# Written by dugong-tests.
Port {port}
Listen 127.0.0.1
Allow 127.0.0.1
Timeout 30
MaxClients 20
LogFile "{base}/tinyproxy.log"
LogLevel Info
PidFile "{base}/tinyproxy.pid"
"#
    )
}
