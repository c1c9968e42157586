//! The request side and the connection's state machine: exact wire bytes of
//! request heads and bodies, request validation, body rules, 100-continue,
//! deadlines, pipelining rules, vectored transmit and `read_into`.
//!
//! Most groups are tables: a macro turns each row into its own `#[test]`, so
//! a failure names the rule that broke.

mod common;

use core::time::Duration;

use dugong_proto::{
    Body, Bytes, Config, Connection, Error, Event, Fate, Instant, InvalidRequest, InvalidResponse,
    Limit, StateError, Timeout,
};

const HOST: [(&str, &str); 1] = [("Host", "example.com")];
const NO_TRAILERS: [(&str, &str); 0] = [];
const EXPECT: [(&str, &str); 2] = [("Host", "example.com"), ("Expect", "100-continue")];

// ----- helpers --------------------------------------------------------------

/// Everything `poll_transmit` hands out, as separate segments.
fn transmit_all(conn: &mut Connection) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Some(segment) = conn.poll_transmit() {
        out.push(segment);
    }
    out
}

/// Everything `poll_transmit` hands out, concatenated.
fn drain_transmit(conn: &mut Connection) -> Vec<u8> {
    transmit_all(conn).concat()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn at_ms(ms: u64) -> Instant {
    Instant::from_elapsed(Duration::from_millis(ms))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A heap-allocated body, so pointer identity means "the same allocation".
fn heap(bytes: &[u8]) -> Bytes {
    Bytes::from(bytes.to_vec())
}

/// Polls events until more input is needed (or an error).
fn events(conn: &mut Connection) -> Vec<Result<Event, Error>> {
    let mut out = Vec::new();
    common::drain(conn, &mut out);
    out
}

/// Gives `input` to the connection and returns the events it yields.
fn respond(conn: &mut Connection, input: &[u8]) -> Vec<Result<Event, Error>> {
    conn.receive(input).expect("receive accepted");
    events(conn)
}

/// A compact description of events, for readable comparisons.
fn summary(events: &[Result<Event, Error>]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Ok(Event::Continue(id)) => format!("continue #{}", id.as_u64()),
            Ok(Event::Informational(r)) => format!("info #{} {}", r.id().as_u64(), r.status()),
            Ok(Event::Headers(r)) => format!("headers #{} {}", r.id().as_u64(), r.status()),
            Ok(Event::Data(d)) => format!("data {}", text(d)),
            Ok(Event::End { trailers }) => format!("end {}", trailers.len()),
            Ok(Event::Upgraded { rest }) => format!("upgraded {}", text(rest)),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error {e:?}"),
        })
        .collect()
}

/// The valid request used to show a connection is still usable.
fn assert_usable(conn: &mut Connection, expected_id: u64) {
    let id = conn
        .send_request("GET", "/ok", HOST, Body::Empty)
        .expect("a valid request is accepted");
    assert_eq!(id.as_u64(), expected_id);
    assert_eq!(
        text(&drain_transmit(conn)),
        "GET /ok HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
}

// ----- exact wire bytes of request heads --------------------------------------

macro_rules! wire_cases {
    ($($name:ident: $method:expr, $target:expr, $headers:expr, $body:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            let id = conn
                .send_request($method, $target, $headers, $body)
                .expect("valid request");
            assert_eq!(id.as_u64(), 0);
            let expected: &[u8] = $expected;
            assert_eq!(conn.transmit_len(), expected.len() as u64);
            assert_eq!(text(&drain_transmit(&mut conn)), text(expected));
            assert_eq!(conn.transmit_len(), 0);
            assert_eq!(conn.in_flight(), 1);
        }
    )*};
}

wire_cases! {
    wire_get_repeated_header_names_kept_in_order:
        "GET", "/index.html",
        [
            ("Host", "example.com"),
            ("Accept", "text/html"),
            ("X-Trace", "a"),
            ("accept", "*/*"),
            ("X-Trace", "b"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
        ],
        Body::Empty
        => b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\
X-Trace: a\r\naccept: */*\r\nX-Trace: b\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n";
    wire_origin_form_with_query:
        "GET", "/search?q=a%20b&lang=en", HOST, Body::Empty
        => b"GET /search?q=a%20b&lang=en HTTP/1.1\r\nHost: example.com\r\n\r\n";
    wire_absolute_form_for_proxy:
        "GET", "http://proxy.example/x", [("Host", "proxy.example")], Body::Empty
        => b"GET http://proxy.example/x HTTP/1.1\r\nHost: proxy.example\r\n\r\n";
    wire_absolute_form_with_port_and_query:
        "GET", "http://origin.example:8080/a?b=c", [("Host", "origin.example:8080")], Body::Empty
        => b"GET http://origin.example:8080/a?b=c HTTP/1.1\r\nHost: origin.example:8080\r\n\r\n";
    wire_authority_form_for_connect:
        "CONNECT", "example.com:443", [("Host", "example.com:443")], Body::Empty
        => b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    wire_authority_form_ipv6_for_connect:
        "CONNECT", "[2001:db8::1]:8443", [("Host", "[2001:db8::1]:8443")], Body::Empty
        => b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n";
    wire_asterisk_for_options:
        "OPTIONS", "*", HOST, Body::Empty
        => b"OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n";
    wire_head_method:
        "HEAD", "/", HOST, Body::Empty
        => b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    wire_extension_method_token:
        "M-SEARCH", "/", HOST, Body::Empty
        => b"M-SEARCH / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    wire_full_body_gets_content_length:
        "POST", "/submit", [("Host", "example.com"), ("Content-Type", "text/plain")],
        Body::Full(Bytes::from_static(b"hello world"))
        => b"POST /submit HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n\
Content-Length: 11\r\n\r\nhello world";
    wire_full_empty_body_is_content_length_zero:
        "POST", "/", HOST, Body::Full(Bytes::new())
        => b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n";
    wire_sized_zero_is_content_length_zero:
        "PUT", "/empty", HOST, Body::Sized(0)
        => b"PUT /empty HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n";
    wire_sized_head_announces_length:
        "PUT", "/big", HOST, Body::Sized(1_234_567_890_123)
        => b"PUT /big HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1234567890123\r\n\r\n";
    wire_chunked_head_announces_chunked:
        "POST", "/stream", HOST, Body::Chunked
        => b"POST /stream HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n";
    wire_empty_value_and_inner_whitespace:
        "GET", "/", [("Host", "example.com"), ("X-Empty", ""), ("X-Inner", "a \tb")], Body::Empty
        => b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\nX-Inner: a \tb\r\n\r\n";
    wire_obs_text_value_sent_as_is:
        "GET", "/", [("Host", "example.com"), ("X-Name", "caf\u{e9}")], Body::Empty
        => "GET / HTTP/1.1\r\nHost: example.com\r\nX-Name: caf\u{e9}\r\n\r\n".as_bytes();
}

#[test]
fn wire_pipelined_requests_concatenate_in_order() {
    let mut conn = Connection::default();
    let mut ids = Vec::new();
    for path in ["/a", "/b", "/c"] {
        ids.push(
            conn.send_request("GET", path, HOST, Body::Empty)
                .unwrap()
                .as_u64(),
        );
    }
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(conn.in_flight(), 3);
    assert_eq!(
        text(&drain_transmit(&mut conn)),
        "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n\
         GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n\
         GET /c HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
          HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
    );
    assert_eq!(
        summary(&evs),
        [
            "headers #0 200",
            "data a",
            "end 0",
            "headers #1 404",
            "end 0",
            "headers #2 200",
            "data c",
            "end 0",
        ]
    );
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.is_idle());
    assert_usable(&mut conn, 3);
}

// ----- bodies: wire bytes and zero copy -----------------------------------------

#[test]
fn full_body_is_the_same_allocation() {
    let body = heap(b"the whole body, never copied");
    let mut conn = Connection::default();
    conn.send_request("POST", "/", HOST, Body::Full(body.clone()))
        .unwrap();
    let segments = transmit_all(&mut conn);
    assert_eq!(segments.len(), 2, "head, then the body as its own segment");
    assert_eq!(
        text(&segments[0]),
        "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 28\r\n\r\n"
    );
    assert_eq!(segments[1], body);
    assert_eq!(segments[1].as_ptr(), body.as_ptr());
    assert!(!conn.is_sending_body());
}

#[test]
fn sized_body_pieces_are_framed_by_content_length_and_not_copied() {
    let (a, b) = (heap(b"hello"), heap(b" world"));
    let mut conn = Connection::default();
    conn.send_request("PUT", "/file", HOST, Body::Sized(11))
        .unwrap();
    assert!(conn.is_sending_body());
    conn.send_body(a.clone()).unwrap();
    assert!(conn.is_sending_body());
    conn.send_body(Bytes::new()).unwrap();
    assert!(conn.is_sending_body(), "an empty piece completes nothing");
    conn.send_body(b.clone()).unwrap();
    assert!(!conn.is_sending_body());
    let segments = transmit_all(&mut conn);
    assert_eq!(
        text(&segments.concat()),
        "PUT /file HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello world"
    );
    assert_eq!(
        segments.len(),
        3,
        "head, piece, piece (empty piece dropped)"
    );
    assert_eq!(segments[1].as_ptr(), a.as_ptr());
    assert_eq!(segments[2].as_ptr(), b.as_ptr());
    assert_usable(&mut conn, 1);
}

#[test]
fn chunked_body_framing_ignores_empty_pieces_and_writes_trailers() {
    let letters = heap(b"abcdefghijklmnopqrstuvwxyz");
    let mut conn = Connection::default();
    conn.send_request("POST", "/stream", HOST, Body::Chunked)
        .unwrap();
    conn.send_body(Bytes::from_static(b"hello")).unwrap();
    let before = conn.transmit_len();
    conn.send_body(Bytes::new()).unwrap();
    assert_eq!(conn.transmit_len(), before, "an empty piece emits nothing");
    conn.send_body(letters.clone()).unwrap();
    conn.send_body(Bytes::from(vec![b'x'; 4096])).unwrap();
    assert!(conn.is_sending_body());
    conn.finish([("X-Checksum", "abc123"), ("X-Count", "3")])
        .unwrap();
    assert!(!conn.is_sending_body());
    let segments = transmit_all(&mut conn);
    let expected = format!(
        "POST /stream HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n\
         1a\r\nabcdefghijklmnopqrstuvwxyz\r\n\
         1000\r\n{}\r\n\
         0\r\nX-Checksum: abc123\r\nX-Count: 3\r\n\r\n",
        "x".repeat(4096)
    );
    assert_eq!(text(&segments.concat()), expected);
    assert!(
        segments.iter().any(|s| s.as_ptr() == letters.as_ptr()),
        "chunk data is never copied"
    );
    assert!(segments.iter().all(|s| !s.is_empty()));
    assert_usable(&mut conn, 1);
}

#[test]
fn chunked_finish_without_trailers_is_last_chunk_and_empty_line() {
    let mut conn = Connection::default();
    conn.send_request("POST", "/", HOST, Body::Chunked).unwrap();
    let _head = drain_transmit(&mut conn);
    conn.finish(NO_TRAILERS).unwrap();
    assert_eq!(text(&drain_transmit(&mut conn)), "0\r\n\r\n");
    conn.send_request("POST", "/", HOST, Body::Chunked).unwrap();
    let _head = drain_transmit(&mut conn);
    conn.finish(Vec::<(String, String)>::new()).unwrap();
    assert_eq!(text(&drain_transmit(&mut conn)), "0\r\n\r\n");
}

#[test]
fn excess_body_data_then_exact_piece_completes() {
    let mut conn = Connection::default();
    conn.send_request("PUT", "/", HOST, Body::Sized(5)).unwrap();
    conn.send_body(Bytes::from_static(b"ab")).unwrap();
    let queued = conn.transmit_len();
    assert_eq!(
        conn.send_body(Bytes::from_static(b"cdefghi")),
        Err(Error::ExcessBodyData { excess: 4 })
    );
    assert_eq!(conn.transmit_len(), queued, "nothing of the piece queued");
    assert!(conn.is_sending_body());
    conn.send_body(Bytes::from_static(b"cde")).unwrap();
    assert!(!conn.is_sending_body());
    assert_eq!(
        text(&drain_transmit(&mut conn)),
        "PUT / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nabcde"
    );
    assert_usable(&mut conn, 1);
}

// ----- validation: nothing is emitted ------------------------------------------

fn check_rejected(method: &str, target: &str, headers: &[(&str, &str)], expected: InvalidRequest) {
    let mut conn = Connection::default();
    let got = conn.send_request(
        method,
        target,
        headers,
        Body::Full(Bytes::from_static(b"data")),
    );
    assert_eq!(got, Err(Error::InvalidRequest(expected)));
    assert_eq!(conn.transmit_len(), 0, "nothing emitted");
    assert_eq!(conn.transmit_segments().len(), 0);
    assert!(conn.poll_transmit().is_none());
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.is_idle());
    assert!(!conn.must_close());
    assert!(conn.error().is_none());
    assert_usable(&mut conn, 0);
}

macro_rules! invalid_request_cases {
    ($($name:ident: $method:expr, $target:expr, $headers:expr => $err:expr;)*) => {$(
        #[test]
        fn $name() {
            check_rejected($method, $target, &$headers, $err);
        }
    )*};
}

invalid_request_cases! {
    invalid_method_with_space: "GE T", "/", HOST => InvalidRequest::Method;
    invalid_method_empty: "", "/", HOST => InvalidRequest::Method;
    invalid_method_with_crlf: "G\r\nET", "/", HOST => InvalidRequest::Method;
    invalid_method_with_separator: "GET/1", "/", HOST => InvalidRequest::Method;
    invalid_method_non_ascii: "G\u{c9}T", "/", HOST => InvalidRequest::Method;
    invalid_target_with_space: "GET", "/a b", HOST => InvalidRequest::Target;
    invalid_target_with_tab: "GET", "/a\tb", HOST => InvalidRequest::Target;
    invalid_target_with_crlf_injection: "GET", "/ HTTP/1.1\r\nX-Evil: 1\r\n", HOST
        => InvalidRequest::Target;
    invalid_target_with_nul: "GET", "/a\0", HOST => InvalidRequest::Target;
    invalid_target_with_del: "GET", "/a\u{7f}", HOST => InvalidRequest::Target;
    invalid_target_non_ascii: "GET", "/caf\u{e9}", HOST => InvalidRequest::Target;
    invalid_target_empty: "GET", "", HOST => InvalidRequest::Target;
    invalid_target_relative_path: "GET", "index.html", HOST => InvalidRequest::Target;
    invalid_authority_form_for_get: "GET", "example.com:443", HOST => InvalidRequest::Target;
    invalid_authority_form_ip_for_post: "POST", "127.0.0.1:8080", HOST
        => InvalidRequest::Target;
    invalid_origin_form_for_connect: "CONNECT", "/", HOST => InvalidRequest::Target;
    invalid_absolute_form_for_connect: "CONNECT", "http://example.com:443/", HOST
        => InvalidRequest::Target;
    invalid_connect_without_port: "CONNECT", "example.com", HOST => InvalidRequest::Target;
    invalid_connect_with_userinfo: "CONNECT", "user@example.com:443", HOST
        => InvalidRequest::Target;
    invalid_asterisk_for_get: "GET", "*", HOST => InvalidRequest::Target;
    invalid_asterisk_for_connect: "CONNECT", "*", HOST => InvalidRequest::Target;
    invalid_header_name_with_space: "GET", "/", [("Host", "example.com"), ("X Foo", "1")]
        => InvalidRequest::HeaderName;
    invalid_header_name_trailing_space: "GET", "/", [("Host ", "example.com")]
        => InvalidRequest::HeaderName;
    invalid_header_name_with_colon: "GET", "/", [("Host", "example.com"), ("X:Foo", "1")]
        => InvalidRequest::HeaderName;
    invalid_header_name_empty: "GET", "/", [("Host", "example.com"), ("", "1")]
        => InvalidRequest::HeaderName;
    invalid_header_name_not_token: "GET", "/", [("Host", "example.com"), ("X(Foo)", "1")]
        => InvalidRequest::HeaderName;
    invalid_header_name_with_crlf: "GET", "/", [("Host", "example.com"), ("X\r\nEvil", "1")]
        => InvalidRequest::HeaderName;
    invalid_header_value_cr: "GET", "/", [("Host", "example.com"), ("X-A", "a\rb")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_lf: "GET", "/", [("Host", "example.com"), ("X-A", "a\nb")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_nul: "GET", "/", [("Host", "example.com"), ("X-A", "a\0b")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_injection: "GET", "/", [("Host", "example.com"), ("X-A", "a\r\nX-Evil: 1")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_other_control: "GET", "/", [("Host", "example.com"), ("X-A", "a\u{1b}b")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_leading_whitespace: "GET", "/", [("Host", "example.com"), ("X-A", " a")]
        => InvalidRequest::HeaderValue;
    invalid_header_value_trailing_whitespace: "GET", "/", [("Host", "example.com"), ("X-A", "a\t")]
        => InvalidRequest::HeaderValue;
    invalid_caller_content_length: "POST", "/", [("Host", "example.com"), ("Content-Length", "4")]
        => InvalidRequest::FramingHeader;
    invalid_caller_content_length_lowercase: "POST", "/", [("content-length", "4")]
        => InvalidRequest::FramingHeader;
    invalid_caller_transfer_encoding: "POST", "/", [("Host", "example.com"), ("Transfer-Encoding", "chunked")]
        => InvalidRequest::FramingHeader;
    invalid_caller_transfer_encoding_mixed_case: "GET", "/", [("TRANSFER-encoding", "gzip")]
        => InvalidRequest::FramingHeader;
}

#[test]
fn invalid_request_leaves_earlier_queue_and_ids_untouched() {
    let mut conn = Connection::default();
    let body = heap(b"1234");
    conn.send_request("POST", "/a", HOST, Body::Full(body.clone()))
        .unwrap();
    let queued = conn.transmit_len();
    let segments = conn.transmit_segments().len();
    assert_eq!(
        conn.send_request(
            "POST",
            "/b",
            [
                ("Host", "example.com"),
                ("X-A", "1\r\n\r\nGET /evil HTTP/1.1")
            ],
            Body::Full(Bytes::from_static(b"zz")),
        ),
        Err(Error::InvalidRequest(InvalidRequest::HeaderValue))
    );
    assert_eq!(conn.transmit_len(), queued);
    assert_eq!(conn.transmit_segments().len(), segments);
    assert_eq!(conn.in_flight(), 1);
    let out = transmit_all(&mut conn);
    assert_eq!(
        text(&out.concat()),
        "POST /a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\n\r\n1234"
    );
    assert_eq!(out[1].as_ptr(), body.as_ptr());
    assert_usable(&mut conn, 1);
}

// ----- trailers ----------------------------------------------------------------

macro_rules! trailer_cases {
    ($($name:ident: $trailers:expr => $err:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            conn.send_request("POST", "/", HOST, Body::Chunked).unwrap();
            conn.send_body(Bytes::from_static(b"abc")).unwrap();
            let _sent = drain_transmit(&mut conn);
            assert_eq!(conn.finish(&$trailers), Err(Error::InvalidRequest($err)));
            assert_eq!(conn.transmit_len(), 0, "nothing emitted");
            assert!(conn.is_sending_body(), "the body is still open");
            assert!(conn.error().is_none());
            conn.finish([("X-Ok", "1")]).unwrap();
            assert_eq!(text(&drain_transmit(&mut conn)), "0\r\nX-Ok: 1\r\n\r\n");
            assert_usable(&mut conn, 1);
        }
    )*};
}

trailer_cases! {
    trailer_content_length_forbidden: [("Content-Length", "3")] => InvalidRequest::ForbiddenTrailer;
    trailer_host_forbidden: [("X-Fine", "1"), ("host", "example.com")] => InvalidRequest::ForbiddenTrailer;
    trailer_transfer_encoding_forbidden: [("Transfer-Encoding", "chunked")] => InvalidRequest::ForbiddenTrailer;
    trailer_name_not_token: [("X Bad", "1")] => InvalidRequest::HeaderName;
    trailer_value_injection: [("X-Sum", "1\r\nContent-Length: 0")] => InvalidRequest::HeaderValue;
}

// ----- state errors (table) --------------------------------------------------------

macro_rules! state_cases {
    ($($name:ident: $setup:expr, $action:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            let setup: fn(&mut Connection) = $setup;
            setup(&mut conn);
            let before = conn.transmit_len();
            let in_flight = conn.in_flight();
            let action: fn(&mut Connection) -> Result<(), Error> = $action;
            assert_eq!(action(&mut conn), Err($expected));
            assert_eq!(conn.transmit_len(), before, "nothing queued");
            assert_eq!(conn.in_flight(), in_flight);
            assert!(conn.error().is_none(), "a usage error is not fatal");
        }
    )*};
}

fn post_sized(conn: &mut Connection, n: u64) {
    conn.send_request("POST", "/", HOST, Body::Sized(n))
        .unwrap();
}

fn post_chunked(conn: &mut Connection) {
    conn.send_request("POST", "/", HOST, Body::Chunked).unwrap();
}

fn get(conn: &mut Connection) -> Result<(), Error> {
    conn.send_request("GET", "/", HOST, Body::Empty).map(|_| ())
}

fn piece(conn: &mut Connection, data: &'static [u8]) -> Result<(), Error> {
    conn.send_body(Bytes::from_static(data))
}

state_cases! {
    state_excess_in_first_piece:
        |c| post_sized(c, 5), |c| piece(c, b"hello!!") => Error::ExcessBodyData { excess: 2 };
    state_excess_after_partial_body:
        |c| { post_sized(c, 5); piece(c, b"abc").unwrap() }, |c| piece(c, b"defg")
        => Error::ExcessBodyData { excess: 2 };
    state_excess_large_piece:
        |c| post_sized(c, 1), |c| c.send_body(Bytes::from(vec![0u8; 1000]))
        => Error::ExcessBodyData { excess: 999 };
    state_request_before_sized_body_done:
        |c| post_sized(c, 5), get => Error::State(StateError::BodyUnfinished);
    state_request_before_sized_body_done_after_pieces:
        |c| { post_sized(c, 5); piece(c, b"abcd").unwrap() }, get
        => Error::State(StateError::BodyUnfinished);
    state_request_during_chunked_body:
        |c| { post_chunked(c); piece(c, b"abc").unwrap() }, get
        => Error::State(StateError::BodyUnfinished);
    state_body_with_no_request:
        |_| {}, |c| piece(c, b"x") => Error::State(StateError::NoBody);
    state_body_after_empty_body_request:
        |c| get(c).unwrap(), |c| piece(c, b"x") => Error::State(StateError::NoBody);
    state_body_after_full_body_request:
        |c| { c.send_request("POST", "/", HOST, Body::Full(Bytes::from_static(b"a"))).unwrap(); },
        |c| piece(c, b"x") => Error::State(StateError::NoBody);
    state_body_after_sized_body_complete:
        |c| { post_sized(c, 2); piece(c, b"ab").unwrap() }, |c| piece(c, b"x")
        => Error::State(StateError::NoBody);
    state_finish_with_no_body:
        |_| {}, |c| c.finish(NO_TRAILERS) => Error::State(StateError::NoBody);
    state_finish_on_sized_body:
        |c| { post_sized(c, 4); piece(c, b"ab").unwrap() }, |c| c.finish(NO_TRAILERS)
        => Error::State(StateError::NotChunked);
    state_finish_twice:
        |c| { post_chunked(c); c.finish(NO_TRAILERS).unwrap() }, |c| c.finish(NO_TRAILERS)
        => Error::State(StateError::NoBody);
    state_body_while_awaiting_continue:
        |c| { c.send_request("POST", "/", EXPECT, Body::Sized(3)).unwrap(); },
        |c| piece(c, b"abc") => Error::State(StateError::AwaitingContinue);
    state_finish_while_awaiting_continue:
        |c| { c.send_request("POST", "/", EXPECT, Body::Chunked).unwrap(); },
        |c| c.finish(NO_TRAILERS) => Error::State(StateError::AwaitingContinue);
    state_request_while_awaiting_continue:
        |c| { c.send_request("POST", "/", EXPECT, Body::Full(Bytes::from_static(b"abc"))).unwrap(); },
        get => Error::State(StateError::AwaitingContinue);
    state_request_after_connection_close:
        |c| { c.send_request("GET", "/", [("Host", "example.com"), ("Connection", "close")], Body::Empty).unwrap(); },
        get => Error::State(StateError::Closing);
    state_request_after_connection_close_in_list:
        |c| { c.send_request("GET", "/", [("Host", "example.com"), ("connection", "keep-alive, CLOSE")], Body::Empty).unwrap(); },
        get => Error::State(StateError::Closing);
    state_request_after_connect_in_flight:
        |c| { c.send_request("CONNECT", "example.com:443", [("Host", "example.com:443")], Body::Empty).unwrap(); },
        get => Error::State(StateError::Upgrading);
    state_request_after_upgrade_request_in_flight:
        |c| { common::send_spec(c, "GET:upgrade").unwrap(); },
        get => Error::State(StateError::Upgrading);
}

// ----- 100-continue --------------------------------------------------------------

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const OK_EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

#[test]
fn continue_holds_body_until_100_then_releases_same_allocation() {
    let body = heap(b"payload");
    let mut conn = Connection::default();
    let id = conn
        .send_request("POST", "/upload", EXPECT, Body::Full(body.clone()))
        .unwrap();
    assert_eq!(
        text(&drain_transmit(&mut conn)),
        "POST /upload HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n"
    );
    assert_eq!(conn.awaiting_continue(), Some(id));
    assert_eq!(conn.transmit_len(), 0, "the body is held");
    assert_eq!(
        conn.send_request("GET", "/", HOST, Body::Empty),
        Err(Error::State(StateError::AwaitingContinue))
    );
    assert_eq!(
        conn.send_body(Bytes::from_static(b"x")),
        Err(Error::State(StateError::AwaitingContinue))
    );
    conn.receive(CONTINUE).unwrap();
    assert_eq!(conn.poll_event(), Ok(Some(Event::Continue(id))));
    assert_eq!(conn.awaiting_continue(), None);
    let segment = conn.poll_transmit().expect("the body is released");
    assert_eq!(segment, body);
    assert_eq!(segment.as_ptr(), body.as_ptr());
    assert!(conn.poll_transmit().is_none());
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert!(!conn.must_close());
    assert_usable(&mut conn, 1);
}

#[test]
fn continue_releases_sized_body_for_streaming() {
    let mut conn = Connection::default();
    let id = conn
        .send_request("PUT", "/", EXPECT, Body::Sized(6))
        .unwrap();
    let _head = drain_transmit(&mut conn);
    assert!(!conn.is_sending_body());
    assert_eq!(conn.awaiting_continue(), Some(id));
    assert_eq!(summary(&respond(&mut conn, CONTINUE)), ["continue #0"]);
    assert!(conn.is_sending_body());
    conn.send_body(Bytes::from_static(b"abc")).unwrap();
    conn.send_body(Bytes::from_static(b"def")).unwrap();
    assert_eq!(text(&drain_transmit(&mut conn)), "abcdef");
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert_usable(&mut conn, 1);
}

#[test]
fn continue_timeout_call_releases_body() {
    let body = heap(b"abc");
    let mut conn = Connection::default();
    let id = conn
        .send_request("POST", "/", EXPECT, Body::Full(body.clone()))
        .unwrap();
    let _head = drain_transmit(&mut conn);
    assert!(conn.continue_timeout());
    assert_eq!(conn.awaiting_continue(), None);
    let segment = conn.poll_transmit().expect("released");
    assert_eq!(segment.as_ptr(), body.as_ptr());
    assert!(!conn.continue_timeout(), "nothing waits any more");
    // A late 100 is consumed: nothing waits for it, nothing is released.
    assert!(respond(&mut conn, CONTINUE).is_empty());
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(conn.poll_event(), Ok(None));
    let evs = respond(&mut conn, OK_EMPTY);
    assert!(matches!(&evs[0], Ok(Event::Headers(r)) if r.id() == id));
    assert!(!conn.must_close());
    assert_usable(&mut conn, 1);
}

#[test]
fn continue_for_earlier_request_does_not_release_later_body() {
    let mut conn = Connection::default();
    conn.send_request("GET", "/first", HOST, Body::Empty)
        .unwrap();
    let waiting = conn
        .send_request(
            "POST",
            "/second",
            EXPECT,
            Body::Full(Bytes::from_static(b"b")),
        )
        .unwrap();
    let _heads = drain_transmit(&mut conn);
    // A 100 in the first request's response stream belongs to the first,
    // which does not wait for one: consumed, and the second stays held.
    assert!(respond(&mut conn, CONTINUE).is_empty());
    assert_eq!(conn.awaiting_continue(), Some(waiting));
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert_eq!(conn.awaiting_continue(), Some(waiting));
    assert_eq!(summary(&respond(&mut conn, CONTINUE)), ["continue #1"]);
    assert_eq!(conn.awaiting_continue(), None);
    assert_eq!(text(&drain_transmit(&mut conn)), "b");
}

macro_rules! cancelled_cases {
    ($($name:ident: $body:expr, $response:expr => $summary:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            let id = conn.send_request("POST", "/", EXPECT, $body).unwrap();
            let _head = drain_transmit(&mut conn);
            assert_eq!(conn.awaiting_continue(), Some(id));
            let evs = respond(&mut conn, $response);
            let expected: &[&str] = &$summary;
            assert_eq!(summary(&evs), expected);
            assert_eq!(conn.transmit_len(), 0, "the body is never sent");
            assert!(conn.poll_transmit().is_none());
            assert_eq!(conn.awaiting_continue(), None);
            assert!(!conn.continue_timeout());
            assert!(conn.must_close());
            assert!(conn.error().is_none());
            assert_eq!(
                conn.send_body(Bytes::from_static(b"late")),
                Err(Error::State(StateError::BodyCancelled))
            );
            assert_eq!(
                conn.finish(NO_TRAILERS),
                Err(Error::State(StateError::BodyCancelled))
            );
            assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
            assert_eq!(conn.poll_timeout(at_ms(0)), None);
            assert_eq!(conn.transmit_len(), 0);
        }
    )*};
}

cancelled_cases! {
    continue_417_first_cancels_full_body:
        Body::Full(Bytes::from_static(b"body")),
        b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"
        => ["headers #0 417", "end 0"];
    continue_401_first_cancels_sized_body:
        Body::Sized(4),
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\ndenied"
        => ["headers #0 401", "data denied", "end 0"];
    continue_413_first_cancels_chunked_body:
        Body::Chunked,
        b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"
        => ["headers #0 413", "end 0"];
}

macro_rules! nothing_owed_cases {
    ($($name:ident: $body:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            conn.send_request("POST", "/", EXPECT, $body).unwrap();
            let _head = drain_transmit(&mut conn);
            assert_eq!(conn.awaiting_continue(), None, "nothing to hold");
            assert!(!conn.is_sending_body());
            assert_eq!(conn.poll_timeout(at_ms(0)), None, "no continue deadline");
            let evs = respond(
                &mut conn,
                b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n",
            );
            assert_eq!(summary(&evs), ["headers #0 417", "end 0"]);
            assert!(!conn.must_close(), "nothing was owed: still reusable");
            assert_usable(&mut conn, 1);
        }
    )*};
}

nothing_owed_cases! {
    continue_sized_zero_417_stays_reusable: Body::Sized(0);
    continue_full_empty_417_stays_reusable: Body::Full(Bytes::new());
    continue_empty_417_stays_reusable: Body::Empty;
}

// ----- deadlines ---------------------------------------------------------------------

#[test]
fn deadline_continue_delay_default_releases_body() {
    assert_eq!(Config::default().continue_delay(), Duration::from_secs(1));
    let body = heap(b"held");
    let mut conn = Connection::default();
    let t0 = at_ms(5_000);
    let id = conn
        .send_request("POST", "/", EXPECT, Body::Full(body.clone()))
        .unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t0), Some(t0 + Duration::from_secs(1)));
    assert_eq!(
        conn.poll_timeout(t0 + ms(300)),
        Some(t0 + Duration::from_secs(1)),
        "asking again does not move the deadline"
    );
    assert_eq!(conn.handle_timeout(t0 + ms(999)), None);
    assert_eq!(conn.awaiting_continue(), Some(id));
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(
        conn.handle_timeout(t0 + ms(1_000)),
        Some(id),
        "the released request is named"
    );
    assert_eq!(conn.awaiting_continue(), None);
    let segment = conn.poll_transmit().expect("released by the deadline");
    assert_eq!(segment.as_ptr(), body.as_ptr());
    assert_eq!(conn.poll_event(), Ok(None));
    // A late `100 Continue` is consumed: the body went out already.
    conn.receive(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(conn.handle_timeout(t0 + ms(2_000)), None);
    assert!(conn.error().is_none());
    assert_eq!(conn.poll_timeout(t0 + ms(1_000)), None);
}

#[test]
fn deadline_continue_delay_configured() {
    let mut conn = Connection::new(Config::default().with_continue_delay(ms(250)));
    let t0 = at_ms(42);
    conn.send_request("PUT", "/", EXPECT, Body::Sized(2))
        .unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t0), Some(t0 + ms(250)));
    conn.handle_timeout(t0 + ms(250));
    assert_eq!(conn.awaiting_continue(), None);
    assert!(conn.is_sending_body());
    conn.send_body(Bytes::from_static(b"ok")).unwrap();
    assert_eq!(text(&drain_transmit(&mut conn)), "ok");
}

#[test]
fn deadline_none_by_default() {
    let mut conn = Connection::default();
    assert_eq!(conn.poll_timeout(at_ms(0)), None, "idle");
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(
        conn.poll_timeout(at_ms(1)),
        None,
        "response owed, no read timeout"
    );
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert_eq!(conn.poll_timeout(at_ms(2)), None, "idle again");
    conn.handle_timeout(at_ms(1_000_000_000));
    assert!(!conn.must_close());
    assert_usable(&mut conn, 1);
}

#[test]
fn deadline_read_timeout_fires_only_when_response_owed() {
    let rt = Duration::from_secs(5);
    let mut conn = Connection::new(Config::default().with_read_timeout(Some(rt)));
    let t0 = at_ms(10_000);
    assert_eq!(conn.poll_timeout(t0), None, "nothing owed");
    conn.handle_timeout(t0 + rt + rt);
    assert_eq!(conn.poll_event(), Ok(None));
    let t1 = t0 + ms(20_000);
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t1), Some(t1 + rt));
    conn.handle_timeout(t1 + (rt - ms(1)));
    assert_eq!(conn.poll_event(), Ok(None));
    assert!(conn.error().is_none());
    conn.handle_timeout(t1 + rt);
    let err = Error::TimedOut(Timeout::Read);
    assert_eq!(conn.poll_event(), Err(err.clone()));
    assert_eq!(conn.poll_event(), Err(err.clone()));
    assert_eq!(conn.error(), Some(&err));
    assert!(conn.must_close());
}

#[test]
fn deadline_write_timeout_while_bytes_wait() {
    let wt = Duration::from_secs(5);
    let mut conn = Connection::new(Config::default().with_write_timeout(Some(wt)));
    let t0 = at_ms(0);
    assert_eq!(conn.poll_timeout(t0), None, "nothing to write");
    post_sized(&mut conn, 4);
    conn.send_body(Bytes::from_static(b"ab")).unwrap();
    assert_eq!(conn.poll_timeout(t0), Some(t0 + wt), "bytes wait");
    // Part of it written: the deadline starts again from the next look.
    let t1 = t0 + ms(3_000);
    conn.consume_transmit(1);
    assert_eq!(conn.poll_timeout(t1), Some(t1 + wt));
    conn.handle_timeout(t0 + wt);
    assert!(conn.error().is_none(), "progress restarted the deadline");
    // Bytes received count as progress too.
    let t2 = t1 + ms(3_000);
    conn.receive(b"HTTP/1.1 100 Continue\r\n").unwrap();
    assert_eq!(conn.poll_timeout(t2), Some(t2 + wt));
    conn.handle_timeout(t2 + wt);
    let err = Error::TimedOut(Timeout::Write);
    assert_eq!(conn.poll_event(), Err(err.clone()));
    assert_eq!(conn.error(), Some(&err));
    assert!(conn.must_close());
}

#[test]
fn deadline_write_timeout_stops_when_written_and_names_write_first() {
    let t = Duration::from_secs(5);
    let config = Config::default()
        .with_write_timeout(Some(t))
        .with_read_timeout(Some(t));
    let mut conn = Connection::new(config.clone());
    get(&mut conn).unwrap();
    assert_eq!(conn.poll_timeout(at_ms(0)), Some(at_ms(5_000)));
    conn.handle_timeout(at_ms(5_000));
    assert_eq!(
        conn.error(),
        Some(&Error::TimedOut(Timeout::Write)),
        "nothing moved either way while the request waited to be written"
    );
    let mut conn = Connection::new(config);
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(at_ms(0)), Some(at_ms(5_000)));
    conn.handle_timeout(at_ms(5_000));
    assert_eq!(conn.error(), Some(&Error::TimedOut(Timeout::Read)));
}

#[test]
fn deadline_no_read_timeout_while_a_body_waits_for_continue() {
    let rt = Duration::from_secs(2);
    let config = Config::default()
        .with_read_timeout(Some(rt))
        .with_continue_delay(Duration::from_secs(5));
    let mut conn = Connection::new(config);
    let id = conn
        .send_request(
            "PUT",
            "/",
            [("Host", "a"), ("Expect", "100-continue")],
            Body::Full(Bytes::from_static(b"data")),
        )
        .unwrap();
    let _head = drain_transmit(&mut conn);
    let t0 = at_ms(0);
    assert_eq!(
        conn.poll_timeout(t0),
        Some(t0 + ms(5_000)),
        "the continue delay"
    );
    assert_eq!(conn.handle_timeout(t0 + ms(5_000)), Some(id));
    assert!(
        conn.error().is_none(),
        "no read timeout while the body was held"
    );
    let _body = drain_transmit(&mut conn);
    let t1 = t0 + ms(5_000);
    assert_eq!(
        conn.poll_timeout(t1),
        Some(t1 + rt),
        "counts from the release"
    );
    conn.handle_timeout(t1 + rt);
    assert_eq!(conn.error(), Some(&Error::TimedOut(Timeout::Read)));
}

#[test]
fn deadline_read_timeout_restarted_by_received_bytes() {
    let rt = Duration::from_secs(5);
    let mut conn = Connection::new(Config::default().with_read_timeout(Some(rt)));
    let t0 = at_ms(0);
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t0), Some(t0 + rt));
    let t1 = t0 + ms(3_000);
    conn.receive(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(conn.poll_timeout(t1), Some(t1 + rt));
    conn.handle_timeout(t0 + rt);
    assert_eq!(
        conn.poll_event(),
        Ok(None),
        "progress restarted the deadline"
    );
    let t2 = t0 + ms(7_000);
    let evs = respond(&mut conn, b"ngth: 3\r\n\r\nab");
    assert_eq!(summary(&evs), ["headers #0 200", "data ab"]);
    assert_eq!(conn.poll_timeout(t2), Some(t2 + rt));
    conn.handle_timeout(t1 + rt);
    assert_eq!(conn.poll_event(), Ok(None));
    conn.handle_timeout(t2 + rt);
    assert_eq!(conn.poll_event(), Err(Error::TimedOut(Timeout::Read)));
}

#[test]
fn deadline_read_timeout_stops_when_response_complete() {
    let rt = Duration::from_secs(5);
    let mut conn = Connection::new(Config::default().with_read_timeout(Some(rt)));
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(at_ms(0)), Some(at_ms(5_000)));
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert_eq!(conn.poll_timeout(at_ms(1_000)), None);
    conn.handle_timeout(at_ms(60_000));
    assert_eq!(conn.poll_event(), Ok(None));
    assert!(conn.error().is_none());
}

#[test]
fn deadline_no_read_timeout_while_caller_streams_body() {
    let rt = Duration::from_secs(5);
    let mut conn = Connection::new(Config::default().with_read_timeout(Some(rt)));
    let t0 = at_ms(0);
    post_sized(&mut conn, 4);
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t0), None, "the caller owes body bytes");
    conn.send_body(Bytes::from_static(b"ab")).unwrap();
    let _ = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t0 + ms(10_000)), None);
    conn.handle_timeout(t0 + ms(100_000));
    assert_eq!(conn.poll_event(), Ok(None));
    assert!(conn.error().is_none());
    let t1 = t0 + ms(101_000);
    conn.send_body(Bytes::from_static(b"cd")).unwrap();
    let _ = drain_transmit(&mut conn);
    assert_eq!(
        conn.poll_timeout(t1),
        Some(t1 + rt),
        "body done: a response is owed"
    );
}

#[test]
fn deadline_idle_timeout_closes_connection() {
    let idle = Duration::from_secs(30);
    let mut conn = Connection::new(Config::default().with_idle_timeout(Some(idle)));
    let t0 = at_ms(1_000);
    assert_eq!(conn.poll_timeout(t0), Some(t0 + idle));
    conn.handle_timeout(t0 + (idle - ms(1)));
    assert!(!conn.must_close());
    conn.handle_timeout(t0 + idle);
    assert!(conn.must_close());
    assert!(conn.error().is_none(), "idle expiry is not an error");
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(conn.poll_timeout(t0 + idle), None);
}

#[test]
fn deadline_idle_timeout_not_running_while_in_flight_and_restarts_after() {
    let idle = Duration::from_secs(30);
    let mut conn = Connection::new(Config::default().with_idle_timeout(Some(idle)));
    let t0 = at_ms(0);
    assert_eq!(conn.poll_timeout(t0), Some(t0 + idle));
    let t1 = t0 + ms(10_000);
    get(&mut conn).unwrap();
    let _head = drain_transmit(&mut conn);
    assert_eq!(conn.poll_timeout(t1), None, "a response is owed");
    let t2 = t0 + ms(20_000);
    assert_eq!(
        summary(&respond(&mut conn, OK_EMPTY)),
        ["headers #0 200", "end 0"]
    );
    assert_eq!(conn.poll_timeout(t2), Some(t2 + idle));
    conn.handle_timeout(t0 + idle);
    assert!(!conn.must_close());
    assert_usable(&mut conn, 1);
}

// ----- pipelining and closing -------------------------------------------------------

#[test]
fn pipeline_connection_close_refuses_later_requests_even_after_response() {
    let mut conn = Connection::default();
    let id = conn
        .send_request(
            "GET",
            "/",
            [("Host", "example.com"), ("Connection", "close")],
            Body::Empty,
        )
        .unwrap();
    assert_eq!(id.as_u64(), 0);
    assert!(conn.must_close());
    let _head = drain_transmit(&mut conn);
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(summary(&evs), ["headers #0 200", "data hi", "end 0"]);
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
}

#[test]
fn pipeline_response_announcing_close_refuses_later_requests() {
    let mut conn = common::conn_with(&["GET"]);
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(summary(&evs), ["headers #0 200", "end 0"]);
    assert!(conn.must_close());
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
}

#[test]
fn pipeline_connect_in_flight_refuses_requests_until_handed_over() {
    let mut conn = Connection::default();
    conn.send_request(
        "CONNECT",
        "example.com:443",
        [("Host", "example.com:443")],
        Body::Empty,
    )
    .unwrap();
    assert!(!conn.must_close(), "not closing: waiting to hand over");
    let _head = drain_transmit(&mut conn);
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Upgrading)));
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 200 Connection Established\r\n\r\ntunnel bytes",
    );
    assert_eq!(summary(&evs), ["headers #0 200", "upgraded tunnel bytes"]);
    assert!(conn.is_upgraded());
    assert!(conn.must_close());
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Upgrading)));
    assert_eq!(
        conn.receive(b"more"),
        Err(Error::State(StateError::Upgrading))
    );
}

#[test]
fn pipeline_connect_refused_with_407_leaves_connection_reusable() {
    // RFC 9110 §9.3.6: only a 2xx turns the connection into a tunnel; after
    // any other final response the connection stays HTTP, and neither
    // `must_close` nor `StateError::Upgrading` ("a CONNECT in flight") apply.
    let mut conn = Connection::default();
    conn.send_request(
        "CONNECT",
        "example.com:443",
        [("Host", "example.com:443")],
        Body::Empty,
    )
    .unwrap();
    let _head = drain_transmit(&mut conn);
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(summary(&evs), ["headers #0 407", "end 0"]);
    assert!(!conn.is_upgraded());
    assert!(!conn.must_close());
    assert_eq!(conn.in_flight(), 0);
    let id = conn
        .send_request(
            "CONNECT",
            "example.com:443",
            [
                ("Host", "example.com:443"),
                ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
            ],
            Body::Empty,
        )
        .expect("a refused CONNECT leaves the connection usable");
    assert_eq!(id.as_u64(), 1);
}

#[test]
fn pipeline_upgrade_declined_leaves_connection_reusable() {
    // RFC 9110 §7.8: a server may ignore Upgrade and answer normally; the
    // connection then stays HTTP/1.1.
    let mut conn = common::conn_with(&["GET:upgrade"]);
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Upgrading)));
    let evs = respond(&mut conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(summary(&evs), ["headers #0 200", "data ok", "end 0"]);
    assert!(!conn.is_upgraded());
    assert!(!conn.must_close());
    assert_usable(&mut conn, 1);
}

#[test]
fn pipeline_upgrade_accepted_hands_over() {
    let mut conn = common::conn_with(&["GET:upgrade"]);
    let evs = respond(
        &mut conn,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00",
    );
    assert_eq!(evs.len(), 2);
    assert!(matches!(&evs[0], Ok(Event::Headers(r)) if r.status() == 101));
    assert!(matches!(&evs[1], Ok(Event::Upgraded { rest }) if rest[..] == b"\x81\x00"[..]));
    assert!(conn.is_upgraded());
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Upgrading)));
}

#[test]
fn pipeline_peer_closed_with_nothing_in_flight_refuses_requests() {
    let mut conn = Connection::default();
    conn.receive_eof();
    assert_eq!(conn.poll_event(), Ok(None));
    assert!(conn.must_close());
    assert!(conn.error().is_none());
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
    assert_eq!(conn.receive(b"x"), Err(Error::State(StateError::AfterEof)));
}

#[test]
fn pipeline_peer_closed_after_last_response_refuses_requests() {
    let mut conn = common::conn_with(&["GET"]);
    let mut evs = respond(&mut conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    conn.receive_eof();
    common::drain(&mut conn, &mut evs);
    assert_eq!(summary(&evs), ["headers #0 200", "data z", "end 0"]);
    assert!(conn.must_close());
    assert!(conn.error().is_none());
    assert_eq!(get(&mut conn), Err(Error::State(StateError::Closing)));
}

// ----- fatal errors: every later call repeats it ------------------------------------

macro_rules! fatal_cases {
    ($($name:ident: $check:pat => $setup:expr;)*) => {$(
        #[test]
        fn $name() {
            let setup: fn() -> Connection = $setup;
            let mut conn = setup();
            let err = conn.poll_event().expect_err("a fatal error");
            assert!(matches!(err, $check), "got {err:?}");
            assert!(err.is_fatal());
            assert_eq!(conn.error(), Some(&err));
            assert!(conn.must_close());
            assert_eq!(get(&mut conn), Err(err.clone()));
            assert_eq!(
                conn.send_request("POST", "/", HOST, Body::Chunked),
                Err(err.clone())
            );
            assert_eq!(conn.send_body(Bytes::from_static(b"x")), Err(err.clone()));
            assert_eq!(conn.finish(NO_TRAILERS), Err(err.clone()));
            assert_eq!(conn.poll_event(), Err(err.clone()));
            assert_eq!(conn.receive(OK_EMPTY), Err(err.clone()));
            let n = conn.read_into(OK_EMPTY.len(), |buf| {
                buf.copy_from_slice(OK_EMPTY);
                Ok::<usize, ()>(buf.len())
            });
            assert_eq!(n, Ok(OK_EMPTY.len()));
            assert_eq!(conn.poll_event(), Err(err.clone()));
            assert!(!conn.continue_timeout());
            assert!(conn.poll_transmit().is_none());
            assert_eq!(conn.poll_timeout(at_ms(1_000_000)), None, "no deadline on a dead connection");
            assert_eq!(conn.error(), Some(&err));
        }
    )*};
}

fatal_cases! {
    fatal_after_invalid_response:
        Error::InvalidResponse { kind: InvalidResponse::Status, .. } => || {
            let mut c = common::conn_with(&["GET"]);
            c.receive(b"HTTP/1.1 2x0 OK\r\n\r\n").unwrap();
            c
        };
    fatal_after_unsolicited_bytes:
        Error::InvalidResponse { kind: InvalidResponse::Unsolicited, offset: 0 } => || {
            let mut c = Connection::default();
            c.receive(OK_EMPTY).unwrap();
            c
        };
    fatal_after_read_timeout:
        Error::TimedOut(Timeout::Read) => || {
            let mut c = Connection::new(Config::default().with_read_timeout(Some(ms(100))));
            get(&mut c).unwrap();
            let _ = drain_transmit(&mut c);
            assert_eq!(c.poll_timeout(at_ms(0)), Some(at_ms(100)));
            c.handle_timeout(at_ms(100));
            c
        };
    fatal_after_peer_closed_with_response_owed:
        Error::ConnectionClosed(_) => || {
            let mut c = common::conn_with(&["GET"]);
            c.receive_eof();
            c
        };
    fatal_after_response_too_large:
        Error::TooLarge(Limit::HeadBytes(32)) => || {
            let mut c = Connection::new(Config::default().with_max_head_bytes(32));
            get(&mut c).unwrap();
            let _ = drain_transmit(&mut c);
            c.receive(b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n").unwrap();
            c
        };
}

#[test]
fn fatal_error_drops_unsent_bytes_and_transmit_len_agrees() {
    let mut conn = Connection::default();
    conn.send_request("GET", "/a", HOST, Body::Empty).unwrap();
    let _first = drain_transmit(&mut conn);
    conn.send_request("GET", "/b", HOST, Body::Empty).unwrap();
    assert!(
        conn.transmit_len() > 0,
        "the second request is still queued"
    );
    conn.receive(b"HTTP/1.1 099 Bad\r\n\r\n").unwrap();
    assert!(conn.poll_event().is_err());
    assert!(conn.poll_transmit().is_none());
    assert_eq!(conn.transmit_segments().len(), 0);
    assert_eq!(
        conn.transmit_len(),
        0,
        "transmit_len must agree with transmit_segments on a dead connection"
    );
}

// ----- vectored transmit ----------------------------------------------------------------

/// A mix of segment kinds: head, whole body, chunk lines, chunk data, CRLF,
/// last chunk with trailers, and another head.
fn queue_mixed_requests(conn: &mut Connection) {
    conn.send_request(
        "POST",
        "/a",
        HOST,
        Body::Full(Bytes::from_static(b"0123456789")),
    )
    .unwrap();
    conn.send_request("POST", "/b", HOST, Body::Chunked)
        .unwrap();
    conn.send_body(Bytes::from_static(b"hello")).unwrap();
    conn.send_body(Bytes::from_static(b"world!")).unwrap();
    conn.finish([("X-Sum", "1")]).unwrap();
    conn.send_request("GET", "/c", HOST, Body::Empty).unwrap();
}

/// Writes with `transmit_segments` + `consume_transmit` in the given steps,
/// then the rest either in one vectored write or through `poll_transmit`.
fn check_vectored(steps: fn(&[usize]) -> Vec<usize>, rest_by_poll: bool) {
    let mut reference = Connection::default();
    queue_mixed_requests(&mut reference);
    let expected = drain_transmit(&mut reference);

    let mut conn = Connection::default();
    queue_mixed_requests(&mut conn);
    let lens: Vec<usize> = conn.transmit_segments().map(<[u8]>::len).collect();
    assert_eq!(lens.iter().sum::<usize>(), expected.len());
    assert_eq!(conn.transmit_len(), expected.len() as u64);
    let mut written = Vec::new();
    for step in steps(&lens) {
        let pending: Vec<u8> = conn.transmit_segments().flat_map(|s| s.to_vec()).collect();
        assert_eq!(pending.len() as u64, conn.transmit_len());
        let step = step.min(pending.len());
        written.extend_from_slice(&pending[..step]);
        conn.consume_transmit(step);
        assert_eq!(conn.transmit_len(), (expected.len() - written.len()) as u64);
    }
    if rest_by_poll {
        written.extend(drain_transmit(&mut conn));
    } else {
        let pending: Vec<u8> = conn.transmit_segments().flat_map(|s| s.to_vec()).collect();
        conn.consume_transmit(pending.len());
        written.extend(pending);
    }
    assert_eq!(text(&written), text(&expected));
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(conn.transmit_segments().len(), 0);
    assert!(conn.poll_transmit().is_none());
}

macro_rules! vectored_cases {
    ($($name:ident: $steps:expr, $rest_by_poll:expr;)*) => {$(
        #[test]
        fn $name() {
            check_vectored($steps, $rest_by_poll);
        }
    )*};
}

vectored_cases! {
    vectored_all_at_once: |_| vec![], false;
    vectored_one_byte_at_a_time: |lens| vec![1; lens.iter().sum()], false;
    vectored_straddle_every_boundary: |lens| {
        // Stop one byte before each boundary, then take two bytes across it.
        let mut steps = Vec::new();
        let mut consumed = 0;
        let mut boundary = 0;
        for len in &lens[..lens.len() - 1] {
            boundary += len;
            if boundary - 1 > consumed {
                steps.push(boundary - 1 - consumed);
                consumed = boundary - 1;
            }
            steps.push(2);
            consumed += 2;
        }
        steps
    }, false;
    vectored_odd_steps_then_poll_transmit: |_| vec![7, 13, 1, 64, 3, 0, 29], true;
    vectored_zero_steps_are_noops: |_| vec![0, 5, 0, 0, 9, 0], true;
    vectored_partial_first_segment_then_poll_transmit: |lens| vec![lens[0] / 2], true;
}

// ----- what a closed connection says about each request -------------------------------

macro_rules! fate_cases {
    ($($name:ident: $setup:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            let setup: fn(&mut Connection) -> Vec<Result<Event, Error>> = $setup;
            let mut evs = setup(&mut conn);
            // What the connection says before the close is what the close
            // says, and what it keeps saying after.
            let predicted = conn.unanswered();
            conn.receive_eof();
            common::drain(&mut conn, &mut evs);
            let Some(Err(Error::ConnectionClosed(closed))) = evs.last() else {
                panic!("expected ConnectionClosed, got {:?}", summary(&evs));
            };
            assert_eq!(&predicted, closed);
            assert_eq!(&conn.unanswered(), closed);
            let got: Vec<(u64, Fate)> = closed
                .unanswered()
                .iter()
                .map(|u| (u.id.as_u64(), u.fate))
                .collect();
            let expected: &[(u64, Fate)] = &$expected;
            assert_eq!(got, expected);
            let not: Vec<u64> = closed.not_processed().map(|id| id.as_u64()).collect();
            let expected_not: Vec<u64> = expected
                .iter()
                .filter(|(_, f)| *f == Fate::NotProcessed)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(not, expected_not);
        }
    )*};
}

/// Queues two GETs; returns the length of the first.
fn two_gets(conn: &mut Connection) -> usize {
    get(conn).unwrap();
    let first = conn.transmit_len() as usize;
    get(conn).unwrap();
    first
}

fate_cases! {
    fate_all_consumed_is_maybe_processed: |c| {
        two_gets(c);
        let n = c.transmit_len() as usize;
        c.consume_transmit(n);
        vec![]
    } => [(0, Fate::MaybeProcessed), (1, Fate::MaybeProcessed)];
    fate_partly_consumed_second_is_not_processed: |c| {
        let first = two_gets(c);
        c.consume_transmit(first + 3);
        vec![]
    } => [(0, Fate::MaybeProcessed), (1, Fate::NotProcessed)];
    fate_first_missing_last_byte_is_not_processed: |c| {
        let first = two_gets(c);
        c.consume_transmit(first - 1);
        vec![]
    } => [(0, Fate::NotProcessed), (1, Fate::NotProcessed)];
    fate_never_written_is_not_processed: |c| {
        two_gets(c);
        vec![]
    } => [(0, Fate::NotProcessed), (1, Fate::NotProcessed)];
    fate_poll_transmit_counts_as_written: |c| {
        c.send_request("POST", "/", HOST, Body::Full(Bytes::from_static(b"abcdef"))).unwrap();
        get(c).unwrap();
        // The first head, then its body, then the second head.
        let _ = c.poll_transmit();
        let _ = c.poll_transmit();
        vec![]
    } => [(0, Fate::MaybeProcessed), (1, Fate::NotProcessed)];
    fate_requests_queued_together_go_out_in_one_segment: |c| {
        two_gets(c);
        assert_eq!(c.transmit_segments().len(), 1);
        let _ = c.poll_transmit();
        vec![]
    } => [(0, Fate::MaybeProcessed), (1, Fate::MaybeProcessed)];
    fate_body_consumed_but_unfinished_is_not_processed: |c| {
        post_sized(c, 10);
        c.send_body(Bytes::from_static(b"abcd")).unwrap();
        let _ = drain_transmit(c);
        vec![]
    } => [(0, Fate::NotProcessed)];
    fate_body_held_for_continue_is_not_processed: |c| {
        c.send_request("POST", "/", EXPECT, Body::Full(Bytes::from_static(b"abc"))).unwrap();
        let _ = drain_transmit(c);
        vec![]
    } => [(0, Fate::NotProcessed)];
    fate_full_body_partly_consumed_is_not_processed: |c| {
        c.send_request("POST", "/", HOST, Body::Full(Bytes::from_static(b"abcdef"))).unwrap();
        let n = c.transmit_len() as usize;
        c.consume_transmit(n - 1);
        vec![]
    } => [(0, Fate::NotProcessed)];
    fate_until_close_body_is_answered_by_the_close: |c| {
        two_gets(c);
        let _ = drain_transmit(c);
        respond(c, b"HTTP/1.1 200 OK\r\n\r\nabc")
    } => [(1, Fate::MaybeProcessed)];
    fate_until_close_body_announced_leaves_the_rest_unprocessed: |c| {
        two_gets(c);
        let _ = drain_transmit(c);
        respond(c, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc")
    } => [(1, Fate::NotProcessed)];
    fate_head_received_is_body_incomplete: |c| {
        two_gets(c);
        let _ = drain_transmit(c);
        respond(c, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    } => [(0, Fate::BodyIncomplete), (1, Fate::MaybeProcessed)];
}

/// Each unanswered request's id and fate.
fn fates(closed: &dugong_proto::Closed) -> Vec<(u64, Fate)> {
    closed
        .unanswered()
        .iter()
        .map(|u| (u.id.as_u64(), u.fate))
        .collect()
}

/// Two GETs written whole, then `input` from the server and the end of
/// stream: which request's response had begun to arrive.
fn started_after(input: &[u8]) -> Option<u64> {
    let mut conn = Connection::default();
    two_gets(&mut conn);
    let _ = drain_transmit(&mut conn);
    let mut evs = respond(&mut conn, input);
    conn.receive_eof();
    common::drain(&mut conn, &mut evs);
    let Some(Err(Error::ConnectionClosed(closed))) = evs.last() else {
        panic!("expected ConnectionClosed, got {:?}", summary(&evs));
    };
    assert_eq!(conn.unanswered(), *closed);
    closed.response_started().map(|id| id.as_u64())
}

#[test]
fn response_started_names_the_request_whose_response_began() {
    let cases: &[(&str, &[u8], Option<u64>)] = &[
        ("nothing arrived", b"", None),
        ("only empty lines", b"\r\n\r\n", None),
        ("part of a status line", b"HTTP/1.1 2", Some(0)),
        ("part of a head", b"HTTP/1.1 200 OK\r\nContent-Le", Some(0)),
        (
            "an interim response",
            b"HTTP/1.1 103 Early Hints\r\n\r\n",
            Some(0),
        ),
        (
            "head, body cut",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
            Some(0),
        ),
        (
            "first answered, second begun",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 20",
            Some(1),
        ),
        (
            "first answered, nothing of the second",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            None,
        ),
    ];
    for (what, input, expected) in cases {
        assert_eq!(started_after(input), *expected, "{what}");
    }
}

#[test]
fn closed_as_announced_names_no_started_response() {
    let mut conn = Connection::default();
    two_gets(&mut conn);
    let _ = drain_transmit(&mut conn);
    let mut evs = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    conn.receive_eof();
    common::drain(&mut conn, &mut evs);
    let Some(Err(Error::ConnectionClosed(closed))) = evs.last() else {
        panic!("expected ConnectionClosed, got {:?}", summary(&evs));
    };
    assert_eq!(closed.response_started(), None);
    assert_eq!(
        closed
            .not_processed()
            .map(|id| id.as_u64())
            .collect::<Vec<_>>(),
        [1]
    );
}

/// After an error that is not a close (here an invalid head, then a read
/// timeout), `unanswered` still gives the fates as they were when the
/// connection broke, although the state machine dropped what it had not
/// written.
#[test]
fn unanswered_keeps_the_fates_from_when_the_connection_broke() {
    // An invalid head: the first request's response had begun.
    let mut conn = Connection::default();
    let first = two_gets(&mut conn);
    conn.consume_transmit(first);
    let evs = respond(&mut conn, b"HTTP/1.1 200 OK\r\nBad Field\r\n\r\n");
    assert!(
        matches!(evs.last(), Some(Err(Error::InvalidResponse { .. }))),
        "{:?}",
        summary(&evs)
    );
    let lost = conn.unanswered();
    assert_eq!(
        fates(&lost),
        [(0, Fate::MaybeProcessed), (1, Fate::NotProcessed)]
    );
    assert_eq!(lost.response_started().map(|id| id.as_u64()), Some(0));

    // A read timeout: nothing of a response arrived.
    let mut conn =
        Connection::new(Config::default().with_read_timeout(Some(Duration::from_secs(1))));
    let first = two_gets(&mut conn);
    conn.consume_transmit(first);
    let start = Instant::from_elapsed(Duration::ZERO);
    let deadline = conn.poll_timeout(start).expect("a read deadline runs");
    let _ = conn.handle_timeout(deadline);
    assert!(
        matches!(conn.error(), Some(Error::TimedOut(Timeout::Read))),
        "{:?}",
        conn.error()
    );
    let lost = conn.unanswered();
    assert_eq!(
        fates(&lost),
        [(0, Fate::MaybeProcessed), (1, Fate::NotProcessed)]
    );
    assert_eq!(lost.response_started(), None);
}

// ----- read_into gives the same events as receive ---------------------------------------

/// Like `common::feed`, but reading straight into the receive buffer, with a
/// reader that fills less than the room it is offered.
fn feed_read_into(
    conn: &mut Connection,
    input: &[u8],
    split: usize,
    eof: bool,
) -> Vec<Result<Event, Error>> {
    common::feed_with(conn, input, split, eof, |conn, piece| {
        let n = conn.read_into(piece.len() + 7, |buf| {
            buf[..piece.len()].copy_from_slice(piece);
            Ok::<usize, std::io::Error>(piece.len())
        });
        assert_eq!(n.unwrap(), piece.len());
    })
}

macro_rules! read_into_cases {
    ($($name:ident: $requests:expr, $input:expr, $eof:expr => $summary:expr;)*) => {$(
        #[test]
        fn $name() {
            let requests: &[&str] = &$requests;
            let expected: &[&str] = &$summary;
            for split in [0, 1, 3, 7, 64] {
                let mut by_receive = common::conn_with(requests);
                let want = common::feed(&mut by_receive, $input, split, $eof);
                let mut by_read = common::conn_with(requests);
                let got = feed_read_into(&mut by_read, $input, split, $eof);
                assert_eq!(got, want, "split {split}");
                assert_eq!(
                    summary(&common::normalize(got)),
                    expected,
                    "split {split}"
                );
                assert_eq!(by_read.in_flight(), by_receive.in_flight());
                assert_eq!(by_read.must_close(), by_receive.must_close());
            }
        }
    )*};
}

read_into_cases! {
    read_into_content_length: ["GET"],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false
        => ["headers #0 200", "data hello", "end 0"];
    read_into_chunked_with_trailers: ["GET"],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-T: 1\r\n\r\n", false
        => ["headers #0 200", "data abcde", "end 1"];
    read_into_pipelined: ["GET", "HEAD", "GET"],
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false
        => ["headers #0 200", "data a", "end 0", "headers #1 200", "end 0", "headers #2 204", "end 0"];
    read_into_continue_then_final: ["POST:expect100"],
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false
        => ["continue #0", "headers #0 201", "end 0"];
    read_into_until_close: ["GET"],
        b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true
        => ["headers #0 200", "data until the end", "end 0"];
    read_into_invalid_response: ["GET"],
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false
        => ["error InvalidResponse { kind: ContentLength, offset: 0 }"];
}

#[test]
fn read_into_error_keeps_nothing() {
    let mut conn = common::conn_with(&["GET"]);
    let result = conn.read_into(16, |buf| {
        buf[..4].copy_from_slice(b"XXXX");
        Err::<usize, &str>("reset")
    });
    assert_eq!(result, Err("reset"));
    assert_eq!(conn.poll_event(), Ok(None));
    let n = conn.read_into(64, |buf| {
        buf[..OK_EMPTY.len()].copy_from_slice(OK_EMPTY);
        Ok::<usize, &str>(OK_EMPTY.len())
    });
    assert_eq!(n, Ok(OK_EMPTY.len()));
    assert_eq!(summary(&events(&mut conn)), ["headers #0 200", "end 0"]);
    assert_usable(&mut conn, 1);
}

/// `read_into` lends room prepared ahead (zeroed 64 KiB at a time), `max`
/// bytes every time; and bytes it keeps, bytes `receive` copies and bytes
/// appended to `recv_buf` stay in the order they came, however the three
/// alternate.
#[test]
fn read_into_lends_prepared_room_and_mixes_with_other_input() {
    const N: usize = 3000;
    let methods = vec!["GET"; N];
    let mut conn = common::conn_with(&methods);
    let mut lent = Vec::new();
    let mut answered = 0;
    for i in 0..N {
        // Every response in two pieces, the second through another way
        // now and then.
        let (first, second) = OK_EMPTY.split_at(i % OK_EMPTY.len());
        let max = [first.len(), 100, 4096, 65536, 1 << 20][i % 5];
        let n = conn.read_into(max, |buf| {
            lent.push((max, buf.len()));
            buf[..first.len()].copy_from_slice(first);
            Ok::<usize, std::io::Error>(first.len())
        });
        assert_eq!(n.unwrap(), first.len());
        match i % 7 {
            0 => conn.receive(second).unwrap(),
            1 => conn.recv_buf().extend_from_slice(second),
            _ => {
                let n = conn.read_into(second.len(), |buf| {
                    buf.copy_from_slice(second);
                    Ok::<usize, std::io::Error>(second.len())
                });
                assert_eq!(n.unwrap(), second.len());
            }
        }
        for event in events(&mut conn) {
            if let Event::End { .. } = event.expect("a valid stream") {
                answered += 1;
            }
        }
        assert_eq!(answered, i + 1);
    }
    for (max, len) in lent {
        assert_eq!(len, max);
    }
    assert_usable(&mut conn, N as u64);
}
