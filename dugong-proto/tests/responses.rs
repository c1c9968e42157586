//! Table-driven tests of the response side (RFC 9112).
//!
//! Each case names the requests in flight (`common::send_spec` syntax), the
//! raw response bytes, whether the end of stream follows, and the exact
//! normalized outcome: every event, and the error that ends the list (if
//! any). Every case runs twice, with the input received whole and byte by
//! byte; both runs must give the same normalized result. The harness also
//! checks the event grammar, that an error is sticky, and that a connection
//! without an error still owes exactly the unanswered requests.

mod common;

use core::fmt;

use dugong_proto::Fate::{BodyIncomplete, MaybeProcessed, NotProcessed};
use dugong_proto::{
    Arrived, Bytes, Config, Connection, Error, Event, Fate, Headers, InvalidResponse, Limit,
    Response, StateError, Unsupported, Version,
};

// ----- what a run produced, as owned and comparable values -------------------

/// Bytes shown as escaped text.
#[derive(Clone, PartialEq, Eq)]
struct Lat(Vec<u8>);

impl fmt::Debug for Lat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// Latin-1 text (each char at most U+00FF) as bytes.
fn latin1(s: &str) -> Lat {
    Lat(s
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    id: u64,
    version: Version,
    status: u16,
    reason: Lat,
    fields: Vec<(String, Lat)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Continue(u64),
    Informational(Head),
    Headers(Head),
    Data(Lat),
    End(Vec<(String, Lat)>),
    Upgraded(Lat),
    /// `Error::ConnectionClosed`: `(id, fate)` of every unanswered request.
    Closed(Vec<(u64, Fate)>),
    Error(Error),
}

fn fields_of(headers: &Headers) -> Vec<(String, Lat)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_owned(), Lat(v.to_vec())))
        .collect()
}

fn head_of(r: &Response) -> Head {
    Head {
        id: r.id().as_u64(),
        version: r.version(),
        status: r.status(),
        reason: Lat(r.reason().to_vec()),
        fields: fields_of(r.headers()),
    }
}

fn snapshot(events: &[Result<Event, Error>]) -> Vec<Got> {
    events
        .iter()
        .map(|e| match e {
            Ok(Event::Continue(id)) => Got::Continue(id.as_u64()),
            Ok(Event::Informational(r)) => Got::Informational(head_of(r)),
            Ok(Event::Headers(r)) => Got::Headers(head_of(r)),
            Ok(Event::Data(d)) => Got::Data(Lat(d.to_vec())),
            Ok(Event::End { trailers }) => Got::End(fields_of(trailers)),
            Ok(Event::Upgraded { rest }) => Got::Upgraded(Lat(rest.to_vec())),
            Ok(other) => panic!("unknown event {other:?}"),
            Err(Error::ConnectionClosed(c)) => {
                let list: Vec<(u64, Fate)> = c
                    .unanswered()
                    .iter()
                    .map(|u| (u.id.as_u64(), u.fate))
                    .collect();
                // The accessors agree with the list.
                let not: Vec<u64> = c.not_processed().map(|id| id.as_u64()).collect();
                let maybe: Vec<u64> = c.maybe_processed().map(|id| id.as_u64()).collect();
                let want_not: Vec<u64> = list
                    .iter()
                    .filter(|(_, f)| *f == NotProcessed)
                    .map(|(id, _)| *id)
                    .collect();
                let want_maybe: Vec<u64> = list
                    .iter()
                    .filter(|(_, f)| *f != NotProcessed)
                    .map(|(id, _)| *id)
                    .collect();
                assert_eq!(not, want_not, "Closed::not_processed");
                assert_eq!(maybe, want_maybe, "Closed::maybe_processed");
                Got::Closed(list)
            }
            Err(e) => Got::Error(e.clone()),
        })
        .collect()
}

// ----- what a case expects ------------------------------------------------------

#[derive(Debug)]
enum Exp {
    /// Exactly this.
    Is(Got),
    /// An `Error::InvalidResponse` of this kind, at any offset.
    Invalid(InvalidResponse),
}

impl Exp {
    fn matches(&self, got: &Got) -> bool {
        match self {
            Exp::Is(want) => want == got,
            Exp::Invalid(kind) => {
                matches!(got, Got::Error(Error::InvalidResponse { kind: k, .. }) if k == kind)
            }
        }
    }
}

fn owned_fields(fields: &[(&str, &str)]) -> Vec<(String, Lat)> {
    fields
        .iter()
        .map(|(n, v)| ((*n).to_owned(), latin1(v)))
        .collect()
}

fn mk_head(id: u64, version: Version, status: u16, reason: &str, f: &[(&str, &str)]) -> Head {
    Head {
        id,
        version,
        status,
        reason: latin1(reason),
        fields: owned_fields(f),
    }
}

/// `Headers` of an HTTP/1.1 response (names and values as latin-1 text).
fn hdr(id: u64, status: u16, reason: &str, fields: &[(&str, &str)]) -> Exp {
    Exp::Is(Got::Headers(mk_head(
        id,
        Version::Http11,
        status,
        reason,
        fields,
    )))
}

/// `Headers` of an HTTP/1.0 response.
fn hdr10(id: u64, status: u16, reason: &str, fields: &[(&str, &str)]) -> Exp {
    Exp::Is(Got::Headers(mk_head(
        id,
        Version::Http10,
        status,
        reason,
        fields,
    )))
}

/// `Informational` (HTTP/1.1).
fn info(id: u64, status: u16, reason: &str, fields: &[(&str, &str)]) -> Exp {
    Exp::Is(Got::Informational(mk_head(
        id,
        Version::Http11,
        status,
        reason,
        fields,
    )))
}

fn cont(id: u64) -> Exp {
    Exp::Is(Got::Continue(id))
}

fn data(bytes: &[u8]) -> Exp {
    Exp::Is(Got::Data(Lat(bytes.to_vec())))
}

fn end() -> Exp {
    Exp::Is(Got::End(Vec::new()))
}

fn end_with(trailers: &[(&str, &str)]) -> Exp {
    Exp::Is(Got::End(owned_fields(trailers)))
}

fn upgraded(rest: &[u8]) -> Exp {
    Exp::Is(Got::Upgraded(Lat(rest.to_vec())))
}

fn closed(unanswered: &[(u64, Fate)]) -> Exp {
    Exp::Is(Got::Closed(unanswered.to_vec()))
}

fn invalid(kind: InvalidResponse) -> Exp {
    Exp::Invalid(kind)
}

fn invalid_at(kind: InvalidResponse, offset: u64) -> Exp {
    Exp::Is(Got::Error(Error::InvalidResponse { kind, offset }))
}

fn err(e: Error) -> Exp {
    Exp::Is(Got::Error(e))
}

fn too_large(limit: Limit) -> Exp {
    err(Error::TooLarge(limit))
}

fn unsupported(u: Unsupported) -> Exp {
    err(Error::UnsupportedResponse(u))
}

// ----- running a case -------------------------------------------------------------

fn connect(requests: &[&str], config: &Config) -> Connection {
    let mut conn = Connection::new(config.clone());
    for spec in requests {
        common::send_spec(&mut conn, spec)
            .unwrap_or_else(|e| panic!("request {spec:?} refused: {e}"));
    }
    while conn.poll_transmit().is_some() {}
    conn
}

/// Byte by byte, for cases that hand the connection over: once `Upgraded`
/// is out, the connection takes no more bytes, and the bytes not yet given
/// to it belong to the new protocol, so they are appended to `rest` to
/// compare with a whole run.
fn feed_upgrading(conn: &mut Connection, input: &[u8], eof: bool) -> Vec<Result<Event, Error>> {
    let mut out = Vec::new();
    let mut fed = 0;
    while fed < input.len() && !matches!(out.last(), Some(Err(_))) {
        conn.receive(&input[fed..=fed]).expect("receive accepted");
        fed += 1;
        common::drain(conn, &mut out);
        if out.iter().any(|e| matches!(e, Ok(Event::Upgraded { .. }))) {
            break;
        }
    }
    if let Some(Ok(Event::Upgraded { rest })) = out.last_mut() {
        let mut all = rest.to_vec();
        all.extend_from_slice(&input[fed..]);
        *rest = Bytes::from(all);
    }
    if eof && !matches!(out.last(), Some(Err(_))) {
        conn.receive_eof();
        common::drain(conn, &mut out);
    }
    common::normalize(out)
}

/// The event grammar of `Event`'s documentation, per request in order;
/// an error only last; `ConnectionClosed` names every unanswered request.
fn check_grammar(got: &[Got], requests: usize) -> u64 {
    let mut current = 0u64;
    let mut in_body = false;
    let mut handed_over = false;
    for (i, g) in got.iter().enumerate() {
        assert!(!handed_over, "event after Upgraded: {g:?}");
        match g {
            Got::Continue(id) => assert!(!in_body && *id == current, "misplaced {g:?}"),
            Got::Informational(h) => assert!(
                !in_body && h.id == current && (102..200).contains(&h.status),
                "misplaced {g:?}"
            ),
            Got::Headers(h) => {
                assert!(!in_body && h.id == current, "misplaced {g:?}");
                assert!((101..1000).contains(&h.status) && h.status != 100);
                in_body = true;
            }
            Got::Data(d) => assert!(in_body && !d.0.is_empty(), "misplaced {g:?}"),
            Got::End(_) => {
                assert!(in_body, "misplaced {g:?}");
                in_body = false;
                current += 1;
            }
            Got::Upgraded(_) => {
                assert!(in_body, "misplaced {g:?}");
                handed_over = true;
                current += 1;
            }
            Got::Closed(list) => {
                assert_eq!(i, got.len() - 1, "error not last");
                let ids: Vec<u64> = list.iter().map(|(id, _)| *id).collect();
                let owed: Vec<u64> = (current..requests as u64).collect();
                assert_eq!(
                    ids, owed,
                    "ConnectionClosed must name every unanswered request"
                );
            }
            Got::Error(_) => assert_eq!(i, got.len() - 1, "error not last"),
        }
    }
    assert!(current <= requests as u64, "more responses than requests");
    current
}

/// After a run: a fatal error is repeated by every later call; without one,
/// the connection is alive and owes the unanswered requests.
fn check_after(conn: &mut Connection, events: &[Result<Event, Error>], answered: u64, n: usize) {
    match events.last() {
        Some(Err(e)) => {
            assert!(e.is_fatal(), "response-side errors are fatal: {e:?}");
            assert_eq!(conn.error(), Some(e), "error() after the error");
            assert_eq!(conn.poll_event(), Err(e.clone()), "sticky poll_event");
            assert_eq!(conn.poll_event(), Err(e.clone()), "sticky poll_event");
            assert_eq!(
                conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Err(e.clone()),
                "receive after the error"
            );
            assert_eq!(conn.poll_event(), Err(e.clone()), "sticky after receive");
            assert!(conn.must_close());
        }
        _ => {
            assert_eq!(conn.error(), None);
            assert_eq!(conn.poll_event(), Ok(None));
            if conn.is_upgraded() {
                assert_eq!(conn.receive(b"x"), Err(Error::State(StateError::Upgrading)));
                assert_eq!(conn.in_flight(), 0);
            } else {
                assert_eq!(conn.in_flight() as u64, n as u64 - answered);
            }
        }
    }
}

fn check(requests: &[&str], config: Config, input: &[u8], eof: bool, expected: Vec<Exp>) {
    let upgrade = expected
        .iter()
        .any(|e| matches!(e, Exp::Is(Got::Upgraded(_))));

    let mut whole_conn = connect(requests, &config);
    let whole = common::normalize(common::feed(&mut whole_conn, input, 0, eof));
    let mut split_conn = connect(requests, &config);
    let split = if upgrade {
        feed_upgrading(&mut split_conn, input, eof)
    } else {
        common::normalize(common::feed(&mut split_conn, input, 1, eof))
    };
    let got = snapshot(&whole);
    let got_split = snapshot(&split);

    let ok = got.len() == expected.len() && expected.iter().zip(&got).all(|(e, g)| e.matches(g));
    assert!(
        ok,
        "\nexpected: {expected:#?}\n     got: {got:#?}\n   input: \"{}\" eof={eof}",
        input.escape_ascii()
    );
    assert_eq!(
        got,
        got_split,
        "whole (left) and byte-by-byte (right) runs differ; input \"{}\"",
        input.escape_ascii()
    );

    let answered = check_grammar(&got, requests.len());
    check_after(&mut whole_conn, &whole, answered, requests.len());
    check_after(&mut split_conn, &split, answered, requests.len());
}

/// One `#[test]` per case, so a failure names the rule.
macro_rules! res {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident {
            reqs: [$($req:expr),* $(,)?],
            $(config: $config:expr,)?
            input: $input:expr,
            eof: $eof:expr,
            expect: [$($exp:expr),* $(,)?] $(,)?
        }
    )*) => {$(
        $(#[doc = $doc])*
        #[test]
        fn $name() {
            let config: Config = res!(@config $($config)?);
            check(&[$($req),*], config, $input, $eof, vec![$($exp),*]);
        }
    )*};
    (@config) => { Config::default() };
    (@config $config:expr) => { $config };
}

// ----- status line (RFC 9112 §4) ----------------------------------------------------

res! {
    /// The plain case: HTTP/1.1, reason phrase, Content-Length body.
    status_http11_ok {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "5")]), data(b"hello"), end()],
    }

    /// HTTP/1.0 is read as such.
    status_http10 {
        reqs: ["GET"],
        input: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        eof: false,
        expect: [hdr10(0, 200, "OK", &[("Content-Length", "2")]), data(b"hi"), end()],
    }

    /// A later HTTP/1.x minor version is read as 1.1 (RFC 9110 §2.5).
    status_http12_read_as_http11 {
        reqs: ["GET"],
        input: b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end()],
    }

    /// HTTP/2.0 is not an HTTP/1.x status line.
    status_http20_invalid {
        reqs: ["GET"],
        input: b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::Version, 0)],
    }

    /// "HTTP/2" without a minor version.
    status_http2_no_minor_invalid {
        reqs: ["GET"],
        input: b"HTTP/2 200 OK\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Version)],
    }

    /// The HTTP-name is case-sensitive (RFC 9112 §2.3).
    status_lowercase_http_invalid {
        reqs: ["GET"],
        input: b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"h")), 0)],
    }

    /// The minor version is one digit.
    status_two_digit_minor_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.10 200 OK\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Version)],
    }

    /// Reason phrase missing, SP present.
    status_empty_reason_with_sp {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "", &[("Content-Length", "0")]), end()],
    }

    /// Reason phrase and its SP missing: accepted (robustness; the reason
    /// is to be ignored anyway).
    status_empty_reason_without_sp {
        reqs: ["GET"],
        input: b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "", &[("Content-Length", "0")]), end()],
    }

    /// obs-text, HTAB and punctuation are allowed in the reason phrase.
    status_reason_obs_text_and_htab {
        reqs: ["GET"],
        input: b"HTTP/1.1 404 Pas\ttrouv\xe9 (\xa0!)\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 404, "Pas\ttrouv\u{e9} (\u{a0}!)", &[("Content-Length", "0")]),
            end(),
        ],
    }

    /// A control character in the reason phrase.
    status_reason_ctl_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::StatusLineCharacter)],
    }

    /// A bare CR in the reason phrase.
    status_reason_bare_cr_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::StatusLineCharacter)],
    }

    /// Status codes are three digits: "99" is too short.
    status_99_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 99 Low\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Status)],
    }

    /// Three digits but below 100.
    status_099_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 099 Low\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Status)],
    }

    /// Above 599: delivered as it is (RFC 9110 §15: a client treats an
    /// unrecognised three-digit code as x00 of its class, here as a 5xx),
    /// framed as any response with a body.
    status_600_accepted {
        reqs: ["GET"],
        input: b"HTTP/1.1 600 High\r\nContent-Length: 2\r\n\r\nok",
        eof: false,
        expect: [hdr(0, 600, "High", &[("Content-Length", "2")]), data(b"ok"), end()],
    }

    /// 999, the highest three-digit code, with a body read to the close.
    status_999_accepted_until_close {
        reqs: ["GET"],
        input: b"HTTP/1.1 999 \r\n\r\nbody",
        eof: true,
        expect: [hdr(0, 999, "", &[]), data(b"body"), end()],
    }

    /// Four digits.
    status_2000_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Status)],
    }

    /// Not digits.
    status_abc_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Status)],
    }

    /// Exactly one SP between version and status.
    status_double_space_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::Status)],
    }

    /// Empty lines before a status line are ignored (RFC 9112 §2.2).
    status_leading_empty_lines_ignored {
        reqs: ["GET"],
        input: b"\r\n\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [hdr(0, 204, "No Content", &[]), end()],
    }

    /// A bare LF where the status line (or an empty line) should start.
    status_leading_bare_lf_invalid {
        reqs: ["GET"],
        input: b"\nHTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::BareLf, 0)],
    }

    /// A bare LF after a skipped empty line.
    status_bare_lf_after_empty_line_invalid {
        reqs: ["GET"],
        input: b"\r\n\nHTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::BareLf, 2)],
    }

    /// The status line ends in a bare LF.
    status_line_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::BareLf, 15)],
    }
}

// ----- header fields (RFC 9112 §5, RFC 9110 §5) --------------------------------------

res! {
    /// A header line ends in a bare LF.
    header_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nA: b\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::BareLf, 21)],
    }

    /// The empty line that ends the head is a bare LF.
    header_section_end_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nA: b\r\n\nhello",
        eof: false,
        expect: [invalid_at(InvalidResponse::BareLf, 23)],
    }

    /// No whitespace between field name and colon (RFC 9112 §5.1).
    header_space_before_colon_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderName)],
    }

    /// An empty field name.
    header_empty_name_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderName)],
    }

    /// A field line without a colon.
    header_no_colon_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderName)],
    }

    /// A field name with a delimiter that is not a token character.
    header_name_delimiter_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX[1]: y\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderName)],
    }

    /// A field name with a non-ASCII byte.
    header_name_non_ascii_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nCaf\xe9: y\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderName)],
    }

    /// NUL in a field value (RFC 9110 §5.5).
    header_value_nul_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderValue)],
    }

    /// Another control character in a field value.
    header_value_ctl_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\x1bb\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderValue)],
    }

    /// DEL in a field value.
    header_value_del_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderValue)],
    }

    /// A bare CR in a field value.
    header_value_bare_cr_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderValue)],
    }

    /// Values lose leading and trailing OWS, keep inner whitespace and
    /// obs-text; empty values are kept; names keep their case, order and
    /// duplicates.
    header_values_trimmed_obs_text_kept {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n\
                 X-Trim: \t a \t b \t\r\n\
                 X-Empty:\r\n\
                 X-Latin: caf\xe9\r\n\
                 x-dup: 1\r\n\
                 X-DUP: 2\r\n\
                 Content-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[
                ("X-Trim", "a \t b"),
                ("X-Empty", ""),
                ("X-Latin", "caf\u{e9}"),
                ("x-dup", "1"),
                ("X-DUP", "2"),
                ("Content-Length", "0"),
            ]),
            end(),
        ],
    }

    /// obs-fold is replaced by SP (RFC 9112 §5.2): the CRLF and the
    /// whitespace around it become one space.
    header_obs_fold_unfolded {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\r\n\x20b\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("X", "a b"), ("Content-Length", "0")]), end()],
    }

    /// Several continuation lines.
    header_obs_fold_several_lines {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\r\n\x20b\r\n\x20\x20c \r\nY: z\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("X", "a b c"), ("Y", "z"), ("Content-Length", "0")]),
            end(),
        ],
    }

    /// A fold after an empty value: the value is what follows.
    header_obs_fold_after_empty_value {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX:\r\n\x20b\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("X", "b"), ("Content-Length", "0")]), end()],
    }

    /// obs-fold = OWS CRLF RWS: an HTAB that is part of the fold must be
    /// replaced by SP as well ("replace each received obs-fold with one or
    /// more SP octets", RFC 9112 §5.2; the `Headers` doc: "any obs-fold
    /// replaced by spaces").
    header_obs_fold_htab_becomes_space {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("X", "a b"), ("Content-Length", "0")]), end()],
    }

    /// A folded value holding a control character.
    header_obs_fold_ctl_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a\r\n\x20b\x00\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::HeaderValue)],
    }

    /// Whitespace before the first header field (RFC 9112 §2.2).
    header_leading_whitespace_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n\x20X: y\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::LeadingWhitespace)],
    }
}

// ----- limits ----------------------------------------------------------------------

res! {
    /// A head longer than max_head_bytes.
    limit_head_bytes_exceeded {
        reqs: ["GET"],
        config: Config::default().with_max_head_bytes(32),
        input: b"HTTP/1.1 200 OK\r\nX-Padding: 0123456789abcdef\r\n\r\n",
        eof: false,
        expect: [too_large(Limit::HeadBytes(32))],
    }

    /// A head of exactly max_head_bytes (38) is accepted.
    limit_head_bytes_exact_ok {
        reqs: ["GET"],
        config: Config::default().with_max_head_bytes(38),
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end()],
    }

    /// One byte more than the limit.
    limit_head_bytes_one_over {
        reqs: ["GET"],
        config: Config::default().with_max_head_bytes(37),
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [too_large(Limit::HeadBytes(37))],
    }

    /// Empty lines before the status line do not count, and the limit is
    /// per head, not per connection.
    limit_head_bytes_excludes_empty_lines_and_is_per_head {
        reqs: ["GET", "GET"],
        config: Config::default().with_max_head_bytes(38),
        input: b"\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
                 \r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "0")]),
            end(),
            hdr(1, 200, "OK", &[("Content-Length", "0")]),
            end(),
        ],
    }

    /// More header fields than max_headers.
    limit_headers_exceeded {
        reqs: ["GET"],
        config: Config::default().with_max_headers(2),
        input: b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [too_large(Limit::Headers(2))],
    }

    /// Exactly max_headers fields; a continuation line is not a field.
    limit_headers_exact_with_fold_ok {
        reqs: ["GET"],
        config: Config::default().with_max_headers(2),
        input: b"HTTP/1.1 204 No Content\r\nA: 1\r\n\x201b\r\nB: 2\r\n\r\n",
        eof: false,
        expect: [hdr(0, 204, "No Content", &[("A", "1 1b"), ("B", "2")]), end()],
    }

    /// A chunk-size line longer than max_chunk_line_bytes.
    limit_chunk_line_exceeded {
        reqs: ["GET"],
        config: Config::default().with_max_chunk_line_bytes(8),
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;ab=cdef\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 too_large(Limit::ChunkLineBytes(8))],
    }

    /// A chunk-size line of exactly max_chunk_line_bytes (with its CRLF).
    limit_chunk_line_exact_ok {
        reqs: ["GET"],
        config: Config::default().with_max_chunk_line_bytes(8),
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;ab=c\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello"), end()],
    }

    /// A trailer section longer than max_trailer_bytes.
    limit_trailer_bytes_exceeded {
        reqs: ["GET"],
        config: Config::default().with_max_trailer_bytes(9),
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: yzw\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 too_large(Limit::TrailerBytes(9))],
    }

    /// A trailer section of exactly max_trailer_bytes.
    limit_trailer_bytes_exact_ok {
        reqs: ["GET"],
        config: Config::default().with_max_trailer_bytes(9),
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: yz\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), end_with(&[("X", "yz")])],
    }

    /// max_headers also bounds the number of trailer fields.
    limit_headers_counts_trailers {
        reqs: ["GET"],
        config: Config::default().with_max_headers(1),
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 too_large(Limit::Headers(1))],
    }
}

// ----- message body length (RFC 9112 §6.3) --------------------------------------------

res! {
    /// Rule 1: a response to HEAD has no body whatever Content-Length says;
    /// the next response follows right after the head.
    framing_head_with_content_length_no_body {
        reqs: ["HEAD", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "5")]),
            end(),
            hdr(1, 200, "OK", &[("Content-Length", "2")]),
            data(b"hi"),
            end(),
        ],
    }

    /// Rule 1: nor does Transfer-Encoding give a HEAD response a body.
    framing_head_with_chunked_no_body {
        reqs: ["HEAD", "GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 HTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            end(),
            hdr(1, 204, "No Content", &[]),
            end(),
        ],
    }

    /// Rule 1: 204 has no body.
    framing_204_with_content_length_no_body {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        eof: false,
        expect: [
            hdr(0, 204, "No Content", &[("Content-Length", "5")]),
            end(),
            hdr(1, 200, "OK", &[("Content-Length", "2")]),
            data(b"hi"),
            end(),
        ],
    }

    /// Rule 1: 304 has no body.
    framing_304_with_content_length_no_body {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        eof: false,
        expect: [
            hdr(0, 304, "Not Modified", &[("Content-Length", "5")]),
            end(),
            hdr(1, 200, "OK", &[("Content-Length", "2")]),
            data(b"hi"),
            end(),
        ],
    }

    /// Content-Length: 0 ends the body at once.
    framing_content_length_zero {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "0")]),
            end(),
            hdr(1, 200, "OK", &[("Content-Length", "1")]),
            data(b"x"),
            end(),
        ],
    }

    /// Rule 8: neither field, so the body runs until the end of stream.
    framing_until_close {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n\r\nhello\r\n\r\nworld",
        eof: true,
        expect: [hdr(0, 200, "OK", &[]), data(b"hello\r\n\r\nworld"), end()],
    }

    /// A close-delimited body has no End before the end of stream.
    framing_until_close_no_eof_yet {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n\r\nhello",
        eof: false,
        expect: [hdr(0, 200, "OK", &[]), data(b"hello")],
    }

    /// A close-delimited empty body.
    framing_until_close_empty {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\n\r\n",
        eof: true,
        expect: [hdr(0, 200, "OK", &[]), end()],
    }

    /// A close-delimited HTTP/1.1 response with a request pipelined behind
    /// it: the server did not announce "close", so the pipelined request
    /// may have been processed.
    framing_until_close_pipelined_maybe_processed {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\n\r\nbody",
        eof: true,
        expect: [hdr(0, 200, "OK", &[]), data(b"body"), end(), closed(&[(1, MaybeProcessed)])],
    }
}

// ----- 1xx, upgrades and CONNECT ----------------------------------------------------

res! {
    /// 103 with fields is Informational, then the final response.
    informational_103_then_final {
        reqs: ["GET"],
        input: b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        eof: false,
        expect: [
            info(0, 103, "Early Hints", &[("Link", "</style.css>; rel=preload")]),
            hdr(0, 200, "OK", &[("Content-Length", "2")]),
            data(b"ok"),
            end(),
        ],
    }

    /// 100 Continue releases the held body, then the final response.
    continue_100_then_final {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [cont(0), hdr(0, 201, "Created", &[("Content-Length", "0")]), end()],
    }

    /// 100 Continue to a request that did not ask for it: consumed by the
    /// core, no event (nothing waits for it).
    continue_100_unexpected_consumed {
        reqs: ["GET"],
        input: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end()],
    }

    /// Several 100s: only the first releases the body and is reported.
    continue_100_twice_reported_once {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [cont(0), hdr(0, 200, "OK", &[("Content-Length", "0")]), end()],
    }

    /// A final response before 100 Continue.
    continue_final_first {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 417, "Expectation Failed", &[("Content-Length", "0")]), end()],
    }

    /// Several 1xx in a row; a 1xx never has a body, whatever its fields.
    informational_several {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n\
                 HTTP/1.1 102 Processing\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        eof: false,
        expect: [
            cont(0),
            info(0, 102, "Processing", &[]),
            info(0, 103, "Early Hints", &[("Content-Length", "5")]),
            hdr(0, 200, "OK", &[("Content-Length", "3")]),
            data(b"abc"),
            end(),
        ],
    }

    /// A storm of interim responses is cut off at the configured count.
    informational_storm_is_too_large {
        reqs: ["GET"],
        config: Config::default().with_max_informational(2),
        input: b"HTTP/1.1 103 Early Hints\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            info(0, 103, "Early Hints", &[]),
            info(0, 103, "Early Hints", &[]),
            too_large(Limit::Informational(2)),
        ],
    }

    /// The interim count starts again with each final response.
    informational_count_is_per_response {
        reqs: ["GET", "GET"],
        config: Config::default().with_max_informational(1),
        input: b"HTTP/1.1 103 Early Hints\r\n\r\n\
                 HTTP/1.1 204 No Content\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\n\r\n\
                 HTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [
            info(0, 103, "Early Hints", &[]),
            hdr(0, 204, "No Content", &[]),
            end(),
            info(1, 103, "Early Hints", &[]),
            hdr(1, 204, "No Content", &[]),
            end(),
        ],
    }

    /// 101 to an upgrade request: Headers, then Upgraded with every byte
    /// after the head.
    upgrade_101_switches {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\
                 \x81\x05hello\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        eof: true,
        expect: [
            hdr(0, 101, "Switching Protocols", &[("Upgrade", "websocket"), ("Connection", "Upgrade")]),
            upgraded(b"\x81\x05hello\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
        ],
    }

    /// 101 after a 103, with nothing following.
    upgrade_101_after_103_empty_rest {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        eof: false,
        expect: [
            info(0, 103, "Early Hints", &[]),
            hdr(0, 101, "Switching Protocols", &[("Upgrade", "websocket")]),
            upgraded(b""),
        ],
    }

    /// An upgrade request behind a plain one.
    upgrade_pipelined_after_get {
        reqs: ["GET", "GET:upgrade"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA\
                 HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "1")]),
            data(b"A"),
            end(),
            hdr(1, 101, "Switching Protocols", &[("Upgrade", "websocket")]),
            upgraded(b"frames"),
        ],
    }

    /// The server declines the upgrade: a normal response.
    upgrade_declined_normal_response {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "2")]), data(b"no"), end()],
    }

    /// 101 to a request that did not ask to upgrade.
    upgrade_101_unrequested_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes",
        eof: false,
        expect: [unsupported(Unsupported::UnrequestedSwitch)],
    }

    /// 101 to the plain request in front of an upgrade request.
    upgrade_101_to_wrong_request_unsupported {
        reqs: ["GET", "GET:upgrade"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::UnrequestedSwitch)],
    }

    /// Rule 2: a 2xx to CONNECT makes a tunnel right after the head.
    connect_200_tunnel {
        reqs: ["CONNECT"],
        input: b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01\x00\x05hello",
        eof: false,
        expect: [hdr(0, 200, "Connection Established", &[]), upgraded(b"\x16\x03\x01\x00\x05hello")],
    }

    /// Content-Length and Transfer-Encoding of a 2xx to CONNECT are ignored
    /// (RFC 9110 §9.3.6), even together.
    connect_200_ignores_framing_fields {
        reqs: ["CONNECT"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]),
            upgraded(b"hello"),
        ],
    }

    /// "Any 2xx" to CONNECT makes a tunnel (RFC 9110 §9.3.6, RFC 9112 §6.3
    /// rule 2): 204 included; it has no body either way.
    connect_204_tunnel {
        reqs: ["CONNECT"],
        input: b"HTTP/1.1 204 No Content\r\n\r\ntunnel",
        eof: false,
        expect: [hdr(0, 204, "No Content", &[]), upgraded(b"tunnel")],
    }

    /// A non-2xx to CONNECT is a normal response with a body.
    connect_407_normal_body {
        reqs: ["CONNECT"],
        input: b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                 Proxy-Authenticate: Basic realm=\"proxy\"\r\n\
                 Content-Length: 4\r\n\r\ndeny",
        eof: false,
        expect: [
            hdr(0, 407, "Proxy Authentication Required", &[
                ("Proxy-Authenticate", "Basic realm=\"proxy\""),
                ("Content-Length", "4"),
            ]),
            data(b"deny"),
            end(),
        ],
    }

    /// CONNECT behind a chunked response.
    connect_pipelined_after_chunked {
        reqs: ["GET", "CONNECT"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
                 HTTP/1.1 200 OK\r\n\r\nTLS",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hi"),
            end(),
            hdr(1, 200, "OK", &[]),
            upgraded(b"TLS"),
        ],
    }
}

// ----- Transfer-Encoding (RFC 9112 §6.1, §6.3 rules 3-4) ------------------------------

res! {
    /// Rule 3: Transfer-Encoding with Content-Length is a smuggling
    /// attempt; nothing of it is delivered.
    te_with_content_length_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncodingWithContentLength)],
    }

    /// The same, fields the other way round.
    content_length_with_te_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncodingWithContentLength)],
    }

    /// gzip then chunked is valid but not implemented; the encoded bytes
    /// are never handed over.
    te_gzip_chunked_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// The codings may be spread over several fields.
    te_gzip_chunked_two_fields_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// gzip alone (close-delimited gzip) is not implemented either.
    te_gzip_alone_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        eof: true,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// chunked not the final coding: valid HTTP (RFC 9112 §6.3 rule 4 reads
    /// it until close), but the body would still be coded: unsupported.
    te_chunked_gzip_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// chunked applied twice.
    te_chunked_chunked_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// chunked twice over two fields.
    te_chunked_twice_two_fields_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// An empty Transfer-Encoding.
    te_empty_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// Coding names are case-insensitive; empty list elements are ignored.
    te_chunked_case_insensitive {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: , Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", ", Chunked")]), data(b"hello"), end()],
    }

    /// Transfer-Encoding in an HTTP/1.0 response means faulty framing
    /// (RFC 9112 §6.1).
    te_on_http10_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncodingOnHttp10)],
    }
}

// ----- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3 rule 5) -----------------------------

res! {
    /// A sign is not a digit.
    content_length_plus_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// Negative.
    content_length_negative_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// Two numbers separated by a space.
    content_length_space_separated_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// Hex is not decimal.
    content_length_hex_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// Empty.
    content_length_empty_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// An empty list element.
    content_length_trailing_comma_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// 2^64 overflows.
    content_length_overflow_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\nhello",
        eof: false,
        expect: [invalid(InvalidResponse::ContentLength)],
    }

    /// 2^64 - 1 is valid; the body is then cut by the end of stream.
    content_length_u64_max_cut_by_eof {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nhello",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "18446744073709551615")]),
            data(b"hello"),
            closed(&[(0, BodyIncomplete)]),
        ],
    }

    /// Two fields that differ.
    content_length_two_fields_conflict_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        eof: false,
        expect: [invalid(InvalidResponse::ConflictingContentLength)],
    }

    /// A list whose values differ.
    content_length_list_conflict_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
        eof: false,
        expect: [invalid(InvalidResponse::ConflictingContentLength)],
    }

    /// A list of identical values is one value (RFC 9110 §8.6).
    content_length_identical_list_ok {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "5, 5")]), data(b"hello"), end()],
    }

    /// Identical fields are one value.
    content_length_identical_fields_ok {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "5"), ("Content-Length", "5")]),
            data(b"hello"),
            end(),
        ],
    }

    /// Leading zeros are digits like any other.
    content_length_leading_zeros_ok {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000000005\r\n\r\nhello",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "000000000000000000000005")]),
            data(b"hello"),
            end(),
        ],
    }

    /// Bytes past Content-Length with nothing in flight are unsolicited;
    /// the body itself stops at its length.
    content_length_excess_bytes_unsolicited {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "2")]),
            data(b"he"),
            end(),
            invalid_at(InvalidResponse::Unsolicited, 40),
        ],
    }
}

// ----- chunked (RFC 9112 §7.1) ------------------------------------------------------

res! {
    /// Chunks, then the last chunk and an empty trailer section.
    chunked_basic {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello world"), end()],
    }

    /// Only the last chunk.
    chunked_empty_body {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), end()],
    }

    /// Extensions with BWS around ";" and "=", valueless ones, on the last
    /// chunk too.
    chunked_extensions_with_whitespace {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5 ; name = value ;flag\t;\tx=y\r\nhello\r\n0 ; last\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello"), end()],
    }

    /// Quoted extension values with escapes, ";" and "=" inside.
    chunked_quoted_extension_values {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;a=\"q \\\"x\\\" ;=\";b=\"\"\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello"), end()],
    }

    /// An unterminated quoted extension value.
    chunked_unterminated_quote_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;a=\"open\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// An extension without a name.
    chunked_extension_without_name_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;=x\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// "=" without a value.
    chunked_extension_empty_value_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;a=\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// Upper- and lowercase hex digits.
    chunked_hex_digits_any_case {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"0123456789abcdefghijk"),
            end(),
        ],
    }

    /// More than 16 digits of leading zeros do not overflow.
    chunked_leading_zeros {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 00000000000000000000005\r\nhello\r\n0000000000000000000000\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello"), end()],
    }

    /// 2^64 does not fit.
    chunked_size_overflow {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 10000000000000000\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSizeOverflow)],
    }

    /// 2^64 - 1 fits; the body is then cut by the end of stream.
    chunked_size_u64_max_cut_by_eof {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"abc"),
            closed(&[(0, BodyIncomplete), (1, MaybeProcessed)]),
        ],
    }

    /// "0x5" is not a chunk size followed by valid extensions.
    chunked_size_0x_prefix_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// A sign.
    chunked_size_negative_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// Whitespace before the size.
    chunked_size_leading_space_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// An empty chunk-size line.
    chunked_size_empty_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// The chunk-size line ends in a bare LF.
    chunked_size_line_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid_at(InvalidResponse::BareLf, 48)],
    }

    /// Chunk data not followed by CRLF: the chunk's bytes were delivered as
    /// they came, but the body never ends.
    chunked_data_without_crlf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hello"),
            invalid_at(InvalidResponse::ChunkDataEnd, 55),
        ],
    }

    /// Chunk data followed by a bare LF.
    chunked_data_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hello"),
            invalid(InvalidResponse::ChunkDataEnd),
        ],
    }

    /// More data than the chunk size announced.
    chunked_data_longer_than_size_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hel"),
            invalid(InvalidResponse::ChunkDataEnd),
        ],
    }

    /// Trailer fields are delivered with End.
    chunked_trailers_delivered {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires, X-Sum\r\n\r\n\
                 3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:  ab12 \r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked"), ("Trailer", "Expires, X-Sum")]),
            data(b"abc"),
            end_with(&[("Expires", "never"), ("X-Sum", "ab12")]),
        ],
    }

    /// obs-fold in a trailer is unfolded too.
    chunked_trailer_obs_fold {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\nX: a\r\n\x20b\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), end_with(&[("X", "a b")])],
    }

    /// A trailer line ends in a bare LF.
    chunked_trailer_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid_at(InvalidResponse::BareLf, 54)],
    }

    /// The trailer section ends in a bare LF.
    chunked_trailer_end_bare_lf_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid_at(InvalidResponse::BareLf, 50)],
    }

    /// A trailer with a bad name.
    chunked_trailer_bad_name_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX Y: a\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::HeaderName)],
    }

    /// A trailer value with NUL.
    chunked_trailer_bad_value_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\x00\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::HeaderValue)],
    }

    /// The trailer section starts with whitespace.
    chunked_trailer_leading_whitespace_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\x20X: a\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::LeadingWhitespace)],
    }

    /// A chunked response pipelined between others.
    chunked_pipelined {
        reqs: ["GET", "GET", "HEAD"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 1;x=y\r\na\r\n0\r\nT: 1\r\n\r\n\
                 HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 2\r\nbc\r\n0\r\n\r\n\
                 HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"a"),
            end_with(&[("T", "1")]),
            hdr(1, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"bc"),
            end(),
            hdr(2, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            end(),
        ],
    }
}

// ----- connection management (RFC 9112 §9) ----------------------------------------------

res! {
    /// An HTTP/1.0 response without keep-alive closes the connection: the
    /// request pipelined after it was not processed (§9.3, §9.6).
    http10_without_keep_alive_closes {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        eof: true,
        expect: [
            hdr10(0, 200, "OK", &[("Content-Length", "2")]),
            data(b"hi"),
            end(),
            closed(&[(1, NotProcessed)]),
        ],
    }

    /// A second response after it is an error, not a response.
    http10_without_keep_alive_then_response_invalid {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi\
                 HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nho",
        eof: false,
        expect: [
            hdr10(0, 200, "OK", &[("Content-Length", "2")]),
            data(b"hi"),
            end(),
            invalid_at(InvalidResponse::AfterClose, 40),
        ],
    }

    /// With keep-alive (case-insensitive) it stays open.
    http10_with_keep_alive_stays_open {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi\
                 HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr10(0, 200, "OK", &[("Connection", "Keep-Alive"), ("Content-Length", "2")]),
            data(b"hi"),
            end(),
            hdr10(1, 200, "OK", &[("Connection", "keep-alive"), ("Content-Length", "0")]),
            end(),
        ],
    }

    /// A close-delimited HTTP/1.0 body ends at EOF; what was pipelined
    /// after it was not processed.
    http10_close_delimited_pipelined {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.0 200 OK\r\n\r\nabc",
        eof: true,
        expect: [hdr10(0, 200, "OK", &[]), data(b"abc"), end(), closed(&[(1, NotProcessed)])],
    }

    /// Connection: close mid-pipeline: End, then once the peer closes,
    /// every later request is named as not processed.
    connection_close_mid_pipeline {
        reqs: ["GET", "GET", "GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
                 HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nb\r\n",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "1")]),
            data(b"a"),
            end(),
            hdr(1, 200, "OK", &[("Connection", "close"), ("Content-Length", "1")]),
            data(b"b"),
            end(),
            closed(&[(2, NotProcessed), (3, NotProcessed)]),
        ],
    }

    /// Connection: close mid-pipeline, then a response it announced would
    /// not come: an error at its first byte.
    connection_close_mid_pipeline_then_response_invalid {
        reqs: ["GET", "GET", "GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
                 HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nb\
                 HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "1")]),
            data(b"a"),
            end(),
            hdr(1, 200, "OK", &[("Connection", "close"), ("Content-Length", "1")]),
            data(b"b"),
            end(),
            invalid_at(InvalidResponse::AfterClose, 97),
        ],
    }

    /// "close" among other connection options.
    connection_close_in_list {
        reqs: ["HEAD", "GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 9\r\n\r\n",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Connection", "keep-alive, Close"), ("Content-Length", "9")]),
            end(),
            closed(&[(1, NotProcessed)]),
        ],
    }

    /// Connection: close on the last response, then empty lines and the
    /// end of stream: no error.
    connection_close_last_response_no_error {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\r\n\r\n",
        eof: true,
        expect: [hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "0")]), end()],
    }

    /// Bytes after the last response, which announced the close: nothing
    /// may follow it (RFC 9112 §9.6), so they are an error at once, before
    /// the end of stream.
    connection_close_last_response_then_garbage_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\r\ntrailing garbage",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "0")]),
            end(),
            invalid_at(InvalidResponse::AfterClose, 59),
        ],
    }

    /// A lone CR after it may start an empty line: the end of stream then
    /// ends the connection quietly.
    connection_close_then_lone_cr_and_eof {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\r",
        eof: true,
        expect: [hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "0")]), end()],
    }

    /// With requests pipelined behind it, the connection waits for the
    /// peer's close before naming them unprocessed: until then, nothing.
    connection_close_pipelined_waits_for_the_close {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "0")]), end()],
    }

    /// A second response after the one that announced the close: the
    /// server broke §9.6, so the request behind may have been processed
    /// after all; an error, never "not processed".
    connection_close_then_response_invalid {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "0")]),
            end(),
            invalid_at(InvalidResponse::AfterClose, 57),
        ],
    }

    /// The response announced "close" and its body was then cut: the
    /// request pipelined after it cannot have been processed (§9.6; the
    /// `Fate::NotProcessed` doc).
    connection_close_body_cut_pipelined_not_processed {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhel",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Connection", "close"), ("Content-Length", "10")]),
            data(b"hel"),
            closed(&[(0, BodyIncomplete), (1, NotProcessed)]),
        ],
    }
}

// ----- end of stream -----------------------------------------------------------------

res! {
    /// EOF before any response: the written request may have been processed.
    eof_before_response {
        reqs: ["GET"],
        input: b"",
        eof: true,
        expect: [closed(&[(0, MaybeProcessed)])],
    }

    /// EOF mid-head.
    eof_mid_head {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Le",
        eof: true,
        expect: [closed(&[(0, MaybeProcessed), (1, MaybeProcessed)])],
    }

    /// EOF after only empty lines (and a lone CR).
    eof_after_empty_lines {
        reqs: ["GET"],
        input: b"\r\n\r\n\r",
        eof: true,
        expect: [closed(&[(0, MaybeProcessed)])],
    }

    /// EOF mid-body: that body is cut, the next request may have been
    /// processed.
    eof_mid_body {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "10")]),
            data(b"hello"),
            closed(&[(0, BodyIncomplete), (1, MaybeProcessed)]),
        ],
    }

    /// EOF right after the head of a sized body.
    eof_right_after_head {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        eof: true,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "10")]), closed(&[(0, BodyIncomplete)])],
    }

    /// EOF mid-chunk data.
    eof_mid_chunk_data {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hel"),
            closed(&[(0, BodyIncomplete), (1, MaybeProcessed)]),
        ],
    }

    /// EOF mid chunk-size line.
    eof_mid_chunk_size_line {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hello"),
            closed(&[(0, BodyIncomplete)]),
        ],
    }

    /// EOF between chunk data and its CRLF.
    eof_before_chunk_data_crlf {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"hello"),
            closed(&[(0, BodyIncomplete)]),
        ],
    }

    /// EOF in the trailer section (no final empty line).
    eof_in_trailers {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
        eof: true,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), closed(&[(0, BodyIncomplete)])],
    }

    /// EOF after a 1xx: no final head arrived.
    eof_after_informational {
        reqs: ["GET"],
        input: b"HTTP/1.1 103 Early Hints\r\n\r\n",
        eof: true,
        expect: [info(0, 103, "Early Hints", &[]), closed(&[(0, MaybeProcessed)])],
    }

    /// EOF after a complete response, with another one owed.
    eof_after_complete_response_one_owed {
        reqs: ["HEAD", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "10")]),
            end(),
            closed(&[(1, MaybeProcessed)]),
        ],
    }

    /// EOF after every response is complete: no error.
    eof_after_all_responses {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n",
        eof: true,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "2")]), data(b"ok"), end()],
    }

    /// EOF with nothing ever in flight: no error.
    eof_nothing_in_flight {
        reqs: [],
        input: b"",
        eof: true,
        expect: [],
    }

    /// EOF while the body waits for 100 Continue: the body was never sent,
    /// so the request was not processed.
    eof_awaiting_continue {
        reqs: ["PUT:expect100"],
        input: b"",
        eof: true,
        expect: [closed(&[(0, NotProcessed)])],
    }

    /// EOF after 100 Continue released the body, before it was handed out.
    eof_after_continue_body_not_written {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 100 Continue\r\n\r\n",
        eof: true,
        expect: [cont(0), closed(&[(0, NotProcessed)])],
    }
}

// ----- unsolicited bytes ----------------------------------------------------------------

res! {
    /// A response with no request in flight.
    unsolicited_response {
        reqs: [],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::Unsolicited, 0)],
    }

    /// Bare CRLFs with nothing in flight are fine.
    unsolicited_crlf_ignored {
        reqs: [],
        input: b"\r\n\r\n\r\n",
        eof: true,
        expect: [],
    }

    /// Garbage after the only response.
    garbage_after_complete_response {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\ngarbage",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end(),
                 invalid_at(InvalidResponse::Unsolicited, 38)],
    }

    /// Garbage after empty lines after the only response.
    garbage_after_response_and_crlf {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n\r\nX",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end(),
                 invalid_at(InvalidResponse::Unsolicited, 42)],
    }

    /// Garbage where the next response should be.
    garbage_instead_of_next_response {
        reqs: ["GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\ngarbage\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Content-Length", "0")]), end(),
                 invalid_at(InvalidResponse::NotHttp(Arrived::new(b"g")), 38)],
    }
}

// ----- pipelines -----------------------------------------------------------------------

res! {
    /// HEAD, 1xx + 204, 304, chunked with trailers and a sized body, with
    /// an empty line between two of them.
    pipeline_mixed {
        reqs: ["HEAD", "GET", "GET", "GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n\
                 HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
                 HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n\
                 HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 50\r\n\r\n\
                 HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 3\r\nabc\r\n4\r\ndefg\r\n0\r\nT: v\r\n\r\n\
                 \r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz",
        eof: true,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "100")]),
            end(),
            info(1, 103, "Early Hints", &[("Link", "</a.css>; rel=preload")]),
            hdr(1, 204, "No Content", &[("Content-Length", "7")]),
            end(),
            hdr(2, 304, "Not Modified", &[("ETag", "\"x\""), ("Content-Length", "50")]),
            end(),
            hdr(3, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            data(b"abcdefg"),
            end_with(&[("T", "v")]),
            hdr(4, 200, "OK", &[("Content-Length", "3")]),
            data(b"xyz"),
            end(),
        ],
    }

    /// A 100-continue request behind a plain one.
    pipeline_with_continue {
        reqs: ["GET", "PUT:expect100"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA\
                 HTTP/1.1 100 Continue\r\n\r\n\
                 HTTP/1.1 204 No Content\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "1")]),
            data(b"A"),
            end(),
            cont(1),
            hdr(1, 204, "No Content", &[]),
            end(),
        ],
    }

    /// An error in the second response keeps the first intact and delivers
    /// nothing of the second.
    pipeline_error_in_second {
        reqs: ["GET", "GET", "GET"],
        input: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n\
                 2\r\nno\r\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Content-Length", "2")]),
            data(b"ok"),
            end(),
            invalid(InvalidResponse::TransferEncodingWithContentLength),
        ],
    }
}

// ----- not HTTP at all: refused at the first byte that shows it ------------------------

res! {
    /// A TLS record (a server speaking TLS, spoken to in plain text): the
    /// first byte is enough, nothing is waited for.
    not_http_tls_record {
        reqs: ["GET"],
        input: b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        eof: false,
        expect: [invalid_at(InvalidResponse::Tls, 0)],
    }

    /// A TLS alert record, as a TLS server sends to plain-text bytes.
    not_http_tls_alert {
        reqs: ["GET"],
        input: b"\x15\x03\x03\x00\x02\x02\x28",
        eof: false,
        expect: [invalid_at(InvalidResponse::Tls, 0)],
    }

    /// A NUL byte.
    not_http_nul {
        reqs: ["GET"],
        input: b"\x00",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"\x00")), 0)],
    }

    /// An HTTP/0.9-style answer: the body without a status line.
    not_http_http09_body {
        reqs: ["GET"],
        input: b"<html><body>hello</body></html>\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"<")), 0)],
    }

    /// A stray letter, a colon, a digit.
    not_http_letter {
        reqs: ["GET"],
        input: b"X",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"X")), 0)],
    }

    not_http_colon {
        reqs: ["GET"],
        input: b":",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b":")), 0)],
    }

    not_http_digit {
        reqs: ["GET"],
        input: b"200 OK\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"2")), 0)],
    }

    /// Wrong at the fourth byte: the message shows the bytes up to it.
    not_http_late_in_the_prefix {
        reqs: ["GET"],
        input: b"HTTQ/1.1 200 OK",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"HTTQ")), 0)],
    }

    /// A CR that does not start an empty line.
    not_http_cr_then_letter {
        reqs: ["GET"],
        input: b"\rX",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"\r")), 0)],
    }

    /// Empty lines before the status line are still skipped; what follows
    /// them is checked the same way.
    not_http_after_empty_lines {
        reqs: ["GET"],
        input: b"\r\n\r\nnope",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"n")), 4)],
    }

    /// A prefix of `HTTP/` is waited on, then the end of stream is a close.
    not_http_prefix_waits {
        reqs: ["GET"],
        input: b"\r\nHTTP/1",
        eof: true,
        expect: [closed(&[(0, MaybeProcessed)])],
    }

    /// Refused before the head limit: no `TooLarge` for a stream of text.
    not_http_before_the_head_limit {
        reqs: ["GET"],
        config: Config::default().with_max_head_bytes(16),
        input: b"Lorem ipsum dolor sit amet, consectetur adipiscing elit",
        eof: false,
        expect: [invalid_at(InvalidResponse::NotHttp(Arrived::new(b"L")), 0)],
    }

    /// HTTP/2's version, refused at its major digit.
    not_http1_version_at_once {
        reqs: ["GET"],
        input: b"HTTP/2",
        eof: false,
        expect: [invalid_at(InvalidResponse::Version, 0)],
    }

    /// A status code that is not digits, refused at its first byte.
    status_code_letter_at_once {
        reqs: ["GET"],
        input: b"HTTP/1.1 2x",
        eof: false,
        expect: [invalid_at(InvalidResponse::Status, 9)],
    }

    /// A status code below 100 is refused at its first digit.
    status_code_leading_zero_at_once {
        reqs: ["GET"],
        input: b"HTTP/1.1 0",
        eof: false,
        expect: [invalid_at(InvalidResponse::Status, 9)],
    }

    /// A fourth digit, refused without waiting for the line's end.
    status_code_four_digits_at_once {
        reqs: ["GET"],
        input: b"HTTP/1.1 2000",
        eof: false,
        expect: [invalid_at(InvalidResponse::Status, 12)],
    }

    /// A control byte in the reason phrase, refused where it arrives.
    status_reason_nul_at_once {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 O\x00",
        eof: false,
        expect: [invalid_at(InvalidResponse::StatusLineCharacter, 13)],
    }

    /// A status line cut short by its line end.
    status_line_too_short {
        reqs: ["GET"],
        input: b"HTTP/1.1 20\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::Status, 9)],
    }

    /// After a 1xx, the next bytes must again be able to start a status
    /// line.
    not_http_after_informational {
        reqs: ["GET"],
        input: b"HTTP/1.1 103 Early Hints\r\n\r\n<html>",
        eof: false,
        expect: [
            info(0, 103, "Early Hints", &[]),
            invalid_at(InvalidResponse::NotHttp(Arrived::new(b"<")), 28),
        ],
    }

    /// After 100 Continue as well.
    not_http_after_continue {
        reqs: ["PUT:expect100"],
        input: b"HTTP/1.1 100 Continue\r\n\r\n\x16\x03\x01",
        eof: false,
        expect: [cont(0), invalid_at(InvalidResponse::Tls, 25)],
    }
}

// ----- Transfer-Encoding syntax (RFC 9110 §10.1.4, §5.6) ---------------------------------

res! {
    /// A quoted coding is not a token.
    te_quoted_chunked_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::TransferEncoding, 0)],
    }

    /// A non-token byte inside a coding.
    te_brace_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chun}ked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// A space inside a coding.
    te_space_inside_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chun ked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// Two codings without a comma.
    te_missing_comma_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// A list of empty elements only.
    te_only_commas_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: , ,\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// chunked has no parameters (RFC 9112 §7.1).
    te_chunked_with_parameter_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// A parameter without a value, or without a name.
    te_parameter_without_value_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;q, chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    te_parameter_without_name_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;=1, chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// An unterminated quoted parameter value.
    te_unterminated_quote_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;q=\"1, chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::TransferEncoding)],
    }

    /// Well-formed codings with parameters (a quoted value holding a
    /// comma too) are valid HTTP that this library does not implement.
    te_parameters_on_other_coding_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip ; q = 1 ; v=\"a,\\\"b\", chunked\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// An unknown but well-formed coding.
    te_unknown_coding_unsupported {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom~1\r\n\r\n0\r\n\r\n",
        eof: false,
        expect: [unsupported(Unsupported::TransferCoding)],
    }

    /// Empty elements and whitespace around chunked are fine.
    te_chunked_among_empty_elements {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\t, chunked ,\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", ",\t, chunked ,")]),
            data(b"hi"),
            end(),
        ],
    }
}

// ----- chunk-size line syntax (RFC 9112 §7.1.1) -----------------------------------------

res! {
    /// Whitespace after the size with no extension: a known smuggling
    /// discrepancy between parsers, refused.
    chunk_size_trailing_space_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid_at(InvalidResponse::ChunkSize, 47)],
    }

    chunk_size_trailing_tab_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\t\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// Whitespace after an extension name or value, at the line's end.
    chunk_ext_trailing_space_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a \r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    chunk_ext_value_trailing_space_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\" \r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }

    /// BWS where the grammar has it: before `;`, around `=`.
    chunk_ext_bws_ok {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5 ;\ta = b ; c\r\nhello\r\n0 ; d=\"e f\"\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]), data(b"hello"), end()],
    }

    /// A `;` with nothing after it.
    chunk_ext_empty_invalid {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
        eof: false,
        expect: [hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
                 invalid(InvalidResponse::ChunkSize)],
    }
}

// ----- obs-fold in trailers: as in heads (RFC 9112 §5.2, §7.1.2) ------------------------

res! {
    /// Several folds with tabs and spaces around them: each becomes one SP.
    trailer_obs_fold_each_fold_one_space {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\nX: a \t\r\n\t b\r\n  c\r\nY: z\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            end_with(&[("X", "a b c"), ("Y", "z")]),
        ],
    }

    /// The same value in a head reads the same.
    head_obs_fold_each_fold_one_space {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nX: a \t\r\n\t b\r\n  c\r\nY: z\r\nContent-Length: 0\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("X", "a b c"), ("Y", "z"), ("Content-Length", "0")]),
            end(),
        ],
    }

    /// A fold line of whitespace only adds nothing but the space.
    trailer_obs_fold_blank_continuation {
        reqs: ["GET"],
        input: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\nX: a\r\n \t \r\n b\r\n\r\n",
        eof: false,
        expect: [
            hdr(0, 200, "OK", &[("Transfer-Encoding", "chunked")]),
            end_with(&[("X", "a b")]),
        ],
    }
}

// ----- 101 names an offered protocol (RFC 9110 §7.8) ------------------------------------

res! {
    /// A protocol other than the offered `websocket`.
    upgrade_101_other_protocol_invalid {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        eof: false,
        expect: [invalid_at(InvalidResponse::UpgradeNotOffered, 0)],
    }

    /// No Upgrade field at all.
    upgrade_101_without_upgrade_field_invalid {
        reqs: ["GET", "GET:upgrade"],
        input: b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
        eof: false,
        expect: [hdr(0, 204, "No Content", &[]), end(),
                 invalid_at(InvalidResponse::UpgradeNotOffered, 27)],
    }

    /// The offered protocol and another.
    upgrade_101_extra_protocol_invalid {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\n\r\n",
        eof: false,
        expect: [invalid(InvalidResponse::UpgradeNotOffered)],
    }

    /// Names compare ignoring case; a version is fine when the offer has
    /// none.
    upgrade_101_case_and_version_ok {
        reqs: ["GET:upgrade"],
        input: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket/13\r\n\r\nframes",
        eof: false,
        expect: [
            hdr(0, 101, "Switching Protocols", &[("Upgrade", "WebSocket/13")]),
            upgraded(b"frames"),
        ],
    }
}

// ----- stickiness ------------------------------------------------------------------------

/// After a fatal error every call returns it again, including
/// `send_request`, and later bytes are not parsed.
#[test]
fn error_is_sticky_everywhere() {
    let mut conn = common::conn_with(&["GET", "GET"]);
    conn.receive(b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let e = conn.poll_event().unwrap_err();
    assert_eq!(
        e,
        Error::InvalidResponse {
            kind: InvalidResponse::BareLf,
            offset: 15
        }
    );
    for _ in 0..3 {
        assert_eq!(conn.poll_event(), Err(e.clone()));
    }
    assert_eq!(
        common::send_spec(&mut conn, "GET").unwrap_err(),
        e,
        "send_request after the error"
    );
    assert_eq!(conn.receive(b"HTTP/1.1 200 OK\r\n\r\n"), Err(e.clone()));
    conn.receive_eof();
    assert_eq!(conn.poll_event(), Err(e.clone()));
    assert_eq!(conn.error(), Some(&e));
    assert!(conn.must_close());
    assert_eq!(conn.poll_transmit(), None);
}
