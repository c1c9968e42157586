//! dugong-tokio against the shared hostile matrix and the truncation sweep
//! (the same tables as `blocking_hostile.rs`).

use std::time::Instant;

use dugong_tests::{
    hostile_cases, panic_message, sequences, CutStream, HostileCase, ScriptServer, Sequence,
    HOSTILE_TIMEOUT,
};
use dugong_tokio::dugong_proto::Fate;
use dugong_tokio::{Body, Builder, Connection, Error, Transport};

const NO_FIELDS: [(&str, &str); 0] = [];

/// Reads every response, stopping at the first error.
async fn read_all_responses<T: Transport>(
    conn: &mut Connection<T>,
    count: usize,
) -> (Vec<(u16, Vec<u8>)>, Option<Error>) {
    let mut complete = Vec::new();
    for _ in 0..count {
        let head = loop {
            match conn.read_response().await {
                Ok(head) if head.status() == 100 => continue,
                Ok(head) => break head,
                Err(e) => return (complete, Some(e)),
            }
        };
        match conn.read_all().await {
            Ok(body) => complete.push((head.status(), body)),
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
async fn run_case(case: &HostileCase, probe: Probe) -> bool {
    let server = ScriptServer::start(case.script.clone());
    let mut conn = Builder::new("127.0.0.1", server.addr().port())
        .timeout(HOSTILE_TIMEOUT)
        .no_trace()
        .connect()
        .await
        .unwrap();
    let started = Instant::now();
    for method in &case.requests {
        conn.send_request(method, "/", NO_FIELDS, Body::Empty)
            .await
            .unwrap();
    }
    let (complete, mut error) = read_all_responses(&mut conn, case.requests.len()).await;
    let late = error.is_none();
    if late {
        error = if probe == Probe::NextRequest && conn.is_usable() {
            match conn.send_request("GET", "/", NO_FIELDS, Body::Empty).await {
                Err(e) => Some(e),
                Ok(_) => conn.read_response().await.err(),
            }
        } else {
            conn.close().await.err()
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
        let again = conn.send_request("GET", "/", NO_FIELDS, Body::Empty).await;
        assert!(
            again.is_err(),
            "{context}: a new request was accepted after {error}"
        );
    } else {
        assert!(!conn.is_usable(), "{context}: usable after close");
    }
    late
}

#[tokio::test]
async fn every_hostile_case_gives_the_expected_error() {
    let cases = hostile_cases();
    assert!(cases.len() >= 29);
    let mut failures = Vec::new();
    for case in cases {
        // Each case in a task of its own, so that a failed one is
        // reported and the others still run.
        let run = tokio::spawn(async move {
            let late = run_case(&case, Probe::Close).await;
            if late && case.outcome.error.is_some() {
                run_case(&case, Probe::NextRequest).await;
            }
        });
        if let Err(e) = run.await {
            match e.try_into_panic() {
                Ok(panic) => failures.push(panic_message(&*panic)),
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn run_cut(sequence: &Sequence, wire: &[u8], cut: usize, piece: usize) {
    let transport = CutStream::new(wire[..cut].to_vec(), piece);
    let mut conn = Builder::new("example.com", 80).no_trace().over(transport);
    let mut ids = Vec::new();
    for request in &sequence.requests {
        let id = match request.expect_continue_body {
            Some(body) => {
                conn.send_request(
                    request.method,
                    "/",
                    [("Expect", "100-continue")],
                    Body::Full(body.into()),
                )
                .await
            }
            None => {
                conn.send_request(request.method, "/", NO_FIELDS, Body::Empty)
                    .await
            }
        };
        ids.push(id.unwrap().as_u64());
    }
    let expected = sequence.expected_at(cut);
    let (complete, error) = read_all_responses(&mut conn, sequence.requests.len()).await;
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

#[tokio::test]
async fn truncation_sweep_cuts_every_sequence_at_every_byte() {
    let sequences = sequences();
    assert!(sequences.len() >= 20);
    let mut runs = 0;
    for sequence in &sequences {
        let wire = sequence.wire();
        for cut in 0..=wire.len() {
            for piece in [1, 7, 4096] {
                run_cut(sequence, &wire, cut, piece).await;
                runs += 1;
            }
        }
    }
    assert!(runs > 3000, "{runs} runs");
}
