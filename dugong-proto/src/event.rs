//! What the connection hands the caller: events, responses, header fields.

use core::fmt;

use bytes::Bytes;

/// Identifies one request on a connection. Ids count up from 0 in the order
/// requests were sent, so responses (which arrive in that order) can be
/// matched to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The id as a number: 0 for the first request of a connection.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// The HTTP version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`, and any later `HTTP/1.x` (read as 1.1, RFC 9110 §2.5).
    Http11,
}

/// Something the connection parsed from the received bytes.
///
/// For each request, in order: any number of [`Continue`](Event::Continue)
/// and [`Informational`](Event::Informational), then
/// [`Headers`](Event::Headers), then either any number of
/// [`Data`](Event::Data) and one [`End`](Event::End), or (after a 2xx to
/// `CONNECT` or a 101 to an upgrade request) one
/// [`Upgraded`](Event::Upgraded).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `100 Continue` for the request with this id, which waits with its
    /// body held back: the body is released for sending. A `100` that no
    /// request waits for (one that did not ask, or whose body the continue
    /// delay already released, see
    /// [`Connection::handle_timeout`](crate::Connection::handle_timeout))
    /// is consumed without an event.
    Continue(RequestId),
    /// An informational (1xx) response other than 100 and 101, such as
    /// `103 Early Hints`.
    Informational(Response),
    /// The head of the final response to a request.
    Headers(Response),
    /// A piece of the response body: a zero-copy slice of the receive
    /// buffer. Pieces may be split anywhere; concatenate them.
    Data(Bytes),
    /// The response body is complete.
    End {
        /// Trailer fields of a chunked body (empty otherwise).
        trailers: Headers,
    },
    /// The connection now speaks another protocol (a 2xx to `CONNECT` or a
    /// `101 Switching Protocols` to an upgrade request). `rest` holds every
    /// byte received after the response head; the caller takes over the
    /// transport and the connection parses nothing more.
    Upgraded {
        /// Bytes that arrived after the response head.
        rest: Bytes,
    },
}

/// A response head: version, status, reason phrase and header fields.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub(crate) id: RequestId,
    pub(crate) version: Version,
    pub(crate) status: u16,
    /// The reason phrase's range within the head (heads are at most
    /// `u32::MAX` bytes: [`Config`](crate::Config) caps the limits).
    pub(crate) reason: (u32, u32),
    pub(crate) headers: Headers,
}

impl Response {
    /// A `100 Continue` head with no fields for request `id`, made up by an
    /// adapter that reports [`Event::Continue`] (which carries no head), or
    /// an expired [continue delay](crate::Config::continue_delay), in the
    /// same place as responses.
    ///
    /// ```
    /// use dugong_proto::{Response, RequestId, Version};
    ///
    /// # let id = dugong_proto::Connection::default()
    /// #     .send_request("GET", "/", [("Host", "a")], dugong_proto::Body::Empty)?;
    /// let head = Response::continue_for(id);
    /// assert_eq!((head.status(), head.reason(), head.version()), (100, &b"Continue"[..], Version::Http11));
    /// assert!(head.headers().is_empty());
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn continue_for(id: RequestId) -> Response {
        Response {
            id,
            version: Version::Http11,
            status: 100,
            reason: (0, 8),
            headers: Headers {
                buf: Bytes::from_static(b"Continue"),
                first: 8,
                len: 0,
            },
        }
    }

    /// The request this responds to.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The HTTP version the server spoke.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code, 100 to 999. A code the caller does not know (such
    /// as 600 to 999) is to be treated as the `x00` code of its class, and
    /// one above 599 as a server error (RFC 9110 §15).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// True for a final response (status 200 and up); false for an
    /// interim one (1xx), such as the `100 Continue` a connection hands
    /// out when a held body was released ([`continue_for`](Self::continue_for)).
    ///
    /// ```
    /// # let id = dugong_proto::Connection::default()
    /// #     .send_request("GET", "/", [("Host", "a")], dugong_proto::Body::Empty)?;
    /// assert!(!dugong_proto::Response::continue_for(id).is_final());
    /// # Ok::<(), dugong_proto::Error>(())
    /// ```
    pub fn is_final(&self) -> bool {
        self.status >= 200
    }

    /// The reason phrase as received (latin-1; possibly empty).
    pub fn reason(&self) -> &[u8] {
        &self.headers.buf[self.reason.0 as usize..self.reason.1 as usize]
    }

    /// The header fields, in the order received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("status", &self.status)
            .field("reason", &Latin1(self.reason()))
            .field("headers", &self.headers)
            .finish()
    }
}

/// Header (or trailer) fields in the order received; the same name may
/// appear more than once. Names are tokens (ASCII); values are bytes, to be
/// read as latin-1, with leading and trailing whitespace removed and any
/// obs-fold (with the whitespace around it) replaced by one space.
///
/// The fields are the received head itself, validated once when it was
/// parsed: holding them costs no copy and no allocation, and each lookup
/// reads the field lines again.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// The section's bytes: the status line (of a head), the field lines
    /// and the empty line.
    pub(crate) buf: Bytes,
    /// Where the first field line starts in `buf`. (32 bits, as the
    /// section's limits are: a smaller `Event` is cheaper to hand out.)
    pub(crate) first: u32,
    /// The number of fields.
    pub(crate) len: u32,
}

impl Headers {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All fields as `(name, value)`, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.raw_iter().map(|(name, value)| {
            // Invariant: names were checked to be tokens, which are ASCII.
            (core::str::from_utf8(name).unwrap_or_default(), value)
        })
    }

    /// The value of the first field named `name` (compared ASCII
    /// case-insensitively).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.raw_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// The values of every field named `name` (compared ASCII
    /// case-insensitively), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.raw_iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// True if a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All fields as raw `(name, value)` bytes.
    pub(crate) fn raw_iter(&self) -> FieldLines<'_> {
        FieldLines {
            rest: self.buf.get(self.first as usize..).unwrap_or_default(),
            left: self.len as usize,
        }
    }
}

/// Reads validated field lines (`name ":" OWS value OWS CRLF`, obs-folds
/// already replaced by one space and trailing spaces) one by one.
pub(crate) struct FieldLines<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for FieldLines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Invariant: the scan checked each line: a token, a colon, a value
        // without CR or LF, then CRLF.
        let lf = memchr::memchr(b'\n', self.rest)?;
        let line = &self.rest[..lf.saturating_sub(1)];
        self.rest = &self.rest[lf + 1..];
        let colon = memchr::memchr(b':', line)?;
        let value = &line[colon + 1..];
        let start = value
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(start, |i| i + 1);
        Some((&line[..colon], &value[start..end]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| (n, Latin1(v))))
            .finish()
    }
}

/// Shows bytes as latin-1 text.
struct Latin1<'a>(&'a [u8]);

impl fmt::Debug for Latin1<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            let c = char::from(b);
            if c == '"' || c == '\\' || !(' '..='~').contains(&c) && b < 0xa0 {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        f.write_str("\"")
    }
}
