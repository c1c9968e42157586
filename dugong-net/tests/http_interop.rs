//! `dugong_net::http_interop` both ways, checked against the bytes
//! `dugong-proto` transmits and the heads it parses: latin-1 values,
//! repeated fields, `Host`, versions, statuses and reasons, framing fields
//! given through `http`, and trailers.

#![cfg(feature = "http")]

use bytes::Bytes;
use dugong_net::http_interop::{
    header_fields, header_map, into_response, method, request, request_from_parts, request_head,
    response_parts, status, version, ReasonPhrase, RequestHead,
};
use dugong_proto::{Body, Connection, Event, Headers, InvalidRequest, Response};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Header fields as `(name, value)` pairs, in order.
type Fields = &'static [(&'static str, &'static [u8])];

/// What a fresh connection transmits for `head` and `body`.
fn wire(head: &RequestHead, body: Body) -> Result<Vec<u8>, dugong_proto::Error> {
    let mut conn = Connection::default();
    conn.send_request(&head.method, &head.target, &head.fields, body)?;
    Ok(drain(&mut conn))
}

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some(segment) = conn.poll_transmit() {
        wire.extend_from_slice(&segment);
    }
    wire
}

/// The head of an `http` request, converted.
fn head_of(request: http::Request<()>) -> RequestHead {
    request_head(&request.into_parts().0).expect("a head dugong can send")
}

/// The bytes as text, with non-ASCII bytes escaped, for failure messages.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The head of a response to a `GET`, parsed from `input`.
fn parse(input: &[u8]) -> Response {
    let mut conn = Connection::default();
    conn.send_request("GET", "/", [("Host", "a"), ("TE", "trailers")], Body::Empty)
        .unwrap();
    conn.receive(input).unwrap();
    match conn.poll_event().unwrap() {
        Some(Event::Headers(head)) => head,
        other => panic!("{other:?} for {}", show(input)),
    }
}

/// The trailers of a chunked response to a `GET` whose trailer section is
/// `section` (field lines and the final CRLF).
fn parse_trailers(section: &[u8]) -> Headers {
    let mut conn = Connection::default();
    conn.send_request("GET", "/", [("Host", "a"), ("TE", "trailers")], Body::Empty)
        .unwrap();
    conn.receive(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n")
        .unwrap();
    conn.receive(section).unwrap();
    loop {
        match conn.poll_event().unwrap() {
            Some(Event::End { trailers }) => return trailers,
            Some(_) => continue,
            None => panic!("no end for {}", show(section)),
        }
    }
}

/// All `(name, value)` pairs of a header map, in its order.
fn pairs(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect()
}

fn owned(fields: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
        .collect()
}

// --- in: http requests to the wire ---------------------------------------

#[test]
fn latin1_request_values_go_out_byte_exact() {
    // Values given to `http`, each expected on the wire after `x-v: `.
    let cases: &[&[u8]] = &[
        b"caf\xe9",
        b"\xff\xfe",
        b"\x80",
        b"na\xefve caf\xe9 cr\xe8me",
        b"tab\tinside",
        b"plain ascii",
        b"",
    ];
    for &value in cases {
        let request = http::Request::get("http://example.com/")
            .header("x-v", HeaderValue::from_bytes(value).unwrap())
            .body(())
            .unwrap();
        let (head, body) = dugong_net::http_interop::request(request).unwrap();
        let mut expected = b"GET / HTTP/1.1\r\nx-v: ".to_vec();
        expected.extend_from_slice(value);
        expected.extend_from_slice(b"\r\nhost: example.com\r\n\r\n");
        let sent = wire(&head, body).unwrap();
        assert_eq!(
            sent,
            expected,
            "{} went out as {}",
            show(value),
            show(&sent)
        );
    }
}

#[test]
fn repeated_request_fields_keep_their_order() {
    // (fields appended in this order, field lines on the wire). Values of a
    // name keep their order; names come grouped, in first-insertion order.
    let cases: &[(Fields, &[u8])] = &[
        (
            &[("accept", b"a"), ("accept", b"b"), ("accept", b"c")],
            b"accept: a\r\naccept: b\r\naccept: c\r\n",
        ),
        (
            &[("x-a", b"1"), ("x-b", b"2"), ("x-a", b"3")],
            b"x-a: 1\r\nx-a: 3\r\nx-b: 2\r\n",
        ),
        (
            &[
                ("Cookie", b"a=1"),
                ("X-Latin", b"caf\xe9"),
                ("cookie", b"b=\xff"),
            ],
            b"cookie: a=1\r\ncookie: b=\xff\r\nx-latin: caf\xe9\r\n",
        ),
        (
            &[("x-empty", b""), ("x-empty", b"")],
            b"x-empty: \r\nx-empty: \r\n",
        ),
    ];
    for (fields, lines) in cases {
        let mut builder = http::Request::post("http://h/p");
        for (name, value) in *fields {
            builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        let (head, body) = request(builder.body(Bytes::from_static(b"x")).unwrap()).unwrap();
        let mut expected = b"POST /p HTTP/1.1\r\n".to_vec();
        expected.extend_from_slice(lines);
        expected.extend_from_slice(b"host: h\r\nContent-Length: 1\r\n\r\nx");
        assert_eq!(show(&wire(&head, body).unwrap()), show(&expected));

        // The same map given to `send_request` directly, without a copy.
        let (parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
        let mut map = parts.headers;
        for (name, value) in *fields {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let mut conn = Connection::default();
        conn.send_request("GET", "/", &map, Body::Empty).unwrap();
        let mut expected = b"GET / HTTP/1.1\r\n".to_vec();
        expected.extend_from_slice(lines);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(show(&drain(&mut conn)), show(&expected));
        assert_eq!(header_fields(&map).len(), fields.len());
    }
}

#[test]
fn host_comes_from_the_authority_unless_given() {
    // (method, URI, Host given as a header, target sent, Host sent)
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        (
            "GET",
            "http://example.com/a",
            None,
            "/a",
            Some("example.com"),
        ),
        (
            "GET",
            "http://example.com:8080/a?b=c",
            None,
            "/a?b=c",
            Some("example.com:8080"),
        ),
        (
            "GET",
            "https://example.com:443",
            None,
            "/",
            Some("example.com:443"),
        ),
        (
            "GET",
            "http://user:secret@example.com/a",
            None,
            "/a",
            Some("example.com"),
        ),
        ("GET", "http://[::1]:8080/", None, "/", Some("[::1]:8080")),
        (
            "GET",
            "http://a.example/",
            Some("b.example"),
            "/",
            Some("b.example"),
        ),
        (
            "GET",
            "/only/path",
            Some("given"),
            "/only/path",
            Some("given"),
        ),
        // No authority and no Host: none from the conversion (a connection
        // made for a host adds its own).
        ("GET", "/only/path", None, "/only/path", None),
        ("OPTIONS", "*", None, "*", None),
        (
            "CONNECT",
            "origin.example:443",
            None,
            "origin.example:443",
            Some("origin.example:443"),
        ),
        (
            "CONNECT",
            "http://u@origin.example:443",
            None,
            "origin.example:443",
            Some("origin.example:443"),
        ),
    ];
    for &(method_name, uri, given, target, host) in cases {
        let mut builder = http::Request::builder().method(method_name).uri(uri);
        if let Some(given) = given {
            builder = builder.header("host", given);
        }
        let head = head_of(builder.body(()).unwrap());
        let mut expected = format!("{method_name} {target} HTTP/1.1\r\n");
        if let Some(host) = host {
            expected += &format!("host: {host}\r\n");
        }
        expected += "\r\n";
        let sent = wire(&head, Body::Empty).unwrap();
        assert_eq!(
            show(&sent),
            show(expected.as_bytes()),
            "{method_name} {uri}"
        );
    }

    // The connection's own Host is not added when the request has one.
    let head = head_of(http::Request::get("http://from-uri/").body(()).unwrap());
    let mut conn = Connection::default();
    conn.send_request(&head.method, &head.target, &head.fields, Body::Empty)
        .unwrap();
    assert!(!String::from_utf8(drain(&mut conn))
        .unwrap()
        .contains("Host"));

    let missing = http::Request::connect("/no-authority").body(()).unwrap();
    let error = request_head(&missing.into_parts().0).unwrap_err();
    assert!(
        matches!(error, dugong_net::Error::InvalidUrl { .. }),
        "{error}"
    );
}

#[test]
fn methods_go_out_as_given() {
    let cases = [
        (http::Method::GET, "GET"),
        (http::Method::HEAD, "HEAD"),
        (http::Method::POST, "POST"),
        (http::Method::PUT, "PUT"),
        (http::Method::DELETE, "DELETE"),
        (http::Method::PATCH, "PATCH"),
        (http::Method::OPTIONS, "OPTIONS"),
        (http::Method::TRACE, "TRACE"),
        (http::Method::from_bytes(b"PURGE").unwrap(), "PURGE"),
        (http::Method::from_bytes(b"M-SEARCH").unwrap(), "M-SEARCH"),
    ];
    for (given, name) in cases {
        assert_eq!(method(&given), name);
        let head = head_of(
            http::Request::builder()
                .method(given)
                .uri("http://h/x")
                .body(())
                .unwrap(),
        );
        let expected = format!("{name} /x HTTP/1.1\r\nhost: h\r\n\r\n");
        assert_eq!(
            show(&wire(&head, Body::Empty).unwrap()),
            show(expected.as_bytes())
        );
    }
}

#[test]
fn the_request_version_is_not_sent() {
    for given in [
        http::Version::HTTP_10,
        http::Version::HTTP_11,
        http::Version::HTTP_2,
    ] {
        let head = head_of(
            http::Request::get("http://h/")
                .version(given)
                .body(())
                .unwrap(),
        );
        let sent = wire(&head, Body::Empty).unwrap();
        assert!(sent.starts_with(b"GET / HTTP/1.1\r\n"), "{given:?}");
    }
}

#[test]
fn whole_requests_and_parts_with_a_body_agree() {
    // (body as given, the Body that comes out, its framing on the wire)
    let with_body = |body: Body| {
        http::Request::put("http://h/up")
            .header("x-a", "1")
            .body(body)
            .unwrap()
    };
    let cases = [
        (Body::Empty, "\r\n"),
        (Body::from("hello"), "Content-Length: 5\r\n\r\nhello"),
        (
            Body::from(Bytes::from_static(b"")),
            "Content-Length: 0\r\n\r\n",
        ),
        (Body::from(vec![b'v'; 3]), "Content-Length: 3\r\n\r\nvvv"),
        (Body::Sized(7), "Content-Length: 7\r\n\r\n"),
        (Body::Chunked, "Transfer-Encoding: chunked\r\n\r\n"),
    ];
    for (body, framing) in cases {
        let (whole_head, whole_body) = request(with_body(body.clone())).unwrap();
        let (parts, given) = with_body(body.clone()).into_parts();
        let (parts_head, parts_body) = request_from_parts(&parts, given).unwrap();
        assert_eq!(whole_head, parts_head);
        assert_eq!(whole_head, request_head(&parts).unwrap());
        assert_eq!((&whole_body, &parts_body), (&body, &body));
        let expected = format!("PUT /up HTTP/1.1\r\nx-a: 1\r\nhost: h\r\n{framing}");
        assert_eq!(
            show(&wire(&whole_head, whole_body).unwrap()),
            show(expected.as_bytes())
        );
    }
    // Any body type that converts into a Body.
    let (_, body) = request(http::Request::get("/").body(()).unwrap()).unwrap();
    assert_eq!(body, Body::Empty);
    let (_, body) = request(http::Request::get("/").body(&b"raw"[..]).unwrap()).unwrap();
    assert_eq!(body, Body::Full(Bytes::from_static(b"raw")));
}

#[test]
fn framing_fields_from_http_get_dugongs_error_and_are_not_sent() {
    // `http` cannot even build the values dugong's own checks would refuse.
    for bad in [&b"a\nb"[..], b"a\rb", b"a\0b", b"\x7f"] {
        assert!(HeaderValue::from_bytes(bad).is_err(), "{}", show(bad));
    }
    // What `http` does build but dugong sets from the body.
    let cases: &[(&str, &str, Body)] = &[
        ("content-length", "5", Body::from("hello")),
        ("Content-Length", "0", Body::Empty),
        ("transfer-encoding", "chunked", Body::Chunked),
        ("Transfer-Encoding", "gzip, chunked", Body::Empty),
    ];
    for (name, value, body) in cases {
        let given = http::Request::post("http://h/")
            .header("x-before", "1")
            .header(*name, *value)
            .body(body.clone())
            .unwrap();
        let (head, body) = request(given).unwrap();
        let mut conn = Connection::default();
        let error = conn
            .send_request(&head.method, &head.target, &head.fields, body)
            .unwrap_err();
        assert_eq!(
            error,
            dugong_proto::Error::InvalidRequest(InvalidRequest::FramingHeader),
            "{name}"
        );
        assert_eq!(
            error.to_string(),
            "invalid request: Content-Length and Transfer-Encoding are set from the body, not as headers"
        );
        let error = dugong_net::Error::from(error);
        assert_eq!(error.kind(), dugong_net::ErrorKind::Usage);
        assert_eq!(conn.poll_transmit(), None, "{name}: nothing is sent");
        // The connection is still usable.
        conn.send_request("GET", "/", [("Host", "h")], Body::Empty)
            .unwrap();
        assert_eq!(drain(&mut conn), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    }
}

// --- out: parsed responses to http ---------------------------------------

#[test]
fn response_versions() {
    let cases = [
        (&b"HTTP/1.0"[..], http::Version::HTTP_10),
        (b"HTTP/1.1", http::Version::HTTP_11),
        // A later 1.x is read as 1.1 (RFC 9110 §2.5).
        (b"HTTP/1.9", http::Version::HTTP_11),
    ];
    for (line, expected) in cases {
        let mut input = line.to_vec();
        input.extend_from_slice(b" 200 OK\r\nContent-Length: 0\r\n\r\n");
        let head = parse(&input);
        assert_eq!(version(head.version()), expected, "{}", show(line));
        assert_eq!(response_parts(&head).unwrap().version, expected);
        assert_eq!(into_response(&head, ()).unwrap().version(), expected);
    }
}

#[test]
fn statuses_and_reasons() {
    // (status line after the version, status, reason kept as an extension)
    type Case = (&'static [u8], u16, Option<&'static [u8]>);
    let cases: &[Case] = &[
        (b"200 OK", 200, None),
        (b"404 Not Found", 404, None),
        (b"418 I'm a teapot", 418, None),
        (b"200 Fine By Me", 200, Some(b"Fine By Me")),
        (b"200 ok", 200, Some(b"ok")),
        (b"200 ", 200, Some(b"")),
        (b"299 Custom Success", 299, Some(b"Custom Success")),
        (
            b"599 Network Read Timeout",
            599,
            Some(b"Network Read Timeout"),
        ),
        (b"200 Tr\xe8s bien", 200, Some(b"Tr\xe8s bien")),
    ];
    for &(line, code, reason) in cases {
        let mut input = b"HTTP/1.1 ".to_vec();
        input.extend_from_slice(line);
        input.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        let head = parse(&input);
        let parts = response_parts(&head).unwrap();
        assert_eq!(parts.status.as_u16(), code, "{}", show(line));
        assert_eq!(status(head.status()).unwrap(), parts.status);
        assert_eq!(
            parts
                .extensions
                .get::<ReasonPhrase>()
                .map(ReasonPhrase::as_bytes),
            reason,
            "{}",
            show(line)
        );
        let response = into_response(&head, Bytes::new()).unwrap();
        assert_eq!(response.status(), parts.status);
        assert_eq!(
            response
                .extensions()
                .get::<ReasonPhrase>()
                .map(AsRef::as_ref),
            reason
        );
    }
    for code in [100, 101, 200, 599, 999] {
        assert_eq!(status(code).unwrap().as_u16(), code);
    }
    for code in [0, 99, 1000, u16::MAX] {
        let error = status(code).unwrap_err();
        assert_eq!(error.kind(), dugong_net::ErrorKind::Usage, "{code}");
    }
}

#[test]
fn latin1_and_repeated_response_fields_come_out() {
    // (field lines of the head, the header map's pairs in order)
    let cases: &[(&[u8], Fields)] = &[
        (
            b"X-Latin: caf\xe9\r\n",
            &[("x-latin", b"caf\xe9"), ("content-length", b"0")],
        ),
        (
            b"Set-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=\xff\r\n",
            &[
                ("set-cookie", b"a=1"),
                ("set-cookie", b"b=2"),
                ("set-cookie", b"c=\xff"),
                ("content-length", b"0"),
            ],
        ),
        (
            b"X-A: 1\r\nX-B: 2\r\nX-A: 3\r\n",
            &[
                ("x-a", b"1"),
                ("x-a", b"3"),
                ("x-b", b"2"),
                ("content-length", b"0"),
            ],
        ),
        (
            b"X-Space:   padded value \t\r\nX-Empty:\r\n",
            &[
                ("x-space", b"padded value"),
                ("x-empty", b""),
                ("content-length", b"0"),
            ],
        ),
        (
            b"X-Fold: first\r\n  second\r\n",
            // The fold and the whitespace around it become one space.
            &[("x-fold", b"first second"), ("content-length", b"0")],
        ),
    ];
    for &(lines, expected) in cases {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        input.extend_from_slice(lines);
        input.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let head = parse(&input);
        let map = header_map(head.headers()).unwrap();
        assert_eq!(pairs(&map), owned(expected), "{}", show(lines));
        assert_eq!(map.len(), head.headers().len());
        let parts = response_parts(&head).unwrap();
        assert_eq!(parts.headers, map);
        let response = into_response(&head, Bytes::from_static(b"b")).unwrap();
        assert_eq!(response.headers(), &map);
        assert_eq!(response.body(), "b");
    }
}

#[test]
fn response_fields_go_back_out_byte_exact() {
    // Fields parsed by dugong, into a HeaderMap and out again as request
    // fields: the same bytes (names lower-cased by `http`).
    let head = parse(b"HTTP/1.1 204 No Content\r\nX-Latin: caf\xe9\r\nVia: a\r\nvia: b\r\n\r\n");
    let map = header_map(head.headers()).unwrap();
    let fields = header_fields(&map);
    let mut conn = Connection::default();
    conn.send_request("GET", "/", &fields, Body::Empty).unwrap();
    assert_eq!(
        show(&drain(&mut conn)),
        show(b"GET / HTTP/1.1\r\nx-latin: caf\xe9\r\nvia: a\r\nvia: b\r\n\r\n")
    );
}

#[test]
fn trailers_into_a_header_map() {
    // (trailer section, the header map's pairs in order)
    let cases: &[(&[u8], Fields)] = &[
        (b"\r\n", &[]),
        (b"X-Checksum: 1234\r\n\r\n", &[("x-checksum", b"1234")]),
        (
            b"X-Sum: 1\r\nX-Note: caf\xe9\r\nx-sum: 2\r\n\r\n",
            &[("x-sum", b"1"), ("x-sum", b"2"), ("x-note", b"caf\xe9")],
        ),
    ];
    for &(section, expected) in cases {
        let trailers = parse_trailers(section);
        let map = header_map(&trailers).unwrap();
        assert_eq!(pairs(&map), owned(expected), "{}", show(section));
    }
}
