//! The dugong-blocking examples, run as users run them: `httpcat`'s output
//! and exit-status contract, and `pipeline`'s report.

use std::process::Output;

use dugong_tests::{
    example, expected_body, refused_addr, HyperServer, ScriptServer, SilentServer, Step, TlsServer,
};

fn httpcat(args: &[&str]) -> Output {
    example("dugong-blocking", "httpcat")
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("httpcat runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn httpcat_writes_bodies_in_order_over_pipelined_connections() {
    let a = HyperServer::start();
    let b = HyperServer::start();
    let urls = [
        a.url("/size/10"),
        b.url("/chunked/2500"),
        a.url("/size/3"),
        b.url("/size/0"),
        a.url("/size/100000"),
    ];
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let output = httpcat(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = [
        expected_body(10),
        expected_body(2500),
        expected_body(3),
        vec![],
        expected_body(100_000),
    ]
    .concat();
    assert!(output.stdout == expected, "stdout differs");
    // One connection per server: a's three requests went over one.
    assert_eq!((a.requests(), b.requests()), (3, 2));
}

#[test]
fn httpcat_head_prints_heads() {
    let server = HyperServer::start();
    let output = httpcat(&["--head", &server.url("/size/42")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-length: 42\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"));
}

#[test]
fn httpcat_over_tls_with_cacert() {
    let server = TlsServer::start();
    let dir = dugong_tests::temp_dir("httpcat-ca");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();
    let ca = ca.to_str().unwrap();
    let output = httpcat(&["--cacert", ca, &server.url("/size/5")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(output.stdout, expected_body(5));
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(&wrong, dugong_tests::unrelated_ca_pem()).unwrap();
    let output = httpcat(&["--cacert", wrong.to_str().unwrap(), &server.url("/size/5")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(": tls: "), "{}", stderr(&output));
}

/// Exit status 1 and the error kind in plain words.
fn fails_with(args: &[&str], words: &str) {
    let output = httpcat(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!(": {words}: ")),
        "expected {words:?} in {message:?}"
    );
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

#[test]
fn httpcat_names_each_failure_in_plain_words() {
    fails_with(&["http://no-such-host.invalid/"], "host not found");
    let silent = SilentServer::start();
    fails_with(
        &["--timeout", "0.2", &format!("http://{}/", silent.addr())],
        "timed out",
    );
    let cut = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        Step::Close,
    ]);
    fails_with(&[&format!("http://{}/", cut.addr())], "connection closed");
    let bad = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec()),
        Step::Close,
    ]);
    fails_with(&[&format!("http://{}/", bad.addr())], "invalid response");
    let odd = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec()),
        Step::Close,
    ]);
    fails_with(
        &[&format!("http://{}/", odd.addr())],
        "unsupported response",
    );
    let huge = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send([b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 100_000]].concat()),
        Step::Close,
    ]);
    fails_with(&[&format!("http://{}/", huge.addr())], "response too large");
    fails_with(&[&format!("http://{}/", refused_addr())], "i/o error");
}

#[test]
fn httpcat_rejects_bad_arguments_with_status_2() {
    for args in [
        &[][..],
        &["--timeout"],
        &["--bogus", "http://a/"],
        &["ftp://a/"],
    ] {
        let output = httpcat(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn pipeline_example_reports_both_rates() {
    let output = example("dugong-blocking", "pipeline").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("pipelined:") && lines[0].contains(" requests/s"));
    assert!(lines[1].starts_with("one at a time:") && lines[1].contains(" requests/s"));
    assert!(lines[2].starts_with("pipelining is "));
    // Against a given server too.
    let server = HyperServer::start();
    let output = example("dugong-blocking", "pipeline")
        .arg(server.url("/size/10"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.requests(), 20_000);
}

#[test]
fn httpcat_honours_http_proxy_and_no_proxy_from_the_environment() {
    let proxy = dugong_tests::peer_or_skip!(dugong_tests::Proxy::start(), "tinyproxy");
    let server = HyperServer::start();
    let run = |no_proxy: &str| {
        example("dugong-blocking", "httpcat")
            .arg(server.url("/headers"))
            .env("http_proxy", proxy.url())
            .env("no_proxy", no_proxy)
            .output()
            .unwrap()
    };
    let output = run("example.com");
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(seen.contains("via: "), "went through tinyproxy: {seen}");
    let output = run("127.0.0.1");
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(
        !seen.contains("via: "),
        "no_proxy bypasses the proxy: {seen}"
    );
}

/// A server that answers the one `GET` and, in the same write, sends a
/// second response nobody asked for: the body of the first is written, but
/// closing the connection finds the second, so the exit status is 1 with
/// one line naming an invalid response. The connection stays open, so the
/// check must not wait for more.
#[test]
fn httpcat_fails_on_an_unsolicited_second_response() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send([ok.as_slice(), ok].concat()),
        Step::StallForever,
    ]);
    let url = format!("http://{}/", server.addr());
    let output = httpcat(&[&url]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("httpcat: {url}: invalid response: ")),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert_eq!(output.stdout, b"ok");
    // A server that sends nothing more is fine.
    let server = ScriptServer::start(vec![
        Step::ReadHead,
        Step::Send(ok.to_vec()),
        Step::StallForever,
    ]);
    let output = httpcat(&[&format!("http://{}/", server.addr())]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(output.stdout, b"ok");
}
