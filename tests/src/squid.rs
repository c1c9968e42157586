//! squid (Debian's `squid`) as a forward proxy.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{
    free_port, set_mode, temp_dir, unprivileged_account, which, Account, Supervised,
};

/// How long squid may take to accept connections after it is started (it
/// usually takes well under a second here, but several on a loaded
/// machine).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many times a start is tried (another process may grab the port that
/// was free a moment before).
const START_ATTEMPTS: usize = 3;

/// A private squid on `127.0.0.1`, a forward proxy that lets clients on
/// 127.0.0.1 reach one origin server (given to [`start`](Squid::start))
/// and nothing else.
///
/// It runs in the foreground as one process (`squid -N -f <conf>`) from a
/// minimal configuration: no cache directory and nothing cached, no
/// pinger, its pid file, cache log and access log in a fresh temporary
/// directory. When the tests run as root it switches to the `proxy` user
/// (`cache_effective_user`; `nobody` when there is none), so the directory
/// is made writable by everyone. It is killed (and the directory removed)
/// on drop.
///
/// It forwards absolute-form requests (`GET http://127.0.0.1:port/path
/// HTTP/1.1`) to the origin only: another address or port is refused
/// (`403`; squid's default `Safe_ports` would also refuse the origin's
/// ephemeral port, so the configuration has none). It keeps client
/// connections alive, adds `Via: 1.1 dugong-squid (squid/<version>)` and
/// `X-Cache` fields, passes `Expect: 100-continue` on and relays the
/// origin's `100 Continue`. A request that is not absolute-form, such as
/// `GET /dugong-start-probe`, gets squid's own `400` page.
#[derive(Debug)]
pub struct Squid {
    process: Supervised,
    origin: SocketAddr,
}

impl Squid {
    /// Starts squid on a free loopback port, allowing requests to
    /// `origin`, and waits (at most about 20 s) until it accepts
    /// connections.
    ///
    /// Returns `None` only when no `squid` binary is found (see
    /// [`which`](crate::which)); panics, with its logs, when it is found
    /// but does not start.
    pub fn start(origin: SocketAddr) -> Option<Squid> {
        let binary = which("squid")?;
        let account = unprivileged_account(&["proxy", "nobody"]);
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-squid-");
            let base = dir.path().to_owned();
            if account.is_some() {
                set_mode(&base, 0o777);
            }
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let config_path = base.join("squid.conf");
            std::fs::write(&config_path, config(&base, port, origin, account.as_ref()))
                .expect("write squid.conf");
            let mut command = Command::new(&binary);
            command.arg("-N").arg("-f").arg(&config_path);
            let logs = [base.join("cache.log")];
            match Supervised::start(command, dir, addr, &logs, START_TIMEOUT, "squid") {
                Ok(process) => return Some(Squid { process, origin }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "squid did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The address squid listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// The origin server's address, as given to [`start`](Squid::start).
    pub fn origin(&self) -> SocketAddr {
        self.origin
    }

    /// The proxy URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// squid's output, cache log and access log so far (for diagnosing a
    /// failing test).
    pub fn log(&self) -> String {
        let dir = self.process.dir();
        self.process
            .logs(&[dir.join("cache.log"), dir.join("access.log")])
    }
}

/// The configuration: squid listening on `127.0.0.1:port`, allowing
/// 127.0.0.1 to reach `origin` only, everything it writes under `base`,
/// switching to `account` when given.
fn config(base: &Path, port: u16, origin: SocketAddr, account: Option<&Account>) -> String {
    let user = match account {
        Some(Account { user, .. }) => format!("cache_effective_user {user}\n"),
        None => String::new(),
    };
    let base = base.display();
    let origin_ip = origin.ip();
    let origin_port = origin.port();
    // The ACL names are our own: squid predefines `localhost` (and warns
    // when a configuration adds 127.0.0.1 to it again).
    format!(
        r#"# Written by dugong-tests.
http_port 127.0.0.1:{port}
visible_hostname dugong-squid
{user}pid_filename {base}/squid.pid
cache_log {base}/cache.log
access_log stdio:{base}/access.log
cache_store_log none
coredump_dir {base}
cache deny all
cache_mem 0 MB
pinger_enable off
netdb_filename none
shutdown_lifetime 0 seconds

acl dugong_client src 127.0.0.1/32
acl dugong_origin dst {origin_ip}/32
acl dugong_origin_port port {origin_port}
http_access allow dugong_client dugong_origin dugong_origin_port
http_access deny all
"#
    )
}
