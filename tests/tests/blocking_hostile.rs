//! dugong-blocking against hostile servers (issue: hostile peers): every
//! case of the shared matrix gives the typed error users would expect,
//! nothing of a bad message is delivered as valid data, and the connection
//! refuses reuse after a protocol error; and the truncation sweep: every
//! pipelined sequence cut after every byte offset delivers exactly the
//! responses completed before the cut, then a closed error naming the rest.

use std::time::Instant;

use dugong_blocking::dugong_proto::Fate;
use dugong_blocking::{Blocking, Body, Builder, Connection, Error};
use dugong_tests::{
    hostile_cases, panic_message, sequences, CutStream, HostileCase, ScriptServer, Sequence,
    HOSTILE_TIMEOUT,
};

const NO_FIELDS: [(&str, &str); 0] = [];

/// Reads every response, stopping at the first error.
fn read_all_responses(conn: &mut Connection, count: usize) -> (Vec<(u16, Vec<u8>)>, Option<Error>) {
    let mut complete = Vec::new();
    for _ in 0..count {
        let result = (|| loop {
            let head = conn.read_response()?;
            if head.status() == 100 {
                continue;
            }
            return Ok((head.status(), conn.read_all()?));
        })();
        match result {
            Ok(response) => complete.push(response),
            Err(e) => return (complete, Some(e)),
        }
    }
    (complete, None)
}

/// How the harness looks for an error that shows only after the last
/// response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// `close`, which judges what arrived unasked.
    Close,
    /// One more `GET` (if the connection still takes requests; `close`
    /// otherwise).
    NextRequest,
}

/// Runs one case; returns whether the responses ended without an error
/// (so that the error, if any, was found by the probe).
fn run_case(case: &HostileCase, probe: Probe) -> bool {
    let server = ScriptServer::start(case.script.clone());
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(HOSTILE_TIMEOUT)
        .no_trace()
        .connect()
        .unwrap();
    let started = Instant::now();
    for method in &case.requests {
        conn.send_request(method, "/", NO_FIELDS, Body::Empty)
            .unwrap();
    }
    let (complete, mut error) = read_all_responses(&mut conn, case.requests.len());
    let late = error.is_none();
    if late {
        error = if probe == Probe::NextRequest && conn.is_usable() {
            conn.send_request("GET", "/", NO_FIELDS, Body::Empty)
                .and_then(|_| conn.read_response())
                .err()
        } else {
            conn.close().err()
        };
    }
    let elapsed = started.elapsed();
    let context = format!("{} ({probe:?})", case.name);
    assert_eq!(
        complete, case.outcome.complete,
        "{context}: complete responses"
    );
    let kind = error.as_ref().map(|e| e.kind().as_str());
    assert_eq!(kind, case.outcome.error, "{context}: error {error:?}");
    if let Some(within) = case.outcome.within {
        assert!(elapsed < within, "{context}: the error took {elapsed:?}");
    }
    if let Some(error) = error {
        assert!(!conn.is_usable(), "{context}: usable after {error}");
        let again = conn.send_request("GET", "/", NO_FIELDS, Body::Empty);
        assert!(
            again.is_err(),
            "{context}: a new request was accepted after {error}"
        );
    } else {
        assert!(!conn.is_usable(), "{context}: usable after close");
    }
    late
}

#[test]
fn every_hostile_case_gives_the_expected_error() {
    let cases = hostile_cases();
    assert!(cases.len() >= 29);
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = std::panic::catch_unwind(|| {
            let late = run_case(case, Probe::Close);
            if late && case.outcome.error.is_some() {
                run_case(case, Probe::NextRequest);
            }
        });
        if let Err(panic) = outcome {
            failures.push(panic_message(&*panic));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs a sequence against a stream cut after `cut` bytes, read `piece`
/// bytes at a time.
fn run_cut(sequence: &Sequence, wire: &[u8], cut: usize, piece: usize) {
    let transport = Blocking(CutStream::new(wire[..cut].to_vec(), piece));
    let mut conn = Builder::new("example.com", 80).no_trace().over(transport);
    let mut ids = Vec::new();
    for request in &sequence.requests {
        let id = match request.expect_continue_body {
            Some(body) => conn.send_request(
                request.method,
                "/",
                [("Expect", "100-continue")],
                Body::Full(body.into()),
            ),
            None => conn.send_request(request.method, "/", NO_FIELDS, Body::Empty),
        };
        ids.push(id.unwrap().as_u64());
    }
    let expected = sequence.expected_at(cut);
    let (complete, error) = read_all_responses(&mut conn, sequence.requests.len());
    let context = format!("{:?} cut at {cut} of {}", sequence.name, wire.len());
    assert_eq!(complete, expected.complete, "{context}");
    match error {
        None => assert!(expected.unanswered.is_empty(), "{context}: no error"),
        Some(e) => {
            let closed = e.closed().unwrap_or_else(|| panic!("{context}: {e}"));
            let unanswered: Vec<u64> = closed.unanswered().iter().map(|u| u.id.as_u64()).collect();
            let want: Vec<u64> = expected
                .unanswered
                .iter()
                .map(|&i| ids[i as usize])
                .collect();
            assert_eq!(unanswered, want, "{context}");
            let first = closed.unanswered()[0].fate;
            assert_eq!(
                first == Fate::BodyIncomplete,
                expected.head_received,
                "{context}: {first:?}"
            );
        }
    }
}

#[test]
fn truncation_sweep_cuts_every_sequence_at_every_byte() {
    let sequences = sequences();
    assert!(sequences.len() >= 20);
    let mut runs = 0;
    for sequence in &sequences {
        let wire = sequence.wire();
        for cut in 0..=wire.len() {
            for piece in [1, 7, 4096] {
                run_cut(sequence, &wire, cut, piece);
                runs += 1;
            }
        }
    }
    assert!(runs > 3000, "{runs} runs");
}
