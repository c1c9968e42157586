//! hyper 1.x: `hyper::client::conn::http1::handshake` over a tokio
//! `TcpStream`, keep-alive, one request at a time (hyper's HTTP/1
//! connection does not pipeline), each body read whole with
//! `http_body_util::BodyExt::collect`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::{expect_ok, Ctx, HOST, PATH};
use crate::window::Measurement;
use crate::BoxError;

/// One at a time over one connection.
pub(super) fn one_at_a_time(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    ctx.rt.block_on(async {
        let stream = tokio::net::TcpStream::connect((HOST, ctx.port)).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let task = tokio::spawn(conn);
        let authority = ctx.authority();
        let mut window = ctx.window();
        loop {
            sender.ready().await?;
            let request = http::Request::get(PATH)
                .header(http::header::HOST, &authority)
                .body(Empty::<Bytes>::new())?;
            let response = sender.send_request(request).await?;
            expect_ok(response.status().as_u16())?;
            let body = response.into_body().collect().await?.to_bytes();
            if !window.record(body.len() as u64) {
                break;
            }
        }
        // The connection task ends (closing the socket) once the sender
        // is gone.
        drop(sender);
        task.await??;
        window.finish()
    })
}
