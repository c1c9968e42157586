//! The receive side: bytes in, parsed responses out. Only this file changes
//! [`RecvState`]: heads are read by `head.rs`, what follows each is decided
//! by `framing.rs`, and chunk framing is read by `chunked.rs`'s
//! [`Dechunker`].
//!
//! ```text
//!            +-----------------------------------------------+
//!            v                                               |
//!   Head (skip empty lines, scan, parse) --1xx--> Head       |
//!      |                                                     |
//!      +--HEAD/204/304/Content-Length: 0--> Body(Empty) --End+
//!      +--Content-Length: n---------------> Body(Length) -Data..-End
//!      +--chunked--> Body(Chunked: Size -> Data -> DataEnd -> Size ... -> Trailers) -End
//!      +--neither--> Body(UntilClose) -Data.. until EOF- End --> Finished
//!      +--2xx to CONNECT, 101 to upgrade--> Upgrade --Upgraded--> Finished
//!
//!   End of a response that announced the close --> AfterClose --EOF--> Finished
//! ```
//!
//! `AfterClose` takes only empty lines until the end of stream (RFC 9112
//! §9.6: nothing follows such a response). `Finished` ignores everything:
//! the stream ended, or the connection was handed over or failed.

use bytes::{Bytes, BytesMut};

use crate::chunked::{Dechunker, Step};
use crate::config::Config;
use crate::error::{Error, InvalidResponse, Limit};
use crate::event::RequestId;
use crate::event::{Headers, Response};
use crate::framing::{self, ResponseBody};
use crate::head::{Section, SectionScan};
use crate::request::RequestFacts;

/// How much room [`Receiver::read_into`] zeroes at a time (at least).
const SPARE_BYTES: usize = 64 * 1024;

/// The request a response is read for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expecting<'a> {
    pub(crate) id: RequestId,
    pub(crate) facts: RequestFacts,
    /// The `Upgrade` field value(s) of an upgrade request, joined with
    /// commas: the protocols a `101` may switch to.
    pub(crate) upgrade_offer: &'a [u8],
}

/// What one step of parsing produced, for the connection to route (into
/// an [`Event`](crate::Event), or consumed).
#[derive(Debug)]
pub(crate) enum Parsed {
    /// `100 Continue` for the front request.
    Continue(RequestId),
    /// A 1xx other than 100 and 101.
    Informational(Response),
    /// A final response head.
    Final(Response),
    /// A piece of body.
    Data(Bytes),
    /// The body is complete. `announced_close`: the peer said it closes the
    /// connection after this response (`Connection: close`, or HTTP/1.0
    /// without keep-alive), so nothing pipelined behind it was processed.
    End {
        trailers: Headers,
        announced_close: bool,
    },
    /// The connection was handed over; these bytes followed the head.
    Upgraded(Bytes),
    /// The peer closed, as the last response announced, with nothing after
    /// it: every request still in flight was not processed.
    ClosedAsAnnounced,
    /// The peer closed and more bytes were needed. `head_received`: the
    /// front response's head had arrived (its body is cut short);
    /// `announced_close`: that head announced the close, so nothing
    /// pipelined behind it was processed.
    Eof {
        head_received: bool,
        announced_close: bool,
    },
}

#[derive(Debug)]
enum RecvState {
    /// Reading a head, with [`Receiver::scan`].
    Head,
    Body {
        body: BodyState,
        announced_close: bool,
    },
    Upgrade,
    /// After a response that announced the close: empty lines only.
    AfterClose,
    Finished,
}

#[derive(Debug)]
enum BodyState {
    Empty,
    Length(u64),
    /// The chunk framing is read by the [`Dechunker`]; its trailer
    /// section by [`Receiver::scan`].
    Chunked(Dechunker),
    UntilClose,
}

/// How far the front response has come ([`Receiver::front_progress`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FrontProgress {
    /// Its head arrived (its body is being read).
    pub(crate) head_received: bool,
    /// Any byte of it arrived: an interim response, part of the head, or
    /// the whole head.
    pub(crate) started: bool,
    /// Its head announced the close: nothing behind it is processed.
    pub(crate) announced_close: bool,
    /// A response announced the close and ended: nothing still in flight is
    /// processed.
    pub(crate) after_close: bool,
    /// Its body is delimited by the close: the end of stream completes it,
    /// and the requests behind it are judged as if nothing of theirs had
    /// arrived.
    pub(crate) ends_at_close: bool,
}

/// The receive side of a connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    state: RecvState,
    /// Where the head or trailer section being read stands. Left fresh by
    /// a section read in one pass, so it is reset only after one that
    /// came in pieces.
    scan: SectionScan,
    buf: BytesMut,
    /// Initialized room right after `buf`, in the same allocation, that
    /// [`read_into`](Self::read_into) lends to reads: zeroed once when it
    /// is made, not at every read. Empty until the first such read.
    spare: BytesMut,
    /// Stream offset of `buf[0]`.
    consumed: u64,
    eof: bool,
    /// Interim responses since the last final one.
    interim: usize,
}

impl Receiver {
    pub(crate) fn new() -> Self {
        Receiver {
            state: RecvState::Head,
            scan: SectionScan::default(),
            buf: BytesMut::new(),
            spare: BytesMut::new(),
            consumed: 0,
            eof: false,
            interim: 0,
        }
    }

    /// Lets `read` fill up to `max` bytes right after the received ones,
    /// and keeps the first `n` it reports (see
    /// [`Connection::read_into`](crate::Connection::read_into)).
    ///
    /// The room lent is `spare`, which follows `buf` in the same
    /// allocation, so keeping the bytes moves a boundary and copies
    /// nothing. It is made [`SPARE_BYTES`] (or `max`) at a time and zeroed
    /// then, as safe code must before lending bytes, instead of zeroing
    /// `max` bytes at every read: a read asked to bring up to 4 KiB often
    /// brings a few hundred. It is made again when less than `max` is
    /// left, or when it no longer follows `buf` (the caller appended to
    /// [`buf_mut`](Self::buf_mut), which moved it).
    pub(crate) fn read_into<E>(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        // (Comparing addresses only: nothing is read through them.)
        let follows = self.buf.as_ptr().wrapping_add(self.buf.len()) == self.spare.as_ptr();
        if self.spare.len() < max || !follows {
            // (Dropped first, so that the buffer may be reused in place.)
            self.spare = BytesMut::new();
            let len = self.buf.len();
            self.buf.reserve(max.max(SPARE_BYTES));
            self.buf.resize(self.buf.capacity(), 0);
            self.spare = self.buf.split_off(len);
        }
        let result = read(&mut self.spare[..max]);
        let n = result.as_ref().map_or(0, |n| (*n).min(max));
        let read = self.spare.split_to(n);
        self.buf.unsplit(read);
        result.map(|_| n)
    }

    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes parsed (or read past the buffer) so far: the stream offset of
    /// the receive buffer's first byte.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Bytes ever received.
    pub(crate) fn received(&self) -> u64 {
        self.consumed + self.buf.len() as u64
    }

    pub(crate) fn set_eof(&mut self) {
        self.eof = true;
    }

    pub(crate) fn is_eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.state, RecvState::Finished)
    }

    /// The bytes of the current body not handed out yet, when its length is
    /// known: the rest of a `Content-Length` body (0 for a body that is
    /// empty or complete); `None` for a chunked or close-delimited body, or
    /// between responses.
    pub(crate) fn body_remaining(&self) -> Option<u64> {
        match &self.state {
            RecvState::Body { body, .. } => match body {
                BodyState::Length(n) => Some(*n),
                BodyState::Empty => Some(0),
                BodyState::Chunked(_) | BodyState::UntilClose => None,
            },
            _ => None,
        }
    }

    /// True while the current body is delimited by the end of the stream.
    pub(crate) fn body_until_close(&self) -> bool {
        matches!(
            &self.state,
            RecvState::Body {
                body: BodyState::UntilClose,
                ..
            }
        )
    }

    /// True while the current response announced that the peer closes.
    pub(crate) fn close_announced(&self) -> bool {
        matches!(
            &self.state,
            RecvState::Body {
                announced_close: true,
                ..
            }
        )
    }

    /// How many bytes of the current body may be read past the receive
    /// buffer (which must be empty): the rest of a length-delimited body or
    /// of the current chunk, or unbounded for a close-delimited body.
    pub(crate) fn direct_len(&self) -> u64 {
        if !self.buf.is_empty() || self.eof {
            return 0;
        }
        match &self.state {
            RecvState::Body { body, .. } => match body {
                BodyState::Length(n) => *n,
                BodyState::Chunked(dechunker) => dechunker.data_remaining(),
                BodyState::UntilClose => u64::MAX,
                BodyState::Empty => 0,
            },
            _ => 0,
        }
    }

    /// Counts `n` body bytes read past the receive buffer; `n` is at most
    /// [`direct_len`](Self::direct_len).
    pub(crate) fn direct_consumed(&mut self, n: u64) {
        if let RecvState::Body { body, .. } = &mut self.state {
            match body {
                BodyState::Length(r) => {
                    *r -= n;
                    if *r == 0 {
                        *body = BodyState::Empty;
                    }
                }
                BodyState::Chunked(dechunker) => dechunker.consume_data(n),
                _ => {}
            }
        }
        self.consumed += n;
    }

    /// How far the front response has come, for the fates of the requests
    /// still unanswered.
    pub(crate) fn front_progress(&self) -> FrontProgress {
        let mut progress = FrontProgress::default();
        match self.state {
            RecvState::Body {
                body: BodyState::UntilClose,
                announced_close,
            } => {
                progress.ends_at_close = true;
                // Behind a response that announced the close, nothing is
                // processed.
                progress.after_close = announced_close;
            }
            RecvState::Body {
                announced_close, ..
            } => {
                progress.head_received = true;
                progress.started = true;
                progress.announced_close = announced_close;
            }
            RecvState::Head => {
                let begun = self.buf.iter().any(|&b| b != b'\r' && b != b'\n');
                progress.started = begun || self.interim > 0;
            }
            RecvState::AfterClose => progress.after_close = true,
            RecvState::Upgrade | RecvState::Finished => {}
        }
        progress
    }

    /// Takes nothing but empty lines and the end of stream from now on.
    pub(crate) fn after_close(&mut self) {
        self.state = RecvState::AfterClose;
    }

    /// Ignores everything from now on.
    pub(crate) fn finish(&mut self) {
        self.spare = BytesMut::new();
        self.state = RecvState::Finished;
        self.buf.clear();
    }

    fn invalid(&self, kind: InvalidResponse, at: usize) -> Error {
        Error::invalid(kind, self.consumed + at as u64)
    }

    fn take(&mut self, n: usize) -> BytesMut {
        self.consumed += n as u64;
        self.buf.split_to(n)
    }

    /// Parses as far as the next step. `front` gives the oldest request
    /// still waiting for (the rest of) its response; it is asked only when
    /// a head is to be read.
    #[inline(always)]
    pub(crate) fn poll<'a>(
        &mut self,
        front: impl FnOnce() -> Option<Expecting<'a>>,
        config: &Config,
    ) -> Result<Option<Parsed>, Error> {
        match &mut self.state {
            RecvState::Head => self.poll_head(front(), config),
            RecvState::AfterClose => self.poll_after_close(),
            RecvState::Body { .. } => self.poll_body(config),
            RecvState::Upgrade => {
                self.state = RecvState::Finished;
                let rest = self.buf.split().freeze();
                self.consumed += rest.len() as u64;
                Ok(Some(Parsed::Upgraded(rest)))
            }
            RecvState::Finished => {
                self.buf.clear();
                Ok(None)
            }
        }
    }

    fn need_more(&self, head_received: bool) -> Result<Option<Parsed>, Error> {
        let announced_close = matches!(
            self.state,
            RecvState::Body {
                announced_close: true,
                ..
            }
        );
        Ok(self.eof.then_some(Parsed::Eof {
            head_received,
            announced_close,
        }))
    }

    /// Drops the empty lines (CRLF) at the start of the buffer.
    fn skip_empty_lines(&mut self) {
        let blank = self
            .buf
            .chunks_exact(2)
            .take_while(|pair| *pair == b"\r\n")
            .count();
        if blank > 0 {
            self.consumed += 2 * blank as u64;
            let _ = self.buf.split_to(2 * blank);
        }
    }

    fn poll_after_close(&mut self) -> Result<Option<Parsed>, Error> {
        self.skip_empty_lines();
        match self.buf.first() {
            None => {}
            // Perhaps the start of one more empty line.
            Some(b'\r') if self.buf.len() == 1 => {}
            Some(_) => return Err(self.invalid(InvalidResponse::AfterClose, 0)),
        }
        if !self.eof {
            return Ok(None);
        }
        self.finish();
        Ok(Some(Parsed::ClosedAsAnnounced))
    }

    fn poll_head(
        &mut self,
        front: Option<Expecting<'_>>,
        config: &Config,
    ) -> Result<Option<Parsed>, Error> {
        if self.scan.is_fresh() {
            // Empty lines before a status line are ignored.
            self.skip_empty_lines();
            match self.buf.first() {
                None => return self.need_more(false),
                Some(b'\n') => return Err(self.invalid(InvalidResponse::BareLf, 0)),
                Some(b'\r') if self.buf.len() == 1 => return self.need_more(false),
                Some(_) => {}
            }
        }
        let Some(front) = front else {
            return Err(self.invalid(InvalidResponse::Unsolicited, 0));
        };
        let found = self.scan.scan(
            &mut self.buf,
            Section::Head,
            config.max_head_bytes(),
            config.max_headers(),
            self.consumed,
        )?;
        let Some(scanned) = found else {
            return self.need_more(false);
        };
        let base = self.consumed;
        self.reset_scan();
        let Some(line) = scanned.status else {
            // Invariant: a head's scan reads its status line first.
            return Err(self.invalid(InvalidResponse::Version, 0));
        };
        let fields = scanned.framing;
        let raw = self.take(scanned.len);
        let response = Response {
            id: front.id,
            version: line.version,
            status: line.status,
            // (A head is at most `u32::MAX` bytes: `Config` caps the
            // limit, and so its offsets and field count fit.)
            reason: (line.reason.0 as u32, line.reason.1 as u32),
            headers: Headers {
                buf: raw.freeze(),
                first: scanned.first_field as u32,
                len: scanned.fields as u32,
            },
        };
        let status = response.status;
        if status < 200 && status != 101 {
            self.interim += 1;
            if self.interim > config.max_informational() {
                return Err(Error::TooLarge(Limit::Informational(
                    config.max_informational(),
                )));
            }
        } else {
            self.interim = 0;
        }
        let next = framing::response_body(front.facts, status, response.version, &fields, base)?;
        let body = match next {
            ResponseBody::Continue => return Ok(Some(Parsed::Continue(front.id))),
            ResponseBody::Informational => return Ok(Some(Parsed::Informational(response))),
            ResponseBody::Switch => {
                let chosen = response.headers.get_all("upgrade");
                if !framing::upgrade_offered(front.upgrade_offer, chosen) {
                    return Err(Error::invalid(InvalidResponse::UpgradeNotOffered, base));
                }
                self.state = RecvState::Upgrade;
                return Ok(Some(Parsed::Final(response)));
            }
            ResponseBody::Tunnel => {
                self.state = RecvState::Upgrade;
                return Ok(Some(Parsed::Final(response)));
            }
            ResponseBody::Empty => BodyState::Empty,
            ResponseBody::Length(n) => BodyState::Length(n),
            ResponseBody::Chunked => BodyState::Chunked(Dechunker::new()),
            ResponseBody::UntilClose => BodyState::UntilClose,
        };
        self.state = RecvState::Body {
            body,
            announced_close: framing::announces_close(response.version, &fields),
        };
        Ok(Some(Parsed::Final(response)))
    }

    fn poll_body(&mut self, config: &Config) -> Result<Option<Parsed>, Error> {
        let RecvState::Body {
            body,
            announced_close,
        } = &mut self.state
        else {
            return Ok(None);
        };
        let announced_close = *announced_close;
        match body {
            BodyState::Empty => self.end(Headers::default(), announced_close),
            BodyState::Length(remaining) => {
                if self.buf.is_empty() {
                    return self.need_more(true);
                }
                let n =
                    usize::try_from(*remaining).map_or(self.buf.len(), |r| r.min(self.buf.len()));
                *remaining -= n as u64;
                if *remaining == 0 {
                    *body = BodyState::Empty;
                }
                Ok(Some(Parsed::Data(self.take(n).freeze())))
            }
            BodyState::UntilClose => {
                if !self.buf.is_empty() {
                    let n = self.buf.len();
                    Ok(Some(Parsed::Data(self.take(n).freeze())))
                } else if self.eof {
                    self.end(Headers::default(), announced_close)
                } else {
                    Ok(None)
                }
            }
            BodyState::Chunked(_) => self.poll_chunked(config, announced_close),
        }
    }

    fn poll_chunked(
        &mut self,
        config: &Config,
        announced_close: bool,
    ) -> Result<Option<Parsed>, Error> {
        loop {
            let RecvState::Body {
                body: BodyState::Chunked(dechunker),
                ..
            } = &mut self.state
            else {
                return Ok(None);
            };
            match dechunker.step(&self.buf, config.max_chunk_line_bytes(), self.consumed)? {
                Step::Framing(n) => {
                    let _ = self.take(n);
                }
                Step::Data(n) => return Ok(Some(Parsed::Data(self.take(n).freeze()))),
                Step::NeedMore => return self.need_more(true),
                Step::Trailers => {
                    let found = self.scan.scan(
                        &mut self.buf,
                        Section::Trailers,
                        config.max_trailer_bytes(),
                        config.max_headers(),
                        self.consumed,
                    )?;
                    let Some(scanned) = found else {
                        return self.need_more(true);
                    };
                    self.reset_scan();
                    let trailers = Headers {
                        buf: self.take(scanned.len).freeze(),
                        first: 0,
                        len: scanned.fields as u32,
                    };
                    return self.end(trailers, announced_close);
                }
            }
        }
    }

    /// Makes the section scan fresh for the next section.
    fn reset_scan(&mut self) {
        if !self.scan.is_fresh() {
            self.scan = SectionScan::default();
        }
    }

    fn end(&mut self, trailers: Headers, announced_close: bool) -> Result<Option<Parsed>, Error> {
        self.state = RecvState::Head;
        Ok(Some(Parsed::End {
            trailers,
            announced_close,
        }))
    }
}
