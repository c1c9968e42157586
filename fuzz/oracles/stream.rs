//! Oracle of the `stream` fuzz target: one client connection with requests
//! in flight, fed a response stream in pieces.
//!
//! Shared by `fuzz/fuzz_targets/stream.rs` (libFuzzer) and
//! `dugong-proto/tests/fuzz_corpus.rs` (replays the corpus on stable), so it
//! uses only `dugong_proto` and std, and decodes its input by hand.
//!
//! # Input
//!
//! | bytes | meaning |
//! |---|---|
//! | 1 | number of requests sent, `1 + b % 6` |
//! | 1 per request | bits 0-2: method (`GET HEAD POST CONNECT PUT DELETE OPTIONS GET`); bit 3: `Expect: 100-continue` with a body held back; bit 4: `Upgrade`; bit 5: `Connection: close`; bit 6: release a held body at once (`continue_timeout`); bit 7: a body (without `Expect`) |
//! | 4 | limits: `max_head_bytes` `16 + 4 b` (at most 1024); `max_headers` `b % 40` and `max_informational` 64 for `b < 40`, else `b / 40` (1 to 6); `max_chunk_line_bytes` `3 + b % 64`; `max_trailer_bytes` `2 + 2 b` |
//! | 1 | number `k` of piece sizes, `b % 17` |
//! | `k` | piece sizes `1 + b`, used in turn (cycling); `k = 0` means one byte at a time |
//! | 1 | bit 0: end of stream after the input; bits 1-3: how pieces are fed: `receive`, `read_into`, `recv_buf`, those three in turn, direct reads (`direct_read_len` and `note_direct_read` for as much of the piece as allowed, the rest with `receive`), or all four in turn |
//! | rest | the response stream |
//!
//! Missing bytes read as 0, so every input is a case.
//!
//! # Oracles
//!
//! The stream is fed twice to fresh connections: whole in one `receive`,
//! and in the chosen pieces. Each time, after every piece, `poll_event` is
//! called until `Ok(None)` or an error, and the bytes to transmit are
//! drained. Then:
//!
//! - nothing panics, and `poll_event` returns `Some` only finitely often;
//! - memory is bounded: after each round `recv_buf().len()` is at most the
//!   largest configured limit plus the size of the piece just fed;
//! - events obey the protocol: `Continue`, `Informational` and `Headers`
//!   only between responses and for the request whose turn it is (never
//!   more final responses than requests); `Data` (never empty) only between
//!   a `Headers` and its `End`; no `Data` for a HEAD, 204 or 304 response;
//!   never more body than `Content-Length`, and `End` only once exactly that
//!   much arrived; trailers only for chunked bodies; `Upgraded` right after
//!   a 101 to an upgrade request or a 2xx to `CONNECT`, and nothing after
//!   it (further `receive` calls are refused); a 101 to a request that did
//!   not ask to upgrade is never delivered;
//! - at most `max_informational` interim (1xx) responses in a row, and the
//!   `TooLarge` error for the next one names that limit;
//! - after an error nothing else: `poll_event` and `receive` repeat it;
//!   a `ConnectionClosed` lists exactly the requests without a complete
//!   response, the first as "body cut short" iff its head had arrived;
//! - no silent partial data: after end of stream without an error, every
//!   request got its complete response (or the connection was handed over);
//! - the events, with adjacent `Data` merged (and the bytes fed after an
//!   upgrade added to its `rest`), are identical for both ways of feeding
//!   (bytes read directly count as `Data`);
//! - a direct read longer than `direct_read_len` is refused.

use std::fmt;

use dugong_proto::{
    Body, Bytes, Config, Connection, Error, Event, Fate, Headers, Limit, StateError, Version,
};

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "CONNECT", "PUT", "DELETE", "OPTIONS", "GET",
];

/// Reads the input front to back; missing bytes read as 0.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// One request to send, as its input byte.
#[derive(Debug, Clone, Copy)]
struct RequestSpec(u8);

impl RequestSpec {
    fn method(self) -> &'static str {
        METHODS[usize::from(self.0 & 7)]
    }
    fn expect(self) -> bool {
        self.0 & 0x08 != 0
    }
    fn upgrade(self) -> bool {
        self.0 & 0x10 != 0
    }
    fn close(self) -> bool {
        self.0 & 0x20 != 0
    }
    fn release(self) -> bool {
        self.0 & 0x40 != 0
    }
    fn body(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// How one piece is given to the connection.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// `receive`.
    Receive,
    /// `read_into`, offered more room than the piece needs.
    ReadInto,
    /// Appended to `recv_buf`.
    RecvBuf,
    /// As much as `direct_read_len` allows read "directly" by the caller
    /// (`note_direct_read`), the rest with `receive`.
    Direct,
}

const FEEDS: [Feed; 4] = [Feed::Receive, Feed::ReadInto, Feed::RecvBuf, Feed::Direct];

/// A decoded input.
struct Case<'a> {
    requests: Vec<RequestSpec>,
    config: Config,
    /// The largest configured limit on buffered bytes.
    limit: usize,
    sizes: Vec<usize>,
    eof: bool,
    feed: u8,
    stream: &'a [u8],
}

fn decode(data: &[u8]) -> Case<'_> {
    let mut r = Reader { data };
    let n = 1 + usize::from(r.byte() % 6);
    let requests = (0..n).map(|_| RequestSpec(r.byte())).collect();
    let head = (16 + 4 * usize::from(r.byte())).min(1024);
    let fields = r.byte();
    let headers = usize::from(fields % 40);
    let informational = [64, 1, 2, 3, 4, 5, 6][usize::from(fields / 40)];
    let chunk_line = 3 + usize::from(r.byte() % 64);
    let trailer = 2 + 2 * usize::from(r.byte());
    let config = Config::default()
        .with_max_head_bytes(head)
        .with_max_headers(headers)
        .with_max_informational(informational)
        .with_max_chunk_line_bytes(chunk_line)
        .with_max_trailer_bytes(trailer);
    let limit = config
        .max_head_bytes()
        .max(config.max_chunk_line_bytes())
        .max(config.max_trailer_bytes());
    let k = usize::from(r.byte() % 17);
    let mut sizes: Vec<usize> = (0..k).map(|_| 1 + usize::from(r.byte())).collect();
    if sizes.is_empty() {
        sizes.push(1);
    }
    let flags = r.byte();
    Case {
        requests,
        config,
        limit,
        sizes,
        eof: flags & 1 != 0,
        feed: (flags >> 1) & 7,
        stream: r.rest(),
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

/// A response head as compared between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    id: u64,
    version: Version,
    status: u16,
    reason: B,
    headers: Vec<(String, B)>,
}

fn fields(h: &Headers) -> Vec<(String, B)> {
    h.iter()
        .map(|(n, v)| (n.to_owned(), B(v.to_vec())))
        .collect()
}

/// An event (or the error) as compared between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Continue(u64),
    Informational(Head),
    Headers(Head),
    Data(B),
    End(Vec<(String, B)>),
    Upgraded(B),
    Error(Error),
}

fn head(r: &dugong_proto::Response) -> Head {
    Head {
        id: r.id().as_u64(),
        version: r.version(),
        status: r.status(),
        reason: B(r.reason().to_vec()),
        headers: fields(r.headers()),
    }
}

fn convert(event: &Event) -> Ev {
    match event {
        Event::Continue(id) => Ev::Continue(id.as_u64()),
        Event::Informational(r) => Ev::Informational(head(r)),
        Event::Headers(r) => Ev::Headers(head(r)),
        Event::Data(d) => Ev::Data(B(d.to_vec())),
        Event::End { trailers } => Ev::End(fields(trailers)),
        Event::Upgraded { rest } => Ev::Upgraded(B(rest.to_vec())),
        other => panic!("unknown event {other:?}"),
    }
}

/// Merges adjacent `Data` events.
fn merge_data(events: Vec<Ev>) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::with_capacity(events.len());
    for ev in events {
        match (out.last_mut(), ev) {
            (Some(Ev::Data(prev)), Ev::Data(more)) => prev.0.extend_from_slice(&more.0),
            (_, ev) => out.push(ev),
        }
    }
    out
}

/// A request the connection accepted.
#[derive(Debug, Clone, Copy)]
struct Sent {
    id: u64,
    head: bool,
    connect: bool,
    upgrade: bool,
    /// Its body is held for `100 Continue` (it asked, and the body was
    /// not released at once): the only kind of request a `Continue` event
    /// may name, once.
    waits: bool,
}

fn drain(conn: &mut Connection) {
    while conn.poll_transmit().is_some() {}
}

fn send_all(conn: &mut Connection, specs: &[RequestSpec]) -> Vec<Sent> {
    let mut sent = Vec::new();
    for spec in specs {
        let method = spec.method();
        let target = if method == "CONNECT" {
            "example.com:443"
        } else {
            "/"
        };
        let mut headers = vec![("Host", "example.com")];
        if spec.expect() {
            headers.push(("Expect", "100-continue"));
        }
        if spec.upgrade() {
            headers.push(("Connection", "upgrade"));
            headers.push(("Upgrade", "websocket"));
        }
        if spec.close() {
            headers.push(("Connection", "close"));
        }
        let body = if spec.expect() || spec.body() {
            Body::Full(Bytes::from_static(b"hello"))
        } else {
            Body::Empty
        };
        let in_flight = conn.in_flight();
        match conn.send_request(method, target, &headers, body) {
            Ok(id) => sent.push(Sent {
                id: id.as_u64(),
                head: method == "HEAD",
                connect: method == "CONNECT",
                upgrade: spec.upgrade(),
                waits: spec.expect() && !spec.release(),
            }),
            Err(e) => {
                assert!(!e.is_fatal(), "send_request failed fatally: {e}");
                assert_eq!(conn.in_flight(), in_flight, "a refused request counts");
                assert_eq!(conn.transmit_len(), 0, "a refused request queued bytes");
            }
        }
        if spec.release() {
            conn.continue_timeout();
        }
        drain(conn);
    }
    sent
}

/// The body being received.
#[derive(Debug)]
struct BodyTrack {
    bodiless: bool,
    length: Option<u64>,
    chunked: bool,
    received: u64,
}

/// Checks the events of one run against the protocol.
struct Checker<'a> {
    sent: &'a [Sent],
    /// Index in `sent` of the request whose response is being read.
    next: usize,
    /// A `Continue` came for `sent[next]`.
    continued: bool,
    body: Option<BodyTrack>,
    /// A switching head was delivered: `Upgraded` must follow.
    switching: bool,
    upgraded: bool,
    error: Option<Error>,
    /// Interim (1xx) responses since the last final one, and the limit.
    interim: usize,
    max_interim: usize,
}

fn trim(v: &[u8]) -> &[u8] {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// The length a response announces, if it announces exactly one (and is
/// not chunked).
fn content_length(h: &Headers) -> Option<u64> {
    if h.contains("transfer-encoding") {
        return None;
    }
    let mut length = None;
    for value in h.get_all("content-length") {
        for element in value.split(|&b| b == b',').map(trim) {
            if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n: u64 = std::str::from_utf8(element).ok()?.parse().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        }
    }
    length
}

impl Checker<'_> {
    fn turn(&self, id: u64, what: &str) -> Sent {
        assert!(self.body.is_none(), "{what} inside a response body");
        let Some(req) = self.sent.get(self.next) else {
            panic!(
                "{what} with no request left to answer ({} sent)",
                self.sent.len()
            );
        };
        assert_eq!(id, req.id, "{what} for the wrong request");
        *req
    }

    fn event(&mut self, event: &Event) {
        assert!(self.error.is_none(), "event after an error: {event:?}");
        assert!(!self.upgraded, "event after Upgraded: {event:?}");
        if self.switching {
            assert!(
                matches!(event, Event::Upgraded { .. }),
                "a switching head not followed by Upgraded: {event:?}"
            );
        }
        match event {
            Event::Continue(id) => {
                let req = self.turn(id.as_u64(), "Continue");
                assert!(
                    req.waits && !self.continued,
                    "Continue for a request that does not wait for it"
                );
                self.continued = true;
                self.interim();
            }
            Event::Informational(r) => {
                self.turn(r.id().as_u64(), "Informational");
                self.interim();
                assert!(
                    (102..=199).contains(&r.status()),
                    "Informational with status {}",
                    r.status()
                );
            }
            Event::Headers(r) => {
                let req = self.turn(r.id().as_u64(), "Headers");
                self.interim = 0;
                let status = r.status();
                assert!(
                    status == 101 || (200..=999).contains(&status),
                    "Headers with status {status}"
                );
                if status == 101 {
                    assert!(req.upgrade, "101 delivered for a request without Upgrade");
                    self.switching = true;
                } else if req.connect && (200..300).contains(&status) {
                    self.switching = true;
                } else {
                    self.body = Some(BodyTrack {
                        bodiless: req.head || status == 204 || status == 304,
                        length: content_length(r.headers()),
                        chunked: r.headers().contains("transfer-encoding"),
                        received: 0,
                    });
                }
            }
            Event::Data(d) => {
                let Some(body) = self.body.as_mut() else {
                    panic!("Data outside a response body");
                };
                assert!(!d.is_empty(), "empty Data event");
                assert!(!body.bodiless, "Data for a HEAD, 204 or 304 response");
                body.received += d.len() as u64;
                if let Some(n) = body.length {
                    assert!(
                        body.received <= n,
                        "{} body bytes for Content-Length {n}",
                        body.received
                    );
                }
            }
            Event::End { trailers } => {
                let Some(body) = self.body.take() else {
                    panic!("End outside a response body");
                };
                if let (Some(n), false) = (body.length, body.bodiless) {
                    assert_eq!(body.received, n, "End before Content-Length was reached");
                }
                if !body.chunked {
                    assert!(trailers.is_empty(), "trailers without a chunked body");
                }
                self.next += 1;
                self.continued = false;
            }
            Event::Upgraded { .. } => {
                assert!(self.switching, "Upgraded without a switching head");
                self.switching = false;
                self.upgraded = true;
                self.next += 1;
                self.continued = false;
            }
            other => panic!("unknown event {other:?}"),
        }
    }

    fn interim(&mut self) {
        self.interim += 1;
        assert!(
            self.interim <= self.max_interim,
            "{} interim responses in a row, limit {}",
            self.interim,
            self.max_interim
        );
    }

    fn error(&mut self, e: &Error) {
        assert!(self.error.is_none(), "a second error: {e}");
        assert!(!self.upgraded, "an error after Upgraded: {e}");
        assert!(!self.switching, "an error instead of Upgraded: {e}");
        assert!(e.is_fatal(), "poll_event returned a usage error: {e}");
        if let Error::TooLarge(Limit::Informational(n)) = e {
            assert_eq!(*n, self.max_interim, "wrong limit reported");
            // A `100` that no request waits for counts towards the limit
            // but is consumed without an event, so the events seen may be
            // fewer than the limit, never more.
            assert!(self.interim <= *n, "interim limit reported too late");
        }
        if let Error::ConnectionClosed(closed) = e {
            let ids: Vec<u64> = closed.unanswered().iter().map(|u| u.id.as_u64()).collect();
            let owed: Vec<u64> = self.sent[self.next..].iter().map(|s| s.id).collect();
            assert_eq!(ids, owed, "ConnectionClosed lists the wrong requests");
            for (i, u) in closed.unanswered().iter().enumerate() {
                let cut = i == 0 && self.body.is_some();
                assert_eq!(
                    u.fate == Fate::BodyIncomplete,
                    cut,
                    "fate of request {} is {:?}",
                    u.id.as_u64(),
                    u.fate
                );
            }
        }
        self.error = Some(e.clone());
    }
}

/// Polls events until the connection needs more bytes or fails.
fn poll_all(conn: &mut Connection, checker: &mut Checker<'_>, events: &mut Vec<Ev>, cap: usize) {
    if checker.error.is_some() {
        return;
    }
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => {
                checker.event(&event);
                events.push(convert(&event));
                assert!(events.len() <= cap, "more than {cap} events: a loop?");
            }
            Ok(None) => break,
            Err(e) => {
                checker.error(&e);
                assert_eq!(conn.poll_event(), Err(e.clone()), "error not repeated");
                events.push(Ev::Error(e));
                break;
            }
        }
    }
}

/// Reads the start of `piece` "directly" as far as the connection allows,
/// and returns how many bytes that was.
fn direct_read(conn: &mut Connection, piece: &[u8]) -> usize {
    let allowed = conn.direct_read_len();
    if let Some(over) = allowed.checked_add(1).and_then(|n| usize::try_from(n).ok()) {
        assert_eq!(
            conn.note_direct_read(over),
            Err(Error::State(StateError::DirectReadTooLong)),
            "a direct read past direct_read_len was accepted"
        );
    }
    let n = usize::try_from(allowed).map_or(piece.len(), |a| a.min(piece.len()));
    if n > 0 {
        if let Err(e) = conn.note_direct_read(n) {
            panic!("note_direct_read({n}) refused with {allowed} allowed: {e}");
        }
    }
    n
}

fn feed(conn: &mut Connection, piece: &[u8], how: Feed) {
    match how {
        Feed::Receive => {
            if let Err(e) = conn.receive(piece) {
                panic!("receive refused bytes on a live connection: {e}");
            }
        }
        Feed::ReadInto => {
            let n = conn.read_into(piece.len() + 3, |buf| {
                buf[..piece.len()].copy_from_slice(piece);
                Ok::<usize, ()>(piece.len())
            });
            assert_eq!(n, Ok(piece.len()));
        }
        Feed::RecvBuf | Feed::Direct => conn.recv_buf().extend_from_slice(piece),
    }
}

/// Runs the case once, feeding `sizes` bytes at a time (cycling; empty:
/// all at once), and returns the events with adjacent data merged.
fn drive(case: &Case<'_>, sizes: &[usize], feed_mode: u8) -> Vec<Ev> {
    let mut conn = Connection::new(case.config.clone());
    let sent = send_all(&mut conn, &case.requests);
    let mut checker = Checker {
        sent: &sent,
        next: 0,
        continued: false,
        body: None,
        switching: false,
        upgraded: false,
        error: None,
        interim: 0,
        max_interim: case.config.max_informational(),
    };
    // Every event but End (at most one per request without bytes) and the
    // error consumes at least one byte.
    let cap = 2 * case.stream.len() + 2 * sent.len() + 4;
    let mut events = Vec::new();
    let mut tunnel = Vec::new();
    let mut rest = case.stream;
    let mut turn = 0usize;
    while !rest.is_empty() {
        let size = sizes
            .get(turn % sizes.len().max(1))
            .map_or(rest.len(), |&s| s.min(rest.len()));
        let (piece, after) = rest.split_at(size);
        rest = after;
        if let Some(e) = &checker.error {
            assert_eq!(conn.receive(piece).as_ref(), Err(e), "error not repeated");
            break;
        }
        if checker.upgraded {
            tunnel.extend_from_slice(piece);
            assert_eq!(
                conn.receive(piece),
                Err(Error::State(StateError::Upgrading)),
                "bytes accepted after Upgraded"
            );
            continue;
        }
        let how = match feed_mode {
            0 => Feed::Receive,
            1 => Feed::ReadInto,
            2 => Feed::RecvBuf,
            3 => FEEDS[turn % 3],
            4 => Feed::Direct,
            m => FEEDS[(turn + usize::from(m)) % 4],
        };
        if let Feed::Direct = how {
            let n = direct_read(&mut conn, piece);
            if n > 0 {
                // The caller read these body bytes itself: they count as
                // the Data event the connection would have given.
                let data = Event::Data(Bytes::copy_from_slice(&piece[..n]));
                checker.event(&data);
                events.push(convert(&data));
            }
            if n < piece.len() {
                feed(&mut conn, &piece[n..], Feed::Receive);
            }
        } else {
            feed(&mut conn, piece, how);
        }
        poll_all(&mut conn, &mut checker, &mut events, cap);
        drain(&mut conn);
        let held = conn.recv_buf().len();
        assert!(
            held <= case.limit + piece.len(),
            "receive buffer holds {held} bytes (limit {}, piece {})",
            case.limit,
            piece.len()
        );
        turn += 1;
    }
    if case.eof && checker.error.is_none() {
        conn.receive_eof();
        poll_all(&mut conn, &mut checker, &mut events, cap);
        drain(&mut conn);
        if checker.error.is_none() && !checker.upgraded {
            assert!(
                checker.next == sent.len() && checker.body.is_none(),
                "end of stream with {} of {} responses complete and no error",
                checker.next,
                sent.len()
            );
            assert_eq!(conn.in_flight(), 0, "in flight after a clean end of stream");
        }
    }
    if !tunnel.is_empty() {
        match events
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Ev::Upgraded(_)))
        {
            Some(Ev::Upgraded(rest)) => rest.0.extend_from_slice(&tunnel),
            _ => unreachable!("tunnel bytes without Upgraded"),
        }
    }
    merge_data(events)
}

/// Runs the oracle on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let case = decode(data);
    let whole = drive(&case, &[], 0);
    let split = drive(&case, &case.sizes, case.feed);
    assert!(
        whole == split,
        "events depend on the split (sizes {:?}, feed {}):\nwhole: {whole:#?}\nsplit: {split:#?}",
        case.sizes,
        case.feed
    );
}
