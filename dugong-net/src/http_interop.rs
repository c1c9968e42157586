//! Conversions between dugong's request and response heads and the
//! [`http`] crate's types, for code that already speaks `http` (feature
//! `http`).
//!
//! | direction | from | to | function |
//! | --- | --- | --- | --- |
//! | in | `http::Request<B>` | [`RequestHead`] and [`Body`] | [`request`] |
//! | in | `http::request::Parts` and a body | [`RequestHead`] and [`Body`] | [`request_from_parts`] |
//! | in | `http::request::Parts` | [`RequestHead`] | [`request_head`] |
//! | in | `http::HeaderMap` | header fields (or trailers) to send | [`header_fields`] |
//! | in | `http::Method` | the method to send | [`method`] |
//! | out | [`Response`] | `http::response::Parts` | [`response_parts`] |
//! | out | [`Response`] and a body | `http::Response<B>` | [`into_response`] |
//! | out | [`Headers`] (fields or trailers) | `http::HeaderMap` | [`header_map`] |
//! | out | a status code | `http::StatusCode` | [`status`] |
//! | out | [`Version`] | `http::Version` | [`version`] |
//!
//! Field values are bytes both ways: latin-1 (non-UTF-8) values go out and
//! come in unchanged, and repeated fields keep their order. Dugong's own
//! rules still apply to what comes from `http`: `Content-Length` and
//! `Transfer-Encoding` are set from the [`Body`], so a request that carries
//! them is refused with
//! [`InvalidRequest::FramingHeader`](dugong_proto::InvalidRequest::FramingHeader)
//! and nothing of it is sent.
//!
//! ```
//! use dugong_net::http_interop::{request_head, response_parts};
//! use dugong_proto::{Body, Connection, Event};
//!
//! let request = http::Request::put("http://example.com/upload?x=1")
//!     .header("x-trace", "abc")
//!     .body(())
//!     .unwrap();
//! let (parts, ()) = request.into_parts();
//! let head = request_head(&parts)?;
//! assert_eq!((head.method.as_str(), head.target.as_str()), ("PUT", "/upload?x=1"));
//!
//! let mut conn = Connection::default();
//! conn.send_request(&head.method, &head.target, &head.fields, Body::Empty)?;
//! conn.receive(b"HTTP/1.1 201 Created\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n")?;
//! let Some(Event::Headers(response)) = conn.poll_event()? else { unreachable!() };
//! let parts = response_parts(&response)?;
//! assert_eq!(parts.status, http::StatusCode::CREATED);
//! assert_eq!(parts.headers["location"], "/a");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, StatusCode};

use dugong_proto::{Body, Headers, Response, Version};

use crate::error::Error;

/// A request head taken from `http::request::Parts`, ready for
/// `send_request(&head.method, &head.target, &head.fields, body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: String,
    /// The request target: the URI's path and query (`/` if it has none);
    /// for `CONNECT`, its authority.
    pub target: String,
    /// The header fields in order, repeated names kept, with `Host` added
    /// from the URI's authority when the header map has none.
    pub fields: Vec<(HeaderName, HeaderValue)>,
}

/// Takes the head of an `http` request: method, target and fields.
///
/// The target is the URI's path and query (`/` if it has none), or its
/// authority for `CONNECT`. The fields are the header map's (see
/// [`header_fields`] for their order), followed by `Host` from the URI's
/// authority (without any userinfo) if the map has no `Host`; a URI
/// without an authority adds none, and the connection then sends its own.
/// The request's `version` is not used: dugong always sends `HTTP/1.1`.
///
/// # Errors
///
/// [`Error::InvalidUrl`] if the URI has neither a path nor an authority to
/// send (or a `CONNECT` URI has no authority), or its authority is not a
/// valid field value.
pub fn request_head(parts: &http::request::Parts) -> Result<RequestHead, Error> {
    let bad = |reason| Error::invalid_url(&parts.uri.to_string(), reason);
    // `user:password@` is no part of a target or a `Host` value.
    let host_port = parts.uri.authority().map(|authority| {
        let authority = authority.as_str();
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host_port)| host_port)
    });
    let target = if parts.method == Method::CONNECT {
        host_port
            .filter(|host_port| !host_port.is_empty())
            .ok_or_else(|| bad("a CONNECT request needs an authority"))?
            .to_owned()
    } else {
        match parts.uri.path_and_query() {
            Some(pq) if pq.as_str().starts_with('/') || pq.as_str() == "*" => pq.to_string(),
            Some(pq) => format!("/{pq}"),
            None => "/".to_owned(),
        }
    };
    let mut fields = header_fields(&parts.headers);
    if !parts.headers.contains_key(HOST) {
        if let Some(host_port) = host_port {
            let value = HeaderValue::from_str(host_port)
                .map_err(|_| bad("the authority is not a valid Host value"))?;
            fields.push((HOST, value));
        }
    }
    Ok(RequestHead {
        method: method(&parts.method).to_owned(),
        target,
        fields,
    })
}

/// Takes a whole `http` request apart: its head (as [`request_head`]) and
/// its body, for
/// `send_request(&head.method, &head.target, &head.fields, body)`.
///
/// The body is any type that converts into a [`Body`]: `()`, `Bytes`,
/// `Vec<u8>`, `&'static str`, `&'static [u8]`, or a `Body` itself (such as
/// [`Body::Chunked`], to stream it afterwards).
///
/// ```
/// use dugong_net::http_interop::request;
/// use dugong_proto::Connection;
///
/// let given = http::Request::post("http://example.com/notes")
///     .header("accept", "text/plain")
///     .header("accept", "text/html")
///     .header("x-name", http::HeaderValue::from_bytes(b"caf\xe9")?)
///     .body("hello")?;
/// let (head, body) = request(given)?;
///
/// let mut conn = Connection::default();
/// conn.send_request(&head.method, &head.target, &head.fields, body)?;
/// let mut wire = Vec::new();
/// while let Some(bytes) = conn.poll_transmit() {
///     wire.extend_from_slice(&bytes);
/// }
/// assert_eq!(
///     wire,
///     b"POST /notes HTTP/1.1\r\naccept: text/plain\r\naccept: text/html\r\n\
///       x-name: caf\xe9\r\nhost: example.com\r\nContent-Length: 5\r\n\r\nhello",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`request_head`].
pub fn request<B: Into<Body>>(request: http::Request<B>) -> Result<(RequestHead, Body), Error> {
    let (parts, body) = request.into_parts();
    request_from_parts(&parts, body)
}

/// Like [`request`], for a request already taken apart into
/// `http::request::Parts` and a body.
///
/// ```
/// use dugong_net::http_interop::request_from_parts;
/// use dugong_proto::Body;
///
/// let (parts, ()) = http::Request::delete("http://example.com/notes/1")
///     .body(())?
///     .into_parts();
/// let (head, body) = request_from_parts(&parts, Body::Empty)?;
/// assert_eq!((head.method.as_str(), head.target.as_str()), ("DELETE", "/notes/1"));
/// assert_eq!(body, Body::Empty);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`request_head`].
pub fn request_from_parts<B: Into<Body>>(
    parts: &http::request::Parts,
    body: B,
) -> Result<(RequestHead, Body), Error> {
    Ok((request_head(parts)?, body.into()))
}

/// The method to send for an `http` method (standard or extension; `http`
/// accepts only tokens, as dugong does).
pub fn method(method: &Method) -> &str {
    method.as_str()
}

/// The fields of a header map, to send as request fields (or trailers).
///
/// The values of each name come together and in their order; the names
/// in the map's iteration order (the order of each name's first insertion):
/// `a: 1`, `b: 2`, `a: 3` appended in that order come out as `a: 1`,
/// `a: 3`, `b: 2`, which HTTP treats as the same (only the order within a
/// name matters, RFC 9110 §5.3). Values are bytes, latin-1 kept. A
/// `&HeaderMap` can also be given as the fields directly, without copying
/// them.
///
/// ```
/// use dugong_net::http_interop::header_fields;
/// use http::header::{HeaderMap, HeaderValue, ACCEPT, HOST};
///
/// let mut map = HeaderMap::new();
/// map.append(ACCEPT, HeaderValue::from_static("a"));
/// map.append(HOST, HeaderValue::from_static("example.com"));
/// map.append(ACCEPT, HeaderValue::from_static("b"));
/// let fields: Vec<_> = header_fields(&map)
///     .iter()
///     .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
///     .collect();
/// assert_eq!(fields, ["accept: a", "accept: b", "host: example.com"]);
/// ```
pub fn header_fields(map: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    map.iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Header fields (or trailers) as an `http::HeaderMap`, repeated names and
/// latin-1 values kept.
///
/// ```
/// use dugong_net::http_interop::header_map;
/// use dugong_proto::{Body, Connection, Event};
///
/// let mut conn = Connection::default();
/// conn.send_request("GET", "/", [("Host", "a"), ("TE", "trailers")], Body::Empty)?;
/// conn.receive(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
///                0\r\nX-Sum: 1\r\nX-Note: caf\xe9\r\nX-Sum: 2\r\n\r\n")?;
/// let trailers = loop {
///     match conn.poll_event()? {
///         Some(Event::End { trailers }) => break trailers,
///         Some(_) => continue,
///         None => unreachable!(),
///     }
/// };
/// let map = header_map(&trailers)?;
/// let sums: Vec<_> = map.get_all("x-sum").iter().collect();
/// assert_eq!(sums, ["1", "2"]);
/// assert_eq!(map["x-note"].as_bytes(), b"caf\xe9");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Usage`] if a name or value is one the `http` crate refuses
/// (dugong's parser accepts only valid tokens and field values, so this
/// does not happen for parsed responses).
pub fn header_map(headers: &Headers) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers.iter() {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::Usage("a field name the http crate refuses"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| Error::Usage("a field value the http crate refuses"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// The `http` status code of a dugong one (such as
/// [`Response::status`]).
///
/// ```
/// use dugong_net::http_interop::status;
///
/// assert_eq!(status(404)?, http::StatusCode::NOT_FOUND);
/// assert_eq!(status(299)?.as_u16(), 299);
/// # Ok::<(), dugong_net::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Usage`] for a code outside 100 to 999 (never the case for a
/// parsed response, whose code is in that range).
pub fn status(status: u16) -> Result<StatusCode, Error> {
    StatusCode::from_u16(status).map_err(|_| Error::Usage("a status code the http crate refuses"))
}

/// The `http` version of a dugong one.
///
/// ```
/// use dugong_net::http_interop::version;
/// use dugong_proto::Version;
///
/// assert_eq!(version(Version::Http10), http::Version::HTTP_10);
/// assert_eq!(version(Version::Http11), http::Version::HTTP_11);
/// ```
pub fn version(version: Version) -> http::Version {
    match version {
        Version::Http10 => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    }
}

/// A reason phrase other than the status code's canonical one, kept in the
/// `extensions` of what [`response_parts`] and [`into_response`] return
/// (the `http` crate has no field for it). Bytes, to be read as latin-1.
///
/// ```
/// use dugong_net::http_interop::{response_parts, ReasonPhrase};
/// use dugong_proto::{Body, Connection, Event};
///
/// let mut conn = Connection::default();
/// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
/// conn.receive(b"HTTP/1.1 200 Fine By Me\r\nContent-Length: 0\r\n\r\n")?;
/// let Some(Event::Headers(head)) = conn.poll_event()? else { unreachable!() };
/// let parts = response_parts(&head)?;
/// let reason = parts.extensions.get::<ReasonPhrase>().map(ReasonPhrase::as_bytes);
/// assert_eq!(reason, Some(&b"Fine By Me"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReasonPhrase(Bytes);

impl ReasonPhrase {
    /// The reason phrase as received (possibly empty).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for ReasonPhrase {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A response head as `http::response::Parts`: status, version and
/// fields, plus a [`ReasonPhrase`] extension when the reason is not the
/// status code's canonical one.
///
/// # Errors
///
/// As [`header_map`] and [`status`].
pub fn response_parts(response: &Response) -> Result<http::response::Parts, Error> {
    let status = status(response.status())?;
    let mut builder = http::Response::builder()
        .status(status)
        .version(version(response.version()));
    if let Some(headers) = builder.headers_mut() {
        *headers = header_map(response.headers())?;
    }
    let reason = response.reason();
    if status.canonical_reason().map(str::as_bytes) != Some(reason) {
        builder = builder.extension(ReasonPhrase(Bytes::copy_from_slice(reason)));
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|_| Error::Usage("a response head the http crate refuses"))?
        .into_parts();
    Ok(parts)
}

/// A response head and its body (`Bytes`, `Vec<u8>`, a reader, a stream:
/// any type) as an `http::Response`, as [`response_parts`] makes them.
///
/// ```
/// use dugong_net::http_interop::into_response;
/// use dugong_proto::{Body, Bytes, Connection, Event};
///
/// let mut conn = Connection::default();
/// conn.send_request("GET", "/", [("Host", "a")], Body::Empty)?;
/// conn.receive(b"HTTP/1.0 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nhi")?;
/// let Some(Event::Headers(head)) = conn.poll_event()? else { unreachable!() };
/// let Some(Event::Data(body)) = conn.poll_event()? else { unreachable!() };
///
/// let response: http::Response<Bytes> = into_response(&head, body)?;
/// assert_eq!(response.status(), http::StatusCode::OK);
/// assert_eq!(response.version(), http::Version::HTTP_10);
/// let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
/// assert_eq!(cookies, ["a=1", "b=2"]);
/// assert_eq!(response.body(), "hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`response_parts`].
pub fn into_response<B>(response: &Response, body: B) -> Result<http::Response<B>, Error> {
    Ok(http::Response::from_parts(response_parts(response)?, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dugong_proto::{Body, Connection, Event};

    fn parse(input: &[u8]) -> Response {
        let mut conn = Connection::default();
        conn.send_request("GET", "/", [("Host", "a")], Body::Empty)
            .unwrap();
        conn.receive(input).unwrap();
        match conn.poll_event().unwrap() {
            Some(Event::Headers(head)) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_heads_keep_repeated_and_latin1_fields() {
        let head = parse(
            b"HTTP/1.0 404 Not Found\r\nSet-Cookie: a=1\r\nX-Latin: caf\xe9\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n",
        );
        let parts = response_parts(&head).unwrap();
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(parts.version, http::Version::HTTP_10);
        let cookies: Vec<_> = parts.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(parts.headers["x-latin"].as_bytes(), b"caf\xe9");
        let response = into_response(&head, "body").unwrap();
        assert_eq!(*response.body(), "body");
    }

    #[test]
    fn request_heads_from_http_round_trip_through_the_wire() {
        let request = http::Request::post("http://example.com:8080/p?q=1")
            .header("accept", "a")
            .header("accept", "b")
            .header("x-bin", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let head = request_head(&parts).unwrap();
        let mut conn = Connection::default();
        conn.send_request(&head.method, &head.target, &head.fields, Body::from("hi"))
            .unwrap();
        let mut wire = Vec::new();
        while let Some(segment) = conn.poll_transmit() {
            wire.extend_from_slice(&segment);
        }
        assert_eq!(
            wire,
            b"POST /p?q=1 HTTP/1.1\r\naccept: a\r\naccept: b\r\nx-bin: \xff\xfe\r\nhost: example.com:8080\r\nContent-Length: 2\r\n\r\nhi"
        );
    }

    #[test]
    fn targets_host_and_connect() {
        let head = |req: http::Request<()>| request_head(&req.into_parts().0);
        let plain = head(http::Request::get("/only/path").body(()).unwrap()).unwrap();
        assert_eq!(plain.target, "/only/path");
        assert!(plain.fields.is_empty(), "no authority, no Host");
        let given = head(
            http::Request::get("http://a/")
                .header("host", "b")
                .body(())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(given.fields.len(), 1, "the caller's Host wins");
        let connect = head(http::Request::connect("origin:443").body(()).unwrap()).unwrap();
        assert_eq!(
            (connect.method.as_str(), connect.target.as_str()),
            ("CONNECT", "origin:443")
        );
        let bare = head(http::Request::get("http://a").body(()).unwrap()).unwrap();
        assert_eq!(bare.target, "/");
    }
}
