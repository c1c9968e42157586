//! The dugong-blocking clients, as the crate's README shows them.

use dugong_blocking::{Body, Builder, Connection};

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
