//! `replay`: feeds a raw response stream through the state machine and
//! prints the event trace, one JSON object per line.
//!
//! ```text
//! cargo run -q -p dugong-proto --example replay -- \
//!     [--request METHOD[:expect100|:upgrade]]... [--split N] [--eof] < response-bytes
//! ```
//!
//! - `--request METHOD[:FLAG]`: one per request, in order (default: one
//!   `GET`); the request given *i*-th (from 0) has id *i*. `PUT:expect100`
//!   sends `Expect: 100-continue` with a small body held back for
//!   `100 Continue`; `GET:upgrade` sends `Connection: upgrade` and
//!   `Upgrade: websocket`; `CONNECT` uses the authority-form target
//!   `example.com:443`. Every request carries `Host: example.com`; the
//!   request bytes go nowhere.
//!
//!   Each request is sent as soon as the connection accepts it, as a driver
//!   would send it: the connection is offered the next unsent request at
//!   the start, after each piece of input is fed and after each event is
//!   printed. A request the core refuses at that point (`Error::State`:
//!   behind a `PUT:expect100` whose body waits for `100 Continue`, behind a
//!   `CONNECT` or `GET:upgrade` until the server refuses it, or on a
//!   closing connection, such as after a final response that cancelled a
//!   held body) waits, and every request after it waits behind it. So a
//!   request behind `PUT:expect100` goes out after the `continue` event,
//!   and never if a final response comes first (that cancels the held body,
//!   so the connection is closing); one behind a `CONNECT` goes out after
//!   the end of a refusal such as `407`; after a `tunnel` event nothing is
//!   sent. A request the core refuses whatever the state
//!   (`Error::InvalidRequest`) or an unknown flag is a bad argument.
//! - `--split N`: feed stdin N bytes at a time (N at least 1; default: all
//!   at once), printing the events after each piece.
//! - `--eof`: tell the connection the peer closed after the input.
//! - `--trace FILE`: instead of stdin, replay the received side of a
//!   traffic trace written by an adapter (`DUGONG_TRACEFILE`): its `recv`
//!   records as the pieces (exactly as they were read), an `eof` record as
//!   the end of stream, and its `request` records as the requests unless
//!   `--request` is given.
//!
//! Each event is one line:
//!
//! ```text
//! {"event":"continue"}
//! {"event":"informational","status":103,"reason":"Early Hints","headers":[["Link","</a.css>"]]}
//! {"event":"headers","status":200,"reason":"OK","headers":[["Content-Length","5"]]}
//! {"event":"data","b64":"aGVsbG8="}
//! {"event":"end","trailers":[]}
//! {"event":"tunnel","b64":"..."}
//! {"event":"error","kind":"closed","message":"...","unanswered":[1]}
//! ```
//!
//! The output is pure ASCII. Every byte of a reason phrase, header name or
//! value and trailer name or value is one code point, U+0000 to U+00FF
//! (latin-1); in its JSON string `"` and `\` are escaped with a backslash,
//! printable ASCII (0x20 to 0x7E) is written as is, and every other byte
//! (the controls 0x00 to 0x1F and 0x7F, and 0x80 to 0xFF) as `\u00XX` in
//! lowercase hex: the byte 0xC3 is `\u00c3`, never UTF-8. The error
//! `message` is Unicode text, printed by the same rule: every character
//! outside printable ASCII as `\uXXXX` (two escapes, a UTF-16 surrogate
//! pair, above U+FFFF).
//!
//! Data pieces may be split anywhere: concatenate them. After a `2xx` to
//! `CONNECT` or a `101` to an upgrade request, the `headers` event is
//! followed by one `tunnel` event holding every byte of the input after
//! that head, and nothing more is parsed.
//! `kind` is `invalid`, `unsupported`, `closed` or `too_large`; `unanswered`
//! (the ids of the requests that got no complete response) is present for
//! `closed` only. After an error nothing more is printed.
//!
//! Requests still waiting (never sent) at the end of stream (`--eof`, or a
//! trace's `eof` record) are unanswered and not processed: if the core
//! reports a `closed` error, their ids follow its own in `unanswered`, and
//! its `message` names them too; if it reports no error (every request
//! sent was answered), one `closed` error names them alone, such as
//! `{"event":"error","kind":"closed","message":"connection closed: 1
//! request(s) unanswered (#1: not processed, safe to resend)","unanswered":[1]}`.
//! Without an end of stream, waiting requests just wait: nothing is
//! printed for them.
//!
//! The exit status is 0 whatever the input (errors in the stream are
//! events), 2 for bad arguments (printed with the usage on stderr), and 1
//! only if reading stdin or writing stdout fails.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Read, Write};
use std::ops::Range;
use std::process::ExitCode;

mod json;
mod spec;

use dugong_proto::{Connection, Error, Event, Fate, Response};
use json::{json_fields, json_latin1, json_str};
use spec::{send_spec, SpecError};

const USAGE: &str =
    "usage: replay [--request METHOD[:expect100|:upgrade]]... [--split N] [--eof] < response-bytes\n       replay [--request ...]... --trace FILE";

const HELP: &str = "\
Feeds the response bytes on stdin to a dugong-proto connection with the given
requests and prints one JSON object per event.

  --request METHOD[:expect100|:upgrade]  a request, in order (default: GET); each is
                                         sent once the connection accepts it
  --split N                              feed the input N bytes at a time
  --eof                                  the peer closes after the input
  --trace FILE                           replay the received side of a DUGONG_TRACEFILE
                                         trace (its pieces, its end of stream, and its
                                         requests unless --request is given); stdin unused";

/// The parsed command line.
struct Options {
    requests: Vec<String>,
    split: Option<usize>,
    eof: bool,
    trace: Option<String>,
    help: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        requests: Vec::new(),
        split: None,
        eof: false,
        trace: None,
        help: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--request" => {
                let spec = args.next().ok_or("--request needs a value")?;
                options.requests.push(spec);
            }
            "--split" => {
                let n = args.next().ok_or("--split needs a value")?;
                match n.parse::<usize>() {
                    Ok(n) if n > 0 => options.split = Some(n),
                    _ => return Err(format!("--split needs a positive integer, not {n:?}")),
                }
            }
            "--eof" => options.eof = true,
            "--trace" => options.trace = Some(args.next().ok_or("--trace needs a file")?),
            "-h" | "--help" => options.help = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.trace.is_some() && options.split.is_some() {
        return Err("--split cannot be used with --trace (a trace keeps its own pieces)".into());
    }
    Ok(options)
}

/// Appends the standard base64 encoding (with padding) of `bytes`.
fn base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
}

fn response_line(event: &str, response: &Response) -> String {
    let mut line = format!(
        "{{\"event\":\"{event}\",\"status\":{},\"reason\":",
        response.status()
    );
    json_latin1(&mut line, response.reason());
    line.push_str(",\"headers\":");
    json_fields(&mut line, response.headers());
    line.push('}');
    line
}

fn bytes_line(event: &str, bytes: &[u8]) -> String {
    let mut line = format!("{{\"event\":\"{event}\",\"b64\":\"");
    base64(&mut line, bytes);
    line.push_str("\"}");
    line
}

/// The line of an error event. A `closed` error lists after the core's
/// unanswered requests the `waiting` ones (never sent), in its `unanswered`
/// ids and in its message.
fn error_line(error: &Error, waiting: Range<u64>) -> String {
    let Error::ConnectionClosed(closed) = error else {
        let mut line = format!(
            "{{\"event\":\"error\",\"kind\":\"{}\",\"message\":",
            error.kind().as_str()
        );
        json_str(&mut line, error.to_string().chars());
        line.push('}');
        return line;
    };
    let core = closed.unanswered().iter().map(|u| (u.id.as_u64(), u.fate));
    let unanswered: Vec<(u64, Fate)> = core.chain(not_processed(waiting.clone())).collect();
    let line = closed_line(&unanswered);
    debug_assert!(
        !waiting.is_empty() || line.contains(&format!(":\"{error}\",")),
        "the message of {error:?} is worded as the core's"
    );
    line
}

/// The requests `ids`, never sent, as unanswered and not processed.
fn not_processed(ids: Range<u64>) -> impl Iterator<Item = (u64, Fate)> {
    ids.map(|id| (id, Fate::NotProcessed))
}

/// The line of a `closed` error for the `unanswered` requests (id and
/// fate, in order), its message worded as the display of the core's
/// `Error::ConnectionClosed`.
fn closed_line(unanswered: &[(u64, Fate)]) -> String {
    let mut message = format!(
        "connection closed: {} request(s) unanswered (",
        unanswered.len()
    );
    for (i, (id, fate)) in unanswered.iter().enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        let _ = write!(message, "#{id}: {fate}");
    }
    message.push(')');
    let mut line = "{\"event\":\"error\",\"kind\":\"closed\",\"message\":".to_owned();
    json_str(&mut line, message.chars());
    line.push_str(",\"unanswered\":[");
    for (i, (id, _)) in unanswered.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(line, "{id}");
    }
    line.push_str("]}");
    line
}

/// Whether to go on feeding input.
enum Flow {
    More,
    Stop,
}

/// Hands out (and drops) the request bytes waiting to be written.
fn drain_transmit(conn: &mut Connection) {
    while conn.poll_transmit().is_some() {}
}

/// The requests of the replay, in order. Each is sent as soon as the
/// connection accepts it, as a driver would send it; until then it waits,
/// and so do all after it.
struct Requests {
    specs: Vec<String>,
    /// How many were sent: `specs[sent..]` wait.
    sent: usize,
}

impl Requests {
    /// Checks every spec on a fresh connection, which refuses only what is
    /// refused at any time (an unknown flag, [`Error::InvalidRequest`]): the
    /// message of the first such refusal.
    fn new(specs: Vec<String>) -> Result<Requests, String> {
        for spec in &specs {
            match send_spec(&mut Connection::default(), spec) {
                Ok(_) => {}
                Err(SpecError::UnknownFlag(flag)) => {
                    return Err(format!("unknown request flag {flag:?} in {spec:?}"))
                }
                Err(SpecError::Rejected(e)) => {
                    return Err(format!("request {spec:?} rejected: {e}"))
                }
            }
        }
        Ok(Requests { specs, sent: 0 })
    }

    /// Writes out (nowhere) the bytes the connection has to send, such as a
    /// body released by `100 Continue`, and sends the waiting requests in
    /// order while the connection accepts them.
    fn send_ready(&mut self, conn: &mut Connection) {
        loop {
            drain_transmit(conn);
            let Some(spec) = self.specs.get(self.sent) else {
                return;
            };
            // The spec is valid (see `new`) and the connection alive (the
            // replay stops at its first error), so a refusal is an
            // `Error::State`: not now, maybe later.
            let Ok(id) = send_spec(conn, spec) else {
                return;
            };
            debug_assert_eq!(id.as_u64(), self.sent as u64, "ids count from 0");
            self.sent += 1;
        }
    }

    /// The ids of the requests not sent yet: the core numbers requests from
    /// 0 in the order they are sent, so a request's id is its index.
    fn waiting(&self) -> Range<u64> {
        self.sent as u64..self.specs.len() as u64
    }
}

/// Prints events until more input is needed, sending waiting requests
/// before each. `later` is the input not fed yet: after an upgrade it
/// belongs to the tunnel.
fn drain(
    conn: &mut Connection,
    requests: &mut Requests,
    later: &[u8],
    out: &mut impl Write,
) -> io::Result<Flow> {
    loop {
        requests.send_ready(conn);
        let line = match conn.poll_event() {
            Ok(None) => return Ok(Flow::More),
            Ok(Some(Event::Continue(_))) => "{\"event\":\"continue\"}".to_owned(),
            Ok(Some(Event::Informational(response))) => response_line("informational", &response),
            Ok(Some(Event::Headers(response))) => response_line("headers", &response),
            Ok(Some(Event::Data(data))) => bytes_line("data", &data),
            Ok(Some(Event::End { trailers })) => {
                let mut line = "{\"event\":\"end\",\"trailers\":".to_owned();
                json_fields(&mut line, &trailers);
                line.push('}');
                line
            }
            Ok(Some(Event::Upgraded { rest })) => {
                // The trace ends here: waiting requests are never sent.
                let mut tunnel = rest.to_vec();
                tunnel.extend_from_slice(later);
                writeln!(out, "{}", bytes_line("tunnel", &tunnel))?;
                return Ok(Flow::Stop);
            }
            Ok(Some(other)) => unreachable!("an event this example does not know: {other:?}"),
            Err(error) => {
                writeln!(out, "{}", error_line(&error, requests.waiting()))?;
                return Ok(Flow::Stop);
            }
        };
        writeln!(out, "{line}")?;
    }
}

/// Feeds the input in pieces ending at the offsets `cuts` (ascending, the
/// last one `input.len()`) and prints the trace. At the end of stream,
/// requests still waiting are reported as a `closed` error, if the core
/// reported none.
fn replay(
    conn: &mut Connection,
    requests: &mut Requests,
    input: &[u8],
    cuts: &[usize],
    eof: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    requests.send_ready(conn);
    let mut fed = 0;
    for &cut in cuts {
        let piece = &input[fed..cut];
        fed = cut;
        if !piece.is_empty() {
            if let Err(error) = conn.receive(piece) {
                writeln!(out, "{}", error_line(&error, requests.waiting()))?;
                return Ok(());
            }
        }
        if let Flow::Stop = drain(conn, requests, &input[fed..], out)? {
            return Ok(());
        }
    }
    if eof {
        conn.receive_eof();
        let flow = drain(conn, requests, &[], out)?;
        if matches!(flow, Flow::More) && !requests.waiting().is_empty() {
            let unanswered: Vec<_> = not_processed(requests.waiting()).collect();
            writeln!(out, "{}", closed_line(&unanswered))?;
        }
    }
    Ok(())
}

/// The parts of a traffic trace (the format of `dugong_net::trace`) that a
/// replay needs.
struct Trace {
    requests: Vec<String>,
    pieces: Vec<Vec<u8>>,
    eof: bool,
}

impl Trace {
    /// Reads `# dugong trace v1...` then records `@<secs> <kind> <len>\n`,
    /// `<len>` bytes, `\n`.
    fn parse(data: &[u8]) -> Result<Trace, String> {
        if !data.starts_with(b"# dugong trace v1") {
            return Err("not a dugong trace".into());
        }
        let mut trace = Trace {
            requests: Vec::new(),
            pieces: Vec::new(),
            eof: false,
        };
        let line_end = |d: &[u8]| d.iter().position(|&b| b == b'\n');
        let mut rest = &data[line_end(data).map_or(data.len(), |i| i + 1)..];
        while !rest.is_empty() {
            let eol = line_end(rest).ok_or("truncated record header")?;
            let header = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad record header")?;
            let mut fields = header.split(' ').skip(1);
            let kind = fields.next().ok_or("record without a kind")?;
            let len: usize = fields
                .next()
                .and_then(|l| l.parse().ok())
                .ok_or("bad record length")?;
            let body = rest.get(eol + 1..eol + 1 + len).ok_or("truncated record")?;
            match kind {
                "recv" => trace.pieces.push(body.to_vec()),
                "eof" => trace.eof = true,
                "request" => trace
                    .requests
                    .push(String::from_utf8_lossy(body).into_owned()),
                _ => {}
            }
            rest = rest.get(eol + 2 + len..).ok_or("truncated record")?;
        }
        Ok(trace)
    }
}

fn main() -> ExitCode {
    let options = match parse_args(
        std::env::args_os()
            .skip(1)
            .map(|arg| arg.to_string_lossy().into_owned()),
    ) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("replay: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{USAGE}\n\n{HELP}");
        return ExitCode::SUCCESS;
    }
    let trace = match &options.trace {
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|data| Trace::parse(&data))
        {
            Ok(trace) => Some(trace),
            Err(e) => {
                eprintln!("replay: trace file {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let requests = match &trace {
        Some(trace) if options.requests.is_empty() => trace.requests.clone(),
        _ => options.requests.clone(),
    };
    let requests = if requests.is_empty() {
        vec!["GET".to_owned()]
    } else {
        requests
    };
    let mut requests = match Requests::new(requests) {
        Ok(requests) => requests,
        Err(message) => {
            eprintln!("replay: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (input, cuts, eof) = match &trace {
        Some(trace) => {
            let input = trace.pieces.concat();
            let cuts = trace
                .pieces
                .iter()
                .scan(0, |end, piece| {
                    *end += piece.len();
                    Some(*end)
                })
                .collect::<Vec<_>>();
            (input, cuts, trace.eof || options.eof)
        }
        None => {
            let mut input = Vec::new();
            if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
                eprintln!("replay: reading stdin: {e}");
                return ExitCode::FAILURE;
            }
            let split = options.split.unwrap_or(input.len()).max(1);
            let mut cuts: Vec<usize> = (split..input.len()).step_by(split).collect();
            cuts.push(input.len());
            (input, cuts, options.eof)
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut conn = Connection::default();
    let replayed = replay(&mut conn, &mut requests, &input, &cuts, eof, &mut out);
    match replayed.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) needs no message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("replay: writing stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
