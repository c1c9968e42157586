//! [`Connection`]: routes calls to the send and receive sides, keeps the
//! queue of requests in flight that the two share, and owns the deadlines.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::error::{Closed, Error, Fate, StateError, Timeout, Unanswered};
use crate::event::{Event, RequestId};
use crate::lifecycle::Lifecycle;
use crate::recv::{Expecting, FrontProgress, Parsed, Receiver};
use crate::request::{HeaderField, RequestFacts};
use crate::send::{Body, Progress, Segments, Sender};
use crate::time::Instant;

/// The least room [`Connection::receive`] makes in the receive buffer when
/// a piece does not fit.
const RECEIVE_RESERVE: usize = 4096;

/// One request waiting for (the rest of) its response.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: RequestId,
    facts: RequestFacts,
    /// Stream offset just past the request's last byte, once all of it is
    /// queued.
    end: Option<u64>,
}

/// A deadline that starts counting at the first time input after it is
/// armed.
#[derive(Debug, Clone, Copy, Default)]
struct Timer {
    at: Option<Instant>,
    restart: bool,
}

impl Timer {
    fn refresh(&mut self, active: bool, now: Instant, duration: Option<Duration>) {
        match duration {
            Some(d) if active => {
                if self.at.is_none() || self.restart {
                    self.at = Some(now + d);
                    self.restart = false;
                }
            }
            _ => *self = Timer::default(),
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.at.is_some_and(|at| at <= now)
    }
}

/// The protocol state of one HTTP/1.1 client connection.
///
/// It performs no I/O. The caller moves bytes and time in and out:
///
/// - **requests**: [`send_request`](Self::send_request), then for streaming
///   bodies [`send_body`](Self::send_body) and (chunked)
///   [`finish`](Self::finish);
/// - **bytes to write**: [`poll_transmit`](Self::poll_transmit), or
///   [`transmit_segments`](Self::transmit_segments) with
///   [`consume_transmit`](Self::consume_transmit) for vectored writes;
/// - **bytes read**: [`receive`](Self::receive),
///   [`read_into`](Self::read_into) or [`recv_buf`](Self::recv_buf), and
///   [`receive_eof`](Self::receive_eof) when the peer closes;
/// - **events**: [`poll_event`](Self::poll_event);
/// - **time**: [`poll_timeout`](Self::poll_timeout) and
///   [`handle_timeout`](Self::handle_timeout).
///
/// # The contract
///
/// After every call that gives the connection something (a request, body,
/// received bytes, end of stream, the time), the caller MUST write out
/// everything [`poll_transmit`](Self::poll_transmit) hands out, then call
/// [`poll_event`](Self::poll_event) until it returns `Ok(None)`, and, if it
/// uses deadlines, call [`poll_timeout`](Self::poll_timeout) to learn when to
/// call [`handle_timeout`](Self::handle_timeout) next. Bytes are written in
/// the order they are handed out. To keep memory bounded, read more bytes
/// only after `poll_event` returned `Ok(None)`, and a bounded amount at a
/// time: the limits of the [`Config`] are checked as bytes are parsed, so
/// the receive buffer then never holds much more than one head or one read.
///
/// After an error from the peer's side (see [`Error::is_fatal`]) the
/// connection is dead: every later call returns that error again, and the
/// caller closes the transport.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    send: Sender,
    recv: Receiver,
    in_flight: VecDeque<InFlight>,
    next_id: u64,
    lifecycle: Lifecycle,
    /// The last `next_event` consumed a `100 Continue` nothing waits for.
    consumed_continue: bool,
    /// What was left unanswered when the connection broke.
    lost: Option<Closed>,
    /// `recv.received()` when progress was last noted.
    seen_received: u64,
    /// Stream offset where the response being read began.
    response_start: u64,
    /// Moving mean of the sizes of recent responses (heads and bodies, in
    /// bytes); 0 before the first one completes.
    mean_response: u64,
    continue_timer: Timer,
    read_timer: Timer,
    write_timer: Timer,
    idle_timer: Timer,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new(Config::default())
    }
}

impl Connection {
    /// A new connection with the given limits and deadlines.
    pub fn new(config: Config) -> Self {
        Connection {
            config,
            send: Sender::new(),
            recv: Receiver::new(),
            in_flight: VecDeque::new(),
            response_start: 0,
            mean_response: 0,
            next_id: 0,
            lifecycle: Lifecycle::Open,
            consumed_continue: false,
            lost: None,
            seen_received: 0,
            continue_timer: Timer::default(),
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            idle_timer: Timer::default(),
        }
    }

    /// The configuration this connection was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- requests -------------------------------------------------------

    /// Queues a request: its head, and its body if given whole.
    ///
    /// `target` is origin-form (`/path?query`), absolute-form
    /// (`http://host/path`, for plain-HTTP proxies), authority-form
    /// (`host:port`, for `CONNECT` only) or `*` (for `OPTIONS` only).
    /// `headers` are sent in order as given; the same name may repeat. The
    /// caller supplies `Host`. `Content-Length` and `Transfer-Encoding` come
    /// from `body` and must not be among `headers`.
    ///
    /// The request waits for `100 Continue` if `headers` hold
    /// `Expect: 100-continue`: its body is held back until the server sends
    /// `100 Continue`, the continue deadline passes, or the caller calls
    /// [`continue_timeout`](Self::continue_timeout). If the server sends a
    /// final response first, the body is never sent.
    ///
    /// Everything is validated before anything is queued: an
    /// [`Error::InvalidRequest`] means nothing was emitted and the connection
    /// is unchanged.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidRequest`]: bad method, target, field name or value,
    ///   or a framing header among `headers`;
    /// - [`Error::State`]: the previous request's body is unfinished or waits
    ///   for `100 Continue`, a `CONNECT` or upgrade request is in flight, or
    ///   the connection is closing;
    /// - the connection's fatal error, if it is dead.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection};
    ///
    /// let mut conn = Connection::default();
    /// let id = conn.send_request("GET", "/", [("Host", "example.com")], Body::Empty)?;
    /// assert_eq!(id.as_u64(), 0);
    /// assert_eq!(
    ///     conn.poll_transmit().unwrap(),
    ///     &b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"[..]
    /// );
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
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
        self.check_alive()?;
        self.lifecycle.check_new_request()?;
        let id = RequestId(self.next_id);
        let (facts, progress) = self.send.start(id, method, target, headers, body)?;
        self.next_id += 1;
        self.in_flight.push_back(InFlight {
            id,
            facts,
            end: None,
        });
        self.note_send_progress(progress);
        self.lifecycle.request_sent(facts);
        if self.send.awaiting_continue().is_some() {
            self.continue_timer.restart = true;
        }
        self.read_timer.restart = true;
        self.idle_timer = Timer::default();
        Ok(id)
    }

    /// Queues a piece of the body of the request being sent (one sent with
    /// [`Body::Sized`] or [`Body::Chunked`]). The bytes are never copied. For
    /// a sized body, the last piece that reaches the announced length
    /// completes the request.
    ///
    /// # Errors
    ///
    /// - [`Error::ExcessBodyData`]: the piece goes past the announced length;
    ///   nothing of it was queued;
    /// - [`Error::State`]: no body is being sent, the request still waits for
    ///   `100 Continue`, or the server answered before `100 Continue` and the
    ///   body is cancelled;
    /// - the connection's fatal error, if it is dead.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.check_alive()?;
        let progress = self.send.send_body(data)?;
        self.note_send_progress(progress);
        Ok(())
    }

    /// Ends the chunked body of the request being sent, with optional
    /// trailer fields (pass `[] as [(&str, &str); 0]` or an empty `Vec` for
    /// none).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidRequest`]: a trailer name or value is invalid, or
    ///   the field may not be a trailer (such as `Content-Length` or `Host`);
    ///   nothing was queued;
    /// - [`Error::State`]: no chunked body is being sent;
    /// - the connection's fatal error, if it is dead.
    pub fn finish<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.check_alive()?;
        let progress = self.send.finish(trailers)?;
        self.note_send_progress(progress);
        Ok(())
    }

    /// Stops waiting for `100 Continue`: releases the held body of the
    /// request that waits for it. Returns false if no request waits.
    /// [`handle_timeout`](Self::handle_timeout) does this by itself when the
    /// [continue delay](Config::continue_delay) passes.
    pub fn continue_timeout(&mut self) -> bool {
        if self.lifecycle.is_dead() || self.send.awaiting_continue().is_none() {
            return false;
        }
        let progress = self.send.release();
        self.note_send_progress(progress);
        self.continue_timer = Timer::default();
        true
    }

    fn note_send_progress(&mut self, progress: Progress) {
        if let Progress::Complete(id, end) = progress {
            if let Some(r) = self.in_flight.iter_mut().rev().find(|r| r.id == id) {
                r.end = Some(end);
            }
        }
    }

    // ----- bytes out ------------------------------------------------------

    /// Stream offset of the next byte to write: the number of bytes handed
    /// out by [`poll_transmit`](Self::poll_transmit) or marked written with
    /// [`consume_transmit`](Self::consume_transmit) so far.
    pub fn transmitted(&self) -> u64 {
        self.send.sent()
    }

    /// Records where secret header values (`Authorization`,
    /// `Proxy-Authorization`, `Cookie`) go in the byte stream of later
    /// requests, so that a traffic trace can redact them; see
    /// [`secret_spans`](Self::secret_spans). Off by default.
    pub fn set_track_secrets(&mut self, on: bool) {
        self.send.track_secrets(on);
    }

    /// The stream ranges (offsets as in [`transmitted`](Self::transmitted))
    /// of secret header values not yet entirely written, in order, when
    /// [`set_track_secrets`](Self::set_track_secrets) is on. A trace writer
    /// masks the bytes of each write that fall into one of these ranges.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection};
    ///
    /// let mut conn = Connection::default();
    /// conn.set_track_secrets(true);
    /// conn.send_request("GET", "/", [("Host", "a"), ("Cookie", "k=v")], Body::Empty)?;
    /// let spans: Vec<_> = conn.secret_spans().collect();
    /// let wire = conn.poll_transmit().unwrap();
    /// assert_eq!(spans.len(), 1);
    /// let span = spans[0].start as usize..spans[0].end as usize;
    /// assert_eq!(&wire[span], b"k=v");
    /// assert_eq!(conn.secret_spans().count(), 0);
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn secret_spans(&self) -> impl Iterator<Item = core::ops::Range<u64>> + '_ {
        self.send.secrets()
    }

    /// The next segment of bytes to write, in order. A segment handed out
    /// counts as written.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let segment = self.send.poll_transmit()?;
        self.read_timer.restart = true;
        self.write_timer.restart = true;
        Some(segment)
    }

    /// Every segment waiting to be written, in order, for a vectored write.
    /// Report how many bytes were written with
    /// [`consume_transmit`](Self::consume_transmit).
    pub fn transmit_segments(&self) -> Segments<'_> {
        self.send.segments()
    }

    /// The number of bytes waiting to be written.
    pub fn transmit_len(&self) -> u64 {
        self.send.pending_bytes()
    }

    /// Marks `n` bytes from the start of
    /// [`transmit_segments`](Self::transmit_segments) as written.
    pub fn consume_transmit(&mut self, n: usize) {
        if n > 0 {
            self.send.consume(n);
            self.read_timer.restart = true;
            self.write_timer.restart = true;
        }
    }

    // ----- bytes in -------------------------------------------------------

    /// Gives the connection bytes read from the peer (copied into the
    /// receive buffer). Adapters that can read straight into the receive
    /// buffer use [`read_into`](Self::read_into) or
    /// [`recv_buf`](Self::recv_buf) instead.
    ///
    /// # Errors
    ///
    /// [`Error::State`] after [`receive_eof`](Self::receive_eof) or once the
    /// connection was handed over; the connection's fatal error if it is
    /// dead.
    pub fn receive(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_receive()?;
        if !self.recv.is_finished() {
            let buf = self.recv.buf_mut();
            if buf.capacity() - buf.len() < data.len() {
                // Room for more than this piece: small pieces fed one by
                // one then move the buffer (or allocate) once per
                // `RECEIVE_RESERVE` bytes, not once per piece.
                buf.reserve(data.len().max(RECEIVE_RESERVE));
            }
            buf.extend_from_slice(data);
        }
        Ok(())
    }

    /// Lets `read` fill up to `max` bytes of the receive buffer directly
    /// (such as `|buf| socket.read(buf)`), keeps the first `n` bytes it
    /// reports, and returns what `read` returned. No copy is made between
    /// the transport and the [`Event::Data`] pieces.
    ///
    /// The slice lent is `max` bytes long. Safe code must initialize bytes
    /// before lending them: the connection zeroes room 64 KiB (or `max`)
    /// at a time, not `max` bytes at every call, so asking for 4 KiB and
    /// getting a few hundred bytes costs a few hundred bytes.
    ///
    /// A read of 0 bytes is not taken as end of stream: call
    /// [`receive_eof`](Self::receive_eof) for that. Bytes read once the
    /// connection no longer parses (dead, handed over, or after the peer
    /// announced it closes) are dropped.
    ///
    /// # Errors
    ///
    /// `read`'s own error; nothing is kept then.
    pub fn read_into<E>(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let result = self.recv.read_into(max, read);
        if self.recv.is_finished() || self.lifecycle.is_dead() {
            self.recv.buf_mut().clear();
        }
        result
    }

    /// How many bytes of the current response body the caller may read
    /// straight from the transport into its own buffer, bypassing the
    /// receive buffer, and so save a copy; 0 if it may not now.
    ///
    /// It is non-zero only while a body is being received, the receive
    /// buffer is empty (every event so far was polled) and the end of
    /// stream is not reported: the rest of a `Content-Length` body, the rest
    /// of the current chunk, or [`u64::MAX`] for a body delimited by the
    /// connection's close. Report what was read with
    /// [`note_direct_read`](Self::note_direct_read); those bytes are not
    /// delivered again as [`Event::Data`].
    pub fn direct_read_len(&self) -> u64 {
        if !self.lifecycle.is_alive() {
            return 0;
        }
        self.recv.direct_len()
    }

    /// The bytes of the current response's body not delivered yet, when the
    /// response gave its length: the rest of a `Content-Length` body (as
    /// [`Event::Data`] or read directly), 0 for a bodiless response or a
    /// body read to its end but not yet ended by [`Event::End`]. `None` for
    /// a chunked or close-delimited body, between responses, and on a dead
    /// or handed-over connection. Right after [`Event::Headers`] it is the
    /// whole length, for sizing a buffer (trust it only as far as memory
    /// allows: it is the server's word).
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Event};
    ///
    /// let mut conn = Connection::default();
    /// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
    /// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")?;
    /// assert!(matches!(conn.poll_event()?, Some(Event::Headers(_))));
    /// assert_eq!(conn.body_remaining(), Some(5));
    /// assert!(matches!(conn.poll_event()?, Some(Event::Data(d)) if d == "hel"));
    /// assert_eq!(conn.body_remaining(), Some(2));
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn body_remaining(&self) -> Option<u64> {
        if !self.lifecycle.is_alive() {
            return None;
        }
        self.recv.body_remaining()
    }

    /// True while the current response's body is delimited by the end of
    /// the stream (RFC 9112 §6.3, rule 8: neither `Transfer-Encoding` nor
    /// `Content-Length`); `until_close_announced` says whether its head
    /// also announced the close. `false` between responses and on a dead
    /// or handed-over connection.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Event};
    ///
    /// let mut conn = Connection::default();
    /// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
    /// conn.receive(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")?;
    /// assert!(matches!(conn.poll_event()?, Some(Event::Headers(_))));
    /// assert!(conn.body_until_close());
    /// assert!(!conn.close_announced());
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn body_until_close(&self) -> bool {
        self.lifecycle.is_alive() && self.recv.body_until_close()
    }

    /// True while the current response's head said the server closes the
    /// connection after it (RFC 9112 §9.3: `Connection: close`, or HTTP/1.0
    /// without `Connection: keep-alive`). `false` between responses.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Event};
    ///
    /// let mut conn = Connection::default();
    /// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
    /// conn.receive(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbye")?;
    /// assert!(matches!(conn.poll_event()?, Some(Event::Headers(_))));
    /// assert!(conn.body_until_close() && conn.close_announced());
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn close_announced(&self) -> bool {
        self.recv.close_announced()
    }

    /// Reports `n` body bytes that the caller read directly (see
    /// [`direct_read_len`](Self::direct_read_len)). They count as received
    /// for the read timeout, and once the body is complete the next
    /// [`poll_event`](Self::poll_event) returns [`Event::End`] (or, for a
    /// chunked body, goes on with the next chunk).
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Event};
    ///
    /// let mut conn = Connection::default();
    /// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
    /// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")?;
    /// assert!(matches!(conn.poll_event()?, Some(Event::Headers(_))));
    /// assert_eq!(conn.poll_event()?, None);
    /// assert_eq!(conn.direct_read_len(), 5);
    /// // The caller read "hello" from its socket into its own buffer.
    /// conn.note_direct_read(5)?;
    /// assert!(matches!(conn.poll_event()?, Some(Event::End { .. })));
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StateError::DirectReadTooLong`] if `n` exceeds
    /// [`direct_read_len`](Self::direct_read_len) (nothing is counted);
    /// the connection's fatal error if it is dead.
    pub fn note_direct_read(&mut self, n: usize) -> Result<(), Error> {
        self.check_alive()?;
        if n as u64 > self.recv.direct_len() {
            return Err(Error::State(StateError::DirectReadTooLong));
        }
        self.recv.direct_consumed(n as u64);
        Ok(())
    }

    /// Sets the `Host` value sent with later requests that carry no `Host`
    /// field of their own (a `CONNECT` request without one gets its
    /// target). Adapters set it from the address they connected to.
    /// `None` sends no default.
    pub fn set_host(&mut self, host: Option<Bytes>) {
        self.send.set_default_host(host);
    }

    /// The receive buffer itself, for adapters that read into a `BytesMut`
    /// (such as tokio's `read_buf`). The caller MUST only append to it; the
    /// connection parses what was appended at the next
    /// [`poll_event`](Self::poll_event).
    ///
    /// An adapter that shares the connection behind a lock between a sending
    /// and a receiving task need not hold the lock while it waits for bytes:
    /// it can take the buffer out (`std::mem::take(conn.recv_buf())`), read
    /// into it unlocked, and put the same buffer back before the next
    /// `poll_event`. Only the receiving side may do this, and it must not
    /// poll events while the buffer is out.
    pub fn recv_buf(&mut self) -> &mut BytesMut {
        self.recv.buf_mut()
    }

    /// Tells the connection the peer closed its sending side (a read
    /// returned 0 bytes, or the connection was reset). A close-delimited
    /// body ends normally; if responses are still owed,
    /// [`poll_event`](Self::poll_event) reports
    /// [`Error::ConnectionClosed`] once the complete responses before it are
    /// delivered.
    pub fn receive_eof(&mut self) {
        self.recv.set_eof();
        self.lifecycle.peer_closed();
    }

    #[inline]
    fn check_alive(&self) -> Result<(), Error> {
        match self.lifecycle.error() {
            Some(e) => Err(repeat_error(e)),
            None => Ok(()),
        }
    }

    fn check_receive(&self) -> Result<(), Error> {
        self.check_alive()?;
        if self.lifecycle.is_switched() {
            Err(Error::State(StateError::Upgrading))
        } else if self.recv.is_eof() {
            Err(Error::State(StateError::AfterEof))
        } else {
            Ok(())
        }
    }

    // ----- events ---------------------------------------------------------

    /// The next event parsed from the received bytes, or `Ok(None)` if more
    /// bytes (or the end of stream) are needed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`], [`Error::UnsupportedResponse`],
    /// [`Error::TooLarge`], [`Error::ConnectionClosed`] or
    /// [`Error::TimedOut`]; all are fatal, and repeated by every later call.
    #[must_use = "events must be handled"]
    pub fn poll_event(&mut self) -> Result<Option<Event>, Error> {
        self.check_alive()?;
        let mut event = self.next_event();
        if self.consumed_continue {
            event = self.next_event_after_consumed_continue();
        }
        if let Err(e) = &event {
            self.fail(e.clone());
        }
        event
    }

    /// [`next_event`](Self::next_event) again (and again) after it consumed
    /// a `100 Continue` that no request waits for: out of the way of the
    /// usual path.
    #[cold]
    #[inline(never)]
    fn next_event_after_consumed_continue(&mut self) -> Result<Option<Event>, Error> {
        loop {
            self.consumed_continue = false;
            let event = self.next_event();
            if !self.consumed_continue {
                return event;
            }
        }
    }

    /// The next event. A `100 Continue` that no request waits for is
    /// consumed: it sets `consumed_continue` and returns `Ok(None)`, and
    /// the caller polls again.
    #[inline(always)]
    fn next_event(&mut self) -> Result<Option<Event>, Error> {
        let (in_flight, send) = (&self.in_flight, &self.send);
        let front = || {
            in_flight.front().map(|r| Expecting {
                id: r.id,
                facts: r.facts,
                upgrade_offer: send.upgrade_offer(),
            })
        };
        let Some(parsed) = self.recv.poll(front, &self.config)? else {
            return Ok(None);
        };
        let event = match parsed {
            Parsed::Continue(id) => {
                if self.send.awaiting_continue() != Some(id) {
                    // Too late (the continue delay released the body),
                    // or never asked for: nothing to report.
                    self.consumed_continue = true;
                    return Ok(None);
                }
                let progress = self.send.release();
                self.note_send_progress(progress);
                self.continue_timer = Timer::default();
                Event::Continue(id)
            }
            Parsed::Informational(response) => Event::Informational(response),
            Parsed::Final(response) => {
                if self.send.cancel_if_awaiting(response.id) {
                    self.lifecycle.body_cancelled();
                    self.continue_timer = Timer::default();
                }
                Event::Headers(response)
            }
            Parsed::Data(data) => Event::Data(data),
            Parsed::End {
                trailers,
                announced_close,
            } => {
                let done = self.in_flight.pop_front();
                self.note_response_size();
                // An answer to a `CONNECT` or upgrade request that ends
                // like any response refused the tunnel: plain HTTP goes on.
                let refused = done.is_some_and(|r| r.facts.connect || r.facts.upgrade);
                // (Skipped, off the hot path, when it would change nothing.)
                if refused || announced_close || self.recv.is_eof() {
                    let peer_gone = self.recv.is_eof() && self.in_flight.is_empty();
                    self.lifecycle
                        .response_ended(refused, announced_close, peer_gone);
                }
                if announced_close {
                    // Requests behind it are reported unprocessed once the
                    // peer closes with nothing more (RFC 9112 §9.6); bytes
                    // before that make the claim doubtful, and are an error.
                    self.recv.after_close();
                }
                Event::End { trailers }
            }
            Parsed::ClosedAsAnnounced => {
                if self.in_flight.is_empty() {
                    return Ok(None);
                }
                return Err(Error::ConnectionClosed(self.lost(FrontProgress {
                    after_close: true,
                    ..FrontProgress::default()
                })));
            }
            Parsed::Upgraded(rest) => {
                self.in_flight.pop_front();
                self.lifecycle.switched();
                self.send.clear();
                Event::Upgraded { rest }
            }
            Parsed::Eof {
                head_received,
                announced_close,
            } => {
                self.lifecycle.peer_closed();
                if self.in_flight.is_empty() {
                    self.recv.finish();
                    return Ok(None);
                }
                let front = self.recv.front_progress();
                return Err(Error::ConnectionClosed(self.lost(FrontProgress {
                    head_received,
                    announced_close,
                    started: front.started || head_received,
                    after_close: false,
                    // (An until-close body ended with the stream: the Eof
                    // is about the responses behind it.)
                    ends_at_close: false,
                })));
            }
        };
        Ok(Some(event))
    }

    /// What each request in flight would be if the connection ended now,
    /// the front response having come as far as `front` says.
    fn lost(&self, front: FrontProgress) -> Closed {
        let sent = self.send.sent();
        // A body delimited by the close is completed by it: its request is
        // answered, and the next is the front one.
        let skip = usize::from(front.ends_at_close);
        let unanswered: Vec<_> = self
            .in_flight
            .iter()
            .skip(skip)
            .enumerate()
            .map(|(i, r)| {
                let fate = if front.after_close {
                    Fate::NotProcessed
                } else if i == 0 && front.head_received {
                    Fate::BodyIncomplete
                } else if front.announced_close && i > 0 {
                    Fate::NotProcessed
                } else if r.end.is_some_and(|end| sent >= end) {
                    Fate::MaybeProcessed
                } else {
                    Fate::NotProcessed
                };
                Unanswered { id: r.id, fate }
            })
            .collect();
        let started = self
            .in_flight
            .get(skip)
            .filter(|_| front.started && !front.after_close)
            .map(|r| r.id);
        Closed::new(unanswered).with_response_started(started)
    }

    /// The requests in flight and their fates, as a [`Closed`] would name
    /// them if the connection ended now; once the connection broke, as they
    /// were when it broke (whatever broke it: the peer closing, an invalid
    /// response, a timeout). [`Closed::response_started`] names the request
    /// whose response had begun to arrive, if one had.
    ///
    /// A driver that gives up on a connection for reasons of its own (a
    /// transport error, its caller going away) learns here which requests
    /// it may send again elsewhere.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Fate};
    ///
    /// let mut conn = Connection::default();
    /// conn.send_request("GET", "/a", [("Host", "example.com")], Body::Empty)?;
    /// let first = conn.transmit_len() as usize;
    /// conn.send_request("GET", "/b", [("Host", "example.com")], Body::Empty)?;
    /// // The first request is written, the second not yet.
    /// conn.consume_transmit(first);
    /// let fates: Vec<Fate> = conn.unanswered().unanswered().iter().map(|u| u.fate).collect();
    /// assert_eq!(fates, [Fate::MaybeProcessed, Fate::NotProcessed]);
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn unanswered(&self) -> Closed {
        match &self.lost {
            Some(lost) => lost.clone(),
            None => self.lost(self.recv.front_progress()),
        }
    }

    fn fail(&mut self, error: Error) {
        if error.is_fatal() {
            if self.lost.is_none() {
                self.lost = Some(match &error {
                    Error::ConnectionClosed(closed) => closed.clone(),
                    _ => self.lost(self.recv.front_progress()),
                });
            }
            self.lifecycle.fail(error);
            self.send.clear();
            self.recv.finish();
        }
    }

    // ----- time -----------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) should next be called,
    /// given the time now; `None` if no deadline is running.
    ///
    /// A deadline starts counting at the first call of this method (or of
    /// `handle_timeout`) after the event that starts it, so call it after
    /// every `send_*`, `receive*` and `poll_*` round. Deadlines: the
    /// [continue delay](Config::continue_delay) while a body waits for
    /// `100 Continue`; the [read timeout](Config::read_timeout) while a
    /// response is owed, the caller owes no body bytes and no body waits for
    /// `100 Continue`, restarted by
    /// every byte received or handed out; the
    /// [write timeout](Config::write_timeout) while bytes wait to be
    /// written, restarted the same way; the
    /// [idle timeout](Config::idle_timeout) while nothing is in flight.
    #[must_use]
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        self.refresh_timers(now);
        [
            self.continue_timer.at,
            self.read_timer.at,
            self.write_timer.at,
            self.idle_timer.at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Acts on the deadlines that have passed at `now`: releases a body held
    /// for `100 Continue`, fails the connection with
    /// [`Error::TimedOut`] (reported by [`poll_event`](Self::poll_event)),
    /// or marks an idle connection as not reusable.
    ///
    /// Returns the request whose held body the continue delay released
    /// just now, if one was: its body is then written (a whole body is
    /// queued for [`poll_transmit`](Self::poll_transmit); a streamed one
    /// may now be given with [`send_body`](Self::send_body)), and no
    /// [`Event::Continue`] will come for it.
    ///
    /// ```
    /// use core::time::Duration;
    /// use dugong_proto::{Body, Bytes, Connection, Instant};
    ///
    /// let mut conn = Connection::default();
    /// let id = conn.send_request(
    ///     "PUT",
    ///     "/",
    ///     [("Host", "a"), ("Expect", "100-continue")],
    ///     Body::Full(Bytes::from_static(b"data")),
    /// )?;
    /// while conn.poll_transmit().is_some() {}
    /// let t0 = Instant::from_elapsed(Duration::ZERO);
    /// let deadline = conn.poll_timeout(t0).unwrap();
    /// assert_eq!(conn.handle_timeout(deadline), Some(id));
    /// assert_eq!(conn.poll_transmit().unwrap(), "data");
    /// assert_eq!(conn.handle_timeout(deadline), None);
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) -> Option<RequestId> {
        self.refresh_timers(now);
        let mut released = None;
        if self.continue_timer.expired(now) {
            let waiting = self.send.awaiting_continue();
            if self.continue_timeout() {
                released = waiting;
            }
        }
        // A stalled write is named first: nothing moves either way.
        if self.write_timer.expired(now) {
            self.write_timer = Timer::default();
            self.fail(Error::TimedOut(Timeout::Write));
        }
        if self.read_timer.expired(now) {
            self.read_timer = Timer::default();
            self.fail(Error::TimedOut(Timeout::Read));
        }
        if self.idle_timer.expired(now) {
            self.idle_timer = Timer::default();
            self.lifecycle.idle_expired();
        }
        released
    }

    fn refresh_timers(&mut self, now: Instant) {
        let received = self.recv.received();
        if received != self.seen_received {
            self.seen_received = received;
            self.read_timer.restart = true;
            self.write_timer.restart = true;
        }
        let alive = self.lifecycle.is_alive();
        // While a body waits for `100 Continue`, the continue delay is the
        // deadline; the read timeout counts again from the body's release.
        let waiting = alive
            && !self.in_flight.is_empty()
            && !self.send.is_streaming()
            && self.send.awaiting_continue().is_none();
        self.continue_timer.refresh(
            alive && self.send.awaiting_continue().is_some(),
            now,
            Some(self.config.continue_delay()),
        );
        self.read_timer
            .refresh(waiting, now, self.config.read_timeout());
        self.write_timer.refresh(
            alive && self.send.pending_bytes() > 0,
            now,
            self.config.write_timeout(),
        );
        self.idle_timer.refresh(
            self.lifecycle.is_open() && self.in_flight.is_empty() && self.send.is_idle(),
            now,
            self.config.idle_timeout(),
        );
    }

    /// Folds the size of the response that just ended into the mean.
    fn note_response_size(&mut self) {
        let end = self.recv.consumed();
        let size = end.saturating_sub(self.response_start);
        self.response_start = end;
        self.mean_response = if self.mean_response == 0 {
            size.max(1)
        } else {
            // Weight 1/4 for the newest response: follows a change within a
            // few responses, smooths single outliers.
            (self.mean_response - self.mean_response / 4 + size / 4).max(1)
        };
    }

    // ----- getters --------------------------------------------------------

    /// An estimate of the response bytes still to arrive for the requests
    /// in flight: their number times the moving mean size (head and body)
    /// of the responses completed so far on this connection; `None` before
    /// the first one completes.
    ///
    /// Pipelining adapters cap it, not only the number of requests: with
    /// large responses, a deep pipeline makes the server fill megabytes of
    /// socket buffers ahead of the reader, where the data goes cold.
    ///
    /// ```
    /// use dugong_proto::{Body, Connection, Event};
    ///
    /// let mut conn = Connection::default();
    /// for _ in 0..3 {
    ///     conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
    /// }
    /// assert_eq!(conn.expected_bytes_in_flight(), None);
    /// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 61\r\n\r\n")?;
    /// conn.receive(&[b'x'; 61])?;
    /// while conn.poll_event()?.is_some() {}
    /// // Two requests left, responses of 100 bytes so far.
    /// assert_eq!(conn.expected_bytes_in_flight(), Some(200));
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn expected_bytes_in_flight(&self) -> Option<u64> {
        (self.mean_response > 0)
            .then(|| (self.in_flight.len() as u64).saturating_mul(self.mean_response))
    }

    /// The number of requests sent whose response is not complete yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// True if nothing is in flight, no body is being sent and nothing waits
    /// to be written.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.send.is_idle() && self.send.pending_bytes() == 0
    }

    /// True if no new request can be sent on this connection, now or later:
    /// it is dead, closing, or handed over. The caller should close the
    /// transport once the responses still owed are read.
    pub fn must_close(&self) -> bool {
        self.lifecycle.must_close()
    }

    /// The request whose body is held back waiting for `100 Continue`.
    pub fn awaiting_continue(&self) -> Option<RequestId> {
        self.send.awaiting_continue()
    }

    /// True while the caller owes body bytes of the request being sent.
    pub fn is_sending_body(&self) -> bool {
        self.send.is_streaming()
    }

    /// The fatal error that killed the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.lifecycle.error()
    }

    /// True while a `CONNECT` or upgrade request is in flight: no other
    /// request can follow it, and the connection may be handed over to
    /// another protocol.
    pub fn upgrade_pending(&self) -> bool {
        self.lifecycle.is_upgrade_pending()
    }

    /// True once the connection was handed over to another protocol (after
    /// [`Event::Upgraded`]).
    pub fn is_upgraded(&self) -> bool {
        self.lifecycle.is_switched()
    }
}

/// The fatal error a dead connection repeats (out of the way of the calls
/// on a live one).
#[cold]
#[inline(never)]
fn repeat_error(error: &Error) -> Error {
    error.clone()
}
