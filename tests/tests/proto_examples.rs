//! dugong-proto's `event_loop` example: several connections driven from one
//! thread with non-blocking sockets and `poll(2)`, against its built-in
//! server and against hyper.

use dugong_tests::{example, HyperServer};

#[cfg(unix)]
#[test]
fn event_loop_fetches_pipelined_over_three_connections() {
    let output = example("dugong-proto", "event_loop").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    let mut expected = Vec::new();
    for connection in 1..=3 {
        for _ in 0..5 {
            expected.push(format!("connection {connection}: 200 (17 bytes)"));
        }
    }
    assert_eq!(lines, expected);
}

#[cfg(unix)]
#[test]
fn event_loop_against_hyper() {
    let server = HyperServer::start();
    let output = example("dugong-proto", "event_loop")
        .args([
            server.authority().as_str(),
            "/size/10",
            "/chunked/2500",
            "/status/204",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for connection in 1..=3 {
        for line in ["200 (10 bytes)", "200 (2500 bytes)", "204 (0 bytes)"] {
            let want = format!("connection {connection}: {line}");
            assert!(
                text.lines().any(|l| l == want),
                "{want} missing from {text}"
            );
        }
    }
    assert_eq!(server.requests(), 9);
}
