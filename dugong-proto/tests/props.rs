//! Property tests of a whole connection.
//!
//! - `split_invariance`: a generated, valid, pipelined response stream gives
//!   exactly the events it was built to give, whether it arrives whole, in
//!   pieces cut at arbitrary points, or byte by byte.
//! - `prefix_then_eof`: any prefix of such a stream followed by the end of
//!   stream gives the events of the bytes received, then exactly the
//!   [`Error::ConnectionClosed`] the cut implies (or nothing, or the `End`
//!   of a close-delimited body), and never an `End` for a body cut short.
//! - `request_round_trip`: requests encode to bytes that a server-side parser
//!   (httparse and a chunked decoder written here) reads back identically.
//! - `request_injection` / `trailer_injection`: method, target and field
//!   strings holding CR, LF, NUL, whitespace or other bytes where not allowed
//!   are refused with [`Error::InvalidRequest`] and nothing is queued;
//!   whatever is accepted parses back to exactly the fields given.
//!
//! 256 cases each; the whole file runs in about a second in a debug build.

mod common;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use dugong_proto::{
    Body, Bytes, Connection, Error, Event, Fate, Headers, InvalidRequest, Response, Version,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Only this file is ours: no `proptest-regressions/` next to it.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ===== bytes ===============================================================

/// The tchar of RFC 9110 §5.6.2.
const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| TCHAR.contains(b))
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// field-vchar, SP or HTAB (RFC 9110 §5.5).
fn is_field_byte(b: u8) -> bool {
    is_ws(b) || (0x21..=0x7e).contains(&b) || b >= 0x80
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| !is_ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|&b| !is_ws(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// Bytes, shown escaped.
#[derive(Clone, PartialEq, Eq)]
struct B(Vec<u8>);

impl fmt::Debug for B {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// An expected field value: exact bytes, or (for a value with obs-fold) the
/// non-empty pieces that must appear joined by runs of SP (RFC 9112 §5.2: a
/// user agent "MUST ... replace each received obs-fold with one or more SP
/// octets"; obs-fold = OWS CRLF RWS, so the whitespace around the line break
/// is part of what is replaced).
#[derive(Clone, Debug)]
enum Val {
    Exact(B),
    Folded(Vec<B>),
}

fn unfolds_to(actual: &[u8], pieces: &[B]) -> bool {
    let mut rest = actual;
    for (k, piece) in pieces.iter().enumerate() {
        if k > 0 {
            let spaces = rest.iter().take_while(|&&b| b == b' ').count();
            if spaces == 0 {
                return false;
            }
            rest = &rest[spaces..];
        }
        match rest.strip_prefix(&piece.0[..]) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Exact(a), Val::Exact(b)) => a == b,
            (Val::Exact(a), Val::Folded(p)) | (Val::Folded(p), Val::Exact(a)) => {
                unfolds_to(&a.0, p)
            }
            (Val::Folded(a), Val::Folded(b)) => a == b,
        }
    }
}

type Fields = Vec<(String, Val)>;

// ===== events, owned and comparable ========================================

#[derive(Clone, Debug, PartialEq)]
struct Head {
    id: u64,
    version: Version,
    status: u16,
    reason: B,
    headers: Fields,
}

#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Continue(u64),
    Info(Head),
    Headers(Head),
    Data(B),
    End(Fields),
    Upgraded(B),
    /// `Err(Error::ConnectionClosed(c))`: `c.unanswered()` as (id, fate).
    Closed(Vec<(u64, Fate)>),
    Error(Error),
    Other(String),
}

fn fields_of(h: &Headers) -> Fields {
    h.iter()
        .map(|(n, v)| (n.to_string(), Val::Exact(B(v.to_vec()))))
        .collect()
}

fn head_of(r: &Response) -> Head {
    Head {
        id: r.id().as_u64(),
        version: r.version(),
        status: r.status(),
        reason: B(r.reason().to_vec()),
        headers: fields_of(r.headers()),
    }
}

fn convert(events: Vec<Result<Event, Error>>) -> Vec<Ev> {
    events
        .into_iter()
        .map(|e| match e {
            Ok(Event::Continue(id)) => Ev::Continue(id.as_u64()),
            Ok(Event::Informational(r)) => Ev::Info(head_of(&r)),
            Ok(Event::Headers(r)) => Ev::Headers(head_of(&r)),
            Ok(Event::Data(d)) => Ev::Data(B(d.to_vec())),
            Ok(Event::End { trailers }) => Ev::End(fields_of(&trailers)),
            Ok(Event::Upgraded { rest }) => Ev::Upgraded(B(rest.to_vec())),
            Ok(other) => Ev::Other(format!("{other:?}")),
            Err(Error::ConnectionClosed(c)) => Ev::Closed(
                c.unanswered()
                    .iter()
                    .map(|u| (u.id.as_u64(), u.fate))
                    .collect(),
            ),
            Err(e) => Ev::Error(e),
        })
        .collect()
}

/// Merges adjacent `Data`, as `common::normalize` does for real events.
fn merge_data(events: Vec<Ev>) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::with_capacity(events.len());
    for e in events {
        if let (Some(Ev::Data(prev)), Ev::Data(next)) = (out.last_mut(), &e) {
            prev.0.extend_from_slice(&next.0);
            continue;
        }
        out.push(e);
    }
    out
}

// ===== response scenarios ==================================================

#[derive(Debug, Clone)]
struct FieldSpec {
    name: String,
    pre: Vec<u8>,
    raw: Vec<u8>,
    post: Vec<u8>,
    /// obs-fold continuation lines: (leading whitespace, rest of the line).
    folds: Vec<(Vec<u8>, Vec<u8>)>,
}

impl FieldSpec {
    fn wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&self.pre);
        out.extend_from_slice(&self.raw);
        out.extend_from_slice(&self.post);
        out.extend_from_slice(b"\r\n");
        for (ws, rest) in &self.folds {
            out.extend_from_slice(ws);
            out.extend_from_slice(rest);
            out.extend_from_slice(b"\r\n");
        }
    }

    fn expected(&self) -> (String, Val) {
        let val = if self.folds.is_empty() {
            Val::Exact(B(trim(&self.raw).to_vec()))
        } else {
            Val::Folded(
                std::iter::once(&self.raw)
                    .chain(self.folds.iter().map(|(_, rest)| rest))
                    .map(|piece| trim(piece))
                    .filter(|piece| !piece.is_empty())
                    .map(|piece| B(piece.to_vec()))
                    .collect(),
            )
        };
        (self.name.clone(), val)
    }
}

#[derive(Debug, Clone)]
enum ExtVal {
    Token(String),
    /// The inside of a quoted-string, escapes included.
    Quoted(Vec<u8>),
}

#[derive(Debug, Clone)]
struct ExtSpec {
    ws_before: Vec<u8>,
    ws_after: Vec<u8>,
    name: String,
    value: Option<(Vec<u8>, Vec<u8>, ExtVal)>,
}

impl ExtSpec {
    fn wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ws_before);
        out.push(b';');
        out.extend_from_slice(&self.ws_after);
        out.extend_from_slice(self.name.as_bytes());
        if let Some((ws1, ws2, value)) = &self.value {
            out.extend_from_slice(ws1);
            out.push(b'=');
            out.extend_from_slice(ws2);
            match value {
                ExtVal::Token(t) => out.extend_from_slice(t.as_bytes()),
                ExtVal::Quoted(q) => {
                    out.push(b'"');
                    out.extend_from_slice(q);
                    out.push(b'"');
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct ChunkSpec {
    data: Vec<u8>,
    zeros: usize,
    upper: bool,
    exts: Vec<ExtSpec>,
}

#[derive(Debug, Clone)]
enum BodySpec {
    /// `Content-Length` (`dup`: 0 once, 1 twice, 2 as the list `n, n`).
    Length { data: Vec<u8>, dup: u8 },
    Chunked {
        chunks: Vec<ChunkSpec>,
        last_zeros: usize,
        last_exts: Vec<ExtSpec>,
        trailers: Vec<FieldSpec>,
    },
    /// 204.
    NoContent,
    /// 304, with or without a `Content-Length`.
    NotModified { cl: Option<u16> },
    /// No framing: the body runs to EOF. Ends the stream.
    CloseDelimited { data: Vec<u8> },
    /// `Connection: close` (or HTTP/1.0 without keep-alive) with a
    /// `Content-Length` body. Ends the stream.
    AnnouncedClose { data: Vec<u8> },
}

#[derive(Debug, Clone)]
struct InterimSpec {
    blank: usize,
    status: u16,
    reason: Option<Vec<u8>>,
    fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone)]
struct RespSpec {
    interim: Vec<InterimSpec>,
    blank: usize,
    status: u16,
    reason: Option<Vec<u8>>,
    /// HTTP/1.0 with `Connection: keep-alive` (ignored for chunked bodies).
    http10: bool,
    fields: Vec<FieldSpec>,
    /// Where among `fields` the framing fields go.
    frame_pos: Index,
    /// Spelling of the framing field names and values.
    case: usize,
    body: BodySpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
}

#[derive(Debug, Clone)]
struct ReqSpec {
    method: Method,
    expect100: bool,
    resp: RespSpec,
}

/// The last request: `CONNECT` or a GET asking to upgrade.
#[derive(Debug, Clone)]
struct SwitchSpec {
    connect: bool,
    accept: bool,
    interim: Vec<InterimSpec>,
    blank: usize,
    status: u16,
    /// 0: nothing; 1: `Content-Length: 5`; 2: `Transfer-Encoding: chunked`
    /// in the 2xx to CONNECT (both to be ignored, RFC 9110 §9.3.6).
    noise: u8,
    tunnel: Vec<u8>,
    reject: RespSpec,
}

#[derive(Debug, Clone)]
struct Scenario {
    reqs: Vec<ReqSpec>,
    switch: Option<SwitchSpec>,
    trailing_blank: bool,
}

// ----- strategies ----------------------------------------------------------

fn token(len: RangeInclusive<usize>) -> impl Strategy<Value = String> {
    vec(select(TCHAR), len).prop_map(|v| String::from_utf8(v).expect("tchar is ASCII"))
}

fn field_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => 0x21u8..=0x7e,
        2 => 0x80u8..=0xff,
        2 => Just(b' '),
        1 => Just(b'\t'),
    ]
}

fn ows() -> impl Strategy<Value = Vec<u8>> {
    vec(select(&b" \t"[..]), 0..=2)
}

/// Response field names: any token but the framing and connection fields.
fn resp_name() -> impl Strategy<Value = String> {
    token(1..=12).prop_filter("not a framing field", |n| {
        !["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| n.eq_ignore_ascii_case(f))
    })
}

fn field_spec() -> impl Strategy<Value = FieldSpec> {
    (
        resp_name(),
        ows(),
        vec(field_byte(), 0..10),
        ows(),
        prop_oneof![
            5 => Just(Vec::new()),
            1 => vec((vec(select(&b" \t"[..]), 1..=2), vec(field_byte(), 0..6)), 1..=2),
        ],
    )
        .prop_map(|(name, pre, raw, post, folds)| FieldSpec {
            name,
            pre,
            raw,
            post,
            folds,
        })
}

fn reason() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![1 => Just(None), 4 => vec(field_byte(), 0..10).prop_map(Some)]
}

fn ext_spec() -> impl Strategy<Value = ExtSpec> {
    let qd_piece = prop_oneof![
        3 => field_byte()
            .prop_filter("qdtext", |b| *b != b'"' && *b != b'\\')
            .prop_map(|b| vec![b]),
        1 => field_byte().prop_map(|b| vec![b'\\', b]),
    ];
    let value = prop_oneof![
        token(1..=6).prop_map(ExtVal::Token),
        vec(qd_piece, 0..6).prop_map(|v| ExtVal::Quoted(v.concat())),
    ];
    (
        ows(),
        ows(),
        token(1..=6),
        proptest::option::of((ows(), ows(), value)),
    )
        .prop_map(|(ws_before, ws_after, name, value)| ExtSpec {
            ws_before,
            ws_after,
            name,
            value,
        })
}

fn exts() -> impl Strategy<Value = Vec<ExtSpec>> {
    prop_oneof![3 => Just(Vec::new()), 1 => vec(ext_spec(), 1..=2)]
}

fn chunk_spec() -> impl Strategy<Value = ChunkSpec> {
    (vec(any::<u8>(), 1..=12), 0usize..=2, any::<bool>(), exts()).prop_map(
        |(data, zeros, upper, exts)| ChunkSpec {
            data,
            zeros,
            upper,
            exts,
        },
    )
}

fn body_spec() -> impl Strategy<Value = BodySpec> {
    prop_oneof![
        6 => (vec(any::<u8>(), 0..24), 0u8..3)
            .prop_map(|(data, dup)| BodySpec::Length { data, dup }),
        6 => (vec(chunk_spec(), 0..=4), 1usize..=2, exts(), vec(field_spec(), 0..=2))
            .prop_map(|(chunks, last_zeros, last_exts, trailers)| BodySpec::Chunked {
                chunks,
                last_zeros,
                last_exts,
                trailers,
            }),
        1 => Just(BodySpec::NoContent),
        1 => proptest::option::of(0u16..100).prop_map(|cl| BodySpec::NotModified { cl }),
        1 => vec(any::<u8>(), 0..24).prop_map(|data| BodySpec::CloseDelimited { data }),
        1 => vec(any::<u8>(), 0..24).prop_map(|data| BodySpec::AnnouncedClose { data }),
    ]
}

fn interim_spec() -> impl Strategy<Value = InterimSpec> {
    (
        0usize..=2,
        select(&[100u16, 100, 102, 103, 199][..]),
        reason(),
        vec(field_spec(), 0..=2),
    )
        .prop_map(|(blank, status, reason, fields)| InterimSpec {
            blank,
            status,
            reason,
            fields,
        })
}

fn blank() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 1 => 1usize..=2]
}

fn resp_spec() -> impl Strategy<Value = RespSpec> {
    (
        prop_oneof![3 => Just(Vec::new()), 1 => vec(interim_spec(), 1..=2)],
        blank(),
        select(&[200u16, 200, 201, 203, 206, 299, 301, 404, 407, 500, 599][..]),
        reason(),
        proptest::bool::weighted(0.2),
        vec(field_spec(), 0..=3),
        any::<Index>(),
        0usize..3,
        body_spec(),
    )
        .prop_map(
            |(interim, blank, status, reason, http10, fields, frame_pos, case, body)| RespSpec {
                interim,
                blank,
                status,
                reason,
                http10,
                fields,
                frame_pos,
                case,
                body,
            },
        )
}

fn switch_spec() -> impl Strategy<Value = SwitchSpec> {
    (
        any::<bool>(),
        proptest::bool::weighted(0.7),
        prop_oneof![3 => Just(Vec::new()), 1 => vec(interim_spec(), 1..=2)],
        blank(),
        select(&[200u16, 200, 201, 299][..]),
        0u8..3,
        vec(any::<u8>(), 0..16),
        resp_spec(),
    )
        .prop_map(
            |(connect, accept, interim, blank, status, noise, tunnel, reject)| SwitchSpec {
                connect,
                accept,
                interim,
                blank,
                status,
                noise,
                tunnel,
                reject,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let req = (
        select(&[Method::Get, Method::Head, Method::Post][..]),
        proptest::bool::weighted(0.25),
        resp_spec(),
    )
        .prop_map(|(method, expect100, resp)| ReqSpec {
            method,
            expect100,
            resp,
        });
    (
        vec(req, 1..=4),
        proptest::option::weighted(0.25, switch_spec()),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(reqs, switch, trailing_blank)| Scenario {
            reqs,
            switch,
            trailing_blank,
        })
}

// ----- the model: the stream, and what each byte offset delivers ------------

#[derive(Debug, Clone)]
enum Item {
    /// Delivered once this many bytes are received.
    Ev(usize, Ev),
    /// Body bytes `stream[start..end]`, delivered as they arrive.
    Data(usize, usize),
    /// The switch: `Upgraded` with every byte from here on.
    Upgraded(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terminal {
    /// The stream can go on.
    Open,
    /// The last response announced the close.
    Announced,
    /// The last body runs to EOF (`announced`: HTTP/1.0 without keep-alive).
    UntilClose { announced: bool },
    /// The connection was handed over.
    Upgrade,
}

#[derive(Debug, Clone)]
struct RespModel {
    /// Offset just past the final head.
    head_at: usize,
    /// Offset at which `End` (or `Upgraded`) is delivered; `None` for a
    /// close-delimited body.
    done_at: Option<usize>,
    /// The head says the server closes after this response (RFC 9112 §9.6:
    /// it processes no request pipelined behind it).
    announced: bool,
}

#[derive(Debug, Clone)]
struct Model {
    stream: Vec<u8>,
    items: Vec<Item>,
    /// Requests, in `common::send_spec` syntax.
    specs: Vec<&'static str>,
    /// The last request, if its body stays held until a `100 Continue`.
    held: Option<usize>,
    /// A `100` for the held request is in the stream: later ones are
    /// consumed without an event, as are `100`s for other requests.
    released: bool,
    resps: Vec<RespModel>,
    terminal: Terminal,
}

fn put_reason(out: &mut Vec<u8>, reason: &Option<Vec<u8>>) -> B {
    match reason {
        None => B(Vec::new()),
        Some(r) => {
            out.push(b' ');
            out.extend_from_slice(r);
            B(r.clone())
        }
    }
}

impl Model {
    fn build(sc: &Scenario) -> Model {
        let mut specs: Vec<&'static str> = sc
            .reqs
            .iter()
            .map(|r| match (r.method, r.expect100) {
                (Method::Get, false) => "GET",
                (Method::Get, true) => "GET:expect100",
                (Method::Head, _) => "HEAD",
                (Method::Post, false) => "POST",
                (Method::Post, true) => "POST:expect100",
            })
            .collect();
        if let Some(sw) = &sc.switch {
            specs.push(if sw.connect { "CONNECT" } else { "GET:upgrade" });
        }
        let n = specs.len();
        let held = specs
            .last()
            .filter(|s| s.ends_with(":expect100"))
            .map(|_| n - 1);
        let mut m = Model {
            stream: Vec::new(),
            items: Vec::new(),
            specs,
            held,
            released: false,
            resps: Vec::new(),
            terminal: Terminal::Open,
        };
        for (i, r) in sc.reqs.iter().enumerate() {
            m.response(i, n, r.method == Method::Head, false, &r.resp);
            if m.terminal != Terminal::Open {
                return m;
            }
        }
        match &sc.switch {
            Some(sw) => m.switch(n - 1, n, sw),
            None if sc.trailing_blank => m.stream.extend_from_slice(b"\r\n"),
            None => {}
        }
        m
    }

    fn blank(&mut self, lines: usize) {
        for _ in 0..lines {
            self.stream.extend_from_slice(b"\r\n");
        }
    }

    fn interim(&mut self, id: u64, im: &InterimSpec) {
        self.blank(im.blank);
        let mut head = format!("HTTP/1.1 {}", im.status).into_bytes();
        let reason = put_reason(&mut head, &im.reason);
        head.extend_from_slice(b"\r\n");
        let mut headers = Vec::new();
        for f in &im.fields {
            f.wire(&mut head);
            headers.push(f.expected());
        }
        head.extend_from_slice(b"\r\n");
        self.stream.extend_from_slice(&head);
        let ev = if im.status == 100 {
            if self.held != Some(id as usize) || self.released {
                return;
            }
            self.released = true;
            Ev::Continue(id)
        } else {
            Ev::Info(Head {
                id,
                version: Version::Http11,
                status: im.status,
                reason,
                headers,
            })
        };
        self.items.push(Item::Ev(self.stream.len(), ev));
    }

    /// The response to request `i` of `n`.
    fn response(&mut self, i: usize, n: usize, head_req: bool, connect: bool, spec: &RespSpec) {
        let id = i as u64;
        for im in &spec.interim {
            self.interim(id, im);
        }
        self.blank(spec.blank);

        let cl_name = ["Content-Length", "content-length", "CONTENT-LENGTH"][spec.case];
        let conn_name = ["Connection", "connection", "CONNECTION"][spec.case];
        let close: &[u8] = [&b"close"[..], b"Close", b"foo, CLOSE"][spec.case];
        let keep: &[u8] = [&b"keep-alive"[..], b"Keep-Alive", b"foo , KEEP-ALIVE"][spec.case];
        let mut status = spec.status;
        let mut http10 = spec.http10;
        let mut keep_alive = true;
        let mut framing: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut terminal = Terminal::Open;
        enum Plan<'a> {
            Empty,
            Length(&'a [u8]),
            Chunked,
            UntilClose(&'a [u8]),
        }
        let mut plan = Plan::Empty;
        match &spec.body {
            BodySpec::Length { data, dup } => {
                let len = data.len().to_string().into_bytes();
                match dup {
                    0 => framing.push((cl_name, len)),
                    1 => {
                        framing.push((cl_name, len.clone()));
                        framing.push((cl_name, len));
                    }
                    _ => framing.push((cl_name, [&len[..], b", ", &len[..]].concat())),
                }
                if !head_req && !data.is_empty() {
                    plan = Plan::Length(data);
                }
            }
            BodySpec::Chunked { .. } => {
                http10 = false;
                let te_name = [
                    "Transfer-Encoding",
                    "transfer-encoding",
                    "TRANSFER-ENCODING",
                ];
                let te_value = ["chunked", "Chunked", "CHUNKED"];
                framing.push((te_name[spec.case], te_value[spec.case].as_bytes().to_vec()));
                if !head_req {
                    plan = Plan::Chunked;
                }
            }
            BodySpec::NoContent => status = 204,
            BodySpec::NotModified { cl } => {
                status = 304;
                if let Some(cl) = cl {
                    framing.push((cl_name, cl.to_string().into_bytes()));
                }
            }
            BodySpec::CloseDelimited { data } => {
                keep_alive = false;
                if !head_req {
                    plan = Plan::UntilClose(data);
                    terminal = Terminal::UntilClose { announced: http10 };
                } else if http10 {
                    terminal = Terminal::Announced;
                }
            }
            BodySpec::AnnouncedClose { data } => {
                keep_alive = false;
                framing.push((cl_name, data.len().to_string().into_bytes()));
                if !http10 {
                    framing.push((conn_name, close.to_vec()));
                }
                if !head_req && !data.is_empty() {
                    plan = Plan::Length(data);
                }
                terminal = Terminal::Announced;
            }
        }
        if http10 && keep_alive {
            framing.push((conn_name, keep.to_vec()));
        }
        if connect && (200..300).contains(&status) {
            status = 407;
        }

        let mut head = Vec::new();
        head.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        head.extend_from_slice(status.to_string().as_bytes());
        let reason = put_reason(&mut head, &spec.reason);
        head.extend_from_slice(b"\r\n");
        let mut headers = Vec::new();
        let frame_pos = spec.frame_pos.index(spec.fields.len() + 1);
        let put_framing = |head: &mut Vec<u8>, headers: &mut Fields| {
            for (name, value) in &framing {
                head.extend_from_slice(name.as_bytes());
                head.extend_from_slice(b": ");
                head.extend_from_slice(value);
                head.extend_from_slice(b"\r\n");
                headers.push((name.to_string(), Val::Exact(B(value.clone()))));
            }
        };
        for (k, f) in spec.fields.iter().enumerate() {
            if k == frame_pos {
                put_framing(&mut head, &mut headers);
            }
            f.wire(&mut head);
            headers.push(f.expected());
        }
        if frame_pos == spec.fields.len() {
            put_framing(&mut head, &mut headers);
        }
        head.extend_from_slice(b"\r\n");
        self.stream.extend_from_slice(&head);
        let head_at = self.stream.len();
        let version = if http10 {
            Version::Http10
        } else {
            Version::Http11
        };
        self.items.push(Item::Ev(
            head_at,
            Ev::Headers(Head {
                id,
                version,
                status,
                reason,
                headers,
            }),
        ));

        let done_at = match plan {
            Plan::Empty => {
                self.items.push(Item::Ev(head_at, Ev::End(Vec::new())));
                Some(head_at)
            }
            Plan::Length(data) => {
                self.stream.extend_from_slice(data);
                let end = self.stream.len();
                self.items.push(Item::Data(head_at, end));
                self.items.push(Item::Ev(end, Ev::End(Vec::new())));
                Some(end)
            }
            Plan::UntilClose(data) => {
                self.stream.extend_from_slice(data);
                if !data.is_empty() {
                    self.items.push(Item::Data(head_at, self.stream.len()));
                }
                None
            }
            Plan::Chunked => {
                let BodySpec::Chunked {
                    chunks,
                    last_zeros,
                    last_exts,
                    trailers,
                } = &spec.body
                else {
                    unreachable!("chunked plan from a chunked body")
                };
                for c in chunks {
                    self.stream.extend(std::iter::repeat(b'0').take(c.zeros));
                    let hex = if c.upper {
                        format!("{:X}", c.data.len())
                    } else {
                        format!("{:x}", c.data.len())
                    };
                    self.stream.extend_from_slice(hex.as_bytes());
                    for e in &c.exts {
                        e.wire(&mut self.stream);
                    }
                    self.stream.extend_from_slice(b"\r\n");
                    let start = self.stream.len();
                    self.stream.extend_from_slice(&c.data);
                    self.items.push(Item::Data(start, self.stream.len()));
                    self.stream.extend_from_slice(b"\r\n");
                }
                self.stream
                    .extend(std::iter::repeat(b'0').take(*last_zeros));
                for e in last_exts {
                    e.wire(&mut self.stream);
                }
                self.stream.extend_from_slice(b"\r\n");
                let mut expected = Vec::new();
                for t in trailers {
                    t.wire(&mut self.stream);
                    expected.push(t.expected());
                }
                self.stream.extend_from_slice(b"\r\n");
                let end = self.stream.len();
                self.items.push(Item::Ev(end, Ev::End(expected)));
                Some(end)
            }
        };
        self.resps.push(RespModel {
            head_at,
            done_at,
            announced: matches!(
                terminal,
                Terminal::Announced | Terminal::UntilClose { announced: true }
            ),
        });
        if terminal == Terminal::Announced && i + 1 < n {
            let at = done_at.expect("announced close has a framed body");
            let rest = (i + 1..n).map(|k| (k as u64, Fate::NotProcessed)).collect();
            self.items.push(Item::Ev(at, Ev::Closed(rest)));
        }
        self.terminal = terminal;
    }

    fn switch(&mut self, i: usize, n: usize, sw: &SwitchSpec) {
        if !sw.accept {
            let mut reject = sw.reject.clone();
            if sw.connect && matches!(reject.body, BodySpec::NoContent) {
                // A 204 is a 2xx: to CONNECT it would be a tunnel.
                reject.body = BodySpec::Length {
                    data: Vec::new(),
                    dup: 0,
                };
            }
            self.response(i, n, false, sw.connect, &reject);
            return;
        }
        let id = i as u64;
        for im in &sw.interim {
            self.interim(id, im);
        }
        self.blank(sw.blank);
        let (status, reason, fields): (u16, &[u8], Vec<(&str, &str)>) = if sw.connect {
            let noise = match sw.noise {
                0 => vec![],
                1 => vec![("Content-Length", "5")],
                _ => vec![("Transfer-Encoding", "chunked")],
            };
            (sw.status, b"Connection Established", noise)
        } else {
            (
                101,
                b"Switching Protocols",
                vec![("Upgrade", "websocket"), ("Connection", "Upgrade")],
            )
        };
        let mut head = format!("HTTP/1.1 {status} ").into_bytes();
        head.extend_from_slice(reason);
        head.extend_from_slice(b"\r\n");
        let mut headers = Vec::new();
        for (name, value) in fields {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            headers.push((name.to_string(), Val::Exact(B(value.as_bytes().to_vec()))));
        }
        head.extend_from_slice(b"\r\n");
        self.stream.extend_from_slice(&head);
        let head_at = self.stream.len();
        self.items.push(Item::Ev(
            head_at,
            Ev::Headers(Head {
                id,
                version: Version::Http11,
                status,
                reason: B(reason.to_vec()),
                headers,
            }),
        ));
        self.items.push(Item::Upgraded(head_at));
        self.stream.extend_from_slice(&sw.tunnel);
        self.resps.push(RespModel {
            head_at,
            done_at: Some(head_at),
            announced: false,
        });
        self.terminal = Terminal::Upgrade;
    }

    /// The normalized events of the first `p` bytes, then EOF.
    fn expected(&self, p: usize) -> Vec<Ev> {
        let n = self.specs.len();
        let mut out = Vec::new();
        let mut continued = false;
        for item in &self.items {
            match item {
                Item::Ev(at, ev) => {
                    if *at > p {
                        break;
                    }
                    if let Ev::Continue(id) = ev {
                        continued |= self.held == Some(*id as usize);
                    }
                    out.push(ev.clone());
                }
                Item::Data(start, end) => {
                    if p > *start {
                        out.push(Ev::Data(B(self.stream[*start..p.min(*end)].to_vec())));
                    }
                    if p < *end {
                        break;
                    }
                }
                Item::Upgraded(at) => {
                    if *at <= p {
                        out.push(Ev::Upgraded(B(self.stream[*at..p].to_vec())));
                        // Handed over: the EOF means nothing to the connection.
                        return merge_data(out);
                    }
                    break;
                }
            }
        }
        if matches!(out.last(), Some(Ev::Closed(_))) {
            return merge_data(out);
        }
        // The end of stream.
        let mut r = self
            .resps
            .iter()
            .position(|m| m.done_at.map_or(true, |d| d > p))
            .unwrap_or(self.resps.len());
        if r == self.resps.len() && self.terminal == Terminal::Announced {
            return merge_data(out);
        }
        if let Some(m) = self.resps.get(r) {
            if m.done_at.is_none() && m.head_at <= p {
                // A close-delimited body ends at EOF.
                out.push(Ev::End(Vec::new()));
                if self.terminal == (Terminal::UntilClose { announced: true }) {
                    if r + 1 < n {
                        let rest = (r + 1..n).map(|k| (k as u64, Fate::NotProcessed)).collect();
                        out.push(Ev::Closed(rest));
                    }
                    return merge_data(out);
                }
                r += 1;
            }
        }
        if r < n {
            let head = self.resps.get(r).filter(|m| m.head_at <= p);
            let unanswered = (r..n)
                .map(|k| {
                    let fate = if k == r && head.is_some() {
                        Fate::BodyIncomplete
                    } else if head.is_some_and(|m| m.announced) {
                        // Pipelined behind a head that announced the close.
                        Fate::NotProcessed
                    } else if self.held == Some(k) && !continued {
                        Fate::NotProcessed
                    } else {
                        Fate::MaybeProcessed
                    };
                    (k as u64, fate)
                })
                .collect();
            out.push(Ev::Closed(unanswered));
        }
        merge_data(out)
    }

    /// How many `End` events the first `p` bytes and EOF may give at most.
    fn max_ends(&self, p: usize) -> usize {
        self.resps
            .iter()
            .filter(|m| match m.done_at {
                Some(d) => d <= p,
                None => m.head_at <= p,
            })
            .count()
    }

    /// Prefix lengths to try: all of them for short streams; otherwise
    /// every offset next to an event boundary or just after a CR or LF, an
    /// even spread, and `extra`.
    fn prefix_points(&self, extra: &[Index]) -> BTreeSet<usize> {
        let len = self.stream.len();
        if len <= 200 {
            return (0..=len).collect();
        }
        let mut set = BTreeSet::new();
        let mut near = |x: usize| {
            set.insert(x.saturating_sub(1));
            set.insert(x);
            set.insert((x + 1).min(len));
        };
        for item in &self.items {
            match item {
                Item::Ev(at, _) | Item::Upgraded(at) => near(*at),
                Item::Data(s, e) => {
                    near(*s);
                    near(*e);
                }
            }
        }
        for m in &self.resps {
            near(m.head_at);
        }
        for (k, &b) in self.stream.iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                set.insert(k + 1);
            }
        }
        set.extend((0..=len).step_by(len / 64 + 1));
        set.extend(extra.iter().map(|e| e.index(len + 1)));
        set.insert(len);
        set
    }
}

// ----- running a connection ------------------------------------------------

fn transmit_all(conn: &mut Connection) {
    while conn.poll_transmit().is_some() {}
}

/// A connection with the model's requests in flight and written. An
/// `expect100` request that is not the last is released with
/// `continue_timeout` (the next request could not be sent otherwise).
fn connect(specs: &[&str]) -> Connection {
    let mut conn = Connection::default();
    for (k, spec) in specs.iter().enumerate() {
        common::send_spec(&mut conn, spec).expect("request accepted");
        if k + 1 < specs.len() && conn.awaiting_continue().is_some() {
            assert!(conn.continue_timeout());
        }
    }
    transmit_all(&mut conn);
    conn
}

/// Feeds `input` cut at `cuts` (sorted), draining events and writing out
/// what the connection queues after each piece, then the end of stream.
/// Each piece goes in through `receive` (mode 0), `read_into` (1) or
/// `recv_buf` (2), taking `modes` in turn (all `receive` if empty).
/// Bytes not fed because the connection was handed over are appended to the
/// `Upgraded` rest: that is what the caller's transport holds.
fn run(specs: &[&str], input: &[u8], cuts: &[usize], modes: &[u8]) -> Vec<Ev> {
    let mut conn = connect(specs);
    let mut out = Vec::new();
    let mut pos = 0;
    for (step, &cut) in cuts.iter().chain(std::iter::once(&input.len())).enumerate() {
        if conn.is_upgraded() || matches!(out.last(), Some(Err(_))) {
            break;
        }
        let cut = cut.clamp(pos, input.len());
        let piece = &input[pos..cut];
        match modes.get(step % modes.len().max(1)).copied().unwrap_or(0) {
            0 => conn.receive(piece).expect("receive accepted"),
            1 => {
                // A read that fills less than it was offered.
                let n = conn
                    .read_into(piece.len() + 7, |buf| {
                        buf[..piece.len()].copy_from_slice(piece);
                        Ok::<usize, ()>(piece.len())
                    })
                    .expect("read succeeds");
                assert_eq!(n, piece.len());
            }
            _ => conn.recv_buf().extend_from_slice(piece),
        }
        pos = cut;
        common::drain(&mut conn, &mut out);
        transmit_all(&mut conn);
    }
    if !matches!(out.last(), Some(Err(_))) {
        // What the connection says it would lose is what the close says it
        // lost, and what it keeps saying after.
        let predicted = conn.unanswered();
        conn.receive_eof();
        common::drain(&mut conn, &mut out);
        if let Some(Err(Error::ConnectionClosed(closed))) = out.last() {
            assert_eq!(&predicted, closed, "unanswered() before the end of stream");
            assert_eq!(&conn.unanswered(), closed, "unanswered() after the close");
        }
    }
    let mut events = convert(common::normalize(out));
    if pos < input.len() {
        if let Some(Ev::Upgraded(rest)) = events
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Ev::Upgraded(_)))
        {
            rest.0.extend_from_slice(&input[pos..]);
        }
    }
    events
}

proptest! {
    #![proptest_config(config(256))]

    /// Whole, cut at arbitrary points, or byte by byte: the same events, and
    /// exactly those the stream was built to give.
    #[test]
    fn split_invariance(
        sc in scenario(),
        cuts in vec(any::<Index>(), 0..24),
        modes in vec(0u8..3, 1..4),
    ) {
        let m = Model::build(&sc);
        let len = m.stream.len();
        let want = m.expected(len);
        let whole = run(&m.specs, &m.stream, &[], &[]);
        prop_assert_eq!(&whole, &want, "whole stream {:?}", B(m.stream.clone()));

        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let split = run(&m.specs, &m.stream, &cuts, &[]);
        prop_assert_eq!(&split, &whole, "cut at {:?}: {:?}", cuts, B(m.stream.clone()));

        let every: Vec<usize> = (1..len).collect();
        let bytewise = run(&m.specs, &m.stream, &every, &[]);
        prop_assert_eq!(&bytewise, &whole, "byte by byte: {:?}", B(m.stream.clone()));

        // The same cuts, the pieces given through the other input paths.
        let mixed = run(&m.specs, &m.stream, &cuts, &modes);
        prop_assert_eq!(&mixed, &whole, "cut at {:?}, modes {:?}: {:?}", cuts, modes, B(m.stream.clone()));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Every prefix (or, for long streams, many) then EOF: the events of the
    /// complete part, then the close as the cut implies it.
    #[test]
    fn prefix_then_eof(sc in scenario(), extra in vec(any::<Index>(), 16)) {
        let m = Model::build(&sc);
        for p in m.prefix_points(&extra) {
            let got = run(&m.specs, &m.stream[..p], &[], &[]);
            let ends = got.iter().filter(|e| matches!(e, Ev::End(_))).count();
            prop_assert!(
                ends <= m.max_ends(p),
                "an End for a body cut short: prefix {} of {:?}: {:?}",
                p, B(m.stream.clone()), got
            );
            let want = m.expected(p);
            prop_assert_eq!(&got, &want, "prefix {} of {:?}", p, B(m.stream.clone()));
        }
    }
}

// ===== requests ============================================================

/// Fields that must not be trailers: dugong-proto's list (RFC 9110 §6.5.1).
const FORBIDDEN_TRAILERS: &[&str] = &[
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

fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

/// Request field names: any token, except the framing fields (set from the
/// body), and `Connection`, `Upgrade` and `Expect`, which change what the
/// connection does next (`Expect: 100-continue` is added on its own).
fn req_name() -> impl Strategy<Value = String> {
    token(1..=12).prop_filter("no framing or control field", |n| {
        ![
            "content-length",
            "transfer-encoding",
            "connection",
            "upgrade",
            "expect",
        ]
        .iter()
        .any(|f| n.eq_ignore_ascii_case(f))
    })
}

/// VCHAR, obs-text, SP and HTAB, not starting or ending with whitespace.
/// httparse 1.10 accepts all of these in field values (obs-text included)
/// and strips leading and trailing whitespace, so these are exactly the
/// values that can read back identically.
fn req_value() -> impl Strategy<Value = B> {
    vec(field_byte(), 0..16).prop_map(|v| B(trim(&v).to_vec()))
}

fn trailer_name() -> impl Strategy<Value = String> {
    token(1..=12).prop_filter("may be a trailer", |n| {
        !FORBIDDEN_TRAILERS.iter().any(|f| n.eq_ignore_ascii_case(f))
    })
}

#[derive(Debug, Clone)]
enum BodyGen {
    Empty,
    Full(B),
    /// `Body::Sized(total)`, given in these pieces.
    Sized(Vec<B>),
    /// `Body::Chunked`, given in these pieces, finished with the trailers.
    Chunked(Vec<B>, Vec<(String, B)>),
}

#[derive(Debug, Clone)]
struct ReqGen {
    method: String,
    target: String,
    headers: Vec<(String, B)>,
    expect: bool,
    body: BodyGen,
}

fn piece() -> impl Strategy<Value = B> {
    vec(any::<u8>(), 0..12).prop_map(B)
}

fn body_gen() -> impl Strategy<Value = BodyGen> {
    prop_oneof![
        Just(BodyGen::Empty),
        piece().prop_map(BodyGen::Full),
        vec(piece(), 0..5).prop_map(BodyGen::Sized),
        (vec(piece(), 0..5), vec((trailer_name(), req_value()), 0..3))
            .prop_map(|(p, t)| BodyGen::Chunked(p, t)),
    ]
}

/// Origin-form targets: `/` then visible ASCII (dugong-proto allows no more
/// in a target; httparse allows these too).
fn origin_target() -> impl Strategy<Value = String> {
    vec(0x21u8..=0x7e, 0..16).prop_map(|v| {
        let mut t = String::from("/");
        t.extend(v.into_iter().map(char::from));
        t
    })
}

fn req_gen() -> impl Strategy<Value = ReqGen> {
    (
        token(1..=8).prop_filter("CONNECT takes authority-form", |m| m != "CONNECT"),
        origin_target(),
        vec((req_name(), req_value()), 0..6),
        proptest::bool::weighted(0.3),
        body_gen(),
    )
        .prop_map(|(method, target, headers, expect, body)| ReqGen {
            method,
            target,
            headers,
            expect,
            body,
        })
}

/// Takes everything queued for writing, alternating `poll_transmit` (write
/// size 0) and partial vectored writes through `transmit_segments` and
/// `consume_transmit`.
fn pump(
    conn: &mut Connection,
    writes: &[usize],
    k: &mut usize,
    wire: &mut Vec<u8>,
) -> Result<(), TestCaseError> {
    while conn.transmit_len() > 0 {
        let queued: usize = conn.transmit_segments().map(<[u8]>::len).sum();
        prop_assert_eq!(queued as u64, conn.transmit_len());
        let w = if writes.is_empty() {
            0
        } else {
            writes[*k % writes.len()]
        };
        *k += 1;
        if w == 0 {
            let seg = conn.poll_transmit();
            prop_assert!(seg.is_some(), "bytes pending but no segment");
            wire.extend_from_slice(&seg.unwrap_or_default());
        } else {
            let mut taken = 0;
            for seg in conn.transmit_segments() {
                let t = (w - taken).min(seg.len());
                wire.extend_from_slice(&seg[..t]);
                taken += t;
                if taken == w {
                    break;
                }
            }
            conn.consume_transmit(taken);
        }
    }
    prop_assert!(conn.poll_transmit().is_none());
    Ok(())
}

/// A decoded chunked body: (body, trailers, bytes used).
type Decoded = (Vec<u8>, Vec<(String, B)>, usize);

/// Decodes a chunked body at the start of `buf`.
fn decode_chunked(buf: &[u8]) -> Result<Decoded, String> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let line_len = buf[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk-size line without CRLF")?;
        let line = &buf[pos..pos + line_len];
        if line.is_empty() || !line.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("bad chunk-size line {:?}", B(line.to_vec())));
        }
        let size = usize::from_str_radix(std::str::from_utf8(line).unwrap_or("x"), 16)
            .map_err(|e| e.to_string())?;
        pos += line_len + 2;
        if size == 0 {
            break;
        }
        let data = buf.get(pos..pos + size).ok_or("chunk data cut short")?;
        body.extend_from_slice(data);
        pos += size;
        if buf.get(pos..pos + 2) != Some(&b"\r\n"[..]) {
            return Err("chunk data not followed by CRLF".into());
        }
        pos += 2;
    }
    let mut hbuf = [httparse::EMPTY_HEADER; 16];
    match httparse::parse_headers(&buf[pos..], &mut hbuf) {
        Ok(httparse::Status::Complete((n, fields))) => {
            let trailers = fields
                .iter()
                .map(|h| (h.name.to_string(), B(h.value.to_vec())))
                .collect();
            Ok((body, trailers, pos + n))
        }
        other => Err(format!("bad trailer section: {other:?}")),
    }
}

/// One request head parsed by httparse: (method, target, fields, length).
type ParsedHead = (String, String, Vec<(String, B)>, usize);

fn parse_request_head(buf: &[u8]) -> Result<ParsedHead, String> {
    let mut hbuf = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut hbuf);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            if req.version != Some(1) {
                return Err(format!("version {:?}", req.version));
            }
            let fields = req
                .headers
                .iter()
                .map(|h| (h.name.to_string(), B(h.value.to_vec())))
                .collect();
            Ok((
                req.method.unwrap_or_default().to_string(),
                req.path.unwrap_or_default().to_string(),
                fields,
                n,
            ))
        }
        other => Err(format!("httparse: {other:?} on {:?}", B(buf.to_vec()))),
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Pipelined requests, with bodies given whole or in pieces, read back
    /// by a server-side parser exactly as given.
    #[test]
    fn request_round_trip(
        reqs in vec(req_gen(), 1..=3),
        writes in vec(0usize..=24, 0..6),
    ) {
        let mut conn = Connection::default();
        let mut wire = Vec::new();
        let mut k = 0;
        for r in &reqs {
            let mut headers: Vec<(Vec<u8>, Vec<u8>)> = r
                .headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.0.clone()))
                .collect();
            if r.expect {
                headers.push((b"Expect".to_vec(), b"100-continue".to_vec()));
            }
            let body = match &r.body {
                BodyGen::Empty => Body::Empty,
                BodyGen::Full(b) => Body::Full(Bytes::from(b.0.clone())),
                BodyGen::Sized(pieces) => {
                    Body::Sized(pieces.iter().map(|p| p.0.len() as u64).sum())
                }
                BodyGen::Chunked(..) => Body::Chunked,
            };
            let sent = conn.send_request(&r.method, &r.target, &headers, body);
            prop_assert!(sent.is_ok(), "{:?} refused: {:?}", r, sent);
            pump(&mut conn, &writes, &mut k, &mut wire)?;
            if conn.awaiting_continue().is_some() {
                prop_assert!(conn.continue_timeout());
            }
            match &r.body {
                BodyGen::Sized(pieces) => {
                    let total: usize = pieces.iter().map(|p| p.0.len()).sum();
                    let mut given = 0;
                    for p in pieces {
                        if given == total {
                            break; // the body is complete: no more pieces
                        }
                        let res = conn.send_body(Bytes::from(p.0.clone()));
                        prop_assert!(res.is_ok(), "send_body: {:?}", res);
                        given += p.0.len();
                        pump(&mut conn, &writes, &mut k, &mut wire)?;
                    }
                }
                BodyGen::Chunked(pieces, trailers) => {
                    for p in pieces {
                        let res = conn.send_body(Bytes::from(p.0.clone()));
                        prop_assert!(res.is_ok(), "send_body: {:?}", res);
                        pump(&mut conn, &writes, &mut k, &mut wire)?;
                    }
                    let res = conn.finish(trailers.iter().map(|(n, v)| (n.as_str(), &v.0[..])));
                    prop_assert!(res.is_ok(), "finish: {:?}", res);
                }
                BodyGen::Empty | BodyGen::Full(_) => {}
            }
            pump(&mut conn, &writes, &mut k, &mut wire)?;
            prop_assert!(!conn.is_sending_body());
        }
        prop_assert_eq!(conn.in_flight(), reqs.len());

        let mut pos = 0;
        for r in &reqs {
            let parsed = parse_request_head(&wire[pos..]);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            let (method, target, fields, n) = parsed.unwrap_or_default();
            prop_assert_eq!(&method, &r.method);
            prop_assert_eq!(&target, &r.target);
            let mut want = r.headers.clone();
            if r.expect {
                want.push(("Expect".into(), B(b"100-continue".to_vec())));
            }
            let (want_body, want_trailers) = match &r.body {
                BodyGen::Empty => (Vec::new(), Vec::new()),
                BodyGen::Full(b) => (b.0.clone(), Vec::new()),
                BodyGen::Sized(p) => (p.iter().flat_map(|p| p.0.clone()).collect(), Vec::new()),
                BodyGen::Chunked(p, t) => (p.iter().flat_map(|p| p.0.clone()).collect(), t.clone()),
            };
            match &r.body {
                BodyGen::Empty => {}
                BodyGen::Chunked(..) => {
                    want.push(("Transfer-Encoding".into(), B(b"chunked".to_vec())));
                }
                _ => want.push((
                    "Content-Length".into(),
                    B(want_body.len().to_string().into_bytes()),
                )),
            }
            prop_assert_eq!(&fields, &want);
            pos += n;
            let (body, trailers) = match &r.body {
                BodyGen::Empty => (Vec::new(), Vec::new()),
                BodyGen::Chunked(..) => {
                    let decoded = decode_chunked(&wire[pos..]);
                    prop_assert!(decoded.is_ok(), "{:?} in {:?}", decoded, B(wire.clone()));
                    let (body, trailers, used) = decoded.unwrap_or_default();
                    pos += used;
                    (body, trailers)
                }
                _ => {
                    let end = pos + want_body.len();
                    prop_assert!(end <= wire.len(), "body cut short: {:?}", B(wire.clone()));
                    let body = wire[pos..end].to_vec();
                    pos = end;
                    (body, Vec::new())
                }
            };
            prop_assert_eq!(B(body), B(want_body));
            prop_assert_eq!(&trailers, &want_trailers);
        }
        prop_assert_eq!(pos, wire.len(), "bytes after the last request: {:?}", B(wire.clone()));
    }
}

// ===== injection ===========================================================

/// Characters to slip into methods and targets (`&str`). Some are bad only
/// in some places (`:` or `"` in a target); the oracle decides.
const BAD_CHARS: &[char] = &[
    '\r', '\n', '\0', ' ', '\t', '\x7f', '\x01', '\x0b', ':', '"', '(', ',', 'é',
];
/// Bytes to slip into field names and values (obs-text, `:` and `"` are
/// fine inside a value, SP and HTAB only inside it).
const BAD_BYTES: &[u8] = &[
    b'\r', b'\n', 0, b' ', b'\t', 0x7f, 0x01, 0x0b, b':', b'"', b'(', 0x80, 0xff,
];

fn insert_char(s: &mut String, at: Index, what: Index) {
    let mut chars: Vec<char> = s.chars().collect();
    chars.insert(
        at.index(chars.len() + 1),
        BAD_CHARS[what.index(BAD_CHARS.len())],
    );
    *s = chars.into_iter().collect();
}

/// Puts a bad byte in a field: `which` picks the name or value of a field
/// (`2k` the name of field `k`, `2k + 1` its value).
fn inject_fields(fields: &mut [(Vec<u8>, Vec<u8>)], which: usize, at: Index, what: Index) {
    let field = &mut fields[which / 2];
    let v = if which % 2 == 0 {
        &mut field.0
    } else {
        &mut field.1
    };
    v.insert(
        at.index(v.len() + 1),
        BAD_BYTES[what.index(BAD_BYTES.len())],
    );
}

/// Field names worth trying besides random tokens: framing fields, and
/// fields that are fine in a head but not as trailers.
const NAMED: &[&str] = &[
    "Content-Length",
    "transfer-encoding",
    "Host",
    "TE",
    "Trailer",
    "Authorization",
    "content-type",
    "Keep-Alive",
];

fn base_field() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        prop_oneof![
            14 => token(1..=8),
            1 => Just(String::new()),
            2 => select(NAMED).prop_map(String::from),
        ],
        req_value(),
    )
        .prop_map(|(name, value)| (name.into_bytes(), value.0))
}

/// Up to two places to put a bad character: (which string, where, what).
fn injections() -> impl Strategy<Value = Vec<(Index, Index, Index)>> {
    vec(any::<(Index, Index, Index)>(), 0..=2)
}

#[derive(Debug, Clone)]
struct Injected {
    method: String,
    target: String,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A valid request, then up to two bad characters put in its method,
/// target, field names or field values.
fn injected_request() -> impl Strategy<Value = Injected> {
    (
        prop_oneof![15 => token(1..=6), 1 => Just(String::new())],
        prop_oneof![
            6 => origin_target(),
            1 => vec(0x21u8..=0x7e, 0..8).prop_map(|v| v.into_iter().map(char::from).collect()),
            1 => Just("http://example.com/a".to_string()),
        ],
        vec(base_field(), 0..4),
        injections(),
    )
        .prop_map(|(mut method, mut target, mut fields, injections)| {
            for (which, at, what) in injections {
                match which.index(2 + 2 * fields.len()) {
                    0 => insert_char(&mut method, at, what),
                    1 => insert_char(&mut target, at, what),
                    k => inject_fields(&mut fields, k - 2, at, what),
                }
            }
            Injected {
                method,
                target,
                fields,
            }
        })
}

/// Valid fields, then up to two bad bytes put in their names or values.
fn injected_fields() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    (vec(base_field(), 0..4), injections()).prop_map(|(mut fields, injections)| {
        for (which, at, what) in injections {
            if !fields.is_empty() {
                let k = which.index(2 * fields.len());
                inject_fields(&mut fields, k, at, what);
            }
        }
        fields
    })
}

/// RFC 3986 §3.1 `scheme ":"` followed by something.
fn is_absolute_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &t[..colon];
    colon + 1 < t.len()
        && scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// RFC 9112 §3.2.3 `host:port` (no path, no userinfo, a numeric port):
/// read as authority-form, which only `CONNECT` may use, even where it also
/// reads as a scheme and a path (`a:0`).
fn is_authority_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&t[..colon], &t[colon + 1..]);
    !host.is_empty()
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && !host.iter().any(|b| b"/?#@".contains(b))
}

/// What a field must be: a token name, and a value of field-vchar, SP and
/// HTAB that neither starts nor ends with whitespace (RFC 9110 §5.5; the
/// documented contract of `InvalidRequest::HeaderValue`).
fn check_field(name: &[u8], value: &[u8]) -> Result<(), InvalidRequest> {
    if !is_token(name) {
        return Err(InvalidRequest::HeaderName);
    }
    let edge_ws =
        value.first().is_some_and(|&b| is_ws(b)) || value.last().is_some_and(|&b| is_ws(b));
    if !value.iter().all(|&b| is_field_byte(b)) || edge_ws {
        return Err(InvalidRequest::HeaderValue);
    }
    Ok(())
}

/// The verdict on a request, checking in the documented order: method,
/// target, then each field in order.
fn oracle(method: &str, target: &str, fields: &[(Vec<u8>, Vec<u8>)]) -> Result<(), InvalidRequest> {
    if !is_token(method.as_bytes()) {
        return Err(InvalidRequest::Method);
    }
    let t = target.as_bytes();
    let target_ok = !t.is_empty()
        && t.iter().all(|b| (0x21..=0x7e).contains(b))
        && (t[0] == b'/' || (is_absolute_form(t) && !is_authority_form(t)));
    if !target_ok {
        return Err(InvalidRequest::Target);
    }
    for (name, value) in fields {
        check_field(name, value)?;
        if is_framing(name) {
            return Err(InvalidRequest::FramingHeader);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Bad bytes in a method, target or field are refused with nothing
    /// queued; what is accepted parses back to exactly the fields given.
    #[test]
    fn request_injection(req in injected_request()) {
        let Injected { method, target, fields } = req;
        prop_assume!(method != "CONNECT" && method != "OPTIONS");
        let want = oracle(&method, &target, &fields);
        let mut conn = Connection::default();
        let got = conn.send_request(&method, &target, &fields, Body::Full(Bytes::from_static(b"x")));
        match (got, want) {
            (Err(Error::InvalidRequest(kind)), Err(want_kind)) => {
                prop_assert_eq!(kind, want_kind);
                prop_assert_eq!(conn.transmit_len(), 0);
                prop_assert_eq!(conn.in_flight(), 0);
                prop_assert!(conn.poll_transmit().is_none());
                // The connection is unchanged: a good request goes out alone.
                let id = conn.send_request("GET", "/", [("Host", "a")], Body::Empty);
                prop_assert_eq!(id.map(|id| id.as_u64()), Ok(0));
                let mut wire = Vec::new();
                while let Some(seg) = conn.poll_transmit() {
                    wire.extend_from_slice(&seg);
                }
                prop_assert_eq!(B(wire), B(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()));
            }
            (Ok(_), Ok(())) => {
                let mut wire = Vec::new();
                while let Some(seg) = conn.poll_transmit() {
                    wire.extend_from_slice(&seg);
                }
                let parsed = parse_request_head(&wire);
                prop_assert!(parsed.is_ok(), "{:?}", parsed);
                let (m, t, parsed_fields, n) = parsed.unwrap_or_default();
                prop_assert_eq!(&m, &method);
                prop_assert_eq!(&t, &target);
                let mut want_fields: Vec<(String, B)> = fields
                    .iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), B(v.clone())))
                    .collect();
                want_fields.push(("Content-Length".into(), B(b"1".to_vec())));
                prop_assert_eq!(&parsed_fields, &want_fields);
                prop_assert_eq!(B(wire[n..].to_vec()), B(b"x".to_vec()));
            }
            (got, want) => {
                prop_assert!(
                    false,
                    "method {:?} target {:?} fields {:?}: got {:?}, want {:?}",
                    method,
                    target,
                    fields.iter().map(|(n, v)| (B(n.clone()), B(v.clone()))).collect::<Vec<_>>(),
                    got,
                    want
                );
            }
        }
    }

    /// The same for trailers, which must also not be fields that are
    /// forbidden as trailers.
    #[test]
    fn trailer_injection(fields in injected_fields()) {
        let mut conn = Connection::default();
        let sent = conn.send_request("POST", "/", [("Host", "a")], Body::Chunked);
        prop_assert!(sent.is_ok());
        prop_assert!(conn.send_body(Bytes::from_static(b"abc")).is_ok());
        let mut wire = Vec::new();
        while let Some(seg) = conn.poll_transmit() {
            wire.extend_from_slice(&seg);
        }
        let mut want = Ok(());
        for (name, value) in &fields {
            want = check_field(name, value).and_then(|()| {
                if FORBIDDEN_TRAILERS.iter().any(|f| name.eq_ignore_ascii_case(f.as_bytes())) {
                    Err(InvalidRequest::ForbiddenTrailer)
                } else {
                    Ok(())
                }
            });
            if want.is_err() {
                break;
            }
        }
        let got = conn.finish(&fields);
        match (got, want) {
            (Err(Error::InvalidRequest(kind)), Err(want_kind)) => {
                prop_assert_eq!(kind, want_kind);
                prop_assert_eq!(conn.transmit_len(), 0);
                prop_assert!(conn.is_sending_body());
                prop_assert!(conn.finish([] as [(&str, &str); 0]).is_ok());
                while let Some(seg) = conn.poll_transmit() {
                    wire.extend_from_slice(&seg);
                }
                prop_assert!(wire.ends_with(b"3\r\nabc\r\n0\r\n\r\n"), "{:?}", B(wire));
            }
            (Ok(()), Ok(())) => {
                while let Some(seg) = conn.poll_transmit() {
                    wire.extend_from_slice(&seg);
                }
                let parsed = parse_request_head(&wire);
                prop_assert!(parsed.is_ok(), "{:?}", parsed);
                let (_, _, _, n) = parsed.unwrap_or_default();
                let decoded = decode_chunked(&wire[n..]);
                prop_assert!(decoded.is_ok(), "{:?} in {:?}", decoded, B(wire.clone()));
                let (body, trailers, used) = decoded.unwrap_or_default();
                prop_assert_eq!(B(body), B(b"abc".to_vec()));
                let want_fields: Vec<(String, B)> = fields
                    .iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), B(v.clone())))
                    .collect();
                prop_assert_eq!(&trailers, &want_fields);
                prop_assert_eq!(n + used, wire.len());
            }
            (got, want) => {
                prop_assert!(
                    false,
                    "trailers {:?}: got {:?}, want {:?}",
                    fields.iter().map(|(n, v)| (B(n.clone()), B(v.clone()))).collect::<Vec<_>>(),
                    got,
                    want
                );
            }
        }
    }
}
