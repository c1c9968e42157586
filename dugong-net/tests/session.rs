//! `dugong_net::session` driven by a third driver: a scripted, in-memory
//! one, with no sockets, no threads and no sleeping, to show that a driver
//! that is neither the blocking nor the tokio adapter can trust the session.
//!
//! # The scripted driver
//!
//! [`Driver`] runs the loop every real driver runs over a [`Session`] and a
//! [`Reader`] (modelled on `dugong-blocking`'s), with the transport replaced
//! by two scripts and the clock by a number:
//!
//! - **writing**: while the session [wants to write](Session::wants_write),
//!   the driver takes its [`io_slices`](Session::io_slices), "writes" as many
//!   bytes as the peer accepts (the [`Accept`] script; when it is empty the
//!   peer takes everything) into [`Driver::wire`], which plays the server's
//!   input, and reports them with [`Session::wrote`], or reports a failed
//!   write with [`Session::write_failed`];
//! - **reading**: the server's output is a script of [`Step`]s (bytes, a
//!   pause, its close, a failed read); a read goes through
//!   [`read_into`](dugong_proto::Connection::read_into) on
//!   [`Session::proto_mut`] (or, for a body and a large buffer, straight into
//!   the caller's buffer, as [`Reader::direct_read_len`] allows) and is judged
//!   by [`Session::read_done`] / [`Session::read_direct_done`]; the response
//!   is taken with a `Reader` called through [`Session::poll`];
//! - **waiting**: a read that finds nothing ([`Filled::Blocked`]) or a write
//!   that blocks moves the fake clock [`Driver::now`] to the session's next
//!   deadline ([`Session::poll_timeout`]) or to the end of a pause of the
//!   peer, whichever comes first, and a deadline reached is handed to
//!   [`Session::handle_timeout`]. Deadlines are so exercised to the
//!   nanosecond without sleeping; a driver that would wait with neither a
//!   deadline nor a pause to wake it panics.
//!
//! Every scenario runs in each [`Mode`]: the server's bytes delivered whole,
//! one byte per read, and one byte per read with writes also accepted one
//! byte at a time, and asserts the same results in each (most are tables of
//! cases, and bodies are taken in each [`BodyMode`] where that matters).
//!
//! # The scenarios
//!
//! 1. a request and its response (the bytes written, the head, every body
//!    mode, trailers, 1xx), and request bodies;
//! 2. pipelining, the window, a head asked for before the body is read;
//! 3. `Expect: 100-continue`: the server's `100`, the continue delay, a
//!    final answer instead;
//! 4. the builder's timeout, reading and writing, and progress restarting it;
//! 5. the peer closing or resetting, and other read errors;
//! 6. writes that fail;
//! 7. the idle check;
//! 8. the bound on bytes buffered while a write blocks;
//! 9. the `read_all` bound;
//! 10. `disconnect`;
//! 11. requests through an HTTP proxy;
//! 12. the traffic trace.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::Bytes;
use dugong_net::session::{self, Filled, Head, Progress, Reader, Session};
use dugong_net::{
    Error, ErrorKind, PerConnection, Phase, Proxy, RequestExtras, Settings, Trace, Url,
};
use dugong_proto::{
    Body, Fate, HeaderField, Instant, InvalidResponse, RequestId, Response, Unanswered,
};

// ----- the scripted transport ------------------------------------------------

/// How the transport moves bytes.
#[derive(Debug, Clone, Copy)]
struct Mode {
    name: &'static str,
    /// The most bytes one read returns (one step's bytes at most).
    read_max: usize,
    /// The most bytes one write takes.
    write_max: usize,
}

/// Every scenario runs in each of these, with the same results.
const MODES: [Mode; 3] = [
    Mode {
        name: "whole",
        read_max: usize::MAX,
        write_max: usize::MAX,
    },
    Mode {
        name: "one byte per read",
        read_max: 1,
        write_max: usize::MAX,
    },
    Mode {
        name: "one byte per read and per write",
        read_max: 1,
        write_max: 1,
    },
];

/// What the server does next, as the driver's reads see it.
#[derive(Debug, Clone)]
enum Step {
    /// These bytes are ready to read.
    Send(Vec<u8>),
    /// Nothing arrives for this long (reads would block), counted from the
    /// first read that finds the pause.
    Pause(Duration),
    /// The server closes its side: every read returns 0.
    Close,
    /// The next read fails with this error.
    Fail(io::ErrorKind),
}

/// The server sends `bytes`.
fn send(bytes: impl AsRef<[u8]>) -> Step {
    Step::Send(bytes.as_ref().to_vec())
}

/// What the peer does with the driver's writes, in order; once the script
/// is empty, it takes everything.
#[derive(Debug, Clone)]
enum Accept {
    /// It takes this many more bytes (at most the mode's `write_max` per
    /// write), then the script goes on.
    Take(usize),
    /// Writes block for this long, counted from the first write that finds
    /// the pause.
    Pause(Duration),
    /// Writes block for good.
    Stall,
    /// The next write fails with this error.
    Fail(io::ErrorKind),
}

/// What a write finds at the head of the [`Accept`] script.
enum WriteAction {
    Take(usize),
    Block,
    Fail(io::ErrorKind),
}

/// The smallest caller buffer read straight from the transport (as
/// `dugong-blocking` does for large buffers).
const DIRECT_MIN: usize = 8;

/// A driver over a scripted transport; see the module documentation.
struct Driver {
    mode: Mode,
    session: Session,
    reader: Reader,
    /// What the server sends.
    script: VecDeque<Step>,
    /// What the peer does with writes.
    accepts: VecDeque<Accept>,
    /// Every byte written: the server's input.
    wire: Vec<u8>,
    /// The fake clock.
    now: Instant,
    /// The end of the server's current pause, once a read found it.
    read_pause: Option<Instant>,
    /// The end of the peer's current write pause, once a write found it.
    write_pause: Option<Instant>,
}

impl Driver {
    /// A connection to `http://example.com/` with `settings`, the server
    /// sending `script`.
    fn new(settings: &Settings, mode: Mode, script: impl IntoIterator<Item = Step>) -> Driver {
        Driver::with(
            settings,
            PerConnection::for_origin(&origin(), None),
            mode,
            script,
        )
    }

    /// As [`new`](Self::new), with this connection's own `per`.
    fn with(
        settings: &Settings,
        per: PerConnection,
        mode: Mode,
        script: impl IntoIterator<Item = Step>,
    ) -> Driver {
        Driver {
            mode,
            session: Session::new(settings, per),
            reader: Reader::new(settings.max_read_all()),
            script: script.into_iter().collect(),
            accepts: VecDeque::new(),
            wire: Vec::new(),
            now: Instant::ZERO,
            read_pause: None,
            write_pause: None,
        }
    }

    /// The peer handles writes as `accepts` says.
    fn accepting(mut self, accepts: impl IntoIterator<Item = Accept>) -> Driver {
        self.accepts = accepts.into_iter().collect();
        self
    }

    /// How many bytes of the server's script are still to be read.
    fn unread(&self) -> usize {
        self.script
            .iter()
            .map(|step| match step {
                Step::Send(bytes) => bytes.len(),
                _ => 0,
            })
            .sum()
    }

    /// The time on the fake clock.
    fn elapsed(&self) -> Duration {
        self.now.elapsed_since_origin()
    }

    // ----- sending -----------------------------------------------------------

    /// Queues a request and writes it.
    fn request<H: HeaderField>(
        &mut self,
        method: &str,
        target: &str,
        headers: impl IntoIterator<Item = H>,
        body: Body,
    ) -> Result<RequestId, Error> {
        let id = self.session.queue_request(method, target, headers, body)?;
        self.flush()?;
        Ok(id)
    }

    /// Writes everything queued. While a write blocks, reads what arrives
    /// (bounded by `max_buffered`) or waits.
    fn flush(&mut self) -> Result<(), Error> {
        while self.session.wants_write() {
            self.session.check_send()?;
            match self.next_write() {
                WriteAction::Fail(kind) => {
                    return Err(self.session.write_failed(io::Error::from(kind)));
                }
                WriteAction::Take(max) => {
                    let n = self.write(max);
                    if let Some(Accept::Take(left)) = self.accepts.front_mut() {
                        *left -= n;
                        if *left == 0 {
                            self.accepts.pop_front();
                        }
                    }
                }
                WriteAction::Block => {
                    if !self.session.eof() {
                        self.session.check_buffered()?;
                    }
                    if !self.read_once()? {
                        self.wait()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// What the next write does, as the [`Accept`] script says now.
    fn next_write(&mut self) -> WriteAction {
        loop {
            match self.accepts.front() {
                None => return WriteAction::Take(self.mode.write_max),
                Some(Accept::Take(0)) => {
                    self.accepts.pop_front();
                }
                Some(Accept::Take(left)) => {
                    return WriteAction::Take(self.mode.write_max.min(*left))
                }
                Some(Accept::Stall) => return WriteAction::Block,
                Some(Accept::Fail(kind)) => {
                    let kind = *kind;
                    self.accepts.pop_front();
                    return WriteAction::Fail(kind);
                }
                Some(Accept::Pause(d)) => {
                    let end = *self.write_pause.get_or_insert(self.now + *d);
                    if end > self.now {
                        return WriteAction::Block;
                    }
                    self.write_pause = None;
                    self.accepts.pop_front();
                }
            }
        }
    }

    /// One vectored write of at most `max` bytes of what the session has
    /// queued; returns how many were written.
    fn write(&mut self, max: usize) -> usize {
        let mut slots = [IoSlice::new(&[]); 16];
        let queued = self.session.proto().transmit_len();
        let slices = self.session.io_slices(&mut slots);
        let offered: u64 = slices.iter().map(|s| s.len() as u64).sum();
        if slices.len() < 16 {
            assert_eq!(offered, queued, "io_slices offers everything queued");
        }
        let mut n = 0;
        for slice in slices {
            let take = slice.len().min(max - n);
            self.wire.extend_from_slice(&slice[..take]);
            n += take;
            if n == max {
                break;
            }
        }
        assert!(n > 0, "wants_write with nothing in io_slices");
        self.session.wrote(n);
        n
    }

    /// Writes what is queued while reading: a peer that stopped reading is
    /// not an error here (its responses may still be read).
    fn flush_while_receiving(&mut self) -> Result<(), Error> {
        match self.flush() {
            Err(e) if e.closed().is_some() && self.session.send_closed() => Ok(()),
            other => other,
        }
    }

    // ----- receiving ---------------------------------------------------------

    /// Drops a pause of the server that has ended; starts the clock of one
    /// just reached.
    fn settle_read_pause(&mut self) {
        while let Some(Step::Pause(d)) = self.script.front() {
            let end = *self.read_pause.get_or_insert(self.now + *d);
            if end > self.now {
                return;
            }
            self.read_pause = None;
            self.script.pop_front();
        }
    }

    /// One read from the scripted transport: into `direct` (the caller's
    /// buffer) if given, else into the state machine's receive buffer; at
    /// most the mode's `read_max` bytes, and never past the current step.
    fn transport_read(&mut self, direct: Option<&mut [u8]>) -> io::Result<usize> {
        self.settle_read_pause();
        match self.script.front_mut() {
            None | Some(Step::Pause(_)) => Err(io::ErrorKind::WouldBlock.into()),
            Some(Step::Close) => Ok(0),
            Some(Step::Fail(kind)) => {
                let error = io::Error::from(*kind);
                self.script.pop_front();
                Err(error)
            }
            Some(Step::Send(bytes)) => {
                let mut n = bytes.len().min(self.mode.read_max);
                let result = match direct {
                    Some(buf) => {
                        n = n.min(buf.len());
                        buf[..n].copy_from_slice(&bytes[..n]);
                        Ok(n)
                    }
                    None => self.session.proto_mut().read_into(n, |buf| {
                        buf.copy_from_slice(&bytes[..n]);
                        Ok(n)
                    }),
                };
                bytes.drain(..n);
                if bytes.is_empty() {
                    self.script.pop_front();
                }
                result
            }
        }
    }

    /// Reads once into the state machine; false if nothing was there.
    fn read_once(&mut self) -> Result<bool, Error> {
        if self.session.eof() {
            return Ok(false);
        }
        let result = self.transport_read(None);
        Ok(match self.session.read_done(result)? {
            Filled::Data(n) => {
                assert!(n > 0);
                true
            }
            Filled::Eof => true,
            Filled::Blocked => false,
        })
    }

    /// Nothing can move: the clock goes on to the session's next deadline
    /// or the end of a pause, whichever comes first; a deadline reached is
    /// handled.
    fn wait(&mut self) -> Result<(), Error> {
        let deadline = self.session.poll_timeout(self.now);
        let next = [deadline, self.read_pause, self.write_pause]
            .into_iter()
            .flatten()
            .min()
            .expect("the driver would wait forever: nothing arrives and no deadline runs");
        self.now = self.now.max(next);
        if deadline.is_some_and(|d| d <= self.now) {
            self.session.handle_timeout(self.now)?;
        }
        Ok(())
    }

    /// The reader needs more: writes what is queued, then reads once or
    /// waits.
    fn receive_some(&mut self) -> Result<(), Error> {
        self.session.check_more()?;
        self.flush_while_receiving()?;
        if !self.read_once()? {
            self.wait()?;
        }
        Ok(())
    }

    /// After a reader call: its result once done (writing what it released),
    /// or `None` once bytes moved or time passed, to call again.
    fn advance<T>(&mut self, progress: Result<Progress<T>, Error>) -> Result<Option<T>, Error> {
        match progress? {
            Progress::Done(value) => {
                self.flush_while_receiving()?;
                Ok(Some(value))
            }
            Progress::Pending => {
                self.receive_some()?;
                Ok(None)
            }
        }
    }

    /// A broken connection repeats its error before a body read (a body
    /// that ended is still reported as ended).
    fn check_in_body(&self) -> Result<(), Error> {
        if self.reader.in_body() {
            self.session.check()?;
        }
        Ok(())
    }

    /// The next head: a `100 Continue` (the server's, or the one the
    /// continue delay makes up), or a final head.
    fn head(&mut self) -> Result<Head, Error> {
        loop {
            self.session.check()?;
            if !self.reader.in_body() {
                if let Some(id) = self.session.take_released() {
                    return Ok(Head::Continue(id));
                }
            }
            let progress = self.session.poll(|p| self.reader.poll_head(p));
            if let Some(head) = self.advance(progress)? {
                return Ok(head);
            }
        }
    }

    /// The next final head (panics on a `100 Continue`).
    fn response(&mut self) -> Result<Response, Error> {
        match self.head()? {
            Head::Final(response) => Ok(response),
            Head::Continue(id) => panic!("a final head, not a continue for #{}", id.as_u64()),
        }
    }

    /// Body bytes into `buf`; 0 at the end. A large buffer is read into
    /// straight from the transport when the reader allows.
    fn body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            self.check_in_body()?;
            if buf.len() >= DIRECT_MIN {
                if let Some(n) = self.read_direct(buf)? {
                    return Ok(n);
                }
            }
            let progress = self.session.poll(|p| self.reader.poll_body(p, buf));
            if let Some(n) = self.advance(progress)? {
                return Ok(n);
            }
        }
    }

    /// A read straight into `buf`, if the reader allows one now.
    fn read_direct(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        loop {
            let max = self.reader.direct_read_len(self.session.proto(), buf.len());
            if max == 0 || self.session.eof() || self.session.proto().transmit_len() > 0 {
                return Ok(None);
            }
            let result = self.transport_read(Some(&mut buf[..max]));
            match self.session.read_direct_done(result, buf)? {
                Filled::Data(n) => return Ok(Some(n)),
                Filled::Eof => return Ok(None),
                Filled::Blocked => self.wait()?,
            }
        }
    }

    /// The next piece of the body; `None` at its end.
    fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            self.check_in_body()?;
            let progress = self.session.poll(|p| self.reader.poll_chunk(p));
            if let Some(piece) = self.advance(progress)? {
                return Ok(piece);
            }
        }
    }

    /// The rest of the body, bounded by `max_read_all`.
    fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        loop {
            self.check_in_body()?;
            let progress = self
                .session
                .poll(|p| self.reader.poll_read_all(p, &mut out));
            if let Some(()) = self.advance(progress)? {
                return Ok(out);
            }
        }
    }

    /// Skips the rest of the body.
    fn discard(&mut self) -> Result<(), Error> {
        loop {
            self.check_in_body()?;
            let progress = self.session.poll(|p| self.reader.poll_discard(p));
            if let Some(()) = self.advance(progress)? {
                return Ok(());
            }
        }
    }

    /// The body read `how`: its bytes (`None` when discarded).
    fn take_body(&mut self, how: BodyMode) -> Result<Option<Vec<u8>>, Error> {
        let mut all = Vec::new();
        match how {
            BodyMode::Buffer(size) => {
                let mut buf = vec![0; size];
                loop {
                    let n = self.body(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    assert!(n <= size);
                    all.extend_from_slice(&buf[..n]);
                }
            }
            BodyMode::Alternating(sizes) => {
                let mut buf = [0; 64];
                for size in sizes.into_iter().cycle() {
                    let n = self.body(&mut buf[..size])?;
                    if n == 0 {
                        break;
                    }
                    assert!(n <= size);
                    all.extend_from_slice(&buf[..n]);
                }
            }
            BodyMode::Chunks => {
                while let Some(piece) = self.chunk()? {
                    assert!(!piece.is_empty(), "an empty piece before the end");
                    all.extend_from_slice(&piece);
                }
            }
            BodyMode::All => all = self.read_all()?,
            BodyMode::Discard => {
                self.discard()?;
                return Ok(None);
            }
        }
        Ok(Some(all))
    }

    /// The idle check before a new request: takes what the transport has
    /// ready without waiting, then lets the session judge it.
    fn idle_check(&mut self) -> Result<(), Error> {
        while self.read_once()? {}
        self.session.check_idle()
    }
}

/// The ways a caller takes a body.
#[derive(Debug, Clone, Copy)]
enum BodyMode {
    /// `poll_body` into a buffer of this size (straight from the transport
    /// when it is at least [`DIRECT_MIN`]).
    Buffer(usize),
    /// `poll_body` into buffers of these sizes in turn (at most 64): a
    /// small read leaves part of a piece behind, which a large one must
    /// take before it reads from the transport.
    Alternating([usize; 2]),
    /// `poll_chunk`.
    Chunks,
    /// `poll_read_all`.
    All,
    /// `poll_discard`.
    Discard,
}

const BODY_MODES: [BodyMode; 6] = [
    BodyMode::Buffer(3),
    BodyMode::Buffer(64),
    BodyMode::Alternating([3, 64]),
    BodyMode::Chunks,
    BodyMode::All,
    BodyMode::Discard,
];

// ----- helpers -------------------------------------------------------------------

/// The server all scenarios talk to.
fn origin() -> Url {
    Url::parse("http://example.com/").unwrap()
}

fn settings() -> Settings {
    Settings::for_url(&origin())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const NO_FIELDS: [(&str, &str); 0] = [];

/// `GET /` as written, with the `Host` the connection adds.
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

/// A `200` with a `Content-Length` body.
fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The bytes as text, for failure messages.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// An error as compared across modes: its kind and its message.
fn text(error: &Error) -> String {
    format!("{}: {error}", error.kind())
}

/// The requests a closed connection left unanswered.
fn unanswered(error: &Error) -> Vec<Unanswered> {
    error
        .closed()
        .unwrap_or_else(|| panic!("a closed error, not {error:?}"))
        .unanswered()
        .to_vec()
}

fn status_and_fields(response: &Response) -> (u16, Vec<(String, String)>) {
    let fields = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    (response.status(), fields)
}

fn trailer_fields(reader: &Reader) -> Option<Vec<(String, String)>> {
    reader.trailers().map(|t| {
        t.iter()
            .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    })
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

// ----- 1. a request and its response ---------------------------------------------

#[test]
fn a_get_is_written_with_host_and_its_response_read_in_every_body_mode() {
    struct Case {
        what: &'static str,
        script: Vec<Step>,
        status: u16,
        reason: &'static str,
        fields: &'static [(&'static str, &'static str)],
        informational: &'static [u16],
        body: &'static [u8],
        trailers: &'static [(&'static str, &'static str)],
        /// The server closed: the connection cannot be reused.
        usable: bool,
    }
    let cases = || {
        [
            Case {
                what: "content-length",
                script: vec![
                    send("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Test: yes\r\n\r\n"),
                    send("hello"),
                    send(" world"),
                ],
                status: 200,
                reason: "OK",
                fields: &[("Content-Length", "11"), ("X-Test", "yes")],
                informational: &[],
                body: b"hello world",
                trailers: &[],
                usable: true,
            },
            Case {
                what: "chunked, with trailers, after a 103",
                script: vec![
                    send("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"),
                    send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
                    send("lo\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\nX-More: a b\r\n\r\n"),
                ],
                status: 200,
                reason: "OK",
                fields: &[("Transfer-Encoding", "chunked")],
                informational: &[103],
                body: b"hello world",
                trailers: &[("X-Sum", "42"), ("X-More", "a b")],
                usable: true,
            },
            Case {
                what: "delimited by the close",
                script: vec![
                    send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello"),
                    send(" world"),
                    Step::Close,
                ],
                status: 200,
                reason: "OK",
                fields: &[("Connection", "close")],
                informational: &[],
                body: b"hello world",
                trailers: &[],
                usable: false,
            },
            Case {
                what: "empty (204)",
                script: vec![send("HTTP/1.1 204 No Content\r\nX-Test: none\r\n\r\n")],
                status: 204,
                reason: "No Content",
                fields: &[("X-Test", "none")],
                informational: &[],
                body: b"",
                trailers: &[],
                usable: true,
            },
        ]
    };
    for mode in MODES {
        for how in BODY_MODES {
            for case in cases() {
                let at = format!("{} / {how:?} / {}", case.what, mode.name);
                let mut d = Driver::new(&settings(), mode, case.script);
                assert!(d.session.is_usable() && d.session.has_room(), "{at}");
                let id = d
                    .request("GET", "/path?q=1", [("Accept", "*/*")], Body::Empty)
                    .unwrap();
                assert_eq!(id.as_u64(), 0);
                assert_eq!(
                    show(&d.wire),
                    show(b"GET /path?q=1 HTTP/1.1\r\nAccept: */*\r\nHost: example.com\r\n\r\n"),
                    "{at}"
                );
                assert!(!d.session.wants_write(), "{at}");
                assert_eq!(d.session.proto().in_flight(), 1, "{at}");

                let head = d.response().unwrap();
                assert_eq!(head.id(), id, "{at}");
                assert_eq!(head.reason(), case.reason.as_bytes(), "{at}");
                assert_eq!(
                    status_and_fields(&head),
                    (case.status, pairs(case.fields)),
                    "{at}"
                );
                let informational: Vec<u16> = d
                    .reader
                    .informational()
                    .iter()
                    .map(Response::status)
                    .collect();
                assert_eq!(informational, case.informational, "{at}");
                assert!(d.reader.in_body(), "{at}");
                assert_eq!(d.reader.trailers(), None, "{at}");

                let body = d.take_body(how).unwrap();
                if let Some(body) = body {
                    assert_eq!(show(&body), show(case.body), "{at}");
                }
                assert!(!d.reader.in_body(), "{at}");
                assert_eq!(
                    trailer_fields(&d.reader),
                    Some(pairs(case.trailers)),
                    "{at}"
                );
                assert_eq!(d.session.proto().in_flight(), 0, "{at}");
                assert_eq!(d.session.is_usable(), case.usable, "{at}");
                assert!(d.session.error().is_none(), "{at}");
                assert_eq!(d.elapsed(), Duration::ZERO, "{at}");
                // Once read, the body reads as ended.
                assert_eq!(d.body(&mut [0; 4]).unwrap(), 0, "{at}");
                assert_eq!(d.chunk().unwrap(), None, "{at}");
            }
        }
    }
}

#[test]
fn request_bodies_are_written_whole_sized_and_chunked() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &settings(),
            mode,
            [send(ok("1")), send(ok("2")), send(ok("3"))],
        );
        d.request(
            "POST",
            "/full",
            NO_FIELDS,
            Body::Full(Bytes::from_static(b"abc")),
        )
        .unwrap();
        d.request("PUT", "/sized", NO_FIELDS, Body::Sized(5))
            .unwrap();
        assert!(d.session.proto().is_sending_body());
        d.session.queue_body(Bytes::from_static(b"he")).unwrap();
        d.session.queue_body(Bytes::from_static(b"llo")).unwrap();
        d.flush().unwrap();
        d.request("POST", "/chunked", NO_FIELDS, Body::Chunked)
            .unwrap();
        d.session.queue_body(Bytes::from_static(b"xyz")).unwrap();
        d.session.queue_finish([("X-Done", "1")]).unwrap();
        d.flush().unwrap();
        assert_eq!(
            show(&d.wire),
            show(
                b"POST /full HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc\
                  PUT /sized HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello\
                  POST /chunked HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nxyz\r\n0\r\nX-Done: 1\r\n\r\n"
            ),
            "{at}"
        );
        for expect in ["1", "2", "3"] {
            d.response().unwrap();
            assert_eq!(d.read_all().unwrap(), expect.as_bytes(), "{at}");
        }
    }
}

// ----- 2. pipelining ---------------------------------------------------------------

#[test]
fn pipelined_requests_are_answered_in_order() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &settings(),
            mode,
            [send([ok("one"), ok("two"), ok("three")].concat())],
        );
        let mut ids = Vec::new();
        for target in ["/1", "/2", "/3"] {
            assert!(d.session.has_room(), "{at}");
            ids.push(
                d.session
                    .queue_request("GET", target, NO_FIELDS, Body::Empty)
                    .unwrap(),
            );
        }
        assert_eq!(d.session.proto().in_flight(), 3, "{at}");
        assert!(d.wire.is_empty(), "queued, not written");
        d.flush().unwrap();
        assert_eq!(
            show(&d.wire),
            show(
                b"GET /1 HTTP/1.1\r\nHost: example.com\r\n\r\n\
                  GET /2 HTTP/1.1\r\nHost: example.com\r\n\r\n\
                  GET /3 HTTP/1.1\r\nHost: example.com\r\n\r\n"
            ),
            "{at}"
        );
        let mut seen = Vec::new();
        for _ in 0..3 {
            let head = d.response().unwrap();
            let body = d.read_all().unwrap();
            seen.push((
                head.id(),
                String::from_utf8(body).unwrap(),
                d.session.proto().in_flight(),
            ));
        }
        assert_eq!(
            seen,
            [
                (ids[0], "one".to_owned(), 2),
                (ids[1], "two".to_owned(), 1),
                (ids[2], "three".to_owned(), 0),
            ],
            "{at}"
        );
        assert!(d.session.is_usable() && d.session.has_room(), "{at}");
    }
}

#[test]
fn a_head_waits_for_the_unread_body_unless_it_is_abandoned() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &settings(),
            mode,
            [send([ok("first body"), ok("second")].concat())],
        );
        d.request("GET", "/1", NO_FIELDS, Body::Empty).unwrap();
        let second = d.request("GET", "/2", NO_FIELDS, Body::Empty).unwrap();
        d.response().unwrap();
        let n = d.body(&mut [0; 2]).unwrap();
        assert!((1..=2).contains(&n), "part of the body is read: {at}");
        // A caller's mistake: refused, and the connection stays usable.
        assert!(matches!(d.head(), Err(Error::Usage(_))), "{at}");
        assert!(d.session.is_usable() && d.session.error().is_none(), "{at}");
        d.reader.abandon();
        let head = d.response().unwrap();
        assert_eq!(
            head.id(),
            second,
            "the rest of the first body is skipped: {at}"
        );
        assert_eq!(d.read_all().unwrap(), b"second", "{at}");
        assert_eq!(d.session.proto().in_flight(), 0, "{at}");
    }
}

#[test]
fn the_pipelining_window_bounds_requests_in_flight() {
    for mode in MODES {
        let at = mode.name;
        let mut s = settings();
        s.set_max_in_flight(2);
        let mut d = Driver::new(&s, mode, [send([ok("a"), ok("b")].concat())]);
        let mut room = vec![d.session.has_room()];
        for _ in 0..2 {
            d.session
                .queue_request("GET", "/", NO_FIELDS, Body::Empty)
                .unwrap();
            room.push(d.session.has_room());
        }
        d.flush().unwrap();
        d.response().unwrap();
        d.discard().unwrap();
        room.push(d.session.has_room());
        assert_eq!(room, [true, true, false, true], "{at}");
    }
}

// ----- 3. Expect: 100-continue -----------------------------------------------------

/// The head of the `PUT` with `Expect: 100-continue` and a 4-byte body.
const PUT_EXPECT: &[u8] =
    b"PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nHost: example.com\r\nContent-Length: 4\r\n\r\n";

fn put_expect(d: &mut Driver) -> RequestId {
    d.request(
        "PUT",
        "/up",
        [("Expect", "100-continue")],
        Body::Full(Bytes::from_static(b"data")),
    )
    .unwrap()
}

/// Settings with a 5 s continue delay.
fn continue_settings() -> Settings {
    let mut s = settings();
    s.set_continue_delay(secs(5));
    s
}

#[test]
fn a_100_continue_from_the_server_releases_the_body() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &continue_settings(),
            mode,
            [
                send("HTTP/1.1 100 Continue\r\n\r\n"),
                send("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
            ],
        );
        let id = put_expect(&mut d);
        assert_eq!(show(&d.wire), show(PUT_EXPECT), "only the head: {at}");
        assert!(!d.session.wants_write(), "{at}");
        assert_eq!(d.session.proto().awaiting_continue(), Some(id), "{at}");

        assert_eq!(d.head().unwrap(), Head::Continue(id), "{at}");
        assert_eq!(
            show(&d.wire),
            show(&[PUT_EXPECT, b"data"].concat()),
            "the body follows the 100: {at}"
        );
        assert_eq!(d.session.take_released(), None, "{at}");
        let head = d.response().unwrap();
        assert_eq!((head.id(), head.status()), (id, 201), "{at}");
        d.discard().unwrap();
        assert_eq!(d.elapsed(), Duration::ZERO, "no delay waited: {at}");
    }
}

#[test]
fn the_continue_delay_releases_the_body_once_when_the_server_is_silent() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(&continue_settings(), mode, []);
        let id = put_expect(&mut d);
        assert_eq!(show(&d.wire), show(PUT_EXPECT), "{at}");
        assert!(!d.session.wants_write(), "{at}");
        assert_eq!(d.session.take_released(), None, "{at}");

        // The server is silent: the driver waits until the delay passes.
        assert!(!d.read_once().unwrap(), "{at}");
        assert_eq!(
            d.session.poll_timeout(d.now),
            Some(Instant::from_elapsed(secs(5))),
            "{at}"
        );
        d.wait().unwrap();
        assert_eq!(d.elapsed(), secs(5), "{at}");
        assert_eq!(d.session.take_released(), Some(id), "{at}");
        assert_eq!(d.session.take_released(), None, "only once: {at}");
        assert!(d.session.wants_write(), "{at}");
        let mut slots = [IoSlice::new(&[]); 4];
        let queued: Vec<u8> = d
            .session
            .io_slices(&mut slots)
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        assert_eq!(show(&queued), "data", "{at}");
        assert_eq!(
            d.session.poll_timeout(d.now),
            None,
            "no deadline left: {at}"
        );

        d.flush().unwrap();
        assert_eq!(show(&d.wire), show(&[PUT_EXPECT, b"data"].concat()), "{at}");
        d.script
            .push_back(send("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"));
        let head = d.response().unwrap();
        assert_eq!((head.id(), head.status()), (id, 201), "{at}");
        assert_eq!(d.read_all().unwrap(), b"ok", "{at}");
        assert!(d.session.is_usable(), "{at}");
    }
}

#[test]
fn a_driver_reports_the_released_body_as_a_continue_and_skips_a_late_100() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &continue_settings(),
            mode,
            [
                Step::Pause(secs(6)),
                send("HTTP/1.1 100 Continue\r\n\r\n"),
                send(ok("late")),
            ],
        );
        let id = put_expect(&mut d);
        assert_eq!(d.head().unwrap(), Head::Continue(id), "{at}");
        assert_eq!(d.elapsed(), secs(5), "{at}");
        let head = d.response().unwrap();
        assert_eq!((head.id(), head.status()), (id, 200), "{at}");
        assert_eq!(d.elapsed(), secs(6), "{at}");
        assert_eq!(show(&d.wire), show(&[PUT_EXPECT, b"data"].concat()), "{at}");
        assert_eq!(d.read_all().unwrap(), b"late", "{at}");
        assert_eq!(d.session.take_released(), None, "{at}");
    }
}

#[test]
fn after_the_continue_delay_the_read_deadline_counts_from_the_body_written() {
    for mode in MODES {
        let at = mode.name;
        let mut s = continue_settings();
        s.set_timeout(secs(10));
        let mut d = Driver::new(&s, mode, []);
        let id = put_expect(&mut d);
        assert_eq!(d.head().unwrap(), Head::Continue(id), "{at}");
        assert_eq!(d.elapsed(), secs(5), "{at}");
        assert_timed_out(d.head(), Phase::Reading, at);
        assert_eq!(d.elapsed(), secs(15), "{at}");
        assert_eq!(show(&d.wire), show(&[PUT_EXPECT, b"data"].concat()), "{at}");
        assert_broken_by_timeout(&mut d, Phase::Reading, at);
    }
}

#[test]
fn a_final_answer_before_the_100_cancels_the_body() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &continue_settings(),
            mode,
            [send(
                "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )],
        );
        let id = put_expect(&mut d);
        let head = d.response().unwrap();
        assert_eq!((head.id(), head.status()), (id, 417), "{at}");
        d.discard().unwrap();
        assert_eq!(
            show(&d.wire),
            show(PUT_EXPECT),
            "the body is never sent: {at}"
        );
        assert_eq!(d.session.poll_timeout(d.now), None, "{at}");
        assert_eq!(d.session.take_released(), None, "{at}");
        assert!(!d.session.is_usable(), "the server closes: {at}");
    }
}

// ----- 4. timeouts ----------------------------------------------------------------

/// Settings with the builder's 10 s timeout.
fn timeout_settings() -> Settings {
    let mut s = settings();
    s.set_timeout(secs(10));
    s
}

/// The error is the timeout while `phase`.
fn assert_timed_out(result: Result<impl std::fmt::Debug, Error>, phase: Phase, at: &str) {
    match result {
        Err(Error::TimedOut(p)) if p == phase => {}
        other => panic!("{at}: expected a timeout while {phase}, got {other:?}"),
    }
}

/// After a timeout: the session repeats it everywhere and is done.
fn assert_broken_by_timeout(d: &mut Driver, phase: Phase, at: &str) {
    assert_timed_out(d.session.check(), phase, at);
    assert_timed_out(d.session.error().map_or(Ok(()), Err), phase, at);
    assert!(
        matches!(d.session.broken(), Some(Error::TimedOut(p)) if *p == phase),
        "{at}"
    );
    assert!(!d.session.is_usable(), "{at}");
    assert_eq!(
        d.session.error().unwrap().kind(),
        ErrorKind::TimedOut,
        "{at}"
    );
    assert_timed_out(d.head(), phase, at);
    assert_timed_out(
        d.session.queue_request("GET", "/", NO_FIELDS, Body::Empty),
        phase,
        at,
    );
    assert!(
        d.session.handle_timeout(d.now).is_ok(),
        "reported once: {at}"
    );
    assert_eq!(d.session.poll_timeout(d.now), None, "{at}");
}

#[test]
fn a_silent_server_times_out_reading() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    // (what, the server's script, when the timeout fires)
    let cases = [
        ("no answer", vec![], 10),
        ("a head, then silence", vec![send(head)], 10),
        (
            "part of a body after 4 s, then silence",
            vec![send(head), Step::Pause(secs(4)), send("hello")],
            14,
        ),
    ];
    for mode in MODES {
        for (what, script, fires) in cases.clone() {
            let at = format!("{what} / {}", mode.name);
            let mut d = Driver::new(&timeout_settings(), mode, script);
            d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            let result = d.head().and_then(|_| d.read_all());
            assert_timed_out(result, Phase::Reading, &at);
            assert_eq!(d.elapsed(), secs(fires), "{at}");
            assert_broken_by_timeout(&mut d, Phase::Reading, &at);
        }
    }
}

#[test]
fn a_peer_that_takes_no_bytes_times_out_writing() {
    // (what, the peer's writes, bytes it took, when the timeout fires)
    let cases = [
        ("takes nothing", vec![Accept::Stall], 0, 10),
        (
            "takes 10 bytes",
            vec![Accept::Take(10), Accept::Stall],
            10,
            10,
        ),
        (
            "takes 10 bytes after 6 s",
            vec![Accept::Pause(secs(6)), Accept::Take(10), Accept::Stall],
            10,
            16,
        ),
    ];
    for mode in MODES {
        for (what, accepts, took, fires) in cases.clone() {
            let at = format!("{what} / {}", mode.name);
            let mut d = Driver::new(&timeout_settings(), mode, []).accepting(accepts);
            let result = d.request("GET", "/", NO_FIELDS, Body::Empty);
            assert_timed_out(result, Phase::Writing, &at);
            assert_eq!(d.elapsed(), secs(fires), "{at}");
            assert_eq!(show(&d.wire), show(&GET[..took]), "{at}");
            assert!(!d.session.wants_write(), "nothing more to write: {at}");
            assert_broken_by_timeout(&mut d, Phase::Writing, &at);
        }
    }
}

#[test]
fn progress_restarts_the_deadline() {
    let response = ok("hello");
    // Inside the head, and inside the body.
    let (first, rest) = response.split_at(20);
    let (head, body) = response.split_at(response.len() - 5);
    // (what, the server's script, the peer's writes, Ok(when it completes)
    // or Err((phase, when the timeout fires)))
    type Outcome = Result<u64, (Phase, u64)>;
    let cases: Vec<(&str, Vec<Step>, Vec<Accept>, Outcome)> = vec![
        (
            "bytes every 6 s",
            vec![
                Step::Pause(secs(6)),
                send(first),
                Step::Pause(secs(6)),
                send(rest),
            ],
            vec![],
            Ok(12),
        ),
        (
            "bytes after 6 s, then 11 s of silence",
            vec![
                Step::Pause(secs(6)),
                send(first),
                Step::Pause(secs(11)),
                send(rest),
            ],
            vec![],
            Err((Phase::Reading, 16)),
        ),
        (
            "body bytes every 6 s",
            vec![
                send(head),
                Step::Pause(secs(6)),
                send(&body[..3]),
                Step::Pause(secs(6)),
                send(&body[3..]),
            ],
            vec![],
            Ok(12),
        ),
        (
            "body bytes after 6 s, then 11 s of silence",
            vec![
                send(head),
                Step::Pause(secs(6)),
                send(&body[..3]),
                Step::Pause(secs(11)),
                send(&body[3..]),
            ],
            vec![],
            Err((Phase::Reading, 16)),
        ),
        (
            "11 s of silence",
            vec![Step::Pause(secs(11)), send(&response)],
            vec![],
            Err((Phase::Reading, 10)),
        ),
        (
            "writes taken every 6 s",
            vec![send(&response)],
            vec![
                Accept::Pause(secs(6)),
                Accept::Take(10),
                Accept::Pause(secs(6)),
            ],
            Ok(12),
        ),
        (
            "a write taken after 6 s, then 11 s blocked",
            vec![send(&response)],
            vec![
                Accept::Pause(secs(6)),
                Accept::Take(10),
                Accept::Pause(secs(11)),
            ],
            Err((Phase::Writing, 16)),
        ),
    ];
    // Body bytes read straight into the caller's buffer count as much as
    // bytes read into the session's.
    let body_modes = [BodyMode::All, BodyMode::Buffer(64), BodyMode::Chunks];
    for (mode, how) in MODES
        .into_iter()
        .flat_map(|mode| body_modes.map(|how| (mode, how)))
    {
        for (what, script, accepts, outcome) in cases.clone() {
            let at = format!("{what} / {how:?} / {}", mode.name);
            let mut d = Driver::new(&timeout_settings(), mode, script).accepting(accepts);
            let result = d
                .request("GET", "/", NO_FIELDS, Body::Empty)
                .and_then(|_| d.response())
                .and_then(|_| d.take_body(how));
            match outcome {
                Ok(done) => {
                    assert_eq!(result.unwrap().as_deref(), Some(&b"hello"[..]), "{at}");
                    assert_eq!(d.elapsed(), secs(done), "{at}");
                    assert!(d.session.is_usable(), "{at}");
                }
                Err((phase, fires)) => {
                    assert_timed_out(result, phase, &at);
                    assert_eq!(d.elapsed(), secs(fires), "{at}");
                    assert_broken_by_timeout(&mut d, phase, &at);
                }
            }
        }
    }
}

#[test]
fn no_deadline_runs_on_an_idle_connection_nor_without_a_timeout() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(&timeout_settings(), mode, [send(ok("x"))]);
        assert_eq!(d.session.poll_timeout(d.now), None, "idle: {at}");
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        assert_eq!(
            d.session.poll_timeout(d.now),
            Some(Instant::from_elapsed(secs(10))),
            "{at}"
        );
        d.response().unwrap();
        d.read_all().unwrap();
        assert_eq!(d.session.poll_timeout(d.now), None, "answered: {at}");
        assert!(d
            .session
            .handle_timeout(Instant::from_elapsed(secs(100)))
            .is_ok());
        assert!(d.session.is_usable(), "{at}");

        let mut d = Driver::new(&settings(), mode, []);
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        assert_eq!(d.session.poll_timeout(d.now), None, "no timeout set: {at}");
    }
}

// ----- 5. the peer closes ----------------------------------------------------------

#[test]
fn a_body_cut_short_by_the_peer_is_an_error_never_a_short_body() {
    let cases = [
        (
            "content-length",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        ),
        (
            "chunked",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwo",
        ),
    ];
    for mode in MODES {
        for how in BODY_MODES {
            for (what, input) in cases {
                let at = format!("{what} / {how:?} / {}", mode.name);
                let mut d = Driver::new(&settings(), mode, [send(input), Step::Close]);
                let id = d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
                let head = d.response().unwrap();
                assert_eq!(head.status(), 200, "{at}");
                let error = d.take_body(how).unwrap_err();
                assert_eq!(error.kind(), ErrorKind::Closed, "{at}");
                assert!(matches!(error, Error::Protocol(_)), "{at}");
                assert_eq!(
                    unanswered(&error),
                    [Unanswered {
                        id,
                        fate: Fate::BodyIncomplete
                    }],
                    "{at}"
                );
                assert!(d.session.eof(), "{at}");
                assert!(d.session.broken().is_none(), "the peer closed: {at}");
                assert_eq!(
                    d.session.error().as_ref().map(text),
                    Some(text(&error)),
                    "{at}"
                );
                assert!(!d.session.is_usable(), "{at}");
                let more = d.session.check_more().unwrap_err();
                assert_eq!(more.kind(), ErrorKind::Closed, "{at}");
                assert!(more.closed().is_some(), "{at}");
                // Reading on repeats the error, never an end.
                assert_eq!(d.take_body(how).map_err(|e| text(&e)), Err(text(&error)));
            }
        }
    }
}

#[test]
fn a_close_before_any_answer_leaves_the_request_maybe_processed() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(&settings(), mode, [Step::Close]);
        let id = d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        let error = d.head().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{at}");
        assert_eq!(
            unanswered(&error),
            [Unanswered {
                id,
                fate: Fate::MaybeProcessed
            }],
            "{at}"
        );
        assert!(d.session.eof() && d.session.broken().is_none(), "{at}");
        // Reads after the end are not made.
        assert!(!d.read_once().unwrap(), "{at}");
    }
}

#[test]
fn read_done_judges_what_the_transport_did() {
    use io::ErrorKind as K;
    // (what the read returned, Ok(filled, eof after) or Err(error kind))
    /// `Ok((what read_done says, whether the end of stream was seen))`, or
    /// the kind of the error that broke the connection.
    type Judged = Result<(Filled, bool), ErrorKind>;
    let cases: Vec<(io::Result<usize>, Judged)> = vec![
        (Ok(4), Ok((Filled::Data(4), false))),
        (Ok(0), Ok((Filled::Eof, true))),
        (Err(K::WouldBlock.into()), Ok((Filled::Blocked, false))),
        (Err(K::Interrupted.into()), Ok((Filled::Blocked, false))),
        (Err(K::ConnectionReset.into()), Ok((Filled::Eof, true))),
        (Err(K::ConnectionAborted.into()), Ok((Filled::Eof, true))),
        (Err(K::BrokenPipe.into()), Ok((Filled::Eof, true))),
        (Err(K::UnexpectedEof.into()), Ok((Filled::Eof, true))),
        (Err(K::NotConnected.into()), Ok((Filled::Eof, true))),
        (Err(K::PermissionDenied.into()), Err(ErrorKind::Io)),
        (Err(io::Error::other("disk on fire")), Err(ErrorKind::Io)),
    ];
    for (direct, (result, expected)) in [false, true]
        .into_iter()
        .flat_map(|direct| cases.iter().map(move |c| (direct, c)))
    {
        let at = format!("{result:?}, direct: {direct}");
        let mut session = Session::new(&settings(), PerConnection::for_origin(&origin(), None));
        let result = match result {
            Ok(n) => Ok(*n),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        let filled = if direct {
            // A direct read is checked against the body being read.
            session
                .queue_request("GET", "/", NO_FIELDS, Body::Empty)
                .unwrap();
            session.wrote(GET.len());
            session
                .proto_mut()
                .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
                .unwrap();
            let mut reader = Reader::new(64);
            assert!(matches!(
                session.poll(|p| reader.poll_head(p)),
                Ok(Progress::Done(Head::Final(_)))
            ));
            assert_eq!(reader.direct_read_len(session.proto(), 64), 4);
            session.read_direct_done(result, b"abcd")
        } else {
            let result = session.proto_mut().read_into(8, |buf| {
                buf[..4].copy_from_slice(b"HTTP");
                result
            });
            session.read_done(result)
        };
        match expected {
            Ok((expected, eof)) => {
                assert_eq!(filled.unwrap(), *expected, "{at}");
                assert_eq!(session.eof(), *eof, "{at}");
                assert!(session.broken().is_none(), "{at}");
                assert_eq!(session.is_usable(), !eof, "{at}");
            }
            Err(kind) => {
                let error = filled.unwrap_err();
                assert!(matches!(error, Error::Io(_)), "{at}");
                assert_eq!(error.kind(), *kind, "{at}");
                assert_eq!(
                    session.broken().map(text),
                    Some(text(&error)),
                    "the error breaks the connection: {at}"
                );
                assert!(!session.eof() && !session.is_usable(), "{at}");
            }
        }
    }
}

#[test]
fn a_reset_is_the_peer_closing_and_another_read_error_breaks_the_connection() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(
            &settings(),
            mode,
            [
                send(ok("first")),
                Step::Fail(io::ErrorKind::ConnectionReset),
            ],
        );
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        let second = d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        d.response().unwrap();
        assert_eq!(d.read_all().unwrap(), b"first", "{at}");
        let error = d.head().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{at}");
        assert_eq!(
            unanswered(&error),
            [Unanswered {
                id: second,
                fate: Fate::MaybeProcessed
            }],
            "{at}"
        );
        assert!(d.session.eof() && d.session.broken().is_none(), "{at}");

        let mut d = Driver::new(
            &settings(),
            mode,
            [
                send("HTTP/1.1 200 OK\r\n"),
                Step::Fail(io::ErrorKind::PermissionDenied),
            ],
        );
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        let error = d.head().unwrap_err();
        assert!(matches!(&error, Error::Io(e) if e.kind() == io::ErrorKind::PermissionDenied));
        assert_eq!(error.kind(), ErrorKind::Io, "{at}");
        assert_eq!(d.session.broken().map(text), Some(text(&error)), "{at}");
        assert_eq!(d.session.check().map_err(|e| text(&e)), Err(text(&error)));
        assert!(!d.session.eof() && !d.session.is_usable(), "{at}");
        assert_eq!(d.head().map_err(|e| text(&e)), Err(text(&error)), "{at}");
    }
}

// ----- 6. a write that fails -------------------------------------------------------

#[test]
fn a_peer_that_stops_reading_leaves_its_responses_readable() {
    use io::ErrorKind as K;
    for mode in MODES {
        for kind in [
            K::BrokenPipe,
            K::ConnectionReset,
            K::WriteZero,
            K::ConnectionAborted,
        ] {
            let at = format!("{kind:?} / {}", mode.name);
            let mut d = Driver::new(&settings(), mode, [send(ok("first")), Step::Close])
                .accepting([Accept::Take(GET.len() + 10), Accept::Fail(kind)]);
            let first = d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            let error = d
                .request(
                    "POST",
                    "/",
                    NO_FIELDS,
                    Body::Full(Bytes::from_static(b"0123456789")),
                )
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Closed, "{at}");
            assert!(error.closed().is_some(), "{at}");
            assert_eq!(d.wire.len(), GET.len() + 10, "{at}");
            assert!(d.session.send_closed(), "{at}");
            assert!(!d.session.wants_write(), "nothing more is written: {at}");
            assert!(d.session.proto().transmit_len() > 0, "{at}");
            assert!(
                d.session.broken().is_none() && d.session.check().is_ok(),
                "{at}"
            );
            assert!(!d.session.is_usable(), "{at}");
            assert_eq!(
                d.session.check_send().unwrap_err().kind(),
                ErrorKind::Closed
            );
            let refused = d
                .session
                .queue_request("GET", "/", NO_FIELDS, Body::Empty)
                .unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::Closed, "{at}");
            assert_eq!(d.session.proto().in_flight(), 2, "{at}");

            // The response already sent is read.
            let head = d.response().unwrap();
            assert_eq!((head.id(), head.status()), (first, 200), "{at}");
            assert_eq!(d.read_all().unwrap(), b"first", "{at}");
            // The request cut short never got an answer and is safe to resend.
            let error = d.head().unwrap_err();
            let closed = error.closed().expect("closed");
            assert_eq!(closed.not_processed().count(), 1, "{at}");
            assert_eq!(closed.unanswered()[0].fate, Fate::NotProcessed, "{at}");
        }
    }
}

#[test]
fn another_write_error_breaks_the_connection() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(&settings(), mode, [send(ok("first"))]).accepting([
            Accept::Take(GET.len()),
            Accept::Fail(io::ErrorKind::PermissionDenied),
        ]);
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        let error = d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap_err();
        assert!(matches!(&error, Error::Io(e) if e.kind() == io::ErrorKind::PermissionDenied));
        assert_eq!(error.kind(), ErrorKind::Io, "{at}");
        assert!(!d.session.send_closed(), "{at}");
        assert_eq!(d.session.broken().map(text), Some(text(&error)), "{at}");
        assert!(!d.session.is_usable(), "{at}");
        // Broken: even the response that came is not read.
        assert_eq!(d.head().map_err(|e| text(&e)), Err(text(&error)), "{at}");
    }
}

// ----- 7. the idle check -----------------------------------------------------------

#[test]
fn the_idle_check_judges_what_arrives_with_nothing_in_flight() {
    // (what, what the server sends after the response, the idle check's
    // error kind and message if any)
    let cases: Vec<(&str, Vec<Step>, Option<ErrorKind>)> = vec![
        ("nothing", vec![], None),
        ("empty lines", vec![send("\r\n\r\n")], None),
        (
            "an unsolicited response",
            vec![send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")],
            Some(ErrorKind::Invalid),
        ),
        (
            "the end of stream",
            vec![Step::Close],
            Some(ErrorKind::Closed),
        ),
    ];
    for mode in MODES {
        for (what, after, expected) in cases.clone() {
            let at = format!("{what} / {}", mode.name);
            let mut script = vec![send(ok("a"))];
            script.extend(after);
            let mut d = Driver::new(&settings(), mode, script);
            d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            d.response().unwrap();
            d.discard().unwrap();
            let result = d.idle_check();
            match expected {
                None => {
                    result.unwrap();
                    assert!(d.session.is_usable(), "{at}");
                    // The connection is reused: the next answer is read.
                    d.script.push_back(send(ok("b")));
                    d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
                    d.response().unwrap();
                    assert_eq!(d.read_all().unwrap(), b"b", "{at}");
                }
                Some(ErrorKind::Invalid) => {
                    let error = result.unwrap_err();
                    assert!(
                        matches!(
                            &error,
                            Error::Protocol(dugong_proto::Error::InvalidResponse {
                                kind: InvalidResponse::Unsolicited,
                                ..
                            })
                        ),
                        "{at}: {error:?}"
                    );
                    assert_eq!(error.kind(), ErrorKind::Invalid, "{at}");
                    assert!(!d.session.is_usable(), "{at}");
                    assert_eq!(d.session.error().map(|e| text(&e)), Some(text(&error)));
                    assert_eq!(d.session.check().map_err(|e| text(&e)), Err(text(&error)));
                }
                Some(kind) => {
                    let error = result.unwrap_err();
                    assert_eq!(error.kind(), kind, "{at}");
                    assert_eq!(unanswered(&error), [], "{at}");
                    assert!(d.session.eof() && !d.session.is_usable(), "{at}");
                    assert!(d.session.broken().is_none(), "{at}");
                }
            }
        }
    }
}

// ----- 8. bytes buffered while a write blocks --------------------------------------

#[test]
fn bytes_buffered_while_a_write_blocks_are_bounded() {
    // The server answers without reading the request's body.
    let answer = format!(
        "HTTP/1.1 413 Content Too Large\r\nContent-Length: 100\r\n\r\n{}",
        "x".repeat(100)
    );
    for mode in MODES {
        for max_buffered in [64, answer.len() + 1] {
            let at = format!("max_buffered {max_buffered} / {}", mode.name);
            let mut s = timeout_settings();
            s.set_max_buffered(max_buffered);
            let mut d =
                Driver::new(&s, mode, [send(&answer)]).accepting([Accept::Take(20), Accept::Stall]);
            let result = d.request("PUT", "/", NO_FIELDS, Body::Full(vec![b'y'; 1000].into()));
            let buffered = d.session.proto_mut().recv_buf().len();
            if max_buffered < answer.len() {
                match result {
                    Err(Error::ReceiveBufferFull { limit }) => assert_eq!(limit, 64, "{at}"),
                    other => panic!("{at}: {other:?}"),
                }
                assert!(
                    matches!(
                        d.session.broken(),
                        Some(Error::ReceiveBufferFull { limit: 64 })
                    ),
                    "{at}"
                );
                assert_eq!(d.session.error().unwrap().kind(), ErrorKind::TooLarge);
                assert!(d.session.check().is_err() && !d.session.is_usable(), "{at}");
                assert!(buffered >= 64, "{at}: {buffered}");
                assert_eq!(buffered + d.unread(), answer.len(), "{at}");
                if mode.read_max == 1 {
                    assert_eq!(buffered, 64, "stops at the bound: {at}");
                }
                assert_eq!(d.elapsed(), Duration::ZERO, "{at}");
            } else {
                // Under the bound everything is read ahead (the timeout
                // then drops it with the connection); the write stays
                // blocked until the timeout.
                assert_timed_out(result, Phase::Writing, &at);
                assert_eq!(d.elapsed(), secs(10), "{at}");
                assert_eq!(d.unread(), 0, "{at}");
            }
            assert_eq!(d.wire.len(), 20, "{at}");
        }
    }
}

// ----- 9. the read_all bound -------------------------------------------------------

#[test]
fn read_all_is_bounded_and_a_body_over_the_bound_breaks_the_connection() {
    let chunked = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
    };
    // (what, the response, Ok(body) or Err(()) for too large)
    let cases: Vec<(&str, String, Result<&str, ()>)> = vec![
        ("8 bytes", ok("12345678"), Ok("12345678")),
        ("9 bytes", ok("123456789"), Err(())),
        ("chunked, 8 bytes", chunked("12345678"), Ok("12345678")),
        ("chunked, 9 bytes", chunked("123456789"), Err(())),
    ];
    for mode in MODES {
        for (what, response, expected) in cases.clone() {
            let at = format!("{what} / {}", mode.name);
            let mut s = settings();
            s.set_max_read_all(8);
            let mut d = Driver::new(&s, mode, [send(&response), send(ok("next"))]);
            assert_eq!(d.reader.max_read_all(), 8);
            d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            d.response().unwrap();
            match expected {
                Ok(body) => {
                    assert_eq!(d.read_all().unwrap(), body.as_bytes(), "{at}");
                    d.response().unwrap();
                    assert_eq!(d.read_all().unwrap(), b"next", "{at}");
                }
                Err(()) => {
                    let error = d.read_all().unwrap_err();
                    assert!(matches!(error, Error::BodyTooLarge { limit: 8 }), "{at}");
                    assert_eq!(error.kind(), ErrorKind::TooLarge, "{at}");
                    assert!(
                        matches!(d.session.broken(), Some(Error::BodyTooLarge { limit: 8 })),
                        "{at}"
                    );
                    assert!(!d.session.is_usable(), "{at}");
                    assert!(d.reader.in_body(), "the rest is never read: {at}");
                    assert_eq!(d.read_all().map_err(|e| text(&e)), Err(text(&error)));
                    assert_eq!(d.head().map_err(|e| text(&e)), Err(text(&error)));
                }
            }
        }
        // The streaming modes are not bounded.
        for how in [BodyMode::Buffer(3), BodyMode::Chunks, BodyMode::Discard] {
            let at = format!("{how:?} / {}", mode.name);
            let mut s = settings();
            s.set_max_read_all(8);
            let mut d = Driver::new(&s, mode, [send(ok("123456789"))]);
            d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
            d.response().unwrap();
            let body = d.take_body(how).unwrap();
            assert!(body.is_none_or(|b| b == b"123456789"), "{at}");
            assert!(d.session.is_usable(), "{at}");
        }
    }
}

// ----- 10. disconnect ----------------------------------------------------------------

#[test]
fn a_disconnected_session_refuses_everything() {
    for mode in MODES {
        let at = mode.name;
        let mut d = Driver::new(&settings(), mode, [send(ok("never read"))]);
        d.request("GET", "/", NO_FIELDS, Body::Empty).unwrap();
        assert!(!d.session.is_disconnected(), "{at}");
        d.session.disconnect();
        assert!(d.session.is_disconnected(), "{at}");
        let is_disconnected =
            |r: Result<(), Error>| matches!(r, Err(Error::Usage(m)) if m == session::DISCONNECTED);
        assert!(is_disconnected(d.session.check()), "{at}");
        assert!(
            is_disconnected(d.session.error().map_or(Ok(()), Err)),
            "{at}"
        );
        assert!(is_disconnected(d.session.check_send()), "{at}");
        assert!(is_disconnected(d.head().map(drop)), "{at}");
        assert!(
            is_disconnected(
                d.session
                    .queue_request("GET", "/", NO_FIELDS, Body::Empty)
                    .map(drop)
            ),
            "{at}"
        );
        assert!(!d.session.is_usable(), "{at}");
        assert_eq!(d.session.error().unwrap().kind(), ErrorKind::Usage, "{at}");
    }
}

// ----- 11. through an HTTP proxy -----------------------------------------------------

#[test]
fn requests_through_a_proxy_are_absolute_and_carry_its_credentials() {
    for mode in MODES {
        let at = mode.name;
        let mut s = settings();
        s.set_proxy(Proxy::parse("http://user:pw@proxy.local:3128").unwrap());
        let route = s.route().unwrap();
        assert_eq!(
            (route.dial_host.as_str(), route.dial_port),
            ("proxy.local", 3128)
        );
        let mut per = PerConnection::for_origin(&route.origin, None);
        per.extras = RequestExtras::for_route(&route);
        let mut d = Driver::with(&s, per, mode, [send([ok("a"), ok("b")].concat())]);
        d.request("GET", "/a?b=c", [("Accept", "*/*")], Body::Empty)
            .unwrap();
        // An absolute target is left as given.
        d.request("GET", "http://other.example/x", NO_FIELDS, Body::Empty)
            .unwrap();
        assert_eq!(
            show(&d.wire),
            show(
                b"GET http://example.com/a?b=c HTTP/1.1\r\nAccept: */*\r\n\
                  Proxy-Authorization: Basic dXNlcjpwdw==\r\nHost: example.com\r\n\r\n\
                  GET http://other.example/x HTTP/1.1\r\n\
                  Proxy-Authorization: Basic dXNlcjpwdw==\r\nHost: example.com\r\n\r\n"
            ),
            "{at}"
        );
        for body in ["a", "b"] {
            d.response().unwrap();
            assert_eq!(d.read_all().unwrap(), body.as_bytes(), "{at}");
        }
    }
}

// ----- 12. the trace -------------------------------------------------------------------

#[test]
fn the_trace_records_the_exchange_with_secrets_masked() {
    let dir = std::env::temp_dir().join(format!("dugong-session-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    for (i, mode) in MODES.into_iter().enumerate() {
        let at = mode.name;
        let path = dir.join(format!("{i}.trace"));
        let trace = Trace::create(&path, "session test").unwrap();
        let per = PerConnection::for_origin(&origin(), Some(trace));
        let mut d = Driver::with(&settings(), per, mode, [send(response), Step::Close]);
        assert!(d.session.trace().is_some());
        d.request("GET", "/", [("Cookie", "k=secret")], Body::Empty)
            .unwrap();
        d.response().unwrap();
        assert_eq!(d.read_all().unwrap(), b"hi", "{at}");
        assert!(d.idle_check().is_err(), "closed: {at}");
        // The end of stream, reported again, is the same end.
        assert_eq!(d.session.read_done(Ok(0)).unwrap(), Filled::Eof, "{at}");
        d.session.note("done");
        let wire = d.wire.clone();
        drop(d);

        let records = dugong_net::trace::parse(&std::fs::read(&path).unwrap()).unwrap();
        let joined = |kind: &str| -> Vec<u8> {
            records
                .iter()
                .filter(|(k, _)| k == kind)
                .flat_map(|(_, bytes)| bytes.iter().copied())
                .collect()
        };
        let masked = show(&wire).replace("k=secret", "********");
        assert!(show(&wire).contains("k=secret"), "{at}");
        assert_eq!(show(&joined("send")), masked, "{at}");
        assert_eq!(show(&joined("recv")), show(response.as_bytes()), "{at}");
        assert_eq!(joined("request"), b"GET", "{at}");
        let eofs = records.iter().filter(|(k, _)| k == "eof").count();
        assert_eq!(eofs, 1, "{at}");
        assert_eq!(
            records.last().map(|(k, b)| (k.as_str(), b.as_slice())),
            Some(("note", &b"done"[..]))
        );
        if mode.read_max == 1 {
            let recvs = records.iter().filter(|(k, _)| k == "recv").count();
            assert_eq!(recvs, response.len(), "each read is a record: {at}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
