//! The one error type of `dugong-proto`, and the detail enums it holds.
//!
//! Each variant says who is at fault and so what the caller can do:
//!
//! | variant | fault | connection afterwards |
//! |---|---|---|
//! | [`Error::ConnectionClosed`] | neither: the peer went away | dead; resend what [`Closed`] says is safe |
//! | [`Error::InvalidResponse`] | the peer broke the protocol | dead |
//! | [`Error::UnsupportedResponse`] | the peer used something valid we do not implement | dead |
//! | [`Error::TooLarge`] | the peer exceeded a configured limit | dead |
//! | [`Error::TimedOut`] | a deadline passed | dead |
//! | [`Error::InvalidRequest`] | the caller gave bad request data | unchanged, nothing was emitted |
//! | [`Error::State`] | the caller called at the wrong time | unchanged |
//! | [`Error::ExcessBodyData`] | the caller gave more body than announced | unchanged, nothing was emitted |
//!
//! Once a connection is dead, every later call returns the same error again.

use alloc::vec::Vec;

use crate::event::RequestId;

/// Everything that can go wrong on a client connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer closed the connection while responses were owed (or a
    /// response announced `Connection: close` with requests pipelined after
    /// it). Says, per request, what was lost and whether it is safe to resend.
    #[error("connection closed: {0}")]
    ConnectionClosed(Closed),

    /// The response violates HTTP/1.1 (RFC 9112); synchronization with the
    /// peer is lost.
    #[error("invalid response at byte {offset} of the stream: {kind}")]
    InvalidResponse {
        /// What was wrong.
        kind: InvalidResponse,
        /// Where: the offset, counted from the first byte ever received on
        /// this connection, at which the problem was detected.
        offset: u64,
    },

    /// The response is valid HTTP but uses something this library will not
    /// handle (for example a transfer coding other than chunked).
    #[error("unsupported response: {0}")]
    UnsupportedResponse(Unsupported),

    /// The response exceeded a limit of the [`Config`](crate::Config).
    #[error("response too large: {0}")]
    TooLarge(Limit),

    /// A deadline passed (see [`Connection::handle_timeout`](crate::Connection::handle_timeout)).
    #[error("timed out: {0}")]
    TimedOut(Timeout),

    /// The caller's request data is not valid HTTP/1.1; nothing was emitted.
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequest),

    /// The call is not allowed in the connection's current state.
    #[error("not allowed now: {0}")]
    State(StateError),

    /// The caller gave more body bytes than the announced length; nothing of
    /// that piece was emitted.
    #[error("{excess} body bytes more than the announced length")]
    ExcessBodyData {
        /// How many bytes too many the rejected piece held.
        excess: u64,
    },
}

/// A coarse classification of an [`Error`], for callers that only need to
/// know what kind of thing went wrong (and for the `replay` trace format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::ConnectionClosed`].
    Closed,
    /// [`Error::InvalidResponse`].
    Invalid,
    /// [`Error::UnsupportedResponse`].
    Unsupported,
    /// [`Error::TooLarge`].
    TooLarge,
    /// [`Error::TimedOut`].
    TimedOut,
    /// The caller's mistake: [`Error::InvalidRequest`], [`Error::State`],
    /// [`Error::ExcessBodyData`].
    Usage,
}

impl ErrorKind {
    /// A short stable name: `closed`, `invalid`, `unsupported`, `too_large`,
    /// `timed_out` or `usage`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Closed => "closed",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::Usage => "usage",
        }
    }
}

impl Error {
    /// Classifies the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ConnectionClosed(_) => ErrorKind::Closed,
            Error::InvalidResponse { .. } => ErrorKind::Invalid,
            Error::UnsupportedResponse(_) => ErrorKind::Unsupported,
            Error::TooLarge(_) => ErrorKind::TooLarge,
            Error::TimedOut(_) => ErrorKind::TimedOut,
            Error::InvalidRequest(_) | Error::State(_) | Error::ExcessBodyData { .. } => {
                ErrorKind::Usage
            }
        }
    }

    /// True if the error leaves the connection dead (every error that is not
    /// the caller's own mistake).
    pub fn is_fatal(&self) -> bool {
        self.kind() != ErrorKind::Usage
    }

    pub(crate) fn invalid(kind: InvalidResponse, offset: u64) -> Self {
        Error::InvalidResponse { kind, offset }
    }
}

/// What a closed connection left unanswered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Closed {
    unanswered: Vec<Unanswered>,
    started: Option<RequestId>,
}

impl Closed {
    pub(crate) fn new(unanswered: Vec<Unanswered>) -> Self {
        Closed {
            unanswered,
            started: None,
        }
    }

    pub(crate) fn with_response_started(mut self, started: Option<RequestId>) -> Self {
        self.started = started;
        self
    }

    /// The request whose response had begun to arrive (an interim
    /// response, part of its head, or its head and part of its body) when
    /// the connection ended, if one had: the server acted on it, so a
    /// client must not send it again, whatever its [`Fate`] says.
    pub fn response_started(&self) -> Option<RequestId> {
        self.started
    }

    /// Every request that got no complete response, oldest first.
    pub fn unanswered(&self) -> &[Unanswered] {
        &self.unanswered
    }

    /// The requests known not to have been processed by the server: safe to
    /// send again, even if not idempotent.
    pub fn not_processed(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.with_fate(Fate::NotProcessed)
    }

    /// The requests the server may or may not have acted on: resend only if
    /// idempotent.
    pub fn maybe_processed(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.unanswered
            .iter()
            .filter(|u| u.fate != Fate::NotProcessed)
            .map(|u| u.id)
    }

    fn with_fate(&self, fate: Fate) -> impl Iterator<Item = RequestId> + '_ {
        self.unanswered
            .iter()
            .filter(move |u| u.fate == fate)
            .map(|u| u.id)
    }
}

impl core::fmt::Display for Closed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.unanswered.is_empty() {
            return f.write_str("no request was unanswered");
        }
        write!(f, "{} request(s) unanswered (", self.unanswered.len())?;
        for (i, u) in self.unanswered.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "#{}: {}", u.id.as_u64(), u.fate)?;
        }
        f.write_str(")")
    }
}

/// One request that got no complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unanswered {
    /// The request.
    pub id: RequestId,
    /// What is known of it.
    pub fate: Fate,
}

/// What is known about a request whose response never completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fate {
    /// The response head arrived, but the body was cut short. The server
    /// processed the request.
    BodyIncomplete,
    /// The request was written in full but no response head arrived: the
    /// server may have acted on it.
    MaybeProcessed,
    /// The server cannot have processed it: it was pipelined after a
    /// response that closed the connection (RFC 9112 §9.6), or it was never
    /// completely handed out for writing. Safe to resend.
    NotProcessed,
}

impl core::fmt::Display for Fate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Fate::BodyIncomplete => "body cut short",
            Fate::MaybeProcessed => "no response, may have been processed",
            Fate::NotProcessed => "not processed, safe to resend",
        })
    }
}

/// Ways a response can violate HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidResponse {
    /// A line ended in LF without CR (RFC 9112 §2.2: CRLF only).
    #[error("line ends in a bare LF")]
    BareLf,
    /// A CR not followed by LF, or another control character, in a line.
    #[error("control character in the status line")]
    StatusLineCharacter,
    /// The status line starts `HTTP/` but its version is not `1.x`
    /// followed by a space.
    #[error("not an HTTP/1.x status line")]
    Version,
    /// The bytes where a status line must start cannot begin `HTTP/`: the
    /// peer does not speak HTTP (an HTTP/0.9-style body, a NUL, another
    /// protocol). Reported at the first byte that shows it.
    #[error("not an HTTP response: it starts with \"{0}\"")]
    NotHttp(Arrived),
    /// The bytes where a status line must start are a TLS record (its
    /// first byte is a TLS content type: 0x14 to 0x17): the server speaks
    /// TLS on a connection made in plain text.
    #[error("not an HTTP response: the server seems to speak TLS (connect with https)")]
    Tls,
    /// The status code is not three digits from 100 to 999 followed by a
    /// space or the end of the line.
    #[error("bad status code")]
    Status,
    /// A header field name is empty, not a token, or followed by whitespace
    /// before the colon; or a line has no colon.
    #[error("bad header field name")]
    HeaderName,
    /// A header field value holds CR, LF, NUL or another control character.
    #[error("bad character in a header field value")]
    HeaderValue,
    /// The first header line starts with whitespace (RFC 9112 §2.2).
    #[error("whitespace before the first header field")]
    LeadingWhitespace,
    /// `Content-Length` is not digits only, or overflows.
    #[error("malformed Content-Length")]
    ContentLength,
    /// Several `Content-Length` values that differ.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3 rule 3).
    #[error("both Transfer-Encoding and Content-Length")]
    TransferEncodingWithContentLength,
    /// `Transfer-Encoding` in an HTTP/1.0 response (RFC 9112 §6.1).
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingOnHttp10,
    /// `Transfer-Encoding` is not a well-formed list of transfer codings
    /// (RFC 9112 §6.1, RFC 9110 §10.1.4): empty, a quoted string or other
    /// non-token bytes where a coding must be, parameters on `chunked`, or
    /// `chunked` applied twice.
    #[error("malformed Transfer-Encoding")]
    TransferEncoding,
    /// A chunk-size line is not hex digits followed by chunk extensions
    /// exactly as RFC 9112 §7.1.1 writes them (`BWS ";" BWS name
    /// [BWS "=" BWS value]`); whitespace after the size without a `;` is
    /// invalid.
    #[error("malformed chunk-size line")]
    ChunkSize,
    /// A chunk size does not fit in 64 bits.
    #[error("chunk size overflows")]
    ChunkSizeOverflow,
    /// Chunk data is not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkDataEnd,
    /// Bytes arrived when no request was waiting for a response.
    #[error("data received with no request in flight")]
    Unsolicited,
    /// Bytes (other than empty lines) after a response that announced the
    /// server closes the connection (`Connection: close`, or HTTP/1.0
    /// without keep-alive): RFC 9112 §9.6 lets nothing follow it.
    #[error("data received after a response that announced Connection: close")]
    AfterClose,
    /// A `101 Switching Protocols` whose `Upgrade` field is missing or
    /// names a protocol the request did not offer (RFC 9110 §7.8).
    #[error("101 Switching Protocols to a protocol the request did not offer")]
    UpgradeNotOffered,
}

/// The first bytes of a response that cannot be HTTP, up to and including
/// the first one that shows it (at most five, as `HTTP/` is five bytes
/// long), shown escaped by its `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arrived {
    bytes: [u8; 5],
    len: u8,
}

impl Arrived {
    /// The first five of `bytes` (all if fewer).
    pub fn new(bytes: &[u8]) -> Self {
        let len = bytes.len().min(5);
        let mut arrived = Arrived {
            bytes: [0; 5],
            len: len as u8,
        };
        arrived.bytes[..len].copy_from_slice(&bytes[..len]);
        arrived
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Display for Arrived {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

/// Valid responses this library will not handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Unsupported {
    /// A transfer coding other than exactly `chunked` (such as `gzip`, or
    /// `chunked, gzip`). The still-coded bytes are never handed over as the
    /// body.
    #[error("transfer coding other than chunked")]
    TransferCoding,
    /// `101 Switching Protocols` to a request that did not ask to upgrade.
    #[error("101 Switching Protocols to a request that did not ask for it")]
    UnrequestedSwitch,
}

/// The limits of a [`Config`](crate::Config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Limit {
    /// [`Config::max_head_bytes`](crate::Config::max_head_bytes).
    #[error("response head longer than {0} bytes")]
    HeadBytes(usize),
    /// [`Config::max_headers`](crate::Config::max_headers).
    #[error("more than {0} header or trailer fields")]
    Headers(usize),
    /// [`Config::max_chunk_line_bytes`](crate::Config::max_chunk_line_bytes).
    #[error("chunk-size line longer than {0} bytes")]
    ChunkLineBytes(usize),
    /// [`Config::max_trailer_bytes`](crate::Config::max_trailer_bytes).
    #[error("trailer section longer than {0} bytes")]
    TrailerBytes(usize),
    /// [`Config::max_informational`](crate::Config::max_informational).
    #[error("more than {0} interim (1xx) responses before a final one")]
    Informational(usize),
}

/// Deadlines that can pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Timeout {
    /// No progress for [`Config::read_timeout`](crate::Config::read_timeout)
    /// while a response was owed.
    #[error("no progress while a response was owed")]
    Read,
    /// No progress for [`Config::write_timeout`](crate::Config::write_timeout)
    /// while request bytes waited to be written.
    #[error("no progress while request bytes waited to be written")]
    Write,
}

/// Parts of a request that can be invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The method is empty or not a token.
    #[error("method is not a token")]
    Method,
    /// The target is empty, holds whitespace, a control or non-ASCII byte,
    /// or is not of a form the method allows (origin-form `/path`,
    /// absolute-form `http://host/path`, authority-form `host:port` for
    /// `CONNECT` only, `*` for `OPTIONS` only).
    #[error("bad request target")]
    Target,
    /// A header (or trailer) field name is empty or not a token.
    #[error("header field name is not a token")]
    HeaderName,
    /// A header (or trailer) field value holds CR, LF, NUL or another
    /// control character (HTAB aside), or starts or ends with whitespace
    /// (RFC 9110 §5.5).
    #[error("header field value holds a control character, or leading/trailing whitespace")]
    HeaderValue,
    /// `Content-Length` or `Transfer-Encoding` was given as a header: the
    /// body argument decides framing, so the two can never disagree.
    #[error("Content-Length and Transfer-Encoding are set from the body, not as headers")]
    FramingHeader,
    /// A trailer field that must not be a trailer (framing, routing or
    /// control fields, RFC 9110 §6.5.1).
    #[error("field not allowed in trailers")]
    ForbiddenTrailer,
}

/// Calls made at the wrong time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A new request while the previous request's body is unfinished (its
    /// head would be read as body bytes).
    #[error("the previous request's body is not finished")]
    BodyUnfinished,
    /// A new request, or body data, while a request waits for
    /// `100 Continue`.
    #[error("a request is waiting for 100 Continue")]
    AwaitingContinue,
    /// Body data or `finish` with no body being sent.
    #[error("no request body is being sent")]
    NoBody,
    /// `finish` for a body that is not chunked, or known-length body still
    /// missing bytes.
    #[error("finish is for chunked bodies only")]
    NotChunked,
    /// Body data for a request the server answered before `100 Continue`:
    /// the body is cancelled.
    #[error("the server answered before 100 Continue; the body is cancelled")]
    BodyCancelled,
    /// A new request on a connection that is closing (`Connection: close`
    /// sent or received, an HTTP/1.0 response, an idle timeout, or the peer
    /// closed).
    #[error("the connection is closing")]
    Closing,
    /// A new request behind a `CONNECT` or upgrade request, or any use of a
    /// connection that has been handed over to another protocol.
    #[error("the connection is being or has been handed over")]
    Upgrading,
    /// Received bytes after the peer's end of stream was reported.
    #[error("bytes received after end of stream")]
    AfterEof,
    /// More body bytes reported as read directly than
    /// [`Connection::direct_read_len`](crate::Connection::direct_read_len)
    /// allowed.
    #[error("more body bytes read directly than allowed")]
    DirectReadTooLong,
}

/// For adapters that implement `std::io::Read`/`Write`: the error becomes
/// the inner error of an [`std::io::Error`] whose kind matches
/// ([`ConnectionAborted`](std::io::ErrorKind::ConnectionAborted) for a
/// closed connection, [`InvalidData`](std::io::ErrorKind::InvalidData) for
/// bad responses, [`TimedOut`](std::io::ErrorKind::TimedOut),
/// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for the caller's
/// mistakes). Get it back with `downcast`.
#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match error.kind() {
            ErrorKind::Closed => Io::ConnectionAborted,
            ErrorKind::Invalid | ErrorKind::Unsupported | ErrorKind::TooLarge => Io::InvalidData,
            ErrorKind::TimedOut => Io::TimedOut,
            ErrorKind::Usage => Io::InvalidInput,
        };
        std::io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_kind_and_fatality() {
        let cases = [
            (Error::ConnectionClosed(Closed::default()), "closed", true),
            (Error::invalid(InvalidResponse::BareLf, 3), "invalid", true),
            (
                Error::UnsupportedResponse(Unsupported::TransferCoding),
                "unsupported",
                true,
            ),
            (Error::TooLarge(Limit::HeadBytes(10)), "too_large", true),
            (Error::TimedOut(Timeout::Read), "timed_out", true),
            (
                Error::InvalidRequest(InvalidRequest::Method),
                "usage",
                false,
            ),
            (Error::State(StateError::NoBody), "usage", false),
            (Error::ExcessBodyData { excess: 1 }, "usage", false),
        ];
        for (error, kind, fatal) in cases {
            assert_eq!(error.kind().as_str(), kind, "{error}");
            assert_eq!(error.is_fatal(), fatal, "{error}");
        }
    }

    #[test]
    fn closed_splits_by_fate() {
        let closed = Closed::new(alloc::vec![
            Unanswered {
                id: RequestId(0),
                fate: Fate::BodyIncomplete
            },
            Unanswered {
                id: RequestId(1),
                fate: Fate::MaybeProcessed
            },
            Unanswered {
                id: RequestId(2),
                fate: Fate::NotProcessed
            },
        ]);
        let ids = |it: &mut dyn Iterator<Item = RequestId>| it.map(|id| id.0).collect::<Vec<_>>();
        assert_eq!(ids(&mut closed.not_processed()), [2]);
        assert_eq!(ids(&mut closed.maybe_processed()), [0, 1]);
        let text = alloc::format!("{}", Error::ConnectionClosed(closed));
        assert!(text.contains("#2: not processed, safe to resend"), "{text}");
    }

    #[cfg(feature = "std")]
    #[test]
    fn converts_to_io_error_and_back() {
        let io: std::io::Error = Error::TimedOut(Timeout::Read).into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        let inner = io.into_inner().and_then(|e| e.downcast::<Error>().ok());
        assert_eq!(inner.as_deref(), Some(&Error::TimedOut(Timeout::Read)));
        let io: std::io::Error = Error::ConnectionClosed(Closed::default()).into();
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionAborted);
    }
}
