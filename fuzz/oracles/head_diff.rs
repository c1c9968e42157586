//! Oracle of the `head_diff` fuzz target: dugong-proto's response head
//! parsing against `httparse::Response::parse`.
//!
//! Shared by `fuzz/fuzz_targets/head_diff.rs` (libFuzzer) and
//! `dugong-proto/tests/fuzz_corpus.rs` (replays the corpus on stable).
//!
//! The input is a raw response stream. dugong parses it as the response to
//! a `HEAD` request that asked to upgrade (so no framing rule applies and a
//! 101 is a valid head); httparse parses it with obs-fold allowed
//! (`allow_obsolete_multiline_headers_in_responses`), since RFC 9112 §5.2
//! lets a user agent accept obs-fold and dugong does. Limits are set so
//! that neither parser runs out of room.
//!
//! - Both accept a complete head: version, status, reason and header fields
//!   (names and values, in order) agree, with httparse's obs-fold values
//!   unfolded as dugong does (each line break and the whitespace around
//!   it becomes one space). dugong's head ends where httparse's does: fed exactly
//!   httparse's head, dugong delivers it and nothing else, with nothing
//!   left over. Then dugong's framing (the same head, answering a `GET`)
//!   is checked against a model of RFC 9112 §6.3 computed from httparse's
//!   fields: dugong accepts it iff the model does, with the same error.
//! - They disagree: the disagreement must be one of the deliberate rules
//!   below, checked on the input itself; anything else panics.
//!
//! Deliberate differences (see `fuzz/README.md`):
//!
//! 1. `BareLf`: dugong rejects a line ending in LF without CR (RFC 9112
//!    §2.2), also in the empty lines before the status line; httparse
//!    takes LF alone as a line end. Checked: dugong's error offset points
//!    at an LF not preceded by CR, within httparse's head.
//! 2. `Version`: dugong reads `HTTP/1.2` to `HTTP/1.9` as HTTP/1.1 (RFC 9110
//!    §2.5); httparse rejects any minor version but 0 and 1. Checked by
//!    comparing again with the minor version rewritten to 1.
//! 3. `Status`: dugong requires a status code from 100 to 999 (RFC 9110
//!    §15); httparse takes any three digits. Checked on httparse's code,
//!    or, while httparse waits for the rest of the head, on the first digit
//!    of the code (dugong refuses a leading `0` as soon as it arrives).
//! 4. `ReasonObsText`: httparse replaces a reason phrase that holds
//!    obs-text (bytes 0x80 to 0xFF) by an empty string; dugong keeps the
//!    bytes.
//! 5. `Incomplete`: dugong validates the header fields of a head only once
//!    it is complete (its end found), except for bare LF; httparse fails
//!    as soon as a byte is wrong. So dugong "needs more" where httparse
//!    rejects. Checked: the input has no empty line and no bare LF after
//!    the status line start. (The status line itself dugong checks byte by
//!    byte, as httparse does.)
//! 6. `Framing`: the framing rules (RFC 9112 §6.3) that httparse does not
//!    apply: `Transfer-Encoding` together with `Content-Length`, in an
//!    HTTP/1.0 response, not a well-formed list of codings (a quoted
//!    string or other non-token where a coding goes, empty, parameters on
//!    `chunked`) or with `chunked` twice, or with another coding
//!    (unsupported); a `Content-Length` that is not digits, overflows 64
//!    bits, or differs between values.
//! 8. `Upgrade`: dugong takes a `101` only if its `Upgrade` field names
//!    protocols the request offered (RFC 9110 §7.8; the oracle's request
//!    offers `websocket`); httparse does not interpret fields. Checked on
//!    httparse's fields.

use std::fmt;

use dugong_proto::{
    Body, Bytes, Config, Connection, Error, Event, InvalidResponse, Unsupported, Version,
};

/// Bytes, shown escaped.
#[derive(Clone, PartialEq, Eq)]
struct B(Vec<u8>);

impl fmt::Debug for B {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A parsed head, as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    /// 0 or 1 (`HTTP/1.0` or later).
    minor: u8,
    status: u16,
    reason: B,
    fields: Vec<(B, B)>,
}

/// What dugong made of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ours {
    /// A `100 Continue` (dugong delivers no head for it).
    Continue,
    Head(Head),
    Partial,
    Reject(Error),
}

/// What httparse made of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Theirs {
    Head { len: usize, head: Head },
    Partial,
    Reject(httparse::Error),
}

fn config(data: &[u8]) -> Config {
    Config::default()
        .with_max_head_bytes(data.len() + 16)
        .with_max_headers(data.len() + 1)
}

/// A connection with one request in flight that asked to upgrade, and
/// waits for `100 Continue` with its body (so that dugong reports a
/// `100`, which it consumes when nothing waits for it).
fn connection(data: &[u8], method: &str) -> Connection {
    let mut conn = Connection::new(config(data));
    let headers = [
        ("Host", "example.com"),
        ("Connection", "upgrade"),
        ("Upgrade", "websocket"),
        ("Expect", "100-continue"),
    ];
    let body = Body::Full(Bytes::from_static(b"x"));
    if let Err(e) = conn.send_request(method, "/", headers, body) {
        panic!("request refused: {e}");
    }
    while conn.poll_transmit().is_some() {}
    conn
}

fn our_head(r: &dugong_proto::Response) -> Head {
    Head {
        minor: match r.version() {
            Version::Http10 => 0,
            _ => 1,
        },
        status: r.status(),
        reason: B(r.reason().to_vec()),
        fields: r
            .headers()
            .iter()
            .map(|(n, v)| (B(n.as_bytes().to_vec()), B(v.to_vec())))
            .collect(),
    }
}

fn ours_from(event: Result<Option<Event>, Error>) -> Ours {
    match event {
        Ok(Some(Event::Continue(_))) => Ours::Continue,
        Ok(Some(Event::Informational(r) | Event::Headers(r))) => Ours::Head(our_head(&r)),
        Ok(Some(other)) => panic!("first event is not a head: {other:?}"),
        Ok(None) => Ours::Partial,
        Err(e) => Ours::Reject(e),
    }
}

fn parse_ours(data: &[u8]) -> Ours {
    let mut conn = connection(data, "HEAD");
    if let Err(e) = conn.receive(data) {
        panic!("receive refused: {e}");
    }
    ours_from(conn.poll_event())
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Turns every obs-fold in an httparse value (a CRLF and the whitespace
/// around it) into one space, as dugong does, and trims the ends.
fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i..].starts_with(b"\r\n") {
            while out.last().is_some_and(|&b| is_ows(b)) {
                out.pop();
            }
            out.push(b' ');
            i += 2;
            while i < value.len() && is_ows(value[i]) {
                i += 1;
            }
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    let start = out.iter().position(|&b| !is_ows(b)).unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    out[start..end].to_vec()
}

fn parse_theirs(data: &[u8]) -> Theirs {
    let mut headers = vec![httparse::EMPTY_HEADER; data.len() / 2 + 8];
    let mut response = httparse::Response::new(&mut headers);
    let mut config = httparse::ParserConfig::default();
    config.allow_obsolete_multiline_headers_in_responses(true);
    match config.parse_response(&mut response, data) {
        Ok(httparse::Status::Complete(len)) => Theirs::Head {
            len,
            head: Head {
                minor: response.version.unwrap_or(9),
                status: response.code.unwrap_or(0),
                reason: B(response.reason.unwrap_or("").as_bytes().to_vec()),
                fields: response
                    .headers
                    .iter()
                    .map(|h| (B(h.name.as_bytes().to_vec()), B(unfold(h.value))))
                    .collect(),
            },
        },
        Ok(httparse::Status::Partial) => Theirs::Partial,
        Err(e) => Theirs::Reject(e),
    }
}

/// Where the status line starts for dugong: after pairs of CRLF.
fn status_line_start(data: &[u8]) -> usize {
    data.chunks_exact(2).take_while(|p| *p == b"\r\n").count() * 2
}

/// True if the status code of the status line starts with `0` (a code
/// below 100, deliberate difference 3).
fn status_code_below_100(data: &[u8]) -> bool {
    let line = &data[status_line_start(data)..];
    line.starts_with(b"HTTP/1.") && line.get(9) == Some(&b'0')
}

/// True if a `101` is one dugong must refuse (deliberate difference 8):
/// its `Upgrade` values name no protocol, or one other than `websocket`
/// (ignoring ASCII case, with any version).
fn upgrade_not_offered(head: &Head) -> bool {
    let mut named = 0;
    for (name, value) in &head.fields {
        if !name.0.eq_ignore_ascii_case(b"upgrade") {
            continue;
        }
        for protocol in elements(&value.0).filter(|e| !e.is_empty()) {
            named += 1;
            let name = protocol.split(|&b| b == b'/').next().unwrap_or_default();
            if !name.eq_ignore_ascii_case(b"websocket") {
                return true;
            }
        }
    }
    head.status == 101 && named == 0
}

/// The input with an `HTTP/1.2`..`HTTP/1.9` status line rewritten to
/// `HTTP/1.1` (deliberate difference 2).
fn patch_version(data: &[u8]) -> Option<Vec<u8>> {
    let start = status_line_start(data);
    let line = &data[start..];
    if line.len() > 8 && line.starts_with(b"HTTP/1.") && (b'2'..=b'9').contains(&line[7]) {
        let mut patched = data.to_vec();
        patched[start + 7] = b'1';
        Some(patched)
    } else {
        None
    }
}

/// Runs the oracle on one input; panics on an unexplained disagreement.
pub fn run(data: &[u8]) {
    let ours = parse_ours(data);
    if let Some(patched) = patch_version(data) {
        // Deliberate difference 2: the minor version is all that changed,
        // and dugong reads both as HTTP/1.1.
        assert_eq!(
            ours,
            parse_ours(&patched),
            "HTTP/1.x read differently from HTTP/1.1"
        );
        compare(&patched, ours);
    } else {
        compare(data, ours);
    }
}

/// True if dugong must wait for more: after the skipped CRLF pairs, no
/// empty line (CRLF CRLF) and no bare LF yet.
fn incomplete(data: &[u8]) -> bool {
    let rest = &data[status_line_start(data)..];
    let bare_lf = (0..rest.len()).any(|i| is_bare_lf(rest, i));
    !bare_lf && !rest.windows(4).any(|w| w == b"\r\n\r\n")
}

fn is_bare_lf(data: &[u8], at: usize) -> bool {
    data.get(at) == Some(&b'\n') && (at == 0 || data[at - 1] != b'\r')
}

fn compare(data: &[u8], ours: Ours) {
    let theirs = parse_theirs(data);
    let fail = |why: &str| -> ! {
        panic!(
            "unexplained disagreement ({why}):\n dugong:   {ours:?}\n httparse: {theirs:?}\n input: b\"{}\"",
            data.escape_ascii()
        )
    };
    match (&ours, &theirs) {
        (Ours::Head(o), Theirs::Head { head: t, .. }) => {
            if o.minor != t.minor || o.status != t.status || o.fields != t.fields {
                fail("heads differ");
            }
            // Deliberate difference 4.
            let obs_text = o.reason.0.iter().any(|&b| b >= 0x80);
            if o.reason != t.reason && !(obs_text && t.reason.0.is_empty()) {
                fail("reason phrases differ");
            }
        }
        (Ours::Continue, Theirs::Head { head: t, .. }) => {
            if t.status != 100 {
                fail("dugong saw 100 Continue");
            }
        }
        (Ours::Reject(e), Theirs::Head { len, head: t }) => match e {
            // Deliberate difference 1.
            Error::InvalidResponse {
                kind: InvalidResponse::BareLf,
                offset,
            } if is_bare_lf(data, *offset as usize) && (*offset as usize) < *len => {}
            // Deliberate difference 3.
            Error::InvalidResponse {
                kind: InvalidResponse::Status,
                ..
            } if t.status < 100 => {}
            // Deliberate difference 8 (7 is obs-fold, see fuzz/README.md).
            Error::InvalidResponse {
                kind: InvalidResponse::UpgradeNotOffered,
                ..
            } if t.status == 101 && upgrade_not_offered(t) => {}
            _ => fail("dugong rejects what httparse accepts"),
        },
        (Ours::Reject(e), Theirs::Partial) => match e {
            // Deliberate difference 1: dugong fails at the first bare LF,
            // httparse waits for the end of the head.
            Error::InvalidResponse {
                kind: InvalidResponse::BareLf,
                offset,
            } if is_bare_lf(data, *offset as usize) => {}
            // Deliberate difference 3: dugong checks the status code's
            // first digit as soon as it arrives.
            Error::InvalidResponse {
                kind: InvalidResponse::Status,
                ..
            } if status_code_below_100(data) => {}
            _ => fail("dugong rejects what httparse finds incomplete"),
        },
        // Deliberate difference 5, when dugong really lacks the end.
        (Ours::Partial, Theirs::Reject(_) | Theirs::Partial) => {
            if !incomplete(data) {
                fail("dugong waits for more after a complete head");
            }
        }
        (Ours::Reject(_), Theirs::Reject(_)) => {}
        _ => fail("acceptance differs"),
    }
    if let Theirs::Head { len, head } = &theirs {
        if !matches!(ours, Ours::Reject(_)) {
            check_length(data, *len, &ours);
            check_framing(data, *len, head);
        }
    }
}

/// Fed exactly httparse's head, dugong delivers the same head and nothing
/// else, and keeps no byte.
fn check_length(data: &[u8], len: usize, ours: &Ours) {
    let head = &data[..len];
    let mut conn = connection(data, "HEAD");
    if let Err(e) = conn.receive(head) {
        panic!("receive refused: {e}");
    }
    let first = ours_from(conn.poll_event());
    assert_eq!(
        &first,
        ours,
        "dugong reads httparse's head (b\"{}\") differently from the whole input",
        head.escape_ascii()
    );
    loop {
        match conn.poll_event() {
            Ok(None) => break,
            Ok(Some(Event::End { .. })) => {}
            Ok(Some(Event::Upgraded { rest })) => {
                assert!(rest.is_empty(), "dugong's head is shorter than httparse's");
                break;
            }
            other => panic!(
                "after httparse's head (b\"{}\") dugong gives {other:?}",
                head.escape_ascii()
            ),
        }
    }
    assert!(
        conn.recv_buf().is_empty(),
        "dugong's head is shorter than httparse's"
    );
}

/// What the framing rules say of a head: `Ok`, or the error dugong must
/// report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Ok,
    Invalid(InvalidResponse),
    Unsupported,
}

fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|e| {
        let start = e.iter().position(|&b| !is_ows(b)).unwrap_or(e.len());
        let end = e.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
        &e[start..end]
    })
}

/// Folds a `Content-Length` value into the length read so far: every
/// element digits only, no overflow, all equal (RFC 9110 §8.6, RFC 9112
/// §6.3 rule 5).
fn merge_length(prev: Option<u64>, value: &[u8]) -> Result<Option<u64>, InvalidResponse> {
    let mut length = prev;
    for element in elements(value) {
        if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
            return Err(InvalidResponse::ContentLength);
        }
        let mut n: u64 = 0;
        for &d in element {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(InvalidResponse::ContentLength)?;
        }
        if length.is_some_and(|l| l != n) {
            return Err(InvalidResponse::ConflictingContentLength);
        }
        length = Some(n);
    }
    Ok(length)
}

fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `"` qdtext or quoted-pair `"` (RFC 9110 §5.6.4), the whole of `bytes`.
fn is_quoted_string(bytes: &[u8]) -> bool {
    let text_byte = |b: u8| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
    let Some(inner) = bytes
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
    else {
        return false;
    };
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'\\' if inner.get(i + 1).is_some_and(|&e| text_byte(e)) => i += 2,
            b'"' | b'\\' => return false,
            b if text_byte(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// `bytes` split at each `sep` outside quoted strings (a backslash inside
/// quotes escapes the next byte).
fn split_outside_quotes(bytes: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(&bytes[start..i]);
            start = i + 1;
        }
    }
    parts.push(&bytes[start..]);
    parts
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The transfer codings of one `Transfer-Encoding` value, each with
/// whether it has parameters; `None` if the value is not a list of
/// `token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) )`
/// (empty elements allowed, RFC 9110 §5.6.1, §10.1.4).
fn transfer_codings(value: &[u8]) -> Option<Vec<(&[u8], bool)>> {
    let mut codings = Vec::new();
    for element in split_outside_quotes(value, b',') {
        if trim(element).is_empty() {
            continue;
        }
        let parts = split_outside_quotes(element, b';');
        let coding = trim(parts[0]);
        if !is_token(coding) {
            return None;
        }
        for parameter in &parts[1..] {
            let (name, value) = parameter.split_at(parameter.iter().position(|&b| b == b'=')?);
            let value = trim(&value[1..]);
            if !is_token(trim(name)) || !(is_token(value) || is_quoted_string(value)) {
                return None;
            }
        }
        codings.push((coding, parts.len() > 1));
    }
    Some(codings)
}

/// RFC 9112 §6.3 for a final response to `GET`, from httparse's fields.
fn framing_model(head: &Head) -> Framing {
    let mut te_seen = false;
    let mut malformed = false;
    let mut codings = 0;
    let mut chunked = 0;
    let mut other = false;
    let mut length: Result<Option<u64>, InvalidResponse> = Ok(None);
    for (name, value) in &head.fields {
        if name.0.eq_ignore_ascii_case(b"transfer-encoding") {
            te_seen = true;
            let Some(list) = transfer_codings(&value.0) else {
                malformed = true;
                continue;
            };
            for (coding, parameters) in list {
                codings += 1;
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked += 1;
                    malformed |= parameters;
                } else {
                    other = true;
                }
            }
        } else if name.0.eq_ignore_ascii_case(b"content-length") {
            if let Ok(prev) = length {
                length = merge_length(prev, &value.0);
            }
        }
    }
    if te_seen {
        if length != Ok(None) {
            Framing::Invalid(InvalidResponse::TransferEncodingWithContentLength)
        } else if head.minor == 0 {
            Framing::Invalid(InvalidResponse::TransferEncodingOnHttp10)
        } else if malformed || codings == 0 || chunked > 1 {
            Framing::Invalid(InvalidResponse::TransferEncoding)
        } else if other {
            Framing::Unsupported
        } else {
            Framing::Ok
        }
    } else {
        match length {
            Err(kind) => Framing::Invalid(kind),
            Ok(_) => Framing::Ok,
        }
    }
}

/// dugong's framing decision on the head (answering a `GET`) matches the
/// model (deliberate difference 6).
fn check_framing(data: &[u8], len: usize, head: &Head) {
    if head.status < 200 || head.status == 204 || head.status == 304 {
        return;
    }
    let mut conn = connection(data, "GET");
    if let Err(e) = conn.receive(&data[..len]) {
        panic!("receive refused: {e}");
    }
    let event = conn.poll_event();
    let got = match &event {
        Ok(Some(Event::Headers(_))) => Framing::Ok,
        Err(Error::InvalidResponse { kind, .. }) => Framing::Invalid(*kind),
        Err(Error::UnsupportedResponse(Unsupported::TransferCoding)) => Framing::Unsupported,
        other => panic!("GET: unexpected {other:?}"),
    };
    let model = framing_model(head);
    assert_eq!(
        got,
        model,
        "framing differs from RFC 9112 §6.3 for b\"{}\"\n dugong: {event:?}\n fields: {:?}",
        data[..len].escape_ascii(),
        head.fields
    );
}
