//! Self-tests of the test servers: each one is checked with a plain
//! `TcpStream` and hand-written HTTP bytes (no dugong code), so the servers
//! are known to be right before the adapters' tests rely on them.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dugong_tests::{
    body_byte, expected_body, free_port, peer_or_skip, refused_addr, require_peer, temp_dir,
    unrelated_ca_pem, which, Apache, Haproxy, HyperServer, Lighttpd, Nginx, Proxy, ScriptServer,
    SilentServer, Squid, Step, TlsServer,
};

const TIMEOUT: Duration = Duration::from_secs(5);

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A parsed response, as far as these tests need.
#[derive(Debug)]
struct Response {
    status: u16,
    /// The head, status line included, without the final empty line.
    head: String,
    body: Vec<u8>,
    /// Trailer section of a chunked body (raw lines).
    trailers: String,
    /// Sizes of the chunks of a chunked body.
    chunks: Vec<usize>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A tiny HTTP/1.1 response reader over any stream.
struct Conn<S> {
    stream: S,
    buffer: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buffer: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
        self.stream.flush().expect("flush");
    }

    /// Reads more bytes into the buffer; returns false on EOF.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).expect("read");
        self.buffer.extend_from_slice(&chunk[..n]);
        n > 0
    }

    fn take_until(&mut self, delimiter: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self
                .buffer
                .windows(delimiter.len())
                .position(|w| w == delimiter)
            {
                let taken = self
                    .buffer
                    .drain(..at + delimiter.len())
                    .collect::<Vec<_>>();
                return taken[..at].to_vec();
            }
            assert!(
                self.fill(),
                "EOF before {:?}; have {:?}",
                String::from_utf8_lossy(delimiter),
                String::from_utf8_lossy(&self.buffer)
            );
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() < n {
            assert!(self.fill(), "EOF with {} of {n} bytes", self.buffer.len());
        }
        self.buffer.drain(..n).collect()
    }

    fn head(&mut self) -> (u16, String) {
        let head = String::from_utf8(self.take_until(b"\r\n\r\n")).expect("ASCII head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line in {head:?}"));
        (status, head)
    }

    /// Reads one final response (skipping nothing: a 1xx is returned as is,
    /// with an empty body) to a request with the given method.
    fn response(&mut self, method: &str) -> Response {
        let (status, head) = self.head();
        let mut response = Response {
            status,
            head,
            body: Vec::new(),
            trailers: String::new(),
            chunks: Vec::new(),
        };
        if method == "HEAD" || status < 200 || status == 204 || status == 304 {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|value| value.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let line = String::from_utf8(self.take_until(b"\r\n")).unwrap();
                let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                if size == 0 {
                    break;
                }
                response.chunks.push(size);
                let data = self.take(size);
                response.body.extend_from_slice(&data);
                assert_eq!(self.take(2), b"\r\n", "chunk not followed by CRLF");
            }
            loop {
                let line = String::from_utf8(self.take_until(b"\r\n")).unwrap();
                if line.is_empty() {
                    break;
                }
                response.trailers.push_str(&line);
                response.trailers.push('\n');
            }
        } else if let Some(length) = response.header("content-length") {
            let length = length.parse().expect("numeric Content-Length");
            response.body = self.take(length);
        } else {
            while self.fill() {}
            response.body = std::mem::take(&mut self.buffer);
        }
        response
    }

    /// Asserts that the peer closes the connection with nothing more sent.
    fn expect_eof(&mut self) {
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected EOF, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            // A close with unread data may arrive as a reset.
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
            Err(error) => panic!("expected EOF, got {error}"),
        }
        assert!(self.buffer.is_empty(), "unexpected {:?}", self.buffer);
    }
}

fn get(conn: &mut Conn<TcpStream>, authority: &str, method: &str, path: &str) -> Response {
    conn.send(format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes());
    conn.response(method)
}

#[test]
fn body_bytes_are_printable_and_positional() {
    assert_eq!(
        &expected_body(40)[..],
        b"abcdefghijklmnopqrstuvwxyz0123456789abcd"
    );
    assert_eq!(body_byte(36 * 1000 + 25), b'z');
}

#[test]
fn helpers() {
    assert_ne!(free_port(), 0);
    let dir = temp_dir("dugong-selftest-");
    let path = dir.path().to_owned();
    assert!(path.is_dir());
    drop(dir);
    assert!(!path.exists());
    assert!(which("sh").is_some());
    assert!(which("dugong-no-such-program").is_none());

    // A missing peer skips (the closure returns early), or fails when
    // peers are required.
    let skipped = std::panic::catch_unwind(|| {
        let _never: u8 = peer_or_skip!(None, "dugong-no-such-peer");
        panic!("peer_or_skip! did not return");
    });
    assert_eq!(skipped.is_err(), require_peer("dugong-no-such-peer"));
}

#[test]
fn hyper_sized_chunked_and_head() {
    let server = HyperServer::start();
    let host = server.authority();
    assert_eq!(server.url("/x"), format!("http://{host}/x"));
    let mut conn = Conn::new(connect(server.addr()));

    let response = get(&mut conn, &host, "GET", "/size/100000");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("100000"));
    assert!(response.header("transfer-encoding").is_none());
    assert_eq!(response.body, expected_body(100_000));

    let response = get(&mut conn, &host, "GET", "/size/0");
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(response.body.is_empty());

    let response = get(&mut conn, &host, "GET", "/chunked/2500");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert!(response.header("content-length").is_none());
    assert_eq!(response.chunks, [1000, 1000, 500]);
    assert_eq!(response.body, expected_body(2500));

    let response = get(&mut conn, &host, "GET", "/chunked/0");
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert!(response.body.is_empty());

    // HEAD: the same head, no body; the next response on the connection
    // must come right after it.
    let response = get(&mut conn, &host, "HEAD", "/size/10");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("10"));
    let response = get(&mut conn, &host, "HEAD", "/chunked/10");
    assert_eq!(response.status, 200);
    let response = get(&mut conn, &host, "HEAD", "/count");
    assert_eq!(response.status, 200);
    let response = get(&mut conn, &host, "GET", "/size/3");
    assert_eq!(response.body, b"abc");
    assert_eq!(server.requests(), 8);
}

#[test]
fn hyper_trailers_need_te() {
    let server = HyperServer::start();
    let host = server.authority();
    let mut conn = Conn::new(connect(server.addr()));

    conn.send(format!("GET /trailers HTTP/1.1\r\nHost: {host}\r\nTE: trailers\r\n\r\n").as_bytes());
    let response = conn.response("GET");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body, b"hello");
    assert!(
        response.trailers.contains("x-checksum: 1234\n"),
        "{response:?}"
    );
    assert!(
        response.trailers.contains("x-trailer-two: yes\n"),
        "{response:?}"
    );

    // Without `TE: trailers`, hyper leaves them out.
    let response = get(&mut conn, &host, "GET", "/trailers");
    assert_eq!(response.body, b"hello");
    assert_eq!(response.trailers, "");
}

#[test]
fn hyper_expect_continue_accepted_and_refused() {
    let server = HyperServer::start();
    let host = server.authority();

    // Accepted: 100 Continue after the head, the final response after the
    // body.
    let mut conn = Conn::new(connect(server.addr()));
    conn.send(
        format!(
            "PUT /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    let (status, head) = conn.head();
    assert_eq!((status, head.as_str()), (100, "HTTP/1.1 100 Continue"));
    conn.send(b"hello");
    let response = conn.response("PUT");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-received-length"), Some("5"));
    assert_eq!(response.body, b"hello");

    // Without Expect, on the same connection, and POST with a bigger body.
    let body = expected_body(70_000);
    conn.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    conn.send(&body);
    let response = conn.response("POST");
    assert_eq!(response.header("x-received-length"), Some("70000"));
    assert_eq!(response.body, body);

    // Chunked request body.
    conn.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("POST");
    assert_eq!(response.body, b"abcde");

    // Refused: the final response comes at once, with no 100 before it.
    let mut conn = Conn::new(connect(server.addr()));
    conn.send(
        format!(
            "PUT /reject HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("PUT");
    assert_eq!(response.status, 417, "{response:?}");
    assert_eq!(response.body, b"rejected");
    // The body was never sent, so hyper closes the connection (without
    // saying `Connection: close`).
    assert!(response.header("connection").is_none());
    conn.expect_eof();

    // Refused without Expect: hyper discards the sent body and keeps the
    // connection.
    let mut conn = Conn::new(connect(server.addr()));
    conn.send(
        format!(
            "POST /reject HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nhello\
             GET /size/2 HTTP/1.1\r\nHost: {host}\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("POST");
    assert_eq!(response.status, 417);
    let response = conn.response("GET");
    assert_eq!(response.body, b"ab");
}

#[test]
fn hyper_connection_close_is_honoured() {
    let server = HyperServer::start();
    let host = server.authority();
    let mut conn = Conn::new(connect(server.addr()));
    // /close and a pipelined request after it: only the first is answered.
    conn.send(
        format!("GET /close HTTP/1.1\r\nHost: {host}\r\n\r\nGET /count HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .as_bytes(),
    );
    let response = conn.response("GET");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.body, b"closing");
    conn.expect_eof();
    assert_eq!(server.requests(), 1);
}

#[test]
fn hyper_pipelining_three_requests_in_one_write() {
    for server in [HyperServer::start(), HyperServer::start_batched()] {
        pipeline_three(&server);
    }
}

fn pipeline_three(server: &HyperServer) {
    let host = server.authority();
    let mut conn = Conn::new(connect(server.addr()));
    conn.send(
        format!(
            "GET /slow/100 HTTP/1.1\r\nHost: {host}\r\n\r\n\
             GET /size/5 HTTP/1.1\r\nHost: {host}\r\n\r\n\
             GET /count HTTP/1.1\r\nHost: {host}\r\n\r\n"
        )
        .as_bytes(),
    );
    let first = conn.response("GET");
    assert_eq!(first.body, b"slow");
    let second = conn.response("GET");
    assert_eq!(second.body, b"abcde");
    let third = conn.response("GET");
    assert_eq!(third.text(), "3");
}

#[test]
fn hyper_status_headers_slow_count_and_not_found() {
    let server = HyperServer::start();
    let host = server.authority();
    let mut conn = Conn::new(connect(server.addr()));

    let response = get(&mut conn, &host, "GET", "/status/204");
    assert_eq!(response.status, 204);
    assert!(response.header("content-length").is_none());
    let response = get(&mut conn, &host, "GET", "/status/304");
    assert_eq!(response.status, 304);
    for code in [404, 500, 201] {
        let response = get(&mut conn, &host, "GET", &format!("/status/{code}"));
        assert_eq!(response.status, code);
        assert_eq!(response.header("content-length"), Some("0"));
    }

    conn.send(
        format!("GET /headers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic dXNlcjpwdw==\r\n")
            .as_bytes(),
    );
    conn.send(b"X-Custom: caf\xe9\r\n\r\n");
    let response = conn.response("GET");
    let text = response.text();
    assert!(text.contains(&format!("host: {host}\n")), "{text}");
    assert!(
        text.contains("authorization: Basic dXNlcjpwdw==\n"),
        "{text}"
    );
    // Header values are passed on as bytes (latin-1 here).
    let custom: &[u8] = b"x-custom: caf\xe9\n";
    assert!(
        response.body.windows(custom.len()).any(|w| w == custom),
        "{text}"
    );

    let started = Instant::now();
    let response = get(&mut conn, &host, "GET", "/slow/150");
    assert_eq!(response.body, b"slow");
    assert!(started.elapsed() >= Duration::from_millis(150));

    let response = get(&mut conn, &host, "GET", "/nowhere");
    assert_eq!(response.status, 404);
    let response = get(&mut conn, &host, "POST", "/size/3");
    assert_eq!(response.status, 404);

    let response = get(&mut conn, &host, "GET", "/count");
    assert_eq!(response.text(), "10");
    assert_eq!(server.requests(), 10);
}

#[test]
fn hyper_drop_closes_connections() {
    let server = HyperServer::start();
    let addr = server.addr();
    let mut conn = Conn::new(connect(addr));
    let response = get(&mut conn, &server.authority(), "GET", "/size/1");
    assert_eq!(response.body, b"a");
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(1));
    conn.expect_eof();
    assert!(TcpStream::connect_timeout(&addr, TIMEOUT).is_err());
}

fn tls_client(root_der: Vec<u8>, name: &str) -> rustls::ClientConnection {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(root_der))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    rustls::ClientConnection::new(Arc::new(config), name).unwrap()
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

/// Runs a TLS handshake plus `GET /size/10` over `stream`.
fn tls_get(stream: TcpStream, root_der: Vec<u8>, name: &str) -> Result<Response, rustls::Error> {
    let mut client = tls_client(root_der, name);
    let mut stream = stream;
    while client.is_handshaking() {
        if let Err(error) = client.complete_io(&mut stream) {
            let inner = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            return Err(inner.unwrap_or_else(|| panic!("I/O error in handshake: {error}")));
        }
    }
    let mut conn = Conn::new(rustls::StreamOwned::new(client, stream));
    conn.send(b"GET /size/10 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    Ok(conn.response("GET"))
}

#[test]
fn tls_server_verifies_with_its_ca_only() {
    let server = TlsServer::start();
    assert_eq!(server.addr().port(), server.port());
    assert_eq!(
        server.url("/a"),
        format!("https://localhost:{}/a", server.port())
    );
    assert_eq!(pem_to_der(&server.ca_pem()), server.ca_der());

    // The right root and name.
    let response = tls_get(
        connect(server.addr()),
        server.ca_der().to_vec(),
        "localhost",
    )
    .expect("verified handshake");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"abcdefghij");
    let response = tls_get(
        connect(server.addr()),
        server.ca_der().to_vec(),
        "127.0.0.1",
    )
    .expect("verified handshake by IP");
    assert_eq!(response.status, 200);

    // The wrong root.
    let error = tls_get(
        connect(server.addr()),
        pem_to_der(&unrelated_ca_pem()),
        "localhost",
    )
    .expect_err("wrong root must fail");
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{error:?}"
    );

    // The wrong name.
    let error = tls_get(
        connect(server.addr()),
        server.ca_der().to_vec(),
        "example.com",
    )
    .expect_err("wrong name must fail");
    assert!(
        matches!(error, rustls::Error::InvalidCertificate(_)),
        "{error:?}"
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn nginx_static_files_and_expect_continue() {
    let nginx = peer_or_skip!(
        Nginx::start(&[("a.txt", b"hello nginx"), ("dir/b.json", b"{}")]),
        "nginx"
    );
    let host = nginx.authority();
    assert_eq!(nginx.url("/a.txt"), format!("http://{host}/a.txt"));
    let mut conn = Conn::new(connect(nginx.addr()));

    let response = get(&mut conn, &host, "GET", "/a.txt");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello nginx");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    let response = get(&mut conn, &host, "HEAD", "/dir/b.json");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("2"));
    let response = get(&mut conn, &host, "GET", "/missing");
    assert_eq!(response.status, 404);

    // Upload with Expect: 100 Continue, then 201 after the body.
    conn.send(
        format!(
            "PUT /upload/f.txt HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    let (status, head) = conn.head();
    assert_eq!((status, head.as_str()), (100, "HTTP/1.1 100 Continue"));
    conn.send(b"12345");
    let response = conn.response("PUT");
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(
        std::fs::read(nginx.root().join("upload/f.txt")).unwrap(),
        b"12345"
    );

    // A chunked upload replacing it (204), on the same connection.
    conn.send(
        format!(
            "PUT /upload/f.txt HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("PUT");
    assert_eq!(response.status, 204, "{response:?}");
    let response = get(&mut conn, &host, "GET", "/upload/f.txt");
    assert_eq!(response.body, b"ab");

    // Too large for /small: 413 at once, no 100.
    let mut conn = Conn::new(connect(nginx.addr()));
    conn.send(
        format!(
            "PUT /small/g HTTP/1.1\r\nHost: {host}\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("PUT");
    assert_eq!(response.status, 413, "{response:?}");
    // nginx then closes, after a lingering close of up to 5 s.
    assert_eq!(response.header("connection"), Some("close"));
}

#[test]
fn tinyproxy_forwards_and_tunnels() {
    let proxy = peer_or_skip!(Proxy::start(), "tinyproxy");
    assert_eq!(proxy.url(), format!("http://{}", proxy.addr()));
    let origin = HyperServer::start();
    let tls = TlsServer::start();

    // Absolute-form request.
    let mut conn = Conn::new(connect(proxy.addr()));
    conn.send(
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
            origin.url("/size/10"),
            origin.authority()
        )
        .as_bytes(),
    );
    let response = conn.response("GET");
    assert_eq!(response.status, 200, "{response:?}\n{}", proxy.log());
    assert_eq!(response.body, expected_body(10));
    assert!(response.header("via").is_some(), "{response:?}");

    // CONNECT, then TLS through the tunnel.
    let mut stream = connect(proxy.addr());
    let target = format!("127.0.0.1:{}", tls.port());
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .unwrap();
    // Read the CONNECT response byte by byte so no tunnel byte is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "EOF in CONNECT response"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let response = tls_get(stream, tls.ca_der().to_vec(), "localhost").expect("TLS in tunnel");
    assert_eq!(response.body, expected_body(10));
    assert_eq!(tls.requests(), 1);
}

/// Sends a `PUT` head expecting `100 Continue`, with a body of `length`
/// bytes announced (and not sent).
fn put_expecting_continue(conn: &mut Conn<TcpStream>, host: &str, target: &str, length: usize) {
    conn.send(
        format!(
            "PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
}

#[test]
fn apache_static_files_and_expect_continue() {
    let apache = peer_or_skip!(
        Apache::start(&[("a.txt", b"hello apache"), ("empty.bin", b"")]),
        "apache2"
    );
    let host = apache.addr().to_string();
    assert_eq!(apache.url("/a.txt"), format!("http://{host}/a.txt"));
    assert_eq!(
        std::fs::read(apache.root().join("a.txt")).unwrap(),
        b"hello apache"
    );
    let mut conn = Conn::new(connect(apache.addr()));

    let response = get(&mut conn, &host, "GET", "/a.txt");
    assert_eq!(response.status, 200, "{response:?}\n{}", apache.log());
    assert_eq!(response.body, b"hello apache");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert!(response
        .header("server")
        .is_some_and(|s| s.starts_with("Apache/2.4")));
    // No Content-Length on a HEAD of an empty file; a GET has one.
    let response = get(&mut conn, &host, "HEAD", "/empty.bin");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), None, "{response:?}");
    let response = get(&mut conn, &host, "GET", "/empty.bin");
    assert_eq!(response.header("content-length"), Some("0"));

    // PUT of a static file: 100 Continue before the body, 405 after it,
    // and the connection stays.
    put_expecting_continue(&mut conn, &host, "/a.txt", 5);
    let (status, head) = conn.head();
    assert_eq!((status, head.as_str()), (100, "HTTP/1.1 100 Continue"));
    conn.send(b"12345");
    let response = conn.response("PUT");
    assert_eq!(response.status, 405, "{response:?}");
    assert!(response.header("allow").is_some_and(|a| a.contains("GET")));
    assert_eq!(get(&mut conn, &host, "GET", "/a.txt").body, b"hello apache");

    // Over LimitRequestBody: 413 at once, no 100, a body delimited by the
    // close.
    let mut conn = Conn::new(connect(apache.addr()));
    put_expecting_continue(&mut conn, &host, "/small/x", 50);
    let response = conn.response("PUT");
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.header("content-length"), None);
}

#[test]
fn lighttpd_static_files_cgi_upload_and_refusal() {
    let lighttpd = peer_or_skip!(Lighttpd::start(&[("a.txt", b"hello lighttpd")]), "lighttpd");
    let host = lighttpd.addr().to_string();
    assert_eq!(lighttpd.url("/a.txt"), format!("http://{host}/a.txt"));
    assert!(lighttpd.root().join("cgi/upload.sh").is_file());
    let mut conn = Conn::new(connect(lighttpd.addr()));

    let response = get(&mut conn, &host, "GET", "/a.txt");
    assert_eq!(response.status, 200, "{response:?}\n{}", lighttpd.log());
    assert_eq!(response.body, b"hello lighttpd");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    let response = get(&mut conn, &host, "HEAD", "/a.txt");
    assert_eq!(response.header("content-length"), Some("14"));

    // The CGI script: 100 Continue before the body, 201 after it.
    put_expecting_continue(&mut conn, &host, "/cgi/upload.sh", 5);
    let (status, _) = conn.head();
    assert_eq!(status, 100);
    conn.send(b"12345");
    let response = conn.response("PUT");
    assert_eq!(response.status, 201, "{response:?}\n{}", lighttpd.log());
    assert_eq!(response.body, b"received 5 bytes\n");

    // PUT of a static file: 501 at once, no 100, then the close.
    put_expecting_continue(&mut conn, &host, "/a.txt", 5);
    let response = conn.response("PUT");
    assert_eq!(response.status, 501, "{response:?}");
    assert_eq!(response.header("connection"), Some("close"));
    conn.expect_eof();
}

#[test]
fn haproxy_forwards_to_its_origin() {
    let origin = HyperServer::start();
    let haproxy = peer_or_skip!(Haproxy::start(origin.addr()), "haproxy");
    assert_eq!(haproxy.origin(), origin.addr());
    let host = haproxy.addr().to_string();
    assert_eq!(haproxy.url("/x"), format!("http://{host}/x"));
    let mut conn = Conn::new(connect(haproxy.addr()));

    // The start probe is haproxy's own answer.
    let response = get(&mut conn, &host, "GET", "/dugong-start-probe");
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "haproxy")
    );
    // Pipelined, to the origin.
    conn.send(
        format!(
            "GET /size/10 HTTP/1.1\r\nHost: {host}\r\n\r\nHEAD /size/20 HTTP/1.1\r\nHost: {host}\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = conn.response("GET");
    assert_eq!(response.status, 200, "{response:?}\n{}", haproxy.log());
    assert_eq!(response.body, expected_body(10));
    let response = conn.response("HEAD");
    assert_eq!(response.header("content-length"), Some("20"));
    assert_eq!(origin.requests(), 2);
}

#[test]
fn squid_forwards_to_its_origin_only() {
    let origin = HyperServer::start();
    let squid = peer_or_skip!(Squid::start(origin.addr()), "squid");
    assert_eq!(squid.origin(), origin.addr());
    assert_eq!(squid.url(), format!("http://{}", squid.addr()));
    let mut conn = Conn::new(connect(squid.addr()));

    let absolute = |path: &str| format!("http://{}{path}", origin.authority());
    conn.send(
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
            absolute("/size/10"),
            origin.authority()
        )
        .as_bytes(),
    );
    let response = conn.response("GET");
    assert_eq!(response.status, 200, "{response:?}\n{}", squid.log());
    assert_eq!(response.body, expected_body(10));
    assert!(
        response
            .header("via")
            .is_some_and(|via| via.contains("dugong-squid")),
        "{response:?}"
    );
    assert_eq!(origin.requests(), 1);

    // Another port of the same host is refused by squid itself.
    let other = format!("127.0.0.1:{}", refused_addr().port());
    conn.send(format!("GET http://{other}/ HTTP/1.1\r\nHost: {other}\r\n\r\n").as_bytes());
    let response = conn.response("GET");
    assert_eq!(response.status, 403, "{response:?}");
    assert_eq!(origin.requests(), 1);
}

#[test]
fn silent_server_never_answers_and_refused_addr_refuses() {
    let server = SilentServer::start();
    let mut stream = connect(server.addr());
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Big writes do not block: the server discards what it gets.
    stream.write_all(&vec![b'x'; 4 << 20]).unwrap();
    let started = Instant::now();
    let mut byte = [0u8];
    let error = stream.read(&mut byte).expect_err("no data expected");
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(server.accepted(), 1);
    drop(server);
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert!(matches!(stream.read(&mut byte), Ok(0) | Err(_)));

    let error = TcpStream::connect_timeout(&refused_addr(), TIMEOUT).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn script_server_send_drip_and_close() {
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    let server = ScriptServer::start(vec![
        Step::ReadHeads(2),
        Step::Drip(response[..20].to_vec(), Duration::from_millis(2)),
        Step::Sleep(Duration::from_millis(20)),
        Step::Send(response[20..].to_vec()),
        Step::Close,
    ]);
    let mut conn = Conn::new(connect(server.addr()));
    conn.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n");
    std::thread::sleep(Duration::from_millis(20));
    conn.send(b"Host: x\r\n\r\n");
    let answer = conn.response("GET");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"body");
    conn.expect_eof();
    drop(conn);
    assert!(server.wait_finished(1, TIMEOUT));
    assert_eq!(
        server.received(),
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn script_server_drip_arrives_in_pieces() {
    let server = ScriptServer::start(vec![Step::Drip(
        b"abcdef".to_vec(),
        Duration::from_millis(30),
    )]);
    let mut stream = connect(server.addr());
    let mut pieces = Vec::new();
    let mut chunk = [0u8; 64];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        pieces.push(chunk[..n].to_vec());
    }
    assert_eq!(pieces.concat(), b"abcdef");
    assert!(pieces.len() >= 4, "{pieces:?}");
}

#[test]
fn script_server_reset_and_stall() {
    let server = ScriptServer::start_per_connection(vec![
        vec![Step::ReadHead, Step::Reset],
        vec![
            Step::ReadBytes(3),
            Step::Send(b"partial".to_vec()),
            Step::StallForever,
        ],
    ]);

    let mut stream = connect(server.addr());
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut chunk = [0u8; 64];
    let error = stream.read(&mut chunk).expect_err("reset");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    assert!(server.wait_finished(1, TIMEOUT));

    let mut stream = connect(server.addr());
    stream.write_all(b"abcdef").unwrap();
    let mut received = Vec::new();
    while received.len() < 7 {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        received.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(received, b"partial");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let error = stream.read(&mut chunk).expect_err("stalled");
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error}"
    );
    assert_eq!(server.received(), b"abcdef");
    assert_eq!(server.connections(), 2);

    // Dropping the server ends the stall promptly and closes the connection.
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(1));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert!(matches!(stream.read(&mut chunk), Ok(0) | Err(_)));
}
