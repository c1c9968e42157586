//! [`Connection`]: one HTTP/1.1 connection, driven over a [`Transport`].

use std::fmt;
use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dugong_net::session::{self, Filled, Progress, Reader, Session};
use dugong_net::{Error, PerConnection};
use dugong_proto::{Body, HeaderField, Headers, RequestId, Response};

use crate::transport::{Interest, Ready, Transport, Waiter};

/// An idle connection that received bytes less than this long ago is not
/// read again before a new request (a system call per request saved when
/// requests follow each other); see `check_idle`.
const IDLE_CHECK_AFTER: std::time::Duration = std::time::Duration::from_millis(1);
/// Caller buffers at least this large are filled straight from the
/// transport when a body allows it (no copy through the receive buffer).
const DIRECT_MIN: usize = 4 * 1024;
/// How many segments one vectored write passes.
const MAX_SLICES: usize = 256;
/// Up to this many segments, a write fills a small array of slices (the
/// usual case: a head, or a head and its body), not one of
/// [`MAX_SLICES`].
const FEW_SLICES: usize = 8;

/// An HTTP/1.1 connection to one server: send requests (pipelined, as many
/// as you like before reading), then read their responses in order.
///
/// Made by [`Connection::connect`] or a [`Builder`](crate::Builder), or over
/// any transport with [`Builder::over`](crate::Builder::over).
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
pub struct Connection {
    /// The session, the transport and the bookkeeping of the I/O: what the
    /// two halves of a [split](Connection::split) share.
    link: Link,
    /// The response being read: its body, trailers, 1xx responses, the
    /// bytes after a switch (the receiving half's own after a split).
    reader: Reader,
}

/// A connection without its response reader: the session, the transport
/// and how the driving loops use it. Every loop that reads takes the
/// reader as an argument, so a split shares this behind a lock while the
/// receiving half keeps the reader.
pub(crate) struct Link {
    /// The state machine and the connection's state around it.
    session: Session,
    io: Box<dyn Transport>,
    /// The origin of the clock given to the session.
    started: Instant,
    /// Shared by the two halves of a split: waits happen outside, so
    /// `wait` records what to wait for in `blocked` and stops.
    shared: bool,
    blocked: Option<Interest>,
    /// The reader was in a body when a read call last returned (the reader
    /// belongs to the receiving half; the idle check before a request
    /// needs to know).
    in_body: bool,
    /// The last read found nothing (and, once set, stays set while requests
    /// go one at a time): with one request in flight, wait for the socket
    /// before reading, or in the read itself, instead of a read that would
    /// find nothing.
    read_blocked: bool,
    /// When bytes were last received.
    last_received: Instant,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("transport", &self.link.io)
            .field("in_flight", &self.link.session.proto().in_flight())
            .field("broken", &self.link.session.broken())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("transport", &self.io)
            .field("in_flight", &self.session.proto().in_flight())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection over `io` with the builder's `settings` and this
    /// connection's own values.
    pub(crate) fn new(
        io: Box<dyn Transport>,
        settings: &dugong_net::Settings,
        per: PerConnection,
    ) -> Connection {
        Connection {
            link: Link {
                session: Session::new(settings, per),
                io,
                started: Instant::now(),
                shared: false,
                blocked: None,
                in_body: false,
                read_blocked: false,
                last_received: Instant::now(),
            },
            reader: Reader::new(settings.max_read_all()),
        }
    }

    // ----- sending ----------------------------------------------------------

    /// Sends a request head, and the body if it is given whole. Returns
    /// once the bytes are written (or handed to the kernel), without waiting
    /// for the response: call it again to pipeline more requests.
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
    ///   you send it, or the final response, in which case you must not.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`](dugong_net::ErrorKind::Usage) for invalid
    /// request data or a request while the previous body is unfinished (the
    /// connection is unchanged); [`ErrorKind::Closed`](dugong_net::ErrorKind::Closed)
    /// if the server is gone; timeouts and I/O errors.
    pub fn send_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let id = self.queue_request(method, target, headers, body)?;
        self.link.write_queued()?;
        Ok(id)
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
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request), and
    /// [`Error::InvalidUrl`](dugong_net::Error::InvalidUrl) for a URI with
    /// nothing to send as the target. A `Content-Length` or
    /// `Transfer-Encoding` header is refused (the body sets the framing)
    /// and nothing is sent.
    #[cfg(feature = "http")]
    pub fn send_http<B: Into<Body>>(
        &mut self,
        request: http::Request<B>,
    ) -> Result<RequestId, Error> {
        let (head, body) = dugong_net::http_interop::request(request)?;
        self.send_request(&head.method, &head.target, &head.fields, body)
    }

    /// Sends a piece of the body of the request being sent (one sent with
    /// [`Body::Sized`] or [`Body::Chunked`]), without copying it.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage): more bytes than announced
    /// (nothing of the piece is sent), no body is being sent, or the body
    /// still waits for `100 Continue` or was refused by a final response.
    /// [`Closed`](dugong_net::ErrorKind::Closed): the server went away; the
    /// response it may have sent first can still be read.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.link.session.queue_body(data)?;
        self.link.write_queued()
    }

    /// Like [`send_body`](Self::send_body), copying `data`.
    ///
    /// # Errors
    ///
    /// As [`send_body`](Self::send_body).
    pub fn write_body(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_body(Bytes::copy_from_slice(data))
    }

    /// The body of the request being sent as a [`std::io::Write`] (each
    /// `write` sends; `flush` does nothing more).
    pub fn body_writer(&mut self) -> BodyWriter<'_> {
        BodyWriter { conn: self }
    }

    /// Ends a chunked request body.
    ///
    /// # Errors
    ///
    /// [`Usage`](dugong_net::ErrorKind::Usage) if no chunked body is being
    /// sent; transport errors.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.finish_with_trailers([] as [(&str, &str); 0])
    }

    /// Ends a chunked request body with trailer fields.
    ///
    /// # Errors
    ///
    /// As [`finish`](Self::finish), and
    /// [`Usage`](dugong_net::ErrorKind::Usage) for a field that may not be a
    /// trailer.
    pub fn finish_with_trailers<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.link.session.queue_finish(trailers)?;
        self.link.write_queued()
    }

    // ----- receiving --------------------------------------------------------

    /// Reads the head of the next response, in the order the requests were
    /// sent. Returns a `100 Continue` head for a request that waits for it
    /// (the server's, or made up when the continue delay passed with no
    /// answer: send the body then). Other 1xx responses are skipped and
    /// kept in [`informational`](Self::informational).
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
    pub fn read_response(&mut self) -> Result<Response, Error> {
        self.link.read_response(&mut self.reader)
    }

    /// The 1xx responses (other than `100 Continue`) that came before the
    /// last final head [`read_response`](Self::read_response) returned,
    /// such as `103 Early Hints`. A `100 Continue` returned in between
    /// does not clear them: they are reported with the final head that
    /// follows it.
    pub fn informational(&self) -> &[Response] {
        self.reader.informational()
    }

    /// Reads body bytes of the current response into `buf`; `Ok(0)` at the
    /// end of the body. A body of known length is read straight from the
    /// transport into `buf` when `buf` is large (no copy in between).
    ///
    /// # Errors
    ///
    /// [`Closed`](dugong_net::ErrorKind::Closed) if the connection closed
    /// before the body was complete — a short body is never reported as
    /// whole; bad framing; timeouts; I/O errors.
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.link.read_body(&mut self.reader, buf)
    }

    /// The next piece of the current response's body, without copying it
    /// (a slice of the receive buffer); `None` at the end of the body.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.link.read_with(&mut self.reader, Reader::poll_chunk)
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
    /// [`read_body`](Self::read_body) or a [`body_reader`](Self::body_reader),
    /// which are not limited.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body), and [`Error::BodyTooLarge`].
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.link.read_all_into(&mut self.reader, &mut out)?;
        Ok(out)
    }

    /// Skips the rest of the current response's body, so the next response
    /// can be read.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub fn discard(&mut self) -> Result<(), Error> {
        self.link.read_with(&mut self.reader, Reader::poll_discard)
    }

    /// The body of the current response as a [`std::io::Read`].
    pub fn body_reader(&mut self) -> BodyReader<'_> {
        BodyReader { conn: self }
    }

    /// The trailer fields of the last response whose body was read to its
    /// end (empty for bodies that were not chunked).
    pub fn trailers(&self) -> Option<&Headers> {
        self.reader.trailers()
    }

    /// True while requests wait for (the rest of) their responses.
    pub fn response_pending(&self) -> bool {
        self.link.session.proto().in_flight() > 0 || self.reader.in_body()
    }

    /// True while the body of the response last returned by
    /// [`read_response`](Self::read_response) is not read to its end.
    pub fn body_pending(&self) -> bool {
        self.reader.in_body()
    }

    // ----- the connection ---------------------------------------------------

    /// True if the connection can take another request now: not broken, not
    /// closing, the server did not go away.
    pub fn is_usable(&self) -> bool {
        self.link.session.is_usable() && self.reader.upgraded().is_none()
    }

    /// The error that broke the connection, if one did.
    pub fn error(&self) -> Option<Error> {
        self.link.session.error()
    }

    /// Closes the connection. Every later call fails with a usage error
    /// until [`reconnect`](Self::reconnect).
    ///
    /// Nothing is checked; [`close`](Self::close) ends a connection after
    /// its last response and reports what the server sent that it should
    /// not have.
    pub fn disconnect(&mut self) {
        self.link.shut_down();
        self.link.session.disconnect();
    }

    /// Ends the connection cleanly once every response is read, and says
    /// whether the server kept to the protocol until then.
    ///
    /// A server may send nothing on an idle connection but empty lines; a
    /// response to no request (say, a second response to the one request,
    /// or bytes after a response that announced `Connection: close`) is
    /// only found by looking. `close` takes the bytes already received and
    /// what the transport has ready without waiting for more (one
    /// non-blocking read; none on a [`Blocking`](crate::Blocking)
    /// transport, whose reads would wait), lets the protocol state machine
    /// judge them, then shuts down the sending direction and drops the
    /// transport. A server that closed its side is fine.
    ///
    /// Afterwards every call fails (with the error returned, or with a
    /// usage error as after [`disconnect`](Self::disconnect)) until
    /// [`reconnect`](Self::reconnect). Closing a connection that is already
    /// closed or disconnected does nothing and returns `Ok`.
    ///
    /// # Errors
    ///
    /// - [`Usage`](dugong_net::ErrorKind::Usage) if responses are still
    ///   pending (read or [`discard`](Self::discard) them first, or
    ///   [`disconnect`](Self::disconnect)); the connection is left as it
    ///   was.
    /// - What the state machine makes of the bytes that arrived unasked,
    ///   such as [`Invalid`](dugong_net::ErrorKind::Invalid) (`data
    ///   received with no request in flight`); the connection is closed all
    ///   the same.
    /// - The error that broke the connection earlier, if one did (it is
    ///   closed all the same); an I/O error of the read.
    pub fn close(&mut self) -> Result<(), Error> {
        if self.link.session.is_disconnected() {
            return Ok(());
        }
        if self.error().is_none() && self.response_pending() {
            return Err(Error::Usage(
                "responses are still pending; read or discard them before close, or disconnect",
            ));
        }
        self.link.close()
    }

    /// The settings this connection was made with, if a builder made it
    /// (not over a caller's transport): what `reconnect` connects with.
    pub(crate) fn settings(&self) -> Option<&dugong_net::Settings> {
        self.link.session.settings()
    }

    /// The negotiated TLS parameters and the server's certificates, for a
    /// TLS connection.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&dugong_net::tls::TlsInfo> {
        self.link.session.tls_info()
    }

    /// The protocol state machine, for inspection.
    pub fn proto(&self) -> &dugong_proto::Connection {
        self.link.session.proto()
    }

    /// After a `2xx` to `CONNECT` or a `101` to an upgrade request (and its
    /// head read with [`read_response`](Self::read_response)), hands over
    /// the transport and the bytes that followed the head.
    ///
    /// # Errors
    ///
    /// Gives the connection back if it was not handed over.
    pub fn into_upgraded(mut self) -> Result<(Box<dyn Transport>, Bytes), Box<Connection>> {
        if self.reader.upgraded().is_none() && self.reader.in_body() {
            // The tunnel is announced by its head; its "body" is the hand-over.
            let _ = self.read_chunk();
        }
        match self.reader.take_upgraded() {
            Some(rest) => Ok((
                std::mem::replace(&mut self.link.io, Box::new(Disconnected)),
                rest,
            )),
            None => Err(Box::new(self)),
        }
    }

    /// Like [`send_request`](Self::send_request), but only queues the
    /// request: it is written by the next [`flush`](Self::flush),
    /// `send_request`, body write, or read. Queue many small pipelined
    /// requests and flush once, and they go out in a few vectored writes
    /// instead of one write each.
    ///
    /// ```no_run
    /// use dugong_blocking::{Body, Connection};
    ///
    /// let mut conn = Connection::connect("127.0.0.1", 8080)?;
    /// for i in 0..100 {
    ///     conn.queue_request("GET", &format!("/item/{i}"), [("Accept", "*/*")], Body::Empty)?;
    /// }
    /// conn.flush()?;
    /// # Ok::<(), dugong_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request), except transport errors,
    /// which the write reports.
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
        self.link.queue_request(method, target, headers, body)
    }

    /// Writes every request and body byte queued by
    /// [`queue_request`](Self::queue_request) (reading responses meanwhile
    /// if the server stops reading).
    ///
    /// # Errors
    ///
    /// As [`send_body`](Self::send_body).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.link.flush()
    }

    /// True if one more request fits in the pipelining window: fewer than
    /// [`max_in_flight`](crate::Builder::max_in_flight) requests in flight
    /// and, beyond the first, fewer than
    /// [`max_in_flight_bytes`](crate::Builder::max_in_flight_bytes) of
    /// responses expected. A split sending half waits for this by itself;
    /// a caller that pipelines from one thread reads a response when it is
    /// false.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), dugong_blocking::Error> {
    /// let mut conn = dugong_blocking::Connection::connect("127.0.0.1", 8080)?;
    /// let (mut sent, mut read) = (0, 0);
    /// while read < 1000 {
    ///     while sent < 1000 && conn.has_room() {
    ///         conn.queue_request("GET", "/", [("Accept", "*/*")], dugong_blocking::Body::Empty)?;
    ///         sent += 1;
    ///     }
    ///     conn.flush()?;
    ///     conn.read_response()?;
    ///     conn.discard()?;
    ///     read += 1;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn has_room(&self) -> bool {
        self.link.session.has_room()
    }

    /// Takes the connection apart for a split: the link the halves share
    /// (unless its transport cannot be waited on from two threads), the
    /// reader the receiving half keeps.
    pub(crate) fn into_parts(mut self) -> Result<(Link, Reader, Box<dyn Waiter>), Box<Connection>> {
        match self.link.io.waiter() {
            Some(waiter) => {
                self.link.shared = true;
                Ok((self.link, self.reader, waiter))
            }
            None => Err(Box::new(self)),
        }
    }

    /// Back from a split.
    pub(crate) fn from_parts(mut link: Link, reader: Reader) -> Connection {
        link.shared = false;
        link.blocked = None;
        Connection { link, reader }
    }
}

impl Link {
    fn check(&self) -> Result<(), Error> {
        self.session.check()
    }

    fn now(&self) -> dugong_proto::Instant {
        dugong_proto::Instant::from_elapsed(self.started.elapsed())
    }

    /// As [`Connection::read_response`], with the receiving side's reader.
    pub(crate) fn read_response(&mut self, reader: &mut Reader) -> Result<Response, Error> {
        self.check()?;
        if self.session.proto().in_flight() == 0 && !reader.in_body() {
            return Err(Error::Usage("no response is pending"));
        }
        loop {
            if !reader.in_body() {
                if let Some(id) = self.session.take_released() {
                    return Ok(Response::continue_for(id));
                }
            }
            let progress = self.session.poll(|p| reader.poll_head(p));
            self.in_body = reader.in_body();
            if let Some(head) = self.advance(progress)? {
                return Ok(head.into_response());
            }
            // Bytes moved or a wait passed: the connection may have broken.
            self.check()?;
        }
    }

    /// As [`Connection::read_body`]: large buffers are filled straight
    /// from the transport when the body allows it.
    pub(crate) fn read_body(
        &mut self,
        reader: &mut Reader,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            self.check_in_body(reader)?;
            if buf.len() >= DIRECT_MIN {
                if let Some(n) = self.read_direct(reader, buf)? {
                    return Ok(n);
                }
            }
            let progress = self.session.poll(|p| reader.poll_body(p, buf));
            self.in_body = reader.in_body();
            if let Some(n) = self.advance(progress)? {
                return Ok(n);
            }
        }
    }

    /// [`Connection::read_all`], appending to `out`, which holds what
    /// earlier calls for this body appended (a split half calls again
    /// after a wait).
    pub(crate) fn read_all_into(
        &mut self,
        reader: &mut Reader,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.read_with(reader, |reader, proto| reader.poll_read_all(proto, out))
    }

    /// Calls a body-reading mode of the reader until it is done, moving
    /// bytes and waiting in between.
    pub(crate) fn read_with<T>(
        &mut self,
        reader: &mut Reader,
        mut read: impl FnMut(&mut Reader, &mut dugong_proto::Connection) -> Result<Progress<T>, Error>,
    ) -> Result<T, Error> {
        loop {
            self.check_in_body(reader)?;
            let progress = self.session.poll(|p| read(reader, p));
            self.in_body = reader.in_body();
            if let Some(value) = self.advance(progress)? {
                return Ok(value);
            }
        }
    }

    /// Before a body read polls the state machine: a broken connection
    /// repeats its error (a body that ended is still reported as ended).
    fn check_in_body(&self, reader: &Reader) -> Result<(), Error> {
        if reader.in_body() {
            self.check()?;
        }
        Ok(())
    }

    /// After a call of the reader: its result, once done (writing what a
    /// `100 Continue` released, or what was queued); `None` once it moved
    /// bytes or waited, to be called again.
    fn advance<T>(&mut self, progress: Result<Progress<T>, Error>) -> Result<Option<T>, Error> {
        match progress? {
            Progress::Done(value) => {
                if self.session.proto().transmit_len() > 0 {
                    self.flush_while_receiving()?;
                }
                Ok(Some(value))
            }
            Progress::Pending => {
                self.receive_some()?;
                Ok(None)
            }
        }
    }

    /// Reads body bytes straight into `buf` when the state machine allows;
    /// `None` if it does not now.
    fn read_direct(&mut self, reader: &Reader, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        loop {
            let max = self.session.direct_read_len(reader, buf.len());
            if max == 0 {
                return Ok(None);
            }
            let result = self.io.read(&mut buf[..max]);
            match self.session.read_direct_done(result, buf)? {
                Filled::Data(n) => return Ok(Some(n)),
                Filled::Eof => return Ok(None),
                Filled::Blocked => {
                    self.wait(Interest {
                        read: true,
                        write: false,
                    })?;
                }
            }
        }
    }

    /// The reader needs more: writes what is queued, then reads once or
    /// waits (for the transport, or the state machine's next deadline).
    fn receive_some(&mut self) -> Result<(), Error> {
        self.session.check_more()?;
        self.flush_while_receiving()?;
        let write = self.session.wants_write();
        if self.read_blocked
            && !self.shared
            && self.session.proto().in_flight() <= 1
            && self.io.is_nonblocking()
        {
            // One request at a time: its answer was not there right
            // away last time either, so wait before reading; in the
            // read itself when nothing is to be written and no time
            // limit applies.
            if !write && self.io.can_read_waiting() && self.wait_limit().0.is_none() {
                self.read_once(true)?;
            } else {
                self.wait(Interest { read: true, write })?;
                self.read_some()?;
            }
            // Still one at a time: keep waiting first.
            self.read_blocked = true;
        } else if !self.read_some()? {
            self.wait(Interest { read: true, write })?;
        }
        Ok(())
    }

    /// Writes what is queued while the receiving side is in charge: a peer
    /// that stopped reading is not an error here (its response may be on
    /// the way).
    fn flush_while_receiving(&mut self) -> Result<(), Error> {
        if !self.session.wants_write() {
            return Ok(());
        }
        match self.write_queued() {
            Err(e) if e.closed().is_some() && self.session.send_closed() => Ok(()),
            // Split: the receiving half does not wait for writes here; its
            // next wait includes them.
            Err(_) if self.blocked.take().is_some() => Ok(()),
            other => other,
        }
    }

    /// Writes everything queued. While a write is blocked, reads what
    /// arrives into the receive buffer (up to `max_buffered`), so a peer that
    /// answers before reading more requests cannot deadlock us.
    fn write_queued(&mut self) -> Result<(), Error> {
        while self.session.proto().transmit_len() > 0 {
            self.session.check_send()?;
            let result = self.write_some();
            if !self.session.write_done(result)? {
                let ready = self.wait(Interest {
                    // Split: the receiving half reads.
                    read: !self.session.eof() && !self.shared,
                    write: true,
                })?;
                if ready.read {
                    self.session.check_buffered()?;
                    self.read_some()?;
                }
            }
        }
        loop {
            match self.io.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait(Interest {
                        read: false,
                        write: true,
                    })?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.session.write_failed(e)),
            }
        }
    }

    /// One vectored write of what is queued (its first [`MAX_SLICES`]
    /// segments).
    fn write_some(&mut self) -> io::Result<usize> {
        // Slices are set up for as many segments as wait (a few, most of
        // the time), not for the most one write takes.
        if self.session.proto().transmit_segments().len() <= FEW_SLICES {
            let mut slots = [IoSlice::new(&[]); FEW_SLICES];
            self.io.write_vectored(self.session.io_slices(&mut slots))
        } else {
            let mut slots = [IoSlice::new(&[]); MAX_SLICES];
            self.io.write_vectored(self.session.io_slices(&mut slots))
        }
    }

    /// Reads once into the receive buffer; false if nothing was there.
    fn read_some(&mut self) -> Result<bool, Error> {
        self.read_once(false)
    }

    /// Reads once into the receive buffer, with `waiting` through
    /// [`Transport::read_waiting`] (waits for bytes in the read itself);
    /// false if nothing was there.
    fn read_once(&mut self, waiting: bool) -> Result<bool, Error> {
        if self.session.eof() {
            return Ok(false);
        }
        let io = &mut self.io;
        let size = self.session.read_size();
        let result = self.session.proto_mut().read_into(size, |buf| {
            if waiting {
                io.read_waiting(buf)
            } else {
                io.read(buf)
            }
        });
        self.read_blocked = matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        Ok(match self.session.read_done(result)? {
            Filled::Data(_) => {
                self.last_received = Instant::now();
                true
            }
            Filled::Eof => true,
            Filled::Blocked => false,
        })
    }

    /// Waits for the transport (or the state machine's next deadline). A
    /// wait that ends with nothing ready and no deadline due is a timeout.
    /// Split, it only records what to wait for and returns
    /// [`Blocked`](blocked_error) for the half to wait without the lock.
    fn wait(&mut self, interest: Interest) -> Result<Ready, Error> {
        if self.shared {
            self.blocked = Some(interest);
            return Err(blocked_error());
        }
        let (limit, deadline) = self.wait_limit();
        let ready = self
            .io
            .wait(interest, limit)
            .map_err(|e| self.session.fail(Error::io(e)))?;
        self.after_wait(ready, deadline)?;
        Ok(ready)
    }

    /// How long the next wait may last: until the state machine's next
    /// deadline (which it also returns), if one runs.
    pub(crate) fn wait_limit(&mut self) -> (Option<Duration>, Option<dugong_proto::Instant>) {
        let now = self.now();
        let deadline = self.session.poll_timeout(now);
        (deadline.map(|d| d.saturating_duration_since(now)), deadline)
    }

    /// After a wait: runs the state machine's deadline if it is due (a body
    /// released, or the connection timed out).
    pub(crate) fn after_wait(
        &mut self,
        ready: Ready,
        deadline: Option<dugong_proto::Instant>,
    ) -> Result<(), Error> {
        // The clock is read only when a deadline may have passed.
        if let (true, Some(deadline)) = (ready.is_timeout(), deadline) {
            let now = self.now();
            if deadline <= now {
                self.session.handle_timeout(now)?;
            }
        }
        Ok(())
    }

    /// What a split half must wait for, if the last call stopped for it.
    pub(crate) fn take_blocked(&mut self) -> Option<Interest> {
        self.blocked.take()
    }

    /// As [`Connection::queue_request`]; the idle check looks for bytes
    /// that answer nothing first.
    pub(crate) fn queue_request<I>(
        &mut self,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<RequestId, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        // (Only where a new request could go: otherwise the state machine
        // refuses it, saying why.)
        if self.session.proto().in_flight() == 0
            && !self.in_body
            && !self.session.proto().must_close()
            && self.io.is_nonblocking()
        {
            // A broken connection is not read: its error comes first.
            self.session.check_send()?;
            self.check_idle()?;
        }
        // (`Session::queue_request` checks the connection first.)
        self.session.queue_request(method, target, headers, body)
    }

    /// On an idle connection, bytes from the server answer nothing: look
    /// for them before a new request could be taken to be their request.
    /// A server that closed the idle connection is reported as closed.
    ///
    /// Bytes received less than [`IDLE_CHECK_AFTER`] ago make the read
    /// pointless (a server that answers a request with two responses sends
    /// them together, and those are in the buffer already; a server closing
    /// an idle connection does so much later), so it is skipped then.
    fn check_idle(&mut self) -> Result<(), Error> {
        if self.last_received.elapsed() >= IDLE_CHECK_AFTER {
            self.read_some()?;
        }
        self.session.check_idle()
    }

    /// Queues a body piece without writing it.
    pub(crate) fn queue_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.session.queue_body(data)
    }

    /// Queues the end of a chunked body without writing it.
    pub(crate) fn queue_finish<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.session.queue_finish(trailers)
    }

    /// With no request in flight: takes what the transport has ready
    /// without waiting and lets the state machine judge every byte
    /// received (bytes that answer nothing are its error).
    fn check_unsolicited(&mut self) -> Result<(), Error> {
        if self.io.is_nonblocking() {
            self.read_some()?;
        }
        session::check_idle(self.session.proto_mut())?;
        Ok(())
    }

    /// Shuts down the sending direction and drops the transport.
    pub(crate) fn shut_down(&mut self) {
        let _ = self.io.shutdown_write();
        self.io = Box::new(Disconnected);
        self.session.note("disconnected");
    }

    /// Ends the connection after [`Connection::close`] checked that no
    /// response is pending: judges what arrived unasked, shuts down.
    fn close(&mut self) -> Result<(), Error> {
        let result = self.check().and_then(|()| self.check_unsolicited());
        self.shut_down();
        match result {
            Ok(()) => self.session.disconnect(),
            Err(error) if self.session.broken().is_none() => {
                return Err(self.session.fail(error));
            }
            Err(_) => {}
        }
        result
    }

    /// As [`Connection::flush`].
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        self.check()?;
        self.write_queued()
    }

    /// The session, for the split halves' questions.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }
}

/// The stand-in error a split connection's `wait` returns; the half that
/// called checks `take_blocked` first, so callers never see it.
fn blocked_error() -> Error {
    Error::io(io::ErrorKind::WouldBlock.into())
}

/// Stands in for the transport after `disconnect`.
#[derive(Debug)]
struct Disconnected;

impl Transport for Disconnected {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::NotConnected.into())
    }
    fn write_vectored(&mut self, _: &[IoSlice<'_>]) -> io::Result<usize> {
        Err(io::ErrorKind::NotConnected.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn wait(&mut self, interest: Interest, _: Option<Duration>) -> io::Result<Ready> {
        Ok(Ready {
            read: interest.read,
            write: interest.write,
        })
    }
}

/// The body of the current response as a [`std::io::Read`]; errors are
/// [`dugong_net::Error`]s inside [`std::io::Error`]s (kind
/// `ConnectionAborted` for a closed connection).
#[derive(Debug)]
pub struct BodyReader<'a> {
    conn: &'a mut Connection,
}

impl io::Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.conn.read_body(buf)?)
    }
}

/// The body of the request being sent as a [`std::io::Write`].
#[derive(Debug)]
pub struct BodyWriter<'a> {
    conn: &'a mut Connection,
}

impl io::Write for BodyWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write_body(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
