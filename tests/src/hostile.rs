//! The hostile-server matrix: scripts of misbehaving servers and what a
//! client must report for each, shared by the adapters' tests.

use std::time::Duration;

use crate::script::Step;

/// What the client must end up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `(status, body)` of the responses that must arrive complete first.
    pub complete: Vec<(u16, Vec<u8>)>,
    /// The error kind that must follow, in the adapters' plain words
    /// (`ErrorKind::as_str`), or `None` if everything succeeds. When the
    /// error only shows after the last response (garbage after a complete
    /// response), the harness finds it with `Connection::close`, which
    /// judges what arrived unasked; and, on a run of its own, by sending one
    /// more `GET` if the connection still takes requests. With no error,
    /// `close` must succeed.
    pub error: Option<&'static str>,
    /// The error must come at once: within this long of the requests being
    /// sent, well before [`HOSTILE_TIMEOUT`] (a client that waits for more
    /// bytes instead would time out, or take too long).
    pub within: Option<Duration>,
}

/// One misbehaving server.
#[derive(Debug, Clone)]
pub struct HostileCase {
    /// What the server does.
    pub name: &'static str,
    /// Methods of the requests sent, pipelined.
    pub requests: Vec<&'static str>,
    /// The server's script for the connection.
    pub script: Vec<Step>,
    /// What the client must see.
    pub outcome: Outcome,
}

/// The timeout a harness must give the client, so that stalls end.
pub const HOSTILE_TIMEOUT: Duration = Duration::from_millis(300);

/// How soon an error that needs no waiting must come.
pub const AT_ONCE: Duration = Duration::from_millis(HOSTILE_TIMEOUT.as_millis() as u64 / 2);

fn fails(complete: Vec<(u16, &[u8])>, kind: &'static str) -> Outcome {
    Outcome {
        complete: complete.into_iter().map(|(s, b)| (s, b.to_vec())).collect(),
        error: Some(kind),
        within: None,
    }
}

/// As [`fails`], and the error must come within [`AT_ONCE`].
fn fails_at_once(complete: Vec<(u16, &[u8])>, kind: &'static str) -> Outcome {
    Outcome {
        within: Some(AT_ONCE),
        ..fails(complete, kind)
    }
}

fn send(bytes: &[u8]) -> Step {
    Step::Send(bytes.to_vec())
}

/// The matrix.
pub fn hostile_cases() -> Vec<HostileCase> {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let close_ok = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    let case = |name, requests: Vec<&'static str>, script, outcome| HostileCase {
        name,
        requests,
        script,
        outcome,
    };
    let mut huge_head = b"HTTP/1.1 200 OK\r\n".to_vec();
    while huge_head.len() < 1024 * 1024 {
        huge_head.extend_from_slice(
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let mut storm = Vec::new();
    for _ in 0..10_000 {
        storm.extend_from_slice(b"HTTP/1.1 103 Early Hints\r\n\r\n");
    }
    storm.extend_from_slice(ok);
    vec![
        case(
            "closes at once",
            vec!["GET"],
            vec![Step::ReadHead, Step::Close],
            fails(vec![], "connection closed"),
        ),
        case(
            "pauses, then closes",
            vec!["GET", "GET"],
            vec![Step::ReadHeads(2), send(ok), Step::Sleep(Duration::from_millis(50)), Step::Close],
            fails(vec![(200, b"ok")], "connection closed"),
        ),
        case(
            "resets mid-head",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nContent-Le"), Step::Sleep(Duration::from_millis(20)), Step::Reset],
            fails(vec![], "connection closed"),
        ),
        case(
            "resets mid-body",
            vec!["GET"],
            vec![
                Step::ReadHead,
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome"),
                Step::Sleep(Duration::from_millis(20)),
                Step::Reset,
            ],
            fails(vec![], "connection closed"),
        ),
        case(
            "drips one byte at a time",
            vec!["GET", "GET"],
            vec![
                Step::ReadHeads(2),
                Step::Drip(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                    Duration::from_micros(200),
                ),
                Step::StallForever,
            ],
            Outcome {
                complete: vec![(200, b"ok".to_vec()), (200, b"ok".to_vec())],
                error: None,
                within: None,
            },
        ),
        case(
            "stalls forever after the head",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"), Step::StallForever],
            fails(vec![], "timed out"),
        ),
        case(
            "stalls forever before anything",
            vec!["GET"],
            vec![Step::ReadHead, Step::StallForever],
            fails(vec![], "timed out"),
        ),
        case(
            "a head larger than every limit",
            vec!["GET"],
            vec![Step::ReadHead, send(&huge_head), Step::StallForever],
            fails(vec![], "response too large"),
        ),
        case(
            "a chunk size of 2^64",
            vec!["GET"],
            vec![
                Step::ReadHead,
                send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nabc"),
                Step::StallForever,
            ],
            fails(vec![], "invalid response"),
        ),
        case(
            "both Content-Length and Transfer-Encoding",
            vec!["GET"],
            vec![
                Step::ReadHead,
                send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
                Step::StallForever,
            ],
            fails(vec![], "invalid response"),
        ),
        case(
            "two different Content-Lengths",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), Step::StallForever],
            fails(vec![], "invalid response"),
        ),
        case(
            "a Content-Length with a sign",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc"), Step::StallForever],
            fails(vec![], "invalid response"),
        ),
        case(
            "a Content-Length with inner spaces",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\nabc"), Step::StallForever],
            fails(vec![], "invalid response"),
        ),
        case(
            "a bare LF between fields",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok"), Step::StallForever],
            fails(vec![], "invalid response"),
        ),
        case(
            "a NUL in a field value",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok"), Step::StallForever],
            fails(vec![], "invalid response"),
        ),
        case(
            "an HTTP/0.9-style reply",
            vec!["GET"],
            vec![Step::ReadHead, send(b"<html>hello</html>\r\n\r\n"), Step::Close],
            fails(vec![], "invalid response"),
        ),
        case(
            "garbage after a complete response",
            vec!["GET"],
            vec![Step::ReadHead, send(&[ok.as_slice(), b"garbage garbage\r\n\r\n"].concat()), Step::StallForever],
            fails(vec![(200, b"ok")], "invalid response"),
        ),
        case(
            "a storm of 10,000 interim responses",
            vec!["GET"],
            vec![Step::ReadHead, send(&storm), Step::StallForever],
            fails(vec![], "response too large"),
        ),
        case(
            "a response to a request never sent",
            vec!["GET"],
            vec![Step::ReadHead, send(&[ok.as_slice(), ok].concat()), Step::StallForever],
            fails(vec![(200, b"ok")], "invalid response"),
        ),
        // Bytes that cannot start a status line fail at once, even with the
        // connection left open (what the reworked core decides).
        case(
            "a TLS handshake record, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        case(
            "a TLS alert record, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"\x15\x03\x03\x00\x02\x02\x28"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        case(
            "a single NUL byte, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"\0"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        case(
            "an HTTP/0.9-style <html>, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"<html>"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        case(
            "a single X, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"X"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        case(
            "103 Early Hints, then <html>, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 103 Early Hints\r\n\r\n<html>"), Step::StallForever],
            fails_at_once(vec![], "invalid response"),
        ),
        // RFC 9112 §9.6: after a response with `Connection: close` the
        // server sends nothing more; a second response is not an answer to
        // the request pipelined behind it.
        case(
            "a second response after Connection: close, then stays open",
            vec!["GET", "GET"],
            vec![Step::ReadHeads(2), send(&[close_ok.as_slice(), ok].concat()), Step::StallForever],
            fails_at_once(vec![(200, b"ok")], "invalid response"),
        ),
        case(
            "a second response after Connection: close, then closes",
            vec!["GET", "GET"],
            vec![Step::ReadHeads(2), send(&[close_ok.as_slice(), ok].concat()), Step::Close],
            fails_at_once(vec![(200, b"ok")], "invalid response"),
        ),
        case(
            "Connection: close with a request pipelined behind it, then closes",
            vec!["GET", "GET"],
            vec![Step::ReadHeads(2), send(close_ok), Step::Close],
            fails(vec![(200, b"ok")], "connection closed"),
        ),
        case(
            "garbage after a Connection: close response, then stays open",
            vec!["GET"],
            vec![Step::ReadHead, send(&[close_ok.as_slice(), b"garbage"].concat()), Step::StallForever],
            fails_at_once(vec![(200, b"ok")], "invalid response"),
        ),
        case(
            "a status code of 600",
            vec!["GET"],
            vec![Step::ReadHead, send(b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok"), Step::StallForever],
            Outcome {
                complete: vec![(600, b"ok".to_vec())],
                error: None,
                within: None,
            },
        ),
    ]
}

/// The message of a caught panic (a failed assertion of one case), so a
/// harness can run every case and report all that failed.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "a panic with no message".to_owned()
    }
}
