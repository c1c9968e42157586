//! Conversions between dugong's request and response heads and the
//! [`http`] crate's types, for code that already speaks `http`.
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

use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, StatusCode};

use dugong_proto::{Headers, Response, Version};

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
/// # Errors
///
/// [`Error::InvalidUrl`] if the URI has neither a path nor an authority to
/// send (or a `CONNECT` URI has no authority), or its authority is not a
/// valid field value.
pub fn request_head(parts: &http::request::Parts) -> Result<RequestHead, Error> {
    let bad = |reason| Error::InvalidUrl {
        url: parts.uri.to_string(),
        reason,
    };
    let target = if parts.method == Method::CONNECT {
        parts
            .uri
            .authority()
            .ok_or_else(|| bad("a CONNECT request needs an authority"))?
            .to_string()
    } else {
        match parts.uri.path_and_query() {
            Some(pq) if pq.as_str().starts_with('/') || pq.as_str() == "*" => pq.to_string(),
            Some(pq) => format!("/{pq}"),
            None => "/".to_owned(),
        }
    };
    let mut fields: Vec<(HeaderName, HeaderValue)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if !parts.headers.contains_key(HOST) {
        if let Some(authority) = parts.uri.authority() {
            let value = HeaderValue::from_str(authority.as_str())
                .map_err(|_| bad("the authority is not a valid Host value"))?;
            fields.push((HOST, value));
        }
    }
    Ok(RequestHead {
        method: parts.method.as_str().to_owned(),
        target,
        fields,
    })
}

/// The `http` version of a dugong one.
pub fn version(version: Version) -> http::Version {
    match version {
        Version::Http10 => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    }
}

/// Header fields (or trailers) as an `http::HeaderMap`, repeated names and
/// latin-1 values kept.
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

/// A response head as `http::response::Parts` (status, version, fields).
///
/// # Errors
///
/// As [`header_map`].
pub fn response_parts(response: &Response) -> Result<http::response::Parts, Error> {
    let status = StatusCode::from_u16(response.status())
        .map_err(|_| Error::Usage("a status code the http crate refuses"))?;
    let mut builder = http::Response::builder()
        .status(status)
        .version(version(response.version()));
    if let Some(headers) = builder.headers_mut() {
        *headers = header_map(response.headers())?;
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|_| Error::Usage("a response head the http crate refuses"))?
        .into_parts();
    Ok(parts)
}

/// A response head and its body as an `http::Response`.
///
/// # Errors
///
/// As [`header_map`].
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
