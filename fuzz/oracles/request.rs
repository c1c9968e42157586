//! Oracle of the `request` fuzz target: requests out, parsed back by a
//! server-side parser.
//!
//! Shared by `fuzz/fuzz_targets/request.rs` (libFuzzer) and
//! `dugong-proto/tests/fuzz_corpus.rs` (replays the corpus on stable).
//!
//! # Input
//!
//! A first byte: bits 0-1, the number of requests (1 to 4); bits 2-3, the
//! connection's default `Host` (`set_host`): none, `example.com`, one with
//! a DEL byte, or one with whitespace at both ends; bit 4, whether secret
//! spans are tracked (`set_track_secrets`). Then each request, decoded from
//! the bytes in turn (missing bytes read as 0):
//!
//! - method: a byte below 224 picks one of [`METHODS`], else a string;
//! - target: a byte below 192 picks one of [`TARGETS`], else a string;
//! - `b % 8` header fields: name (a byte below 200 picks one of [`NAMES`],
//!   else a string) and value (a byte below 160 picks one of [`VALUES`],
//!   else raw bytes);
//! - the body: a byte whose bits 0-1 choose `Empty`, `Full`, `Sized` with
//!   pieces, or `Chunked` with pieces and trailers, bit 2 whether a body
//!   held for `100 Continue` is left held (else `continue_timeout` releases
//!   it), and bits 4-7 how far `Sized` is off the pieces' total (-2..=2,
//!   the missing bytes then sent as zeros); then the contents.
//!
//! A string is a length byte (`% 12`) and that many bytes, each read as a
//! latin-1 character (so bytes 0x80 and up become non-ASCII characters).
//!
//! # Oracles
//!
//! - Every call that fails (`send_request`, `send_body`, `finish`) fails
//!   with a usage error, queues nothing for transmit, and leaves the
//!   requests in flight as they were; an `InvalidRequest` names something
//!   really wrong with what was given (a method or field name that is not a
//!   token, a bad field value, a framing header, a forbidden trailer, a
//!   target that is not of a plain form), and a request that is accepted
//!   has nothing of these wrong. `ExcessBodyData` says by how much.
//! - Everything transmitted parses back with `httparse::Request::parse`
//!   (and a chunked decoder written here), request after request, to the
//!   same method, target, version 1.1, header fields in order plus the
//!   fields dugong adds: `Host` when none was given (the target for
//!   `CONNECT`, else the default `Host` if set), then the framing field
//!   (`Content-Length` for `Full` and `Sized`, `Transfer-Encoding: chunked`
//!   for `Chunked`); then the body and trailers, with no byte left over. A
//!   body held for `100 Continue` and never released is not sent at all.
//! - With secret tracking on, the secret spans reported right after each
//!   accepted request cover exactly the values of its `Authorization`,
//!   `Proxy-Authorization` and `Cookie` fields on the wire; a refused call
//!   reports none.

use std::fmt;

use dugong_proto::{Body, Bytes, Connection, Error, InvalidRequest, StateError};

/// Methods picked by a selector byte.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
];

/// Targets picked by a selector byte.
const TARGETS: [&str; 12] = [
    "/",
    "/a/b?c=d&e",
    "*",
    "http://example.com/x",
    "example.com:443",
    "/%7E~!$&'()*+,;=:@",
    "//x",
    "HTTP://EXAMPLE.COM:80",
    "[::1]:8080",
    "a:b",
    "/a b",
    "/{}|\\^`\"<>",
];

/// Field names picked by a selector byte.
const NAMES: [&str; 17] = [
    "Host",
    "Expect",
    "Connection",
    "Upgrade",
    "Content-Length",
    "transfer-encoding",
    "X-Custom",
    "Accept",
    "Trailer",
    "TE",
    "Content-Type",
    "x",
    "Server-Timing",
    "!#$%&'*+-.^_`|~",
    "Authorization",
    "cookie",
    "Proxy-Authorization",
];

/// A default `Host` with whitespace at its ends, which must be refused
/// (finding 1 of `fuzz/README.md`, reproduced by
/// `fuzz/regressions/request/default-host-whitespace`).
const SPACED_HOST: &[u8] = b" spaced.example ";

/// Default `Host` values picked by the first byte.
const HOSTS: [Option<&[u8]>; 4] = [
    None,
    Some(b"example.com"),
    Some(b"bad\x7fhost"),
    Some(SPACED_HOST),
];

/// Fields whose values are secret spans.
const SECRETS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Field values picked by a selector byte.
const VALUES: [&[u8]; 16] = [
    b"example.com",
    b"100-continue",
    b"close",
    b"upgrade",
    b"websocket",
    b"chunked",
    b"0",
    b"",
    b" leading",
    b"trailing\t",
    b"a\tb c",
    b"caf\xe9",
    b"keep-alive, close",
    b"\x01",
    b"a\r\nb",
    b"\x7f",
];

/// Fields that must not be sent as trailers (RFC 9110 §6.5.1, as
/// `InvalidRequest::ForbiddenTrailer` documents them).
const FORBIDDEN_TRAILERS: [&str; 14] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "authorization",
    "proxy-authorization",
    "content-encoding",
    "content-type",
    "content-range",
];

/// Reads the input front to back; missing bytes read as 0.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let n = len.min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken.to_vec()
    }

    /// A length byte (`% modulo`) and that many bytes.
    fn blob(&mut self, modulo: u8) -> Vec<u8> {
        let len = usize::from(self.byte() % modulo);
        self.bytes(len)
    }

    fn string(&mut self) -> String {
        self.blob(12).into_iter().map(char::from).collect()
    }
}

/// Bytes, shown escaped.
#[derive(Clone, PartialEq, Eq)]
struct B(Vec<u8>);

impl fmt::Debug for B {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

#[derive(Debug, Clone)]
enum BodySpec {
    Empty,
    Full(Vec<u8>),
    Sized {
        declared: u64,
        pieces: Vec<Vec<u8>>,
    },
    Chunked {
        pieces: Vec<Vec<u8>>,
        trailers: Vec<(String, Vec<u8>)>,
    },
}

#[derive(Debug, Clone)]
struct RequestSpec {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: BodySpec,
    keep_held: bool,
}

fn field(r: &mut Reader<'_>) -> (String, Vec<u8>) {
    let sel = r.byte();
    let name = if sel < 200 {
        NAMES[usize::from(sel) % NAMES.len()].to_owned()
    } else {
        r.string()
    };
    let sel = r.byte();
    let value = if sel < 160 {
        VALUES[usize::from(sel) % VALUES.len()].to_vec()
    } else {
        r.blob(24)
    };
    (name, value)
}

fn pieces(r: &mut Reader<'_>) -> Vec<Vec<u8>> {
    let n = r.byte() % 5;
    (0..n).map(|_| r.blob(20)).collect()
}

/// A decoded input.
#[derive(Debug)]
struct Case {
    default_host: Option<&'static [u8]>,
    track_secrets: bool,
    requests: Vec<RequestSpec>,
}

fn decode(data: &[u8]) -> Case {
    let mut r = Reader { data };
    let first = r.byte();
    let n = 1 + first % 4;
    let mut requests = Vec::new();
    for _ in 0..n {
        let sel = r.byte();
        let method = if sel < 224 {
            METHODS[usize::from(sel) % METHODS.len()].to_owned()
        } else {
            r.string()
        };
        let sel = r.byte();
        let target = if sel < 192 {
            TARGETS[usize::from(sel) % TARGETS.len()].to_owned()
        } else {
            r.string()
        };
        let count = r.byte() % 8;
        let headers = (0..count).map(|_| field(&mut r)).collect();
        let kind = r.byte();
        let body = match kind & 3 {
            0 => BodySpec::Empty,
            1 => BodySpec::Full(r.blob(32)),
            2 => {
                let pieces = pieces(&mut r);
                let total: u64 = pieces.iter().map(|p| p.len() as u64).sum();
                let delta = i64::from(kind >> 4) % 5 - 2;
                BodySpec::Sized {
                    declared: total.saturating_add_signed(delta),
                    pieces,
                }
            }
            _ => {
                let pieces = pieces(&mut r);
                let count = r.byte() % 3;
                let trailers = (0..count).map(|_| field(&mut r)).collect();
                BodySpec::Chunked { pieces, trailers }
            }
        };
        requests.push(RequestSpec {
            method,
            target,
            headers,
            body,
            keep_held: kind & 4 != 0,
        });
    }
    Case {
        default_host: HOSTS[usize::from((first >> 2) & 3)],
        track_secrets: first & 0x10 != 0,
        requests,
    }
}

// ----- what is valid ---------------------------------------------------

const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || TCHAR.contains(b))
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A field value dugong must accept: field-vchar, SP, HTAB, obs-text, and
/// no whitespace at either end (RFC 9110 §5.5).
fn value_ok(v: &[u8]) -> bool {
    let byte_ok = |&b: &u8| is_ows(b) || (0x21..=0x7e).contains(&b) || b >= 0x80;
    v.iter().all(byte_ok)
        && !v.first().is_some_and(|&b| is_ows(b))
        && !v.last().is_some_and(|&b| is_ows(b))
}

fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

/// True for targets of a form that must be accepted: origin-form for any
/// method but `CONNECT`, `*` for `OPTIONS`, `host:port` with a plain host
/// for `CONNECT`.
fn plainly_valid_target(method: &str, target: &str) -> bool {
    let t = target.as_bytes();
    let visible = !t.is_empty() && t.iter().all(|b| (0x21..=0x7e).contains(b));
    if !visible {
        return false;
    }
    match method {
        "CONNECT" => match target.rsplit_once(':') {
            Some((host, port)) => {
                !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        },
        _ if target == "*" => method == "OPTIONS",
        _ => t[0] == b'/',
    }
}

/// True for targets that could be valid at all: visible ASCII, and of a
/// shape the method allows (`CONNECT`: has a port; `*`: `OPTIONS` only;
/// others: origin-form or something with a scheme).
fn possibly_valid_target(method: &str, target: &str) -> bool {
    let t = target.as_bytes();
    let visible = !t.is_empty() && t.iter().all(|b| (0x21..=0x7e).contains(b));
    visible
        && match method {
            "CONNECT" => t.contains(&b':') && !t.contains(&b'/'),
            _ if target == "*" => method == "OPTIONS",
            _ => t[0] == b'/' || t.contains(&b':'),
        }
}

/// The `Host` dugong must add: none if the request has one, else the target
/// of a `CONNECT`, else the connection's default.
fn added_host(spec: &RequestSpec, default: Option<&[u8]>) -> Option<Vec<u8>> {
    if spec
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        None
    } else if spec.method == "CONNECT" {
        Some(spec.target.as_bytes().to_vec())
    } else {
        default.map(<[u8]>::to_vec)
    }
}

/// Checks that an `InvalidRequest` from `send_request` is justified, or
/// (for `None`) that an accepted request is valid.
fn check_request_verdict(spec: &RequestSpec, host: Option<&[u8]>, error: Option<InvalidRequest>) {
    let method_ok = is_token(spec.method.as_bytes());
    let names_ok = spec.headers.iter().all(|(n, _)| is_token(n.as_bytes()));
    let values_ok = spec.headers.iter().all(|(_, v)| value_ok(v)) && host.map_or(true, value_ok);
    let no_framing = !spec.headers.iter().any(|(n, _)| is_framing(n.as_bytes()));
    let why = format!("{spec:?} (Host added: {:?})", host.map(|h| B(h.to_vec())));
    match error {
        None => {
            assert!(method_ok, "accepted a method that is not a token: {why}");
            assert!(
                possibly_valid_target(&spec.method, &spec.target),
                "accepted a bad target: {why}"
            );
            assert!(names_ok, "accepted a field name that is not a token: {why}");
            assert!(values_ok, "accepted a bad field value: {why}");
            assert!(no_framing, "accepted a framing header: {why}");
        }
        Some(InvalidRequest::Method) => assert!(!method_ok, "Method error for {why}"),
        Some(InvalidRequest::Target) => assert!(
            !plainly_valid_target(&spec.method, &spec.target),
            "Target error for {why}"
        ),
        Some(InvalidRequest::HeaderName) => assert!(!names_ok, "HeaderName error for {why}"),
        Some(InvalidRequest::HeaderValue) => assert!(!values_ok, "HeaderValue error for {why}"),
        Some(InvalidRequest::FramingHeader) => {
            assert!(!no_framing, "FramingHeader error for {why}")
        }
        Some(other) => panic!("send_request failed with {other:?} for {why}"),
    }
}

fn check_trailer_verdict(trailers: &[(String, Vec<u8>)], error: Option<InvalidRequest>) {
    let names_ok = trailers.iter().all(|(n, _)| is_token(n.as_bytes()));
    let values_ok = trailers.iter().all(|(_, v)| value_ok(v));
    let forbidden = trailers
        .iter()
        .any(|(n, _)| FORBIDDEN_TRAILERS.iter().any(|f| n.eq_ignore_ascii_case(f)));
    match error {
        None => assert!(
            names_ok && values_ok && !forbidden,
            "accepted bad trailers {trailers:?}"
        ),
        Some(InvalidRequest::HeaderName) => assert!(!names_ok, "HeaderName for {trailers:?}"),
        Some(InvalidRequest::HeaderValue) => assert!(!values_ok, "HeaderValue for {trailers:?}"),
        Some(InvalidRequest::ForbiddenTrailer) => {
            assert!(forbidden, "ForbiddenTrailer for {trailers:?}")
        }
        Some(other) => panic!("finish failed with {other:?} for {trailers:?}"),
    }
}

// ----- driving ---------------------------------------------------------

/// What a request must read back as.
#[derive(Debug)]
struct Expected {
    method: String,
    target: String,
    headers: Vec<(B, B)>,
    framing: Framing,
    /// False if the body was held for `100 Continue` and never released.
    body_sent: bool,
    body: B,
    trailers: Vec<(B, B)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// The connection and everything it transmitted.
struct Driver {
    conn: Connection,
    wire: Vec<u8>,
    default_host: Option<&'static [u8]>,
    /// Secret spans reported, and the values they must cover.
    spans: Vec<std::ops::Range<u64>>,
    secrets: Vec<B>,
}

impl Driver {
    fn take(&mut self) {
        while let Some(segment) = self.conn.poll_transmit() {
            self.wire.extend_from_slice(&segment);
        }
    }

    /// Checks that a failed call changed nothing it may not change.
    fn refused(&self, e: &Error, in_flight: usize, call: &str) {
        assert!(!e.is_fatal(), "{call} failed fatally: {e}");
        assert_eq!(
            self.conn.secret_spans().count(),
            0,
            "{call} failed ({e}) but left secret spans"
        );
        assert_eq!(
            self.conn.transmit_len(),
            0,
            "{call} failed ({e}) but queued bytes"
        );
        assert_eq!(
            self.conn.in_flight(),
            in_flight,
            "{call} failed ({e}) but changed what is in flight"
        );
    }

    fn send_body(&mut self, piece: &[u8]) -> Result<(), Error> {
        let in_flight = self.conn.in_flight();
        let result = self.conn.send_body(Bytes::copy_from_slice(piece));
        match &result {
            Ok(()) => self.take(),
            Err(e) => self.refused(e, in_flight, "send_body"),
        }
        result
    }

    fn request(&mut self, spec: &RequestSpec) -> Option<Expected> {
        let (body, framing) = match &spec.body {
            BodySpec::Empty => (Body::Empty, Framing::None),
            BodySpec::Full(b) => (
                Body::Full(Bytes::copy_from_slice(b)),
                Framing::Length(b.len() as u64),
            ),
            BodySpec::Sized { declared, .. } => {
                (Body::Sized(*declared), Framing::Length(*declared))
            }
            BodySpec::Chunked { .. } => (Body::Chunked, Framing::Chunked),
        };
        let in_flight = self.conn.in_flight();
        let awaiting = self.conn.awaiting_continue().is_some();
        let host = added_host(spec, self.default_host);
        match self
            .conn
            .send_request(&spec.method, &spec.target, &spec.headers, body)
        {
            Ok(_) => {
                check_request_verdict(spec, host.as_deref(), None);
                self.spans.extend(self.conn.secret_spans());
                self.secrets.extend(
                    spec.headers
                        .iter()
                        .filter(|(n, _)| SECRETS.iter().any(|s| n.eq_ignore_ascii_case(s)))
                        .map(|(_, v)| B(v.clone())),
                );
            }
            Err(e) => {
                self.refused(&e, in_flight, "send_request");
                match e {
                    Error::InvalidRequest(kind) => {
                        check_request_verdict(spec, host.as_deref(), Some(kind));
                    }
                    Error::State(StateError::AwaitingContinue) => {
                        assert!(awaiting, "AwaitingContinue with no body held");
                    }
                    Error::State(_) => {}
                    other => panic!("send_request failed with {other}"),
                }
                return None;
            }
        }
        self.take();
        let mut headers: Vec<(B, B)> = spec
            .headers
            .iter()
            .map(|(n, v)| (B(n.as_bytes().to_vec()), B(v.clone())))
            .collect();
        if let Some(host) = host {
            headers.push((B(b"Host".to_vec()), B(host)));
        }
        match framing {
            Framing::None => {}
            Framing::Length(n) => {
                headers.push((B(b"Content-Length".to_vec()), B(n.to_string().into_bytes())))
            }
            Framing::Chunked => {
                headers.push((B(b"Transfer-Encoding".to_vec()), B(b"chunked".to_vec())))
            }
        }
        let mut expected = Expected {
            method: spec.method.clone(),
            target: spec.target.clone(),
            headers,
            framing,
            body_sent: true,
            body: B(Vec::new()),
            trailers: Vec::new(),
        };
        if self.conn.awaiting_continue().is_some() {
            let e = self
                .send_body(b"early")
                .expect_err("body accepted while held");
            assert_eq!(e, Error::State(StateError::AwaitingContinue));
            if spec.keep_held {
                expected.body_sent = false;
                return Some(expected);
            }
            assert!(
                self.conn.continue_timeout(),
                "continue_timeout released nothing"
            );
            self.take();
        }
        match &spec.body {
            BodySpec::Empty => {}
            BodySpec::Full(b) => expected.body.0.clone_from(b),
            BodySpec::Sized { declared, pieces } => {
                let mut sent = 0u64;
                for piece in pieces {
                    let len = piece.len() as u64;
                    let remaining = declared - sent;
                    match self.send_body(piece) {
                        Ok(()) if remaining > 0 && len <= remaining => {
                            sent += len;
                            expected.body.0.extend_from_slice(piece);
                        }
                        Err(Error::ExcessBodyData { excess }) if remaining > 0 => {
                            assert_eq!(excess, len - remaining, "ExcessBodyData miscounted");
                        }
                        // The body is complete: no body is being sent.
                        Err(Error::State(StateError::NoBody)) if remaining == 0 => {}
                        other => {
                            panic!("send_body of {len} bytes with {remaining} owed: {other:?}")
                        }
                    }
                }
                let missing = declared - sent;
                if missing > 0 {
                    let in_flight = self.conn.in_flight();
                    let e = self
                        .conn
                        .finish([("X", "y")])
                        .expect_err("finish ended a sized body");
                    self.refused(&e, in_flight, "finish");
                    let padding = vec![0; missing as usize];
                    if let Err(e) = self.send_body(&padding) {
                        panic!("send_body failed with {e}");
                    }
                    expected.body.0.extend_from_slice(&padding);
                }
            }
            BodySpec::Chunked { pieces, trailers } => {
                for piece in pieces {
                    if let Err(e) = self.send_body(piece) {
                        panic!("send_body failed with {e}");
                    }
                    expected.body.0.extend_from_slice(piece);
                }
                let in_flight = self.conn.in_flight();
                match self.conn.finish(trailers) {
                    Ok(()) => {
                        check_trailer_verdict(trailers, None);
                        expected.trailers = trailers
                            .iter()
                            .map(|(n, v)| (B(n.as_bytes().to_vec()), B(v.clone())))
                            .collect();
                    }
                    Err(e) => {
                        self.refused(&e, in_flight, "finish");
                        match e {
                            Error::InvalidRequest(kind) => {
                                check_trailer_verdict(trailers, Some(kind))
                            }
                            other => panic!("finish failed with {other}"),
                        }
                        let none: [(&str, &str); 0] = [];
                        if let Err(e) = self.conn.finish(none) {
                            panic!("finish without trailers failed with {e}");
                        }
                    }
                }
                self.take();
            }
        }
        assert!(!self.conn.is_sending_body(), "body still owed");
        Some(expected)
    }
}

// ----- reading back ----------------------------------------------------

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Decodes a chunked body from the start of `buf`: the body, the trailers
/// and the number of bytes used.
fn decode_chunked(buf: &[u8]) -> (Vec<u8>, Vec<(B, B)>, usize) {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = find_crlf(&buf[pos..]) else {
            panic!("chunk-size line without CRLF");
        };
        let line = &buf[pos..pos + eol];
        assert!(
            !line.is_empty() && line.iter().all(u8::is_ascii_hexdigit),
            "bad chunk-size line b\"{}\"",
            line.escape_ascii()
        );
        let size = usize::from_str_radix(std::str::from_utf8(line).unwrap_or("x"), 16)
            .unwrap_or_else(|_| panic!("chunk size overflows"));
        pos += eol + 2;
        if size == 0 {
            break;
        }
        let data = buf.get(pos..pos + size).expect("chunk data cut short");
        body.extend_from_slice(data);
        pos += size;
        assert_eq!(
            buf.get(pos..pos + 2),
            Some(&b"\r\n"[..]),
            "chunk data not followed by CRLF"
        );
        pos += 2;
    }
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let (used, trailers) = match httparse::parse_headers(&buf[pos..], &mut fields) {
        Ok(httparse::Status::Complete((used, trailers))) => (used, trailers),
        other => panic!("trailer section does not parse: {other:?}"),
    };
    let trailers = trailers
        .iter()
        .map(|h| (B(h.name.as_bytes().to_vec()), B(h.value.to_vec())))
        .collect();
    (body, trailers, pos + used)
}

/// Parses one request from the start of `buf`, checks it against
/// `expected`, and returns the number of bytes it took.
fn read_back(buf: &[u8], expected: &Expected) -> usize {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut fields);
    let used = match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        other => panic!(
            "httparse reads {other:?} from b\"{}\" (expected {expected:?})",
            buf.escape_ascii()
        ),
    };
    assert_eq!(request.method, Some(expected.method.as_str()), "method");
    assert_eq!(request.path, Some(expected.target.as_str()), "target");
    assert_eq!(request.version, Some(1), "version");
    let headers: Vec<(B, B)> = request
        .headers
        .iter()
        .map(|h| (B(h.name.as_bytes().to_vec()), B(h.value.to_vec())))
        .collect();
    assert_eq!(headers, expected.headers, "header fields");
    let mut pos = used;
    if !expected.body_sent {
        return pos;
    }
    match expected.framing {
        Framing::None => {}
        Framing::Length(n) => {
            let n = n as usize;
            let body = buf.get(pos..pos + n).expect("body cut short");
            assert_eq!(B(body.to_vec()), expected.body, "body");
            pos += n;
        }
        Framing::Chunked => {
            let (body, trailers, used) = decode_chunked(&buf[pos..]);
            assert_eq!(B(body), expected.body, "chunked body");
            assert_eq!(trailers, expected.trailers, "trailers");
            pos += used;
        }
    }
    pos
}

/// Runs the oracle on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let case = decode(data);
    let mut conn = Connection::default();
    conn.set_host(case.default_host.map(Bytes::from_static));
    conn.set_track_secrets(case.track_secrets);
    let mut driver = Driver {
        conn,
        wire: Vec::new(),
        default_host: case.default_host,
        spans: Vec::new(),
        secrets: Vec::new(),
    };
    let expected: Vec<Expected> = case
        .requests
        .iter()
        .filter_map(|s| driver.request(s))
        .collect();
    assert_eq!(driver.conn.transmit_len(), 0);
    if case.track_secrets {
        let covered: Vec<B> = driver
            .spans
            .iter()
            .map(|r| B(driver.wire[r.start as usize..r.end as usize].to_vec()))
            .collect();
        assert_eq!(
            covered, driver.secrets,
            "secret spans cover the wrong bytes"
        );
    } else {
        assert!(driver.spans.is_empty(), "secret spans while not tracking");
    }
    let mut pos = 0;
    for e in &expected {
        pos += read_back(&driver.wire[pos..], e);
    }
    assert_eq!(
        pos,
        driver.wire.len(),
        "bytes left over: b\"{}\"",
        driver.wire[pos..].escape_ascii()
    );
}
