//! [`Session`]: the state of one connection that every driver keeps beside
//! the protocol state machine, and the decisions it takes on what the
//! transport did.

use std::io::{self, IoSlice};

use bytes::Bytes;
use dugong_proto::{Body, Connection, HeaderField, Instant, RequestId, Timeout};

use super::Progress;
use crate::error::{is_peer_gone, Error, Phase};
use crate::request::RequestExtras;
use crate::settings::{PerConnection, Settings, Window};
use crate::trace::{Record, Trace};

/// The error a connection keeps after [`Session::disconnect`].
pub const DISCONNECTED: &str = "the connection was disconnected";

/// What a read from the transport did, as [`Session::read_done`] judged
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Filled {
    /// This many bytes arrived.
    Data(usize),
    /// The peer closed its side (or went away): the state machine has seen
    /// the end of the stream.
    Eof,
    /// Nothing was ready: wait for the transport to be readable.
    Blocked,
}

/// The most bytes [`Session::read_size`] asks a read for.
pub const MAX_READ_SIZE: usize = 64 * 1024;
/// The fewest bytes [`Session::read_size`] asks a read for.
const MIN_READ_SIZE: usize = 4 * 1024;

/// One connection's state between the protocol state machine and a
/// transport, shared by both directions: the state machine, what every
/// request gets added ([`RequestExtras`]: the proxy form, credentials),
/// the trace, the pipelining window, and what the transport did (an error
/// that broke the connection, the peer's end of stream, a peer that stopped
/// reading, a body the continue delay released).
///
/// It performs no I/O and reads no clock. A driver moves bytes and
/// reports what happened:
///
/// - writing: [`queue_request`](Self::queue_request),
///   [`queue_body`](Self::queue_body), [`queue_finish`](Self::queue_finish);
///   then while [`wants_write`](Self::wants_write), a (vectored) write of
///   [`io_slices`](Self::io_slices), reported with
///   [`wrote`](Self::wrote) or [`write_failed`](Self::write_failed);
/// - reading: into the state machine's receive buffer
///   ([`Connection::read_into`] on [`proto_mut`](Self::proto_mut)), reported
///   with [`read_done`](Self::read_done); the response itself is taken with
///   a [`Reader`](super::Reader) called through
///   [`poll`](Self::poll);
/// - waiting: for the transport, and at most until
///   [`poll_timeout`](Self::poll_timeout); when that passes,
///   [`handle_timeout`](Self::handle_timeout).
///
/// Every deadline is the state machine's: the builder's `timeout` is its
/// [read](dugong_proto::Config::read_timeout) and
/// [write](dugong_proto::Config::write_timeout) timeout, which fail the
/// connection with [`Error::TimedOut`] naming the direction that stalled.
///
/// ```
/// use dugong_net::session::{Filled, Head, Progress, Reader, Session};
/// use dugong_net::{PerConnection, Settings, Url};
/// use dugong_proto::Body;
/// use std::io::Read;
///
/// let url = Url::parse("http://example.com/")?;
/// let settings = Settings::for_url(&url);
/// let mut session = Session::new(&settings, PerConnection::for_origin(&url, None));
/// session.queue_request("GET", "/", [("Accept", "*/*")], Body::Empty)?;
///
/// // The transport: takes everything, answers in one read.
/// let mut wire = Vec::new();
/// while session.wants_write() {
///     let n: usize = session.io_slices(&mut [std::io::IoSlice::new(&[]); 8])
///         .iter()
///         .map(|s| { wire.extend_from_slice(s); s.len() })
///         .sum();
///     session.wrote(n);
/// }
/// assert!(wire.starts_with(b"GET / HTTP/1.1\r\nAccept: */*\r\nHost: example.com\r\n"));
/// let mut answer = &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..];
///
/// let mut reader = Reader::new(settings.max_read_all());
/// let head = loop {
///     match session.poll(|proto| reader.poll_head(proto))? {
///         Progress::Done(head) => break head,
///         Progress::Pending => {
///             let read = session.proto_mut().read_into(64, |buf| answer.read(buf));
///             assert!(matches!(session.read_done(read)?, Filled::Data(_)));
///         }
///     }
/// };
/// let Head::Final(response) = head else { unreachable!() };
/// assert_eq!(response.status(), 200);
/// # Ok::<(), dugong_net::Error>(())
/// ```
#[derive(Debug)]
pub struct Session {
    proto: Connection,
    read_size: usize,
    trace: Option<Trace>,
    extras: RequestExtras,
    window: Window,
    max_buffered: usize,
    broken: Option<Error>,
    send_closed: bool,
    eof: bool,
    released: Option<RequestId>,
    reconnect: Option<Settings>,
    #[cfg(feature = "tls")]
    tls_info: Option<crate::tls::TlsInfo>,
}

impl Session {
    /// A new connection's session, with the builder's settings (the
    /// state machine's configuration, with the builder's `timeout` as its
    /// read and write timeouts where the configuration sets none) and what
    /// differs for this connection.
    pub fn new(settings: &Settings, per: PerConnection) -> Session {
        let mut config = settings.config().clone();
        if let Some(timeout) = settings.timeout() {
            if config.read_timeout().is_none() {
                config = config.with_read_timeout(Some(timeout));
            }
            if config.write_timeout().is_none() {
                config = config.with_write_timeout(Some(timeout));
            }
        }
        let mut proto = Connection::new(config);
        proto.set_host(per.host.map(Bytes::from));
        if per.trace.as_ref().is_some_and(|t| !t.keeps_secrets()) {
            proto.set_track_secrets(true);
        }
        Session {
            proto,
            read_size: MIN_READ_SIZE,
            trace: per.trace,
            extras: per.extras,
            window: settings.window(),
            max_buffered: settings.max_buffered(),
            broken: None,
            send_closed: false,
            eof: false,
            released: None,
            reconnect: per.reconnect.then(|| settings.clone()),
            #[cfg(feature = "tls")]
            tls_info: per.tls_info,
        }
    }

    /// The protocol state machine.
    pub fn proto(&self) -> &Connection {
        &self.proto
    }

    /// The protocol state machine, to read into and to take responses
    /// from (with a [`Reader`](super::Reader)).
    pub fn proto_mut(&mut self) -> &mut Connection {
        &mut self.proto
    }

    /// The trace file, if the connection writes one.
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_ref()
    }

    /// Writes a note into the trace, if there is one.
    pub fn note(&self, text: &str) {
        if let Some(trace) = &self.trace {
            trace.note(text);
        }
    }

    /// The builder's settings, kept to open a new connection like this one
    /// (`None` over a caller's transport or for a tunnel).
    pub fn settings(&self) -> Option<&Settings> {
        self.reconnect.as_ref()
    }

    /// What the TLS handshake negotiated, for a TLS connection.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&crate::tls::TlsInfo> {
        self.tls_info.as_ref()
    }

    // ----- the connection's state ------------------------------------------

    /// `Ok` unless the connection is broken: the error that broke it (by the
    /// transport, the caller, or the state machine).
    ///
    /// # Errors
    ///
    /// That error.
    #[inline]
    pub fn check(&self) -> Result<(), Error> {
        // Called before every step: the usual answer without a call.
        if self.broken.is_none() && self.proto.error().is_none() {
            return Ok(());
        }
        self.check_broken()
    }

    /// [`check`](Self::check) on a connection that is broken.
    #[cold]
    #[inline(never)]
    fn check_broken(&self) -> Result<(), Error> {
        match self.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The error that broke the connection, if one did.
    pub fn error(&self) -> Option<Error> {
        self.broken
            .clone()
            .or_else(|| self.proto.error().cloned().map(Error::Protocol))
    }

    /// Breaks the connection with `error` (noted in the trace and the log),
    /// and returns it.
    pub fn fail(&mut self, error: Error) -> Error {
        tracing::debug!(%error, "dugong: connection broken");
        self.note(&format!("error: {error}"));
        self.broken = Some(error.clone());
        error
    }

    /// The caller disconnected (the driver dropped its transport): every
    /// later call fails with [`Error::Usage`] ([`DISCONNECTED`]).
    pub fn disconnect(&mut self) {
        self.broken = Some(Error::Usage(DISCONNECTED));
    }

    /// The error the driver or the caller broke the connection with
    /// ([`fail`](Self::fail), [`disconnect`](Self::disconnect)), if any;
    /// [`error`](Self::error) also gives the state machine's.
    pub fn broken(&self) -> Option<&Error> {
        self.broken.as_ref()
    }

    /// True once [`disconnect`](Self::disconnect) was called.
    pub fn is_disconnected(&self) -> bool {
        matches!(&self.broken, Some(Error::Usage(m)) if *m == DISCONNECTED)
    }

    /// True while a new request may be sent: nothing broke, the peer reads
    /// and has not closed, and the state machine takes more requests.
    pub fn is_usable(&self) -> bool {
        self.broken.is_none()
            && !self.send_closed
            && !self.eof
            && self.proto.error().is_none()
            && !self.proto.must_close()
            && !self.proto.upgrade_pending()
    }

    /// True once the peer's end of stream was seen.
    pub fn eof(&self) -> bool {
        self.eof
    }

    /// True once the peer stopped reading (a write failed with reset or
    /// broken pipe); its responses may still be read.
    pub fn send_closed(&self) -> bool {
        self.send_closed
    }

    /// True if one more request fits in the pipelining window now.
    pub fn has_room(&self) -> bool {
        self.window.has_room(&self.proto)
    }

    // ----- sending -----------------------------------------------------------

    /// `Ok` while requests and body bytes may be queued.
    ///
    /// # Errors
    ///
    /// The connection's error if it is broken;
    /// [`Error::closed_while_sending`] once the peer stopped reading.
    #[inline]
    pub fn check_send(&self) -> Result<(), Error> {
        self.check()?;
        if self.send_closed {
            return Err(Error::closed_while_sending());
        }
        Ok(())
    }

    /// Queues a request, with what every request on this connection gets
    /// added (see [`RequestExtras::send_request`]).
    ///
    /// # Errors
    ///
    /// The connection's error if it is broken;
    /// [`Error::closed_while_sending`] once the peer stopped reading; the
    /// state machine's refusal ([`Error::Protocol`]: invalid request data, a
    /// request while a body is unfinished or after `Connection: close`).
    #[inline]
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
        self.check_send()?;
        let id = self.extras.send_request(
            &mut self.proto,
            self.trace.as_ref(),
            method,
            target,
            headers,
            body,
        )?;
        tracing::debug!(id = id.as_u64(), method, target, "dugong: request queued");
        Ok(id)
    }

    /// Queues a piece of the body being sent.
    ///
    /// # Errors
    ///
    /// As [`queue_request`](Self::queue_request).
    pub fn queue_body(&mut self, data: Bytes) -> Result<(), Error> {
        self.check_send()?;
        self.proto.send_body(data)?;
        Ok(())
    }

    /// Ends a chunked body, with trailer fields.
    ///
    /// # Errors
    ///
    /// As [`queue_request`](Self::queue_request).
    pub fn queue_finish<I>(&mut self, trailers: I) -> Result<(), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.check_send()?;
        self.proto.finish(trailers)?;
        Ok(())
    }

    /// True while bytes wait to be written and the peer still reads.
    pub fn wants_write(&self) -> bool {
        !self.send_closed && self.proto.transmit_len() > 0
    }

    /// Fills `slots` with the bytes waiting to be written, in order, and
    /// returns the filled part, for one vectored write.
    pub fn io_slices<'a>(&'a self, slots: &'a mut [IoSlice<'a>]) -> &'a [IoSlice<'a>] {
        let mut count = 0;
        for (slot, segment) in slots.iter_mut().zip(self.proto.transmit_segments()) {
            *slot = IoSlice::new(segment);
            count += 1;
        }
        &slots[..count]
    }

    /// Judges a write of what [`io_slices`](Self::io_slices) gave: `Ok(n)`
    /// bytes were written ([`wrote`](Self::wrote)); `Ok(0)` is a peer that
    /// takes nothing more, as [`write_failed`](Self::write_failed) with
    /// [`WriteZero`](io::ErrorKind::WriteZero);
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) and
    /// [`Interrupted`](io::ErrorKind::Interrupted) wrote nothing
    /// (`Ok(false)`: wait for the transport to be writable).
    ///
    /// # Errors
    ///
    /// As [`write_failed`](Self::write_failed).
    pub fn write_done(&mut self, result: io::Result<usize>) -> Result<bool, Error> {
        match result {
            Ok(0) => Err(self.write_failed(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                self.wrote(n);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.write_failed(e)),
        }
    }

    /// `n` bytes of what [`io_slices`](Self::io_slices) gave were written:
    /// traced (secret values masked) and taken off the queue.
    pub fn wrote(&mut self, n: usize) {
        super::wrote(&mut self.proto, self.trace.as_ref(), n);
    }

    /// A write failed with `e`. A peer that went away (reset, broken pipe,
    /// a write of 0 bytes) stopped reading: nothing more is written, and
    /// its responses may still be read; the error says the connection
    /// closed. Any other error breaks the connection.
    pub fn write_failed(&mut self, e: io::Error) -> Error {
        if is_peer_gone(&e) || e.kind() == io::ErrorKind::WriteZero {
            self.send_closed = true;
            self.note(&format!("write failed: {e}"));
            tracing::debug!(error = %e, "dugong: peer stopped reading");
            Error::closed_while_sending()
        } else {
            self.fail(Error::io(e))
        }
    }

    // ----- receiving ---------------------------------------------------------

    /// How many bytes the next read into the receive buffer
    /// ([`Connection::read_into`]) should ask for: twice what the last read
    /// brought, from 4 KiB to [`MAX_READ_SIZE`]: a read gets room for what
    /// the peer is sending, not a fixed 64 KiB.
    pub fn read_size(&self) -> usize {
        self.read_size
    }

    /// Judges a read from the transport into the state machine's receive
    /// buffer ([`Connection::read_into`], or bytes appended to
    /// [`Connection::recv_buf`]): `Ok(n)` bytes arrived (traced) or, for 0,
    /// the peer closed; a peer that went away closed too;
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) and
    /// [`Interrupted`](io::ErrorKind::Interrupted) read nothing.
    ///
    /// # Errors
    ///
    /// Any other I/O error, which breaks the connection.
    pub fn read_done(&mut self, result: io::Result<usize>) -> Result<Filled, Error> {
        if let Ok(n) = result {
            self.read_size = (n * 2).clamp(MIN_READ_SIZE, MAX_READ_SIZE);
        }
        match result {
            Ok(0) => Ok(self.peer_closed()),
            Ok(n) => {
                if let Some(trace) = &self.trace {
                    let buf = self.proto.recv_buf();
                    trace.record(Record::Recv, &buf[buf.len().saturating_sub(n)..]);
                }
                Ok(Filled::Data(n))
            }
            Err(e) => self.read_failed(e),
        }
    }

    /// How many body bytes the driver may read from its transport straight
    /// into the caller's buffer of `buf_len` bytes, past the receive buffer
    /// ([`Reader::direct_read_len`](super::Reader::direct_read_len)), now:
    /// 0 also after the end of stream and while bytes wait to be written
    /// (the driver's read loop writes them first). Report the read with
    /// [`read_direct_done`](Self::read_direct_done).
    pub fn direct_read_len(&self, reader: &super::Reader, buf_len: usize) -> usize {
        if self.eof || self.proto.transmit_len() > 0 {
            return 0;
        }
        reader.direct_read_len(&self.proto, buf_len)
    }

    /// Judges a read straight into the caller's buffer (see
    /// [`direct_read_len`](Self::direct_read_len)): `buf` holds what the
    /// read returned. It is only looked at to record the bytes in the
    /// [`trace`](Self::trace): without one, a driver that cannot lend the
    /// bytes cheaply may pass an empty slice.
    ///
    /// # Errors
    ///
    /// As [`read_done`](Self::read_done), and the state machine's error if
    /// the bytes were not body bytes it expected.
    pub fn read_direct_done(
        &mut self,
        result: io::Result<usize>,
        buf: &[u8],
    ) -> Result<Filled, Error> {
        match result {
            Ok(0) => Ok(self.peer_closed()),
            Ok(n) => {
                self.proto.note_direct_read(n)?;
                if let Some(trace) = &self.trace {
                    trace.record(Record::Recv, &buf[..n.min(buf.len())]);
                }
                Ok(Filled::Data(n))
            }
            Err(e) => self.read_failed(e),
        }
    }

    fn read_failed(&mut self, e: io::Error) -> Result<Filled, Error> {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(Filled::Blocked),
            _ if is_peer_gone(&e) => {
                self.note(&format!("read failed: {e}"));
                Ok(self.peer_closed())
            }
            _ => Err(self.fail(Error::io(e))),
        }
    }

    fn peer_closed(&mut self) -> Filled {
        if !self.eof {
            self.eof = true;
            self.proto.receive_eof();
            if let Some(trace) = &self.trace {
                trace.record(Record::Eof, b"");
            }
        }
        Filled::Eof
    }

    /// While a write waits, bytes the driver reads ahead are buffered; past
    /// the builder's `max_buffered` the connection breaks instead of
    /// growing without bound.
    ///
    /// # Errors
    ///
    /// [`Error::ReceiveBufferFull`].
    pub fn check_buffered(&mut self) -> Result<(), Error> {
        if self.proto.recv_buf().len() >= self.max_buffered {
            let limit = self.max_buffered;
            return Err(self.fail(Error::ReceiveBufferFull { limit }));
        }
        Ok(())
    }

    /// The idle check before a new request (see [`check_idle`](super::check_idle)),
    /// on what the driver read without waiting: bytes that answer no request
    /// break the connection; a peer that closed makes the request fail as
    /// closed.
    ///
    /// # Errors
    ///
    /// The state machine's error, or [`Error::closed_while_sending`].
    pub fn check_idle(&mut self) -> Result<(), Error> {
        super::check_idle(&mut self.proto)?;
        if self.eof {
            return Err(Error::closed_while_sending());
        }
        Ok(())
    }

    /// Calls `read` (a [`Reader`](super::Reader) method) on the state
    /// machine and passes on what it returned, noting a protocol error in
    /// the trace and the log; a body over `read_all`'s bound breaks the
    /// connection (the rest of it is never read).
    ///
    /// # Errors
    ///
    /// The error the reader returned.
    #[inline]
    pub fn poll<T>(
        &mut self,
        read: impl FnOnce(&mut Connection) -> Result<Progress<T>, Error>,
    ) -> Result<Progress<T>, Error> {
        // The result is passed on as it is; only an error is looked at.
        let result = read(&mut self.proto);
        if let Err(error) = &result {
            self.poll_failed(error);
        }
        result
    }

    /// What [`poll`](Self::poll) does with a reader's error: a body over
    /// `read_all`'s bound breaks the connection; a protocol error is noted.
    #[cold]
    #[inline(never)]
    fn poll_failed(&mut self, error: &Error) {
        match error {
            Error::BodyTooLarge { .. } => {
                let _ = self.fail(error.clone());
            }
            Error::Protocol(_) => {
                self.note(&format!("error: {error}"));
                tracing::debug!(%error, "dugong: protocol error");
            }
            _ => {}
        }
    }

    /// True if a [`Reader`](super::Reader) that returned
    /// [`Progress::Pending`] can be given more: the peer has not closed.
    /// Once it has, the state machine has seen the end and wants nothing
    /// more.
    ///
    /// # Errors
    ///
    /// [`Error::closed_while_sending`] after the end of stream.
    pub fn check_more(&self) -> Result<(), Error> {
        if self.eof {
            return Err(Error::closed_while_sending());
        }
        Ok(())
    }

    // ----- time --------------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) is due, given the time
    /// now (in the driver's clock, as [`Instant`]); `None` if no deadline
    /// runs. Call it when about to wait: a deadline starts counting at the
    /// first look after what starts it.
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        self.proto.poll_timeout(now)
    }

    /// Acts on the deadlines that passed at `now`: a body the continue delay
    /// released is reported once by [`take_released`](Self::take_released)
    /// (and is queued to write); an idle connection is no longer reused.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when no data moved for the builder's timeout:
    /// [`Phase::Writing`] while bytes waited to be written, else
    /// [`Phase::Reading`]. The connection is broken.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        let released = self.proto.handle_timeout(now);
        if let Some(id) = released.filter(|_| self.proto.error().is_none()) {
            tracing::debug!(id = id.as_u64(), "dugong: continue delay passed");
            self.note("continue delay passed: sending the body");
            self.released = Some(id);
        }
        if self.broken.is_none() {
            let phase = match self.proto.error() {
                Some(dugong_proto::Error::TimedOut(Timeout::Write)) => Phase::Writing,
                Some(dugong_proto::Error::TimedOut(_)) => Phase::Reading,
                _ => return Ok(()),
            };
            return Err(self.fail(Error::TimedOut(phase)));
        }
        Ok(())
    }

    /// The request whose held body the continue delay released, once: a
    /// driver's `read_response` returns a `100 Continue` for it.
    pub fn take_released(&mut self) -> Option<RequestId> {
        self.released.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PerConnection, Url};

    #[test]
    fn read_size_follows_what_reads_bring() {
        let url = Url::parse("http://example.test/").unwrap();
        let settings = Settings::for_url(&url);
        let mut session = Session::new(&settings, PerConnection::for_origin(&url, None));
        assert_eq!(session.read_size(), MIN_READ_SIZE);
        let read = |session: &mut Session, n: usize| {
            let size = session.read_size();
            let got = session
                .proto_mut()
                .read_into(size, |buf| Ok::<_, io::Error>(n.min(buf.len())));
            let _ = session.read_done(got);
        };
        read(&mut session, 4096);
        assert_eq!(session.read_size(), 8192);
        read(&mut session, 8192);
        assert_eq!(session.read_size(), 16384);
        for _ in 0..4 {
            read(&mut session, MAX_READ_SIZE);
        }
        assert_eq!(session.read_size(), MAX_READ_SIZE);
        read(&mut session, 10);
        assert_eq!(session.read_size(), MIN_READ_SIZE);
        // A read that found nothing leaves it as it was.
        let _ = session.read_done(Err(io::ErrorKind::WouldBlock.into()));
        assert_eq!(session.read_size(), MIN_READ_SIZE);
    }
}
