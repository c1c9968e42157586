//! dugong-blocking against hyper's server on loopback: every request and
//! body kind, pipelining, 100-continue, `Connection: close` mid-pipeline.

use std::io::{Read, Write};
use std::time::Duration;

use dugong_blocking::dugong_proto::Fate;
use dugong_blocking::{Body, Builder, Bytes, Connection, ErrorKind};
use dugong_tests::{expected_body, HyperServer};

const NO_FIELDS: [(&str, &str); 0] = [];

fn connect(server: &HyperServer) -> Connection {
    Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(10))
        .no_trace()
        .connect()
        .expect("connect to hyper")
}

fn get(conn: &mut Connection, path: &str) -> (u16, Vec<u8>) {
    conn.send_request("GET", path, NO_FIELDS, Body::Empty)
        .unwrap();
    let head = conn.read_response().unwrap();
    (head.status(), conn.read_all().unwrap())
}

#[test]
fn get_sized_and_chunked_bodies() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    for n in [0, 1, 100, 70_000, 1_000_000] {
        assert_eq!(
            get(&mut conn, &format!("/size/{n}")),
            (200, expected_body(n)),
            "size {n}"
        );
        assert_eq!(
            get(&mut conn, &format!("/chunked/{n}")),
            (200, expected_body(n)),
            "chunked {n}"
        );
    }
    assert_eq!(get(&mut conn, "/nowhere").0, 404);
    assert!(conn.is_usable());
    assert_eq!(server.requests(), 11);
}

#[test]
fn host_header_is_added() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let (status, body) = get(&mut conn, "/headers");
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let expect = format!("host: 127.0.0.1:{}\n", server.addr().port());
    assert!(text.contains(&expect), "{text}");
}

#[test]
fn head_and_bodiless_statuses_between_gets() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("HEAD", "/size/500", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/status/204", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/status/304", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers().get("content-length"), Some(&b"500"[..]));
    assert_eq!(conn.read_all().unwrap(), b"");
    for status in [204, 304] {
        assert_eq!(conn.read_response().unwrap().status(), status);
        assert_eq!(conn.read_all().unwrap(), b"");
    }
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), expected_body(5));
    assert!(!conn.response_pending());
}

#[test]
fn trailers_are_delivered() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("GET", "/trailers", [("TE", "trailers")], Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert!(
        conn.trailers().is_none(),
        "no trailers before the body ends"
    );
    assert_eq!(conn.read_all().unwrap(), b"hello");
    let trailers = conn.trailers().expect("trailers after the body");
    assert_eq!(trailers.get("X-Checksum"), Some(&b"1234"[..]));
    assert_eq!(trailers.get("x-trailer-two"), Some(&b"yes"[..]));
}

#[test]
fn read_body_into_a_large_buffer_reads_directly_and_exactly() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let n = 3_000_000;
    conn.send_request("GET", &format!("/size/{n}"), NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/size/7", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.read_response().unwrap();
    let mut body = Vec::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let got = conn.read_body(&mut buf).unwrap();
        if got == 0 {
            break;
        }
        body.extend_from_slice(&buf[..got]);
    }
    assert_eq!(body.len(), n as usize);
    assert!(body == expected_body(n), "body bytes differ");
    // The direct reads stopped exactly at the body's end.
    conn.read_response().unwrap();
    let mut small = String::new();
    conn.body_reader().read_to_string(&mut small).unwrap();
    assert_eq!(small.as_bytes(), expected_body(7));
}

#[test]
fn ten_thousand_pipelined_requests() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let n = 10_000;
    for i in 0..n {
        conn.send_request("GET", &format!("/size/{}", i % 50), NO_FIELDS, Body::Empty)
            .unwrap();
    }
    for i in 0..n {
        let head = conn.read_response().unwrap();
        assert_eq!(head.id().as_u64(), i);
        assert_eq!(
            conn.read_all().unwrap(),
            expected_body(i % 50),
            "response {i}"
        );
    }
    assert!(!conn.response_pending());
    assert_eq!(server.requests(), n);
}

#[test]
fn one_thread_sends_100_000_requests_before_reading_without_deadlock() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let n = 100_000;
    for _ in 0..n {
        conn.send_request("GET", "/size/10", NO_FIELDS, Body::Empty)
            .unwrap();
    }
    let mut seen = 0;
    while conn.response_pending() {
        assert_eq!(conn.read_response().unwrap().status(), 200);
        assert_eq!(conn.read_all().unwrap(), expected_body(10));
        seen += 1;
    }
    assert_eq!(seen, n);
}

#[test]
fn buffering_while_blocked_is_bounded() {
    let server = HyperServer::start();
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(10))
        .max_buffered(64 * 1024)
        .no_trace()
        .connect()
        .unwrap();
    let error = (0..200_000)
        .find_map(|_| {
            conn.send_request("GET", "/size/1000", NO_FIELDS, Body::Empty)
                .err()
        })
        .expect("the bound is reached");
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    assert!(matches!(
        error,
        dugong_blocking::Error::ReceiveBufferFull { limit: 65536 }
    ));
    // The connection refuses further use.
    assert!(conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .is_err());
    assert!(conn.read_response().is_err());
}

#[test]
fn expect_continue_accepted_sends_the_body_after_100() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let body = b"the body".repeat(1000);
    conn.send_request(
        "PUT",
        "/echo",
        [("Expect", "100-continue")],
        Body::Sized(body.len() as u64),
    )
    .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 100);
    conn.body_writer().write_all(&body).unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(conn.read_all().unwrap(), body);
    assert!(conn.is_usable());
    assert_eq!(get(&mut conn, "/size/3"), (200, expected_body(3)));
}

#[test]
fn expect_continue_with_a_whole_body_goes_out_on_100() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let body = Bytes::from_static(b"whole body");
    conn.send_request(
        "POST",
        "/echo",
        [("Expect", "100-continue")],
        Body::Full(body),
    )
    .unwrap();
    // The whole body is released by the 100 without the caller's help.
    assert_eq!(conn.read_response().unwrap().status(), 100);
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"whole body");
}

#[test]
fn expect_continue_refused_body_is_never_sent() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request(
        "PUT",
        "/reject",
        [("Expect", "100-continue")],
        Body::Sized(5),
    )
    .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 417);
    assert_eq!(conn.read_all().unwrap(), b"rejected");
    let e = conn.write_body(b"hello").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(
        !conn.is_usable(),
        "the cancelled body leaves the connection closing"
    );
    assert!(conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .is_err());
}

#[test]
fn expect_continue_with_a_chunked_body_and_a_short_delay() {
    // hyper answers 100 only once the service reads the body, which /echo
    // does; with a 1 ms delay the 100 read first is hyper's or the one made
    // up when the delay passed. Either way the chunked body goes out and is
    // echoed. (A server that stays silent is in blocking_script.rs.)
    let server = HyperServer::start();
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(10))
        .continue_delay(Duration::from_millis(1))
        .no_trace()
        .connect()
        .unwrap();
    conn.send_request("PUT", "/echo", [("Expect", "100-continue")], Body::Chunked)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 100);
    conn.write_body(b"abc").unwrap();
    conn.write_body(b"def").unwrap();
    conn.finish().unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(conn.read_all().unwrap(), b"abcdef");
}

#[test]
fn uploads_of_known_and_unknown_length() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    conn.send_request("POST", "/echo", NO_FIELDS, Body::Sized(data.len() as u64))
        .unwrap();
    for piece in data.chunks(100_000) {
        conn.send_body(Bytes::copy_from_slice(piece)).unwrap();
    }
    conn.read_response().unwrap();
    assert!(conn.read_all().unwrap() == data);

    conn.send_request("POST", "/echo", NO_FIELDS, Body::Chunked)
        .unwrap();
    let mut writer = conn.body_writer();
    for piece in data.chunks(65_536) {
        writer.write_all(piece).unwrap();
    }
    conn.finish_with_trailers([("X-Done", "1")]).unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(
        head.headers().get("x-received-length"),
        Some(data.len().to_string().as_bytes())
    );
    assert!(conn.read_all().unwrap() == data);
}

#[test]
fn body_length_rules() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("POST", "/echo", NO_FIELDS, Body::Sized(3))
        .unwrap();
    let e = conn.write_body(b"four").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    // Too little: the next request is refused until the body is complete.
    conn.write_body(b"ab").unwrap();
    let e = conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    conn.write_body(b"c").unwrap();
    let e = conn.finish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "finish is for chunked bodies");
    conn.read_response().unwrap();
    assert_eq!(conn.read_all().unwrap(), b"abc");
    assert!(conn.is_usable());
}

#[test]
fn reading_the_next_head_before_the_body_is_a_usage_error() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("GET", "/size/10", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/size/20", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.read_response().unwrap();
    let e = conn.read_response().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    conn.discard().unwrap();
    conn.read_response().unwrap();
    assert_eq!(conn.read_all().unwrap(), expected_body(20));
    let e = conn.read_response().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "nothing pending");
    assert!(conn.is_usable(), "usage errors do not break the connection");
}

#[test]
fn connection_close_mid_pipeline_names_the_requests_not_processed() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("GET", "/size/2", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.send_request("GET", "/close", NO_FIELDS, Body::Empty)
        .unwrap();
    let later: Vec<_> = (0..3)
        .map(|_| {
            conn.send_request("GET", "/size/1", NO_FIELDS, Body::Empty)
                .unwrap()
        })
        .collect();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    conn.discard().unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status(), 200);
    conn.read_all().unwrap();
    let e = conn.read_response().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    assert!(e.is_temporary());
    let closed = e.closed().expect("closed details");
    let ids: Vec<_> = closed.unanswered().iter().map(|u| u.id).collect();
    assert_eq!(ids, later);
    assert!(closed
        .unanswered()
        .iter()
        .all(|u| u.fate == Fate::NotProcessed));
    assert_eq!(closed.not_processed().count(), 3);
    assert!(!conn.is_usable());
    // Reconnecting gives a fresh connection.
    conn.reconnect().unwrap();
    assert_eq!(get(&mut conn, "/size/4"), (200, expected_body(4)));
}

#[test]
fn disconnect_refuses_further_use() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    assert_eq!(get(&mut conn, "/size/1").0, 200);
    conn.disconnect();
    let e = conn
        .send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(conn.read_response().is_err());
}

#[test]
fn informational_responses_are_kept() {
    // hyper cannot send 103, so a scripted peer does.
    use dugong_tests::{ScriptServer, Step};
    let script = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                .to_vec(),
        ),
        Step::Close,
    ]);
    let mut conn = Connection::connect("127.0.0.1", script.addr().port()).unwrap();
    conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.informational().len(), 1);
    assert_eq!(conn.informational()[0].status(), 103);
    assert_eq!(conn.read_all().unwrap(), b"ok");
}

#[test]
fn split_halves_send_and_receive_from_two_threads() {
    let server = HyperServer::start();
    let conn = connect(&server);
    let (mut send, mut recv) = conn.split().expect("TCP connections split");
    let n = 20_000u64;
    let sender = std::thread::spawn(move || {
        for i in 0..n {
            send.send_request("GET", &format!("/size/{}", i % 40), NO_FIELDS, Body::Empty)
                .unwrap();
        }
        // A streamed upload from the sending thread too.
        send.send_request("POST", "/echo", NO_FIELDS, Body::Chunked)
            .unwrap();
        for _ in 0..100 {
            send.write_body(&[b'z'; 10_000]).unwrap();
        }
        send.finish().unwrap();
        send
    });
    for i in 0..n {
        let head = recv.read_response().unwrap();
        assert_eq!(head.id().as_u64(), i);
        assert_eq!(recv.read_all().unwrap(), expected_body(i % 40));
    }
    assert_eq!(recv.read_response().unwrap().status(), 200);
    let mut echoed = Vec::new();
    recv.body_reader().read_to_end(&mut echoed).unwrap();
    assert_eq!(echoed, vec![b'z'; 1_000_000]);
    let send = sender.join().unwrap();
    let mut conn = Connection::reunite(send, recv).expect("the halves of one connection");
    assert_eq!(get(&mut conn, "/size/3"), (200, expected_body(3)));
}

#[test]
fn reunited_halves_make_one_working_connection_again() {
    let server = HyperServer::start();
    let (mut send, recv) = connect(&server).split().unwrap();
    // A request in flight across the reunion.
    send.send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
        .unwrap();
    let mut conn = Connection::reunite(send, recv).expect("the halves of one connection");
    assert!(conn.response_pending());
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), expected_body(5));
    assert_eq!(get(&mut conn, "/size/7"), (200, expected_body(7)));
    // The same through the sending half's method.
    let (send, recv) = conn.split().unwrap();
    let mut conn = send.reunite(recv).expect("the halves of one connection");
    assert_eq!(get(&mut conn, "/size/9"), (200, expected_body(9)));
    assert!(conn.is_usable());
    assert_eq!(server.requests(), 3);
}

#[test]
fn reuniting_halves_of_two_connections_gives_them_back() {
    let server = HyperServer::start();
    let (send_a, recv_a) = connect(&server).split().unwrap();
    let (send_b, recv_b) = connect(&server).split().unwrap();
    let Err((mut send_a, mut recv_b)) = Connection::reunite(send_a, recv_b) else {
        panic!("halves of two connections made one");
    };
    let Err((mut send_b, recv_a)) = send_b.reunite(recv_a) else {
        panic!("halves of two connections made one");
    };
    // Given back unchanged: each still works with its own other half.
    send_a
        .send_request("GET", "/size/3", NO_FIELDS, Body::Empty)
        .unwrap();
    send_b
        .send_request("GET", "/size/4", NO_FIELDS, Body::Empty)
        .unwrap();
    assert_eq!(recv_b.read_response().unwrap().status(), 200);
    assert_eq!(recv_b.read_all().unwrap(), expected_body(4));
    drop(send_b);
    drop(recv_b);
    let mut conn = send_a
        .reunite(recv_a)
        .expect("the halves of one connection");
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), expected_body(3));
    assert_eq!(get(&mut conn, "/size/5"), (200, expected_body(5)));
    assert_eq!(server.requests(), 3);
}

/// `SendHalf::unsplit` is deprecated for `reunite` but works as documented:
/// it joins the halves of one connection and panics for two.
#[test]
#[allow(deprecated)]
fn the_deprecated_unsplit_still_joins_the_halves() {
    let server = HyperServer::start();
    let (send, recv) = connect(&server).split().unwrap();
    let mut conn = send.unsplit(recv);
    assert_eq!(get(&mut conn, "/size/3"), (200, expected_body(3)));

    let (send_a, _recv_a) = conn.split().unwrap();
    let (_send_b, recv_b) = connect(&server).split().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        send_a.unsplit(recv_b);
    }))
    .expect_err("halves of two connections made one");
    assert_eq!(
        panic.downcast_ref::<&str>(),
        Some(&"the halves belong to different connections")
    );
}

#[test]
fn split_receiver_waits_for_a_slow_response_without_blocking_the_sender() {
    let server = HyperServer::start();
    let (mut send, mut recv) = connect(&server).split().unwrap();
    let reader = std::thread::spawn(move || {
        let head = recv.read_response().unwrap();
        (head.status(), recv.read_all().unwrap(), recv)
    });
    std::thread::sleep(Duration::from_millis(50));
    // The receiver is waiting; the sender is not held back by it.
    send.send_request("GET", "/slow/100", NO_FIELDS, Body::Empty)
        .unwrap();
    let (status, body, recv) = reader.join().unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"slow"[..]));
    assert!(!recv.response_pending());
}

#[test]
fn queued_requests_go_out_on_flush_or_on_the_next_read() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    for i in 0..1000u64 {
        conn.queue_request("GET", &format!("/size/{}", i % 7), NO_FIELDS, Body::Empty)
            .unwrap();
    }
    conn.flush().unwrap();
    // Queued and never flushed: the read writes it first.
    conn.queue_request("GET", "/size/3", NO_FIELDS, Body::Empty)
        .unwrap();
    for i in 0..1000u64 {
        conn.read_response().unwrap();
        assert_eq!(conn.read_all().unwrap(), expected_body(i % 7));
    }
    assert_eq!(conn.read_response().unwrap().status(), 200);
    assert_eq!(conn.read_all().unwrap(), expected_body(3));
    assert_eq!(server.requests(), 1001);
}

#[test]
fn a_split_sender_keeps_at_most_max_in_flight_requests_out() {
    let server = HyperServer::start();
    let conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(10))
        .max_in_flight(8)
        .no_trace()
        .connect()
        .unwrap();
    let (mut send, mut recv) = conn.split().unwrap();
    let n = 5_000u64;
    let sender = std::thread::spawn(move || {
        for _ in 0..n {
            send.send_request("GET", "/size/20", NO_FIELDS, Body::Empty)
                .unwrap();
        }
    });
    let mut most = 0;
    for _ in 0..n {
        most = most.max(recv.in_flight());
        recv.read_response().unwrap();
        assert_eq!(recv.read_all().unwrap(), expected_body(20));
    }
    sender.join().unwrap();
    assert!(most <= 8, "{most} requests were in flight");
    assert!(most > 1, "the sender did pipeline");
}

#[test]
fn a_split_sender_caps_the_response_bytes_in_flight() {
    // 256 KiB bodies under a 1 MiB cap: at most 16 requests go out before
    // any response size is known (`Window::FIRST_ROUND`), then the window
    // shrinks to 4 requests (1 MiB / 256 KiB), not 64.
    let server = HyperServer::start();
    let size = 256 * 1024;
    let conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(Duration::from_secs(10))
        .max_in_flight(64)
        .max_in_flight_bytes(1024 * 1024)
        .no_trace()
        .connect()
        .unwrap();
    let (mut send, mut recv) = conn.split().unwrap();
    let n = 40u64;
    let target = format!("/size/{size}");
    let sender = std::thread::spawn(move || {
        for _ in 0..n {
            send.send_request("GET", &target, NO_FIELDS, Body::Empty)
                .unwrap();
        }
    });
    let (mut most_at_first, mut most_later) = (0, 0);
    for i in 0..n {
        let in_flight = recv.in_flight();
        if i == 0 {
            most_at_first = in_flight;
        } else if i >= 16 {
            // The first round has been read: only the byte cap sends.
            most_later = most_later.max(in_flight);
        }
        recv.read_response().unwrap();
        assert_eq!(recv.read_all().unwrap().len(), size);
    }
    sender.join().unwrap();
    assert!(
        most_at_first <= 16,
        "{most_at_first} requests in the first round"
    );
    assert!(most_later <= 4, "{most_later} requests were in flight");
    assert!(most_later > 1, "the sender did pipeline");
}

#[test]
fn http_crate_requests_in_and_response_heads_out() {
    use dugong_blocking::http_interop::response_parts;

    let server = HyperServer::start();
    let mut conn = connect(&server);
    let request = http::Request::post(server.url("/echo"))
        .header("x-one", "1")
        .header("x-one", "2")
        .body(b"posted".to_vec())
        .unwrap();
    conn.send_http(request).unwrap();
    let head = conn.read_response().unwrap();
    let parts = response_parts(&head).unwrap();
    assert_eq!(parts.status, http::StatusCode::OK);
    assert_eq!(parts.headers["x-received-length"], "6");
    assert_eq!(conn.read_all().unwrap(), b"posted");
    conn.send_http(http::Request::get(server.url("/headers")).body(()).unwrap())
        .unwrap();
    conn.read_response().unwrap();
    let seen = String::from_utf8(conn.read_all().unwrap()).unwrap();
    assert!(
        seen.contains(&format!("host: {}\n", server.authority())),
        "{seen}"
    );
}

/// The error of a body over the `read_all` limit: kind "too large", a
/// message that names the limit in bytes.
fn assert_too_large(error: &dugong_blocking::Error, limit: usize) {
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    let text = error.to_string();
    assert!(text.starts_with("response too large: "), "{text}");
    assert!(text.contains(&format!("{limit} bytes")), "{text}");
}

/// After a body over the limit, the connection is broken: nothing of the
/// body is handed out, and every later call repeats the error.
fn assert_broken_by_too_large(conn: &mut Connection, limit: usize) {
    assert!(!conn.is_usable());
    assert_too_large(&conn.error().expect("the connection is broken"), limit);
    assert_too_large(&conn.read_chunk().unwrap_err(), limit);
    assert_too_large(&conn.read_body(&mut [0; 100]).unwrap_err(), limit);
    assert_too_large(&conn.read_all().unwrap_err(), limit);
    assert_too_large(&conn.read_response().unwrap_err(), limit);
    let again = conn.send_request("GET", "/size/1", NO_FIELDS, Body::Empty);
    assert_too_large(&again.unwrap_err(), limit);
}

/// `read_all` is bounded by `Builder::max_read_all`: a body of exactly the
/// limit is read, one byte more fails (for a `Content-Length` body and a
/// chunked one) and breaks the connection.
#[test]
fn read_all_is_bounded_by_max_read_all() {
    let server = HyperServer::start();
    let limit = 3000;
    for route in ["size", "chunked"] {
        let mut conn = Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(10))
            .max_read_all(limit)
            .no_trace()
            .connect()
            .unwrap();
        let at_limit = format!("/{route}/{limit}");
        assert_eq!(get(&mut conn, &at_limit), (200, expected_body(3000)));
        // Streaming readers are not bounded.
        conn.send_request("GET", &format!("/{route}/10000"), NO_FIELDS, Body::Empty)
            .unwrap();
        conn.read_response().unwrap();
        let mut streamed = Vec::new();
        conn.body_reader().read_to_end(&mut streamed).unwrap();
        assert_eq!(streamed, expected_body(10000), "{route}");
        assert!(conn.is_usable());
        conn.send_request("GET", &format!("/{route}/3001"), NO_FIELDS, Body::Empty)
            .unwrap();
        assert_eq!(conn.read_response().unwrap().status(), 200);
        assert_too_large(&conn.read_all().unwrap_err(), limit);
        assert_broken_by_too_large(&mut conn, limit);
    }
}

/// The default bound is 16 MiB.
#[test]
fn read_all_is_bounded_by_16_mib_by_default() {
    assert_eq!(dugong_blocking::DEFAULT_MAX_READ_ALL, 16 << 20);
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("GET", "/size/16777217", NO_FIELDS, Body::Empty)
        .unwrap();
    conn.read_response().unwrap();
    assert_too_large(&conn.read_all().unwrap_err(), 16 << 20);
    assert!(!conn.is_usable());
}

/// The receiving half of a split connection is bounded the same way, and
/// the break reaches the sending half.
#[test]
fn split_read_all_is_bounded_by_max_read_all() {
    let server = HyperServer::start();
    let limit = 3000;
    for route in ["size", "chunked"] {
        let conn = Builder::new("127.0.0.1", server.addr().port())
            .timeout(Duration::from_secs(10))
            .max_read_all(limit)
            .no_trace()
            .connect()
            .unwrap();
        let (mut send, mut recv) = conn.split().unwrap();
        for size in [3000, 3001] {
            send.send_request("GET", &format!("/{route}/{size}"), NO_FIELDS, Body::Empty)
                .unwrap();
        }
        recv.read_response().unwrap();
        assert_eq!(recv.read_all().unwrap(), expected_body(3000), "{route}");
        recv.read_response().unwrap();
        assert_too_large(&recv.read_all().unwrap_err(), limit);
        assert!(!send.is_usable());
        assert_too_large(&recv.read_all().unwrap_err(), limit);
        assert_too_large(&recv.read_chunk().unwrap_err(), limit);
        let again = send.send_request("GET", "/size/1", NO_FIELDS, Body::Empty);
        assert_too_large(&again.unwrap_err(), limit);
    }
}

/// `close` with responses pending is a usage error that leaves the
/// connection alone; once they are read, it closes cleanly, and a second
/// `close` does nothing.
#[test]
fn close_after_the_last_response() {
    let server = HyperServer::start();
    let mut conn = connect(&server);
    conn.send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
        .unwrap();
    let early = conn.close().unwrap_err();
    assert_eq!(early.kind(), ErrorKind::Usage, "{early}");
    assert!(conn.is_usable());
    conn.read_response().unwrap();
    let early = conn.close().unwrap_err();
    assert_eq!(early.kind(), ErrorKind::Usage, "{early}");
    assert_eq!(conn.read_all().unwrap(), expected_body(5));
    conn.close().unwrap();
    assert!(!conn.is_usable());
    conn.close().unwrap();
    let after = conn
        .send_request("GET", "/size/5", NO_FIELDS, Body::Empty)
        .unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Usage, "{after}");
    // A closed connection can be opened again.
    conn.reconnect().unwrap();
    assert_eq!(get(&mut conn, "/size/3"), (200, expected_body(3)));
    conn.close().unwrap();
}
