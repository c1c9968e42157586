//! The in-process loopback server every client is measured against.
//!
//! Std threads with blocking sockets on `127.0.0.1:0`: one accepts, and
//! each accepted connection is served on a thread of its own, so a pooled
//! client's connections are served concurrently. A connection's thread
//! reads request bytes, counts request heads (each ends with `\r\n\r\n`;
//! requests have no bodies) and answers each with the same canned
//! `200 OK`. Small answers are gathered into one batch buffer per read of
//! requests and written with one `write_all`; large bodies are written as
//! the head followed by a shared buffer of at most 1 MiB, written as often
//! as needed. When the client hangs up the connection and its thread end.
//!
//! Every buffer of a connection is made when it is accepted (before any
//! client's measured window opens) and reused, so the server allocates
//! nothing while it serves: the allocation counts of the benchmark are the
//! client's alone (the raw clients show it: about 0 per request). A record
//! of each connection (request count, first request head) is sent to the
//! main thread after the connection is closed, outside any measured window.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memchr::memmem::Finder;

/// How many bytes one read of request bytes may take.
const READ_BUF: usize = 64 * 1024;
/// Small answers are gathered up to this many bytes per write.
const BATCH: usize = 256 * 1024;
/// Bodies up to this size are copied into the batch with their head.
const INLINE_MAX: u64 = 16 * 1024;
/// The largest piece of a large body written at once (the shared buffer).
const CHUNK: usize = 1 << 20;
/// How many bytes of the first request head of a connection are kept.
const HEAD_KEEP: usize = 512;
/// How long dropping the server waits for its threads once it has shut
/// their connections down.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What the server saw on one connection (or, [merged](Self::merge), on
/// every connection of one client run).
#[derive(Debug, Clone)]
pub(crate) struct ConnRecord {
    /// The connections this record covers.
    pub(crate) connections: u64,
    /// Request heads answered.
    pub(crate) requests: u64,
    /// The first request head as received (at most 512 bytes).
    pub(crate) first_head: Vec<u8>,
}

impl ConnRecord {
    /// Adds the counts of `other`, keeping this record's first head.
    pub(crate) fn merge(&mut self, other: &ConnRecord) {
        self.connections += other.connections;
        self.requests += other.requests;
    }
}

/// A running server: an accept thread and a thread per connection.
#[derive(Debug)]
pub(crate) struct Server {
    /// Where it listens.
    addr: SocketAddr,
    /// Set to make the accept loop end.
    stop: Arc<AtomicBool>,
    /// The accept thread (it joins the connection threads).
    handle: Option<JoinHandle<()>>,
    /// One record per finished connection.
    records: mpsc::Receiver<ConnRecord>,
}

impl Server {
    /// Starts a server answering every request with a `body_len`-byte body,
    /// its threads pinned to `pin` if given.
    pub(crate) fn start(body_len: u64, pin: Option<usize>) -> io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, records) = mpsc::channel();
        let flag = Arc::clone(&stop);
        // The first connection's buffers are made here, before any client
        // connects, so a process measuring its memory (the RSS runs) counts
        // them in its starting figure, as it did when one thread served
        // every connection.
        let first = Responder::new(body_len);
        let handle = std::thread::Builder::new()
            .name(format!("server-{body_len}"))
            .spawn(move || {
                // Connection threads inherit the mask.
                if let Some(cpu) = pin {
                    if let Err(e) = crate::machine::pin_current_thread(cpu) {
                        eprintln!("loopback: server thread: cannot pin to CPU {cpu}: {e}");
                    }
                }
                accept_loop(&listener, body_len, first, &flag, &tx);
            })?;
        Ok(Server {
            addr,
            stop,
            handle: Some(handle),
            records,
        })
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The record of the next connection to end, waiting up to `timeout`
    /// for the server to see the end.
    pub(crate) fn next_record(&self, timeout: Duration) -> Option<ConnRecord> {
        self.records.recv_timeout(timeout).ok()
    }

    /// Throws away records of connections that already ended (after a
    /// client failed).
    pub(crate) fn drain_records(&self) {
        while self.records.try_recv().is_ok() {}
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then shuts down the connections
        // still open and joins their threads.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// A connection being served: a handle to shut it down, and its thread.
struct Serving {
    /// A clone of the accepted socket.
    stream: TcpStream,
    /// The thread serving it.
    thread: JoinHandle<()>,
}

/// Accepts connections until `stop` is set, serving each on a thread of
/// its own that sends its record on `tx`; then shuts down the connections
/// still open and joins their threads (waiting at most [`STOP_WAIT`]).
fn accept_loop(
    listener: &TcpListener,
    body_len: u64,
    first: Responder,
    stop: &AtomicBool,
    tx: &mpsc::Sender<ConnRecord>,
) {
    let mut serving: Vec<Serving> = Vec::with_capacity(16);
    let mut spare = Some(first);
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        serving.retain(|s| !s.thread.is_finished());
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let tx = tx.clone();
        let mut responder = spare.take().unwrap_or_else(|| Responder::new(body_len));
        let spawned = std::thread::Builder::new()
            .name(format!("server-{body_len}-conn"))
            .spawn(move || {
                let record = responder.serve(&mut stream);
                drop(stream);
                // The main thread may be gone (the server is being dropped).
                let _ = tx.send(record);
            });
        match spawned {
            Ok(thread) => serving.push(Serving {
                stream: handle,
                thread,
            }),
            Err(e) => eprintln!("loopback: server: cannot start a connection thread: {e}"),
        }
    }
    for s in &serving {
        let _ = s.stream.shutdown(Shutdown::Both);
    }
    let deadline = Instant::now() + STOP_WAIT;
    for s in serving {
        while !s.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if s.thread.is_finished() {
            let _ = s.thread.join();
        }
    }
}

/// The answering side of one connection: every buffer it uses, made once.
struct Responder {
    /// The announced body length.
    body_len: u64,
    /// The response head.
    head: Vec<u8>,
    /// Head and body of a small answer, copied whole into batches.
    canned: Vec<u8>,
    /// The shared body buffer of large answers.
    chunk: Vec<u8>,
    /// Request bytes read and not yet answered.
    input: Vec<u8>,
    /// Gathered small answers.
    out: Vec<u8>,
    /// Finds the end of a request head.
    finder: Finder<'static>,
    /// The first request head of the connection.
    first: [u8; HEAD_KEEP],
    /// How much of `first` is used.
    first_len: usize,
}

impl Responder {
    /// Makes every buffer for answers with `body_len`-byte bodies.
    fn new(body_len: u64) -> Responder {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body_len}\r\n\r\n"
        )
        .into_bytes();
        let inline = body_len <= INLINE_MAX;
        let mut canned = Vec::new();
        let mut chunk = Vec::new();
        if inline {
            canned.extend_from_slice(&head);
            canned.resize(head.len() + body_len as usize, b'x');
        } else {
            chunk = vec![b'x'; body_len.min(CHUNK as u64) as usize];
        }
        Responder {
            body_len,
            head,
            canned,
            chunk,
            input: vec![0; READ_BUF],
            out: Vec::with_capacity(BATCH.max(INLINE_MAX as usize * 2)),
            finder: Finder::new(b"\r\n\r\n"),
            first: [0; HEAD_KEEP],
            first_len: 0,
        }
    }

    /// Serves one connection until the client hangs up (or an I/O error).
    fn serve(&mut self, stream: &mut TcpStream) -> ConnRecord {
        let _ = stream.set_nodelay(true);
        let requests = self.answer_all(stream).unwrap_or_else(|(n, _)| n);
        ConnRecord {
            connections: 1,
            requests,
            first_head: self.first[..self.first_len].to_vec(),
        }
    }

    /// The read / answer loop; the request count when it ends, with the
    /// error if one ended it.
    fn answer_all(&mut self, stream: &mut TcpStream) -> Result<u64, (u64, io::Error)> {
        let mut requests = 0u64;
        // Unanswered bytes are input[start..end]; no head ends before
        // `scanned` that was not answered.
        let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
        loop {
            if end == self.input.len() {
                if start == 0 {
                    let e = io::Error::other("a request head larger than the read buffer");
                    return Err((requests, e));
                }
                self.input.copy_within(start..end, 0);
                end -= start;
                scanned -= start;
                start = 0;
            }
            let n = match stream.read(&mut self.input[end..]) {
                Ok(0) => return Ok(requests),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_hang_up(&e) => return Ok(requests),
                Err(e) => return Err((requests, e)),
            };
            end += n;
            let mut from = scanned;
            while let Some(i) = self.finder.find(&self.input[from..end]) {
                let head_end = from + i + 4;
                if requests == 0 {
                    let keep = (head_end - start).min(HEAD_KEEP);
                    self.first[..keep].copy_from_slice(&self.input[start..start + keep]);
                    self.first_len = keep;
                }
                requests += 1;
                self.answer(stream).map_err(|e| (requests, e))?;
                start = head_end;
                from = head_end;
            }
            scanned = end.saturating_sub(3).max(start);
            if !self.out.is_empty() {
                stream.write_all(&self.out).map_err(|e| (requests, e))?;
                self.out.clear();
            }
            if start == end {
                (start, end, scanned) = (0, 0, 0);
            }
        }
    }

    /// Answers one request: gathered into the batch if small, written at
    /// once otherwise.
    fn answer(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        if !self.canned.is_empty() {
            if self.out.len() + self.canned.len() > self.out.capacity() {
                stream.write_all(&self.out)?;
                self.out.clear();
            }
            self.out.extend_from_slice(&self.canned);
            return Ok(());
        }
        let first = self.body_len.min(self.chunk.len() as u64) as usize;
        write_all_vectored(
            stream,
            &mut [IoSlice::new(&self.head), IoSlice::new(&self.chunk[..first])],
        )?;
        let mut left = self.body_len - first as u64;
        while left > 0 {
            let n = left.min(self.chunk.len() as u64) as usize;
            stream.write_all(&self.chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// `write_all` for several buffers, in as few writes as the socket takes.
fn write_all_vectored(stream: &mut TcpStream, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// True for the errors of a client that went away.
fn is_hang_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
