//! dugong-blocking against scripted peers and failures: the continue delay,
//! a server that answers and hangs up mid-upload, cut and reset bodies,
//! bad framing, timeouts, name resolution, refused connections, traces,
//! and a caller's own transport.

use std::io::{Read, Write};
use std::time::Duration;

use dugong_blocking::dugong_net::trace;
use dugong_blocking::dugong_proto::Fate;
use dugong_blocking::{Body, Builder, Connection, ErrorKind, Phase};
use dugong_tests::{refused_addr, temp_dir, ScriptServer, SilentServer, Step};

const NO_FIELDS: [(&str, &str); 0] = [];

fn builder(port: u16) -> Builder {
    Builder::new("127.0.0.1", port)
        .timeout(Duration::from_secs(10))
        .no_trace()
}

fn send(bytes: &[u8]) -> Step {
    Step::Send(bytes.to_vec())
}

#[test]
fn continue_delay_releases_a_held_body_when_the_server_is_silent() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::ReadBytes(5),
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"),
    ]);
    let mut conn = builder(server.addr().port())
        .continue_delay(Duration::from_millis(50))
        .connect()
        .unwrap();
    conn.send_request("PUT", "/", [("Expect", "100-continue")], Body::Sized(5))
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 100, "made up once the delay passed");
    conn.write_body(b"hello").unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"good");
    assert!(server.received().ends_with(b"\r\n\r\nhello"));
}

#[test]
fn informational_responses_before_a_continue_come_with_the_final_head() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"),
        Step::ReadBytes(5),
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"),
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    conn.send_request("PUT", "/", [("Expect", "100-continue")], Body::Sized(5))
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 100);
    conn.write_body(b"hello").unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    let early = conn.informational();
    assert_eq!(early.len(), 1, "the 103 before the 100 is reported");
    assert_eq!(early[0].status(), 103);
    assert_eq!(early[0].headers().get("link"), Some(&b"</a.css>"[..]));
    assert_eq!(conn.read_all().unwrap(), b"good");
}

#[test]
fn server_that_answers_and_hangs_up_mid_upload() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!"),
        Step::Sleep(Duration::from_millis(100)),
        Step::Reset,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    let total = 256 * 1024 * 1024;
    conn.send_request("PUT", "/", NO_FIELDS, Body::Sized(total))
        .unwrap();
    let piece = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    let error = loop {
        match conn.write_body(&piece) {
            Ok(()) => sent += piece.len() as u64,
            Err(e) => break e,
        }
        assert!(sent < total, "the server never went away");
    };
    assert_eq!(
        error.kind(),
        ErrorKind::Closed,
        "write reports the close: {error}"
    );
    // The response the server sent before it left is still readable.
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 413);
    assert_eq!(conn.read_all().unwrap(), b"too big!");
    assert!(!conn.is_usable());
}

#[test]
fn a_body_cut_short_is_an_error_never_a_short_ok() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
        send(&[b'a'; 50]),
        Step::Close,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    let id = conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.read_response().unwrap();
    let mut got = Vec::new();
    let error = conn.body_reader().read_to_end(&mut got).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionAborted);
    assert_eq!(got.len(), 50, "the bytes that came are delivered");
    let e = conn.read_all().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    let unanswered = e.closed().unwrap().unanswered().to_vec();
    assert_eq!(unanswered.len(), 1);
    assert_eq!(
        (unanswered[0].id, unanswered[0].fate),
        (id, Fate::BodyIncomplete)
    );
}

#[test]
fn a_reset_is_the_same_closed_error() {
    let server = ScriptServer::start(vec![
        Step::ReadHeads(2),
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart"),
        Step::Sleep(Duration::from_millis(50)),
        Step::Reset,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    conn.send_request("GET", "/1", NO_FIELDS, Body::Empty)
        .unwrap();
    let second = conn
        .send_request("GET", "/2", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.read_response().unwrap();
    assert_eq!(conn.read_all().unwrap(), b"ok");
    conn.read_response().unwrap();
    let e = conn.read_all().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    assert_eq!(e.closed().unwrap().unanswered()[0].id, second);
    assert!(e.is_temporary());
}

#[test]
fn bad_framing_is_invalid_and_breaks_the_connection() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        Step::StallForever,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap();
    let e = conn.read_response().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    assert!(!e.is_temporary());
    assert!(!conn.is_usable());
    let again = conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap_err();
    assert_eq!(
        again.kind(),
        ErrorKind::Invalid,
        "the error repeats: {again}"
    );
}

#[test]
fn a_silent_server_times_out_and_the_timeout_sticks() {
    let server = SilentServer::start();
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_millis(200))
        .no_trace()
        .connect()
        .unwrap();
    conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap();
    let started = std::time::Instant::now();
    let e = conn.read_response().unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(190));
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(matches!(
        e,
        dugong_blocking::Error::TimedOut(Phase::Reading)
    ));
    assert!(e.is_temporary());
    assert_eq!(
        conn.read_response().unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn a_drip_fed_response_arrives_whole() {
    let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Drip(response.to_vec(), Duration::from_millis(1)),
        Step::StallForever,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"abc");
}

#[test]
fn names_that_cannot_exist_are_host_not_found() {
    let e = Connection::connect("no-such-host.invalid", 80).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HostNotFound, "{e}");
    assert_eq!(e.kind().as_str(), "host not found");
    assert!(!e.is_temporary());
}

#[test]
fn a_refused_connection_is_temporary() {
    let addr = refused_addr();
    let e = Connection::connect("127.0.0.1", addr.port()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.is_temporary());
}

#[test]
fn the_trace_file_records_both_directions_with_secrets_masked() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        Step::Close,
    ]);
    let dir = temp_dir("dugong-trace");
    let path = dir.path().join("conn.trace");
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .trace_file(&path)
        .connect()
        .unwrap();
    let fields = [("Authorization", "Bearer s3cret"), ("Cookie", "id=42")];
    conn.send_request("GET", "/x", fields, Body::Empty).unwrap();
    conn.read_response().unwrap();
    assert_eq!(conn.read_all().unwrap(), b"hi");
    drop(conn);
    let records = trace::parse(&std::fs::read(&path).unwrap()).unwrap();
    let kinds: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"note"), "{kinds:?}");
    assert!(kinds.contains(&"request"));
    let sent: Vec<u8> = records
        .iter()
        .filter(|(k, _)| k == "send")
        .flat_map(|(_, b)| b.clone())
        .collect();
    let sent = String::from_utf8(sent).unwrap();
    assert!(sent.contains("Authorization: *************\r\n"), "{sent}");
    assert!(sent.contains("Cookie: *****\r\n"), "{sent}");
    assert!(!sent.contains("s3cret"));
    let received: Vec<u8> = records
        .iter()
        .filter(|(k, _)| k == "recv")
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert_eq!(received, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    // The received side replays through the core's `replay` example, with
    // the requests the trace recorded.
    let output = dugong_tests::example("dugong-proto", "replay")
        .arg("--trace")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Length","2"]]}"#,
            r#"{"event":"data","b64":"aGk="}"#,
            r#"{"event":"end","trailers":[]}"#,
        ]
    );
}

#[cfg(unix)]
#[test]
fn any_read_write_transport_can_be_driven() {
    use std::os::unix::net::UnixStream;

    let (client, mut server) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn(move || {
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") {
            server.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        server
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nunix!")
            .unwrap();
        head
    });
    let mut conn = Builder::new("unix.local", 80)
        .no_trace()
        .over(dugong_blocking::Blocking(client));
    conn.send_request("GET", "/sock", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"unix!");
    let head = peer.join().unwrap();
    assert_eq!(head, b"GET /sock HTTP/1.1\r\nHost: unix.local\r\n\r\n");
    let e = conn.reconnect().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
}

#[cfg(unix)]
#[test]
fn a_non_blocking_unix_socket_pipelines_without_deadlock() {
    use std::os::unix::net::UnixStream;

    let (client, mut server) = UnixStream::pair().unwrap();
    let n = 20_000;
    // The peer answers only after it has read every head (as a server that
    // batches would), so nothing comes back until all requests are out.
    let peer = std::thread::spawn(move || {
        let mut seen = 0;
        let mut buf = vec![0; 65536];
        let mut tail = Vec::new();
        while seen < n {
            let got = server.read(&mut buf).unwrap();
            tail.extend_from_slice(&buf[..got]);
            while let Some(i) = tail.windows(4).position(|w| w == b"\r\n\r\n") {
                tail.drain(..i + 4);
                seen += 1;
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        server.write_all(&answer.repeat(n)).unwrap();
    });
    let transport = dugong_blocking::Unix::new(client).unwrap();
    let mut conn = Builder::new("unix.local", 80)
        .timeout(Duration::from_secs(10))
        .no_trace()
        .over(transport);
    for _ in 0..n {
        conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
            .unwrap();
    }
    for _ in 0..n {
        assert_eq!(conn.read_response().unwrap().status(), 200);
        assert_eq!(conn.read_all().unwrap(), b"x");
    }
    peer.join().unwrap();
}

#[test]
fn a_101_hands_over_the_transport_and_the_bytes_already_read() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello from the other protocol"),
        Step::ReadBytes(4),
        send(b"pong"),
        Step::Close,
    ]);
    let mut conn = builder(server.addr().port()).connect().unwrap();
    conn.send_request(
        "GET",
        "/",
        [("Connection", "upgrade"), ("Upgrade", "echo")],
        Body::Empty,
    )
    .unwrap();
    assert!(
        !conn.is_usable(),
        "no request may follow an upgrade request"
    );
    assert_eq!(conn.read_response().unwrap().status(), 101);
    let (mut transport, rest) = conn.into_upgraded().expect("handed over");
    assert_eq!(&rest[..], b"hello from the other protocol");
    transport
        .write_vectored(&[std::io::IoSlice::new(b"ping")])
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 16];
    while got.len() < 4 {
        match transport.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                transport
                    .wait(
                        dugong_blocking::Interest {
                            read: true,
                            write: false,
                        },
                        Some(Duration::from_secs(5)),
                    )
                    .unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"pong");
}

#[test]
fn a_server_that_stops_reading_times_the_write_out() {
    let server = ScriptServer::start(vec![Step::Sleep(Duration::from_secs(3))]);
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_millis(200))
        .no_trace()
        .connect()
        .unwrap();
    let total = 512 * 1024 * 1024;
    conn.send_request("PUT", "/", NO_FIELDS, Body::Sized(total))
        .unwrap();
    let piece = bytes::Bytes::from(vec![b'w'; 1024 * 1024]);
    let error = (0..512)
        .find_map(|_| conn.send_body(piece.clone()).err())
        .expect("the writes block long before 512 MiB");
    assert!(
        matches!(error, dugong_blocking::Error::TimedOut(Phase::Writing)),
        "{error}"
    );
    assert!(error.is_temporary());
    assert_eq!(
        conn.send_body(piece).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn lone_requests_without_a_time_limit_wait_in_the_read_and_see_the_server_close() {
    // No timeout and one request at a time: once an answer was not there
    // at once, the next reads wait for it in the kernel (one `recv` that
    // blocks), through a delayed answer, a cut body and the close.
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Sleep(Duration::from_millis(50)),
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"),
        Step::ReadHead,
        Step::Sleep(Duration::from_millis(50)),
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"),
        Step::Sleep(Duration::from_millis(50)),
        Step::Close,
    ]);
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .no_trace()
        .connect()
        .unwrap();
    conn.send_request("GET", "/1", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"first");
    conn.send_request("GET", "/2", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    let err = conn.read_all().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
}
