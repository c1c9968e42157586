//! `bench-server`: the loopback HTTP/1.1 server of dugong-python's
//! benchmark (`dugong-python/bench/run.sh`).
//!
//! std only, one thread per connection, blocking sockets. It answers
//! pipelined requests with canned responses (the request bodies, if any,
//! are skipped by their `Content-Length`):
//!
//! * `GET /small`       → `200`, a 13-byte body
//! * `GET /big`         → `200`, a 64 MiB body
//! * `GET /huge`        → `200`, a 1 GiB body
//! * `GET /bytes/<n>`   → `200`, an `n`-byte body
//! * anything else      → `404`, a 9-byte body
//!
//! Small answers of all the request heads that one read brought are
//! gathered and written at once; large bodies are written from one shared
//! 1 MiB buffer, as often as needed (never held whole in memory).
//!
//! ```text
//! bench-server [--port PORT] [--lifetime SECS]
//! ```
//!
//! It listens on 127.0.0.1 (port 0, the default, picks a free one), prints
//! `PORT <n>` on its first line of standard output once it listens, and
//! ends by itself after `--lifetime` seconds (default 900).

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// How many bytes one read of request bytes may take.
const READ_BUF: usize = 64 * 1024;
/// Gathered small answers are written once they reach this many bytes.
const BATCH: usize = 256 * 1024;
/// The shared body buffer of large answers.
const CHUNK: usize = 1 << 20;
/// The body of `/small`.
const SMALL_BODY: &[u8] = b"Hello, world!";

/// What every connection thread shares, made once.
struct Shared {
    /// The whole `/small` answer.
    small: Vec<u8>,
    /// The whole 404 answer.
    not_found: Vec<u8>,
    /// The shared body buffer of large answers.
    chunk: Vec<u8>,
}

fn main() {
    let mut port: u16 = 0;
    let mut lifetime: u64 = 900;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> String {
            args.next().unwrap_or_else(|| {
                eprintln!("bench-server: {name} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--port" => port = parse(&value("--port")),
            "--lifetime" => lifetime = parse(&value("--lifetime")),
            "-h" | "--help" => {
                println!("usage: bench-server [--port PORT] [--lifetime SECS]");
                return;
            }
            other => {
                eprintln!("bench-server: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench-server: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    println!("PORT {port}");
    let _ = io::stdout().flush();

    // Ends by itself, whatever happens to the script that started it.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(lifetime));
        eprintln!("bench-server: lifetime of {lifetime} s over, exiting");
        std::process::exit(0);
    });

    let shared = Arc::new(Shared {
        small: answer_head(200, "OK", SMALL_BODY.len() as u64)
            .into_iter()
            .chain(SMALL_BODY.iter().copied())
            .collect(),
        not_found: answer_head(404, "Not Found", 9)
            .into_iter()
            .chain(b"not found".iter().copied())
            .collect(),
        chunk: vec![b'x'; CHUNK],
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || serve(stream, &shared));
    }
}

/// Parses a number argument or exits.
fn parse<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| {
        eprintln!("bench-server: not a number: {s:?}");
        std::process::exit(2)
    })
}

/// A response head announcing a `len`-byte body.
fn answer_head(status: u16, reason: &str, len: u64) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
    )
    .into_bytes()
}

/// Serves one connection until the client hangs up or an error.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = answer_all(&mut stream, shared);
}

/// The read / answer loop.
fn answer_all(stream: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let mut input = vec![0u8; READ_BUF];
    let mut out: Vec<u8> = Vec::with_capacity(BATCH + 4096);
    // Unanswered bytes are input[start..end]; no head ends before
    // `scanned`. `skip` request body bytes are still to be dropped.
    let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
    let mut skip: u64 = 0;
    loop {
        if end == input.len() {
            if start == 0 {
                return Err(io::Error::other("a request head larger than the read buffer"));
            }
            input.copy_within(start..end, 0);
            end -= start;
            scanned -= start;
            start = 0;
        }
        let n = match stream.read(&mut input[end..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        end += n;
        loop {
            if skip > 0 {
                let k = skip.min((end - start) as u64) as usize;
                skip -= k as u64;
                start += k;
                scanned = scanned.max(start);
                if skip > 0 {
                    break;
                }
            }
            let Some(i) = find_head_end(&input[scanned..end]) else {
                scanned = end.saturating_sub(3).max(start);
                break;
            };
            let head_end = scanned + i + 4;
            let head = &input[start..head_end];
            skip = content_length(head);
            match target(head) {
                b"/small" => {
                    out.extend_from_slice(&shared.small);
                    if out.len() >= BATCH {
                        stream.write_all(&out)?;
                        out.clear();
                    }
                }
                path => match big_len(path) {
                    Some(len) => {
                        if !out.is_empty() {
                            stream.write_all(&out)?;
                            out.clear();
                        }
                        write_big(stream, &shared.chunk, len)?;
                    }
                    None => out.extend_from_slice(&shared.not_found),
                },
            }
            start = head_end;
            scanned = head_end;
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if start == end {
            (start, end, scanned) = (0, 0, 0);
        }
    }
}

/// Where `\r\n\r\n` starts in `buf`.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The request target of a request head (between the first two spaces).
fn target(head: &[u8]) -> &[u8] {
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let _method = parts.next();
    parts.next().unwrap_or(b"")
}

/// The `Content-Length` of a request head, 0 if none.
fn content_length(head: &[u8]) -> u64 {
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if line[..colon].eq_ignore_ascii_case(b"content-length") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            return value.trim().parse().unwrap_or(0);
        }
    }
    0
}

/// The body length of a large-body target, `None` if it is not one.
fn big_len(path: &[u8]) -> Option<u64> {
    match path {
        b"/big" => Some(64 << 20),
        b"/huge" => Some(1 << 30),
        _ => std::str::from_utf8(path.strip_prefix(b"/bytes/")?)
            .ok()?
            .parse()
            .ok(),
    }
}

/// Writes a `len`-byte answer: the head, then the shared buffer as often
/// as needed.
fn write_big(stream: &mut TcpStream, chunk: &[u8], len: u64) -> io::Result<()> {
    let head = answer_head(200, "OK", len);
    let first = len.min(chunk.len() as u64) as usize;
    let mut bufs = [IoSlice::new(&head), IoSlice::new(&chunk[..first])];
    let mut bufs: &mut [IoSlice<'_>] = &mut bufs;
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut left = len - first as u64;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}
