//! The I/O-free layer between `dugong-proto` and a driver: what a driver
//! keeps between the protocol state machine and its transport, once for
//! every driver.
//!
//! [`Session`] owns the state machine and the connection's state around it:
//! requests queued with their extras (proxy form, credentials), the trace,
//! the pipelining window, what the transport did (judged by
//! [`Session::write_done`] and [`Session::read_done`]) and the deadlines
//! (the builder's `timeout` is the core's read and write timeout).
//! [`Reader`] is the receiving side: the state of the response being read
//! (its head returned, its body in progress, the piece not yet handed out,
//! its trailers, the 1xx responses before it, the bytes after a switch)
//! and the body-reading modes every driver offers (`read_response`,
//! `read_body` into the caller's buffer, `read_chunk`, `read_all` and
//! [`Reader::poll_collect`] with their bound, `discard`). A split
//! connection's halves share the `Session`; the receiving half owns the
//! `Reader`. Nothing here performs I/O or reads a clock: each call returns
//! a result or [`Progress::Pending`], which tells the driver to move bytes
//! (read from the transport into the state machine, write what it has
//! queued) or wait for its next deadline, and call again.
//!
//! Beside them: [`check_idle`], which judges bytes that arrive when no
//! response is owed, and [`tunnel_opened`] / [`tunnel_refused`], the end of
//! a `CONNECT` tunnel step.
//!
//! A driver's read loop is then, whatever it waits with (poll(2), an
//! async runtime, a coroutine that yields "wait for readable"):
//!
//! ```
//! use dugong_net::session::{Head, Progress, Reader};
//! use dugong_proto::{Body, Connection};
//!
//! let mut proto = Connection::default();
//! proto.send_request("GET", "/", [("Host", "example.com")], Body::Empty)?;
//! while proto.poll_transmit().is_some() {} // written to the transport
//!
//! // What the transport will deliver, in two reads.
//! let mut reads = vec![&b"Content-Length: 5\r\n\r\nhello"[..], b"HTTP/1.1 200 OK\r\n"];
//! let mut reader = Reader::new(dugong_net::DEFAULT_MAX_READ_ALL);
//! let head = loop {
//!     match reader.poll_head(&mut proto)? {
//!         Progress::Done(head) => break head,
//!         // Read (or wait, then read) and try again.
//!         Progress::Pending => proto.receive(reads.pop().expect("more bytes"))?,
//!     }
//! };
//! let Head::Final(response) = head else { unreachable!() };
//! assert_eq!(response.status(), 200);
//! let mut body = Vec::new();
//! while let Progress::Pending = reader.poll_read_all(&mut proto, &mut body)? {
//!     proto.receive(reads.pop().expect("more bytes"))?;
//! }
//! assert_eq!(body, b"hello");
//! # Ok::<(), dugong_net::Error>(())
//! ```

use bytes::{Bytes, BytesMut};
use dugong_proto::{Connection, Event, Headers, RequestId, Response};

use crate::error::Error;
use crate::trace::Trace;

mod state;

pub use state::{Filled, Session, DISCONNECTED, MAX_READ_SIZE};

/// The outcome of a [`Reader`] call that may need more input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Progress<T> {
    /// The call is complete.
    Done(T),
    /// The state machine needs more input (bytes, or the end of stream) or
    /// a deadline to pass: the driver reads from its transport into the
    /// state machine (writing what it has queued meanwhile), or waits for
    /// readiness or [`Connection::poll_timeout`] and calls
    /// [`Connection::handle_timeout`], then calls again. Nothing was lost:
    /// every event polled is kept in the [`Reader`].
    Pending,
}

/// A response head as read by [`Reader::poll_head`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// `100 Continue` for the request whose body waits for it: send the
    /// body now.
    Continue(RequestId),
    /// A final response head (its 1xx responses are in
    /// [`Reader::informational`]); its body follows.
    Final(Response),
}

impl Head {
    /// The head as a [`Response`] (a `100 Continue` one for
    /// [`Head::Continue`], as [`Response::continue_for`] makes).
    pub fn into_response(self) -> Response {
        match self {
            Head::Continue(id) => Response::continue_for(id),
            Head::Final(response) => response,
        }
    }
}

/// The receiving side of a connection between the state machine and the
/// caller: which response is being read and how far. See the
/// [module documentation](self).
///
/// Every call takes the connection's [`dugong_proto::Connection`], so a
/// driver that shares it between a sending and a receiving task (behind a
/// lock) keeps the `Reader` with the receiving one.
#[derive(Debug)]
pub struct Reader {
    /// A final head was returned and its body is not read to its end.
    in_body: bool,
    /// The caller dropped its body reader before the end: the next head
    /// read discards the rest of the body first.
    abandoned: bool,
    /// Body bytes polled but not yet handed to the caller.
    pending: Bytes,
    trailers: Option<Headers>,
    /// 1xx responses (but `100`) before the last final head returned.
    informational: Vec<Response>,
    /// 1xx responses before the head being read.
    informational_next: Vec<Response>,
    /// The bytes after a `2xx` to `CONNECT` or a `101`: the connection was
    /// handed over.
    upgraded: Option<Bytes>,
    max_read_all: usize,
}

impl Reader {
    /// A reader for a new connection, whose [`poll_read_all`](Self::poll_read_all)
    /// takes bodies of at most `max_read_all` bytes.
    pub fn new(max_read_all: usize) -> Reader {
        Reader {
            in_body: false,
            abandoned: false,
            pending: Bytes::new(),
            trailers: None,
            informational: Vec::new(),
            informational_next: Vec::new(),
            upgraded: None,
            max_read_all,
        }
    }

    /// The bound of [`poll_read_all`](Self::poll_read_all).
    pub fn max_read_all(&self) -> usize {
        self.max_read_all
    }

    /// True while the body of the last final head returned is not read to
    /// its end.
    pub fn in_body(&self) -> bool {
        self.in_body
    }

    /// The trailer fields of the last body read to its end (empty for a
    /// body that was not chunked); `None` before, and while a body is read.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_ref()
    }

    /// The 1xx responses (other than `100 Continue`) that came before the
    /// last final head returned.
    pub fn informational(&self) -> &[Response] {
        &self.informational
    }

    /// The bytes that followed the head of a `2xx` to `CONNECT` or a `101`
    /// to an upgrade request, once its "body" was read (the hand-over):
    /// they belong to the new protocol.
    pub fn upgraded(&self) -> Option<&Bytes> {
        self.upgraded.as_ref()
    }

    /// Takes the bytes of [`upgraded`](Self::upgraded).
    pub fn take_upgraded(&mut self) -> Option<Bytes> {
        self.upgraded.take()
    }

    /// The caller gave up reading the current body (its body reader was
    /// dropped): the next [`poll_head`](Self::poll_head) discards the rest
    /// of it instead of failing.
    pub fn abandon(&mut self) {
        if self.in_body {
            self.abandoned = true;
        }
    }

    /// True if the current body was [abandoned](Self::abandon): the next
    /// [`poll_head`](Self::poll_head) discards its rest first. A driver
    /// that looks at its own state before a head (is a response owed?)
    /// discards with [`poll_discard`](Self::poll_discard) first, then looks.
    pub fn abandoned(&self) -> bool {
        self.in_body && self.abandoned
    }

    /// Forgets what was received of the current body (after an error that
    /// breaks the connection): nothing of it can be handed out any more.
    fn drop_body(&mut self) {
        self.pending = Bytes::new();
    }

    /// How many bytes of the current body the driver may read from its
    /// transport straight into the caller's buffer of `buf_len` bytes (no
    /// copy through the receive buffer): 0 unless a body is being read and
    /// nothing of it waits here; then as many as the state machine allows
    /// ([`Connection::direct_read_len`]). Report them with
    /// [`Connection::note_direct_read`].
    pub fn direct_read_len(&self, proto: &Connection, buf_len: usize) -> usize {
        if !self.in_body || !self.pending.is_empty() {
            return 0;
        }
        usize::try_from(proto.direct_read_len()).map_or(buf_len, |n| n.min(buf_len))
    }

    /// Reads on towards the next response head, in the order the requests
    /// were sent: a `100 Continue` for a request whose body waits for it,
    /// or a final head. 1xx responses before a final head are kept for
    /// [`informational`](Self::informational).
    ///
    /// The driver checks first that a response is owed
    /// ([`Connection::in_flight`]); a `100 Continue` it makes up when the
    /// continue delay passed ([`Connection::handle_timeout`]'s request) it
    /// reports itself.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] if the previous body is not read to its end (and
    /// was not [abandoned](Self::abandon)); the state machine's errors as
    /// [`Error::Protocol`].
    #[inline]
    pub fn poll_head(&mut self, proto: &mut Connection) -> Result<Progress<Head>, Error> {
        if self.in_body {
            if !self.abandoned {
                return Err(Error::Usage(
                    "the previous response's body is not read to its end; read or discard it",
                ));
            }
            if let Progress::Pending = self.poll_discard(proto)? {
                return Ok(Progress::Pending);
            }
        }
        loop {
            let Some(event) = proto.poll_event()? else {
                return Ok(Progress::Pending);
            };
            match event {
                Event::Headers(head) => {
                    tracing::debug!(
                        id = head.id().as_u64(),
                        status = head.status(),
                        "dugong: response head"
                    );
                    self.in_body = true;
                    self.abandoned = false;
                    self.trailers = None;
                    if !self.informational.is_empty() || !self.informational_next.is_empty() {
                        self.informational = std::mem::take(&mut self.informational_next);
                    }
                    return Ok(Progress::Done(Head::Final(head)));
                }
                other => {
                    if let Some(id) = self.other_head_event(other) {
                        return Ok(Progress::Done(Head::Continue(id)));
                    }
                }
            }
        }
    }

    /// An event before a final head other than the head: a `100 Continue`
    /// (its request is returned), another 1xx response (kept), or one
    /// that does not belong there. Out of [`poll_head`](Self::poll_head)'s
    /// way.
    #[cold]
    #[inline(never)]
    fn other_head_event(&mut self, event: Event) -> Option<RequestId> {
        match event {
            Event::Continue(id) => return Some(id),
            Event::Informational(head) => self.informational_next.push(head),
            other => {
                // Body events belong to a head already returned.
                tracing::warn!(?other, "dugong: body event with no head pending");
            }
        }
        None
    }

    /// The next piece of the current body (a slice of the receive buffer,
    /// not copied); `None` at its end (also when no body is being read).
    ///
    /// # Errors
    ///
    /// The state machine's errors as [`Error::Protocol`] (a body cut short
    /// is [`ErrorKind::Closed`](crate::ErrorKind::Closed), never a short
    /// body).
    #[inline]
    pub fn poll_chunk(&mut self, proto: &mut Connection) -> Result<Progress<Option<Bytes>>, Error> {
        if !self.pending.is_empty() {
            return Ok(Progress::Done(Some(std::mem::take(&mut self.pending))));
        }
        while self.in_body {
            let Some(event) = proto.poll_event()? else {
                return Ok(Progress::Pending);
            };
            match event {
                Event::Data(piece) => return Ok(Progress::Done(Some(piece))),
                Event::End { trailers } => {
                    self.in_body = false;
                    self.abandoned = false;
                    self.trailers = Some(trailers);
                }
                other => self.other_body_event(other),
            }
        }
        Ok(Progress::Done(None))
    }

    /// An event inside a body other than a piece or its end: the
    /// hand-over after a switch (or one that does not belong there). Out
    /// of [`poll_chunk`](Self::poll_chunk)'s way.
    #[cold]
    #[inline(never)]
    fn other_body_event(&mut self, event: Event) {
        match event {
            Event::Upgraded { rest } => {
                self.in_body = false;
                self.abandoned = false;
                self.upgraded = Some(rest);
            }
            other => {
                tracing::warn!(?other, "dugong: unexpected event inside a body");
            }
        }
    }

    /// Copies body bytes of the current response into `buf`: `Done(0)` at
    /// the end of the body (or for an empty `buf`). Drivers that read
    /// large buffers straight from the transport ask
    /// [`direct_read_len`](Self::direct_read_len) first.
    ///
    /// # Errors
    ///
    /// As [`poll_chunk`](Self::poll_chunk).
    pub fn poll_body(
        &mut self,
        proto: &mut Connection,
        buf: &mut [u8],
    ) -> Result<Progress<usize>, Error> {
        if buf.is_empty() {
            return Ok(Progress::Done(0));
        }
        let piece = match self.poll_chunk(proto)? {
            Progress::Pending => return Ok(Progress::Pending),
            Progress::Done(None) => return Ok(Progress::Done(0)),
            Progress::Done(Some(piece)) => piece,
        };
        let n = buf.len().min(piece.len());
        buf[..n].copy_from_slice(&piece[..n]);
        self.pending = piece.slice(n..);
        Ok(Progress::Done(n))
    }

    /// Skips the rest of the current body.
    ///
    /// # Errors
    ///
    /// As [`poll_chunk`](Self::poll_chunk).
    pub fn poll_discard(&mut self, proto: &mut Connection) -> Result<Progress<()>, Error> {
        loop {
            match self.poll_chunk(proto)? {
                Progress::Pending => return Ok(Progress::Pending),
                Progress::Done(None) => return Ok(Progress::Done(())),
                Progress::Done(Some(_)) => {}
            }
        }
    }

    /// Appends the rest of the current body to `out`, which holds what
    /// earlier calls for this body appended (pass the same `Vec` until
    /// `Done`).
    ///
    /// # Errors
    ///
    /// [`Error::BodyTooLarge`] as soon as `out` would pass
    /// [`max_read_all`](Self::max_read_all): nothing more is appended, what
    /// was polled of the body is dropped, and the driver breaks the
    /// connection (the rest of the body is never read, so nothing
    /// half-read is reused). Otherwise as [`poll_chunk`](Self::poll_chunk).
    pub fn poll_read_all(
        &mut self,
        proto: &mut Connection,
        out: &mut Vec<u8>,
    ) -> Result<Progress<()>, Error> {
        self.poll_whole(proto, out.len(), |_, piece| {
            out.extend_from_slice(&piece);
            out.len()
        })
    }

    /// Collects the rest of the body into `body` as one [`Bytes`] (see
    /// [`Collected`]); `Done` at its end (trailers are then in
    /// [`trailers`](Self::trailers)). Bounded like
    /// [`poll_read_all`](Self::poll_read_all).
    ///
    /// # Errors
    ///
    /// As [`poll_read_all`](Self::poll_read_all).
    pub fn poll_collect(
        &mut self,
        proto: &mut Connection,
        body: &mut Collected,
    ) -> Result<Progress<()>, Error> {
        let most = PRESIZE_MAX.min(self.max_read_all);
        self.poll_whole(proto, body.len(), |remaining, piece| {
            body.push(piece, remaining, most);
            body.len()
        })
    }

    /// The rest of the body, piece by piece, to `keep` (given what is
    /// announced after the piece), which returns the length kept so far
    /// (`so_far` before the first); bounded by
    /// [`max_read_all`](Self::max_read_all) before each piece.
    fn poll_whole(
        &mut self,
        proto: &mut Connection,
        mut so_far: usize,
        mut keep: impl FnMut(Option<u64>, Bytes) -> usize,
    ) -> Result<Progress<()>, Error> {
        loop {
            match self.poll_chunk(proto)? {
                Progress::Pending => return Ok(Progress::Pending),
                Progress::Done(None) => return Ok(Progress::Done(())),
                Progress::Done(Some(piece)) => {
                    self.check_read_all(so_far, piece.len())?;
                    so_far = keep(proto.body_remaining(), piece);
                }
            }
        }
    }

    /// The bound of a body read whole, for a driver that collects the
    /// pieces itself (such as a zero-copy pipeline): `Ok` if `so_far`
    /// bytes and `more` fit in [`max_read_all`](Self::max_read_all).
    ///
    /// # Errors
    ///
    /// [`Error::BodyTooLarge`] otherwise; what was polled of the body is
    /// dropped, and the driver breaks the connection, as after
    /// [`poll_read_all`](Self::poll_read_all).
    pub fn check_read_all(&mut self, so_far: usize, more: usize) -> Result<(), Error> {
        if more <= self.max_read_all.saturating_sub(so_far) {
            return Ok(());
        }
        self.drop_body();
        Err(Error::BodyTooLarge {
            limit: self.max_read_all,
        })
    }
}

/// The most a [`Collected`] body reserves up front from the length a
/// response announced.
const PRESIZE_MAX: usize = 16 << 20;

/// A body collected whole by [`Reader::poll_collect`]: a body that arrives
/// in one piece is kept as that piece, without a copy; more pieces are
/// joined into one buffer, reserved once from the length the response
/// announced (up to the `read_all` bound and 16 MiB).
#[derive(Debug, Default)]
pub struct Collected {
    state: Joined,
}

#[derive(Debug, Default)]
enum Joined {
    #[default]
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Collected {
    /// An empty body.
    pub fn new() -> Collected {
        Collected::default()
    }

    /// The bytes collected so far.
    pub fn len(&self) -> usize {
        match &self.state {
            Joined::Empty => 0,
            Joined::One(piece) => piece.len(),
            Joined::Many(joined) => joined.len(),
        }
    }

    /// True if nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `piece`; `remaining` body bytes are announced after it (at most
    /// `most` of them are reserved for).
    fn push(&mut self, piece: Bytes, remaining: Option<u64>, most: usize) {
        self.state = match std::mem::take(&mut self.state) {
            Joined::Empty => Joined::One(piece),
            Joined::One(first) => {
                let so_far = first.len() + piece.len();
                let announced = remaining.map_or(0, |n| usize::try_from(n).unwrap_or(most));
                let mut joined = BytesMut::with_capacity(so_far + announced.min(most));
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&piece);
                Joined::Many(joined)
            }
            Joined::Many(mut joined) => {
                joined.extend_from_slice(&piece);
                Joined::Many(joined)
            }
        };
    }

    /// The body.
    pub fn into_bytes(self) -> Bytes {
        match self.state {
            Joined::Empty => Bytes::new(),
            Joined::One(piece) => piece,
            Joined::Many(joined) => joined.freeze(),
        }
    }
}

/// The idle check: with no request in flight, lets the state machine judge
/// every byte received so far (the driver first takes what its transport
/// has ready without waiting). Empty lines and the end of stream are fine.
///
/// # Errors
///
/// The state machine's error for bytes that answer no request (an extra
/// response, bytes after `Connection: close`), as [`Error::Protocol`].
pub fn check_idle(proto: &mut Connection) -> Result<(), Error> {
    // With nothing in flight there is no event to take, only an error.
    if let Some(event) = proto.poll_event()? {
        tracing::warn!(?event, "dugong: event with no request in flight");
    }
    Ok(())
}

/// The first `n` bytes of what `proto` has queued to write were written:
/// records them in `trace`, if there is one (secret header values masked
/// where [`Connection::secret_spans`] says), and takes them off the queue
/// ([`Connection::consume_transmit`]). Every driver's write path ends
/// here.
pub fn wrote(proto: &mut Connection, trace: Option<&Trace>, n: usize) {
    if let Some(trace) = trace {
        let mut offset = proto.transmitted();
        let mut left = n;
        for segment in proto.transmit_segments() {
            if left == 0 {
                break;
            }
            let take = left.min(segment.len());
            trace.sent(offset, &segment[..take], proto.secret_spans());
            offset += take as u64;
            left -= take;
        }
    }
    proto.consume_transmit(n);
}

/// The end of a `CONNECT` tunnel step through an HTTP proxy, when the
/// connection was handed over (the state machine decided the tunnel opened:
/// a `2xx`): `rest` are the bytes that followed the head.
///
/// # Errors
///
/// [`Error::Tls`] if bytes followed the proxy's `2xx` before the TLS
/// handshake the caller is about to start (a tunnel to a TLS server carries
/// nothing before the client speaks).
pub fn tunnel_opened(rest: &[u8]) -> Result<(), Error> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::Tls(
            "the proxy sent bytes before the TLS handshake".into(),
        ))
    }
}

/// The error of a `CONNECT` tunnel step whose connection was not handed
/// over: `broken`, the error that broke the connection, if one did;
/// otherwise [`Error::ProxyRefused`] with the status and reason phrase of
/// the proxy's final answer `head`.
pub fn tunnel_refused(head: &Response, broken: Option<Error>) -> Error {
    broken.unwrap_or_else(|| Error::ProxyRefused {
        status: head.status(),
        reason: String::from_utf8_lossy(head.reason()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dugong_proto::{Body, ErrorKind as ProtoKind};

    /// A connection with `requests` (method, expects 100) sent.
    fn sent(requests: &[(&str, bool)]) -> Connection {
        let mut proto = Connection::default();
        for &(method, expect) in requests {
            let mut headers = vec![("Host", "a")];
            let body = if expect {
                headers.push(("Expect", "100-continue"));
                Body::Full(Bytes::from_static(b"up"))
            } else {
                Body::Empty
            };
            proto.send_request(method, "/", headers, body).unwrap();
        }
        while proto.poll_transmit().is_some() {}
        proto
    }

    /// A scripted peer: `input` given `split` bytes at a time (all at
    /// once for 0) whenever a call is pending, then the end of stream.
    struct Peer<'a> {
        input: &'a [u8],
        split: usize,
        eof_given: bool,
    }

    impl Peer<'_> {
        /// Gives the next piece; false once there is nothing left.
        fn give(&mut self, proto: &mut Connection) -> bool {
            if self.input.is_empty() {
                if self.eof_given {
                    return false;
                }
                self.eof_given = true;
                proto.receive_eof();
                return true;
            }
            let n = if self.split == 0 {
                self.input.len()
            } else {
                self.split.min(self.input.len())
            };
            proto.receive(&self.input[..n]).unwrap();
            self.input = &self.input[n..];
            true
        }
    }

    /// Runs `call` until it is done, feeding the peer's bytes when pending.
    fn drive<T>(
        proto: &mut Connection,
        peer: &mut Peer<'_>,
        mut call: impl FnMut(&mut Connection) -> Result<Progress<T>, Error>,
    ) -> Result<T, Error> {
        loop {
            match call(proto)? {
                Progress::Done(v) => return Ok(v),
                Progress::Pending => assert!(peer.give(proto), "pending with no input left"),
            }
        }
    }

    /// What a caller reading every response with each mode sees, as text.
    fn transcript(requests: &[(&str, bool)], input: &[u8], split: usize) -> Vec<String> {
        let mut proto = sent(requests);
        let mut peer = Peer {
            input,
            split,
            eof_given: false,
        };
        let mut reader = Reader::new(64);
        let mut out = Vec::new();
        let mut mode = 0;
        while proto.in_flight() > 0 {
            let head = match drive(&mut proto, &mut peer, |p| reader.poll_head(p)) {
                Ok(head) => head,
                Err(e) => {
                    out.push(format!("error {}", e.kind().as_str()));
                    return out;
                }
            };
            let response = match head {
                Head::Continue(id) => {
                    out.push(format!("continue #{}", id.as_u64()));
                    continue;
                }
                Head::Final(response) => response,
            };
            let info: Vec<u16> = reader.informational().iter().map(|r| r.status()).collect();
            out.push(format!(
                "head #{} {} {info:?}",
                response.id().as_u64(),
                response.status()
            ));
            // Each response read with the next mode.
            mode += 1;
            let body = match mode % 4 {
                3 => {
                    let mut all = Collected::new();
                    drive(&mut proto, &mut peer, |p| reader.poll_collect(p, &mut all))
                        .map(|()| all.into_bytes().to_vec())
                }
                0 => {
                    let mut all = Vec::new();
                    drive(&mut proto, &mut peer, |p| reader.poll_read_all(p, &mut all))
                        .map(|()| all)
                }
                1 => {
                    let mut all = Vec::new();
                    let mut buf = [0u8; 3];
                    loop {
                        match drive(&mut proto, &mut peer, |p| reader.poll_body(p, &mut buf)) {
                            Ok(0) => break Ok(all),
                            Ok(n) => all.extend_from_slice(&buf[..n]),
                            Err(e) => break Err(e),
                        }
                    }
                }
                _ => {
                    drive(&mut proto, &mut peer, |p| reader.poll_discard(p)).map(|()| b"-".to_vec())
                }
            };
            match body {
                Ok(body) => out.push(format!(
                    "body {} trailers {}",
                    String::from_utf8_lossy(&body),
                    reader.trailers().map_or(0, |t| t.len())
                )),
                Err(e) => {
                    out.push(format!("error {}", e.kind().as_str()));
                    return out;
                }
            }
            assert!(!reader.in_body());
        }
        out
    }

    #[test]
    fn every_mode_reads_the_same_whatever_the_split() {
        let requests = [
            ("GET", false),
            ("GET", false),
            ("GET", false),
            ("PUT", true),
        ];
        let input: &[u8] = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
            HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n\
            HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        // Modes in turn: poll_body, poll_discard, poll_read_all.
        let expected = [
            "head #0 200 [103]",
            "body hello trailers 0",
            "head #1 201 []",
            "body - trailers 1",
            "head #2 204 []",
            "body  trailers 0",
            "continue #3",
            "head #3 200 []",
            "body ok trailers 0",
        ];
        for split in [0, 1, 2, 7] {
            assert_eq!(
                transcript(&requests, input, split),
                expected,
                "split {split}"
            );
        }
    }

    #[test]
    fn collect_keeps_one_piece_joins_many_and_is_bounded() {
        let input: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello!\
            HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        for split in [0, 1, 4] {
            let mut proto = sent(&[("GET", false), ("GET", false)]);
            let mut peer = Peer {
                input,
                split,
                eof_given: false,
            };
            let mut reader = Reader::new(8);
            let mut bodies = Vec::new();
            for _ in 0..2 {
                drive(&mut proto, &mut peer, |p| reader.poll_head(p)).unwrap();
                let mut body = Collected::new();
                drive(&mut proto, &mut peer, |p| reader.poll_collect(p, &mut body)).unwrap();
                bodies.push(body.into_bytes());
            }
            assert_eq!(bodies, ["hello!", "abcde"], "split {split}");
            // Whole, the first body is the received piece itself.
            if split == 0 {
                assert_eq!(bodies[0].len(), 6);
            }
            let mut proto = sent(&[("GET", false)]);
            let mut peer = Peer {
                input,
                split,
                eof_given: false,
            };
            let mut reader = Reader::new(5);
            drive(&mut proto, &mut peer, |p| reader.poll_head(p)).unwrap();
            let mut body = Collected::new();
            let e = drive(&mut proto, &mut peer, |p| reader.poll_collect(p, &mut body));
            assert!(matches!(e, Err(Error::BodyTooLarge { limit: 5 })), "{e:?}");
        }
    }

    #[test]
    fn a_body_cut_short_is_an_error_never_a_short_body() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
        for split in [0, 1] {
            assert_eq!(
                transcript(&[("GET", false)], input, split),
                ["head #0 200 []", "error connection closed"]
            );
        }
    }

    #[test]
    fn read_all_stops_at_its_bound() {
        // `transcript`'s reader takes 64 bytes; the first body is read
        // with poll_body, the second with poll_discard, the third whole.
        let ok = |n: usize| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n{}",
                "x".repeat(n)
            )
        };
        let input = [ok(1), ok(1), ok(64)].concat();
        let got = transcript(&[("GET", false); 3], input.as_bytes(), 0);
        assert_eq!(
            got.last().map(String::as_str),
            Some(
                "body xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx trailers 0"
            )
        );
        let input = [ok(1), ok(1), ok(65)].concat();
        for split in [0, 1, 10] {
            let got = transcript(&[("GET", false); 3], input.as_bytes(), split);
            assert_eq!(
                got.last().map(String::as_str),
                Some("error response too large"),
                "split {split}"
            );
        }
    }

    #[test]
    fn a_new_head_waits_for_the_body_unless_abandoned() {
        let mut proto = sent(&[("GET", false), ("GET", false)]);
        proto
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut reader = Reader::new(64);
        assert!(matches!(
            reader.poll_head(&mut proto),
            Ok(Progress::Done(Head::Final(_)))
        ));
        let mut buf = [0u8; 1];
        assert_eq!(
            reader.poll_body(&mut proto, &mut buf).unwrap(),
            Progress::Done(1)
        );
        assert_eq!(reader.direct_read_len(&proto, 100), 0, "bytes wait here");
        assert!(matches!(reader.poll_head(&mut proto), Err(Error::Usage(_))));
        assert!(!reader.abandoned());
        reader.abandon();
        assert!(reader.abandoned());
        let Ok(Progress::Done(Head::Final(second))) = reader.poll_head(&mut proto) else {
            panic!("the rest of the first body is skipped");
        };
        assert_eq!(second.id().as_u64(), 1);
        assert!(!reader.abandoned(), "a new head is not abandoned");
        assert_eq!(reader.poll_discard(&mut proto).unwrap(), Progress::Done(()));
        reader.abandon();
        assert!(!reader.abandoned(), "no body, nothing to abandon");
    }

    #[test]
    fn direct_reads_are_offered_for_a_body_of_known_length() {
        let mut proto = sent(&[("GET", false)]);
        proto
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            .unwrap();
        let mut reader = Reader::new(64);
        assert_eq!(reader.direct_read_len(&proto, 100), 0, "no body yet");
        assert!(matches!(
            reader.poll_head(&mut proto),
            Ok(Progress::Done(_))
        ));
        assert_eq!(reader.direct_read_len(&proto, 100), 10);
        assert_eq!(reader.direct_read_len(&proto, 4), 4);
        proto.note_direct_read(10).unwrap();
        assert_eq!(reader.poll_chunk(&mut proto).unwrap(), Progress::Done(None));
        assert_eq!(reader.trailers().map(Headers::len), Some(0));
    }

    #[test]
    fn a_switch_hands_over_the_bytes_after_the_head() {
        let mut proto = Connection::default();
        proto
            .send_request("CONNECT", "a:443", [("Host", "a:443")], Body::Empty)
            .unwrap();
        proto
            .receive(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03tls")
            .unwrap();
        let mut reader = Reader::new(64);
        assert!(matches!(
            reader.poll_head(&mut proto),
            Ok(Progress::Done(Head::Final(_)))
        ));
        assert!(reader.in_body());
        assert_eq!(reader.poll_chunk(&mut proto).unwrap(), Progress::Done(None));
        assert_eq!(reader.take_upgraded().as_deref(), Some(&b"\x16\x03tls"[..]));
        assert!(proto.is_upgraded());
    }

    #[test]
    fn a_connect_opens_a_tunnel_only_when_the_core_hands_over() {
        let connect = |response: &[u8]| {
            let mut proto = Connection::default();
            proto
                .send_request("CONNECT", "a:443", [("Host", "a:443")], Body::Empty)
                .unwrap();
            proto.receive(response).unwrap();
            let mut reader = Reader::new(64);
            let Ok(Progress::Done(head)) = reader.poll_head(&mut proto) else {
                panic!("a head");
            };
            let head = head.into_response();
            let _ = reader.poll_discard(&mut proto);
            match reader.take_upgraded() {
                Some(rest) => tunnel_opened(&rest),
                None => Err(tunnel_refused(&head, None)),
            }
        };
        assert!(connect(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok());
        assert!(connect(b"HTTP/1.1 204 No Content\r\n\r\n").is_ok());
        match connect(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno")
        {
            Err(Error::ProxyRefused { status, reason }) => {
                assert_eq!(
                    (status, reason.as_str()),
                    (407, "Proxy Authentication Required")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            connect(b"HTTP/1.1 200 OK\r\n\r\n\x16early"),
            Err(Error::Tls(_))
        ));
        let broken = Error::Usage("broken");
        let id = Connection::default()
            .send_request("GET", "/", [("Host", "a")], Body::Empty)
            .unwrap();
        let head = Response::continue_for(id);
        assert_eq!(
            tunnel_refused(&head, Some(broken.clone())).to_string(),
            broken.to_string()
        );
    }

    #[test]
    fn written_bytes_are_traced_with_secrets_masked_and_consumed() {
        let dir = std::env::temp_dir().join(format!("dugong-session-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wrote.trace");
        let trace = Trace::create(&path, "session test").unwrap();
        let mut proto = Connection::default();
        proto.set_track_secrets(true);
        proto
            .send_request("GET", "/", [("Host", "a"), ("Cookie", "k=v")], Body::Empty)
            .unwrap();
        let wire: Vec<u8> = proto.transmit_segments().flatten().copied().collect();
        // Written in two pieces, the secret split between them.
        let cut = wire.windows(3).position(|w| w == b"k=v").unwrap() + 1;
        wrote(&mut proto, Some(&trace), cut);
        assert_eq!(proto.transmit_len(), (wire.len() - cut) as u64);
        wrote(&mut proto, Some(&trace), wire.len() - cut);
        assert_eq!(proto.transmit_len(), 0);
        wrote(&mut proto, None, 0);
        drop(trace);
        let records = crate::trace::parse(&std::fs::read(&path).unwrap()).unwrap();
        let sent: Vec<u8> = records
            .iter()
            .filter(|(kind, _)| kind == "send")
            .flat_map(|(_, bytes)| bytes.clone())
            .collect();
        assert_eq!(sent.len(), wire.len());
        let text = String::from_utf8_lossy(&sent);
        assert!(!text.contains("k=v") && text.contains("Cookie: "), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_idle_check_refuses_what_answers_no_request() {
        let mut proto = sent(&[("GET", false)]);
        proto
            .receive(b"HTTP/1.1 204 No Content\r\n\r\n\r\n")
            .unwrap();
        let mut reader = Reader::new(64);
        assert!(matches!(
            reader.poll_head(&mut proto),
            Ok(Progress::Done(_))
        ));
        assert_eq!(reader.poll_discard(&mut proto).unwrap(), Progress::Done(()));
        assert!(check_idle(&mut proto).is_ok(), "empty lines are fine");
        proto.receive(b"HTTP/1.1 200 OK\r\n").unwrap();
        match check_idle(&mut proto) {
            Err(Error::Protocol(e)) => assert_eq!(e.kind(), ProtoKind::Invalid),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn protocol_errors_come_back_as_protocol_errors() {
        let mut proto = sent(&[("GET", false)]);
        proto.receive(b"\x16\x03\x01").unwrap();
        let mut reader = Reader::new(64);
        match reader.poll_head(&mut proto) {
            Err(Error::Protocol(e)) => assert_eq!(e.kind(), ProtoKind::Invalid),
            other => panic!("{other:?}"),
        }
    }
}
