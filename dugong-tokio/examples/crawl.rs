//! `crawl`: fetches every page of one site that its pages link to, over
//! ONE connection, each round of newly found links pipelined — the Python
//! dugong's `extract_links` example, async.
//!
//! ```text
//! cargo run -q -p dugong-tokio --example crawl [-- URL] [--depth N]
//! ```
//!
//! With no URL it starts a small loopback site of its own (40 pages linking
//! to each other, and one broken link). Links are found with a plain
//! `href="..."` scan; only links to the same scheme, host and port are
//! followed. Each fetched page is one line (`<status> <bytes> <path>`),
//! then a summary. `--depth` is the number of requests kept in flight
//! (default 16). The exit status is 0 unless the connection failed.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use dugong_tokio::{Builder, Error, Request, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut url = None;
    let mut depth = 16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--depth" => match args.next().and_then(|d| d.parse().ok()) {
                Some(d) if d > 0 => depth = d,
                _ => return usage("--depth takes a positive number"),
            },
            flag if flag.starts_with("--") => return usage(&format!("unknown option {flag}")),
            _ if url.is_none() => url = Some(arg),
            _ => return usage("one URL at most"),
        }
    }
    let url = match url {
        Some(url) => url,
        None => format!("http://{}/", start_site().await),
    };
    match crawl(&url, depth).await {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) needs no message.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("crawl: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("crawl: {message}\nusage: crawl [URL] [--depth N]");
    ExitCode::from(2)
}

async fn crawl(start: &str, depth: usize) -> Result<(), Error> {
    let start = Url::parse(start)?;
    let started = Instant::now();
    let mut conn = Builder::for_url(&start).proxy_from_env().connect().await?;
    let mut seen = HashSet::from([start.target().to_owned()]);
    let mut queue = VecDeque::from([start.target().to_owned()]);
    let (mut pages, mut bytes, mut broken, mut rounds) = (0, 0, 0, 0);
    while !queue.is_empty() {
        rounds += 1;
        let batch: Vec<String> = queue.drain(..).collect();
        let requests = batch.iter().map(|path| Request::get(path.clone()));
        let mut responses = conn.pipeline(requests, depth);
        for path in &batch {
            let response = match responses.next().await {
                Some(response) => response?,
                None => break,
            };
            let status = response.head().status();
            say(&format!("{status} {} {path}", response.body().len()))?;
            pages += 1;
            bytes += response.body().len();
            if status >= 400 {
                broken += 1;
                continue;
            }
            for link in links(response.body()) {
                if let Some(target) = same_site(&start, path, &link) {
                    if seen.insert(target.clone()) {
                        queue.push_back(target);
                    }
                }
            }
        }
    }
    say(&format!(
        "{pages} pages ({bytes} bytes) in {rounds} pipelined rounds over one connection, \
         {broken} broken, in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    ))
}

/// One line on stdout.
fn say(line: &str) -> Result<(), Error> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(Error::io)
}

/// The values of `href="..."` attributes.
fn links(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The target to fetch for `link` found on the page at `page`, if it is on
/// the same site (fragment dropped).
fn same_site(start: &Url, page: &str, link: &str) -> Option<String> {
    let link = link.split('#').next()?;
    if link.is_empty() {
        return None;
    }
    if link.contains("://") {
        let url = Url::parse(link).ok()?;
        return url.same_origin(start).then(|| url.target().to_owned());
    }
    if link.starts_with('/') {
        return Some(link.to_owned());
    }
    if link.contains(':') {
        return None; // mailto:, javascript: and friends
    }
    let dir = &page[..page.rfind('/').map_or(0, |i| i + 1)];
    Some(format!("{}{link}", if dir.is_empty() { "/" } else { dir }))
}

/// A small site on loopback: `/` links to `/page/1` ... `/page/5`; page `n`
/// links to pages `2n` and `2n + 1` up to 40, back to `/`, and (page 7) to
/// a page that does not exist.
async fn start_site() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0; 4096];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    seen.extend_from_slice(&buf[..n]);
                    let mut out = Vec::new();
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).into_owned();
                        seen.drain(..end + 4);
                        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                        out.extend_from_slice(&page(&path));
                    }
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn page(path: &str) -> Vec<u8> {
    let links: Option<Vec<String>> = if path == "/" {
        Some((1..=5).map(|n| format!("/page/{n}")).collect())
    } else {
        path.strip_prefix("/page/")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| (1..=40).contains(n))
            .map(|n| {
                let mut links: Vec<String> = [2 * n, 2 * n + 1]
                    .into_iter()
                    .filter(|m| *m <= 40)
                    .map(|m| format!("{m}"))
                    .collect();
                links.push("/#top".into());
                if n == 7 {
                    links.push("/missing".into());
                }
                links.push("mailto:someone@example.com".into());
                links
            })
    };
    match links {
        Some(links) => {
            let body: String = links
                .iter()
                .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
                .collect();
            let body = format!("<html><body>\n{body}</body></html>\n");
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n".to_vec(),
    }
}
