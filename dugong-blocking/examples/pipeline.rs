//! Pipelined versus one-at-a-time requests over one connection.
//!
//! ```text
//! cargo run -q -p dugong-blocking --example pipeline [-- URL]
//! ```
//!
//! With no URL it starts a small loopback server of its own (answering each
//! request head with a 100-byte body) and fetches 10,000 resources from it
//! over one connection: first all requests sent before any response is
//! read (pipelined), then each request after the previous response
//! (one at a time). With a URL it does the same against that server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dugong_blocking::{Body, Builder, Connection, Error, Url};

const REQUESTS: u64 = 10_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = match args.as_slice() {
        [] => None,
        [url] if !url.starts_with('-') => Some(url.clone()),
        _ => {
            eprintln!("usage: pipeline [URL]");
            return ExitCode::from(2);
        }
    };
    let (url, _server) = match url {
        Some(url) => (url, None),
        None => {
            let (addr, server) = start_server();
            (format!("http://{addr}/small"), Some(server))
        }
    };
    match run(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipeline: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

fn run(url: &str) -> Result<(), Error> {
    let url = Url::parse(url)?;
    let builder = Builder::for_url(&url)
        .timeout(Duration::from_secs(30))
        .proxy_from_env();
    let mut conn = builder.connect()?;
    let pipelined = timed(|| pipelined(&mut conn, url.target()))?;
    let mut conn = builder.connect()?;
    let sequential = timed(|| one_at_a_time(&mut conn, url.target()))?;
    let rate = |d: Duration| REQUESTS as f64 / d.as_secs_f64();
    println!(
        "pipelined:     {:>9.0} requests/s ({REQUESTS} requests in {:.3} s)",
        rate(pipelined),
        pipelined.as_secs_f64()
    );
    println!(
        "one at a time: {:>9.0} requests/s ({REQUESTS} requests in {:.3} s)",
        rate(sequential),
        sequential.as_secs_f64()
    );
    println!(
        "pipelining is {:.1}x the one-at-a-time rate",
        rate(pipelined) / rate(sequential)
    );
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<(), Error>) -> Result<Duration, Error> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn pipelined(conn: &mut Connection, target: &str) -> Result<(), Error> {
    // Queued requests go out in large vectored writes; `send_request`
    // would write each at once.
    for _ in 0..REQUESTS {
        conn.queue_request("GET", target, [("Accept", "*/*")], Body::Empty)?;
    }
    conn.flush()?;
    for _ in 0..REQUESTS {
        conn.read_response()?;
        conn.discard()?;
    }
    Ok(())
}

fn one_at_a_time(conn: &mut Connection, target: &str) -> Result<(), Error> {
    for _ in 0..REQUESTS {
        conn.send_request("GET", target, [("Accept", "*/*")], Body::Empty)?;
        conn.read_response()?;
        conn.discard()?;
    }
    Ok(())
}

/// A minimal loopback server: answers every request head (up to the blank
/// line; request bodies are not supported) with the same small response,
/// as many answers per write as heads arrived in one read.
fn start_server() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    (addr, server)
}

fn serve(mut stream: TcpStream) {
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n\
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0; 64 * 1024];
    let mut carry = Vec::new();
    let mut out = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(end) = find_blank_line(&carry[start..]) {
            out.extend_from_slice(RESPONSE);
            start += end;
        }
        carry.drain(..start);
        if !out.is_empty() {
            if stream.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}
