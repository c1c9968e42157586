//! `parse_cost`: a fixed amount of response-parsing work, for counting
//! instructions with callgrind (`bench/callgrind.sh`), where timings on a
//! shared VM move by a quarter from run to run and instruction counts do
//! not.
//!
//! ```text
//! parse_cost MODE HEAD N
//! ```
//!
//! - `HEAD`: `min` (1 field, 38 bytes), `small`, `typical` or `large` (the
//!   heads of dugong-proto's criterion benchmark: 3, 10 and 32 fields);
//!   `small` only for the pipeline modes.
//! - `N`: a multiple of 256 for every mode but `httparse`.
//! - `MODE`:
//!   - `setup`: sends `N` `HEAD` requests on a `dugong_proto::Connection`,
//!     in batches of 256, and writes them out; nothing is received;
//!   - `dugong`: the same, and after each batch reads 256 copies of the
//!     head the way the criterion benchmark does (`receive`, then
//!     `poll_event` for `Headers` and for `End`, the response dropped);
//!     its count minus `setup`'s is the cost of `N` heads;
//!   - `httparse`: `N` parses of the head with `httparse::Response::parse`
//!     into a reused array of 64 fields (`N` = 0 gives the base count);
//!   - `pipeline-setup` and `pipeline`: `N` `GET` requests in batches of
//!     256, and for `pipeline` a stream of 256 `small` responses with
//!     100-byte bodies after each batch, fed in 16 KiB pieces, every event
//!     polled: the cost of `N` pipelined responses (head, body, end) is
//!     the difference.
//!
//! Every response is checked (status, field count, body bytes), so a
//! change that breaks parsing fails here instead of looking fast.

use std::hint::black_box;
use std::process::ExitCode;

use dugong_proto::{Body, Connection, Event};

/// 1 field, 38 bytes.
const MIN: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/// The 3-, 10- and 32-field heads of dugong-proto's criterion benchmark.
#[path = "../../dugong-proto/benches/common/heads.rs"]
mod heads;
use heads::{LARGE, SMALL, TYPICAL};

/// Requests sent (and responses read) per batch.
const BATCH: u64 = 256;
/// Body length of the pipelined responses.
const BODY_LEN: usize = 100;
/// Piece size the pipelined stream is fed in.
const PIECE: usize = 16 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, head, n] = args.as_slice() else {
        eprintln!("usage: parse_cost setup|dugong|httparse|pipeline-setup|pipeline min|small|typical|large N");
        return ExitCode::from(2);
    };
    let (head, fields) = match head.as_str() {
        "min" => (MIN, 1),
        "small" => (SMALL, 3),
        "typical" => (TYPICAL, 10),
        "large" => (LARGE, 32),
        other => {
            eprintln!("parse_cost: unknown head {other:?}");
            return ExitCode::from(2);
        }
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("parse_cost: N must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let pipeline = mode.starts_with("pipeline");
    if pipeline && fields != 3 {
        eprintln!("parse_cost: the pipeline modes use the small head only");
        return ExitCode::from(2);
    }
    if mode != "httparse" && n % BATCH != 0 {
        eprintln!("parse_cost: N must be a multiple of {BATCH} for {mode}");
        return ExitCode::from(2);
    }
    match mode.as_str() {
        "setup" => heads(head, fields, n, false),
        "dugong" => heads(head, fields, n, true),
        "httparse" => httparse_heads(head, fields, n),
        "pipeline-setup" => pipelined(n, false),
        "pipeline" => pipelined(n, true),
        other => {
            eprintln!("parse_cost: unknown mode {other:?}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// Sends `n` `method` requests in batches; after each batch (written out),
/// `read` gets the connection.
fn batches(n: u64, method: &str, mut read: impl FnMut(&mut Connection)) {
    let mut conn = Connection::default();
    for _ in 0..n / BATCH {
        for _ in 0..BATCH {
            conn.send_request(method, "/", [("Host", "example.com")], Body::Empty)
                .expect("a valid request");
        }
        while conn.poll_transmit().is_some() {}
        read(&mut conn);
    }
    black_box(&conn);
}

/// `n` heads through a connection (`read`), or only the requests.
fn heads(head: &[u8], fields: usize, n: u64, read: bool) {
    batches(n, "HEAD", |conn| {
        if !read {
            return;
        }
        for _ in 0..BATCH {
            conn.receive(black_box(head)).expect("receive");
            match conn.poll_event() {
                Ok(Some(Event::Headers(response))) => {
                    assert_eq!((response.status(), response.headers().len()), (200, fields));
                    black_box(&response);
                }
                other => panic!("expected a head, got {other:?}"),
            }
            match conn.poll_event() {
                Ok(Some(Event::End { .. })) => {}
                other => panic!("expected the end of a HEAD response, got {other:?}"),
            }
        }
    });
}

/// `n` parses with httparse.
fn httparse_heads(head: &[u8], fields: usize, n: u64) {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    for _ in 0..n {
        let mut response = httparse::Response::new(&mut storage);
        let status = response.parse(black_box(head)).expect("a valid head");
        assert!(status.is_complete());
        assert_eq!((response.code, response.headers.len()), (Some(200), fields));
        black_box(&response);
    }
}

/// `n` pipelined small responses (or only their requests).
fn pipelined(n: u64, read: bool) {
    let mut stream = Vec::new();
    for _ in 0..BATCH {
        stream.extend_from_slice(SMALL);
        stream.extend_from_slice(&[b'x'; BODY_LEN]);
    }
    let mut body = 0;
    batches(n, "GET", |conn| {
        if !read {
            return;
        }
        for piece in stream.chunks(PIECE) {
            conn.receive(black_box(piece)).expect("receive");
            while let Some(event) = conn.poll_event().expect("a valid stream") {
                if let Event::Data(data) = &event {
                    body += data.len();
                }
                black_box(&event);
            }
        }
    });
    if read {
        assert_eq!(body as u64, n * BODY_LEN as u64);
    }
}
