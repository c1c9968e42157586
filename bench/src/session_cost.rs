//! `session_cost`: a fixed amount of work through dugong-blocking's
//! `Connection` over a real loopback TCP socket, for counting the
//! instructions the whole client path (dugong-proto, the session layer of
//! dugong-net, the blocking driver, the system-call glue) spends per
//! request and response with callgrind, where timings on a shared VM move
//! by a quarter from run to run and instruction counts do not.
//!
//! ```text
//! session_cost MODE N
//! ```
//!
//! - `MODE`:
//!   - `pipelined`: the calls of the loopback benchmark's
//!     `dugong-blocking pipelined` client (`bench/src/clients/sync_dugong.rs`):
//!     `queue_request` while fewer than 256 are in flight and `has_room`,
//!     one `flush`, then `read_response` and `read_chunk` until `None` for
//!     half of them (all of them once `N` requests were sent), again;
//!   - `sequential`: its one-at-a-time client: `send_request`,
//!     `read_response`, `read_chunk` until `None`, again.
//! - `N`: the requests sent (and responses read); `N` = 0 only connects.
//!
//! The peer is in the same thread, so the run is the same every time: the
//! connection is made to a listener of this process and accepted here, and
//! after each `flush` (or `send_request`) the harness, as the server, reads
//! the request bytes written (each must be the first request's bytes again)
//! and answers each with the loopback server's small answer (a 100-byte
//! body, `bench/src/server.rs`), written at once into the socket before
//! the client reads. Both ends are non-blocking; a write or read that
//! would block (socket buffers too small for a batch) ends the run instead
//! of hanging it.
//!
//! The instructions per request and response are
//! `(count(N2) - count(N1)) / (N2 - N1)`, e.g. with `N1` = 2560 and `N2` =
//! 12800 (whole batches; the connection and its first buffers are in
//! both):
//!
//! ```text
//! valgrind --tool=callgrind session_cost pipelined 12800
//! ```
//!
//! Every response is checked (status, body length, the count of responses
//! and of body bytes), so a change that breaks the client fails here
//! instead of looking fast; so are the heap allocations while responses
//! are read (printed per response, expected 0).

use std::alloc::System;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

use dugong_blocking::{Body, Builder, Connection};
use memchr::memmem;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

/// Counts every heap allocation of the process.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The target of every request, as the loopback clients send it.
const PATH: &str = "/x";
/// No header fields: the connection adds `Host`.
const NO_FIELDS: [(&str, &str); 0] = [];
/// Requests in flight at most (the loopback benchmark's small depth).
const DEPTH: usize = 256;
/// Body length of every answer (the loopback server's small answer).
const BODY_LEN: usize = 100;

/// Any error a run can end with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, n] = args.as_slice() else {
        eprintln!("usage: session_cost pipelined|sequential N");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("session_cost: N must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let result = match mode.as_str() {
        "pipelined" => run(n, pipelined),
        "sequential" => run(n, sequential),
        other => {
            eprintln!("session_cost: unknown mode {other:?}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("session_cost: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects a client to a peer of this thread, runs `client` for `n`
/// requests, and checks what it read.
fn run(
    n: u64,
    client: fn(&mut Connection, &mut Peer, u64) -> Result<u64, BoxError>,
) -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    // The kernel completes the handshake; the accept below takes it.
    let mut conn = Builder::new("127.0.0.1", port).no_trace().connect()?;
    let (stream, _) = listener.accept()?;
    let mut peer = Peer::new(stream)?;
    let region = Region::new(GLOBAL);
    let body = client(&mut conn, &mut peer, n)?;
    let allocs = region.change().allocations;
    if peer.answered != n {
        return Err(format!("{} requests answered, not {n}", peer.answered).into());
    }
    if body != n * BODY_LEN as u64 {
        return Err(format!("{body} body bytes read, not {}", n * BODY_LEN as u64).into());
    }
    if n > 0 {
        eprintln!(
            "session_cost: {n} responses, {allocs} allocations ({:.3} per response)",
            allocs as f64 / n as f64
        );
    }
    Ok(())
}

/// The pipelined client of `sync_dugong.rs`, sending `n` requests; the
/// peer answers after each `flush`. Returns the body bytes read.
fn pipelined(conn: &mut Connection, peer: &mut Peer, n: u64) -> Result<u64, BoxError> {
    let half = (DEPTH / 2).max(1);
    let (mut sent, mut in_flight, mut body) = (0u64, 0usize, 0u64);
    while sent < n || in_flight > 0 {
        let sending = sent < n;
        if sending {
            let before = sent;
            while in_flight < DEPTH && sent < n && conn.has_room() {
                conn.queue_request("GET", PATH, NO_FIELDS, Body::Empty)?;
                in_flight += 1;
                sent += 1;
            }
            conn.flush()?;
            peer.answer(sent - before)?;
        }
        let answers = if sent < n {
            half.min(in_flight)
        } else {
            in_flight
        };
        for _ in 0..answers {
            body += read_one(conn)?;
            in_flight -= 1;
        }
    }
    Ok(body)
}

/// The one-at-a-time client of `sync_dugong.rs`, for `n` requests.
fn sequential(conn: &mut Connection, peer: &mut Peer, n: u64) -> Result<u64, BoxError> {
    let mut body = 0;
    for _ in 0..n {
        conn.send_request("GET", PATH, NO_FIELDS, Body::Empty)?;
        peer.answer(1)?;
        body += read_one(conn)?;
    }
    Ok(body)
}

/// Reads one response, checks it, and returns its body length.
fn read_one(conn: &mut Connection) -> Result<u64, BoxError> {
    let status = conn.read_response()?.status();
    if status != 200 {
        return Err(format!("unexpected status {status}").into());
    }
    let mut len = 0;
    while let Some(piece) = conn.read_chunk()? {
        len += piece.len();
    }
    if len != BODY_LEN {
        return Err(format!("a body of {len} bytes, not {BODY_LEN}").into());
    }
    Ok(len as u64)
}

/// The server end of the connection, driven by the client's thread.
struct Peer {
    stream: TcpStream,
    /// The small answer, `DEPTH` times.
    answers: Vec<u8>,
    /// The length of one answer.
    answer_len: usize,
    /// The first request's bytes (every request must be the same).
    request: Vec<u8>,
    /// Request bytes read.
    input: Vec<u8>,
    /// Requests answered.
    answered: u64,
}

impl Peer {
    /// The peer on `stream`, with its buffers made.
    fn new(stream: TcpStream) -> io::Result<Peer> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BODY_LEN}\r\n\r\n{}",
            "x".repeat(BODY_LEN)
        );
        Ok(Peer {
            stream,
            answers: answer.as_bytes().repeat(DEPTH),
            answer_len: answer.len(),
            request: Vec::new(),
            input: vec![0; 64 * 1024],
            answered: 0,
        })
    }

    /// Reads the `k` requests the client just wrote (all there: loopback
    /// delivers a write before it returns) and writes `k` answers.
    fn answer(&mut self, k: u64) -> Result<(), BoxError> {
        let k = usize::try_from(k)?;
        if k > DEPTH {
            return Err(format!("{k} requests in one batch, more than {DEPTH}").into());
        }
        if self.request.is_empty() {
            // The first request sets the length of every request.
            let got = self.read_some(0)?;
            let end = memmem::find(&self.input[..got], b"\r\n\r\n")
                .ok_or("the first request head is not complete")?;
            self.request = self.input[..end + 4].to_vec();
            self.read_exact(got, k)?;
        } else {
            self.read_exact(0, k)?;
        }
        let mut out = &self.answers[..k * self.answer_len];
        while !out.is_empty() {
            match self.stream.write(out) {
                Ok(0) => return Err("the client closed".into()),
                Ok(n) => out = &out[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err("a batch of answers does not fit in the socket buffers".into())
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.answered += k as u64;
        Ok(())
    }

    /// Reads until `k` requests (`have` bytes of them read already) are in
    /// `input`, and checks them.
    fn read_exact(&mut self, mut have: usize, k: usize) -> Result<(), BoxError> {
        let want = k * self.request.len();
        if want > self.input.len() {
            return Err("a batch of requests does not fit in the read buffer".into());
        }
        while have < want {
            have += self.read_some(have)?;
        }
        if have != want {
            return Err(format!("{have} request bytes, not {want}").into());
        }
        for request in self.input[..want].chunks(self.request.len()) {
            if request != self.request {
                return Err("a request differs from the first".into());
            }
        }
        Ok(())
    }

    /// One read into `input[at..]`, which must bring bytes.
    fn read_some(&mut self, at: usize) -> Result<usize, BoxError> {
        match self.stream.read(&mut self.input[at..]) {
            Ok(0) => Err("the client closed".into()),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err("the requests written are not there".into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
