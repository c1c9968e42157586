//! The dugong-tokio clients, on the current-thread runtime, as the
//! crate's README shows them.

use std::cell::Cell;

use dugong_tokio::{Body, Builder, Connection, RecvHalf, Request};

use super::{expect_ok, Ctx, Size, BODY_BUF, HOST, PATH};
use crate::window::Measurement;
use crate::BoxError;

/// No header fields: the connection adds `Host`.
const NO_FIELDS: [(&str, &str); 0] = [];

/// Settings for every run: default ones, no trace, and the pipelined
/// window as the bound on requests in flight of a split connection.
fn builder(ctx: &Ctx<'_>) -> Builder {
    Builder::new(HOST, ctx.port)
        .no_trace()
        .max_in_flight(ctx.size.depth())
}

/// Reads the current response's body to its end: small bodies as
/// zero-copy pieces (`read_chunk`), large ones with `read_body` into the
/// caller's reused buffer (read straight from the socket).
async fn read_body(conn: &mut Connection, size: Size, buf: &mut [u8]) -> Result<u64, BoxError> {
    let mut total = 0u64;
    match size {
        Size::Small => {
            while let Some(piece) = conn.read_chunk().await? {
                total += piece.len() as u64;
            }
        }
        Size::Large => loop {
            let n = conn.read_body(buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
        },
    }
    Ok(total)
}

/// As [`read_body`], from the receiving half of a split connection.
async fn read_half_body(recv: &mut RecvHalf, size: Size, buf: &mut [u8]) -> Result<u64, BoxError> {
    let mut total = 0u64;
    match size {
        Size::Small => {
            while let Some(piece) = recv.read_chunk().await? {
                total += piece.len() as u64;
            }
        }
        Size::Large => loop {
            let n = recv.read_body(buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
        },
    }
    Ok(total)
}

/// Pipelined with `split`: the sending half queues requests while the
/// window has room and writes each batch with one `flush` (when the window
/// is full, `send_request` waits for room), while the receiving half reads
/// responses; both branches of one `join!`.
pub(super) fn pipelined_split(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    ctx.rt.block_on(async {
        let conn = builder(ctx).connect().await?;
        let (mut send, mut recv) = conn.split();
        let mut buf = vec![0u8; BODY_BUF];
        let mut window = ctx.window();
        let stop = Cell::new(false);
        let stop = &stop;
        let half = (ctx.size.depth() / 2).max(1);
        let sender = async move {
            let mut batch = 0;
            while !stop.get() {
                if batch < half && send.has_room() {
                    send.queue_request("GET", PATH, NO_FIELDS, Body::Empty)?;
                    batch += 1;
                } else if batch > 0 {
                    send.flush().await?;
                    batch = 0;
                } else {
                    // No room: wait for it, then send (and write) one.
                    send.send_request("GET", PATH, NO_FIELDS, Body::Empty)
                        .await?;
                }
            }
            send.flush().await?;
            // Dropping the half tells the receiver no more requests come.
            drop(send);
            Ok::<(), BoxError>(())
        };
        let receiver = async {
            while let Some(head) = recv.next_response().await? {
                expect_ok(head.status())?;
                let body = read_half_body(&mut recv, ctx.size, &mut buf).await?;
                if !window.record(body) {
                    stop.set(true);
                }
            }
            Ok::<(), BoxError>(())
        };
        let (sent, received) = tokio::join!(sender, receiver);
        sent?;
        received?;
        window.finish()
    })
}

/// Pipelined with `Connection::pipeline`: an iterator of requests in,
/// whole responses out, up to a window in flight (topped up, in one write,
/// when half of it is answered).
pub(super) fn pipelined_stream(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    ctx.rt.block_on(async {
        let mut conn = builder(ctx).connect().await?;
        let mut window = ctx.window();
        let stop = Cell::new(false);
        let requests = std::iter::from_fn(|| (!stop.get()).then(|| Request::get(PATH)));
        let mut responses = conn.pipeline(requests, ctx.size.depth());
        while let Some(response) = responses.next().await {
            let response = response?;
            expect_ok(response.head().status())?;
            if !window.record(response.body().len() as u64) {
                stop.set(true);
            }
        }
        window.finish()
    })
}

/// One at a time: `send_request`, `read_response`, the body, again.
pub(super) fn one_at_a_time(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    ctx.rt.block_on(async {
        let mut conn = builder(ctx).connect().await?;
        let mut buf = vec![0u8; BODY_BUF];
        let mut window = ctx.window();
        loop {
            conn.send_request("GET", PATH, NO_FIELDS, Body::Empty)
                .await?;
            expect_ok(conn.read_response().await?.status())?;
            let body = read_body(&mut conn, ctx.size, &mut buf).await?;
            if !window.record(body) {
                break;
            }
        }
        window.finish()
    })
}
