//! [`SendHalf`]: the sending direction of a connection. It shares the
//! protocol state with the [`RecvHalf`](crate::RecvHalf) behind a lock that
//! is never held across an `.await`, so the two can run in two tasks at
//! once.
//!
//! Everything here is written as `poll_*` functions, so that the async
//! methods, the body writer and the single-task [`Connection`](crate::Connection)
//! are thin wrappers, and no state lives in a future that could be
//! dropped: what a call queued stays queued in the state machine.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use dugong_net::session::{Session, DISCONNECTED};
use dugong_net::Error;
use dugong_proto::{Body, HeaderField, RequestId};
use tokio::io::{AsyncWrite, WriteHalf};

use crate::shared::{Probe, ReadAhead, Shared, Timer, WriteQueued};
use crate::transport::Transport;

/// How many segments one vectored write passes.
const MAX_SLICES: usize = 64;
/// A transport without vectored writes gets small segments gathered into
/// one write of up to this many bytes.
const GATHER: usize = 64 * 1024;

/// The sending direction of a [`Connection`](crate::Connection), made by
/// [`Connection::split`](crate::Connection::split). Run it in one task and
/// its [`RecvHalf`](crate::RecvHalf) in another to keep any number of
/// requests in flight.
///
/// Its methods are those of [`Connection`](crate::Connection) for sending,
/// with one difference: a request with `Expect: 100-continue` makes
/// [`send_request`](Self::send_request) wait until its body may be sent (the
/// receiving half saw `100 Continue`, the continue delay passed, or a final
/// response cancelled the body), and a whole body ([`Body::Full`]) is then
/// written before it returns. The receiving half must be read for that to
/// happen (or the continue delay pass).
///
/// Dropping the sending half tells the receiving half that no more requests
/// come: its [`next_response`](crate::RecvHalf::next_response) returns
/// `None` once every response is read. It does not close the transport.
pub struct SendHalf<T = Box<dyn Transport>> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) writer: Option<WriteHalf<T>>,
    timer: Timer,
    /// Where small segments are gathered for transports without vectored
    /// writes.
    scratch: Vec<u8>,
    /// Nothing was written since the transport was last flushed: a call
    /// with nothing queued need not flush it again.
    flushed: bool,
}

impl<T> fmt::Debug for SendHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.shared.lock();
        f.debug_struct("SendHalf")
            .field("in_flight", &core.session.proto().in_flight())
            .field("queued_bytes", &core.session.proto().transmit_len())
            .field("broken", &core.session.broken())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for SendHalf<T> {
    fn drop(&mut self) {
        let mut core = self.shared.lock();
        core.sender_gone = true;
        core.wake_receiver();
    }
}

impl<T: Transport> SendHalf<T> {
    pub(crate) fn new(shared: Arc<Shared>, writer: WriteHalf<T>) -> Self {
        SendHalf {
            shared,
            writer: Some(writer),
            timer: Timer::default(),
            scratch: Vec::new(),
            flushed: true,
        }
    }

    /// Sends a request head, and the body if it is given whole; see
    /// [`Connection::send_request`](crate::Connection::send_request). With
    /// `Expect: 100-continue` it returns once the body may be sent (and a
    /// whole body is written), or was refused by a final response.
    ///
    /// # Cancel safety
    ///
    /// The request is queued when the future is first polled. If the
    /// future is dropped before it completes, the rest of the request's
    /// bytes (and a whole body released later by `100 Continue`) are
    /// written by the next call that writes ([`flush`](Self::flush) or any
    /// `send_*`).
    ///
    /// # Errors
    ///
    /// As [`Connection::send_request`](crate::Connection::send_request).
    pub async fn send_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        poll_fn(|cx| self.poll_room(cx)).await?;
        let id = self.queue_request(method, target, headers, body)?;
        self.flush().await?;
        if self.shared.lock().session.proto().awaiting_continue() == Some(id) {
            poll_fn(|cx| self.poll_release(cx)).await?;
            self.flush().await?;
        }
        Ok(id)
    }

    /// Sends a piece of the body of the request being sent, without copying
    /// it; waits first if the body is held for `100 Continue`.
    ///
    /// # Cancel safety
    ///
    /// Dropped while waiting for `100 Continue`, nothing was sent. Dropped
    /// later, the piece is queued and written by the next call that writes.
    ///
    /// # Errors
    ///
    /// As [`Connection::send_body`](crate::Connection::send_body).
    pub async fn send_body(&mut self, data: Bytes) -> Result<(), Error> {
        poll_fn(|cx| self.poll_release(cx)).await?;
        self.queue_body(data)?;
        self.flush().await
    }

    /// Like [`send_body`](Self::send_body), copying `data`.
    ///
    /// # Cancel safety
    ///
    /// As [`send_body`](Self::send_body).
    ///
    /// # Errors
    ///
    /// As [`send_body`](Self::send_body).
    pub async fn write_body(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_body(Bytes::copy_from_slice(data)).await
    }

    /// Ends a chunked request body.
    ///
    /// # Cancel safety
    ///
    /// As [`send_body`](Self::send_body).
    ///
    /// # Errors
    ///
    /// As [`Connection::finish`](crate::Connection::finish).
    pub async fn finish(&mut self) -> Result<(), Error> {
        self.finish_with_trailers([] as [(&str, &str); 0]).await
    }

    /// Ends a chunked request body with trailer fields.
    ///
    /// # Cancel safety
    ///
    /// As [`send_body`](Self::send_body).
    ///
    /// # Errors
    ///
    /// As [`Connection::finish_with_trailers`](crate::Connection::finish_with_trailers).
    pub async fn finish_with_trailers<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        poll_fn(|cx| self.poll_release(cx)).await?;
        self.queue_finish(trailers)?;
        self.flush().await
    }

    /// Writes everything queued (what a cancelled call left behind).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: what is not written yet stays queued.
    ///
    /// # Errors
    ///
    /// [`Closed`](dugong_net::ErrorKind::Closed) if the peer went away,
    /// timeouts and I/O errors.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush_all(cx, None)).await
    }

    /// True if the connection can take another request now; see
    /// [`Connection::is_usable`](crate::Connection::is_usable).
    pub fn is_usable(&self) -> bool {
        self.shared.usable()
    }

    /// The error that broke the connection, if one did.
    pub fn error(&self) -> Option<Error> {
        self.shared.lock().session.error()
    }

    /// True if one more request fits in the pipelining window; see
    /// [`Connection::has_room`](crate::Connection::has_room).
    /// [`send_request`](Self::send_request) waits for it by itself.
    pub fn has_room(&self) -> bool {
        self.shared.has_room()
    }

    /// Queues a request without writing it and without waiting for room:
    /// requests queued one after another go out together, in one vectored
    /// write, at the next [`flush`](Self::flush) or `send_*` call. Use
    /// [`has_room`](Self::has_room) to stay within the pipelining window.
    /// A body given whole is queued too; one held for `100 Continue` is
    /// written by a later call once released.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), dugong_tokio::Error> {
    /// let conn = dugong_tokio::Connection::connect("127.0.0.1", 8080).await?;
    /// let (mut send, mut recv) = conn.split();
    /// let sender = tokio::spawn(async move {
    ///     for i in 0..1000 {
    ///         if !send.has_room() {
    ///             send.flush().await?;
    ///             // `send_request` waits for room, then writes it all.
    ///             send.send_request("GET", &format!("/{i}"), [("A", "b")], dugong_tokio::Body::Empty).await?;
    ///             continue;
    ///         }
    ///         send.queue_request("GET", &format!("/{i}"), [("A", "b")], dugong_tokio::Body::Empty)?;
    ///     }
    ///     send.flush().await
    /// });
    /// for _ in 0..1000 {
    ///     recv.read_response().await?;
    ///     recv.discard().await?;
    /// }
    /// sender.await.expect("sender")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Connection::send_request`](crate::Connection::send_request),
    /// without the I/O errors (nothing is written).
    pub fn queue_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let shared = &*self.shared;
        let mut core = shared.lock();
        shared.tick(&mut core);
        let id = core.session.queue_request(method, target, headers, body)?;
        core.wake_receiver();
        Ok(id)
    }

    pub(crate) fn queue_body(&self, data: Bytes) -> Result<(), Error> {
        self.shared.lock().session.queue_body(data)
    }

    pub(crate) fn queue_finish<I>(&self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.shared.lock().session.queue_finish(trailers)
    }

    /// A [`Probe`] of this connection, for the pool.
    pub(crate) fn probe(&self) -> Probe {
        Probe::new(Arc::clone(&self.shared))
    }

    /// True while the caller owes body bytes of the request being sent.
    /// Requests sent whose response is not read to its end.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    pub(crate) fn sending_body(&self) -> bool {
        self.shared.lock().session.proto().is_sending_body()
    }

    /// Waits while a body is held for `100 Continue` (until the receiving
    /// half sees the answer, or the continue delay passes).
    pub(crate) fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            {
                let mut core = self.shared.lock();
                core.session.check()?;
                if core.session.proto().awaiting_continue().is_none() {
                    return Poll::Ready(Ok(()));
                }
                core.wait_as_sender(cx.waker());
            }
            ready!(self.timer.poll(&self.shared, cx))?;
        }
    }

    /// Ready when fewer than the builder's
    /// [`max_in_flight`](crate::Builder::max_in_flight) requests are in
    /// flight (or the receiving half is gone, or the connection broke).
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut core = self.shared.lock();
        core.session.check()?;
        if core.receiver_gone || core.session.has_room() {
            return Poll::Ready(Ok(()));
        }
        core.wait_as_sender(cx.waker());
        Poll::Pending
    }

    /// Writes what is queued until it is all written (and the transport
    /// flushed) or the transport would block. No deadline is involved.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            let mut core = self.shared.lock();
            core.session.check()?;
            let Some(writer) = self.writer.as_mut() else {
                return Poll::Ready(Err(Error::Usage(DISCONNECTED)));
            };
            let written = if core.session.proto().transmit_len() == 0 {
                if self.flushed {
                    return Poll::Ready(Ok(()));
                }
                match ready!(Pin::new(writer).poll_flush(cx)) {
                    Ok(()) => {
                        self.flushed = true;
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) => Err(e),
                }
            } else {
                self.flushed = false;
                core.session.check_send()?;
                ready!(poll_write_queued(
                    writer,
                    &mut self.scratch,
                    cx,
                    &core.session
                ))
            };
            if let Err(e) = core.session.write_done(written) {
                core.wake_both();
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Writes everything queued, waiting as needed. With `recv` (one task
    /// drives both directions), reads what arrives meanwhile into the
    /// receive buffer, up to `max_buffered`, so a server that answers
    /// before it reads more requests cannot deadlock the connection.
    pub(crate) fn poll_flush_all(
        &mut self,
        cx: &mut Context<'_>,
        mut recv: Option<&mut (dyn ReadAhead + '_)>,
    ) -> Poll<Result<(), Error>> {
        loop {
            if let Poll::Ready(result) = self.poll_send(cx) {
                return Poll::Ready(result);
            }
            if let Some(recv) = recv.as_deref_mut() {
                match recv.poll_read_ahead(cx) {
                    Poll::Ready(Ok(true)) => {
                        let mut core = self.shared.lock();
                        if let Err(error) = core.session.check_buffered() {
                            core.wake_both();
                            return Poll::Ready(Err(error));
                        }
                        continue;
                    }
                    Poll::Ready(Ok(false)) | Poll::Pending => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                }
            }
            // Woken by the transport, the timer, or the other half breaking
            // the connection.
            self.shared.lock().park_sender(cx.waker());
            ready!(self.timer.poll(&self.shared, cx))?;
        }
    }
}

impl<T: Transport> WriteQueued for SendHalf<T> {
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_send(cx)
    }
}

/// One write of the queued segments: vectored if the transport supports
/// it, otherwise small segments gathered into one buffer.
fn poll_write_queued<T: Transport>(
    writer: &mut WriteHalf<T>,
    scratch: &mut Vec<u8>,
    cx: &mut Context<'_>,
    session: &Session,
) -> Poll<io::Result<usize>> {
    let segments = session.proto().transmit_segments();
    if segments.len() == 1 || writer.is_write_vectored() {
        let mut slots = [IoSlice::new(&[]); MAX_SLICES];
        return match session.io_slices(&mut slots) {
            [one] => Pin::new(writer).poll_write(cx, one),
            slices => Pin::new(writer).poll_write_vectored(cx, slices),
        };
    }
    scratch.clear();
    for segment in segments {
        if scratch.is_empty() && segment.len() >= GATHER {
            return Pin::new(writer).poll_write(cx, segment);
        }
        if scratch.len() + segment.len() > GATHER {
            break;
        }
        scratch.extend_from_slice(segment);
    }
    Pin::new(writer).poll_write(cx, scratch)
}
