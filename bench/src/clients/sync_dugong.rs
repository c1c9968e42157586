//! The dugong-blocking clients, as the crate's README shows them: one
//! `Connection` pipelined or one request at a time, and the pooled
//! `Client` pipelining from one thread with `start`.

use std::collections::VecDeque;

use dugong_blocking::{Body, Builder, Client, ClientResponse, Connection, PoolConfig};

use super::{expect_ok, Ctx, Size, BODY_BUF, HOST, PATH};
use crate::window::Measurement;
use crate::BoxError;

/// No header fields: the connection adds `Host`.
const NO_FIELDS: [(&str, &str); 0] = [];

/// A connection with default settings (no timeout, no proxy, no trace).
fn connect(ctx: &Ctx<'_>) -> Result<Connection, BoxError> {
    Ok(Builder::new(HOST, ctx.port).no_trace().connect()?)
}

/// Reads the current response's body to its end: small bodies as
/// zero-copy pieces (`read_chunk`), large ones with `read_body` into the
/// caller's reused buffer (read straight from the socket).
fn read_body(conn: &mut Connection, size: Size, buf: &mut [u8]) -> Result<u64, BoxError> {
    let mut total = 0u64;
    match size {
        Size::Small => {
            while let Some(piece) = conn.read_chunk()? {
                total += piece.len() as u64;
            }
        }
        Size::Large => loop {
            let n = conn.read_body(buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        },
    }
    Ok(total)
}

/// Pipelined from one thread: `queue_request` while `has_room` (up to a
/// window of requests), one `flush`, then read half a window of responses.
pub(super) fn pipelined(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    let mut conn = connect(ctx)?;
    let mut buf = vec![0u8; BODY_BUF];
    let depth = ctx.size.depth();
    let half = (depth / 2).max(1);
    let mut window = ctx.window();
    let mut in_flight = 0;
    let mut sending = true;
    loop {
        if sending {
            while in_flight < depth && conn.has_room() {
                conn.queue_request("GET", PATH, NO_FIELDS, Body::Empty)?;
                in_flight += 1;
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
            let body = read_body(&mut conn, ctx.size, &mut buf)?;
            in_flight -= 1;
            if !window.record(body) {
                sending = false;
            }
        }
        if !sending && in_flight == 0 {
            break;
        }
    }
    window.finish()
}

/// One at a time: `send_request`, `read_response`, the body, again.
pub(super) fn one_at_a_time(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    let mut conn = connect(ctx)?;
    let mut buf = vec![0u8; BODY_BUF];
    let mut window = ctx.window();
    loop {
        conn.send_request("GET", PATH, NO_FIELDS, Body::Empty)?;
        expect_ok(conn.read_response()?.status())?;
        let body = read_body(&mut conn, ctx.size, &mut buf)?;
        if !window.record(body) {
            break;
        }
    }
    window.finish()
}

/// The pool's depth in the pooled rows (its default).
const POOL_DEPTH: usize = 16;

/// dugong's `Client` with 4 connections × depth 16 (its defaults).
pub(super) fn pooled_4x16(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    pooled(ctx, 4)
}

/// dugong's `Client` with 1 connection × depth 16: the pool's own cost
/// next to `pipelined`.
pub(super) fn pooled_1x16(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    pooled(ctx, 1)
}

/// The pooled `Client` driven from one thread: `start` until
/// `connections × depth` requests are pending (small bodies; one per
/// connection for 1 MiB bodies), then `wait` for the oldest, read its
/// body, and top up. The pool puts each request on the least loaded
/// connection with room and opens another only when all are full, so the
/// requests spread over every connection.
///
/// With 1 MiB bodies the 512 KiB bytes-in-flight window leaves room for
/// one response per connection (as in `pipelined`); a request started
/// while every connection is full and no more may be opened goes deeper
/// on one whose window is full, where the sending half waits for a read
/// that only this thread would make.
fn pooled(ctx: &Ctx<'_>, connections: usize) -> Result<Measurement, BoxError> {
    let mut config = PoolConfig::default();
    config.max_per_origin = connections;
    config.depth = POOL_DEPTH;
    let client = Client::with_settings(&Builder::new(HOST, ctx.port).no_trace(), config);
    let url = format!("http://{}{PATH}", ctx.authority());
    let most = match ctx.size {
        Size::Small => connections * POOL_DEPTH,
        Size::Large => connections,
    };
    let mut pending = VecDeque::with_capacity(most);
    let mut buf = vec![0u8; BODY_BUF];
    let mut window = ctx.window();
    let mut sending = true;
    loop {
        while sending && pending.len() < most {
            pending.push_back(client.start("GET", &url, NO_FIELDS, Body::Empty)?);
        }
        let Some(next) = pending.pop_front() else {
            break;
        };
        let mut response = next.wait()?;
        expect_ok(response.status())?;
        let body = read_pooled_body(&mut response, ctx.size, &mut buf)?;
        if !window.record(body) {
            sending = false;
        }
    }
    // Closes the pool's connections, so the server sends their records.
    drop(client);
    window.finish()
}

/// [`read_body`] for a pooled response.
fn read_pooled_body(
    response: &mut ClientResponse,
    size: Size,
    buf: &mut [u8],
) -> Result<u64, BoxError> {
    let mut total = 0u64;
    match size {
        Size::Small => {
            while let Some(piece) = response.read_chunk()? {
                total += piece.len() as u64;
            }
        }
        Size::Large => loop {
            let n = response.read_body(buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        },
    }
    Ok(total)
}
