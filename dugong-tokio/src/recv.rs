//! [`RecvHalf`]: the receiving direction of a connection, the only part
//! that reads from the transport and polls the state machine's events.
//!
//! What the half keeps of the response being read, and the body-reading
//! modes, are [`dugong_net::session::Reader`]'s; this file adds the I/O:
//! locking the shared state, reading from the transport, waking, timing.
//! As in `send.rs`, everything is a `poll_*` function: every byte read is
//! in the receive buffer and every event taken from the state machine is
//! stored in the reader before anything can be cancelled.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use dugong_net::session::{Collected, Filled, Head, Progress, Reader, DISCONNECTED};
use dugong_net::Error;
use dugong_proto::{Connection, Headers, Response};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf, ReadHalf};

use crate::shared::{Core, ReadAhead, Shared, Timer, WriteQueued};
use crate::transport::Transport;

/// How much room one read into the receive buffer gets.
const READ_SIZE: usize = 64 * 1024;
/// Caller buffers at least this large are filled straight from the
/// transport when a body allows it (no copy through the receive buffer).
const DIRECT_MIN: usize = 4 * 1024;
/// A body read whole by `pipeline` with at least this many bytes still to
/// come is read straight from the transport into its own buffer.
const GATHER_MIN: u64 = 64 * 1024;
/// The largest body `pipeline` reads that way (its buffer is reserved
/// whole up front, as a collected body's is).
const GATHER_MAX: usize = 16 << 20;

/// The receiving direction of a [`Connection`](crate::Connection), made by
/// [`Connection::split`](crate::Connection::split): read responses in one
/// task while the [`SendHalf`](crate::SendHalf) sends requests in another.
///
/// Its methods are those of [`Connection`](crate::Connection) for
/// receiving. Unlike [`Connection::read_response`](crate::Connection::read_response),
/// [`read_response`](Self::read_response) waits when no request is in
/// flight yet, as long as the sending half exists; and
/// [`next_response`](Self::next_response) ends with `None` once every
/// response is read and the sending half is dropped (or the connection
/// takes no more requests).
///
/// Only this half reads from the transport, and only when a response, a
/// body piece or the end of stream is asked for, so unread responses stay
/// in the kernel's buffers and the server's, never in ours: memory stays
/// bounded however many requests the sending half puts in flight.
pub struct RecvHalf<T = Box<dyn Transport>> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) transport: Option<ReadHalf<T>>,
    timer: Timer,
    /// The response being read and how far; every event polled is kept
    /// there.
    pub(crate) reader: Reader,
}

impl<T> fmt::Debug for RecvHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.shared.lock();
        f.debug_struct("RecvHalf")
            .field("in_flight", &core.session.proto().in_flight())
            .field("in_body", &self.reader.in_body())
            .field("broken", &core.session.broken())
            .finish_non_exhaustive()
    }
}

impl<T> RecvHalf<T> {
    /// A body reader or stream was dropped: if the body is unfinished, the
    /// next `read_response` discards the rest.
    pub(crate) fn abandon(&mut self) {
        self.reader.abandon();
    }
}

impl<T> Drop for RecvHalf<T> {
    fn drop(&mut self) {
        let mut core = self.shared.lock();
        core.receiver_gone = true;
        core.wake_sender();
    }
}

/// What a direct read into the caller's buffer did.
enum Direct {
    /// Not possible now (or the peer closed): go through the receive
    /// buffer.
    Skip,
    Read(usize),
}

impl<T: Transport> RecvHalf<T> {
    /// The receiving half of a new connection; `max_read_all` bounds
    /// `read_all` and `pipeline`.
    pub(crate) fn new(shared: Arc<Shared>, transport: ReadHalf<T>, max_read_all: usize) -> Self {
        RecvHalf {
            shared,
            transport: Some(transport),
            timer: Timer::default(),
            reader: Reader::new(max_read_all),
        }
    }

    /// Reads the head of the next response; see
    /// [`Connection::read_response`](crate::Connection::read_response).
    /// While no request is in flight it waits for the sending half to send
    /// one.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes read are kept in the receive buffer and no event
    /// is lost; a later call goes on where this one stopped.
    ///
    /// # Errors
    ///
    /// As [`Connection::read_response`](crate::Connection::read_response);
    /// [`Usage`](dugong_net::ErrorKind::Usage) if nothing is in flight and
    /// nothing can be sent any more (see [`next_response`](Self::next_response)).
    pub async fn read_response(&mut self) -> Result<Response, Error> {
        match poll_fn(|cx| self.poll_read_response(cx, None, true)).await? {
            Some(head) => Ok(head.into_response()),
            None => Err(Error::Usage("no response is pending")),
        }
    }

    /// Like [`read_response`](Self::read_response), but `Ok(None)` once
    /// every response was read and no more can come (the sending half was
    /// dropped, or the connection takes no more requests): the loop of a
    /// receiving task.
    ///
    /// ```no_run
    /// # async fn f(mut recv: dugong_tokio::RecvHalf) -> Result<(), dugong_tokio::Error> {
    /// while let Some(head) = recv.next_response().await? {
    ///     let body = recv.read_all().await?;
    ///     println!("{} {} bytes", head.status(), body.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`read_response`](Self::read_response).
    ///
    /// # Errors
    ///
    /// As [`read_response`](Self::read_response).
    pub async fn next_response(&mut self) -> Result<Option<Response>, Error> {
        let head = poll_fn(|cx| self.poll_read_response(cx, None, true)).await?;
        Ok(head.map(Head::into_response))
    }

    /// The 1xx responses (other than `100 Continue`) that came before the
    /// last head [`read_response`](Self::read_response) returned.
    pub fn informational(&self) -> &[Response] {
        self.reader.informational()
    }

    /// Reads body bytes of the current response into `buf`; `Ok(0)` at the
    /// end of the body. See [`Connection::read_body`](crate::Connection::read_body).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no byte was taken from the
    /// body.
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`](crate::Connection::read_body).
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        poll_fn(|cx| self.poll_read_body(cx, None, buf)).await
    }

    /// The next piece of the current response's body, without copying it;
    /// `None` at the end of the body.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a piece is returned or kept for the next call.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        poll_fn(|cx| self.poll_read_chunk(cx, None)).await
    }

    /// Reads the rest of the current response's body into memory, bounded
    /// as [`Connection::read_all`](crate::Connection::read_all) is (by
    /// [`Builder::max_read_all`](crate::Builder::max_read_all), 16 MiB by
    /// default): a longer body fails with [`Error::BodyTooLarge`] as soon
    /// as the bytes read pass the limit, and breaks the connection (for
    /// both halves).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: what was read so far is lost if the future is
    /// dropped (the connection itself stays in a defined state; the rest of
    /// the body can still be read or discarded).
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body), and [`Error::BodyTooLarge`].
    pub async fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        poll_fn(|cx| self.poll_read_all(cx, None, &mut out)).await?;
        Ok(out)
    }

    /// Skips the rest of the current response's body.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a later call skips what is left.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn discard(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_discard(cx, None)).await
    }

    /// The trailer fields of the last response whose body was read to its
    /// end (empty for bodies that were not chunked).
    pub fn trailers(&self) -> Option<&Headers> {
        self.reader.trailers()
    }

    /// How many requests wait for (the rest of) their responses; never more
    /// than the builder's [`max_in_flight`](crate::Builder::max_in_flight)
    /// once split.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// True while requests wait for (the rest of) their responses.
    pub fn response_pending(&self) -> bool {
        self.reader.in_body() || self.shared.in_flight() > 0
    }

    /// True while the body of the response last returned by
    /// [`read_response`](Self::read_response) is not read to its end.
    pub fn body_pending(&self) -> bool {
        self.reader.in_body()
    }

    /// True if the connection can take another request now; see
    /// [`Connection::is_usable`](crate::Connection::is_usable).
    pub fn is_usable(&self) -> bool {
        self.reader.upgraded().is_none() && self.shared.usable()
    }

    /// The error that broke the connection, if one did.
    pub fn error(&self) -> Option<Error> {
        self.shared.lock().session.error()
    }

    // ----- internals ----------------------------------------------------------

    pub(crate) fn poll_read_response(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
        wait_for_requests: bool,
    ) -> Poll<Result<Option<Head>, Error>> {
        let head = ready!(self.poll_head_and(cx, send, wait_for_requests, None))?;
        Poll::Ready(Ok(head.map(|(head, _)| head)))
    }

    /// [`poll_read_response`](Self::poll_read_response) for
    /// [`Pipeline`](crate::Pipeline), which reads every body whole: a final
    /// head comes with `true` if its body was collected into `body` to its
    /// end under the same lock (it was in the receive buffer), else with
    /// what was (collect the rest with [`poll_collect`](Self::poll_collect)).
    pub(crate) fn poll_read_whole(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
        body: &mut Collected,
    ) -> Poll<Result<Option<(Head, bool)>, Error>> {
        self.poll_head_and(cx, send, false, Some(body))
    }

    fn poll_head_and(
        &mut self,
        cx: &mut Context<'_>,
        mut send: Option<&mut (dyn WriteQueued + '_)>,
        wait_for_requests: bool,
        mut body: Option<&mut Collected>,
    ) -> Poll<Result<Option<(Head, bool)>, Error>> {
        loop {
            {
                let shared = &*self.shared;
                let mut core = shared.lock();
                // A broken connection says why, whatever the caller did.
                core.session.check()?;
                if self.reader.abandoned() {
                    drop(core);
                    ready!(self.poll_discard(cx, send.as_deref_mut()))?;
                    continue;
                }
                if !self.reader.in_body() {
                    if let Some(id) = core.session.take_released() {
                        return Poll::Ready(Ok(Some((Head::Continue(id), false))));
                    }
                    if core.session.proto().in_flight() == 0 {
                        // No request in flight, and none can come: the
                        // sending half is gone, or the connection takes no
                        // more.
                        let no_more = core.sender_gone
                            || core.session.eof()
                            || core.session.proto().must_close();
                        if !wait_for_requests || no_more {
                            return Poll::Ready(Ok(None));
                        }
                        core.wait_as_receiver(cx.waker());
                        return Poll::Pending;
                    }
                }
                // The head is most often in the receive buffer already:
                // take it under this lock (and with `body`, as much of the
                // body as is there).
                let reader = &mut self.reader;
                let result = core.session.poll(|proto| reader.poll_head(proto));
                match settle(&mut core, result) {
                    Settled::Done(head, mut write) => {
                        let mut whole = false;
                        if let (Head::Final(_), Some(body)) = (&head, body.as_deref_mut()) {
                            let result =
                                core.session.poll(|proto| reader.poll_collect(proto, body));
                            if !self.reader.in_body() && self.reader.trailers().is_some() {
                                // As in `poll_reader`: the body ended.
                                shared.tick(&mut core);
                            }
                            match settle(&mut core, result) {
                                Settled::Done((), more) => (whole, write) = (true, write || more),
                                Settled::Failed(error) => return Poll::Ready(Err(error)),
                                Settled::Pending => {}
                            }
                        }
                        drop(core);
                        write_queued(cx, send, write);
                        return Poll::Ready(Ok(Some((head, whole))));
                    }
                    Settled::Failed(error) => return Poll::Ready(Err(error)),
                    Settled::Pending => {}
                }
            }
            let step = self.poll_reader(cx, send.as_deref_mut(), |reader, proto| {
                reader.poll_head(proto)
            });
            if let Progress::Done(head) = ready!(step)? {
                return Poll::Ready(Ok(Some((head, false))));
            }
            // A deadline passed: look at the state again.
        }
    }

    pub(crate) fn poll_read_chunk(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
    ) -> Poll<Result<Option<Bytes>, Error>> {
        if send.is_none() && !self.reader.in_body() && !self.shared.broken() {
            // No body is being read (most often: its end was taken with
            // its last piece, below), so the reader says `None` without
            // looking at the state machine: so does this, without the
            // lock. (With `send`, the call also writes what is queued.)
            return Poll::Ready(Ok(None));
        }
        self.poll_until(cx, send, |reader, proto| {
            // (One call site, so that the reader's call stays inline.)
            let mut last: Option<Bytes> = None;
            loop {
                let next = reader.poll_chunk(proto);
                let Some(piece) = last.take() else {
                    match next? {
                        Progress::Done(Some(piece)) if proto.body_remaining() == Some(0) => {
                            // The state machine says this piece ends the
                            // body (a length it gave, read to its end but
                            // not yet ended by its `End`): take the end
                            // too, so that the caller's next call, which
                            // asks for it, need not lock.
                            last = Some(piece);
                            continue;
                        }
                        other => return Ok(other),
                    }
                };
                // (An error stays in the state machine, which repeats it
                // to the next call.)
                if let Ok(Progress::Done(Some(more))) = next {
                    // Not the end after all: both as one piece.
                    let mut joined = BytesMut::with_capacity(piece.len() + more.len());
                    joined.extend_from_slice(&piece);
                    joined.extend_from_slice(&more);
                    return Ok(Progress::Done(Some(joined.freeze())));
                }
                return Ok(Progress::Done(Some(piece)));
            }
        })
    }

    pub(crate) fn poll_discard(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
    ) -> Poll<Result<(), Error>> {
        self.poll_until(cx, send, Reader::poll_discard)
    }

    /// Appends the rest of the body to `out` (the same `Vec` until ready);
    /// past the `max_read_all` bound, breaks the connection.
    pub(crate) fn poll_read_all(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
        out: &mut Vec<u8>,
    ) -> Poll<Result<(), Error>> {
        self.poll_until(cx, send, |reader, proto| reader.poll_read_all(proto, out))
    }

    /// Collects the rest of the body into `body`; past the `max_read_all`
    /// bound, breaks the connection.
    pub(crate) fn poll_collect(
        &mut self,
        cx: &mut Context<'_>,
        send: Option<&mut (dyn WriteQueued + '_)>,
        body: &mut Collected,
    ) -> Poll<Result<(), Error>> {
        self.poll_until(cx, send, |reader, proto| reader.poll_collect(proto, body))
    }

    /// For `pipeline`, after a head whose body is not all buffered yet:
    /// the length of a buffer for the whole body (`so_far` bytes of it
    /// collected) if the rest is to be read straight from the transport
    /// into it ([`poll_gather`](Self::poll_gather)): a large body of known
    /// length within the `read_all` bound.
    pub(crate) fn gather_len(&self, so_far: usize) -> Option<usize> {
        let remaining = self.shared.lock().session.proto().body_remaining()?;
        let total = usize::try_from(remaining).ok()?.checked_add(so_far)?;
        let most = GATHER_MAX.min(self.reader.max_read_all());
        (remaining >= GATHER_MIN && total <= most).then_some(total)
    }

    /// Reads the rest of the body to its end into `out`, which was
    /// reserved for all of it ([`gather_len`](Self::gather_len)): straight
    /// from the transport whenever the state machine allows it, pieces of
    /// the receive buffer otherwise (past the `read_all` bound, breaks the
    /// connection).
    pub(crate) fn poll_gather(
        &mut self,
        cx: &mut Context<'_>,
        mut send: Option<&mut (dyn WriteQueued + '_)>,
        out: &mut Vec<u8>,
    ) -> Poll<Result<(), Error>> {
        loop {
            match self.poll_direct_append(cx, out) {
                Poll::Ready(Ok(Direct::Read(_))) => continue,
                Poll::Ready(Ok(Direct::Skip)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    ready!(self.park(cx))?;
                    continue;
                }
            }
            // What the receive buffer holds; once it is taken (`Done(false)`),
            // straight from the transport again.
            let step = self.poll_reader(cx, send.as_deref_mut(), |reader, proto| {
                let before = out.len();
                Ok(match reader.poll_read_all(proto, out)? {
                    Progress::Done(()) => Progress::Done(true),
                    Progress::Pending if out.len() > before => Progress::Done(false),
                    Progress::Pending => Progress::Pending,
                })
            });
            if let Progress::Done(true) = ready!(step)? {
                return Poll::Ready(Ok(()));
            }
        }
    }

    pub(crate) fn poll_read_body(
        &mut self,
        cx: &mut Context<'_>,
        mut send: Option<&mut (dyn WriteQueued + '_)>,
        buf: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if buf.len() >= DIRECT_MIN {
                match self.poll_direct(cx, buf) {
                    Poll::Ready(Ok(Direct::Read(n))) => return Poll::Ready(Ok(n)),
                    Poll::Ready(Ok(Direct::Skip)) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        ready!(self.park(cx))?;
                        continue;
                    }
                }
            }
            let step = self.poll_reader(cx, send.as_deref_mut(), |reader, proto| {
                reader.poll_body(proto, buf)
            });
            if let Progress::Done(n) = ready!(step)? {
                return Poll::Ready(Ok(n));
            }
        }
    }

    /// Calls `call` through [`poll_reader`](Self::poll_reader) until it is
    /// done.
    fn poll_until<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut send: Option<&mut (dyn WriteQueued + '_)>,
        mut call: impl FnMut(&mut Reader, &mut Connection) -> Result<Progress<R>, Error>,
    ) -> Poll<Result<R, Error>> {
        loop {
            let step = self.poll_reader(cx, send.as_deref_mut(), &mut call);
            if let Progress::Done(value) = ready!(step)? {
                return Poll::Ready(Ok(value));
            }
        }
    }

    /// Reads body bytes straight into `buf` when the state machine allows
    /// it (nothing buffered, a body of known length or a chunk under way,
    /// nothing queued to write).
    fn poll_direct(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Result<Direct, Error>> {
        let shared = &*self.shared;
        let max = {
            let core = shared.lock();
            let max = core.session.direct_read_len(&self.reader, buf.len());
            if max > 0 {
                core.session.check()?;
            }
            max
        };
        if max == 0 {
            return Poll::Ready(Ok(Direct::Skip));
        }
        let Some(transport) = self.transport.as_mut() else {
            return Poll::Ready(Err(Error::Usage(DISCONNECTED)));
        };
        let mut read_buf = ReadBuf::new(&mut buf[..max]);
        let result = ready!(Pin::new(transport).poll_read(cx, &mut read_buf));
        let mut core = shared.lock();
        let filled = result.map(|()| read_buf.filled().len());
        match core.session.read_direct_done(filled, read_buf.filled()) {
            Ok(Filled::Data(n)) => Poll::Ready(Ok(Direct::Read(n))),
            Ok(Filled::Eof) => {
                core.wake_sender();
                Poll::Ready(Ok(Direct::Skip))
            }
            Ok(Filled::Blocked) => Poll::Ready(Ok(Direct::Skip)),
            Err(e) => {
                core.wake_both();
                Poll::Ready(Err(e))
            }
        }
    }

    /// As [`poll_direct`](Self::poll_direct), into the room `out` has
    /// reserved (no zeroing: the transport fills it).
    fn poll_direct_append(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
    ) -> Poll<Result<Direct, Error>> {
        let shared = &*self.shared;
        let max = {
            let core = shared.lock();
            let max = core
                .session
                .direct_read_len(&self.reader, out.capacity() - out.len());
            if max > 0 {
                core.session.check()?;
            }
            max
        };
        if max == 0 {
            return Poll::Ready(Ok(Direct::Skip));
        }
        let Some(transport) = self.transport.as_mut() else {
            return Poll::Ready(Err(Error::Usage(DISCONNECTED)));
        };
        let start = out.len();
        let result = ready!(pin!(transport.read_buf(&mut out.limit(max))).poll(cx));
        let mut core = shared.lock();
        match core.session.read_direct_done(result, &out[start..]) {
            Ok(Filled::Data(n)) => Poll::Ready(Ok(Direct::Read(n))),
            Ok(Filled::Eof) => {
                core.wake_sender();
                Poll::Ready(Ok(Direct::Skip))
            }
            Ok(Filled::Blocked) => Poll::Ready(Ok(Direct::Skip)),
            Err(e) => {
                core.wake_both();
                Poll::Ready(Err(e))
            }
        }
    }

    /// Calls `call` with the [`Reader`] and the locked core, reading from
    /// the transport while it is pending: `Done` with its result, or
    /// `Pending` when a deadline of the state machine passed (look at the
    /// state again, then call again). With `send` (one task drives both
    /// directions), also writes what is queued (a body released by
    /// `100 Continue`, or what a cancelled call left).
    ///
    /// Every event `call` polls stays in the reader and every byte read in
    /// the receive buffer, so a dropped future loses nothing.
    fn poll_reader<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut send: Option<&mut (dyn WriteQueued + '_)>,
        mut call: impl FnMut(&mut Reader, &mut Connection) -> Result<Progress<R>, Error>,
    ) -> Poll<Result<Progress<R>, Error>> {
        loop {
            {
                let shared = &*self.shared;
                let mut core = shared.lock();
                if let Some(e) = core.session.broken() {
                    return Poll::Ready(Err(e.clone()));
                }
                let in_body = self.reader.in_body();
                let reader = &mut self.reader;
                let result = core.session.poll(|proto| call(reader, proto));
                if in_body && !self.reader.in_body() && self.reader.trailers().is_some() {
                    // The body ended. Starts the idle timeout if nothing
                    // else is in flight.
                    shared.tick(&mut core);
                }
                match settle(&mut core, result) {
                    Settled::Done(value, write) => {
                        drop(core);
                        write_queued(cx, send, write);
                        return Poll::Ready(Ok(Progress::Done(value)));
                    }
                    Settled::Pending => {}
                    Settled::Failed(error) => return Poll::Ready(Err(error)),
                }
                core.session.check_more()?;
            }
            if let Some(send) = send.as_deref_mut() {
                if let Poll::Ready(Err(e)) = send.poll_write_queued(cx) {
                    // A peer that stopped reading is not an error here: its
                    // response may be on the way.
                    if !self.shared.lock().session.send_closed() {
                        return Poll::Ready(Err(e));
                    }
                }
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(_)) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            // Woken by the transport, the timer, or the other half breaking
            // the connection.
            ready!(self.park(cx))?;
            return Poll::Ready(Ok(Progress::Pending));
        }
    }

    /// Waits to be woken by the transport, the timer, or the other half
    /// breaking the connection: `Pending` until then; `Ready(Ok)` when a
    /// deadline passed without breaking it (look at the state again).
    fn park(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.lock().park_receiver(cx.waker());
        self.timer.poll(&self.shared, cx)
    }

    /// Reads once into the state machine's receive buffer. `Ready(Ok(true))`
    /// when bytes arrived, `Ready(Ok(false))` at the end of stream.
    ///
    /// The buffer is taken out of the state machine for the read (so the
    /// lock is not held while the transport works) and put back in the
    /// same poll, so nothing is lost if the caller's future is dropped.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        let shared = &*self.shared;
        let Some(transport) = self.transport.as_mut() else {
            return Poll::Ready(Err(Error::Usage(DISCONNECTED)));
        };
        loop {
            let mut buf = {
                let mut core = shared.lock();
                if core.session.eof() {
                    return Poll::Ready(Ok(false));
                }
                std::mem::take(core.session.proto_mut().recv_buf())
            };
            if buf.capacity() - buf.len() < READ_SIZE / 4 {
                buf.reserve(READ_SIZE);
            }
            let result = pin!(transport.read_buf(&mut buf)).poll(cx);
            let mut core = shared.lock();
            *core.session.proto_mut().recv_buf() = buf;
            let Poll::Ready(result) = result else {
                return Poll::Pending;
            };
            if matches!(&result, Err(e) if e.kind() == io::ErrorKind::Interrupted) {
                continue;
            }
            return Poll::Ready(match core.session.read_done(result) {
                Ok(Filled::Data(_)) => Ok(true),
                // (A transport that says "would block" instead of pending:
                // the caller polls again.)
                Ok(Filled::Blocked) => Ok(true),
                Ok(Filled::Eof) => {
                    core.wake_sender();
                    Ok(false)
                }
                Err(e) => {
                    core.wake_both();
                    Err(e)
                }
            });
        }
    }
}

/// A reader call's result, judged under the lock by [`settle`].
enum Settled<R> {
    /// Done; `true` if bytes wait to be written.
    Done(R, bool),
    Pending,
    Failed(Error),
}

/// Wakes the halves that may go on after a reader call returned `result`:
/// on `Done`, a sender waiting for room in flight, a release or a
/// cancellation; on an error, both (the connection may be dead: a sending
/// half waiting for a release or for the transport must know).
fn settle<R>(core: &mut Core, result: Result<Progress<R>, Error>) -> Settled<R> {
    match result {
        Ok(Progress::Done(value)) => {
            core.wake_sender();
            Settled::Done(value, core.session.wants_write())
        }
        Ok(Progress::Pending) => Settled::Pending,
        Err(error) => {
            core.wake_both();
            Settled::Failed(error)
        }
    }
}

/// After a reader call is done, with `send` (one task drives both
/// directions) and bytes queued (`write`: a `100 Continue` released a held
/// body, or a cancelled call left some): starts writing them at once.
/// With nothing queued the transport is left alone; what waits to be
/// flushed is flushed before the next read from the transport.
fn write_queued(cx: &mut Context<'_>, send: Option<&mut (dyn WriteQueued + '_)>, write: bool) {
    if let (true, Some(send)) = (write, send) {
        let _ = send.poll_write_queued(cx);
    }
}

impl<T: Transport> ReadAhead for RecvHalf<T> {
    fn poll_read_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        self.poll_fill(cx)
    }
}
