//! nginx (Debian's `nginx-light`) as a real-world peer.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{free_port, temp_dir, which, write_files, Supervised};

/// How long nginx may take to accept connections after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a start is tried (another process may grab the port that
/// was free a moment before).
const START_ATTEMPTS: usize = 3;

/// A private nginx (the `nginx` binary of Debian's `nginx-light` package)
/// on `127.0.0.1`, serving the files given to [`start`](Nginx::start). It
/// runs as a single foreground process (`daemon off; master_process off`)
/// with its configuration, logs, pid file, temporary files and document root
/// in a fresh temporary directory, and is killed (and the directory removed)
/// on drop.
///
/// Locations:
///
/// | request | response |
/// | --- | --- |
/// | `GET`/`HEAD /<file>` | the file given to `start`, `Content-Length`, keep-alive (100000 requests per connection) |
/// | `PUT /upload/<name>` | nginx reads the body (up to 1 MiB) and stores it (WebDAV `PUT`), answering `201 Created` (`204 No Content` when the file existed); a request with `Expect: 100-continue` gets `HTTP/1.1 100 Continue` when nginx starts reading the body; chunked request bodies work too |
/// | `PUT /small/<name>` | the same with a 10-byte limit: a request whose `Content-Length` is over 10 gets `413 Request Entity Too Large` (and `Connection: close`) without `100 Continue`, even when it expects one |
/// | anything else | nginx's usual answers (404, 405 for `POST` to a file, ...) |
#[derive(Debug)]
pub struct Nginx {
    process: Supervised,
    binary: std::path::PathBuf,
}

impl Nginx {
    /// Writes `files` (pairs of a relative path such as `"a.txt"` or
    /// `"dir/b.json"`, and its content) into a fresh document root and starts
    /// nginx on a free loopback port, waiting (at most about 5 s) until it
    /// accepts connections.
    ///
    /// Returns `None` only when no `nginx` binary is found (see
    /// [`which`](crate::which)); panics, with nginx's logs, when it is found
    /// but does not start.
    pub fn start(files: &[(&str, &[u8])]) -> Option<Nginx> {
        let binary = which("nginx")?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = temp_dir("dugong-nginx-");
            let base = dir.path().to_owned();
            for sub in ["root/upload", "root/small", "tmp"] {
                std::fs::create_dir_all(base.join(sub)).expect("create nginx directories");
            }
            write_files(&base.join("root"), files, "Nginx::start");
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let config = config(&base, port);
            let config_path = base.join("nginx.conf");
            std::fs::write(&config_path, config).expect("write nginx.conf");
            let error_log = base.join("error.log");
            let command = command(&binary, &base);
            match Supervised::start(command, dir, addr, &[error_log], START_TIMEOUT, "nginx") {
                Ok(process) => return Some(Nginx { process, binary }),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "nginx did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// Kills nginx and starts it again on the same port with the same
    /// files, waiting until it accepts: every connection to it is cut (a
    /// server restarted under its clients).
    ///
    /// # Panics
    ///
    /// If nginx does not start again (with its logs).
    pub fn restart(&mut self) {
        let base = self.process.dir().to_owned();
        let error_log = base.join("error.log");
        if let Err(failure) = self.process.restart(
            command(&self.binary, &base),
            &[error_log],
            START_TIMEOUT,
            "nginx",
        ) {
            panic!("nginx did not start again: {failure}");
        }
    }

    /// Every request nginx logged so far, as `(method, target)`, oldest
    /// first (its access log: one line per request it answered, across
    /// restarts).
    pub fn requests(&self) -> Vec<(String, String)> {
        let log =
            std::fs::read_to_string(self.process.dir().join("access.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let request = line.split('"').nth(1)?;
                let mut words = request.split(' ');
                Some((words.next()?.to_owned(), words.next()?.to_owned()))
            })
            .collect()
    }

    /// The address nginx listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// The authority `127.0.0.1:port`.
    pub fn authority(&self) -> String {
        self.addr().to_string()
    }

    /// `http://127.0.0.1:port` followed by `path` (which should start with
    /// `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The document root (files uploaded to `/upload/<name>` land in its
    /// `upload` directory).
    pub fn root(&self) -> std::path::PathBuf {
        self.process.dir().join("root")
    }
}

/// The command that runs nginx with the configuration in `base`.
fn command(binary: &Path, base: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(base)
        .arg("-c")
        .arg(base.join("nginx.conf"))
        // `-e` (nginx >= 1.19.5) sets the error log used while the
        // configuration is read, instead of the built-in path.
        .arg("-e")
        .arg(base.join("error.log"));
    command
}

fn config(base: &Path, port: u16) -> String {
    let base = base.display();
    format!(
        r#"# Written by dugong-tests.
daemon off;
master_process off;
worker_processes 1;
pid "{base}/nginx.pid";
error_log "{base}/error.log" info;

events {{
    worker_connections 256;
}}

http {{
    access_log "{base}/access.log";
    client_body_temp_path "{base}/tmp/body";
    proxy_temp_path "{base}/tmp/proxy";
    fastcgi_temp_path "{base}/tmp/fastcgi";
    uwsgi_temp_path "{base}/tmp/uwsgi";
    scgi_temp_path "{base}/tmp/scgi";
    keepalive_requests 100000;
    keepalive_timeout 60s;
    types {{
        text/plain txt;
        text/html html;
        application/json json;
    }}
    default_type application/octet-stream;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root "{base}/root";

        # WebDAV PUT reads the request body, and nginx sends
        # "100 Continue" when it starts reading a body that is expected.
        location /upload/ {{
            client_max_body_size 1m;
            dav_methods PUT;
            create_full_put_path on;
        }}

        # The body size limit is checked against Content-Length before the
        # body is read, so an over-long upload gets 413 and no 100.
        location /small/ {{
            client_max_body_size 10;
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"#
    )
}
