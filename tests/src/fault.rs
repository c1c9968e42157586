//! A server that counts every request it receives and fails connections
//! on a plan, for the resend tests of the pooled clients.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dugong_net::resend::Verdict;

/// How a connection of a [`FaultServer`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer every request, keep the connection open.
    None,
    /// Answer this many requests, then close; the last answer says
    /// `Connection: close` when `announce`.
    CloseAfter {
        /// Requests answered.
        answered: usize,
        /// The last answer announces the close.
        announce: bool,
    },
    /// Answer this many requests, then send the head of the next answer
    /// and half its body, then close.
    CutBody {
        /// Requests answered whole.
        answered: usize,
    },
    /// Answer this many requests, then send part of the next head, then
    /// close.
    CutHead {
        /// Requests answered whole.
        answered: usize,
    },
    /// Answer this many requests, then reset the connection (RST) while
    /// requests are unread.
    Reset {
        /// Requests answered.
        answered: usize,
    },
    /// Read only this many requests (byte by byte, leaving the rest unread
    /// in the socket), answer them, then close: the requests behind were
    /// written whole but never read (the close is a reset).
    CloseUnread {
        /// Requests read and answered.
        answered: usize,
    },
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The connection it came on (0 for the first accepted).
    pub connection: usize,
    /// Its method.
    pub method: String,
    /// Its target.
    pub target: String,
}

/// A server on `127.0.0.1` whose `i`-th connection ends as `plan[i]` says
/// (connections past the plan: [`Fault::None`]). Before it answers
/// anything on a connection it reads the requests there until `gather`
/// have arrived or none came for 100 ms, so a pipelined batch is read
/// whole (the requests behind the fault were received: "may have been
/// processed"). Every answer is `200` with the body `METHOD TARGET`.
/// Dropping the server stops it.
#[derive(Debug)]
pub struct FaultServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Starts the server.
    pub fn start(plan: Vec<Fault>, gather: usize) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, log) = (Arc::clone(&stop), Arc::clone(&log));
            std::thread::spawn(move || {
                let mut workers = Vec::new();
                let mut accepted = 0;
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let fault = plan.get(accepted).copied().unwrap_or(Fault::None);
                            let (stop, log) = (Arc::clone(&stop), Arc::clone(&log));
                            let connection = accepted;
                            accepted += 1;
                            workers.push(std::thread::spawn(move || {
                                serve(stream, connection, fault, gather, &stop, &log);
                            }));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
                for worker in workers {
                    let _ = worker.join();
                }
            })
        };
        FaultServer {
            addr,
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How often a request for `target` arrived.
    pub fn count(&self, target: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.target == target)
            .count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Notes a request received on `connection`.
fn record(log: &Mutex<Vec<Received>>, connection: usize, method: &str, target: &str) {
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            connection,
            method: method.to_owned(),
            target: target.to_owned(),
        });
}

/// The body of the answer to `method target`.
pub fn answer_body(method: &str, target: &str) -> String {
    format!("{method} {target}")
}

fn answer(method: &str, target: &str, close: bool) -> Vec<u8> {
    let body = answer_body(method, target);
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 200 OK\r\n{connection}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads requests from `buf` + `stream`: (method, target) of each whole
/// one, skipping `Content-Length` bodies.
struct Requests {
    buf: Vec<u8>,
}

impl Requests {
    /// The next whole request in the buffer, if one is there.
    fn next(&mut self) -> Option<(String, String)> {
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        if self.buf.len() < end + length {
            return None;
        }
        self.buf.drain(..end + length);
        let mut words = head.split_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let target = words.next().unwrap_or_default().to_owned();
        Some((method, target))
    }
}

fn serve(
    mut stream: TcpStream,
    connection: usize,
    fault: Fault,
    gather: usize,
    stop: &AtomicBool,
    log: &Mutex<Vec<Received>>,
) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut requests = Requests { buf: Vec::new() };
    let mut queue: Vec<(String, String)> = Vec::new();
    let mut answered = 0;
    let mut chunk = [0u8; 16 * 1024];
    let mut idle_since = Instant::now();
    if let Fault::CloseUnread { answered } = fault {
        return serve_then_close_unread(stream, connection, answered, log);
    }
    let limit = match fault {
        Fault::None | Fault::CloseUnread { .. } => usize::MAX,
        Fault::CloseAfter { answered, .. }
        | Fault::CutBody { answered }
        | Fault::CutHead { answered }
        | Fault::Reset { answered } => answered,
    };
    while !stop.load(Ordering::SeqCst) {
        // Gather what arrives.
        let mut eof = false;
        match stream.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => {
                requests.buf.extend_from_slice(&chunk[..n]);
                idle_since = Instant::now();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        while let Some((method, target)) = requests.next() {
            record(log, connection, &method, &target);
            queue.push((method, target));
        }
        let settled = queue.len() >= gather || idle_since.elapsed() >= Duration::from_millis(100);
        if queue.is_empty() || !(settled || eof) {
            if eof {
                return;
            }
            continue;
        }
        for (method, target) in queue.drain(..) {
            if answered == limit {
                let tail: &[u8] = match fault {
                    Fault::CutBody { .. } => {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf of it"
                    }
                    Fault::CutHead { .. } => b"HTTP/1.1 200 OK\r\nContent-Le",
                    _ => b"",
                };
                let _ = stream.write_all(tail);
                break;
            }
            let announce = matches!(fault, Fault::CloseAfter { announce: true, .. });
            let close = announce && answered + 1 == limit;
            if stream.write_all(&answer(&method, &target, close)).is_err() {
                return;
            }
            answered += 1;
        }
        if answered == limit {
            end(stream, fault);
            return;
        }
        if eof {
            return;
        }
    }
}

/// [`Fault::CloseUnread`]: reads `answered` requests one byte at a time,
/// answers them, lets the client read the answers, and closes with the
/// rest unread.
fn serve_then_close_unread(
    mut stream: TcpStream,
    connection: usize,
    answered: usize,
    log: &Mutex<Vec<Received>>,
) {
    let mut requests = Requests { buf: Vec::new() };
    let mut byte = [0u8; 1];
    let deadline = Instant::now() + Duration::from_secs(5);
    for _ in 0..answered {
        let (method, target) = loop {
            if let Some(request) = requests.next() {
                break request;
            }
            match stream.read(&mut byte) {
                Ok(1) => requests.buf.push(byte[0]),
                Ok(_) => return,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return;
                    }
                }
                Err(_) => return,
            }
        };
        record(log, connection, &method, &target);
        if stream.write_all(&answer(&method, &target, false)).is_err() {
            return;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// Ends a connection as its fault says: a reset, or a close after which
/// what still arrives is read (so the close is not a reset).
fn end(mut stream: TcpStream, fault: Fault) {
    if matches!(fault, Fault::Reset { .. }) {
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut chunk = [0u8; 16 * 1024];
    while Instant::now() < deadline && !matches!(stream.read(&mut chunk), Ok(0) | Err(_)) {}
}

/// What became of one request of the fault matrix, as a pooled client's
/// caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Got {
    /// Its response, whole, after this many resends.
    Answer(usize),
    /// Its head, then an error reading the body.
    CutBody,
    /// The client gave up with this verdict on the last try.
    GaveUp(Verdict),
}

/// The fault matrix of the pooled clients: GET, POST, GET, POST, ...
/// pipelined on one connection whose server fails as the [`Fault`] says;
/// what each request must come to, by the resend rules.
pub fn fault_matrix() -> Vec<(&'static str, Fault, Vec<Got>)> {
    use Got::{Answer, CutBody, GaveUp};
    use Verdict::{MayHaveBeenProcessed, ResponseStarted};
    let after_two = |third: Got| {
        vec![
            Answer(0),
            Answer(0),
            third,
            GaveUp(MayHaveBeenProcessed),
            Answer(1),
            GaveUp(MayHaveBeenProcessed),
        ]
    };
    vec![
        (
            "close after 2, announced: the rest not processed, all resent",
            Fault::CloseAfter {
                answered: 2,
                announce: true,
            },
            vec![
                Answer(0),
                Answer(0),
                Answer(1),
                Answer(1),
                Answer(1),
                Answer(1),
            ],
        ),
        (
            "close after 2, not announced: GETs resent, POSTs may have been processed",
            Fault::CloseAfter {
                answered: 2,
                announce: false,
            },
            after_two(Answer(1)),
        ),
        (
            "body cut: that one errs, the rest as above",
            Fault::CutBody { answered: 2 },
            after_two(CutBody),
        ),
        (
            "head cut: that one is never resent, the rest as above",
            Fault::CutHead { answered: 2 },
            after_two(GaveUp(ResponseStarted)),
        ),
        (
            "close before answering anything",
            Fault::CloseAfter {
                answered: 0,
                announce: false,
            },
            vec![
                Answer(1),
                GaveUp(MayHaveBeenProcessed),
                Answer(1),
                GaveUp(MayHaveBeenProcessed),
            ],
        ),
    ]
}

/// Checks that `server` saw request `/i` once per try `got[i]` says it
/// made: once, and once more per resend.
pub fn assert_counts(what: &str, got: &[Got], server: &FaultServer) {
    for (i, g) in got.iter().enumerate() {
        let times = server.count(&format!("/{i}"));
        let expected = match g {
            Got::Answer(resends) => 1 + resends,
            Got::CutBody | Got::GaveUp(_) => 1,
        };
        assert_eq!(times, expected, "{what}: request {i}");
    }
}
