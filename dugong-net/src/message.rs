//! Requests and responses as values: what a driver sends from a sequence
//! it holds, and what it returns once a body is read whole.

use bytes::Bytes;
use dugong_proto::{Body, Headers, Response};

/// One request as a value: method, target, header fields and a whole body
/// (or none). What `dugong_tokio::Connection::pipeline` takes; kept here,
/// beside the session, for every driver that sends requests it holds.
///
/// ```
/// use dugong_net::Request;
///
/// let request = Request::new("PUT", "/notes/1")
///     .header("Content-Type", "text/plain")
///     .body("hello");
/// assert_eq!((request.method(), request.target()), ("PUT", "/notes/1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Bytes>,
}

impl Request {
    /// A request with no header fields (the connection adds `Host`) and no
    /// body.
    pub fn new(method: impl Into<String>, target: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request for `target`.
    pub fn get(target: impl Into<String>) -> Request {
        Request::new("GET", target)
    }

    /// Adds a header field (the value as latin-1 bytes).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body, sent whole (never copied).
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The header fields, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The body as the state machine takes it: [`Body::Full`] (sharing the
    /// bytes, no copy) or [`Body::Empty`].
    pub fn to_body(&self) -> Body {
        match &self.body {
            Some(body) => Body::Full(body.clone()),
            None => Body::Empty,
        }
    }
}

/// A response read to its end: the head, the whole body and the trailers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullResponse {
    head: Response,
    body: Bytes,
    trailers: Headers,
}

impl FullResponse {
    /// A response from its parts.
    pub fn new(head: Response, body: Bytes, trailers: Headers) -> FullResponse {
        FullResponse {
            head,
            body,
            trailers,
        }
    }

    /// The response head; its [`id`](Response::id) names the request.
    pub fn head(&self) -> &Response {
        &self.head
    }

    /// The body (one piece of the receive buffer when it arrived in one,
    /// otherwise the pieces joined).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The trailer fields of a chunked body (empty otherwise).
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }

    /// Head, body and trailers.
    pub fn into_parts(self) -> (Response, Bytes, Headers) {
        (self.head, self.body, self.trailers)
    }
}
