//! The decisions of a pool of pipelined connections, without I/O or
//! clock: which connection a request goes to, when to open another, when
//! an idle one is closed, and what keys the pool. Both adapters' `Client`
//! types keep their connections behind their own locks and ask these
//! functions; the resend decisions are in [`crate::resend`].
//!
//! ```
//! use dugong_net::pool::{choose, Choice, Load, PoolConfig};
//!
//! let config = PoolConfig::default();
//! let busy = Load { pending: 16, usable: true, has_room: true, connecting: false };
//! let light = Load { pending: 3, ..busy };
//! // The least loaded connection with room takes the request...
//! assert_eq!(choose(&[busy, light], &config), Choice::Use(1));
//! // ...and a new one is opened only when every one is full.
//! assert_eq!(choose(&[busy, busy], &config), Choice::Open);
//! assert_eq!(choose(&[busy; 4], &config), Choice::Wait);
//! ```

use std::time::Duration;

use dugong_proto::HeaderField;

use crate::resend::{Backoff, RetryBudget, DEFAULT_RESENDS_PER_REQUEST};
use crate::settings::Route;
use crate::url::Scheme;

/// At most this many connections per origin by default.
pub const DEFAULT_MAX_PER_ORIGIN: usize = 4;
/// At most this many requests pipelined on one connection by default.
pub const DEFAULT_DEPTH: usize = 16;
/// A client remembers the settings of this many origins.
const MAX_ORIGINS: usize = 64;

/// An idle connection is closed after this long by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How a pool behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// At most this many connections to one origin (scheme, host, port and
    /// proxy), at least 1.
    pub max_per_origin: usize,
    /// At most this many requests in flight on one connection, at least 1
    /// (and never past the connection's bytes-in-flight window).
    pub depth: usize,
    /// A connection with nothing in flight for this long is closed.
    pub idle_timeout: Duration,
    /// How often one request may be sent again after failures
    /// ([`crate::resend::Tracker`]).
    pub resends_per_request: u32,
    /// The wait before a counted resend.
    pub backoff: Backoff,
    /// The client-wide budget of counted resends.
    pub budget: RetryBudget,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            max_per_origin: DEFAULT_MAX_PER_ORIGIN,
            depth: DEFAULT_DEPTH,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            resends_per_request: DEFAULT_RESENDS_PER_REQUEST,
            backoff: Backoff::default(),
            budget: RetryBudget::default(),
        }
    }
}

/// One connection of the pool as [`choose`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Requests sent on it whose response is not read to its end.
    pub pending: usize,
    /// It takes new requests (not broken, not closing).
    pub usable: bool,
    /// Its bytes-in-flight window has room.
    pub has_room: bool,
    /// It is being opened (counts towards the limit, takes no request yet).
    pub connecting: bool,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// On this connection (an index into the loads given).
    Use(usize),
    /// On a connection to be opened.
    Open,
    /// Nowhere yet: every connection is full and no more may be opened;
    /// wait until one has room.
    Wait,
}

/// Chooses the connection for the next request: the usable one with the
/// fewest pending requests that has room (below the depth and within its
/// window; the oldest among equals), else a new one while fewer than
/// [`max_per_origin`](PoolConfig::max_per_origin) are open or opening,
/// else [`Choice::Wait`]. Connections that are not usable count towards
/// the limit until the caller closes them, which it should do as soon as
/// their pending requests are read.
pub fn choose(loads: &[Load], config: &PoolConfig) -> Choice {
    let depth = config.depth.max(1);
    let best = loads
        .iter()
        .enumerate()
        .filter(|(_, l)| l.usable && !l.connecting && l.has_room && l.pending < depth)
        .min_by_key(|(i, l)| (l.pending, *i));
    match best {
        Some((i, _)) => Choice::Use(i),
        None if loads.len() < config.max_per_origin.max(1) => Choice::Open,
        None => Choice::Wait,
    }
}

/// Like [`choose`], for a request whose caller waits for its response at
/// once (a blocking `request`, an awaited one): an idle connection first,
/// then a new one while fewer than the limit are open, and only then the
/// least loaded one with room. Spreading such requests over connections
/// keeps one slow response from holding up the others, and a caller that
/// still holds an unread response does not find its next request queued
/// behind it.
pub fn choose_idle_first(loads: &[Load], config: &PoolConfig) -> Choice {
    let idle = loads
        .iter()
        .position(|l| l.usable && !l.connecting && l.has_room && l.pending == 0);
    match idle {
        Some(i) => Choice::Use(i),
        None if loads.len() < config.max_per_origin.max(1) => Choice::Open,
        None => choose(loads, config),
    }
}

/// Who waits for a request's response, which decides where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The caller waits for the response at once (a blocking `request`, an
    /// awaited one): [`choose_idle_first`], and wait for room when every
    /// connection is full.
    Waits,
    /// The caller pipelines, reading responses later (`start`): [`choose`],
    /// and when every connection is full and no more may be opened, deeper
    /// on the least loaded one that takes requests (waiting for room would
    /// wait for the caller's own reads).
    Pipelines,
}

/// Where a request from `caller` goes.
///
/// ```
/// use dugong_net::pool::{choose_for, Caller, Choice, Load, PoolConfig};
///
/// let config = PoolConfig::default();
/// let full = Load { pending: 16, usable: true, has_room: true, connecting: false };
/// let busy = Load { pending: 17, ..full };
/// assert_eq!(choose_for(&[busy, full, full, full], &config, Caller::Waits), Choice::Wait);
/// assert_eq!(choose_for(&[busy, full, full, full], &config, Caller::Pipelines), Choice::Use(1));
/// ```
pub fn choose_for(loads: &[Load], config: &PoolConfig, caller: Caller) -> Choice {
    match caller {
        Caller::Waits => choose_idle_first(loads, config),
        Caller::Pipelines => match choose(loads, config) {
            Choice::Wait => loads
                .iter()
                .enumerate()
                .filter(|(_, l)| l.usable && !l.connecting)
                .min_by_key(|(i, l)| (l.pending, *i))
                .map_or(Choice::Wait, |(i, _)| Choice::Use(i)),
            other => other,
        },
    }
}

/// True if a connection idle since `idle_for` ago should be closed.
pub fn expired(idle_for: Duration, config: &PoolConfig) -> bool {
    idle_for >= config.idle_timeout
}

/// What a pool's connections are keyed by: the origin's scheme, host and
/// port, and the proxy the route goes through (host and port) if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    scheme: Scheme,
    host: String,
    port: u16,
    proxy: Option<(String, u16)>,
}

impl Key {
    /// The key of a [`Route`].
    pub fn of(route: &Route) -> Key {
        Key {
            scheme: route.origin.scheme(),
            host: route.origin.host().to_owned(),
            port: route.origin.port(),
            proxy: route
                .proxy
                .as_ref()
                .map(|p| (p.host().to_owned(), p.port())),
        }
    }
}

/// Who reads next on one pooled connection, and what its death left: the
/// bookkeeping a pool keeps per connection, without I/O, locks or clock
/// (the caller passes the time in). Request ids are the connection's own
/// ([`RequestId::as_u64`](dugong_proto::RequestId::as_u64)), so responses
/// are read in id order.
///
/// ```
/// use std::time::Instant;
/// use dugong_net::pool::Turns;
///
/// let mut turns = Turns::new(Instant::now());
/// turns.connected(Instant::now());
/// turns.queued();
/// turns.queued();
/// assert!(turns.may_read(0) && !turns.may_read(1));
/// turns.answered(0, Instant::now());
/// assert!(turns.may_read(1));
/// ```
#[derive(Debug, Clone)]
pub struct Turns {
    connecting: bool,
    pending: usize,
    next: u64,
    answered: u64,
    dead: Option<Death>,
    resent_below: u64,
    idle_since: std::time::Instant,
}

/// What a dead connection left: the error that killed it and the fates of
/// the requests it had not answered.
#[derive(Debug, Clone)]
pub struct Death {
    /// The error.
    pub error: crate::Error,
    /// The requests without a complete response, and their fates.
    pub lost: dugong_proto::Closed,
}

/// What one request of a dead connection learns: its error, what became
/// of it, and whether the connection answered any request first.
#[derive(Debug, Clone)]
pub struct Fated {
    /// The error that killed the connection.
    pub error: crate::Error,
    /// What became of the request.
    pub lost: crate::resend::Lost,
    /// The connection answered at least one request before it died.
    pub progress: bool,
}

impl Turns {
    /// A connection being opened.
    pub fn new(now: std::time::Instant) -> Turns {
        Turns {
            connecting: true,
            pending: 0,
            next: 0,
            answered: 0,
            dead: None,
            resent_below: 0,
            idle_since: now,
        }
    }

    /// It is open.
    pub fn connected(&mut self, now: std::time::Instant) {
        self.connecting = false;
        self.idle_since = now;
    }

    /// A request was given this connection (call it while choosing, under
    /// the pool's lock, so the connection is not retired before the request
    /// is queued): it counts as pending from now on.
    pub fn reserve(&mut self) {
        self.pending += 1;
    }

    /// The request given this connection was not queued after all.
    pub fn unreserve(&mut self) {
        self.pending = self.pending.saturating_sub(1);
    }

    /// A request was queued on it (counts as pending; the same as
    /// [`reserve`](Self::reserve)).
    pub fn queued(&mut self) {
        self.reserve();
    }

    /// True when the response to `id` may be read (every earlier one was
    /// read), or the connection died (then ask [`fated`](Self::fated)).
    pub fn may_read(&self, id: u64) -> bool {
        self.next == id || self.dead.is_some()
    }

    /// True once the response to `id` was read to its end.
    pub fn is_answered(&self, id: u64) -> bool {
        self.next > id
    }

    /// The response to `id` was read to its end: the next may be read.
    pub fn answered(&mut self, id: u64, now: std::time::Instant) {
        if self.next == id {
            self.next = id + 1;
            self.pending = self.pending.saturating_sub(1);
            self.answered += 1;
            if self.pending == 0 {
                self.idle_since = now;
            }
        }
    }

    /// The connection died with `error`, leaving `lost`; false if it had
    /// died already (the first death counts). The request whose response
    /// had begun is not resent, so resends start behind it.
    pub fn die(&mut self, error: crate::Error, lost: dugong_proto::Closed) -> bool {
        if self.dead.is_some() {
            return false;
        }
        let front = lost.unanswered().first().map(|u| u.id.as_u64());
        self.resent_below = match (front, lost.response_started()) {
            (Some(front), Some(started)) if started.as_u64() == front => front + 1,
            (Some(front), _) => front,
            (None, _) => self.next,
        };
        self.dead = Some(Death { error, lost });
        true
    }

    /// Its death, if it died.
    pub fn death(&self) -> Option<&Death> {
        self.dead.as_ref()
    }

    /// True when request `id` of the dead connection may be resent: every
    /// request before it was resent or given up ([`resent`](Self::resent)),
    /// so resends keep their order.
    pub fn may_resend(&self, id: u64) -> bool {
        self.resent_below >= id
    }

    /// Request `id` was queued elsewhere, or given up: the next may go.
    pub fn resent(&mut self, id: u64) {
        self.resent_below = self.resent_below.max(id + 1);
    }

    /// What request `id` learns of the connection's death (it no longer
    /// counts as pending); `None` while the connection lives.
    pub fn fated(&mut self, id: u64) -> Option<Fated> {
        let death = self.dead.as_ref()?;
        let lost = death
            .lost
            .unanswered()
            .iter()
            .find(|u| u.id.as_u64() == id)
            .map_or(crate::resend::Lost::NotSent, |u| {
                crate::resend::Lost::of(u.id, &death.lost)
            });
        // A request the death does not name was queued after it: it never
        // reached the server (and may go elsewhere).
        let error = match lost {
            crate::resend::Lost::NotSent => crate::Error::closed_while_sending(),
            _ => death.error.clone(),
        };
        let fated = Fated {
            error,
            lost,
            progress: self.answered > 0,
        };
        self.pending = self.pending.saturating_sub(1);
        Some(fated)
    }

    /// True if the connection answered at least one request.
    pub fn progress(&self) -> bool {
        self.answered > 0
    }

    /// How [`choose`] sees the connection, given what its session says:
    /// it takes new requests (`usable`), its window has room.
    pub fn load(&self, usable: bool, has_room: bool) -> Load {
        let alive = self.dead.is_none() && !self.connecting;
        Load {
            pending: self.pending,
            usable: usable && alive,
            has_room: has_room && alive,
            connecting: self.connecting,
        }
    }

    /// True if the pool should let the connection go now: it died (its
    /// waiting requests still hold it and learn their fates), or nothing
    /// is pending and it takes no new request (`usable` false) or was idle
    /// past the idle timeout.
    pub fn retire(&self, usable: bool, now: std::time::Instant, config: &PoolConfig) -> bool {
        if self.dead.is_some() {
            return true;
        }
        let idle = self.pending == 0 && !self.connecting;
        idle && (!usable || expired(now.saturating_duration_since(self.idle_since), config))
    }
}

/// A request as a pool holds it, so it can send it again: method, URL,
/// the settings and pool key of its origin, header fields, a whole body
/// (or none, or the announcement of a streamed one, which cannot be sent
/// again), and whether an `Idempotency-Key` marks it.
#[derive(Debug, Clone)]
pub struct PooledRequest {
    method: String,
    url: crate::Url,
    key: std::sync::Arc<Key>,
    settings: std::sync::Arc<crate::Settings>,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
    body: Option<bytes::Bytes>,
    /// A streamed body: its length, if known.
    streamed: Option<Option<u64>>,
    marked_idempotent: bool,
}

impl PooledRequest {
    /// The request `method url` with `headers` and `body`, to be sent with
    /// `template`'s settings (timeouts, TLS, proxy) to the URL's origin.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`](crate::Error::InvalidUrl) for a URL that is not
    /// `http` or `https` or a bad proxy setting; [`Error::Usage`](crate::Error::Usage)
    /// for a streamed body ([`Body::Sized`](dugong_proto::Body::Sized),
    /// [`Body::Chunked`](dugong_proto::Body::Chunked)), which could not be
    /// sent again.
    pub fn new<I>(
        method: &str,
        url: &str,
        headers: I,
        body: dugong_proto::Body,
        template: &crate::Settings,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        PooledRequest::build(method, url, headers, body, template, false)
    }

    /// A request whose body the caller streams (`length` bytes with
    /// `Content-Length`, or chunked when `None`): held whole but for its
    /// body, which cannot be sent again.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), without the one for a streamed body.
    pub fn streamed<I>(
        method: &str,
        url: &str,
        headers: I,
        length: Option<u64>,
        template: &crate::Settings,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let body = length.map_or(dugong_proto::Body::Chunked, dugong_proto::Body::Sized);
        PooledRequest::build(method, url, headers, body, template, true)
    }

    fn build<I>(
        method: &str,
        url: &str,
        headers: I,
        body: dugong_proto::Body,
        template: &crate::Settings,
        streamed_ok: bool,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        PooledRequest::parse(method, url, headers, body, streamed_ok, |url| {
            origin_of(template, url)
        })
    }

    /// The request `method url`, the settings and key of its origin from
    /// `origin`.
    fn parse<I>(
        method: &str,
        url: &str,
        headers: I,
        body: dugong_proto::Body,
        streamed_ok: bool,
        origin: impl FnOnce(&crate::Url) -> Result<SharedOrigin, crate::Error>,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let url = crate::Url::parse(url)?;
        let (settings, key) = origin(&url)?;
        PooledRequest::with_origin(method, url, settings, key, headers, body, streamed_ok)
    }

    /// The request for `url`, whose origin's settings and key are given.
    fn with_origin<I>(
        method: &str,
        url: crate::Url,
        settings: std::sync::Arc<crate::Settings>,
        key: std::sync::Arc<Key>,
        headers: I,
        body: dugong_proto::Body,
        streamed_ok: bool,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let (body, streamed) = match body {
            dugong_proto::Body::Empty => (None, None),
            dugong_proto::Body::Full(bytes) => (Some(bytes), None),
            dugong_proto::Body::Sized(n) if streamed_ok => (None, Some(Some(n))),
            dugong_proto::Body::Chunked if streamed_ok => (None, Some(None)),
            _ => {
                return Err(crate::Error::Usage(
                    "a request with a streamed body (Body::Sized, Body::Chunked) is sent with Client::upload",
                ))
            }
        };
        let fields: Vec<(Vec<u8>, Vec<u8>)> = headers
            .into_iter()
            .map(|f| (f.name().to_vec(), f.value().to_vec()))
            .collect();
        let marked_idempotent = fields
            .iter()
            .any(|(name, _)| std::str::from_utf8(name).is_ok_and(crate::resend::marks_idempotent));
        Ok(PooledRequest {
            method: method.to_owned(),
            url,
            key,
            settings,
            fields,
            body,
            streamed,
            marked_idempotent,
        })
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &crate::Url {
        &self.url
    }

    /// The target to send (origin form; a connection through a proxy makes
    /// it absolute).
    pub fn target(&self) -> &str {
        self.url.target()
    }

    /// The pool key of its origin.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The settings of a connection to its origin.
    pub fn settings(&self) -> &crate::Settings {
        &self.settings
    }

    /// The header fields, in order.
    pub fn fields(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.fields
    }

    /// The body, as the state machine takes it: the bytes shared, not
    /// copied; for a streamed body, its announcement (`Body::Sized`,
    /// `Body::Chunked`), the caller then sending the bytes.
    pub fn body(&self) -> dugong_proto::Body {
        match (self.streamed, &self.body) {
            (Some(Some(n)), _) => dugong_proto::Body::Sized(n),
            (Some(None), _) => dugong_proto::Body::Chunked,
            (None, Some(bytes)) => dugong_proto::Body::Full(bytes.clone()),
            (None, None) => dugong_proto::Body::Empty,
        }
    }

    /// True for a request whose body the caller streams.
    pub fn is_streamed(&self) -> bool {
        self.streamed.is_some()
    }

    /// A [`Tracker`](crate::resend::Tracker) for its tries, with
    /// `config`'s limit and backoff.
    pub fn tracker(&self, config: &PoolConfig) -> crate::resend::Tracker {
        crate::resend::Tracker::new(
            &self.method,
            self.marked_idempotent,
            !self.is_streamed(),
            config.resends_per_request,
        )
        .with_backoff(config.backoff)
    }
}

/// Random numbers in `[0, 1)` for the backoff's jitter (xorshift64, shared
/// by threads without a lock; not for anything that needs good
/// randomness).
#[derive(Debug)]
pub struct Jitter {
    state: std::sync::atomic::AtomicU64,
}

impl Jitter {
    /// Seeded from the clock and the process id.
    pub fn new() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Jitter {
            state: std::sync::atomic::AtomicU64::new((nanos ^ u64::from(std::process::id())) | 1),
        }
    }

    /// The next number.
    pub fn unit(&self) -> f64 {
        use std::sync::atomic::Ordering;
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Jitter {
        Jitter::new()
    }
}

/// The settings and pool key of an origin, shared by its requests.
type SharedOrigin = (std::sync::Arc<crate::Settings>, std::sync::Arc<Key>);

/// The settings and pool key of `url`'s origin, from `template`.
fn origin_of(template: &crate::Settings, url: &crate::Url) -> Result<SharedOrigin, crate::Error> {
    let settings = template.for_origin(url);
    let key = Key::of(&settings.route()?);
    Ok((std::sync::Arc::new(settings), std::sync::Arc::new(key)))
}

/// One origin a client has sent to: its scheme, host and port, and what
/// requests to it share.
#[derive(Debug)]
struct Origin {
    scheme: crate::Scheme,
    host: String,
    port: u16,
    settings: std::sync::Arc<crate::Settings>,
    key: std::sync::Arc<Key>,
}

/// What a pooled client keeps beside its connections, and the decisions
/// it takes with it: the connection settings its requests start from, the
/// pool settings, the retry budget, the jitter source and the numbering of
/// connections. Both adapters' `Client`s hold one, behind their own locks
/// and waits.
#[derive(Debug)]
pub struct ClientCore {
    settings: crate::Settings,
    config: PoolConfig,
    /// The origins sent to, so that a request to a known one shares their
    /// settings and key instead of making its own (the proxy to use, from
    /// the environment or not, is decided once per origin).
    origins: std::sync::Mutex<Vec<Origin>>,
    budget: std::sync::Mutex<RetryBudget>,
    next_connection: std::sync::atomic::AtomicU64,
    jitter: Jitter,
}

impl ClientCore {
    /// A client making connections with `settings` (their host and port
    /// are not used: each request names its origin), pooled as `config`
    /// says.
    pub fn new(settings: crate::Settings, config: PoolConfig) -> ClientCore {
        ClientCore {
            settings,
            origins: std::sync::Mutex::new(Vec::new()),
            budget: std::sync::Mutex::new(config.budget.clone()),
            config,
            next_connection: std::sync::atomic::AtomicU64::new(1),
            jitter: Jitter::new(),
        }
    }

    /// The connection settings requests start from.
    pub fn settings(&self) -> &crate::Settings {
        &self.settings
    }

    /// The pool settings.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// A request to send, held whole ([`PooledRequest::new`] with these
    /// settings).
    ///
    /// # Errors
    ///
    /// As [`PooledRequest::new`].
    pub fn request<I>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        body: dugong_proto::Body,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        self.request_to(method, url, headers, body, false)
    }

    /// A request whose body the caller streams ([`PooledRequest::streamed`]
    /// with these settings).
    ///
    /// # Errors
    ///
    /// As [`PooledRequest::streamed`].
    pub fn streamed<I>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        length: Option<u64>,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        let body = length.map_or(dugong_proto::Body::Chunked, dugong_proto::Body::Sized);
        self.request_to(method, url, headers, body, true)
    }

    fn request_to<I>(
        &self,
        method: &str,
        url: &str,
        headers: I,
        body: dugong_proto::Body,
        streamed_ok: bool,
    ) -> Result<PooledRequest, crate::Error>
    where
        I: IntoIterator<Item: HeaderField>,
    {
        PooledRequest::parse(method, url, headers, body, streamed_ok, |url| {
            self.origin(url)
        })
    }

    /// The shared settings and key of `url`'s origin.
    fn origin(&self, url: &crate::Url) -> Result<SharedOrigin, crate::Error> {
        let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        let known = origins
            .iter()
            .find(|o| o.port == url.port() && o.scheme == url.scheme() && o.host == url.host());
        if let Some(o) = known {
            return Ok((
                std::sync::Arc::clone(&o.settings),
                std::sync::Arc::clone(&o.key),
            ));
        }
        let (settings, key) = origin_of(&self.settings, url)?;
        // Bounded: a client sending to ever new origins keeps the latest.
        if origins.len() >= MAX_ORIGINS {
            origins.remove(0);
        }
        origins.push(Origin {
            scheme: url.scheme(),
            host: url.host().to_owned(),
            port: url.port(),
            settings: std::sync::Arc::clone(&settings),
            key: std::sync::Arc::clone(&key),
        });
        Ok((settings, key))
    }

    /// The number of the next connection opened (from 1).
    pub fn next_connection(&self) -> u64 {
        self.next_connection
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A request got its response: the budget gets its refill.
    pub fn succeeded(&self) {
        self.lock_budget().on_success();
    }

    /// A try of a request failed: what its `tracker` decides, with this
    /// client's budget and jitter (see [`Tracker::failed`](crate::resend::Tracker::failed)).
    pub fn failed(
        &self,
        tracker: &mut crate::resend::Tracker,
        connection: Option<u64>,
        error: crate::Error,
        lost: crate::resend::Lost,
        progress: bool,
    ) -> crate::resend::Next {
        let unit = self.jitter.unit();
        tracker.failed(
            connection,
            error,
            lost,
            progress,
            &mut self.lock_budget(),
            unit,
        )
    }

    fn lock_budget(&self) -> std::sync::MutexGuard<'_, RetryBudget> {
        // The budget is consistent after every call; carry on after a panic
        // elsewhere.
        self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pending: usize) -> Load {
        Load {
            pending,
            usable: true,
            has_room: true,
            connecting: false,
        }
    }

    #[test]
    fn choose_table() {
        let config = PoolConfig::default();
        let closing = Load {
            usable: false,
            ..load(0)
        };
        let full_window = Load {
            has_room: false,
            ..load(1)
        };
        let opening = Load {
            connecting: true,
            ..load(0)
        };
        let cases: Vec<(&str, Vec<Load>, Choice)> = vec![
            ("no connection yet", vec![], Choice::Open),
            ("an idle one", vec![load(0)], Choice::Use(0)),
            ("a busy one below the depth", vec![load(15)], Choice::Use(0)),
            (
                "the least loaded",
                vec![load(5), load(2), load(2)],
                Choice::Use(1),
            ),
            (
                "all at the depth: open",
                vec![load(16), load(16)],
                Choice::Open,
            ),
            (
                "all at the depth, at the limit",
                vec![load(16); 4],
                Choice::Wait,
            ),
            (
                "closing ones are skipped",
                vec![closing, load(3)],
                Choice::Use(1),
            ),
            ("closing ones count", vec![closing; 4], Choice::Wait),
            (
                "a full window is skipped",
                vec![full_window, load(9)],
                Choice::Use(1),
            ),
            ("opening ones take nothing", vec![opening], Choice::Open),
            ("opening ones count", vec![opening; 4], Choice::Wait),
        ];
        for (what, loads, expected) in cases {
            assert_eq!(choose(&loads, &config), expected, "{what}");
        }
    }

    #[test]
    fn choose_idle_first_table() {
        let config = PoolConfig::default();
        let cases: Vec<(&str, Vec<Load>, Choice)> = vec![
            ("no connection yet", vec![], Choice::Open),
            ("an idle one", vec![load(3), load(0)], Choice::Use(1)),
            (
                "busy ones: open another",
                vec![load(1), load(2)],
                Choice::Open,
            ),
            (
                "at the limit: the least loaded",
                vec![load(3), load(1), load(2), load(5)],
                Choice::Use(1),
            ),
            ("at the limit and full", vec![load(16); 4], Choice::Wait),
        ];
        for (what, loads, expected) in cases {
            assert_eq!(choose_idle_first(&loads, &config), expected, "{what}");
        }
    }

    #[test]
    fn limits_of_zero_mean_one() {
        let config = PoolConfig {
            max_per_origin: 0,
            depth: 0,
            ..PoolConfig::default()
        };
        assert_eq!(choose(&[], &config), Choice::Open);
        assert_eq!(choose(&[load(0)], &config), Choice::Use(0));
        assert_eq!(choose(&[load(1)], &config), Choice::Wait);
    }

    #[test]
    fn keys_tell_origins_and_proxies_apart() {
        let settings = |url: &str| {
            crate::Settings::for_url(&crate::Url::parse(url).unwrap())
                .route()
                .unwrap()
        };
        let a = Key::of(&settings("http://example.com/a"));
        assert_eq!(a, Key::of(&settings("http://EXAMPLE.com:80/b")));
        assert_ne!(a, Key::of(&settings("https://example.com/")));
        assert_ne!(a, Key::of(&settings("http://example.com:8080/")));
        let mut proxied =
            crate::Settings::for_url(&crate::Url::parse("http://example.com/").unwrap());
        proxied.set_proxy(crate::Proxy::parse("http://127.0.0.1:3128").unwrap());
        assert_ne!(a, Key::of(&proxied.route().unwrap()));
    }

    #[test]
    fn idle_connections_expire() {
        let config = PoolConfig::default();
        assert!(!expired(Duration::from_secs(89), &config));
        assert!(expired(Duration::from_secs(90), &config));
    }

    #[test]
    fn turns_order_reads_and_resends() {
        let now = std::time::Instant::now();
        let config = PoolConfig::default();
        let mut turns = Turns::new(now);
        assert!(turns.load(true, true).connecting);
        assert!(!turns.retire(true, now, &config), "opening");
        turns.connected(now);
        for _ in 0..4 {
            turns.queued();
        }
        assert!(turns.may_read(0) && !turns.may_read(1));
        turns.answered(1, now);
        assert!(turns.may_read(0), "answering out of turn changes nothing");
        assert!(!turns.is_answered(0));
        turns.answered(0, now);
        assert!(turns.may_read(1) && turns.progress() && turns.is_answered(0));
        assert_eq!(turns.load(true, true).pending, 3);
        assert!(turns.fated(1).is_none(), "alive");

        // Request 1's head had begun; 2 and 3 were written.
        let mut conn = dugong_proto::Connection::default();
        let ids: Vec<_> = (0..4)
            .map(|_| {
                conn.send_request("GET", "/", [("Host", "h")], dugong_proto::Body::Empty)
                    .unwrap()
            })
            .collect();
        let n = conn.transmit_len() as usize;
        conn.consume_transmit(n);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 2")
            .unwrap();
        while let Ok(Some(_)) = conn.poll_event() {}
        let lost = conn.unanswered();
        assert_eq!(lost.response_started(), Some(ids[1]));
        assert!(turns.die(crate::Error::closed_while_sending(), lost.clone()));
        assert!(
            !turns.die(crate::Error::closed_while_sending(), lost),
            "the first death counts"
        );
        assert!(turns.may_read(3), "the dead wake every reader");
        assert!(turns.retire(true, now, &config));
        assert!(!turns.load(true, true).usable);
        // Resends start behind the started one, in order.
        assert!(turns.may_resend(2) && !turns.may_resend(3));
        let fated = turns.fated(1).unwrap();
        assert_eq!(fated.lost, crate::resend::Lost::ResponseStarted);
        assert!(fated.progress);
        let fated = turns.fated(2).unwrap();
        assert_eq!(
            fated.lost,
            crate::resend::Lost::Fate(dugong_proto::Fate::MaybeProcessed)
        );
        turns.resent(2);
        assert!(turns.may_resend(3));
        let late = turns.fated(9).unwrap();
        assert_eq!(late.lost, crate::resend::Lost::NotSent);
        assert!(
            late.error.is_temporary(),
            "queued after the death: try elsewhere"
        );
    }

    #[test]
    fn idle_and_closing_connections_retire() {
        let now = std::time::Instant::now();
        let config = PoolConfig::default();
        let mut turns = Turns::new(now);
        turns.connected(now);
        assert!(!turns.retire(true, now, &config));
        assert!(
            turns.retire(false, now, &config),
            "closing, nothing pending"
        );
        assert!(
            turns.retire(true, now + Duration::from_secs(90), &config),
            "idle too long"
        );
        turns.queued();
        assert!(
            !turns.retire(false, now + Duration::from_secs(900), &config),
            "pending"
        );
    }

    #[test]
    fn pooled_request_holds_the_request_whole() {
        let template = crate::Settings::new("localhost", 80);
        let r = PooledRequest::new(
            "POST",
            "http://Example.com:8080/a?b=c",
            [("Idempotency-Key", "k1"), ("Accept", "*/*")],
            dugong_proto::Body::from("x"),
            &template,
        )
        .unwrap();
        assert_eq!((r.method(), r.target()), ("POST", "/a?b=c"));
        assert_eq!(r.settings().host(), "example.com");
        assert_eq!(r.fields().len(), 2);
        assert!(matches!(r.body(), dugong_proto::Body::Full(b) if b == "x"));
        let mut budget = crate::resend::RetryBudget::default();
        // Marked idempotent: a POST that may have been processed is resent.
        let next = r.tracker(&PoolConfig::default()).failed(
            Some(1),
            crate::Error::closed_while_sending(),
            crate::resend::Lost::Fate(dugong_proto::Fate::MaybeProcessed),
            true,
            &mut budget,
            0.0,
        );
        assert!(matches!(next, crate::resend::Next::Resend(_)));
        let streamed = PooledRequest::new(
            "PUT",
            "http://h/",
            [("A", "b")],
            dugong_proto::Body::Sized(3),
            &template,
        );
        assert_eq!(streamed.unwrap_err().kind(), crate::ErrorKind::Usage);
        assert!(PooledRequest::new(
            "GET",
            "ftp://h/",
            [("A", "b")],
            dugong_proto::Body::Empty,
            &template
        )
        .is_err());
    }

    #[test]
    fn jitter_stays_in_the_unit_interval() {
        let jitter = Jitter::new();
        let values: Vec<f64> = (0..1000).map(|_| jitter.unit()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn a_client_shares_the_settings_of_an_origin() {
        let core = ClientCore::new(crate::Settings::new("localhost", 80), PoolConfig::default());
        let get = |url: &str| {
            core.request("GET", url, [("Accept", "*/*")], dugong_proto::Body::Empty)
                .unwrap()
        };
        let (a, b) = (
            get("http://example.com/a"),
            get("http://EXAMPLE.com:80/b?c"),
        );
        assert!(
            std::ptr::eq(a.settings(), b.settings()),
            "one origin, one Settings"
        );
        assert!(std::ptr::eq(a.key(), b.key()));
        let other = get("http://example.com:8080/");
        assert!(!std::ptr::eq(a.settings(), other.settings()));
        assert_eq!(other.settings().port(), 8080);
        let streamed = core
            .streamed("PUT", "http://example.com/u", [("A", "b")], None)
            .unwrap();
        assert!(streamed.is_streamed() && std::ptr::eq(a.key(), streamed.key()));
        // Ever new origins: the latest are kept, within the bound.
        for port in 1000..1100 {
            get(&format!("http://example.com:{port}/"));
        }
        assert_eq!(core.origins.lock().unwrap().len(), MAX_ORIGINS);
    }
}
