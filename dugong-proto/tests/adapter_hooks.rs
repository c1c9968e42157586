//! The hooks adapters use beyond bytes in and out: a default `Host`, secret
//! spans for redacted traces, and reading body bytes straight into the
//! caller's buffer.

use dugong_proto::{Body, Bytes, Connection, Error, Event, InvalidRequest, StateError};

fn wire(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(segment) = conn.poll_transmit() {
        out.extend_from_slice(&segment);
    }
    out
}

fn with_host(host: &str) -> Connection {
    let mut conn = Connection::default();
    conn.set_host(Some(Bytes::copy_from_slice(host.as_bytes())));
    conn
}

// ----- default Host -----------------------------------------------------------

macro_rules! host_case {
    ($name:ident, $default:expr, $method:expr, $target:expr, $headers:expr, $expect:expr) => {
        #[test]
        fn $name() {
            let mut conn = Connection::default();
            let default: Option<&str> = $default;
            conn.set_host(default.map(|h| Bytes::copy_from_slice(h.as_bytes())));
            let headers: &[(&str, &str)] = $headers;
            let result = conn.send_request($method, $target, headers, Body::Empty);
            let expect: Result<&str, InvalidRequest> = $expect;
            match expect {
                Ok(bytes) => {
                    result.expect("request accepted");
                    assert_eq!(String::from_utf8(wire(&mut conn)).unwrap(), bytes);
                }
                Err(kind) => {
                    assert_eq!(result, Err(Error::InvalidRequest(kind)));
                    assert!(wire(&mut conn).is_empty(), "nothing emitted");
                }
            }
        }
    };
}

host_case!(
    host_added_when_absent,
    Some("example.com:8080"),
    "GET",
    "/",
    &[],
    Ok("GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
);
host_case!(
    host_added_after_other_fields,
    Some("a"),
    "GET",
    "/",
    &[("Accept", "*/*")],
    Ok("GET / HTTP/1.1\r\nAccept: */*\r\nHost: a\r\n\r\n")
);
host_case!(
    callers_host_wins_in_any_case,
    Some("a"),
    "GET",
    "/",
    &[("hOsT", "b")],
    Ok("GET / HTTP/1.1\r\nhOsT: b\r\n\r\n")
);
host_case!(
    no_default_no_host,
    None,
    "GET",
    "/",
    &[],
    Ok("GET / HTTP/1.1\r\n\r\n")
);
host_case!(
    connect_gets_its_target,
    Some("proxy:3128"),
    "CONNECT",
    "origin:443",
    &[],
    Ok("CONNECT origin:443 HTTP/1.1\r\nHost: origin:443\r\n\r\n")
);
host_case!(
    connect_without_default_gets_its_target,
    None,
    "CONNECT",
    "origin:443",
    &[],
    Ok("CONNECT origin:443 HTTP/1.1\r\nHost: origin:443\r\n\r\n")
);
host_case!(
    absolute_form_keeps_default,
    Some("origin"),
    "GET",
    "http://origin/x",
    &[],
    Ok("GET http://origin/x HTTP/1.1\r\nHost: origin\r\n\r\n")
);
host_case!(
    bad_default_is_rejected,
    Some("a\r\nX: y"),
    "GET",
    "/",
    &[],
    Err(InvalidRequest::HeaderValue)
);
host_case!(
    empty_default_is_rejected,
    Some(""),
    "GET",
    "/",
    &[],
    Err(InvalidRequest::HeaderValue)
);
host_case!(
    spaced_default_is_rejected,
    Some(" a "),
    "GET",
    "/",
    &[],
    Err(InvalidRequest::HeaderValue)
);

#[test]
fn default_host_applies_to_every_later_request() {
    let mut conn = with_host("h");
    conn.send_request("GET", "/1", [("A", "1")], Body::Empty)
        .unwrap();
    conn.send_request("GET", "/2", [("A", "2")], Body::Empty)
        .unwrap();
    assert_eq!(
        String::from_utf8(wire(&mut conn)).unwrap(),
        "GET /1 HTTP/1.1\r\nA: 1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nA: 2\r\nHost: h\r\n\r\n"
    );
}

// ----- secret spans -----------------------------------------------------------

/// The wire bytes with every secret span masked, as a trace writer would.
fn masked(conn: &mut Connection) -> String {
    let spans: Vec<_> = conn.secret_spans().collect();
    let start = conn.transmitted();
    let mut bytes = wire(conn);
    for span in spans {
        for at in span {
            bytes[(at - start) as usize] = b'*';
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn secrets_are_off_by_default() {
    let mut conn = Connection::default();
    conn.send_request("GET", "/", [("Authorization", "x")], Body::Empty)
        .unwrap();
    assert_eq!(conn.secret_spans().count(), 0);
}

#[test]
fn secret_values_of_every_kind_are_spanned_in_pipelined_requests() {
    let mut conn = with_host("h");
    conn.set_track_secrets(true);
    let first = [("authorization", "Basic dTpw"), ("Accept", "a")];
    conn.send_request(
        "POST",
        "/",
        first,
        Body::Full(Bytes::from_static(b"Cookie: no")),
    )
    .unwrap();
    let second = [("Cookie", "s=1"), ("Proxy-Authorization", "Bearer t")];
    conn.send_request("GET", "/", second, Body::Empty).unwrap();
    assert_eq!(
        masked(&mut conn),
        "POST / HTTP/1.1\r\nauthorization: **********\r\nAccept: a\r\nHost: h\r\n\
         Content-Length: 10\r\n\r\nCookie: no\
         GET / HTTP/1.1\r\nCookie: ***\r\nProxy-Authorization: ********\r\nHost: h\r\n\r\n"
    );
    assert_eq!(conn.secret_spans().count(), 0, "written spans are dropped");
}

#[test]
fn spans_survive_partial_writes_until_written() {
    let mut conn = Connection::default();
    conn.set_track_secrets(true);
    conn.send_request("GET", "/", [("Cookie", "abcdef")], Body::Empty)
        .unwrap();
    let span = conn.secret_spans().next().unwrap();
    conn.consume_transmit(span.start as usize + 2);
    assert_eq!(conn.secret_spans().collect::<Vec<_>>(), vec![span.clone()]);
    conn.consume_transmit(4);
    assert_eq!(conn.transmitted(), span.end);
    assert_eq!(conn.secret_spans().count(), 0);
}

#[test]
fn a_rejected_request_leaves_no_span() {
    let mut conn = Connection::default();
    conn.set_track_secrets(true);
    let bad = [("Cookie", "a"), ("Bad Name", "x")];
    assert!(conn.send_request("GET", "/", bad, Body::Empty).is_err());
    assert_eq!(conn.secret_spans().count(), 0);
    conn.send_request("GET", "/", [("Cookie", "zz")], Body::Empty)
        .unwrap();
    assert_eq!(masked(&mut conn), "GET / HTTP/1.1\r\nCookie: **\r\n\r\n");
}

// ----- direct body reads ------------------------------------------------------

fn after_head(head: &[u8], method: &str) -> Connection {
    let mut conn = with_host("h");
    conn.send_request(method, "/", [] as [(&str, &str); 0], Body::Empty)
        .unwrap();
    let _ = wire(&mut conn);
    conn.receive(head).unwrap();
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Headers(_)))));
    conn
}

fn next(conn: &mut Connection) -> Result<Option<Event>, Error> {
    conn.poll_event()
}

#[test]
fn direct_read_of_a_length_body_in_pieces() {
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET");
    assert_eq!(next(&mut conn), Ok(None));
    assert_eq!(conn.direct_read_len(), 10);
    conn.note_direct_read(4).unwrap();
    assert_eq!(conn.direct_read_len(), 6);
    assert_eq!(
        conn.note_direct_read(7),
        Err(Error::State(StateError::DirectReadTooLong))
    );
    assert_eq!(conn.direct_read_len(), 6, "a refused report counts nothing");
    conn.note_direct_read(6).unwrap();
    assert_eq!(conn.direct_read_len(), 0);
    assert!(matches!(next(&mut conn), Ok(Some(Event::End { .. }))));
    assert!(conn.is_idle());
}

#[test]
fn body_remaining_counts_down_a_length_body() {
    let conn = with_host("h");
    assert_eq!(conn.body_remaining(), None, "no response under way");
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET");
    assert_eq!(
        conn.body_remaining(),
        Some(10),
        "buffered bytes not handed out yet"
    );
    assert!(matches!(next(&mut conn), Ok(Some(Event::Data(d))) if d == "abc"));
    assert_eq!(conn.body_remaining(), Some(7));
    conn.note_direct_read(4).unwrap();
    assert_eq!(conn.body_remaining(), Some(3));
    conn.receive(b"xyz").unwrap();
    assert!(matches!(next(&mut conn), Ok(Some(Event::Data(_)))));
    assert_eq!(conn.body_remaining(), Some(0), "complete, End not polled");
    assert!(matches!(next(&mut conn), Ok(Some(Event::End { .. }))));
    assert_eq!(conn.body_remaining(), None);
}

#[test]
fn body_remaining_of_other_framings() {
    let cases: [(&[u8], &str, Option<u64>); 5] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "GET",
            Some(0),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
            "HEAD",
            Some(0),
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", "GET", Some(0)),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET",
            None,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n", "GET", None),
    ];
    for (head, method, expected) in cases {
        let conn = after_head(head, method);
        assert_eq!(conn.body_remaining(), expected, "{}", head.escape_ascii());
    }
    // A dead connection has no body under way.
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET");
    conn.receive_eof();
    assert!(next(&mut conn).is_err());
    assert_eq!(conn.body_remaining(), None);
}

#[test]
fn direct_read_is_zero_while_bytes_are_buffered() {
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET");
    assert_eq!(conn.direct_read_len(), 0);
    assert!(matches!(next(&mut conn), Ok(Some(Event::Data(d))) if d == "abc"));
    assert_eq!(conn.direct_read_len(), 7);
}

#[test]
fn direct_read_within_chunks_then_parsing_goes_on() {
    let mut conn = after_head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
        "GET",
    );
    assert_eq!(next(&mut conn), Ok(None));
    assert_eq!(conn.direct_read_len(), 5);
    conn.note_direct_read(5).unwrap();
    assert_eq!(
        conn.direct_read_len(),
        0,
        "the chunk's CRLF is parsed, not read directly"
    );
    conn.receive(b"\r\n3\r\nxyz\r\n0\r\nT: v\r\n\r\n").unwrap();
    assert!(matches!(next(&mut conn), Ok(Some(Event::Data(d))) if d == "xyz"));
    match next(&mut conn) {
        Ok(Some(Event::End { trailers })) => assert_eq!(trailers.get("t"), Some(&b"v"[..])),
        other => panic!("expected End, got {other:?}"),
    }
}

#[test]
fn direct_read_of_a_close_delimited_body_is_unbounded_until_eof() {
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\n\r\n", "GET");
    assert_eq!(next(&mut conn), Ok(None));
    assert_eq!(conn.direct_read_len(), u64::MAX);
    conn.note_direct_read(1 << 20).unwrap();
    conn.receive_eof();
    assert_eq!(conn.direct_read_len(), 0);
    assert!(matches!(next(&mut conn), Ok(Some(Event::End { .. }))));
}

#[test]
fn no_direct_read_for_heads_or_bodiless_responses() {
    let mut conn = with_host("h");
    assert_eq!(conn.direct_read_len(), 0);
    conn.send_request("HEAD", "/", [] as [(&str, &str); 0], Body::Empty)
        .unwrap();
    assert_eq!(conn.direct_read_len(), 0, "no head yet");
    conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        .unwrap();
    assert!(matches!(next(&mut conn), Ok(Some(Event::Headers(_)))));
    assert_eq!(conn.direct_read_len(), 0, "HEAD has no body");
}

#[test]
fn eof_inside_a_directly_read_body_names_the_request() {
    let mut conn = after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET");
    assert_eq!(next(&mut conn), Ok(None));
    conn.note_direct_read(9).unwrap();
    conn.receive_eof();
    match next(&mut conn) {
        Err(Error::ConnectionClosed(closed)) => {
            assert_eq!(closed.unanswered().len(), 1);
        }
        other => panic!("expected ConnectionClosed, got {other:?}"),
    }
    assert_eq!(conn.direct_read_len(), 0, "dead");
    assert!(conn.note_direct_read(1).is_err());
}

// ----- upgrades ---------------------------------------------------------------

#[test]
fn upgrade_pending_while_connect_is_in_flight() {
    let mut conn = with_host("h");
    assert!(!conn.upgrade_pending());
    conn.send_request(
        "CONNECT",
        "origin:443",
        [] as [(&str, &str); 0],
        Body::Empty,
    )
    .unwrap();
    assert!(conn.upgrade_pending());
    let _ = wire(&mut conn);
    conn.receive(b"HTTP/1.1 200 Connection established\r\n\r\nTLS")
        .unwrap();
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Headers(_)))));
    assert!(matches!(
        conn.poll_event(),
        Ok(Some(Event::Upgraded { .. }))
    ));
    assert!(!conn.upgrade_pending());
    assert!(conn.is_upgraded());
}

#[test]
fn a_refused_connect_is_no_longer_pending() {
    let mut conn = with_host("h");
    conn.send_request(
        "CONNECT",
        "origin:443",
        [] as [(&str, &str); 0],
        Body::Empty,
    )
    .unwrap();
    conn.receive(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Headers(_)))));
    assert!(matches!(conn.poll_event(), Ok(Some(Event::End { .. }))));
    assert!(!conn.upgrade_pending());
    assert!(!conn.is_upgraded());
    assert!(!conn.must_close());
}
