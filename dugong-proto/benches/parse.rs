//! Response parsing benchmarks.
//!
//! - `response_head/{dugong,httparse}/{small,typical,large}`: one response
//!   head, bytes in to a parsed head. dugong-proto goes through a
//!   [`Connection`] with one HEAD request in flight per head (sent and
//!   written out before timing): `receive` copies the head into the
//!   receive buffer, `poll_event` returns [`Event::Headers`] (validated,
//!   framing decided, fields readable without a copy), then the response's
//!   [`Event::End`]; the response is dropped. httparse parses the same
//!   bytes with `Response::parse` into a reused `[EMPTY_HEADER; 64]` array.
//! - `pipelined_1000/dugong/...`: 1,000 small responses (head and a
//!   100-byte body) through one connection with 1,000 GETs in flight, every
//!   event drained, fed either as one buffer or in 16 KiB reads.
//!
//! - `chunked_1MiB/dugong/64KiB_reads`: one response with a 1 MiB body in
//!   4 KiB chunks, fed in 64 KiB reads.
//!
//! Before the timings it prints the heap allocations per response of a
//! pipelined stream in steady state (a counting global allocator,
//! `stats_alloc`).
//!
//! Run with `cargo bench -p dugong-proto --bench parse -- --quick`.

use std::alloc::System;
use std::hint::black_box;
use std::time::Instant;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use dugong_proto::{Body, Connection, Event, Response};

#[path = "common/heads.rs"]
mod heads;
use heads::{LARGE, SMALL, TYPICAL};

const HEADS: [(&str, &[u8], usize); 3] = [
    ("small", SMALL, 3),
    ("typical", TYPICAL, 10),
    ("large", LARGE, 32),
];

/// A connection with one GET in flight, its request bytes written out and
/// room in the receive buffer, as after a socket read buffer was set up.
fn connection_awaiting_response() -> Connection {
    let mut conn = Connection::default();
    conn.send_request("GET", "/", [("Host", "example.com")], Body::Empty)
        .expect("valid request");
    while conn.poll_transmit().is_some() {}
    conn.recv_buf().reserve(4096);
    conn
}

/// A connection with `n` HEAD requests in flight, their bytes written out:
/// each response head read then ends its response (no body), so heads can
/// be fed one after another in a steady state.
fn connection_with_heads_in_flight(n: u64) -> Connection {
    let mut conn = Connection::default();
    for _ in 0..n {
        conn.send_request("HEAD", "/", [("Host", "example.com")], Body::Empty)
            .expect("valid request");
    }
    while conn.poll_transmit().is_some() {}
    conn
}

/// Bytes in to the parsed head, through the connection.
fn dugong_head(conn: &mut Connection, bytes: &[u8]) -> Response {
    conn.receive(bytes).expect("receive");
    match conn.poll_event() {
        Ok(Some(Event::Headers(response))) => response,
        other => panic!("expected a response head, got {other:?}"),
    }
}

fn httparse_head<'b>(headers: &mut [httparse::Header<'b>], bytes: &'b [u8]) -> (usize, u16, usize) {
    let mut response = httparse::Response::new(headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => {
            (len, response.code.unwrap_or(0), response.headers.len())
        }
        other => panic!("expected a complete response head, got {other:?}"),
    }
}

fn response_head(c: &mut Criterion) {
    // Both parsers must agree on every head before anything is timed.
    for (name, bytes, fields) in HEADS {
        let response = dugong_head(&mut connection_awaiting_response(), bytes);
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.headers().len(), fields, "{name}");
        let mut headers = [httparse::EMPTY_HEADER; 64];
        assert_eq!(
            httparse_head(&mut headers, bytes),
            (bytes.len(), 200, fields),
            "{name}"
        );
    }

    let mut group = c.benchmark_group("response_head");
    for (name, bytes, fields) in HEADS {
        let id = format!("{name}/{fields}h_{}B", bytes.len());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("dugong", &id), bytes, |b, bytes| {
            b.iter_custom(|iters| {
                let mut conn = connection_with_heads_in_flight(iters);
                let start = Instant::now();
                for _ in 0..iters {
                    let response = dugong_head(&mut conn, black_box(bytes));
                    black_box(&response);
                    match conn.poll_event() {
                        Ok(Some(Event::End { .. })) => {}
                        other => panic!("expected the end of a HEAD response, got {other:?}"),
                    }
                }
                start.elapsed()
            });
        });
        group.bench_with_input(BenchmarkId::new("httparse", &id), bytes, |b, bytes| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            b.iter(|| httparse_head(&mut headers, black_box(bytes)));
        });
    }
    group.finish();
}

const PIPELINED: usize = 1000;
const BODY_LEN: usize = 100;
const READ_SIZE: usize = 16 * 1024;

/// `PIPELINED` responses of `SMALL` (which announces a 100-byte body) and a
/// 100-byte body each.
fn pipelined_stream() -> Vec<u8> {
    let body = [b'x'; BODY_LEN];
    let mut stream = Vec::with_capacity(PIPELINED * (SMALL.len() + BODY_LEN));
    for _ in 0..PIPELINED {
        stream.extend_from_slice(SMALL);
        stream.extend_from_slice(&body);
    }
    stream
}

/// A connection with `PIPELINED` GETs in flight, all written out.
fn connection_pipelining() -> Connection {
    let mut conn = Connection::default();
    for _ in 0..PIPELINED {
        conn.send_request("GET", "/", [("Host", "example.com")], Body::Empty)
            .expect("valid request");
    }
    while conn.poll_transmit().is_some() {}
    conn
}

/// Feeds `stream` in pieces of `read_size` bytes, draining every event after
/// each; returns (responses, body bytes, connection).
fn dugong_pipelined(
    mut conn: Connection,
    stream: &[u8],
    read_size: usize,
) -> (usize, usize, Connection) {
    let (mut heads, mut ends, mut body) = (0, 0, 0);
    for piece in stream.chunks(read_size) {
        conn.receive(piece).expect("receive");
        while let Some(event) = conn.poll_event().expect("valid stream") {
            match event {
                Event::Headers(_) => heads += 1,
                Event::Data(data) => body += data.len(),
                Event::End { .. } => ends += 1,
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    assert_eq!(heads, ends);
    (ends, body, conn)
}

fn pipelined(c: &mut Criterion) {
    let stream = pipelined_stream();
    for read_size in [stream.len(), READ_SIZE] {
        let (responses, body, conn) = dugong_pipelined(connection_pipelining(), &stream, read_size);
        assert_eq!(responses, PIPELINED);
        assert_eq!(body, PIPELINED * BODY_LEN);
        assert!(conn.is_idle());
    }

    let mut group = c.benchmark_group("pipelined_1000");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    let cases = [("one_read", stream.len()), ("16KiB_reads", READ_SIZE)];
    for (name, read_size) in cases {
        group.bench_with_input(BenchmarkId::new("dugong", name), &stream, |b, stream| {
            b.iter_batched(
                connection_pipelining,
                |conn| dugong_pipelined(conn, black_box(stream), read_size),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

const CHUNKED_LEN: usize = 1024 * 1024;
const CHUNK: usize = 4096;

/// One response whose 1 MiB body comes in 4 KiB chunks.
fn chunked_stream() -> Vec<u8> {
    let mut stream = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b'c'; CHUNK];
    for _ in 0..CHUNKED_LEN / CHUNK {
        stream.extend_from_slice(format!("{CHUNK:x}\r\n").as_bytes());
        stream.extend_from_slice(&chunk);
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b"0\r\n\r\n");
    stream
}

fn chunked(c: &mut Criterion) {
    let stream = chunked_stream();
    let run = |stream: &[u8]| {
        let conn = connection_awaiting_response();
        let (responses, body, _) = dugong_pipelined(conn, stream, 64 * 1024);
        (responses, body)
    };
    assert_eq!(run(&stream), (1, CHUNKED_LEN));
    let mut group = c.benchmark_group("chunked_1MiB");
    group.throughput(Throughput::Bytes(CHUNKED_LEN as u64));
    group.bench_with_input(
        BenchmarkId::new("dugong", "64KiB_reads"),
        &stream,
        |b, stream| {
            b.iter(|| run(black_box(stream)));
        },
    );
    group.finish();
}

/// Prints the heap allocations per response while a connection that has
/// already carried a pipelined stream carries another one like it (its
/// buffers have grown to size: steady state).
fn allocations(_: &mut Criterion) {
    let stream = pipelined_stream();
    let (_, _, conn) = dugong_pipelined(connection_pipelining(), &stream, READ_SIZE);
    let mut conn = conn;
    for _ in 0..PIPELINED {
        conn.send_request("GET", "/", [("Host", "example.com")], Body::Empty)
            .expect("valid request");
    }
    while conn.poll_transmit().is_some() {}
    let region = Region::new(GLOBAL);
    let (responses, _, conn) = dugong_pipelined(conn, &stream, READ_SIZE);
    let stats = region.change();
    drop(conn);
    println!(
        "allocations per pipelined response in steady state: {:.2} ({} allocations, {} bytes, for {responses} responses)",
        stats.allocations as f64 / responses as f64,
        stats.allocations,
        stats.bytes_allocated,
    );
}

criterion_group!(benches, allocations, response_head, pipelined, chunked);
criterion_main!(benches);
