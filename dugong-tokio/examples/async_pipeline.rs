//! Pipelined versus one-at-a-time requests over one connection, async.
//!
//! ```text
//! cargo run -q -p dugong-tokio --example async_pipeline [-- URL]
//! ```
//!
//! With no URL it starts a small loopback server of its own (a tokio task
//! answering each request head with a 100-byte body) and fetches 10,000
//! resources from it over one connection: first pipelined (the connection
//! is split, one branch sends every request while the other reads the
//! responses), then each request after the previous response (one at a
//! time). With a URL it does the same against that server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dugong_tokio::{Body, Builder, Connection, Error, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUESTS: u64 = 10_000;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = match args.as_slice() {
        [] => None,
        [url] if !url.starts_with('-') => Some(url.clone()),
        _ => {
            eprintln!("usage: async_pipeline [URL]");
            return ExitCode::from(2);
        }
    };
    let url = match url {
        Some(url) => url,
        None => {
            let addr = start_server().await;
            format!("http://{addr}/small")
        }
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_pipeline: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str) -> Result<(), Error> {
    let url = Url::parse(url)?;
    let builder = Builder::for_url(&url)
        .timeout(Duration::from_secs(30))
        .proxy_from_env();
    let conn = builder.connect().await?;
    let start = Instant::now();
    pipelined(conn, url.target()).await?;
    let pipelined = start.elapsed();
    let mut conn = builder.connect().await?;
    let start = Instant::now();
    one_at_a_time(&mut conn, url.target()).await?;
    let sequential = start.elapsed();
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

/// The sending half sends every request while the receiving half reads
/// the responses, concurrently.
async fn pipelined(conn: Connection, target: &str) -> Result<(), Error> {
    let (mut send, mut recv) = conn.split();
    let sender = async move {
        for _ in 0..REQUESTS {
            send.send_request("GET", target, [("Accept", "*/*")], Body::Empty)
                .await?;
        }
        Ok::<_, Error>(())
    };
    let receiver = async {
        while recv.next_response().await?.is_some() {
            recv.discard().await?;
        }
        Ok::<_, Error>(())
    };
    let (sent, received) = tokio::join!(sender, receiver);
    sent.and(received)
}

async fn one_at_a_time(conn: &mut Connection, target: &str) -> Result<(), Error> {
    for _ in 0..REQUESTS {
        conn.send_request("GET", target, [("Accept", "*/*")], Body::Empty)
            .await?;
        conn.read_response().await?;
        conn.discard().await?;
    }
    Ok(())
}

/// A minimal loopback server: answers every request head (up to the blank
/// line; request bodies are not supported) with the same small response,
/// as many answers per write as heads arrived in one read.
async fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

async fn serve(mut stream: TcpStream) {
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n\
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0; 64 * 1024];
    let mut carry = Vec::new();
    let mut out = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
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
            if stream.write_all(&out).await.is_err() {
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
