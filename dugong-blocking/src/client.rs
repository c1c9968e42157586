//! [`Client`]: a pool of pipelined connections per origin that resends
//! exactly the requests that are safe to resend after a connection dies.
//!
//! Each connection is [split](crate::Connection::split): one thread at a
//! time queues a request on the sending half, and the thread whose response
//! is next reads it on the receiving half, so requests from many threads
//! are pipelined on one connection while earlier responses are read. The
//! decisions (which connection, when to open one, what to resend, how long
//! to wait) are `dugong_net`'s [`pool`](dugong_net::pool) and
//! [`resend`](dugong_net::resend); this module holds the locks and waits.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dugong_net::pool::{
    self, Caller, Choice, ClientCore, Key, Load, PoolConfig, PooledRequest, Turns,
};
use dugong_net::resend::{Lost, Next, Tracker};
use dugong_net::Error;
use dugong_proto::{Body, HeaderField, Headers, Response};

use crate::split::{Probe, RecvHalf, SendHalf};
use crate::Builder;

/// How much of an unread body dropping a [`ClientResponse`] reads away to
/// keep its connection; past this, the connection is closed instead (the
/// requests behind it are resent where safe).
const DISCARD_LIMIT: usize = 256 * 1024;

/// The size of the pieces an upload reads from its source.
const STREAM_PIECE: usize = 64 * 1024;

/// A blocking HTTP/1.1 client: up to
/// [`max_per_origin`](PoolConfig::max_per_origin) connections per origin
/// (4 by default), each pipelining up to [`depth`](PoolConfig::depth)
/// requests (16), idle ones closed after
/// [`idle_timeout`](PoolConfig::idle_timeout) (90 s). Clones share the
/// pool; it is `Send + Sync`, so threads can share one.
///
/// When a connection dies with requests unanswered, each is sent again on
/// another connection if and only if that is safe, in the order they were
/// sent:
/// - one the server cannot have processed ([`Fate::NotProcessed`]: behind
///   a response that announced the close, or never written whole) always;
/// - one it may have processed ([`Fate::MaybeProcessed`]) only if its
///   method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or it
///   carries an `Idempotency-Key` field;
/// - never one whose response had begun to arrive.
///
/// Connecting that fails for a temporary reason (refused, reset, timed out)
/// is tried again, with exponential backoff and jitter. Each request is
/// sent again at most [`resends_per_request`](PoolConfig::resends_per_request)
/// times (2) for failures, and all of them draw on one
/// [`budget`](PoolConfig::budget) per client (a token bucket), so a
/// failing server is not hammered; a request the server provably never saw
/// on a connection that answered others is resent without counting. When
/// the client gives up, the error is [`Error::GaveUp`], naming every try.
///
/// [`Fate::NotProcessed`]: dugong_proto::Fate::NotProcessed
/// [`Fate::MaybeProcessed`]: dugong_proto::Fate::MaybeProcessed
///
/// ```no_run
/// use dugong_blocking::{Body, Client};
///
/// let client = Client::new();
/// let mut response = client.get("http://127.0.0.1:8080/notes")?;
/// println!("{} {:?}", response.status(), response.read_all()?);
///
/// let response = client.request(
///     "PUT",
///     "http://127.0.0.1:8080/notes/1",
///     [("Content-Type", "text/plain")],
///     Body::from("hello"),
/// )?;
/// println!("{} (sent again {} times)", response.status(), response.resends());
/// # Ok::<(), dugong_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    core: ClientCore,
    origins: Mutex<HashMap<Key, Vec<Arc<Slot>>>>,
    /// Signalled when a connection gains room, closes or finishes opening.
    changed: Condvar,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.inner.core.config())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client with the default pool settings and the default connection
    /// settings of [`Builder`] (no timeouts, TLS with the default roots, no
    /// proxy).
    pub fn new() -> Client {
        Client::with_settings(&Builder::new("localhost", 80), PoolConfig::default())
    }

    /// A client whose connections are made as `builder` makes them
    /// (timeouts, limits, TLS configuration, proxy, trace); its host and
    /// port are not used: each request's URL names its origin.
    pub fn with_settings(builder: &Builder, config: PoolConfig) -> Client {
        Client {
            inner: Arc::new(Inner {
                core: ClientCore::new(builder.settings().clone(), config),
                origins: Mutex::new(HashMap::new()),
                changed: Condvar::new(),
            }),
        }
    }

    /// A `GET` of `url`.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request).
    pub fn get(&self, url: &str) -> Result<ClientResponse, Error> {
        self.request("GET", url, [] as [(&str, &str); 0], Body::Empty)
    }

    /// Sends a request and reads its response head, resending it as the
    /// type's documentation says. It goes to an idle connection if there is
    /// one, else to a new one while fewer than the limit are open, else
    /// behind the fewest requests (waiting for room when all are full).
    /// A response's body must be read (or the response dropped) before the
    /// responses behind it on its connection can be: a thread that holds
    /// more unread responses than there are connections, and sends again,
    /// waits for itself. The connection adds `Host`; a body is
    /// sent whole ([`Body::Empty`] or [`Body::Full`], so it can be sent
    /// again); an `Idempotency-Key` field marks a request safe to repeat.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a URL that is not `http` or `https`;
    /// [`Error::Usage`] for a streamed body ([`Body::Sized`],
    /// [`Body::Chunked`]); [`Error::GaveUp`] when the request failed and
    /// was not (or no longer) sent again: its [`kind`](Error::kind) is the
    /// last try's, and it lists every try.
    pub fn request<I>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        body: Body,
    ) -> Result<ClientResponse, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let request = self.inner.core.request(method, url, headers, body)?;
        self.start_request(request, true)?.wait()
    }

    /// Sends a request whose body is streamed from `body`: `length` bytes
    /// (sent with `Content-Length`; `body` must give exactly that many), or
    /// chunked when `None`; then reads its response head. The request goes
    /// to a connection as [`request`](Self::request) chooses, and holds its
    /// sending side until the body is sent. A streamed body cannot be sent
    /// again: the request is tried again only while connecting fails, never
    /// once its body began.
    ///
    /// ```no_run
    /// use dugong_blocking::Client;
    ///
    /// let client = Client::new();
    /// let file = std::fs::File::open("backup.tar")?;
    /// let length = file.metadata()?.len();
    /// let response = client.upload(
    ///     "PUT",
    ///     "http://127.0.0.1:8080/backups/today.tar",
    ///     [("Content-Type", "application/x-tar")],
    ///     Some(length),
    ///     file,
    /// )?;
    /// println!("{}", response.status());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request); [`Error::Io`] when `body` fails, and
    /// [`Error::Usage`] when it gives fewer or more bytes than `length`
    /// (the connection is closed then: its other requests are resent where
    /// safe).
    pub fn upload<I, R>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        length: Option<u64>,
        mut body: R,
    ) -> Result<ClientResponse, Error>
    where
        I: IntoIterator<Item: HeaderField>,
        R: io::Read,
    {
        let request = self.inner.core.streamed(method, url, headers, length)?;
        let mut pending = self.pending(request, true);
        pending.send_with(Some(&mut body))?;
        pending.wait()
    }

    /// The number of open (or opening) connections, over all origins.
    pub fn connections(&self) -> usize {
        self.inner.lock_origins().values().map(Vec::len).sum()
    }

    /// The pool settings.
    pub fn config(&self) -> &PoolConfig {
        self.inner.core.config()
    }

    /// Queues a request without waiting for its response: pipelining from
    /// one thread. It goes to the least loaded connection below the depth,
    /// a new one only when all are at the depth; when no more may be
    /// opened, deeper on the least loaded one (waiting for room would wait
    /// for this thread to read). Requests queued on a connection are
    /// written together: when a response on it is waited for, or once a
    /// depth's worth are queued. [`Pending::wait`] reads the response head
    /// (resending as [`request`](Self::request) does). Wait for pending
    /// responses in the order they were started: a response is read only
    /// after every earlier one on its connection (dropping a [`Pending`]
    /// waits for its response and drops it).
    ///
    /// ```no_run
    /// use dugong_blocking::{Body, Client};
    ///
    /// let client = Client::new();
    /// let pending = (0..10)
    ///     .map(|i| client.start("GET", &format!("http://127.0.0.1:8080/item/{i}"), [("Accept", "*/*")], Body::Empty))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// for p in pending {
    ///     let mut response = p.wait()?;
    ///     println!("{} {} bytes", response.status(), response.read_all()?.len());
    /// }
    /// # Ok::<(), dugong_blocking::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), for what happens before the request
    /// is written (connecting).
    pub fn start<I>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        body: Body,
    ) -> Result<Pending, Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let request = self.inner.core.request(method, url, headers, body)?;
        self.start_request(request, false)
    }

    /// Sends `request`; `waits_for_room`: wait for a connection with room
    /// (`request`, which waits for its response at once) or not (`start`,
    /// see [`Inner::acquire`]).
    fn start_request(
        &self,
        request: PooledRequest,
        waits_for_room: bool,
    ) -> Result<Pending, Error> {
        let mut pending = self.pending(request, waits_for_room);
        pending.send_with(None)?;
        Ok(pending)
    }

    /// A request not sent yet.
    fn pending(&self, request: PooledRequest, waits_for_room: bool) -> Pending {
        let tracker = request.tracker(self.inner.core.config());
        Pending {
            inner: Arc::clone(&self.inner),
            request,
            waits_for_room,
            tracker,
            sent: None,
            turn: None,
        }
    }
}

/// A request sent by [`Client::start`] whose response is not read yet.
pub struct Pending {
    inner: Arc<Inner>,
    request: PooledRequest,
    waits_for_room: bool,
    tracker: Tracker,
    /// The connection it was sent on and its id there.
    sent: Option<(Arc<Slot>, u64)>,
    /// Held while this request is resent: the next request of the same
    /// dead connection waits for it, so resends keep their order.
    turn: Option<ResendTurn>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("method", &self.request.method())
            .field("url", self.request.url())
            .field("connection", &self.sent.as_ref().map(|(slot, _)| slot.id))
            .field("resends", &self.tracker.resends())
            .finish_non_exhaustive()
    }
}

impl Pending {
    /// Waits for the response head (the requests before it on its
    /// connection must be read first); resends the request as the
    /// [`Client`] documentation says when its connection dies.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub fn wait(mut self) -> Result<ClientResponse, Error> {
        loop {
            let Some((slot, id)) = self.sent.take() else {
                return Err(Error::Usage("the request was not sent"));
            };
            match slot.read_head(id) {
                Ok(head) => {
                    self.inner.core.succeeded();
                    return Ok(ClientResponse::new(
                        Arc::clone(&self.inner),
                        slot,
                        id,
                        head,
                        self.tracker.resends(),
                    ));
                }
                Err(failure) => {
                    self.decide(failure)?;
                    self.send_with(None)?;
                }
            }
        }
    }

    /// Sends the request on a connection of the pool, trying again while
    /// that fails in a way that may be tried again; with `body`, streams
    /// the body from it right after the head, holding the sending side
    /// throughout (nothing may be queued between them). An error of
    /// `body`'s is returned as it is.
    fn send_with(&mut self, mut body: Option<&mut dyn io::Read>) -> Result<(), Error> {
        loop {
            let failure = match self.inner.acquire(&self.request, self.waits_for_room) {
                Err(error) => Failure {
                    connection: None,
                    error,
                    lost: Lost::NotSent,
                    progress: false,
                    turn: None,
                },
                Ok(slot) => match slot.send(&self.request, self.waits_for_room, body.take()) {
                    Ok((id, streamed)) => {
                        self.sent = Some((slot, id));
                        if self.request.is_streamed() {
                            self.tracker.body_started();
                        }
                        // Queued: the next resend of the dead connection
                        // may go.
                        drop(self.turn.take());
                        return streamed;
                    }
                    Err((failure, unused)) => {
                        body = unused;
                        failure
                    }
                },
            };
            self.decide(failure)?;
        }
    }

    /// Asks the tracker what to do after `failure`; waits before a resend.
    fn decide(&mut self, failure: Failure) -> Result<(), Error> {
        let next = self.inner.core.failed(
            &mut self.tracker,
            failure.connection,
            failure.error,
            failure.lost,
            failure.progress,
        );
        if failure.turn.is_some() {
            self.turn = failure.turn;
        }
        match next {
            Next::Resend(wait) => {
                tracing::debug!(method = %self.request.method(), url = %self.request.url(), ?wait, "dugong: resending");
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
                Ok(())
            }
            Next::GiveUp(error) => Err(error),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Its response must be read for the ones behind it to be read.
        if let Some((slot, id)) = self.sent.take() {
            if let Ok(head) = slot.read_head(id) {
                drop(ClientResponse::new(
                    Arc::clone(&self.inner),
                    slot,
                    id,
                    head,
                    0,
                ));
            }
        }
    }
}

/// Why one try failed, and what it leaves to do.
struct Failure {
    connection: Option<u64>,
    error: Error,
    lost: Lost,
    progress: bool,
    turn: Option<ResendTurn>,
}

impl Inner {
    fn lock_origins(&self) -> MutexGuard<'_, HashMap<Key, Vec<Arc<Slot>>>> {
        lock(&self.origins)
    }

    /// The connection for the next try of `request`: one with room, or a
    /// new one, or (every one full) the first to get room.
    fn acquire(&self, request: &PooledRequest, waits_for_room: bool) -> Result<Arc<Slot>, Error> {
        let caller = if waits_for_room {
            Caller::Waits
        } else {
            Caller::Pipelines
        };
        let config = self.core.config();
        let mut origins = self.lock_origins();
        loop {
            // (The key is cloned only for an origin not seen yet.)
            if !origins.contains_key(request.key()) {
                origins.insert(request.key().clone(), Vec::new());
            }
            let slots = origins
                .get_mut(request.key())
                .expect("the origin's entry was made above");
            let mut closing = prune(slots, config);
            let loads: Vec<Load> = slots.iter().map(|s| s.load()).collect();
            match pool::choose_for(&loads, config, caller) {
                Choice::Use(i) => {
                    slots[i].lock_turns().reserve();
                    return Ok(Arc::clone(&slots[i]));
                }
                Choice::Open => {
                    let id = self.core.next_connection();
                    let slot = Arc::new(Slot::new(id, config.depth));
                    slots.push(Arc::clone(&slot));
                    // Now and then (a connection opens): the other origins'
                    // idle and dead connections go too, and origins left
                    // without any.
                    for other in origins.values_mut() {
                        closing.extend(prune(other, config));
                    }
                    origins.retain(|_, slots| !slots.is_empty());
                    drop(origins);
                    close_all(closing);
                    return self.open(request, slot);
                }
                Choice::Wait => {
                    drop(origins);
                    close_all(closing);
                    origins = self.lock_origins();
                    // The timeout only guards against a missed signal.
                    origins = self
                        .changed
                        .wait_timeout(origins, Duration::from_millis(50))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    /// Opens the connection of a new slot (without holding the pool's
    /// lock); a slot that fails to open is removed.
    fn open(&self, request: &PooledRequest, slot: Arc<Slot>) -> Result<Arc<Slot>, Error> {
        let builder = Builder::from_settings(request.settings().clone());
        let opened = builder.connect().and_then(|conn| {
            conn.split()
                .map_err(|_| Error::Usage("the connection's transport cannot be split"))
        });
        let result = match opened {
            Ok((send, recv)) => {
                slot.install(send, recv);
                slot.lock_turns().reserve();
                Ok(Arc::clone(&slot))
            }
            Err(error) => {
                let mut origins = self.lock_origins();
                if let Some(slots) = origins.get_mut(request.key()) {
                    slots.retain(|s| !Arc::ptr_eq(s, &slot));
                }
                Err(error)
            }
        };
        self.changed.notify_all();
        result
    }
}

/// Takes out of `slots` the connections to close: dead ones, ones that
/// take no new request and have nothing pending, and idle ones past the
/// idle timeout. Closed by the caller after it lets the pool's lock go.
fn prune(slots: &mut Vec<Arc<Slot>>, config: &PoolConfig) -> Vec<Arc<Slot>> {
    let now = Instant::now();
    let mut closing = Vec::new();
    slots.retain(|slot| {
        let (usable, _) = slot.session_load();
        let retire = slot.lock_turns().retire(usable, now, config);
        // A dead one is only let go: its waiting requests still hold it
        // while they learn their fates.
        if retire && slot.lock_turns().death().is_none() {
            closing.push(Arc::clone(slot));
        }
        !retire
    });
    closing
}

fn close_all(slots: Vec<Arc<Slot>>) {
    for slot in slots {
        slot.close();
    }
}

/// One connection of the pool.
struct Slot {
    id: u64,
    send: Mutex<Option<SendHalf>>,
    recv: Mutex<Option<RecvHalf>>,
    probe: OnceLock<Probe>,
    /// Requests queued by `send` and not written yet.
    unwritten: AtomicUsize,
    /// Write after this many unwritten requests (the pool's depth).
    depth: usize,
    turns: Mutex<Turns>,
    /// Signalled when the next response may be read, or the connection
    /// died, or a resend's turn passed.
    turn: Condvar,
}

impl Slot {
    fn new(id: u64, depth: usize) -> Slot {
        Slot {
            id,
            unwritten: AtomicUsize::new(0),
            depth: depth.max(1),
            send: Mutex::new(None),
            recv: Mutex::new(None),
            probe: OnceLock::new(),
            turns: Mutex::new(Turns::new(Instant::now())),
            turn: Condvar::new(),
        }
    }

    fn lock_turns(&self) -> MutexGuard<'_, Turns> {
        lock(&self.turns)
    }

    fn install(&self, send: SendHalf, recv: RecvHalf) {
        let _ = self.probe.set(send.probe());
        *lock(&self.send) = Some(send);
        *lock(&self.recv) = Some(recv);
        self.lock_turns().connected(Instant::now());
    }

    /// What the session says: (takes new requests, window has room).
    fn session_load(&self) -> (bool, bool) {
        self.probe.get().map_or((false, false), Probe::load)
    }

    fn load(&self) -> Load {
        let (usable, has_room) = self.session_load();
        self.lock_turns().load(usable, has_room)
    }

    /// Queues `request` (on a connection [`Inner::acquire`] reserved for
    /// it); its id on this connection. `at_once` (the caller waits for the
    /// response now): waits for room in the window first, and writes it.
    /// Otherwise (pipelining from one thread) it does not wait, and leaves
    /// the write to the first wait for a response on this connection
    /// ([`flush_queued`](Self::flush_queued)), or to when a depth's worth
    /// of requests are queued, so requests go out together.
    #[allow(clippy::type_complexity)]
    fn send<'b>(
        self: &Arc<Self>,
        request: &PooledRequest,
        at_once: bool,
        body: Option<&'b mut dyn io::Read>,
    ) -> Result<(u64, Result<(), Error>), (Failure, Option<&'b mut dyn io::Read>)> {
        let not_sent = |error: Error| {
            // The connection stopped taking requests between the choice and
            // the queueing (its server announced the close, closed, or the
            // pool closed it): the request never reached it.
            let gone = !self.session_load().0;
            let mut turns = self.lock_turns();
            turns.unreserve();
            let gone = gone || turns.death().is_some();
            Failure {
                connection: Some(self.id),
                error: if gone {
                    Error::closed_while_sending()
                } else {
                    error
                },
                lost: Lost::NotSent,
                progress: turns.progress(),
                turn: None,
            }
        };
        let dead = self.lock_turns().death().map(|d| d.error.clone());
        if let Some(error) = dead {
            return Err((not_sent(error), body));
        }
        if at_once {
            // Not under the sending lock: a reader may need it to write
            // what it queued (see `flush_queued`).
            if let Some(probe) = self.probe.get() {
                probe.wait_for_room();
            }
        }
        let mut guard = lock(&self.send);
        let Some(half) = guard.as_mut() else {
            drop(guard);
            return Err((
                not_sent(Error::Usage(dugong_net::session::DISCONNECTED)),
                body,
            ));
        };
        let queued = half.queue_pooled(request);
        let id = match queued {
            Ok(id) => id.as_u64(),
            // Refused before it was queued: a mistake in the request (not
            // temporary, so not tried again), or a connection that stopped
            // taking requests since it was chosen (tried elsewhere).
            Err(error) => {
                drop(guard);
                return Err((not_sent(error), body));
            }
        };
        let unwritten = self.unwritten.fetch_add(1, Ordering::SeqCst) + 1;
        if at_once || unwritten >= self.depth {
            self.write_queued(half);
        }
        let streamed = match body {
            Some(body) => self.stream_body(half, body, request.body()),
            None => Ok(()),
        };
        Ok((id, streamed))
    }

    /// Writes what is queued (under the sending lock).
    fn write_queued(&self, half: &mut SendHalf) {
        self.unwritten.store(0, Ordering::SeqCst);
        // A write that fails does not decide the requests' fates: the server
        // may have answered what it got, and the receiving side reads those
        // answers, then learns from the state machine what became of the
        // rest.
        if let Err(error) = half.flush() {
            tracing::debug!(connection = self.id, %error, "dugong: pooled write failed");
        }
    }

    /// Sends a streamed body from `body` (as `announced`: `Body::Sized` or
    /// `Body::Chunked`) on the sending side `send` holds, right after its
    /// head. A failure of the
    /// network is left to the wait for the response (the server may have
    /// answered, e.g. `413`); a failure of `body`, or a length other than
    /// announced, closes the connection and is the caller's error.
    fn stream_body(
        &self,
        half: &mut SendHalf,
        body: &mut dyn io::Read,
        announced: Body,
    ) -> Result<(), Error> {
        let mut buf = vec![0u8; STREAM_PIECE];
        let mut sent = 0u64;
        let caller_error = loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(Error::io(e)),
            };
            sent += n as u64;
            if let Body::Sized(length) = announced {
                if sent > length {
                    break Some(Error::Usage("the body gave more bytes than its length"));
                }
            }
            if let Err(error) = half.send_body(Bytes::copy_from_slice(&buf[..n])) {
                tracing::debug!(connection = self.id, %error, "dugong: pooled upload stopped");
                return Ok(());
            }
        };
        let caller_error = caller_error.or(match announced {
            Body::Sized(length) if sent < length => {
                Some(Error::Usage("the body ended before its length"))
            }
            _ => None,
        });
        if let Some(error) = caller_error {
            // (The sending side is still held: nothing is queued behind
            // the cut body before the connection is shut.)
            if let Some(probe) = self.probe.get() {
                probe.shut_down();
            }
            self.die(error.clone());
            return Err(error);
        }
        if matches!(announced, Body::Chunked) {
            if let Err(error) = half.finish() {
                tracing::debug!(connection = self.id, %error, "dugong: pooled upload stopped");
            }
        }
        Ok(())
    }

    /// Makes sure what `send` queued without writing is written, before a
    /// wait for a response on this connection. Whoever holds the sending
    /// lock writes everything queued when it writes; if it only queues, it
    /// lets go soon, so try again.
    fn flush_queued(&self) {
        while self.unwritten.load(Ordering::SeqCst) > 0 {
            match self.send.try_lock() {
                Ok(mut guard) => {
                    if let Some(half) = guard.as_mut() {
                        self.write_queued(half);
                    } else {
                        self.unwritten.store(0, Ordering::SeqCst);
                    }
                    return;
                }
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    if let Some(half) = p.into_inner().as_mut() {
                        self.write_queued(half);
                    }
                    return;
                }
                Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
            }
        }
    }

    /// Waits for the turn of request `id`, then reads its final response
    /// head.
    fn read_head(self: &Arc<Self>, id: u64) -> Result<Response, Failure> {
        self.flush_queued();
        let mut turns = self.lock_turns();
        while !turns.may_read(id) {
            turns = self.turn.wait(turns).unwrap_or_else(|p| p.into_inner());
        }
        let dead = turns.death().is_some();
        drop(turns);
        if dead {
            return Err(self.fated(id));
        }
        let mut guard = lock(&self.recv);
        let result = match guard.as_mut() {
            Some(half) => read_final_head(half),
            None => Err(Error::Usage(dugong_net::session::DISCONNECTED)),
        };
        let body_pending = guard.as_ref().is_some_and(RecvHalf::body_pending);
        drop(guard);
        match result {
            Ok(head) => {
                if !body_pending {
                    self.answered(id);
                }
                Ok(head)
            }
            Err(error) => {
                self.die(error);
                Err(self.fated(id))
            }
        }
    }

    /// The response to `id` was read to its end: the next may be read.
    fn answered(&self, id: u64) {
        self.lock_turns().answered(id, Instant::now());
        self.turn.notify_all();
    }

    /// The connection died with `error`: every request still waiting on it
    /// learns its fate.
    fn die(&self, error: Error) {
        let lost = match error.closed() {
            Some(closed) => closed.clone(),
            None => self.probe.get().map(Probe::unanswered).unwrap_or_default(),
        };
        tracing::debug!(connection = self.id, %error, %lost, "dugong: pooled connection died");
        self.lock_turns().die(error, lost);
        self.turn.notify_all();
    }

    /// What became of request `id` on this dead connection, once the
    /// requests before it were resent (or given up).
    fn fated(self: &Arc<Self>, id: u64) -> Failure {
        let mut turns = self.lock_turns();
        while !turns.may_resend(id) {
            turns = self.turn.wait(turns).unwrap_or_else(|p| p.into_inner());
        }
        let fated = turns
            .fated(id)
            .expect("only a dead connection is asked what it lost");
        drop(turns);
        Failure {
            connection: Some(self.id),
            error: fated.error,
            lost: fated.lost,
            progress: fated.progress,
            turn: Some(ResendTurn {
                slot: Arc::clone(self),
                id,
            }),
        }
    }

    fn close(&self) {
        if let Some(probe) = self.probe.get() {
            probe.shut_down();
        }
        let send = lock(&self.send).take();
        let recv = lock(&self.recv).take();
        drop((send, recv));
    }
}

/// The turn of a resent request of a dead connection: the next one waits
/// until this is dropped (once the request is queued elsewhere, or given
/// up).
struct ResendTurn {
    slot: Arc<Slot>,
    id: u64,
}

impl Drop for ResendTurn {
    fn drop(&mut self) {
        self.slot.lock_turns().resent(self.id);
        self.slot.turn.notify_all();
    }
}

/// Reads heads until a final one (the `100 Continue` of a released body
/// is passed over: a whole body needs nothing from the caller).
fn read_final_head(half: &mut RecvHalf) -> Result<Response, Error> {
    loop {
        let head = half.read_response()?;
        if head.is_final() {
            return Ok(head);
        }
    }
}

/// A response of a [`Client`]: the head, and the body read from the pooled
/// connection. Reading the body to its end (or dropping the response) lets
/// the next response on that connection be read; a body left unread is
/// read away up to 256 KiB, past that the connection is closed (and the
/// requests behind it resent where safe).
pub struct ClientResponse {
    inner: Arc<Inner>,
    slot: Arc<Slot>,
    id: u64,
    head: Response,
    done: bool,
    resends: usize,
}

impl fmt::Debug for ClientResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientResponse")
            .field("head", &self.head)
            .field("connection", &self.slot.id)
            .field("done", &self.done)
            .field("resends", &self.resends)
            .finish()
    }
}

impl ClientResponse {
    fn new(
        inner: Arc<Inner>,
        slot: Arc<Slot>,
        id: u64,
        head: Response,
        resends: usize,
    ) -> ClientResponse {
        let done = slot.lock_turns().is_answered(id);
        ClientResponse {
            inner,
            slot,
            id,
            head,
            done,
            resends,
        }
    }

    /// The response head.
    pub fn head(&self) -> &Response {
        &self.head
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status()
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// How often the request was sent again before this response came.
    pub fn resends(&self) -> usize {
        self.resends
    }

    /// The pool's number for the connection the response came on.
    pub fn connection(&self) -> u64 {
        self.slot.id
    }

    /// Reads body bytes into `buf`; `Ok(0)` at the end of the body.
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`](crate::Connection::read_body): a body
    /// cut short is an error ([`ErrorKind::Closed`](crate::ErrorKind::Closed)),
    /// never a short `Ok`; the request is not resent (its response had
    /// begun).
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        self.with_half(|half| half.read_body(buf), |n| *n == 0)
    }

    /// Reads the next piece of the body as it arrived; `None` at the end.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.done {
            return Ok(None);
        }
        self.with_half(RecvHalf::read_chunk, Option::is_none)
    }

    /// Reads the rest of the body, bounded by
    /// [`Builder::max_read_all`] (16 MiB by default).
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body); [`Error::BodyTooLarge`] past the
    /// bound.
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        if self.done {
            return Ok(Vec::new());
        }
        self.with_half(RecvHalf::read_all, |_| true)
    }

    /// Reads the rest of the body and drops it.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub fn discard(&mut self) -> Result<(), Error> {
        while self.read_chunk()?.is_some() {}
        Ok(())
    }

    /// The trailer fields of a chunked body, once it is read to its end.
    pub fn trailers(&self) -> Option<Headers> {
        lock(&self.slot.recv).as_ref().and_then(RecvHalf::trailers)
    }

    fn with_half<T>(
        &mut self,
        read: impl FnOnce(&mut RecvHalf) -> Result<T, Error>,
        ends: impl FnOnce(&T) -> bool,
    ) -> Result<T, Error> {
        let mut guard = lock(&self.slot.recv);
        let result = match guard.as_mut() {
            Some(half) => read(half),
            None => Err(Error::Usage(dugong_net::session::DISCONNECTED)),
        };
        drop(guard);
        match &result {
            Ok(value) if ends(value) => self.finish(),
            Ok(_) => {}
            Err(error) => {
                self.done = true;
                self.slot.die(error.clone());
                self.inner.changed.notify_all();
            }
        }
        result
    }

    fn finish(&mut self) {
        self.done = true;
        self.slot.answered(self.id);
        self.inner.changed.notify_all();
    }
}

impl io::Read for ClientResponse {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_body(buf)?)
    }
}

impl Drop for ClientResponse {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut read = 0;
        while read <= DISCARD_LIMIT {
            match self.read_chunk() {
                Ok(Some(piece)) => read += piece.len(),
                Ok(None) | Err(_) => return,
            }
        }
        self.done = true;
        // Shut first, so nothing is queued on it after the fates are taken.
        if let Some(probe) = self.slot.probe.get() {
            probe.shut_down();
        }
        self.slot.die(Error::Usage(
            "a response body was dropped unread; its connection was closed",
        ));
        self.inner.changed.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its state consistent before it can
    // panic; carry on after a panic elsewhere.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
