//! The `replay` example: the language-neutral event trace of DESIGN.md, run
//! as a program with bytes on stdin, as other-language bindings and
//! conformance suites run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

#[allow(dead_code)] // The tests use the string writers only.
#[path = "../examples/replay/json.rs"]
mod json;

const SAMPLE: &[u8] = include_bytes!("../examples/sample-response.http");
const SAMPLE_REQUESTS: &[&str] = &["--request", "GET", "--request", "HEAD", "--request", "GET"];

/// The trace of the sample stream, as the README shows it.
const SAMPLE_TRACE: &[&str] = &[
    r#"{"event":"informational","status":103,"reason":"Early Hints","headers":[["Link","</a.css>; rel=preload"]]}"#,
    r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Type","text/plain"],["Content-Length","5"]]}"#,
    r#"{"event":"data","b64":"aGVsbG8="}"#,
    r#"{"event":"end","trailers":[]}"#,
    r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Type","text/html"],["Content-Length","1024"]]}"#,
    r#"{"event":"end","trailers":[]}"#,
    r#"{"event":"headers","status":200,"reason":"OK","headers":[["Transfer-Encoding","chunked"],["Trailer","Checksum"]]}"#,
    r#"{"event":"data","b64":"aGVsbG8g"}"#,
    r#"{"event":"data","b64":"d29ybGQ="}"#,
    r#"{"event":"end","trailers":[["Checksum","0a1b2c3d"]]}"#,
];

/// The example binary, built fresh. `cargo test` builds examples, but
/// `cargo test --test replay` does not, so a binary found next to this test
/// may be stale: ask cargo to bring it up to date first (a no-op when it
/// is). `None` if it is not where it should be; then tests use `cargo run`.
fn example_binary() -> Option<&'static PathBuf> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // target/<profile>/deps/replay-<hash> -> target/<profile>
            let exe = std::env::current_exe().ok()?;
            let profile_dir = exe.parent()?.parent()?;
            let binary = profile_dir
                .join("examples")
                .join(format!("replay{}", std::env::consts::EXE_SUFFIX));
            let mut build = Command::new(env!("CARGO"));
            build
                .args(["build", "-q", "-p", "dugong-proto", "--example", "replay"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            match profile_dir.file_name()?.to_str()? {
                "debug" => {}
                "release" => {
                    build.arg("--release");
                }
                profile => {
                    build.args(["--profile", profile]);
                }
            }
            if let Some(target_dir) = profile_dir.parent() {
                build.env("CARGO_TARGET_DIR", target_dir);
            }
            let built = build.status().is_ok_and(|s| s.success());
            (built && binary.is_file()).then_some(binary)
        })
        .as_ref()
}

/// Runs the example with `args` and `input` on stdin.
fn replay(args: &[&str], input: &[u8]) -> Output {
    let mut command = match example_binary() {
        Some(binary) => Command::new(binary),
        None => {
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args([
                    "run",
                    "-q",
                    "-p",
                    "dugong-proto",
                    "--example",
                    "replay",
                    "--",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            cargo
        }
    };
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the replay example starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // The example may stop reading early only by failing; ignore that.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("the replay example runs");
    writer.join().expect("stdin writer");
    output
}

/// Runs the example, expects exit status 0 and no stderr, and returns the
/// stdout lines.
fn trace(args: &[&str], input: &[u8]) -> Vec<String> {
    let output = replay(args, input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "replay {args:?} failed: {:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.is_empty(),
        "replay {args:?} wrote to stderr: {stderr}"
    );
    assert!(
        output.stdout.is_ascii(),
        "replay {args:?} printed non-ASCII: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stdout = String::from_utf8(output.stdout).expect("stdout is ASCII");
    assert!(
        stdout.is_empty() || stdout.ends_with('\n'),
        "last line unterminated: {stdout:?}"
    );
    stdout.lines().map(str::to_owned).collect()
}

fn assert_trace(args: &[&str], input: &[u8], expected: &[&str]) {
    assert_eq!(trace(args, input), expected, "replay {args:?}");
}

const DATA_PREFIX: &str = r#"{"event":"data","b64":""#;
const DATA_SUFFIX: &str = r#""}"#;

/// Merges adjacent `data` lines, so traces from different splits compare
/// equal.
fn merge_data(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut data: Option<Vec<u8>> = None;
    for line in lines {
        if let Some(b64) = line
            .strip_prefix(DATA_PREFIX)
            .and_then(|rest| rest.strip_suffix(DATA_SUFFIX))
        {
            data.get_or_insert_with(Vec::new).extend(decode_base64(b64));
            continue;
        }
        if let Some(bytes) = data.take() {
            out.push(data_line(&bytes));
        }
        out.push(line);
    }
    if let Some(bytes) = data.take() {
        out.push(data_line(&bytes));
    }
    out
}

fn data_line(bytes: &[u8]) -> String {
    format!("{DATA_PREFIX}{}{DATA_SUFFIX}", encode_base64(bytes))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, written independently of the example's.
fn encode_base64(bytes: &[u8]) -> String {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for &b in bytes {
        bits = bits << 8 | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(char::from(ALPHABET[(bits >> n) as usize & 63]));
        }
    }
    if n > 0 {
        out.push(char::from(ALPHABET[(bits << (6 - n)) as usize & 63]));
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    assert_eq!(text.len() % 4, 0, "base64 length: {text:?}");
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64: {text:?}"));
        bits = bits << 6 | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn sample_file() {
    assert_trace(SAMPLE_REQUESTS, SAMPLE, SAMPLE_TRACE);
}

#[test]
fn sample_file_is_crlf_only() {
    for (i, &b) in SAMPLE.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(SAMPLE[i - 1], b'\r', "bare LF at byte {i} of the sample");
        }
    }
}

#[test]
fn split_does_not_change_the_trace() {
    let whole = merge_data(trace(SAMPLE_REQUESTS, SAMPLE));
    for n in [1, 2, 3, 5, 7, 16, 100, SAMPLE.len(), SAMPLE.len() + 1] {
        let split = n.to_string();
        let mut args = SAMPLE_REQUESTS.to_vec();
        args.extend(["--split", &split]);
        let lines = trace(&args, SAMPLE);
        if n == 1 {
            // One byte at a time: every byte of body is its own piece.
            let pieces = lines.iter().filter(|l| l.starts_with(DATA_PREFIX)).count();
            assert_eq!(pieces, "hellohello world".len());
        }
        assert_eq!(merge_data(lines), whole, "--split {n}");
    }
}

#[test]
fn bare_lf_is_an_invalid_response() {
    let input = b"HTTP/1.1 200 OK\nContent-Length: 0\n\n";
    let expected = [
        r#"{"event":"error","kind":"invalid","message":"invalid response at byte 15 of the stream: line ends in a bare LF"}"#,
    ];
    assert_trace(&[], input, &expected);
    assert_trace(&["--split", "1", "--eof"], input, &expected);
}

#[test]
fn nothing_is_printed_after_an_error() {
    // The second response is never parsed: the chunk data of the first is
    // not followed by CRLF.
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_trace(
        &["--request", "GET", "--request", "GET", "--eof"],
        input,
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Transfer-Encoding","chunked"]]}"#,
            r#"{"event":"data","b64":"YWJj"}"#,
            r#"{"event":"error","kind":"invalid","message":"invalid response at byte 53 of the stream: chunk data not followed by CRLF"}"#,
        ],
    );
}

#[test]
fn eof_mid_body_is_closed_with_the_unanswered_ids() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
    let expected = [
        r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Length","10"]]}"#,
        r#"{"event":"data","b64":"aGVsbG8="}"#,
        r#"{"event":"error","kind":"closed","message":"connection closed: 2 request(s) unanswered (#0: body cut short; #1: no response, may have been processed)","unanswered":[0,1]}"#,
    ];
    let args = ["--request", "GET", "--request", "GET", "--eof"];
    assert_trace(&args, input, &expected);
    let mut split = args.to_vec();
    split.extend(["--split", "4"]);
    assert_eq!(merge_data(trace(&split, input)), expected);

    // Without --eof the connection just waits for more.
    assert_trace(&args[..4], input, &expected[..2]);
}

#[test]
fn eof_before_any_response() {
    assert_trace(
        &["--eof"],
        b"",
        &[
            r#"{"event":"error","kind":"closed","message":"connection closed: 1 request(s) unanswered (#0: no response, may have been processed)","unanswered":[0]}"#,
        ],
    );
    assert_trace(&[], b"", &[]);
}

#[test]
fn close_delimited_body_ends_at_eof() {
    assert_eq!(
        merge_data(trace(
            &["--eof", "--split", "3"],
            b"HTTP/1.0 200 OK\r\n\r\nabc"
        )),
        [
            r#"{"event":"headers","status":200,"reason":"OK","headers":[]}"#,
            r#"{"event":"data","b64":"YWJj"}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
}

#[test]
fn connection_close_leaves_pipelined_requests_unanswered() {
    assert_trace(
        &[
            "--request",
            "GET",
            "--request",
            "GET",
            "--request",
            "HEAD",
            "--eof",
        ],
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Connection","close"],["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
            r#"{"event":"error","kind":"closed","message":"connection closed: 2 request(s) unanswered (#1: not processed, safe to resend; #2: not processed, safe to resend)","unanswered":[1,2]}"#,
        ],
    );
}

#[test]
fn connect_hands_over_the_rest_as_a_tunnel() {
    let input =
        b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01\x00\xffHTTP/1.1 200 OK\r\n\r\n";
    let mut rest = b"\x16\x03\x01\x00\xff".to_vec();
    rest.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
    let tunnel = format!(r#"{{"event":"tunnel","b64":"{}"}}"#, encode_base64(&rest));
    let expected = [
        r#"{"event":"headers","status":200,"reason":"Connection Established","headers":[]}"#,
        tunnel.as_str(),
    ];
    for split in ["1", "7", "40", "41", "1000"] {
        assert_trace(
            &["--request", "CONNECT", "--split", split, "--eof"],
            input,
            &expected,
        );
    }
    // Nothing after the head: an empty tunnel.
    assert_trace(
        &["--request", "CONNECT", "--eof"],
        b"HTTP/1.1 200 OK\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[]}"#,
            r#"{"event":"tunnel","b64":""}"#,
        ],
    );
}

#[test]
fn refused_connect_is_an_ordinary_response() {
    assert_trace(
        &["--request", "CONNECT"],
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
        &[
            r#"{"event":"headers","status":407,"reason":"Proxy Authentication Required","headers":[["Content-Length","2"]]}"#,
            r#"{"event":"data","b64":"bm8="}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
}

#[test]
fn switching_protocols_to_an_upgrade_request() {
    assert_trace(
        &["--request", "GET:upgrade", "--split", "2"],
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
        &[
            r#"{"event":"headers","status":101,"reason":"Switching Protocols","headers":[["Upgrade","websocket"],["Connection","Upgrade"]]}"#,
            r#"{"event":"tunnel","b64":"gQVoZWxsbw=="}"#,
        ],
    );
    // A 101 nobody asked for.
    assert_trace(
        &[],
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        &[
            r#"{"event":"error","kind":"unsupported","message":"unsupported response: 101 Switching Protocols to a request that did not ask for it"}"#,
        ],
    );
}

#[test]
fn expect_100_continue() {
    assert_trace(
        &["--request", "PUT:expect100"],
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        &[
            r#"{"event":"continue"}"#,
            r#"{"event":"headers","status":201,"reason":"Created","headers":[["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
    // After `100 Continue` the body was sent, so the request may have been
    // processed.
    assert_trace(
        &["--request", "PUT:expect100", "--eof"],
        b"HTTP/1.1 100 Continue\r\n\r\n",
        &[
            r#"{"event":"continue"}"#,
            r#"{"event":"error","kind":"closed","message":"connection closed: 1 request(s) unanswered (#0: no response, may have been processed)","unanswered":[0]}"#,
        ],
    );
}

/// Runs the example on `input` whole, one byte at a time and in pieces of
/// 3 bytes, and expects the same trace (data pieces merged) each time.
fn assert_trace_any_split(args: &[&str], input: &[u8], expected: &[&str]) {
    for split in [None, Some("1"), Some("3")] {
        let mut all = args.to_vec();
        if let Some(n) = split {
            all.extend(["--split", n]);
        }
        assert_eq!(merge_data(trace(&all, input)), expected, "replay {all:?}");
    }
}

#[test]
fn a_request_behind_expect_100_is_sent_after_continue() {
    let args = ["--request", "PUT:expect100", "--request", "GET"];
    let input = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let expected = [
        r#"{"event":"continue"}"#,
        r#"{"event":"headers","status":201,"reason":"Created","headers":[["Content-Length","0"]]}"#,
        r#"{"event":"end","trailers":[]}"#,
        r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Length","2"]]}"#,
        r#"{"event":"data","b64":"aGk="}"#,
        r#"{"event":"end","trailers":[]}"#,
    ];
    assert_trace_any_split(&args, input, &expected);
    // Both were answered: the end of stream reports nothing.
    let mut eof = args.to_vec();
    eof.push("--eof");
    assert_trace_any_split(&eof, input, &expected);
    // Sent after `100 Continue`, both may have been processed.
    assert_trace_any_split(
        &eof,
        b"HTTP/1.1 100 Continue\r\n\r\n",
        &[
            r#"{"event":"continue"}"#,
            r#"{"event":"error","kind":"closed","message":"connection closed: 2 request(s) unanswered (#0: no response, may have been processed; #1: no response, may have been processed)","unanswered":[0,1]}"#,
        ],
    );
}

#[test]
fn a_request_behind_expect_100_stays_unsent_after_a_final_answer() {
    // A final response before `100 Continue` cancels the body, and the
    // connection closes: the GET is never sent.
    let args = ["--request", "PUT:expect100", "--request", "GET"];
    let input = b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n";
    let answered = [
        r#"{"event":"headers","status":417,"reason":"Expectation Failed","headers":[["Content-Length","0"]]}"#,
        r#"{"event":"end","trailers":[]}"#,
    ];
    // Without the end of stream the GET just waits, as with the core.
    assert_trace_any_split(&args, input, &answered);
    let mut eof = args.to_vec();
    eof.push("--eof");
    let mut expected = answered.to_vec();
    expected.push(
        r#"{"event":"error","kind":"closed","message":"connection closed: 1 request(s) unanswered (#1: not processed, safe to resend)","unanswered":[1]}"#,
    );
    assert_trace_any_split(&eof, input, &expected);

    // When the core reports the close itself, the waiting requests follow
    // its own unanswered ones, in the list and in the message.
    let mut three = eof.clone();
    three.extend(["--request", "HEAD"]);
    assert_trace_any_split(
        &three,
        b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 5\r\n\r\nno",
        &[
            r#"{"event":"headers","status":417,"reason":"Expectation Failed","headers":[["Content-Length","5"]]}"#,
            r#"{"event":"data","b64":"bm8="}"#,
            r#"{"event":"error","kind":"closed","message":"connection closed: 3 request(s) unanswered (#0: body cut short; #1: not processed, safe to resend; #2: not processed, safe to resend)","unanswered":[0,1,2]}"#,
        ],
    );
    assert_trace_any_split(
        &three,
        b"",
        &[
            r#"{"event":"error","kind":"closed","message":"connection closed: 3 request(s) unanswered (#0: not processed, safe to resend; #1: not processed, safe to resend; #2: not processed, safe to resend)","unanswered":[0,1,2]}"#,
        ],
    );
}

#[test]
fn a_request_behind_an_upgrade_is_never_sent_after_a_switch() {
    // What follows the 101 head belongs to the new protocol, even bytes
    // that look like a response to the GET.
    let after = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let mut input =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_vec();
    input.extend_from_slice(after);
    let tunnel = format!(r#"{{"event":"tunnel","b64":"{}"}}"#, encode_base64(after));
    let expected = [
        r#"{"event":"headers","status":101,"reason":"Switching Protocols","headers":[["Upgrade","websocket"],["Connection","Upgrade"]]}"#,
        tunnel.as_str(),
    ];
    let args = ["--request", "GET:upgrade", "--request", "GET"];
    assert_trace_any_split(&args, &input, &expected);
    // The tunnel ends the trace: the GET is not reported at the end of
    // stream either.
    let mut eof = args.to_vec();
    eof.push("--eof");
    assert_trace_any_split(&eof, &input, &expected);
}

#[test]
fn a_request_behind_a_refused_connect_is_sent_after_the_refusal() {
    let args = ["--request", "CONNECT", "--request", "GET", "--eof"];
    assert_trace_any_split(
        &args,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno\
          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        &[
            r#"{"event":"headers","status":407,"reason":"Proxy Authentication Required","headers":[["Content-Length","2"]]}"#,
            r#"{"event":"data","b64":"bm8="}"#,
            r#"{"event":"end","trailers":[]}"#,
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Content-Length","2"]]}"#,
            r#"{"event":"data","b64":"b2s="}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
    // Cut short after the refusal: the GET was sent, so it may have been
    // processed.
    assert_trace_any_split(
        &args,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
        &[
            r#"{"event":"headers","status":407,"reason":"Proxy Authentication Required","headers":[["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
            r#"{"event":"error","kind":"closed","message":"connection closed: 1 request(s) unanswered (#1: no response, may have been processed)","unanswered":[1]}"#,
        ],
    );
    // An established tunnel: the GET is never sent.
    assert_trace_any_split(
        &args,
        b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03",
        &[
            r#"{"event":"headers","status":200,"reason":"Connection Established","headers":[]}"#,
            r#"{"event":"tunnel","b64":"FgM="}"#,
        ],
    );
}

#[test]
fn informational_then_bodiless_final() {
    assert_trace(
        &[],
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        &[
            r#"{"event":"informational","status":103,"reason":"Early Hints","headers":[["Link","</a.css>"]]}"#,
            r#"{"event":"headers","status":204,"reason":"No Content","headers":[]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
}

#[test]
fn unsupported_and_too_large() {
    assert_trace(
        &[],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        &[
            r#"{"event":"error","kind":"unsupported","message":"unsupported response: transfer coding other than chunked"}"#,
        ],
    );
    let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
    huge.extend_from_slice(b"X-Filler: ");
    huge.resize(huge.len() + 70_000, b'x');
    huge.extend_from_slice(b"\r\n");
    huge.extend_from_slice(b"\r\n");
    assert_trace(
        &[],
        &huge,
        &[
            r#"{"event":"error","kind":"too_large","message":"response too large: response head longer than 65536 bytes"}"#,
        ],
    );
}

#[test]
fn latin1_text_is_json_escaped() {
    // Reason and values hold latin-1 (é, ÿ, a C1 control), quotes,
    // backslashes and tabs; an obs-fold is replaced by one space.
    let input = b"HTTP/1.1 200 \xe9t\xe9 \"q\" \\ ok\r\n\
        X-V: a\tb\x85\xff\r\n\
        \x20folded\r\n\
        Content-Length: 0\r\n\r\n";
    assert_trace(
        &[],
        input,
        &[
            r#"{"event":"headers","status":200,"reason":"\u00e9t\u00e9 \"q\" \\ ok","headers":[["X-V","a\u0009b\u0085\u00ff folded"],["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    );
}

/// Responses with bytes outside printable ASCII where the core accepts them
/// (HTAB and obs-text 0x80 to 0xFF in reason phrases, field values and
/// trailer values), and the exact lines they print: one `\u00XX` per byte.
const LATIN1_CASES: &[(&[u8], &[&str])] = &[
    // UTF-8 "é" is two bytes, so two code points, never one.
    (
        b"HTTP/1.1 200 caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"caf\u00c3\u00a9","headers":[["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    ),
    (
        b"HTTP/1.1 404 \x80\tNot\x7e\xa0Found\xff\r\nContent-Length: 0\r\n\r\n",
        &[
            r#"{"event":"headers","status":404,"reason":"\u0080\u0009Not~\u00a0Found\u00ff","headers":[["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    ),
    (
        b"HTTP/1.1 200 OK\r\n\
          X-A: \x80\x9f\xa0\xbf\xc0\xdf\xe0\xef\xf0\xff\r\n\
          X-B: \xc3\x83\t\"\\\r\n\
          Content-Length: 0\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["X-A","\u0080\u009f\u00a0\u00bf\u00c0\u00df\u00e0\u00ef\u00f0\u00ff"],["X-B","\u00c3\u0083\u0009\"\\"],["Content-Length","0"]]}"#,
            r#"{"event":"end","trailers":[]}"#,
        ],
    ),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          1\r\n\xe9\r\n\
          0\r\nX-T: sum\t\xe9\xc3\xa9\xff\r\nX-U: \x85 \"x\"\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Transfer-Encoding","chunked"]]}"#,
            r#"{"event":"data","b64":"6Q=="}"#,
            r#"{"event":"end","trailers":[["X-T","sum\u0009\u00e9\u00c3\u00a9\u00ff"],["X-U","\u0085 \"x\""]]}"#,
        ],
    ),
];

#[test]
fn bytes_outside_printable_ascii_are_escaped_one_by_one() {
    for (input, expected) in LATIN1_CASES {
        assert_trace(&[], input, expected);
        assert_eq!(
            merge_data(trace(&["--split", "1"], input)),
            *expected,
            "--split 1 on {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// The JSON string of latin-1 bytes under the trace's escaping rule,
/// written independently of the example's.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\u{b:04x}")),
        }
    }
    out.push('"');
    out
}

#[test]
fn every_byte_the_core_accepts_in_text_is_printed_exactly() {
    // Every byte a reason phrase or field value may hold: HTAB, SP and
    // 0x21 to 0xFF but DEL (values do not start or end in whitespace).
    let text: Vec<u8> = (0x21..=0xffu8)
        .filter(|&b| b != 0x7f)
        .flat_map(|b| [b, if b % 7 == 0 { b'\t' } else { b' ' }])
        .chain([b'!'])
        .collect();
    let mut input = b"HTTP/1.1 200 ".to_vec();
    input.extend_from_slice(&text);
    input.extend_from_slice(b"\r\nTransfer-Encoding: chunked\r\nX-All: ");
    input.extend_from_slice(&text);
    input.extend_from_slice(b"\r\n\r\n0\r\nX-Trailer: ");
    input.extend_from_slice(&text);
    input.extend_from_slice(b"\r\n\r\n");
    let text = escaped(&text);
    let headers = format!(
        r#"{{"event":"headers","status":200,"reason":{text},"headers":[["Transfer-Encoding","chunked"],["X-All",{text}]]}}"#
    );
    let end = format!(r#"{{"event":"end","trailers":[["X-Trailer",{text}]]}}"#);
    assert!(text.contains(r"~\u0009\u0080 \u0081") && text.ends_with(r#"\u00ff !""#));
    for args in [&[][..], &["--split", "1"], &["--split", "9"]] {
        assert_trace(args, &input, &[&headers, &end]);
    }
}

#[test]
fn message_text_is_ascii_json() {
    let cases = [
        ("plain text", r#""plain text""#),
        ("\"q\" \\ /", r#""\"q\" \\ /""#),
        (
            "\t\n\r\x00\x1f\x7f",
            r#""\u0009\u000a\u000d\u0000\u001f\u007f""#,
        ),
        ("\u{80}é\u{ff}", r#""\u0080\u00e9\u00ff""#),
        ("€ \u{fffd}", r#""\u20ac \ufffd""#),
        ("😀 \u{10ffff}", r#""\ud83d\ude00 \udbff\udfff""#),
    ];
    for (text, expected) in cases {
        let mut out = String::new();
        json::json_str(&mut out, text.chars());
        assert_eq!(out, expected, "{text:?}");
    }
    let mut out = String::new();
    json::json_latin1(&mut out, b"\x00\x7f\x80\xc3\xa9\xff~");
    assert_eq!(out, r#""\u0000\u007f\u0080\u00c3\u00a9\u00ff~""#);
}

#[test]
fn base64_of_every_tail_length() {
    for body in [
        &b"f"[..],
        b"fo",
        b"foo",
        b"foob",
        b"fooba",
        b"foobar",
        b"\xff\xfe\xfd\x00",
    ] {
        let mut input =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        input.extend_from_slice(body);
        let lines = trace(&[], &input);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[1], data_line(body));
    }
    assert_eq!(encode_base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(encode_base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(encode_base64(b"foob"), "Zm9vYg==");
    assert_eq!(decode_base64("Zm9vYg=="), b"foob");
}

#[test]
fn trailers_are_printed_with_end() {
    assert_trace(
        &["--split", "5"],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: two words\r\n\r\n",
        &[
            r#"{"event":"headers","status":200,"reason":"OK","headers":[["Transfer-Encoding","chunked"]]}"#,
            r#"{"event":"end","trailers":[["A","1"],["B","two words"]]}"#,
        ],
    );
}

#[test]
fn bad_arguments_exit_with_status_2() {
    for args in [
        &["--bogus"][..],
        &["--split"],
        &["--split", "0"],
        &["--split", "-1"],
        &["--split", "many"],
        &["--request"],
        &["--request", "GET:sideways"],
        &["--request", "G T"],
        &["--request", ""],
        // Refused whenever sent, even if they would wait behind a request
        // the core holds up.
        &["--request", "PUT:expect100", "--request", "G T"],
        &["--request", "CONNECT", "--request", "GET:sideways"],
        &[
            "--request",
            "GET:upgrade",
            "--request",
            "GET",
            "--request",
            "",
        ],
        &["GET"],
    ] {
        let output = replay(args, b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(output.status.code(), Some(2), "replay {args:?}");
        assert!(output.stdout.is_empty(), "replay {args:?} printed events");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("usage:"), "replay {args:?}: {stderr}");
    }
}

#[test]
fn help_goes_to_stdout() {
    let output = replay(&["--help"], b"");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("usage: replay"));
}

/// A trace file as an adapter writes it (`dugong_net::trace`): the sample
/// read in `piece`-byte reads, with the requests and, optionally, the end
/// of stream recorded.
fn trace_file(name: &str, piece: usize, eof: bool) -> std::path::PathBuf {
    let pieces: Vec<&[u8]> = SAMPLE.chunks(piece).collect();
    write_trace_file(name, &["GET", "HEAD", "GET"], &pieces, eof)
}

/// A trace file as an adapter writes it: the `requests` (in the request
/// syntax) each followed by its bytes, then the `pieces` as they were read,
/// then the end of stream if `eof`.
fn write_trace_file(
    name: &str,
    requests: &[&str],
    pieces: &[&[u8]],
    eof: bool,
) -> std::path::PathBuf {
    let mut data = b"# dugong trace v1: connection to http://example.com/\n".to_vec();
    let mut record = |kind: &str, bytes: &[u8]| {
        data.extend_from_slice(format!("@0.000001 {kind} {}\n", bytes.len()).as_bytes());
        data.extend_from_slice(bytes);
        data.push(b'\n');
    };
    record("note", b"connected to 127.0.0.1:80");
    for spec in requests {
        let method = spec.split(':').next().unwrap_or(spec);
        record("request", spec.as_bytes());
        record(
            "send",
            format!("{method} / HTTP/1.1\r\nHost: example.com\r\n\r\n").as_bytes(),
        );
    }
    for piece in pieces {
        record("recv", piece);
    }
    if eof {
        record("eof", b"");
    }
    let path =
        std::env::temp_dir().join(format!("dugong-replay-{}-{name}.trace", std::process::id()));
    std::fs::write(&path, data).expect("write the trace file");
    path
}

#[test]
fn a_trace_file_replays_its_received_side_with_its_requests() {
    for piece in [1, 7, SAMPLE.len()] {
        let path = trace_file(&format!("pieces-{piece}"), piece, true);
        let lines = trace(&["--trace", path.to_str().unwrap()], b"");
        let expected: Vec<String> = SAMPLE_TRACE.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(merge_data(lines), merge_data(expected), "pieces of {piece}");
        std::fs::remove_file(path).ok();
    }
}

#[test]
fn a_trace_files_requests_yield_to_given_ones_and_eof_is_replayed() {
    // Cut inside the third response: with the trace's EOF, the third
    // request is reported unanswered.
    let cut = SAMPLE.len() - 10;
    let mut data = b"# dugong trace v1: x\n".to_vec();
    data.extend_from_slice(format!("@0 recv {cut}\n").as_bytes());
    data.extend_from_slice(&SAMPLE[..cut]);
    data.extend_from_slice(b"\n@0 eof 0\n\n");
    let path = std::env::temp_dir().join(format!("dugong-replay-{}-cut.trace", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let lines = trace(
        &[
            "--request",
            "GET",
            "--request",
            "HEAD",
            "--request",
            "GET",
            "--trace",
            path.to_str().unwrap(),
        ],
        b"",
    );
    let last = lines.last().expect("events");
    assert!(
        last.starts_with(r#"{"event":"error","kind":"closed""#),
        "{last}"
    );
    assert!(last.ends_with(r#""unanswered":[2]}"#), "{last}");
    std::fs::remove_file(path).ok();
}

#[test]
fn a_trace_files_requests_wait_as_given_ones_do() {
    // The PUT waits for `100 Continue`, so the GET was sent after it (an
    // adapter records a request when it starts it; the order is the same).
    let input: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let requests = ["PUT:expect100", "GET"];
    let expected = merge_data(trace(
        &["--request", requests[0], "--request", requests[1], "--eof"],
        input,
    ));
    assert_eq!(expected.len(), 6, "{expected:?}");
    for piece in [1, 25, input.len()] {
        let pieces: Vec<&[u8]> = input.chunks(piece).collect();
        let name = format!("waiting-{piece}");
        let path = write_trace_file(&name, &requests, &pieces, true);
        let lines = trace(&["--trace", path.to_str().unwrap()], b"");
        assert_eq!(merge_data(lines), expected, "pieces of {piece}");
        std::fs::remove_file(path).ok();
    }
    // A final answer instead of `100 Continue`: the GET never went out.
    let path = write_trace_file(
        "waiting-417",
        &requests,
        &[b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"],
        true,
    );
    let lines = trace(&["--trace", path.to_str().unwrap()], b"");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            r#"{"event":"error","kind":"closed","message":"connection closed: 1 request(s) unanswered (#1: not processed, safe to resend)","unanswered":[1]}"#
        )
    );
    std::fs::remove_file(path).ok();
}

#[test]
fn bad_trace_files_exit_with_status_2() {
    let dir = std::env::temp_dir();
    let bad = |name: &str, data: &[u8]| {
        let path = dir.join(format!("dugong-replay-{}-{name}.trace", std::process::id()));
        std::fs::write(&path, data).unwrap();
        path
    };
    let cases = [
        bad("not-a-trace", b"HTTP/1.1 200 OK\r\n\r\n"),
        bad("truncated", b"# dugong trace v1: x\n@0 recv 50\nshort\n"),
        bad("no-length", b"# dugong trace v1: x\n@0 recv\n"),
        dir.join("dugong-replay-no-such-file.trace"),
    ];
    for path in &cases {
        let output = replay(&["--trace", path.to_str().unwrap()], b"");
        assert_eq!(output.status.code(), Some(2), "{}", path.display());
        assert!(output.stdout.is_empty());
        std::fs::remove_file(path).ok();
    }
    let path = trace_file("split", 5, false);
    let output = replay(&["--split", "3", "--trace", path.to_str().unwrap()], b"");
    assert_eq!(output.status.code(), Some(2), "--split with --trace");
    std::fs::remove_file(path).ok();
}
