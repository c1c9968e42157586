//! The send side: request heads and bodies out, as a queue of `Bytes`
//! segments. Only this file changes [`SendState`]; heads are written by
//! `request.rs`, chunk framing by `chunked.rs`.
//!
//! ```text
//!                send_request (Empty, Full, or Sized(0))
//!            +--------------------------------------------+
//!            v                                            |
//!   +------> Idle ---- send_request(Sized(n>0)) ----> Sized { remaining }
//!   |         |  \                                        | send_body ... (remaining hits 0)
//!   |         |   `--- send_request(Chunked) ----> Chunked --- finish ---> Idle
//!   |         |
//!   |         `--- send_request(.., Expect: 100-continue) ---> AwaitContinue { held }
//!   |                                                            |         |
//!   |           Continue, or the continue deadline: body released |         | final response first
//!   |                     (Full -> Idle, Sized/Chunked as above) -'         v
//!   `------------------------------------------------ (nothing owed)  Cancelled (connection must close)
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use crate::chunked;
use crate::error::{Error, InvalidRequest, StateError};
use crate::event::RequestId;
use crate::request::{self, BodyFraming, HeadOptions, HeaderField, RequestFacts};

/// The body of a request, chosen by the caller. It decides the framing
/// header, so callers never write `Content-Length` or `Transfer-Encoding`
/// themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// No body and no framing header (GET, HEAD, DELETE, ...).
    Empty,
    /// The whole body now, sent with `Content-Length` and never copied.
    Full(Bytes),
    /// A body of exactly this many bytes, given later with
    /// [`Connection::send_body`](crate::Connection::send_body), sent with
    /// `Content-Length`.
    Sized(u64),
    /// A body of unknown length, given later with
    /// [`Connection::send_body`](crate::Connection::send_body) and ended with
    /// [`Connection::finish`](crate::Connection::finish), sent with
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl From<Bytes> for Body {
    /// A whole body ([`Body::Full`]; an empty one is still sent with
    /// `Content-Length: 0`).
    fn from(bytes: Bytes) -> Body {
        Body::Full(bytes)
    }
}

impl From<alloc::vec::Vec<u8>> for Body {
    /// A whole body, without copying it.
    fn from(bytes: alloc::vec::Vec<u8>) -> Body {
        Body::Full(Bytes::from(bytes))
    }
}

impl From<&'static [u8]> for Body {
    /// A whole static body, without copying it.
    fn from(bytes: &'static [u8]) -> Body {
        Body::Full(Bytes::from_static(bytes))
    }
}

impl From<&'static str> for Body {
    /// A whole static body, without copying it.
    fn from(text: &'static str) -> Body {
        Body::Full(Bytes::from_static(text.as_bytes()))
    }
}

impl From<()> for Body {
    /// No body ([`Body::Empty`]).
    fn from((): ()) -> Body {
        Body::Empty
    }
}

/// A body held back until `100 Continue`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    Full(Bytes),
    Sized(u64),
    Chunked,
}

/// Where the send side is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SendState {
    /// Ready for a new request head.
    Idle,
    /// A head with `Expect: 100-continue` is out; its body waits.
    AwaitContinue { id: RequestId, held: Held },
    /// Sending a body of known length.
    Sized { id: RequestId, remaining: u64 },
    /// Sending a chunked body.
    Chunked { id: RequestId },
    /// The server answered before `100 Continue`; the body will not be sent.
    Cancelled,
}

/// What a call did to the request being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The request's bytes are all queued, ending at this stream offset.
    Complete(RequestId, u64),
    /// More body is to come.
    Pending,
}

/// The send side of a connection.
#[derive(Debug)]
pub(crate) struct Sender {
    state: SendState,
    /// Segments to write, in order, before `tail`.
    queue: VecDeque<Bytes>,
    /// The last bytes to write, after `queue`: heads, chunk-size lines and
    /// trailers are written here, so that requests queued one after
    /// another form one contiguous segment (one slice of a vectored write,
    /// no allocation per request). Split off into `queue` when a body
    /// segment follows. Reuses its allocation once its bytes are written.
    tail: BytesMut,
    /// Bytes ever queued.
    queued: u64,
    /// Bytes ever handed out for writing.
    sent: u64,
    /// `Host` value for requests that carry none.
    default_host: Option<Bytes>,
    /// Stream ranges of secret header values not yet handed out, when
    /// tracked.
    secrets: Option<VecDeque<Range<u64>>>,
    /// Head-relative secret ranges of the head being written.
    head_secrets: Vec<Range<usize>>,
    /// The `Upgrade` values of the last request started (joined with
    /// commas; empty without one). No request may follow an upgrade
    /// request, so while one is in flight these are its offer.
    upgrade_offer: Vec<u8>,
}

impl Sender {
    pub(crate) fn new() -> Self {
        Sender {
            state: SendState::Idle,
            queue: VecDeque::new(),
            tail: BytesMut::new(),
            queued: 0,
            sent: 0,
            default_host: None,
            secrets: None,
            head_secrets: Vec::new(),
            upgrade_offer: Vec::new(),
        }
    }

    /// The protocols the last request offered to upgrade to.
    pub(crate) fn upgrade_offer(&self) -> &[u8] {
        &self.upgrade_offer
    }

    pub(crate) fn set_default_host(&mut self, host: Option<Bytes>) {
        self.default_host = host;
    }

    pub(crate) fn track_secrets(&mut self, on: bool) {
        match (on, self.secrets.is_some()) {
            (true, false) => self.secrets = Some(VecDeque::new()),
            (false, true) => self.secrets = None,
            _ => {}
        }
    }

    /// Stream ranges of secret values that are not entirely handed out yet.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.secrets.iter().flatten().cloned()
    }

    fn prune_secrets(&mut self) {
        if let Some(secrets) = &mut self.secrets {
            while secrets.front().is_some_and(|r| r.end <= self.sent) {
                secrets.pop_front();
            }
        }
    }

    /// Checks that a new request may start now.
    pub(crate) fn check_ready(&self) -> Result<(), Error> {
        match self.state {
            SendState::Idle => Ok(()),
            SendState::AwaitContinue { .. } => Err(Error::State(StateError::AwaitingContinue)),
            SendState::Sized { .. } | SendState::Chunked { .. } => {
                Err(Error::State(StateError::BodyUnfinished))
            }
            SendState::Cancelled => Err(Error::State(StateError::Closing)),
        }
    }

    /// Queues a request head (and a whole body, unless it waits for 100).
    pub(crate) fn start<I>(
        &mut self,
        id: RequestId,
        method: &str,
        target: &str,
        headers: I,
        body: Body,
    ) -> Result<(RequestFacts, Progress), Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.check_ready()?;
        let framing = match &body {
            Body::Empty => BodyFraming::None,
            Body::Full(b) => BodyFraming::Length(b.len() as u64),
            Body::Sized(n) => BodyFraming::Length(*n),
            Body::Chunked => BodyFraming::Chunked,
        };
        self.head_secrets.clear();
        self.upgrade_offer.clear();
        let options = HeadOptions {
            default_host: self.default_host.as_deref(),
            secrets: self.secrets.is_some().then_some(&mut self.head_secrets),
            upgrade_offer: Some(&mut self.upgrade_offer),
        };
        // The stream offset of `tail[0]`.
        let tail_start = self.queued - self.tail.len() as u64;
        let before = self.tail.len();
        let facts =
            request::write_request_head(&mut self.tail, method, target, headers, framing, options)
                .map_err(Error::InvalidRequest)?;
        self.queued += (self.tail.len() - before) as u64;
        if let Some(secrets) = &mut self.secrets {
            // Ranges relative to `tail[0]`.
            secrets.extend(
                self.head_secrets
                    .drain(..)
                    .map(|r| tail_start + r.start as u64..tail_start + r.end as u64),
            );
        }
        let held = match body {
            Body::Empty | Body::Sized(0) => None,
            Body::Full(b) if b.is_empty() => None,
            Body::Full(b) => Some(Held::Full(b)),
            Body::Sized(n) => Some(Held::Sized(n)),
            Body::Chunked => Some(Held::Chunked),
        };
        let progress = match held {
            None => self.complete(id),
            Some(held) if facts.expects_continue => {
                self.state = SendState::AwaitContinue { id, held };
                Progress::Pending
            }
            Some(held) => self.release_into(id, held),
        };
        Ok((facts, progress))
    }

    /// Releases a held body (after `100 Continue` or its deadline).
    pub(crate) fn release(&mut self) -> Progress {
        match core::mem::replace(&mut self.state, SendState::Idle) {
            SendState::AwaitContinue { id, held } => self.release_into(id, held),
            other => {
                self.state = other;
                Progress::Pending
            }
        }
    }

    fn release_into(&mut self, id: RequestId, held: Held) -> Progress {
        match held {
            Held::Full(body) => {
                self.push(body);
                self.complete(id)
            }
            Held::Sized(remaining) => {
                self.state = SendState::Sized { id, remaining };
                Progress::Pending
            }
            Held::Chunked => {
                self.state = SendState::Chunked { id };
                Progress::Pending
            }
        }
    }

    /// The server sent a final response to `id`. If `id` still waits for
    /// 100, its body is dropped; returns true if bytes were owed, in which
    /// case the connection cannot be reused.
    pub(crate) fn cancel_if_awaiting(&mut self, id: RequestId) -> bool {
        match &self.state {
            SendState::AwaitContinue { id: waiting, .. } if *waiting == id => {
                self.state = SendState::Cancelled;
                true
            }
            _ => false,
        }
    }

    /// The request waiting for `100 Continue` with a body held, if any.
    pub(crate) fn awaiting_continue(&self) -> Option<RequestId> {
        match self.state {
            SendState::AwaitContinue { id, .. } => Some(id),
            _ => None,
        }
    }

    /// True while the caller owes body bytes (so silence from the server is
    /// expected).
    pub(crate) fn is_streaming(&self) -> bool {
        matches!(
            self.state,
            SendState::Sized { .. } | SendState::Chunked { .. }
        )
    }

    /// True when no request is being sent.
    pub(crate) fn is_idle(&self) -> bool {
        self.state == SendState::Idle
    }

    /// Queues a piece of a streaming body.
    pub(crate) fn send_body(&mut self, data: Bytes) -> Result<Progress, Error> {
        match &mut self.state {
            SendState::Sized { id, remaining } => {
                let len = data.len() as u64;
                if len > *remaining {
                    return Err(Error::ExcessBodyData {
                        excess: len - *remaining,
                    });
                }
                *remaining -= len;
                let (id, done) = (*id, *remaining == 0);
                if len > 0 {
                    self.push(data);
                }
                Ok(if done {
                    self.complete(id)
                } else {
                    Progress::Pending
                })
            }
            SendState::Chunked { .. } => {
                if !data.is_empty() {
                    let before = self.tail.len();
                    chunked::write_chunk_size(&mut self.tail, data.len() as u64);
                    self.queued += (self.tail.len() - before) as u64;
                    self.push(data);
                    self.put_tail(b"\r\n");
                }
                Ok(Progress::Pending)
            }
            state => Err(Error::State(Self::no_body_error(state))),
        }
    }

    /// Ends a chunked body with optional trailers.
    pub(crate) fn finish<I>(&mut self, trailers: I) -> Result<Progress, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        match &self.state {
            SendState::Chunked { id } => {
                let id = *id;
                let before = self.tail.len();
                chunked::write_last_chunk(&mut self.tail, trailers)
                    .map_err(|e: InvalidRequest| Error::InvalidRequest(e))?;
                self.queued += (self.tail.len() - before) as u64;
                Ok(self.complete(id))
            }
            SendState::Sized { .. } => Err(Error::State(StateError::NotChunked)),
            state => Err(Error::State(Self::no_body_error(state))),
        }
    }

    fn no_body_error(state: &SendState) -> StateError {
        match state {
            SendState::AwaitContinue { .. } => StateError::AwaitingContinue,
            SendState::Cancelled => StateError::BodyCancelled,
            _ => StateError::NoBody,
        }
    }

    fn complete(&mut self, id: RequestId) -> Progress {
        self.state = SendState::Idle;
        Progress::Complete(id, self.queued)
    }

    /// Queues a body segment (zero-copy), after the tail's bytes.
    fn push(&mut self, segment: Bytes) {
        if !self.tail.is_empty() {
            let tail = self.tail.split().freeze();
            self.queue.push_back(tail);
        }
        self.queued += segment.len() as u64;
        self.queue.push_back(segment);
    }

    /// Queues a few bytes by copying them into the tail.
    fn put_tail(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        self.queued += bytes.len() as u64;
    }

    /// Bytes ever handed out for writing.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Drops everything not yet handed out (the connection is dead).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.tail.clear();
        // Nothing is pending any more; what was dropped never reaches the
        // peer (fates are decided before this is called).
        self.sent = self.queued;
        self.prune_secrets();
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Bytes> {
        let segment = match self.queue.pop_front() {
            Some(segment) => segment,
            None if !self.tail.is_empty() => self.tail.split().freeze(),
            None => return None,
        };
        self.sent += segment.len() as u64;
        self.prune_secrets();
        Some(segment)
    }

    pub(crate) fn segments(&self) -> Segments<'_> {
        Segments {
            queue: self.queue.iter(),
            tail: (!self.tail.is_empty()).then_some(&self.tail[..]),
        }
    }

    pub(crate) fn pending_bytes(&self) -> u64 {
        self.queued - self.sent
    }

    /// Marks `n` bytes from the front of the queue as written.
    pub(crate) fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                let take = n.min(self.tail.len());
                self.tail.advance(take);
                self.sent += take as u64;
                break;
            };
            let take = n.min(front.len());
            front.advance(take);
            self.sent += take as u64;
            n -= take;
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
        self.prune_secrets();
    }
}

/// The segments waiting to be written, in order: see
/// [`Connection::transmit_segments`](crate::Connection::transmit_segments).
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    queue: alloc::collections::vec_deque::Iter<'a, Bytes>,
    tail: Option<&'a [u8]>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self.queue.next() {
            Some(segment) => Some(segment),
            None => self.tail.take(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.queue.len() + usize::from(self.tail.is_some());
        (n, Some(n))
    }
}

impl ExactSizeIterator for Segments<'_> {}
