//! dugong-blocking against real peers other than hyper: a rustls TLS server
//! with a test certificate, nginx, and tinyproxy. nginx and tinyproxy come
//! from Debian's packages; without them these tests skip, unless
//! `DUGONG_REQUIRE_PEERS` is set (as `.ci/run` does), which makes a missing
//! peer a failure.

use std::time::Duration;

use dugong_blocking::dugong_net::tls::config_with_roots_pem;
use dugong_blocking::{Body, Builder, Bytes, Connection, ErrorKind, Proxy};
use dugong_tests::{expected_body, peer_or_skip, unrelated_ca_pem, HyperServer, Nginx, TlsServer};

const NO_FIELDS: [(&str, &str); 0] = [];
const TIMEOUT: Duration = Duration::from_secs(10);

fn fetch(conn: &mut Connection, path: &str) -> (u16, Vec<u8>) {
    conn.send_request("GET", path, NO_FIELDS, Body::Empty)
        .unwrap();
    let head = conn.read_response().unwrap();
    (head.status(), conn.read_all().unwrap())
}

// ----- TLS ----------------------------------------------------------------------

fn tls_builder(server: &TlsServer, pem: &str) -> Builder {
    Builder::new("localhost", server.port())
        .tls_config(config_with_roots_pem(pem.as_bytes()).unwrap())
        .timeout(TIMEOUT)
        .no_trace()
}

#[test]
fn tls_with_the_right_root_succeeds_and_reports_the_session() {
    let server = TlsServer::start();
    let mut conn = tls_builder(&server, &server.ca_pem()).connect().unwrap();
    let info = conn.tls_info().expect("tls info");
    assert_eq!(info.peer_certificates().len(), 1, "the leaf");
    assert!(info.cipher_suite().is_some());
    assert!(info.protocol_version().is_some());
    assert_eq!(info.alpn_protocol(), Some(&b"http/1.1"[..]));
    // Pipelined over TLS, with a body larger than TLS records.
    for n in [10, 100_000, 1_000_000] {
        conn.send_request("GET", &format!("/size/{n}"), NO_FIELDS, Body::Empty)
            .unwrap();
    }
    for n in [10, 100_000, 1_000_000] {
        assert_eq!(conn.read_response().unwrap().status(), 200);
        assert!(conn.read_all().unwrap() == expected_body(n), "body {n}");
    }
    let upload = Bytes::from(vec![b'u'; 300_000]);
    conn.send_request("POST", "/echo", NO_FIELDS, Body::Full(upload.clone()))
        .unwrap();
    conn.read_response().unwrap();
    assert!(conn.read_all().unwrap() == upload);
}

#[test]
fn tls_with_the_wrong_root_fails() {
    let server = TlsServer::start();
    let e = tls_builder(&server, &unrelated_ca_pem())
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(!e.is_temporary());
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

#[test]
fn tls_with_the_wrong_name_fails() {
    let server = TlsServer::start();
    let e = tls_builder(&server, &server.ca_pem())
        .server_name("example.com")
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
fn tls_default_roots_do_not_trust_a_test_certificate() {
    let server = TlsServer::start();
    let e = Builder::from_url(&server.url("/"))
        .unwrap()
        .timeout(TIMEOUT)
        .no_trace()
        .connect()
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Tls,
        "verification is on by default: {e}"
    );
}

// ----- nginx --------------------------------------------------------------------

#[test]
fn nginx_static_files_pipelined_with_head() {
    let big: Vec<u8> = (0..64 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let medium = vec![b'm'; 100_000];
    let nginx = peer_or_skip!(
        Nginx::start(&[
            ("small.txt", b"small file\n"),
            ("medium.bin", &medium),
            ("big.bin", &big),
        ]),
        "nginx"
    );
    // The 64 MiB body is read whole: past read_all's 16 MiB default.
    let mut conn = Builder::new("127.0.0.1", nginx.addr().port())
        .timeout(TIMEOUT)
        .max_read_all(big.len())
        .no_trace()
        .connect()
        .unwrap();
    for (method, path) in [
        ("GET", "/small.txt"),
        ("HEAD", "/big.bin"),
        ("GET", "/medium.bin"),
        ("GET", "/missing"),
        ("GET", "/big.bin"),
        ("GET", "/small.txt"),
    ] {
        conn.send_request(method, path, NO_FIELDS, Body::Empty)
            .unwrap();
    }
    let mut read = |status: u16| {
        let head = conn.read_response().unwrap();
        assert_eq!(head.status(), status);
        (head, conn.read_all().unwrap())
    };
    assert_eq!(read(200).1, b"small file\n");
    let (head, body) = read(200);
    assert_eq!(
        head.headers().get("content-length"),
        Some(big.len().to_string().as_bytes())
    );
    assert!(body.is_empty(), "HEAD has no body");
    assert!(read(200).1 == medium);
    read(404);
    let (_, body) = read(200);
    assert_eq!(body.len(), big.len());
    assert!(body == big, "64 MiB body differs");
    assert_eq!(read(200).1, b"small file\n");
    assert!(conn.is_usable());
}

#[test]
fn nginx_100_continue_on_upload_and_413_without_it() {
    let nginx = peer_or_skip!(Nginx::start(&[("x", b"x")]), "nginx");
    let mut conn = Builder::new("127.0.0.1", nginx.addr().port())
        .timeout(TIMEOUT)
        .continue_delay(Duration::from_secs(5))
        .no_trace()
        .connect()
        .unwrap();
    let body = b"uploaded with 100-continue".to_vec();
    conn.send_request(
        "PUT",
        "/upload/file.txt",
        [("Expect", "100-continue")],
        Body::Sized(body.len() as u64),
    )
    .unwrap();
    assert_eq!(
        conn.read_response().unwrap().status(),
        100,
        "nginx said 100"
    );
    conn.write_body(&body).unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 201);
    conn.discard().unwrap();
    assert_eq!(
        std::fs::read(nginx.root().join("upload/file.txt")).unwrap(),
        body
    );

    conn.send_request(
        "PUT",
        "/small/too-big.txt",
        [("Expect", "100-continue")],
        Body::Sized(1000),
    )
    .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 413, "refused before the body");
    conn.discard().unwrap();
    assert_eq!(conn.write_body(b"x").unwrap_err().kind(), ErrorKind::Usage);
    assert!(!conn.is_usable());
}

// ----- proxy --------------------------------------------------------------------

#[test]
fn plain_http_through_tinyproxy_uses_absolute_form() {
    let proxy = peer_or_skip!(dugong_tests::Proxy::start(), "tinyproxy");
    let server = HyperServer::start();
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .proxy(Proxy::parse(&proxy.url()).unwrap())
        .timeout(TIMEOUT)
        .no_trace()
        .connect()
        .unwrap();
    let (status, body) = fetch(&mut conn, "/size/1000");
    assert_eq!((status, body), (200, expected_body(1000)));
    assert_eq!(server.requests(), 1);
}

#[test]
fn https_through_tinyproxy_via_connect() {
    let proxy = peer_or_skip!(dugong_tests::Proxy::start(), "tinyproxy");
    let server = TlsServer::start();
    let mut conn = Builder::new("localhost", server.port())
        .tls_config(config_with_roots_pem(server.ca_pem().as_bytes()).unwrap())
        .proxy(Proxy::parse(&proxy.url()).unwrap())
        .timeout(TIMEOUT)
        .no_trace()
        .connect()
        .unwrap();
    assert!(conn.tls_info().is_some());
    for _ in 0..3 {
        conn.send_request("GET", "/size/5000", NO_FIELDS, Body::Empty)
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(conn.read_response().unwrap().status(), 200);
        assert_eq!(conn.read_all().unwrap(), expected_body(5000));
    }
}

#[test]
fn a_refused_tunnel_is_a_proxy_error() {
    let proxy = peer_or_skip!(dugong_tests::Proxy::start(), "tinyproxy");
    // Nothing listens there: tinyproxy answers the CONNECT with an error.
    let port = dugong_tests::refused_addr().port();
    let e = Builder::new("127.0.0.1", port)
        .https()
        .proxy(Proxy::parse(&proxy.url()).unwrap())
        .timeout(TIMEOUT)
        .no_trace()
        .connect()
        .unwrap_err();
    // tinyproxy answers `500 Unable to connect` and closes; now and then
    // its close overtakes the answer, and the client sees the close.
    assert!(
        matches!(e.kind(), ErrorKind::Proxy | ErrorKind::Closed),
        "{e}"
    );
    assert!(e.is_temporary() || e.kind() == ErrorKind::Proxy);
}

#[test]
fn tls_connections_split_into_two_threads() {
    let server = TlsServer::start();
    let conn = tls_builder(&server, &server.ca_pem()).connect().unwrap();
    let (mut send, mut recv) = conn.split().expect("TLS over TCP splits");
    let n = 2_000;
    let sender = std::thread::spawn(move || {
        for i in 0..n {
            send.send_request("GET", &format!("/size/{}", i % 300), NO_FIELDS, Body::Empty)
                .unwrap();
        }
        send
    });
    for i in 0..n {
        assert_eq!(recv.read_response().unwrap().status(), 200);
        assert_eq!(recv.read_all().unwrap(), expected_body(i % 300));
    }
    let send = sender.join().unwrap();
    let mut conn = send.reunite(recv).expect("the halves of one connection");
    assert_eq!(fetch(&mut conn, "/size/9"), (200, expected_body(9)));
}
