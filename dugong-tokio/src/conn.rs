//! [`Connection`]: one HTTP/1.1 connection driven from one task, or split
//! into a [`SendHalf`] and a [`RecvHalf`] for two.
//!
//! A method that makes a type of another module lives with that type, so
//! that no module depends on one that depends on it: `body_reader`,
//! `body_stream` and `body_writer` are in `body.rs`, `pipeline` in
//! `pipeline.rs`, `connect` and `reconnect` in `builder.rs`.

use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use dugong_net::{Error, PerConnection, Settings};
use dugong_proto::{Body, HeaderField, Headers, RequestId, Response};
use tokio::io::AsyncWriteExt;

use crate::recv::RecvHalf;
use crate::send::SendHalf;
use crate::shared::Shared;
use crate::transport::Transport;

/// How long `disconnect` waits for the transport to shut down (a TLS
/// `close_notify`) before it drops it anyway.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(1);

/// An HTTP/1.1 connection to one server: send requests (pipelined, as many
/// as you like before reading), then read their responses in order.
///
/// Made by [`Connection::connect`] or a [`Builder`](crate::Builder) (over
/// TCP, TLS or a proxy: a `Connection<Box<dyn Transport>>`, the default
/// type), or over any transport with [`Builder::over`](crate::Builder::over)
/// (a `Connection<T>`).
///
/// One task can send many requests before reading without deadlock: while
/// a write is blocked, the connection keeps reading responses into its
/// buffer (up to [`Builder::max_buffered`](crate::Builder::max_buffered)).
/// To send and receive at the same time without that buffer,
/// [`split`](Self::split) it.
///
/// # Errors and reuse
///
/// Every method returns [`dugong_net::Error`]; its
/// [`kind`](Error::kind) says what happened and
/// [`is_temporary`](Error::is_temporary) whether retrying makes sense. The
/// caller's mistakes (a call at the wrong time, bad request data) leave the
/// connection as it was. Any other error — from the server, the transport,
/// a timeout — breaks it: every later call returns that error again, until
/// [`reconnect`](Self::reconnect).
///
/// # Cancel safety
///
/// Every async method documents what happens when its future is dropped
/// before it completes. In short: nothing read is ever lost (bytes stay in
/// the receive buffer, events are stored before any `.await`), and what a
/// dropped send call queued is written by the next call that writes or
/// reads (or [`flush`](Self::flush)).
pub struct Connection<T = Box<dyn Transport>> {
    send: SendHalf<T>,
    recv: RecvHalf<T>,
}

impl<T> fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.send.shared.lock();
        f.debug_struct("Connection")
            .field("in_flight", &core.session.proto().in_flight())
            .field("broken", &core.session.broken())
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Connection<T> {
    /// A connection over `transport` with the builder's `settings` and
    /// this connection's own values.
    pub(crate) fn new(transport: T, settings: &Settings, per: PerConnection) -> Connection<T> {
        let max_read_all = settings.max_read_all();
        let shared = Arc::new(Shared::new(settings, per));
        let (reader, writer) = tokio::io::split(transport);
        Connection {
            send: SendHalf::new(Arc::clone(&shared), writer),
            recv: RecvHalf::new(shared, reader, max_read_all),
        }
    }

    // ----- sending ----------------------------------------------------------

    /// Sends a request head, and the body if it is given whole. Returns
    /// once the bytes are written, without waiting for the response: call
    /// it again to pipeline more requests.
    ///
    /// - `target` is the path and query (`/a?b`); through an HTTP proxy it
    ///   is sent in absolute form for you.
    /// - `Host` is added unless `headers` has one.
    /// - `body` decides the framing: [`Body::Empty`], [`Body::Full`] (sent
    ///   now), [`Body::Sized`] (then [`send_body`](Self::send_body) or
    ///   [`write_body`](Self::write_body) exactly that many bytes), or
    ///   [`Body::Chunked`] (then pieces, and [`finish`](Self::finish)).
    /// - With an `Expect: 100-continue` field the body waits:
    ///   [`read_response`](Self::read_response) returns a `100 Continue`
    ///   (the server's, or made up once the continue delay passed) before
    ///   you send it (a whole body is then sent for you), or the final
    ///   response, in which case you must not.
    ///
    /// # Cancel safety
    ///
    /// The request is queued when the future is first polled; if the
    /// future is dropped before it completes, the rest of its bytes are
    /// written by the next call that writes or reads.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`](dugong_net::ErrorKind::Usage) for invalid
    /// request data or a request while the previous body is unfinished (the
    /// connection is unchanged); [`ErrorKind::Closed`](dugong_net::ErrorKind::Closed)
    /// if the server is gone; timeouts and I/O errors.
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
        self.check_idle().await?;
        let id = self.send.queue_request(method, target, headers, body)?;
        self.flush().await?;
        Ok(id)
    }

    /// On an idle connection, bytes from the server answer nothing: look
    /// for them (with one read that does not wait) before a new request
    /// could be taken to be their request. A server that closed the idle
    /// connection is reported as closed.
    async fn check_idle(&mut self) -> Result<(), Error> {
        // Only where a new request could go: otherwise the state machine
        // refuses it, saying why.
        if self.response_pending() || self.send.shared.lock().session.proto().must_close() {
            return Ok(());
        }
        self.check_unsolicited().await?;
        self.send.shared.lock().session.check_idle()
    }

    /// With no request in flight: takes what the transport has ready
    /// (one read that does not wait) and lets the state machine judge
    /// every byte received (bytes that answer nothing are its error).
    async fn check_unsolicited(&mut self) -> Result<(), Error> {
        poll_fn(|cx| match self.recv.poll_fill(cx) {
            Poll::Pending => Poll::Ready(Ok(())),
            Poll::Ready(result) => Poll::Ready(result.map(|_| ())),
        })
        .await?;
        let mut core = self.send.shared.lock();
        dugong_net::session::check_idle(core.session.proto_mut())
    }

    /// Sends an [`http::Request`] (feature `http`): its method, the path
    /// and query of its URI (the authority for `CONNECT`), its header fields
    /// (values as bytes, latin-1 kept; repeated names in order; with `Host`
    /// from the URI's authority if it has none), and its body (any type that
    /// converts into a [`Body`]: `()`, `Bytes`, `Vec<u8>`, `&'static str`,
    /// or a `Body` itself). See [`http_interop`](crate::http_interop) for
    /// the conversion, and for turning the response head into
    /// `http::response::Parts` or an `http::Response`.
    ///
    /// # Cancel safety
    ///
    /// As [`send_request`](Self::send_request).
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request), and
    /// [`Error::InvalidUrl`](dugong_net::Error::InvalidUrl) for a URI with
    /// nothing to send as the target. A `Content-Length` or
    /// `Transfer-Encoding` header is refused (the body sets the framing)
    /// and nothing is sent.
    #[cfg(feature = "http")]
    pub async fn send_http<B: Into<Body>>(
        &mut self,
        request: http::Request<B>,
    ) -> Result<RequestId, Error> {
        let (head, body) = dugong_net::http_interop::request(request)?;
        self.send_request(&head.method, &head.target, &head.fields, body)
            .await
    }

    /// Sends a piece of the body of the request being sent (one sent with
    /// [`Body::Sized`] or [`Body::Chunked`]), without copying it.
    ///
    /// # Cancel safety
    ///
    /// The piece is queued when the future is first polled; the rest of it
    /// is written by the next call that writes or reads.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage): more bytes than announced
    /// (nothing of the piece is sent), no body is being sent, or the body
    /// still waits for `100 Continue` or was refused by a final response.
    /// [`Closed`](dugong_net::ErrorKind::Closed): the server went away; the
    /// response it may have sent first can still be read.
    pub async fn send_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.send.queue_body(data)?;
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
    /// [`Usage`](dugong_net::ErrorKind::Usage) if no chunked body is being
    /// sent; transport errors.
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
    /// As [`finish`](Self::finish), and
    /// [`Usage`](dugong_net::ErrorKind::Usage) for a field that may not be a
    /// trailer.
    pub async fn finish_with_trailers<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.send.queue_finish(trailers)?;
        self.flush().await
    }

    /// Queues a request without writing it: requests queued one after
    /// another go out together, in one vectored write, at the next
    /// [`flush`](Self::flush) or `send_*` call. Use
    /// [`has_room`](Self::has_room) to stay within the pipelining window.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), dugong_tokio::Error> {
    /// use dugong_tokio::{Body, Connection};
    ///
    /// let mut conn = Connection::connect("127.0.0.1", 8080).await?;
    /// for i in 0..100 {
    ///     conn.queue_request("GET", &format!("/item/{i}"), [("Accept", "*/*")], Body::Empty)?;
    /// }
    /// conn.flush().await?; // one write for the 100 requests
    /// for _ in 0..100 {
    ///     conn.read_response().await?;
    ///     conn.discard().await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request), without the I/O errors
    /// (nothing is written).
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
        self.send.queue_request(method, target, headers, body)
    }

    /// Writes everything queued (what a cancelled call left behind),
    /// reading responses into the buffer meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: what is not written yet stays queued.
    ///
    /// # Errors
    ///
    /// As [`send_body`](Self::send_body).
    pub async fn flush(&mut self) -> Result<(), Error> {
        let Connection { send, recv } = self;
        poll_fn(|cx| send.poll_flush_all(cx, Some(&mut *recv))).await
    }

    // ----- receiving --------------------------------------------------------

    /// Reads the head of the next response, in the order the requests were
    /// sent. Returns a `100 Continue` head for a request that waits for it
    /// (the server's, or made up when the continue delay passed with no
    /// answer: send the body then); its [`id`](Response::id) names the
    /// request. Other 1xx responses are skipped and kept in
    /// [`informational`](Self::informational).
    ///
    /// If a [`BodyReader`](crate::BodyReader) or
    /// [`BodyStream`](crate::BodyStream) of the previous response was
    /// dropped before the end of its body, the rest of that body is read
    /// and thrown away first.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes read are kept in the receive buffer and no event
    /// is lost; a later call goes on where this one stopped.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage) if no response is pending or
    /// the previous body is not read to its end (read it or
    /// [`discard`](Self::discard) it); [`Closed`](dugong_net::ErrorKind::Closed)
    /// if the server closed first (naming the unanswered requests);
    /// [`Invalid`](dugong_net::ErrorKind::Invalid),
    /// [`Unsupported`](dugong_net::ErrorKind::Unsupported),
    /// [`TooLarge`](dugong_net::ErrorKind::TooLarge) for bad responses;
    /// timeouts and I/O errors.
    pub async fn read_response(&mut self) -> Result<Response, Error> {
        let Connection { send, recv } = self;
        match poll_fn(|cx| recv.poll_read_response(cx, Some(&mut *send), false)).await? {
            Some(head) => Ok(head.into_response()),
            None => Err(Error::Usage("no response is pending")),
        }
    }

    /// The 1xx responses (other than `100 Continue`) that came before the
    /// last head [`read_response`](Self::read_response) returned, such as
    /// `103 Early Hints`.
    pub fn informational(&self) -> &[Response] {
        self.recv.informational()
    }

    /// Reads body bytes of the current response into `buf`; `Ok(0)` at the
    /// end of the body. A body of known length is read straight from the
    /// transport into `buf` when `buf` is large (no copy in between).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no byte was taken from the
    /// body.
    ///
    /// # Errors
    ///
    /// [`Closed`](dugong_net::ErrorKind::Closed) if the connection closed
    /// before the body was complete — a short body is never reported as
    /// whole; bad framing; timeouts; I/O errors.
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let Connection { send, recv } = self;
        poll_fn(|cx| recv.poll_read_body(cx, Some(&mut *send), buf)).await
    }

    /// The next piece of the current response's body, without copying it
    /// (a slice of the receive buffer); `None` at the end of the body.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a piece is returned or kept for the next call.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let Connection { send, recv } = self;
        poll_fn(|cx| recv.poll_read_chunk(cx, Some(&mut *send))).await
    }

    /// Reads the rest of the current response's body into memory.
    ///
    /// The body is bounded by [`Builder::max_read_all`](crate::Builder::max_read_all)
    /// (16 MiB by default): as soon as the bytes read pass it, the call
    /// fails with [`Error::BodyTooLarge`] (kind
    /// [`TooLarge`](dugong_net::ErrorKind::TooLarge)) without buffering more
    /// than the limit and one received piece, and the connection is broken
    /// (the rest of the body is never read; [`is_usable`](Self::is_usable)
    /// is false and every later call returns that error). Read larger
    /// bodies with [`read_chunk`](Self::read_chunk),
    /// [`read_body`](Self::read_body), a [`body_reader`](Self::body_reader)
    /// or a [`body_stream`](Self::body_stream), which are not limited.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: what was read so far is lost if the future is
    /// dropped (the connection stays in a defined state: the rest of the
    /// body can still be read or discarded).
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body), and [`Error::BodyTooLarge`].
    pub async fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let Connection { send, recv } = self;
        let mut out = Vec::new();
        poll_fn(|cx| recv.poll_read_all(cx, Some(&mut *send), &mut out)).await?;
        Ok(out)
    }

    /// Skips the rest of the current response's body, so the next response
    /// can be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a later call skips what is left.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn discard(&mut self) -> Result<(), Error> {
        let Connection { send, recv } = self;
        poll_fn(|cx| recv.poll_discard(cx, Some(&mut *send))).await
    }

    /// The trailer fields of the last response whose body was read to its
    /// end (empty for bodies that were not chunked).
    pub fn trailers(&self) -> Option<&Headers> {
        self.recv.trailers()
    }

    /// True while requests wait for (the rest of) their responses.
    pub fn response_pending(&self) -> bool {
        self.recv.response_pending()
    }

    /// True while the body of the response last returned by
    /// [`read_response`](Self::read_response) is not read to its end.
    pub fn body_pending(&self) -> bool {
        self.recv.body_pending()
    }

    /// Splits the connection into its sending and receiving halves, to run
    /// in two tasks (or two branches of one `join!`), so any number of
    /// requests can be in flight with no deadlock and no unbounded
    /// buffering.
    ///
    /// ```no_run
    /// use dugong_tokio::{Body, Connection};
    ///
    /// # async fn f() -> Result<(), dugong_tokio::Error> {
    /// let conn = Connection::connect("127.0.0.1", 8080).await?;
    /// let (mut send, mut recv) = conn.split();
    /// let sender = tokio::spawn(async move {
    ///     for i in 0..10_000 {
    ///         send.send_request("GET", &format!("/item/{i}"), [("Accept", "*/*")], Body::Empty)
    ///             .await?;
    ///     }
    ///     Ok::<_, dugong_tokio::Error>(())
    /// });
    /// while let Some(head) = recv.next_response().await? {
    ///     let body = recv.read_all().await?;
    ///     println!("#{} {} {} bytes", head.id().as_u64(), head.status(), body.len());
    /// }
    /// sender.await.expect("the sender task panicked")?;
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (SendHalf<T>, RecvHalf<T>) {
        (self.send, self.recv)
    }

    /// Puts the halves made by [`split`](Self::split) back together, as
    /// one connection that goes on where they left off (requests still in
    /// flight stay in flight).
    ///
    /// ```no_run
    /// use dugong_tokio::{Body, Connection};
    ///
    /// # async fn f() -> Result<(), dugong_tokio::Error> {
    /// let conn = Connection::connect("127.0.0.1", 8080).await?;
    /// let (mut send, mut recv) = conn.split();
    /// send.send_request("GET", "/a", [("Accept", "*/*")], Body::Empty).await?;
    /// recv.read_response().await?;
    /// recv.discard().await?;
    /// let mut conn = Connection::reunite(send, recv).expect("the halves of one connection");
    /// conn.send_request("GET", "/b", [("Accept", "*/*")], Body::Empty).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Gives the halves back, unchanged, if they are not two halves of one
    /// connection.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        send: SendHalf<T>,
        recv: RecvHalf<T>,
    ) -> Result<Connection<T>, (SendHalf<T>, RecvHalf<T>)> {
        if !Arc::ptr_eq(&send.shared, &recv.shared) {
            return Err((send, recv));
        }
        send.shared.lock().sender_gone = false;
        Ok(Connection { send, recv })
    }

    // ----- the connection ---------------------------------------------------

    /// True if the connection can take another request now: not broken, not
    /// closing, the server did not go away.
    pub fn is_usable(&self) -> bool {
        self.recv.reader.upgraded().is_none() && self.send.shared.usable()
    }

    /// The error that broke the connection, if one did.
    pub fn error(&self) -> Option<Error> {
        self.send.shared.lock().session.error()
    }

    /// True if one more request fits in the pipelining window: fewer than
    /// [`max_in_flight`](crate::Builder::max_in_flight) requests in flight
    /// and, beyond the first, fewer than
    /// [`max_in_flight_bytes`](crate::Builder::max_in_flight_bytes) of
    /// responses expected. A split sending half and
    /// [`pipeline`](Self::pipeline) wait for this by themselves; a caller
    /// that pipelines from one task reads a response when it is false.
    pub fn has_room(&self) -> bool {
        self.send.has_room()
    }

    /// Closes the connection (a TLS connection sends `close_notify`,
    /// waiting at most a second). Every later call fails with a usage error
    /// until [`reconnect`](Self::reconnect).
    ///
    /// Nothing is checked; [`close`](Self::close) ends a connection after
    /// its last response and reports what the server sent that it should
    /// not have.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the connection is marked disconnected at once, and a
    /// dropped future drops the transport.
    pub async fn disconnect(&mut self) {
        {
            let mut core = self.send.shared.lock();
            if core.session.broken().is_none() {
                core.session.disconnect();
            }
            core.wake_both();
            core.session.note("disconnected");
        }
        self.recv.transport = None;
        if let Some(mut writer) = self.send.writer.take() {
            let _ = tokio::time::timeout(SHUTDOWN_LIMIT, writer.shutdown()).await;
        }
    }

    /// Ends the connection cleanly once every response is read, and says
    /// whether the server kept to the protocol until then.
    ///
    /// A server may send nothing on an idle connection but empty lines; a
    /// response to no request (say, a second response to the one request,
    /// or bytes after a response that announced `Connection: close`) is
    /// only found by looking. `close` takes the bytes already received and
    /// what the transport has ready without waiting for more (one read
    /// that returns at once if nothing is there), lets the protocol state
    /// machine judge them, then shuts the transport down as
    /// [`disconnect`](Self::disconnect) does. A server that closed its side
    /// is fine.
    ///
    /// Afterwards every call fails (with the error returned, or with a
    /// usage error as after `disconnect`) until
    /// [`reconnect`](Self::reconnect). Closing a connection that is already
    /// closed or disconnected does nothing and returns `Ok`.
    ///
    /// # Cancel safety
    ///
    /// The check itself does not wait. Dropped while the transport shuts
    /// down, the connection is closed all the same (the transport is
    /// dropped), and the result of the check is lost.
    ///
    /// # Errors
    ///
    /// - [`Usage`](dugong_net::ErrorKind::Usage) if responses are still
    ///   pending (read or [`discard`](Self::discard) them first, or
    ///   `disconnect`); the connection is left as it was.
    /// - What the state machine makes of the bytes that arrived unasked,
    ///   such as [`Invalid`](dugong_net::ErrorKind::Invalid) (`data
    ///   received with no request in flight`); the connection is closed all
    ///   the same.
    /// - The error that broke the connection earlier, if one did (it is
    ///   closed all the same); an I/O error of the read.
    pub async fn close(&mut self) -> Result<(), Error> {
        let earlier = {
            let core = self.send.shared.lock();
            if core.session.is_disconnected() {
                return Ok(());
            }
            core.session.error()
        };
        if earlier.is_none() && self.response_pending() {
            return Err(Error::Usage(
                "responses are still pending; read or discard them before close, or disconnect",
            ));
        }
        let result = match earlier {
            Some(error) => Err(error),
            None => self.check_unsolicited().await,
        };
        if let Err(error) = &result {
            let shared = &self.send.shared;
            let mut core = shared.lock();
            if core.session.broken().is_none() {
                shared.fail(&mut core, error.clone());
            }
        }
        self.disconnect().await;
        result
    }

    /// The negotiated TLS parameters and the server's certificates, for a
    /// TLS connection.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&dugong_net::tls::TlsInfo> {
        self.send.shared.tls_info.as_ref()
    }

    /// After a `2xx` to `CONNECT` or a `101` to an upgrade request (and its
    /// head read with [`read_response`](Self::read_response)), hands over
    /// the transport and the bytes that followed the head.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection.
    ///
    /// # Errors
    ///
    /// Gives the connection back if it was not handed over.
    pub async fn into_upgraded(mut self) -> Result<(T, Bytes), Box<Connection<T>>> {
        if self.recv.reader.upgraded().is_none() && self.recv.body_pending() {
            // The tunnel is announced by its head; its "body" is the
            // hand-over.
            let _ = self.read_chunk().await;
        }
        let Some(rest) = self.recv.reader.upgraded().cloned() else {
            return Err(Box::new(self));
        };
        match (self.recv.transport.take(), self.send.writer.take()) {
            (Some(reader), Some(writer)) => Ok((reader.unsplit(writer), rest)),
            (reader, writer) => {
                self.recv.transport = reader;
                self.send.writer = writer;
                Err(Box::new(self))
            }
        }
    }

    pub(crate) fn halves(&mut self) -> (&mut SendHalf<T>, &mut RecvHalf<T>) {
        (&mut self.send, &mut self.recv)
    }
}

impl<T: Transport> SendHalf<T> {
    /// Puts the two halves back together: `send.reunite(recv)` is
    /// [`Connection::reunite(send, recv)`](Connection::reunite).
    ///
    /// # Errors
    ///
    /// As [`Connection::reunite`]: gives the halves back if they are not
    /// two halves of one connection.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, recv: RecvHalf<T>) -> Result<Connection<T>, (SendHalf<T>, RecvHalf<T>)> {
        Connection::reunite(self, recv)
    }
}
