//! [`Client`]: a pool of pipelined connections per origin that resends
//! exactly the requests that are safe to resend after a connection dies.
//!
//! Each connection is [split](crate::Connection::split): one task at a
//! time queues a request on the sending half, and the task whose response
//! is next reads it on the receiving half, so requests from many tasks are
//! pipelined on one connection while earlier responses are read. The
//! decisions (which connection, when to open one, who reads next, what to
//! resend and in which order, how long to wait) are `dugong_net`'s
//! [`pool`](dugong_net::pool) and [`resend`](dugong_net::resend); this
//! module holds the locks, waits and moves data.
//!
//! Locks: each half sits in a `tokio::sync::Mutex` (held across the
//! awaits of one write or read); the per-connection [`Turns`] and the
//! pool's map sit in `std::sync::Mutex`es, never held across an await.
//! Waits use `tokio::sync::Notify` (per connection: "the turn changed";
//! per client: "the pool changed"), each registered (`enable`) before the
//! state is looked at, so no wakeup is missed.

use std::collections::HashMap;
use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dugong_net::pool::{
    self, Caller, Choice, ClientCore, Key, Load, PoolConfig, PooledRequest, Turns,
};
use dugong_net::resend::{Lost, Next, Tracker};
use dugong_net::session::DISCONNECTED;
use dugong_net::Error;
use dugong_proto::{Body, HeaderField, Headers, Response};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, OwnedMutexGuard};

use crate::recv::RecvHalf;
use crate::send::SendHalf;
use crate::shared::Probe;
use crate::Builder;

/// How long a request waiting for room sleeps at most before it looks at
/// the pool again (only a guard: every change that makes room notifies).
const RECHECK: Duration = Duration::from_millis(100);

/// The error a connection is broken with when a [`ClientResponse`] is
/// dropped before its body was read to its end.
const DROPPED_RESPONSE: &str = "a response body was dropped unread; its connection was closed";
/// The error a connection is broken with when a [`Pending`] is dropped
/// before its response head was read.
const DROPPED_PENDING: &str =
    "a pending request was dropped before its response was read; its connection was closed";
/// The error a connection is broken with when an upload is dropped before
/// its body was sent.
const DROPPED_UPLOAD: &str =
    "an upload was dropped before its body was sent; its connection was closed";

/// The size of the pieces an upload reads from its source.
const STREAM_PIECE: usize = 64 * 1024;

/// The sending half of a pooled connection, held (an upload holds it from
/// its head to the end of its body).
type SendGuard = OwnedMutexGuard<Option<SendHalf>>;

/// An async HTTP/1.1 client: up to
/// [`max_per_origin`](PoolConfig::max_per_origin) connections per origin
/// (4 by default), each pipelining up to [`depth`](PoolConfig::depth)
/// requests (16), idle ones closed after
/// [`idle_timeout`](PoolConfig::idle_timeout) (90 s). Clones share the
/// pool; it is `Send + Sync`, so many tasks can share one.
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
/// times (2) for failures, and the retries after connections that answered
/// nothing draw on one [`budget`](PoolConfig::budget) per client (a token
/// bucket), so a failing server is not hammered; a request the server
/// provably never saw on a connection that answered others is resent
/// without counting. When the client gives up, the error is
/// [`Error::GaveUp`], naming every try.
///
/// # Dropping without reading
///
/// Dropping cannot wait, so a [`ClientResponse`] dropped before its body
/// was read to its end, or a [`Pending`] dropped (or whose
/// [`wait`](Pending::wait) future is dropped) before its response head was
/// read, or an [`upload`](Client::upload) future dropped before its
/// response head was read (its body perhaps half sent), **breaks its
/// connection**: the connection is shut, and the other requests on it that
/// were not answered yet are resent by the rules above (a GET is sent
/// again; a POST that the server may have processed fails with
/// [`Error::GaveUp`]). Read or [`discard`](ClientResponse::discard) bodies
/// to keep connections for reuse.
///
/// [`Fate::NotProcessed`]: dugong_proto::Fate::NotProcessed
/// [`Fate::MaybeProcessed`]: dugong_proto::Fate::MaybeProcessed
///
/// ```no_run
/// use dugong_tokio::{Body, Client};
///
/// # async fn f() -> Result<(), dugong_tokio::Error> {
/// let client = Client::new();
/// let mut response = client.get("http://127.0.0.1:8080/notes").await?;
/// println!("{} {:?}", response.status(), response.read_all().await?);
///
/// // Clones share the pool: one per task.
/// let tasks: Vec<_> = (0..8)
///     .map(|i| {
///         let client = client.clone();
///         tokio::spawn(async move {
///             let mut response = client
///                 .request(
///                     "PUT",
///                     &format!("http://127.0.0.1:8080/notes/{i}"),
///                     [("Content-Type", "text/plain")],
///                     Body::from("hello"),
///                 )
///                 .await?;
///             response.discard().await?;
///             Ok::<_, dugong_tokio::Error>(response.resends())
///         })
///     })
///     .collect();
/// for task in tasks {
///     println!("sent again {} times", task.await.expect("task")?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    core: ClientCore,
    origins: Mutex<HashMap<Key, Vec<Arc<Slot>>>>,
    /// Notified when a connection gains room, dies, closes or finishes
    /// opening.
    changed: Arc<Notify>,
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
                changed: Arc::new(Notify::new()),
            }),
        }
    }

    /// A `GET` of `url`.
    ///
    /// # Cancel safety
    ///
    /// As [`request`](Self::request).
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request).
    pub async fn get(&self, url: &str) -> Result<ClientResponse, Error> {
        self.request("GET", url, [] as [(&str, &str); 0], Body::Empty)
            .await
    }

    /// Sends a request and reads its response head, resending it as the
    /// type's documentation says. It goes to an idle connection if there is
    /// one, else to a new one while fewer than the limit are open, else
    /// behind the fewest requests (waiting for a connection with room when
    /// every one is at the depth). A response's body must be read (or the
    /// response dropped) before the responses behind it on its connection
    /// can be: a task that holds more unread responses than there are
    /// connections, and sends again, waits for itself. The connection adds `Host`; a body is
    /// sent whole ([`Body::Empty`] or [`Body::Full`], so it can be sent
    /// again); an `Idempotency-Key` field marks a request safe to repeat.
    ///
    /// # Cancel safety
    ///
    /// Dropped once the request is sent, before its response head is read,
    /// it breaks that connection, as a dropped [`Pending`] does (see
    /// [`Client`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a URL that is not `http` or `https`;
    /// [`Error::Usage`] for a streamed body ([`Body::Sized`],
    /// [`Body::Chunked`]); [`Error::GaveUp`] when the request failed and
    /// was not (or no longer) sent again: its [`kind`](Error::kind) is the
    /// last try's, and it lists every try.
    pub async fn request<I>(
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
        self.start_request(request, true).await?.wait().await
    }

    /// Sends a request whose body is streamed from `body`: `length` bytes
    /// (sent with `Content-Length`; `body` must give exactly that many), or
    /// chunked when `None`; then reads its response head. The request goes
    /// to a connection as [`request`](Self::request) chooses, and holds its
    /// sending side from its head to the end of its body (requests of
    /// other tasks for that connection are queued behind it). A streamed
    /// body cannot be sent again: the request is tried again only while
    /// connecting fails, never once its body began.
    ///
    /// ```no_run
    /// use dugong_tokio::Client;
    ///
    /// # async fn f() -> Result<(), dugong_tokio::Error> {
    /// let client = Client::new();
    /// // Any `AsyncRead + Unpin`: a `tokio::fs::File`, a socket, a pipe, bytes.
    /// let table: &[u8] = b"name,size\nbackup.tar,1024\n";
    /// let mut response = client
    ///     .upload(
    ///         "PUT",
    ///         "http://127.0.0.1:8080/tables/today.csv",
    ///         [("Content-Type", "text/csv")],
    ///         Some(table.len() as u64),
    ///         table,
    ///     )
    ///     .await?;
    /// println!("{}", response.status());
    /// response.discard().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped once the request is sent (while its body
    /// is sent, or before its response head is read), it breaks that
    /// connection, as a dropped [`Pending`] does (see [`Client`]): a body
    /// half sent cannot be taken back, so nothing more is sent on that
    /// connection; the requests on it that were not answered are resent
    /// where safe, this one never.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), but for its refusal of a streamed
    /// body; [`Error::Io`] when `body` fails, and [`Error::Usage`] when it
    /// gives fewer or more bytes than `length` (the connection is closed
    /// then: its other requests are resent where safe).
    pub async fn upload<I, R>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        length: Option<u64>,
        mut body: R,
    ) -> Result<ClientResponse, Error>
    where
        I: IntoIterator<Item: HeaderField>,
        R: AsyncRead + Unpin,
    {
        let request = self.inner.core.streamed(method, url, headers, length)?;
        let mut pending = self.start_request(request, true).await?;
        pending.stream(&mut body).await?;
        pending.wait().await
    }

    /// The number of open (or opening) connections, over all origins.
    pub fn connections(&self) -> usize {
        self.inner.lock_origins().values().map(Vec::len).sum()
    }

    /// The pool settings.
    pub fn config(&self) -> &PoolConfig {
        self.inner.core.config()
    }

    /// Sends a request without waiting for its response: pipelining from
    /// one task. [`Pending::wait`] reads the response head (resending as
    /// [`request`](Self::request) does). Wait for pending responses in the
    /// order they were started: a response is read only after every
    /// earlier one on its connection. When every connection is at the
    /// depth and no more may be opened, the request goes deeper on the
    /// least loaded one (waiting for room would wait for this task to
    /// read).
    ///
    /// ```no_run
    /// use dugong_tokio::{Body, Client};
    ///
    /// # async fn f() -> Result<(), dugong_tokio::Error> {
    /// let client = Client::new();
    /// let mut pending = Vec::new();
    /// for i in 0..10 {
    ///     let url = format!("http://127.0.0.1:8080/item/{i}");
    ///     pending.push(client.start("GET", &url, [("Accept", "*/*")], Body::Empty).await?);
    /// }
    /// for p in pending {
    ///     let mut response = p.wait().await?;
    ///     println!("{} {} bytes", response.status(), response.read_all().await?.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropped while connecting, nothing is sent (the connection being
    /// opened is given up). Dropped while the request is written, it
    /// breaks that connection, as a dropped [`Pending`] does.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), for what happens before the request
    /// is written (connecting).
    pub async fn start<I>(
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
        self.start_request(request, false).await
    }

    /// Sends `request`; `waits_for_room`: wait for a connection with room
    /// (`request`, which waits for its response at once) or not (`start`,
    /// see [`Inner::acquire`]).
    async fn start_request(
        &self,
        request: PooledRequest,
        waits_for_room: bool,
    ) -> Result<Pending, Error> {
        let tracker = request.tracker(self.inner.core.config());
        let mut pending = Pending {
            inner: Arc::clone(&self.inner),
            request,
            waits_for_room,
            tracker,
            sent: None,
            sending: None,
            turn: None,
        };
        pending.send().await?;
        Ok(pending)
    }
}

/// A request sent by [`Client::start`] whose response is not read yet.
///
/// Dropping it before [`wait`](Self::wait) has returned breaks its
/// connection (see [`Client`]).
pub struct Pending {
    inner: Arc<Inner>,
    request: PooledRequest,
    waits_for_room: bool,
    tracker: Tracker,
    /// The connection it was sent on and its id there, until its response
    /// head is read or its fate learnt.
    sent: Option<(Arc<Slot>, u64)>,
    /// The sending half of that connection, for a streamed body: held from
    /// the queueing of the head until [`stream`](Self::stream) sends the
    /// body, so no other request is queued in between.
    sending: Option<SendGuard>,
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
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the future before it completes breaks the
    /// connection the request was on (see [`Client`]).
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub async fn wait(mut self) -> Result<ClientResponse, Error> {
        loop {
            let Some((slot, id)) = self.sent.clone() else {
                return Err(Error::Usage("the request was not sent"));
            };
            let result = slot.read_head(id).await;
            // Read or fated: no longer this Pending's to give up on drop.
            self.sent = None;
            match result {
                Ok(head) => {
                    self.inner.core.succeeded();
                    return Ok(ClientResponse::new(slot, id, head, self.tracker.resends()));
                }
                Err(failure) => {
                    self.decide(failure).await?;
                    self.send().await?;
                }
            }
        }
    }

    /// Sends the streamed body of the request (just queued, its sending
    /// half still held) from `body`.
    async fn stream<R>(&mut self, body: &mut R) -> Result<(), Error>
    where
        R: AsyncRead + Unpin,
    {
        self.tracker.body_started();
        match (&self.sent, self.sending.take()) {
            (Some((slot, _)), Some(guard)) => {
                slot.stream_body(guard, body, self.request.body()).await
            }
            _ => Err(Error::Usage("the request was not sent")),
        }
    }

    /// Sends the request on a connection of the pool, trying again while
    /// that fails in a way that may be tried again.
    async fn send(&mut self) -> Result<(), Error> {
        loop {
            let failure = match self.inner.acquire(&self.request, self.waits_for_room).await {
                Err(error) => Failure {
                    connection: None,
                    error,
                    lost: Lost::NotSent,
                    progress: false,
                    turn: None,
                },
                Ok(reserved) => match Slot::send(reserved, &self.request, &mut self.sent).await {
                    Ok(guard) => {
                        if self.request.is_streamed() {
                            self.sending = Some(guard);
                        } else {
                            drop(guard);
                        }
                        // Queued: the next resend of the dead connection
                        // may go.
                        drop(self.turn.take());
                        return Ok(());
                    }
                    Err(failure) => failure,
                },
            };
            self.decide(failure).await?;
        }
    }

    /// Asks the tracker what to do after `failure`; waits before a resend.
    async fn decide(&mut self, failure: Failure) -> Result<(), Error> {
        let Failure {
            connection,
            error,
            lost,
            progress,
            turn,
        } = failure;
        let next = self
            .inner
            .core
            .failed(&mut self.tracker, connection, error, lost, progress);
        if turn.is_some() {
            self.turn = turn;
        }
        match next {
            Next::Resend(wait) => {
                tracing::debug!(method = %self.request.method(), url = %self.request.url(), ?wait, "dugong: resending");
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Next::GiveUp(error) => Err(error),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Its response would have to be read for the ones behind it to be
        // read, and a drop cannot wait: break the connection.
        if let Some((slot, id)) = self.sent.take() {
            slot.abandon(id);
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

/// What [`Inner::acquire`] does after looking at the pool.
enum Step {
    Use(Reserved),
    Open(Arc<Slot>),
    Wait,
}

impl Inner {
    fn lock_origins(&self) -> MutexGuard<'_, HashMap<Key, Vec<Arc<Slot>>>> {
        lock(&self.origins)
    }

    /// The connection for the next try of `request`, reserved for it: one
    /// with room, or a new one, or (every one full) the first to get room.
    async fn acquire(
        &self,
        request: &PooledRequest,
        waits_for_room: bool,
    ) -> Result<Reserved, Error> {
        let caller = if waits_for_room {
            Caller::Waits
        } else {
            Caller::Pipelines
        };
        let config = self.core.config();
        loop {
            // Registered before the pool is looked at: a change after the
            // look wakes the wait below.
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            let (step, closing) = {
                let mut origins = self.lock_origins();
                // (The key is cloned only for an origin not seen yet.)
                if !origins.contains_key(request.key()) {
                    origins.insert(request.key().clone(), Vec::new());
                }
                let slots = origins
                    .get_mut(request.key())
                    .expect("the origin's entry was made above");
                let mut closing = prune(slots, config);
                let loads: Vec<Load> = slots.iter().map(|s| s.load()).collect();
                let step = match pool::choose_for(&loads, config, caller) {
                    Choice::Use(i) => Step::Use(Reserved::new(&slots[i])),
                    Choice::Open => {
                        let id = self.core.next_connection();
                        let slot = Arc::new(Slot::new(id, Arc::clone(&self.changed)));
                        slots.push(Arc::clone(&slot));
                        // Now and then (a connection opens): the other
                        // origins' idle and dead connections go too, and
                        // origins left without any.
                        for other in origins.values_mut() {
                            closing.extend(prune(other, config));
                        }
                        origins.retain(|_, slots| !slots.is_empty());
                        Step::Open(slot)
                    }
                    Choice::Wait => Step::Wait,
                };
                (step, closing)
            };
            close_all(closing);
            match step {
                Step::Use(reserved) => return Ok(reserved),
                Step::Open(slot) => return self.open(request, slot).await,
                Step::Wait => {
                    // The timeout only guards against a change no one
                    // announced (the session's own deadlines).
                    let _ = tokio::time::timeout(RECHECK, changed).await;
                }
            }
        }
    }

    /// Opens the connection of a new slot (without holding the pool's
    /// lock), reserved for `request`; a slot that fails to open (or whose
    /// opening is dropped) is removed.
    async fn open(&self, request: &PooledRequest, slot: Arc<Slot>) -> Result<Reserved, Error> {
        let mut opening = Opening {
            inner: self,
            key: request.key(),
            slot: Some(Arc::clone(&slot)),
        };
        let reserved = Reserved::new(&slot);
        let builder = Builder::from_settings(request.settings().clone());
        let conn = builder.connect().await?;
        let (send, recv) = conn.split();
        slot.install(send, recv).await;
        opening.slot = None;
        self.changed.notify_waiters();
        Ok(reserved)
    }
}

/// A slot being opened: removed from the pool if opening fails or its
/// future is dropped.
struct Opening<'a> {
    inner: &'a Inner,
    key: &'a Key,
    slot: Option<Arc<Slot>>,
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            if let Some(slots) = self.inner.lock_origins().get_mut(self.key) {
                slots.retain(|s| !Arc::ptr_eq(s, &slot));
            }
            self.inner.changed.notify_waiters();
        }
    }
}

/// A place on a connection, counted as pending from the choice on (so the
/// connection is not retired before the request is queued); given back if
/// the request is not queued after all, whatever stops it (an error, or
/// the caller's future dropped).
struct Reserved {
    slot: Arc<Slot>,
    held: bool,
}

impl Reserved {
    fn new(slot: &Arc<Slot>) -> Reserved {
        slot.book().turns.reserve();
        Reserved {
            slot: Arc::clone(slot),
            held: true,
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if self.held {
            self.slot.book().turns.unreserve();
            self.slot.changed.notify_waiters();
        }
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
        let book = slot.book();
        let retire = book.turns.retire(usable, now, config);
        // A dead one is only let go: its waiting requests still hold it
        // while they learn their fates.
        if retire && book.turns.death().is_none() {
            closing.push(Arc::clone(slot));
        }
        !retire
    });
    closing
}

fn close_all(slots: Vec<Arc<Slot>>) {
    for slot in slots {
        slot.close(Error::Usage(DISCONNECTED));
    }
}

/// One connection of the pool.
struct Slot {
    id: u64,
    /// In an `Arc` so an upload can hold it past [`Slot::send`].
    send: Arc<tokio::sync::Mutex<Option<SendHalf>>>,
    recv: tokio::sync::Mutex<Option<RecvHalf>>,
    probe: OnceLock<Probe>,
    book: Mutex<Book>,
    /// Notified when the next response may be read, or the connection
    /// died, or a resend's turn passed.
    turn: Notify,
    /// The pool's: notified when this connection gains room or dies.
    changed: Arc<Notify>,
}

/// The bookkeeping of one connection: its [`Turns`], and the requests
/// whose [`Pending`] was dropped before their resend turn came (each is
/// given up when its turn comes, so the ones behind it are not held).
struct Book {
    turns: Turns,
    abandoned: Vec<u64>,
}

impl Book {
    /// Gives up the abandoned requests whose resend turn has come.
    fn pass_abandoned(&mut self) {
        while let Some(i) = self
            .abandoned
            .iter()
            .position(|&id| self.turns.may_resend(id))
        {
            let id = self.abandoned.swap_remove(i);
            self.turns.resent(id);
        }
    }
}

impl Slot {
    fn new(id: u64, changed: Arc<Notify>) -> Slot {
        Slot {
            id,
            send: Arc::new(tokio::sync::Mutex::new(None)),
            recv: tokio::sync::Mutex::new(None),
            probe: OnceLock::new(),
            book: Mutex::new(Book {
                turns: Turns::new(Instant::now()),
                abandoned: Vec::new(),
            }),
            turn: Notify::new(),
            changed,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }

    async fn install(&self, send: SendHalf, recv: RecvHalf) {
        let _ = self.probe.set(send.probe());
        *self.send.lock().await = Some(send);
        *self.recv.lock().await = Some(recv);
        self.book().turns.connected(Instant::now());
    }

    /// What the session says: (takes new requests, window has room).
    fn session_load(&self) -> (bool, bool) {
        self.probe.get().map_or((false, false), Probe::load)
    }

    fn load(&self) -> Load {
        let (usable, has_room) = self.session_load();
        self.book().turns.load(usable, has_room)
    }

    /// Waits until `ready` holds for the turns.
    async fn wait_for(&self, ready: impl Fn(&Turns) -> bool) {
        loop {
            let mut notified = pin!(self.turn.notified());
            notified.as_mut().enable();
            if ready(&self.book().turns) {
                return;
            }
            notified.await;
        }
    }

    /// Queues `request` on the connection `reserved` for it and writes it;
    /// `sent` holds the connection and the request's id from the moment it
    /// is queued (so a dropped future leaves it to [`Pending`]'s drop).
    /// Returns the sending half still held (for a streamed body).
    async fn send(
        mut reserved: Reserved,
        request: &PooledRequest,
        sent: &mut Option<(Arc<Slot>, u64)>,
    ) -> Result<SendGuard, Failure> {
        let slot = Arc::clone(&reserved.slot);
        let mut guard = Arc::clone(&slot.send).lock_owned().await;
        let dead = slot.book().turns.death().map(|d| d.error.clone());
        let queued = match (dead, guard.as_mut()) {
            (Some(error), _) => Err(error),
            (None, None) => Err(Error::Usage(DISCONNECTED)),
            (None, Some(half)) => half
                .queue_request(
                    request.method(),
                    request.target(),
                    request.fields(),
                    request.body(),
                )
                .map(|id| id.as_u64()),
        };
        let id = match queued {
            Ok(id) => id,
            // Refused before it was queued: a mistake in the request (not
            // temporary, so not tried again), or a connection that stopped
            // taking requests since it was chosen (tried elsewhere).
            Err(error) => {
                drop(guard);
                drop(reserved);
                return Err(slot.not_sent(error));
            }
        };
        reserved.held = false;
        *sent = Some((Arc::clone(&slot), id));
        // A write that fails does not decide the request's fate: the server
        // may have answered what it got, and the receiving side reads those
        // answers, then learns from the state machine what became of the
        // rest.
        if let Some(half) = guard.as_mut() {
            if let Err(error) = half.flush().await {
                tracing::debug!(connection = slot.id, %error, "dugong: pooled write failed");
            }
        }
        Ok(guard)
    }

    /// Sends a streamed body from `body` (as `announced`: `Body::Sized` or
    /// `Body::Chunked`) on the sending half `guard` holds. A failure of the
    /// network is left to the wait for the response (the server may have
    /// answered, e.g. `413`); a failure of `body`, or a length other than
    /// announced, closes the connection and is the caller's error. A
    /// future dropped before the body is sent closes the connection too.
    async fn stream_body<R>(
        &self,
        guard: SendGuard,
        body: &mut R,
        announced: Body,
    ) -> Result<(), Error>
    where
        R: AsyncRead + Unpin,
    {
        let mut held = Streaming {
            slot: self,
            guard,
            done: false,
        };
        let caller_error = match held.guard.as_mut() {
            Some(half) => send_stream(half, body, announced, self.id).await,
            // Closed by the pool meanwhile: the wait learns the fate.
            None => None,
        };
        held.done = true;
        if let Some(error) = caller_error {
            // Shut down while the sending half is still held, then die
            // (as `close` does): nothing is queued behind the cut body,
            // and the requests on the connection learn their fates.
            self.close(error.clone());
            return Err(error);
        }
        Ok(())
    }

    /// The failure of a request that was not queued on this connection.
    fn not_sent(&self, error: Error) -> Failure {
        // The connection stopped taking requests between the choice and
        // the queueing (its server announced the close, closed, or the
        // pool closed it): the request never reached it.
        let gone = !self.session_load().0;
        let book = self.book();
        let gone = gone || book.turns.death().is_some();
        Failure {
            connection: Some(self.id),
            error: if gone {
                Error::closed_while_sending()
            } else {
                error
            },
            lost: Lost::NotSent,
            progress: book.turns.progress(),
            turn: None,
        }
    }

    /// Waits for the turn of request `id`, then reads its final response
    /// head.
    async fn read_head(self: &Arc<Self>, id: u64) -> Result<Head, Failure> {
        self.wait_for(|turns| turns.may_read(id)).await;
        let dead = self.book().turns.death().is_some();
        if dead {
            return Err(self.fated(id).await);
        }
        let (result, trailers) = {
            let mut guard = self.recv.lock().await;
            match guard.as_mut() {
                Some(half) => {
                    let result = read_final_head(half).await;
                    // No body to read: it is answered, trailers and all.
                    let trailers = (!half.body_pending()).then(|| half.trailers().cloned());
                    (result, trailers)
                }
                None => (Err(Error::Usage(DISCONNECTED)), None),
            }
        };
        match result {
            Ok(response) => {
                if trailers.is_some() {
                    self.answered(id);
                }
                Ok(Head {
                    response,
                    trailers: trailers.flatten(),
                })
            }
            Err(error) => {
                self.die(error);
                Err(self.fated(id).await)
            }
        }
    }

    /// The response to `id` was read to its end: the next may be read.
    fn answered(&self, id: u64) {
        self.book().turns.answered(id, Instant::now());
        self.turn.notify_waiters();
        self.changed.notify_waiters();
    }

    /// The connection died with `error`: every request still waiting on it
    /// learns its fate.
    fn die(&self, error: Error) {
        let lost = match error.closed() {
            Some(closed) => closed.clone(),
            None => self.probe.get().map(Probe::unanswered).unwrap_or_default(),
        };
        tracing::debug!(connection = self.id, %error, %lost, "dugong: pooled connection died");
        self.book().turns.die(error, lost);
        self.turn.notify_waiters();
        self.changed.notify_waiters();
    }

    /// What became of request `id` on this dead connection, once the
    /// requests before it were resent (or given up).
    async fn fated(self: &Arc<Self>, id: u64) -> Failure {
        self.wait_for(|turns| turns.may_resend(id)).await;
        let fated = self
            .book()
            .turns
            .fated(id)
            .expect("only a dead connection is asked what it lost");
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

    /// Breaks the connection with `error` (what a drop that cannot wait
    /// does): nothing more is queued on it, the requests on it learn their
    /// fates, and its transport is dropped.
    fn close(&self, error: Error) {
        // The session first, so no request is queued after the fates are
        // taken from the state machine.
        if let Some(probe) = self.probe.get() {
            probe.shut_down(error.clone());
        }
        self.die(error);
        // A half in use is dropped with the slot, once its user sees the
        // error.
        let send = self.send.try_lock().ok().and_then(|mut half| half.take());
        let recv = self.recv.try_lock().ok().and_then(|mut half| half.take());
        drop((send, recv));
    }

    /// The [`Pending`] of request `id` was dropped: the connection breaks
    /// (unless it died already), and the request is given up once its
    /// resend turn comes.
    fn abandon(&self, id: u64) {
        let alive = self.book().turns.death().is_none();
        if alive {
            self.close(Error::Usage(DROPPED_PENDING));
        }
        let mut book = self.book();
        book.abandoned.push(id);
        book.pass_abandoned();
        drop(book);
        self.turn.notify_waiters();
    }
}

/// The sending half held by an upload: if it is dropped before the body is
/// sent (the caller's future dropped), the connection is closed while the
/// half is still held, so no request is queued behind a body half sent.
struct Streaming<'a> {
    slot: &'a Slot,
    guard: SendGuard,
    done: bool,
}

impl Drop for Streaming<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.slot.close(Error::Usage(DROPPED_UPLOAD));
        }
    }
}

/// Reads `body` in pieces and sends them on `half` (as `announced`), then
/// ends a chunked body. A failure of the network stops it (the wait for the
/// response learns the rest); the caller's error, if `body` failed or gave
/// a length other than announced.
async fn send_stream<R>(
    half: &mut SendHalf,
    body: &mut R,
    announced: Body,
    connection: u64,
) -> Option<Error>
where
    R: AsyncRead + Unpin,
{
    let mut buf = vec![0u8; STREAM_PIECE];
    let mut sent = 0u64;
    loop {
        let n = match body.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Some(Error::io(e)),
        };
        sent += n as u64;
        if let Body::Sized(length) = announced {
            if sent > length {
                return Some(Error::Usage("the body gave more bytes than its length"));
            }
        }
        if let Err(error) = half.send_body(Bytes::copy_from_slice(&buf[..n])).await {
            tracing::debug!(connection, %error, "dugong: pooled upload stopped");
            return None;
        }
    }
    match announced {
        Body::Sized(length) if sent < length => {
            Some(Error::Usage("the body ended before its length"))
        }
        Body::Chunked => {
            if let Err(error) = half.finish().await {
                tracing::debug!(connection, %error, "dugong: pooled upload stopped");
            }
            None
        }
        _ => None,
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
        let mut book = self.slot.book();
        book.turns.resent(self.id);
        book.pass_abandoned();
        drop(book);
        self.slot.turn.notify_waiters();
    }
}

/// A final response head, and the trailers if its body is already read
/// (it has none).
struct Head {
    response: Response,
    trailers: Option<Headers>,
}

/// Reads heads until a final one (the `100 Continue` of a released body
/// is passed over: a whole body needs nothing from the caller).
async fn read_final_head(half: &mut RecvHalf) -> Result<Response, Error> {
    loop {
        let head = half.read_response().await?;
        if head.is_final() {
            return Ok(head);
        }
    }
}

/// A response of a [`Client`]: the head, and the body read from the pooled
/// connection. Reading the body to its end lets the next response on that
/// connection be read.
///
/// Dropping it before the body is read to its end **breaks its
/// connection** (a drop cannot wait to read the rest): the requests behind
/// it on that connection are resent where safe (see [`Client`]). Call
/// [`discard`](Self::discard) to keep the connection.
pub struct ClientResponse {
    slot: Arc<Slot>,
    id: u64,
    head: Response,
    done: bool,
    resends: usize,
    trailers: Option<Headers>,
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
    fn new(slot: Arc<Slot>, id: u64, head: Head, resends: usize) -> ClientResponse {
        let done = slot.book().turns.is_answered(id);
        ClientResponse {
            slot,
            id,
            head: head.response,
            done,
            resends,
            trailers: head.trailers,
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
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`RecvHalf::read_body`].
    ///
    /// # Errors
    ///
    /// As [`Connection::read_body`](crate::Connection::read_body): a body
    /// cut short is an error ([`ErrorKind::Closed`](crate::ErrorKind::Closed)),
    /// never a short `Ok`; the request is not resent (its response had
    /// begun).
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let slot = Arc::clone(&self.slot);
        let mut guard = slot.recv.lock().await;
        let result = match guard.as_mut() {
            Some(half) => half.read_body(buf).await,
            None => Err(Error::Usage(DISCONNECTED)),
        };
        self.after(&result, matches!(result, Ok(0)), guard.as_ref());
        result
    }

    /// Reads the next piece of the body as it arrived; `None` at the end.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`RecvHalf::read_chunk`].
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.done {
            return Ok(None);
        }
        let slot = Arc::clone(&self.slot);
        let mut guard = slot.recv.lock().await;
        let result = match guard.as_mut() {
            Some(half) => half.read_chunk().await,
            None => Err(Error::Usage(DISCONNECTED)),
        };
        self.after(&result, matches!(result, Ok(None)), guard.as_ref());
        result
    }

    /// Reads the rest of the body, bounded by
    /// [`Builder::max_read_all`] (16 MiB by default).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: what was read so far is lost if the future is
    /// dropped (as [`RecvHalf::read_all`]).
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body); [`Error::BodyTooLarge`] past the
    /// bound.
    pub async fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        if self.done {
            return Ok(Vec::new());
        }
        let slot = Arc::clone(&self.slot);
        let mut guard = slot.recv.lock().await;
        let result = match guard.as_mut() {
            Some(half) => half.read_all().await,
            None => Err(Error::Usage(DISCONNECTED)),
        };
        self.after(&result, true, guard.as_ref());
        result
    }

    /// Reads the rest of the body and drops it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a later call discards what is left.
    ///
    /// # Errors
    ///
    /// As [`read_body`](Self::read_body).
    pub async fn discard(&mut self) -> Result<(), Error> {
        while self.read_chunk().await?.is_some() {}
        Ok(())
    }

    /// The trailer fields of a chunked body, once it is read to its end.
    pub fn trailers(&self) -> Option<Headers> {
        self.trailers.clone()
    }

    /// After a read: at the end of the body (`ended`), the next response
    /// may be read; after an error, the connection is dead.
    fn after<T>(&mut self, result: &Result<T, Error>, ended: bool, half: Option<&RecvHalf>) {
        match result {
            Ok(_) if ended => {
                self.trailers = half.and_then(|h| h.trailers().cloned());
                self.done = true;
                self.slot.answered(self.id);
            }
            Ok(_) => {}
            Err(error) => {
                self.done = true;
                self.slot.die(error.clone());
            }
        }
    }
}

impl Drop for ClientResponse {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            self.slot.close(Error::Usage(DROPPED_RESPONSE));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its state consistent before it can
    // panic; carry on after a panic elsewhere.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
