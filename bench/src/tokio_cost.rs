//! `tokio_cost`: a fixed number of pipelined requests and responses through
//! dugong-tokio (and, for comparison, dugong-blocking) against a
//! deterministic loopback peer, for counting instructions with callgrind,
//! where timings on a shared VM move by a quarter from run to run and
//! instruction counts barely do.
//!
//! ```text
//! tokio_cost MODE N
//! ```
//!
//! - `MODE`: how the client drives one connection, as
//!   `bench/src/clients/` does in the loopback benchmark, with a window of
//!   256 requests in flight:
//!   - `split`: dugong-tokio's `split` halves in one `join!` on a
//!     current-thread runtime: the sending half queues requests while the
//!     window has room (128 at most per batch), writes each batch with one
//!     `flush`, and waits for room with `send_request`; the receiving half
//!     reads each response with `next_response` and its body with
//!     `read_chunk`;
//!   - `pipeline`: dugong-tokio's `Connection::pipeline` over `N`
//!     `Request::get`, reading each `FullResponse`;
//!   - `blocking`: dugong-blocking's `Connection` pipelined from one
//!     thread: `queue_request` while the window has room, one `flush`,
//!     then read half a window of responses (`read_response`,
//!     `read_chunk`).
//! - `N`: how many requests are sent (each gets one response); `0` is the
//!   base: connect, then close.
//!
//! The peer is a std thread on a loopback listener that answers as the
//! loopback benchmark's server does with 100-byte bodies: after each read
//! of request bytes, one write of a canned `200 OK` (the server's small
//! answer, 185 bytes) per request head that read completed.
//!
//! Every response is checked (status, body length and bytes, the count of
//! responses and of requests the peer saw), so a change that breaks the
//! client fails here instead of looking fast. On stderr it prints the heap
//! allocations made between connect and close.
//!
//! Instructions per pipelined response are `(count(N) - count(0)) / N`,
//! counting the main thread only (the client; the peer and tokio's
//! resolver thread are others):
//!
//! ```text
//! valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=cg.out \
//!     target/release/tokio_cost split 25600
//! grep '^totals:' cg.out-01    # the main thread's instructions
//! ```

use std::alloc::System;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread::JoinHandle;

use memchr::memmem::Finder;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

/// Counts the heap allocations of the exchange.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Any error of a run.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The host the peer listens on.
const HOST: &str = "127.0.0.1";
/// The request target.
const PATH: &str = "/x";
/// Requests in flight at most (the loopback benchmark's small depth).
const DEPTH: usize = 256;
/// Body length of every response.
const BODY_LEN: usize = 100;
/// The head of every response (the loopback server's small answer).
const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n";
/// No header fields: the connection adds `Host`.
const NO_FIELDS: [(&str, &str); 0] = [];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, n] = args.as_slice() else {
        eprintln!("usage: tokio_cost split|pipeline|blocking N");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("tokio_cost: N must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let run: fn(u16, u64) -> Result<u64, BoxError> = match mode.as_str() {
        "split" => split,
        "pipeline" => pipeline,
        "blocking" => blocking,
        other => {
            eprintln!("tokio_cost: unknown mode {other:?}");
            return ExitCode::from(2);
        }
    };
    match exchange(run, n) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_cost: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the peer, runs `run` against it for `n` requests and checks
/// what both sides counted.
fn exchange(run: fn(u16, u64) -> Result<u64, BoxError>, n: u64) -> Result<(), BoxError> {
    let listener = TcpListener::bind((HOST, 0))?;
    let port = listener.local_addr()?.port();
    let peer = start_peer(listener)?;
    let region = Region::new(GLOBAL);
    let body = run(port, n)?;
    let allocations = region.change().allocations;
    let requests = peer
        .join()
        .map_err(|_| "the peer panicked")?
        .map_err(|e| format!("peer: {e}"))?;
    if requests != n || body != n * BODY_LEN as u64 {
        return Err(format!(
            "{n} requests: the peer saw {requests}, the client read {body} body bytes"
        )
        .into());
    }
    eprintln!("tokio_cost: {n} responses, {allocations} allocations");
    Ok(())
}

/// The peer: accepts one connection and answers every request head with
/// the canned response, one write per read; returns the request count
/// once the client closes.
fn start_peer(listener: TcpListener) -> io::Result<JoinHandle<io::Result<u64>>> {
    let mut canned = HEAD.to_vec();
    canned.resize(HEAD.len() + BODY_LEN, b'x');
    std::thread::Builder::new()
        .name("peer".into())
        .spawn(move || {
            let (mut stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            serve(&mut stream, &canned)
        })
}

/// Answers until the client closes.
fn serve(stream: &mut TcpStream, canned: &[u8]) -> io::Result<u64> {
    let finder = Finder::new(b"\r\n\r\n");
    let mut input = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(DEPTH * canned.len());
    let mut requests = 0u64;
    // Unanswered bytes are input[start..end].
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if end == input.len() {
            input.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let n = match stream.read(&mut input[end..]) {
            Ok(0) => return Ok(requests),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        end += n;
        while let Some(i) = finder.find(&input[start..end]) {
            start += i + 4;
            requests += 1;
            out.extend_from_slice(canned);
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
    }
}

/// Checks a response's status.
fn expect_ok(status: u16) -> Result<(), BoxError> {
    if status != 200 {
        return Err(format!("status {status}").into());
    }
    Ok(())
}

/// Checks a body's bytes.
fn expect_body(piece: &[u8]) -> Result<u64, BoxError> {
    const XS: [u8; BODY_LEN] = [b'x'; BODY_LEN];
    if piece.len() > BODY_LEN || piece != &XS[..piece.len()] {
        return Err("a body byte that is not x".into());
    }
    Ok(piece.len() as u64)
}

/// A current-thread runtime as the loopback benchmark's.
fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The builder of the dugong-tokio modes: default settings, no trace, the
/// window as the bound on requests in flight of a split connection.
fn tokio_builder(port: u16) -> dugong_tokio::Builder {
    dugong_tokio::Builder::new(HOST, port)
        .no_trace()
        .max_in_flight(DEPTH)
}

/// `split` mode; returns the body bytes read.
fn split(port: u16, n: u64) -> Result<u64, BoxError> {
    use dugong_tokio::Body;
    runtime()?.block_on(async {
        let conn = tokio_builder(port).connect().await?;
        let (mut send, mut recv) = conn.split();
        let half = (DEPTH / 2).max(1);
        let sender = async move {
            let mut sent = 0;
            let mut batch = 0;
            while sent < n {
                if batch < half && send.has_room() {
                    send.queue_request("GET", PATH, NO_FIELDS, Body::Empty)?;
                    batch += 1;
                    sent += 1;
                } else if batch > 0 {
                    send.flush().await?;
                    batch = 0;
                } else {
                    send.send_request("GET", PATH, NO_FIELDS, Body::Empty)
                        .await?;
                    sent += 1;
                }
            }
            send.flush().await?;
            // Dropping the half tells the receiver no more requests come.
            drop(send);
            Ok::<(), BoxError>(())
        };
        let receiver = async {
            let mut body = 0;
            while let Some(head) = recv.next_response().await? {
                expect_ok(head.status())?;
                let mut len = 0;
                while let Some(piece) = recv.read_chunk().await? {
                    len += expect_body(&piece)?;
                }
                if len != BODY_LEN as u64 {
                    return Err(format!("a body of {len} bytes").into());
                }
                body += len;
            }
            Ok::<u64, BoxError>(body)
        };
        let (sent, received) = tokio::join!(sender, receiver);
        sent?;
        received
    })
}

/// `pipeline` mode; returns the body bytes read.
fn pipeline(port: u16, n: u64) -> Result<u64, BoxError> {
    use dugong_tokio::Request;
    runtime()?.block_on(async {
        let mut conn = tokio_builder(port).connect().await?;
        let requests = (0..n).map(|_| Request::get(PATH));
        let mut responses = conn.pipeline(requests, DEPTH);
        let mut body = 0;
        while let Some(response) = responses.next().await {
            let response = response?;
            expect_ok(response.head().status())?;
            let len = expect_body(response.body())?;
            if len != BODY_LEN as u64 {
                return Err(format!("a body of {len} bytes").into());
            }
            body += len;
        }
        Ok(body)
    })
}

/// `blocking` mode; returns the body bytes read.
fn blocking(port: u16, n: u64) -> Result<u64, BoxError> {
    use dugong_blocking::{Body, Builder};
    let mut conn = Builder::new(HOST, port).no_trace().connect()?;
    let half = (DEPTH / 2).max(1);
    let (mut sent, mut in_flight, mut body) = (0, 0, 0);
    while sent < n || in_flight > 0 {
        let sending = sent < n;
        if sending {
            while in_flight < DEPTH && sent < n && conn.has_room() {
                conn.queue_request("GET", PATH, NO_FIELDS, Body::Empty)?;
                in_flight += 1;
                sent += 1;
            }
            conn.flush()?;
        }
        let answers = if sending {
            half.min(in_flight)
        } else {
            in_flight
        };
        for _ in 0..answers {
            expect_ok(conn.read_response()?.status())?;
            let mut len = 0;
            while let Some(piece) = conn.read_chunk()? {
                len += expect_body(&piece)?;
            }
            if len != BODY_LEN as u64 {
                return Err(format!("a body of {len} bytes").into());
            }
            body += len;
            in_flight -= 1;
        }
    }
    Ok(body)
}
