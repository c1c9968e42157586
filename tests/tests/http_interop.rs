//! `http` crate interop end to end, on both adapters, against the hyper
//! test server: an `http::Request` with repeated and latin-1 (non-UTF-8)
//! header values goes out through `send_http`, the server's view of it is
//! checked, and the response heads (and trailers) come back as `http`
//! types. A framing header given through `http` is refused before anything
//! is sent.

use std::future::Future;
use std::time::Duration;

use dugong_blocking::dugong_proto;
use dugong_tests::HyperServer;
use http::header::HeaderValue;
use http::{HeaderMap, StatusCode};

/// The header fields of the request: `accept` and `x-multi` repeated (with
/// another name in between), two non-UTF-8 values.
fn request_fields() -> Vec<(&'static str, HeaderValue)> {
    vec![
        ("accept", HeaderValue::from_static("text/plain")),
        ("x-multi", HeaderValue::from_static("one")),
        ("x-latin", HeaderValue::from_bytes(b"caf\xe9").unwrap()),
        ("accept", HeaderValue::from_static("text/html")),
        ("x-bin", HeaderValue::from_bytes(b"\xff\xfe \xa0").unwrap()),
        ("x-multi", HeaderValue::from_static("two")),
        ("x-multi", HeaderValue::from_bytes(b"thr\xe9e").unwrap()),
    ]
}

/// A `GET /headers` request with [`request_fields`] (and no `Host`: it
/// comes from the URI).
fn headers_request(server: &HyperServer) -> http::Request<()> {
    let mut builder = http::Request::get(server.url("/headers"));
    for (name, value) in request_fields() {
        builder = builder.header(name, value);
    }
    builder.body(()).unwrap()
}

/// Checks the listing `/headers` answered with (one `name: value\n` line
/// per field the server saw): every field arrived byte for byte, the
/// values of each name in order, and `Host` once, from the URI.
fn check_seen(server: &HyperServer, listing: &[u8]) {
    let lines: Vec<&[u8]> = listing
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    let values = |name: &str| -> Vec<Vec<u8>> {
        let prefix = format!("{name}: ");
        lines
            .iter()
            .filter_map(|line| line.strip_prefix(prefix.as_bytes()))
            .map(<[u8]>::to_vec)
            .collect()
    };
    let shown = listing.escape_ascii().to_string();
    assert_eq!(
        values("accept"),
        [&b"text/plain"[..], b"text/html"],
        "{shown}"
    );
    assert_eq!(
        values("x-multi"),
        [&b"one"[..], b"two", b"thr\xe9e"],
        "{shown}"
    );
    assert_eq!(values("x-latin"), [b"caf\xe9"], "{shown}");
    assert_eq!(values("x-bin"), [b"\xff\xfe \xa0"], "{shown}");
    assert_eq!(values("host"), [server.authority().into_bytes()], "{shown}");
    assert_eq!(lines.len(), 8, "seven fields and Host: {shown}");
}

/// An `http` request carrying a framing header, which dugong refuses.
fn framed_request(server: &HyperServer) -> http::Request<&'static str> {
    http::Request::post(server.url("/echo"))
        .header("content-length", "5")
        .body("hello")
        .unwrap()
}

/// Checks that a framing header given through `http` got dugong's error.
/// (`dugong_blocking::Error` and `dugong_tokio::Error` are the same
/// type, `dugong_net::Error`.)
fn check_framing_error(error: &dugong_blocking::Error) {
    assert_eq!(error.kind(), dugong_blocking::ErrorKind::Usage, "{error}");
    assert!(
        matches!(
            error,
            dugong_blocking::Error::Protocol(dugong_proto::Error::InvalidRequest(
                dugong_proto::InvalidRequest::FramingHeader
            ))
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Content-Length and Transfer-Encoding are set from the body"),
        "{error}"
    );
}

/// The `/echo` request: a latin-1 body, repeated header fields.
fn echo_request(server: &HyperServer) -> http::Request<Vec<u8>> {
    http::Request::put(server.url("/echo"))
        .header("x-one", "1")
        .header("x-one", HeaderValue::from_bytes(b"\xe92").unwrap())
        .body(b"d\xe9j\xe0 vu".to_vec())
        .unwrap()
}

fn check_trailers(trailers: &HeaderMap) {
    assert_eq!(trailers.len(), 2, "{trailers:?}");
    assert_eq!(trailers["x-checksum"], "1234");
    assert_eq!(trailers["x-trailer-two"], "yes");
}

mod blocking_adapter {
    use super::*;
    use dugong_blocking::http_interop::{header_map, into_response, response_parts, ReasonPhrase};
    use dugong_blocking::{Builder, Connection};

    fn connect(server: &HyperServer) -> Connection {
        Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(10))
            .no_trace()
            .connect()
            .expect("connect to hyper")
    }

    #[test]
    fn http_requests_out_and_heads_in() {
        let server = HyperServer::start();
        let mut conn = connect(&server);

        // Refused before anything is sent; the connection stays usable.
        let error = conn.send_http(framed_request(&server)).unwrap_err();
        check_framing_error(&error);

        conn.send_http(headers_request(&server)).unwrap();
        let head = conn.read_response().unwrap();
        let parts = response_parts(&head).unwrap();
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(parts.version, http::Version::HTTP_11);
        assert!(parts.extensions.get::<ReasonPhrase>().is_none());
        assert_eq!(parts.headers.len(), head.headers().len());
        check_seen(&server, &conn.read_all().unwrap());
        assert_eq!(server.requests(), 1, "the refused request never arrived");

        conn.send_http(echo_request(&server)).unwrap();
        let head = conn.read_response().unwrap();
        let response = into_response(&head, conn.read_all().unwrap()).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-received-length"], "7");
        assert_eq!(response.body(), b"d\xe9j\xe0 vu");

        // A status without a canonical reason keeps the one hyper sent.
        conn.send_http(http::Request::get("/status/299").body(()).unwrap())
            .unwrap();
        let head = conn.read_response().unwrap();
        conn.discard().unwrap();
        let parts = response_parts(&head).unwrap();
        assert_eq!(parts.status.as_u16(), 299);
        assert_eq!(
            parts
                .extensions
                .get::<ReasonPhrase>()
                .map(ReasonPhrase::as_bytes),
            Some(head.reason())
        );

        conn.send_http(
            http::Request::get("/trailers")
                .header("te", "trailers")
                .body(())
                .unwrap(),
        )
        .unwrap();
        conn.read_response().unwrap();
        assert_eq!(conn.read_all().unwrap(), b"hello");
        check_trailers(&header_map(conn.trailers().expect("trailers read")).unwrap());
        assert_eq!(server.requests(), 4);
    }
}

mod tokio_adapter {
    use super::*;
    use dugong_tokio::http_interop::{header_map, into_response, response_parts, ReasonPhrase};
    use dugong_tokio::{Builder, Connection};

    async fn bounded<F: Future>(test: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(60), test)
            .await
            .expect("the test did not finish in time")
    }

    async fn connect(server: &HyperServer) -> Connection {
        Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(20))
            .no_trace()
            .connect()
            .await
            .expect("connect to hyper")
    }

    #[tokio::test]
    async fn http_requests_out_and_heads_in() {
        bounded(async {
            let server = HyperServer::start();
            let mut conn = connect(&server).await;

            let error = conn.send_http(framed_request(&server)).await.unwrap_err();
            check_framing_error(&error);

            conn.send_http(headers_request(&server)).await.unwrap();
            let head = conn.read_response().await.unwrap();
            let parts = response_parts(&head).unwrap();
            assert_eq!(parts.status, StatusCode::OK);
            assert_eq!(parts.version, http::Version::HTTP_11);
            assert!(parts.extensions.get::<ReasonPhrase>().is_none());
            assert_eq!(parts.headers.len(), head.headers().len());
            check_seen(&server, &conn.read_all().await.unwrap());
            assert_eq!(server.requests(), 1, "the refused request never arrived");

            conn.send_http(echo_request(&server)).await.unwrap();
            let head = conn.read_response().await.unwrap();
            let body = conn.read_all().await.unwrap();
            let response = into_response(&head, body).unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["x-received-length"], "7");
            assert_eq!(response.body(), b"d\xe9j\xe0 vu");

            conn.send_http(http::Request::get("/status/299").body(()).unwrap())
                .await
                .unwrap();
            let head = conn.read_response().await.unwrap();
            conn.discard().await.unwrap();
            let parts = response_parts(&head).unwrap();
            assert_eq!(parts.status.as_u16(), 299);
            assert_eq!(
                parts
                    .extensions
                    .get::<ReasonPhrase>()
                    .map(ReasonPhrase::as_bytes),
                Some(head.reason())
            );

            conn.send_http(
                http::Request::get("/trailers")
                    .header("te", "trailers")
                    .body(())
                    .unwrap(),
            )
            .await
            .unwrap();
            conn.read_response().await.unwrap();
            assert_eq!(conn.read_all().await.unwrap(), b"hello");
            check_trailers(&header_map(conn.trailers().expect("trailers read")).unwrap());
            assert_eq!(server.requests(), 4);
        })
        .await;
    }
}
