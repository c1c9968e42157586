//! [`Connection::pipeline`](crate::Connection::pipeline): many requests
//! in, their complete responses out, in order, with a bounded number in
//! flight.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;

use dugong_net::session::{Collected, Head};
use dugong_net::{Error, FullResponse, Request};
use dugong_proto::Response;
use futures_core::Stream;

use crate::conn::Connection;
use crate::transport::Transport;

impl<T: Transport> Connection<T> {
    /// Sends `requests` and yields their responses (head and whole body),
    /// in order, keeping up to `depth` requests in flight (at least 1).
    /// See [`Pipeline`].
    ///
    /// ```no_run
    /// use dugong_tokio::{Connection, Request};
    ///
    /// # async fn f() -> Result<(), dugong_tokio::Error> {
    /// let mut conn = Connection::connect("127.0.0.1", 8080).await?;
    /// let requests = (0..1000).map(|i| Request::get(format!("/item/{i}")));
    /// let mut responses = conn.pipeline(requests, 64);
    /// while let Some(response) = responses.next().await {
    ///     let response = response?;
    ///     println!("{} {} bytes", response.head().status(), response.body().len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pipeline<I>(&mut self, requests: I, depth: usize) -> Pipeline<'_, T, I::IntoIter>
    where
        I: IntoIterator<Item = Request>,
    {
        Pipeline::new(self, requests.into_iter(), depth)
    }
}

/// The responses to a sequence of requests sent over one
/// [`Connection`], made by [`Connection::pipeline`]. A [`Stream`] of
/// `Result<FullResponse, Error>` (or call [`next`](Self::next)).
///
/// Up to `depth` requests are in flight; when half of them are answered,
/// the next ones are queued together and written in one vectored write
/// while responses are read. Responses come in the order of the requests.
/// Requests with `Expect: 100-continue` work (the body goes out after the
/// `100 Continue`), but hold back the requests after them until then.
///
/// Each body is held in memory whole, so it is bounded as
/// [`Connection::read_all`] is, by
/// [`Builder::max_read_all`](crate::Builder::max_read_all) (16 MiB by
/// default): a longer body ends the stream with [`Error::BodyTooLarge`] as
/// soon as the bytes read pass the limit, and breaks the connection.
///
/// The stream ends after the last response, or after the first error: a
/// closed connection's error ([`Error::closed`]) says which requests got no
/// response and which of them are safe to send again on a new connection.
/// Dropping the stream leaves the connection with the rest of the in-flight
/// responses still to read.
pub struct Pipeline<'a, T, I> {
    conn: &'a mut Connection<T>,
    requests: I,
    depth: usize,
    /// A request the connection refused for now (behind a body held for
    /// `100 Continue`), and why.
    held: Option<(Request, Error)>,
    /// The head and body so far of the response being read.
    current: Option<(Response, Gathered)>,
    done: bool,
}

impl<T, I> fmt::Debug for Pipeline<'_, T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("depth", &self.depth)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Transport, I: Iterator<Item = Request>> Pipeline<'a, T, I> {
    pub(crate) fn new(conn: &'a mut Connection<T>, requests: I, depth: usize) -> Self {
        Pipeline {
            conn,
            requests,
            depth: depth.max(1),
            held: None,
            current: None,
            done: false,
        }
    }

    /// The next response, `None` after the last one (or after an error).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a response being read when the future is dropped is
    /// kept and returned by the next call.
    pub async fn next(&mut self) -> Option<Result<FullResponse, Error>> {
        std::future::poll_fn(|cx| self.poll_response(cx)).await
    }

    /// Queues requests while fewer than half of `depth` are in flight, up
    /// to `depth` and while the builder's window has room (its byte bound
    /// keeps large responses from piling up ahead of the reader), all
    /// under one lock (as [`SendHalf::queue_request`](crate::SendHalf::queue_request)
    /// would queue each).
    fn top_up(&mut self) -> Result<(), Error> {
        let (send, _) = self.conn.halves();
        // (Looks without the lock first: most calls find nothing to do.)
        if send.in_flight() > self.depth / 2 || !send.has_room() {
            return Ok(());
        }
        let shared = &*send.shared;
        let mut core = shared.lock();
        shared.tick(&mut core);
        let mut in_flight = core.session.proto().in_flight();
        let mut queued = false;
        let result = loop {
            if in_flight >= self.depth || !core.session.has_room() {
                break Ok(());
            }
            // (`held` is looked at before it is taken: taking moves it
            // whole, even when empty.)
            let request = if self.held.is_some() {
                self.held.take().map(|(request, _)| request)
            } else {
                self.requests.next()
            };
            let Some(request) = request else {
                break Ok(());
            };
            let body = request.to_body();
            let headers = request.headers();
            match core
                .session
                .queue_request(request.method(), request.target(), headers, body)
            {
                Ok(_) => (in_flight, queued) = (in_flight + 1, true),
                Err(e @ Error::Protocol(dugong_proto::Error::State(_))) => {
                    // Try again once the responses in flight are read.
                    self.held = Some((request, e));
                    break Ok(());
                }
                Err(e) => break Err(e),
            }
        };
        if queued {
            // (A receiving half waits for requests only once split; as
            // `queue_request` does.)
            core.wake_receiver();
        }
        result
    }

    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<FullResponse, Error>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if let Err(e) = self.top_up() {
                self.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            let (send, recv) = self.conn.halves();
            let Some((_, body)) = &mut self.current else {
                let idle = send.in_flight() == 0 && !recv.body_pending();
                if idle {
                    // Everything sent was answered; a request still held
                    // can never be sent on this connection.
                    self.done = true;
                    return Poll::Ready(self.held.take().map(|(_, e)| Err(e)));
                }
                // Most bodies are in the receive buffer with their head:
                // both are read under one lock.
                let mut body = Collected::new();
                match ready!(recv.poll_read_whole(cx, Some(send), &mut body)) {
                    Ok(Some((Head::Final(head), true))) => {
                        let trailers = recv.trailers().cloned().unwrap_or_default();
                        return Poll::Ready(Some(Ok(FullResponse::new(
                            head,
                            body.into_bytes(),
                            trailers,
                        ))));
                    }
                    Ok(Some((Head::Final(head), false))) => {
                        // A large body: the rest straight from the
                        // transport into one buffer (no copy through the
                        // receive buffer).
                        let body = match recv.gather_len(body.len()) {
                            Some(len) => {
                                let mut all = Vec::with_capacity(len);
                                all.extend_from_slice(&body.into_bytes());
                                Gathered::Direct(all)
                            }
                            None => Gathered::Pieces(body),
                        };
                        self.current = Some((head, body));
                    }
                    Ok(Some((Head::Continue(_), _))) => {}
                    Ok(None) => self.done = true,
                    Err(e) => {
                        self.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                continue;
            };
            let result = match body {
                Gathered::Pieces(body) => ready!(recv.poll_collect(cx, Some(send), body)),
                Gathered::Direct(all) => ready!(recv.poll_gather(cx, Some(send), all)),
            };
            match result {
                Ok(()) => {
                    let trailers = recv.trailers().cloned().unwrap_or_default();
                    // Invariant: `current` is Some in this branch.
                    let (head, body) = self.current.take().expect("a response is being read");
                    let body = match body {
                        Gathered::Pieces(body) => body.into_bytes(),
                        Gathered::Direct(all) => Bytes::from(all),
                    };
                    return Poll::Ready(Some(Ok(FullResponse::new(head, body, trailers))));
                }
                Err(e) => {
                    self.current = None;
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

/// The body of the response being read, so far.
enum Gathered {
    /// Pieces of the receive buffer (one kept as it is).
    Pieces(Collected),
    /// A buffer reserved for the whole body, filled straight from the
    /// transport where it can be.
    Direct(Vec<u8>),
}

impl<T: Transport, I: Iterator<Item = Request> + Unpin> Stream for Pipeline<'_, T, I> {
    type Item = Result<FullResponse, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_response(cx)
    }
}
