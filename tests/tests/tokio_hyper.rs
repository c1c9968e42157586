//! dugong-tokio against the hyper test server: requests, bodies, trailers,
//! 100-continue, uploads, pipelining (one task, two tasks, the `pipeline`
//! stream), `Connection: close` mid-pipeline, and dropped body readers.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use dugong_tests::{expected_body, HyperServer};
use dugong_tokio::{
    Body, Builder, Bytes, Connection, Error, ErrorKind, FullResponse, Request, Response,
};
use futures_core::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NO_FIELDS: [(&str, &str); 0] = [];

/// Every test runs under this bound, so a hang is a failure, not a stuck
/// run.
const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time")
}

async fn connect(server: &HyperServer) -> Connection {
    Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(20))
        .no_trace()
        .connect()
        .await
        .expect("connect to the hyper server")
}

fn header<'a>(head: &'a Response, name: &str) -> Option<&'a [u8]> {
    head.headers().get(name)
}

async fn get(conn: &mut Connection, target: &str) -> (Response, Vec<u8>) {
    conn.send_request("GET", target, [("Accept", "*/*")], Body::Empty)
        .await
        .expect("send");
    let head = conn.read_response().await.expect("head");
    let body = conn.read_all().await.expect("body");
    (head, body)
}

#[tokio::test]
async fn get_a_sized_body() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let (head, body) = get(&mut conn, "/size/100000").await;
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "content-length"), Some(&b"100000"[..]));
        assert_eq!(body, expected_body(100_000));
        assert!(!conn.response_pending() && !conn.body_pending());
        assert!(conn.is_usable());
        assert!(conn.error().is_none());
        // The connection is reused.
        let (head, body) = get(&mut conn, "/size/7").await;
        assert_eq!((head.status(), body), (200, expected_body(7)));
        assert_eq!(head.id().as_u64(), 1);
    })
    .await;
}

#[tokio::test]
async fn read_body_fills_large_and_small_buffers() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        for size in [1usize, 1000] {
            conn.send_request("GET", "/size/300000", [("A", "b")], Body::Empty)
                .await
                .unwrap();
            conn.read_response().await.unwrap();
            let mut buf = vec![0u8; size * 64];
            let mut body = Vec::new();
            loop {
                let n = conn.read_body(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n]);
            }
            assert_eq!(body, expected_body(300_000), "buffer of {}", size * 64);
        }
    })
    .await;
}

#[tokio::test]
async fn head_has_no_body_and_keeps_framing() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        // HEAD pipelined between two GETs: its Content-Length must not be
        // read as a body.
        conn.send_request("GET", "/size/10", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.send_request("HEAD", "/size/5000", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.send_request("GET", "/size/20", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let first = conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), expected_body(10));
        let head = conn.read_response().await.unwrap();
        assert_eq!((first.status(), head.status()), (200, 200));
        assert_eq!(header(&head, "content-length"), Some(&b"5000"[..]));
        assert!(conn.read_all().await.unwrap().is_empty());
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), expected_body(20));
    })
    .await;
}

#[tokio::test]
async fn chunked_response_as_a_stream_of_pieces() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("GET", "/chunked/25500", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(header(&head, "transfer-encoding"), Some(&b"chunked"[..]));
        // Through the Stream trait itself.
        let mut stream = conn.body_stream();
        let mut body = Vec::new();
        let mut pieces = 0;
        while let Some(piece) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
        {
            body.extend_from_slice(&piece.unwrap());
            pieces += 1;
        }
        drop(stream);
        assert_eq!(body, expected_body(25_500));
        assert!(pieces >= 2, "{pieces} pieces");
        assert!(!conn.body_pending());
        assert_eq!(conn.trailers().map(|t| t.len()), Some(0));
        // read_chunk and an AsyncRead reader on the next one.
        conn.send_request("GET", "/chunked/3001", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        let mut text = Vec::new();
        conn.body_reader().read_to_end(&mut text).await.unwrap();
        assert_eq!(text, expected_body(3001));
    })
    .await;
}

#[tokio::test]
async fn trailers_arrive_with_te_trailers() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("GET", "/trailers", [("TE", "trailers")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        assert!(conn.trailers().is_none(), "no trailers before the end");
        assert_eq!(conn.read_all().await.unwrap(), b"hello");
        let trailers = conn.trailers().expect("trailers after the end");
        assert_eq!(trailers.get("x-checksum"), Some(&b"1234"[..]));
        assert_eq!(trailers.get("X-Trailer-Two"), Some(&b"yes"[..]));
    })
    .await;
}

/// 100,000 requests pipelined with the sender and the receiver in two
/// tasks; every body is checked.
#[tokio::test]
async fn hundred_thousand_pipelined_requests_in_two_tasks() {
    const COUNT: u64 = 100_000;
    let server = HyperServer::start();
    bounded(async {
        let conn = connect(&server).await;
        let (mut send, mut recv) = conn.split();
        let sender = tokio::spawn(async move {
            for i in 0..COUNT {
                let target = format!("/size/{}", i % 97);
                send.send_request("GET", &target, [("Accept", "*/*")], Body::Empty)
                    .await?;
            }
            Ok::<_, Error>(())
        });
        let mut count = 0u64;
        while let Some(head) = recv.next_response().await.unwrap() {
            assert_eq!(head.id().as_u64(), count);
            assert_eq!(head.status(), 200);
            let body = recv.read_all().await.unwrap();
            assert_eq!(body, expected_body(count % 97), "response #{count}");
            count += 1;
        }
        sender.await.unwrap().unwrap();
        assert_eq!(count, COUNT);
        assert!(recv.is_usable());
    })
    .await;
    assert_eq!(server.requests(), COUNT);
}

/// The halves of one connection reunite into a connection that goes on
/// where they left off, through `Connection::reunite` or the sending
/// half's `reunite`.
#[tokio::test]
async fn reunited_halves_make_one_working_connection_again() {
    let server = HyperServer::start();
    bounded(async {
        let (mut send, recv) = connect(&server).await.split();
        // A request in flight across the reunion.
        send.send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
            .await
            .unwrap();
        let mut conn = Connection::reunite(send, recv).expect("the halves of one connection");
        assert!(conn.response_pending());
        assert_eq!(conn.read_response().await.unwrap().status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), expected_body(5));
        let (head, body) = get(&mut conn, "/size/7").await;
        assert_eq!((head.status(), body), (200, expected_body(7)));
        let (send, recv) = conn.split();
        let mut conn = send.reunite(recv).expect("the halves of one connection");
        let (head, body) = get(&mut conn, "/size/9").await;
        assert_eq!((head.status(), body), (200, expected_body(9)));
        assert!(conn.is_usable());
    })
    .await;
    assert_eq!(server.requests(), 3);
}

/// Halves of two connections do not make one: both come back, unchanged,
/// and still work with their own other halves.
#[tokio::test]
async fn reuniting_halves_of_two_connections_gives_them_back() {
    let server = HyperServer::start();
    bounded(async {
        let (send_a, recv_a) = connect(&server).await.split();
        let (send_b, recv_b) = connect(&server).await.split();
        let Err((mut send_a, mut recv_b)) = Connection::reunite(send_a, recv_b) else {
            panic!("halves of two connections made one");
        };
        let Err((mut send_b, recv_a)) = send_b.reunite(recv_a) else {
            panic!("halves of two connections made one");
        };
        send_a
            .send_request("GET", "/size/3", NO_FIELDS, Body::Empty)
            .await
            .unwrap();
        send_b
            .send_request("GET", "/size/4", NO_FIELDS, Body::Empty)
            .await
            .unwrap();
        assert_eq!(recv_b.read_response().await.unwrap().status(), 200);
        assert_eq!(recv_b.read_all().await.unwrap(), expected_body(4));
        drop(send_b);
        drop(recv_b);
        let mut conn = send_a
            .reunite(recv_a)
            .expect("the halves of one connection");
        assert_eq!(conn.read_response().await.unwrap().status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), expected_body(3));
        let (head, body) = get(&mut conn, "/size/5").await;
        assert_eq!((head.status(), body), (200, expected_body(5)));
    })
    .await;
    assert_eq!(server.requests(), 3);
}

/// Requests queued without writing go out together at the next flush (or
/// the next `send_*` call); a split sender that queues while `has_room`
/// stays within the window.
#[tokio::test]
async fn queued_requests_go_out_at_the_flush_and_within_the_window() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        for i in 0..500u64 {
            let id = conn
                .queue_request(
                    "GET",
                    &format!("/size/{}", i % 7),
                    [("A", "b")],
                    Body::Empty,
                )
                .unwrap();
            assert_eq!(id.as_u64(), i);
        }
        conn.flush().await.unwrap();
        // Queued, then written by the next send_request.
        conn.queue_request("GET", "/size/3", [("A", "b")], Body::Empty)
            .unwrap();
        conn.send_request("GET", "/size/4", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        for i in 0..502u64 {
            let head = conn.read_response().await.unwrap();
            assert_eq!(head.id().as_u64(), i);
            let expected = match i {
                500 => 3,
                501 => 4,
                _ => i % 7,
            };
            assert_eq!(conn.read_all().await.unwrap(), expected_body(expected));
        }

        let conn = connect(&server).await;
        let (mut send, mut recv) = conn.split();
        const COUNT: u64 = 20_000;
        let sender = tokio::spawn(async move {
            let mut queued = 0u64;
            for i in 0..COUNT {
                let target = format!("/size/{}", i % 13);
                if send.has_room() {
                    send.queue_request("GET", &target, [("A", "b")], Body::Empty)?;
                    queued += 1;
                } else {
                    send.flush().await?;
                    send.send_request("GET", &target, [("A", "b")], Body::Empty)
                        .await?;
                }
            }
            send.flush().await?;
            Ok::<_, Error>(queued)
        });
        for i in 0..COUNT {
            let head = recv.read_response().await.unwrap();
            assert_eq!(head.id().as_u64(), i);
            assert_eq!(recv.read_all().await.unwrap(), expected_body(i % 13));
        }
        // Both ways were taken.
        let queued = sender.await.unwrap().unwrap();
        assert!(queued < COUNT, "the window never filled");
    })
    .await;
}

/// One task sends thousands of requests before reading a single response:
/// the connection reads responses while its writes are blocked.
#[tokio::test]
async fn one_task_sends_thousands_before_reading() {
    const COUNT: u64 = 3000;
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let padding = "x".repeat(2000);
        for i in 0..COUNT {
            let target = format!("/size/{}?{padding}", 4000 + i % 7);
            conn.send_request("GET", &target, [("Accept", "*/*")], Body::Empty)
                .await
                .unwrap();
        }
        for i in 0..COUNT {
            let head = conn.read_response().await.unwrap();
            assert_eq!(head.id().as_u64(), i);
            assert_eq!(conn.read_all().await.unwrap(), expected_body(4000 + i % 7));
        }
    })
    .await;
}

/// With a small `max_buffered`, a caller that never reads gets an error
/// instead of unbounded buffering.
#[tokio::test]
async fn receive_buffer_limit_while_writing() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .max_buffered(256 * 1024)
            .timeout(Duration::from_secs(20))
            .no_trace()
            .connect()
            .await
            .unwrap();
        let padding = "x".repeat(4000);
        let mut error = None;
        for _ in 0..20_000 {
            let target = format!("/size/100000?{padding}");
            if let Err(e) = conn
                .send_request("GET", &target, [("A", "b")], Body::Empty)
                .await
            {
                error = Some(e);
                break;
            }
        }
        let error = error.expect("the buffer limit was reached");
        assert!(
            matches!(error, Error::ReceiveBufferFull { limit: 262_144 }),
            "{error:?}"
        );
        assert_eq!(error.kind(), ErrorKind::TooLarge);
        assert!(!conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn pipeline_stream_yields_every_response_in_order() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let requests = (0..2000u64).map(|i| {
            if i % 10 == 9 {
                Request::new("POST", "/echo").body(format!("posted {i}"))
            } else {
                Request::get(format!("/size/{}", i % 300)).header("Accept", "*/*")
            }
        });
        let mut responses = conn.pipeline(requests, 50);
        let mut i = 0u64;
        while let Some(response) = responses.next().await {
            let response: FullResponse = response.unwrap();
            assert_eq!(response.head().id().as_u64(), i);
            assert_eq!(response.head().status(), 200);
            if i % 10 == 9 {
                assert_eq!(response.body(), &Bytes::from(format!("posted {i}")));
            } else {
                assert_eq!(response.body().as_ref(), expected_body(i % 300).as_slice());
            }
            i += 1;
        }
        assert_eq!(i, 2000);
        // Through the Stream trait, depth 1 (one at a time).
        let mut responses = conn.pipeline((0..5).map(|_| Request::get("/trailers")), 1);
        let mut n = 0;
        while let Some(response) =
            std::future::poll_fn(|cx| Pin::new(&mut responses).poll_next(cx)).await
        {
            assert_eq!(response.unwrap().body().as_ref(), b"hello");
            n += 1;
        }
        assert_eq!(n, 5);
        assert!(conn.is_usable());
    })
    .await;
}

/// Bodies that arrive in many pieces (large ones of known length, chunked
/// ones of unknown length) come out of the pipeline whole, and a body in
/// one piece next to them is still right.
#[tokio::test]
async fn pipeline_joins_bodies_that_arrive_in_many_pieces() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let sizes = [1_000_000u64, 5, 300_000, 0, 2_000_000, 77];
        let requests = sizes.iter().enumerate().map(|(i, n)| {
            let kind = if i % 2 == 0 { "size" } else { "chunked" };
            Request::get(format!("/{kind}/{n}"))
        });
        let mut responses = conn.pipeline(requests, 4);
        let mut i = 0;
        while let Some(response) = responses.next().await {
            let response = response.unwrap();
            let n = sizes[i];
            assert_eq!(response.body().len() as u64, n, "#{i}");
            assert_eq!(
                response.body().as_ref(),
                expected_body(n).as_slice(),
                "#{i}"
            );
            i += 1;
        }
        assert_eq!(i, sizes.len());
        assert!(conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn continue_accepted_by_echo() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let data = expected_body(50_000);
        let id = conn
            .send_request(
                "PUT",
                "/echo",
                [("Expect", "100-continue")],
                Body::Sized(data.len() as u64),
            )
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!((head.status(), head.id()), (100, id));
        conn.write_body(&data[..20_000]).await.unwrap();
        conn.send_body(Bytes::copy_from_slice(&data[20_000..]))
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "x-received-length"), Some(&b"50000"[..]));
        assert_eq!(conn.read_all().await.unwrap(), data);

        // A whole body waits for the 100, then goes out by itself.
        let id = conn
            .send_request(
                "POST",
                "/echo",
                [("Expect", "100-continue")],
                Body::Full(Bytes::from_static(b"whole body")),
            )
            .await
            .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!((head.status(), head.id()), (100, id));
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), b"whole body");
        assert!(conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn continue_refused_by_reject() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request(
            "PUT",
            "/reject",
            [("Expect", "100-continue")],
            Body::Sized(1_000_000),
        )
        .await
        .unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.status(), 417);
        assert_eq!(conn.read_all().await.unwrap(), b"rejected");
        // The body is refused and never sent; the connection cannot carry
        // another request.
        let error = conn.write_body(b"never sent").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
        assert!(!conn.is_usable());
        let error = conn
            .send_request("GET", "/size/1", [("A", "b")], Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage, "{error}");
    })
    .await;
    // Only the head reached the server; it answered without the body.
    assert_eq!(server.requests(), 1);
}

/// The split halves with `Expect: 100-continue`: the sender waits for the
/// receiver to see the 100.
#[tokio::test]
async fn continue_with_split_halves() {
    let server = HyperServer::start();
    bounded(async {
        let (mut send, mut recv) = connect(&server).await.split();
        // Its own task: only the receiving half's wakeup releases its body.
        let sender = tokio::spawn(async move {
            send.send_request(
                "PUT",
                "/echo",
                [("Expect", "100-continue")],
                Body::Full(Bytes::from_static(b"held until 100")),
            )
            .await?;
            send.send_request("PUT", "/echo", [("Expect", "100-continue")], Body::Sized(5))
                .await?;
            send.write_body(b"later").await?;
            send.send_request(
                "PUT",
                "/reject",
                [("Expect", "100-continue")],
                Body::Sized(5),
            )
            .await?;
            let refused = send.write_body(b"never").await.unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::Usage);
            drop(send);
            Ok::<_, Error>(())
        });
        let mut seen = Vec::new();
        while let Some(head) = recv.next_response().await.unwrap() {
            let body = recv.read_all().await.unwrap();
            seen.push((head.status(), body));
        }
        sender.await.unwrap().unwrap();
        let expected: Vec<(u16, Vec<u8>)> = vec![
            (100, vec![]),
            (200, b"held until 100".to_vec()),
            (100, vec![]),
            (200, b"later".to_vec()),
            (417, b"rejected".to_vec()),
        ];
        assert_eq!(seen, expected);
    })
    .await;
}

#[tokio::test]
async fn upload_of_known_length() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let data = expected_body(1_000_000);
        conn.send_request("POST", "/echo", [("A", "b")], Body::Sized(1_000_000))
            .await
            .unwrap();
        for piece in data.chunks(300_000) {
            conn.write_body(piece).await.unwrap();
        }
        let excess = conn.write_body(b"x").await.unwrap_err();
        assert_eq!(excess.kind(), ErrorKind::Usage);
        let head = conn.read_response().await.unwrap();
        assert_eq!(header(&head, "x-received-length"), Some(&b"1000000"[..]));
        assert_eq!(conn.read_all().await.unwrap(), data);

        // A whole body, and the AsyncWrite writer.
        conn.send_request(
            "PUT",
            "/echo",
            [("A", "b")],
            Body::Full(data.clone().into()),
        )
        .await
        .unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), data);
        conn.send_request("PUT", "/echo", [("A", "b")], Body::Sized(12))
            .await
            .unwrap();
        let mut writer = conn.body_writer();
        writer.write_all(b"hello ").await.unwrap();
        writer.write_all(b"world!").await.unwrap();
        writer.shutdown().await.unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), b"hello world!");
    })
    .await;
}

#[tokio::test]
async fn upload_of_unknown_length() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("POST", "/echo", [("A", "b")], Body::Chunked)
            .await
            .unwrap();
        let data = expected_body(200_001);
        for piece in data.chunks(65_536) {
            conn.send_body(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        conn.finish_with_trailers([("X-Sum", "42")]).await.unwrap();
        let head = conn.read_response().await.unwrap();
        assert_eq!(header(&head, "x-received-length"), Some(&b"200001"[..]));
        assert_eq!(conn.read_all().await.unwrap(), data);

        // The writer's shutdown ends the chunked body.
        conn.send_request("PUT", "/echo", [("A", "b")], Body::Chunked)
            .await
            .unwrap();
        let mut writer = conn.body_writer();
        for _ in 0..100 {
            writer.write_all(b"0123456789").await.unwrap();
        }
        writer.shutdown().await.unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), b"0123456789".repeat(100));
        assert!(conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn connection_close_mid_pipeline_names_the_requests_not_processed() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let mut ids = Vec::new();
        for target in ["/size/3", "/close", "/size/4", "/size/5"] {
            ids.push(
                conn.send_request("GET", target, [("A", "b")], Body::Empty)
                    .await
                    .unwrap(),
            );
        }
        let head = conn.read_response().await.unwrap();
        assert_eq!(
            (head.id(), conn.read_all().await.unwrap()),
            (ids[0], expected_body(3))
        );
        let head = conn.read_response().await.unwrap();
        assert_eq!(header(&head, "connection"), Some(&b"close"[..]));
        assert_eq!(conn.read_all().await.unwrap(), b"closing");
        let error = conn.read_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert!(error.is_temporary());
        let closed = error.closed().expect("a closed connection");
        assert_eq!(closed.not_processed().collect::<Vec<_>>(), ids[2..]);
        assert_eq!(closed.maybe_processed().count(), 0);
        assert!(!conn.is_usable());
        // The error is repeated.
        assert_eq!(
            conn.read_response().await.unwrap_err().kind(),
            ErrorKind::Closed
        );
        // reconnect gives a fresh connection.
        conn.reconnect().await.unwrap();
        let (head, body) = get(&mut conn, "/size/4").await;
        assert_eq!((head.id().as_u64(), body), (0, expected_body(4)));
    })
    .await;
}

/// A body reader dropped mid-body: the rest is drained by the next
/// `read_response`, and the connection stays usable.
#[tokio::test]
async fn dropped_body_reader_is_drained_on_next_use() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        for target in ["/size/2000000", "/chunked/500000", "/size/10"] {
            conn.send_request("GET", target, [("A", "b")], Body::Empty)
                .await
                .unwrap();
        }
        conn.read_response().await.unwrap();
        {
            let mut reader = conn.body_reader();
            let mut start = vec![0u8; 1000];
            reader.read_exact(&mut start).await.unwrap();
            assert_eq!(start, expected_body(1000));
        }
        assert!(conn.body_pending());
        conn.read_response().await.unwrap();
        {
            let mut stream = conn.body_stream();
            stream.next().await.unwrap().unwrap();
        }
        assert!(conn.body_pending());
        let head = conn.read_response().await.unwrap();
        assert_eq!(head.id().as_u64(), 2);
        assert_eq!(conn.read_all().await.unwrap(), expected_body(10));
        assert!(conn.is_usable());

        // Reading on with read_body after dropping a reader also works,
        // and partial reads without a reader are the caller's to finish.
        conn.send_request("GET", "/size/5000", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        let mut first = [0u8; 100];
        conn.body_reader().read_exact(&mut first).await.unwrap();
        let rest = conn.read_all().await.unwrap();
        assert_eq!([&first[..], &rest].concat(), expected_body(5000));
        conn.send_request("GET", "/size/5000", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.send_request("GET", "/size/6", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        let mut some = [0u8; 10];
        conn.read_body(&mut some).await.unwrap();
        let error = conn.read_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        conn.discard().await.unwrap();
        conn.read_response().await.unwrap();
        assert_eq!(conn.read_all().await.unwrap(), expected_body(6));
    })
    .await;
}

/// The last body dropped mid-way: the next `read_response` drains it, then
/// finds no response pending (it does not wait for one), and a split
/// receiving half ends its loop.
#[tokio::test]
async fn dropped_last_body_is_drained_then_nothing_is_pending() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("GET", "/size/100000", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        conn.read_response().await.unwrap();
        {
            let mut start = [0u8; 10];
            conn.body_reader().read_exact(&mut start).await.unwrap();
        }
        // At once: nothing is owed, so nothing is waited for (any wakeup
        // would end a wait, the timeout's too: look at the clock).
        let (soon, bound) = (Duration::from_secs(1), Duration::from_secs(5));
        let started = tokio::time::Instant::now();
        let error = tokio::time::timeout(bound, conn.read_response())
            .await
            .expect("no wait")
            .unwrap_err();
        assert!(started.elapsed() < soon, "waited {:?}", started.elapsed());
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(!conn.body_pending());
        assert!(conn.is_usable());

        conn.send_request("GET", "/chunked/100000", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let (send, mut recv) = conn.split();
        recv.read_response().await.unwrap();
        {
            let mut stream = recv.body_stream();
            stream.next().await.unwrap().unwrap();
        }
        drop(send);
        let started = tokio::time::Instant::now();
        let next = tokio::time::timeout(bound, recv.next_response()).await;
        assert!(next.expect("no wait").unwrap().is_none());
        assert!(started.elapsed() < soon, "waited {:?}", started.elapsed());
        assert!(!recv.body_pending());
    })
    .await;
}

/// Reads are cancel-safe: a `read_response` dropped by `select!` loses
/// nothing.
#[tokio::test]
async fn cancelled_reads_lose_nothing() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("GET", "/slow/300", [("A", "b")], Body::Empty)
            .await
            .unwrap();
        let mut cancelled = 0;
        let head = loop {
            tokio::select! {
                head = conn.read_response() => break head.unwrap(),
                _ = tokio::time::sleep(Duration::from_millis(20)) => cancelled += 1,
            }
        };
        assert!(cancelled >= 5, "{cancelled}");
        assert_eq!(head.status(), 200);
        assert_eq!(conn.read_all().await.unwrap(), b"slow");
        assert!(conn.is_usable());
    })
    .await;
}

#[tokio::test]
async fn usage_errors_leave_the_connection_alone() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let error = conn.read_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        let error = conn
            .send_request("GET", "/a b", [("A", "b")], Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        let error = conn.finish().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(conn.is_usable());
        let (head, _) = get(&mut conn, "/status/204").await;
        assert_eq!(head.status(), 204);
        conn.disconnect().await;
        let error = conn
            .send_request("GET", "/", [("A", "b")], Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(!conn.is_usable());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_sender_keeps_at_most_max_in_flight_requests_out() {
    let server = HyperServer::start();
    bounded(async {
        let conn = Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(20))
            .max_in_flight(8)
            .no_trace()
            .connect()
            .await
            .unwrap();
        let (mut send, mut recv) = conn.split();
        let n = 5_000u64;
        let sender = tokio::spawn(async move {
            for _ in 0..n {
                send.send_request("GET", "/size/20", [("A", "b")], Body::Empty)
                    .await
                    .unwrap();
            }
            send
        });
        let mut most = 0;
        for _ in 0..n {
            most = most.max(recv.in_flight());
            recv.read_response().await.unwrap();
            assert_eq!(recv.read_all().await.unwrap(), expected_body(20));
        }
        sender.await.unwrap();
        assert!(most <= 8, "{most} requests were in flight");
        assert!(most > 1, "the sender did pipeline");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_sender_caps_the_response_bytes_in_flight() {
    // As the blocking test: 16 requests before any size is known, then
    // 1 MiB / 256 KiB = 4.
    let server = HyperServer::start();
    bounded(async {
        let size = 256 * 1024;
        let conn = Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(20))
            .max_in_flight(64)
            .max_in_flight_bytes(1024 * 1024)
            .no_trace()
            .connect()
            .await
            .unwrap();
        let (mut send, mut recv) = conn.split();
        let n = 40u64;
        let target = format!("/size/{size}");
        let sender = tokio::spawn(async move {
            for _ in 0..n {
                send.send_request("GET", &target, [("A", "b")], Body::Empty)
                    .await
                    .unwrap();
            }
            send
        });
        let (mut most_at_first, mut most_later) = (0, 0);
        for i in 0..n {
            let in_flight = recv.in_flight();
            if i == 0 {
                most_at_first = in_flight;
            } else if i >= 16 {
                most_later = most_later.max(in_flight);
            }
            recv.read_response().await.unwrap();
            assert_eq!(recv.read_all().await.unwrap().len(), size);
        }
        sender.await.unwrap();
        assert!(
            most_at_first <= 16,
            "{most_at_first} requests in the first round"
        );
        assert!(most_later <= 4, "{most_later} requests were in flight");
        assert!(most_later > 1, "the sender did pipeline");
    })
    .await;
}

#[tokio::test]
async fn http_crate_requests_in_and_response_heads_out() {
    use dugong_tokio::http_interop::into_response;

    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        let request = http::Request::put(server.url("/echo"))
            .header("x-one", "1")
            .body(Bytes::from_static(b"put body"))
            .unwrap();
        conn.send_http(request).await.unwrap();
        let head = conn.read_response().await.unwrap();
        let body = conn.read_all().await.unwrap();
        let response = into_response(&head, body).unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()["x-received-length"], "8");
        assert_eq!(response.body(), b"put body");
    })
    .await;
}

/// The error of a body over the `read_all` limit: kind "too large", a
/// message that names the limit in bytes.
fn assert_too_large(error: &Error, limit: usize) {
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    let text = error.to_string();
    assert!(text.starts_with("response too large: "), "{text}");
    assert!(text.contains(&format!("{limit} bytes")), "{text}");
}

async fn connect_with_limit(server: &HyperServer, limit: usize) -> Connection {
    Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(20))
        .max_read_all(limit)
        .no_trace()
        .connect()
        .await
        .expect("connect to the hyper server")
}

/// `read_all` is bounded by `Builder::max_read_all`: a body of exactly the
/// limit is read, one byte more fails (for a `Content-Length` body and a
/// chunked one) and breaks the connection: nothing of the body is handed
/// out, and every later call repeats the error.
#[tokio::test]
async fn read_all_is_bounded_by_max_read_all() {
    let server = HyperServer::start();
    bounded(async {
        let limit = 3000;
        for route in ["size", "chunked"] {
            let mut conn = connect_with_limit(&server, limit).await;
            let (head, body) = get(&mut conn, &format!("/{route}/{limit}")).await;
            assert_eq!((head.status(), body), (200, expected_body(3000)));
            // Streaming readers are not bounded.
            conn.send_request("GET", &format!("/{route}/10000"), NO_FIELDS, Body::Empty)
                .await
                .unwrap();
            conn.read_response().await.unwrap();
            let mut streamed = Vec::new();
            conn.body_reader().read_to_end(&mut streamed).await.unwrap();
            assert_eq!(streamed, expected_body(10000), "{route}");
            assert!(conn.is_usable());
            conn.send_request("GET", &format!("/{route}/3001"), NO_FIELDS, Body::Empty)
                .await
                .unwrap();
            assert_eq!(conn.read_response().await.unwrap().status(), 200);
            assert_too_large(&conn.read_all().await.unwrap_err(), limit);
            assert!(!conn.is_usable());
            assert_too_large(&conn.error().expect("broken"), limit);
            assert_too_large(&conn.read_chunk().await.unwrap_err(), limit);
            assert_too_large(&conn.read_body(&mut [0; 100]).await.unwrap_err(), limit);
            assert_too_large(&conn.read_all().await.unwrap_err(), limit);
            assert_too_large(&conn.read_response().await.unwrap_err(), limit);
            let again = conn
                .send_request("GET", "/size/1", NO_FIELDS, Body::Empty)
                .await;
            assert_too_large(&again.unwrap_err(), limit);
        }
    })
    .await;
}

/// The receiving half of a split connection, and the `pipeline` stream
/// (which holds whole bodies), are bounded the same way.
#[tokio::test]
async fn split_and_pipeline_bodies_are_bounded_by_max_read_all() {
    let server = HyperServer::start();
    bounded(async {
        let limit = 3000;
        for route in ["size", "chunked"] {
            let (mut send, mut recv) = connect_with_limit(&server, limit).await.split();
            for size in [3000, 3001] {
                send.send_request("GET", &format!("/{route}/{size}"), NO_FIELDS, Body::Empty)
                    .await
                    .unwrap();
            }
            recv.read_response().await.unwrap();
            assert_eq!(recv.read_all().await.unwrap(), expected_body(3000));
            recv.read_response().await.unwrap();
            assert_too_large(&recv.read_all().await.unwrap_err(), limit);
            assert!(!recv.is_usable());
            assert_too_large(&recv.read_chunk().await.unwrap_err(), limit);
            let again = send
                .send_request("GET", "/size/1", NO_FIELDS, Body::Empty)
                .await;
            assert_too_large(&again.unwrap_err(), limit);

            let mut conn = connect_with_limit(&server, limit).await;
            let requests = [3000, 3001, 5].map(|n| Request::get(format!("/{route}/{n}")));
            let mut responses = conn.pipeline(requests, 3);
            let first = responses.next().await.unwrap().unwrap();
            assert_eq!(first.body().as_ref(), expected_body(3000).as_slice());
            let second = responses.next().await.unwrap().unwrap_err();
            assert_too_large(&second, limit);
            assert!(responses.next().await.is_none());
            drop(responses);
            assert!(!conn.is_usable());
            assert_too_large(&conn.read_response().await.unwrap_err(), limit);
        }
    })
    .await;
}

/// `close` with responses pending is a usage error that leaves the
/// connection alone; once they are read, it closes cleanly, and a second
/// `close` does nothing.
#[tokio::test]
async fn close_after_the_last_response() {
    let server = HyperServer::start();
    bounded(async {
        let mut conn = connect(&server).await;
        conn.send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
            .await
            .unwrap();
        let early = conn.close().await.unwrap_err();
        assert_eq!(early.kind(), ErrorKind::Usage, "{early}");
        assert!(conn.is_usable());
        conn.read_response().await.unwrap();
        let early = conn.close().await.unwrap_err();
        assert_eq!(early.kind(), ErrorKind::Usage, "{early}");
        assert_eq!(conn.read_all().await.unwrap(), expected_body(5));
        conn.close().await.unwrap();
        assert!(!conn.is_usable());
        conn.close().await.unwrap();
        let after = conn
            .send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
            .await
            .unwrap_err();
        assert_eq!(after.kind(), ErrorKind::Usage, "{after}");
        // A closed connection can be opened again.
        conn.reconnect().await.unwrap();
        let (head, body) = get(&mut conn, "/size/3").await;
        assert_eq!((head.status(), body), (200, expected_body(3)));
        conn.close().await.unwrap();
    })
    .await;
}
