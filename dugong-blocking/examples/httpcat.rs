//! Fetches URLs and writes their bodies to stdout, pipelining the requests
//! that go to the same server over one connection.
//!
//! ```text
//! cargo run -q -p dugong-blocking --example httpcat -- [--timeout SECS] [--proxy URL] [--cacert PEM] [--head] URL...
//! ```
//!
//! Every request is sent before the first response is awaited, and every
//! connection is closed with `close` after its last response. The exit
//! status is 0 only if every response arrived complete and no server sent
//! more than it was asked for (a response to no request is an `invalid
//! response`); otherwise one line on stderr names what went wrong
//! (`connection closed`, `invalid response`, `unsupported response`,
//! `response too large`, `timed out`, `host not found`, `tls`, ...). Without `--proxy`, `http_proxy`,
//! `https_proxy` and `no_proxy` are honoured. With `--head`, HEAD requests
//! are sent and the response heads printed instead of bodies. A long
//! download shows its progress on stderr when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dugong_blocking::dugong_net::tls::config_with_roots_pem;
use dugong_blocking::{Body, Builder, Connection, Error, Proxy, Url};

struct Options {
    timeout: Option<Duration>,
    proxy: Option<Proxy>,
    cacert: Option<Vec<u8>>,
    head: bool,
    urls: Vec<Url>,
}

const USAGE: &str = "usage: httpcat [--timeout SECS] [--proxy URL] [--cacert PEM] [--head] URL...";

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        timeout: None,
        proxy: None,
        cacert: None,
        head: false,
        urls: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--timeout" => {
                let secs: f64 = value("--timeout")?
                    .parse()
                    .map_err(|_| "--timeout takes a number of seconds".to_owned())?;
                if !(secs > 0.0 && secs.is_finite()) {
                    return Err("--timeout must be positive".into());
                }
                options.timeout = Some(Duration::from_secs_f64(secs));
            }
            "--proxy" => {
                let url = value("--proxy")?;
                options.proxy = Some(Proxy::parse(&url).map_err(|e| e.to_string())?);
            }
            "--cacert" => {
                let path = value("--cacert")?;
                let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
                options.cacert = Some(pem);
            }
            "--head" => options.head = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            url => options
                .urls
                .push(Url::parse(url).map_err(|e| e.to_string())?),
        }
    }
    if options.urls.is_empty() {
        return Err("no URL given".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("httpcat: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err((url, e)) => {
            eprintln!("httpcat: {url}: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

/// One connection per scheme, host and port, in order of first use.
struct Origin {
    url: Url,
    conn: Option<Connection>,
}

fn run(options: &Options) -> Result<(), (String, Error)> {
    let mut origins: Vec<Origin> = Vec::new();
    let mut route = Vec::new();
    for url in &options.urls {
        let index = match origins.iter().position(|o| o.url.same_origin(url)) {
            Some(i) => i,
            None => {
                origins.push(Origin {
                    url: url.clone(),
                    conn: None,
                });
                origins.len() - 1
            }
        };
        route.push(index);
    }
    let method = if options.head { "HEAD" } else { "GET" };
    // Send everything first.
    for (url, &index) in options.urls.iter().zip(&route) {
        let failed = |e| (url.to_string(), e);
        let origin = &mut origins[index];
        if origin.conn.is_none() {
            origin.conn = Some(connect(options, url).map_err(failed)?);
        }
        if let Some(conn) = origin.conn.as_mut() {
            conn.send_request(method, url.target(), [("Accept", "*/*")], Body::Empty)
                .map_err(failed)?;
        }
    }
    // Then read the responses in the order of the URLs.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (url, &index) in options.urls.iter().zip(&route) {
        let failed = |e| (url.to_string(), e);
        let Some(conn) = origins[index].conn.as_mut() else {
            continue;
        };
        let head = conn.read_response().map_err(failed)?;
        if options.head {
            let version = match head.version() {
                dugong_blocking::dugong_proto::Version::Http10 => "HTTP/1.0",
                _ => "HTTP/1.1",
            };
            let mut text = format!(
                "{version} {} {}\r\n",
                head.status(),
                String::from_utf8_lossy(head.reason())
            );
            for (name, value) in head.headers().iter() {
                text.push_str(&format!("{name}: {}\r\n", latin1(value)));
            }
            text.push_str("\r\n");
            write_out(&mut out, text.as_bytes()).map_err(failed)?;
            conn.discard().map_err(failed)?;
            continue;
        }
        let total = head
            .headers()
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
        let mut progress = Progress::new(total);
        while let Some(piece) = conn.read_chunk().map_err(failed)? {
            write_out(&mut out, &piece).map_err(failed)?;
            progress.advance(piece.len() as u64);
        }
        progress.finish();
    }
    out.flush()
        .map_err(|e| ("stdout".to_owned(), Error::io(e)))?;
    // Every response is read: close each connection, which fails if the
    // server sent more than it was asked for (such as a second response).
    for origin in &mut origins {
        if let Some(conn) = origin.conn.as_mut() {
            conn.close().map_err(|e| (origin.url.to_string(), e))?;
        }
    }
    Ok(())
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn write_out(out: &mut impl Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes).map_err(Error::io)
}

fn connect(options: &Options, url: &Url) -> Result<Connection, Error> {
    let mut builder = Builder::for_url(url);
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    builder = match &options.proxy {
        Some(proxy) => builder.proxy(proxy.clone()),
        None => builder.proxy_from_env(),
    };
    if let Some(pem) = &options.cacert {
        if url.scheme() == dugong_blocking::Scheme::Https {
            builder = builder.tls_config(config_with_roots_pem(pem)?);
        }
    }
    builder.connect()
}

/// A progress line on stderr for long downloads, if stderr is a terminal.
struct Progress {
    total: Option<u64>,
    done: u64,
    shown: Option<Instant>,
    started: Instant,
    enabled: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Progress {
        Progress {
            total,
            done: 0,
            shown: None,
            started: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        if self
            .shown
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.shown = Some(Instant::now());
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let line = match self.total {
            Some(total) if total > 0 => format!(
                "\r{:8.1} / {:.1} MiB {:3}%",
                mib(self.done),
                mib(total),
                self.done * 100 / total
            ),
            _ => format!("\r{:8.1} MiB", mib(self.done)),
        };
        eprint!("{line}");
    }

    fn finish(&self) {
        if self.shown.is_some() {
            eprintln!();
        }
    }
}
