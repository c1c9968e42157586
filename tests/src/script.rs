//! A scripted, possibly hostile, server.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often blocked operations look at the stop flag.
const POLL: Duration = Duration::from_millis(10);
/// The longest a read step (or the drain after [`Step::Close`]) waits.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// The longest a write may block (a client that does not read).
const WRITE_LIMIT: Duration = Duration::from_secs(5);

/// One step of a [`ScriptServer`] script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes (at once).
    Send(Vec<u8>),
    /// Write these bytes one at a time (`TCP_NODELAY` is on, so each is its
    /// own segment), pausing for the duration after each byte.
    Drip(Vec<u8>, Duration),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Read until the end (`\r\n\r\n`) of the next request head. Bodies are
    /// not parsed: the search starts where the previous read step stopped,
    /// so a body in between is skipped unless it contains `\r\n\r\n` (use
    /// [`Step::ReadBytes`] for it).
    ReadHead,
    /// [`Step::ReadHead`] `n` times.
    ReadHeads(usize),
    /// Read exactly this many more bytes (e.g. a request body of known
    /// length) past where the previous read step stopped.
    ReadBytes(usize),
    /// Close gracefully: shut down the writing side (the client sees EOF),
    /// then read and record what still arrives until the client closes too
    /// (at most 5 s), then close. Ends the script.
    Close,
    /// Abort the connection: set `SO_LINGER` to 0 and close, so the client
    /// gets a TCP reset (RST) instead of EOF. Ends the script.
    Reset,
    /// Keep the connection open, reading and recording what arrives, until
    /// the server is dropped. Ends the script.
    StallForever,
}

/// A server on `127.0.0.1` that plays a script of [`Step`]s on every
/// connection it accepts, each connection in its own thread.
///
/// A script that ends without [`Step::Close`], [`Step::Reset`] or
/// [`Step::StallForever`] ends as if with [`Step::Close`]. A read step that
/// meets EOF, an error, or no data for 5 s, and a write that fails, stop the
/// script and close the connection at once (which is a reset if unread
/// data is left). Dropping the server interrupts every script (pauses and
/// reads are checked every 10 ms), closes all connections and joins its
/// threads.
#[derive(Debug)]
pub struct ScriptServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct State {
    accepted: AtomicUsize,
    finished: AtomicUsize,
    /// What the client sent on the most recently accepted connection.
    last_received: Mutex<Option<Arc<Mutex<Vec<u8>>>>>,
}

impl ScriptServer {
    /// Starts a server that plays `script` on every connection.
    pub fn start(script: Vec<Step>) -> ScriptServer {
        ScriptServer::start_per_connection(vec![script])
    }

    /// Starts a server whose `i`-th accepted connection (from 0) plays
    /// `scripts[i]`, and every connection past the end the last script (an
    /// empty list means: close every connection at once).
    pub fn start_per_connection(scripts: Vec<Vec<Step>>) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener
            .local_addr()
            .expect("local_addr of a bound listener");
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(State::default());
        let thread = {
            let stop = Arc::clone(&stop);
            let state = Arc::clone(&state);
            std::thread::Builder::new()
                .name(format!("script-server-{}", addr.port()))
                .spawn(move || accept_loop(listener, scripts, stop, state))
                .expect("spawn the server thread")
        };
        ScriptServer {
            addr,
            stop,
            state,
            thread: Some(thread),
        }
    }

    /// The address the server listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything the client sent on the most recently accepted connection
    /// (as far as the script has read it: only read steps, the drain after
    /// [`Step::Close`] and [`Step::StallForever`] read), or nothing before
    /// the first connection.
    pub fn received(&self) -> Vec<u8> {
        let last = lock(&self.state.last_received).clone();
        last.map(|received| lock(&received).clone())
            .unwrap_or_default()
    }

    /// How many connections the server has accepted so far.
    pub fn connections(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// How many connections have finished their script and been closed.
    pub fn finished(&self) -> usize {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// Waits (at most `timeout`) until `n` connections have finished their
    /// scripts and been closed; returns whether they have.
    pub fn wait_finished(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.finished() < n {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL);
        }
        true
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(
    listener: TcpListener,
    scripts: Vec<Vec<Step>>,
    stop: Arc<AtomicBool>,
    state: Arc<State>,
) {
    let mut players = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let index = state.accepted.fetch_add(1, Ordering::SeqCst);
                let script = scripts
                    .get(index)
                    .or_else(|| scripts.last())
                    .cloned()
                    .unwrap_or_default();
                let received = Arc::new(Mutex::new(Vec::new()));
                *lock(&state.last_received) = Some(Arc::clone(&received));
                let player = Player {
                    stream,
                    stop: Arc::clone(&stop),
                    received,
                    scanned: 0,
                };
                let state = Arc::clone(&state);
                let spawned = std::thread::Builder::new()
                    .name(format!("script-conn-{index}"))
                    .spawn(move || {
                        player.play(script);
                        state.finished.fetch_add(1, Ordering::SeqCst);
                    });
                if let Ok(handle) = spawned {
                    players.push(handle);
                }
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
    for player in players {
        let _ = player.join();
    }
}

/// Plays a script on one connection.
struct Player {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<u8>>>,
    /// How far read steps have consumed `received`.
    scanned: usize,
}

/// Why a step could not go on.
#[derive(Debug)]
struct Abort;

enum ReadOutcome {
    Data,
    Eof,
    Nothing,
}

impl Player {
    fn play(mut self, script: Vec<Step>) {
        // The listener is non-blocking; accepted sockets may inherit that.
        let ready = self.stream.set_nonblocking(false).is_ok()
            && self.stream.set_nodelay(true).is_ok()
            && self.stream.set_read_timeout(Some(POLL)).is_ok()
            && self.stream.set_write_timeout(Some(WRITE_LIMIT)).is_ok();
        if !ready {
            return;
        }
        for step in script {
            match self.step(step) {
                Ok(true) => continue,
                // The step ended the connection.
                Ok(false) | Err(Abort) => return,
            }
        }
        let _ = self.close();
    }

    /// Plays one step; returns whether the script goes on.
    fn step(&mut self, step: Step) -> Result<bool, Abort> {
        match step {
            Step::Send(bytes) => self.stream.write_all(&bytes).map_err(|_| Abort)?,
            Step::Drip(bytes, pause) => {
                for byte in bytes {
                    self.stream.write_all(&[byte]).map_err(|_| Abort)?;
                    self.sleep(pause)?;
                }
            }
            Step::Sleep(duration) => self.sleep(duration)?,
            Step::ReadHead => self.read_head()?,
            Step::ReadHeads(n) => {
                for _ in 0..n {
                    self.read_head()?;
                }
            }
            Step::ReadBytes(n) => {
                let target = self.scanned + n;
                self.read_until(|received| received.len() >= target)?;
                self.scanned = target;
            }
            Step::Close => {
                self.close()?;
                return Ok(false);
            }
            Step::Reset => {
                let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
                return Ok(false);
            }
            Step::StallForever => {
                while !self.stopped() {
                    if let ReadOutcome::Eof = self.read_once()? {
                        std::thread::sleep(POLL);
                    }
                }
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps, waking early (with `Abort`) when the server stops.
    fn sleep(&self, duration: Duration) -> Result<(), Abort> {
        let deadline = Instant::now() + duration;
        loop {
            if self.stopped() {
                return Err(Abort);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep(POLL.min(deadline - now));
        }
    }

    /// One read of at most `POLL`, appending to `received`.
    fn read_once(&mut self) -> Result<ReadOutcome, Abort> {
        let mut buffer = [0u8; 16 * 1024];
        match self.stream.read(&mut buffer) {
            Ok(0) => Ok(ReadOutcome::Eof),
            Ok(n) => {
                lock(&self.received).extend_from_slice(&buffer[..n]);
                Ok(ReadOutcome::Data)
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(ReadOutcome::Nothing)
            }
            Err(_) => Err(Abort),
        }
    }

    /// Reads until `done(received)` holds; aborts on EOF, an error, the
    /// server stopping, or `READ_LIMIT` without new data.
    fn read_until(&mut self, mut done: impl FnMut(&[u8]) -> bool) -> Result<(), Abort> {
        let mut last_data = Instant::now();
        loop {
            if done(&lock(&self.received)) {
                return Ok(());
            }
            if self.stopped() || last_data.elapsed() >= READ_LIMIT {
                return Err(Abort);
            }
            match self.read_once()? {
                ReadOutcome::Data => last_data = Instant::now(),
                ReadOutcome::Eof => return Err(Abort),
                ReadOutcome::Nothing => {}
            }
        }
    }

    fn read_head(&mut self) -> Result<(), Abort> {
        let start = self.scanned;
        let mut end = None;
        self.read_until(|received| {
            end = received
                .get(start..)
                .and_then(|rest| rest.windows(4).position(|w| w == b"\r\n\r\n"))
                .map(|at| start + at + 4);
            end.is_some()
        })?;
        self.scanned = end.ok_or(Abort)?;
        Ok(())
    }

    /// Shuts down the writing side, then drains until the client closes
    /// (bounded), so that unread data does not turn the close into a reset.
    fn close(&mut self) -> Result<(), Abort> {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + READ_LIMIT;
        while !self.stopped() && Instant::now() < deadline {
            match self.read_once() {
                Ok(ReadOutcome::Eof) | Err(Abort) => break,
                Ok(_) => {}
            }
        }
        Ok(())
    }
}
