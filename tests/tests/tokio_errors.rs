//! dugong-tokio when things go wrong or get unusual: timeouts, missing
//! hosts, refused connections, servers that cut bodies short, reset or
//! break the protocol; the continue delay; 1xx responses; upgrades; and
//! the traffic trace with its redaction.

use std::future::Future;
use std::time::{Duration, Instant};

use dugong_tests::{refused_addr, HyperServer, ScriptServer, SilentServer, Step};
use dugong_tokio::dugong_net::trace;
use dugong_tokio::dugong_proto::Fate;
use dugong_tokio::{Body, Builder, Bytes, Connection, Error, ErrorKind, Phase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

fn builder(addr: std::net::SocketAddr) -> Builder {
    Builder::new(&addr.ip().to_string(), addr.port()).no_trace()
}

#[tokio::test]
async fn silent_server_times_out_reading() {
    let server = SilentServer::start();
    bounded(async {
        let mut conn = builder(server.addr())
            .timeout(Duration::from_millis(200))
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let start = Instant::now();
        let error = conn.read_response().await.unwrap_err();
        let waited = start.elapsed();
        assert!(
            matches!(error, Error::TimedOut(Phase::Reading)),
            "{error:?}"
        );
        assert_eq!(error.kind(), ErrorKind::TimedOut);
        assert_eq!(error.kind().as_str(), "timed out");
        assert!(error.is_temporary());
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        // The connection is broken and says so again.
        assert!(!conn.is_usable());
        assert_eq!(conn.error().map(|e| e.kind()), Some(ErrorKind::TimedOut));
        let again = conn.read_response().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::TimedOut);
    })
    .await;
}

#[tokio::test]
async fn silent_server_times_out_the_receiving_half() {
    let server = SilentServer::start();
    bounded(async {
        let conn = builder(server.addr())
            .timeout(Duration::from_millis(200))
            .connect()
            .await
            .unwrap();
        let (mut send, mut recv) = conn.split();
        send.send_request("GET", "/", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let error = recv.read_response().await.unwrap_err();
        assert!(
            matches!(error, Error::TimedOut(Phase::Reading)),
            "{error:?}"
        );
        // The sending half sees the broken connection too.
        let error = send
            .send_request("GET", "/", [("A", "b")], Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::TimedOut);
        assert!(!send.is_usable());
    })
    .await;
}

#[tokio::test]
async fn no_such_host_is_host_not_found() {
    bounded(async {
        let error = Connection::connect("no-such-host.invalid", 80)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::HostNotFound { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::HostNotFound);
        assert!(!error.is_temporary());
        let error = Builder::from_url("https://no-such-host.invalid/")
            .unwrap()
            .no_trace()
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::HostNotFound);
    })
    .await;
}

#[tokio::test]
async fn refused_connection_is_a_temporary_io_error() {
    let addr = refused_addr();
    bounded(async {
        let error = builder(addr).connect().await.unwrap_err();
        assert!(matches!(error, Error::Connect { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Io);
        assert_eq!(error.kind().as_str(), "i/o error");
        assert!(error.is_temporary());
    })
    .await;
}

#[tokio::test]
async fn body_cut_short_is_an_error_naming_the_request() {
    let server = ScriptServer::start(vec![
        Step::ReadHeads(2),
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        Step::Close,
    ]);
    bounded(async {
        let mut conn = builder(server.addr()).connect().await.unwrap();
        let first = conn
            .send_request("GET", "/a", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let second = conn
            .send_request("GET", "/b", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        let error = conn.read_all().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        let closed = error.closed().unwrap();
        let fates: Vec<_> = closed.unanswered().iter().map(|u| (u.id, u.fate)).collect();
        assert_eq!(
            fates,
            [
                (first, Fate::BodyIncomplete),
                (second, Fate::MaybeProcessed)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn reset_and_bad_responses() {
    let reset = ScriptServer::start(vec![Step::ReadHead, Step::Reset]);
    let invalid = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec()),
        Step::Close,
    ]);
    let unsupported = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec()),
        Step::Close,
    ]);
    let huge = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send([b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 100_000]].concat()),
        Step::StallForever,
    ]);
    bounded(async {
        for (server, kind) in [
            (&reset, ErrorKind::Closed),
            (&invalid, ErrorKind::Invalid),
            (&unsupported, ErrorKind::Unsupported),
            (&huge, ErrorKind::TooLarge),
        ] {
            let mut conn = builder(server.addr()).connect().await.unwrap();
            conn.send_request("GET", "/", [("A", "b")], Body::Empty)
                .await
                .unwrap();
            let error = conn.read_response().await.unwrap_err();
            assert_eq!(error.kind(), kind, "{error}");
            assert!(!conn.is_usable());
        }
    })
    .await;
}

/// A server that never sends `100 Continue`: after the continue delay,
/// `read_response` makes one up and the body goes out.
#[tokio::test]
async fn continue_delay_releases_the_body() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::ReadBytes(5),
        Step::Send(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok".to_vec()),
        Step::ReadHead,
        Step::ReadBytes(11),
        Step::Send(b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nyes".to_vec()),
        Step::Close,
    ]);
    bounded(async {
        let mut conn = builder(server.addr())
            .continue_delay(Duration::from_millis(150))
            .connect()
            .await
            .unwrap();
        let id = conn
            .send_request("PUT", "/a", [("Expect", "100-continue")], Body::Sized(5))
            .await
            .unwrap();
        let start = Instant::now();
        let head = conn.read_response().await.unwrap();
        assert_eq!((head.status(), head.id()), (100, id));
        assert!(start.elapsed() >= Duration::from_millis(140));
        conn.write_body(b"hello").await.unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 201);
        assert_eq!(conn.read_all().await.unwrap(), b"ok");

        // Split: the sending half waits for the delay, then sends the whole
        // body by itself.
        let (mut send, mut recv) = conn.split();
        let start = Instant::now();
        let sender = tokio::spawn(async move {
            send.send_request(
                "PUT",
                "/b",
                [("Expect", "100-continue")],
                Body::Full(Bytes::from_static(b"whole body!")),
            )
            .await?;
            Ok::<_, Error>(start.elapsed())
        });
        let first = recv.read_response().await.unwrap();
        let second = recv.read_response().await.unwrap();
        let body = recv.read_all().await.unwrap();
        assert_eq!(
            (first.status(), second.status(), body),
            (100, 201, b"yes".to_vec())
        );
        let waited = sender.await.unwrap().unwrap();
        assert!(waited >= Duration::from_millis(140), "{waited:?}");
    })
    .await;
}

#[tokio::test]
async fn informational_responses_are_kept() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
                .to_vec(),
        ),
        Step::StallForever,
    ]);
    bounded(async {
        let mut conn = builder(server.addr()).connect().await.unwrap();
        conn.send_request("GET", "/", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        let early = conn.informational();
        assert_eq!(early.len(), 1);
        assert_eq!(early[0].status(), 103);
        assert_eq!(early[0].headers().get("link"), Some(&b"</a.css>"[..]));
        assert_eq!(conn.read_all().await.unwrap(), b"hi");
    })
    .await;
}

#[tokio::test]
async fn upgrade_hands_over_the_transport() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nfirst"
                .to_vec(),
        ),
        Step::Sleep(Duration::from_millis(50)),
        Step::Send(b" second".to_vec()),
        Step::ReadBytes(4),
        Step::Close,
    ]);
    bounded(async {
        let mut conn = builder(server.addr()).connect().await.unwrap();
        conn.send_request(
            "GET",
            "/",
            [("Upgrade", "echo"), ("Connection", "upgrade")],
            Body::Empty,
        )
        .await
        .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 101);
        let (mut stream, rest) = conn.into_upgraded().await.unwrap();
        assert_eq!(rest, Bytes::from_static(b"first"));
        let mut more = [0u8; 7];
        stream.read_exact(&mut more).await.unwrap();
        assert_eq!(&more, b" second");
        stream.write_all(b"ping").await.unwrap();
        let mut end = Vec::new();
        stream.read_to_end(&mut end).await.unwrap();
        assert!(end.is_empty());
    })
    .await;
    assert!(server.received().ends_with(b"ping"));
}

#[tokio::test]
async fn trace_file_is_written_and_redacted() {
    let server = HyperServer::start();
    let dir = dugong_tests::temp_dir("dugong-tokio-trace");
    let path = dir.path().join("conn.trace");
    let kept = dir.path().join("kept.trace");
    bounded(async {
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .trace_file(&path)
            .connect()
            .await
            .unwrap();
        let fields = [
            ("Authorization", "Bearer very-secret-token"),
            ("Cookie", "session=42"),
        ];
        conn.send_request("GET", "/size/5", fields, Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        conn.read_all().await.unwrap();
        conn.disconnect().await;

        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .trace_file(&kept)
            .keep_trace_secrets(true)
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/size/5", fields, Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        conn.read_all().await.unwrap();
    })
    .await;
    let data = std::fs::read(&path).unwrap();
    assert!(data.starts_with(b"# dugong trace v1: connection to http://127.0.0.1:"));
    let records = trace::parse(&data).unwrap();
    let kinds: Vec<&str> = records.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"note"), "{kinds:?}");
    assert!(records[0].1.starts_with(b"connected to 127.0.0.1:"));
    let request = records
        .iter()
        .position(|(k, b)| k == "request" && b == b"GET");
    let send = records.iter().position(|(k, _)| k == "send");
    let recv = records.iter().position(|(k, _)| k == "recv");
    assert!(request < send && send < recv, "{kinds:?}");
    assert_eq!(records.last().unwrap().1, b"disconnected");
    let sent: Vec<u8> = records
        .iter()
        .filter(|(k, _)| k == "send")
        .flat_map(|(_, b)| b.clone())
        .collect();
    let sent = String::from_utf8(sent).unwrap();
    assert!(sent.starts_with("GET /size/5 HTTP/1.1\r\n"), "{sent}");
    assert!(
        sent.contains("Authorization: ************************\r\n"),
        "{sent}"
    );
    assert!(sent.contains("Cookie: **********\r\n"), "{sent}");
    assert!(!sent.contains("very-secret"));
    let received: Vec<u8> = records
        .iter()
        .filter(|(k, _)| k == "recv")
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(received.ends_with(b"abcde"));

    let kept = String::from_utf8_lossy(&std::fs::read(&kept).unwrap()).into_owned();
    assert!(kept.contains("Authorization: Bearer very-secret-token\r\n"));
}

/// The timeout counts from the start of each wait: time the caller spends
/// between sending and reading does not count, only time with no data
/// moving while it waits.
#[tokio::test]
async fn a_pause_before_reading_does_not_count_toward_the_timeout() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_millis(500))
            .no_trace()
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/slow/900", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), b"slow");
        // But waiting longer than the timeout for a response fails.
        conn.send_request("GET", "/slow/1500", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let error = conn.read_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::TimedOut);
    })
    .await;
}

/// With split halves, an error found by one half wakes the other: here
/// the sender is blocked writing a body the server never reads, and the
/// receiver's invalid response ends that wait at once (no timeout is
/// configured, so nothing else would).
#[tokio::test]
async fn an_error_in_one_half_wakes_the_other() {
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec()),
        Step::Sleep(Duration::from_secs(20)),
    ]);
    bounded(async {
        let conn = builder(server.addr()).connect().await.unwrap();
        let (mut send, mut recv) = conn.split();
        const SIZE: usize = 256 * 1024 * 1024;
        send.send_request("PUT", "/", [("A", "b")], Body::Sized(SIZE as u64))
            .await
            .unwrap();
        let start = Instant::now();
        // Its own task: only a wakeup meant for it can end its wait.
        let sender =
            tokio::spawn(async move { send.send_body(Bytes::from(vec![0u8; SIZE])).await });
        let error = recv.read_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid);
        let sent = tokio::time::timeout(Duration::from_secs(10), sender)
            .await
            .expect("the sending half was woken")
            .unwrap();
        assert_eq!(sent.unwrap_err().kind(), ErrorKind::Invalid);
        assert!(start.elapsed() < Duration::from_secs(10));
    })
    .await;
}

/// The state machine's idle timeout: a connection left idle that long is
/// no longer used for new requests (the server may be closing it).
#[tokio::test]
async fn idle_connection_expires() {
    let server = HyperServer::start();
    bounded(async {
        let config =
            dugong_tokio::Config::default().with_idle_timeout(Some(Duration::from_millis(150)));
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .config(config)
            .no_trace()
            .connect()
            .await
            .unwrap();
        conn.send_request("GET", "/size/3", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        conn.read_all().await.unwrap();
        assert!(conn.is_usable());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!conn.is_usable());
        let error = conn
            .send_request("GET", "/size/3", [("A", "b")], Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
    })
    .await;
}
